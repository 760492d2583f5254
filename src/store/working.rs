//! What a person types for a reply, saved as they type, so that nothing is
//! lost when the buyer writes again, the session ends or the daemon restarts.
//! One text per chat, remembering the draft it was typed for; the draft that
//! supersedes that one picks it up.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::{Result, StoreError};
use crate::domain::{DraftState, Millis};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkingText {
    pub text: String,
    /// The draft it was typed for.
    pub draft_id: i64,
    pub updated_by: String,
    pub updated_at: Millis,
}

/// Save `text` as what a person is typing for draft `draft_id`. Returns
/// `false` when there is no such draft.
pub fn save_working_text(
    conn: &mut Connection,
    draft_id: i64,
    text: &str,
    actor: &str,
    now: Millis,
) -> Result<bool> {
    let chat: Option<i64> = conn
        .prepare_cached("SELECT chat_id FROM drafts WHERE id = ?1")?
        .query_row([draft_id], |r| r.get(0))
        .optional()?;
    let Some(chat) = chat else {
        return Ok(false);
    };
    conn.prepare_cached(
        "INSERT INTO working_texts (chat_id, draft_id, text, updated_by, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (chat_id) DO UPDATE SET draft_id = excluded.draft_id, text = excluded.text,
             updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )?
    .execute(params![chat, draft_id, text, actor, now])?;
    Ok(true)
}

/// The typed text that belongs to draft `draft_id`: typed for it, or typed
/// for an earlier draft of the same chat that the buyer's new message
/// withdrew, through drafts all withdrawn the same way. Text typed for (or
/// carried into) a draft a person approved or rejected is done.
pub fn working_text_for(conn: &Connection, draft_id: i64) -> Result<Option<WorkingText>> {
    let found: Option<(WorkingText, String, Option<Millis>)> = conn
        .prepare_cached(
            "SELECT w.text, w.draft_id, w.updated_by, w.updated_at, typed.state, typed.superseded_at
             FROM drafts d
             JOIN working_texts w ON w.chat_id = d.chat_id
             JOIN drafts typed ON typed.id = w.draft_id
             WHERE d.id = ?1 AND w.draft_id <= d.id
               AND NOT EXISTS (SELECT 1 FROM drafts m WHERE m.chat_id = d.chat_id
                               AND m.id > w.draft_id AND m.id < d.id AND m.superseded_at IS NULL)",
        )?
        .query_row([draft_id], |r| {
            Ok((
                WorkingText {
                    text: r.get(0)?,
                    draft_id: r.get(1)?,
                    updated_by: r.get(2)?,
                    updated_at: r.get(3)?,
                },
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .optional()?;
    let Some((working, state, superseded_at)) = found else {
        return Ok(None);
    };
    let state: DraftState = state.parse().map_err(StoreError::Corrupt)?;
    let carried =
        superseded_at.is_some() && matches!(state, DraftState::Expired | DraftState::Cancelled);
    Ok((working.draft_id == draft_id || carried).then_some(working))
}

/// The newest draft of the same chat after `draft_id`: where a withdrawn
/// draft's conversation continues.
pub fn successor_draft(conn: &Connection, draft_id: i64) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT n.id FROM drafts d JOIN drafts n ON n.chat_id = d.chat_id AND n.id > d.id
             WHERE d.id = ?1 ORDER BY n.id DESC LIMIT 1",
        )?
        .query_row([draft_id], |r| r.get(0))
        .optional()?)
}

/// The buyer's last message in each of `chat_ids`, for the inbox list.
pub fn last_buyer_messages(
    conn: &Connection,
    chat_ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>> {
    let mut out = std::collections::HashMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT text FROM messages WHERE chat_id = ?1 AND author = 'buyer'
         ORDER BY created_at DESC, id DESC LIMIT 1",
    )?;
    for id in chat_ids {
        if out.contains_key(id) {
            continue;
        }
        if let Some(text) = stmt.query_row([id], |r| r.get(0)).optional()? {
            out.insert(*id, text);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn world(store: &Store) {
        store
            .call_blocking(|c| {
                c.execute_batch(
                    "INSERT INTO chats (id, shop, marketplace, external_id, created_at) VALUES (1, 's', 'wb', 'c1', 1);
                     INSERT INTO messages (id, chat_id, external_id, author, text, created_at, stored_at) VALUES
                        (1, 1, 'm1', 'buyer', 'где заказ?', 1, 1), (2, 1, 'm2', 'buyer', 'ау', 2, 2),
                        (3, 1, 'm3', 'buyer', 'ну?', 3, 3);",
                )?;
                Ok(())
            })
            .unwrap();
    }

    fn draft(store: &Store, id: i64, turn: i64, state: &str, superseded: Option<i64>) {
        store
            .call_blocking(|c| {
                c.execute(
                    "INSERT INTO drafts (id, chat_id, turn_message_id, state, intent, confidence, classification,
                        text, drafter, decision, effect, priority, created_at, updated_at, findings, superseded_at)
                     VALUES (?1, 1, ?2, ?3, 'other', 0.5, '{}', 'черновик', 't', '{}', 'queue', 1, 1, 1, '[]', ?4)",
                    params![id, turn, state, superseded],
                )?;
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn typed_text_moves_to_the_draft_that_supersedes_its_own_and_stops_at_a_decision() {
        let store = Store::open_in_memory().unwrap();
        world(&store);
        draft(&store, 10, 1, "expired", Some(5));
        draft(&store, 11, 2, "pending", None);
        assert!(
            store
                .call_blocking(|c| save_working_text(c, 10, "Здравствуйте, ", "web:Оля", 6))
                .unwrap()
        );
        let carried = store
            .call_blocking(|c| working_text_for(c, 11))
            .unwrap()
            .unwrap();
        assert_eq!(
            (carried.text.as_str(), carried.draft_id),
            ("Здравствуйте, ", 10)
        );
        assert_eq!(
            store.call_blocking(|c| successor_draft(c, 10)).unwrap(),
            Some(11)
        );
        assert_eq!(
            store
                .call_blocking(|c| last_buyer_messages(c, &[1]))
                .unwrap()[&1],
            "ну?"
        );

        // A person decides on the draft that carried the text: the next one starts clean.
        store
            .call_blocking(|c| {
                let change = crate::store::Change {
                    actor: "web:Оля",
                    note: Some("ответим сами"),
                    at: 8,
                };
                crate::store::transition(
                    c,
                    11,
                    &[DraftState::Pending],
                    DraftState::Rejected,
                    &change,
                )
                .map_err(StoreError::from)?;
                Ok(())
            })
            .unwrap();
        draft(&store, 12, 3, "pending", None);
        assert_eq!(
            store.call_blocking(|c| working_text_for(c, 12)).unwrap(),
            None
        );
        assert!(
            !store
                .call_blocking(|c| save_working_text(c, 99, "x", "a", 7))
                .unwrap()
        );
    }
}
