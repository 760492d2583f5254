//! What happened → rows of the bot's outbox. The source is the database, not
//! the in-process event bus (which only wakes this task): draft events are
//! the audit trail every change writes, from this process or the CLI, so
//! nothing is missed while the bot is down, and the watermark over them moves
//! in the same transaction that stores the rows.

use crate::runtime::Activity;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::Bot;
use super::render::{self, escape};
use crate::domain::{DraftState, Effect, now_ms};
use crate::runtime::Event;
use crate::store::telegram::{self as tg, NewNote, NoteKind, Urgency};
use crate::store::{self, ConnectorState, DraftFilter};

const BATCH: usize = 200;
/// A reply window closing within this long is announced (Ozon: 48 h after the buyer wrote).
const WINDOW_WARNING_MS: i64 = 2 * 3600 * 1000;
/// Budgets and reply windows are looked at this often.
const SLOW_CHECKS: Duration = Duration::from_secs(60);

pub(super) async fn run(bot: Arc<Bot>, activity: Arc<Activity>, shutdown: CancellationToken) {
    let mut events = bot.rt.events.subscribe();
    let mut last_slow: Option<tokio::time::Instant> = None;
    loop {
        match collect_draft_events(&bot).await {
            Ok(0) => {}
            Ok(_) => bot.wake_deliver.notify_one(),
            Err(e) => {
                tracing::error!(error = %e, "cannot turn draft events into Telegram messages")
            }
        }
        match collect_connectors(&bot).await {
            Ok(0) => {}
            Ok(_) => bot.wake_deliver.notify_one(),
            Err(e) => {
                tracing::error!(error = %e, "cannot read connector status for Telegram alerts")
            }
        }
        if last_slow.is_none_or(|t| t.elapsed() >= SLOW_CHECKS) {
            last_slow = Some(tokio::time::Instant::now());
            match collect_slow(&bot).await {
                Ok(0) => {}
                Ok(_) => bot.wake_deliver.notify_one(),
                Err(e) => {
                    tracing::error!(error = %e, "cannot check budgets and reply windows for Telegram alerts")
                }
            }
        }
        activity.pass_done(0, bot.settings.tick.0, bot.rt.clock.now_ms());
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(bot.settings.tick.0) => {}
            r = events.recv() => match r {
                Ok(Event::DraftCreated { .. } | Event::DraftChanged { .. } | Event::Connector { .. })
                | Err(RecvError::Lagged(_)) => {}
                Ok(_) => continue,
                Err(RecvError::Closed) => return,
            },
        }
    }
}

fn note(key: String, chat: i64, text: String) -> NewNote {
    NewNote {
        event_key: key,
        chat_id: chat,
        kind: NoteKind::Note,
        draft_id: None,
        text: Some(text),
        markup: None,
        role: None,
        urgency: Urgency::Normal,
    }
}

/// New draft events → cards, in-place updates and failed-send alerts.
async fn collect_draft_events(bot: &Arc<Bot>) -> anyhow::Result<usize> {
    let b = bot.clone();
    Ok(bot
        .rt
        .store
        .call(move |c| {
            let mut total = 0;
            loop {
                let after = match tg::cursor(c, tg::EVENTS_CURSOR)? {
                    Some(v) => v,
                    // A bot switched on for an existing database starts from now.
                    None => {
                        let last = tg::last_event_id(c)?;
                        tg::enqueue(c, &[], Some((tg::EVENTS_CURSOR, last)), now_ms())?;
                        last
                    }
                };
                let events = tg::events_after(c, after, BATCH)?;
                let Some(last) = events.last().map(|e| e.id) else {
                    return Ok(total);
                };
                let mut notes = Vec::new();
                for e in &events {
                    let more = notes_for(&b, c, e, &notes)?;
                    notes.extend(more);
                }
                total += tg::enqueue(c, &notes, Some((tg::EVENTS_CURSOR, last)), now_ms())?;
            }
        })
        .await?)
}

fn notes_for(
    bot: &Bot,
    c: &rusqlite::Connection,
    e: &tg::DraftEventRow,
    earlier: &[NewNote],
) -> crate::store::Result<Vec<NewNote>> {
    let mut out = Vec::new();
    if e.to_state == DraftState::Pending {
        for u in bot.users_of(&e.shop) {
            out.push(NewNote {
                event_key: format!("card:{}", e.draft_id),
                chat_id: u.id,
                kind: NoteKind::Card,
                draft_id: Some(e.draft_id),
                text: None,
                markup: None,
                role: None,
                urgency: Urgency::Normal,
            });
        }
    }
    if e.to_state == DraftState::Pending
        && e.effect == Effect::Escalate.as_str()
        && let Some(d) = store::get_draft(c, e.draft_id)?
    {
        let (text, markup) = render::escalation(&d);
        for u in bot.users_of(&e.shop) {
            out.push(NewNote {
                draft_id: Some(e.draft_id),
                markup: Some(render::stored(&markup)),
                urgency: Urgency::Urgent,
                ..note(format!("escalation:{}", e.draft_id), u.id, text.clone())
            });
        }
    }
    if e.from_state.is_some() {
        let mut chats = tg::card_chats(c, e.draft_id)?;
        chats.extend(
            earlier
                .iter()
                .filter(|n| n.kind == NoteKind::Card && n.draft_id == Some(e.draft_id))
                .map(|n| n.chat_id),
        );
        chats.sort_unstable();
        chats.dedup();
        for chat in chats {
            out.push(NewNote {
                event_key: format!("ev:{}", e.id),
                chat_id: chat,
                kind: NoteKind::Refresh,
                draft_id: Some(e.draft_id),
                text: None,
                markup: None,
                role: None,
                urgency: Urgency::Normal,
            });
        }
    }
    if e.to_state == DraftState::Failed {
        let text = format!(
            "❗ <b>Ответ не отправлен</b>\nМагазин {}, черновик №{}: {}\nПовторить или отклонить можно в веб-очереди или командой <code>agentiq queue retry {}</code>.",
            escape(&e.shop),
            e.draft_id,
            escape(e.note.as_deref().unwrap_or("площадка отказала")),
            e.draft_id
        );
        for u in bot.users_of(&e.shop) {
            out.push(note(format!("failed:{}", e.id), u.id, text.clone()));
        }
    }
    Ok(out)
}

/// A marketplace that rejected our credentials: one alert per outage.
async fn collect_connectors(bot: &Arc<Bot>) -> anyhow::Result<usize> {
    let b = bot.clone();
    Ok(bot.rt
        .store
        .call(move |c| {
            let mut notes = Vec::new();
            for s in store::list_status(c)? {
                if s.state != ConnectorState::AuthFailed {
                    continue;
                }
                let text = format!(
                    "🔑 <b>{} не принимает ключ магазина {}</b>\n{}\nОпрос остановлен, пока ключ не заменят в настройках.",
                    escape(s.marketplace.title()),
                    escape(&s.shop),
                    escape(s.detail.as_deref().unwrap_or(""))
                );
                for u in b.users_of(&s.shop) {
                    notes.push(note(
                        format!("auth:{}:{}:{}", s.shop, s.marketplace.code(), s.since),
                        u.id,
                        text.clone(),
                    ));
                }
            }
            tg::enqueue(c, &notes, None, now_ms())
        })
        .await?)
}

/// Exhausted LLM budgets (once a day per shop) and reply windows closing soon.
async fn collect_slow(bot: &Arc<Bot>) -> anyhow::Result<usize> {
    let report =
        crate::actions::status(&bot.rt.store, crate::actions::shop_refs(&bot.rt.settings)).await?;
    let refs = crate::actions::shop_refs(&bot.rt.settings);
    let mut notes = Vec::new();
    for b in &report.budgets {
        let Some(why) = &b.exhausted else { continue };
        let day = refs
            .iter()
            .find(|r| r.id == b.shop)
            .map(|r| r.day.clone())
            .unwrap_or_default();
        let text = format!(
            "💸 <b>Магазин {}: {}</b>\nСегодня потрачено {:.2}, за месяц {:.2}.",
            escape(&b.shop),
            escape(why),
            b.today,
            b.month
        );
        for u in bot.users_of(&b.shop) {
            notes.push(note(format!("budget:{}:{day}", b.shop), u.id, text.clone()));
        }
    }
    let pending = crate::actions::list(
        &bot.rt.store,
        DraftFilter {
            states: vec![DraftState::Pending],
            ..Default::default()
        },
    )
    .await?;
    let now = now_ms();
    for d in pending {
        let Some(deadline) = d.reply_deadline else {
            continue;
        };
        if deadline <= now || deadline - now > WINDOW_WARNING_MS {
            continue;
        }
        let text = format!(
            "⏰ <b>Окно ответа закрывается</b>\nЧерновик №{} ({}, {}): площадка примет ответ до {}.",
            d.id,
            escape(&d.shop),
            escape(&d.marketplace),
            crate::domain::local_time(deadline)
        );
        for u in bot.users_of(&d.shop) {
            notes.push(note(format!("window:{}", d.id), u.id, text.clone()));
        }
    }
    Ok(bot
        .rt
        .store
        .call(move |c| tg::enqueue(c, &notes, None, now_ms()))
        .await?)
}
