//! `[shops.<id>.wildberries]`: the buyer chat API, and reviews and questions
//! in `[shops.<id>.wildberries.feedback]`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::{MarketplaceSection, SectionErrors, default_feedback_poll, default_one_second};
use crate::config::{Dur, default_http_timeout, resolve_named_secret};
use crate::domain::Marketplace;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WildberriesSettings {
    #[serde(default = "default_wb_base_url")]
    pub base_url: String,
    /// The token itself. Prefer `token_env` or `token_file` outside the simulator.
    pub token: Option<SecretString>,
    /// Name of an environment variable holding the token.
    pub token_env: Option<String>,
    /// Path of a file holding the token.
    pub token_file: Option<PathBuf>,
    #[serde(default = "default_wb_poll")]
    pub poll_interval: Dur,
    #[serde(default = "default_http_timeout")]
    pub timeout: Dur,
    /// Client-side limit: at most `rate_limit_requests` per `rate_limit_period`.
    #[serde(default = "default_wb_rate_requests")]
    pub rate_limit_requests: u32,
    #[serde(default = "default_wb_rate_period")]
    pub rate_limit_period: Dur,
    /// Reviews and product questions (`[shops.<id>.wildberries.feedback]`);
    /// read and answered only when this section is present. Same token.
    pub feedback: Option<WbFeedbackSettings>,
}

/// Wildberries reviews and questions: `feedbacks-api.wildberries.ru`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WbFeedbackSettings {
    #[serde(default = "default_wb_feedback_base_url")]
    pub base_url: String,
    #[serde(default = "default_feedback_poll")]
    pub poll_interval: Dur,
    /// Client-side limit for the whole «Вопросы и отзывы» category, kept
    /// inside its 3 requests a second.
    #[serde(default = "default_wb_feedback_rate_requests")]
    pub rate_limit_requests: u32,
    #[serde(default = "default_one_second")]
    pub rate_limit_period: Dur,
}

impl WildberriesSettings {
    /// The API token, from the value, an environment variable or a file; `what`
    /// names the section in the error.
    pub fn resolve_token(&self, what: &str, base_dir: &Path) -> Result<SecretString, String> {
        resolve_named_secret(
            what,
            "token",
            &self.token,
            &self.token_env,
            &self.token_file,
            base_dir,
        )
    }
}

impl MarketplaceSection for WildberriesSettings {
    fn marketplace(&self) -> Marketplace {
        Marketplace::Wildberries
    }

    fn base_urls(&self) -> Vec<&str> {
        let feedback = self.feedback.as_ref().map(|f| f.base_url.as_str());
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
        if self.rate_limit_requests == 0 {
            errors.push(&["rate_limit_requests"], "must be at least 1");
        }
        errors.url(&["base_url"], &self.base_url);
        if let Some(fb) = &self.feedback {
            if fb.rate_limit_requests == 0 {
                errors.push(&["feedback", "rate_limit_requests"], "must be at least 1");
            }
            errors.url(&["feedback", "base_url"], &fb.base_url);
        }
    }
}

fn default_wb_base_url() -> String {
    "https://buyer-chat-api.wildberries.ru".into()
}
fn default_wb_feedback_base_url() -> String {
    "https://feedbacks-api.wildberries.ru".into()
}
fn default_wb_feedback_rate_requests() -> u32 {
    2
}
fn default_wb_poll() -> Dur {
    Dur::secs(10)
}
fn default_wb_rate_requests() -> u32 {
    10
}
fn default_wb_rate_period() -> Dur {
    Dur::secs(10)
}
