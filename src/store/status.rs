use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::Result;
use crate::domain::{Marketplace, Millis};

/// How a shop's connection to one marketplace is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorState {
    Starting,
    Ok,
    /// The marketplace rejected our credentials. Needs a person.
    AuthFailed,
    /// Waiting out the marketplace's rate limit.
    RateLimited,
    /// The marketplace is failing or unreachable; retrying with backoff.
    Degraded,
    /// Our own database failed while storing or reading what the marketplace
    /// sent; retrying with backoff.
    DatabaseFailed,
}

impl ConnectorState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorState::Starting => "starting",
            ConnectorState::Ok => "ok",
            ConnectorState::AuthFailed => "auth_failed",
            ConnectorState::RateLimited => "rate_limited",
            ConnectorState::Degraded => "degraded",
            ConnectorState::DatabaseFailed => "database_failed",
        }
    }

    fn parse(s: &str) -> ConnectorState {
        match s {
            "ok" => ConnectorState::Ok,
            "auth_failed" => ConnectorState::AuthFailed,
            "rate_limited" => ConnectorState::RateLimited,
            "degraded" => ConnectorState::Degraded,
            "database_failed" => ConnectorState::DatabaseFailed,
            _ => ConnectorState::Starting,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ConnectorStatus {
    pub shop: String,
    pub marketplace: Marketplace,
    pub state: ConnectorState,
    pub detail: Option<String>,
    pub since: Millis,
    pub last_ok_at: Option<Millis>,
    pub retry_at: Option<Millis>,
}

/// Record a connector's state. `since` only moves when the state changes.
pub fn set_status(
    conn: &Connection,
    shop: &str,
    marketplace: Marketplace,
    state: ConnectorState,
    detail: Option<&str>,
    retry_at: Option<Millis>,
    now: Millis,
) -> Result<()> {
    upsert_status(
        conn,
        "connector_status",
        shop,
        marketplace,
        state,
        detail,
        retry_at,
        now,
    )
}

/// Record how reading a shop's reviews and questions on one marketplace is
/// doing, kept apart from its chats: an API that needs a paid plan can fail
/// while the chats carry on.
pub fn set_feedback_status(
    conn: &Connection,
    shop: &str,
    marketplace: Marketplace,
    state: ConnectorState,
    detail: Option<&str>,
    retry_at: Option<Millis>,
    now: Millis,
) -> Result<()> {
    upsert_status(
        conn,
        "feedback_status",
        shop,
        marketplace,
        state,
        detail,
        retry_at,
        now,
    )
}

#[allow(clippy::too_many_arguments)]
fn upsert_status(
    conn: &Connection,
    table: &str,
    shop: &str,
    marketplace: Marketplace,
    state: ConnectorState,
    detail: Option<&str>,
    retry_at: Option<Millis>,
    now: Millis,
) -> Result<()> {
    let ok_at = (state == ConnectorState::Ok).then_some(now);
    conn.prepare_cached(&format!(
        "INSERT INTO {table} (shop, marketplace, state, detail, since, last_ok_at, retry_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (shop, marketplace) DO UPDATE SET
            since = CASE WHEN state = excluded.state THEN since ELSE excluded.since END,
            state = excluded.state,
            detail = excluded.detail,
            last_ok_at = COALESCE(excluded.last_ok_at, last_ok_at),
            retry_at = excluded.retry_at"
    ))?
    .execute(params![
        shop,
        marketplace.code(),
        state.as_str(),
        detail,
        now,
        ok_at,
        retry_at
    ])?;
    Ok(())
}

/// Move the "last ok" time of connectors that kept polling successfully, in
/// one transaction. Only a connector still recorded as `ok` is touched, and
/// its time only moves forward, so a batch written after a failure was
/// recorded changes nothing.
pub fn record_ok_heartbeats(
    conn: &mut Connection,
    beats: &[(String, Marketplace, Millis)],
) -> Result<usize> {
    let tx = conn.transaction()?;
    let mut moved = 0;
    {
        let mut stmt = tx.prepare_cached(
            "UPDATE connector_status SET last_ok_at = MAX(COALESCE(last_ok_at, 0), ?3)
             WHERE shop = ?1 AND marketplace = ?2 AND state = 'ok'",
        )?;
        for (shop, marketplace, at) in beats {
            moved += stmt.execute(params![shop, marketplace.code(), at])?;
        }
    }
    tx.commit()?;
    Ok(moved)
}

/// The newest audit-trail event, 0 if there is none.
pub fn last_draft_event(conn: &Connection) -> Result<i64> {
    Ok(
        conn.query_row("SELECT COALESCE(MAX(id), 0) FROM draft_events", [], |r| {
            r.get(0)
        })?,
    )
}

/// People's decisions recorded in the audit trail after one of its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecisionTally {
    /// The newest event read (the one given if there is none newer).
    pub last_event: i64,
    /// Pending drafts a person approved (sent to the outbox).
    pub approved: u64,
    /// Drafts a person rejected.
    pub rejected: u64,
}

pub fn decisions_since(conn: &Connection, after: i64) -> Result<DecisionTally> {
    Ok(conn.query_row(
        "SELECT COALESCE(MAX(id), ?1),
                COALESCE(SUM(from_state = 'pending' AND to_state = 'scheduled'), 0),
                COALESCE(SUM(to_state = 'rejected'), 0)
         FROM draft_events WHERE id > ?1",
        [after],
        |r| {
            Ok(DecisionTally {
                last_event: r.get(0)?,
                approved: r.get::<_, i64>(1)?.max(0) as u64,
                rejected: r.get::<_, i64>(2)?.max(0) as u64,
            })
        },
    )?)
}

pub fn list_status(conn: &Connection) -> Result<Vec<ConnectorStatus>> {
    list_from(conn, "connector_status")
}

/// How reading reviews and questions is doing, per shop and marketplace.
pub fn list_feedback_status(conn: &Connection) -> Result<Vec<ConnectorStatus>> {
    list_from(conn, "feedback_status")
}

fn list_from(conn: &Connection, table: &str) -> Result<Vec<ConnectorStatus>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT shop, marketplace, state, detail, since, last_ok_at, retry_at FROM {table} ORDER BY shop, marketplace"
    ))?;
    let rows = stmt.query_map([], |r| {
        let mp: String = r.get(1)?;
        let state: String = r.get(2)?;
        Ok((
            mp,
            state,
            r.get(0)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (mp, state, shop, detail, since, last_ok_at, retry_at) = row?;
        let Ok(marketplace) = mp.parse() else {
            continue;
        };
        out.push(ConnectorStatus {
            shop,
            marketplace,
            state: ConnectorState::parse(&state),
            detail,
            since,
            last_ok_at,
            retry_at,
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncState {
    pub cursor: Option<String>,
    pub synced_at: Option<Millis>,
}

pub fn sync_state(conn: &Connection, shop: &str, marketplace: Marketplace) -> Result<SyncState> {
    Ok(conn
        .prepare_cached(
            "SELECT cursor, synced_at FROM sync_state WHERE shop = ?1 AND marketplace = ?2",
        )?
        .query_row(params![shop, marketplace.code()], |r| {
            Ok(SyncState {
                cursor: r.get(0)?,
                synced_at: r.get(1)?,
            })
        })
        .optional()?
        .unwrap_or_default())
}

/// Open drafts per state and when the oldest draft waiting for a person was made.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueFigures {
    pub by_state: Vec<(crate::domain::DraftState, u64)>,
    pub oldest_pending_at: Option<Millis>,
}

pub fn queue_figures(conn: &Connection) -> Result<QueueFigures> {
    use crate::domain::DraftState;
    let mut out = QueueFigures::default();
    let mut stmt =
        conn.prepare_cached("SELECT COUNT(*), MIN(created_at) FROM drafts WHERE state = ?1")?;
    for state in [
        DraftState::Pending,
        DraftState::Scheduled,
        DraftState::Sending,
        DraftState::Unknown,
    ] {
        let (n, oldest): (i64, Option<Millis>) =
            stmt.query_row([state.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
        out.by_state.push((state, n as u64));
        if state == DraftState::Pending {
            out.oldest_pending_at = oldest;
        }
    }
    Ok(out)
}

/// How many connectors are in each state, per marketplace.
pub fn connector_counts(conn: &Connection) -> Result<Vec<(Marketplace, ConnectorState, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT marketplace, state, COUNT(*) FROM connector_status GROUP BY marketplace, state",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (mp, state, n) = row?;
        if let Ok(marketplace) = mp.parse() {
            out.push((marketplace, ConnectorState::parse(&state), n as u64));
        }
    }
    Ok(out)
}
