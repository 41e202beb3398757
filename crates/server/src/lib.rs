//! The live server of the migration health dashboard and the views it shares with the
//! self-contained dashboard file of `mhd stats dashboard`.
//!
//! - [`app`](mod@app) builds the router (`app(state)`) and serves it with graceful shutdown;
//! - [`state`] is what handlers share; [`routes`] holds every route string;
//! - [`error`] is the API's error type; [`metrics`] the program's own Prometheus metrics;
//! - [`views`] renders pages from the figures of `mhd-core` with askama templates;
//! - [`charts`] draws the SVG charts those pages embed.
#![forbid(unsafe_code)]

pub mod access;
pub mod alerting;
pub mod api;
pub mod app;
pub mod assets;
pub mod audit;
pub mod background;
pub mod cache;
pub mod charts;
pub mod chrome;
pub mod collect;
pub mod connections;
pub mod demo;
pub mod error;
pub mod http;
pub mod live;
pub mod metrics;
pub mod notify;
pub mod origin;
pub mod pagecache;
pub mod pages;
pub mod report;
pub mod retention;
pub mod rollback;
pub mod routes;
pub mod scheduled;
pub mod signin;
pub mod state;
pub mod tls;
pub mod views;
pub mod ws;

pub use app::{app, serve};
pub use state::AppState;
