//! Avito reviews of the seller (`shared/specs/avito/Рейтингииотзывы.json`):
//! a bearer token from `/token` (client credentials), reviews newest first
//! by `offset` and `limit`, one answer per review, no edit, a delete that is
//! a request to delete. Avito has no questions API.
//!
//! The list has no filter and no cursor, so the watermark is the newest
//! review's `createdAt` (Unix seconds): a call reads pages from the top
//! until it reaches a review older than that.

use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{
    AnswerRules, Call, FeedbackCapabilities, FeedbackError, Http, Page, Refusal, RemoteAnswer,
    RemoteReview, batch_of, capabilities_of, header_secs, id_string, now, opt_id_string,
    send_error,
};
use crate::domain::{
    FeedbackBatch, FeedbackCapabilities as Capabilities, FeedbackItem, Marketplace, ReplyText,
    ThreadKind,
};
use crate::marketplace::{Delivery, FeedbackConnector, MarketError, SendError, limits};

const REVIEWS: &str = "/ratings/v1/reviews";
const ANSWERS: &str = "/ratings/v1/answers";
/// `limit`: 1 to 50.
const PAGE_LIMIT: usize = 50;
/// Requests one listing call may make.
pub const MAX_PAGES_PER_CALL: usize = 5;
const DEFAULT_RETRY: Duration = Duration::from_secs(1);
/// A token is renewed this long before Avito says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct AvitoFeedbackConfig {
    pub base_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub timeout: Duration,
    pub rate_limit_requests: u32,
    pub rate_limit_period: Duration,
}

impl AvitoFeedbackConfig {
    /// Avito documents no limit for these methods; 5 a second is our guess.
    pub fn new(base_url: &str, client_id: &str, client_secret: SecretString) -> Self {
        AvitoFeedbackConfig {
            base_url: base_url.to_string(),
            client_id: client_id.to_string(),
            client_secret,
            timeout: Duration::from_secs(30),
            rate_limit_requests: 5,
            rate_limit_period: Duration::from_secs(1),
        }
    }
}

pub struct AvitoFeedback {
    http: Http,
    client_id: String,
    client_secret: SecretString,
    token: Mutex<Option<(SecretString, Instant)>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct ReviewList {
    reviews: Vec<ApiReview>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiReview {
    #[serde(deserialize_with = "id_string")]
    id: String,
    score: u8,
    #[serde(default)]
    text: String,
    #[serde(default)]
    can_answer: bool,
    created_at: i64,
    #[serde(default)]
    item: Option<Item>,
    #[serde(default)]
    images: Vec<Value>,
    #[serde(default)]
    answer: Option<ApiAnswer>,
}

#[derive(Deserialize)]
struct Item {
    #[serde(default, deserialize_with = "opt_id_string")]
    id: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiAnswer {
    #[serde(deserialize_with = "id_string")]
    id: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    created_at: Option<i64>,
}

#[derive(Deserialize)]
struct Created {
    #[serde(deserialize_with = "id_string")]
    id: String,
}

#[derive(Deserialize)]
struct Removed {
    success: bool,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    error: Option<ErrorDetail>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: String,
}

fn refused(r: Refusal) -> FeedbackError {
    let status = r.status.as_u16();
    let message = serde_json::from_str::<ErrorBody>(&r.body)
        .ok()
        .and_then(|b| b.error)
        .map(|e| e.message)
        .unwrap_or_default();
    match status {
        429 => FeedbackError::RateLimited {
            retry_after: header_secs(&r.headers, "retry-after").unwrap_or(DEFAULT_RETRY),
        },
        401 | 403 => FeedbackError::AuthRejected(format!("HTTP {status}: {message}")),
        404 => FeedbackError::NotFound(message),
        _ => FeedbackError::Other { status, message },
    }
}

fn secs_to_ms(secs: i64) -> Option<i64> {
    secs.checked_mul(1000)
}

impl ApiReview {
    fn into_remote(self) -> RemoteReview {
        let (product_id, product_name) = self.item.map_or((None, None), |i| (i.id, i.title));
        RemoteReview {
            answered: self.answer.is_some() || !self.can_answer,
            id: self.id,
            rating: self.score,
            text: self.text,
            pros: None,
            cons: None,
            has_photos: !self.images.is_empty(),
            product_id,
            product_name,
            created_at: secs_to_ms(self.created_at),
        }
    }
}

impl AvitoFeedback {
    pub fn new(config: AvitoFeedbackConfig) -> Self {
        AvitoFeedback {
            http: Http::new(
                &config.base_url,
                config.timeout,
                config.rate_limit_requests,
                config.rate_limit_period,
            ),
            client_id: config.client_id,
            client_secret: config.client_secret,
            token: Mutex::new(None),
        }
    }

    pub fn capabilities() -> FeedbackCapabilities {
        FeedbackCapabilities {
            reviews: AnswerRules {
                can_edit: false,
                edit_window: None,
                can_delete: true,
                min_chars: 1,
                max_chars: None,
            },
            questions: None,
            subscription: None,
        }
    }

    /// A live access token, fetched when there is none or it is about to expire.
    async fn token(&self) -> Result<SecretString, FeedbackError> {
        let mut held = self.token.lock().await;
        if let Some((token, until)) = held.as_ref()
            && *until > Instant::now()
        {
            return Ok(token.clone());
        }
        let request = self.http.client.post(self.http.url("/token")).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose_secret()),
        ]);
        let got: TokenResponse = self
            .http
            .call(Call::Read, request, |r| match refused(r) {
                // `/token` refuses bad credentials with 400 (RFC 6749 §5.2).
                FeedbackError::Other {
                    status: 400,
                    message,
                } => FeedbackError::AuthRejected(message),
                other => other,
            })
            .await?;
        let lives = Duration::from_secs(got.expires_in.unwrap_or(3600));
        let until = Instant::now() + lives.saturating_sub(TOKEN_MARGIN);
        let token = SecretString::from(got.access_token);
        *held = Some((token.clone(), until));
        Ok(token)
    }

    /// Send with the token; a refused token is forgotten so the next call
    /// fetches a new one.
    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        call: Call,
        build: impl FnOnce(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<T, FeedbackError> {
        let token = self.token().await?;
        let request = build(&self.http.client).bearer_auth(token.expose_secret());
        let result = self.http.call(call, request, refused).await;
        if let Err(FeedbackError::AuthRejected(_)) = &result {
            *self.token.lock().await = None;
        }
        result
    }

    async fn page(&self, offset: usize) -> Result<Vec<ApiReview>, FeedbackError> {
        let url = self.http.url(REVIEWS);
        let list: ReviewList = self
            .send(Call::Read, |c| {
                c.get(url)
                    .query(&[("offset", offset), ("limit", PAGE_LIMIT)])
            })
            .await?;
        Ok(list.reviews)
    }

    /// Reviews without an answer left since `cursor` (the newest `createdAt`
    /// seen, in seconds), newest first. Reviews left in the cursor's second
    /// may come again. When the request budget runs out before the
    /// watermark, the cursor stays where it was and `more` is set.
    pub async fn unanswered_reviews(
        &self,
        cursor: Option<&str>,
    ) -> Result<Page<RemoteReview>, FeedbackError> {
        let watermark: Option<i64> = cursor.and_then(|c| c.trim().parse().ok());
        let mut items = Vec::new();
        let mut newest = watermark;
        for n in 0..MAX_PAGES_PER_CALL {
            let page = self.page(n * PAGE_LIMIT).await?;
            let full = page.len() == PAGE_LIMIT;
            let mut reached = false;
            for r in page {
                if watermark.is_some_and(|w| r.created_at < w) {
                    reached = true;
                    break;
                }
                newest = newest.max(Some(r.created_at));
                let review = r.into_remote();
                if !review.answered {
                    items.push(review);
                }
            }
            if reached || !full {
                return Ok(Page {
                    items,
                    cursor: newest.map(|n| n.to_string()),
                    more: false,
                });
            }
        }
        Ok(Page {
            items,
            cursor: cursor.map(str::to_string),
            more: true,
        })
    }

    /// Answer a review; the answer's id.
    pub async fn answer_review(
        &self,
        review_id: &str,
        text: &str,
    ) -> Result<String, FeedbackError> {
        let review: i64 = review_id.trim().parse().map_err(|_| {
            FeedbackError::NotFound(format!("id отзыва Авито — число, а не `{review_id}`"))
        })?;
        let url = self.http.url(ANSWERS);
        let created: Created = self
            .send(Call::Write, |c| {
                c.post(url)
                    .json(&json!({ "reviewId": review, "message": text }))
            })
            .await?;
        Ok(created.id)
    }

    /// Ask Avito to delete an answer.
    pub async fn delete_review_answer(&self, answer_id: &str) -> Result<(), FeedbackError> {
        let id: i64 = answer_id.trim().parse().map_err(|_| {
            FeedbackError::NotFound(format!("id ответа Авито — число, а не `{answer_id}`"))
        })?;
        let url = self.http.url(&format!("{ANSWERS}/{id}"));
        let removed: Removed = self.send(Call::Write, |c| c.delete(url)).await?;
        match removed.success {
            true => Ok(()),
            false => Err(FeedbackError::Other {
                status: 200,
                message: "Авито не приняло запрос на удаление".into(),
            }),
        }
    }

    /// One review and its answer, found by reading the list (there is no
    /// call for one review); `None` when it is not among the reviews the
    /// budget reaches.
    pub async fn review(
        &self,
        review_id: &str,
    ) -> Result<Option<(RemoteReview, Vec<RemoteAnswer>)>, FeedbackError> {
        for n in 0..MAX_PAGES_PER_CALL {
            let page = self.page(n * PAGE_LIMIT).await?;
            let full = page.len() == PAGE_LIMIT;
            if let Some(mut r) = page.into_iter().find(|r| r.id == review_id) {
                let answers = r
                    .answer
                    .take()
                    .into_iter()
                    .map(|a| RemoteAnswer {
                        id: a.id,
                        parent_id: review_id.to_string(),
                        text: a.text,
                        created_at: a.created_at.and_then(secs_to_ms),
                        by_seller: true,
                        can_modify: None,
                    })
                    .collect();
                return Ok(Some((r.into_remote(), answers)));
            }
            if !full {
                break;
            }
        }
        Ok(None)
    }

    /// The review's answer. A review not found within the budget is
    /// `NotFound`, never "no answer", so an unknown send is not taken for a
    /// lost one.
    pub async fn review_answers(
        &self,
        review_id: &str,
    ) -> Result<Vec<RemoteAnswer>, FeedbackError> {
        match self.review(review_id).await? {
            Some((_, answers)) => Ok(answers),
            None => Err(FeedbackError::NotFound(format!(
                "отзыв {review_id} не найден среди последних отзывов"
            ))),
        }
    }

    /// Requests sent and throttling answers received so far.
    pub fn request_counts(&self) -> crate::marketplace::limits::RequestCounts {
        self.http.gate.counts()
    }
}

#[async_trait]
impl FeedbackConnector for AvitoFeedback {
    fn marketplace(&self) -> Marketplace {
        Marketplace::Avito
    }

    fn kinds(&self) -> &'static [ThreadKind] {
        &[ThreadKind::Review]
    }

    fn capabilities(&self, _kind: ThreadKind) -> Capabilities {
        let caps = Self::capabilities();
        capabilities_of(caps.reviews, caps.subscription)
    }

    fn request_counts(&self) -> limits::RequestCounts {
        self.http.gate.counts()
    }

    async fn poll(
        &self,
        _kind: ThreadKind,
        cursor: Option<&str>,
    ) -> Result<FeedbackBatch, MarketError> {
        let now = now();
        Ok(batch_of(self.unanswered_reviews(cursor).await?, |r| {
            Some(r.into_item(Vec::new(), now))
        }))
    }

    async fn fetch(
        &self,
        _kind: ThreadKind,
        id: &str,
    ) -> Result<Option<FeedbackItem>, MarketError> {
        let now = now();
        Ok(self
            .review(id)
            .await?
            .map(|(r, answers)| r.into_item(answers, now)))
    }

    async fn answer(
        &self,
        _kind: ThreadKind,
        id: &str,
        text: &ReplyText,
    ) -> Result<Delivery, SendError> {
        let answer_id = self
            .answer_review(id, text.as_str())
            .await
            .map_err(send_error)?;
        Ok(Delivery {
            message_id: Some(answer_id),
            sent_at: None,
        })
    }

    /// A request to delete: the answer may show until Avito carries it out.
    async fn delete_answer(
        &self,
        _kind: ThreadKind,
        _id: &str,
        answer_id: &str,
    ) -> Result<(), MarketError> {
        Ok(self.delete_review_answer(answer_id).await?)
    }
}
