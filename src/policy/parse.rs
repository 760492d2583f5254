//! Reading a policy file into typed rules. Errors name the file, the line and
//! the field.

use std::collections::BTreeMap;
use std::path::Path;

use std::sync::Arc;

use crate::guards::rules::RawRule as RawGuard;
use crate::guards::{ADJUSTABLE, ExtraGuard, GuardRules, GuardSettings, Severity};
use crate::textre::WordRegex;
use jiff::civil::{Time, Weekday};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::analysis::review::{Sentiment, Topic};
use crate::config::Dur;
use crate::diag::{self, Diagnostic, Diagnostics};
use crate::domain::{Effect, Flag, Intent, Marketplace, OrderContext, Priority, ThreadKind};

#[derive(Debug, Clone)]
pub struct Policy {
    pub file: String,
    pub settings: PolicySettings,
    pub rules: Vec<Rule>,
    pub tests: Vec<PolicyTest>,
}

#[derive(Debug, Clone)]
pub struct PolicySettings {
    /// Raises (never lowers) the code's confidence floor for auto-sending.
    pub confidence_floor: f64,
    /// Where an auto-sent draft may come from; empty: anywhere. With
    /// `["template"]`, free LLM text is never auto-sent whatever a rule says.
    pub auto_send_from: Vec<DraftOrigin>,
    /// At most this many auto-replies per chat within `auto_window`.
    pub max_auto_per_chat: u32,
    pub auto_window: Dur,
    /// At most this many auto-replies per shop per hour.
    pub max_auto_per_shop_per_hour: u32,
    /// The shop's guard settings and its own guard rules.
    pub guard: GuardSettings,
}

/// Where a draft's text came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftOrigin {
    /// A reply template of the prompt set.
    Template,
    /// Word for word one of the shop's approved replies (`approved_replies.txt`).
    Library,
    /// Written by an LLM.
    Llm,
    /// Typed by a person.
    Person,
}

impl DraftOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            DraftOrigin::Template => "template",
            DraftOrigin::Library => "library",
            DraftOrigin::Llm => "llm",
            DraftOrigin::Person => "person",
        }
    }
}

impl Default for PolicySettings {
    fn default() -> Self {
        PolicySettings {
            confidence_floor: super::CODE_CONFIDENCE_FLOOR,
            auto_send_from: Vec::new(),
            max_auto_per_chat: 2,
            auto_window: Dur::secs(24 * 3600),
            max_auto_per_shop_per_hour: 60,
            guard: GuardSettings::default(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub line: usize,
    pub conditions: Vec<Condition>,
    pub effect: Effect,
    pub delay: Option<Dur>,
    pub priority: Priority,
}

/// One thing a rule tests. All of a rule's conditions must hold.
#[derive(Debug, Clone)]
pub enum Condition {
    Marketplace(Vec<Marketplace>),
    Intent(Vec<Intent>),
    MinConfidence(f64),
    MaxConfidence(f64),
    FlagsAny(Vec<Flag>),
    FlagsNone(Vec<Flag>),
    TextMatches(WordRegex),
    TextNotMatches(WordRegex),
    OrderKnown(bool),
    OrderStatus(Vec<String>),
    ProductId(Vec<String>),
    MinPrice(f64),
    MaxPrice(f64),
    /// Local time of day in `[from, to)`; wraps past midnight when `from > to`.
    Hours {
        from: Time,
        to: Time,
    },
    Days(Vec<Weekday>),
    FirstMessage(bool),
    MaxAutoRepliesToday(u32),
    DraftMaxChars(usize),
    DraftMinChars(usize),
    /// No guard warnings at all (errors always block auto-sending anyway).
    NoGuardWarnings,
    GuardWarningsNone(Vec<String>),
    GuardWarningsAny(Vec<String>),
    /// Chat, review or question.
    Kind(Vec<ThreadKind>),
    /// Reviews: stars at least / at most; false for anything without a rating.
    MinRating(u8),
    MaxRating(u8),
    /// Reviews and questions: the buyer wrote text (reviews: text, pros or cons).
    HasText(bool),
    HasPhotos(bool),
    Sentiment(Vec<Sentiment>),
    TopicsAny(Vec<Topic>),
    TopicsNone(Vec<Topic>),
}

#[derive(Debug, Clone)]
pub struct PolicyTest {
    pub name: String,
    pub line: usize,
    pub text: String,
    pub marketplace: Marketplace,
    pub draft: Option<String>,
    pub intent: Option<Intent>,
    pub confidence: Option<f64>,
    pub order: OrderContext,
    /// Local time in the shop's zone, e.g. `2026-11-24T23:30`.
    pub at: Option<jiff::civil::DateTime>,
    pub first_message: bool,
    pub expect: TestExpect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestExpect {
    pub effect: Effect,
    pub delay_seconds: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    settings: Option<RawSettings>,
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
    #[serde(default)]
    test: Vec<Spanned<RawTest>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    confidence_floor: Option<Spanned<f64>>,
    max_auto_per_chat: Option<u32>,
    auto_window: Option<Dur>,
    max_auto_per_shop_per_hour: Option<u32>,
    forbid_ai_mentions: Option<bool>,
    #[serde(default)]
    allowed_link_domains: Vec<String>,
    #[serde(default)]
    guard: Vec<RawGuard>,
    #[serde(default)]
    severity: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    auto_send_from: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    when: BTreeMap<String, Spanned<toml::Value>>,
    effect: Spanned<String>,
    #[serde(default)]
    delay: Option<Spanned<Dur>>,
    #[serde(default)]
    priority: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTest {
    name: String,
    text: String,
    #[serde(default)]
    marketplace: Option<Spanned<String>>,
    #[serde(default)]
    draft: Option<String>,
    #[serde(default)]
    intent: Option<Spanned<String>>,
    #[serde(default)]
    confidence: Option<f64>,
    #[serde(default)]
    order: Option<OrderContext>,
    #[serde(default)]
    at: Option<Spanned<String>>,
    #[serde(default)]
    first_message: Option<bool>,
    expect: Spanned<String>,
    #[serde(default)]
    expect_delay: Option<Dur>,
}

struct Ctx<'a> {
    file: &'a Path,
    text: &'a str,
    out: Diagnostics,
}

impl Ctx<'_> {
    fn err(&mut self, span_start: usize, field: &str, message: impl Into<String>) {
        self.out.push(
            Diagnostic::new(self.file, message)
                .at_line(Some(diag::line_of(self.text, span_start)))
                .field(field.to_string()),
        );
    }
}

pub const CONDITION_KEYS: &[&str] = &[
    "marketplace",
    "intent",
    "min_confidence",
    "max_confidence",
    "flags_any",
    "flags_none",
    "text_matches",
    "text_not_matches",
    "order_known",
    "order_status",
    "product_id",
    "min_price",
    "max_price",
    "hours",
    "days",
    "first_message",
    "max_auto_replies_today",
    "draft_max_chars",
    "draft_min_chars",
    "no_guard_warnings",
    "guard_warnings_none",
    "guard_warnings_any",
    "kind",
    "min_rating",
    "max_rating",
    "has_text",
    "has_photos",
    "sentiment",
    "topics_any",
    "topics_none",
];

fn strings(v: &toml::Value) -> Option<Vec<String>> {
    match v {
        toml::Value::String(s) => Some(vec![s.clone()]),
        toml::Value::Array(a) => a.iter().map(|x| x.as_str().map(str::to_string)).collect(),
        _ => None,
    }
}

fn number(v: &toml::Value) -> Option<f64> {
    v.as_float().or_else(|| v.as_integer().map(|i| i as f64))
}

fn regex(pattern: &str) -> Result<WordRegex, String> {
    WordRegex::new(pattern, true).map_err(|e| format!("not a valid regular expression: {e}"))
}

fn parse_hours(s: &str) -> Result<(Time, Time), String> {
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| format!("`{s}` is not a time window; write it like \"22:00-08:00\""))?;
    let t = |x: &str| {
        x.trim()
            .parse::<Time>()
            .map_err(|_| format!("`{}` is not a time of day like \"22:00\"", x.trim()))
    };
    Ok((t(a)?, t(b)?))
}

fn parse_weekday(s: &str) -> Result<Weekday, String> {
    Ok(match s.trim().to_lowercase().as_str() {
        "mon" | "monday" | "пн" => Weekday::Monday,
        "tue" | "tuesday" | "вт" => Weekday::Tuesday,
        "wed" | "wednesday" | "ср" => Weekday::Wednesday,
        "thu" | "thursday" | "чт" => Weekday::Thursday,
        "fri" | "friday" | "пт" => Weekday::Friday,
        "sat" | "saturday" | "сб" => Weekday::Saturday,
        "sun" | "sunday" | "вс" => Weekday::Sunday,
        other => {
            return Err(format!(
                "`{other}` is not a weekday (mon, tue, wed, thu, fri, sat, sun)"
            ));
        }
    })
}

fn parse_condition(key: &str, value: &toml::Value) -> Result<Condition, String> {
    let want = |what: &str| format!("`{key}` needs {what}");
    let list_of = |f: &dyn Fn(&str) -> Result<(), String>| -> Result<Vec<String>, String> {
        let items = strings(value).ok_or_else(|| want("a string or a list of strings"))?;
        for i in &items {
            f(i)?;
        }
        Ok(items)
    };
    let num = || number(value).ok_or_else(|| want("a number"));
    let boolean = || value.as_bool().ok_or_else(|| want("true or false"));
    let count = || {
        value
            .as_integer()
            .filter(|i| *i >= 0)
            .map(|i| i as u64)
            .ok_or_else(|| want("a whole number, 0 or more"))
    };
    Ok(match key {
        "marketplace" => Condition::Marketplace(
            list_of(&|s| s.parse::<Marketplace>().map(|_| ()))?
                .iter()
                .map(|s| s.parse().expect("checked"))
                .collect(),
        ),
        "intent" => Condition::Intent(
            list_of(&|s| s.parse::<Intent>().map(|_| ()))?
                .iter()
                .map(|s| s.parse().expect("checked"))
                .collect(),
        ),
        "min_confidence" | "max_confidence" => {
            let n = num()?;
            if !(0.0..=1.0).contains(&n) {
                return Err(format!("`{key}` must be between 0 and 1"));
            }
            if key == "min_confidence" {
                Condition::MinConfidence(n)
            } else {
                Condition::MaxConfidence(n)
            }
        }
        "flags_any" | "flags_none" => {
            let flags: Vec<Flag> = list_of(&|s| s.parse::<Flag>().map(|_| ()))?
                .iter()
                .map(|s| s.parse().expect("checked"))
                .collect();
            if key == "flags_any" {
                Condition::FlagsAny(flags)
            } else {
                Condition::FlagsNone(flags)
            }
        }
        "text_matches" | "text_not_matches" => {
            let s = value
                .as_str()
                .ok_or_else(|| want("a regular expression in a string"))?;
            let r = regex(s)?;
            if key == "text_matches" {
                Condition::TextMatches(r)
            } else {
                Condition::TextNotMatches(r)
            }
        }
        "order_known" => Condition::OrderKnown(boolean()?),
        "order_status" => Condition::OrderStatus(list_of(&|_| Ok(()))?),
        "product_id" => Condition::ProductId(match value {
            toml::Value::Integer(i) => vec![i.to_string()],
            toml::Value::Array(a) if a.iter().all(|x| x.is_integer()) => a
                .iter()
                .filter_map(|x| x.as_integer())
                .map(|i| i.to_string())
                .collect(),
            _ => list_of(&|_| Ok(()))?,
        }),
        "min_price" => Condition::MinPrice(num()?),
        "max_price" => Condition::MaxPrice(num()?),
        "hours" => {
            let s = value
                .as_str()
                .ok_or_else(|| want("a window like \"22:00-08:00\""))?;
            let (from, to) = parse_hours(s)?;
            Condition::Hours { from, to }
        }
        "days" => Condition::Days(
            list_of(&|s| parse_weekday(s).map(|_| ()))?
                .iter()
                .map(|s| parse_weekday(s).expect("checked"))
                .collect(),
        ),
        "first_message" => Condition::FirstMessage(boolean()?),
        "max_auto_replies_today" => Condition::MaxAutoRepliesToday(count()? as u32),
        "draft_max_chars" => Condition::DraftMaxChars(count()? as usize),
        "draft_min_chars" => Condition::DraftMinChars(count()? as usize),
        "no_guard_warnings" => {
            if !boolean()? {
                return Err("`no_guard_warnings` can only be true; leave it out otherwise".into());
            }
            Condition::NoGuardWarnings
        }
        "kind" => Condition::Kind(
            list_of(&|s| s.parse::<ThreadKind>().map(|_| ()))?
                .iter()
                .map(|s| s.parse().expect("checked"))
                .collect(),
        ),
        "min_rating" | "max_rating" => {
            let n = count()?;
            if !(1..=5).contains(&n) {
                return Err(format!("`{key}` must be a whole number from 1 to 5"));
            }
            if key == "min_rating" {
                Condition::MinRating(n as u8)
            } else {
                Condition::MaxRating(n as u8)
            }
        }
        "has_text" => Condition::HasText(boolean()?),
        "has_photos" => Condition::HasPhotos(boolean()?),
        "sentiment" => Condition::Sentiment(
            list_of(&|s| s.parse::<Sentiment>().map(|_| ()))?
                .iter()
                .map(|s| s.parse().expect("checked"))
                .collect(),
        ),
        "topics_any" | "topics_none" => {
            let topics: Vec<Topic> = list_of(&|s| s.parse::<Topic>().map(|_| ()))?
                .iter()
                .map(|s| s.parse().expect("checked"))
                .collect();
            if key == "topics_any" {
                Condition::TopicsAny(topics)
            } else {
                Condition::TopicsNone(topics)
            }
        }
        "guard_warnings_none" => Condition::GuardWarningsNone(list_of(&|_| Ok(()))?),
        "guard_warnings_any" => Condition::GuardWarningsAny(list_of(&|_| Ok(()))?),
        other => {
            return Err(format!(
                "unknown condition `{other}`; known conditions: {}",
                CONDITION_KEYS.join(", ")
            ));
        }
    })
}

fn parse_effect(s: &str) -> Result<Effect, String> {
    match s {
        "auto" => Ok(Effect::Auto),
        "queue" => Ok(Effect::Queue),
        "escalate" => Ok(Effect::Escalate),
        "ignore" => Ok(Effect::Ignore),
        other => Err(format!(
            "unknown effect `{other}` (auto, queue, escalate or ignore)"
        )),
    }
}

fn parse_priority(s: &str) -> Result<Priority, String> {
    match s {
        "low" => Ok(Priority::Low),
        "normal" => Ok(Priority::Normal),
        "high" => Ok(Priority::High),
        "urgent" => Ok(Priority::Urgent),
        other => Err(format!(
            "unknown priority `{other}` (low, normal, high or urgent)"
        )),
    }
}

impl Policy {
    pub fn load(path: &Path) -> Result<Policy, Diagnostics> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Diagnostics::from(Diagnostic::new(
                path,
                format!("cannot read the policy: {e}"),
            ))
        })?;
        Policy::parse(path, &text)
    }

    pub fn parse(file: &Path, text: &str) -> Result<Policy, Diagnostics> {
        let raw: RawPolicy =
            toml::from_str(text).map_err(|e| diag::from_toml_error(file, text, &e))?;
        let mut cx = Ctx {
            file,
            text,
            out: Diagnostics::default(),
        };
        let settings = parse_settings(&mut cx, raw.settings);
        let mut rules = Vec::new();
        let mut names = std::collections::HashSet::new();
        for (i, spanned) in raw.rule.into_iter().enumerate() {
            let start = spanned.span().start;
            let r = spanned.into_inner();
            if !names.insert(r.name.clone()) {
                cx.err(
                    start,
                    &format!("rule[{i}].name"),
                    format!("two rules are named `{}`; names must be unique", r.name),
                );
            }
            let _ = r.description;
            let mut conditions = Vec::new();
            for (key, value) in &r.when {
                match parse_condition(key, value.get_ref()) {
                    Ok(c) => conditions.push(c),
                    Err(e) => cx.err(
                        value.span().start,
                        &format!("rule[{}].when.{key}", r.name),
                        e,
                    ),
                }
            }
            let effect = parse_effect(r.effect.get_ref()).unwrap_or_else(|e| {
                cx.err(
                    r.effect.span().start,
                    &format!("rule[{}].effect", r.name),
                    e,
                );
                Effect::Queue
            });
            if let Some(d) = &r.delay
                && effect != Effect::Auto
            {
                cx.err(
                    d.span().start,
                    &format!("rule[{}].delay", r.name),
                    "only `auto` rules can have a delay",
                );
            }
            let priority = match &r.priority {
                Some(p) => parse_priority(p.get_ref()).unwrap_or_else(|e| {
                    cx.err(p.span().start, &format!("rule[{}].priority", r.name), e);
                    Priority::Normal
                }),
                None => Priority::Normal,
            };
            if effect == Effect::Auto && conditions.is_empty() {
                cx.err(start, &format!("rule[{}].when", r.name), "an `auto` rule needs at least one condition; auto-sending everything is not allowed");
            }
            rules.push(Rule {
                name: r.name,
                line: diag::line_of(text, start),
                conditions,
                effect,
                delay: r.delay.map(|d| d.into_inner()),
                priority,
            });
        }
        let mut tests = Vec::new();
        for spanned in raw.test {
            let start = spanned.span().start;
            let t = spanned.into_inner();
            let field = |f: &str| format!("test[{}].{f}", t.name);
            let marketplace = match &t.marketplace {
                Some(m) => m.get_ref().parse().unwrap_or_else(|e: String| {
                    cx.err(m.span().start, &field("marketplace"), e);
                    Marketplace::Wildberries
                }),
                None => Marketplace::Wildberries,
            };
            let intent = t.intent.as_ref().and_then(|s| {
                s.get_ref()
                    .parse::<Intent>()
                    .map_err(|e| cx.err(s.span().start, &field("intent"), e))
                    .ok()
            });
            let at = t.at.as_ref().and_then(|s| {
                s.get_ref()
                    .parse::<jiff::civil::DateTime>()
                    .map_err(|_| {
                        cx.err(
                            s.span().start,
                            &field("at"),
                            format!(
                                "`{}` is not a local date and time like \"2026-11-24T23:30\"",
                                s.get_ref()
                            ),
                        )
                    })
                    .ok()
            });
            let effect = parse_effect(t.expect.get_ref()).unwrap_or_else(|e| {
                cx.err(t.expect.span().start, &field("expect"), e);
                Effect::Queue
            });
            tests.push(PolicyTest {
                line: diag::line_of(text, start),
                name: t.name,
                text: t.text,
                marketplace,
                draft: t.draft,
                intent,
                confidence: t.confidence,
                order: t.order.unwrap_or_default(),
                at,
                first_message: t.first_message.unwrap_or(false),
                expect: TestExpect {
                    effect,
                    delay_seconds: t.expect_delay.map(|d| d.as_millis_i64() / 1000),
                },
            });
        }
        cx.out.into_result(Policy {
            file: file.display().to_string(),
            settings,
            rules,
            tests,
        })
    }
}

fn parse_settings(cx: &mut Ctx<'_>, raw: Option<RawSettings>) -> PolicySettings {
    let mut s = PolicySettings::default();
    let Some(raw) = raw else { return s };
    if let Some(f) = raw.confidence_floor {
        let v = *f.get_ref();
        if !(0.0..=1.0).contains(&v) {
            cx.err(
                f.span().start,
                "settings.confidence_floor",
                "must be between 0 and 1",
            );
        } else if v < super::CODE_CONFIDENCE_FLOOR {
            cx.err(
                f.span().start,
                "settings.confidence_floor",
                format!(
                    "cannot be lower than the built-in floor {}",
                    super::CODE_CONFIDENCE_FLOOR
                ),
            );
        } else {
            s.confidence_floor = v;
        }
    }
    if let Some(v) = raw.max_auto_per_chat {
        s.max_auto_per_chat = v;
    }
    if let Some(v) = raw.auto_window {
        s.auto_window = v;
    }
    if let Some(v) = raw.max_auto_per_shop_per_hour {
        s.max_auto_per_shop_per_hour = v;
    }
    if let Some(v) = raw.forbid_ai_mentions {
        s.guard.forbid_ai_mentions = v;
    }
    s.guard.allowed_link_domains = raw
        .allowed_link_domains
        .into_iter()
        .map(|d| d.trim().trim_start_matches("www.").to_lowercase())
        .collect();
    for (category, value) in &raw.severity {
        let field = format!("settings.severity.{category}");
        if !ADJUSTABLE.contains(&category.as_str()) {
            cx.err(
                value.span().start,
                &field,
                format!(
                    "only these checks can change severity: {} (the others are part of the safety floor)",
                    ADJUSTABLE.join(", ")
                ),
            );
            continue;
        }
        match value.get_ref().as_str() {
            "error" => {
                s.guard.severity.insert(category.clone(), Severity::Error);
            }
            "warning" => {
                s.guard.severity.insert(category.clone(), Severity::Warning);
            }
            other => cx.err(
                value.span().start,
                &field,
                format!("unknown severity `{other}` (error or warning)"),
            ),
        }
    }
    for v in &raw.auto_send_from {
        match v.get_ref().as_str() {
            "template" | "templates" => s.auto_send_from.push(DraftOrigin::Template),
            "library" => s.auto_send_from.push(DraftOrigin::Library),
            "llm" => s.auto_send_from.push(DraftOrigin::Llm),
            other => cx.err(
                v.span().start,
                "settings.auto_send_from",
                format!("unknown draft origin `{other}` (template, library or llm)"),
            ),
        }
    }
    for (i, g) in raw.guard.iter().enumerate() {
        let Some(pattern) = &g.pattern else { continue };
        let field = format!("settings.guard[{i}].pattern");
        if !g.phrases.is_empty() {
            cx.err(
                pattern.span().start,
                &field,
                "write either `phrases` or a regex `pattern`, not both",
            );
            continue;
        }
        let error = g.severity.as_ref().is_some_and(|s| s.get_ref() == "error");
        match regex(pattern.get_ref()) {
            Ok(regex) => s.guard.regexes.push(ExtraGuard {
                message: g.message.clone().unwrap_or_else(|| {
                    format!("подходит под проверку магазина «{}»", g.category.get_ref())
                }),
                category: g.category.get_ref().clone(),
                error,
                pattern: regex,
            }),
            Err(e) => cx.err(pattern.span().start, &field, e),
        }
    }
    let phrased: Vec<RawGuard> = raw
        .guard
        .into_iter()
        .filter(|g| g.pattern.is_none() || !g.phrases.is_empty())
        .collect();
    if !phrased.is_empty() {
        match GuardRules::compile(
            cx.file,
            cx.text,
            "settings.guard",
            &phrased,
            Severity::Warning,
        ) {
            Ok(rules) => s.guard.phrases = Arc::new(rules),
            Err(d) => cx.out.0.extend(d.0),
        }
    }
    s
}
