//! Live updates: a server-sent event whenever drafts or shop status change,
//! whether the change happened in this daemon or in another process (the CLI).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::WebState;
use super::auth::Operator;

/// A cheap summary of the store that moves whenever a draft or a status changes.
async fn watermark(s: &WebState) -> Option<(i64, i64, i64)> {
    s.rt.store
        .call(|c| {
            Ok(c.query_row(
                "SELECT (SELECT COALESCE(MAX(updated_at), 0) FROM drafts),
                        (SELECT COUNT(*) FROM drafts),
                        (SELECT COALESCE(MAX(since), 0) FROM connector_status)
                          + (SELECT COALESCE(MAX(changed_at), 0) FROM shop_controls)
                          + (SELECT COALESCE(MAX(at), 0) FROM reload_status)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?)
        })
        .await
        .ok()
}

pub async fn stream(
    State(s): State<WebState>,
    _op: Operator,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let events = s.rt.events.subscribe();
    let last = watermark(&s).await;
    let stream = futures_util::stream::unfold(
        (s, events, last),
        |(s, mut events, mut last)| async move {
            loop {
                tokio::select! {
                    received = events.recv() => match received {
                        Ok(e) => {
                            let data = serde_json::to_string(&e).unwrap_or_default();
                            return Some((Ok(Event::default().event("changed").data(data)), (s, events, last)));
                        }
                        Err(RecvError::Lagged(_)) => {
                            return Some((Ok(Event::default().event("changed").data("{}")), (s, events, last)));
                        }
                        Err(RecvError::Closed) => return None,
                    },
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {
                        let now = watermark(&s).await;
                        if now != last {
                            last = now;
                            return Some((Ok(Event::default().event("changed").data("{}")), (s, events, last)));
                        }
                    }
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}
