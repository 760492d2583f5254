//! What the daemon's background tasks share while it runs: the settings, the
//! store, the shops, live events, wake-up signals and connector health. The
//! services (poller, pipeline worker, sender, reload, sweeper, web queue) sit
//! above this module; `app` builds a [`Runtime`] and starts them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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
