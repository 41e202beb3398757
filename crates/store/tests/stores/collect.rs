//! What the collectors remember: log errors (the newest thousand per collector), git commits
//! and counts across a restart, seen files and values replaced by name.

use mhd_store::collect::{GitCommitRecord, GitCountRecord, LogErrorRecord, SeenFileRecord};
use time::{Duration, OffsetDateTime};

use crate::backends;
use crate::both::{Both, as_stored};
use mhd_store::prelude::*;

crate::on_both!(
    "co";
    log_errors_keep_the_newest_thousand_per_collector,
    git_commits_and_counts_survive_reopening,
    seen_files_and_values_are_replaced_by_name,
    commits_of_one_time_come_in_the_order_they_were_stored,
    log_errors_written_at_once_keep_the_newest_thousand,
    a_log_error_with_a_nul_byte_is_kept,
    seen_files_come_in_byte_order,
);

fn error(collector: &str, n: i64) -> LogErrorRecord {
    LogErrorRecord {
        collector: collector.into(),
        time: OffsetDateTime::UNIX_EPOCH + Duration::seconds(n),
        level: "ERROR".into(),
        message: format!("failure {n}"),
        file: "/var/log/app.log".into(),
    }
}

async fn log_errors_keep_the_newest_thousand_per_collector<B: Both>(b: &B) {
    let store = b.open().await;
    let many: Vec<LogErrorRecord> = (0..1100).map(|n| error("app", n)).collect();
    store.insert_log_errors(&many).await.expect("stored");
    store
        .insert_log_errors(&[error("other", 1)])
        .await
        .expect("stored");
    let app = store
        .recent_log_errors(Some("app"), 5000)
        .await
        .expect("read");
    assert_eq!(app.len(), 1000);
    assert_eq!(app[0].message, "failure 1099");
    assert_eq!(app[999].message, "failure 100");
    let all = store.recent_log_errors(None, 2).await.expect("read");
    assert_eq!(all[0].collector, "other");
    assert_eq!(all.len(), 2);
}

async fn git_commits_and_counts_survive_reopening<B: Both>(b: &B) {
    {
        let store = b.open().await;
        let commit = GitCommitRecord {
            commit: "abc".into(),
            committed_at: OffsetDateTime::UNIX_EPOCH + Duration::days(1),
            components: vec!["storage".into()],
        };
        let count = GitCountRecord {
            commit: "abc".into(),
            pattern_key: "k".into(),
            component: "storage".into(),
            matches: 3,
        };
        store
            .insert_git_commit("repo", &commit, &[count])
            .await
            .expect("stored");
        b.close(store).await;
    }
    let store = b.open().await;
    let commits = store.git_commits("repo").await.expect("read");
    assert_eq!(commits.len(), 1);
    assert_eq!(commits[0].components, vec!["storage".to_owned()]);
    let counts = store.git_counts("repo").await.expect("read");
    assert_eq!(counts[0].matches, 3);
    assert!(store.git_counts("else").await.expect("read").is_empty());
}

async fn commits_of_one_time_come_in_the_order_they_were_stored<B: Both>(b: &B) {
    let store = b.open().await;
    let at = OffsetDateTime::UNIX_EPOCH + Duration::days(1);
    for sha in ["f00", "a11", "c22"] {
        let commit = GitCommitRecord {
            commit: sha.into(),
            committed_at: at,
            components: Vec::new(),
        };
        store.insert_git_commit("repo", &commit, &[]).await.unwrap();
    }
    let earlier = GitCommitRecord {
        commit: "e33".into(),
        committed_at: at - Duration::hours(1),
        components: vec!["api".into()],
    };
    store
        .insert_git_commit("repo", &earlier, &[])
        .await
        .unwrap();
    // Walked again: it keeps its place.
    let again = GitCommitRecord {
        commit: "f00".into(),
        committed_at: at,
        components: vec!["storage".into()],
    };
    store.insert_git_commit("repo", &again, &[]).await.unwrap();
    let order: Vec<String> = store
        .git_commits("repo")
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.commit)
        .collect();
    assert_eq!(order, ["e33", "f00", "a11", "c22"]);
}

async fn log_errors_written_at_once_keep_the_newest_thousand<B: Both>(b: &B) {
    let store = b.open().await;
    let first: Vec<LogErrorRecord> = (0..900).map(|n| error("app", n)).collect();
    let second: Vec<LogErrorRecord> = (900..1800).map(|n| error("app", n)).collect();
    let (a, b) = tokio::join!(
        store.insert_log_errors(&first),
        store.insert_log_errors(&second)
    );
    assert_eq!((a.unwrap(), b.unwrap()), (900, 900));
    let kept = store
        .recent_log_errors(Some("app"), 5000)
        .await
        .expect("read");
    assert_eq!(kept.len(), 1000);
    // Newest first, by the order the batches were stored in: one batch whole, then the newest
    // hundred of the other.
    let n = |e: &LogErrorRecord| -> i64 { e.message["failure ".len()..].parse().unwrap() };
    let numbers: Vec<i64> = kept.iter().map(n).collect();
    let (top, rest) = numbers.split_at(900);
    assert!(top[899] == 0 || top[899] == 900, "{top:?}");
    assert_eq!(top[0], top[899] + 899, "one batch whole, newest first");
    assert!(top.windows(2).all(|w| w[0] == w[1] + 1), "{top:?}");
    let other_end = if top[899] == 0 { 1800 } else { 900 };
    assert!(rest.windows(2).all(|w| w[0] == w[1] + 1), "{rest:?}");
    assert_eq!((rest[0], rest[99]), (other_end - 1, other_end - 100));
}

async fn seen_files_and_values_are_replaced_by_name<B: Both>(b: &B) {
    let store = b.open().await;
    let at = OffsetDateTime::UNIX_EPOCH;
    let mut file = SeenFileRecord {
        name: "a.xml".into(),
        size: 10,
        modified: at,
        error: Some("a.xml:1:1: not XML".into()),
    };
    store.record_seen_file("t", &file, at).await.expect("ok");
    file.size = 12;
    file.error = None;
    store.record_seen_file("t", &file, at).await.expect("ok");
    assert_eq!(store.seen_files("t").await.expect("read"), vec![file]);
    assert_eq!(store.collector_value("t", "k").await.expect("read"), None);
    store.set_collector_value("t", "k", "1").await.expect("ok");
    store.set_collector_value("t", "k", "2").await.expect("ok");
    assert_eq!(
        store.collector_value("t", "k").await.expect("read"),
        Some("2".into())
    );
}

/// A log line with a NUL in it is stored, not refused with its whole batch.
async fn a_log_error_with_a_nul_byte_is_kept<B: Both>(b: &B) {
    let store = b.open().await;
    let mut e = error("app", 1);
    e.message = "bad\0byte".into();
    store.insert_log_errors(&[e]).await.expect("stored");
    let got = store.recent_log_errors(Some("app"), 1).await.unwrap();
    assert_eq!(got[0].message, as_stored::<B>("bad\0byte"));
    assert_eq!(got.len(), 1);
}

/// Seen files are listed by name in byte order: capitals first.
async fn seen_files_come_in_byte_order<B: Both>(b: &B) {
    let store = b.open().await;
    let at = OffsetDateTime::UNIX_EPOCH;
    for name in ["b.xml", "a.xml", "B.xml", "a-1.xml", "a_1.xml"] {
        let file = SeenFileRecord {
            name: name.into(),
            size: 1,
            modified: at,
            error: None,
        };
        store.record_seen_file("t", &file, at).await.unwrap();
    }
    let names: Vec<String> = store
        .seen_files("t")
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, ["B.xml", "a-1.xml", "a.xml", "a_1.xml", "b.xml"]);
}
