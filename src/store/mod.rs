//! SQLite, and the only module that knows the schema.
//!
//! One connection serialises all writes (SQLite has a single writer anyway);
//! blocking work runs on tokio's blocking pool. Other processes (the CLI) open
//! their own connection; WAL mode lets them read while the daemon writes.

mod chats;
mod controls;
mod corrections;
mod drafts;
mod feedback;
mod ingest;
mod model_files;
mod retention;
mod sessions;
mod status;
pub mod telegram;
mod usage;
mod working;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

/// Reader connections beside the writer (see [`Store::read`]).
const READERS: usize = 2;

pub use chats::{
    ChatRow, MessageRow, Turn, chat_by_id, chat_messages, claim_due_turns, known_chats,
    next_turn_due, release_claims, turn_messages,
};
pub use controls::{
    ReloadStatus, ShopControl, is_paused, pause, reload_statuses, resume, set_reload_status,
    shop_control,
};
pub use corrections::{
    CORRECTION_WEIGHT, NewCorrection, add_correction, correction_marks, corrections_for,
    retag_draft,
};
pub use drafts::{
    AutoCounts, Change, DraftEvent, DraftFilter, DraftRow, EditFailure, EditJob, NewDraft,
    RetractJob, RetractRefusal, SendJob, StoreDraftOutcome, TransitionError, UnknownSend,
    auto_counts, claim_due_sends, claim_edits, dismiss, draft_events, expire_past_reply_window,
    expire_stale, find_draft, finish_edit, finish_retract, get_draft, list_drafts, mark_sent,
    open_drafts_for_chat, recover_in_flight, request_edit, request_retract, requeue, reschedule,
    retract_jobs, schedule, store_draft_for_turn, store_drafts_for_turns, transition,
    unknown_drafts,
};
pub use feedback::{feedback_cursor, feedback_to_check, ingest_feedback, recent_review_answers};
pub use ingest::{IngestReport, IngestSettings, ingest_batch};
pub use model_files::ModelFiles;
pub use retention::{BackupReport, Cutoffs, Pruned, backup, prune_batch};
pub use sessions::{StoredSession, delete_session, load_session, save_session};
pub use status::{
    ConnectorState, ConnectorStatus, DecisionTally, QueueFigures, SyncState, connector_counts,
    decisions_since, last_draft_event, list_feedback_status, list_status, queue_figures,
    record_ok_heartbeats, set_feedback_status, set_status, sync_state,
};
pub use usage::{UsageRecord, UsageRow, record_usage, spent, usage_report};
pub use working::{
    WorkingText, last_buyer_messages, save_working_text, successor_draft, working_text_for,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("the database task was lost: {0}")]
    Join(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The database file and its write-ahead and shared-memory files, in bytes.
pub fn database_bytes(path: &Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            std::fs::metadata(p).ok()
        })
        .map(|m| m.len())
        .sum()
}

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("migrations/0001_initial.sql")),
        M::up(include_str!("migrations/0002_controls.sql")),
        M::up(include_str!("migrations/0003_llm_usage.sql")),
        M::up(include_str!("migrations/0004_per_chat_marketplaces.sql")),
        M::up(include_str!("migrations/0005_intent_corrections.sql")),
        M::up(include_str!(
            "migrations/0006_approval_findings_and_attention.sql"
        )),
        M::up(include_str!(
            "migrations/0007_web_sessions_and_working_texts.sql"
        )),
        M::up(include_str!("migrations/0008_telegram.sql")),
        M::up(include_str!("migrations/0009_retention.sql")),
        M::up(include_str!("migrations/0010_feedback.sql")),
        M::up(include_str!(
            "migrations/0011_telegram_held_digest_webhook.sql"
        )),
        M::up(include_str!("migrations/0012_answer_edits.sql")),
        M::up(include_str!(
            "migrations/0013_answer_edit_count_feedback_status.sql"
        )),
    ])
}

#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    /// Read-only connections for queries that need no write lock; WAL lets
    /// them run beside the writer. Empty for an in-memory database.
    readers: Arc<[Mutex<Connection>]>,
    trouble: Arc<Mutex<Option<Trouble>>>,
}

/// The database cannot be used right now for a reason outside the daemon:
/// another process holds a lock, the disk is full, the file is unreadable.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Trouble {
    pub problem: String,
    pub since: crate::domain::Millis,
}

impl StoreError {
    /// A condition of the machine rather than of our data, described for people.
    pub fn environmental(&self) -> Option<&'static str> {
        use rusqlite::ErrorCode as C;
        let StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) = self else {
            return None;
        };
        match e.code {
            C::DatabaseBusy | C::DatabaseLocked => {
                Some("база данных занята другим процессом (заблокирована)")
            }
            C::DiskFull => Some("на диске кончилось место для базы данных"),
            C::ReadOnly | C::PermissionDenied => Some("нет права записи в файл базы данных"),
            C::CannotOpen | C::SystemIoFailure => {
                Some("ошибка ввода-вывода при работе с базой данных")
            }
            _ => None,
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

impl Store {
    pub fn open(path: &Path) -> Result<Store> {
        Self::open_with(path, Duration::from_secs(10))
    }

    /// Open with a limit on how long a write waits for another process's lock.
    pub fn open_with(path: &Path, busy_timeout: Duration) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Corrupt(format!("cannot create `{}`: {e}", dir.display()))
            })?;
        }
        let conn = Connection::open(path)?;
        let mut store = Self::setup(conn, busy_timeout)?;
        let readers = (0..READERS)
            .map(|_| {
                let c = Connection::open(path)?;
                c.busy_timeout(busy_timeout)?;
                c.pragma_update(None, "query_only", "ON")?;
                Ok(Mutex::new(c))
            })
            .collect::<Result<Vec<_>>>()?;
        store.readers = readers.into();
        Ok(store)
    }

    pub fn open_in_memory() -> Result<Store> {
        Self::setup(Connection::open_in_memory()?, Duration::from_secs(10))
    }

    fn setup(mut conn: Connection, busy_timeout: Duration) -> Result<Store> {
        conn.busy_timeout(busy_timeout)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrations().to_latest(&mut conn)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            readers: Arc::new([]),
            trouble: Arc::new(Mutex::new(None)),
        })
    }

    /// What is wrong with the database right now, if anything.
    pub fn trouble(&self) -> Option<Trouble> {
        self.trouble
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Remember an environmental failure, and forget it after a successful
    /// write (`cleared_by_success`). A read proves nothing: in WAL mode reads
    /// go on while another process holds the write lock, and clearing on them
    /// made the reported trouble come and go while the lock was still held.
    fn note<R>(&self, result: &Result<R>, cleared_by_success: bool) {
        let mut trouble = self.trouble.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Err(e) => {
                if let Some(problem) = e.environmental()
                    && trouble.as_ref().is_none_or(|t| t.problem != problem)
                {
                    tracing::error!(error = %e, "{problem}; retrying, nothing is lost");
                    *trouble = Some(Trouble {
                        problem: problem.to_string(),
                        since: crate::domain::now_ms(),
                    });
                }
            }
            Ok(_) if cleared_by_success => {
                if let Some(t) = trouble.take() {
                    tracing::info!(problem = %t.problem, "the database works again");
                }
            }
            Ok(_) => {}
        }
    }

    /// Run `f` with the connection on the blocking pool.
    pub async fn call<R, F>(&self, f: F) -> Result<R>
    where
        F: FnOnce(&mut Connection) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let conn = self.conn.clone();
        let (result, wrote) = tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let before = guard.total_changes();
            let result = f(&mut guard);
            (result, guard.total_changes() > before)
        })
        .await
        .map_err(|e| StoreError::Join(e.to_string()))?;
        // Only a write that changed something shows the lock is gone; a
        // query through this connection reads beside it.
        self.note(&result, wrote);
        result
    }

    /// Run a read-only `f` on the blocking pool, on a reader connection when
    /// one is free, so reads do not queue behind the writer.
    pub async fn read<R, F>(&self, f: F) -> Result<R>
    where
        F: FnOnce(&Connection) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        if self.readers.is_empty() {
            return self.call(move |c| f(c)).await;
        }
        let readers = self.readers.clone();
        let result = tokio::task::spawn_blocking(move || {
            let guard = readers
                .iter()
                .find_map(|r| r.try_lock().ok())
                .unwrap_or_else(|| readers[0].lock().unwrap_or_else(|p| p.into_inner()));
            f(&guard)
        })
        .await
        .map_err(|e| StoreError::Join(e.to_string()))?;
        self.note(&result, false);
        result
    }

    /// Run `f` with the connection on the current thread (CLI and tests).
    pub fn call_blocking<R>(&self, f: impl FnOnce(&mut Connection) -> Result<R>) -> Result<R> {
        let mut guard = self
            .conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
    }

    #[tokio::test]
    async fn a_lock_held_elsewhere_stays_reported_while_reads_still_work() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agentiq.db");
        let store = Store::open_with(&path, Duration::from_millis(50)).unwrap();
        let write = |store: &Store| {
            let store = store.clone();
            async move {
                store
                    .call(|c| {
                        c.execute_batch(
                            "CREATE TABLE IF NOT EXISTS probe (x); INSERT INTO probe VALUES (1)",
                        )?;
                        Ok(())
                    })
                    .await
            }
        };
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN EXCLUSIVE").unwrap();
        assert!(write(&store).await.is_err());
        assert!(store.trouble().is_some());
        // Reads go on beside the lock in WAL mode; they do not end the trouble.
        store
            .read(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
            .await
            .unwrap();
        assert!(
            store.trouble().is_some(),
            "a read cleared a lock that is still held"
        );
        store
            .call(|c| {
                Ok(c.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                    r.get::<_, i64>(0)
                })?)
            })
            .await
            .unwrap();
        assert!(
            store.trouble().is_some(),
            "a query on the writer cleared the lock"
        );
        other.execute_batch("COMMIT").unwrap();
        write(&store).await.unwrap();
        assert!(store.trouble().is_none());
    }
}
