use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Between the system prompt and the user prompt in a stored draft's `prompt`.
pub const PROMPT_SEPARATOR: &str = "\n\n---\n\n";

/// Every state a draft reply can be in. Transitions live in `store::drafts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftState {
    /// Waiting for a human.
    Pending,
    /// Will be sent at `send_at` without further human action (approved, or
    /// auto-sent after an undo window). Can still be cancelled.
    Scheduled,
    /// Claimed by the sender; the HTTP call may be in flight.
    Sending,
    Sent,
    /// The marketplace refused it; the reason is kept and it can be retried.
    Failed,
    /// We do not know whether the marketplace got it; reconciliation will tell.
    Unknown,
    Rejected,
    /// Nobody acted on it in time, or the buyer moved on.
    Expired,
    /// Withdrawn before sending: answered by a human elsewhere, superseded, cancelled.
    Cancelled,
    /// Sent, then deleted from the chat where the marketplace allows it (Avito, within an hour).
    Retracted,
}

impl DraftState {
    pub const ALL: [DraftState; 10] = [
        DraftState::Pending,
        DraftState::Scheduled,
        DraftState::Sending,
        DraftState::Sent,
        DraftState::Failed,
        DraftState::Unknown,
        DraftState::Rejected,
        DraftState::Expired,
        DraftState::Cancelled,
        DraftState::Retracted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DraftState::Pending => "pending",
            DraftState::Scheduled => "scheduled",
            DraftState::Sending => "sending",
            DraftState::Sent => "sent",
            DraftState::Failed => "failed",
            DraftState::Unknown => "unknown",
            DraftState::Rejected => "rejected",
            DraftState::Expired => "expired",
            DraftState::Cancelled => "cancelled",
            DraftState::Retracted => "retracted",
        }
    }

    /// The state as a seller reads it.
    pub fn label_ru(self) -> &'static str {
        match self {
            DraftState::Pending => "ждёт ответа",
            DraftState::Scheduled => "запланирован",
            DraftState::Sending => "отправляется",
            DraftState::Sent => "отправлен",
            DraftState::Failed => "не отправлен",
            DraftState::Unknown => "доставка проверяется",
            DraftState::Rejected => "отклонён",
            DraftState::Expired => "устарел",
            DraftState::Cancelled => "отменён",
            DraftState::Retracted => "отозван",
        }
    }

    /// The states a person must see until they act: the queue's default view.
    pub const INBOX: [DraftState; 5] = [
        DraftState::Pending,
        DraftState::Scheduled,
        DraftState::Sending,
        DraftState::Unknown,
        DraftState::Failed,
    ];

    /// A draft in one of these states may still reach the buyer.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            DraftState::Pending
                | DraftState::Scheduled
                | DraftState::Sending
                | DraftState::Unknown
                | DraftState::Failed
        )
    }
}

impl fmt::Display for DraftState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DraftState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DraftState::ALL
            .into_iter()
            .find(|d| d.as_str() == s.trim())
            .ok_or_else(|| format!("unknown draft state `{s}`"))
    }
}

/// Text that may be sent to a buyer: not blank, and within the marketplace's limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyText(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyTextError {
    #[error("ответ пустой")]
    Empty,
    #[error("в ответе {chars} символов, площадка принимает не больше {max}")]
    TooLong { chars: usize, max: usize },
}

impl ReplyText {
    pub fn parse(text: &str, max_chars: usize) -> Result<Self, ReplyTextError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(ReplyTextError::Empty);
        }
        let chars = trimmed.chars().count();
        if chars > max_chars {
            return Err(ReplyTextError::TooLong {
                chars,
                max: max_chars,
            });
        }
        Ok(ReplyText(trimmed.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_text_counts_characters_not_bytes() {
        let cyrillic = "я".repeat(1000);
        assert!(ReplyText::parse(&cyrillic, 1000).is_ok());
        let too_long = "я".repeat(1001);
        assert_eq!(
            ReplyText::parse(&too_long, 1000),
            Err(ReplyTextError::TooLong {
                chars: 1001,
                max: 1000
            })
        );
    }

    #[test]
    fn blank_reply_is_rejected() {
        assert_eq!(ReplyText::parse("  \n ", 1000), Err(ReplyTextError::Empty));
    }

    #[test]
    fn draft_states_round_trip_through_their_names() {
        for s in DraftState::ALL {
            assert_eq!(s.as_str().parse::<DraftState>(), Ok(s));
        }
    }
}
