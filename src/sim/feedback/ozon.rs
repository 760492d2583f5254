//! Ozon's review and question methods, as
//! `shared/specs/ozon/swagger.2025-09.salacoste.json` describes them
//! (`ReviewAPI_*`, `Question*`): `POST` with JSON bodies, `Client-Id` +
//! `Api-Key`, all of them only for sellers with Premium Plus. Reviews answer
//! errors with `rpcStatus` (`details` an array), questions with
//! `v1QuestionAnswerCreateDefault` (`details` a string).
//!
//! Where the spec is silent: the refusal without Premium Plus is 403 code 7
//! (text illustrative), the rate limit is the account-wide 50 requests a
//! second per Client-Id (its own bucket here, beside the chat methods'), a
//! question list page holds `QUESTION_PAGE` questions, and comments made
//! through the API are published at once (the real one lists only those that
//! passed moderation).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value, json};

use super::{Board, IdStyle, Product, Via, rfc3339};
use crate::domain::Marketplace;
use crate::sim::{
    Admission, Bucket, Conn, FaultSpec, SellerConfig, Sim, SimConfig, faults_after, faults_before,
};

const MP: Marketplace = Marketplace::Ozon;

// Paths and numbers from the spec, not the clients'.
const PATH_REVIEW_LIST: &str = "/v1/review/list";
const PATH_REVIEW_INFO: &str = "/v1/review/info";
const PATH_REVIEW_COUNT: &str = "/v1/review/count";
const PATH_COMMENT_CREATE: &str = "/v1/review/comment/create";
const PATH_COMMENT_LIST: &str = "/v1/review/comment/list";
const PATH_COMMENT_DELETE: &str = "/v1/review/comment/delete";
const PATH_QUESTION_LIST: &str = "/v1/question/list";
const PATH_QUESTION_INFO: &str = "/v1/question/info";
const PATH_ANSWER_CREATE: &str = "/v1/question/answer/create";
const PATH_ANSWER_LIST: &str = "/v1/question/answer/list";
const PATH_ANSWER_DELETE: &str = "/v1/question/answer/delete";
/// `v1ReviewListRequest.limit` and `v1CommentListRequest.limit`: "Минимум — 20, максимум — 100".
const REVIEW_LIMITS: std::ops::RangeInclusive<u64> = 20..=100;
/// `v1QuestionAnswerCreateRequest.text`: "от 2 до 3000 символов".
const QUESTION_ANSWER_CHARS: std::ops::RangeInclusive<usize> = 2..=3000;
/// ⚠ The question list takes no page size; this is ours.
const QUESTION_PAGE: usize = 50;
/// ⚠ The answers list takes no page size either.
const ANSWER_PAGE: usize = 50;
const NO_SUBSCRIPTION: &str = "Method is available only for sellers with Premium Plus subscription";
const INVALID_KEY: &str = "Invalid Api-Key, please check the key and try again";

pub(crate) struct Account {
    client_id: Option<String>,
    api_key: Option<String>,
    pub premium_plus: bool,
    bucket: Bucket,
    pub board: Board,
}

impl Account {
    pub(crate) fn new(seller: &SellerConfig, config: &SimConfig) -> Account {
        let products = [
            (646_399_170, "Фонарь налобный аккумуляторный"),
            (646_399_171, "Повербанк 20000 мА·ч"),
            (646_399_172, "Кабель USB-C 1 м"),
        ]
        .map(|(sku, name)| Product {
            id: sku.to_string(),
            name: name.into(),
        });
        Account {
            client_id: seller.ozon_client_id.clone(),
            api_key: seller.ozon_api_key.clone(),
            premium_plus: true,
            bucket: Bucket::new(config.ozon_rate),
            board: Board::new(IdStyle::Uuid, 0x1_0000, products.to_vec()),
        }
    }
}

pub(super) fn routes() -> axum::Router<Sim> {
    axum::Router::new()
        .route(PATH_REVIEW_LIST, post(review_list))
        .route(PATH_REVIEW_INFO, post(review_info))
        .route(PATH_REVIEW_COUNT, post(review_count))
        .route(PATH_COMMENT_CREATE, post(comment_create))
        .route(PATH_COMMENT_LIST, post(comment_list))
        .route(PATH_COMMENT_DELETE, post(comment_delete))
        .route(PATH_QUESTION_LIST, post(question_list))
        .route(PATH_QUESTION_INFO, post(question_info))
        .route(PATH_ANSWER_CREATE, post(answer_create))
        .route(PATH_ANSWER_LIST, post(answer_list))
        .route(PATH_ANSWER_DELETE, post(answer_delete))
}

/// The error body of a path: `rpcStatus` for reviews, the questions'
/// own shape (with `details` a string) for questions.
fn error(path: &str, status: StatusCode, code: i32, message: &str) -> Response {
    let details = if path.starts_with("/v1/question/") {
        json!("")
    } else {
        json!([])
    };
    let body = json!({ "code": code, "message": message, "details": details });
    (status, Json(body)).into_response()
}

fn throttled(path: &str, retry_after: Option<u64>) -> Response {
    let mut r = error(
        path,
        StatusCode::TOO_MANY_REQUESTS,
        8,
        "You have reached request rate limit per second",
    );
    if let Some(secs) = retry_after {
        r.headers_mut()
            .insert("retry-after", HeaderValue::from(secs));
    }
    r
}

fn fault_response(path: &str, fault: &FaultSpec) -> Response {
    let status = StatusCode::from_u16(fault.status.unwrap_or(500))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match status.as_u16() {
        429 => throttled(path, fault.retry_after_secs),
        401 => error(
            path,
            status,
            16,
            "Client-Id and Api-Key headers are required",
        ),
        403 => error(path, status, 7, NO_SUBSCRIPTION),
        404 => error(path, status, 5, INVALID_KEY),
        400 => error(path, status, 3, "invalid request"),
        _ => error(path, status, 13, "Internal error"),
    }
}

type Body = Map<String, Value>;

/// An error answer, built when it is sent.
struct Fail(StatusCode, i32, String);

fn bad(message: impl Into<String>) -> Fail {
    Fail(StatusCode::BAD_REQUEST, 3, message.into())
}

fn not_found(message: impl Into<String>) -> Fail {
    Fail(StatusCode::NOT_FOUND, 5, message.into())
}

/// One request: faults, headers, the account, Premium Plus, the rate limit;
/// then `handle` on the account's board, the count and the after-faults.
async fn serve(
    sim: &Sim,
    conn: &Conn,
    headers: &HeaderMap,
    path: &'static str,
    body: &Bytes,
    handle: impl FnOnce(&mut Board, &Body) -> Result<Value, Fail>,
) -> Response {
    let fault = match faults_before(sim, conn, MP, path, |f| fault_response(path, f)).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let response = {
        let mut state = sim.lock();
        let outcome = (|| {
            let (Some(client_id), Some(api_key)) = (header("Client-Id"), header("Api-Key")) else {
                return Err(Fail(
                    StatusCode::UNAUTHORIZED,
                    16,
                    "Client-Id and Api-Key headers are required".into(),
                ));
            };
            let Some(idx) = state.sellers.iter().position(|s| {
                let a = &s.feedback.ozon;
                a.client_id.as_deref() == Some(client_id.as_str())
                    && a.api_key.as_deref() == Some(api_key.as_str())
            }) else {
                return Err(Fail(StatusCode::NOT_FOUND, 5, INVALID_KEY.into()));
            };
            let account = &mut state.sellers[idx].feedback.ozon;
            if !account.premium_plus {
                return Err(Fail(StatusCode::FORBIDDEN, 7, NO_SUBSCRIPTION.into()));
            }
            if let Admission::Throttled { .. } = account.bucket.take() {
                return Err(Fail(StatusCode::TOO_MANY_REQUESTS, 8, String::new()));
            }
            let map = match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(map)) => map,
                _ if body.is_empty() => Map::new(),
                _ => return Err(bad("Invalid request body")),
            };
            handle(&mut account.board, &map)
        })();
        let response = match outcome {
            Ok(v) => Json(v).into_response(),
            Err(Fail(status, ..)) if status == StatusCode::TOO_MANY_REQUESTS => {
                throttled(path, None)
            }
            Err(Fail(status, code, message)) => error(path, status, code, &message),
        };
        state.count_request(MP, path, response.status().as_u16());
        response
    };
    faults_after(response, conn, fault).await
}

fn text<'a>(map: &'a Body, field: &str) -> Result<Option<&'a str>, Fail> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(bad(format!("invalid value for string field {field}"))),
    }
}

fn required_text<'a>(map: &'a Body, field: &str) -> Result<&'a str, Fail> {
    text(map, field)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad(format!("{field} is required")))
}

fn uint64(map: &Body, field: &str) -> Result<Option<u64>, Fail> {
    let wrong = || bad(format!("invalid value for uint64 field {field}"));
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(wrong),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => s.parse().map(Some).map_err(|_| wrong()),
        Some(_) => Err(wrong()),
    }
}

fn review_limit(map: &Body) -> Result<usize, Fail> {
    match uint64(map, "limit")? {
        Some(n) if REVIEW_LIMITS.contains(&n) => Ok(n as usize),
        _ => Err(bad(format!(
            "limit must be from {} to {}",
            REVIEW_LIMITS.start(),
            REVIEW_LIMITS.end()
        ))),
    }
}

fn review_id(board: &Board, map: &Body) -> Result<u64, Fail> {
    let raw = required_text(map, "review_id")?;
    board
        .parse_id(raw)
        .filter(|id| board.reviews.iter().any(|r| r.id == *id))
        .ok_or_else(|| not_found("review not found"))
}

fn review_json(board: &Board, r: &super::Review) -> Value {
    json!({
        "id": board.public_id(r.id),
        "sku": r.product.id.parse::<u64>().unwrap_or_default(),
        "text": r.text,
        "published_at": rfc3339(r.at),
        "rating": r.rating,
        "status": if r.processed { "PROCESSED" } else { "UNPROCESSED" },
        "comments_amount": r.live_answers().count(),
        "photos_amount": r.photos,
        "videos_amount": 0,
        "order_status": "DELIVERED",
        "is_rating_participant": true,
    })
}

fn review_list_json(board: &mut Board, map: &Body) -> Result<Value, Fail> {
    let limit = review_limit(map)?;
    let status = text(map, "status")?.unwrap_or("ALL").to_ascii_uppercase();
    if !["ALL", "UNPROCESSED", "PROCESSED"].contains(&status.as_str()) {
        return Err(bad("invalid status"));
    }
    let ascending = match text(map, "sort_dir")?
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("") | Some("DESC") => false,
        Some("ASC") => true,
        Some(_) => return Err(bad("invalid sort_dir")),
    };
    let mut order: Vec<&super::Review> = board.reviews.iter().collect();
    order.sort_by_key(|r| (r.at, r.id));
    if !ascending {
        order.reverse();
    }
    // A page goes on after `last_id` in the full order, so a review that
    // left the filter since does not lose the place.
    let start = match text(map, "last_id")?.filter(|s| !s.is_empty()) {
        None => 0,
        Some(last) => {
            let id = board.parse_id(last).ok_or_else(|| bad("invalid last_id"))?;
            order
                .iter()
                .position(|r| r.id == id)
                .map(|p| p + 1)
                .ok_or_else(|| bad("invalid last_id"))?
        }
    };
    let matching: Vec<&super::Review> = order[start..]
        .iter()
        .copied()
        .filter(|r| match status.as_str() {
            "UNPROCESSED" => !r.processed,
            "PROCESSED" => r.processed,
            _ => true,
        })
        .collect();
    let page = &matching[..limit.min(matching.len())];
    Ok(json!({
        "reviews": page.iter().map(|r| review_json(board, r)).collect::<Vec<_>>(),
        "has_next": matching.len() > page.len(),
        "last_id": page.last().map(|r| board.public_id(r.id)).unwrap_or_default(),
    }))
}

async fn review_list(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(
        &sim,
        &conn,
        &headers,
        PATH_REVIEW_LIST,
        &body,
        review_list_json,
    )
    .await
}

async fn review_info(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(&sim, &conn, &headers, PATH_REVIEW_INFO, &body, |b, map| {
        let id = review_id(b, map)?;
        let r = b.reviews.iter().find(|r| r.id == id).expect("checked");
        let mut v = review_json(b, r);
        v["photos"] = (1..=r.photos)
            .map(|n| json!({ "url": format!("https://cdn.ozon.example/review/{id}/{n}.jpg"), "width": 800, "height": 600 }))
            .collect();
        v["videos"] = json!([]);
        v["likes_amount"] = json!(0);
        v["dislikes_amount"] = json!(0);
        Ok(v)
    })
    .await
}

async fn review_count(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(&sim, &conn, &headers, PATH_REVIEW_COUNT, &body, |b, _| {
        let processed = b.reviews.iter().filter(|r| r.processed).count();
        Ok(json!({
            "processed": processed,
            "unprocessed": b.reviews.len() - processed,
            "total": b.reviews.len(),
        }))
    })
    .await
}

async fn comment_create(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(
        &sim,
        &conn,
        &headers,
        PATH_COMMENT_CREATE,
        &body,
        |b, map| {
            let id = review_id(b, map)?;
            let text = required_text(map, "text")?;
            if text.trim().is_empty() {
                return Err(bad("text is required"));
            }
            let mark = match map.get("mark_review_as_processed") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(v)) => *v,
                Some(_) => {
                    return Err(bad("invalid value for bool field mark_review_as_processed"));
                }
            };
            let was_processed = b.reviews.iter().any(|r| r.id == id && r.processed);
            let comment = b.answer_review(id, text, Via::Api).expect("checked");
            if !mark {
                b.review_mut(id).expect("checked").processed = was_processed;
            }
            Ok(json!({ "comment_id": comment.to_string() }))
        },
    )
    .await
}

async fn comment_list(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(&sim, &conn, &headers, PATH_COMMENT_LIST, &body, |b, map| {
        let id = review_id(b, map)?;
        let limit = review_limit(map)?;
        let offset = uint64(map, "offset")?.unwrap_or(0) as usize;
        let review = b.reviews.iter().find(|r| r.id == id).expect("checked");
        let comments: Vec<Value> = review
            .live_answers()
            .skip(offset)
            .take(limit)
            .map(|a| {
                json!({
                    "id": a.id.to_string(),
                    "text": a.text,
                    "published_at": rfc3339(a.at),
                    "is_owner": true,
                    "is_official": false,
                    "parent_comment_id": "",
                })
            })
            .collect();
        Ok(json!({ "offset": offset + comments.len(), "comments": comments }))
    })
    .await
}

async fn comment_delete(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(
        &sim,
        &conn,
        &headers,
        PATH_COMMENT_DELETE,
        &body,
        |b, map| {
            let raw = required_text(map, "comment_id")?;
            let in_review = |b: &Board, id: u64| {
                b.reviews
                    .iter()
                    .any(|r| r.live_answers().any(|a| a.id == id))
            };
            match raw.parse::<u64>() {
                Ok(id) if in_review(b, id) => {
                    b.delete_answer(id);
                    Ok(json!({}))
                }
                _ => Err(not_found("comment not found")),
            }
        },
    )
    .await
}

fn question_json(board: &Board, q: &super::Question) -> Value {
    let answers = q.live_answers().count();
    let status = if answers > 0 {
        "PROCESSED"
    } else if q.viewed {
        "VIEWED"
    } else {
        "NEW"
    };
    json!({
        "id": board.public_id(q.id),
        "sku": q.product.id.parse::<u64>().unwrap_or_default(),
        "text": q.text,
        "author_name": q.author,
        "answers_count": answers,
        "status": status,
        "published_at": rfc3339(q.at),
        "product_url": format!("https://www.ozon.ru/product/{}/", q.product.id),
        "question_link": format!("https://www.ozon.ru/product/{}/questions/?qid={}", q.product.id, q.id),
    })
}

async fn question_list(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(
        &sim,
        &conn,
        &headers,
        PATH_QUESTION_LIST,
        &body,
        |b, map| {
            let filter = match map.get("filter") {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(f)) => f.clone(),
                Some(_) => return Err(bad("invalid filter")),
            };
            let status = text(&filter, "status")?
                .unwrap_or("ALL")
                .to_ascii_uppercase();
            let keep = |q: &super::Question| {
                let answered = q.live_answers().next().is_some();
                match status.as_str() {
                    "ALL" => Ok(true),
                    "NEW" => Ok(!answered && !q.viewed),
                    "VIEWED" => Ok(!answered && q.viewed),
                    "PROCESSED" => Ok(answered),
                    "UNPROCESSED" => Ok(!answered),
                    _ => Err(bad("invalid status")),
                }
            };
            let after = match text(map, "last_id")?.filter(|s| !s.is_empty()) {
                None => None,
                Some(s) => Some(b.parse_id(s).ok_or_else(|| bad("invalid last_id"))?),
            };
            let mut page = Vec::new();
            for q in b
                .questions
                .iter()
                .filter(|q| after.is_none_or(|a| q.id > a))
            {
                if keep(q)? {
                    page.push(q);
                }
                if page.len() == QUESTION_PAGE {
                    break;
                }
            }
            Ok(json!({
                "questions": page.iter().map(|q| question_json(b, q)).collect::<Vec<_>>(),
                "last_id": page.last().map(|q| b.public_id(q.id)).unwrap_or_default(),
            }))
        },
    )
    .await
}

/// `Question_Info`: `{question_id}` alone (`v1QuestionInfoRequest`), the
/// question as the list shows it (`v1QuestionInfoResponse`).
async fn question_info(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(
        &sim,
        &conn,
        &headers,
        PATH_QUESTION_INFO,
        &body,
        |b, map| {
            let raw = required_text(map, "question_id")?;
            let q = b
                .parse_id(raw)
                .and_then(|id| b.questions.iter().find(|q| q.id == id))
                .ok_or_else(|| not_found("question not found"))?;
            Ok(question_json(b, q))
        },
    )
    .await
}

/// The question a request names by `question_id` and `sku`.
fn question_id(board: &Board, map: &Body) -> Result<u64, Fail> {
    let raw = required_text(map, "question_id")?;
    let sku = uint64(map, "sku")?.ok_or_else(|| bad("sku is required"))?;
    board
        .parse_id(raw)
        .and_then(|id| board.questions.iter().find(|q| q.id == id))
        .filter(|q| q.product.id == sku.to_string())
        .map(|q| q.id)
        .ok_or_else(|| not_found("question not found"))
}

async fn answer_create(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(
        &sim,
        &conn,
        &headers,
        PATH_ANSWER_CREATE,
        &body,
        |b, map| {
            let id = question_id(b, map)?;
            let text = text(map, "text")?.unwrap_or_default();
            if !QUESTION_ANSWER_CHARS.contains(&text.chars().count()) {
                return Err(bad(format!(
                    "text length must be from {} to {} characters",
                    QUESTION_ANSWER_CHARS.start(),
                    QUESTION_ANSWER_CHARS.end()
                )));
            }
            let answer = b.answer_question(id, text, Via::Api).expect("checked");
            Ok(json!({ "answer_id": answer.to_string() }))
        },
    )
    .await
}

async fn answer_list(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(&sim, &conn, &headers, PATH_ANSWER_LIST, &body, |b, map| {
        let id = question_id(b, map)?;
        let after = uint64(map, "last_id")?;
        let q = b.questions.iter().find(|q| q.id == id).expect("checked");
        let answers: Vec<Value> = q
            .live_answers()
            .filter(|a| after.is_none_or(|l| a.id > l))
            .take(ANSWER_PAGE)
            .map(|a| {
                json!({
                    "id": a.id.to_string(),
                    "question_id": b.public_id(q.id),
                    "sku": q.product.id.parse::<u64>().unwrap_or_default(),
                    "text": a.text,
                    "author_name": "Продавец",
                    "published_at": rfc3339(a.at),
                })
            })
            .collect();
        let last = answers
            .last()
            .and_then(|a| a["id"].as_str())
            .unwrap_or_default()
            .to_string();
        Ok(json!({ "answers": answers, "last_id": last }))
    })
    .await
}

async fn answer_delete(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    serve(
        &sim,
        &conn,
        &headers,
        PATH_ANSWER_DELETE,
        &body,
        |b, map| {
            let id = required_text(map, "answer_id")?;
            let sku = uint64(map, "sku")?.ok_or_else(|| bad("sku is required"))?;
            let found = id.parse::<u64>().ok().filter(|id| {
                b.questions.iter().any(|q| {
                    q.product.id == sku.to_string() && q.live_answers().any(|a| a.id == *id)
                })
            });
            match found {
                Some(id) => {
                    b.delete_answer(id);
                    Ok(json!({}))
                }
                None => Err(not_found("answer not found")),
            }
        },
    )
    .await
}
