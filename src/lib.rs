//! credbulk: enable (and, for rollback, disable) senhasegura PAM credentials in bulk.
//!
//! Data flows one way (design.md §8): `input` → `pipeline` → `api` → `auth`, with outcomes
//! going to the `report` writer, the progress bar and the summary. `attempt` holds what the
//! pipeline and the API client share (the `Backend` trait and the classified `Answer`), so
//! neither imports the other. `sim` is the simulator of
//! the API; nothing in the core imports it except the `demo` and `sim` commands, which exist only with
//! the default cargo feature `sim`. `config` turns
//! flags, env and the config file into settings; `outputs` writes the audit and monitoring
//! files a run leaves beside its report.

pub mod api;
pub mod app;
pub mod attempt;
pub mod auth;
pub mod backoff;
pub mod cli;
pub mod config;
pub mod control;
pub mod entropy;
pub mod error;
pub mod http;
pub mod input;
pub mod journal;
pub mod logging;
pub mod manual;
pub mod metrics;
pub mod model;
pub mod outputs;
pub mod pacer;
pub mod pipeline;
pub mod progress;
pub mod redact;
pub mod render;
pub mod report;
pub mod secret;
#[cfg(feature = "sim")]
pub mod sim;
pub mod summary;
pub mod tls;
pub mod wire;
