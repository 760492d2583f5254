//! Prometheus metrics: counters the services bump as things happen, and
//! figures read when `/metrics` is scraped (queue, connectors, marketplace
//! requests), rendered in the OpenMetrics text format. One [`Metrics`] per
//! running daemon, owned by its `Runtime`, so two daemons in one process (the
//! tests) never share counts.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::domain::{Effect, Intent, Marketplace};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MarketplaceLabel {
    marketplace: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DraftLabels {
    intent: &'static str,
    decision: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SendLabels {
    marketplace: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabel {
    provider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    provider: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    provider: String,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectorLabels {
    marketplace: &'static str,
    state: &'static str,
}

/// What happened to a draft, as the outcome counter names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftOutcome {
    /// Scheduled by a policy rule without a person.
    Auto,
    /// A person approved it: in the web queue, in Telegram or with the CLI
    /// (counted from the audit trail, [`Metrics::decision_tally`]).
    Approved,
    /// A person rejected it, wherever they did.
    Rejected,
    /// Nobody acted on it in time, or the reply window closed.
    Expired,
}

impl DraftOutcome {
    fn as_str(self) -> &'static str {
        match self {
            DraftOutcome::Auto => "auto",
            DraftOutcome::Approved => "approved",
            DraftOutcome::Rejected => "rejected",
            DraftOutcome::Expired => "expired",
        }
    }
}

/// How a send ended, as the send counter names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendOutcome {
    Sent,
    Failed,
    Unknown,
    Retry,
}

impl SendOutcome {
    fn as_str(self) -> &'static str {
        match self {
            SendOutcome::Sent => "sent",
            SendOutcome::Failed => "failed",
            SendOutcome::Unknown => "unknown",
            SendOutcome::Retry => "retry",
        }
    }
}

/// One LLM attempt, as the provider counters see it.
#[derive(Debug, Clone)]
pub struct LlmCall<'a> {
    pub provider: &'a str,
    pub ok: bool,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost: f64,
    pub elapsed: Duration,
}

/// The counters of one running daemon.
pub struct Metrics {
    registry: Registry,
    turns: Family<MarketplaceLabel, Counter>,
    drafts: Family<DraftLabels, Counter>,
    outcomes: Family<OutcomeLabel, Counter>,
    sends: Family<SendLabels, Counter>,
    send_seconds: Family<MarketplaceLabel, Histogram>,
    llm_calls: Family<CallLabels, Counter>,
    llm_tokens: Family<TokenLabels, Counter>,
    llm_cost: Family<ProviderLabel, Counter<f64, std::sync::atomic::AtomicU64>>,
    llm_seconds: Family<ProviderLabel, Histogram>,
    reload_errors: Counter,
    /// The last audit-trail event whose decision is counted; `None` until
    /// the daemon starts the tally.
    decisions_seen: tokio::sync::Mutex<Option<i64>>,
}

fn latency_histogram() -> Histogram {
    // 5 ms … ~41 s
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("agentiq");
        let m = Metrics {
            turns: Family::default(),
            drafts: Family::default(),
            outcomes: Family::default(),
            sends: Family::default(),
            send_seconds: Family::new_with_constructor(latency_histogram),
            llm_calls: Family::default(),
            llm_tokens: Family::default(),
            llm_cost: Family::default(),
            llm_seconds: Family::new_with_constructor(latency_histogram),
            reload_errors: Counter::default(),
            decisions_seen: tokio::sync::Mutex::new(None),
            registry: Registry::default(),
        };
        registry.register(
            "buyer_turns_ingested",
            "Buyer messages stored from marketplaces",
            m.turns.clone(),
        );
        registry.register(
            "drafts_created",
            "Drafts stored, by intent and the policy's decision",
            m.drafts.clone(),
        );
        registry.register(
            "draft_outcomes",
            "Drafts scheduled automatically, approved, rejected or expired",
            m.outcomes.clone(),
        );
        registry.register(
            "sends",
            "Send attempts to marketplaces, by outcome",
            m.sends.clone(),
        );
        registry.register_with_unit(
            "send_duration",
            "Time of one send call to a marketplace",
            Unit::Seconds,
            m.send_seconds.clone(),
        );
        registry.register(
            "llm_calls",
            "LLM calls per provider, by outcome",
            m.llm_calls.clone(),
        );
        registry.register(
            "llm_tokens",
            "LLM tokens per provider, prompt and completion",
            m.llm_tokens.clone(),
        );
        registry.register(
            "llm_cost",
            "LLM spending per provider at the configured prices",
            m.llm_cost.clone(),
        );
        registry.register_with_unit(
            "llm_call_duration",
            "Time of one LLM call",
            Unit::Seconds,
            m.llm_seconds.clone(),
        );
        registry.register(
            "reload_errors",
            "Policy or prompt reloads refused because the new files did not load",
            m.reload_errors.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Approvals and rejections are counted from the audit trail, since a
    /// person may decide in another process (the CLI) that this daemon never
    /// hears from: the scrape reads the events after this position, counts
    /// them, and moves it on, under this lock so that no event counts twice.
    /// The daemon sets it to the last event when it starts.
    pub fn decision_tally(&self) -> &tokio::sync::Mutex<Option<i64>> {
        &self.decisions_seen
    }

    pub fn turns_ingested(&self, marketplace: Marketplace, count: usize) {
        self.turns
            .get_or_create(&MarketplaceLabel {
                marketplace: marketplace.code(),
            })
            .inc_by(count as u64);
    }

    pub fn draft_created(&self, intent: Intent, decision: Effect) {
        self.drafts
            .get_or_create(&DraftLabels {
                intent: intent.as_str(),
                decision: decision.as_str(),
            })
            .inc();
    }

    pub fn draft_outcome(&self, outcome: DraftOutcome, count: usize) {
        self.outcomes
            .get_or_create(&OutcomeLabel {
                outcome: outcome.as_str(),
            })
            .inc_by(count as u64);
    }

    pub fn send(&self, marketplace: Marketplace, outcome: SendOutcome, elapsed: Duration) {
        let marketplace = marketplace.code();
        self.sends
            .get_or_create(&SendLabels {
                marketplace,
                outcome: outcome.as_str(),
            })
            .inc();
        self.send_seconds
            .get_or_create(&MarketplaceLabel { marketplace })
            .observe(elapsed.as_secs_f64());
    }

    pub fn llm_call(&self, call: &LlmCall<'_>) {
        let provider = call.provider.to_string();
        self.llm_calls
            .get_or_create(&CallLabels {
                provider: provider.clone(),
                outcome: if call.ok { "ok" } else { "error" },
            })
            .inc();
        for (kind, n) in [
            ("prompt", call.prompt_tokens),
            ("completion", call.completion_tokens),
        ] {
            self.llm_tokens
                .get_or_create(&TokenLabels {
                    provider: provider.clone(),
                    kind,
                })
                .inc_by(n);
        }
        let label = ProviderLabel { provider };
        self.llm_cost.get_or_create(&label).inc_by(call.cost);
        self.llm_seconds
            .get_or_create(&label)
            .observe(call.elapsed.as_secs_f64());
    }

    pub fn reload_error(&self) {
        self.reload_errors.inc();
    }

    /// The counters and the figures of `snapshot`, in the OpenMetrics text format.
    pub fn render(&self, snapshot: &Snapshot) -> String {
        use prometheus_client::encoding::text::{encode_eof, encode_registry};
        let mut out = String::with_capacity(8 * 1024);
        let scraped = snapshot.registry();
        encode_registry(&mut out, &self.registry)
            .and_then(|()| encode_registry(&mut out, &scraped))
            .and_then(|()| encode_eof(&mut out))
            .expect("writing to a String cannot fail");
        out
    }
}

/// The content type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Figures read at scrape time from the store and the connectors.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Open drafts per state (pending, scheduled, sending, unknown).
    pub queue: Vec<(&'static str, u64)>,
    /// Age of the oldest draft waiting for a person.
    pub oldest_pending: Option<Duration>,
    /// Requests sent and throttling answers received, per marketplace.
    pub requests: Vec<(Marketplace, u64, u64)>,
    /// Connectors per marketplace and state.
    pub connectors: Vec<(Marketplace, &'static str, u64)>,
    /// Shops the daemon runs.
    pub shops: u64,
    /// Database file plus its write-ahead log, in bytes.
    pub database_bytes: u64,
    /// Telegram messages the Bot API refused for good (blocked bot, chat not found).
    pub telegram_failed: u64,
}

impl Snapshot {
    fn registry(&self) -> Registry {
        let mut r = Registry::with_prefix("agentiq");
        let queue = Family::<StateLabel, Gauge>::default();
        for (state, n) in &self.queue {
            queue.get_or_create(&StateLabel { state }).set(*n as i64);
        }
        r.register("queue_drafts", "Open drafts by state", queue);
        let oldest = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        oldest.set(self.oldest_pending.map_or(0.0, |d| d.as_secs_f64()));
        r.register_with_unit(
            "queue_oldest_pending_age",
            "Age of the oldest draft waiting for a person (0 when none waits)",
            Unit::Seconds,
            oldest,
        );
        let requests = Family::<MarketplaceLabel, Counter>::default();
        let throttled = Family::<MarketplaceLabel, Counter>::default();
        for (m, sent, limited) in &self.requests {
            let label = MarketplaceLabel {
                marketplace: m.code(),
            };
            requests.get_or_create(&label).inc_by(*sent);
            throttled.get_or_create(&label).inc_by(*limited);
        }
        r.register(
            "marketplace_requests",
            "Requests sent to marketplace APIs",
            requests,
        );
        r.register(
            "marketplace_throttled",
            "Throttling answers (429/420) from marketplace APIs",
            throttled,
        );
        let connectors = Family::<ConnectorLabels, Gauge>::default();
        for (m, state, n) in &self.connectors {
            connectors
                .get_or_create(&ConnectorLabels {
                    marketplace: m.code(),
                    state,
                })
                .set(*n as i64);
        }
        r.register(
            "connectors",
            "Connectors by marketplace and state",
            connectors,
        );
        let tg_failed = Gauge::<i64>::default();
        tg_failed.set(self.telegram_failed as i64);
        r.register(
            "telegram_failed_messages",
            "Telegram messages the Bot API refused for good (kept in the bot's outbox with the reason)",
            tg_failed,
        );
        let shops = Gauge::<i64>::default();
        shops.set(self.shops as i64);
        r.register("shops", "Shops this daemon runs", shops);
        let db = Gauge::<i64>::default();
        db.set(self.database_bytes as i64);
        r.register_with_unit(
            "database_size",
            "Database file plus write-ahead log",
            Unit::Bytes,
            db,
        );
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_snapshot_render_as_openmetrics() {
        let m = Metrics::new();
        m.turns_ingested(Marketplace::Wildberries, 3);
        m.draft_outcome(DraftOutcome::Approved, 1);
        m.send(
            Marketplace::Ozon,
            SendOutcome::Sent,
            Duration::from_millis(20),
        );
        let text = m.render(&Snapshot {
            queue: vec![("pending", 2)],
            oldest_pending: Some(Duration::from_secs(5)),
            requests: vec![(Marketplace::Wildberries, 10, 1)],
            ..Snapshot::default()
        });
        for line in [
            "agentiq_buyer_turns_ingested_total{marketplace=\"wb\"} 3",
            "agentiq_draft_outcomes_total{outcome=\"approved\"} 1",
            "agentiq_sends_total{marketplace=\"ozon\",outcome=\"sent\"} 1",
            "agentiq_send_duration_seconds_count{marketplace=\"ozon\"} 1",
            "agentiq_queue_drafts{state=\"pending\"} 2",
            "agentiq_queue_oldest_pending_age_seconds 5.0",
            "agentiq_marketplace_throttled_total{marketplace=\"wb\"} 1",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
        assert_eq!(text.matches("# EOF").count(), 1);
        assert!(text.ends_with("# EOF\n"));
    }
}
