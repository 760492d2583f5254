//! What a buyer's text means, without I/O: the intent classifier
//! (`intents.toml` keyword rules and the learned intent model), the built-in
//! risk detectors, and the linear model under both (and under the draft
//! guards' backstop). Everything reads the text through [`crate::text`].

pub mod classify;
pub mod model;
pub mod review;
pub mod risk;
