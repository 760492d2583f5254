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
//! One poll makes at most [`MAX_REQUESTS_PER_POLL`] requests, and starts no
//! chat read after [`READ_TIME`] once one is read. A chat the budget or the
//! time left unread, or read only in part, keeps its old marker and the next
//! poll lists the same pages again; a list longer than one poll reads goes
//! on from its cursor. Chats read only for read receipts take turns.
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
//!
//! Where the spec (2025-09 OpenAPI) and the team's notes disagree, the spec
//! wins and both shapes are accepted: the notes show integer ids and a boolean
//! `has_next` where the spec's examples have strings; the notes (after a 2026
//! doc export) say `from_message_id` is required with `direction: Forward`,
//! the spec does not (we always send it with Forward, which satisfies both).
//! The spec documents no 429; the notes' third-party `429 {"code": 8, ...}`
//! is honoured, with `retry-after` when present and one second otherwise.

use std::borrow::Cow;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use super::limits::{Budget, Purpose, READ_TIME, ReadDeadline, RequestGate, header_secs};
use super::reads::{self, Listed, Rules, Why};
use super::{
    ChatRef, Connector, Delivery, Discovery, MarketError, SendError, classify_transport_error,
    describe_transport_error, http_client, status_and_detail,
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

/// Chats per `/v3/chat/list` page (the documented maximum).
const LIST_LIMIT: u32 = 1000;
/// Messages per `/v3/chat/history` page (documented default 50, max 1000).
const HISTORY_LIMIT: u32 = 100;
/// Forward pages read from one chat in one poll; the rest waits for the next.
const MAX_HISTORY_PAGES: usize = 20;
/// Changed chats whose history one poll reads; more makes `more = true`.
const MAX_CHAT_READS_PER_POLL: usize = 50;
/// Most requests one `poll` makes: list pages, history pages and read marks
/// together. Ozon publishes no limit for the chat methods, only 50 requests
/// a second per Client-Id (notes §2.4); our default pace is the 5 a second a
/// third-party client uses for list and history, and 75 requests are 15 s of
/// it, one default poll interval. What the budget cuts short is read on the
/// next poll, which follows at once (`more`).
pub const MAX_REQUESTS_PER_POLL: usize = 75;
/// Most list pages one `poll` reads (10 000 chats), so histories always get
/// the rest of the budget; a longer list goes on from its cursor next poll.
const MAX_LIST_PAGES_PER_POLL: usize = 10;
/// A guard against a chat list that never ends, for `refresh_chats`.
const MAX_LIST_PAGES: usize = 500;
// After the list, one chat's whole forward read, its newest page and its read
// mark always fit: every poll moves at least one chat on.
const _: () = assert!(MAX_LIST_PAGES_PER_POLL + MAX_HISTORY_PAGES + 2 <= MAX_REQUESTS_PER_POLL);
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
    /// Where the next poll's listing starts when the last one was cut short.
    resume: Mutex<Option<Resume>>,
    /// The chat whose read receipts a poll checked last; the next goes on after it.
    receipts_checked: Mutex<Option<String>>,
    /// See [`READ_TIME`].
    read_time: Duration,
}

/// A listing to go on with: the same filter, from the page at `cursor`
/// (`None`: the first page again, because chats on it are still to be read).
#[derive(Debug, Clone, PartialEq)]
struct Resume {
    full: bool,
    cursor: Option<String>,
}

/// What one poll read of a chat's history.
struct ChatRead {
    /// Oldest first, each once.
    messages: Vec<ChatMessage>,
    /// All the plan asked for: false when the forward read stopped before
    /// the end (page cap, an id that did not move, the budget) or the
    /// newest page was not read.
    complete: bool,
    /// The budget stopped it: the next poll, at once, goes on.
    out_of_budget: bool,
    /// The page cap stopped a forward read that was still moving: the next
    /// read goes on from the newest message stored.
    capped: bool,
    /// Ozon said there was more, but the ids stopped moving: no later read
    /// gets further, so what is not here cannot be proven absent.
    stuck: bool,
}

/// Where a listing stopped.
#[derive(Debug, Clone, PartialEq)]
enum ListEnd {
    /// At the end of the list.
    Done,
    /// Before the page at this cursor, when the page cap or the budget ran out.
    Before(Option<String>),
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
            resume: Mutex::new(None),
            receipts_checked: Mutex::new(None),
            read_time: READ_TIME,
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
            self.gate.note_throttled();
            self.gate.block_for(retry_after);
            return Err(MarketError::RateLimited { retry_after });
        }
        let text = response.text().await.unwrap_or_default();
        let error = classify_error(status.as_u16(), &RpcStatus::parse(&text), op);
        if let MarketError::RateLimited { retry_after } = &error {
            self.gate.note_throttled();
            self.gate.block_for(*retry_after);
        }
        Err(error)
    }

    /// The Buyer_Seller chats the list shows from the page at `cursor` on,
    /// at most `max_pages` pages and as far as `budget` goes.
    async fn list_chats(
        &self,
        unread_only: bool,
        mut cursor: Option<String>,
        max_pages: usize,
        budget: &Budget,
    ) -> Result<(Vec<ListedChat>, ListEnd), MarketError> {
        let mut chats = Vec::new();
        for _ in 0..max_pages {
            if !budget.take() {
                break;
            }
            let body = list_request(unread_only, cursor.as_deref());
            let page: ChatListResponse = self.call(PATH_CHAT_LIST, body, Op::List).await?;
            chats.extend(page.chats.into_iter().filter_map(ListedChat::from_value));
            match page.cursor {
                Some(next) if page.has_next && cursor.as_deref() != Some(next.as_str()) => {
                    cursor = Some(next)
                }
                _ => return Ok((chats, ListEnd::Done)),
            }
        }
        Ok((chats, ListEnd::Before(cursor)))
    }

    /// Read what a plan asks of one chat's history, as far as `budget` goes:
    /// `None` when it allowed no request at all.
    async fn read_chat(
        &self,
        plan: &ChatPlan,
        budget: &Budget,
    ) -> Result<Option<ChatRead>, MarketError> {
        let mut messages = Vec::new();
        let mut complete = true;
        let mut out_of_budget = false;
        let mut capped = false;
        let mut stuck = false;
        let mut requested = false;
        if let Some(start) = &plan.forward_from {
            let mut from = start.clone();
            let mut pages = 0;
            loop {
                if !budget.take() {
                    complete = false;
                    out_of_budget = true;
                    break;
                }
                requested = true;
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
                    Some(next) if id_order(&next, &from).is_gt() => {
                        complete = false;
                        capped = true;
                        break;
                    }
                    _ => {
                        complete = false;
                        stuck = true;
                        break;
                    }
                }
            }
        }
        if plan.newest_page {
            if budget.take() {
                requested = true;
                let body = history_request(&plan.chat_id, Direction::Backward, None);
                let page: HistoryResponse = self.call(PATH_CHAT_HISTORY, body, Op::History).await?;
                messages.extend(page.messages());
            } else {
                complete = false;
                out_of_budget = true;
            }
        }
        if !requested {
            return Ok(None);
        }
        messages.sort_by(|a, b| id_order(&a.id, &b.id));
        messages.dedup_by(|a, b| a.id == b.id);
        Ok(Some(ChatRead {
            messages,
            complete,
            out_of_budget,
            capped,
            stuck,
        }))
    }

    async fn post_read(&self, chat_id: &str, up_to: Option<&str>) -> Result<(), MarketError> {
        let body = read_request(chat_id, up_to);
        let _: Value = self.call(PATH_CHAT_READ, body, Op::Read).await?;
        Ok(())
    }
}

/// A lock that a panic elsewhere does not poison: what it guards is a hint.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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
        return MarketError::SubscriptionMissing(format!(
            "{SUBSCRIPTION_HINT} (ответ Ozon: {shown})"
        ));
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
            MarketError::SubscriptionMissing(format!("{SUBSCRIPTION_HINT} (ответ Ozon: {shown})"))
        };
    }
    MarketError::Invalid(format!("Ozon ответил {shown}"))
}

#[async_trait]
impl Connector for OzonClient {
    fn marketplace(&self) -> Marketplace {
        Marketplace::Ozon
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
        let budget = Budget::new(MAX_REQUESTS_PER_POLL);
        // Taken, not looked at: a poll that fails starts the list over.
        let resume = lock(&self.resume).take();
        let (full, start) = match resume {
            Some(r) => (r.full, r.cursor),
            None => (
                self.polls
                    .fetch_add(1, Ordering::SeqCst)
                    .is_multiple_of(FULL_SWEEP_EVERY),
                None,
            ),
        };
        let (listed, list_end) = self
            .list_chats(!full, start.clone(), MAX_LIST_PAGES_PER_POLL, &budget)
            .await?;
        let receipts_after = lock(&self.receipts_checked).clone();
        let (plans, mut cut) = plan_reads(&listed, known, receipts_after.as_deref());
        let mut batch = InboundBatch::default();
        let observed = now_ms();
        let mut refused = None;
        let mut last_receipt = None;
        let deadline = ReadDeadline::after(self.read_time);
        for plan in &plans {
            if !deadline.may_start(!batch.chats.is_empty()) {
                cut = true;
                break;
            }
            let read = match self.read_chat(plan, &budget).await {
                Ok(r) => r,
                // One chat Ozon will not show (gone, or a request it dislikes)
                // must not stop the shop's other chats. Its marker stays, so
                // it is tried again next poll. An unknown send in it may then
                // be sent again, into a chat Ozon no longer shows: that send
                // is refused cleanly rather than duplicated.
                Err(e @ MarketError::Invalid(_)) => {
                    tracing::warn!(chat = %plan.chat_id, error = %e, "skipping an Ozon chat whose history was refused");
                    refused = Some(e);
                    continue;
                }
                // Keep what was read: the gate holds the next request back
                // as long as Ozon asked, and the next call goes on from here.
                // Dropping the batch could make no progress at all when a
                // poll needs more requests than the limit lets through.
                Err(MarketError::RateLimited { .. }) if !batch.chats.is_empty() => {
                    cut = true;
                    break;
                }
                Err(e) => return Err(e),
            };
            // The budget is spent. Chats read only for receipts wait their
            // turn; any other goes first on the next poll, which follows at once.
            let Some(ChatRead {
                messages,
                complete,
                out_of_budget,
                capped,
                stuck,
            }) = read
            else {
                cut |= !plan.receipts_only;
                break;
            };
            cut |= out_of_budget;
            // Our reply to a chat with an unknown send may be on a page not
            // read yet. A poll that called itself complete would prove the
            // reply absent and have it sent again, so the poll stays open
            // and the next read goes on from the newest message stored. (A
            // history whose ids stop moving is not read again at once: that
            // would repeat the same pages every poll.)
            cut |= capped && known.get(&plan.chat_id).is_some_and(|k| k.unsettled_send);
            if stuck {
                batch.unverified.push(plan.chat_id.clone());
            }
            if plan.receipts_only {
                last_receipt = Some(plan.chat_id.clone());
            }
            let listed = plan.listed.as_ref();
            let mut marker = listed
                .filter(|_| complete)
                .and_then(|l| l.last_message_id.clone());
            let answered_up_to = listed
                .filter(|l| l.unread_count > 0)
                .and_then(|_| answered_up_to(&messages));
            if let Some(up_to) = answered_up_to {
                if !budget.take() {
                    // Without its marker the chat is read (and marked) again next poll.
                    marker = None;
                    cut = true;
                } else {
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
            batch.chats.push(ChatUpdate {
                chat_id: plan.chat_id.clone(),
                reply_handle: Some(plan.chat_id.clone()),
                buyer_name: None,
                order: order_context(&messages),
                marker,
            });
            batch.messages.extend(
                messages
                    .into_iter()
                    .map(|m| m.into_inbound(&plan.chat_id, observed)),
            );
        }
        // Every read refused is no single odd chat but our requests failing.
        if let Some(e) = refused.filter(|_| batch.chats.is_empty()) {
            return Err(e);
        }
        // Chats listed but not read are listed again; a list cut short with
        // all its chats read goes on where it stopped.
        let resume = match list_end {
            _ if cut => Some(Resume {
                full,
                cursor: start,
            }),
            ListEnd::Before(cursor) => Some(Resume { full, cursor }),
            ListEnd::Done => None,
        };
        batch.more = resume.is_some();
        *lock(&self.resume) = resume;
        if last_receipt.is_some() {
            *lock(&self.receipts_checked) = last_receipt;
        }
        Ok(batch)
    }

    async fn refresh_chats(&self) -> Result<Vec<ChatUpdate>, MarketError> {
        let budget = Budget::new(MAX_LIST_PAGES);
        Ok(self
            .list_chats(false, None, MAX_LIST_PAGES, &budget)
            .await?
            .0
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
            return Err(SendError::Unknown(format!(
                "Ozon ответил {}",
                status_and_detail(status, &detail)
            )));
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
    /// Read only for the buyer's read receipts: it may wait for a later poll.
    receipts_only: bool,
}

/// Which chats to read, by the shared planner: unsettled sends first (their
/// reconciliation cannot wait), then chats whose last message moved (at most
/// [`MAX_CHAT_READS_PER_POLL`] in all; `true` when more are left), then chats
/// waiting for read receipts, in turn after `receipts_after`, as far as the
/// budget goes. A listed chat with no message yet has nothing to read.
fn plan_reads(
    listed: &[ListedChat],
    known: &KnownChats,
    receipts_after: Option<&str>,
) -> (Vec<ChatPlan>, bool) {
    let entries: Vec<Listed> = listed
        .iter()
        .filter_map(|c| {
            Some(Listed {
                chat_id: &c.chat_id,
                marker: Some(c.last_message_id.as_deref()?),
            })
        })
        .collect();
    let rules = Rules {
        max_reads: Some(MAX_CHAT_READS_PER_POLL),
        receipts: Some(receipts_after),
        ..Rules::default()
    };
    let plan = reads::plan(&entries, known, rules);
    let plans = plan
        .reads
        .into_iter()
        .map(|read| ChatPlan {
            listed: listed.iter().find(|c| c.chat_id == read.chat_id).cloned(),
            newest_page: read.from.is_none() || read.receipts,
            // Receipts are on the newest page; nothing before it is needed.
            forward_from: read.from.filter(|_| read.why != Why::Receipts),
            receipts_only: read.why == Why::Receipts,
            chat_id: read.chat_id,
        })
        .collect();
    (plans, plan.more)
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
    messages
        .iter()
        .rev()
        .find_map(|m| m.context.as_ref()?.to_order())
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
                && (bytes[end].is_ascii_digit()
                    || matches!(bytes[end], b'.' | b'e' | b'E' | b'+' | b'-'))
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
        .filter(|s| !s.is_empty() && !s.trim_start_matches('0').is_empty()))
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
            chat_kind: Some(
                if order_id.is_some() {
                    "order"
                } else {
                    "direct"
                }
                .into(),
            ),
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

/// Ozon's review and question methods share the 50 requests a second per
/// Client-Id with its chat methods; this leaves the chats most of it.
const FEEDBACK_REQUESTS_PER_SECOND: u32 = 10;

/// Built from `[shops.<id>.ozon]`, reviews and questions from its
/// `feedback` subsection with the same credentials.
impl super::Connect for crate::config::OzonSettings {
    fn connector(
        &self,
        what: &str,
        base_dir: &std::path::Path,
    ) -> Result<super::DynConnector, String> {
        let api_key = self.resolve_api_key(what, base_dir)?;
        Ok(std::sync::Arc::new(OzonClient::new(OzonConfig {
            base_url: self.base_url.clone(),
            client_id: self.client_id.clone(),
            api_key,
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
        use super::feedback::ozon::{OzonFeedback, OzonFeedbackConfig};
        let fb = self.feedback.as_ref()?;
        let api_key = self.resolve_api_key(what, base_dir).ok()?;
        let mut config = OzonFeedbackConfig::new(&self.base_url, &self.client_id, api_key);
        config.rate_limit_requests = FEEDBACK_REQUESTS_PER_SECOND;
        super::feedback::pace(
            fb,
            &mut config.base_url,
            &mut config.timeout,
            self.timeout.0,
            &mut config.rate_limit_requests,
            &mut config.rate_limit_period,
        );
        Some(std::sync::Arc::new(OzonFeedback::new(config)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ChatMark;
    use std::collections::HashSet;
    use wiremock::matchers::{body_partial_json, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const SPEC_LIST: &str = include_str!("../../tests/fixtures/ozon/chat_list.response.json");
    const SPEC_LIST_REQUEST: &str =
        include_str!("../../tests/fixtures/ozon/chat_list.request.json");
    const SPEC_HISTORY: &str = include_str!("../../tests/fixtures/ozon/chat_history.response.json");
    const SPEC_HISTORY_REQUEST: &str =
        include_str!("../../tests/fixtures/ozon/chat_history.request.json");
    const SPEC_SEND_REQUEST: &str =
        include_str!("../../tests/fixtures/ozon/send_message.request.json");
    const SPEC_SEND_RESPONSE: &str =
        include_str!("../../tests/fixtures/ozon/send_message.response.json");
    const SPEC_READ_REQUEST: &str =
        include_str!("../../tests/fixtures/ozon/chat_read.request.json");

    fn value(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn the_spec_chat_list_example_parses_with_its_string_flag_and_oversized_id() {
        let page: ChatListResponse = parse_body(SPEC_LIST).unwrap();
        assert!(page.has_next, "\"has_next\": \"true\" is a string");
        assert_eq!(page.cursor.as_deref(), Some("30000002342123123"));
        assert_eq!(page.chats.len(), 1);
        assert_eq!(
            ListedChat::from_value(page.chats[0].clone()),
            None,
            "the example chat is Seller_Support, not a buyer chat"
        );
        let buyer = SPEC_LIST.replace("Seller_Support", "Buyer_Seller");
        let page: ChatListResponse = parse_body(&buyer).unwrap();
        let chat = ListedChat::from_value(page.chats[0].clone()).unwrap();
        assert_eq!(chat.chat_id, "5e767w03-b400-4y1b-a841-75319ca8a5c8");
        assert_eq!(
            chat.last_message_id.as_deref(),
            Some("30000000001280042740"),
            "an id past u64::MAX survives as text"
        );
        assert_eq!(chat.unread_count, 1);
    }

    #[test]
    fn ids_sent_as_bare_numbers_keep_every_digit() {
        // The notes render the same example with integer ids and a boolean flag.
        let numeric = r#"{"chats":[{"chat":{"chat_id":"c1","chat_status":"Opened","chat_type":"Buyer_Seller","created_at":"2022-07-22T08:07:19.581Z"},
            "first_unread_message_id":3000000000118021931,"last_message_id":30000000001280042740,"unread_count":"1"}],
            "total_unread_count":5,"cursor":"30000002342123123","has_next":true}"#;
        let page: ChatListResponse = parse_body(numeric).unwrap();
        let chat = ListedChat::from_value(page.chats[0].clone()).unwrap();
        assert_eq!(
            chat.last_message_id.as_deref(),
            Some("30000000001280042740")
        );
        assert_eq!(chat.unread_count, 1, "a count as a string");
        assert_eq!(
            quote_long_integers(
                r#"{"a":"1234567890123456789 x","b":-12345678901234567890,"c":12}"#
            ),
            r#"{"a":"1234567890123456789 x","b":"-12345678901234567890","c":12}"#
        );
    }

    #[test]
    fn the_spec_history_example_becomes_a_buyer_message_with_its_order() {
        let page: HistoryResponse = parse_body(SPEC_HISTORY).unwrap();
        assert!(page.has_next);
        let messages = page.messages();
        assert_eq!(messages.len(), 1);
        let order = order_context(&messages).unwrap();
        assert_eq!(order.order_id.as_deref(), Some("123456789"));
        assert_eq!(order.product_id.as_deref(), Some("987654321"));
        assert_eq!(order.chat_kind.as_deref(), Some("order"));
        let m = messages
            .into_iter()
            .next()
            .unwrap()
            .into_inbound("chat-1", 42);
        assert_eq!(m.id, "3000000000817031942");
        assert_eq!(m.author, Author::Buyer, "\"Сustomer\" with a Cyrillic С");
        assert!(!m.via_api);
        assert!(m.text.starts_with("Здравствуйте, у меня вопрос"));
        assert_eq!(
            m.created_at,
            jiff::Timestamp::from_second(1566656122)
                .unwrap()
                .as_millisecond()
        );
        assert_eq!(m.attachments["image"], true);
        assert_eq!(m.attachments["moderate_image_status"], "SUCCESS");
        assert_eq!(
            m.read_at, None,
            "a buyer's message read by us is no receipt"
        );
    }

    #[test]
    fn user_types_in_any_case_or_alphabet_map_to_authors() {
        for t in ["customer", "Customer", "Сustomer", "CUSTOMER", "сustomer"] {
            assert_eq!(author_of(t), Author::Buyer, "{t}");
        }
        for t in ["seller", "Seller", "SELLER", "Sеller"] {
            assert_eq!(author_of(t), Author::Seller, "{t}");
        }
        for t in [
            "crm",
            "Crm",
            "courier",
            "support",
            "Support",
            "NotificationUser",
            "",
            "robot",
        ] {
            assert_eq!(author_of(t), Author::System, "{t}");
        }
        assert!(is_buyer_chat("buyer_seller"));
        assert!(is_buyer_chat("Buyer_Seller"));
        assert!(!is_buyer_chat("Seller_Support"));
        assert!(!is_buyer_chat("UNSPECIFIED"));
    }

    #[test]
    fn our_messages_the_buyer_read_carry_a_read_time_and_match_by_text() {
        let raw = json!({
            "message_id": 3000000000817031950u64,
            "created_at": "2025-01-02T03:04:05.678Z",
            "user": {"id": "7", "type": "Seller"},
            "data": ["Здравствуйте!", "Заказ в пути."],
            "is_read": "true"
        });
        let m: ChatMessage = serde_json::from_value(raw).unwrap();
        let m = m.into_inbound("c", 999);
        assert_eq!(m.author, Author::Seller);
        assert!(
            m.via_api,
            "the history cannot tell our sends from the portal's"
        );
        assert_eq!(m.read_at, Some(999), "observed, since Ozon gives no time");
        assert_eq!(m.text, "Здравствуйте!\nЗаказ в пути.");
        assert_eq!(m.id, "3000000000817031950");
        let system: ChatMessage = serde_json::from_value(json!({
            "message_id": "1", "user": {"type": "crm"}, "data": "Заказ доставлен", "created_at": "garbage"
        }))
        .unwrap();
        let s = system.into_inbound("c", 5);
        assert_eq!(
            (s.author, s.channel.as_deref()),
            (Author::System, Some("crm"))
        );
        assert_eq!(
            s.created_at, 5,
            "an unreadable time falls back to when we saw it"
        );
    }

    #[test]
    fn odd_json_is_skipped_or_tolerated_never_fatal() {
        let page: HistoryResponse = parse_body(
            r#"{"has_next": null, "messages": [
                {"message_id": "5", "user": "not an object"},
                {"message_id": null, "data": ["x"]},
                {"message_id": "6", "user": {"type": 3}, "data": [1, "text"], "context": null, "extra": {"a": 1}},
                "junk"
            ]}"#,
        )
        .unwrap();
        let ids: Vec<_> = page.messages().into_iter().map(|m| m.id).collect();
        assert_eq!(ids, ["6"]);
        assert!(!page.has_next);
        let page: ChatListResponse = parse_body(r#"{"chats": null, "has_next": 1}"#).unwrap();
        assert!(page.chats.is_empty() && page.has_next);
        assert_eq!(
            ListedChat::from_value(json!({"chat": {"chat_type": "Buyer_Seller"}})),
            None
        );
    }

    #[test]
    fn request_bodies_match_the_spec_examples() {
        // History: the spec's example fields, with the id as exact digits.
        let spec = value(SPEC_HISTORY_REQUEST);
        let ours = value(&history_request(
            "18b8e1f9-4ae7-461c-84ea-8e1f54d1a45e",
            Direction::Forward,
            Some("3000000000118032000"),
        ));
        for field in ["chat_id", "direction", "from_message_id"] {
            assert_eq!(ours[field], spec[field], "{field}");
        }
        assert!(ours["from_message_id"].is_u64(), "uint64 goes as a number");
        assert!(
            ours["limit"]
                .as_i64()
                .is_some_and(|l| (1..=1000).contains(&l))
        );
        let huge = history_request("c", Direction::Backward, Some("30000000001280042740"));
        assert!(
            huge.contains("\"from_message_id\":30000000001280042740"),
            "{huge}"
        );
        assert!(!history_request("c", Direction::Backward, None).contains("from_message_id"));
        // Read and send: byte for byte the same JSON as the examples.
        assert_eq!(
            value(&read_request(
                "99feb3fc-a474-469f-95d5-268b470cc607",
                Some("3000000000118032000")
            )),
            value(SPEC_READ_REQUEST)
        );
        assert_eq!(
            value(&send_request(
                "99feb3fc-a474-469f-95d5-268b470cc607",
                "test"
            )),
            value(SPEC_SEND_REQUEST)
        );
        // List: the example's shape (filter.chat_status, filter.unread_only, limit, cursor).
        let spec = value(SPEC_LIST_REQUEST);
        let ours = value(&list_request(true, Some("304000402034")));
        assert_eq!(ours["filter"]["unread_only"], spec["filter"]["unread_only"]);
        assert_eq!(ours["cursor"], spec["cursor"]);
        assert!(ours["filter"]["chat_status"].is_string());
        assert!(
            ours["limit"]
                .as_i64()
                .is_some_and(|l| (1..=1000).contains(&l))
        );
        let first = value(&list_request(false, None));
        assert!(first.get("cursor").is_none(), "omitted on the first call");
        let response: SendResponse = parse_body(SPEC_SEND_RESPONSE).unwrap();
        assert_eq!(response.result.as_deref(), Some("success"));
    }

    #[test]
    fn errors_map_to_causes_a_seller_understands() {
        let rpc = |code, message: &str| RpcStatus {
            code: Some(code),
            message: message.into(),
        };
        let e = classify_error(
            403,
            &rpc(
                7,
                "Chats with buyers are available only for sellers with Premium Plus or Premium Pro subscription",
            ),
            Op::History,
        );
        let MarketError::SubscriptionMissing(text) = &e else {
            panic!("{e:?}")
        };
        assert!(
            text.contains("Premium Plus") && text.contains("Premium Pro"),
            "{text}"
        );
        assert!(e.needs_person());
        assert!(matches!(
            classify_error(403, &RpcStatus::default(), Op::Send),
            MarketError::SubscriptionMissing(_)
        ));
        let e = classify_error(
            404,
            &RpcStatus::parse(
                r#"{"code":5,"message":"Invalid Api-Key, please check the key and try again","details":[]}"#,
            ),
            Op::List,
        );
        let MarketError::Auth(text) = &e else {
            panic!("{e:?}")
        };
        assert!(text.contains("Api-Key"), "{text}");
        assert!(matches!(
            classify_error(
                401,
                &rpc(16, "Client-Id and Api-Key headers are required"),
                Op::List
            ),
            MarketError::Auth(_)
        ));
        assert!(matches!(
            classify_error(
                403,
                &rpc(
                    7,
                    "Api-key is deactivated, use another one or generate a new one"
                ),
                Op::Send
            ),
            MarketError::Auth(_)
        ));
        assert!(matches!(
            classify_error(
                400,
                &rpc(3, "Client-Id header value should be positive integer"),
                Op::List
            ),
            MarketError::Auth(_)
        ));
        let closed = rpc(
            9,
            "chat is closed for sending: more than 48 hours have passed since the buyer's last message",
        );
        let e = classify_error(400, &closed, Op::Send);
        let MarketError::ChatClosed(text) = &e else {
            panic!("{e:?}")
        };
        assert!(text.contains("48 часов"), "{text}");
        assert!(matches!(
            classify_error(409, &RpcStatus::default(), Op::Send),
            MarketError::ChatClosed(_)
        ));
        assert!(matches!(
            classify_error(400, &rpc(3, "invalid chat_id"), Op::Send),
            MarketError::Invalid(_)
        ));
        assert!(matches!(
            classify_error(
                400,
                &rpc(8, "You have reached request rate limit per second"),
                Op::History
            ),
            MarketError::RateLimited { .. }
        ));
        assert!(matches!(
            classify_error(500, &rpc(13, "Internal error"), Op::List),
            MarketError::Unavailable(_)
        ));
        assert!(matches!(
            classify_error(400, &rpc(14, "Circle is open"), Op::List),
            MarketError::Unavailable(_)
        ));
        assert_eq!(
            RpcStatus::parse("<html>oops</html>").message,
            "<html>oops</html>"
        );
    }

    fn mark(marker: Option<&str>, last: Option<&str>) -> ChatMark {
        ChatMark {
            marker: marker.map(str::to_string),
            last_message_id: last.map(str::to_string),
            ..ChatMark::default()
        }
    }

    fn listed(id: &str, last: &str, unread: i64) -> ListedChat {
        ListedChat {
            chat_id: id.into(),
            last_message_id: Some(last.into()),
            unread_count: unread,
        }
    }

    #[test]
    fn only_chats_whose_marker_moved_are_read_plus_unsettled_and_awaiting_ones() {
        let mut known = KnownChats::new();
        known.insert("same".into(), mark(Some("10"), Some("10")));
        known.insert("moved".into(), mark(Some("10"), Some("10")));
        known.insert(
            "unsettled".into(),
            ChatMark {
                unsettled_send: true,
                ..mark(Some("7"), Some("7"))
            },
        );
        known.insert(
            "awaiting".into(),
            ChatMark {
                awaiting_read: true,
                ..mark(Some("3"), Some("3"))
            },
        );
        let list = [
            listed("same", "10", 1),
            listed("moved", "12", 1),
            listed("new", "5", 1),
        ];
        let (plans, more) = plan_reads(&list, &known, None);
        assert!(!more);
        let summary: Vec<_> = plans
            .iter()
            .map(|p| (p.chat_id.as_str(), p.forward_from.as_deref(), p.newest_page))
            .collect();
        assert_eq!(
            summary,
            [
                ("unsettled", Some("7"), false),
                ("moved", Some("10"), false),
                ("new", None, true),
                ("awaiting", None, true),
            ]
        );
        assert_eq!(
            plans[1].listed.as_ref().unwrap().last_message_id.as_deref(),
            Some("12")
        );
        assert!(plans[0].listed.is_none(), "not in this listing");
    }

    #[test]
    fn a_backlog_is_read_in_bounded_polls() {
        let list: Vec<_> = (0..MAX_CHAT_READS_PER_POLL + 5)
            .map(|i| listed(&format!("c{i}"), "9", 1))
            .collect();
        let (plans, more) = plan_reads(&list, &KnownChats::new(), None);
        assert_eq!(plans.len(), MAX_CHAT_READS_PER_POLL);
        assert!(more);
    }

    #[test]
    fn a_chat_is_answered_when_the_seller_wrote_last() {
        let msg = |id: &str, t: &str| ChatMessage {
            id: id.into(),
            created_at: None,
            user: Some(User {
                kind: Some(t.into()),
            }),
            data: None,
            context: None,
            is_read: false,
            is_image: false,
            moderate_image_status: None,
        };
        let answered = [msg("1", "customer"), msg("2", "seller"), msg("3", "crm")];
        assert_eq!(answered_up_to(&answered).as_deref(), Some("3"));
        let open = [
            msg("1", "customer"),
            msg("2", "seller"),
            msg("3", "customer"),
        ];
        assert_eq!(answered_up_to(&open), None);
        assert_eq!(answered_up_to(&[msg("1", "crm")]), None);
        assert_eq!(
            id_order("30000000001280042740", "3000000000817031942"),
            std::cmp::Ordering::Greater
        );
        assert_eq!(id_literal("007"), "7");
        assert_eq!(id_literal("abc"), "\"abc\"");
    }

    fn config(base_url: String) -> OzonConfig {
        OzonConfig {
            base_url,
            client_id: "123456".into(),
            api_key: SecretString::from("key-1"),
            timeout: Duration::from_secs(2),
            rate_limit_requests: 100,
            rate_limit_period: Duration::from_secs(1),
        }
    }

    fn client(server: &MockServer) -> OzonClient {
        OzonClient::new(config(server.uri()))
    }

    #[tokio::test]
    async fn a_poll_pages_the_list_skips_support_chats_and_reads_changed_histories() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(PATH_CHAT_LIST))
            .and(header("Client-Id", "123456"))
            .and(header("Api-Key", "key-1"))
            .and(body_partial_json(json!({"cursor": "p2"})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "chats": [{"chat": {"chat_id": "buyer-2", "chat_type": "Buyer_Seller", "chat_status": "Opened"},
                           "last_message_id": "30", "unread_count": 0}],
                "cursor": "", "has_next": false
            })))
            .with_priority(1)
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(PATH_CHAT_LIST))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "chats": [
                    {"chat": {"chat_id": "support", "chat_type": "Seller_Support"}, "last_message_id": "99", "unread_count": 1},
                    {"chat": {"chat_id": "buyer-1", "chat_type": "Buyer_Seller"}, "last_message_id": "20", "unread_count": 2}
                ],
                "cursor": "p2", "has_next": "true"
            })))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(PATH_CHAT_HISTORY))
            .and(body_partial_json(json!({"chat_id": "buyer-1", "direction": "Forward", "from_message_id": 15})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "has_next": false,
                "messages": [
                    {"message_id": "15", "created_at": "2025-01-01T00:00:00Z", "user": {"type": "customer"}, "data": ["old"]},
                    {"message_id": "20", "created_at": "2025-01-01T00:01:00Z", "user": {"type": "Customer"}, "data": ["Где заказ?"],
                     "context": {"order_number": "47873153-0052", "sku": "123"}}
                ]
            })))
            .expect(1)
            .mount(&server)
            .await;
        let mut known = KnownChats::new();
        known.insert("buyer-1".into(), mark(Some("15"), Some("15")));
        known.insert("buyer-2".into(), mark(Some("30"), Some("30")));
        // The client's first poll is a full sweep.
        let batch = client(&server).poll(None, &known).await.unwrap();
        assert!(!batch.more);
        assert_eq!(batch.messages.len(), 2);
        assert_eq!(batch.messages[1].text, "Где заказ?");
        assert_eq!(batch.chats.len(), 1);
        let update = &batch.chats[0];
        assert_eq!(update.chat_id, "buyer-1");
        assert_eq!(update.reply_handle.as_deref(), Some("buyer-1"));
        assert_eq!(update.marker.as_deref(), Some("20"));
        let order = update.order.as_ref().unwrap();
        assert_eq!(order.order_id.as_deref(), Some("47873153-0052"));
        assert_eq!(order.product_id.as_deref(), Some("123"));
        let requests = server.received_requests().await.unwrap();
        let first: Value = serde_json::from_slice(&requests[0].body).unwrap();
        assert_eq!(first["filter"]["unread_only"], false, "a full sweep");
        assert!(
            requests.iter().all(|r| r.url.path() != PATH_CHAT_READ),
            "nothing answered"
        );
    }

    #[tokio::test]
    async fn a_throttle_mid_poll_keeps_what_was_read_and_asks_to_go_on() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(PATH_CHAT_LIST))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "chats": [
                    {"chat": {"chat_id": "a", "chat_type": "Buyer_Seller"}, "last_message_id": "1", "unread_count": 1},
                    {"chat": {"chat_id": "b", "chat_type": "Buyer_Seller"}, "last_message_id": "2", "unread_count": 1}
                ],
                "has_next": false
            })))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(PATH_CHAT_HISTORY))
            .and(body_partial_json(json!({"chat_id": "a"})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "has_next": false,
                "messages": [{"message_id": "1", "user": {"type": "customer"}, "data": ["?"]}]
            })))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(PATH_CHAT_HISTORY))
            .and(body_partial_json(json!({"chat_id": "b"})))
            .respond_with(ResponseTemplate::new(429).set_body_json(json!({
                "code": 8, "message": "You have reached request rate limit per second", "details": []
            })))
            .mount(&server)
            .await;
        let c = client(&server);
        let batch = c.poll(None, &KnownChats::new()).await.unwrap();
        assert!(batch.more, "the rest is read on the next call");
        assert_eq!(batch.chats.len(), 1);
        assert_eq!(batch.messages[0].chat_id, "a");
        // The gate now holds requests back for the default second.
        let start = tokio::time::Instant::now();
        let _ = c.list_chats(true, None, 1, &Budget::new(1)).await;
        assert!(start.elapsed() >= Duration::from_millis(900));
        // A throttle before anything was read is an error for the poller to wait on.
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "2"))
            .mount(&server)
            .await;
        assert_eq!(
            client(&server).poll(None, &KnownChats::new()).await,
            Err(MarketError::RateLimited {
                retry_after: Duration::from_secs(2)
            })
        );
    }

    #[tokio::test]
    async fn one_refused_chat_is_skipped_but_all_refused_is_an_error() {
        let list = |chats: Value| {
            Mock::given(method("POST"))
                .and(path(PATH_CHAT_LIST))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_json(json!({ "chats": chats, "has_next": false })),
                )
        };
        let history = |chat: &str, response: ResponseTemplate| {
            Mock::given(method("POST"))
                .and(path(PATH_CHAT_HISTORY))
                .and(body_partial_json(json!({ "chat_id": chat })))
                .respond_with(response)
        };
        let gone = || {
            ResponseTemplate::new(404)
                .set_body_json(json!({"code": 5, "message": "chat not found", "details": []}))
        };
        let chat = |id: &str| json!({"chat": {"chat_id": id, "chat_type": "Buyer_Seller"}, "last_message_id": "9", "unread_count": 0});

        let server = MockServer::start().await;
        list(json!([chat("gone"), chat("fine")]))
            .mount(&server)
            .await;
        history("gone", gone()).mount(&server).await;
        history(
            "fine",
            ResponseTemplate::new(200).set_body_json(json!({"messages": [
                {"message_id": "9", "user": {"type": "customer"}, "data": ["?"]}
            ]})),
        )
        .mount(&server)
        .await;
        let batch = client(&server)
            .poll(None, &KnownChats::new())
            .await
            .unwrap();
        assert_eq!(batch.chats.len(), 1);
        assert_eq!(batch.chats[0].chat_id, "fine");

        let server = MockServer::start().await;
        list(json!([chat("gone")])).mount(&server).await;
        history("gone", gone()).mount(&server).await;
        assert!(matches!(
            client(&server).poll(None, &KnownChats::new()).await,
            Err(MarketError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn sends_end_exactly_as_the_answer_says() {
        let server = MockServer::start().await;
        let reply = |chat: &str, response: ResponseTemplate| {
            Mock::given(method("POST"))
                .and(path(PATH_SEND_MESSAGE))
                .and(body_partial_json(json!({ "chat_id": chat })))
                .respond_with(response)
        };
        reply(
            "ok",
            ResponseTemplate::new(200).set_body_raw(SPEC_SEND_RESPONSE, "application/json"),
        )
        .mount(&server)
        .await;
        reply(
            "boom",
            ResponseTemplate::new(500)
                .set_body_json(json!({"code": 13, "message": "Internal error", "details": []})),
        )
        .mount(&server)
        .await;
        reply(
            "late",
            ResponseTemplate::new(400).set_body_json(
                json!({"code": 9, "message": "chat is closed for sending", "details": []}),
            ),
        )
        .mount(&server)
        .await;
        reply(
            "garbled",
            ResponseTemplate::new(200).set_body_string("<html>"),
        )
        .mount(&server)
        .await;
        reply("busy", ResponseTemplate::new(429).insert_header("retry-after", "3").set_body_json(json!({"code": 8, "message": "You have reached request rate limit per second", "details": []})))
            .mount(&server)
            .await;
        let c = client(&server);
        let text = ReplyText::parse("Здравствуйте!", MAX_MESSAGE_CHARS).unwrap();
        let to = |id: &'static str| ChatRef {
            external_id: id,
            reply_handle: Some(id),
        };
        assert_eq!(
            c.send(to("ok"), &text).await.unwrap(),
            Delivery {
                message_id: None,
                sent_at: None
            }
        );
        assert!(matches!(
            c.send(to("boom"), &text).await,
            Err(SendError::Unknown(_))
        ));
        assert!(matches!(
            c.send(to("late"), &text).await,
            Err(SendError::NotDelivered(MarketError::ChatClosed(_)))
        ));
        assert!(matches!(
            c.send(to("garbled"), &text).await,
            Err(SendError::Unknown(_))
        ));
        let busy = c.send(to("busy"), &text).await;
        assert_eq!(
            busy,
            Err(SendError::NotDelivered(MarketError::RateLimited {
                retry_after: Duration::from_secs(3)
            }))
        );
        let sent: Value =
            serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
        assert_eq!(sent, json!({"chat_id": "ok", "text": "Здравствуйте!"}));

        let refused = OzonClient::new(config("http://127.0.0.1:9".into()));
        assert!(matches!(
            refused.send(to("ok"), &text).await,
            Err(SendError::NotDelivered(MarketError::Unavailable(_)))
        ));
    }

    #[tokio::test]
    async fn mark_read_posts_the_chat_and_message() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(PATH_CHAT_READ))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"unread_count": 0})))
            .expect(1)
            .mount(&server)
            .await;
        let chat = ChatRef {
            external_id: "99feb3fc-a474-469f-95d5-268b470cc607",
            reply_handle: None,
        };
        client(&server)
            .mark_read(chat, Some("3000000000118032000"))
            .await
            .unwrap();
        let body: Value =
            serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
        assert_eq!(body, value(SPEC_READ_REQUEST));
    }

    /// Answers every request with a page that says there is more, each time
    /// with a cursor or message id never seen before.
    struct Endless(std::sync::atomic::AtomicUsize, fn(usize) -> Value);

    impl wiremock::Respond for Endless {
        fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_json((self.1)(n))
        }
    }

    fn endless(page: fn(usize) -> Value) -> Endless {
        Endless(std::sync::atomic::AtomicUsize::new(0), page)
    }

    fn endless_list(n: usize) -> Value {
        json!({
            "chats": [{"chat": {"chat_id": format!("chat-{n}"), "chat_type": "Buyer_Seller"},
                       "last_message_id": "9", "unread_count": 1}],
            "cursor": format!("page-{}", n + 1),
            "has_next": true,
        })
    }

    /// History pages without end, each one message further on.
    fn endless_history(n: usize) -> Value {
        json!({
            "has_next": true,
            "messages": [{"message_id": (100 + n).to_string(), "user": {"type": "customer"}, "data": ["?"]}],
        })
    }

    #[tokio::test]
    async fn a_poll_makes_at_most_its_budget_of_requests_however_many_pages_are_offered() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(PATH_CHAT_LIST))
            .respond_with(endless(endless_list))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(PATH_CHAT_HISTORY))
            .respond_with(endless(endless_history))
            .mount(&server)
            .await;
        // Chats we know, so each is read forward, page after endless page.
        let mut known = KnownChats::new();
        for i in 0..MAX_LIST_PAGES_PER_POLL {
            known.insert(format!("chat-{i}"), mark(Some("1"), Some("1")));
        }
        let batch = client(&server).poll(None, &known).await.unwrap();
        let requests = server.received_requests().await.unwrap().len();
        assert!(
            requests <= MAX_REQUESTS_PER_POLL,
            "{requests} requests in one poll"
        );
        assert!(batch.more, "the rest is read on the next poll");
        assert!(
            batch.chats.iter().all(|c| c.marker.is_none()),
            "a chat read only in part is not taken for seen"
        );
    }

    /// A server listing one chat whose last message moved, and a send to it
    /// whose outcome is unknown: its history must be read to settle the send.
    async fn a_moved_chat_with_an_unknown_send() -> (MockServer, KnownChats) {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(PATH_CHAT_LIST))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "chats": [{"chat": {"chat_id": "buyer-1", "chat_type": "Buyer_Seller"},
                           "last_message_id": "9999", "unread_count": 0}],
                "has_next": false,
            })))
            .mount(&server)
            .await;
        let mut known = KnownChats::new();
        known.insert(
            "buyer-1".into(),
            ChatMark {
                unsettled_send: true,
                ..mark(Some("1"), Some("1"))
            },
        );
        (server, known)
    }

    #[tokio::test]
    async fn a_chat_with_an_unknown_send_read_only_up_to_the_page_cap_keeps_the_poll_open() {
        let (server, known) = a_moved_chat_with_an_unknown_send().await;
        // More new history than one read takes, each page moving forward.
        Mock::given(method("POST"))
            .and(path(PATH_CHAT_HISTORY))
            .respond_with(endless(endless_history))
            .mount(&server)
            .await;
        let batch = client(&server).poll(None, &known).await.unwrap();
        let pages = server.received_requests().await.unwrap().len() - 1;
        assert_eq!(pages, MAX_HISTORY_PAGES, "one read stops at the cap");
        // Our reply may be on a page not read yet: a poll that reports itself
        // complete would let the sender take the reply for lost and send it again.
        assert!(batch.more, "the rest is read at once, from what was stored");
    }

    #[tokio::test]
    async fn a_history_whose_ids_stop_moving_is_reported_unverified() {
        let (server, known) = a_moved_chat_with_an_unknown_send().await;
        // "There is more", yet every page ends at the message asked from.
        Mock::given(method("POST"))
            .and(path(PATH_CHAT_HISTORY))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "messages": [{"message_id": "1", "user": {"type": "Customer"},
                              "created_at": "2025-01-01T10:00:00Z", "data": ["Где заказ?"]}],
                "has_next": true,
            })))
            .expect(1)
            .mount(&server)
            .await;
        let batch = client(&server).poll(None, &known).await.unwrap();
        assert_eq!(batch.unverified, ["buyer-1"], "the rest cannot be read");
        assert!(!batch.more, "and asking again would not get further");
        assert_eq!(batch.chats[0].marker, None, "nor is the chat taken as read");
    }

    #[tokio::test]
    async fn a_list_longer_than_one_poll_goes_on_from_its_cursor_next_poll() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(PATH_CHAT_LIST))
            .respond_with(endless(endless_list))
            .mount(&server)
            .await;
        // Every chat listed is known and unchanged: nothing to read.
        let mut known = KnownChats::new();
        for i in 0..3 * MAX_LIST_PAGES_PER_POLL {
            known.insert(format!("chat-{i}"), mark(Some("9"), Some("9")));
        }
        let c = client(&server);
        let first = c.poll(None, &known).await.unwrap();
        assert!(first.more);
        let listed = server.received_requests().await.unwrap().len();
        assert_eq!(listed, MAX_LIST_PAGES_PER_POLL);
        c.poll(None, &known).await.unwrap();
        let requests = server.received_requests().await.unwrap();
        let next: Value = serde_json::from_slice(&requests[listed].body).unwrap();
        assert_eq!(
            next["cursor"],
            format!("page-{MAX_LIST_PAGES_PER_POLL}"),
            "the second poll starts where the first stopped"
        );
        assert_eq!(
            next["filter"]["unread_only"], false,
            "with the same filter: the first poll's full sweep goes on"
        );
    }

    #[test]
    fn chats_read_only_for_receipts_take_turns_and_never_hurry_the_next_poll() {
        let mut known = KnownChats::new();
        for id in ["a", "b", "c"] {
            known.insert(
                id.into(),
                ChatMark {
                    awaiting_read: true,
                    ..mark(Some("1"), Some("1"))
                },
            );
        }
        let order = |after: Option<&str>| {
            let (plans, more) = plan_reads(&[], &known, after);
            assert!(!more);
            assert!(plans.iter().all(|p| p.receipts_only && p.newest_page));
            plans.into_iter().map(|p| p.chat_id).collect::<Vec<_>>()
        };
        assert_eq!(order(None), ["a", "b", "c"]);
        assert_eq!(order(Some("a")), ["b", "c", "a"]);
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
            config.ozon_rate = RateConfig {
                burst: 100_000,
                per_second: 100_000.0,
            };
            config.sellers.insert(
                "shop".into(),
                SellerConfig {
                    ozon_client_id: Some("123456".into()),
                    ozon_api_key: Some("key-1".into()),
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
                    marketplace: Marketplace::Ozon,
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

        fn requests(sim: &SimHandle) -> u64 {
            sim.sim
                .lock()
                .stats
                .get(&Marketplace::Ozon)
                .map_or(0, |s| s.requests)
        }

        /// Poll as the poller does, keeping what the store would keep, until
        /// nothing more is waiting; every poll within its budget. Returns how
        /// many polls it took.
        async fn poll_until_caught_up(
            c: &OzonClient,
            sim: &SimHandle,
            known: &mut KnownChats,
            seen: &mut Vec<InboundMessage>,
        ) -> usize {
            for polls in 1..=100 {
                let before = requests(sim);
                let batch = c.poll(None, known).await.unwrap();
                let made = requests(sim) - before;
                assert!(
                    made <= MAX_REQUESTS_PER_POLL as u64,
                    "{made} requests in poll {polls}"
                );
                for u in &batch.chats {
                    let mark = known.entry(u.chat_id.clone()).or_default();
                    if u.marker.is_some() {
                        mark.marker = u.marker.clone();
                    }
                }
                for m in &batch.messages {
                    let mark = known.entry(m.chat_id.clone()).or_default();
                    if mark
                        .last_message_id
                        .as_deref()
                        .is_none_or(|id| id_order(id, &m.id).is_lt())
                    {
                        mark.last_message_id = Some(m.id.clone());
                    }
                }
                seen.extend(batch.messages);
                if !batch.more {
                    return polls;
                }
            }
            panic!("still more after 100 polls");
        }

        #[tokio::test]
        async fn a_slow_server_gets_short_polls_that_together_read_every_chat_once() {
            let sim = sim().await;
            for i in 0..12 {
                buyer_writes(&sim, None, format!("вопрос {i}"));
            }
            sim.sim
                .add_fault(FaultSpec::slow(Marketplace::Ozon, PATH_CHAT_HISTORY, 40));
            let mut c = OzonClient::new(config(sim.url()));
            c.read_time = Duration::from_millis(100);
            let mut known = KnownChats::new();
            let mut seen = Vec::new();
            let polls = poll_until_caught_up(&c, &sim, &mut known, &mut seen).await;
            assert!(polls >= 3, "the time limit splits the reads: {polls} polls");
            let unique: std::collections::HashSet<_> = seen.iter().map(|m| &m.id).collect();
            assert_eq!((seen.len(), unique.len()), (12, 12), "every chat read once");
        }

        #[tokio::test]
        async fn a_backlog_larger_than_one_polls_budget_is_read_whole_over_several_polls() {
            let sim = sim().await;
            let chats: Vec<String> = (0..60)
                .map(|i| buyer_writes(&sim, None, format!("вопрос {i}")))
                .collect();
            let c = OzonClient::new(config(sim.url()));
            let mut known = KnownChats::new();
            let mut seen = Vec::new();
            poll_until_caught_up(&c, &sim, &mut known, &mut seen).await;
            assert_eq!(seen.len(), 60, "every new chat's message");

            // Two pages of history in each of 40 chats: more than one poll can read.
            for chat in &chats[..40] {
                for j in 0..150 {
                    buyer_writes(&sim, Some(chat), format!("ещё {j}"));
                }
            }
            let polls = poll_until_caught_up(&c, &sim, &mut known, &mut seen).await;
            assert!(polls > 1, "the backlog took {polls} poll(s)");
            let unique: HashSet<_> = seen.iter().map(|m| (&m.chat_id, &m.id)).collect();
            assert_eq!(unique.len(), 60 + 40 * 150, "nothing lost");
            for chat in &chats[..40] {
                let texts = seen
                    .iter()
                    .filter(|m| &m.chat_id == chat)
                    .map(|m| m.text.as_str());
                assert_eq!(texts.collect::<HashSet<_>>().len(), 151, "{chat}");
            }
        }
    }
}
