//! Scripted buyers: a TOML file of timed steps the simulator plays.
//!
//! ```toml
//! [[step]]
//! at = "2s"                 # after the simulator starts
//! chat = "alena"            # an alias; the first step using it opens the chat
//! buyer = "Алёна"
//! text = "Здравствуйте! Когда привезут заказ?"
//! order = { product_id = "151234567", price = 1290, status = "in_transit" }
//!
//! [[step]]
//! at = "40s"
//! chat = "alena"
//! from = "portal"           # a human answers in the seller portal
//! text = "Алёна, заказ уже в пути."
//! ```

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::{BuyerMessage, PortalMessage, Sim};
use crate::config::Dur;
use crate::diag::{self, Diagnostic};
use crate::domain::{Marketplace, OrderContext};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default, rename = "step")]
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub at: Dur,
    pub chat: String,
    pub text: String,
    #[serde(default = "default_marketplace")]
    pub marketplace: Marketplace,
    #[serde(default)]
    pub from: From,
    #[serde(default)]
    pub buyer: Option<String>,
    #[serde(default)]
    pub seller: Option<String>,
    #[serde(default)]
    pub order: Option<OrderContext>,
}

fn default_marketplace() -> Marketplace {
    Marketplace::Wildberries
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum From {
    #[default]
    Buyer,
    Portal,
}

impl Scenario {
    pub fn load(path: &Path) -> Result<Scenario, Diagnostic> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Diagnostic::new(path, format!("cannot read the scenario: {e}")))?;
        toml::from_str(&text).map_err(|e| diag::from_toml_error(path, &text, &e))
    }
}

/// Play the scenario against `sim`, calling `on_step` after each step.
pub async fn play(
    sim: Sim,
    scenario: Scenario,
    shutdown: CancellationToken,
    on_step: impl Fn(&Step, &str),
) {
    let start = tokio::time::Instant::now();
    let mut steps = scenario.steps;
    steps.sort_by_key(|s| s.at);
    let mut chats: HashMap<(Marketplace, String), String> = HashMap::new();
    for step in steps {
        tokio::select! {
            _ = tokio::time::sleep_until(start + step.at.0) => {}
            _ = shutdown.cancelled() => return,
        }
        let result = match step.from {
            From::Buyer => sim.buyer_writes(BuyerMessage {
                marketplace: step.marketplace,
                text: step.text.clone(),
                chat_id: chats.get(&(step.marketplace, step.chat.clone())).cloned(),
                seller: step.seller.clone(),
                client_name: step.buyer.clone(),
                order: step.order.clone(),
                at: None,
            }),
            From::Portal => match chats.get(&(step.marketplace, step.chat.clone())) {
                Some(id) => sim.portal_reply(PortalMessage {
                    marketplace: step.marketplace,
                    chat_id: id.clone(),
                    text: step.text.clone(),
                    seller: step.seller.clone(),
                }),
                None => Err(format!(
                    "scenario step for chat `{}` answers before the buyer wrote",
                    step.chat
                )),
            },
        };
        match result {
            Ok(posted) => {
                chats.insert(
                    (step.marketplace, step.chat.clone()),
                    posted.chat_id.clone(),
                );
                on_step(&step, &posted.chat_id);
            }
            Err(e) => tracing::warn!(error = %e, "scenario step failed"),
        }
    }
}
