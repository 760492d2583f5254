//! One task per shop and marketplace: read new chat messages and store them,
//! together with the cursor, in one transaction.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::domain::KnownChats;
use crate::domain::{DraftState, Marketplace};
use crate::marketplace::{ChatRef, Discovery, DynConnector, MarketError};
use crate::runtime::{Activity, Event, PollInbox, Runtime};
use crate::shop::Shop;
use crate::store::{ConnectorState, IngestSettings, StoreError};

const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How often the "last ok" times of healthy connectors are written to the
/// store, all in one transaction.
const STATUS_HEARTBEAT: Duration = Duration::from_secs(30);
/// The coarsest grid polls wake on (see [`on_grid`]).
const MAX_POLL_TICK: Duration = Duration::from_millis(100);
/// How often a connector whose credentials were rejected is tried again.
const AUTH_RETRY: Duration = Duration::from_secs(300);
/// Most pages one catch-up reads. A longer backlog continues at once, after
/// the status is recorded and shutdown looked at, so neither waits for it.
const MAX_PAGES_PER_CATCH_UP: usize = 50;
/// The longest one catch-up goes on before it returns to record the status,
/// the same as a page limit: a marketplace read chat by chat can take seconds
/// a page, and a connector catching up must not look silent meanwhile.
const MAX_CATCH_UP_TIME: Duration = Duration::from_secs(5);

/// How far one catch-up got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CatchUp {
    Done,
    /// The page limit ended it; the marketplace has more.
    Partial,
}

/// Why a poll failed: the marketplace, or our own database.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    Market(#[from] MarketError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub fn ingest_settings(rt: &Runtime) -> IngestSettings {
    let p = &rt.settings.pipeline;
    IngestSettings {
        debounce_ms: p.debounce.as_millis_i64(),
        max_turn_age_ms: p.max_turn_age.as_millis_i64(),
        takeover_ms: p.human_takeover.as_millis_i64(),
        clock_skew_ms: 120_000,
    }
}

pub async fn run(
    rt: Arc<Runtime>,
    shop: Arc<Shop>,
    marketplace: Marketplace,
    connector: DynConnector,
    activity: Arc<Activity>,
    shutdown: CancellationToken,
) {
    let interval = shop
        .settings
        .poll_interval(marketplace)
        .unwrap_or(Duration::from_secs(10));
    if let Some(url) = shop.settings.webhook_url(&shop.id, marketplace) {
        match connector.subscribe_webhook(&url).await {
            Ok(()) => tracing::info!(shop = %shop.id, %marketplace, "subscribed to webhooks"),
            Err(e) => {
                tracing::warn!(shop = %shop.id, %marketplace, error = %e, "could not subscribe to webhooks; polling only")
            }
        }
    }
    let mut failures = 0u32;
    let mut last_state = None;
    let tick = poll_tick(interval);
    // Shops started together would otherwise poll in lockstep: every buyer
    // message of the fleet arriving in one burst per interval. The first
    // pause is stretched or shortened at random, which spreads them out.
    let mut first_pause = true;
    // Only this task moves the cursor (with the messages it covers), so after
    // the first read it is kept here instead of being read back every poll.
    let mut cursor = None;
    let mut sync = SyncNeed::default();
    let inbox = rt.poll_inbox(&shop.id, marketplace).unwrap_or_default();
    loop {
        for body in inbox.take_webhooks() {
            on_webhook(&rt, &shop, marketplace, &connector, &body).await;
        }
        let polled = poll_until_caught_up(
            &rt,
            &shop,
            marketplace,
            &connector,
            &inbox,
            &mut cursor,
            &mut sync,
            &shutdown,
        )
        .await;
        let (state, wait) = pacing(polled.as_ref(), interval, &mut failures, &mut first_pause);
        match &polled {
            Ok(_) if last_state == Some(ConnectorState::Ok) => {
                // An idle shop polls often; its "last ok" time is written
                // with every other connector's by `record_heartbeats`.
                inbox.note_ok(rt.clock.now_ms());
            }
            Ok(_) => {
                rt.set_connector_status(&shop.id, marketplace, state, None, None)
                    .await;
                last_state = Some(state);
            }
            Err(e) => {
                tracing::warn!(shop = %shop.id, %marketplace, error = %e, retry_in = ?wait, "polling failed");
                let retry_at = rt.clock.now_ms() + wait.as_millis() as i64;
                rt.set_connector_status(
                    &shop.id,
                    marketplace,
                    state,
                    Some(e.to_string()),
                    Some(retry_at),
                )
                .await;
                last_state = Some(state);
            }
        }
        let until = if wait.is_zero() {
            Instant::now()
        } else {
            on_grid(Instant::now() + wait, tick)
        };
        activity.pass_done(0, wait, rt.clock.now_ms());
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep_until(until) => {}
            _ = inbox.waker().notified() => {}
        }
    }
}

/// What one poll's outcome means for its connector's state, and how long to
/// wait before the next: at once while catching up, a randomly stretched
/// first pause, the marketplace's own wait when it throttles, an hour-scale
/// retry when a person must act, and doubling backoff for other failures.
fn pacing(
    polled: Result<&CatchUp, &PollError>,
    interval: Duration,
    failures: &mut u32,
    first_pause: &mut bool,
) -> (ConnectorState, Duration) {
    match polled {
        Ok(progress) => {
            *failures = 0;
            let wait = if *progress == CatchUp::Partial {
                Duration::ZERO
            } else if std::mem::take(first_pause) {
                interval.mul_f64(rand::random_range(0.5..1.5))
            } else {
                interval
            };
            (ConnectorState::Ok, wait)
        }
        Err(PollError::Market(MarketError::RateLimited { retry_after })) => {
            (ConnectorState::RateLimited, (*retry_after).max(interval))
        }
        Err(PollError::Market(e)) if e.needs_person() => (ConnectorState::AuthFailed, AUTH_RETRY),
        Err(e) => {
            *failures += 1;
            let backoff = interval
                .saturating_mul(2u32.saturating_pow((*failures).min(6)))
                .min(MAX_BACKOFF);
            let state = match e {
                PollError::Market(_) => ConnectorState::Degraded,
                PollError::Store(_) => ConnectorState::DatabaseFailed,
            };
            (state, backoff)
        }
    }
}

/// The grid a connector polling every `interval` wakes on: a hundredth of it,
/// at most [`MAX_POLL_TICK`].
fn poll_tick(interval: Duration) -> Duration {
    (interval / 100).clamp(Duration::from_millis(1), MAX_POLL_TICK)
}

/// `deadline` moved later to the next multiple of `tick` since a moment shared
/// by every poller. Ten thousand shops each sleeping until their own
/// millisecond wake the runtime (and a thread) a thousand times a second; on
/// a grid of 100 ms they wake it ten times, and their requests and answers are
/// handled together. The first pause is still random, so shops spread over
/// the grid's points instead of piling onto one.
fn on_grid(deadline: Instant, tick: Duration) -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    let since = deadline.saturating_duration_since(epoch).as_nanos();
    let tick_ns = tick.as_nanos().max(1);
    let points = since.div_ceil(tick_ns);
    let snapped = epoch + Duration::from_nanos((points * tick_ns) as u64);
    snapped.max(deadline)
}

/// Write the "last ok" times the pollers noted ([`PollInbox::note_ok`]) every
/// [`STATUS_HEARTBEAT`], in one transaction for the whole fleet, and once more
/// on the way out.
pub async fn record_heartbeats(rt: Arc<Runtime>, shutdown: CancellationToken) {
    loop {
        let stop = tokio::select! {
            _ = shutdown.cancelled() => true,
            _ = tokio::time::sleep(STATUS_HEARTBEAT) => false,
        };
        let beats = rt.take_ok_heartbeats();
        if !beats.is_empty() {
            let written = rt
                .store
                .call(move |c| crate::store::record_ok_heartbeats(c, &beats))
                .await;
            if let Err(e) = written {
                tracing::error!(error = %e, "cannot record the connectors' last successful polls");
            }
        }
        if stop {
            return;
        }
    }
}

/// Whether a poll that brought nothing must still record its complete read:
/// only while sends of the connector wait to be settled by one. Unknown at
/// start (an earlier run may have left some), then as the last recorded read
/// found, plus any send that became unknown since.
#[derive(Debug, Clone, Copy)]
struct SyncNeed {
    /// Sends still unsettled when the last complete read was recorded.
    unsettled: bool,
    /// [`PollInbox::unsettled_sends`] when it was recorded.
    seen: u64,
}

impl Default for SyncNeed {
    fn default() -> Self {
        SyncNeed {
            unsettled: true,
            seen: 0,
        }
    }
}

impl SyncNeed {
    fn wanted(&self, unsettled_now: u64) -> bool {
        self.unsettled || unsettled_now != self.seen
    }

    fn recorded(&mut self, unsettled_then: u64, still_unsettled: bool) {
        self.unsettled = still_unsettled;
        self.seen = unsettled_then;
    }
}

/// Read pages until the marketplace has nothing more, or
/// [`MAX_PAGES_PER_CATCH_UP`] of them, or for [`MAX_CATCH_UP_TIME`].
// The poll loop's own state, borrowed for one catch-up; bundling it into a
// struct would only rename the same eight borrows.
#[allow(clippy::too_many_arguments)]
async fn poll_until_caught_up(
    rt: &Arc<Runtime>,
    shop: &Arc<Shop>,
    marketplace: Marketplace,
    connector: &DynConnector,
    inbox: &PollInbox,
    stored_cursor: &mut Option<Option<String>>,
    sync: &mut SyncNeed,
    shutdown: &CancellationToken,
) -> Result<CatchUp, PollError> {
    let started = rt.clock.now_ms();
    let began = Instant::now();
    let mut cursor = match stored_cursor {
        Some(c) => c.clone(),
        None => {
            let id = shop.id.clone();
            rt.store
                .read(move |c| crate::store::sync_state(c, &id, marketplace))
                .await?
                .cursor
        }
    };
    *stored_cursor = Some(cursor.clone());
    let settings = ingest_settings(rt);
    for _ in 0..MAX_PAGES_PER_CATCH_UP {
        if shutdown.is_cancelled() {
            return Ok(CatchUp::Done);
        }
        let known = match connector.discovery() {
            Discovery::EventStream => KnownChats::new(),
            Discovery::PerChat => {
                let id = shop.id.clone();
                let now = rt.clock.now_ms();
                rt.store
                    .read(move |c| crate::store::known_chats(c, &id, marketplace, now))
                    .await?
            }
        };
        let batch = connector.poll(cursor.as_deref(), &known).await?;
        let unsettled = inbox.unsettled_sends();
        let nothing_new = batch.messages.is_empty()
            && batch.chats.is_empty()
            && !batch.more
            && (batch.cursor.is_none() || batch.cursor == cursor);
        if nothing_new && !sync.wanted(unsettled) {
            // An idle shop's usual answer: nothing to store, and no send
            // waits for a complete read to settle it. No database write.
            return Ok(CatchUp::Done);
        }
        let synced_at = (!batch.more).then_some(started);
        let more = batch.more;
        let next = batch.cursor.clone();
        let id = shop.id.clone();
        let now = rt.clock.now_ms();
        let report = rt
            .store
            .call(move |c| {
                crate::store::ingest_batch(c, &id, marketplace, &batch, &settings, now, synced_at)
            })
            .await?;
        if report.chats_without_handle > 0 {
            refresh_chats(rt, shop, marketplace, connector, &settings).await?;
        }
        if next.is_some() {
            *stored_cursor = Some(next.clone());
        }
        if synced_at.is_some() {
            sync.recorded(unsettled, report.unsettled_sends);
        }
        after_ingest(rt, shop, marketplace, connector, &report).await;
        cursor = next;
        if !more {
            // The sender settles unknown sends against a complete read; an
            // idle fleet's polls need not wake it.
            if report.unsettled_sends {
                rt.wake_sender.notify_one();
            }
            return Ok(CatchUp::Done);
        }
        if began.elapsed() >= MAX_CATCH_UP_TIME {
            break;
        }
    }
    Ok(CatchUp::Partial)
}

/// What follows storing new messages: wake the drafting pipeline, mark
/// chats a person answered as read, and tell the web queue what changed.
async fn after_ingest(
    rt: &Runtime,
    shop: &Shop,
    marketplace: Marketplace,
    connector: &DynConnector,
    report: &crate::store::IngestReport,
) {
    if report.buyer_messages > 0 {
        rt.metrics
            .turns_ingested(marketplace, report.buyer_messages);
        rt.wake_pipeline.notify_one();
    }
    if connector.capabilities().read_receipts {
        for (chat, last) in &report.taken_over {
            let handle = ChatRef {
                external_id: chat,
                reply_handle: None,
            };
            if let Err(e) = connector.mark_read(handle, Some(last)).await {
                tracing::warn!(shop = %shop.id, %marketplace, error = %e, "could not mark a chat read after a person answered it");
            }
        }
    }
    for (id, state, why) in &report.withdrawn_drafts {
        rt.emit(Event::DraftChanged {
            id: *id,
            state: *state,
            reason: Some(why.clone()),
        });
    }
    for id in &report.confirmed_drafts {
        rt.emit(Event::DraftChanged {
            id: *id,
            state: DraftState::Sent,
            reason: Some("delivered: the reply is in the chat history".into()),
        });
    }
    if report.stored > 0 {
        tracing::debug!(shop = %shop.id, %marketplace, stored = report.stored, duplicates = report.duplicates, "ingested");
    }
}

/// A webhook the marketplace pushed, handed over by the web server: store what
/// it carries (a message seen both here and by polling is stored once). The
/// poll that follows reads anything it left out.
async fn on_webhook(
    rt: &Runtime,
    shop: &Shop,
    marketplace: Marketplace,
    connector: &DynConnector,
    body: &[u8],
) {
    match connector.parse_webhook(body) {
        Ok(batch) if !batch.messages.is_empty() || !batch.chats.is_empty() => {
            let settings = ingest_settings(rt);
            let id = shop.id.clone();
            let now = rt.clock.now_ms();
            let stored = rt
                .store
                .call(move |c| {
                    crate::store::ingest_batch(c, &id, marketplace, &batch, &settings, now, None)
                })
                .await;
            match stored {
                Ok(report) => {
                    tracing::debug!(shop = %shop.id, %marketplace, stored = report.stored, duplicates = report.duplicates, "webhook");
                    after_ingest(rt, shop, marketplace, connector, &report).await;
                }
                Err(e) => {
                    tracing::warn!(shop = %shop.id, %marketplace, error = %e, "could not store a webhook; polling will pick it up")
                }
            }
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(shop = %shop.id, %marketplace, error = %e, "an unreadable webhook; polling will pick it up")
        }
    }
}

/// Reply handles and order context for every chat, from the marketplace's chat list.
pub async fn refresh_chats(
    rt: &Runtime,
    shop: &Shop,
    marketplace: Marketplace,
    connector: &DynConnector,
    settings: &IngestSettings,
) -> Result<Vec<crate::domain::ChatUpdate>, PollError> {
    let updates = connector.refresh_chats().await?;
    let batch = crate::domain::InboundBatch {
        chats: updates.clone(),
        ..Default::default()
    };
    let (id, settings) = (shop.id.clone(), *settings);
    let now = rt.clock.now_ms();
    rt.store
        .call(move |c| {
            crate::store::ingest_batch(c, &id, marketplace, &batch, &settings, now, None)
        })
        .await?;
    Ok(updates)
}

/// Threads read back by id in one poll, at most: those whose send is of
/// unknown outcome first, then those with an open draft (were they answered
/// in the seller portal?).
const MAX_FEEDBACK_CHECKS_PER_POLL: usize = 20;

/// One task per shop and marketplace that reads reviews and questions: each
/// kind's unanswered list from its own cursor, then the threads the store
/// holds open drafts for, read back by id. Everything goes through
/// `store::ingest_feedback`, the same ingest as chat messages.
pub async fn run_feedback(
    rt: Arc<Runtime>,
    shop: Arc<Shop>,
    connector: crate::marketplace::DynFeedbackConnector,
    interval: Duration,
    activity: Arc<Activity>,
    shutdown: CancellationToken,
) {
    let marketplace = connector.marketplace();
    let mut failures = 0u32;
    let mut first_pause = true;
    let mut status = FeedbackStatus::default();
    loop {
        let polled = poll_feedback_once(&rt, &shop, &connector, interval, &shutdown).await;
        let (state, wait) = pacing(polled.as_ref(), interval, &mut failures, &mut first_pause);
        let (detail, retry_at) = match &polled {
            Ok(_) => (None, None),
            Err(e) => {
                tracing::warn!(shop = %shop.id, %marketplace, error = %e, retry_in = ?wait, "reading reviews and questions failed");
                (
                    Some(e.to_string()),
                    Some(rt.clock.now_ms() + wait.as_millis() as i64),
                )
            }
        };
        status
            .record(&rt, &shop.id, marketplace, state, detail, retry_at)
            .await;
        activity.pass_done(0, wait, rt.clock.now_ms());
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

async fn poll_feedback_once(
    rt: &Arc<Runtime>,
    shop: &Arc<Shop>,
    connector: &crate::marketplace::DynFeedbackConnector,
    interval: Duration,
    shutdown: &CancellationToken,
) -> Result<CatchUp, PollError> {
    let marketplace = connector.marketplace();
    let settings = ingest_settings(rt);
    let mut progress = CatchUp::Done;
    for &kind in connector.kinds() {
        let id = shop.id.clone();
        let mut cursor = rt
            .store
            .read(move |c| crate::store::feedback_cursor(c, &id, marketplace, kind))
            .await?;
        let started = rt.clock.now_ms();
        let mut pages = 0;
        loop {
            if shutdown.is_cancelled() {
                return Ok(CatchUp::Done);
            }
            let read_at = rt.clock.now_ms();
            let batch = connector.poll(kind, cursor.as_deref()).await?;
            let synced_at = (!batch.more).then_some(started);
            let (more, next) = (batch.more, batch.cursor.clone());
            let read = Read {
                started_at: read_at,
                synced_at,
            };
            store_feedback(rt, shop, marketplace, kind, batch, &settings, read).await?;
            if next.is_some() {
                cursor = next;
            }
            pages += 1;
            if !more {
                break;
            }
            if pages >= MAX_PAGES_PER_CATCH_UP {
                progress = CatchUp::Partial;
                break;
            }
        }
    }
    let (id, now) = (shop.id.clone(), rt.clock.now_ms());
    let recheck_ms = (interval.as_millis() as i64).saturating_mul(5);
    let to_check = rt
        .store
        .read(move |c| {
            crate::store::feedback_to_check(
                c,
                &id,
                marketplace,
                now,
                recheck_ms,
                MAX_FEEDBACK_CHECKS_PER_POLL,
            )
        })
        .await?;
    let mut unsettled_checked = false;
    for (kind, thread) in to_check {
        if shutdown.is_cancelled() {
            break;
        }
        let read_at = rt.clock.now_ms();
        let Some(item) = connector.fetch(kind, &thread).await? else {
            tracing::info!(shop = %shop.id, %marketplace, %kind, %thread, "the marketplace no longer has this thread");
            continue;
        };
        let batch = crate::domain::FeedbackBatch {
            items: vec![item],
            ..Default::default()
        };
        let read = Read {
            started_at: read_at,
            synced_at: None,
        };
        store_feedback(rt, shop, marketplace, kind, batch, &settings, read).await?;
        unsettled_checked = true;
    }
    if unsettled_checked {
        // A thread read back may settle an unknown send, either way.
        rt.wake_sender.notify_one();
    }
    Ok(progress)
}

/// What the status table last heard from one feedback task. A healthy task
/// polls often: its row is written when the state changes and otherwise at
/// most every [`STATUS_HEARTBEAT`], so its "last good read" stays close.
#[derive(Default)]
struct FeedbackStatus {
    last: Option<ConnectorState>,
    written_at: Option<Instant>,
}

impl FeedbackStatus {
    async fn record(
        &mut self,
        rt: &Runtime,
        shop: &str,
        marketplace: Marketplace,
        state: ConnectorState,
        detail: Option<String>,
        retry_at: Option<i64>,
    ) {
        let fresh = self
            .written_at
            .is_some_and(|t| t.elapsed() < STATUS_HEARTBEAT);
        if self.last == Some(state) && state == ConnectorState::Ok && fresh {
            return;
        }
        let shop = shop.to_string();
        let now = rt.clock.now_ms();
        let written = rt
            .store
            .call(move |c| {
                crate::store::set_feedback_status(
                    c,
                    &shop,
                    marketplace,
                    state,
                    detail.as_deref(),
                    retry_at,
                    now,
                )
            })
            .await;
        match written {
            Ok(()) => {
                self.last = Some(state);
                self.written_at = Some(Instant::now());
            }
            Err(e) => tracing::error!(error = %e, "cannot record the reviews and questions status"),
        }
    }
}

/// When one read of reviews or questions happened.
#[derive(Debug, Clone, Copy)]
struct Read {
    /// When the request began: what its answer proves absent is absent from then.
    started_at: i64,
    /// Set when a listing was read to its end: when that listing began.
    synced_at: Option<i64>,
}

/// Store one batch of reviews or questions (a listing page or a thread read
/// back), then count the buyer turns it brought and wake the pipeline.
async fn store_feedback(
    rt: &Arc<Runtime>,
    shop: &Arc<Shop>,
    marketplace: Marketplace,
    kind: crate::domain::ThreadKind,
    batch: crate::domain::FeedbackBatch,
    settings: &IngestSettings,
    read: Read,
) -> Result<(), PollError> {
    let (id, settings) = (shop.id.clone(), *settings);
    let now = rt.clock.now_ms();
    let report = rt
        .store
        .call(move |c| {
            crate::store::ingest_feedback(
                c,
                &id,
                marketplace,
                kind,
                &batch,
                &settings,
                now,
                read.started_at,
                read.synced_at,
            )
        })
        .await?;
    after_feedback_ingest(rt, marketplace, &report);
    Ok(())
}

fn after_feedback_ingest(
    rt: &Runtime,
    marketplace: Marketplace,
    report: &crate::store::IngestReport,
) {
    if report.buyer_messages > 0 {
        rt.metrics
            .turns_ingested(marketplace, report.buyer_messages);
        rt.wake_pipeline.notify_one();
    }
    for (id, state, why) in &report.withdrawn_drafts {
        rt.emit(Event::DraftChanged {
            id: *id,
            state: *state,
            reason: Some(why.clone()),
        });
    }
    for id in &report.confirmed_drafts {
        rt.emit(Event::DraftChanged {
            id: *id,
            state: DraftState::Sent,
            reason: Some("доставлен: ответ виден на площадке".into()),
        });
    }
}
