//! Settings: `config.toml` (or the embedded default), with any key overridable
//! from the environment as `AGENTIQ__SECTION__KEY`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Deserializer};

use crate::diag::{self, Diagnostic, Diagnostics};
use crate::domain::Marketplace;

mod marketplaces;

pub use marketplaces::{
    AvitoSettings, FeedbackSettings, MarketplaceSection, OzonSettings, SectionErrors,
    WbFeedbackSettings, WildberriesSettings, YandexMarketSettings,
};

/// The shipped `config.toml`, used when no configuration file is found.
pub const EMBEDDED_CONFIG: &str = include_str!("../config.toml");
pub const ENV_PREFIX: &str = "AGENTIQ";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database: DatabaseSettings,
    #[serde(default)]
    pub pipeline: PipelineSettings,
    #[serde(default)]
    pub sender: SenderSettings,
    #[serde(default)]
    pub web: WebSettings,
    #[serde(default)]
    pub sim: SimSettings,
    #[serde(default)]
    pub llm: LlmSettings,
    #[serde(default)]
    pub log: LogSettings,
    #[serde(default)]
    pub notify: NotifySettings,
    #[serde(default)]
    pub reload: ReloadSettings,
    /// Alerts and approvals in Telegram; absent means no bot.
    #[serde(default)]
    pub telegram: Option<TelegramSettings>,
    #[serde(default)]
    pub retention: RetentionSettings,
    pub shops: BTreeMap<String, ShopSettings>,
    /// Directory relative paths are resolved against.
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// Where these settings came from, for messages.
    #[serde(skip)]
    pub origin: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub path: PathBuf,
    /// How long a write waits when another process holds the database
    /// lock before the attempt fails and is retried later.
    #[serde(default = "default_busy_timeout")]
    pub busy_timeout: Dur,
    /// Where trained built-in models are kept between starts; beside the
    /// database (`agentiq.db` → `agentiq.models/`) when absent.
    #[serde(default)]
    pub model_cache: Option<PathBuf>,
}

fn default_busy_timeout() -> Dur {
    Dur::secs(5)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineSettings {
    /// Quiet period after a buyer's last message before drafting, so several
    /// quick messages get one reply.
    pub debounce: Dur,
    /// Buyer turns older than this when first seen (history backfill) are stored
    /// but not answered.
    pub max_turn_age: Dur,
    /// How many drafts are worked on at once.
    pub concurrency: usize,
    /// How often the pipeline looks for due turns when nothing wakes it.
    pub tick: Dur,
    /// How long a claimed turn stays claimed before another worker may retry it.
    pub claim_lease: Dur,
    /// Pending drafts nobody acted on expire after this long.
    pub pending_ttl: Dur,
    /// After a human answers in the marketplace's own UI, no auto-replies to
    /// that chat for this long.
    pub human_takeover: Dur,
    /// How many earlier messages of the chat a draft gets to see.
    pub history_messages: usize,
}

impl Default for PipelineSettings {
    fn default() -> Self {
        PipelineSettings {
            debounce: Dur::secs(20),
            max_turn_age: Dur::secs(72 * 3600),
            concurrency: 32,
            tick: Dur::millis(500),
            claim_lease: Dur::secs(300),
            pending_ttl: Dur::secs(48 * 3600),
            human_takeover: Dur::secs(2 * 3600),
            history_messages: 20,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SenderSettings {
    /// How often the outbox is checked when nothing wakes it (approvals made
    /// by another process, e.g. the CLI, are picked up this way).
    pub tick: Dur,
    pub concurrency: usize,
    /// After an unknown send outcome, how long the marketplace gets to show our
    /// message in the chat history before we conclude it did not arrive.
    pub reconcile_grace: Dur,
    /// Failed transient attempts before a draft is marked failed.
    pub max_attempts: u32,
}

impl Default for SenderSettings {
    fn default() -> Self {
        SenderSettings {
            tick: Dur::millis(500),
            concurrency: 8,
            reconcile_grace: Dur::secs(60),
            max_attempts: 5,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebSettings {
    pub enabled: bool,
    /// Loopback by default; put a TLS reverse proxy in front to expose it.
    pub listen: SocketAddr,
    /// Environment variable holding the operator password (also the API's bearer token).
    pub password_env: String,
    /// Alternatively, an argon2 hash of the password (`agentiq hash-password`).
    pub password_hash: Option<String>,
    /// Mark cookies `Secure`; set when the queue is served over HTTPS.
    pub secure_cookies: bool,
    pub session_ttl: Dur,
    /// Failed logins (and wrong bearer tokens) allowed per client address within `login_window`.
    pub max_failed_logins: u32,
    pub login_window: Dur,
    /// Reverse proxies whose `X-Forwarded-For` names the real client.
    pub trusted_proxies: Vec<Cidr>,
    /// `Host` values the queue answers to (`host` or `host:port`); empty
    /// means the listen address, `localhost` and `127.0.0.1` with its port.
    pub allowed_hosts: Vec<String>,
    /// Bearer token for `GET /metrics` (also `AGENTIQ__WEB__METRICS_TOKEN`).
    /// Set: a scraper sends `Authorization: Bearer <token>`, no login. Unset:
    /// `/metrics` is open when the queue listens on loopback, and needs the
    /// operator's login (session or password as bearer) otherwise.
    pub metrics_token: Option<SecretString>,
}

/// An address or a network (`10.0.0.0/8`, `::1`), parsed at load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Cidr {
    addr: std::net::IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Cidr, String> {
        let bad = || {
            format!("`{s}` is not an IP address or network (e.g. `10.0.0.5`, `10.0.0.0/8`, `::1`)")
        };
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: std::net::IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl TryFrom<String> for Cidr {
    type Error = String;

    fn try_from(s: String) -> Result<Cidr, String> {
        s.parse()
    }
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            password_env: "AGENTIQ_WEB_PASSWORD".into(),
            password_hash: None,
            secure_cookies: false,
            session_ttl: Dur::secs(12 * 3600),
            max_failed_logins: 5,
            login_window: Dur::secs(15 * 60),
            trusted_proxies: Vec::new(),
            allowed_hosts: Vec::new(),
            metrics_token: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimSettings {
    pub listen: SocketAddr,
    /// Seller accounts the simulator knows, by name.
    pub sellers: BTreeMap<String, SimSeller>,
    /// Scripted buyers, played when the simulator starts.
    pub scenario: Option<PathBuf>,
    /// The bot token the simulated Telegram Bot API accepts.
    pub telegram_token: Option<String>,
}

impl Default for SimSettings {
    fn default() -> Self {
        SimSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8089)),
            sellers: BTreeMap::new(),
            scenario: None,
            telegram_token: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimSeller {
    /// The token the simulator accepts for this seller's Wildberries account.
    pub wb_token: Option<String>,
    /// Ozon `Client-Id` and `Api-Key` the simulator accepts.
    pub ozon_client_id: Option<String>,
    pub ozon_api_key: Option<String>,
    /// Yandex Market business and `Api-Key`.
    pub ym_business_id: Option<i64>,
    pub ym_api_key: Option<String>,
    /// Avito OAuth client credentials and the account id behind them.
    pub avito_client_id: Option<String>,
    pub avito_client_secret: Option<String>,
    pub avito_user_id: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LlmSettings {
    pub providers: BTreeMap<String, LlmProviderSettings>,
    /// How long a provider that just failed is skipped.
    pub cooldown: Dur,
}

impl Default for LlmSettings {
    fn default() -> Self {
        LlmSettings {
            providers: BTreeMap::new(),
            cooldown: Dur::secs(60),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Any OpenAI-compatible chat-completions endpoint (OpenAI, OpenRouter,
    /// DeepSeek, vLLM, Ollama, YandexGPT's compatible endpoint).
    #[default]
    Openai,
    /// YandexGPT's native Foundation Models API.
    Yandex,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StructuredOutput {
    /// `response_format: json_schema` (OpenAI) / `jsonSchema` (Yandex).
    #[default]
    JsonSchema,
    /// `response_format: json_object` / `jsonObject`.
    JsonObject,
    /// Ask for JSON in the prompt only.
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmProviderSettings {
    #[serde(default)]
    pub kind: ProviderKind,
    /// OpenAI-compatible: base URL including the version, e.g. `https://api.openai.com/v1`.
    /// Yandex: the API host, by default `https://llm.api.cloud.yandex.net`.
    pub base_url: Option<String>,
    /// OpenAI-compatible: the model name. Yandex: `yandexgpt`, `yandexgpt-lite` or a full `gpt://…` URI.
    pub model: String,
    /// Name of the environment variable holding the API key. Local servers may need none.
    pub api_key_env: Option<String>,
    /// `Bearer` (default) or `Api-Key` (Yandex service-account keys).
    #[serde(default = "default_auth_scheme")]
    pub auth_scheme: String,
    /// Yandex Cloud folder id (model URI; `x-folder-id` for IAM tokens; `OpenAI-Project` on the compatible endpoint).
    pub folder_id: Option<String>,
    /// Yandex: let Yandex log requests. Off by default: prompts carry buyer text.
    #[serde(default)]
    pub data_logging: bool,
    #[serde(default = "default_llm_timeout")]
    pub timeout: Dur,
    #[serde(default = "default_llm_concurrency")]
    pub max_concurrency: usize,
    #[serde(default = "default_temperature")]
    pub temperature: f32,
    #[serde(default)]
    pub structured_output: StructuredOutput,
    /// Extra HTTP headers, e.g. `HTTP-Referer` for OpenRouter.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Price per 1000 prompt tokens, in `llm_currency` units.
    #[serde(default)]
    pub price_per_1k_prompt: f64,
    /// Price per 1000 completion tokens.
    #[serde(default)]
    pub price_per_1k_completion: f64,
}

fn default_auth_scheme() -> String {
    "Bearer".into()
}

fn default_llm_timeout() -> Dur {
    Dur::secs(30)
}
fn default_llm_concurrency() -> usize {
    4
}
fn default_temperature() -> f32 {
    0.3
}

/// Where escalations are announced besides the log and the web queue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifySettings {
    /// POSTed a JSON object for every escalated draft.
    pub webhook_url: Option<String>,
    pub timeout: Dur,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            webhook_url: None,
            timeout: Dur::secs(5),
        }
    }
}

/// The Telegram bot: who may see and act on which shop's drafts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramSettings {
    /// The bot token from @BotFather. Prefer `token_env` or `token_file`.
    pub token: Option<SecretString>,
    pub token_env: Option<String>,
    pub token_file: Option<PathBuf>,
    /// The Bot API server (the simulator's address in tests and the demo).
    #[serde(default = "default_telegram_api_base")]
    pub api_base: String,
    /// The web queue's public address; when set, messages carry a 🌐 Открыть button.
    pub public_url: Option<String>,
    /// How long one `getUpdates` call waits for news (long polling).
    #[serde(default = "default_telegram_poll_timeout")]
    pub poll_timeout: Dur,
    /// Timeout of every other Bot API call.
    #[serde(default = "default_http_timeout")]
    pub timeout: Dur,
    /// The least time between two messages to one chat (Telegram: about 1 a second).
    #[serde(default = "default_telegram_per_chat")]
    pub per_chat_interval: Dur,
    /// The most messages a second for the whole bot (Telegram: about 30).
    #[serde(default = "default_telegram_per_second")]
    pub max_per_second: u32,
    /// How often the bot looks for draft changes made by other processes (the CLI).
    #[serde(default = "default_telegram_tick")]
    pub tick: Dur,
    /// Receive updates by webhook on the web queue's server instead of long polling.
    pub webhook: Option<TelegramWebhook>,
    #[serde(default)]
    pub users: Vec<TelegramUser>,
}

/// `[telegram.webhook]`: Telegram POSTs updates to `url`, which must reach
/// the web queue's server at `/telegram/webhook`; every request must carry
/// the secret token in `X-Telegram-Bot-Api-Secret-Token`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramWebhook {
    /// The public https address Telegram calls, ending in `/telegram/webhook`.
    pub url: String,
    /// 1-256 characters `A-Z a-z 0-9 _ -`. Prefer `secret_token_env` or `secret_token_file`.
    pub secret_token: Option<SecretString>,
    pub secret_token_env: Option<String>,
    pub secret_token_file: Option<PathBuf>,
}

/// The path on the web server that receives Telegram's updates.
pub const TELEGRAM_WEBHOOK_PATH: &str = "/telegram/webhook";

/// A Telegram user the bot talks to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramUser {
    /// The numeric Telegram user id (the private chat with the bot has the same id).
    pub id: i64,
    /// Shown in the audit trail as `telegram:<name>`.
    pub name: String,
    pub role: TelegramRole,
    /// The shops this user sees; empty means every shop.
    #[serde(default)]
    pub shops: Vec<String>,
    /// `23:00-08:00` (seconds allowed: `23:00:30`), in the user's `timezone`:
    /// cards and alerts are held back and arrive when the hours end (several
    /// cards as one digest); escalations still come through.
    pub quiet_hours: Option<String>,
    /// How an escalation comes through quiet hours: `silent` (default) or `sound`.
    #[serde(default)]
    pub quiet_hours_urgent: UrgentDelivery,
    /// Instead of one message per draft, at most one digest this often
    /// (`30m`): counts per shop, the oldest waiting, the first few with a button each.
    pub digest: Option<Dur>,
    #[serde(default = "default_timezone")]
    pub timezone: String,
}

/// How an escalation reaches a user inside their quiet hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UrgentDelivery {
    /// Delivered at once, without a notification sound.
    #[default]
    Silent,
    /// Delivered at once, with sound.
    Sound,
}

impl TelegramUser {
    pub fn sees(&self, shop: &str) -> bool {
        self.shops.is_empty() || self.shops.iter().any(|s| s == shop)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TelegramRole {
    /// Sees drafts and alerts, and may send, edit and reject.
    Approve,
    /// Sees drafts and alerts only.
    View,
}

/// Quiet hours parsed from `HH:MM[:SS]-HH:MM[:SS]`: seconds after midnight, start and end.
pub fn parse_quiet_hours(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("`{s}` is not a time range; write it like `23:00-08:00`");
    let seconds = |t: &str| -> Option<u32> {
        let mut parts = t.trim().split(':');
        let h: u32 = parts.next()?.parse().ok()?;
        let m: u32 = parts.next()?.parse().ok()?;
        let sec: u32 = match parts.next() {
            Some(x) => x.parse().ok()?,
            None => 0,
        };
        (parts.next().is_none() && h < 24 && m < 60 && sec < 60).then_some(h * 3600 + m * 60 + sec)
    };
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    match (seconds(a), seconds(b)) {
        (Some(a), Some(b)) if a != b => Ok((a, b)),
        _ => Err(bad()),
    }
}

/// Telegram's rule for `secret_token`.
pub fn valid_webhook_secret(t: &str) -> bool {
    (1..=256).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn default_telegram_api_base() -> String {
    "https://api.telegram.org".into()
}
fn default_telegram_poll_timeout() -> Dur {
    Dur::secs(25)
}
fn default_telegram_per_chat() -> Dur {
    Dur::secs(1)
}
fn default_telegram_per_second() -> u32 {
    30
}
fn default_telegram_tick() -> Dur {
    Dur::secs(2)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReloadSettings {
    /// How often policy and prompt files are checked for edits.
    pub interval: Dur,
}

impl Default for ReloadSettings {
    fn default() -> Self {
        ReloadSettings {
            interval: Dur::secs(1),
        }
    }
}

/// How long the bulky parts of old drafts are kept. Messages, drafts, their
/// texts and the audit trail's rows are always kept; the sweeper prunes only
/// what is named here, from drafts that reached a final state (sent, rejected,
/// expired, cancelled, retracted) that long ago.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSettings {
    /// The prompt sent to an LLM for each draft.
    pub prompts: Keep,
    /// The decision's trace of policy rules that did not match, and the
    /// classifier's runner-up intents and evidence words.
    pub decision_details: Keep,
    /// The notes of the audit trail (reasons, overrides, send errors); the
    /// audit rows themselves (who, when, from which state to which) stay.
    pub audit_notes: Keep,
    /// Rows changed per statement; the sweeper pauses between batches so the
    /// daemon's writes are never held up for long.
    pub batch: usize,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            prompts: Keep::For(Dur::secs(30 * 86_400)),
            decision_details: Keep::For(Dur::secs(90 * 86_400)),
            audit_notes: Keep::Forever,
            batch: 500,
        }
    }
}

/// `"forever"`, or a duration such as `"30d"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Keep {
    Forever,
    For(Dur),
}

impl TryFrom<String> for Keep {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        match s.trim() {
            "forever" => Ok(Keep::Forever),
            other => other
                .parse::<Dur>()
                .map(Keep::For)
                .map_err(|e| format!("{e}, or `forever`")),
        }
    }
}

impl Keep {
    /// The oldest time still kept at `now`, if anything is pruned.
    pub fn cutoff(self, now: i64) -> Option<i64> {
        match self {
            Keep::Forever => None,
            Keep::For(d) => Some(now.saturating_sub(d.as_millis_i64())),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `pretty` for people, `json` for log collectors.
    pub format: LogFormat,
    /// A `tracing` filter, e.g. `info` or `agentiq=debug`. `RUST_LOG` wins if set.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            format: LogFormat::Pretty,
            level: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopSettings {
    /// How people see the shop; the key in `[shops.<key>]` is its id.
    pub display_name: Option<String>,
    /// The shop's policy file.
    pub policy: PathBuf,
    /// Directory with the shop's prompt and reply templates, or a list of
    /// them: files in later directories replace same-named files in earlier ones.
    pub prompts: PromptDirs,
    #[serde(default)]
    pub drafter: DrafterKind,
    #[serde(default)]
    pub classifier: ClassifierKind,
    /// Which `[llm.providers.*]` entry to use for the LLM drafter or classifier.
    pub llm_provider: Option<String>,
    /// Providers tried in order when the first one times out, fails, is rate
    /// limited or cannot take the prompt.
    #[serde(default)]
    pub llm_fallbacks: Vec<String>,
    #[serde(default)]
    pub budget: BudgetSettings,
    #[serde(default)]
    pub privacy: PrivacySettings,
    /// IANA time zone for policy time windows, e.g. `Europe/Moscow`.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Ready phrases the web queue offers beside the editor:
    /// `[[shops.<id>.quick_replies]]` with `label` and `text`.
    #[serde(default)]
    pub quick_replies: Vec<QuickReply>,
    pub wildberries: Option<WildberriesSettings>,
    pub ozon: Option<OzonSettings>,
    pub yandex_market: Option<YandexMarketSettings>,
    pub avito: Option<AvitoSettings>,
}

/// A ready phrase a person can put into a reply with one tap.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuickReply {
    /// What the button says.
    pub label: String,
    /// What it puts into the editor.
    pub text: String,
}

/// One prompt directory, or several layered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptDirs(pub Vec<PathBuf>);

impl<'de> Deserialize<'de> for PromptDirs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(PathBuf),
            Many(Vec<PathBuf>),
        }
        match Raw::deserialize(d)? {
            Raw::One(p) => Ok(PromptDirs(vec![p])),
            Raw::Many(v) if !v.is_empty() => Ok(PromptDirs(v)),
            Raw::Many(_) => Err(serde::de::Error::custom(
                "give at least one prompt directory",
            )),
        }
    }
}

fn default_timezone() -> String {
    "Europe/Moscow".into()
}

impl ShopSettings {
    /// The shop's marketplace sections, in the order of [`Marketplace::ALL`].
    /// The one place that lists the sections a shop may have.
    pub fn sections(&self) -> impl Iterator<Item = &dyn MarketplaceSection> {
        let ShopSettings {
            wildberries,
            ozon,
            yandex_market,
            avito,
            ..
        } = self;
        [
            wildberries.as_ref().map(|s| s as &dyn MarketplaceSection),
            ozon.as_ref().map(|s| s as &dyn MarketplaceSection),
            yandex_market.as_ref().map(|s| s as &dyn MarketplaceSection),
            avito.as_ref().map(|s| s as &dyn MarketplaceSection),
        ]
        .into_iter()
        .flatten()
    }

    /// The shop's section for `marketplace`, if it sells there.
    pub fn section(&self, marketplace: Marketplace) -> Option<&dyn MarketplaceSection> {
        self.sections().find(|s| s.marketplace() == marketplace)
    }

    pub fn marketplaces(&self) -> Vec<Marketplace> {
        self.sections().map(|s| s.marketplace()).collect()
    }

    /// The API addresses the shop talks to, chats' and reviews'.
    pub fn base_urls(&self) -> Vec<&str> {
        self.sections().flat_map(|s| s.base_urls()).collect()
    }

    /// The secret path segment of this shop's webhook URL on `marketplace`.
    pub fn webhook_secret(&self, marketplace: Marketplace) -> Option<&SecretString> {
        self.section(marketplace)?.webhook_secret()
    }

    /// The URL the marketplace should push to, when webhooks are configured.
    pub fn webhook_url(&self, shop_id: &str, marketplace: Marketplace) -> Option<String> {
        use secrecy::ExposeSecret;
        let section = self.section(marketplace)?;
        let base = section.webhook_base_url()?;
        let secret = section.webhook_secret()?;
        Some(format!(
            "{}/webhooks/{}/{shop_id}/{}",
            base.trim_end_matches('/'),
            marketplace.code(),
            secret.expose_secret()
        ))
    }

    /// How often the shop's chats on `marketplace` are polled.
    pub fn poll_interval(&self, marketplace: Marketplace) -> Option<Duration> {
        Some(self.section(marketplace)?.poll_interval())
    }

    /// How often the shop's reviews and questions on `marketplace` are polled.
    pub fn feedback_poll_interval(&self, marketplace: Marketplace) -> Option<Duration> {
        self.section(marketplace)?.feedback_poll_interval()
    }
}

/// LLM spending caps for a shop, in the providers' price units.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BudgetSettings {
    pub daily: Option<f64>,
    pub monthly: Option<f64>,
    /// What drafting does once a cap is reached.
    pub on_exhausted: OnExhausted,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnExhausted {
    /// Reply templates write the drafts (never auto-sent).
    #[default]
    Template,
    /// No draft text: every turn waits for a person to write the reply.
    QueueOnly,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacySettings {
    /// Mask phone numbers, e-mails, card numbers and similar in buyer text
    /// before a prompt leaves the machine.
    pub mask_personal_data: bool,
}

impl Default for PrivacySettings {
    fn default() -> Self {
        PrivacySettings {
            mask_personal_data: true,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrafterKind {
    /// A Tera reply template per intent.
    #[default]
    Template,
    /// An OpenAI-compatible chat model.
    Llm,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassifierKind {
    /// A statistical model trained on the prompt set's labelled examples
    /// (`intents.examples.jsonl`), with the keyword rules of `intents.toml`
    /// as overrides.
    #[default]
    Model,
    /// Keyword rules from the prompt set's `intents.toml` only.
    Rules,
    /// An LLM answering in JSON, with the rules as fallback.
    Llm,
}

fn default_http_timeout() -> Dur {
    Dur::secs(15)
}

/// Where a token comes from (`token`, `token_env` or `token_file`), resolved once at start-up.
pub fn resolve_secret(
    what: &str,
    inline: &Option<SecretString>,
    env: &Option<String>,
    file: &Option<PathBuf>,
    base_dir: &Path,
) -> Result<SecretString, String> {
    resolve_named_secret(what, "token", inline, env, file, base_dir)
}

/// Where a secret comes from: `<key>`, `<key>_env` or `<key>_file`.
pub fn resolve_named_secret(
    what: &str,
    key: &str,
    inline: &Option<SecretString>,
    env: &Option<String>,
    file: &Option<PathBuf>,
    base_dir: &Path,
) -> Result<SecretString, String> {
    match (inline, env, file) {
        (Some(s), None, None) => Ok(s.clone()),
        (None, Some(var), None) => match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(SecretString::from(v.trim().to_string())),
            _ => Err(format!(
                "{what}: environment variable `{var}` is not set (or empty)"
            )),
        },
        (None, None, Some(path)) => {
            let path = base_dir.join(path);
            std::fs::read_to_string(&path)
                .map(|s| SecretString::from(s.trim().to_string()))
                .map_err(|e| format!("{what}: cannot read `{}`: {e}", path.display()))
        }
        (None, None, None) => Err(format!(
            "{what}: no credentials; set one of `{key}`, `{key}_env` or `{key}_file`"
        )),
        _ => Err(format!(
            "{what}: set only one of `{key}`, `{key}_env` or `{key}_file`"
        )),
    }
}

/// A duration written the way people write them: `500ms`, `20s`, `5m`, `1h 30m`, `2d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub Duration);

impl Dur {
    pub const fn secs(s: u64) -> Self {
        Dur(Duration::from_secs(s))
    }
    pub const fn millis(ms: u64) -> Self {
        Dur(Duration::from_millis(ms))
    }
    pub fn as_millis_i64(self) -> i64 {
        i64::try_from(self.0.as_millis()).unwrap_or(i64::MAX)
    }
}

impl FromStr for Dur {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let not_a_duration = || {
            format!("`{s}` is not a duration; write it like `500ms`, `20s`, `5m`, `1h 30m` or `2d`")
        };
        let span: jiff::Span = s.trim().parse().map_err(|_| not_a_duration())?;
        let parsed = span
            .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
            .map_err(|_| not_a_duration())?;
        Duration::try_from(parsed)
            .map(Dur)
            .map_err(|_| format!("`{s}` is negative; durations must be positive"))
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = jiff::SignedDuration::try_from(self.0).unwrap_or(jiff::SignedDuration::MAX);
        write!(f, "{d:#}")
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Seconds(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Seconds(s) => Ok(Dur::secs(s)),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// Load settings. With `path`, that file must exist; without it, `./config.toml`
/// is used when present and the embedded default otherwise. Environment
/// variables `AGENTIQ__SECTION__KEY` override any key.
pub fn load(path: Option<&Path>) -> Result<Settings, Diagnostics> {
    let env: HashMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with(&format!("{ENV_PREFIX}__")))
        .collect();
    match path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| {
                Diagnostics::from(Diagnostic::new(
                    p,
                    format!("cannot read the config file: {e}"),
                ))
            })?;
            let base = p.parent().map(Path::to_path_buf).unwrap_or_default();
            load_from_str(&text, &p.display().to_string(), base, env)
        }
        None => {
            let default = Path::new("config.toml");
            if default.exists() {
                load(Some(default))
            } else {
                let cwd = std::env::current_dir().unwrap_or_default();
                load_from_str(EMBEDDED_CONFIG, "<embedded config.toml>", cwd, env)
            }
        }
    }
}

/// Load settings from TOML text with an explicit environment (tests pass their own).
pub fn load_from_str(
    text: &str,
    origin: &str,
    base_dir: PathBuf,
    env: HashMap<String, String>,
) -> Result<Settings, Diagnostics> {
    let env_source = config::Environment::with_prefix(ENV_PREFIX)
        .prefix_separator("__")
        .separator("__")
        .try_parsing(true)
        .source(Some(env.clone()));
    let merged = config::Config::builder()
        .add_source(config::File::from_str(text, config::FileFormat::Toml))
        .add_source(env_source)
        .build()
        .and_then(|c| c.try_deserialize::<Settings>());
    let mut settings = match merged {
        Ok(s) => s,
        Err(e) => {
            // The file on its own gives errors that point at a line; if it is
            // fine by itself, an environment override is to blame.
            if let Err(file_err) = toml::from_str::<Settings>(text) {
                return Err(diag::from_toml_error(Path::new(origin), text, &file_err).into());
            }
            let mut vars: Vec<_> = env.keys().cloned().collect();
            vars.sort();
            return Err(Diagnostic::new(
                "environment",
                format!("{e} (check the overrides: {})", vars.join(", ")),
            )
            .into());
        }
    };
    settings.base_dir = base_dir;
    settings.origin = origin.to_string();
    validate(&settings, text)?;
    Ok(settings)
}

fn validate(s: &Settings, text: &str) -> Result<(), Diagnostics> {
    let origin = Path::new(&s.origin);
    let mut out = Diagnostics::default();
    let at = |path: &[&str], field: &str, msg: String| {
        Diagnostic::new(origin, msg)
            .at_line(diag::locate_key(text, path))
            .field(field.to_string())
    };
    if s.shops.is_empty() {
        out.push(Diagnostic::new(
            origin,
            "no shops are configured; add a `[shops.<id>]` section",
        ));
    }
    for host in &s.web.allowed_hosts {
        let h = host.trim();
        let plain = !h.is_empty()
            && h.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        if !plain {
            out.push(at(
                &["web", "allowed_hosts"],
                "web.allowed_hosts",
                format!(
                    "`{host}` is not a host name: write it as the browser's address bar shows it, without scheme or path (e.g. `queue.example.ru` or `queue.example.ru:8443`)"
                ),
            ));
        }
    }
    for (id, shop) in &s.shops {
        let valid_id = !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !valid_id {
            out.push(at(
                &["shops", id],
                &format!("shops.{id}"),
                "shop ids may use only lowercase latin letters, digits, `_` and `-` \
                 (environment overrides are lowercase)"
                    .into(),
            ));
        }
        if shop.marketplaces().is_empty() {
            out.push(at(
                &["shops", id],
                &format!("shops.{id}"),
                "the shop has no marketplace; add e.g. `[shops.<id>.wildberries]`".into(),
            ));
        }
        if jiff::tz::TimeZone::get(&shop.timezone).is_err() {
            out.push(at(
                &["shops", id, "timezone"],
                &format!("shops.{id}.timezone"),
                format!(
                    "unknown time zone `{}` (use an IANA name like `Europe/Moscow`)",
                    shop.timezone
                ),
            ));
        }
        for (i, p) in shop.llm_fallbacks.iter().enumerate() {
            if !s.llm.providers.contains_key(p) {
                out.push(at(
                    &["shops", id, "llm_fallbacks", &i.to_string()],
                    &format!("shops.{id}.llm_fallbacks"),
                    format!("no provider `{p}` in `[llm.providers]`"),
                ));
            }
        }
        let needs_llm = shop.drafter == DrafterKind::Llm || shop.classifier == ClassifierKind::Llm;
        match (&shop.llm_provider, needs_llm) {
            (None, true) => out.push(at(
                &["shops", id],
                &format!("shops.{id}.llm_provider"),
                "the LLM drafter or classifier needs `llm_provider`".into(),
            )),
            (Some(p), _) if !s.llm.providers.contains_key(p) => out.push(at(
                &["shops", id, "llm_provider"],
                &format!("shops.{id}.llm_provider"),
                format!(
                    "no provider `{p}` in `[llm.providers]` (known: {})",
                    s.llm
                        .providers
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            _ => {}
        }
    }
    for (id, shop) in &s.shops {
        for section in shop.sections() {
            let key = section.marketplace().config_key();
            section.check(&mut SectionErrors {
                shop: id,
                section: key,
                at: &at,
                out: &mut out,
            });
            let Some(url) = section.webhook_base_url() else {
                continue;
            };
            if reqwest::Url::parse(url).is_err() {
                out.push(at(
                    &["shops", id, key],
                    &format!("shops.{id}.{key}"),
                    format!("`{url}` is not a URL"),
                ));
            }
            if !s.web.enabled {
                out.push(at(
                    &["shops", id, key, "webhook_base_url"],
                    &format!("shops.{id}.{key}.webhook_base_url"),
                    "webhooks arrive at the daemon's web server; set `[web] enabled = true`".into(),
                ));
            }
            if section.webhook_secret().is_none() {
                out.push(at(
                    &["shops", id, key, "webhook_base_url"],
                    &format!("shops.{id}.{key}.webhook_secret"),
                    "webhooks need `webhook_secret`, a random string that makes the webhook URL unguessable".into(),
                ));
            }
        }
    }
    for (name, p) in &s.llm.providers {
        match (&p.base_url, p.kind) {
            (Some(url), _) if reqwest::Url::parse(url).is_err() => out.push(at(
                &["llm", "providers", name, "base_url"],
                &format!("llm.providers.{name}.base_url"),
                format!("`{url}` is not a URL"),
            )),
            (None, ProviderKind::Openai) => out.push(at(
                &["llm", "providers", name],
                &format!("llm.providers.{name}.base_url"),
                "an OpenAI-compatible provider needs `base_url` (including `/v1`)".into(),
            )),
            _ => {}
        }
        if p.kind == ProviderKind::Yandex && p.folder_id.is_none() && !p.model.starts_with("gpt://")
        {
            out.push(at(
                &["llm", "providers", name],
                &format!("llm.providers.{name}.folder_id"),
                "YandexGPT needs `folder_id` (or a full `gpt://<folder>/<model>/latest` model URI)"
                    .into(),
            ));
        }
        if !matches!(p.auth_scheme.as_str(), "Bearer" | "Api-Key") {
            out.push(at(
                &["llm", "providers", name, "auth_scheme"],
                &format!("llm.providers.{name}.auth_scheme"),
                format!("`{}`: use `Bearer` or `Api-Key`", p.auth_scheme),
            ));
        }
        if p.max_concurrency == 0 {
            out.push(at(
                &["llm", "providers", name, "max_concurrency"],
                &format!("llm.providers.{name}.max_concurrency"),
                "must be at least 1".into(),
            ));
        }
    }
    if let Some(tg) = &s.telegram {
        validate_telegram(s, tg, &at, &mut out);
    }
    if s.pipeline.concurrency == 0 {
        out.push(at(
            &["pipeline", "concurrency"],
            "pipeline.concurrency",
            "must be at least 1".into(),
        ));
    }
    if s.sender.concurrency == 0 {
        out.push(at(
            &["sender", "concurrency"],
            "sender.concurrency",
            "must be at least 1".into(),
        ));
    }
    out.into_result(())
}

fn validate_telegram(
    s: &Settings,
    tg: &TelegramSettings,
    at: &dyn Fn(&[&str], &str, String) -> Diagnostic,
    out: &mut Diagnostics,
) {
    let urls = [
        ("api_base", Some(&tg.api_base)),
        ("public_url", tg.public_url.as_ref()),
    ];
    for (key, url) in urls {
        if let Some(url) = url
            && !reqwest::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
        {
            out.push(at(
                &["telegram", key],
                &format!("telegram.{key}"),
                format!("`{url}` is not an http(s) URL"),
            ));
        }
    }
    if let Some(w) = &tg.webhook {
        match reqwest::Url::parse(&w.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {
                if !u.path().ends_with(TELEGRAM_WEBHOOK_PATH) {
                    out.push(at(
                        &["telegram", "webhook", "url"],
                        "telegram.webhook.url",
                        format!("`{}` must end in `{TELEGRAM_WEBHOOK_PATH}` (the path the web queue's server listens on)", w.url),
                    ));
                }
            }
            _ => out.push(at(
                &["telegram", "webhook", "url"],
                "telegram.webhook.url",
                format!("`{}` is not an http(s) URL", w.url),
            )),
        }
        match resolve_named_secret(
            "telegram.webhook",
            "secret_token",
            &w.secret_token,
            &w.secret_token_env,
            &w.secret_token_file,
            &s.base_dir,
        ) {
            Ok(t) if !valid_webhook_secret(secrecy::ExposeSecret::expose_secret(&t)) => {
                out.push(at(
                    &["telegram", "webhook"],
                    "telegram.webhook.secret_token",
                    "1-256 characters, only `A-Z`, `a-z`, `0-9`, `_` and `-` (Telegram's rule)"
                        .into(),
                ))
            }
            Ok(_) => {}
            Err(e) => out.push(at(
                &["telegram", "webhook"],
                "telegram.webhook.secret_token",
                e,
            )),
        }
        if !s.web.enabled {
            out.push(at(
                &["telegram", "webhook"],
                "telegram.webhook",
                "the webhook is served by the web queue: set `[web] enabled = true`, or remove `[telegram.webhook]` for long polling".into(),
            ));
        }
    }
    if tg.users.is_empty() {
        out.push(at(
            &["telegram"],
            "telegram.users",
            "no users: add `[[telegram.users]]` with `id`, `name` and `role` (nobody else can use the bot)".into(),
        ));
    }
    if tg.max_per_second == 0 {
        out.push(at(
            &["telegram", "max_per_second"],
            "telegram.max_per_second",
            "must be at least 1".into(),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, u) in tg.users.iter().enumerate() {
        let field = |k: &str| format!("telegram.users[{i}].{k}");
        if u.id <= 0 {
            out.push(at(
                &["telegram", "users"],
                &field("id"),
                format!(
                    "`{}` is not a Telegram user id (a positive number; ask @userinfobot)",
                    u.id
                ),
            ));
        }
        if !seen.insert(u.id) {
            out.push(at(
                &["telegram", "users"],
                &field("id"),
                format!("user {} is listed twice", u.id),
            ));
        }
        if u.name.trim().is_empty() {
            out.push(at(
                &["telegram", "users"],
                &field("name"),
                "must not be empty: it names the person in the audit trail".into(),
            ));
        }
        for shop in &u.shops {
            if !s.shops.contains_key(shop) {
                out.push(at(
                    &["telegram", "users"],
                    &field("shops"),
                    format!("no shop `{shop}` in `[shops]`"),
                ));
            }
        }
        if let Some(q) = &u.quiet_hours
            && let Err(e) = parse_quiet_hours(q)
        {
            out.push(at(&["telegram", "users"], &field("quiet_hours"), e));
        }
        if let Some(d) = u.digest
            && !(Duration::from_secs(1)..=Duration::from_secs(24 * 3600)).contains(&d.0)
        {
            out.push(at(
                &["telegram", "users"],
                &field("digest"),
                format!("`{d}`: a digest interval is between 1s and 24h (e.g. `30m`)"),
            ));
        }
        if jiff::tz::TimeZone::get(&u.timezone).is_err() {
            out.push(at(
                &["telegram", "users"],
                &field("timezone"),
                format!(
                    "unknown time zone `{}` (use an IANA name like `Europe/Moscow`)",
                    u.timezone
                ),
            ));
        }
    }
}

impl Settings {
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    pub fn database_path(&self) -> PathBuf {
        self.resolve(&self.database.path)
    }

    /// Where trained built-in models are kept between starts.
    pub fn model_cache_dir(&self) -> PathBuf {
        match &self.database.model_cache {
            Some(dir) => self.resolve(dir),
            None => self.database_path().with_extension("models"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const MINIMAL: &str = r#"
[database]
path = "x.db"

[shops.acme]
policy = "policies/acme.toml"
prompts = "prompts/default"

[shops.acme.wildberries]
token = "t0k3n"
"#;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn environment_overrides_any_key() {
        let s = load_from_str(
            MINIMAL,
            "c.toml",
            PathBuf::from("/srv"),
            env(&[
                ("AGENTIQ__DATABASE__PATH", "/var/lib/agentiq.db"),
                ("AGENTIQ__SHOPS__ACME__WILDBERRIES__POLL_INTERVAL", "3s"),
                ("AGENTIQ__PIPELINE__CONCURRENCY", "3"),
            ]),
        )
        .unwrap();
        assert_eq!(s.database_path(), PathBuf::from("/var/lib/agentiq.db"));
        let wb = s.shops["acme"].wildberries.as_ref().unwrap();
        assert_eq!(wb.poll_interval, Dur::secs(3));
        assert_eq!(s.pipeline.concurrency, 3);
        assert_eq!(
            s.resolve(Path::new("policies/acme.toml")),
            PathBuf::from("/srv/policies/acme.toml")
        );
    }

    #[test]
    fn telegram_digest_webhook_and_quiet_hours_errors_name_file_and_key() {
        let text = format!(
            "{MINIMAL}\n[telegram]\ntoken = \"1:x\"\n\n[telegram.webhook]\nurl = \"https://bot.example.ru/hook\"\nsecret_token = \"not ok!\"\n\n[[telegram.users]]\nid = 5\nname = \"Мария\"\nrole = \"approve\"\ndigest = \"0s\"\nquiet_hours = \"23:00-25:00\"\n"
        );
        let err = load_from_str(&text, "bot.toml", PathBuf::new(), HashMap::new())
            .unwrap_err()
            .to_string();
        for key in [
            "telegram.users[0].digest",
            "telegram.users[0].quiet_hours",
            "telegram.webhook.url",
            "telegram.webhook.secret_token",
            "telegram.webhook`",
        ] {
            assert!(err.contains(key.trim_end_matches('`')), "{key} in {err}");
        }
        assert!(err.lines().all(|l| l.starts_with("bot.toml")), "{err}");
        assert_eq!(parse_quiet_hours("23:00:30-08:00"), Ok((82830, 28800)));

        let fine = text
            .replace("\"0s\"", "\"30m\"")
            .replace("23:00-25:00", "23:00-08:00")
            .replace("not ok!", "s3cret_token-1")
            .replace("/hook", "/telegram/webhook")
            .replace("[database]", "[web]\nenabled = true\n\n[database]");
        let s = load_from_str(&fine, "bot.toml", PathBuf::new(), HashMap::new())
            .unwrap_or_else(|e| panic!("{e}"));
        let tg = s.telegram.unwrap();
        assert_eq!(tg.users[0].digest, Some(Dur::secs(1800)));
        assert_eq!(tg.users[0].quiet_hours_urgent, UrgentDelivery::Silent);
    }

    #[test]
    fn review_sections_of_each_marketplace_are_checked_with_file_and_key() {
        let text = format!(
            "{MINIMAL}\n[shops.acme.ozon]\nclient_id = \"1\"\napi_key = \"k\"\n\n[shops.acme.ozon.feedback]\nrate_limit_requests = 0\n\n[shops.acme.yandex_market]\nbusiness_id = 2\napi_key = \"k\"\n\n[shops.acme.yandex_market.feedback]\nbase_url = \"not a url\"\n\n[shops.acme.avito]\nclient_id = \"c\"\nclient_secret = \"s\"\n\n[shops.acme.avito.feedback]\npoll_interval = \"0s\"\n"
        );
        let err = load_from_str(&text, "shop.toml", PathBuf::new(), HashMap::new())
            .unwrap_err()
            .to_string();
        for key in [
            "shops.acme.ozon.feedback.rate_limit_requests",
            "shops.acme.yandex_market.feedback.base_url",
            "shops.acme.avito.feedback.poll_interval",
        ] {
            assert!(err.contains(key), "{key} in {err}");
        }
        assert!(err.lines().all(|l| l.starts_with("shop.toml:")), "{err}");
        let fine = text
            .replace("rate_limit_requests = 0", "rate_limit_requests = 3")
            .replace("not a url", "https://api.partner.market.yandex.ru")
            .replace("\"0s\"", "\"2m\"");
        let s = load_from_str(&fine, "shop.toml", PathBuf::new(), HashMap::new())
            .unwrap_or_else(|e| panic!("{e}"));
        let shop = &s.shops["acme"];
        assert_eq!(
            shop.feedback_poll_interval(Marketplace::Avito),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            shop.feedback_poll_interval(Marketplace::Ozon),
            Some(Duration::from_secs(60))
        );
        assert_eq!(shop.feedback_poll_interval(Marketplace::Wildberries), None);
    }

    const ALL_FOUR: &str = "\n[shops.acme.ozon]\nclient_id = \"1\"\napi_key = \"k\"\n\n[shops.acme.yandex_market]\nbusiness_id = 2\napi_key = \"k\"\n\n[shops.acme.avito]\nclient_id = \"c\"\nclient_secret = \"s\"\n";

    #[test]
    fn each_section_answers_for_the_marketplace_whose_key_it_sits_under() {
        let text = format!("{MINIMAL}{ALL_FOUR}");
        let s = load_from_str(&text, "shop.toml", PathBuf::new(), HashMap::new()).unwrap();
        let shop = &s.shops["acme"];
        assert_eq!(shop.marketplaces(), Marketplace::ALL);
        for m in Marketplace::ALL {
            let section = shop.section(m).unwrap();
            assert_eq!(section.marketplace(), m);
            assert!(
                diag::locate_key(&text, &["shops", "acme", m.config_key()]).is_some(),
                "{m}"
            );
        }
        assert_eq!(
            shop.poll_interval(Marketplace::Wildberries),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            shop.poll_interval(Marketplace::Avito),
            Some(Duration::from_secs(15))
        );
        assert_eq!(shop.base_urls().len(), 4);
    }

    #[test]
    fn webhooks_are_checked_for_whichever_section_has_them() {
        let text = format!(
            "{MINIMAL}{ALL_FOUR}webhook_base_url = \"not a url\"\n\n[web]\nenabled = false\n"
        );
        let err = load_from_str(&text, "shop.toml", PathBuf::new(), HashMap::new())
            .unwrap_err()
            .to_string();
        for needle in [
            "`shops.acme.avito`: `not a url` is not a URL",
            "`shops.acme.avito.webhook_base_url`: webhooks arrive",
            "`shops.acme.avito.webhook_secret`: webhooks need",
        ] {
            assert!(err.contains(needle), "{needle} in {err}");
        }
        let fine = format!(
            "{MINIMAL}{ALL_FOUR}webhook_base_url = \"https://q.example.ru\"\nwebhook_secret = \"s3cret\"\n"
        );
        let s = load_from_str(&fine, "shop.toml", PathBuf::new(), HashMap::new())
            .unwrap_or_else(|e| panic!("{e}"));
        let shop = &s.shops["acme"];
        assert_eq!(
            shop.webhook_url("acme", Marketplace::Avito).as_deref(),
            Some("https://q.example.ru/webhooks/avito/acme/s3cret")
        );
        assert_eq!(shop.webhook_url("acme", Marketplace::Ozon), None);
        assert!(shop.webhook_secret(Marketplace::Wildberries).is_none());
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let s = load_from_str(MINIMAL, "c.toml", PathBuf::new(), HashMap::new()).unwrap();
        let debug = format!("{s:?}");
        assert!(!debug.contains("t0k3n"), "{debug}");
        let wb = s.shops["acme"].wildberries.as_ref().unwrap();
        assert_eq!(wb.token.as_ref().unwrap().expose_secret(), "t0k3n");
    }

    #[test]
    fn a_typo_names_file_line_and_field() {
        let broken = MINIMAL.replace("prompts = ", "promts = ");
        let err = load_from_str(&broken, "shop.toml", PathBuf::new(), HashMap::new()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("shop.toml:7: `promts`: unknown field"),
            "{text}"
        );
    }

    #[test]
    fn semantic_errors_point_at_the_key() {
        let broken = MINIMAL.replace(
            "prompts = \"prompts/default\"",
            "prompts = \"prompts/default\"\ndrafter = \"llm\"\nllm_provider = \"nope\"",
        );
        let err = load_from_str(&broken, "c.toml", PathBuf::new(), HashMap::new()).unwrap_err();
        assert_eq!(err.0.len(), 1, "{err}");
        assert_eq!(err.0[0].line, Some(9), "{err}");
        assert!(err.0[0].message.contains("no provider `nope`"), "{err}");
    }

    #[test]
    fn trusted_proxies_and_allowed_hosts_are_checked_at_load() {
        let ok = format!(
            "{MINIMAL}\n[web]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\nallowed_hosts = [\"queue.example.ru\"]\n"
        );
        let s = load_from_str(&ok, "c.toml", PathBuf::new(), HashMap::new()).unwrap();
        let [net, v6] = s.web.trusted_proxies[..] else {
            panic!("{:?}", s.web.trusted_proxies)
        };
        assert!(net.contains("10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.0.0.9".parse().unwrap()));
        assert!(v6.contains("::1".parse().unwrap()));
        for bad in [
            "[web]\ntrusted_proxies = [\"10.0.0.0/33\"]\n",
            "[web]\ntrusted_proxies = [\"proxy.local\"]\n",
            "[web]\nallowed_hosts = [\"https://queue.example.ru/\"]\n",
        ] {
            let text = format!("{MINIMAL}\n{bad}");
            assert!(
                load_from_str(&text, "c.toml", PathBuf::new(), HashMap::new()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!("500ms".parse::<Dur>().unwrap(), Dur::millis(500));
        assert_eq!("1h 30m".parse::<Dur>().unwrap(), Dur::secs(5400));
        assert_eq!("2d".parse::<Dur>().unwrap(), Dur::secs(172_800));
        assert!("soon".parse::<Dur>().is_err());
    }

    #[test]
    fn the_embedded_default_is_valid() {
        let s = load_from_str(
            EMBEDDED_CONFIG,
            "config.toml",
            PathBuf::new(),
            HashMap::new(),
        )
        .unwrap();
        assert!(!s.shops.is_empty());
        assert!(s.web.listen.ip().is_loopback());
    }

    #[test]
    fn secret_sources_are_exclusive_and_named() {
        let err =
            resolve_secret("shops.a.wildberries", &None, &None, &None, Path::new(".")).unwrap_err();
        assert!(err.contains("token_env"), "{err}");
        let err = resolve_secret(
            "shops.a.wildberries",
            &None,
            &Some("AGENTIQ_TEST_SURELY_UNSET_VAR".into()),
            &None,
            Path::new("."),
        )
        .unwrap_err();
        assert!(err.contains("AGENTIQ_TEST_SURELY_UNSET_VAR"), "{err}");
    }
}
