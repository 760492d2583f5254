//! Avito Messenger API (`api.avito.ru`, OAuth2 client credentials).
//!
//! Auth: `POST /token` (form, `grant_type=client_credentials`) gives a bearer
//! token that lives 24 h; it is cached, renewed at 90 % of its life, and on a
//! 401 or 403 (Avito answers 403 for an expired token) renewed once and the
//! request repeated once. The account id every path needs comes from
//! `GET /core/v1/accounts/self`, once.
//!
//! Discovery is per chat: `GET /messenger/v2/accounts/{user_id}/chats` with
//! `unread_only=true` lists the chats with something new for the seller, and
//! the chat's `last_message.id` is our marker; only chats whose marker moved
//! get their history read (`GET /messenger/v3/.../messages/`). A seller who
//! answers in the Avito app reads the chat, so it drops out of the unread
//! list: a slower sweep of the first page of all chats (most recently updated
//! first) catches those answers, which is how human takeovers are seen.
//!
//! One poll makes at most [`MAX_REQUESTS_PER_POLL`] Messenger requests, and
//! starts no history read after [`READ_TIME`] once one is read (the rest go
//! first on the next poll, which follows at once). A history the budget cut
//! short is dropped whole (pages run newest first, so
//! keeping the newest would leave a gap behind them) and its chat keeps its
//! old marker: it is read first on the next poll. Chats read only for read
//! receipts take turns.
//!
//! Avito cannot tell an API send from a message typed in the Avito app, so our
//! own messages are `via_api = true` (their echo then matches by text), and a
//! send returns the message id, which the store matches exactly.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::limits::{Budget, Purpose, READ_TIME, ReadDeadline, RequestGate, header_secs};
use super::reads::{self, Listed, Rules, Why};
use super::{
    ChatRef, Connector, Delivery, Discovery, MarketError, SendError, classify_transport_error,
    describe_transport_error, http_client, status_and_detail,
};
use crate::domain::{
    Author, ChatUpdate, InboundBatch, InboundMessage, KnownChats, Marketplace, Millis,
    OrderContext, ReplyText,
};

pub const MAX_MESSAGE_CHARS: usize = 1000;
/// Most chats or messages one page may hold (`limit` is 1..100).
pub const PAGE_LIMIT: usize = 100;
/// The largest `offset` the list and history calls accept.
pub const MAX_OFFSET: usize = 1000;
/// Pages one list or history read can reach before `offset` is out of bounds.
const MAX_PAGES: usize = MAX_OFFSET / PAGE_LIMIT + 1;
/// Most requests one `poll` makes to the Messenger API: list pages and
/// history pages together (the token and the account id are fetched once,
/// outside it). Avito publishes no limit for the Messenger API (notes
/// §3.4); our default pace is 5 requests a second, and 75 are 15 s of it,
/// one default poll interval. A chat the budget cut short is read whole on
/// the next poll, which follows at once (`more`).
pub const MAX_REQUESTS_PER_POLL: usize = 75;
// After the unread list and the sweep's page, one chat's whole history
// always fits: every poll moves at least one chat on.
const _: () = assert!(MAX_PAGES + 1 + MAX_PAGES <= MAX_REQUESTS_PER_POLL);
/// How often the first page of all chats (not only unread ones) is read, and
/// chats waiting for a read receipt are re-read. Read receipts are not urgent,
/// and a takeover in the Avito app is rare enough that a few seconds is fine.
pub const SWEEP_EVERY: Duration = Duration::from_secs(5);
/// Renew the token once this share of its life has passed.
const TOKEN_REFRESH_AT: f64 = 0.9;

#[derive(Debug, Clone)]
pub struct AvitoConfig {
    pub base_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub timeout: Duration,
    pub rate_limit_requests: u32,
    pub rate_limit_period: Duration,
}

#[derive(Clone)]
struct Token {
    access: SecretString,
    renew_at: Instant,
}

pub struct AvitoClient {
    http: reqwest::Client,
    base_url: String,
    client_id: String,
    client_secret: SecretString,
    gate: RequestGate,
    /// Held while a token is fetched, so concurrent callers share one fetch.
    token: tokio::sync::Mutex<Option<Token>>,
    user_id: tokio::sync::OnceCell<i64>,
    last_sweep: std::sync::Mutex<Option<Instant>>,
    /// The chat whose read receipts a sweep checked last; the next goes on after it.
    receipts_checked: std::sync::Mutex<Option<String>>,
    /// See [`READ_TIME`].
    read_time: Duration,
}

/// A chat's history as far as one poll could read it.
enum History {
    Read(Vec<ApiMessage>),
    /// The chat is gone (404).
    Gone,
    /// The budget ran out before the end; nothing of it is kept, since a
    /// newest-first read stopped early would leave a gap behind it.
    OutOfBudget,
}

/// How a request failed before we could make sense of the answer.
enum Failure {
    /// No answer: refused, cut, timed out.
    Transport(reqwest::Error),
    /// An answer with an error status (after the one token renewal).
    Status {
        status: StatusCode,
        detail: String,
        retry_after: Option<Duration>,
    },
    /// We never got as far as the request (no token, no account id).
    Before(MarketError),
}

impl Failure {
    fn into_market(self, what: &str) -> MarketError {
        match self {
            Failure::Transport(e) => MarketError::Unavailable(describe_transport_error(&e)),
            Failure::Before(e) => e,
            Failure::Status {
                status,
                detail,
                retry_after,
            } => status_error(status, detail, retry_after, what),
        }
    }
}

/// An error status in a seller's words.
fn status_error(
    status: StatusCode,
    detail: String,
    retry_after: Option<Duration>,
    what: &str,
) -> MarketError {
    match status.as_u16() {
        429 => MarketError::RateLimited {
            retry_after: retry_after.unwrap_or(Duration::from_secs(1)),
        },
        401 | 403 => MarketError::Auth(format!(
            "Авито ответил {status} ({detail}) даже на только что полученный токен; проверьте client_id и client_secret и что у приложения есть доступ к Мессенджеру"
        )),
        402 => MarketError::SubscriptionMissing(format!(
            "Авито ответил 402 ({detail}); Messenger API доступен на тарифе «Максимальный» (в Услугах — «Расширенный» или «Максимальный»)"
        )),
        404 => MarketError::Invalid(format!("Авито не нашёл {what} (404: {detail})")),
        s if s >= 500 => MarketError::Unavailable(format!(
            "Авито ответил {}",
            status_and_detail(status, &detail)
        )),
        _ => MarketError::Invalid(format!(
            "Авито ответил {} на {what}",
            status_and_detail(status, &detail)
        )),
    }
}

impl AvitoClient {
    pub fn new(config: AvitoConfig) -> Self {
        AvitoClient {
            http: http_client(config.timeout),
            base_url: config.base_url.trim_end_matches('/').to_string(),
            client_id: config.client_id,
            client_secret: config.client_secret,
            gate: RequestGate::new(config.rate_limit_requests, config.rate_limit_period, None),
            token: tokio::sync::Mutex::new(None),
            user_id: tokio::sync::OnceCell::new(),
            last_sweep: std::sync::Mutex::new(None),
            receipts_checked: std::sync::Mutex::new(None),
            read_time: READ_TIME,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A token that is good for a while yet, fetched when needed.
    async fn token(&self, purpose: Purpose) -> Result<SecretString, MarketError> {
        let mut guard = self.token.lock().await;
        if let Some(t) = guard.as_ref().filter(|t| t.renew_at > Instant::now()) {
            return Ok(t.access.clone());
        }
        let fresh = self.fetch_token(purpose).await?;
        let access = fresh.access.clone();
        *guard = Some(fresh);
        Ok(access)
    }

    /// Forget `used` so the next caller fetches a new token (unless another
    /// caller already replaced it).
    async fn forget_token(&self, used: &SecretString) {
        let mut guard = self.token.lock().await;
        if guard
            .as_ref()
            .is_some_and(|t| t.access.expose_secret() == used.expose_secret())
        {
            *guard = None;
        }
    }

    async fn fetch_token(&self, purpose: Purpose) -> Result<Token, MarketError> {
        let _turn = self.gate.turn(purpose).await;
        let response = self
            .http
            .post(self.url("/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.expose_secret()),
            ])
            .send()
            .await
            .map_err(|e| MarketError::Unavailable(describe_transport_error(&e)))?;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let retry_after = retry_after(&response);
            self.gate.note_throttled();
            self.gate.block_for(retry_after);
            return Err(MarketError::RateLimited { retry_after });
        }
        if status.is_server_error() {
            let detail = error_detail(response).await;
            return Err(MarketError::Unavailable(format!(
                "Авито не выдал токен доступа ({status}: {detail})"
            )));
        }
        let body = response.text().await.unwrap_or_default();
        let parsed = serde_json::from_str::<TokenResponse>(&body).ok();
        let token = parsed.and_then(|t| {
            let life = t.expires_in;
            t.access_token.filter(|a| !a.is_empty()).map(|a| (a, life))
        });
        match token {
            Some((access, expires_in)) if status.is_success() => {
                // 24 h when the answer does not say; never less than a second.
                let life = expires_in.unwrap_or(86_400).max(1) as f64;
                Ok(Token {
                    access: SecretString::from(access),
                    renew_at: Instant::now() + Duration::from_secs_f64(life * TOKEN_REFRESH_AT),
                })
            }
            _ if status.is_client_error() || status.is_success() => {
                // Avito documents no error for /token; a refusal (or a 200
                // carrying an OAuth `error`) means the credentials are wrong.
                let detail = detail_from_text(&body);
                Err(MarketError::Auth(format!(
                    "Авито не выдал токен доступа ({status}: {detail}); проверьте client_id и client_secret в настройках магазина"
                )))
            }
            _ => Err(MarketError::Unavailable(format!(
                "Авито ответил {status} на запрос токена"
            ))),
        }
    }

    /// The account id the Messenger paths need, asked for once.
    async fn user_id(&self, purpose: Purpose) -> Result<i64, MarketError> {
        self.user_id
            .get_or_try_init(|| async {
                let response = self
                    .request(
                        purpose,
                        Method::GET,
                        "/core/v1/accounts/self",
                        Payload::None,
                    )
                    .await
                    .map_err(|f| f.into_market("данные аккаунта"))?;
                let body: AccountSelf = read_json(response, "/core/v1/accounts/self").await?;
                body.id.filter(|id| *id > 0).ok_or_else(|| {
                    MarketError::Unavailable(
                        "Авито не сообщил номер аккаунта (/core/v1/accounts/self без id)".into(),
                    )
                })
            })
            .await
            .copied()
    }

    /// One authorised request. A 401 or 403 renews the token and repeats the
    /// request once; a 429 holds every request back as long as Avito asks.
    async fn request(
        &self,
        purpose: Purpose,
        method: Method,
        path: &str,
        payload: Payload<'_>,
    ) -> Result<Response, Failure> {
        let mut renewed = false;
        loop {
            let token = self.token(purpose).await.map_err(Failure::Before)?;
            let response = {
                let _turn = self.gate.turn(purpose).await;
                let mut builder = self
                    .http
                    .request(method.clone(), self.url(path))
                    .bearer_auth(token.expose_secret());
                builder = match &payload {
                    Payload::None => builder,
                    Payload::Query(q) => builder.query(q),
                    Payload::Json(v) => builder.json(v),
                };
                builder.send().await.map_err(Failure::Transport)?
            };
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            if matches!(status.as_u16(), 401 | 403) && !renewed {
                // The auth spec (`ApplicationAccess`, step 8) says an expired
                // token gets 403, where the notes only list 401 `authError`:
                // both renew. Nothing was done with the request, so repeating
                // it once is safe, sends included.
                tracing::debug!(%status, path, "Avito refused the token; renewing it once");
                renewed = true;
                self.forget_token(&token).await;
                continue;
            }
            let retry_after = (status == StatusCode::TOO_MANY_REQUESTS).then(|| {
                let wait = retry_after(&response);
                self.gate.note_throttled();
                self.gate.block_for(wait);
                wait
            });
            let detail = error_detail(response).await;
            return Err(Failure::Status {
                status,
                detail,
                retry_after,
            });
        }
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        query: Vec<(&str, String)>,
        what: &str,
    ) -> Result<T, MarketError> {
        let response = self
            .request(Purpose::Read, Method::GET, path, Payload::Query(query))
            .await
            .map_err(|f| f.into_market(what))?;
        read_json(response, path).await
    }

    /// Chats from the list call, page after page until a short page (or the
    /// largest offset Avito allows); `max_pages` and `budget` cap it further.
    /// `false` when the budget stopped it before the end.
    async fn list_chats(
        &self,
        user_id: i64,
        unread_only: bool,
        max_pages: usize,
        budget: &Budget,
    ) -> Result<(Vec<ApiChat>, bool), MarketError> {
        let path = format!("/messenger/v2/accounts/{user_id}/chats");
        let mut chats = Vec::new();
        let mut offset = 0;
        for _ in 0..max_pages {
            if !budget.take() {
                return Ok((chats, false));
            }
            // `chat_types` is an array in the spec, without `style` or
            // `explode`: OpenAPI's default, one parameter per value.
            let query = vec![
                ("unread_only", unread_only.to_string()),
                ("chat_types", "u2i".to_string()),
                ("chat_types", "u2u".to_string()),
                ("limit", PAGE_LIMIT.to_string()),
                ("offset", offset.to_string()),
            ];
            let body: Value = self.get_json(&path, query, "список чатов").await?;
            let page = list_items(body, "chats");
            let n = page.len();
            chats.extend(page.into_iter().filter_map(|v| {
                serde_json::from_value::<ApiChat>(v)
                    .ok()
                    .filter(|c| c.id.is_some())
            }));
            offset += PAGE_LIMIT;
            if n < PAGE_LIMIT || offset > MAX_OFFSET {
                break;
            }
        }
        Ok((chats, true))
    }

    /// A chat's history, newest first as Avito gives it, read until the page
    /// that holds `known_last` (the newest message we already have). The
    /// first page is always read whole, so a reply we sent moments ago is in
    /// it even when a newer buyer message was already stored.
    async fn read_history(
        &self,
        user_id: i64,
        chat_id: &str,
        known_last: Option<&str>,
        budget: &Budget,
    ) -> Result<History, MarketError> {
        let path = format!(
            "/messenger/v3/accounts/{user_id}/chats/{}/messages/",
            path_segment(chat_id)
        );
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            if !budget.take() {
                return Ok(History::OutOfBudget);
            }
            let query = vec![
                ("limit", PAGE_LIMIT.to_string()),
                ("offset", offset.to_string()),
            ];
            let body: Value = match self
                .request(Purpose::Read, Method::GET, &path, Payload::Query(query))
                .await
            {
                Ok(response) => read_json(response, &path).await?,
                Err(Failure::Status { status, .. }) if status == StatusCode::NOT_FOUND => {
                    tracing::info!(chat_id, "Avito no longer has this chat");
                    return Ok(History::Gone);
                }
                Err(f) => return Err(f.into_market("историю чата")),
            };
            let page: Vec<ApiMessage> = list_items(body, "messages")
                .into_iter()
                .filter_map(|v| serde_json::from_value::<ApiMessage>(v).ok())
                .filter(|m| m.id.is_some())
                .collect();
            let n = page.len();
            // The order is not documented. Stopping at the known message is
            // only right when the page runs from newest to oldest; otherwise
            // read to the end.
            let newest_first = page
                .windows(2)
                .all(|w| w[0].created.unwrap_or(0) >= w[1].created.unwrap_or(0));
            let reached_known =
                known_last.is_some_and(|id| page.iter().any(|m| m.id.as_deref() == Some(id)));
            out.extend(page);
            offset += PAGE_LIMIT;
            if n < PAGE_LIMIT || (reached_known && newest_first) || offset > MAX_OFFSET {
                break;
            }
        }
        Ok(History::Read(out))
    }

    fn sweep_due(&self) -> bool {
        let last = *self.last_sweep.lock().unwrap_or_else(|p| p.into_inner());
        last.is_none_or(|t| t.elapsed() >= SWEEP_EVERY)
    }

    fn swept(&self) {
        *self.last_sweep.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }
}

enum Payload<'a> {
    None,
    Query(Vec<(&'a str, String)>),
    Json(Value),
}

async fn read_json<T: for<'de> Deserialize<'de>>(
    response: Response,
    path: &str,
) -> Result<T, MarketError> {
    let text = response.text().await.map_err(|e| {
        MarketError::Unavailable(format!(
            "ответ на {path} оборвался: {}",
            describe_transport_error(&e)
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| {
        MarketError::Unavailable(format!(
            "непонятный ответ Авито на {path} ({e}): {}",
            text.chars().take(200).collect::<String>()
        ))
    })
}

/// The items of a list answer: a bare array (as the spec's `Messages`
/// schema has it) or an object holding it under `key` (as some third-party
/// clients model the messages answer, and as `Chats` is).
fn list_items(body: Value, key: &str) -> Vec<Value> {
    match body {
        Value::Array(items) => items,
        Value::Object(mut o) => match o.remove(key) {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// A path segment with everything but unreserved characters percent-encoded.
fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn retry_after(response: &Response) -> Duration {
    // Messenger documents no 429; honour `Retry-After` when it comes.
    let secs = header_secs(response, "Retry-After").unwrap_or(1.0);
    Duration::from_secs_f64(secs.clamp(0.0, 3600.0))
}

async fn error_detail(response: Response) -> String {
    detail_from_text(&response.text().await.unwrap_or_default())
}

/// The message of an Avito error body: `{"error":{"code","message"}}` in the
/// Messenger API, a flat `{"code","message"}` in Orders, an OAuth
/// `{"error","error_description"}` at `/token`; else the raw text.
fn detail_from_text(text: &str) -> String {
    let raw = || text.chars().take(200).collect::<String>();
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return raw();
    };
    let as_text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let from = |o: &Value| {
        o.get("message")
            .or_else(|| o.get("error_description"))
            .and_then(as_text)
    };
    let detail = match v.get("error") {
        Some(e @ Value::Object(_)) => from(e).or_else(|| e.get("code").and_then(as_text)),
        Some(Value::String(code)) => Some(match from(&v) {
            Some(d) => format!("{code}: {d}"),
            None => code.clone(),
        }),
        _ => from(&v),
    };
    detail.unwrap_or_else(raw)
}

#[async_trait]
impl Connector for AvitoClient {
    fn marketplace(&self) -> Marketplace {
        Marketplace::Avito
    }

    fn request_counts(&self) -> super::limits::RequestCounts {
        self.gate.counts()
    }

    fn discovery(&self) -> Discovery {
        Discovery::PerChat
    }

    async fn poll(
        &self,
        _cursor: Option<&str>,
        known: &KnownChats,
    ) -> Result<InboundBatch, MarketError> {
        let user_id = self.user_id(Purpose::Read).await?;
        let budget = Budget::new(MAX_REQUESTS_PER_POLL);
        let sweep = self.sweep_due();
        let (mut listed, complete) = self.list_chats(user_id, true, MAX_PAGES, &budget).await?;
        let mut more = !complete;
        if sweep {
            listed.extend(self.list_chats(user_id, false, 1, &budget).await?.0);
        }
        // What the list says of each chat, by the shared planner: those with
        // a send to settle, then those whose last message moved since we
        // looked, then (on a sweep) those whose reply the buyer may since
        // have read, in turn. No cap beyond the request budget.
        let mut updates: HashMap<String, ChatUpdate> = HashMap::new();
        let mut markers: Vec<(String, Option<String>)> = Vec::new();
        for chat in listed {
            let id = chat.id.clone().unwrap_or_default();
            if updates.contains_key(&id) {
                continue;
            }
            markers.push((
                id.clone(),
                chat.last_message.as_ref().and_then(|m| m.id.clone()),
            ));
            updates.insert(id, chat.into_update(user_id));
        }
        let entries: Vec<Listed> = markers
            .iter()
            .map(|(id, marker)| Listed {
                chat_id: id,
                marker: marker.as_deref(),
            })
            .collect();
        let receipts_after = self
            .receipts_checked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let rules = Rules {
            receipts: sweep.then_some(receipts_after.as_deref()),
            ..Rules::default()
        };
        let plan = reads::plan(&entries, known, rules);
        more |= plan.more;
        let bare = |id: &str| ChatUpdate {
            chat_id: id.to_string(),
            reply_handle: Some(id.to_string()),
            ..ChatUpdate::default()
        };

        let mut batch = InboundBatch::default();
        let mut last_receipt = None;
        let deadline = ReadDeadline::after(self.read_time);
        for read in plan.reads {
            let chat_id = read.chat_id;
            let receipts_only = read.why == Why::Receipts;
            if !deadline.may_start(!batch.chats.is_empty()) {
                more |= !receipts_only;
                break;
            }
            let mut history = match self
                .read_history(user_id, &chat_id, read.from.as_deref(), &budget)
                .await?
            {
                History::Read(history) => history,
                History::Gone => continue,
                // Chats read only for receipts wait their turn; any other
                // goes first on the next poll, which follows at once.
                History::OutOfBudget => {
                    more |= !receipts_only;
                    break;
                }
            };
            if receipts_only {
                last_receipt = Some(chat_id.clone());
            }
            // Stored oldest first. Avito gives newest first and stamps whole
            // seconds: turn the page round before the (stable) sort so
            // messages from the same second keep the order they were written.
            let created = |m: Option<&ApiMessage>| m.and_then(|m| m.created).unwrap_or(0);
            if created(history.first()) >= created(history.last()) {
                history.reverse();
            }
            history.sort_by_key(|m| m.created.unwrap_or(0));
            batch.messages.extend(
                history
                    .into_iter()
                    .filter_map(|m| m.into_inbound(&chat_id, user_id)),
            );
            batch
                .chats
                .push(updates.remove(&chat_id).unwrap_or_else(|| bare(&chat_id)));
        }
        if sweep {
            self.swept();
        }
        if last_receipt.is_some() {
            *self
                .receipts_checked
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = last_receipt;
        }
        batch.more = more;
        Ok(batch)
    }

    async fn refresh_chats(&self) -> Result<Vec<ChatUpdate>, MarketError> {
        let user_id = self.user_id(Purpose::Read).await?;
        let (chats, _) = self
            .list_chats(user_id, false, MAX_PAGES, &Budget::new(MAX_PAGES))
            .await?;
        // No markers here: the histories were not read.
        Ok(chats
            .into_iter()
            .map(|c| ChatUpdate {
                marker: None,
                ..c.into_update(user_id)
            })
            .collect())
    }

    async fn send(&self, chat: ChatRef<'_>, text: &ReplyText) -> Result<Delivery, SendError> {
        let user_id = self
            .user_id(Purpose::Send)
            .await
            .map_err(SendError::NotDelivered)?;
        let chat_id = chat.reply_handle.unwrap_or(chat.external_id);
        let path = format!(
            "/messenger/v1/accounts/{user_id}/chats/{}/messages",
            path_segment(chat_id)
        );
        let result = self
            .request(
                Purpose::Send,
                Method::POST,
                &path,
                Payload::Json(send_body(text.as_str())),
            )
            .await;
        let response = match result {
            Ok(r) => r,
            Err(Failure::Transport(e)) => return Err(classify_transport_error(&e)),
            Err(Failure::Before(e)) => return Err(SendError::NotDelivered(e)),
            Err(Failure::Status { status, detail, .. }) if status.is_server_error() => {
                // A write that failed on the server side may still have been applied.
                return Err(SendError::Unknown(format!(
                    "Авито ответил {}",
                    status_and_detail(status, &detail)
                )));
            }
            Err(Failure::Status {
                status,
                detail,
                retry_after,
            }) => {
                let lower = detail.to_lowercase();
                let closed = status == StatusCode::NOT_FOUND
                    || ["block", "closed", "заблок", "закрыт"]
                        .iter()
                        .any(|w| lower.contains(w));
                return Err(SendError::NotDelivered(
                    if closed && status != StatusCode::TOO_MANY_REQUESTS {
                        MarketError::ChatClosed(format!(
                            "Авито не принял ответ в этот чат ({status}: {detail}); чат удалён, закрыт или покупатель заблокирован"
                        ))
                    } else {
                        status_error(status, detail, retry_after, "отправку сообщения")
                    },
                ));
            }
        };
        let body = response.text().await.map_err(|e| {
            SendError::Unknown(format!(
                "ответ на отправку оборвался: {}",
                describe_transport_error(&e)
            ))
        })?;
        let sent: ApiMessage = serde_json::from_str(&body).map_err(|e| {
            SendError::Unknown(format!(
                "непонятный ответ на отправку ({e}): {}",
                body.chars().take(200).collect::<String>()
            ))
        })?;
        Ok(Delivery {
            message_id: sent.id,
            sent_at: sent.created.map(secs_to_ms),
        })
    }

    async fn mark_read(
        &self,
        chat: ChatRef<'_>,
        _up_to_message: Option<&str>,
    ) -> Result<(), MarketError> {
        // Avito marks the whole chat read; there is no per-message variant.
        let user_id = self.user_id(Purpose::Read).await?;
        let chat_id = chat.reply_handle.unwrap_or(chat.external_id);
        let path = format!(
            "/messenger/v1/accounts/{user_id}/chats/{}/read",
            path_segment(chat_id)
        );
        self.request(Purpose::Read, Method::POST, &path, Payload::None)
            .await
            .map_err(|f| f.into_market("чат"))?;
        Ok(())
    }

    async fn retract(&self, chat: ChatRef<'_>, message_id: &str) -> Result<(), MarketError> {
        let user_id = self.user_id(Purpose::Send).await?;
        let chat_id = chat.reply_handle.unwrap_or(chat.external_id);
        // POST, not DELETE: that is how the spec has `deleteMessage`.
        let path = format!(
            "/messenger/v1/accounts/{user_id}/chats/{}/messages/{}",
            path_segment(chat_id),
            path_segment(message_id)
        );
        match self
            .request(Purpose::Send, Method::POST, &path, Payload::None)
            .await
        {
            Ok(_) => Ok(()),
            Err(Failure::Status { status, detail, .. }) if status == StatusCode::NOT_FOUND => {
                Err(MarketError::Invalid(format!(
                    "Авито не нашёл это сообщение, удалить его нельзя (404: {detail})"
                )))
            }
            Err(Failure::Status { status, detail, .. })
                if status.is_client_error()
                    && !matches!(status.as_u16(), 401 | 402 | 403 | 429) =>
            {
                Err(MarketError::Invalid(format!(
                    "Авито не дал удалить сообщение: удалять можно только свои сообщения и не позже часа после отправки, а этот час уже прошёл ({status}: {detail})"
                )))
            }
            Err(f) => Err(f.into_market("сообщение")),
        }
    }

    async fn subscribe_webhook(&self, url: &str) -> Result<(), MarketError> {
        let response = self
            .request(
                Purpose::Read,
                Method::POST,
                "/messenger/v3/webhook",
                Payload::Json(json!({ "url": url })),
            )
            .await
            .map_err(|f| f.into_market("подписку на уведомления"))?;
        let body: Value = read_json(response, "/messenger/v3/webhook").await?;
        match lenient::bool_of(body.get("ok")) {
            Some(false) => Err(MarketError::Invalid(format!(
                "Авито не включил уведомления на {url}"
            ))),
            _ => Ok(()),
        }
    }

    fn parse_webhook(&self, body: &[u8]) -> Result<InboundBatch, MarketError> {
        parse_webhook_body(body)
    }
}

/// The request body of a text send, as `sendMessageRequestBody` has it.
pub fn send_body(text: &str) -> Value {
    json!({ "message": { "text": text }, "type": "text" })
}

/// A webhook v3 push (`{id, version, timestamp, payload: {type, value}}`)
/// as a batch: the message it carries and its chat. No marker: the chat's
/// history is still read by the next poll, which the push triggers.
///
/// The notes say to skip pushes of our own messages (`author_id ==
/// user_id`); the spec says nothing of the kind, and we keep them as seller
/// messages, because they settle sends whose outcome was unknown.
pub fn parse_webhook_body(body: &[u8]) -> Result<InboundBatch, MarketError> {
    let push: WebhookPush = serde_json::from_slice(body)
        .map_err(|e| MarketError::Invalid(format!("непонятное уведомление от Авито: {e}")))?;
    let Some(payload) = push.payload else {
        return Ok(InboundBatch::default());
    };
    if payload.kind.as_deref().is_some_and(|t| t != "message") {
        return Ok(InboundBatch::default());
    }
    let Some(value) = payload.value else {
        return Ok(InboundBatch::default());
    };
    let Some(chat_id) = value.chat_id.clone().filter(|c| !c.is_empty()) else {
        return Ok(InboundBatch::default());
    };
    let user_id = value.user_id.unwrap_or(0);
    let order = value.item_id.filter(|id| *id > 0).map(|id| OrderContext {
        product_id: Some(id.to_string()),
        chat_kind: Some("listing".into()),
        ..OrderContext::default()
    });
    let mut batch = InboundBatch::default();
    batch.chats.push(ChatUpdate {
        chat_id: chat_id.clone(),
        reply_handle: Some(chat_id.clone()),
        order,
        ..ChatUpdate::default()
    });
    let message = ApiMessage {
        id: value.id,
        author_id: value.author_id,
        created: value.created,
        direction: None,
        kind: value.kind,
        content: value.content,
        is_read: None,
        read: value.read,
        quote: None,
    };
    batch
        .messages
        .extend(message.into_inbound(&chat_id, user_id));
    Ok(batch)
}

fn secs_to_ms(secs: i64) -> Millis {
    secs.saturating_mul(1000)
}

/// Reading numbers, strings and booleans however Avito happens to send them.
mod lenient {
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    pub fn int_of(v: &Value) -> Option<i64> {
        match v {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            Value::String(s) => s.trim().parse::<i64>().ok().or_else(|| {
                s.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| f as i64)
            }),
            _ => None,
        }
    }

    pub fn bool_of(v: Option<&Value>) -> Option<bool> {
        match v? {
            Value::Bool(b) => Some(*b),
            Value::Number(n) => n.as_i64().map(|n| n != 0),
            Value::String(s) => match s.trim() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Ok(Option::<Value>::deserialize(d)?.as_ref().and_then(int_of))
    }

    pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        Ok(bool_of(Option::<Value>::deserialize(d)?.as_ref()))
    }

    /// Ids: strings, or numbers of any size kept digit for digit.
    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match Option::<Value>::deserialize(d)? {
            Some(Value::String(s)) => Some(s),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        })
    }

    /// Any JSON; a wrong type is treated as absent.
    pub fn object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
        Ok(Option::<Value>::deserialize(d)?.filter(Value::is_object))
    }

    pub fn array<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Value>, D::Error> {
        Ok(match Option::<Value>::deserialize(d)? {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        })
    }
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    #[serde(default, deserialize_with = "lenient::string")]
    access_token: Option<String>,
    #[serde(default, deserialize_with = "lenient::int")]
    expires_in: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct AccountSelf {
    #[serde(default, deserialize_with = "lenient::int")]
    id: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct ApiChat {
    #[serde(default, deserialize_with = "lenient::string")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient::object")]
    context: Option<Value>,
    #[serde(default)]
    last_message: Option<LastMessage>,
    #[serde(default, deserialize_with = "lenient::array")]
    users: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct LastMessage {
    #[serde(default, deserialize_with = "lenient::string")]
    id: Option<String>,
}

impl ApiChat {
    fn into_update(self, user_id: i64) -> ChatUpdate {
        let chat_id = self.id.unwrap_or_default();
        // `users` holds both sides; the buyer is the one who is not us.
        let buyer_name = self
            .users
            .iter()
            .find(|u| u.get("id").and_then(lenient::int_of) != Some(user_id))
            .and_then(|u| u.get("name"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        ChatUpdate {
            reply_handle: Some(chat_id.clone()),
            chat_id,
            buyer_name,
            order: self.context.as_ref().and_then(listing_context),
            marker: self.last_message.and_then(|m| m.id),
        }
    }
}

/// The listing a `u2i` chat is about (`context.type == "item"`).
///
/// The Messenger API has no order fields. The Orders spec
/// (`Управлениезаказами.json`) would allow a join: `GET
/// /order-management/1/orders` (filters `ids`, `statuses`, `dateFrom`; `page`,
/// `limit` ≤ 20; 500 requests a minute; B2C sellers only) returns
/// `orders[].items[].chatId`, and `status` is one of `on_confirmation`,
/// `ready_to_ship`, `in_transit`, `canceled`, `delivered`, `on_return`,
/// `in_dispute`, `closed`. Not done here: it needs another API permission and
/// the chat id link is not documented as reliable.
fn listing_context(context: &Value) -> Option<OrderContext> {
    let kind = context.get("type").and_then(Value::as_str);
    if kind.is_some_and(|k| k != "item") {
        return None;
    }
    let item = context.get("value").filter(|v| v.is_object())?;
    let text = |k: &str| {
        item.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let price_string = text("price_string");
    let order = OrderContext {
        product_id: item
            .get("id")
            .and_then(lenient::int_of)
            .map(|i| i.to_string()),
        product_name: text("title"),
        price: price_string.as_deref().and_then(parse_price),
        currency: price_string
            .as_deref()
            .filter(|p| parse_price(p).is_some() && (p.contains('₽') || p.contains("руб")))
            .map(|_| "RUB".to_string()),
        url: text("url"),
        chat_kind: Some("listing".into()),
        ..OrderContext::default()
    };
    Some(order)
}

/// `"300 000 ₽"` → 300000. `None` for "Договорная", "Бесплатно" and the like.
pub fn parse_price(s: &str) -> Option<f64> {
    let mut digits = String::new();
    for c in s.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ',' | '.' if !digits.is_empty() && !digits.contains('.') => digits.push('.'),
            c if c.is_whitespace() || c == '\u{a0}' || c == '\u{202f}' => {}
            _ if !digits.is_empty() => break,
            _ => {}
        }
    }
    digits.trim_end_matches('.').parse::<f64>().ok()
}

#[derive(Debug, Deserialize)]
struct ApiMessage {
    #[serde(default, deserialize_with = "lenient::string")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient::int")]
    author_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::int")]
    created: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    direction: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "lenient::string")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::object")]
    content: Option<Value>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    #[allow(dead_code)]
    is_read: Option<bool>,
    #[serde(default, deserialize_with = "lenient::int")]
    read: Option<i64>,
    #[serde(default, deserialize_with = "lenient::object")]
    quote: Option<Value>,
}

impl ApiMessage {
    fn into_inbound(self, chat_id: &str, user_id: i64) -> Option<InboundMessage> {
        let id = self.id.filter(|i| !i.is_empty())?;
        let kind = self.kind.unwrap_or_else(|| "text".into());
        let ours = match self.author_id {
            Some(a) => a == user_id && user_id != 0,
            None => self.direction.as_deref() == Some("out"),
        };
        // System notices (author 0, type `system`) are never buyer turns; nor
        // are a missed call or a buyer's message deleted before we saw it.
        // Our own messages always count: they are how echoes of our sends and
        // answers typed in the Avito app are recognised.
        let author = if kind == "system" || self.author_id == Some(0) {
            Author::System
        } else if ours {
            Author::Seller
        } else if matches!(kind.as_str(), "deleted" | "call") {
            Author::System
        } else {
            Author::Buyer
        };
        let content = self.content.unwrap_or(Value::Null);
        let text = content
            .get("text")
            .and_then(Value::as_str)
            .or_else(|| content.pointer("/link/text").and_then(Value::as_str))
            .or_else(|| content.pointer("/item/title").and_then(Value::as_str))
            .or_else(|| content.pointer("/location/text").and_then(Value::as_str))
            .unwrap_or_default()
            .to_string();
        let mut attachments = serde_json::Map::new();
        if kind != "text" {
            attachments.insert("type".into(), Value::String(kind.clone()));
            if let Value::Object(o) = content {
                attachments.extend(o.into_iter().filter(|(k, v)| k != "text" && !v.is_null()));
            }
        }
        if let Some(q) = self.quote {
            attachments.insert("quote".into(), q);
        }
        Some(InboundMessage {
            chat_id: chat_id.to_string(),
            id,
            author,
            // Avito does not say whether our message came from the API or the
            // Avito app: echoes of unknown sends must match by text.
            via_api: author == Author::Seller,
            channel: None,
            text,
            attachments: if attachments.is_empty() {
                Value::Null
            } else {
                Value::Object(attachments)
            },
            created_at: secs_to_ms(self.created.unwrap_or(0)),
            // `read` is when the other side read it; for our messages that is
            // the buyer. (`is_read` is the seller's own view: always true for
            // what we wrote.)
            read_at: (author == Author::Seller)
                .then_some(self.read)
                .flatten()
                .filter(|r| *r > 0)
                .map(secs_to_ms),
        })
    }
}

#[derive(Debug, Deserialize)]
struct WebhookPush {
    #[serde(default)]
    payload: Option<WebhookPayload>,
}

#[derive(Debug, Deserialize)]
struct WebhookPayload {
    #[serde(default, rename = "type", deserialize_with = "lenient::string")]
    kind: Option<String>,
    #[serde(default)]
    value: Option<WebhookMessage>,
}

#[derive(Debug, Deserialize)]
struct WebhookMessage {
    #[serde(default, deserialize_with = "lenient::string")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    chat_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::int")]
    user_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::int")]
    author_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::int")]
    created: Option<i64>,
    #[serde(default, deserialize_with = "lenient::int")]
    read: Option<i64>,
    #[serde(default, deserialize_with = "lenient::int")]
    item_id: Option<i64>,
    #[serde(default, rename = "type", deserialize_with = "lenient::string")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::object")]
    content: Option<Value>,
}

/// Built from `[shops.<id>.avito]`, reviews from its `feedback` subsection
/// with the same credentials.
impl super::Connect for crate::config::AvitoSettings {
    fn connector(
        &self,
        what: &str,
        base_dir: &std::path::Path,
    ) -> Result<super::DynConnector, String> {
        let client_secret = self.resolve_client_secret(what, base_dir)?;
        Ok(std::sync::Arc::new(AvitoClient::new(AvitoConfig {
            base_url: self.base_url.clone(),
            client_id: self.client_id.clone(),
            client_secret,
            timeout: self.timeout.0,
            rate_limit_requests: self.rate_limit_requests,
            rate_limit_period: self.rate_limit_period.0,
        })))
    }

    fn feedback_connector(
        &self,
        what: &str,
        base_dir: &std::path::Path,
    ) -> Option<super::DynFeedbackConnector> {
        use super::feedback::avito::{AvitoFeedback, AvitoFeedbackConfig};
        let fb = self.feedback.as_ref()?;
        let client_secret = self.resolve_client_secret(what, base_dir).ok()?;
        let mut config = AvitoFeedbackConfig::new(&self.base_url, &self.client_id, client_secret);
        super::feedback::pace(
            fb,
            &mut config.base_url,
            &mut config.timeout,
            self.timeout.0,
            &mut config.rate_limit_requests,
            &mut config.rate_limit_period,
        );
        Some(std::sync::Arc::new(AvitoFeedback::new(config)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ChatMark;
    use std::collections::HashSet;

    // Examples from the Avito specs (shared/specs/avito): verbatim where the
    // spec has a whole example, assembled from its field examples where not.
    const SPEC_TOKEN: &str = include_str!("../../tests/fixtures/avito/token.json");
    const SPEC_SELF: &str = include_str!("../../tests/fixtures/avito/accounts_self.json");
    const SPEC_CHATS: &str = include_str!("../../tests/fixtures/avito/chats.json");
    const SPEC_MESSAGES: &str = include_str!("../../tests/fixtures/avito/messages_v3.json");
    const SPEC_SEND: &str = include_str!("../../tests/fixtures/avito/send_response.json");
    const SPEC_WEBHOOK: &str = include_str!("../../tests/fixtures/avito/webhook_v3.json");
    const SPEC_ERROR_403: &str = r#"{"error":{"code":403,"message":"Forbidden"}}"#;

    /// The account of the spec examples (`Chat.users[].id`, `author_id`).
    const SPEC_USER: i64 = 94235311;

    fn config(uri: &str) -> AvitoConfig {
        AvitoConfig {
            base_url: uri.to_string(),
            client_id: "cid".into(),
            client_secret: SecretString::from("secret"),
            timeout: Duration::from_secs(2),
            rate_limit_requests: 100,
            rate_limit_period: Duration::from_secs(1),
        }
    }

    fn client(uri: &str) -> AvitoClient {
        AvitoClient::new(config(uri))
    }

    #[test]
    fn spec_token_and_account_examples_parse() {
        let t: TokenResponse = serde_json::from_str(SPEC_TOKEN).unwrap();
        assert_eq!(t.access_token.as_deref(), Some("kChqt9ewQNAcwgbHp4yFd5"));
        assert_eq!(t.expires_in, Some(86400));
        let me: AccountSelf = serde_json::from_str(SPEC_SELF).unwrap();
        assert_eq!(me.id, Some(94235311));
    }

    #[test]
    fn spec_chat_example_gives_listing_buyer_and_marker() {
        let body: Value = serde_json::from_str(SPEC_CHATS).unwrap();
        let chats: Vec<ApiChat> = list_items(body, "chats")
            .into_iter()
            .map(|v| serde_json::from_value(v).unwrap())
            .collect();
        assert_eq!(chats.len(), 1);
        // The spec's only user is the listing's author; seen from another
        // account, that user is the other side.
        let update = chats.into_iter().next().unwrap().into_update(1);
        assert_eq!(update.chat_id, "u2i-isUW4p7EZVu4R4Zk6ts2G");
        assert_eq!(
            update.reply_handle.as_deref(),
            Some("u2i-isUW4p7EZVu4R4Zk6ts2G")
        );
        assert_eq!(update.buyer_name.as_deref(), Some("Guldan"));
        assert_eq!(
            update.marker.as_deref(),
            Some("bdcc5bac2d00345f1cc66fa657813958")
        );
        let order = update.order.unwrap();
        assert_eq!(order.product_id.as_deref(), Some("1768287444"));
        assert_eq!(order.product_name.as_deref(), Some("Mazda 3 2008"));
        assert_eq!(order.price, Some(300000.0));
        assert_eq!(order.currency.as_deref(), Some("RUB"));
        assert_eq!(order.chat_kind.as_deref(), Some("listing"));
        assert_eq!(
            order.url.as_deref(),
            Some("https://avito.ru/moskva/avtomobili/mazda_3_2008_1768287444")
        );
    }

    #[test]
    fn spec_messages_example_maps_authors_and_reads() {
        let body: Value = serde_json::from_str(SPEC_MESSAGES).unwrap();
        let msgs: Vec<InboundMessage> = list_items(body, "messages")
            .into_iter()
            .map(|v| serde_json::from_value::<ApiMessage>(v).unwrap())
            .filter_map(|m| m.into_inbound("u2i-x", SPEC_USER))
            .collect();
        assert_eq!(msgs.len(), 4);
        let ours = &msgs[0];
        assert_eq!(ours.author, Author::Seller);
        assert!(ours.via_api, "Avito cannot tell API sends from the app");
        assert_eq!(ours.text, "привет!");
        assert_eq!(ours.created_at, 1_571_654_040_000);
        assert_eq!(
            ours.read_at,
            Some(123_000),
            "`read` on our message is the buyer's read"
        );
        assert_eq!(msgs[1].author, Author::Buyer);
        assert_eq!(
            msgs[1].read_at, None,
            "reads are tracked for our messages only"
        );
        assert_eq!(msgs[2].author, Author::System, "author 0 / type system");
        assert_eq!(msgs[2].attachments["flow_id"], "seller_audience_discount");
        assert_eq!(msgs[3].author, Author::Buyer);
        assert_eq!(msgs[3].attachments["type"], "image");
        assert!(msgs[3].attachments["image"]["sizes"].is_object());
    }

    #[test]
    fn the_messages_answer_may_be_wrapped_or_bare() {
        let bare = json!([{ "id": "a", "author_id": 5, "created": 1, "type": "text", "content": { "text": "x" } }]);
        let wrapped = json!({ "messages": bare.clone() });
        assert_eq!(list_items(bare, "messages").len(), 1);
        assert_eq!(list_items(wrapped, "messages").len(), 1);
        assert!(list_items(json!({"unexpected": 1}), "messages").is_empty());
    }

    #[test]
    fn odd_json_does_not_break_parsing() {
        let m: ApiMessage = serde_json::from_value(json!({
            "id": 18446744073709551615u64,
            "author_id": "777",
            "created": "1700000000",
            "type": "hologram",
            "content": "not an object",
            "is_read": "true",
            "read": null,
            "surprise": [1, 2, 3]
        }))
        .unwrap();
        let m = m.into_inbound("c", 1).unwrap();
        assert_eq!(m.id, "18446744073709551615", "ids keep every digit");
        assert_eq!(m.author, Author::Buyer);
        assert_eq!(m.created_at, 1_700_000_000_000);
        assert_eq!(m.attachments["type"], "hologram");
        let c: ApiChat = serde_json::from_value(json!({
            "id": "u2u-1", "context": null, "users": "nobody", "last_message": { "id": 42 }
        }))
        .unwrap();
        let u = c.into_update(1);
        assert_eq!(u.marker.as_deref(), Some("42"));
        assert!(u.order.is_none() && u.buyer_name.is_none());
        assert!(
            serde_json::from_value::<ApiMessage>(json!({}))
                .unwrap()
                .into_inbound("c", 1)
                .is_none()
        );
    }

    #[test]
    fn spec_send_example_and_request_body() {
        let sent: ApiMessage = serde_json::from_str(SPEC_SEND).unwrap();
        assert_eq!(sent.id.as_deref(), Some("bdcc5bac2d00345f1cc66fa657813958"));
        assert_eq!(sent.created, Some(1563202313));
        // sendMessageRequestBody: message.text (≤ 1000) and type, enum ["text"].
        let body = send_body("Здравствуйте!");
        assert_eq!(
            body,
            json!({ "message": { "text": "Здравствуйте!" }, "type": "text" })
        );
        assert_eq!(
            Marketplace::Avito.capabilities().max_message_chars,
            MAX_MESSAGE_CHARS
        );
    }

    #[test]
    fn spec_webhook_example_becomes_a_batch() {
        let batch = parse_webhook_body(SPEC_WEBHOOK.as_bytes()).unwrap();
        assert_eq!(batch.messages.len(), 1);
        let m = &batch.messages[0];
        assert_eq!((m.id.as_str(), m.chat_id.as_str()), ("abc", "abc"));
        // In the assembled example author_id == user_id: our own message.
        assert_eq!(m.author, Author::Seller);
        assert_eq!(m.text, "привет!");
        assert_eq!(m.created_at, 123_000);
        let chat = &batch.chats[0];
        assert_eq!(chat.reply_handle.as_deref(), Some("abc"));
        assert_eq!(
            chat.marker, None,
            "a push must not make the poll skip the chat"
        );
        assert_eq!(
            chat.order.as_ref().unwrap().product_id.as_deref(),
            Some("123")
        );
        let buyer = SPEC_WEBHOOK.replace("\"author_id\":123", "\"author_id\":456");
        let batch = parse_webhook_body(buyer.as_bytes()).unwrap();
        assert_eq!(batch.messages[0].author, Author::Buyer);
        assert!(
            parse_webhook_body(b"{\"payload\":{\"type\":\"other\"}}")
                .unwrap()
                .messages
                .is_empty()
        );
        assert!(matches!(
            parse_webhook_body(b"<html>"),
            Err(MarketError::Invalid(_))
        ));
    }

    #[test]
    fn error_bodies_in_every_avito_shape() {
        assert_eq!(detail_from_text(SPEC_ERROR_403), "Forbidden");
        assert_eq!(
            detail_from_text(r#"{"code":404,"message":"Not found"}"#),
            "Not found"
        );
        assert_eq!(
            detail_from_text(r#"{"error":"invalid_client","error_description":"bad secret"}"#),
            "invalid_client: bad secret"
        );
        assert_eq!(detail_from_text(r#"{"error":{"code":429}}"#), "429");
        assert_eq!(detail_from_text("Bad Gateway"), "Bad Gateway");
    }

    #[test]
    fn prices_from_price_strings() {
        assert_eq!(parse_price("300 000 ₽"), Some(300000.0));
        assert_eq!(parse_price("1\u{a0}990,50 ₽"), Some(1990.5));
        assert_eq!(parse_price("Договорная"), None);
        assert_eq!(parse_price("от 500 ₽ за услугу"), Some(500.0));
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(path_segment("u2i-AbC_1.~"), "u2i-AbC_1.~");
        assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
    }

    mod http {
        use super::*;
        use wiremock::matchers::{body_string_contains, header, method, path, query_param};
        use wiremock::{Mock, MockServer, ResponseTemplate};

        async fn server_with_auth() -> MockServer {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .and(path("/token"))
                .respond_with(ResponseTemplate::new(200).set_body_string(SPEC_TOKEN))
                .mount(&server)
                .await;
            Mock::given(method("GET"))
                .and(path("/core/v1/accounts/self"))
                .respond_with(ResponseTemplate::new(200).set_body_string(SPEC_SELF))
                .mount(&server)
                .await;
            server
        }

        #[tokio::test]
        async fn token_request_and_send_body_follow_the_spec() {
            let server = server_with_auth().await;
            Mock::given(method("POST"))
                .and(path(
                    "/messenger/v1/accounts/94235311/chats/u2i-isUW4p7EZVu4R4Zk6ts2G/messages",
                ))
                .and(header("authorization", "Bearer kChqt9ewQNAcwgbHp4yFd5"))
                .respond_with(ResponseTemplate::new(200).set_body_string(SPEC_SEND))
                .expect(1)
                .mount(&server)
                .await;
            let c = client(&server.uri());
            let text = ReplyText::parse("Здравствуйте!", MAX_MESSAGE_CHARS).unwrap();
            let chat = ChatRef {
                external_id: "u2i-isUW4p7EZVu4R4Zk6ts2G",
                reply_handle: None,
            };
            let d = c.send(chat, &text).await.unwrap();
            assert_eq!(
                d.message_id.as_deref(),
                Some("bdcc5bac2d00345f1cc66fa657813958")
            );
            assert_eq!(d.sent_at, Some(1_563_202_313_000));
            let received = server.received_requests().await.unwrap();
            let token = received.iter().find(|r| r.url.path() == "/token").unwrap();
            assert_eq!(
                token.headers.get("content-type").unwrap(),
                "application/x-www-form-urlencoded"
            );
            let form = String::from_utf8_lossy(&token.body);
            for part in [
                "grant_type=client_credentials",
                "client_id=cid",
                "client_secret=secret",
            ] {
                assert!(form.contains(part), "{form}");
            }
            let send = received
                .iter()
                .find(|r| r.url.path().ends_with("/messages"))
                .unwrap();
            let body: Value = serde_json::from_slice(&send.body).unwrap();
            assert_eq!(body, send_body("Здравствуйте!"));
        }

        #[tokio::test]
        async fn an_expired_token_is_renewed_once_and_the_request_repeated_once() {
            let server = server_with_auth().await;
            let chats = "/messenger/v2/accounts/94235311/chats";
            Mock::given(method("GET"))
                .and(path(chats))
                .respond_with(ResponseTemplate::new(403).set_body_string(SPEC_ERROR_403))
                .up_to_n_times(1)
                .mount(&server)
                .await;
            Mock::given(method("GET"))
                .and(path(chats))
                .and(query_param("unread_only", "true"))
                .and(query_param("chat_types", "u2i"))
                .and(query_param("chat_types", "u2u"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "chats": [] })))
                .mount(&server)
                .await;
            Mock::given(method("GET"))
                .and(path(chats))
                .and(query_param("unread_only", "false"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "chats": [] })))
                .mount(&server)
                .await;
            let c = client(&server.uri());
            let batch = c.poll(None, &KnownChats::new()).await.unwrap();
            assert!(batch.messages.is_empty());
            let paths: Vec<String> = server
                .received_requests()
                .await
                .unwrap()
                .iter()
                .map(|r| r.url.path().to_string())
                .collect();
            // token, self, list (403), token, the same list again, the sweep.
            let tokens = paths.iter().filter(|p| *p == "/token").count();
            assert_eq!(tokens, 2, "{paths:?}");
            assert_eq!(paths.iter().filter(|p| *p == chats).count(), 3, "{paths:?}");
            assert_eq!(paths[3], "/token", "{paths:?}");
            assert_eq!(paths[4], chats, "{paths:?}");
        }

        #[tokio::test]
        async fn a_second_refusal_is_an_auth_error_and_bad_credentials_too() {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .and(path("/token"))
                .and(body_string_contains("client_secret=secret"))
                .respond_with(ResponseTemplate::new(200).set_body_string(SPEC_TOKEN))
                .mount(&server)
                .await;
            Mock::given(method("GET"))
                .and(path("/core/v1/accounts/self"))
                .respond_with(ResponseTemplate::new(403).set_body_string(SPEC_ERROR_403))
                .expect(2)
                .mount(&server)
                .await;
            let c = client(&server.uri());
            let err = c.poll(None, &KnownChats::new()).await.unwrap_err();
            assert!(
                matches!(err, MarketError::Auth(ref d) if d.contains("403")),
                "{err}"
            );

            let wrong = AvitoClient::new(AvitoConfig {
                client_secret: SecretString::from("wrong"),
                ..AvitoConfig {
                    base_url: server.uri(),
                    client_id: "cid".into(),
                    client_secret: SecretString::from("x"),
                    timeout: Duration::from_secs(2),
                    rate_limit_requests: 100,
                    rate_limit_period: Duration::from_secs(1),
                }
            });
            let err = wrong.poll(None, &KnownChats::new()).await.unwrap_err();
            assert!(
                matches!(err, MarketError::Auth(ref d) if d.contains("client_secret")),
                "{err}"
            );
        }

        #[tokio::test]
        async fn chat_types_are_sent_as_the_spec_declares_an_array() {
            let server = server_with_auth().await;
            let base = "/messenger/v2/accounts/94235311/chats";
            Mock::given(method("GET"))
                .and(path(base))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "chats": [] })))
                .mount(&server)
                .await;
            client(&server.uri())
                .poll(None, &KnownChats::new())
                .await
                .unwrap();
            let requests = server.received_requests().await.unwrap();
            let list = requests.iter().find(|r| r.url.path() == base).unwrap();
            let query = list.url.query().unwrap_or_default();
            assert!(query.contains("chat_types=u2i&chat_types=u2u&"), "{query}");
        }

        #[tokio::test]
        async fn only_chats_whose_marker_moved_are_read_and_unsettled_ones_always() {
            let server = server_with_auth().await;
            let base = "/messenger/v2/accounts/94235311/chats";
            let chat = |id: &str, last: &str| {
                json!({ "id": id, "last_message": { "id": last, "author_id": 1, "created": 10 },
                        "users": [{ "id": 94235311, "name": "Shop" }, { "id": 5, "name": "Ира" }] })
            };
            Mock::given(method("GET"))
                .and(path(base))
                .respond_with(
                    ResponseTemplate::new(200).set_body_json(
                        json!({ "chats": [chat("same", "m1"), chat("moved", "m9")] }),
                    ),
                )
                .mount(&server)
                .await;
            for id in ["moved", "pending"] {
                Mock::given(method("GET"))
                    .and(path(format!(
                        "/messenger/v3/accounts/94235311/chats/{id}/messages/"
                    )))
                    .respond_with(ResponseTemplate::new(200).set_body_json(json!([
                        { "id": format!("{id}-2"), "author_id": 94235311, "created": 20, "type": "text",
                          "content": { "text": "ответ" }, "is_read": true, "read": 25 },
                        { "id": format!("{id}-1"), "author_id": 5, "created": 20, "type": "text",
                          "content": { "text": "вопрос" }, "is_read": false }
                    ])))
                    .expect(1)
                    .mount(&server)
                    .await;
            }
            let mut known = KnownChats::new();
            known.insert(
                "same".into(),
                ChatMark {
                    marker: Some("m1".into()),
                    ..Default::default()
                },
            );
            known.insert(
                "moved".into(),
                ChatMark {
                    marker: Some("m1".into()),
                    ..Default::default()
                },
            );
            known.insert(
                "pending".into(),
                ChatMark {
                    marker: Some("p".into()),
                    unsettled_send: true,
                    ..Default::default()
                },
            );
            let c = client(&server.uri());
            let batch = c.poll(None, &known).await.unwrap();
            let ids: Vec<_> = batch.messages.iter().map(|m| m.id.as_str()).collect();
            // The chat with a send to settle is read first; each chat's
            // messages oldest first even within one second: the buyer
            // asked, we answered.
            assert_eq!(ids, ["pending-1", "pending-2", "moved-1", "moved-2"]);
            assert_eq!(batch.messages[3].read_at, Some(25_000));
            let moved = batch.chats.iter().find(|c| c.chat_id == "moved").unwrap();
            assert_eq!(moved.marker.as_deref(), Some("m9"));
            assert_eq!(moved.buyer_name.as_deref(), Some("Ира"));
            let pending = batch.chats.iter().find(|c| c.chat_id == "pending").unwrap();
            assert_eq!(pending.reply_handle.as_deref(), Some("pending"));
            assert!(batch.chats.iter().all(|c| c.chat_id != "same"));
        }

        #[tokio::test]
        async fn send_outcomes_map_to_delivered_unknown_and_not_delivered() {
            let server = server_with_auth().await;
            let send =
                |chat: &str| format!("/messenger/v1/accounts/94235311/chats/{chat}/messages");
            let cases = [
                ("s500", ResponseTemplate::new(500).set_body_json(json!({"error":{"code":500,"message":"Error while processing request. Please, contact support"}}))),
                ("s404", ResponseTemplate::new(404).set_body_json(json!({"error":{"code":404,"message":"Not found"}}))),
                ("s400", ResponseTemplate::new(400).set_body_json(json!({"error":{"code":400,"message":"Validation error","fields":{}}}))),
                ("s402", ResponseTemplate::new(402).set_body_json(json!({"error":{"code":402,"message":"Payment required"}}))),
                ("s429", ResponseTemplate::new(429).insert_header("Retry-After", "7").set_body_json(json!({"error":{"code":429}}))),
                ("garbage", ResponseTemplate::new(200).set_body_string("<html>")),
            ];
            for (chat, response) in cases {
                Mock::given(method("POST"))
                    .and(path(send(chat)))
                    .respond_with(response)
                    .mount(&server)
                    .await;
            }
            let c = client(&server.uri());
            let text = ReplyText::parse("Добрый день", MAX_MESSAGE_CHARS).unwrap();
            let go = |chat: &'static str| {
                let c = &c;
                let text = &text;
                async move {
                    c.send(
                        ChatRef {
                            external_id: chat,
                            reply_handle: Some(chat),
                        },
                        text,
                    )
                    .await
                }
            };
            assert!(matches!(go("s500").await, Err(SendError::Unknown(_))));
            assert!(matches!(go("garbage").await, Err(SendError::Unknown(_))));
            assert!(matches!(
                go("s404").await,
                Err(SendError::NotDelivered(MarketError::ChatClosed(_)))
            ));
            assert!(matches!(
                go("s400").await,
                Err(SendError::NotDelivered(MarketError::Invalid(_)))
            ));
            assert!(matches!(
                go("s402").await,
                Err(SendError::NotDelivered(MarketError::SubscriptionMissing(_)))
            ));
            assert!(matches!(
                go("s429").await,
                Err(SendError::NotDelivered(MarketError::RateLimited { retry_after })) if retry_after == Duration::from_secs(7)
            ));
            // Nothing listens on port 9 of localhost: refused means not delivered.
            let refused = client("http://127.0.0.1:9");
            let r = refused
                .send(
                    ChatRef {
                        external_id: "x",
                        reply_handle: None,
                    },
                    &text,
                )
                .await;
            assert!(matches!(r, Err(SendError::NotDelivered(_))), "{r:?}");
        }

        /// Answers every request with a full page of chats or messages never
        /// seen before, so the list always has more and no history ends.
        struct Endless(std::sync::atomic::AtomicUsize, fn(usize) -> Value);

        impl wiremock::Respond for Endless {
            fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
                let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                ResponseTemplate::new(200).set_body_json((self.1)(n))
            }
        }

        #[tokio::test]
        async fn a_poll_makes_at_most_its_budget_of_requests_however_many_chats_are_offered() {
            let server = server_with_auth().await;
            Mock::given(method("GET"))
                .and(path("/messenger/v2/accounts/94235311/chats"))
                .respond_with(Endless(Default::default(), |n| {
                    let chats: Vec<Value> = (0..PAGE_LIMIT)
                        .map(|i| json!({ "id": format!("chat-{n}-{i}"), "last_message": { "id": "m" } }))
                        .collect();
                    json!({ "chats": chats })
                }))
                .mount(&server)
                .await;
            Mock::given(method("GET"))
                .and(wiremock::matchers::path_regex(
                    "^/messenger/v3/.*/messages/$",
                ))
                .respond_with(Endless(Default::default(), |n| {
                    let messages: Vec<Value> = (0..PAGE_LIMIT)
                        .map(|i| {
                            json!({ "id": format!("m-{n}-{i}"), "author_id": 5, "created": 1000 - i,
                                         "type": "text", "content": { "text": "?" } })
                        })
                        .collect();
                    Value::Array(messages)
                }))
                .mount(&server)
                .await;
            // No client-side pace: only the budget may stop it.
            let c = AvitoClient::new(AvitoConfig {
                rate_limit_requests: 0,
                ..config(&server.uri())
            });
            let batch = c.poll(None, &KnownChats::new()).await.unwrap();
            let requests = server.received_requests().await.unwrap();
            let messenger = requests
                .iter()
                .filter(|r| r.url.path().starts_with("/messenger/"))
                .count();
            assert!(
                messenger <= MAX_REQUESTS_PER_POLL,
                "{messenger} requests in one poll"
            );
            assert!(batch.more, "the chats not read are read on the next poll");
            assert!(!batch.chats.is_empty(), "the poll got somewhere");
            assert_eq!(
                batch.messages.len(),
                batch.chats.len() * MAX_PAGES * PAGE_LIMIT,
                "only chats read whole are kept"
            );
        }
    }

    // ---- against the simulator ------------------------------------------------

    mod against_the_simulator {
        use super::*;
        use crate::sim::{
            BuyerMessage, FaultSpec, RateConfig, SellerConfig, Sim, SimConfig, SimHandle,
        };

        async fn sim() -> SimHandle {
            let mut config = SimConfig::documented();
            // Fast enough that only the client's budget shapes the polls.
            config.avito_rate = RateConfig {
                burst: 100_000,
                per_second: 100_000.0,
            };
            config.sellers.insert(
                "shop".into(),
                SellerConfig {
                    avito_client_id: Some("cid".into()),
                    avito_client_secret: Some("secret".into()),
                    avito_user_id: Some(SPEC_USER),
                    ..SellerConfig::default()
                },
            );
            Sim::new(config)
                .spawn("127.0.0.1:0".parse().unwrap())
                .await
                .unwrap()
        }

        fn buyer_writes(sim: &SimHandle, chat_id: Option<&str>, text: String) -> String {
            sim.sim
                .buyer_writes(BuyerMessage {
                    marketplace: Marketplace::Avito,
                    text,
                    chat_id: chat_id.map(str::to_string),
                    seller: None,
                    client_name: None,
                    order: None,
                    at: None,
                })
                .unwrap()
                .chat_id
        }

        fn messenger_requests(sim: &SimHandle) -> usize {
            sim.sim
                .lock()
                .requests
                .iter()
                .filter(|r| {
                    r.marketplace == Marketplace::Avito && r.path.starts_with("/messenger/")
                })
                .count()
        }

        #[tokio::test]
        async fn a_slow_server_gets_short_polls_that_together_read_every_chat_once() {
            let sim = sim().await;
            for i in 0..12 {
                buyer_writes(&sim, None, format!("вопрос {i}"));
            }
            sim.sim
                .add_fault(FaultSpec::slow(Marketplace::Avito, "/messages", 40));
            let mut c = client(&sim.url());
            c.read_time = Duration::from_millis(100);
            let mut known = KnownChats::new();
            let mut per_poll = Vec::new();
            let mut seen = Vec::new();
            loop {
                let batch = c.poll(None, &known).await.unwrap();
                for u in &batch.chats {
                    known.entry(u.chat_id.clone()).or_default().marker = u.marker.clone();
                }
                per_poll.push(batch.messages.len());
                seen.extend(batch.messages);
                if !batch.more {
                    break;
                }
                assert!(per_poll.len() < 12, "every poll reads a chat: {per_poll:?}");
            }
            assert!(
                per_poll.len() >= 3 && per_poll.iter().all(|n| *n > 0),
                "the time limit splits the reads, each poll with messages: {per_poll:?}"
            );
            let unique: HashSet<_> = seen.iter().map(|m| &m.id).collect();
            assert_eq!((seen.len(), unique.len()), (12, 12), "every chat read once");
        }

        #[tokio::test]
        async fn a_backlog_larger_than_one_polls_budget_is_read_whole_over_several_polls() {
            let sim = sim().await;
            for i in 0..150 {
                buyer_writes(&sim, None, format!("вопрос {i}"));
            }
            let long: Vec<String> = (0..3)
                .map(|i| buyer_writes(&sim, None, format!("длинный {i}: 0")))
                .collect();
            for chat in &long {
                for j in 1..250 {
                    buyer_writes(&sim, Some(chat), format!("{j}"));
                }
            }
            let c = client(&sim.url());
            let mut known = KnownChats::new();
            let mut seen = Vec::new();
            let mut polls = 0;
            loop {
                polls += 1;
                assert!(polls <= 100, "still more after 100 polls");
                let before = messenger_requests(&sim);
                let batch = c.poll(None, &known).await.unwrap();
                let made = messenger_requests(&sim) - before;
                assert!(
                    made <= MAX_REQUESTS_PER_POLL,
                    "{made} requests in poll {polls}"
                );
                // What the store would hand back: markers, and the newest message.
                for u in &batch.chats {
                    let mark = known.entry(u.chat_id.clone()).or_default();
                    if u.marker.is_some() {
                        mark.marker = u.marker.clone();
                    }
                }
                for m in &batch.messages {
                    known.entry(m.chat_id.clone()).or_default().last_message_id =
                        Some(m.id.clone());
                }
                seen.extend(batch.messages);
                if !batch.more {
                    break;
                }
            }
            assert!(polls > 1, "the backlog took {polls} poll(s)");
            let unique: HashSet<_> = seen.iter().map(|m| &m.id).collect();
            assert_eq!(unique.len(), seen.len(), "nothing read twice");
            assert_eq!(seen.len(), 150 + 3 * 250, "nothing lost");
            let before = messenger_requests(&sim);
            let batch = c.poll(None, &known).await.unwrap();
            assert!(batch.messages.is_empty() && !batch.more);
            assert!(
                messenger_requests(&sim) - before <= MAX_PAGES + 1,
                "caught up: the list, and nothing else"
            );
        }
    }
}
