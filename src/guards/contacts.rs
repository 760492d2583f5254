//! Contact data, links and markup in a draft: patterns over characters, on
//! the normalised text (so look-alike letters and invisible characters
//! cannot hide them).

use std::sync::LazyLock;

use regex::Regex;

use crate::textre::WordRegex;

/// Phone numbers: an explicit country code, a Russian 8/7 prefix with ten
/// more digits, or digits grouped the way phone numbers are written.
static PHONE: LazyLock<WordRegex> = LazyLock::new(|| {
    WordRegex::fixed(concat!(
        r"(?:^|[^\w+])(",
        r"\+\s?\d{1,3}[\s\-.()]{0,3}\d{2,4}[\s\-.()]{0,3}\d{2,4}[\s\-.]{0,3}\d{2,4}(?:[\s\-.]{0,3}\d{1,4})?",
        r"|[78][\s\-.(]{0,3}\d{3}[\s\-.)]{0,3}\d{3}[\s\-.]{0,3}\d{2}[\s\-.]{0,3}\d{2}",
        r"|\(\d{3,5}\)[\s\-.]?\d{1,3}[\s\-.]?\d{2}[\s\-.]?\d{2}",
        r"|\d{3}[\s\-.]\d{3}[\s\-.]\d{2}[\s\-.]\d{2}",
        r"|\d{3}[\s\-.]\d{2}[\s\-.]\d{2}\b",
        // A Russian mobile in any grouping, slashes included: "8/915/555/12/34",
        // "89 16 - 222 - 33 - 44" (a 9 after the 8 keeps size runs such as
        // "80/86/92/98/104" out).
        r"|(?:\+\s?7|[78])[\s\-–—./()_]{0,3}9(?:[\s\-–—./()_]{0,3}\d){9}",
        // One digit at a time: "+7 9 0 3 1 2 4 5 6 7 8", "8 9 1 6 — 4 4 0 — …".
        r"|\+?\d(?:[\s\-–—.()]{1,4}\d){9,13}",
        r")(?:$|[^\w])",
    ))
});

/// A bare run of digits next to a word that says it is a phone number.
static PHONE_IN_CONTEXT: LazyLock<Regex> = LazyLock::new(|| {
    // The word starts at a word's start: "производителя" holds "тел".
    Regex::new(r"(?:^|\W)(?:тел\w*|номер\w*\s+(?:телефона|для\s+связи|менеджера|склада|мастера|курьера)|звон\w*|позвон\w*|созвон\w*|перезвон\w*|дозвон\w*|whatsapp|ватсап\w*|viber|вайбер\w*|телеграм\w*|phone|call)\D{0,20}(\d[\d\s\-–—.()]{8,20}\d)").expect("compiles")
});

/// Words a number is when it is not a phone.
static NOT_A_PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:заказ\w*|артикул\w*|арт\.?|№|трек\w*|гост\w*|серийн\w*|s/n|sn|sku|штрихкод\w*|номер\s+заказа|накладн\w*|код\s+товара|модел\w*|каталожн\w*\s+номер\w*|номер\w*\s+(?:производител\w*|детал\w*|запчаст\w*|по\s+каталогу)|oem|парт-?номер\w*)\W{0,4}$").expect("compiles")
});

/// "Телефон водителя, который везёт заказ: 8916…": a number the sentence
/// calls a phone is one, even right after "заказ".
static CALLED_A_PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:телефон\w*|\bтел\b|мобильн\w*|сотов\w*|whatsapp|ватсап\w*|phone)[^.!?\n]*$")
        .expect("compiles")
});

/// Up to 80 characters before a match, on a character boundary.
fn wider_tail(before: &str) -> &str {
    let mut start = before.len().saturating_sub(80);
    while !before.is_char_boundary(start) {
        start += 1;
    }
    &before[start..]
}

static EMAIL: LazyLock<WordRegex> = LazyLock::new(|| {
    WordRegex::fixed(concat!(
        r"[\w.+\-]+\s?@\s?[\w\-]+(?:\s?\.\s?[\w\-]+)+",
        r"|[\w.\-]+\s*(?:[\[({]\s*(?:at|собака|собачка)\s*[\])}]|\sat\s|\s?собака\s?|\s?собачка\s?)\s*[\w\-]+\s*(?:[\[({]\s*(?:dot|точка)\s*[\])}]|\sdot\s|\s?точка\s?|\.)\s*(?:ru|com|net|org|рф|ру|ком|su|by|kz|ua|io|me|info|biz|pro)\b",
    ))
});

/// Sixteen to nineteen digits, grouped or not: a payment card, whether or
/// not its checksum holds.
static CARD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|\D)((?:\d[ \-]?){15,18}\d)(?:\D|$)").expect("compiles"));

/// Handles in messengers and social networks.
static HANDLE: LazyLock<WordRegex> = LazyLock::new(|| {
    WordRegex::fixed(r"(?:^|[\s(:,])@[a-z0-9_.]{4,}|\b(?:t\.me|wa\.me|telegram\.me|vk\.me)/\S+")
});

/// Phone numbers spelled out in words ("восемь девятьсот…").
const NUMBER_WORDS: [&str; 38] = [
    "ноль",
    "один",
    "одна",
    "два",
    "две",
    "три",
    "четыре",
    "пять",
    "шесть",
    "семь",
    "восемь",
    "девять",
    "десять",
    "одиннадцать",
    "двенадцать",
    "тринадцать",
    "четырнадцать",
    "пятнадцать",
    "шестнадцать",
    "семнадцать",
    "восемнадцать",
    "девятнадцать",
    "двадцать",
    "тридцать",
    "сорок",
    "пятьдесят",
    "шестьдесят",
    "семьдесят",
    "восемьдесят",
    "девяносто",
    "сто",
    "двести",
    "триста",
    "четыреста",
    "пятьсот",
    "шестьсот",
    "семьсот",
    "девятьсот",
];

const TLDS: &str = "ru|com|net|org|рф|su|by|kz|ua|uz|io|me|info|biz|pro|shop|store|online|site|cc|ly|co|tv|xyz|app|dev|link|click|top|club|page|to|gl|gg|ai|in|us|uk|eu|ws|fm|am|ms|de|fr|it|es|pl|cz|lt|lv|ee|tk|ml|ga|cf|gq|icu|live|market|moscow|space|website|tech|world|digital|today|life|fun|su|be|gd|im|li|sh|su|рус|москва|онлайн|сайт";

/// Links: with a scheme, `www.`, or a host ending in a known top-level domain.
static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?:https?://|hxxps?://|www\.)[^\s<>«»]+|(?:^|[^\w@.\-])((?:[a-zа-я0-9](?:[a-zа-я0-9\-]*[a-zа-я0-9])?\s?\.\s?)+(?:{TLDS}))(?:/[^\s<>«»]*)?(?:$|[^\w@.])"
    ))
    .expect("compiles")
});

static HOST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:https?://|hxxps?://)?(?:www\.)?([^/\s:?#]+)").expect("compiles")
});

/// Markup a marketplace would show raw: HTML tags and entities, markdown
/// links, bold, headings, code.
static MARKUP: LazyLock<WordRegex> = LazyLock::new(|| {
    WordRegex::fixed(concat!(
        r"<\s*/?\s*[a-z][a-z0-9]*(?:\s[^<>]*)?/?\s*>",
        r"|&(?:#\d{2,6}|#x[0-9a-f]{2,5}|[a-z]{2,8});",
        r"|\[[^\]\n]{1,200}\]\([^)\n]{1,300}\)",
        r"|\*\*[^*\n]{1,200}\*\*|__[^_\n]{1,200}__|~~[^~\n]{1,200}~~",
        // `*курсив*`: a star that opens a word and one that closes it.
        r"|(?m)(?:^|[\s(])\*[^\s*][^*\n]{0,200}?[^\s*]\*(?:$|[\s.,:;!?)])",
        // `_курсив_` the same way, one letter or more ("_L_", "_Светлана_");
        // snake_case names do not open a word with `_`.
        r"|(?m)(?:^|[\s(])_[^\s_](?:[^_\n]{0,200}?[^\s_])?_(?:$|[\s.,:;!?)])",
        // A thematic break on its own line: `---`, `***`, `___`.
        r"|(?m)^[ \t]{0,3}(?:-{3,}|\*{3,}|_{3,})[ \t]*$",
        // A Markdown table's header rule: `|---|---|`.
        r"|\|\s*:?-{3,}:?\s*\|",
        r"|(?m)^\s{0,3}#{1,6}\s+\S",
        // A Markdown quote: a line that opens with `>` and words.
        r"|(?m)^\s{0,3}>\s*[^\s\d<>=]",
        r"|`[^`\n]{1,200}`",
        r"|\bjavascript:|\bonerror\s*=|\bonload\s*=",
    ))
});

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub what: &'static str,
    pub excerpt: String,
}

fn digits(s: &str) -> usize {
    s.chars().filter(char::is_ascii_digit).count()
}

fn phone_like(clean: &str, m: regex::Match<'_>) -> bool {
    let n = digits(m.as_str());
    if !(7..=15).contains(&n) {
        return false;
    }
    let before = &clean[..m.start()];
    let tail: String = before
        .chars()
        .rev()
        .take(30)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let s = m.as_str().trim();
    // "Пошив на заказ: +375 29 614-22-80": no order or article number starts
    // with "+" and a country code.
    let international = s.starts_with('+');
    if !international && NOT_A_PHONE.is_match(&tail) && !CALLED_A_PHONE.is_match(wider_tail(before))
    {
        return false;
    }
    // Seven digits only when written as a city number (123-45-67).
    if n < 10 {
        return s.contains('-') || s.contains('(');
    }
    true
}

/// A phone number spelled out in words, or in words and digits mixed
/// ("девять один шесть", "+7 9 один 6 пять 5 5 ноль 0 12"): a run of number
/// words and digit groups with six number words, or with at least one and
/// ten digits in all.
fn spelled_number(words: &str) -> bool {
    let (mut said, mut digits_in_run) = (0usize, 0usize);
    for w in words.split(' ') {
        if NUMBER_WORDS.contains(&w) {
            said += 1;
            digits_in_run += 1;
        } else if !w.is_empty() && w.len() <= 4 && w.bytes().all(|b| b.is_ascii_digit()) {
            digits_in_run += w.len();
        } else {
            said = 0;
            digits_in_run = 0;
            continue;
        }
        if said >= 6 || (said >= 1 && digits_in_run >= 10) {
            return true;
        }
    }
    false
}

/// `clean` with letters that stand for digits inside a number read as
/// those digits ("9i2" → "912", "з45" → "345", "o0" → "00"), or `None` when
/// there are none. A letter counts only between digits or beside a run of
/// at least two, so words and sizes ("3xl", "s5") are left alone.
fn letters_as_digits(clean: &str) -> Option<String> {
    let digit_for = |c: char| match c {
        'i' | 'l' | '|' | 'і' => Some('1'),
        'з' => Some('3'),
        'o' | 'о' => Some('0'),
        'б' => Some('6'),
        _ => None,
    };
    // Most texts have no such letter beside a digit: look before allocating.
    let mut prev = ' ';
    let mut candidate = false;
    for c in clean.chars() {
        if (digit_for(c).is_some() && prev.is_ascii_digit())
            || (c.is_ascii_digit() && digit_for(prev).is_some())
        {
            candidate = true;
            break;
        }
        prev = c;
    }
    if !candidate {
        return None;
    }
    let chars: Vec<char> = clean.chars().collect();
    // Digits right beside position `i`, or in the neighbouring group across
    // the separators numbers are written with ("44 о2": the "о" ends a group).
    let digits_before = |i: usize, across: bool| leading_digits(chars[..i].iter().rev(), across);
    let digits_after = |i: usize, across: bool| leading_digits(chars[i + 1..].iter(), across);
    let mut out = String::with_capacity(clean.len());
    let mut changed = false;
    for (i, &c) in chars.iter().enumerate() {
        match digit_for(c) {
            Some(d) => {
                let (before, after) = (digits_before(i, false), digits_after(i, false));
                if (before >= 1 && after >= 1)
                    || before >= 2
                    || after >= 2
                    || (after >= 1 && digits_before(i, true) >= 2)
                    || (before >= 1 && digits_after(i, true) >= 2)
                {
                    out.push(d);
                    changed = true;
                } else {
                    out.push(c);
                }
            }
            None => out.push(c),
        }
    }
    changed.then_some(out)
}

/// How many digits `chars` starts with, after any separators when `across`.
fn leading_digits<'a>(chars: impl Iterator<Item = &'a char>, across: bool) -> usize {
    chars
        .skip_while(|c| across && matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .take_while(|c| c.is_ascii_digit())
        .count()
}

/// Contact data: phones, e-mail addresses, payment cards, handles.
pub fn contact_data(clean: &str, words: &str) -> Vec<Found> {
    let mut out = Vec::new();
    // Letters written for digits inside a number ("8-9i2-з45-67-89") are
    // read as the digits they stand for.
    let as_digits = letters_as_digits(clean);
    for view in std::iter::once(clean).chain(as_digits.as_deref()) {
        if let Some(m) = PHONE
            .captures_iter(view)
            .map(|c| c.get(1).expect("group 1"))
            .find(|m| phone_like(view, *m))
        {
            out.push(Found {
                what: "номер телефона",
                excerpt: m.as_str().trim().to_string(),
            });
            break;
        }
    }
    if out.is_empty()
        && let Some(c) = PHONE_IN_CONTEXT.captures(clean)
        && (10..=13).contains(&digits(&c[1]))
    {
        out.push(Found {
            what: "номер телефона",
            excerpt: c[1].to_string(),
        });
    }
    if spelled_number(words) {
        out.push(Found {
            what: "номер телефона словами",
            excerpt: String::new(),
        });
    }
    if let Some(m) = EMAIL.find(clean) {
        out.push(Found {
            what: "адрес почты",
            excerpt: m.as_str().to_string(),
        });
    }
    for c in CARD.captures_iter(clean) {
        let m = c.get(1).expect("group 1");
        let n = digits(m.as_str());
        if (16..=19).contains(&n) {
            out.push(Found {
                what: "номер банковской карты",
                excerpt: m.as_str().to_string(),
            });
            break;
        }
    }
    if let Some(m) = HANDLE.find(clean) {
        out.push(Found {
            what: "контакт в мессенджере",
            excerpt: m.as_str().trim().to_string(),
        });
    }
    out
}

/// A host with its dot spelled out: "kosmetika-opt точка ru", "shop [dot] com".
static SPELLED_HOST: LazyLock<WordRegex> = LazyLock::new(|| {
    WordRegex::fixed(
        r"\b([a-z0-9][a-z0-9\-]{2,})\s*(?:[\[({]\s*(?:dot|точка)\s*[\])}]|\s(?:dot|точка)\s)\s*(ru|com|net|org|рф|su|by|kz|ua|io|me|shop|store|online|site|info|biz|pro)\b",
    )
});

/// Links whose host is not `allowed` (a domain or its subdomains).
pub fn links(clean: &str, allowed: &[String]) -> Vec<Found> {
    // A link "defanged" so that no one clicks it by accident is still a
    // link a buyer is sent to: "site[.]ru", "site(.)ru", "site[dot]ru".
    let refanged;
    let clean = if clean.contains("[.]")
        || clean.contains("(.)")
        || clean.contains("[dot]")
        || clean.contains("(dot)")
    {
        refanged = clean
            .replace("[.]", ".")
            .replace("(.)", ".")
            .replace("[dot]", ".")
            .replace("(dot)", ".");
        refanged.as_str()
    } else {
        clean
    };
    let emails: Vec<std::ops::Range<usize>> = EMAIL.find_iter(clean).map(|m| m.range()).collect();
    let mut out = Vec::new();
    for c in SPELLED_HOST.captures_iter(clean) {
        let m = c.get(0).expect("group 0");
        if emails
            .iter()
            .any(|e| e.start <= m.start() && m.end() <= e.end)
        {
            continue;
        }
        let host = format!("{}.{}", &c[1], &c[2]);
        let ok = allowed
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")));
        if !ok {
            out.push(Found {
                what: "ссылка",
                excerpt: m.as_str().to_string(),
            });
        }
    }
    for c in URL.captures_iter(clean) {
        let m = c.get(1).unwrap_or_else(|| c.get(0).expect("group 0"));
        if emails
            .iter()
            .any(|e| e.start <= m.start() && m.end() <= e.end)
        {
            continue;
        }
        let mut text = m.as_str().trim();
        // "Здравствуйте. Li-Ion", "Добрый день. In stock": a full stop with a
        // space after it and none before ends a sentence; a host spaced out
        // to dodge a filter spaces both sides ("shop . ru") or neither. What
        // follows the last such stop is judged on its own ("Есть.
        // tinyurl.com/x" still holds a link).
        if let Some(end) = text
            .char_indices()
            .rev()
            .find(|&(i, c)| {
                c == '.'
                    && text[i + 1..].starts_with(char::is_whitespace)
                    && !text[..i].ends_with(char::is_whitespace)
            })
            .map(|(i, _)| i + 1)
        {
            text = text[end..].trim_start();
        }
        // "2.5" and "v1.2" are not hosts: a host has a letter before its last dot.
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let host = HOST
            .captures(&compact)
            .map(|h| h[1].trim_end_matches('.').to_string())
            .unwrap_or_default();
        let Some((name, _)) = host.rsplit_once('.') else {
            continue;
        };
        if !name.chars().any(char::is_alphabetic) {
            continue;
        }
        let ok = allowed
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")));
        if !ok {
            out.push(Found {
                what: "ссылка",
                excerpt: text.to_string(),
            });
        }
    }
    out
}

/// The text without its links and e-mail addresses (for counting letters).
pub fn strip_links_and_emails(clean: &str) -> String {
    let no_mail = EMAIL.replace_all(clean, " ");
    URL.replace_all(&no_mail, " ").into_owned()
}

/// A host name in the original text that mixes Latin and Cyrillic letters
/// ("wildberriеs.ru" with a Cyrillic «е»): normalising folds it into the
/// real name, so an allowlist would pass the lookalike.
pub fn spoofed_host(original: &str) -> Option<Found> {
    original
        .split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '«' | '»' | '"' | ','))
        .find(|chunk| {
            let host = chunk.split('/').next().unwrap_or("");
            let dotted = host
                .trim_end_matches(['.', '!', '?', ':', ';'])
                .split('.')
                .filter(|part| part.chars().any(crate::text::is_letter))
                .count()
                >= 2;
            let latin = host.chars().filter(char::is_ascii_alphabetic).count();
            let cyrillic = host
                .chars()
                .filter(|c| crate::text::is_cyrillic(*c))
                .count();
            dotted && latin >= 2 && cyrillic >= 1 && ends_in_a_domain(host) && !names_a_file(host)
        })
        .map(|chunk| Found {
            what: "ссылка",
            excerpt: chunk.to_string(),
        })
}

/// Whether a host's last dotted part could be a top-level domain: two
/// letters or more and nothing else ("ru", "рф", "com"), before a port. A
/// declaration's number ("ЕАЭС N RU Д-KR.РА01.В.45821/23") ends in digits.
fn ends_in_a_domain(host: &str) -> bool {
    let host = host.trim_end_matches(['.', '!', '?', ':', ';']);
    let host = host.split(':').next().unwrap_or(host);
    let last = host.rsplit('.').next().unwrap_or(host);
    last.chars().count() >= 2 && last.chars().all(crate::text::is_letter)
}

/// Whether a dotted chunk with letters of both alphabets is a file's name
/// ("Инструкция.pdf", "Схема_сборки.jpg"): a document or picture extension
/// after a name whose every part is in one alphabet. A spoofed host mixes
/// alphabets inside a part ("wіldberries.ru") or ends in a domain.
fn names_a_file(host: &str) -> bool {
    const EXTENSIONS: &[&str] = &[
        "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "rtf", "txt", "csv",
        "jpg", "jpeg", "png", "gif", "heic", "webp", "bmp", "tif", "tiff", "mp4", "avi", "mp3",
    ];
    let host = host.trim_end_matches(['.', '!', '?', ':', ';']);
    let Some((name, extension)) = host.rsplit_once('.') else {
        return false;
    };
    let one_alphabet = |part: &str| {
        !(part.chars().any(|c| c.is_ascii_alphabetic())
            && part.chars().any(crate::text::is_cyrillic))
    };
    EXTENSIONS.contains(&extension.to_lowercase().as_str()) && name.split('.').all(one_alphabet)
}

pub fn markup(original: &str) -> Option<Found> {
    // Tag names and `javascript:` are the only letters the pattern names, and
    // they are Latin: folding ASCII alone keeps every byte offset, so the
    // excerpt is quoted from the text as written.
    let lower = original.to_ascii_lowercase();
    MARKUP.find(&lower).map(|m| Found {
        what: "разметка",
        excerpt: original[m.range()].to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalise;

    #[test]
    fn a_file_s_name_is_no_spoofed_host() {
        assert!(spoofed_host("Файл «Инструкция.pdf» в карточке").is_none());
        assert!(spoofed_host("пришлите Фото_чека.JPG сюда").is_none());
        // Alphabets mixed inside a part, or a domain at the end, still count.
        assert!(spoofed_host("скачайте wіldberries.pdf").is_some());
        assert!(spoofed_host("зайдите на wіldberries.ru").is_some());
        assert!(spoofed_host("Инструкция.com").is_some());
        assert!(spoofed_host("зайдите на wіldberries.ru:443/lk").is_some());
        // A declaration's or certificate's number mixes alphabets and dots.
        assert!(spoofed_host("декларация ЕАЭС N RU Д-KR.РА01.В.45821/23").is_none());
        assert!(spoofed_host("сертификат № RU C-CN.АЯ46.В.12345").is_none());
    }

    fn contacts(t: &str) -> Vec<&'static str> {
        let n = normalise(t);
        contact_data(&n.clean, &n.words)
            .iter()
            .map(|f| f.what)
            .collect()
    }

    #[test]
    fn phones_in_any_format_and_country() {
        for t in [
            "Звоните: +7 (912) 345-67-89",
            "наш номер 8(999)1234567",
            "+375 29 765-43-21",
            "+998 90 123 45 67",
            "Звоните: 8.912.345.67.89",
            "89991234567",
            "7 916 000 11 22 — прямой номер",
            "+380 67 123 4567",
            "Давайте обсудим по телефону: +7 9 0 3 1 2 4 5 6 7 8",
            "Номер: 8 (9 1 6) 2 3 4 - 5 6 - 7 8",
            "мой номер 8 9О5 З17 22 О8, звоните",
            "Звоните: 8/915/555/12/34, с 9 до 18",
            "89 16 - 222 - 33 - 44, Марина",
            "Наш номер: восемь девятьсот двенадцать триста сорок пять шестьдесят семь восемьдесят девять",
        ] {
            assert!(!contacts(t).is_empty(), "{t}");
        }
    }

    #[test]
    fn a_number_the_sentence_calls_a_phone_is_one_even_after_order() {
        assert!(
            !contact_data(
                "Телефон водителя, который везёт заказ: 89161112233, Рустам.",
                ""
            )
            .is_empty()
        );
        assert!(!contact_data("+7 9 1 6  4 4 4  5 5 6 6", "").is_empty());
        assert!(contact_data("Ваш заказ: 89161112233 передан в доставку.", "").is_empty());
        // A country code after "на заказ" (made to order) is still a phone.
        assert!(!contact_data("Шьём на заказ: +375 29 614-22-80, пишите.", "").is_empty());
        assert!(!contact_data("Доставка заказа: +998 90 321 45 67", "").is_empty());
    }

    #[test]
    fn order_and_article_numbers_are_not_phones() {
        for t in [
            "Ваш заказ № 4287716395 передан в доставку",
            "артикул 145678923",
            "ГОСТ 29298-2005",
            "Размер 200×220 см, 1,2 кг",
            "Батарея 5000 мАч, зарядка 67 Вт",
            "Дата производства 12.03.2024",
            "Размеры в наличии: 42 44 46 48 50 52",
            "Детские размеры: 80/86/92/98/104/110",
            "Рост 86-92, 98-104, 110-116",
            "Каталожный номер производителя — 0 986 494 524",
        ] {
            assert!(contacts(t).is_empty(), "{t}: {:?}", contacts(t));
        }
    }

    #[test]
    fn emails_cards_and_handles() {
        assert!(contacts("пишите на shop.help@mail.ru").contains(&"адрес почты"));
        assert!(contacts("service собака yandex точка ru").contains(&"адрес почты"));
        assert!(contacts("пишите: hello [at] tea-house [точка] ru").contains(&"адрес почты"));
        assert!(contacts("hello (собака) shop (dot) com").contains(&"адрес почты"));
        // The zone spelled in Cyrillic, a hyphen in the host.
        assert!(contacts("пишите на zakaz собака avto-detal точка ру").contains(&"адрес почты"));
        assert!(contacts("sales at kidsworld dot ru").contains(&"адрес почты"));
        assert!(contacts("карта 2202 2056 7788 1234").contains(&"номер банковской карты"));
        assert!(contacts("в телеграме @kovrik_shop").contains(&"контакт в мессенджере"));
    }

    #[test]
    fn links_outside_the_allowlist() {
        let n =
            normalise("Инструкция: bit.ly/3xYz, а карточка https://www.wildberries.ru/catalog/1");
        let found = links(&n.clean, &["wildberries.ru".to_string()]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].excerpt.starts_with("bit.ly"));
        assert!(links(&normalise("объём 0.75 л, версия 2.1.5").clean, &[]).is_empty());
        for sentences in [
            "Здравствуйте. Li-Ion 7,4 В",
            "Добрый день. In stock",
            "Спасибо. Me too",
        ] {
            assert!(
                links(&normalise(sentences).clean, &[]).is_empty(),
                "{sentences}"
            );
        }
        assert_eq!(links(&normalise("пишите на shop . ru").clean, &[]).len(), 1);
        let after = links(&normalise("Есть. tinyurl.com/dvr-fw качайте").clean, &[]);
        assert_eq!(after.len(), 1, "{after:?}");
        assert!(after[0].excerpt.starts_with("tinyurl.com"), "{after:?}");
        assert!(links(&normalise("пишите на shop@mail.ru").clean, &[]).is_empty());
        assert!(!links(&normalise("HTTPS://RUTUBE.RU/VIDEO/8f2c").clean, &[]).is_empty());
        let spelled = normalise("Сертификаты на сайте kosmetika-opt точка ru/sertifikaty");
        assert_eq!(links(&spelled.clean, &[]).len(), 1);
        assert!(links(&spelled.clean, &["kosmetika-opt.ru".to_string()]).is_empty());
        assert!(
            links(
                &normalise("пишите hello [at] tea-house [точка] ru").clean,
                &[]
            )
            .is_empty()
        );
        assert!(links(&normalise("ставим точку в споре").clean, &[]).is_empty());
    }

    #[test]
    fn lookalike_letters_in_a_host_are_a_link_finding() {
        assert!(spoofed_host("Всё про уход: wildberriеs.ru/care — там").is_some());
        assert!(spoofed_host("Всё про уход: wildberries.ru/care").is_none());
        assert!(spoofed_host("Модель iPhone 13, т.е. mini, версия 2.1").is_none());
        assert!(spoofed_host("Размер M.Да, есть").is_none());
    }

    #[test]
    fn markup_but_not_comparison_signs() {
        assert!(markup("Здравствуйте, <b>Анна</b>!").is_some());
        // Tags in capitals count, and the excerpt quotes the text as written.
        assert_eq!(
            markup("Здравствуйте, <B>Анна</B>!").map(|f| f.excerpt),
            Some("<B>".to_string())
        );
        assert_eq!(
            markup("**Важно:** Стирать при 30").map(|f| f.excerpt),
            Some("**Важно:**".to_string())
        );
        assert!(markup("[таблица](https://x.ru)").is_some());
        assert!(markup("**Важно:** стирать при 30").is_some());
        assert!(markup("*Цвет:* бежевый, графит").is_some());
        assert!(markup("Сейчас ~~2 990 ₽~~ 2 490 ₽").is_some());
        assert!(markup("| Размер | Грудь | |---|---| | S | 84 |").is_some());
        assert!(markup("[Инструкция](см. раздел «Документы»)").is_some());
        assert!(markup("Ток <= 2 А").is_none());
        assert!(markup("Спасибо <3").is_none());
        assert!(markup("Цена со скидкой* — *скидка площадки").is_none());
        assert!(markup("Объём 2*3 м, вес 5 * 2 кг").is_none());
        assert!(markup("Да, размер _M_ есть").is_some());
        assert!(markup("Здравствуйте!\n---\nСтирать при 30").is_some());
        assert!(markup("Размеры: 42 --- 44").is_none());
        assert!(markup("Здравствуйте, _Ольга_!").is_some());
        assert!(markup("Артикул продавца ab_cd_12, имя файла my_photo_.jpg").is_none());
    }
}
