//! What the server's integration tests share: the clock they run at, a store in a temporary
//! folder, and the server on a free port of 127.0.0.1. (Each test file uses a part of it.)
#![allow(dead_code)]

use mhd_server::AppState;
use mhd_store::Database;
use tempfile::TempDir;
use time::OffsetDateTime;
use time::macros::datetime;

/// The tests' "now": the clock every test state runs on.
pub fn now() -> OffsetDateTime {
    datetime!(2025-03-05 12:00 UTC)
}

/// A store in a new temporary folder (kept as long as the folder is).
pub async fn store() -> (TempDir, Database) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Database::open_file(&dir.path().join("mhd.db"), 4)
        .await
        .expect("store opens");
    (dir, store)
}

/// A test state over `store` with the plan `plan` (TOML), at [`now`].
pub fn state(store: Database, plan: &str) -> AppState {
    let plan = mhd_core::plan::parse(plan, "migration.toml").expect("the plan parses");
    AppState::with_clock(store, Some(plan), now)
}

/// Serves `state` on a free port of 127.0.0.1 until the test ends; its `http://` address.
pub async fn serve(state: AppState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(mhd_server::serve(listener, state, std::future::pending()));
    format!("http://{addr}")
}
