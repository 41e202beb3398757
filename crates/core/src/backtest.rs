//! Is the completion forecast to be trusted? The back-test replays the history as of each past
//! day, forecasts from what was known then, and compares with what happened.
//!
//! The rules, so a user can tell what the figures mean:
//!
//! - **Target.** A migration still under way has no completion date to compare with, so the
//!   back-test forecasts a date that is known: the day the count of migrated datasets first
//!   reached its value of today (for a finished migration, the day it was finished).
//! - **As of the end of each day** from the seventh day of history (a week to learn the pace
//!   from) to the day before that date: the forecast of [`crate::forecast`] with the history as
//!   it was (the last four weeks up to that day) and the datasets still to go to the target
//!   then (counted back from today, as [`crate::history`] does), replayed from the next day.
//! - **Coverage** of P50, P85 and P95: the share of those days on which the target was in fact
//!   reached on or before that percentile's date (a calibrated forecast covers about 50, 85 and
//!   95 %). **Error**: the P50 date minus the actual date, in days — its mean (the bias:
//!   positive is pessimistic) and its mean absolute value.

use serde::Serialize;
use time::{Date, Duration};

use crate::forecast::{self, NoForecast, ymd};
use crate::history::History;

/// Days of history a back-tested forecast needs at least.
pub const MIN_HISTORY_DAYS: i64 = 7;

/// One day of the back-test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Replayed {
    /// The day the forecast is made as of.
    #[serde(with = "ymd")]
    pub as_of: Date,
    /// Datasets to go to the target then.
    pub remaining: u64,
    /// The forecast then (`None` when none could be made).
    pub forecast: Option<(Date, Date, Date)>,
}

/// The back-test of one history (see the module's rules).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    /// The count of migrated datasets forecast.
    pub target: u64,
    /// The day it was reached.
    #[serde(with = "ymd::option")]
    pub reached: Option<Date>,
    /// Each day replayed, oldest first.
    pub days: Vec<Replayed>,
    /// Days with a forecast.
    pub forecasts: usize,
    /// Share of them whose P50, P85 and P95 dates were on or after the actual date.
    pub coverage: Coverage,
    /// Mean of P50 − actual, in days (positive: the forecast was late, pessimistic).
    pub mean_error_days: f64,
    /// Mean of |P50 − actual|, in days.
    pub mean_abs_error_days: f64,
}

/// Shares of forecasts that covered what happened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Coverage {
    /// By P50 (calibrated: about 0.5).
    pub p50: f64,
    /// By P85 (about 0.85).
    pub p85: f64,
    /// By P95 (about 0.95).
    pub p95: f64,
}

/// The back-test of `history` (net per day up to today), `migrated_now` datasets migrated
/// today, the plan starting on `start`, `runs` futures per forecast. `None` when there is
/// nothing to test: no history, or the count was never reached after a week of history.
pub fn backtest(history: &History, start: Date, migrated_now: u64, runs: u32) -> Option<Backtest> {
    let first = history.first_day?;
    let today = history.last_day()?;
    if migrated_now == 0 {
        return None;
    }
    let target = migrated_now;
    let reached = history.first_day_where(None, migrated_now, today, |m| m >= target)?;
    let begin = first.max(start) + Duration::days(MIN_HISTORY_DAYS - 1);
    let as_of: Vec<Date> = std::iter::successors(Some(begin), |d| d.next_day())
        .take_while(|d| *d < reached)
        .collect();
    // Each day is forecast on its own: shared among the cores, kept in order.
    let replay = |day: Date| -> Replayed {
        // As of the end of `day`: the four weeks up to it, and what was migrated by then.
        let window = history.window(None, day.next_day().unwrap_or(day), start);
        let had = history.migrated_at(None, day, migrated_now);
        let remaining = target.saturating_sub(had);
        let seed = forecast::seed_for(day, &window, remaining);
        let f = match forecast::simulate(&window, remaining, day, day, seed, runs) {
            Ok(e) => Some((e.p50, e.p85, e.p95)),
            Err(NoForecast::NoHistory | NoForecast::NoThroughput | NoForecast::TooSlow) => None,
        };
        Replayed {
            as_of: day,
            remaining,
            forecast: f,
        }
    };
    let parts = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let chunk = as_of.len().div_ceil(parts).max(1);
    let days: Vec<Replayed> = std::thread::scope(|scope| {
        let handles: Vec<_> = as_of
            .chunks(chunk)
            .map(|days| scope.spawn(move || days.iter().map(|d| replay(*d)).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    Some(score(target, Some(reached), days))
}

/// Coverage and errors of replayed days against the day the target was reached.
pub fn score(target: u64, reached: Option<Date>, days: Vec<Replayed>) -> Backtest {
    let mut n = 0usize;
    let (mut c50, mut c85, mut c95) = (0usize, 0usize, 0usize);
    let (mut err, mut abs) = (0.0, 0.0);
    if let Some(actual) = reached {
        for (p50, p85, p95) in days.iter().filter_map(|d| d.forecast) {
            n += 1;
            c50 += usize::from(actual <= p50);
            c85 += usize::from(actual <= p85);
            c95 += usize::from(actual <= p95);
            let e = (p50 - actual).whole_days() as f64;
            err += e;
            abs += e.abs();
        }
    }
    let share = |c: usize| if n == 0 { 0.0 } else { c as f64 / n as f64 };
    Backtest {
        target,
        reached,
        forecasts: n,
        coverage: Coverage {
            p50: share(c50),
            p85: share(c85),
            p95: share(c95),
        },
        mean_error_days: if n == 0 { 0.0 } else { err / n as f64 },
        mean_abs_error_days: if n == 0 { 0.0 } else { abs / n as f64 },
        days,
    }
}

/// Back-tests taken together: the shares over all their forecasts.
pub fn pooled(tests: &[Backtest]) -> (usize, Coverage, f64, f64) {
    let n: usize = tests.iter().map(|t| t.forecasts).sum();
    if n == 0 {
        return (0, Coverage::default(), 0.0, 0.0);
    }
    let w = |f: &dyn Fn(&Backtest) -> f64| {
        tests.iter().map(|t| f(t) * t.forecasts as f64).sum::<f64>() / n as f64
    };
    (
        n,
        Coverage {
            p50: w(&|t| t.coverage.p50),
            p85: w(&|t| t.coverage.p85),
            p95: w(&|t| t.coverage.p95),
        },
        w(&|t| t.mean_error_days),
        w(&|t| t.mean_abs_error_days),
    )
}

/// Simulated migrations whose pace changes, for the back-test to be measured on: each is net
/// datasets per day, from its first day; seeded, so the same corpus every time.
pub mod corpus {
    /// A small deterministic generator (SplitMix64).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }

        /// A Poisson draw of mean `lambda` (Knuth's method: small means only).
        fn poisson(&mut self, lambda: f64) -> i64 {
            if lambda <= 0.0 {
                return 0;
            }
            let l = (-lambda).exp();
            let (mut k, mut p) = (0i64, 1.0);
            loop {
                p *= self.unit();
                if p <= l {
                    return k;
                }
                k += 1;
            }
        }
    }

    /// The kinds of migration in the corpus.
    pub const KINDS: [&str; 6] = [
        "steady",
        "speed-up",
        "stall",
        "rollback storm",
        "late start",
        "weekends off",
    ];

    /// One simulated migration of `kind` (one of [`KINDS`]) over `days` days, from `seed`.
    pub fn migration(kind: &str, days: usize, seed: u64) -> Vec<i64> {
        let mut rng = Rng(seed ^ 0x2545_f491_4f6c_dd1d);
        let base = 2.0 + rng.unit() * 4.0;
        (0..days)
            .map(|d| {
                let t = d as f64 / days as f64;
                let mean = match kind {
                    "speed-up" => base * if t < 0.5 { 0.6 } else { 1.6 },
                    "stall" => {
                        if (0.4..0.55).contains(&t) {
                            0.1
                        } else {
                            base
                        }
                    }
                    "late start" => {
                        if t < 0.25 {
                            0.2
                        } else {
                            base * 1.2
                        }
                    }
                    "weekends off" => {
                        if d % 7 >= 5 {
                            0.0
                        } else {
                            base * 1.4
                        }
                    }
                    _ => base,
                };
                let mut net = rng.poisson(mean);
                if kind == "rollback storm" && (0.6..0.65).contains(&t) {
                    net -= rng.poisson(base * 2.0);
                }
                net
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::MigrationDay;
    use time::macros::date;

    const START: Date = date!(2025 - 01 - 06);

    fn history(net: &[i64]) -> (History, u64) {
        let days: Vec<MigrationDay> = net
            .iter()
            .enumerate()
            .map(|(i, &n)| MigrationDay {
                day: START + Duration::days(i as i64),
                component: None,
                migrations: n.max(0) as u64,
                rollbacks: (-n).max(0) as u64,
            })
            .collect();
        let today = START + Duration::days(net.len() as i64 - 1);
        let total = net.iter().sum::<i64>().max(0) as u64;
        (History::new(&days, START, today), total)
    }

    #[test]
    fn a_steady_pace_is_forecast_on_the_day() {
        let (h, total) = history(&[5; 60]);
        let b = backtest(&h, START, total, 200).expect("a back-test");
        assert_eq!(b.target, 300);
        assert_eq!(b.reached, Some(START + Duration::days(59)));
        assert!(b.forecasts > 40);
        // Every day forecasts exactly the right day.
        assert_eq!(b.coverage.p50, 1.0);
        assert_eq!(b.mean_abs_error_days, 0.0);
    }

    #[test]
    fn nothing_to_test_without_history() {
        assert!(backtest(&History::default(), START, 0, 100).is_none());
        let (h, _) = history(&[0; 30]);
        assert!(backtest(&h, START, 0, 100).is_none());
    }

    /// The forecast is calibrated on the seeded corpus of migrations whose pace changes: its
    /// P50, P85 and P95 cover what happened about as often as they say. A steady pace is
    /// forecast within days; a pace that is about to change cannot be, and the band says so.
    #[test]
    fn the_forecast_is_calibrated_on_the_simulated_corpus() {
        let mut tests = Vec::new();
        let mut steady = Vec::new();
        for (k, kind) in corpus::KINDS.iter().enumerate() {
            for s in 0..3u64 {
                let net = corpus::migration(kind, 100, s * 31 + k as u64);
                let (h, total) = history(&net);
                if let Some(b) = backtest(&h, START, total, 400) {
                    if *kind == "steady" {
                        steady.push(b.clone());
                    }
                    tests.push(b);
                }
            }
        }
        let (n, c, _, _) = pooled(&tests);
        assert!(n > 1000, "{n} forecasts");
        assert!((0.45..=0.75).contains(&c.p50), "P50 covers {:.2}", c.p50);
        assert!((0.78..=0.95).contains(&c.p85), "P85 covers {:.2}", c.p85);
        assert!((0.88..=1.0).contains(&c.p95), "P95 covers {:.2}", c.p95);
        let (_, _, bias, abs) = pooled(&steady);
        assert!(bias.abs() < 4.0, "steady: bias {bias:.1} days");
        assert!(abs < 6.0, "steady: mean error {abs:.1} days");
    }
}
