//! LLM usage and spending, for reports and budgets.

use rusqlite::{Connection, params};
use serde::Serialize;

use super::Result;

/// One call to one provider, as the store records it.
#[derive(Debug, Clone)]
pub struct UsageRecord {
    pub provider: String,
    pub model: String,
    pub ok: bool,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost: f64,
}

pub fn record_usage(
    conn: &mut Connection,
    shop: &str,
    day: &str,
    records: &[UsageRecord],
) -> Result<()> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO llm_usage (shop, provider, model, day, calls, failures, prompt_tokens, completion_tokens, cost)
             VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7, ?8)
             ON CONFLICT (shop, provider, model, day) DO UPDATE SET
                calls = calls + 1,
                failures = failures + excluded.failures,
                prompt_tokens = prompt_tokens + excluded.prompt_tokens,
                completion_tokens = completion_tokens + excluded.completion_tokens,
                cost = cost + excluded.cost",
        )?;
        for r in records {
            stmt.execute(params![
                shop,
                r.provider,
                r.model,
                day,
                i64::from(!r.ok),
                r.prompt_tokens as i64,
                r.completion_tokens as i64,
                r.cost
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// What a shop spent on `day` (YYYY-MM-DD) and in that day's month.
pub fn spent(conn: &Connection, shop: &str, day: &str) -> Result<(f64, f64)> {
    let month = &day[..day.len().min(7)];
    Ok(conn.query_row(
        "SELECT COALESCE(SUM(CASE WHEN day = ?2 THEN cost END), 0), COALESCE(SUM(cost), 0)
         FROM llm_usage WHERE shop = ?1 AND substr(day, 1, 7) = ?3",
        params![shop, day, month],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UsageRow {
    pub day: String,
    pub shop: String,
    pub provider: String,
    pub model: String,
    pub calls: i64,
    pub failures: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cost: f64,
}

pub fn usage_report(
    conn: &Connection,
    shop: Option<&str>,
    since: Option<&str>,
) -> Result<Vec<UsageRow>> {
    let mut stmt = conn.prepare(
        "SELECT day, shop, provider, model, calls, failures, prompt_tokens, completion_tokens, cost FROM llm_usage
         WHERE (?1 IS NULL OR shop = ?1) AND (?2 IS NULL OR day >= ?2)
         ORDER BY day, shop, provider, model",
    )?;
    let rows = stmt.query_map(params![shop, since], |r| {
        Ok(UsageRow {
            day: r.get(0)?,
            shop: r.get(1)?,
            provider: r.get(2)?,
            model: r.get(3)?,
            calls: r.get(4)?,
            failures: r.get(5)?,
            prompt_tokens: r.get(6)?,
            completion_tokens: r.get(7)?,
            cost: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
