//! Phrase patterns: how guards and detectors say what they look for, over
//! normalised words instead of surface strings.
//!
//! A pattern is a line of terms:
//!
//! | term | matches a word that… |
//! |---|---|
//! | `вернём` | is this word (after normalisation: "ВЕРНЕМ", "вернём") |
//! | `~деньги` | has the same stem ("деньгами", "деньгах") |
//! | `верн*` | starts with it ("вернём", "вернуть", "вернут") |
//! | `верн*ем` | starts with the first part and ends with the second ("вернем", "вернём") |
//! | `=бот` | is this word (the same as `бот`, kept for clarity) |
//! | `(верн*\|возвра*\|=бот)` | is any of these |
//! | `#` | is a number |
//! | `!не` | (before a term) does not come right before the next term |
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

use rustc_hash::FxHashMap;

use super::{Normalised, normalise, stem};

/// Default gap between the terms of a sequence.
const DEFAULT_GAP: u8 = 2;
/// How far apart the terms of a `+` pattern may be.
const BAG_WINDOW: usize = 8;
/// How far before a term a `!` term is looked for.
const NEGATION_REACH: usize = 1;

type TermId = u32;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Matcher {
    Stem(String),
    Exact(String),
    Prefix(String, Option<String>),
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

/// A pattern, flattened: alternatives of plain sequences.
#[derive(Debug, Clone)]
enum Shape {
    Sequences(Alternatives),
    /// Items in any order; each item is one of several sequences.
    Bag(Vec<Alternatives>),
}

impl Shape {
    /// Sets of terms of which the text must hold at least one each. Every
    /// step of a sequence is required, so a sequence matches only where all
    /// its terms occur: whichever sequence matches, its term at step `k` (or
    /// its last, if shorter) is in the set of those terms over all the
    /// sequences. A bag needs each of its items.
    fn needs(&self) -> Vec<Box<[TermId]>> {
        let items: &[Alternatives] = match self {
            Shape::Sequences(alts) => std::slice::from_ref(alts),
            Shape::Bag(items) => items,
        };
        let mut out: Vec<Box<[TermId]>> = Vec::new();
        for (i, alts) in items.iter().enumerate() {
            let longest = alts.seqs.iter().map(Vec::len).max().unwrap_or(0);
            // The first terms of the first item are the pattern's anchors,
            // already known to be there.
            let from = if i == 0 { 1 } else { 0 };
            for k in from..longest {
                let mut set: Vec<TermId> = alts
                    .seqs
                    .iter()
                    .map(|steps| steps[k.min(steps.len() - 1)].term)
                    .collect();
                set.sort_unstable();
                set.dedup();
                if !out.iter().any(|s| **s == *set) {
                    out.push(set.into_boxed_slice());
                }
            }
        }
        out
    }
}

/// Whether two sorted term lists share a term.
fn meet(a: &[TermId], b: &[TermId]) -> bool {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    small.iter().any(|t| large.binary_search(t).is_ok())
}

/// Plain sequences, any of which will do, grouped by their first term: a
/// pattern with many alternatives ("(мы|я) (вернём|вернем|…) (деньги|…)")
/// flattens to hundreds of sequences, and at a given word only those whose
/// first term is there can match.
#[derive(Debug, Clone)]
struct Alternatives {
    seqs: Vec<Vec<Step>>,
    /// Each first term (sorted) with the sequences that start with it, in
    /// the order they were written.
    by_first: Vec<(TermId, Vec<u32>)>,
}

impl Alternatives {
    fn new(seqs: Vec<Vec<Step>>) -> Alternatives {
        let mut by_first: Vec<(TermId, Vec<u32>)> = Vec::new();
        for (i, steps) in seqs.iter().enumerate() {
            let term = steps[0].term;
            match by_first.binary_search_by_key(&term, |(t, _)| *t) {
                Ok(k) => by_first[k].1.push(i as u32),
                Err(k) => by_first.insert(k, (term, vec![i as u32])),
            }
        }
        Alternatives { seqs, by_first }
    }

    fn first_terms(&self) -> impl Iterator<Item = TermId> + '_ {
        self.by_first.iter().map(|(t, _)| *t)
    }

    /// Where the first sequence (in the order written) that matches from
    /// word `start` ends.
    fn match_at(
        &self,
        start: usize,
        n: &Normalised,
        here: &[TermId],
        has: &impl Fn(usize, TermId) -> bool,
    ) -> Option<usize> {
        let mut groups = self
            .by_first
            .iter()
            .filter(|(t, _)| here.binary_search(t).is_ok())
            .map(|(_, seqs)| seqs);
        let first = groups.next()?;
        let try_one = |&i: &u32| sequence_at(&self.seqs[i as usize], start, n, has);
        match groups.next() {
            // Usually one of the first terms is at a word.
            None => first.iter().find_map(try_one),
            Some(second) => {
                let mut all: Vec<u32> = first.iter().chain(second).copied().collect();
                all.extend(groups.flatten());
                all.sort_unstable();
                all.iter().find_map(try_one)
            }
        }
    }
}

/// The parsed form of a pattern before flattening.
#[derive(Debug, Clone)]
enum Node {
    Term {
        raw: String,
        negated_by: Option<String>,
    },
    Group {
        alternatives: Vec<Vec<(u8, Node)>>,
        optional: bool,
        negated_by: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Lex {
    Open,
    Close,
    Bar,
    Plus,
    Question,
    Gap(u8),
    Not(String),
    Word(String),
}

fn lex(pattern: &str) -> Result<Vec<Lex>, String> {
    let mut out = Vec::new();
    let mut chars = pattern.chars().peekable();
    let mut after_space = true;
    while let Some(&c) = chars.peek() {
        let space_before = after_space;
        after_space = c.is_whitespace();
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Lex::Open);
            }
            ')' => {
                chars.next();
                out.push(Lex::Close);
            }
            '|' => {
                chars.next();
                out.push(Lex::Bar);
            }
            '+' if space_before => {
                chars.next();
                if chars.peek().is_some_and(|n| !n.is_whitespace()) {
                    return Err("put spaces around `+` between terms (`a + b`)".into());
                }
                out.push(Lex::Plus);
            }
            '?' => {
                chars.next();
                out.push(Lex::Question);
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '|' | '?') {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                if let Some(n) = word.strip_prefix("..") {
                    let n: u8 = n
                        .parse()
                        .map_err(|_| format!("`{word}`: a gap is `..` and a number, e.g. `..3`"))?;
                    out.push(Lex::Gap(n));
                } else if let Some(neg) = word.strip_prefix('!') {
                    if neg.is_empty() {
                        return Err("`!` must be followed by a word".into());
                    }
                    out.push(Lex::Not(neg.to_string()));
                } else {
                    out.push(Lex::Word(word));
                }
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Lex>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Lex> {
        self.tokens.get(self.at)
    }

    /// A sequence: elements with optional gaps between them, until `)`, `|`, `+` or the end.
    fn sequence(&mut self) -> Result<Vec<(u8, Node)>, String> {
        self.sequence_at_depth(0)
    }

    fn sequence_at_depth(&mut self, depth: usize) -> Result<Vec<(u8, Node)>, String> {
        let mut items: Vec<(u8, Node)> = Vec::new();
        let mut gap: Option<u8> = None;
        let mut negated_by: Option<String> = None;
        loop {
            match self.peek().cloned() {
                None | Some(Lex::Close) | Some(Lex::Bar) | Some(Lex::Plus) => break,
                Some(Lex::Gap(n)) => {
                    if items.is_empty() {
                        return Err(format!("`..{n}`: a gap must come between two terms"));
                    }
                    self.at += 1;
                    gap = Some(n);
                }
                Some(Lex::Not(w)) => {
                    self.at += 1;
                    negated_by = Some(w);
                }
                Some(Lex::Question) => {
                    return Err("`?` must follow a group in parentheses".into());
                }
                Some(Lex::Word(w)) => {
                    self.at += 1;
                    items.push((
                        gap.take().unwrap_or(DEFAULT_GAP),
                        Node::Term {
                            raw: w,
                            negated_by: negated_by.take(),
                        },
                    ));
                }
                Some(Lex::Open) => {
                    self.at += 1;
                    let mut alternatives = vec![self.sequence_at_depth(depth + 1)?];
                    loop {
                        match self.peek() {
                            Some(Lex::Bar) => {
                                self.at += 1;
                                alternatives.push(self.sequence_at_depth(depth + 1)?);
                            }
                            Some(Lex::Close) => {
                                self.at += 1;
                                break;
                            }
                            _ => return Err("unbalanced parentheses".into()),
                        }
                    }
                    if alternatives.iter().any(Vec::is_empty) {
                        return Err("an empty alternative in parentheses".into());
                    }
                    let optional = if self.peek() == Some(&Lex::Question) {
                        self.at += 1;
                        true
                    } else {
                        false
                    };
                    items.push((
                        gap.take().unwrap_or(DEFAULT_GAP),
                        Node::Group {
                            alternatives,
                            optional,
                            negated_by: negated_by.take(),
                        },
                    ));
                }
            }
        }
        if negated_by.is_some() {
            return Err("`!word` must come before a term".into());
        }
        // A gap at the end of a group's alternative ("(мы ..0)? вернём") says
        // nothing more than the gap after the group: allowed, and ignored.
        if gap.is_some() && depth == 0 {
            return Err("a gap must come between two terms".into());
        }
        Ok(items)
    }
}

/// How many flat sequences a pattern may expand to.
const MAX_EXPANSION: usize = 4096;

#[derive(Debug, Clone)]
struct Pattern<T> {
    shape: Shape,
    tag: T,
    /// Term sets each of which must meet the text's terms for the pattern
    /// to match at all (see [`Shape::needs`]): most patterns whose anchor is
    /// in a text lack a later word, and this turns them away before any
    /// place is tried.
    needs: Vec<Box<[TermId]>>,
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
    /// Changes whenever a term is added, so the per-thread memo of which
    /// terms a word matches never outlives the tables it was read from.
    id: u64,
    terms: Vec<Vec<Matcher>>,
    exact: FxHashMap<String, Vec<TermId>>,
    stems: FxHashMap<String, Vec<TermId>>,
    /// Prefix → the terms starting with it, each with the ending it also needs.
    prefixes: FxHashMap<String, Vec<(TermId, Option<String>)>>,
    /// A term → the patterns that can only match where it occurs (it starts
    /// one of their sequences, or their first bag item). Matching tries only
    /// the patterns whose anchor is in the text.
    anchors: FxHashMap<TermId, Vec<u32>>,
    /// The lengths (in characters) of the prefixes in `prefixes`.
    prefix_lengths: Vec<usize>,
    numbers: Vec<TermId>,
    patterns: Vec<Pattern<T>>,
}

impl<T> Default for PhraseSet<T> {
    fn default() -> Self {
        PhraseSet {
            id: fresh_set_id(),
            terms: Vec::new(),
            exact: FxHashMap::default(),
            stems: FxHashMap::default(),
            prefixes: FxHashMap::default(),
            anchors: FxHashMap::default(),
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
        [t] => Ok(t.norm.to_string()),
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
    if let Some(w) = raw.strip_prefix('~') {
        return Ok(Matcher::Stem(stem(&norm_word(w)?).into()));
    }
    if let Some((p, end)) = raw.split_once('*') {
        let p = norm_word(p)?;
        if p.chars().count() < 2 {
            return Err(format!("`{raw}`: a prefix needs at least two letters"));
        }
        if end.contains('*') {
            return Err(format!("`{raw}`: at most one `*` in a word"));
        }
        let end = if end.is_empty() {
            None
        } else {
            Some(norm_word(end)?)
        };
        return Ok(Matcher::Prefix(p, end));
    }
    Ok(Matcher::Exact(norm_word(raw)?))
}

fn parse_term(raw: &str) -> Result<Vec<Matcher>, String> {
    if raw.is_empty() {
        return Err("an empty term".into());
    }
    Ok(vec![parse_matcher(raw)?])
}

/// A pattern word that normalises to several words ("яндекс-маркет*",
/// "we'll", "б/у") is the sequence of them, right next to each other; the
/// `=` or `*` of the written word applies to its first or last part.
fn word_parts(raw: &str) -> Result<Vec<String>, String> {
    if raw == "#" {
        return Ok(vec![raw.to_string()]);
    }
    let exact = raw.starts_with('=');
    let body = raw.trim_start_matches(['=', '~']);
    let (stem, suffix) = match body.split_once('*') {
        Some((a, b)) => (a, Some(b)),
        None => (body, None),
    };
    let n = normalise(stem);
    if n.tokens.len() <= 1 {
        return Ok(vec![raw.to_string()]);
    }
    let last = n.tokens.len() - 1;
    Ok(n.tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if i == last {
                match suffix {
                    Some(end) if t.norm.chars().count() >= 2 => format!("{}*{end}", t.norm),
                    _ => format!("={}", t.norm),
                }
            } else if i == 0 && !exact && t.norm.chars().count() > 3 {
                t.norm.to_string()
            } else {
                format!("={}", t.norm)
            }
        })
        .collect())
}

/// A partial flat sequence while expanding, and the gap a skipped optional group leaves.
type Partial = (Vec<Step>, Option<u8>);

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
        self.id = fresh_set_id();
        for m in &matchers {
            match m {
                Matcher::Stem(s) => self.stems.entry(s.clone()).or_default().push(id),
                Matcher::Exact(s) => self.exact.entry(s.clone()).or_default().push(id),
                Matcher::Prefix(p, end) => {
                    let len = p.chars().count();
                    if !self.prefix_lengths.contains(&len) {
                        self.prefix_lengths.push(len);
                        self.prefix_lengths.sort_unstable();
                    }
                    self.prefixes
                        .entry(p.clone())
                        .or_default()
                        .push((id, end.clone()));
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
        let tokens = lex(pattern)?;
        let mut parser = Parser { tokens, at: 0 };
        let mut items = vec![parser.sequence()?];
        while parser.peek() == Some(&Lex::Plus) {
            parser.at += 1;
            items.push(parser.sequence()?);
        }
        match parser.peek() {
            None => {}
            Some(Lex::Close) => return Err("unbalanced parentheses".into()),
            Some(_) => return Err("`|` outside parentheses; put alternatives in `( | )`".into()),
        }
        if items.iter().any(Vec::is_empty) {
            return Err(if items.len() > 1 {
                "`+` needs a term on each side".to_string()
            } else {
                "no terms".to_string()
            });
        }
        let shape = if items.len() == 1 {
            Shape::Sequences(Alternatives::new(self.flatten(&items[0])?))
        } else {
            let mut bag = Vec::new();
            for item in &items {
                bag.push(Alternatives::new(self.flatten(item)?));
            }
            Shape::Bag(bag)
        };
        let first_terms: Vec<TermId> = match &shape {
            Shape::Sequences(alts) => alts.first_terms().collect(),
            Shape::Bag(items) => items[0].first_terms().collect(),
        };
        let index = self.patterns.len() as u32;
        for t in first_terms {
            self.anchors.entry(t).or_default().push(index);
        }
        let needs = shape.needs();
        self.patterns.push(Pattern { shape, tag, needs });
        Ok(())
    }

    /// A group whose alternatives are single words, as one term.
    fn single_words(alternatives: &[Vec<(u8, Node)>]) -> Option<Vec<&str>> {
        alternatives
            .iter()
            .map(|alt| match alt.as_slice() {
                [
                    (
                        _,
                        Node::Term {
                            raw,
                            negated_by: None,
                        },
                    ),
                ] if word_parts(raw).is_ok_and(|p| p.len() == 1) => Some(raw.as_str()),
                _ => None,
            })
            .collect()
    }

    fn flatten(&mut self, items: &[(u8, Node)]) -> Result<Vec<Vec<Step>>, String> {
        let mut partials: Vec<Partial> = vec![(Vec::new(), None)];
        for (gap, node) in items {
            let gap_for = |carry: Option<u8>| carry.map_or(*gap, |c| c.max(*gap));
            let mut next: Vec<Partial> = Vec::new();
            match node {
                Node::Term { raw, negated_by } => {
                    let mut terms = Vec::new();
                    for part in word_parts(raw)? {
                        terms.push(self.intern(parse_term(&part)?));
                    }
                    let not_after = match negated_by {
                        Some(w) => Some(self.intern(parse_term(w)?)),
                        None => None,
                    };
                    for (steps, carry) in partials {
                        let mut steps = steps;
                        for (i, term) in terms.iter().enumerate() {
                            steps.push(Step {
                                term: *term,
                                gap: if i == 0 { gap_for(carry) } else { 0 },
                                not_after: if i == 0 { not_after } else { None },
                            });
                        }
                        next.push((steps, None));
                    }
                }
                Node::Group {
                    alternatives,
                    optional,
                    negated_by,
                } => {
                    let not_after = match negated_by {
                        Some(w) => Some(self.intern(parse_term(w)?)),
                        None => None,
                    };
                    let subs: Vec<Vec<Step>> = match Self::single_words(alternatives) {
                        Some(words) => {
                            let mut matchers = Vec::new();
                            for w in words {
                                matchers.extend(parse_term(w)?);
                            }
                            let term = self.intern(matchers);
                            vec![vec![Step {
                                term,
                                gap: *gap,
                                not_after: None,
                            }]]
                        }
                        None => {
                            let mut subs = Vec::new();
                            for alt in alternatives {
                                subs.extend(self.flatten(alt)?);
                            }
                            subs
                        }
                    };
                    for (steps, carry) in &partials {
                        for sub in &subs {
                            let mut joined = steps.clone();
                            for (i, step) in sub.iter().enumerate() {
                                let mut step = step.clone();
                                if i == 0 {
                                    step.gap = gap_for(*carry);
                                    if step.not_after.is_none() {
                                        step.not_after = not_after;
                                    }
                                }
                                joined.push(step);
                            }
                            next.push((joined, None));
                        }
                        if *optional {
                            next.push((steps.clone(), Some(gap_for(*carry))));
                        }
                    }
                }
            }
            if next.len() > MAX_EXPANSION {
                return Err(format!(
                    "the pattern has too many combinations (over {MAX_EXPANSION}); split it in several"
                ));
            }
            partials = next;
        }
        if partials.iter().any(|(s, _)| s.is_empty()) {
            return Err("the pattern can match nothing (everything in it is optional)".into());
        }
        Ok(partials.into_iter().map(|(s, _)| s).collect())
    }

    /// The terms one word matches, sorted.
    fn word_terms(&self, t: &super::Token, ids: &mut Vec<TermId>) {
        if let Some(v) = self.exact.get(t.norm.as_str()) {
            ids.extend(v);
        }
        if let Some(v) = self.stems.get(t.stem.as_str()) {
            ids.extend(v);
        }
        if !self.prefixes.is_empty() {
            let mut lengths = self.prefix_lengths.iter().peekable();
            let ends = t
                .norm
                .char_indices()
                .map(|(i, _)| i)
                .skip(1)
                .chain(std::iter::once(t.norm.len()));
            for (chars, end) in ends.enumerate().map(|(k, e)| (k + 1, e)) {
                if lengths.peek().is_none() {
                    break;
                }
                if lengths.next_if(|l| **l == chars).is_none() {
                    continue;
                }
                if let Some(v) = self.prefixes.get(&t.norm[..end]) {
                    for (id, ending) in v {
                        if ending.as_ref().is_none_or(|e| {
                            t.norm.len() >= end + e.len() && t.norm.ends_with(e.as_str())
                        }) {
                            ids.push(*id);
                        }
                    }
                }
            }
        }
        if !self.numbers.is_empty() && t.is_number() {
            ids.extend(&self.numbers);
        }
        ids.sort_unstable();
        ids.dedup();
    }

    /// For each word of `n`, the terms it matches. What a word matches
    /// depends only on the word, and buyers reuse words, so each thread
    /// remembers it per set (a bounded memo, cleared when full).
    fn term_hits(&self, n: &Normalised) -> Hits {
        let mut hits = Hits {
            terms: Vec::new(),
            ends: Vec::with_capacity(n.tokens.len()),
        };
        TERM_MEMO.with(|memo| {
            let mut memo = memo.borrow_mut();
            if memo.len() > MEMO_SETS && !memo.contains_key(&self.id) {
                // Sets replaced by reloads leave their memos behind.
                memo.clear();
            }
            let words = memo.entry(self.id).or_default();
            if words.len() > MEMO_WORDS {
                words.clear();
            }
            let mut scratch = Vec::new();
            for t in &n.tokens {
                match words.get(t.norm.as_str()) {
                    Some(ids) => hits.terms.extend_from_slice(ids),
                    None => {
                        scratch.clear();
                        self.word_terms(t, &mut scratch);
                        hits.terms.extend_from_slice(&scratch);
                        words.insert(t.norm.as_str().into(), scratch.as_slice().into());
                    }
                }
                hits.ends.push(hits.terms.len() as u32);
            }
        });
        hits
    }

    /// The patterns whose anchor term occurs somewhere, in the order added.
    fn candidates(&self, hits: &Hits) -> Vec<u32> {
        let mut out: Vec<u32> = hits
            .terms
            .iter()
            .filter_map(|t| self.anchors.get(t))
            .flatten()
            .copied()
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Every match of every pattern (a pattern may match in several places).
    pub fn matches_all<'a>(&'a self, n: &Normalised) -> Vec<Hit<'a, T>> {
        if self.patterns.is_empty() || n.tokens.is_empty() {
            return Vec::new();
        }
        let hits = self.term_hits(n);
        let has = |pos: usize, term: TermId| hits.at(pos).binary_search(&term).is_ok();
        // Most texts name no pattern's anchor: nothing more to work out then.
        let candidates = self.candidates(&hits);
        if candidates.is_empty() {
            return Vec::new();
        }
        let occ = Occurrences::new(&hits);
        let present = occ.terms();
        let mut out = Vec::new();
        for p in candidates
            .into_iter()
            .map(|i| &self.patterns[i as usize])
            .filter(|p| p.needs.iter().all(|set| meet(set, &present)))
        {
            match &p.shape {
                Shape::Sequences(alts) => {
                    for (first, last) in spans(alts, n, &hits, &occ, &has) {
                        out.push(Hit {
                            tag: &p.tag,
                            first,
                            last,
                        });
                    }
                }
                Shape::Bag(items) => {
                    for (first, last) in bag_all(items, n, &hits, &occ, &has) {
                        out.push(Hit {
                            tag: &p.tag,
                            first,
                            last,
                        });
                    }
                }
            }
        }
        out
    }

    /// Every pattern that matches, once each (its first match).
    pub fn matches<'a>(&'a self, n: &Normalised) -> Vec<Hit<'a, T>> {
        if self.patterns.is_empty() || n.tokens.is_empty() {
            return Vec::new();
        }
        let hits = self.term_hits(n);
        let has = |pos: usize, term: TermId| hits.at(pos).binary_search(&term).is_ok();
        // Most texts name no pattern's anchor: nothing more to work out then.
        let candidates = self.candidates(&hits);
        if candidates.is_empty() {
            return Vec::new();
        }
        let occ = Occurrences::new(&hits);
        let present = occ.terms();
        let mut out = Vec::new();
        for p in candidates
            .into_iter()
            .map(|i| &self.patterns[i as usize])
            .filter(|p| p.needs.iter().all(|set| meet(set, &present)))
        {
            let found = match &p.shape {
                Shape::Sequences(alts) => occ.starts(alts).into_iter().find_map(|start| {
                    alts.match_at(start, n, hits.at(start), &has)
                        .map(|last| (start, last))
                }),
                Shape::Bag(items) => bag(items, n, &hits, &occ, &has),
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

/// The terms each word of a text matches: word `i`'s are
/// `terms[ends[i - 1]..ends[i]]`, sorted.
struct Hits {
    terms: Vec<TermId>,
    ends: Vec<u32>,
}

impl Hits {
    fn at(&self, pos: usize) -> &[TermId] {
        let start = if pos == 0 {
            0
        } else {
            self.ends[pos - 1] as usize
        };
        &self.terms[start..self.ends[pos] as usize]
    }
}

/// Words a thread remembers per phrase set before it starts over.
const MEMO_WORDS: usize = 1 << 14;

type WordTerms = FxHashMap<Box<str>, Box<[TermId]>>;

/// Phrase sets a thread keeps memos for before it starts over.
const MEMO_SETS: usize = 256;

thread_local! {
    /// Per phrase set (by id): word → the terms it matches.
    static TERM_MEMO: std::cell::RefCell<FxHashMap<u64, WordTerms>> =
        std::cell::RefCell::new(FxHashMap::default());
}

fn fresh_set_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Every (term, word) pair of a text, sorted: where each term occurs.
struct Occurrences(Vec<(TermId, u32)>);

impl Occurrences {
    fn new(hits: &Hits) -> Self {
        let mut v: Vec<(TermId, u32)> = Vec::with_capacity(hits.terms.len());
        for pos in 0..hits.ends.len() {
            v.extend(hits.at(pos).iter().map(|t| (*t, pos as u32)));
        }
        v.sort_unstable();
        Occurrences(v)
    }

    /// The distinct terms of the text, sorted.
    fn terms(&self) -> Vec<TermId> {
        let mut out: Vec<TermId> = self.0.iter().map(|(t, _)| *t).collect();
        out.dedup();
        out
    }

    /// The words where any sequence of `seqs` can start, in order.
    fn starts(&self, alts: &Alternatives) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        for term in alts.first_terms() {
            let from = self.0.partition_point(|(t, _)| *t < term);
            out.extend(
                self.0[from..]
                    .iter()
                    .take_while(|(t, _)| *t == term)
                    .map(|(_, p)| *p as usize),
            );
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Where any of `seqs` matches: (first, last) word of each match.
fn spans(
    alts: &Alternatives,
    n: &Normalised,
    hits: &Hits,
    occ: &Occurrences,
    has: &impl Fn(usize, TermId) -> bool,
) -> Vec<(usize, usize)> {
    occ.starts(alts)
        .into_iter()
        .filter_map(|start| {
            alts.match_at(start, n, hits.at(start), has)
                .map(|last| (start, last))
        })
        .collect()
}

/// Every item within one window of one sentence, in any order: the first match.
fn bag(
    items: &[Alternatives],
    n: &Normalised,
    hits: &Hits,
    occ: &Occurrences,
    has: &impl Fn(usize, TermId) -> bool,
) -> Option<(usize, usize)> {
    bag_all(items, n, hits, occ, has).into_iter().next()
}

/// Every match of a bag, one per place its first item matches.
fn bag_all(
    items: &[Alternatives],
    n: &Normalised,
    hits: &Hits,
    occ: &Occurrences,
    has: &impl Fn(usize, TermId) -> bool,
) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut found: Vec<Vec<(usize, usize)>> = Vec::with_capacity(items.len());
    for item in items {
        let spans = spans(item, n, hits, occ, has);
        if spans.is_empty() {
            return out;
        }
        found.push(spans);
    }
    for &(a_first, a_last) in &found[0] {
        let sentence = n.tokens[a_first].sentence;
        let (mut first, mut last) = (a_first, a_last);
        let all = found[1..].iter().all(|spans| {
            let best = spans
                .iter()
                .filter(|(f, l)| {
                    n.tokens[*f].sentence == sentence
                        && (*l < a_first || *f > a_last)
                        && f.abs_diff(a_first).min(l.abs_diff(a_first)) <= BAG_WINDOW
                })
                .min_by_key(|(f, _)| f.abs_diff(a_first));
            if let Some((f, l)) = best {
                first = first.min(*f);
                last = last.max(*l);
                true
            } else {
                false
            }
        });
        if all {
            out.push((first, last));
        }
    }
    out
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
    fn the_words_a_pattern_needs_turn_away_only_texts_it_cannot_match() {
        // Alternatives of different lengths, an optional word and a bag:
        // each text that lacks no word the pattern needs still matches.
        let s = set(&[
            "(мы|я) (=скоро)? (вернем|верну) (деньги|=всё|полную ..1 сумму)",
            "(=обмен|=замена) + (=бесплатно|за ..0 наш ..0 счет)",
        ]);
        for (text, want) in [
            ("Мы вернём деньги", vec![0]),
            ("я скоро верну всё", vec![0]),
            ("Мы вернём полную стоимость, то есть сумму", vec![]),
            ("мы вернём вам полную сумму", vec![0]),
            ("Мы вернём", vec![]),
            ("Обмен за наш счёт", vec![1]),
            ("бесплатно, а обмен через пункт", vec![1]),
            ("Обмен через пункт выдачи", vec![]),
            ("за наш счёт", vec![]),
        ] {
            assert_eq!(hit(&s, text), want, "{text}");
        }
    }

    #[test]
    fn one_bag_covers_active_passive_and_noun_forms() {
        let s = set(&["(верн*|возвра*|возмест*) + (деньг*|средств*|стоимост*)"]);
        assert!(hit(&set(&["вернем"]), "вернуть").is_empty());
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
        let s = set(&["~бот"]);
        for text in ["Я бот", "ответил ботом", "это боты"] {
            assert_eq!(hit(&s, text), vec![0], "{text}");
        }
        for text in ["работа", "суббота", "ботинки", "робот-пылесос"]
        {
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
    fn groups_hold_whole_phrases_and_can_be_optional() {
        let s = set(&[
            "(не ..0 наш* ..0 (проблем*|вопрос*)|не ..0 к ..0 нам)",
            "(мы ..0)? (вам ..0)? возмест*",
            "(вам ..0 вернут|деньги ..2 вернутся) + (завтра|сегодня)",
        ]);
        assert_eq!(hit(&s, "Это не наша проблема"), vec![0]);
        assert_eq!(hit(&s, "Это не к нам"), vec![0]);
        assert!(hit(&s, "Не наша вина").is_empty());
        assert_eq!(hit(&s, "возместим"), vec![1]);
        assert_eq!(hit(&s, "мы вам возместим"), vec![1]);
        assert_eq!(hit(&s, "Завтра вам вернут"), vec![2]);
        assert_eq!(hit(&s, "деньги к вам вернутся сегодня"), vec![2]);
    }

    #[test]
    fn a_negated_term_blocks_the_match() {
        let s = set(&["!не (верн*|возмест*) ..3 деньг*"]);
        assert_eq!(hit(&s, "мы вернём деньги"), vec![0]);
        assert!(hit(&s, "мы не вернём деньги").is_empty());
    }

    #[test]
    fn where_several_alternatives_start_at_one_word_the_first_written_wins() {
        // The first pattern makes `верн*` the set's first term, so in the
        // second the alternative written later has the smaller term id: the
        // order written must still decide which match is reported.
        let spans = |patterns: &[&str]| {
            let s = set(patterns);
            let n = normalise("Мы вернем деньги");
            let all: Vec<(usize, usize, usize)> = s
                .matches_all(&n)
                .iter()
                .map(|h| (*h.tag, h.first, h.last))
                .collect();
            let first: Vec<(usize, usize, usize)> = s
                .matches(&n)
                .iter()
                .map(|h| (*h.tag, h.first, h.last))
                .collect();
            assert_eq!(all, first);
            all
        };
        assert_eq!(
            spans(&["верн* ..0 =нет", "(вернем деньги|верн*)"]),
            vec![(1, 1, 2)]
        );
        assert_eq!(
            spans(&["верн* ..0 =нет", "(верн*|вернем деньги)"]),
            vec![(1, 1, 1)]
        );
    }

    #[test]
    fn a_prefix_with_an_ending_picks_one_form() {
        let s = set(&["верн*ем"]);
        assert_eq!(hit(&s, "ВЕРНЁМ"), vec![0]);
        assert!(hit(&s, "вернуть").is_empty());
        assert!(hit(&s, "верн").is_empty());
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
        assert!(s.add("верн*)", ()).unwrap_err().contains("parentheses"));
        assert!(s.add("в* деньги", ()).unwrap_err().contains("two letters"));
        assert!(s.add("верн* ..x деньги", ()).unwrap_err().contains("gap"));
        assert!(s.add("верн* | деньги", ()).unwrap_err().contains("outside"));
        assert!(s.add("(верн*)?", ()).unwrap_err().contains("nothing"));
        assert!(s.add("", ()).is_err());
    }
}
