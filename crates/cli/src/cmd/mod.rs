//! One module per command.

pub mod alerts;
pub mod audit;
pub mod dashboard;
pub mod demo;
pub mod forecast;
pub mod import;
pub mod ingest;
pub mod ingest_results;
pub mod logs;
pub mod overrides;
pub mod plan;
pub mod record;
pub mod report;
pub mod retention;
pub mod serve;
pub mod stats;
pub mod store;
pub mod token;
pub mod user;
pub mod views;
