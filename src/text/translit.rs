//! Russian typed in Latin letters ("dostavka kogda", "vernite dengi
//! pozhaluysta") read back in Cyrillic, so that the classifier's features for
//! "dostavka" and "доставка" are the same. Buyers use several conventions at
//! once (ГОСТ, passport, phone-keyboard habits), so this is a best guess, not
//! a standard: an English word comes out as nonsense Cyrillic, which matches
//! nothing and costs nothing.

/// The Cyrillic reading of a word written in lowercase ASCII letters, or
/// `None` for anything else (digits, mixed scripts, one letter).
pub fn to_cyrillic(word: &str) -> Option<String> {
    if word.len() < 2 || !word.bytes().all(|b| b.is_ascii_lowercase() || b == b'\'') {
        return None;
    }
    let b = word.as_bytes();
    let vowel = |c: u8| matches!(c, b'a' | b'e' | b'i' | b'o' | b'u' | b'y');
    let mut out = String::with_capacity(word.len() * 2);
    let mut i = 0;
    while i < b.len() {
        let rest = &word[i..];
        let prev = i.checked_sub(1).map(|p| b[p]);
        let (cyr, used) = if rest.starts_with("shch") {
            ("щ", 4)
        } else if rest.starts_with("sch") {
            ("щ", 3)
        } else if rest.starts_with("zh") {
            ("ж", 2)
        } else if rest.starts_with("kh") {
            ("х", 2)
        } else if rest.starts_with("ch") {
            ("ч", 2)
        } else if rest.starts_with("sh") {
            ("ш", 2)
        } else if (rest.starts_with("ts") && i + 2 == b.len())
            || rest.starts_with("tsy")
            || rest.starts_with("tsi")
        {
            ("ц", 2)
        } else if rest.starts_with("yu") || rest.starts_with("ju") || rest.starts_with("iu") {
            ("ю", 2)
        } else if rest.starts_with("ya") || rest.starts_with("ja") || rest.starts_with("ia") {
            ("я", 2)
        } else if rest.starts_with("yo")
            || rest.starts_with("jo")
            || (rest.starts_with("ye") && (i == 0 || prev.is_some_and(vowel)))
        {
            ("е", 2)
        } else {
            let c = b[i];
            let after_vowel = prev.is_some_and(vowel);
            let last = i + 1 == b.len();
            let next_vowel = b.get(i + 1).copied().is_some_and(vowel);
            let s = match c {
                b'a' => "а",
                b'b' => "б",
                b'c' => "ц",
                b'd' => "д",
                b'e' => "е",
                b'f' => "ф",
                b'g' => "г",
                b'h' => "х",
                // "kakoi", "moi": a final "i" after a vowel is "й".
                b'i' if after_vowel && last => "й",
                b'i' => "и",
                b'j' => "й",
                b'k' => "к",
                b'l' => "л",
                b'm' => "м",
                b'n' => "н",
                b'o' => "о",
                b'p' => "п",
                b'q' => "к",
                b'r' => "р",
                b's' => "с",
                b't' => "т",
                b'u' => "у",
                b'v' | b'w' => "в",
                b'x' => "кс",
                // "kakoy", "zdravstvuyte": after a vowel and not before one.
                b'y' if after_vowel && !next_vowel => "й",
                b'y' => "ы",
                b'z' => "з",
                b'\'' => "ь",
                _ => return None,
            };
            (s, 1)
        };
        out.push_str(cyr);
        i += used;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::to_cyrillic;

    #[test]
    fn common_conventions_read_back() {
        for (latin, cyrillic) in [
            ("dostavka", "доставка"),
            ("kogda", "когда"),
            ("pozhaluysta", "пожалуйста"),
            ("zdravstvuyte", "здравствуйте"),
            ("kakoi", "какой"),
            ("razmer", "размер"),
            ("posylka", "посылка"),
            ("vernite", "верните"),
            ("shchetka", "щетка"),
            ("yabloko", "яблоко"),
        ] {
            assert_eq!(to_cyrillic(latin).as_deref(), Some(cyrillic), "{latin}");
        }
    }

    #[test]
    fn only_plain_latin_words_are_read() {
        assert_eq!(to_cyrillic("заказ"), None);
        assert_eq!(to_cyrillic("a1"), None);
        assert_eq!(to_cyrillic("x"), None);
    }
}
