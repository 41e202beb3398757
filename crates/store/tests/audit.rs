//! The audit log in a real SQLite file: entries come back as recorded, filtered by time and
//! action, and can be neither changed nor deleted.

use mhd_store::SqliteStore;
use mhd_store::audit::{AuditFilter, NewEntry, Outcome};
use serde_json::json;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2025-03-03 9:00 UTC);

async fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(&dir.path().join("mhd.db"), 2)
        .await
        .unwrap()
}

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

#[tokio::test]
async fn entries_cannot_be_changed_or_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let id = store
        .record_audit(&entry(0, "alert.acknowledge", Outcome::Ok))
        .await
        .unwrap();

    let update = sqlx::query("UPDATE audit SET actor = 'someone else' WHERE id = ?")
        .bind(id)
        .execute(store.pool())
        .await
        .unwrap_err();
    assert!(update.to_string().contains("append-only"), "{update}");
    let delete = sqlx::query("DELETE FROM audit WHERE id = ?")
        .bind(id)
        .execute(store.pool())
        .await
        .unwrap_err();
    assert!(delete.to_string().contains("append-only"), "{delete}");
    let delete_all = sqlx::query("DELETE FROM audit")
        .execute(store.pool())
        .await
        .unwrap_err();
    assert!(delete_all.to_string().contains("append-only"));

    let all = store.audit_entries(&AuditFilter::default()).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].actor, "local");
    assert_eq!(all[0].at, T0);
    assert_eq!(all[0].details, json!({ "n": 0 }));
    assert_eq!(all[0].client.as_deref(), Some("127.0.0.1:4000"));
    assert_eq!(all[0].outcome, Outcome::Ok);
}

#[tokio::test]
async fn since_action_and_limit_filter_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
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
