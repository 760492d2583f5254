//! The Telegram bot's durable state: its outbox (one row per event per chat),
//! the messages that stand for a draft, proposed edits and its two cursors.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{Result, StoreError};
use crate::domain::{DraftState, Millis};

/// The watermark over `draft_events`.
pub const EVENTS_CURSOR: &str = "events";
/// The next `getUpdates` offset.
pub const UPDATES_CURSOR: &str = "updates";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    /// A draft's message with its buttons, rendered when it is sent.
    Card,
    /// Edit a draft's messages in this chat to its current state.
    Refresh,
    /// A fixed text (alerts, answers to a person).
    Note,
}

impl NoteKind {
    fn as_str(self) -> &'static str {
        match self {
            NoteKind::Card => "card",
            NoteKind::Refresh => "refresh",
            NoteKind::Note => "note",
        }
    }

    fn parse(s: &str) -> Result<NoteKind> {
        match s {
            "card" => Ok(NoteKind::Card),
            "refresh" => Ok(NoteKind::Refresh),
            "note" => Ok(NoteKind::Note),
            other => Err(StoreError::Corrupt(format!(
                "telegram outbox kind `{other}`"
            ))),
        }
    }
}

/// Whether a row waits for the user's quiet hours and digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// An answer to the user's own tap or message: never held back.
    Reply,
    /// Held during quiet hours; a card goes into the digest.
    #[default]
    Normal,
    /// An escalation: breaks through quiet hours.
    Urgent,
}

impl Urgency {
    fn as_str(self) -> &'static str {
        match self {
            Urgency::Reply => "reply",
            Urgency::Normal => "normal",
            Urgency::Urgent => "urgent",
        }
    }

    fn parse(s: &str) -> Result<Urgency> {
        match s {
            "reply" => Ok(Urgency::Reply),
            "normal" => Ok(Urgency::Normal),
            "urgent" => Ok(Urgency::Urgent),
            other => Err(StoreError::Corrupt(format!(
                "telegram outbox urgency `{other}`"
            ))),
        }
    }
}

/// Something the bot is to send to one chat.
#[derive(Debug, Clone)]
pub struct NewNote {
    /// Names the event: the same key for the same chat is stored once.
    pub event_key: String,
    pub chat_id: i64,
    pub kind: NoteKind,
    pub draft_id: Option<i64>,
    pub text: Option<String>,
    /// The inline keyboard, as Bot API JSON.
    pub markup: Option<String>,
    /// What a reply to the sent message means (`edit`, `reject`), for notes about a draft.
    pub role: Option<String>,
    pub urgency: Urgency,
}

#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    pub event_key: String,
    pub chat_id: i64,
    pub kind: NoteKind,
    pub draft_id: Option<i64>,
    pub text: Option<String>,
    pub markup: Option<String>,
    pub role: Option<String>,
    pub attempts: i64,
    pub urgency: Urgency,
    /// When it was first held back (quiet hours, digest).
    pub held_at: Option<Millis>,
}

/// A message Telegram refused for good, for the operator.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FailedMessage {
    pub id: i64,
    pub chat_id: i64,
    pub event_key: String,
    pub draft_id: Option<i64>,
    pub error: String,
    pub at: Millis,
}

/// A change of a draft's state, as the bot reads it.
#[derive(Debug, Clone)]
pub struct DraftEventRow {
    pub id: i64,
    pub draft_id: i64,
    pub shop: String,
    pub from_state: Option<DraftState>,
    pub to_state: DraftState,
    pub actor: String,
    pub note: Option<String>,
    /// The policy's decision on the draft (`queue`, `escalate`, …).
    pub effect: String,
}

#[derive(Debug, Clone)]
pub struct EditRow {
    pub id: i64,
    pub draft_id: i64,
    pub revision: i64,
    pub user_id: i64,
    pub text: String,
}

/// A cursor's value; `None` before it was first set.
pub fn cursor(c: &Connection, name: &str) -> Result<Option<i64>> {
    Ok(c.query_row(
        "SELECT value FROM telegram_cursor WHERE name = ?1",
        [name],
        |r| r.get(0),
    )
    .optional()?)
}

fn set_cursor(tx: &Transaction, name: &str, value: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO telegram_cursor (name, value) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        params![name, value],
    )?;
    Ok(())
}

/// Draft events after `after`, oldest first.
pub fn events_after(c: &Connection, after: i64, limit: usize) -> Result<Vec<DraftEventRow>> {
    let mut stmt = c.prepare_cached(
        "SELECT e.id, e.draft_id, ch.shop, e.from_state, e.to_state, e.actor, e.note, d.effect
         FROM draft_events e JOIN drafts d ON d.id = e.draft_id JOIN chats ch ON ch.id = d.chat_id
         WHERE e.id > ?1 ORDER BY e.id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit as i64], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, Option<String>>(6)?,
            r.get::<_, String>(7)?,
        ))
    })?;
    let state = |s: &str| {
        s.parse::<DraftState>()
            .map_err(|_| StoreError::Corrupt(format!("draft state `{s}`")))
    };
    let mut out = Vec::new();
    for row in rows {
        let (id, draft_id, shop, from, to, actor, note, effect) = row?;
        out.push(DraftEventRow {
            id,
            draft_id,
            shop,
            from_state: from.as_deref().map(state).transpose()?,
            to_state: state(&to)?,
            actor,
            note,
            effect,
        });
    }
    Ok(out)
}

/// The newest draft event id: where a bot starting on an existing database begins.
pub fn last_event_id(c: &Connection) -> Result<i64> {
    Ok(
        c.query_row("SELECT COALESCE(MAX(id), 0) FROM draft_events", [], |r| {
            r.get(0)
        })?,
    )
}

/// A draft's revision: its newest audit event. Every change of state writes one.
pub fn draft_revision(c: &Connection, draft_id: i64) -> Result<i64> {
    Ok(c.query_row(
        "SELECT COALESCE(MAX(id), 0) FROM draft_events WHERE draft_id = ?1",
        [draft_id],
        |r| r.get(0),
    )?)
}

/// Store `notes` (each once per event and chat) and, in the same
/// transaction, move `cursor` to `value`. Returns how many were new.
pub fn enqueue(
    c: &mut Connection,
    notes: &[NewNote],
    cursor: Option<(&str, i64)>,
    now: Millis,
) -> Result<usize> {
    let tx = c.transaction()?;
    let mut added = 0;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO telegram_outbox (event_key, chat_id, kind, draft_id, text, markup, role, created_at, run_after, urgency)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)
             ON CONFLICT (event_key, chat_id) DO NOTHING",
        )?;
        for n in notes {
            added += stmt.execute(params![
                n.event_key,
                n.chat_id,
                n.kind.as_str(),
                n.draft_id,
                n.text,
                n.markup,
                n.role,
                now,
                n.urgency.as_str()
            ])?;
        }
    }
    if let Some((name, value)) = cursor {
        set_cursor(&tx, name, value)?;
    }
    tx.commit()?;
    Ok(added)
}

/// Move a cursor on its own (the update offset after an update that sent nothing).
pub fn advance_cursor(c: &mut Connection, name: &str, value: i64) -> Result<()> {
    let tx = c.transaction()?;
    set_cursor(&tx, name, value)?;
    tx.commit()?;
    Ok(())
}

/// The chats that were sent (or are to be sent) a card for this draft.
pub fn card_chats(c: &Connection, draft_id: i64) -> Result<Vec<i64>> {
    let mut stmt = c.prepare_cached(
        "SELECT chat_id FROM telegram_outbox WHERE kind = 'card' AND draft_id = ?1 ORDER BY chat_id",
    )?;
    let rows = stmt.query_map([draft_id], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Rows due now, oldest first.
pub fn due(c: &Connection, now: Millis, limit: usize) -> Result<Vec<OutboxRow>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, event_key, chat_id, kind, draft_id, text, markup, role, attempts, urgency, held_at
         FROM telegram_outbox WHERE done_at IS NULL AND run_after <= ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now, limit as i64], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<i64>>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, Option<String>>(6)?,
            r.get::<_, Option<String>>(7)?,
            r.get::<_, i64>(8)?,
            r.get::<_, String>(9)?,
            r.get::<_, Option<i64>>(10)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (
            id,
            event_key,
            chat_id,
            kind,
            draft_id,
            text,
            markup,
            role,
            attempts,
            urgency,
            held_at,
        ) = row?;
        out.push(OutboxRow {
            id,
            event_key,
            chat_id,
            kind: NoteKind::parse(&kind)?,
            draft_id,
            text,
            markup,
            role,
            attempts,
            urgency: Urgency::parse(&urgency)?,
            held_at,
        });
    }
    Ok(out)
}

/// The earliest time a waiting row becomes due.
pub fn next_due(c: &Connection) -> Result<Option<Millis>> {
    Ok(c.query_row(
        "SELECT MIN(run_after) FROM telegram_outbox WHERE done_at IS NULL",
        [],
        |r| r.get(0),
    )?)
}

/// Rows whose HTTP call was under way when the process stopped.
pub fn interrupted(c: &Connection) -> Result<Vec<i64>> {
    let mut stmt = c.prepare_cached(
        "SELECT id FROM telegram_outbox WHERE started_at IS NOT NULL AND done_at IS NULL ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Committed before the HTTP call.
pub fn start(c: &Connection, id: i64, now: Millis) -> Result<()> {
    c.execute(
        "UPDATE telegram_outbox SET started_at = ?2, attempts = attempts + 1 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

/// The call succeeded: the row is done, and the message it created (if any)
/// is remembered as standing for its draft, in one transaction.
pub fn finish(
    c: &mut Connection,
    id: i64,
    now: Millis,
    message: Option<(i64, i64, i64, &str)>,
) -> Result<()> {
    let tx = c.transaction()?;
    tx.execute(
        "UPDATE telegram_outbox SET done_at = ?2, last_error = NULL, outcome = 'sent' WHERE id = ?1",
        params![id, now],
    )?;
    if let Some((chat_id, message_id, draft_id, role)) = message {
        tx.execute(
            "INSERT OR REPLACE INTO telegram_messages (chat_id, message_id, draft_id, role) VALUES (?1, ?2, ?3, ?4)",
            params![chat_id, message_id, draft_id, role],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// The call failed in a way worth another try at `run_after`.
pub fn retry_later(c: &Connection, id: i64, run_after: Millis, error: &str) -> Result<()> {
    c.execute(
        "UPDATE telegram_outbox SET started_at = NULL, run_after = ?2, last_error = ?3 WHERE id = ?1",
        params![id, run_after, error],
    )?;
    Ok(())
}

/// Telegram refused the row for good (a blocked bot, a bad request): it is
/// kept with the reason, not retried.
pub fn give_up(c: &Connection, id: i64, now: Millis, error: &str) -> Result<()> {
    c.execute(
        "UPDATE telegram_outbox SET done_at = ?2, last_error = ?3, outcome = 'failed' WHERE id = ?1",
        params![id, now, error],
    )?;
    Ok(())
}

/// Hold a row back until `until` (the end of quiet hours, the next digest).
pub fn hold(c: &Connection, id: i64, until: Millis, now: Millis) -> Result<()> {
    c.execute(
        "UPDATE telegram_outbox SET run_after = ?2, held_at = COALESCE(held_at, ?3) WHERE id = ?1",
        params![id, until, now],
    )?;
    Ok(())
}

/// Cards for this chat due now that a digest may stand for: `(row, draft, held)`,
/// `held` when the row was held back before (quiet hours, an earlier digest).
pub fn due_cards(c: &Connection, chat_id: i64, now: Millis) -> Result<Vec<(i64, i64, bool)>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, draft_id, held_at IS NOT NULL FROM telegram_outbox
         WHERE chat_id = ?1 AND kind = 'card' AND urgency = 'normal'
           AND done_at IS NULL AND run_after <= ?2 AND draft_id IS NOT NULL
         ORDER BY id",
    )?;
    let rows = stmt.query_map(params![chat_id, now], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A digest stood for these rows: they are done, and the chat's digest time
/// moves, in one transaction.
pub fn digested(c: &mut Connection, chat_id: i64, rows: &[i64], now: Millis) -> Result<()> {
    let tx = c.transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "UPDATE telegram_outbox SET done_at = ?2, last_error = NULL, outcome = 'digested' WHERE id = ?1",
        )?;
        for id in rows {
            stmt.execute(params![id, now])?;
        }
    }
    tx.execute(
        "INSERT INTO telegram_digests (chat_id, sent_at) VALUES (?1, ?2)
         ON CONFLICT (chat_id) DO UPDATE SET sent_at = excluded.sent_at",
        params![chat_id, now],
    )?;
    tx.commit()?;
    Ok(())
}

/// When this chat last got a digest.
pub fn last_digest(c: &Connection, chat_id: i64) -> Result<Option<Millis>> {
    Ok(c.query_row(
        "SELECT sent_at FROM telegram_digests WHERE chat_id = ?1",
        [chat_id],
        |r| r.get(0),
    )
    .optional()?)
}

/// How many messages Telegram refused for good, and the newest `limit` of them.
pub fn failed(c: &Connection, limit: usize) -> Result<(u64, Vec<FailedMessage>)> {
    let count: i64 = c.query_row(
        "SELECT COUNT(*) FROM telegram_outbox WHERE outcome = 'failed'",
        [],
        |r| r.get(0),
    )?;
    let mut stmt = c.prepare_cached(
        "SELECT id, chat_id, event_key, draft_id, COALESCE(last_error, ''), done_at
         FROM telegram_outbox WHERE outcome = 'failed' ORDER BY done_at DESC, id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok(FailedMessage {
            id: r.get(0)?,
            chat_id: r.get(1)?,
            event_key: r.get(2)?,
            draft_id: r.get(3)?,
            error: r.get(4)?,
            at: r.get(5)?,
        })
    })?;
    Ok((count as u64, rows.collect::<rusqlite::Result<_>>()?))
}

/// Store an update Telegram POSTed to the webhook (once per update id) and
/// forget those the bot has handled. True when it is new.
pub fn receive_update(c: &mut Connection, update_id: i64, body: &str, now: Millis) -> Result<bool> {
    let tx = c.transaction()?;
    let handled: i64 = tx
        .query_row(
            "SELECT value FROM telegram_cursor WHERE name = ?1",
            [UPDATES_CURSOR],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0);
    tx.execute("DELETE FROM telegram_inbox WHERE update_id < ?1", [handled])?;
    let added = tx.execute(
        "INSERT INTO telegram_inbox (update_id, body, received_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (update_id) DO NOTHING",
        params![update_id, body, now],
    )?;
    tx.commit()?;
    Ok(added > 0 && update_id >= handled)
}

/// Webhook updates from `offset` on, oldest first: `(update_id, body)`.
pub fn inbox(c: &Connection, offset: i64, limit: usize) -> Result<Vec<(i64, String)>> {
    let mut stmt = c.prepare_cached(
        "SELECT update_id, body FROM telegram_inbox WHERE update_id >= ?1 ORDER BY update_id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![offset, limit as i64], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The messages standing for a draft in one chat: `(message_id, role)`.
pub fn draft_messages(c: &Connection, draft_id: i64, chat_id: i64) -> Result<Vec<(i64, String)>> {
    let mut stmt = c.prepare_cached(
        "SELECT message_id, role FROM telegram_messages WHERE draft_id = ?1 AND chat_id = ?2 ORDER BY message_id",
    )?;
    let rows = stmt.query_map(params![draft_id, chat_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Which draft a message of ours stands for, and its role.
pub fn message_draft(
    c: &Connection,
    chat_id: i64,
    message_id: i64,
) -> Result<Option<(i64, String)>> {
    Ok(c.query_row(
        "SELECT draft_id, role FROM telegram_messages WHERE chat_id = ?1 AND message_id = ?2",
        params![chat_id, message_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?)
}

pub fn add_edit(
    c: &Connection,
    draft_id: i64,
    revision: i64,
    user_id: i64,
    text: &str,
    now: Millis,
) -> Result<i64> {
    Ok(c.query_row(
        "INSERT INTO telegram_edits (draft_id, revision, user_id, text, created_at) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        params![draft_id, revision, user_id, text, now],
        |r| r.get(0),
    )?)
}

pub fn get_edit(c: &Connection, id: i64) -> Result<Option<EditRow>> {
    Ok(c.query_row(
        "SELECT id, draft_id, revision, user_id, text FROM telegram_edits WHERE id = ?1",
        [id],
        |r| {
            Ok(EditRow {
                id: r.get(0)?,
                draft_id: r.get(1)?,
                revision: r.get(2)?,
                user_id: r.get(3)?,
                text: r.get(4)?,
            })
        },
    )
    .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn note(key: &str, chat: i64) -> NewNote {
        NewNote {
            event_key: key.into(),
            chat_id: chat,
            kind: NoteKind::Note,
            draft_id: None,
            text: Some("x".into()),
            markup: None,
            role: None,
            urgency: Urgency::Normal,
        }
    }

    #[test]
    fn an_event_is_stored_once_per_chat_and_moves_the_cursor_with_it() {
        let store = Store::open_in_memory().unwrap();
        store
            .call_blocking(|c| {
                let notes = [note("ev:1", 10), note("ev:1", 11)];
                assert_eq!(enqueue(c, &notes, Some((EVENTS_CURSOR, 1)), 0)?, 2);
                // The same event again (a restart that re-read it): nothing new.
                assert_eq!(enqueue(c, &notes, Some((EVENTS_CURSOR, 1)), 0)?, 0);
                assert_eq!(cursor(c, EVENTS_CURSOR)?, Some(1));
                assert_eq!(due(c, 0, 10)?.len(), 2);
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn a_row_started_but_not_finished_is_due_again_and_reported_as_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        {
            let store = Store::open(&path).unwrap();
            store
                .call_blocking(|c| {
                    enqueue(c, &[note("alert:1", 5)], None, 0)?;
                    let row = due(c, 0, 1)?.remove(0);
                    start(c, row.id, 1)
                })
                .unwrap();
            // The process dies here: no `finish`, no `retry_later`.
        }
        let store = Store::open(&path).unwrap();
        store
            .call_blocking(|c| {
                assert_eq!(interrupted(c)?.len(), 1);
                let again = due(c, 2, 10)?;
                assert_eq!(again.len(), 1);
                assert_eq!(again[0].attempts, 1);
                finish(c, again[0].id, 3, None)?;
                assert!(due(c, 4, 10)?.is_empty() && interrupted(c)?.is_empty());
                Ok(())
            })
            .unwrap();
    }
}
