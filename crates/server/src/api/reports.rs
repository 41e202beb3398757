//! `GET /api/v1/reports/generate?start_date&end_date&format=html|pdf`: the report of a range
//! of days (see [`crate::report`]), sent as a file to save.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::{Params, param, params};
use crate::error::ApiError;
use crate::report::{self, ReportError, ReportFormat, ReportRange};
use crate::state::AppState;

/// The parameters of the route.
pub const REPORT_PARAMS: &[&str] = &["start_date", "end_date", "format"];

/// `GET /api/v1/reports/generate`: `start_date` and `end_date` (`YYYY-MM-DD`, UTC days, both
/// included, at most [`report::MAX_DAYS`] days) and `format` (`pdf`, the default, or `html`).
/// Answers the document with `Content-Disposition: attachment` and a file name of the form
/// `mhd-report-<start>-<end>.<ext>`; a missing or bad parameter is 400 naming it.
pub async fn generate(
    State(state): State<AppState>,
    query: Result<Query<Params>, QueryRejection>,
) -> Result<Response, ApiError> {
    let pairs = params(query, REPORT_PARAMS)?;
    let bad = |e: ReportError| match e {
        ReportError::BadInput(m) => ApiError::bad_request(m),
        ReportError::Store(e) => ApiError::from(e),
        ReportError::View(e) => ApiError::internal(&e),
    };
    let date = |name: &'static str| -> Result<time::Date, ApiError> {
        let label = format!("parameter `{name}`");
        match param(&pairs, name) {
            None => Err(ApiError::bad_request(format!(
                "{label}: missing (a date, YYYY-MM-DD)"
            ))),
            Some(v) => report::parse_date(&label, v).map_err(bad),
        }
    };
    let (start, end) = (date("start_date")?, date("end_date")?);
    let range = ReportRange::new(start, end, "parameter `start_date`", "parameter `end_date`")
        .map_err(bad)?;
    let format = match param(&pairs, "format") {
        None => ReportFormat::Pdf,
        Some(v) => ReportFormat::parse("parameter `format`", v).map_err(bad)?,
    };
    let body = report::generate(
        &state.store,
        state.plan().as_deref(),
        range,
        format,
        state.now(),
        state.local_offset,
    )
    .await
    .map_err(bad)?;
    let disposition = format!("attachment; filename=\"{}\"", range.file_name(format));
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}
