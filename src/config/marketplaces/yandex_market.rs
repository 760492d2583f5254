//! `[shops.<id>.yandex_market]`: the Partner API's chats, and reviews and
//! questions in `[shops.<id>.yandex_market.feedback]`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::{FeedbackSettings, MarketplaceSection, SectionErrors, default_per_chat_poll};
use crate::config::{Dur, default_http_timeout, resolve_named_secret};
use crate::domain::Marketplace;

/// Yandex Market Partner API: `Api-Key` header, chats belong to a business.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YandexMarketSettings {
    #[serde(default = "default_ym_base_url")]
    pub base_url: String,
    pub business_id: i64,
    pub api_key: Option<SecretString>,
    pub api_key_env: Option<String>,
    pub api_key_file: Option<PathBuf>,
    #[serde(default = "default_per_chat_poll")]
    pub poll_interval: Dur,
    #[serde(default = "default_http_timeout")]
    pub timeout: Dur,
    /// Requests in flight at once; the Partner API refuses more than 2.
    #[serde(default = "default_ym_parallel")]
    pub max_parallel: usize,
    /// Client-side limit: at most `rate_limit_requests` per `rate_limit_period`.
    #[serde(default = "default_ym_rate_requests")]
    pub rate_limit_requests: u32,
    #[serde(default = "default_ym_rate_period")]
    pub rate_limit_period: Dur,
    /// Reviews and product questions (`[shops.<id>.yandex_market.feedback]`); read
    /// and answered only when this section is present. Same credentials.
    pub feedback: Option<FeedbackSettings>,
}

impl YandexMarketSettings {
    /// The `Api-Key`, from the value, an environment variable or a file; `what`
    /// names the section in the error.
    pub fn resolve_api_key(&self, what: &str, base_dir: &Path) -> Result<SecretString, String> {
        resolve_named_secret(
            what,
            "api_key",
            &self.api_key,
            &self.api_key_env,
            &self.api_key_file,
            base_dir,
        )
    }
}

impl MarketplaceSection for YandexMarketSettings {
    fn marketplace(&self) -> Marketplace {
        Marketplace::YandexMarket
    }

    fn base_urls(&self) -> Vec<&str> {
        let feedback = self.feedback.as_ref().and_then(|f| f.base_url.as_deref());
        std::iter::once(self.base_url.as_str())
            .chain(feedback)
            .collect()
    }

    fn poll_interval(&self) -> Duration {
        self.poll_interval.0
    }

    fn feedback_poll_interval(&self) -> Option<Duration> {
        self.feedback.as_ref().map(|f| f.poll_interval.0)
    }

    fn check(&self, errors: &mut SectionErrors<'_>) {
        errors.url(&[], &self.base_url);
        if let Some(fb) = &self.feedback {
            fb.check(errors);
        }
        if !(1..=4).contains(&self.max_parallel) {
            errors.push(
                &["max_parallel"],
                "must be between 1 and 4 (the Partner API allows 2 requests in flight per login)",
            );
        }
    }
}

fn default_ym_base_url() -> String {
    "https://api.partner.market.yandex.ru".into()
}
fn default_ym_parallel() -> usize {
    2
}
/// getChats' 5000 requests an hour, the smallest limit of the methods a poll
/// calls (`x-resource-limit-config` in the Partner API spec,
/// `openapi/paths/v2_businesses_businessId_chats.yaml`), spread evenly:
/// 25 every 18 s.
fn default_ym_rate_requests() -> u32 {
    25
}
fn default_ym_rate_period() -> Dur {
    Dur::secs(18)
}
