//! Operator login: a password from the environment (compared in constant time)
//! or an argon2 hash; HttpOnly SameSite=Strict session cookies with a CSRF token
//! per session, kept in SQLite (as a hash of the token) so they outlive a
//! restart; failed logins limited per client address. The JSON API also
//! takes the password as a bearer token, which needs no CSRF token because it
//! is never sent by a browser on its own.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use super::WebState;
use crate::config::Cidr;
use crate::domain::now_ms;
use crate::store::{Store, StoredSession};

/// What the store keeps of a session token: its hash.
fn token_hash(token: &str) -> String {
    use blake2::{Blake2s256, Digest};
    Blake2s256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub const SESSION_COOKIE: &str = "agentiq_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

pub enum Credential {
    Password(SecretString),
    Hash(String),
}

#[derive(Clone)]
pub struct Session {
    pub name: String,
    pub csrf: String,
    expires: Instant,
}

pub struct Auth {
    credential: Credential,
    /// Sessions seen since start; the store keeps them across restarts.
    sessions: Mutex<HashMap<String, Session>>,
    store: Option<Store>,
    failures: Mutex<HashMap<IpAddr, Vec<Instant>>>,
    ttl: Duration,
    secure: bool,
    max_failed: u32,
    window: Duration,
    trusted_proxies: Vec<Cidr>,
}

pub fn token(bytes: usize) -> String {
    let mut rng = rand::rng();
    (0..bytes)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}

#[derive(Debug, PartialEq, Eq)]
pub enum LoginError {
    Wrong,
    TooMany,
}

impl Auth {
    pub fn new(credential: Credential, settings: &crate::config::WebSettings) -> Auth {
        Auth {
            credential,
            sessions: Mutex::new(HashMap::new()),
            store: None,
            failures: Mutex::new(HashMap::new()),
            ttl: settings.session_ttl.0,
            secure: settings.secure_cookies,
            max_failed: settings.max_failed_logins,
            window: settings.login_window.0,
            trusted_proxies: settings.trusted_proxies.clone(),
        }
    }

    /// Keep sessions in `store`, so they survive a restart.
    pub fn with_store(mut self, store: Store) -> Auth {
        self.store = Some(store);
        self
    }

    /// The address a request really comes from: the direct peer, or, when
    /// the peer is a trusted proxy, the nearest untrusted address in
    /// `X-Forwarded-For` (read from the right, where our proxies appended it).
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let trusted = |ip: IpAddr| self.trusted_proxies.iter().any(|c| c.contains(ip));
        if !trusted(peer) {
            return peer;
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse().ok())
            .collect();
        forwarded
            .iter()
            .rev()
            .copied()
            .find(|ip| !trusted(*ip))
            .or_else(|| forwarded.first().copied())
            .unwrap_or(peer)
    }

    /// Check the password for `ip`, counting a wrong one against that
    /// client's limit. Logins and bearer tokens share it.
    pub fn check_password(&self, ip: IpAddr, password: &str) -> Result<(), LoginError> {
        if self.recent_failures(ip) >= self.max_failed as usize {
            return Err(LoginError::TooMany);
        }
        if !self.verify(password) {
            self.failures
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(ip)
                .or_default()
                .push(Instant::now());
            return Err(LoginError::Wrong);
        }
        Ok(())
    }

    pub fn verify(&self, candidate: &str) -> bool {
        match &self.credential {
            Credential::Password(p) => {
                bool::from(p.expose_secret().as_bytes().ct_eq(candidate.as_bytes()))
            }
            Credential::Hash(h) => PasswordHash::new(h)
                .map(|parsed| {
                    Argon2::default()
                        .verify_password(candidate.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false),
        }
    }

    fn recent_failures(&self, ip: IpAddr) -> usize {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let list = f.entry(ip).or_default();
        list.retain(|t| t.elapsed() < self.window);
        list.len()
    }

    pub async fn login(
        &self,
        ip: IpAddr,
        name: &str,
        password: &str,
    ) -> Result<(String, Session), LoginError> {
        self.check_password(ip, password)?;
        let id = token(32);
        let name: String = name
            .trim()
            .chars()
            .filter(|c| !c.is_control())
            .take(60)
            .collect();
        let session = Session {
            name: if name.is_empty() {
                "operator".into()
            } else {
                name
            },
            csrf: token(32),
            expires: Instant::now() + self.ttl,
        };
        if let Some(store) = &self.store {
            let stored = StoredSession {
                name: session.name.clone(),
                csrf: session.csrf.clone(),
                expires_at: now_ms() + self.ttl.as_millis() as i64,
            };
            let hash = token_hash(&id);
            if let Err(e) = store
                .call(move |c| crate::store::save_session(c, &hash, &stored, now_ms()))
                .await
            {
                tracing::error!(error = %e, "could not keep a web session in the database; it lasts until the daemon stops");
            }
        }
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.retain(|_, s| s.expires > Instant::now());
        sessions.insert(id.clone(), session.clone());
        Ok((id, session))
    }

    pub async fn session(&self, id: &str) -> Option<Session> {
        let cached = {
            let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
            sessions.get(id).cloned()
        };
        if let Some(s) = cached {
            return (s.expires > Instant::now()).then_some(s);
        }
        let store = self.store.as_ref()?;
        let hash = token_hash(id);
        let now = now_ms();
        let stored = match store
            .read(move |c| crate::store::load_session(c, &hash, now))
            .await
        {
            Ok(stored) => stored?,
            Err(e) => {
                tracing::error!(error = %e, "could not read web sessions from the database");
                return None;
            }
        };
        let left = Duration::from_millis(u64::try_from(stored.expires_at - now).unwrap_or(0));
        let session = Session {
            name: stored.name,
            csrf: stored.csrf,
            expires: Instant::now() + left,
        };
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_string(), session.clone());
        Some(session)
    }

    pub async fn logout(&self, id: &str) {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        if let Some(store) = &self.store {
            let hash = token_hash(id);
            if let Err(e) = store
                .call(move |c| crate::store::delete_session(c, &hash))
                .await
            {
                tracing::error!(error = %e, "could not forget a web session in the database");
            }
        }
    }

    pub fn cookie(&self, name: &str, value: &str, max_age: Duration) -> String {
        format!(
            "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
            max_age.as_secs(),
            if self.secure { "; Secure" } else { "" }
        )
    }

    pub fn session_cookie(&self, id: &str) -> String {
        self.cookie(SESSION_COOKIE, id, self.ttl)
    }
}

pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Who is acting. Extracting it enforces authentication and, for
/// state-changing browser requests, the CSRF token.
pub struct Operator {
    pub actor: String,
    pub session: Option<(String, Session)>,
}

pub enum Rejection {
    /// Pages redirect to the login form, which comes back to this address.
    Login(String),
    Unauthorized,
    /// Too many wrong passwords from this client.
    TooMany,
    Csrf,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match self {
            Rejection::Login(back) if back == "/" => Redirect::to("/login").into_response(),
            Rejection::Login(back) => {
                let next: String =
                    percent_encoding::utf8_percent_encode(&back, percent_encoding::NON_ALPHANUMERIC)
                        .to_string();
                Redirect::to(&format!("/login?next={next}")).into_response()
            }
            Rejection::Unauthorized => (StatusCode::UNAUTHORIZED, axum::Json(serde_json::json!({ "error": "войдите в очередь заново или передайте пароль в заголовке Authorization: Bearer <пароль>" }))).into_response(),
            Rejection::TooMany => (StatusCode::TOO_MANY_REQUESTS, axum::Json(serde_json::json!({ "error": "слишком много неверных паролей с этого адреса; попробуйте позже" }))).into_response(),
            Rejection::Csrf => (StatusCode::FORBIDDEN, axum::Json(serde_json::json!({ "error": "запрос отклонён: нет или неверный CSRF-токен; обновите страницу" }))).into_response(),
        }
    }
}

impl FromRequestParts<WebState> for Operator {
    type Rejection = Rejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        let is_page = parts.method == Method::GET
            && !parts.uri.path().starts_with("/api/")
            && parts.uri.path() != "/events";
        if let Some(bearer) = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            let peer = parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(a)| a.ip())
                .unwrap_or(IpAddr::from([0, 0, 0, 0]));
            let client = state.auth.client(peer, &parts.headers);
            if let Err(e) = state.auth.check_password(client, bearer.trim()) {
                tracing::warn!(client = %client, peer = %peer, locked_out = (e == LoginError::TooMany), "refused a bearer token for the web API");
                return Err(match e {
                    LoginError::Wrong => Rejection::Unauthorized,
                    LoginError::TooMany => Rejection::TooMany,
                });
            }
            let who = actor_header(&parts.headers).unwrap_or_else(|| "token".into());
            return Ok(Operator {
                actor: format!("api:{who}"),
                session: None,
            });
        }
        let session = match cookie_value(&parts.headers, SESSION_COOKIE) {
            Some(id) => state.auth.session(id).await.map(|s| (id.to_string(), s)),
            None => None,
        };
        let Some((id, session)) = session else {
            return Err(if is_page {
                Rejection::Login(
                    parts
                        .uri
                        .path_and_query()
                        .map(|p| p.as_str().to_string())
                        .unwrap_or_else(|| "/".into()),
                )
            } else {
                Rejection::Unauthorized
            });
        };
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let given = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !bool::from(given.as_bytes().ct_eq(session.csrf.as_bytes())) {
                return Err(Rejection::Csrf);
            }
        }
        Ok(Operator {
            actor: format!("web:{}", session.name),
            session: Some((id, session)),
        })
    }
}

/// Who acts, from `X-Actor*: UTF-8''<percent-encoded>` (RFC 8187) or
/// `X-Actor`, either raw UTF-8 or percent-encoded UTF-8 (a header value
/// is bytes, and many clients only send ASCII). `None` when absent or not
/// UTF-8.
pub fn actor_header(headers: &HeaderMap) -> Option<String> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .ok()
            .map(|c| c.into_owned())
    };
    let extended = headers.get("x-actor*").and_then(|v| {
        let v = std::str::from_utf8(v.as_bytes()).ok()?;
        let (charset, rest) = v.split_once('\'')?;
        let (_language, encoded) = rest.split_once('\'')?;
        charset
            .eq_ignore_ascii_case("utf-8")
            .then(|| decode(encoded))?
    });
    let name = extended.or_else(|| {
        let raw = std::str::from_utf8(headers.get("x-actor")?.as_bytes()).ok()?;
        if raw.contains('%') {
            decode(raw)
        } else {
            Some(raw.to_string())
        }
    })?;
    let name: String = name
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(60)
        .collect();
    (!name.is_empty()).then_some(name)
}

/// `agentiq hash-password`: an argon2id hash for `web.password_hash`.
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::PasswordHasher;
    use argon2::password_hash::SaltString;
    let mut bytes = [0u8; 16];
    rand::rng().fill(&mut bytes);
    let salt = SaltString::encode_b64(&bytes).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> crate::config::WebSettings {
        crate::config::WebSettings {
            max_failed_logins: 3,
            ..Default::default()
        }
    }

    #[test]
    fn a_non_ascii_actor_is_read_raw_percent_encoded_or_rfc_8187() {
        use axum::http::HeaderValue;
        let with = |name: &'static str, value: HeaderValue| {
            let mut h = HeaderMap::new();
            h.insert(name, value);
            actor_header(&h)
        };
        let maria = Some("Мария".to_string());
        assert_eq!(
            with(
                "x-actor",
                HeaderValue::from_bytes("Мария".as_bytes()).unwrap()
            ),
            maria
        );
        assert_eq!(
            with(
                "x-actor",
                HeaderValue::from_static("%D0%9C%D0%B0%D1%80%D0%B8%D1%8F")
            ),
            maria
        );
        assert_eq!(
            with(
                "x-actor*",
                HeaderValue::from_static("UTF-8''%D0%9C%D0%B0%D1%80%D0%B8%D1%8F")
            ),
            maria
        );
        assert_eq!(
            with("x-actor", HeaderValue::from_static("ops-bot")).as_deref(),
            Some("ops-bot")
        );
        assert_eq!(
            with("x-actor", HeaderValue::from_bytes(b"\xff\xfe").unwrap()),
            None
        );
        assert_eq!(actor_header(&HeaderMap::new()), None);
    }

    #[test]
    fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        let auth = Auth::new(Credential::Hash(hash), &settings());
        assert!(auth.verify("correct horse"));
        assert!(!auth.verify("correct horse "));
    }

    #[tokio::test]
    async fn repeated_failures_lock_the_address_out() {
        let auth = Auth::new(Credential::Password(SecretString::from("pw")), &settings());
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(
                auth.login(ip, "a", "nope").await.err(),
                Some(LoginError::Wrong)
            );
        }
        assert_eq!(
            auth.login(ip, "a", "pw").await.err(),
            Some(LoginError::TooMany),
            "even the right password waits"
        );
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(auth.login(other, "a", "pw").await.is_ok());
    }

    #[tokio::test]
    async fn a_session_outlives_the_process_that_made_it() {
        let store = Store::open_in_memory().unwrap();
        let first = Auth::new(Credential::Password(SecretString::from("pw")), &settings())
            .with_store(store.clone());
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let (id, session) = first.login(ip, "Оля", "pw").await.unwrap();
        let second = Auth::new(Credential::Password(SecretString::from("pw")), &settings())
            .with_store(store.clone());
        let found = second
            .session(&id)
            .await
            .expect("the session is remembered");
        assert_eq!((found.name, found.csrf), ("Оля".to_string(), session.csrf));
        second.logout(&id).await;
        let third = Auth::new(Credential::Password(SecretString::from("pw")), &settings())
            .with_store(store);
        assert!(third.session(&id).await.is_none());
    }

    #[test]
    fn cookies_are_httponly_and_samesite() {
        let auth = Auth::new(Credential::Password(SecretString::from("pw")), &settings());
        let c = auth.session_cookie("abc");
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && !c.contains("Secure"));
    }
}
