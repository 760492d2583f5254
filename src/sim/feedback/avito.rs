//! Avito's ratings and reviews API, as `shared/specs/avito/Рейтингииотзывы.json`
//! describes it: `Authorization: Bearer` with a token from `/token` (the same
//! tokens the Messenger simulator hands out), reviews newest first with a
//! required `offset` and `limit` (1–50), one answer per review, a delete
//! that the spec calls a request (here it takes effect at once), and 400
//! bodies `{"error": {"code": "validation", "message"}}`.
//!
//! Avito documents no rate limit here; the simulator keeps a per-account
//! bucket (`SimConfig::avito_rate`) and answers 429 with `Retry-After`, as
//! its Messenger simulator does. Answers are published at once (the real API
//! moderates them: `status` `moderation`, then `published` or `rejected`).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::{Value, json};

use super::{Board, IdStyle, Product, Via};
use crate::domain::{Marketplace, Millis};
use crate::sim::{Admission, Bucket, Conn, FaultSpec, Sim, SimConfig, faults_after, faults_before};

const MP: Marketplace = Marketplace::Avito;

const PATH_REVIEWS: &str = "/ratings/v1/reviews";
const PATH_ANSWERS: &str = "/ratings/v1/answers";
const PATH_INFO: &str = "/ratings/v1/info";
/// `paths["/ratings/v1/reviews"].get.parameters.limit`: minimum 1, maximum 50.
const PAGE_MAX: usize = 50;

pub(crate) struct Account {
    bucket: Bucket,
    pub board: Board,
}

impl Account {
    pub(crate) fn new(config: &SimConfig) -> Account {
        let products = [
            (4_021_337_101u64, "Фонарь налобный аккумуляторный, новый"),
            (4_021_337_102, "Повербанк 20000 мА·ч, доставка"),
            (4_021_337_103, "Кабель USB-C 1 м"),
        ]
        .map(|(id, name)| Product {
            id: id.to_string(),
            name: name.into(),
        });
        Account {
            bucket: Bucket::new(config.avito_rate),
            board: Board::new(IdStyle::Number, 92_312_343, products.to_vec()),
        }
    }
}

pub(super) fn routes() -> axum::Router<Sim> {
    axum::Router::new()
        .route(PATH_REVIEWS, get(reviews))
        .route(PATH_ANSWERS, post(answer))
        .route("/ratings/v1/answers/{answer_id}", delete(remove_answer))
        .route(PATH_INFO, get(info))
}

/// The Messenger API's error body, which the 401/403/404/500 answers here
/// (documented without a body) are given too.
fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({ "error": { "code": status.as_u16(), "message": message } });
    (status, Json(body)).into_response()
}

/// `ReviewError`: a 400 with a string code.
fn validation(message: &str) -> Response {
    let body = json!({ "error": { "code": "validation", "message": message } });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

fn throttled(retry_secs: u64) -> Response {
    let mut r = error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_secs));
    r
}

fn fault_response(fault: &FaultSpec) -> Response {
    let status = StatusCode::from_u16(fault.status.unwrap_or(500))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match status.as_u16() {
        429 => throttled(fault.retry_after_secs.unwrap_or(1)),
        400 => validation("Validation error"),
        _ => error(status, status.canonical_reason().unwrap_or("Error")),
    }
}

/// One request: faults, the bearer token (absent: 401; unknown or expired:
/// 403), the rate limit; then `handle`, the count, the after-faults.
async fn serve(
    sim: &Sim,
    conn: &Conn,
    headers: &HeaderMap,
    path: &str,
    handle: impl FnOnce(&mut Board) -> Response,
) -> Response {
    let fault = match faults_before(sim, conn, MP, path, fault_response).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let response = {
        let mut state = sim.lock();
        let seller =
            token.and_then(|t| state.sellers.iter().position(|s| s.avito.accepts_token(t)));
        let response = match (token, seller) {
            (None, _) => error(StatusCode::UNAUTHORIZED, "Unauthorized"),
            (Some(_), None) => error(StatusCode::FORBIDDEN, "Forbidden"),
            (Some(_), Some(idx)) => {
                let account = &mut state.sellers[idx].feedback.avito;
                match account.bucket.take() {
                    Admission::Throttled { retry_secs, .. } => throttled(retry_secs),
                    Admission::Allowed { .. } => handle(&mut account.board),
                }
            }
        };
        state.count_request(MP, path, response.status().as_u16());
        response
    };
    faults_after(response, conn, fault).await
}

fn secs(ms: Millis) -> i64 {
    ms.div_euclid(1000)
}

fn review_json(r: &super::Review) -> Value {
    let answer = r.live_answers().last().map(
        |a| json!({ "id": a.id, "text": a.text, "status": "published", "createdAt": secs(a.at) }),
    );
    let images: Vec<Value> = (1..=r.photos)
        .map(|n| {
            json!({
                "number": n,
                "sizes": [{ "size": "640x480", "url": format!("https://00.img.avito.st/image/1/{}.{n}", r.id) }],
            })
        })
        .collect();
    json!({
        "id": r.id,
        "score": r.rating,
        "stage": "done",
        "text": r.text,
        "usedInScore": true,
        "canAnswer": answer.is_none(),
        "createdAt": secs(r.at),
        "item": { "id": r.product.id.parse::<u64>().unwrap_or_default(), "title": r.product.name },
        "sender": { "name": r.author },
        "images": images,
        "answer": answer,
    })
}

/// A required integer query parameter within `range`; the complaint otherwise.
fn bounded(
    query: &HashMap<String, String>,
    name: &str,
    range: std::ops::RangeInclusive<usize>,
) -> Result<usize, String> {
    let Some(raw) = query.get(name) else {
        return Err(format!("Field `{name}` is required"));
    };
    match raw.parse::<usize>() {
        Ok(n) if range.contains(&n) => Ok(n),
        Ok(_) => Err(format!("Field `{name}` is out of range")),
        Err(_) => Err(format!("Field `{name}` is not integer")),
    }
}

async fn reviews(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    serve(&sim, &conn, &headers, PATH_REVIEWS, |b| {
        let (offset, limit) = match (
            bounded(&query, "offset", 0..=usize::MAX),
            bounded(&query, "limit", 1..=PAGE_MAX),
        ) {
            (Ok(o), Ok(l)) => (o, l),
            (Err(why), _) | (_, Err(why)) => return validation(&why),
        };
        let mut all: Vec<&super::Review> = b.reviews.iter().collect();
        all.sort_by_key(|r| std::cmp::Reverse((r.at, r.id)));
        let page: Vec<Value> = all
            .iter()
            .skip(offset)
            .take(limit)
            .map(|r| review_json(r))
            .collect();
        Json(json!({ "total": all.len(), "reviews": page })).into_response()
    })
    .await
}

async fn answer(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    serve(&sim, &conn, &headers, PATH_ANSWERS, |b| {
        let body: Value = match serde_json::from_slice(&body) {
            Ok(v @ Value::Object(_)) => v,
            _ => return validation("Invalid JSON body"),
        };
        let Some(review) = body.get("reviewId").and_then(Value::as_u64) else {
            return validation("Field `reviewId` is required and must be integer");
        };
        let message = match body.get("message").and_then(Value::as_str) {
            Some(m) if !m.trim().is_empty() => m.to_string(),
            _ => return validation("Field `message` is required"),
        };
        let Some(r) = b.reviews.iter().find(|r| r.id == review) else {
            return error(StatusCode::NOT_FOUND, "Review not found");
        };
        if r.live_answers().next().is_some() {
            return validation("Review already has an answer");
        }
        let id = b
            .answer_review(review, &message, Via::Api)
            .expect("checked");
        let at = b.answer_mut(id).map(|a| secs(a.at)).expect("just written");
        Json(json!({ "id": id, "createdAt": at })).into_response()
    })
    .await
}

async fn remove_answer(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    Path(answer_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("{PATH_ANSWERS}/{answer_id}");
    serve(&sim, &conn, &headers, &path, |b| {
        let Ok(id) = answer_id.parse::<u64>() else {
            return validation("Field `answer_id` is not integer");
        };
        let in_review = b
            .reviews
            .iter()
            .any(|r| r.live_answers().any(|a| a.id == id));
        if !in_review || !b.delete_answer(id) {
            return error(StatusCode::NOT_FOUND, "Answer not found");
        }
        Json(json!({ "success": true })).into_response()
    })
    .await
}

async fn info(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
) -> Response {
    serve(&sim, &conn, &headers, PATH_INFO, |b| {
        let count = b.reviews.len();
        let score = match count {
            0 => 0.0,
            n => b.reviews.iter().map(|r| f64::from(r.rating)).sum::<f64>() / n as f64,
        };
        Json(json!({
            "isEnabled": true,
            "rating": { "score": (score * 10.0).round() / 10.0, "reviewsCount": count, "reviewsWithScoreCount": count },
        }))
        .into_response()
    })
    .await
}
