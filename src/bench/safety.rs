//! `agentiq bench --safety`: how long the safety layer takes per call, in
//! process, on the shipped texts: the intent classifier with the risk and
//! injection detectors (per buyer message), and the guards with their learned
//! backstop (per draft). Numbers, not a pass/fail: compare runs on one machine.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::config::ClassifierKind;
use crate::domain::{Intent, Marketplace, OrderContext};
use crate::guards::{self, GuardInput, GuardSettings};
use crate::prompts::PromptSet;

/// Buyer messages and drafts the bench runs over (the shipped examples and
/// the dev drafts the guard model learned from: what matters here is their
/// length and variety, not their labels).
const BUYER: &str = include_str!("../../prompts/default/intents.examples.jsonl");
const DRAFTS: &str = include_str!("../../tests/corpus/drafts.dev.jsonl");

#[derive(Debug, Serialize)]
pub struct Latency {
    pub calls: usize,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    pub training_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct SafetyReport {
    /// Classification: intent model, keyword overrides, risk and injection detectors.
    pub classify: Latency,
    /// Its parts, each alone over the same messages.
    pub normalise: Latency,
    pub keyword_rules: Latency,
    pub intent_model: Latency,
    pub risk_detectors: Latency,
    pub hidden_layers: Latency,
    pub injection_model: Latency,
    /// Guards over a draft, with the learned backstop.
    pub guards: Latency,
}

fn texts(jsonl: &str, field: &str) -> Vec<String> {
    jsonl
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get(field)?.as_str().map(str::to_string))
        .collect()
}

fn latency(mut ns: Vec<u64>, training_ms: f64) -> Latency {
    ns.sort_unstable();
    let at = |q: f64| ns[((ns.len() as f64 - 1.0) * q).round() as usize] as f64 / 1000.0;
    Latency {
        calls: ns.len(),
        p50_us: at(0.5),
        p99_us: at(0.99),
        max_us: at(1.0),
        training_ms,
    }
}

pub fn run(prompts_dir: &Path, passes: usize) -> anyhow::Result<SafetyReport> {
    let started = Instant::now();
    let prompts = PromptSet::load(prompts_dir).map_err(|d| anyhow::anyhow!("{d}"))?;
    let classifier_training = started.elapsed().as_secs_f64() * 1000.0;
    let buyer = texts(BUYER, "text");
    let drafts: Vec<(String, String)> = DRAFTS
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            Some((
                v.get("buyer")?.as_str()?.to_string(),
                v.get("draft")?.as_str()?.to_string(),
            ))
        })
        .collect();
    let started = Instant::now();
    let settings = GuardSettings::default();
    if let Some(m) = &settings.model {
        black_box(m.judge(&crate::text::normalise("прогрев")));
    }
    let guard_training = started.elapsed().as_secs_f64() * 1000.0;
    // One untimed pass warms caches and lazy statics.
    for t in buyer.iter().take(200) {
        black_box(prompts.classify_offline(t, ClassifierKind::Model));
    }
    let mut classify = Vec::with_capacity(buyer.len() * passes);
    for _ in 0..passes {
        for t in &buyer {
            let at = Instant::now();
            black_box(prompts.classify_offline(black_box(t), ClassifierKind::Model));
            classify.push(at.elapsed().as_nanos() as u64);
        }
    }
    let part = |f: &dyn Fn(&str)| {
        let mut ns = Vec::with_capacity(buyer.len());
        for t in &buyer {
            let at = Instant::now();
            f(black_box(t));
            ns.push(at.elapsed().as_nanos() as u64);
        }
        latency(ns, 0.0)
    };
    let normalise = part(&|t| {
        black_box(crate::text::normalise(t));
    });
    let keyword_rules = part(&|t| {
        let n = crate::text::normalise(t);
        black_box(prompts.rules.best(&n.clean));
    });
    let model = prompts.model.load_full();
    let intent_model = part(&|t| {
        let n = crate::text::normalise(t);
        if let Some(m) = &model {
            black_box(m.model.predict(&n));
        }
    });
    let risk_detectors = part(&|t| {
        let n = crate::text::normalise(t);
        black_box(crate::analysis::risk::detect(t, &n));
    });
    let hidden_layers = part(&|t| {
        black_box(crate::text::hidden_layers(t));
    });
    let injection_model = part(&|t| {
        let n = crate::text::normalise(t);
        black_box(crate::analysis::risk::model_says(&n));
    });
    let order = OrderContext::default();
    let mut guard = Vec::with_capacity(drafts.len() * passes);
    for _ in 0..passes {
        for (buyer_text, draft) in &drafts {
            let input = GuardInput {
                draft,
                buyer_text,
                buyer_name: Some("Анна"),
                intent: Intent::Other,
                buyer_flagged_injection: false,
                marketplace: Marketplace::Wildberries,
                max_chars: 1000,
                order: &order,
                knowledge: "",
                system_prompt: None,
                settings: &settings,
            };
            let at = Instant::now();
            black_box(guards::check(black_box(&input)));
            guard.push(at.elapsed().as_nanos() as u64);
        }
    }
    Ok(SafetyReport {
        classify: latency(classify, classifier_training),
        normalise,
        keyword_rules,
        intent_model,
        risk_detectors,
        hidden_layers,
        injection_model,
        guards: latency(guard, guard_training),
    })
}

pub fn print(r: &SafetyReport) {
    println!("Safety layer, per call (in process, one thread)");
    println!(
        "  {:<44} {:>7} {:>9} {:>9} {:>9} {:>12}",
        "", "calls", "p50 µs", "p99 µs", "max µs", "training ms"
    );
    for (name, l) in [
        ("classify (model, rules, risk, injection)", &r.classify),
        ("  normalise", &r.normalise),
        ("  normalise + keyword rules", &r.keyword_rules),
        ("  normalise + intent model", &r.intent_model),
        ("  normalise + risk and injection", &r.risk_detectors),
        ("    hidden-layer decoding", &r.hidden_layers),
        ("    normalise + injection model", &r.injection_model),
        ("guards (rules and learned backstop)", &r.guards),
    ] {
        println!(
            "  {:<44} {:>7} {:>9.1} {:>9.1} {:>9.1} {:>12.0}",
            name, l.calls, l.p50_us, l.p99_us, l.max_us, l.training_ms
        );
    }
}
