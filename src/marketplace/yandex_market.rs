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
//! unknown outcome are read on every poll until it is settled. One poll
//! reads at most 40 histories, and starts none after two seconds once one
//! is read, so what it read is stored soon even from a slow server.
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

use super::limits::{Budget, Purpose, READ_TIME, ReadDeadline, RequestGate, Turn};
use super::reads::{self, Listed, Rules};
use super::{
    ChatRef, Connector, Delivery, Discovery, MarketError, SendError, classify_transport_error,
    describe_transport_error, http_client, status_and_detail,
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
/// Most requests one `poll` makes, list and history pages together.
pub const MAX_REQUESTS_PER_POLL: usize = 100;
/// Most chat-list pages one `poll` reads (1000 chats), so histories always
/// get the rest of the budget.
const MAX_LIST_PAGES: usize = 50;
/// A chat's `updatedAt` has one-second precision: a message written in the
/// same second as our read would not change it. The marker is trusted only
/// once the server's clock (`Date`) is this far past `updatedAt`.
const SETTLE_SECS: i64 = 2;
/// Without a `Date` header our own clock decides, with room for skew.
const SETTLE_OWN_CLOCK_MS: i64 = 5_000;
/// Longest pause of every request after a 420 that names no resource.
const UNNAMED_LIMIT_PAUSE: Duration = Duration::from_secs(60);
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
    /// Client-side limit: at most this many requests...
    pub rate_limit_requests: u32,
    /// ...per this period.
    pub rate_limit_period: Duration,
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
    /// See [`READ_TIME`].
    read_time: Duration,
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
            gate: RequestGate::new(
                config.rate_limit_requests,
                config.rate_limit_period,
                Some(max_parallel),
            ),
            max_parallel,
            parallel: Parallel::new(max_parallel),
            spent: Mutex::new(HashMap::new()),
            read_time: READ_TIME,
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
        // Another request may have spent the limit while this one waited.
        if let Some(wait) = self.spent_for(method) {
            return Err(Exchange::Spent(wait));
        }
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
        self.gate.note_throttled();
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
        if parallel {
            self.gate.block_for(retry_after);
        } else {
            // A limit of this method ("… for resource R"): the other methods
            // (sends above all) go on, and this one is not called before
            // `-Until`. A 420 that names no resource holds every request
            // back for a while too, but never parks one for hours.
            self.spend_until(method, retry_after);
            if !detail.contains("resource") {
                self.gate.block_for(retry_after.min(UNNAMED_LIMIT_PAUSE));
            }
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
        if is_throttle(status) {
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
            StatusCode::NOT_FOUND => {
                MarketError::NotFound(format!("Яндекс Маркет ответил 404: {detail}"))
            }
            StatusCode::LOCKED => {
                MarketError::Unavailable(format!("Яндекс Маркет ответил 423: {detail}"))
            }
            s if s.is_server_error() => MarketError::Unavailable(format!(
                "Яндекс Маркет ответил {}",
                status_and_detail(s, &detail)
            )),
            s => MarketError::Invalid(format!(
                "Яндекс Маркет ответил {}",
                status_and_detail(s, &detail)
            )),
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

    /// Every chat that waits for the shop, all pages, and whether that was
    /// really all of them (the page guard did not cut the list short).
    async fn list_waiting_chats(
        &self,
        budget: &Budget,
    ) -> Result<(Vec<ChatInfo>, bool), MarketError> {
        let mut chats = Vec::new();
        let mut token: Option<String> = None;
        let mut seen_tokens = HashSet::new();
        for _ in 0..MAX_LIST_PAGES {
            if !budget.take() {
                break;
            }
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
            chats.extend(result.chats.into_iter().filter_map(lenient_opt::<ChatInfo>));
            token = result.paging.and_then(|p| p.next_page_token);
            match &token {
                Some(t) if seen_tokens.insert(t.clone()) => {}
                Some(_) => return Ok((chats, false)),
                None => return Ok((chats, true)),
            }
        }
        Ok((chats, false))
    }

    /// A chat's messages from `from` on (inclusive), all pages; `None` when
    /// the budget ran out first.
    async fn read_history(
        &self,
        chat_id: &str,
        from: Option<i64>,
        budget: &Budget,
    ) -> Result<Option<History>, MarketError> {
        let mut history = History::default();
        let mut token: Option<String> = None;
        let mut seen_tokens = HashSet::new();
        loop {
            if !budget.take() {
                return Ok(None);
            }
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
                    .filter_map(lenient_opt::<ChatMessage>),
            );
            token = result.paging.and_then(|p| p.next_page_token);
            match &token {
                Some(t) if seen_tokens.insert(t.clone()) => {}
                Some(_) => {
                    history.stuck = true;
                    return Ok(Some(history));
                }
                None => return Ok(Some(history)),
            }
        }
    }
}

/// `420 Enhance Your Calm`, the API's throttle answer; a 429 from anything in
/// between means the same.
fn is_throttle(status: StatusCode) -> bool {
    status.as_u16() == 420 || status == StatusCode::TOO_MANY_REQUESTS
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
        let (listed, complete) = self.list_waiting_chats(&budget).await?;
        let settled: Vec<Option<String>> = listed
            .iter()
            .map(|c| c.updated_at.as_deref().map(settled_marker))
            .collect();
        let entries: Vec<Listed> = listed
            .iter()
            .zip(&settled)
            .filter_map(|(chat, marker)| {
                Some(Listed {
                    chat_id: chat.chat_id.as_deref()?,
                    marker: marker.as_deref(),
                })
            })
            .collect();
        // The list shows only chats waiting for the shop: one that left it
        // since we last looked was answered (or closed), and one more read
        // shows by whom. Sends waiting to be reconciled go first, so a long
        // backlog never delays them.
        let rules = Rules {
            max_reads: Some(MAX_HISTORIES_PER_POLL),
            list_complete: complete,
            left_list: Some(MARKER_ANSWERED),
            receipts: None,
        };
        let plan = reads::plan(&entries, known, rules);
        let mut more = plan.more;
        let reads: Vec<Read> = plan
            .reads
            .into_iter()
            .filter_map(|read| {
                let listed = listed
                    .iter()
                    .find(|c| c.chat_id.as_deref() == Some(&read.chat_id))
                    .cloned();
                // Only numeric ids can be asked about.
                chat_id_param(&read.chat_id)?;
                Some(Read {
                    from: read.from.as_deref().and_then(chat_id_param),
                    chat_id: read.chat_id,
                    listed,
                })
            })
            .collect();

        // The first failure ends the poll: a partial read must not pass for a
        // complete one (that is what proves an unknown send absent).
        // A history the budget cut short is read whole on a later poll.
        // A history not started because time ran out is `None`, like one the
        // budget cut short: `more` is set and it is read on the next poll.
        let budget = &budget;
        let deadline = ReadDeadline::after(self.read_time);
        let histories_read = &AtomicUsize::new(0);
        let results: Vec<Option<(Read, Option<History>)>> = stream::iter(reads)
            .map(|read| async move {
                if !deadline.may_start(histories_read.load(Ordering::SeqCst) > 0) {
                    return Ok(None);
                }
                let history = self.read_history(&read.chat_id, read.from, budget).await;
                histories_read.fetch_add(1, Ordering::SeqCst);
                match history {
                    Ok(Some(h)) => Ok(Some((read, Some(h)))),
                    Ok(None) => Ok(None),
                    // A chat that no longer exists has nothing more to say.
                    Err(MarketError::NotFound(_)) if read.listed.is_none() => {
                        Ok(Some((read, None)))
                    }
                    Err(e) => Err(e),
                }
            })
            .buffer_unordered(self.max_parallel)
            .try_collect()
            .await?;
        more |= results.iter().any(Option::is_none);
        let results = results.into_iter().flatten();

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
                if h.stuck {
                    batch.unverified.push(read.chat_id.clone());
                }
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
            .list_waiting_chats(&Budget::new(MAX_LIST_PAGES))
            .await?
            .0
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
                "Яндекс Маркет ответил {}",
                status_and_detail(status, &detail)
            )));
        }
        if is_throttle(status) {
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
                    "Яндекс Маркет ответил {}",
                    status_and_detail(status, &detail)
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
    /// A page token came back a second time: the server's paging stopped
    /// moving, and what was not read cannot be proven absent.
    stuck: bool,
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

/// An RFC 822 date (`Thu, 10 Jul 2018 00:42:42 GMT`) in ms. The weekday is
/// optional in RFC 822 and ignored here: the docs' own example names the
/// wrong one (10 Jul 2018 was a Tuesday).
fn parse_http_date(s: &str) -> Option<Millis> {
    static PARSER: jiff::fmt::rfc2822::DateTimeParser = jiff::fmt::rfc2822::DateTimeParser::new();
    let s = s.trim();
    let s = match s.split_once(',') {
        Some((weekday, rest)) if weekday.trim().chars().all(|c| c.is_ascii_alphabetic()) => rest,
        _ => s,
    };
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
/// clock (its `Date`) unless ours agrees with it.
fn limit_wait(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let until = headers
        .get("X-RateLimit-Resource-Until")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_http_date)?;
    let ours = now_ms();
    // `Date` has whole seconds: when our clock agrees with it to the second,
    // ours is the finer measure; when it does not, the server's clock rules.
    let now = match server_date(headers) {
        Some(date) if !(date..date + 1000).contains(&ours) => date,
        _ => ours,
    };
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

/// Built from `[shops.<id>.yandex_market]`, reviews and questions from its
/// `feedback` subsection with the same credentials.
impl super::Connect for crate::config::YandexMarketSettings {
    fn connector(
        &self,
        what: &str,
        base_dir: &std::path::Path,
    ) -> Result<super::DynConnector, String> {
        let api_key = self.resolve_api_key(what, base_dir)?;
        Ok(std::sync::Arc::new(YandexMarketClient::new(
            YandexMarketConfig {
                base_url: self.base_url.clone(),
                business_id: self.business_id,
                api_key,
                timeout: self.timeout.0,
                max_parallel: self.max_parallel,
                rate_limit_requests: self.rate_limit_requests,
                rate_limit_period: self.rate_limit_period.0,
            },
        )))
    }

    fn feedback_connector(
        &self,
        what: &str,
        base_dir: &std::path::Path,
    ) -> Option<super::DynFeedbackConnector> {
        use super::feedback::yandex_market::{YandexMarketFeedback, YandexMarketFeedbackConfig};
        let fb = self.feedback.as_ref()?;
        let api_key = self.resolve_api_key(what, base_dir).ok()?;
        let mut config = YandexMarketFeedbackConfig::new(&self.base_url, self.business_id, api_key);
        super::feedback::pace(
            fb,
            &mut config.base_url,
            &mut config.timeout,
            self.timeout.0,
            &mut config.rate_limit_requests,
            &mut config.rate_limit_period,
        );
        Some(std::sync::Arc::new(YandexMarketFeedback::new(config)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ChatMark;
    use wiremock::matchers::{body_json, header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    /// Examples from the docs crawl (`docs-crawl-2025-09/reference/chats/*.md`).
    const SPEC_CHATS_REQUEST: &str =
        include_str!("../../tests/fixtures/yandex_market/get_chats.request.json");
    const SPEC_CHATS: &str =
        include_str!("../../tests/fixtures/yandex_market/get_chats.response.json");
    const SPEC_HISTORY_REQUEST: &str =
        include_str!("../../tests/fixtures/yandex_market/get_chat_history.request.json");
    const SPEC_HISTORY: &str =
        include_str!("../../tests/fixtures/yandex_market/get_chat_history.response.json");
    const SPEC_SEND_REQUEST: &str =
        include_str!("../../tests/fixtures/yandex_market/send_message.request.json");
    const SPEC_SEND: &str =
        include_str!("../../tests/fixtures/yandex_market/send_message.response.json");
    const SPEC_ERROR: &str = include_str!("../../tests/fixtures/yandex_market/error.response.json");
    /// `ChatStatusType.yaml`.
    const SPEC_STATUSES: [&str; 6] = [
        "NEW",
        "WAITING_FOR_CUSTOMER",
        "WAITING_FOR_PARTNER",
        "WAITING_FOR_ARBITER",
        "WAITING_FOR_MARKET",
        "FINISHED",
    ];
    const BIG_ID: i64 = 9_007_199_254_740_993;

    fn client(base_url: &str, max_parallel: usize) -> YandexMarketClient {
        YandexMarketClient::new(YandexMarketConfig {
            base_url: base_url.to_string(),
            business_id: 42,
            api_key: SecretString::from("ACMA:key:151c0664"),
            timeout: Duration::from_secs(2),
            max_parallel,
            rate_limit_requests: 1000,
            rate_limit_period: Duration::from_secs(1),
        })
    }

    /// Answers every request with a page token never seen before.
    struct FreshTokens(AtomicUsize, fn(usize) -> Value);

    impl wiremock::Respond for FreshTokens {
        fn respond(&self, _: &wiremock::Request) -> wiremock::ResponseTemplate {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            wiremock::ResponseTemplate::new(200).set_body_json(json!({
                "status": "OK",
                "result": (self.1)(n),
            }))
        }
    }

    #[tokio::test]
    async fn a_poll_makes_at_most_its_budget_of_requests_however_many_pages_are_offered() {
        use wiremock::matchers::{method, path};
        use wiremock::{Mock, MockServer};
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v2/businesses/42/chats"))
            .respond_with(FreshTokens(AtomicUsize::new(0), |n| {
                json!({
                    "chats": [{ "chatId": n + 1, "updatedAt": "2025-01-01T00:00:00Z" }],
                    "paging": { "nextPageToken": format!("list-{n}") },
                })
            }))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v2/businesses/42/chats/history"))
            .respond_with(FreshTokens(AtomicUsize::new(0), |n| {
                json!({ "messages": [], "paging": { "nextPageToken": format!("history-{n}") } })
            }))
            .mount(&server)
            .await;
        let c = client(&server.uri(), 2);
        let batch = c.poll(None, &KnownChats::new()).await.unwrap();
        let requests = server.received_requests().await.unwrap().len();
        assert!(
            requests <= MAX_REQUESTS_PER_POLL,
            "{requests} requests in one poll"
        );
        assert!(batch.more, "the chats not read are read on a later poll");
    }

    fn text(s: &str) -> ReplyText {
        ReplyText::parse(s, MAX_MESSAGE_CHARS).unwrap()
    }

    fn chat(id: &str) -> ChatRef<'_> {
        ChatRef {
            external_id: id,
            reply_handle: Some(id),
        }
    }

    #[test]
    fn the_spec_chat_list_example_parses_into_chats_and_order_context() {
        let page: Envelope<ChatsResult> = lenient(serde_json::from_str(SPEC_CHATS).unwrap());
        let result = page.result.unwrap();
        assert_eq!(
            result.paging.unwrap().next_page_token.as_deref(),
            Some("string")
        );
        let chats: Vec<ChatInfo> = result.chats.into_iter().filter_map(lenient_opt).collect();
        assert_eq!(chats.len(), 1);
        let c = &chats[0];
        assert_eq!(c.chat_id.as_deref(), Some("0"));
        assert_eq!(c.updated_at.as_deref(), Some("2017-11-21T00:00:00+03:00"));
        let order = order_context(c.context.as_ref(), c.order_id.clone()).unwrap();
        assert_eq!(order.chat_kind.as_deref(), Some("order"));
        assert_eq!(order.order_id.as_deref(), Some("0"));
        assert_eq!(order.return_id.as_deref(), Some("0"));
    }

    #[test]
    fn the_spec_history_example_parses_into_messages() {
        let page: Envelope<HistoryResult> = lenient(serde_json::from_str(SPEC_HISTORY).unwrap());
        let result = page.result.unwrap();
        assert_eq!(result.order_id.as_deref(), Some("0"));
        let messages: Vec<InboundMessage> = result
            .messages
            .into_iter()
            .filter_map(lenient_opt::<ChatMessage>)
            .filter_map(|m| m.into_message("7"))
            .collect();
        assert_eq!(messages.len(), 1);
        let m = &messages[0];
        assert_eq!(m.id, "0");
        assert_eq!(m.chat_id, "7");
        assert_eq!(m.author, Author::Seller);
        assert!(m.via_api, "a PARTNER message may be our API send");
        assert_eq!(m.text, "string");
        assert_eq!(m.created_at, 1_511_211_600_000, "2017-11-21T00:00:00+03:00");
        assert_eq!(m.attachments["files"][0]["name"], "string");
    }

    #[test]
    fn the_spec_send_answer_and_error_example_are_understood() {
        let ok: Value = serde_json::from_str(SPEC_SEND).unwrap();
        assert_eq!(ok["status"], "OK");
        assert_eq!(
            error_detail_from(SPEC_ERROR),
            "UNAUTHORIZED: Api-Key token is invalid"
        );
        assert_eq!(
            error_detail_from("<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
    }

    /// Our bodies use only the fields the spec's examples show, with the same JSON types.
    #[test]
    fn request_bodies_follow_the_spec() {
        let spec: Value = serde_json::from_str(SPEC_CHATS_REQUEST).unwrap();
        let ours = chats_request_body();
        for (key, value) in ours.as_object().unwrap() {
            let items = value.as_array().unwrap();
            assert!(spec.get(key).is_some_and(Value::is_array), "{key}");
            assert!(!items.is_empty(), "minItems: 1");
            for s in items {
                assert!(SPEC_STATUSES.contains(&s.as_str().unwrap()), "{s}");
            }
            let unique: HashSet<_> = items.iter().map(Value::to_string).collect();
            assert_eq!(unique.len(), items.len(), "uniqueItems");
        }
        assert_eq!(ours["statuses"], json!(["NEW", "WAITING_FOR_PARTNER"]));

        let spec: Value = serde_json::from_str(SPEC_HISTORY_REQUEST).unwrap();
        let ours = history_request_body(Some(BIG_ID));
        assert!(spec["messageIdFrom"].is_i64());
        assert_eq!(
            ours["messageIdFrom"].as_i64(),
            Some(BIG_ID),
            "an int64, digit for digit"
        );
        assert_eq!(
            history_request_body(None),
            json!({}),
            "never 0 (minimum: 1)"
        );

        let spec: Value = serde_json::from_str(SPEC_SEND_REQUEST).unwrap();
        let ours = send_request_body("Здравствуйте!");
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&ours), keys(&spec));
        assert!(ours["message"].is_string());
    }

    #[test]
    fn odd_json_is_read_without_panicking() {
        let page: Envelope<HistoryResult> = lenient(json!({
            "status": "OK",
            "result": {
                "context": { "type": "SOMETHING_NEW", "orderId": "123", "customer": null },
                "messages": [
                    { "messageId": "9223372036854775807", "createdAt": "2025-01-16T10:09:49+03:00", "sender": "CUSTOMER", "message": "привет", "extra": 1 },
                    { "messageId": 9223372036854775806i64, "sender": "BOT", "payload": null },
                    { "createdAt": "nonsense", "sender": "SUPPORT", "message": "no id" },
                    "garbage",
                    { "messageId": { "x": 1 }, "sender": 5 }
                ],
                "paging": null
            }
        }));
        let result = page.result.unwrap();
        let context: ChatContext = lenient_opt(result.context.unwrap()).unwrap();
        let order = order_context(Some(&context), None).unwrap();
        assert_eq!(order.order_id.as_deref(), Some("123"));
        assert_eq!(order.chat_kind.as_deref(), Some("something_new"));
        let messages: Vec<InboundMessage> = result
            .messages
            .into_iter()
            .filter_map(lenient_opt::<ChatMessage>)
            .filter_map(|m| m.into_message("1"))
            .collect();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].id, "9223372036854775807");
        assert_eq!(messages[0].author, Author::Buyer);
        assert!(!messages[0].via_api);
        assert_eq!(messages[1].id, "9223372036854775806");
        assert_eq!(
            messages[1].author,
            Author::System,
            "unknown senders are not the buyer"
        );
        assert!(messages[1].attachments.is_null());

        let empty: Envelope<ChatsResult> =
            lenient(json!({ "status": "OK", "result": { "chats": null } }));
        assert!(empty.result.unwrap().chats.is_empty());
        let broken: Envelope<ChatsResult> = lenient(json!("not an object"));
        assert!(broken.result.is_none());
    }

    #[test]
    fn dates_and_limits_are_read_from_their_formats() {
        assert_eq!(
            parse_http_date("Thu, 10 Jul 2018 00:42:42 GMT"),
            Some(1_531_183_362_000)
        );
        assert_eq!(
            parse_time("2017-11-21T00:00:00+03:00"),
            Some(1_511_211_600_000)
        );
        assert_eq!(
            parse_time("2017-11-21T00:00:00.250Z"),
            Some(1_511_222_400_250)
        );
        assert_eq!(
            parallel_limit_in("LIMIT_EXCEEDED: Hit rate limit of 2 parallel requests"),
            Some(2)
        );
        // The wording our notes quote from the newer web docs.
        assert_eq!(
            parallel_limit_in("Hit rate limit of 4 parallel requests for campaignId 12345"),
            Some(4)
        );
        assert_eq!(
            parallel_limit_in("Hit rate limit of 1000 requests per 1 hour for resource R"),
            None
        );
        assert!(is_settled(
            "2025-01-16T10:09:49+03:00",
            Some(1_737_011_391_000)
        ));
        assert!(!is_settled(
            "2025-01-16T10:09:49+03:00",
            Some(1_737_011_390_999)
        ));
    }

    #[tokio::test]
    async fn a_send_posts_the_spec_body_and_maps_every_outcome() {
        let server = MockServer::start().await;
        let until = "Thu, 10 Jul 2018 00:43:12 GMT";
        let date = "Thu, 10 Jul 2018 00:42:42 GMT";
        let cases: Vec<(&str, ResponseTemplate)> = vec![
            ("1", ResponseTemplate::new(200).set_body_raw(SPEC_SEND, "application/json")),
            ("2", ResponseTemplate::new(500).set_body_raw(r#"{"status":"ERROR","errors":[{"code":"INTERNAL_SERVER_ERROR","message":"oops"}]}"#, "application/json")),
            ("3", ResponseTemplate::new(400).set_body_raw(r#"{"status":"ERROR","errors":[{"code":"BAD_REQUEST","message":"Chat is finished"}]}"#, "application/json")),
            ("4", ResponseTemplate::new(400).set_body_raw(r#"{"status":"ERROR","errors":[{"code":"BAD_REQUEST","message":"Missing field"}]}"#, "application/json")),
            ("5", ResponseTemplate::new(401).set_body_raw(SPEC_ERROR, "application/json")),
            ("6", ResponseTemplate::new(403).set_body_raw(r#"{"status":"ERROR","errors":[{"code":"FORBIDDEN","message":"Access denied"}]}"#, "application/json")),
            ("7", ResponseTemplate::new(420)
                .insert_header("Date", date)
                .insert_header("X-RateLimit-Resource-Until", until)
                .set_body_raw(r#"{"status":"ERROR","errors":[{"code":"LIMIT_EXCEEDED","message":"Hit rate limit of 1000 requests per 1 hour for resource /v2/businesses/{businessId}/chats/message"}]}"#, "application/json")),
            ("8", ResponseTemplate::new(200).set_body_raw("<html>", "text/html")),
            ("9", ResponseTemplate::new(200).set_body_raw(r#"{"status":"ERROR"}"#, "application/json")),
        ];
        for (id, response) in cases {
            Mock::given(method("POST"))
                .and(path("/v2/businesses/42/chats/message"))
                .and(query_param("chatId", id))
                .and(header("Api-Key", "ACMA:key:151c0664"))
                .and(body_json(json!({ "message": "Здравствуйте!" })))
                .respond_with(response)
                .mount(&server)
                .await;
        }
        let c = client(&server.uri(), 2);
        let hello = text("Здравствуйте!");
        let outcome = |id: &'static str| {
            let c = &c;
            let hello = &hello;
            async move { c.send(chat(id), hello).await }
        };
        assert_eq!(
            outcome("1").await.unwrap(),
            Delivery {
                message_id: None,
                sent_at: None
            },
            "the API returns no message id"
        );
        assert!(matches!(outcome("2").await, Err(SendError::Unknown(_))));
        assert!(matches!(
            outcome("3").await,
            Err(SendError::NotDelivered(MarketError::ChatClosed(_)))
        ));
        assert!(matches!(
            outcome("4").await,
            Err(SendError::NotDelivered(MarketError::Invalid(_)))
        ));
        assert!(matches!(
            outcome("5").await,
            Err(SendError::NotDelivered(MarketError::Auth(d))) if d.contains("401") && d.contains("Api-Key token is invalid")
        ));
        assert!(matches!(
            outcome("6").await,
            Err(SendError::NotDelivered(MarketError::Auth(d))) if d.contains("403") && d.contains("42")
        ));
        match outcome("7").await {
            Err(SendError::NotDelivered(MarketError::RateLimited { retry_after })) => {
                assert_eq!(
                    retry_after,
                    Duration::from_secs(30),
                    "-Until minus the server's Date"
                )
            }
            other => panic!("{other:?}"),
        }
        // The send method's limit is spent: nothing leaves before -Until.
        assert!(matches!(
            outcome("8").await,
            Err(SendError::NotDelivered(MarketError::RateLimited { .. }))
        ));
        c.spent.lock().unwrap().clear();
        assert!(matches!(outcome("8").await, Err(SendError::Unknown(_))));
        assert!(matches!(outcome("9").await, Err(SendError::Unknown(_))));
        assert!(matches!(
            c.send(chat("not-a-number"), &hello).await,
            Err(SendError::NotDelivered(MarketError::Invalid(_)))
        ));
    }

    #[tokio::test]
    async fn a_spent_hourly_limit_holds_the_method_until_the_until_header() {
        let server = MockServer::start().await;
        let until = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3600);
        let until = jiff::fmt::rfc2822::DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&until)
            .unwrap();
        Mock::given(method("POST"))
            .and(path("/v2/businesses/42/chats"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("X-RateLimit-Resource-Limit", "5000")
                    .insert_header("X-RateLimit-Resource-Remaining", "0")
                    .insert_header("X-RateLimit-Resource-Until", until.as_str())
                    .set_body_json(json!({ "status": "OK", "result": { "chats": [] } })),
            )
            .expect(1)
            .mount(&server)
            .await;
        let c = client(&server.uri(), 2);
        let batch = c.poll(None, &KnownChats::new()).await.unwrap();
        assert!(batch.chats.is_empty() && !batch.more);
        match c.poll(None, &KnownChats::new()).await {
            Err(MarketError::RateLimited { retry_after }) => {
                assert!(retry_after > Duration::from_secs(3500), "{retry_after:?}")
            }
            other => panic!("{other:?}"),
        }
        let sent = &server.received_requests().await.unwrap()[0];
        assert_eq!(sent.url.query(), Some("limit=20"));
        assert_eq!(
            serde_json::from_slice::<Value>(&sent.body).unwrap(),
            json!({ "statuses": ["NEW", "WAITING_FOR_PARTNER"] })
        );
    }

    #[tokio::test]
    async fn a_list_cut_short_does_not_pass_for_chats_leaving_it() {
        let server = MockServer::start().await;
        // A server that hands out the same page token again: the list is cut short.
        Mock::given(method("POST"))
            .and(path("/v2/businesses/42/chats"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "status": "OK",
                "result": { "chats": [], "paging": { "nextPageToken": "again" } }
            })))
            .expect(2)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v2/businesses/42/chats/history"))
            .and(query_param("chatId", "8"))
            .and(body_json(json!({ "messageIdFrom": 80 })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "status": "OK",
                "result": { "context": { "type": "DIRECT" }, "messages": [
                    { "messageId": 81, "createdAt": "2025-01-16T10:09:49+03:00", "sender": "PARTNER", "message": "Ответ" }
                ] }
            })))
            .expect(1)
            .mount(&server)
            .await;
        let mut known = KnownChats::new();
        known.insert(
            "7".into(),
            ChatMark {
                marker: Some("updated:2025-01-16T10:00:00+03:00".into()),
                last_message_id: Some("70".into()),
                ..ChatMark::default()
            },
        );
        known.insert(
            "8".into(),
            ChatMark {
                marker: Some(MARKER_ANSWERED.into()),
                last_message_id: Some("80".into()),
                unsettled_send: true,
                ..ChatMark::default()
            },
        );
        let batch = client(&server.uri(), 2).poll(None, &known).await.unwrap();
        assert_eq!(batch.chats.len(), 1, "only the chat with an unsettled send");
        assert_eq!(batch.chats[0].chat_id, "8");
        assert_eq!(batch.chats[0].reply_handle.as_deref(), Some("8"));
        assert_eq!(
            batch.chats[0].order.as_ref().unwrap().chat_kind.as_deref(),
            Some("direct")
        );
        assert_eq!(batch.messages.len(), 1);
        assert!(batch.messages[0].via_api);
    }

    #[tokio::test]
    async fn a_history_whose_page_token_repeats_is_reported_unverified() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v2/businesses/42/chats"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "status": "OK", "result": { "chats": [] }
            })))
            .mount(&server)
            .await;
        // The same page, with the same token, however often it is asked for.
        Mock::given(method("POST"))
            .and(path("/v2/businesses/42/chats/history"))
            .and(query_param("chatId", "8"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "status": "OK",
                "result": { "messages": [
                    { "messageId": 81, "createdAt": "2025-01-16T10:09:49+03:00", "sender": "CUSTOMER", "message": "Ну что там?" }
                ], "paging": { "nextPageToken": "again" } }
            })))
            .expect(2)
            .mount(&server)
            .await;
        let mut known = KnownChats::new();
        known.insert(
            "8".into(),
            ChatMark {
                last_message_id: Some("80".into()),
                unsettled_send: true,
                ..ChatMark::default()
            },
        );
        let batch = client(&server.uri(), 2).poll(None, &known).await.unwrap();
        assert_eq!(batch.unverified, ["8"], "what was not read proves nothing");
        assert!(!batch.more, "and reading it again would not get further");
        assert!(
            !batch.messages.is_empty() && batch.messages.iter().all(|m| m.id == "81"),
            "what was read is kept (the store takes each message once)"
        );
    }

    // ---- against the simulator ------------------------------------------------

    use crate::sim::{
        BuyerMessage, FaultSpec, PortalMessage, SellerConfig, Sim, SimConfig, SimHandle,
    };

    async fn sim() -> SimHandle {
        let mut config = SimConfig::documented();
        config.sellers.insert(
            "shop".into(),
            SellerConfig {
                ym_business_id: Some(42),
                ym_api_key: Some("ACMA:key:151c0664".into()),
                ..SellerConfig::default()
            },
        );
        Sim::new(config)
            .spawn("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap()
    }

    fn buyer(chat_id: Option<&str>, text: &str, at: Option<Millis>) -> BuyerMessage {
        BuyerMessage {
            marketplace: Marketplace::YandexMarket,
            text: text.into(),
            chat_id: chat_id.map(str::to_string),
            seller: None,
            client_name: Some("Алёна".into()),
            order: None,
            at,
        }
    }

    /// What the store would hand back after ingesting these batches.
    fn remember(known: &mut KnownChats, batch: &InboundBatch) {
        for u in &batch.chats {
            let mark = known.entry(u.chat_id.clone()).or_default();
            if u.marker.is_some() {
                mark.marker = u.marker.clone();
            }
        }
        for m in &batch.messages {
            let mark = known.entry(m.chat_id.clone()).or_default();
            let newer = mark
                .last_message_id
                .as_deref()
                .is_none_or(|id| id.parse::<i64>().unwrap() < m.id.parse::<i64>().unwrap());
            if newer {
                mark.last_message_id = Some(m.id.clone());
            }
        }
    }

    fn history_reads(sim: &SimHandle) -> usize {
        sim.sim
            .lock()
            .requests
            .iter()
            .filter(|r| r.path.ends_with("/chats/history"))
            .count()
    }

    #[tokio::test]
    async fn a_slow_server_gets_short_polls_that_each_store_something_and_together_read_all() {
        let sim = sim().await;
        let old = now_ms() - 600_000;
        for i in 0..12 {
            sim.sim
                .buyer_writes(buyer(None, &format!("вопрос {i}"), Some(old)))
                .unwrap();
        }
        sim.sim.add_fault(FaultSpec::slow(
            Marketplace::YandexMarket,
            "/chats/history",
            60,
        ));
        let mut c = client(&sim.url(), 2);
        c.read_time = Duration::from_millis(100);
        let mut known = KnownChats::new();
        let mut polls = Vec::new();
        loop {
            let batch = c.poll(None, &known).await.unwrap();
            remember(&mut known, &batch);
            polls.push(batch.messages.len());
            if !batch.more {
                break;
            }
            assert!(
                polls.len() < 12,
                "every poll reads at least one history: {polls:?}"
            );
        }
        assert!(
            polls.len() >= 3 && polls.iter().all(|n| *n > 0),
            "the time limit splits the reads over several polls, each with messages: {polls:?}"
        );
        assert_eq!(
            polls.iter().sum::<usize>(),
            12,
            "and together they read every chat once"
        );
        assert_eq!(known.len(), 12);
    }

    #[tokio::test]
    async fn every_page_of_chats_and_history_is_read_and_quiet_chats_are_skipped() {
        let sim = sim().await;
        let old = now_ms() - 600_000;
        let mut chats = Vec::new();
        for i in 0..45 {
            chats.push(
                sim.sim
                    .buyer_writes(buyer(None, &format!("вопрос {i}"), Some(old)))
                    .unwrap(),
            );
        }
        let long = &chats[0].chat_id;
        for i in 0..230 {
            sim.sim
                .buyer_writes(buyer(Some(long), &format!("ещё {i}"), Some(old)))
                .unwrap();
        }
        let c = client(&sim.url(), 2);
        let mut known = KnownChats::new();
        let mut messages = Vec::new();
        loop {
            let batch = c.poll(None, &known).await.unwrap();
            remember(&mut known, &batch);
            messages.extend(batch.messages);
            if !batch.more {
                break;
            }
        }
        assert_eq!(messages.len(), 45 + 230);
        let unique: HashSet<_> = messages.iter().map(|m| m.id.clone()).collect();
        assert_eq!(unique.len(), messages.len());
        assert!(messages.iter().all(|m| m.author == Author::Buyer));
        assert_eq!(known.len(), 45);
        assert!(known.values().all(|m| {
            m.marker
                .as_deref()
                .is_some_and(|k| k.starts_with("updated:"))
        }));

        let reads = history_reads(&sim);
        let batch = c.poll(None, &known).await.unwrap();
        assert!(batch.messages.is_empty() && batch.chats.is_empty());
        assert_eq!(history_reads(&sim), reads, "no chat changed, none is read");

        // A send whose outcome is unknown: its chat is read although unchanged.
        known.get_mut(long).unwrap().unsettled_send = true;
        let batch = c.poll(None, &known).await.unwrap();
        assert_eq!(history_reads(&sim), reads + 1);
        assert_eq!(batch.chats.len(), 1);
        assert_eq!(
            batch.messages.len(),
            1,
            "read from the newest message we have"
        );
        known.get_mut(long).unwrap().unsettled_send = false;

        // A person answers in the cabinet: the chat leaves the waiting list and
        // is read once more, then left alone.
        sim.sim
            .portal_reply(PortalMessage {
                marketplace: Marketplace::YandexMarket,
                chat_id: chats[1].chat_id.clone(),
                text: "Ответили в кабинете".into(),
                seller: None,
            })
            .unwrap();
        let batch = c.poll(None, &known).await.unwrap();
        remember(&mut known, &batch);
        let reply = batch
            .messages
            .iter()
            .find(|m| m.author == Author::Seller)
            .unwrap();
        assert_eq!(reply.text, "Ответили в кабинете");
        assert_eq!(batch.chats[0].marker.as_deref(), Some(MARKER_ANSWERED));
        let reads = history_reads(&sim);
        c.poll(None, &known).await.unwrap();
        assert_eq!(history_reads(&sim), reads);
    }

    #[tokio::test]
    async fn a_chat_read_in_the_second_of_its_last_message_is_read_again() {
        let sim = sim().await;
        let posted = sim
            .sim
            .buyer_writes(buyer(None, "Здравствуйте", None))
            .unwrap();
        let c = client(&sim.url(), 2);
        let mut known = KnownChats::new();
        let batch = c.poll(None, &known).await.unwrap();
        remember(&mut known, &batch);
        assert!(
            batch.chats[0]
                .marker
                .as_deref()
                .unwrap()
                .starts_with("unsettled:"),
            "{:?}",
            batch.chats[0].marker
        );
        // Written in the same second: `updatedAt` may not change.
        sim.sim
            .buyer_writes(buyer(Some(&posted.chat_id), "Алло?", None))
            .unwrap();
        let batch = c.poll(None, &known).await.unwrap();
        assert!(batch.messages.iter().any(|m| m.text == "Алло?"));
    }

    #[tokio::test]
    async fn a_send_through_the_simulator_is_echoed_in_the_history() {
        let sim = sim().await;
        let posted = sim
            .sim
            .buyer_writes(buyer(None, "Есть размер M?", None))
            .unwrap();
        let c = client(&sim.url(), 2);
        c.send(chat(&posted.chat_id), &text("Да, есть."))
            .await
            .unwrap();
        let history = c
            .read_history(
                &posted.chat_id,
                posted.message_id.parse().ok(),
                &Budget::new(MAX_REQUESTS_PER_POLL),
            )
            .await
            .unwrap()
            .unwrap();
        let messages: Vec<_> = history
            .messages
            .into_iter()
            .filter_map(|m| m.into_message(&posted.chat_id))
            .collect();
        assert_eq!(messages.len(), 2, "messageIdFrom is inclusive");
        assert_eq!(messages[1].author, Author::Seller);
        assert_eq!(messages[1].text, "Да, есть.");
        let sent = sim.sim.sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].message_id, messages[1].id);
        // Unknown chats and over-long texts are refused as the API refuses them.
        assert!(matches!(
            c.send(chat("12345"), &text("?")).await,
            Err(SendError::NotDelivered(MarketError::NotFound(_)))
        ));
        let long = "а".repeat(MAX_MESSAGE_CHARS + 1);
        let long = ReplyText::parse(&long, MAX_MESSAGE_CHARS + 10).unwrap();
        assert!(matches!(
            c.send(chat(&posted.chat_id), &long).await,
            Err(SendError::NotDelivered(MarketError::Invalid(d))) if d.contains("4096")
        ));
    }
}
