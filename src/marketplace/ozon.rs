//! Ozon Seller API chats (`api-seller.ozon.ru`, `Client-Id` + `Api-Key`).
//!
//! Every method is a `POST` with a JSON body. New messages are found chat by
//! chat: `/v3/chat/list` names the chats and each one's `last_message_id`,
//! which we keep as the chat's marker; a chat whose marker moved has its
//! `/v3/chat/history` read forward from the newest message we stored. Most
//! polls list only chats with unread messages (`filter.unread_only`); every
//! [`FULL_SWEEP_EVERY`]th poll lists them all, because a chat someone read in
//! the seller portal (and answered there) is no longer unread.
//!
//! Sends (`/v1/chat/send/message`) return no message id, and the history does
//! not tell an API send from a person in the portal, so every seller message
//! is reported `via_api` and our echo is matched by its text. A chat that was
//! unread and whose newest message is a seller's is marked read
//! (`/v2/chat/read`) up to it: the buyer's messages before it were answered.
//!
//! Types are not what the schema says: ids are uint64 in the schema but JSON
//! strings in every example (and one example id does not fit in a u64),
//! `has_next` arrives as the string `"true"`, and `user.type` comes as
//! `customer`, `Customer` or `Сustomer` with a Cyrillic `С`. So ids are kept as
//! strings, long bare numbers are quoted before parsing, and every scalar field
//! is read leniently.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use super::limits::{Purpose, RequestGate, header_secs};
use super::{
    ChatRef, Connector, Delivery, Discovery, MarketError, SendError, classify_transport_error,
    describe_transport_error, http_client,
};
use crate::domain::{
    Author, ChatUpdate, InboundBatch, InboundMessage, KnownChats, Marketplace, Millis,
    OrderContext, ReplyText, now_ms,
};

pub const PATH_CHAT_LIST: &str = "/v3/chat/list";
pub const PATH_CHAT_HISTORY: &str = "/v3/chat/history";
pub const PATH_SEND_MESSAGE: &str = "/v1/chat/send/message";
pub const PATH_CHAT_READ: &str = "/v2/chat/read";

/// `text` is "plain text from 1 to 1000 characters".
pub const MAX_MESSAGE_CHARS: usize = 1000;
/// The chat type of buyer chats; `Seller_Support` and others are skipped.
pub const CHAT_TYPE_BUYER: &str = "Buyer_Seller";
/// FBO: a reply is accepted within 48 h of the buyer's last message. FBS and
/// rFBS also allow writing up to 72 h after delivery, which the chat API
/// does not let us see, and fall back to the same 48 h rule after that.
pub const REPLY_WINDOW: Duration = Duration::from_secs(48 * 3600);
/// The documented ceiling: 50 requests per second per Client-Id.
pub const DOCUMENTED_RPS: u32 = 50;

/// Chats per `/v3/chat/list` page (the documented maximum).
const LIST_LIMIT: u32 = 1000;
/// Messages per `/v3/chat/history` page (documented default 50, max 1000).
const HISTORY_LIMIT: u32 = 100;
/// Forward pages read from one chat in one poll; the rest waits for the next.
const MAX_HISTORY_PAGES: usize = 20;
/// Changed chats whose history one poll reads; more makes `more = true`.
const MAX_CHAT_READS_PER_POLL: usize = 50;
/// A guard against a chat list that never ends.
const MAX_LIST_PAGES: usize = 500;
/// One poll in this many lists every chat, not only unread ones.
pub const FULL_SWEEP_EVERY: u64 = 4;
/// Backoff after a 429 that carries no `retry-after`.
const DEFAULT_RETRY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct OzonConfig {
    pub base_url: String,
    pub client_id: String,
    pub api_key: SecretString,
    pub timeout: Duration,
    pub rate_limit_requests: u32,
    pub rate_limit_period: Duration,
}

pub struct OzonClient {
    http: reqwest::Client,
    base_url: String,
    client_id: String,
    api_key: SecretString,
    gate: RequestGate,
    /// Polls made, for the full-sweep cadence.
    polls: AtomicU64,
    /// The last poll was a full sweep cut short: the next one continues it.
    continue_full: AtomicBool,
}

impl OzonClient {
    pub fn new(config: OzonConfig) -> Self {
        OzonClient {
            http: http_client(config.timeout),
            base_url: config.base_url.trim_end_matches('/').to_string(),
            client_id: config.client_id.trim().to_string(),
            api_key: config.api_key,
            gate: RequestGate::new(config.rate_limit_requests, config.rate_limit_period, None),
            polls: AtomicU64::new(0),
            continue_full: AtomicBool::new(false),
        }
    }

    fn request(&self, path: &str, body: String) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base_url))
            .header("Client-Id", &self.client_id)
            .header("Api-Key", self.api_key.expose_secret())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
    }

    /// One read-side call: wait for a turn, POST, check the status, parse.
    async fn call<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        body: String,
        op: Op,
    ) -> Result<T, MarketError> {
        let _turn = self.gate.turn(Purpose::Read).await;
        let response = self
            .request(path, body)
            .send()
            .await
            .map_err(|e| MarketError::Unavailable(describe_transport_error(&e)))?;
        let response = self.check_status(response, op).await?;
        let text = response.text().await.map_err(|e| {
            MarketError::Unavailable(format!(
                "ответ Ozon на {path} оборвался: {}",
                describe_transport_error(&e)
            ))
        })?;
        parse_body(&text)
            .map_err(|e| MarketError::Unavailable(format!("непонятный ответ Ozon на {path}: {e}")))
    }

    /// Turn a non-success response into an error, remembering rate limits.
    async fn check_status(&self, response: Response, op: Op) -> Result<Response, MarketError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            let retry_after = retry_after(&response);
            self.gate.block_for(retry_after);
            return Err(MarketError::RateLimited { retry_after });
        }
        let text = response.text().await.unwrap_or_default();
        let error = classify_error(status.as_u16(), &RpcStatus::parse(&text), op);
        if let MarketError::RateLimited { retry_after } = &error {
            self.gate.block_for(*retry_after);
        }
        Err(error)
    }

    /// Every Buyer_Seller chat the list shows, all pages.
    async fn list_chats(&self, unread_only: bool) -> Result<Vec<ListedChat>, MarketError> {
        let mut chats = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_LIST_PAGES {
            let body = list_request(unread_only, cursor.as_deref());
            let page: ChatListResponse = self.call(PATH_CHAT_LIST, body, Op::List).await?;
            chats.extend(page.chats.into_iter().filter_map(ListedChat::from_value));
            match page.cursor {
                Some(next) if page.has_next && cursor.as_deref() != Some(next.as_str()) => {
                    cursor = Some(next)
                }
                _ => break,
            }
        }
        Ok(chats)
    }

    /// Read what a plan asks of one chat's history. `complete` is false when
    /// the forward read stopped before the end.
    async fn read_chat(&self, plan: &ChatPlan) -> Result<(Vec<ChatMessage>, bool), MarketError> {
        let mut messages = Vec::new();
        let mut complete = true;
        if let Some(start) = &plan.forward_from {
            let mut from = start.clone();
            let mut pages = 0;
            loop {
                let body = history_request(&plan.chat_id, Direction::Forward, Some(&from));
                let page: HistoryResponse = self.call(PATH_CHAT_HISTORY, body, Op::History).await?;
                let page_messages = page.messages();
                let newest = page_messages
                    .iter()
                    .map(|m| m.id.clone())
                    .max_by(|a, b| id_order(a, b));
                messages.extend(page_messages);
                pages += 1;
                if !page.has_next {
                    break;
                }
                match newest {
                    Some(next) if id_order(&next, &from).is_gt() && pages < MAX_HISTORY_PAGES => {
                        from = next
                    }
                    _ => {
                        complete = false;
                        break;
                    }
                }
            }
        }
        if plan.newest_page {
            let body = history_request(&plan.chat_id, Direction::Backward, None);
            let page: HistoryResponse = self.call(PATH_CHAT_HISTORY, body, Op::History).await?;
            messages.extend(page.messages());
        }
        messages.sort_by(|a, b| id_order(&a.id, &b.id));
        messages.dedup_by(|a, b| a.id == b.id);
        Ok((messages, complete))
    }

    async fn post_read(&self, chat_id: &str, up_to: Option<&str>) -> Result<(), MarketError> {
        let body = read_request(chat_id, up_to);
        let _: Value = self.call(PATH_CHAT_READ, body, Op::Read).await?;
        Ok(())
    }
}

fn retry_after(response: &Response) -> Duration {
    header_secs(response, "retry-after")
        .map(|s| Duration::from_secs_f64(s.min(3600.0)))
        .unwrap_or(DEFAULT_RETRY)
}

/// Which call an error answered: a refusal means different things for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    List,
    History,
    Send,
    Read,
}

/// Ozon's error body (`rpcStatus`): `{code, message, details}`.
#[derive(Debug, Clone, Default, PartialEq)]
struct RpcStatus {
    code: Option<i64>,
    message: String,
}

impl RpcStatus {
    fn parse(text: &str) -> RpcStatus {
        #[derive(Deserialize)]
        struct Body {
            #[serde(default, deserialize_with = "lenient_i64")]
            code: Option<i64>,
            #[serde(default, deserialize_with = "lenient_text")]
            message: Option<String>,
            #[serde(default, deserialize_with = "lenient_text")]
            error: Option<String>,
        }
        match serde_json::from_str::<Body>(text) {
            Ok(b) => RpcStatus {
                code: b.code,
                message: b.message.or(b.error).unwrap_or_default(),
            },
            Err(_) => RpcStatus {
                code: None,
                message: text.chars().take(200).collect(),
            },
        }
    }
}

const SUBSCRIPTION_HINT: &str = "Ozon открывает чаты с покупателями через API только продавцам с подпиской Premium Plus или Premium Pro; подключите подписку в кабинете продавца Ozon";
const KEY_HINT: &str = "проверьте Client-Id и Api-Key в кабинете продавца Ozon (Настройки → Seller API): ключ мог быть удалён, деактивирован или ограничен по IP";
const WINDOW_HINT: &str = "Ozon принимает ответ в течение 48 часов после последнего сообщения покупателя (для FBS и rFBS — ещё и в течение 72 часов после доставки), это время прошло или чат закрыт";

/// What an error answer means for us. Ozon documents 400, 403, 404, 409 and
/// 500 with `rpcStatus` bodies and gives messages without statuses; a wrong
/// key has been seen answered with 404 `{"code":5,"message":"Invalid Api-Key,
/// please check the key and try again"}`, so the message decides first.
fn classify_error(status: u16, rpc: &RpcStatus, op: Op) -> MarketError {
    let message = rpc.message.trim();
    let lower = message.to_lowercase();
    let shown = if message.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {message}")
    };
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if status == 429 || rpc.code == Some(8) || has(&["rate limit"]) {
        return MarketError::RateLimited {
            retry_after: DEFAULT_RETRY,
        };
    }
    if has(&["premium", "subscription", "подписк"]) {
        return MarketError::SubscriptionMissing(format!("{SUBSCRIPTION_HINT} (ответ Ozon: {shown})"));
    }
    if has(&["api-key", "api key", "apikey", "client-id", "client id"]) || status == 401 {
        return MarketError::Auth(format!("Ozon отклонил ключ ({shown}); {KEY_HINT}"));
    }
    if has(&["offer not signed", "оферт"]) {
        return MarketError::Auth(format!(
            "Ozon не пускает в API, пока не подписана оферта ({shown}); подпишите её в кабинете продавца"
        ));
    }
    if has(&["circle is open"]) {
        return MarketError::Unavailable(format!(
            "Ozon временно закрыл метод из-за нагрузки ({shown}); он заработает через несколько минут"
        ));
    }
    if status >= 500 {
        return MarketError::Unavailable(format!("Ozon ответил {shown}"));
    }
    if op == Op::Send
        && (status == 409
            || rpc.code == Some(9)
            || has(&[
                "closed",
                "expired",
                "48 hours",
                "72 hours",
                "time window",
                "time limit",
                "закрыт",
                "истек",
                "истёк",
            ]))
    {
        return MarketError::ChatClosed(format!("{WINDOW_HINT} (ответ Ozon: {shown})"));
    }
    if status == 403 {
        // Chats need the subscription; a 403 on them without a clearer
        // message is most likely that.
        return if op == Op::List {
            MarketError::Auth(format!("Ozon ответил {shown}; {KEY_HINT}"))
        } else {
            MarketError::SubscriptionMissing(format!(
                "{SUBSCRIPTION_HINT} (ответ Ozon: {shown})"
            ))
        };
    }
    MarketError::Invalid(format!("Ozon ответил {shown}"))
}

#[async_trait]
impl Connector for OzonClient {
    fn marketplace(&self) -> Marketplace {
        Marketplace::Ozon
    }

    fn discovery(&self) -> Discovery {
        Discovery::PerChat
    }

    async fn poll(
        &self,
        _cursor: Option<&str>,
        known: &KnownChats,
    ) -> Result<InboundBatch, MarketError> {
        let full = self.continue_full.swap(false, Ordering::SeqCst)
            || self.polls.fetch_add(1, Ordering::SeqCst) % FULL_SWEEP_EVERY == 0;
        let listed = self.list_chats(!full).await?;
        let (plans, more) = plan_reads(&listed, known);
        if more && full {
            self.continue_full.store(true, Ordering::SeqCst);
        }
        let mut batch = InboundBatch {
            more,
            ..InboundBatch::default()
        };
        let observed = now_ms();
        for plan in &plans {
            let (messages, complete) = match self.read_chat(plan).await {
                Ok(r) => r,
                Err(MarketError::Invalid(why)) => {
                    tracing::warn!(chat = %plan.chat_id, %why, "skipping an Ozon chat whose history was refused");
                    continue;
                }
                Err(e) => return Err(e),
            };
            let listed = plan.listed.as_ref();
            batch.chats.push(ChatUpdate {
                chat_id: plan.chat_id.clone(),
                reply_handle: Some(plan.chat_id.clone()),
                buyer_name: None,
                order: order_context(&messages),
                marker: listed
                    .filter(|_| complete)
                    .and_then(|l| l.last_message_id.clone()),
            });
            let answered_up_to = listed
                .filter(|l| l.unread_count > 0)
                .and_then(|_| answered_up_to(&messages));
            batch.messages.extend(
                messages
                    .into_iter()
                    .map(|m| m.into_inbound(&plan.chat_id, observed)),
            );
            if let Some(up_to) = answered_up_to {
                match self.post_read(&plan.chat_id, Some(&up_to)).await {
                    Ok(()) => {}
                    Err(e @ (MarketError::Auth(_) | MarketError::SubscriptionMissing(_))) => {
                        return Err(e);
                    }
                    Err(e) => {
                        tracing::warn!(chat = %plan.chat_id, error = %e, "could not mark an answered Ozon chat read")
                    }
                }
            }
        }
        Ok(batch)
    }

    async fn refresh_chats(&self) -> Result<Vec<ChatUpdate>, MarketError> {
        Ok(self
            .list_chats(false)
            .await?
            .into_iter()
            .map(|c| ChatUpdate {
                reply_handle: Some(c.chat_id.clone()),
                chat_id: c.chat_id,
                ..ChatUpdate::default()
            })
            .collect())
    }

    async fn send(&self, chat: ChatRef<'_>, text: &ReplyText) -> Result<Delivery, SendError> {
        let chat_id = chat.reply_handle.unwrap_or(chat.external_id);
        let body = send_request(chat_id, text.as_str());
        let _turn = self.gate.turn(Purpose::Send).await;
        let response = self
            .request(PATH_SEND_MESSAGE, body)
            .send()
            .await
            .map_err(|e| classify_transport_error(&e))?;
        let status = response.status();
        if status.is_server_error() {
            // A write that failed on the server side may still have been applied.
            let detail = RpcStatus::parse(&response.text().await.unwrap_or_default()).message;
            return Err(SendError::Unknown(format!("Ozon ответил {status}: {detail}")));
        }
        let response = self
            .check_status(response, Op::Send)
            .await
            .map_err(SendError::NotDelivered)?;
        let body = response.text().await.map_err(|e| {
            SendError::Unknown(format!(
                "ответ на отправку оборвался: {}",
                describe_transport_error(&e)
            ))
        })?;
        match parse_body::<SendResponse>(&body) {
            Ok(SendResponse {
                result: Some(result),
            }) if result.trim().eq_ignore_ascii_case("success") => Ok(Delivery {
                message_id: None,
                sent_at: None,
            }),
            _ => Err(SendError::Unknown(format!(
                "непонятный ответ Ozon на отправку: {}",
                body.chars().take(200).collect::<String>()
            ))),
        }
    }

    async fn mark_read(
        &self,
        chat: ChatRef<'_>,
        up_to_message: Option<&str>,
    ) -> Result<(), MarketError> {
        self.post_read(chat.reply_handle.unwrap_or(chat.external_id), up_to_message)
            .await
    }
}

/// What to read from one chat's history in this poll.
#[derive(Debug, Clone, PartialEq)]
struct ChatPlan {
    chat_id: String,
    /// The chat as the list showed it this poll.
    listed: Option<ListedChat>,
    /// Read forward from this message id (inclusive) to the end.
    forward_from: Option<String>,
    /// Read the newest page, newest first.
    newest_page: bool,
}

/// Which chats to read: unsettled sends first (their reconciliation cannot
/// wait), then chats whose marker moved (at most [`MAX_CHAT_READS_PER_POLL`];
/// `true` when more are left), then chats waiting for read receipts.
fn plan_reads(listed: &[ListedChat], known: &KnownChats) -> (Vec<ChatPlan>, bool) {
    let mut plans: Vec<ChatPlan> = Vec::new();
    let mut seen = HashSet::new();
    let listing = |id: &str| listed.iter().find(|c| c.chat_id == id).cloned();
    let from_stored = |id: &str| known.get(id).and_then(|k| k.last_message_id.clone());

    let mut unsettled: Vec<&String> = known
        .iter()
        .filter(|(_, k)| k.unsettled_send)
        .map(|(id, _)| id)
        .collect();
    unsettled.sort();
    for id in unsettled {
        let forward_from = from_stored(id);
        plans.push(ChatPlan {
            chat_id: id.clone(),
            listed: listing(id),
            newest_page: forward_from.is_none(),
            forward_from,
        });
        seen.insert(id.clone());
    }

    let mut more = false;
    let mut changed = 0;
    for chat in listed {
        let Some(last) = &chat.last_message_id else {
            continue;
        };
        let mark = known.get(&chat.chat_id);
        if mark.and_then(|k| k.marker.as_ref()) == Some(last) || seen.contains(&chat.chat_id) {
            continue;
        }
        if changed == MAX_CHAT_READS_PER_POLL {
            more = true;
            break;
        }
        changed += 1;
        let forward_from = from_stored(&chat.chat_id);
        plans.push(ChatPlan {
            chat_id: chat.chat_id.clone(),
            listed: Some(chat.clone()),
            newest_page: forward_from.is_none(),
            forward_from,
        });
        seen.insert(chat.chat_id.clone());
    }

    let mut awaiting: Vec<&String> = known
        .iter()
        .filter(|(_, k)| k.awaiting_read)
        .map(|(id, _)| id)
        .collect();
    awaiting.sort();
    for id in awaiting {
        if let Some(plan) = plans.iter_mut().find(|p| &p.chat_id == id) {
            plan.newest_page = true;
            continue;
        }
        plans.push(ChatPlan {
            chat_id: id.clone(),
            listed: listing(id),
            forward_from: None,
            newest_page: true,
        });
    }
    (plans, more)
}

/// When the newest messages read end with the seller's (and no buyer wrote
/// after it), the chat was answered: everything up to the newest is read.
fn answered_up_to(messages: &[ChatMessage]) -> Option<String> {
    let last_person = messages
        .iter()
        .rev()
        .find(|m| m.author() != Author::System)?;
    (last_person.author() == Author::Seller)
        .then(|| messages.last().map(|m| m.id.clone()))
        .flatten()
}

/// The order the newest message with a context is about.
fn order_context(messages: &[ChatMessage]) -> Option<OrderContext> {
    messages.iter().rev().find_map(|m| m.context.as_ref()?.to_order())
}

fn list_request(unread_only: bool, cursor: Option<&str>) -> String {
    let mut body = json!({
        "filter": { "chat_status": "All", "unread_only": unread_only },
        "limit": LIST_LIMIT,
    });
    if let Some(c) = cursor {
        body["cursor"] = json!(c);
    }
    body.to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Forward,
    Backward,
}

/// The history request. `from_message_id` is a uint64 and is written as the
/// exact digits we were given, even past what a u64 or an f64 holds.
fn history_request(chat_id: &str, direction: Direction, from: Option<&str>) -> String {
    let mut body = format!(
        "{{\"chat_id\":{},\"direction\":\"{}\",\"limit\":{HISTORY_LIMIT}",
        json!(chat_id),
        match direction {
            Direction::Forward => "Forward",
            Direction::Backward => "Backward",
        }
    );
    if let Some(from) = from {
        body.push_str(&format!(",\"from_message_id\":{}", id_literal(from)));
    }
    body.push('}');
    body
}

fn send_request(chat_id: &str, text: &str) -> String {
    json!({ "chat_id": chat_id, "text": text }).to_string()
}

fn read_request(chat_id: &str, up_to: Option<&str>) -> String {
    match up_to {
        Some(id) => format!(
            "{{\"chat_id\":{},\"from_message_id\":{}}}",
            json!(chat_id),
            id_literal(id)
        ),
        None => json!({ "chat_id": chat_id }).to_string(),
    }
}

/// A message id as a JSON number when it is one, else as a string.
fn id_literal(id: &str) -> String {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
        match id.trim_start_matches('0') {
            "" => "0".to_string(),
            digits => digits.to_string(),
        }
    } else {
        json!(id).to_string()
    }
}

/// Numeric ids compare as numbers (any length), others as text.
fn id_order(a: &str, b: &str) -> std::cmp::Ordering {
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if numeric(a) && numeric(b) {
        let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
        a.len().cmp(&b.len()).then_with(|| a.cmp(b))
    } else {
        a.cmp(b)
    }
}

/// Parse a body after quoting integers too long for an exact u64 or f64.
fn parse_body<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, serde_json::Error> {
    serde_json::from_str(&quote_long_integers(text))
}

/// Wrap bare JSON integers of 16 or more digits in quotes, so an id such as
/// the spec's `30000000001280042740` (larger than u64::MAX) survives parsing.
fn quote_long_integers(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut in_string = false;
    let mut escaped = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        if b == b'-' || b.is_ascii_digit() {
            let start = i;
            let mut end = i + 1;
            while end < bytes.len()
                && (bytes[end].is_ascii_digit() || matches!(bytes[end], b'.' | b'e' | b'E' | b'+' | b'-'))
            {
                end += 1;
            }
            let token = &text[start..end];
            let digits = token.trim_start_matches('-');
            if digits.len() >= 16 && digits.bytes().all(|c| c.is_ascii_digit()) {
                let o = out.get_or_insert_with(|| String::with_capacity(text.len() + 16));
                o.push_str(&text[copied..start]);
                o.push('"');
                o.push_str(token);
                o.push('"');
                copied = end;
            }
            i = end;
            continue;
        }
        i += 1;
    }
    match out {
        Some(mut o) => {
            o.push_str(&text[copied..]);
            Cow::Owned(o)
        }
        None => Cow::Borrowed(text),
    }
}

/// A string from any scalar: `"x"`, `12`, `true`; absent, null and objects are `None`.
fn lenient_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    })
}

/// An id from a string or a number; empty and `0` (proto's "unset") are `None`.
fn lenient_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(lenient_text(d)?
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s.trim_start_matches('0') != ""))
}

/// A boolean from `true`, `"true"`, `1` or `"1"`; anything else is false.
fn lenient_flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Bool(b)) => b,
        Some(Value::String(s)) => matches!(s.trim().to_lowercase().as_str(), "true" | "1"),
        Some(Value::Number(n)) => n.as_f64().is_some_and(|n| n != 0.0),
        _ => false,
    })
}

fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

#[derive(Debug, Default, Deserialize)]
struct ChatListResponse {
    #[serde(default, deserialize_with = "lenient_list")]
    chats: Vec<Value>,
    #[serde(default, deserialize_with = "lenient_text")]
    cursor: Option<String>,
    #[serde(default, deserialize_with = "lenient_flag")]
    has_next: bool,
}

/// An array, or nothing when it is null or not an array.
fn lenient_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Value>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    })
}

/// A chat as `/v3/chat/list` shows it.
#[derive(Debug, Clone, PartialEq)]
struct ListedChat {
    chat_id: String,
    last_message_id: Option<String>,
    unread_count: i64,
}

impl ListedChat {
    /// A Buyer_Seller chat from one `chats[]` item; `None` for other chat
    /// types and for items without a chat id.
    fn from_value(item: Value) -> Option<ListedChat> {
        #[derive(Deserialize)]
        struct Item {
            #[serde(default)]
            chat: Option<Details>,
            #[serde(default, deserialize_with = "lenient_id")]
            last_message_id: Option<String>,
            #[serde(default, deserialize_with = "lenient_i64")]
            unread_count: Option<i64>,
            // The deprecated v2 list had these at the top level.
            #[serde(default, deserialize_with = "lenient_id")]
            chat_id: Option<String>,
            #[serde(default, deserialize_with = "lenient_text")]
            chat_type: Option<String>,
        }
        #[derive(Deserialize)]
        struct Details {
            #[serde(default, deserialize_with = "lenient_id")]
            chat_id: Option<String>,
            #[serde(default, deserialize_with = "lenient_text")]
            chat_type: Option<String>,
        }
        let item: Item = serde_json::from_value(item).ok()?;
        let (chat_id, chat_type) = match item.chat {
            Some(d) => (d.chat_id.or(item.chat_id), d.chat_type.or(item.chat_type)),
            None => (item.chat_id, item.chat_type),
        };
        if !is_buyer_chat(chat_type.as_deref()?) {
            return None;
        }
        Some(ListedChat {
            chat_id: chat_id?,
            last_message_id: item.last_message_id,
            unread_count: item.unread_count.unwrap_or(0),
        })
    }
}

fn is_buyer_chat(chat_type: &str) -> bool {
    fold(chat_type) == fold(CHAT_TYPE_BUYER)
}

/// Lower case, Latin letters for their Cyrillic look-alikes, no separators:
/// `Сustomer` (Cyrillic С), `Customer` and `customer` all become `customer`.
fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| match c {
            'а' => Some('a'),
            'в' => Some('b'),
            'е' | 'ё' => Some('e'),
            'к' => Some('k'),
            'м' => Some('m'),
            'н' => Some('h'),
            'о' => Some('o'),
            'р' => Some('p'),
            'с' => Some('c'),
            'т' => Some('t'),
            'у' => Some('y'),
            'х' => Some('x'),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// Who wrote, from `user.type`: `customer` is the buyer, `seller` the seller
/// (our API sends and people in the portal alike); `crm` (system notices),
/// `courier`, `support`, `NotificationUser` and anything unknown are System.
fn author_of(user_type: &str) -> Author {
    match fold(user_type).as_str() {
        "customer" | "buyer" | "client" => Author::Buyer,
        "seller" => Author::Seller,
        _ => Author::System,
    }
}

#[derive(Debug, Default, Deserialize)]
struct HistoryResponse {
    #[serde(default, deserialize_with = "lenient_flag")]
    has_next: bool,
    #[serde(default, deserialize_with = "lenient_list")]
    messages: Vec<Value>,
}

impl HistoryResponse {
    fn messages(&self) -> Vec<ChatMessage> {
        self.messages
            .iter()
            .filter_map(|m| {
                let parsed = serde_json::from_value::<ChatMessage>(m.clone());
                if let Err(e) = &parsed {
                    tracing::warn!(error = %e, "skipping an Ozon message that does not parse");
                }
                parsed.ok().filter(|m| !m.id.is_empty())
            })
            .collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
struct ChatMessage {
    #[serde(
        rename = "message_id",
        alias = "messageId",
        deserialize_with = "required_id"
    )]
    id: String,
    #[serde(default, deserialize_with = "lenient_text")]
    created_at: Option<String>,
    #[serde(default)]
    user: Option<User>,
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    context: Option<MessageContext>,
    #[serde(default, deserialize_with = "lenient_flag")]
    is_read: bool,
    #[serde(default, deserialize_with = "lenient_flag")]
    is_image: bool,
    #[serde(default, deserialize_with = "lenient_text")]
    moderate_image_status: Option<String>,
}

fn required_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(lenient_id(d)?.unwrap_or_default())
}

#[derive(Debug, Clone, Default, Deserialize)]
struct User {
    #[serde(default, rename = "type", deserialize_with = "lenient_text")]
    kind: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct MessageContext {
    #[serde(default, deserialize_with = "lenient_text")]
    order_number: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    sku: Option<String>,
}

impl MessageContext {
    fn to_order(&self) -> Option<OrderContext> {
        let clean = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty() && *s != "0")
                .map(str::to_string)
        };
        let (order_id, sku) = (clean(&self.order_number), clean(&self.sku));
        if order_id.is_none() && sku.is_none() {
            return None;
        }
        Some(OrderContext {
            chat_kind: Some(if order_id.is_some() { "order" } else { "direct" }.into()),
            url: sku
                .as_ref()
                .map(|s| format!("https://www.ozon.ru/product/{s}/")),
            order_id,
            product_id: sku,
            ..OrderContext::default()
        })
    }
}

#[derive(Debug, Deserialize)]
struct SendResponse {
    #[serde(default, deserialize_with = "lenient_text")]
    result: Option<String>,
}

impl ChatMessage {
    fn author(&self) -> Author {
        author_of(
            self.user
                .as_ref()
                .and_then(|u| u.kind.as_deref())
                .unwrap_or_default(),
        )
    }

    fn text(&self) -> String {
        match &self.data {
            Some(Value::Array(parts)) => parts
                .iter()
                .filter_map(|p| match p {
                    Value::String(s) => Some(s.as_str()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        }
    }

    fn into_inbound(self, chat_id: &str, observed: Millis) -> InboundMessage {
        let author = self.author();
        let text = self.text();
        let created_at = self
            .created_at
            .as_deref()
            .and_then(|t| t.trim().parse::<jiff::Timestamp>().ok())
            .map(|t| t.as_millisecond())
            .unwrap_or(observed);
        let attachments = if self.is_image {
            json!({
                "image": true,
                "moderate_image_status": self.moderate_image_status,
            })
        } else {
            Value::Null
        };
        let channel = match author {
            // Whose notice it is (crm, courier, support), for people.
            Author::System => self
                .user
                .as_ref()
                .and_then(|u| u.kind.clone())
                .filter(|k| !k.trim().is_empty()),
            _ => None,
        };
        InboundMessage {
            chat_id: chat_id.to_string(),
            id: self.id,
            author,
            // The history shows API sends and portal replies alike.
            via_api: author == Author::Seller,
            channel,
            text,
            attachments,
            created_at,
            // Ozon says that the buyer read it, not when: we say when we saw it.
            read_at: (author == Author::Seller && self.is_read).then_some(observed),
        }
    }
}

