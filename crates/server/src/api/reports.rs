//! `GET /api/v1/reports/generate?start_date&end_date|last&format=html|pdf`: the report of a
//! range of days (see [`mhd_core::report`]), sent as a file to save.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use serde::Deserialize;

use super::Query;
use crate::error::ApiError;
use crate::state::AppState;
use mhd_core::report::{self, BadInput, ReportFormat, ReportRange};

/// The parameters of the route.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// The first day (YYYY-MM-DD, UTC); required unless `last` is given.
    #[param(format = Date)]
    pub start_date: Option<String>,
    /// The last day (YYYY-MM-DD, UTC), not before start_date; required unless `last` is given.
    #[param(format = Date)]
    pub end_date: Option<String>,
    /// Instead of start_date and end_date: the days up to today (UTC), a whole number of days
    /// such as 14d or 2w, at most 366 days.
    #[param(min_length = 1)]
    pub last: Option<String>,
    /// The document's format: see `format_schema`.
    #[param(schema_with = format_schema)]
    pub format: Option<String>,
}

/// The schema of `format`, with its description.
fn format_schema() -> utoipa::openapi::Object {
    super::openapi::string_enum(&["pdf", "html"], Some("pdf"), "The document's format.")
}

/// `GET /api/v1/reports/generate`: `start_date` and `end_date` (`YYYY-MM-DD`, UTC days, both
/// included, at most [`report::MAX_DAYS`] days), or `last` instead of both (`14d`, `2w`: the
/// days ending today, UTC), and `format` (`pdf`, the default, or `html`).
/// Answers the document with `Content-Disposition: attachment` and a file name of the form
/// `mhd-report-<start>-<end>.<ext>`; a missing or bad parameter is 400 naming it.
pub async fn generate(
    State(state): State<AppState>,
    Query(query): Query<ReportParams>,
) -> Result<Response, ApiError> {
    let bad = |BadInput(m)| ApiError::bad_request(m);
    let date = |name: &'static str, value: Option<&str>| -> Result<time::Date, ApiError> {
        let label = format!("parameter `{name}`");
        match value {
            None => Err(ApiError::bad_request(format!(
                "{label}: missing (a date, YYYY-MM-DD)"
            ))),
            Some(v) => report::parse_date(&label, v).map_err(bad),
        }
    };
    let range = match query.last.as_deref() {
        Some(v) => {
            if query.start_date.is_some() || query.end_date.is_some() {
                return Err(ApiError::bad_request(
                    "parameter `last`: give either last or start_date and end_date, not both",
                ));
            }
            let today = state.now().to_offset(time::UtcOffset::UTC).date();
            ReportRange::parse_last("parameter `last`", v, today).map_err(bad)?
        }
        None => {
            let (start, end) = (
                date("start_date", query.start_date.as_deref())?,
                date("end_date", query.end_date.as_deref())?,
            );
            ReportRange::new(start, end, "parameter `start_date`", "parameter `end_date`")
                .map_err(bad)?
        }
    };
    let format = match query.format.as_deref() {
        None => ReportFormat::Pdf,
        Some(v) => ReportFormat::parse("parameter `format`", v).map_err(bad)?,
    };
    let data =
        mhd_store::view_data::report(state.store(), state.plan().as_deref(), range, state.now())
            .await?;
    let body = mhd_web::report::render(&data, format, state.local_offset())
        .map_err(|e| ApiError::internal(&e))?;
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
    _: Query<super::NoParams>,
) -> Result<Response, ApiError> {
    let Path(text) = path.map_err(|e| ApiError::bad_request(format!("path: {}", e.body_text())))?;
    let id = text
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad_request(format!("path: {text:?} is not a report id")))?;
    let report =
        state.store().stored_report(id).await?.ok_or_else(|| {
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
