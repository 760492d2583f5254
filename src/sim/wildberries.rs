//! The Wildberries buyer-chat API, as `09-communications.yaml` describes it.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{ConnectInfo, Multipart, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::Rng;
use serde_json::{Value, json};

use super::{
    Admission, Bucket, BuyerMessage, Conn, FaultSpec, Posted, RateConfig, SentRecord, Sim,
    faults_after, faults_before, now,
};
use crate::domain::{Marketplace, Millis};

const MP: Marketplace = Marketplace::Wildberries;

// The API's own numbers and names, from
// `shared/specs/wildberries/09-communications.yaml`, not the connector's.

/// `/api/v1/seller/message` request body: `message` has `maxLength: 1000`
/// ("Максимум 1000 символов").
const MAX_MESSAGE_CHARS: usize = 1000;
/// `components.schemas.Event.source`: "`seller-public-api` — API Чата с покупателями".
const SOURCE_PUBLIC_API: &str = "seller-public-api";

/// `goodCard.statusID` for an order status in a scenario's words
/// (`OrderContext::status`), from `components.schemas.GoodCard.statusID`:
/// 0 active, 1 ordered, 2 being assembled, 3 in transit, 4 waiting at the
/// pick-up point, 5 with the courier, 10 archived, 11 bought out, 12
/// cancelled, 13 return filed, 14 cancelled (out of stock).
fn status_id(status: &str) -> Option<i64> {
    Some(match status {
        "active" => 0,
        "ordered" => 1,
        "assembling" => 2,
        "in_transit" => 3,
        "awaiting_pickup" => 4,
        "with_courier" => 5,
        "archived" => 10,
        "delivered" => 11,
        "cancelled" => 12,
        "return_requested" => 13,
        _ => return None,
    })
}

struct Chat {
    id: String,
    reply_sign: String,
    client_name: String,
    good_card: Option<Value>,
    last_message: Option<(String, Millis)>,
}

struct Event {
    ts: Millis,
    id: String,
    chat_id: String,
    sender: &'static str,
    source: &'static str,
    text: String,
    new_chat: bool,
    good_card: Option<Value>,
}

pub(crate) struct Account {
    token: Option<String>,
    bucket: Bucket,
    chats: Vec<Chat>,
    by_id: HashMap<String, usize>,
    by_sign: HashMap<String, usize>,
    events: Vec<Event>,
    last_ts: Millis,
    /// The highest `next` handed out; later events must come after it.
    issued_next: Millis,
}

fn hex(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| format!("{:x}", rng.random_range(0..16u8)))
        .collect()
}

fn random_name() -> String {
    const NAMES: [&str; 12] = [
        "Анна",
        "Мария",
        "Елена",
        "Ольга",
        "Татьяна",
        "Наталья",
        "Иван",
        "Дмитрий",
        "Алексей",
        "Сергей",
        "Андрей",
        "Михаил",
    ];
    NAMES[rand::rng().random_range(0..NAMES.len())].to_string()
}

fn rfc3339(ms: Millis) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

impl Account {
    pub(crate) fn new(token: Option<String>, rate: RateConfig) -> Account {
        Account {
            token,
            bucket: Bucket::new(rate),
            chats: Vec::new(),
            by_id: HashMap::new(),
            by_sign: HashMap::new(),
            events: Vec::new(),
            last_ts: 0,
            issued_next: 0,
        }
    }

    pub(crate) fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Event times are unique, increasing, and later than any cursor already
    /// handed out, so `next` never splits a millisecond or skips an event.
    fn next_ts(&mut self) -> Millis {
        self.last_ts = now().max(self.last_ts + 1).max(self.issued_next + 1);
        self.last_ts
    }

    fn push_event(
        &mut self,
        chat_idx: usize,
        sender: &'static str,
        source: &'static str,
        text: &str,
        new_chat: bool,
        good_card: Option<Value>,
    ) -> (String, Millis) {
        let ts = self.next_ts();
        let id = uuid::Uuid::new_v4().to_string();
        let chat = &mut self.chats[chat_idx];
        chat.last_message = Some((text.to_string(), ts));
        self.events.push(Event {
            ts,
            id: id.clone(),
            chat_id: chat.id.clone(),
            sender,
            source,
            text: text.to_string(),
            new_chat,
            good_card,
        });
        (id, ts)
    }

    pub(crate) fn buyer_writes(&mut self, req: &BuyerMessage) -> Posted {
        let existing = req
            .chat_id
            .as_ref()
            .and_then(|id| self.by_id.get(id).copied());
        let card = req.order.as_ref().map(|o| {
            json!({
                "date": rfc3339(now()),
                "nmID": o.product_id.as_deref().and_then(|p| p.parse::<i64>().ok()).unwrap_or(100_000_000 + rand::rng().random_range(0..9_000_000)),
                "price": o.price.unwrap_or(0.0).round() as i64,
                "priceCurrency": o.currency.clone().unwrap_or_else(|| "RUB".into()),
                "rid": o.order_id.clone().unwrap_or_else(|| hex(32)),
                "size": o.size.clone().unwrap_or_else(|| "0".into()),
                "statusID": o.status.as_deref().and_then(status_id).unwrap_or(1),
            })
        });
        let (idx, new_chat) = match existing {
            Some(i) => {
                if card.is_some() {
                    self.chats[i].good_card = card.clone();
                }
                (i, false)
            }
            None => {
                let uuid = uuid::Uuid::new_v4();
                let id = req.chat_id.clone().unwrap_or_else(|| format!("1:{uuid}"));
                let chat = Chat {
                    reply_sign: format!("1:{uuid}:{}", hex(128)),
                    id: id.clone(),
                    client_name: req.client_name.clone().unwrap_or_else(random_name),
                    good_card: card.clone(),
                    last_message: None,
                };
                self.by_sign
                    .insert(chat.reply_sign.clone(), self.chats.len());
                self.by_id.insert(id, self.chats.len());
                self.chats.push(chat);
                (self.chats.len() - 1, true)
            }
        };
        let (message_id, _) = self.push_event(idx, "client", "rusite", &req.text, new_chat, card);
        Posted {
            chat_id: self.chats[idx].id.clone(),
            message_id,
        }
    }

    pub(crate) fn portal_reply(&mut self, chat_id: &str, text: &str) -> Result<Posted, String> {
        let idx = *self
            .by_id
            .get(chat_id)
            .ok_or_else(|| format!("no chat `{chat_id}`"))?;
        let (message_id, _) = self.push_event(idx, "seller", "seller-portal", text, false, None);
        Ok(Posted {
            chat_id: chat_id.to_string(),
            message_id,
        })
    }

    fn events_json(&mut self, next: Option<Millis>, page: usize) -> Value {
        let start = next
            .map(|n| self.events.partition_point(|e| e.ts <= n))
            .unwrap_or(0);
        let end = (start + page).min(self.events.len());
        let slice = &self.events[start..end];
        let events: Vec<Value> = slice.iter().map(|e| self.event_json(e)).collect();
        let next_out = slice
            .last()
            .map(|e| e.ts)
            .or(next)
            .unwrap_or_else(|| self.last_ts.max(now()));
        json!({
            "result": {
                "next": next_out,
                "newestEventTime": slice.last().map(|e| rfc3339(e.ts)),
                "oldestEventTime": slice.first().map(|e| rfc3339(e.ts)),
                "totalEvents": events.len(),
                "events": events,
            },
            "errors": null,
        })
    }

    fn event_json(&self, e: &Event) -> Value {
        let chat = &self.chats[self.by_id[&e.chat_id]];
        let mut message = json!({ "text": e.text });
        if let Some(card) = &e.good_card {
            message["attachments"] = json!({ "goodCard": card });
        }
        let mut v = json!({
            "chatID": e.chat_id,
            "eventID": e.id,
            "eventType": "message",
            "message": message,
            "source": e.source,
            "addTimestamp": e.ts,
            "addTime": rfc3339(e.ts),
            "sender": e.sender,
        });
        if e.new_chat {
            v["isNewChat"] = json!(true);
            v["replySign"] = json!(chat.reply_sign);
        }
        if e.sender == "client" {
            v["clientName"] = json!(chat.client_name);
        }
        v
    }

    fn chats_json(&self) -> Value {
        let result: Vec<Value> = self
            .chats
            .iter()
            .map(|c| {
                let mut v = json!({ "chatID": c.id, "replySign": c.reply_sign, "clientName": c.client_name });
                if let Some(card) = &c.good_card {
                    let mut card = card.clone();
                    if let Some(o) = card.as_object_mut() {
                        o.remove("date");
                        o.remove("statusID");
                    }
                    v["goodCard"] = card;
                }
                if let Some((text, ts)) = &c.last_message {
                    v["lastMessage"] = json!({ "text": text, "addTimestamp": ts });
                }
                v
            })
            .collect();
        json!({ "result": result, "errors": null })
    }
}

pub(super) fn routes() -> axum::Router<Sim> {
    axum::Router::new()
        .route("/api/v1/seller/chats", get(get_chats))
        .route("/api/v1/seller/events", get(get_events))
        .route("/api/v1/seller/message", post(post_message))
}

fn request_id() -> String {
    hex(32)
}

fn auth_error() -> Response {
    let body = json!({
        "title": "unauthorized",
        "detail": "token problem; token is malformed or unknown",
        "code": format!("{}-[UK-sim]", hex(8)),
        "requestId": request_id(),
        "origin": "s2s-api-auth-catalog",
        "status": 401,
        "statusText": "Unauthorized",
        "timestamp": rfc3339(now()),
    });
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

fn throttled(retry: u64, reset: u64, limit: u32) -> Response {
    let body = json!({
        "title": "too many requests",
        "detail": format!("limited by {}", uuid::Uuid::new_v4()),
        "code": format!("{}-[UK-sim]", hex(8)),
        "requestId": request_id(),
        "origin": "s2s-api-auth-catalog",
        "status": 429,
        "statusText": "Too Many Requests",
        "timestamp": rfc3339(now()),
    });
    let mut r = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    let h = r.headers_mut();
    h.insert("X-Ratelimit-Retry", HeaderValue::from(retry));
    h.insert("X-Ratelimit-Reset", HeaderValue::from(reset));
    h.insert("X-Ratelimit-Limit", HeaderValue::from(limit));
    r
}

fn bad_request(detail: &str, problem_json: bool) -> Response {
    let body = json!({
        "status": 400,
        "title": "Bad Request",
        "origin": "proxy-chats",
        "detail": detail,
        "requestId": request_id(),
        "error": detail,
    });
    let mut r = (StatusCode::BAD_REQUEST, Json(body)).into_response();
    if problem_json {
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
    }
    r
}

fn fault_response(fault: &FaultSpec) -> Response {
    let status = StatusCode::from_u16(fault.status.unwrap_or(500))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match status.as_u16() {
        429 => {
            let retry = fault.retry_after_secs.unwrap_or(1);
            throttled(retry, retry, 10)
        }
        401 => auth_error(),
        400 => bad_request("Bad Request", false),
        code => {
            let body = json!({
                "title": status.canonical_reason().unwrap_or("error").to_lowercase(),
                "detail": "simulated fault",
                "requestId": request_id(),
                "origin": "proxy-chats",
                "status": code,
                "statusText": status.canonical_reason().unwrap_or(""),
                "timestamp": rfc3339(now()),
            });
            (status, Json(body)).into_response()
        }
    }
}

/// Everything a request goes through before it is handled: faults, auth, rate limit.
/// Returns the seller's index, a fault to apply after handling, and the
/// `X-Ratelimit-Remaining` value.
async fn admit(
    sim: &Sim,
    conn: &Conn,
    headers: &HeaderMap,
    path: &str,
) -> Result<(usize, Option<FaultSpec>, u32), Response> {
    let fault = faults_before(sim, conn, MP, path, fault_response).await?;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().trim_start_matches("Bearer ").trim().to_string())
        .unwrap_or_default();
    let mut state = sim.lock();
    let Some(idx) = state
        .sellers
        .iter()
        .position(|s| s.wb.token.as_deref() == Some(token.as_str()) && !token.is_empty())
    else {
        state.count_request(MP, path, 401);
        return Err(auth_error());
    };
    match state.sellers[idx].wb.bucket.take() {
        Admission::Allowed { remaining } => {
            state.count_request(MP, path, 200);
            Ok((idx, fault, remaining))
        }
        Admission::Throttled {
            retry_secs,
            reset_secs,
            limit,
        } => {
            state.count_request(MP, path, 429);
            Err(throttled(retry_secs, reset_secs, limit))
        }
    }
}

async fn finish(
    response: Response,
    conn: &Conn,
    fault: Option<FaultSpec>,
    remaining: u32,
) -> Response {
    let mut response = faults_after(response, conn, fault).await;
    response
        .headers_mut()
        .insert("X-Ratelimit-Remaining", HeaderValue::from(remaining));
    response
}

async fn get_chats(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
) -> Response {
    let (idx, fault, remaining) = match admit(&sim, &conn, &headers, "/api/v1/seller/chats").await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let body = sim.lock().sellers[idx].wb.chats_json();
    finish(Json(body).into_response(), &conn, fault, remaining).await
}

async fn get_events(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (idx, fault, remaining) = match admit(&sim, &conn, &headers, "/api/v1/seller/events").await
    {
        Ok(a) => a,
        Err(r) => return r,
    };
    let next = match query.get("next") {
        None => None,
        Some(raw) => match raw.parse::<i64>() {
            Err(_) => {
                return finish(
                    bad_request("Invalid number", false),
                    &conn,
                    fault,
                    remaining,
                )
                .await;
            }
            Ok(n) if n <= 0 => {
                return finish(
                    bad_request("Invalid value for \"next\"", false),
                    &conn,
                    fault,
                    remaining,
                )
                .await;
            }
            Ok(n) => Some(n),
        },
    };
    let body = {
        let mut state = sim.lock();
        let page = state.config.wb_page_size;
        state.sellers[idx].wb.events_json(next, page)
    };
    finish(Json(body).into_response(), &conn, fault, remaining).await
}

async fn post_message(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Response {
    let (idx, fault, remaining) = match admit(&sim, &conn, &headers, "/api/v1/seller/message").await
    {
        Ok(a) => a,
        Err(r) => return r,
    };
    let mut reply_sign = None;
    let mut message = None;
    let mut files = 0;
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                let value = field.text().await.unwrap_or_default();
                match name.as_str() {
                    "replySign" => reply_sign = Some(value),
                    "message" => message = Some(value),
                    "file" => files += 1,
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => {
                return finish(
                    bad_request("Invalid multipart body", true),
                    &conn,
                    fault,
                    remaining,
                )
                .await;
            }
        }
    }
    let text = message.unwrap_or_default();
    if text.chars().count() > MAX_MESSAGE_CHARS || (text.trim().is_empty() && files == 0) {
        return finish(
            bad_request("Invalid value for \"message\"", true),
            &conn,
            fault,
            remaining,
        )
        .await;
    }
    let accepted = {
        let mut state = sim.lock();
        let seller_name = state.sellers[idx].name.clone();
        let account = &mut state.sellers[idx].wb;
        match reply_sign
            .as_ref()
            .and_then(|s| account.by_sign.get(s).copied())
        {
            None => None,
            Some(chat_idx) => {
                let (event_id, ts) =
                    account.push_event(chat_idx, "seller", SOURCE_PUBLIC_API, &text, false, None);
                let chat_id = account.chats[chat_idx].id.clone();
                state.sent.push(SentRecord {
                    seller: seller_name,
                    marketplace: MP,
                    chat_id: chat_id.clone(),
                    message_id: event_id,
                    text,
                    at: ts,
                });
                Some((chat_id, ts))
            }
        }
    };
    let Some((chat_id, ts)) = accepted else {
        return finish(
            bad_request("Invalid signature", true),
            &conn,
            fault,
            remaining,
        )
        .await;
    };
    let body = json!({ "result": { "addTime": ts, "chatID": chat_id }, "errors": [] });
    finish(Json(body).into_response(), &conn, fault, remaining).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `GoodCard.statusID` as the spec lists it (its example event's 11 is
    /// an order the buyer took).
    #[test]
    fn order_statuses_become_the_specs_status_ids() {
        assert_eq!(status_id("delivered"), Some(11));
        assert_eq!(status_id("in_transit"), Some(3));
        assert_eq!(status_id("cancelled"), Some(12));
        assert_eq!(status_id("return_requested"), Some(13));
        assert_eq!(status_id("lost"), None);
    }
}
