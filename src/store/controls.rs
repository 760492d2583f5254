//! The per-shop kill switch and the record of configuration reloads.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use super::Result;
use super::drafts::{DraftState, transition_tx, unless_moved};
use crate::domain::Millis;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ShopControl {
    pub shop: String,
    pub paused: bool,
    pub reason: Option<String>,
    pub changed_by: Option<String>,
    pub changed_at: Millis,
}

pub fn shop_control(conn: &Connection, shop: &str) -> Result<Option<ShopControl>> {
    Ok(conn
        .query_row(
            "SELECT shop, paused, reason, changed_by, changed_at FROM shop_controls WHERE shop = ?1",
            [shop],
            |r| {
                Ok(ShopControl {
                    shop: r.get(0)?,
                    paused: r.get(1)?,
                    reason: r.get(2)?,
                    changed_by: r.get(3)?,
                    changed_at: r.get(4)?,
                })
            },
        )
        .optional()?)
}

pub fn is_paused(conn: &Connection, shop: &str) -> Result<bool> {
    Ok(shop_control(conn, shop)?.is_some_and(|c| c.paused))
}

/// Stop all auto-sending for a shop at once. Drafts an `auto` decision
/// scheduled (nobody approved them) go back to waiting for a person.
/// Returns those drafts.
pub fn pause(
    conn: &mut Connection,
    shop: &str,
    reason: Option<&str>,
    actor: &str,
    now: Millis,
) -> Result<Vec<i64>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "INSERT INTO shop_controls (shop, paused, reason, changed_by, changed_at) VALUES (?1, 1, ?2, ?3, ?4)
         ON CONFLICT (shop) DO UPDATE SET paused = 1, reason = excluded.reason, changed_by = excluded.changed_by, changed_at = excluded.changed_at",
        params![shop, reason, actor, now],
    )?;
    let held: Vec<i64> = tx
        .prepare(
            "SELECT d.id FROM drafts d JOIN chats c ON c.id = d.chat_id
             WHERE c.shop = ?1 AND d.state = 'scheduled' AND d.effect = 'auto' AND d.approved_by IS NULL",
        )?
        .query_map([shop], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let note = "автоотправка для магазина приостановлена; ответ ждёт человека";
    for id in &held {
        unless_moved(transition_tx(
            &tx,
            *id,
            &[DraftState::Scheduled],
            DraftState::Pending,
            actor,
            Some(note),
            now,
        ))?;
    }
    tx.commit()?;
    Ok(held)
}

pub fn resume(conn: &Connection, shop: &str, actor: &str, now: Millis) -> Result<()> {
    conn.execute(
        "INSERT INTO shop_controls (shop, paused, reason, changed_by, changed_at) VALUES (?1, 0, NULL, ?2, ?3)
         ON CONFLICT (shop) DO UPDATE SET paused = 0, reason = NULL, changed_by = excluded.changed_by, changed_at = excluded.changed_at",
        params![shop, actor, now],
    )?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReloadStatus {
    pub shop: String,
    pub kind: String,
    pub ok: bool,
    pub detail: Option<String>,
    pub at: Millis,
}

pub fn set_reload_status(
    conn: &Connection,
    shop: &str,
    kind: &str,
    ok: bool,
    detail: Option<&str>,
    now: Millis,
) -> Result<()> {
    conn.execute(
        "INSERT INTO reload_status (shop, kind, ok, detail, at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (shop, kind) DO UPDATE SET ok = excluded.ok, detail = excluded.detail, at = excluded.at",
        params![shop, kind, ok, detail, now],
    )?;
    Ok(())
}

pub fn reload_statuses(conn: &Connection) -> Result<Vec<ReloadStatus>> {
    let mut stmt =
        conn.prepare("SELECT shop, kind, ok, detail, at FROM reload_status ORDER BY shop, kind")?;
    let rows = stmt.query_map([], |r| {
        Ok(ReloadStatus {
            shop: r.get(0)?,
            kind: r.get(1)?,
            ok: r.get(2)?,
            detail: r.get(3)?,
            at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Marketplace;
    use crate::store::Store;
    use crate::store::drafts::tests::{REFUSE_STATE_CHANGES, chat_with_drafts};

    #[test]
    fn pausing_fails_and_changes_nothing_when_a_draft_cannot_be_held() {
        let store = Store::open_in_memory().unwrap();
        store
            .call_blocking(|c| {
                chat_with_drafts(c, "a", Marketplace::Ozon, "c", &[("scheduled", false, 0)]);
                c.execute_batch(REFUSE_STATE_CHANGES)?;
                Ok(())
            })
            .unwrap();
        let paused = store.call_blocking(|c| pause(c, "a", None, "cli:alice", 1));
        assert!(paused.is_err(), "{paused:?}");
        assert!(!store.call_blocking(|c| is_paused(c, "a")).unwrap());
    }
}
