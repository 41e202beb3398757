//! The server's own assets, the scripts of [`mhd_web::assets`]: the pages' script, served under
//! a name that carries a hash of its content (so it can be cached for a year and a new build is
//! fetched at once), and the service worker, served from the root so its scope is the site.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mhd_web::assets::{LIVE_JS, SW_JS, live_js_name};

/// The content type of the scripts.
pub const JS_TYPE: &str = "text/javascript; charset=utf-8";
/// How long a hashed asset may be cached: a year, never revalidated.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `/assets/{file}`: the script under its hashed name; any other name is 404, so an old page
/// never gets a script it was not built with.
pub async fn asset(Path(file): Path<String>) -> Response {
    if file != live_js_name() {
        return (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            "no such asset",
        )
            .into_response();
    }
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(JS_TYPE)),
            (header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE)),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        LIVE_JS,
    )
        .into_response()
}

/// `/sw.js`: the service worker. Browsers check it for updates on every navigation, so it is
/// revalidated rather than cached; `Service-Worker-Allowed: /` states its scope.
pub async fn service_worker() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(JS_TYPE)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::HeaderName::from_static("service-worker-allowed"),
                HeaderValue::from_static("/"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        SW_JS,
    )
        .into_response()
}
