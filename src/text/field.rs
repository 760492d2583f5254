//! Buyer-controlled fields (display names, product titles from listings a
//! buyer may have written) made safe to print inside a reply: a template that
//! greets "{{ buyer.name }}" must not carry a link, markup, a contact or an
//! instruction into the draft.

use std::sync::LazyLock;

use regex::Regex;

use crate::textre::WordRegex;
use unicode_normalization::UnicodeNormalization;

/// Links, domains, e-mail addresses, @handles and long digit runs (phones).
static CARRIER: LazyLock<WordRegex> = LazyLock::new(|| {
    WordRegex::fixed(
        r"(?ix)
        (?:[a-z][a-z0-9+.-]*://\S*)            # scheme://…
        | (?:www\.\S*)
        | (?:\S+@\S+)                           # e-mail
        | (?:@\w+)                              # handle
        | (?:[\p{L}\p{N}-]+\.(?:[a-z]{2,6}|рф|рус)(?:/\S*)?\b)   # domain.tld
        | (?:\+?\d[\d\s().-]{7,}\d)             # phone-like digit runs
        ",
    )
});

/// Markup: HTML tags, and what is left of them.
static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<[^>]{0,200}>?").expect("compiles"));

/// The field as plain words, at most `max_chars` long, or `None` if nothing
/// printable is left.
pub fn sanitise_field(raw: &str, max_chars: usize) -> Option<String> {
    let folded: String = raw
        .nfkc()
        .filter(|c| !c.is_control() && !super::is_invisible(*c))
        .collect();
    let no_tags = TAG.replace_all(&folded, " ");
    let no_carriers = CARRIER.replace_all(&no_tags, " ");
    let kept: String = no_carriers
        .chars()
        .map(|c| {
            if c.is_alphanumeric()
                || matches!(
                    c,
                    ' ' | '-' | '\'' | '.' | ',' | '(' | ')' | '/' | '×' | '%' | '+' | '№' | '&'
                )
            {
                c
            } else {
                ' '
            }
        })
        .collect();
    let words: Vec<&str> = kept.split_whitespace().collect();
    let mut out = String::new();
    for w in words {
        let extra = w.chars().count() + usize::from(!out.is_empty());
        if out.chars().count() + extra > max_chars {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    let out = out
        .trim_matches(|c: char| !c.is_alphanumeric() && c != ')')
        .to_string();
    out.chars().any(char::is_alphabetic).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::sanitise_field;

    #[test]
    fn names_keep_their_letters_and_lose_everything_else() {
        assert_eq!(sanitise_field("Алёна", 40).as_deref(), Some("Алёна"));
        assert_eq!(
            sanitise_field("Анна-Мария О'Нил", 40).as_deref(),
            Some("Анна-Мария О'Нил")
        );
        assert_eq!(
            sanitise_field("Катя <a href=\"http://x.ru\">жми</a>", 40).as_deref(),
            Some("Катя жми")
        );
        assert_eq!(
            sanitise_field("Олег t.me/promo_shop", 40).as_deref(),
            Some("Олег")
        );
        assert_eq!(
            sanitise_field("Иван +7 (999) 123-45-67", 40).as_deref(),
            Some("Иван")
        );
        assert_eq!(
            sanitise_field("Маша mail@example.com", 40).as_deref(),
            Some("Маша")
        );
        assert_eq!(
            sanitise_field("Пётр\u{200B}{{ system }}", 40).as_deref(),
            Some("Пётр system")
        );
        assert_eq!(sanitise_field("https://bit.ly/x", 40), None);
        assert_eq!(sanitise_field("🙂🙂", 40), None);
    }

    #[test]
    fn titles_are_cut_at_a_word() {
        assert_eq!(
            sanitise_field("Плед флисовый 150×200, серый", 120).as_deref(),
            Some("Плед флисовый 150×200, серый")
        );
        assert_eq!(
            sanitise_field("Очень длинное название товара", 15).as_deref(),
            Some("Очень длинное")
        );
    }
}
