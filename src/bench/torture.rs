//! `agentiq torture`: SIGKILL the real daemon at random moments while buyers
//! write, an operator approves and rejects drafts, the policy auto-sends
//! thank-you notes and the simulator cuts sends off; restart it every time,
//! let it settle, then check from the simulator's record and the store that
//! every message and reply was handled exactly once.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::{
    Connection, Daemon, DaemonConfig, default_prompts, scratch_dir, shop_ids, simulator, unserved,
};
use crate::actions::{self, Actor};
use crate::config::Dur;
use crate::domain::{Marketplace, Millis};
use crate::sim::{BuyerMessage, FaultKind, FaultSpec, RateConfig, Sim, SimConfig};
use crate::store::Store;

const OPERATOR: &str = "torture:operator";

/// Thanks are auto-sent at once; complaints queue first; the rest queue.
const POLICY: &str = r#"
[settings]
confidence_floor = 0.8
max_auto_per_chat = 100
max_auto_per_shop_per_hour = 100000

[[rule]]
name = "thanks-auto"
when.intent = "thanks"
when.min_confidence = 0.85
effect = "auto"

[[rule]]
name = "complaints"
when.intent = ["defect_not_working", "wrong_item", "quality_complaint"]
effect = "queue"
priority = "high"
"#;

const THANKS: &str = "Спасибо большое, всё отлично!";
const QUESTIONS: [&str; 6] = [
    "Здравствуйте! Когда придёт мой заказ?",
    "Подскажите, какой размер взять на рост 170 см?",
    "Есть ли этот товар в синем цвете?",
    "Пришёл не тот товар, что делать?",
    "Добрый день, из какого материала сделан плед?",
    "Подойдёт ли этот чехол к iPhone 15?",
];

/// `agentiq torture`: crash-and-restart the daemon and check exactly-once.
#[derive(Debug, Clone, Args)]
pub struct TortureArgs {
    /// SIGKILLs of the daemon, each followed by a restart.
    #[arg(long, default_value_t = 30)]
    pub kills: usize,
    #[arg(long, default_value_t = 4)]
    pub shops: usize,
    /// Marketplaces every shop sells on (those the simulator serves).
    #[arg(long, value_delimiter = ',', default_value = "wb")]
    pub marketplaces: Vec<Marketplace>,
    /// The longest a daemon lives before its kill (each lifetime is random, from a tenth of this up).
    #[arg(long, default_value = "3s")]
    pub max_uptime: Dur,
    /// Buyer messages per second.
    #[arg(long, default_value_t = 6.0)]
    pub rate: f64,
    /// Probability, every 300 ms, of arming a fault for the next send
    /// (accepted then cut off, cut off, slow past the timeout, or a 500).
    #[arg(long, default_value_t = 0.5)]
    pub faults: f64,
    /// Random seed (default: from the clock).
    #[arg(long)]
    pub seed: Option<u64>,
    /// How long the last daemon gets to finish everything.
    #[arg(long, default_value = "60s")]
    pub settle_timeout: Dur,
    /// The `agentiq` binary to run as the daemon (default: this one).
    #[arg(long)]
    pub daemon_bin: Option<PathBuf>,
    /// Keep the temporary directory (config, database, daemon log).
    #[arg(long)]
    pub keep: bool,
    #[arg(long)]
    pub json: bool,
}

impl TortureArgs {
    /// The short setting CI runs.
    pub fn ci(binary: PathBuf) -> TortureArgs {
        TortureArgs {
            kills: 8,
            shops: 3,
            marketplaces: vec![
                Marketplace::Wildberries,
                Marketplace::Ozon,
                Marketplace::YandexMarket,
                Marketplace::Avito,
            ],
            max_uptime: Dur::millis(2500),
            rate: 6.0,
            faults: 0.5,
            seed: None,
            settle_timeout: Dur::secs(30),
            daemon_bin: Some(binary),
            keep: false,
            json: false,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TortureReport {
    pub seed: u64,
    pub kills: usize,
    /// Kills that left a draft `sending` (found by the next start's recovery).
    pub kills_mid_send: u64,
    pub buyer_messages: u64,
    pub chats: u64,
    pub drafts: u64,
    pub drafts_by_state: BTreeMap<String, u64>,
    pub approved: u64,
    pub rejected: u64,
    pub auto_scheduled: u64,
    /// Approved or auto drafts withdrawn by the daemon because the buyer wrote again first.
    pub withdrawn_before_send: u64,
    /// Buyer turns answered by one of our replies that arrived after them.
    pub answered_by_later_reply: u64,
    pub delivered: u64,
    pub faults_applied: u64,
    /// Sends whose outcome was unknown at some point.
    pub unknown_sends: u64,
    /// Unknown sends proven absent and sent again.
    pub resent_after_reconcile: u64,
    pub settle_secs: f64,
    pub violations: Vec<String>,
}

impl TortureReport {
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }
}

/// `agentiq torture`.
pub async fn main(args: TortureArgs) -> ExitCode {
    let json = args.json;
    match run(args).await {
        Ok(report) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                );
            } else {
                print_report(&report);
            }
            if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// A buyer message the harness wrote, as the simulator returned it.
#[derive(Debug, Clone)]
struct Written {
    shop: String,
    marketplace: Marketplace,
    chat_id: String,
    message_id: String,
}

#[derive(Default)]
struct Ledger {
    written: Vec<Written>,
    /// Chats by shop and marketplace, with whether a thank-you was written there.
    chats: Vec<(String, Marketplace, String, bool)>,
}

pub async fn run(args: TortureArgs) -> anyhow::Result<TortureReport> {
    anyhow::ensure!(args.shops > 0, "--shops must be at least 1");
    anyhow::ensure!(
        !args.marketplaces.is_empty(),
        "--marketplaces must name at least one"
    );
    let refused = unserved(&args.marketplaces);
    if !refused.is_empty() {
        let list: Vec<String> = refused.iter().map(|(m, e)| format!("{m} ({e})")).collect();
        anyhow::bail!(
            "the simulator in this build does not serve {}",
            list.join(", ")
        );
    }
    let seed = args.seed.unwrap_or_else(|| rand::rng().random());
    let binary = match &args.daemon_bin {
        Some(b) => b.clone(),
        None => std::env::current_exe().context("cannot find this binary")?,
    };
    let shops = shop_ids(args.shops);
    let dir = scratch_dir("agentiq-torture")?;
    // Generous limits: this harness is about crashes, not pacing. The daemon
    // polls every 100 ms and may send 25 requests a second per marketplace
    // account, which the documented Avito bucket and Yandex Market's hourly
    // limits would (rightly) throttle.
    let generous = RateConfig {
        burst: 50,
        per_second: 50.0,
    };
    let sim = simulator(
        &shops,
        SimConfig {
            wb_rate: generous,
            ozon_rate: generous,
            avito_rate: generous,
            ym_hourly_limit: Some(1_000_000),
            ..SimConfig::documented()
        },
    );
    let handle = sim
        .clone()
        .spawn("127.0.0.1:0".parse().expect("an address"))
        .await
        .context("cannot start the simulator")?;
    let cfg = DaemonConfig {
        shops: shops.clone(),
        marketplaces: args.marketplaces.clone(),
        sim_url: handle.url(),
        policy: POLICY.into(),
        prompts: default_prompts(),
        pipeline: vec![
            "debounce = \"300ms\"".into(),
            "tick = \"50ms\"".into(),
            "claim_lease = \"2s\"".into(),
            "concurrency = 8".into(),
        ],
        sender: vec![
            "tick = \"50ms\"".into(),
            "reconcile_grace = \"1s\"".into(),
            "max_attempts = 1000".into(),
        ],
        top: String::new(),
        shop_extra: String::new(),
        connection: Connection {
            poll_interval: Some(Duration::from_millis(100)),
            timeout: Some(Duration::from_secs(2)),
            // On every marketplace: Yandex Market's own default (25 requests
            // per 18 s) left its polls too far behind to settle.
            rate: Some((25, Duration::from_secs(1))),
        },
    };
    let config_path = cfg.write(&dir)?;
    let db_path = dir.join("agentiq.db");
    let store = Store::open(&db_path).context("cannot open the torture database")?;
    let log = dir.join("daemon.log");
    let settings = crate::config::load(Some(&config_path))
        .map_err(|d| anyhow::anyhow!("{d}"))
        .context("the torture configuration")?;
    super::train_models(
        &binary,
        &config_path,
        &settings.model_cache_dir(),
        (&shops[0], args.marketplaces[0]),
        &log,
    )
    .await
    .context("training the daemon's models before the first start")?;

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let stop_load = CancellationToken::new();
    let buyers = tokio::spawn(buyers(
        sim.clone(),
        store.clone(),
        shops.clone(),
        args.marketplaces.clone(),
        args.rate,
        ledger.clone(),
        StdRng::seed_from_u64(seed),
        stop_load.clone(),
    ));
    // The operator's approvals run the guards: their models are the ones the
    // daemons read, kept above (unless this process keeps models elsewhere;
    // another build's copy beside them does not push theirs out).
    crate::store::ModelFiles::keep_for(&settings);
    let operator = tokio::spawn(operator(
        store.clone(),
        actions::offline_shops(&settings)?,
        StdRng::seed_from_u64(seed ^ 0x5eed_0001),
        stop_load.clone(),
    ));
    let faults = tokio::spawn(faults(
        sim.clone(),
        args.faults,
        StdRng::seed_from_u64(seed ^ 0x5eed_0002),
        stop_load.clone(),
    ));

    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed_0003);
    let max_up = args.max_uptime.0.max(Duration::from_millis(100));
    let connectors = (shops.len() * args.marketplaces.len()) as i64;
    for _ in 0..args.kills {
        let mut daemon = Daemon::start(&binary, &config_path, &log)
            .with_context(|| format!("cannot start {}", binary.display()))?;
        // Mostly after it is up and working (a debug build under load takes
        // seconds to start), sometimes while it is still starting.
        if rng.random_bool(0.85) {
            wait_until_up(&store, &mut daemon, connectors, Duration::from_secs(60)).await;
        }
        let up = rng.random_range(max_up / 10..=max_up);
        tokio::time::sleep(up).await;
        anyhow::ensure!(
            daemon.running(),
            "the daemon exited by itself; see {}",
            log.display()
        );
        daemon.kill_9().await;
        if rng.random_bool(0.3) {
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..300))).await;
        }
    }

    // The last start: no more load, no more faults; everything must settle.
    stop_load.cancel();
    let _ = tokio::join!(buyers, operator, faults);
    sim.clear_faults();
    let mut daemon = Daemon::start(&binary, &config_path, &log)?;
    let settle_start = Instant::now();
    let written = ledger
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .written
        .len() as i64;
    let mut settled = false;
    while settle_start.elapsed() < args.settle_timeout.0 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        anyhow::ensure!(
            daemon.running(),
            "the daemon exited by itself; see {}",
            log.display()
        );
        let (stored, due, open): (i64, i64, i64) = store
            .call(|c| {
                Ok(c.query_row(
                    "SELECT (SELECT COUNT(*) FROM messages WHERE author = 'buyer'),
                            (SELECT COUNT(*) FROM chats WHERE turn_due_at IS NOT NULL),
                            (SELECT COUNT(*) FROM drafts WHERE state IN ('scheduled', 'sending', 'unknown'))",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?)
            })
            .await?;
        if stored >= written && due == 0 && open == 0 {
            settled = true;
            break;
        }
    }
    let settle_secs = settle_start.elapsed().as_secs_f64();
    // A little longer, so a stray duplicate would have time to show up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    daemon.stop(Duration::from_secs(10)).await;

    let ledger = std::mem::take(&mut *ledger.lock().unwrap_or_else(|p| p.into_inner()));
    let mut report = check(&store, &sim, &ledger).await?;
    report.seed = seed;
    report.kills = args.kills;
    report.settle_secs = settle_secs;
    if !settled {
        report.violations.insert(
            0,
            format!(
                "did not settle within {} s (messages, turns or sends still open)",
                args.settle_timeout.0.as_secs()
            ),
        );
    }
    handle.shutdown.cancel();
    drop(store);
    if args.keep || !report.ok() {
        eprintln!("kept {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(report)
}

/// Wait until the daemon has polled every one of its `connectors` once since
/// it started (one that never wrote a status has not).
async fn wait_until_up(store: &Store, daemon: &mut Daemon, connectors: i64, limit: Duration) {
    let since = daemon.started_at;
    let start = Instant::now();
    while start.elapsed() < limit && daemon.running() {
        let polled: i64 = store
            .call(move |c| {
                Ok(c.query_row(
                    "SELECT COUNT(*) FROM connector_status WHERE last_ok_at >= ?1",
                    [since],
                    |r| r.get(0),
                )?)
            })
            .await
            .unwrap_or(0);
        if polled >= connectors {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Buyers: new chats and follow-ups in chats with no reply on its way, one
/// thank-you at most per chat (the auto-sent reply), at `rate` per second.
#[allow(clippy::too_many_arguments)]
async fn buyers(
    sim: Sim,
    store: Store,
    shops: Vec<String>,
    marketplaces: Vec<Marketplace>,
    rate: f64,
    ledger: Arc<Mutex<Ledger>>,
    mut rng: StdRng,
    stop: CancellationToken,
) {
    let pause = Duration::from_secs_f64(1.0 / rate.max(0.1));
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
        let shop = shops[rng.random_range(0..shops.len())].clone();
        let marketplace = marketplaces[rng.random_range(0..marketplaces.len())];
        let candidates: Vec<(usize, String, bool)> = {
            let l = ledger.lock().unwrap_or_else(|p| p.into_inner());
            l.chats
                .iter()
                .enumerate()
                .filter(|(_, (s, m, _, _))| *s == shop && *m == marketplace)
                .map(|(i, (_, _, c, thanked))| (i, c.clone(), *thanked))
                .collect()
        };
        // A follow-up only where no reply is on its way (else the daemon
        // rightly withdraws it, which is no test of delivery).
        let mut existing = None;
        if !candidates.is_empty() && rng.random_bool(0.5) {
            let (i, chat, thanked) = candidates[rng.random_range(0..candidates.len())].clone();
            let (s, m, c) = (shop.clone(), marketplace.code(), chat.clone());
            let quiet: bool = store
                .call(move |conn| {
                    Ok(conn.query_row(
                        "SELECT NOT EXISTS (SELECT 1 FROM chats ch JOIN drafts d ON d.chat_id = ch.id
                             WHERE ch.shop = ?1 AND ch.marketplace = ?2 AND ch.external_id = ?3
                               AND d.state IN ('scheduled', 'sending', 'unknown'))
                         AND NOT EXISTS (SELECT 1 FROM chats ch WHERE ch.shop = ?1 AND ch.marketplace = ?2
                               AND ch.external_id = ?3 AND ch.turn_due_at IS NOT NULL)
                         AND EXISTS (SELECT 1 FROM chats ch WHERE ch.shop = ?1 AND ch.marketplace = ?2
                               AND ch.external_id = ?3)",
                        rusqlite::params![s, m, c],
                        |r| r.get(0),
                    )?)
                })
                .await
                .unwrap_or(false);
            if quiet {
                existing = Some((i, chat, thanked));
            }
        }
        let thanks = existing.as_ref().is_none_or(|(_, _, t)| !*t) && rng.random_bool(0.3);
        let text = if thanks {
            THANKS.to_string()
        } else {
            QUESTIONS[rng.random_range(0..QUESTIONS.len())].to_string()
        };
        let posted = sim.buyer_writes(BuyerMessage {
            marketplace,
            text,
            chat_id: existing.as_ref().map(|(_, c, _)| c.clone()),
            seller: Some(shop.clone()),
            client_name: Some("Ольга".into()),
            order: None,
            at: None,
        });
        let Ok(posted) = posted else { continue };
        let mut l = ledger.lock().unwrap_or_else(|p| p.into_inner());
        match existing {
            Some((i, _, _)) => l.chats[i].3 |= thanks,
            None => l
                .chats
                .push((shop.clone(), marketplace, posted.chat_id.clone(), thanks)),
        }
        l.written.push(Written {
            shop,
            marketplace,
            chat_id: posted.chat_id,
            message_id: posted.message_id,
        });
    }
}

/// A person working the queue: approves (with their own words, so every
/// approved reply is unique), rejects with a reason, or leaves drafts be.
async fn operator(store: Store, shops: actions::Shops, mut rng: StdRng, stop: CancellationToken) {
    let me = Actor(OPERATOR.into());
    // An approval runs the guards, whose learned model trains on first use:
    // train it off the async threads first, or the harness's own runtime
    // (which also serves the simulator) stalls while it does.
    tokio::select! {
        _ = stop.cancelled() => return,
        _ = crate::pipeline::worker::models_ready() => {}
    }
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(150)) => {}
        }
        let pending: Vec<i64> = store
            .call(|c| {
                let mut st =
                    c.prepare_cached("SELECT id FROM drafts WHERE state = 'pending' ORDER BY id")?;
                let rows = st.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<rusqlite::Result<Vec<i64>>>()?)
            })
            .await
            .unwrap_or_default();
        for id in pending {
            if rng.random_bool(0.5) {
                continue; // not looked at yet
            }
            if rng.random_bool(0.7) {
                let text = format!("Здравствуйте! Спасибо за обращение, ответ оператора №{id}.");
                let approval = actions::Approval {
                    text: Some(text.clone()),
                    override_reason: None,
                };
                // A guard may object to the operator's words (the learned
                // backstop is not perfect); the operator then insists, with
                // a reason, as a person in the web queue would.
                if let Err(actions::ActionError::Guarded { .. }) =
                    actions::approve(&store, &shops, id, approval, &me).await
                {
                    let insist = actions::Approval {
                        text: Some(text),
                        override_reason: Some("оператор проверил текст".into()),
                    };
                    let _ = actions::approve(&store, &shops, id, insist, &me).await;
                }
            } else {
                let _ = actions::reject(&store, id, "проверка отказа", &me).await;
            }
        }
    }
}

/// Arm faults for upcoming requests: a send accepted and then cut off (the
/// outcome is unknown but it arrived), cut off before it is handled, slower
/// than the client's timeout, a 500, or a failing poll.
async fn faults(sim: Sim, p: f64, mut rng: StdRng, stop: CancellationToken) {
    let send = "/api/v1/seller/message";
    let mut armed = 0u64;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(300)) => {}
        }
        let applied: u64 = sim.stats().values().map(|s| s.faults_applied).sum();
        if armed > applied || !rng.random_bool(p.clamp(0.0, 1.0)) {
            continue;
        }
        let (kind, path, status, delay) = match rng.random_range(0..10) {
            0..=3 => (FaultKind::DropAfterAccept, send, None, None),
            4..=5 => (FaultKind::Drop, send, None, None),
            6..=7 => (FaultKind::SlowAfterAccept, send, None, Some(3000)),
            8 => (FaultKind::Status, send, Some(500), None),
            _ => (FaultKind::Status, "/api/v1/seller/events", Some(500), None),
        };
        sim.add_fault(FaultSpec {
            kind,
            marketplace: None,
            path: Some(path.into()),
            status,
            retry_after_secs: None,
            delay_ms: delay,
            times: Some(1),
            body: None,
        });
        armed += 1;
    }
}

#[derive(Debug)]
struct DraftFacts {
    id: i64,
    shop: String,
    marketplace: String,
    chat: String,
    state: String,
    effect: String,
    approved_by: Option<String>,
    final_text: Option<String>,
    sent_at: Option<Millis>,
}

/// Every invariant, from the simulator's record and the store.
async fn check(store: &Store, sim: &Sim, ledger: &Ledger) -> anyhow::Result<TortureReport> {
    let mut r = TortureReport {
        buyer_messages: ledger.written.len() as u64,
        chats: ledger.chats.len() as u64,
        ..Default::default()
    };
    let v = &mut r.violations;

    // 1. Every buyer message was ingested exactly once.
    let stored: HashMap<(String, String, String, String), i64> = store
        .call(|c| {
            let mut st = c.prepare(
                "SELECT ch.shop, ch.marketplace, ch.external_id, m.external_id, COUNT(*)
                 FROM messages m JOIN chats ch ON ch.id = m.chat_id
                 WHERE m.author = 'buyer' GROUP BY 1, 2, 3, 4",
            )?;
            let rows = st.query_map([], |r| {
                Ok((
                    (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?),
                    r.get::<_, i64>(4)?,
                ))
            })?;
            Ok(rows.collect::<rusqlite::Result<HashMap<_, _>>>()?)
        })
        .await?;
    for w in &ledger.written {
        let key = (
            w.shop.clone(),
            w.marketplace.code().to_string(),
            w.chat_id.clone(),
            w.message_id.clone(),
        );
        match stored.get(&key).copied().unwrap_or(0) {
            1 => {}
            n => v.push(format!(
                "buyer message {} in chat {} ({}/{}) stored {n} times",
                w.message_id, w.chat_id, w.shop, w.marketplace
            )),
        }
    }
    if stored.len() != ledger.written.len() {
        v.push(format!(
            "{} buyer messages stored, {} written",
            stored.len(),
            ledger.written.len()
        ));
    }

    // 2-3. Every delivery belongs to exactly one sent draft, and every sent
    // draft was delivered exactly once.
    let drafts: Vec<DraftFacts> = store
        .call(|c| {
            let mut st = c.prepare(
                "SELECT d.id, ch.shop, ch.marketplace, ch.external_id, d.state, d.effect,
                        d.approved_by, d.final_text, d.sent_at
                 FROM drafts d JOIN chats ch ON ch.id = d.chat_id ORDER BY d.id",
            )?;
            let rows = st.query_map([], |r| {
                Ok(DraftFacts {
                    id: r.get(0)?,
                    shop: r.get(1)?,
                    marketplace: r.get(2)?,
                    chat: r.get(3)?,
                    state: r.get(4)?,
                    effect: r.get(5)?,
                    approved_by: r.get(6)?,
                    final_text: r.get(7)?,
                    sent_at: r.get(8)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await?;
    r.drafts = drafts.len() as u64;
    for d in &drafts {
        *r.drafts_by_state.entry(d.state.clone()).or_default() += 1;
    }
    let sent = sim.sent();
    r.delivered = sent.len() as u64;
    let mut deliveries: HashMap<i64, u32> = HashMap::new();
    for s in &sent {
        // The same reply may go to one chat twice for two turns (a template
        // thank-you). Where the marketplace reports the message's time, the
        // draft carries exactly that time; elsewhere `sent_at` is our clock
        // when the marketplace accepted it, so the nearest one not yet matched
        // is the owner. Either way a reply delivered twice leaves a sent
        // draft without a delivery, which is a violation below.
        let same = |d: &&DraftFacts| {
            d.state == "sent"
                && d.shop == s.seller
                && d.marketplace == s.marketplace.code()
                && d.chat == s.chat_id
                && d.final_text.as_deref() == Some(s.text.as_str())
        };
        let owner = drafts
            .iter()
            .filter(same)
            .find(|d| d.sent_at == Some(s.at))
            .or_else(|| {
                drafts
                    .iter()
                    .filter(same)
                    .filter(|d| !deliveries.contains_key(&d.id))
                    .min_by_key(|d| d.sent_at.map_or(i64::MAX, |t| (t - s.at).abs()))
            });
        match owner {
            Some(d) => *deliveries.entry(d.id).or_default() += 1,
            None => {
                let same_text: Vec<String> = drafts
                    .iter()
                    .filter(|d| d.chat == s.chat_id && d.final_text.as_deref() == Some(&s.text))
                    .map(|d| format!("#{} {}", d.id, d.state))
                    .collect();
                v.push(format!(
                    "a delivery to chat {} at {} («{}») belongs to no sent draft (drafts with that text: {})",
                    s.chat_id,
                    s.at,
                    s.text,
                    if same_text.is_empty() { "none".into() } else { same_text.join(", ") }
                ));
            }
        }
    }
    let events: Vec<(i64, String, Option<String>, String)> = store
        .call(|c| {
            let mut st = c.prepare(
                "SELECT draft_id, actor, from_state, to_state FROM draft_events ORDER BY id",
            )?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await?;
    let mut history: HashMap<i64, Vec<(String, Option<String>, String)>> = HashMap::new();
    for (id, actor, from, to) in events {
        history.entry(id).or_default().push((actor, from, to));
    }
    for d in &drafts {
        let h = history.get(&d.id).map(Vec::as_slice).unwrap_or(&[]);
        let approved = d.approved_by.as_deref() == Some(OPERATOR);
        let auto = d.effect == "auto" && h.iter().any(|(_, _, to)| to == "scheduled");
        let rejected = h.iter().any(|(a, _, to)| a == OPERATOR && to == "rejected");
        r.approved += approved as u64;
        r.rejected += rejected as u64;
        r.auto_scheduled += (auto && d.approved_by.is_none()) as u64;
        let n = deliveries.get(&d.id).copied().unwrap_or(0);
        match d.state.as_str() {
            "sent" if n != 1 => v.push(format!(
                "draft #{} is sent but was delivered {n} times",
                d.id
            )),
            "sent" => {}
            "rejected" | "expired" | "cancelled" if n > 0 => v.push(format!(
                "draft #{} is {} but was delivered {n} times",
                d.id, d.state
            )),
            "cancelled" | "expired" if approved || auto => {
                // Withdrawn by the daemon before any attempt: the buyer wrote again.
                let attempted = h.iter().any(|(_, _, to)| to == "sending");
                let by_daemon = h
                    .last()
                    .is_some_and(|(a, _, _)| a == "daemon:ingest" || a == "daemon:gate");
                if attempted || !by_daemon {
                    v.push(format!(
                        "draft #{} was {} and then {} (history: {:?})",
                        d.id,
                        if approved { "approved" } else { "auto-allowed" },
                        d.state,
                        h
                    ));
                } else {
                    r.withdrawn_before_send += 1;
                }
            }
            "pending" | "rejected" | "expired" | "cancelled" => {}
            other if approved || auto => v.push(format!(
                "draft #{} was {} but ended {other}, not delivered",
                d.id,
                if approved { "approved" } else { "auto-allowed" }
            )),
            other => v.push(format!("draft #{} ended {other}", d.id)),
        }
        if rejected && d.state != "rejected" {
            v.push(format!(
                "draft #{} was rejected and then became {}",
                d.id, d.state
            ));
        }
    }
    r.unknown_sends = history
        .values()
        .filter(|h| h.iter().any(|(_, _, to)| to == "unknown"))
        .count() as u64;
    r.kills_mid_send = history
        .values()
        .flatten()
        .filter(|(a, _, _)| a == "daemon:recovery")
        .count() as u64;
    r.resent_after_reconcile = history
        .values()
        .flatten()
        .filter(|(a, from, _)| a == "daemon:reconcile" && from.as_deref() == Some("unknown"))
        .count() as u64;
    r.faults_applied = sim.stats().values().map(|s| s.faults_applied).sum();

    // 4. No turn lost: every buyer message is answered by a draft for it or a
    // later turn, or by one of our replies that came after it.
    let uncovered: Vec<(String, String, i64, bool)> = store
        .call(|c| {
            let mut st = c.prepare(
                "SELECT ch.external_id, m.external_id, m.id,
                        EXISTS (SELECT 1 FROM messages s WHERE s.chat_id = m.chat_id AND s.author = 'seller'
                                AND s.draft_id IS NOT NULL AND s.created_at >= m.created_at)
                 FROM messages m JOIN chats ch ON ch.id = m.chat_id
                 WHERE m.author = 'buyer' AND NOT EXISTS (
                     SELECT 1 FROM drafts d JOIN messages t ON t.id = d.turn_message_id
                     WHERE d.chat_id = m.chat_id
                       AND (t.created_at > m.created_at OR (t.created_at = m.created_at AND t.id >= m.id)))",
            )?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await?;
    for (chat, message, _, answered) in uncovered {
        if answered {
            r.answered_by_later_reply += 1;
        } else {
            v.push(format!(
                "buyer message {message} in chat {chat} has no draft (its turn was lost)"
            ));
        }
    }
    let due: i64 = store
        .call(|c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM chats WHERE turn_due_at IS NOT NULL",
                [],
                |r| r.get(0),
            )?)
        })
        .await?;
    if due > 0 {
        v.push(format!("{due} chats still wait for a draft"));
    }

    // 5. Every unknown send was reconciled.
    for state in ["unknown", "sending", "scheduled"] {
        let n = r.drafts_by_state.get(state).copied().unwrap_or(0);
        if n > 0 {
            v.push(format!("{n} drafts left {state}"));
        }
    }
    Ok(r)
}

fn print_report(r: &TortureReport) {
    println!("seed                          {}", r.seed);
    println!("kills (SIGKILL + restart)     {}", r.kills);
    println!("  of them mid-send            {}", r.kills_mid_send);
    println!(
        "buyer messages / chats        {} / {}",
        r.buyer_messages, r.chats
    );
    println!(
        "drafts                        {} ({})",
        r.drafts,
        r.drafts_by_state
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "approved / rejected / auto    {} / {} / {}",
        r.approved, r.rejected, r.auto_scheduled
    );
    println!("withdrawn before sending      {}", r.withdrawn_before_send);
    println!(
        "answered by a later reply     {}",
        r.answered_by_later_reply
    );
    println!("deliveries (simulator)        {}", r.delivered);
    println!("faults applied                {}", r.faults_applied);
    println!(
        "unknown sends / resent        {} / {}",
        r.unknown_sends, r.resent_after_reconcile
    );
    println!("settled in                    {:.1} s", r.settle_secs);
    if r.ok() {
        println!(
            "OK: every message ingested once, every approved or auto reply delivered once, nothing rejected/expired/cancelled delivered, no turn lost, no send left unknown"
        );
    } else {
        println!("VIOLATIONS ({}):", r.violations.len());
        for v in &r.violations {
            println!("  - {v}");
        }
    }
}
