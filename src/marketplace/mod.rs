//! Connectors: the only code that knows marketplace JSON. Each marketplace is
//! one file behind the [`Connector`] trait; nothing else branches on which
//! marketplace it is talking to.

pub mod avito;
pub mod limits;
pub mod ozon;
pub mod wildberries;
pub mod yandex_market;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::{
    Capabilities, ChatUpdate, InboundBatch, KnownChats, Marketplace, Millis, ReplyText,
};

/// Why a marketplace call failed, in terms a seller understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarketError {
    #[error("площадка не приняла ключ доступа: {0}")]
    Auth(String),
    #[error("в тарифе магазина нет API чатов: {0}")]
    SubscriptionMissing(String),
    #[error("ограничение частоты запросов; снова можно через {} с", retry_after.as_secs_f64().ceil())]
    RateLimited { retry_after: Duration },
    #[error("чат больше не принимает ответы: {0}")]
    ChatClosed(String),
    #[error("площадка отклонила запрос: {0}")]
    Invalid(String),
    /// The chat or message asked about does not exist (any more).
    #[error("площадка не нашла чат или сообщение: {0}")]
    NotFound(String),
    #[error("площадка недоступна: {0}")]
    Unavailable(String),
}

impl MarketError {
    /// Errors a person has to fix; retrying will not help.
    pub fn needs_person(&self) -> bool {
        matches!(
            self,
            MarketError::Auth(_) | MarketError::SubscriptionMissing(_)
        )
    }
}

/// How a send ended, as far as we can tell.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The marketplace did not take the message. Safe to try again later.
    #[error("не доставлен: {0}")]
    NotDelivered(MarketError),
    /// The marketplace may or may not have taken the message. Never resend
    /// before the chat history shows it did not arrive.
    #[error("исход неизвестен: {0}")]
    Unknown(String),
    /// Our handle for replying to this chat is missing or stale; refresh the
    /// chats and try once more.
    #[error("нет действующей подписи для ответа в чат")]
    NeedsRefresh,
}

/// What the marketplace told us about a message it accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub message_id: Option<String>,
    pub sent_at: Option<Millis>,
}

/// The chat a reply goes to.
#[derive(Debug, Clone, Copy)]
pub struct ChatRef<'a> {
    pub external_id: &'a str,
    pub reply_handle: Option<&'a str>,
}

/// How a marketplace tells us about new messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discovery {
    /// One stream of events for all chats, read with a cursor (Wildberries).
    EventStream,
    /// A list of chats, then each changed chat's history (Ozon, Yandex Market,
    /// Avito). Polls get what the store knows of each chat.
    PerChat,
}

#[async_trait]
pub trait Connector: Send + Sync {
    fn marketplace(&self) -> Marketplace;

    fn capabilities(&self) -> Capabilities {
        self.marketplace().capabilities()
    }

    /// Requests sent and throttling answers received so far (for the metrics).
    fn request_counts(&self) -> limits::RequestCounts;

    fn discovery(&self) -> Discovery {
        Discovery::EventStream
    }

    /// New chat messages. Event-stream connectors continue after `cursor`
    /// (from the beginning when `None`) and return one page; per-chat
    /// connectors read the chats that changed since what `known` records.
    async fn poll(
        &self,
        cursor: Option<&str>,
        known: &KnownChats,
    ) -> Result<InboundBatch, MarketError>;

    /// Fresh reply handles and order context for the shop's chats.
    async fn refresh_chats(&self) -> Result<Vec<ChatUpdate>, MarketError> {
        Ok(Vec::new())
    }

    async fn send(&self, chat: ChatRef<'_>, text: &ReplyText) -> Result<Delivery, SendError>;

    /// Tell the marketplace the chat was answered, up to a message.
    async fn mark_read(
        &self,
        _chat: ChatRef<'_>,
        _up_to_message: Option<&str>,
    ) -> Result<(), MarketError> {
        Ok(())
    }

    /// Withdraw a message we sent, where the marketplace allows it.
    async fn retract(&self, _chat: ChatRef<'_>, _message_id: &str) -> Result<(), MarketError> {
        Err(MarketError::Invalid(format!(
            "{} не позволяет удалять отправленные сообщения",
            self.marketplace().title()
        )))
    }

    /// Ask the marketplace to push new messages to `url`, where it can.
    async fn subscribe_webhook(&self, _url: &str) -> Result<(), MarketError> {
        Ok(())
    }

    /// Messages carried by a webhook the marketplace pushed to us. They are
    /// stored like polled ones (a message seen both ways is stored once) and
    /// the shop is polled right after, so a webhook never has to be complete.
    fn parse_webhook(&self, _body: &[u8]) -> Result<InboundBatch, MarketError> {
        Ok(InboundBatch::default())
    }
}

pub type DynConnector = Arc<dyn Connector>;

/// A reqwest client with the timeouts every marketplace call needs.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("agentiq/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a reqwest client with timeouts always builds")
}

/// How a failed request ended, for choosing between "not delivered" and "unknown".
pub fn classify_transport_error(e: &reqwest::Error) -> SendError {
    if e.is_connect() || e.is_builder() {
        SendError::NotDelivered(MarketError::Unavailable(e.to_string()))
    } else {
        SendError::Unknown(describe_transport_error(e))
    }
}

pub fn describe_transport_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "запрос не уложился во время ожидания".into()
    } else if e.is_connect() {
        format!("не удаётся подключиться: {e}")
    } else {
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        msg
    }
}
