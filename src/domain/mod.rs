//! Types the rest of the daemon speaks in. Nothing here does I/O (the clock
//! and the machine's time zone aside).

mod classification;
mod decision;
mod draft;
mod feedback;
mod inbound;
mod marketplace;
mod message;

pub use classification::{Classification, ClassifierSource, Flag, Intent};
pub use decision::{Decision, Effect, Priority, RuleTrace};
pub use draft::{DraftState, PROMPT_SEPARATOR, ReplyText, ReplyTextError};
pub use feedback::{
    ANSWER_MESSAGE_ID, FeedbackBatch, FeedbackCapabilities, FeedbackItem, ProductRef,
    PublishedAnswer, ThreadFacts, ThreadKind,
};
pub use inbound::{ChatMark, ChatUpdate, InboundBatch, InboundMessage, KnownChats};
pub use marketplace::{Capabilities, Marketplace};
pub use message::{Author, OrderContext};

/// Milliseconds since the Unix epoch. All stored times use this unit.
pub type Millis = i64;

pub fn now_ms() -> Millis {
    jiff::Timestamp::now().as_millisecond()
}

/// Time of day on this machine's clock, e.g. `14:05:09`.
pub fn local_clock(ms: Millis) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::system())
                .strftime("%H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

/// A stored time as date and clock in the machine's time zone, for people.
pub fn local_time(ms: Millis) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|_| ms.to_string())
}
