//! Web queue sessions. Only a hash of the cookie's token is stored, so
//! reading the database does not let anyone log in.

use rusqlite::{Connection, OptionalExtension, params};

use super::Result;
use crate::domain::Millis;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    pub name: String,
    pub csrf: String,
    pub expires_at: Millis,
}

/// Keep a new session, and forget the ones that have expired.
pub fn save_session(
    conn: &mut Connection,
    token_hash: &str,
    session: &StoredSession,
    now: Millis,
) -> Result<()> {
    let tx = conn.transaction()?;
    tx.execute("DELETE FROM web_sessions WHERE expires_at <= ?1", [now])?;
    tx.execute(
        "INSERT OR REPLACE INTO web_sessions (token_hash, name, csrf, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            token_hash,
            session.name,
            session.csrf,
            now,
            session.expires_at
        ],
    )?;
    tx.commit()?;
    Ok(())
}

/// The session with this token hash, unless it has expired.
pub fn load_session(
    conn: &Connection,
    token_hash: &str,
    now: Millis,
) -> Result<Option<StoredSession>> {
    Ok(conn
        .prepare_cached(
            "SELECT name, csrf, expires_at FROM web_sessions WHERE token_hash = ?1 AND expires_at > ?2",
        )?
        .query_row(params![token_hash, now], |r| {
            Ok(StoredSession {
                name: r.get(0)?,
                csrf: r.get(1)?,
                expires_at: r.get(2)?,
            })
        })
        .optional()?)
}

pub fn delete_session(conn: &mut Connection, token_hash: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM web_sessions WHERE token_hash = ?1",
        [token_hash],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn a_session_is_found_until_it_expires_and_gone_after_logout() {
        let store = Store::open_in_memory().unwrap();
        let s = StoredSession {
            name: "Оля".into(),
            csrf: "c".into(),
            expires_at: 2_000,
        };
        store
            .call_blocking(|c| save_session(c, "h", &s, 1_000))
            .unwrap();
        assert_eq!(
            store
                .call_blocking(|c| load_session(c, "h", 1_500))
                .unwrap(),
            Some(s.clone())
        );
        assert_eq!(
            store
                .call_blocking(|c| load_session(c, "h", 2_000))
                .unwrap(),
            None
        );
        store.call_blocking(|c| delete_session(c, "h")).unwrap();
        assert_eq!(
            store
                .call_blocking(|c| load_session(c, "h", 1_500))
                .unwrap(),
            None
        );
    }
}
