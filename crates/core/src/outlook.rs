//! When the migration will be done: the datasets' forecast of [`crate::forecast`] combined with
//! the phases and their dependencies, so that the date the summary commits to is never before
//! the timeline allows (DESIGN §3.1, §3.2).
//!
//! The rules, so a user can tell why the dashboard says what it says. Each simulated future
//! ([`crate::forecast`]: its own month drawn from the last four weeks, then days drawn from it)
//! is followed through the whole plan:
//!
//! - **Datasets.** The day the running net reaches the datasets still to migrate; per
//!   component with a known total, the day its own net reaches its datasets still to migrate
//!   (the same simulated days, so a busy day is busy for every component). A component that
//!   moved no dataset in the last four weeks has no pace of its own: it is done when all the
//!   datasets are.
//! - **A phase's own work** ends, when it is done by datasets (its components have datasets,
//!   the timeline's rule): the day the last of its components is done. Otherwise (milestones):
//!   started and with progress, at its pace so far (the timeline's projection); otherwise on
//!   its planned end, or today when that is past.
//! - **Dependencies.** While a phase it depends on is unfinished, a phase cannot end before
//!   that phase ends plus the share of its own planned length still to do (at least a day):
//!   what depends on a late phase is late too.
//! - **Completion** of the migration is the latest of all the datasets and every phase. P50,
//!   P85 and P95 are taken over the simulated futures as in [`crate::forecast`], for the
//!   migration and for each phase: a phase's projected end is its P85, and the migration's P85
//!   is never before any unfinished phase's — in every future it is at least as late.
//! - **Critical path**: in the future at the migration's P85, the phase that ended last and the
//!   chain of unfinished dependencies that made it end then.
//! - **No answer** when datasets remain and the forecast has none (no history, no net
//!   throughput, too slow), or more than 5 % of the futures never end.

use serde::Serialize;
use time::{Date, Duration};

use crate::forecast::{
    DEFAULT_RUNS, EstimatedCompletion, HORIZON_DAYS, MIN_FINISHED_PERCENT, NoForecast, Run,
    day_after, rank, run_seed, seed_for, ymd,
};
use crate::history::History;
use crate::timeline::{ComponentProgress, MigrationPhase, PhaseStatus};

/// Longest projection of a phase at its pace, in days (about 100 years).
const MAX_PACE_DAYS: f64 = 36_500.0;
/// A day that never comes: past the horizon.
const NEVER: i64 = i64::MAX;

/// P50, P85 and P95 of a date over the simulated futures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Spread {
    /// Half of the futures end by this date.
    #[serde(with = "ymd")]
    pub p50: Date,
    /// 85 % of the futures end by this date.
    #[serde(with = "ymd")]
    pub p85: Date,
    /// 95 % of the futures end by this date.
    #[serde(with = "ymd")]
    pub p95: Date,
}

/// What the outlook reads.
#[derive(Debug, Clone, Copy)]
pub struct OutlookInput<'a> {
    /// Today (UTC).
    pub today: Date,
    /// The plan's start: history before it is not the migration's pace.
    pub plan_start: Date,
    /// The plan's end.
    pub planned_end: Date,
    /// Net per day, overall and per component.
    pub history: &'a History,
    /// Datasets of the plan still to migrate.
    pub remaining: u64,
    /// The components whose total the plan gives, with their migrated datasets.
    pub components: &'a [ComponentProgress],
    /// The timeline of today (statuses and progress).
    pub phases: &'a [MigrationPhase],
    /// Simulated futures (at least 1).
    pub runs: u32,
}

/// The pace the forecast replays: the last four weeks' net per day.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Pace {
    /// Days of history read.
    pub days: usize,
    /// Their mean net, datasets per day.
    pub mean: f64,
    /// The least net of a day.
    pub min: i64,
    /// The most net of a day.
    pub max: i64,
}

/// The outlook: see the module's rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outlook {
    /// The migration's completion, or why there is none.
    pub completion: Result<EstimatedCompletion, NoForecast>,
    /// Each phase's end, in the timeline's order (`None` when completed or never).
    pub phases: Vec<Option<Spread>>,
    /// When every dataset is migrated.
    pub datasets: Option<Spread>,
    /// The pace replayed.
    pub pace: Pace,
}

/// What one phase's end is made of, fixed for every future.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PhaseWork {
    done: bool,
    /// Indexes of the components (into the input's) whose datasets it waits for; empty when
    /// its progress comes from milestones.
    components: Vec<usize>,
    by_data: bool,
    /// Days its own work takes when it is not done by datasets.
    own_days: i64,
    /// Days it needs after its unfinished dependencies end.
    tail_days: i64,
    /// Indexes of its unfinished dependencies.
    waits_for: Vec<usize>,
}

fn work(input: &OutlookInput<'_>) -> Vec<PhaseWork> {
    let today = input.today;
    let index = |id: &str| input.phases.iter().position(|p| p.id == id);
    input
        .phases
        .iter()
        .map(|p| {
            let done = p.status == PhaseStatus::Completed;
            let components: Vec<usize> = input
                .components
                .iter()
                .enumerate()
                .filter(|(_, c)| c.total > 0 && p.components.contains(&c.component))
                .map(|(i, _)| i)
                .collect();
            let by_data = !components.is_empty();
            let length = (p.end_date - p.start_date).whole_days().max(1) as f64;
            let left = (100.0 - p.progress).clamp(0.0, 100.0) / 100.0;
            let started = today >= p.start_date;
            let own_days = if started && p.progress > 0.0 {
                let elapsed = (today - p.start_date).whole_days().max(1) as f64;
                ((100.0 - p.progress) * elapsed / p.progress - 1e-9)
                    .ceil()
                    .clamp(0.0, MAX_PACE_DAYS) as i64
            } else {
                (p.end_date - today).whole_days().max(0)
            };
            let waits_for = p
                .dependencies
                .iter()
                .filter_map(|d| index(d))
                .filter(|&i| input.phases[i].status != PhaseStatus::Completed)
                .collect();
            PhaseWork {
                done,
                components,
                by_data,
                own_days,
                tail_days: ((length * left).ceil() as i64).max(1),
                waits_for,
            }
        })
        .collect()
}

/// The phases in an order where each comes after what it waits for (a cycle, which `mhd check`
/// refuses, is broken where it closes).
fn order(work: &[PhaseWork]) -> Vec<usize> {
    fn visit(i: usize, work: &[PhaseWork], state: &mut [u8], out: &mut Vec<usize>) {
        if state[i] != 0 {
            return;
        }
        state[i] = 1;
        for &d in &work[i].waits_for {
            visit(d, work, state, out);
        }
        state[i] = 2;
        out.push(i);
    }
    let mut state = vec![0u8; work.len()];
    let mut out = Vec::with_capacity(work.len());
    for i in 0..work.len() {
        visit(i, work, &mut state, &mut out);
    }
    out
}

/// The series of an outlook laid out for the simulation: day by day, each day's counts of
/// the targets still counted side by side (`[day × targets]`), and the targets as totals to
/// reach. A simulated day reads one short row instead of one value from each series.
struct DayRows {
    /// `rows[j * width + k]`: series `k`'s count on recorded day `j`.
    rows: Vec<i64>,
    width: usize,
    /// The targets, beyond reach when they do not fit.
    targets: Vec<i64>,
}

impl DayRows {
    fn new(series: &[Vec<i64>], targets: &[u64]) -> DayRows {
        let width = series.len();
        let days = series.first().map_or(0, Vec::len);
        let mut rows = vec![0; days * width];
        for (k, s) in series.iter().enumerate() {
            for (j, v) in s.iter().enumerate().take(days) {
                rows[j * width + k] = *v;
            }
        }
        DayRows {
            rows,
            width,
            targets: targets
                .iter()
                .map(|&t| i64::try_from(t).unwrap_or(i64::MAX))
                .collect(),
        }
    }
}

/// One future's days (from today) at which each dataset target is reached, into `done`:
/// `[overall, components…]`, [`NEVER`] past the horizon. `totals` and `open` are scratch
/// space.
fn datasets_done(
    days: &DayRows,
    borrow: &[bool],
    run: &mut Run,
    done: &mut Vec<i64>,
    scratch: &mut (Vec<i64>, Vec<usize>),
) {
    let (totals, open) = scratch;
    let targets = &days.targets;
    done.clear();
    done.extend(targets.iter().map(|&t| if t <= 0 { 0 } else { NEVER }));
    // The targets still counted: not reached, not borrowing the overall's day.
    open.clear();
    open.extend((0..targets.len()).filter(|&k| done[k] == NEVER && !borrow[k]));
    totals.clear();
    totals.resize(targets.len(), 0);
    let mut day = 0;
    while !open.is_empty() && day < HORIZON_DAYS {
        day += 1;
        let row = &days.rows[run.next_day() * days.width..][..days.width];
        let mut i = 0;
        while i < open.len() {
            let k = open[i];
            totals[k] = totals[k].saturating_add(row[k]);
            if totals[k] >= targets[k] {
                done[k] = day;
                open.swap_remove(i);
            } else {
                i += 1;
            }
        }
    }
    for k in 1..targets.len() {
        if borrow[k] && done[k] == NEVER {
            done[k] = done[0];
        }
    }
}

/// Each phase's end (days from today) in one future, given when the datasets are done, into
/// `end`.
fn phase_ends(work: &[PhaseWork], order: &[usize], datasets: &[i64], end: &mut Vec<i64>) {
    end.clear();
    end.resize(work.len(), 0);
    for &i in order {
        let w = &work[i];
        if w.done {
            end[i] = 0;
            continue;
        }
        let own = if w.by_data {
            w.components
                .iter()
                .map(|&c| datasets[1 + c])
                .max()
                .unwrap_or(0)
        } else {
            w.own_days
        };
        let after = w.waits_for.iter().map(|&d| end[d]).max();
        end[i] = match after {
            Some(a) => own.max(a.saturating_add(w.tail_days)),
            None => own,
        };
    }
}

/// Each simulated future's ends, in days from today.
#[derive(Debug, Clone)]
struct Futures {
    overall: Vec<i64>,
    datasets: Vec<i64>,
    phases: Vec<Vec<i64>>,
}

impl Futures {
    fn with_capacity(runs: usize, phases: usize) -> Futures {
        Futures {
            overall: Vec::with_capacity(runs),
            datasets: Vec::with_capacity(runs),
            phases: vec![Vec::with_capacity(runs); phases],
        }
    }
}

/// The outlook (see the module's rules).
pub fn outlook(input: &OutlookInput<'_>) -> Outlook {
    let today = input.today;
    let work = work(input);
    let order = order(&work);
    let window = input.history.window(None, today, input.plan_start);
    let pace = Pace {
        days: window.len(),
        mean: if window.is_empty() {
            0.0
        } else {
            window.iter().sum::<i64>() as f64 / window.len() as f64
        },
        min: window.iter().copied().min().unwrap_or(0),
        max: window.iter().copied().max().unwrap_or(0),
    };
    let fail = |why: NoForecast| Outlook {
        completion: Err(why),
        phases: vec![None; input.phases.len()],
        datasets: None,
        pace,
    };
    let mut targets = vec![input.remaining];
    let mut series = vec![window.clone()];
    let mut borrow = vec![false];
    for c in input.components {
        let w = input
            .history
            .window(Some(&c.component), today, input.plan_start);
        let remaining = c.total.saturating_sub(c.migrated);
        borrow.push(w.iter().sum::<i64>() <= 0 || w.len() != window.len());
        series.push(w);
        targets.push(remaining);
    }
    let datasets_left = targets.iter().any(|&t| t > 0);
    if datasets_left {
        if window.is_empty() {
            return fail(NoForecast::NoHistory);
        }
        if window.iter().map(|&v| i128::from(v)).sum::<i128>() <= 0 {
            return fail(NoForecast::NoThroughput);
        }
    }
    // Without datasets left every future is the same: one is enough.
    let runs = if datasets_left {
        u64::from(input.runs.max(1))
    } else {
        1
    };
    let mut seed = seed_for(today, &window, input.remaining);
    for t in &targets[1..] {
        seed = seed.rotate_left(7) ^ t.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    let key = Simulated {
        seed,
        runs,
        days: window.len(),
        series: series.clone(),
        targets: targets.clone(),
        borrow: borrow.clone(),
        work: work.clone(),
    };
    let futures = match memo::get(&key) {
        Some(futures) => futures,
        None => {
            let futures = std::sync::Arc::new(simulate_all(&key, &order));
            memo::put(key, futures.clone());
            futures
        }
    };
    let Some(all) = Option::clone(&futures) else {
        return fail(NoForecast::TooSlow);
    };
    let Futures {
        overall,
        datasets: all_datasets,
        phases: per_phase,
    } = all;
    let spread = |mut days: Vec<i64>| -> Option<Spread> {
        days.sort_unstable();
        let n = days.len() as u64;
        let at = |q| days[(rank(q, n) - 1) as usize];
        let (a, b, c) = (at(50), at(85), at(95));
        (c != NEVER).then(|| Spread {
            p50: day_after(today, a),
            p85: day_after(today, b),
            p95: day_after(today, c),
        })
    };
    let never = overall.iter().filter(|&&d| d == NEVER).count() as u64;
    if never * 100 > runs * (100 - MIN_FINISHED_PERCENT) {
        return fail(NoForecast::TooSlow);
    }
    // The future at the P85 rank, for the critical path.
    let mut ranked: Vec<(i64, u64)> = overall.iter().copied().zip(0..).collect();
    ranked.sort_unstable();
    let p85_run = ranked[(rank(85, runs) - 1) as usize].1;
    let (mut run, mut done, mut scratch, mut ends) =
        (Run::default(), Vec::new(), Default::default(), Vec::new());
    run.reset(window.len(), run_seed(seed, p85_run));
    let days = DayRows::new(&series, &targets);
    datasets_done(&days, &borrow, &mut run, &mut done, &mut scratch);
    phase_ends(&work, &order, &done, &mut ends);
    let critical_path = critical_path(input.phases, &work, &ends, done[0]);

    let phases: Vec<Option<Spread>> = per_phase
        .into_iter()
        .zip(&work)
        .map(|(days, w)| if w.done { None } else { spread(days) })
        .collect();
    let datasets = spread(all_datasets);
    let Some(all) = spread(overall) else {
        return fail(NoForecast::TooSlow);
    };
    Outlook {
        completion: Ok(EstimatedCompletion {
            p50: all.p50,
            p85: all.p85,
            p95: all.p95,
            planned_end: input.planned_end,
            slip_days: (all.p85 - input.planned_end).whole_days(),
            datasets_p85: datasets.map(|d| d.p85),
            critical_path,
        }),
        phases,
        datasets,
        pace,
    }
}

/// What the futures of an outlook are simulated from: two outlooks that agree on it have the
/// same futures.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Simulated {
    seed: u64,
    runs: u64,
    /// Days of history replayed.
    days: usize,
    series: Vec<Vec<i64>>,
    targets: Vec<u64>,
    borrow: Vec<bool>,
    work: Vec<PhaseWork>,
}

/// The futures of the latest outlooks. The views are computed again after every write, but
/// most writes change nothing a forecast reads (a failed attempt, a validation, a test run),
/// and yesterday's forecast, which "how it moved since yesterday" compares with, changes at
/// most once a day: their futures, the bulk of the work, are simulated once.
mod memo {
    use std::sync::Arc;

    use super::{Futures, Simulated};
    use crate::recent::Recent;

    /// Today's and yesterday's, of a plan or two.
    static LATEST: Recent<Simulated, Arc<Option<Futures>>> = Recent::new(4);

    pub(super) fn get(key: &Simulated) -> Option<Arc<Option<Futures>>> {
        LATEST.get(key)
    }

    pub(super) fn put(key: Simulated, futures: Arc<Option<Futures>>) {
        LATEST.put(key, futures, |_| false);
    }

    /// Forgets every outlook kept.
    pub(super) fn clear() {
        LATEST.clear();
    }
}

/// Forgets the futures kept from earlier outlooks, so that the next one is simulated afresh
/// (for tests that compare the two).
#[doc(hidden)]
pub fn forget_simulated_futures() {
    memo::clear();
}

/// Simulates the futures of `sim` (`None` when too many never end: the answer is "too
/// slow"), the phases ending in `order`.
fn simulate_all(sim: &Simulated, order: &[usize]) -> Option<Futures> {
    let Simulated {
        seed,
        runs,
        days,
        series,
        targets,
        borrow,
        work,
    } = sim;
    let (seed, runs, days) = (*seed, *runs, *days);
    let rows = DayRows::new(series, targets);
    let rows = &rows;
    // Futures that never end cost the whole horizon each: once too many of them make the
    // answer "too slow" anyway, stop. The futures are independent (each its own seed), so
    // they are shared among the machine's cores and put back in order: the answer is the
    // same however many cores there are.
    let never_allowed = runs * (100 - MIN_FINISHED_PERCENT) / 100;
    let never = std::sync::atomic::AtomicU64::new(0);
    let simulate = |from: u64, to: u64| -> Option<Futures> {
        let mut f = Futures::with_capacity((to - from) as usize, work.len());
        let (mut run, mut done, mut scratch, mut ends) =
            (Run::default(), Vec::new(), Default::default(), Vec::new());
        for r in from..to {
            run.reset(days, run_seed(seed, r));
            datasets_done(rows, borrow, &mut run, &mut done, &mut scratch);
            phase_ends(work, order, &done, &mut ends);
            let datasets = done.iter().copied().max().unwrap_or(0);
            let end = ends.iter().copied().max().unwrap_or(0).max(datasets);
            if end == NEVER
                && never.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1 > never_allowed
            {
                return None;
            }
            f.overall.push(end);
            f.datasets.push(datasets);
            for (p, e) in f.phases.iter_mut().zip(&ends) {
                p.push(*e);
            }
        }
        Some(f)
    };
    let parts = if runs >= 2_000 {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(4)) as u64
    } else {
        1
    };
    let bounds: Vec<(u64, u64)> = (0..parts)
        .map(|i| (runs * i / parts, runs * (i + 1) / parts))
        .collect();
    let results: Vec<Option<Futures>> = if parts == 1 {
        vec![simulate(0, runs)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = bounds
                .iter()
                .map(|&(a, b)| scope.spawn(move || simulate(a, b)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    };
    let mut all = Futures::with_capacity(runs as usize, work.len());
    for part in results {
        let part = part?;
        all.overall.extend(part.overall);
        all.datasets.extend(part.datasets);
        for (a, p) in all.phases.iter_mut().zip(part.phases) {
            a.extend(p);
        }
    }
    Some(all)
}

/// The phase that ends last in one future and the unfinished dependencies that held it up,
/// first to last (empty when the datasets end after every phase).
fn critical_path(
    phases: &[MigrationPhase],
    work: &[PhaseWork],
    ends: &[i64],
    datasets_end: i64,
) -> Vec<String> {
    let Some((mut i, &last)) = ends
        .iter()
        .enumerate()
        .filter(|(i, _)| !work[*i].done)
        .max_by_key(|(i, e)| (**e, std::cmp::Reverse(*i)))
    else {
        return Vec::new();
    };
    if last < datasets_end || last == 0 {
        return Vec::new();
    }
    let mut path = vec![phases[i].id.clone()];
    // Follow the dependency that set the end while it did.
    while let Some(&d) = work[i]
        .waits_for
        .iter()
        .max_by_key(|&&d| (ends[d], std::cmp::Reverse(d)))
    {
        if ends[d].saturating_add(work[i].tail_days) < ends[i] || path.contains(&phases[d].id) {
            break;
        }
        path.push(phases[d].id.clone());
        i = d;
    }
    path.reverse();
    path
}

/// The default number of futures: [`DEFAULT_RUNS`].
pub const RUNS: u32 = DEFAULT_RUNS;

/// Days from `today` to `d`.
pub fn days_from(today: Date, d: Date) -> i64 {
    (d - today).whole_days()
}

/// The date `days` after `today`, saturating.
pub fn date_after(today: Date, days: i64) -> Date {
    today.checked_add(Duration::days(days)).unwrap_or(Date::MAX)
}
