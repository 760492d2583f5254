//! Yandex Market Partner API chats (`api.partner.market.yandex.ru`, `Api-Key`).
//!
//! Chats are read chat by chat ([`Discovery::PerChat`]):
//! `POST /v2/businesses/{businessId}/chats` with `statuses: [NEW,
//! WAITING_FOR_PARTNER]` lists the chats that wait for the shop (paged by
//! `page_token` / `nextPageToken`, at most 20 a page); the history of a chat
//! whose `updatedAt` differs from the marker we stored is read with
//! `POST …/chats/history?chatId=` from the newest message we have
//! (`messageIdFrom`). A chat we saw in that list that is no longer there was
//! answered (by us or by a person in the seller cabinet): its history is read
//! once more, so our echo or the person's reply is seen. Chats with a send of
//! unknown outcome are read on every poll until it is settled.
//!
//! Sends go to `POST …/chats/message?chatId=` as `{"message": …}` and are
//! answered `{"status":"OK"}` without a message id, and the history does not
//! tell an API send from a person in the cabinet (both are `PARTNER`): every
//! partner message is `via_api`, so our echo is matched by its text.
//! The API has no read receipts and no way to mark a chat read.
//!
//! Order context comes from the chat itself (`context.type`, `orderId`,
//! `returnId`, `customer.name`). Order details (`GET
//! /v2/campaigns/{campaignId}/orders/{orderId}`) are not fetched: they would
//! spend another method's hourly limit on every new chat for fields the
//! drafts rarely need.
//!
//! Limits: at most `max_parallel` requests in flight (the 2025 docs say 2 per
//! login; newer web docs quoted in our notes say 4 — we follow the spec
//! crawl's 2 by default), per-method hourly limits reported in
//! `X-RateLimit-Resource-*` on every response (a method whose `-Remaining`
//! reached 0 is not called again before `-Until`), and `420 Enhance Your
//! Calm` when either is exceeded.
//!
//! Ids (`chatId`, `messageId`) are int64 in the API and strings here; they
//! are never passed through a float.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use reqwest::{RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::limits::{Purpose, RequestGate, Turn};
use super::{
    ChatRef, Connector, Delivery, Discovery, MarketError, SendError, classify_transport_error,
    describe_transport_error, http_client,
};
use crate::domain::{
    Author, ChatUpdate, InboundBatch, InboundMessage, KnownChats, Marketplace, Millis,
    OrderContext, ReplyText, now_ms,
};

/// `SendMessageToChatRequest.message`: 1–4096 characters.
pub const MAX_MESSAGE_CHARS: usize = 4096;
/// `PageLimit20`: the chat list's largest page.
pub const CHATS_PAGE_LIMIT: u32 = 20;
/// `PageLimit100`: the history's largest page.
pub const HISTORY_PAGE_LIMIT: u32 = 100;
/// Chat statuses that mean the buyer waits for the shop.
pub const WAITING_STATUSES: [&str; 2] = ["NEW", "WAITING_FOR_PARTNER"];
/// Marker of a chat that left the waiting list and whose history was read after that.
const MARKER_ANSWERED: &str = "answered";
/// Most chat histories read in one `poll`; the rest follow at once (`more`).
const MAX_HISTORIES_PER_POLL: usize = 40;
/// Guards against a server that keeps handing out page tokens.
const MAX_PAGES: usize = 200;
/// A chat's `updatedAt` has one-second precision: a message written in the
/// same second as our read would not change it. The marker is trusted only
/// once the server's clock (`Date`) is this far past `updatedAt`.
const SETTLE_SECS: i64 = 2;
/// Without a `Date` header our own clock decides, with room for skew.
const SETTLE_OWN_CLOCK_MS: i64 = 5_000;
/// Longest we honour a limit's `-Until` (the longest documented period is a day).
const MAX_LIMIT_WAIT: Duration = Duration::from_secs(25 * 3600);

/// The chat methods we call, each with its own hourly limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    GetChats,
    GetChatHistory,
    SendMessage,
    GetChat,
    GetMessage,
}

impl Method {
    /// Requests per hour, from the spec's `x-resource-limit-config`
    /// (getChats: 5000; the 2025 docs crawl says 10 000, the spec wins).
    pub fn hourly_limit(self) -> u32 {
        match self {
            Method::GetChats => 5000,
            Method::GetChatHistory => 10_000,
            Method::SendMessage | Method::GetChat | Method::GetMessage => 1000,
        }
    }

    /// The resource as the API names it in its 420 messages.
    pub fn resource(self) -> &'static str {
        match self {
            Method::GetChats => "/v2/businesses/{businessId}/chats",
            Method::GetChatHistory => "/v2/businesses/{businessId}/chats/history",
            Method::SendMessage | Method::GetMessage => "/v2/businesses/{businessId}/chats/message",
            Method::GetChat => "/v2/businesses/{businessId}/chat",
        }
    }
}

#[derive(Debug, Clone)]
pub struct YandexMarketConfig {
    pub base_url: String,
    pub business_id: i64,
    pub api_key: SecretString,
    pub timeout: Duration,
    pub max_parallel: usize,
}

pub struct YandexMarketClient {
    http: reqwest::Client,
    base_url: String,
    business_id: i64,
    api_key: SecretString,
    gate: RequestGate,
    max_parallel: usize,
    /// The parallel limit the API told us about, when lower than configured.
    parallel: Parallel,
    /// Methods whose hourly limit is spent, until when.
    spent: Mutex<HashMap<Method, Instant>>,
}

/// Requests in flight under a limit that can only shrink: when a 420 says
/// "Hit rate limit of N parallel requests" with N below our setting, the
/// setting was wrong (the docs disagree on 2 or 4) and N is used from then on.
struct Parallel {
    limit: AtomicUsize,
    in_flight: AtomicUsize,
    freed: tokio::sync::Notify,
}

struct ParallelSlot<'a>(&'a Parallel);

impl Drop for ParallelSlot<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.0.freed.notify_waiters();
    }
}

impl Parallel {
    fn new(limit: usize) -> Parallel {
        Parallel {
            limit: AtomicUsize::new(limit.max(1)),
            in_flight: AtomicUsize::new(0),
            freed: tokio::sync::Notify::new(),
        }
    }

    async fn slot(&self) -> ParallelSlot<'_> {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            let current = self.in_flight.load(Ordering::SeqCst);
            if current < self.limit.load(Ordering::SeqCst)
                && self
                    .in_flight
                    .compare_exchange(current, current + 1, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            {
                return ParallelSlot(self);
            }
            freed.await;
        }
    }

    fn lower_to(&self, limit: usize) {
        let limit = limit.max(1);
        if self.limit.fetch_min(limit, Ordering::SeqCst) > limit {
            tracing::warn!(
                limit,
                "Yandex Market allows fewer parallel requests than configured; using its limit"
            );
        }
    }
}

/// N in "Hit rate limit of N parallel requests".
fn parallel_limit_in(detail: &str) -> Option<usize> {
    let lower = detail.to_lowercase();
    let before = &lower[..lower.find("parallel")?];
    before
        .split(|c: char| !c.is_ascii_digit())
        .rfind(|part| !part.is_empty())?
        .parse()
        .ok()
}

/// How a request ended before its status was looked at.
enum Exchange {
    /// The method's limit is spent; nothing was sent.
    Spent(Duration),
    Transport(reqwest::Error),
}

impl YandexMarketClient {
    pub fn new(config: YandexMarketConfig) -> Self {
        let max_parallel = config.max_parallel.max(1);
        YandexMarketClient {
            http: http_client(config.timeout),
            base_url: config.base_url.trim_end_matches('/').to_string(),
            business_id: config.business_id,
            api_key: config.api_key,
            gate: RequestGate::new(0, Duration::from_secs(1), Some(max_parallel)),
            max_parallel,
            parallel: Parallel::new(max_parallel),
            spent: Mutex::new(HashMap::new()),
        }
    }

    fn url(&self, tail: &str) -> String {
        format!(
            "{}/v2/businesses/{}/{tail}",
            self.base_url, self.business_id
        )
    }

    /// How long `method` must still wait for its hourly limit, if it is spent.
    fn spent_for(&self, method: Method) -> Option<Duration> {
        let mut spent = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        let until = *spent.get(&method)?;
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            spent.remove(&method);
            return None;
        }
        Some(left)
    }

    fn spend_until(&self, method: Method, wait: Duration) {
        let until = Instant::now() + wait.min(MAX_LIMIT_WAIT);
        let mut spent = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        let entry = spent.entry(method).or_insert(until);
        if *entry < until {
            *entry = until;
        }
    }

    /// Send one request when the gate lets it go. The returned [`Turn`] keeps
    /// the in-flight slot until the caller has read the body.
    async fn exchange(
        &self,
        method: Method,
        purpose: Purpose,
        request: RequestBuilder,
    ) -> Result<(Response, Turn, ParallelSlot<'_>), Exchange> {
        if let Some(wait) = self.spent_for(method) {
            return Err(Exchange::Spent(wait));
        }
        let turn = self.gate.turn(purpose).await;
        let slot = self.parallel.slot().await;
        let response = request
            .header("Api-Key", self.api_key.expose_secret())
            .send()
            .await
            .map_err(Exchange::Transport)?;
        self.note_limits(method, &response);
        Ok((response, turn, slot))
    }

    /// `X-RateLimit-Resource-Remaining: 0` means the method's limit is spent
    /// until `X-RateLimit-Resource-Until`.
    fn note_limits(&self, method: Method, response: &Response) {
        let remaining = header_str(response, "X-RateLimit-Resource-Remaining")
            .and_then(|v| v.trim().parse::<i64>().ok());
        if remaining.is_some_and(|r| r <= 0)
            && let Some(wait) = limit_wait(response.headers())
        {
            tracing::info!(
                ?method,
                ?wait,
                "Yandex Market hourly limit spent; pausing this method"
            );
            self.spend_until(method, wait);
        }
    }

    /// A 420: pause as the answer says and say how long.
    async fn throttled(&self, method: Method, response: Response) -> MarketError {
        let until = limit_wait(response.headers());
        let detail = error_detail(response).await;
        let parallel = detail.to_lowercase().contains("parallel");
        if let Some(limit) = parallel_limit_in(&detail) {
            self.parallel.lower_to(limit);
        }
        let retry_after = match until {
            // The parallel limit frees up as soon as a request finishes; an
            // `-Until` on such an answer describes the hourly window.
            _ if parallel => Duration::from_secs(1),
            Some(wait) if !wait.is_zero() => wait,
            _ => Duration::from_secs(1),
        };
        if parallel || !detail.contains("resource") {
            self.gate.block_for(retry_after.min(MAX_LIMIT_WAIT));
        } else {
            // A per-method limit: the other methods (sends above all) go on.
            self.spend_until(method, retry_after);
        }
        tracing::warn!(?method, ?retry_after, %detail, "Yandex Market answered 420");
        MarketError::RateLimited { retry_after }
    }

    /// Turn a non-success response into an error.
    async fn check_status(
        &self,
        method: Method,
        response: Response,
    ) -> Result<Response, MarketError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        if status.as_u16() == 420 {
            return Err(self.throttled(method, response).await);
        }
        let detail = error_detail(response).await;
        Err(self.error_for(status, detail))
    }

    fn error_for(&self, status: StatusCode, detail: String) -> MarketError {
        match status {
            StatusCode::UNAUTHORIZED => MarketError::Auth(format!(
                "Яндекс Маркет ответил 401 ({detail}); проверьте Api-Key: ключ действителен, указан без «Bearer» и имеет доступ «Общение с покупателями» (communication)"
            )),
            StatusCode::FORBIDDEN => MarketError::Auth(format!(
                "Яндекс Маркет ответил 403 ({detail}); проверьте, что ключ выдан в кабинете {} и ему открыт доступ к чатам (communication), а кабинет активен",
                self.business_id
            )),
            StatusCode::LOCKED => {
                MarketError::Unavailable(format!("Яндекс Маркет ответил 423: {detail}"))
            }
            s if s.is_server_error() => {
                MarketError::Unavailable(format!("Яндекс Маркет ответил {s}: {detail}"))
            }
            s => MarketError::Invalid(format!("Яндекс Маркет ответил {s}: {detail}")),
        }
    }

    /// A read: the JSON body of a successful answer and the server's clock.
    async fn read(
        &self,
        method: Method,
        request: RequestBuilder,
    ) -> Result<(Value, Option<Millis>), MarketError> {
        let (response, _turn, _slot) = match self.exchange(method, Purpose::Read, request).await {
            Ok(r) => r,
            Err(Exchange::Spent(retry_after)) => {
                return Err(MarketError::RateLimited { retry_after });
            }
            Err(Exchange::Transport(e)) => {
                return Err(MarketError::Unavailable(describe_transport_error(&e)));
            }
        };
        let response = self.check_status(method, response).await?;
        let server_now = server_date(response.headers());
        let body = response.text().await.map_err(|e| {
            MarketError::Unavailable(format!("ответ оборвался: {}", describe_transport_error(&e)))
        })?;
        let value: Value = serde_json::from_str(&body).map_err(|e| {
            MarketError::Unavailable(format!(
                "непонятный ответ Яндекс Маркета ({e}): {}",
                body.chars().take(200).collect::<String>()
            ))
        })?;
        Ok((value, server_now))
    }

    /// Every chat that waits for the shop, all pages.
    async fn list_waiting_chats(&self) -> Result<Vec<ChatInfo>, MarketError> {
        let mut chats = Vec::new();
        let mut token: Option<String> = None;
        let mut seen_tokens = HashSet::new();
        for _ in 0..MAX_PAGES {
            let mut query = vec![("limit", CHATS_PAGE_LIMIT.to_string())];
            if let Some(t) = &token {
                query.push(("page_token", t.clone()));
            }
            let request = self
                .http
                .post(self.url("chats"))
                .query(&query)
                .json(&chats_request_body());
            let (body, _) = self.read(Method::GetChats, request).await?;
            let page: Envelope<ChatsResult> = lenient(body);
            let result = page.result.unwrap_or_default();
            chats.extend(
                result
                    .chats
                    .into_iter()
                    .filter_map(|c| lenient_opt::<ChatInfo>(c)),
            );
            token = result.paging.and_then(|p| p.next_page_token);
            match &token {
                Some(t) if seen_tokens.insert(t.clone()) => {}
                _ => break,
            }
        }
        Ok(chats)
    }

    /// A chat's messages from `from` on (inclusive), all pages.
    async fn read_history(&self, chat_id: &str, from: Option<i64>) -> Result<History, MarketError> {
        let mut history = History::default();
        let mut token: Option<String> = None;
        let mut seen_tokens = HashSet::new();
        for _ in 0..MAX_PAGES {
            let mut query = vec![
                ("chatId", chat_id.to_string()),
                ("limit", HISTORY_PAGE_LIMIT.to_string()),
            ];
            if let Some(t) = &token {
                query.push(("page_token", t.clone()));
            }
            let request = self
                .http
                .post(self.url("chats/history"))
                .query(&query)
                .json(&history_request_body(from));
            let (body, server_now) = self.read(Method::GetChatHistory, request).await?;
            history.server_now = server_now;
            let page: Envelope<HistoryResult> = lenient(body);
            let result = page.result.unwrap_or_default();
            if history.context.is_none() {
                history.context = result.context.and_then(lenient_opt::<ChatContext>);
                history.order_id = result.order_id;
            }
            history.messages.extend(
                result
                    .messages
                    .into_iter()
                    .filter_map(|m| lenient_opt::<ChatMessage>(m)),
            );
            token = result.paging.and_then(|p| p.next_page_token);
            match &token {
                Some(t) if seen_tokens.insert(t.clone()) => {}
                _ => break,
            }
        }
        Ok(history)
    }
}

/// What one history read should cover and what marker it leaves behind.
struct Read {
    chat_id: String,
    from: Option<i64>,
    /// The chat as the waiting list showed it; `None` when it is not there.
    listed: Option<ChatInfo>,
}

/// The `GetChatsRequest` we send: only chats that wait for the shop.
fn chats_request_body() -> Value {
    json!({ "statuses": WAITING_STATUSES })
}

/// The `GetChatHistoryRequest` we send: `messageIdFrom` is an int64, and
/// absent (not 0: the minimum is 1) when we have no message yet.
fn history_request_body(from: Option<i64>) -> Value {
    match from {
        Some(id) => json!({ "messageIdFrom": id }),
        None => json!({}),
    }
}

/// The `SendMessageToChatRequest` we send.
fn send_request_body(text: &str) -> Value {
    json!({ "message": text })
}

fn chat_id_param(chat_id: &str) -> Option<i64> {
    chat_id.trim().parse::<i64>().ok().filter(|id| *id > 0)
}

#[async_trait]
impl Connector for YandexMarketClient {
    fn marketplace(&self) -> Marketplace {
        Marketplace::YandexMarket
    }

    fn discovery(&self) -> Discovery {
        Discovery::PerChat
    }

    async fn poll(
        &self,
        _cursor: Option<&str>,
        known: &KnownChats,
    ) -> Result<InboundBatch, MarketError> {
        let listed = self.list_waiting_chats().await?;
        let mut reads = Vec::new();
        let mut listed_ids = HashSet::new();
        for chat in listed {
            let Some(chat_id) = chat.chat_id.clone() else {
                continue;
            };
            if !listed_ids.insert(chat_id.clone()) {
                continue;
            }
            let mark = known.get(&chat_id);
            let settled = chat.updated_at.as_deref().map(settled_marker);
            let changed = mark.is_none_or(|m| m.marker.is_none() || m.marker != settled);
            if changed || mark.is_some_and(|m| m.unsettled_send) {
                reads.push(Read {
                    from: mark
                        .and_then(|m| m.last_message_id.as_deref())
                        .and_then(chat_id_param),
                    chat_id,
                    listed: Some(chat),
                });
            }
        }
        // Chats that left the waiting list since we last looked were answered
        // (or closed): one more read shows by whom.
        let mut gone: Vec<_> = known
            .iter()
            .filter(|(id, m)| {
                !listed_ids.contains(*id)
                    && (m.unsettled_send || m.marker.as_deref() != Some(MARKER_ANSWERED))
            })
            .collect();
        gone.sort_by(|a, b| b.1.unsettled_send.cmp(&a.1.unsettled_send));
        for (id, mark) in gone {
            if chat_id_param(id).is_none() {
                continue;
            }
            reads.push(Read {
                chat_id: id.clone(),
                from: mark.last_message_id.as_deref().and_then(chat_id_param),
                listed: None,
            });
        }
        // Sends waiting to be reconciled first, so a long backlog never delays them.
        reads.sort_by_key(|r| !known.get(&r.chat_id).is_some_and(|m| m.unsettled_send));
        let more = reads.len() > MAX_HISTORIES_PER_POLL;
        reads.truncate(MAX_HISTORIES_PER_POLL);

        // The first failure ends the poll: a partial read must not pass for a
        // complete one (that is what proves an unknown send absent).
        let results: Vec<(Read, Option<History>)> = stream::iter(reads)
            .map(|read| async move {
                match self.read_history(&read.chat_id, read.from).await {
                    Ok(h) => Ok((read, Some(h))),
                    // A chat that no longer exists has nothing more to say.
                    Err(MarketError::Invalid(d)) if read.listed.is_none() && d.contains("404") => {
                        Ok((read, None))
                    }
                    Err(e) => Err(e),
                }
            })
            .buffer_unordered(self.max_parallel)
            .try_collect()
            .await?;

        let mut batch = InboundBatch {
            more,
            ..InboundBatch::default()
        };
        for (read, history) in results {
            let mut update = ChatUpdate {
                chat_id: read.chat_id.clone(),
                reply_handle: Some(read.chat_id.clone()),
                ..ChatUpdate::default()
            };
            let listed_context = read.listed.as_ref().and_then(|c| c.context.clone());
            let listed_order = read.listed.as_ref().and_then(|c| c.order_id.clone());
            let (context, order_id) = match &history {
                Some(h) => (
                    h.context.clone().or(listed_context),
                    h.order_id.clone().or(listed_order),
                ),
                None => (listed_context, listed_order),
            };
            if let Some(ctx) = &context {
                update.buyer_name = ctx.customer.as_ref().and_then(|c| c.name.clone());
            }
            update.order = order_context(context.as_ref(), order_id);
            update.marker = Some(match (&read.listed, &history) {
                (Some(chat), Some(h)) => match chat.updated_at.as_deref() {
                    Some(updated) if is_settled(updated, h.server_now) => settled_marker(updated),
                    Some(updated) => format!("unsettled:{updated}"),
                    None => "unsettled".into(),
                },
                (Some(chat), None) => {
                    format!("unsettled:{}", chat.updated_at.as_deref().unwrap_or(""))
                }
                (None, _) => MARKER_ANSWERED.into(),
            });
            if let Some(h) = history {
                batch.messages.extend(
                    h.messages
                        .into_iter()
                        .filter_map(|m| m.into_message(&read.chat_id)),
                );
            }
            batch.chats.push(update);
        }
        Ok(batch)
    }

    async fn refresh_chats(&self) -> Result<Vec<ChatUpdate>, MarketError> {
        Ok(self
            .list_waiting_chats()
            .await?
            .into_iter()
            .filter_map(|chat| {
                let chat_id = chat.chat_id.clone()?;
                Some(ChatUpdate {
                    reply_handle: Some(chat_id.clone()),
                    chat_id,
                    buyer_name: chat
                        .context
                        .as_ref()
                        .and_then(|c| c.customer.as_ref())
                        .and_then(|c| c.name.clone()),
                    order: order_context(chat.context.as_ref(), chat.order_id.clone()),
                    marker: None,
                })
            })
            .collect())
    }

    async fn send(&self, chat: ChatRef<'_>, text: &ReplyText) -> Result<Delivery, SendError> {
        let raw_id = chat.reply_handle.unwrap_or(chat.external_id);
        let Some(chat_id) = chat_id_param(raw_id) else {
            return Err(SendError::NotDelivered(MarketError::Invalid(format!(
                "у чата Яндекс Маркета должен быть числовой идентификатор, а не «{raw_id}»"
            ))));
        };
        let request = self
            .http
            .post(self.url("chats/message"))
            .query(&[("chatId", chat_id.to_string())])
            .json(&send_request_body(text.as_str()));
        let (response, _turn, _slot) = match self
            .exchange(Method::SendMessage, Purpose::Send, request)
            .await
        {
            Ok(r) => r,
            Err(Exchange::Spent(retry_after)) => {
                return Err(SendError::NotDelivered(MarketError::RateLimited {
                    retry_after,
                }));
            }
            Err(Exchange::Transport(e)) => return Err(classify_transport_error(&e)),
        };
        let status = response.status();
        if status.is_server_error() {
            // A write that failed on the server side may still have been applied.
            let detail = error_detail(response).await;
            return Err(SendError::Unknown(format!(
                "Яндекс Маркет ответил {status}: {detail}"
            )));
        }
        if status.as_u16() == 420 {
            return Err(SendError::NotDelivered(
                self.throttled(Method::SendMessage, response).await,
            ));
        }
        if !status.is_success() {
            let detail = error_detail(response).await;
            let lower = detail.to_lowercase();
            if status == StatusCode::BAD_REQUEST
                && ["closed", "finished", "закрыт", "заверш"]
                    .iter()
                    .any(|w| lower.contains(w))
            {
                return Err(SendError::NotDelivered(MarketError::ChatClosed(format!(
                    "Яндекс Маркет ответил {status}: {detail}"
                ))));
            }
            return Err(SendError::NotDelivered(self.error_for(status, detail)));
        }
        let body = response.text().await.map_err(|e| {
            SendError::Unknown(format!(
                "ответ на отправку оборвался: {}",
                describe_transport_error(&e)
            ))
        })?;
        let parsed: Option<Value> = serde_json::from_str(&body).ok();
        match parsed
            .as_ref()
            .and_then(|v| v.get("status"))
            .and_then(Value::as_str)
        {
            Some("OK") => Ok(Delivery {
                message_id: None,
                sent_at: None,
            }),
            _ => Err(SendError::Unknown(format!(
                "непонятный ответ на отправку: {}",
                body.chars().take(200).collect::<String>()
            ))),
        }
    }
}

// ---- wire types ----------------------------------------------------------

/// `ApiResponse`: `{status, result}`.
#[derive(Debug, Default, Deserialize)]
struct Envelope<T> {
    result: Option<T>,
}

/// `GetChatsInfoDTO`. Chats are kept as raw JSON so one odd chat cannot hide
/// the others.
#[derive(Debug, Default, Deserialize)]
struct ChatsResult {
    #[serde(default, deserialize_with = "vec_or_null")]
    chats: Vec<Value>,
    paging: Option<Paging>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Paging {
    #[serde(default, deserialize_with = "id_string")]
    next_page_token: Option<String>,
}

/// `GetChatInfoDTO`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChatInfo {
    #[serde(default, deserialize_with = "id_string")]
    chat_id: Option<String>,
    /// Deprecated top-level order id.
    #[serde(default, deserialize_with = "id_string")]
    order_id: Option<String>,
    #[serde(default, deserialize_with = "object_or_null")]
    context: Option<ChatContext>,
    #[serde(default, deserialize_with = "id_string")]
    updated_at: Option<String>,
}

/// `ChatFullContextDTO`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChatContext {
    #[serde(default, rename = "type", deserialize_with = "id_string")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "object_or_null")]
    customer: Option<Customer>,
    #[serde(default, deserialize_with = "id_string")]
    order_id: Option<String>,
    #[serde(default, deserialize_with = "id_string")]
    return_id: Option<String>,
}

/// `ChatCustomerDTO`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Customer {
    #[serde(default, deserialize_with = "id_string")]
    name: Option<String>,
}

/// `ChatMessagesResultDTO`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryResult {
    #[serde(default, deserialize_with = "id_string")]
    order_id: Option<String>,
    context: Option<Value>,
    #[serde(default, deserialize_with = "vec_or_null")]
    messages: Vec<Value>,
    paging: Option<Paging>,
}

#[derive(Debug, Default)]
struct History {
    context: Option<ChatContext>,
    order_id: Option<String>,
    messages: Vec<ChatMessage>,
    /// The server's clock when the last page was read.
    server_now: Option<Millis>,
}

/// `ChatMessageDTO`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChatMessage {
    #[serde(default, deserialize_with = "id_string")]
    message_id: Option<String>,
    #[serde(default, deserialize_with = "id_string")]
    created_at: Option<String>,
    #[serde(default, deserialize_with = "id_string")]
    sender: Option<String>,
    #[serde(default, deserialize_with = "id_string")]
    message: Option<String>,
    #[serde(default)]
    payload: Option<Value>,
}

impl ChatMessage {
    fn into_message(self, chat_id: &str) -> Option<InboundMessage> {
        let id = self.message_id?;
        let author = match self.sender.as_deref() {
            Some("CUSTOMER") => Author::Buyer,
            Some("PARTNER") => Author::Seller,
            // MARKET (automatic notices), SUPPORT and anything new.
            _ => Author::System,
        };
        let attachments = match self.payload {
            Some(p @ Value::Array(_)) if p.as_array().is_some_and(|a| !a.is_empty()) => {
                json!({ "files": p })
            }
            _ => Value::Null,
        };
        Some(InboundMessage {
            chat_id: chat_id.to_string(),
            id,
            author,
            // The history shows every shop message as PARTNER, whether it came
            // through the API or from a person in the cabinet.
            via_api: author == Author::Seller,
            channel: None,
            text: self.message.unwrap_or_default(),
            attachments,
            created_at: self
                .created_at
                .as_deref()
                .and_then(parse_time)
                .unwrap_or_else(now_ms),
            read_at: None,
        })
    }
}

fn order_context(context: Option<&ChatContext>, order_id: Option<String>) -> Option<OrderContext> {
    let ctx = context?;
    let chat_kind = ctx.kind.as_deref().map(|k| match k {
        "ORDER" => "order".to_string(),
        "RETURN" => "return".to_string(),
        "DIRECT" => "direct".to_string(),
        other => other.to_lowercase(),
    });
    let order = OrderContext {
        order_id: ctx.order_id.clone().or(order_id),
        return_id: ctx.return_id.clone(),
        chat_kind,
        ..OrderContext::default()
    };
    (!order.is_empty()).then_some(order)
}

fn settled_marker(updated_at: &str) -> String {
    format!("updated:{updated_at}")
}

/// Whether a read at `server_now` surely saw every message of a chat last
/// updated at `updated_at` (one-second precision).
fn is_settled(updated_at: &str, server_now: Option<Millis>) -> bool {
    let Some(updated) = parse_time(updated_at) else {
        return true;
    };
    let updated_sec = updated.div_euclid(1000);
    match server_now {
        Some(now) => now.div_euclid(1000) >= updated_sec + SETTLE_SECS,
        None => now_ms() >= updated + SETTLE_OWN_CLOCK_MS,
    }
}

/// ISO 8601 with an offset, e.g. `2017-11-21T00:00:00+03:00`, in ms.
fn parse_time(s: &str) -> Option<Millis> {
    s.trim()
        .parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

fn header_str<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// An RFC 822 date (`Thu, 10 Jul 2018 00:42:42 GMT`) in ms.
fn parse_http_date(s: &str) -> Option<Millis> {
    static PARSER: jiff::fmt::rfc2822::DateTimeParser = jiff::fmt::rfc2822::DateTimeParser::new();
    PARSER
        .parse_timestamp(s.trim())
        .ok()
        .map(|t| t.as_millisecond())
}

/// The server's clock, from its `Date` header.
fn server_date(headers: &reqwest::header::HeaderMap) -> Option<Millis> {
    headers
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_http_date)
}

/// How long until `X-RateLimit-Resource-Until`, measured on the server's
/// clock when it sent a `Date` (ours otherwise).
fn limit_wait(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let until = headers
        .get("X-RateLimit-Resource-Until")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_http_date)?;
    let now = server_date(headers).unwrap_or_else(now_ms);
    Some(Duration::from_millis(until.saturating_sub(now).max(0) as u64).min(MAX_LIMIT_WAIT))
}

/// `ApiErrorResponse`: `{status: "ERROR", errors: [{code, message}]}`, as
/// `CODE: message; …`, or the start of whatever else came.
async fn error_detail(response: Response) -> String {
    let text = response.text().await.unwrap_or_default();
    error_detail_from(&text)
}

fn error_detail_from(text: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(text).ok();
    let errors = parsed
        .as_ref()
        .and_then(|v| v.get("errors"))
        .and_then(Value::as_array);
    match errors {
        Some(list) if !list.is_empty() => list
            .iter()
            .map(|e| {
                let code = e.get("code").and_then(Value::as_str).unwrap_or("");
                let message = e.get("message").and_then(Value::as_str).unwrap_or("");
                match (code.is_empty(), message.is_empty()) {
                    (false, false) => format!("{code}: {message}"),
                    (false, true) => code.to_string(),
                    _ => message.to_string(),
                }
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => text.chars().take(200).collect(),
    }
}

// ---- lenient JSON ---------------------------------------------------------

fn lenient<T: for<'de> Deserialize<'de> + Default>(value: Value) -> T {
    serde_json::from_value(value).unwrap_or_default()
}

fn lenient_opt<T: for<'de> Deserialize<'de>>(value: Value) -> Option<T> {
    serde_json::from_value(value).ok()
}

/// A string, or a number kept digit for digit (int64 ids never pass through a
/// float); anything else is absent.
fn id_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

fn vec_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Value>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(a) => a,
        _ => Vec::new(),
    })
}

fn object_or_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: for<'x> Deserialize<'x>,
{
    Ok(match Value::deserialize(d)? {
        v @ Value::Object(_) => serde_json::from_value(v).ok(),
        _ => None,
    })
}
