//! The outbox worker: the only code that sends to a marketplace, and only
//! drafts that a person approved or a policy rule allowed (state `scheduled`).
//!
//! A draft is marked `sending` before the HTTP call. If the outcome is unknown
//! (timeout, cut connection, 5xx, crash) it becomes `unknown` and is never
//! resent blindly: the marketplace's echo of our message in the chat history
//! confirms it (`store::ingest`), and only when a complete read of the history
//! made `reconcile_grace` after the attempt still lacks it is it sent again.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::domain::{DraftState, Marketplace, ReplyText, ThreadKind};
use crate::marketplace::{ChatRef, DynConnector, MarketError, SendError};
use crate::metrics::SendOutcome;
use crate::poller::PollError;
use crate::runtime::{Activity, Event, Runtime};
use crate::store::{self, Change, ConnectorState, SendJob, TransitionError};

const ACTOR: &str = "daemon:sender";

pub async fn run(rt: Arc<Runtime>, activity: Arc<Activity>, shutdown: CancellationToken) {
    let permits = Arc::new(Semaphore::new(rt.settings.sender.concurrency));
    let tasks = TaskTracker::new();
    loop {
        // Sends whose outcome is unknown are work until reconciled.
        let unsettled = match reconcile(&rt).await {
            Ok(left) => left,
            Err(e) => {
                tracing::error!(error = %e, "reconciliation failed");
                0
            }
        };
        if let Err(e) = retract_requested(&rt).await {
            tracing::error!(error = %e, "withdrawing sent replies failed");
        }
        if let Err(e) = edit_requested(&rt).await {
            tracing::error!(error = %e, "editing published answers failed");
        }
        loop {
            let available = permits.available_permits();
            if available == 0 || shutdown.is_cancelled() {
                break;
            }
            let paused = rt.health.paused();
            let now = rt.clock.now_ms();
            let claimed = rt
                .store
                .call(move |c| store::claim_due_sends(c, now, available, &paused))
                .await;
            let jobs = match claimed {
                Ok(jobs) => jobs,
                Err(e) => {
                    tracing::error!(error = %e, "cannot claim drafts to send");
                    break;
                }
            };
            if jobs.is_empty() {
                break;
            }
            for job in jobs {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    break;
                };
                let rt = rt.clone();
                tasks.spawn(async move {
                    send_one(&rt, job).await;
                    drop(permit);
                    rt.wake_sender.notify_one();
                });
            }
        }
        let tick = rt.settings.sender.tick.0;
        activity.pass_done(tasks.len() + unsettled, tick, rt.clock.now_ms());
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = rt.wake_sender.notified() => {}
            _ = tokio::time::sleep(tick) => {}
        }
    }
    tasks.close();
    tasks.wait().await;
}

async fn send_one(rt: &Arc<Runtime>, job: SendJob) {
    if job.chat.kind != ThreadKind::Chat {
        return send_answer(rt, job).await;
    }
    let (shop_id, marketplace) = (job.chat.shop.clone(), job.chat.marketplace);
    let Some(connector) = rt
        .shops
        .get(&shop_id)
        .and_then(|s| s.connector(marketplace))
        .cloned()
    else {
        finish(
            rt,
            job.draft_id,
            Outcome::Failed(format!(
                "у магазина «{shop_id}» больше не настроена площадка {marketplace}"
            )),
        )
        .await;
        return;
    };
    let text = match ReplyText::parse(&job.text, connector.capabilities().max_message_chars) {
        Ok(t) => t,
        Err(e) => {
            finish(rt, job.draft_id, Outcome::Failed(e.to_string())).await;
            return;
        }
    };
    let mut handle = job.chat.reply_handle.clone();
    let mut refreshed = false;
    let started = std::time::Instant::now();
    let outcome = loop {
        let result = connector
            .send(
                ChatRef {
                    external_id: &job.chat.external_id,
                    reply_handle: handle.as_deref(),
                },
                &text,
            )
            .await;
        match result {
            Ok(delivery) => {
                break Outcome::Sent {
                    message_id: delivery.message_id,
                    sent_at: delivery.sent_at,
                };
            }
            Err(SendError::NeedsRefresh) if !refreshed => {
                refreshed = true;
                match refresh_chat(rt, &shop_id, marketplace, &connector, &job.chat.external_id)
                    .await
                {
                    Ok(h) => handle = h,
                    Err(PollError::Market(e)) => break not_delivered(rt, &job, e).await,
                    Err(PollError::Store(e)) => {
                        let wait = send_backoff(job.draft_id, job.attempt as u32);
                        break Outcome::Retry {
                            at: rt.clock.now_ms() + wait.as_millis() as i64,
                            why: format!("не отправлен: не удалось сохранить данные чата ({e})"),
                        };
                    }
                }
            }
            Err(SendError::NeedsRefresh) => {
                break Outcome::Failed(format!(
                    "{} не принимает ответы в этом чате (подпись чата устарела или чат закрыт)",
                    marketplace.title()
                ));
            }
            Err(SendError::NotDelivered(e)) => break not_delivered(rt, &job, e).await,
            Err(SendError::Unknown(why)) => break Outcome::Unknown(why),
        }
    };
    let sent = matches!(outcome, Outcome::Sent { .. });
    let counted = match &outcome {
        Outcome::Sent { .. } => SendOutcome::Sent,
        Outcome::Unknown(_) => SendOutcome::Unknown,
        Outcome::Failed(_) => SendOutcome::Failed,
        Outcome::Retry { .. } => SendOutcome::Retry,
    };
    rt.metrics.send(marketplace, counted, started.elapsed());
    finish(rt, job.draft_id, outcome).await;
    if counted == SendOutcome::Unknown {
        rt.note_unsettled_send(&shop_id, marketplace);
    }
    if sent && connector.capabilities().read_receipts {
        let chat = ChatRef {
            external_id: &job.chat.external_id,
            reply_handle: handle.as_deref(),
        };
        if let Err(e) = connector
            .mark_read(chat, job.turn_external_id.as_deref())
            .await
        {
            tracing::warn!(draft = job.draft_id, error = %e, "replied, but could not mark the chat read");
        }
    }
}

/// How long an answer refused for the key or the plan waits before it is tried again.
const FEEDBACK_AUTH_RETRY_MS: i64 = 5 * 60 * 1000;

/// Publish an answer to a review or question. As with chat replies, a timeout
/// or a cut connection makes the outcome unknown, and only reading the
/// thread back from the marketplace settles it.
async fn send_answer(rt: &Arc<Runtime>, job: SendJob) {
    let (shop_id, marketplace, kind) = (job.chat.shop.clone(), job.chat.marketplace, job.chat.kind);
    let Some(connector) = rt
        .shops
        .get(&shop_id)
        .and_then(|s| s.feedback_connector(marketplace))
        .cloned()
    else {
        let why = format!(
            "у магазина «{shop_id}» не настроены отзывы и вопросы на площадке {}",
            marketplace.title()
        );
        finish(rt, job.draft_id, Outcome::Failed(why)).await;
        return;
    };
    let caps = connector.capabilities(kind);
    let text = match ReplyText::parse(&job.text, caps.max_answer_chars) {
        Ok(t) if t.as_str().chars().count() >= caps.min_answer_chars => t,
        Ok(_) => {
            let why = format!(
                "ответ короче {} символов, площадка его не примет",
                caps.min_answer_chars
            );
            finish(rt, job.draft_id, Outcome::Failed(why)).await;
            return;
        }
        Err(e) => {
            finish(rt, job.draft_id, Outcome::Failed(e.to_string())).await;
            return;
        }
    };
    let started = std::time::Instant::now();
    let thread = kind.external_id(&job.chat.external_id);
    let outcome = match connector.answer(kind, thread, &text).await {
        Ok(delivery) => Outcome::Sent {
            message_id: delivery.message_id,
            sent_at: delivery.sent_at,
        },
        // A refused key or a missing plan stops only this shop's answers on
        // this marketplace: its chats go on, and the draft waits for a person
        // to fix the key or the plan, the cause in its audit trail.
        Err(SendError::NotDelivered(e)) if e.needs_person() => Outcome::Retry {
            at: rt.clock.now_ms() + FEEDBACK_AUTH_RETRY_MS,
            why: format!("{e}; ответ ждёт, пока это исправят"),
        },
        Err(SendError::NotDelivered(e)) => not_delivered(rt, &job, e).await,
        Err(SendError::Unknown(why)) => Outcome::Unknown(why),
        Err(SendError::NeedsRefresh) => Outcome::Failed(format!(
            "{} не принимает ответ ({})",
            marketplace.title(),
            kind.title_ru()
        )),
    };
    let counted = match &outcome {
        Outcome::Sent { .. } => SendOutcome::Sent,
        Outcome::Unknown(_) => SendOutcome::Unknown,
        Outcome::Failed(_) => SendOutcome::Failed,
        Outcome::Retry { .. } => SendOutcome::Retry,
    };
    rt.metrics.send(marketplace, counted, started.elapsed());
    finish(rt, job.draft_id, outcome).await;
}

/// Withdraw the sent replies people asked to retract, while the marketplace
/// still allows it.
async fn retract_requested(rt: &Arc<Runtime>) -> store::Result<()> {
    let jobs = rt.store.call(|c| store::retract_jobs(c)).await?;
    for job in jobs {
        let result = if job.chat.kind == ThreadKind::Chat {
            retract_message(rt, &job).await
        } else {
            delete_answer(rt, &job).await
        };
        let ok = result.is_ok();
        let reason = result.as_ref().err().cloned();
        let id = job.draft_id;
        rt.store
            .call({
                let now = rt.clock.now_ms();
                move |c| store::finish_retract(c, id, result, now)
            })
            .await?;
        if ok {
            tracing::info!(draft = id, "sent reply withdrawn");
        } else {
            tracing::warn!(draft = id, why = ?reason, "could not withdraw a sent reply");
        }
        rt.emit(Event::DraftChanged {
            id,
            state: if ok {
                DraftState::Retracted
            } else {
                DraftState::Sent
            },
            reason: Some(reason.unwrap_or_else(|| "ответ удалён из чата".into())),
        });
    }
    Ok(())
}

/// Replace published answers people edited, once each: the claim marks an
/// edit started before the call, and an edit whose outcome is unknown is
/// reported, never made again.
async fn edit_requested(rt: &Arc<Runtime>) -> store::Result<()> {
    let now = rt.clock.now_ms();
    let jobs = rt.store.call(move |c| store::claim_edits(c, now)).await?;
    for job in jobs {
        let result = edit_answer(rt, &job).await;
        let id = job.draft_id;
        let reason = match &result {
            Ok(()) => "ответ изменён на площадке".to_string(),
            Err(store::EditFailure::Refused(why) | store::EditFailure::Unknown(why)) => {
                tracing::warn!(draft = id, %why, "could not edit a published answer");
                why.clone()
            }
        };
        rt.store
            .call({
                let now = rt.clock.now_ms();
                move |c| store::finish_edit(c, id, result, now)
            })
            .await?;
        rt.emit(Event::DraftChanged {
            id,
            state: DraftState::Sent,
            reason: Some(reason),
        });
    }
    Ok(())
}

async fn edit_answer(rt: &Arc<Runtime>, job: &store::EditJob) -> Result<(), store::EditFailure> {
    use store::EditFailure::{Refused, Unknown};
    let (marketplace, kind) = (job.chat.marketplace, job.chat.kind);
    let connector = rt
        .shops
        .get(&job.chat.shop)
        .and_then(|s| s.feedback_connector(marketplace))
        .cloned()
        .ok_or_else(|| {
            Refused(format!(
                "у магазина больше не настроены отзывы и вопросы на площадке {}",
                marketplace.title()
            ))
        })?;
    let caps = connector.capabilities(kind);
    if caps.edits_allowed == 0 {
        return Err(Refused(format!(
            "{} не позволяет менять ответ ({})",
            marketplace.title(),
            kind.title_ru()
        )));
    }
    if let Some(why) = edit_refusal(&caps, job, rt.clock.now_ms()) {
        return Err(Refused(why));
    }
    let text =
        ReplyText::parse(&job.text, caps.max_answer_chars).map_err(|e| Refused(e.to_string()))?;
    let thread = kind.external_id(&job.chat.external_id);
    match connector
        .edit_answer(kind, thread, &job.message_id, &text)
        .await
    {
        Ok(_) => Ok(()),
        Err(SendError::Unknown(why)) => Err(Unknown(why)),
        Err(e) => Err(Refused(e.to_string())),
    }
}

/// Why the marketplace's own rules forbid this edit, checked before any call:
/// its count of edits is used up, or its window after publishing has passed.
fn edit_refusal(
    caps: &crate::domain::FeedbackCapabilities,
    job: &store::EditJob,
    now: crate::domain::Millis,
) -> Option<String> {
    let marketplace = job.chat.marketplace.title();
    if job.edits_made >= caps.edits_allowed {
        let times = match caps.edits_allowed {
            1 => "только один раз".to_string(),
            n => format!("не больше {n} раз"),
        };
        return Some(format!(
            "{marketplace} позволяет изменить ответ {times}, и это уже сделано"
        ));
    }
    let (Some(window), Some(sent_at)) = (caps.edit_window_secs, job.sent_at) else {
        return None;
    };
    (sent_at + window * 1000 <= now).then(|| {
        format!(
            "{marketplace} позволяет изменить ответ только в течение {} дней после публикации",
            window / 86_400
        )
    })
}

/// Delete a chat message we sent, while the marketplace's window lasts.
async fn retract_message(rt: &Arc<Runtime>, job: &store::RetractJob) -> Result<(), String> {
    let connector = rt
        .shops
        .get(&job.chat.shop)
        .and_then(|s| s.connector(job.chat.marketplace))
        .cloned();
    match connector {
        None => Err(format!(
            "у магазина больше не настроена площадка {}",
            job.chat.marketplace.title()
        )),
        Some(_) if job.deadline.is_some_and(|d| d <= rt.clock.now_ms()) => {
            Err("время, когда площадка позволяет удалить сообщение, прошло".to_string())
        }
        Some(c) => c
            .retract(
                ChatRef {
                    external_id: &job.chat.external_id,
                    reply_handle: job.chat.reply_handle.as_deref(),
                },
                &job.message_id,
            )
            .await
            .map_err(|e| e.to_string()),
    }
}

/// Delete an answer we published under a review or question, where the
/// marketplace allows it.
async fn delete_answer(rt: &Arc<Runtime>, job: &store::RetractJob) -> Result<(), String> {
    let (marketplace, kind) = (job.chat.marketplace, job.chat.kind);
    let Some(connector) = rt
        .shops
        .get(&job.chat.shop)
        .and_then(|s| s.feedback_connector(marketplace))
        .cloned()
    else {
        return Err(format!(
            "у магазина больше не настроены отзывы и вопросы на площадке {}",
            marketplace.title()
        ));
    };
    if !connector.capabilities(kind).can_delete {
        return Err(format!(
            "{} не позволяет удалять ответ ({})",
            marketplace.title(),
            kind.title_ru()
        ));
    }
    let thread = kind.external_id(&job.chat.external_id);
    connector
        .delete_answer(kind, thread, &job.message_id)
        .await
        .map_err(|e| e.to_string())
}

/// Fetch fresh reply handles for the shop's chats and store them.
async fn refresh_chat(
    rt: &Arc<Runtime>,
    shop: &str,
    marketplace: Marketplace,
    connector: &DynConnector,
    chat_id: &str,
) -> Result<Option<String>, PollError> {
    let Some(shop) = rt.shops.get(shop) else {
        return Ok(None);
    };
    let settings = crate::poller::ingest_settings(rt);
    let updates = crate::poller::refresh_chats(rt, shop, marketplace, connector, &settings).await?;
    Ok(updates
        .into_iter()
        .find(|u| u.chat_id == chat_id)
        .and_then(|u| u.reply_handle))
}

enum Outcome {
    Sent {
        message_id: Option<String>,
        sent_at: Option<i64>,
    },
    Unknown(String),
    Failed(String),
    /// Not delivered, safe to try again at this time.
    Retry {
        at: i64,
        why: String,
    },
}

async fn not_delivered(rt: &Arc<Runtime>, job: &SendJob, e: MarketError) -> Outcome {
    let now = rt.clock.now_ms();
    match e {
        MarketError::RateLimited { retry_after } => Outcome::Retry {
            at: now + retry_after.as_millis() as i64,
            why: format!(
                "{} ограничила частоту запросов; повтор через {} с",
                job.chat.marketplace.title(),
                retry_after.as_secs_f64().ceil()
            ),
        },
        e if e.needs_person() => {
            rt.set_connector_status(
                &job.chat.shop,
                job.chat.marketplace,
                ConnectorState::AuthFailed,
                Some(e.to_string()),
                None,
            )
            .await;
            Outcome::Retry {
                at: now + 60_000,
                why: format!("{e}; ждём, пока ключ доступа снова заработает"),
            }
        }
        MarketError::Unavailable(why) if (job.attempt as u32) < rt.settings.sender.max_attempts => {
            let backoff = send_backoff(job.draft_id, job.attempt as u32);
            Outcome::Retry {
                at: now + backoff.as_millis() as i64,
                why: format!(
                    "не доставлен ({why}); попытка {} из {}",
                    job.attempt, rt.settings.sender.max_attempts
                ),
            }
        }
        other => Outcome::Failed(other.for_seller()),
    }
}

/// How long a draft waits after `attempt` failed tries: doubling up to five
/// minutes, each draft at its own point in the upper half of that, so drafts
/// that failed together (an outage) do not all come back at the same moment.
fn send_backoff(draft_id: i64, attempt: u32) -> Duration {
    use rand::{Rng, SeedableRng};
    let cap = Duration::from_secs(2u64.saturating_pow(attempt).min(300));
    let seed = ((draft_id as u64) << 8) ^ u64::from(attempt);
    cap.mul_f64(rand::rngs::StdRng::seed_from_u64(seed).random_range(0.5..=1.0))
}

/// Move a draft out of `sending` into `to`, keeping a lost race apart from a
/// database failure.
async fn leave_sending(
    rt: &Runtime,
    id: i64,
    to: DraftState,
    note: String,
    now: crate::domain::Millis,
) -> store::Result<Result<(), TransitionError>> {
    rt.store
        .call(move |c| {
            TransitionError::lift(
                store::transition(
                    c,
                    id,
                    &[DraftState::Sending],
                    to,
                    &Change {
                        actor: ACTOR,
                        note: Some(&note),
                        at: now,
                    },
                )
                .map(|_| ()),
            )
        })
        .await
}

async fn finish(rt: &Arc<Runtime>, id: i64, outcome: Outcome) {
    let now = rt.clock.now_ms();
    let (state, reason, result) = match outcome {
        Outcome::Sent {
            message_id,
            sent_at,
        } => {
            let r = rt
                .store
                .call(move |c| {
                    TransitionError::lift(store::mark_sent(
                        c,
                        id,
                        message_id.as_deref(),
                        sent_at.unwrap_or(now),
                        "принят площадкой",
                        now,
                    ))
                })
                .await;
            (DraftState::Sent, None, r)
        }
        Outcome::Unknown(why) => {
            tracing::warn!(draft = id, %why, "send outcome unknown; will reconcile against the chat history");
            let note = format!("исход неизвестен ({why}); сверяемся с историей чата");
            let r = leave_sending(rt, id, DraftState::Unknown, note.clone(), now).await;
            (DraftState::Unknown, Some(note), r)
        }
        Outcome::Failed(why) => {
            tracing::warn!(draft = id, %why, "send failed");
            let r = leave_sending(rt, id, DraftState::Failed, why.clone(), now).await;
            (DraftState::Failed, Some(why), r)
        }
        Outcome::Retry { at, why } => {
            let n = why.clone();
            let r = rt
                .store
                .call(move |c| {
                    TransitionError::lift(
                        store::requeue(
                            c,
                            id,
                            &[DraftState::Sending],
                            at,
                            &Change {
                                actor: ACTOR,
                                note: Some(&n),
                                at: now,
                            },
                        )
                        .map(|_| ()),
                    )
                })
                .await;
            (DraftState::Scheduled, Some(why), r)
        }
    };
    match result {
        Ok(Ok(())) => rt.emit(Event::DraftChanged { id, state, reason }),
        // The echo already settled it (e.g. marked it sent while the HTTP call was in flight).
        Ok(Err(TransitionError::WrongState { current, .. })) => {
            tracing::debug!(draft = id, %current, "send result arrived after the draft was settled");
        }
        Ok(Err(e)) => tracing::error!(draft = id, error = %e, "cannot record the send result"),
        Err(e) => tracing::error!(draft = id, error = %e, "cannot record the send result"),
    }
}

/// Settle `unknown` sends whose absence from the chat history is proven: a
/// complete read of the history that started `reconcile_grace` after the
/// attempt did not contain our message. Present messages were already matched
/// when they were ingested.
/// Resends the drafts whose unknown outcome a later read proved absent;
/// returns how many unknown outcomes are left to settle.
async fn reconcile(rt: &Arc<Runtime>) -> store::Result<usize> {
    let grace = rt.settings.sender.reconcile_grace.as_millis_i64();
    let unknown = rt.store.call(|c| store::unknown_drafts(c)).await?;
    let mut left = unknown.len();
    for u in unknown {
        let proven_absent = u
            .synced_at
            .is_some_and(|synced| synced >= u.send_started_at + grace);
        if !proven_absent {
            continue;
        }
        left -= 1;
        let id = u.draft_id;
        let now = rt.clock.now_ms();
        let note = format!(
            "через {} с после попытки ответа нет в истории чата; отправляем снова",
            grace / 1000
        );
        let n = note.clone();
        let result = rt
            .store
            .call(move |c| {
                TransitionError::lift(store::requeue(
                    c,
                    id,
                    &[DraftState::Unknown],
                    now,
                    &Change {
                        actor: "daemon:reconcile",
                        note: Some(&n),
                        at: now,
                    },
                ))
            })
            .await?;
        match result {
            Ok(_) => {
                tracing::info!(
                    draft = id,
                    "reconciled: the earlier attempt did not arrive; resending"
                );
                rt.emit(Event::DraftChanged {
                    id,
                    state: DraftState::Scheduled,
                    reason: Some(note),
                });
                rt.wake_sender.notify_one();
            }
            // Settled meanwhile: its echo arrived, or a person acted on it.
            Err(TransitionError::WrongState { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_failing_together_retry_at_different_times_within_bounds() {
        for attempt in 1..12u32 {
            let cap = Duration::from_secs(2u64.pow(attempt).min(300));
            let waits: std::collections::BTreeSet<Duration> =
                (1..=50).map(|id| send_backoff(id, attempt)).collect();
            assert!(waits.len() > 25, "attempt {attempt}: {waits:?}");
            for wait in &waits {
                assert!(
                    *wait >= cap / 2 && *wait <= cap,
                    "attempt {attempt}: {wait:?} outside {:?}..={cap:?}",
                    cap / 2
                );
            }
        }
        assert_eq!(
            send_backoff(7, 3),
            send_backoff(7, 3),
            "the same draft and attempt wait the same"
        );
    }

    fn edit_job(sent_days_ago: i64, edits_made: u32, now: i64) -> store::EditJob {
        store::EditJob {
            draft_id: 1,
            chat: store::ChatRow {
                id: 1,
                shop: "shop".into(),
                marketplace: Marketplace::Wildberries,
                external_id: "r:1".into(),
                reply_handle: None,
                buyer_name: None,
                order: Default::default(),
                takeover_until: None,
                kind: ThreadKind::Review,
                thread: None,
            },
            message_id: "a1".into(),
            text: "Спасибо за отзыв!".into(),
            sent_at: Some(now - sent_days_ago * 86_400_000),
            edits_made,
        }
    }

    #[test]
    fn an_edit_past_the_marketplaces_window_or_allowance_is_refused_before_any_call() {
        let caps = crate::domain::FeedbackCapabilities {
            can_answer: true,
            edit_window_secs: Some(60 * 86_400),
            edits_allowed: 1,
            can_delete: false,
            max_answer_chars: 5000,
            min_answer_chars: 2,
            subscription_needed: false,
        };
        let now = 1_800_000_000_000;
        assert_eq!(edit_refusal(&caps, &edit_job(59, 0, now), now), None);
        let late = edit_refusal(&caps, &edit_job(61, 0, now), now).expect("past 60 days");
        assert!(late.contains("60 дней"), "{late}");
        let again = edit_refusal(&caps, &edit_job(1, 1, now), now).expect("one edit only");
        assert!(again.contains("один раз"), "{again}");
        let unlimited = crate::domain::FeedbackCapabilities {
            edit_window_secs: None,
            edits_allowed: u32::MAX,
            ..caps
        };
        assert_eq!(edit_refusal(&unlimited, &edit_job(400, 3, now), now), None);
    }
}
