//! A shop at run time: its policy, prompt set, model and one connector per
//! marketplace. Policy and prompts can be swapped while the daemon runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;

use crate::config::{Settings, ShopSettings};
use crate::diag::{Diagnostic, Diagnostics};
use crate::domain::Marketplace;
use crate::llm::{Chain, DynModel};
use crate::marketplace::{DynConnector, DynFeedbackConnector, sections};
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
    sections(shop)
        .filter_map(|section| {
            let what = format!("shops.{id}.{}", section.marketplace().config_key());
            let connector = section.feedback_connector(&what, &settings.base_dir)?;
            Some((section.marketplace(), connector))
        })
        .collect()
}

/// One connector per marketplace the shop sells on. Errors name the config key.
pub fn build_connectors(
    id: &str,
    settings: &Settings,
    shop: &ShopSettings,
) -> Result<BTreeMap<Marketplace, DynConnector>, Diagnostics> {
    let mut out = Diagnostics::default();
    let mut connectors: BTreeMap<Marketplace, DynConnector> = BTreeMap::new();
    for section in sections(shop) {
        let what = format!("shops.{id}.{}", section.marketplace().config_key());
        match section.connector(&what, &settings.base_dir) {
            Ok(connector) => {
                connectors.insert(section.marketplace(), connector);
            }
            Err(e) => {
                let message = e
                    .strip_prefix(&format!("{what}: "))
                    .map(str::to_string)
                    .unwrap_or(e);
                out.push(Diagnostic::new(&settings.origin, message).field(what));
            }
        }
    }
    out.into_result(connectors)
}

/// One file as it was: path, size, modification time.
pub type FileStamp = (PathBuf, u64, Option<SystemTime>);

/// What a set of files looked like. Equal fingerprints are one shared copy,
/// so ten thousand shops on one prompt directory hold it once, not once each.
pub type Fingerprint = Arc<[FileStamp]>;

pub fn fingerprint(path: &Path) -> Fingerprint {
    fingerprint_all(std::slice::from_ref(&path.to_path_buf()))
}

/// The fingerprint of several paths together.
pub fn fingerprint_all(paths: &[PathBuf]) -> Fingerprint {
    let mut out = Vec::new();
    for p in paths {
        collect(p, &mut out);
    }
    out.sort();
    interned(out)
}

/// The shared copy of `stamps`: one taken earlier while any holder keeps it
/// alive, else a new one.
fn interned(stamps: Vec<FileStamp>) -> Fingerprint {
    type Seen = std::collections::HashMap<Vec<FileStamp>, std::sync::Weak<[FileStamp]>>;
    static SEEN: std::sync::LazyLock<std::sync::Mutex<Seen>> =
        std::sync::LazyLock::new(Default::default);
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(shared) = seen.get(&stamps).and_then(std::sync::Weak::upgrade) {
        return shared;
    }
    seen.retain(|_, w| w.strong_count() > 0);
    let shared: Fingerprint = stamps.as_slice().into();
    seen.insert(stamps, Arc::downgrade(&shared));
    shared
}

fn collect(path: &Path, out: &mut Vec<FileStamp>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shops_on_unchanged_files_share_one_fingerprint_and_an_edit_makes_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("reply.tera"), "Здравствуйте!").unwrap();
        let dirs = [dir.path().to_path_buf()];
        let first = fingerprint_all(&dirs);
        let second = fingerprint_all(&dirs);
        assert!(Arc::ptr_eq(&first, &second), "one copy for both");
        assert_eq!(first.len(), 1);

        std::fs::write(dir.path().join("reply.tera"), "Здравствуйте! Уже смотрим.").unwrap();
        let edited = fingerprint_all(&dirs);
        assert_ne!(first, edited, "the size changed");
        drop((first, second));
        let again = fingerprint_all(&dirs);
        assert!(Arc::ptr_eq(&edited, &again));
    }
}
