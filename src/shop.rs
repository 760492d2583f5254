//! A shop at run time: its policy, prompt set, model and one connector per
//! marketplace. Policy and prompts can be swapped while the daemon runs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::config::{Settings, ShopSettings, resolve_secret};
use crate::diag::{Diagnostic, Diagnostics};
use crate::domain::Marketplace;
use crate::llm::{Chain, DynModel};
use crate::marketplace::DynConnector;
use crate::marketplace::wildberries::{WbConfig, WildberriesClient};
use crate::policy::Policy;
use crate::prompts::PromptSet;
use crate::reload::{Fingerprint, fingerprint, fingerprint_all};

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
        let policy = Policy::load(&policy_path)
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
                policy: ArcSwap::from_pointee(policy),
                prompts: ArcSwap::from_pointee(prompts),
                llm,
                connectors: BTreeMap::new(),
                loaded_fingerprints,
            }),
            _ => Err(out),
        }
    }

    pub fn connector(&self, marketplace: Marketplace) -> Option<&DynConnector> {
        self.connectors.get(&marketplace)
    }

    pub fn local_now(&self) -> jiff::Zoned {
        jiff::Timestamp::now().to_zoned(self.timezone.clone())
    }
}

fn build_connectors(
    id: &str,
    settings: &Settings,
    shop: &ShopSettings,
) -> Result<BTreeMap<Marketplace, DynConnector>, Diagnostics> {
    let mut out = Diagnostics::default();
    let mut connectors: BTreeMap<Marketplace, DynConnector> = BTreeMap::new();
    if let Some(wb) = &shop.wildberries {
        let what = format!("shops.{id}.wildberries");
        match resolve_secret(
            &what,
            &wb.token,
            &wb.token_env,
            &wb.token_file,
            &settings.base_dir,
        ) {
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
            Err(e) => out.push(Diagnostic::new(&settings.origin, e).field(what)),
        }
    }
    out.into_result(connectors)
}
