//! Alert engine benchmark, beside a plain baseline measured in the same run.
//!
//! 1,000 rules — 900 thresholds over 50 metrics of 20 components and the whole migration, 40
//! rates of change, and 60 of the other kinds — evaluated over a live window of facts in a
//! steady state: alerts open, a few values moving at each evaluation, one evaluation every 15 s
//! of simulated time. The baseline is the plain work of comparing each rule's metric values
//! with its threshold in a loop, with no state.
//!
//! Run with `cargo bench -p mhd-core --bench alerts` (`MHD_BENCH_EVALS` changes the number of
//! timed evaluations, 300 by default).

use std::collections::HashMap;
use std::time::{Duration as StdDuration, Instant};

use mhd_core::alerts::{
    Acknowledgement, CollectorHealth, Comparison, DatasetEvent, Engine, Facts, MetricValue,
    RegressionFact, Rule, RuleKind, Severity, Silence, SuiteFact,
};
use time::{Duration, OffsetDateTime};

const COMPONENTS: usize = 20;
const METRICS: usize = 50;
const RULES: usize = 1_000;
const THRESHOLDS: usize = 900;
const CHANGES: usize = 40;

/// A small deterministic generator (xorshift), so every run sees the same facts.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in 0..1.
    fn unit(&mut self) -> f64 {
        (self.next() % 1_000_000) as f64 / 1_000_000.0
    }
}

fn component(i: usize) -> String {
    format!("component{i:02}")
}

fn metric(i: usize) -> String {
    format!("metric{i:02}")
}

fn rule(name: String, kind: RuleKind, i: usize) -> Rule {
    Rule {
        name,
        kind,
        for_: if i.is_multiple_of(3) {
            Duration::minutes(1)
        } else {
            Duration::ZERO
        },
        keep_firing_for: Duration::minutes(5),
        severity: [
            Severity::Info,
            Severity::Warning,
            Severity::Error,
            Severity::Critical,
        ][i % 4],
        component: i.is_multiple_of(10).then(|| component(i % COMPONENTS)),
        runbook: Some(format!("https://wiki.example/runbooks/{i}")),
        summary: None,
    }
}

/// The 1,000 rules. Metric values lie in 0..1; thresholds between 0.80 and 0.98 hold for
/// about one series in ten.
fn rules() -> Vec<Rule> {
    let mut out = Vec::with_capacity(RULES);
    for i in 0..THRESHOLDS {
        let kind = RuleKind::Threshold {
            metric: metric(i % METRICS),
            op: Comparison::Above,
            threshold: 0.80 + (i % 10) as f64 * 0.02,
        };
        out.push(rule(format!("threshold_{i}"), kind, i));
    }
    for i in 0..CHANGES {
        let kind = RuleKind::RateOfChange {
            metric: metric(i % 10),
            op: if i % 2 == 0 {
                Comparison::Above
            } else {
                Comparison::Below
            },
            threshold: if i % 2 == 0 { 20.0 } else { -20.0 },
            over: Duration::minutes(5),
            percent: true,
        };
        out.push(rule(format!("change_{i}"), kind, i));
    }
    let others = RULES - THRESHOLDS - CHANGES;
    for i in 0..others {
        let kind = match i % 6 {
            0 => RuleKind::Rollback {
                count: 2 + (i % 3) as u32,
                window: Duration::hours(1),
            },
            1 => RuleKind::Integrity,
            2 => RuleKind::Regression,
            3 => RuleKind::TestPass {
                threshold: None,
                drop: Some(0.10),
            },
            4 => RuleKind::CollectorDown { collector: None },
            _ => RuleKind::Schedule {
                days: (i % 12) as f64,
            },
        };
        out.push(rule(format!("other_{i}"), kind, i));
    }
    out
}

/// Everything the facts borrow.
struct World {
    now: OffsetDateTime,
    metrics: Vec<MetricValue>,
    history: Vec<MetricValue>,
    rollbacks: Vec<DatasetEvent>,
    integrity: Vec<DatasetEvent>,
    migrating: Vec<DatasetEvent>,
    regressions: Vec<RegressionFact>,
    suites: Vec<SuiteFact>,
    collectors: Vec<CollectorHealth>,
    blocked: Vec<String>,
    acks: Vec<Acknowledgement>,
    silences: Vec<Silence>,
    random: Random,
}

impl World {
    fn new(start: OffsetDateTime) -> World {
        let mut random = Random(0x9E37_79B9_7F4A_7C15);
        let mut metrics = Vec::new();
        for m in 0..METRICS {
            for c in 0..=COMPONENTS {
                metrics.push(MetricValue {
                    metric: metric(m),
                    component: (c < COMPONENTS).then(|| component(c)),
                    value: random.unit(),
                    at: start,
                });
            }
        }
        let event = |i: usize, at: OffsetDateTime| DatasetEvent {
            at,
            dataset: format!("dataset{i:03}"),
            component: (!i.is_multiple_of(7)).then(|| component(i % COMPONENTS)),
            detail: Some(format!("old {} rows, new {}", 1000 + i, 999 + i)),
        };
        let collectors = (0..6)
            .map(|i| CollectorHealth {
                name: format!("collector{i}"),
                kind: "prometheus".to_owned(),
                up: i != 0,
                last_success: Some(start),
                last_error: (i == 0).then(|| "connection refused".to_owned()),
                last_run: Some(start),
                last_duration_ms: Some(12.0),
                runs: 100,
                failures: 3,
                components: vec![component(i * 3)],
                metrics: vec![metric(i * 7), metric(i * 7 + 1)],
            })
            .collect();
        World {
            now: start,
            metrics,
            history: Vec::new(),
            rollbacks: (0..50)
                .map(|i| event(i, start - Duration::minutes(i as i64)))
                .collect(),
            integrity: (0..20).map(|i| event(i * 3, start)).collect(),
            migrating: (0..200).map(|i| event(i, start)).collect(),
            regressions: (0..10)
                .map(|i| RegressionFact {
                    operation: format!("operation{i}"),
                    component: Some(component(i)),
                    delta_percent: 10.0 + i as f64,
                })
                .collect(),
            suites: (0..30)
                .map(|i| SuiteFact {
                    suite: format!("suite{i}"),
                    component: Some(component(i % COMPONENTS)),
                    pass_rate: 0.7 + (i % 10) as f64 * 0.03,
                    previous: Some(0.95),
                })
                .collect(),
            collectors,
            blocked: vec![component(3)],
            acks: (1..200)
                .step_by(7)
                .map(|id| Acknowledgement {
                    alert_id: id,
                    by: "ops".to_owned(),
                    at: start,
                    comment: None,
                })
                .collect(),
            silences: vec![Silence {
                id: 1,
                rule: None,
                component: Some(component(5)),
                starts_at: start,
                until: start + Duration::days(1),
                by: "ops".to_owned(),
                comment: None,
            }],
            random,
        }
    }

    /// Fifteen seconds on: the live window keeps ten minutes of history of the metrics
    /// rate-of-change rules read, and one value in a hundred moves.
    fn tick(&mut self) {
        self.now += Duration::seconds(15);
        let now = self.now;
        for m in &mut self.metrics {
            if m.metric.as_str() < "metric10" {
                self.history.push(m.clone());
            }
        }
        let from = now - Duration::minutes(10);
        self.history.retain(|m| m.at >= from);
        let n = self.metrics.len();
        for _ in 0..n / 100 {
            let i = (self.random.next() % n as u64) as usize;
            self.metrics[i].value = self.random.unit();
        }
        for m in &mut self.metrics {
            m.at = now;
        }
    }

    fn facts(&self) -> Facts<'_> {
        Facts {
            now: self.now,
            metrics: &self.metrics,
            history: &self.history,
            rollbacks: &self.rollbacks,
            integrity: &self.integrity,
            migrating: &self.migrating,
            regressions: &self.regressions,
            suites: &self.suites,
            collectors: &self.collectors,
            schedule_delay_days: Some(5.5),
            blocked_components: &self.blocked,
            test_pass_critical: 0.85,
            acknowledgements: &self.acks,
            silences: &self.silences,
        }
    }
}

/// The baseline: each rule's metric values compared with its threshold, with no state (the
/// values found through a map by metric name built in the same loop).
fn baseline(rules: &[Rule], facts: &Facts<'_>) -> usize {
    let mut by_metric: HashMap<&str, Vec<&MetricValue>> = HashMap::new();
    for m in facts.metrics {
        by_metric.entry(m.metric.as_str()).or_default().push(m);
    }
    let mut holding = 0;
    for rule in rules {
        if let RuleKind::Threshold {
            metric,
            op,
            threshold,
        }
        | RuleKind::RateOfChange {
            metric,
            op,
            threshold,
            ..
        } = &rule.kind
        {
            for m in by_metric.get(metric.as_str()).into_iter().flatten() {
                if rule
                    .component
                    .as_deref()
                    .is_none_or(|c| m.component.as_deref() == Some(c))
                    && op.holds(m.value, *threshold)
                {
                    holding += 1;
                }
            }
        }
    }
    holding
}

fn percentile(sorted: &[StdDuration], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn main() {
    let evals: usize = std::env::var("MHD_BENCH_EVALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
        .max(200);
    let start = OffsetDateTime::from_unix_timestamp(1_735_689_600).unwrap();
    let rules = rules();
    let mut engine = Engine::new(rules.clone(), 1);
    let mut world = World::new(start);

    // The first evaluation opens every alert at once.
    world.tick();
    let t = Instant::now();
    let opened = std::hint::black_box(engine.evaluate(&world.facts())).len();
    let first = t.elapsed();

    // Ten minutes of warm-up: history fills, alerts open and settle.
    for _ in 0..40 {
        world.tick();
        std::hint::black_box(engine.evaluate(&world.facts()));
    }

    let mut ours = Vec::with_capacity(evals);
    let mut base = Vec::with_capacity(evals);
    let mut transitions = 0usize;
    let mut holding = 0usize;
    for _ in 0..evals {
        world.tick();
        let facts = world.facts();
        let t = Instant::now();
        let out = std::hint::black_box(engine.evaluate(&facts));
        ours.push(t.elapsed());
        transitions += out.len();
        let t = Instant::now();
        holding += std::hint::black_box(baseline(&rules, &facts));
        base.push(t.elapsed());
    }
    // The same facts through a new engine each time, restored from the open alerts (as a
    // caller that keeps no engine between evaluations does).
    let mut fresh = Vec::with_capacity(evals);
    for _ in 0..evals.min(100) {
        world.tick();
        let facts = world.facts();
        let open: Vec<_> = engine.open().into_iter().cloned().collect();
        let t = Instant::now();
        let mut again = Engine::new(rules.clone(), 1);
        again.restore(open);
        std::hint::black_box(again.evaluate(&facts));
        fresh.push(t.elapsed());
        engine.evaluate(&facts);
    }
    ours.sort();
    base.sort();
    fresh.sort();
    println!(
        "alert engine: {} rules over {} metric values ({} metrics × {} components and the \
         whole migration), {} evaluations",
        rules.len(),
        world.metrics.len(),
        METRICS,
        COMPONENTS,
        evals
    );
    println!(
        "  steady state: {} alerts open, {:.1} transitions and {:.0} holding series per evaluation",
        engine.open().len(),
        transitions as f64 / evals as f64,
        holding as f64 / evals as f64
    );
    println!(
        "  first evaluation, {opened} alerts opened at once: {:.3} ms",
        first.as_secs_f64() * 1e3
    );
    println!(
        "  baseline: compare each rule's values, no state   median {:>6.3} ms   p99 {:>6.3} ms",
        percentile(&base, 0.5),
        percentile(&base, 0.99)
    );
    println!(
        "  mhd: Engine::evaluate                             median {:>6.3} ms   p99 {:>6.3} ms",
        percentile(&ours, 0.5),
        percentile(&ours, 0.99)
    );
    println!(
        "  a new engine each time: new + restore + evaluate  median {:>6.3} ms   p99 {:>6.3} ms \
         ({} evaluations)",
        percentile(&fresh, 0.5),
        percentile(&fresh, 0.99),
        fresh.len()
    );
}
