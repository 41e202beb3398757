//! The component health matrix (DESIGN §3.3): per component, the old and the new system side
//! by side, its datasets' migration, its tests and its benchmarks.
//!
//! The rules, so a user can tell why the dashboard says what it says. Each system's figures
//! come from that system's operations of the component over a window (a [`SystemWindow`]):
//!
//! - **`success_rate`** (beside the specification's fields) = (operations − failures) /
//!   operations, 0..=1; `null` without operations. Failures beyond the operations count as
//!   the operations.
//! - **`health`** of a system: `healthy` when its success rate is at least the plan's
//!   `success_rate_warning` (0.90 by default), `degraded` when at least
//!   `success_rate_critical` (0.80), `failing` below; `no_data` when it has no operations in
//!   the window. The specification knows only the first three; a system that did nothing is
//!   neither healthy nor failing, so it gets its own name rather than a guess.
//! - **`error_rate`** = failures / operations, 0..=1; `null` without operations.
//! - **`response_time_p95`**: the 95th percentile of the durations in milliseconds, by nearest
//!   rank as in [`crate::perf`]; over the stored week it is read from the store's duration
//!   histograms ([`crate::sketch`]: within 10 % of the exact value); `null` without durations.
//! - **`throughput`** = operations / window seconds, in operations per second (0 when there
//!   were none); `null` when the window is not a positive number of seconds.
//! - **`migration_status`**: migrated / total datasets of the component × 100 (`percent`, at
//!   most 100), counted by the rules of [`crate::datasets`]: the total is the plan's (the
//!   component's listed datasets, or its `datasets = N`) and `null` when the plan does not
//!   say, and then so is the percent.
//! - **`test_coverage`**: tests passed / total of the latest runs of the component's suites ×
//!   100 (named as in the specification; it is a pass rate, not code coverage); `null` when
//!   the component has no suites or they have no tests. `tests_passed` and `tests_total` are
//!   the counts beside it.
//! - **`performance_metrics.delta_percent`**: the performance delta of the component's
//!   benchmarks, as given (see [`crate::perf`]); negative means the new system is faster.
//! - **`health`** of the component (beside): the worse of its two systems' health, a system
//!   without data left out; `no_data` when neither system has data. An alert firing on the
//!   component makes it worse: a critical one `failing`, any other of warning severity or above
//!   at least `degraded` — it is never `healthy` while such an alert fires.
//! - **`issues`**: the component's open alerts (pending and firing), as the specification's
//!   `Issue`.
//! - **Order**: worst first — `failing`, `degraded`, `no_data`, then `healthy`; among equals,
//!   more firing alerts, then a higher error rate, then a regression, then less migrated, then
//!   the plan's order. `rank` is the place (1 = worst) and `why` says what put it there.

use serde::Serialize;

use crate::alerts::{AlertState, Issue, Severity};
use crate::operation::{NewOperation, System};
use crate::perf;
use crate::plan::Thresholds;

/// One system's operations of one component over a window: what the matrix is computed from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SystemWindow {
    /// Operations in the window.
    pub operations: u64,
    /// Of those, the failed ones.
    pub failures: u64,
    /// Their durations in milliseconds, for the p95 (the caller may pass a sample).
    pub durations_ms: Vec<f64>,
    /// The p95 when the caller has it already (from a histogram, [`crate::sketch`]); used
    /// instead of `durations_ms`.
    pub p95_ms: Option<f64>,
    /// The window's length in seconds, for the throughput.
    pub window_seconds: f64,
}

impl SystemWindow {
    /// The window of the given operations that belong to `component` and ran on `system`
    /// (operations without a system or of another component are left out).
    pub fn of<'a>(
        ops: impl IntoIterator<Item = &'a NewOperation>,
        component: &str,
        system: System,
        window_seconds: f64,
    ) -> SystemWindow {
        let mut w = SystemWindow {
            window_seconds,
            ..SystemWindow::default()
        };
        for op in ops {
            if op.system != Some(system) || op.component.as_deref() != Some(component) {
                continue;
            }
            w.operations += 1;
            if !op.success {
                w.failures += 1;
            }
            if let Some(d) = op.duration_ms {
                w.durations_ms.push(d);
            }
        }
        w
    }
}

/// Everything one row of the matrix is computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentInput {
    /// The component's id.
    pub id: String,
    /// The name shown to people.
    pub name: String,
    /// The old system's operations of the component.
    pub old: SystemWindow,
    /// The new system's operations of the component.
    pub new: SystemWindow,
    /// The component's datasets that are migrated (verified included).
    pub migrated: u64,
    /// The component's datasets, as the plan counts them; `None` when it does not say.
    pub datasets_total: Option<u64>,
    /// (passed, total) tests of the latest runs of the component's suites; `None` without
    /// suites.
    pub tests: Option<(u64, u64)>,
    /// The performance delta of the component's benchmarks in percent, when any compare.
    pub performance_delta: Option<f64>,
    /// The component's benchmarks that regressed, with their p50 change in percent.
    pub regressions: Vec<(String, f64)>,
    /// The component's open alerts.
    pub issues: Vec<Issue>,
    /// The window's length in words ("7 days"), for `why`.
    pub window: String,
}

/// The health of one system, or of a component (see the module's rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SystemHealth {
    /// The success rate is at least the plan's `success_rate_warning`.
    Healthy,
    /// The success rate is under `success_rate_warning` but at least `success_rate_critical`.
    Degraded,
    /// The success rate is under `success_rate_critical`.
    Failing,
    /// No operations in the window: nothing to judge.
    NoData,
}

impl SystemHealth {
    /// The name used in JSON: `healthy`, `degraded`, `failing`, `no_data`.
    pub fn as_str(self) -> &'static str {
        match self {
            SystemHealth::Healthy => "healthy",
            SystemHealth::Degraded => "degraded",
            SystemHealth::Failing => "failing",
            SystemHealth::NoData => "no_data",
        }
    }

    /// The health of a success rate (0..=1, `None` without operations) under the plan's
    /// thresholds.
    pub fn of(success_rate: Option<f64>, thresholds: &Thresholds) -> SystemHealth {
        match success_rate {
            None => SystemHealth::NoData,
            Some(r) if r >= thresholds.success_rate_warning => SystemHealth::Healthy,
            Some(r) if r >= thresholds.success_rate_critical => SystemHealth::Degraded,
            Some(_) => SystemHealth::Failing,
        }
    }

    /// The worse of two healths, `no_data` counting only when both have none.
    pub fn worse(self, other: SystemHealth) -> SystemHealth {
        fn rank(h: SystemHealth) -> u8 {
            match h {
                SystemHealth::NoData => 0,
                SystemHealth::Healthy => 1,
                SystemHealth::Degraded => 2,
                SystemHealth::Failing => 3,
            }
        }
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

/// One system's figures (the specification's `VersionInfo.metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionMetrics {
    /// Failures / operations, 0..=1; `null` without operations.
    pub error_rate: Option<f64>,
    /// 95th percentile of the durations in milliseconds (nearest rank); `null` without
    /// durations.
    pub response_time_p95: Option<f64>,
    /// Operations per second over the window; `null` when the window has no length.
    pub throughput: Option<f64>,
}

/// One system of a component (the specification's `VersionInfo`, plus the fields after
/// `metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionInfo {
    /// `old` or `new`.
    pub version: System,
    /// Healthy, degraded, failing or no data.
    pub health: SystemHealth,
    /// Error rate, p95 and throughput.
    pub metrics: VersionMetrics,
    /// (Operations − failures) / operations, 0..=1; `null` without operations.
    pub success_rate: Option<f64>,
    /// Operations in the window.
    pub operations: u64,
    /// Failed operations in the window.
    pub failures: u64,
}

/// How far a component's datasets are migrated (the specification's `MigrationStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MigrationStatus {
    /// Datasets migrated (verified included).
    pub migrated: u64,
    /// Datasets of the component, as the plan counts them; `null` when it does not say.
    pub total: Option<u64>,
    /// Migrated / total × 100, at most 100; `null` without a known, non-zero total.
    pub percent: Option<f64>,
}

/// The component's benchmarks (the specification's `PerformanceMetrics`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PerformanceMetrics {
    /// The new system's change against the old in percent; negative means faster.
    pub delta_percent: Option<f64>,
    /// How many of its benchmarked operations regressed ([`crate::perf`]).
    pub regressions: usize,
}

/// One row of the component health matrix (the specification's `ComponentHealth`, plus the
/// fields after `issues`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComponentHealth {
    /// The component's id.
    pub component: String,
    /// The old system.
    pub old_version: VersionInfo,
    /// The new system.
    pub new_version: VersionInfo,
    /// Its datasets' migration.
    pub migration_status: MigrationStatus,
    /// Tests passed / total × 100 of its suites' latest runs; `null` without tests.
    pub test_coverage: Option<f64>,
    /// Its benchmarks.
    pub performance_metrics: PerformanceMetrics,
    /// Its open alerts (pending and firing).
    pub issues: Vec<Issue>,
    /// The name shown to people.
    pub name: String,
    /// The worse of the two systems' health, made worse by firing alerts.
    pub health: SystemHealth,
    /// Its place in the matrix, worst first, from 1.
    pub rank: usize,
    /// What put it there, most serious first.
    pub why: Vec<String>,
    /// How the row was made, and the datasets behind it ([`crate::model`] fills it).
    pub explain: crate::model::Explained,
    /// Tests passed in its suites' latest runs; `null` without suites.
    pub tests_passed: Option<u64>,
    /// Tests in its suites' latest runs; `null` without suites.
    pub tests_total: Option<u64>,
}

/// One system's figures from its window (see the module's rules).
pub fn version_info(system: System, w: &SystemWindow, thresholds: &Thresholds) -> VersionInfo {
    let failures = w.failures.min(w.operations);
    let ops = w.operations as f64;
    let success_rate = (w.operations > 0).then(|| (w.operations - failures) as f64 / ops);
    let throughput =
        (w.window_seconds.is_finite() && w.window_seconds > 0.0).then(|| ops / w.window_seconds);
    VersionInfo {
        version: system,
        health: SystemHealth::of(success_rate, thresholds),
        metrics: VersionMetrics {
            error_rate: (w.operations > 0).then(|| failures as f64 / ops),
            response_time_p95: w
                .p95_ms
                .or_else(|| perf::metric(&w.durations_ms).map(|m| m.p95)),
            throughput,
        },
        success_rate,
        operations: w.operations,
        failures,
    }
}

/// One row of the matrix (see the module's rules), before it is ranked.
pub fn component_health(input: &ComponentInput, thresholds: &Thresholds) -> ComponentHealth {
    let old_version = version_info(System::Old, &input.old, thresholds);
    let new_version = version_info(System::New, &input.new, thresholds);
    let percent =
        |part: u64, whole: u64| (whole > 0).then(|| part.min(whole) as f64 / whole as f64 * 100.0);
    let firing: Vec<&Issue> = input
        .issues
        .iter()
        .filter(|i| i.state == AlertState::Firing)
        .collect();
    let mut health = old_version.health.worse(new_version.health);
    if firing.iter().any(|i| i.severity == Severity::Critical) {
        health = SystemHealth::Failing;
    } else if firing.iter().any(|i| i.severity >= Severity::Warning)
        && matches!(health, SystemHealth::Healthy | SystemHealth::NoData)
    {
        health = SystemHealth::Degraded;
    }
    let mut issues = input.issues.clone();
    issues.sort_by(|a, b| {
        (b.state == AlertState::Firing, b.severity)
            .cmp(&(a.state == AlertState::Firing, a.severity))
            .then(a.detected_at.cmp(&b.detected_at))
    });
    let mut row = ComponentHealth {
        component: input.id.clone(),
        old_version,
        new_version,
        migration_status: MigrationStatus {
            migrated: input.migrated,
            total: input.datasets_total,
            percent: input
                .datasets_total
                .and_then(|t| percent(input.migrated, t)),
        },
        test_coverage: input
            .tests
            .and_then(|(passed, total)| percent(passed, total)),
        performance_metrics: PerformanceMetrics {
            delta_percent: input.performance_delta,
            regressions: input.regressions.len(),
        },
        issues,
        name: input.name.clone(),
        health,
        rank: 0,
        why: Vec::new(),
        explain: crate::model::Explained {
            explain: String::new(),
            link: None,
        },
        tests_passed: input.tests.map(|(passed, _)| passed),
        tests_total: input.tests.map(|(_, total)| total),
    };
    row.why = why(&row, input, thresholds);
    row
}

/// What makes a row what it is, most serious first.
fn why(row: &ComponentHealth, input: &ComponentInput, t: &Thresholds) -> Vec<String> {
    let mut out = Vec::new();
    for i in row.issues.iter().filter(|i| i.state == AlertState::Firing) {
        out.push(format!("{} alert firing: {}", i.severity.as_str(), i.title));
    }
    for v in [&row.new_version, &row.old_version] {
        let (level, limit) = match v.health {
            SystemHealth::Failing => ("critical", t.success_rate_critical),
            SystemHealth::Degraded => ("warning", t.success_rate_warning),
            _ => continue,
        };
        out.push(format!(
            "{} system: {} of {} operations succeeded over the last {}, under the {} {level} \
             threshold",
            v.version.as_str(),
            crate::format::percent(v.success_rate.unwrap_or(0.0)),
            v.operations,
            input.window,
            crate::format::percent(limit)
        ));
    }
    for (op, d) in &input.regressions {
        out.push(format!("new system slower on {op} ({d:+.1} %)"));
    }
    if let Some((passed, total)) = input.tests.filter(|(_, t)| *t > 0) {
        let rate = passed as f64 / total as f64;
        if rate < t.test_pass_warning {
            out.push(format!(
                "tests: {passed} of {total} pass ({})",
                crate::format::percent(rate)
            ));
        }
    }
    if row.old_version.health == SystemHealth::NoData
        && row.new_version.health == SystemHealth::NoData
    {
        out.push(format!("no operations in the last {}", input.window));
    }
    for i in row.issues.iter().filter(|i| i.state == AlertState::Pending) {
        out.push(format!(
            "{} alert pending: {}",
            i.severity.as_str(),
            i.title
        ));
    }
    if out.is_empty() {
        out.push(format!(
            "every figure within its thresholds over the last {}",
            input.window
        ));
    }
    out
}

/// How bad a health is, for the order: failing, degraded, no data, healthy.
fn badness(h: SystemHealth) -> u8 {
    match h {
        SystemHealth::Failing => 3,
        SystemHealth::Degraded => 2,
        SystemHealth::NoData => 1,
        SystemHealth::Healthy => 0,
    }
}

/// The whole matrix, worst first (see the module's rules), each row with its rank.
pub fn component_matrix(
    inputs: &[ComponentInput],
    thresholds: &Thresholds,
) -> Vec<ComponentHealth> {
    let mut rows: Vec<(usize, ComponentHealth, usize)> = inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            (
                i,
                component_health(input, thresholds),
                input.regressions.len(),
            )
        })
        .collect();
    let error_rate = |r: &ComponentHealth| {
        r.old_version
            .metrics
            .error_rate
            .unwrap_or(0.0)
            .max(r.new_version.metrics.error_rate.unwrap_or(0.0))
    };
    let firing = |r: &ComponentHealth| {
        r.issues
            .iter()
            .filter(|i| i.state == AlertState::Firing)
            .count()
    };
    rows.sort_by(|(ia, a, ra), (ib, b, rb)| {
        badness(b.health)
            .cmp(&badness(a.health))
            .then(firing(b).cmp(&firing(a)))
            .then(error_rate(b).total_cmp(&error_rate(a)))
            .then(rb.cmp(ra))
            .then(
                a.migration_status
                    .percent
                    .unwrap_or(100.0)
                    .total_cmp(&b.migration_status.percent.unwrap_or(100.0)),
            )
            .then(ia.cmp(ib))
    });
    rows.into_iter()
        .enumerate()
        .map(|(place, (_, mut row, _))| {
            row.rank = place + 1;
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn window(operations: u64, failures: u64, durations: &[f64], secs: f64) -> SystemWindow {
        SystemWindow {
            operations,
            failures,
            durations_ms: durations.to_vec(),
            p95_ms: None,
            window_seconds: secs,
        }
    }

    fn input(old: SystemWindow, new: SystemWindow) -> ComponentInput {
        ComponentInput {
            id: "storage".into(),
            name: "Storage".into(),
            old,
            new,
            migrated: 0,
            datasets_total: None,
            tests: None,
            performance_delta: None,
            regressions: Vec::new(),
            issues: Vec::new(),
            window: "7 days".into(),
        }
    }

    #[test]
    fn health_follows_the_success_rate() {
        struct Case {
            ops: u64,
            failures: u64,
            want: SystemHealth,
        }
        let cases = [
            Case {
                ops: 100,
                failures: 0,
                want: SystemHealth::Healthy,
            },
            // 0.90 exactly: at the warning threshold is still healthy.
            Case {
                ops: 10,
                failures: 1,
                want: SystemHealth::Healthy,
            },
            Case {
                ops: 100,
                failures: 11,
                want: SystemHealth::Degraded,
            },
            // 0.80 exactly: at the critical threshold is degraded.
            Case {
                ops: 10,
                failures: 2,
                want: SystemHealth::Degraded,
            },
            Case {
                ops: 100,
                failures: 21,
                want: SystemHealth::Failing,
            },
            Case {
                ops: 3,
                failures: 3,
                want: SystemHealth::Failing,
            },
            // More failures than operations: as if all failed.
            Case {
                ops: 3,
                failures: 7,
                want: SystemHealth::Failing,
            },
            Case {
                ops: 0,
                failures: 0,
                want: SystemHealth::NoData,
            },
        ];
        for c in cases {
            let v = version_info(
                System::New,
                &window(c.ops, c.failures, &[], 60.0),
                &Thresholds::default(),
            );
            assert_eq!(v.health, c.want, "{} ops, {} failures", c.ops, c.failures);
            assert!(v.failures <= v.operations);
        }
        // Thresholds come from the plan.
        let strict = Thresholds {
            success_rate_warning: 0.99,
            success_rate_critical: 0.95,
            ..Thresholds::default()
        };
        assert_eq!(
            version_info(System::Old, &window(100, 2, &[], 60.0), &strict).health,
            SystemHealth::Degraded
        );
    }

    #[test]
    fn figures_of_one_system() {
        struct Case {
            name: &'static str,
            w: SystemWindow,
            error_rate: Option<f64>,
            p95: Option<f64>,
            throughput: Option<f64>,
        }
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        let cases = [
            Case {
                name: "plain",
                w: window(600, 30, &ten, 300.0),
                error_rate: Some(0.05),
                p95: Some(10.0),
                throughput: Some(2.0),
            },
            Case {
                name: "no operations: throughput 0, no rates",
                w: window(0, 0, &[], 300.0),
                error_rate: None,
                p95: None,
                throughput: Some(0.0),
            },
            Case {
                name: "zero window: no throughput",
                w: window(5, 1, &[3.0], 0.0),
                error_rate: Some(0.2),
                p95: Some(3.0),
                throughput: None,
            },
            Case {
                name: "non-finite window: no throughput",
                w: window(5, 0, &[], f64::NAN),
                error_rate: Some(0.0),
                p95: None,
                throughput: None,
            },
            Case {
                name: "operations without durations: no p95",
                w: window(4, 0, &[], 2.0),
                error_rate: Some(0.0),
                p95: None,
                throughput: Some(2.0),
            },
            Case {
                name: "p95 by nearest rank of 20 values is the 19th",
                w: window(
                    20,
                    0,
                    &(1..=20).rev().map(f64::from).collect::<Vec<_>>(),
                    10.0,
                ),
                error_rate: Some(0.0),
                p95: Some(19.0),
                throughput: Some(2.0),
            },
        ];
        for c in cases {
            let v = version_info(System::Old, &c.w, &Thresholds::default());
            assert_eq!(v.version, System::Old);
            assert_eq!(
                (
                    v.metrics.error_rate,
                    v.metrics.response_time_p95,
                    v.metrics.throughput
                ),
                (c.error_rate, c.p95, c.throughput),
                "{}",
                c.name
            );
        }
    }

    #[test]
    fn migration_tests_and_performance() {
        struct Case {
            migrated: u64,
            total: u64,
            tests: Option<(u64, u64)>,
            percent: Option<f64>,
            coverage: Option<f64>,
        }
        let cases = [
            Case {
                migrated: 45,
                total: 100,
                tests: Some((156, 200)),
                percent: Some(45.0),
                coverage: Some(78.0),
            },
            Case {
                migrated: 0,
                total: 89,
                tests: Some((0, 89)),
                percent: Some(0.0),
                coverage: Some(0.0),
            },
            Case {
                migrated: 0,
                total: 0,
                tests: None,
                percent: None,
                coverage: None,
            },
            Case {
                migrated: 3,
                total: 2,
                tests: Some((0, 0)),
                percent: Some(100.0),
                coverage: None,
            },
        ];
        for c in cases {
            let mut i = input(SystemWindow::default(), SystemWindow::default());
            i.migrated = c.migrated;
            i.datasets_total = Some(c.total);
            i.tests = c.tests;
            i.performance_delta = Some(-3.0);
            let h = component_health(&i, &Thresholds::default());
            assert_eq!(
                h.migration_status.percent, c.percent,
                "{}/{}",
                c.migrated, c.total
            );
            assert_eq!(
                (h.migration_status.migrated, h.migration_status.total),
                (c.migrated, Some(c.total))
            );
            assert_eq!(h.test_coverage, c.coverage, "{:?}", c.tests);
            assert_eq!(h.tests_passed, c.tests.map(|t| t.0));
            assert_eq!(h.tests_total, c.tests.map(|t| t.1));
            assert_eq!(h.performance_metrics.delta_percent, Some(-3.0));
            assert!(h.issues.is_empty());
        }
    }

    #[test]
    fn component_health_is_the_worse_side() {
        use SystemHealth::*;
        let w = |ops: u64, failures: u64| window(ops, failures, &[], 60.0);
        let cases = [
            (w(10, 0), w(10, 0), Healthy),
            (w(10, 0), w(10, 2), Degraded),
            (w(10, 5), w(10, 2), Failing),
            (w(0, 0), w(10, 2), Degraded),
            (w(10, 0), w(0, 0), Healthy),
            (w(0, 0), w(0, 0), NoData),
        ];
        for (old, new, want) in cases {
            let h = component_health(&input(old.clone(), new.clone()), &Thresholds::default());
            assert_eq!(h.health, want, "old {old:?}, new {new:?}");
        }
    }

    #[test]
    fn windows_from_operations() {
        let t = datetime!(2025-03-03 09:00 UTC);
        let op =
            |component: Option<&str>, system: Option<System>, success: bool, d: Option<f64>| {
                let mut o = NewOperation::new(t, "dataset_read", "read");
                o.component = component.map(str::to_owned);
                o.system = system;
                o.success = success;
                o.duration_ms = d;
                o
            };
        let ops = [
            op(Some("storage"), Some(System::New), true, Some(5.0)),
            op(Some("storage"), Some(System::New), false, None),
            op(Some("storage"), Some(System::Old), true, Some(9.0)),
            op(Some("storage"), None, false, Some(1.0)),
            op(Some("config"), Some(System::New), false, Some(1.0)),
            op(None, Some(System::New), false, Some(1.0)),
        ];
        assert_eq!(
            SystemWindow::of(&ops, "storage", System::New, 300.0),
            window(2, 1, &[5.0], 300.0)
        );
        assert_eq!(
            SystemWindow::of(&ops, "storage", System::Old, 300.0),
            window(1, 0, &[9.0], 300.0)
        );
        assert_eq!(
            SystemWindow::of(&ops, "registration", System::Old, 300.0),
            window(0, 0, &[], 300.0)
        );
    }

    fn issue(severity: Severity, state: AlertState, title: &str) -> Issue {
        Issue {
            id: "1".into(),
            severity,
            component: "storage".into(),
            title: title.into(),
            description: String::new(),
            detected_at: datetime!(2025-03-01 10:00 UTC),
            auto_resolved: false,
            resolution: None,
            impact: crate::alerts::IssueImpact {
                affected_datasets: Vec::new(),
                affected_users: 0,
                estimated_downtime: 0.0,
            },
            state,
        }
    }

    #[test]
    fn a_firing_alert_never_leaves_a_component_healthy() {
        let healthy = || input(window(100, 2, &[], 60.0), window(100, 3, &[], 60.0));
        let t = Thresholds::default();
        assert_eq!(
            component_health(&healthy(), &t).health,
            SystemHealth::Healthy
        );
        let cases = [
            (Severity::Info, AlertState::Firing, SystemHealth::Healthy),
            (
                Severity::Warning,
                AlertState::Firing,
                SystemHealth::Degraded,
            ),
            (Severity::Error, AlertState::Firing, SystemHealth::Degraded),
            (
                Severity::Critical,
                AlertState::Firing,
                SystemHealth::Failing,
            ),
            (
                Severity::Critical,
                AlertState::Pending,
                SystemHealth::Healthy,
            ),
        ];
        for (severity, state, want) in cases {
            let mut i = healthy();
            i.issues = vec![issue(
                severity,
                state,
                "Storage: 6.9 % of operations failing",
            )];
            let h = component_health(&i, &t);
            assert_eq!(h.health, want, "{severity:?} {state:?}");
            assert_eq!(h.issues.len(), 1, "its open alerts are its issues");
            if state == AlertState::Firing && severity >= Severity::Warning {
                assert!(h.why[0].contains("6.9 %"), "{:?}", h.why);
            }
        }
    }

    #[test]
    fn the_matrix_is_worst_first_and_says_why() {
        let t = Thresholds::default();
        let mut a = input(window(100, 0, &[], 60.0), window(100, 1, &[], 60.0));
        a.id = "a".into();
        let mut b = a.clone();
        b.id = "b".into();
        b.new = window(100, 15, &[], 60.0); // degraded
        let mut c = a.clone();
        c.id = "c".into();
        c.issues = vec![issue(Severity::Critical, AlertState::Firing, "C failing")];
        let mut d = a.clone();
        d.id = "d".into();
        d.regressions = vec![("feature generation".into(), 99.2)];
        let m = component_matrix(&[a, b, c, d], &t);
        let order: Vec<&str> = m.iter().map(|r| r.component.as_str()).collect();
        assert_eq!(order, ["c", "b", "d", "a"]);
        assert!(
            m[1].why[0].starts_with("new system: 85.0% of 100 operations"),
            "{:?}",
            m[1].why
        );
        assert!(
            m[2].why[0].contains("feature generation (+99.2 %)"),
            "{:?}",
            m[2].why
        );
        assert!(
            m[3].why[0].starts_with("every figure within"),
            "{:?}",
            m[3].why
        );
    }

    #[test]
    fn json_snapshot() {
        let durations: Vec<f64> = (1..=40).map(|i| f64::from(i) * 2.5).collect();
        let mut storage = input(
            window(1200, 6, &durations, 300.0),
            window(800, 120, &durations[10..], 300.0),
        );
        storage.migrated = 45;
        storage.datasets_total = Some(100);
        storage.tests = Some((156, 200));
        storage.performance_delta = Some(12.0);
        let registration = ComponentInput {
            id: "registration".into(),
            name: "Registration".into(),
            old: window(50, 1, &[4.0, 6.0], 300.0),
            new: window(0, 0, &[], 300.0),
            migrated: 0,
            datasets_total: Some(89),
            tests: Some((0, 89)),
            performance_delta: None,
            regressions: Vec::new(),
            issues: Vec::new(),
            window: "5 minutes".into(),
        };
        let matrix = component_matrix(&[registration, storage], &Thresholds::default());
        assert_eq!(matrix[0].component, "storage", "the worst comes first");
        assert_eq!((matrix[0].rank, matrix[1].rank), (1, 2));
        insta::assert_json_snapshot!("component_matrix", matrix);
    }
}
