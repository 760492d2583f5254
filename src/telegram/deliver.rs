//! The bot's outbox → Telegram, at Telegram's pace: at most one message per
//! chat per `per_chat_interval` and `max_per_second` for the whole bot; a
//! 429 pauses everything for its `retry_after`; a 5xx or a network failure
//! puts the row back with a growing delay. Retries happen here and nowhere else.
//!
//! Each row is marked started (committed) before its HTTP call and done after
//! it. A row found started but not done after a crash is sent again: Telegram
//! has no idempotency key and a bot cannot read back what it sent, so the
//! choice is between a possible duplicate and a possible loss, and a
//! duplicate card is harmless (its buttons carry the draft's revision).

use crate::runtime::Activity;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use frankenstein::methods::SendMessageParams;
use frankenstein::types::ReplyMarkup;

use super::api::{self, ApiError};
use super::{Bot, render};
use crate::config::{TelegramUser, UrgentDelivery};
use crate::domain::Millis;
use crate::store;
use crate::store::telegram::{self as tg, NoteKind, OutboxRow, Urgency};

const BATCH: usize = 100;
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How long a Telegram outage pauses every send before the next try.
const OUTAGE_PAUSE: Duration = Duration::from_secs(1);

enum Outcome {
    Done(Option<(i64, i64, i64, String)>),
    Retry(ApiError),
    GiveUp(String),
}

pub(super) async fn run(bot: Arc<Bot>, activity: Arc<Activity>, shutdown: CancellationToken) {
    let per_chat = bot.settings.per_chat_interval.0;
    let per_second = bot.settings.max_per_second.max(1) as usize;
    let mut chat_free_at: HashMap<i64, Instant> = HashMap::new();
    let mut recent: VecDeque<Instant> = VecDeque::new();
    let mut paused_until: Option<Instant> = None;
    let clock = bot.rt.clock.clone();
    loop {
        let mut wait = Duration::from_secs(1);
        let rows = match bot
            .rt
            .store
            .read({
                let now = clock.now_ms();
                move |c| tg::due(c, now, BATCH)
            })
            .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the Telegram outbox");
                Vec::new()
            }
        };
        let mut held: HashSet<i64> = HashSet::new();
        // Rows a digest in this batch already stood for.
        let mut digested: HashSet<i64> = HashSet::new();
        for row in rows {
            if shutdown.is_cancelled() {
                return;
            }
            if digested.contains(&row.id) {
                continue;
            }
            let now = Instant::now();
            if let Some(until) = paused_until.filter(|u| *u > now) {
                wait = wait.min(until - now);
                break;
            }
            while recent
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
            {
                recent.pop_front();
            }
            if recent.len() >= per_second {
                wait = wait.min(Duration::from_secs(1) - now.duration_since(recent[0]));
                break;
            }
            // Rows of one chat go out in order: a held row holds the later ones.
            if held.contains(&row.chat_id) {
                continue;
            }
            if let Some(free) = chat_free_at.get(&row.chat_id).filter(|f| **f > now) {
                wait = wait.min(*free - now);
                held.insert(row.chat_id);
                continue;
            }
            let (id, chat, attempts) = (row.id, row.chat_id, row.attempts);
            let plan = match bot.user(chat) {
                Some(user) => match plan(&bot, user, &row, clock.now_ms()).await {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot read the Telegram outbox");
                        break;
                    }
                },
                None => Plan::Send { silent: false },
            };
            let plan = match plan {
                Plan::Hold(until) => {
                    tracing::debug!(row = id, chat, until, "Telegram message held back");
                    if let Err(e) = bot
                        .rt
                        .store
                        .call({
                            let at = clock.now_ms();
                            move |c| tg::hold(c, id, until, at)
                        })
                        .await
                    {
                        tracing::error!(error = %e, "cannot hold a Telegram message back");
                    }
                    continue;
                }
                other => other,
            };
            recent.push_back(now);
            let at = clock.now_ms();
            if let Err(e) = bot.rt.store.call(move |c| tg::start(c, id, at)).await {
                tracing::error!(error = %e, "cannot record a Telegram send");
                break;
            }
            let outcome = match &plan {
                Plan::Digest(rows) => digest(&bot, chat, rows).await,
                Plan::Send { silent } => send(&bot, &row, *silent).await,
                Plan::Hold(_) => unreachable!("handled above"),
            };
            let result = match outcome {
                Outcome::Done(message) => {
                    chat_free_at.insert(chat, Instant::now() + per_chat);
                    let stood_for: Option<Vec<i64>> = match &plan {
                        Plan::Digest(rows) => Some(rows.iter().map(|(r, _)| *r).collect()),
                        _ => None,
                    };
                    digested.extend(stood_for.iter().flatten());
                    let at = clock.now_ms();
                    bot.rt
                        .store
                        .call(move |c| match stood_for {
                            Some(rows) => tg::digested(c, chat, &rows, at),
                            None => {
                                let m = message
                                    .as_ref()
                                    .map(|(c, m, d, r)| (*c, *m, *d, r.as_str()));
                                tg::finish(c, id, at, m)
                            }
                        })
                        .await
                }
                Outcome::GiveUp(why) => {
                    tracing::warn!(row = id, chat, "Telegram refused a message for good: {why}");
                    let at = clock.now_ms();
                    bot.rt
                        .store
                        .call(move |c| tg::give_up(c, id, at, &why))
                        .await
                }
                Outcome::Retry(e) => {
                    let delay = match &e {
                        ApiError::RetryAfter(d) => *d,
                        _ => backoff(attempts),
                    };
                    let pause = match &e {
                        ApiError::RetryAfter(d) => *d,
                        _ => OUTAGE_PAUSE.min(delay),
                    };
                    paused_until = Some(Instant::now() + pause);
                    wait = wait.min(pause);
                    tracing::warn!(row = id, error = %e, retry_in = ?delay, "Telegram message delayed");
                    let (why, at) = (e.to_string(), clock.now_ms() + delay.as_millis() as i64);
                    held.insert(chat);
                    bot.rt
                        .store
                        .call(move |c| tg::retry_later(c, id, at, &why))
                        .await
                }
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "cannot record the outcome of a Telegram send");
            }
        }
        let paused = paused_until.is_some_and(|u| u > Instant::now());
        let mut due_soon = false;
        if !paused && let Ok(Some(next)) = bot.rt.store.read(tg::next_due).await {
            let ms = (next - clock.now_ms()).max(0) as u64;
            wait = wait.min(Duration::from_millis(ms.max(20)));
            due_soon = ms < 1_000;
        }
        activity.pass_done(usize::from(due_soon), wait, clock.now_ms());
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = bot.wake_deliver.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

fn backoff(attempts: i64) -> Duration {
    let exp = attempts.clamp(0, 6) as u32;
    (Duration::from_secs(1) * 2u32.pow(exp)).min(MAX_BACKOFF)
}

fn classify<T>(r: Result<T, ApiError>) -> Result<T, Outcome> {
    match r {
        Ok(v) => Ok(v),
        Err(ApiError::Refused { code, description }) => {
            Err(Outcome::GiveUp(format!("{code}: {description}")))
        }
        Err(e @ ApiError::Invalid { .. }) => Err(Outcome::GiveUp(e.to_string())),
        Err(e) => Err(Outcome::Retry(e)),
    }
}

/// What to do with a due row for this user now.
enum Plan {
    Send {
        silent: bool,
    },
    /// Not before this time (quiet hours, the next digest).
    Hold(Millis),
    /// One digest stands for these card rows `(row, draft)`.
    Digest(Vec<(i64, i64)>),
}

/// Quiet hours hold everything back but answers to the user's own taps,
/// edits of messages already there (an edit makes no sound) and
/// escalations; a user with `digest` gets cards as a digest at most that
/// often; cards held back for quiet hours arrive as one digest when there
/// are several.
async fn plan(bot: &Bot, user: &TelegramUser, row: &OutboxRow, now: Millis) -> store::Result<Plan> {
    let quiet = super::quiet_until(user, now);
    if row.urgency == Urgency::Reply || row.kind == NoteKind::Refresh {
        return Ok(Plan::Send {
            silent: quiet.is_some(),
        });
    }
    if let Some(end) = quiet {
        return Ok(match row.urgency {
            Urgency::Urgent => Plan::Send {
                silent: user.quiet_hours_urgent == UrgentDelivery::Silent,
            },
            _ => Plan::Hold(end),
        });
    }
    if row.kind != NoteKind::Card {
        return Ok(Plan::Send { silent: false });
    }
    let chat = row.chat_id;
    if let Some(every) = user.digest {
        let last = bot.rt.store.read(move |c| tg::last_digest(c, chat)).await?;
        if let Some(next) = last
            .map(|l| l + every.0.as_millis() as i64)
            .filter(|n| *n > now)
        {
            return Ok(Plan::Hold(next));
        }
        let cards = bot
            .rt
            .store
            .read(move |c| tg::due_cards(c, chat, now))
            .await?;
        return Ok(Plan::Digest(
            cards.into_iter().map(|(r, d, _)| (r, d)).collect(),
        ));
    }
    if row.held_at.is_some() {
        let held: Vec<(i64, i64)> = bot
            .rt
            .store
            .read(move |c| tg::due_cards(c, chat, now))
            .await?
            .into_iter()
            .filter(|(_, _, held)| *held)
            .map(|(r, d, _)| (r, d))
            .collect();
        if held.len() >= 2 {
            return Ok(Plan::Digest(held));
        }
    }
    Ok(Plan::Send { silent: false })
}

/// One message for several waiting drafts: counts per shop, the oldest, and
/// the first few with a button that brings up each card. Nothing is sent
/// when none of them waits any more.
async fn digest(bot: &Bot, chat: i64, rows: &[(i64, i64)]) -> Outcome {
    let Some(user) = bot.user(chat) else {
        return Outcome::GiveUp("the user is no longer in the configuration".into());
    };
    let waiting = match crate::actions::list(
        &bot.rt.store,
        crate::store::DraftFilter {
            states: vec![crate::domain::DraftState::Pending],
            ..Default::default()
        },
    )
    .await
    {
        Ok(w) => w,
        Err(e) => {
            tracing::error!(error = %e, "cannot list waiting drafts for a Telegram digest");
            return Outcome::Retry(ApiError::Unavailable(format!("database: {e}")));
        }
    };
    let waiting: Vec<_> = waiting.into_iter().filter(|d| user.sees(&d.shop)).collect();
    if waiting.is_empty() {
        tracing::debug!(chat, rows = rows.len(), "nothing waits any more; no digest");
        return Outcome::Done(None);
    }
    let (text, markup) = render::digest(&waiting, bot.public_url());
    let out = api::html_message(
        chat,
        text,
        Some(ReplyMarkup::InlineKeyboardMarkup(markup)),
        false,
    );
    match classify(bot.api.send(&out).await) {
        Ok(_) => Outcome::Done(None),
        Err(o) => o,
    }
}

async fn send(bot: &Bot, row: &OutboxRow, silent: bool) -> Outcome {
    match attempt(bot, row, silent).await {
        Ok(o) | Err(o) => o,
    }
}

async fn attempt(bot: &Bot, row: &OutboxRow, silent: bool) -> Result<Outcome, Outcome> {
    let Some(user) = bot.user(row.chat_id) else {
        return Ok(Outcome::GiveUp(
            "the user is no longer in the configuration".into(),
        ));
    };
    match row.kind {
        NoteKind::Note => {
            let markup = match row
                .markup
                .as_deref()
                .map(serde_json::from_str::<ReplyMarkup>)
            {
                Some(Ok(v)) => Some(v),
                Some(Err(e)) => {
                    return Ok(Outcome::GiveUp(format!("stored keyboard is not JSON: {e}")));
                }
                None => None,
            };
            let out = api::html_message(
                row.chat_id,
                row.text.clone().unwrap_or_default(),
                markup,
                silent,
            );
            let id = classify(bot.api.send(&out).await)?;
            Ok(Outcome::Done(
                row.draft_id
                    .zip(row.role.clone())
                    .map(|(d, role)| (row.chat_id, id, d, role)),
            ))
        }
        NoteKind::Card | NoteKind::Refresh => {
            let Some(draft_id) = row.draft_id else {
                return Ok(Outcome::GiveUp("a card without a draft".into()));
            };
            let (out, existing) = match current_card(bot, draft_id, row.chat_id, user).await {
                Ok(Some(v)) => v,
                Ok(None) => return Ok(Outcome::GiveUp(format!("draft {draft_id} is gone"))),
                Err(e) => {
                    tracing::error!(error = %e, "cannot read a draft for Telegram");
                    return Err(Outcome::Retry(ApiError::Unavailable(format!(
                        "database: {e}"
                    ))));
                }
            };
            let out = SendMessageParams {
                disable_notification: Some(silent),
                ..out
            };
            // A card asked for (from a digest or an alert) is always a new message.
            if row.kind == NoteKind::Card && (existing.is_empty() || row.urgency == Urgency::Reply)
            {
                let id = classify(bot.api.send(&out).await)?;
                return Ok(Outcome::Done(Some((
                    row.chat_id,
                    id,
                    draft_id,
                    "card".into(),
                ))));
            }
            for message_id in existing {
                let Ok(message_id) = i32::try_from(message_id) else {
                    return Ok(Outcome::GiveUp(format!(
                        "{message_id} is not a Telegram message id"
                    )));
                };
                classify(bot.api.edit(&api::edit_of(message_id, &out)).await)?;
            }
            Ok(Outcome::Done(None))
        }
    }
}

/// A draft's card as it should look now, and the messages already showing it in this chat.
async fn current_card(
    bot: &Bot,
    draft_id: i64,
    chat: i64,
    user: &TelegramUser,
) -> crate::store::Result<Option<(SendMessageParams, Vec<i64>)>> {
    let loaded = bot
        .rt
        .store
        .read(move |c| {
            let Some(d) = crate::store::get_draft(c, draft_id)? else {
                return Ok(None);
            };
            let buyer = crate::store::turn_messages(c, d.chat.id, d.turn_message_id)?
                .iter()
                .filter(|m| m.author == crate::domain::Author::Buyer)
                .map(|m| m.text.clone())
                .collect::<Vec<_>>()
                .join("\n");
            let rev = tg::draft_revision(c, draft_id)?;
            let cards: Vec<i64> = tg::draft_messages(c, draft_id, chat)?
                .into_iter()
                .filter(|(_, role)| role == "card")
                .map(|(m, _)| m)
                .collect();
            Ok(Some((d, buyer, rev, cards)))
        })
        .await?;
    Ok(loaded.map(|(d, buyer, rev, cards)| {
        let (text, markup) = render::card(&d, &buyer, rev, Bot::can_act(user), bot.public_url());
        (
            api::html_message(
                chat,
                text,
                Some(ReplyMarkup::InlineKeyboardMarkup(markup)),
                false,
            ),
            cards,
        )
    }))
}
