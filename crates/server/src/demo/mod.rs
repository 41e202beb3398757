//! The simulated migration of `mhd demo`: the specification's 21-week, 412-dataset
//! refactoring at week 8, with its history, and live traffic arriving while the dashboard is
//! open — everyday operations, migrations, a rollback now and then, test runs that sometimes
//! fail, and an old-versus-new benchmark with one regression.
//!
//! The history and the live traffic keep one pace ([`TRAFFIC_PER_DAY`], [`MIGRATIONS_PER_DAY`],
//! …), in real time: today is a day like the others, and the forecast moves as slowly as a
//! real migration's. Everything is drawn from a seeded generator, so a given seed tells the
//! same story.

mod live;

use mhd_core::perf::BenchmarkSamples;
use mhd_core::plan::Plan;
use mhd_core::testrun::{TestCase, TestRun, TestStatus};
use mhd_core::{NewOperation, System};
use mhd_store::{Store, StoreError};
use time::{Duration, OffsetDateTime};

use crate::recorder::Change;
use crate::state::AppState;

/// Everyday operations a day once the migration is under way (one every 20 seconds), in the
/// history and live alike.
pub const TRAFFIC_PER_DAY: f64 = 4320.0;
/// Days over which the everyday traffic grows to [`TRAFFIC_PER_DAY`], from the second week
/// (as more of the new system is used).
pub const RAMP_DAYS: i64 = 14;
/// Migrations a day, from the second week: about 3.5 (3 or 4 in the history).
pub const MIGRATIONS_PER_DAY: f64 = 3.5;
/// Days between two rollbacks, on average.
pub const DAYS_PER_ROLLBACK: f64 = 19.0;
/// Test runs a day: one run of each of the five suites.
pub const TEST_RUNS_PER_DAY: f64 = 5.0;
/// The day of the migration (from 0) on which migrations and everyday traffic begin.
const FIRST_BUSY_DAY: i64 = 7;

/// The share of [`TRAFFIC_PER_DAY`] on day `day` of the migration.
fn ramp(day: i64) -> f64 {
    if day < FIRST_BUSY_DAY {
        0.0
    } else {
        ((day - FIRST_BUSY_DAY + 1) as f64 / RAMP_DAYS as f64).min(1.0)
    }
}

/// Sets the banner of every page of this process ([`mhd_web::views::set_banner`]; once, later
/// calls change nothing): what the demo is and at which pace its traffic runs.
pub fn set_banner(options: &LiveOptions) {
    mhd_web::views::set_banner(banner_text(options.speed));
}

/// The banner's words for a demo running at `speed`.
fn banner_text(speed: f64) -> String {
    let pace = if (speed - 1.0).abs() < 1e-9 {
        "in real time, at the pace of its own history".to_owned()
    } else {
        format!("with its live traffic at {speed}× the pace of its own history")
    };
    format!(
        "Demo: a simulated migration, {pace}: about {} operations and {} migrations a day. \
         Its data is thrown away when the demo stops.",
        TRAFFIC_PER_DAY as u64, MIGRATIONS_PER_DAY
    )
}

/// The demo's components, as the specification's plan names them.
pub const COMPONENTS: [&str; 4] = ["storage", "config", "features", "registration"];

/// A small deterministic generator (SplitMix64): the demo needs repeatable stories, not
/// cryptographic randomness.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x6A09_E667_F3BC_C909)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A whole number in `[0, n)`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A duration around `median` ms with a long right tail (log-normal-ish).
    pub fn duration_ms(&mut self, median: f64) -> f64 {
        let z = (self.unit() + self.unit() + self.unit() - 1.5) * 1.4;
        (median * z.exp()).max(0.1)
    }
}

fn op(
    at: OffsetDateTime,
    ty: &str,
    name: &str,
    component: &str,
    system: System,
    ms: f64,
    ok: bool,
) -> NewOperation {
    let mut o = NewOperation::new(at, ty, name);
    o.component = Some(component.to_owned());
    o.system = Some(system);
    o.duration_ms = Some((ms * 10.0).round() / 10.0);
    o.success = ok;
    if !ok {
        o.error_message = Some(
            match ty {
                "migration" => "row count mismatch between old and new storage",
                "query_execution" => "statement timeout after 30000 ms",
                "feature_generation" => "out of memory in feature worker",
                _ => "connection reset by peer",
            }
            .to_owned(),
        );
    }
    o
}

/// Everyday traffic of one moment: reads, queries, feature runs on both systems. During an
/// incident, the new system of the component it hits fails four times in five.
fn traffic(rng: &mut Rng, at: OffsetDateTime, incident: Option<&str>) -> NewOperation {
    let component = COMPONENTS[rng.below(4) as usize];
    let system = if rng.chance(0.55) {
        System::New
    } else {
        System::Old
    };
    let (ty, name, median) = match rng.below(4) {
        0 => ("dataset_read", "read", 40.0),
        1 => ("query_execution", "query", 120.0),
        2 => ("feature_generation", "generate features", 900.0),
        _ => ("storage_operation", "write batch", 60.0),
    };
    // The new feature generation is slower: the regression the benchmarks show too.
    let median = if system == System::New && ty == "feature_generation" {
        median * 1.35
    } else {
        median
    };
    let fail = match (component, system) {
        (c, System::New) if incident == Some(c) => 0.8,
        ("features", System::New) => 0.07,
        (_, System::New) => 0.02,
        _ => 0.01,
    };
    let failed = rng.chance(fail);
    let mut o = op(
        at,
        ty,
        name,
        component,
        system,
        rng.duration_ms(median),
        !failed,
    );
    o.dataset_name = Some(format!("dataset_{:03}", rng.below(412)));
    o
}

/// One migration of dataset `n`: its start, then its attempt (which may fail).
fn migration(rng: &mut Rng, at: OffsetDateTime, n: u64) -> Vec<NewOperation> {
    let component = COMPONENTS[(n % 4) as usize];
    let dataset = format!("dataset_{n:03}");
    let mut start = op(
        at,
        "migration_start",
        "migrate",
        component,
        System::New,
        0.0,
        true,
    );
    start.dataset_name = Some(dataset.clone());
    start.duration_ms = None;
    let took = rng.duration_ms(2500.0);
    let ok = !rng.chance(0.06);
    let mut done = op(
        at + Duration::milliseconds(took as i64),
        "migration",
        "migrate",
        component,
        System::New,
        took,
        ok,
    );
    done.dataset_name = Some(dataset);
    done.row_count = Some(1000 + rng.below(2_000_000) as i64);
    vec![start, done]
}

fn test_run(
    rng: &mut Rng,
    suite: &str,
    component: &str,
    at: OffsetDateTime,
    pass: f64,
    flaky: bool,
) -> TestRun {
    let n = match suite {
        "unit" => 120,
        "integration" => 60,
        "e2e" => 40,
        _ => 25,
    };
    // The same tests fail from run to run (the first ones of a fixed shuffle, as many as the
    // pass rate leaves), so failures have streaks; a flaky suite has one test that flips.
    let failing = ((1.0 - pass) * f64::from(n)).round() as u32;
    let cases = (0..n)
        .map(|i: u32| {
            let status = if i % 17 == 3 {
                TestStatus::Skipped
            } else if flaky && i == 7 {
                if rng.chance(0.5) {
                    TestStatus::Failed
                } else {
                    TestStatus::Passed
                }
            } else if (i * 37 + 11) % n < failing {
                TestStatus::Failed
            } else {
                TestStatus::Passed
            };
            TestCase {
                name: format!("test_{suite}_{i:03}"),
                classname: Some(format!("mdm.{component}.{suite}")),
                status,
                time: Some((rng.duration_ms(300.0) / 1000.0 * 100.0).round() / 100.0),
                message: (status == TestStatus::Failed).then(|| {
                    format!("AssertionError: {component} result differs from the old system")
                }),
            }
        })
        .collect();
    let mut run = TestRun {
        suite: suite.into(),
        phase: Some("tests".into()),
        component: Some(component.into()),
        run_at: at,
        duration: 0.0,
        cases,
    };
    run.duration = run.cases.iter().filter_map(|c| c.time).sum();
    run
}

/// The suites of the demo: (name, component, pass rate today, pass rate ten days ago, flaky).
const SUITES: [(&str, &str, f64, f64, bool); 5] = [
    ("unit", "storage", 0.985, 0.97, false),
    ("integration", "config", 0.95, 0.93, true),
    ("e2e", "features", 0.87, 0.97, false),
    ("performance", "registration", 1.0, 1.0, false),
    ("regression", "storage", 0.91, 0.93, true),
];

/// Stores the migration's history up to `now` for `plan` (which starts seven weeks before).
pub async fn seed_history<S: Store>(
    store: &S,
    plan: &Plan,
    now: OffsetDateTime,
    seed: u64,
) -> Result<u64, StoreError> {
    let mut rng = Rng::new(seed);
    let ops = history_operations(&mut rng, plan, now);
    let stored = ops.len() as u64;
    for chunk in ops.chunks(50_000) {
        store.insert_operations(chunk).await?;
    }
    // Their own generator, so that they tell the same story whatever the history's length.
    seed_tests_and_benchmarks(store, &mut Rng::new(seed.wrapping_add(2)), now).await?;
    Ok(stored)
}

/// The operations of the migration's history up to `now`, oldest first: the datasets'
/// registration, then from the second week migrations, rollbacks and everyday traffic at the
/// demo's pace, today included.
fn history_operations(rng: &mut Rng, plan: &Plan, now: OffsetDateTime) -> Vec<NewOperation> {
    let start = plan.migration.start.midnight().assume_utc();
    let days = (now - start).whole_days().max(1);
    let mut ops: Vec<NewOperation> = Vec::new();
    // Registration of every dataset on the old system in the first days.
    for n in 0..412u64 {
        let at = start + Duration::minutes((n * 17) as i64);
        let mut o = op(
            at,
            "dataset_register",
            "register",
            COMPONENTS[(n % 4) as usize],
            System::Old,
            rng.duration_ms(800.0),
            true,
        );
        o.dataset_name = Some(format!("dataset_{n:03}"));
        ops.push(o);
    }
    // Migrations: about 3 a day from the second week, with a few rollbacks.
    let mut next = 0u64;
    for day in FIRST_BUSY_DAY..=days {
        let per_day = 3 + rng.below(2);
        for _ in 0..per_day {
            if next >= 412 {
                break;
            }
            let at = start + Duration::days(day) + Duration::minutes(480 + rng.below(600) as i64);
            let attempt = migration(rng, at, next);
            let failed = !attempt[1].success;
            ops.extend(attempt);
            if failed {
                // Retried an hour later, and it works.
                let mut retry = migration(rng, at + Duration::hours(1), next);
                retry[1].success = true;
                retry[1].error_message = None;
                ops.extend(retry);
            }
            let mut check = op(
                at + Duration::hours(2),
                "verification",
                "verify",
                COMPONENTS[(next % 4) as usize],
                System::New,
                rng.duration_ms(1500.0),
                !rng.chance(0.02),
            );
            check.dataset_name = Some(format!("dataset_{next:03}"));
            ops.push(check);
            next += 1;
        }
        if day % 19 == 11 {
            let n = rng.below(next.max(1));
            let at = start + Duration::days(day) + Duration::hours(20);
            let mut rb = op(
                at,
                "rollback",
                "rollback",
                COMPONENTS[(n % 4) as usize],
                System::New,
                rng.duration_ms(4000.0),
                true,
            );
            rb.dataset_name = Some(format!("dataset_{n:03}"));
            ops.push(rb);
        }
        // Everyday traffic, growing to its full pace over the first weeks.
        for _ in 0..(TRAFFIC_PER_DAY * ramp(day)).round() as u64 {
            let at = start + Duration::days(day) + Duration::seconds(rng.below(86_400) as i64);
            if at < now {
                ops.push(traffic(rng, at, None));
            }
        }
    }
    // Milestones and finished phases of the first weeks.
    for (name, week, ty) in [
        ("Characterization suite green", 2, "milestone"),
        ("Coverage of the old system", 3, "milestone"),
        ("tests", 3, "phase_complete"),
        ("One configuration model", 5, "milestone"),
        ("config", 5, "phase_complete"),
        ("Storage interface agreed", 6, "milestone"),
    ] {
        ops.push(NewOperation::new(
            start + Duration::weeks(week) - Duration::days(2),
            ty,
            name,
        ));
    }
    ops.retain(|o| o.timestamp <= now);
    ops.sort_by_key(|o| o.timestamp);
    ops
}

/// Stores ten days of test runs up to `now` and the old-against-new benchmarks.
async fn seed_tests_and_benchmarks<S: Store>(
    store: &S,
    rng: &mut Rng,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    // Ten days of test runs, pass rates drifting from then to now.
    for d in 0..10i64 {
        for (suite, component, now_rate, then_rate, flaky) in SUITES {
            let t = d as f64 / 9.0;
            let rate = then_rate + (now_rate - then_rate) * t;
            let at = now - Duration::days(9 - d) - Duration::hours(3);
            store
                .insert_test_run(
                    &test_run(rng, suite, component, at, rate, flaky),
                    Some("demo"),
                )
                .await?;
        }
    }
    // Old against new: four operations, feature generation regressed.
    let mut samples = Vec::new();
    for (operation, component, old, new) in [
        ("dataset registration", "registration", 2300.0, 1900.0),
        ("query by id", "storage", 145.0, 89.0),
        ("feature generation", "features", 900.0, 1215.0),
        ("configuration load", "config", 35.0, 33.0),
    ] {
        for (system, median) in [(System::Old, old), (System::New, new)] {
            samples.push(BenchmarkSamples {
                operation: operation.into(),
                system,
                component: Some(component.into()),
                // Benchmarks repeat one operation under the same conditions: within 15 % of
                // its median, so the regression and the gains stand out as they would.
                values_ms: (0..40)
                    .map(|_| (median * (0.85 + 0.3 * rng.unit()) * 100.0).round() / 100.0)
                    .collect(),
            });
        }
    }
    store.insert_benchmarks(&samples, Some("demo"), now).await?;
    Ok(())
}

/// Who acknowledges alerts in the demo.
pub const DEMO_OPERATOR: &str = "demo operator";

/// The demo's operator acknowledges alerts that have been firing for over 40 seconds.
async fn acknowledge_old_alerts(state: &AppState, now: OffsetDateTime) {
    use mhd_core::alerts::AlertState;
    use mhd_store::alerts::AlertStore as _;
    let Ok(open) = state.store().open_alerts().await else {
        return;
    };
    for alert in open {
        let old_enough = alert
            .fired_at
            .is_some_and(|at| now - at > Duration::seconds(40));
        if alert.state == AlertState::Firing && alert.acknowledged.is_none() && old_enough {
            let comment = "Looking into it; the runbook is being followed.";
            let acknowledged =
                state
                    .store()
                    .acknowledge(alert.id, DEMO_OPERATOR, Some(comment), now);
            let changed = Change::Operations {
                components: Vec::new(),
            };
            let _ = state.recorder().commit(changed, acknowledged).await;
        }
    }
}

/// The demo's additions to the plan, as TOML appended to the specification's plan: the host
/// collector, alert rules tuned to the simulation (so alerts fire during its incidents and
/// resolve after them), and notification channels that send to the local receiver at
/// `receiver` ([`receive_notifications`]). `secret_file` holds the stand-in PagerDuty key.
pub fn demo_plan_additions(
    receiver: std::net::SocketAddr,
    secret_file: &std::path::Path,
) -> String {
    let hook = format!("http://{receiver}");
    let key = secret_file
        .display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    format!(
        r#"
# mhd demo: the host's own resource use
[[collectors.host]]
name = "host"
interval = "5s"

# mhd demo: rules tuned to the simulation
[[alerts.rules]]
name = "high_error_rate"
kind = "threshold"
metric = "error_rate"
op = ">"
threshold = 0.05
for = "30s"
keep_firing_for = "1m"
severity = "warning"
runbook = "Look at the failing operations (`mhd stats show --failed --since 1h`) and the component matrix (`mhd components`); the rollback page rolls a component back."

[[alerts.rules]]
name = "critical_error_rate"
kind = "threshold"
metric = "error_rate"
op = ">"
threshold = 0.10
for = "30s"
keep_firing_for = "1m"
severity = "critical"
runbook = "Look at the failing operations (`mhd stats show --failed --since 1h`) and the component matrix (`mhd components`); the rollback page rolls a component back."

[[alerts.rules]]
name = "slow_response"
kind = "threshold"
metric = "p95_duration_ms"
op = ">"
threshold = 8000
for = "1m"
keep_firing_for = "2m"
severity = "warning"

[[alerts.rules]]
name = "high_memory"
kind = "threshold"
metric = "memory_percent"
op = ">"
threshold = 90
for = "1m"
severity = "warning"

[[alerts.rules]]
name = "low_success_rate"
kind = "threshold"
metric = "migration_success_rate"
op = "<"
threshold = 0.8
for = "1m"
keep_firing_for = "1m"
severity = "warning"

[[alerts.rules]]
name = "rollbacks"
kind = "rollback"
count = 2
window = "10m"
severity = "warning"
keep_firing_for = "1m"

[[alerts.rules]]
name = "data_integrity"
kind = "integrity"
severity = "critical"

[[alerts.rules]]
name = "performance_regression"
kind = "regression"
severity = "warning"

[[alerts.rules]]
name = "test_pass_rate"
kind = "test_pass"
drop = 0.10
severity = "warning"
keep_firing_for = "1m"

[[alerts.rules]]
name = "collector_down"
kind = "collector_down"
severity = "warning"

# mhd demo: channels, answered by a local receiver that prints what it gets
[[notify]]
name = "ops-webhook"
kind = "webhook"
url = "{hook}/webhook"
min_severity = "warning"

[[notify]]
name = "ops-slack"
kind = "slack"
url = "{hook}/slack"
min_severity = "warning"

[[notify]]
name = "pager"
kind = "pagerduty"
url = "{hook}/pagerduty"
routing_key_file = "{key}"
min_severity = "critical"
"#
    )
}

/// The local receiver standing in for the demo's channels: answers every POST to `/{channel}`
/// as the real service would (202 for PagerDuty, 200 otherwise) and prints one line per
/// notification on standard error. Runs until the task is dropped.
pub async fn receive_notifications(listener: tokio::net::TcpListener) {
    use axum::extract::Path;
    use axum::http::StatusCode;
    async fn receive(Path(channel): Path<String>, body: axum::body::Bytes) -> StatusCode {
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let what = v["alert"]["title"]
            .as_str()
            .or(v["text"].as_str())
            .or(v["payload"]["summary"].as_str())
            .or(v["event_action"].as_str())
            .unwrap_or("(a notification)");
        let line: String = what
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(160)
            .collect::<String>()
            // Slack's text arrives escaped for its markup.
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
        eprintln!(
            "mhd demo: the {} receiver got: {}",
            mhd_core::format::terminal_safe(&channel),
            mhd_core::format::terminal_safe(&line)
        );
        if channel == "pagerduty" {
            StatusCode::ACCEPTED
        } else {
            StatusCode::OK
        }
    }
    let app = axum::Router::new().route("/{channel}", axum::routing::post(receive));
    if let Err(e) = axum::serve(listener, app).await {
        tracing::warn!("demo: the notification receiver stopped: {e}");
    }
}

pub use live::{
    FIRST_INCIDENT, INCIDENT_EVERY, INCIDENT_TICKS, LiveOptions, LiveTraffic, Tick, incident_at,
    run_live,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_plan_parses_with_its_collector_rules_and_channels() {
        let start = time::macros::date!(2026 - 10 - 05);
        let receiver: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
        let mut text = mhd_core::plan::default_plan_toml(start);
        text.push_str(&demo_plan_additions(
            receiver,
            std::path::Path::new("/tmp/a \"quoted\" key"),
        ));
        let plan = mhd_core::plan::parse(&text, "migration.toml").expect("the demo plan parses");
        assert_eq!(plan.collectors.host.len(), 1);
        assert_eq!(plan.alerts.rules.len(), 10);
        let names: Vec<&str> = plan.notify.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["ops-webhook", "ops-slack", "pager"]);
        assert!(matches!(
            &plan.notify[2].kind,
            mhd_core::plan::ChannelKind::Pagerduty { url, .. } if url == "http://127.0.0.1:9/pagerduty"
        ));
    }

    #[test]
    fn incidents_come_one_component_after_another_with_calm_between() {
        assert_eq!(incident_at(0), None);
        assert_eq!(incident_at(FIRST_INCIDENT), Some(COMPONENTS[0]));
        assert_eq!(
            incident_at(FIRST_INCIDENT + INCIDENT_TICKS - 1),
            Some(COMPONENTS[0])
        );
        assert_eq!(incident_at(FIRST_INCIDENT + INCIDENT_TICKS), None);
        assert_eq!(
            incident_at(FIRST_INCIDENT + INCIDENT_EVERY),
            Some(COMPONENTS[1])
        );
        let calm = (0..INCIDENT_EVERY * 4)
            .filter(|&t| incident_at(t + FIRST_INCIDENT).is_none())
            .count() as u64;
        assert_eq!(calm, (INCIDENT_EVERY - INCIDENT_TICKS) * 4);
    }

    #[test]
    fn the_generator_is_repeatable_and_spread() {
        let a: Vec<u64> = {
            let mut r = Rng::new(7);
            (0..5).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = Rng::new(7);
            (0..5).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, b);
        let mut r = Rng::new(1);
        let mean = (0..10_000).map(|_| r.unit()).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
        assert!((0..1000).all(|_| r.below(10) < 10));
    }

    #[test]
    fn the_banner_says_what_the_demo_is_and_its_pace() {
        let text = banner_text(1.0);
        assert!(
            text.starts_with(
                "Demo: a simulated migration, in real time, at the pace of its own history"
            ),
            "{text}"
        );
        assert!(
            text.contains("about 4320 operations and 3.5 migrations a day"),
            "{text}"
        );
        assert!(banner_text(10.0).contains("at 10× the pace of its own history"));
    }

    /// After the demo has run for hours (its clock and generator driven here second by
    /// second), today holds no more operations than a day of its history, and the forecast
    /// has moved by at most a day per hour.
    #[tokio::test]
    async fn live_traffic_keeps_the_pace_of_the_history() {
        use std::collections::BTreeMap;
        use time::macros::datetime;

        let now = datetime!(2026-10-21 09:00 UTC);
        let monday =
            now.date() - Duration::days(i64::from(now.weekday().number_days_from_monday()));
        let start = monday - Duration::weeks(7);
        let plan = mhd_core::plan::parse(&mhd_core::plan::default_plan_toml(start), "m.toml")
            .expect("the plan");
        let dir = tempfile::tempdir().expect("temp dir");
        let store = mhd_store::Database::open_file(&dir.path().join("mhd.db"), 4)
            .await
            .expect("store");
        let mut per_day: BTreeMap<time::Date, u64> = BTreeMap::new();
        let mut rng = Rng::new(8);
        let history = history_operations(&mut rng, &plan, now);
        for o in &history {
            *per_day.entry(o.timestamp.date()).or_default() += 1;
        }
        for chunk in history.chunks(50_000) {
            store.insert_operations(chunk).await.expect("history");
        }
        let p85 = |at: OffsetDateTime| {
            let (store, plan) = (&store, &plan);
            async move {
                mhd_store::view_data::view_model(
                    store,
                    Some(plan),
                    at,
                    false,
                    mhd_core::model::Options::default(),
                )
                .await
                .expect("the views")
                .summary
                .expect("a summary")
                .estimated_completion
                .expect("a forecast")
                .p85
            }
        };
        let migrated = store
            .migration_counts()
            .await
            .expect("counts")
            .datasets_migrated;
        let mut live = LiveTraffic::new(8, migrated);
        let first = p85(now).await;
        let hours = 12;
        let mut at = now;
        let mut moves = Vec::new();
        for hour in 1..=hours {
            let mut ops = Vec::new();
            for _ in 0..3600 {
                at += Duration::seconds(1);
                ops.extend(live.tick(at).operations);
            }
            for o in &ops {
                *per_day.entry(o.timestamp.date()).or_default() += 1;
            }
            store.insert_operations(&ops).await.expect("live");
            moves.push((hour, p85(at).await));
        }
        // Over the hours, no more than a day per simulated hour (the old pace finished every
        // dataset within the first hour, moving the date by months).
        let last = moves.last().map_or(first, |&(_, d)| d);
        assert!(
            (last - first).whole_days().abs() <= hours,
            "the forecast moved from {first} by hour: {moves:?}"
        );
        let today = per_day[&at.date()];
        let busy = start + Duration::days(FIRST_BUSY_DAY);
        let earlier: Vec<u64> = per_day.range(busy..at.date()).map(|(_, n)| *n).collect();
        let (low, high) = (
            earlier.iter().copied().min().expect("days"),
            earlier.iter().copied().max().expect("days"),
        );
        assert!(
            (low..=high).contains(&today),
            "today has {today} operations, the history's days {low} to {high}"
        );
        // Most of today came live, at the history's pace: 21 hours of a full day's traffic.
        let full = TRAFFIC_PER_DAY as u64;
        assert!(today > full * 3 / 4 && today < full + 200, "{today}");
    }
}
