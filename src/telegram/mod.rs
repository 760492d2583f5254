//! Telegram: alerts and approvals from the phone. Three tasks, none of which
//! the rest of the daemon waits for:
//!
//! - `watch` turns what happened (draft events, connector status, LLM
//!   budgets) into rows of the bot's outbox, one per event per chat, in the
//!   same transaction that moves its watermark;
//! - `deliver` sends those rows to Telegram at Telegram's pace, honouring
//!   `retry_after` and backing off while Telegram fails;
//! - `updates` long-polls `getUpdates` and turns button taps and replies into
//!   `actions` (the same code as the web queue), as `telegram:<name>`.

pub mod api;
mod deliver;
pub mod render;
mod updates;
mod watch;

use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::{TelegramRole, TelegramSettings, TelegramUser};
use crate::runtime::Runtime;
pub use api::BotApi;

/// What the three tasks share.
pub(crate) struct Bot {
    rt: Arc<Runtime>,
    api: BotApi,
    settings: TelegramSettings,
    /// New rows in the outbox.
    wake_deliver: Notify,
}

impl Bot {
    fn user(&self, id: i64) -> Option<&TelegramUser> {
        self.settings.users.iter().find(|u| u.id == id)
    }

    fn users_of<'a>(&'a self, shop: &'a str) -> impl Iterator<Item = &'a TelegramUser> + 'a {
        self.settings.users.iter().filter(move |u| u.sees(shop))
    }

    fn can_act(user: &TelegramUser) -> bool {
        user.role == TelegramRole::Approve
    }

    fn public_url(&self) -> Option<&str> {
        self.settings.public_url.as_deref()
    }
}

/// Whether `user` is inside their quiet hours now (messages then arrive silently).
pub fn quiet_now(user: &TelegramUser) -> bool {
    let Some((from, to)) = user
        .quiet_hours
        .as_deref()
        .and_then(|q| crate::config::parse_quiet_hours(q).ok())
    else {
        return false;
    };
    let tz = jiff::tz::TimeZone::get(&user.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let now = jiff::Timestamp::now().to_zoned(tz);
    let minute = now.hour() as u32 * 60 + now.minute() as u32;
    if from < to {
        (from..to).contains(&minute)
    } else {
        minute >= from || minute < to
    }
}

/// Run the bot until shutdown.
pub async fn run(rt: Arc<Runtime>, api: BotApi, shutdown: CancellationToken) {
    let Some(settings) = rt.settings.telegram.clone() else {
        return;
    };
    let bot = Arc::new(Bot {
        rt,
        api,
        settings,
        wake_deliver: Notify::new(),
    });
    match bot.rt.store.read(crate::store::telegram::interrupted).await {
        Ok(rows) if !rows.is_empty() => tracing::warn!(
            rows = ?rows,
            "Telegram messages whose sending was interrupted by the last stop go out again; if Telegram had received them, the chat shows them twice"
        ),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "cannot read the Telegram outbox"),
    }
    tokio::join!(
        watch::run(bot.clone(), shutdown.clone()),
        deliver::run(bot.clone(), shutdown.clone()),
        updates::run(bot.clone(), shutdown.clone()),
    );
}
