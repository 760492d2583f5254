//! Language models behind one small trait. Only this module knows LLM JSON.

pub mod chain;
mod openai;
pub mod yandex;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use chain::Chain;
pub use openai::{OpenAiCompatible, OpenAiSettings};
pub use yandex::{YandexGpt, YandexSettings};

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
    #[error("нет ответа за {0:?}")]
    Timeout(Duration),
    #[error("провайдер ограничил частоту запросов")]
    RateLimited(Option<Duration>),
    #[error("ошибка на стороне провайдера: {0}")]
    Server(String),
    #[error("промпт слишком длинный для модели: {0}")]
    ContextLength(String),
    #[error("провайдер не принял ключ: {0}")]
    Auth(String),
    #[error("провайдер отклонил запрос: {0}")]
    Invalid(String),
    #[error("непригодный ответ: {0}")]
    BadResponse(String),
    #[error("провайдер недоступен: {0}")]
    Transport(String),
}

#[async_trait]
pub trait ChatModel: Send + Sync {
    /// Provider name from the configuration, for messages and accounting.
    fn name(&self) -> &str;

    /// The model it calls, for accounting.
    fn model(&self) -> &str;

    /// One attempt. Never retries: retrying is the chain's job.
    async fn complete(&self, request: &LlmRequest) -> Result<LlmResponse, LlmError>;
}

pub type DynModel = Arc<dyn ChatModel>;
