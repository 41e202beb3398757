//! Pages kept ready to send: each page is rendered per data version for each variant of its
//! personal parts (what [`mhd_web::views::Viewer`] shows apart from the session: the local
//! user, anonymous visitors, and the viewer, operator and admin roles), so every request of the
//! same variant shares it.
//!
//! - Local and anonymous visitors carry nothing per session: their page is also compressed
//!   once per encoding and served from memory as it is.
//! - A signed-in session's page carries its own name and CSRF token. The page is rendered once
//!   per role with those two left open ([`mhd_web::views::Viewer::shared`], which records where
//!   they go), and each request joins its session's name and token in at those places
//!   ([`mhd_web::views::Page::fill`]: one copy of the page, no rendering, no scanning); the
//!   response is then compressed by the pages' compression layer, as every signed-in page was.
//! - An API token's page (rare: tokens are for the API) is rendered for the request.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mhd_core::auth::{Access, Role};
use mhd_web::views::{Page, PageKind, Viewer};
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

/// What a page's personal parts depend on apart from the session: the variants of a page
/// that are rendered once and shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// Nobody signs in: the local user.
    Local,
    /// Sign-in is required and nobody is signed in.
    Anonymous,
    /// A signed-in viewer.
    Viewer,
    /// A signed-in operator.
    Operator,
    /// A signed-in admin.
    Admin,
}

impl Variant {
    /// The variant `caller` sees; `None` for an API token, whose page is rendered for it.
    pub fn of(caller: &Caller) -> Option<Variant> {
        match caller {
            Caller::Local => Some(Variant::Local),
            Caller::Anonymous => Some(Variant::Anonymous),
            Caller::User { role, .. } => match role {
                Role::Viewer => Some(Variant::Viewer),
                Role::Operator => Some(Variant::Operator),
                Role::Admin => Some(Variant::Admin),
                Role::Ingest => None,
            },
            Caller::Token { .. } => None,
        }
    }

    /// The role of a signed-in variant.
    fn role(self) -> Option<Role> {
        match self {
            Variant::Local | Variant::Anonymous => None,
            Variant::Viewer => Some(Role::Viewer),
            Variant::Operator => Some(Role::Operator),
            Variant::Admin => Some(Role::Admin),
        }
    }

    /// The viewer the variant's shared page is rendered for: a signed-in role's with the
    /// session's name and token left open.
    fn viewer(self) -> Viewer {
        match self.role() {
            None if self == Variant::Local => Viewer::local(),
            None => Viewer::anonymous(),
            Some(role) => Viewer::shared(
                role.as_str(),
                (Access::Operate.allows(role), Access::Admin.allows(role)),
            ),
        }
    }
}

/// A page, its time range preset (`None`: none; only the picker's presets are kept, so the
/// pages held stay few) and the variant of its personal parts.
type PageKey = (PageKind, Option<&'static str>, Variant);

/// Pages kept per key, each the copy of the data version it was made for.
type Slots<K, T> = Mutex<HashMap<K, Arc<Cache<T>>>>;

/// The pages ready to send: one render per page, preset and variant, and for the variants
/// without a session one compressed copy per encoding.
#[derive(Default)]
pub struct Pages {
    renders: Slots<PageKey, Page>,
    sent: Slots<(PageKey, Encoding), Bytes>,
    /// How many pages were rendered for this cache.
    rendered: AtomicU64,
}

/// The slot of `key`, made empty the first time.
fn slot<K: std::hash::Hash + Eq, T>(map: &Slots<K, T>, key: K) -> Arc<Cache<T>> {
    let mut slots = map.lock().unwrap_or_else(|e| e.into_inner());
    Arc::clone(slots.entry(key).or_default())
}

impl Pages {
    /// How many pages were rendered to be kept here (each a miss of the cache).
    pub fn rendered(&self) -> u64 {
        self.rendered.load(Ordering::Relaxed)
    }

    /// The page `kind` over the time range preset `range` for `caller` as of data `version`:
    /// its variant's render from memory when it was made for this version, else made by
    /// `render` (the page as the viewer given sees it). Without a session, in the encoding
    /// the request's headers prefer, compressed once; for a session, its name and CSRF token
    /// joined in. `None` for an API token: the caller renders the page for it.
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
        F: FnOnce(Viewer) -> Fut,
        Fut: Future<Output = Result<Page, ApiError>>,
    {
        let variant = Variant::of(caller)?;
        let key = (kind, range, variant);
        let page = slot(&self.renders, key)
            .get_or_compute(version, || {
                self.rendered.fetch_add(1, Ordering::Relaxed);
                render(variant.viewer())
            })
            .await;
        let page = match page {
            Ok(p) => p,
            Err(e) => return Some(Err(e)),
        };
        if let Caller::User { name, csrf, .. } = caller {
            let html = page.fill(name, csrf);
            return Some(Ok(response(Bytes::from(html), Encoding::Identity)));
        }
        let encoding = Encoding::preferred(headers);
        let plain = slot(&self.sent, (key, Encoding::Identity))
            .get_or_compute(version, || async {
                Ok::<_, ApiError>(Bytes::from(Page::clone(&page).into_html()))
            })
            .await;
        let plain = match plain {
            Ok(p) => p,
            Err(e) => return Some(Err(e)),
        };
        let body = if encoding == Encoding::Identity {
            plain
        } else {
            let compressed = slot(&self.sent, (key, encoding))
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
