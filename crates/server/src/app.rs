//! The router and the server loop: `app(state)` builds every route so tests can drive it
//! without a network; `serve` runs it on a given listener until shutdown, letting in-flight
//! requests finish, its connections held by [`crate::connections`].

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::connections::ConnectionLimits;
use crate::metrics::{Metrics, RequestLabels, RouteLabels};
use crate::routes;
use crate::security::Security;
use crate::state::AppState;

/// How long a request may take before it is answered 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What pages may load: only this server's own script, no inline script, no framing. Styles
/// are inline in the page (one `<style>` element), icons may be the empty `data:` one.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

/// Every route of the server ([`routes::TABLE`]) with the layers every request passes.
pub fn app(state: AppState) -> Router {
    routes::router()
        .fallback(crate::pages::not_found)
        // Who may do what, for every route above (and the unmatched ones).
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::access::authorize,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            transport_headers,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            // Never to another site; to this one, so that browsers still send `Origin` with
            // the pages' own form posts (under `no-referrer` they send `Origin: null`).
            HeaderValue::from_static("same-origin"),
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .with_state(state)
}

/// Serves `app(state)` on `listener` until `shutdown` completes; requests in flight finish.
/// Connections follow [`ConnectionLimits::default`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, ConnectionLimits::default(), shutdown).await
}

/// [`serve`] with its connections held to `limits`.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: AppState,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::connections::serve(listener, app(state), limits, shutdown).await
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// The request's id: the client's `X-Request-Id` when it is a plain token (at most 64 letters,
/// digits, `.`, `_` or `-`), else one made here, unique in this process and unlikely to meet
/// another process's.
fn request_id(headers: &axum::http::HeaderMap) -> HeaderValue {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static PREFIX: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    if let Some(given) = headers.get("x-request-id")
        && let Ok(text) = given.to_str()
        && !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return given.clone();
    }
    let prefix = *PREFIX.get_or_init(|| {
        use std::hash::{BuildHasher as _, Hasher as _};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.finish() as u32
    });
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    HeaderValue::from_str(&format!("{prefix:08x}-{n:x}")).expect("hex digits")
}

/// Counts every request and its latency by route pattern (never the raw path, which would let
/// a client grow the label set without bound), logs it (target `mhd::request`: method, route
/// pattern, status, latency and request id; a failed one as a warning) and answers with its
/// `X-Request-Id`.
async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let id = request_id(request.headers());
    let started = Instant::now();
    let mut response = next.run(request).await;
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let request_id = id.to_str().unwrap_or_default();
    if status >= 400 {
        tracing::warn!(target: "mhd::request", method, route, status, latency_ms, request_id, "request");
    } else {
        tracing::info!(target: "mhd::request", method, route, status, latency_ms, request_id, "request");
    }
    response.headers_mut().insert("x-request-id", id);
    metrics
        .latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            method,
            status,
        })
        .inc();
    response
}

/// How long a browser that has seen the dashboard over HTTPS keeps to HTTPS for its name.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// Headers that depend on the request: over HTTPS (TLS, or a trusted proxy that says so),
/// `Strict-Transport-Security` — except for `localhost` and addresses, where browsers would
/// otherwise refuse every other local server's plain HTTP, or ignore it; and `Cache-Control:
/// no-store` on the API's answers and every JSON answer that sets none, so that no cache
/// keeps what a caller was allowed to read.
async fn transport_headers(
    State(security): State<Arc<Security>>,
    request: Request,
    next: Next,
) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let hsts = security.secure_cookies(request.headers())
        && crate::origin::request_host(request.headers(), request.uri(), security.trusts_proxy())
            .and_then(crate::origin::HostPort::parse)
            .is_some_and(|h| !h.is_loopback() && !h.is_address());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if (api || json) && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
        );
    }
    response
}
