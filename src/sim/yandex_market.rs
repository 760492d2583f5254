//! The Yandex Market Partner API chat methods, as the official OpenAPI
//! (`openapi/paths/v2_businesses_businessId_chat*.yaml`) and the docs crawl
//! describe them: `Api-Key` auth for a business, int64 ids, ISO 8601 times
//! with an offset, `page_token` / `nextPageToken` paging, chat statuses that
//! follow the conversation, `{status: "ERROR", errors: [{code, message}]}`
//! error bodies, at most `ym_parallel` requests in flight per key and hourly
//! limits per method, both answered with `420 Enhance Your Calm`, and the
//! `X-RateLimit-Resource-*` headers on every answer.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::Rng;
use serde_json::{Value, json};

use super::{
    BuyerMessage, Conn, FaultSpec, Posted, SellerConfig, SentRecord, Sim, SimConfig, SimState,
    faults_after, faults_before, now,
};
use crate::domain::{Marketplace, Millis};

const MP: Marketplace = Marketplace::YandexMarket;

// The API's own numbers, from the official spec in
// `shared/specs/yandex-market/yandex-market-partner-api/openapi/`, not the
// connector's, so a connector that asks for more is refused here.

/// `components/parameters/PageLimit20.yaml` (getChats' `limit`): 1 to 20, default 10.
const CHATS_PAGE_LIMIT: u32 = 20;
const CHATS_PAGE_DEFAULT: u32 = 10;
/// `components/parameters/PageLimit100.yaml` (getChatHistory's `limit`): 1 to 100, default 50.
const HISTORY_PAGE_LIMIT: u32 = 100;
const HISTORY_PAGE_DEFAULT: u32 = 50;
/// `components/schemas/SendMessageToChatRequest.yaml`: `message` has
/// `minLength: 1`, `maxLength: 4096`.
const MAX_MESSAGE_CHARS: usize = 4096;
const HOUR_MS: Millis = 3600 * 1000;
/// Ids start above 2^53, where a client that parses them as doubles loses digits.
const FIRST_ID: i64 = 9_007_199_254_740_993;

struct Message {
    id: i64,
    created_at: Millis,
    sender: &'static str,
    text: String,
}

struct Chat {
    id: i64,
    /// `ChatContextType`: ORDER, RETURN or DIRECT.
    kind: &'static str,
    order_id: Option<i64>,
    return_id: Option<i64>,
    campaign_id: Option<i64>,
    customer_name: String,
    public_id: String,
    /// `ChatStatusType`.
    status: &'static str,
    created_at: Millis,
    updated_at: Millis,
    messages: Vec<Message>,
}

/// The chat methods, each with its own hourly limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Method {
    GetChats,
    GetChatHistory,
    SendMessage,
    GetChat,
    GetMessage,
}

impl Method {
    /// Requests an hour: `x-resource-limit-config` (`amount`, `period:
    /// hours`) of each method's file under `openapi/paths/`.
    fn hourly_limit(self) -> u32 {
        match self {
            // `v2_businesses_businessId_chats.yaml`.
            Method::GetChats => 5000,
            // `v2_businesses_businessId_chats_history.yaml`.
            Method::GetChatHistory => 10_000,
            // `v2_businesses_businessId_chats_message.yaml` (post and get)
            // and `v2_businesses_businessId_chat.yaml`.
            Method::SendMessage | Method::GetMessage | Method::GetChat => 1000,
        }
    }

    /// The resource as the API names it in its 420 messages: the method's path.
    fn resource(self) -> &'static str {
        match self {
            Method::GetChats => "/v2/businesses/{businessId}/chats",
            Method::GetChatHistory => "/v2/businesses/{businessId}/chats/history",
            Method::SendMessage | Method::GetMessage => "/v2/businesses/{businessId}/chats/message",
            Method::GetChat => "/v2/businesses/{businessId}/chat",
        }
    }
}

/// One method's hourly window.
#[derive(Clone, Copy)]
struct Window {
    started: Millis,
    used: u32,
}

pub(crate) struct Account {
    api_key: Option<String>,
    business_id: Option<i64>,
    campaign_id: i64,
    chats: Vec<Chat>,
    by_id: HashMap<i64, usize>,
    next_chat_id: i64,
    next_message_id: i64,
    in_flight: Arc<AtomicUsize>,
    parallel: usize,
    hourly_limit: Option<u32>,
    windows: HashMap<Method, Window>,
}

/// Holds one of the key's parallel slots until dropped.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The state of a method's limit, as the headers report it.
#[derive(Clone, Copy)]
struct Limits {
    limit: u32,
    remaining: u32,
    until: Millis,
}

fn random_name() -> String {
    const NAMES: [&str; 10] = [
        "Анна",
        "Мария",
        "Елена",
        "Ольга",
        "Наталья",
        "Иван",
        "Дмитрий",
        "Алексей",
        "Сергей",
        "Михаил",
    ];
    NAMES[rand::rng().random_range(0..NAMES.len())].to_string()
}

/// ISO 8601 with Moscow's offset and whole seconds, like the API.
fn iso(ms: Millis) -> String {
    let offset = jiff::tz::TimeZone::fixed(jiff::tz::offset(3));
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned(offset)
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        })
        .unwrap_or_default()
}

/// RFC 822 as HTTP writes it: `Thu, 10 Jul 2018 00:42:42 GMT`.
fn http_date(ms: Millis) -> String {
    static PRINTER: jiff::fmt::rfc2822::DateTimePrinter =
        jiff::fmt::rfc2822::DateTimePrinter::new();
    jiff::Timestamp::from_millisecond(ms)
        .ok()
        .and_then(|t| PRINTER.timestamp_to_rfc9110_string(&t).ok())
        .unwrap_or_default()
}

/// The next whole second at or after `ms`: `-Until` is written in whole
/// seconds and must not promise a moment before the limit really ends.
fn ceil_second(ms: Millis) -> Millis {
    (ms + 999).div_euclid(1000) * 1000
}

fn page_token(prefix: char, last_id: i64) -> String {
    format!("{prefix}{last_id:x}")
}

fn parse_page_token(prefix: char, token: &str) -> Option<i64> {
    i64::from_str_radix(token.strip_prefix(prefix)?, 16).ok()
}

impl Account {
    pub(crate) fn new(seller: &SellerConfig, config: &SimConfig) -> Account {
        let business = seller.ym_business_id.unwrap_or(1);
        Account {
            api_key: seller.ym_api_key.clone(),
            business_id: seller.ym_business_id,
            campaign_id: business.saturating_mul(10).saturating_add(7),
            chats: Vec::new(),
            by_id: HashMap::new(),
            next_chat_id: FIRST_ID + business.rem_euclid(1_000_000) * 1_000_000,
            next_message_id: FIRST_ID,
            in_flight: Arc::new(AtomicUsize::new(0)),
            parallel: config.ym_parallel.max(1),
            hourly_limit: config.ym_hourly_limit,
            windows: HashMap::new(),
        }
    }

    fn push_message(&mut self, idx: usize, sender: &'static str, text: &str, at: Millis) -> i64 {
        let id = self.next_message_id;
        self.next_message_id += 1;
        let chat = &mut self.chats[idx];
        chat.messages.push(Message {
            id,
            created_at: at,
            sender,
            text: text.to_string(),
        });
        chat.updated_at = at;
        chat.status = match sender {
            "CUSTOMER" if chat.messages.len() == 1 => "NEW",
            "CUSTOMER" => "WAITING_FOR_PARTNER",
            _ => "WAITING_FOR_CUSTOMER",
        };
        id
    }

    pub(crate) fn buyer_writes(&mut self, req: &BuyerMessage) -> Result<Posted, String> {
        let wanted = match req.chat_id.as_deref() {
            None => None,
            Some(raw) => Some(
                raw.trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|id| *id > 0)
                    .ok_or_else(|| format!("Yandex Market chat ids are int64, not `{raw}`"))?,
            ),
        };
        let at = req.at.unwrap_or_else(now);
        let idx = match wanted.and_then(|id| self.by_id.get(&id).copied()) {
            Some(idx) => idx,
            None => {
                let id = wanted.unwrap_or_else(|| {
                    while self.by_id.contains_key(&self.next_chat_id) {
                        self.next_chat_id += 1;
                    }
                    self.next_chat_id
                });
                let mut rng = rand::rng();
                let order = req.order.as_ref();
                let numeric = |v: Option<&String>| {
                    v.and_then(|s| s.trim().parse::<i64>().ok())
                        .filter(|n| *n > 0)
                };
                let kind = match order.and_then(|o| o.chat_kind.as_deref()) {
                    Some("return") => "RETURN",
                    Some("direct") => "DIRECT",
                    Some(_) => "ORDER",
                    None => match order {
                        None => "DIRECT",
                        Some(o) if o.return_id.is_some() => "RETURN",
                        Some(_) => "ORDER",
                    },
                };
                let (order_id, return_id, campaign_id) = match kind {
                    "DIRECT" => (None, None, None),
                    _ => (
                        Some(
                            numeric(order.and_then(|o| o.order_id.as_ref()))
                                .unwrap_or_else(|| rng.random_range(10_000_000..999_999_999)),
                        ),
                        (kind == "RETURN").then(|| {
                            numeric(order.and_then(|o| o.return_id.as_ref()))
                                .unwrap_or_else(|| rng.random_range(1_000_000..99_999_999))
                        }),
                        Some(self.campaign_id),
                    ),
                };
                self.chats.push(Chat {
                    id,
                    kind,
                    order_id,
                    return_id,
                    campaign_id,
                    customer_name: req.client_name.clone().unwrap_or_else(random_name),
                    public_id: format!("{:x}", rng.random::<u64>()),
                    status: "NEW",
                    created_at: at,
                    updated_at: at,
                    messages: Vec::new(),
                });
                self.next_chat_id = self.next_chat_id.max(id + 1);
                self.by_id.insert(id, self.chats.len() - 1);
                self.chats.len() - 1
            }
        };
        let message_id = self.push_message(idx, "CUSTOMER", &req.text, at);
        Ok(Posted {
            chat_id: self.chats[idx].id.to_string(),
            message_id: message_id.to_string(),
        })
    }

    /// A person answers in the seller cabinet: a PARTNER message like any
    /// API send, but nothing in `/_sim/sent`.
    pub(crate) fn portal_reply(&mut self, chat_id: &str, text: &str) -> Result<Posted, String> {
        let idx = chat_id
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|id| self.by_id.get(&id).copied())
            .ok_or_else(|| format!("no Yandex Market chat `{chat_id}`"))?;
        let message_id = self.push_message(idx, "PARTNER", text, now());
        Ok(Posted {
            chat_id: chat_id.trim().to_string(),
            message_id: message_id.to_string(),
        })
    }

    fn limit_of(&self, method: Method) -> u32 {
        self.hourly_limit.unwrap_or_else(|| method.hourly_limit())
    }

    /// The method's window as it stands at `at`, without using it.
    fn window(&mut self, method: Method, at: Millis) -> &mut Window {
        let w = self.windows.entry(method).or_insert(Window {
            started: at,
            used: 0,
        });
        if at >= w.started + HOUR_MS {
            *w = Window {
                started: at,
                used: 0,
            };
        }
        w
    }

    fn limits(&mut self, method: Method, at: Millis) -> Limits {
        let limit = self.limit_of(method);
        let w = *self.window(method, at);
        Limits {
            limit,
            remaining: limit.saturating_sub(w.used),
            until: w.started + HOUR_MS,
        }
    }

    fn chat_json(&self, chat: &Chat) -> Value {
        let mut context = json!({
            "type": chat.kind,
            "customer": { "name": chat.customer_name, "publicId": chat.public_id },
        });
        if let Some(c) = chat.campaign_id {
            context["campaignId"] = json!(c);
        }
        if let Some(o) = chat.order_id {
            context["orderId"] = json!(o);
        }
        if let Some(r) = chat.return_id {
            context["returnId"] = json!(r);
        }
        let mut v = json!({
            "chatId": chat.id,
            "context": context,
            "type": "CHAT",
            "status": chat.status,
            "createdAt": iso(chat.created_at),
            "updatedAt": iso(chat.updated_at),
        });
        if let Some(o) = chat.order_id {
            v["orderId"] = json!(o);
        }
        v
    }

    fn message_json(m: &Message) -> Value {
        json!({
            "messageId": m.id,
            "createdAt": iso(m.created_at),
            "sender": m.sender,
            "message": m.text,
        })
    }

    fn chat_index(&self, query: &HashMap<String, String>) -> Result<usize, Fail> {
        let id = required_id(query, "chatId")?;
        self.by_id
            .get(&id)
            .copied()
            .ok_or_else(|| fail(StatusCode::NOT_FOUND, &format!("Chat not found: {id}")))
    }
}

pub(super) fn routes() -> axum::Router<Sim> {
    axum::Router::new()
        .route("/v2/businesses/{business_id}/chats", post(get_chats))
        .route("/v2/businesses/{business_id}/chat", get(get_chat))
        .route(
            "/v2/businesses/{business_id}/chats/history",
            post(get_history),
        )
        .route(
            "/v2/businesses/{business_id}/chats/message",
            post(send_message).get(get_message),
        )
}

fn error_code(status: StatusCode) -> String {
    match status.as_u16() {
        420 => "LIMIT_EXCEEDED".into(),
        _ => status
            .canonical_reason()
            .unwrap_or("ERROR")
            .to_uppercase()
            .replace(' ', "_"),
    }
}

/// `ApiErrorResponse`.
fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "status": "ERROR",
        "errors": [{ "code": error_code(status), "message": message }],
    });
    (status, Json(body)).into_response()
}

/// An error answer, built lazily: `Response` is too large to pass around in `Result`s.
struct Fail(StatusCode, String);

fn fail(status: StatusCode, message: &str) -> Fail {
    Fail(status, message.to_string())
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        error(self.0, &self.1)
    }
}

fn enhance_your_calm() -> StatusCode {
    StatusCode::from_u16(420).expect("420 is a valid status code")
}

fn with_limits(mut response: Response, limits: Limits) -> Response {
    let h = response.headers_mut();
    h.insert(
        "X-RateLimit-Resource-Limit",
        HeaderValue::from(limits.limit),
    );
    h.insert(
        "X-RateLimit-Resource-Remaining",
        HeaderValue::from(limits.remaining),
    );
    if let Ok(v) = HeaderValue::from_str(&http_date(limits.until)) {
        h.insert("X-RateLimit-Resource-Until", v);
    }
    response
}

fn resource_limit_hit(method: Method, limits: Limits) -> Response {
    with_limits(
        error(
            enhance_your_calm(),
            &format!(
                "Hit rate limit of {} requests per 1 hour for resource {}",
                limits.limit,
                method.resource()
            ),
        ),
        limits,
    )
}

/// A status fault, answered the way the API answers that status.
fn fault_response(fault: &FaultSpec, method: Method, limit: u32) -> Response {
    let status = StatusCode::from_u16(fault.status.unwrap_or(500))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match status.as_u16() {
        // 420 is the API's own throttle answer; a 429 (which the API never
        // sends, but a proxy might) gets the same body and headers.
        420 | 429 => {
            let until = ceil_second(now() + fault.retry_after_secs.unwrap_or(1) as Millis * 1000);
            let mut response = resource_limit_hit(
                method,
                Limits {
                    limit,
                    remaining: 0,
                    until,
                },
            );
            *response.status_mut() = status;
            response
        }
        401 => error(status, "Api-Key token is invalid"),
        403 => error(status, "Access denied"),
        404 => error(status, "Not found"),
        400 => error(status, "Bad Request"),
        _ => error(status, "Internal Server Error (simulated fault)"),
    }
}

/// A request let in: whose it is, the fault to apply after handling, the
/// parallel slot it holds and its method's limit after it.
struct Admitted {
    idx: usize,
    fault: Option<FaultSpec>,
    _slot: Slot,
    limits: Limits,
}

/// Faults, auth, the business, the parallel limit and the hourly limit, in
/// that order. Answers that end the request here are counted here.
async fn admit(
    sim: &Sim,
    conn: &Conn,
    headers: &HeaderMap,
    path: &str,
    business: &str,
    method: Method,
) -> Result<Admitted, Response> {
    let limit = sim
        .lock()
        .config
        .ym_hourly_limit
        .unwrap_or_else(|| method.hourly_limit());
    let fault = faults_before(sim, conn, MP, path, |f| fault_response(f, method, limit)).await?;
    let mut state = sim.lock();
    let reject = |state: &mut SimState, response: Response| {
        state.count_request(MP, path, response.status().as_u16());
        response
    };
    let key = headers.get("Api-Key").and_then(|v| v.to_str().ok());
    let key = match key.map(str::trim) {
        None | Some("") => {
            return Err(reject(
                &mut state,
                error(StatusCode::UNAUTHORIZED, "Credentials are not specified"),
            ));
        }
        Some(k) if k.to_lowercase().starts_with("bearer ") => {
            return Err(reject(
                &mut state,
                error(StatusCode::UNAUTHORIZED, "Api-Key token prefix invalid"),
            ));
        }
        Some(k) => k.to_string(),
    };
    let Some(idx) = state
        .sellers
        .iter()
        .position(|s| s.ym.api_key.as_deref() == Some(key.as_str()))
    else {
        return Err(reject(
            &mut state,
            error(StatusCode::UNAUTHORIZED, "Api-Key token is invalid"),
        ));
    };
    let Some(business) = business.parse::<i64>().ok().filter(|b| *b > 0) else {
        return Err(reject(
            &mut state,
            error(
                StatusCode::BAD_REQUEST,
                "Value of field (businessId) must be greater than or equal to 1",
            ),
        ));
    };
    let account = &mut state.sellers[idx].ym;
    if account.business_id != Some(business) {
        return Err(reject(
            &mut state,
            error(StatusCode::FORBIDDEN, "Access denied"),
        ));
    }
    let at = now();
    let in_flight = account.in_flight.fetch_add(1, Ordering::SeqCst);
    let slot = Slot(account.in_flight.clone());
    if in_flight >= account.parallel {
        let message = format!("Hit rate limit of {} parallel requests", account.parallel);
        let limits = account.limits(method, at);
        return Err(reject(
            &mut state,
            with_limits(error(enhance_your_calm(), &message), limits),
        ));
    }
    let limits = account.limits(method, at);
    if limits.remaining == 0 {
        return Err(reject(&mut state, resource_limit_hit(method, limits)));
    }
    account.window(method, at).used += 1;
    let limits = account.limits(method, at);
    Ok(Admitted {
        idx,
        fault,
        _slot: slot,
        limits,
    })
}

/// Count the answer, add the limit headers and apply the fault that acts
/// after handling; the parallel slot is freed only after that.
async fn finish(
    sim: &Sim,
    conn: &Conn,
    path: &str,
    admitted: Admitted,
    response: Response,
) -> Response {
    sim.lock()
        .count_request(MP, path, response.status().as_u16());
    let response = with_limits(response, admitted.limits);
    let response = faults_after(response, conn, admitted.fault.clone()).await;
    drop(admitted);
    response
}

fn required_id(query: &HashMap<String, String>, name: &str) -> Result<i64, Fail> {
    let raw = query
        .get(name)
        .ok_or_else(|| fail(StatusCode::BAD_REQUEST, &format!("Missing field: {name}")))?;
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            fail(
                StatusCode::BAD_REQUEST,
                &format!("Value of field ({name}) must be a positive int64: '{raw}'"),
            )
        })
}

fn page_limit(query: &HashMap<String, String>, default: u32, max: u32) -> Result<usize, Fail> {
    match query.get("limit") {
        None => Ok(default as usize),
        Some(raw) => match raw.trim().parse::<u32>() {
            Ok(n) if n > max => Err(fail(StatusCode::BAD_REQUEST, "Limit exceeded")),
            Ok(n) if n >= 1 => Ok(n as usize),
            _ => Err(fail(
                StatusCode::BAD_REQUEST,
                &format!("Value of field (limit) must be between 1 and {max}"),
            )),
        },
    }
}

/// `pageToken` with its alias `page_token`.
fn page_after(query: &HashMap<String, String>, prefix: char) -> Result<Option<i64>, Fail> {
    match query.get("page_token").or_else(|| query.get("pageToken")) {
        None => Ok(None),
        Some(t) => parse_page_token(prefix, t)
            .map(Some)
            .ok_or_else(|| fail(StatusCode::BAD_REQUEST, "Invalid page token")),
    }
}

/// A required JSON body (`requestBody.required: true`).
fn json_body(body: &Bytes) -> Result<Value, Fail> {
    if body.is_empty() {
        return Err(fail(StatusCode::BAD_REQUEST, "Missing request body"));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(fail(StatusCode::BAD_REQUEST, "JSON: object expected")),
        Err(e) => Err(fail(StatusCode::BAD_REQUEST, &format!("JSON: {e}"))),
    }
}

/// A `GetChatsRequest` filter: absent or null means no filter; present means
/// a non-empty array of known values.
fn filter_values(body: &Value, field: &str, allowed: &[&str]) -> Result<Option<Vec<String>>, Fail> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) if items.is_empty() => Err(fail(
            StatusCode::BAD_REQUEST,
            &format!("Collection of field ({field}) must not be empty"),
        )),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) if allowed.is_empty() || allowed.contains(&s.as_str()) => {
                    Ok(s.clone())
                }
                Value::Number(n) if allowed.is_empty() => Ok(n.to_string()),
                other => Err(fail(
                    StatusCode::BAD_REQUEST,
                    &format!("JSON: unexpected value {other} in field ({field})"),
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(fail(
            StatusCode::BAD_REQUEST,
            &format!("JSON: field ({field}) must be an array"),
        )),
    }
}

const STATUSES: [&str; 6] = [
    "NEW",
    "WAITING_FOR_CUSTOMER",
    "WAITING_FOR_PARTNER",
    "WAITING_FOR_ARBITER",
    "WAITING_FOR_MARKET",
    "FINISHED",
];

fn list_chats(
    account: &Account,
    query: &HashMap<String, String>,
    body: &Bytes,
) -> Result<Value, Fail> {
    let limit = page_limit(query, CHATS_PAGE_DEFAULT, CHATS_PAGE_LIMIT)?;
    let after = page_after(query, 'c')?;
    let body = json_body(body)?;
    let statuses = filter_values(&body, "statuses", &STATUSES)?;
    let types = filter_values(&body, "types", &["CHAT", "ARBITRAGE"])?;
    let kinds = filter_values(&body, "contextTypes", &["ORDER", "RETURN", "DIRECT"])?;
    let order_ids = filter_values(&body, "orderIds", &[])?;
    let contexts: Option<Vec<(String, String)>> = match body.get("contexts") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) if !items.is_empty() => Some(
            items
                .iter()
                .map(|c| {
                    (
                        c.get("type")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        c.get("id").map(|v| v.to_string()).unwrap_or_default(),
                    )
                })
                .collect(),
        ),
        Some(_) => {
            return Err(fail(
                StatusCode::BAD_REQUEST,
                "Collection of field (contexts) must not be empty",
            ));
        }
    };
    let mut matching: Vec<&Chat> = account
        .chats
        .iter()
        .filter(|c| after.is_none_or(|a| c.id > a))
        .filter(|c| {
            statuses
                .as_ref()
                .is_none_or(|s| s.iter().any(|x| x == c.status))
        })
        .filter(|_| types.as_ref().is_none_or(|t| t.iter().any(|x| x == "CHAT")))
        .filter(|c| kinds.as_ref().is_none_or(|k| k.iter().any(|x| x == c.kind)))
        .filter(|c| {
            order_ids.as_ref().is_none_or(|ids| {
                c.order_id
                    .is_some_and(|o| ids.iter().any(|x| *x == o.to_string()))
            })
        })
        .filter(|c| {
            contexts.as_ref().is_none_or(|ctx| {
                ctx.iter().any(|(kind, id)| match kind.as_str() {
                    "ORDER" => c.order_id.is_some_and(|o| o.to_string() == *id),
                    "RETURN" => c.return_id.is_some_and(|r| r.to_string() == *id),
                    _ => false,
                })
            })
        })
        .collect();
    matching.sort_by_key(|c| c.id);
    let more = matching.len() > limit;
    matching.truncate(limit);
    let mut result = json!({
        "chats": matching.iter().map(|c| account.chat_json(c)).collect::<Vec<_>>(),
    });
    if more && let Some(last) = matching.last() {
        result["paging"] = json!({ "nextPageToken": page_token('c', last.id) });
    } else {
        result["paging"] = json!({});
    }
    Ok(json!({ "status": "OK", "result": result }))
}

/// One Partner API request: admitted (faults, auth, business, limits), handled
/// with the seller's state, counted and finished.
async fn serve(
    sim: &Sim,
    conn: &Conn,
    headers: &HeaderMap,
    uri: &Uri,
    business: &str,
    method: Method,
    handle: impl FnOnce(&mut SimState, usize) -> Result<Value, Fail>,
) -> Response {
    let path = uri.path();
    let admitted = match admit(sim, conn, headers, path, business, method).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let response = match handle(&mut sim.lock(), admitted.idx) {
        Ok(v) => Json(v).into_response(),
        Err(r) => r.into_response(),
    };
    finish(sim, conn, path, admitted, response).await
}

async fn get_chats(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    Path(business): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    serve(
        &sim,
        &conn,
        &headers,
        &uri,
        &business,
        Method::GetChats,
        |state, idx| list_chats(&state.sellers[idx].ym, &query, &body),
    )
    .await
}

async fn get_chat(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    Path(business): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    serve(
        &sim,
        &conn,
        &headers,
        &uri,
        &business,
        Method::GetChat,
        |state, idx| {
            let account = &state.sellers[idx].ym;
            let i = account.chat_index(&query)?;
            Ok(json!({ "status": "OK", "result": account.chat_json(&account.chats[i]) }))
        },
    )
    .await
}

fn history(
    account: &Account,
    query: &HashMap<String, String>,
    body: &Bytes,
) -> Result<Value, Fail> {
    let idx = account.chat_index(query)?;
    let limit = page_limit(query, HISTORY_PAGE_DEFAULT, HISTORY_PAGE_LIMIT)?;
    let after = page_after(query, 'm')?;
    let body = json_body(body)?;
    let from = match body.get("messageIdFrom") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let id = v
                .as_i64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
            match id {
                Some(id) if id >= 1 => Some(id),
                _ => {
                    return Err(fail(
                        StatusCode::BAD_REQUEST,
                        "Value of field (messageIdFrom) must be greater than or equal to 1",
                    ));
                }
            }
        }
    };
    let chat = &account.chats[idx];
    let mut messages: Vec<&Message> = chat
        .messages
        .iter()
        .filter(|m| from.is_none_or(|f| m.id >= f))
        .filter(|m| after.is_none_or(|a| m.id > a))
        .collect();
    messages.sort_by_key(|m| m.id);
    let more = messages.len() > limit;
    messages.truncate(limit);
    let chat_json = account.chat_json(chat);
    let mut result = json!({
        "context": chat_json["context"],
        "messages": messages.iter().map(|m| Account::message_json(m)).collect::<Vec<_>>(),
    });
    if let Some(o) = chat.order_id {
        result["orderId"] = json!(o);
    }
    if more && let Some(last) = messages.last() {
        result["paging"] = json!({ "nextPageToken": page_token('m', last.id) });
    } else {
        result["paging"] = json!({});
    }
    Ok(json!({ "status": "OK", "result": result }))
}

async fn get_history(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    Path(business): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    serve(
        &sim,
        &conn,
        &headers,
        &uri,
        &business,
        Method::GetChatHistory,
        |state, idx| history(&state.sellers[idx].ym, &query, &body),
    )
    .await
}

async fn get_message(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    Path(business): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    serve(
        &sim,
        &conn,
        &headers,
        &uri,
        &business,
        Method::GetMessage,
        |state, idx| {
            let account = &state.sellers[idx].ym;
            let i = account.chat_index(&query)?;
            let id = required_id(&query, "messageId")?;
            let m = account.chats[i]
                .messages
                .iter()
                .find(|m| m.id == id)
                .ok_or_else(|| fail(StatusCode::NOT_FOUND, &format!("Message not found: {id}")))?;
            Ok(json!({ "status": "OK", "result": Account::message_json(m) }))
        },
    )
    .await
}

fn accept_message(
    state: &mut SimState,
    idx: usize,
    query: &HashMap<String, String>,
    body: &Bytes,
) -> Result<Value, Fail> {
    let chat_idx = state.sellers[idx].ym.chat_index(query)?;
    let body = json_body(body)?;
    let text = match body.get("message") {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => {
            return Err(fail(StatusCode::BAD_REQUEST, "Missing field: message"));
        }
        Some(_) => {
            return Err(fail(
                StatusCode::BAD_REQUEST,
                "JSON: field (message) must be a string",
            ));
        }
    };
    let length = text.chars().count();
    if !(1..=MAX_MESSAGE_CHARS).contains(&length) {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            &format!("Length of field (message) must be between 1 and {MAX_MESSAGE_CHARS}"),
        ));
    }
    let at = now();
    let seller = state.sellers[idx].name.clone();
    let account = &mut state.sellers[idx].ym;
    let message_id = account.push_message(chat_idx, "PARTNER", &text, at);
    let chat_id = account.chats[chat_idx].id.to_string();
    state.sent.push(SentRecord {
        seller,
        marketplace: MP,
        chat_id,
        message_id: message_id.to_string(),
        text,
        at,
    });
    Ok(json!({ "status": "OK" }))
}

async fn send_message(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    Path(business): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    serve(
        &sim,
        &conn,
        &headers,
        &uri,
        &business,
        Method::SendMessage,
        |state, idx| accept_message(state, idx, &query, &body),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account_with_a_chat() -> Account {
        let mut account = Account::new(&SellerConfig::default(), &SimConfig::documented());
        account
            .buyer_writes(&BuyerMessage {
                marketplace: MP,
                text: "Здравствуйте!".into(),
                chat_id: None,
                seller: None,
                client_name: None,
                order: None,
                at: None,
            })
            .unwrap();
        account
    }

    fn query(pairs: &[(&str, String)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    /// `PageLimit20.yaml` and `PageLimit100.yaml`: the spec's numbers are
    /// written out here rather than taken from any constant, so a change on
    /// either side shows.
    #[test]
    fn page_sizes_are_held_to_the_specs_bounds() {
        let account = account_with_a_chat();
        let chat_id = account.chats[0].id.to_string();
        let list = |limit: &str| {
            list_chats(
                &account,
                &query(&[("limit", limit.into())]),
                &Bytes::from("{}"),
            )
        };
        assert!(list("20").is_ok());
        assert_eq!(list("21").unwrap_err().0, StatusCode::BAD_REQUEST);
        let read = |limit: &str| {
            let q = query(&[("chatId", chat_id.clone()), ("limit", limit.into())]);
            history(&account, &q, &Bytes::from("{}"))
        };
        assert!(read("100").is_ok());
        assert_eq!(read("101").unwrap_err().0, StatusCode::BAD_REQUEST);
    }

    /// `x-resource-limit-config` of each method's path file.
    #[test]
    fn hourly_limits_are_the_specs() {
        assert_eq!(Method::GetChats.hourly_limit(), 5000);
        assert_eq!(Method::GetChatHistory.hourly_limit(), 10_000);
        for m in [Method::SendMessage, Method::GetChat, Method::GetMessage] {
            assert_eq!(m.hourly_limit(), 1000);
        }
    }
}
