//! The one harness of the server's integration tests: the clock they run at, a store in a
//! temporary folder, a state over it with a plan, the server on a free port of 127.0.0.1,
//! request helpers ([`http`]), an operation builder ([`ops`]), alerts ([`alerts`]) and WebSocket
//! helpers ([`ws`]).
//! Every test binary includes it with `mod common;` and uses the parts it needs.
// Each test binary uses a part of the harness: the rest is unused there.
#![allow(dead_code, unused_imports)]

pub mod alerts;
pub mod http;
pub mod ops;
pub mod schema;
pub mod ws;

use std::path::Path;

use axum::Router;
use mhd_core::plan::Plan;
use mhd_server::AppState;
use mhd_store::Database;
use tempfile::TempDir;
use time::OffsetDateTime;
use time::macros::{date, datetime};

pub use ops::op;

/// The tests' "now": the clock a test state runs on unless its file says otherwise.
pub const NOW: OffsetDateTime = datetime!(2025-03-05 12:00 UTC);

/// [`NOW`] as a clock for [`AppState::with_clock`].
pub fn now() -> OffsetDateTime {
    NOW
}

/// The clock of the files whose data and expected answers are written for the week that ends
/// on Saturday 1 March 2025 at noon (the API, the pages, the resources and the reports).
pub const SATURDAY: OffsetDateTime = datetime!(2025-03-01 12:00 UTC);

/// [`SATURDAY`] as a clock for [`AppState::with_clock`].
pub fn saturday() -> OffsetDateTime {
    SATURDAY
}

/// A hostile name: markup that would run if a page spliced it in unescaped.
pub const HOSTILE: &str = "<img src=x onerror=alert(1)>";

/// [`HOSTILE`] as HTML shows it, in each of the entities the escaping may choose.
pub const ESCAPED: [&str; 2] = [
    "&lt;img src=x onerror=alert(1)&gt;",
    "&#60;img src=x onerror=alert(1)&#62;",
];

/// Whether `html` shows [`HOSTILE`] escaped, whichever entities the escaping chose.
pub fn shows_escaped(html: &str) -> bool {
    ESCAPED.iter().any(|e| html.contains(e))
}

/// Whether CI runs these tests, where a missing tool is a failure rather than a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// A store in a new temporary folder (kept as long as the folder is).
pub async fn store() -> (TempDir, Database) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_in(dir.path()).await;
    (dir, store)
}

/// The store `mhd.db` in the folder `dir`, opened again if it is there already.
pub async fn store_in(dir: &Path) -> Database {
    Database::open_file(&dir.join("mhd.db"), 4)
        .await
        .expect("store opens")
}

/// The plan `toml` (as in `migration.toml`).
pub fn plan(toml: &str) -> Plan {
    mhd_core::plan::parse(toml, "migration.toml").expect("the plan parses")
}

/// The default plan of a migration that started on Monday 6 January 2025.
pub fn default_plan() -> Plan {
    plan(&default_plan_toml())
}

/// The text of [`default_plan`], for tests that add to it.
pub fn default_plan_toml() -> String {
    mhd_core::plan::default_plan_toml(date!(2025 - 01 - 06))
}

/// A test state over `store` with the plan `plan` (TOML), at [`now`].
pub fn state(store: Database, plan: &str) -> AppState {
    AppState::with_clock(store, Some(self::plan(plan)), now)
}

/// A test state over `store` with `plan` (or none), on `clock`.
pub fn state_at(store: Database, plan: Option<Plan>, clock: fn() -> OffsetDateTime) -> AppState {
    AppState::with_clock(store, plan, clock)
}

/// A state over `store` with `plan` (or none) on the real clock, for the tests that wait on
/// schedules, time-outs and retries.
pub fn live_state(store: Database, plan: Option<Plan>) -> AppState {
    AppState::new(store, plan, time::UtcOffset::UTC)
}

/// A store in a temporary folder, a state over it and the whole app, driven in-process.
pub struct App {
    pub dir: TempDir,
    pub store: Database,
    pub state: AppState,
    pub router: Router,
}

impl App {
    /// The whole app (`mhd_server::app`) over `store` in `dir`, with `plan`, on `clock`.
    pub fn over(
        dir: TempDir,
        store: Database,
        plan: Option<Plan>,
        clock: fn() -> OffsetDateTime,
    ) -> App {
        let state = state_at(store.clone(), plan, clock);
        App {
            dir,
            store,
            router: mhd_server::app(state.clone()),
            state,
        }
    }

    /// The whole app over a new empty store, with `plan`, on `clock`.
    pub async fn new(plan: Option<Plan>, clock: fn() -> OffsetDateTime) -> App {
        let (dir, store) = store().await;
        App::over(dir, store, plan, clock)
    }
}

/// Serves `state` (the whole server) on a free port of 127.0.0.1 until the test ends; its
/// `http://` address.
pub async fn serve(state: AppState) -> String {
    let listener = listener().await;
    let addr = listener.local_addr().expect("address");
    tokio::spawn(mhd_server::serve(listener, state, std::future::pending()));
    format!("http://{addr}")
}

/// Serves `router` alone on a free port of 127.0.0.1 until the test ends; its address.
pub async fn serve_router(router: Router) -> std::net::SocketAddr {
    let listener = listener().await;
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// A port of 127.0.0.1 nobody listens on right now (for a program started by the test).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A listener on a free port of 127.0.0.1.
pub async fn listener() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind")
}
