//! Building the daemon from settings and running it until shutdown.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Settings;
use crate::diag::{Diagnostic, Diagnostics};
use crate::domain::{DraftState, Effect, Flag, Intent, Marketplace, Millis, now_ms};
use crate::llm::{DynModel, OpenAiCompatible};
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

/// What every background task shares.
pub struct Runtime {
    pub settings: Settings,
    pub store: Store,
    pub shops: BTreeMap<String, Arc<Shop>>,
    pub events: broadcast::Sender<Event>,
    pub wake_pipeline: Notify,
    pub wake_sender: Notify,
    pub health: Health,
}

impl Runtime {
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

pub struct App {
    pub runtime: Arc<Runtime>,
}

/// Build the LLM providers the configuration names.
pub fn build_models(settings: &Settings) -> Result<BTreeMap<String, DynModel>, Diagnostics> {
    let mut out = Diagnostics::default();
    let mut models: BTreeMap<String, DynModel> = BTreeMap::new();
    for (name, p) in &settings.llm.providers {
        let api_key = match &p.api_key_env {
            Some(var) => match std::env::var(var) {
                Ok(v) if !v.trim().is_empty() => Some(v.trim().to_string()),
                _ => {
                    out.push(
                        Diagnostic::new(
                            &settings.origin,
                            format!("environment variable `{var}` with the API key is not set"),
                        )
                        .field(format!("llm.providers.{name}.api_key_env")),
                    );
                    continue;
                }
            },
            None => None,
        };
        let built = OpenAiCompatible::new(crate::llm::OpenAiSettings {
            name: name.clone(),
            base_url: p.base_url.clone(),
            model: p.model.clone(),
            api_key,
            timeout: p.timeout.0,
            max_concurrency: p.max_concurrency,
            temperature: p.temperature,
            headers: p
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        });
        match built {
            Ok(m) => {
                models.insert(name.clone(), Arc::new(m));
            }
            Err(e) => out
                .push(Diagnostic::new(&settings.origin, e).field(format!("llm.providers.{name}"))),
        }
    }
    out.into_result(models)
}

impl App {
    /// Open the store and load every shop. Fails with every problem found.
    pub fn build(settings: Settings) -> Result<App, Diagnostics> {
        let store = Store::open(&settings.database_path()).map_err(|e| {
            Diagnostics::from(Diagnostic::new(
                settings.database_path(),
                format!("cannot open the database: {e}"),
            ))
        })?;
        Self::build_with_store(settings, store)
    }

    pub fn build_with_store(settings: Settings, store: Store) -> Result<App, Diagnostics> {
        let models = build_models(&settings)?;
        let mut out = Diagnostics::default();
        let mut shops = BTreeMap::new();
        for id in settings.shops.keys() {
            match Shop::build(id, &settings, &models) {
                Ok(shop) => {
                    shops.insert(id.clone(), Arc::new(shop));
                }
                Err(d) => out.0.extend(d.0),
            }
        }
        out.into_result(())?;
        let (events, _) = broadcast::channel(1024);
        Ok(App {
            runtime: Arc::new(Runtime {
                settings,
                store,
                shops,
                events,
                wake_pipeline: Notify::new(),
                wake_sender: Notify::new(),
                health: Health::default(),
            }),
        })
    }

    /// Run until `shutdown` fires, then let in-flight work finish.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let rt = self.runtime;
        let recovered = rt
            .store
            .call(move |c| crate::store::recover_in_flight(c, now_ms()))
            .await?;
        if !recovered.is_empty() {
            tracing::warn!(drafts = ?recovered, "sends interrupted by the last stop are now `unknown`; reconciling against the chat history");
        }
        let tasks = TaskTracker::new();
        for shop in rt.shops.values() {
            for (marketplace, connector) in &shop.connectors {
                tasks.spawn(crate::poller::run(
                    rt.clone(),
                    shop.clone(),
                    *marketplace,
                    connector.clone(),
                    shutdown.clone(),
                ));
            }
        }
        tasks.spawn(crate::pipeline::worker::run(rt.clone(), shutdown.clone()));
        tasks.spawn(crate::sender::run(rt.clone(), shutdown.clone()));
        tasks.spawn(sweep(rt.clone(), shutdown.clone()));
        tasks.spawn(crate::reload::run(
            rt.clone(),
            rt.settings.reload.interval.0,
            shutdown.clone(),
        ));
        tasks.close();
        tracing::info!(shops = rt.shops.len(), database = %rt.settings.database_path().display(), "daemon running");
        shutdown.cancelled().await;
        tracing::info!("stopping: finishing in-flight work");
        if tokio::time::timeout(Duration::from_secs(10), tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                "some tasks did not stop within 10 s; in-flight sends will be reconciled on the next start"
            );
        }
        Ok(())
    }
}

/// Expire drafts nobody acted on.
async fn sweep(rt: Arc<Runtime>, shutdown: CancellationToken) {
    let ttl = rt.settings.pipeline.pending_ttl.as_millis_i64();
    loop {
        let expired = rt
            .store
            .call(move |c| crate::store::expire_stale(c, now_ms(), ttl))
            .await;
        match expired {
            Ok(ids) => {
                for id in ids {
                    rt.emit(Event::DraftChanged {
                        id,
                        state: DraftState::Expired,
                        reason: Some("nobody approved it in time".into()),
                    });
                }
            }
            Err(e) => tracing::error!(error = %e, "expiring stale drafts failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
    }
}
