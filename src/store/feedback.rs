//! Reviews and product questions: stored as threads beside chats, with their
//! rating, product and published answer, and a cursor per shop, marketplace
//! and kind. What arrives goes through the same `ingest` as chat messages, so
//! a review's answer written in the seller portal cancels our draft and the
//! marketplace showing our answer confirms our send.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::Result;
use super::ingest::{IngestReport, IngestSettings, apply_chat_update, ingest_tx, upsert_chat};
use crate::domain::{
    ANSWER_MESSAGE_ID, Author, ChatUpdate, FeedbackBatch, FeedbackItem, InboundBatch,
    InboundMessage, Marketplace, Millis, OrderContext, ThreadKind,
};

/// Store what a feedback connector read: a list page (`cursor` and, once the
/// list is read to its end, `synced_at`) or threads read back by id. The
/// threads, their answers and the cursor are written in one transaction.
///
/// `read_started_at` is when the request that returned `batch` began: a
/// thread without an answer is proof of absence only from that moment (a
/// send that began earlier may land before the read is answered), so it is
/// what `checked_at` records. A read that began before the thread's last
/// stored read changes nothing in its details.
#[allow(clippy::too_many_arguments)]
pub fn ingest_feedback(
    conn: &mut Connection,
    shop: &str,
    marketplace: Marketplace,
    kind: ThreadKind,
    batch: &FeedbackBatch,
    settings: &IngestSettings,
    now: Millis,
    read_started_at: Millis,
    synced_at: Option<Millis>,
) -> Result<IngestReport> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut inbound = InboundBatch::default();
    for item in &batch.items {
        let key = item.kind.thread_key(&item.id);
        let chat_id = upsert_chat(&tx, shop, marketplace, &key, now)?;
        tx.prepare_cached("UPDATE chats SET kind = ?2 WHERE id = ?1 AND kind <> ?2")?
            .execute(params![chat_id, item.kind.as_str()])?;
        apply_chat_update(
            &tx,
            chat_id,
            &ChatUpdate {
                chat_id: key.clone(),
                buyer_name: item.buyer_name.clone(),
                order: (item.product.id.is_some() || item.product.name.is_some()).then(|| {
                    OrderContext {
                        product_id: item.product.id.clone(),
                        product_name: item.product.name.clone(),
                        ..OrderContext::default()
                    }
                }),
                ..ChatUpdate::default()
            },
        )?;
        upsert_details(&tx, chat_id, item, read_started_at)?;
        inbound.messages.extend(messages_of(item, &key, now));
    }
    let mut report = IngestReport::default();
    ingest_tx(&tx, shop, marketplace, &inbound, settings, now, &mut report)?;
    if batch.cursor.is_some() || synced_at.is_some() {
        tx.prepare_cached(
            "INSERT INTO feedback_sync (shop, marketplace, kind, cursor, synced_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (shop, marketplace, kind) DO UPDATE SET
                cursor = COALESCE(excluded.cursor, cursor),
                synced_at = COALESCE(excluded.synced_at, synced_at)",
        )?
        .execute(params![
            shop,
            marketplace.code(),
            kind.as_str(),
            batch.cursor,
            synced_at
        ])?;
    }
    tx.commit()?;
    Ok(report)
}

fn upsert_details(
    tx: &rusqlite::Transaction<'_>,
    chat_id: i64,
    item: &FeedbackItem,
    read_started_at: Millis,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO feedback (chat_id, rating, text, pros, cons, has_photos, product_id, product_name,
                               created_at, answer_text, answer_editable, checked_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (chat_id) DO UPDATE SET
            rating = excluded.rating, text = excluded.text, pros = excluded.pros, cons = excluded.cons,
            has_photos = excluded.has_photos,
            product_id = COALESCE(excluded.product_id, product_id),
            product_name = COALESCE(excluded.product_name, product_name),
            answer_text = excluded.answer_text, answer_editable = excluded.answer_editable,
            checked_at = excluded.checked_at
         WHERE feedback.checked_at IS NULL OR excluded.checked_at >= feedback.checked_at",
    )?
    .execute(params![
        chat_id,
        item.rating,
        item.text,
        item.pros,
        item.cons,
        item.has_photos,
        item.product.id,
        item.product.name,
        item.created_at,
        item.answer.as_ref().map(|a| a.text.as_str()),
        item.answer.as_ref().map(|a| a.editable),
        read_started_at,
    ])?;
    Ok(())
}

/// The buyer's review or question as one buyer message, and the published
/// answer, if any, as the seller's. Marketplaces do not say whether an answer
/// came through the API, so every answer counts as one (`via_api`): it is
/// matched against our sends by its text, and any other is a person's.
fn messages_of(item: &FeedbackItem, key: &str, now: Millis) -> Vec<InboundMessage> {
    let mut out = vec![InboundMessage {
        chat_id: key.to_string(),
        id: item.id.clone(),
        author: Author::Buyer,
        via_api: false,
        channel: Some(item.kind.as_str().to_string()),
        text: item.buyer_text(),
        attachments: serde_json::Value::Null,
        created_at: item.created_at,
        read_at: None,
    }];
    if let Some(answer) = &item.answer {
        out.push(InboundMessage {
            chat_id: key.to_string(),
            id: answer
                .id
                .clone()
                .unwrap_or_else(|| ANSWER_MESSAGE_ID.to_string()),
            author: Author::Seller,
            via_api: true,
            channel: None,
            text: answer.text.clone(),
            attachments: serde_json::Value::Null,
            // Never before the review itself, even when the marketplace gives no time.
            created_at: answer.created_at.unwrap_or(now).max(item.created_at + 1),
            read_at: None,
        });
    }
    out
}

/// Where polling of one kind continues.
pub fn feedback_cursor(
    conn: &Connection,
    shop: &str,
    marketplace: Marketplace,
    kind: ThreadKind,
) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT cursor FROM feedback_sync WHERE shop = ?1 AND marketplace = ?2 AND kind = ?3",
        )?
        .query_row(params![shop, marketplace.code(), kind.as_str()], |r| {
            r.get(0)
        })
        .optional()?
        .flatten())
}

/// Reviews and questions worth reading back by id: those with a send of
/// unknown outcome (always first), then those with a draft still open that
/// were not read for `recheck_ms` (answered in the seller portal?), least
/// recently read first.
pub fn feedback_to_check(
    conn: &Connection,
    shop: &str,
    marketplace: Marketplace,
    now: Millis,
    recheck_ms: i64,
    limit: usize,
) -> Result<Vec<(ThreadKind, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, external_id FROM (
            SELECT c.kind, c.external_id, f.checked_at,
                   EXISTS (SELECT 1 FROM drafts d WHERE d.chat_id = c.id
                           AND d.state IN ('unknown', 'sending')) AS unsettled
            FROM chats c JOIN feedback f ON f.chat_id = c.id
            WHERE c.shop = ?1 AND c.marketplace = ?2 AND c.kind <> 'chat'
              AND EXISTS (SELECT 1 FROM drafts d WHERE d.chat_id = c.id
                          AND d.state IN ('pending', 'scheduled', 'sending', 'unknown')))
         WHERE unsettled OR COALESCE(checked_at, 0) <= ?3
         ORDER BY unsettled DESC, COALESCE(checked_at, 0)
         LIMIT ?4",
    )?;
    let rows = stmt.query_map(
        params![shop, marketplace.code(), now - recheck_ms, limit as i64],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, key) = row?;
        if let Ok(kind) = kind.parse::<ThreadKind>() {
            out.push((kind, kind.external_id(&key).to_string()));
        }
    }
    Ok(out)
}

/// The answers that went (or are on their way) to reviews of one product
/// since `since`: what the sameness guard compares a new answer with.
pub fn recent_review_answers(
    conn: &Connection,
    shop: &str,
    product_id: &str,
    since: Millis,
) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT COALESCE(d.final_text, d.text) FROM drafts d
         JOIN chats c ON c.id = d.chat_id JOIN feedback f ON f.chat_id = c.id
         WHERE c.shop = ?1 AND f.product_id = ?2 AND c.kind = 'review'
           AND d.state IN ('scheduled', 'sending', 'unknown', 'sent')
           AND COALESCE(d.sent_at, d.updated_at) >= ?3",
    )?;
    let rows = stmt.query_map(params![shop, product_id, since], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ProductRef, PublishedAnswer};
    use crate::store::Store;

    fn review(answer: Option<&str>) -> FeedbackBatch {
        FeedbackBatch {
            items: vec![FeedbackItem {
                kind: ThreadKind::Review,
                id: "r1".into(),
                rating: Some(2),
                text: "Порвалось через неделю".into(),
                pros: String::new(),
                cons: String::new(),
                has_photos: false,
                product: ProductRef::default(),
                buyer_name: None,
                created_at: 100,
                answer: answer.map(|t| PublishedAnswer {
                    id: None,
                    text: t.into(),
                    created_at: None,
                    editable: true,
                }),
            }],
            ..FeedbackBatch::default()
        }
    }

    fn store(s: &Store, batch: FeedbackBatch, started: Millis, stored: Millis) {
        let settings = IngestSettings::AT_ONCE;
        s.call_blocking(move |c| {
            ingest_feedback(
                c,
                "shop",
                Marketplace::Wildberries,
                ThreadKind::Review,
                &batch,
                &settings,
                stored,
                started,
                None,
            )
        })
        .unwrap();
    }

    fn details(s: &Store) -> (Option<String>, Option<Millis>) {
        s.call_blocking(|c| {
            Ok(
                c.query_row("SELECT answer_text, checked_at FROM feedback", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?,
            )
        })
        .unwrap()
    }

    #[test]
    fn a_thread_is_checked_from_when_its_read_began_not_when_it_was_stored() {
        let s = Store::open_in_memory().unwrap();
        // A slow read: begun at 1 000, answered and stored at 9 000. A send
        // that began at 5 000 may have landed after the marketplace answered
        // it, so the read proves nothing about that send.
        store(&s, review(None), 1_000, 9_000);
        assert_eq!(details(&s), (None, Some(1_000)));
    }

    #[test]
    fn a_read_that_began_before_the_last_one_does_not_undo_what_it_found() {
        let s = Store::open_in_memory().unwrap();
        store(&s, review(Some("Спасибо за отзыв")), 3_000, 3_100);
        // An older read, without the answer, stored later.
        store(&s, review(None), 2_000, 3_200);
        assert_eq!(
            details(&s),
            (Some("Спасибо за отзыв".to_string()), Some(3_000))
        );
        // A newer read is taken in full.
        store(&s, review(None), 4_000, 4_100);
        assert_eq!(details(&s), (None, Some(4_000)));
    }
}
