//! The completion forecast of the executive summary (DESIGN §3.1 `estimated_completion`).
//!
//! The rules, so a user can tell why the dashboard says what it says:
//!
//! - **History.** The forecast reads the *daily net throughput* of the last
//!   [`WINDOW_DAYS`] full days before today: for each UTC day, the successful migrations that
//!   day minus the successful rollbacks that day (a day with nothing is 0). Today itself is
//!   left out because it is not over yet; days before the plan's start are left out because the
//!   migration was not running. [`daily_window`] builds this list.
//! - **Simulation.** Each of [`DEFAULT_RUNS`] runs first gives every recorded day a random
//!   weight (a Bayesian bootstrap: flat Dirichlet weights), so a run may see a busier or a
//!   quieter month than the one recorded, as the next month may be; the more the pace varied,
//!   the more the runs differ, and the wider the band. It then replays the future one day at a
//!   time from tomorrow: every simulated day draws one recorded day by those weights and adds
//!   its net to a running total. The run finishes on the first day the total reaches the datasets still
//!   to migrate; a run that finishes on its *d*-th day gives the date `today + d`. A run that has
//!   not finished after [`HORIZON_DAYS`] days (five years) never finishes.
//! - **Answer.** P50, P85 and P95 are the completion dates of the runs by nearest rank (the
//!   ⌈q·n⌉-th earliest run), and `slip_days` is P85 − the planned end (negative when early).
//! - **No answer** ([`NoForecast`]): there is no history, the history's total is not positive
//!   (nothing migrated, or more rolled back than migrated), or more than 5 % of the runs never
//!   finish (so P95 would be "never").
//! - **Done.** Nothing left to migrate gives today for every percentile, history or not.
//! - **Same inputs, same answer.** The random draws come from a seed derived from today, the
//!   history and what remains ([`seed_for`]), so a given store on a given date always gives the
//!   same dates. Every run draws its own fixed sequence of history days (common random
//!   numbers), so more throughput on any day never gives a later date.
//!
//! [`crate::outlook`] combines this with the phases and their dependencies: the date the
//! summary commits to is never before the timeline allows.

use serde::Serialize;
use time::{Date, Duration};

time::serde::format_description!(pub ymd, Date, "[year]-[month]-[day]");

/// Days of history the forecast reads, ending the day before today.
pub const WINDOW_DAYS: i64 = 28;
/// Simulated futures per forecast.
pub const DEFAULT_RUNS: u32 = 10_000;
/// Days after which a simulated future that has not finished never finishes (five years).
pub const HORIZON_DAYS: i64 = 5 * 365 + 1;
/// Percent of the runs that must finish within [`HORIZON_DAYS`] for a forecast to be given
/// (the P95 date must exist).
pub const MIN_FINISHED_PERCENT: u64 = 95;

/// The forecast completion dates (DESIGN §3.1 `estimated_completion`), dates as `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EstimatedCompletion {
    /// Half of the simulated futures finish by this date.
    #[serde(with = "ymd")]
    pub p50: Date,
    /// 85 % of the simulated futures finish by this date: the date the summary commits to.
    #[serde(with = "ymd")]
    pub p85: Date,
    /// 95 % of the simulated futures finish by this date.
    #[serde(with = "ymd")]
    pub p95: Date,
    /// The plan's end (its start plus its weeks).
    #[serde(with = "ymd")]
    pub planned_end: Date,
    /// P85 − planned end in days: positive when late, negative when early.
    pub slip_days: i64,
    /// When every dataset is migrated (P85), which the phases may follow
    /// ([`crate::outlook`]); absent in a forecast of the datasets alone.
    #[serde(with = "ymd::option", skip_serializing_if = "Option::is_none")]
    pub datasets_p85: Option<Date>,
    /// The phases that hold the P85 date up, first to last ([`crate::outlook`]); empty when
    /// the datasets do.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub critical_path: Vec<String>,
}

/// Why no completion date can be forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NoForecast {
    /// No day of history: the migration has not run a full day yet.
    #[error("no history: the migration has not run a full day yet")]
    NoHistory,
    /// The history's net throughput is zero or negative: nothing migrated, or more rolled back
    /// than migrated.
    #[error("no net throughput over the history")]
    NoThroughput,
    /// More than 5 % of the simulated futures do not finish within five years.
    #[error("too slow: more than 5% of the simulated futures do not finish within five years")]
    TooSlow,
}

/// The forecast as the executive summary computes it: [`simulate`] with [`DEFAULT_RUNS`] runs
/// and the seed [`seed_for`] derives from the inputs.
pub fn forecast(
    daily_net: &[i64],
    remaining: u64,
    today: Date,
    planned_end: Date,
) -> Result<EstimatedCompletion, NoForecast> {
    let seed = seed_for(today, daily_net, remaining);
    simulate(daily_net, remaining, today, planned_end, seed, DEFAULT_RUNS)
}

/// The Monte Carlo forecast (see the module's rules). `daily_net` is the history, oldest
/// first, one value per day (see [`daily_window`]); `remaining` the datasets not yet migrated;
/// `runs` the simulated futures (at least 1 is used). The result depends on nothing else.
pub fn simulate(
    daily_net: &[i64],
    remaining: u64,
    today: Date,
    planned_end: Date,
    seed: u64,
    runs: u32,
) -> Result<EstimatedCompletion, NoForecast> {
    if remaining == 0 {
        return Ok(completion(today, today, today, planned_end));
    }
    if daily_net.is_empty() {
        return Err(NoForecast::NoHistory);
    }
    if daily_net.iter().map(|&v| i128::from(v)).sum::<i128>() <= 0 {
        return Err(NoForecast::NoThroughput);
    }
    let runs = u64::from(runs.max(1));
    let (r50, r85, r95) = (rank(50, runs), rank(85, runs), rank(95, runs));
    // The runs that may never finish while P95 still exists.
    let never_allowed = runs - r95;
    let target = i128::from(remaining);
    let mut finished: Vec<i64> = Vec::with_capacity(runs as usize);
    let mut never = 0u64;
    for run in 0..runs {
        match first_passage(daily_net, target, run_seed(seed, run)) {
            Some(day) => finished.push(day),
            None => {
                never += 1;
                if never > never_allowed {
                    return Err(NoForecast::TooSlow);
                }
            }
        }
    }
    // Runs that never finish sort after every finished one, and P95 lies among the finished.
    finished.sort_unstable();
    let date = |r: u64| day_after(today, finished[(r - 1) as usize]);
    Ok(completion(date(r50), date(r85), date(r95), planned_end))
}

/// The seed of the forecast for these inputs: FNV-1a (64 bits) over today's Julian day,
/// `remaining` and every value of `daily_net`, little-endian. Stable across platforms, builds
/// and versions, unlike the standard library's randomly keyed hasher.
pub fn seed_for(today: Date, daily_net: &[i64], remaining: u64) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(PRIME);
        }
    };
    eat(&today.to_julian_day().to_le_bytes());
    eat(&remaining.to_le_bytes());
    eat(&(daily_net.len() as u64).to_le_bytes());
    for v in daily_net {
        eat(&v.to_le_bytes());
    }
    h
}

/// The forecast's history from per-day nets: one value per day from
/// max(`today` − [`WINDOW_DAYS`], `first_day`) to the day before `today`, oldest first; days
/// without an entry are 0 and several entries of one day add up. Entries outside the window
/// are ignored. Empty when `first_day` is today or later (the migration has not run a full
/// day). `first_day` is the plan's start.
pub fn daily_window(
    per_day: impl IntoIterator<Item = (Date, i64)>,
    today: Date,
    first_day: Date,
) -> Vec<i64> {
    let from = today
        .checked_sub(Duration::days(WINDOW_DAYS))
        .unwrap_or(Date::MIN)
        .max(first_day);
    let len = (today - from).whole_days();
    if len <= 0 {
        return Vec::new();
    }
    let mut out = vec![0i64; len as usize];
    for (day, net) in per_day {
        let i = (day - from).whole_days();
        if (0..len).contains(&i) {
            let slot = &mut out[i as usize];
            *slot = slot.saturating_add(net);
        }
    }
    out
}

fn completion(p50: Date, p85: Date, p95: Date, planned_end: Date) -> EstimatedCompletion {
    EstimatedCompletion {
        p50,
        p85,
        p95,
        planned_end,
        slip_days: (p85 - planned_end).whole_days(),
        datasets_p85: None,
        critical_path: Vec::new(),
    }
}

/// The nearest rank (from 1) of percentile `q` among `n` values: ⌈q·n/100⌉.
pub(crate) fn rank(q: u64, n: u64) -> u64 {
    (q * n).div_ceil(100).max(1)
}

pub(crate) fn day_after(today: Date, days: i64) -> Date {
    today.checked_add(Duration::days(days)).unwrap_or(Date::MAX)
}

/// The simulated day (from 1) on which one run's running total reaches `target`, or `None`
/// past the horizon. The sequence of history days drawn depends only on `seed`.
fn first_passage(daily_net: &[i64], target: i128, seed: u64) -> Option<i64> {
    let mut run = Run::new(daily_net.len(), seed);
    let mut total: i128 = 0;
    for day in 1..=HORIZON_DAYS {
        total += i128::from(daily_net[run.next_day()]);
        if total >= target {
            return Some(day);
        }
    }
    None
}

/// One simulated future: its own history (the recorded days, each given a random weight, as a
/// Bayesian bootstrap does), then a stream of days drawn from it by those weights. Which
/// recorded day each simulated day replays depends only on the seed and the history's length.
///
/// The weights are drawn as normalised exponentials (a flat Dirichlet distribution) and drawn
/// from by an alias table (Vose's method), so a draw costs one random number and one
/// comparison; [`Run::reset`] reuses the buffers for the next future.
#[derive(Debug, Default)]
pub(crate) struct Run {
    rng: SplitMix64,
    /// Per slot, the chance of keeping it rather than its alias.
    keep: Vec<f64>,
    alias: Vec<u32>,
    small: Vec<u32>,
    large: Vec<u32>,
}

impl Run {
    /// A run over a history of `len` days (at least 1).
    pub(crate) fn new(len: usize, seed: u64) -> Run {
        let mut run = Run::default();
        run.reset(len, seed);
        run
    }

    /// Starts another future over a history of `len` days (at least 1), from `seed`.
    pub(crate) fn reset(&mut self, len: usize, seed: u64) {
        self.rng = SplitMix64(seed);
        let n = len.max(1);
        self.keep.clear();
        let mut total = 0.0;
        for _ in 0..n {
            let u = ((self.rng.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
            let w = -fast_ln(u);
            total += w;
            self.keep.push(w);
        }
        // Vose's alias method over the weights scaled to a mean of 1.
        let scale = n as f64 / total;
        self.alias.clear();
        self.alias.resize(n, 0);
        self.small.clear();
        self.large.clear();
        for (i, k) in self.keep.iter_mut().enumerate() {
            *k *= scale;
            if *k < 1.0 {
                self.small.push(i as u32);
            } else {
                self.large.push(i as u32);
            }
        }
        while let (Some(&s), Some(&l)) = (self.small.last(), self.large.last()) {
            self.small.pop();
            self.alias[s as usize] = l;
            let rest = self.keep[l as usize] + self.keep[s as usize] - 1.0;
            self.keep[l as usize] = rest;
            if rest < 1.0 {
                self.large.pop();
                self.small.push(l);
            }
        }
        for &i in self.small.iter().chain(&self.large) {
            self.keep[i as usize] = 1.0;
        }
    }

    /// The recorded day the next simulated day replays.
    pub(crate) fn next_day(&mut self) -> usize {
        let r = self.rng.next();
        let n = self.keep.len() as u64;
        // The high bits pick the slot, the low 32 bits whether it keeps it.
        let slot = ((u128::from(r) * u128::from(n)) >> 64) as usize;
        let u = (r & 0xffff_ffff) as f64 / 4_294_967_296.0;
        if u < self.keep[slot] {
            slot
        } else {
            self.alias[slot] as usize
        }
    }
}

/// The natural logarithm of `x` in (0, 1], within 2e-5: enough for random weights, and
/// several times cheaper than the exact one.
fn fast_ln(x: f64) -> f64 {
    let bits = x.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i64 - 1023;
    // The mantissa as m in [1, 2), and log2(m) by a polynomial fitted by least squares
    // (within 3e-5 over the interval).
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let t = m - 1.0;
    let log2_m = t
        * (1.441_825_873
            + t * (-0.708_682_923
                + t * (0.415_424_722 + t * (-0.194_426_369 + t * 0.045_887_220))));
    (exponent as f64 + log2_m) * std::f64::consts::LN_2
}

/// Each run's own stream, so a run's draws do not depend on how long earlier runs took.
pub(crate) fn run_seed(seed: u64, run: u64) -> u64 {
    mix(seed ^ mix(run.wrapping_add(0x6a09_e667_f3bc_c909)))
}

/// SplitMix64 (Steele, Lea and Flood, 2014): small, fast, and the same on every platform.
#[derive(Debug, Default)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    #[cfg(test)]
    /// A value in `0..n` (`n` > 0), by multiplying instead of dividing (Lemire's method without
    /// the rejection step: the bias is below n / 2⁶⁴).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}

/// The SplitMix64 finaliser.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    const TODAY: Date = date!(2025 - 03 - 03);
    const END: Date = date!(2025 - 06 - 02);

    fn run(daily: &[i64], remaining: u64) -> Result<EstimatedCompletion, NoForecast> {
        simulate(daily, remaining, TODAY, END, 42, 1000)
    }

    #[test]
    fn constant_pace_finishes_on_the_same_day_in_every_future() {
        let e = run(&[10; 28], 100).expect("forecast");
        let day = date!(2025 - 03 - 13);
        assert_eq!((e.p50, e.p85, e.p95), (day, day, day));
        assert_eq!(e.planned_end, END);
        assert_eq!(e.slip_days, (day - END).whole_days());
        assert_eq!(e.slip_days, -81);
        // A part of a day's work still takes that day.
        assert_eq!(
            run(&[10; 28], 101).expect("forecast").p50,
            date!(2025 - 03 - 14)
        );
        assert_eq!(
            run(&[10; 28], 1).expect("forecast").p95,
            date!(2025 - 03 - 04)
        );
    }

    #[test]
    fn slip_is_positive_past_the_planned_end() {
        let e = simulate(&[1], 100, TODAY, date!(2025 - 05 - 01), 7, 10).expect("forecast");
        assert_eq!(e.p85, date!(2025 - 06 - 11));
        assert_eq!(e.slip_days, 41);
    }

    #[test]
    fn two_paces_spread_the_percentiles() {
        // Half the days 0, half 20: ten days of 10 on average, so the median run takes about
        // ten productive days out of twenty.
        let daily: Vec<i64> = (0..28).map(|i| if i % 2 == 0 { 0 } else { 20 }).collect();
        let e = simulate(&daily, 200, TODAY, END, 1, DEFAULT_RUNS).expect("forecast");
        let days = |d: Date| (d - TODAY).whole_days();
        assert!(
            (17..=23).contains(&days(e.p50)),
            "p50 after {} days",
            days(e.p50)
        );
        assert!(days(e.p50) < days(e.p85) && days(e.p85) < days(e.p95));
        // A month's mean of such days is itself uncertain by about a fifth, so the band is
        // wider than the day-to-day noise alone would make it, but still bounded.
        assert!(
            (26..=40).contains(&days(e.p95)),
            "p95 after {} days",
            days(e.p95)
        );
    }

    #[test]
    fn a_volatile_pace_widens_the_band() {
        // The same mean of 10 a day, steady or in bursts: the bursty history says less about
        // the next weeks, so its band is wider.
        let steady: Vec<i64> = (0..28).map(|i| 9 + (i % 3)).collect();
        let bursty: Vec<i64> = (0..28).map(|i| if i % 4 == 0 { 40 } else { 0 }).collect();
        let band = |daily: &[i64]| {
            let e = simulate(daily, 500, TODAY, END, 3, DEFAULT_RUNS).expect("forecast");
            (e.p95 - e.p50).whole_days()
        };
        assert!(band(&steady) <= 3, "steady band {}", band(&steady));
        assert!(
            band(&bursty) >= 4 * band(&steady).max(1),
            "bursty band {}",
            band(&bursty)
        );
    }

    #[test]
    fn no_history_no_throughput_and_too_slow_give_no_date() {
        assert_eq!(run(&[], 10), Err(NoForecast::NoHistory));
        assert_eq!(run(&[0; 28], 10), Err(NoForecast::NoThroughput));
        assert_eq!(run(&[5, -5], 10), Err(NoForecast::NoThroughput));
        assert_eq!(run(&[3, -4, 0], 10), Err(NoForecast::NoThroughput));
        // One dataset every 28 days: 412 datasets take about 32 years.
        let mut slow = vec![0; 28];
        slow[3] = 1;
        assert_eq!(run(&slow, 412), Err(NoForecast::TooSlow));
    }

    #[test]
    fn nothing_remaining_is_done_today_even_without_history() {
        for daily in [&[][..], &[0, 0][..], &[-3][..], &[10][..]] {
            let e = run(daily, 0).expect("done");
            assert_eq!((e.p50, e.p85, e.p95), (TODAY, TODAY, TODAY));
            assert_eq!(e.slip_days, (TODAY - END).whole_days());
        }
    }

    #[test]
    fn rollback_days_slow_the_forecast_down() {
        let with: Vec<i64> = (0..28).map(|i| if i % 7 == 3 { -10 } else { 10 }).collect();
        let e = run(&with, 100).expect("forecast");
        assert!(e.p50 > date!(2025 - 03 - 13));
    }

    #[test]
    fn serializes_dates_as_days() {
        let e = run(&[10; 28], 100).expect("forecast");
        let json = serde_json::to_value(e).expect("json");
        assert_eq!(
            json,
            serde_json::json!({
                "p50": "2025-03-13", "p85": "2025-03-13", "p95": "2025-03-13",
                "planned_end": "2025-06-02", "slip_days": -81
            })
        );
    }

    #[test]
    fn seed_is_stable_and_depends_on_every_input() {
        let s = seed_for(TODAY, &[1, 2, 3], 10);
        // Pinned: the seed must not change between builds, platforms or versions, or the same
        // store would forecast different dates after an upgrade. (FNV-1a of Julian day 2460738,
        // 10, 3, 1, 2, 3 as little-endian i32, u64, u64, i64 × 3, checked with Python.)
        assert_eq!(s, seed_for(TODAY, &[1, 2, 3], 10));
        assert_eq!(s, 0x981e_175d_8607_a997);
        assert_ne!(s, seed_for(TODAY.next_day().expect("day"), &[1, 2, 3], 10));
        assert_ne!(s, seed_for(TODAY, &[1, 2, 4], 10));
        assert_ne!(s, seed_for(TODAY, &[1, 2, 3], 11));
        assert_ne!(s, seed_for(TODAY, &[1, 2, 3, 0], 10));
    }

    #[test]
    fn forecast_uses_the_derived_seed() {
        let daily = [3, 0, 7, 1, 0, 12, 5];
        assert_eq!(
            forecast(&daily, 150, TODAY, END),
            simulate(
                &daily,
                150,
                TODAY,
                END,
                seed_for(TODAY, &daily, 150),
                DEFAULT_RUNS
            )
        );
    }

    #[test]
    fn window_covers_the_full_days_before_today_from_the_plan_start() {
        let per_day = [
            (date!(2025 - 02 - 02), 100), // before the window
            (date!(2025 - 02 - 03), 4),   // first day of the window
            (date!(2025 - 02 - 03), -1),
            (date!(2025 - 03 - 02), 9), // yesterday: last day
            (TODAY, 50),                // today: not over, left out
        ];
        let w = daily_window(per_day, TODAY, date!(2025 - 01 - 06));
        assert_eq!(w.len(), 28);
        assert_eq!(w[0], 3);
        assert_eq!(w[27], 9);
        assert_eq!(w[1..27].iter().sum::<i64>(), 0);
        // A plan that started three days ago: three days of history.
        assert_eq!(
            daily_window(per_day, TODAY, date!(2025 - 02 - 28)),
            vec![0, 0, 9]
        );
        assert!(daily_window(per_day, TODAY, TODAY).is_empty());
        assert!(daily_window(per_day, TODAY, date!(2025 - 04 - 01)).is_empty());
    }

    #[test]
    fn nearest_rank() {
        assert_eq!(rank(50, 10_000), 5_000);
        assert_eq!(rank(85, 10_000), 8_500);
        assert_eq!(rank(95, 10_000), 9_500);
        assert_eq!(rank(95, 1), 1);
        assert_eq!(rank(50, 3), 2);
        assert_eq!(rank(95, 10), 10);
    }

    #[test]
    fn the_fast_logarithm_is_close_enough() {
        for i in 1..1000 {
            let x = f64::from(i) / 1000.0;
            assert!((fast_ln(x) - x.ln()).abs() < 3e-5, "{x}");
        }
        assert!((fast_ln(1e-15) - 1e-15f64.ln()).abs() < 3e-5);
    }

    #[test]
    fn a_run_draws_days_by_its_weights() {
        // Over many futures every recorded day is drawn about as often: the weights average out.
        let mut seen = [0u32; 7];
        let mut run = Run::default();
        for seed in 0..2000 {
            run.reset(7, seed);
            for _ in 0..35 {
                seen[run.next_day()] += 1;
            }
        }
        assert!(
            seen.iter().all(|&c| (9_400..10_600).contains(&c)),
            "{seen:?}"
        );
        // One future favours some days: its draws follow its own weights.
        run.reset(7, 5);
        let mut mine = [0u32; 7];
        for _ in 0..70_000 {
            mine[run.next_day()] += 1;
        }
        let expected: Vec<f64> = (0..7)
            .map(|i| {
                let k = run.keep[i];
                let from_alias: f64 = (0..7)
                    .filter(|&j| run.alias[j] as usize == i && j != i)
                    .map(|j| 1.0 - run.keep[j])
                    .sum();
                (k + from_alias) / 7.0 * 70_000.0
            })
            .collect();
        for (got, want) in mine.iter().zip(&expected) {
            assert!(
                (f64::from(*got) - want).abs() < 5.0 * want.sqrt() + 50.0,
                "{mine:?} {expected:?}"
            );
        }
    }

    #[test]
    fn draws_cover_the_history_evenly() {
        let mut rng = SplitMix64(9);
        let mut seen = [0u32; 7];
        for _ in 0..70_000 {
            seen[rng.below(7) as usize] += 1;
        }
        assert!(
            seen.iter().all(|&c| (9_500..10_500).contains(&c)),
            "{seen:?}"
        );
    }

    fn history() -> impl Strategy<Value = Vec<i64>> {
        prop::collection::vec(-20i64..60, 1..=28)
    }

    fn dates(e: &EstimatedCompletion) -> [Date; 3] {
        [e.p50, e.p85, e.p95]
    }

    /// Checks that `more` (pointwise at least `less`) never forecasts later.
    fn never_later(
        less: Result<EstimatedCompletion, NoForecast>,
        more: Result<EstimatedCompletion, NoForecast>,
    ) -> Result<(), TestCaseError> {
        match (less, more) {
            (Ok(a), Ok(b)) => {
                for (x, y) in dates(&a).into_iter().zip(dates(&b)) {
                    prop_assert!(y <= x, "{y} is later than {x}");
                }
            }
            (Ok(a), Err(e)) => prop_assert!(false, "more throughput lost the forecast {a:?}: {e}"),
            (Err(_), _) => {}
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Adding throughput to any days never gives a later date.
        #[test]
        fn more_throughput_is_never_later(
            daily in history(),
            extra in prop::collection::vec(0i64..30, 28),
            remaining in 1u64..500,
            seed in any::<u64>(),
        ) {
            let more: Vec<i64> = daily.iter().zip(&extra).map(|(d, e)| d + e).collect();
            never_later(
                simulate(&daily, remaining, TODAY, END, seed, 300),
                simulate(&more, remaining, TODAY, END, seed, 300),
            )?;
        }

        /// Multiplying a history without rollback days by k ≥ 1 never gives a later date.
        #[test]
        fn scaled_throughput_is_never_later(
            daily in prop::collection::vec(0i64..40, 1..=28),
            k in 1i64..5,
            remaining in 1u64..500,
            seed in any::<u64>(),
        ) {
            let more: Vec<i64> = daily.iter().map(|d| d * k).collect();
            never_later(
                simulate(&daily, remaining, TODAY, END, seed, 300),
                simulate(&more, remaining, TODAY, END, seed, 300),
            )?;
        }

        /// Less left to migrate never gives a later date.
        #[test]
        fn less_remaining_is_never_later(
            daily in history(),
            remaining in 1u64..500,
            fewer in 0u64..500,
            seed in any::<u64>(),
        ) {
            never_later(
                simulate(&daily, remaining, TODAY, END, seed, 300),
                simulate(&daily, remaining.saturating_sub(fewer), TODAY, END, seed, 300),
            )?;
        }

        /// A history without positive net throughput gives no date.
        #[test]
        fn zero_throughput_gives_no_date(
            daily in prop::collection::vec(-20i64..=0, 0..=28),
            remaining in 1u64..500,
            seed in any::<u64>(),
        ) {
            prop_assert!(simulate(&daily, remaining, TODAY, END, seed, 100).is_err());
        }

        /// The percentiles are ordered, never before today, and the slip is P85's.
        #[test]
        fn percentiles_are_ordered(
            daily in history(),
            remaining in 0u64..500,
            seed in any::<u64>(),
        ) {
            if let Ok(e) = simulate(&daily, remaining, TODAY, END, seed, 300) {
                prop_assert!(TODAY <= e.p50 && e.p50 <= e.p85 && e.p85 <= e.p95);
                prop_assert_eq!(e.slip_days, (e.p85 - END).whole_days());
                prop_assert_eq!(e.planned_end, END);
                prop_assert_eq!(remaining == 0, e.p95 == TODAY);
            }
        }

        /// The same inputs give the same answer.
        #[test]
        fn deterministic(daily in history(), remaining in 0u64..500) {
            prop_assert_eq!(
                forecast(&daily, remaining, TODAY, END),
                forecast(&daily, remaining, TODAY, END)
            );
        }

        /// Nothing left is today, whatever the history.
        #[test]
        fn nothing_remaining_is_today(
            daily in prop::collection::vec(any::<i64>(), 0..=28),
            seed in any::<u64>(),
        ) {
            let e = simulate(&daily, 0, TODAY, END, seed, 10).expect("done");
            prop_assert_eq!(dates(&e), [TODAY; 3]);
        }
    }
}
