//! The overall status over time (DESIGN §3.1): the status shown changes only after the status
//! the figures give has held for a while, as alerts do, so it does not flip between critical
//! and at risk from one minute to the next.
//!
//! The rules, so a user can tell why the dashboard says what it says:
//!
//! - The rules of [`crate::summary`] give a status at every evaluation of the alert loop. The
//!   part firing alerts give is shown at once: alerts wait out their own `for` and
//!   `keep_firing_for` before they fire or resolve. The part the other rules give (the success
//!   rate, the forecast's slip, blocked phases) is what waits here.
//! - That part is *shown* once a worse status has held for `[alerts] health_for` (default 1
//!   minute), and a better one once it has held for `[alerts] health_keep` (default 5
//!   minutes). A status that changes again before then starts its wait anew. The first
//!   evaluation shows what it computes. The overall status is the worse of the alerts' and
//!   the shown one.
//! - The state is kept in the store by the server that evaluates alerts; without an evaluation
//!   in the last [`STALE_AFTER`] (no server running, or it stopped), the computed status is
//!   shown as it is.

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::summary::Health;

/// A state older than this is not used: the computed status is shown instead.
pub const STALE_AFTER: Duration = Duration::minutes(5);

/// The status shown, and the one waiting to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HealthState {
    /// The status shown.
    pub shown: Health,
    /// Since when it is shown.
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    /// A different computed status and since when it holds, while it waits to be shown.
    pub pending: Option<(Health, OffsetDateTime)>,
    /// The last evaluation.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// How long a status must hold before it is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hold {
    /// For a worse status.
    pub worse: Duration,
    /// For a better status.
    pub better: Duration,
}

impl HealthState {
    /// The state after an evaluation that computed `computed` at `now` (see the module's
    /// rules).
    pub fn step(
        previous: Option<&HealthState>,
        computed: Health,
        now: OffsetDateTime,
        hold: Hold,
    ) -> HealthState {
        let Some(p) = previous.filter(|p| now - p.updated_at <= STALE_AFTER) else {
            return HealthState {
                shown: computed,
                since: now,
                pending: None,
                updated_at: now,
            };
        };
        if computed == p.shown {
            return HealthState {
                pending: None,
                updated_at: now,
                ..*p
            };
        }
        let since = match p.pending {
            Some((h, since)) if h == computed => since,
            _ => now,
        };
        let wait = if computed > p.shown {
            hold.worse
        } else {
            hold.better
        };
        if now - since >= wait {
            HealthState {
                shown: computed,
                since: now,
                pending: None,
                updated_at: now,
            }
        } else {
            HealthState {
                shown: p.shown,
                since: p.since,
                pending: Some((computed, since)),
                updated_at: now,
            }
        }
    }

    /// The state to show at `now`: `None` when it is stale (see the module's rules).
    pub fn current(self, now: OffsetDateTime) -> Option<HealthState> {
        (now - self.updated_at <= STALE_AFTER).then_some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T: OffsetDateTime = datetime!(2025-03-01 12:00 UTC);
    const HOLD: Hold = Hold {
        worse: Duration::minutes(1),
        better: Duration::minutes(5),
    };

    fn at(secs: i64) -> OffsetDateTime {
        T + Duration::seconds(secs)
    }

    /// Runs computed statuses every 15 s; returns what is shown after each.
    fn run(computed: &[Health]) -> Vec<Health> {
        let mut state: Option<HealthState> = None;
        computed
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let s = HealthState::step(state.as_ref(), *h, at(i as i64 * 15), HOLD);
                state = Some(s);
                s.shown
            })
            .collect()
    }

    #[test]
    fn a_flapping_status_does_not_flip_what_is_shown() {
        use Health::*;
        // Critical and at risk alternating every 15 s: the first stays.
        let flapping: Vec<Health> = (0..20)
            .map(|i| if i % 2 == 0 { AtRisk } else { Critical })
            .collect();
        assert!(run(&flapping).iter().all(|h| *h == AtRisk));
        // Worse after a minute.
        let worse = [AtRisk, Critical, Critical, Critical, Critical, Critical];
        assert_eq!(
            run(&worse),
            [AtRisk, AtRisk, AtRisk, AtRisk, AtRisk, Critical]
        );
        // Better only after five minutes.
        let mut better = vec![Critical];
        better.extend([AtRisk; 21]);
        let shown = run(&better);
        assert_eq!(shown[20], Critical);
        assert_eq!(shown[21], AtRisk);
    }

    #[test]
    fn a_stale_state_shows_the_computed_status() {
        let old = HealthState {
            shown: Health::Critical,
            since: at(0),
            pending: Some((Health::Healthy, at(0))),
            updated_at: at(0),
        };
        let later = at(0) + STALE_AFTER + Duration::seconds(1);
        assert_eq!(old.current(later), None);
        let s = HealthState::step(Some(&old), Health::Healthy, later, HOLD);
        assert_eq!((s.shown, s.pending), (Health::Healthy, None));
    }
}
