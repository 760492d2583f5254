//! Pruning the bulky parts of old drafts, a bounded batch at a time, and
//! copying the live database with SQLite's online backup API.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, params};

use super::{Result, StoreError};
use crate::domain::Millis;

/// States a draft does not leave on its own; only these are pruned.
const FINAL: &str = "('sent', 'rejected', 'expired', 'cancelled', 'retracted')";

/// What to prune: everything last changed before each cutoff.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cutoffs {
    pub prompts: Option<Millis>,
    pub decision_details: Option<Millis>,
    pub audit_notes: Option<Millis>,
}

/// Rows changed by one [`prune_batch`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub prompts: usize,
    pub decision_details: usize,
    pub audit_notes: usize,
}

impl Pruned {
    pub fn total(&self) -> usize {
        self.prompts + self.decision_details + self.audit_notes
    }
}

/// Prune at most `batch` rows of each kind, in one transaction.
pub fn prune_batch(conn: &mut Connection, cutoffs: Cutoffs, batch: usize) -> Result<Pruned> {
    let tx = conn.transaction()?;
    let mut out = Pruned::default();
    let limit = batch.max(1) as i64;
    if let Some(before) = cutoffs.prompts {
        out.prompts = tx
            .prepare_cached(&format!(
                "UPDATE drafts SET prompt = NULL WHERE id IN (
                     SELECT id FROM drafts INDEXED BY drafts_prompt_kept
                     WHERE prompt IS NOT NULL AND updated_at < ?1 AND state IN {FINAL}
                     LIMIT ?2)"
            ))?
            .execute(params![before, limit])?;
    }
    if let Some(before) = cutoffs.decision_details {
        // Keep the rules that matched (they explain the decision) and the
        // classifier's verdict; drop the trace of every rule that did not
        // match and the runner-up intents and evidence words.
        out.decision_details = tx
            .prepare_cached(&format!(
                "UPDATE drafts SET
                     decision = json_set(decision, '$.rules', (
                         SELECT json_group_array(json(value)) FROM json_each(decision, '$.rules')
                         WHERE json_extract(value, '$.matched'))),
                     classification = json_remove(classification, '$.top', '$.evidence'),
                     details_pruned_at = ?3
                 WHERE id IN (
                     SELECT id FROM drafts INDEXED BY drafts_details_kept
                     WHERE details_pruned_at IS NULL AND updated_at < ?1 AND state IN {FINAL}
                     LIMIT ?2)"
            ))?
            .execute(params![before, limit, crate::domain::now_ms()])?;
    }
    if let Some(before) = cutoffs.audit_notes {
        out.audit_notes = tx
            .prepare_cached(
                "UPDATE draft_events SET note = NULL WHERE id IN (
                     SELECT id FROM draft_events INDEXED BY draft_events_note_kept
                     WHERE note IS NOT NULL AND at < ?1 LIMIT ?2)",
            )?
            .execute(params![before, limit])?;
    }
    tx.commit()?;
    Ok(out)
}

/// What a backup copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupReport {
    pub pages: i64,
    pub bytes: u64,
}

/// Copy the database at `source` to `target` through SQLite's online backup
/// API while the daemon may be writing. The copy is one consistent snapshot
/// (all pages are copied in one step under one read transaction, which WAL
/// lets run beside the writer), written to `target` with a temporary name
/// and moved into place once `integrity_check` passes, as a single file
/// (rollback journal, no `-wal` beside it).
pub fn backup(source: &Path, target: &Path) -> Result<BackupReport> {
    use rusqlite::backup::{Backup, StepResult};
    if target.exists() {
        return Err(StoreError::Corrupt(format!(
            "`{}` already exists; choose a new file",
            target.display()
        )));
    }
    let src = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    src.busy_timeout(std::time::Duration::from_secs(10))?;
    let partial = {
        let mut name = target.as_os_str().to_owned();
        name.push(".partial");
        std::path::PathBuf::from(name)
    };
    // A leftover of an interrupted backup is ours to replace.
    if partial.exists() {
        std::fs::remove_file(&partial).map_err(|e| {
            StoreError::Corrupt(format!("cannot remove `{}`: {e}", partial.display()))
        })?;
    }
    let mut dst = Connection::open(&partial)?;
    {
        let copy = Backup::new(&src, &mut dst)?;
        loop {
            match copy.step(-1)? {
                StepResult::Done => break,
                StepResult::More => continue,
                StepResult::Busy | StepResult::Locked => {
                    std::thread::sleep(std::time::Duration::from_millis(50))
                }
                _ => std::thread::sleep(std::time::Duration::from_millis(50)),
            }
        }
    }
    dst.pragma_update(None, "journal_mode", "DELETE")?;
    let check: String = dst.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(StoreError::Corrupt(format!(
            "the copy failed its integrity check: {check}"
        )));
    }
    let pages: i64 = dst.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    drop(dst);
    std::fs::rename(&partial, target).map_err(|e| {
        StoreError::Corrupt(format!(
            "cannot move the copy to `{}`: {e}",
            target.display()
        ))
    })?;
    let bytes = std::fs::metadata(target).map(|m| m.len()).unwrap_or(0);
    Ok(BackupReport { pages, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn seed(c: &mut Connection, state: &str, updated_at: i64) -> i64 {
        c.execute(
            "INSERT OR IGNORE INTO chats (id, shop, marketplace, external_id, created_at) VALUES (1, 's', 'wb', 'c', 0)",
            [],
        )
        .unwrap();
        let n: i64 = c
            .query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))
            .unwrap();
        c.execute(
            "INSERT INTO messages (chat_id, external_id, author, text, created_at, stored_at) VALUES (1, ?1, 'buyer', 'т', 0, 0)",
            [format!("m{n}")],
        )
        .unwrap();
        let msg = c.last_insert_rowid();
        c.execute(
            r#"INSERT INTO drafts (chat_id, turn_message_id, state, intent, confidence, classification, text, drafter, prompt, decision, effect, created_at, updated_at)
               VALUES (1, ?1, ?2, 'other', 0.5,
                 '{"intent":"other","confidence":0.5,"reasons":[],"flags":[],"source":"model","top":[["other",0.5]],"evidence":["слово"]}',
                 'текст', 'template', 'a long prompt',
                 '{"effect":"queue","rules":[{"name":"a","matched":true,"effect":"queue","why":[]},{"name":"b","matched":false,"effect":"auto","why":[]}],"reasons":["r"]}',
                 'queue', 0, ?3)"#,
            params![msg, state, updated_at],
        )
        .unwrap();
        let id = c.last_insert_rowid();
        c.execute(
            "INSERT INTO draft_events (draft_id, at, actor, to_state, note) VALUES (?1, ?2, 'x', ?3, 'заметка')",
            params![id, updated_at, state],
        )
        .unwrap();
        id
    }

    #[tokio::test]
    async fn old_final_drafts_lose_prompts_and_unmatched_rules_in_batches_and_open_ones_keep_them()
    {
        let store = Store::open_in_memory().unwrap();
        let (old_sent, old_pending, new_sent) = store
            .call(|c| {
                let a = seed(c, "sent", 1_000);
                let _ = seed(c, "sent", 1_000);
                let b = seed(c, "pending", 1_000);
                let d = seed(c, "sent", 9_000);
                Ok((a, b, d))
            })
            .await
            .unwrap();
        let cutoffs = Cutoffs {
            prompts: Some(5_000),
            decision_details: Some(5_000),
            audit_notes: Some(5_000),
        };
        let first = store
            .call(move |c| prune_batch(c, cutoffs, 1))
            .await
            .unwrap();
        assert_eq!(
            first,
            Pruned {
                prompts: 1,
                decision_details: 1,
                audit_notes: 1
            }
        );
        let mut total = first.total();
        loop {
            let p = store
                .call(move |c| prune_batch(c, cutoffs, 1))
                .await
                .unwrap();
            if p.total() == 0 {
                break;
            }
            total += p.total();
        }
        // Two old sent drafts (prompt + details each) and three old notes.
        assert_eq!(total, 2 + 2 + 3);
        let row = |id: i64| {
            let store = store.clone();
            async move {
                store
                    .call(move |c| Ok(crate::store::get_draft(c, id)?.expect("the draft exists")))
                    .await
                    .unwrap()
            }
        };
        let old = row(old_sent).await;
        assert_eq!(old.prompt, None);
        assert_eq!(old.decision.rules.len(), 1, "the matched rule stays");
        assert!(old.classification.evidence.is_empty());
        assert_eq!(old.classification.intent.as_str(), "other");
        for keep in [old_pending, new_sent] {
            let d = row(keep).await;
            assert_eq!(d.prompt.as_deref(), Some("a long prompt"));
            assert_eq!(d.decision.rules.len(), 2);
        }
        let notes: i64 = store
            .call(|c| {
                Ok(c.query_row(
                    "SELECT COUNT(*) FROM draft_events WHERE note IS NOT NULL",
                    [],
                    |r| r.get(0),
                )?)
            })
            .await
            .unwrap();
        assert_eq!(notes, 1, "only the new draft's note is left");
    }
}
