//! Datasets and their states (DESIGN §2): the one rule every view counts datasets by.
//!
//! The rules, so a user can tell why the dashboard says what it says. A dataset's state is read
//! from the latest operations of four types about it (the store keeps each mark up to date):
//!
//! - **migrated** when its latest successful `migration` is newer than its latest successful
//!   `rollback`; **verified** when, besides, its latest `verification` is newer than that
//!   migration and passed. Every figure that says "migrated" counts both.
//! - Otherwise, by the latest of its `migration_start`, failed `migration` and successful
//!   `rollback`: **migrating** (a start not yet followed by an attempt), **failed** (the latest
//!   attempt failed) or **rolled_back**; **pending** when it has none of them.
//! - **In flight** (the live figure `active_migrations` and the alerts' affected datasets): a
//!   `migration_start` newer than every `migration` attempt of the dataset, whatever its state —
//!   a migrated dataset being migrated again is in flight and still migrated.
//! - **Which datasets count.** With a plan that lists its datasets (`[[datasets.list]]`), the
//!   listed ones, each in the plan's component; datasets seen in operations but not listed are
//!   shown, marked as not in the plan, and counted nowhere. With a plan that gives a total, every
//!   dataset seen counts, in the component its operations named last; datasets not yet seen are
//!   pending. The **total** of the migration is the plan's; a component's total is the plan's
//!   too — the count of its listed datasets, or its `datasets = N` — and is unknown when the plan
//!   says neither, never "the datasets seen so far".

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use time::OffsetDateTime;

use crate::plan::{Datasets, Plan};

/// Where a dataset stands (DESIGN §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DatasetState {
    /// Nothing done yet.
    Pending,
    /// A migration started and has not ended.
    Migrating,
    /// Its latest migration attempt failed.
    Failed,
    /// Migrated (its latest successful migration is newer than any rollback).
    Migrated,
    /// Migrated, and verified after that migration.
    Verified,
    /// Rolled back after a migration.
    RolledBack,
}

impl DatasetState {
    /// Every state, in the order pages list them.
    pub const ALL: [DatasetState; 6] = [
        DatasetState::Pending,
        DatasetState::Migrating,
        DatasetState::Failed,
        DatasetState::Migrated,
        DatasetState::Verified,
        DatasetState::RolledBack,
    ];

    /// The name used in JSON and URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetState::Pending => "pending",
            DatasetState::Migrating => "migrating",
            DatasetState::Failed => "failed",
            DatasetState::Migrated => "migrated",
            DatasetState::Verified => "verified",
            DatasetState::RolledBack => "rolled_back",
        }
    }

    /// Reads a name of [`DatasetState::as_str`].
    pub fn from_name(s: &str) -> Option<DatasetState> {
        DatasetState::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// Whether the state counts as migrated (verified included).
    pub fn is_migrated(self) -> bool {
        matches!(self, DatasetState::Migrated | DatasetState::Verified)
    }
}

impl std::fmt::Display for DatasetState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The latest operations of each kind about one dataset: what its state is read from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DatasetMarks {
    /// The latest `migration_start`.
    pub last_started: Option<OffsetDateTime>,
    /// The latest `migration` attempt and whether it succeeded.
    pub last_attempt: Option<(OffsetDateTime, bool)>,
    /// The latest successful `migration`.
    pub last_migrated: Option<OffsetDateTime>,
    /// The latest successful `rollback`.
    pub last_rollback: Option<OffsetDateTime>,
    /// The latest `verification` and whether it passed.
    pub last_verified: Option<(OffsetDateTime, bool)>,
}

impl DatasetMarks {
    /// Migrated: the latest successful migration is newer than any successful rollback.
    pub fn is_migrated(&self) -> bool {
        match (self.last_migrated, self.last_rollback) {
            (Some(m), Some(r)) => m > r,
            (Some(_), None) => true,
            _ => false,
        }
    }

    /// The state (see the module's rules).
    pub fn state(&self) -> DatasetState {
        if self.is_migrated() {
            let migrated = self.last_migrated;
            return match self.last_verified {
                Some((at, true)) if Some(at) > migrated => DatasetState::Verified,
                _ => DatasetState::Migrated,
            };
        }
        let failed = self.last_attempt.filter(|a| !a.1).map(|a| a.0);
        let latest = [
            (self.last_started, DatasetState::Migrating),
            (failed, DatasetState::Failed),
            (self.last_rollback, DatasetState::RolledBack),
        ]
        .into_iter()
        .filter_map(|(at, s)| at.map(|at| (at, s)))
        // At one instant a rollback outranks a failure, which outranks a start.
        .max_by_key(|(at, s)| {
            (
                *at,
                *s == DatasetState::RolledBack,
                *s == DatasetState::Failed,
            )
        });
        latest.map_or(DatasetState::Pending, |(_, s)| s)
    }

    /// In flight: a `migration_start` newer than every attempt.
    pub fn in_flight(&self) -> bool {
        match (self.last_started, self.last_attempt) {
            (Some(s), Some((a, _))) => s > a,
            (Some(_), None) => true,
            _ => false,
        }
    }
}

/// One dataset as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDataset {
    /// Its name.
    pub name: String,
    /// The component its operations named last.
    pub component: Option<String>,
    /// Its first operation.
    pub first_seen: OffsetDateTime,
    /// Its latest operation.
    pub last_seen: OffsetDateTime,
    /// The type of its latest operation.
    pub last_type: Option<String>,
    /// What its state is read from.
    pub marks: DatasetMarks,
}

/// One dataset on the datasets page and in `GET /api/v1/datasets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatasetRow {
    /// Its name.
    pub name: String,
    /// Its component: the plan's for a listed dataset, else the one its operations named last.
    pub component: Option<String>,
    /// Its state.
    pub state: DatasetState,
    /// Whether a migration of it is under way now.
    pub in_flight: bool,
    /// Whether it counts: listed by the plan, or any dataset when the plan gives a total.
    pub planned: bool,
    /// Its first operation (absent for a listed dataset never seen).
    #[serde(with = "time::serde::rfc3339::option")]
    pub first_seen: Option<OffsetDateTime>,
    /// Its latest operation.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_seen: Option<OffsetDateTime>,
    /// The type of its latest operation.
    pub last_operation: Option<String>,
    /// Its latest successful migration.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_migrated: Option<OffsetDateTime>,
    /// Its latest successful rollback.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_rollback: Option<OffsetDateTime>,
}

/// Datasets per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StateCounts {
    /// Not yet touched (the plan's datasets not seen included, where the total is known).
    pub pending: u64,
    /// Being migrated.
    pub migrating: u64,
    /// Latest attempt failed.
    pub failed: u64,
    /// Migrated, not (yet) verified.
    pub migrated: u64,
    /// Migrated and verified.
    pub verified: u64,
    /// Rolled back.
    pub rolled_back: u64,
}

impl StateCounts {
    fn add(&mut self, s: DatasetState) {
        *self.slot(s) += 1;
    }

    fn slot(&mut self, s: DatasetState) -> &mut u64 {
        match s {
            DatasetState::Pending => &mut self.pending,
            DatasetState::Migrating => &mut self.migrating,
            DatasetState::Failed => &mut self.failed,
            DatasetState::Migrated => &mut self.migrated,
            DatasetState::Verified => &mut self.verified,
            DatasetState::RolledBack => &mut self.rolled_back,
        }
    }

    /// How many are in `s`.
    pub fn get(&self, s: DatasetState) -> u64 {
        match s {
            DatasetState::Pending => self.pending,
            DatasetState::Migrating => self.migrating,
            DatasetState::Failed => self.failed,
            DatasetState::Migrated => self.migrated,
            DatasetState::Verified => self.verified,
            DatasetState::RolledBack => self.rolled_back,
        }
    }

    /// Migrated, verified included.
    pub fn migrated_total(&self) -> u64 {
        self.migrated + self.verified
    }

    /// Every dataset counted.
    pub fn total(&self) -> u64 {
        DatasetState::ALL.iter().map(|s| self.get(*s)).sum()
    }
}

/// The datasets of one component (or of none) and where they stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentDatasets {
    /// The component's id; `None` for counted datasets of no component.
    pub component: Option<String>,
    /// The plan's total for it; `None` when the plan does not say.
    pub total: Option<u64>,
    /// The counted datasets seen, per state (`pending` includes the plan's datasets not yet
    /// seen when the total is known).
    pub states: StateCounts,
}

impl ComponentDatasets {
    /// Migrated, verified included.
    pub fn migrated(&self) -> u64 {
        self.states.migrated_total()
    }
}

/// Every dataset and the counts every view reads: see the module's rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatasetBook {
    /// Every dataset, planned and seen, by name.
    pub rows: Vec<DatasetRow>,
    /// The plan's total (`None` without a plan).
    pub total: Option<u64>,
    /// The counted datasets per state (`pending` includes those not yet seen).
    pub states: StateCounts,
    /// Per component of the plan, in the plan's order, then the counted datasets of no
    /// component of the plan (when there are any).
    pub components: Vec<ComponentDatasets>,
    /// Datasets seen that the plan does not list (counted nowhere).
    pub unplanned: u64,
}

impl DatasetBook {
    /// Migrated datasets that count, verified included.
    pub fn migrated(&self) -> u64 {
        self.states.migrated_total()
    }

    /// Counted datasets in flight now.
    pub fn in_flight(&self) -> u64 {
        self.rows
            .iter()
            .filter(|r| r.planned && r.in_flight)
            .count() as u64
    }

    /// The datasets of one component of the plan.
    pub fn component(&self, id: &str) -> Option<&ComponentDatasets> {
        self.components
            .iter()
            .find(|c| c.component.as_deref() == Some(id))
    }

    /// The rows a filter keeps, in name order.
    pub fn filter<'a>(
        &'a self,
        state: Option<DatasetState>,
        component: Option<&'a str>,
    ) -> impl Iterator<Item = &'a DatasetRow> + 'a {
        self.rows.iter().filter(move |r| {
            state.is_none_or(|s| {
                r.state == s || (s == DatasetState::Migrated && r.state == DatasetState::Verified)
            }) && component.is_none_or(|c| r.component.as_deref() == Some(c))
        })
    }
}

/// The datasets of `plan` (if any) and of the store, and their counts (see the module's rules).
pub fn book(plan: Option<&Plan>, stored: &[StoredDataset]) -> DatasetBook {
    let listed: Option<BTreeMap<&str, Option<&str>>> = match plan.map(|p| &p.datasets) {
        Some(Datasets::List(list)) => Some(
            list.iter()
                .map(|d| (d.name.as_str(), d.component.as_deref()))
                .collect(),
        ),
        _ => None,
    };
    let mut rows: Vec<DatasetRow> = Vec::with_capacity(stored.len());
    let mut seen: HashSet<&str> = HashSet::with_capacity(stored.len());
    for d in stored {
        seen.insert(d.name.as_str());
        let (planned, component) = match &listed {
            Some(l) => match l.get(d.name.as_str()) {
                Some(c) => (true, c.map(str::to_owned)),
                None => (false, d.component.clone()),
            },
            None => (true, d.component.clone()),
        };
        rows.push(DatasetRow {
            name: d.name.clone(),
            component,
            state: d.marks.state(),
            in_flight: d.marks.in_flight(),
            planned,
            first_seen: Some(d.first_seen),
            last_seen: Some(d.last_seen),
            last_operation: d.last_type.clone(),
            last_migrated: d.marks.last_migrated,
            last_rollback: d.marks.last_rollback,
        });
    }
    if let Some(l) = &listed {
        for (name, component) in l {
            if !seen.contains(name) {
                rows.push(DatasetRow {
                    name: (*name).to_owned(),
                    component: component.map(str::to_owned),
                    state: DatasetState::Pending,
                    in_flight: false,
                    planned: true,
                    first_seen: None,
                    last_seen: None,
                    last_operation: None,
                    last_migrated: None,
                    last_rollback: None,
                });
            }
        }
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));

    let mut states = StateCounts::default();
    let mut by_component: BTreeMap<Option<&str>, StateCounts> = BTreeMap::new();
    let mut unplanned = 0;
    for r in &rows {
        if !r.planned {
            unplanned += 1;
            continue;
        }
        states.add(r.state);
        by_component
            .entry(r.component.as_deref())
            .or_default()
            .add(r.state);
    }
    let total = plan.map(|p| u64::from(p.datasets_total()));
    if let Some(t) = total {
        // The plan's datasets not seen yet are pending.
        states.pending += t.saturating_sub(states.total());
    }
    let mut components = Vec::new();
    if let Some(plan) = plan {
        for c in &plan.components {
            let mut counts = by_component
                .remove(&Some(c.id.as_str()))
                .unwrap_or_default();
            let total = plan.component_datasets(&c.id).map(u64::from);
            if let Some(t) = total {
                counts.pending += t.saturating_sub(counts.total());
            }
            components.push(ComponentDatasets {
                component: Some(c.id.clone()),
                total,
                states: counts,
            });
        }
    }
    // Counted datasets of no component of the plan (or without a plan, every component).
    let mut rest = StateCounts::default();
    let mut any_rest = false;
    for (component, counts) in by_component {
        if plan.is_none() {
            components.push(ComponentDatasets {
                component: component.map(str::to_owned),
                total: None,
                states: counts,
            });
            continue;
        }
        any_rest = true;
        for s in DatasetState::ALL {
            *rest.slot(s) += counts.get(s);
        }
    }
    if any_rest {
        components.push(ComponentDatasets {
            component: None,
            total: None,
            states: rest,
        });
    }
    DatasetBook {
        rows,
        total,
        states,
        components,
        unplanned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T: OffsetDateTime = datetime!(2025-03-01 12:00 UTC);

    fn at(min: i64) -> Option<OffsetDateTime> {
        Some(T + time::Duration::minutes(min))
    }

    fn marks(
        started: Option<i64>,
        attempt: Option<(i64, bool)>,
        rollback: Option<i64>,
        verified: Option<(i64, bool)>,
    ) -> DatasetMarks {
        // The latest successful migration is the latest successful attempt here.
        let attempt_at = attempt.map(|(m, ok)| (at(m).unwrap(), ok));
        DatasetMarks {
            last_started: started.and_then(at),
            last_attempt: attempt_at,
            last_migrated: attempt_at.filter(|a| a.1).map(|a| a.0),
            last_rollback: rollback.and_then(at),
            last_verified: verified.map(|(m, ok)| (at(m).unwrap(), ok)),
        }
    }

    #[test]
    fn states_follow_the_rules() {
        use DatasetState::*;
        let cases = [
            ("nothing", marks(None, None, None, None), Pending, false),
            ("started", marks(Some(0), None, None, None), Migrating, true),
            (
                "failed",
                marks(Some(0), Some((1, false)), None, None),
                Failed,
                false,
            ),
            (
                "migrated",
                marks(Some(0), Some((1, true)), None, None),
                Migrated,
                false,
            ),
            (
                "verified after",
                marks(Some(0), Some((1, true)), None, Some((2, true))),
                Verified,
                false,
            ),
            (
                "verification failed",
                marks(Some(0), Some((1, true)), None, Some((2, false))),
                Migrated,
                false,
            ),
            (
                "verified before the migration",
                marks(Some(0), Some((3, true)), None, Some((2, true))),
                Migrated,
                false,
            ),
            (
                "rolled back",
                marks(Some(0), Some((1, true)), Some(2), None),
                RolledBack,
                false,
            ),
            (
                "restarted after a rollback",
                marks(Some(3), Some((1, true)), Some(2), None),
                Migrating,
                true,
            ),
            (
                "migrated again",
                marks(Some(3), Some((4, true)), Some(2), None),
                Migrated,
                false,
            ),
            (
                "re-migration under way keeps it migrated",
                marks(Some(5), Some((4, true)), None, None),
                Migrated,
                true,
            ),
        ];
        for (name, m, state, in_flight) in cases {
            assert_eq!(m.state(), state, "{name}");
            assert_eq!(m.in_flight(), in_flight, "{name}");
            assert_eq!(m.is_migrated(), state.is_migrated(), "{name}");
        }
    }

    #[test]
    fn names_round_trip() {
        for s in DatasetState::ALL {
            assert_eq!(DatasetState::from_name(s.as_str()), Some(s));
        }
        assert_eq!(DatasetState::from_name("done"), None);
    }
}
