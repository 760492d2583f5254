//! The Avito Messenger API, as `Мессенджер.json`, `Авторизация.json` and
//! `Информацияопользователе.json` describe it: OAuth2 client credentials at
//! `/token` (tokens expire after `SimConfig::avito_token_ttl`, and an expired
//! one gets a 403, as the auth docs say), the account at
//! `/core/v1/accounts/self`, chats with `unread_only`, newest-first history
//! that does not mark anything read, sends that answer with the new message's
//! id, `/read`, deletion within `SimConfig::avito_retract_window`, and
//! webhook v3 subscriptions that get a push for every new message.
//!
//! Avito documents no rate limit and no 429 for Messenger; the simulator
//! keeps a per-account bucket (`SimConfig::avito_rate`) and answers 429 with
//! `Retry-After` and the `X-RateLimit-*` headers the spec defines.

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::Rng;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{
    Admission, Bucket, BuyerMessage, Conn, FaultSpec, Posted, Push, RateConfig, SellerConfig,
    SentRecord, Sim, SimConfig, faults_after, faults_before, now,
};
use crate::domain::{Marketplace, Millis, OrderContext};

const MP: Marketplace = Marketplace::Avito;

/// The API's own numbers, from `shared/specs/avito/Мессенджер.json`, not
/// the connector's, so a connector that asks for more is refused here.
///
/// `components.parameters.limit` (chats and messages alike): 1 to 100, default 100.
const PAGE_LIMIT: usize = 100;
/// `components.parameters.offset` (chats and messages alike): 0 to 1000.
const MAX_OFFSET: usize = 1000;
/// `components.schemas.sendMessageRequestBody`: `message.text` has
/// `maxLength: 1000` ("максимум 1000 символов").
const MAX_MESSAGE_CHARS: usize = 1000;

struct Item {
    id: i64,
    title: String,
    price_string: Option<String>,
    url: String,
}

struct Msg {
    id: String,
    author_id: i64,
    created_ms: Millis,
    deleted: bool,
    text: String,
    /// When the recipient read it (unix seconds): the seller for the buyer's
    /// messages, the buyer for ours.
    read_at: Option<i64>,
}

struct Chat {
    id: String,
    chat_type: &'static str,
    created: i64,
    /// Orders the chat list: most recently updated first.
    seq: u64,
    buyer_id: i64,
    buyer_name: String,
    item: Option<Item>,
    messages: Vec<Msg>,
}

pub(crate) struct Account {
    client_id: Option<String>,
    client_secret: Option<String>,
    user_id: i64,
    token_ttl: Duration,
    retract_window: Duration,
    tokens: HashMap<String, Instant>,
    bucket: Bucket,
    rate: RateConfig,
    chats: Vec<Chat>,
    by_id: HashMap<String, usize>,
    seq: u64,
    subscriptions: Vec<String>,
    pushes: Vec<Push>,
}

fn random_alnum(n: usize) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| ABC[rng.random_range(0..ABC.len())] as char)
        .collect()
}

fn hex(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| format!("{:x}", rng.random_range(0..16u8)))
        .collect()
}

fn random_name() -> String {
    const NAMES: [&str; 10] = [
        "Анна",
        "Мария",
        "Ольга",
        "Наталья",
        "Ирина",
        "Иван",
        "Дмитрий",
        "Алексей",
        "Сергей",
        "Павел",
    ];
    NAMES[rand::rng().random_range(0..NAMES.len())].to_string()
}

fn secs(ms: Millis) -> i64 {
    ms.div_euclid(1000)
}

fn rfc3339(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// `1990.0` → `"1 990 ₽"`, as Avito writes prices.
fn price_string(price: f64) -> String {
    let whole = price.round().max(0.0) as u64;
    let digits = whole.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out.push_str(" ₽");
    out
}

/// The account id of a client id, when the configuration gives none.
fn derived_user_id(client_id: &str) -> i64 {
    let h = client_id.bytes().fold(1469598103934665603u64, |h, b| {
        (h ^ b as u64).wrapping_mul(1099511628211)
    });
    100_000_000 + (h % 900_000_000) as i64
}

impl Msg {
    fn kind(&self) -> &'static str {
        if self.deleted { "deleted" } else { "text" }
    }

    fn content(&self) -> Value {
        if self.deleted {
            json!({})
        } else {
            json!({ "text": self.text })
        }
    }
}

impl Account {
    pub(crate) fn new(seller: &SellerConfig, config: &SimConfig) -> Account {
        let user_id = seller
            .avito_user_id
            .or_else(|| seller.avito_client_id.as_deref().map(derived_user_id))
            .unwrap_or(0);
        Account {
            client_id: seller.avito_client_id.clone(),
            client_secret: seller.avito_client_secret.clone(),
            user_id,
            token_ttl: config.avito_token_ttl,
            retract_window: config.avito_retract_window,
            tokens: HashMap::new(),
            bucket: Bucket::new(config.avito_rate),
            rate: config.avito_rate,
            chats: Vec::new(),
            by_id: HashMap::new(),
            seq: 0,
            subscriptions: Vec::new(),
            pushes: Vec::new(),
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn chat_index(&self, chat_id: &str) -> Option<usize> {
        self.by_id.get(chat_id).copied()
    }

    /// Add a message to a chat, queue its webhook, and return its id.
    fn add_message(&mut self, idx: usize, author_id: i64, text: &str, at: Millis) -> String {
        let id = hex(32);
        let seq = self.next_seq();
        let chat = &mut self.chats[idx];
        chat.seq = seq;
        chat.messages.push(Msg {
            id: id.clone(),
            author_id,
            created_ms: at,
            deleted: false,
            text: text.to_string(),
            read_at: None,
        });
        self.queue_push(idx);
        id
    }

    /// A push of the chat's newest message for every subscribed URL.
    fn queue_push(&mut self, idx: usize) {
        let chat = &self.chats[idx];
        let Some(msg) = chat.messages.last() else {
            return;
        };
        let body = json!({
            "id": uuid::Uuid::new_v4().to_string(),
            "version": "v3.0.0",
            "timestamp": secs(now()),
            "payload": {
                "type": "message",
                "value": {
                    "id": msg.id,
                    "chat_id": chat.id,
                    "chat_type": chat.chat_type,
                    "user_id": self.user_id,
                    "author_id": msg.author_id,
                    "created": secs(msg.created_ms),
                    "published_at": rfc3339(secs(msg.created_ms)),
                    "read": msg.read_at,
                    "item_id": chat.item.as_ref().map(|i| i.id),
                    "type": msg.kind(),
                    "content": msg.content(),
                }
            }
        });
        let pushes: Vec<Push> = self
            .subscriptions
            .iter()
            .map(|url| Push {
                url: url.clone(),
                body: body.clone(),
            })
            .collect();
        self.pushes.extend(pushes);
    }

    fn item_for(order: &OrderContext) -> Item {
        let id = order
            .product_id
            .as_deref()
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or_else(|| rand::rng().random_range(2_000_000_000..4_000_000_000i64));
        Item {
            id,
            title: order
                .product_name
                .clone()
                .unwrap_or_else(|| "Товар".to_string()),
            price_string: order.price.map(price_string),
            url: order
                .url
                .clone()
                .unwrap_or_else(|| format!("https://www.avito.ru/moskva/tovary/tovar_{id}")),
        }
    }

    pub(crate) fn buyer_writes(&mut self, req: &BuyerMessage) -> Result<Posted, String> {
        if self.client_id.is_none() {
            return Err("this seller has no Avito account in the simulator".into());
        }
        let at = req.at.unwrap_or_else(now);
        let idx = match req.chat_id.as_deref().and_then(|id| self.chat_index(id)) {
            Some(i) => {
                if let Some(order) = &req.order {
                    let chat = &mut self.chats[i];
                    chat.item = Some(Self::item_for(order));
                    chat.chat_type = "u2i";
                }
                i
            }
            None => {
                // A chat about a listing when there is one, else about the
                // seller's profile.
                let item = req.order.as_ref().map(Self::item_for);
                let chat_type = if item.is_some() { "u2i" } else { "u2u" };
                let id = req
                    .chat_id
                    .clone()
                    .unwrap_or_else(|| format!("{chat_type}-{}", random_alnum(21)));
                let chat = Chat {
                    id: id.clone(),
                    chat_type,
                    created: secs(at),
                    seq: 0,
                    buyer_id: rand::rng().random_range(100_000_000..400_000_000i64),
                    buyer_name: req.client_name.clone().unwrap_or_else(random_name),
                    item,
                    messages: Vec::new(),
                };
                self.by_id.insert(id, self.chats.len());
                self.chats.push(chat);
                self.chats.len() - 1
            }
        };
        // Writing again, the buyer has seen what the seller wrote so far.
        let now_s = secs(now());
        let user_id = self.user_id;
        for m in self.chats[idx]
            .messages
            .iter_mut()
            .filter(|m| m.author_id == user_id && m.read_at.is_none())
        {
            m.read_at = Some(now_s);
        }
        let buyer = self.chats[idx].buyer_id;
        let message_id = self.add_message(idx, buyer, &req.text, at);
        Ok(Posted {
            chat_id: self.chats[idx].id.clone(),
            message_id,
        })
    }

    /// A person answers in the Avito app: to answer, they opened the chat,
    /// so everything the buyer wrote is read.
    pub(crate) fn portal_reply(&mut self, chat_id: &str, text: &str) -> Result<Posted, String> {
        let idx = self
            .chat_index(chat_id)
            .ok_or_else(|| format!("no Avito chat `{chat_id}`"))?;
        self.mark_read(idx);
        let user_id = self.user_id;
        let message_id = self.add_message(idx, user_id, text, now());
        Ok(Posted {
            chat_id: chat_id.to_string(),
            message_id,
        })
    }

    fn mark_read(&mut self, idx: usize) {
        let now_s = secs(now());
        let user_id = self.user_id;
        for m in self.chats[idx]
            .messages
            .iter_mut()
            .filter(|m| m.author_id != user_id && m.read_at.is_none())
        {
            m.read_at = Some(now_s);
        }
    }

    fn unread(&self, chat: &Chat) -> bool {
        chat.messages
            .iter()
            .any(|m| m.author_id != self.user_id && m.read_at.is_none())
    }

    fn message_json(&self, m: &Msg) -> Value {
        let ours = m.author_id == self.user_id;
        json!({
            "id": m.id,
            "author_id": m.author_id,
            "created": secs(m.created_ms),
            "direction": if ours { "out" } else { "in" },
            "type": m.kind(),
            "content": m.content(),
            // From the seller's side: what we wrote we have read.
            "is_read": ours || m.read_at.is_some(),
            "read": m.read_at,
        })
    }

    fn chat_json(&self, chat: &Chat) -> Value {
        let last = chat.messages.last();
        let mut v = json!({
            "id": chat.id,
            "created": chat.created,
            "updated": last.map(|m| secs(m.created_ms)).unwrap_or(chat.created),
            "users": [
                {
                    "id": self.user_id,
                    "name": "Магазин",
                    "public_user_profile": {
                        "user_id": self.user_id,
                        "url": format!("https://www.avito.ru/user/{}/profile", hex(32)),
                    }
                },
                {
                    "id": chat.buyer_id,
                    "name": chat.buyer_name,
                    "public_user_profile": {
                        "user_id": chat.buyer_id,
                        "item_id": chat.item.as_ref().map(|i| i.id),
                        "url": format!("https://www.avito.ru/user/{}/profile", hex(32)),
                        "avatar": { "default": "https://www.avito.st/stub_avatars/_/14_256x256.png" },
                    }
                }
            ],
        });
        if let Some(item) = &chat.item {
            v["context"] = json!({
                "type": "item",
                "value": {
                    "id": item.id,
                    "title": item.title,
                    "price_string": item.price_string,
                    "status_id": 10,
                    "url": item.url,
                    "user_id": self.user_id,
                    "images": { "count": 1, "main": { "140x105": format!("https://00.img.avito.st/image/1/140x105/{}.jpg", item.id) } },
                }
            });
        }
        if let Some(m) = last {
            v["last_message"] = json!({
                "id": m.id,
                "author_id": m.author_id,
                "created": secs(m.created_ms),
                "direction": if m.author_id == self.user_id { "out" } else { "in" },
                "type": m.kind(),
                "content": m.content(),
            });
        }
        v
    }
}

impl Account {
    /// Webhooks owed to subscribers after the last change.
    /// Whether `token` is one of this account's live access tokens.
    pub(crate) fn accepts_token(&self, token: &str) -> bool {
        self.tokens
            .get(token)
            .is_some_and(|exp| *exp > Instant::now())
    }

    pub(crate) fn take_pushes(&mut self) -> Vec<super::Push> {
        std::mem::take(&mut self.pushes)
    }
}

pub(super) fn routes() -> axum::Router<Sim> {
    axum::Router::new()
        .route("/token", post(post_token))
        .route("/token/", post(post_token))
        .route("/core/v1/accounts/self", get(get_self))
        .route("/messenger/v2/accounts/{user_id}/chats", get(get_chats))
        .route(
            "/messenger/v2/accounts/{user_id}/chats/{chat_id}",
            get(get_chat),
        )
        .route(
            "/messenger/v3/accounts/{user_id}/chats/{chat_id}/messages/",
            get(get_messages),
        )
        .route(
            "/messenger/v3/accounts/{user_id}/chats/{chat_id}/messages",
            get(get_messages),
        )
        .route(
            "/messenger/v1/accounts/{user_id}/chats/{chat_id}/messages",
            post(post_message),
        )
        .route(
            "/messenger/v1/accounts/{user_id}/chats/{chat_id}/messages/{message_id}",
            post(delete_message),
        )
        .route(
            "/messenger/v1/accounts/{user_id}/chats/{chat_id}/read",
            post(post_read),
        )
        .route("/messenger/v3/webhook", post(post_webhook))
        .route("/messenger/v1/webhook/unsubscribe", post(post_unsubscribe))
        .route("/messenger/v1/subscriptions", post(post_subscriptions))
}

/// Avito's error body: `{"error": {"code", "message"}}`.
fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({ "error": { "code": status.as_u16(), "message": message } });
    (status, Json(body)).into_response()
}

fn validation_error(fields: Value) -> Response {
    let body = json!({ "error": { "code": 400, "message": "Validation error", "fields": fields } });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

fn standard_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment required",
        403 => "Forbidden",
        404 => "Not found",
        429 => "Too Many Requests",
        503 => "Service temporarily unavailable. Please, contact support",
        s if s >= 500 => "Error while processing request. Please, contact support",
        _ => "Error",
    }
}

fn throttled(retry_secs: u64, per_minute: u32) -> Response {
    let mut r = error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
    let h = r.headers_mut();
    h.insert(header::RETRY_AFTER, HeaderValue::from(retry_secs));
    h.insert("X-RateLimit-Limit", HeaderValue::from(per_minute));
    h.insert("X-RateLimit-Remaining", HeaderValue::from(0u32));
    r
}

fn per_minute(rate: RateConfig) -> u32 {
    (rate.per_second * 60.0).round().max(1.0) as u32
}

fn fault_response(fault: &FaultSpec) -> Response {
    let status = StatusCode::from_u16(fault.status.unwrap_or(500))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status == StatusCode::TOO_MANY_REQUESTS {
        return throttled(fault.retry_after_secs.unwrap_or(1), 600);
    }
    error(status, standard_message(status))
}

/// What a request was admitted with.
struct Admitted {
    seller: usize,
    fault: Option<FaultSpec>,
    remaining: u32,
    per_minute: u32,
}

/// Faults, the bearer token (absent: 401; unknown or expired: 403, as the
/// auth docs say), the account in the path, the rate limit.
async fn admit(
    sim: &Sim,
    conn: &Conn,
    headers: &HeaderMap,
    path: &str,
    path_user: Option<&str>,
) -> Result<Admitted, Response> {
    let fault = faults_before(sim, conn, MP, path, fault_response).await?;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    let mut state = sim.lock();
    let refuse = |state: &mut super::SimState, status: StatusCode| {
        state.count_request(MP, path, status.as_u16());
        error(status, standard_message(status))
    };
    let Some(token) = token else {
        return Err(refuse(&mut state, StatusCode::UNAUTHORIZED));
    };
    let found = state
        .sellers
        .iter()
        .enumerate()
        .find_map(|(i, s)| s.avito.tokens.get(&token).map(|exp| (i, *exp)));
    let Some((idx, expires)) = found else {
        return Err(refuse(&mut state, StatusCode::FORBIDDEN));
    };
    if expires <= Instant::now() {
        return Err(refuse(&mut state, StatusCode::FORBIDDEN));
    }
    let account = &mut state.sellers[idx].avito;
    if path_user.is_some_and(|u| u.parse::<i64>().ok() != Some(account.user_id)) {
        return Err(refuse(&mut state, StatusCode::FORBIDDEN));
    }
    let per_minute = per_minute(account.rate);
    match account.bucket.take() {
        Admission::Allowed { remaining } => Ok(Admitted {
            seller: idx,
            fault,
            remaining,
            per_minute,
        }),
        Admission::Throttled { retry_secs, .. } => {
            state.count_request(MP, path, 429);
            Err(throttled(retry_secs, per_minute))
        }
    }
}

/// Count the answer, add the rate-limit headers, apply after-handling faults.
async fn finish(sim: &Sim, conn: &Conn, path: &str, a: Admitted, response: Response) -> Response {
    sim.lock()
        .count_request(MP, path, response.status().as_u16());
    let mut response = faults_after(response, conn, a.fault).await;
    let h = response.headers_mut();
    h.insert("X-RateLimit-Limit", HeaderValue::from(a.per_minute));
    h.insert("X-RateLimit-Remaining", HeaderValue::from(a.remaining));
    response
}

/// One Messenger API request: admitted (faults, token, account, limit),
/// handled for the seller it belongs to, counted and finished.
async fn serve(
    sim: &Sim,
    conn: &Conn,
    headers: &HeaderMap,
    uri: &Uri,
    path_user: Option<&str>,
    handle: impl FnOnce(usize) -> Response,
) -> Response {
    let path = uri.path();
    let a = match admit(sim, conn, headers, path, path_user).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let response = handle(a.seller);
    finish(sim, conn, path, a, response).await
}

async fn post_token(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    uri: Uri,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let path = uri.path();
    let fault = match faults_before(&sim, &conn, MP, path, fault_response).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    // /token documents no errors; refusals follow OAuth2 (RFC 6749 §5.2).
    let oauth_error = |code: &str, description: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": code, "error_description": description })),
        )
            .into_response()
    };
    let response = {
        let mut state = sim.lock();
        let response = match form {
            Err(_) => oauth_error("invalid_request", "form-encoded body expected"),
            Ok(Form(f))
                if f.get("grant_type").map(String::as_str) != Some("client_credentials") =>
            {
                oauth_error(
                    "unsupported_grant_type",
                    "grant_type must be client_credentials",
                )
            }
            Ok(Form(f)) => {
                let id = f.get("client_id").cloned().unwrap_or_default();
                let secret = f.get("client_secret").cloned().unwrap_or_default();
                let idx = state.sellers.iter().position(|s| {
                    !id.is_empty()
                        && s.avito.client_id.as_deref() == Some(id.as_str())
                        && s.avito.client_secret.as_deref() == Some(secret.as_str())
                });
                match idx {
                    None => oauth_error("invalid_client", "client authentication failed"),
                    Some(idx) => {
                        let account = &mut state.sellers[idx].avito;
                        match account.bucket.take() {
                            Admission::Throttled { retry_secs, .. } => {
                                throttled(retry_secs, per_minute(account.rate))
                            }
                            Admission::Allowed { .. } => {
                                let token = random_alnum(22);
                                let now = Instant::now();
                                account
                                    .tokens
                                    .retain(|_, exp| *exp + Duration::from_secs(3600) > now);
                                account
                                    .tokens
                                    .insert(token.clone(), now + account.token_ttl);
                                Json(json!({
                                    "access_token": token,
                                    "expires_in": account.token_ttl.as_secs().max(1),
                                    "token_type": "Bearer",
                                }))
                                .into_response()
                            }
                        }
                    }
                }
            }
        };
        state.count_request(MP, path, response.status().as_u16());
        response
    };
    faults_after(response, &conn, fault).await
}

async fn get_self(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    serve(&sim, &conn, &headers, &uri, None, |seller| {
        let body = {
            let state = sim.lock();
            let seller = &state.sellers[seller];
            json!({
                "id": seller.avito.user_id,
                "name": seller.name,
                "email": format!("{}@example.com", seller.name),
                "phone": "79990000000",
                "phones": ["79990000000"],
                "profile_url": format!("https://www.avito.ru/user/{}/profile", hex(32)),
            })
        };
        Json(body).into_response()
    })
    .await
}

/// A query parameter's first value.
fn param<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key || k == &format!("{key}[]"))
        .map(|(_, v)| v.as_str())
}

/// An array parameter: the spec gives no `style`, so OpenAPI's default
/// (`form`, `explode`) holds and each value is a parameter of its own. A
/// comma-joined list is one unknown value.
fn list_param(query: &[(String, String)], key: &str) -> Vec<String> {
    query
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// `limit` 1..=100 (default 100) and `offset` 0..=1000 (default 0).
/// An `Err` holds the `fields` of a validation error.
fn paging(query: &[(String, String)]) -> Result<(usize, usize), Value> {
    let limit = match param(query, "limit") {
        None => PAGE_LIMIT,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=PAGE_LIMIT).contains(&n) => n,
            _ => return Err(json!({ "limit": format!("must be between 1 and {PAGE_LIMIT}") })),
        },
    };
    let offset = match param(query, "offset") {
        None => 0,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n <= MAX_OFFSET => n,
            _ => return Err(json!({ "offset": format!("must be between 0 and {MAX_OFFSET}") })),
        },
    };
    Ok((limit, offset))
}

async fn get_chats(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    uri: Uri,
    Path(user_id): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    serve(
        &sim,
        &conn,
        &headers,
        &uri,
        Some(&user_id),
        |seller| match chats_page(&sim, seller, &query) {
            Ok(body) => Json(body).into_response(),
            Err(fields) => validation_error(fields),
        },
    )
    .await
}

/// The chat list for a query; an `Err` holds the `fields` of a validation error.
fn chats_page(sim: &Sim, seller: usize, query: &[(String, String)]) -> Result<Value, Value> {
    let (limit, offset) = paging(query)?;
    let unread_only = match param(query, "unread_only") {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(_) => return Err(json!({ "unread_only": "must be a boolean" })),
    };
    let mut types = list_param(query, "chat_types");
    if types.is_empty() {
        types.push("u2i".into());
    }
    if let Some(bad) = types
        .iter()
        .find(|t| !matches!(t.as_str(), "u2i" | "u2u" | "a2u"))
    {
        return Err(json!({ "chat_types": format!("unknown chat type {bad}") }));
    }
    let mut item_ids = Vec::new();
    for v in list_param(query, "item_ids") {
        match v.parse::<i64>() {
            Ok(id) => item_ids.push(id),
            Err(_) => return Err(json!({ "item_ids": "must be integers" })),
        }
    }
    let state = sim.lock();
    let account = &state.sellers[seller].avito;
    let mut chats: Vec<&Chat> = account
        .chats
        .iter()
        .filter(|c| types.iter().any(|t| t == c.chat_type))
        .filter(|c| !unread_only || account.unread(c))
        .filter(|c| {
            item_ids.is_empty() || c.item.as_ref().is_some_and(|i| item_ids.contains(&i.id))
        })
        .collect();
    chats.sort_by_key(|c| std::cmp::Reverse(c.seq));
    let page: Vec<Value> = chats
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|c| account.chat_json(c))
        .collect();
    Ok(json!({ "chats": page }))
}

async fn get_chat(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    uri: Uri,
    Path((user_id, chat_id)): Path<(String, String)>,
) -> Response {
    serve(&sim, &conn, &headers, &uri, Some(&user_id), |seller| {
        let state = sim.lock();
        let account = &state.sellers[seller].avito;
        match account.chat_index(&chat_id) {
            Some(i) => Json(account.chat_json(&account.chats[i])).into_response(),
            None => error(StatusCode::NOT_FOUND, "Not found"),
        }
    })
    .await
}

/// Newest first. Reading does not mark anything read (the spec says so).
async fn get_messages(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    uri: Uri,
    Path((user_id, chat_id)): Path<(String, String)>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    serve(
        &sim,
        &conn,
        &headers,
        &uri,
        Some(&user_id),
        |seller| match paging(&query) {
            Err(fields) => validation_error(fields),
            Ok((limit, offset)) => {
                let state = sim.lock();
                let account = &state.sellers[seller].avito;
                match account.chat_index(&chat_id) {
                    None => error(StatusCode::NOT_FOUND, "Not found"),
                    Some(i) => {
                        let page: Vec<Value> = account.chats[i]
                            .messages
                            .iter()
                            .rev()
                            .skip(offset)
                            .take(limit)
                            .map(|m| account.message_json(m))
                            .collect();
                        Json(Value::Array(page)).into_response()
                    }
                }
            }
        },
    )
    .await
}

async fn post_message(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    uri: Uri,
    Path((user_id, chat_id)): Path<(String, String)>,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    serve(&sim, &conn, &headers, &uri, Some(&user_id), |seller| {
        let body = body.map(|Json(v)| v).unwrap_or(Value::Null);
        if !body.is_object() {
            return error(StatusCode::BAD_REQUEST, "Bad Request");
        }
        let text = match text_to_send(&body) {
            Ok(text) => text,
            Err(fields) => return validation_error(fields),
        };
        let accepted = {
            let mut state = sim.lock();
            let seller_name = state.sellers[seller].name.clone();
            let account = &mut state.sellers[seller].avito;
            match account.chat_index(&chat_id) {
                None => None,
                Some(idx) => {
                    let at = now();
                    let user_id = account.user_id;
                    let id = account.add_message(idx, user_id, &text, at);
                    let pushes = account.take_pushes();
                    state.pushes.extend(pushes);
                    state.sent.push(SentRecord {
                        seller: seller_name,
                        marketplace: MP,
                        chat_id: chat_id.clone(),
                        message_id: id.clone(),
                        text: text.clone(),
                        at,
                    });
                    Some((id, at))
                }
            }
        };
        match accepted {
            None => error(StatusCode::NOT_FOUND, "Not found"),
            Some((id, at)) => {
                sim.deliver_pushes();
                // The schema's `direction` example is "out"; the spec's
                // x-example says "in" for a message we sent. "out" it is.
                Json(json!({
                    "id": id,
                    "created": secs(at),
                    "direction": "out",
                    "type": "text",
                    "content": { "text": text },
                }))
                .into_response()
            }
        }
    })
    .await
}

/// The text of a send body, `{"message": {"text"}, "type": "text"}`; an
/// `Err` holds the `fields` of a validation error.
fn text_to_send(body: &Value) -> Result<String, Value> {
    let text = body
        .pointer("/message/text")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if body.get("type").is_some_and(|t| t.as_str() != Some("text")) {
        Err(json!({ "type": "only text messages can be sent" }))
    } else if text.trim().is_empty() || text.chars().count() > MAX_MESSAGE_CHARS {
        Err(json!({ "message.text": format!("must be 1 to {MAX_MESSAGE_CHARS} characters") }))
    } else {
        Ok(text.to_string())
    }
}

/// `deleteMessage`: our own messages, within the window; the message stays
/// in the history as type `deleted`.
async fn delete_message(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    uri: Uri,
    Path((user_id, chat_id, message_id)): Path<(String, String, String)>,
) -> Response {
    serve(&sim, &conn, &headers, &uri, Some(&user_id), |seller| {
        let mut state = sim.lock();
        let account = &mut state.sellers[seller].avito;
        let user_id = account.user_id;
        let window = account.retract_window;
        let msg = account.chat_index(&chat_id).and_then(|i| {
            account.chats[i]
                .messages
                .iter_mut()
                .find(|m| m.id == message_id)
        });
        match msg {
            None => error(StatusCode::NOT_FOUND, "Not found"),
            Some(m) if m.author_id != user_id => error(
                StatusCode::BAD_REQUEST,
                "message can not be deleted: only your own messages can be deleted",
            ),
            Some(m) if m.deleted => Json(json!({})).into_response(),
            Some(m) if now() - m.created_ms >= window.as_millis() as i64 => error(
                StatusCode::BAD_REQUEST,
                "message can not be deleted: more than an hour has passed since it was sent",
            ),
            Some(m) => {
                m.deleted = true;
                m.text.clear();
                Json(json!({})).into_response()
            }
        }
    })
    .await
}

async fn post_read(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    uri: Uri,
    Path((user_id, chat_id)): Path<(String, String)>,
) -> Response {
    serve(&sim, &conn, &headers, &uri, Some(&user_id), |seller| {
        let mut state = sim.lock();
        let account = &mut state.sellers[seller].avito;
        match account.chat_index(&chat_id) {
            None => error(StatusCode::NOT_FOUND, "Not found"),
            Some(i) => {
                account.mark_read(i);
                Json(json!({ "ok": true })).into_response()
            }
        }
    })
    .await
}

fn webhook_url(body: &Result<Json<Value>, JsonRejection>) -> Option<String> {
    let Ok(Json(v)) = body else { return None };
    v.get("url")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .map(str::to_string)
}

async fn post_webhook(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    uri: Uri,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    serve(
        &sim,
        &conn,
        &headers,
        &uri,
        None,
        |seller| match webhook_url(&body) {
            None => validation_error(json!({ "url": "required" })),
            Some(url) => {
                let mut state = sim.lock();
                let subs = &mut state.sellers[seller].avito.subscriptions;
                if !subs.contains(&url) {
                    subs.push(url);
                }
                Json(json!({ "ok": true })).into_response()
            }
        },
    )
    .await
}

async fn post_unsubscribe(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    uri: Uri,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    serve(
        &sim,
        &conn,
        &headers,
        &uri,
        None,
        |seller| match webhook_url(&body) {
            None => validation_error(json!({ "url": "required" })),
            Some(url) => {
                let mut state = sim.lock();
                state.sellers[seller]
                    .avito
                    .subscriptions
                    .retain(|u| *u != url);
                Json(json!({ "ok": true })).into_response()
            }
        },
    )
    .await
}

/// `{subscriptions: [{url, version}]}` as the schema has it (its x-example,
/// `{"ok": true}`, contradicts the schema).
async fn post_subscriptions(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    serve(&sim, &conn, &headers, &uri, None, |seller| {
        let body = {
            let state = sim.lock();
            let subs: Vec<Value> = state.sellers[seller]
                .avito
                .subscriptions
                .iter()
                .map(|u| json!({ "url": u, "version": "3" }))
                .collect();
            json!({ "subscriptions": subs })
        };
        Json(body).into_response()
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_written_like_avito_does() {
        assert_eq!(price_string(300000.0), "300 000 ₽");
        assert_eq!(price_string(990.0), "990 ₽");
        assert_eq!(price_string(1990.4), "1 990 ₽");
        assert_eq!(price_string(1234567.0), "1 234 567 ₽");
    }

    fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The spec's bounds (`components.parameters.limit` and `offset` in
    /// `Мессенджер.json`), written out here rather than taken from any
    /// constant, so a change on either side shows.
    #[test]
    fn paging_is_held_to_the_specs_bounds() {
        assert_eq!(paging(&query(&[])), Ok((100, 0)));
        assert_eq!(
            paging(&query(&[("limit", "100"), ("offset", "1000")])),
            Ok((100, 1000))
        );
        for (key, value) in [
            ("limit", "0"),
            ("limit", "101"),
            ("offset", "1001"),
            ("offset", "-1"),
        ] {
            let refused = paging(&query(&[(key, value)])).unwrap_err();
            assert!(refused.get(key).is_some(), "{key}={value}: {refused}");
        }
    }

    /// `sendMessageRequestBody`: `message.text` has `maxLength: 1000`.
    #[test]
    fn a_send_is_held_to_the_specs_length() {
        let body = |text: String| json!({ "message": { "text": text }, "type": "text" });
        let longest = "я".repeat(1000);
        assert_eq!(text_to_send(&body(longest.clone())).ok(), Some(longest));
        for refused in ["я".repeat(1001), " ".into()] {
            let fields = text_to_send(&body(refused)).unwrap_err();
            assert!(fields.get("message.text").is_some(), "{fields}");
        }
    }
}
