//! Yandex Market reviews (`goods-feedback`) and questions (`goods-questions`),
//! as the official OpenAPI (`yandex-market-partner-api/openapi/`) describes
//! them: `Api-Key` for a business, int64 ids, `page_token` paging in
//! publication order, per-method hourly limits answered with 420 and
//! `X-RateLimit-Resource-Until`. Comments and answers can be edited and
//! deleted while `canModify` says so.

use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    AnswerRules, Call, FeedbackCapabilities, FeedbackError, Http, Page, Refusal, RemoteAnswer,
    RemoteQuestion, RemoteReview, batch_of, capabilities_of, id_string, now, opt_id_string,
    parse_time, send_error,
};
use crate::domain::{
    FeedbackBatch, FeedbackCapabilities as Capabilities, FeedbackItem, Marketplace, ReplyText,
    ThreadKind,
};
use crate::marketplace::{Delivery, FeedbackConnector, MarketError, SendError, limits};

const FEEDBACKS: &str = "/v2/businesses/{businessId}/goods-feedback";
const COMMENTS: &str = "/v2/businesses/{businessId}/goods-feedback/comments";
const COMMENT_UPDATE: &str = "/v2/businesses/{businessId}/goods-feedback/comments/update";
const COMMENT_DELETE: &str = "/v2/businesses/{businessId}/goods-feedback/comments/delete";
const QUESTIONS: &str = "/v1/businesses/{businessId}/goods-questions";
const QUESTION_ANSWERS: &str = "/v1/businesses/{businessId}/goods-questions/answers";
const QUESTION_UPDATE: &str = "/v1/businesses/{businessId}/goods-questions/update";

/// `PageLimit50.yaml`: at most 50 a page.
const PAGE_LIMIT: u32 = 50;
/// Requests one listing call may make.
pub const MAX_PAGES_PER_CALL: usize = 5;
/// Longest we honour `-Until`; the longest documented window is an hour.
const MAX_WAIT: Duration = Duration::from_secs(3600);
const DEFAULT_RETRY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct YandexMarketFeedbackConfig {
    pub base_url: String,
    pub business_id: i64,
    pub api_key: SecretString,
    pub timeout: Duration,
    pub rate_limit_requests: u32,
    pub rate_limit_period: Duration,
}

impl YandexMarketFeedbackConfig {
    /// Paced for the tightest method used (question answers: 500 an hour),
    /// with room for bursts.
    pub fn new(base_url: &str, business_id: i64, api_key: SecretString) -> Self {
        YandexMarketFeedbackConfig {
            base_url: base_url.to_string(),
            business_id,
            api_key,
            timeout: Duration::from_secs(30),
            rate_limit_requests: 500,
            rate_limit_period: Duration::from_secs(3600),
        }
    }
}

pub struct YandexMarketFeedback {
    http: Http,
    business_id: i64,
    api_key: SecretString,
}

#[derive(Deserialize)]
struct Envelope<T> {
    result: T,
}

#[derive(Deserialize, Default)]
struct Paging {
    #[serde(default, rename = "nextPageToken")]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FeedbackList {
    feedbacks: Vec<ApiFeedback>,
    #[serde(default)]
    paging: Paging,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiFeedback {
    #[serde(deserialize_with = "id_string")]
    feedback_id: String,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    identifiers: Identifiers,
    #[serde(default)]
    description: Description,
    #[serde(default)]
    media: Media,
    statistics: Statistics,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Identifiers {
    #[serde(default)]
    offer_id: Option<String>,
}

#[derive(Deserialize, Default)]
struct Description {
    #[serde(default)]
    advantages: Option<String>,
    #[serde(default)]
    disadvantages: Option<String>,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Deserialize, Default)]
struct Media {
    #[serde(default)]
    photos: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Statistics {
    rating: u8,
    #[serde(default)]
    comments_count: u64,
}

#[derive(Deserialize)]
struct CommentList {
    comments: Vec<ApiComment>,
    #[serde(default)]
    paging: Paging,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiComment {
    #[serde(deserialize_with = "id_string")]
    id: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    can_modify: Option<bool>,
    #[serde(default)]
    author: Option<Author>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    parent_id: Option<String>,
}

#[derive(Deserialize)]
struct Author {
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct QuestionList {
    questions: Vec<ApiQuestion>,
    #[serde(default)]
    paging: Paging,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiQuestion {
    question_identifiers: QuestionIdentifiers,
    #[serde(default)]
    text: String,
    #[serde(default)]
    created_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QuestionIdentifiers {
    #[serde(deserialize_with = "id_string")]
    id: String,
    #[serde(default)]
    offer_id: Option<String>,
}

#[derive(Deserialize)]
struct AnswerList {
    answers: Vec<ApiAnswer>,
    #[serde(default)]
    paging: Paging,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiAnswer {
    #[serde(deserialize_with = "id_string")]
    id: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    can_modify: Option<bool>,
    #[serde(default)]
    author: Option<Author>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
}

#[derive(Deserialize)]
struct Created {
    entity: Entity,
}

#[derive(Deserialize)]
struct Entity {
    #[serde(deserialize_with = "id_string")]
    id: String,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// How long until `X-RateLimit-Resource-Until`, on the server's own clock
/// (`Date`), so a skewed local clock does not matter.
fn until_wait(r: &Refusal) -> Duration {
    static PARSER: jiff::fmt::rfc2822::DateTimeParser = jiff::fmt::rfc2822::DateTimeParser::new();
    let header = |name: &str| {
        let v = r.headers.get(name)?.to_str().ok()?.trim();
        // The weekday adds nothing and a wrong one would fail the parse.
        let v = v.split_once(',').map_or(v, |(_, rest)| rest.trim());
        PARSER.parse_timestamp(v).ok()
    };
    match (header("X-RateLimit-Resource-Until"), header("Date")) {
        (Some(until), Some(date)) => {
            let ms = (until.as_millisecond() - date.as_millisecond()).max(0) as u64;
            Duration::from_millis(ms).clamp(DEFAULT_RETRY, MAX_WAIT)
        }
        _ => DEFAULT_RETRY,
    }
}

fn refused(r: Refusal) -> FeedbackError {
    let status = r.status.as_u16();
    let body: ErrorBody = serde_json::from_str(&r.body).unwrap_or_default();
    let message = body
        .errors
        .iter()
        .map(|e| format!("{}: {}", e.code, e.message))
        .collect::<Vec<_>>()
        .join("; ");
    match status {
        420 | 429 => FeedbackError::RateLimited {
            retry_after: until_wait(&r),
        },
        401 => FeedbackError::AuthRejected(message),
        403 => FeedbackError::AuthRejected(format!(
            "у ключа нет доступа к кабинету или к отзывам и вопросам ({message})"
        )),
        404 => FeedbackError::NotFound(message),
        _ => FeedbackError::Other { status, message },
    }
}

impl ApiFeedback {
    fn into_remote(self) -> RemoteReview {
        RemoteReview {
            id: self.feedback_id,
            rating: self.statistics.rating,
            text: self.description.comment.unwrap_or_default(),
            pros: super::non_empty(self.description.advantages),
            cons: super::non_empty(self.description.disadvantages),
            has_photos: self.media.photos.is_some_and(|p| !p.is_empty()),
            product_id: self.identifiers.offer_id,
            product_name: None,
            answered: self.statistics.comments_count > 0,
            created_at: self.created_at.as_deref().and_then(parse_time),
        }
    }
}

impl ApiQuestion {
    fn into_remote(self) -> RemoteQuestion {
        RemoteQuestion {
            id: self.question_identifiers.id,
            text: self.text,
            product_id: self.question_identifiers.offer_id,
            product_name: None,
            answered: false,
            created_at: self.created_at.as_deref().and_then(parse_time),
        }
    }
}

fn int_id(id: &str) -> Result<i64, FeedbackError> {
    id.trim()
        .parse()
        .map_err(|_| FeedbackError::NotFound(format!("id Маркета — число, а не `{id}`")))
}

/// Not deleted or banned: still in front of buyers or on its way.
fn is_live(status: Option<&str>) -> bool {
    !matches!(status, Some("DELETED" | "BANNED"))
}

fn by_seller(author: Option<&Author>) -> bool {
    author
        .and_then(|a| a.kind.as_deref())
        .is_some_and(|k| k != "USER")
}

impl YandexMarketFeedback {
    pub fn new(config: YandexMarketFeedbackConfig) -> Self {
        YandexMarketFeedback {
            http: Http::new(
                &config.base_url,
                config.timeout,
                config.rate_limit_requests,
                config.rate_limit_period,
            ),
            business_id: config.business_id,
            api_key: config.api_key,
        }
    }

    pub fn capabilities() -> FeedbackCapabilities {
        FeedbackCapabilities {
            reviews: AnswerRules {
                can_edit: true,
                edit_window: None,
                can_delete: true,
                min_chars: 1,
                max_chars: Some(4096),
            },
            questions: Some(AnswerRules {
                can_edit: true,
                edit_window: None,
                can_delete: true,
                min_chars: 1,
                max_chars: Some(5000),
            }),
            subscription: None,
        }
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        call: Call,
        path: &str,
        page_token: Option<&str>,
        body: Value,
    ) -> Result<T, FeedbackError> {
        let mut query: Vec<(&str, String)> = vec![("limit", PAGE_LIMIT.to_string())];
        if let Some(t) = page_token {
            query.push(("page_token", t.to_string()));
        }
        let request = self
            .http
            .client
            .post(
                self.http
                    .url(&path.replace("{businessId}", &self.business_id.to_string())),
            )
            .header("Api-Key", self.api_key.expose_secret())
            .query(&query)
            .json(&body);
        self.http.call(call, request, refused).await
    }

    /// Pages of a listing from `cursor` (a page token), at most
    /// [`MAX_PAGES_PER_CALL`]. The cursor returned is the token of the last
    /// page read, so the next call reads that page again for what was added
    /// to it: items can come twice and are told apart by id.
    async fn pages<P: serde::de::DeserializeOwned, T>(
        &self,
        path: &str,
        body: Value,
        cursor: Option<&str>,
        mut take: impl FnMut(P, &mut Vec<T>) -> Paging,
    ) -> Result<Page<T>, FeedbackError> {
        let mut token = cursor.map(str::to_string);
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES_PER_CALL {
            let page: Envelope<P> = self
                .post(Call::Read, path, token.as_deref(), body.clone())
                .await?;
            match take(page.result, &mut items).next_page_token {
                Some(next) if !next.is_empty() => token = Some(next),
                _ => {
                    return Ok(Page {
                        items,
                        cursor: token,
                        more: false,
                    });
                }
            }
        }
        Ok(Page {
            items,
            cursor: token,
            more: true,
        })
    }

    /// Reviews that still need the seller's reaction.
    pub async fn unanswered_reviews(
        &self,
        cursor: Option<&str>,
    ) -> Result<Page<RemoteReview>, FeedbackError> {
        let body = json!({ "reactionStatus": "NEED_REACTION" });
        self.pages(FEEDBACKS, body, cursor, |page: FeedbackList, items| {
            items.extend(page.feedbacks.into_iter().map(ApiFeedback::into_remote));
            page.paging
        })
        .await
    }

    /// One review by id; `None` when Market does not list it.
    pub async fn review(&self, review_id: &str) -> Result<Option<RemoteReview>, FeedbackError> {
        let body = json!({ "feedbackIds": [int_id(review_id)?] });
        let page: Envelope<FeedbackList> = self.post(Call::Read, FEEDBACKS, None, body).await?;
        Ok(page
            .result
            .feedbacks
            .into_iter()
            .map(ApiFeedback::into_remote)
            .find(|r| r.id == review_id))
    }

    /// One question by id; `None` when Market does not list it.
    pub async fn question(
        &self,
        question_id: &str,
    ) -> Result<Option<RemoteQuestion>, FeedbackError> {
        let body = json!({ "questionIds": [int_id(question_id)?] });
        let page: Envelope<QuestionList> = self.post(Call::Read, QUESTIONS, None, body).await?;
        Ok(page
            .result
            .questions
            .into_iter()
            .map(ApiQuestion::into_remote)
            .find(|q| q.id == question_id))
    }

    /// Answer a review; the comment's id.
    pub async fn answer_review(
        &self,
        review_id: &str,
        text: &str,
    ) -> Result<String, FeedbackError> {
        let body = json!({ "feedbackId": int_id(review_id)?, "comment": { "text": text } });
        let created: Envelope<ApiComment> =
            self.post(Call::Write, COMMENT_UPDATE, None, body).await?;
        Ok(created.result.id)
    }

    pub async fn edit_review_answer(
        &self,
        review_id: &str,
        answer_id: &str,
        text: &str,
    ) -> Result<(), FeedbackError> {
        let body = json!({
            "feedbackId": int_id(review_id)?,
            "comment": { "id": int_id(answer_id)?, "text": text },
        });
        let _: Value = self.post(Call::Write, COMMENT_UPDATE, None, body).await?;
        Ok(())
    }

    pub async fn delete_review_answer(&self, answer_id: &str) -> Result<(), FeedbackError> {
        let body = json!({ "id": int_id(answer_id)? });
        let _: Value = self.post(Call::Write, COMMENT_DELETE, None, body).await?;
        Ok(())
    }

    /// The review's answers (not replies to other comments), deleted and
    /// banned ones left out.
    pub async fn review_answers(
        &self,
        review_id: &str,
    ) -> Result<Vec<RemoteAnswer>, FeedbackError> {
        let body = json!({ "feedbackId": int_id(review_id)? });
        let parent = review_id.to_string();
        let page = self
            .pages(COMMENTS, body, None, |page: CommentList, items| {
                items.extend(
                    page.comments
                        .into_iter()
                        .filter(|c| c.parent_id.is_none() && is_live(c.status.as_deref()))
                        .map(|c| RemoteAnswer {
                            by_seller: by_seller(c.author.as_ref()),
                            id: c.id,
                            parent_id: parent.clone(),
                            text: c.text,
                            created_at: None,
                            can_modify: c.can_modify,
                        }),
                );
                page.paging
            })
            .await?;
        Ok(page.items)
    }

    /// Questions waiting for an answer, oldest first.
    pub async fn unanswered_questions(
        &self,
        cursor: Option<&str>,
    ) -> Result<Page<RemoteQuestion>, FeedbackError> {
        let body = json!({ "needAnswer": true, "sort": "CREATED_AT_ASC" });
        self.pages(QUESTIONS, body, cursor, |page: QuestionList, items| {
            items.extend(page.questions.into_iter().map(ApiQuestion::into_remote));
            page.paging
        })
        .await
    }

    /// Answer a question; the answer's id.
    pub async fn answer_question(
        &self,
        question_id: &str,
        text: &str,
    ) -> Result<String, FeedbackError> {
        let body = json!({
            "operationType": "CREATE",
            "parentEntityId": { "id": int_id(question_id)?, "type": "QUESTION" },
            "text": text,
        });
        let created: Envelope<Created> =
            self.post(Call::Write, QUESTION_UPDATE, None, body).await?;
        Ok(created.result.entity.id)
    }

    pub async fn edit_question_answer(
        &self,
        answer_id: &str,
        text: &str,
    ) -> Result<(), FeedbackError> {
        let body = json!({
            "operationType": "UPDATE",
            "entityId": { "id": int_id(answer_id)?, "type": "ANSWER" },
            "text": text,
        });
        let _: Value = self.post(Call::Write, QUESTION_UPDATE, None, body).await?;
        Ok(())
    }

    pub async fn delete_question_answer(&self, answer_id: &str) -> Result<(), FeedbackError> {
        let body = json!({
            "operationType": "DELETE",
            "entityId": { "id": int_id(answer_id)?, "type": "ANSWER" },
        });
        let _: Value = self.post(Call::Write, QUESTION_UPDATE, None, body).await?;
        Ok(())
    }

    pub async fn question_answers(
        &self,
        question_id: &str,
    ) -> Result<Vec<RemoteAnswer>, FeedbackError> {
        let body = json!({ "questionId": int_id(question_id)? });
        let parent = question_id.to_string();
        let page = self
            .pages(QUESTION_ANSWERS, body, None, |page: AnswerList, items| {
                items.extend(
                    page.answers
                        .into_iter()
                        .filter(|a| is_live(a.status.as_deref()))
                        .map(|a| RemoteAnswer {
                            by_seller: by_seller(a.author.as_ref()),
                            id: a.id,
                            parent_id: parent.clone(),
                            text: a.text,
                            created_at: a.created_at.as_deref().and_then(parse_time),
                            can_modify: a.can_modify,
                        }),
                );
                page.paging
            })
            .await?;
        Ok(page.items)
    }

    /// Requests sent and throttling answers received so far.
    pub fn request_counts(&self) -> crate::marketplace::limits::RequestCounts {
        self.http.gate.counts()
    }
}

#[async_trait]
impl FeedbackConnector for YandexMarketFeedback {
    fn marketplace(&self) -> Marketplace {
        Marketplace::YandexMarket
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
                Some(q.into_item(Vec::new(), now))
            }),
            _ => batch_of(self.unanswered_reviews(cursor).await?, |r| {
                (!r.answered).then(|| r.into_item(Vec::new(), now))
            }),
        })
    }

    async fn fetch(&self, kind: ThreadKind, id: &str) -> Result<Option<FeedbackItem>, MarketError> {
        let now = now();
        Ok(match kind {
            ThreadKind::Question => match self.question(id).await? {
                Some(q) => Some(q.into_item(self.question_answers(id).await?, now)),
                None => None,
            },
            _ => match self.review(id).await? {
                Some(r) => Some(r.into_item(self.review_answers(id).await?, now)),
                None => None,
            },
        })
    }

    async fn answer(
        &self,
        kind: ThreadKind,
        id: &str,
        text: &ReplyText,
    ) -> Result<Delivery, SendError> {
        let answer_id = match kind {
            ThreadKind::Question => self.answer_question(id, text.as_str()).await,
            _ => self.answer_review(id, text.as_str()).await,
        }
        .map_err(send_error)?;
        Ok(Delivery {
            message_id: Some(answer_id),
            sent_at: None,
        })
    }

    async fn edit_answer(
        &self,
        kind: ThreadKind,
        id: &str,
        answer_id: &str,
        text: &ReplyText,
    ) -> Result<Delivery, SendError> {
        match kind {
            ThreadKind::Question => self.edit_question_answer(answer_id, text.as_str()).await,
            _ => self.edit_review_answer(id, answer_id, text.as_str()).await,
        }
        .map_err(send_error)?;
        Ok(Delivery {
            message_id: Some(answer_id.to_string()),
            sent_at: None,
        })
    }

    async fn delete_answer(
        &self,
        kind: ThreadKind,
        _id: &str,
        answer_id: &str,
    ) -> Result<(), MarketError> {
        match kind {
            ThreadKind::Question => self.delete_question_answer(answer_id).await?,
            _ => self.delete_review_answer(answer_id).await?,
        }
        Ok(())
    }
}
