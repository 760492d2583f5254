//! Wildberries reviews ("feedbacks") and product questions:
//! `feedbacks-api.wildberries.ru`, category «Вопросы и отзывы» of
//! `09-communications.yaml`.
//!
//! Unanswered threads are listed oldest first from a watermark (`dateFrom`,
//! Unix seconds, inclusive: a thread of the watermark's second is read again
//! and stored once). An answer's 204 proves little (the spec: "ID отзыва не
//! валидируется"), so sends are settled by reading the thread back by id.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use super::limits::{Purpose, RequestGate, header_secs};
use super::{
    Delivery, FeedbackConnector, MarketError, SendError, classify_transport_error,
    describe_transport_error, http_client,
};
use crate::domain::{
    ANSWER_MESSAGE_ID, FeedbackBatch, FeedbackCapabilities, FeedbackItem, Marketplace, Millis,
    ProductRef, PublishedAnswer, ReplyText, ThreadKind,
};

/// `POST /api/v1/feedbacks/answer`: `text` "minimum: 2, maximum: 5000".
pub const MAX_ANSWER_CHARS: usize = 5000;
pub const MIN_ANSWER_CHARS: usize = 2;
/// An answer can be edited once within 60 days of sending.
pub const EDIT_WINDOW_SECS: i64 = 60 * 24 * 3600;
/// Threads per list page. The API allows 5000 (reviews) and 10 000 minus
/// `skip` (questions); a smaller page keeps one poll's answer small.
pub const PAGE_SIZE: usize = 100;

#[derive(Debug, Clone)]
pub struct WbFeedbackConfig {
    pub base_url: String,
    pub token: SecretString,
    pub timeout: Duration,
    /// Client-side limit for the whole category: this many requests...
    pub rate_limit_requests: u32,
    /// ...per this period.
    pub rate_limit_period: Duration,
}

pub struct WildberriesFeedbackClient {
    http: reqwest::Client,
    base_url: String,
    token: SecretString,
    gate: RequestGate,
}

impl WildberriesFeedbackClient {
    pub fn new(config: WbFeedbackConfig) -> Self {
        WildberriesFeedbackClient {
            http: http_client(config.timeout),
            base_url: config.base_url.trim_end_matches('/').to_string(),
            token: config.token,
            gate: RequestGate::new(config.rate_limit_requests, config.rate_limit_period, None),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    async fn get<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Option<T>, MarketError> {
        let _turn = self.gate.turn(Purpose::Read).await;
        let response = self
            .http
            .get(self.url(path))
            .header(reqwest::header::AUTHORIZATION, self.token.expose_secret())
            .query(query)
            .send()
            .await
            .map_err(|e| MarketError::Unavailable(describe_transport_error(&e)))?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = self.check_status(response).await?;
        let envelope: Envelope<T> = response
            .json()
            .await
            .map_err(|e| MarketError::Unavailable(format!("непонятный ответ на {path}: {e}")))?;
        if envelope.error {
            return Err(MarketError::Invalid(format!(
                "Wildberries: {}",
                envelope.error_text
            )));
        }
        Ok(envelope.data)
    }

    async fn write(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> Result<Delivery, SendError> {
        let _turn = self.gate.turn(Purpose::Send).await;
        let response = self
            .http
            .request(method, self.url(path))
            .header(reqwest::header::AUTHORIZATION, self.token.expose_secret())
            .json(&body)
            .send()
            .await
            .map_err(|e| classify_transport_error(&e))?;
        let status = response.status();
        if status.is_server_error() {
            // The request reached Wildberries; whether the answer was kept is unknown.
            return Err(SendError::Unknown(format!("Wildberries ответил {status}")));
        }
        let response = self
            .check_status(response)
            .await
            .map_err(SendError::NotDelivered)?;
        if status == StatusCode::OK {
            let text = response
                .text()
                .await
                .map_err(|e| SendError::Unknown(describe_transport_error(&e)))?;
            if let Ok(envelope) = serde_json::from_str::<Envelope<serde_json::Value>>(&text)
                && envelope.error
            {
                return Err(SendError::NotDelivered(MarketError::Invalid(format!(
                    "Wildberries: {}",
                    envelope.error_text
                ))));
            }
        }
        Ok(Delivery {
            message_id: Some(ANSWER_MESSAGE_ID.to_string()),
            sent_at: None,
        })
    }

    async fn check_status(&self, response: Response) -> Result<Response, MarketError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            let secs = header_secs(&response, "X-Ratelimit-Retry")
                .or_else(|| header_secs(&response, "Retry-After"))
                .unwrap_or(1.0);
            let retry_after = Duration::from_secs_f64(secs.min(3600.0));
            self.gate.note_throttled();
            self.gate.block_for(retry_after);
            return Err(MarketError::RateLimited { retry_after });
        }
        let text = response.text().await.unwrap_or_default();
        let detail = error_detail(&text);
        Err(match status {
            StatusCode::UNAUTHORIZED => MarketError::Auth(format!(
                "Wildberries ответил 401 ({detail}); проверьте, что в токене есть категория «Вопросы и отзывы»"
            )),
            StatusCode::FORBIDDEN => {
                MarketError::Auth(format!("Wildberries ответил 403: {detail}"))
            }
            StatusCode::PAYMENT_REQUIRED => MarketError::SubscriptionMissing(detail),
            s if s.is_server_error() => {
                MarketError::Unavailable(format!("Wildberries ответил {s}: {detail}"))
            }
            s => MarketError::Invalid(format!("Wildberries ответил {s}: {detail}")),
        })
    }
}

/// Both error shapes of the category: the `{error, errorText}` envelope and
/// the problem JSON (`title`, `detail`).
fn error_detail(text: &str) -> String {
    #[derive(Deserialize)]
    struct Problem {
        detail: Option<String>,
        title: Option<String>,
        #[serde(rename = "errorText")]
        error_text: Option<String>,
    }
    match serde_json::from_str::<Problem>(text) {
        Ok(p) => p
            .error_text
            .filter(|t| !t.is_empty())
            .or(p.detail)
            .or(p.title)
            .unwrap_or_default(),
        Err(_) => text.chars().take(200).collect(),
    }
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: Option<T>,
    #[serde(default)]
    error: bool,
    #[serde(default, rename = "errorText")]
    error_text: String,
}

#[derive(Deserialize)]
struct ListData {
    #[serde(default)]
    feedbacks: Vec<Thread>,
    #[serde(default)]
    questions: Vec<Thread>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Thread {
    id: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    pros: String,
    #[serde(default)]
    cons: String,
    product_valuation: Option<u8>,
    created_date: String,
    answer: Option<Answer>,
    product_details: Option<ProductDetails>,
    #[serde(default)]
    photo_links: Option<Vec<serde_json::Value>>,
    video: Option<serde_json::Value>,
    user_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    #[serde(default)]
    text: String,
    #[serde(default)]
    editable: bool,
    create_date: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProductDetails {
    nm_id: Option<i64>,
    product_name: Option<String>,
}

fn parse_time(s: &str) -> Option<Millis> {
    s.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

impl Thread {
    fn into_item(self, kind: ThreadKind) -> Result<FeedbackItem, MarketError> {
        let created_at = parse_time(&self.created_date).ok_or_else(|| {
            MarketError::Unavailable(format!(
                "непонятная дата `{}` у {} {}",
                self.created_date,
                kind.title_ru(),
                self.id
            ))
        })?;
        let product = self
            .product_details
            .map_or_else(ProductRef::default, |p| ProductRef {
                id: p.nm_id.map(|n| n.to_string()),
                name: p.product_name.filter(|n| !n.trim().is_empty()),
            });
        Ok(FeedbackItem {
            kind,
            rating: match kind {
                ThreadKind::Review => self.product_valuation.filter(|r| (1..=5).contains(r)),
                _ => None,
            },
            text: self.text,
            pros: self.pros,
            cons: self.cons,
            has_photos: self.photo_links.is_some_and(|p| !p.is_empty())
                || self.video.is_some_and(|v| !v.is_null()),
            product,
            buyer_name: self.user_name.filter(|n| !n.trim().is_empty()),
            created_at,
            answer: self
                .answer
                .filter(|a| !a.text.trim().is_empty())
                .map(|a| PublishedAnswer {
                    id: None,
                    created_at: a.create_date.as_deref().and_then(parse_time),
                    text: a.text,
                    editable: a.editable,
                }),
            id: self.id,
        })
    }
}

fn list_path(kind: ThreadKind) -> &'static str {
    match kind {
        ThreadKind::Question => "/api/v1/questions",
        _ => "/api/v1/feedbacks",
    }
}

#[async_trait]
impl FeedbackConnector for WildberriesFeedbackClient {
    fn marketplace(&self) -> Marketplace {
        Marketplace::Wildberries
    }

    fn kinds(&self) -> &'static [ThreadKind] {
        &ThreadKind::FEEDBACK
    }

    fn capabilities(&self, _kind: ThreadKind) -> FeedbackCapabilities {
        FeedbackCapabilities {
            can_answer: true,
            edit_window_secs: Some(EDIT_WINDOW_SECS),
            edits_allowed: 1,
            can_delete: false,
            max_answer_chars: MAX_ANSWER_CHARS,
            min_answer_chars: MIN_ANSWER_CHARS,
            subscription_needed: false,
        }
    }

    fn request_counts(&self) -> super::limits::RequestCounts {
        self.gate.counts()
    }

    async fn poll(
        &self,
        kind: ThreadKind,
        cursor: Option<&str>,
    ) -> Result<FeedbackBatch, MarketError> {
        let from: Option<i64> = cursor.and_then(|c| c.parse().ok());
        let mut query = vec![
            ("isAnswered", "false".to_string()),
            ("take", PAGE_SIZE.to_string()),
            ("skip", "0".to_string()),
            ("order", "dateAsc".to_string()),
        ];
        if let Some(from) = from {
            query.push(("dateFrom", from.to_string()));
        }
        let data: Option<ListData> = self.get(list_path(kind), &query).await?;
        let data = data.unwrap_or(ListData {
            feedbacks: Vec::new(),
            questions: Vec::new(),
        });
        let threads = match kind {
            ThreadKind::Question => data.questions,
            _ => data.feedbacks,
        };
        let full = threads.len() >= PAGE_SIZE;
        let items = threads
            .into_iter()
            .map(|t| t.into_item(kind))
            .collect::<Result<Vec<_>, _>>()?;
        let newest = items.iter().map(|i| i.created_at.div_euclid(1000)).max();
        if full && newest.is_some_and(|n| from.is_some_and(|f| n <= f)) {
            return Err(MarketError::Unavailable(format!(
                "список без ответа не продвигается: больше {PAGE_SIZE} обращений в одну секунду ({})",
                kind.title_ru()
            )));
        }
        Ok(FeedbackBatch {
            cursor: newest
                .filter(|n| from.is_none_or(|f| *n > f))
                .map(|n| n.to_string()),
            more: full,
            items,
        })
    }

    async fn fetch(&self, kind: ThreadKind, id: &str) -> Result<Option<FeedbackItem>, MarketError> {
        let path = match kind {
            ThreadKind::Question => "/api/v1/question",
            _ => "/api/v1/feedback",
        };
        let thread: Option<Thread> = self.get(path, &[("id", id.to_string())]).await?;
        thread.map(|t| t.into_item(kind)).transpose()
    }

    async fn answer(
        &self,
        kind: ThreadKind,
        id: &str,
        text: &ReplyText,
    ) -> Result<Delivery, SendError> {
        match kind {
            ThreadKind::Question => {
                self.write(
                    reqwest::Method::PATCH,
                    "/api/v1/questions",
                    json!({ "id": id, "answer": { "text": text.as_str() }, "state": "wbRu" }),
                )
                .await
            }
            _ => {
                self.write(
                    reqwest::Method::POST,
                    "/api/v1/feedbacks/answer",
                    json!({ "id": id, "text": text.as_str() }),
                )
                .await
            }
        }
    }

    async fn edit_answer(
        &self,
        kind: ThreadKind,
        id: &str,
        _answer_id: &str,
        text: &ReplyText,
    ) -> Result<Delivery, SendError> {
        match kind {
            // The same call answers a question and edits its answer.
            ThreadKind::Question => self.answer(kind, id, text).await,
            _ => {
                self.write(
                    reqwest::Method::PATCH,
                    "/api/v1/feedbacks/answer",
                    json!({ "id": id, "text": text.as_str() }),
                )
                .await
            }
        }
    }
}
