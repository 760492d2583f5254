//! The Bot API: frankenstein's typed methods and models (its
//! `AsyncTelegramApi` trait, without an HTTP client of its own) over our
//! reqwest client (rustls, a timeout on every call) and a configurable API
//! base (the simulator plays Telegram in tests). Why frankenstein: see
//! docs/telegram.md. The token lives only inside the URL prefix, which is
//! never printed: `Debug` hides it and transport errors drop their URL.

use std::path::PathBuf;
use std::time::Duration;

use frankenstein::methods::{EditMessageTextParams, GetUpdatesParams, SendMessageParams};
use frankenstein::response::{ErrorResponse, MethodResponse};
use frankenstein::types::{InlineKeyboardMarkup, LinkPreviewOptions, ReplyMarkup};
use frankenstein::updates::Update;
use frankenstein::{AsyncTelegramApi, ParseMode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::TelegramSettings;

/// What went wrong with a call, as the caller must branch on it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 429: wait this long before the next call.
    #[error("Telegram asks to wait {0:?}")]
    RetryAfter(Duration),
    /// 5xx, a transport failure or a 2xx/5xx answer that is not the Bot API's: try again later.
    #[error("Telegram is unavailable: {0}")]
    Unavailable(String),
    /// Telegram refused the call itself (4xx): trying again will not help.
    #[error("Telegram refused the call ({code}): {description}")]
    Refused { code: u16, description: String },
    /// The call cannot be made as asked (its parameters do not encode, or it
    /// uploads a file, which the bot never does); nothing was sent.
    #[error("cannot call Telegram's `{method}`: {why}")]
    Invalid { method: String, why: String },
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

/// An update as the bot reads it: frankenstein's `Update`, or only its id
/// when its content does not read (it is skipped, not retried for ever).
#[derive(Debug, Clone)]
pub enum Incoming {
    Read(Box<Update>),
    Unreadable { update_id: i64, why: String },
}

impl Incoming {
    /// One update's JSON (an element of `getUpdates`' result, or a webhook body).
    pub fn parse(update_id: i64, raw: Value) -> Incoming {
        match serde_json::from_value::<Update>(raw) {
            Ok(u) => Incoming::Read(Box::new(u)),
            Err(e) => Incoming::Unreadable {
                update_id,
                why: e.to_string(),
            },
        }
    }

    pub fn update_id(&self) -> i64 {
        match self {
            Incoming::Read(u) => i64::from(u.update_id),
            Incoming::Unreadable { update_id, .. } => *update_id,
        }
    }
}

/// A message in the bot's style: HTML, no link previews.
pub fn html_message(
    chat_id: i64,
    text: String,
    markup: Option<ReplyMarkup>,
    silent: bool,
) -> SendMessageParams {
    SendMessageParams::builder()
        .chat_id(chat_id)
        .text(text)
        .parse_mode(ParseMode::Html)
        .link_preview_options(LinkPreviewOptions::DISABLED)
        .disable_notification(silent)
        .maybe_reply_markup(markup)
        .build()
}

/// Make message `message_id` of `m`'s chat show `m`'s text and inline
/// keyboard (none when `m` has another kind of markup).
pub fn edit_of(message_id: i32, m: &SendMessageParams) -> EditMessageTextParams {
    let keyboard = match &m.reply_markup {
        Some(ReplyMarkup::InlineKeyboardMarkup(k)) => k.clone(),
        _ => InlineKeyboardMarkup::builder()
            .inline_keyboard(Vec::new())
            .build(),
    };
    EditMessageTextParams::builder()
        .chat_id(m.chat_id.clone())
        .message_id(message_id)
        .text(m.text.clone())
        .maybe_parse_mode(m.parse_mode)
        .maybe_link_preview_options(m.link_preview_options.clone())
        .reply_markup(keyboard)
        .build()
}

/// The part of every Bot API answer that says which shape the rest has.
#[derive(Deserialize)]
struct Head {
    ok: bool,
}

/// The Bot API's answer to `method` (HTTP `status`, `body`) as the result or an [`ApiError`].
fn answer<Output: DeserializeOwned>(
    method: &str,
    status: reqwest::StatusCode,
    body: &[u8],
) -> Result<Output, ApiError> {
    let not_the_bot_api = || {
        let description = format!("HTTP {status} without a Bot API answer");
        if status.is_server_error() || status.is_success() {
            ApiError::Unavailable(description)
        } else {
            ApiError::Refused {
                code: status.as_u16(),
                description,
            }
        }
    };
    match serde_json::from_slice::<Head>(body) {
        Ok(Head { ok: true }) => serde_json::from_slice(body)
            .map_err(|e| ApiError::Unavailable(format!("unexpected `{method}` result: {e}"))),
        Ok(Head { ok: false }) => {
            let refusal: ErrorResponse =
                serde_json::from_slice(body).map_err(|_| not_the_bot_api())?;
            let code = u16::try_from(refusal.error_code).unwrap_or(status.as_u16());
            Err(match code {
                429 => ApiError::RetryAfter(Duration::from_secs(
                    refusal
                        .parameters
                        .and_then(|p| p.retry_after)
                        .map_or(1, u64::from)
                        .max(1),
                )),
                c if c >= 500 => ApiError::Unavailable(format!("{c}: {}", refusal.description)),
                c => ApiError::Refused {
                    code: c,
                    description: refusal.description,
                },
            })
        }
        Err(_) => Err(not_the_bot_api()),
    }
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

    /// Send a message; its id.
    pub async fn send(&self, m: &SendMessageParams) -> Result<i64, ApiError> {
        Ok(i64::from(self.send_message(m).await?.result.message_id))
    }

    /// Replace a message's text and buttons. An edit that changes nothing is a success.
    pub async fn edit(&self, e: &EditMessageTextParams) -> Result<(), ApiError> {
        match self.edit_message_text(e).await {
            Err(ApiError::Refused { description, .. })
                if description.contains("message is not modified") =>
            {
                Ok(())
            }
            other => other.map(|_| ()),
        }
    }

    /// Long polling. Each update is read on its own, so one the types do not
    /// cover is skipped by its id instead of failing every poll after it.
    pub async fn poll(&self, params: &GetUpdatesParams) -> Result<Vec<Incoming>, ApiError> {
        let raw: MethodResponse<Vec<Value>> = self.request("getUpdates", Some(params)).await?;
        Ok(raw
            .result
            .into_iter()
            .filter_map(|u| match u["update_id"].as_i64() {
                Some(id) => Some(Incoming::parse(id, u)),
                // Nothing to confirm it by; the next update's offset passes it.
                None => {
                    tracing::warn!("a Telegram update without an update_id; skipped");
                    None
                }
            })
            .collect())
    }
}

#[async_trait::async_trait]
impl AsyncTelegramApi for BotApi {
    type Error = ApiError;

    async fn request<Params, Output>(
        &self,
        method: &str,
        params: Option<Params>,
    ) -> Result<Output, ApiError>
    where
        Params: serde::ser::Serialize + std::fmt::Debug + std::marker::Send,
        Output: DeserializeOwned,
    {
        let params = match params {
            Some(p) => serde_json::to_value(p).map_err(|e| ApiError::Invalid {
                method: method.to_string(),
                why: e.to_string(),
            })?,
            None => Value::Object(Default::default()),
        };
        // A long poll is held open by Telegram for its `timeout`.
        let held = match method {
            "getUpdates" => Duration::from_secs(params["timeout"].as_u64().unwrap_or(0)),
            _ => Duration::ZERO,
        };
        let url = format!("{}/{method}", self.prefix.expose_secret());
        let response = self
            .client
            .post(url)
            .timeout(self.timeout + held)
            .json(&params)
            .send()
            .await
            .map_err(|e| ApiError::Unavailable(e.without_url().to_string()))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| ApiError::Unavailable(e.without_url().to_string()))?;
        answer(method, status, &body)
    }

    async fn request_with_form_data<Params, Output>(
        &self,
        method: &str,
        _params: Params,
        _files: Vec<(&str, PathBuf)>,
    ) -> Result<Output, ApiError>
    where
        Params: serde::ser::Serialize + std::fmt::Debug + std::marker::Send,
        Output: DeserializeOwned,
    {
        Err(ApiError::Invalid {
            method: method.to_string(),
            why: "the bot uploads no files".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use frankenstein::updates::UpdateContent;
    use serde_json::json;
    use wiremock::matchers::{body_partial_json, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    const TOKEN: &str = "123456:SECRET-token";

    fn api(base: &str, timeout: Duration) -> BotApi {
        BotApi::new(base, &SecretString::from(TOKEN), timeout).unwrap()
    }

    fn status(code: u16) -> reqwest::StatusCode {
        reqwest::StatusCode::from_u16(code).unwrap()
    }

    #[test]
    fn answers_map_to_what_the_caller_must_do() {
        let ok: Result<MethodResponse<bool>, _> =
            answer("setWebhook", status(200), br#"{"ok":true,"result":true}"#);
        assert!(ok.unwrap().result);
        let wait = answer::<Value>(
            "sendMessage",
            status(429),
            br#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#,
        );
        assert!(matches!(wait, Err(ApiError::RetryAfter(d)) if d == Duration::from_secs(7)));
        let blocked = answer::<Value>(
            "sendMessage",
            status(403),
            br#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#,
        );
        assert!(
            matches!(blocked, Err(ApiError::Refused { code: 403, ref description }) if description.contains("blocked")),
            "{blocked:?}"
        );
        let down = answer::<Value>(
            "sendMessage",
            status(502),
            br#"{"ok":false,"error_code":502,"description":"Bad Gateway"}"#,
        );
        assert!(matches!(down, Err(ApiError::Unavailable(_))), "{down:?}");
        // A proxy's page is not the Bot API: a 5xx is tried again, a 4xx is not.
        let page = b"<html>Bad Gateway</html>";
        assert!(matches!(
            answer::<Value>("sendMessage", status(502), page),
            Err(ApiError::Unavailable(_))
        ));
        assert!(matches!(
            answer::<Value>("sendMessage", status(404), page),
            Err(ApiError::Refused { code: 404, .. })
        ));
        // A success whose result is not what the method returns.
        assert!(matches!(
            answer::<MethodResponse<bool>>(
                "setWebhook",
                status(200),
                br#"{"ok":true,"result":"x"}"#
            ),
            Err(ApiError::Unavailable(_))
        ));
    }

    #[tokio::test]
    async fn calls_go_to_the_configured_base_and_read_each_update_on_its_own() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(format!("/bot{TOKEN}/getUpdates")))
            .and(body_partial_json(json!({ "offset": 5, "timeout": 0 })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "ok": true,
                "result": [
                    { "update_id": 5, "message": {
                        "message_id": 9, "date": 1, "text": "привет",
                        "chat": { "id": 42, "type": "private" },
                        "from": { "id": 42, "is_bot": false, "first_name": "Мария" } } },
                    { "update_id": 6, "message": { "message_id": "not a number" } },
                ]
            })))
            .mount(&server)
            .await;
        let params = GetUpdatesParams::builder().offset(5).timeout(0).build();
        let updates = api(&server.uri(), Duration::from_secs(5))
            .poll(&params)
            .await
            .unwrap();
        assert_eq!(updates.len(), 2);
        match &updates[0] {
            Incoming::Read(u) => match &u.content {
                UpdateContent::Message(m) => assert_eq!(m.text.as_deref(), Some("привет")),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            updates[1],
            Incoming::Unreadable { update_id: 6, .. }
        ));
        assert_eq!(updates[1].update_id(), 6);
    }

    #[tokio::test]
    async fn an_edit_that_changes_nothing_is_a_success() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(format!("/bot{TOKEN}/editMessageText")))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({
                "ok": false, "error_code": 400,
                "description": "Bad Request: message is not modified: specified new message content and reply markup are exactly the same"
            })))
            .mount(&server)
            .await;
        let m = html_message(42, "<b>x</b>".into(), None, false);
        api(&server.uri(), Duration::from_secs(5))
            .edit(&edit_of(7, &m))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn the_token_appears_in_no_error() {
        // Nothing listens: a transport failure.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let gone = api(&format!("http://{closed}"), Duration::from_secs(5))
            .send(&html_message(1, "x".into(), None, false))
            .await
            .unwrap_err();
        // Too slow: a timeout.
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
            .mount(&server)
            .await;
        let slow = api(&server.uri(), Duration::from_millis(100))
            .send(&html_message(1, "x".into(), None, false))
            .await
            .unwrap_err();
        for e in [gone, slow] {
            assert!(matches!(e, ApiError::Unavailable(_)), "{e:?}");
            assert!(!e.to_string().contains("SECRET"), "{e}");
            assert!(!format!("{e:?}").contains("SECRET"), "{e:?}");
        }
        assert!(!format!("{:?}", api("http://x", Duration::from_secs(1))).contains("SECRET"));
    }
}
