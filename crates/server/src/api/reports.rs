//! `GET /api/v1/reports/generate?start_date&end_date|last&format=html|pdf`: the report of a
//! range of days (see [`crate::report`]), sent as a file to save.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::{Params, param, params};
use crate::error::ApiError;
use crate::report::{self, ReportError, ReportFormat, ReportRange};
use crate::state::AppState;

/// The parameters of the route.
pub const REPORT_PARAMS: &[&str] = &["start_date", "end_date", "last", "format"];

/// `GET /api/v1/reports/generate`: `start_date` and `end_date` (`YYYY-MM-DD`, UTC days, both
/// included, at most [`report::MAX_DAYS`] days), or `last` instead of both (`14d`, `2w`: the
/// days ending today, UTC), and `format` (`pdf`, the default, or `html`).
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
    let range = match param(&pairs, "last") {
        Some(v) => {
            if param(&pairs, "start_date").is_some() || param(&pairs, "end_date").is_some() {
                return Err(ApiError::bad_request(
                    "parameter `last`: give either last or start_date and end_date, not both",
                ));
            }
            let today = state.now().to_offset(time::UtcOffset::UTC).date();
            ReportRange::parse_last("parameter `last`", v, today).map_err(bad)?
        }
        None => {
            let (start, end) = (date("start_date")?, date("end_date")?);
            ReportRange::new(start, end, "parameter `start_date`", "parameter `end_date`")
                .map_err(bad)?
        }
    };
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

/// `GET /api/v1/reports/{report_id}`: a report made on a schedule, the same bytes as were sent
/// (the e-mail's attachment); 404 when there is none of that id (or it was pruned), 400 for an
/// id that is not a positive number.
pub async fn stored(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<Params>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path(text) = path.map_err(|e| ApiError::bad_request(format!("path: {}", e.body_text())))?;
    params(query, &[])?;
    let id = text
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad_request(format!("path: {text:?} is not a report id")))?;
    let report =
        state.store.stored_report(id).await?.ok_or_else(|| {
            ApiError::not_found(format!("no report {id} (reports are kept 90 days)"))
        })?;
    let format =
        ReportFormat::parse("format", &report.format).map_err(|e| ApiError::internal(&e))?;
    let range = ReportRange {
        start: report.start,
        end: report.end,
    };
    let disposition = format!("attachment; filename=\"{}\"", range.file_name(format));
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
        ],
        report.body,
    )
        .into_response())
}
