//! The performance comparison (DESIGN §3.7): per operation, the old and the new system's
//! p50, p95, p99, mean, standard deviation and samples, their change, a verdict with its
//! p-value, and the two medians as a pair of bars.

use askama::Template;
use mhd_core::format;
use mhd_core::perf::{
    DEFAULT_REGRESSION_PERCENT, PerformanceComparison, PerformanceMetric, SIGNIFICANCE,
};

use super::{Badge, DASH, MAX_NAME_CHARS, clip, signed_percent, thousands};
use crate::charts::{self, Bar, BarChartOptions};

/// The performance comparison section of a page.
#[derive(Template)]
#[template(path = "performance.html", whitespace = "minimize")]
pub(crate) struct PerfSection {
    pub(crate) regressions: Option<String>,
    pub(crate) median: Option<String>,
    pub(crate) ops: Vec<OpView>,
}

pub(crate) struct OpView {
    pub(crate) name: String,
    pub(crate) component: Option<String>,
    pub(crate) old: [String; 5],
    pub(crate) new: [String; 5],
    pub(crate) delta: [String; 5],
    pub(crate) old_n: String,
    pub(crate) new_n: String,
    pub(crate) all_n: String,
    pub(crate) verdict: Badge,
    pub(crate) verdict_text: String,
    pub(crate) test_note: String,
    pub(crate) chart: String,
}

fn ms(v: f64) -> String {
    format::duration_ms(Some(v))
}

fn figures(m: Option<&PerformanceMetric>) -> [String; 5] {
    match m {
        Some(m) => [ms(m.p50), ms(m.p95), ms(m.p99), ms(m.mean), ms(m.std_dev)],
        None => std::array::from_fn(|_| DASH.to_owned()),
    }
}

/// The verdict as a badge: ✓ improved, ✗ regression, = no clear change.
pub(crate) fn verdict_badge(c: &PerformanceComparison) -> Badge {
    if c.regression {
        Badge::new("✗", "regression", "bad")
    } else if c.improved {
        Badge::new("✓", "improved", "ok")
    } else if c.delta_percent.is_some() {
        Badge::new("=", "no clear change", "")
    } else {
        Badge::new("—", "needs both systems", "mut")
    }
}

impl PerfSection {
    /// The section for these comparisons and the summary's median change, or `None` when
    /// there are none.
    pub(crate) fn new(comparisons: &[PerformanceComparison], median: Option<f64>) -> Option<Self> {
        if comparisons.is_empty() {
            return None;
        }
        let regressed: Vec<&PerformanceComparison> =
            comparisons.iter().filter(|c| c.regression).collect();
        let regressions = (!regressed.is_empty()).then(|| {
            let worst = regressed
                .iter()
                .filter_map(|c| c.delta_percent.map(|d| (d, c)))
                .max_by(|a, b| a.0.total_cmp(&b.0));
            let mut line = format!(
                "{} operation{} showing a regression: the new system's p50 is slower by more \
                 than the regression threshold (the plan's regression_percent, \
                 {DEFAULT_REGRESSION_PERCENT}% by default)",
                regressed.len(),
                if regressed.len() == 1 { "" } else { "s" }
            );
            if let Some((d, c)) = worst {
                line.push_str(&format!(
                    "; worst: {}, {}",
                    clip(&c.operation, MAX_NAME_CHARS),
                    signed_percent(Some(d))
                ));
            }
            line.push('.');
            line
        });
        Some(PerfSection {
            regressions,
            median: median.filter(|d| d.is_finite()).map(|d| {
                format!(
                    "Median change of p50 across operations: {} (negative: the new system is \
                     faster).",
                    signed_percent(Some(d))
                )
            }),
            ops: comparisons
                .iter()
                .enumerate()
                .map(|(i, c)| OpView::new(i, c))
                .collect(),
        })
    }
}

impl OpView {
    fn new(i: usize, c: &PerformanceComparison) -> Self {
        let name = clip(&c.operation, MAX_NAME_CHARS);
        let d = c.deltas;
        let delta = match d {
            Some(d) => [d.p50, d.p95, d.p99, d.mean, d.std_dev].map(signed_percent),
            None => std::array::from_fn(|_| DASH.to_owned()),
        };
        let verdict = verdict_badge(c);
        let verdict_text = match c.delta_percent.filter(|d| d.is_finite()) {
            Some(d) => format!("new p50 {} against the old", signed_percent(Some(d))),
            None if c.old_system.is_none() => "no samples of the old system".to_owned(),
            None if c.new_system.is_none() => "no samples of the new system".to_owned(),
            None => "the old p50 is 0: no change in percent".to_owned(),
        };
        let test_note = match (c.p_value, c.significance_tested) {
            (Some(p), true) => format!(
                "Mann-Whitney U: p = {p:.4} ({} at p < {SIGNIFICANCE})",
                if p < SIGNIFICANCE {
                    "significant"
                } else {
                    "not significant"
                }
            ),
            (Some(p), false) => format!(
                "Mann-Whitney U: p = {p:.4}; fewer than 5 samples a side, so the threshold \
                 alone decides"
            ),
            (None, _) => String::new(),
        };
        let mut bars = Vec::with_capacity(2);
        for (word, m, delta_text) in [
            ("Old", c.old_system.as_ref(), None),
            (
                "New",
                c.new_system.as_ref(),
                c.delta_percent
                    .filter(|d| d.is_finite())
                    .map(|d| signed_percent(Some(d))),
            ),
        ] {
            if let Some(m) = m {
                let mut value_text = ms(m.p50);
                if let Some(t) = delta_text {
                    value_text.push_str(&format!(" ({t})"));
                }
                bars.push(Bar {
                    label: word.to_owned(),
                    value: m.p50,
                    part: 0.0,
                    title: format!("{name}, {} system: p50 {}", word.to_lowercase(), ms(m.p50)),
                    value_text,
                });
            }
        }
        let chart = charts::bar_chart_horizontal(
            &bars,
            &BarChartOptions {
                id: &format!("pf{i}"),
                aria_label: &format!("{name}: median (p50) of the old and the new system, bars"),
                legend: None,
                empty_text: "No samples",
            },
        );
        OpView {
            component: c.component.as_deref().map(|c| clip(c, MAX_NAME_CHARS)),
            old: figures(c.old_system.as_ref()),
            new: figures(c.new_system.as_ref()),
            delta,
            old_n: thousands(c.old_samples as u64),
            new_n: thousands(c.new_samples as u64),
            all_n: thousands(c.sample_size as u64),
            verdict,
            verdict_text,
            test_note,
            chart,
            name,
        }
    }
}
