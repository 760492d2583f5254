//! The expiry sweeper: every 30 s, drafts nobody acted on in time, and
//! drafts past their marketplace's reply window, become `expired`.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::domain::{DraftState, Marketplace, now_ms};
use crate::runtime::{Event, Runtime};

/// Expire drafts nobody acted on.
pub async fn run(rt: Arc<Runtime>, shutdown: CancellationToken) {
    let ttl = rt.settings.pipeline.pending_ttl.as_millis_i64();
    loop {
        let expired = rt
            .store
            .call(move |c| crate::store::expire_stale(c, now_ms(), ttl))
            .await;
        match expired {
            Ok(ids) => {
                for id in ids {
                    rt.emit(Event::DraftChanged {
                        id,
                        state: DraftState::Expired,
                        reason: Some("никто не одобрил вовремя".into()),
                    });
                }
            }
            Err(e) => tracing::error!(error = %e, "expiring stale drafts failed"),
        }
        let windows: Vec<(Marketplace, i64)> = Marketplace::ALL
            .iter()
            .filter_map(|m| m.capabilities().reply_window_secs.map(|w| (*m, w)))
            .collect();
        let closed = rt
            .store
            .call(move |c| crate::store::expire_past_reply_window(c, now_ms(), &windows))
            .await;
        match closed {
            Ok(ids) => {
                for id in ids {
                    rt.emit(Event::DraftChanged {
                        id,
                        state: DraftState::Expired,
                        reason: Some("окно ответа закрылось".into()),
                    });
                }
            }
            Err(e) => tracing::error!(error = %e, "expiring drafts past their reply window failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
    }
}
