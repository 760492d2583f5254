//! Yandex Market Partner API chats (`api.partner.market.yandex.ru`, `Api-Key`).

use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;

use super::{ChatRef, Connector, Delivery, Discovery, MarketError, SendError};
use crate::domain::{InboundBatch, KnownChats, Marketplace, ReplyText};

#[derive(Debug, Clone)]
pub struct YandexMarketConfig {
    pub base_url: String,
    pub business_id: i64,
    pub api_key: SecretString,
    pub timeout: Duration,
    pub max_parallel: usize,
}

pub struct YandexMarketClient {
    #[allow(dead_code)]
    config: YandexMarketConfig,
}

impl YandexMarketClient {
    pub fn new(config: YandexMarketConfig) -> Self {
        YandexMarketClient { config }
    }
}

#[async_trait]
impl Connector for YandexMarketClient {
    fn marketplace(&self) -> Marketplace {
        Marketplace::YandexMarket
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
