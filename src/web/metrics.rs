//! `GET /metrics` for Prometheus. Who may scrape: with `web.metrics_token`
//! set, whoever sends it as a bearer token; without one, anybody when the
//! queue listens on loopback, and otherwise only a logged-in operator.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use super::WebState;
use super::auth::{Operator, Rejection};
use crate::domain::now_ms;
use crate::metrics::{CONTENT_TYPE, DraftOutcome, Snapshot};

pub async fn scrape(State(s): State<WebState>, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let web = &s.rt.settings.web;
    let allowed = match &web.metrics_token {
        Some(token) => {
            let given = parts
                .headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default()
                .trim();
            let ok = bool::from(given.as_bytes().ct_eq(token.expose_secret().as_bytes()));
            if !ok {
                tracing::warn!("refused a /metrics request without the metrics token");
            }
            ok
        }
        None if web.listen.ip().is_loopback() => true,
        // A scraper is not a browser: no redirect to the login form.
        None => match Operator::from_request_parts(&mut parts, &s).await {
            Ok(_) => true,
            Err(Rejection::Login(_)) => false,
            Err(rejection) => return rejection.into_response(),
        },
    };
    if !allowed {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "нужен токен метрик (Authorization: Bearer <web.metrics_token>) или вход оператора",
        )
            .into_response();
    }
    match snapshot(&s).await {
        Ok(snapshot) => (
            [(header::CONTENT_TYPE, CONTENT_TYPE)],
            s.rt.metrics.render(&snapshot),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the figures for /metrics");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("база данных недоступна: {e}"),
            )
                .into_response()
        }
    }
}

async fn snapshot(s: &WebState) -> crate::store::Result<Snapshot> {
    let rt = &s.rt;
    {
        let mut seen = rt.metrics.decision_tally().lock().await;
        if let Some(after) = *seen {
            let t = rt
                .store
                .read(move |c| crate::store::decisions_since(c, after))
                .await?;
            rt.metrics
                .draft_outcome(DraftOutcome::Approved, t.approved as usize);
            rt.metrics
                .draft_outcome(DraftOutcome::Rejected, t.rejected as usize);
            *seen = Some(t.last_event);
        }
    }
    let queue = rt.store.read(crate::store::queue_figures).await?;
    let connectors = rt.store.read(crate::store::connector_counts).await?;
    let (telegram_failed, _) = rt
        .store
        .read(|c| crate::store::telegram::failed(c, 0))
        .await?;
    let mut requests: BTreeMap<_, (u64, u64)> = BTreeMap::new();
    for shop in rt.shops.values() {
        for (marketplace, connector) in &shop.connectors {
            let counts = connector.request_counts();
            let sum = requests.entry(*marketplace).or_default();
            sum.0 += counts.requests;
            sum.1 += counts.throttled;
        }
    }
    let now = now_ms();
    Ok(Snapshot {
        queue: queue
            .by_state
            .iter()
            .map(|(state, n)| (state.as_str(), *n))
            .collect(),
        oldest_pending: queue
            .oldest_pending_at
            .map(|at| Duration::from_millis(u64::try_from(now - at).unwrap_or(0))),
        requests: requests
            .into_iter()
            .map(|(m, (sent, throttled))| (m, sent, throttled))
            .collect(),
        connectors: connectors
            .into_iter()
            .map(|(m, state, n)| (m, state.as_str(), n))
            .collect(),
        shops: rt.shops.len() as u64,
        database_bytes: crate::store::database_bytes(&rt.settings.database_path()),
        telegram_failed,
    })
}
