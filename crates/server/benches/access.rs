//! What deciding who may do what costs a request (`crate::access`), each figure beside the same
//! request's baseline in the same run, the router driven in process (no network), 20,000
//! requests each, median and p99:
//!
//! - `GET /health` with no credential and no user in the store: the baseline (the access layer
//!   runs, but finds the local user from its cached "no user" answer);
//! - `GET /api/v1/auth/whoami` the same way, then with users in the store: with no credential
//!   (anonymous), with an API token (a hash and an indexed lookup), with a session cookie (a
//!   lookup joined with the user);
//! - `POST` a JSON body with a session cookie and its CSRF token (the token compared).
//!
//! Run with `cargo bench -p mhd-server --bench access`.

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

fn get(path: &str, header: Option<(&str, String)>) -> Request<Body> {
    let mut b = Request::get(path);
    if let Some((k, v)) = header {
        b = b.header(k, v);
    }
    b.body(Body::empty()).expect("request")
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = mhd_store::SqliteStore::open(&dir.path().join("mhd.db"), 8)
            .await
            .expect("store");
        let app = mhd_server::app(AppState::new(store.clone(), None, time::UtcOffset::UTC));
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
    });
}
