//! Swearing and insults, plain or masked with symbols, in Russian and English.
//!
//! Works on the normalised words: a word is swearing when it starts with one
//! of the swear stems or is one of the insults that only count as whole
//! words ("лох" but not "лохматый"). A word with letters replaced by `*`,
//! `@`, `#`, `$`, `%` or `.` ("п@здец", "б**ть", "х.й") counts when it can be
//! read as a known swear word. One table lookup per word, no regex: this runs
//! on every buyer turn and every draft.

use std::sync::LazyLock;

use super::{Normalised, Token};

/// A word starting with one of these is swearing.
const STEMS: &[&str] = &[
    "хуй",
    "хуе",
    "хуя",
    "хуи",
    "хую",
    "нахуй",
    "нахер",
    "похуй",
    "охуе",
    "херов",
    "пизд",
    "пезд",
    "спизд",
    "распизд",
    "еб",
    "заеб",
    "доеб",
    "уеб",
    "выеб",
    "отъеб",
    "отьеб",
    "отеб",
    "наеб",
    "подъеб",
    "подьеб",
    "подеб",
    "бля",
    "бледь",
    "сука",
    "суки",
    "суку",
    "суке",
    "суко",
    "сучар",
    "мудак",
    "мудил",
    "мразь",
    "мрази",
    "мразо",
    "дебил",
    "дибил",
    "идиот",
    "гандон",
    "гондон",
    "долбоеб",
    "чмошн",
    "чмыр",
    "говн",
    "дерьм",
    "урод",
    "ублюд",
    "даун",
    "кретин",
    "придур",
    "дегенерат",
    "шлюх",
    "пидор",
    "пидар",
    "петух",
    "козлы",
    "козла",
    "козли",
    "скотин",
    "быдл",
    "гнид",
    "падл",
    "ушлеп",
    "засранц",
    "сволоч",
    "негодя",
    "мерзавц",
    "мерзавец",
    "подонк",
    "подонок",
    "тупиц",
    "тупорыл",
    "лохушк",
    "жулик",
    "ворюг",
    "шарлатан",
    // Kazakh "ақымақ" (fool), as buyers from Kazakhstan write it in Russian text.
    "ақымақ",
    "акымак",
    "fuck",
    "shit",
    "bitch",
    "asshole",
    "bastard",
    "moron",
    "idiot",
];

/// Insults that count only as the whole word.
const WORDS: &[&str] = &[
    "хер",
    "херня",
    "херню",
    "тварь",
    "твари",
    "чмо",
    "чмом",
    "чмошник",
    "козел",
    "засранец",
    "лох",
    "лохи",
    "лоха",
    "лохов",
    "лохам",
    "лохами",
    // Not a stem: "сучкорез", "доска без сучков" are about wood.
    "сучка",
    "сучку",
    "сучкой",
    "сучки",
    "stupid",
    // Not a stem: "dumbbell" is a weight.
    "dumb",
    // "Гадина" for a person; not "гады", which are also seafood ("морские гады").
    "гадина",
    "гадины",
    "гадье",
    // "Ишаки" (donkeys), not the surname Ишаков.
    "ишак",
    "ишаки",
    "ишака",
    "ишакам",
    "ишаками",
];

/// Swear words a masked spelling is read against ("нах*й", "п@здец").
const SWEAR_WORDS: [&str; 34] = [
    "хуй",
    "хуя",
    "хуе",
    "хую",
    "нахуй",
    "похуй",
    "хуйня",
    "хуево",
    "охуели",
    "охуеть",
    "пизда",
    "пиздец",
    "пизды",
    "пиздеж",
    "бля",
    "блять",
    "блядь",
    "сука",
    "суки",
    "ебать",
    "ебаный",
    "ебанный",
    "ебанутые",
    "заебали",
    "заебал",
    "уебки",
    "уебок",
    "мудак",
    "мудаки",
    "нахер",
    "гондон",
    "долбоеб",
    "дерьмо",
    "говно",
];

const MASKS: [char; 6] = ['*', '@', '#', '$', '%', '.'];

/// Stems and whole words by their first letter.
/// Swear stems and whole words that start with one letter.
type ByFirst = rustc_hash::FxHashMap<char, (Vec<&'static str>, Vec<&'static str>)>;

static BY_FIRST: LazyLock<ByFirst> = LazyLock::new(|| {
    let mut m: rustc_hash::FxHashMap<char, (Vec<&str>, Vec<&str>)> =
        rustc_hash::FxHashMap::default();
    for s in STEMS {
        let first = s.chars().next().expect("non-empty");
        m.entry(first).or_default().0.push(s);
    }
    for w in WORDS {
        let first = w.chars().next().expect("non-empty");
        m.entry(first).or_default().1.push(w);
    }
    m
});

fn is_swear_word(word: &str) -> bool {
    let Some(first) = word.chars().next() else {
        return false;
    };
    BY_FIRST.get(&first).is_some_and(|(stems, words)| {
        stems.iter().any(|s| word.starts_with(s)) || words.contains(&word)
    })
}

/// Swear words typed in Latin letters whose Cyrillic reading would start
/// with a stem too short to trust on a Latin word ("хуе" is also Philips
/// Hue, "еб" also eBay): only these spellings count.
const LATIN_SWEARS: &[&str] = &[
    "hui", "huy", "huj", "xuy", "xui", "nahui", "nahuy", "nahuj", "pohui", "pohuy", "blya",
    "blyat", "blyad", "bljad", "blead", "suka", "ebat", "ebal", "ebali", "eban", "ebanyi",
    "ebanyy", "ebanye", "eblan", "eblany", "zaebal", "zaebali", "naebali", "naebal",
];

/// Stems that English words, names and translit Russian also read back as
/// ("padlock", "dauntless", the brand Suki, the jacket Sukajan, the surname
/// Petukhova, "stroitelnye kozly", "sredstvo ot gnid").
const UNTRUSTED_IN_LATIN: [&str; 12] = [
    "даун",
    "падл",
    "сука",
    "суки",
    "суку",
    "суке",
    "суко",
    "петух",
    "козлы",
    "козла",
    "козли",
    "гнид",
];

/// A swear word typed in Latin letters ("pidarasy", "mudak", "suka"): one
/// of [`LATIN_SWEARS`], or a word whose Cyrillic reading starts with a swear
/// stem of at least four letters and ends at most four letters later (so
/// "debilitating" is not "дебил…"). English words read back as nonsense, so a
/// brand's name is not taken for one unless it spells a long stem.
fn is_translit_swear(word: &str) -> bool {
    if word.len() < 3 || !word.bytes().all(|b| b.is_ascii_lowercase() || b == b'\'') {
        return false;
    }
    if LATIN_SWEARS.contains(&word) {
        return true;
    }
    let Some(cyr) = super::translit::to_cyrillic(word) else {
        return false;
    };
    let Some(first) = cyr.chars().next() else {
        return false;
    };
    BY_FIRST.get(&first).is_some_and(|(stems, _)| {
        stems.iter().any(|s| {
            s.chars().count() >= 4
                && cyr.starts_with(s)
                && cyr.chars().count() <= s.chars().count() + 4
                && !UNTRUSTED_IN_LATIN.contains(s)
        })
    })
}

/// `masked` read as `word`: same length, every letter equal or masked.
fn reads_as(masked: &str, word: &str) -> bool {
    masked.chars().count() == word.chars().count()
        && masked
            .chars()
            .zip(word.chars())
            .all(|(m, w)| m == w || MASKS.contains(&m))
}

/// Whether a mask character sits inside a word: "п@здец", "х.й", not "ул. 5".
fn has_inner_mask(clean: &str) -> bool {
    let mut prev_letter = false;
    let mut chars = clean.chars().peekable();
    while let Some(c) = chars.next() {
        if MASKS.contains(&c)
            && (c != '.' || (prev_letter && chars.peek().is_some_and(|n| super::is_letter(*n))))
        {
            return true;
        }
        prev_letter = super::is_letter(c);
    }
    false
}

fn masked_swear(clean: &str) -> Option<String> {
    if !has_inner_mask(clean) {
        return None;
    }
    let is_part = |c: char| super::is_letter(c) || MASKS.contains(&c);
    for piece in clean.split(|c: char| !is_part(c)) {
        let w = piece.trim_matches('.');
        if !w.contains(MASKS) {
            continue;
        }
        let len = w.chars().count();
        let masks = w.chars().filter(|c| MASKS.contains(c)).count();
        if len < 3 || masks > 3 || masks == len {
            continue;
        }
        if SWEAR_WORDS.iter().any(|s| reads_as(w, s)) || masked_stem(w) {
            return Some(w.to_string());
        }
    }
    None
}

/// A masked word that starts with a long swear stem or swear word read
/// through its masks, whatever its ending: "д@лбо*бы", "м*дила", "ид*оты".
/// Only stems of five letters or more, with the word's first letter shown
/// and at most two of the stem's letters masked: shorter stems read
/// through masks would match too much.
fn masked_stem(w: &str) -> bool {
    if w.chars().next().is_none_or(|c| MASKS.contains(&c)) {
        return false;
    }
    let reads = |stem: &str| {
        let mut masked = 0;
        let mut letters = w.chars();
        stem.chars().count() >= 5
            && stem.chars().all(|s| match letters.next() {
                Some(m) if m == s => true,
                Some(m) if MASKS.contains(&m) => {
                    masked += 1;
                    true
                }
                _ => false,
            })
            && masked <= 2
    };
    STEMS.iter().chain(SWEAR_WORDS.iter()).any(|s| reads(s))
}

/// Masked spellings where the number of masks need not match the letters
/// hidden: "х**", "п@@дец", "б**ть", "с*ка", "f**k".
fn loosely_masked(clean: &str) -> Option<String> {
    const SYMBOLS: [char; 5] = ['*', '@', '#', '$', '%'];
    if !clean.contains(SYMBOLS) {
        return None;
    }
    let is_part = |c: char| super::is_letter(c) || SYMBOLS.contains(&c);
    for w in clean.split(|c: char| !is_part(c)) {
        if !w.contains(SYMBOLS) {
            continue;
        }
        if w.starts_with("***") {
            return Some(w.to_string());
        }
        // The letters before the first mask and after the last.
        let head: String = w.chars().take_while(|c| !SYMBOLS.contains(c)).collect();
        let tail = w.trim_end_matches(|c: char| !SYMBOLS.contains(&c));
        let tail = &w[tail.len()..];
        let hit = match head.as_str() {
            "х" | "ху" | "хy" | "пи" | "пе" | "пi" | "бл" | "е" | "mf" => true,
            "п" => tail.starts_with(['з', 'д']),
            "б" | "еб" => ["ть", "дь", "я", "ан", "ал", "л"]
                .iter()
                .any(|t| tail.starts_with(t)),
            "с" => tail.starts_with("ка") || tail.starts_with("ки"),
            "f" => tail.starts_with('k'),
            _ => false,
        };
        if hit {
            return Some(w.to_string());
        }
    }
    None
}

/// The first swear word or insult in the text, if any.
pub fn swearing(n: &Normalised) -> Option<String> {
    swearing_where(n, |_| true)
}

/// [`swearing`], reading as words only the tokens `counts` lets through
/// (masked spellings are looked for in the whole text).
pub fn swearing_where(n: &Normalised, counts: impl Fn(&Token) -> bool) -> Option<String> {
    n.tokens
        .iter()
        .find(|t| counts(t) && (is_swear_word(&t.norm) || is_translit_swear(&t.norm)))
        .map(|t| t.norm.to_string())
        .or_else(|| loosely_masked(&n.clean))
        .or_else(|| masked_swear(&n.clean))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalise;

    fn swears(text: &str) -> bool {
        swearing(&normalise(text)).is_some()
    }

    #[test]
    fn swearing_typed_in_latin_letters_is_found_and_brands_are_not() {
        for text in [
            "mudaki vy vse",
            "vy tam sovsem pidory?",
            "suka gde moi zakaz",
            "ну вы и gandony",
            "eto govno a ne chehol",
        ] {
            assert!(swears(text), "{text}");
        }
        for text in [
            "Лампа Philips Hue не подключается",
            "Планшет Huion H640P подойдёт?",
            "Заказывал на eBay такой же",
            "Where can I find her order?",
            "kabel usb type c podoidet?",
            "paddle board v nalichii?",
            "Need a padlock for the bike, is this one steel?",
            "Крем Suki для рук в наличии?",
            "Sukajan jacket, size M available?",
            "Petukhova Anna, zakaz 5521",
            "stroitelnye kozly v nalichii?",
            "sredstvo ot vshey i gnid",
            "a debilitating back injury, need a soft mattress",
            "Гантели dumbbell 5 кг пришли",
        ] {
            assert!(!swears(text), "{text}");
        }
    }

    #[test]
    fn swear_words_in_any_form_are_found() {
        assert!(swears("Вы там совсем ОХУЕЛИ?"));
        assert!(swears("какая же вы мразь"));
        assert!(swears("продавец лох"));
        assert!(swears("you are stupid"));
        assert!(swears("сукааа"));
    }

    #[test]
    fn masked_swearing_is_found() {
        assert!(swears("что за х**ня"));
        assert!(swears("п@здец полный"));
        assert!(swears("б**ть, опять"));
        assert!(swears("с*ка"));
        assert!(swears("х.й вам"));
        assert!(swears("f**k this"));
        assert!(swears("вы *** ***"));
        assert!(swears("работаете как д@лбо*бы"));
        assert!(swears("ну вы и ид*оты все"));
        assert!(swears("м*дилы, где посылка"));
    }

    #[test]
    fn ordinary_words_are_not_swearing() {
        assert!(!swears("лохматая игрушка, очень мягкая"));
        assert!(!swears("сукно плотное, ткань хорошая"));
        assert!(!swears(
            "для толстых веток нужен сучкорез, доска без сучков"
        ));
        assert!(swears("ну ты и сучка"));
        assert!(!swears("чмоки, спасибо за заказ"));
        assert!(!swears("ул. Ленина, д. 5, т.е. завтра"));
        assert!(!swears("пишите на shop@mail.ru"));
        assert!(!swears("скидка 50%, цена 1 500 руб."));
        assert!(!swears("Спасибо большое, всё пришло!"));
        assert!(!swears("ид*альный вариант для дачи"));
        assert!(!swears("модель д*2000 в наличии"));
    }
}
