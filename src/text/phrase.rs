//! Phrase patterns: how guards and detectors say what they look for, over
//! normalised words instead of surface strings.
//!
//! A pattern is a line of terms:
//!
//! | term | matches a word that… |
//! |---|---|
//! | `деньги` | has the same stem ("деньгами", "деньгах") |
//! | `верн*` | starts with it ("вернём", "вернуть", "вернут") |
//! | `=бот` | is exactly this, after normalisation |
//! | `(верн*\|возвра*\|=бот)` | is any of these |
//! | `#` | is a number |
//! | `!не` | (before a term) is not within the two words before the next term |
//!
//! Terms in a row must appear in that order, with at most two other words
//! between neighbours; `..N` between two terms allows up to `N` words instead
//! (`..0`: right next to each other). Terms joined with `+` may appear in any
//! order, within eight words of each other in one sentence:
//! `(верн*|возвра*) + (деньг*|средств*)` covers "вернём деньги",
//! "деньги будут возвращены" and "возврат средств".
//!
//! Every term of every pattern in a [`PhraseSet`] goes into one lexicon, so a
//! text is looked up once per word whatever the number of patterns.

use std::collections::HashMap;

use super::{Normalised, normalise, stem};

/// Default gap between the terms of a sequence.
const DEFAULT_GAP: u8 = 2;
/// How far apart the terms of a `+` pattern may be.
const BAG_WINDOW: usize = 8;
/// How far before a term a `!` term is looked for.
const NEGATION_REACH: usize = 2;

type TermId = u32;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Matcher {
    Stem(String),
    Exact(String),
    Prefix(String),
    Number,
}

#[derive(Debug, Clone)]
struct Step {
    term: TermId,
    /// Most words allowed between the previous step and this one.
    gap: u8,
    /// Words that must not come just before this step.
    not_after: Option<TermId>,
}

#[derive(Debug, Clone)]
enum Shape {
    Sequence(Vec<Step>),
    Bag(Vec<TermId>),
}

#[derive(Debug, Clone)]
struct Pattern<T> {
    shape: Shape,
    tag: T,
}

/// A match: which pattern, and which words (first..=last).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit<'a, T> {
    pub tag: &'a T,
    pub first: usize,
    pub last: usize,
}

/// Many phrase patterns, each carrying a tag (e.g. which guard it belongs to).
#[derive(Debug, Clone)]
pub struct PhraseSet<T> {
    terms: Vec<Vec<Matcher>>,
    exact: HashMap<String, Vec<TermId>>,
    stems: HashMap<String, Vec<TermId>>,
    prefixes: HashMap<String, Vec<TermId>>,
    /// The lengths (in characters) of the prefixes in `prefixes`.
    prefix_lengths: Vec<usize>,
    numbers: Vec<TermId>,
    patterns: Vec<Pattern<T>>,
}

impl<T> Default for PhraseSet<T> {
    fn default() -> Self {
        PhraseSet {
            terms: Vec::new(),
            exact: HashMap::new(),
            stems: HashMap::new(),
            prefixes: HashMap::new(),
            prefix_lengths: Vec::new(),
            numbers: Vec::new(),
            patterns: Vec::new(),
        }
    }
}

/// The normalised form of a pattern word: the same folding the text gets.
fn norm_word(w: &str) -> Result<String, String> {
    let n = normalise(w);
    match n.tokens.as_slice() {
        [t] => Ok(t.norm.clone()),
        _ => Err(format!(
            "`{w}` is not one word (use spaces between words and `+` or `..N` between terms)"
        )),
    }
}

fn parse_matcher(raw: &str) -> Result<Matcher, String> {
    if raw == "#" {
        return Ok(Matcher::Number);
    }
    if let Some(w) = raw.strip_prefix('=') {
        return Ok(Matcher::Exact(norm_word(w)?));
    }
    if let Some(p) = raw.strip_suffix('*') {
        let p = norm_word(p)?;
        if p.chars().count() < 2 {
            return Err(format!("`{raw}`: a prefix needs at least two letters"));
        }
        return Ok(Matcher::Prefix(p));
    }
    Ok(Matcher::Stem(stem(&norm_word(raw)?)))
}

fn parse_term(raw: &str) -> Result<Vec<Matcher>, String> {
    let inner = match (raw.strip_prefix('('), raw.strip_suffix(')')) {
        (Some(_), Some(_)) if raw.len() >= 2 => &raw[1..raw.len() - 1],
        (None, None) => raw,
        _ => return Err(format!("`{raw}`: unbalanced parentheses")),
    };
    if inner.is_empty() {
        return Err("an empty term".into());
    }
    inner.split('|').map(parse_matcher).collect()
}

impl<T> PhraseSet<T> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    fn intern(&mut self, matchers: Vec<Matcher>) -> TermId {
        if let Some(i) = self.terms.iter().position(|t| *t == matchers) {
            return i as TermId;
        }
        let id = self.terms.len() as TermId;
        for m in &matchers {
            match m {
                Matcher::Stem(s) => self.stems.entry(s.clone()).or_default().push(id),
                Matcher::Exact(s) => self.exact.entry(s.clone()).or_default().push(id),
                Matcher::Prefix(p) => {
                    let len = p.chars().count();
                    if !self.prefix_lengths.contains(&len) {
                        self.prefix_lengths.push(len);
                        self.prefix_lengths.sort_unstable();
                    }
                    self.prefixes.entry(p.clone()).or_default().push(id);
                }
                Matcher::Number => self.numbers.push(id),
            }
        }
        self.terms.push(matchers);
        id
    }

    /// Add a pattern (see the module documentation); the error says what is wrong with it.
    pub fn add(&mut self, pattern: &str, tag: T) -> Result<(), String> {
        let pattern = pattern.trim();
        if pattern.is_empty() {
            return Err("the pattern is empty".into());
        }
        let shape = if pattern.contains('+') {
            let mut terms = Vec::new();
            for part in pattern.split('+') {
                let part = part.trim();
                if part.is_empty() || part.contains(char::is_whitespace) {
                    return Err(format!(
                        "`{pattern}`: with `+` every part must be a single term, e.g. `(верн*|возвра*) + деньги`"
                    ));
                }
                let m = parse_term(part)?;
                terms.push(self.intern(m));
            }
            if terms.len() < 2 {
                return Err(format!("`{pattern}`: `+` needs a term on each side"));
            }
            Shape::Bag(terms)
        } else {
            let mut steps = Vec::new();
            let mut gap = None;
            let mut not_after = None;
            for part in pattern.split_whitespace() {
                if let Some(n) = part.strip_prefix("..") {
                    let n: u8 = n
                        .parse()
                        .map_err(|_| format!("`{part}`: a gap is `..` and a number, e.g. `..3`"))?;
                    if steps.is_empty() {
                        return Err(format!("`{part}`: a gap must come between two terms"));
                    }
                    gap = Some(n);
                    continue;
                }
                if let Some(neg) = part.strip_prefix('!') {
                    let m = parse_term(neg)?;
                    not_after = Some(self.intern(m));
                    continue;
                }
                let m = parse_term(part)?;
                let term = self.intern(m);
                steps.push(Step {
                    term,
                    gap: gap.take().unwrap_or(DEFAULT_GAP),
                    not_after: not_after.take(),
                });
            }
            if not_after.is_some() {
                return Err(format!("`{pattern}`: `!term` must come before a term"));
            }
            if gap.is_some() {
                return Err(format!("`{pattern}`: a gap must come between two terms"));
            }
            if steps.is_empty() {
                return Err(format!("`{pattern}`: no terms"));
            }
            Shape::Sequence(steps)
        };
        self.patterns.push(Pattern { shape, tag });
        Ok(())
    }

    /// For each word of `n`, the terms it matches (sorted).
    fn term_hits(&self, n: &Normalised) -> Vec<Vec<TermId>> {
        n.tokens
            .iter()
            .map(|t| {
                let mut ids: Vec<TermId> = Vec::new();
                if let Some(v) = self.exact.get(&t.norm) {
                    ids.extend(v);
                }
                if let Some(v) = self.stems.get(&t.stem) {
                    ids.extend(v);
                }
                if !self.prefixes.is_empty() {
                    let bounds: Vec<usize> = t.norm.char_indices().map(|(i, _)| i).skip(1).collect();
                    let chars = t.norm.chars().count();
                    for &len in &self.prefix_lengths {
                        if len > chars {
                            break;
                        }
                        let end = bounds.get(len - 1).copied().unwrap_or(t.norm.len());
                        if let Some(v) = self.prefixes.get(&t.norm[..end]) {
                            ids.extend(v);
                        }
                    }
                }
                if !self.numbers.is_empty() && t.is_number() {
                    ids.extend(&self.numbers);
                }
                ids.sort_unstable();
                ids.dedup();
                ids
            })
            .collect()
    }

    /// Every pattern that matches, once each (its first match).
    pub fn matches<'a>(&'a self, n: &Normalised) -> Vec<Hit<'a, T>> {
        if self.patterns.is_empty() || n.tokens.is_empty() {
            return Vec::new();
        }
        let hits = self.term_hits(n);
        let has = |pos: usize, term: TermId| hits[pos].binary_search(&term).is_ok();
        let mut out = Vec::new();
        for p in &self.patterns {
            let found = match &p.shape {
                Shape::Sequence(steps) => (0..hits.len()).find_map(|start| {
                    sequence_at(steps, start, n, &has).map(|last| (start, last))
                }),
                Shape::Bag(terms) => bag(terms, n, &has),
            };
            if let Some((first, last)) = found {
                out.push(Hit {
                    tag: &p.tag,
                    first,
                    last,
                });
            }
        }
        out
    }
}

fn negated(step: &Step, at: usize, has: &impl Fn(usize, TermId) -> bool) -> bool {
    step.not_after
        .is_some_and(|neg| (at.saturating_sub(NEGATION_REACH)..at).any(|p| has(p, neg)))
}

/// If `steps` match starting at word `start`, the last word of the match.
fn sequence_at(
    steps: &[Step],
    start: usize,
    n: &Normalised,
    has: &impl Fn(usize, TermId) -> bool,
) -> Option<usize> {
    let first = &steps[0];
    if !has(start, first.term) || negated(first, start, has) {
        return None;
    }
    let sentence = n.tokens[start].sentence;
    fn rest(
        steps: &[Step],
        prev: usize,
        sentence: u32,
        n: &Normalised,
        has: &impl Fn(usize, TermId) -> bool,
    ) -> Option<usize> {
        let Some(step) = steps.first() else {
            return Some(prev);
        };
        let last = (prev + 1 + step.gap as usize).min(n.tokens.len() - 1);
        for at in prev + 1..=last {
            if n.tokens[at].sentence != sentence {
                break;
            }
            if has(at, step.term)
                && !negated(step, at, has)
                && let Some(end) = rest(&steps[1..], at, sentence, n, has)
            {
                return Some(end);
            }
        }
        None
    }
    if start + 1 > n.tokens.len() {
        return None;
    }
    rest(&steps[1..], start, sentence, n, has)
}

/// All `terms` within one window of one sentence, in any order.
fn bag(
    terms: &[TermId],
    n: &Normalised,
    has: &impl Fn(usize, TermId) -> bool,
) -> Option<(usize, usize)> {
    for anchor in (0..n.tokens.len()).filter(|p| has(*p, terms[0])) {
        let sentence = n.tokens[anchor].sentence;
        let lo = anchor.saturating_sub(BAG_WINDOW);
        let hi = (anchor + BAG_WINDOW).min(n.tokens.len() - 1);
        let mut first = anchor;
        let mut last = anchor;
        let all = terms[1..].iter().all(|&t| {
            let found = (lo..=hi)
                .filter(|&p| p != anchor && n.tokens[p].sentence == sentence && has(p, t))
                .min_by_key(|&p| p.abs_diff(anchor));
            if let Some(p) = found {
                first = first.min(p);
                last = last.max(p);
                true
            } else {
                false
            }
        });
        if all {
            return Some((first, last));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(patterns: &[&str]) -> PhraseSet<usize> {
        let mut s = PhraseSet::new();
        for (i, p) in patterns.iter().enumerate() {
            s.add(p, i).unwrap();
        }
        s
    }

    fn hit(s: &PhraseSet<usize>, text: &str) -> Vec<usize> {
        s.matches(&normalise(text)).iter().map(|h| *h.tag).collect()
    }

    #[test]
    fn one_bag_covers_active_passive_and_noun_forms() {
        let s = set(&["(верн*|возвра*|возмест*) + (деньг*|средств*|стоимост*)"]);
        for text in [
            "Мы вернём вам деньги",
            "Деньги будут возвращены в течение трёх дней",
            "Гарантируем возврат средств",
            "ВОЗМЕСТИМ полную стоимость",
            "в е р н ё м деньги",
        ] {
            assert_eq!(hit(&s, text), vec![0], "{text}");
        }
        assert!(hit(&s, "Верните товар. Деньги не нужны").is_empty());
    }

    #[test]
    fn stems_match_word_forms_but_not_other_words() {
        let s = set(&["бот"]);
        for text in ["Я бот", "ответил ботом", "это боты"] {
            assert_eq!(hit(&s, text), vec![0], "{text}");
        }
        for text in ["работа", "суббота", "ботинки", "робот-пылесос"] {
            assert!(hit(&s, text).is_empty(), "{text}");
        }
    }

    #[test]
    fn sequences_keep_order_and_gaps() {
        let s = set(&["вы ..0 сами виноват*", "отмен* ..3 заказ"]);
        assert_eq!(hit(&s, "Вы сами виноваты"), vec![0]);
        assert!(hit(&s, "Сами вы виноваты").is_empty());
        assert_eq!(hit(&s, "Отменим ваш новый большой заказ"), vec![1]);
        assert!(hit(&s, "Отменим это, а потом посмотрим ваш заказ").is_empty());
    }

    #[test]
    fn a_negated_term_blocks_the_match() {
        let s = set(&["!не (верн*|возмест*) ..3 деньг*"]);
        assert_eq!(hit(&s, "мы вернём деньги"), vec![0]);
        assert!(hit(&s, "мы не вернём деньги").is_empty());
    }

    #[test]
    fn numbers_and_exact_words() {
        let s = set(&["через # (дн*|день)", "=ии"]);
        assert_eq!(hit(&s, "придёт через 3 дня"), vec![0]);
        assert_eq!(hit(&s, "Ответил ИИ"), vec![1]);
        assert!(hit(&s, "ИИСУС").is_empty());
    }

    #[test]
    fn mistakes_in_a_pattern_are_explained() {
        let mut s: PhraseSet<()> = PhraseSet::new();
        assert!(s.add("(верн*", ()).unwrap_err().contains("parentheses"));
        assert!(s.add("в* деньги", ()).unwrap_err().contains("two letters"));
        assert!(s.add("верн* ..x деньги", ()).unwrap_err().contains("gap"));
        assert!(s.add("верн* деньги + средства", ()).unwrap_err().contains("single term"));
        assert!(s.add("", ()).is_err());
    }
}
