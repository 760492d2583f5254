//! The Telegram Bot API, as much of it as the daemon's bot uses: `getUpdates`
//! (long polling with `offset` and `timeout`), `sendMessage`,
//! `editMessageText`, `editMessageReplyMarkup`, `answerCallbackQuery`, under
//! `/bot<token>/<method>`, with Telegram's error shape
//! (`{"ok":false,"error_code":…,"description":…,"parameters":{"retry_after":…}}`).
//! Its own copy of the protocol (https://core.telegram.org/bots/api); it
//! imports nothing from the daemon's bot.
//!
//! Control API:
//! - `POST /_sim/telegram/press` `{user_id, message_id, button | data}`: a user
//!   taps a button under a bot message, by its text, or by the callback data an
//!   older copy of the message showed.
//! - `POST /_sim/telegram/reply` `{user_id, text, reply_to_message_id?}`: a user writes.
//! - `GET  /_sim/telegram/sent`: every message the bot sent, as it looks now.
//! - `GET  /_sim/telegram/answers`: the bot's answers to button taps.
//! - `GET  /_sim/telegram/updates`: updates not yet confirmed by an `offset`.
//! - `POST /_sim/telegram/faults` `{status, retry_after?, count?}`, `DELETE` to clear.
//! - `GET  /_sim/telegram/stats`: calls per method, and how many a fault answered.
//! - `POST /_sim/telegram/block` `{user_id, reason?}`: the user blocked the bot
//!   (`reason = "blocked"`, 403) or never started it (`"not_found"`, 400);
//!   messages to that chat are refused from now on.
//! - `GET  /_sim/telegram/webhook`: `getWebhookInfo` plus deliveries made.
//!
//! `setWebhook` / `deleteWebhook` / `getWebhookInfo` follow the Bot API: while
//! a webhook is set, `getUpdates` answers 409 and every update is POSTed to
//! the webhook's URL with `X-Telegram-Bot-Api-Secret-Token`; an update leaves
//! the queue only on a 2xx answer, otherwise it is tried again.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::Sim;

/// Bot API: a message's text is at most 4096 characters after entity parsing.
const MAX_TEXT_CHARS: usize = 4096;
/// Bot API: `callback_data` is 1-64 bytes.
const MAX_CALLBACK_DATA: usize = 64;
/// Bot API: `getUpdates` `timeout` is capped (50 s is what the server honours).
const MAX_POLL_SECS: u64 = 50;
/// Tags Telegram's HTML parse mode accepts.
const HTML_TAGS: &[&str] = &[
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "code",
    "pre",
    "a",
    "blockquote",
    "tg-spoiler",
    "span",
];

#[derive(Debug, Clone, Serialize)]
pub struct BotMessage {
    pub message_id: i64,
    pub chat_id: i64,
    /// What the user sees: the text with the markup parsed away.
    pub text: String,
    /// What the bot sent.
    pub html: String,
    /// Rows of buttons: `{text, callback_data}` or `{text, url}`.
    pub buttons: Vec<Vec<Value>>,
    pub force_reply: bool,
    pub silent: bool,
    pub reply_to_message_id: Option<i64>,
    pub edits: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TelegramFault {
    pub status: u16,
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// How many calls it answers; every call until cleared when absent.
    #[serde(default)]
    pub count: Option<u32>,
}

#[derive(Default)]
struct BotState {
    next_update_id: i64,
    next_message_id: i64,
    /// Updates not yet confirmed by a `getUpdates` offset.
    updates: Vec<Value>,
    messages: Vec<BotMessage>,
    answers: Vec<Value>,
    fault: Option<TelegramFault>,
    calls: BTreeMap<String, u64>,
    faulted: u64,
    /// Chats that refuse messages: the status and description Telegram answers.
    refusing: BTreeMap<i64, (u16, String)>,
    refused: u64,
    webhook: Option<Webhook>,
    /// Bumped by every setWebhook/deleteWebhook: an older delivery loop stops.
    webhook_generation: u64,
    webhook_deliveries: u64,
    webhook_last_error: Option<String>,
}

#[derive(Debug, Clone)]
struct Webhook {
    url: String,
    secret_token: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Block {
    pub user_id: i64,
    #[serde(default)]
    pub reason: Option<String>,
}

/// The simulated bot: one token, any number of private chats.
#[derive(Clone, Default)]
pub struct BotSim {
    token: Option<String>,
    state: Arc<Mutex<BotState>>,
    news: Arc<Notify>,
}

impl BotSim {
    pub fn new(token: Option<String>) -> BotSim {
        BotSim {
            token,
            state: Arc::new(Mutex::new(BotState {
                next_update_id: 1,
                next_message_id: 1,
                ..Default::default()
            })),
            news: Arc::new(Notify::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BotState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn sent(&self) -> Vec<BotMessage> {
        self.lock().messages.clone()
    }

    fn push_update(&self, mut update: Value) -> i64 {
        let id = {
            let mut s = self.lock();
            let id = s.next_update_id;
            s.next_update_id += 1;
            update["update_id"] = json!(id);
            s.updates.push(update);
            id
        };
        self.news.notify_waiters();
        id
    }

    /// A user taps a button under one of the bot's messages.
    pub fn press(&self, req: &Press) -> Result<Value, String> {
        let (message, data) = {
            let s = self.lock();
            let m = s
                .messages
                .iter()
                .find(|m| m.message_id == req.message_id)
                .ok_or_else(|| format!("the bot sent no message {}", req.message_id))?;
            // `data` is what an older copy of the message showed (a phone that
            // has not seen the edit yet); `button` must be on the message now.
            let data = match (&req.data, &req.button) {
                (Some(d), _) => d.clone(),
                (None, Some(text)) => {
                    let button = m
                        .buttons
                        .iter()
                        .flatten()
                        .find(|b| b["text"] == text.as_str())
                        .ok_or_else(|| {
                            format!(
                                "message {} has no button `{text}` (it has {:?})",
                                m.message_id,
                                m.buttons
                                    .iter()
                                    .flatten()
                                    .map(|b| b["text"].as_str().unwrap_or_default())
                                    .collect::<Vec<_>>()
                            )
                        })?;
                    button["callback_data"]
                        .as_str()
                        .ok_or("that button opens a link; it sends nothing to the bot")?
                        .to_string()
                }
                (None, None) => return Err("name a `button` or its `data`".into()),
            };
            (message_json(m, req.user_id), data)
        };
        let query_id = format!("cq{}", rand::random::<u32>());
        let update_id = self.push_update(json!({
            "callback_query": {
                "id": query_id,
                "from": user_json(req.user_id),
                "message": message,
                "chat_instance": format!("ci{}", req.user_id),
                "data": data,
            }
        }));
        Ok(json!({ "update_id": update_id, "callback_query_id": query_id }))
    }

    /// A user writes to the bot, possibly as a reply to one of its messages.
    pub fn reply(&self, req: &UserReply) -> Result<Value, String> {
        let (message_id, reply_to) = {
            let mut s = self.lock();
            let reply_to = match req.reply_to_message_id {
                Some(id) => Some(message_json(
                    s.messages
                        .iter()
                        .find(|m| m.message_id == id)
                        .ok_or_else(|| format!("the bot sent no message {id}"))?,
                    req.user_id,
                )),
                None => None,
            };
            let id = s.next_message_id;
            s.next_message_id += 1;
            (id, reply_to)
        };
        let mut message = json!({
            "message_id": message_id,
            "from": user_json(req.user_id),
            "chat": { "id": req.user_id, "type": "private" },
            "date": unix_now(),
            "text": req.text,
        });
        if let Some(r) = reply_to {
            message["reply_to_message"] = r;
        }
        let update_id = self.push_update(json!({ "message": message }));
        Ok(json!({ "update_id": update_id, "message_id": message_id }))
    }

    fn take_fault(&self) -> Option<TelegramFault> {
        let mut s = self.lock();
        let fault = s.fault.clone()?;
        match fault.count {
            Some(0) => {
                s.fault = None;
                return None;
            }
            Some(n) => {
                s.fault.as_mut().expect("present").count = Some(n - 1);
            }
            None => {}
        }
        s.faulted += 1;
        Some(fault)
    }
}

#[derive(Debug, Deserialize)]
pub struct Press {
    pub user_id: i64,
    pub message_id: i64,
    #[serde(default)]
    pub button: Option<String>,
    #[serde(default)]
    pub data: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct UserReply {
    pub user_id: i64,
    pub text: String,
    #[serde(default)]
    pub reply_to_message_id: Option<i64>,
}

fn unix_now() -> i64 {
    super::now() / 1000
}

fn user_json(id: i64) -> Value {
    json!({ "id": id, "is_bot": false, "first_name": format!("user{id}") })
}

fn message_json(m: &BotMessage, _viewer: i64) -> Value {
    let mut v = json!({
        "message_id": m.message_id,
        "from": { "id": 1, "is_bot": true, "first_name": "AgentIQ" },
        "chat": { "id": m.chat_id, "type": "private" },
        "date": unix_now(),
        "text": m.text,
    });
    if !m.buttons.is_empty() {
        v["reply_markup"] = json!({ "inline_keyboard": m.buttons });
    }
    v
}

fn error(code: u16, description: &str, retry_after: Option<u64>) -> Response {
    let mut body = json!({ "ok": false, "error_code": code, "description": description });
    if let Some(s) = retry_after {
        body["parameters"] = json!({ "retry_after": s });
    }
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Json(body),
    )
        .into_response()
}

fn ok(result: Value) -> Response {
    Json(json!({ "ok": true, "result": result })).into_response()
}

fn bad(description: &str) -> Response {
    error(400, &format!("Bad Request: {description}"), None)
}

pub(crate) fn routes() -> Router<Sim> {
    Router::new()
        .route("/{bot}/{method}", post(call).get(call))
        .route("/_sim/telegram/press", post(control_press))
        .route("/_sim/telegram/reply", post(control_reply))
        .route("/_sim/telegram/sent", get(control_sent))
        .route("/_sim/telegram/answers", get(control_answers))
        .route("/_sim/telegram/updates", get(control_updates))
        .route(
            "/_sim/telegram/faults",
            post(control_fault).delete(control_clear),
        )
        .route("/_sim/telegram/stats", get(control_stats))
        .route("/_sim/telegram/block", post(control_block))
        .route("/_sim/telegram/webhook", get(control_webhook))
}

async fn call(
    State(sim): State<Sim>,
    Path((bot, method)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let tg = &sim.telegram;
    let Some(token) = bot.strip_prefix("bot") else {
        return error(404, "Not Found", None);
    };
    if tg.token.as_deref() != Some(token) {
        return error(401, "Unauthorized", None);
    }
    *tg.lock().calls.entry(method.clone()).or_default() += 1;
    if let Some(f) = tg.take_fault() {
        let description = match f.status {
            429 => format!(
                "Too Many Requests: retry after {}",
                f.retry_after.unwrap_or(1)
            ),
            s if s >= 500 => "Internal Server Error".to_string(),
            _ => "Bad Request".to_string(),
        };
        let retry = (f.status == 429).then(|| f.retry_after.unwrap_or(1));
        return error(f.status, &description, retry);
    }
    let params: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => return bad("can't parse JSON"),
        }
    };
    if matches!(
        method.as_str(),
        "sendMessage" | "editMessageText" | "editMessageReplyMarkup"
    ) && let Some(chat) = params["chat_id"].as_i64()
    {
        let refusal = {
            let mut s = tg.lock();
            let r = s.refusing.get(&chat).cloned();
            if r.is_some() {
                s.refused += 1;
            }
            r
        };
        if let Some((code, description)) = refusal {
            return error(code, &description, None);
        }
    }
    match method.as_str() {
        "getUpdates" => {
            if tg.lock().webhook.is_some() {
                return error(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
                    None,
                );
            }
            get_updates(tg, &params).await
        }
        "setWebhook" => set_webhook(tg, &params),
        "deleteWebhook" => {
            let mut s = tg.lock();
            s.webhook = None;
            s.webhook_generation += 1;
            if params["drop_pending_updates"].as_bool() == Some(true) {
                s.updates.clear();
            }
            ok(json!(true))
        }
        "getWebhookInfo" => ok(webhook_info(&tg.lock())),
        "sendMessage" => send_message(tg, &params),
        "editMessageText" => edit_text(tg, &params),
        "editMessageReplyMarkup" => edit_markup(tg, &params),
        "answerCallbackQuery" => {
            if params["callback_query_id"].as_str().is_none() {
                return bad("query_id is empty");
            }
            tg.lock().answers.push(params);
            ok(json!(true))
        }
        "getMe" => ok(json!({ "id": 1, "is_bot": true, "first_name": "AgentIQ" })),
        _ => error(404, "Not Found", None),
    }
}

fn webhook_info(s: &BotState) -> Value {
    json!({
        "url": s.webhook.as_ref().map(|w| w.url.clone()).unwrap_or_default(),
        "has_custom_certificate": false,
        "pending_update_count": s.updates.len(),
        "last_error_message": s.webhook_last_error,
    })
}

/// Bot API: `secret_token` is 1-256 characters `A-Z a-z 0-9 _ -`.
fn valid_secret(t: &str) -> bool {
    (1..=256).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn set_webhook(tg: &BotSim, params: &Value) -> Response {
    let url = params["url"].as_str().unwrap_or_default().to_string();
    let secret = params["secret_token"].as_str().map(str::to_string);
    if secret.as_deref().is_some_and(|t| !valid_secret(t)) {
        return bad("secret token contains unallowed characters");
    }
    let generation = {
        let mut s = tg.lock();
        s.webhook_generation += 1;
        if params["drop_pending_updates"].as_bool() == Some(true) {
            s.updates.clear();
        }
        if url.is_empty() {
            s.webhook = None;
            return ok(json!(true));
        }
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return bad("bad webhook: An HTTPS URL must be provided for webhook");
        }
        s.webhook = Some(Webhook {
            url,
            secret_token: secret,
        });
        s.webhook_generation
    };
    tokio::spawn(deliver_webhook(tg.clone(), generation));
    ok(json!(true))
}

/// POST pending updates to the webhook, oldest first, until it is replaced or deleted.
async fn deliver_webhook(tg: BotSim, generation: u64) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client");
    loop {
        let news = tg.news.notified();
        let next = {
            let s = tg.lock();
            if s.webhook_generation != generation {
                return;
            }
            s.webhook.clone().zip(s.updates.first().cloned())
        };
        let Some((hook, update)) = next else {
            tokio::select! {
                _ = news => {}
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
            continue;
        };
        let mut req = client.post(&hook.url).json(&update);
        if let Some(t) = &hook.secret_token {
            req = req.header("X-Telegram-Bot-Api-Secret-Token", t);
        }
        let outcome = match req.send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("Wrong response from the webhook: {}", r.status())),
            Err(e) => Err(format!("Connection failed: {e}")),
        };
        let failed = {
            let mut s = tg.lock();
            match outcome {
                Ok(()) => {
                    let id = update["update_id"].as_i64();
                    s.updates.retain(|u| u["update_id"].as_i64() != id);
                    s.webhook_deliveries += 1;
                    false
                }
                Err(e) => {
                    s.webhook_last_error = Some(e);
                    true
                }
            }
        };
        if failed {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
}

async fn get_updates(tg: &BotSim, params: &Value) -> Response {
    let offset = params["offset"].as_i64().unwrap_or(0);
    let timeout = Duration::from_secs(params["timeout"].as_u64().unwrap_or(0).min(MAX_POLL_SECS));
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let news = tg.news.notified();
        {
            let mut s = tg.lock();
            s.updates
                .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
            if !s.updates.is_empty() {
                return ok(Value::Array(s.updates.clone()));
            }
        }
        if tokio::time::timeout_at(deadline, news).await.is_err() {
            return ok(json!([]));
        }
    }
}

/// The text a user sees, or why Telegram refuses the markup.
fn parse_html(html: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut open: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(['<', '&']) {
        out.push_str(&rest[..i]);
        let offset = html.len() - rest.len() + i;
        rest = &rest[i..];
        if rest.starts_with('&') {
            let end = rest.find(';').filter(|&e| e <= 10).ok_or_else(|| {
                format!("can't parse entities: Character '&' is reserved and must be escaped at byte offset {offset}")
            })?;
            let entity = &rest[1..end];
            let ch = match entity {
                "lt" => '<',
                "gt" => '>',
                "amp" => '&',
                "quot" => '"',
                e if e.starts_with('#') => e[1..]
                    .parse::<u32>()
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| {
                        format!("can't parse entities: bad entity at byte offset {offset}")
                    })?,
                _ => {
                    return Err(format!(
                        "can't parse entities: Unsupported entity \"{entity}\" at byte offset {offset}"
                    ));
                }
            };
            out.push(ch);
            rest = &rest[end + 1..];
            continue;
        }
        let end = rest.find('>').ok_or_else(|| {
            format!("can't parse entities: Unclosed start tag at byte offset {offset}")
        })?;
        let tag = &rest[1..end];
        let (closing, body) = match tag.strip_prefix('/') {
            Some(b) => (true, b),
            None => (false, tag),
        };
        let name = body.split_whitespace().next().unwrap_or_default();
        if !HTML_TAGS.contains(&name) {
            return Err(format!(
                "can't parse entities: Unsupported start tag \"{name}\" at byte offset {offset}"
            ));
        }
        if closing {
            if open.pop().as_deref() != Some(name) {
                return Err(format!(
                    "can't parse entities: Unmatched end tag at byte offset {offset}, expected \"</{}>\"",
                    open.last().map(String::as_str).unwrap_or_default()
                ));
            }
        } else {
            open.push(name.to_string());
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    if let Some(t) = open.last() {
        return Err(format!(
            "can't parse entities: Can't find end tag corresponding to start tag \"{t}\""
        ));
    }
    Ok(out)
}

struct Content {
    text: String,
    html: String,
    buttons: Vec<Vec<Value>>,
    force_reply: bool,
}

/// Why Telegram would refuse the call, as its `Bad Request: …` description.
fn content(params: &Value) -> Result<Content, String> {
    let html = params["text"].as_str().unwrap_or_default().to_string();
    let text = match params["parse_mode"].as_str() {
        Some("HTML") => parse_html(&html)?,
        None => html.clone(),
        Some(other) => return Err(format!("unsupported parse_mode {other}")),
    };
    if text.trim().is_empty() {
        return Err("message text is empty".into());
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err("message is too long".into());
    }
    let (buttons, force_reply) = markup(&params["reply_markup"])?;
    Ok(Content {
        text,
        html,
        buttons,
        force_reply,
    })
}

fn markup(m: &Value) -> Result<(Vec<Vec<Value>>, bool), String> {
    // Clients may send the markup as a JSON-serialised string.
    let m = match m {
        Value::String(s) => serde_json::from_str(s)
            .map_err(|_| "can't parse reply keyboard markup JSON object".to_string())?,
        other => other.clone(),
    };
    let force_reply = m["force_reply"].as_bool().unwrap_or(false);
    let Some(rows) = m["inline_keyboard"].as_array() else {
        return Ok((Vec::new(), force_reply));
    };
    let mut out = Vec::new();
    for row in rows {
        let mut buttons = Vec::new();
        for b in row.as_array().into_iter().flatten() {
            if b["text"].as_str().is_none_or(str::is_empty) {
                return Err("inline keyboard button text is empty".into());
            }
            match (b["callback_data"].as_str(), b["url"].as_str()) {
                (Some(d), None) if !d.is_empty() && d.len() <= MAX_CALLBACK_DATA => {}
                (Some(_), None) => return Err("BUTTON_DATA_INVALID".into()),
                (None, Some(u)) if u.starts_with("http://") || u.starts_with("https://") => {}
                (None, Some(_)) => return Err("inline keyboard button URL is invalid".into()),
                _ => return Err("can't parse inline keyboard button".into()),
            }
            buttons.push(b.clone());
        }
        out.push(buttons);
    }
    Ok((out, force_reply))
}

fn send_message(tg: &BotSim, params: &Value) -> Response {
    let Some(chat_id) = params["chat_id"].as_i64() else {
        return bad("chat not found");
    };
    let c = match content(params) {
        Ok(c) => c,
        Err(e) => return bad(&e),
    };
    let reply_to = params["reply_parameters"]["message_id"]
        .as_i64()
        .or(params["reply_to_message_id"].as_i64());
    let mut s = tg.lock();
    let id = s.next_message_id;
    s.next_message_id += 1;
    let m = BotMessage {
        message_id: id,
        chat_id,
        text: c.text,
        html: c.html,
        buttons: c.buttons,
        force_reply: c.force_reply,
        silent: params["disable_notification"].as_bool().unwrap_or(false),
        reply_to_message_id: reply_to,
        edits: 0,
    };
    let out = message_json(&m, chat_id);
    s.messages.push(m);
    ok(out)
}

fn find<'a>(s: &'a mut BotState, params: &Value) -> Option<&'a mut BotMessage> {
    let (chat, id) = (params["chat_id"].as_i64(), params["message_id"].as_i64());
    s.messages
        .iter_mut()
        .find(|m| Some(m.chat_id) == chat && Some(m.message_id) == id)
}

const NOT_MODIFIED: &str = "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message";

fn edit_text(tg: &BotSim, params: &Value) -> Response {
    let c = match content(params) {
        Ok(c) => c,
        Err(e) => return bad(&e),
    };
    let mut s = tg.lock();
    let Some(m) = find(&mut s, params) else {
        return bad("message to edit not found");
    };
    if m.html == c.html && m.buttons == c.buttons {
        return bad(NOT_MODIFIED);
    }
    m.text = c.text;
    m.html = c.html;
    m.buttons = c.buttons;
    m.edits += 1;
    let out = message_json(m, m.chat_id);
    ok(out)
}

fn edit_markup(tg: &BotSim, params: &Value) -> Response {
    let (buttons, _) = match markup(&params["reply_markup"]) {
        Ok(b) => b,
        Err(e) => return bad(&e),
    };
    let mut s = tg.lock();
    let Some(m) = find(&mut s, params) else {
        return bad("message to edit not found");
    };
    if m.buttons == buttons {
        return bad(NOT_MODIFIED);
    }
    m.buttons = buttons;
    m.edits += 1;
    let out = message_json(m, m.chat_id);
    ok(out)
}

fn control_error(msg: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": msg }))).into_response()
}

async fn control_press(State(sim): State<Sim>, Json(req): Json<Press>) -> Response {
    match sim.telegram.press(&req) {
        Ok(v) => Json(v).into_response(),
        Err(e) => control_error(e),
    }
}

async fn control_reply(State(sim): State<Sim>, Json(req): Json<UserReply>) -> Response {
    match sim.telegram.reply(&req) {
        Ok(v) => Json(v).into_response(),
        Err(e) => control_error(e),
    }
}

async fn control_sent(State(sim): State<Sim>) -> Json<Vec<BotMessage>> {
    Json(sim.telegram.sent())
}

async fn control_answers(State(sim): State<Sim>) -> Json<Vec<Value>> {
    Json(sim.telegram.lock().answers.clone())
}

async fn control_updates(State(sim): State<Sim>) -> Json<Vec<Value>> {
    Json(sim.telegram.lock().updates.clone())
}

async fn control_fault(State(sim): State<Sim>, Json(f): Json<TelegramFault>) -> StatusCode {
    sim.telegram.lock().fault = Some(f);
    StatusCode::NO_CONTENT
}

async fn control_clear(State(sim): State<Sim>) -> StatusCode {
    sim.telegram.lock().fault = None;
    StatusCode::NO_CONTENT
}

async fn control_stats(State(sim): State<Sim>) -> Json<Value> {
    let s = sim.telegram.lock();
    Json(json!({ "calls": s.calls, "faulted": s.faulted, "refused": s.refused }))
}

async fn control_block(State(sim): State<Sim>, Json(b): Json<Block>) -> Response {
    let refusal = match b.reason.as_deref().unwrap_or("blocked") {
        "blocked" => (403, "Forbidden: bot was blocked by the user".to_string()),
        "not_found" => (400, "Bad Request: chat not found".to_string()),
        other => {
            return control_error(format!(
                "unknown reason `{other}`; use `blocked` or `not_found`"
            ));
        }
    };
    sim.telegram.lock().refusing.insert(b.user_id, refusal);
    StatusCode::NO_CONTENT.into_response()
}

async fn control_webhook(State(sim): State<Sim>) -> Json<Value> {
    let s = sim.telegram.lock();
    let mut info = webhook_info(&s);
    info["deliveries"] = json!(s.webhook_deliveries);
    info["secret_token"] = json!(s.webhook.as_ref().and_then(|w| w.secret_token.clone()));
    Json(info)
}

#[cfg(test)]
mod tests {
    use super::parse_html;

    #[test]
    fn html_is_parsed_as_telegram_does() {
        assert_eq!(
            parse_html("<b>Ваш</b> &lt;заказ&gt; &amp; всё").unwrap(),
            "Ваш <заказ> & всё"
        );
        assert!(parse_html("a < b").is_err());
        assert!(parse_html("<script>x</script>").is_err());
        assert!(parse_html("<b>x</i>").is_err());
        assert!(parse_html("AT&T").is_err());
    }
}
