//! Telegram: alerts and approvals from the phone. Three tasks, none of which
//! the rest of the daemon waits for:
//!
//! - `watch` turns what happened (draft events, connector status, LLM
//!   budgets) into rows of the bot's outbox, one per event per chat, in the
//!   same transaction that moves its watermark;
//! - `deliver` sends those rows to Telegram at Telegram's pace, honouring
//!   `retry_after` and backing off while Telegram fails;
//! - `updates` long-polls `getUpdates` (or, with `[telegram.webhook]`, reads
//!   what the web server's webhook stored) and turns button taps and replies
//!   into `actions` (the same code as the web queue), as `telegram:<name>`.

pub mod api;
mod deliver;
pub mod render;
mod updates;
mod watch;

use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::{TelegramRole, TelegramSettings, TelegramUser};
use crate::runtime::{Activity, Runtime};
pub use api::BotApi;

/// What the three tasks share.
pub(crate) struct Bot {
    rt: Arc<Runtime>,
    api: BotApi,
    settings: TelegramSettings,
    /// New rows in the outbox.
    wake_deliver: Notify,
    /// Webhook mode: the URL Telegram calls and the secret it sends.
    webhook: Option<(String, secrecy::SecretString)>,
}

impl Bot {
    fn user(&self, id: i64) -> Option<&TelegramUser> {
        self.settings.users.iter().find(|u| u.id == id)
    }

    /// The configured user a Telegram account is, if any.
    fn user_of(&self, who: &frankenstein::types::User) -> Option<&TelegramUser> {
        i64::try_from(who.id).ok().and_then(|id| self.user(id))
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

/// When `user`'s quiet hours end, if `now` is inside them.
///
/// The hours are wall-clock times in the user's time zone, so the end is
/// found on the local calendar: on a night the clocks change, "until 08:00"
/// still ends at 08:00 local time, not 24 hours after yesterday's 08:00.
pub fn quiet_until(
    user: &TelegramUser,
    now: crate::domain::Millis,
) -> Option<crate::domain::Millis> {
    let (from, to) = user
        .quiet_hours
        .as_deref()
        .and_then(|q| crate::config::parse_quiet_hours(q).ok())?;
    let tz = jiff::tz::TimeZone::get(&user.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let local = jiff::Timestamp::from_millisecond(now)
        .unwrap_or_else(|_| jiff::Timestamp::now())
        .to_zoned(tz.clone());
    let second = local.hour() as u32 * 3600 + local.minute() as u32 * 60 + local.second() as u32;
    let inside = if from < to {
        (from..to).contains(&second)
    } else {
        second >= from || second < to
    };
    if !inside {
        return None;
    }
    // The end is today's `to` when it is still ahead, else tomorrow's.
    let day = if second < to {
        local.date()
    } else {
        local.date().tomorrow().ok()?
    };
    let end = day
        .at(
            (to / 3600) as i8,
            ((to / 60) % 60) as i8,
            (to % 60) as i8,
            0,
        )
        // A wall-clock time the clocks skip is read with the offset before the
        // jump, so the hours last as long as they would have.
        .to_zoned(tz)
        .ok()?;
    Some(end.timestamp().as_millisecond().max(now + 1))
}

/// The bot's three loops' progress reports: the draft-event watcher, the
/// outbox deliverer and the updates reader.
pub type Loops = [Arc<Activity>; 3];

/// Run the bot until shutdown.
pub async fn run(rt: Arc<Runtime>, api: BotApi, loops: Loops, shutdown: CancellationToken) {
    let retire = |loops: &Loops| loops.iter().for_each(|a| a.retire());
    let Some(settings) = rt.settings.telegram.clone() else {
        retire(&loops);
        return;
    };
    let webhook = match &settings.webhook {
        Some(w) => match crate::config::resolve_named_secret(
            "telegram.webhook",
            "secret_token",
            &w.secret_token,
            &w.secret_token_env,
            &w.secret_token_file,
            &rt.settings.base_dir,
        ) {
            Ok(secret) => Some((w.url.clone(), secret)),
            Err(e) => {
                tracing::error!("the Telegram bot is off: {e}");
                retire(&loops);
                return;
            }
        },
        None => None,
    };
    let bot = Arc::new(Bot {
        rt,
        api,
        settings,
        wake_deliver: Notify::new(),
        webhook,
    });
    match bot.rt.store.read(crate::store::telegram::interrupted).await {
        Ok(rows) if !rows.is_empty() => tracing::warn!(
            rows = ?rows,
            "Telegram messages whose sending was interrupted by the last stop go out again; if Telegram had received them, the chat shows them twice"
        ),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "cannot read the Telegram outbox"),
    }
    let [watching, delivering, reading] = loops;
    tokio::join!(
        watch::run(bot.clone(), watching, shutdown.clone()),
        deliver::run(bot.clone(), delivering, shutdown.clone()),
        updates::run(bot.clone(), reading, shutdown.clone()),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(quiet: &str) -> TelegramUser {
        TelegramUser {
            id: 1,
            name: "Мария".into(),
            role: TelegramRole::Approve,
            shops: Vec::new(),
            quiet_hours: Some(quiet.into()),
            quiet_hours_urgent: Default::default(),
            digest: None,
            timezone: "Europe/Moscow".into(),
        }
    }

    fn at(s: &str) -> crate::domain::Millis {
        s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn quiet_hours_end_at_their_local_end_across_midnight() {
        let night = user("23:00-08:00");
        // 23:30 in Moscow (UTC+3) is 20:30 UTC; the hours end at 08:00 Moscow, 05:00 UTC.
        assert_eq!(
            quiet_until(&night, at("2026-12-01T20:30:00Z")),
            Some(at("2026-12-02T05:00:00Z"))
        );
        assert_eq!(
            quiet_until(&night, at("2026-12-02T04:59:59.250Z")),
            Some(at("2026-12-02T05:00:00Z"))
        );
        assert_eq!(quiet_until(&night, at("2026-12-02T05:00:00Z")), None);
        assert_eq!(quiet_until(&night, at("2026-12-02T12:00:00Z")), None);
        let lunch = user("13:00:30-14:00");
        assert_eq!(quiet_until(&lunch, at("2026-12-02T10:00:29Z")), None);
        assert_eq!(
            quiet_until(&lunch, at("2026-12-02T10:00:30Z")),
            Some(at("2026-12-02T11:00:00Z"))
        );
    }

    #[test]
    fn quiet_hours_end_at_local_time_on_nights_the_clocks_change() {
        let mut night = user("23:00-08:00");
        night.timezone = "Europe/Berlin".into();
        // 2026-03-29: clocks go from 02:00 to 03:00 (UTC+1 to UTC+2);
        // 08:00 local that morning is 06:00 UTC, seven hours after 23:00 (22:00 UTC).
        assert_eq!(
            quiet_until(&night, at("2026-03-28T22:30:00Z")),
            Some(at("2026-03-29T06:00:00Z"))
        );
        // 2026-10-25: clocks go back from 03:00 to 02:00; 08:00 local is 07:00 UTC.
        assert_eq!(
            quiet_until(&night, at("2026-10-24T21:30:00Z")),
            Some(at("2026-10-25T07:00:00Z"))
        );
        assert_eq!(quiet_until(&night, at("2026-10-25T07:00:00Z")), None);
        // Hours that end inside the skipped hour last as long as planned:
        // 01:00 CET is 00:00 UTC, and 02:30 read at +01:00 is 01:30 UTC (03:30 CEST).
        let mut odd = user("01:00-02:30");
        odd.timezone = "Europe/Berlin".into();
        assert_eq!(
            quiet_until(&odd, at("2026-03-29T00:30:00Z")),
            Some(at("2026-03-29T01:30:00Z"))
        );
    }
}
