//! The one normalisation step every recogniser of language uses: guards,
//! risk and injection detectors, and the intent classifier.
//!
//! [`normalise`] turns text into a [`Normalised`] form:
//! - Unicode NFKC (full-width letters, ligatures, superscripts become plain),
//!   case folded, `ё` → `е`;
//! - zero-width, bidi and other invisible format characters removed, control
//!   characters turned into spaces, combining accents dropped;
//! - Latin/Cyrillic look-alike letters folded inside a word written mostly in
//!   the other script (`cиcтeмa` → `система`, `ignоre` → `ignore`), and digits
//!   standing in for letters inside Cyrillic words (`6от` → `бот`);
//! - letters spaced out to dodge a filter joined (`в е р н ё м` → `вернем`);
//! - words ([`Token`]) with their stem (Snowball) and their place in the
//!   original text, so a finding can quote what the person actually wrote.
//!
//! [`hidden_layers`] decodes base64, percent-encoded and HTML-entity chunks,
//! for the injection detector.

mod decode;
mod field;
pub mod layout;
pub mod names;
pub mod phrase;
mod swearing;
pub mod translit;

use std::ops::Range;
use std::sync::LazyLock;

use compact_str::CompactString;
use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::UnicodeNormalization;

pub use decode::{cued_readings, has_encoded_chunk, hidden_layers};
pub use field::sanitise_field;
pub use swearing::{swearing, swearing_where};

/// One word of normalised text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The word, normalised. Most words fit inline (24 bytes), so a text's
    /// words cost no allocation each.
    pub norm: CompactString,
    /// Its Snowball stem (Russian for Cyrillic words, English for Latin ones).
    pub stem: CompactString,
    /// Where it is in the original text (bytes).
    pub span: Range<usize>,
    /// Which sentence it is in (0-based).
    pub sentence: u32,
}

impl Token {
    pub fn is_number(&self) -> bool {
        self.norm.chars().all(|c| c.is_ascii_digit())
    }

    pub fn is_cyrillic(&self) -> bool {
        self.norm.chars().any(is_cyrillic)
    }
}

/// Text in the one form recognisers work on.
#[derive(Debug, Clone, Default)]
pub struct Normalised {
    /// The whole text cleaned (NFKC, case, `ё`, invisible characters,
    /// look-alikes), separators kept: for patterns over characters such as
    /// phone numbers, addresses and links.
    pub clean: String,
    /// The words, normalised and joined by single spaces.
    pub words: String,
    pub tokens: Vec<Token>,
    /// The learned models' features of this text, computed by the first model
    /// that reads it and shared with the others (intent, injection).
    pub features: std::sync::OnceLock<Features>,
}

/// What the learned models read of a text (filled in by `analysis::model`).
#[derive(Debug, Clone, Default)]
pub struct Features {
    /// The tokens whose word features count: the first of each distinct word.
    pub words: Vec<u32>,
    /// Word features an earlier distinct word already has, with the token
    /// that repeats them: counted once, so taken off again.
    pub repeated: Vec<(u64, u32)>,
    /// Features of word pairs (with the token they start at) and of the whole
    /// text (`u32::MAX`): punctuation, emoji, length.
    pub other: Vec<(u64, u32)>,
    /// How many distinct features the text has.
    pub count: u32,
}

impl Normalised {
    /// Tokens `from..=to` as a text of their own: what [`normalise`] makes of
    /// `original[start of from..end of to]`, without reading the words again
    /// (spans relative to that slice, sentences counted from it).
    pub fn part(&self, from: usize, to: usize, original: &str) -> Normalised {
        let (Some(a), Some(b)) = (self.tokens.get(from), self.tokens.get(to)) else {
            return Normalised::default();
        };
        let (start, first_sentence) = (a.span.start, a.sentence);
        let text = original.get(start..b.span.end).unwrap_or("");
        let tokens: Vec<Token> = self.tokens[from..=to]
            .iter()
            .map(|t| Token {
                norm: t.norm.clone(),
                stem: t.stem.clone(),
                span: t.span.start - start..t.span.end - start,
                sentence: t.sentence - first_sentence,
            })
            .collect();
        let words = tokens
            .iter()
            .map(|t| t.norm.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        Normalised {
            clean: clean_chars(text).0.into_iter().collect(),
            words,
            tokens,
            features: std::sync::OnceLock::new(),
        }
    }

    /// The original text of tokens `from..=to`.
    pub fn excerpt<'a>(&self, original: &'a str, from: usize, to: usize) -> &'a str {
        let (Some(a), Some(b)) = (self.tokens.get(from), self.tokens.get(to)) else {
            return "";
        };
        original.get(a.span.start..b.span.end).unwrap_or("")
    }
}

static RU: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::Russian));
static EN: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));

/// The passages someone put in quotes («…», "…", „…“, '…'), 3 to 300
/// characters on one line: what a buyer dictates for the reply to repeat.
pub fn quoted(text: &str) -> impl Iterator<Item = &str> {
    quoted_at(text).map(|(_, q)| q)
}

/// [`quoted`], with the byte offset in `text` where each quote opens.
pub fn quoted_at(text: &str) -> impl Iterator<Item = (usize, &str)> {
    static QUOTE: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r#"[«"“„'][^»"”“'\n]{3,300}[»"”“']"#).expect("compiles")
    });
    // Found without a capture group (a plain search is several times
    // cheaper): the passage is the match without its two quote marks.
    QUOTE.find_iter(text).filter_map(|m| {
        let quoted = m.as_str();
        let open = quoted.chars().next()?.len_utf8();
        let close = quoted.chars().next_back()?.len_utf8();
        quoted
            .get(open..quoted.len() - close)
            .map(|inner| (m.start(), inner))
    })
}

/// The stem of an already normalised word.
pub fn stem(word: &str) -> CompactString {
    // Buyers use the same few thousand words over and over; Snowball is the
    // slowest step of normalising, so each thread remembers recent stems.
    thread_local! {
        static SEEN: std::cell::RefCell<rustc_hash::FxHashMap<CompactString, CompactString>> =
            std::cell::RefCell::new(rustc_hash::FxHashMap::default());
    }
    const REMEMBERED: usize = 50_000;
    if let Some(s) = SEEN.with(|m| m.borrow().get(word).cloned()) {
        return s;
    }
    let s = stem_uncached(word);
    SEEN.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= REMEMBERED {
            m.clear();
        }
        m.insert(word.into(), s.clone());
    });
    s
}

fn stem_uncached(word: &str) -> CompactString {
    if word.chars().any(is_cyrillic) {
        RU.stem(word).as_ref().into()
    } else if word.chars().any(|c| c.is_ascii_alphabetic()) {
        EN.stem(word).as_ref().into()
    } else {
        word.into()
    }
}

/// The last `k` words of `text`, last first.
pub fn last_words(text: &str, k: usize) -> impl Iterator<Item = &str> {
    text.rsplit(|c: char| !is_letter_or_digit(c))
        .filter(|w| !w.is_empty())
        .take(k)
}

/// Letters of scripts written without spaces between words: CJK ideographs,
/// kana, Hangul syllables, Thai, Lao, Khmer, Myanmar.
pub fn unspaced_script(c: char) -> bool {
    matches!(c,
        '\u{0E00}'..='\u{0EFF}' | '\u{1000}'..='\u{109F}' | '\u{1780}'..='\u{17FF}'
        | '\u{3040}'..='\u{30FF}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}'
        | '\u{AC00}'..='\u{D7AF}' | '\u{F900}'..='\u{FAFF}')
}

pub fn is_cyrillic(c: char) -> bool {
    matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё' | 'і' | 'ї' | 'є' | 'ґ' | 'ў' | 'ә' | 'ғ' | 'қ' | 'ң' | 'ө' | 'ұ' | 'ү' | 'һ')
}

/// Characters that render as nothing (or nearly) and only serve to split a
/// word for a filter: zero-width spaces and joiners, bidi marks, soft hyphen,
/// word joiner, BOM, variation selectors, tags.
fn is_invisible(c: char) -> bool {
    // Text is mostly ASCII and Russian, neither of which has any.
    if c < '\u{00AD}' || matches!(c, 'А'..='ё') {
        return false;
    }
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{E0000}'..='\u{E007F}' | '\u{1D173}'..='\u{1D17A}')
}

/// How many invisible characters sit between two letters of `text` (a soft
/// hyphen, which word processors put there, does not count).
pub fn invisible_inside_words(text: &str) -> usize {
    // Nearly every text has none: a cheap look before the letter tests.
    if text.is_ascii() || !text.chars().any(is_invisible) {
        return 0;
    }
    let mut count = 0;
    let mut after_letter = false;
    let mut pending = 0;
    for c in text.chars() {
        if is_invisible(c) {
            if after_letter && c != '\u{00AD}' {
                pending += 1;
            }
        } else if c.is_alphabetic() {
            count += pending;
            pending = 0;
            after_letter = true;
        } else {
            pending = 0;
            after_letter = false;
        }
    }
    count
}

fn is_combining(c: char) -> bool {
    if c < '\u{0300}' {
        return false;
    }
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// Latin letters that look like Cyrillic ones (after case folding).
fn latin_to_cyrillic(c: char) -> Option<char> {
    Some(match c {
        'a' => 'а',
        'b' => 'в',
        'c' => 'с',
        'e' => 'е',
        'h' => 'н',
        'i' => 'и',
        'k' => 'к',
        'm' => 'м',
        'n' => 'п',
        'o' => 'о',
        'p' => 'р',
        't' => 'т',
        'u' => 'и',
        'x' => 'х',
        'y' => 'у',
        _ => return None,
    })
}

fn cyrillic_to_latin(c: char) -> Option<char> {
    Some(match c {
        'а' => 'a',
        'в' => 'b',
        'с' => 'c',
        'е' => 'e',
        'н' => 'h',
        'і' => 'i',
        'к' => 'k',
        'м' => 'm',
        'о' => 'o',
        'р' => 'p',
        'т' => 't',
        'х' => 'x',
        'у' => 'y',
        _ => return None,
    })
}

/// Digits written for look-alike Cyrillic letters inside a word.
fn digit_to_cyrillic(c: char) -> Option<char> {
    Some(match c {
        '0' => 'о',
        '3' => 'з',
        '4' => 'ч',
        '6' => 'б',
        _ => return None,
    })
}

/// Units written right after a number ("3шт", "40см"): the digit stays a digit.
const UNITS: [&str; 16] = [
    "шт", "см", "мм", "кг", "гр", "мл", "км", "руб", "р", "м", "г", "л", "ч", "мин", "сек", "х",
];

/// Fold the look-alike letters of a word written mostly in one script.
fn fold_confusables(word: &mut [char]) {
    let unambiguous_cyr = word
        .iter()
        .filter(|c| is_cyrillic(**c) && cyrillic_to_latin(**c).is_none())
        .count();
    let unambiguous_lat = word
        .iter()
        .filter(|c| c.is_ascii_alphabetic() && latin_to_cyrillic(**c).is_none())
        .count();
    let cyr = word.iter().filter(|c| is_cyrillic(**c)).count();
    let lat = word.iter().filter(|c| c.is_ascii_alphabetic()).count();
    if cyr > 0 && lat > 0 {
        if unambiguous_lat == 0 && (unambiguous_cyr > 0 || cyr >= lat) {
            for c in word.iter_mut() {
                if let Some(r) = latin_to_cyrillic(*c) {
                    *c = r;
                }
            }
        } else if unambiguous_cyr == 0 && (unambiguous_lat > 0 || lat > cyr) {
            for c in word.iter_mut() {
                if let Some(r) = cyrillic_to_latin(*c) {
                    *c = r;
                }
            }
        }
    }
    let cyr = word.iter().filter(|c| is_cyrillic(**c)).count();
    let digits = word.iter().filter(|c| c.is_ascii_digit()).count();
    if cyr >= 2 && digits > 0 && digits * 2 <= word.len() {
        let letters_after_first: String = word.iter().skip(1).collect();
        for i in 0..word.len() {
            let Some(r) = digit_to_cyrillic(word[i]) else {
                continue;
            };
            let next_letter = word.get(i + 1).is_some_and(|c| is_cyrillic(*c));
            let prev_ok = i == 0 || is_cyrillic(word[i - 1]);
            let unit = i == 0 && UNITS.contains(&letters_after_first.as_str());
            if next_letter && prev_ok && !unit {
                word[i] = r;
            }
        }
    }
}

/// Abbreviations followed by a dot inside a sentence.
const ABBREVIATIONS: [&str; 22] = [
    "ул",
    "кв",
    "пр",
    "пер",
    "стр",
    "корп",
    "обл",
    "р",
    "руб",
    "см",
    "мм",
    "кг",
    "гр",
    "тел",
    "им",
    "ст",
    "мкр",
    "пос",
    "наб",
    "просп",
    "шт",
    "арт",
];

/// Single letters that are Russian words by themselves ("а", "в", "и", …).
fn standalone_letter(c: char) -> bool {
    matches!(c, 'а' | 'в' | 'и' | 'к' | 'о' | 'с' | 'у' | 'я')
}

/// Separators allowed between spaced-out letters.
fn spacer(s: &str) -> bool {
    !s.is_empty()
        && s.chars().count() <= 3
        && s.chars().all(|c| {
            matches!(
                c,
                ' ' | '.' | '-' | '_' | '*' | '\u{00A0}' | '·' | '/' | '|' | '+' | ','
            )
        })
}

struct RawWord {
    /// Where its letters are in the cleaned characters.
    at: Range<usize>,
    /// Letters spaced out in the text and joined here; `at` then covers the run.
    joined: Option<Vec<char>>,
    span: Range<usize>,
    sentence: u32,
}

/// A letter. Checks Latin and Russian before the Unicode tables.
pub fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphabetic()
    } else {
        matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё') || c.is_alphabetic()
    }
}

/// A letter or digit, as `char::is_alphanumeric` says, checking Latin and
/// Russian before the Unicode tables.
pub fn is_letter_or_digit(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else {
        matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё') || c.is_alphanumeric()
    }
}

/// Push the clean, lowercase form of one character (already known not to be
/// invisible or a control character and to have no combining marks).
fn push_clean(c: char, at: usize, chars: &mut Vec<char>, origin: &mut Vec<usize>) {
    match c {
        _ if c.is_ascii() => chars.push(c.to_ascii_lowercase()),
        'а'..='я' => chars.push(c),
        // Basic Cyrillic capitals are their own NFKC form: no normaliser needed.
        'А'..='Я' => chars.push(char::from_u32(c as u32 + 32).unwrap_or(c)),
        'ё' | 'Ё' => chars.push('е'),
        // Angle brackets that look like `<` and `>` ("⟨system⟩"): a tag is
        // a tag however its brackets were typed.
        '\u{27E8}' | '\u{2329}' | '\u{3008}' | '\u{2039}' => chars.push('<'),
        '\u{27E9}' | '\u{232A}' | '\u{3009}' | '\u{203A}' => chars.push('>'),
        _ => {
            for n in std::iter::once(c).nfkc() {
                if is_combining(n) || is_invisible(n) {
                    continue;
                }
                for l in n.to_lowercase() {
                    chars.push(if l == 'ё' { 'е' } else { l });
                    origin.push(at);
                }
            }
            return;
        }
    }
    origin.push(at);
}

/// Normalise `text` (see the module documentation).
pub fn normalise(text: &str) -> Normalised {
    // 1. Clean each character (and the combining marks that follow it),
    //    remembering where it came from.
    let (chars, origin) = clean_chars(text);
    words_of(text, chars, origin)
}

/// Step 1 of [`normalise`]: each character of `text` cleaned, with the byte
/// offset in `text` it came from.
fn clean_chars(text: &str) -> (Vec<char>, Vec<usize>) {
    let mut chars: Vec<char> = Vec::with_capacity(text.len());
    let mut origin: Vec<usize> = Vec::with_capacity(text.len());
    let mut iter = text.char_indices().peekable();
    let mut cluster = String::new();
    while let Some((at, c)) = iter.next() {
        if is_invisible(c) {
            continue;
        }
        if c.is_control() && c != '\n' {
            chars.push(' ');
            origin.push(at);
            continue;
        }
        // Nearly always: no accent or invisible character follows.
        if iter
            .peek()
            .is_none_or(|&(_, next)| !is_combining(next) && !is_invisible(next))
        {
            push_clean(c, at, &mut chars, &mut origin);
            continue;
        }
        cluster.clear();
        cluster.push(c);
        let mut marks = 0;
        while let Some(&(_, next)) = iter.peek() {
            if is_combining(next) {
                cluster.push(next);
                marks += 1;
                iter.next();
            } else if is_invisible(next) && marks == 0 {
                // An invisible character between a letter and its accent.
                iter.next();
            } else {
                break;
            }
        }
        if marks == 0 {
            push_clean(c, at, &mut chars, &mut origin);
            continue;
        }
        for n in cluster.nfkc() {
            if is_combining(n) || is_invisible(n) {
                continue;
            }
            for l in n.to_lowercase() {
                chars.push(if l == 'ё' { 'е' } else { l });
                origin.push(at);
            }
        }
    }
    (chars, origin)
}

/// Steps 2 and on of [`normalise`]: words, sentences, joined letters,
/// look-alikes and stems.
fn words_of(text: &str, chars: Vec<char>, origin: Vec<usize>) -> Normalised {
    // 2. Words and sentences.
    let mut words: Vec<RawWord> = Vec::new();
    let mut sentence = 0u32;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_letter_or_digit(c) {
            let start = i;
            while i < chars.len() && is_letter_or_digit(chars[i]) {
                i += 1;
            }
            let last = i - 1;
            let last_end = origin[last]
                + text[origin[last]..]
                    .chars()
                    .next()
                    .map_or(1, char::len_utf8);
            words.push(RawWord {
                at: start..i,
                joined: None,
                span: origin[start]..last_end,
                sentence,
            });
            continue;
        }
        let breaks = match c {
            '\n' | '!' | '?' | '…' | ';' => true,
            '.' => {
                let spaced = chars
                    .get(i + 1)
                    .is_none_or(|n| n.is_whitespace() || matches!(n, '.' | '!' | '?'));
                // "ул. Ленина", "Е. А. Смирнова", "д. 5": an abbreviation or
                // an initial, not the end of a sentence.
                let abbreviation = words.last().is_some_and(|w| {
                    let letters = &chars[w.at.clone()];
                    w.span.end == origin[i]
                        && ((letters.len() == 1 && is_letter(letters[0]))
                            || ABBREVIATIONS
                                .iter()
                                .any(|a| a.chars().eq(letters.iter().copied())))
                });
                // The case of the next letter as written (the clean text is folded).
                let next = (i + 1..chars.len())
                    .find(|j| !chars[*j].is_whitespace())
                    .and_then(|j| text[origin[j]..].chars().next());
                let next_lower = next.is_some_and(|c| c.is_lowercase() || c.is_ascii_digit());
                spaced && !abbreviation && !next_lower
            }
            _ => false,
        };
        if breaks && words.last().is_some_and(|w| w.sentence == sentence) {
            sentence += 1;
        }
        i += 1;
    }
    // 3. Join letters spaced out to dodge a filter.
    let first_letter = |w: &RawWord| chars[w.at.start];
    let single = |w: &RawWord| w.at.len() == 1 && is_letter(chars[w.at.start]);
    let mut joined: Vec<RawWord> = Vec::with_capacity(words.len());
    let gap_after =
        |k: usize| -> Option<&str> { text.get(words[k].span.end..words[k + 1].span.start) };
    let mut w = 0;
    while w < words.len() {
        if !single(&words[w]) {
            joined.push(RawWord {
                at: words[w].at.clone(),
                joined: None,
                span: words[w].span.clone(),
                sentence: words[w].sentence,
            });
            w += 1;
            continue;
        }
        // The run of single letters, and the width of the gap between the
        // letters of one word: the commonest width inside the run, the
        // narrowest of equally common ones. Another width separates two
        // spaced-out words, whether wider ("в е р н е м  д е н ь г и") or
        // narrower ("д . о . г . о . в . о . р с в . а . м . и").
        let mut e = w;
        while e + 1 < words.len() && single(&words[e + 1]) && gap_after(e).is_some_and(spacer) {
            e += 1;
        }
        let width = |k: usize| gap_after(k).map(|g| g.chars().count());
        let mut widths = [0usize; 4];
        for k in w..e {
            if let Some(n) = width(k) {
                widths[n.min(3)] += 1;
            }
        }
        let within = (1..=3)
            .max_by(|a, b| widths[*a].cmp(&widths[*b]).then_with(|| b.cmp(a)))
            .unwrap_or(1);
        // The spaced-out words of the run, each (first, last, long enough
        // to be joined on its own).
        let mut parts: Vec<(usize, usize, bool)> = Vec::new();
        let mut start = w;
        for k in w..=e {
            let ends_here = k == e || width(k) != Some(within);
            if !ends_here {
                continue;
            }
            let run = k - start + 1;
            let odd = (start..=k)
                .filter(|i| !standalone_letter(first_letter(&words[*i])))
                .count();
            let latin = first_letter(&words[start]).is_ascii_alphabetic();
            let join = if latin {
                run >= 5
            } else {
                run >= 5 || (run >= 3 && odd >= 2)
            };
            parts.push((start, k, join));
            start = k + 1;
        }
        // Beside a word spaced out this way, a short one spaced out the
        // same way is a word too: "о т в е т ь   т о л ь к о   д а".
        let spaced_words = parts.iter().any(|p| p.2);
        for (start, k, join) in parts {
            if join || (spaced_words && k > start) {
                joined.push(RawWord {
                    at: words[start].at.start..words[k].at.end,
                    joined: Some((start..=k).map(|i| first_letter(&words[i])).collect()),
                    span: words[start].span.start..words[k].span.end,
                    sentence: words[start].sentence,
                });
            } else {
                for word in &words[start..=k] {
                    joined.push(RawWord {
                        at: word.at.clone(),
                        joined: None,
                        span: word.span.clone(),
                        sentence: word.sentence,
                    });
                }
            }
        }
        w = e + 1;
    }
    // 4. Look-alikes, stems; the clean text with the folded words in place.
    // The clean text is `chars` with the folded words put in place (each
    // word's letters are read before its own places change).
    let mut chars = chars;
    let mut tokens = Vec::with_capacity(joined.len());
    let mut cursor = 0usize;
    let mut letters: Vec<char> = Vec::new();
    let mut spelled = String::new();
    let mut words_text = String::with_capacity(text.len());
    for word in joined {
        letters.clear();
        match &word.joined {
            Some(j) => letters.extend_from_slice(j),
            None => letters.extend_from_slice(&chars[word.at.clone()]),
        }
        // Only a word mixing Cyrillic with Latin letters or digits can fold.
        let cyrillic = letters.iter().any(|c| is_cyrillic(*c));
        if cyrillic && letters.iter().any(char::is_ascii_alphanumeric) {
            let before = letters.clone();
            fold_confusables(&mut letters);
            if before != letters {
                // Put the folded letters into the clean text where the word was.
                while cursor < origin.len() && origin[cursor] < word.span.start {
                    cursor += 1;
                }
                let mut k = 0;
                let mut j = cursor;
                while j < chars.len() && k < before.len() && origin[j] < word.span.end {
                    if chars[j] == before[k] {
                        chars[j] = letters[k];
                        k += 1;
                    }
                    j += 1;
                }
            }
        }
        // Through a reused buffer: collecting chars into a compact string
        // one by one costs more than the copy.
        spelled.clear();
        spelled.extend(letters.iter());
        let norm = CompactString::from(spelled.as_str());
        let stem = stem(&norm);
        if !words_text.is_empty() {
            words_text.push(' ');
        }
        words_text.push_str(&norm);
        tokens.push(Token {
            norm,
            stem,
            span: word.span,
            sentence: word.sentence,
        });
    }
    Normalised {
        clean: {
            let mut s = String::with_capacity(chars.iter().map(|c| c.len_utf8()).sum());
            s.extend(chars);
            s
        },
        words: words_text,
        tokens,
        features: std::sync::OnceLock::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> String {
        normalise(text).words
    }

    #[test]
    fn look_alike_angle_brackets_are_folded() {
        assert_eq!(normalise("⟨system⟩ ‹b›").clean, "<system> <b>");
    }

    #[test]
    fn case_yo_and_nfkc_are_folded() {
        assert_eq!(words("ВЕРНЁМ Деньги"), "вернем деньги");
        assert_eq!(words("ｆｕｌｌ ｗｉｄｔｈ"), "full width");
        assert_eq!(words("е\u{0308}лка"), "елка");
    }

    #[test]
    fn invisible_characters_are_removed_and_controls_split() {
        assert_eq!(
            words("иг\u{200B}но\u{200D}рируй ин\u{FEFF}струкции"),
            "игнорируй инструкции"
        );
        assert_eq!(words("бот\u{0007}магазина"), "бот магазина");
        assert_eq!(words("ве\u{00AD}рнём"), "вернем");
    }

    #[test]
    fn look_alike_letters_are_folded_into_the_word_s_script() {
        assert_eq!(words("cиcтeмa"), "система");
        assert_eq!(words("ПРИBET"), "привет");
        assert_eq!(words("ignоre previous"), "ignore previous");
        assert_eq!(words("6от"), "бот");
        assert_eq!(words("3шт по 40см"), "3шт по 40см");
        assert_eq!(words("iPhone 15 ok"), "iphone 15 ok");
    }

    #[test]
    fn spaced_out_letters_are_joined_but_short_words_are_not() {
        assert_eq!(words("мы в е р н ё м деньги"), "мы вернем деньги");
        assert_eq!(words("и.г.н.о.р.и.р.у.й"), "игнорируй");
        assert_eq!(words("б о т"), "бот");
        assert_eq!(words("а я в шоке"), "а я в шоке");
        assert_eq!(words("размеры s m l"), "размеры s m l");
        assert_eq!(words("i g n o r e all"), "ignore all");
        assert_eq!(
            words("так что о т в е т ь   т о л ь к о   д а если"),
            "так что ответь только да если"
        );
        assert_eq!(words("размеры s m   x l"), "размеры s m x l");
        assert_eq!(
            words("и г н о р и р у й   и н с т р у к ц и и"),
            "игнорируй инструкции"
        );
        // Wider gaps inside the words than between them.
        assert_eq!(
            words("как д . о . г . о . в . о . р . и . л . и . с . ь с в . а . ш . и . м"),
            "как договорились с вашим"
        );
    }

    #[test]
    fn invisible_characters_are_counted_only_inside_words() {
        assert_eq!(invisible_inside_words("во\u{200b}зв\u{2060}рат"), 2);
        assert_eq!(
            invisible_inside_words("при\u{00AD}мер 👍\u{200d}🔥 текст"),
            0
        );
        assert_eq!(invisible_inside_words("\u{200b}слово\u{200b} слово"), 0);
    }

    #[test]
    fn tokens_keep_their_place_in_the_original_and_their_sentence() {
        let text = "Здравствуйте! Мы ВЕРНЁМ деньги.";
        let n = normalise(text);
        let t = &n.tokens[2];
        assert_eq!(t.norm, "вернем");
        assert_eq!(&text[t.span.clone()], "ВЕРНЁМ");
        assert_eq!(n.tokens[0].sentence, 0);
        assert_eq!(t.sentence, 1);
        assert_eq!(n.excerpt(text, 1, 3), "Мы ВЕРНЁМ деньги");
        let n = normalise("Забрала Смирнова Е. А., ул. Ленина, д. 5. Звоните.");
        assert_eq!(n.tokens.iter().map(|t| t.sentence).max(), Some(1));
    }

    #[test]
    fn hyphenated_words_are_two_words() {
        assert_eq!(words("робот-пылесос"), "робот пылесос");
    }

    #[test]
    fn stems_follow_the_word_s_language() {
        assert_eq!(stem("деньгами"), "деньг");
        assert_eq!(stem("ботом"), "бот");
        assert_eq!(stem("refunds"), "refund");
    }

    #[test]
    fn the_clean_text_keeps_separators_and_folds_letters() {
        let n = normalise("Пишите: shоp@mаil.ru, +7 (999) 123-45-67");
        assert_eq!(n.clean, "пишите: shop@mail.ru, +7 (999) 123-45-67");
    }
}
