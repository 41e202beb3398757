//! The REST API under `/api/v1` (DESIGN §4 "HTTP API"): the views as JSON — the same documents
//! as the CLI's `--json` — and the writes that feed them, described by the OpenAPI document at
//! `/api/v1/openapi.json`.
//!
//! Each route of the API is an entry of [`crate::routes::TABLE`], which names its handler, the
//! access it needs and its operation in the OpenAPI document ([`openapi::document`]).
//!
//! - [`reads`]: the views and the recent operations;
//! - [`writes`]: operations (batched into shared transactions by [`writes::Batcher`]), JUnit
//!   reports, benchmarks and samples, each durable before its `201`;
//! - [`openapi`]: the OpenAPI 3.0 document and each route's operation in it.
//! - [`alerts`]: alerts, acknowledgements and silences;
//! - [`notify`]: notification deliveries, Jira issues on request and the chat command endpoint;
//! - [`rollback`]: a component's configured rollback; [`audit`]: the audit log;
//!   [`reports`]: date-range reports.
//!
//! Only JSON handlers live here: the pages' forms that make the same writes are with their
//! pages ([`crate::pages::alerts`], [`crate::pages::rollback`]).

pub mod alerts;
pub mod audit;
pub mod notify;
pub mod openapi;
pub mod operations;
pub mod reads;
pub mod reports;
pub mod rollback;
pub mod writes;

use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;

use crate::error::ApiError;

pub use crate::query::{NoParams, Query};

/// The largest request body a write accepts: 16 MiB. Larger bodies are answered 413.
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// A body that could not be read: 413 over [`BODY_LIMIT`], else 400 — both in the API's shape.
fn body_error(e: &BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large(BODY_LIMIT)
    } else {
        ApiError::bad_request(format!("the body could not be read: {}", e.body_text()))
    }
}

/// The media type of a request (`application/json` of `application/json; charset=utf-8`),
/// lowercase, or `None` without a `Content-Type`.
fn media_type(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
}

/// Serializes a time as RFC 3339 in UTC (`…Z`), as every answer writes its times
/// (`#[serde(serialize_with = "utc")]`; the schema reads the field's type, a date-time).
fn utc<S: serde::Serializer>(t: &time::OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&mhd_core::format::rfc3339(*t))
}
