//! The notification outbox: an event queued once per channel, a resolution only where its
//! firing went and never before it, attempts recorded, removed channels abandoned, and at most
//! one Jira issue per alert.

use mhd_store::outbox::{
    Attempt, DeliveryEvent, DeliveryFilter, DeliveryState, JiraIssue, Notification,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::backends;
use crate::both::Both;
use mhd_store::prelude::*;

crate::on_both!(
    "ob";
    an_event_is_queued_once_per_channel,
    a_resolution_goes_only_where_the_firing_went,
    a_resolution_waits_for_its_firing_and_rows_come_oldest_first,
    deliveries_of_removed_channels_are_marked_failed,
    an_alert_has_at_most_one_jira_issue,
    a_claimed_delivery_is_held_until_its_outcome_or_its_hold_ends,
    a_retry_scheduled_later_outlives_a_release_of_claims,
    two_stores_claiming_at_once_never_take_the_same_delivery,
);

const T0: OffsetDateTime = datetime!(2025-03-01 12:00 UTC);

/// How long a claimed delivery is held in these tests.
const HOLD: Duration = Duration::seconds(20);

fn fired<'a>(alert_id: i64, channels: &'a [&'a str]) -> Notification<'a> {
    Notification {
        alert_id,
        event: DeliveryEvent::Fired,
        alert: r#"{"title":"Error rate above 5 %","severity":"warning"}"#,
        channels,
    }
}

async fn an_event_is_queued_once_per_channel<B: Both>(b: &B) {
    let store = b.open().await;
    let queued = store
        .enqueue_notification(&fired(1, &["ops", "pager"]), T0)
        .await
        .unwrap();
    assert_eq!(queued, ["ops", "pager"]);
    let again = store
        .enqueue_notification(&fired(1, &["ops", "pager"]), T0)
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(
        store.pending_deliveries().await.unwrap(),
        [("ops".to_owned(), 1), ("pager".to_owned(), 1)]
    );
}

async fn a_resolution_goes_only_where_the_firing_went<B: Both>(b: &B) {
    let store = b.open().await;
    store
        .enqueue_notification(&fired(7, &["ops"]), T0)
        .await
        .unwrap();
    let resolved = Notification {
        event: DeliveryEvent::Resolved,
        ..fired(7, &["ops", "pager"])
    };
    let queued = store.enqueue_notification(&resolved, T0).await.unwrap();
    assert_eq!(queued, ["ops"]);
}

async fn a_retry_scheduled_later_outlives_a_release_of_claims<B: Both>(b: &B) {
    let store = b.open().await;
    store
        .enqueue_notification(&fired(1, &["ops"]), T0)
        .await
        .unwrap();
    let d = store
        .claim_delivery("ops", T0, T0 + HOLD)
        .await
        .unwrap()
        .unwrap();
    let retry_at = T0 + Duration::minutes(5);
    store
        .record_attempt(
            d.id,
            1,
            &Attempt::Retry {
                next_at: retry_at,
                error: "HTTP 503".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .release_claims(T0 + Duration::seconds(5))
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.next_due_at("ops").await.unwrap(), Some(retry_at));
}

async fn a_resolution_waits_for_its_firing_and_rows_come_oldest_first<B: Both>(b: &B) {
    let store = b.open().await;
    store
        .enqueue_notification(&fired(1, &["ops"]), T0)
        .await
        .unwrap();
    store
        .enqueue_notification(&fired(2, &["ops"]), T0)
        .await
        .unwrap();
    let resolved = Notification {
        event: DeliveryEvent::Resolved,
        ..fired(1, &["ops"])
    };
    store.enqueue_notification(&resolved, T0).await.unwrap();
    let first = store
        .claim_delivery("ops", T0, T0 + HOLD)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((first.alert_id, first.event), (1, DeliveryEvent::Fired));
    // The firing of alert 1 waits for a retry: alert 2 goes ahead, the resolution of 1 not.
    let later = T0 + Duration::seconds(30);
    store
        .record_attempt(
            first.id,
            1,
            &Attempt::Retry {
                next_at: later,
                error: "HTTP 500".into(),
            },
        )
        .await
        .unwrap();
    let next = store
        .claim_delivery("ops", T0, T0 + HOLD)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((next.alert_id, next.event), (2, DeliveryEvent::Fired));
    store
        .record_attempt(next.id, 1, &Attempt::Sent { at: T0 })
        .await
        .unwrap();
    assert_eq!(
        store.claim_delivery("ops", T0, T0 + HOLD).await.unwrap(),
        None
    );
    assert_eq!(store.next_due_at("ops").await.unwrap(), Some(later));
    let again = store
        .claim_delivery("ops", later, later + HOLD)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(again.attempts, 1);
    store
        .record_attempt(
            again.id,
            2,
            &Attempt::Failed {
                error: "HTTP 400".into(),
            },
        )
        .await
        .unwrap();
    let resolution = store
        .claim_delivery("ops", later, later + HOLD)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resolution.event, DeliveryEvent::Resolved);

    let listed = store
        .recent_deliveries(&DeliveryFilter {
            limit: 10,
            state: Some(DeliveryState::Failed),
            ..DeliveryFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].attempts, 2);
    assert_eq!(listed[0].last_error.as_deref(), Some("HTTP 400"));
    assert_eq!(listed[0].title.as_deref(), Some("Error rate above 5 %"));
    assert_eq!(listed[0].next_attempt_at, None);
}

async fn deliveries_of_removed_channels_are_marked_failed<B: Both>(b: &B) {
    let store = b.open().await;
    store
        .enqueue_notification(&fired(1, &["ops", "old"]), T0)
        .await
        .unwrap();
    let n = store
        .abandon_deliveries(&["ops"], "the channel is no longer in the plan")
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        store.pending_deliveries().await.unwrap(),
        [("ops".to_owned(), 1)]
    );
    let failed = store
        .recent_deliveries(&DeliveryFilter {
            limit: 5,
            channel: Some("old".into()),
            ..DeliveryFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(failed[0].state, DeliveryState::Failed);
}

async fn an_alert_has_at_most_one_jira_issue<B: Both>(b: &B) {
    let store = b.open().await;
    let issue = JiraIssue {
        alert_id: 3,
        channel: "jira".into(),
        issue_key: "OPS-1".into(),
        issue_id: Some("10001".into()),
        issue_url: None,
        created_at: T0,
    };
    assert!(store.record_jira_issue(&issue).await.unwrap());
    let other = JiraIssue {
        issue_key: "OPS-2".into(),
        ..issue.clone()
    };
    assert!(!store.record_jira_issue(&other).await.unwrap());
    assert_eq!(store.jira_issue(3).await.unwrap(), Some(issue));
    assert_eq!(store.jira_issue(4).await.unwrap(), None);
}

async fn a_claimed_delivery_is_held_until_its_outcome_or_its_hold_ends<B: Both>(b: &B) {
    let store = b.open().await;
    store
        .enqueue_notification(&fired(1, &["ops"]), T0)
        .await
        .unwrap();
    let claimed = store
        .claim_delivery("ops", T0, T0 + HOLD)
        .await
        .unwrap()
        .unwrap();
    // Held: a second worker (another replica just given the lead) does not get it.
    assert_eq!(
        store.claim_delivery("ops", T0, T0 + HOLD).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .claim_delivery("ops", T0 + Duration::seconds(19), T0 + HOLD)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.next_due_at("ops").await.unwrap(), Some(T0 + HOLD));
    // The worker died before recording an outcome: due again when the hold ends, as it was.
    let again = store
        .claim_delivery("ops", T0 + HOLD, T0 + HOLD + HOLD)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((again.id, again.attempts), (claimed.id, 0));
    // Or sooner, when a new leader's workers start: they shorten the claims left behind.
    let start = T0 + HOLD + Duration::seconds(1);
    assert_eq!(
        store
            .release_claims(start + Duration::seconds(5))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .claim_delivery("ops", start, start + HOLD)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.next_due_at("ops").await.unwrap(),
        Some(start + Duration::seconds(5))
    );
    let again = store
        .claim_delivery("ops", start + Duration::seconds(5), start + HOLD)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.id, claimed.id);
    // An outcome ends the hold: sent, it is never claimed again.
    store
        .record_attempt(again.id, 1, &Attempt::Sent { at: T0 + HOLD })
        .await
        .unwrap();
    let much_later = T0 + Duration::days(1);
    assert_eq!(
        store
            .claim_delivery("ops", much_later, much_later + HOLD)
            .await
            .unwrap(),
        None
    );
}

async fn two_stores_claiming_at_once_never_take_the_same_delivery<B: Both>(b: &B) {
    let first = b.open().await;
    let second = b.open().await;
    for alert in 1..=40 {
        first
            .enqueue_notification(&fired(alert, &["ops"]), T0)
            .await
            .unwrap();
    }
    async fn drain(store: &impl mhd_store::Outbox) -> Vec<i64> {
        let mut ids = Vec::new();
        while let Some(d) = store.claim_delivery("ops", T0, T0 + HOLD).await.unwrap() {
            ids.push(d.id);
        }
        ids
    }
    let (a, b) = tokio::join!(drain(&first), drain(&second));
    let mut all: Vec<i64> = a.iter().chain(&b).copied().collect();
    all.sort_unstable();
    let claimed = all.len();
    all.dedup();
    assert_eq!(
        claimed,
        all.len(),
        "a delivery was claimed twice: {a:?} {b:?}"
    );
    assert_eq!(all.len(), 40, "every delivery claimed once");
}
