//! The audit log: entries come back as recorded, filtered by time and action, can never be
//! changed, and are deleted only when pruned past their retention (by the database's clock).

use mhd_store::audit::{AuditFilter, NewEntry, Outcome};
use serde_json::json;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::backends;
use crate::both::{Both, as_stored};
use mhd_store::prelude::*;

const T0: OffsetDateTime = datetime!(2025-03-03 9:00 UTC);

crate::on_both!(
    "ad";
    entries_cannot_be_changed_or_deleted_while_young,
    pruning_deletes_only_what_is_past_the_retention,
    since_action_and_limit_filter_newest_first,
    an_entry_with_a_nul_is_recorded,
);

fn entry(minutes: i64, action: &str, outcome: Outcome) -> NewEntry {
    NewEntry {
        at: T0 + Duration::minutes(minutes),
        actor: "local".into(),
        action: action.into(),
        resource: format!("resource {minutes}"),
        details: json!({ "n": minutes }),
        client: Some("127.0.0.1:4000".into()),
        outcome,
    }
}

/// An entry recorded `days` ago by the real clock (the one the store's guard reads).
fn days_ago(days: i64) -> NewEntry {
    NewEntry {
        at: OffsetDateTime::now_utc() - Duration::days(days),
        ..entry(0, "signin", Outcome::Refused)
    }
}

async fn entries_cannot_be_changed_or_deleted_while_young<B: Both>(b: &B) {
    let store = b.open().await;
    let id = store
        .record_audit(&NewEntry {
            at: T0,
            ..days_ago(0)
        })
        .await
        .unwrap();
    let young = store.record_audit(&days_ago(29)).await.unwrap();

    let raw = b.raw().await;
    let update = raw
        .execute(&format!(
            "UPDATE audit SET actor = 'someone else' WHERE id = {id}"
        ))
        .await
        .unwrap_err();
    assert!(update.contains("append-only"), "{update}");
    let delete = raw
        .execute(&format!("DELETE FROM audit WHERE id = {young}"))
        .await
        .unwrap_err();
    assert!(delete.contains("append-only"), "{delete}");
    let delete_all = raw.execute("DELETE FROM audit").await.unwrap_err();
    assert!(delete_all.contains("append-only"), "{delete_all}");
    raw.close().await;
    // Pruning past young entries deletes none of them either.
    let refused = store
        .prune_audit(OffsetDateTime::now_utc())
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("30 days"), "{refused}");

    let all = store.audit_entries(&AuditFilter::default()).await.unwrap();
    assert_eq!(all.len(), 2);
    let old = all.iter().find(|e| e.id == id).unwrap();
    assert_eq!(old.actor, "local");
    assert_eq!(old.at, T0);
    assert_eq!(old.details, json!({ "n": 0 }));
    assert_eq!(old.client.as_deref(), Some("127.0.0.1:4000"));
}

async fn pruning_deletes_only_what_is_past_the_retention<B: Both>(b: &B) {
    let store = b.open().await;
    for days in [500, 401, 399, 31, 1] {
        store.record_audit(&days_ago(days)).await.unwrap();
    }
    let cutoff = OffsetDateTime::now_utc() - mhd_store::audit::DEFAULT_RETENTION;
    assert_eq!(store.prune_audit(cutoff).await.unwrap(), 2);
    assert_eq!(
        store.prune_audit(cutoff).await.unwrap(),
        0,
        "twice deletes nothing more"
    );
    let left = store.audit_entries(&AuditFilter::default()).await.unwrap();
    assert_eq!(left.len(), 3);
    assert!(left.iter().all(|e| e.at > cutoff));
    // The shortest retention the store allows.
    let shortest = OffsetDateTime::now_utc() - mhd_store::audit::MIN_RETENTION;
    assert_eq!(store.prune_audit(shortest).await.unwrap(), 2);
    assert_eq!(
        store
            .audit_entries(&AuditFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn since_action_and_limit_filter_newest_first<B: Both>(b: &B) {
    let store = b.open().await;
    for (m, action, outcome) in [
        (0, "operations.write", Outcome::Ok),
        (10, "alert.acknowledge", Outcome::Refused),
        (20, "operations.write", Outcome::Ok),
        (30, "silence.add", Outcome::Ok),
        (40, "operations.write", Outcome::Refused),
    ] {
        store
            .record_audit(&entry(m, action, outcome))
            .await
            .unwrap();
    }
    let since = store
        .audit_entries(&AuditFilter {
            since: Some(T0 + Duration::minutes(20)),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let minutes: Vec<_> = since.iter().map(|e| e.resource.as_str()).collect();
    assert_eq!(minutes, ["resource 40", "resource 30", "resource 20"]);

    let writes = store
        .audit_entries(&AuditFilter {
            action: Some("operations.write".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(writes.len(), 3);
    assert!(writes.iter().all(|e| e.action == "operations.write"));
    assert_eq!(writes[0].outcome, Outcome::Refused);

    let both = store
        .audit_entries(&AuditFilter {
            since: Some(T0 + Duration::minutes(5)),
            action: Some("operations.write".into()),
            limit: 1,
        })
        .await
        .unwrap();
    assert_eq!(both.len(), 1);
    assert_eq!(both[0].resource, "resource 40");

    let none = store
        .audit_entries(&AuditFilter {
            action: Some("token.create".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
}

/// A refused request's input may hold a NUL; its entry is recorded all the same, the details
/// exactly (JSON escapes it).
async fn an_entry_with_a_nul_is_recorded<B: Both>(b: &B) {
    let store = b.open().await;
    let entry = NewEntry {
        resource: "token a\0b".into(),
        details: json!({ "name": "a\0b" }),
        ..entry(0, "token.create", Outcome::Refused)
    };
    let id = store.record_audit(&entry).await.expect("recorded");
    let all = store.audit_entries(&AuditFilter::default()).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].id, id);
    assert_eq!(all[0].resource, as_stored::<B>("token a\0b"));
    assert_eq!(all[0].details, json!({ "name": "a\0b" }));
}
