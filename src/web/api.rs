//! The JSON API. Authenticate with the session cookie plus `X-CSRF-Token`, or
//! with `Authorization: Bearer <password>` (`X-Actor` names who acts).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::WebState;
use super::auth::Operator;
use crate::actions::{self, ActionError, Actor};
use crate::domain::{DraftState, Intent, Marketplace};
use crate::store::DraftFilter;

pub struct ApiError(ActionError);

impl From<ActionError> for ApiError {
    fn from(e: ActionError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self.0 {
            ActionError::NotFound(_) => StatusCode::NOT_FOUND,
            ActionError::Conflict(_) => StatusCode::CONFLICT,
            ActionError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ActionError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, Json(json!({ "error": self.0.to_string() }))).into_response()
    }
}

/// Query of list endpoints: `state` is comma-separated.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub state: Option<String>,
    pub shop: Option<String>,
    pub marketplace: Option<String>,
    pub intent: Option<String>,
    pub sort: Option<String>,
}

impl ListQuery {
    pub fn filter(&self) -> Result<DraftFilter, ActionError> {
        let bad = |e: String| ActionError::Invalid(e);
        let states = match self.state.as_deref().filter(|s| !s.is_empty()) {
            None | Some("open") => vec![DraftState::Pending, DraftState::Scheduled],
            Some("all") => vec![],
            Some(list) => list
                .split(',')
                .map(|s| s.parse::<DraftState>())
                .collect::<Result<_, _>>()
                .map_err(bad)?,
        };
        Ok(DraftFilter {
            states,
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
    Path(id): Path<i64>,
) -> Result<Json<actions::DraftDetail>, ApiError> {
    Ok(Json(actions::show(&s.rt.store, id).await?))
}

#[derive(Debug, Default, Deserialize)]
pub struct ApproveBody {
    pub text: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ReasonBody {
    pub reason: Option<String>,
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
    Path(id): Path<i64>,
    body: Option<Json<ApproveBody>>,
) -> Result<Json<actions::QueueItem>, ApiError> {
    let text = body.and_then(|Json(b)| b.text);
    let d = actions::approve(&s.rt.store, id, text, &Actor(op.actor)).await?;
    Ok(done(&s, d))
}

pub async fn reject(
    State(s): State<WebState>,
    op: Operator,
    Path(id): Path<i64>,
    body: Option<Json<ReasonBody>>,
) -> Result<Json<actions::QueueItem>, ApiError> {
    let reason = body.and_then(|Json(b)| b.reason).unwrap_or_default();
    let d = actions::reject(&s.rt.store, id, &reason, &Actor(op.actor)).await?;
    Ok(done(&s, d))
}

#[derive(Debug, Deserialize)]
pub struct RetagBody {
    pub intent: String,
}

/// A person corrects the intent of a draft's buyer turn.
pub async fn retag(
    State(s): State<WebState>,
    op: Operator,
    Path(id): Path<i64>,
    Json(body): Json<RetagBody>,
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
    Path(id): Path<i64>,
) -> Result<Json<actions::QueueItem>, ApiError> {
    let d = actions::retry(&s.rt.store, id, &Actor(op.actor)).await?;
    Ok(done(&s, d))
}

pub async fn cancel(
    State(s): State<WebState>,
    op: Operator,
    Path(id): Path<i64>,
    body: Option<Json<ReasonBody>>,
) -> Result<Json<actions::QueueItem>, ApiError> {
    let reason = body.and_then(|Json(b)| b.reason);
    let d = actions::cancel(&s.rt.store, id, reason.as_deref(), &Actor(op.actor)).await?;
    Ok(done(&s, d))
}

pub async fn send_now(
    State(s): State<WebState>,
    op: Operator,
    Path(id): Path<i64>,
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
    Path(id): Path<i64>,
) -> Result<Json<actions::QueueItem>, ApiError> {
    let d = actions::retract(&s.rt.store, id, &Actor(op.actor)).await?;
    s.rt.wake_sender.notify_one();
    Ok(done(&s, d))
}

pub async fn status(
    State(s): State<WebState>,
    _op: Operator,
) -> Result<Json<actions::StatusReport>, ApiError> {
    Ok(Json(
        actions::status(&s.rt.store, actions::shop_refs(&s.rt.settings)).await?,
    ))
}

fn known_shop(s: &WebState, shop: &str) -> Result<(), ApiError> {
    if s.rt.shops.contains_key(shop) {
        Ok(())
    } else {
        Err(ApiError(ActionError::Invalid(format!("no shop `{shop}`"))))
    }
}

pub async fn pause(
    State(s): State<WebState>,
    op: Operator,
    Path(shop): Path<String>,
    body: Option<Json<ReasonBody>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    known_shop(&s, &shop)?;
    let reason = body.and_then(|Json(b)| b.reason);
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
) -> Result<Json<serde_json::Value>, ApiError> {
    known_shop(&s, &shop)?;
    actions::resume_shop(&s.rt.store, &shop, &Actor(op.actor)).await?;
    s.rt.emit(crate::runtime::Event::ShopChanged { shop: shop.clone() });
    Ok(Json(json!({ "shop": shop, "paused": false })))
}
