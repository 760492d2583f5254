//! The composition root: build the daemon from settings, start every service
//! on a shared [`Runtime`], and run until shutdown.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Settings;
use crate::diag::{Diagnostic, Diagnostics};
use crate::domain::now_ms;
use crate::llm::{DynModel, OpenAiCompatible};
use crate::runtime::Runtime;
use crate::shop::Shop;
use crate::store::Store;

pub struct App {
    pub runtime: Arc<Runtime>,
    web_listener: Option<tokio::net::TcpListener>,
    web_credential: Option<crate::web::auth::Credential>,
    telegram: Option<crate::telegram::BotApi>,
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
        let telegram = match &settings.telegram {
            Some(t) => match crate::telegram::BotApi::from_settings(t, &settings.base_dir) {
                Ok(api) => Some(api),
                Err(e) => {
                    out.push(Diagnostic::new(&settings.origin, e).field("telegram.token"));
                    None
                }
            },
            None => None,
        };
        out.into_result(())?;
        Ok(App {
            web_listener: None,
            web_credential: None,
            telegram,
            runtime: Arc::new(Runtime::new(settings, store, shops)),
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
        // Decisions made from now on, here or in another process, are counted.
        let last_event = rt.store.read(crate::store::last_draft_event).await?;
        *rt.metrics.decision_tally().lock().await = Some(last_event);
        // The learned models train as the drafting worker starts, off the
        // async threads (`pipeline::worker::models_ready`).
        let tasks = TaskTracker::new();
        for shop in rt.shops.values() {
            for (marketplace, connector) in &shop.connectors {
                tasks.spawn(crate::poller::run(
                    rt.clone(),
                    shop.clone(),
                    *marketplace,
                    connector.clone(),
                    rt.progress.register(),
                    shutdown.clone(),
                ));
            }
        }
        for shop in rt.shops.values() {
            for (marketplace, connector) in &shop.feedback {
                let interval = shop
                    .settings
                    .feedback_poll_interval(*marketplace)
                    .unwrap_or(Duration::from_secs(60));
                tasks.spawn(crate::poller::run_feedback(
                    rt.clone(),
                    shop.clone(),
                    connector.clone(),
                    interval,
                    rt.progress.register(),
                    shutdown.clone(),
                ));
            }
        }
        tasks.spawn(crate::poller::record_heartbeats(
            rt.clone(),
            shutdown.clone(),
        ));
        // Each loop's progress report exists before the loop first runs, so
        // a reader never mistakes a loop that has not started for an idle one.
        tasks.spawn(crate::pipeline::worker::run(
            rt.clone(),
            rt.progress.register(),
            shutdown.clone(),
        ));
        tasks.spawn(crate::sender::run(
            rt.clone(),
            rt.progress.register(),
            shutdown.clone(),
        ));
        tasks.spawn(crate::sweeper::run(rt.clone(), shutdown.clone()));
        tasks.spawn(crate::reload::run(
            rt.clone(),
            rt.settings.reload.interval.0,
            shutdown.clone(),
        ));
        if let Some(api) = self.telegram.take() {
            let loops = std::array::from_fn(|_| rt.progress.register());
            tasks.spawn(crate::telegram::run(
                rt.clone(),
                api,
                loops,
                shutdown.clone(),
            ));
        }
        if let Some((listener, credential)) = web {
            let addr = listener.local_addr()?;
            let state = crate::web::WebState {
                auth: Arc::new(
                    crate::web::auth::Auth::new(credential, &rt.settings.web)
                        .with_store(rt.store.clone()),
                ),
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
        rt.progress.all_registered();
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
