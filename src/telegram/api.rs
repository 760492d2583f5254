//! A thin typed client for the handful of Bot API methods the bot uses, over
//! our own reqwest client (rustls, timeouts). Why not a crate: see
//! docs/telegram.md. The token lives only inside the URL prefix, which is
//! never printed: `Debug` hides it and transport errors drop their URL.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::config::TelegramSettings;

/// What went wrong with a call, as the caller must branch on it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 429: wait this long before the next call.
    #[error("Telegram asks to wait {0:?}")]
    RetryAfter(Duration),
    /// 5xx, a transport failure or an answer that is not the Bot API's: try again later.
    #[error("Telegram is unavailable: {0}")]
    Unavailable(String),
    /// Telegram refused the call itself (4xx): trying again will not help.
    #[error("Telegram refused the call ({code}): {description}")]
    Refused { code: u16, description: String },
}

#[derive(Clone)]
pub struct BotApi {
    client: reqwest::Client,
    /// `{api_base}/bot{token}`: a secret.
    prefix: SecretString,
    timeout: Duration,
}

impl std::fmt::Debug for BotApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BotApi(…)")
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Update {
    pub update_id: i64,
    #[serde(default)]
    pub message: Option<Message>,
    #[serde(default)]
    pub callback_query: Option<CallbackQuery>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Chat {
    pub id: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    pub message_id: i64,
    pub chat: Chat,
    #[serde(default)]
    pub from: Option<User>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub reply_to_message: Option<Box<Message>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CallbackQuery {
    pub id: String,
    pub from: User,
    #[serde(default)]
    pub message: Option<Message>,
    #[serde(default)]
    pub data: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    ok: bool,
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    error_code: Option<u16>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<Parameters>,
}

#[derive(Deserialize)]
struct Parameters {
    #[serde(default)]
    retry_after: Option<u64>,
}

/// What a message looks like: HTML text, an inline keyboard or a request to reply.
#[derive(Debug, Clone, Default)]
pub struct Outgoing {
    pub text: String,
    pub markup: Option<Value>,
    pub silent: bool,
}

impl BotApi {
    /// Resolve the token (value, environment variable or file) and build the client.
    pub fn from_settings(
        s: &TelegramSettings,
        base_dir: &std::path::Path,
    ) -> Result<BotApi, String> {
        let token = crate::config::resolve_secret(
            "telegram",
            &s.token,
            &s.token_env,
            &s.token_file,
            base_dir,
        )?;
        Self::new(&s.api_base, &token, s.timeout.0)
    }

    pub fn new(api_base: &str, token: &SecretString, timeout: Duration) -> Result<BotApi, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(BotApi {
            client,
            prefix: SecretString::from(format!(
                "{}/bot{}",
                api_base.trim_end_matches('/'),
                token.expose_secret()
            )),
            timeout,
        })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: &Value,
        timeout: Duration,
    ) -> Result<T, ApiError> {
        let url = format!("{}/{method}", self.prefix.expose_secret());
        let response = self
            .client
            .post(url)
            .timeout(timeout)
            .json(params)
            .send()
            .await
            .map_err(|e| ApiError::Unavailable(e.without_url().to_string()))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| ApiError::Unavailable(e.without_url().to_string()))?;
        let envelope: Envelope = match serde_json::from_slice(&body) {
            Ok(e) => e,
            Err(_) if status.is_server_error() || status.is_success() => {
                return Err(ApiError::Unavailable(format!(
                    "HTTP {status} without a Bot API answer"
                )));
            }
            Err(_) => {
                return Err(ApiError::Refused {
                    code: status.as_u16(),
                    description: format!("HTTP {status} without a Bot API answer"),
                });
            }
        };
        if envelope.ok {
            return serde_json::from_value(envelope.result.unwrap_or(Value::Null))
                .map_err(|e| ApiError::Unavailable(format!("unexpected `{method}` result: {e}")));
        }
        let code = envelope.error_code.unwrap_or(status.as_u16());
        let description = envelope.description.unwrap_or_default();
        match code {
            429 => Err(ApiError::RetryAfter(Duration::from_secs(
                envelope
                    .parameters
                    .and_then(|p| p.retry_after)
                    .unwrap_or(1)
                    .max(1),
            ))),
            c if c >= 500 => Err(ApiError::Unavailable(format!("{c}: {description}"))),
            c => Err(ApiError::Refused {
                code: c,
                description,
            }),
        }
    }

    /// Send a message; its id.
    pub async fn send_message(&self, chat_id: i64, m: &Outgoing) -> Result<i64, ApiError> {
        let mut params = json!({
            "chat_id": chat_id,
            "text": m.text,
            "parse_mode": "HTML",
            "link_preview_options": { "is_disabled": true },
            "disable_notification": m.silent,
        });
        if let Some(markup) = &m.markup {
            params["reply_markup"] = markup.clone();
        }
        let sent: Message = self.call("sendMessage", &params, self.timeout).await?;
        Ok(sent.message_id)
    }

    /// Replace a message's text and buttons. An edit that changes nothing is a success.
    pub async fn edit_message(
        &self,
        chat_id: i64,
        message_id: i64,
        m: &Outgoing,
    ) -> Result<(), ApiError> {
        let params = json!({
            "chat_id": chat_id,
            "message_id": message_id,
            "text": m.text,
            "parse_mode": "HTML",
            "link_preview_options": { "is_disabled": true },
            "reply_markup": m.markup.clone().unwrap_or_else(|| json!({ "inline_keyboard": [] })),
        });
        match self
            .call::<Value>("editMessageText", &params, self.timeout)
            .await
        {
            Err(ApiError::Refused { description, .. })
                if description.contains("message is not modified") =>
            {
                Ok(())
            }
            other => other.map(|_| ()),
        }
    }

    /// Stop the spinner on a tapped button, with a short notice.
    pub async fn answer_callback(&self, id: &str, text: &str) -> Result<(), ApiError> {
        let params = json!({ "callback_query_id": id, "text": text });
        self.call::<Value>("answerCallbackQuery", &params, self.timeout)
            .await
            .map(|_| ())
    }

    /// Long polling: updates from `offset` on, waiting up to `wait` for the first.
    pub async fn get_updates(&self, offset: i64, wait: Duration) -> Result<Vec<Update>, ApiError> {
        let params = json!({
            "offset": offset,
            "timeout": wait.as_secs(),
            "allowed_updates": ["message", "callback_query"],
        });
        self.call("getUpdates", &params, wait + self.timeout).await
    }
}
