//! The server's own assets, embedded in the binary: the pages' script, served under a name
//! that carries a hash of its content (so it can be cached for a year and a new build is
//! fetched at once), and the service worker, served from the root so its scope is the site.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The charts' read-outs (pointer, touch and keyboard), driven by the charts' data attributes:
/// part of [`LIVE_JS`], and inline in the static dashboard file.
pub const CHARTS_JS: &str = include_str!("../assets/charts.js");
/// [`CHARTS_JS`] as the static dashboard file inlines it: without its comment lines and
/// indentation (the file is meant to stay small).
pub fn charts_js_inline() -> &'static str {
    static JS: OnceLock<String> = OnceLock::new();
    JS.get_or_init(|| {
        CHARTS_JS
            .lines()
            .map(str::trim_start)
            .filter(|l| !l.is_empty() && !l.starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// The pages' script: the charts' read-outs, live updates, reconnection, preferences,
/// notifications.
pub const LIVE_JS: &str = concat!(
    include_str!("../assets/charts.js"),
    include_str!("../assets/live.js")
);
/// The service worker: the last seen pages when offline.
pub const SW_JS: &str = include_str!("../assets/sw.js");

/// The content type of the scripts.
pub const JS_TYPE: &str = "text/javascript; charset=utf-8";
/// How long a hashed asset may be cached: a year, never revalidated.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// 64-bit FNV-1a of `bytes`: enough to tell two builds' assets apart.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The script's file name, `live.<hash>.js`, computed once.
fn live_js_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| format!("live.{:016x}.js", fnv1a(LIVE_JS.as_bytes())))
}

/// The path pages load the script from: `/assets/live.<hash>.js`.
pub fn live_js_path() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| format!("/assets/{}", live_js_name()))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_name_carries_its_content_hash() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        let path = live_js_path();
        assert!(path.starts_with("/assets/live.") && path.ends_with(".js"));
        assert_eq!(path.len(), "/assets/live.".len() + 16 + ".js".len());
    }
}
