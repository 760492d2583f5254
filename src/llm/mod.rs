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

    async fn complete(&self, request: &LlmRequest) -> Result<LlmResponse, LlmError>;
}

pub type DynModel = Arc<dyn ChatModel>;
