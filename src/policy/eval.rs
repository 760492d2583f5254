//! Evaluating a policy against one draft. Pure: everything it needs is in [`Facts`].

use jiff::civil::DateTime;

use super::CODE_CONFIDENCE_FLOOR;
use super::parse::{Condition, Policy};
use crate::domain::{
    Classification, Decision, Effect, Flag, Intent, Marketplace, OrderContext, Priority, RuleTrace,
};

/// Guard findings, as far as the gate needs them.
#[derive(Debug, Clone, Default)]
pub struct GuardSummary {
    /// Categories with an error-severity finding.
    pub errors: Vec<String>,
    /// Categories with a warning-severity finding.
    pub warnings: Vec<String>,
}

/// Everything the gate looks at.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub marketplace: Marketplace,
    pub classification: &'a Classification,
    /// The buyer's turn.
    pub text: &'a str,
    pub order: &'a OrderContext,
    /// Now, in the shop's time zone.
    pub local_time: DateTime,
    pub first_message: bool,
    pub chat_auto_replies_today: u32,
    pub chat_auto_replies_in_window: u32,
    pub shop_auto_replies_last_hour: u32,
    pub draft: &'a str,
    pub max_chars: usize,
    pub guards: &'a GuardSummary,
    /// The drafter failed or a fallback stood in.
    pub drafter_failed: bool,
    /// An earlier send to this chat is failed or of unknown outcome.
    pub previous_send_unsettled: bool,
    /// A human answered in the marketplace's UI recently.
    pub human_takeover: bool,
    /// The shop's kill switch is on.
    pub shop_paused: bool,
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Does a condition hold, and why (in words either way)?
fn check(c: &Condition, f: &Facts<'_>) -> (bool, String) {
    let cls = f.classification;
    match c {
        Condition::Marketplace(m) => (
            m.contains(&f.marketplace),
            format!("marketplace {} in [{}]", f.marketplace, list(m)),
        ),
        Condition::Intent(i) => (
            i.contains(&cls.intent),
            format!("intent {} in [{}]", cls.intent, list(i)),
        ),
        Condition::MinConfidence(n) => (
            cls.confidence >= *n,
            format!("confidence {:.2} ≥ {n}", cls.confidence),
        ),
        Condition::MaxConfidence(n) => (
            cls.confidence <= *n,
            format!("confidence {:.2} ≤ {n}", cls.confidence),
        ),
        Condition::FlagsAny(flags) => {
            let hit: Vec<_> = flags.iter().filter(|x| cls.has(**x)).collect();
            (
                !hit.is_empty(),
                format!(
                    "flags any of [{}] (has [{}])",
                    list(flags),
                    list(&cls.flags)
                ),
            )
        }
        Condition::FlagsNone(flags) => {
            let hit: Vec<_> = flags
                .iter()
                .filter(|x| cls.has(**x))
                .map(|x| x.to_string())
                .collect();
            (
                hit.is_empty(),
                format!(
                    "none of flags [{}] (has [{}])",
                    list(flags),
                    list(&cls.flags)
                ),
            )
        }
        Condition::TextMatches(r) => (
            r.is_match(f.text),
            format!("buyer text matches /{}/", r.as_str()),
        ),
        Condition::TextNotMatches(r) => (
            !r.is_match(f.text),
            format!("buyer text does not match /{}/", r.as_str()),
        ),
        Condition::OrderKnown(want) => {
            let known = !f.order.is_empty();
            (
                known == *want,
                format!("order known is {known} (want {want})"),
            )
        }
        Condition::OrderStatus(s) => {
            let status = f.order.status.as_deref().unwrap_or("unknown");
            (
                s.iter().any(|x| x == status),
                format!("order status {status} in [{}]", s.join(", ")),
            )
        }
        Condition::ProductId(ids) => {
            let pid = f.order.product_id.as_deref().unwrap_or("unknown");
            (
                ids.iter().any(|x| x == pid),
                format!("product {pid} in [{}]", ids.join(", ")),
            )
        }
        Condition::MinPrice(p) => match f.order.price {
            Some(price) => (price >= *p, format!("price {price} ≥ {p}")),
            None => (false, format!("price unknown (needs ≥ {p})")),
        },
        Condition::MaxPrice(p) => match f.order.price {
            Some(price) => (price <= *p, format!("price {price} ≤ {p}")),
            None => (false, format!("price unknown (needs ≤ {p})")),
        },
        Condition::Hours { from, to } => {
            let t = f.local_time.time();
            let inside = if from <= to {
                t >= *from && t < *to
            } else {
                t >= *from || t < *to
            };
            (
                inside,
                format!(
                    "local time {} in {}-{}",
                    t.strftime("%H:%M"),
                    from.strftime("%H:%M"),
                    to.strftime("%H:%M")
                ),
            )
        }
        Condition::Days(days) => {
            let d = f.local_time.weekday();
            (
                days.contains(&d),
                format!(
                    "local day {d:?} in [{}]",
                    days.iter()
                        .map(|d| format!("{d:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        }
        Condition::FirstMessage(want) => (
            f.first_message == *want,
            format!("buyer's first message is {} (want {want})", f.first_message),
        ),
        Condition::MaxAutoRepliesToday(n) => (
            f.chat_auto_replies_today <= *n,
            format!(
                "auto-replies in this chat today {} ≤ {n}",
                f.chat_auto_replies_today
            ),
        ),
        Condition::DraftMaxChars(n) => {
            let len = f.draft.chars().count();
            (len <= *n, format!("draft length {len} ≤ {n}"))
        }
        Condition::DraftMinChars(n) => {
            let len = f.draft.chars().count();
            (len >= *n, format!("draft length {len} ≥ {n}"))
        }
        Condition::NoGuardWarnings => (
            f.guards.warnings.is_empty(),
            format!("no guard warnings (has [{}])", f.guards.warnings.join(", ")),
        ),
        Condition::GuardWarningsNone(cats) => (
            !f.guards.warnings.iter().any(|w| cats.contains(w)),
            format!(
                "no guard warnings in [{}] (has [{}])",
                cats.join(", "),
                f.guards.warnings.join(", ")
            ),
        ),
        Condition::GuardWarningsAny(cats) => (
            f.guards.warnings.iter().any(|w| cats.contains(w)),
            format!(
                "a guard warning in [{}] (has [{}])",
                cats.join(", "),
                f.guards.warnings.join(", ")
            ),
        ),
    }
}

/// The safety floor: reasons auto-sending is not allowed, whatever the rules say.
pub fn floor(policy: &Policy, f: &Facts<'_>) -> Vec<String> {
    let cls = f.classification;
    let mut why = Vec::new();
    let floor = policy.settings.confidence_floor.max(CODE_CONFIDENCE_FLOOR);
    if f.shop_paused {
        why.push("auto-sending is paused for this shop (kill switch)".to_string());
    }
    if !f.guards.errors.is_empty() {
        why.push(format!(
            "guards found errors: {}",
            f.guards.errors.join(", ")
        ));
    }
    if f.drafter_failed || cls.has(Flag::DrafterFallback) {
        why.push("the drafter failed or a fallback wrote the draft".to_string());
    }
    if cls.has(Flag::ClassifierFallback) {
        why.push("the classifier failed and the rule classifier stood in".to_string());
    }
    if cls.confidence < floor {
        why.push(format!(
            "confidence {:.2} is below the floor {floor}",
            cls.confidence
        ));
    }
    if matches!(cls.intent, Intent::HumanRequest | Intent::Abusive) {
        why.push(format!("intent {} always goes to a person", cls.intent));
    }
    if cls.has(Flag::LegalThreat) {
        why.push("the buyer mentions legal action".to_string());
    }
    if cls.has(Flag::MarketplaceComplaint) {
        why.push("the buyer threatens to complain to the marketplace".to_string());
    }
    if cls.has(Flag::Injection) {
        why.push("the buyer's text looks like prompt injection".to_string());
    }
    if f.previous_send_unsettled {
        why.push("an earlier send to this chat failed or has an unknown outcome".to_string());
    }
    if f.human_takeover {
        why.push(
            "a person answered this chat in the marketplace recently (human takeover)".to_string(),
        );
    }
    if f.draft.trim().is_empty() {
        why.push("the draft is empty".to_string());
    }
    let len = f.draft.trim().chars().count();
    if len > f.max_chars {
        why.push(format!(
            "the draft is {len} characters; the marketplace accepts {}",
            f.max_chars
        ));
    }
    let s = &policy.settings;
    if f.chat_auto_replies_in_window >= s.max_auto_per_chat {
        why.push(format!(
            "this chat already got {} auto-replies within {} (cap {})",
            f.chat_auto_replies_in_window, s.auto_window, s.max_auto_per_chat
        ));
    }
    if f.shop_auto_replies_last_hour >= s.max_auto_per_shop_per_hour {
        why.push(format!(
            "the shop already sent {} auto-replies in the last hour (cap {})",
            f.shop_auto_replies_last_hour, s.max_auto_per_shop_per_hour
        ));
    }
    why
}

/// Decide what happens to a draft.
pub fn decide(policy: &Policy, f: &Facts<'_>) -> Decision {
    let mut traces = Vec::with_capacity(policy.rules.len());
    let mut winner: Option<(Effect, String)> = None;
    let mut delay = 0i64;
    let mut priority = Priority::Normal;
    for rule in &policy.rules {
        let mut matched = true;
        let mut why = Vec::with_capacity(rule.conditions.len());
        for c in &rule.conditions {
            let (ok, text) = check(c, f);
            why.push(format!("{} {text}", if ok { "✓" } else { "✗" }));
            matched &= ok;
        }
        if matched {
            if winner
                .as_ref()
                .is_none_or(|(e, _)| rule.effect.strength() > e.strength())
            {
                winner = Some((rule.effect, rule.name.clone()));
            }
            if rule.effect == Effect::Auto {
                delay = delay.max(rule.delay.map(|d| d.as_millis_i64() / 1000).unwrap_or(0));
            }
            priority = priority.max(rule.priority);
        }
        traces.push(RuleTrace {
            name: rule.name.clone(),
            matched,
            effect: rule.effect,
            why,
        });
    }
    let mut reasons = Vec::new();
    let mut effect = match &winner {
        Some((effect, name)) => {
            let others: Vec<_> = traces
                .iter()
                .filter(|t| t.matched && &t.name != name)
                .map(|t| format!("{} ({})", t.name, t.effect))
                .collect();
            let mut reason = format!("rule `{name}` says {effect}");
            if !others.is_empty() {
                reason.push_str(&format!("; also matched: {}", others.join(", ")));
            }
            reasons.push(reason);
            *effect
        }
        None => {
            reasons.push("no rule matched; the default is to queue for a person".to_string());
            Effect::Queue
        }
    };
    let mut floor_reasons = Vec::new();
    if effect == Effect::Auto {
        floor_reasons = floor(policy, f);
        if !floor_reasons.is_empty() {
            effect = Effect::Queue;
            reasons.push(format!("not auto-sent: {}", floor_reasons.join("; ")));
        }
    }
    if effect == Effect::Escalate {
        priority = Priority::Urgent;
    }
    Decision {
        effect,
        delay_seconds: if effect == Effect::Auto { delay } else { 0 },
        priority,
        rules: traces,
        reasons,
        floor: floor_reasons,
    }
}
