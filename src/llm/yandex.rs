//! YandexGPT through its native Foundation Models API
//! (`POST {host}/foundationModels/v1/completion`).
//!
//! Messages carry `text`, not `content`; token counts come back as strings;
//! only an `ALTERNATIVE_STATUS_FINAL` alternative is a usable answer.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::{ChatModel, LlmError, LlmRequest, LlmResponse};
use crate::config::StructuredOutput;

pub const DEFAULT_HOST: &str = "https://llm.api.cloud.yandex.net";

#[derive(Debug, Clone)]
pub struct YandexSettings {
    pub name: String,
    pub host: String,
    /// `yandexgpt`, `yandexgpt-lite`, or a full `gpt://…` URI.
    pub model: String,
    pub folder_id: Option<String>,
    /// The key or IAM token; `auth_scheme` says which.
    pub secret: Option<String>,
    /// `Api-Key` for service-account keys, `Bearer` for IAM tokens.
    pub auth_scheme: String,
    pub data_logging: bool,
    pub timeout: Duration,
    pub max_concurrency: usize,
    pub temperature: f32,
    pub structured_output: StructuredOutput,
}

pub struct YandexGpt {
    settings: YandexSettings,
    model_uri: String,
    http: reqwest::Client,
    permits: Arc<Semaphore>,
}

impl YandexGpt {
    pub fn new(settings: YandexSettings) -> Result<YandexGpt, String> {
        let model_uri = if settings.model.starts_with("gpt://") {
            settings.model.clone()
        } else {
            let folder = settings
                .folder_id
                .as_deref()
                .ok_or("YandexGPT needs a folder id")?;
            format!("gpt://{folder}/{}/latest", settings.model)
        };
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(YandexGpt {
            permits: Arc::new(Semaphore::new(settings.max_concurrency.max(1))),
            model_uri,
            http,
            settings,
        })
    }

    pub fn model_uri(&self) -> &str {
        &self.model_uri
    }
}

#[derive(Debug, Deserialize)]
struct Completion {
    result: Option<CompletionResult>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompletionResult {
    #[serde(default)]
    alternatives: Vec<Alternative>,
    usage: Option<Usage>,
}

#[derive(Debug, Deserialize)]
struct Alternative {
    message: Option<Message>,
    status: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Message {
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Usage {
    input_text_tokens: Option<Value>,
    completion_tokens: Option<Value>,
}

/// Yandex encodes int64 counters as strings; accept numbers too.
fn count(v: &Option<Value>) -> Option<u64> {
    match v {
        Some(Value::String(s)) => s.parse().ok(),
        Some(Value::Number(n)) => n.as_u64(),
        _ => None,
    }
}

fn error_message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("error")
                .and_then(|e| e.get("message").or(Some(e)))
                .or_else(|| v.get("message"))
                .map(|m| {
                    m.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| m.to_string())
                })
        })
        .unwrap_or_else(|| body.chars().take(200).collect())
}

pub fn parse_completion(body: &str) -> Result<LlmResponse, LlmError> {
    let parsed: Completion = serde_json::from_str(body).map_err(|e| {
        LlmError::BadResponse(format!(
            "{e}: {}",
            body.chars().take(200).collect::<String>()
        ))
    })?;
    let result = parsed
        .result
        .ok_or_else(|| LlmError::BadResponse("no `result` in the answer".into()))?;
    let alternative = result
        .alternatives
        .first()
        .ok_or_else(|| LlmError::BadResponse("no alternatives".into()))?;
    let status = alternative
        .status
        .as_deref()
        .unwrap_or("ALTERNATIVE_STATUS_UNSPECIFIED");
    if status != "ALTERNATIVE_STATUS_FINAL" {
        return Err(LlmError::BadResponse(format!(
            "the answer is not final ({status})"
        )));
    }
    let text = alternative
        .message
        .as_ref()
        .and_then(|m| m.text.as_deref())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| LlmError::BadResponse("an empty answer".into()))?;
    Ok(LlmResponse {
        text: text.to_string(),
        prompt_tokens: result
            .usage
            .as_ref()
            .and_then(|u| count(&u.input_text_tokens)),
        completion_tokens: result
            .usage
            .as_ref()
            .and_then(|u| count(&u.completion_tokens)),
    })
}

#[async_trait]
impl ChatModel for YandexGpt {
    fn name(&self) -> &str {
        &self.settings.name
    }

    fn model(&self) -> &str {
        &self.model_uri
    }

    async fn complete(&self, request: &LlmRequest) -> Result<LlmResponse, LlmError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| LlmError::Transport(e.to_string()))?;
        let mut body = json!({
            "modelUri": self.model_uri,
            "completionOptions": {
                "stream": false,
                "temperature": self.settings.temperature,
                "maxTokens": request.max_tokens.to_string(),
                "reasoningOptions": { "mode": "DISABLED" },
            },
            "messages": [
                { "role": "system", "text": request.system },
                { "role": "user", "text": request.user },
            ],
        });
        if let Some((_, schema)) = &request.json_schema {
            match self.settings.structured_output {
                StructuredOutput::JsonSchema => body["jsonSchema"] = json!({ "schema": schema }),
                StructuredOutput::JsonObject => body["jsonObject"] = json!(true),
                StructuredOutput::None => {}
            }
        }
        let url = format!(
            "{}/foundationModels/v1/completion",
            self.settings.host.trim_end_matches('/')
        );
        let mut call = self
            .http
            .post(url)
            .header(
                "x-data-logging-enabled",
                if self.settings.data_logging {
                    "true"
                } else {
                    "false"
                },
            )
            .header("x-client-request-id", uuid::Uuid::new_v4().to_string())
            .json(&body);
        if let Some(secret) = &self.settings.secret {
            call = call.header(
                reqwest::header::AUTHORIZATION,
                format!("{} {secret}", self.settings.auth_scheme),
            );
            if self.settings.auth_scheme == "Bearer"
                && let Some(folder) = &self.settings.folder_id
            {
                call = call.header("x-folder-id", folder);
            }
        }
        let response = call.send().await.map_err(|e| {
            if e.is_timeout() {
                LlmError::Timeout(self.settings.timeout)
            } else {
                LlmError::Transport(e.to_string())
            }
        })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().await.map_err(|e| {
            if e.is_timeout() {
                LlmError::Timeout(self.settings.timeout)
            } else {
                LlmError::Transport(e.to_string())
            }
        })?;
        match status {
            s if s.is_success() => parse_completion(&text),
            StatusCode::TOO_MANY_REQUESTS => Err(LlmError::RateLimited(retry_after)),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Err(LlmError::Auth(error_message(&text)))
            }
            StatusCode::BAD_REQUEST => {
                let message = error_message(&text);
                let lower = message.to_lowercase();
                if lower.contains("number of input tokens")
                    || lower.contains("too many tokens")
                    || lower.contains("context")
                {
                    Err(LlmError::ContextLength(message))
                } else {
                    Err(LlmError::Invalid(message))
                }
            }
            s if s.is_server_error() => {
                Err(LlmError::Server(format!("{s}: {}", error_message(&text))))
            }
            s => Err(LlmError::Invalid(format!("{s}: {}", error_message(&text)))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    /// The response example from the Foundation Models API reference.
    const FINAL: &str = r#"{"result":{"alternatives":[{"message":{"role":"assistant","text":"Здравствуйте! Заказ уже в пути."},"status":"ALTERNATIVE_STATUS_FINAL"}],"usage":{"inputTextTokens":"36","completionTokens":"14","totalTokens":"50"},"modelVersion":"23.10.2024"}}"#;

    fn client(server: &MockServer, timeout: Duration) -> YandexGpt {
        YandexGpt::new(YandexSettings {
            name: "yandex".into(),
            host: server.uri(),
            model: "yandexgpt-lite".into(),
            folder_id: Some("b1gfolder".into()),
            secret: Some("AQVNkey".into()),
            auth_scheme: "Api-Key".into(),
            data_logging: false,
            timeout,
            max_concurrency: 2,
            temperature: 0.3,
            structured_output: StructuredOutput::JsonSchema,
        })
        .unwrap()
    }

    fn request() -> LlmRequest {
        LlmRequest {
            system: "система".into(),
            user: "вопрос".into(),
            json_schema: None,
            max_tokens: 500,
        }
    }

    #[tokio::test]
    async fn a_final_alternative_is_the_answer_and_string_counters_are_read() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/foundationModels/v1/completion"))
            .and(header("authorization", "Api-Key AQVNkey"))
            .and(header("x-data-logging-enabled", "false"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(FINAL, "application/json"))
            .expect(1)
            .mount(&server)
            .await;
        let answer = client(&server, Duration::from_secs(2))
            .complete(&request())
            .await
            .unwrap();
        assert_eq!(answer.text, "Здравствуйте! Заказ уже в пути.");
        assert_eq!(
            (answer.prompt_tokens, answer.completion_tokens),
            (Some(36), Some(14))
        );
        let sent: Value =
            serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
        assert_eq!(sent["modelUri"], "gpt://b1gfolder/yandexgpt-lite/latest");
        assert_eq!(
            sent["completionOptions"]["maxTokens"], "500",
            "int64 as a string"
        );
        assert_eq!(sent["messages"][1]["text"], "вопрос");
        assert!(
            server.received_requests().await.unwrap()[0]
                .headers
                .get("x-folder-id")
                .is_none(),
            "not with a service-account key"
        );
    }

    #[tokio::test]
    async fn an_alternative_that_is_not_final_is_no_draft() {
        for status in [
            "ALTERNATIVE_STATUS_PARTIAL",
            "ALTERNATIVE_STATUS_TRUNCATED_FINAL",
            "ALTERNATIVE_STATUS_CONTENT_FILTER",
        ] {
            let server = MockServer::start().await;
            let body = FINAL.replace("ALTERNATIVE_STATUS_FINAL", status);
            Mock::given(method("POST"))
                .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
                .mount(&server)
                .await;
            let err = client(&server, Duration::from_secs(2))
                .complete(&request())
                .await
                .unwrap_err();
            assert!(
                matches!(err, LlmError::BadResponse(ref m) if m.contains(status)),
                "{status}: {err:?}"
            );
        }
    }

    #[tokio::test]
    async fn errors_map_to_what_the_chain_needs() {
        let cases = [
            (
                429,
                r#"{"error":{"grpcCode":8,"httpCode":429,"message":"ai.textGenerationCompletionSessionsCount.count gauge quota limit exceeded","httpStatus":"Too Many Requests"}}"#,
            ),
            (
                500,
                r#"{"error":{"grpcCode":13,"httpCode":500,"message":"Internal error","httpStatus":"Internal Server Error"}}"#,
            ),
            (
                401,
                r#"{"error":{"grpcCode":16,"httpCode":401,"message":"Unknown api key","httpStatus":"Unauthorized"}}"#,
            ),
            (
                400,
                r#"{"error":{"grpcCode":3,"httpCode":400,"message":"Error in session internal_id=x: number of input tokens must be no more than 8192, got 9000","httpStatus":"Bad Request"}}"#,
            ),
        ];
        for (status, body) in cases {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .respond_with(ResponseTemplate::new(status).set_body_raw(body, "application/json"))
                .mount(&server)
                .await;
            let err = client(&server, Duration::from_secs(2))
                .complete(&request())
                .await
                .unwrap_err();
            let ok = match status {
                429 => matches!(err, LlmError::RateLimited(_)),
                500 => matches!(err, LlmError::Server(_)),
                401 => matches!(err, LlmError::Auth(_)),
                _ => matches!(err, LlmError::ContextLength(_)),
            };
            assert!(ok, "{status}: {err:?}");
        }
    }

    #[tokio::test]
    async fn malformed_answers_and_timeouts_are_errors() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw("{\"result\":", "application/json"),
            )
            .mount(&server)
            .await;
        assert!(matches!(
            client(&server, Duration::from_secs(2))
                .complete(&request())
                .await,
            Err(LlmError::BadResponse(_))
        ));
        let slow = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
            .mount(&slow)
            .await;
        assert!(matches!(
            client(&slow, Duration::from_millis(300))
                .complete(&request())
                .await,
            Err(LlmError::Timeout(_))
        ));
    }

    #[tokio::test]
    async fn iam_tokens_send_the_folder_header() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(header("authorization", "Bearer t1.iam"))
            .and(header("x-folder-id", "b1gfolder"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(FINAL, "application/json"))
            .expect(1)
            .mount(&server)
            .await;
        let mut c = client(&server, Duration::from_secs(2));
        c.settings.secret = Some("t1.iam".into());
        c.settings.auth_scheme = "Bearer".into();
        c.complete(&request()).await.unwrap();
    }
}
