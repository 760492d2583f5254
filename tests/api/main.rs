//! Integration tests: the real daemon against the simulator and fake LLM
//! servers, all over real sockets on loopback.

mod avito;
mod backup;
mod cookbook;
mod crash;
mod faults;
mod feedback;
mod feedback_clients;
mod helpers;
mod injection;
mod llm;
mod marketplaces;
mod metrics;
mod models;
mod ozon;
mod policy;
mod shared_policy;
mod spine;
mod telegram;
mod tidy;
mod torture;
mod web;
mod yandex_market;
