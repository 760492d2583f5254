//! Ozon reviews (`/v1/review/*`) and questions (`/v1/question/*`), as
//! `shared/specs/ozon/swagger.2025-09.salacoste.json` describes them. All
//! of them need the Premium Plus subscription; a 403 is reported as that.

use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    AnswerRules, Call, FeedbackCapabilities, FeedbackError, Http, Page, Refusal, RemoteAnswer,
    RemoteQuestion, RemoteReview, batch_of, capabilities_of, header_secs, id_string, non_empty,
    now, opt_id_string, parse_time, send_error,
};
use crate::domain::{
    FeedbackBatch, FeedbackCapabilities as Capabilities, FeedbackItem, Marketplace, ReplyText,
    ThreadKind,
};
use crate::marketplace::{Delivery, FeedbackConnector, MarketError, SendError, limits};

const REVIEW_LIST: &str = "/v1/review/list";
const COMMENT_CREATE: &str = "/v1/review/comment/create";
const COMMENT_LIST: &str = "/v1/review/comment/list";
const COMMENT_DELETE: &str = "/v1/review/comment/delete";
const REVIEW_INFO: &str = "/v1/review/info";
const QUESTION_LIST: &str = "/v1/question/list";
const QUESTION_INFO: &str = "/v1/question/info";
const ANSWER_CREATE: &str = "/v1/question/answer/create";
const ANSWER_LIST: &str = "/v1/question/answer/list";
const ANSWER_DELETE: &str = "/v1/question/answer/delete";
/// `v1ReviewListRequest.limit` and `v1CommentListRequest.limit`: 20 to 100.
const PAGE_LIMIT: u32 = 100;
/// Requests one listing call may make.
pub const MAX_PAGES_PER_CALL: usize = 5;
/// Used when a 429 carries no `Retry-After`.
const DEFAULT_RETRY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct OzonFeedbackConfig {
    pub base_url: String,
    pub client_id: String,
    pub api_key: SecretString,
    pub timeout: Duration,
    /// Our pace: `rate_limit_requests` per `rate_limit_period`.
    pub rate_limit_requests: u32,
    pub rate_limit_period: Duration,
}

impl OzonFeedbackConfig {
    /// The documented ceiling: 50 requests a second per Client-Id.
    pub fn new(base_url: &str, client_id: &str, api_key: SecretString) -> Self {
        OzonFeedbackConfig {
            base_url: base_url.to_string(),
            client_id: client_id.to_string(),
            api_key,
            timeout: Duration::from_secs(30),
            rate_limit_requests: 50,
            rate_limit_period: Duration::from_secs(1),
        }
    }
}

pub struct OzonFeedback {
    http: Http,
    client_id: String,
    api_key: SecretString,
}

#[derive(Deserialize)]
struct ReviewList {
    #[serde(default)]
    reviews: Vec<ApiReview>,
    #[serde(default)]
    has_next: bool,
    #[serde(default)]
    last_id: String,
}

#[derive(Deserialize)]
struct ApiReview {
    id: String,
    #[serde(default, deserialize_with = "opt_id_string")]
    sku: Option<String>,
    #[serde(default)]
    text: String,
    #[serde(default)]
    rating: u8,
    #[serde(default)]
    status: String,
    #[serde(default)]
    photos_amount: u32,
    #[serde(default)]
    published_at: Option<String>,
}

#[derive(Deserialize)]
struct CommentCreated {
    #[serde(deserialize_with = "id_string")]
    comment_id: String,
}

#[derive(Deserialize)]
struct CommentList {
    #[serde(default)]
    comments: Vec<ApiComment>,
}

#[derive(Deserialize)]
struct ApiComment {
    #[serde(deserialize_with = "id_string")]
    id: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    is_owner: bool,
    #[serde(default)]
    published_at: Option<String>,
}

#[derive(Deserialize)]
struct QuestionList {
    #[serde(default)]
    questions: Vec<ApiQuestion>,
    #[serde(default)]
    last_id: String,
}

#[derive(Deserialize)]
struct ApiQuestion {
    id: String,
    #[serde(default, deserialize_with = "opt_id_string")]
    sku: Option<String>,
    #[serde(default)]
    text: String,
    #[serde(default)]
    answers_count: u64,
    #[serde(default)]
    status: String,
    #[serde(default)]
    published_at: Option<String>,
}

#[derive(Deserialize)]
struct AnswerCreated {
    #[serde(deserialize_with = "id_string")]
    answer_id: String,
}

#[derive(Deserialize)]
struct AnswerList {
    #[serde(default)]
    answers: Vec<ApiAnswer>,
    #[serde(default)]
    last_id: String,
}

#[derive(Deserialize)]
struct ApiAnswer {
    #[serde(deserialize_with = "id_string")]
    id: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    published_at: Option<String>,
}

#[derive(Deserialize, Default)]
struct RpcStatus {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: String,
}

/// What an error answer means. Ozon answers a wrong key and a missing
/// review alike (404, code 5), so there the message decides.
fn refused(r: Refusal) -> FeedbackError {
    let rpc: RpcStatus = serde_json::from_str(&r.body).unwrap_or_default();
    let status = r.status.as_u16();
    let shown = format!("HTTP {status}: {}", rpc.message);
    let names_key = {
        let m = rpc.message.to_lowercase();
        m.contains("api-key") || m.contains("client-id")
    };
    match status {
        429 => FeedbackError::RateLimited {
            retry_after: header_secs(&r.headers, "retry-after").unwrap_or(DEFAULT_RETRY),
        },
        _ if rpc.code == Some(8) => FeedbackError::RateLimited {
            retry_after: header_secs(&r.headers, "retry-after").unwrap_or(DEFAULT_RETRY),
        },
        401 => FeedbackError::AuthRejected(shown),
        404 if names_key => FeedbackError::AuthRejected(shown),
        403 => FeedbackError::SubscriptionRequired(format!(
            "отзывы и вопросы Ozon открывает через API только с подпиской Premium Plus ({shown})"
        )),
        404 => FeedbackError::NotFound(shown),
        _ => FeedbackError::Other {
            status,
            message: rpc.message,
        },
    }
}

impl ApiReview {
    fn into_remote(self) -> RemoteReview {
        RemoteReview {
            answered: self.status.eq_ignore_ascii_case("PROCESSED"),
            has_photos: self.photos_amount > 0,
            created_at: self.published_at.as_deref().and_then(parse_time),
            id: self.id,
            rating: self.rating,
            text: self.text,
            pros: None,
            cons: None,
            product_id: self.sku,
            product_name: None,
        }
    }
}

impl ApiQuestion {
    fn into_remote(self) -> RemoteQuestion {
        RemoteQuestion {
            answered: self.answers_count > 0 || self.status.eq_ignore_ascii_case("PROCESSED"),
            created_at: self.published_at.as_deref().and_then(parse_time),
            id: self.id,
            text: self.text,
            product_id: self.sku,
            product_name: None,
        }
    }
}

fn sku_number(product_id: &str) -> Result<u64, FeedbackError> {
    product_id
        .trim()
        .parse()
        .map_err(|_| FeedbackError::NotFound(format!("SKU Ozon — число, а не `{product_id}`")))
}

impl OzonFeedback {
    pub fn new(config: OzonFeedbackConfig) -> Self {
        OzonFeedback {
            http: Http::new(
                &config.base_url,
                config.timeout,
                config.rate_limit_requests,
                config.rate_limit_period,
            ),
            client_id: config.client_id,
            api_key: config.api_key,
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
            questions: Some(AnswerRules {
                can_edit: false,
                edit_window: None,
                can_delete: true,
                min_chars: 2,
                max_chars: Some(3000),
            }),
            subscription: Some("Premium Plus"),
        }
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        call: Call,
        path: &str,
        body: Value,
    ) -> Result<T, FeedbackError> {
        let request = self
            .http
            .client
            .post(self.http.url(path))
            .header("Client-Id", &self.client_id)
            .header("Api-Key", self.api_key.expose_secret())
            .json(&body);
        self.http.call(call, request, refused).await
    }

    /// Reviews not yet processed, oldest first, after `cursor` (a review id).
    pub async fn unanswered_reviews(
        &self,
        cursor: Option<&str>,
    ) -> Result<Page<RemoteReview>, FeedbackError> {
        let mut cursor = cursor.map(str::to_string);
        let mut items = Vec::new();
        let mut more = false;
        for _ in 0..MAX_PAGES_PER_CALL {
            let mut body =
                json!({ "limit": PAGE_LIMIT, "sort_dir": "ASC", "status": "UNPROCESSED" });
            if let Some(c) = &cursor {
                body["last_id"] = json!(c);
            }
            let page: ReviewList = self.post(Call::Read, REVIEW_LIST, body).await?;
            items.extend(page.reviews.into_iter().map(ApiReview::into_remote));
            if !page.last_id.is_empty() {
                cursor = Some(page.last_id);
            }
            more = page.has_next;
            if !more {
                break;
            }
        }
        Ok(Page {
            items,
            cursor,
            more,
        })
    }

    /// One review (`/v1/review/info`); `None` when Ozon has no such review.
    pub async fn review(&self, review_id: &str) -> Result<Option<RemoteReview>, FeedbackError> {
        let body = json!({ "review_id": review_id });
        match self.post::<ApiReview>(Call::Read, REVIEW_INFO, body).await {
            Ok(r) => Ok(Some(r.into_remote())),
            Err(FeedbackError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One question (`/v1/question/info`), with its SKU; `None` when Ozon
    /// has no such question.
    pub async fn question(
        &self,
        question_id: &str,
    ) -> Result<Option<RemoteQuestion>, FeedbackError> {
        let body = json!({ "question_id": question_id });
        match self
            .post::<ApiQuestion>(Call::Read, QUESTION_INFO, body)
            .await
        {
            Ok(q) => Ok(Some(q.into_remote())),
            Err(FeedbackError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The SKU a question is about, which answering it needs.
    async fn question_sku(&self, question_id: &str) -> Result<String, FeedbackError> {
        self.question(question_id)
            .await?
            .and_then(|q| q.product_id)
            .ok_or_else(|| FeedbackError::NotFound(format!("вопрос {question_id} без SKU")))
    }

    /// Answer a review and mark it processed; the comment's id.
    pub async fn answer_review(
        &self,
        review_id: &str,
        text: &str,
    ) -> Result<String, FeedbackError> {
        let body =
            json!({ "review_id": review_id, "text": text, "mark_review_as_processed": true });
        let created: CommentCreated = self.post(Call::Write, COMMENT_CREATE, body).await?;
        Ok(created.comment_id)
    }

    /// The review's comments that passed moderation (only those are listed).
    pub async fn review_answers(
        &self,
        review_id: &str,
    ) -> Result<Vec<RemoteAnswer>, FeedbackError> {
        let mut answers = Vec::new();
        for _ in 0..MAX_PAGES_PER_CALL {
            let body = json!({ "review_id": review_id, "limit": PAGE_LIMIT, "offset": answers.len(), "sort_dir": "ASC" });
            let page: CommentList = self.post(Call::Read, COMMENT_LIST, body).await?;
            let full = page.comments.len() >= PAGE_LIMIT as usize;
            answers.extend(page.comments.into_iter().map(|c| RemoteAnswer {
                id: c.id,
                parent_id: review_id.to_string(),
                text: c.text,
                created_at: c.published_at.as_deref().and_then(parse_time),
                by_seller: c.is_owner,
                can_modify: None,
            }));
            if !full {
                break;
            }
        }
        Ok(answers)
    }

    pub async fn delete_review_answer(&self, answer_id: &str) -> Result<(), FeedbackError> {
        let _: Value = self
            .post(
                Call::Write,
                COMMENT_DELETE,
                json!({ "comment_id": answer_id }),
            )
            .await?;
        Ok(())
    }

    /// Questions without an answer, after `cursor` (a question id).
    pub async fn unanswered_questions(
        &self,
        cursor: Option<&str>,
    ) -> Result<Page<RemoteQuestion>, FeedbackError> {
        let mut cursor = cursor.map(str::to_string);
        let mut items = Vec::new();
        let mut more = false;
        for _ in 0..MAX_PAGES_PER_CALL {
            let mut body = json!({ "filter": { "status": "UNPROCESSED" } });
            if let Some(c) = &cursor {
                body["last_id"] = json!(c);
            }
            let page: QuestionList = self.post(Call::Read, QUESTION_LIST, body).await?;
            // The list says nothing of a next page: an empty one ends it.
            more = !page.questions.is_empty();
            items.extend(page.questions.into_iter().map(ApiQuestion::into_remote));
            match non_empty(Some(page.last_id)) {
                Some(last) if more => cursor = Some(last),
                _ => {
                    more = false;
                    break;
                }
            }
        }
        Ok(Page {
            items,
            cursor,
            more,
        })
    }

    /// Answer a question about `product_id` (its SKU); the answer's id.
    pub async fn answer_question(
        &self,
        question_id: &str,
        product_id: &str,
        text: &str,
    ) -> Result<String, FeedbackError> {
        let body =
            json!({ "question_id": question_id, "sku": sku_number(product_id)?, "text": text });
        let created: AnswerCreated = self.post(Call::Write, ANSWER_CREATE, body).await?;
        Ok(created.answer_id)
    }

    pub async fn question_answers(
        &self,
        question_id: &str,
        product_id: &str,
    ) -> Result<Vec<RemoteAnswer>, FeedbackError> {
        let sku = sku_number(product_id)?;
        let mut answers = Vec::new();
        let mut last: Option<String> = None;
        for _ in 0..MAX_PAGES_PER_CALL {
            let mut body = json!({ "question_id": question_id, "sku": sku });
            if let Some(l) = &last {
                body["last_id"] = json!(l);
            }
            let page: AnswerList = self.post(Call::Read, ANSWER_LIST, body).await?;
            if page.answers.is_empty() {
                break;
            }
            answers.extend(page.answers.into_iter().map(|a| RemoteAnswer {
                id: a.id,
                parent_id: question_id.to_string(),
                text: a.text,
                created_at: a.published_at.as_deref().and_then(parse_time),
                by_seller: true,
                can_modify: None,
            }));
            match non_empty(Some(page.last_id)) {
                Some(l) if last.as_deref() != Some(l.as_str()) => last = Some(l),
                _ => break,
            }
        }
        Ok(answers)
    }

    pub async fn delete_question_answer(
        &self,
        answer_id: &str,
        product_id: &str,
    ) -> Result<(), FeedbackError> {
        let body = json!({ "answer_id": answer_id, "sku": sku_number(product_id)? });
        let _: Value = self.post(Call::Write, ANSWER_DELETE, body).await?;
        Ok(())
    }

    /// Requests sent and throttling answers received so far.
    pub fn request_counts(&self) -> crate::marketplace::limits::RequestCounts {
        self.http.gate.counts()
    }
}

#[async_trait]
impl FeedbackConnector for OzonFeedback {
    fn marketplace(&self) -> Marketplace {
        Marketplace::Ozon
    }

    fn kinds(&self) -> &'static [ThreadKind] {
        &ThreadKind::FEEDBACK
    }

    fn capabilities(&self, kind: ThreadKind) -> Capabilities {
        let caps = Self::capabilities();
        let rules = match kind {
            ThreadKind::Question => caps.questions.unwrap_or(caps.reviews),
            _ => caps.reviews,
        };
        capabilities_of(rules, caps.subscription)
    }

    fn request_counts(&self) -> limits::RequestCounts {
        self.http.gate.counts()
    }

    async fn poll(
        &self,
        kind: ThreadKind,
        cursor: Option<&str>,
    ) -> Result<FeedbackBatch, MarketError> {
        let now = now();
        Ok(match kind {
            ThreadKind::Question => batch_of(self.unanswered_questions(cursor).await?, |q| {
                (!q.answered).then(|| q.into_item(Vec::new(), now))
            }),
            _ => batch_of(self.unanswered_reviews(cursor).await?, |r| {
                (!r.answered).then(|| r.into_item(Vec::new(), now))
            }),
        })
    }

    /// A review marked processed without a comment listed is "not known yet"
    /// (`None`): Ozon lists only comments that passed moderation, so ours may
    /// be waiting there.
    async fn fetch(&self, kind: ThreadKind, id: &str) -> Result<Option<FeedbackItem>, MarketError> {
        let now = now();
        match kind {
            ThreadKind::Question => {
                let Some(q) = self.question(id).await? else {
                    return Ok(None);
                };
                let answers = match &q.product_id {
                    Some(sku) => self.question_answers(id, sku).await?,
                    None => Vec::new(),
                };
                Ok(Some(q.into_item(answers, now)))
            }
            _ => {
                let Some(r) = self.review(id).await? else {
                    return Ok(None);
                };
                let answers = self.review_answers(id).await?;
                let item = r.clone().into_item(answers, now);
                Ok((item.answer.is_some() || !r.answered).then_some(item))
            }
        }
    }

    async fn answer(
        &self,
        kind: ThreadKind,
        id: &str,
        text: &ReplyText,
    ) -> Result<Delivery, SendError> {
        let answer_id = match kind {
            ThreadKind::Question => {
                let sku = self
                    .question_sku(id)
                    .await
                    .map_err(|e| SendError::NotDelivered(e.into()))?;
                self.answer_question(id, &sku, text.as_str()).await
            }
            _ => self.answer_review(id, text.as_str()).await,
        }
        .map_err(send_error)?;
        Ok(Delivery {
            message_id: Some(answer_id),
            sent_at: None,
        })
    }

    async fn delete_answer(
        &self,
        kind: ThreadKind,
        id: &str,
        answer_id: &str,
    ) -> Result<(), MarketError> {
        match kind {
            ThreadKind::Question => {
                let sku = self.question_sku(id).await?;
                self.delete_question_answer(answer_id, &sku).await?
            }
            _ => self.delete_review_answer(answer_id).await?,
        }
        Ok(())
    }
}
