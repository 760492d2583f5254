use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use serde::Serialize;

use super::{Result, StoreError};
use crate::domain::{
    Author, ChatMark, KnownChats, Marketplace, Millis, OrderContext, ThreadFacts, ThreadKind,
};

#[derive(Debug, Clone, Serialize)]
pub struct ChatRow {
    pub id: i64,
    pub shop: String,
    pub marketplace: Marketplace,
    pub external_id: String,
    pub reply_handle: Option<String>,
    pub buyer_name: Option<String>,
    pub order: OrderContext,
    pub takeover_until: Option<Millis>,
    pub kind: ThreadKind,
    /// Reviews and questions: rating, product and what the buyer wrote.
    pub thread: Option<ThreadFacts>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MessageRow {
    pub id: i64,
    pub external_id: String,
    pub author: Author,
    pub via_api: bool,
    pub channel: Option<String>,
    pub text: String,
    pub created_at: Millis,
    pub draft_id: Option<i64>,
    /// When the buyer read it, where the marketplace reports reads.
    pub read_at: Option<Millis>,
}

/// A buyer turn due for drafting: the buyer's messages since the seller last
/// wrote, with the conversation before them.
#[derive(Debug, Clone)]
pub struct Turn {
    pub chat: ChatRow,
    /// Messages before the turn, oldest first.
    pub history: Vec<MessageRow>,
    /// The turn's buyer messages, oldest first; never empty.
    pub messages: Vec<MessageRow>,
    /// The buyer's first message in this chat starts the turn.
    pub first_contact: bool,
}

impl Turn {
    pub fn last_message_id(&self) -> i64 {
        self.messages.last().map(|m| m.id).unwrap_or_default()
    }

    /// The turn's text, one message per line.
    pub fn text(&self) -> String {
        self.messages
            .iter()
            .map(|m| m.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

pub(super) const CHAT_COLUMNS: &str = "c.id, c.shop, c.marketplace, c.external_id, c.reply_handle, c.buyer_name, c.order_json, c.takeover_until, c.kind,
    (SELECT json_object('rating', f.rating,
                        'has_text', json(CASE WHEN f.text || f.pros || f.cons <> '' THEN 'true' ELSE 'false' END),
                        'has_photos', json(CASE WHEN f.has_photos THEN 'true' ELSE 'false' END),
                        'product', json_object('id', f.product_id, 'name', f.product_name))
     FROM feedback f WHERE f.chat_id = c.id)";

pub(super) fn chat_from_row(row: &Row<'_>, offset: usize) -> rusqlite::Result<ChatRow> {
    let marketplace: String = row.get(offset + 2)?;
    let order_json: Option<String> = row.get(offset + 6)?;
    Ok(ChatRow {
        id: row.get(offset)?,
        shop: row.get(offset + 1)?,
        marketplace: marketplace.parse().map_err(|e: String| {
            rusqlite::Error::FromSqlConversionFailure(
                offset + 2,
                rusqlite::types::Type::Text,
                e.into(),
            )
        })?,
        external_id: row.get(offset + 3)?,
        reply_handle: row.get(offset + 4)?,
        buyer_name: row.get(offset + 5)?,
        order: order_json
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default(),
        takeover_until: row.get(offset + 7)?,
        kind: {
            let kind: String = row.get(offset + 8)?;
            kind.parse().map_err(|e: String| {
                rusqlite::Error::FromSqlConversionFailure(
                    offset + 8,
                    rusqlite::types::Type::Text,
                    e.into(),
                )
            })?
        },
        thread: {
            let json: Option<String> = row.get(offset + 9)?;
            match json {
                None => None,
                Some(j) => Some(serde_json::from_str(&j).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        offset + 9,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })?),
            }
        },
    })
}

const MESSAGE_COLUMNS: &str =
    "id, external_id, author, via_api, channel, text, created_at, draft_id, read_at";

fn message_from_row(row: &Row<'_>) -> rusqlite::Result<MessageRow> {
    let author: String = row.get(2)?;
    Ok(MessageRow {
        id: row.get(0)?,
        external_id: row.get(1)?,
        author: Author::parse(&author).unwrap_or(Author::System),
        via_api: row.get(3)?,
        channel: row.get(4)?,
        text: row.get(5)?,
        created_at: row.get(6)?,
        draft_id: row.get(7)?,
        read_at: row.get(8)?,
    })
}

pub fn chat_by_id(conn: &Connection, chat_id: i64) -> Result<Option<ChatRow>> {
    let sql = format!("SELECT {CHAT_COLUMNS} FROM chats c WHERE c.id = ?1");
    Ok(conn
        .query_row(&sql, [chat_id], |r| chat_from_row(r, 0))
        .optional()?)
}

/// The whole stored history of a chat, oldest first.
pub fn chat_messages(conn: &Connection, chat_id: i64) -> Result<Vec<MessageRow>> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE chat_id = ?1 ORDER BY created_at, id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([chat_id], message_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Claim up to `limit` chats whose buyer turn is due. A claim lasts `lease_ms`;
/// if the worker dies, the turn becomes due again when the lease runs out.
pub fn claim_due_turns(
    conn: &mut Connection,
    now: Millis,
    lease_ms: i64,
    limit: usize,
    history_len: usize,
) -> Result<Vec<Turn>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let ids: Vec<i64> = {
        let mut stmt = tx.prepare_cached(
            "SELECT id FROM chats WHERE turn_due_at <= ?1 ORDER BY turn_due_at LIMIT ?2",
        )?;
        stmt.query_map(params![now, limit as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    let mut turns = Vec::with_capacity(ids.len());
    for id in ids {
        let chat = chat_by_id(&tx, id)?
            .ok_or_else(|| StoreError::Corrupt(format!("chat {id} vanished")))?;
        let all = chat_messages(&tx, id)?;
        let split = all
            .iter()
            .rposition(|m| m.author == Author::Seller)
            .map(|i| i + 1)
            .unwrap_or(0);
        let (before, after) = all.split_at(split);
        let messages: Vec<MessageRow> = after
            .iter()
            .filter(|m| m.author == Author::Buyer)
            .cloned()
            .collect();
        if messages.is_empty() {
            tx.prepare_cached("UPDATE chats SET turn_due_at = NULL WHERE id = ?1")?
                .execute([id])?;
            continue;
        }
        tx.prepare_cached("UPDATE chats SET turn_due_at = ?2 WHERE id = ?1")?
            .execute(params![id, now + lease_ms])?;
        let first_contact = !before.iter().any(|m| m.author == Author::Buyer);
        let history_start = before.len().saturating_sub(history_len);
        turns.push(Turn {
            chat,
            history: before[history_start..].to_vec(),
            messages,
            first_contact,
        });
    }
    tx.commit()?;
    Ok(turns)
}

/// Give back claims on turns that were never started: due again at `now`.
pub fn release_claims(conn: &mut Connection, chat_ids: &[i64], now: Millis) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut stmt = tx.prepare_cached(
            "UPDATE chats SET turn_due_at = ?2 WHERE id = ?1 AND turn_due_at > ?2",
        )?;
        for id in chat_ids {
            stmt.execute(params![id, now])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// When the next buyer turn (or expired claim) becomes due, if any.
pub fn next_turn_due(conn: &mut Connection) -> Result<Option<Millis>> {
    Ok(conn
        .prepare_cached("SELECT MIN(turn_due_at) FROM chats WHERE turn_due_at IS NOT NULL")?
        .query_row([], |r| r.get(0))?)
}

/// The buyer messages a draft answered: those after the seller last wrote, up
/// to and including `turn_message_id`.
pub fn turn_messages(
    conn: &Connection,
    chat_id: i64,
    turn_message_id: i64,
) -> Result<Vec<MessageRow>> {
    let all = chat_messages(conn, chat_id)?;
    let end = all
        .iter()
        .position(|m| m.id == turn_message_id)
        .map(|i| i + 1)
        .unwrap_or(all.len());
    let upto = &all[..end];
    let start = upto
        .iter()
        .rposition(|m| m.author == Author::Seller)
        .map(|i| i + 1)
        .unwrap_or(0);
    Ok(upto[start..]
        .iter()
        .filter(|m| m.author == Author::Buyer)
        .cloned()
        .collect())
}

/// What the store knows of each chat of a shop on a marketplace, for
/// connectors that read chat by chat.
pub fn known_chats(
    conn: &Connection,
    shop: &str,
    marketplace: Marketplace,
    now: Millis,
) -> Result<KnownChats> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.external_id, c.sync_marker,
                (SELECT m.external_id FROM messages m WHERE m.chat_id = c.id ORDER BY m.created_at DESC, m.id DESC LIMIT 1),
                EXISTS (SELECT 1 FROM messages m WHERE m.chat_id = c.id AND m.author = 'seller'
                                                AND m.draft_id IS NOT NULL AND m.read_at IS NULL AND m.created_at > ?3),
                EXISTS (SELECT 1 FROM drafts d WHERE d.chat_id = c.id AND d.state IN ('sending', 'unknown'))
         FROM chats c WHERE c.shop = ?1 AND c.marketplace = ?2 AND c.kind = 'chat'",
    )?;
    let rows = stmt.query_map(
        params![shop, marketplace.code(), now - 24 * 3600 * 1000],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                ChatMark {
                    marker: r.get(1)?,
                    last_message_id: r.get(2)?,
                    awaiting_read: r.get(3)?,
                    unsettled_send: r.get(4)?,
                },
            ))
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{InboundBatch, InboundMessage, Marketplace};
    use crate::store::{IngestSettings, Store, ingest_batch};

    const LEASE: i64 = 300_000;

    fn store_with_turns(chats: usize, at: Millis) -> Store {
        let store = Store::open_in_memory().unwrap();
        let batch = InboundBatch {
            messages: (0..chats)
                .map(|i| InboundMessage {
                    chat_id: format!("c{i}"),
                    id: format!("m{i}"),
                    author: Author::Buyer,
                    via_api: false,
                    channel: None,
                    text: "Здравствуйте, когда отправите?".into(),
                    attachments: serde_json::Value::Null,
                    created_at: at,
                    read_at: None,
                })
                .collect(),
            ..Default::default()
        };
        let settings = IngestSettings::AT_ONCE;
        store
            .call_blocking(|c| {
                ingest_batch(
                    c,
                    "s",
                    Marketplace::Wildberries,
                    &batch,
                    &settings,
                    at,
                    None,
                )
            })
            .unwrap();
        store
    }

    #[test]
    fn a_claim_hides_turns_until_released() {
        let now = 1_000_000;
        let store = store_with_turns(3, now);
        let claimed = store
            .call_blocking(|c| claim_due_turns(c, now + 1, LEASE, 10, 5))
            .unwrap();
        assert_eq!(claimed.len(), 3);
        let again = store
            .call_blocking(|c| claim_due_turns(c, now + 2, LEASE, 10, 5))
            .unwrap();
        assert!(again.is_empty(), "claimed turns are leased");

        let back: Vec<i64> = claimed[..2].iter().map(|t| t.chat.id).collect();
        store
            .call_blocking(|c| release_claims(c, &back, now + 3))
            .unwrap();
        let reclaimed = store
            .call_blocking(|c| claim_due_turns(c, now + 3, LEASE, 10, 5))
            .unwrap();
        let mut ids: Vec<i64> = reclaimed.iter().map(|t| t.chat.id).collect();
        ids.sort();
        assert_eq!(ids, back, "only the released turns are due again");
        assert_eq!(
            store.call_blocking(next_turn_due).unwrap(),
            Some(now + 1 + LEASE),
            "the rest stay leased"
        );
    }
}
