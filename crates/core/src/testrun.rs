//! Test runs: one JUnit XML report of one suite, its cases, and the figures of the test
//! results view (DESIGN §3.6).
//!
//! Every figure is counted from the cases themselves, never from a report's summary attributes
//! (`tests=`, `failures=`, …), which some tools leave out or get wrong.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How one test case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TestStatus {
    /// Ran and passed (a case that passed only on a retry is still passed).
    Passed,
    /// Ran and an assertion failed (`<failure>`).
    Failed,
    /// Could not run properly: an unexpected exception, a broken fixture (`<error>`).
    Error,
    /// Not run (`<skipped>`), including expected failures that some tools report as skipped.
    Skipped,
}

impl TestStatus {
    /// The name used in JSON and on pages: `passed`, `failed`, `error`, `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            TestStatus::Passed => "passed",
            TestStatus::Failed => "failed",
            TestStatus::Error => "error",
            TestStatus::Skipped => "skipped",
        }
    }
}

impl std::fmt::Display for TestStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One test case of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestCase {
    /// The test's name as the tool wrote it.
    pub name: String,
    /// The class, module or package that holds the test, when the tool wrote one.
    #[serde(default)]
    pub classname: Option<String>,
    /// How it ended.
    pub status: TestStatus,
    /// How long it took, in seconds, when the tool wrote it.
    #[serde(default)]
    pub time: Option<f64>,
    /// Why it failed, errored or was skipped: the short message, not the whole output.
    #[serde(default)]
    pub message: Option<String>,
}

/// Counts of a run's cases by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Totals {
    /// All cases.
    pub total: u64,
    /// Cases that passed.
    pub passed: u64,
    /// Cases that failed or errored (DESIGN §3.6: `failed` counts failures and errors).
    pub failed: u64,
    /// Cases that errored, alone (also counted in `failed`).
    pub errors: u64,
    /// Cases that were skipped.
    pub skipped: u64,
}

impl Totals {
    /// Counts the given cases.
    pub fn of<'a>(cases: impl IntoIterator<Item = &'a TestCase>) -> Totals {
        let mut t = Totals::default();
        for case in cases {
            t.total += 1;
            match case.status {
                TestStatus::Passed => t.passed += 1,
                TestStatus::Failed => t.failed += 1,
                TestStatus::Error => {
                    t.failed += 1;
                    t.errors += 1;
                }
                TestStatus::Skipped => t.skipped += 1,
            }
        }
        t
    }

    /// Passed / (total − skipped); `None` when no case ran.
    pub fn pass_rate(&self) -> Option<f64> {
        let ran = self.total - self.skipped;
        (ran > 0).then(|| self.passed as f64 / ran as f64)
    }
}

/// One JUnit XML report of one suite, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestRun {
    /// The suite this run belongs to; runs of one suite make its trend.
    pub suite: String,
    /// The plan's phase the suite belongs to, when known.
    #[serde(default)]
    pub phase: Option<String>,
    /// The plan's component the suite tests, when known.
    #[serde(default)]
    pub component: Option<String>,
    /// When the run happened (UTC, RFC 3339 in JSON).
    #[serde(with = "time::serde::rfc3339")]
    pub run_at: OffsetDateTime,
    /// Seconds the run took: see [`TestRun::duration_of`].
    pub duration: f64,
    /// The cases, in the order of the report.
    pub cases: Vec<TestCase>,
}

impl TestRun {
    /// Counts of the cases by status, from the cases alone.
    pub fn totals(&self) -> Totals {
        Totals::of(&self.cases)
    }

    /// Passed / (total − skipped); `None` when no case ran (all skipped, or none).
    pub fn pass_rate(&self) -> Option<f64> {
        self.totals().pass_rate()
    }

    /// A run's duration: the larger of the sum of the cases' times and the time the report
    /// gives for the whole run.
    ///
    /// The report's time also covers set-up and tear-down, so it is usually the larger; but
    /// some tools leave it out or write 0, and then the cases' sum is the best lower bound.
    /// Missing, negative and non-finite times count as 0.
    pub fn duration_of(cases: &[TestCase], report_time: Option<f64>) -> f64 {
        let clean = |t: Option<f64>| t.filter(|t| t.is_finite() && *t > 0.0).unwrap_or(0.0);
        let sum: f64 = cases.iter().map(|c| clean(c.time)).sum();
        sum.max(clean(report_time))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn case(name: &str, status: TestStatus, time: Option<f64>) -> TestCase {
        TestCase {
            name: name.to_owned(),
            classname: None,
            status,
            time,
            message: None,
        }
    }

    fn run(cases: Vec<TestCase>) -> TestRun {
        TestRun {
            suite: "unit".into(),
            phase: None,
            component: None,
            run_at: datetime!(2025-01-06 10:00 UTC),
            duration: TestRun::duration_of(&cases, None),
            cases,
        }
    }

    #[test]
    fn totals_count_errors_among_failed_and_alone() {
        use TestStatus::*;
        let r = run(vec![
            case("a", Passed, None),
            case("b", Passed, None),
            case("c", Failed, None),
            case("d", Error, None),
            case("e", Skipped, None),
        ]);
        assert_eq!(
            r.totals(),
            Totals {
                total: 5,
                passed: 2,
                failed: 2,
                errors: 1,
                skipped: 1
            }
        );
        // 2 passed of the 4 that ran.
        assert_eq!(r.pass_rate(), Some(0.5));
    }

    #[test]
    fn pass_rate_is_none_when_nothing_ran() {
        assert_eq!(run(vec![]).pass_rate(), None);
        let all_skipped = run(vec![case("a", TestStatus::Skipped, None)]);
        assert_eq!(all_skipped.totals().total, 1);
        assert_eq!(all_skipped.pass_rate(), None);
    }

    #[test]
    fn pass_rate_ignores_skipped_cases() {
        use TestStatus::*;
        let r = run(vec![
            case("a", Passed, None),
            case("b", Skipped, None),
            case("c", Skipped, None),
        ]);
        assert_eq!(r.pass_rate(), Some(1.0));
    }

    #[test]
    fn duration_is_the_larger_of_report_time_and_case_sum() {
        use TestStatus::*;
        let cases = vec![
            case("a", Passed, Some(1.5)),
            case("b", Failed, Some(2.0)),
            case("c", Passed, None),
            case("d", Passed, Some(-4.0)),
            case("e", Passed, Some(f64::NAN)),
        ];
        assert_eq!(TestRun::duration_of(&cases, None), 3.5);
        assert_eq!(TestRun::duration_of(&cases, Some(0.0)), 3.5);
        assert_eq!(TestRun::duration_of(&cases, Some(10.0)), 10.0);
        assert_eq!(TestRun::duration_of(&[], Some(f64::INFINITY)), 0.0);
    }

    #[test]
    fn json_shape_uses_lowercase_status_and_rfc3339() {
        let mut c = case("t ✓", TestStatus::Error, Some(0.25));
        c.message = Some("boom".into());
        let r = run(vec![c]);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["run_at"], "2025-01-06T10:00:00Z");
        assert_eq!(json["cases"][0]["status"], "error");
        assert_eq!(json["cases"][0]["name"], "t ✓");
        assert_eq!(json["duration"], 0.25);
        let back: TestRun = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
        for s in [
            TestStatus::Passed,
            TestStatus::Failed,
            TestStatus::Error,
            TestStatus::Skipped,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(s.to_string(), s.as_str());
        }
    }
}
