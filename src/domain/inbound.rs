use serde::{Deserialize, Serialize};

use super::{Author, Millis, OrderContext};

/// A chat message as a connector reports it, already translated out of the
/// marketplace's JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundMessage {
    pub chat_id: String,
    /// The marketplace's id for this message (WB: `eventID`). Stored once.
    pub id: String,
    pub author: Author,
    /// Sent through the seller API, by us or by another integration. Lets us
    /// tell the echo of our own sends from a human answering in the
    /// marketplace's UI.
    pub via_api: bool,
    /// The marketplace's own tag for the channel (WB `source`), kept for people.
    pub channel: Option<String>,
    pub text: String,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub attachments: serde_json::Value,
    /// Marketplace time.
    pub created_at: Millis,
}

/// Something learnt about a chat: how to reply to it, who the buyer is, what
/// the order is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatUpdate {
    pub chat_id: String,
    /// What the marketplace needs to accept a reply (WB: `replySign`).
    pub reply_handle: Option<String>,
    pub buyer_name: Option<String>,
    pub order: Option<OrderContext>,
}

/// One page of what a connector found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InboundBatch {
    pub messages: Vec<InboundMessage>,
    pub chats: Vec<ChatUpdate>,
    /// Where the next poll continues. Stored in the same transaction as the messages.
    pub cursor: Option<String>,
    /// More pages are waiting right now.
    pub more: bool,
}
