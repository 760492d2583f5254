//! Telling a person that something needs them now (escalations): the log
//! always, and a webhook if one is configured.

use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Escalation {
    pub shop: String,
    pub marketplace: String,
    pub chat_id: String,
    pub draft_id: i64,
    pub intent: String,
    pub reason: String,
    pub buyer_text: String,
}

/// POST the escalation as JSON. Failures are logged; they never affect the draft.
pub async fn escalate(webhook: Option<String>, timeout: Duration, e: Escalation) {
    tracing::warn!(shop = %e.shop, draft = e.draft_id, intent = %e.intent, "escalated to a person: {}", e.reason);
    let Some(url) = webhook else { return };
    let client = crate::marketplace::http_client(timeout);
    match client.post(url).json(&e).send().await {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => {
            tracing::error!(status = %r.status(), "the escalation webhook refused the notification")
        }
        Err(err) => {
            tracing::error!(error = %crate::marketplace::describe_transport_error(&err), "the escalation webhook is unreachable")
        }
    }
}
