//! Personal data is masked in buyer text before a prompt leaves the machine.

use std::sync::LazyLock;

use crate::textre::WordRegex;

static PATTERNS: LazyLock<Vec<(WordRegex, &'static str)>> = LazyLock::new(|| {
    vec![
        (
            WordRegex::fixed(r"(?iu)\b[\w.+-]+@[\w-]+\.[\w.]{2,}\b"),
            "[почта]",
        ),
        (
            WordRegex::fixed(r"\b(?:\d[ -]?){15,18}\d\b"),
            "[номер карты]",
        ),
        (
            WordRegex::fixed(r"(?:\+7|\b8)[\s\-(]*\d{3}[\s\-)]*\d{3}[\s\-]*\d{2}[\s\-]*\d{2}\b"),
            "[телефон]",
        ),
        (
            WordRegex::fixed(r"(?i)(?:^|\s)@[a-z0-9_]{4,}\b"),
            " [контакт]",
        ),
        (
            WordRegex::fixed(r"(?iu)\b(паспорт\w*)\s*[:№]?\s*\d{2}\s?\d{2}\s?\d{6}\b"),
            "$1 [номер]",
        ),
    ]
});

pub fn mask(text: &str) -> String {
    let mut out = text.to_string();
    for (re, replacement) in PATTERNS.iter() {
        out = re.replace_all(&out, replacement).into_owned();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn contact_and_payment_data_is_masked() {
        let text = "Позвоните +7 (912) 345-67-89 или 8 912 345 67 89, почта anna.k@mail.ru, карта 4276 1600 1234 5678, тг @anna_k, паспорт 45 10 123456";
        let masked = mask(text);
        for secret in ["912", "anna.k@mail.ru", "4276", "@anna_k", "123456"] {
            assert!(!masked.contains(secret), "{secret} leaked: {masked}");
        }
        assert!(
            masked.contains("[телефон]")
                && masked.contains("[почта]")
                && masked.contains("[номер карты]"),
            "{masked}"
        );
    }

    #[test]
    fn ordinary_numbers_stay() {
        assert_eq!(
            mask("Размер 42, рост 170, заказ 2 дня назад"),
            "Размер 42, рост 170, заказ 2 дня назад"
        );
    }
}
