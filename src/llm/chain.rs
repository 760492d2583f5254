//! A shop's providers in order: the first that answers wins. This is the one
//! retry loop on the LLM call path; the clients themselves never retry. A
//! provider that fails is skipped for a cooldown instead of being hammered.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::{DynModel, LlmError, LlmRequest, LlmResponse};

struct Slot {
    model: DynModel,
    cooling_until: Mutex<Option<Instant>>,
}

pub struct Chain {
    slots: Vec<Slot>,
    cooldown: Duration,
}

/// One attempt on one provider, kept for accounting and explanations.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub provider: String,
    pub model: String,
    pub result: Result<(Option<u64>, Option<u64>), LlmError>,
    pub elapsed: std::time::Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub response: LlmResponse,
    pub provider: String,
    pub attempts: Vec<Attempt>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", describe(.attempts, .skipped))]
pub struct Failure {
    pub attempts: Vec<Attempt>,
    /// Providers not tried because they were cooling down.
    pub skipped: Vec<String>,
}

fn describe(attempts: &[Attempt], skipped: &[String]) -> String {
    let mut parts: Vec<String> = attempts
        .iter()
        .filter_map(|a| {
            a.result
                .as_ref()
                .err()
                .map(|e| format!("{}: {e}", a.provider))
        })
        .collect();
    if !skipped.is_empty() {
        parts.push(format!(
            "пропущены после недавних сбоев: {}",
            skipped.join(", ")
        ));
    }
    if parts.is_empty() {
        "нет провайдеров".into()
    } else {
        parts.join("; ")
    }
}

/// Errors after which the next provider is worth trying.
fn falls_through(e: &LlmError) -> bool {
    !matches!(e, LlmError::Invalid(_))
}

impl Chain {
    pub fn new(models: Vec<DynModel>, cooldown: Duration) -> Chain {
        Chain {
            slots: models
                .into_iter()
                .map(|model| Slot {
                    model,
                    cooling_until: Mutex::new(None),
                })
                .collect(),
            cooldown,
        }
    }

    pub fn providers(&self) -> Vec<String> {
        self.slots
            .iter()
            .map(|s| s.model.name().to_string())
            .collect()
    }

    pub async fn complete(&self, request: &LlmRequest) -> Result<Answer, Failure> {
        let mut attempts = Vec::new();
        let mut skipped = Vec::new();
        for slot in &self.slots {
            let name = slot.model.name().to_string();
            let cooling = *slot.cooling_until.lock().unwrap_or_else(|p| p.into_inner());
            if cooling.is_some_and(|t| t > Instant::now()) {
                skipped.push(name);
                continue;
            }
            let started = Instant::now();
            match slot.model.complete(request).await {
                Ok(response) => {
                    *slot.cooling_until.lock().unwrap_or_else(|p| p.into_inner()) = None;
                    attempts.push(Attempt {
                        provider: name.clone(),
                        model: slot.model.model().to_string(),
                        result: Ok((response.prompt_tokens, response.completion_tokens)),
                        elapsed: started.elapsed(),
                    });
                    return Ok(Answer {
                        response,
                        provider: name,
                        attempts,
                    });
                }
                Err(e) => {
                    let pause = match &e {
                        LlmError::RateLimited(Some(after)) => (*after).max(self.cooldown),
                        LlmError::Invalid(_) => Duration::ZERO,
                        _ => self.cooldown,
                    };
                    if !pause.is_zero() {
                        *slot.cooling_until.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some(Instant::now() + pause);
                        tracing::warn!(provider = %name, error = %e, cooldown = ?pause, "LLM provider failed; cooling it down");
                    }
                    let next = falls_through(&e);
                    attempts.push(Attempt {
                        provider: name,
                        model: slot.model.model().to_string(),
                        result: Err(e),
                        elapsed: started.elapsed(),
                    });
                    if !next {
                        break;
                    }
                }
            }
        }
        Err(Failure { attempts, skipped })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::llm::ChatModel;

    struct Fake {
        name: &'static str,
        calls: AtomicUsize,
        answers: Mutex<Vec<Result<LlmResponse, LlmError>>>,
    }

    impl Fake {
        fn new(name: &'static str, answers: Vec<Result<LlmResponse, LlmError>>) -> Arc<Fake> {
            Arc::new(Fake {
                name,
                calls: AtomicUsize::new(0),
                answers: Mutex::new(answers),
            })
        }
        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl ChatModel for Fake {
        fn name(&self) -> &str {
            self.name
        }
        fn model(&self) -> &str {
            "m"
        }
        async fn complete(&self, _: &LlmRequest) -> Result<LlmResponse, LlmError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let mut a = self.answers.lock().unwrap();
            if a.len() > 1 {
                a.remove(0)
            } else {
                a[0].clone()
            }
        }
    }

    fn ok(text: &str) -> Result<LlmResponse, LlmError> {
        Ok(LlmResponse {
            text: text.into(),
            prompt_tokens: Some(10),
            completion_tokens: Some(5),
        })
    }

    fn req() -> LlmRequest {
        LlmRequest {
            system: String::new(),
            user: String::new(),
            json_schema: None,
            max_tokens: 10,
        }
    }

    #[tokio::test]
    async fn providers_are_tried_in_order_on_retryable_errors() {
        let a = Fake::new("a", vec![Err(LlmError::Timeout(Duration::from_secs(1)))]);
        let b = Fake::new("b", vec![Err(LlmError::Server("503".into()))]);
        let c = Fake::new("c", vec![ok("hi")]);
        let chain = Chain::new(
            vec![a.clone(), b.clone(), c.clone()],
            Duration::from_secs(60),
        );
        let answer = chain.complete(&req()).await.unwrap();
        assert_eq!(answer.provider, "c");
        assert_eq!(
            answer
                .attempts
                .iter()
                .map(|x| x.provider.as_str())
                .collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert_eq!(
            (a.calls(), b.calls(), c.calls()),
            (1, 1, 1),
            "each provider is called once: one retry loop"
        );
    }

    #[tokio::test]
    async fn a_failing_provider_cools_down_instead_of_being_hammered() {
        tokio::time::pause();
        let a = Fake::new("a", vec![Err(LlmError::Server("500".into())), ok("back")]);
        let b = Fake::new("b", vec![ok("fallback")]);
        let chain = Chain::new(vec![a.clone(), b.clone()], Duration::from_secs(60));
        assert_eq!(chain.complete(&req()).await.unwrap().provider, "b");
        assert_eq!(chain.complete(&req()).await.unwrap().provider, "b");
        assert_eq!(a.calls(), 1, "skipped while cooling down");
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(chain.complete(&req()).await.unwrap().provider, "a");
        assert_eq!(a.calls(), 2);
    }

    #[tokio::test]
    async fn a_rate_limit_hint_longer_than_the_cooldown_is_honoured() {
        tokio::time::pause();
        let a = Fake::new(
            "a",
            vec![
                Err(LlmError::RateLimited(Some(Duration::from_secs(300)))),
                ok("back"),
            ],
        );
        let b = Fake::new("b", vec![ok("fallback")]);
        let chain = Chain::new(vec![a.clone(), b], Duration::from_secs(60));
        chain.complete(&req()).await.unwrap();
        tokio::time::advance(Duration::from_secs(120)).await;
        assert_eq!(chain.complete(&req()).await.unwrap().provider, "b");
        tokio::time::advance(Duration::from_secs(200)).await;
        assert_eq!(chain.complete(&req()).await.unwrap().provider, "a");
    }

    #[tokio::test]
    async fn an_invalid_request_is_not_repeated_elsewhere() {
        let a = Fake::new("a", vec![Err(LlmError::Invalid("bad schema".into()))]);
        let b = Fake::new("b", vec![ok("x")]);
        let chain = Chain::new(vec![a, b.clone()], Duration::from_secs(60));
        let failure = chain.complete(&req()).await.unwrap_err();
        assert_eq!(b.calls(), 0);
        assert!(failure.to_string().contains("bad schema"));
    }

    #[tokio::test]
    async fn when_everything_fails_every_attempt_is_reported() {
        let a = Fake::new("a", vec![Err(LlmError::ContextLength("too long".into()))]);
        let b = Fake::new("b", vec![Err(LlmError::BadResponse("garbage".into()))]);
        let chain = Chain::new(vec![a, b], Duration::from_secs(60));
        let f = chain.complete(&req()).await.unwrap_err();
        assert_eq!(f.attempts.len(), 2);
        let again = chain.complete(&req()).await.unwrap_err();
        assert_eq!(again.skipped, ["a", "b"]);
        assert!(again.to_string().contains("пропущены"));
    }
}
