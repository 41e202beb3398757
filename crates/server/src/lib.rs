//! The live server of the migration health dashboard: the API, the WebSocket and the pages,
//! whose HTML is rendered by `mhd-web` from the figures of `mhd-core`.
//!
//! - [`app`](mod@app) builds the router (`app(state)`) and serves it with graceful shutdown;
//! - [`state`] is what handlers share; [`routes`] is the table of every route (the paths are
//!   those of `mhd_web::paths`);
//! - [`error`] is the API's error type; [`metrics`] the program's own Prometheus metrics;
//! - [`pages`] answers the pages, reading their data ([`range`], [`resources`]) and
//!   rendering it with `mhd_web::views`.
#![forbid(unsafe_code)]

pub mod access;
pub mod alert_loop;
pub mod api;
pub mod app;
pub mod assets;
pub mod audit;
pub mod background;
pub mod cache;
pub mod collect;
pub mod connections;
pub mod demo;
pub mod error;
pub mod http;
pub mod live_metrics;
pub mod metrics;
pub mod notify;
pub mod origin;
pub mod pagecache;
pub mod pages;
pub mod plan;
pub mod probes;
pub mod query;
pub mod range;
pub mod recorder;
pub mod resources;
pub mod retention;
pub mod rollback;
pub mod routes;
pub mod scheduled;
pub mod security;
pub mod signin;
pub mod state;
pub mod tls;
pub mod ws;

pub use app::{app, serve};
pub use state::AppState;
