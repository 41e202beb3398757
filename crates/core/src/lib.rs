//! Domain types and every figure of the migration health dashboard.
//!
//! Everything here is pure: no I/O, no async, and the current time is always a parameter,
//! so tests control time and every figure can be explained from its inputs.
#![forbid(unsafe_code)]

pub mod alerts;
pub mod auth;
pub mod backtest;
pub mod components;
pub mod dashboard;
pub mod datasets;
pub mod forecast;
pub mod format;
pub mod health;
pub mod history;
pub mod limits;
pub mod live;
pub mod model;
pub mod operation;
pub mod outlook;
pub mod perf;
pub mod plan;
pub mod recent;
pub mod report;
pub mod sample;
pub mod sketch;
pub mod stats;
pub mod summary;
pub mod testrun;
pub mod testview;
pub mod time_parse;
pub mod timeline;

pub use operation::{NewOperation, Operation, OperationError, System};
