//! The resource utilization page (`/resources`) and the live memory figure, over a real SQLite
//! store in a temporary folder, driven through the whole router without a network.

mod common;

use axum::Router;
use axum::http::StatusCode;
use common::http::{get_ok, get_text, post_json};
use common::{App, ESCAPED, HOSTILE, SATURDAY, saturday, shows_escaped};
use mhd_core::alerts::CollectorHealth;
use mhd_core::sample::Sample;
use mhd_store::prelude::*;
use mhd_store::{Database, Store};
use serde_json::{Value, json};
use time::Duration;

const GB: f64 = 1024.0 * 1024.0 * 1024.0;
const MB: f64 = 1024.0 * 1024.0;

/// The whole app over a new store, with the default plan.
async fn server() -> App {
    App::new(Some(common::default_plan()), saturday).await
}

fn sample(minutes_ago: i64, metric: &str, value: f64) -> Sample {
    Sample::new(SATURDAY - Duration::minutes(minutes_ago), metric, value)
}

fn labelled(minutes_ago: i64, metric: &str, value: f64, key: &str, label: &str) -> Sample {
    let mut s = sample(minutes_ago, metric, value);
    s.labels.insert(key.into(), label.into());
    s
}

/// An hour of host samples every minute, the latest at `SATURDAY - 1 min`, and the database and
/// process figures of the last minute.
async fn seed(store: &Database) {
    let mut samples = Vec::new();
    for m in 1..=60 {
        let t = m as f64;
        samples.push(sample(m, "cpu_percent", 78.0 - (t - 1.0) * 0.5));
        samples.push(sample(m, "memory_percent", 68.0));
        samples.push(sample(m, "memory_used_bytes", 10.0 * GB));
        samples.push(sample(m, "memory_available_bytes", 6.0 * GB));
        samples.push(sample(m, "disk_read_bytes_per_second", 125.0 * MB));
        samples.push(sample(m, "disk_write_bytes_per_second", 45.0 * MB));
        samples.push(sample(m, "network_in_bytes_per_second", 12.0 * MB));
        samples.push(sample(m, "network_out_bytes_per_second", 8.5 * MB));
        samples.push(sample(m, "db_connections_active", 45.0));
        samples.push(sample(m, "db_queries_per_second", 1200.0));
    }
    samples.extend([
        sample(1, "cpu_cores_used", 12.5),
        sample(1, "db_connections_idle", 23.0),
        sample(1, "db_pool_size", 200.0),
        labelled(1, "process_cpu_percent", 85.0, "process", "worker-3"),
        labelled(
            1,
            "process_memory_bytes",
            2048.0 * MB,
            "process",
            "worker-3",
        ),
        labelled(1, "process_cpu_percent", 12.0, "process", HOSTILE),
    ]);
    let mut storage = sample(1, "cpu_percent", 30.0);
    storage.component = Some("storage".into());
    samples.push(storage);
    store.insert_samples(&samples).await.unwrap();
}

async fn post_samples(router: &Router, body: &Value) {
    let (status, answer) = post_json(router, "/api/v1/samples", body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

#[tokio::test]
async fn the_page_shows_the_latest_figures_and_an_hour_of_charts() {
    let s = server().await;
    seed(&s.store).await;
    let (status, html) = get_text(&s.router, "/resources").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.starts_with("<!DOCTYPE html>"));
    // In the navigation of every page, marked current here.
    assert_eq!(
        html.matches(r#"href="/resources" aria-current="page""#)
            .count(),
        2
    );
    assert!(
        get_text(&s.router, "/")
            .await
            .1
            .contains(r#"href="/resources""#)
    );
    assert!(html.contains(r#"<section id="resources""#));
    assert!(
        html.contains("data-live-refresh"),
        "the script refreshes it"
    );
    // The newest samples: CPU (averaged with the storage component's 30 %), memory, disk,
    // network, the database.
    assert!(html.contains("54.0%"), "CPU (78 and 30 averaged)");
    assert!(html.contains("12.5 cores busy"));
    assert!(html.contains("68.0%"));
    assert!(html.contains("10.0 GB used of 16.0 GB"));
    assert!(html.contains("R 125.0 · W 45.0 MB/s"));
    assert!(html.contains("In 12.0 · Out 8.5 MB/s"));
    assert!(html.contains("total 20.5 MB/s"));
    assert!(html.contains("45 / 200"), "active of the pool");
    assert!(html.contains("22.5%"), "pool usage");
    assert!(html.contains("1,200"), "queries per second");
    // An hour of samples drawn: CPU, memory, disk, network and database charts, with their
    // latest values told to screen readers.
    assert!(html.matches(r#"<svg class="chart line""#).count() >= 5);
    // The last minute averages the host's 78 % with the storage component's 30 %.
    assert!(html.contains(r#"aria-label="CPU in use, "#));
    assert!(html.contains("(1 hour). CPU: latest 54%, lowest 49%, highest 77.5%"));
    // Top consumers by CPU, the hostile name as text.
    let worker = html.find("worker-3").expect("the top consumer");
    let hostile = ESCAPED
        .iter()
        .find_map(|e| html.find(e))
        .expect("the hostile process name, escaped");
    assert!(worker < hostile, "ordered by CPU");
    assert!(html.contains("2.0 GB"));
    assert!(!html.contains(HOSTILE), "the process name became markup");
    // Per component.
    assert!(html.contains("By component"));
    assert!(html.contains(r#"<th scope="row">storage</th><td class="n">30.0%</td>"#));
    // Nothing from another host.
    let body = html.replace("http://www.w3.org/2000/svg", "");
    assert!(!body.contains("http://") && !body.contains("https://"));
}

#[tokio::test]
async fn without_samples_the_page_says_how_to_get_them() {
    let s = server().await;
    let (status, html) = get_text(&s.router, "/resources").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No samples yet"));
    assert!(html.contains("[[collectors.host]]"));
    assert!(html.contains("/api/v1/samples"));
    assert!(!html.contains(r#"<svg class="chart"#), "no empty charts");
    assert!(html.contains("No collector runs"));
    assert!(!html.contains("0.0%"), "no made-up zeros");
}

#[tokio::test]
async fn samples_older_than_the_hour_are_not_drawn_nor_current() {
    let s = server().await;
    s.store
        .insert_samples(&[sample(90, "cpu_percent", 99.0)])
        .await
        .unwrap();
    let html = get_text(&s.router, "/resources").await.1;
    assert!(
        html.contains("No samples yet"),
        "a 90-minute-old sample is not current"
    );
    assert!(!html.contains("99.0%"));
}

#[tokio::test]
async fn the_collectors_table_shows_each_ones_health() {
    let s = server().await;
    let health = |name: &str, up: bool, ran: bool, error: Option<&str>| CollectorHealth {
        name: name.into(),
        kind: "host".into(),
        up,
        last_success: up.then_some(SATURDAY - Duration::seconds(30)),
        last_error: error.map(str::to_owned),
        last_run: ran.then_some(SATURDAY - Duration::seconds(30)),
        last_duration_ms: ran.then_some(12.5),
        runs: u64::from(ran),
        failures: u64::from(ran && !up),
        components: Vec::new(),
        metrics: vec!["cpu_percent".into()],
    };
    s.state
        .collectors()
        .update(health("this host", true, true, None));
    s.state
        .collectors()
        .update(health("prod db", false, true, Some(HOSTILE)));
    s.state
        .collectors()
        .update(health("late", false, false, None));
    let html = get_text(&s.router, "/resources").await.1;
    let table = &html[html
        .find(r#"aria-label="Collectors, table""#)
        .expect("the table")..];
    assert!(table.contains("this host"));
    assert!(table.contains(r#"<span aria-hidden="true">●</span> up"#));
    assert!(table.contains("just now"), "last success, relative");
    assert!(table.contains("12.5ms"));
    assert!(table.contains(r#"<span aria-hidden="true">✗</span> down"#));
    assert!(shows_escaped(table));
    assert!(!html.contains(HOSTILE));
    assert!(table.contains("not run yet"));
    assert!(table.contains("never"));
}

#[tokio::test]
async fn the_live_metrics_carry_memory_from_samples() {
    let s = server().await;
    // Without samples: absent, and "no data" on the page, never 0.
    let live = get_ok(&s.router, "/api/v1/metrics/live").await;
    assert_eq!(live["memory_percent"], Value::Null);
    assert_eq!(live["memory_bytes"], Value::Null);
    let page = get_text(&s.router, "/live").await.1;
    assert!(
        page.contains(r#"<span data-live="memory">no data</span>"#),
        "{page}"
    );

    let ts = |minutes: i64| {
        (SATURDAY - Duration::minutes(minutes))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    post_samples(
        &s.router,
        &json!([
            {"timestamp": ts(7), "metric": "memory_percent", "value": 50.0, "labels": {"host": "a"}},
            {"timestamp": ts(1), "metric": "memory_percent", "value": 60.0, "labels": {"host": "a"}},
            {"timestamp": ts(2), "metric": "memory_percent", "value": 70.0, "labels": {"host": "b"}},
            {"timestamp": ts(1), "metric": "memory_used_bytes", "value": 4.0 * GB},
            {"timestamp": ts(1), "metric": "queue_depth", "value": 12},
        ]),
    )
    .await;
    let live = get_ok(&s.router, "/api/v1/metrics/live").await;
    let mem = &live["memory_percent"];
    assert_eq!(mem["value"], json!(65.0), "two hosts averaged: {live}");
    assert_eq!(mem["previous"], json!(50.0));
    assert_eq!(mem["change_percent"], json!(30.0));
    assert_eq!(mem["unit"], "%");
    assert_eq!(mem["sparkline"].as_array().unwrap().len(), 10);
    assert_eq!(live["memory_bytes"]["value"], json!(4.0 * GB));
    assert_eq!(live["queue_depth"], json!(12.0));
    let page = get_text(&s.router, "/live").await.1;
    assert!(
        page.contains(r#"<span data-live="memory">65.0% · 4.0 GB</span>"#),
        "the memory card"
    );
    assert!(page.contains("+30.0% vs the previous window"));
}

#[tokio::test]
async fn log_errors_and_the_code_burndown_are_shown_for_their_collectors() {
    let (_dir, store) = common::store().await;
    let mut text = common::default_plan_toml();
    text.push_str(
        r#"
[[collectors.logs]]
name = "app"
paths = ["app.log"]

[[collectors.git]]
name = "code"
repo = "."
[[collectors.git.patterns]]
component = "storage"
pattern = "old_storage_api("
"#,
    );
    let state = common::state_at(store.clone(), Some(common::plan(&text)), saturday);
    let router = mhd_server::app(state);

    // Before any error: the section says so.
    let (status, page) = get_text(&router, "/resources").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Recent log errors"), "{page}");
    assert!(page.contains("No error in the followed log files"));
    assert!(page.contains("Code migration burndown: code"));

    store
        .insert_log_errors(&[mhd_store::collect::LogErrorRecord {
            collector: "app".into(),
            time: SATURDAY - Duration::minutes(3),
            level: "ERROR".into(),
            message: format!("worker crashed: {HOSTILE}"),
            file: "app.log".into(),
        }])
        .await
        .unwrap();
    let router = mhd_server::app(common::state_at(
        store.clone(),
        Some(common::plan(&text)),
        saturday,
    ));
    let (_, page) = get_text(&router, "/resources").await;
    assert!(page.contains("worker crashed: &#60;img src=x onerror=alert(1)&#62;"));
    assert!(!page.contains(HOSTILE), "a stored string is shown as text");
    assert!(page.contains(">3m ago<"), "the error's age is shown");
}

/// 90 days of CPU samples every 30 minutes, the value the day's number.
fn ninety_days() -> Vec<Sample> {
    (0..90 * 48)
        .map(|i| {
            let at = SATURDAY - Duration::days(90) + Duration::minutes(30 * i + 15);
            Sample::new(at, "cpu_percent", (i / 48) as f64)
        })
        .collect()
}

#[tokio::test]
async fn a_90_day_chart_still_shows_every_day_after_retention_pruned_the_raw_samples() {
    let s = server().await;
    s.store.insert_samples(&ninety_days()).await.unwrap();
    let report = mhd_server::retention::run_once(
        s.state.recorder(),
        s.state.plan().as_deref(),
        s.state.now(),
    )
    .await
    .unwrap();
    assert_eq!(report.samples_rolled_up, 90 * 48);
    assert_eq!(
        report.samples,
        88 * 48,
        "all but the last 48 h of raw samples are gone"
    );

    let v = get_ok(
        &s.router,
        "/api/v1/resources/history?range=90d&metric=cpu_percent",
    )
    .await;
    assert_eq!(v["resolution"], "day");
    assert_eq!(v["bucket_seconds"], 2 * 86_400);
    let series = v["series"].as_array().unwrap();
    assert_eq!(series.len(), 1);
    let points = series[0]["points"].as_array().unwrap();
    assert_eq!(
        points.len(),
        46,
        "every bucket of the 90 days has its samples: {v}"
    );
    let counted: u64 = points.iter().map(|p| p["count"].as_u64().unwrap()).sum();
    assert_eq!(counted, 90 * 48);
    // The first bucket starts at midnight before the span: its first day and a half.
    assert_eq!(points[0]["min"], 0.0);
    assert_eq!(points[0]["max"], 1.0);
    assert_eq!(points[45]["max"], 89.0);

    // The last 2 hours are read from the raw samples, which are still there.
    let recent = get_ok(
        &s.router,
        "/api/v1/resources/history?range=2h&metric=cpu_percent",
    )
    .await;
    assert_eq!(recent["resolution"], "raw");
    let n: u64 = recent["series"][0]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["count"].as_u64().unwrap())
        .sum();
    assert_eq!(n, 4);

    // The page over 90 days draws the chart from the aggregates.
    let (status, html) = get_text(&s.router, "/resources?range=90d").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("(90 days). CPU: latest 89%, lowest 0.33%"),
        "{html}"
    );
    assert!(!html.contains("CPU in use: no samples"), "{html}");

    for bad in [
        "/api/v1/resources/history?range=forever",
        "/api/v1/resources/history?range=900d",
        "/api/v1/resources/history?colour=red",
        "/resources?range=0s",
    ] {
        let (status, body) = get_text(&s.router, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
}

/// A server whose plan names two Prometheus queries, `prom_up` and `lag`.
async fn server_with_queries() -> App {
    let text = format!(
        "{}\n[[collectors.prometheus]]\nname = \"prod\"\nurl = \"http://127.0.0.1:9\"\n\
         queries = {{ prom_up = \"up\", lag = \"max(replication_lag_seconds)\" }}\n",
        common::default_plan_toml()
    );
    App::new(Some(common::plan(&text)), saturday).await
}

#[tokio::test]
async fn every_named_query_and_pushed_series_gets_a_chart_and_reads_back() {
    let s = server_with_queries().await;
    seed(&s.store).await;
    // `prom_up` as the collector stores it, one series per instance; a pushed series of a
    // metric nobody charts; `lag` has no sample yet.
    let mut samples = Vec::new();
    for m in 1..=30 {
        samples.push(labelled(m, "prom_up", 1.0, "instance", "a:9100"));
        samples.push(labelled(
            m,
            "prom_up",
            if m <= 10 { 0.0 } else { 1.0 },
            "instance",
            HOSTILE,
        ));
        let mut queue = sample(m, "queue_depth", 100.0 + m as f64);
        queue.component = Some("storage".into());
        queue.unit = Some("jobs".into());
        samples.push(queue);
    }
    s.store.insert_samples(&samples).await.unwrap();

    let (status, html) = get_text(&s.router, "/resources").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Other series"), "{html}");
    assert!(html.contains("prom_up {instance=a:9100}"), "{html}");
    assert!(html.contains("Prometheus query up"), "{html}");
    assert!(html.contains("queue_depth · storage"), "{html}");
    assert!(html.contains("101.00 jobs"), "the newest value: {html}");
    // The named query without samples still has its panel, saying so.
    assert!(html.contains(">lag<"), "{html}");
    assert!(
        html.contains("Prometheus query max(replication_lag_seconds)"),
        "{html}"
    );
    assert!(
        shows_escaped(&html) && !html.contains(HOSTILE),
        "labels escaped"
    );

    // The same series through the API, over a span and step of the caller's choosing.
    let v = get_ok(
        &s.router,
        "/api/v1/samples?metric=prom_up&since=30m&until=2025-03-01T12:00:00Z&step=10m",
    )
    .await;
    assert_eq!(v["resolution"], "raw");
    assert_eq!(v["step_seconds"], 600);
    let series = v["series"].as_array().unwrap();
    assert_eq!(series.len(), 2, "{v}");
    let down = series
        .iter()
        .find(|s| s["labels"]["instance"] == HOSTILE)
        .unwrap();
    let points = down["points"].as_array().unwrap();
    assert_eq!(points.len(), 3, "{v}");
    let counted: u64 = points.iter().map(|p| p["count"].as_u64().unwrap()).sum();
    assert_eq!(counted, 30);
    // The newest 10 minutes were down.
    assert_eq!(points[2]["max"], 0.0, "{v}");
    assert_eq!(points[0]["min"], 1.0, "{v}");

    let storage = get_ok(
        &s.router,
        "/api/v1/samples?metric=queue_depth,cpu_percent&component=storage&until=now",
    )
    .await;
    let metrics: Vec<&str> = storage["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["metric"].as_str().unwrap())
        .collect();
    assert_eq!(metrics, ["cpu_percent", "queue_depth"], "{storage}");
    assert_eq!(storage["series"][1]["unit"], "jobs");
    // What the page shows as figures is not charted again.
    assert!(!html.contains("process_cpu_percent"), "{html}");

    for (bad, names) in [
        ("/api/v1/samples", "`metric`"),
        (
            "/api/v1/samples?metric=prom_up&since=2h&until=3h",
            "`since`",
        ),
        (
            "/api/v1/samples?metric=prom_up&since=yesterdayish",
            "`since`",
        ),
        ("/api/v1/samples?metric=prom_up&until=soon", "`until`"),
        ("/api/v1/samples?metric=prom_up&step=0s", "`step`"),
        ("/api/v1/samples?metric=prom_up&since=6h&step=1s", "`step`"),
        (
            "/api/v1/samples?metric=prom_up&since=900d",
            "`since` and `until`",
        ),
        ("/api/v1/samples?metric=prom_up&colour=red", "colour"),
    ] {
        let (status, body) = get_text(&s.router, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body.contains(names), "{bad}: {body}");
    }
}
