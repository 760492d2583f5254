//! What the daemon's background tasks share while it runs: the settings, the
//! store, the shops, live events, wake-up signals and connector health. The
//! services (poller, pipeline worker, sender, reload, sweeper, web queue) sit
//! above this module; `app` builds a [`Runtime`] and starts them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{Notify, broadcast};

use crate::config::Settings;
use crate::domain::{DraftState, Effect, Flag, Intent, Marketplace, Millis, now_ms};
use crate::metrics::Metrics;
use crate::shop::Shop;
use crate::store::{ConnectorState, Store};

/// Something that happened, for live displays (the demo, the web queue).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    DraftCreated {
        id: i64,
        shop: String,
        marketplace: Marketplace,
        chat_id: String,
        intent: Intent,
        confidence: f64,
        flags: Vec<Flag>,
        effect: Effect,
        state: DraftState,
        text: String,
        reason: String,
    },
    DraftChanged {
        id: i64,
        state: DraftState,
        reason: Option<String>,
    },
    Connector {
        shop: String,
        marketplace: Marketplace,
        state: ConnectorState,
        detail: Option<String>,
    },
    /// A shop's kill switch changed.
    ShopChanged { shop: String },
}

/// Which connectors are paused because the marketplace rejected our credentials.
#[derive(Debug, Default)]
pub struct Health {
    auth_failed: Mutex<HashSet<(String, Marketplace)>>,
}

impl Health {
    pub fn set_auth_failed(&self, shop: &str, marketplace: Marketplace, failed: bool) {
        let mut set = self.auth_failed.lock().unwrap_or_else(|p| p.into_inner());
        if failed {
            set.insert((shop.to_string(), marketplace));
        } else {
            set.remove(&(shop.to_string(), marketplace));
        }
    }

    pub fn paused(&self) -> Vec<(String, Marketplace)> {
        self.auth_failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

/// Most webhook bodies waiting for one connector's poller. Beyond this the
/// body is dropped: the poll the wake-up starts reads the same messages.
const MAX_PENDING_WEBHOOKS: usize = 256;

/// What the outside hands a connector's poller: a wake-up, and the webhook
/// bodies the marketplace pushed, which the poller parses and stores itself;
/// and what the poller leaves for the status writer.
#[derive(Debug, Default)]
pub struct PollInbox {
    wake: Notify,
    webhooks: Mutex<Vec<Vec<u8>>>,
    /// Counts sends of this connector whose outcome became unknown: the
    /// poller records its next complete read even if it brought nothing.
    unsettled: AtomicU64,
    /// When the connector last polled successfully, and the part of that
    /// already written to the store: [`Runtime::take_ok_heartbeats`].
    ok_at: AtomicI64,
    ok_recorded: AtomicI64,
}

impl PollInbox {
    /// Wakes the connector's poller at once.
    pub fn waker(&self) -> &Notify {
        &self.wake
    }

    /// The webhook bodies delivered since the last call, oldest first.
    pub fn take_webhooks(&self) -> Vec<Vec<u8>> {
        let mut pending = self.webhooks.lock().unwrap_or_else(|p| p.into_inner());
        if pending.is_empty() {
            return Vec::new();
        }
        std::mem::take(&mut *pending)
    }

    /// How many sends of this connector [`Runtime::note_unsettled_send`] has counted.
    pub fn unsettled_sends(&self) -> u64 {
        self.unsettled.load(Ordering::SeqCst)
    }

    /// A poll succeeded at `now` while the connector's recorded state is
    /// already `ok`: the status writer moves its "last ok" time in a batch.
    pub fn note_ok(&self, now: Millis) {
        self.ok_at.fetch_max(now, Ordering::Relaxed);
    }
}

/// The daemon's time: the system clock, which a test can move forward to
/// make undo windows, delays and quiet hours end without waiting for them.
/// Every decision about what is due reads this clock.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    ahead_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn now_ms(&self) -> Millis {
        now_ms() + self.ahead_ms.load(Ordering::Relaxed)
    }

    /// Moves this clock (not the system's) forward by `by`.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.ahead_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

/// One background loop's progress: how many passes it finished, how much
/// work it still holds, and how long it means to sleep. The loops report;
/// [`Progress::settled_since`] reads, so a test can wait until the daemon
/// has done everything it can do now instead of sleeping a fixed time.
#[derive(Debug, Default)]
pub struct Activity {
    passes: AtomicU64,
    /// Passes that ended holding work.
    busy_passes: AtomicU64,
    busy: AtomicU64,
    /// The pass's planned sleep, in milliseconds of [`Clock`] time.
    wakes_at: AtomicI64,
}

impl Activity {
    /// A pass ended holding `busy` pieces of work (sends in flight, turns
    /// claimed or due soon), about to sleep for `sleep` unless woken.
    pub fn pass_done(&self, busy: usize, sleep: Duration, now: Millis) {
        let sleep = i64::try_from(sleep.as_millis()).unwrap_or(i64::MAX);
        self.busy.store(busy as u64, Ordering::SeqCst);
        if busy > 0 {
            self.busy_passes.fetch_add(1, Ordering::SeqCst);
        }
        self.wakes_at
            .store(now.saturating_add(sleep), Ordering::SeqCst);
        self.passes.fetch_add(1, Ordering::SeqCst);
    }

    /// The loop will not run (a part switched off by its settings): it
    /// holds no work and never wakes.
    pub fn retire(&self) {
        self.busy.store(0, Ordering::SeqCst);
        self.wakes_at.store(Millis::MAX, Ordering::SeqCst);
    }
}

/// Every reporting loop's [`Activity`].
#[derive(Debug, Default)]
pub struct Progress {
    loops: Mutex<Vec<Arc<Activity>>>,
    /// Every loop of the daemon is registered.
    complete: std::sync::atomic::AtomicBool,
}

/// Pass counts at one moment, for [`Progress::settled_since`].
#[derive(Debug, Clone)]
pub struct ProgressMark(Vec<(u64, u64)>);

/// A loop asleep for longer than this (a connector backing off, a
/// marketplace's throttle pause) has nothing to do soon.
const LONG_SLEEP_MS: i64 = 1_000;

impl Progress {
    /// A new loop's report card.
    pub fn register(&self) -> Arc<Activity> {
        let a = Arc::new(Activity::default());
        self.loops
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(a.clone());
        a
    }

    /// Every loop the daemon runs has registered.
    pub fn all_registered(&self) {
        self.complete.store(true, Ordering::SeqCst);
    }

    pub fn mark(&self) -> ProgressMark {
        let loops = self.loops.lock().unwrap_or_else(|p| p.into_inner());
        ProgressMark(
            loops
                .iter()
                .map(|a| {
                    (
                        a.passes.load(Ordering::SeqCst),
                        a.busy_passes.load(Ordering::SeqCst),
                    )
                })
                .collect(),
        )
    }

    /// True when no pass since `mark` ended holding work: whatever the
    /// daemon did in that time, it found nothing left to do.
    pub fn quiet_since(&self, mark: &ProgressMark) -> bool {
        let loops = self.loops.lock().unwrap_or_else(|p| p.into_inner());
        loops.iter().enumerate().all(|(i, a)| {
            let before = mark.0.get(i).map_or(0, |m| m.1);
            a.busy_passes.load(Ordering::SeqCst) == before
        })
    }

    /// True when, since `mark`, every loop has finished two whole passes (so
    /// one began after the mark) or is asleep for long, and none holds work.
    pub fn settled_since(&self, mark: &ProgressMark, now: Millis) -> bool {
        if !self.complete.load(Ordering::SeqCst) {
            return false;
        }
        let loops = self.loops.lock().unwrap_or_else(|p| p.into_inner());
        loops.iter().enumerate().all(|(i, a)| {
            let before = mark.0.get(i).map_or(0, |m| m.0);
            let passes = a.passes.load(Ordering::SeqCst);
            let idle = a.busy.load(Ordering::SeqCst) == 0;
            let asleep_long = a.wakes_at.load(Ordering::SeqCst) > now + LONG_SLEEP_MS;
            idle && (passes >= before + 2 || asleep_long)
        })
    }
}

/// What every background task shares.
pub struct Runtime {
    pub settings: Settings,
    pub store: Store,
    pub shops: BTreeMap<String, Arc<Shop>>,
    pub events: broadcast::Sender<Event>,
    pub wake_pipeline: Notify,
    pub wake_sender: Notify,
    /// An update arrived at the Telegram webhook.
    pub wake_telegram: Notify,
    pub health: Health,
    pub metrics: Metrics,
    pub clock: Clock,
    pub progress: Progress,
    inboxes: HashMap<(String, Marketplace), Arc<PollInbox>>,
}

impl Runtime {
    pub fn new(settings: Settings, store: Store, shops: BTreeMap<String, Arc<Shop>>) -> Runtime {
        let inboxes = shops
            .values()
            .flat_map(|s| {
                s.connectors
                    .keys()
                    .map(|m| ((s.id.clone(), *m), Arc::default()))
            })
            .collect();
        let (events, _) = broadcast::channel(1024);
        Runtime {
            settings,
            store,
            shops,
            events,
            wake_pipeline: Notify::new(),
            wake_sender: Notify::new(),
            wake_telegram: Notify::new(),
            health: Health::default(),
            metrics: Metrics::new(),
            clock: Clock::default(),
            progress: Progress::default(),
            inboxes,
        }
    }

    /// What the connector's poller is handed; `None` for a connector the
    /// daemon did not start with.
    pub fn poll_inbox(&self, shop: &str, marketplace: Marketplace) -> Option<Arc<PollInbox>> {
        self.inboxes.get(&(shop.to_string(), marketplace)).cloned()
    }

    /// Hand a webhook's body to the connector's poller and wake it. False if
    /// the shop has no such connector.
    pub fn deliver_webhook(&self, shop: &str, marketplace: Marketplace, body: Vec<u8>) -> bool {
        let Some(inbox) = self.inboxes.get(&(shop.to_string(), marketplace)) else {
            return false;
        };
        {
            let mut pending = inbox.webhooks.lock().unwrap_or_else(|p| p.into_inner());
            if pending.len() < MAX_PENDING_WEBHOOKS {
                pending.push(body);
            } else {
                tracing::warn!(shop, %marketplace, "too many webhooks waiting; the next poll reads their messages");
            }
        }
        inbox.wake.notify_one();
        true
    }

    /// A send's outcome became unknown: its connector's next complete read
    /// must be recorded, since only that settles it.
    pub fn note_unsettled_send(&self, shop: &str, marketplace: Marketplace) {
        if let Some(inbox) = self.inboxes.get(&(shop.to_string(), marketplace)) {
            inbox.unsettled.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The "last ok" times noted since the last call ([`PollInbox::note_ok`]),
    /// for one batched write instead of one write per connector.
    pub fn take_ok_heartbeats(&self) -> Vec<(String, Marketplace, Millis)> {
        let mut due = Vec::new();
        for ((shop, marketplace), inbox) in &self.inboxes {
            let at = inbox.ok_at.load(Ordering::Relaxed);
            if at > inbox.ok_recorded.swap(at, Ordering::Relaxed) {
                due.push((shop.clone(), *marketplace, at));
            }
        }
        due
    }

    /// Moves the daemon's clock forward and wakes the loops that act on
    /// what has become due.
    pub fn advance_clock(&self, by: Duration) {
        self.clock.advance(by);
        self.wake_pipeline.notify_one();
        self.wake_sender.notify_one();
        self.wake_telegram.notify_one();
    }

    pub fn emit(&self, event: Event) {
        let _ = self.events.send(event);
    }

    pub async fn set_connector_status(
        &self,
        shop: &str,
        marketplace: Marketplace,
        state: ConnectorState,
        detail: Option<String>,
        retry_at: Option<Millis>,
    ) {
        self.health
            .set_auth_failed(shop, marketplace, state == ConnectorState::AuthFailed);
        let (s, d, now) = (shop.to_string(), detail.clone(), now_ms());
        if let Err(e) = self
            .store
            .call(move |c| {
                crate::store::set_status(c, &s, marketplace, state, d.as_deref(), retry_at, now)
            })
            .await
        {
            tracing::error!(error = %e, "cannot record the connector status");
        }
        self.emit(Event::Connector {
            shop: shop.to_string(),
            marketplace,
            state,
            detail,
        });
    }
}

#[cfg(test)]
mod progress_tests {
    use super::*;

    const NOW: Millis = 1_000_000;

    fn progress(loops: usize) -> (Progress, Vec<Arc<Activity>>) {
        let p = Progress::default();
        let loops = (0..loops).map(|_| p.register()).collect();
        p.all_registered();
        (p, loops)
    }

    #[test]
    fn settled_needs_two_passes_of_every_loop_after_the_mark() {
        let (p, loops) = progress(2);
        let mark = p.mark();
        assert!(!p.settled_since(&mark, NOW), "nothing ran yet");
        for _ in 0..2 {
            loops[0].pass_done(0, Duration::from_millis(50), NOW);
        }
        loops[1].pass_done(0, Duration::from_millis(50), NOW);
        assert!(
            !p.settled_since(&mark, NOW),
            "one pass may have begun before the mark"
        );
        loops[1].pass_done(0, Duration::from_millis(50), NOW);
        assert!(p.settled_since(&mark, NOW));
        assert!(p.quiet_since(&mark));
    }

    #[test]
    fn work_held_keeps_it_unsettled_and_the_round_not_quiet() {
        let (p, loops) = progress(1);
        let mark = p.mark();
        loops[0].pass_done(1, Duration::from_millis(50), NOW);
        loops[0].pass_done(1, Duration::from_millis(50), NOW);
        assert!(!p.settled_since(&mark, NOW), "a send in flight");
        loops[0].pass_done(0, Duration::from_millis(50), NOW);
        assert!(p.settled_since(&mark, NOW));
        assert!(!p.quiet_since(&mark), "the round saw work");
        let again = p.mark();
        loops[0].pass_done(0, Duration::from_millis(50), NOW);
        loops[0].pass_done(0, Duration::from_millis(50), NOW);
        assert!(p.settled_since(&again, NOW) && p.quiet_since(&again));
    }

    #[test]
    fn a_loop_asleep_for_long_or_retired_counts_as_settled_but_not_before_it_ran() {
        let (p, loops) = progress(2);
        loops[1].retire();
        let mark = p.mark();
        assert!(!p.settled_since(&mark, NOW), "the first has not run");
        loops[0].pass_done(0, Duration::from_secs(3600), NOW);
        assert!(p.settled_since(&mark, NOW), "backing off for an hour");
        assert!(!p.settled_since(&mark, NOW + 3_600_000), "due again");
    }

    #[test]
    fn nothing_is_settled_before_every_loop_is_registered() {
        let p = Progress::default();
        let mark = p.mark();
        assert!(!p.settled_since(&mark, NOW), "no loops yet is not idle");
        p.all_registered();
        assert!(p.settled_since(&mark, NOW));
    }

    #[test]
    fn the_clock_moves_forward_only_when_told() {
        let clock = Clock::default();
        let shared = clock.clone();
        let before = clock.now_ms();
        shared.advance(Duration::from_secs(3600));
        let after = clock.now_ms();
        assert!((3_600_000..3_610_000).contains(&(after - before)));
        assert!(
            now_ms() < after - 3_590_000,
            "the system clock is untouched"
        );
    }
}
