//! `agentiq bench`: the real daemon under a measured load.
//!
//! Buyers write through the simulator (a backlog before the daemon starts, a
//! steady rate while it runs, or nothing: an idle fleet). The bench watches
//! the daemon's database through its own connection, optionally approves
//! queued drafts like a person would (`actions::approve`), and reports from
//! the store's timestamps, the simulator's counters and `/proc`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::{
    BUYER_TEXTS, Connection, Daemon, DaemonConfig, Percentiles, database_bytes, default_prompts,
    fake_llm::FakeLlm, scratch_dir, shop_ids, simulator, unserved,
};
use crate::actions::{self, Actor};
use crate::config::Dur;
use crate::domain::{Marketplace, Millis};
use crate::sim::{BuyerMessage, MarketStats, Sim, SimConfig};
use crate::store::Store;

const APPROVER: &str = "bench:approver";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Drafter {
    Template,
    Llm,
}

/// `agentiq bench`: run the daemon against the local simulator and measure it.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Measure only the safety layer, in process: per-call latency of the
    /// classifier with its detectors and of the guards (p50, p99, max), over
    /// all texts and over those of typical length.
    #[arg(long)]
    pub safety: bool,
    /// With --safety: the prompt set whose intent model to train and use.
    #[arg(long, default_value = "prompts/default")]
    pub prompts: PathBuf,
    /// With --safety: how many times to run over the texts.
    #[arg(long, default_value_t = 5)]
    pub passes: usize,
    /// Shops; each has its own marketplace accounts and so its own rate limits.
    #[arg(long, default_value_t = 100)]
    pub shops: usize,
    /// Chats per shop and marketplace. Default: with --backlog, one chat per
    /// turn spread evenly; with --rate, 100.
    #[arg(long)]
    pub chats_per_shop: Option<usize>,
    /// Buyer messages per second (all shops together) for --duration.
    #[arg(long, conflicts_with = "backlog")]
    pub rate: Option<f64>,
    /// Buyer turns (one message each, in its own chat) written before the daemon starts.
    #[arg(long)]
    pub backlog: Option<usize>,
    /// Marketplaces every shop sells on (those the simulator serves).
    #[arg(long, value_delimiter = ',', default_value = "wb")]
    pub marketplaces: Vec<Marketplace>,
    #[arg(long, value_enum, default_value_t = Drafter::Template)]
    pub drafter: Drafter,
    /// How long the fake LLM takes to answer (--drafter llm).
    #[arg(long, default_value = "1s")]
    pub llm_latency: Dur,
    /// Drafts in flight at once (`pipeline.concurrency`; also the fake LLM provider's limit).
    /// The default is the daemon's.
    #[arg(long, default_value_t = crate::config::PipelineSettings::default().concurrency)]
    pub concurrency: usize,
    /// With --rate: how long buyers write. With neither --rate nor --backlog:
    /// how long the idle daemon is watched.
    #[arg(long, default_value = "30s")]
    pub duration: Dur,
    /// Approve queued drafts (through `actions::approve` on the daemon's
    /// database, one per shop at a time) and measure approval to delivery.
    #[arg(long)]
    pub approve: bool,
    /// At most this many approvals.
    #[arg(long, default_value_t = 200)]
    pub approve_max: usize,
    /// A policy that auto-sends thank-you notes (default: every draft waits for a person).
    #[arg(long)]
    pub auto_thanks: bool,
    /// `pipeline.debounce`.
    #[arg(long, default_value = "1s")]
    pub debounce: Dur,
    /// Poll interval of every connector (default: the marketplace's own default, 10 s on Wildberries).
    #[arg(long)]
    pub poll_interval: Option<Dur>,
    /// `reload.interval` (default: the daemon's, 1 s): how often every shop's
    /// policy and prompt files are checked for edits.
    #[arg(long)]
    pub reload_interval: Option<Dur>,
    /// Steady-state CPU is measured from this long after the daemon starts.
    #[arg(long, default_value = "10s")]
    pub warmup: Dur,
    /// Give up waiting for the drafts after this long.
    #[arg(long, default_value = "10m")]
    pub timeout: Dur,
    /// The `agentiq` binary to run as the daemon (default: this one).
    #[arg(long)]
    pub daemon_bin: Option<PathBuf>,
    /// Keep the temporary directory (config, database, daemon log).
    #[arg(long)]
    pub keep: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub command: String,
    /// `backlog`, `rate` or `idle`.
    pub mode: &'static str,
    /// Every buyer message was drafted (or the idle run ran its course) before the timeout.
    pub complete: bool,
    pub shops: usize,
    pub marketplaces: Vec<Marketplace>,
    pub drafter: Drafter,
    pub concurrency: usize,
    pub debounce_ms: u64,
    pub poll_interval_ms: Option<u64>,
    pub llm_latency_ms: Option<u64>,
    pub buyer_messages: u64,
    /// Drafts stored (one per buyer turn).
    pub turns: u64,
    /// Daemon start to the last draft (backlog), or the whole run.
    pub wall_secs: f64,
    /// Buyer turns per second from ingestion to a queued or scheduled draft:
    /// backlog: turns / (last draft − daemon start); rate: turns / (last draft − first message).
    pub throughput_turns_per_sec: Option<f64>,
    /// Backlog: daemon start to the last message stored.
    pub ingest_secs: Option<f64>,
    /// Message visible in the simulator → draft stored.
    pub visible_to_draft_ms: Percentiles,
    /// Message visible → stored by the daemon (the poll interval's share).
    pub visible_to_stored_ms: Percentiles,
    /// Draft stored − max(message visible + debounce, message stored) − LLM latency:
    /// what the daemon adds on top of the poll interval, the debounce and the model.
    pub added_ms: Percentiles,
    /// Approval (`draft_events`) → the simulator accepting the reply.
    pub approval_to_delivery_ms: Percentiles,
    pub approvals: u64,
    pub api_calls: u64,
    pub api_calls_per_turn: Option<f64>,
    /// 429 and 420 answers the simulator gave.
    pub throttled: u64,
    pub per_marketplace: BTreeMap<Marketplace, MarketStats>,
    pub peak_rss_mib: f64,
    pub cpu_secs: f64,
    /// CPU over the daemon's whole life, in % of one core.
    pub cpu_percent: f64,
    /// CPU from --warmup to the end, in % of one core.
    pub steady_cpu_percent: Option<f64>,
    pub db_bytes: u64,
    pub db_bytes_per_1000_turns: Option<f64>,
    pub drafts_by_state: BTreeMap<String, u64>,
    pub llm_requests: Option<u64>,
    pub llm_peak_in_flight: Option<u64>,
}

/// `agentiq bench`.
pub async fn main(args: BenchArgs) -> ExitCode {
    let json = args.json;
    if args.safety {
        let (dir, passes) = (args.prompts.clone(), args.passes.max(1));
        return match tokio::task::spawn_blocking(move || super::safety::run(&dir, passes)).await {
            Ok(Ok(r)) => {
                if json {
                    println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
                } else {
                    super::safety::print(&r);
                }
                ExitCode::SUCCESS
            }
            Ok(Err(e)) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    match run(args).await {
        Ok(report) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                );
            } else {
                print_table(&report);
            }
            if report.complete {
                ExitCode::SUCCESS
            } else {
                eprintln!("error: the run did not finish before --timeout");
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn policy(auto_thanks: bool) -> String {
    let mut p = String::from("[settings]\nconfidence_floor = 0.8\n");
    if auto_thanks {
        p.push_str(
            "\n[[rule]]\nname = \"thanks-auto\"\nwhen.intent = \"thanks\"\nwhen.min_confidence = 0.85\neffect = \"auto\"\n",
        );
    }
    p.push_str(
        "\n[[rule]]\nname = \"complaints\"\nwhen.intent = [\"defect_not_working\", \"wrong_item\", \"quality_complaint\"]\neffect = \"queue\"\npriority = \"high\"\n",
    );
    p
}

fn buyer(marketplace: Marketplace, shop: &str, chat: Option<String>, i: usize) -> BuyerMessage {
    BuyerMessage {
        marketplace,
        text: BUYER_TEXTS[i % BUYER_TEXTS.len()].to_string(),
        chat_id: chat,
        seller: Some(shop.to_string()),
        client_name: Some("Анна".into()),
        order: None,
        at: None,
    }
}

/// Where message `i` goes: marketplace, shop and chat slot, round robin.
fn slot(i: usize, marketplaces: usize, shops: usize, chats: usize) -> (usize, usize, usize) {
    let m = i % marketplaces;
    let s = (i / marketplaces) % shops;
    let c = (i / (marketplaces * shops)) % chats.max(1);
    (m, s, c)
}

pub async fn run(args: BenchArgs) -> anyhow::Result<BenchReport> {
    anyhow::ensure!(args.shops > 0, "--shops must be at least 1");
    anyhow::ensure!(
        !args.marketplaces.is_empty(),
        "--marketplaces needs at least one"
    );
    let refused = unserved(&args.marketplaces);
    if !refused.is_empty() {
        let list: Vec<String> = refused.iter().map(|(m, e)| format!("{m} ({e})")).collect();
        anyhow::bail!(
            "the simulator in this build does not serve {}; use the marketplaces it serves",
            list.join(", ")
        );
    }
    let mode = match (args.backlog, args.rate) {
        (Some(_), _) => "backlog",
        (None, Some(r)) if r > 0.0 => "rate",
        _ => "idle",
    };
    let shops = shop_ids(args.shops);
    let mkts = args.marketplaces.clone();
    let chats = match (args.chats_per_shop, args.backlog) {
        (Some(c), _) => c.max(1),
        (None, Some(n)) => n.div_ceil(args.shops * mkts.len()).max(1),
        (None, None) => 100,
    };
    if let Some(n) = args.backlog {
        anyhow::ensure!(
            chats * args.shops * mkts.len() >= n,
            "a backlog of {n} turns needs {n} chats, but --shops × --chats-per-shop × marketplaces is {}",
            chats * args.shops * mkts.len()
        );
    }
    let binary = match &args.daemon_bin {
        Some(b) => b.clone(),
        None => std::env::current_exe().context("cannot find this binary")?,
    };
    let dir = scratch_dir("agentiq-bench")?;
    let sim = simulator(&shops, SimConfig::documented());
    let handle = sim
        .clone()
        .spawn("127.0.0.1:0".parse().expect("an address"))
        .await
        .context("cannot start the simulator")?;
    let llm = match args.drafter {
        Drafter::Llm => Some(FakeLlm::spawn(args.llm_latency.0).await?),
        Drafter::Template => None,
    };
    let mut cfg = DaemonConfig {
        shops: shops.clone(),
        marketplaces: mkts.clone(),
        sim_url: handle.url(),
        policy: policy(args.auto_thanks),
        prompts: default_prompts(),
        pipeline: vec![
            format!("debounce = \"{}ms\"", args.debounce.0.as_millis()),
            format!("concurrency = {}", args.concurrency),
        ],
        sender: Vec::new(),
        top: String::new(),
        shop_extra: String::new(),
        connection: Connection {
            poll_interval: args.poll_interval.map(|d| d.0),
            ..Default::default()
        },
    };
    if let Some(r) = args.reload_interval {
        cfg.top = format!("[reload]\ninterval = \"{}ms\"\n", r.0.as_millis());
    }
    if let Some(llm) = &llm {
        cfg.top += &format!(
            "[llm.providers.fake]\nbase_url = \"{}\"\nmodel = \"bench\"\ntimeout = \"60s\"\nmax_concurrency = {}\n",
            llm.base_url(),
            args.concurrency
        );
        cfg.shop_extra = "drafter = \"llm\"\nllm_provider = \"fake\"".into();
    }
    let config_path = cfg.write(&dir)?;
    let db_path = dir.join("agentiq.db");
    let store = Store::open(&db_path).context("cannot open the bench database")?;

    // A backlog is written, and its debounce has passed, before the daemon starts.
    let mut written = 0u64;
    if let Some(n) = args.backlog {
        for i in 0..n {
            let (m, s, _) = slot(i, mkts.len(), shops.len(), chats);
            sim.buyer_writes(buyer(mkts[m], &shops[s], None, i))
                .map_err(anyhow::Error::msg)?;
        }
        written = n as u64;
        tokio::time::sleep(args.debounce.0).await;
    }

    let log = dir.join("daemon.log");
    let mut daemon = Daemon::start(&binary, &config_path, &log)
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let started = Instant::now();
    let spawned_at = daemon.started_at;

    let generated = Arc::new(AtomicU64::new(0));
    let generation = match args.rate.filter(|r| *r > 0.0 && args.backlog.is_none()) {
        Some(rate) => Some(tokio::spawn(generate(
            sim.clone(),
            shops.clone(),
            mkts.clone(),
            chats,
            rate,
            args.duration.0,
            generated.clone(),
        ))),
        None => None,
    };
    let drafting_done = CancellationToken::new();
    let approver_shops = if args.approve {
        let settings = crate::config::load(Some(&config_path))
            .map_err(|d| anyhow::anyhow!("{d}"))
            .context("the bench configuration")?;
        actions::offline_shops(&settings)?
    } else {
        actions::Shops::new()
    };
    let approver = args.approve.then(|| {
        tokio::spawn(approve_loop(
            store.clone(),
            approver_shops,
            args.approve_max,
            drafting_done.clone(),
        ))
    });

    let deadline = started
        + args.timeout.0
        + if mode == "rate" {
            args.duration.0
        } else {
            Duration::ZERO
        };
    let mut warm_cpu: Option<(Instant, Duration)> = None;
    let mut complete = false;
    let mut generation = generation;
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let sample = daemon.sample();
        if warm_cpu.is_none()
            && started.elapsed() >= args.warmup.0
            && let Some(s) = sample
        {
            warm_cpu = Some((Instant::now(), s.cpu));
        }
        anyhow::ensure!(daemon.running(), "the daemon exited; see {}", log.display());
        if let Some(g) = &generation
            && g.is_finished()
        {
            written = generation.take().expect("checked").await.unwrap_or(0);
        }
        let drafted = match mode {
            "idle" => started.elapsed() >= args.duration.0,
            _ if generation.is_some() => false,
            _ => {
                let p = progress(&store).await?;
                p.buyer_messages >= written && p.due_chats == 0
            }
        };
        if drafted {
            drafting_done.cancel();
        }
        let approvals_done = approver.as_ref().is_none_or(|a| a.is_finished());
        if drafted && approvals_done {
            complete = true;
            break;
        }
        if Instant::now() > deadline {
            break;
        }
    }
    drafting_done.cancel();
    let approvals = match approver {
        Some(a) if a.is_finished() => a.await.unwrap_or(0),
        Some(a) => {
            a.abort();
            0
        }
        None => 0,
    };
    if let Some(g) = generation {
        g.abort();
        written = generated.load(Ordering::Relaxed);
    }

    // Measurements, taken while the daemon still runs.
    let end = Instant::now();
    let last = daemon.sample().unwrap_or_default();
    let db_bytes = database_bytes(&db_path);
    let stats = sim.stats();
    let facts = collect(
        &store,
        args.debounce.0,
        llm.as_ref().map(|_| args.llm_latency.0),
    )
    .await?;
    daemon.stop(Duration::from_secs(15)).await;
    handle.shutdown.cancel();

    let turns = facts.drafts;
    let wall = end.duration_since(started).as_secs_f64();
    let (throughput, wall_secs, ingest_secs) = match mode {
        "backlog" => {
            let secs = (facts.last_draft_at - spawned_at).max(1) as f64 / 1000.0;
            let ingest = (facts.last_stored_at - spawned_at).max(0) as f64 / 1000.0;
            (Some(turns as f64 / secs), secs, Some(ingest))
        }
        "rate" => {
            let secs = (facts.last_draft_at - facts.first_message_at).max(1) as f64 / 1000.0;
            (Some(turns as f64 / secs), wall, None)
        }
        _ => (None, wall, None),
    };
    let api_calls: u64 = stats.values().map(|s| s.requests).sum();
    let throttled: u64 = stats.values().map(|s| s.throttled).sum();
    let cpu = last.cpu.as_secs_f64();
    let steady = warm_cpu.map(|(at, c)| {
        let secs = end.duration_since(at).as_secs_f64().max(1e-3);
        (last.cpu.saturating_sub(c)).as_secs_f64() / secs * 100.0
    });
    let report = BenchReport {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        mode,
        complete,
        shops: args.shops,
        marketplaces: mkts,
        drafter: args.drafter,
        concurrency: args.concurrency,
        debounce_ms: args.debounce.0.as_millis() as u64,
        poll_interval_ms: args.poll_interval.map(|d| d.0.as_millis() as u64),
        llm_latency_ms: llm.as_ref().map(|_| args.llm_latency.0.as_millis() as u64),
        buyer_messages: written,
        turns,
        wall_secs,
        throughput_turns_per_sec: throughput,
        ingest_secs,
        visible_to_draft_ms: Percentiles::of(facts.visible_to_draft),
        visible_to_stored_ms: Percentiles::of(facts.visible_to_stored),
        added_ms: Percentiles::of(facts.added),
        approval_to_delivery_ms: Percentiles::of(facts.approval_to_delivery),
        approvals: approvals as u64,
        api_calls,
        api_calls_per_turn: (turns > 0).then(|| api_calls as f64 / turns as f64),
        throttled,
        per_marketplace: stats,
        peak_rss_mib: last.peak_rss_kib as f64 / 1024.0,
        cpu_secs: cpu,
        cpu_percent: cpu / wall.max(1e-3) * 100.0,
        steady_cpu_percent: steady,
        db_bytes,
        db_bytes_per_1000_turns: (turns > 0).then(|| db_bytes as f64 * 1000.0 / turns as f64),
        drafts_by_state: facts.by_state,
        llm_requests: llm
            .as_ref()
            .map(|l| l.stats.requests.load(Ordering::Relaxed)),
        llm_peak_in_flight: llm
            .as_ref()
            .map(|l| l.stats.peak_in_flight.load(Ordering::Relaxed)),
    };
    drop(store);
    if !args.keep {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        eprintln!("kept {}", dir.display());
    }
    Ok(report)
}

/// Buyers writing at `rate` messages per second for `duration`.
async fn generate(
    sim: Sim,
    shops: Vec<String>,
    mkts: Vec<Marketplace>,
    chats: usize,
    rate: f64,
    duration: Duration,
    count: Arc<AtomicU64>,
) -> u64 {
    let start = Instant::now();
    let mut chat_ids: HashMap<(usize, usize, usize), String> = HashMap::new();
    let mut i = 0usize;
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while start.elapsed() < duration {
        tick.tick().await;
        let due = (start.elapsed().as_secs_f64() * rate) as usize;
        while i < due {
            let key = slot(i, mkts.len(), shops.len(), chats);
            let (m, s, _) = key;
            let msg = buyer(mkts[m], &shops[s], chat_ids.get(&key).cloned(), i);
            if let Ok(p) = sim.buyer_writes(msg) {
                chat_ids.entry(key).or_insert(p.chat_id);
                count.fetch_add(1, Ordering::Relaxed);
            }
            i += 1;
        }
    }
    count.load(Ordering::Relaxed)
}

/// Approve queued drafts like a person: one draft per shop at a time (the
/// next once the previous was delivered), until `max` or the queue is empty
/// after drafting finished.
async fn approve_loop(
    store: Store,
    shops: actions::Shops,
    max: usize,
    drafting_done: CancellationToken,
) -> usize {
    let actor = Actor(APPROVER.into());
    let mut approved = 0usize;
    let mut in_flight: HashMap<String, i64> = HashMap::new();
    loop {
        let still: HashSet<i64> = store
            .call(|c| {
                let mut st = c.prepare_cached(
                    "SELECT id FROM drafts WHERE approved_by = ?1 AND state IN ('scheduled', 'sending', 'unknown')",
                )?;
                let rows = st.query_map([APPROVER], |r| r.get(0))?;
                Ok(rows.collect::<rusqlite::Result<HashSet<i64>>>()?)
            })
            .await
            .unwrap_or_default();
        in_flight.retain(|_, id| still.contains(id));
        let pending: Vec<(i64, String)> = if approved < max {
            store
                .call(|c| {
                    let mut st = c.prepare_cached(
                        "SELECT d.id, c.shop FROM drafts d JOIN chats c ON c.id = d.chat_id
                         WHERE d.state = 'pending' AND d.text != '' ORDER BY d.id LIMIT 2000",
                    )?;
                    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
                })
                .await
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        for (id, shop) in &pending {
            if approved >= max {
                break;
            }
            if in_flight.contains_key(shop) {
                continue;
            }
            if actions::approve(&store, &shops, *id, actions::Approval::default(), &actor)
                .await
                .is_ok()
            {
                approved += 1;
                in_flight.insert(shop.clone(), *id);
            }
        }
        let nothing_left = approved >= max || pending.is_empty();
        if drafting_done.is_cancelled() && nothing_left && in_flight.is_empty() {
            return approved;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[derive(Debug, Default)]
struct Progress {
    buyer_messages: u64,
    due_chats: u64,
}

async fn progress(store: &Store) -> anyhow::Result<Progress> {
    Ok(store
        .call(|c| {
            Ok(c.query_row(
                "SELECT (SELECT COUNT(*) FROM messages WHERE author = 'buyer'),
                        (SELECT COUNT(*) FROM chats WHERE turn_due_at IS NOT NULL)",
                [],
                |r| {
                    Ok(Progress {
                        buyer_messages: r.get::<_, i64>(0)? as u64,
                        due_chats: r.get::<_, i64>(1)? as u64,
                    })
                },
            )?)
        })
        .await?)
}

#[derive(Debug, Default)]
struct Facts {
    drafts: u64,
    first_message_at: Millis,
    last_stored_at: Millis,
    last_draft_at: Millis,
    visible_to_draft: Vec<f64>,
    visible_to_stored: Vec<f64>,
    added: Vec<f64>,
    approval_to_delivery: Vec<f64>,
    by_state: BTreeMap<String, u64>,
}

async fn collect(
    store: &Store,
    debounce: Duration,
    llm_latency: Option<Duration>,
) -> anyhow::Result<Facts> {
    let debounce = debounce.as_millis() as i64;
    let llm = llm_latency.map(|d| d.as_millis() as i64).unwrap_or(0);
    Ok(store
        .call(move |c| {
            let mut f = Facts::default();
            let mut st = c.prepare(
                "SELECT d.created_at, m.created_at, m.stored_at FROM drafts d
                 JOIN messages m ON m.id = d.turn_message_id",
            )?;
            let rows = st.query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            for row in rows {
                let (drafted, visible, stored) = row?;
                f.drafts += 1;
                f.last_draft_at = f.last_draft_at.max(drafted);
                f.visible_to_draft.push((drafted - visible) as f64);
                f.visible_to_stored.push((stored - visible) as f64);
                let ready = (visible + debounce).max(stored);
                f.added.push((drafted - ready - llm) as f64);
            }
            (f.first_message_at, f.last_stored_at) = c.query_row(
                "SELECT COALESCE(MIN(created_at), 0), COALESCE(MAX(stored_at), 0) FROM messages WHERE author = 'buyer'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let mut st = c.prepare(
                "SELECT e.at, d.sent_at FROM draft_events e JOIN drafts d ON d.id = e.draft_id
                 WHERE e.actor = ?1 AND e.to_state = 'scheduled' AND d.state = 'sent' AND d.sent_at IS NOT NULL",
            )?;
            let rows = st.query_map([APPROVER], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (approved, sent) = row?;
                f.approval_to_delivery.push((sent - approved) as f64);
            }
            let mut st = c.prepare("SELECT state, COUNT(*) FROM drafts GROUP BY state")?;
            let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?;
            for row in rows {
                let (state, n) = row?;
                f.by_state.insert(state, n);
            }
            Ok(f)
        })
        .await?)
}

fn pcts(p: &Percentiles) -> String {
    if p.n == 0 {
        return "—".into();
    }
    format!(
        "p50 {:.0} · p95 {:.0} · p99 {:.0} · max {:.0} ms (n={})",
        p.p50, p.p95, p.p99, p.max, p.n
    )
}

fn print_table(r: &BenchReport) {
    let opt = |v: Option<f64>, unit: &str| v.map_or("—".to_string(), |v| format!("{v:.1}{unit}"));
    let mkts: Vec<&str> = r.marketplaces.iter().map(|m| m.code()).collect();
    let rows: Vec<(&str, String)> = vec![
        ("command", r.command.clone()),
        (
            "setup",
            format!(
                "{} mode, {} shops on {}, {} drafter, concurrency {}, debounce {} ms, poll interval {}",
                r.mode,
                r.shops,
                mkts.join(","),
                match r.drafter {
                    Drafter::Template => "template",
                    Drafter::Llm => "llm",
                },
                r.concurrency,
                r.debounce_ms,
                r.poll_interval_ms
                    .map_or("default".to_string(), |p| format!("{p} ms"))
            ),
        ),
        (
            "buyer messages / turns",
            format!("{} / {}", r.buyer_messages, r.turns),
        ),
        ("wall time", format!("{:.1} s", r.wall_secs)),
        ("throughput", opt(r.throughput_turns_per_sec, " turns/s")),
        ("ingest (backlog)", opt(r.ingest_secs, " s")),
        ("visible → draft", pcts(&r.visible_to_draft_ms)),
        ("visible → stored", pcts(&r.visible_to_stored_ms)),
        ("added by the daemon", pcts(&r.added_ms)),
        (
            "approval → delivery",
            format!(
                "{} ({} approvals)",
                pcts(&r.approval_to_delivery_ms),
                r.approvals
            ),
        ),
        (
            "API calls",
            format!(
                "{} ({} per turn)",
                r.api_calls,
                opt(r.api_calls_per_turn, "")
            ),
        ),
        ("429/420 received", r.throttled.to_string()),
        ("peak RSS (VmHWM)", format!("{:.1} MiB", r.peak_rss_mib)),
        (
            "CPU",
            format!(
                "{:.1} s ({:.1} % of a core; after warm-up {})",
                r.cpu_secs,
                r.cpu_percent,
                opt(r.steady_cpu_percent, " %")
            ),
        ),
        (
            "SQLite (db + wal)",
            format!(
                "{:.1} MiB ({} per 1000 turns)",
                r.db_bytes as f64 / 1048576.0,
                r.db_bytes_per_1000_turns
                    .map_or("—".to_string(), |b| format!("{:.0} KiB", b / 1024.0))
            ),
        ),
        (
            "drafts by state",
            r.drafts_by_state
                .iter()
                .map(|(s, n)| format!("{s} {n}"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ];
    let mut rows = rows;
    if let (Some(n), Some(p)) = (r.llm_requests, r.llm_peak_in_flight) {
        rows.push((
            "fake LLM",
            format!(
                "{n} requests, at most {p} in flight, {} ms each",
                r.llm_latency_ms.unwrap_or(0)
            ),
        ));
    }
    let width = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    for (k, v) in rows {
        println!("{k:<width$}  {v}");
    }
    if !r.complete {
        println!("INCOMPLETE: the run hit --timeout");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_spread_round_robin() {
        assert_eq!(slot(0, 2, 3, 4), (0, 0, 0));
        assert_eq!(slot(1, 2, 3, 4), (1, 0, 0));
        assert_eq!(slot(2, 2, 3, 4), (0, 1, 0));
        assert_eq!(slot(6, 2, 3, 4), (0, 0, 1));
        assert_eq!(slot(24, 2, 3, 4), (0, 0, 0));
    }
}
