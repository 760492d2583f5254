//! Draft replies and their state machine. Every change of state goes through
//! [`transition_tx`], which checks the current state and writes the audit
//! record in the same transaction.

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use serde::Serialize;

use super::chats::{CHAT_COLUMNS, ChatRow, chat_from_row};
use super::{Result, StoreError};
pub use crate::domain::DraftState;
use crate::domain::{Classification, Decision, Effect, Intent, Millis, ThreadKind};
use crate::guards::Finding;

#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    #[error("черновика №{0} нет")]
    NotFound(i64),
    #[error("draft #{id} is {current}; this needs it to be one of {expected:?}")]
    WrongState {
        id: i64,
        current: DraftState,
        expected: Vec<DraftState>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for TransitionError {
    fn from(e: rusqlite::Error) -> Self {
        TransitionError::Store(e.into())
    }
}

/// Inside the store's own transactions a draft was just read, so one that is
/// gone or moved means the rows contradict each other; a database failure
/// keeps its kind.
impl From<TransitionError> for StoreError {
    fn from(e: TransitionError) -> Self {
        match e {
            TransitionError::Store(e) => e,
            other => StoreError::Corrupt(other.to_string()),
        }
    }
}

impl TransitionError {
    /// Split a database failure off a transition's result, so that
    /// [`super::Store::call`] sees it (and `/healthz` reports it) while a
    /// refused transition stays a value for the caller.
    pub fn lift<T>(result: Result<T, TransitionError>) -> Result<Result<T, TransitionError>> {
        match result {
            Err(TransitionError::Store(e)) => Err(e),
            other => Ok(other),
        }
    }
}

/// A transition that lost a race (someone else moved the draft first) is
/// skipped: `None`. Every other failure is an error.
pub(crate) fn unless_moved(
    result: Result<DraftState, TransitionError>,
) -> Result<Option<DraftState>> {
    match result {
        Ok(prev) => Ok(Some(prev)),
        Err(TransitionError::WrongState { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Move a draft from one of `from` to `to`, recording who did it and why.
/// Returns the state it was in.
pub(crate) fn transition_tx(
    tx: &Connection,
    id: i64,
    from: &[DraftState],
    to: DraftState,
    actor: &str,
    note: Option<&str>,
    now: Millis,
) -> Result<DraftState, TransitionError> {
    let current: Option<String> = tx
        .prepare_cached("SELECT state FROM drafts WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    let current: DraftState = current
        .ok_or(TransitionError::NotFound(id))?
        .parse()
        .map_err(StoreError::Corrupt)?;
    if !from.contains(&current) {
        return Err(TransitionError::WrongState {
            id,
            current,
            expected: from.to_vec(),
        });
    }
    tx.prepare_cached(
        "UPDATE drafts SET state = ?2, updated_at = ?3, state_reason = COALESCE(?4, state_reason) WHERE id = ?1",
    )?
    .execute(params![id, to.as_str(), now, note])?;
    record_event(tx, id, now, actor, Some(current), to, note)?;
    Ok(current)
}

/// A chat's drafts that a newer buyer turn withdraws (other than `except`):
/// pending, and scheduled unless a send was already attempted. A reply whose
/// send came back unknown and was rescheduled once the marketplace's history
/// showed it absent goes out as approved: withdrawing it would leave the
/// record saying "cancelled" for a send that may yet show up as delivered.
pub(crate) fn withdrawable(
    tx: &Connection,
    chat_id: i64,
    except: Option<i64>,
) -> rusqlite::Result<Vec<(i64, DraftState)>> {
    let mut stmt = tx.prepare_cached(
        "SELECT id, state FROM drafts d WHERE chat_id = ?1 AND id IS NOT ?2
           AND (state = 'pending' OR (state = 'scheduled' AND NOT EXISTS
                (SELECT 1 FROM draft_events e WHERE e.draft_id = d.id AND e.to_state = 'sending')))",
    )?;
    let rows = stmt.query_map(params![chat_id, except], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, state) = row?;
        if let Ok(state) = state.parse() {
            out.push((id, state));
        }
    }
    Ok(out)
}

pub(crate) fn record_event(
    tx: &Connection,
    id: i64,
    now: Millis,
    actor: &str,
    from: Option<DraftState>,
    to: DraftState,
    note: Option<&str>,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO draft_events (draft_id, at, actor, from_state, to_state, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![id, now, actor, from.map(|s| s.as_str()), to.as_str(), note])?;
    Ok(())
}

/// Who changes a draft, why, and when.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub actor: &'a str,
    pub note: Option<&'a str>,
    pub at: Millis,
}

/// [`transition_tx`] in its own transaction.
pub fn transition(
    conn: &mut Connection,
    id: i64,
    from: &[DraftState],
    to: DraftState,
    change: &Change<'_>,
) -> Result<DraftState, TransitionError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let prev = transition_tx(&tx, id, from, to, change.actor, change.note, change.at)?;
    tx.commit()?;
    Ok(prev)
}

/// Put a draft in the outbox: it will be sent at `send_at`, with exactly
/// `text`, which the guards found `findings` in.
pub fn schedule(
    conn: &mut Connection,
    id: i64,
    from: &[DraftState],
    text: &str,
    findings: &[Finding],
    send_at: Millis,
    change: &Change<'_>,
) -> Result<DraftState, TransitionError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let prev = transition_tx(
        &tx,
        id,
        from,
        DraftState::Scheduled,
        change.actor,
        change.note,
        change.at,
    )?;
    tx.execute(
        "UPDATE drafts SET final_text = ?2, send_at = ?3, approved_by = ?4, final_findings = ?5 WHERE id = ?1",
        params![
            id,
            text,
            send_at,
            change.actor,
            serde_json::to_string(findings).map_err(|e| StoreError::Corrupt(e.to_string()))?
        ],
    )?;
    tx.commit()?;
    Ok(prev)
}

/// Put a draft back in the outbox with the text it already has (retries,
/// resends after reconciliation).
pub fn requeue(
    conn: &mut Connection,
    id: i64,
    from: &[DraftState],
    send_at: Millis,
    change: &Change<'_>,
) -> Result<DraftState, TransitionError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let prev = transition_tx(
        &tx,
        id,
        from,
        DraftState::Scheduled,
        change.actor,
        change.note,
        change.at,
    )?;
    tx.execute(
        "UPDATE drafts SET final_text = COALESCE(final_text, text), send_at = ?2 WHERE id = ?1",
        params![id, send_at],
    )?;
    tx.commit()?;
    Ok(prev)
}

/// Move a scheduled draft's send time (e.g. "send now" in the undo window).
pub fn reschedule(
    conn: &mut Connection,
    id: i64,
    send_at: Millis,
    change: &Change<'_>,
) -> Result<(), TransitionError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    transition_tx(
        &tx,
        id,
        &[DraftState::Scheduled],
        DraftState::Scheduled,
        change.actor,
        change.note,
        change.at,
    )?;
    tx.execute(
        "UPDATE drafts SET send_at = ?2 WHERE id = ?1",
        params![id, send_at],
    )?;
    tx.commit()?;
    Ok(())
}

/// A person has looked at a draft the buyer's new message withdrew and puts
/// it aside; it leaves the queue's default view.
pub fn dismiss(conn: &mut Connection, id: i64, change: &Change<'_>) -> Result<(), TransitionError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let seen: Option<(Option<Millis>, Option<Millis>, String)> = tx
        .query_row(
            "SELECT superseded_at, dismissed_at, state FROM drafts WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((superseded, dismissed, state)) = seen else {
        return Err(TransitionError::NotFound(id));
    };
    let state: DraftState = state.parse().map_err(StoreError::Corrupt)?;
    if superseded.is_none() || dismissed.is_some() {
        return Err(TransitionError::WrongState {
            id,
            current: state,
            expected: vec![DraftState::Expired, DraftState::Cancelled],
        });
    }
    transition_tx(
        &tx,
        id,
        &[state],
        state,
        change.actor,
        change.note,
        change.at,
    )?;
    tx.execute(
        "UPDATE drafts SET dismissed_at = ?2 WHERE id = ?1",
        params![id, change.at],
    )?;
    tx.commit()?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct NewDraft {
    pub chat_id: i64,
    pub turn_message_id: i64,
    pub classification: Classification,
    pub text: String,
    pub drafter: String,
    pub drafter_note: Option<String>,
    pub prompt: Option<String>,
    pub decision: Decision,
    pub findings: Vec<Finding>,
}

#[cfg(test)]
impl NewDraft {
    /// A template draft for `turn_message_id` that waits for a person.
    pub(crate) fn queued(chat_id: i64, turn_message_id: i64, text: &str) -> NewDraft {
        use crate::domain::{Classification, ClassifierSource, Decision, Intent, Priority};
        NewDraft {
            chat_id,
            turn_message_id,
            classification: Classification {
                intent: Intent::DeliveryStatus,
                confidence: 0.7,
                reasons: vec![],
                flags: vec![],
                source: ClassifierSource::Rules,
                top: Vec::new(),
                evidence: Vec::new(),
            },
            text: text.to_string(),
            drafter: "template".into(),
            drafter_note: None,
            prompt: None,
            decision: Decision {
                effect: Effect::Queue,
                delay_seconds: 0,
                priority: Priority::Normal,
                rules: vec![],
                reasons: vec!["default".into()],
                floor: vec![],
            },
            findings: vec![],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreDraftOutcome {
    Stored {
        id: i64,
        state: DraftState,
    },
    /// The buyer wrote again while we drafted; the newer turn will be drafted instead.
    Superseded,
    /// The seller answered while we drafted.
    AnsweredMeanwhile,
    /// This turn already has a draft.
    Duplicate,
}

/// Store the draft for a claimed turn, unless the turn moved on meanwhile.
/// An `auto` decision puts it straight in the outbox.
pub fn store_draft_for_turn(
    conn: &mut Connection,
    new: &NewDraft,
    now: Millis,
) -> Result<StoreDraftOutcome> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let outcome = store_draft_tx(&tx, new, now)?;
    tx.commit()?;
    Ok(outcome)
}

/// [`store_draft_for_turn`] for several turns in one transaction (one commit
/// instead of one per draft). Each draft is stored or not on its own: one
/// that fails leaves no trace and does not stop the others.
pub fn store_drafts_for_turns(
    conn: &mut Connection,
    drafts: &[NewDraft],
    now: Millis,
) -> Result<Vec<Result<StoreDraftOutcome>>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut out = Vec::with_capacity(drafts.len());
    // One savepoint per draft, so a failing draft leaves the others. Cached
    // statements rather than `Transaction::savepoint`, which parses its SQL
    // anew each time (a tenth of the pipeline's CPU on a large backlog).
    for new in drafts {
        tx.prepare_cached("SAVEPOINT draft")?.execute([])?;
        match store_draft_tx(&tx, new, now) {
            Ok(outcome) => {
                tx.prepare_cached("RELEASE draft")?.execute([])?;
                out.push(Ok(outcome));
            }
            Err(e) => {
                tx.prepare_cached("ROLLBACK TO draft")?.execute([])?;
                tx.prepare_cached("RELEASE draft")?.execute([])?;
                out.push(Err(e));
            }
        }
    }
    tx.commit()?;
    Ok(out)
}

fn store_draft_tx(tx: &Connection, new: &NewDraft, now: Millis) -> Result<StoreDraftOutcome> {
    let latest_buyer: Option<i64> = tx
        .prepare_cached(
            "SELECT id FROM messages WHERE chat_id = ?1 AND author = 'buyer' ORDER BY created_at DESC, id DESC LIMIT 1",
        )?
        .query_row([new.chat_id], |r| r.get(0))
        .optional()?;
    if latest_buyer != Some(new.turn_message_id) {
        return Ok(StoreDraftOutcome::Superseded);
    }
    // Answered when a seller message comes after the turn in the chat's
    // order (time, then arrival). Some marketplaces give times to the second,
    // so a seller message of the same second counts only if it arrived
    // later: a buyer writing in the second our reply went out is not answered.
    let answered: bool = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM messages s, messages t
              WHERE t.id = ?2 AND s.chat_id = ?1 AND s.author = 'seller'
                AND (s.created_at > t.created_at OR (s.created_at = t.created_at AND s.id > t.id)))",
        )?
        .query_row(params![new.chat_id, new.turn_message_id], |r| r.get(0))?;
    if answered {
        tx.prepare_cached("UPDATE chats SET turn_due_at = NULL WHERE id = ?1")?
            .execute([new.chat_id])?;
        return Ok(StoreDraftOutcome::AnsweredMeanwhile);
    }
    let decision = &new.decision;
    let (state, send_at, final_text) = match decision.effect {
        Effect::Auto => (
            DraftState::Scheduled,
            Some(now + decision.delay_seconds * 1000),
            Some(new.text.trim().to_string()),
        ),
        Effect::Queue | Effect::Escalate => (DraftState::Pending, None, None),
        Effect::Ignore => (DraftState::Cancelled, None, None),
    };
    let classification = serde_json::to_string(&new.classification).unwrap_or_default();
    let decision_json = serde_json::to_string(decision).unwrap_or_default();
    let inserted: Option<i64> = tx
        .prepare_cached(
            "INSERT INTO drafts (chat_id, turn_message_id, state, intent, confidence, classification, text,
                                 drafter, drafter_note, prompt, decision, effect, priority, send_at,
                                 final_text, state_reason, created_at, updated_at, findings)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?17, ?18)
             ON CONFLICT (chat_id, turn_message_id) DO NOTHING
             RETURNING id",
        )?
        .query_row(
            params![
                new.chat_id,
                new.turn_message_id,
                state.as_str(),
                new.classification.intent.as_str(),
                new.classification.confidence,
                classification,
                new.text,
                new.drafter,
                new.drafter_note,
                new.prompt,
                decision_json,
                decision.effect.as_str(),
                decision.priority.rank(),
                send_at,
                final_text,
                decision.summary(),
                now,
                serde_json::to_string(&new.findings).unwrap_or_else(|_| "[]".into())
            ],
            |r| r.get(0),
        )
        .optional()?;
    let Some(id) = inserted else {
        return Ok(StoreDraftOutcome::Duplicate);
    };
    record_event(
        tx,
        id,
        now,
        "daemon:gate",
        None,
        state,
        Some(&decision.summary()),
    )?;
    // Older drafts for this chat answer an earlier, incomplete turn.
    for (old, old_state) in withdrawable(tx, new.chat_id, Some(id))? {
        let to = if old_state == DraftState::Scheduled {
            DraftState::Cancelled
        } else {
            DraftState::Expired
        };
        let note = format!("заменён черновиком №{id}");
        unless_moved(transition_tx(
            tx,
            old,
            &[old_state],
            to,
            "daemon:gate",
            Some(&note),
            now,
        ))?;
    }
    tx.prepare_cached("UPDATE chats SET turn_due_at = NULL WHERE id = ?1")?
        .execute([new.chat_id])?;
    Ok(StoreDraftOutcome::Stored { id, state })
}

/// A draft with the chat it belongs to.
#[derive(Debug, Clone, Serialize)]
pub struct DraftRow {
    pub id: i64,
    pub chat: ChatRow,
    pub turn_message_id: i64,
    pub state: DraftState,
    pub intent: Intent,
    pub confidence: f64,
    pub classification: Classification,
    pub text: String,
    pub drafter: String,
    pub drafter_note: Option<String>,
    pub prompt: Option<String>,
    pub decision: Decision,
    pub findings: Vec<Finding>,
    pub priority: i64,
    pub send_at: Option<Millis>,
    pub final_text: Option<String>,
    pub state_reason: Option<String>,
    pub attempts: i64,
    pub send_started_at: Option<Millis>,
    pub sent_at: Option<Millis>,
    pub sent_message_id: Option<String>,
    pub approved_by: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// When the buyer last wrote in this chat.
    pub last_buyer_at: Option<Millis>,
    /// A person asked to withdraw this sent reply; the sender is on it.
    pub retract_requested_at: Option<Millis>,
    /// What the guards found in the approved text, once a person approved one.
    pub final_findings: Option<Vec<Finding>>,
    /// When the buyer's new message withdrew this draft for a new one.
    pub superseded_at: Option<Millis>,
    /// When a person put this withdrawn draft aside.
    pub dismissed_at: Option<Millis>,
}

impl DraftRow {
    /// What goes (or went) to the buyer: the approved text once there is one.
    pub fn outgoing_text(&self) -> &str {
        self.final_text.as_deref().unwrap_or(&self.text)
    }

    /// What the guards found in [`DraftRow::outgoing_text`].
    pub fn outgoing_findings(&self) -> &[Finding] {
        self.final_findings.as_deref().unwrap_or(&self.findings)
    }

    /// Withdrawn for a newer draft, and no person has looked at it yet.
    pub fn superseded_unseen(&self) -> bool {
        self.superseded_at.is_some() && self.dismissed_at.is_none()
    }

    /// Until when the marketplace accepts a reply in this chat, where it limits that.
    pub fn reply_deadline(&self) -> Option<Millis> {
        let window = self.chat.marketplace.capabilities().reply_window_secs?;
        self.last_buyer_at.map(|t| t + window * 1000)
    }

    /// Until when this sent reply can still be withdrawn, where the
    /// marketplace allows that.
    pub fn retract_deadline(&self) -> Option<Millis> {
        if self.chat.kind != ThreadKind::Chat {
            return None;
        }
        let window = self.chat.marketplace.capabilities().retract_window_secs?;
        if self.state != DraftState::Sent || self.sent_message_id.is_none() {
            return None;
        }
        self.sent_at.map(|t| t + window * 1000)
    }
}

const DRAFT_COLUMNS: &str = "d.id, d.turn_message_id, d.state, d.intent, d.confidence, d.classification, d.text,
    d.drafter, d.drafter_note, d.prompt, d.decision, d.priority, d.send_at, d.final_text, d.state_reason,
        d.attempts, d.send_started_at, d.sent_at, d.sent_message_id, d.created_at, d.updated_at, d.findings, d.approved_by,
    (SELECT MAX(m.created_at) FROM messages m WHERE m.chat_id = d.chat_id AND m.author = 'buyer'),
    d.retract_requested_at, d.final_findings, d.superseded_at, d.dismissed_at";
const DRAFT_COLUMN_COUNT: usize = 28;

fn corrupt(idx: usize, msg: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, msg.into())
}

fn draft_from_row(row: &Row<'_>) -> rusqlite::Result<DraftRow> {
    let state: String = row.get(2)?;
    let intent: String = row.get(3)?;
    let classification: String = row.get(5)?;
    let decision: String = row.get(10)?;
    Ok(DraftRow {
        id: row.get(0)?,
        turn_message_id: row.get(1)?,
        state: state.parse().map_err(|e| corrupt(2, e))?,
        intent: intent.parse().map_err(|e| corrupt(3, e))?,
        confidence: row.get(4)?,
        classification: serde_json::from_str(&classification)
            .map_err(|e| corrupt(5, e.to_string()))?,
        text: row.get(6)?,
        drafter: row.get(7)?,
        drafter_note: row.get(8)?,
        prompt: row.get(9)?,
        decision: serde_json::from_str(&decision).map_err(|e| corrupt(10, e.to_string()))?,
        priority: row.get(11)?,
        send_at: row.get(12)?,
        final_text: row.get(13)?,
        state_reason: row.get(14)?,
        attempts: row.get(15)?,
        send_started_at: row.get(16)?,
        sent_at: row.get(17)?,
        sent_message_id: row.get(18)?,
        created_at: row.get(19)?,
        updated_at: row.get(20)?,
        findings: serde_json::from_str(&row.get::<_, String>(21)?)
            .map_err(|e| corrupt(21, e.to_string()))?,
        approved_by: row.get(22)?,
        last_buyer_at: row.get(23)?,
        retract_requested_at: row.get(24)?,
        final_findings: row
            .get::<_, Option<String>>(25)?
            .map(|f| serde_json::from_str(&f))
            .transpose()
            .map_err(|e| corrupt(25, e.to_string()))?,
        superseded_at: row.get(26)?,
        dismissed_at: row.get(27)?,
        chat: chat_from_row(row, DRAFT_COLUMN_COUNT)?,
    })
}

fn select_drafts() -> String {
    format!("SELECT {DRAFT_COLUMNS}, {CHAT_COLUMNS} FROM drafts d JOIN chats c ON c.id = d.chat_id")
}

pub fn get_draft(conn: &Connection, id: i64) -> Result<Option<DraftRow>> {
    let sql = format!("{} WHERE d.id = ?1", select_drafts());
    Ok(conn.query_row(&sql, [id], draft_from_row).optional()?)
}

/// The draft answering a given buyer message, if any.
pub fn find_draft(
    conn: &Connection,
    chat_id: i64,
    turn_message_id: i64,
) -> Result<Option<DraftRow>> {
    let sql = format!(
        "{} WHERE d.chat_id = ?1 AND d.turn_message_id = ?2",
        select_drafts()
    );
    Ok(conn
        .query_row(&sql, [chat_id, turn_message_id], draft_from_row)
        .optional()?)
}

#[derive(Debug, Clone, Default)]
pub struct DraftFilter {
    pub states: Vec<DraftState>,
    /// Also drafts the buyer's new message withdrew that no person has put aside.
    pub superseded_unseen: bool,
    pub shop: Option<String>,
    pub marketplace: Option<crate::domain::Marketplace>,
    pub intent: Option<Intent>,
    /// Only chats, reviews or questions.
    pub kind: Option<crate::domain::ThreadKind>,
    pub limit: Option<usize>,
}

pub fn list_drafts(conn: &Connection, filter: &DraftFilter) -> Result<Vec<DraftRow>> {
    let mut sql = format!("{} WHERE 1 = 1", select_drafts());
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    if !filter.states.is_empty() {
        let marks: Vec<String> = filter
            .states
            .iter()
            .map(|s| {
                args.push(s.as_str().to_string().into());
                format!("?{}", args.len())
            })
            .collect();
        let unseen = if filter.superseded_unseen {
            " OR (d.superseded_at IS NOT NULL AND d.dismissed_at IS NULL)"
        } else {
            ""
        };
        sql.push_str(&format!(" AND (d.state IN ({}){unseen})", marks.join(", ")));
    }
    if let Some(shop) = &filter.shop {
        args.push(shop.clone().into());
        sql.push_str(&format!(" AND c.shop = ?{}", args.len()));
    }
    if let Some(mp) = filter.marketplace {
        args.push(mp.code().to_string().into());
        sql.push_str(&format!(" AND c.marketplace = ?{}", args.len()));
    }
    if let Some(intent) = filter.intent {
        args.push(intent.as_str().to_string().into());
        sql.push_str(&format!(" AND d.intent = ?{}", args.len()));
    }
    if let Some(kind) = filter.kind {
        args.push(kind.as_str().to_string().into());
        sql.push_str(&format!(" AND c.kind = ?{}", args.len()));
    }
    sql.push_str(" ORDER BY d.id");
    if let Some(limit) = filter.limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), draft_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn open_drafts_for_chat(conn: &Connection, chat_id: i64) -> Result<Vec<DraftRow>> {
    let sql = format!(
        "{} WHERE d.chat_id = ?1 AND d.state IN ('pending', 'scheduled', 'sending', 'unknown', 'failed') ORDER BY d.id",
        select_drafts()
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([chat_id], draft_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[derive(Debug, Clone, Serialize)]
pub struct DraftEvent {
    pub at: Millis,
    pub actor: String,
    pub from: Option<String>,
    pub to: String,
    pub note: Option<String>,
}

pub fn draft_events(conn: &Connection, id: i64) -> Result<Vec<DraftEvent>> {
    let mut stmt = conn.prepare_cached(
        "SELECT at, actor, from_state, to_state, note FROM draft_events WHERE draft_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok(DraftEvent {
            at: r.get(0)?,
            actor: r.get(1)?,
            from: r.get(2)?,
            to: r.get(3)?,
            note: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A draft claimed for sending: it is `sending` in the database before any
/// HTTP call is made.
#[derive(Debug, Clone)]
pub struct SendJob {
    pub draft_id: i64,
    pub chat: ChatRow,
    pub text: String,
    pub attempt: i64,
    pub started_at: Millis,
    /// The marketplace id of the buyer message this reply answers.
    pub turn_external_id: Option<String>,
}

/// Claim drafts whose send time has come, at most one per chat, and never for a
/// chat that already has a send in flight or of unknown outcome. Drafts of a
/// connector in `paused` (its credentials were rejected) wait where they are
/// without holding back anybody else's.
pub fn claim_due_sends(
    conn: &mut Connection,
    now: Millis,
    limit: usize,
    paused: &[(String, crate::domain::Marketplace)],
) -> Result<Vec<SendJob>> {
    let paused = serde_json::json!(
        paused
            .iter()
            .map(|(shop, mp)| (shop, mp.code()))
            .collect::<Vec<_>>()
    )
    .to_string();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let due: Vec<(i64, i64)> = tx
        .prepare_cached(
            "SELECT id, chat_id FROM (
                SELECT d.id, d.chat_id, d.send_at,
                       ROW_NUMBER() OVER (PARTITION BY d.chat_id ORDER BY d.send_at, d.id) AS nth
                FROM drafts d JOIN chats c ON c.id = d.chat_id
                WHERE d.state = 'scheduled' AND d.send_at <= ?1
                  AND NOT EXISTS (SELECT 1 FROM drafts o WHERE o.chat_id = d.chat_id AND o.state IN ('sending', 'unknown'))
                  AND NOT (d.approved_by IS NULL AND d.effect = 'auto'
                           AND EXISTS (SELECT 1 FROM shop_controls s WHERE s.shop = c.shop AND s.paused = 1))
                  AND NOT EXISTS (SELECT 1 FROM json_each(?3) p
                                  WHERE p.value ->> 0 = c.shop AND p.value ->> 1 = c.marketplace))
             WHERE nth = 1 ORDER BY send_at, id LIMIT ?2",
        )?
        .query_map(params![now, limit as i64, paused], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut jobs = Vec::with_capacity(due.len());
    for (id, chat_id) in due {
        transition_tx(
            &tx,
            id,
            &[DraftState::Scheduled],
            DraftState::Sending,
            "daemon:sender",
            None,
            now,
        )?;
        tx.execute(
            "UPDATE drafts SET attempts = attempts + 1, send_started_at = ?2 WHERE id = ?1",
            params![id, now],
        )?;
        let (text, attempt, turn_external_id): (String, i64, Option<String>) = tx.query_row(
            "SELECT COALESCE(d.final_text, d.text), d.attempts, m.external_id
             FROM drafts d LEFT JOIN messages m ON m.id = d.turn_message_id WHERE d.id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let chat = super::chats::chat_by_id(&tx, chat_id)?
            .ok_or_else(|| StoreError::Corrupt(format!("chat {chat_id} vanished")))?;
        jobs.push(SendJob {
            draft_id: id,
            chat,
            text,
            attempt,
            started_at: now,
            turn_external_id,
        });
    }
    tx.commit()?;
    Ok(jobs)
}

/// Record a delivered send.
pub fn mark_sent(
    conn: &mut Connection,
    id: i64,
    message_id: Option<&str>,
    sent_at: Millis,
    note: &str,
    now: Millis,
) -> Result<(), TransitionError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    transition_tx(
        &tx,
        id,
        &[DraftState::Sending, DraftState::Unknown],
        DraftState::Sent,
        "daemon:sender",
        Some(note),
        now,
    )?;
    tx.execute(
        "UPDATE drafts SET sent_at = COALESCE(sent_at, ?2), sent_message_id = COALESCE(sent_message_id, ?3) WHERE id = ?1",
        params![id, sent_at, message_id],
    )?;
    tx.commit()?;
    Ok(())
}

/// After a restart, a draft still `sending` may or may not have reached the
/// marketplace: it becomes `unknown` and is reconciled against the chat history.
pub fn recover_in_flight(conn: &mut Connection, now: Millis) -> Result<Vec<i64>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let ids: Vec<i64> = tx
        .prepare("SELECT id FROM drafts WHERE state = 'sending'")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in &ids {
        transition_tx(
            &tx,
            *id,
            &[DraftState::Sending],
            DraftState::Unknown,
            "daemon:recovery",
            Some("служба остановилась во время отправки; сначала сверяемся с историей чата"),
            now,
        )?;
    }
    tx.commit()?;
    Ok(ids)
}

/// An unknown send, with what reconciliation needs to decide it.
#[derive(Debug, Clone)]
pub struct UnknownSend {
    pub draft_id: i64,
    pub chat: ChatRow,
    pub send_started_at: Millis,
    /// When polling last read everything the marketplace had for this shop
    /// (chats), or last read this review or question and found no answer.
    pub synced_at: Option<Millis>,
}

pub fn unknown_drafts(conn: &Connection) -> Result<Vec<UnknownSend>> {
    let sql = format!(
        "SELECT d.id, COALESCE(d.send_started_at, d.updated_at),
                CASE WHEN c.kind = 'chat' THEN s.synced_at
                     WHEN f.answer_text IS NULL THEN f.checked_at END,
                {CHAT_COLUMNS}
         FROM drafts d JOIN chats c ON c.id = d.chat_id
         LEFT JOIN sync_state s ON s.shop = c.shop AND s.marketplace = c.marketplace
         LEFT JOIN feedback f ON f.chat_id = c.id
         WHERE d.state = 'unknown' ORDER BY d.id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], |r| {
        Ok(UnknownSend {
            draft_id: r.get(0)?,
            send_started_at: r.get(1)?,
            synced_at: r.get(2)?,
            chat: chat_from_row(r, 3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Pending drafts nobody acted on within `ttl_ms` expire. Silence never approves.
/// Expire pending drafts whose chat no longer accepts a reply: the buyer's
/// last message is older than the marketplace's reply window.
pub fn expire_past_reply_window(
    conn: &mut Connection,
    now: Millis,
    windows: &[(crate::domain::Marketplace, i64)],
) -> Result<Vec<i64>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut ids = Vec::new();
    for (marketplace, window_secs) in windows {
        let found: Vec<i64> = tx
            .prepare_cached(
                "SELECT d.id FROM drafts d JOIN chats c ON c.id = d.chat_id
                 WHERE d.state = 'pending' AND c.marketplace = ?1
                   AND (SELECT MAX(m.created_at) FROM messages m WHERE m.chat_id = d.chat_id AND m.author = 'buyer') <= ?2",
            )?
            .query_map(params![marketplace.code(), now - window_secs * 1000], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let note = format!(
            "устарел: окно ответа на {} закрылось, площадка больше не примет ответ в этот чат",
            marketplace.title()
        );
        for id in found {
            if unless_moved(transition_tx(
                &tx,
                id,
                &[DraftState::Pending],
                DraftState::Expired,
                "daemon:expiry",
                Some(&note),
                now,
            ))?
            .is_some()
            {
                ids.push(id);
            }
        }
    }
    tx.commit()?;
    Ok(ids)
}

/// Why a sent reply cannot be withdrawn.
#[derive(Debug, thiserror::Error)]
pub enum RetractRefusal {
    #[error("черновика №{0} нет")]
    NotFound(i64),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for RetractRefusal {
    fn from(e: rusqlite::Error) -> Self {
        RetractRefusal::Store(e.into())
    }
}

/// Ask the sender to withdraw a sent reply. Refused unless the marketplace
/// allows it and the reply is still inside the marketplace's window.
pub fn request_retract(
    conn: &mut Connection,
    id: i64,
    change: &Change<'_>,
) -> std::result::Result<(), RetractRefusal> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let sql = format!("{} WHERE d.id = ?1", select_drafts());
    let draft = tx
        .query_row(&sql, [id], draft_from_row)
        .optional()?
        .ok_or(RetractRefusal::NotFound(id))?;
    let title = draft.chat.marketplace.title();
    if draft.retract_requested_at.is_some() {
        return Err(RetractRefusal::Refused(format!(
            "черновик №{id} уже отзывается"
        )));
    }
    if draft.state != DraftState::Sent {
        return Err(RetractRefusal::Refused(format!(
            "отозвать можно только отправленный ответ; черновик №{id} сейчас «{}»",
            draft.state.label_ru()
        )));
    }
    if draft.chat.kind == ThreadKind::Chat {
        let Some(window) = draft.chat.marketplace.capabilities().retract_window_secs else {
            return Err(RetractRefusal::Refused(format!(
                "{title} не позволяет удалять отправленные сообщения"
            )));
        };
        let Some(deadline) = draft.retract_deadline() else {
            return Err(RetractRefusal::Refused(format!(
                "{title} не сообщила номер этого сообщения, удалить его через API нельзя"
            )));
        };
        if change.at >= deadline {
            return Err(RetractRefusal::Refused(format!(
                "{title} позволяет удалить сообщение только в течение {} мин после отправки; это время прошло",
                window / 60
            )));
        }
    } else if draft.sent_message_id.is_none() {
        // Whether the marketplace allows deleting an answer is its feedback
        // connector's to say; the sender records a refusal on the draft.
        return Err(RetractRefusal::Refused(format!(
            "{title} не сообщила номер этого ответа, удалить его через API нельзя"
        )));
    }
    tx.execute(
        "UPDATE drafts SET retract_requested_at = ?2, updated_at = ?2 WHERE id = ?1",
        params![id, change.at],
    )?;
    record_event(
        &tx,
        id,
        change.at,
        change.actor,
        Some(DraftState::Sent),
        DraftState::Sent,
        Some(change.note.unwrap_or("попросили отозвать ответ")),
    )?;
    tx.commit()?;
    Ok(())
}

/// A sent reply to withdraw.
#[derive(Debug, Clone)]
pub struct RetractJob {
    pub draft_id: i64,
    pub chat: ChatRow,
    pub message_id: String,
    pub deadline: Option<Millis>,
}

pub fn retract_jobs(conn: &Connection) -> Result<Vec<RetractJob>> {
    let sql = format!(
        "{} WHERE d.retract_requested_at IS NOT NULL AND d.state = 'sent'",
        select_drafts()
    );
    let rows: Vec<DraftRow> = conn
        .prepare_cached(&sql)?
        .query_map([], draft_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|d| {
            Some(RetractJob {
                draft_id: d.id,
                deadline: d.retract_deadline(),
                message_id: d.sent_message_id?,
                chat: d.chat,
            })
        })
        .collect())
}

/// Record how a withdrawal ended: `Ok` moves the draft to `retracted`, an
/// error keeps it `sent` and says why.
pub fn finish_retract(
    conn: &mut Connection,
    id: i64,
    result: std::result::Result<(), String>,
    now: Millis,
) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "UPDATE drafts SET retract_requested_at = NULL WHERE id = ?1",
        [id],
    )?;
    match result {
        Ok(()) => {
            unless_moved(transition_tx(
                &tx,
                id,
                &[DraftState::Sent],
                DraftState::Retracted,
                "daemon:sender",
                Some("ответ удалён из чата"),
                now,
            ))?;
        }
        Err(why) => {
            record_event(
                &tx,
                id,
                now,
                "daemon:sender",
                Some(DraftState::Sent),
                DraftState::Sent,
                Some(&format!("отозвать не удалось: {why}")),
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Ask the sender to replace the published answer of a sent review or
/// question draft with `text` (already checked by the guards).
pub fn request_edit(
    conn: &mut Connection,
    id: i64,
    text: &str,
    change: &Change<'_>,
) -> std::result::Result<(), RetractRefusal> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let sql = format!("{} WHERE d.id = ?1", select_drafts());
    let draft = tx
        .query_row(&sql, [id], draft_from_row)
        .optional()?
        .ok_or(RetractRefusal::NotFound(id))?;
    let pending: (Option<Millis>, Option<Millis>) = tx.query_row(
        "SELECT edit_requested_at, retract_requested_at FROM drafts WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let refuse = |why: String| Err(RetractRefusal::Refused(why));
    if draft.chat.kind == ThreadKind::Chat {
        return refuse("изменить после отправки можно только ответ на отзыв или вопрос".into());
    }
    if draft.state != DraftState::Sent {
        return refuse(format!(
            "изменить можно только отправленный ответ; черновик №{id} сейчас «{}»",
            draft.state.label_ru()
        ));
    }
    if pending.0.is_some() || pending.1.is_some() {
        return refuse(format!("черновик №{id} уже меняется или отзывается"));
    }
    if draft.sent_message_id.is_none() {
        return refuse(format!(
            "{} не сообщила номер этого ответа, изменить его через API нельзя",
            draft.chat.marketplace.title()
        ));
    }
    tx.execute(
        "UPDATE drafts SET edit_text = ?2, edit_requested_at = ?3, edit_started_at = NULL, updated_at = ?3 WHERE id = ?1",
        params![id, text, change.at],
    )?;
    record_event(
        &tx,
        id,
        change.at,
        change.actor,
        Some(DraftState::Sent),
        DraftState::Sent,
        Some(change.note.unwrap_or("попросили изменить ответ")),
    )?;
    tx.commit()?;
    Ok(())
}

/// A published answer to replace.
#[derive(Debug, Clone)]
pub struct EditJob {
    pub draft_id: i64,
    pub chat: ChatRow,
    pub message_id: String,
    pub text: String,
    /// When the answer was first published.
    pub sent_at: Option<Millis>,
    /// Edits already made (or possibly made: an unknown outcome counts).
    pub edits_made: u32,
}

/// Claim the edits people asked for: each is marked started before it is
/// handed out, so it is made at most once. An edit found started here was
/// cut short by a crash; it is reported as of unknown outcome, not made again.
pub fn claim_edits(conn: &mut Connection, now: Millis) -> Result<Vec<EditJob>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let interrupted: Vec<i64> = tx
        .prepare_cached(
            "SELECT id FROM drafts WHERE edit_requested_at IS NOT NULL AND edit_started_at IS NOT NULL",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in interrupted {
        end_edit(
            &tx,
            id,
            Err(EditFailure::Unknown(
                "изменение прервалось вместе с демоном".into(),
            )),
            now,
        )?;
    }
    let rows: Vec<(i64, String, u32)> = tx
        .prepare_cached(
            "SELECT id, edit_text, edits_made FROM drafts WHERE edit_requested_at IS NOT NULL
             AND edit_started_at IS NULL AND edit_text IS NOT NULL AND state = 'sent'",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut jobs = Vec::new();
    for (id, text, edits_made) in rows {
        let Some(d) = get_draft(&tx, id)? else {
            continue;
        };
        let Some(message_id) = d.sent_message_id else {
            continue;
        };
        tx.execute(
            "UPDATE drafts SET edit_started_at = ?2 WHERE id = ?1",
            params![d.id, now],
        )?;
        jobs.push(EditJob {
            draft_id: d.id,
            chat: d.chat,
            message_id,
            text,
            sent_at: d.sent_at,
            edits_made,
        });
    }
    tx.execute(
        "UPDATE drafts SET edit_requested_at = NULL, edit_text = NULL
         WHERE edit_requested_at IS NOT NULL AND state <> 'sent'",
        [],
    )?;
    tx.commit()?;
    Ok(jobs)
}

/// Why an edit did not go through.
#[derive(Debug, Clone)]
pub enum EditFailure {
    /// The marketplace refused it: nothing changed.
    Refused(String),
    /// It may or may not have been made; never made again on our side.
    Unknown(String),
}

/// Record how an edit ended: `Ok` makes the new text the draft's sent text.
pub fn finish_edit(
    conn: &mut Connection,
    id: i64,
    result: std::result::Result<(), EditFailure>,
    now: Millis,
) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    end_edit(&tx, id, result, now)?;
    tx.commit()?;
    Ok(())
}

fn end_edit(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    result: std::result::Result<(), EditFailure>,
    now: Millis,
) -> Result<()> {
    let note = match &result {
        Ok(()) => {
            tx.execute(
                "UPDATE drafts SET final_text = edit_text, updated_at = ?2 WHERE id = ?1 AND edit_text IS NOT NULL",
                params![id, now],
            )?;
            "ответ изменён на площадке".to_string()
        }
        Err(EditFailure::Refused(why)) => format!("изменить ответ не удалось: {why}"),
        Err(EditFailure::Unknown(why)) => format!(
            "исход изменения неизвестен ({why}); повторно не отправляем — проверьте ответ на площадке"
        ),
    };
    if !matches!(result, Err(EditFailure::Refused(_))) {
        // A made edit, and one that may have been made, use up the
        // marketplace's allowance of edits.
        tx.execute(
            "UPDATE drafts SET edits_made = edits_made + 1 WHERE id = ?1",
            [id],
        )?;
    }
    tx.execute(
        "UPDATE drafts SET edit_text = NULL, edit_requested_at = NULL, edit_started_at = NULL WHERE id = ?1",
        [id],
    )?;
    record_event(
        tx,
        id,
        now,
        "daemon:sender",
        Some(DraftState::Sent),
        DraftState::Sent,
        Some(&note),
    )?;
    Ok(())
}

pub fn expire_stale(conn: &mut Connection, now: Millis, ttl_ms: i64) -> Result<Vec<i64>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let ids: Vec<i64> = tx
        .prepare_cached("SELECT id FROM drafts WHERE state = 'pending' AND created_at <= ?1")?
        .query_map([now - ttl_ms], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let note = "устарел: никто не одобрил вовремя";
    let mut expired = Vec::with_capacity(ids.len());
    for id in ids {
        let moved = transition_tx(
            &tx,
            id,
            &[DraftState::Pending],
            DraftState::Expired,
            "daemon:expiry",
            Some(note),
            now,
        );
        if unless_moved(moved)?.is_some() {
            expired.push(id);
        }
    }
    tx.commit()?;
    Ok(expired)
}

/// How many auto-replies went out recently, and whether an earlier send to
/// the chat is still unsettled. Feeds the gate's caps and floor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AutoCounts {
    pub chat_today: u32,
    pub chat_in_window: u32,
    pub shop_last_hour: u32,
    pub chat_unsettled: bool,
}

pub fn auto_counts(
    conn: &Connection,
    chat_id: i64,
    shop: &str,
    day_start: Millis,
    window_start: Millis,
    hour_start: Millis,
) -> Result<AutoCounts> {
    // Per chat, through `drafts_by_chat`.
    let (chat_today, chat_in_window, chat_unsettled): (u32, u32, bool) = conn
        .prepare_cached(
            "SELECT COALESCE(SUM(effect = 'auto' AND state IN ('scheduled', 'sending', 'sent', 'unknown') AND created_at >= ?2), 0),
                    COALESCE(SUM(effect = 'auto' AND state IN ('scheduled', 'sending', 'sent', 'unknown') AND created_at >= ?3), 0),
                    COALESCE(MAX(state IN ('failed', 'unknown')), 0)
             FROM drafts WHERE chat_id = ?1",
        )?
        .query_row(params![chat_id, day_start, window_start], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    // Per shop, through `drafts_by_state (state, send_at)`: an auto draft's
    // send time is never before its creation, so only the last hour's outbox
    // rows are read, not every draft the shop (or the fleet) ever had.
    let shop_last_hour: u32 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM drafts d CROSS JOIN chats c ON c.id = d.chat_id
             WHERE d.state IN ('scheduled', 'sending', 'sent', 'unknown') AND d.send_at >= ?2
               AND d.effect = 'auto' AND d.created_at >= ?2 AND c.shop = ?1",
        )?
        .query_row(params![shop, hour_start], |r| r.get(0))?;
    Ok(AutoCounts {
        chat_today,
        chat_in_window,
        shop_last_hour,
        chat_unsettled,
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::domain::Marketplace;
    use crate::store::Store;

    const NOW: Millis = 1_000_000;

    /// Every change of a draft's state fails inside SQLite, as a write to a
    /// broken database would.
    pub(in crate::store) const REFUSE_STATE_CHANGES: &str = "CREATE TRIGGER refuse BEFORE UPDATE OF state ON drafts BEGIN SELECT RAISE(ABORT, 'refused'); END;";

    /// The database is full: the next change of a draft's state needs more
    /// room than there is.
    pub(in crate::store) fn fill_up(c: &Connection) {
        c.execute_batch(
            "CREATE TABLE ballast (b BLOB);
             CREATE TRIGGER fill BEFORE UPDATE OF state ON drafts BEGIN INSERT INTO ballast VALUES (zeroblob(1000000)); END;",
        )
        .unwrap();
        let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
        c.pragma_update(None, "max_page_count", pages).unwrap();
    }

    /// A chat of `shop` on `mp` with one draft per `(state, approved, send_at)`.
    pub(in crate::store) fn chat_with_drafts(
        c: &Connection,
        shop: &str,
        mp: Marketplace,
        chat: &str,
        drafts: &[(&str, bool, Millis)],
    ) -> Vec<i64> {
        let chat_id: i64 = c
            .query_row(
                "INSERT INTO chats (shop, marketplace, external_id, created_at) VALUES (?1, ?2, ?3, 0) RETURNING id",
                params![shop, mp.code(), chat],
                |r| r.get(0),
            )
            .unwrap();
        drafts
            .iter()
            .enumerate()
            .map(|(i, (state, approved, send_at))| {
                let message: i64 = c
                    .query_row(
                        "INSERT INTO messages (chat_id, external_id, author, text, created_at, stored_at)
                         VALUES (?1, ?2, 'buyer', 'когда?', 0, 0) RETURNING id",
                        params![chat_id, format!("m{i}")],
                        |r| r.get(0),
                    )
                    .unwrap();
                c.query_row(
                    "INSERT INTO drafts (chat_id, turn_message_id, state, intent, confidence, classification, text,
                                         drafter, decision, effect, send_at, approved_by, created_at, updated_at)
                     VALUES (?1, ?2, ?3, 'other', 1.0, '{}', 'Отправим завтра', 'template', '{}', 'auto', ?4, ?5, 0, 0)
                     RETURNING id",
                    params![chat_id, message, state, send_at, approved.then_some("cli:alice")],
                    |r| r.get(0),
                )
                .unwrap()
            })
            .collect()
    }

    fn claim(store: &Store, limit: usize, paused: &[(String, Marketplace)]) -> Vec<i64> {
        let paused = paused.to_vec();
        store
            .call_blocking(|c| claim_due_sends(c, NOW, limit, &paused))
            .unwrap()
            .iter()
            .map(|j| j.draft_id)
            .collect()
    }

    #[test]
    fn edits_of_a_published_answer_are_counted_and_an_unknown_one_counts_too() {
        let store = Store::open_in_memory().unwrap();
        let id = store
            .call_blocking(|c| {
                let ids = chat_with_drafts(
                    c,
                    "a",
                    Marketplace::Wildberries,
                    "r:1",
                    &[("sent", true, 0)],
                );
                c.execute_batch(
                    r#"UPDATE chats SET kind = 'review';
                       UPDATE drafts SET sent_message_id = 'answer', sent_at = 500,
                         classification = '{"intent":"other","confidence":1.0,"reasons":[],"flags":[],"source":"rules"}',
                         decision = '{"effect":"auto","rules":[],"reasons":[]}';"#,
                )?;
                Ok(ids[0])
            })
            .unwrap();
        let change = Change {
            actor: "cli:alice",
            note: None,
            at: NOW,
        };
        let edit_and_claim = |text: &str, result: std::result::Result<(), EditFailure>| {
            let text = text.to_string();
            let result = result.clone();
            store
                .call_blocking(move |c| {
                    request_edit(c, id, &text, &change).map_err(|e| match e {
                        RetractRefusal::Store(e) => e,
                        other => panic!("{other:?}"),
                    })?;
                    let jobs = claim_edits(c, NOW)?;
                    finish_edit(c, id, result, NOW)?;
                    Ok(jobs)
                })
                .unwrap()
        };
        let first = edit_and_claim("Спасибо!", Ok(()));
        assert_eq!(first.len(), 1);
        assert_eq!((first[0].edits_made, first[0].sent_at), (0, Some(500)));
        let second = edit_and_claim(
            "Спасибо за отзыв!",
            Err(EditFailure::Unknown("обрыв".into())),
        );
        assert_eq!(second[0].edits_made, 1);
        let third = edit_and_claim("Спасибо большое!", Err(EditFailure::Refused("нет".into())));
        assert_eq!(third[0].edits_made, 2, "an unknown outcome counts as made");
        let fourth = edit_and_claim("Ещё раз спасибо!", Ok(()));
        assert_eq!(fourth[0].edits_made, 2, "a refused edit does not count");
    }

    #[test]
    fn a_buyer_message_in_the_same_second_as_the_reply_before_it_is_still_answered() {
        let store = Store::open_in_memory().unwrap();
        let outcomes = store
            .call_blocking(|c| {
                let chat: i64 = c.query_row(
                    "INSERT INTO chats (shop, marketplace, external_id, created_at) VALUES ('a', 'ym', '1', 0) RETURNING id",
                    [],
                    |r| r.get(0),
                )?;
                let add = |author: &str, at: Millis| -> Result<i64> {
                    Ok(c.query_row(
                        "INSERT INTO messages (chat_id, external_id, author, text, created_at, stored_at)
                         VALUES (?1, ?2, ?3, 'текст', ?4, 0) RETURNING id",
                        params![chat, format!("{author}{at}-{}", rand::random::<u32>()), author, at],
                        |r| r.get(0),
                    )?)
                };
                // Times to the second: our reply, then the buyer in that second.
                add("buyer", 1_000)?;
                add("seller", 2_000)?;
                let after_reply = add("buyer", 2_000)?;
                let first = store_draft_tx(c, &NewDraft::queued(chat, after_reply, "Заказ в пути."), NOW)?;
                // A person's reply stored after a buyer message of its second answers it.
                let asked = add("buyer", 3_000)?;
                add("seller", 3_000)?;
                let second = store_draft_tx(c, &NewDraft::queued(chat, asked, "Заказ в пути."), NOW)?;
                Ok((first, second))
            })
            .unwrap();
        assert!(
            matches!(outcomes.0, StoreDraftOutcome::Stored { .. }),
            "{:?}",
            outcomes.0
        );
        assert_eq!(outcomes.1, StoreDraftOutcome::AnsweredMeanwhile);
    }

    #[test]
    fn a_shop_with_rejected_credentials_does_not_block_other_shops() {
        let store = Store::open_in_memory().unwrap();
        let other = store
            .call_blocking(|c| {
                for i in 0..50 {
                    let chat = format!("revoked{i}");
                    chat_with_drafts(c, "a", Marketplace::Ozon, &chat, &[("scheduled", true, i)]);
                }
                Ok(chat_with_drafts(
                    c,
                    "b",
                    Marketplace::Ozon,
                    "fine",
                    &[("scheduled", true, 100)],
                ))
            })
            .unwrap();
        let paused = [("a".to_string(), Marketplace::Ozon)];
        assert_eq!(claim(&store, 4, &paused), other);
    }

    #[test]
    fn the_same_shop_on_another_marketplace_still_sends() {
        let store = Store::open_in_memory().unwrap();
        let wb = store
            .call_blocking(|c| {
                chat_with_drafts(c, "a", Marketplace::Ozon, "o", &[("scheduled", true, 1)]);
                Ok(chat_with_drafts(
                    c,
                    "a",
                    Marketplace::Wildberries,
                    "w",
                    &[("scheduled", true, 2)],
                ))
            })
            .unwrap();
        let paused = [("a".to_string(), Marketplace::Ozon)];
        assert_eq!(claim(&store, 4, &paused), wb);
    }

    #[test]
    fn one_send_per_chat_and_a_busy_chat_does_not_starve_others() {
        let store = Store::open_in_memory().unwrap();
        let (busy, quiet) = store
            .call_blocking(|c| {
                let many: Vec<(&str, bool, Millis)> =
                    (0..20).map(|i| ("scheduled", true, i)).collect();
                let busy = chat_with_drafts(c, "a", Marketplace::Ozon, "busy", &many);
                let quiet = chat_with_drafts(
                    c,
                    "a",
                    Marketplace::Ozon,
                    "quiet",
                    &[("scheduled", true, 50)],
                );
                Ok((busy, quiet))
            })
            .unwrap();
        assert_eq!(claim(&store, 2, &[]), vec![busy[0], quiet[0]]);
        assert!(
            claim(&store, 2, &[]).is_empty(),
            "both chats have a send in flight"
        );
    }

    #[test]
    fn a_chat_with_a_send_in_flight_or_unknown_is_skipped() {
        let store = Store::open_in_memory().unwrap();
        let free = store
            .call_blocking(|c| {
                chat_with_drafts(
                    c,
                    "a",
                    Marketplace::Ozon,
                    "sending",
                    &[("sending", true, 0), ("scheduled", true, 1)],
                );
                chat_with_drafts(
                    c,
                    "a",
                    Marketplace::Ozon,
                    "unknown",
                    &[("unknown", true, 0), ("scheduled", true, 1)],
                );
                Ok(chat_with_drafts(
                    c,
                    "a",
                    Marketplace::Ozon,
                    "free",
                    &[("sent", true, 0), ("scheduled", true, 2)],
                ))
            })
            .unwrap();
        assert_eq!(claim(&store, 10, &[]), vec![free[1]]);
    }

    #[test]
    fn claims_the_earliest_due_up_to_the_limit() {
        let store = Store::open_in_memory().unwrap();
        let ids = store
            .call_blocking(|c| {
                Ok([5, 3, NOW + 1, 4, 1]
                    .iter()
                    .enumerate()
                    .map(|(i, at)| {
                        let chat = format!("c{i}");
                        chat_with_drafts(
                            c,
                            "a",
                            Marketplace::Ozon,
                            &chat,
                            &[("scheduled", true, *at)],
                        )[0]
                    })
                    .collect::<Vec<_>>())
            })
            .unwrap();
        assert_eq!(claim(&store, 3, &[]), vec![ids[4], ids[1], ids[3]]);
        assert_eq!(claim(&store, 3, &[]), vec![ids[0]], "not yet due stays");
        let claimed: (String, i64) = store
            .call_blocking(|c| {
                Ok(c.query_row(
                    "SELECT state, attempts FROM drafts WHERE id = ?1",
                    [ids[4]],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            })
            .unwrap();
        assert_eq!(claimed, ("sending".to_string(), 1));
    }

    #[test]
    fn a_paused_shop_holds_its_auto_replies_but_sends_approved_ones() {
        let store = Store::open_in_memory().unwrap();
        let approved = store
            .call_blocking(|c| {
                chat_with_drafts(
                    c,
                    "a",
                    Marketplace::Ozon,
                    "auto",
                    &[("scheduled", false, 0)],
                );
                let approved =
                    chat_with_drafts(c, "a", Marketplace::Ozon, "ok", &[("scheduled", true, 1)]);
                crate::store::resume(c, "a", "cli:alice", 0)?;
                c.execute("UPDATE shop_controls SET paused = 1", [])?;
                Ok(approved)
            })
            .unwrap();
        assert_eq!(claim(&store, 10, &[]), approved);
    }
    #[test]
    fn a_full_database_inside_a_claim_is_reported_as_full() {
        let store = Store::open_in_memory().unwrap();
        let err = store
            .call_blocking(|c| {
                chat_with_drafts(c, "a", Marketplace::Ozon, "c", &[("scheduled", true, 0)]);
                fill_up(c);
                claim_due_sends(c, NOW, 10, &[])
            })
            .unwrap_err();
        assert_eq!(
            err.environmental(),
            Some("на диске кончилось место для базы данных"),
            "{err:?}"
        );
    }
}
