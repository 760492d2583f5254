//! The marketplace sections of a shop (`[shops.<id>.wildberries]`,
//! `[shops.<id>.ozon]`, `[shops.<id>.yandex_market]`, `[shops.<id>.avito]`):
//! one file per marketplace with its settings and their defaults, each
//! answering the same [`MarketplaceSection`] questions, so nothing else in
//! `config` asks which marketplace a section is for.

mod avito;
mod ozon;
mod wildberries;
mod yandex_market;

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

pub use avito::AvitoSettings;
pub use ozon::OzonSettings;
pub use wildberries::{WbFeedbackSettings, WildberriesSettings};
pub use yandex_market::YandexMarketSettings;

use super::Dur;
use crate::diag::{Diagnostic, Diagnostics};
use crate::domain::Marketplace;

/// What every marketplace section of a shop can be asked, whichever
/// marketplace it is for.
pub trait MarketplaceSection: fmt::Debug + Send + Sync {
    fn marketplace(&self) -> Marketplace;

    /// The API addresses the section talks to: its chats', and its
    /// reviews' and questions' where it reads them.
    fn base_urls(&self) -> Vec<&str>;

    /// How often the chats are polled.
    fn poll_interval(&self) -> Duration;

    /// How often reviews and questions are polled, where they are read.
    fn feedback_poll_interval(&self) -> Option<Duration>;

    /// The daemon's public base URL the marketplace pushes webhooks to,
    /// where the marketplace has them and the seller set one.
    fn webhook_base_url(&self) -> Option<&str> {
        None
    }

    /// The secret path segment of the webhook URL.
    fn webhook_secret(&self) -> Option<&SecretString> {
        None
    }

    /// What the section's own values must satisfy beyond their types.
    fn check(&self, errors: &mut SectionErrors<'_>);
}

/// Where a section reports what is wrong with it: the file, the line of the
/// key and its dotted name, below `shops.<id>.<section>`.
pub struct SectionErrors<'a> {
    pub(super) shop: &'a str,
    pub(super) section: &'static str,
    pub(super) at: &'a dyn Fn(&[&str], &str, String) -> Diagnostic,
    pub(super) out: &'a mut Diagnostics,
}

impl SectionErrors<'_> {
    /// A problem with the key at `path` below the section (the section
    /// itself when `path` is empty).
    pub fn push(&mut self, path: &[&str], message: impl Into<String>) {
        let mut full = vec!["shops", self.shop, self.section];
        full.extend_from_slice(path);
        let field = full.join(".");
        self.out.push((self.at)(&full, &field, message.into()));
    }

    /// `url` is not a URL, reported at `path`.
    pub fn url(&mut self, path: &[&str], url: &str) {
        if reqwest::Url::parse(url).is_err() {
            self.push(path, format!("`{url}` is not a URL"));
        }
    }
}

/// Reviews and questions on Ozon, Yandex Market or Avito, with the
/// marketplace section's credentials. What is not set is taken from that
/// section (`base_url`, `timeout`) or from the client's own pace for these
/// methods (Ozon 10 a second, inside the 50 per Client-Id it shares with the
/// chats; Yandex Market 500 an hour, its tightest method; Avito 5 a second).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackSettings {
    pub base_url: Option<String>,
    #[serde(default = "default_feedback_poll")]
    pub poll_interval: Dur,
    pub timeout: Option<Dur>,
    pub rate_limit_requests: Option<u32>,
    pub rate_limit_period: Option<Dur>,
}

impl FeedbackSettings {
    /// The checks of a `feedback` subsection, reported below it.
    fn check(&self, errors: &mut SectionErrors<'_>) {
        if self.rate_limit_requests == Some(0) {
            errors.push(&["feedback", "rate_limit_requests"], "must be at least 1");
        }
        if let Some(url) = &self.base_url {
            errors.url(&["feedback", "base_url"], url);
        }
        if self.poll_interval.0.is_zero() {
            errors.push(&["feedback", "poll_interval"], "must be longer than zero");
        }
    }
}

fn default_per_chat_poll() -> Dur {
    Dur::secs(15)
}
fn default_one_second() -> Dur {
    Dur::secs(1)
}
fn default_feedback_poll() -> Dur {
    Dur::secs(60)
}
