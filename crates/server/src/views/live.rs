//! The live metrics section (DESIGN §3.4): operations per second, errors per minute, mean and
//! p95 durations over the current window with their change and sparkline, and the datasets
//! being migrated now. Only the live server has these figures, so only its pages show them.

use askama::Template;
use mhd_core::format;
use mhd_core::live::{Figure, LiveMetrics};
use time::UtcOffset;

use super::{DASH, Stamp, signed_percent, thousands};
use crate::charts;

/// The live metrics section of a page.
#[derive(Template)]
#[template(path = "live.html", whitespace = "minimize")]
pub(crate) struct LiveSection {
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
    spark: String,
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
    pub(crate) fn new(m: &LiveMetrics, offset: UtcOffset) -> Self {
        let figure = |key: &'static str, label: &'static str, f: &Figure| {
            let values: Vec<f64> = f.sparkline.iter().map(|v| v.unwrap_or(0.0)).collect();
            FigureView {
                key,
                label,
                value: figure_text(key, f.value),
                change: change_text(f.change_percent),
                spark: charts::sparkline(&values, &format!("{label}: trend over the window")),
            }
        };
        let minutes = (m.window_seconds / 60.0).round() as i64;
        LiveSection {
            window: if m.window_seconds >= 60.0 && m.window_seconds % 60.0 == 0.0 {
                format!("{minutes} minute{}", if minutes == 1 { "" } else { "s" })
            } else {
                format!("{:.0} seconds", m.window_seconds)
            },
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
            ],
            active: thousands(m.active_migrations),
            operations: thousands(m.operations),
            errors: thousands(m.errors),
        }
    }
}

/// "+12.0% vs the previous window", or that there is nothing to compare with.
pub(crate) fn change_text(c: Option<f64>) -> String {
    match c.filter(|c| c.is_finite()) {
        Some(_) => format!("{} vs the previous window", signed_percent(c)),
        None => "no previous window to compare".to_owned(),
    }
}
