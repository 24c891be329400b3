//! credbulk: enable (and, for rollback, disable) senhasegura PAM credentials in bulk.
//!
//! Data flows one way (design.md §8): `input` → `pipeline` → `api` → `auth`, with outcomes
//! going to the `report` writer, the progress bar and the summary. `sim` is the simulator of
//! the API; nothing in the core imports it except the `demo` and `sim` commands. `config` turns
//! flags, env and the config file into settings; `outputs` writes the audit and monitoring
//! files a run leaves beside its report.

pub mod api;
pub mod app;
pub mod auth;
pub mod backoff;
pub mod cli;
pub mod config;
pub mod control;
pub mod error;
pub mod http;
pub mod input;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod outputs;
pub mod pacer;
pub mod pipeline;
pub mod progress;
pub mod redact;
pub mod report;
pub mod secret;
pub mod sim;
pub mod summary;
pub mod wire;
