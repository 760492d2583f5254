//! Regular expressions over Russian text that stay fast.
//!
//! The `regex` crate's lazy DFA cannot evaluate a Unicode word boundary
//! (`\b`) on a non-ASCII haystack. For Cyrillic text every search of a
//! pattern with `\b` therefore falls back to the bounded backtracker or the
//! PikeVM, an order of magnitude slower, even when the text cannot match.
//!
//! [`WordRegex`] keeps a second, boundary-free copy of the pattern. Removing a
//! zero-width assertion only widens what a pattern matches, so when the
//! boundary-free copy (which runs on the DFA) finds nothing, neither can the
//! exact one. Most texts miss most patterns, so the slow engine runs only on
//! the few candidates that might match, and always decides the result.

use regex::{Captures, Match, Regex, RegexBuilder, RegexSet, RegexSetBuilder};

#[derive(Debug, Clone)]
pub struct WordRegex {
    exact: Regex,
    /// The pattern without `\b`; `None` when it has none (or the stripped
    /// copy does not compile, e.g. `\b{start}`): then only `exact` runs.
    quick: Option<Regex>,
}

/// How a pattern is compiled: the options every caller here uses.
fn build(pattern: &str, case_insensitive: bool) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .case_insensitive(case_insensitive)
        .unicode(true)
        .size_limit(1 << 21)
        .dfa_size_limit(1 << 23)
        .build()
}

/// `pattern` with every unescaped `\b` removed, or `None` if it has none.
pub fn without_word_boundaries(pattern: &str) -> Option<String> {
    let mut out = String::with_capacity(pattern.len());
    let mut removed = false;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('b') => removed = true,
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    removed.then_some(out)
}

impl WordRegex {
    /// Compile `pattern` (Unicode on; case-insensitive if asked).
    pub fn new(pattern: &str, case_insensitive: bool) -> Result<Self, regex::Error> {
        let exact = build(pattern, case_insensitive)?;
        let quick = without_word_boundaries(pattern).and_then(|p| build(&p, case_insensitive).ok());
        Ok(Self { exact, quick })
    }

    /// For patterns written in the code: panics if they do not compile.
    pub fn fixed(pattern: &str) -> Self {
        Self::new(pattern, false).expect("built-in pattern compiles")
    }

    /// False when the text certainly has no match.
    fn may_match(&self, text: &str) -> bool {
        self.quick.as_ref().is_none_or(|q| q.is_match(text))
    }

    pub fn as_str(&self) -> &str {
        self.exact.as_str()
    }

    /// One set that tells, in a single pass over a text, which of
    /// `patterns` may match it (each pattern without its `\b`, so on the DFA):
    /// a text is scanned once however many patterns there are, and only the
    /// candidates go on to [`WordRegex::is_match_screened`].
    pub fn screen_set(patterns: &[&WordRegex]) -> Option<RegexSet> {
        RegexSetBuilder::new(
            patterns
                .iter()
                .map(|p| p.quick.as_ref().unwrap_or(&p.exact).as_str()),
        )
        .unicode(true)
        .size_limit(1 << 23)
        .dfa_size_limit(1 << 26)
        .build()
        .ok()
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.may_match(text) && self.exact.is_match(text)
    }

    /// [`WordRegex::is_match`] for a text a screen already passed.
    pub fn is_match_screened(&self, text: &str) -> bool {
        self.exact.is_match(text)
    }

    pub fn find<'h>(&self, text: &'h str) -> Option<Match<'h>> {
        if self.may_match(text) {
            self.exact.find(text)
        } else {
            None
        }
    }

    pub fn find_iter<'r, 'h>(&'r self, text: &'h str) -> impl Iterator<Item = Match<'h>> + 'r
    where
        'h: 'r,
    {
        let limit = if self.may_match(text) { usize::MAX } else { 0 };
        self.exact.find_iter(text).take(limit)
    }

    pub fn captures_iter<'r, 'h>(&'r self, text: &'h str) -> impl Iterator<Item = Captures<'h>> + 'r
    where
        'h: 'r,
    {
        let limit = if self.may_match(text) { usize::MAX } else { 0 };
        self.exact.captures_iter(text).take(limit)
    }

    pub fn replace_all<'h>(&self, text: &'h str, with: &str) -> std::borrow::Cow<'h, str> {
        if self.may_match(text) {
            self.exact.replace_all(text, with)
        } else {
            std::borrow::Cow::Borrowed(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_only_unescaped_word_boundaries() {
        assert_eq!(
            without_word_boundaries(r"\bвозврат\w*\b").as_deref(),
            Some(r"возврат\w*")
        );
        assert_eq!(without_word_boundaries(r"a\\b"), None);
        assert_eq!(without_word_boundaries(r"\d+\s"), None);
    }

    #[test]
    fn agrees_with_the_exact_pattern() {
        let texts = [
            "Мы вернём вам деньги завтра",
            "перевернём страницу",
            "бот",
            "работа робота",
            "ботинки",
            "",
            "ok bot.",
        ];
        for pattern in [
            r"\bверн(ём|ем)\b",
            r"\bбот(а|у)?\b",
            r"(?i)\bBOT\b",
            r"робот\w*",
            r"\b",
        ] {
            let fast = WordRegex::new(pattern, true).unwrap();
            let exact = build(pattern, true).unwrap();
            for t in texts {
                assert_eq!(fast.is_match(t), exact.is_match(t), "{pattern} on {t:?}");
                assert_eq!(
                    fast.find(t).map(|m| m.range()),
                    exact.find(t).map(|m| m.range()),
                    "{pattern} on {t:?}"
                );
                assert_eq!(
                    fast.find_iter(t).count(),
                    exact.find_iter(t).count(),
                    "{pattern} on {t:?}"
                );
            }
        }
    }

    #[test]
    fn a_pattern_whose_stripped_copy_is_invalid_still_works() {
        let r = WordRegex::new(r"\b{start}бот", false).unwrap();
        assert!(r.quick.is_none());
        assert!(r.is_match("бот"));
        assert!(!r.is_match("робот"));
    }
}
