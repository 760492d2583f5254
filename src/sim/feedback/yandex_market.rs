//! Yandex Market's review (goods-feedback) and question (goods-questions)
//! methods, as the official OpenAPI
//! (`yandex-market-partner-api/openapi/paths/v2_businesses_businessId_goods-feedback*.yaml`,
//! `v1_businesses_businessId_goods-questions*.yaml`) describes them: `Api-Key`
//! for a business in the path, int64 ids, `page_token` / `nextPageToken`
//! paging with `limit` 1–50, `{status: "ERROR", errors: [{code, message}]}`
//! error bodies, and each method's own hourly limit (`x-resource-limit-config`,
//! the basic tier) answered with `420` and the `X-RateLimit-Resource-*` headers.
//!
//! Comments and answers made here are published at once; the real API may
//! hold them for moderation (`UNMODERATED`).

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use super::{Board, IdStyle, Product, Via, rfc3339};
use crate::domain::{Marketplace, Millis};
use crate::sim::{Conn, FaultSpec, SellerConfig, Sim, SimConfig, faults_after, faults_before, now};

const MP: Marketplace = Marketplace::YandexMarket;
const HOUR_MS: Millis = 3600 * 1000;

/// `PageLimit50.yaml`: 1 to 50, default 25.
const PAGE_MAX: usize = 50;
const PAGE_DEFAULT: usize = 25;
/// `GoodsFeedbackCommentText.yaml`: 1 to 4096.
const COMMENT_MAX_CHARS: usize = 4096;
/// `QuestionsTextContent.yaml`: 1 to 5000.
const ANSWER_MAX_CHARS: usize = 5000;

/// The methods, each with the hourly limit its path file gives (basic tier).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Method {
    Feedbacks,
    Comments,
    CommentUpdate,
    CommentDelete,
    Questions,
    Answers,
    QuestionUpdate,
}

impl Method {
    fn hourly_limit(self) -> u32 {
        match self {
            Method::Feedbacks | Method::Comments => 5000,
            Method::CommentUpdate | Method::CommentDelete => 1000,
            Method::Questions | Method::Answers => 1000,
            Method::QuestionUpdate => 500,
        }
    }

    fn resource(self) -> &'static str {
        match self {
            Method::Feedbacks => "/v2/businesses/{businessId}/goods-feedback",
            Method::Comments => "/v2/businesses/{businessId}/goods-feedback/comments",
            Method::CommentUpdate => "/v2/businesses/{businessId}/goods-feedback/comments/update",
            Method::CommentDelete => "/v2/businesses/{businessId}/goods-feedback/comments/delete",
            Method::Questions => "/v1/businesses/{businessId}/goods-questions",
            Method::Answers => "/v1/businesses/{businessId}/goods-questions/answers",
            Method::QuestionUpdate => "/v1/businesses/{businessId}/goods-questions/update",
        }
    }
}

pub(crate) struct Account {
    business_id: Option<i64>,
    api_key: Option<String>,
    hourly_override: Option<u32>,
    /// Per method: when its hour began and requests in it.
    windows: HashMap<Method, (Millis, u32)>,
    pub board: Board,
}

impl Account {
    pub(crate) fn new(seller: &SellerConfig, config: &SimConfig) -> Account {
        let products = [
            ("FL-HEAD-01", "Фонарь налобный аккумуляторный"),
            ("PB-20000", "Повербанк 20000 мА·ч"),
            ("CBL-USBC-1M", "Кабель USB-C 1 м"),
        ]
        .map(|(id, name)| Product {
            id: id.into(),
            name: name.into(),
        });
        Account {
            business_id: seller.ym_business_id,
            api_key: seller.ym_api_key.clone(),
            hourly_override: config.ym_hourly_limit,
            windows: HashMap::new(),
            // Above 2^53, where a client that reads ids as doubles loses digits.
            board: Board::new(IdStyle::Number, 9_007_199_254_740_993, products.to_vec()),
        }
    }

    /// Take one request of `method`'s hour; the limit, what is left, and
    /// when the hour ends.
    fn take(&mut self, method: Method, at: Millis) -> (u32, Option<u32>, Millis) {
        let limit = self
            .hourly_override
            .unwrap_or_else(|| method.hourly_limit());
        let window = self.windows.entry(method).or_insert((at, 0));
        if at - window.0 >= HOUR_MS {
            *window = (at, 0);
        }
        let until = window.0 + HOUR_MS;
        if window.1 >= limit {
            return (limit, None, until);
        }
        window.1 += 1;
        (limit, Some(limit - window.1), until)
    }
}

pub(super) fn routes() -> axum::Router<Sim> {
    let feedback = "/v2/businesses/{business_id}/goods-feedback";
    let questions = "/v1/businesses/{business_id}/goods-questions";
    axum::Router::new()
        .route(feedback, post(feedbacks))
        .route(&format!("{feedback}/comments"), post(comments))
        .route(&format!("{feedback}/comments/update"), post(comment_update))
        .route(&format!("{feedback}/comments/delete"), post(comment_delete))
        .route(questions, post(question_list))
        .route(&format!("{questions}/answers"), post(answers))
        .route(&format!("{questions}/update"), post(question_update))
}

fn http_date(ms: Millis) -> String {
    static PRINTER: jiff::fmt::rfc2822::DateTimePrinter =
        jiff::fmt::rfc2822::DateTimePrinter::new();
    jiff::Timestamp::from_millisecond(ms)
        .ok()
        .and_then(|t| PRINTER.timestamp_to_rfc9110_string(&t).ok())
        .unwrap_or_default()
}

fn error_code(status: StatusCode) -> String {
    match status.as_u16() {
        420 => "LIMIT_EXCEEDED".into(),
        _ => status
            .canonical_reason()
            .unwrap_or("ERROR")
            .to_uppercase()
            .replace(' ', "_"),
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "status": "ERROR",
        "errors": [{ "code": error_code(status), "message": message }],
    });
    (status, Json(body)).into_response()
}

fn enhance_your_calm() -> StatusCode {
    StatusCode::from_u16(420).expect("420 is a valid status code")
}

fn with_limits(mut response: Response, limit: u32, remaining: u32, until: Millis) -> Response {
    let h = response.headers_mut();
    h.insert("X-RateLimit-Resource-Limit", HeaderValue::from(limit));
    h.insert(
        "X-RateLimit-Resource-Remaining",
        HeaderValue::from(remaining),
    );
    if let Ok(v) = HeaderValue::from_str(&http_date(until)) {
        h.insert("X-RateLimit-Resource-Until", v);
    }
    response
}

fn limit_hit(method: Method, limit: u32, until: Millis, status: StatusCode) -> Response {
    let message = format!(
        "Hit rate limit of {limit} requests per 1 hour for resource {}",
        method.resource()
    );
    with_limits(error(status, &message), limit, 0, until)
}

fn fault_response(fault: &FaultSpec, method: Method) -> Response {
    let status = StatusCode::from_u16(fault.status.unwrap_or(500))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match status.as_u16() {
        420 | 429 => {
            // `-Until` is written in whole seconds, never before the end.
            let at = now() + fault.retry_after_secs.unwrap_or(1) as Millis * 1000;
            let until = (at + 999) / 1000 * 1000;
            limit_hit(method, method.hourly_limit(), until, status)
        }
        401 => error(status, "Api-Key token is invalid"),
        403 => error(status, "Access denied"),
        404 => error(status, "Not found"),
        400 => error(status, "Bad Request"),
        _ => error(status, "Internal Server Error (simulated fault)"),
    }
}

struct Fail(StatusCode, String);

fn bad(message: impl Into<String>) -> Fail {
    Fail(StatusCode::BAD_REQUEST, message.into())
}

fn not_found(message: impl Into<String>) -> Fail {
    Fail(StatusCode::NOT_FOUND, message.into())
}

struct Request<'a> {
    query: &'a HashMap<String, String>,
    body: Value,
}

/// One request: faults, the key, the business, the method's hourly limit;
/// then `handle` on the board, the count, the limit headers, after-faults.
#[allow(clippy::too_many_arguments)]
async fn serve(
    sim: &Sim,
    conn: &Conn,
    headers: &HeaderMap,
    path: &str,
    business: &str,
    query: &HashMap<String, String>,
    body: &Bytes,
    method: Method,
    handle: impl FnOnce(&mut Board, Request<'_>) -> Result<Value, Fail>,
) -> Response {
    let fault = match faults_before(sim, conn, MP, path, |f| fault_response(f, method)).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let response = {
        let mut state = sim.lock();
        let key = headers
            .get("Api-Key")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .unwrap_or_default()
            .to_string();
        let found = (!key.is_empty())
            .then(|| {
                state
                    .sellers
                    .iter()
                    .position(|s| s.feedback.ym.api_key.as_deref() == Some(key.as_str()))
            })
            .flatten();
        let response = match (key.is_empty(), found) {
            (true, _) => error(StatusCode::UNAUTHORIZED, "Credentials are not specified"),
            (false, None) => error(StatusCode::UNAUTHORIZED, "Api-Key token is invalid"),
            (false, Some(idx)) => {
                let account = &mut state.sellers[idx].feedback.ym;
                match business.parse::<i64>().ok().filter(|b| *b > 0) {
                    None => error(
                        StatusCode::BAD_REQUEST,
                        "Value of field (businessId) must be greater than or equal to 1",
                    ),
                    Some(b) if account.business_id != Some(b) => {
                        error(StatusCode::FORBIDDEN, "Access denied")
                    }
                    Some(_) => match account.take(method, now()) {
                        (limit, None, until) => {
                            limit_hit(method, limit, until, enhance_your_calm())
                        }
                        (limit, Some(remaining), until) => {
                            let body = if body.iter().all(u8::is_ascii_whitespace) {
                                Ok(json!({}))
                            } else {
                                serde_json::from_slice::<Value>(body)
                                    .ok()
                                    .filter(Value::is_object)
                                    .ok_or_else(|| bad("Invalid JSON in request body"))
                            };
                            let outcome = body.and_then(|body| {
                                handle(&mut account.board, Request { query, body })
                            });
                            let response = match outcome {
                                Ok(v) => Json(v).into_response(),
                                Err(Fail(status, message)) => error(status, &message),
                            };
                            with_limits(response, limit, remaining, until)
                        }
                    },
                }
            }
        };
        state.count_request(MP, path, response.status().as_u16());
        response
    };
    faults_after(response, conn, fault).await
}

fn page_limit(query: &HashMap<String, String>) -> Result<usize, Fail> {
    match query.get("limit") {
        None => Ok(PAGE_DEFAULT),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=PAGE_MAX).contains(&n) => Ok(n),
            _ => Err(bad(format!("limit must be from 1 to {PAGE_MAX}"))),
        },
    }
}

/// A page token names the last id of the previous page.
fn page_after(query: &HashMap<String, String>) -> Result<Option<u64>, Fail> {
    let token = query.get("page_token").or_else(|| query.get("pageToken"));
    match token.map(String::as_str) {
        None | Some("") => Ok(None),
        Some(t) => t
            .strip_prefix("eyJ")
            .and_then(|rest| u64::from_str_radix(rest, 16).ok())
            .map(Some)
            .ok_or_else(|| bad("Invalid page token")),
    }
}

fn page_token(last: u64) -> String {
    format!("eyJ{last:x}")
}

/// One page of `ids` after the request's token, and the next token.
fn page(ids: Vec<u64>, query: &HashMap<String, String>) -> Result<(Vec<u64>, Value), Fail> {
    let limit = page_limit(query)?;
    let after = page_after(query)?;
    let rest: Vec<u64> = ids
        .into_iter()
        .filter(|id| after.is_none_or(|a| *id > a))
        .collect();
    let page: Vec<u64> = rest.iter().copied().take(limit).collect();
    let paging = match page.last() {
        Some(last) if rest.len() > page.len() => json!({ "nextPageToken": page_token(*last) }),
        _ => json!({}),
    };
    Ok((page, paging))
}

fn ids_filter(body: &Value, field: &str) -> Result<Option<Vec<u64>>, Fail> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) if (1..=50).contains(&items.len()) => items
            .iter()
            .map(|v| {
                v.as_u64()
                    .ok_or_else(|| bad(format!("{field} must hold int64 ids")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(bad(format!("{field} must be an array of 1 to 50 ids"))),
    }
}

fn comment_json(feedback_id: u64, a: &super::Answer) -> Value {
    json!({
        "id": a.id,
        "text": a.text,
        "canModify": true,
        "author": { "type": "BUSINESS", "name": "Магазин" },
        "status": "PUBLISHED",
        "feedbackId": feedback_id,
    })
}

fn text_of(v: Option<&Value>, max: usize) -> Result<String, Fail> {
    match v.and_then(Value::as_str) {
        Some(t) if !t.trim().is_empty() && t.chars().count() <= max => Ok(t.to_string()),
        _ => Err(bad(format!("text must be from 1 to {max} characters"))),
    }
}

type Q = Query<HashMap<String, String>>;

async fn feedbacks(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    Path(business): Path<String>,
    Query(query): Q,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/v2/businesses/{business}/goods-feedback");
    serve(&sim, &conn, &headers, &path, &business, &query, &body, Method::Feedbacks, |b, req| {
        let only = ids_filter(&req.body, "feedbackIds")?;
        let reaction = match req.body.get("reactionStatus").and_then(Value::as_str) {
            None | Some("ALL") => false,
            Some("NEED_REACTION") => true,
            Some(_) => return Err(bad("reactionStatus must be ALL or NEED_REACTION")),
        };
        let ids = b
            .reviews
            .iter()
            .filter(|r| only.as_ref().is_none_or(|o| o.contains(&r.id)))
            .filter(|r| !reaction || !r.processed)
            .map(|r| r.id)
            .collect();
        let (ids, paging) = page(ids, req.query)?;
        let feedbacks: Vec<Value> = ids
            .iter()
            .filter_map(|id| b.reviews.iter().find(|r| r.id == *id))
            .map(|r| {
                let mut description = serde_json::Map::new();
                for (field, value) in [("advantages", &r.pros), ("disadvantages", &r.cons), ("comment", &r.text)] {
                    if !value.is_empty() {
                        description.insert(field.into(), json!(value));
                    }
                }
                let photos: Vec<String> = (1..=r.photos)
                    .map(|n| format!("https://avatars.mds.yandex.net/get-market-ugc/{}/{n}/orig", r.id))
                    .collect();
                let mut media = serde_json::Map::new();
                if !photos.is_empty() {
                    media.insert("photos".into(), json!(photos));
                }
                json!({
                    "feedbackId": r.id,
                    "createdAt": rfc3339(r.at),
                    "needReaction": !r.processed,
                    "identifiers": { "orderId": 50_000_000 + (r.id % 1_000_000), "offerId": r.product.id },
                    "author": r.author,
                    "description": description,
                    "media": media,
                    "statistics": { "rating": r.rating, "commentsCount": r.live_answers().count(), "recommended": r.rating >= 4 },
                })
            })
            .collect();
        Ok(json!({ "status": "OK", "result": { "feedbacks": feedbacks, "paging": paging } }))
    })
    .await
}

async fn comments(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    Path(business): Path<String>,
    Query(query): Q,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/v2/businesses/{business}/goods-feedback/comments");
    serve(
        &sim,
        &conn,
        &headers,
        &path,
        &business,
        &query,
        &body,
        Method::Comments,
        |b, req| {
            let only = ids_filter(&req.body, "commentIds")?;
            let feedback = req.body.get("feedbackId").and_then(Value::as_u64);
            if feedback.is_none() && only.is_none() {
                return Err(bad("feedbackId or commentIds is required"));
            }
            let all: Vec<(u64, &super::Answer)> = b
                .reviews
                .iter()
                .filter(|r| feedback.is_none_or(|f| r.id == f))
                .flat_map(|r| r.live_answers().map(move |a| (r.id, a)))
                .filter(|(_, a)| only.as_ref().is_none_or(|o| o.contains(&a.id)))
                .collect();
            let (ids, paging) = page(all.iter().map(|(_, a)| a.id).collect(), req.query)?;
            let comments: Vec<Value> = all
                .iter()
                .filter(|(_, a)| ids.contains(&a.id))
                .map(|(f, a)| comment_json(*f, a))
                .collect();
            Ok(json!({ "status": "OK", "result": { "comments": comments, "paging": paging } }))
        },
    )
    .await
}

async fn comment_update(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    Path(business): Path<String>,
    Query(query): Q,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/v2/businesses/{business}/goods-feedback/comments/update");
    serve(
        &sim,
        &conn,
        &headers,
        &path,
        &business,
        &query,
        &body,
        Method::CommentUpdate,
        |b, req| {
            let feedback = req
                .body
                .get("feedbackId")
                .and_then(Value::as_u64)
                .ok_or_else(|| bad("feedbackId is required"))?;
            let comment = req
                .body
                .get("comment")
                .filter(|c| c.is_object())
                .ok_or_else(|| bad("comment is required"))?;
            let text = text_of(comment.get("text"), COMMENT_MAX_CHARS)?;
            if !b.reviews.iter().any(|r| r.id == feedback) {
                return Err(not_found("Feedback not found"));
            }
            let id = match comment.get("id").and_then(Value::as_u64) {
                Some(id) => {
                    let review = b.review_mut(feedback).expect("checked");
                    let answer = review
                        .answers
                        .iter_mut()
                        .find(|a| a.id == id && !a.deleted)
                        .ok_or_else(|| not_found("Comment not found"))?;
                    answer.text = text;
                    answer.edits += 1;
                    id
                }
                None => b.answer_review(feedback, &text, Via::Api).expect("checked"),
            };
            let review = b
                .reviews
                .iter()
                .find(|r| r.id == feedback)
                .expect("checked");
            let answer = review
                .answers
                .iter()
                .find(|a| a.id == id)
                .expect("just written");
            Ok(json!({ "status": "OK", "result": comment_json(feedback, answer) }))
        },
    )
    .await
}

async fn comment_delete(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    Path(business): Path<String>,
    Query(query): Q,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/v2/businesses/{business}/goods-feedback/comments/delete");
    serve(
        &sim,
        &conn,
        &headers,
        &path,
        &business,
        &query,
        &body,
        Method::CommentDelete,
        |b, req| {
            let id = req
                .body
                .get("id")
                .and_then(Value::as_u64)
                .ok_or_else(|| bad("id is required"))?;
            let in_review = b
                .reviews
                .iter()
                .any(|r| r.live_answers().any(|a| a.id == id));
            if !in_review || !b.delete_answer(id) {
                return Err(not_found("Comment not found"));
            }
            Ok(json!({ "status": "OK" }))
        },
    )
    .await
}

fn answer_json(question: u64, a: &super::Answer) -> Value {
    json!({
        "id": a.id,
        "text": a.text,
        "canModify": true,
        "author": { "type": "BUSINESS", "name": "Магазин" },
        "status": "PUBLISHED",
        "questionId": question,
        "createdAt": rfc3339(a.at),
        "votes": { "likes": 0, "dislikes": 0 },
    })
}

async fn question_list(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    Path(business): Path<String>,
    Query(query): Q,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/v1/businesses/{business}/goods-questions");
    let business_id = business.parse::<i64>().unwrap_or_default();
    serve(&sim, &conn, &headers, &path, &business, &query, &body, Method::Questions, |b, req| {
        let only = ids_filter(&req.body, "questionIds")?;
        let need_answer = match req.body.get("needAnswer") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(v)) => *v,
            Some(_) => return Err(bad("needAnswer must be a boolean")),
        };
        let mut ids: Vec<u64> = b
            .questions
            .iter()
            .filter(|q| only.as_ref().is_none_or(|o| o.contains(&q.id)))
            .filter(|q| !need_answer || q.live_answers().next().is_none())
            .map(|q| q.id)
            .collect();
        let total = ids.len();
        match req.body.get("sort").and_then(Value::as_str) {
            None | Some("CREATED_AT_ASC") => {}
            Some("CREATED_AT_DESC") => ids.reverse(),
            Some(_) => return Err(bad("sort must be CREATED_AT_ASC or CREATED_AT_DESC")),
        }
        // Paging by position keeps both orders right.
        let limit = page_limit(req.query)?;
        let start = match page_after(req.query)? {
            None => 0,
            Some(last) => ids.iter().position(|id| *id == last).map_or(ids.len(), |p| p + 1),
        };
        let page: Vec<u64> = ids[start..].iter().copied().take(limit).collect();
        let paging = match page.last() {
            Some(last) if ids.len() > start + page.len() => json!({ "nextPageToken": page_token(*last) }),
            _ => json!({}),
        };
        let questions: Vec<Value> = page
            .iter()
            .filter_map(|id| b.questions.iter().find(|q| q.id == *id))
            .map(|q| {
                json!({
                    "questionIdentifiers": { "id": q.id, "offerId": q.product.id, "categoryId": 91491 },
                    "businessId": business_id,
                    "text": q.text,
                    "createdAt": rfc3339(q.at),
                    "votes": { "likes": 0, "dislikes": 0 },
                    "author": { "type": "USER", "name": q.author },
                })
            })
            .collect();
        Ok(json!({ "status": "OK", "result": { "questions": questions, "paging": paging, "totalCount": total } }))
    })
    .await
}

async fn answers(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    Path(business): Path<String>,
    Query(query): Q,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/v1/businesses/{business}/goods-questions/answers");
    serve(
        &sim,
        &conn,
        &headers,
        &path,
        &business,
        &query,
        &body,
        Method::Answers,
        |b, req| {
            let only = ids_filter(&req.body, "answerIds")?;
            let question = req.body.get("questionId").and_then(Value::as_u64);
            if question.is_none() && only.is_none() {
                return Err(bad("questionId or answerIds is required"));
            }
            if let Some(q) = question
                && !b.questions.iter().any(|x| x.id == q)
            {
                return Err(not_found("Question not found"));
            }
            let all: Vec<(u64, &super::Answer)> = b
                .questions
                .iter()
                .filter(|q| question.is_none_or(|id| q.id == id))
                .flat_map(|q| q.live_answers().map(move |a| (q.id, a)))
                .filter(|(_, a)| only.as_ref().is_none_or(|o| o.contains(&a.id)))
                .collect();
            let (ids, paging) = page(all.iter().map(|(_, a)| a.id).collect(), req.query)?;
            let answers: Vec<Value> = all
                .iter()
                .filter(|(_, a)| ids.contains(&a.id))
                .map(|(q, a)| answer_json(*q, a))
                .collect();
            Ok(json!({ "status": "OK", "result": { "answers": answers, "paging": paging } }))
        },
    )
    .await
}

/// `{id, type}` of a `TypedQuestionsTextEntityIdDTO`.
fn entity(body: &Value, field: &str, want: &str) -> Result<u64, Fail> {
    let e = body
        .get(field)
        .ok_or_else(|| bad(format!("{field} is required")))?;
    let id = e
        .get("id")
        .and_then(Value::as_u64)
        .filter(|id| *id >= 1)
        .ok_or_else(|| bad(format!("{field}.id is required")))?;
    match e.get("type").and_then(Value::as_str) {
        Some(t) if t == want => Ok(id),
        Some("QUESTION" | "ANSWER" | "COMMENT") => Err(bad(format!(
            "{field}.type must be {want} for this operation"
        ))),
        _ => Err(bad(format!("{field}.type is required"))),
    }
}

async fn question_update(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    Path(business): Path<String>,
    Query(query): Q,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/v1/businesses/{business}/goods-questions/update");
    serve(&sim, &conn, &headers, &path, &business, &query, &body, Method::QuestionUpdate, |b, req| {
        let in_question = |b: &Board, id: u64| {
            b.questions.iter().any(|q| q.live_answers().any(|a| a.id == id))
        };
        match req.body.get("operationType").and_then(Value::as_str) {
            Some("CREATE") => {
                let question = entity(&req.body, "parentEntityId", "QUESTION")?;
                let text = text_of(req.body.get("text"), ANSWER_MAX_CHARS)?;
                let id = b
                    .answer_question(question, &text, Via::Api)
                    .ok_or_else(|| not_found("Question not found"))?;
                Ok(json!({ "status": "OK", "result": { "entity": { "id": id, "type": "ANSWER" } } }))
            }
            Some("UPDATE") => {
                let id = entity(&req.body, "entityId", "ANSWER")?;
                let text = text_of(req.body.get("text"), ANSWER_MAX_CHARS)?;
                if !in_question(b, id) {
                    return Err(not_found("Answer not found"));
                }
                let answer = b.answer_mut(id).expect("checked");
                answer.text = text;
                answer.edits += 1;
                Ok(json!({ "status": "OK" }))
            }
            Some("DELETE") => {
                let id = entity(&req.body, "entityId", "ANSWER")?;
                if !in_question(b, id) || !b.delete_answer(id) {
                    return Err(not_found("Answer not found"));
                }
                Ok(json!({ "status": "OK" }))
            }
            _ => Err(bad("operationType must be CREATE, UPDATE or DELETE")),
        }
    })
    .await
}
