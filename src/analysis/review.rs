//! What a review says: its sentiment (from the rating, corrected by the text)
//! and its topics (quality, size, delivery, defect, packaging, praise), read
//! from the normalised text with phrase patterns, like the risk detectors.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::domain::Intent;
use crate::text::Normalised;
use crate::text::phrase::PhraseSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sentiment {
    Positive,
    Neutral,
    Negative,
}

impl Sentiment {
    pub fn as_str(self) -> &'static str {
        match self {
            Sentiment::Positive => "positive",
            Sentiment::Neutral => "neutral",
            Sentiment::Negative => "negative",
        }
    }
}

impl std::str::FromStr for Sentiment {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "positive" => Ok(Sentiment::Positive),
            "neutral" => Ok(Sentiment::Neutral),
            "negative" => Ok(Sentiment::Negative),
            other => Err(format!(
                "неизвестная тональность `{other}`: ожидается positive, neutral или negative"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    Quality,
    Size,
    Delivery,
    Defect,
    Packaging,
    Praise,
}

impl Topic {
    pub const ALL: [Topic; 6] = [
        Topic::Quality,
        Topic::Size,
        Topic::Delivery,
        Topic::Defect,
        Topic::Packaging,
        Topic::Praise,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Quality => "quality",
            Topic::Size => "size",
            Topic::Delivery => "delivery",
            Topic::Defect => "defect",
            Topic::Packaging => "packaging",
            Topic::Praise => "praise",
        }
    }
}

impl std::str::FromStr for Topic {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Topic::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "неизвестная тема отзыва `{s}`: ожидается одна из quality, size, delivery, defect, packaging, praise"
                )
            })
    }
}

/// What the review analysis found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewReading {
    pub sentiment: Sentiment,
    pub topics: Vec<Topic>,
    /// The chat intent the review is closest to, for templates and policies
    /// written in intents.
    pub intent: Intent,
    pub confidence: f64,
}

/// A negative or positive word in the text, besides topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Topic(Topic),
    Bad,
    Good,
}

static PATTERNS: LazyLock<PhraseSet<Tag>> = LazyLock::new(|| {
    let mut s = PhraseSet::new();
    let mut add = |p: &str, t: Tag| {
        s.add(p, t)
            .unwrap_or_else(|e| panic!("built-in review pattern `{p}`: {e}"))
    };
    use Tag::{Bad, Good};
    add(
        "(брак*|бракован*|сломал*|сломан*|слома*|не ..0 (работа*|включа*|заряжа*|светит)|перестал* ..1 (работа*|включа*|светит*|заряжа*)|треснул*|трещин*|дыр*|порвал*|отвалил*|протека*|неисправ*|дефект*)",
        Tag::Topic(Topic::Defect),
    );
    add(
        "(размер*|маломер*|большемер*|мал|мала|мало ..0 (в|по)|велик*|узк*|широк*|длинн*|коротк*|сел* ..1 (по|после)|рост*)",
        Tag::Topic(Topic::Size),
    );
    add(
        "(доставк*|достав*|курьер*|пункт* ..1 выдач*|=пвз|привез*|пришл* ..2 (быстро|долго|вовремя|поздно)|ждал*|срок*)",
        Tag::Topic(Topic::Delivery),
    );
    add(
        "(упаковк*|упакова*|коробк*|пакет*|помят*|смят*|пленк*)",
        Tag::Topic(Topic::Packaging),
    );
    add(
        "(качеств*|материал*|ткан*|швы|шов|нитк*|пластик*|дешев*|хлипк*|добротн*|прочн*|держит*|садит*|батаре*|заряд*)",
        Tag::Topic(Topic::Quality),
    );
    add(
        "(отличн*|прекрасн*|замечательн*|супер|класс*|рекоменд*|понравил*|нрав*|довол*|спасибо|благодар*|хорош*|лучш*|восторг*|идеальн*|=топ|рад|рада)",
        Tag::Topic(Topic::Praise),
    );
    add(
        "(плох*|ужасн*|отвратит*|разочаров*|недовол*|не ..0 (понравил*|советую|рекоменд*|доволен|довольна)|кошмар*|обман*|верну* ..2 (товар|деньги)|возврат*|хуже|фу)",
        Bad,
    );
    add(
        "(не ..0 (пожалел*|разочаров*)|стоит ..1 своих ..0 денег|как ..0 на ..0 фото)",
        Good,
    );
    s
});

/// Read a review. The rating sets the sentiment; words of complaint in a
/// 4–5★ review, or of praise alone in a 1–2★ one, make it neutral and the
/// reading less sure (it waits for a person where a policy asks for confidence).
pub fn read(rating: Option<u8>, text: &Normalised) -> ReviewReading {
    let hits = PATTERNS.matches_all(text);
    let mut topics: Vec<Topic> = hits
        .iter()
        .filter_map(|h| match h.tag {
            Tag::Topic(t) => Some(*t),
            _ => None,
        })
        .collect();
    topics.sort();
    topics.dedup();
    let bad = hits.iter().any(|h| *h.tag == Tag::Bad) || topics.contains(&Topic::Defect);
    let good = hits.iter().any(|h| *h.tag == Tag::Good) || topics.contains(&Topic::Praise);
    let by_rating = match rating {
        Some(5) | Some(4) => Sentiment::Positive,
        Some(3) => Sentiment::Neutral,
        Some(_) => Sentiment::Negative,
        None if bad && !good => Sentiment::Negative,
        None if good && !bad => Sentiment::Positive,
        None => Sentiment::Neutral,
    };
    let (sentiment, confidence) = match (by_rating, bad, good) {
        (Sentiment::Positive, true, _) => (Sentiment::Neutral, 0.6),
        (Sentiment::Negative, false, true) => (Sentiment::Neutral, 0.6),
        (s, _, _) if text.words.trim().is_empty() && rating.is_some() => (s, 0.95),
        (s, _, _) => (s, 0.9),
    };
    let intent = if topics.contains(&Topic::Defect) {
        Intent::DefectNotWorking
    } else if sentiment == Sentiment::Positive {
        Intent::Thanks
    } else if topics.contains(&Topic::Size) {
        Intent::SizingFit
    } else if sentiment == Sentiment::Negative && topics.contains(&Topic::Delivery) {
        Intent::DeliveryStatus
    } else if sentiment == Sentiment::Negative {
        Intent::QualityComplaint
    } else {
        Intent::Other
    };
    ReviewReading {
        sentiment,
        topics,
        intent,
        confidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalise;

    fn reading(rating: u8, text: &str) -> ReviewReading {
        read(Some(rating), &normalise(text))
    }

    #[test]
    fn a_five_star_review_without_text_is_positive_and_sure() {
        let r = reading(5, "");
        assert_eq!(
            (r.sentiment, r.intent, r.confidence),
            (Sentiment::Positive, Intent::Thanks, 0.95)
        );
        assert!(r.topics.is_empty());
    }

    #[test]
    fn topics_are_read_from_the_normalised_text_in_any_word_form() {
        let r = reading(2, "Пришёл бракованный, коробка помята, доставка долгая");
        assert_eq!(r.sentiment, Sentiment::Negative);
        assert_eq!(
            r.topics,
            vec![Topic::Delivery, Topic::Defect, Topic::Packaging]
        );
        assert_eq!(r.intent, Intent::DefectNotWorking);
        let r = reading(4, "Маломерит на размер, а в остальном хорошее качество");
        assert!(r.topics.contains(&Topic::Size), "{r:?}");
        assert!(r.topics.contains(&Topic::Quality), "{r:?}");
    }

    #[test]
    fn a_complaint_under_five_stars_is_not_taken_for_praise() {
        let r = reading(5, "Через неделю перестал работать");
        assert_eq!(r.sentiment, Sentiment::Neutral);
        assert!(r.topics.contains(&Topic::Defect), "{r:?}");
        assert_eq!(r.intent, Intent::DefectNotWorking);
        assert!(r.confidence < 0.8);
    }
}
