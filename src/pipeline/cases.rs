//! A policy file's own `[[test]]` cases, run through the real pipeline
//! offline: rule classifier, template drafter (unless a case gives its own
//! `intent` or `draft`), guards and the policy.

use super::{DraftSource, TurnFacts, judge};
use crate::domain::Effect;
use crate::policy::{Policy, PolicyTest};
use crate::shop::Shop;
use crate::store::AutoCounts;

#[derive(Debug, Clone)]
pub struct CaseOutcome {
    pub name: String,
    pub line: usize,
    pub passed: bool,
    /// What the case expected and what happened, in words.
    pub explanation: String,
}

fn effect_words(effect: Effect, delay: Option<i64>) -> String {
    match delay {
        Some(d) if d > 0 => format!("{effect} after {d} s"),
        _ => effect.to_string(),
    }
}

pub async fn run_case(shop: &Shop, policy: &Policy, case: &PolicyTest) -> CaseOutcome {
    let prompts = shop.prompts.load_full();
    let local_time = case
        .at
        .and_then(|at| at.to_zoned(shop.timezone.clone()).ok())
        .unwrap_or_else(|| shop.local_now());
    let facts = TurnFacts {
        marketplace: case.marketplace,
        kind: crate::domain::ThreadKind::Chat,
        thread: None,
        product_answers: Vec::new(),
        messages: vec![case.text.clone()],
        history: vec![],
        order: case.order.clone(),
        buyer_name: None,
        first_message: case.first_message,
        local_time,
        counts: AutoCounts::default(),
        human_takeover: false,
        shop_paused: false,
        llm_budget: crate::pipeline::LlmBudget::Available,
        reply_window_left_secs: None,
    };
    let mut classification = prompts.classify_offline(&case.text, shop.settings.classifier);
    if let Some(intent) = case.intent {
        classification.intent = intent;
        classification.confidence = case.confidence.unwrap_or(0.95);
    } else if let Some(c) = case.confidence {
        classification.confidence = c;
    }
    let source = case
        .draft
        .clone()
        .map_or(DraftSource::Generate, DraftSource::Given);
    let a = judge(shop, policy, &facts, classification, source).await;
    let d = &a.decision;
    let passed = d.effect == case.expect.effect
        && case
            .expect
            .delay_seconds
            .is_none_or(|s| s == d.delay_seconds);
    let explanation = format!(
        "expected {}, got {} — {} [intent {} {:.2}]",
        effect_words(case.expect.effect, case.expect.delay_seconds),
        effect_words(d.effect, Some(d.delay_seconds)),
        d.reasons.join("; "),
        a.classification.intent,
        a.classification.confidence
    );
    CaseOutcome {
        name: case.name.clone(),
        line: case.line,
        passed,
        explanation,
    }
}

pub async fn run_cases(shop: &Shop, policy: &Policy) -> Vec<CaseOutcome> {
    let mut out = Vec::with_capacity(policy.tests.len());
    for case in &policy.tests {
        out.push(run_case(shop, policy, case).await);
    }
    out
}
