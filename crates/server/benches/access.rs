//! What deciding who may do what costs a request (`crate::access`), each figure beside the same
//! request's baseline in the same run, the router driven in process (no network), 20,000
//! requests each, median and p99:
//!
//! - `GET /health` with no credential and no user in the store: the baseline (the access layer
//!   runs, but finds the local user from its cached "no user" answer);
//! - `GET /api/v1/auth/whoami` the same way, then with users in the store: with no credential
//!   (anonymous), with an API token (a hash and an indexed lookup), with a session cookie (a
//!   lookup joined with the user);
//! - `POST` a JSON body with a session cookie and its CSRF token (the token compared);
//! - with users in the store, a request naming a host of `--allowed-host` (the list looked
//!   up), one naming a host that is not (421), and one with an unknown token (401; its refusal
//!   gathered for the audit log rather than written each time).
//!
//! - a page (`GET /summary`, 2,000 requests) for a signed-in session, its body read to the end: as sent
//!   (identity) and compressed as a browser asks (`gzip, deflate, br`); beside the same page
//!   for the local user (no user in the store), served from the shared compressed copy.
//!
//! Every request names `Host: 127.0.0.1:8000`, as a browser's would, unless it says otherwise.
//!
//! Then over a socket of 127.0.0.1, one kept-alive connection, 20,000 `GET /health` one after
//! another: served by `axum::serve` (the baseline) and by `mhd_server::serve`, whose connection
//! loop adds the idle timeout and the connection cap.
//!
//! Run with `cargo bench -p mhd-server --bench access`.

use mhd_store::prelude::*;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, header};
use mhd_core::auth::Role;
use mhd_server::AppState;
use mhd_store::auth::PasswordHash;
use time::OffsetDateTime;
use tower::ServiceExt as _;

const N: usize = 20_000;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn stats(mut d: Vec<Duration>) -> (f64, f64) {
    d.sort_unstable();
    let us = |x: Duration| x.as_secs_f64() * 1e6;
    (us(d[d.len() / 2]), us(d[d.len() * 99 / 100]))
}

async fn time(app: &axum::Router, make: &dyn Fn() -> Request<Body>, expect: u16) -> (f64, f64) {
    for _ in 0..500 {
        let _ = app.clone().oneshot(make()).await;
    }
    let mut took = Vec::with_capacity(N);
    for _ in 0..N {
        let started = Instant::now();
        let r = app.clone().oneshot(make()).await.expect("answer");
        took.push(started.elapsed());
        assert_eq!(r.status().as_u16(), expect, "unexpected status");
    }
    stats(took)
}

/// As [`time`] for a page: 200, its body read to the end (where compression happens).
async fn time_page(app: &axum::Router, make: &dyn Fn() -> Request<Body>) -> (f64, f64) {
    let send = || async {
        let r = app.clone().oneshot(make()).await.expect("answer");
        assert_eq!(r.status().as_u16(), 200, "unexpected status");
        axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .expect("body")
            .len()
    };
    for _ in 0..200 {
        send().await;
    }
    let mut took = Vec::with_capacity(N / 10);
    for _ in 0..N / 10 {
        let started = Instant::now();
        assert!(send().await > 0);
        took.push(started.elapsed());
    }
    stats(took)
}

fn get(path: &str, header: Option<(&str, String)>) -> Request<Body> {
    let mut b = Request::get(path);
    if let Some((k, v)) = header {
        b = b.header(k, v);
    }
    let mut r = b.body(Body::empty()).expect("request");
    r.headers_mut()
        .entry(header::HOST)
        .or_insert(header::HeaderValue::from_static("127.0.0.1:8000"));
    r
}

/// Median and p99 of `GET /health` sent one after another on one kept-alive connection to
/// `addr`.
async fn over_a_socket(addr: std::net::SocketAddr) -> (f64, f64) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    socket.set_nodelay(true).expect("nodelay");
    let request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n";
    let mut buf = vec![0u8; 4096];
    let mut one = async || {
        socket.write_all(request).await.expect("write");
        let mut got = 0;
        loop {
            let n = socket.read(&mut buf[got..]).await.expect("read");
            assert!(n > 0, "the server closed the connection");
            got += n;
            let text = &buf[..got];
            if let Some(end) = text.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&text[..end]).expect("head");
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().expect("length"))
                    })
                    .expect("content-length");
                if got >= end + 4 + length {
                    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
                    return;
                }
            }
        }
    };
    for _ in 0..500 {
        one().await;
    }
    let mut took = Vec::with_capacity(N);
    for _ in 0..N {
        let started = Instant::now();
        one().await;
        took.push(started.elapsed());
    }
    stats(took)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = mhd_store::Database::open_file(&dir.path().join("mhd.db"), 8)
            .await
            .expect("store");
        let app_state = AppState::new(store.clone(), None, time::UtcOffset::UTC);
        let app_state_2 = app_state.clone();
        let app = mhd_server::app(app_state.clone());
        println!("{N} requests each, in process; median / p99 in microseconds");
        let row = |name: &str, (m, p): (f64, f64)| println!("{name:<58} {m:>8.1} {p:>9.1}");
        row(
            "baseline: GET /health, no user in the store",
            time(&app, &|| get("/health", None), 200).await,
        );
        row(
            "GET /api/v1/auth/whoami, no user (local)",
            time(&app, &|| get("/api/v1/auth/whoami", None), 200).await,
        );
        let browser = || ("accept-encoding", "gzip, deflate, br".to_owned());
        row(
            "GET /summary, no user (local), br",
            time_page(&app, &|| get("/summary", Some(browser()))).await,
        );

        let hash = PasswordHash::new("correct horse battery staple").expect("hash");
        let user = store
            .add_user("alice", Role::Admin, &hash, now())
            .await
            .expect("user");
        let token = store
            .create_token("bench", Role::Admin, None, now())
            .await
            .expect("token")
            .secret
            .expose()
            .to_owned();
        let session = store
            .start_session(user.id, None, now())
            .await
            .expect("session");
        // Past the one-second reuse of "is there any user?".
        tokio::time::sleep(Duration::from_millis(1100)).await;
        row(
            "baseline: GET /health, users exist",
            time(&app, &|| get("/health", None), 200).await,
        );
        row(
            "GET /api/v1/auth/whoami, anonymous",
            time(&app, &|| get("/api/v1/auth/whoami", None), 200).await,
        );
        let bearer = format!("Bearer {token}");
        row(
            "GET /api/v1/auth/whoami, API token",
            time(
                &app,
                &|| {
                    get(
                        "/api/v1/auth/whoami",
                        Some(("authorization", bearer.clone())),
                    )
                },
                200,
            )
            .await,
        );
        let cookie = format!("mhd_session={}", session.secret);
        row(
            "GET /api/v1/auth/whoami, session cookie",
            time(
                &app,
                &|| get("/api/v1/auth/whoami", Some(("cookie", cookie.clone()))),
                200,
            )
            .await,
        );
        let page = |encoding: &str| {
            let mut r = get("/summary", Some(("cookie", cookie.clone())));
            r.headers_mut().insert(
                header::ACCEPT_ENCODING,
                header::HeaderValue::from_str(encoding).expect("header"),
            );
            r
        };
        row(
            "GET /summary, session cookie, identity",
            time_page(&app, &|| page("identity")).await,
        );
        row(
            "GET /summary, session cookie, br",
            time_page(&app, &|| page("gzip, deflate, br")).await,
        );
        let csrf = session.csrf_token.clone();
        let post = || {
            Request::post("/api/v1/alerts/silences")
                .header("cookie", cookie.clone())
                .header("x-csrf-token", csrf.clone())
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{\"duration\":\"1h\"}"))
                .expect("request")
        };
        // Refused by the handler (a silence names a rule or a component): the access layer's
        // cost with no write behind it.
        row(
            "POST /api/v1/alerts/silences, cookie + CSRF token (400)",
            time(&app, &post, 400).await,
        );
        row(
            "GET /api/v1/auth/whoami, unknown token (401)",
            time(
                &app,
                &|| {
                    get(
                        "/api/v1/auth/whoami",
                        Some(("authorization", "Bearer mhd_guessed".to_owned())),
                    )
                },
                401,
            )
            .await,
        );
        allowed_hosts(&app_state);
        row(
            "GET /api/v1/auth/whoami, Host of --allowed-host",
            time(
                &app,
                &|| {
                    get(
                        "/api/v1/auth/whoami",
                        Some(("host", "c.example.com".to_owned())),
                    )
                },
                200,
            )
            .await,
        );
        row(
            "GET /api/v1/auth/whoami, Host not allowed (421)",
            time(
                &app,
                &|| {
                    get(
                        "/api/v1/auth/whoami",
                        Some(("host", "attacker.example".to_owned())),
                    )
                },
                421,
            )
            .await,
        );

        println!("over a socket: one kept-alive connection, GET /health one after another");
        let baseline = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let baseline_addr = baseline.local_addr().expect("address");
        tokio::spawn(async move {
            axum::serve(
                baseline,
                mhd_server::app(app_state.clone())
                    .into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
        });
        let ours = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let ours_addr = ours.local_addr().expect("address");
        tokio::spawn(mhd_server::serve(ours, app_state_2, std::future::pending()));
        row("baseline: axum::serve", over_a_socket(baseline_addr).await);
        row("mhd_server::serve", over_a_socket(ours_addr).await);
    });
}

/// Three names besides the loopback ones, as `--allowed-host` gives them.
fn allowed_hosts(state: &AppState) {
    let mut hosts = mhd_server::origin::AllowedHosts::default();
    for h in ["a.example.com", "b.example.com:8443", "c.example.com"] {
        hosts.add(h).expect("a host");
    }
    state.security().set_allowed_hosts(hosts);
}
