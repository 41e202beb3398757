//! The background work of a running server: notification delivery, the collectors and the
//! alert loop, started together by `mhd serve` and `mhd demo` and stopped together.

use tokio::task::JoinHandle;

use crate::AppState;

/// How often the server looks for writes made to the store by other processes.
pub const WATCH_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

/// Looks every [`WATCH_INTERVAL`] for commits made to the store through other connections —
/// `mhd record` or `mhd ingest` beside the server — and announces them, so the live pages show
/// and push them within a second instead of when the caches' time to live runs out. (The
/// server's own writes are seen too and announced a second time: at most twice a second, a
/// view computed again for nothing.)
pub async fn watch_store(state: &AppState) -> Result<JoinHandle<()>, String> {
    let mut watcher = state
        .store
        .change_watcher()
        .await
        .map_err(|e| format!("cannot watch the store for other writers: {e}"))?;
    let state = state.clone();
    Ok(tokio::spawn(async move {
        let mut tick = tokio::time::interval(WATCH_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match watcher.changed().await {
                Ok(true) => state.notify(crate::state::Change::External),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "cannot watch the store for other writers"),
            }
        }
    }))
}

/// The running background tasks.
#[derive(Debug, Default)]
pub struct Background {
    tasks: Vec<JoinHandle<()>>,
}

impl Background {
    /// Starts notification delivery (resuming deliveries left pending by a restart), then every
    /// collector of the plan, then the alert loop. An error names what could not start, such as
    /// a channel whose secret file cannot be read. Relative paths of the plan (log files,
    /// repositories, report folders) are taken from `base`, the plan file's folder; links in
    /// notifications point at `public_url` when given, else `MHD_PUBLIC_URL`, else
    /// `http://{bind}`.
    pub async fn start(
        state: &AppState,
        base: &std::path::Path,
        bind: std::net::SocketAddr,
        public_url: Option<&str>,
    ) -> Result<Background, String> {
        let mut options = crate::notify::NotifierOptions::for_bind(bind);
        if let Some(url) = public_url.filter(|u| !u.trim().is_empty()) {
            url.clone_into(&mut options.public_url);
        }
        let mut tasks = crate::notify::start_with(state, options).await?;
        tasks.extend(crate::collect::start_in(state, base)?);
        tasks.extend(crate::alerting::start(state)?);
        tasks.push(watch_store(state).await?);
        Ok(Background { tasks })
    }

    /// Stops every task.
    pub fn stop(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}
