//! Avito Messenger API (`api.avito.ru`, OAuth2 client credentials).

use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;

use super::{ChatRef, Connector, Delivery, Discovery, MarketError, SendError};
use crate::domain::{InboundBatch, KnownChats, Marketplace, ReplyText};

#[derive(Debug, Clone)]
pub struct AvitoConfig {
    pub base_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub timeout: Duration,
    pub rate_limit_requests: u32,
    pub rate_limit_period: Duration,
}

pub struct AvitoClient {
    #[allow(dead_code)]
    config: AvitoConfig,
}

impl AvitoClient {
    pub fn new(config: AvitoConfig) -> Self {
        AvitoClient { config }
    }
}

#[async_trait]
impl Connector for AvitoClient {
    fn marketplace(&self) -> Marketplace {
        Marketplace::Avito
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
