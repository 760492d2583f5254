//! Ozon Seller API chats (`api-seller.ozon.ru`, `Client-Id` + `Api-Key`).

use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;

use super::{ChatRef, Connector, Delivery, Discovery, MarketError, SendError};
use crate::domain::{InboundBatch, KnownChats, Marketplace, ReplyText};

#[derive(Debug, Clone)]
pub struct OzonConfig {
    pub base_url: String,
    pub client_id: String,
    pub api_key: SecretString,
    pub timeout: Duration,
    pub rate_limit_requests: u32,
    pub rate_limit_period: Duration,
}

pub struct OzonClient {
    #[allow(dead_code)]
    config: OzonConfig,
}

impl OzonClient {
    pub fn new(config: OzonConfig) -> Self {
        OzonClient { config }
    }
}

#[async_trait]
impl Connector for OzonClient {
    fn marketplace(&self) -> Marketplace {
        Marketplace::Ozon
    }

    fn discovery(&self) -> Discovery {
        Discovery::PerChat
    }

    async fn poll(
        &self,
        _cursor: Option<&str>,
        _known: &KnownChats,
    ) -> Result<InboundBatch, MarketError> {
        Err(MarketError::Unavailable(
            "connector under construction".into(),
        ))
    }

    async fn send(&self, _chat: ChatRef<'_>, _text: &ReplyText) -> Result<Delivery, SendError> {
        Err(SendError::NotDelivered(MarketError::Unavailable(
            "connector under construction".into(),
        )))
    }
}
