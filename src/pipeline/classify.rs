//! Classifying a buyer turn: keyword rules from the prompt set's
//! `intents.toml`, optionally an LLM answering in JSON, and the built-in risk
//! detectors on top of either.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex, Weak};

use crate::textre::WordRegex;
use serde::Deserialize;

use super::risk;
use crate::diag::{self, Diagnostic, Diagnostics};
use crate::domain::{Classification, ClassifierSource, Flag, Intent};

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
    intents: Vec<(Intent, Vec<Pattern>)>,
    flags: Vec<(Flag, Vec<Pattern>)>,
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

fn compile(
    file: &Path,
    text: &str,
    list: &PatternList,
    out: &mut Diagnostics,
    field: &str,
) -> Vec<Pattern> {
    let mut patterns = Vec::new();
    for p in &list.patterns {
        match WordRegex::new(p.get_ref(), true) {
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
        let mut classifier = Rules::default();
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
        out.into_result(classifier)
    }

    pub fn classify(&self, text: &str) -> Classification {
        let mut scores: Vec<(Intent, usize, Vec<&str>)> = Vec::new();
        for (intent, patterns) in &self.rules.intents {
            let hits: Vec<&str> = patterns
                .iter()
                .filter(|p| p.regex.is_match(text))
                .map(|p| p.source.as_str())
                .collect();
            if !hits.is_empty() {
                scores.push((*intent, hits.len(), hits));
            }
        }
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
                reasons.push(format!(
                    "{} — совпало: {}",
                    intent,
                    hits.iter()
                        .map(|h| format!("/{h}/"))
                        .collect::<Vec<_>>()
                        .join(", ")
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
        };
        self.add_risk_flags(text, &mut classification);
        classification
    }

    /// Built-in risk flags plus the prompt set's extra patterns.
    pub fn add_risk_flags(&self, text: &str, c: &mut Classification) {
        for flag in risk::detect(text) {
            c.add_flag(flag);
        }
        for (flag, patterns) in &self.rules.flags {
            if let Some(p) = patterns.iter().find(|p| p.regex.is_match(text)) {
                if !c.has(*flag) {
                    c.reasons.push(format!("{flag} — совпало: /{}/", p.source));
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
