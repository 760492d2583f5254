//! The JSON API. Authenticate with the session cookie plus `X-CSRF-Token`, or
//! with `Authorization: Bearer <password>` (`X-Actor` names who acts: UTF-8,
//! percent-encoded UTF-8, or `X-Actor*: UTF-8''<percent-encoded>` per RFC 8187).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::WebState;
use super::auth::Operator;
use crate::actions::{self, ActionError, Actor};
use crate::domain::{DraftState, Intent, Marketplace};
use crate::store::DraftFilter;

/// Every API error is JSON: `{"error": "…"}` in Russian, with the guard
/// findings when the guards refused an approval.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: serde_json::Value,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: json!({ "error": message.into() }),
        }
    }
}

impl From<ActionError> for ApiError {
    fn from(e: ActionError) -> Self {
        let status = match &e {
            ActionError::NotFound(_) => StatusCode::NOT_FOUND,
            ActionError::Conflict(_) => StatusCode::CONFLICT,
            ActionError::Invalid(_) | ActionError::Guarded { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ActionError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let mut body = json!({ "error": e.to_string() });
        if let ActionError::Guarded { check, .. } = &e {
            body["findings"] = json!(check.findings);
            body["text"] = json!(check.text);
            body["needs_override"] = json!(true);
        }
        ApiError { status, body }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// A JSON request body that names exactly the fields it may have.
pub trait Fields: DeserializeOwned + Default {
    const FIELDS: &'static [&'static str];
}

/// A request body: empty means every field absent; unknown fields, wrong
/// types and broken JSON are refused (422) with a Russian message, so a
/// misspelled field can never fall back to a default.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: Fields> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|_| {
            ApiError::new(StatusCode::BAD_REQUEST, "не удалось прочитать тело запроса")
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body(T::default()));
        }
        let expected = || {
            if T::FIELDS.is_empty() {
                "тело запроса должно быть пустым или {}".to_string()
            } else {
                format!(
                    "ожидается JSON-объект с полями {} (строки)",
                    T::FIELDS.join(", ")
                )
            }
        };
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("тело запроса — не JSON; {}", expected()),
            )
        })?;
        let Some(object) = value.as_object() else {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("тело запроса — не JSON-объект; {}", expected()),
            ));
        };
        let unknown: Vec<&str> = object
            .keys()
            .map(String::as_str)
            .filter(|k| !T::FIELDS.contains(k))
            .collect();
        if !unknown.is_empty() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "неизвестное поле {}: запрос не выполнен; {}",
                    unknown
                        .iter()
                        .map(|k| format!("«{k}»"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    expected()
                ),
            ));
        }
        serde_json::from_value(value).map(Body).map_err(|_| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("поля запроса неверного типа; {}", expected()),
            )
        })
    }
}

/// A draft number from the path; anything else is a JSON 400.
pub struct DraftId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for DraftId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<i64>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| DraftId(id))
            .map_err(|_| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "номер черновика в адресе должен быть целым числом",
                )
            })
    }
}

/// Unknown API addresses answer in JSON too.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "такого адреса в API нет")
}

/// Query of list endpoints: `state` is comma-separated.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub state: Option<String>,
    pub shop: Option<String>,
    pub marketplace: Option<String>,
    pub intent: Option<String>,
    /// `chat`, `review` or `question`.
    pub kind: Option<String>,
    pub sort: Option<String>,
    /// Words to find in the buyer's name, order or article number and texts
    /// (the queue page only).
    pub q: Option<String>,
    /// The draft open beside the inbox list (the queue page only).
    pub current: Option<i64>,
}

impl ListQuery {
    pub fn filter(&self) -> Result<DraftFilter, ActionError> {
        let bad = |e: String| ActionError::Invalid(e);
        let inbox = matches!(
            self.state.as_deref().filter(|s| !s.is_empty()),
            None | Some("open")
        );
        let states = match self.state.as_deref().filter(|s| !s.is_empty()) {
            None | Some("open") => DraftState::INBOX.to_vec(),
            Some("all") => vec![],
            Some(list) => list
                .split(',')
                .map(|s| s.parse::<DraftState>())
                .collect::<Result<_, _>>()
                .map_err(bad)?,
        };
        Ok(DraftFilter {
            states,
            superseded_unseen: inbox,
            shop: self.shop.clone().filter(|s| !s.is_empty()),
            marketplace: self
                .marketplace
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(str::parse::<Marketplace>)
                .transpose()
                .map_err(bad)?,
            intent: self
                .intent
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(str::parse::<Intent>)
                .transpose()
                .map_err(bad)?,
            kind: self
                .kind
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(str::parse::<crate::domain::ThreadKind>)
                .transpose()
                .map_err(bad)?,
            limit: None,
        })
    }

    pub fn by_priority(&self) -> bool {
        self.sort.as_deref() == Some("priority")
    }
}

/// Oldest first, or most important first (then oldest).
pub fn sort(items: &mut [actions::QueueItem], by_priority: bool) {
    if by_priority {
        items.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then(a.created_at.cmp(&b.created_at))
        });
    } else {
        items.sort_by_key(|i| i.created_at);
    }
}

pub async fn list(
    State(s): State<WebState>,
    _op: Operator,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<actions::QueueItem>>, ApiError> {
    let mut items = actions::list(&s.rt.store, q.filter()?).await?;
    sort(&mut items, q.by_priority());
    Ok(Json(items))
}

pub async fn show(
    State(s): State<WebState>,
    _op: Operator,
    DraftId(id): DraftId,
) -> Result<Json<actions::DraftDetail>, ApiError> {
    Ok(Json(actions::show(&s.rt.store, id).await?))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    /// The reply to send instead of the draft's.
    pub text: Option<String>,
    /// Why it goes out although the guards found an error.
    #[serde(rename = "override")]
    pub override_reason: Option<String>,
}

impl Fields for ApproveBody {
    const FIELDS: &'static [&'static str] = &["text", "override"];
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckBody {
    pub text: Option<String>,
}

impl Fields for CheckBody {
    const FIELDS: &'static [&'static str] = &["text"];
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: Option<String>,
}

impl Fields for ReasonBody {
    const FIELDS: &'static [&'static str] = &["reason"];
}

/// Actions without parameters take an empty body or `{}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoBody {}

impl Fields for NoBody {
    const FIELDS: &'static [&'static str] = &[];
}

fn done(s: &WebState, d: crate::store::DraftRow) -> Json<actions::QueueItem> {
    s.rt.wake_sender.notify_one();
    s.rt.emit(crate::runtime::Event::DraftChanged {
        id: d.id,
        state: d.state,
        reason: d.state_reason.clone(),
    });
    Json(actions::QueueItem::from(&d))
}

pub async fn approve(
    State(s): State<WebState>,
    op: Operator,
    DraftId(id): DraftId,
    Body(body): Body<ApproveBody>,
) -> Result<Json<actions::QueueItem>, ApiError> {
    let approval = actions::Approval {
        text: body.text,
        override_reason: body.override_reason,
    };
    let d = actions::approve(&s.rt.store, &s.rt.shops, id, approval, &Actor(op.actor)).await?;
    Ok(done(&s, d))
}

/// What the guards find in a text before a person confirms it: the
/// confirmation dialog shows these next to the exact text.
pub async fn check(
    State(s): State<WebState>,
    _op: Operator,
    DraftId(id): DraftId,
    Body(body): Body<CheckBody>,
) -> Result<Json<actions::TextCheck>, ApiError> {
    Ok(Json(
        actions::check_text(&s.rt.store, &s.rt.shops, id, body.text).await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkingBody {
    pub text: String,
}

impl Fields for WorkingBody {
    const FIELDS: &'static [&'static str] = &["text"];
}

/// Longer than any marketplace takes, so a paste is kept whole to be cut.
const MAX_WORKING_CHARS: usize = 20_000;

/// Save what a person is typing for a draft, as they type: it outlives a
/// buyer's new message (the next draft of the chat picks it up), an ended
/// session and a restart. Not an approval: nothing is sent.
pub async fn save_working(
    State(s): State<WebState>,
    op: Operator,
    DraftId(id): DraftId,
    Body(body): Body<WorkingBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if body.text.chars().count() > MAX_WORKING_CHARS {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("текст длиннее {MAX_WORKING_CHARS} символов не сохраняется"),
        ));
    }
    let now = crate::domain::now_ms();
    let actor = op.actor;
    let saved =
        s.rt.store
            .call(move |c| crate::store::save_working_text(c, id, &body.text, &actor, now))
            .await
            .map_err(|e| ApiError::from(ActionError::Store(e)))?;
    if !saved {
        return Err(ActionError::NotFound(id).into());
    }
    let successor =
        s.rt.store
            .read(move |c| crate::store::successor_draft(c, id))
            .await
            .map_err(|e| ApiError::from(ActionError::Store(e)))?;
    Ok(Json(json!({ "saved_at": now, "successor": successor })))
}

pub async fn dismiss(
    State(s): State<WebState>,
    op: Operator,
    DraftId(id): DraftId,
    Body(NoBody {}): Body<NoBody>,
) -> Result<Json<actions::QueueItem>, ApiError> {
    let d = actions::dismiss(&s.rt.store, id, &Actor(op.actor)).await?;
    Ok(done(&s, d))
}

pub async fn reject(
    State(s): State<WebState>,
    op: Operator,
    DraftId(id): DraftId,
    Body(body): Body<ReasonBody>,
) -> Result<Json<actions::QueueItem>, ApiError> {
    let reason = body.reason.unwrap_or_default();
    let d = actions::reject(&s.rt.store, id, &reason, &Actor(op.actor)).await?;
    Ok(done(&s, d))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetagBody {
    pub intent: String,
}

impl Fields for RetagBody {
    const FIELDS: &'static [&'static str] = &["intent"];
}

/// A person corrects the intent of a draft's buyer turn.
pub async fn retag(
    State(s): State<WebState>,
    op: Operator,
    DraftId(id): DraftId,
    Body(body): Body<RetagBody>,
) -> Result<Json<actions::QueueItem>, ApiError> {
    let intent = body
        .intent
        .parse::<Intent>()
        .map_err(|e| ApiError::from(ActionError::Invalid(e.to_string())))?;
    let d = actions::retag(&s.rt.store, id, intent, &Actor(op.actor)).await?;
    Ok(done(&s, d))
}

pub async fn retry(
    State(s): State<WebState>,
    op: Operator,
    DraftId(id): DraftId,
    Body(NoBody {}): Body<NoBody>,
) -> Result<Json<actions::QueueItem>, ApiError> {
    let d = actions::retry(&s.rt.store, id, &Actor(op.actor)).await?;
    Ok(done(&s, d))
}

pub async fn cancel(
    State(s): State<WebState>,
    op: Operator,
    DraftId(id): DraftId,
    Body(body): Body<ReasonBody>,
) -> Result<Json<actions::QueueItem>, ApiError> {
    let reason = body.reason;
    let d = actions::cancel(&s.rt.store, id, reason.as_deref(), &Actor(op.actor)).await?;
    Ok(done(&s, d))
}

pub async fn send_now(
    State(s): State<WebState>,
    op: Operator,
    DraftId(id): DraftId,
    Body(NoBody {}): Body<NoBody>,
) -> Result<Json<actions::QueueItem>, ApiError> {
    let d = actions::send_now(&s.rt.store, id, &Actor(op.actor)).await?;
    Ok(done(&s, d))
}

/// A marketplace pushing new messages (Avito webhooks). Answers 200 at once
/// (Avito wants an answer within 2 s) and hands the body to the shop's poller,
/// which stores it and polls. The secret in the path is the only credential,
/// so a wrong one looks like an unknown address.
pub async fn webhook(
    State(s): State<WebState>,
    Path((marketplace, shop, secret)): Path<(String, String, String)>,
    body: axum::body::Bytes,
) -> StatusCode {
    use secrecy::ExposeSecret;
    use subtle::ConstantTimeEq;
    let Ok(marketplace) = marketplace.parse::<Marketplace>() else {
        return StatusCode::NOT_FOUND;
    };
    let Some(expected) =
        s.rt.shops
            .get(&shop)
            .and_then(|found| found.settings.webhook_secret(marketplace))
    else {
        return StatusCode::NOT_FOUND;
    };
    if !bool::from(expected.expose_secret().as_bytes().ct_eq(secret.as_bytes())) {
        return StatusCode::NOT_FOUND;
    }
    if !s.rt.deliver_webhook(&shop, marketplace, body.to_vec()) {
        return StatusCode::NOT_FOUND;
    }
    StatusCode::OK
}

/// Telegram's updates in webhook mode (`[telegram.webhook]`): the secret
/// token header must match; the update is stored before the answer 200, so
/// Telegram retries whatever we could not store. The bot handles it.
pub async fn telegram_webhook(
    State(s): State<WebState>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    use secrecy::ExposeSecret;
    use subtle::ConstantTimeEq;
    let Some(hook) =
        s.rt.settings
            .telegram
            .as_ref()
            .and_then(|t| t.webhook.as_ref())
    else {
        return StatusCode::NOT_FOUND;
    };
    let expected = match crate::config::resolve_named_secret(
        "telegram.webhook",
        "secret_token",
        &hook.secret_token,
        &hook.secret_token_env,
        &hook.secret_token_file,
        &s.rt.settings.base_dir,
    ) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!("cannot check a Telegram webhook call: {e}");
            return StatusCode::SERVICE_UNAVAILABLE;
        }
    };
    let given = headers
        .get("x-telegram-bot-api-secret-token")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !bool::from(expected.expose_secret().as_bytes().ct_eq(given)) {
        tracing::warn!("refused a Telegram webhook call without the right secret token");
        return StatusCode::UNAUTHORIZED;
    }
    let Some(update_id) = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["update_id"].as_i64())
    else {
        return StatusCode::BAD_REQUEST;
    };
    let Ok(text) = String::from_utf8(body.to_vec()) else {
        return StatusCode::BAD_REQUEST;
    };
    let stored =
        s.rt.store
            .call(move |c| {
                crate::store::telegram::receive_update(c, update_id, &text, crate::domain::now_ms())
            })
            .await;
    match stored {
        Ok(_) => {
            s.rt.wake_telegram.notify_one();
            StatusCode::OK
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot store a Telegram update; Telegram will send it again");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

/// For monitoring: 200 when the database works and every marketplace
/// connection is healthy, 503 with what is wrong otherwise. No login needed;
/// it tells nothing about buyers.
pub async fn healthz(State(s): State<WebState>) -> Response {
    let database = s.rt.store.trouble();
    let connectors =
        s.rt.store
            .call(|c| crate::store::list_status(c))
            .await
            .unwrap_or_default();
    let troubled: Vec<serde_json::Value> = connectors
        .iter()
        .filter(|c| c.state != crate::store::ConnectorState::Ok)
        .map(|c| json!({ "shop": c.shop, "marketplace": c.marketplace, "state": c.state, "detail": c.detail }))
        .collect();
    let ok = database.is_none() && troubled.is_empty();
    let body = json!({
        "status": if ok { "ok" } else { "degraded" },
        "database": database,
        "connectors": troubled,
    });
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

pub async fn retract(
    State(s): State<WebState>,
    op: Operator,
    DraftId(id): DraftId,
    Body(NoBody {}): Body<NoBody>,
) -> Result<Json<actions::QueueItem>, ApiError> {
    let d = actions::retract(&s.rt.store, id, &Actor(op.actor)).await?;
    s.rt.wake_sender.notify_one();
    Ok(done(&s, d))
}

pub async fn status(
    State(s): State<WebState>,
    _op: Operator,
) -> Result<Json<actions::StatusReport>, ApiError> {
    let mut report = actions::status(&s.rt.store, actions::shop_refs(&s.rt.settings)).await?;
    report.database_bytes = Some(crate::store::database_bytes(&s.rt.settings.database_path()));
    Ok(Json(report))
}

fn known_shop(s: &WebState, shop: &str) -> Result<(), ApiError> {
    if s.rt.shops.contains_key(shop) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("магазина «{shop}» нет в настройках"),
        ))
    }
}

pub async fn pause(
    State(s): State<WebState>,
    op: Operator,
    Path(shop): Path<String>,
    Body(body): Body<ReasonBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    known_shop(&s, &shop)?;
    let reason = body.reason;
    let held = actions::pause_shop(&s.rt.store, &shop, reason.as_deref(), &Actor(op.actor)).await?;
    s.rt.emit(crate::runtime::Event::ShopChanged { shop: shop.clone() });
    Ok(Json(
        json!({ "shop": shop, "paused": true, "returned_to_queue": held }),
    ))
}

pub async fn resume(
    State(s): State<WebState>,
    op: Operator,
    Path(shop): Path<String>,
    Body(NoBody {}): Body<NoBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    known_shop(&s, &shop)?;
    actions::resume_shop(&s.rt.store, &shop, &Actor(op.actor)).await?;
    s.rt.emit(crate::runtime::Event::ShopChanged { shop: shop.clone() });
    Ok(Json(json!({ "shop": shop, "paused": false })))
}
