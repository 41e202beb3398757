//! The migration's progress over time: successful migrations and rollbacks per day, overall and
//! per component, which the forecast, the burn-up chart, milestone conditions and the back-test
//! read.
//!
//! The rules, so a user can tell why the dashboard says what it says:
//!
//! - **Net per day** = successful `migration` operations − successful `rollback` operations of
//!   that UTC day (of a component: those naming it). The store keeps these counts in step with
//!   every write and never prunes them.
//! - **Migrated at the end of a day** is counted back from now: the datasets migrated now minus
//!   the net of every later day, never below 0. So the last point is always today's count; a
//!   dataset migrated twice without a rollback in between counts twice in the net, which can
//!   make earlier days read lower than they were.

use std::collections::BTreeMap;

use serde::Serialize;
use time::{Date, Duration};

use crate::forecast::{WINDOW_DAYS, ymd};

/// One day's successful migrations and rollbacks of one component (or of none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationDay {
    /// The UTC day.
    pub day: Date,
    /// The component the operations named, if any.
    pub component: Option<String>,
    /// Successful `migration` operations.
    pub migrations: u64,
    /// Successful `rollback` operations.
    pub rollbacks: u64,
}

/// Net per day from `first_day` to `today`, overall and per component (see the module's rules).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// The first day of the series.
    pub first_day: Option<Date>,
    /// Net per day, overall, `first_day` first.
    pub overall: Vec<i64>,
    /// Net per day of each component, aligned with `overall`.
    pub by_component: BTreeMap<String, Vec<i64>>,
}

impl History {
    /// The series from `first_day` to `today` (both included) out of per-day counts; days
    /// outside are ignored.
    pub fn new(days: &[MigrationDay], first_day: Date, today: Date) -> History {
        let len = (today - first_day).whole_days() + 1;
        if len <= 0 {
            return History::default();
        }
        let len = len as usize;
        let mut overall = vec![0i64; len];
        let mut by_component: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for d in days {
            let i = (d.day - first_day).whole_days();
            if i < 0 || i as usize >= len {
                continue;
            }
            let net = d.migrations as i64 - d.rollbacks as i64;
            overall[i as usize] += net;
            if let Some(c) = &d.component {
                by_component
                    .entry(c.clone())
                    .or_insert_with(|| vec![0; len])[i as usize] += net;
            }
        }
        History {
            first_day: Some(first_day),
            overall,
            by_component,
        }
    }

    /// The last day of the series.
    pub fn last_day(&self) -> Option<Date> {
        let first = self.first_day?;
        first.checked_add(Duration::days(self.overall.len() as i64 - 1))
    }

    fn index(&self, day: Date) -> Option<i64> {
        Some((day - self.first_day?).whole_days())
    }

    /// The net of one day (0 outside the series).
    pub fn net(&self, component: Option<&str>, day: Date) -> i64 {
        let series = match component {
            None => Some(&self.overall),
            Some(c) => self.by_component.get(c),
        };
        match (series, self.index(day)) {
            (Some(s), Some(i)) if i >= 0 => s.get(i as usize).copied().unwrap_or(0),
            _ => 0,
        }
    }

    /// The forecast's history as of `today`: the net of each full day from
    /// max(`today` − [`WINDOW_DAYS`], `start`) to the day before `today` (see
    /// [`crate::forecast::daily_window`]); of one component when `component` is given.
    pub fn window(&self, component: Option<&str>, today: Date, start: Date) -> Vec<i64> {
        let from = today
            .checked_sub(Duration::days(WINDOW_DAYS))
            .unwrap_or(Date::MIN)
            .max(start);
        let len = (today - from).whole_days();
        if len <= 0 {
            return Vec::new();
        }
        (0..len)
            .map(|i| self.net(component, from + Duration::days(i)))
            .collect()
    }

    /// Datasets migrated at the end of `day`, counted back from `now_count` migrated at the
    /// end of the series (see the module's rules); of one component when given.
    pub fn migrated_at(&self, component: Option<&str>, day: Date, now_count: u64) -> u64 {
        let Some(last) = self.last_day() else {
            return now_count;
        };
        if day >= last {
            return now_count;
        }
        let series = match component {
            None => Some(&self.overall),
            Some(c) => self.by_component.get(c),
        };
        let Some(series) = series else {
            return now_count;
        };
        let from = self.index(day).unwrap_or(0) + 1;
        let later: i64 = series.iter().skip(from.max(0) as usize).copied().sum();
        (now_count as i64 - later).max(0) as u64
    }

    /// The first day on which the count of migrated datasets (counted back from `now_count`)
    /// satisfied `holds`, if any did by `until`.
    pub fn first_day_where(
        &self,
        component: Option<&str>,
        now_count: u64,
        until: Date,
        holds: impl Fn(u64) -> bool,
    ) -> Option<Date> {
        let first = self.first_day?;
        let mut day = first;
        while day <= until {
            if holds(self.migrated_at(component, day, now_count)) {
                return Some(day);
            }
            day = day.next_day()?;
        }
        None
    }
}

/// One point of the burn-up chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BurnupPoint {
    /// The day.
    #[serde(with = "ymd")]
    pub day: Date,
    /// Datasets migrated at its end.
    pub migrated: u64,
}

/// Migrated datasets per day from `from` to the end of the series, counted back from
/// `now_count` (see the module's rules).
pub fn burnup(history: &History, from: Date, now_count: u64) -> Vec<BurnupPoint> {
    let Some(last) = history.last_day() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut day = from;
    while day <= last {
        out.push(BurnupPoint {
            day,
            migrated: history.migrated_at(None, day, now_count),
        });
        match day.next_day() {
            Some(d) => day = d,
            None => break,
        }
    }
    out
}

/// One UTC day's migration activity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayActivity {
    /// Successful `migration` operations.
    pub migrations: u64,
    /// Failed `migration` operations.
    pub failed_migrations: u64,
    /// `rollback` operations.
    pub rollbacks: u64,
    /// Failed `verification` operations (integrity issues).
    pub failed_verifications: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn day(d: Date, c: Option<&str>, m: u64, r: u64) -> MigrationDay {
        MigrationDay {
            day: d,
            component: c.map(str::to_owned),
            migrations: m,
            rollbacks: r,
        }
    }

    #[test]
    fn counts_back_from_now_and_windows_full_days() {
        let days = [
            day(date!(2025 - 03 - 01), Some("a"), 3, 0),
            day(date!(2025 - 03 - 02), Some("b"), 2, 1),
            day(date!(2025 - 03 - 02), None, 1, 0),
            day(date!(2025 - 03 - 04), Some("a"), 4, 0),
            day(date!(2025 - 02 - 01), Some("a"), 9, 0), // before the series: ignored
        ];
        let h = History::new(&days, date!(2025 - 03 - 01), date!(2025 - 03 - 04));
        assert_eq!(h.overall, vec![3, 2, 0, 4]);
        assert_eq!(h.by_component["a"], vec![3, 0, 0, 4]);
        assert_eq!(h.migrated_at(None, date!(2025 - 03 - 04), 9), 9);
        assert_eq!(h.migrated_at(None, date!(2025 - 03 - 03), 9), 5);
        assert_eq!(h.migrated_at(None, date!(2025 - 03 - 01), 9), 3);
        assert_eq!(h.migrated_at(None, date!(2025 - 02 - 20), 9), 0);
        assert_eq!(h.migrated_at(Some("a"), date!(2025 - 03 - 02), 7), 3);
        // The window leaves today out.
        assert_eq!(
            h.window(None, date!(2025 - 03 - 04), date!(2025 - 03 - 01)),
            vec![3, 2, 0]
        );
        assert_eq!(
            h.first_day_where(None, 9, date!(2025 - 03 - 04), |m| m >= 5),
            Some(date!(2025 - 03 - 02))
        );
        let b = burnup(&h, date!(2025 - 03 - 01), 9);
        assert_eq!(
            b.iter().map(|p| p.migrated).collect::<Vec<_>>(),
            vec![3, 5, 5, 9]
        );
    }
}
