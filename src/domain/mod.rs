//! Types the rest of the daemon speaks in. Nothing here does I/O.

mod classification;
mod decision;
mod draft;
mod inbound;
mod marketplace;
mod message;

pub use classification::{Classification, ClassifierSource, Flag, Intent};
pub use decision::{Decision, Effect, Priority, RuleTrace};
pub use draft::{DraftState, ReplyText, ReplyTextError};
pub use inbound::{ChatMark, ChatUpdate, InboundBatch, InboundMessage, KnownChats};
pub use marketplace::{Capabilities, Marketplace};
pub use message::{Author, OrderContext};

/// Milliseconds since the Unix epoch. All stored times use this unit.
pub type Millis = i64;

pub fn now_ms() -> Millis {
    jiff::Timestamp::now().as_millisecond()
}
