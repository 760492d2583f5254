use serde::{Deserialize, Serialize};

/// Who wrote a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Buyer,
    /// The seller, through any channel: our API sends or a human in the marketplace UI.
    Seller,
    /// The marketplace itself (notifications, system messages).
    System,
}

impl Author {
    pub fn as_str(self) -> &'static str {
        match self {
            Author::Buyer => "buyer",
            Author::Seller => "seller",
            Author::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "buyer" => Some(Author::Buyer),
            "seller" => Some(Author::Seller),
            "system" => Some(Author::System),
            _ => None,
        }
    }
}

/// What we know about the order or listing a chat is about. Every field is
/// optional: marketplaces disclose different things, and sometimes nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrderContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    /// Price the buyer paid, in whole currency units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// Normalised order status, e.g. `in_transit`, `delivered`, `cancelled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The status as the marketplace words it, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_text: Option<String>,
    /// A return the chat is about (Yandex Market `returnId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_id: Option<String>,
    /// What the chat is about, where the marketplace says: `order`, `return`,
    /// `direct` (a question before buying) or `listing` (an Avito ad).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_kind: Option<String>,
    /// Link to the product or listing page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl OrderContext {
    pub fn is_empty(&self) -> bool {
        *self == OrderContext::default()
    }

    /// Fill in fields this context lacks from a newer observation, and let
    /// the newer observation win where both know a value.
    pub fn merge(&mut self, newer: OrderContext) {
        macro_rules! take {
            ($($f:ident),*) => { $( if newer.$f.is_some() { self.$f = newer.$f; } )* };
        }
        take!(
            order_id,
            product_id,
            product_name,
            price,
            currency,
            size,
            status,
            status_text,
            return_id,
            chat_kind,
            url
        );
    }
}
