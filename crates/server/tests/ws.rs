//! The WebSocket `/ws/dashboard`: over a real socket for what a browser sees, and through the
//! generic connection loop with channels for what a network cannot stage (a lagging client).

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::Message as AxumMessage;
use futures_util::{SinkExt, StreamExt};
use mhd_server::AppState;
use mhd_server::recorder::Change;
use mhd_server::ws::{self, Frame, Limits};
use mhd_store::Store;
use serde_json::Value;
use tempfile::TempDir;
use tokio_tungstenite::tungstenite::Message;

mod common;
use common::ws::{Ws, connect, next};
use common::{now, op};

const WAIT: Duration = Duration::from_secs(10);

async fn state() -> (TempDir, AppState) {
    let (dir, store) = common::store().await;
    (
        dir,
        common::state_at(store, Some(common::default_plan()), now),
    )
}

/// Serves the WebSocket route on a free port; returns its URL.
async fn serve(state: AppState) -> String {
    let app = Router::new().merge(ws::routes()).with_state(state);
    format!("ws://{}/ws/dashboard", common::serve_router(app).await)
}

async fn send(client: &mut Ws, text: &str) {
    client.send(Message::text(text)).await.expect("send");
}

async fn store_migration(state: &AppState) {
    let op = op("sales")
        .at(now() - time::Duration::minutes(1))
        .system(None)
        .build();
    // Recorded: committed, then announced as operations of `storage`.
    state.recorder().operations(&[op]).await.expect("insert");
}

/// Waits until the client gauge reads `n`.
async fn gauge_reaches(state: &AppState, n: i64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while state.metrics().websocket_clients.get() != n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "gauge stuck at {} instead of {n}",
            state.metrics().websocket_clients.get()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn initial_data_comes_first_and_the_gauge_follows_the_connection() {
    let (_dir, state) = state().await;
    let url = serve(state.clone()).await;
    let mut client = connect(&url).await;
    let first = next(&mut client).await;
    assert_eq!(first["type"], "initial_data");
    let data = &first["data"];
    for key in ["summary", "timeline", "components", "live", "performance"] {
        assert!(!data[key].is_null(), "initial_data has {key}");
    }
    assert_eq!(data["timeline"].as_array().map(Vec::len), Some(8));
    assert!(data.get("tests").is_none(), "no test run stored yet");
    assert_eq!(data["live"]["operations"], 0);
    gauge_reaches(&state, 1).await;
    client.close(None).await.expect("close");
    drop(client);
    gauge_reaches(&state, 0).await;
}

#[tokio::test]
async fn stored_operations_push_metrics_and_progress() {
    let (_dir, state) = state().await;
    let url = serve(state.clone()).await;
    let mut client = connect(&url).await;
    assert_eq!(next(&mut client).await["type"], "initial_data");
    store_migration(&state).await;
    let (mut metrics, mut progress) = (None, None);
    while metrics.is_none() || progress.is_none() {
        let msg = next(&mut client).await;
        match msg["type"].as_str() {
            Some("metrics:update") => metrics = Some(msg["data"].clone()),
            Some("progress:update") => progress = Some(msg["data"].clone()),
            other => panic!("unexpected message {other:?}"),
        }
    }
    let (metrics, progress) = (metrics.unwrap(), progress.unwrap());
    assert_eq!(metrics["operations"], 1);
    assert_eq!(metrics["mean_duration_ms"]["value"], 12.0);
    assert_eq!(progress["key_metrics"]["datasets_migrated"], 1);
    assert!(progress["migration_progress"].as_f64().unwrap() > 0.0);
    assert!(progress.get("overall_health").is_some());
    assert!(progress.get("estimated_completion").is_some());
}

#[tokio::test]
async fn a_subscriber_to_another_component_does_not_get_component_pushes() {
    let (_dir, state) = state().await;
    let url = serve(state.clone()).await;
    let mut config = connect(&url).await;
    let mut everyone = connect(&url).await;
    assert_eq!(next(&mut config).await["type"], "initial_data");
    assert_eq!(next(&mut everyone).await["type"], "initial_data");
    send(&mut config, r#"{"type":"subscribe","component":"config"}"#).await;
    let ack = next(&mut config).await;
    assert_eq!(ack["type"], "subscribed");
    assert_eq!(ack["data"]["components"], serde_json::json!(["config"]));

    store_migration(&state).await;
    assert_eq!(next(&mut everyone).await["type"], "metrics:update");
    assert_eq!(next(&mut everyone).await["type"], "progress:update");
    // The storage-scoped metrics are skipped; the progress concerns everyone.
    assert_eq!(next(&mut config).await["type"], "progress:update");

    // After unsubscribing it hears everything again.
    send(
        &mut config,
        r#"{"type":"unsubscribe","component":"config"}"#,
    )
    .await;
    assert_eq!(
        next(&mut config).await["data"]["components"],
        serde_json::json!([])
    );
    store_migration(&state).await;
    assert_eq!(next(&mut config).await["type"], "metrics:update");
}

#[tokio::test]
async fn garbage_gets_an_error_and_the_connection_stays() {
    let (_dir, state) = state().await;
    let url = serve(state.clone()).await;
    let mut client = connect(&url).await;
    assert_eq!(next(&mut client).await["type"], "initial_data");
    for bad in [
        "garbage".to_owned(),
        r#"{"type":"shout"}"#.to_owned(),
        r#"{"type":"subscribe","component":"nonexistent"}"#.to_owned(),
        format!(
            r#"{{"type":"subscribe","component":"{}"}}"#,
            "x".repeat(5000)
        ),
    ] {
        send(&mut client, &bad).await;
        let reply = next(&mut client).await;
        assert_eq!(reply["type"], "error", "{bad:.40}");
        assert!(
            reply["data"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    send(&mut client, r#"{"type":"subscribe","component":"storage"}"#).await;
    assert_eq!(next(&mut client).await["type"], "subscribed");
    assert_eq!(state.metrics().websocket_clients.get(), 1);
}

#[tokio::test]
async fn a_flood_of_garbage_closes_the_connection_as_a_policy_violation() {
    let (_dir, state) = state().await;
    let url = serve(state.clone()).await;
    let mut client = connect(&url).await;
    assert_eq!(next(&mut client).await["type"], "initial_data");
    for _ in 0..30 {
        if client.send(Message::text("garbage")).await.is_err() {
            break;
        }
    }
    let mut errors = 0;
    let code = loop {
        let msg = tokio::time::timeout(WAIT, client.next())
            .await
            .expect("a message in time");
        match msg {
            Some(Ok(Message::Text(_))) => errors += 1,
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(code, Some(1008));
    assert_eq!(errors, Limits::default().max_errors_per_second);
    gauge_reaches(&state, 0).await;
}

#[tokio::test]
async fn a_lagging_client_gets_resync_then_fresh_initial_data() {
    let (_dir, state) = state().await;
    let (frames, receiver) = tokio::sync::broadcast::channel::<Frame>(2);
    for i in 0..10 {
        frames
            .send(Frame::new("metrics:update", &i, Vec::new()))
            .expect("a receiver");
    }
    let (out_tx, mut out_rx) = tokio::sync::mpsc::unbounded_channel::<AxumMessage>();
    let sink = Box::pin(futures_util::sink::unfold(
        out_tx,
        |tx, msg: AxumMessage| async move {
            tx.send(msg).map_err(|_| ())?;
            Ok::<_, ()>(tx)
        },
    ));
    let (in_tx, in_rx) = tokio::sync::mpsc::unbounded_channel::<AxumMessage>();
    let stream = Box::pin(futures_util::stream::unfold(in_rx, |mut rx| async move {
        rx.recv().await.map(|m| (Ok::<_, Infallible>(m), rx))
    }));
    let conn = tokio::spawn(ws::run_connection(
        state.clone(),
        receiver,
        sink,
        stream,
        Limits::default(),
    ));
    let mut kinds = Vec::new();
    let mut data = Vec::new();
    while kinds.len() < 5 {
        let msg = tokio::time::timeout(WAIT, out_rx.recv())
            .await
            .expect("in time")
            .expect("open");
        if let AxumMessage::Text(t) = msg {
            let v: Value = serde_json::from_str(t.as_str()).expect("JSON");
            kinds.push(v["type"].as_str().unwrap_or_default().to_owned());
            data.push(v["data"].clone());
        }
    }
    assert_eq!(
        kinds,
        [
            "initial_data",
            "resync",
            "initial_data",
            "metrics:update",
            "metrics:update"
        ]
    );
    // What is left after the lag: the newest frames the channel kept.
    assert_eq!(data[3], 8);
    assert_eq!(data[4], 9);
    assert_eq!(state.metrics().websocket_clients.get(), 1);
    drop(in_tx);
    tokio::time::timeout(WAIT, conn)
        .await
        .expect("the connection ends when the client leaves")
        .expect("no panic");
    assert_eq!(state.metrics().websocket_clients.get(), 0);
}

#[tokio::test]
async fn a_client_that_keeps_lagging_is_closed() {
    let (_dir, state) = state().await;
    let (frames, receiver) = tokio::sync::broadcast::channel::<Frame>(1);
    let (out_tx, mut out_rx) = tokio::sync::mpsc::channel::<AxumMessage>(1);
    let sink = Box::pin(futures_util::sink::unfold(
        out_tx,
        |tx, msg: AxumMessage| async move {
            tx.send(msg).await.map_err(|_| ())?;
            Ok::<_, ()>(tx)
        },
    ));
    let stream = futures_util::stream::pending::<Result<AxumMessage, Infallible>>();
    let limits = Limits {
        max_lags: 1,
        ..Limits::default()
    };
    let conn = tokio::spawn(ws::run_connection(
        state.clone(),
        receiver,
        sink,
        stream,
        limits,
    ));
    // Each read lets the loop take one step; two overflows in between make it lag twice.
    let mut close = None;
    for _ in 0..20 {
        for i in 0..3 {
            let _ = frames.send(Frame::new("metrics:update", &i, Vec::new()));
        }
        match tokio::time::timeout(WAIT, out_rx.recv())
            .await
            .expect("in time")
        {
            Some(AxumMessage::Close(frame)) => {
                close = frame;
                break;
            }
            Some(_) => {}
            None => break,
        }
    }
    assert_eq!(close.map(|f| f.code), Some(1013));
    drop(out_rx);
    tokio::time::timeout(WAIT, conn)
        .await
        .expect("ends")
        .expect("no panic");
    assert_eq!(state.metrics().websocket_clients.get(), 0);
}

#[tokio::test]
async fn a_silent_client_is_pinged_then_dropped() {
    let (_dir, state) = state().await;
    let (_frames, receiver) = tokio::sync::broadcast::channel::<Frame>(4);
    let (out_tx, mut out_rx) = tokio::sync::mpsc::unbounded_channel::<AxumMessage>();
    let sink = Box::pin(futures_util::sink::unfold(
        out_tx,
        |tx, msg: AxumMessage| async move {
            tx.send(msg).map_err(|_| ())?;
            Ok::<_, ()>(tx)
        },
    ));
    let stream = futures_util::stream::pending::<Result<AxumMessage, Infallible>>();
    let limits = Limits {
        ping_interval: Duration::from_millis(50),
        idle_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let started = tokio::time::Instant::now();
    tokio::time::timeout(
        WAIT,
        ws::run_connection(state.clone(), receiver, sink, stream, limits),
    )
    .await
    .expect("a silent client is dropped");
    assert!(started.elapsed() >= Duration::from_millis(300));
    let mut pings = 0;
    while let Ok(msg) = out_rx.try_recv() {
        pings += usize::from(matches!(msg, AxumMessage::Ping(_)));
    }
    assert!(pings >= 3, "{pings} pings");
    assert_eq!(state.metrics().websocket_clients.get(), 0);
}

#[tokio::test]
async fn a_stored_test_run_pushes_test_results_to_its_component() {
    use mhd_core::testrun::{TestCase, TestRun, TestStatus};
    let (_dir, state) = state().await;
    let url = serve(state.clone()).await;
    let mut client = connect(&url).await;
    assert_eq!(next(&mut client).await["type"], "initial_data");
    send(&mut client, r#"{"type":"subscribe","component":"storage"}"#).await;
    assert_eq!(next(&mut client).await["type"], "subscribed");
    let case = |name: &str, status| TestCase {
        name: name.into(),
        classname: None,
        status,
        time: Some(0.1),
        message: None,
    };
    let run = TestRun {
        suite: "unit".into(),
        phase: None,
        component: Some("storage".into()),
        run_at: now() - time::Duration::hours(1),
        duration: 0.2,
        cases: vec![case("a", TestStatus::Passed), case("b", TestStatus::Failed)],
    };
    state.recorder().test_run(&run, None).await.expect("insert");
    let mut seen = Vec::new();
    let results = loop {
        let msg = next(&mut client).await;
        if msg["type"] == "test:results" {
            break msg["data"].clone();
        }
        seen.push(msg["type"].clone());
    };
    assert_eq!(
        seen,
        ["progress:update"],
        "progress comes first, then the tests"
    );
    let text = results.to_string();
    assert!(text.contains("\"unit\""), "{text}");
    assert!(text.contains("\"b\""), "the failing test is listed: {text}");
}

#[tokio::test]
async fn a_burst_of_changes_is_rendered_once() {
    let (_dir, state) = state().await;
    let url = serve(state.clone()).await;
    let mut client = connect(&url).await;
    assert_eq!(next(&mut client).await["type"], "initial_data");
    // Five writes heard at once, as the store's watcher hears another process's.
    let op = op("sales").at(now() - time::Duration::minutes(1)).build();
    state
        .store()
        .insert_operations(&[op])
        .await
        .expect("insert");
    let written = Change::Operations {
        components: vec!["storage".into()],
    };
    state.recorder().heard(vec![written; 5]);
    assert_eq!(next(&mut client).await["type"], "metrics:update");
    assert_eq!(next(&mut client).await["type"], "progress:update");
    // Well after the debounce: the next message is the answer to this, not another render.
    tokio::time::sleep(ws::DEBOUNCE * 4).await;
    send(&mut client, r#"{"type":"subscribe","component":"storage"}"#).await;
    assert_eq!(next(&mut client).await["type"], "subscribed");
}

#[tokio::test]
async fn a_refused_write_is_not_announced_and_a_stored_one_is_read_at_once() {
    let (_dir, state) = state().await;
    let base = common::serve(state.clone()).await;
    let remote = common::http::Remote::new(base.clone(), WAIT);
    let mut client = connect(&common::ws::dashboard_url(&base)).await;
    assert_eq!(next(&mut client).await["type"], "initial_data");

    // Refused (an operation without its fields): nothing stored, nothing heard.
    let (status, body) = remote
        .post(
            "/api/v1/operations",
            serde_json::json!([{ "dataset_name": "sales" }]),
        )
        .await;
    assert!(status.is_client_error(), "{status} {body}");
    let heard = tokio::time::timeout(ws::DEBOUNCE * 4, next(&mut client)).await;
    assert!(heard.is_err(), "a refused write is announced: {heard:?}");

    // Stored: announced, and read by the very next request.
    let stored = op("sales").at(now() - time::Duration::minutes(1)).build();
    let (status, body) = remote
        .post("/api/v1/operations", serde_json::json!([stored]))
        .await;
    assert_eq!(status.as_u16(), 201, "{body}");
    let (status, read) = remote.get("/api/v1/operations").await;
    assert_eq!(status.as_u16(), 200, "{read}");
    assert!(read.to_string().contains("\"sales\""), "{read}");
    assert_eq!(next(&mut client).await["type"], "metrics:update");
}

/// The server's own write is announced once, by its recorder as it commits. The store's
/// watcher passes it over: announced again, as a change of everything, it made every view be
/// computed again and pushed for nothing, and a write arriving meanwhile waited for that
/// (a write's update reached clients ~45 ms late). Another process's write is still heard.
#[tokio::test]
async fn the_servers_own_write_is_announced_once_and_another_processs_is_heard() {
    let (dir, state) = state().await;
    let watching = mhd_server::background::watch_store(&state)
        .await
        .expect("watch the store");
    let mut changes = state.recorder().subscribe();
    store_migration(&state).await;
    // Three of the watcher's looks at the file (one every 250 ms).
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mut heard = Vec::new();
    while let Ok(change) = changes.try_recv() {
        heard.push(change);
    }
    assert!(
        matches!(heard.as_slice(), [Change::Operations { .. }]),
        "one announcement of the write: {heard:?}"
    );

    let other = mhd_store::Database::open_file(&dir.path().join("mhd.db"), 1)
        .await
        .expect("open the store beside the server");
    other
        .insert_operations(&[op("hr").at(now()).build()])
        .await
        .expect("write");
    let change = tokio::time::timeout(Duration::from_secs(2), changes.recv())
        .await
        .expect("heard within two seconds")
        .expect("a change");
    assert_eq!(change, Change::External);
    other.close().await;
    watching.abort();
}
