//! Any OpenAI-compatible chat-completions endpoint, through async-openai.
//!
//! async-openai retries 429/5xx on its own and sets no timeout. Here its
//! HTTP stack is replaced by a plain reqwest service with a timeout and no
//! retry layer, so the caller decides about retries, once.

use std::sync::Arc;
use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::ReqwestService;
use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::{ChatModel, LlmError, LlmRequest, LlmResponse};
use crate::config::StructuredOutput;

#[derive(Debug, Clone)]
pub struct OpenAiSettings {
    pub name: String,
    pub base_url: String,
    pub model: String,
    pub api_key: Option<String>,
    pub timeout: Duration,
    pub max_concurrency: usize,
    pub temperature: f32,
    pub headers: Vec<(String, String)>,
    /// `Bearer` or `Api-Key` (YandexGPT's compatible endpoint with a service-account key).
    pub auth_scheme: String,
    /// Sent as `OpenAI-Project` (YandexGPT reads the folder id from it).
    pub project: Option<String>,
    pub structured_output: StructuredOutput,
}

pub struct OpenAiCompatible {
    structured_output: StructuredOutput,
    name: String,
    client: Client<OpenAIConfig>,
    model: String,
    temperature: f32,
    timeout: Duration,
    permits: Arc<Semaphore>,
}

impl OpenAiCompatible {
    pub fn new(s: OpenAiSettings) -> Result<Self, String> {
        let mut config = OpenAIConfig::new()
            .with_api_base(s.base_url.trim_end_matches('/'))
            .with_api_key(s.api_key.clone().unwrap_or_default())
            .with_org_id("")
            .with_project_id(s.project.clone().unwrap_or_default());
        if s.auth_scheme != "Bearer"
            && let Some(key) = &s.api_key
        {
            config = config
                .with_header(
                    reqwest::header::AUTHORIZATION,
                    format!("{} {key}", s.auth_scheme),
                )
                .map_err(|e| format!("authorization header: {e}"))?;
        }
        for (k, v) in &s.headers {
            let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| format!("header `{k}`: {e}"))?;
            config = config
                .with_header(name, v.as_str())
                .map_err(|e| format!("header `{k}`: {e}"))?;
        }
        let http = reqwest::Client::builder()
            .timeout(s.timeout)
            .connect_timeout(s.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| e.to_string())?;
        let client = Client::with_config(config).with_http_service(ReqwestService::new(http));
        Ok(OpenAiCompatible {
            structured_output: s.structured_output,
            name: s.name,
            client,
            model: s.model,
            temperature: s.temperature,
            timeout: s.timeout,
            permits: Arc::new(Semaphore::new(s.max_concurrency.max(1))),
        })
    }

    fn map_error(&self, e: OpenAIError) -> LlmError {
        match e {
            OpenAIError::Reqwest(e) if e.is_timeout() => LlmError::Timeout(self.timeout),
            OpenAIError::Reqwest(e) => LlmError::Transport(e.to_string()),
            OpenAIError::ApiError(resp) => {
                let status = resp.status_code.as_u16();
                let detail = resp.api_error.to_string();
                let code = resp.api_error.code.clone().unwrap_or_default();
                match status {
                    429 => LlmError::RateLimited(None),
                    401 | 403 => LlmError::Auth(detail),
                    400 if code.contains("context_length")
                        || detail.contains("context length")
                        || detail.contains("maximum context") =>
                    {
                        LlmError::ContextLength(detail)
                    }
                    s if s >= 500 => LlmError::Server(format!("{status}: {detail}")),
                    _ => LlmError::Invalid(format!("{status}: {detail}")),
                }
            }
            OpenAIError::JSONDeserialize(err, body) => LlmError::BadResponse(format!(
                "{err}: {}",
                body.chars().take(200).collect::<String>()
            )),
            OpenAIError::Boxed(err) => {
                if let Some(r) = err.downcast_ref::<reqwest::Error>() {
                    if r.is_timeout() {
                        return LlmError::Timeout(self.timeout);
                    }
                    return LlmError::Transport(r.to_string());
                }
                LlmError::Transport(err.to_string())
            }
            other => LlmError::Transport(other.to_string()),
        }
    }
}

#[async_trait]
impl ChatModel for OpenAiCompatible {
    fn name(&self) -> &str {
        &self.name
    }

    fn model(&self) -> &str {
        &self.model
    }

    async fn complete(&self, request: &LlmRequest) -> Result<LlmResponse, LlmError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| LlmError::Transport(e.to_string()))?;
        let mut body = json!({
            "model": self.model,
            "messages": [
                { "role": "system", "content": request.system },
                { "role": "user", "content": request.user },
            ],
            "temperature": self.temperature,
            "max_tokens": request.max_tokens,
            "stream": false,
        });
        if let Some((name, schema)) = &request.json_schema {
            match self.structured_output {
                StructuredOutput::JsonSchema => {
                    body["response_format"] = json!({
                        "type": "json_schema",
                        "json_schema": { "name": name, "schema": schema, "strict": true },
                    })
                }
                StructuredOutput::JsonObject => {
                    body["response_format"] = json!({ "type": "json_object" })
                }
                StructuredOutput::None => {}
            }
        }
        let chat = self.client.chat();
        let call = chat.create_byot::<Value, Value>(body);
        // The HTTP client has the same timeout; this also bounds body streaming.
        let response =
            match tokio::time::timeout(self.timeout + Duration::from_millis(250), call).await {
                Err(_) => return Err(LlmError::Timeout(self.timeout)),
                Ok(r) => r.map_err(|e| self.map_error(e))?,
            };
        parse_completion(&response)
    }
}

/// Pull the text out of a chat-completions answer, tolerating providers that
/// leave out fields OpenAI always sends.
pub fn parse_completion(v: &Value) -> Result<LlmResponse, LlmError> {
    let choice = v
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| LlmError::BadResponse(format!("no choices in {}", short(v))))?;
    let finish = choice
        .get("finish_reason")
        .and_then(Value::as_str)
        .unwrap_or("stop");
    if matches!(finish, "length" | "content_filter") {
        return Err(LlmError::BadResponse(format!(
            "the answer was cut off (finish_reason {finish})"
        )));
    }
    let text = choice
        .get("message")
        .and_then(|m| m.get("content"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| LlmError::BadResponse(format!("no text in {}", short(v))))?;
    let usage = v.get("usage");
    let tokens = |k: &str| usage.and_then(|u| u.get(k)).and_then(Value::as_u64);
    Ok(LlmResponse {
        text: text.to_string(),
        prompt_tokens: tokens("prompt_tokens"),
        completion_tokens: tokens("completion_tokens"),
    })
}

fn short(v: &Value) -> String {
    v.to_string().chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn model(server: &MockServer, timeout_ms: u64) -> OpenAiCompatible {
        OpenAiCompatible::new(OpenAiSettings {
            name: "fake".into(),
            base_url: format!("{}/v1", server.uri()),
            model: "m".into(),
            api_key: Some("sk-test".into()),
            timeout: Duration::from_millis(timeout_ms),
            max_concurrency: 2,
            temperature: 0.2,
            headers: vec![],
            auth_scheme: "Bearer".into(),
            project: None,
            structured_output: StructuredOutput::JsonSchema,
        })
        .unwrap()
    }

    fn request() -> LlmRequest {
        LlmRequest {
            system: "s".into(),
            user: "u".into(),
            json_schema: None,
            max_tokens: 100,
        }
    }

    #[tokio::test]
    async fn a_server_error_is_not_retried_behind_our_back() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(
                ResponseTemplate::new(503)
                    .set_body_json(json!({"error": {"message": "overloaded"}})),
            )
            .expect(1)
            .mount(&server)
            .await;
        let err = model(&server, 2000).complete(&request()).await.unwrap_err();
        assert!(matches!(err, LlmError::Server(_)), "{err:?}");
    }

    #[tokio::test]
    async fn a_slow_provider_times_out() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
            .mount(&server)
            .await;
        let started = std::time::Instant::now();
        let err = model(&server, 300).complete(&request()).await.unwrap_err();
        assert!(matches!(err, LlmError::Timeout(_)), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn answers_without_usage_or_object_fields_are_accepted() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"choices": [{"message": {"role": "assistant", "content": " Здравствуйте! "}}]})))
            .mount(&server)
            .await;
        let r = model(&server, 2000).complete(&request()).await.unwrap();
        assert_eq!(r.text, "Здравствуйте!");
        let sent = &server.received_requests().await.unwrap()[0];
        assert_eq!(sent.headers.get("authorization").unwrap(), "Bearer sk-test");
    }
}

#[cfg(test)]
mod yandex_compat_tests {
    use super::*;
    use wiremock::matchers::{header, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    #[tokio::test]
    async fn yandex_compatible_endpoint_gets_api_key_auth_and_the_folder_as_project() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(header("authorization", "Api-Key AQVN"))
            .and(header("openai-project", "b1gfolder"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"choices": [{"message": {"content": "Да"}, "finish_reason": "stop"}]}),
            ))
            .expect(1)
            .mount(&server)
            .await;
        let m = OpenAiCompatible::new(OpenAiSettings {
            name: "yc".into(),
            base_url: format!("{}/v1", server.uri()),
            model: "gpt://b1gfolder/yandexgpt-lite/latest".into(),
            api_key: Some("AQVN".into()),
            timeout: Duration::from_secs(2),
            max_concurrency: 1,
            temperature: 0.3,
            headers: vec![],
            auth_scheme: "Api-Key".into(),
            project: Some("b1gfolder".into()),
            structured_output: StructuredOutput::JsonObject,
        })
        .unwrap();
        let r = m
            .complete(&LlmRequest {
                system: "s".into(),
                user: "u".into(),
                json_schema: Some(("c".into(), json!({}))),
                max_tokens: 5,
            })
            .await
            .unwrap();
        assert_eq!(r.text, "Да");
        let body: serde_json::Value =
            serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
        assert_eq!(body["response_format"]["type"], "json_object");
    }
}
