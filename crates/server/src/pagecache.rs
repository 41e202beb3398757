//! Pages kept ready to send: each page is rendered, filled in for its visitor and compressed
//! once per data version and encoding, then served from memory to every request that wants the
//! same bytes, instead of being compressed again for each of them.
//!
//! Only the visitors whose parts of a page are the same for everyone share a copy: the local
//! user (nobody signs in) and anonymous visitors. A signed-in user's page carries the session's
//! own CSRF token, so it is rendered and compressed per request as before.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mhd_web::views::PageKind;
use tower::{Layer, ServiceExt};
use tower_http::compression::CompressionLayer;

use crate::cache::Cache;
use crate::error::ApiError;
use crate::security::Caller;

/// How a page is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// As it is.
    Identity,
    /// `Content-Encoding: gzip`.
    Gzip,
    /// `Content-Encoding: br`.
    Brotli,
}

impl Encoding {
    /// The encoding to send to a client with these request headers: brotli where it is
    /// accepted, else gzip, else none (`q=0` refuses an encoding; `*` accepts any).
    pub fn preferred(headers: &HeaderMap) -> Encoding {
        let (mut br, mut gzip) = (None, None);
        let mut any = None;
        for value in headers.get_all(header::ACCEPT_ENCODING) {
            let Ok(value) = value.to_str() else { continue };
            for item in value.split(',') {
                let mut parts = item.split(';');
                let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
                let q = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                match name.as_str() {
                    "br" => br = Some(q),
                    "gzip" | "x-gzip" => gzip = Some(q),
                    "*" => any = Some(q),
                    _ => {}
                }
            }
        }
        let br = br.or(any).unwrap_or(0.0);
        let gzip = gzip.or(any).unwrap_or(0.0);
        if br > 0.0 && br >= gzip {
            Encoding::Brotli
        } else if gzip > 0.0 {
            Encoding::Gzip
        } else {
            Encoding::Identity
        }
    }

    /// The `Accept-Encoding` that makes the compression layer produce this encoding alone.
    fn token(self) -> &'static str {
        match self {
            Encoding::Identity => "identity",
            Encoding::Gzip => "gzip",
            Encoding::Brotli => "br",
        }
    }
}

/// The visitors who see the same page, whose copies can be shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Visitor {
    Local,
    Anonymous,
}

impl Visitor {
    fn of(caller: &Caller) -> Option<Visitor> {
        match caller {
            Caller::Local => Some(Visitor::Local),
            Caller::Anonymous => Some(Visitor::Anonymous),
            Caller::User { .. } | Caller::Token { .. } => None,
        }
    }
}

/// A page, its time range preset (`None`: none; only the picker's presets are kept, so the
/// pages held stay few), who sees it and how it is sent.
type Key = (PageKind, Option<&'static str>, Visitor, Encoding);

/// The pages ready to send, one per page, shared visitor and encoding.
#[derive(Default)]
pub struct Pages {
    slots: Mutex<HashMap<Key, Arc<Cache<Bytes>>>>,
}

impl Pages {
    fn slot(&self, key: Key) -> Arc<Cache<Bytes>> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(slots.entry(key).or_default())
    }

    /// The page `kind` over the time range preset `range` for `caller` as of data `version`, in the encoding the request's
    /// headers prefer: from memory when it was made for this version, else made by `render`
    /// (the page's HTML with the visitor's marks), filled in and compressed once. `None` when
    /// the caller's page cannot be shared: the caller renders it as before.
    pub async fn get<F, Fut>(
        &self,
        kind: PageKind,
        range: Option<&'static str>,
        caller: &Caller,
        headers: &HeaderMap,
        version: u64,
        render: F,
    ) -> Option<Result<Response, ApiError>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<String, ApiError>>,
    {
        let visitor = Visitor::of(caller)?;
        let encoding = Encoding::preferred(headers);
        let plain = self
            .slot((kind, range, visitor, Encoding::Identity))
            .get_or_compute(version, || async {
                let html = render().await?;
                Ok::<_, ApiError>(Bytes::from(crate::chrome::fill(&html, caller)))
            })
            .await;
        let plain = match plain {
            Ok(p) => p,
            Err(e) => return Some(Err(e)),
        };
        let body = if encoding == Encoding::Identity {
            plain
        } else {
            let compressed = self
                .slot((kind, range, visitor, encoding))
                .get_or_compute(version, || compress(Bytes::clone(&plain), encoding))
                .await;
            match compressed {
                Ok(c) => c,
                Err(e) => return Some(Err(e)),
            }
        };
        Some(Ok(response(Bytes::clone(&body), encoding)))
    }
}

/// A page's response: HTML, never cached by the client (it is the data of the moment).
fn response(body: Bytes, encoding: Encoding) -> Response {
    let mut response = (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::VARY, "accept-encoding"),
        ],
        body,
    )
        .into_response();
    if encoding != Encoding::Identity {
        response.headers_mut().insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(encoding.token()),
        );
    }
    response
}

/// `html` compressed by the same layer, codecs and levels that compress every other response.
async fn compress(html: Bytes, encoding: Encoding) -> Result<Bytes, ApiError> {
    let page = tower::service_fn(move |_: Request<Body>| {
        let html = Bytes::clone(&html);
        async move {
            Ok::<_, Infallible>(
                ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
            )
        }
    });
    let request = Request::builder()
        .header(header::ACCEPT_ENCODING, encoding.token())
        .body(Body::empty())
        .map_err(|e| ApiError::internal(&e))?;
    let answer = CompressionLayer::new()
        .layer(page)
        .oneshot(request)
        .await
        .map_err(|e: Infallible| ApiError::internal(&e))?;
    let encoded = answer
        .headers()
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes() == encoding.token().as_bytes());
    if !encoded {
        return Err(ApiError::internal(&format!(
            "the page was not compressed with {}",
            encoding.token()
        )));
    }
    axum::body::to_bytes(Body::new(answer.into_body()), usize::MAX)
        .await
        .map_err(|e| ApiError::internal(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepting(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        h
    }

    #[test]
    fn the_encoding_follows_accept_encoding() {
        assert_eq!(Encoding::preferred(&HeaderMap::new()), Encoding::Identity);
        for (value, expected) in [
            ("gzip, deflate, br, zstd", Encoding::Brotli),
            ("gzip", Encoding::Gzip),
            ("gzip;q=1.0, br;q=0.5", Encoding::Gzip),
            ("br;q=0, gzip", Encoding::Gzip),
            ("deflate", Encoding::Identity),
            ("*", Encoding::Brotli),
            ("*;q=0", Encoding::Identity),
            ("identity", Encoding::Identity),
            ("GZIP", Encoding::Gzip),
        ] {
            assert_eq!(Encoding::preferred(&accepting(value)), expected, "{value}");
        }
    }
}
