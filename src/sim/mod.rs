//! A local stand-in for the marketplaces' seller chat APIs, faithful to their
//! specs (paths, fields, auth, limits, error bodies), plus a control API for
//! playing buyers, reading what the seller side sent and injecting faults.
//!
//! Control API (JSON):
//! - `POST /_sim/buyer-messages` — a buyer writes.
//! - `POST /_sim/seller-portal-messages` — a human answers in the seller's own UI.
//! - `GET  /_sim/sent` — every message the seller side sent through the API.
//! - `POST /_sim/faults`, `GET /_sim/faults`, `DELETE /_sim/faults` — fault injection.
//! - `GET  /_sim/stats` — requests served and throttled, per marketplace.
//! - `GET  /_sim/requests` — every request served: marketplace, path, status, time.
//! - `/_sim/telegram/...` — the Telegram Bot API's side (see `telegram.rs`).
//! - `/_sim/feedback/...` — reviews and product questions (see `feedback/mod.rs`).
//! - `/_sim/wb/...` — Wildberries reviews and questions (see `wildberries_feedback.rs`).

mod avito;
pub mod feedback;
mod listener;
mod ozon;
pub mod scenario;
pub mod telegram;
mod wildberries;
pub mod wildberries_feedback;
mod yandex_market;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::domain::{Marketplace, Millis, OrderContext, now_ms};
pub use listener::Conn;

/// A token bucket like the marketplaces use: `burst` requests at once,
/// refilled at `per_second`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
pub struct RateConfig {
    pub burst: u32,
    pub per_second: f64,
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seller accounts by name.
    pub sellers: BTreeMap<String, SellerConfig>,
    pub wb_rate: RateConfig,
    /// Most events returned per `/api/v1/seller/events` page.
    pub wb_page_size: usize,
    /// Ozon: requests per Client-Id.
    pub ozon_rate: RateConfig,
    /// Yandex Market: requests in flight per API key.
    pub ym_parallel: usize,
    /// Avito: requests per account.
    pub avito_rate: RateConfig,
    /// How long an Avito access token lives (24 h on the real API).
    pub avito_token_ttl: Duration,
    /// How long after sending Avito lets a message be deleted (1 h).
    pub avito_retract_window: Duration,
    /// Yandex Market: when set, every method's hourly limit (instead of the
    /// spec's per-method numbers), so tests can reach it.
    pub ym_hourly_limit: Option<u32>,
    /// The Telegram bot token the Bot API accepts; without one it refuses every call.
    pub telegram_token: Option<String>,
}

/// One seller's accounts on the marketplaces the simulator serves. A
/// marketplace whose credentials are absent refuses every request.
#[derive(Debug, Clone, Default)]
pub struct SellerConfig {
    pub wb_token: Option<String>,
    pub ozon_client_id: Option<String>,
    pub ozon_api_key: Option<String>,
    pub ym_business_id: Option<i64>,
    pub ym_api_key: Option<String>,
    pub avito_client_id: Option<String>,
    pub avito_client_secret: Option<String>,
    /// The Avito account id (`user_id`); derived from the client id when absent.
    pub avito_user_id: Option<i64>,
}

impl SimConfig {
    /// Wildberries' documented limit for the chat API: 10 requests per 10 s, burst 10.
    pub fn wb_documented_rate() -> RateConfig {
        RateConfig {
            burst: 10,
            per_second: 1.0,
        }
    }

    /// Ozon's documented ceiling: 50 requests per second per Client-Id.
    pub fn ozon_documented_rate() -> RateConfig {
        RateConfig {
            burst: 50,
            per_second: 50.0,
        }
    }

    /// Avito documents no number for the Messenger API; this is a per-account
    /// bucket in the spirit of its other APIs (requests per minute).
    pub fn avito_default_rate() -> RateConfig {
        RateConfig {
            burst: 20,
            per_second: 10.0,
        }
    }

    /// Documented limits everywhere, with no sellers.
    pub fn documented() -> SimConfig {
        SimConfig {
            sellers: BTreeMap::new(),
            wb_rate: Self::wb_documented_rate(),
            wb_page_size: 100,
            ozon_rate: Self::ozon_documented_rate(),
            ym_parallel: 2,
            avito_rate: Self::avito_default_rate(),
            avito_token_ttl: Duration::from_secs(24 * 3600),
            avito_retract_window: Duration::from_secs(3600),
            ym_hourly_limit: None,
            telegram_token: None,
        }
    }

    pub fn from_settings(settings: &crate::config::SimSettings) -> SimConfig {
        SimConfig {
            sellers: settings
                .sellers
                .iter()
                .map(|(name, s)| {
                    (
                        name.clone(),
                        SellerConfig {
                            wb_token: s.wb_token.clone(),
                            ozon_client_id: s.ozon_client_id.clone(),
                            ozon_api_key: s.ozon_api_key.clone(),
                            ym_business_id: s.ym_business_id,
                            ym_api_key: s.ym_api_key.clone(),
                            avito_client_id: s.avito_client_id.clone(),
                            avito_client_secret: s.avito_client_secret.clone(),
                            avito_user_id: s.avito_user_id,
                        },
                    )
                })
                .collect(),
            telegram_token: settings.telegram_token.clone(),
            ..Self::documented()
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: tokio::time::Instant,
    config: RateConfig,
}

/// Outcome of taking a token from a bucket.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Admission {
    Allowed {
        remaining: u32,
    },
    Throttled {
        retry_secs: u64,
        reset_secs: u64,
        limit: u32,
    },
}

impl Bucket {
    fn new(config: RateConfig) -> Self {
        Bucket {
            tokens: config.burst as f64,
            at: tokio::time::Instant::now(),
            config,
        }
    }

    fn take(&mut self) -> Admission {
        let now = tokio::time::Instant::now();
        let elapsed = now.duration_since(self.at).as_secs_f64();
        self.at = now;
        let burst = self.config.burst as f64;
        self.tokens = (self.tokens + elapsed * self.config.per_second).min(burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Admission::Allowed {
                remaining: self.tokens.floor() as u32,
            }
        } else {
            let rate = self.config.per_second.max(1e-9);
            Admission::Throttled {
                retry_secs: ((1.0 - self.tokens) / rate).ceil().max(1.0) as u64,
                reset_secs: ((burst - self.tokens) / rate).ceil().max(1.0) as u64,
                limit: self.config.burst,
            }
        }
    }
}

/// A message the seller side sent through a marketplace API.
#[derive(Debug, Clone, Serialize)]
pub struct SentRecord {
    pub seller: String,
    pub marketplace: Marketplace,
    pub chat_id: String,
    pub message_id: String,
    pub text: String,
    pub at: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer with `status` (and the marketplace's error body) without handling the request.
    Status,
    /// Wait `delay_ms`, then handle the request normally.
    Delay,
    /// Cut the connection without handling the request.
    Drop,
    /// Handle the request, then cut the connection before answering.
    DropAfterAccept,
    /// Handle the request, then wait `delay_ms` before answering.
    SlowAfterAccept,
    /// Answer 200 with `body` (malformed JSON by default) without handling
    /// the request: for broken or wrongly typed answers.
    Garbage,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct FaultSpec {
    pub kind: FaultKind,
    /// Only this marketplace (all when absent).
    #[serde(default)]
    pub marketplace: Option<Marketplace>,
    /// Only requests whose path contains this (all when absent).
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub status: Option<u16>,
    /// For 429 answers: the retry hint in seconds.
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// For `garbage`: the body to answer with.
    #[serde(default)]
    pub body: Option<String>,
    /// How many matching requests it affects; 0 means until cleared. Default 1.
    #[serde(default)]
    pub times: Option<u32>,
}

impl FaultSpec {
    /// Every request of `marketplace` whose path contains `path` handled
    /// `ms` late, until cleared: a slow server.
    pub fn slow(marketplace: Marketplace, path: &str, ms: u64) -> FaultSpec {
        FaultSpec {
            kind: FaultKind::Delay,
            marketplace: Some(marketplace),
            path: Some(path.to_string()),
            status: None,
            retry_after_secs: None,
            delay_ms: Some(ms),
            body: None,
            times: Some(0),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
struct ActiveFault {
    spec: FaultSpec,
    remaining: Option<u32>,
}

/// One request the simulator served, for tests and benchmarks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestRecord {
    pub marketplace: Marketplace,
    pub path: String,
    pub status: u16,
    pub at: Millis,
}

const REQUEST_LOG_LIMIT: usize = 100_000;

#[derive(Debug, Clone, Default, Serialize)]
pub struct MarketStats {
    pub requests: u64,
    pub throttled: u64,
    pub faults_applied: u64,
}

pub(crate) struct Seller {
    pub name: String,
    pub wb: wildberries::Account,
    /// Wildberries reviews and questions: same token, a bucket of their own.
    pub wbf: wildberries_feedback::Account,
    pub ozon: ozon::Account,
    pub ym: yandex_market::Account,
    pub avito: avito::Account,
    pub feedback: feedback::Accounts,
}

/// A webhook the simulator owes a subscriber: POSTed right after the state
/// lock is released.
#[derive(Debug, Clone)]
pub(crate) struct Push {
    pub url: String,
    pub body: serde_json::Value,
}

pub(crate) struct SimState {
    pub sellers: Vec<Seller>,
    pub sent: Vec<SentRecord>,
    faults: Vec<ActiveFault>,
    pub stats: BTreeMap<Marketplace, MarketStats>,
    pub requests: std::collections::VecDeque<RequestRecord>,
    pub config: SimConfig,
    /// Webhooks waiting to be delivered.
    pub pushes: Vec<Push>,
}

impl SimState {
    fn new(config: SimConfig) -> SimState {
        let sellers = config
            .sellers
            .iter()
            .map(|(name, c)| Seller {
                name: name.clone(),
                wb: wildberries::Account::new(c.wb_token.clone(), config.wb_rate),
                wbf: wildberries_feedback::Account::new(),
                ozon: ozon::Account::new(c, &config),
                ym: yandex_market::Account::new(c, &config),
                avito: avito::Account::new(c, &config),
                feedback: feedback::Accounts::new(c, &config),
            })
            .collect();
        SimState {
            sellers,
            sent: Vec::new(),
            faults: Vec::new(),
            stats: BTreeMap::new(),
            requests: Default::default(),
            config,
            pushes: Vec::new(),
        }
    }

    pub(crate) fn seller_index(&self, name: Option<&str>) -> Result<usize, String> {
        match name {
            Some(n) => self
                .sellers
                .iter()
                .position(|s| s.name == n)
                .ok_or_else(|| format!("no seller `{n}` in the simulator")),
            None => (!self.sellers.is_empty())
                .then_some(0)
                .ok_or_else(|| "the simulator has no sellers".to_string()),
        }
    }

    /// Take the next fault that applies to this request, if any.
    pub(crate) fn take_fault(&mut self, marketplace: Marketplace, path: &str) -> Option<FaultSpec> {
        let index = self.faults.iter().position(|f| {
            f.spec.marketplace.is_none_or(|m| m == marketplace)
                && f.spec.path.as_deref().is_none_or(|p| path.contains(p))
        })?;
        let fault = &mut self.faults[index];
        let spec = fault.spec.clone();
        if let Some(left) = fault.remaining.as_mut() {
            *left -= 1;
            if *left == 0 {
                self.faults.remove(index);
            }
        }
        self.stats.entry(marketplace).or_default().faults_applied += 1;
        Some(spec)
    }

    pub(crate) fn count_request(&mut self, marketplace: Marketplace, path: &str, status: u16) {
        let s = self.stats.entry(marketplace).or_default();
        s.requests += 1;
        if status == 429 || status == 420 {
            s.throttled += 1;
        }
        if self.requests.len() >= REQUEST_LOG_LIMIT {
            self.requests.pop_front();
        }
        self.requests.push_back(RequestRecord {
            marketplace,
            path: path.to_string(),
            status,
            at: now(),
        });
    }
}

/// Shared handle to the simulator's state.
#[derive(Clone)]
pub struct Sim {
    state: Arc<Mutex<SimState>>,
    telegram: telegram::BotSim,
    /// Marketplace requests being answered right now.
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
}

impl Sim {
    pub fn new(config: SimConfig) -> Sim {
        Sim {
            telegram: telegram::BotSim::new(config.telegram_token.clone()),
            state: Arc::new(Mutex::new(SimState::new(config))),
            in_flight: Arc::default(),
        }
    }

    /// How many API requests are being answered now (a delayed answer
    /// counts until it is given or its connection is cut).
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A buyer writes. Creates the chat when `chat_id` is absent or unknown.
    pub fn buyer_writes(&self, req: BuyerMessage) -> Result<Posted, String> {
        let posted = {
            let mut state = self.lock();
            let idx = state.seller_index(req.seller.as_deref())?;
            let seller = &mut state.sellers[idx];
            match req.marketplace {
                Marketplace::Wildberries => Ok(seller.wb.buyer_writes(&req)),
                Marketplace::Ozon => seller.ozon.buyer_writes(&req),
                Marketplace::YandexMarket => seller.ym.buyer_writes(&req),
                Marketplace::Avito => {
                    let posted = seller.avito.buyer_writes(&req);
                    let pushes = seller.avito.take_pushes();
                    state.pushes.extend(pushes);
                    posted
                }
            }
        };
        self.deliver_pushes();
        posted
    }

    /// A human answers in the marketplace's seller portal.
    pub fn portal_reply(&self, req: PortalMessage) -> Result<Posted, String> {
        let posted = {
            let mut state = self.lock();
            let idx = state.seller_index(req.seller.as_deref())?;
            let seller = &mut state.sellers[idx];
            match req.marketplace {
                Marketplace::Wildberries => seller.wb.portal_reply(&req.chat_id, &req.text),
                Marketplace::Ozon => seller.ozon.portal_reply(&req.chat_id, &req.text),
                Marketplace::YandexMarket => seller.ym.portal_reply(&req.chat_id, &req.text),
                Marketplace::Avito => {
                    let posted = seller.avito.portal_reply(&req.chat_id, &req.text);
                    let pushes = seller.avito.take_pushes();
                    state.pushes.extend(pushes);
                    posted
                }
            }
        };
        self.deliver_pushes();
        posted
    }

    /// POST owed webhooks in the background, each once, like a marketplace
    /// that does not retry.
    pub(crate) fn deliver_pushes(&self) {
        let pushes = std::mem::take(&mut self.lock().pushes);
        if pushes.is_empty() {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        handle.spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .expect("a reqwest client builds");
            for p in pushes {
                if let Err(e) = http.post(&p.url).json(&p.body).send().await {
                    tracing::debug!(url = %p.url, error = %e, "simulated webhook not delivered");
                }
            }
        });
    }

    pub fn sent(&self) -> Vec<SentRecord> {
        self.lock().sent.clone()
    }

    pub fn add_fault(&self, spec: FaultSpec) {
        let remaining = match spec.times {
            Some(0) => None,
            Some(n) => Some(n),
            None => Some(1),
        };
        self.lock().faults.push(ActiveFault { spec, remaining });
    }

    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    pub fn stats(&self) -> BTreeMap<Marketplace, MarketStats> {
        self.lock().stats.clone()
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/_sim/buyer-messages", post(post_buyer_message))
            .route("/_sim/seller-portal-messages", post(post_portal_message))
            .route("/_sim/sent", get(get_sent))
            .route(
                "/_sim/faults",
                post(post_fault).get(get_faults).delete(delete_faults),
            )
            .route("/_sim/stats", get(get_stats))
            .route("/_sim/requests", get(get_requests))
            .route("/_sim/in-flight", get(get_in_flight))
            .merge(
                Router::new()
                    .merge(wildberries::routes())
                    .merge(wildberries_feedback::routes())
                    .merge(ozon::routes())
                    .merge(yandex_market::routes())
                    .merge(avito::routes())
                    .merge(feedback::routes())
                    .layer(axum::middleware::from_fn_with_state(
                        self.clone(),
                        count_in_flight,
                    )),
            )
            .merge(telegram::routes())
            .with_state(self.clone())
    }

    /// Serve on `listener` until `shutdown` fires.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> std::io::Result<()> {
        let app = self.router().into_make_service_with_connect_info::<Conn>();
        axum::serve(listener::KillableListener(listener), app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
    }

    /// Bind `addr` (port 0 picks a free one) and serve in the background.
    pub async fn spawn(self, addr: SocketAddr) -> std::io::Result<SimHandle> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(self.clone().serve(listener, shutdown.clone()));
        Ok(SimHandle {
            sim: self,
            addr,
            shutdown,
            task,
        })
    }
}

pub struct SimHandle {
    pub sim: Sim,
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl SimHandle {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BuyerMessage {
    pub marketplace: Marketplace,
    pub text: String,
    #[serde(default)]
    pub chat_id: Option<String>,
    /// Which seller account; the first one when absent.
    #[serde(default)]
    pub seller: Option<String>,
    #[serde(default)]
    pub client_name: Option<String>,
    #[serde(default)]
    pub order: Option<OrderContext>,
    /// When the buyer wrote (marketplace time, ms); now when absent. Lets a
    /// test put a message outside a reply window.
    #[serde(default)]
    pub at: Option<Millis>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PortalMessage {
    pub marketplace: Marketplace,
    pub chat_id: String,
    pub text: String,
    #[serde(default)]
    pub seller: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Posted {
    pub chat_id: String,
    pub message_id: String,
}

fn bad_request(msg: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({ "error": msg })),
    )
        .into_response()
}

async fn post_buyer_message(State(sim): State<Sim>, Json(req): Json<BuyerMessage>) -> Response {
    match sim.buyer_writes(req) {
        Ok(p) => (StatusCode::CREATED, Json(p)).into_response(),
        Err(e) => bad_request(e),
    }
}

async fn post_portal_message(State(sim): State<Sim>, Json(req): Json<PortalMessage>) -> Response {
    match sim.portal_reply(req) {
        Ok(p) => (StatusCode::CREATED, Json(p)).into_response(),
        Err(e) => bad_request(e),
    }
}

#[derive(Debug, Deserialize)]
struct SentQuery {
    marketplace: Option<Marketplace>,
}

async fn get_sent(State(sim): State<Sim>, Query(q): Query<SentQuery>) -> Json<Vec<SentRecord>> {
    let sent = sim.sent();
    Json(
        sent.into_iter()
            .filter(|s| q.marketplace.is_none_or(|m| m == s.marketplace))
            .collect(),
    )
}

async fn post_fault(State(sim): State<Sim>, Json(spec): Json<FaultSpec>) -> StatusCode {
    sim.add_fault(spec);
    StatusCode::CREATED
}

async fn get_faults(State(sim): State<Sim>) -> Json<serde_json::Value> {
    Json(serde_json::to_value(&sim.lock().faults).unwrap_or_default())
}

async fn delete_faults(State(sim): State<Sim>) -> StatusCode {
    sim.clear_faults();
    StatusCode::NO_CONTENT
}

async fn get_stats(State(sim): State<Sim>) -> Json<BTreeMap<Marketplace, MarketStats>> {
    Json(sim.stats())
}

/// Counts a request as in flight until its answer is given or dropped.
async fn count_in_flight(
    State(sim): State<Sim>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    struct InFlight(Arc<std::sync::atomic::AtomicUsize>);
    impl Drop for InFlight {
        fn drop(&mut self) {
            self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
    sim.in_flight
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let _counted = InFlight(sim.in_flight.clone());
    next.run(request).await
}

async fn get_in_flight(State(sim): State<Sim>) -> Json<usize> {
    Json(sim.in_flight())
}

async fn get_requests(State(sim): State<Sim>) -> Json<Vec<RequestRecord>> {
    Json(sim.lock().requests.iter().cloned().collect())
}

/// Faults that act before a request is handled. `Err` is the answer to give
/// at once (a cut connection, or `status_response` for a status fault); `Ok`
/// carries a fault to apply after handling.
pub(crate) async fn faults_before(
    sim: &Sim,
    conn: &Conn,
    marketplace: Marketplace,
    path: &str,
    status_response: impl FnOnce(&FaultSpec) -> Response,
) -> Result<Option<FaultSpec>, Response> {
    let fault = sim.lock().take_fault(marketplace, path);
    let fault = apply_delay(fault).await;
    match fault.as_ref().map(|f| f.kind) {
        Some(FaultKind::Drop) => {
            conn.kill();
            Err(StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        Some(FaultKind::Status) => {
            let response = status_response(fault.as_ref().expect("matched Some"));
            sim.lock()
                .count_request(marketplace, path, response.status().as_u16());
            Err(response)
        }
        Some(FaultKind::Garbage) => {
            let body = fault
                .and_then(|f| f.body)
                .unwrap_or_else(|| "{\"result\": [tru".to_string());
            sim.lock().count_request(marketplace, path, 200);
            Err((
                StatusCode::OK,
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response())
        }
        _ => Ok(fault),
    }
}

/// Faults that act after a request was handled: cut the connection before
/// answering, or answer late.
pub(crate) async fn faults_after(
    response: Response,
    conn: &Conn,
    fault: Option<FaultSpec>,
) -> Response {
    match fault.map(|f| (f.kind, f.delay_ms)) {
        Some((FaultKind::DropAfterAccept, _)) => conn.kill(),
        Some((FaultKind::SlowAfterAccept, delay)) => {
            tokio::time::sleep(Duration::from_millis(delay.unwrap_or(1000))).await
        }
        _ => {}
    }
    response
}

/// Apply a `delay` fault; returns the fault if it needs more handling.
pub(crate) async fn apply_delay(fault: Option<FaultSpec>) -> Option<FaultSpec> {
    match fault {
        Some(f) if f.kind == FaultKind::Delay => {
            tokio::time::sleep(Duration::from_millis(f.delay_ms.unwrap_or(1000))).await;
            None
        }
        other => other,
    }
}

pub(crate) fn now() -> Millis {
    now_ms()
}
