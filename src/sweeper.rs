//! The sweeper: every 30 s, drafts nobody acted on in time, and drafts past
//! their marketplace's reply window, become `expired`; then the bulky parts
//! of old drafts are pruned as `[retention]` says, a bounded batch at a time.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::domain::{DraftState, Marketplace};
use crate::metrics::DraftOutcome;
use crate::runtime::{Event, Runtime};

/// How often the sweeper runs.
const PERIOD: Duration = Duration::from_secs(30);
/// How soon a sweep that failed is tried again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(2);

/// Expire drafts nobody acted on.
pub async fn run(rt: Arc<Runtime>, shutdown: CancellationToken) {
    let ttl = rt.settings.pipeline.pending_ttl.as_millis_i64();
    loop {
        let mut failed = false;
        let now = rt.clock.now_ms();
        let expired = rt
            .store
            .call(move |c| crate::store::expire_stale(c, now, ttl))
            .await;
        match expired {
            Ok(ids) => {
                rt.metrics.draft_outcome(DraftOutcome::Expired, ids.len());
                for id in ids {
                    rt.emit(Event::DraftChanged {
                        id,
                        state: DraftState::Expired,
                        reason: Some("никто не одобрил вовремя".into()),
                    });
                }
            }
            Err(e) => {
                failed = true;
                tracing::error!(error = %e, "expiring stale drafts failed");
            }
        }
        let windows: Vec<(Marketplace, i64)> = Marketplace::ALL
            .iter()
            .filter_map(|m| m.capabilities().reply_window_secs.map(|w| (*m, w)))
            .collect();
        let now = rt.clock.now_ms();
        let closed = rt
            .store
            .call(move |c| crate::store::expire_past_reply_window(c, now, &windows))
            .await;
        match closed {
            Ok(ids) => {
                rt.metrics.draft_outcome(DraftOutcome::Expired, ids.len());
                for id in ids {
                    rt.emit(Event::DraftChanged {
                        id,
                        state: DraftState::Expired,
                        reason: Some("окно ответа закрылось".into()),
                    });
                }
            }
            Err(e) => {
                failed = true;
                tracing::error!(error = %e, "expiring drafts past their reply window failed");
            }
        }
        prune(&rt, &shutdown).await;
        // A sweep the database refused (busy, full) is tried again soon, so a
        // closed reply window is not left open in the queue for a whole period.
        let next = if failed { RETRY_AFTER_FAILURE } else { PERIOD };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(next) => {}
        }
    }
}

/// Batches one sweep prunes at most; the rest waits for the next sweep.
const PRUNE_BATCHES_PER_SWEEP: usize = 20;

/// Prune what `[retention]` no longer keeps, a batch per write transaction,
/// pausing between batches so other writes go first.
async fn prune(rt: &Runtime, shutdown: &CancellationToken) {
    let r = &rt.settings.retention;
    let now = rt.clock.now_ms();
    let cutoffs = crate::store::Cutoffs {
        prompts: r.prompts.cutoff(now),
        decision_details: r.decision_details.cutoff(now),
        audit_notes: r.audit_notes.cutoff(now),
    };
    if cutoffs == crate::store::Cutoffs::default() {
        return;
    }
    let batch = r.batch.max(1);
    let mut total = crate::store::Pruned::default();
    for _ in 0..PRUNE_BATCHES_PER_SWEEP {
        if shutdown.is_cancelled() {
            break;
        }
        match rt
            .store
            .call(move |c| crate::store::prune_batch(c, cutoffs, batch))
            .await
        {
            Ok(p) => {
                total.prompts += p.prompts;
                total.decision_details += p.decision_details;
                total.audit_notes += p.audit_notes;
                if p.prompts < batch && p.decision_details < batch && p.audit_notes < batch {
                    break;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "pruning old drafts failed");
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if total.total() > 0 {
        tracing::info!(
            prompts = total.prompts,
            decision_details = total.decision_details,
            audit_notes = total.audit_notes,
            "pruned what the retention settings no longer keep"
        );
    }
}
