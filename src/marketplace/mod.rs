//! Connectors: the only code that knows marketplace JSON. Each marketplace is
//! one file behind the [`Connector`] trait; nothing else branches on which
//! marketplace it is talking to.

pub mod avito;
pub mod feedback;
pub mod limits;
pub mod ozon;
pub mod reads;
pub mod wildberries;
pub mod wildberries_feedback;
pub mod yandex_market;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::config::{MarketplaceSection, ShopSettings};
use crate::domain::{
    Capabilities, ChatUpdate, FeedbackBatch, FeedbackCapabilities, FeedbackItem, InboundBatch,
    KnownChats, Marketplace, Millis, ReplyText, ThreadKind,
};

/// Why a marketplace call failed, in terms a seller understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarketError {
    #[error("площадка не приняла ключ доступа: {0}")]
    Auth(String),
    #[error("в тарифе магазина нет этого API: {0}")]
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

    /// What it means for a reply and what the seller can do about it, in
    /// their words; [`Self::detail`] is the marketplace's own answer.
    pub fn advice(&self) -> &'static str {
        match self {
            MarketError::Auth(_) => {
                "площадка не принимает ключ доступа магазина: выпустите новый в кабинете продавца и впишите его в настройки AgentIQ"
            }
            MarketError::SubscriptionMissing(_) => {
                "для ответов через API нужен тариф площадки, которого у магазина нет: подключите его в кабинете продавца"
            }
            MarketError::RateLimited { .. } => {
                "площадка просит реже присылать запросы: ответ уйдёт чуть позже сам"
            }
            MarketError::ChatClosed(_) => {
                "чат больше не принимает ответы: если ответить ещё нужно, напишите покупателю в кабинете продавца"
            }
            MarketError::Invalid(_) => {
                "площадка не приняла этот ответ: проверьте текст (длину, ссылки, телефоны), исправьте его и отправьте снова"
            }
            MarketError::NotFound(_) => {
                "площадка не нашла этот чат: возможно, его удалили; проверьте в кабинете продавца"
            }
            MarketError::Unavailable(_) => {
                "площадка сейчас не отвечает: отправьте ответ снова чуть позже"
            }
        }
    }

    /// The marketplace's own answer, without our heading.
    pub fn detail(&self) -> String {
        match self {
            MarketError::Auth(d)
            | MarketError::SubscriptionMissing(d)
            | MarketError::ChatClosed(d)
            | MarketError::Invalid(d)
            | MarketError::NotFound(d)
            | MarketError::Unavailable(d) => d.clone(),
            MarketError::RateLimited { retry_after } => {
                format!("повтор через {} с", retry_after.as_secs_f64().ceil())
            }
        }
    }

    /// A reply that did not go out because of this, as the queue shows it:
    /// the advice first, the marketplace's answer after it.
    pub fn for_seller(&self) -> String {
        let detail = self.detail();
        if detail.trim().is_empty() {
            format!("Не отправлено: {}.", self.advice())
        } else {
            format!(
                "Не отправлено: {}. Ответ площадки: {}",
                self.advice(),
                detail.trim()
            )
        }
    }
}

/// `{code}` or `{code}: {detail}`, without repeating the status's own name
/// ("400 Bad Request: Bad Request") or an empty detail.
pub fn status_and_detail(status: reqwest::StatusCode, detail: &str) -> String {
    let detail = detail.trim();
    let reason = status.canonical_reason().unwrap_or("");
    if detail.is_empty() || detail.eq_ignore_ascii_case(reason) {
        status.to_string()
    } else {
        format!("{status}: {detail}")
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

/// Reviews and product questions of one marketplace: read the unanswered
/// ones, read one back by id, publish (and where allowed edit) an answer.
/// The pipeline, gate, outbox and queues see only this trait and
/// [`FeedbackCapabilities`].
#[async_trait]
pub trait FeedbackConnector: Send + Sync {
    fn marketplace(&self) -> Marketplace;

    /// The kinds of thread this marketplace's API has.
    fn kinds(&self) -> &'static [ThreadKind];

    fn capabilities(&self, kind: ThreadKind) -> FeedbackCapabilities;

    /// Requests sent and throttling answers received so far (for the metrics).
    fn request_counts(&self) -> limits::RequestCounts;

    /// One page of unanswered threads of `kind`, continuing after `cursor`.
    async fn poll(
        &self,
        kind: ThreadKind,
        cursor: Option<&str>,
    ) -> Result<FeedbackBatch, MarketError>;

    /// One thread as the marketplace shows it now, with its answer;
    /// `None` when the marketplace no longer has it.
    async fn fetch(&self, kind: ThreadKind, id: &str) -> Result<Option<FeedbackItem>, MarketError>;

    /// Publish an answer. An unknown outcome is settled by [`Self::fetch`].
    async fn answer(
        &self,
        kind: ThreadKind,
        id: &str,
        text: &ReplyText,
    ) -> Result<Delivery, SendError>;

    /// Replace our published answer `answer_id` (the id [`Self::answer`]
    /// returned, or the one the thread shows), where the marketplace allows it.
    async fn edit_answer(
        &self,
        kind: ThreadKind,
        _id: &str,
        _answer_id: &str,
        _text: &ReplyText,
    ) -> Result<Delivery, SendError> {
        Err(SendError::NotDelivered(MarketError::Invalid(format!(
            "{} не позволяет менять ответ ({})",
            self.marketplace().title(),
            kind.title_ru()
        ))))
    }

    /// Remove our published answer `answer_id`, where the marketplace allows it.
    async fn delete_answer(
        &self,
        kind: ThreadKind,
        _id: &str,
        _answer_id: &str,
    ) -> Result<(), MarketError> {
        Err(MarketError::Invalid(format!(
            "{} не позволяет удалять ответ ({})",
            self.marketplace().title(),
            kind.title_ru()
        )))
    }
}

pub type DynFeedbackConnector = Arc<dyn FeedbackConnector>;

/// A marketplace section of a shop's settings as the factory of its
/// connectors; each marketplace's file implements it for its own section.
pub trait Connect: MarketplaceSection {
    /// The chat connector. `what` names the section (`shops.<id>.<key>`) in
    /// the error, which says why the credentials do not resolve.
    fn connector(&self, what: &str, base_dir: &Path) -> Result<DynConnector, String>;

    /// The review and question connector, where the section has a
    /// `feedback` subsection. It uses the chat connector's credentials,
    /// whose errors [`Self::connector`] reports.
    fn feedback_connector(&self, what: &str, base_dir: &Path) -> Option<DynFeedbackConnector>;
}

/// A shop's marketplace sections as connector factories, in the order of
/// [`Marketplace::ALL`].
pub fn sections(shop: &ShopSettings) -> impl Iterator<Item = &dyn Connect> {
    let ShopSettings {
        wildberries,
        ozon,
        yandex_market,
        avito,
        ..
    } = shop;
    [
        wildberries.as_ref().map(|s| s as &dyn Connect),
        ozon.as_ref().map(|s| s as &dyn Connect),
        yandex_market.as_ref().map(|s| s as &dyn Connect),
        avito.as_ref().map(|s| s as &dyn Connect),
    ]
    .into_iter()
    .flatten()
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_section_builds_the_connectors_of_its_own_marketplace() {
        let text = "[database]\npath = \"x.db\"\n\n[shops.acme]\npolicy = \"p.toml\"\nprompts = \"prompts\"\n\n\
            [shops.acme.wildberries]\ntoken = \"t\"\n[shops.acme.wildberries.feedback]\n\n\
            [shops.acme.ozon]\nclient_id = \"1\"\napi_key = \"k\"\n[shops.acme.ozon.feedback]\n\n\
            [shops.acme.yandex_market]\nbusiness_id = 2\napi_key = \"k\"\n[shops.acme.yandex_market.feedback]\n\n\
            [shops.acme.avito]\nclient_id = \"c\"\nclient_secret = \"s\"\n[shops.acme.avito.feedback]\n";
        let settings = crate::config::load_from_str(
            text,
            "c.toml",
            std::path::PathBuf::new(),
            Default::default(),
        )
        .unwrap();
        let shop = &settings.shops["acme"];
        let built: Vec<Marketplace> = sections(shop).map(|s| s.marketplace()).collect();
        assert_eq!(built, Marketplace::ALL);
        for section in sections(shop) {
            let m = section.marketplace();
            let what = format!("shops.acme.{}", m.config_key());
            let chats = section.connector(&what, Path::new("")).unwrap();
            assert_eq!(chats.marketplace(), m);
            let feedback = section.feedback_connector(&what, Path::new("")).unwrap();
            assert_eq!(feedback.marketplace(), m);
        }
    }

    #[test]
    fn a_status_is_not_repeated_by_its_own_name() {
        use reqwest::StatusCode;
        assert_eq!(
            status_and_detail(StatusCode::BAD_REQUEST, "Bad Request"),
            "400 Bad Request"
        );
        assert_eq!(
            status_and_detail(StatusCode::BAD_REQUEST, " "),
            "400 Bad Request"
        );
        assert_eq!(
            status_and_detail(StatusCode::BAD_REQUEST, "text is too long"),
            "400 Bad Request: text is too long"
        );
    }

    #[test]
    fn a_refused_reply_says_what_to_do_before_what_the_marketplace_said() {
        let e = MarketError::Invalid("Wildberries ответил 400 Bad Request: text too long".into());
        let shown = e.for_seller();
        assert!(
            shown.starts_with("Не отправлено: площадка не приняла этот ответ: проверьте текст"),
            "{shown}"
        );
        assert!(
            shown.ends_with("Ответ площадки: Wildberries ответил 400 Bad Request: text too long")
        );
        let gone = MarketError::Unavailable(String::new()).for_seller();
        assert_eq!(
            gone,
            "Не отправлено: площадка сейчас не отвечает: отправьте ответ снова чуть позже."
        );
        // Every kind of error has advice of its own.
        let all = [
            MarketError::Auth(String::new()),
            MarketError::SubscriptionMissing(String::new()),
            MarketError::RateLimited {
                retry_after: Duration::from_secs(2),
            },
            MarketError::ChatClosed(String::new()),
            MarketError::Invalid(String::new()),
            MarketError::NotFound(String::new()),
            MarketError::Unavailable(String::new()),
        ];
        let advice: std::collections::HashSet<_> = all.iter().map(MarketError::advice).collect();
        assert_eq!(advice.len(), all.len());
    }
}
