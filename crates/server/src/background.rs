//! The background work of a running server: notification delivery, the collectors and the
//! alert loop, started together by `mhd serve` and `mhd demo` and stopped together. When
//! several servers share a store, only the one holding its lead ([`mhd_store::Lease`]) runs
//! them; every server hears of the others' writes ([`watch_store`]).

use std::time::Instant;

use tokio::task::JoinHandle;

use crate::AppState;

/// Hears of every commit made to the store by other writers — `mhd record` or `mhd ingest`
/// beside the server, or another replica on the same store — and announces it, so the live
/// pages show and push it within a second instead of when the caches' time to live runs out.
/// The server's own writes, which its recorder announces as it commits them, are passed over
/// on both backends: announced again, each would make every view be computed again for
/// nothing. On PostgreSQL the notifications name the tables written, so each is announced as
/// what it is ([`announced`]); on SQLite, which does not say, as a change of everything.
pub async fn watch_store(state: &AppState) -> Result<JoinHandle<()>, String> {
    let mut watcher = state
        .store()
        .change_watcher()
        .await
        .map_err(|e| format!("cannot watch the store for other writers: {e}"))?;
    let state = state.clone();
    Ok(tokio::spawn(async move {
        loop {
            match watcher.next_change().await {
                Ok(changed) => {
                    state.recorder().heard(announced(&changed));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot watch the store for other writers");
                    tokio::time::sleep(LEAD_CHECK).await;
                    // What others wrote while the watch was broken (the database restarting,
                    // say) was not heard of: look at everything again.
                    state.recorder().external();
                }
            }
        }
    }))
}

/// What the writes of another process are announced as: what the tables written say where
/// they are known and each says what changed, else a change of everything (the alerts'
/// tables, whose pushes carry the alert, which the notification does not).
pub fn announced(changed: &mhd_store::Changed) -> Vec<crate::recorder::Change> {
    use crate::recorder::Change;
    if changed.tables.is_empty() {
        return vec![Change::External];
    }
    let mut out = Vec::new();
    for table in &changed.tables {
        out.push(match table.as_str() {
            "samples" => Change::Samples,
            "operations" => Change::Operations {
                components: Vec::new(),
            },
            "test_runs" => Change::TestRun { component: None },
            "benchmark_samples" => Change::Benchmarks,
            "health_state" => Change::Health,
            _ => return vec![Change::External],
        });
    }
    out
}

/// How often a server that leads checks that it still does, and one that does not tries to.
pub const LEAD_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// Starts what only the leading server runs: notification delivery (resuming deliveries left
/// pending), every collector of the plan, and the alert loop.
async fn start_leading(
    state: &AppState,
    base: &std::path::Path,
) -> Result<Vec<JoinHandle<()>>, String> {
    let mut tasks = run_notifications(state).await?;
    tasks.push(crate::scheduled::start(state));
    let started = crate::collect::start_in(&state.collecting(), base).and_then(|mut collectors| {
        collectors.extend(crate::alert_loop::start(state)?);
        Ok(collectors)
    });
    match started {
        Ok(more) => {
            tasks.extend(more);
            Ok(tasks)
        }
        Err(e) => {
            for t in tasks {
                t.abort();
            }
            Err(e)
        }
    }
}

/// The leader's tasks, stopped when dropped (as when the lead is lost, or the server stops).
struct Leading(Vec<JoinHandle<()>>);

impl Drop for Leading {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// Keeps the lead while it is held (stopping the leader's work when it is lost) and takes it
/// whenever it is free, so that exactly one server runs the background work of a store and
/// another takes over within seconds when it stops.
async fn lead(
    state: AppState,
    base: std::path::PathBuf,
    mut held: Option<(mhd_store::Lease, Leading)>,
) {
    let mut generation = state.plan_generation().subscribe();
    loop {
        tokio::select! {
            () = tokio::time::sleep(LEAD_CHECK) => {}
            changed = generation.changed() => {
                if changed.is_ok()
                    && let Some((_, leading)) = held.as_mut()
                {
                    // A new plan: the leader's work restarts on its rules, collectors and
                    // channels (the lead is kept).
                    *leading = Leading(Vec::new());
                    match start_leading(&state, &base).await {
                        Ok(tasks) => *leading = Leading(tasks),
                        Err(e) => tracing::error!(error = %e, "cannot restart the leader's work on the new plan"),
                    }
                }
                continue;
            }
        }
        match held.as_mut() {
            Some((lease, _)) => {
                if !lease.held().await {
                    tracing::warn!("this server lost the lead: another one takes over");
                    // Dropping the leader's tasks stops them.
                    held = None;
                    state.metrics().leader.set(0);
                }
            }
            None => match state.store().try_lead().await {
                Ok(Some(lease)) => match start_leading(&state, &base).await {
                    Ok(tasks) => {
                        tracing::info!(
                            "this server leads: it runs the alerts, the collectors and the notifications"
                        );
                        state.metrics().leader.set(1);
                        held = Some((lease, Leading(tasks)));
                    }
                    Err(e) => tracing::error!(error = %e, "cannot start the leader's work"),
                },
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot try to lead"),
            },
        }
    }
}

/// The running background tasks.
#[derive(Debug)]
pub struct Background {
    tasks: Vec<JoinHandle<()>>,
    /// How notifications are sent, kept for the channels of a reloaded plan.
    options: crate::notify::NotifierOptions,
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
        prepare_notifications(state, state.plan().as_deref(), options.clone())?;
        let mut tasks = vec![watch_store(state).await?];
        // Led at once when nobody else leads, so that a bad setting of a collector or a rule
        // stops the start; a server that does not lead now waits for its turn.
        let held = match state
            .store()
            .try_lead()
            .await
            .map_err(|e| format!("cannot decide which server leads: {e}"))?
        {
            Some(lease) => {
                let leading = start_leading(state, base).await?;
                state.metrics().leader.set(1);
                Some((lease, Leading(leading)))
            }
            None => {
                tracing::info!(
                    "another server leads this store: this one serves pages and the API, and takes over if it stops"
                );
                state.metrics().leader.set(0);
                None
            }
        };
        tasks.push(tokio::spawn(lead(state.clone(), base.to_path_buf(), held)));
        Ok(Background { tasks, options })
    }

    /// Puts a checked plan in force without a restart: its channels are made ready first (an
    /// unreadable secret refuses it, naming it, and the plan in force stays), then it replaces
    /// the plan — every view follows it, and the leader's alert rules, collectors and
    /// notification workers restart on it. WebSocket clients stay connected.
    pub fn reload(&self, state: &AppState, plan: mhd_core::plan::Plan) -> Result<(), String> {
        prepare_notifications(state, Some(&plan), self.options.clone())?;
        state.replace_plan(Some(plan));
        *state
            .plan_problem()
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        state.metrics().plan_reloads.inc();
        Ok(())
    }

    /// Records that a changed plan was refused, and why: logged, counted in `/metrics`, shown
    /// by `/ready`; the plan in force stays.
    pub fn refused(state: &AppState, why: &str) {
        tracing::error!(
            error = why,
            "the changed plan was refused: the one in force is kept"
        );
        state.metrics().plan_reload_failures.inc();
        *state
            .plan_problem()
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(why.to_owned());
    }

    /// Stops every task.
    pub fn stop(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}

/// Makes the channels of `plan` ready on this server ([`crate::notify::prepare`]) and puts
/// them in force; nothing changes when one of them cannot be made ready.
pub fn prepare_notifications(
    state: &AppState,
    plan: Option<&mhd_core::plan::Plan>,
    options: crate::notify::NotifierOptions,
) -> Result<(), String> {
    let notifier = crate::notify::prepare(
        state.store(),
        state.clock(),
        &state.metrics().notify,
        plan,
        options,
    )?;
    state.set_notifier(notifier);
    Ok(())
}

/// Delivers through the channels in force ([`crate::notify::run_workers`]); needs
/// [`prepare_notifications`] first.
pub async fn run_notifications(state: &AppState) -> Result<Vec<JoinHandle<()>>, String> {
    let Some(notifier) = state.notifier() else {
        return Err("notifications: not prepared".to_owned());
    };
    crate::notify::run_workers(&notifier).await
}

/// Starts delivery for the plan's channels: [`prepare_notifications`], then
/// [`run_notifications`].
pub async fn start_notifications(
    state: &AppState,
    options: crate::notify::NotifierOptions,
) -> Result<Vec<JoinHandle<()>>, String> {
    prepare_notifications(state, state.plan().as_deref(), options)?;
    run_notifications(state).await
}

/// Fills the caches the first requests read — the view model, the dashboard, the
/// overview's live figures and alert counts, the WebSocket's `initial_data` — in the
/// background, so that they find them ready; `/ready` answers "warming" (503) meanwhile.
/// A failure is logged and ends the warming: requests then compute as they would have.
pub fn warm_up(state: &AppState) -> JoinHandle<()> {
    state.set_warming(true);
    let state = state.clone();
    tokio::spawn(async move {
        let started = Instant::now();
        let warmed = async {
            let data = state.dashboard().await?;
            let slip = data
                .views
                .as_ref()
                .and_then(|v| v.summary.estimated_completion.as_ref())
                .map(|e| e.slip_days as f64);
            state.page_live(slip).await?;
            state.firing_counts().await?;
            crate::ws::initial_data(&state).await?;
            Ok::<_, mhd_store::StoreError>(())
        }
        .await;
        match warmed {
            Ok(()) => tracing::info!(
                ms = started.elapsed().as_secs_f64() * 1e3,
                "views computed before the first request"
            ),
            Err(e) => tracing::warn!("computing the views before the first request: {e}"),
        }
        state.set_warming(false);
    })
}

#[cfg(test)]
mod tests {
    use super::announced;
    use crate::recorder::Change;
    use mhd_store::Changed;

    fn of(tables: &[&str]) -> Vec<Change> {
        announced(&Changed {
            tables: tables.iter().map(|t| t.to_string()).collect(),
        })
    }

    #[test]
    fn another_process_s_writes_are_announced_as_what_they_wrote() {
        assert_eq!(of(&[]), [Change::External], "nothing known: everything");
        assert_eq!(of(&["samples"]), [Change::Samples]);
        assert_eq!(
            of(&["operations", "samples"]),
            [
                Change::Operations {
                    components: Vec::new()
                },
                Change::Samples
            ]
        );
        assert_eq!(
            of(&["benchmark_samples", "test_runs"]),
            [Change::Benchmarks, Change::TestRun { component: None }]
        );
        assert_eq!(of(&["operations", "alerts"]), [Change::External]);
    }
}
