//! Wildberries reviews ("feedbacks") and product questions, as the
//! «Вопросы и отзывы» category of `09-communications.yaml` describes them
//! (host `feedbacks-api.wildberries.ru`, here on the simulator's one address).
//!
//! Control API:
//! - `POST /_sim/wb/feedbacks` — a buyer leaves a review; `POST /_sim/wb/questions` — asks a question.
//! - `POST /_sim/wb/seed-reviews` — reviews from a JSON-lines file like `shared/data/wb-reviews.jsonl`.
//! - `POST /_sim/wb/portal-answers` — a person answers in the seller portal.
//! - `GET  /_sim/wb/answers` — every answer published through the API, edits included.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{
    Admission, Bucket, Conn, FaultSpec, RateConfig, SentRecord, Sim, faults_after, faults_before,
    now,
};
use crate::domain::{Marketplace, Millis};

const MP: Marketplace = Marketplace::Wildberries;

// The API's own numbers, from `09-communications.yaml`, not the connector's.

/// `POST /api/v1/feedbacks/answer`: `text` "minimum: 2, maximum: 5000".
const MIN_ANSWER_CHARS: usize = 2;
const MAX_ANSWER_CHARS: usize = 5000;
/// `take` of `/api/v1/feedbacks`: "max. 5 000"; `skip`: "max. 199990".
const MAX_FEEDBACK_TAKE: usize = 5000;
const MAX_FEEDBACK_SKIP: usize = 199_990;
/// `/api/v1/questions`: "сумма значений параметров `take` и `skip` не должна превышать 10 000".
const MAX_QUESTION_WINDOW: usize = 10_000;
/// "Отредактировать ответ можно только один раз в течение 60 дней".
const EDIT_WINDOW_MS: Millis = 60 * 24 * 3600 * 1000;

/// The category's limit: "1 секунда | 3 запроса | 333 миллисекунды | 6 запросов".
pub fn documented_rate() -> RateConfig {
    RateConfig {
        burst: 6,
        per_second: 3.0,
    }
}

#[derive(Debug, Clone)]
struct Thread {
    id: String,
    question: bool,
    rating: u8,
    text: String,
    pros: String,
    cons: String,
    photos: bool,
    nm_id: i64,
    product_name: String,
    user_name: String,
    created: Millis,
    answer: Option<Answer>,
}

#[derive(Debug, Clone)]
struct Answer {
    text: String,
    at: Millis,
    edits: u32,
}

pub(crate) struct Account {
    bucket: Bucket,
    threads: Vec<Thread>,
    by_id: HashMap<String, usize>,
}

impl Account {
    pub(crate) fn new() -> Account {
        Account {
            bucket: Bucket::new(documented_rate()),
            threads: Vec::new(),
            by_id: HashMap::new(),
        }
    }

    fn add(&mut self, mut thread: Thread) -> String {
        if thread.id.is_empty() || self.by_id.contains_key(&thread.id) {
            thread.id = random_id();
        }
        let id = thread.id.clone();
        self.by_id.insert(id.clone(), self.threads.len());
        self.threads.push(thread);
        id
    }

    fn get(&self, id: &str, question: bool) -> Option<&Thread> {
        self.by_id
            .get(id)
            .map(|i| &self.threads[*i])
            .filter(|t| t.question == question)
    }

    fn get_mut(&mut self, id: &str, question: bool) -> Option<&mut Thread> {
        let i = *self.by_id.get(id)?;
        Some(&mut self.threads[i]).filter(|t| t.question == question)
    }
}

fn random_id() -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ABC[rng.random_range(0..ABC.len())] as char)
        .collect()
}

fn rfc3339(ms: Millis) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

fn product_details(t: &Thread) -> Value {
    json!({
        "imtId": t.nm_id / 10,
        "nmId": t.nm_id,
        "productName": t.product_name,
        "supplierArticle": format!("ART-{}", t.nm_id),
        "supplierName": "ИП Симулятор",
        "brandName": "Sim",
        "size": "0",
    })
}

fn feedback_json(t: &Thread) -> Value {
    json!({
        "id": t.id,
        "text": t.text,
        "pros": t.pros,
        "cons": t.cons,
        "productValuation": t.rating,
        "createdDate": rfc3339(t.created),
        "answer": t.answer.as_ref().map(|a| json!({
            "text": a.text, "state": "wbRu", "editable": a.edits == 0 && now() - a.at < EDIT_WINDOW_MS,
        })),
        "state": "wbRu",
        "productDetails": product_details(t),
        "video": Value::Null,
        "wasViewed": true,
        "photoLinks": if t.photos {
            json!([{ "fullSize": "https://feedback04.wbbasket.ru/sim/fs.jpg", "miniSize": "https://feedback04.wbbasket.ru/sim/ms.jpg" }])
        } else { Value::Null },
        "userName": t.user_name,
        "matchingSize": "ok",
        "bables": [],
        "parentFeedbackId": Value::Null,
        "childFeedbackId": Value::Null,
    })
}

fn question_json(t: &Thread) -> Value {
    json!({
        "id": t.id,
        "text": t.text,
        "createdDate": rfc3339(t.created),
        "state": if t.answer.is_some() { "wbRu" } else { "suppliersPortalSynch" },
        "answer": t.answer.as_ref().map(|a| json!({
            "text": a.text,
            "editable": a.edits == 0 && now() - a.at < EDIT_WINDOW_MS,
            "createDate": rfc3339(a.at),
        })),
        "productDetails": product_details(t),
        "wasViewed": false,
        "isWarned": false,
    })
}

fn envelope(data: Value) -> Response {
    Json(json!({ "data": data, "error": false, "errorText": "", "additionalErrors": Value::Null }))
        .into_response()
}

/// `FeedbackErr400` / `FeedbackErr403`: the category's error envelope.
fn envelope_error(status: StatusCode, text: &str) -> Response {
    let body = json!({
        "data": Value::Null,
        "error": true,
        "errorText": text,
        "additionalErrors": Value::Null,
        "requestId": uuid::Uuid::new_v4().to_string(),
    });
    (status, Json(body)).into_response()
}

/// `components.responses.401` and `429`: problem JSON.
fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = json!({
        "title": title,
        "detail": detail,
        "code": format!("{:08x}-[UK-sim]", rand::rng().random::<u32>()),
        "requestId": uuid::Uuid::new_v4().to_string(),
        "origin": "s2s-api-auth-feedbacks",
        "status": status.as_u16(),
        "statusText": status.canonical_reason().unwrap_or(""),
        "timestamp": rfc3339(now()),
    });
    (status, Json(body)).into_response()
}

fn throttled(retry: u64, reset: u64, limit: u32) -> Response {
    let mut r = problem(
        StatusCode::TOO_MANY_REQUESTS,
        "too many requests",
        "limited by feedbacks category",
    );
    let h = r.headers_mut();
    h.insert("X-Ratelimit-Retry", HeaderValue::from(retry));
    h.insert("X-Ratelimit-Reset", HeaderValue::from(reset));
    h.insert("X-Ratelimit-Limit", HeaderValue::from(limit));
    r
}

fn fault_response(fault: &FaultSpec) -> Response {
    let status = StatusCode::from_u16(fault.status.unwrap_or(500))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match status.as_u16() {
        429 => {
            let retry = fault.retry_after_secs.unwrap_or(1);
            throttled(retry, retry, 6)
        }
        401 => problem(
            status,
            "unauthorized",
            "token problem; token is malformed or unknown",
        ),
        400 | 403 => envelope_error(status, "Something went wrong"),
        _ => problem(status, "internal server error", "simulated fault"),
    }
}

async fn admit(
    sim: &Sim,
    conn: &Conn,
    headers: &HeaderMap,
    path: &str,
) -> Result<(usize, Option<FaultSpec>), Response> {
    let fault = faults_before(sim, conn, MP, path, fault_response).await?;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().trim_start_matches("Bearer ").trim().to_string())
        .unwrap_or_default();
    let mut state = sim.lock();
    let Some(idx) = state
        .sellers
        .iter()
        .position(|s| !token.is_empty() && s.wb.token() == Some(token.as_str()))
    else {
        state.count_request(MP, path, 401);
        return Err(problem(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "token problem; token is malformed or unknown",
        ));
    };
    match state.sellers[idx].wbf.bucket.take() {
        Admission::Allowed { .. } => {
            state.count_request(MP, path, 200);
            Ok((idx, fault))
        }
        Admission::Throttled {
            retry_secs,
            reset_secs,
            limit,
        } => {
            state.count_request(MP, path, 429);
            Err(throttled(retry_secs, reset_secs, limit))
        }
    }
}

pub(super) fn routes() -> axum::Router<Sim> {
    axum::Router::new()
        .route("/api/v1/feedbacks", get(list_feedbacks))
        .route("/api/v1/feedback", get(get_feedback))
        .route(
            "/api/v1/feedbacks/answer",
            post(answer_feedback).patch(edit_feedback),
        )
        .route(
            "/api/v1/questions",
            get(list_questions).patch(patch_question),
        )
        .route("/api/v1/question", get(get_question))
        .route("/_sim/wb/feedbacks", post(control_add_feedback))
        .route("/_sim/wb/questions", post(control_add_question))
        .route("/_sim/wb/seed-reviews", post(control_seed))
        .route("/_sim/wb/portal-answers", post(control_portal_answer))
        .route("/_sim/wb/answers", get(control_answers))
}

fn list_params(q: &HashMap<String, String>) -> Result<(bool, usize, usize, Option<i64>), String> {
    let is_answered = match q.get("isAnswered").map(String::as_str) {
        Some("true") => true,
        Some("false") => false,
        _ => return Err("isAnswered is required".into()),
    };
    let take = q
        .get("take")
        .and_then(|t| t.parse::<usize>().ok())
        .ok_or("take is required")?;
    let skip = q
        .get("skip")
        .and_then(|t| t.parse::<usize>().ok())
        .ok_or("skip is required")?;
    let from = match q.get("dateFrom").filter(|d| !d.is_empty()) {
        None => None,
        Some(d) => Some(d.parse::<i64>().map_err(|_| "dateFrom must be a number")?),
    };
    Ok((is_answered, take, skip, from))
}

async fn list(
    sim: Sim,
    conn: Conn,
    headers: HeaderMap,
    q: HashMap<String, String>,
    question: bool,
) -> Response {
    let path = if question {
        "/api/v1/questions"
    } else {
        "/api/v1/feedbacks"
    };
    let (idx, fault) = match admit(&sim, &conn, &headers, path).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (answered, take, skip, from) = match list_params(&q) {
        Ok(p) => p,
        Err(e) => {
            return faults_after(envelope_error(StatusCode::BAD_REQUEST, &e), &conn, fault).await;
        }
    };
    let too_many = if question {
        take + skip > MAX_QUESTION_WINDOW
    } else {
        take > MAX_FEEDBACK_TAKE || skip > MAX_FEEDBACK_SKIP
    };
    if too_many || take == 0 {
        let r = envelope_error(StatusCode::BAD_REQUEST, "Некорректные take или skip");
        return faults_after(r, &conn, fault).await;
    }
    let body = {
        let state = sim.lock();
        let account = &state.sellers[idx].wbf;
        let nm: Option<i64> = q.get("nmId").and_then(|n| n.parse().ok());
        let mut threads: Vec<&Thread> = account
            .threads
            .iter()
            .filter(|t| t.question == question)
            .filter(|t| nm.is_none_or(|n| n == t.nm_id))
            .filter(|t| from.is_none_or(|f| t.created.div_euclid(1000) >= f))
            .collect();
        let unanswered = threads.iter().filter(|t| t.answer.is_none()).count();
        let archive = threads.len() - unanswered;
        threads.retain(|t| t.answer.is_some() == answered);
        threads.sort_by_key(|t| t.created);
        if q.get("order").map(String::as_str) != Some("dateAsc") {
            threads.reverse();
        }
        let page: Vec<Value> = threads
            .into_iter()
            .skip(skip)
            .take(take)
            .map(|t| {
                if question {
                    question_json(t)
                } else {
                    feedback_json(t)
                }
            })
            .collect();
        let mut data = serde_json::Map::new();
        data.insert("countUnanswered".into(), json!(unanswered));
        data.insert("countArchive".into(), json!(archive));
        let key = if question { "questions" } else { "feedbacks" };
        data.insert(key.into(), Value::Array(page));
        Value::Object(data)
    };
    faults_after(envelope(body), &conn, fault).await
}

async fn list_feedbacks(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    list(sim, conn, headers, q, false).await
}

async fn list_questions(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    list(sim, conn, headers, q, true).await
}

async fn one(
    sim: Sim,
    conn: Conn,
    headers: HeaderMap,
    q: HashMap<String, String>,
    question: bool,
) -> Response {
    let path = if question {
        "/api/v1/question"
    } else {
        "/api/v1/feedback"
    };
    let (idx, fault) = match admit(&sim, &conn, &headers, path).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(id) = q.get("id").filter(|i| !i.is_empty()) else {
        return faults_after(
            envelope_error(StatusCode::BAD_REQUEST, "id is required"),
            &conn,
            fault,
        )
        .await;
    };
    let found = {
        let state = sim.lock();
        state.sellers[idx].wbf.get(id, question).map(|t| {
            if question {
                question_json(t)
            } else {
                feedback_json(t)
            }
        })
    };
    let response = match found {
        Some(body) => envelope(body),
        None => envelope_error(StatusCode::NOT_FOUND, "Не найдено"),
    };
    faults_after(response, &conn, fault).await
}

async fn get_feedback(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    one(sim, conn, headers, q, false).await
}

async fn get_question(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    one(sim, conn, headers, q, true).await
}

/// Publish (or edit) an answer through the API, recorded for `/_sim/sent`.
fn publish(
    sim: &Sim,
    idx: usize,
    id: &str,
    question: bool,
    text: &str,
    edit: bool,
) -> Result<(), String> {
    let mut state = sim.lock();
    let seller = state.sellers[idx].name.clone();
    let at = now();
    let Some(thread) = state.sellers[idx].wbf.get_mut(id, question) else {
        // "ID отзыва не валидируется": an unknown id is accepted and nothing happens.
        return Ok(());
    };
    if edit {
        let Some(a) = thread.answer.as_mut() else {
            return Err("На отзыв ещё нет ответа".into());
        };
        if a.edits > 0 || at - a.at >= EDIT_WINDOW_MS {
            return Err("Ответ можно отредактировать только один раз в течение 60 дней".into());
        }
        a.text = text.to_string();
        a.edits += 1;
    } else if thread.answer.is_some() {
        return Err("На отзыв уже есть ответ".into());
    } else {
        thread.answer = Some(Answer {
            text: text.to_string(),
            at,
            edits: 0,
        });
    }
    let chat_id = format!("{}/{id}", if question { "question" } else { "review" });
    state.sent.push(SentRecord {
        seller,
        marketplace: MP,
        chat_id,
        message_id: if edit { "edit".into() } else { "answer".into() },
        text: text.to_string(),
        at,
    });
    Ok(())
}

#[derive(Deserialize)]
struct AnswerBody {
    id: Option<String>,
    text: Option<String>,
}

fn check_text(text: &str) -> Result<(), String> {
    let n = text.chars().count();
    if !(MIN_ANSWER_CHARS..=MAX_ANSWER_CHARS).contains(&n) {
        return Err(format!(
            "text must be {MIN_ANSWER_CHARS}..{MAX_ANSWER_CHARS} characters"
        ));
    }
    Ok(())
}

/// `standardizedFQError`, the answer methods' 400.
fn fq_error(detail: &str) -> Response {
    let body = json!({
        "title": "Bad Request",
        "requestId": uuid::Uuid::new_v4().to_string(),
        "origin": "feedbacks-api",
        "detail": detail,
    });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

async fn answer(sim: Sim, conn: Conn, headers: HeaderMap, body: String, edit: bool) -> Response {
    let path = "/api/v1/feedbacks/answer";
    let (idx, fault) = match admit(&sim, &conn, &headers, path).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let response = match serde_json::from_str::<AnswerBody>(&body) {
        Err(_) => fq_error("invalid JSON syntax"),
        Ok(AnswerBody {
            id: Some(id),
            text: Some(text),
        }) => match check_text(&text).and_then(|()| publish(&sim, idx, &id, false, &text, edit)) {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(e) => fq_error(&e),
        },
        Ok(_) => fq_error("id and text are required"),
    };
    faults_after(response, &conn, fault).await
}

async fn answer_feedback(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    body: String,
) -> Response {
    answer(sim, conn, headers, body, false).await
}

async fn edit_feedback(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    body: String,
) -> Response {
    answer(sim, conn, headers, body, true).await
}

async fn patch_question(
    State(sim): State<Sim>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let path = "/api/v1/questions";
    let (idx, fault) = match admit(&sim, &conn, &headers, path).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let parsed: Option<Value> = serde_json::from_str(&body).ok();
    let id = parsed
        .as_ref()
        .and_then(|v| v["id"].as_str())
        .map(str::to_string);
    let text = parsed
        .as_ref()
        .and_then(|v| v["answer"]["text"].as_str())
        .map(str::to_string);
    let state_field = parsed
        .as_ref()
        .and_then(|v| v["state"].as_str())
        .map(str::to_string);
    let response = match (id, text, state_field.as_deref()) {
        (Some(id), Some(text), Some("wbRu")) => {
            let exists = sim.lock().sellers[idx]
                .wbf
                .get(&id, true)
                .map(|t| t.answer.is_some());
            let result = check_text(&text).and_then(|()| match exists {
                None => Err("Вопрос не найден".to_string()),
                Some(answered) => publish(&sim, idx, &id, true, &text, answered),
            });
            match result {
                Ok(()) => envelope(Value::Null),
                Err(e) => envelope_error(StatusCode::BAD_REQUEST, &e),
            }
        }
        (Some(_), _, _)
            if parsed
                .as_ref()
                .is_some_and(|v| v.get("wasViewed").is_some()) =>
        {
            envelope(Value::Null)
        }
        _ => envelope_error(StatusCode::BAD_REQUEST, "Something went wrong"),
    };
    faults_after(response, &conn, fault).await
}

#[derive(Debug, Clone, Deserialize)]
pub struct NewReview {
    #[serde(default)]
    pub seller: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default = "five")]
    pub rating: u8,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub pros: String,
    #[serde(default)]
    pub cons: String,
    #[serde(default)]
    pub photos: bool,
    #[serde(default = "default_nm")]
    pub nm_id: i64,
    #[serde(default)]
    pub product_name: Option<String>,
    #[serde(default)]
    pub user_name: Option<String>,
    /// Already answered in the seller portal with this text.
    #[serde(default)]
    pub answer: Option<String>,
}

fn five() -> u8 {
    5
}
fn default_nm() -> i64 {
    14_917_842
}

#[derive(Debug, Clone, Serialize)]
pub struct Created {
    pub id: String,
}

fn add_thread(sim: &Sim, r: NewReview, question: bool) -> Result<String, String> {
    if !question && !(1..=5).contains(&r.rating) {
        return Err("rating must be 1..5".into());
    }
    let mut state = sim.lock();
    let idx = state.seller_index(r.seller.as_deref())?;
    let at = now();
    Ok(state.sellers[idx].wbf.add(Thread {
        id: r.id.unwrap_or_default(),
        question,
        rating: if question { 0 } else { r.rating },
        text: r.text,
        pros: r.pros,
        cons: r.cons,
        photos: r.photos,
        nm_id: r.nm_id,
        product_name: r.product_name.unwrap_or_else(|| "Фонарь налобный".into()),
        user_name: r.user_name.unwrap_or_else(|| "Покупатель".into()),
        created: at,
        answer: r.answer.map(|text| Answer { text, at, edits: 0 }),
    }))
}

async fn control_add_feedback(State(sim): State<Sim>, Json(r): Json<NewReview>) -> Response {
    match add_thread(&sim, r, false) {
        Ok(id) => Json(Created { id }).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}

async fn control_add_question(State(sim): State<Sim>, Json(r): Json<NewReview>) -> Response {
    match add_thread(&sim, r, true) {
        Ok(id) => Json(Created { id }).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}

#[derive(Deserialize)]
struct SeedRequest {
    path: std::path::PathBuf,
    #[serde(default)]
    seller: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

/// A line of `shared/data/wb-reviews.jsonl`.
#[derive(Deserialize)]
struct SeedLine {
    id: String,
    rating: u8,
    #[serde(default)]
    text: String,
    #[serde(default)]
    pros: String,
    #[serde(default)]
    cons: String,
}

async fn control_seed(State(sim): State<Sim>, Json(req): Json<SeedRequest>) -> Response {
    let text = match std::fs::read_to_string(&req.path) {
        Ok(t) => t,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("{}: {e}", req.path.display()),
            )
                .into_response();
        }
    };
    let mut ids = Vec::new();
    for (n, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        if req.limit.is_some_and(|l| ids.len() >= l) {
            break;
        }
        let seed: SeedLine = match serde_json::from_str(line) {
            Ok(s) => s,
            Err(e) => {
                return (
                    StatusCode::BAD_REQUEST,
                    format!("{}:{}: {e}", req.path.display(), n + 1),
                )
                    .into_response();
            }
        };
        let review = NewReview {
            seller: req.seller.clone(),
            id: Some(seed.id),
            rating: seed.rating,
            text: seed.text,
            pros: seed.pros,
            cons: seed.cons,
            photos: false,
            nm_id: default_nm(),
            product_name: None,
            user_name: None,
            answer: None,
        };
        match add_thread(&sim, review, false) {
            Ok(id) => ids.push(id),
            Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
        }
    }
    Json(json!({ "ids": ids })).into_response()
}

#[derive(Deserialize)]
struct PortalAnswer {
    #[serde(default)]
    seller: Option<String>,
    /// `review` or `question`.
    kind: String,
    id: String,
    text: String,
}

async fn control_portal_answer(State(sim): State<Sim>, Json(p): Json<PortalAnswer>) -> Response {
    let mut state = sim.lock();
    let idx = match state.seller_index(p.seller.as_deref()) {
        Ok(i) => i,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    let question = p.kind == "question";
    match state.sellers[idx].wbf.get_mut(&p.id, question) {
        Some(t) => {
            t.answer = Some(Answer {
                text: p.text,
                at: now(),
                edits: 0,
            });
            StatusCode::NO_CONTENT.into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such thread").into_response(),
    }
}

#[derive(Serialize)]
struct Published {
    kind: &'static str,
    id: String,
    text: String,
    edits: u32,
}

async fn control_answers(State(sim): State<Sim>) -> Json<Vec<Published>> {
    let state = sim.lock();
    Json(
        state
            .sellers
            .iter()
            .flat_map(|s| s.wbf.threads.iter())
            .filter_map(|t| {
                t.answer.as_ref().map(|a| Published {
                    kind: if t.question { "question" } else { "review" },
                    id: t.id.clone(),
                    text: a.text.clone(),
                    edits: a.edits,
                })
            })
            .collect(),
    )
}

impl Sim {
    /// A buyer leaves a Wildberries review (the demo's way in); returns its id.
    pub fn add_wb_review(&self, review: NewReview) -> Result<String, String> {
        add_thread(self, review, false)
    }

    /// A buyer asks a question about a product on Wildberries; returns its id.
    pub fn add_wb_question(&self, question: NewReview) -> Result<String, String> {
        add_thread(self, question, true)
    }
}

impl NewReview {
    /// A review with these stars and words, about the simulator's default product.
    pub fn new(rating: u8, text: &str) -> NewReview {
        NewReview {
            seller: None,
            id: None,
            rating,
            text: text.to_string(),
            pros: String::new(),
            cons: String::new(),
            photos: false,
            nm_id: default_nm(),
            product_name: None,
            user_name: None,
            answer: None,
        }
    }
}
