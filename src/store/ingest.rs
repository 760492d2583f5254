//! Storing what a connector found, in one transaction with the cursor, so a
//! restart neither loses nor repeats a message. This is also where a new
//! message's meaning for open drafts is decided: a buyer writing again makes
//! them stale, a human answering elsewhere cancels them, and the marketplace's
//! echo of our own send confirms it.

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::Result;
use super::drafts::{DraftState, transition_tx, unless_moved};
use crate::domain::{
    Author, ChatUpdate, InboundBatch, InboundMessage, Marketplace, Millis, OrderContext,
};

#[derive(Debug, Clone, Copy)]
pub struct IngestSettings {
    pub debounce_ms: i64,
    pub max_turn_age_ms: i64,
    pub takeover_ms: i64,
    /// How far the marketplace's clock may be from ours when matching echoes.
    pub clock_skew_ms: i64,
}

#[cfg(test)]
impl IngestSettings {
    /// For tests: turns due at once, however old; no takeover, no skew.
    pub(crate) const AT_ONCE: IngestSettings = IngestSettings {
        debounce_ms: 0,
        max_turn_age_ms: i64::MAX / 4,
        takeover_ms: 0,
        clock_skew_ms: 0,
    };
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    pub stored: usize,
    pub duplicates: usize,
    pub buyer_messages: usize,
    /// Our own sends seen in the chat history.
    pub echoes: usize,
    /// Seller messages that were not ours: a human in the marketplace's UI or another tool.
    pub human_replies: usize,
    /// Drafts withdrawn because of what arrived: id, new state, why.
    pub withdrawn_drafts: Vec<(i64, DraftState, String)>,
    /// Drafts confirmed as delivered by their echo.
    pub confirmed_drafts: Vec<i64>,
    /// Chats in this batch we cannot reply to yet (no reply handle known).
    pub chats_without_handle: usize,
    /// Chats a person answered outside AgentIQ, with the newest message id.
    pub taken_over: Vec<(String, String)>,
    /// A complete read finished while sends of this shop await reconciliation
    /// against it.
    pub unsettled_sends: bool,
}

const ACTOR: &str = "daemon:ingest";

/// Store a batch. `synced_at` is set when this batch completes a full read of
/// everything the marketplace had when the poll started.
pub fn ingest_batch(
    conn: &mut Connection,
    shop: &str,
    marketplace: Marketplace,
    batch: &InboundBatch,
    settings: &IngestSettings,
    now: Millis,
    synced_at: Option<Millis>,
) -> Result<IngestReport> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut report = IngestReport::default();
    ingest_tx(&tx, shop, marketplace, batch, settings, now, &mut report)?;
    if batch.cursor.is_some() || synced_at.is_some() {
        tx.prepare_cached(
            "INSERT INTO sync_state (shop, marketplace, cursor, synced_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (shop, marketplace) DO UPDATE SET
                cursor = COALESCE(excluded.cursor, cursor),
                synced_at = COALESCE(excluded.synced_at, synced_at)",
        )?
        .execute(params![shop, marketplace.code(), batch.cursor, synced_at])?;
    }
    if synced_at.is_some() {
        report.unsettled_sends = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM drafts d JOIN chats c ON c.id = d.chat_id
                 WHERE d.state = 'unknown' AND c.shop = ?1 AND c.marketplace = ?2 AND c.kind = 'chat')",
            )?
            .query_row(params![shop, marketplace.code()], |r| r.get(0))?;
    }
    tx.commit()?;
    Ok(report)
}

/// Store a batch's chats and messages inside a caller's transaction.
pub(super) fn ingest_tx(
    tx: &Transaction<'_>,
    shop: &str,
    marketplace: Marketplace,
    batch: &InboundBatch,
    settings: &IngestSettings,
    now: Millis,
    report: &mut IngestReport,
) -> Result<()> {
    for update in &batch.chats {
        let chat_id = upsert_chat(tx, shop, marketplace, &update.chat_id, now)?;
        apply_chat_update(tx, chat_id, update)?;
    }
    let mut messages: Vec<&InboundMessage> = batch.messages.iter().collect();
    messages.sort_by_key(|m| m.created_at);
    let mut touched = std::collections::HashSet::new();
    for msg in messages {
        let chat_id = upsert_chat(tx, shop, marketplace, &msg.chat_id, now)?;
        touched.insert(chat_id);
        let Some(message_id) = insert_message(tx, chat_id, msg, now)? else {
            report.duplicates += 1;
            if let Some(read_at) = msg.read_at {
                tx.prepare_cached("UPDATE messages SET read_at = ?3 WHERE chat_id = ?1 AND external_id = ?2 AND read_at IS NULL")?
                    .execute(params![chat_id, msg.id, read_at])?;
            }
            continue;
        };
        report.stored += 1;
        match msg.author {
            Author::Buyer => {
                report.buyer_messages += 1;
                on_buyer_message(tx, chat_id, msg, settings, now, report)?;
            }
            Author::Seller => {
                if let Some(draft_id) = match_echo(tx, chat_id, msg, settings)? {
                    on_echo(tx, draft_id, message_id, msg, now, report)?;
                } else {
                    report.human_replies += 1;
                    report
                        .taken_over
                        .push((msg.chat_id.clone(), msg.id.clone()));
                    on_human_reply(tx, chat_id, msg, settings, now, report)?;
                }
            }
            Author::System => {}
        }
    }
    for external_id in &batch.unverified {
        give_unverifiable_sends_to_a_person(tx, shop, marketplace, external_id, now, report)?;
    }
    for chat_id in touched {
        let handle: Option<String> = tx.query_row(
            "SELECT reply_handle FROM chats WHERE id = ?1",
            [chat_id],
            |r| r.get(0),
        )?;
        if handle.is_none() {
            report.chats_without_handle += 1;
        }
    }
    Ok(())
}

/// What a person is told when a send's outcome cannot be settled.
pub const UNVERIFIABLE_SEND: &str = "не удалось проверить, дошёл ли ответ: площадка отдаёт историю этого чата не до конца. Посмотрите чат в кабинете площадки: если ответа там нет, отправьте его снова, если есть — отклоните черновик";

/// Unknown sends in a chat whose history cannot be read to its end are never
/// proven absent (that would send them again blindly): they fail, with the
/// reason, and wait for a person. Echoes in this batch were matched first.
fn give_unverifiable_sends_to_a_person(
    tx: &Transaction<'_>,
    shop: &str,
    marketplace: Marketplace,
    external_id: &str,
    now: Millis,
    report: &mut IngestReport,
) -> Result<()> {
    let ids: Vec<i64> = tx
        .prepare_cached(
            "SELECT d.id FROM drafts d JOIN chats c ON c.id = d.chat_id
             WHERE c.shop = ?1 AND c.marketplace = ?2 AND c.external_id = ?3 AND c.kind = 'chat'
               AND d.state = 'unknown' ORDER BY d.id",
        )?
        .query_map(params![shop, marketplace.code(), external_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in ids {
        let to = (DraftState::Unknown, DraftState::Failed);
        withdraw(
            tx,
            id,
            to,
            "daemon:reconcile",
            UNVERIFIABLE_SEND,
            now,
            report,
        )?;
    }
    Ok(())
}

/// Move a draft `from` → `to` because of what arrived, and report it; a
/// draft that moved meanwhile is left as it is. `true` when it moved now.
fn withdraw(
    tx: &Transaction<'_>,
    id: i64,
    (from, to): (DraftState, DraftState),
    actor: &str,
    why: &str,
    now: Millis,
    report: &mut IngestReport,
) -> Result<bool> {
    let moved = unless_moved(transition_tx(tx, id, &[from], to, actor, Some(why), now))?.is_some();
    if moved {
        report.withdrawn_drafts.push((id, to, why.to_string()));
    }
    Ok(moved)
}

pub(super) fn upsert_chat(
    tx: &Transaction<'_>,
    shop: &str,
    marketplace: Marketplace,
    external_id: &str,
    now: Millis,
) -> Result<i64> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO chats (shop, marketplace, external_id, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (shop, marketplace, external_id) DO UPDATE SET shop = excluded.shop
         RETURNING id",
    )?;
    Ok(
        stmt.query_row(params![shop, marketplace.code(), external_id, now], |r| {
            r.get(0)
        })?,
    )
}

pub(super) fn apply_chat_update(
    tx: &Transaction<'_>,
    chat_id: i64,
    update: &ChatUpdate,
) -> Result<()> {
    tx.execute(
        "UPDATE chats SET reply_handle = COALESCE(?2, reply_handle),
                          buyer_name = COALESCE(?3, buyer_name),
                          sync_marker = COALESCE(?4, sync_marker)
         WHERE id = ?1",
        params![
            chat_id,
            update.reply_handle,
            update.buyer_name,
            update.marker
        ],
    )?;
    if let Some(order) = &update.order {
        let current: Option<String> = tx.query_row(
            "SELECT order_json FROM chats WHERE id = ?1",
            [chat_id],
            |r| r.get(0),
        )?;
        let mut merged: OrderContext = current
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default();
        merged.merge(order.clone());
        tx.execute(
            "UPDATE chats SET order_json = ?2 WHERE id = ?1",
            params![chat_id, serde_json::to_string(&merged).unwrap_or_default()],
        )?;
    }
    Ok(())
}

fn insert_message(
    tx: &Transaction<'_>,
    chat_id: i64,
    msg: &InboundMessage,
    now: Millis,
) -> Result<Option<i64>> {
    let attachments = (!msg.attachments.is_null()).then(|| msg.attachments.to_string());
    let mut stmt = tx.prepare_cached(
        "INSERT INTO messages (chat_id, external_id, author, via_api, channel, text, attachments, created_at, stored_at, read_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (chat_id, external_id) DO NOTHING
         RETURNING id",
    )?;
    let id = stmt
        .query_row(
            params![
                chat_id,
                msg.id,
                msg.author.as_str(),
                msg.via_api,
                msg.channel,
                msg.text,
                attachments,
                msg.created_at,
                now,
                msg.read_at
            ],
            |r| r.get(0),
        )
        .optional()?;
    if id.is_some() {
        tx.execute(
            "UPDATE chats SET last_message_at = MAX(COALESCE(last_message_at, 0), ?2) WHERE id = ?1",
            params![chat_id, msg.created_at],
        )?;
    }
    Ok(id)
}

fn on_buyer_message(
    tx: &Transaction<'_>,
    chat_id: i64,
    msg: &InboundMessage,
    settings: &IngestSettings,
    now: Millis,
    report: &mut IngestReport,
) -> Result<()> {
    if msg.created_at < now - settings.max_turn_age_ms {
        // History from before we were watching: kept, not answered.
        return Ok(());
    }
    let due = msg.created_at.min(now) + settings.debounce_ms;
    tx.execute(
        "UPDATE chats SET turn_due_at = ?2 WHERE id = ?1",
        params![chat_id, due],
    )?;
    for (draft_id, state) in crate::store::drafts::withdrawable(tx, chat_id, None)? {
        let (to, note) = match state {
            DraftState::Scheduled => (
                DraftState::Cancelled,
                "покупатель написал ещё раз; готовим новый черновик",
            ),
            _ => (
                DraftState::Expired,
                "устарел: покупатель написал ещё раз, будет новый черновик",
            ),
        };
        if withdraw(tx, draft_id, (state, to), ACTOR, note, now, report)? {
            tx.execute(
                "UPDATE drafts SET superseded_at = ?2 WHERE id = ?1",
                params![draft_id, now],
            )?;
        }
    }
    Ok(())
}

/// Is this seller message the marketplace's echo of a reply we sent (or may have sent)?
fn match_echo(
    tx: &Transaction<'_>,
    chat_id: i64,
    msg: &InboundMessage,
    settings: &IngestSettings,
) -> Result<Option<i64>> {
    // Marketplaces that return an id for a send (Avito) make the match exact.
    let by_id: Option<i64> = tx
        .prepare_cached("SELECT id FROM drafts WHERE chat_id = ?1 AND sent_message_id = ?2")?
        .query_row(params![chat_id, msg.id], |r| r.get(0))
        .optional()?;
    if by_id.is_some() {
        return Ok(by_id);
    }
    if !msg.via_api {
        return Ok(None);
    }
    let mut stmt = tx.prepare_cached(
        "SELECT id FROM drafts
         WHERE chat_id = ?1 AND state IN ('sending', 'unknown', 'sent', 'scheduled', 'retracted')
           AND sent_message_id IS NULL AND final_text = ?2
           AND send_started_at IS NOT NULL AND send_started_at - ?3 <= ?4
         ORDER BY send_started_at LIMIT 1",
    )?;
    Ok(stmt
        .query_row(
            params![
                chat_id,
                msg.text.trim(),
                settings.clock_skew_ms,
                msg.created_at
            ],
            |r| r.get(0),
        )
        .optional()?)
}

fn on_echo(
    tx: &Transaction<'_>,
    draft_id: i64,
    message_id: i64,
    msg: &InboundMessage,
    now: Millis,
    report: &mut IngestReport,
) -> Result<()> {
    report.echoes += 1;
    tx.execute(
        "UPDATE messages SET draft_id = ?2 WHERE id = ?1",
        params![message_id, draft_id],
    )?;
    tx.execute(
        "UPDATE drafts SET sent_message_id = ?2, sent_at = COALESCE(sent_at, ?3) WHERE id = ?1",
        params![draft_id, msg.id, msg.created_at],
    )?;
    let from = [
        DraftState::Sending,
        DraftState::Unknown,
        DraftState::Scheduled,
    ];
    let confirmed = transition_tx(
        tx,
        draft_id,
        &from,
        DraftState::Sent,
        ACTOR,
        Some("доставлен: ответ виден в истории чата"),
        now,
    );
    if unless_moved(confirmed)?.is_some() {
        report.confirmed_drafts.push(draft_id);
    }
    Ok(())
}

fn on_human_reply(
    tx: &Transaction<'_>,
    chat_id: i64,
    msg: &InboundMessage,
    settings: &IngestSettings,
    now: Millis,
    report: &mut IngestReport,
) -> Result<()> {
    let last_buyer_at: Option<Millis> = tx.query_row(
        "SELECT MAX(created_at) FROM messages WHERE chat_id = ?1 AND author = 'buyer'",
        [chat_id],
        |r| r.get(0),
    )?;
    if last_buyer_at.is_none_or(|t| t <= msg.created_at) {
        tx.execute(
            "UPDATE chats SET turn_due_at = NULL WHERE id = ?1",
            [chat_id],
        )?;
    }
    if msg.created_at >= now - settings.takeover_ms {
        tx.execute(
            "UPDATE chats SET takeover_until = MAX(COALESCE(takeover_until, 0), ?2) WHERE id = ?1",
            params![chat_id, msg.created_at + settings.takeover_ms],
        )?;
    }
    let who = match (msg.via_api, msg.channel.as_deref()) {
        (false, _) | (_, Some("seller-portal")) => {
            "на чат ответил человек в кабинете продавца на площадке"
        }
        (true, Some("seller-public-api")) => {
            "на чат ответили через API продавца из другой программы"
        }
        _ => "на чат ответил продавец вне AgentIQ (в кабинете площадки или другой программой)",
    };
    let answered: Vec<(i64, String)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT d.id, d.state FROM drafts d JOIN messages m ON m.id = d.turn_message_id
             WHERE d.chat_id = ?1 AND d.state IN ('pending', 'scheduled') AND m.created_at <= ?2",
        )?;
        stmt.query_map(params![chat_id, msg.created_at], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?
    };
    for (draft_id, state) in answered {
        let Ok(state) = state.parse::<DraftState>() else {
            continue;
        };
        withdraw(
            tx,
            draft_id,
            (state, DraftState::Cancelled),
            ACTOR,
            who,
            now,
            report,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::store::drafts::tests::{REFUSE_STATE_CHANGES, chat_with_drafts};

    #[test]
    fn a_draft_that_cannot_be_withdrawn_fails_the_batch_instead_of_committing_it() {
        let store = Store::open_in_memory().unwrap();
        store
            .call_blocking(|c| {
                chat_with_drafts(c, "a", Marketplace::Ozon, "c", &[("scheduled", true, 0)]);
                c.execute_batch(REFUSE_STATE_CHANGES)?;
                Ok(())
            })
            .unwrap();
        let batch = InboundBatch {
            messages: vec![InboundMessage {
                chat_id: "c".into(),
                id: "again".into(),
                author: Author::Buyer,
                via_api: false,
                channel: None,
                text: "Ответьте, пожалуйста".into(),
                attachments: serde_json::Value::Null,
                created_at: 10,
                read_at: None,
            }],
            cursor: Some("next".into()),
            ..Default::default()
        };
        let settings = IngestSettings::AT_ONCE;
        let stored = store.call_blocking(|c| {
            ingest_batch(c, "a", Marketplace::Ozon, &batch, &settings, 20, None)
        });
        assert!(stored.is_err(), "{stored:?}");
        let (messages, cursor) = store
            .call_blocking(|c| {
                let n: i64 = c.query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))?;
                Ok((
                    n,
                    super::super::sync_state(c, "a", Marketplace::Ozon)?.cursor,
                ))
            })
            .unwrap();
        assert_eq!(
            (messages, cursor),
            (1, None),
            "nothing of the batch is kept"
        );
    }

    #[test]
    fn a_buyer_writing_again_withdraws_a_scheduled_reply_unless_its_send_was_attempted() {
        let store = Store::open_in_memory().unwrap();
        let (attempted, untried) = store
            .call_blocking(|c| {
                let attempted =
                    chat_with_drafts(c, "a", Marketplace::Ozon, "tried", &[("scheduled", true, 0)]);
                let untried =
                    chat_with_drafts(c, "a", Marketplace::Ozon, "fresh", &[("scheduled", true, 0)]);
                // Sent, killed mid-send, found absent from the history, rescheduled.
                for (from, to) in [
                    ("scheduled", "sending"),
                    ("sending", "unknown"),
                    ("unknown", "scheduled"),
                ] {
                    c.execute(
                        "INSERT INTO draft_events (draft_id, at, actor, from_state, to_state) VALUES (?1, 1, 'daemon:sender', ?2, ?3)",
                        params![attempted[0], from, to],
                    )?;
                }
                Ok((attempted, untried))
            })
            .unwrap();
        let again = |chat: &str| InboundMessage {
            chat_id: chat.into(),
            id: format!("again-{chat}"),
            author: Author::Buyer,
            via_api: false,
            channel: None,
            text: "Ну что там?".into(),
            attachments: serde_json::Value::Null,
            created_at: 10,
            read_at: None,
        };
        let batch = InboundBatch {
            messages: vec![again("tried"), again("fresh")],
            ..Default::default()
        };
        let settings = IngestSettings::AT_ONCE;
        store
            .call_blocking(move |c| {
                ingest_batch(c, "a", Marketplace::Ozon, &batch, &settings, 20, None)
            })
            .unwrap();
        let state = |id: i64| {
            store
                .call_blocking(move |c| {
                    Ok(
                        c.query_row("SELECT state FROM drafts WHERE id = ?1", [id], |r| {
                            r.get::<_, String>(0)
                        })?,
                    )
                })
                .unwrap()
        };
        assert_eq!(state(attempted[0]), "scheduled", "its send goes on");
        assert_eq!(
            state(untried[0]),
            "cancelled",
            "never tried: a new draft follows"
        );
    }

    #[test]
    fn an_unknown_send_in_a_chat_that_cannot_be_read_to_its_end_waits_for_a_person() {
        let store = Store::open_in_memory().unwrap();
        let (stuck, other) = store
            .call_blocking(|c| {
                let stuck = chat_with_drafts(
                    c,
                    "a",
                    Marketplace::Ozon,
                    "stuck",
                    &[("unknown", true, 0), ("pending", false, 0)],
                );
                let other =
                    chat_with_drafts(c, "a", Marketplace::Ozon, "other", &[("unknown", true, 0)]);
                Ok((stuck, other))
            })
            .unwrap();
        let batch = InboundBatch {
            unverified: vec!["stuck".into()],
            ..Default::default()
        };
        let settings = IngestSettings::AT_ONCE;
        let report = store
            .call_blocking(move |c| {
                ingest_batch(c, "a", Marketplace::Ozon, &batch, &settings, 20, Some(20))
            })
            .unwrap();
        assert_eq!(
            report.withdrawn_drafts,
            [(stuck[0], DraftState::Failed, UNVERIFIABLE_SEND.to_string())]
        );
        let state = |id: i64| {
            store
                .call_blocking(move |c| {
                    Ok(c.query_row(
                        "SELECT state, state_reason FROM drafts WHERE id = ?1",
                        [id],
                        |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)),
                    )?)
                })
                .unwrap()
        };
        assert_eq!(
            state(stuck[0]),
            ("failed".into(), Some(UNVERIFIABLE_SEND.into())),
            "not proven absent, so not sent again: a person decides"
        );
        assert_eq!(state(stuck[1]).0, "pending", "only unknown sends");
        assert_eq!(
            state(other[0]).0,
            "unknown",
            "a chat read to its end settles as before"
        );
    }
}
