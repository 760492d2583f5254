pub mod config;
pub mod diag;
pub mod domain;
pub mod store;
