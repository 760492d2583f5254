//! Picks up buyer turns whose quiet period is over and turns each into a
//! gated draft.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{DraftSource, TurnFacts, assess};
use crate::domain::{DraftState, Effect, Millis, ThreadKind};
use crate::metrics::DraftOutcome;
use crate::runtime::{Activity, Event, Runtime};
use crate::store::{self, NewDraft, StoreDraftOutcome, StoreError, Turn};

type Reply = oneshot::Sender<store::Result<StoreDraftOutcome>>;
/// Hands finished drafts to [`write_drafts`].
type Writer = mpsc::Sender<(NewDraft, Reply)>;

/// The learned injection detector and draft guard train on first use (about
/// a second each on this class of machine). An async worker thread that
/// reached one while it trained would wait for it, and every poll and send
/// that thread serves would wait too: after a restart with a backlog the
/// connectors froze for seconds. Both train here off the async threads, side
/// by side, and drafting starts once they are ready.
pub async fn models_ready() {
    static READY: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    READY
        .get_or_init(|| async {
            let injection = tokio::task::spawn_blocking(|| {
                crate::analysis::risk::model_says(&crate::text::normalise("прогрев"));
            });
            let guard = tokio::task::spawn_blocking(|| {
                crate::guards::model::DraftModel::builtin();
            });
            let _ = tokio::join!(injection, guard);
        })
        .await;
}

pub async fn run(rt: Arc<Runtime>, activity: Arc<Activity>, shutdown: CancellationToken) {
    tokio::select! {
        _ = models_ready() => {}
        _ = shutdown.cancelled() => return,
    }
    let p = &rt.settings.pipeline;
    let permits = Arc::new(Semaphore::new(p.concurrency));
    let (lease, history, tick) = (p.claim_lease.as_millis_i64(), p.history_messages, p.tick.0);
    let tasks = TaskTracker::new();
    let (writer, queue) = mpsc::channel(1024);
    let writing = tokio::spawn(write_drafts(rt.clone(), queue));
    // Turns claimed ahead of a free slot. Claiming one turn each time a slot
    // frees would cost a write transaction per turn; claiming a batch when
    // the reserve runs low costs one per `concurrency` turns.
    let mut ready: VecDeque<Turn> = VecDeque::new();
    let reserve = p.concurrency.max(1);
    loop {
        let mut nap = tick;
        // A turn whose quiet period ends soon is work this worker holds.
        let mut due_soon = false;
        loop {
            if shutdown.is_cancelled() || permits.available_permits() == 0 {
                break;
            }
            if ready.len() < reserve.div_ceil(2) {
                let (now, limit) = (
                    rt.clock.now_ms(),
                    permits.available_permits() + reserve - ready.len(),
                );
                match rt
                    .store
                    .call(move |c| store::claim_due_turns(c, now, lease, limit, history))
                    .await
                {
                    Ok(turns) => ready.extend(turns),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot claim buyer turns");
                        break;
                    }
                }
            }
            if ready.is_empty() {
                // Sleep until the next turn's quiet period ends, not a whole tick.
                if let Ok(Some(due)) = rt.store.call(store::next_turn_due).await {
                    let wait = u64::try_from(due - rt.clock.now_ms()).unwrap_or(0);
                    nap = nap.min(std::time::Duration::from_millis(wait));
                    due_soon = wait < 2_000;
                }
                break;
            }
            while !ready.is_empty() {
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    break;
                };
                let Some(turn) = ready.pop_front() else {
                    break;
                };
                let rt = rt.clone();
                let writer = writer.clone();
                tasks.spawn(async move {
                    let chat = turn.chat.id;
                    if let Err(e) = process_turn_via(&rt, turn, Some(&writer)).await {
                        tracing::error!(chat, error = %e, "drafting failed; the turn will be retried when its claim expires");
                    }
                    drop(permit);
                    // A free slot: claim the next due turn now, not at the next tick.
                    rt.wake_pipeline.notify_one();
                });
            }
        }
        let held = tasks.len() + ready.len() + usize::from(due_soon);
        activity.pass_done(held, nap, rt.clock.now_ms());
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = rt.wake_pipeline.notified() => {}
            _ = tokio::time::sleep(nap) => {}
        }
    }
    // Turns claimed but not started go back, due at once for the next start.
    let unstarted: Vec<i64> = ready.iter().map(|t| t.chat.id).collect();
    if !unstarted.is_empty()
        && let Err(e) = rt
            .store
            .call({
                let now = rt.clock.now_ms();
                move |c| store::release_claims(c, &unstarted, now)
            })
            .await
    {
        tracing::warn!(error = %e, "cannot release claimed turns; they are retried when their claim expires");
    }
    tasks.close();
    tasks.wait().await;
    drop(writer);
    let _ = writing.await;
}

/// Store drafts in batches: whatever finished drafting while the previous
/// batch was being written goes into the next transaction, so a busy
/// pipeline commits once per batch rather than once per draft.
async fn write_drafts(rt: Arc<Runtime>, mut queue: mpsc::Receiver<(NewDraft, Reply)>) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < 256 {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (drafts, replies): (Vec<NewDraft>, Vec<Reply>) = batch.into_iter().unzip();
        let stored = rt
            .store
            .call({
                let now = rt.clock.now_ms();
                move |c| store::store_drafts_for_turns(c, &drafts, now)
            })
            .await;
        match stored {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome);
                }
            }
            Err(e) => {
                let why = e.to_string();
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Corrupt(format!(
                        "storing a batch of drafts failed: {why}"
                    ))));
                }
            }
        }
    }
}

/// How far back the sameness guard looks for the same answer to reviews of
/// one product.
pub const SAME_ANSWER_DAYS: i64 = 14;

/// Gather the facts about a claimed turn from the store.
pub async fn turn_facts(
    rt: &Runtime,
    shop: &crate::shop::Shop,
    turn: &Turn,
) -> store::Result<TurnFacts> {
    let local_time = shop.local_now();
    let now: Millis = local_time.timestamp().as_millisecond();
    let day_start = local_time
        .start_of_day()
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(now - 86_400_000);
    let window = shop.policy.load().settings.auto_window.as_millis_i64();
    let (chat_id, shop_id) = (turn.chat.id, shop.id.clone());
    let product = (turn.chat.kind == ThreadKind::Review)
        .then(|| turn.chat.order.product_id.clone())
        .flatten();
    let same_answer_since = now - SAME_ANSWER_DAYS * 86_400_000;
    let (counts, shop_paused, product_answers) = rt
        .store
        .read(move |c| {
            let counts = store::auto_counts(
                c,
                chat_id,
                &shop_id,
                day_start,
                now - window,
                now - 3_600_000,
            )?;
            let answers = match &product {
                Some(p) => store::recent_review_answers(c, &shop_id, p, same_answer_since)?,
                None => Vec::new(),
            };
            Ok((counts, store::is_paused(c, &shop_id)?, answers))
        })
        .await?;
    Ok(TurnFacts {
        marketplace: turn.chat.marketplace,
        kind: turn.chat.kind,
        thread: turn.chat.thread.clone(),
        product_answers,
        messages: turn.messages.iter().map(|m| m.text.clone()).collect(),
        history: turn
            .history
            .iter()
            .map(|m| (m.author, m.text.clone()))
            .collect(),
        order: turn.chat.order.clone(),
        buyer_name: turn.chat.buyer_name.clone(),
        first_message: turn.first_contact,
        local_time,
        counts,
        human_takeover: turn.chat.takeover_until.is_some_and(|t| t > now),
        shop_paused,
        llm_budget: super::budget::current(&rt.store, shop).await?,
        reply_window_left_secs: turn
            .chat
            .marketplace
            .capabilities()
            .reply_window_secs
            .map(|w| {
                let last_buyer = turn.messages.last().map(|m| m.created_at).unwrap_or(now);
                (last_buyer + w * 1000 - now) / 1000
            }),
    })
}

pub async fn process_turn(rt: &Arc<Runtime>, turn: Turn) -> anyhow::Result<StoreDraftOutcome> {
    process_turn_via(rt, turn, None).await
}

/// [`process_turn`], storing the draft through the batching writer when given.
async fn process_turn_via(
    rt: &Arc<Runtime>,
    turn: Turn,
    writer: Option<&Writer>,
) -> anyhow::Result<StoreDraftOutcome> {
    let Some(shop) = rt.shops.get(&turn.chat.shop).cloned() else {
        tracing::warn!(shop = %turn.chat.shop, "a buyer turn for a shop that is no longer configured; leaving it");
        return Ok(StoreDraftOutcome::Duplicate);
    };
    let facts = turn_facts(rt, &shop, &turn).await?;
    let policy = shop.policy.load_full();
    let assessment = assess(&shop, &policy, &facts, DraftSource::Generate).await;
    if let Err(e) =
        super::budget::record(&rt.store, &rt.settings, &shop, &assessment.llm_calls).await
    {
        tracing::error!(shop = %shop.id, error = %e, "cannot record LLM usage");
    }
    let usage = super::budget::records(&rt.settings, &assessment.llm_calls);
    for (attempt, used) in assessment.llm_calls.iter().zip(&usage) {
        rt.metrics.llm_call(&crate::metrics::LlmCall {
            provider: &used.provider,
            ok: used.ok,
            prompt_tokens: used.prompt_tokens,
            completion_tokens: used.completion_tokens,
            cost: used.cost,
            elapsed: attempt.elapsed,
        });
    }
    let new = NewDraft {
        chat_id: turn.chat.id,
        turn_message_id: turn.last_message_id(),
        classification: assessment.classification.clone(),
        text: assessment.drafted.text.clone(),
        drafter: assessment.drafted.drafter.to_string(),
        drafter_note: assessment.drafted.note.clone(),
        prompt: assessment.drafted.prompt.clone(),
        decision: assessment.decision.clone(),
        findings: assessment.findings.clone(),
    };
    let outcome = match writer {
        Some(w) => {
            let (reply, outcome) = oneshot::channel();
            w.send((new, reply))
                .await
                .map_err(|_| anyhow::anyhow!("the draft writer stopped"))?;
            outcome
                .await
                .map_err(|_| anyhow::anyhow!("the draft writer stopped"))??
        }
        None => {
            rt.store
                .call({
                    let now = rt.clock.now_ms();
                    move |c| store::store_draft_for_turn(c, &new, now)
                })
                .await?
        }
    };
    if let StoreDraftOutcome::Stored { id, state } = outcome {
        let d = &assessment.decision;
        rt.metrics
            .draft_created(assessment.classification.intent, d.effect);
        if state == DraftState::Scheduled {
            rt.metrics.draft_outcome(DraftOutcome::Auto, 1);
        }
        tracing::info!(
            draft = id, shop = %shop.id, marketplace = %turn.chat.marketplace,
            intent = %assessment.classification.intent, effect = %d.effect, %state,
            "draft ready: {}", d.summary()
        );
        if d.effect == Effect::Escalate {
            let n = &rt.settings.notify;
            let escalation = crate::notify::Escalation {
                shop: shop.id.clone(),
                marketplace: turn.chat.marketplace.code().to_string(),
                chat_id: turn.chat.external_id.clone(),
                draft_id: id,
                intent: assessment.classification.intent.to_string(),
                reason: d.summary(),
                buyer_text: turn.text(),
            };
            tokio::spawn(crate::notify::escalate(
                n.webhook_url.clone(),
                n.timeout.0,
                escalation,
            ));
        }
        rt.emit(Event::DraftCreated {
            id,
            shop: shop.id.clone(),
            marketplace: turn.chat.marketplace,
            chat_id: turn.chat.external_id.clone(),
            intent: assessment.classification.intent,
            confidence: assessment.classification.confidence,
            flags: assessment.classification.flags.clone(),
            effect: d.effect,
            state,
            text: assessment.drafted.text.clone(),
            reason: d.summary(),
        });
        if d.effect == Effect::Auto {
            rt.wake_sender.notify_one();
        }
    }
    Ok(outcome)
}
