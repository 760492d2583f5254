//! Hot reload of each shop's policy file and prompt set. A changed file is
//! loaded in full and swapped in only if it loads (and every template renders);
//! a broken edit keeps the last good version running and is reported, with
//! file and line, in the log and in `agentiq status`.
//!
//! The files are watched through the operating system (inotify on Linux): an
//! idle daemon with a thousand shops does not look at their files at all. A
//! change is acted on at the next `reload.interval` tick, after the editor's
//! burst of events; SIGHUP, a full look every [`FULL_LOOK`], and a watcher
//! that cannot be set up fall back to comparing every shop's files.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::analysis::classify::Labelled;
use crate::diag::Diagnostics;
use crate::domain::now_ms;
use crate::policy::Policy;
use crate::prompts::PromptSet;
use crate::runtime::Runtime;
use crate::shop::{Fingerprint, Shop, fingerprint, fingerprint_all};

/// The fingerprints of the files of the shops `wanted` names (index, its
/// policy?, its prompts?), with `paths` their policy file and prompt
/// directories in the same order. Each distinct path set is read once.
fn look(
    wanted: &[(usize, bool, bool)],
    paths: &[(PathBuf, Vec<PathBuf>)],
) -> Vec<(usize, Option<Fingerprint>, Option<Fingerprint>)> {
    let mut policies: HashMap<&Path, Fingerprint> = HashMap::new();
    let mut prompts: HashMap<&[PathBuf], Fingerprint> = HashMap::new();
    wanted
        .iter()
        .zip(paths)
        .map(|(&(i, policy, prompt), (policy_path, prompt_dirs))| {
            let p = policy.then(|| {
                policies
                    .entry(policy_path.as_path())
                    .or_insert_with(|| fingerprint(policy_path))
                    .clone()
            });
            let d = prompt.then(|| {
                prompts
                    .entry(prompt_dirs.as_slice())
                    .or_insert_with(|| fingerprint_all(prompt_dirs))
                    .clone()
            });
            (i, p, d)
        })
        .collect()
}

pub const POLICY: &str = "policy";
pub const PROMPTS: &str = "prompts";

/// Try to load a changed policy; swap it in if it is good.
pub fn reload_policy(shop: &Shop) -> Result<(), Diagnostics> {
    shop.policy.store(Policy::load_shared(&shop.policy_path)?);
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
        Some(d) => {
            rt.metrics.reload_error();
            tracing::error!(
                shop,
                kind,
                "edit rejected; the previous version keeps running: {d}"
            )
        }
    }
    let (s, ok, now) = (shop.to_string(), result.is_ok(), now_ms());
    let recorded = rt
        .store
        .call(move |c| crate::store::set_reload_status(c, &s, kind, ok, detail.as_deref(), now))
        .await;
    if let Err(e) = recorded {
        tracing::error!(shop, kind, error = %e, "cannot record the reload outcome");
    }
}

/// Retrain the intent model of every shop with new corrections.
async fn learn_corrections(
    rt: &Runtime,
    marks: &mut HashMap<String, i64>,
    learned: &mut HashMap<String, Arc<Vec<Labelled>>>,
) {
    let Ok(now) = rt.store.read(crate::store::correction_marks).await else {
        return;
    };
    for (shop_id, mark) in now {
        if marks.get(&shop_id) == Some(&mark) {
            continue;
        }
        let Some(shop) = rt.shops.get(&shop_id).cloned() else {
            marks.insert(shop_id, mark);
            continue;
        };
        let Ok(corrections) = rt.store.intent_corrections(&shop_id).await else {
            continue;
        };
        let corrections = Arc::new(corrections);
        let (c, started) = (corrections.clone(), std::time::Instant::now());
        let done = tokio::task::spawn_blocking(move || shop.prompts.load().learn(&c)).await;
        if done.is_ok() {
            tracing::info!(
                shop = %shop_id,
                corrections = corrections.len(),
                ms = started.elapsed().as_millis() as u64,
                "intent model retrained with people's corrections"
            );
            marks.insert(shop_id.clone(), mark);
            learned.insert(shop_id, corrections);
        }
    }
}

/// Even with a working watcher, every file is compared this often (a watch
/// can miss a change, e.g. on a network filesystem).
const FULL_LOOK: Duration = Duration::from_secs(60);

type Watch = (
    notify::RecommendedWatcher,
    tokio::sync::mpsc::UnboundedReceiver<PathBuf>,
);

/// Watch each path (recursively when asked); `None` if any cannot be watched.
/// Changed paths arrive on the returned channel.
fn watch_paths(targets: impl IntoIterator<Item = (PathBuf, bool)>) -> Option<Watch> {
    use notify::event::{AccessKind, AccessMode};
    use notify::{EventKind, RecursiveMode, Watcher};
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        // Reading a file is no change (reloading reads them all).
        if matches!(event.kind, EventKind::Access(a) if a != AccessKind::Close(AccessMode::Write)) {
            return;
        }
        for p in event.paths {
            let _ = tx.send(p);
        }
    })
    .map_err(
        |e| tracing::warn!(error = %e, "cannot watch files; looking at them every tick instead"),
    )
    .ok()?;
    for (path, recursive) in targets {
        let mode = if recursive {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        };
        if let Err(e) = watcher.watch(&path, mode) {
            tracing::warn!(path = %path.display(), error = %e, "cannot watch; looking at every file every tick instead");
            return None;
        }
    }
    Some((watcher, rx))
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Which shops read which files, by absolute path.
#[derive(Default)]
struct Index {
    /// Policy file → shops.
    policies: HashMap<PathBuf, Vec<usize>>,
    /// Prompt directory → shops.
    prompt_dirs: HashMap<PathBuf, Vec<usize>>,
}

impl Index {
    fn new<'a>(shops: impl IntoIterator<Item = (&'a Path, &'a [PathBuf])>) -> Index {
        let mut index = Index::default();
        for (i, (policy, prompt_dirs)) in shops.into_iter().enumerate() {
            index.policies.entry(absolute(policy)).or_default().push(i);
            for d in prompt_dirs {
                index.prompt_dirs.entry(absolute(d)).or_default().push(i);
            }
        }
        index
    }

    /// What to watch: the directory of every policy file (editors replace a
    /// file by renaming another over it, which a watch on the file itself
    /// would lose), and every prompt directory with its subdirectories.
    fn targets(&self) -> BTreeMap<PathBuf, bool> {
        let mut targets = BTreeMap::new();
        for p in self.policies.keys() {
            if let Some(dir) = p.parent() {
                targets.entry(dir.to_path_buf()).or_insert(false);
            }
        }
        for d in self.prompt_dirs.keys() {
            targets.insert(d.clone(), true);
        }
        targets
    }

    /// The shops whose policy, and whose prompts, the changed paths concern.
    fn affected(&self, changed: &HashSet<PathBuf>) -> (BTreeSet<usize>, BTreeSet<usize>) {
        let (mut policy, mut prompts) = (BTreeSet::new(), BTreeSet::new());
        for p in changed {
            if let Some(shops) = self.policies.get(p) {
                policy.extend(shops);
            }
            for dir in p.ancestors() {
                if let Some(shops) = self.prompt_dirs.get(dir) {
                    prompts.extend(shops);
                }
            }
        }
        (policy, prompts)
    }
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
    let index = Index::new(
        seen.iter()
            .map(|(s, _, _)| (s.policy_path.as_path(), s.prompt_dirs.as_slice())),
    );
    let mut watcher = watch_paths(index.targets());
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    // The first look is a full one: it catches edits made while starting.
    let mut last_full: Option<tokio::time::Instant> = None;
    // People's intent corrections the shops' models have learned: the newest
    // correction id per shop, and the corrections themselves.
    let mut marks: HashMap<String, i64> = HashMap::new();
    let mut learned: HashMap<String, Arc<Vec<Labelled>>> = HashMap::new();
    loop {
        // Corrections are looked at first, so a daemon that just started
        // learns them before its first turn of the interval.
        learn_corrections(&rt, &mut marks, &mut learned).await;
        let mut asked = false;
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
            Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => {
                tracing::info!("SIGHUP: looking at every policy and prompt file");
                asked = true;
            }
        }
        let mut changed = HashSet::new();
        if let Some((_, rx)) = watcher.as_mut() {
            while let Ok(p) = rx.try_recv() {
                changed.insert(p);
            }
        }
        let full = asked || watcher.is_none() || last_full.is_none_or(|t| t.elapsed() >= FULL_LOOK);
        let (policy_shops, prompt_shops) = if full {
            last_full = Some(tokio::time::Instant::now());
            let all: BTreeSet<usize> = (0..seen.len()).collect();
            (all.clone(), all)
        } else {
            index.affected(&changed)
        };
        // Look at the files in one blocking task, each distinct policy file
        // and prompt directory list once: ten thousand shops on one shared
        // prompt set cost one directory walk, not ten thousand.
        let wanted: Vec<(usize, bool, bool)> = (0..seen.len())
            .map(|i| (i, policy_shops.contains(&i), prompt_shops.contains(&i)))
            .filter(|(_, policy, prompts)| *policy || *prompts)
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let paths: Vec<(PathBuf, Vec<PathBuf>)> = wanted
            .iter()
            .map(|(i, _, _)| {
                (
                    seen[*i].0.policy_path.clone(),
                    seen[*i].0.prompt_dirs.clone(),
                )
            })
            .collect();
        let Ok(looked) = tokio::task::spawn_blocking(move || look(&wanted, &paths)).await else {
            continue;
        };
        for (i, now_policy, now_prompts) in looked {
            let (shop, policy_fp, prompts_fp) = &mut seen[i];
            if let Some(now_policy) = now_policy.filter(|fp| fp != policy_fp) {
                *policy_fp = now_policy;
                record(&rt, &shop.id, POLICY, &reload_policy(shop)).await;
            }
            if let Some(now_prompts) = now_prompts.filter(|fp| fp != prompts_fp) {
                *prompts_fp = now_prompts;
                let result = reload_prompts(shop);
                if result.is_ok()
                    && let Some(corrections) = learned.get(&shop.id).cloned()
                {
                    let shop = shop.clone();
                    let _ = tokio::task::spawn_blocking(move || {
                        shop.prompts.load().learn(&corrections)
                    })
                    .await;
                }
                record(&rt, &shop.id, PROMPTS, &result).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_look_reads_each_shop_s_own_files_and_shared_ones_alike() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        let own = dir.path().join("own");
        std::fs::create_dir_all(&shared).unwrap();
        std::fs::create_dir_all(&own).unwrap();
        std::fs::write(shared.join("draft.txt"), "a").unwrap();
        std::fs::write(own.join("knowledge.md"), "bb").unwrap();
        let (p1, p2) = (dir.path().join("p1.toml"), dir.path().join("p2.toml"));
        std::fs::write(&p1, "x").unwrap();
        std::fs::write(&p2, "yy").unwrap();
        let paths = vec![
            (p1.clone(), vec![shared.clone()]),
            (p2.clone(), vec![shared.clone(), own.clone()]),
            (p1.clone(), vec![shared.clone()]),
        ];
        let wanted = [(0, true, true), (1, true, true), (2, false, true)];
        let looked = look(&wanted, &paths);
        assert_eq!(looked.len(), 3);
        assert_eq!(looked[0].1.as_ref(), Some(&fingerprint(&p1)));
        assert_eq!(looked[1].1.as_ref(), Some(&fingerprint(&p2)));
        assert_eq!(looked[2].1, None, "shop 2's policy was not asked for");
        assert_eq!(
            looked[0].2.as_ref(),
            Some(&fingerprint_all(std::slice::from_ref(&shared)))
        );
        assert_eq!(
            looked[1].2.as_ref(),
            Some(&fingerprint_all(&[shared.clone(), own.clone()]))
        );
        assert_eq!(looked[2].2, looked[0].2);
        assert_ne!(
            looked[1].2, looked[0].2,
            "the shop with its own layer differs"
        );
    }

    #[test]
    fn a_changed_path_concerns_the_shops_whose_files_it_touches() {
        let shared = vec![PathBuf::from("/srv/prompts/default")];
        let own = vec![
            PathBuf::from("/srv/prompts/default"),
            PathBuf::from("/srv/shops/a/prompts"),
        ];
        let index = Index::new([
            (Path::new("/srv/shops/a/policy.toml"), own.as_slice()),
            (Path::new("/srv/shops/b/policy.toml"), shared.as_slice()),
        ]);
        let check = |p: &str| {
            let (policy, prompts) = index.affected(&HashSet::from([PathBuf::from(p)]));
            (
                policy.into_iter().collect::<Vec<_>>(),
                prompts.into_iter().collect::<Vec<_>>(),
            )
        };
        assert_eq!(check("/srv/shops/a/policy.toml"), (vec![0], vec![]));
        assert_eq!(check("/srv/shops/b/policy.toml"), (vec![1], vec![]));
        // The database or an editor's swap file beside a policy is no change to it.
        assert_eq!(check("/srv/shops/a/agentiq.db-wal"), (vec![], vec![]));
        assert_eq!(
            check("/srv/prompts/default/intents/thanks.tera"),
            (vec![], vec![0, 1])
        );
        assert_eq!(
            check("/srv/shops/a/prompts/knowledge.md"),
            (vec![], vec![0])
        );
        assert_eq!(check("/srv/prompts/default-old/x.tera"), (vec![], vec![]));
        assert_eq!(
            index.targets().into_iter().collect::<Vec<_>>(),
            vec![
                (PathBuf::from("/srv/prompts/default"), true),
                (PathBuf::from("/srv/shops/a"), false),
                (PathBuf::from("/srv/shops/a/prompts"), true),
                (PathBuf::from("/srv/shops/b"), false),
            ]
        );
    }

    #[tokio::test]
    async fn the_watcher_reports_a_file_replaced_by_rename() {
        let dir = tempfile::tempdir().unwrap();
        let policy = absolute(&dir.path().join("policy.toml"));
        std::fs::write(&policy, "a = 1").unwrap();
        let index = Index::new([(policy.as_path(), &[][..])]);
        let (_watcher, mut rx) = watch_paths(index.targets()).unwrap();
        let tmp = dir.path().join("policy.toml.new");
        std::fs::write(&tmp, "a = 2").unwrap();
        std::fs::rename(&tmp, &policy).unwrap();
        let found = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                let p = rx.recv().await.expect("the watcher runs");
                let (shops, _) = index.affected(&HashSet::from([p]));
                if !shops.is_empty() {
                    return shops;
                }
            }
        })
        .await
        .expect("the rename is reported");
        assert_eq!(found, BTreeSet::from([0]));
    }
}
