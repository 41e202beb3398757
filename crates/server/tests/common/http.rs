//! Requests to the app: in-process through `tower::ServiceExt::oneshot` on a router, and over
//! the wire to a served address ([`Remote`]).

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt as _;

/// An in-process answer: status, headers and the whole body.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as text (panics when it is not UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("a UTF-8 body")
    }

    /// The body as JSON, `Null` when empty (panics, showing it, when it is not JSON).
    pub fn json(&self, uri: &str) -> Value {
        if self.body.is_empty() {
            return Value::Null;
        }
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{uri}: not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// Sends `request` to `router`; the answer with its whole body.
pub async fn call(router: &Router, request: Request<Body>) -> Answer {
    let res = router.clone().oneshot(request).await.expect("an answer");
    let status = res.status();
    let headers = res.headers().clone();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .expect("the body")
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

/// GET `uri`: the whole answer.
pub async fn get(router: &Router, uri: &str) -> Answer {
    call(router, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// GET `uri` with the request headers `headers`: the whole answer.
pub async fn get_with(
    router: &Router,
    uri: &str,
    headers: &[(header::HeaderName, &str)],
) -> Answer {
    let mut req = Request::get(uri);
    for (name, value) in headers {
        req = req.header(name, *value);
    }
    call(router, req.body(Body::empty()).unwrap()).await
}

/// GET `uri`: status, headers and body as text.
pub async fn get_page(router: &Router, uri: &str) -> (StatusCode, HeaderMap, String) {
    let a = get(router, uri).await;
    let text = a.text();
    (a.status, a.headers, text)
}

/// GET `uri`: status, headers and body.
pub async fn get_bytes(router: &Router, uri: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    let a = get(router, uri).await;
    (a.status, a.headers, a.body)
}

/// GET `uri`: status and body as text.
pub async fn get_text(router: &Router, uri: &str) -> (StatusCode, String) {
    let a = get(router, uri).await;
    (a.status, a.text())
}

/// GET `uri`: status and body as JSON (`Null` for an empty body).
pub async fn get_json(router: &Router, uri: &str) -> (StatusCode, Value) {
    let a = get(router, uri).await;
    (a.status, a.json(uri))
}

/// GET `uri`, asserting `200 OK`: the body as JSON.
pub async fn get_ok(router: &Router, uri: &str) -> Value {
    let a = get(router, uri).await;
    assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.text());
    a.json(uri)
}

/// Sends `body` to `uri` with `method` and `content_type`: status and body as JSON (`Null`
/// for an empty body).
pub async fn send(
    router: &Router,
    method: Method,
    uri: &str,
    content_type: Option<&str>,
    body: impl Into<Body>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(ct) = content_type {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    let a = call(router, req.body(body.into()).unwrap()).await;
    (a.status, a.json(uri))
}

/// POSTs `body` as JSON to `uri`: status and body as JSON.
pub async fn post_json(router: &Router, uri: &str, body: &Value) -> (StatusCode, Value) {
    send(
        router,
        Method::POST,
        uri,
        Some("application/json"),
        body.to_string(),
    )
    .await
}

/// The error body's code, asserting the API's error shape (a code and a message).
pub fn error_code(body: &Value) -> &str {
    let e = &body["error"];
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    e["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code: {body}"))
}

/// A served app at `base` (`http://127.0.0.1:PORT`) and the HTTP client of the tests.
pub struct Remote {
    pub base: String,
    pub http: reqwest::Client,
}

impl Remote {
    /// The server at `base`, asked with a client that gives up after `wait`.
    pub fn new(base: String, wait: Duration) -> Remote {
        Remote {
            base,
            http: mhd_server::http::client(wait).expect("client"),
        }
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET `path`: status and body as JSON (`Null` when it is not JSON).
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, None).await
    }

    /// GET `path`: status and body as text.
    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        let r = self.http.get(self.url(path)).send().await.expect("request");
        (r.status(), r.text().await.expect("body"))
    }

    /// Sends `path` with `method` and `body` as JSON, if any: status and body as JSON (`Null`
    /// when it is not JSON).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("request");
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// POSTs `body` as JSON to `path`: status and body as JSON (`Null` when it is not JSON).
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, Some(body)).await
    }
}
