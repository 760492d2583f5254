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
    /// When the other side read it, where the marketplace reports reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_at: Option<Millis>,
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
    /// A connector's note of how far it has read this chat (e.g. the last
    /// message id the chat list showed), handed back to it on the next poll.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

/// What the store knows of a chat, for connectors that read chat by chat.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatMark {
    /// The connector's own marker from the last poll.
    pub marker: Option<String>,
    /// The marketplace id of the newest stored message.
    pub last_message_id: Option<String>,
    /// One of our recent messages has not been read yet: worth re-reading
    /// the history for read receipts.
    pub awaiting_read: bool,
    /// A send to this chat has an unknown outcome (or is in flight): its
    /// history must be read so the reply can be found or proven missing.
    pub unsettled_send: bool,
}

/// Chat id → what the store knows of it.
pub type KnownChats = std::collections::HashMap<String, ChatMark>;

/// One page of what a connector found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InboundBatch {
    pub messages: Vec<InboundMessage>,
    pub chats: Vec<ChatUpdate>,
    /// Where the next poll continues. Stored in the same transaction as the messages.
    pub cursor: Option<String>,
    /// More pages are waiting right now.
    pub more: bool,
    /// Chats whose history this poll could not read to its end, and no later
    /// poll will either: the marketplace's paging stopped moving. A reply
    /// with an unknown outcome there can be neither found nor proven absent.
    pub unverified: Vec<String>,
}
