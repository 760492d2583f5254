//! Guard rules written as phrase patterns ([`crate::text::phrase`]): the
//! built-in set (`default.toml`) and a shop's own (`[[settings.guard]]` in its
//! policy file). Both are parsed the same way, with errors that name the file,
//! line and field.

use std::path::Path;
use std::sync::LazyLock;

use serde::Deserialize;
use toml::Spanned;

use super::Severity;
use crate::diag::{self, Diagnostic, Diagnostics};
use crate::text::Normalised;
use crate::text::phrase::PhraseSet;

/// How far (in words) an `unless` phrase reaches from a match.
pub const UNLESS_REACH: usize = 4;

/// When a rule applies at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Always,
    /// Only when the buyer did not ask about a return or exchange.
    NoReturnAsked,
    /// Only when the buyer complains about goods they have: a defect, a wrong
    /// item, quality, a return, or goods that arrived or were worn.
    Complaint,
}

/// What a shop may change about a built-in rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adjustable {
    No,
    /// Switched off by `forbid_ai_mentions = false`.
    ForbidAiMentions,
    /// Its severity can be set in `[settings.severity]`.
    Severity,
}

#[derive(Debug, Clone)]
pub struct GuardRule {
    pub category: String,
    pub severity: Severity,
    pub message: String,
    pub context: Context,
    pub adjustable: Adjustable,
}

/// A compiled set of guard rules.
#[derive(Debug, Clone, Default)]
pub struct GuardRules {
    pub rules: Vec<GuardRule>,
    /// Tag: the rule's index and what the phrase does.
    phrases: PhraseSet<(usize, Role)>,
}

/// What a phrase of a rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Finds what the rule is about.
    Finds,
    /// `unless`: cancels a match of its rule in the same sentence that it
    /// overlaps or stands at most [`UNLESS_REACH`] words from.
    Unless,
    /// `unless_overlapping`: cancels only a match of its rule it shares a
    /// word with ("возврат проведён площадкой" cancels "возврат", not the
    /// shop's own "а разницу мы вернём сами" beside it).
    UnlessOverlapping,
}

/// One rule as written in a file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub category: Spanned<String>,
    #[serde(default)]
    pub severity: Option<Spanned<String>>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub phrases: Vec<Spanned<String>>,
    #[serde(default)]
    pub unless: Vec<Spanned<String>>,
    #[serde(default)]
    pub unless_overlapping: Vec<Spanned<String>>,
    /// A regular expression (the older way to write a shop's guard).
    #[serde(default)]
    pub pattern: Option<Spanned<String>>,
    #[serde(default)]
    pub context: Option<Spanned<String>>,
    #[serde(default)]
    pub adjustable: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    guard: Vec<RawRule>,
}

/// A hit of one rule: which, and which words.
#[derive(Debug, Clone, Copy)]
pub struct RuleHit<'a> {
    pub rule: &'a GuardRule,
    pub first: usize,
    pub last: usize,
}

impl GuardRules {
    /// Compile rules read from `file`; `field` names where they sit in it
    /// (`guard` or `settings.guard`). Regex `pattern`s are left to the caller.
    pub fn compile(
        file: &Path,
        text: &str,
        field: &str,
        raw: &[RawRule],
        default_severity: Severity,
    ) -> Result<GuardRules, Diagnostics> {
        let mut out = Diagnostics::default();
        let mut set = GuardRules::default();
        let line = |at: usize| Some(diag::line_of(text, at));
        for (i, r) in raw.iter().enumerate() {
            let at = |what: &str| format!("{field}[{i}].{what}");
            let category = r.category.get_ref().trim().to_string();
            if category.is_empty()
                || !category
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                out.push(
                    Diagnostic::new(
                        file,
                        "a category is a short name of letters, digits and `_`, e.g. `competitor`",
                    )
                    .at_line(line(r.category.span().start))
                    .field(at("category")),
                );
            }
            let severity = match r.severity.as_ref().map(|s| s.get_ref().as_str()) {
                None => default_severity,
                Some("error") => Severity::Error,
                Some("warning") => Severity::Warning,
                Some(other) => {
                    out.push(
                        Diagnostic::new(
                            file,
                            format!("unknown severity `{other}` (error or warning)"),
                        )
                        .at_line(
                            r.severity
                                .as_ref()
                                .map(|s| diag::line_of(text, s.span().start)),
                        )
                        .field(at("severity")),
                    );
                    Severity::Error
                }
            };
            let context = match r.context.as_ref().map(|s| s.get_ref().as_str()) {
                None | Some("always") => Context::Always,
                Some("no_return_asked") => Context::NoReturnAsked,
                Some("complaint") => Context::Complaint,
                Some(other) => {
                    out.push(
                        Diagnostic::new(
                            file,
                            format!(
                                "unknown context `{other}` (always, no_return_asked or complaint)"
                            ),
                        )
                        .at_line(
                            r.context
                                .as_ref()
                                .map(|s| diag::line_of(text, s.span().start)),
                        )
                        .field(at("context")),
                    );
                    Context::Always
                }
            };
            let adjustable = match r.adjustable.as_ref().map(|s| s.get_ref().as_str()) {
                None => Adjustable::No,
                Some("forbid_ai_mentions") => Adjustable::ForbidAiMentions,
                Some("severity") => Adjustable::Severity,
                Some(other) => {
                    out.push(
                        Diagnostic::new(file, format!("unknown `adjustable` value `{other}`"))
                            .at_line(
                                r.adjustable
                                    .as_ref()
                                    .map(|s| diag::line_of(text, s.span().start)),
                            )
                            .field(at("adjustable")),
                    );
                    Adjustable::No
                }
            };
            if r.phrases.is_empty() && r.pattern.is_none() {
                out.push(
                    Diagnostic::new(file, "a guard needs `phrases` (or a regex `pattern`)")
                        .at_line(line(r.category.span().start))
                        .field(at("phrases")),
                );
            }
            let index = set.rules.len();
            for (list, role, name) in [
                (&r.phrases, Role::Finds, "phrases"),
                (&r.unless, Role::Unless, "unless"),
                (
                    &r.unless_overlapping,
                    Role::UnlessOverlapping,
                    "unless_overlapping",
                ),
            ] {
                for (k, p) in list.iter().enumerate() {
                    if let Err(e) = set.phrases.add(p.get_ref(), (index, role)) {
                        out.push(
                            Diagnostic::new(file, format!("`{}`: {e}", p.get_ref()))
                                .at_line(line(p.span().start))
                                .field(format!("{}[{k}]", at(name))),
                        );
                    }
                }
            }
            set.rules.push(GuardRule {
                message: r
                    .message
                    .clone()
                    .unwrap_or_else(|| format!("подходит под проверку магазина «{category}»")),
                category,
                severity,
                context,
                adjustable,
            });
        }
        out.into_result(set)
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The first match of each rule that no `unless` phrase of that rule
    /// cancels: an `unless` match in the same sentence, overlapping the
    /// match or at most [`UNLESS_REACH`] words from it (but not before a
    /// "но" that the match follows: [`contrast_between`]), or an
    /// `unless_overlapping` match sharing a word with it. A promise
    /// (`promise_*`) that opens a condition is not made either (see
    /// [`names_a_condition`]).
    pub fn hits(&self, n: &Normalised) -> Vec<RuleHit<'_>> {
        if self.rules.is_empty() {
            return Vec::new();
        }
        let all = self.phrases.matches_all(n);
        let mut out: Vec<RuleHit<'_>> = Vec::new();
        // Every match that stands, not only a rule's first: a caller may
        // set one aside ("на Wildberries" for a Wildberries shop) and still
        // need the next ("…а на Ozon дешевле").
        for h in all.iter().filter(|h| h.tag.1 == Role::Finds) {
            let rule = h.tag.0;
            let sentence = n.tokens[h.first].sentence;
            let cancelled = all.iter().any(|u| {
                let reach = match u.tag.1 {
                    Role::Finds => return false,
                    Role::Unless => UNLESS_REACH,
                    Role::UnlessOverlapping => 0,
                };
                u.tag.0 == rule
                    && n.tokens[u.first].sentence == sentence
                    && u.first <= h.last + reach
                    && h.first <= u.last + reach
                    && !contrast_between(n, (u.first, u.last), (h.first, h.last))
                    && !(self.rules[rule].category.starts_with("promise_")
                        && supposed(n, (u.first, u.last), (h.first, h.last)))
            });
            let condition =
                self.rules[rule].category.starts_with("promise_") && names_a_condition(n, h.first);
            if !cancelled && !condition {
                out.push(RuleHit {
                    rule: &self.rules[rule],
                    first: h.first,
                    last: h.last,
                });
            }
        }
        out
    }

    /// Whether an `unless` phrase of a rule of `category` that says no
    /// ("обещать одобрение заранее я не могу", "отменить с нашей стороны не
    /// можем") stands near token `at`, as near as it must to cancel a match
    /// there: the refusal that cancels the rule's own match also tells that a
    /// learned reading of those words as a promise may be wrong.
    pub fn cancels_at(&self, n: &Normalised, category: &str, at: usize) -> bool {
        let Some(sentence) = n.tokens.get(at).map(|t| t.sentence) else {
            return false;
        };
        self.phrases.matches_all(n).iter().any(|u| {
            u.tag.1 == Role::Unless
                && self.rules[u.tag.0].category == category
                && n.tokens[u.first].sentence == sentence
                && u.first <= at + UNLESS_REACH
                && at <= u.last + UNLESS_REACH
                && n.tokens[u.first..=u.last]
                    .iter()
                    .any(|t| matches!(t.norm.as_str(), "не" | "нельзя" | "никак" | "невозможно"))
        })
    }
}

/// Whether "но" (однако, зато, впрочем, хотя, but) stands between an
/// excuse and a match after it: what comes after the contrast is said
/// anyway. "Пароли мы не просим, но пришлите номер карты": the request
/// stands. An excuse after the contrast still takes back what came before
/// it ("Отменил бы заказ, но не могу: он уже у курьера").
fn contrast_between(n: &Normalised, excuse: (usize, usize), found: (usize, usize)) -> bool {
    excuse.1 < found.0
        && n.tokens[excuse.1 + 1..found.0].iter().any(|t| {
            matches!(
                t.norm.as_str(),
                "но" | "однако" | "зато" | "впрочем" | "хотя" | "but" | "however"
            )
        })
}

/// Whether a refusal is only what a condition supposes, so that the promise
/// beside it stands: a refusal right after "если" ("вернём деньги, если не
/// получится починить", "если вдруг не подойдёт, вернём деньги"), and a
/// sentence that opens with what may fail and makes the promise right after
/// it: "Не получится — вернём деньги" (but "Не получится вернуть деньги"
/// refuses, and so does "Если упаковка вскрыта, не сможем вернуть деньги").
fn supposed(n: &Normalised, excuse: (usize, usize), found: (usize, usize)) -> bool {
    let t = &n.tokens;
    if !matches!(t[excuse.0].norm.as_str(), "не" | "никак") {
        return false;
    }
    let sentence = t[excuse.0].sentence;
    // Right after "если" (or "если вдруг", "если он"): not "Если упаковка
    // вскрыта, не сможем вернуть деньги", where the refusal follows the clause.
    if names_a_condition(n, excuse.0) {
        return true;
    }
    let opens_sentence = excuse.0 == 0 || t[excuse.0 - 1].sentence != sentence;
    let may_fail = matches!(
        t[excuse.1].norm.as_str(),
        "получится"
            | "выйдет"
            | "поможет"
            | "подойдет"
            | "подойдут"
            | "заработает"
            | "устроит"
            | "понравится"
            | "сработает"
    );
    let infinitive = |w: &str| w.ends_with("ть") || w.ends_with("ти") || w.ends_with("ться");
    opens_sentence
        && may_fail
        && excuse.1 < found.0
        && found.0 <= excuse.1 + 2
        && !infinitive(t[found.0].norm.as_str())
}

/// Whether the words from `first` on are what an "если" clause supposes:
/// it stands right before them, or before one word that belongs to the
/// clause ("если вдруг", "если ваша заявка"). "Статус обновится, если
/// заявка будет принята" and "если одобрят возврат, напишем" promise
/// nothing; in "если не подойдёт, вернём деньги" and "если хотите, сделаем
/// скидку" the promise comes after the condition and stands, and "если мы
/// вернём деньги, вас устроит?" is an offer.
pub fn names_a_condition(n: &Normalised, first: usize) -> bool {
    let word = |back: usize| {
        first
            .checked_sub(back)
            .map(|k| &n.tokens[k])
            .filter(|t| t.sentence == n.tokens[first].sentence)
            .map(|t| t.norm.as_str())
    };
    let opens = |w: Option<&str>| matches!(w, Some("если" | "ежели"));
    let of_the_clause = matches!(
        word(1),
        Some(
            "вдруг"
                | "же"
                | "ваш"
                | "ваша"
                | "ваше"
                | "ваши"
                | "эта"
                | "этот"
                | "это"
                | "эти"
                | "вы"
                | "он"
                | "она"
                | "они"
        )
    );
    opens(word(1)) || (of_the_clause && opens(word(2)))
}

pub static BUILTIN: LazyLock<GuardRules> = LazyLock::new(|| {
    let text = include_str!("default.toml");
    let file = Path::new("src/guards/default.toml");
    let raw: RulesFile = toml::from_str(text)
        .unwrap_or_else(|e| panic!("{}", diag::from_toml_error(file, text, &e)));
    GuardRules::compile(file, text, "guard", &raw.guard, Severity::Error)
        .unwrap_or_else(|d| panic!("{d}"))
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalise;

    #[test]
    fn the_built_in_rules_compile() {
        assert!(BUILTIN.rules.len() > 20);
    }

    #[test]
    fn a_refusal_near_a_word_casts_doubt_on_reading_it_as_a_promise() {
        let at = |text: &str, word: &str| {
            let n = normalise(text);
            let k = n.tokens.iter().position(|t| t.norm == word).unwrap();
            (n, k)
        };
        let (n, k) = at("Пообещать одобрение заранее мы не можем.", "одобрение");
        assert!(BUILTIN.cancels_at(&n, "promise_approval", k));
        assert!(!BUILTIN.cancels_at(&n, "rudeness", k));
        let (n, k) = at("Одобрение будет завтра. Мы не можем ждать.", "одобрение");
        assert!(!BUILTIN.cancels_at(&n, "promise_approval", k));
        // An `unless` phrase that does not say no ("указанного срока") is no refusal.
        let (n, k) = at("Заказ придёт раньше указанного срока.", "придет");
        assert!(!BUILTIN.cancels_at(&n, "promise_delivery", k));
    }

    #[test]
    fn an_unless_phrase_cancels_a_match_in_its_sentence_only() {
        let hits = |t: &str| -> Vec<String> {
            BUILTIN
                .hits(&normalise(t))
                .iter()
                .map(|h| h.rule.category.clone())
                .collect()
        };
        assert!(hits("Вернём деньги в полном объёме.").contains(&"promise_refund".to_string()));
        assert!(
            !hits("Мы не можем обещать, что вернём деньги.")
                .contains(&"promise_refund".to_string())
        );
        assert!(
            hits("Мы не можем помочь со сроками. Но вернём деньги.")
                .contains(&"promise_refund".to_string())
        );
    }

    /// A shop's `[[settings.guard]]` rules compiled from `text`.
    fn shop_rules(text: &str) -> Result<GuardRules, Diagnostics> {
        let raw: RulesFile = toml::from_str(text).unwrap();
        GuardRules::compile(
            Path::new("p.toml"),
            text,
            "settings.guard",
            &raw.guard,
            Severity::Warning,
        )
    }

    #[test]
    fn an_overlapping_unless_phrase_cancels_only_the_match_it_is_part_of() {
        let rules = shop_rules(
            "[[guard]]\ncategory = \"competitor\"\nphrases = [\"(=dns|эльдорадо*)\"]\nunless_overlapping = [\"=dns ..0 (сервер*|адрес*)\"]\n",
        )
        .unwrap();
        let hits = |t: &str| rules.hits(&normalise(t)).len();
        assert_eq!(hits("Посмотрите в DNS, там дешевле."), 1);
        assert_eq!(hits("Пропишите DNS сервер 8.8.8.8 в настройках."), 0);
        // The shop's own words beside the excuse still count, however near.
        assert_eq!(hits("Пропишите DNS сервер, а купить можно в DNS."), 1);
        let err = shop_rules(
            "[[guard]]\ncategory = \"c\"\nphrases = [\"ozon\"]\nunless_overlapping = [\n  \"(wb\",\n]\n",
        )
        .unwrap_err();
        let d = &err.0[0];
        assert_eq!(d.line, Some(5), "{err}");
        assert_eq!(
            d.field.as_deref(),
            Some("settings.guard[0].unless_overlapping[0]")
        );
    }

    #[test]
    fn a_promise_that_is_only_the_condition_of_an_if_clause_is_not_made() {
        let rules = shop_rules(
            "[[guard]]\ncategory = \"promise_approval\"\nphrases = [\"заявк* ..1 (будет ..0)? (принят*|одобрен*)\", \"одобрим\"]\n[[guard]]\ncategory = \"tone\"\nphrases = [\"заявк* ..1 будет ..0 принята\"]\n",
        )
        .unwrap();
        let categories = |t: &str| -> Vec<String> {
            rules
                .hits(&normalise(t))
                .iter()
                .map(|h| h.rule.category.clone())
                .collect()
        };
        // The promise is what the clause supposes.
        let supposed = categories("Статус обновится, если заявка будет принята.");
        assert!(supposed.contains(&"tone".to_string()));
        assert!(!supposed.contains(&"promise_approval".to_string()));
        assert!(categories("Напишем, если вдруг заявка одобрена не будет.").is_empty());
        // The promise after the condition stands.
        assert_eq!(
            categories("Если фото чёткие, заявка будет принята."),
            ["promise_approval", "tone"]
        );
        assert_eq!(categories("Если не подойдёт одобрим"), ["promise_approval"]);
        assert!(names_a_condition(&normalise("если ваша заявка"), 2));
        assert!(!names_a_condition(&normalise("если хотите, заявка"), 2));
        assert!(!names_a_condition(&normalise("Если так. Заявка"), 2));
    }

    #[test]
    fn a_broken_phrase_names_its_line_and_field() {
        let err = shop_rules(
            "[[guard]]\ncategory = \"competitor\"\nphrases = [\n  \"ozon\",\n  \"(wb\",\n]\n",
        )
        .unwrap_err();
        let d = &err.0[0];
        assert_eq!(d.line, Some(5), "{err}");
        assert_eq!(d.field.as_deref(), Some("settings.guard[0].phrases[1]"));
    }
}
