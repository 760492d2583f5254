//! People's corrections of a turn's intent. Each becomes a training example
//! of that shop's intent model at its next reload.

use rusqlite::{Connection, params};

use super::{Result, Store, StoreError};
use crate::analysis::classify::Labelled;
use crate::domain::{Intent, Millis};

/// How much a correction counts against one shipped example.
pub const CORRECTION_WEIGHT: f32 = 3.0;

#[derive(Debug, Clone)]
pub struct NewCorrection<'a> {
    pub shop: &'a str,
    pub draft_id: Option<i64>,
    pub text: &'a str,
    pub was: Intent,
    pub intent: Intent,
    pub actor: &'a str,
    pub at: Millis,
}

pub fn add_correction(conn: &Connection, c: &NewCorrection<'_>) -> Result<i64> {
    conn.execute(
        "INSERT INTO intent_corrections (shop, draft_id, text, was, intent, actor, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            c.shop,
            c.draft_id,
            c.text,
            c.was.as_str(),
            c.intent.as_str(),
            c.actor,
            c.at
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// A shop's corrections as training examples, oldest first; a later
/// correction of the same text replaces an earlier one.
pub fn corrections_for(conn: &Connection, shop: &str) -> Result<Vec<Labelled>> {
    let mut stmt = conn.prepare_cached(
        "SELECT text, intent FROM intent_corrections c
          WHERE shop = ?1
            AND id = (SELECT max(id) FROM intent_corrections d WHERE d.shop = c.shop AND d.text = c.text)
          ORDER BY id",
    )?;
    let rows = stmt.query_map([shop], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (text, intent) = row?;
        let intent = intent
            .parse::<Intent>()
            .map_err(|e| StoreError::Corrupt(format!("intent correction: {e}")))?;
        out.push(Labelled {
            text,
            intent,
            weight: CORRECTION_WEIGHT,
            correction: true,
        });
    }
    Ok(out)
}

/// Per shop, how many corrections there are and the newest id: what the
/// reloader compares to know a shop's model needs retraining.
pub fn correction_marks(conn: &Connection) -> Result<Vec<(String, i64)>> {
    let mut stmt =
        conn.prepare_cached("SELECT shop, max(id) FROM intent_corrections GROUP BY shop")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// A person's correction of a draft's intent: the correction is kept as a
/// training example, the draft shows the new intent, and its history says who
/// changed it. One transaction.
pub fn retag_draft(
    conn: &mut Connection,
    c: &NewCorrection<'_>,
    state: crate::domain::DraftState,
) -> Result<i64> {
    let tx = conn.transaction()?;
    let id = add_correction(&tx, c)?;
    if let Some(draft) = c.draft_id {
        tx.execute(
            "UPDATE drafts SET intent = ?2 WHERE id = ?1",
            params![draft, c.intent.as_str()],
        )?;
        let note = format!(
            "тема исправлена: «{}» → «{}»",
            c.was.label_ru(),
            c.intent.label_ru()
        );
        super::drafts::record_event(&tx, draft, c.at, c.actor, Some(state), state, Some(&note))?;
    }
    tx.commit()?;
    Ok(id)
}

impl Store {
    pub async fn intent_corrections(&self, shop: &str) -> Result<Vec<Labelled>> {
        let shop = shop.to_string();
        self.read(move |c| corrections_for(c, &shop)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_correction_of_a_text_wins() {
        let store = Store::open_in_memory().unwrap();
        store
            .call_blocking(|c| {
                for (intent, at) in [(Intent::Other, 1), (Intent::HumanRequest, 2)] {
                    add_correction(
                        c,
                        &NewCorrection {
                            shop: "s",
                            draft_id: None,
                            text: "позовите старшего",
                            was: Intent::Greeting,
                            intent,
                            actor: "cli:anna",
                            at,
                        },
                    )?;
                }
                let got = corrections_for(c, "s")?;
                assert_eq!(got.len(), 1);
                assert_eq!(got[0].intent, Intent::HumanRequest);
                assert!(corrections_for(c, "other")?.is_empty());
                assert_eq!(correction_marks(c)?, vec![("s".to_string(), 2)]);
                Ok(())
            })
            .unwrap();
    }
}
