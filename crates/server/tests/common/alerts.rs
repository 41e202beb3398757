//! Alerts for the tests: the storage component's error rate above 5 %, firing since a given
//! moment, and the transitions that store it.

use mhd_core::alerts::{Alert, AlertEvent, AlertState, Impact, Resolution, Severity, Transition};
use time::OffsetDateTime;

/// Alert `id`, `high_error_rate/storage`, critical, firing since `since` and last seen at
/// `seen`.
pub fn firing(id: i64, since: OffsetDateTime, seen: OffsetDateTime) -> Alert {
    Alert {
        id,
        key: "high_error_rate/storage".into(),
        rule: "high_error_rate".into(),
        kind: "threshold".into(),
        severity: Severity::Critical,
        state: AlertState::Firing,
        title: "Error rate above 5 % on storage".into(),
        message: "error_rate 0.12 > 0.05".into(),
        component: Some("storage".into()),
        value: Some(0.12),
        started_at: since,
        fired_at: Some(since),
        last_seen: seen,
        clear_since: None,
        resolved_at: None,
        resolution: None,
        acknowledged: None,
        impact: Impact::default(),
        runbook: None,
        suppressed_by: None,
        notified: true,
    }
}

/// `alert` resolved by itself at `at`.
pub fn resolved(mut alert: Alert, at: OffsetDateTime) -> Alert {
    alert.state = AlertState::Resolved;
    alert.last_seen = at;
    alert.clear_since = Some(at);
    alert.resolved_at = Some(at);
    alert.resolution = Some(Resolution::Automatic);
    alert
}

/// The transition that stores `alert` as it is: fired, or resolved once resolved.
pub fn stored(alert: Alert) -> Transition {
    let event = if alert.state == AlertState::Resolved {
        AlertEvent::Resolved
    } else {
        AlertEvent::Fired
    };
    Transition {
        alert,
        event,
        notify: true,
    }
}
