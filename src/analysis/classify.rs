//! Classifying a buyer turn: keyword rules from the prompt set's
//! `intents.toml`, optionally an LLM answering in JSON, and the built-in risk
//! detectors on top of either.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex, Weak};

use crate::textre::WordRegex;
use serde::Deserialize;

use super::model::{Example, IntentModel};
use super::risk;
use crate::diag::{self, Diagnostic, Diagnostics};
use crate::domain::{Classification, ClassifierSource, Flag, Intent};
use crate::text::{Normalised, normalise};

/// When several intents match, the first in this list wins a tie. Greeting and
/// thanks only win when nothing more specific matched.
const PRECEDENCE: [Intent; 13] = [
    Intent::Abusive,
    Intent::HumanRequest,
    Intent::WrongItem,
    Intent::DefectNotWorking,
    Intent::QualityComplaint,
    Intent::RefundExchange,
    Intent::DeliveryStatus,
    Intent::SizingFit,
    Intent::Compatibility,
    Intent::Availability,
    Intent::PrePurchase,
    Intent::Thanks,
    Intent::Greeting,
];

fn is_courtesy(i: Intent) -> bool {
    matches!(i, Intent::Thanks | Intent::Greeting)
}

#[derive(Debug, Clone)]
struct Pattern {
    source: String,
    regex: WordRegex,
}

/// The compiled rules of one `intents.toml`. Shops whose files read the same
/// share one copy: compiled case-insensitive Unicode patterns and their
/// matching caches take megabytes per copy.
#[derive(Debug, Clone, Default)]
pub struct RuleClassifier {
    rules: Arc<Rules>,
}

#[derive(Debug, Default)]
struct Rules {
    /// Each intent's patterns.
    intents: Vec<(Intent, Vec<Pattern>)>,
    /// All intents' patterns in one set, in the order of `intents`: one pass
    /// over a text names the few patterns that may match it. `None` if the
    /// set would not compile (then each pattern runs on its own).
    screen: Option<regex::RegexSet>,
    flags: Vec<(Flag, Vec<Pattern>)>,
    /// Identifies the file the rules came from (for caches keyed by it).
    digest: u64,
}

/// Compiled rules by the text they were compiled from, while any shop uses them.
static SHARED: LazyLock<Mutex<HashMap<String, Weak<Rules>>>> = LazyLock::new(Default::default);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IntentsFile {
    #[serde(default)]
    intent: BTreeMap<String, PatternList>,
    #[serde(default)]
    flag: BTreeMap<String, PatternList>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternList {
    patterns: Vec<toml::Spanned<String>>,
}

/// A pattern's letters in lower case, escapes (`\\W`, `\\S`, `\\B`) and
/// named classes (`\\p{Lu}`) left alone.
fn lowercase_pattern(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.push(c);
            if let Some(next) = chars.next() {
                out.push(next);
                if matches!(next, 'p' | 'P') {
                    // \pL or \p{…}: copied as written.
                    if let Some(open) = chars.next() {
                        out.push(open);
                        if open == '{' {
                            for c in chars.by_ref() {
                                out.push(c);
                                if c == '}' {
                                    break;
                                }
                            }
                        }
                    }
                }
            }
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

fn compile(
    file: &Path,
    text: &str,
    list: &PatternList,
    out: &mut Diagnostics,
    field: &str,
) -> Vec<Pattern> {
    let mut patterns = Vec::new();
    for p in &list.patterns {
        // Text is matched in its normalised form: lower case, "ё" is "е".
        // Matching case-sensitively against it keeps the automaton small.
        let folded = lowercase_pattern(&p.get_ref().replace('ё', "е").replace('Ё', "Е"));
        match WordRegex::new(&folded, false) {
            Ok(regex) => patterns.push(Pattern {
                source: p.get_ref().clone(),
                regex,
            }),
            Err(e) => out.push(
                Diagnostic::new(file, format!("not a valid regular expression: {e}"))
                    .at_line(Some(diag::line_of(text, p.span().start)))
                    .field(field.to_string()),
            ),
        }
    }
    patterns
}

impl RuleClassifier {
    pub fn parse(file: &Path, text: &str) -> Result<RuleClassifier, Diagnostics> {
        let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(rules) = shared.get(text).and_then(Weak::upgrade) {
            return Ok(RuleClassifier { rules });
        }
        let rules = Arc::new(Self::compile_rules(file, text)?);
        shared.retain(|_, w| w.strong_count() > 0);
        shared.insert(text.to_string(), Arc::downgrade(&rules));
        Ok(RuleClassifier { rules })
    }

    fn compile_rules(file: &Path, text: &str) -> Result<Rules, Diagnostics> {
        let raw: IntentsFile =
            toml::from_str(text).map_err(|e| diag::from_toml_error(file, text, &e))?;
        let mut out = Diagnostics::default();
        let mut classifier = Rules {
            digest: digest(&[text]),
            ..Rules::default()
        };
        for (name, list) in &raw.intent {
            let field = format!("intent.{name}.patterns");
            match name.parse::<Intent>() {
                Ok(intent) => {
                    let patterns = compile(file, text, list, &mut out, &field);
                    classifier.intents.push((intent, patterns));
                }
                Err(e) => out.push(
                    Diagnostic::new(file, e)
                        .at_line(diag::locate_key(text, &["intent", name]))
                        .field(format!("intent.{name}")),
                ),
            }
        }
        for (name, list) in &raw.flag {
            let field = format!("flag.{name}.patterns");
            match name.parse::<Flag>() {
                Ok(flag) => {
                    let patterns = compile(file, text, list, &mut out, &field);
                    classifier.flags.push((flag, patterns));
                }
                Err(e) => out.push(
                    Diagnostic::new(file, e)
                        .at_line(diag::locate_key(text, &["flag", name]))
                        .field(format!("flag.{name}")),
                ),
            }
        }
        let all: Vec<&WordRegex> = classifier
            .intents
            .iter()
            .flat_map(|(_, ps)| ps.iter().map(|p| &p.regex))
            .collect();
        classifier.screen = WordRegex::screen_set(&all);
        out.into_result(classifier)
    }

    /// Each intent whose patterns match the (normalised) text, with the patterns that did.
    fn matches(&self, clean: &str) -> Vec<(Intent, usize, Vec<&str>)> {
        self.matches_screened(clean, self.rules.screen.as_ref())
    }

    /// [`RuleClassifier::matches`] with the one-pass screen, or without it
    /// (each pattern then runs on its own, as when the set does not compile).
    fn matches_screened(
        &self,
        clean: &str,
        screen: Option<&regex::RegexSet>,
    ) -> Vec<(Intent, usize, Vec<&str>)> {
        let mut scores: Vec<(Intent, usize, Vec<&str>)> = Vec::new();
        let may = screen.map(|s| s.matches(clean));
        if may.as_ref().is_some_and(|m| !m.matched_any()) {
            return scores;
        }
        let mut from = 0;
        for (intent, patterns) in &self.rules.intents {
            let hits: Vec<&str> = patterns
                .iter()
                .enumerate()
                .filter(|(i, p)| match &may {
                    Some(m) => m.matched(from + i) && p.regex.is_match_screened(clean),
                    None => p.regex.is_match(clean),
                })
                .map(|(_, p)| p.source.as_str())
                .collect();
            from += patterns.len();
            if !hits.is_empty() {
                scores.push((*intent, hits.len(), hits));
            }
        }
        scores
    }

    /// The intent the keyword rules point to, if any: the most specific one
    /// by [`PRECEDENCE`] among those with the most matching patterns.
    pub fn best(&self, clean: &str) -> Option<Intent> {
        let scores = self.matches(clean);
        let rank = |i: Intent| {
            PRECEDENCE
                .iter()
                .position(|p| *p == i)
                .unwrap_or(PRECEDENCE.len())
        };
        let substantive: Vec<&(Intent, usize, Vec<&str>)> =
            scores.iter().filter(|(i, _, _)| !is_courtesy(*i)).collect();
        substantive
            .iter()
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| rank(b.0).cmp(&rank(a.0))))
            .copied()
            .or_else(|| scores.iter().min_by_key(|(i, _, _)| rank(*i)))
            .map(|(i, _, _)| *i)
    }

    fn pattern(&self, intent: Intent, source: &str) -> Option<&Pattern> {
        self.rules
            .intents
            .iter()
            .filter(|(i, _)| *i == intent)
            .flat_map(|(_, ps)| ps)
            .find(|p| p.source == source)
    }

    pub fn digest(&self) -> u64 {
        self.rules.digest
    }

    pub fn classify(&self, text: &str) -> Classification {
        if let Some(c) = as_meant(self, text, |meant| self.classify(meant)) {
            return c;
        }
        let n = normalise(text);
        let scores = self.matches(&n.clean);
        let rank = |i: Intent| {
            PRECEDENCE
                .iter()
                .position(|p| *p == i)
                .unwrap_or(PRECEDENCE.len())
        };
        let substantive: Vec<&(Intent, usize, Vec<&str>)> =
            scores.iter().filter(|(i, _, _)| !is_courtesy(*i)).collect();
        let winner = substantive
            .iter()
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| rank(b.0).cmp(&rank(a.0))))
            .copied()
            .or_else(|| scores.iter().min_by_key(|(i, _, _)| rank(*i)));
        let mut reasons = Vec::new();
        let (intent, confidence) = match winner {
            None => {
                reasons.push("ни одно ключевое слово не подошло".to_string());
                (Intent::Other, 0.3)
            }
            Some((intent, score, hits)) => {
                let words: Vec<String> = hits
                    .iter()
                    .filter_map(|h| {
                        self.pattern(*intent, h)
                            .and_then(|p| p.regex.find(&n.clean))
                            .map(|m| format!("«{}»", m.as_str()))
                    })
                    .collect();
                reasons.push(format!(
                    "{}: ключевые слова {}",
                    intent.describe_ru(),
                    words.join(", ")
                ));
                let confidence = if is_courtesy(*intent) {
                    let asks = text.contains('?') || text.chars().count() > 200;
                    match (intent, asks) {
                        (_, true) => 0.55,
                        (Intent::Thanks, false) => 0.9,
                        _ => 0.75,
                    }
                } else {
                    let base: f64 = 0.6 + 0.1 * (*score as f64 - 1.0);
                    let rivals: Vec<_> =
                        substantive.iter().filter(|(i, _, _)| i != intent).collect();
                    if rivals.is_empty() {
                        base.min(0.92)
                    } else {
                        let names: Vec<String> =
                            rivals.iter().map(|(i, _, _)| i.to_string()).collect();
                        reasons.push(format!("похоже также на: {}", names.join(", ")));
                        let tied = rivals.iter().any(|(_, s, _)| s == score);
                        if tied {
                            (base * 0.75).min(0.7)
                        } else {
                            (base * 0.9).min(0.85)
                        }
                    }
                };
                (*intent, confidence)
            }
        };
        let mut classification = Classification {
            intent,
            confidence,
            reasons,
            flags: Vec::new(),
            source: ClassifierSource::Rules,
            top: Vec::new(),
            evidence: Vec::new(),
        };
        self.add_risk_flags(text, &n, &mut classification);
        classification
    }

    /// Built-in risk flags plus the prompt set's extra patterns.
    pub fn add_risk_flags(&self, text: &str, n: &Normalised, c: &mut Classification) {
        for (flag, why) in risk::detect(text, n) {
            if !c.has(flag) {
                c.reasons.push(why);
            }
            c.add_flag(flag);
        }
        for (flag, patterns) in &self.rules.flags {
            if let Some(m) = patterns.iter().find_map(|p| p.regex.find(&n.clean)) {
                if !c.has(*flag) {
                    c.reasons.push(format!(
                        "{}: слова магазина «{}»",
                        flag.describe_ru(),
                        m.as_str()
                    ));
                }
                c.add_flag(*flag);
            }
        }
        if c.has(Flag::Profanity) && c.intent != Intent::Abusive {
            c.reasons.push("брань: тема считается грубостью".into());
            c.intent = Intent::Abusive;
        }
    }
}

/// Russian typed in the Latin keyboard layout ("ghbdtn"), classified as
/// read back ("привет") by `classify`, the reading said first; the risk and
/// injection detectors also read the text as typed. `None` for any other text.
fn as_meant(
    rules: &RuleClassifier,
    text: &str,
    classify: impl FnOnce(&str) -> Classification,
) -> Option<Classification> {
    let meant = crate::text::layout::read_back(text)?;
    let mut c = classify(&meant);
    let shown: String = meant.chars().take(80).collect();
    let more = if meant.chars().count() > 80 {
        "…"
    } else {
        ""
    };
    c.reasons.insert(
        0,
        format!("набрано в английской раскладке, прочитано как «{shown}{more}»"),
    );
    rules.add_risk_flags(text, &normalise(text), &mut c);
    Some(c)
}

/// A hash of some texts (FNV-1a), for caches keyed by file contents.
pub fn digest(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
    }
    h
}

/// A buyer message labelled with its intent: the intent model's examples.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    pub text: String,
    pub intent: Intent,
    /// A seller's correction counts more than a shipped example.
    pub weight: f32,
    /// A person corrected a real turn to this intent: the same words are
    /// given that intent outright from then on.
    pub correction: bool,
}

/// An intent that always needs a person (an insult, a request for a human)
/// wins when the model gives it at least this probability: a wrongly escalated
/// message costs a person a glance, a missed one costs a buyer. Chosen with
/// `agentiq eval intents --split dev` over six authors, each held out in turn:
/// 0.2 / 0.15 / 0.12 / 0.1 gave escalation recall 97.2 / 97.8 / 98.3 / 98.5 %
/// (weakest author 95.0 / 95.0 / 95.8 / 95.8 %) at accuracy 92.3 / 92.1 / 92.1 /
/// 91.8 %.
const ESCALATION_THRESHOLD: f64 = 0.12;

/// The intent model trained on a prompt set's examples, and how precise the
/// keyword rules were on those examples (what a rule's override is worth).
#[derive(Debug)]
pub struct Trained {
    pub model: IntentModel,
    /// Per intent (order of [`Intent::ALL`]): the share of examples a rule
    /// for it matched that really were that intent, if it matched enough.
    rule_precision: Vec<Option<f64>>,
    /// Words of turns people corrected → the intent they chose.
    remembered: HashMap<String, Intent>,
}

/// Trained models by what they were trained from, while any shop uses them.
static TRAINED: LazyLock<Mutex<HashMap<u64, Weak<Trained>>>> = LazyLock::new(Default::default);

/// Train (or reuse) the model for `examples` with `rules` as overrides.
pub fn train(rules: &RuleClassifier, examples: &[Labelled]) -> Arc<Trained> {
    let mut key_parts: Vec<String> = vec![rules.digest().to_string()];
    key_parts.extend(
        examples
            .iter()
            .map(|e| format!("{}\u{1}{}\u{1}{}", e.text, e.intent, e.weight)),
    );
    let key = digest(&key_parts.iter().map(String::as_str).collect::<Vec<_>>());
    let mut cache = TRAINED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(t) = cache.get(&key).and_then(Weak::upgrade) {
        return t;
    }
    let normalised: Vec<Example> = examples
        .iter()
        .map(|e| Example {
            text: normalise(&e.text),
            intent: e.intent,
            weight: e.weight,
        })
        .collect();
    let model = IntentModel::train(&normalised);
    let mut hits = vec![(0usize, 0usize); Intent::ALL.len()];
    for e in &normalised {
        if let Some(i) = rules.best(&e.text.clean) {
            let k = Intent::ALL.iter().position(|x| *x == i).unwrap_or(0);
            hits[k].0 += 1;
            hits[k].1 += usize::from(i == e.intent);
        }
    }
    let rule_precision = hits
        .iter()
        .map(|(n, ok)| (*n >= 5).then(|| (*ok as f64 + 1.0) / (*n as f64 + 2.0)))
        .collect();
    // Later corrections of the same words win.
    let remembered = examples
        .iter()
        .zip(&normalised)
        .filter(|(e, _)| e.correction)
        .map(|(e, n)| (n.text.words.clone(), e.intent))
        .collect();
    let trained = Arc::new(Trained {
        model,
        rule_precision,
        remembered,
    });
    cache.retain(|_, w| w.strong_count() > 0);
    cache.insert(key, Arc::downgrade(&trained));
    trained
}

/// Read `intents.examples.jsonl`: one `{"text": …, "intent": …}` per line.
pub fn parse_examples(file: &Path, text: &str) -> Result<Vec<Labelled>, Diagnostics> {
    #[derive(Deserialize)]
    struct Line {
        text: String,
        intent: String,
        #[serde(default)]
        weight: Option<f32>,
    }
    let mut out = Diagnostics::default();
    let mut examples = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
            continue;
        }
        match serde_json::from_str::<Line>(line) {
            Ok(l) => match l.intent.parse::<Intent>() {
                Ok(intent) if !l.text.trim().is_empty() => examples.push(Labelled {
                    text: l.text,
                    intent,
                    weight: l.weight.unwrap_or(1.0).clamp(0.1, 10.0),
                    correction: false,
                }),
                Ok(_) => out.push(
                    Diagnostic::new(file, "the example's text is empty")
                        .at_line(Some(i + 1))
                        .field("text"),
                ),
                Err(e) => out.push(
                    Diagnostic::new(file, e)
                        .at_line(Some(i + 1))
                        .field("intent"),
                ),
            },
            Err(e) => out.push(
                Diagnostic::new(
                    file,
                    format!("expected {{\"text\": \"…\", \"intent\": \"…\"}}: {e}"),
                )
                .at_line(Some(i + 1)),
            ),
        }
    }
    out.into_result(examples)
}

impl Trained {
    /// Classify with the model, the keyword rules as overrides, and the
    /// escalation intents favoured when in doubt.
    pub fn classify(&self, rules: &RuleClassifier, text: &str) -> Classification {
        if let Some(c) = as_meant(rules, text, |meant| self.classify(rules, meant)) {
            return c;
        }
        let n = normalise(text);
        let prediction = self.model.predict(&n);
        let ranked = prediction.ranked();
        let (mut intent, mut confidence) = ranked[0];
        let mut reasons = Vec::new();
        let words = |i: Intent| -> Vec<String> {
            self.model
                .strongest_words(&n, i, 3)
                .iter()
                .map(|k| format!("«{}»", n.excerpt(text, *k, *k)))
                .collect()
        };
        let evidence = words(intent);
        if evidence.is_empty() {
            reasons.push(format!(
                "{} ({:.0} %): явных слов-признаков нет",
                intent.describe_ru(),
                confidence * 100.0
            ));
        } else {
            reasons.push(format!(
                "{} ({:.0} %): на это указывают слова {}",
                intent.describe_ru(),
                confidence * 100.0,
                evidence.join(", ")
            ));
        }
        if let Some((second, p)) = ranked.get(1)
            && *p >= 0.05
        {
            reasons.push(format!(
                "второй вариант: {} ({:.0} %)",
                second.describe_ru(),
                p * 100.0
            ));
        }
        let by_rules = rules.best(&n.clean);
        if let Some(rule) = by_rules
            && rule != intent
        {
            let k = Intent::ALL.iter().position(|x| *x == rule).unwrap_or(0);
            let precision = self.rule_precision[k].unwrap_or(0.0);
            let p = prediction.probability(rule);
            // Escalation first: a keyword rule that asks for a person or
            // names abuse, and has held on the examples, escalates the turn
            // however sure the model is of something else.
            let escalates = rule.always_needs_human() && precision >= 0.8;
            if precision > confidence || p >= 0.1 || escalates {
                reasons.push(format!(
                    "ключевые слова магазина указывают на тему «{}» — она и выбрана",
                    rule.describe_ru()
                ));
                intent = rule;
                confidence = p.max(precision.min(0.95));
            }
        } else if let Some(rule) = by_rules {
            let k = Intent::ALL.iter().position(|x| *x == rule).unwrap_or(0);
            if let Some(precision) = self.rule_precision[k] {
                confidence = confidence.max(precision.min(0.97));
            }
        }
        if !intent.always_needs_human() {
            for esc in [Intent::Abusive, Intent::HumanRequest] {
                let p = prediction.probability(esc);
                if p >= ESCALATION_THRESHOLD {
                    reasons.push(format!(
                        "возможно, это {} ({:.0} %): при сомнении зовём человека",
                        esc.describe_ru(),
                        p * 100.0
                    ));
                    intent = esc;
                    confidence = p;
                    break;
                }
            }
        }
        if let Some(corrected) = self.remembered.get(&n.words) {
            reasons.push(format!(
                "эти же слова сотрудник магазина уже отнёс к теме «{}»",
                corrected.describe_ru()
            ));
            intent = *corrected;
            confidence = confidence.max(0.99);
        }
        let mut c = Classification {
            intent,
            confidence,
            reasons,
            flags: Vec::new(),
            source: ClassifierSource::Model,
            top: ranked.iter().take(2).map(|(i, p)| (*i, *p)).collect(),
            evidence: evidence
                .iter()
                .map(|w| w.trim_matches(['«', '»']).to_string())
                .collect(),
        };
        rules.add_risk_flags(text, &n, &mut c);
        c
    }
}

/// What an LLM classifier must answer.
#[derive(Debug, Deserialize)]
pub struct LlmVerdict {
    pub intent: String,
    pub confidence: f64,
    #[serde(default)]
    pub reasons: Vec<String>,
}

/// JSON schema for the LLM classifier's answer.
pub fn verdict_schema() -> serde_json::Value {
    let intents: Vec<&str> = Intent::ALL.iter().map(|i| i.as_str()).collect();
    serde_json::json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["intent", "confidence", "reasons"],
        "properties": {
            "intent": { "type": "string", "enum": intents },
            "confidence": { "type": "number", "minimum": 0, "maximum": 1 },
            "reasons": { "type": "array", "items": { "type": "string" }, "maxItems": 5 }
        }
    })
}

/// Read an LLM's classification; anything off-schema is an error.
pub fn parse_verdict(raw: &str) -> Result<(Intent, f64, Vec<String>), String> {
    let trimmed = raw.trim();
    let json = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|s| s.strip_suffix("```"))
        .unwrap_or(trimmed)
        .trim();
    let verdict: LlmVerdict =
        serde_json::from_str(json).map_err(|e| format!("not the expected JSON: {e}"))?;
    let intent: Intent = verdict.intent.parse()?;
    if !(0.0..=1.0).contains(&verdict.confidence) || verdict.confidence.is_nan() {
        return Err(format!("confidence {} is outside 0..1", verdict.confidence));
    }
    Ok((
        intent,
        verdict.confidence,
        verdict.reasons.into_iter().take(5).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classifier() -> RuleClassifier {
        let text = r#"
[intent.thanks]
patterns = ['спасиб', 'благодар']
[intent.greeting]
patterns = ['^\s*(здравствуйте|добрый день)[\s!.]*$']
[intent.delivery_status]
patterns = ['когда\s+(привез|доставят|придет|придёт)', 'где\s+(мой\s+)?заказ']
[intent.wrong_item]
patterns = ['не\s+тот', 'пришл\w*\s+друг']
[flag.negative_sentiment]
patterns = ['печаль']
"#;
        RuleClassifier::parse(Path::new("intents.toml"), text).unwrap()
    }

    #[test]
    fn russian_typed_in_the_latin_layout_is_classified_as_meant() {
        let c = classifier().classify("ult vjq pfrfp");
        assert_eq!(c.intent, Intent::DeliveryStatus, "{:?}", c.reasons);
        assert!(c.reasons[0].contains("«где мой заказ»"), "{:?}", c.reasons);
        assert_eq!(classifier().classify("cgfcb,j!").intent, Intent::Thanks);
        // English stays as typed.
        let c = classifier().classify("where is my order");
        assert!(
            !c.reasons.iter().any(|r| r.contains("раскладке")),
            "{:?}",
            c.reasons
        );
    }

    #[test]
    fn the_one_pass_screen_finds_what_each_pattern_finds_on_its_own() {
        let rules = RuleClassifier::parse(
            Path::new("intents.toml"),
            include_str!("../../prompts/default/intents.toml"),
        )
        .unwrap();
        assert!(
            rules.rules.screen.is_some(),
            "the shipped rules compile into one set"
        );
        let examples = include_str!("../../prompts/default/intents.examples.jsonl");
        let mut matched = 0;
        for line in examples.lines() {
            let text: serde_json::Value = serde_json::from_str(line).unwrap();
            let clean = normalise(text["text"].as_str().unwrap()).clean;
            let screened = rules.matches(&clean);
            assert_eq!(screened, rules.matches_screened(&clean, None), "{clean}");
            matched += usize::from(!screened.is_empty());
        }
        assert!(matched > 1000, "the rules matched only {matched} examples");
    }

    #[test]
    fn shops_with_the_same_rules_share_one_compiled_copy() {
        let (a, b) = (classifier(), classifier());
        assert!(Arc::ptr_eq(&a.rules, &b.rules));
        let other = RuleClassifier::parse(
            Path::new("intents.toml"),
            "[intent.thanks]\npatterns = ['мерси']",
        )
        .unwrap();
        assert!(!Arc::ptr_eq(&a.rules, &other.rules));
        assert_eq!(other.classify("мерси").intent, Intent::Thanks);
    }

    #[test]
    fn a_question_beats_a_courtesy() {
        let c = classifier().classify("Спасибо! А когда привезут заказ?");
        assert_eq!(c.intent, Intent::DeliveryStatus);
        assert!(c.confidence >= 0.6, "{c:?}");
    }

    #[test]
    fn plain_thanks_is_confident() {
        let c = classifier().classify("Спасибо большое, всё пришло!");
        assert_eq!(c.intent, Intent::Thanks);
        assert!(c.confidence >= 0.85);
    }

    #[test]
    fn nothing_matched_is_other_with_low_confidence() {
        let c = classifier().classify("Есть ли у вас оптовые цены");
        assert_eq!(c.intent, Intent::Other);
        assert!(c.confidence < 0.5);
    }

    #[test]
    fn ambiguity_lowers_confidence() {
        let clear = classifier().classify("Пришёл не тот цвет");
        let mixed = classifier().classify("Пришёл не тот цвет, где мой заказ с правильным?");
        assert!(
            mixed.confidence < clear.confidence,
            "{mixed:?} vs {clear:?}"
        );
    }

    #[test]
    fn profanity_makes_a_turn_abusive() {
        let c = classifier().classify("Где мой заказ, идиоты");
        assert_eq!(c.intent, Intent::Abusive);
        assert!(c.has(Flag::Profanity));
    }

    #[test]
    fn insults_from_neighbouring_languages_make_a_turn_abusive() {
        for text in [
            "Спасибо огромное, ишаки, третий раз не то прислали",
            "ақымақтар, где посылка",
        ] {
            assert_eq!(
                classifier().classify(text).intent,
                Intent::Abusive,
                "{text}"
            );
        }
    }

    #[test]
    fn prompt_sets_add_flag_patterns() {
        let c = classifier().classify("Какая печаль");
        assert!(c.has(Flag::NegativeSentiment));
    }

    #[test]
    fn a_broken_pattern_names_its_line() {
        let err = RuleClassifier::parse(
            Path::new("i.toml"),
            "[intent.thanks]\npatterns = [\n 'ok',\n '(unclosed',\n]\n",
        )
        .unwrap_err();
        assert_eq!(err.0[0].line, Some(4), "{err}");
        let err = RuleClassifier::parse(Path::new("i.toml"), "[intent.thank_you]\npatterns = []\n")
            .unwrap_err();
        assert_eq!(err.0[0].line, Some(1), "{err}");
        assert!(err.to_string().contains("unknown intent"), "{err}");
    }

    #[test]
    fn llm_verdicts_are_validated() {
        assert_eq!(
            parse_verdict(r#"{"intent":"thanks","confidence":0.9,"reasons":["спасибо"]}"#)
                .unwrap()
                .0,
            Intent::Thanks
        );
        assert_eq!(
            parse_verdict("```json\n{\"intent\":\"other\",\"confidence\":0.2}\n```")
                .unwrap()
                .0,
            Intent::Other
        );
        assert!(parse_verdict(r#"{"intent":"refund","confidence":0.9}"#).is_err());
        assert!(parse_verdict(r#"{"intent":"thanks","confidence":7}"#).is_err());
        assert!(parse_verdict("Конечно! Это благодарность.").is_err());
    }
}
