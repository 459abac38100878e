//! liqwave: placeholder overview (rewritten at the end of issue 2).

pub mod analytics;
pub mod cli;
pub mod config;
pub mod engine;
pub mod model;
pub mod notify;
pub mod rules;
pub mod source;
pub mod telemetry;
