//! Language models behind one small trait. Only this module knows LLM JSON.

mod openai;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use openai::{OpenAiCompatible, OpenAiSettings};

#[derive(Debug, Clone)]
pub struct LlmRequest {
    pub system: String,
    pub user: String,
    /// Ask for JSON matching this schema (`name`, schema).
    pub json_schema: Option<(String, serde_json::Value)>,
    pub max_tokens: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LlmResponse {
    pub text: String,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("rate limited by the provider")]
    RateLimited(Option<Duration>),
    #[error("the provider failed: {0}")]
    Server(String),
    #[error("the prompt is too long for the model: {0}")]
    ContextLength(String),
    #[error("the provider rejected the key: {0}")]
    Auth(String),
    #[error("the provider refused the request: {0}")]
    Invalid(String),
    #[error("unusable answer: {0}")]
    BadResponse(String),
    #[error("cannot reach the provider: {0}")]
    Transport(String),
}

#[async_trait]
pub trait ChatModel: Send + Sync {
    /// Provider name from the configuration, for messages and accounting.
    fn name(&self) -> &str;

    async fn complete(&self, request: &LlmRequest) -> Result<LlmResponse, LlmError>;
}

pub type DynModel = Arc<dyn ChatModel>;
