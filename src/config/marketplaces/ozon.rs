//! `[shops.<id>.ozon]`: the Seller API's chats, and reviews and questions in
//! `[shops.<id>.ozon.feedback]`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::{
    FeedbackSettings, MarketplaceSection, SectionErrors, default_one_second, default_per_chat_poll,
};
use crate::config::{Dur, default_http_timeout, resolve_named_secret};
use crate::domain::Marketplace;

/// Ozon Seller API: `Client-Id` and `Api-Key` headers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OzonSettings {
    #[serde(default = "default_ozon_base_url")]
    pub base_url: String,
    pub client_id: String,
    pub api_key: Option<SecretString>,
    pub api_key_env: Option<String>,
    pub api_key_file: Option<PathBuf>,
    #[serde(default = "default_per_chat_poll")]
    pub poll_interval: Dur,
    #[serde(default = "default_http_timeout")]
    pub timeout: Dur,
    /// Client-side limit: at most `rate_limit_requests` per `rate_limit_period`.
    #[serde(default = "default_ozon_rate_requests")]
    pub rate_limit_requests: u32,
    #[serde(default = "default_one_second")]
    pub rate_limit_period: Dur,
    /// Reviews and product questions (`[shops.<id>.ozon.feedback]`); read
    /// and answered only when this section is present. Same credentials.
    pub feedback: Option<FeedbackSettings>,
}

impl OzonSettings {
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

impl MarketplaceSection for OzonSettings {
    fn marketplace(&self) -> Marketplace {
        Marketplace::Ozon
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
    }
}

fn default_ozon_base_url() -> String {
    "https://api-seller.ozon.ru".into()
}
fn default_ozon_rate_requests() -> u32 {
    5
}
