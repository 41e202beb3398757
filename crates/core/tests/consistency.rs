//! The view model's figures agree with each other (DESIGN §3): properties over generated
//! migrations — plans with components, counted or not, phases with dependencies, datasets in
//! every state, per-day history, alerts, benchmarks — checked on the one model every consumer
//! reads.

use mhd_core::System;
use mhd_core::alerts::{Alert, AlertState, Impact, Severity};
use mhd_core::components::SystemHealth;
use mhd_core::datasets::{DatasetMarks, DatasetState, StoredDataset};
use mhd_core::history::MigrationDay;
use mhd_core::model::{Options, Snapshot, ViewModel, WindowOf, build};
use mhd_core::perf::BenchmarkSamples;
use mhd_core::plan::{Plan, parse};
use mhd_core::summary::Health;
use mhd_core::timeline::PhaseStatus;
use proptest::prelude::*;
use time::macros::datetime;
use time::{Date, Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2025-03-20 12:00 UTC);

/// A generated migration: its plan's text and what the store holds.
#[derive(Debug, Clone)]
struct Migration {
    plan: String,
    snap: Snapshot,
}

#[derive(Debug, Clone)]
struct PhaseSpec {
    start_week: i64,
    weeks: i64,
    deps: Vec<usize>,
    components: Vec<usize>,
}

fn phase_spec(n_phases: usize, n_components: usize) -> impl Strategy<Value = Vec<PhaseSpec>> {
    prop::collection::vec(
        (
            0i64..16,
            1i64..6,
            prop::collection::vec(any::<prop::sample::Index>(), 0..3),
            prop::collection::vec(0..n_components.max(1), 0..3),
        ),
        n_phases,
    )
    .prop_map(move |raw| {
        raw.into_iter()
            .enumerate()
            .map(|(i, (start_week, weeks, deps, components))| {
                // Only earlier phases: no cycles.
                let mut deps: Vec<usize> = if i == 0 {
                    Vec::new()
                } else {
                    deps.iter().map(|d| d.index(i)).collect()
                };
                deps.sort_unstable();
                deps.dedup();
                let mut components = if n_components == 0 {
                    Vec::new()
                } else {
                    components
                };
                components.sort_unstable();
                components.dedup();
                PhaseSpec {
                    start_week,
                    weeks,
                    deps,
                    components,
                }
            })
            .collect()
    })
}

fn plan_text(
    total: u32,
    counts: &[Option<u32>],
    phases: &[PhaseSpec],
    start: Date,
    milestone_when: Option<u32>,
) -> String {
    // The plan ends with its last phase.
    let weeks = phases
        .iter()
        .map(|p| p.start_week + p.weeks)
        .max()
        .unwrap_or(1)
        .max(1);
    let mut s = format!(
        "[migration]\nname = \"m\"\nstart = \"{start}\"\nweeks = {weeks}\n\n[datasets]\ntotal = {total}\n"
    );
    for (i, c) in counts.iter().enumerate() {
        s.push_str(&format!(
            "\n[[components]]\nid = \"c{i}\"\nname = \"C{i}\"\n"
        ));
        if let Some(n) = c {
            s.push_str(&format!("datasets = {n}\n"));
        }
    }
    for (i, p) in phases.iter().enumerate() {
        let start_day = start + Duration::weeks(p.start_week);
        let end_day = start_day + Duration::weeks(p.weeks);
        let deps: Vec<String> = p.deps.iter().map(|d| format!("\"p{d}\"")).collect();
        let comps: Vec<String> = p.components.iter().map(|c| format!("\"c{c}\"")).collect();
        let milestone = match (i, milestone_when) {
            (0, Some(n)) => format!(
                "milestones = [{{ name = \"M{i}\", date = \"{end_day}\", when = \"migrated >= {n}\" }}]\n"
            ),
            _ => format!("milestones = [{{ name = \"M{i}\", date = \"{end_day}\" }}]\n"),
        };
        s.push_str(&format!(
            "\n[[phases]]\nid = \"p{i}\"\nname = \"P{i}\"\nstart = \"{start_day}\"\nend = \"{end_day}\"\n\
             depends_on = [{}]\ncomponents = [{}]\n{milestone}",
            deps.join(", "),
            comps.join(", ")
        ));
    }
    s
}

fn marks(kind: u8, t: OffsetDateTime) -> DatasetMarks {
    let h = |n: i64| t + Duration::hours(n);
    match kind {
        0 => DatasetMarks::default(),
        1 => DatasetMarks {
            last_started: Some(h(0)),
            ..DatasetMarks::default()
        },
        2 => DatasetMarks {
            last_started: Some(h(0)),
            last_attempt: Some((h(1), false)),
            ..DatasetMarks::default()
        },
        3 => DatasetMarks {
            last_started: Some(h(0)),
            last_attempt: Some((h(1), true)),
            last_migrated: Some(h(1)),
            ..DatasetMarks::default()
        },
        4 => DatasetMarks {
            last_started: Some(h(0)),
            last_attempt: Some((h(1), true)),
            last_migrated: Some(h(1)),
            last_verified: Some((h(2), true)),
            ..DatasetMarks::default()
        },
        _ => DatasetMarks {
            last_started: Some(h(0)),
            last_attempt: Some((h(1), true)),
            last_migrated: Some(h(1)),
            last_rollback: Some(h(3)),
            ..DatasetMarks::default()
        },
    }
}

fn alert(id: i64, severity: Severity, state: AlertState, component: Option<String>) -> Alert {
    Alert {
        id,
        key: format!("r{id}/{}", component.as_deref().unwrap_or("*")),
        rule: format!("r{id}"),
        kind: "threshold".into(),
        severity,
        state,
        title: format!("rule {id}"),
        message: "error_rate 0.2 > 0.1".into(),
        component: component.clone(),
        value: Some(0.2),
        started_at: NOW - Duration::minutes(30 - id),
        fired_at: (state == AlertState::Firing).then(|| NOW - Duration::minutes(20)),
        last_seen: NOW,
        clear_since: None,
        resolved_at: None,
        resolution: None,
        acknowledged: None,
        impact: Impact {
            components: component.into_iter().collect(),
            ..Impact::default()
        },
        runbook: None,
        suppressed_by: None,
        notified: false,
    }
}

fn migration() -> impl Strategy<Value = Migration> {
    (0usize..4, 1usize..6).prop_flat_map(|(n_components, n_phases)| {
        (
            prop::collection::vec(prop::option::of(1u32..60), n_components),
            phase_spec(n_phases, n_components),
            0i64..120,
            prop::collection::vec((0u8..6, 0usize..5, 0i64..60), 0..80),
            prop::collection::vec((0i64..60, 0usize..5, 0u64..6, 0u64..2), 0..60),
            prop::collection::vec((0u8..4, any::<bool>(), 0usize..5), 0..5),
            prop::collection::vec((0usize..5, 0.5f64..2.0), 0..4),
            prop::option::of(1u32..80),
            0u32..40,
        )
            .prop_map(
                move |(
                    counts,
                    phases,
                    start_days_ago,
                    datasets,
                    days,
                    alerts,
                    benches,
                    when,
                    extra,
                )| {
                    let start = NOW.date() - Duration::days(start_days_ago);
                    let counted: u32 = counts.iter().flatten().sum();
                    let total = counted + extra + 1;
                    let plan = plan_text(total, &counts, &phases, start, when);
                    let component =
                        |i: usize| (n_components > 0 && i < n_components).then(|| format!("c{i}"));
                    let stored: Vec<StoredDataset> = datasets
                        .iter()
                        .enumerate()
                        .map(|(i, (kind, c, ago))| {
                            let t = NOW - Duration::days(*ago) - Duration::hours(4);
                            StoredDataset {
                                name: format!("d{i:03}"),
                                component: component(*c),
                                first_seen: t,
                                last_seen: t + Duration::hours(3),
                                last_type: Some("migration".into()),
                                marks: marks(*kind, t),
                            }
                        })
                        .collect();
                    let migration_days = days
                        .iter()
                        .map(|(ago, c, m, r)| MigrationDay {
                            day: NOW.date() - Duration::days(*ago),
                            component: component(*c),
                            migrations: *m,
                            rollbacks: *r,
                        })
                        .collect();
                    let severities = [
                        Severity::Info,
                        Severity::Warning,
                        Severity::Error,
                        Severity::Critical,
                    ];
                    let alerts = alerts
                        .iter()
                        .enumerate()
                        .map(|(i, (s, firing, c))| {
                            alert(
                                i as i64 + 1,
                                severities[*s as usize],
                                if *firing {
                                    AlertState::Firing
                                } else {
                                    AlertState::Pending
                                },
                                component(*c),
                            )
                        })
                        .collect();
                    let mut benchmarks = Vec::new();
                    for (i, (c, factor)) in benches.iter().enumerate() {
                        for (system, f) in [(System::Old, 1.0), (System::New, *factor)] {
                            benchmarks.push(BenchmarkSamples {
                                operation: format!("op{i}"),
                                system,
                                component: component(*c),
                                values_ms: (0..30)
                                    .map(|k| 100.0 * f * (1.0 + (k % 7) as f64 * 0.01))
                                    .collect(),
                            });
                        }
                    }
                    let windows = (0..n_components)
                        .flat_map(|c| {
                            [System::Old, System::New].map(|system| WindowOf {
                                component: format!("c{c}"),
                                system,
                                operations: 100,
                                failures: (c as u64 * 7) % 30,
                                durations: {
                                    let mut h = mhd_core::sketch::Histogram::default();
                                    h.add(10.0);
                                    h.add(20.0);
                                    h
                                },
                            })
                        })
                        .collect();
                    Migration {
                        plan,
                        snap: Snapshot {
                            datasets: stored,
                            migration_days,
                            attempts: 10,
                            successes: 9,
                            rollbacks: 1,
                            windows,
                            benchmarks: benchmarks.into(),
                            alerts,
                            ..Snapshot::default()
                        },
                    }
                },
            )
    })
}

fn model_of(m: &Migration) -> (Plan, ViewModel) {
    let plan = parse(&m.plan, "migration.toml").unwrap_or_else(|e| panic!("{e:?}\n{}", m.plan));
    let model = build(Some(&plan), &m.snap, NOW, Options { runs: 200 });
    (plan, model)
}

fn badness(h: SystemHealth) -> u8 {
    match h {
        SystemHealth::Failing => 3,
        SystemHealth::Degraded => 2,
        SystemHealth::NoData => 1,
        SystemHealth::Healthy => 0,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// A component with a firing error or critical alert is not healthy, its issues are its
    /// open alerts, and the matrix is worst first with every row saying why.
    #[test]
    fn components_agree_with_alerts(m in migration()) {
        let (_, model) = model_of(&m);
        for row in &model.components {
            let open: Vec<&Alert> = model
                .alerts
                .iter()
                .filter(|a| a.component.as_deref() == Some(row.component.as_str()))
                .collect();
            prop_assert_eq!(row.issues.len(), open.len());
            let firing_bad = open.iter().any(|a| {
                a.state == AlertState::Firing && a.severity >= Severity::Warning
            });
            if firing_bad {
                prop_assert_ne!(row.health, SystemHealth::Healthy, "{}", row.component);
            }
            if open.iter().any(|a| a.state == AlertState::Firing && a.severity == Severity::Critical) {
                prop_assert_eq!(row.health, SystemHealth::Failing);
            }
            prop_assert!(!row.why.is_empty());
        }
        for (i, pair) in model.components.windows(2).enumerate() {
            prop_assert!(badness(pair[0].health) >= badness(pair[1].health));
            prop_assert_eq!(pair[0].rank, i + 1);
        }
    }

    /// Totals are the plan's, never the datasets seen; unknown when the plan does not say.
    #[test]
    fn totals_are_the_plans(m in migration()) {
        let (plan, model) = model_of(&m);
        let s = model.summary.as_ref().expect("a summary");
        prop_assert_eq!(s.key_metrics.datasets_total, u64::from(plan.datasets_total()));
        for row in &model.components {
            let declared = plan.component(&row.component).and_then(|c| c.datasets);
            prop_assert_eq!(row.migration_status.total, declared.map(u64::from));
            if declared.is_none() {
                prop_assert!(row.migration_status.percent.is_none());
            }
        }
        // The counts add up: every migrated dataset counted once, progress from that count.
        prop_assert_eq!(s.key_metrics.datasets_migrated, model.datasets.migrated());
        let by_component: u64 = model.datasets.components.iter().map(|c| c.migrated()).sum();
        prop_assert_eq!(by_component, model.datasets.migrated());
        let want = (model.datasets.migrated() as f64 * 100.0
            / f64::from(plan.datasets_total()))
        .min(100.0);
        prop_assert!((s.migration_progress - want).abs() < 1e-9);
        let listed = model.datasets.filter(Some(DatasetState::Migrated), None).count() as u64;
        prop_assert_eq!(listed, model.datasets.migrated());
        if let Some(p) = &model.progress {
            prop_assert_eq!(p.points.last().map(|b| b.migrated), Some(model.datasets.migrated()));
        }
    }

    /// A phase's progress agrees with the matrix: from its counted components' datasets where
    /// it has any.
    #[test]
    fn phase_progress_agrees_with_the_matrix(m in migration()) {
        let (_, model) = model_of(&m);
        for p in &model.timeline {
            if p.status == PhaseStatus::Completed && p.progress >= 100.0 {
                continue;
            }
            let rows: Vec<_> = model
                .components
                .iter()
                .filter(|c| p.components.contains(&c.component))
                .filter(|c| c.migration_status.total.is_some_and(|t| t > 0))
                .collect();
            if rows.is_empty() {
                continue;
            }
            let migrated: u64 = rows.iter().map(|c| c.migration_status.migrated).sum();
            let total: u64 = rows.iter().filter_map(|c| c.migration_status.total).sum();
            let want = (migrated as f64 * 100.0 / total as f64).min(100.0);
            prop_assert!((p.progress - want).abs() < 1e-9, "{}: {} vs {want}", p.id, p.progress);
        }
    }

    /// A view model computed again, after others were, is the one computed afresh: the
    /// futures kept between computations (the forecast's bulk) are those of its own inputs.
    #[test]
    fn views_computed_again_are_the_views_computed_afresh(
        a in migration(),
        b in migration(),
    ) {
        let fresh = |m: &Migration| {
            mhd_core::outlook::forget_simulated_futures();
            format!("{:?}", model_of(m).1)
        };
        let (fresh_a, fresh_b) = (fresh(&a), fresh(&b));
        for m in [&a, &b, &a, &b] {
            let again = format!("{:?}", model_of(m).1);
            let expected = if std::ptr::eq(m, &a) { &fresh_a } else { &fresh_b };
            prop_assert_eq!(&again, expected);
        }
    }

    /// The forecast is never earlier than the timeline allows: P85 is on or after every
    /// unfinished phase's projected end, and no phase is projected to end before an unfinished
    /// phase it depends on.
    #[test]
    fn the_forecast_follows_the_timeline(m in migration()) {
        let (_, model) = model_of(&m);
        let s = model.summary.as_ref().expect("a summary");
        if let Some(e) = &s.estimated_completion {
            prop_assert!(e.p50 <= e.p85 && e.p85 <= e.p95);
            for p in &model.timeline {
                if p.status == PhaseStatus::Completed {
                    continue;
                }
                let end = p.projected_end.expect("an unfinished phase has a projected end");
                prop_assert!(end <= e.p85, "{} ends {end}, after P85 {}", p.id, e.p85);
                for d in &p.dependencies {
                    let dep = model.timeline.iter().find(|x| &x.id == d).expect("dependency");
                    if dep.status != PhaseStatus::Completed {
                        prop_assert!(dep.projected_end.expect("projected") <= end);
                    }
                }
            }
        }
    }

    /// The performance headline never says "faster" beside a regression and counts them.
    #[test]
    fn the_performance_headline_names_regressions(m in migration()) {
        let (_, model) = model_of(&m);
        let p = &model.performance;
        let regressions = p.comparisons.iter().filter(|c| c.regression).count();
        prop_assert_eq!(p.verdict.slower.len(), regressions);
        if regressions > 0 {
            prop_assert!(p.verdict.headline.contains("slower"), "{}", p.verdict.headline);
            prop_assert!(!p.verdict.headline.starts_with(|c: char| c.is_ascii_digit())
                || p.verdict.headline.split(',').next().is_some_and(|h| h.contains("slower")));
            let s = model.summary.as_ref().expect("a summary");
            let h = s.key_metrics.performance_headline.as_deref().unwrap_or("");
            prop_assert!(h.contains("slower"));
        }
    }

    /// Health follows its reasons: a firing critical alert makes it critical, and every
    /// status other than healthy gives its reasons.
    #[test]
    fn health_has_its_reasons(m in migration()) {
        let (_, model) = model_of(&m);
        let s = model.summary.as_ref().expect("a summary");
        if model.firing().any(|a| a.severity == Severity::Critical) {
            prop_assert_eq!(s.overall_health, Health::Critical);
        }
        if s.overall_health != Health::Healthy {
            prop_assert!(!s.health_reasons.is_empty());
        }
        prop_assert!(s.explain.contains_key("overall_health"));
        prop_assert!(s.explain.contains_key("estimated_completion"));
        // Alerts: firing first, then worst, then newest.
        for w in model.alerts.windows(2) {
            let key = |a: &Alert| (a.state == AlertState::Firing, a.severity);
            prop_assert!(key(&w[0]) >= key(&w[1]));
        }
    }
}

/// The demo's story in small: a phase 33 days late that others depend on cannot sit beside a
/// forecast 17 days early.
#[test]
fn a_late_blocking_phase_makes_the_forecast_late() {
    let start = NOW.date() - Duration::weeks(8);
    let phases = [
        PhaseSpec {
            start_week: 0,
            weeks: 4,
            deps: vec![],
            components: vec![],
        },
        PhaseSpec {
            start_week: 4,
            weeks: 5,
            deps: vec![0],
            components: vec![],
        },
        PhaseSpec {
            start_week: 9,
            weeks: 5,
            deps: vec![1],
            components: vec![],
        },
    ];
    let text = plan_text(100, &[], &phases, start, None);
    let plan = parse(&text, "m.toml").expect("plan");
    // Every dataset will be done in ten days; p0's milestone was never recorded, so p0 is
    // late, and p1 and p2 wait on it.
    let days: Vec<MigrationDay> = (1..=28)
        .map(|d| MigrationDay {
            day: NOW.date() - Duration::days(d),
            component: None,
            migrations: 3,
            rollbacks: 0,
        })
        .collect();
    let stored: Vec<StoredDataset> = (0..70)
        .map(|i| StoredDataset {
            name: format!("d{i}"),
            component: None,
            first_seen: NOW - Duration::days(20),
            last_seen: NOW - Duration::days(20),
            last_type: None,
            marks: marks(3, NOW - Duration::days(20)),
        })
        .collect();
    let snap = Snapshot {
        datasets: stored,
        migration_days: days,
        ..Snapshot::default()
    };
    let model = build(Some(&plan), &snap, NOW, Options::default());
    let s = model.summary.expect("summary");
    let e = s.estimated_completion.expect("forecast");
    let datasets = e.datasets_p85.expect("datasets forecast");
    assert!(
        datasets < plan.planned_end(),
        "the datasets alone are early"
    );
    assert!(e.p85 >= model.timeline[2].projected_end.expect("p2"));
    assert_eq!(e.critical_path, ["p0", "p1", "p2"]);
    assert!(
        model.timeline[1].slip_days.expect("slip") > 0,
        "p1 waits on a late phase"
    );
    assert!(
        e.slip_days > 0,
        "the migration is late because of its phases: {e:?}"
    );
    assert_ne!(s.overall_health, Health::Healthy);
}
