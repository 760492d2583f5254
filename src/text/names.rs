//! Common Russian first names, in every case form, so that the draft model
//! sees "a name" rather than a particular one. A name says nothing about what a
//! draft promises or a buyer wants, but a model trained on a few hundred
//! drafts learns whichever names its must-block examples happened to greet
//! (a template greeting "Татьяна" was blocked where "Анна" passed).
//!
//! Names that are also everyday words in some form are left out: Вера,
//! Надежда, Любовь, Роман, Лев, Марк ("марка"), Слава, Роза, Лилия, Марта
//! ("марта"), Семён ("семена"), Костя ("кости"), Саша ("саше"), Женя ("жене"),
//! Ника, Вика ("вики"), Поля, and the voice assistants' names Алиса and
//! Маруся, which are AI mentions.

use std::sync::LazyLock;

use rustc_hash::FxHashSet;

use super::Normalised;

/// Nominative forms, `ё` written as `е` (the normalised form).
const NAMES: &[&str] = &[
    // Women's names and their everyday short forms.
    "анна",
    "алена",
    "алина",
    "арина",
    "валентина",
    "варвара",
    "галина",
    "диана",
    "екатерина",
    "елена",
    "елизавета",
    "жанна",
    "зарина",
    "инна",
    "ирина",
    "карина",
    "кристина",
    "лариса",
    "людмила",
    "маргарита",
    "марина",
    "милана",
    "нина",
    "полина",
    "регина",
    "римма",
    "светлана",
    "снежана",
    "тамара",
    "эльвира",
    "яна",
    "ульяна",
    "оксана",
    "олеся",
    "алла",
    "эмма",
    "ева",
    "ангелина",
    "вероника",
    "виктория",
    "дарья",
    "ксения",
    "мария",
    "наталья",
    "софия",
    "софья",
    "юлия",
    "анастасия",
    "евгения",
    "лидия",
    "валерия",
    "таисия",
    "антонина",
    "татьяна",
    "ольга",
    "кира",
    "милена",
    "зоя",
    "лиза",
    "ася",
    "дина",
    "наташа",
    "маша",
    "катя",
    "оля",
    "таня",
    "лена",
    "аня",
    "юля",
    "настя",
    "даша",
    "ира",
    "надя",
    "галя",
    "люда",
    "гульнара",
    "гульшат",
    "айгуль",
    "эльмира",
    "альбина",
    "лейла",
    // Men's names and their everyday short forms.
    "александр",
    "алексей",
    "анатолий",
    "андрей",
    "антон",
    "аркадий",
    "артем",
    "артур",
    "богдан",
    "борис",
    "вадим",
    "валентин",
    "валерий",
    "василий",
    "виктор",
    "виталий",
    "владимир",
    "владислав",
    "вячеслав",
    "геннадий",
    "георгий",
    "глеб",
    "григорий",
    "даниил",
    "данил",
    "денис",
    "дмитрий",
    "евгений",
    "егор",
    "иван",
    "игорь",
    "илья",
    "кирилл",
    "константин",
    "леонид",
    "максим",
    "матвей",
    "михаил",
    "никита",
    "николай",
    "олег",
    "петр",
    "руслан",
    "сергей",
    "станислав",
    "степан",
    "тимофей",
    "тимур",
    "федор",
    "эдуард",
    "юрий",
    "ярослав",
    "эльдар",
    "рустам",
    "ринат",
    "айдар",
    "тагир",
    "марат",
    "азат",
    "арсений",
    "тихон",
    "захар",
    "савелий",
    "макар",
    "назар",
    "платон",
    "дима",
    "леша",
    "сережа",
    "паша",
    "миша",
    "ваня",
    "коля",
    "вова",
    "витя",
    "юра",
    "гоша",
    "петя",
    "федя",
    "гриша",
    "стас",
    "влад",
];

/// Forms that are not built by the endings below.
const IRREGULAR: &[&str] = &["павел", "павла", "павлу", "павлом", "павле"];

/// Every case form of `name` (nominative given), singular.
fn forms(name: &str, out: &mut FxHashSet<String>) {
    let with = |base: &str, endings: &[&str], out: &mut FxHashSet<String>| {
        for e in endings {
            out.insert(format!("{base}{e}"));
        }
    };
    let cut = |n: usize| {
        let mut chars: Vec<char> = name.chars().collect();
        chars.truncate(chars.len() - n);
        chars.into_iter().collect::<String>()
    };
    if name.ends_with("ия") {
        with(&cut(2), &["ия", "ии", "ию", "ией"], out);
    } else if name.ends_with("ья") {
        with(&cut(2), &["ья", "ьи", "ье", "ью", "ьей"], out);
    } else if name.ends_with('а') {
        with(&cut(1), &["а", "ы", "и", "е", "у", "ой", "ою"], out);
    } else if name.ends_with('я') {
        with(&cut(1), &["я", "и", "е", "ю", "ей"], out);
    } else if name.ends_with("ий") {
        with(&cut(2), &["ий", "ия", "ию", "ием", "ии"], out);
    } else if name.ends_with("ей") {
        with(&cut(2), &["ей", "ея", "ею", "еем", "ее"], out);
    } else if name.ends_with("ай") {
        with(&cut(2), &["ай", "ая", "аю", "аем", "ае"], out);
    } else if name.ends_with('ь') {
        with(&cut(1), &["ь", "я", "ю", "ем", "е"], out);
    } else {
        with(name, &["", "а", "у", "ом", "е"], out);
    }
}

static FORMS: LazyLock<FxHashSet<String>> = LazyLock::new(|| {
    let mut out = FxHashSet::default();
    for name in NAMES {
        forms(name, &mut out);
    }
    out.extend(IRREGULAR.iter().map(|s| s.to_string()));
    out
});

/// Stands for a name in a text the draft model reads (see [`mask`]).
pub const PLACEHOLDER: &str = "#имя";

/// Is this normalised word a common first name in some case?
pub fn is_first_name(norm: &str) -> bool {
    FORMS.contains(norm)
}

/// `n` (the normalised `original`) with every name read as "a name": the
/// common first names in any case, and the buyer's own name (`buyer_name`)
/// where it is written with a capital. The draft model judges what the shop
/// says, not whom it greets. `None` when the text has no name.
///
/// Only capitalised words of the buyer's name are taken, so a buyer who
/// calls themselves "Вернём Деньги" hides no promise written in lower case
/// (and the phrase rules read the text unmasked anyway).
pub fn mask(n: &Normalised, original: &str, buyer_name: Option<&str>) -> Option<Normalised> {
    let theirs: Vec<String> = buyer_name
        .map(|name| {
            super::normalise(name)
                .tokens
                .into_iter()
                .filter(|t| t.norm.chars().count() >= 2 && t.norm.chars().all(char::is_alphabetic))
                .map(|t| t.norm.into())
                .take(3)
                .collect()
        })
        .unwrap_or_default();
    let is_name = |t: &super::Token| {
        is_first_name(&t.norm)
            || (theirs.iter().any(|w: &String| *w == t.norm)
                && original
                    .get(t.span.clone())
                    .and_then(|w| w.chars().next())
                    .is_some_and(char::is_uppercase))
    };
    if !n.tokens.iter().any(is_name) {
        return None;
    }
    let mut masked = n.clone();
    masked.features = std::sync::OnceLock::new();
    for t in &mut masked.tokens {
        if is_name(t) {
            t.norm = PLACEHOLDER.into();
            t.stem = PLACEHOLDER.into();
        }
    }
    Some(masked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_any_case_and_no_everyday_words() {
        for word in [
            "татьяна",
            "татьяне",
            "татьяной",
            "сергей",
            "сергею",
            "игоря",
            "ильей",
            "марии",
            "павлу",
            "артем",
            "наталье",
        ] {
            assert!(is_first_name(word), "{word}");
        }
        for word in [
            "вера",
            "надежда",
            "любовь",
            "марка",
            "марта",
            "семена",
            "кости",
            "саше",
            "жене",
            "алиса",
            "спасибо",
            "ответим",
            "вики",
            "роман",
        ] {
            assert!(!is_first_name(word), "{word}");
        }
    }

    #[test]
    fn the_buyers_own_name_is_masked_where_it_is_written_as_a_name() {
        let text = "Покупатель, здравствуйте! Вернём деньги, покупатель.";
        let n = super::super::normalise(text);
        let masked = mask(&n, text, Some("Покупатель")).unwrap();
        let norms: Vec<&str> = masked.tokens.iter().map(|t| t.norm.as_str()).collect();
        assert_eq!(norms[0], PLACEHOLDER);
        assert_eq!(norms.last(), Some(&"покупатель"));
        assert!(mask(&n, text, Some("Зульфия")).is_none());
        let text = "Татьяне передали, Сергей ответит.";
        let n = super::super::normalise(text);
        let masked = mask(&n, text, None).unwrap();
        let norms: Vec<&str> = masked.tokens.iter().map(|t| t.norm.as_str()).collect();
        assert_eq!(norms, [PLACEHOLDER, "передали", PLACEHOLDER, "ответит"]);
        // A name made of the words of a promise hides only capitalised ones.
        let text = "Здравствуйте! вернём деньги сегодня.";
        let n = super::super::normalise(text);
        assert!(mask(&n, text, Some("Вернём Деньги")).is_none());
    }

    #[test]
    fn no_form_is_a_common_short_word() {
        for word in [
            "или", "она", "оно", "они", "поле", "для", "все", "еще", "при", "уже", "ест", "иди",
            "нам", "вам", "ими", "ему", "ней", "нее",
        ] {
            assert!(!is_first_name(word), "{word}");
        }
    }
}
