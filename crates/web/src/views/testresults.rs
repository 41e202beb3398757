//! The test results (DESIGN §3.6): per suite the pass rate, failures, time, the trend of its
//! last runs as a sparkline and its status; then the failing tests with their streaks and the
//! flaky tests.

use askama::Template;
use mhd_core::testrun::TestStatus;
use mhd_core::testview::{SuiteStatus, TREND_RUNS, TestSuite, TestsView};
use time::{OffsetDateTime, UtcOffset};

use super::{Badge, DASH, MAX_NAME_CHARS, Stamp, clip, seconds_text, thousands};
use crate::charts;

/// Failing tests listed per suite; the rest are counted and left to `mhd tests`.
const MAX_FAILING_PER_SUITE: usize = 10;
/// Longest failure message shown in the list.
const MAX_FAILURE_CHARS: usize = 300;

/// The test results section of a page.
#[derive(Template)]
#[template(path = "tests.html", whitespace = "minimize")]
pub(crate) struct TestsSection {
    pub(crate) suites: Vec<SuiteRow>,
    pub(crate) failing_total: String,
    pub(crate) failing: Vec<FailingItem>,
    pub(crate) failing_hidden: u64,
    pub(crate) flaky: Vec<FlakyItem>,
}

pub(crate) struct SuiteRow {
    pub(crate) name: String,
    pub(crate) note: String,
    pub(crate) pass: String,
    pub(crate) passed_of: String,
    pub(crate) failed: String,
    pub(crate) errors: Option<String>,
    pub(crate) time: String,
    pub(crate) trend: String,
    pub(crate) status: Badge,
    pub(crate) last_run: Stamp,
}

pub(crate) struct FailingItem {
    suite: String,
    name: String,
    status: &'static str,
    error: String,
    first_failed: Stamp,
    attempts: String,
}

pub(crate) struct FlakyItem {
    suite: String,
    name: String,
    flips: u32,
    last_status: &'static str,
}

/// A suite's status as a badge: ✓ passing, ⚠ warning, ✗ failing, — no tests.
pub(crate) fn suite_badge(s: SuiteStatus) -> Badge {
    match s {
        SuiteStatus::Passing => Badge::new("✓", "passing", "ok"),
        SuiteStatus::Warning => Badge::new("⚠", "warning", "warn"),
        SuiteStatus::Failing => Badge::new("✗", "failing", "bad"),
        SuiteStatus::NoTests => Badge::new("—", "no tests", "mut"),
    }
}

fn pct(v: Option<f64>) -> String {
    v.filter(|v| v.is_finite())
        .map_or(DASH.to_owned(), |v| format!("{v:.1}%"))
}

impl TestsSection {
    /// The section for `view`, or `None` when it has no suite.
    pub(crate) fn new(view: &TestsView, now: OffsetDateTime, offset: UtcOffset) -> Option<Self> {
        if view.suites.is_empty() {
            return None;
        }
        let mut failing = Vec::new();
        let mut failing_hidden = 0u64;
        for s in &view.suites {
            let suite = clip(&s.name, MAX_NAME_CHARS);
            failing.extend(s.failing_tests.iter().take(MAX_FAILING_PER_SUITE).map(|f| {
                FailingItem {
                    suite: suite.clone(),
                    name: clip(&f.name, MAX_NAME_CHARS),
                    status: match f.status {
                        TestStatus::Error => "error",
                        _ => "failed",
                    },
                    error: if f.error.trim().is_empty() {
                        "no message in the report".to_owned()
                    } else {
                        clip(&f.error, MAX_FAILURE_CHARS)
                    },
                    first_failed: Stamp::new(f.first_failed, now, offset),
                    attempts: match f.attempts {
                        1 => "1 run".to_owned(),
                        n => format!("{} runs in a row", thousands(n)),
                    },
                }
            }));
            failing_hidden += s.failing_tests.len().saturating_sub(MAX_FAILING_PER_SUITE) as u64;
        }
        let flaky = view
            .suites
            .iter()
            .flat_map(|s| {
                s.flaky_tests.iter().map(|f| FlakyItem {
                    suite: clip(&s.name, MAX_NAME_CHARS),
                    name: clip(&f.name, MAX_NAME_CHARS),
                    flips: f.flips,
                    last_status: f.last_status.as_str(),
                })
            })
            .collect();
        Some(TestsSection {
            suites: view
                .suites
                .iter()
                .map(|s| SuiteRow::new(s, now, offset))
                .collect(),
            failing_total: thousands(view.failing_total),
            failing,
            failing_hidden,
            flaky,
        })
    }
}

impl SuiteRow {
    fn new(s: &TestSuite, now: OffsetDateTime, offset: UtcOffset) -> Self {
        let r = &s.results;
        let name = clip(&s.name, MAX_NAME_CHARS);
        let mut note = Vec::new();
        if let Some(c) = &s.component {
            note.push(clip(c, MAX_NAME_CHARS));
        }
        if let Some(p) = &s.phase {
            note.push(format!("phase {}", clip(p, MAX_NAME_CHARS)));
        }
        note.push(match s.runs {
            1 => "1 run".to_owned(),
            n => format!("{} runs", thousands(n)),
        });
        // The sparkline draws the runs in which a case ran; its label reads every run.
        let points: Vec<f64> = s.trend.iter().flatten().copied().collect();
        let spoken: Vec<String> = s
            .trend
            .iter()
            .map(|v| v.map_or_else(|| "no tests".to_owned(), |v| format!("{v:.1}%")))
            .collect();
        let trend = if points.is_empty() {
            String::new()
        } else {
            charts::sparkline(
                &points,
                &format!(
                    "{name}: pass rate of the last {} run{}, oldest first: {}",
                    s.trend.len().min(TREND_RUNS),
                    if s.trend.len() == 1 { "" } else { "s" },
                    spoken.join(", ")
                ),
            )
        };
        SuiteRow {
            name,
            note: note.join(" · "),
            pass: pct(s.pass_rate),
            passed_of: {
                let mut t = format!(
                    "{} / {} passed",
                    thousands(r.passed),
                    thousands(r.total.saturating_sub(r.skipped))
                );
                if r.skipped > 0 {
                    t.push_str(&format!(", {} skipped", thousands(r.skipped)));
                }
                t
            },
            failed: thousands(r.failed),
            errors: match r.errors {
                0 => None,
                1 => Some("1 error".to_owned()),
                n => Some(format!("{} errors", thousands(n))),
            },
            time: seconds_text(r.duration),
            trend,
            status: suite_badge(s.status),
            last_run: Stamp::new(s.last_run, now, offset),
        }
    }
}
