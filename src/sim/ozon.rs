//! The Ozon Seller API chat methods, as the 2025-09 OpenAPI
//! (`shared/specs/ozon/swagger.2025-09.salacoste.json`) describes them: all
//! `POST` with JSON bodies, `Client-Id` + `Api-Key` headers, `rpcStatus` error
//! bodies (`{code, message, details}`), 64-bit ids as JSON strings (the proto3
//! JSON mapping the examples follow).
//!
//! Where the spec is silent the simulator follows what has been observed or
//! reported, and says so: a wrong key is 404 `{"code":5,"message":"Invalid
//! Api-Key, please check the key and try again"}`, missing headers are 401
//! code 16, a throttled request is 429 `{"code":8,"message":"You have reached
//! request rate limit per second"}`. The texts of the subscription and
//! reply-window refusals are not published; ours are illustrative.
//!
//! Every account also has a `Seller_Support` chat with an unread message from
//! support (the spec's own list example is such a chat); it is not a buyer chat.
//!
//! Read state has two sides: a buyer's message is read when the seller read
//! it (`/v2/chat/read`, or a person answering in the portal), and the seller's
//! message is read when the buyer read it (here: when the buyer writes again).

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use rand::Rng;
use serde_json::{Value, json};

use super::{
    Admission, Bucket, BuyerMessage, Conn, FaultSpec, Posted, SellerConfig, SentRecord, Sim,
    SimConfig, faults_after, faults_before, now,
};
use crate::domain::{Marketplace, Millis};

const MP: Marketplace = Marketplace::Ozon;

// The API's own paths and numbers, from
// `shared/specs/ozon/swagger.2025-09.salacoste.json`, not the connector's, so
// a connector with a wrong path or limit is refused here.

/// `paths["/v3/chat/list"]` (`ChatAPI_ChatListV3`; `/v2/chat/list` is deprecated).
const PATH_CHAT_LIST: &str = "/v3/chat/list";
/// `paths["/v3/chat/history"]` (`ChatAPI_ChatHistoryV3`).
const PATH_CHAT_HISTORY: &str = "/v3/chat/history";
/// `paths["/v1/chat/send/message"]` (`ChatAPI_ChatSendMessage`).
const PATH_SEND_MESSAGE: &str = "/v1/chat/send/message";
/// `paths["/v2/chat/read"]` (`ChatAPI_ChatReadV2`).
const PATH_CHAT_READ: &str = "/v2/chat/read";
/// `schemas.v3ChatList.limit` and `schemas.v3ChatHistoryRequest.limit`:
/// "Максимальное значение — 1000".
const MAX_PAGE_LIMIT: u64 = 1000;
/// `schemas.v3ChatHistoryRequest.limit`: "По умолчанию — 50".
const HISTORY_DEFAULT_LIMIT: u64 = 50;
/// `schemas.chatChatSendMessageRequest.text`: "plain text от 1 до 1000 символов".
const MAX_MESSAGE_CHARS: usize = 1000;
/// `schemas.v3ChatDetailsInfo.chat_type`: `Buyer_Seller` is a chat with a
/// buyer, `Seller_Support` one with support.
const CHAT_TYPE_BUYER: &str = "Buyer_Seller";
const CHAT_TYPE_SUPPORT: &str = "Seller_Support";
/// `paths["/v1/chat/send/message"].post.description`: FBO sellers may write
/// "в течение 48 часов с момента получения последнего сообщения от покупателя".
const REPLY_WINDOW_MS: Millis = 48 * 3600 * 1000;
/// Message ids look like the spec's (`3000000000817031942`) and grow.
const FIRST_MESSAGE_ID: u64 = 3_000_000_000_100_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Customer,
    Seller,
    Support,
}

impl Who {
    /// `user.type` as the schema's description lists it (lower case).
    fn user_type(self) -> &'static str {
        match self {
            Who::Customer => "customer",
            Who::Seller => "seller",
            Who::Support => "support",
        }
    }
}

struct Message {
    id: u64,
    at: Millis,
    who: Who,
    user_id: String,
    text: String,
    /// `context.order_number` and `context.sku`.
    context: Option<(String, String)>,
    /// Read by the other side: the seller for the buyer's and support's
    /// messages, the buyer for the seller's.
    is_read: bool,
}

struct Chat {
    id: String,
    chat_type: &'static str,
    created_at: Millis,
    closed: bool,
    buyer_id: String,
    messages: Vec<Message>,
}

impl Chat {
    fn last_id(&self) -> u64 {
        self.messages.last().map(|m| m.id).unwrap_or(0)
    }

    /// Messages the seller has not read yet.
    fn unread(&self) -> impl Iterator<Item = &Message> {
        self.messages
            .iter()
            .filter(|m| m.who != Who::Seller && !m.is_read)
    }

    /// The seller read everything up to `up_to` (all when `None`).
    fn seller_reads(&mut self, up_to: Option<u64>) {
        for m in &mut self.messages {
            if m.who != Who::Seller && up_to.is_none_or(|u| m.id <= u) {
                m.is_read = true;
            }
        }
    }

    /// May the seller write now? FBO: within 48 h of the buyer's last
    /// message. (FBS/rFBS may also write up to 72 h after delivery; the
    /// simulator has no deliveries, so the 48 h rule is the whole rule.)
    fn accepts_reply(&self, at: Millis) -> bool {
        let last_buyer = self
            .messages
            .iter()
            .filter(|m| m.who == Who::Customer)
            .map(|m| m.at)
            .max();
        !self.closed && last_buyer.is_none_or(|t| at - t <= REPLY_WINDOW_MS)
    }
}

pub(crate) struct Account {
    client_id: Option<String>,
    api_key: Option<String>,
    bucket: Bucket,
    chats: Vec<Chat>,
    by_id: HashMap<String, usize>,
    last_message_id: u64,
}

impl Account {
    pub(crate) fn new(seller: &SellerConfig, config: &SimConfig) -> Account {
        let mut account = Account {
            client_id: seller.ozon_client_id.clone(),
            api_key: seller.ozon_api_key.clone(),
            bucket: Bucket::new(config.ozon_rate),
            chats: Vec::new(),
            by_id: HashMap::new(),
            last_message_id: FIRST_MESSAGE_ID,
        };
        // Every account has its chat with Ozon support, which is not a buyer chat.
        let idx = account.add_chat(None, CHAT_TYPE_SUPPORT);
        account.push(
            idx,
            Who::Support,
            "Здравствуйте! Это поддержка Ozon. Напоминаем о новых правилах приёмки.",
            None,
            None,
        );
        account
    }

    fn add_chat(&mut self, id: Option<String>, chat_type: &'static str) -> usize {
        let id = id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        self.chats.push(Chat {
            id: id.clone(),
            chat_type,
            created_at: now(),
            closed: false,
            buyer_id: rand::rng().random_range(100_000..999_999).to_string(),
            messages: Vec::new(),
        });
        self.by_id.insert(id, self.chats.len() - 1);
        self.chats.len() - 1
    }

    fn push(
        &mut self,
        chat_idx: usize,
        who: Who,
        text: &str,
        context: Option<(String, String)>,
        at: Option<Millis>,
    ) -> (u64, Millis) {
        self.last_message_id += 1;
        let id = self.last_message_id;
        let at = at.unwrap_or_else(now);
        let user_id = match who {
            Who::Customer => self.chats[chat_idx].buyer_id.clone(),
            Who::Seller => self.client_id.clone().unwrap_or_default(),
            Who::Support => "0".into(),
        };
        self.chats[chat_idx].messages.push(Message {
            id,
            at,
            who,
            user_id,
            text: text.to_string(),
            context,
            is_read: false,
        });
        (id, at)
    }

    pub(crate) fn buyer_writes(&mut self, req: &BuyerMessage) -> Result<Posted, String> {
        let existing = req
            .chat_id
            .as_ref()
            .and_then(|id| self.by_id.get(id).copied());
        let idx = match existing {
            Some(i) => i,
            None => self.add_chat(req.chat_id.clone(), CHAT_TYPE_BUYER),
        };
        let context = req.order.as_ref().and_then(|o| {
            let order = o.order_id.clone().unwrap_or_default();
            let sku = o.product_id.clone().unwrap_or_default();
            (!order.is_empty() || !sku.is_empty()).then_some((order, sku))
        });
        // The buyer is in the chat: they have seen the seller's messages.
        for m in &mut self.chats[idx].messages {
            if m.who == Who::Seller {
                m.is_read = true;
            }
        }
        let (id, _) = self.push(idx, Who::Customer, &req.text, context, req.at);
        Ok(Posted {
            chat_id: self.chats[idx].id.clone(),
            message_id: id.to_string(),
        })
    }

    /// A person answers in the seller portal, having opened (and so read) the chat.
    pub(crate) fn portal_reply(&mut self, chat_id: &str, text: &str) -> Result<Posted, String> {
        let idx = *self
            .by_id
            .get(chat_id)
            .ok_or_else(|| format!("no Ozon chat `{chat_id}`"))?;
        self.chats[idx].seller_reads(None);
        let (id, _) = self.push(idx, Who::Seller, text, None, None);
        Ok(Posted {
            chat_id: chat_id.to_string(),
            message_id: id.to_string(),
        })
    }

    fn list_json(&self, q: &ListQuery) -> Value {
        let (limit, cursor) = (q.limit, q.cursor);
        let mut chats: Vec<&Chat> = self
            .chats
            .iter()
            .filter(|c| match q.status {
                StatusFilter::All => true,
                StatusFilter::Opened => !c.closed,
                StatusFilter::Closed => c.closed,
            })
            .filter(|c| !q.unread_only || c.unread().next().is_some())
            .collect();
        // Newest activity first; the cursor is the last message id of the
        // page's last chat, so a page continues below it.
        chats.sort_by_key(|c| std::cmp::Reverse(c.last_id()));
        let rest: Vec<&Chat> = chats
            .into_iter()
            .filter(|c| cursor.is_none_or(|cur| c.last_id() < cur))
            .collect();
        let page = &rest[..limit.min(rest.len())];
        let has_next = rest.len() > page.len();
        let items: Vec<Value> = page
            .iter()
            .map(|c| {
                json!({
                    "chat": {
                        "chat_id": c.id,
                        "chat_status": if c.closed { "Closed" } else { "Opened" },
                        "chat_type": c.chat_type,
                        "created_at": rfc3339(c.created_at),
                    },
                    "first_unread_message_id": c.unread().next().map(|m| m.id).unwrap_or(0).to_string(),
                    "last_message_id": c.last_id().to_string(),
                    "unread_count": c.unread().count(),
                })
            })
            .collect();
        let total_unread: usize = self.chats.iter().map(|c| c.unread().count()).sum();
        json!({
            "chats": items,
            "total_unread_count": total_unread,
            "cursor": page.last().map(|c| c.last_id().to_string()).unwrap_or_default(),
            "has_next": has_next,
        })
    }

    fn history_json(&self, chat: &Chat, q: &HistoryQuery) -> Value {
        let forward = q.forward;
        let mut selected: Vec<&Message> = chat
            .messages
            .iter()
            .filter(|m| q.ids.is_empty() || q.ids.contains(&m.id))
            .filter(|m| match q.from {
                None => true,
                Some(from) if forward => m.id >= from,
                Some(from) => m.id <= from,
            })
            .collect();
        if !forward {
            selected.reverse();
        }
        let has_next = selected.len() > q.limit;
        selected.truncate(q.limit);
        let messages: Vec<Value> = selected.iter().map(|m| message_json(m)).collect();
        json!({ "has_next": has_next, "messages": messages })
    }
}

fn message_json(m: &Message) -> Value {
    let mut v = json!({
        "message_id": m.id.to_string(),
        "created_at": rfc3339(m.at),
        "user": { "id": m.user_id, "type": m.who.user_type() },
        "data": [m.text],
        "is_read": m.is_read,
        "is_image": false,
    });
    if let Some((order, sku)) = &m.context {
        v["context"] = json!({ "order_number": order, "sku": sku });
    }
    v
}

fn rfc3339(ms: Millis) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

pub(super) fn routes() -> axum::Router<Sim> {
    axum::Router::new()
        .route(PATH_CHAT_LIST, post(chat_list))
        .route(PATH_CHAT_HISTORY, post(chat_history))
        .route(PATH_SEND_MESSAGE, post(send_message))
        .route(PATH_CHAT_READ, post(chat_read))
}

/// An `rpcStatus` error body.
fn rpc(status: StatusCode, code: i32, message: &str) -> Response {
    (
        status,
        Json(json!({ "code": code, "message": message, "details": [] })),
    )
        .into_response()
}

fn throttled(retry_after: Option<u64>) -> Response {
    let mut r = rpc(
        StatusCode::TOO_MANY_REQUESTS,
        8,
        "You have reached request rate limit per second",
    );
    if let Some(secs) = retry_after {
        r.headers_mut()
            .insert("retry-after", HeaderValue::from(secs));
    }
    r
}

const INVALID_KEY: &str = "Invalid Api-Key, please check the key and try again";
/// Illustrative: Ozon does not publish this text.
const NO_SUBSCRIPTION: &str = "Chats with buyers are available only for sellers with Premium Plus or Premium Pro subscription";
/// Illustrative: Ozon does not publish this text.
const WINDOW_CLOSED: &str =
    "chat is closed for sending: more than 48 hours have passed since the buyer's last message";

fn fault_response(fault: &FaultSpec) -> Response {
    let status = StatusCode::from_u16(fault.status.unwrap_or(500))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match status.as_u16() {
        429 => throttled(fault.retry_after_secs),
        401 => rpc(status, 16, "Client-Id and Api-Key headers are required"),
        // The subscription is the chat methods' stated access condition, so a
        // 403 fault plays its refusal (the text is ours).
        403 => rpc(status, 7, NO_SUBSCRIPTION),
        404 => rpc(status, 5, INVALID_KEY),
        400 => rpc(status, 3, "invalid request"),
        409 => rpc(status, 10, "request conflict"),
        503 => rpc(status, 14, "Circle is open"),
        _ => rpc(status, 13, "Internal error"),
    }
}

/// Faults, auth and the per-Client-Id bucket, in that order. Returns the
/// seller's index and a fault to apply after handling.
async fn admit(
    sim: &Sim,
    conn: &Conn,
    headers: &HeaderMap,
    path: &str,
) -> Result<(usize, Option<FaultSpec>), Response> {
    let fault = faults_before(sim, conn, MP, path, fault_response).await?;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mut state = sim.lock();
    let (Some(client_id), Some(api_key)) = (header("Client-Id"), header("Api-Key")) else {
        state.count_request(MP, path, 401);
        return Err(rpc(
            StatusCode::UNAUTHORIZED,
            16,
            "Client-Id and Api-Key headers are required",
        ));
    };
    if client_id.parse::<u64>().map_or(true, |n| n == 0) {
        state.count_request(MP, path, 400);
        return Err(rpc(
            StatusCode::BAD_REQUEST,
            3,
            "Client-Id header value should be positive integer",
        ));
    }
    let Some(idx) = state.sellers.iter().position(|s| {
        s.ozon.client_id.as_deref() == Some(client_id.as_str())
            && s.ozon.api_key.as_deref() == Some(api_key.as_str())
    }) else {
        state.count_request(MP, path, 404);
        return Err(rpc(StatusCode::NOT_FOUND, 5, INVALID_KEY));
    };
    match state.sellers[idx].ozon.bucket.take() {
        // Counted by `finish`, with the status it answers.
        Admission::Allowed { .. } => Ok((idx, fault)),
        Admission::Throttled { .. } => {
            // Ozon documents no retry hint, and the notes saw `retry-after`
            // only sometimes: the bucket sends none (a 429 fault can).
            state.count_request(MP, path, 429);
            Err(throttled(None))
        }
    }
}

type Body = serde_json::Map<String, Value>;

/// The JSON object a method was sent; anything else is Ozon's 400.
fn body_object(body: &Bytes) -> Result<Body, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err("Invalid request body".into()),
    }
}

/// A uint64 field: proto3 JSON takes a number or a string of digits.
fn uint64(v: Option<&Value>, field: &str) -> Result<Option<u64>, String> {
    let bad = || format!("invalid value for uint64 field {field}");
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(bad),
        Some(Value::String(s)) => s.trim().parse::<u64>().map(Some).map_err(|_| bad()),
        Some(_) => Err(bad()),
    }
}

fn boolean(v: Option<&Value>, field: &str) -> Result<bool, String> {
    match v {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("invalid value for bool field {field}")),
    }
}

fn text<'a>(map: &'a Body, field: &str) -> Result<Option<&'a str>, String> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(format!("invalid value for string field {field}")),
    }
}

fn required_text(map: &Body, field: &str) -> Result<String, String> {
    text(map, field)?
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| format!("{field} is required"))
}

fn limit(map: &Body, default: u64) -> Result<usize, String> {
    match uint64(map.get("limit"), "limit")?.unwrap_or(default) {
        n @ 1..=MAX_PAGE_LIMIT => Ok(n as usize),
        _ => Err(format!("limit must be from 1 to {MAX_PAGE_LIMIT}")),
    }
}

enum StatusFilter {
    All,
    Opened,
    Closed,
}

struct ListQuery {
    status: StatusFilter,
    unread_only: bool,
    limit: usize,
    cursor: Option<u64>,
}

fn list_query(map: &Body) -> Result<ListQuery, String> {
    let filter = map.get("filter").cloned().unwrap_or(Value::Null);
    let status = match filter.get("chat_status") {
        None | Some(Value::Null) => StatusFilter::All,
        Some(Value::String(s)) => match s.to_lowercase().as_str() {
            "" | "all" => StatusFilter::All,
            "opened" => StatusFilter::Opened,
            "closed" => StatusFilter::Closed,
            _ => return Err("invalid chat_status".into()),
        },
        Some(_) => return Err("invalid chat_status".into()),
    };
    let cursor = match text(map, "cursor")? {
        None | Some("") => None,
        Some(c) => Some(c.parse::<u64>().map_err(|_| "invalid cursor".to_string())?),
    };
    Ok(ListQuery {
        status,
        unread_only: boolean(filter.get("unread_only"), "unread_only")?,
        // `limit` is required by the schema; proto3 reads a missing one as 0.
        limit: limit(map, 0)?,
        cursor,
    })
}

struct HistoryQuery {
    chat_id: String,
    forward: bool,
    from: Option<u64>,
    limit: usize,
    ids: Vec<u64>,
}

fn history_query(map: &Body) -> Result<HistoryQuery, String> {
    let forward = match text(map, "direction")? {
        None | Some("") => false,
        Some(d) if d.eq_ignore_ascii_case("forward") => true,
        Some(d) if d.eq_ignore_ascii_case("backward") => false,
        Some(_) => return Err("invalid direction".into()),
    };
    let mut ids = Vec::new();
    if let Some(list) = map.get("filter").and_then(|f| f.get("message_ids")) {
        for v in list.as_array().ok_or("invalid message_ids")? {
            ids.extend(uint64(Some(v), "message_ids")?);
        }
    }
    Ok(HistoryQuery {
        chat_id: required_text(map, "chat_id")?,
        forward,
        // The 2025-09 spec does not require `from_message_id` with Forward
        // (a 2026 doc export says it does); without it Forward starts at the
        // oldest message.
        from: uint64(map.get("from_message_id"), "from_message_id")?,
        limit: limit(map, HISTORY_DEFAULT_LIMIT)?,
        ids,
    })
}

fn send_query(map: &Body) -> Result<(String, String), String> {
    let chat_id = required_text(map, "chat_id")?;
    let text = text(map, "text")?.unwrap_or_default().to_string();
    if text.trim().is_empty() || text.chars().count() > MAX_MESSAGE_CHARS {
        return Err(format!(
            "text length must be from 1 to {MAX_MESSAGE_CHARS} characters"
        ));
    }
    Ok((chat_id, text))
}

fn read_query(map: &Body) -> Result<(String, Option<u64>), String> {
    Ok((
        required_text(map, "chat_id")?,
        uint64(map.get("from_message_id"), "from_message_id")?,
    ))
}

/// Count an admitted request with the status it gets, then apply any fault
/// that acts after handling.
async fn finish(
    sim: &Sim,
    conn: &Conn,
    path: &str,
    fault: Option<FaultSpec>,
    response: Response,
) -> Response {
    sim.lock()
        .count_request(MP, path, response.status().as_u16());
    faults_after(response, conn, fault).await
}

/// Admit the request and parse its body; `Err` is the answer to give.
async fn accept<T>(
    sim: &Sim,
    conn: &Conn,
    headers: &HeaderMap,
    path: &str,
    body: &Bytes,
    parse: impl FnOnce(&Body) -> Result<T, String>,
) -> Result<(usize, Option<FaultSpec>, T), Response> {
    let (idx, fault) = admit(sim, conn, headers, path).await?;
    match body_object(body).and_then(|map| parse(&map)) {
        Ok(query) => Ok((idx, fault, query)),
        Err(why) => {
            let response = rpc(StatusCode::BAD_REQUEST, 3, &why);
            Err(finish(sim, conn, path, fault, response).await)
        }
    }
}

async fn chat_list(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (idx, fault, query) =
        match accept(&sim, &conn, &headers, PATH_CHAT_LIST, &body, list_query).await {
            Ok(a) => a,
            Err(r) => return r,
        };
    let body = sim.lock().sellers[idx].ozon.list_json(&query);
    finish(
        &sim,
        &conn,
        PATH_CHAT_LIST,
        fault,
        Json(body).into_response(),
    )
    .await
}

async fn chat_history(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (idx, fault, query) = match accept(
        &sim,
        &conn,
        &headers,
        PATH_CHAT_HISTORY,
        &body,
        history_query,
    )
    .await
    {
        Ok(a) => a,
        Err(r) => return r,
    };
    let body = {
        let state = sim.lock();
        let account = &state.sellers[idx].ozon;
        account
            .by_id
            .get(&query.chat_id)
            .map(|&c| account.history_json(&account.chats[c], &query))
    };
    let response = match body {
        Some(b) => Json(b).into_response(),
        None => rpc(StatusCode::NOT_FOUND, 5, "chat not found"),
    };
    finish(&sim, &conn, PATH_CHAT_HISTORY, fault, response).await
}

async fn send_message(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (idx, fault, (chat_id, text)) =
        match accept(&sim, &conn, &headers, PATH_SEND_MESSAGE, &body, send_query).await {
            Ok(a) => a,
            Err(r) => return r,
        };
    let response = {
        let mut state = sim.lock();
        let seller = state.sellers[idx].name.clone();
        let account = &mut state.sellers[idx].ozon;
        match account.by_id.get(&chat_id).copied() {
            None => rpc(StatusCode::NOT_FOUND, 5, "chat not found"),
            Some(c) if account.chats[c].chat_type != CHAT_TYPE_BUYER => rpc(
                StatusCode::FORBIDDEN,
                7,
                "sending messages to this chat type is not allowed",
            ),
            Some(c) if !account.chats[c].accepts_reply(now()) => {
                rpc(StatusCode::BAD_REQUEST, 9, WINDOW_CLOSED)
            }
            Some(c) => {
                let (id, at) = account.push(c, Who::Seller, &text, None, None);
                state.sent.push(SentRecord {
                    seller,
                    marketplace: MP,
                    chat_id: chat_id.clone(),
                    message_id: id.to_string(),
                    text,
                    at,
                });
                Json(json!({ "result": "success" })).into_response()
            }
        }
    };
    finish(&sim, &conn, PATH_SEND_MESSAGE, fault, response).await
}

async fn chat_read(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (idx, fault, (chat_id, up_to)) =
        match accept(&sim, &conn, &headers, PATH_CHAT_READ, &body, read_query).await {
            Ok(a) => a,
            Err(r) => return r,
        };
    let response = {
        let mut state = sim.lock();
        let account = &mut state.sellers[idx].ozon;
        match account.by_id.get(&chat_id).copied() {
            None => rpc(StatusCode::NOT_FOUND, 5, "chat not found"),
            Some(c) => {
                let chat = &mut account.chats[c];
                chat.seller_reads(up_to);
                Json(json!({ "unread_count": chat.unread().count() })).into_response()
            }
        }
    };
    finish(&sim, &conn, PATH_CHAT_READ, fault, response).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Body {
        v.as_object().cloned().unwrap()
    }

    /// `v3ChatList.limit` (required) and `v3ChatHistoryRequest.limit`
    /// (default 50): at most 1000. The spec's numbers are written out here
    /// rather than taken from any constant, so a change on either side shows.
    #[test]
    fn page_sizes_are_held_to_the_specs_bounds() {
        let list = |v: Value| list_query(&body(v)).map(|q| q.limit);
        assert_eq!(list(json!({ "limit": 1000 })), Ok(1000));
        assert!(list(json!({ "limit": 1001 })).is_err());
        assert!(list(json!({})).is_err(), "the list's limit is required");
        let history = |v: Value| history_query(&body(v)).map(|q| q.limit);
        assert_eq!(history(json!({ "chat_id": "c" })), Ok(50));
        assert_eq!(history(json!({ "chat_id": "c", "limit": 1000 })), Ok(1000));
        assert!(history(json!({ "chat_id": "c", "limit": 1001 })).is_err());
    }

    /// `chatChatSendMessageRequest.text`: plain text of 1 to 1000 characters.
    #[test]
    fn a_send_is_held_to_the_specs_length() {
        let send = |text: String| send_query(&body(json!({ "chat_id": "c", "text": text })));
        let longest = "я".repeat(1000);
        assert_eq!(send(longest.clone()), Ok(("c".into(), longest)));
        assert!(send("я".repeat(1001)).is_err());
        assert!(send(" ".into()).is_err());
    }

    /// `/v1/chat/send/message`: FBO sellers write within 48 hours of the
    /// buyer's last message.
    #[test]
    fn a_reply_is_accepted_for_48_hours_after_the_buyers_last_message() {
        let at = 1_700_000_000_000;
        let chat = Chat {
            id: "c".into(),
            chat_type: CHAT_TYPE_BUYER,
            created_at: at,
            closed: false,
            buyer_id: "1".into(),
            messages: vec![Message {
                id: FIRST_MESSAGE_ID,
                at,
                who: Who::Customer,
                user_id: "1".into(),
                text: "?".into(),
                context: None,
                is_read: false,
            }],
        };
        let hours = |h: i64| at + h * 3600 * 1000;
        assert!(chat.accepts_reply(hours(48)));
        assert!(!chat.accepts_reply(hours(48) + 1));
    }
}
