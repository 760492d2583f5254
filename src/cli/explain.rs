//! `agentiq explain`: one buyer message through the whole pipeline, sending nothing.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use crate::config::Settings;
use crate::domain::{Effect, Flag, Marketplace, OrderContext};
use crate::guards::{Finding, Severity};
use crate::pipeline::{DraftSource, TurnFacts, assess, render_llm_prompt};
use crate::policy::Policy;
use crate::shop::Shop;
use crate::store::AutoCounts;

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// The shop whose prompts and policy to use.
    #[arg(long)]
    pub shop: String,
    #[arg(long, default_value = "wb")]
    pub marketplace: Marketplace,
    /// The buyer's message (for a review: its text, pros and cons).
    #[arg(long)]
    pub text: String,
    /// What the text is: chat, review or question.
    #[arg(long, default_value = "chat")]
    pub kind: crate::domain::ThreadKind,
    /// A review's stars, 1–5.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub rating: Option<u8>,
    /// The review has photos or a video.
    #[arg(long)]
    pub photos: bool,
    /// Judge this reply instead of drafting one.
    #[arg(long)]
    pub draft: Option<String>,
    /// Use this candidate policy file instead of the shop's.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Print a JSON object instead of a report.
    #[arg(long)]
    pub json: bool,
    /// Order status (e.g. in_transit, delivered, cancelled).
    #[arg(long)]
    pub order_status: Option<String>,
    #[arg(long)]
    pub price: Option<f64>,
    #[arg(long)]
    pub product_id: Option<String>,
    #[arg(long)]
    pub product_name: Option<String>,
    #[arg(long)]
    pub size: Option<String>,
    #[arg(long)]
    pub buyer_name: Option<String>,
    /// Local time in the shop's zone, e.g. 2026-11-24T23:30 (default: now).
    #[arg(long)]
    pub at: Option<jiff::civil::DateTime>,
    /// Treat the message as the buyer's first in the chat.
    #[arg(long)]
    pub first_message: bool,
    /// How long ago the buyer wrote, e.g. `47h` (matters where the
    /// marketplace limits how long a reply is accepted, like Ozon).
    #[arg(long)]
    pub buyer_wrote_ago: Option<crate::config::Dur>,
    /// Auto-replies this chat already got today (for caps and `max_auto_replies_today`).
    #[arg(long, default_value_t = 0)]
    pub auto_replies_today: u32,
}

#[derive(Serialize)]
struct Explanation<'a> {
    shop: &'a str,
    marketplace: Marketplace,
    intent: String,
    confidence: f64,
    flags: Vec<Flag>,
    classification_reasons: &'a [String],
    prompt: Option<String>,
    draft: &'a str,
    drafter: &'a str,
    drafter_note: Option<&'a str>,
    guards: &'a [Finding],
    rules: &'a [crate::domain::RuleTrace],
    decision: Effect,
    delay_seconds: i64,
    priority: &'static str,
    reasons: &'a [String],
    floor: &'a [String],
    summary: String,
}

fn verdict(effect: Effect, delay: i64) -> String {
    match effect {
        Effect::Auto if delay > 0 => format!("would auto-send after a {delay} s undo window"),
        Effect::Auto => "would auto-send at once".to_string(),
        Effect::Queue => "would queue for a person".to_string(),
        Effect::Escalate => "would escalate to a person and send nothing".to_string(),
        Effect::Ignore => "would ignore it (no reply, nobody notified)".to_string(),
    }
}

pub async fn run(settings: &Settings, args: ExplainArgs) -> ExitCode {
    if !settings.shops.contains_key(&args.shop) {
        eprintln!(
            "error: no shop `{}` (known: {})",
            args.shop,
            settings
                .shops
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
        return ExitCode::from(2);
    }
    let models = match crate::app::build_models(settings) {
        Ok(m) => m,
        Err(d) => {
            super::report(&d);
            return ExitCode::from(2);
        }
    };
    let shop = match Shop::build_offline(&args.shop, settings, &models) {
        Ok(s) => s,
        Err(d) => {
            super::report(&d);
            return ExitCode::from(2);
        }
    };
    let policy = match &args.policy {
        Some(p) => match Policy::load(p) {
            Ok(p) => std::sync::Arc::new(p),
            Err(d) => {
                super::report(&d);
                return ExitCode::from(2);
            }
        },
        None => shop.policy.load_full(),
    };
    // A dry run still spends tokens: it counts against the shop's budget.
    let store = crate::store::Store::open(&settings.database_path()).ok();
    let local_time = match args.at {
        Some(at) => match at.to_zoned(shop.timezone.clone()) {
            Ok(z) => z,
            Err(e) => {
                eprintln!("error: --at: {e}");
                return ExitCode::from(2);
            }
        },
        None => shop.local_now(),
    };
    let facts = TurnFacts {
        marketplace: args.marketplace,
        kind: args.kind,
        thread: (args.kind != crate::domain::ThreadKind::Chat).then(|| {
            crate::domain::ThreadFacts {
                rating: args.rating,
                has_text: !args.text.trim().is_empty(),
                has_photos: args.photos,
                product: crate::domain::ProductRef {
                    id: args.product_id.clone(),
                    name: args.product_name.clone(),
                },
            }
        }),
        product_answers: Vec::new(),
        messages: vec![args.text.clone()],
        history: vec![],
        order: OrderContext {
            order_id: None,
            product_id: args.product_id.clone(),
            product_name: args.product_name.clone(),
            price: args.price,
            currency: args.price.map(|_| "RUB".to_string()),
            size: args.size.clone(),
            status: args.order_status.clone(),
            status_text: None,
            ..Default::default()
        },
        buyer_name: args.buyer_name.clone(),
        first_message: args.first_message,
        local_time,
        counts: AutoCounts {
            chat_today: args.auto_replies_today,
            chat_in_window: args.auto_replies_today,
            ..AutoCounts::default()
        },
        human_takeover: false,
        shop_paused: false,
        llm_budget: match &store {
            Some(store) => crate::pipeline::budget::current(store, &shop)
                .await
                .unwrap_or(crate::pipeline::LlmBudget::Available),
            None => crate::pipeline::LlmBudget::Available,
        },
        reply_window_left_secs: args
            .marketplace
            .capabilities()
            .reply_window_secs
            .map(|w| w - args.buyer_wrote_ago.map_or(0, |d| d.0.as_secs() as i64)),
    };
    let source = args
        .draft
        .clone()
        .map_or(DraftSource::Generate, DraftSource::Given);
    let a = assess(&shop, &policy, &facts, source).await;
    if let Some(store) = &store
        && let Err(e) = crate::pipeline::budget::record(store, settings, &shop, &a.llm_calls).await
    {
        eprintln!("warning: the LLM usage of this dry run was not recorded: {e}");
    }
    let prompt = render_llm_prompt(&shop, &facts, &a.classification).ok();
    let d = &a.decision;
    let summary = verdict(d.effect, d.delay_seconds);
    if args.json {
        let e = Explanation {
            shop: &shop.id,
            marketplace: args.marketplace,
            intent: a.classification.intent.to_string(),
            confidence: a.classification.confidence,
            flags: a.classification.flags.clone(),
            classification_reasons: &a.classification.reasons,
            prompt,
            draft: &a.drafted.text,
            drafter: a.drafted.drafter,
            drafter_note: a.drafted.note.as_deref(),
            guards: &a.findings,
            rules: &d.rules,
            decision: d.effect,
            delay_seconds: d.delay_seconds,
            priority: d.priority.as_str(),
            reasons: &d.reasons,
            floor: &d.floor,
            summary,
        };
        say!("{}", serde_json::to_string_pretty(&e).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    let c = &a.classification;
    say!(
        "Classification: {} ({:.2}, {:?})",
        c.intent,
        c.confidence,
        c.source
    );
    if !c.flags.is_empty() {
        say!(
            "Flags: {}",
            c.flags
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for r in &c.reasons {
        say!("  - {r}");
    }
    if let Some(p) = &prompt {
        say!(
            "\nPrompt (what the LLM drafter sees):\n{}",
            p.lines()
                .map(|l| format!("  │ {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    say!("\nDraft ({}):\n  «{}»", a.drafted.drafter, a.drafted.text);
    if let Some(n) = &a.drafted.note {
        say!("  note: {n}");
    }
    say!("\nGuards:");
    if a.findings.is_empty() {
        say!("  nothing found");
    }
    for f in &a.findings {
        let sev = if f.severity == Severity::Error {
            "ERROR  "
        } else {
            "warning"
        };
        say!("  {sev} {}: {} «{}»", f.category, f.message, f.excerpt);
    }
    say!("\nRules ({}):", policy.file);
    for r in &d.rules {
        say!(
            "  {} {} → {}",
            if r.matched {
                "✓ matched"
            } else {
                "✗ no     "
            },
            r.name,
            r.effect
        );
        for w in &r.why {
            say!("        {w}");
        }
    }
    say!("\nDecision: {summary}");
    for r in &d.reasons {
        say!("  - {r}");
    }
    ExitCode::SUCCESS
}
