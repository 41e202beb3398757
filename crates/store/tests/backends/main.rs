//! What both backends answer alike: every test body here runs on a real SQLite file
//! (`sqlite::NAME`) and on a scratch database of the real PostgreSQL server
//! (`postgres::NAME`; skipped without a server, unless `CI` is set).

#[path = "../common/mod.rs"]
mod common;

mod audit;
mod auth;
mod collect;
mod history;
mod outbox;
mod sessions;
