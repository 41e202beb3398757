//! The state machine: open alerts by key, moved through their states by each evaluation.
//!
//! For each rule, in the plan's order, and each key (`{rule}/{component or "*"}`, or
//! `{rule}/{collector}` for `collector_down`):
//!
//! - **Condition true, no open alert**: a new alert, `pending` (event `Pending`, nobody told).
//!   With `for = 0` it fires in the same evaluation and only `Fired` is returned.
//! - **Condition true, alert open**: the same alert, never a new one: its value, message,
//!   `last_seen` and impact are brought up to date, and a firing alert waiting out
//!   `keep_firing_for` stops waiting (`clear_since` is cleared: a flapping metric neither
//!   resolves nor fires again). A pending alert whose condition has held for `for` (from
//!   `started_at` to `facts.now`) fires (event `Fired`).
//! - **Condition false, alert pending**: dropped (event `Cancelled`, nobody told).
//! - **Condition false, alert firing**: `clear_since` is set; once the condition has been clear
//!   for `keep_firing_for` the alert resolves (event `Resolved`, resolution `automatic`) and
//!   leaves the engine; the store keeps the history.
//! - **Rule no longer in the plan**: its firing alerts resolve (automatic), its pending ones are
//!   cancelled.
//!
//! Who is told ([`Transition::notify`]):
//!
//! - `Fired` is sent unless the alert is silenced ([`silenced`]) or suppressed: its cause is
//!   announced upstream (a metric rule's alert on a component of a blocked phase, or on a metric
//!   written by a collector that is down; `collector_down` alerts are never suppressed), or it
//!   is part of an incident already told — **inhibited** by a firing alert on the same metric
//!   and component of a higher severity (the critical error rate silences its warning
//!   sibling), or **grouped** (a whole-migration alert while an alert on the same metric, at
//!   least as severe, fires on a component). Every suppressed alert stays open and visible with
//!   its `suppressed_by`. A sent `Fired` marks the alert `notified`.
//! - **Titles** say what is wrong in words: a threshold rule without `summary` on a known
//!   metric reads "Storage: 6.9 % of operations failing, limit 5 %" (its value kept up to date
//!   with its message); others use the rule's `summary` or a sentence made from the rule.
//! - A firing alert that was not sent because it was silenced or suppressed is sent (a `Fired`
//!   transition with `notify`) at the first evaluation where it is neither, if it still fires:
//!   people hear about what is still wrong once the reason to keep quiet is gone.
//! - `Resolved` is sent exactly when the alert's `Fired` was (`notified`), silenced or not since:
//!   whoever heard "firing" always hears "resolved", and nobody hears "resolved" alone.
//! - `Pending` and `Cancelled` are never sent; acknowledging never sends anything.
//!
//! Transitions come sorted by the rule's place in the plan (rules no longer in it last), then
//! by key, so the same facts give the same output.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use time::{Duration, OffsetDateTime};

use super::conditions::{Condition, Index, conditions, number};
use super::{
    Acknowledgement, Alert, AlertEvent, AlertState, CollectorHealth, Facts, Impact, Resolution,
    Rule, RuleKind, Severity, Silence, Transition,
};
use crate::plan::duration_text;

/// The alert engine: the plan's rules, the open (pending and firing) alerts by key, and the next
/// alert id. Pure: the time is always taken from the caller.
///
/// Alerts that stay open change too between transitions (`value`, `message`, `last_seen`,
/// `clear_since`, impact, `suppressed_by`, `acknowledged`): a caller that builds a new engine
/// for each evaluation must save [`Engine::open`] after it as well as the transitions, or
/// `keep_firing_for` never elapses (its start, `clear_since`, changes without a transition).
/// Keeping one engine between evaluations is also what makes a steady state cheap: an alert
/// whose condition did not change costs no new text.
#[derive(Debug, Clone)]
pub struct Engine {
    rules: Vec<Rule>,
    /// Each rule's place in `rules` by name (the first of a name: a later rule of the same name
    /// is skipped).
    places: HashMap<String, usize>,
    /// Whether each rule is the first of its name.
    first: Vec<bool>,
    /// The start of each rule's alerts' titles.
    bases: Vec<String>,
    /// Open alerts by the rule's place, then by the key's subject (what follows `{rule}/`).
    open: Vec<BTreeMap<String, Open>>,
    /// Open alerts handed to [`Engine::restore`] whose rule is no longer in the plan, or whose
    /// key is already taken by a newer one; the next evaluation closes them, so at most one
    /// alert per key stays open.
    stale: Vec<Alert>,
    next_id: i64,
    /// The metrics named by threshold and rate-of-change rules.
    metrics: HashSet<String>,
    /// The metrics named by rate-of-change rules, whose history is read, with the spans their
    /// rules look back over.
    history: HashMap<String, Vec<Duration>>,
    /// The (component, dataset) pairs being migrated at the last evaluation, and a number
    /// that changes whenever they do: metric alerts copy their impact's datasets only then.
    migrating: Vec<(Option<String>, String)>,
    migrating_version: u64,
    /// What announced causes upstream at the last evaluation (the components of blocked phases,
    /// and each collector that was down with its components and metrics), and a number that
    /// changes whenever it does: alerts recompute their suppression only then.
    upstream: Announced,
    upstream_version: u64,
    /// Components' names by id, for titles ("Storage: …").
    names: HashMap<String, String>,
}

/// What announced causes upstream at an evaluation: the components of blocked phases, and
/// each collector that was down with its components and metrics.
#[derive(Debug, Clone, Default)]
struct Announced {
    blocked: Vec<String>,
    down: Vec<DownCollector>,
}

/// A collector that was down.
#[derive(Debug, Clone)]
struct DownCollector {
    name: String,
    components: Vec<String>,
    metrics: Vec<String>,
}

impl Announced {
    fn of(facts: &Facts<'_>) -> Announced {
        Announced {
            blocked: facts.blocked_components.to_vec(),
            down: facts
                .collectors
                .iter()
                .filter(|c| !c.up)
                .map(|c| DownCollector {
                    name: c.name.clone(),
                    components: c.components.clone(),
                    metrics: c.metrics.clone(),
                })
                .collect(),
        }
    }

    /// Whether the facts announce the same.
    fn is(&self, facts: &Facts<'_>) -> bool {
        let mut down = facts.collectors.iter().filter(|c| !c.up);
        self.blocked.as_slice() == facts.blocked_components
            && self.down.iter().all(|d| {
                down.next().is_some_and(|c| {
                    d.name == c.name && d.components == c.components && d.metrics == c.metrics
                })
            })
            && down.next().is_none()
    }
}

/// An open alert, and the versions of the facts its impact and suppression were made from.
#[derive(Debug, Clone)]
struct Open {
    alert: Alert,
    /// Why nobody is told because of what is announced upstream (see [`Upstream`]).
    upstream: Option<String>,
    /// The fingerprint of the condition its value and message were made from (0: none).
    fingerprint: u64,
    /// The version of the datasets being migrated its impact was made from (0: none).
    migrating_version: u64,
    /// The version of what announces causes upstream its suppression was made from (0: none).
    upstream_version: u64,
}

impl Engine {
    /// An engine for these rules; new alerts get ids from `next_id` on (the store's max id + 1).
    pub fn new(rules: Vec<Rule>, next_id: i64) -> Engine {
        let mut metrics = HashSet::new();
        let mut history: HashMap<String, Vec<Duration>> = HashMap::new();
        let mut places = HashMap::new();
        let mut first = Vec::with_capacity(rules.len());
        for (place, rule) in rules.iter().enumerate() {
            first.push(!places.contains_key(&rule.name));
            places.entry(rule.name.clone()).or_insert(place);
            match &rule.kind {
                RuleKind::Threshold { metric, .. } => {
                    metrics.insert(metric.clone());
                }
                RuleKind::RateOfChange { metric, over, .. } => {
                    metrics.insert(metric.clone());
                    let spans = history.entry(metric.clone()).or_default();
                    if !spans.contains(over) {
                        spans.push(*over);
                    }
                }
                _ => {}
            }
        }
        Engine {
            open: vec![BTreeMap::new(); rules.len()],
            bases: rules.iter().map(base_title).collect(),
            rules,
            places,
            first,
            stale: Vec::new(),
            next_id,
            metrics,
            history,
            migrating: Vec::new(),
            migrating_version: 1,
            upstream: Announced::default(),
            upstream_version: 1,
            names: HashMap::new(),
        }
    }

    /// Names components in titles ("Storage: …") by the plan's names instead of their ids.
    pub fn with_component_names(
        mut self,
        names: impl IntoIterator<Item = (String, String)>,
    ) -> Engine {
        self.names = names.into_iter().collect();
        self
    }

    /// Takes back the alerts that were pending or firing when the server stopped.
    ///
    /// They keep their ids, states and times (a pending alert still fires `for` after it
    /// started; a firing one waiting out `keep_firing_for` still resolves on time). Those of a
    /// rule still in the plan take its current severity, runbook and title. Resolved alerts are
    /// ignored. Ids given to new alerts stay above every restored one. When two share a key, the
    /// newer stays open and the next evaluation closes the older.
    pub fn restore(&mut self, open: Vec<Alert>) {
        for mut alert in open {
            if alert.state == AlertState::Resolved {
                continue;
            }
            self.next_id = self.next_id.max(alert.id.saturating_add(1));
            let subject = alert
                .key
                .strip_prefix(alert.rule.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
                .unwrap_or(&alert.key)
                .to_owned();
            let Some(&place) = self.places.get(&alert.rule) else {
                self.stale.push(alert);
                continue;
            };
            let (Some(rule), Some(alerts)) = (self.rules.get(place), self.open.get_mut(place))
            else {
                self.stale.push(alert);
                continue;
            };
            alert.kind = rule.kind.name().to_owned();
            alert.severity = rule.severity;
            alert.runbook = rule.runbook.clone();
            let base = self.bases.get(place).map_or("", String::as_str);
            let component = alert.component.as_deref();
            alert.title = title(rule, base, component, &subject, alert.value, &self.names);
            match alerts.get(&subject) {
                Some(existing) if existing.alert.id > alert.id => self.stale.push(alert),
                _ => {
                    let open = Open {
                        alert,
                        upstream: None,
                        fingerprint: 0,
                        migrating_version: 0,
                        upstream_version: 0,
                    };
                    if let Some(older) = alerts.insert(subject, open) {
                        self.stale.push(older.alert);
                    }
                }
            }
        }
    }

    /// Evaluates every rule against the facts; returns what changed, in a stable order.
    ///
    /// See the module's documentation for the states and who is told. A rule named twice in
    /// the plan is evaluated once, as its first occurrence.
    pub fn evaluate(&mut self, facts: &Facts<'_>) -> Vec<Transition> {
        let index = Index::new(facts, &self.metrics, &self.history);
        let same_migrating = self.migrating.len() == index.migrating_pairs.len()
            && self
                .migrating
                .iter()
                .zip(&index.migrating_pairs)
                .all(|((c, d), (c2, d2))| c.as_deref() == *c2 && d == d2);
        if !same_migrating {
            self.migrating = index
                .migrating_pairs
                .iter()
                .map(|(c, d)| (c.map(str::to_owned), (*d).to_owned()))
                .collect();
            self.migrating_version += 1;
        }
        if !self.upstream.is(facts) {
            self.upstream = Announced::of(facts);
            self.upstream_version += 1;
        }
        let acks = latest_acknowledgements(facts.acknowledgements);
        let mut out: Vec<(usize, Transition)> = Vec::new();
        // First every rule's conditions and states, then who is told: an alert's siblings of
        // other rules decide whether it is inhibited.
        let mut fresh: Vec<Vec<(i64, AlertEvent)>> = vec![Vec::new(); self.rules.len()];
        for ((order, rule), alerts) in self.rules.iter().enumerate().zip(&mut self.open) {
            if !self.first[order] {
                continue;
            }
            let conds = conditions(rule, facts, &index);
            if conds.is_empty() && alerts.is_empty() {
                continue;
            }
            let mut step = Step {
                rule,
                base: self.bases.get(order).map_or("", String::as_str),
                order,
                facts,
                index: &index,
                acks: &acks,
                migrating_version: self.migrating_version,
                names: &self.names,
                out: &mut out,
            };
            fresh[order] = step.run(&conds, alerts, &mut self.next_id);
        }
        let inhibitors = Inhibitors::of(&self.rules, &self.open);
        for ((order, rule), alerts) in self.rules.iter().enumerate().zip(&mut self.open) {
            if !self.first[order] || alerts.is_empty() {
                continue;
            }
            tell(
                rule,
                order,
                alerts,
                &fresh[order],
                &inhibitors,
                facts,
                &acks,
                self.upstream_version,
                &mut out,
            );
        }

        // Restored alerts of rules no longer in the plan, and restored duplicates: closed.
        let last = self.rules.len();
        for mut alert in std::mem::take(&mut self.stale) {
            apply_acknowledgement(&mut alert, &acks);
            out.push((last, close(alert, facts.now, Resolution::Automatic)));
        }

        out.sort_by(|(a, x), (b, y)| a.cmp(b).then_with(|| x.alert.key.cmp(&y.alert.key)));
        out.into_iter().map(|(_, t)| t).collect()
    }

    /// An operator resolves a firing or pending alert (resolution Manual). None if no such open
    /// alert.
    ///
    /// Sent when its firing was (`notified`). If its condition still holds, the next evaluation
    /// opens a new alert for the key, with a new id.
    pub fn resolve(&mut self, id: i64, at: OffsetDateTime) -> Option<Transition> {
        if let Some(i) = self.stale.iter().position(|a| a.id == id) {
            let alert = self.stale.remove(i);
            return Some(resolve_now(alert, at, Resolution::Manual));
        }
        let (place, subject) = self.open.iter().enumerate().find_map(|(place, alerts)| {
            alerts
                .iter()
                .find(|(_, o)| o.alert.id == id)
                .map(|(subject, _)| (place, subject.clone()))
        })?;
        let open = self.open.get_mut(place)?.remove(&subject)?;
        Some(resolve_now(open.alert, at, Resolution::Manual))
    }

    /// The open (pending and firing) alerts, newest first.
    pub fn open(&self) -> Vec<&Alert> {
        let mut out: Vec<&Alert> = self
            .open
            .iter()
            .flat_map(BTreeMap::values)
            .map(|o| &o.alert)
            .chain(&self.stale)
            .collect();
        out.sort_by(|a, b| {
            b.started_at
                .cmp(&a.started_at)
                .then_with(|| b.id.cmp(&a.id))
        });
        out
    }

    /// The rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The id the next new alert gets.
    pub fn next_id(&self) -> i64 {
        self.next_id
    }
}

/// One rule's evaluation.
struct Step<'e, 'f> {
    rule: &'e Rule,
    /// The start of the rule's alerts' titles.
    base: &'e str,
    order: usize,
    facts: &'e Facts<'f>,
    index: &'e Index<'f>,
    acks: &'e HashMap<i64, &'f Acknowledgement>,
    migrating_version: u64,
    names: &'e HashMap<String, String>,
    out: &'e mut Vec<(usize, Transition)>,
}

impl Step<'_, '_> {
    /// Brings the rule's alerts up to date with its conditions; returns the alerts that became
    /// pending or fired now, by id.
    fn run(
        &mut self,
        conds: &[Condition<'_>],
        alerts: &mut BTreeMap<String, Open>,
        next_id: &mut i64,
    ) -> Vec<(i64, AlertEvent)> {
        let now = self.facts.now;
        let rule = self.rule;
        // Alerts that became pending or fired in this evaluation, by id.
        let mut fresh: Vec<(i64, AlertEvent)> = Vec::new();
        // Conditions with no open alert, and open alerts to close.
        let mut new = Vec::new();
        let mut ending = Vec::new();

        // Both sorted by subject: walked side by side.
        let mut pending = conds.iter().peekable();
        for (subject, open) in alerts.iter_mut() {
            while let Some(c) = pending.next_if(|c| c.subject.as_ref() < subject.as_str()) {
                new.push(c);
            }
            if let Some(c) = pending.next_if(|c| c.subject.as_ref() == subject.as_str()) {
                // The condition holds again or still.
                refresh(open, c, self.index, self.migrating_version, |value| {
                    title(rule, self.base, c.component, &c.subject, value, self.names)
                });
                let alert = &mut open.alert;
                alert.last_seen = now;
                alert.clear_since = None;
                if alert.state == AlertState::Pending && now - alert.started_at >= rule.for_ {
                    alert.state = AlertState::Firing;
                    alert.fired_at = Some(now);
                    fresh.push((alert.id, AlertEvent::Fired));
                }
                continue;
            }
            // The condition no longer holds.
            let alert = &mut open.alert;
            let end = match alert.state {
                AlertState::Pending | AlertState::Resolved => true,
                AlertState::Firing => {
                    let since = *alert.clear_since.get_or_insert(now);
                    now - since >= rule.keep_firing_for
                }
            };
            if end {
                ending.push(subject.clone());
            }
        }
        new.extend(pending);

        for subject in ending {
            if let Some(open) = alerts.remove(&subject) {
                let mut alert = open.alert;
                apply_acknowledgement(&mut alert, self.acks);
                self.out
                    .push((self.order, close(alert, now, Resolution::Automatic)));
            }
        }
        for c in new {
            let mut alert = new_alert(rule, self.base, c, *next_id, self.index, now, self.names);
            *next_id += 1;
            if rule.for_ <= Duration::ZERO {
                alert.state = AlertState::Firing;
                alert.fired_at = Some(now);
                fresh.push((alert.id, AlertEvent::Fired));
            } else {
                fresh.push((alert.id, AlertEvent::Pending));
            }
            let open = Open {
                alert,
                upstream: None,
                fingerprint: c.fingerprint(),
                migrating_version: self.migrating_version,
                upstream_version: 0,
            };
            alerts.insert(c.subject.clone().into_owned(), open);
        }
        fresh.sort_unstable_by_key(|(id, _)| *id);
        fresh
    }
}

/// The firing alerts that may inhibit others: each metric rule's, with its metric.
struct Inhibitors {
    firing: Vec<Inhibitor>,
}

/// A firing alert of a metric rule, as inhibition needs it.
struct Inhibitor {
    metric: String,
    id: i64,
    key: String,
    severity: Severity,
    component: Option<String>,
}

impl Inhibitors {
    fn of(rules: &[Rule], open: &[BTreeMap<String, Open>]) -> Inhibitors {
        let mut firing = Vec::new();
        for (rule, alerts) in rules.iter().zip(open) {
            let Some(metric) = rule_metric(rule) else {
                continue;
            };
            for o in alerts.values() {
                let a = &o.alert;
                if a.state == AlertState::Firing {
                    firing.push(Inhibitor {
                        metric: metric.to_owned(),
                        id: a.id,
                        key: a.key.clone(),
                        severity: a.severity,
                        component: a.component.clone(),
                    });
                }
            }
        }
        // The most severe first, then by key: the reason named is stable.
        firing.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.key.cmp(&b.key)));
        Inhibitors { firing }
    }

    /// Why the alert is not told on its own, if it is not: a firing alert on the same metric
    /// and component of a higher severity inhibits it; a whole-migration alert is grouped with
    /// a firing alert on the same metric on a component, at least as severe.
    fn reason(&self, metric: &str, alert: &Alert) -> Option<String> {
        self.firing.iter().find_map(|other| {
            if other.metric != metric || other.id == alert.id {
                return None;
            }
            match (&alert.component, &other.component) {
                (a, b) if a == b && other.severity > alert.severity => Some(format!(
                    "inhibited by {} ({})",
                    other.key,
                    other.severity.as_str()
                )),
                (None, Some(_)) if other.severity >= alert.severity => {
                    Some(format!("grouped with {}", other.key))
                }
                _ => None,
            }
        })
    }
}

/// The metric a rule watches, for threshold and rate-of-change rules.
fn rule_metric(rule: &Rule) -> Option<&str> {
    match &rule.kind {
        RuleKind::Threshold { metric, .. } | RuleKind::RateOfChange { metric, .. } => {
            Some(metric.as_str())
        }
        _ => None,
    }
}

/// Every open alert of one rule: acknowledgement, suppression (upstream, then inhibition),
/// downtime, and who is told.
#[allow(clippy::too_many_arguments)]
fn tell(
    rule: &Rule,
    order: usize,
    alerts: &mut BTreeMap<String, Open>,
    fresh: &[(i64, AlertEvent)],
    inhibitors: &Inhibitors,
    facts: &Facts<'_>,
    acks: &HashMap<i64, &Acknowledgement>,
    upstream_version: u64,
    out: &mut Vec<(usize, Transition)>,
) {
    let now = facts.now;
    let upstream = Upstream::of(rule, facts);
    let metric = rule_metric(rule);
    // Reasons first: the inhibitors borrow every rule's alerts.
    let reasons: Vec<Option<String>> = alerts
        .values()
        .map(|o| metric.and_then(|m| inhibitors.reason(m, &o.alert)))
        .collect();
    for (open, inhibited) in alerts.values_mut().zip(reasons) {
        if open.upstream_version != upstream_version {
            open.upstream = upstream.reason(&open.alert).map(Cow::into_owned);
            open.upstream_version = upstream_version;
        }
        let reason = open.upstream.clone().or(inhibited);
        let alert = &mut open.alert;
        if alert.suppressed_by != reason {
            alert.suppressed_by = reason;
        }
        apply_acknowledgement(alert, acks);
        alert.impact.estimated_downtime_minutes = downtime(alert, now);
        let event = fresh
            .binary_search_by_key(&alert.id, |(id, _)| *id)
            .ok()
            .and_then(|i| fresh.get(i))
            .map(|(_, event)| *event);
        match (alert.state, event) {
            (AlertState::Pending, Some(AlertEvent::Pending)) => {
                out.push((
                    order,
                    Transition {
                        alert: alert.clone(),
                        event: AlertEvent::Pending,
                        notify: false,
                    },
                ));
            }
            (AlertState::Firing, event) if !alert.notified => {
                let send = alert.suppressed_by.is_none() && !silenced(alert, facts.silences, now);
                if send {
                    alert.notified = true;
                }
                if send || event == Some(AlertEvent::Fired) {
                    out.push((
                        order,
                        Transition {
                            alert: alert.clone(),
                            event: AlertEvent::Fired,
                            notify: send,
                        },
                    ));
                }
            }
            _ => {}
        }
    }
}

/// A new alert for a condition, pending until the caller decides it fires.
fn new_alert(
    rule: &Rule,
    base: &str,
    c: &Condition<'_>,
    id: i64,
    index: &Index<'_>,
    now: OffsetDateTime,
    names: &HashMap<String, String>,
) -> Alert {
    Alert {
        id,
        key: format!("{}/{}", rule.name, c.subject),
        rule: rule.name.clone(),
        kind: rule.kind.name().to_owned(),
        severity: rule.severity,
        state: AlertState::Pending,
        title: title(rule, base, c.component, &c.subject, c.value, names),
        message: c.message(),
        component: c.component.map(str::to_owned),
        value: c.value,
        started_at: now,
        fired_at: None,
        last_seen: now,
        clear_since: None,
        resolved_at: None,
        resolution: None,
        acknowledged: None,
        impact: Impact {
            affected_datasets: c.datasets(index).iter().map(|d| (*d).to_owned()).collect(),
            components: c.components(index),
            estimated_downtime_minutes: None,
        },
        runbook: rule.runbook.clone(),
        suppressed_by: None,
        notified: false,
    }
}

/// Brings an open alert's value, message and impact up to date with its condition. Its value
/// and message are made again only when its condition's fingerprint changed; a metric alert's
/// impact only when the datasets being migrated changed (`migrating_version`), another kind's
/// with its message. A steady state costs no new text.
fn refresh(
    open: &mut Open,
    c: &Condition<'_>,
    index: &Index<'_>,
    migrating_version: u64,
    title: impl Fn(Option<f64>) -> String,
) {
    let fingerprint = c.fingerprint();
    let changed = fingerprint != open.fingerprint;
    let alert = &mut open.alert;
    if changed {
        alert.value = c.value;
        alert.message = c.message();
        alert.title = title(c.value);
        open.fingerprint = fingerprint;
    }
    let stale = if c.is_metric() {
        open.migrating_version != migrating_version
    } else {
        changed
    };
    open.migrating_version = migrating_version;
    if !stale {
        return;
    }
    let datasets = c.datasets(index);
    let same_datasets = alert
        .impact
        .affected_datasets
        .iter()
        .map(String::as_str)
        .eq(datasets.iter().copied());
    if !same_datasets {
        alert.impact.affected_datasets = datasets.iter().map(|d| (*d).to_owned()).collect();
    }
    alert.impact.components = c.components(index);
}

/// The start of a rule's alerts' titles: its `summary`, or a sentence made from it.
fn base_title(rule: &Rule) -> String {
    rule.summary.clone().unwrap_or_else(|| sentence(&rule.kind))
}

/// What follows the base in an alert's title: " on {component}", or ": {collector}" for
/// `collector_down`, or nothing for the whole migration.
fn title_tail<'s>(
    kind: &RuleKind,
    component: Option<&'s str>,
    subject: &'s str,
) -> (&'static str, &'s str) {
    match (kind, component) {
        (RuleKind::CollectorDown { .. }, _) => (": ", subject),
        (_, Some(c)) => (" on ", c),
        (_, None) => ("", ""),
    }
}

/// The alert's title: for a threshold rule without `summary` on a metric with words of its
/// own, "Storage: 6.9 % of operations failing, limit 5 %" ("Whole migration: …" without a
/// component); otherwise the rule's `summary`, or a sentence made from the rule, then " on
/// {component}" (or ": {collector}" for `collector_down`). Components are named by the plan's
/// names where the engine knows them.
fn title(
    rule: &Rule,
    base: &str,
    component: Option<&str>,
    subject: &str,
    value: Option<f64>,
    names: &HashMap<String, String>,
) -> String {
    if let (
        None,
        RuleKind::Threshold {
            metric,
            op,
            threshold,
        },
        Some(v),
    ) = (&rule.summary, &rule.kind, value)
        && let Some(words) = super::conditions::plain_threshold(metric, *op, *threshold, v)
    {
        let who = match component {
            Some(c) => names.get(c).cloned().unwrap_or_else(|| capitalised(c)),
            None => "Whole migration".to_owned(),
        };
        return format!("{who}: {words}");
    }
    let (sep, what) = title_tail(&rule.kind, component, subject);
    format!("{base}{sep}{what}")
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// A sentence made from a rule with no `summary`: "error_rate > 0.05".
fn sentence(kind: &RuleKind) -> String {
    match kind {
        RuleKind::Threshold {
            metric,
            op,
            threshold,
        } => format!("{metric} {} {}", op.symbol(), number(*threshold)),
        RuleKind::RateOfChange {
            metric,
            op,
            threshold,
            over,
            percent,
        } => format!(
            "{metric} change over {} {} {}{}",
            duration_text(*over),
            op.symbol(),
            number(*threshold),
            if *percent { " %" } else { "" }
        ),
        RuleKind::Rollback { count, window } => {
            format!(
                "{count} or more rollbacks within {}",
                duration_text(*window)
            )
        }
        RuleKind::Integrity => "A data integrity check failed".to_owned(),
        RuleKind::Regression => "The new system is slower than the old".to_owned(),
        RuleKind::TestPass { .. } => "A test suite's pass rate is low or dropped".to_owned(),
        RuleKind::CollectorDown { .. } => "A collector is failing".to_owned(),
        RuleKind::Schedule { days } => {
            format!("Forecast more than {} days behind the plan", number(*days))
        }
    }
}

/// What announces a metric rule's alerts upstream, looked up once per rule: the components
/// of phases blocked now, and the collectors that are down and write the rule's metric.
///
/// A metric rule's alert (threshold or rate of change) is suppressed when:
///
/// - its component is in a phase that is blocked now (`facts.blocked_components`);
/// - its metric is written by a collector that is down (`up == false` and the metric in its
///   `metrics`), when that collector supplies the alert's component (or any component: a
///   collector with no components, or an alert on the whole migration).
///
/// Other kinds are never suppressed: `collector_down` is the announcement itself, and
/// rollbacks, integrity failures, regressions, test results and the schedule do not come from
/// collectors' metrics.
struct Upstream<'f> {
    /// Whether the rule's alerts can be suppressed at all.
    metric_rule: bool,
    blocked: &'f [String],
    down: Vec<&'f CollectorHealth>,
}

impl<'f> Upstream<'f> {
    fn of(rule: &Rule, facts: &Facts<'f>) -> Upstream<'f> {
        let metric = match &rule.kind {
            RuleKind::Threshold { metric, .. } | RuleKind::RateOfChange { metric, .. } => {
                Some(metric)
            }
            _ => None,
        };
        Upstream {
            metric_rule: metric.is_some(),
            blocked: facts.blocked_components,
            down: metric
                .map(|metric| {
                    facts
                        .collectors
                        .iter()
                        .filter(|c| !c.up && c.metrics.iter().any(|m| m == metric))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Why nobody is told about the alert, if its cause is announced upstream.
    fn reason(&self, alert: &Alert) -> Option<Cow<'static, str>> {
        if !self.metric_rule {
            return None;
        }
        let component = alert.component.as_deref();
        if let Some(c) = component
            && self.blocked.iter().any(|b| b == c)
        {
            return Some(Cow::Owned(format!("component {c} is in a blocked phase")));
        }
        self.down
            .iter()
            .find(|col| {
                col.components.is_empty()
                    || component.is_none_or(|c| col.components.iter().any(|x| x == c))
            })
            .map(|col| Cow::Owned(format!("collector {} is down", col.name)))
    }
}

/// Estimated downtime: for a firing alert of severity `error` or `critical`, the minutes from
/// its firing to now, or to when its condition cleared while it waits out `keep_firing_for`.
/// `None` for pending alerts and for `info` and `warning`, which tell of a risk, not of
/// something stopped.
fn downtime(alert: &Alert, now: OffsetDateTime) -> Option<f64> {
    if alert.state != AlertState::Firing || alert.severity < Severity::Error {
        return None;
    }
    let fired = alert.fired_at?;
    let until = alert.clear_since.unwrap_or(now);
    Some(((until - fired).as_seconds_f64() / 60.0).max(0.0))
}

/// Closes an alert whose condition went away (or whose rule did): a pending one is cancelled,
/// a firing one resolves.
fn close(alert: Alert, now: OffsetDateTime, resolution: Resolution) -> Transition {
    match alert.state {
        AlertState::Pending => {
            let mut alert = alert;
            // Closed for the store too; the event tells it never fired.
            alert.state = AlertState::Resolved;
            alert.resolved_at = Some(now);
            alert.resolution = Some(resolution);
            alert.suppressed_by = None;
            Transition {
                alert,
                event: AlertEvent::Cancelled,
                notify: false,
            }
        }
        _ => resolve_now(alert, now, resolution),
    }
}

/// Resolves an alert now; sent when its firing was.
fn resolve_now(mut alert: Alert, at: OffsetDateTime, resolution: Resolution) -> Transition {
    alert.impact.estimated_downtime_minutes = downtime(&alert, at);
    alert.state = AlertState::Resolved;
    alert.resolved_at = Some(at);
    alert.resolution = Some(resolution);
    let notify = alert.notified;
    Transition {
        alert,
        event: AlertEvent::Resolved,
        notify,
    }
}

/// The latest acknowledgement of each alert.
fn latest_acknowledgements(acks: &[Acknowledgement]) -> HashMap<i64, &Acknowledgement> {
    let mut out: HashMap<i64, &Acknowledgement> = HashMap::with_capacity(acks.len());
    for a in acks {
        let slot = out.entry(a.alert_id).or_insert(a);
        if a.at >= slot.at {
            *slot = a;
        }
    }
    out
}

/// Copies an alert's acknowledgement from the facts. An alert with none there keeps the one it
/// has (acknowledgements are never withdrawn); acknowledging never changes its state.
fn apply_acknowledgement(alert: &mut Alert, acks: &HashMap<i64, &Acknowledgement>) {
    if let Some(ack) = acks.get(&alert.id)
        && alert.acknowledged.as_ref() != Some(*ack)
    {
        alert.acknowledged = Some((*ack).clone());
    }
}

/// Whether a silence mutes this alert at `now`: one in force (`starts_at <= now < until`) whose
/// rule, when it names one, is the alert's and whose component, when it names one, is the
/// alert's.
pub fn silenced(alert: &Alert, silences: &[Silence], now: OffsetDateTime) -> bool {
    silences.iter().any(|s| {
        s.starts_at <= now
            && now < s.until
            && s.rule.as_deref().is_none_or(|r| r == alert.rule)
            && s.component
                .as_deref()
                .is_none_or(|c| alert.component.as_deref() == Some(c))
    })
}
