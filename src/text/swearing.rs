//! Swearing and insults, plain or masked with symbols, in Russian and English.

use std::sync::LazyLock;

use regex::Regex;

use super::Normalised;

static PROFANITY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?:^|\s)(?:",
        r"ху[йеяиюё]\w*|хуе\w*|нахуй|нахер\w*|похуй\w*|охуе\w*|хер(?:ня|ню|ов\w*)?",
        r"|п[иеи]зд\w*|спизд\w*|распизд\w*",
        r"|[её]б\w*|за[её]б\w*|до[её]б\w*|у[её]б\w*|вы[её]б\w*|от[ъь]?[её]б\w*|на[её]б\w*|пи[её]б\w*|под[ъь]?[её]б\w*|[её]бан\w*|[её]бл\w*",
        r"|бля\w*|бл[яе]дь\w*|бляха",
        r"|сук[аиуеоой]\w*|сучк\w*|сучар\w*",
        r"|мудак\w*|мудил\w*|мраз[ьио]\w*|дебил\w*|идиот\w*|тварь|твари|гандон\w*|гондон\w*|долбо[её]б\w*|чмо\w*|чмыр\w*|говн\w*|дерьм\w*|урод\w*|ублюд\w*|даун\w*|кретин\w*|придур\w*|дегенерат\w*|шлюх\w*|пидор\w*|пидар\w*|петух\w*|козл[ыаи]\w*|козел|скотин\w*|быдл\w*|гнид\w*|падл\w*|ушлеп\w*|ушлёп\w*|говнюк\w*|засранц\w*|засранец|сволоч\w*|негодя\w*|тупиц\w*|тупорыл\w*|дибил\w*|лох\w*|жулик\w*|ворюг\w*|шарлатан\w*",
        r"|fuck\w*|shit\w*|bitch\w*|asshole\w*|bastard\w*|moron\w*|idiot\w*|stupid|dumb\w*",
        r")(?:\s|$)",
    ))
    .expect("compiles")
});

/// Swearing masked with symbols: "х**", "п@@дец", "б**ть", "с*ка".
static MASKED_SWEARING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[\s,.!?])(?:х[*@#$%.]+[йяеию]?\w*|п[*@#$%]+[зд]\w*|п[иеi][*@#$%]+\w*|[её]?б[*@#$%]+(?:ть|ть\w*|дь|я|ан\w*|ал\w*|л\w*)|бл[*@#$%]+\w*|с[*@#$%]+к[аи]\w*|[её][*@#$%]+[а-я]*|f[*@#$%]+k\w*|mf[*@#$%]+|х[уy][*@#$%]+\w*|\*{3,})").expect("compiles")
});

/// Swear words as a masked spelling must still match one ("нах*й", "п@здец").
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

/// A word with letters replaced by `*`, `@`, `#`, `$`, `%` or `.`.
static MASKED_WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[а-яa-z]*[*@#$%.][а-яa-z*@#$%.]*").expect("compiles"));

fn masked_swear(clean: &str) -> Option<String> {
    for m in MASKED_WORD.find_iter(clean) {
        let w = m.as_str().trim_matches('.');
        let masks = w.chars().filter(|c| "*@#$%.".contains(*c)).count();
        let letters = w.chars().count() - masks;
        if masks == 0 || letters < 1 || masks > 3 || w.chars().count() < 3 {
            continue;
        }
        let pattern: String = w
            .chars()
            .map(|c| {
                if "*@#$%.".contains(c) {
                    ".".to_string()
                } else {
                    regex::escape(&c.to_string())
                }
            })
            .collect();
        let Ok(re) = Regex::new(&format!("^{pattern}$")) else {
            continue;
        };
        if SWEAR_WORDS.iter().any(|s| re.is_match(s)) {
            return Some(w.to_string());
        }
    }
    None
}

/// The first swear word or insult in the text, if any.
pub fn swearing(n: &Normalised) -> Option<String> {
    PROFANITY
        .find(&n.words)
        .or_else(|| MASKED_SWEARING.find(&n.clean))
        .map(|m| m.as_str().trim().to_string())
        .or_else(|| masked_swear(&n.clean))
}
