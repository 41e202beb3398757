//! The background work of a running server: notification delivery, the collectors and the
//! alert loop, started together by `mhd serve` and `mhd demo` and stopped together.

use tokio::task::JoinHandle;

use crate::AppState;

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
        Ok(Background { tasks })
    }

    /// Stops every task.
    pub fn stop(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}
