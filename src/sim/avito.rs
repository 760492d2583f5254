//! Simulated marketplace part (under construction).

use super::{BuyerMessage, Posted, SellerConfig, Sim, SimConfig};

pub(crate) struct Account {}

impl Account {
    pub(crate) fn new(_seller: &SellerConfig, _config: &SimConfig) -> Account {
        Account {}
    }

    pub(crate) fn buyer_writes(&mut self, _req: &BuyerMessage) -> Result<Posted, String> {
        Err("not served yet".into())
    }

    pub(crate) fn portal_reply(&mut self, _chat_id: &str, _text: &str) -> Result<Posted, String> {
        Err("not served yet".into())
    }
}

pub(super) fn routes() -> axum::Router<Sim> {
    axum::Router::new()
}

impl Account {
    /// Webhooks owed to subscribers after the last change.
    pub(crate) fn take_pushes(&mut self) -> Vec<super::Push> {
        Vec::new()
    }
}
