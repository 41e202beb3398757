//! The report of a range of days (`GET /api/v1/reports/generate`, `mhd report`) rendered from
//! its [`ReportData`] (what it shows and the rules of its figures: [`mhd_core::report`]).
//!
//! Two formats from the same data: HTML, self-contained (inline style and SVG, no script,
//! nothing loaded from anywhere) and rendered by the same section views as the pages; and PDF
//! ([`pdf`]), laid out on pages by [`pdf_writer`].

pub mod brief;
pub mod pdf_text;
pub mod pdf_writer;

use mhd_core::report::{ErrorGroup, ReportData, ReportFormat};
use time::UtcOffset;

use crate::views::ViewError;

/// The report in `format`, as bytes to send or write.
pub fn render(
    data: &ReportData,
    format: ReportFormat,
    offset: UtcOffset,
) -> Result<Vec<u8>, ViewError> {
    Ok(match format {
        ReportFormat::Html => html::render(data, offset)?.into_bytes(),
        ReportFormat::Pdf => pdf::render(data, offset),
    })
}

/// The report as HTML.
pub fn render_html(data: &ReportData, offset: UtcOffset) -> Result<String, ViewError> {
    html::render(data, offset)
}

/// The report as PDF.
pub fn render_pdf(data: &ReportData, offset: UtcOffset) -> Vec<u8> {
    pdf::render(data, offset)
}

/// The operations per day over the range, failed ones hatched (the pages' column chart).
fn day_chart(data: &ReportData) -> String {
    use crate::charts::{Column, ColumnChartOptions, column_chart};
    use crate::views::thousands;
    column_chart(
        &data
            .days
            .iter()
            .map(|d| Column {
                label: d.date.to_string(),
                value: d.operations as f64,
                part: d.failed as f64,
                title: format!(
                    "{}: {} operations, {} failed",
                    d.date,
                    thousands(d.operations),
                    thousands(d.failed)
                ),
            })
            .collect::<Vec<_>>(),
        &ColumnChartOptions {
            id: "days",
            aria_label: "Operations per day over the period, failed ones hatched",
            legend: ("Operations", "Failed"),
            unit: "operations",
            empty_text: "No operations in the period.",
        },
    )
}

/// An error group's message as shown, clipped; a blank one says none was recorded.
fn error_message(e: &ErrorGroup) -> String {
    e.error_message
        .as_deref()
        .filter(|m| !m.trim().is_empty())
        .map_or("no error message recorded".to_owned(), |m| {
            crate::views::clip(m, crate::views::MAX_MESSAGE_CHARS)
        })
}

/// The report's title: "Migration report — NAME, START to END".
fn title(data: &ReportData) -> String {
    let name = data
        .plan_name
        .as_deref()
        .map(|n| crate::charts::truncate(n, crate::views::MAX_NAME_CHARS).into_owned());
    match name {
        Some(n) => format!(
            "Migration report — {n}, {} to {}",
            data.range.start, data.range.end
        ),
        None => format!(
            "Migration report, {} to {}",
            data.range.start, data.range.end
        ),
    }
}

mod html;
mod pdf;
