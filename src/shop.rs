//! A shop at run time: its policy, prompt set, model and one connector per
//! marketplace. Policy and prompts can be swapped while the daemon runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;

use crate::config::{
    FeedbackSettings, Settings, ShopSettings, resolve_named_secret, resolve_secret,
};
use crate::diag::{Diagnostic, Diagnostics};
use crate::domain::Marketplace;
use crate::llm::{Chain, DynModel};
use crate::marketplace::avito::{AvitoClient, AvitoConfig};
use crate::marketplace::feedback::avito::{AvitoFeedback, AvitoFeedbackConfig};
use crate::marketplace::feedback::ozon::{OzonFeedback, OzonFeedbackConfig};
use crate::marketplace::feedback::yandex_market::{
    YandexMarketFeedback, YandexMarketFeedbackConfig,
};
use crate::marketplace::ozon::{OzonClient, OzonConfig};
use crate::marketplace::wildberries::{WbConfig, WildberriesClient};
use crate::marketplace::wildberries_feedback::{WbFeedbackConfig, WildberriesFeedbackClient};
use crate::marketplace::yandex_market::{YandexMarketClient, YandexMarketConfig};
use crate::marketplace::{DynConnector, DynFeedbackConnector};
use crate::policy::Policy;
use crate::prompts::PromptSet;

pub struct Shop {
    pub id: String,
    pub name: String,
    pub settings: ShopSettings,
    pub timezone: jiff::tz::TimeZone,
    pub policy_path: PathBuf,
    /// Prompt directories, later ones overriding earlier ones.
    pub prompt_dirs: Vec<PathBuf>,
    pub policy: ArcSwap<Policy>,
    pub prompts: ArcSwap<PromptSet>,
    /// The shop's LLM providers in fallback order, if it uses any.
    pub llm: Option<Arc<Chain>>,
    pub connectors: BTreeMap<Marketplace, DynConnector>,
    /// Reviews and questions, on the marketplaces where the shop reads them.
    pub feedback: BTreeMap<Marketplace, DynFeedbackConnector>,
    /// The policy file and prompt directory as they were just before loading.
    pub loaded_fingerprints: (Fingerprint, Fingerprint),
}

impl std::fmt::Debug for Shop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shop")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Shop {
    /// Load everything a shop needs to run. Errors name the file and line at fault.
    pub fn build(
        id: &str,
        settings: &Settings,
        models: &BTreeMap<String, DynModel>,
    ) -> Result<Shop, Diagnostics> {
        let shop = &settings.shops[id];
        let mut out = Diagnostics::default();
        let connectors = build_connectors(id, settings, shop)
            .map_err(|d| out.0.extend(d.0))
            .unwrap_or_default();
        let built = Self::build_offline(id, settings, models)
            .map_err(|d| out.0.extend(d.0))
            .ok();
        match built {
            Some(mut s) if out.is_empty() => {
                s.feedback = build_feedback_connectors(id, settings, shop);
                s.connectors = connectors;
                Ok(s)
            }
            _ => Err(out),
        }
    }

    /// A shop without marketplace connectors, for dry runs (`explain`, `check`).
    pub fn build_offline(
        id: &str,
        settings: &Settings,
        models: &BTreeMap<String, DynModel>,
    ) -> Result<Shop, Diagnostics> {
        let shop = &settings.shops[id];
        let mut out = Diagnostics::default();
        let policy_path = settings.resolve(&shop.policy);
        let prompt_dirs: Vec<PathBuf> =
            shop.prompts.0.iter().map(|p| settings.resolve(p)).collect();
        let loaded_fingerprints = (fingerprint(&policy_path), fingerprint_all(&prompt_dirs));
        let policy = Policy::load_shared(&policy_path)
            .map_err(|d| out.0.extend(d.0))
            .ok();
        let prompts = PromptSet::load_layered(&prompt_dirs)
            .map_err(|d| out.0.extend(d.0))
            .ok();
        let chain: Vec<DynModel> = shop
            .llm_provider
            .iter()
            .chain(shop.llm_fallbacks.iter())
            .filter_map(|p| models.get(p).cloned())
            .collect();
        let llm = (!chain.is_empty()).then(|| Arc::new(Chain::new(chain, settings.llm.cooldown.0)));
        let timezone = jiff::tz::TimeZone::get(&shop.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
        match (policy, prompts) {
            (Some(policy), Some(prompts)) if out.is_empty() => Ok(Shop {
                id: id.to_string(),
                name: shop.display_name.clone().unwrap_or_else(|| id.to_string()),
                settings: shop.clone(),
                timezone,
                policy_path,
                prompt_dirs,
                policy: ArcSwap::new(policy),
                prompts: ArcSwap::from_pointee(prompts),
                llm,
                connectors: BTreeMap::new(),
                feedback: BTreeMap::new(),
                loaded_fingerprints,
            }),
            _ => Err(out),
        }
    }

    pub fn connector(&self, marketplace: Marketplace) -> Option<&DynConnector> {
        self.connectors.get(&marketplace)
    }

    pub fn feedback_connector(&self, marketplace: Marketplace) -> Option<&DynFeedbackConnector> {
        self.feedback.get(&marketplace)
    }

    pub fn local_now(&self) -> jiff::Zoned {
        jiff::Timestamp::now().to_zoned(self.timezone.clone())
    }
}

/// Review and question connectors, where the shop's settings ask for them.
/// They use the chat connector's credentials, whose errors `build_connectors`
/// reports.
pub fn build_feedback_connectors(
    id: &str,
    settings: &Settings,
    shop: &ShopSettings,
) -> BTreeMap<Marketplace, DynFeedbackConnector> {
    let mut out: BTreeMap<Marketplace, DynFeedbackConnector> = BTreeMap::new();
    if let Some(wb) = &shop.wildberries
        && let Some(fb) = &wb.feedback
        && let Ok(token) = resolve_secret(
            &format!("shops.{id}.wildberries"),
            &wb.token,
            &wb.token_env,
            &wb.token_file,
            &settings.base_dir,
        )
    {
        let client = WildberriesFeedbackClient::new(WbFeedbackConfig {
            base_url: fb.base_url.clone(),
            token,
            timeout: wb.timeout.0,
            rate_limit_requests: fb.rate_limit_requests,
            rate_limit_period: fb.rate_limit_period.0,
        });
        out.insert(Marketplace::Wildberries, Arc::new(client));
    }
    let base = &settings.base_dir;
    if let Some(oz) = &shop.ozon
        && let Some(fb) = &oz.feedback
        && let Ok(api_key) = resolve_named_secret(
            &format!("shops.{id}.ozon"),
            "api_key",
            &oz.api_key,
            &oz.api_key_env,
            &oz.api_key_file,
            base,
        )
    {
        let mut config = OzonFeedbackConfig::new(&oz.base_url, &oz.client_id, api_key);
        config.rate_limit_requests = OZON_FEEDBACK_REQUESTS_PER_SECOND;
        pace(
            fb,
            &mut config.base_url,
            &mut config.timeout,
            oz.timeout.0,
            &mut config.rate_limit_requests,
            &mut config.rate_limit_period,
        );
        out.insert(Marketplace::Ozon, Arc::new(OzonFeedback::new(config)));
    }
    if let Some(ym) = &shop.yandex_market
        && let Some(fb) = &ym.feedback
        && let Ok(api_key) = resolve_named_secret(
            &format!("shops.{id}.yandex_market"),
            "api_key",
            &ym.api_key,
            &ym.api_key_env,
            &ym.api_key_file,
            base,
        )
    {
        let mut config = YandexMarketFeedbackConfig::new(&ym.base_url, ym.business_id, api_key);
        pace(
            fb,
            &mut config.base_url,
            &mut config.timeout,
            ym.timeout.0,
            &mut config.rate_limit_requests,
            &mut config.rate_limit_period,
        );
        out.insert(
            Marketplace::YandexMarket,
            Arc::new(YandexMarketFeedback::new(config)),
        );
    }
    if let Some(av) = &shop.avito
        && let Some(fb) = &av.feedback
        && let Ok(client_secret) = resolve_named_secret(
            &format!("shops.{id}.avito"),
            "client_secret",
            &av.client_secret,
            &av.client_secret_env,
            &av.client_secret_file,
            base,
        )
    {
        let mut config = AvitoFeedbackConfig::new(&av.base_url, &av.client_id, client_secret);
        pace(
            fb,
            &mut config.base_url,
            &mut config.timeout,
            av.timeout.0,
            &mut config.rate_limit_requests,
            &mut config.rate_limit_period,
        );
        out.insert(Marketplace::Avito, Arc::new(AvitoFeedback::new(config)));
    }
    out
}

/// Ozon's review and question methods share the 50 requests a second per
/// Client-Id with its chat methods; this leaves the chats most of it.
const OZON_FEEDBACK_REQUESTS_PER_SECOND: u32 = 10;

/// A feedback section's overrides of a client's defaults: its own base URL,
/// timeout (else the marketplace section's) and pace.
fn pace(
    fb: &FeedbackSettings,
    base_url: &mut String,
    timeout: &mut std::time::Duration,
    section_timeout: std::time::Duration,
    requests: &mut u32,
    period: &mut std::time::Duration,
) {
    if let Some(url) = &fb.base_url {
        base_url.clone_from(url);
    }
    *timeout = fb.timeout.map_or(section_timeout, |t| t.0);
    if let Some(n) = fb.rate_limit_requests {
        *requests = n;
    }
    if let Some(p) = fb.rate_limit_period {
        *period = p.0;
    }
}

/// One connector per marketplace the shop sells on. Errors name the config key.
pub fn build_connectors(
    id: &str,
    settings: &Settings,
    shop: &ShopSettings,
) -> Result<BTreeMap<Marketplace, DynConnector>, Diagnostics> {
    let mut out = Diagnostics::default();
    let mut connectors: BTreeMap<Marketplace, DynConnector> = BTreeMap::new();
    let base = &settings.base_dir;
    let mut fail = |what: String, e: String| {
        let message = e
            .strip_prefix(&format!("{what}: "))
            .map(str::to_string)
            .unwrap_or(e);
        out.push(Diagnostic::new(&settings.origin, message).field(what));
    };
    if let Some(wb) = &shop.wildberries {
        let what = format!("shops.{id}.wildberries");
        match resolve_secret(&what, &wb.token, &wb.token_env, &wb.token_file, base) {
            Ok(token) => {
                let client = WildberriesClient::new(WbConfig {
                    base_url: wb.base_url.clone(),
                    token,
                    timeout: wb.timeout.0,
                    rate_limit_requests: wb.rate_limit_requests,
                    rate_limit_period: wb.rate_limit_period.0,
                });
                connectors.insert(Marketplace::Wildberries, Arc::new(client));
            }
            Err(e) => fail(what, e),
        }
    }
    if let Some(oz) = &shop.ozon {
        let what = format!("shops.{id}.ozon");
        match resolve_named_secret(
            &what,
            "api_key",
            &oz.api_key,
            &oz.api_key_env,
            &oz.api_key_file,
            base,
        ) {
            Ok(api_key) => {
                let client = OzonClient::new(OzonConfig {
                    base_url: oz.base_url.clone(),
                    client_id: oz.client_id.clone(),
                    api_key,
                    timeout: oz.timeout.0,
                    rate_limit_requests: oz.rate_limit_requests,
                    rate_limit_period: oz.rate_limit_period.0,
                });
                connectors.insert(Marketplace::Ozon, Arc::new(client));
            }
            Err(e) => fail(what, e),
        }
    }
    if let Some(ym) = &shop.yandex_market {
        let what = format!("shops.{id}.yandex_market");
        match resolve_named_secret(
            &what,
            "api_key",
            &ym.api_key,
            &ym.api_key_env,
            &ym.api_key_file,
            base,
        ) {
            Ok(api_key) => {
                let client = YandexMarketClient::new(YandexMarketConfig {
                    base_url: ym.base_url.clone(),
                    business_id: ym.business_id,
                    api_key,
                    timeout: ym.timeout.0,
                    max_parallel: ym.max_parallel,
                    rate_limit_requests: ym.rate_limit_requests,
                    rate_limit_period: ym.rate_limit_period.0,
                });
                connectors.insert(Marketplace::YandexMarket, Arc::new(client));
            }
            Err(e) => fail(what, e),
        }
    }
    if let Some(av) = &shop.avito {
        let what = format!("shops.{id}.avito");
        match resolve_named_secret(
            &what,
            "client_secret",
            &av.client_secret,
            &av.client_secret_env,
            &av.client_secret_file,
            base,
        ) {
            Ok(client_secret) => {
                let client = AvitoClient::new(AvitoConfig {
                    base_url: av.base_url.clone(),
                    client_id: av.client_id.clone(),
                    client_secret,
                    timeout: av.timeout.0,
                    rate_limit_requests: av.rate_limit_requests,
                    rate_limit_period: av.rate_limit_period.0,
                });
                connectors.insert(Marketplace::Avito, Arc::new(client));
            }
            Err(e) => fail(what, e),
        }
    }
    out.into_result(connectors)
}

/// What a set of files looked like: path, size, modification time.
pub type Fingerprint = Vec<(PathBuf, u64, Option<SystemTime>)>;

pub fn fingerprint(path: &Path) -> Fingerprint {
    let mut out = Vec::new();
    collect(path, &mut out);
    out.sort();
    out
}

/// The fingerprint of several paths together.
pub fn fingerprint_all(paths: &[PathBuf]) -> Fingerprint {
    let mut out = Vec::new();
    for p in paths {
        collect(p, &mut out);
    }
    out.sort();
    out
}

fn collect(path: &Path, out: &mut Fingerprint) {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            if let Ok(entries) = std::fs::read_dir(path) {
                for e in entries.flatten() {
                    collect(&e.path(), out);
                }
            }
        }
        Ok(m) => out.push((path.to_path_buf(), m.len(), m.modified().ok())),
        Err(_) => out.push((path.to_path_buf(), 0, None)),
    }
}
