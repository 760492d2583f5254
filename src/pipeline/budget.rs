//! LLM spending against a shop's caps, and recording what each call cost.

use super::LlmBudget;
use crate::config::Settings;
use crate::llm::chain::Attempt;
use crate::shop::Shop;
use crate::store::{self, Store, UsageRecord};

/// The shop's local date, the unit of daily budgets and usage.
pub fn local_day(shop: &Shop) -> String {
    shop.local_now().strftime("%Y-%m-%d").to_string()
}

/// Whether the shop may spend on its LLM now.
pub async fn current(store: &Store, shop: &Shop) -> store::Result<LlmBudget> {
    let budget = &shop.settings.budget;
    if shop.llm.is_none() || (budget.daily.is_none() && budget.monthly.is_none()) {
        return Ok(LlmBudget::Available);
    }
    let (id, day) = (shop.id.clone(), local_day(shop));
    let (today, month) = store.read(move |c| store::spent(c, &id, &day)).await?;
    if let Some(cap) = budget.daily.filter(|cap| today >= *cap) {
        return Ok(LlmBudget::Exhausted {
            why: format!("дневной бюджет на LLM исчерпан ({today:.2} из {cap:.2})"),
        });
    }
    if let Some(cap) = budget.monthly.filter(|cap| month >= *cap) {
        return Ok(LlmBudget::Exhausted {
            why: format!("месячный бюджет на LLM исчерпан ({month:.2} из {cap:.2})"),
        });
    }
    Ok(LlmBudget::Available)
}

/// Tokens and cost of each attempt, at the configured prices.
pub fn records(settings: &Settings, attempts: &[Attempt]) -> Vec<UsageRecord> {
    attempts
        .iter()
        .map(|a| {
            let (prompt, completion) = a
                .result
                .as_ref()
                .map(|(p, c)| (p.unwrap_or(0), c.unwrap_or(0)))
                .unwrap_or((0, 0));
            let price = settings.llm.providers.get(&a.provider);
            let cost = price.map_or(0.0, |p| {
                prompt as f64 / 1000.0 * p.price_per_1k_prompt
                    + completion as f64 / 1000.0 * p.price_per_1k_completion
            });
            UsageRecord {
                provider: a.provider.clone(),
                model: a.model.clone(),
                ok: a.result.is_ok(),
                prompt_tokens: prompt,
                completion_tokens: completion,
                cost,
            }
        })
        .collect()
}

pub async fn record(
    store: &Store,
    settings: &Settings,
    shop: &Shop,
    attempts: &[Attempt],
) -> store::Result<()> {
    if attempts.is_empty() {
        return Ok(());
    }
    let records = records(settings, attempts);
    let (id, day) = (shop.id.clone(), local_day(shop));
    store
        .call(move |c| store::record_usage(c, &id, &day, &records))
        .await
}
