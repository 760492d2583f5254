//! Hot reload of each shop's policy file and prompt set. A changed file is
//! loaded in full and swapped in only if it loads (and every template renders);
//! a broken edit keeps the last good version running and is reported, with
//! file and line, in the log and in `agentiq status`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::app::Runtime;
use crate::diag::Diagnostics;
use crate::domain::now_ms;
use crate::policy::Policy;
use crate::prompts::PromptSet;
use crate::shop::Shop;

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

pub const POLICY: &str = "policy";
pub const PROMPTS: &str = "prompts";

/// Try to load a changed policy; swap it in if it is good.
pub fn reload_policy(shop: &Shop) -> Result<(), Diagnostics> {
    let policy = Policy::load(&shop.policy_path)?;
    shop.policy.store(Arc::new(policy));
    Ok(())
}

/// Try to load a changed prompt set; swap it in if it loads and renders.
pub fn reload_prompts(shop: &Shop) -> Result<(), Diagnostics> {
    let prompts = PromptSet::load_layered(&shop.prompt_dirs)?;
    let problems = prompts.check();
    if !problems.is_empty() {
        return Err(problems);
    }
    shop.prompts.store(Arc::new(prompts));
    Ok(())
}

async fn record(rt: &Runtime, shop: &str, kind: &'static str, result: &Result<(), Diagnostics>) {
    let detail = result.as_ref().err().map(|d| d.to_string());
    match &detail {
        None => tracing::info!(shop, kind, "reloaded"),
        Some(d) => tracing::error!(
            shop,
            kind,
            "edit rejected; the previous version keeps running: {d}"
        ),
    }
    let (s, ok, now) = (shop.to_string(), result.is_ok(), now_ms());
    let _ = rt
        .store
        .call(move |c| crate::store::set_reload_status(c, &s, kind, ok, detail.as_deref(), now))
        .await;
}

pub async fn run(rt: Arc<Runtime>, interval: Duration, shutdown: CancellationToken) {
    let mut seen: Vec<(Arc<Shop>, Fingerprint, Fingerprint)> = Vec::new();
    for shop in rt.shops.values() {
        // As the files were when the shop loaded them: an edit made since is a change.
        let (policy_fp, prompts_fp) = shop.loaded_fingerprints.clone();
        seen.push((shop.clone(), policy_fp, prompts_fp));
        record(&rt, &shop.id, POLICY, &Ok(())).await;
        record(&rt, &shop.id, PROMPTS, &Ok(())).await;
    }
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        for (shop, policy_fp, prompts_fp) in &mut seen {
            let now_policy = fingerprint(&shop.policy_path);
            if now_policy != *policy_fp {
                *policy_fp = now_policy;
                record(&rt, &shop.id, POLICY, &reload_policy(shop)).await;
            }
            let now_prompts = fingerprint_all(&shop.prompt_dirs);
            if now_prompts != *prompts_fp {
                *prompts_fp = now_prompts;
                record(&rt, &shop.id, PROMPTS, &reload_prompts(shop)).await;
            }
        }
    }
}
