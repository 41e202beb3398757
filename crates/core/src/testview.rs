//! The test results view (DESIGN §3.6): per suite, the latest run's counts, pass rate and
//! status, the trend of its last runs, the tests failing now with their current streak, and the
//! flaky tests.
//!
//! The rules, so a user can tell why the dashboard says what it says:
//!
//! - **Runs** are grouped by `suite`. Within a suite they are ordered by `run_at`; runs at the
//!   same instant keep the order they were given in. The *latest run* is the last one.
//! - **`results`** are the latest run's cases counted by [`crate::testrun::Totals`] (`failed`
//!   counts failures and errors, `errors` the errors alone), never the report's summary
//!   attributes; `duration` is the run's duration in seconds.
//! - **`pass_rate`** is the latest run's passed / (total − skipped) × 100; `null` when no case
//!   ran (no cases, or all skipped).
//! - **`status`**, from the latest run's pass ratio and the plan's thresholds: `passing` when
//!   it is at least `test_pass_warning` (0.95 by default), `warning` when at least
//!   `test_pass_critical` (0.85), `failing` below; `no_tests` when no case ran — an empty run
//!   is neither good nor bad news, so it gets its own name rather than a guess.
//! - **`trend`** is the pass rate (in %) of each of the last [`TREND_RUNS`] runs, oldest
//!   first; `null` for a run in which no case ran, so the points stay aligned with the runs.
//! - **A test** is identified across runs by (`classname`, `name`). When one run holds the same
//!   test several times, its outcome in that run is the worst of them: error, then failed,
//!   then passed, then skipped.
//! - **`failing_tests`** are the tests that failed or errored in the latest run. Going back
//!   from the latest run, each run in which the test failed or errored extends its *streak*; the
//!   first run in which it passed ends it; runs in which it was skipped or absent neither
//!   extend nor end it (a test disabled for a while has not been fixed). `first_failed` is the
//!   `run_at` of the oldest run of the streak and `attempts` the number of runs in it. The
//!   streak reaches only as far back as the runs given. `error` is the message of the latest
//!   failure (empty when the report gave none); `status` beside says whether it was a failure
//!   or an error. They are listed longest-failing first (oldest `first_failed`), then by name.
//! - **`flaky_tests`**: over the last [`TREND_RUNS`] runs, take the test's outcomes in the runs
//!   where it ran (passed, or failed/errored; skipped and absent runs are left out). A *flip*
//!   is a change between passed and failed from one such outcome to the next; a test with at
//!   least [`FLAKY_MIN_FLIPS`] flips is flaky. `last_status` is its status in the latest of
//!   those runs in which it appears (skipped included). They are listed most flips first, then
//!   by name.
//! - **Suites** are sorted by name.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use serde::Serialize;
use time::OffsetDateTime;

use crate::plan::Thresholds;
use crate::testrun::{TestCase, TestRun, TestStatus};

/// How many of a suite's latest runs make its trend and are searched for flaky tests.
pub const TREND_RUNS: usize = 10;
/// Flips between passed and failed that make a test flaky.
pub const FLAKY_MIN_FLIPS: u32 = 2;

/// A suite's status, from its latest run's pass rate (see the module's rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SuiteStatus {
    /// ✓ The pass rate is at least the plan's `test_pass_warning`.
    Passing,
    /// ⚠ The pass rate is under `test_pass_warning` but at least `test_pass_critical`.
    Warning,
    /// ✗ The pass rate is under `test_pass_critical`.
    Failing,
    /// No case ran in the latest run (none, or all skipped): there is no pass rate.
    NoTests,
}

impl SuiteStatus {
    /// The name used in JSON: `passing`, `warning`, `failing`, `no_tests`.
    pub fn as_str(self) -> &'static str {
        match self {
            SuiteStatus::Passing => "passing",
            SuiteStatus::Warning => "warning",
            SuiteStatus::Failing => "failing",
            SuiteStatus::NoTests => "no_tests",
        }
    }

    /// The status of a pass ratio (0..=1, `None` when nothing ran) under the plan's thresholds.
    pub fn of(pass_ratio: Option<f64>, thresholds: &Thresholds) -> SuiteStatus {
        match pass_ratio {
            None => SuiteStatus::NoTests,
            Some(r) if r >= thresholds.test_pass_warning => SuiteStatus::Passing,
            Some(r) if r >= thresholds.test_pass_critical => SuiteStatus::Warning,
            Some(_) => SuiteStatus::Failing,
        }
    }
}

/// The latest run's counts (the specification's `results`, plus `errors`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SuiteResults {
    /// All cases.
    pub total: u64,
    /// Cases that passed.
    pub passed: u64,
    /// Cases that failed or errored.
    pub failed: u64,
    /// Cases that were skipped.
    pub skipped: u64,
    /// Seconds the run took.
    pub duration: f64,
    /// Cases that errored, alone (also counted in `failed`).
    pub errors: u64,
}

/// A test failing in the latest run (the specification's `FailingTest`, plus `status`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FailingTest {
    /// `classname::name`, or `name` when the report gave no class.
    pub name: String,
    /// The message of the latest failure; empty when the report gave none.
    pub error: String,
    /// When the current failing streak began: the `run_at` of its oldest run.
    #[serde(with = "time::serde::rfc3339")]
    pub first_failed: OffsetDateTime,
    /// Runs in the current failing streak (at least 1).
    pub attempts: u64,
    /// The issue tracking this failure; not linked yet, always `null`.
    pub related_issue: Option<String>,
    /// Whether the latest failure was a failure or an error.
    pub status: TestStatus,
}

/// A test that flipped between passed and failed at least [`FLAKY_MIN_FLIPS`] times in the
/// last [`TREND_RUNS`] runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlakyTest {
    /// `classname::name`, or `name` when the report gave no class.
    pub name: String,
    /// Changes between passed and failed from one run in which it ran to the next.
    pub flips: u32,
    /// Its status in the latest of those runs in which it appears.
    pub last_status: TestStatus,
}

/// One suite of the test results view (the specification's `TestSuite`, plus the fields after
/// `trend`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TestSuite {
    /// The suite's name.
    pub name: String,
    /// The plan's phase, as named by the latest run that names one.
    pub phase: Option<String>,
    /// When the latest run happened.
    #[serde(with = "time::serde::rfc3339")]
    pub last_run: OffsetDateTime,
    /// The latest run's counts.
    pub results: SuiteResults,
    /// Tests failing in the latest run, longest-failing first.
    pub failing_tests: Vec<FailingTest>,
    /// Pass rate in % of each of the last [`TREND_RUNS`] runs, oldest first; `null` where no
    /// case ran.
    pub trend: Vec<Option<f64>>,
    /// Passing, warning, failing or no tests.
    pub status: SuiteStatus,
    /// The latest run's pass rate in % (passed / (total − skipped) × 100); `null` when no case
    /// ran.
    pub pass_rate: Option<f64>,
    /// Flaky tests, most flips first.
    pub flaky_tests: Vec<FlakyTest>,
    /// The plan's component, as named by the latest run that names one.
    pub component: Option<String>,
    /// How many runs of the suite were given.
    pub runs: u64,
    /// How the pass rate and the status were made, with their inputs.
    pub explain: String,
}

/// The whole test results view.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TestsView {
    /// Every suite, by name.
    pub suites: Vec<TestSuite>,
    /// Failing tests over all suites.
    pub failing_total: u64,
    /// Flaky tests over all suites.
    pub flaky_total: u64,
}

/// The test results view of the given runs, in any order and of any suites (see the module's
/// rules). Give at least the last [`TREND_RUNS`] runs of each suite; older runs only let a
/// failing streak reach further back.
pub fn tests_view(runs: &[TestRun], thresholds: &Thresholds) -> TestsView {
    let mut by_suite: BTreeMap<&str, Vec<&TestRun>> = BTreeMap::new();
    for run in runs {
        by_suite.entry(run.suite.as_str()).or_default().push(run);
    }
    let suites: Vec<TestSuite> = by_suite
        .into_iter()
        .filter_map(|(name, mut runs)| {
            // A stable sort: runs at the same instant keep the order given.
            runs.sort_by_key(|r| r.run_at);
            suite(name, &runs, thresholds)
        })
        .collect();
    TestsView {
        failing_total: suites.iter().map(|s| s.failing_tests.len() as u64).sum(),
        flaky_total: suites.iter().map(|s| s.flaky_tests.len() as u64).sum(),
        suites,
    }
}

/// One test's identity across runs: (classname, name).
type TestId<'a> = (Option<&'a str>, &'a str);

/// One test's outcome in one run: the worst of its cases, with that case's message.
#[derive(Clone, Copy)]
struct Outcome<'a> {
    status: TestStatus,
    message: Option<&'a str>,
}

/// Orders outcomes from best to worst, so duplicates of one test keep the worst.
fn severity(s: TestStatus) -> u8 {
    match s {
        TestStatus::Skipped => 0,
        TestStatus::Passed => 1,
        TestStatus::Failed => 2,
        TestStatus::Error => 3,
    }
}

fn is_failure(s: TestStatus) -> bool {
    matches!(s, TestStatus::Failed | TestStatus::Error)
}

/// Each test's outcome in one run.
fn outcomes(cases: &[TestCase]) -> BTreeMap<TestId<'_>, Outcome<'_>> {
    let mut out: BTreeMap<TestId<'_>, Outcome<'_>> = BTreeMap::new();
    for c in cases {
        let new = Outcome {
            status: c.status,
            message: c.message.as_deref(),
        };
        out.entry((c.classname.as_deref(), c.name.as_str()))
            .and_modify(|o| {
                if severity(new.status) > severity(o.status) {
                    *o = new;
                }
            })
            .or_insert(new);
    }
    out
}

fn display_name((classname, name): TestId<'_>) -> String {
    match classname {
        Some(c) if !c.is_empty() => format!("{c}::{name}"),
        _ => name.to_owned(),
    }
}

/// One suite from its runs, oldest first; `None` when there are none.
fn suite(name: &str, runs: &[&TestRun], thresholds: &Thresholds) -> Option<TestSuite> {
    let latest = *runs.last()?;
    let totals = latest.totals();
    let outcomes: Vec<_> = runs.iter().map(|r| outcomes(&r.cases)).collect();
    let recent_from = runs.len().saturating_sub(TREND_RUNS);

    let pass_ratio = totals.pass_rate();
    let status = SuiteStatus::of(pass_ratio, thresholds);
    let explain = match pass_ratio {
        Some(p) => format!(
            "{} of the {} cases that ran passed ({}) in the run of {}, {} skipped; a suite \
             passing at least {} is passing, at least {} a warning, less failing.",
            totals.passed,
            totals.total - totals.skipped,
            crate::format::percent(p),
            crate::format::datetime(latest.run_at),
            totals.skipped,
            crate::format::percent(thresholds.test_pass_warning),
            crate::format::percent(thresholds.test_pass_critical),
        ),
        None => format!(
            "No case ran in the run of {} ({} skipped): no pass rate.",
            crate::format::datetime(latest.run_at),
            totals.skipped
        ),
    };
    Some(TestSuite {
        name: name.to_owned(),
        phase: runs.iter().rev().find_map(|r| r.phase.clone()),
        last_run: latest.run_at,
        results: SuiteResults {
            total: totals.total,
            passed: totals.passed,
            failed: totals.failed,
            skipped: totals.skipped,
            duration: latest.duration,
            errors: totals.errors,
        },
        failing_tests: failing_tests(runs, &outcomes),
        trend: runs[recent_from..]
            .iter()
            .map(|r| r.pass_rate().map(|p| p * 100.0))
            .collect(),
        status,
        pass_rate: pass_ratio.map(|p| p * 100.0),
        flaky_tests: flaky_tests(&outcomes[recent_from..]),
        component: runs.iter().rev().find_map(|r| r.component.clone()),
        runs: runs.len() as u64,
        explain,
    })
}

/// The tests failing in the last run, with their streaks (see the module's rules).
fn failing_tests(
    runs: &[&TestRun],
    outcomes: &[BTreeMap<TestId<'_>, Outcome<'_>>],
) -> Vec<FailingTest> {
    let Some(latest) = outcomes.last() else {
        return Vec::new();
    };
    let mut out: Vec<FailingTest> = latest
        .iter()
        .filter(|(_, o)| is_failure(o.status))
        .map(|(id, o)| {
            let mut first_failed = runs[runs.len() - 1].run_at;
            let mut attempts = 0;
            for (run, run_outcomes) in runs.iter().zip(outcomes).rev() {
                match run_outcomes.get(id).map(|o| o.status) {
                    Some(s) if is_failure(s) => {
                        first_failed = run.run_at;
                        attempts += 1;
                    }
                    Some(TestStatus::Passed) => break,
                    // Skipped or absent: neither extends nor ends the streak.
                    _ => {}
                }
            }
            FailingTest {
                name: display_name(*id),
                error: o.message.unwrap_or_default().to_owned(),
                first_failed,
                attempts,
                related_issue: None,
                status: o.status,
            }
        })
        .collect();
    out.sort_by(|a, b| (a.first_failed, &a.name).cmp(&(b.first_failed, &b.name)));
    out
}

/// The flaky tests of the given runs' outcomes, oldest first (see the module's rules).
fn flaky_tests(outcomes: &[BTreeMap<TestId<'_>, Outcome<'_>>]) -> Vec<FlakyTest> {
    struct Seen {
        last_ran_failed: Option<bool>,
        flips: u32,
        last_status: TestStatus,
    }
    let mut seen: BTreeMap<TestId<'_>, Seen> = BTreeMap::new();
    for run in outcomes {
        for (id, o) in run {
            let s = seen.entry(*id).or_insert(Seen {
                last_ran_failed: None,
                flips: 0,
                last_status: o.status,
            });
            s.last_status = o.status;
            if o.status == TestStatus::Skipped {
                continue;
            }
            let failed = is_failure(o.status);
            if s.last_ran_failed.is_some_and(|prev| prev != failed) {
                s.flips += 1;
            }
            s.last_ran_failed = Some(failed);
        }
    }
    let mut out: Vec<FlakyTest> = seen
        .into_iter()
        .filter(|(_, s)| s.flips >= FLAKY_MIN_FLIPS)
        .map(|(id, s)| FlakyTest {
            name: display_name(id),
            flips: s.flips,
            last_status: s.last_status,
        })
        .collect();
    out.sort_by(|a, b| (Reverse(a.flips), &a.name).cmp(&(Reverse(b.flips), &b.name)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2025-03-03 09:00 UTC);

    fn case(
        classname: Option<&str>,
        name: &str,
        status: TestStatus,
        msg: Option<&str>,
    ) -> TestCase {
        TestCase {
            name: name.to_owned(),
            classname: classname.map(str::to_owned),
            status,
            time: Some(0.5),
            message: msg.map(str::to_owned),
        }
    }

    /// A run of `suite` on day `day` after T0, one case per (name, status); names are `a`, `b`,
    /// … without a class.
    fn run(suite: &str, day: i64, statuses: &[(&str, TestStatus)]) -> TestRun {
        let cases: Vec<TestCase> = statuses
            .iter()
            .map(|(n, s)| {
                let msg = is_failure(*s).then(|| format!("{n} broke on day {day}"));
                case(None, n, *s, msg.as_deref())
            })
            .collect();
        TestRun {
            suite: suite.to_owned(),
            phase: Some("tests".into()),
            component: None,
            run_at: T0 + Duration::days(day),
            duration: TestRun::duration_of(&cases, Some(30.0)),
            cases,
        }
    }

    fn view(runs: &[TestRun]) -> TestsView {
        tests_view(runs, &Thresholds::default())
    }

    use TestStatus::{Error as E, Failed as F, Passed as P, Skipped as S};

    #[test]
    fn no_runs_no_suites() {
        let v = view(&[]);
        assert!(v.suites.is_empty());
        assert_eq!((v.failing_total, v.flaky_total), (0, 0));
    }

    #[test]
    fn one_run() {
        let v = view(&[run("unit", 0, &[("a", P), ("b", F), ("c", E), ("d", S)])]);
        let s = &v.suites[0];
        assert_eq!(s.name, "unit");
        assert_eq!(s.phase.as_deref(), Some("tests"));
        assert_eq!(s.last_run, T0);
        assert_eq!(
            s.results,
            SuiteResults {
                total: 4,
                passed: 1,
                failed: 2,
                skipped: 1,
                duration: 30.0,
                errors: 1
            }
        );
        // 1 passed of the 3 that ran.
        let third = 1.0 / 3.0 * 100.0;
        assert_eq!(s.pass_rate, Some(third));
        assert_eq!(s.trend, vec![Some(third)]);
        assert_eq!(s.status, SuiteStatus::Failing);
        let names: Vec<_> = s.failing_tests.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["b", "c"]);
        assert_eq!(s.failing_tests[1].status, TestStatus::Error);
        assert_eq!(s.failing_tests[0].error, "b broke on day 0");
        assert!(
            s.failing_tests
                .iter()
                .all(|f| f.attempts == 1 && f.first_failed == T0)
        );
        assert!(s.flaky_tests.is_empty());
        assert_eq!(v.failing_total, 2);
    }

    #[test]
    fn status_follows_the_thresholds() {
        struct Case {
            passed: usize,
            failed: usize,
            skipped: usize,
            want: SuiteStatus,
        }
        let cases = [
            Case {
                passed: 20,
                failed: 0,
                skipped: 0,
                want: SuiteStatus::Passing,
            },
            // 19/20 = 0.95 exactly: at the warning threshold is still passing.
            Case {
                passed: 19,
                failed: 1,
                skipped: 0,
                want: SuiteStatus::Passing,
            },
            // Skipped cases are left out: 19/20 again.
            Case {
                passed: 19,
                failed: 1,
                skipped: 5,
                want: SuiteStatus::Passing,
            },
            Case {
                passed: 18,
                failed: 1,
                skipped: 1,
                want: SuiteStatus::Warning,
            },
            Case {
                passed: 37,
                failed: 3,
                skipped: 0,
                want: SuiteStatus::Warning,
            },
            // 17/20 = 0.85 exactly: at the critical threshold is a warning.
            Case {
                passed: 17,
                failed: 3,
                skipped: 0,
                want: SuiteStatus::Warning,
            },
            Case {
                passed: 16,
                failed: 4,
                skipped: 0,
                want: SuiteStatus::Failing,
            },
            Case {
                passed: 0,
                failed: 5,
                skipped: 0,
                want: SuiteStatus::Failing,
            },
            Case {
                passed: 0,
                failed: 0,
                skipped: 3,
                want: SuiteStatus::NoTests,
            },
            Case {
                passed: 0,
                failed: 0,
                skipped: 0,
                want: SuiteStatus::NoTests,
            },
        ];
        for c in cases {
            let names: Vec<String> = (0..c.passed + c.failed + c.skipped)
                .map(|i| format!("t{i:03}"))
                .collect();
            let statuses: Vec<(&str, TestStatus)> = names
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    let s = if i < c.passed {
                        P
                    } else if i < c.passed + c.failed {
                        F
                    } else {
                        S
                    };
                    (n.as_str(), s)
                })
                .collect();
            let v = view(&[run("unit", 0, &statuses)]);
            assert_eq!(
                v.suites[0].status, c.want,
                "{} passed, {} failed, {} skipped",
                c.passed, c.failed, c.skipped
            );
        }
        // Thresholds come from the plan.
        let strict = Thresholds {
            test_pass_warning: 1.0,
            test_pass_critical: 0.99,
            ..Thresholds::default()
        };
        let names: Vec<String> = (0..20).map(|i| format!("t{i:02}")).collect();
        let statuses: Vec<(&str, TestStatus)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), if i < 19 { P } else { F }))
            .collect();
        let v = tests_view(&[run("unit", 0, &statuses)], &strict);
        assert_eq!(v.suites[0].status, SuiteStatus::Failing);
    }

    #[test]
    fn all_failing() {
        let runs: Vec<TestRun> = (0..4)
            .map(|d| run("e2e", d, &[("a", F), ("b", E)]))
            .collect();
        let s = &view(&runs).suites[0];
        assert_eq!(s.pass_rate, Some(0.0));
        assert_eq!(s.trend, vec![Some(0.0); 4]);
        assert_eq!(s.status, SuiteStatus::Failing);
        for f in &s.failing_tests {
            assert_eq!((f.first_failed, f.attempts), (T0, 4), "{}", f.name);
        }
        assert_eq!(
            s.failing_tests[1].error, "b broke on day 3",
            "latest message"
        );
        assert!(s.flaky_tests.is_empty());
    }

    #[test]
    fn failing_streaks() {
        struct Case {
            name: &'static str,
            history: &'static [TestStatus], // oldest first, one run per day
            want: Option<(i64, u64)>,       // (day of first_failed, attempts)
        }
        let cases = [
            Case {
                name: "fails in the 3 latest runs after passing",
                history: &[P, P, F, F, F],
                want: Some((2, 3)),
            },
            Case {
                name: "failing, passing, failing: streak of 1",
                history: &[F, P, F],
                want: Some((2, 1)),
            },
            Case {
                name: "errors count as failures",
                history: &[P, E, F, E],
                want: Some((1, 3)),
            },
            Case {
                name: "skipped in between neither extends nor ends the streak",
                history: &[P, F, S, F],
                want: Some((1, 2)),
            },
            Case {
                name: "skipped in the latest run: not failing now",
                history: &[F, F, S],
                want: None,
            },
            Case {
                name: "passing now",
                history: &[F, F, P],
                want: None,
            },
            Case {
                name: "failing since the oldest run given",
                history: &[F, F],
                want: Some((0, 2)),
            },
        ];
        for c in cases {
            // `z` passes in every run, so every run has a case; `a` follows the history.
            let runs: Vec<TestRun> = c
                .history
                .iter()
                .enumerate()
                .map(|(d, s)| run("unit", d as i64, &[("a", *s), ("z", P)]))
                .collect();
            let s = &view(&runs).suites[0];
            let got = s
                .failing_tests
                .iter()
                .find(|f| f.name == "a")
                .map(|f| (f.first_failed, f.attempts));
            let want = c.want.map(|(d, n)| (T0 + Duration::days(d), n));
            assert_eq!(got, want, "{}", c.name);
        }
    }

    #[test]
    fn absent_runs_neither_extend_nor_end_a_streak() {
        let runs = [
            run("unit", 0, &[("a", P), ("z", P)]),
            run("unit", 1, &[("a", F), ("z", P)]),
            run("unit", 2, &[("z", P)]),
            run("unit", 3, &[("a", F), ("z", P)]),
        ];
        let f = &view(&runs).suites[0].failing_tests[0];
        assert_eq!((f.first_failed, f.attempts), (T0 + Duration::days(1), 2));
    }

    #[test]
    fn flaky_detection() {
        struct Case {
            name: &'static str,
            history: &'static [TestStatus],
            flips: Option<u32>, // Some when flaky
        }
        let cases = [
            Case {
                name: "one flip is not flaky",
                history: &[P, P, F, F],
                flips: None,
            },
            Case {
                name: "exactly two flips is flaky",
                history: &[P, F, P],
                flips: Some(2),
            },
            Case {
                name: "errors are failures",
                history: &[F, P, E],
                flips: Some(2),
            },
            Case {
                name: "failed to error is no flip",
                history: &[F, E, F, P],
                flips: None,
            },
            Case {
                name: "skips don't count and don't break the comparison",
                history: &[P, S, F, S, S, P],
                flips: Some(2),
            },
            Case {
                name: "skip between equal outcomes: no flip",
                history: &[P, S, P, F],
                flips: None,
            },
            Case {
                name: "many flips",
                history: &[P, F, P, F, P],
                flips: Some(4),
            },
            Case {
                name: "flips older than the last 10 runs are forgotten",
                history: &[P, F, P, F, F, F, F, F, F, F, F, F],
                flips: None,
            },
            Case {
                name: "the last 10 runs include these two flips",
                history: &[P, P, P, F, P, P, P, P, P, P, P, P],
                flips: Some(2),
            },
        ];
        for c in cases {
            let runs: Vec<TestRun> = c
                .history
                .iter()
                .enumerate()
                .map(|(d, s)| run("unit", d as i64, &[("a", *s), ("z", P)]))
                .collect();
            let s = &view(&runs).suites[0];
            let got = s
                .flaky_tests
                .iter()
                .find(|f| f.name == "a")
                .map(|f| f.flips);
            assert_eq!(got, c.flips, "{}", c.name);
            if got.is_some() {
                assert_eq!(
                    s.flaky_tests[0].last_status,
                    *c.history.last().unwrap(),
                    "{}",
                    c.name
                );
            }
            assert!(s.flaky_tests.iter().all(|f| f.name != "z"), "{}", c.name);
        }
    }

    #[test]
    fn trend_is_the_last_10_runs_oldest_first() {
        // Day d: d passed of 12 ran, one skipped; day 12 has nothing that ran.
        let mut runs: Vec<TestRun> = (0..12)
            .map(|d| {
                let names: Vec<String> = (0..12).map(|i| format!("t{i:02}")).collect();
                let statuses: Vec<(&str, TestStatus)> = names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (n.as_str(), if (i as i64) < d { P } else { F }))
                    .chain([("skipped", S)])
                    .collect();
                run("unit", d, &statuses)
            })
            .collect();
        runs.push(run("unit", 12, &[("skipped", S)]));
        // Any order in, time order out.
        runs.reverse();
        let s = &view(&runs).suites[0];
        let want: Vec<Option<f64>> = (3..12)
            .map(|d| Some(d as f64 / 12.0 * 100.0))
            .chain([None])
            .collect();
        assert_eq!(s.trend, want);
        assert_eq!(s.status, SuiteStatus::NoTests);
        assert_eq!(s.pass_rate, None);
        assert_eq!(s.runs, 13);
        assert_eq!(s.last_run, T0 + Duration::days(12));
        assert!(
            s.failing_tests.is_empty(),
            "nothing failed in the latest run"
        );
    }

    #[test]
    fn suites_sorted_by_name_and_totals_summed() {
        let v = view(&[
            run("unit", 0, &[("a", F), ("b", P)]),
            run("e2e", 0, &[("a", F)]),
            run("integration", 1, &[("a", P)]),
            run("e2e", 1, &[("a", P)]),
            run("e2e", 2, &[("a", F)]),
        ]);
        let names: Vec<_> = v.suites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["e2e", "integration", "unit"]);
        assert_eq!((v.failing_total, v.flaky_total), (2, 1));
    }

    #[test]
    fn identity_is_classname_and_name() {
        let mk = |day: i64, cases: Vec<TestCase>| TestRun {
            suite: "unit".into(),
            phase: None,
            component: Some("storage".into()),
            run_at: T0 + Duration::days(day),
            duration: 1.0,
            cases,
        };
        let runs = [
            mk(
                0,
                vec![
                    case(Some("A"), "t", P, None),
                    case(Some("B"), "t", F, Some("b0")),
                ],
            ),
            mk(
                1,
                vec![
                    case(Some("A"), "t", F, Some("a1")),
                    case(Some("B"), "t", F, Some("b1")),
                    // The same test twice in one run: the worst outcome counts.
                    case(None, "t", P, None),
                    case(None, "t", E, Some("dup")),
                ],
            ),
        ];
        let s = &view(&runs).suites[0];
        let got: Vec<(&str, u64, &str)> = s
            .failing_tests
            .iter()
            .map(|f| (f.name.as_str(), f.attempts, f.error.as_str()))
            .collect();
        // B has failed longest, so it comes first.
        assert_eq!(got, [("B::t", 2, "b1"), ("A::t", 1, "a1"), ("t", 1, "dup")]);
        assert_eq!(s.results.total, 4, "results count cases, not tests");
        assert_eq!(s.component.as_deref(), Some("storage"));
        assert_eq!(s.phase, None);
    }

    #[test]
    fn json_snapshot() {
        let runs = [
            run("integration", 0, &[("a", P), ("b", P), ("c", P), ("d", P)]),
            run("integration", 1, &[("a", P), ("b", F), ("c", P), ("d", S)]),
            run("integration", 2, &[("a", P), ("b", P), ("c", F), ("d", S)]),
            run("integration", 3, &[("a", P), ("b", F), ("c", E), ("d", S)]),
            run("unit", 3, &[("a", P), ("b", P)]),
            run("empty", 3, &[("a", S)]),
        ];
        insta::assert_json_snapshot!("tests_view", view(&runs));
    }
}
