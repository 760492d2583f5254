//! Reviews and product questions: the two thread kinds besides chats, as a
//! connector reports them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Millis;

/// The marketplace id of the seller message that stands for a review's or
/// question's published answer (there is one per thread).
pub const ANSWER_MESSAGE_ID: &str = "answer";

/// What a thread is: a buyer chat, a product review or a product question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreadKind {
    Chat,
    Review,
    Question,
}

impl ThreadKind {
    pub const ALL: [ThreadKind; 3] = [ThreadKind::Chat, ThreadKind::Review, ThreadKind::Question];
    /// The kinds a feedback connector reads.
    pub const FEEDBACK: [ThreadKind; 2] = [ThreadKind::Review, ThreadKind::Question];

    pub fn as_str(self) -> &'static str {
        match self {
            ThreadKind::Chat => "chat",
            ThreadKind::Review => "review",
            ThreadKind::Question => "question",
        }
    }

    pub fn title_ru(self) -> &'static str {
        match self {
            ThreadKind::Chat => "чат",
            ThreadKind::Review => "отзыв",
            ThreadKind::Question => "вопрос о товаре",
        }
    }

    /// The thread's key in the store: chats keep the marketplace's id, the
    /// other kinds carry their kind so ids of different kinds never meet.
    pub fn thread_key(self, id: &str) -> String {
        match self {
            ThreadKind::Chat => id.to_string(),
            kind => format!("{}/{id}", kind.as_str()),
        }
    }

    /// The marketplace's id back from a thread key of this kind.
    pub fn external_id(self, key: &str) -> &str {
        match self {
            ThreadKind::Chat => key,
            kind => key
                .strip_prefix(kind.as_str())
                .and_then(|k| k.strip_prefix('/'))
                .unwrap_or(key),
        }
    }
}

impl fmt::Display for ThreadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ThreadKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_lowercase().as_str() {
            "chat" | "чат" => Ok(ThreadKind::Chat),
            "review" | "отзыв" => Ok(ThreadKind::Review),
            "question" | "вопрос" => Ok(ThreadKind::Question),
            other => Err(format!(
                "неизвестный вид обращения `{other}`: ожидается chat, review или question"
            )),
        }
    }
}

/// The product a review or question is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductRef {
    pub id: Option<String>,
    pub name: Option<String>,
}

/// The answer the marketplace shows under a review or question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedAnswer {
    /// The marketplace's id of the answer, where it has one (Wildberries
    /// keeps one answer per thread without an id: [`ANSWER_MESSAGE_ID`]).
    pub id: Option<String>,
    pub text: String,
    /// When it was written, where the marketplace says.
    pub created_at: Option<Millis>,
    /// Whether the marketplace still accepts an edit of it.
    pub editable: bool,
}

/// A review or question as a connector reports it, out of the marketplace's JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackItem {
    pub kind: ThreadKind,
    /// The marketplace's id.
    pub id: String,
    /// Reviews only: 1–5 stars.
    pub rating: Option<u8>,
    pub text: String,
    pub pros: String,
    pub cons: String,
    pub has_photos: bool,
    pub product: ProductRef,
    pub buyer_name: Option<String>,
    pub created_at: Millis,
    pub answer: Option<PublishedAnswer>,
}

impl FeedbackItem {
    /// What the buyer wrote, as one turn: the text, then pros and cons.
    pub fn buyer_text(&self) -> String {
        let mut parts = Vec::new();
        if !self.text.trim().is_empty() {
            parts.push(self.text.trim().to_string());
        }
        if !self.pros.trim().is_empty() {
            parts.push(format!("Достоинства: {}", self.pros.trim()));
        }
        if !self.cons.trim().is_empty() {
            parts.push(format!("Недостатки: {}", self.cons.trim()));
        }
        parts.join("\n")
    }

    pub fn has_text(&self) -> bool {
        !self.buyer_text().is_empty()
    }
}

/// One page of reviews or questions, or threads read back by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedbackBatch {
    pub items: Vec<FeedbackItem>,
    /// Where the next poll of this kind continues; stored with the items.
    pub cursor: Option<String>,
    /// More pages are waiting right now.
    pub more: bool,
}

/// What one marketplace allows for one kind of thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FeedbackCapabilities {
    pub can_answer: bool,
    /// How long after answering an answer can be edited (`None`: the
    /// marketplace states no window), and how many times (0: never).
    pub edit_window_secs: Option<i64>,
    pub edits_allowed: u32,
    pub can_delete: bool,
    pub max_answer_chars: usize,
    pub min_answer_chars: usize,
    /// The API needs a paid plan (a refusal is reported as such).
    pub subscription_needed: bool,
}

/// What the buyer wrote in a review or question, as the pipeline sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThreadFacts {
    pub rating: Option<u8>,
    pub has_text: bool,
    pub has_photos: bool,
    pub product: ProductRef,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_keys_keep_kinds_apart_and_give_the_marketplace_id_back() {
        assert_eq!(ThreadKind::Review.thread_key("42"), "review/42");
        assert_eq!(ThreadKind::Question.thread_key("42"), "question/42");
        assert_eq!(ThreadKind::Chat.thread_key("42"), "42");
        assert_eq!(ThreadKind::Review.external_id("review/a/b"), "a/b");
        assert_eq!("отзыв".parse::<ThreadKind>(), Ok(ThreadKind::Review));
        assert!("отзывы".parse::<ThreadKind>().is_err());
    }

    #[test]
    fn a_review_turn_carries_text_pros_and_cons() {
        let item = FeedbackItem {
            kind: ThreadKind::Review,
            id: "x".into(),
            rating: Some(5),
            text: " ".into(),
            pros: "Яркий".into(),
            cons: String::new(),
            has_photos: false,
            product: ProductRef::default(),
            buyer_name: None,
            created_at: 0,
            answer: None,
        };
        assert_eq!(item.buyer_text(), "Достоинства: Яркий");
        assert!(item.has_text());
    }
}
