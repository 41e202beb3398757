//! The API's one error type: a status, a stable code and a message a user can act on, sent as
//! `{"error": {"code", "message"}}`. Causes are logged, never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error answered to a client.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable machine-readable code, such as `bad_request`.
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
}

impl ApiError {
    /// 400: the request is malformed.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            message: message.into(),
        }
    }

    /// 404: nothing there.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: message.into(),
        }
    }

    /// 413: the body is over the limit.
    pub fn too_large(limit: usize) -> ApiError {
        ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "payload_too_large",
            message: format!(
                "the body is over the limit of {limit} bytes; send it in smaller parts"
            ),
        }
    }

    /// 415: a content type the route does not take.
    pub fn unsupported_media_type(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "unsupported_media_type",
            message: message.into(),
        }
    }

    /// 409: the server has no plan for a route that needs one.
    pub fn no_plan() -> ApiError {
        ApiError {
            status: StatusCode::CONFLICT,
            code: "no_plan",
            message: "the server runs without a plan: start it with --plan FILE or write one with `mhd init`".into(),
        }
    }

    /// 507: the disk holding the store is full, so nothing of the request was stored.
    pub fn storage_full() -> ApiError {
        tracing::error!("a write failed: the disk holding the store is full");
        ApiError {
            status: StatusCode::INSUFFICIENT_STORAGE,
            code: "storage_full",
            message: "the disk holding the server's store is full: nothing of this request was \
                      stored; send it again once space has been freed (GET /ready says when)"
                .into(),
        }
    }

    /// 503: another writer held the store for longer than a write waits; nothing was stored.
    /// Answered with `Retry-After`.
    pub fn busy(e: &mhd_store::StoreError) -> ApiError {
        tracing::warn!("a write gave up waiting: {e}");
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "busy",
            message: format!(
                "the store is busy with another writer: nothing of this request was stored; \
                 send it again in {BUSY_RETRY_AFTER} s"
            ),
        }
    }

    /// 503 `unavailable` (answered with `Retry-After`): the database server did not answer
    /// within the write's wait (it is restarting, failing over or gone). The message says
    /// whether anything was stored; the URL it names has no password.
    pub fn unavailable(e: &mhd_store::StoreError) -> ApiError {
        tracing::warn!("the database does not answer: {e}");
        let message = match e {
            // A write that waited: its message names the database and what was stored.
            mhd_store::StoreError::Unreachable { .. } => {
                format!("{e}; send it again in {BUSY_RETRY_AFTER} s")
            }
            _ => format!(
                "the database does not answer ({e}): nothing of this request was done; send it \
                 again in {BUSY_RETRY_AFTER} s"
            ),
        };
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "unavailable",
            message,
        }
    }

    /// 500: the store failed. The cause is logged; the client hears only that it failed.
    pub fn internal(cause: &dyn std::fmt::Display) -> ApiError {
        tracing::error!("internal error: {cause}");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: "the server could not complete the request; it is logged".into(),
        }
    }
}

impl From<mhd_store::StoreError> for ApiError {
    fn from(e: mhd_store::StoreError) -> ApiError {
        match e {
            mhd_store::StoreError::Invalid { .. } => ApiError::bad_request(e.to_string()),
            mhd_store::StoreError::Full => ApiError::storage_full(),
            mhd_store::StoreError::Busy(_) => ApiError::busy(&e),
            _ if e.is_unavailable() => ApiError::unavailable(&e),
            other => ApiError::internal(&other),
        }
    }
}

impl ApiError {
    /// The answer to a store failure met while deciding who asks or signing in: 503 `busy`
    /// with `Retry-After` when the store is busy, 503 `unavailable` when the database does not
    /// answer, 507 when its disk is full, else 500.
    pub fn from_auth(e: &mhd_store::auth::AuthError) -> ApiError {
        match e {
            mhd_store::auth::AuthError::Store(mhd_store::StoreError::Full) => {
                ApiError::storage_full()
            }
            mhd_store::auth::AuthError::Store(s @ mhd_store::StoreError::Busy(_)) => {
                ApiError::busy(s)
            }
            mhd_store::auth::AuthError::Store(s) if s.is_unavailable() => ApiError::unavailable(s),
            other => ApiError::internal(other),
        }
    }
}

/// The seconds a client is told to wait (`Retry-After`) when the store was busy.
pub const BUSY_RETRY_AFTER: u64 = 2;

/// The body of every error answer (the OpenAPI document's `Error`).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong: a code for programs, a message for people.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code: bad_request, unauthorized (no or a bad credential, or a
    /// chat command without a valid signature), forbidden (a role that may not, a change from
    /// another site or without its CSRF token), not_found, no_rollback, in_progress,
    /// rollback_failed, conflict (the alert has its Jira issue already), no_plan,
    /// payload_too_large, unsupported_media_type, resolved (the alert is already resolved),
    /// removed (the silence was removed already), bad_gateway (Jira refused), unavailable
    /// (notifications are not running, or the database did not answer), busy (the store was
    /// busy with another writer), storage_full, headers_too_large, misdirected_request,
    /// too_many_refusals, internal.
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if matches!(self.code, "busy" | "unavailable") {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(BUSY_RETRY_AFTER),
            );
        }
        response
    }
}
