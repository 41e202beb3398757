//! What each kind of rule sees in the facts: the conditions that hold now, at most one per key.
//!
//! A condition is what would make an alert: the key's subject (a component, `*` for the
//! migration as a whole, or a collector's name), the value behind it and the details its message
//! and impact are made from. The state machine ([`super::engine`]) turns conditions into alerts.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use time::{Duration, OffsetDateTime};

use super::{
    CollectorHealth, Comparison, DatasetEvent, Facts, MetricValue, RegressionFact, Rule, RuleKind,
    SuiteFact,
};
use crate::plan::duration_text;

/// The subject of a key when a condition concerns the migration as a whole (or events with no
/// component).
pub(super) const WHOLE: &str = "*";

/// How many datasets a message names before "and N more".
const NAMED: usize = 5;

/// A table keyed by names the plan fixes (the metrics its rules name), hashed with FNV-1a.
/// Input only looks names up, never adds them, so a crafted collision costs one comparison
/// more, never a slow table; that makes the fast hash safe here.
type Table<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// FNV-1a, 64 bits.
pub(super) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// The facts arranged for the rules: built once per evaluation, only for what the rules read.
pub(super) struct Index<'a> {
    /// The latest value of each metric a rule names, by component (`None`: the whole migration).
    metrics: Table<&'a str, BTreeMap<Option<&'a str>, &'a MetricValue>>,
    /// For each metric a rate-of-change rule names: the spans its rules look back over, and by
    /// component the newest earlier point at or before `now − over` for each span.
    history: Table<&'a str, Earlier<'a>>,
    /// Datasets being migrated, by component, sorted and without repeats.
    migrating: BTreeMap<&'a str, Vec<&'a str>>,
    /// Every dataset being migrated, sorted and without repeats.
    migrating_all: Vec<&'a str>,
    /// Every (component, dataset) being migrated, sorted and without repeats: what the impact
    /// of metric rules' alerts is made from.
    pub(super) migrating_pairs: Vec<(Option<&'a str>, &'a str)>,
}

/// The earlier points of one metric that rate-of-change rules compare with.
struct Earlier<'a> {
    /// The spans (`over`) of the rules on the metric.
    spans: &'a [Duration],
    /// `now − span` for each span.
    cutoffs: Vec<OffsetDateTime>,
    /// The newest point at or before each cutoff, by component.
    points: BTreeMap<Option<&'a str>, Vec<Option<&'a MetricValue>>>,
}

impl<'a> Index<'a> {
    /// Arranges the facts: the metrics named in `metrics` (threshold and rate-of-change rules)
    /// and the history of those named in `history` with the spans their rules look back over
    /// (rate-of-change rules).
    pub(super) fn new(
        facts: &Facts<'a>,
        metrics: &'a HashSet<String>,
        history: &'a HashMap<String, Vec<Duration>>,
    ) -> Index<'a> {
        let mut latest: Table<&'a str, BTreeMap<Option<&'a str>, &'a MetricValue>> = metrics
            .iter()
            .map(|m| (m.as_str(), BTreeMap::new()))
            .collect();
        if !latest.is_empty() {
            for m in facts.metrics {
                let Some(by_component) = latest.get_mut(m.metric.as_str()) else {
                    continue;
                };
                let slot = by_component.entry(m.component.as_deref()).or_insert(m);
                // Two values of the same series: the later one counts (the last given on a tie).
                if m.at >= slot.at {
                    *slot = m;
                }
            }
        }
        let mut earlier: Table<&'a str, Earlier<'a>> = history
            .iter()
            .map(|(m, spans)| {
                let earlier = Earlier {
                    spans,
                    cutoffs: spans.iter().map(|s| facts.now - *s).collect(),
                    points: BTreeMap::new(),
                };
                (m.as_str(), earlier)
            })
            .collect();
        if !earlier.is_empty() {
            if facts.history.is_sorted_by(|a, b| a.at <= b.at) {
                find_earlier_sorted(facts.history, &mut earlier, &latest);
            } else {
                find_earlier(facts.history, &mut earlier);
            }
        }
        let mut pairs: Vec<(Option<&'a str>, &'a str)> = facts
            .migrating
            .iter()
            .map(|e| (e.component.as_deref(), e.dataset.as_str()))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        let mut migrating: BTreeMap<&'a str, Vec<&'a str>> = BTreeMap::new();
        let mut migrating_all = Vec::with_capacity(pairs.len());
        for (component, dataset) in &pairs {
            migrating_all.push(*dataset);
            if let Some(c) = component {
                // Sorted by component then dataset: each list comes sorted.
                migrating.entry(*c).or_default().push(*dataset);
            }
        }
        migrating_all.sort_unstable();
        migrating_all.dedup();
        Index {
            metrics: latest,
            history: earlier,
            migrating,
            migrating_all,
            migrating_pairs: pairs,
        }
    }

    /// The datasets being migrated on a component, or all of them for the whole migration.
    pub(super) fn migrating(&self, component: Option<&str>) -> &[&'a str] {
        match component {
            None => &self.migrating_all,
            Some(c) => self.migrating.get(c).map(Vec::as_slice).unwrap_or(&[]),
        }
    }

    /// The newest point of a metric's series at or before `now − over`.
    fn earlier(
        &self,
        metric: &str,
        component: Option<&str>,
        over: Duration,
    ) -> Option<&'a MetricValue> {
        let e = self.history.get(metric)?;
        let i = e.spans.iter().position(|s| *s == over)?;
        e.points.get(&component)?.get(i).copied().flatten()
    }
}

/// The newest point at or before each cutoff, in history in any order: every point looked at.
fn find_earlier<'a>(history: &'a [MetricValue], earlier: &mut Table<&'a str, Earlier<'a>>) {
    for p in history {
        let Some(e) = earlier.get_mut(p.metric.as_str()) else {
            continue;
        };
        // Points after every cutoff are not looked at.
        if e.cutoffs.iter().all(|c| p.at > *c) {
            continue;
        }
        let n = e.cutoffs.len();
        let slots = e
            .points
            .entry(p.component.as_deref())
            .or_insert_with(|| vec![None; n]);
        for (slot, cutoff) in slots.iter_mut().zip(&e.cutoffs) {
            // The last given wins a tie.
            if p.at <= *cutoff && slot.is_none_or(|b: &MetricValue| p.at >= b.at) {
                *slot = Some(p);
            }
        }
    }
}

/// The same over history sorted oldest first (as the facts give it): for each span, a walk
/// back from the cutoff that stops once every series with a latest value has its point, so a
/// steady collection costs one round of points, not the whole window. The first point met
/// going back is the newest, and the last given on a tie, as [`find_earlier`] finds.
fn find_earlier_sorted<'a>(
    history: &'a [MetricValue],
    earlier: &mut Table<&'a str, Earlier<'a>>,
    latest: &Table<&'a str, BTreeMap<Option<&'a str>, &'a MetricValue>>,
) {
    let mut spans: Vec<(Duration, OffsetDateTime)> = Vec::new();
    for e in earlier.values() {
        for (span, cutoff) in e.spans.iter().zip(&e.cutoffs) {
            if !spans.iter().any(|(s, _)| s == span) {
                spans.push((*span, *cutoff));
            }
        }
    }
    for (span, cutoff) in spans {
        let wanted: usize = earlier
            .iter()
            .filter(|(_, e)| e.spans.contains(&span))
            .map(|(m, _)| latest.get(m).map_or(0, BTreeMap::len))
            .sum();
        let mut found = 0;
        let end = history.partition_point(|p| p.at <= cutoff);
        for p in history[..end].iter().rev() {
            if found >= wanted {
                break;
            }
            let Some(e) = earlier.get_mut(p.metric.as_str()) else {
                continue;
            };
            let Some(i) = e.spans.iter().position(|s| *s == span) else {
                continue;
            };
            let n = e.spans.len();
            let slots = e
                .points
                .entry(p.component.as_deref())
                .or_insert_with(|| vec![None; n]);
            if let Some(slot) = slots.get_mut(i)
                && slot.is_none()
            {
                *slot = Some(p);
                let has_latest = latest
                    .get(p.metric.as_str())
                    .is_some_and(|l| l.contains_key(&p.component.as_deref()));
                if has_latest {
                    found += 1;
                }
            }
        }
    }
}

/// One condition that holds now.
#[derive(Debug)]
pub(super) struct Condition<'a> {
    /// What the key names after the rule: a component, [`WHOLE`], or a collector's name.
    pub subject: Cow<'a, str>,
    /// The component, if the condition concerns one.
    pub component: Option<&'a str>,
    /// The value shown with the alert.
    pub value: Option<f64>,
    /// What was seen.
    pub detail: Detail<'a>,
}

/// What was seen, by kind of rule.
#[derive(Debug)]
pub(super) enum Detail<'a> {
    /// A metric compared with a level.
    Threshold {
        metric: &'a str,
        op: Comparison,
        threshold: f64,
    },
    /// A metric's change over a span compared with a level.
    Change {
        metric: &'a str,
        op: Comparison,
        threshold: f64,
        over: Duration,
        percent: bool,
        earlier: f64,
        latest: f64,
    },
    /// Rollbacks within a window.
    Rollbacks {
        count: u32,
        window: Duration,
        events: Vec<&'a DatasetEvent>,
    },
    /// Integrity failures.
    Integrity { events: Vec<&'a DatasetEvent> },
    /// Performance regressions.
    Regression { items: Vec<&'a RegressionFact> },
    /// Suites under their level or dropped.
    TestPass {
        threshold: f64,
        drop: Option<f64>,
        suites: Vec<&'a SuiteFact>,
    },
    /// A collector whose last run failed.
    CollectorDown { collector: &'a CollectorHealth },
    /// The forecast behind the planned end.
    Schedule { delay: f64, days: f64 },
}

impl Condition<'_> {
    /// What was seen, in one line: "error_rate 0.12 > 0.05 on storage".
    pub(super) fn message(&self) -> String {
        let on = on(self.component);
        match &self.detail {
            Detail::Threshold {
                metric,
                op,
                threshold,
            } => {
                let rule = format!(
                    "{metric} {} {} {}",
                    number(self.value.unwrap_or(f64::NAN)),
                    op.symbol(),
                    number(*threshold)
                );
                match (
                    self.value
                        .and_then(|v| plain_threshold(metric, *op, *threshold, v)),
                    self.component,
                ) {
                    (Some(words), Some(c)) => format!("{c}: {words} ({rule})"),
                    (Some(words), None) => format!("{} ({rule})", capitalised(&words)),
                    (None, _) => format!("{rule}{on}"),
                }
            }
            Detail::Change {
                metric,
                op,
                threshold,
                over,
                percent,
                earlier,
                latest,
            } => {
                let unit = if *percent { " %" } else { "" };
                format!(
                    "{metric} changed {}{unit} over {} ({} → {}), {} {}{unit}{on}",
                    signed(self.value.unwrap_or(f64::NAN)),
                    duration_text(*over),
                    number(*earlier),
                    number(*latest),
                    op.symbol(),
                    number(*threshold),
                )
            }
            Detail::Rollbacks {
                count,
                window,
                events,
            } => format!(
                "{} rollbacks within {} (at least {count}){on}: {}",
                events.len(),
                duration_text(*window),
                named(&distinct_datasets(events), |d| (*d).to_owned())
            ),
            Detail::Integrity { events } => {
                let mut seen = HashSet::new();
                let firsts: Vec<&DatasetEvent> = events
                    .iter()
                    .copied()
                    .filter(|e| seen.insert(e.dataset.as_str()))
                    .collect();
                let what = if firsts.len() == 1 {
                    "1 dataset".to_owned()
                } else {
                    format!("{} datasets", firsts.len())
                };
                format!(
                    "integrity check failed for {what}{on}: {}",
                    named(&firsts, |e| match &e.detail {
                        Some(d) => format!("{} ({d})", e.dataset),
                        None => e.dataset.clone(),
                    })
                )
            }
            Detail::Regression { items } => format!(
                "slower than the old system{on}: {}",
                items
                    .iter()
                    .map(|r| format!("{} {}", r.operation, signed_percent(r.delta_percent)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Detail::TestPass {
                threshold,
                drop,
                suites,
            } => suites
                .iter()
                .map(|s| {
                    let mut text =
                        format!("suite {} {}", s.suite, crate::format::percent(s.pass_rate));
                    let under = s.pass_rate < *threshold;
                    if under {
                        text.push_str(&format!(" < {}", crate::format::percent(*threshold)));
                    }
                    if let (Some(drop), Some(previous)) = (drop, s.previous)
                        && previous - s.pass_rate > *drop
                    {
                        text.push_str(&format!(
                            "{}dropped from {} (more than {} points)",
                            if under { ", " } else { " " },
                            crate::format::percent(previous),
                            number(drop * 100.0)
                        ));
                    }
                    text
                })
                .collect::<Vec<_>>()
                .join("; "),
            Detail::CollectorDown { collector } => match &collector.last_error {
                Some(e) => format!(
                    "collector {} ({}) is down: {e}",
                    collector.name, collector.kind
                ),
                None => format!("collector {} ({}) is down", collector.name, collector.kind),
            },
            Detail::Schedule { delay, days } => format!(
                "forecast {} days behind the planned end (more than {})",
                number(*delay),
                number(*days)
            ),
        }
    }

    /// The datasets it affects: those rolled back or failing verification, or those being
    /// migrated on the component (all of them for the whole migration) for metric rules;
    /// sorted, without repeats.
    pub(super) fn datasets<'s>(&'s self, index: &'s Index<'_>) -> Cow<'s, [&'s str]> {
        match &self.detail {
            Detail::Threshold { .. } | Detail::Change { .. } => {
                Cow::Borrowed(index.migrating(self.component))
            }
            Detail::Rollbacks { events, .. } | Detail::Integrity { events } => {
                let mut out = distinct_datasets(events);
                out.sort_unstable();
                Cow::Owned(out)
            }
            _ => Cow::Borrowed(&[]),
        }
    }

    /// The components it concerns: its own; a collector's; for a metric rule on the whole
    /// migration, those with datasets being migrated.
    pub(super) fn components(&self, index: &Index<'_>) -> Vec<String> {
        match (&self.detail, self.component) {
            (Detail::CollectorDown { collector }, _) => collector.components.clone(),
            (_, Some(c)) => vec![c.to_owned()],
            (Detail::Threshold { .. } | Detail::Change { .. }, None) => {
                index.migrating.keys().map(|c| (*c).to_owned()).collect()
            }
            (_, None) => Vec::new(),
        }
    }

    /// Whether it is a metric rule's (threshold or rate of change), whose message and impact
    /// depend only on its value and the datasets being migrated.
    pub(super) fn is_metric(&self) -> bool {
        matches!(
            self.detail,
            Detail::Threshold { .. } | Detail::Change { .. }
        )
    }

    /// A 64-bit fingerprint (FNV-1a) of everything its value, message and (but for metric
    /// rules, whose impact comes from the datasets being migrated) impact are made from, the
    /// rule and key aside: an alert whose condition has the same fingerprint as at the last
    /// evaluation keeps its text, so a steady state costs no new text.
    pub(super) fn fingerprint(&self) -> u64 {
        let mut h = Fnv::default();
        let mut f = |v: f64| h.write_u64(v.to_bits());
        f(self.value.unwrap_or(f64::NAN));
        match &self.detail {
            Detail::Threshold { .. } | Detail::Schedule { .. } => {}
            Detail::Change {
                earlier, latest, ..
            } => {
                f(*earlier);
                f(*latest);
            }
            Detail::Rollbacks { events, .. } | Detail::Integrity { events } => {
                for e in events {
                    h.write(e.dataset.as_bytes());
                    h.write_u8(0xff);
                    h.write(e.detail.as_deref().unwrap_or("").as_bytes());
                    h.write_u8(0xff);
                }
            }
            Detail::Regression { items } => {
                for r in items {
                    h.write(r.operation.as_bytes());
                    h.write_u8(0xff);
                    h.write_u64(r.delta_percent.to_bits());
                }
            }
            Detail::TestPass { suites, .. } => {
                for s in suites {
                    h.write(s.suite.as_bytes());
                    h.write_u8(0xff);
                    h.write_u64(s.pass_rate.to_bits());
                    h.write_u64(s.previous.unwrap_or(f64::NAN).to_bits());
                }
            }
            Detail::CollectorDown { collector } => {
                for text in [&collector.kind]
                    .into_iter()
                    .chain(&collector.last_error)
                    .chain(&collector.components)
                {
                    h.write(text.as_bytes());
                    h.write_u8(0xff);
                }
            }
        }
        h.finish()
    }
}

/// Every condition of `rule` that holds now, sorted by subject, at most one per subject.
///
/// By kind (each explained further at its function):
///
/// - threshold and rate of change: one per series of the metric (the whole migration, `*`,
///   and each component) — see [`threshold_conditions`], [`change_conditions`];
/// - rollback: one per component with enough rollbacks in the window (`*` for rollbacks with no
///   component) — see [`rollback_conditions`];
/// - integrity: one per component with a failure standing (`*` without a component); its
///   value is the number of datasets, its message names up to five with their detail;
/// - regression: one per component with a regression (`*` without one); its value is the
///   largest slowdown in percent, its message names each operation and its delta (a NaN delta
///   does not count);
/// - test pass: one per component with a failing suite (`*` without one) — see
///   [`test_pass_conditions`];
/// - collector down: one per collector (its name is the subject) whose last run failed, once it
///   has run at least once (a collector that never ran has nothing to report yet), or only the
///   rule's `collector`; no component;
/// - schedule: `*` when the forecast is more than `days` behind the planned end (its value).
///
/// A rule's `component` keeps that component's conditions alone (for `collector_down`, the
/// collectors that supply it); it does not apply to `schedule`, which has none.
pub(super) fn conditions<'a>(
    rule: &'a Rule,
    facts: &Facts<'a>,
    index: &Index<'a>,
) -> Vec<Condition<'a>> {
    let only = rule.component.as_deref();
    let mut out = match &rule.kind {
        RuleKind::Threshold {
            metric,
            op,
            threshold,
        } => threshold_conditions(metric, *op, *threshold, only, index),
        RuleKind::RateOfChange {
            metric,
            op,
            threshold,
            over,
            percent,
        } => change_conditions(metric, *op, *threshold, *over, *percent, only, index),
        RuleKind::Rollback { count, window } => rollback_conditions(*count, *window, only, facts),
        RuleKind::Integrity => by_component(facts.integrity, |e| e.component.as_deref(), only)
            .into_iter()
            .map(|(component, events)| Condition {
                subject: subject(component),
                component,
                value: Some(distinct_datasets(&events).len() as f64),
                detail: Detail::Integrity { events },
            })
            .collect(),
        RuleKind::Regression => by_component(facts.regressions, |r| r.component.as_deref(), only)
            .into_iter()
            .filter(|(_, items)| items.iter().any(|r| !r.delta_percent.is_nan()))
            .map(|(component, items)| Condition {
                subject: subject(component),
                component,
                value: items
                    .iter()
                    .map(|r| r.delta_percent)
                    .filter(|d| !d.is_nan())
                    .reduce(f64::max),
                detail: Detail::Regression { items },
            })
            .collect(),
        RuleKind::TestPass { threshold, drop } => test_pass_conditions(
            threshold.unwrap_or(facts.test_pass_critical),
            *drop,
            only,
            facts,
        ),
        RuleKind::CollectorDown { collector } => facts
            .collectors
            .iter()
            .filter(|c| {
                !c.up
                    && c.last_run.is_some()
                    && collector.as_deref().is_none_or(|n| n == c.name)
                    && only.is_none_or(|o| c.components.iter().any(|x| x == o))
            })
            .map(|c| Condition {
                subject: Cow::Borrowed(c.name.as_str()),
                component: None,
                value: None,
                detail: Detail::CollectorDown { collector: c },
            })
            .collect(),
        RuleKind::Schedule { days } => match facts.schedule_delay_days {
            Some(delay) if delay > *days => vec![Condition {
                subject: Cow::Borrowed(WHOLE),
                component: None,
                value: Some(delay),
                detail: Detail::Schedule { delay, days: *days },
            }],
            _ => Vec::new(),
        },
    };
    out.sort_by(|a, b| a.subject.cmp(&b.subject));
    out.dedup_by(|a, b| a.subject == b.subject);
    out
}

/// Threshold: every latest value of the metric (the whole migration's and each component's, or
/// only the rule's component) for which `value op threshold` holds; NaN never holds.
fn threshold_conditions<'a>(
    metric: &'a str,
    op: Comparison,
    threshold: f64,
    only: Option<&str>,
    index: &Index<'a>,
) -> Vec<Condition<'a>> {
    let Some(series) = index.metrics.get(metric) else {
        return Vec::new();
    };
    series
        .iter()
        .filter(|(component, _)| only.is_none_or(|o| **component == Some(o)))
        .filter(|(_, m)| op.holds(m.value, threshold))
        .map(|(component, m)| Condition {
            subject: subject(*component),
            component: *component,
            value: Some(m.value),
            detail: Detail::Threshold {
                metric,
                op,
                threshold,
            },
        })
        .collect()
}

/// Rate of change: for each latest value of the metric, the change since the newest earlier
/// point at or before `now − over` (in the metric's unit, or in percent of the earlier value
/// with `percent`), compared with the threshold. No such earlier point, or an earlier value of
/// zero with `percent`, and the series is not evaluated; a change that is not a finite number
/// never holds.
fn change_conditions<'a>(
    metric: &'a str,
    op: Comparison,
    threshold: f64,
    over: Duration,
    percent: bool,
    only: Option<&str>,
    index: &Index<'a>,
) -> Vec<Condition<'a>> {
    let Some(series) = index.metrics.get(metric) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (component, latest) in series {
        if only.is_some_and(|o| *component != Some(o)) {
            continue;
        }
        let Some(earlier) = index.earlier(metric, *component, over) else {
            continue;
        };
        let change = if percent {
            if earlier.value == 0.0 {
                continue;
            }
            (latest.value - earlier.value) * 100.0 / earlier.value.abs()
        } else {
            latest.value - earlier.value
        };
        if change.is_finite() && op.holds(change, threshold) {
            out.push(Condition {
                subject: subject(*component),
                component: *component,
                value: Some(change),
                detail: Detail::Change {
                    metric,
                    op,
                    threshold,
                    over,
                    percent,
                    earlier: earlier.value,
                    latest: latest.value,
                },
            });
        }
    }
    out
}

/// Rollbacks: at least `count` rollbacks dated within `window` of now (`now − window ≤ at ≤
/// now`), counted per component; rollbacks with no component are counted together for the
/// migration as a whole (`*`).
fn rollback_conditions<'a>(
    count: u32,
    window: Duration,
    only: Option<&str>,
    facts: &Facts<'a>,
) -> Vec<Condition<'a>> {
    let from = facts.now - window;
    let recent: Vec<&'a DatasetEvent> = facts
        .rollbacks
        .iter()
        .filter(|e| from <= e.at && e.at <= facts.now)
        .collect();
    by_component(recent, |e| e.component.as_deref(), only)
        .into_iter()
        .filter(|(_, events)| events.len() as u64 >= u64::from(count))
        .map(|(component, events)| Condition {
            subject: subject(component),
            component,
            value: Some(events.len() as f64),
            detail: Detail::Rollbacks {
                count,
                window,
                events,
            },
        })
        .collect()
}

/// Test pass rate: suites whose pass rate is under `threshold` (the rule's, else the plan's
/// `test_pass_critical`) or fell by more than `drop` since the previous run, grouped by the
/// suite's component (`*` for suites without one). NaN never holds.
fn test_pass_conditions<'a>(
    threshold: f64,
    drop: Option<f64>,
    only: Option<&str>,
    facts: &Facts<'a>,
) -> Vec<Condition<'a>> {
    let failing = facts.suites.iter().filter(|s| {
        s.pass_rate < threshold
            || matches!((drop, s.previous), (Some(d), Some(p)) if p - s.pass_rate > d)
    });
    by_component(failing, |s| s.component.as_deref(), only)
        .into_iter()
        .map(|(component, suites)| Condition {
            subject: subject(component),
            component,
            value: suites.iter().map(|s| s.pass_rate).reduce(f64::min),
            detail: Detail::TestPass {
                threshold,
                drop,
                suites,
            },
        })
        .collect()
}

/// Groups items by component, in the items' order within each group; with `only`, keeps that
/// component's group alone.
fn by_component<'a, T: 'a>(
    items: impl IntoIterator<Item = &'a T>,
    component: impl Fn(&'a T) -> Option<&'a str>,
    only: Option<&str>,
) -> BTreeMap<Option<&'a str>, Vec<&'a T>> {
    let mut out: BTreeMap<Option<&'a str>, Vec<&'a T>> = BTreeMap::new();
    for item in items {
        let c = component(item);
        if only.is_none_or(|o| c == Some(o)) {
            out.entry(c).or_default().push(item);
        }
    }
    out
}

/// The key's subject for a component: its name, or `*`.
fn subject(component: Option<&str>) -> Cow<'_, str> {
    Cow::Borrowed(component.unwrap_or(WHOLE))
}

/// " on storage", or nothing for the whole migration.
fn on(component: Option<&str>) -> String {
    component.map(|c| format!(" on {c}")).unwrap_or_default()
}

/// The datasets of events, in order of first appearance, without repeats.
fn distinct_datasets<'a>(events: &[&'a DatasetEvent]) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    events
        .iter()
        .map(|e| e.dataset.as_str())
        .filter(|d| seen.insert(*d))
        .collect()
}

/// Up to five items, then "and N more".
fn named<T>(items: &[T], show: impl Fn(&T) -> String) -> String {
    let mut text = items
        .iter()
        .take(NAMED)
        .map(show)
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > NAMED {
        text.push_str(&format!(" and {} more", items.len() - NAMED));
    }
    text
}

/// A number as people read it: four significant digits at most, no trailing zeros ("0.12",
/// "1234.5", "85").
pub(super) fn number(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v == v.trunc() && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(1, 12) as usize;
    let text = format!("{v:.decimals$}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// A change with its sign: "+0.07", "-3".
fn signed(v: f64) -> String {
    if v > 0.0 {
        format!("+{}", number(v))
    } else {
        number(v)
    }
}

/// A percentage with its sign and one decimal: "+35.0 %".
fn signed_percent(v: f64) -> String {
    if v > 0.0 {
        format!("+{v:.1} %")
    } else {
        format!("{v:.1} %")
    }
}

/// A threshold condition in plain words, with its value: "6.9 % of operations failing,
/// limit 5 %". `None` for a metric without words of its own.
pub(super) fn plain_threshold(
    metric: &str,
    op: crate::plan::Comparison,
    threshold: f64,
    value: f64,
) -> Option<String> {
    let pct = |v: f64| format!("{} %", number((v * 1000.0).round() / 10.0));
    let limit = match op {
        crate::plan::Comparison::Above | crate::plan::Comparison::AtLeast => "limit",
        crate::plan::Comparison::Below | crate::plan::Comparison::AtMost => "expected at least",
    };
    let one = |v: f64| number((v * 10.0).round() / 10.0);
    Some(match metric {
        "error_rate" => format!(
            "{} of operations failing, {limit} {}",
            pct(value),
            pct(threshold)
        ),
        "migration_success_rate" => format!(
            "{} of migrations succeeding, {limit} {}",
            pct(value),
            pct(threshold)
        ),
        "connection_pool_usage" => format!(
            "connection pool {} used, {limit} {}",
            pct(value),
            pct(threshold)
        ),
        "p95_duration_ms" => format!(
            "p95 duration {} ms, {limit} {} ms",
            one(value),
            one(threshold)
        ),
        "mean_duration_ms" => format!(
            "mean duration {} ms, {limit} {} ms",
            one(value),
            one(threshold)
        ),
        "memory_percent" => format!("memory {} % used, {limit} {} %", one(value), one(threshold)),
        "cpu_percent" => format!("CPU {} % busy, {limit} {} %", one(value), one(threshold)),
        "operations_per_second" => format!(
            "{} operations a second, {limit} {}",
            one(value),
            one(threshold)
        ),
        "schedule_delay_days" => format!(
            "forecast {} days behind the plan, {limit} {}",
            one(value),
            one(threshold)
        ),
        "rollbacks" => format!("{} rollbacks, {limit} {}", one(value), one(threshold)),
        "log_errors_per_minute" => format!(
            "{} logged errors a minute, {limit} {}",
            one(value),
            one(threshold)
        ),
        _ => return None,
    })
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
