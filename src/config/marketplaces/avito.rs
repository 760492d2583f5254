//! `[shops.<id>.avito]`: the Messenger API's chats and webhooks, and reviews
//! in `[shops.<id>.avito.feedback]`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::{
    FeedbackSettings, MarketplaceSection, SectionErrors, default_one_second, default_per_chat_poll,
};
use crate::config::{Dur, default_http_timeout, resolve_named_secret};
use crate::domain::Marketplace;

/// Avito Messenger API: OAuth2 client credentials.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvitoSettings {
    #[serde(default = "default_avito_base_url")]
    pub base_url: String,
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    pub client_secret_env: Option<String>,
    pub client_secret_file: Option<PathBuf>,
    #[serde(default = "default_per_chat_poll")]
    pub poll_interval: Dur,
    #[serde(default = "default_http_timeout")]
    pub timeout: Dur,
    /// Public base URL of this daemon's web server (e.g. behind a reverse
    /// proxy). When set, the daemon subscribes to Avito webhooks at
    /// `<webhook_base_url>/webhooks/avito/<shop>/<secret>`; polling continues
    /// either way.
    pub webhook_base_url: Option<String>,
    /// The path secret in the webhook URL. Required with `webhook_base_url`.
    pub webhook_secret: Option<SecretString>,
    /// Client-side limit: at most `rate_limit_requests` per `rate_limit_period`.
    #[serde(default = "default_avito_rate_requests")]
    pub rate_limit_requests: u32,
    #[serde(default = "default_one_second")]
    pub rate_limit_period: Dur,
    /// Reviews and product questions (`[shops.<id>.avito.feedback]`); read
    /// and answered only when this section is present. Same credentials.
    pub feedback: Option<FeedbackSettings>,
}

impl AvitoSettings {
    /// The OAuth2 client secret, from the value, an environment variable or a file; `what`
    /// names the section in the error.
    pub fn resolve_client_secret(
        &self,
        what: &str,
        base_dir: &Path,
    ) -> Result<SecretString, String> {
        resolve_named_secret(
            what,
            "client_secret",
            &self.client_secret,
            &self.client_secret_env,
            &self.client_secret_file,
            base_dir,
        )
    }
}

impl MarketplaceSection for AvitoSettings {
    fn marketplace(&self) -> Marketplace {
        Marketplace::Avito
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

    fn webhook_base_url(&self) -> Option<&str> {
        self.webhook_base_url.as_deref()
    }

    fn webhook_secret(&self) -> Option<&SecretString> {
        self.webhook_secret.as_ref()
    }

    fn check(&self, errors: &mut SectionErrors<'_>) {
        errors.url(&[], &self.base_url);
        if let Some(fb) = &self.feedback {
            fb.check(errors);
        }
    }
}

fn default_avito_base_url() -> String {
    "https://api.avito.ru".into()
}
fn default_avito_rate_requests() -> u32 {
    5
}
