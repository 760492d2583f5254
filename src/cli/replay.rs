//! `agentiq replay`: stored buyer turns through the current policy, or a
//! candidate, to see what a policy change would do before making it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use serde::Serialize;

use crate::config::Settings;
use crate::domain::{Effect, Millis};
use crate::pipeline::{Assessment, DraftSource, TurnFacts, judge};
use crate::policy::Policy;
use crate::shop::Shop;
use crate::store::{self, AutoCounts, DraftFilter, DraftRow, Store};

#[derive(Args, Debug)]
pub struct ReplayArgs {
    #[arg(long)]
    pub shop: String,
    /// Compare the shop's policy with this candidate file.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Only turns from this date on (YYYY-MM-DD, in the shop's time zone).
    #[arg(long)]
    pub since: Option<jiff::civil::Date>,
    /// Only turns of this kind of thread: chat, review or question.
    #[arg(long)]
    pub kind: Option<crate::domain::ThreadKind>,
    /// Only reviews with this many stars, 1–5 (implies `--kind review`).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub rating: Option<u8>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Default, Serialize)]
struct RuleCounts {
    matched: usize,
    auto: usize,
    queue: usize,
    escalate: usize,
    ignore: usize,
}

#[derive(Serialize)]
struct Change {
    from: Effect,
    to: Effect,
    turns: usize,
    examples: Vec<i64>,
}

#[derive(Serialize)]
struct Report {
    turns: usize,
    current: BTreeMap<String, RuleCounts>,
    candidate: Option<BTreeMap<String, RuleCounts>>,
    changes: Vec<Change>,
}

/// Replays decisions in time order, keeping the auto-reply counts the caps need.
struct Replayer {
    policy: Arc<Policy>,
    counts: RuleCountsByRule,
    chat_autos: HashMap<i64, VecDeque<Millis>>,
    shop_autos: VecDeque<Millis>,
}

type RuleCountsByRule = BTreeMap<String, RuleCounts>;

impl Replayer {
    fn new(policy: Arc<Policy>) -> Self {
        Replayer {
            policy,
            counts: BTreeMap::new(),
            chat_autos: HashMap::new(),
            shop_autos: VecDeque::new(),
        }
    }

    async fn decide(
        &mut self,
        shop: &Shop,
        d: &DraftRow,
        turn: &[String],
        first_message: bool,
    ) -> Assessment {
        let at = d.created_at;
        let local_time = jiff::Timestamp::from_millisecond(at)
            .unwrap_or_default()
            .to_zoned(shop.timezone.clone());
        let day_start = local_time
            .start_of_day()
            .map(|z| z.timestamp().as_millisecond())
            .unwrap_or(at);
        let window = self.policy.settings.auto_window.as_millis_i64();
        let chat = self.chat_autos.entry(d.chat.id).or_default();
        while self.shop_autos.front().is_some_and(|t| *t < at - 3_600_000) {
            self.shop_autos.pop_front();
        }
        let counts = AutoCounts {
            chat_today: chat.iter().filter(|t| **t >= day_start).count() as u32,
            chat_in_window: chat.iter().filter(|t| **t >= at - window).count() as u32,
            shop_last_hour: self.shop_autos.len() as u32,
            chat_unsettled: false,
        };
        let facts = TurnFacts {
            marketplace: d.chat.marketplace,
            kind: d.chat.kind,
            thread: d.chat.thread.clone(),
            product_answers: Vec::new(),
            messages: turn.to_vec(),
            history: vec![],
            order: d.chat.order.clone(),
            buyer_name: d.chat.buyer_name.clone(),
            first_message,
            local_time,
            counts,
            human_takeover: false,
            shop_paused: false,
            llm_budget: crate::pipeline::LlmBudget::Available,
            reply_window_left_secs: None,
        };
        let a = judge(
            shop,
            &self.policy,
            &facts,
            d.classification.clone(),
            DraftSource::Given(d.text.clone()),
        )
        .await;
        if a.decision.effect == Effect::Auto {
            chat.push_back(at);
            self.shop_autos.push_back(at);
        }
        let winner = a
            .decision
            .rules
            .iter()
            .filter(|r| r.matched)
            .max_by_key(|r| r.effect.strength())
            .map(|r| r.name.clone())
            .unwrap_or_else(|| "(no rule: default)".into());
        for r in a.decision.rules.iter().filter(|r| r.matched) {
            self.counts.entry(r.name.clone()).or_default().matched += 1;
        }
        let c = self.counts.entry(winner).or_default();
        match a.decision.effect {
            Effect::Auto => c.auto += 1,
            Effect::Queue => c.queue += 1,
            Effect::Escalate => c.escalate += 1,
            Effect::Ignore => c.ignore += 1,
        }
        a
    }
}

pub async fn run(settings: &Settings, args: ReplayArgs) -> ExitCode {
    let Some(_) = settings.shops.get(&args.shop) else {
        eprintln!("error: no shop `{}`", args.shop);
        return ExitCode::from(2);
    };
    let shop = match Shop::build_offline(&args.shop, settings, &Default::default()) {
        Ok(s) => s,
        Err(d) => {
            super::report(&d);
            return ExitCode::from(2);
        }
    };
    let candidate = match &args.policy {
        None => None,
        Some(p) => match Policy::load(p) {
            Ok(p) => Some(Arc::new(p)),
            Err(d) => {
                super::report(&d);
                return ExitCode::from(2);
            }
        },
    };
    let store = match Store::open(&settings.database_path()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot open the database: {e}");
            return ExitCode::from(2);
        }
    };
    let since: Millis = args
        .since
        .and_then(|d| d.to_zoned(shop.timezone.clone()).ok())
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(0);
    let kind = match (args.kind, args.rating) {
        (None, Some(_)) => Some(crate::domain::ThreadKind::Review),
        (kind, _) => kind,
    };
    let filter = DraftFilter {
        shop: Some(args.shop.clone()),
        kind,
        ..DraftFilter::default()
    };
    let rating = args.rating;
    let drafts = match store.call(move |c| store::list_drafts(c, &filter)).await {
        Ok(d) => d
            .into_iter()
            .filter(|d| d.created_at >= since)
            .filter(|d| {
                rating.is_none_or(|r| d.chat.thread.as_ref().and_then(|t| t.rating) == Some(r))
            })
            .collect::<Vec<_>>(),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) && drafts.len() > 50 {
        let b = indicatif::ProgressBar::new(drafts.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} turns  {eta} left")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut current = Replayer::new(shop.policy.load_full());
    let mut cand = candidate.map(Replayer::new);
    let mut changes: BTreeMap<(Effect, Effect), (usize, Vec<i64>)> = BTreeMap::new();
    let mut seen_chats = std::collections::HashSet::new();
    for d in &drafts {
        let first = seen_chats.insert(d.chat.id);
        let (chat, last) = (d.chat.id, d.turn_message_id);
        let turn: Vec<String> = match store
            .call(move |c| store::turn_messages(c, chat, last))
            .await
        {
            Ok(m) => m.into_iter().map(|m| m.text).collect(),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        let a = current.decide(&shop, d, &turn, first).await;
        if let Some(c) = cand.as_mut() {
            let b = c.decide(&shop, d, &turn, first).await;
            if a.decision.effect != b.decision.effect {
                let e = changes
                    .entry((a.decision.effect, b.decision.effect))
                    .or_default();
                e.0 += 1;
                if e.1.len() < 5 {
                    e.1.push(d.id);
                }
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let report = Report {
        turns: drafts.len(),
        current: current.counts,
        candidate: cand.map(|c| c.counts),
        changes: changes
            .into_iter()
            .map(|((from, to), (turns, examples))| Change {
                from,
                to,
                turns,
                examples,
            })
            .collect(),
    };
    if args.json {
        say!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    say!(
        "Replayed {} stored buyer turns of shop `{}`.",
        report.turns,
        args.shop
    );
    let print = |title: &str, counts: &RuleCountsByRule| {
        say!("\n{title}");
        say!(
            "  {:<32} {:>7} {:>6} {:>6} {:>9} {:>7}",
            "rule (deciding)",
            "matched",
            "auto",
            "queue",
            "escalate",
            "ignore"
        );
        for (name, c) in counts {
            say!(
                "  {:<32} {:>7} {:>6} {:>6} {:>9} {:>7}",
                name,
                c.matched,
                c.auto,
                c.queue,
                c.escalate,
                c.ignore
            );
        }
    };
    print(
        &format!("Current policy ({}):", shop.policy_path.display()),
        &report.current,
    );
    if let (Some(c), Some(p)) = (&report.candidate, &args.policy) {
        print(&format!("Candidate policy ({}):", p.display()), c);
        say!("\nDifferences:");
        if report.changes.is_empty() {
            say!("  none: the candidate decides every turn the same way");
        }
        for ch in &report.changes {
            say!(
                "  {} → {}: {} turns (e.g. drafts {})",
                ch.from,
                ch.to,
                ch.turns,
                ch.examples
                    .iter()
                    .map(|i| format!("#{i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    ExitCode::SUCCESS
}
