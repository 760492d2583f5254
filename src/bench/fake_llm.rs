//! An OpenAI-compatible chat-completions server on loopback that waits a
//! fixed time, then answers: the LLM in `agentiq bench --drafter llm`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// The reply every completion carries: polite, no promises, nothing a guard flags.
pub const REPLY: &str =
    "Здравствуйте! Спасибо за вопрос. Проверим информацию по вашему заказу и ответим здесь же.";

#[derive(Debug, Default)]
pub struct LlmStats {
    pub requests: AtomicU64,
    in_flight: AtomicU64,
    pub peak_in_flight: AtomicU64,
}

struct Shared {
    latency: Duration,
    stats: Arc<LlmStats>,
}

pub struct FakeLlm {
    pub addr: SocketAddr,
    pub stats: Arc<LlmStats>,
    shutdown: CancellationToken,
}

impl FakeLlm {
    /// Serve on a free loopback port; every answer comes after `latency`.
    pub async fn spawn(latency: Duration) -> std::io::Result<FakeLlm> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(LlmStats::default());
        let shared = Arc::new(Shared {
            latency,
            stats: stats.clone(),
        });
        let app = axum::Router::new()
            .route("/v1/chat/completions", post(complete))
            .with_state(shared);
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
        });
        Ok(FakeLlm {
            addr,
            stats,
            shutdown,
        })
    }

    /// The base URL to configure (`.../v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn complete(State(s): State<Arc<Shared>>, Json(_body): Json<Value>) -> Json<Value> {
    s.stats.requests.fetch_add(1, Ordering::Relaxed);
    let now = s.stats.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
    s.stats.peak_in_flight.fetch_max(now, Ordering::Relaxed);
    tokio::time::sleep(s.latency).await;
    s.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
    Json(json!({
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1,
        "model": "bench",
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": REPLY },
            "finish_reason": "stop"
        }],
        "usage": { "prompt_tokens": 800, "completion_tokens": 40, "total_tokens": 840 }
    }))
}
