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

/// What every background task shares.
pub struct Runtime {
    pub settings: Settings,
    pub store: Store,
    pub shops: BTreeMap<String, Arc<Shop>>,
    pub events: broadcast::Sender<Event>,
    pub wake_pipeline: Notify,
    pub wake_sender: Notify,
    pub health: Health,
    /// Wakes a connector's poller at once (webhooks).
    poll_wakers: std::collections::HashMap<(String, Marketplace), Arc<Notify>>,
}

impl Runtime {
    pub fn poll_waker(&self, shop: &str, marketplace: Marketplace) -> Arc<Notify> {
        self.poll_wakers
            .get(&(shop.to_string(), marketplace))
            .cloned()
            .unwrap_or_else(|| Arc::new(Notify::new()))
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

pub struct App {
    pub runtime: Arc<Runtime>,
    web_listener: Option<tokio::net::TcpListener>,
    web_credential: Option<crate::web::auth::Credential>,
}

/// Build the LLM providers the configuration names.
pub fn build_models(settings: &Settings) -> Result<BTreeMap<String, DynModel>, Diagnostics> {
    use crate::config::ProviderKind;
    use crate::llm::{OpenAiSettings, YandexGpt, YandexSettings};
    let mut out = Diagnostics::default();
    let mut models: BTreeMap<String, DynModel> = BTreeMap::new();
    for (name, p) in &settings.llm.providers {
        let secret = match &p.api_key_env {
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
        let built: Result<DynModel, String> = match p.kind {
            ProviderKind::Openai => OpenAiCompatible::new(OpenAiSettings {
                name: name.clone(),
                base_url: p.base_url.clone().unwrap_or_default(),
                model: p.model.clone(),
                api_key: secret,
                timeout: p.timeout.0,
                max_concurrency: p.max_concurrency,
                temperature: p.temperature,
                headers: p
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                auth_scheme: p.auth_scheme.clone(),
                project: p.folder_id.clone(),
                structured_output: p.structured_output,
            })
            .map(|m| Arc::new(m) as DynModel),
            ProviderKind::Yandex => YandexGpt::new(YandexSettings {
                name: name.clone(),
                host: p
                    .base_url
                    .clone()
                    .unwrap_or_else(|| crate::llm::yandex::DEFAULT_HOST.to_string()),
                model: p.model.clone(),
                folder_id: p.folder_id.clone(),
                secret,
                auth_scheme: p.auth_scheme.clone(),
                data_logging: p.data_logging,
                timeout: p.timeout.0,
                max_concurrency: p.max_concurrency,
                temperature: p.temperature,
                structured_output: p.structured_output,
            })
            .map(|m| Arc::new(m) as DynModel),
        };
        match built {
            Ok(m) => {
                models.insert(name.clone(), m);
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
        let store = Store::open_with(&settings.database_path(), settings.database.busy_timeout.0)
            .map_err(|e| {
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
        let poll_wakers = shops
            .values()
            .flat_map(|s: &Arc<Shop>| {
                s.connectors
                    .keys()
                    .map(|m| ((s.id.clone(), *m), Arc::new(Notify::new())))
            })
            .collect();
        let (events, _) = broadcast::channel(1024);
        Ok(App {
            web_listener: None,
            web_credential: None,
            runtime: Arc::new(Runtime {
                settings,
                store,
                shops,
                events,
                wake_pipeline: Notify::new(),
                wake_sender: Notify::new(),
                health: Health::default(),
                poll_wakers,
            }),
        })
    }

    /// Use this password for the web queue instead of the configured one (the demo's).
    pub fn set_web_password(&mut self, password: secrecy::SecretString) {
        self.web_credential = Some(crate::web::auth::Credential::Password(password));
    }

    fn web_credential(&self) -> Option<crate::web::auth::Credential> {
        use crate::web::auth::Credential;
        if let Some(Credential::Password(p)) = &self.web_credential {
            return Some(Credential::Password(p.clone()));
        }
        let web = &self.runtime.settings.web;
        if let Some(hash) = &web.password_hash {
            return Some(Credential::Hash(hash.clone()));
        }
        std::env::var(&web.password_env)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| Credential::Password(secrecy::SecretString::from(v.trim().to_string())))
    }

    /// Bind the web queue's address now (port 0 picks a free one) and return it.
    pub async fn bind_web(&mut self) -> std::io::Result<Option<std::net::SocketAddr>> {
        if !self.runtime.settings.web.enabled {
            return Ok(None);
        }
        if self.web_listener.is_none() {
            self.web_listener =
                Some(tokio::net::TcpListener::bind(self.runtime.settings.web.listen).await?);
        }
        self.web_listener
            .as_ref()
            .map(|l| l.local_addr())
            .transpose()
    }

    /// Run until `shutdown` fires, then let in-flight work finish.
    pub async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let web = if self.runtime.settings.web.enabled {
            match (self.web_credential(), self.bind_web().await?) {
                (Some(credential), Some(_)) => self.web_listener.take().map(|l| (l, credential)),
                (None, _) => {
                    tracing::error!(
                        "the web queue is off: set the {} environment variable (or web.password_hash) to the operator password",
                        self.runtime.settings.web.password_env
                    );
                    None
                }
                _ => None,
            }
        } else {
            None
        };
        let rt = self.runtime;
        let recovered = rt
            .store
            .call(move |c| crate::store::recover_in_flight(c, now_ms()))
            .await?;
        if !recovered.is_empty() {
            tracing::warn!(drafts = ?recovered, "sends interrupted by the last stop are now `unknown`; reconciling against the chat history");
        }
        // The learned injection detector and draft guard train on first use
        // (a few hundred milliseconds): train them now, off the async threads,
        // so the first buyer turn and the first draft do not wait for it.
        tokio::task::spawn_blocking(|| {
            crate::analysis::risk::model_says(&crate::text::normalise("прогрев"));
            crate::guards::model::DraftModel::builtin();
        });
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
        if let Some((listener, credential)) = web {
            let addr = listener.local_addr()?;
            let state = crate::web::WebState {
                auth: Arc::new(crate::web::auth::Auth::new(credential, &rt.settings.web)),
                tera: Arc::new(crate::web::templates()),
                rt: rt.clone(),
            };
            let stop = shutdown.clone();
            tasks.spawn(async move {
                if let Err(e) = crate::web::serve(listener, state, stop).await {
                    tracing::error!(error = %e, "the web queue stopped");
                }
            });
            tracing::info!(%addr, "web queue listening");
        }
        tasks.close();
        tracing::info!(shops = rt.shops.len(), database = %rt.settings.database_path().display(), "daemon running");
        shutdown.cancelled().await;
        tracing::info!("stopping: polling stopped, finishing in-flight sends");
        if tokio::time::timeout(SHUTDOWN_GRACE, tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                "some work did not finish within {} s; sends still in flight are reconciled against the chat history on the next start",
                SHUTDOWN_GRACE.as_secs()
            );
        }
        // Fold the write-ahead log into the database so the next start (or a
        // backup taken now) sees one complete file.
        if let Err(e) = rt
            .store
            .call(|c| {
                c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
                Ok(())
            })
            .await
        {
            tracing::warn!(error = %e, "could not checkpoint the database on the way out");
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// How long a stop waits for in-flight sends before leaving them to the
/// next start's reconciliation.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

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
                        reason: Some("никто не одобрил вовремя".into()),
                    });
                }
            }
            Err(e) => tracing::error!(error = %e, "expiring stale drafts failed"),
        }
        let windows: Vec<(Marketplace, i64)> = Marketplace::ALL
            .iter()
            .filter_map(|m| m.capabilities().reply_window_secs.map(|w| (*m, w)))
            .collect();
        let closed = rt
            .store
            .call(move |c| crate::store::expire_past_reply_window(c, now_ms(), &windows))
            .await;
        match closed {
            Ok(ids) => {
                for id in ids {
                    rt.emit(Event::DraftChanged {
                        id,
                        state: DraftState::Expired,
                        reason: Some("окно ответа закрылось".into()),
                    });
                }
            }
            Err(e) => tracing::error!(error = %e, "expiring drafts past their reply window failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
    }
}
