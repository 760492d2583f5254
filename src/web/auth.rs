//! Operator login: a password from the environment (compared in constant time)
//! or an argon2 hash; HttpOnly SameSite=Strict session cookies with a CSRF token
//! per session; failed logins limited per client address. The JSON API also
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
    sessions: Mutex<HashMap<String, Session>>,
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
            failures: Mutex::new(HashMap::new()),
            ttl: settings.session_ttl.0,
            secure: settings.secure_cookies,
            max_failed: settings.max_failed_logins,
            window: settings.login_window.0,
            trusted_proxies: settings.trusted_proxies.clone(),
        }
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

    pub fn login(
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
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.retain(|_, s| s.expires > Instant::now());
        sessions.insert(id.clone(), session.clone());
        Ok((id, session))
    }

    pub fn session(&self, id: &str) -> Option<Session> {
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions
            .get(id)
            .filter(|s| s.expires > Instant::now())
            .cloned()
    }

    pub fn logout(&self, id: &str) {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
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
    /// Pages redirect to the login form.
    Login,
    Unauthorized,
    /// Too many wrong passwords from this client.
    TooMany,
    Csrf,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match self {
            Rejection::Login => Redirect::to("/login").into_response(),
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
            let who = parts
                .headers
                .get("x-actor")
                .and_then(|v| v.to_str().ok())
                .map(|v| {
                    v.chars()
                        .filter(|c| !c.is_control())
                        .take(60)
                        .collect::<String>()
                })
                .unwrap_or_else(|| "token".into());
            return Ok(Operator {
                actor: format!("api:{who}"),
                session: None,
            });
        }
        let session = cookie_value(&parts.headers, SESSION_COOKIE)
            .and_then(|id| state.auth.session(id).map(|s| (id.to_string(), s)));
        let Some((id, session)) = session else {
            return Err(if is_page {
                Rejection::Login
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
    fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        let auth = Auth::new(Credential::Hash(hash), &settings());
        assert!(auth.verify("correct horse"));
        assert!(!auth.verify("correct horse "));
    }

    #[test]
    fn repeated_failures_lock_the_address_out() {
        let auth = Auth::new(Credential::Password(SecretString::from("pw")), &settings());
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(auth.login(ip, "a", "nope").err(), Some(LoginError::Wrong));
        }
        assert_eq!(
            auth.login(ip, "a", "pw").err(),
            Some(LoginError::TooMany),
            "even the right password waits"
        );
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(auth.login(other, "a", "pw").is_ok());
    }

    #[test]
    fn cookies_are_httponly_and_samesite() {
        let auth = Auth::new(Credential::Password(SecretString::from("pw")), &settings());
        let c = auth.session_cookie("abc");
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && !c.contains("Secure"));
    }
}
