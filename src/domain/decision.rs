use std::fmt;

use serde::{Deserialize, Serialize};

/// What the gate decided to do with a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Send without a human, possibly after an undo window.
    Auto,
    /// Do not draft a reply and do not bother a human.
    Ignore,
    /// Wait for a human to approve.
    Queue,
    /// Tell a human now; send nothing.
    Escalate,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Auto => "auto",
            Effect::Ignore => "ignore",
            Effect::Queue => "queue",
            Effect::Escalate => "escalate",
        }
    }

    /// How strongly an effect keeps a human in the loop. When several rules
    /// match, the strongest wins, so a rule that withholds auto-sending always
    /// beats one that allows it, whatever the order they are written in.
    pub fn strength(self) -> u8 {
        match self {
            Effect::Auto => 0,
            Effect::Ignore => 1,
            Effect::Queue => 2,
            Effect::Escalate => 3,
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    pub fn rank(self) -> i64 {
        match self {
            Priority::Low => 0,
            Priority::Normal => 1,
            Priority::High => 2,
            Priority::Urgent => 3,
        }
    }
}

/// One policy rule's verdict on one draft, kept for audit and `explain`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleTrace {
    pub name: String,
    pub matched: bool,
    pub effect: Effect,
    /// Each condition and whether it held, in words.
    pub why: Vec<String>,
}

/// The gate's verdict. `reasons` says in plain words why the effect is what it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub effect: Effect,
    #[serde(default)]
    pub delay_seconds: i64,
    #[serde(default)]
    pub priority: Priority,
    pub rules: Vec<RuleTrace>,
    pub reasons: Vec<String>,
    /// Safety-floor checks that blocked auto-sending, if any.
    #[serde(default)]
    pub floor: Vec<String>,
}

impl Decision {
    pub fn matched_rules(&self) -> impl Iterator<Item = &RuleTrace> {
        self.rules.iter().filter(|r| r.matched)
    }

    /// One line for lists: the effect and the first reason.
    pub fn summary(&self) -> String {
        match self.reasons.first() {
            Some(r) => r.clone(),
            None => self.effect.to_string(),
        }
    }
}
