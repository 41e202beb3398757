//! The collectors against real peers: a real Prometheus (Debian's `prometheus`) scraping a real
//! `mhd` server, the PostgreSQL of this machine, a git repository made here, log files written,
//! rotated and truncated here, JUnit reports written by real tools, and a TCP server that never
//! answers.
//!
//! Without the `prometheus` binary or a reachable PostgreSQL the tests that need them print a
//! notice and pass, except when the `CI` environment variable is set: there they fail.

use mhd_store::prelude::*;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration as StdDuration, Instant};

use mhd_core::plan::{
    Collectors, DatabaseCollector, GitCollector, GitPattern, LogsCollector, Plan, PromQuery,
    PrometheusCollector, RangeQuery, Schedule, Secret, TestReportsCollector,
};
use mhd_core::sample::Sample;
use mhd_server::AppState;
use mhd_server::collect::{self, Collector, Runner};
use mhd_store::Store;
use time::{Duration, OffsetDateTime};

mod common;

/// Skips (returns true) with a notice, or fails in CI.
fn skip(what: &str) -> bool {
    assert!(
        !common::in_ci(),
        "collectors: {what}, and CI is set (see .ci/run)"
    );
    eprintln!("collectors: {what}; skipping");
    true
}

fn plan(collectors: Collectors) -> Plan {
    let mut plan = common::default_plan();
    plan.collectors = collectors;
    plan
}

/// A logs collector of one file in the auto-detected format, for no component.
fn logs_collector(name: &str, path: &str, schedule: Schedule) -> LogsCollector {
    LogsCollector {
        name: name.into(),
        paths: vec![path.into()],
        format: "auto".into(),
        schedule,
        component: None,
    }
}

fn schedule(interval_ms: i64, timeout_ms: i64) -> Schedule {
    Schedule {
        interval: Duration::milliseconds(interval_ms),
        timeout: Duration::milliseconds(timeout_ms),
    }
}

/// A store in `dir` and a state over it with `collectors` in its plan (real clock).
async fn state_in(dir: &Path, collectors: Collectors) -> AppState {
    common::live_state(common::store_in(dir).await, Some(plan(collectors)))
}

/// The only collector of the state's plan, ready to run, paths taken from `base`.
fn runner(state: &AppState, base: &Path) -> Runner {
    let plan = state.plan().expect("plan");
    let mut all = Collector::from_plan(&plan.collectors, base);
    assert_eq!(all.len(), 1);
    Runner::new(all.remove(0))
}

async fn samples_of(state: &AppState, metric: &str) -> Vec<Sample> {
    let mut out: Vec<Sample> = state
        .store()
        .latest_samples(OffsetDateTime::UNIX_EPOCH)
        .await
        .expect("samples")
        .into_iter()
        .filter(|s| s.metric == metric)
        .collect();
    out.sort_by_key(|s| s.timestamp);
    out
}

/// Every stored sample of `metric`.
async fn all_samples(state: &AppState, metric: &str) -> Vec<mhd_core::sample::Sample> {
    state
        .store()
        .samples_between(
            &[metric],
            OffsetDateTime::UNIX_EPOCH,
            OffsetDateTime::now_utc() + time::Duration::days(3650),
        )
        .await
        .expect("samples")
}

async fn count_samples(state: &AppState, metric: &str) -> i64 {
    all_samples(state, metric).await.len() as i64
}

/// A new folder `name` under `dir`.
fn sub(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(&path).expect("folder");
    path
}

/// A child process killed and reaped when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn prometheus_binary() -> Option<PathBuf> {
    ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

fn prom(name: &str, url: &str, queries: Vec<PromQuery>) -> Collectors {
    Collectors {
        prometheus: vec![PrometheusCollector {
            name: name.into(),
            url: url.into(),
            schedule: schedule(1000, 5000),
            queries,
            component: Some("storage".into()),
        }],
        ..Collectors::default()
    }
}

fn instant(name: &str, query: &str) -> PromQuery {
    PromQuery {
        name: name.into(),
        query: query.into(),
        range: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_collector_reads_a_real_prometheus_scraping_mhd() {
    let Some(binary) = prometheus_binary() else {
        skip("the prometheus binary is missing (Debian package `prometheus`)");
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    // The mhd server Prometheus scrapes.
    let (_served_dir, served) = common::store().await;
    let listener = common::listener().await;
    let mhd_addr: SocketAddr = listener.local_addr().expect("addr");
    let server = tokio::spawn(mhd_server::serve(
        listener,
        common::live_state(served, None),
        std::future::pending(),
    ));
    // The Prometheus server.
    let port = common::free_port();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: mhd\n    static_configs:\n      - targets: ['{mhd_addr}']\n"
        ),
    )
    .expect("config");
    let _prometheus = Killed(
        Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts"),
    );
    let url = format!("http://127.0.0.1:{port}");
    let state = state_in(
        dir.path(),
        prom(
            "prod",
            &url,
            vec![
                instant("mhd_requests", "sum(mhd_http_requests_total)"),
                PromQuery {
                    name: "mhd_up".into(),
                    query: "up{job=\"mhd\"}".into(),
                    range: Some(RangeQuery {
                        range: Duration::seconds(60),
                        step: Duration::seconds(1),
                    }),
                },
                instant("nothing", "absent_metric_of_no_one"),
            ],
        ),
    )
    .await;
    let mut prod = runner(&state, dir.path());
    // Until Prometheus has scraped mhd a few times.
    let deadline = Instant::now() + StdDuration::from_secs(18);
    loop {
        let health = prod.run_once(&state.collecting()).await.clone();
        let requests = samples_of(&state, "mhd_requests").await;
        let up = count_samples(&state, "mhd_up").await;
        if health.up && requests.last().is_some_and(|s| s.value >= 1.0) && up >= 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never had data: {health:?}, {requests:?}, {up} points of up"
        );
        tokio::time::sleep(StdDuration::from_millis(500)).await;
    }
    let requests = samples_of(&state, "mhd_requests").await;
    let last = requests.last().expect("a request count");
    assert_eq!(last.component.as_deref(), Some("storage"));
    assert!(
        last.labels.is_empty(),
        "sum() has no labels: {:?}",
        last.labels
    );
    // Range points: each series' labels, every value 1 (the target is up), none stored twice.
    let up = samples_of(&state, "mhd_up").await;
    assert_eq!(up.len(), 1, "one series");
    assert_eq!(up[0].labels.get("job").map(String::as_str), Some("mhd"));
    assert_eq!(up[0].value, 1.0);
    let stored_before = count_samples(&state, "mhd_up").await;
    tokio::time::sleep(StdDuration::from_millis(1100)).await;
    prod.run_once(&state.collecting()).await;
    let distinct = all_samples(&state, "mhd_up")
        .await
        .iter()
        .map(|s| s.timestamp)
        .collect::<std::collections::BTreeSet<_>>()
        .len() as i64;
    let stored_after = count_samples(&state, "mhd_up").await;
    assert_eq!(distinct, stored_after, "no point of a range stored twice");
    assert!(stored_after > stored_before, "new points come in");
    assert_eq!(count_samples(&state, "nothing").await, 0);
    let metrics = state.metrics().encode();
    assert!(
        metrics.contains(r#"mhd_collector_up{collector="prod",kind="prometheus"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("mhd_collector_last_success_timestamp_seconds{"));

    // A query Prometheus refuses: the collector is down, the error names it and the reason.
    let state = state_in(
        &sub(dir.path(), "bad"),
        prom("bad", &url, vec![instant("broken_query", "sum(")]),
    )
    .await;
    let mut bad = runner(&state, dir.path());
    let health = bad.run_once(&state.collecting()).await.clone();
    assert!(!health.up);
    assert_eq!((health.runs, health.failures), (1, 1));
    let error = health.last_error.expect("an error");
    assert!(error.contains("\"bad\""), "{error}");
    assert!(error.contains("broken_query"), "{error}");
    assert!(error.contains("bad_data"), "{error}");
    assert_eq!(
        state.collectors().statuses()[0].last_error.as_deref(),
        Some(error.as_str())
    );

    // A server that is down (and an address with a password, never shown).
    let closed = format!(
        "http://admin:hunter2secret@127.0.0.1:{}",
        common::free_port()
    );
    let state = state_in(
        &sub(dir.path(), "down"),
        prom("down", &closed, vec![instant("q", "up")]),
    )
    .await;
    let mut down = runner(&state, dir.path());
    let health = down.run_once(&state.collecting()).await.clone();
    assert!(!health.up);
    let error = health.last_error.expect("an error");
    assert!(error.contains("cannot reach"), "{error}");
    assert!(
        !error.contains("hunter2secret") && !error.contains("admin"),
        "{error}"
    );
    assert!(
        state
            .metrics()
            .encode()
            .contains(r#"mhd_collector_failures_total{collector="down",kind="prometheus"} 1"#)
    );
    server.abort();
}

#[tokio::test]
async fn prometheus_garbage_and_http_errors_are_named() {
    // A plain HTTP server answering garbage, then a 503 without a document.
    let listener = common::listener().await;
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new()
        .route(
            "/garbage/api/v1/query",
            axum::routing::get(|| async { "<html>not json</html>" }),
        )
        .route(
            "/busy/api/v1/query",
            axum::routing::get(|| async {
                (axum::http::StatusCode::SERVICE_UNAVAILABLE, "try later")
            }),
        );
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = tempfile::tempdir().expect("dir");
    for (path, expected) in [
        ("garbage", "is not Prometheus query JSON"),
        ("busy", "answered HTTP 503"),
    ] {
        let state = state_in(
            dir.path(),
            prom(
                path,
                &format!("http://{addr}/{path}"),
                vec![instant("rate", "x")],
            ),
        )
        .await;
        let mut r = runner(&state, dir.path());
        let health = r.run_once(&state.collecting()).await.clone();
        let error = health.last_error.expect("an error");
        assert!(
            error.contains(expected) && error.contains("\"rate\""),
            "{error}"
        );
        assert!(
            error.contains(&format!("\"{path}\"")),
            "names the collector: {error}"
        );
    }
    server.abort();
}

/// The test database's URL.
fn postgres_url() -> String {
    std::env::var("MHD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

#[tokio::test]
async fn database_collector_reads_the_real_postgresql() {
    let url = postgres_url();
    let probe = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(StdDuration::from_secs(3))
        .connect(&url)
        .await;
    let Ok(probe) = probe else {
        skip("PostgreSQL is not reachable at MHD_TEST_POSTGRES_URL or 127.0.0.1:5432");
        return;
    };
    let max: i64 = sqlx::query_scalar("SELECT current_setting('max_connections')::bigint")
        .fetch_one(&probe)
        .await
        .expect("max_connections");
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("dsn"), format!("{url}\n")).expect("secret");
    let db = |name: &str, file: &str| Collectors {
        database: vec![DatabaseCollector {
            name: name.into(),
            dsn: Secret::File(file.into()),
            schedule: schedule(1000, 5000),
            component: Some("storage".into()),
        }],
        ..Collectors::default()
    };
    let state = state_in(dir.path(), db("main", "dsn")).await;
    let mut main = runner(&state, dir.path());
    let health = main.run_once(&state.collecting()).await.clone();
    assert!(health.up, "{health:?}");
    let value = |samples: &[Sample]| samples.last().map(|s| s.value);
    let active = value(&samples_of(&state, "db_connections_active").await).expect("active");
    let idle = value(&samples_of(&state, "db_connections_idle").await).expect("idle");
    assert!(active >= 1.0, "its own connection is active: {active}");
    assert_eq!(
        value(&samples_of(&state, "db_pool_size").await),
        Some(max as f64)
    );
    let usage = value(&samples_of(&state, "connection_pool_usage").await).expect("usage");
    assert!((usage - (active + idle) / max as f64).abs() < 1e-9);
    let pool_sample = samples_of(&state, "db_pool_size").await;
    assert_eq!(
        pool_sample[0].labels.get("collector").map(String::as_str),
        Some("main")
    );
    assert!(
        samples_of(&state, "db_transactions_per_second")
            .await
            .is_empty(),
        "no rate yet"
    );
    // Some transactions, then the rates.
    for _ in 0..20 {
        sqlx::query("SELECT 1")
            .execute(&probe)
            .await
            .expect("query");
    }
    // PostgreSQL publishes a backend's counters at most once a second unless asked (15+).
    let _ = sqlx::query("SELECT pg_stat_force_next_flush()")
        .execute(&probe)
        .await;
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert!(main.run_once(&state.collecting()).await.up);
    let tps = value(&samples_of(&state, "db_transactions_per_second").await).expect("tps");
    assert!(tps > 0.0, "{tps}");
    assert!(value(&samples_of(&state, "db_queries_per_second").await).is_some());

    // A refused password: the error never shows the connection string or the password.
    let secret = "hunter2secretpw";
    let mut wrong = reqwest::Url::parse(&url).expect("a URL");
    wrong.set_username("nobody_here").expect("user");
    wrong.set_password(Some(secret)).expect("password");
    let wrong = wrong.to_string();
    std::fs::write(dir.path().join("wrong-dsn"), &wrong).expect("secret");
    let state = state_in(&sub(dir.path(), "wrong"), db("wrong", "wrong-dsn")).await;
    let mut r = runner(&state, dir.path());
    let error = r
        .run_once(&state.collecting())
        .await
        .last_error
        .clone()
        .expect("error");
    assert!(
        !error.contains(secret) && !error.contains(&wrong),
        "{error}"
    );
    assert!(error.contains("cannot connect"), "{error}");
    // A missing secret file is named.
    let state = state_in(&sub(dir.path(), "nofile"), db("nofile", "missing-dsn")).await;
    let mut r = runner(&state, dir.path());
    let error = r
        .run_once(&state.collecting())
        .await
        .last_error
        .clone()
        .expect("error");
    assert!(error.contains("missing-dsn"), "{error}");
}

fn git(repo: &Path, args: &[&str], date: Option<&str>) {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(repo).args(args);
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", repo)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid");
    if let Some(d) = date {
        cmd.env("GIT_AUTHOR_DATE", d).env("GIT_COMMITTER_DATE", d);
    }
    let out = cmd.output().expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn commit_with(repo: &Path, calls: usize, date: &str) {
    let mut text = String::from("def main():\n");
    for i in 0..calls {
        text.push_str(&format!("    legacy.old_read({i})\n"));
    }
    text.push_str("    store.read()\n");
    std::fs::create_dir_all(repo.join("src/storage")).expect("dir");
    std::fs::write(repo.join("src/storage/io.py"), text).expect("write");
    std::fs::write(repo.join("README"), format!("{calls} left\n")).expect("write");
    std::fs::write(repo.join("date.txt"), date).expect("write");
    git(repo, &["add", "-A"], None);
    git(
        repo,
        &["commit", "-q", "-m", &format!("{calls} left")],
        Some(date),
    );
}

#[tokio::test]
async fn git_collector_counts_a_pattern_disappearing_over_commits() {
    let dir = tempfile::tempdir().expect("dir");
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).expect("dir");
    git(&repo, &["init", "-q", "-b", "main"], None);
    // Before the migration's start (2025-01-06): not walked.
    commit_with(&repo, 5, "2024-12-01T10:00:00Z");
    for (calls, day) in [(3, 3), (2, 4), (1, 5), (0, 6)] {
        commit_with(&repo, calls, &format!("2025-02-0{day}T10:00:00Z"));
    }
    let collectors = Collectors {
        git: vec![GitCollector {
            name: "code".into(),
            repo: "repo".into(),
            rev: "main".into(),
            schedule: schedule(1000, 15_000),
            patterns: vec![
                GitPattern {
                    component: "storage".into(),
                    pattern: "old_read(".into(),
                    regex: false,
                    paths: vec!["src/storage".into()],
                },
                GitPattern {
                    component: "docs".into(),
                    pattern: "^[0-9]+ left".into(),
                    regex: true,
                    paths: vec!["README".into()],
                },
            ],
        }],
        ..Collectors::default()
    };
    let state = state_in(dir.path(), collectors.clone()).await;
    let mut code = runner(&state, dir.path());
    let health = code.run_once(&state.collecting()).await.clone();
    assert!(health.up, "{health:?}");
    let storage: Vec<f64> = samples_of(&state, "code_matches_remaining")
        .await
        .into_iter()
        .filter(|s| s.component.as_deref() == Some("storage"))
        .map(|s| s.value)
        .collect();
    assert_eq!(storage, vec![3.0, 2.0, 1.0, 0.0]);
    let docs = samples_of(&state, "code_matches_remaining")
        .await
        .into_iter()
        .filter(|s| s.component.as_deref() == Some("docs"))
        .count();
    assert_eq!(
        docs, 4,
        "one line matches the regular expression at each commit"
    );
    let first = &samples_of(&state, "code_matches_remaining").await[0];
    assert_eq!(
        first.timestamp,
        time::macros::datetime!(2025-02-03 10:00 UTC)
    );
    assert_eq!(first.labels["commit"].len(), 40);
    let burndown = collect::git::burndown(state.store(), state.plan().as_deref(), "code")
        .await
        .expect("burndown");
    let storage = burndown
        .iter()
        .find(|s| s.component == "storage")
        .expect("storage");
    let values: Vec<f64> = storage.points.iter().map(|p| p.1).collect();
    assert_eq!(values, vec![3.0, 2.0, 1.0, 0.0]);
    let svg = mhd_web::charts::burndown_chart(&burndown, "Code left to migrate");
    assert!(svg.contains("storage: latest 0 matches"), "{svg}");
    // Commit activity: one commit a day for each component, days that are over.
    let commits = all_samples(&state, "commits")
        .await
        .iter()
        .filter(|s| s.component.as_deref() == Some("storage") && s.value == 1.0)
        .count();
    assert_eq!(commits, 4);

    // A restart counts nothing again; a new commit is counted alone.
    let before = count_samples(&state, "code_matches_remaining").await;
    let mut again = runner(&state, dir.path());
    assert!(again.run_once(&state.collecting()).await.up);
    assert_eq!(
        count_samples(&state, "code_matches_remaining").await,
        before
    );
    assert_eq!(
        count_samples(&state, "commits").await,
        8,
        "days written once"
    );
    commit_with(&repo, 0, "2025-02-07T10:00:00Z");
    assert!(again.run_once(&state.collecting()).await.up);
    assert_eq!(
        count_samples(&state, "code_matches_remaining").await,
        before + 2
    );

    // A revision that does not exist: the error names git's complaint and the repository.
    let mut broken = collectors.clone();
    let trap = dir.path().join("trap");
    broken.git[0].rev = format!("--output={}", trap.display());
    let state = state_in(&sub(dir.path(), "broken"), broken).await;
    let mut r = runner(&state, dir.path());
    let error = r
        .run_once(&state.collecting())
        .await
        .last_error
        .clone()
        .expect("error");
    assert!(
        error.contains("rev-list") && error.contains("repo"),
        "{error}"
    );
    assert!(!trap.exists(), "the revision is never read as an option");
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .expect("open");
    f.write_all(text.as_bytes()).expect("append");
}

#[tokio::test]
async fn logs_collector_counts_errors_across_rotation_and_truncation() {
    let dir = tempfile::tempdir().expect("dir");
    let log = dir.path().join("app.log");
    std::fs::write(
        &log,
        "2025-01-06 10:00:00 | ERROR | old:1 - written before the server started\n",
    )
    .expect("write");
    let collectors = Collectors {
        logs: vec![LogsCollector {
            component: Some("storage".into()),
            ..logs_collector("app", "app.log", schedule(1000, 5000))
        }],
        ..Collectors::default()
    };
    let state = state_in(dir.path(), collectors).await;
    let mut app = runner(&state, dir.path());
    let per_minute = |samples: Vec<Sample>| samples.last().map(|s| s.value);
    assert!(app.run_once(&state.collecting()).await.up);
    assert_eq!(
        per_minute(samples_of(&state, "log_errors_per_minute").await),
        Some(0.0)
    );
    assert!(
        state
            .store()
            .recent_log_errors(Some("app"), 10)
            .await
            .expect("read")
            .is_empty()
    );

    append(
        &log,
        "2025-01-06 10:01:00 | INFO | app:2 - fine\n\
         2025-01-06 10:01:01 | ERROR | db:3 - disk full\n\
         Traceback (most recent call last):\n\
         {\"level\": \"CRITICAL\", \"message\": \"gone\", \"time\": \"2025-01-06T10:01:02Z\"}\n\
         2025-01-06 10:01:03,000 ERROR [worker] timeout <script>\n\
         2025-01-06 10:01:04 | ERROR | db:4 - half a li",
    );
    assert!(app.run_once(&state.collecting()).await.up);
    assert_eq!(
        per_minute(samples_of(&state, "log_errors_per_minute").await),
        Some(3.0)
    );
    let recent = state
        .store()
        .recent_log_errors(Some("app"), 10)
        .await
        .expect("read");
    let messages: Vec<&str> = recent.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        vec![
            "2025-01-06 10:01:03,000 ERROR [worker] timeout <script>",
            "gone",
            "disk full"
        ]
    );
    assert_eq!(recent[1].level, "CRITICAL");
    assert_eq!(
        recent[2].time,
        time::macros::datetime!(2025-01-06 10:01:01 UTC)
    );
    assert!(recent[0].file.ends_with("app.log"));

    // Rotation: the line finished in the old file, then the new file from its start.
    append(&log, "ne\n");
    std::fs::rename(&log, dir.path().join("app.log.1")).expect("rotate");
    std::fs::write(
        &log,
        "2025-01-06 10:02:00 | ERROR | db:5 - after rotation\n",
    )
    .expect("new");
    assert!(app.run_once(&state.collecting()).await.up);
    let recent = state
        .store()
        .recent_log_errors(Some("app"), 10)
        .await
        .expect("read");
    assert_eq!(recent.len(), 5);
    assert_eq!(recent[0].message, "after rotation");
    assert_eq!(recent[1].message, "half a line");
    assert_eq!(
        per_minute(samples_of(&state, "log_errors_per_minute").await),
        Some(5.0)
    );

    // Truncation: from the beginning again.
    std::fs::write(&log, "").expect("truncate");
    append(
        &log,
        "{\"level\":\"error\",\"message\":\"after truncation\"}\n",
    );
    assert!(app.run_once(&state.collecting()).await.up);
    let recent = state
        .store()
        .recent_log_errors(Some("app"), 10)
        .await
        .expect("read");
    assert_eq!(recent.len(), 6);
    assert_eq!(recent[0].message, "after truncation");

    // A path that never existed fails the run, naming it.
    let collectors = Collectors {
        logs: vec![logs_collector(
            "missing",
            "nowhere.log",
            schedule(1000, 5000),
        )],
        ..Collectors::default()
    };
    let state = state_in(&sub(dir.path(), "missing"), collectors).await;
    let mut missing = runner(&state, dir.path());
    let error = missing
        .run_once(&state.collecting())
        .await
        .last_error
        .clone()
        .expect("error");
    assert!(error.contains("nowhere.log"), "{error}");
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ingest/tests/fixtures/junit")
        .join(name)
}

#[tokio::test]
async fn test_reports_are_ingested_once_and_broken_ones_named() {
    let dir = tempfile::tempdir().expect("dir");
    let reports = dir.path().join("reports");
    std::fs::create_dir_all(&reports).expect("dir");
    std::fs::copy(fixture("pytest.xml"), reports.join("unit.xml")).expect("copy");
    std::fs::write(reports.join("notes.txt"), "not a report").expect("write");
    let collectors = Collectors {
        tests: vec![TestReportsCollector {
            name: "ci".into(),
            path: "reports".into(),
            suite: None,
            phase: Some("tests".into()),
            component: Some("storage".into()),
            schedule: schedule(1000, 5000),
        }],
        ..Collectors::default()
    };
    let state = state_in(dir.path(), collectors).await;
    let runs = || async { state.store().recent_test_runs(50).await.expect("runs") };
    let mut ci = runner(&state, dir.path());
    assert!(ci.run_once(&state.collecting()).await.up);
    assert!(
        runs().await.is_empty(),
        "a file is read once it stayed the same over two polls"
    );
    assert!(ci.run_once(&state.collecting()).await.up);
    let stored = runs().await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].suite, "unit");
    assert_eq!(stored[0].component.as_deref(), Some("storage"));
    assert_eq!(stored[0].cases.len(), 11);
    assert!(ci.run_once(&state.collecting()).await.up);
    assert_eq!(runs().await.len(), 1, "not read twice");
    // A restart: the store remembers.
    let mut restarted = runner(&state, dir.path());
    restarted.run_once(&state.collecting()).await;
    restarted.run_once(&state.collecting()).await;
    assert_eq!(runs().await.len(), 1, "not read again after a restart");

    // A file still being written waits until it stops changing.
    let full = std::fs::read(fixture("jest.xml")).expect("fixture");
    let growing = reports.join("e2e.xml");
    std::fs::write(&growing, &full[..full.len() / 2]).expect("write");
    assert!(restarted.run_once(&state.collecting()).await.up);
    std::fs::write(&growing, &full).expect("write");
    assert!(restarted.run_once(&state.collecting()).await.up);
    assert_eq!(runs().await.len(), 1, "changed since the last poll: waits");
    assert!(restarted.run_once(&state.collecting()).await.up);
    let stored = runs().await;
    assert_eq!(stored.len(), 2);
    assert!(
        stored
            .iter()
            .any(|r| r.suite == "e2e" && r.cases.len() == 10)
    );

    // A broken report: named in the error, stored nothing, not read again until it changes.
    std::fs::copy(fixture("truncated.xml"), reports.join("broken.xml")).expect("copy");
    restarted.run_once(&state.collecting()).await;
    let health = restarted.run_once(&state.collecting()).await.clone();
    assert!(!health.up);
    let error = health.last_error.expect("error");
    assert!(error.contains("broken.xml:"), "{error}");
    assert_eq!(runs().await.len(), 2);
    let health = restarted.run_once(&state.collecting()).await.clone();
    assert!(!health.up, "the error stands while the file does");
    assert_eq!(runs().await.len(), 2);
    // Fixed: read, and the error clears.
    std::fs::copy(fixture("surefire.xml"), reports.join("broken.xml")).expect("copy");
    restarted.run_once(&state.collecting()).await;
    let health = restarted.run_once(&state.collecting()).await.clone();
    assert!(health.up, "{health:?}");
    assert_eq!(runs().await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_collector_times_out_while_another_keeps_its_schedule() {
    // A server that accepts connections and never answers.
    let listener = common::listener().await;
    let addr = listener.local_addr().expect("addr");
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("app.log"), "").expect("write");
    let collectors = Collectors {
        prometheus: vec![PrometheusCollector {
            name: "stuck".into(),
            url: format!("http://{addr}"),
            schedule: schedule(200, 500),
            queries: vec![instant("q", "up")],
            component: None,
        }],
        logs: vec![logs_collector("steady", "app.log", schedule(200, 1000))],
        ..Collectors::default()
    };
    let state = state_in(dir.path(), collectors).await;
    let tasks = collect::start_in(&state.collecting(), dir.path()).expect("starts");
    // Listed at once, before any run ends.
    let table = collect::collectors_table(&state.collecting());
    assert_eq!(table.len(), 2);
    assert!(
        table
            .iter()
            .all(|r| r.status == "waiting" && r.last_success_relative == "never")
    );
    tokio::time::sleep(StdDuration::from_millis(2600)).await;
    let statuses = state.collectors().statuses();
    let stuck = statuses.iter().find(|h| h.name == "stuck").expect("stuck");
    let steady = statuses
        .iter()
        .find(|h| h.name == "steady")
        .expect("steady");
    assert!(stuck.runs >= 3 && stuck.failures == stuck.runs, "{stuck:?}");
    let error = stuck.last_error.as_deref().unwrap_or_default();
    assert!(error.contains("timed out after 500ms"), "{error}");
    let took = stuck.last_duration_ms.unwrap_or_default();
    assert!(
        (450.0..1500.0).contains(&took),
        "cut at its timeout: {took}"
    );
    assert!(
        steady.up && steady.runs >= 8,
        "kept its schedule: {steady:?}"
    );
    let table = collect::collectors_table(&state.collecting());
    let row = table.iter().find(|r| r.name == "stuck").expect("row");
    assert_eq!((row.status, row.symbol), ("down", "✗"));
    let json = collect::collectors_json(&state.collecting());
    assert_eq!(json["collectors"][1]["status"], "up");
    assert_eq!(json["collectors"][1]["kind"], "logs");
    let metrics = state.metrics().encode();
    assert!(metrics.contains(r#"mhd_collector_up{collector="stuck",kind="prometheus"} 0"#));
    assert!(metrics.contains(r#"mhd_collector_up{collector="steady",kind="logs"} 1"#));
    assert!(
        metrics.contains(r#"mhd_collector_duration_seconds_count{collector="steady",kind="logs"}"#)
    );
    for t in tasks {
        t.abort();
    }
    silent.abort();
}

#[tokio::test]
async fn a_schedule_of_zero_is_refused_naming_the_collector() {
    let dir = tempfile::tempdir().expect("dir");
    let collectors = Collectors {
        logs: vec![logs_collector("zero", "a.log", schedule(0, 1000))],
        ..Collectors::default()
    };
    let state = state_in(dir.path(), collectors).await;
    let error = collect::start_in(&state.collecting(), dir.path()).expect_err("refused");
    assert!(error.contains("\"zero\""), "{error}");
}
