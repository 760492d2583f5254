//! The gate: a shop's policy file decides what happens to each draft, and a
//! safety floor in code overrides any rule that would auto-send something it
//! should not.
//!
//! Semantics:
//! - every rule whose conditions all hold matches;
//! - the strongest matched effect wins: escalate > queue > ignore > auto, so a
//!   rule that withholds auto-sending always beats one that allows it,
//!   whatever their order in the file;
//! - nothing matched means `queue`;
//! - an `auto` that survives the rules must still pass the floor and the caps.

mod eval;
mod parse;
mod shared;

pub use crate::guards::GuardSummary;
pub use eval::{Facts, FeedbackFacts, decide, effect_ru};
pub use parse::{Condition, DraftOrigin, Policy, PolicySettings, PolicyTest, Rule, TestExpect};

/// Auto-sending never happens below this confidence, whatever a policy says.
pub const CODE_CONFIDENCE_FLOOR: f64 = 0.5;
