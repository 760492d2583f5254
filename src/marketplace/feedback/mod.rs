//! Reviews and product questions: one plain client per marketplace (Ozon,
//! Yandex Market, Avito; Wildberries' lives with its chat connector), each
//! returning the neutral types below so nothing outside these files learns
//! a marketplace's JSON. What each API allows is in
//! `docs/reviews-marketplaces.md` and in each client's [`FeedbackCapabilities`].
//!
//! The clients never retry: a throttled call reports
//! [`FeedbackError::RateLimited`] (and holds the client's later requests
//! back until then), an answer whose fate is unknown reports
//! [`FeedbackError::Unknown`], and the caller settles it from the answers
//! listing (`review_answers`, `question_answers`) before anything is resent.

pub mod avito;
pub mod ozon;
pub mod yandex_market;

use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::limits::{Purpose, RequestGate};
use super::{MarketError, SendError, describe_transport_error};
use crate::domain::{
    FeedbackBatch, FeedbackCapabilities as Capabilities, FeedbackItem, Millis, ProductRef,
    PublishedAnswer, ThreadKind,
};

/// A review as the store needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteReview {
    /// The marketplace's id, as it writes it.
    pub id: String,
    /// 1 to 5.
    pub rating: u8,
    pub text: String,
    /// Absent where the marketplace has no such field (Ozon's list, Avito).
    pub pros: Option<String>,
    pub cons: Option<String>,
    pub has_photos: bool,
    pub product_id: Option<String>,
    pub product_name: Option<String>,
    /// The seller has answered it (or, on Ozon, marked it processed).
    pub answered: bool,
    pub created_at: Option<Millis>,
}

/// A buyer's question about a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteQuestion {
    pub id: String,
    pub text: String,
    /// Needed again to answer it on Ozon (the SKU).
    pub product_id: Option<String>,
    pub product_name: Option<String>,
    pub answered: bool,
    pub created_at: Option<Millis>,
}

/// An answer to a review or question, ours or anyone's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteAnswer {
    pub id: String,
    /// The review's or question's id.
    pub parent_id: String,
    pub text: String,
    pub created_at: Option<Millis>,
    /// Written by the seller's side (the API or the portal), not a buyer.
    pub by_seller: bool,
    /// Whether the marketplace still lets the seller edit or delete it,
    /// where it says so.
    pub can_modify: Option<bool>,
}

/// A page of new items and where the next call goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass it to the next call; `None` when nothing has been read yet.
    pub cursor: Option<String>,
    /// More is waiting than the call's request budget reached.
    pub more: bool,
}

/// What the seller may do with an answer of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerRules {
    pub can_edit: bool,
    /// How long after sending an edit is allowed, where the marketplace says.
    pub edit_window: Option<Duration>,
    pub can_delete: bool,
    pub min_chars: usize,
    /// The longest answer, where the marketplace says.
    pub max_chars: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedbackCapabilities {
    pub reviews: AnswerRules,
    /// `None` when the marketplace has no questions API.
    pub questions: Option<AnswerRules>,
    /// The plan the seller needs for these methods, if any.
    pub subscription: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedbackError {
    #[error("ограничение частоты запросов; снова можно через {} с", retry_after.as_secs_f64().ceil())]
    RateLimited { retry_after: Duration },
    #[error("площадка не приняла ключ доступа: {0}")]
    AuthRejected(String),
    #[error("нужна подписка: {0}")]
    SubscriptionRequired(String),
    #[error("площадка не нашла отзыв, вопрос или ответ: {0}")]
    NotFound(String),
    /// The request did not reach the marketplace; nothing was done.
    #[error("площадка недоступна: {0}")]
    Unavailable(String),
    /// A write may or may not have been done: settle it from the listing.
    #[error("исход неизвестен: {0}")]
    Unknown(String),
    #[error("площадка ответила {status}: {message}")]
    Other { status: u16, message: String },
}

/// What a call is, for telling a lost read from a write of unknown fate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Read,
    Write,
}

/// An error answer, for a marketplace to classify.
struct Refusal {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
}

/// The HTTP side every client shares: the reqwest client with its timeouts,
/// the base URL and the pacing gate.
struct Http {
    client: reqwest::Client,
    base: String,
    gate: RequestGate,
}

impl Http {
    fn new(base_url: &str, timeout: Duration, requests: u32, period: Duration) -> Http {
        Http {
            client: super::http_client(timeout),
            base: base_url.trim_end_matches('/').to_string(),
            gate: RequestGate::new(requests, period, None),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Send once and read a 2xx body as `T`; any other answer goes to
    /// `refused` for the marketplace to name.
    async fn call<T: DeserializeOwned>(
        &self,
        call: Call,
        request: reqwest::RequestBuilder,
        refused: impl FnOnce(Refusal) -> FeedbackError,
    ) -> Result<T, FeedbackError> {
        let purpose = match call {
            Call::Read => Purpose::Read,
            Call::Write => Purpose::Send,
        };
        let _turn = self.gate.turn(purpose).await;
        let lost = |e: reqwest::Error| match call {
            Call::Write if !e.is_connect() && !e.is_builder() => {
                FeedbackError::Unknown(describe_transport_error(&e))
            }
            _ => FeedbackError::Unavailable(describe_transport_error(&e)),
        };
        let response = request.send().await.map_err(lost)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.map_err(lost)?;
        if !status.is_success() {
            let error = match refused(Refusal {
                status,
                headers,
                body,
            }) {
                // A write the server failed on may have been done first.
                FeedbackError::Other { status, message }
                    if call == Call::Write && status >= 500 =>
                {
                    FeedbackError::Unknown(format!("площадка ответила {status}: {message}"))
                }
                other => other,
            };
            if let FeedbackError::RateLimited { retry_after } = &error {
                self.gate.note_throttled();
                self.gate.block_for(*retry_after);
            }
            return Err(error);
        }
        serde_json::from_str(&body).map_err(|e| {
            let message = format!("непонятный ответ: {e}");
            match call {
                // It was done, but we cannot tell what came of it.
                Call::Write => FeedbackError::Unknown(message),
                Call::Read => FeedbackError::Other {
                    status: status.as_u16(),
                    message,
                },
            }
        })
    }
}

/// Seconds from a header like `Retry-After`, if present and sane.
fn header_secs(headers: &reqwest::header::HeaderMap, name: &str) -> Option<Duration> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// Milliseconds of an RFC 3339 time.
fn parse_time(s: &str) -> Option<Millis> {
    s.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

/// A text field that may be absent or empty: `None` for both.
fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// An id written as a JSON number or string, as a string.
fn id_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        serde_json::Value::Null => Ok(String::new()),
        other => Err(serde::de::Error::custom(format!(
            "an id must be a number or a string, not {other}"
        ))),
    }
}

/// Like [`id_string`] for an optional field.
fn opt_id_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    id_string(d).map(|s| Some(s).filter(|s| !s.is_empty()))
}

impl From<FeedbackError> for MarketError {
    fn from(e: FeedbackError) -> MarketError {
        match e {
            FeedbackError::RateLimited { retry_after } => MarketError::RateLimited { retry_after },
            FeedbackError::AuthRejected(m) => MarketError::Auth(m),
            FeedbackError::SubscriptionRequired(m) => MarketError::SubscriptionMissing(m),
            FeedbackError::NotFound(m) => MarketError::NotFound(m),
            FeedbackError::Unavailable(m) | FeedbackError::Unknown(m) => {
                MarketError::Unavailable(m)
            }
            FeedbackError::Other { status, message } if status >= 500 => {
                MarketError::Unavailable(format!("площадка ответила {status}: {message}"))
            }
            FeedbackError::Other { status, message } => {
                MarketError::Invalid(format!("площадка ответила {status}: {message}"))
            }
        }
    }
}

/// A write's error as the sender sees it: only `Unknown` may have been done.
fn send_error(e: FeedbackError) -> SendError {
    match e {
        FeedbackError::Unknown(why) => SendError::Unknown(why),
        other => SendError::NotDelivered(other.into()),
    }
}

/// What the seller may do with answers of one kind, as the pipeline sees it.
/// A marketplace that names no longest answer is held to [`DEFAULT_MAX_CHARS`].
fn capabilities_of(rules: AnswerRules, subscription: Option<&'static str>) -> Capabilities {
    Capabilities {
        can_answer: true,
        edit_window_secs: rules.edit_window.map(|w| w.as_secs() as i64),
        edits_allowed: if rules.can_edit { u32::MAX } else { 0 },
        can_delete: rules.can_delete,
        max_answer_chars: rules.max_chars.unwrap_or(DEFAULT_MAX_CHARS),
        min_answer_chars: rules.min_chars,
        subscription_needed: subscription.is_some(),
    }
}

/// The longest answer sent where the marketplace names no limit (Ozon's and
/// Avito's review answers): Wildberries' 5000.
pub const DEFAULT_MAX_CHARS: usize = 5000;

/// The answer a thread shows: the seller's first live one.
fn shown_answer(answers: Vec<RemoteAnswer>) -> Option<PublishedAnswer> {
    answers
        .into_iter()
        .find(|a| a.by_seller && !a.text.trim().is_empty())
        .map(|a| PublishedAnswer {
            id: Some(a.id),
            text: a.text,
            created_at: a.created_at,
            editable: a.can_modify.unwrap_or(false),
        })
}

impl RemoteReview {
    fn into_item(self, answers: Vec<RemoteAnswer>, now: Millis) -> FeedbackItem {
        FeedbackItem {
            kind: ThreadKind::Review,
            id: self.id,
            rating: Some(self.rating).filter(|r| (1..=5).contains(r)),
            text: self.text,
            pros: self.pros.unwrap_or_default(),
            cons: self.cons.unwrap_or_default(),
            has_photos: self.has_photos,
            product: ProductRef {
                id: self.product_id,
                name: self.product_name,
            },
            buyer_name: None,
            created_at: self.created_at.unwrap_or(now),
            answer: shown_answer(answers),
        }
    }
}

impl RemoteQuestion {
    fn into_item(self, answers: Vec<RemoteAnswer>, now: Millis) -> FeedbackItem {
        FeedbackItem {
            kind: ThreadKind::Question,
            id: self.id,
            rating: None,
            text: self.text,
            pros: String::new(),
            cons: String::new(),
            has_photos: false,
            product: ProductRef {
                id: self.product_id,
                name: self.product_name,
            },
            buyer_name: None,
            created_at: self.created_at.unwrap_or(now),
            answer: shown_answer(answers),
        }
    }
}

/// A listing page of unanswered threads as the poller stores it. A thread
/// the list marks answered (Ozon's processed, Avito's `canAnswer: false`)
/// but whose answer it does not carry is left for the read-back by id.
fn batch_of<T>(page: Page<T>, item: impl Fn(T) -> Option<FeedbackItem>) -> FeedbackBatch {
    FeedbackBatch {
        items: page.items.into_iter().filter_map(item).collect(),
        cursor: page.cursor,
        more: page.more,
    }
}

fn now() -> Millis {
    jiff::Timestamp::now().as_millisecond()
}
/// A feedback section's overrides of a client's defaults: its own base URL,
/// timeout (else the marketplace section's) and pace.
pub(super) fn pace(
    fb: &crate::config::FeedbackSettings,
    base_url: &mut String,
    timeout: &mut Duration,
    section_timeout: Duration,
    requests: &mut u32,
    period: &mut Duration,
) {
    if let Some(url) = &fb.base_url {
        base_url.clone_from(url);
    }
    *timeout = fb.timeout.map_or(section_timeout, |t| t.0);
    if let Some(n) = fb.rate_limit_requests {
        *requests = n;
    }
    if let Some(p) = fb.rate_limit_period {
        *period = p.0;
    }
}
