//! From a buyer turn to a gated draft: classify, draft, decide.

pub mod classify;
pub mod risk;
