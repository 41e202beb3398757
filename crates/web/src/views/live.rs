//! The live metrics section (DESIGN §3.4): operations per second, errors per minute, mean and
//! p95 durations and memory over the current window with their change and sparkline, and the
//! datasets being migrated now. Only the live server has these figures, so only its pages show them.

use askama::Template;
use mhd_core::format;
use mhd_core::live::{Figure, LiveMetrics};
use time::UtcOffset;

use super::{DASH, Stamp, signed_percent, thousands};
use crate::charts::{self, LineChart, LineStyle, Series, Size, Unit};

/// The live metrics section of a page.
#[derive(Template)]
#[template(path = "live.html", whitespace = "minimize")]
pub(crate) struct LiveSection {
    /// On the overview: the live page's path, for a link to it; the section is then a panel.
    pub(crate) more: Option<&'static str>,
    /// Whether the WebSocket's pushes keep the figures up to date (the last five minutes);
    /// over another span the section is read again from the server instead.
    pushed: bool,
    /// Whether the span ended before now, so nothing in it changes any more.
    ended: bool,
    window: String,
    as_of: Stamp,
    figures: Vec<FigureView>,
    active: String,
    operations: String,
    errors: String,
}

struct FigureView {
    /// The `data-live` key, the field's name in `LiveMetrics`.
    key: &'static str,
    label: &'static str,
    value: String,
    change: String,
    /// Its chart over the window, with axes and a read-out, drawn by the server; the page's
    /// script reads the section again when pushes say the figures moved.
    chart: String,
}

/// A live figure's chart over the window ending at `m.generated_at`: one point per bucket of
/// the figure's sparkline, at the bucket's end.
fn window_chart(
    m: &LiveMetrics,
    title: &str,
    values: &[Option<f64>],
    unit: Unit<'_>,
    top: Option<f64>,
    offset: UtcOffset,
) -> String {
    let end = m.generated_at.unix_timestamp();
    let window = m.window_seconds.max(1.0);
    let start = end - window.round() as i64;
    let width = window / values.len().max(1) as f64;
    let points: Vec<(i64, f64)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            (
                start + ((i + 1) as f64 * width).round() as i64,
                v.unwrap_or(f64::NAN),
            )
        })
        .collect();
    let series = [Series {
        name: title,
        points: &points,
        style: LineStyle::Area,
        step: false,
    }];
    charts::line_chart(&LineChart {
        title,
        unit,
        start,
        end,
        offset,
        series: &series,
        top,
        max_gap: window.ceil() as i64,
        size: Size::Small,
        empty_text: "No values in the window yet",
    })
    .html()
}

/// A live figure's value as shown; the page's script formats pushed values the same way.
pub(crate) fn figure_text(key: &str, v: Option<f64>) -> String {
    match v.filter(|v| v.is_finite()) {
        None => DASH.to_owned(),
        Some(v) => match key {
            "operations_per_second" => format!("{v:.2}"),
            "errors_per_minute" => format!("{v:.1}"),
            _ => format::duration_ms(Some(v)),
        },
    }
}

impl LiveSection {
    /// The section over a span of the reader's choosing (not the pushed last five minutes),
    /// shown at `now`: the pushes leave it alone, and a span that ended before now says so
    /// and is not read again.
    pub(crate) fn over_chosen_span(mut self, m: &LiveMetrics, now: time::OffsetDateTime) -> Self {
        self.pushed = false;
        self.ended = m.generated_at + time::Duration::minutes(1) < now;
        if self.ended {
            self.window = format!("the {}", super::span_words(m.window_seconds));
        }
        self
    }

    pub(crate) fn new(m: &LiveMetrics, offset: UtcOffset) -> Self {
        let figure = |key: &'static str, label: &'static str, f: &Figure| {
            // A rate is zero in a bucket without operations; a duration is undefined there.
            let (values, unit): (Vec<Option<f64>>, Unit<'_>) = match key {
                "operations_per_second" | "errors_per_minute" => (
                    f.sparkline.iter().map(|v| Some(v.unwrap_or(0.0))).collect(),
                    Unit::Count,
                ),
                _ => (f.sparkline.clone(), Unit::Millis),
            };
            FigureView {
                key,
                label,
                value: figure_text(key, f.value),
                change: change_text(f.change_percent),
                chart: window_chart(m, label, &values, unit, None, offset),
            }
        };
        LiveSection {
            more: None,
            pushed: true,
            ended: false,
            window: super::last_span_words(m.window_seconds),
            as_of: Stamp::new(m.generated_at, m.generated_at, offset),
            figures: vec![
                figure(
                    "operations_per_second",
                    "Operations / s",
                    &m.operations_per_second,
                ),
                figure("errors_per_minute", "Errors / min", &m.errors_per_minute),
                figure("mean_duration_ms", "Mean duration", &m.mean_duration_ms),
                figure("p95_duration_ms", "P95 duration", &m.p95_duration_ms),
                memory_view(m, offset),
            ],
            active: thousands(m.active_migrations),
            operations: thousands(m.operations),
            errors: thousands(m.errors),
        }
    }
}

/// Bytes as memory is read: `10.9 GB`, `512 MB` (2^30 and 2^20 bytes, as in the resource
/// view).
pub(crate) fn bytes_text(b: f64) -> String {
    const MB: f64 = 1024.0 * 1024.0;
    const GB: f64 = MB * 1024.0;
    if b >= GB {
        format!("{:.1} GB", b / GB)
    } else {
        format!("{:.0} MB", b / MB)
    }
}

/// The memory figure as shown: the share in use and the bytes in use, whichever are sampled;
/// "no data" without samples (never 0). The page's script formats pushed values the same way.
pub(crate) fn memory_text(percent: Option<f64>, bytes: Option<f64>) -> String {
    match (
        percent.filter(|v| v.is_finite()),
        bytes.filter(|v| v.is_finite()),
    ) {
        (Some(p), Some(b)) => format!("{p:.1}% · {}", bytes_text(b)),
        (Some(p), None) => format!("{p:.1}%"),
        (None, Some(b)) => bytes_text(b),
        (None, None) => "no data".to_owned(),
    }
}

/// The memory card: its change and sparkline follow the share in use when sampled, else the
/// bytes in use.
fn memory_view(m: &LiveMetrics, offset: UtcOffset) -> FigureView {
    let value = memory_text(
        m.memory_percent.as_ref().and_then(|f| f.value),
        m.memory_bytes.as_ref().and_then(|f| f.value),
    );
    let percent = m.memory_percent.is_some();
    let (change, chart) = match m.memory_percent.as_ref().or(m.memory_bytes.as_ref()) {
        Some(f) => {
            let values: Vec<Option<f64>> = held(&f.sparkline).into_iter().map(Some).collect();
            let (unit, top) = if percent {
                (Unit::Percent, Some(100.0))
            } else {
                (Unit::Bytes, None)
            };
            (
                change_text(f.change_percent),
                window_chart(m, "Memory", &values, unit, top, offset),
            )
        }
        None => (
            "no memory samples in the last two windows".to_owned(),
            window_chart(m, "Memory", &[], Unit::Percent, Some(100.0), offset),
        ),
    };
    FigureView {
        key: "memory",
        label: "Memory",
        value,
        change,
        chart,
    }
}

/// A gauge's sparkline with its gaps filled: a bucket without a sample holds the value before
/// it (the first value before the first sample), since a gauge keeps its value between two
/// readings.
pub(crate) fn held(points: &[Option<f64>]) -> Vec<f64> {
    let first = points.iter().flatten().copied().next().unwrap_or(0.0);
    let mut last = first;
    points
        .iter()
        .map(|p| {
            if let Some(v) = p.filter(|v| v.is_finite()) {
                last = v;
            }
            last
        })
        .collect()
}

/// "+12.0% vs the previous window", or that there is nothing to compare with.
pub(crate) fn change_text(c: Option<f64>) -> String {
    match c.filter(|c| c.is_finite()) {
        Some(_) => format!("{} vs the previous window", signed_percent(c)),
        None => "no previous window to compare".to_owned(),
    }
}
