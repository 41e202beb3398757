//! Alerts in a real SQLite file and a real PostgreSQL database (the same tests on both):
//! transitions saved and read back after the store is closed and opened again,
//! acknowledgements refused for unknown and resolved alerts, silences in force only within
//! their window, and the integrity facts read from operations.

use mhd_core::alerts::{
    Alert, AlertEvent, AlertState, Impact, Resolution, Severity, Silence, Transition,
};
use mhd_core::{NewOperation, System};
use mhd_store::Store;
use mhd_store::alerts::{AlertFilter, AlertStore, AlertStoreError, NewSilence, Replaced};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2025-03-01 12:00 UTC);

mod backends;
use backends::Backend;

on_both!(
    "al";
    transitions_are_kept_across_a_reopen_with_their_history,
    a_cancelled_pending_alert_is_dropped_but_its_id_is_never_given_again,
    acknowledging_refuses_unknown_and_resolved_alerts_and_changes_nothing,
    silences_are_in_force_within_their_window_until_removed,
    integrity_failures_are_the_standing_ones,
);

fn alert(id: i64, rule: &str, component: Option<&str>, severity: Severity) -> Alert {
    Alert {
        id,
        key: format!("{rule}/{}", component.unwrap_or("*")),
        rule: rule.to_owned(),
        kind: "threshold".to_owned(),
        severity,
        state: AlertState::Pending,
        title: format!("{rule} on {}", component.unwrap_or("the migration")),
        message: "error_rate 0.12 > 0.05".to_owned(),
        component: component.map(str::to_owned),
        value: Some(0.12),
        started_at: T0,
        fired_at: None,
        last_seen: T0,
        clear_since: None,
        resolved_at: None,
        resolution: None,
        acknowledged: None,
        impact: Impact {
            affected_datasets: vec!["sales".into(), "orders".into()],
            components: component.map(str::to_owned).into_iter().collect(),
            estimated_downtime_minutes: Some(4.5),
        },
        runbook: Some("https://wiki.example/runbooks/error-rate".into()),
        suppressed_by: None,
        notified: false,
    }
}

fn fired(mut a: Alert, at: OffsetDateTime) -> Alert {
    a.state = AlertState::Firing;
    a.fired_at = Some(at);
    a.last_seen = at;
    a.notified = true;
    a
}

fn resolved(mut a: Alert, at: OffsetDateTime) -> Alert {
    a.state = AlertState::Resolved;
    a.resolved_at = Some(at);
    a.resolution = Some(Resolution::Automatic);
    a
}

fn t(alert: &Alert, event: AlertEvent, notify: bool) -> Transition {
    Transition {
        alert: alert.clone(),
        event,
        notify,
    }
}

async fn transitions_are_kept_across_a_reopen_with_their_history<B: Backend>(b: &B) {
    let pending = alert(7, "high_error_rate", Some("storage"), Severity::Warning);
    let firing = fired(pending.clone(), T0 + Duration::minutes(1));
    let other = alert(8, "rollbacks", None, Severity::Critical);
    {
        let store = b.open().await;
        assert_eq!(store.max_alert_id().await.unwrap(), 0);
        store
            .save_transitions(&[t(&pending, AlertEvent::Pending, false)], T0)
            .await
            .unwrap();
        store
            .save_transitions(
                &[
                    t(&firing, AlertEvent::Fired, true),
                    t(&other, AlertEvent::Pending, false),
                ],
                T0 + Duration::minutes(1),
            )
            .await
            .unwrap();
        b.close(store).await;
    }
    let store = b.open().await;
    let open_alerts = store.open_alerts().await.unwrap();
    assert_eq!(open_alerts.len(), 2);
    // Newest first by when they were first seen, then by id.
    assert_eq!(open_alerts[0].id, 8);
    assert_eq!(open_alerts[1], firing, "every field comes back as saved");
    assert_eq!(store.alert(7).await.unwrap(), Some(firing.clone()));
    assert_eq!(store.alert(99).await.unwrap(), None);
    assert_eq!(store.max_alert_id().await.unwrap(), 8);

    let history = store.alert_events(7).await.unwrap();
    let events: Vec<(&str, &str, bool)> = history
        .iter()
        .map(|e| (e.event.as_str(), e.state.as_str(), e.notify))
        .collect();
    assert_eq!(
        events,
        [("pending", "pending", false), ("fired", "firing", true)]
    );
    assert_eq!(history[1].at, T0 + Duration::minutes(1));

    // An evaluation that changes an open alert without a transition (its condition cleared,
    // it waits out `keep_firing_for`) saves it as it is, with no history entry.
    let mut waiting = firing.clone();
    waiting.clear_since = Some(T0 + Duration::minutes(2));
    waiting.value = Some(0.01);
    store
        .save_evaluation(&[], &[&waiting], T0 + Duration::minutes(2))
        .await
        .unwrap();
    assert_eq!(store.alert(7).await.unwrap(), Some(waiting.clone()));
    assert_eq!(store.alert_events(7).await.unwrap().len(), 2);

    // Resolution: the alert leaves the open list and joins the resolved history.
    let done = resolved(firing.clone(), T0 + Duration::minutes(9));
    store
        .save_transitions(
            &[t(&done, AlertEvent::Resolved, true)],
            T0 + Duration::minutes(9),
        )
        .await
        .unwrap();
    let open_alerts = store.open_alerts().await.unwrap();
    assert_eq!(
        open_alerts.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![8]
    );
    let resolved_list = store
        .alerts(&AlertFilter {
            states: vec![AlertState::Resolved],
            ..AlertFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(resolved_list, vec![done.clone()]);
    assert_eq!(store.alert_events(7).await.unwrap().len(), 3);

    // Filters by severity and component; all of them with a limit.
    let critical = store
        .alerts(&AlertFilter {
            severity: Some(Severity::Critical),
            ..AlertFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(critical.iter().map(|a| a.id).collect::<Vec<_>>(), vec![8]);
    let storage = store
        .alerts(&AlertFilter {
            component: Some("storage".into()),
            ..AlertFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(storage.iter().map(|a| a.id).collect::<Vec<_>>(), vec![7]);
    let all = store
        .alerts(&AlertFilter {
            limit: 1,
            ..AlertFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![8],
        "open alerts come before resolved ones"
    );
}

async fn a_cancelled_pending_alert_is_dropped_but_its_id_is_never_given_again<B: Backend>(b: &B) {
    let store = b.open().await;
    let a = alert(41, "slow_response", Some("config"), Severity::Warning);
    store
        .save_transitions(&[t(&a, AlertEvent::Pending, false)], T0)
        .await
        .unwrap();
    store
        .acknowledge(41, "ana", Some("looking"), T0)
        .await
        .unwrap();
    store
        .save_transitions(
            &[t(&a, AlertEvent::Cancelled, false)],
            T0 + Duration::minutes(1),
        )
        .await
        .unwrap();
    assert_eq!(store.alert(41).await.unwrap(), None);
    assert!(store.open_alerts().await.unwrap().is_empty());
    assert!(store.acknowledgements().await.unwrap().is_empty());
    assert_eq!(store.max_alert_id().await.unwrap(), 41);
    let events: Vec<String> = store
        .alert_events(41)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(events, ["pending", "acknowledged", "cancelled"]);
}

async fn acknowledging_refuses_unknown_and_resolved_alerts_and_changes_nothing<B: Backend>(b: &B) {
    let store = b.open().await;
    let live = fired(
        alert(1, "high_error_rate", Some("storage"), Severity::Warning),
        T0,
    );
    let done = resolved(
        fired(alert(2, "rollbacks", None, Severity::Critical), T0),
        T0 + Duration::minutes(3),
    );
    store
        .save_transitions(
            &[
                t(&live, AlertEvent::Fired, true),
                t(&done, AlertEvent::Resolved, true),
            ],
            T0,
        )
        .await
        .unwrap();

    let err = store.acknowledge(3, "ana", None, T0).await.unwrap_err();
    assert!(matches!(err, AlertStoreError::NoSuchAlert(3)), "{err}");
    assert_eq!(err.to_string(), "no alert has id 3");
    let err = store.acknowledge(2, "ana", None, T0).await.unwrap_err();
    assert!(matches!(err, AlertStoreError::Resolved(2)), "{err}");
    assert_eq!(err.to_string(), "alert 2 is already resolved");
    for bad_by in ["", "  ", "a\u{1b}[31mb"] {
        let err = store.acknowledge(1, bad_by, None, T0).await.unwrap_err();
        assert!(matches!(err, AlertStoreError::Invalid(_)), "{err}");
        assert!(err.to_string().starts_with("by: "), "{err}");
    }
    let long = "x".repeat(2001);
    let err = store
        .acknowledge(1, "ana", Some(&long), T0)
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("comment: "), "{err}");
    // Nothing of the refused ones was kept.
    assert!(store.acknowledgements().await.unwrap().is_empty());
    assert_eq!(store.alert_events(1).await.unwrap().len(), 1);
    assert_eq!(store.alert_events(2).await.unwrap().len(), 1);

    // A first and a second acknowledgement: the second replaces the first and says so, both
    // are history.
    let first = store
        .acknowledge(1, "ana", Some("on it"), T0 + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(first.acknowledgement.comment.as_deref(), Some("on it"));
    assert_eq!(first.replaced, None, "nothing to replace");
    let second = store
        .acknowledge(1, " bob ", Some("  "), T0 + Duration::minutes(2))
        .await
        .unwrap();
    assert_eq!(
        second.replaced,
        Some(Replaced {
            by: "ana".into(),
            at: T0 + Duration::minutes(1),
            comment: Some("on it".into()),
        })
    );
    let acks = store.acknowledgements().await.unwrap();
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].by, "bob");
    assert_eq!(acks[0].comment, None, "a blank comment is no comment");
    assert_eq!(acks[0].at, T0 + Duration::minutes(2));
    let shown = store.alert(1).await.unwrap().unwrap();
    assert_eq!(shown.acknowledged, Some(acks[0].clone()));
    let history = store.alert_events(1).await.unwrap();
    let who: Vec<Option<&str>> = history.iter().map(|e| e.by.as_deref()).collect();
    assert_eq!(who, [None, Some("ana"), Some("bob")]);
    assert_eq!(history[1].comment.as_deref(), Some("on it"));
    let events: Vec<&str> = history.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(events, ["fired", "acknowledged", "re-acknowledged"]);
    assert_eq!(history[1].replaced, None);
    assert_eq!(history[2].replaced, second.replaced);

    // Once resolved, the acknowledgement no longer goes to the engine but stays on the alert.
    let gone = resolved(live.clone(), T0 + Duration::minutes(5));
    store
        .save_transitions(&[t(&gone, AlertEvent::Resolved, true)], T0)
        .await
        .unwrap();
    assert!(store.acknowledgements().await.unwrap().is_empty());
    assert_eq!(
        store.alert(1).await.unwrap().unwrap().acknowledged,
        Some(acks[0].clone())
    );
}

async fn silences_are_in_force_within_their_window_until_removed<B: Backend>(b: &B) {
    let store = b.open().await;
    let s = store
        .add_silence(&NewSilence {
            rule: Some("high_error_rate".into()),
            component: None,
            starts_at: T0,
            until: T0 + Duration::hours(2),
            by: "ana".into(),
            comment: Some("deploy window".into()),
        })
        .await
        .unwrap();
    let other = store
        .add_silence(&NewSilence {
            rule: None,
            component: Some("storage".into()),
            starts_at: T0,
            until: T0 + Duration::hours(1),
            by: "bob".into(),
            comment: None,
        })
        .await
        .unwrap();
    let ids = |v: Vec<Silence>| v.into_iter().map(|s| s.id).collect::<Vec<_>>();
    // Soonest to end first.
    assert_eq!(ids(store.silences(T0).await.unwrap()), vec![other.id, s.id]);
    assert_eq!(
        ids(store.silences(T0 + Duration::minutes(90)).await.unwrap()),
        vec![s.id]
    );
    assert!(
        store
            .silences(T0 + Duration::hours(2))
            .await
            .unwrap()
            .is_empty(),
        "a silence ends at its `until`"
    );
    assert_eq!(store.silences(T0).await.unwrap()[1], s);

    let removed = store
        .remove_silence(s.id, T0 + Duration::minutes(10))
        .await
        .unwrap();
    assert_eq!(removed, s);
    assert_eq!(ids(store.silences(T0).await.unwrap()), vec![other.id]);
    let err = store.remove_silence(s.id, T0).await.unwrap_err();
    assert!(matches!(err, AlertStoreError::SilenceRemoved(_)), "{err}");
    let err = store.remove_silence(999, T0).await.unwrap_err();
    assert_eq!(err.to_string(), "no silence has id 999");

    // Bad silences are refused and store nothing.
    let bad = [
        NewSilence {
            rule: None,
            component: None,
            starts_at: T0,
            until: T0 + Duration::hours(1),
            by: "ana".into(),
            comment: None,
        },
        NewSilence {
            rule: Some("x".into()),
            component: None,
            starts_at: T0,
            until: T0,
            by: "ana".into(),
            comment: None,
        },
        NewSilence {
            rule: Some("x".into()),
            component: None,
            starts_at: T0,
            until: T0 + Duration::hours(1),
            by: String::new(),
            comment: None,
        },
    ];
    for b in &bad {
        let err = store.add_silence(b).await.unwrap_err();
        assert!(matches!(err, AlertStoreError::Invalid(_)), "{err}");
    }
    assert_eq!(ids(store.silences(T0).await.unwrap()), vec![other.id]);
}

fn verification(
    minutes: i64,
    dataset: &str,
    system: Option<System>,
    ok: bool,
    rows: Option<i64>,
) -> NewOperation {
    let mut o = NewOperation::new(T0 + Duration::minutes(minutes), "verification", "verify");
    o.dataset_name = Some(dataset.into());
    o.component = Some("storage".into());
    o.system = system;
    o.success = ok;
    o.row_count = rows;
    if !ok {
        o.error_message = Some("checksum mismatch".into());
    }
    o
}

async fn integrity_failures_are_the_standing_ones<B: Backend>(b: &B) {
    let store = b.open().await;
    store
        .insert_operations(&[
            // Failed, then passed: nothing stands.
            verification(0, "fixed", None, false, None),
            verification(5, "fixed", None, true, None),
            // Passed, then failed: stands.
            verification(0, "broken", None, true, None),
            verification(5, "broken", None, false, None),
            // Row counts of old and new differ.
            verification(1, "short", Some(System::Old), true, Some(1200)),
            verification(2, "short", Some(System::New), true, Some(1199)),
            // Row counts agree.
            verification(1, "same", Some(System::Old), true, Some(10)),
            verification(2, "same", Some(System::New), true, Some(10)),
        ])
        .await
        .unwrap();
    let got = store.integrity_failures().await.unwrap();
    let got: Vec<(&str, Option<&str>)> = got
        .iter()
        .map(|e| (e.dataset.as_str(), e.detail.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("broken", Some("checksum mismatch")),
            ("short", Some("old 1200 rows, new 1199 rows")),
        ]
    );
}
