//! The component health matrix (DESIGN §3.3): per component, the old and the new system's
//! health side by side, the migration of its datasets, its tests and its performance delta.

use askama::Template;
use mhd_core::components::{ComponentHealth, SystemHealth, VersionInfo};
use mhd_core::format;

use super::{
    Badge, DASH, MAX_MESSAGE_CHARS, MAX_NAME_CHARS, clip, signed_percent, thousands, whole_percent,
};
use crate::charts;

/// The component matrix section of a page.
#[derive(Template)]
#[template(path = "components.html", whitespace = "minimize")]
pub(crate) struct ComponentsSection {
    pub(crate) rows: Vec<ComponentRow>,
    /// The components whose rollback the plan configures, linked to their rollback pages.
    pub(crate) rollbacks: Vec<RollbackLink>,
    /// Whether the viewer may run a rollback, so sees those links.
    pub(crate) can_roll_back: bool,
}

/// A component with a configured rollback, for the components page's rollback section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackLink {
    /// The component's id (its rollback page's path).
    pub id: String,
    /// The component's name.
    pub name: String,
}

pub(crate) struct ComponentRow {
    pub(crate) name: String,
    /// The id, when it reads differently from the name.
    pub(crate) id: Option<String>,
    pub(crate) old: HealthCell,
    pub(crate) new: HealthCell,
    pub(crate) migration: MigrationCell,
    pub(crate) tests: String,
    pub(crate) tests_note: String,
    pub(crate) perf: String,
    pub(crate) perf_note: &'static str,
    pub(crate) perf_class: &'static str,
    /// Its place, worst first.
    pub(crate) rank: usize,
    /// What put it there.
    pub(crate) why: Vec<String>,
    /// Its datasets, on the live site.
    pub(crate) link: Option<String>,
}

/// One system's health: symbol, word and success rate, with its error rate and p95 under
/// them and every figure in the tooltip.
pub(crate) struct HealthCell {
    pub(crate) badge: Badge,
    pub(crate) rate: String,
    pub(crate) detail: String,
    pub(crate) title: String,
}

pub(crate) struct MigrationCell {
    pub(crate) bar: Option<String>,
    pub(crate) percent: String,
    pub(crate) counts: String,
}

/// A system's health as a badge: ✓ healthy, ⚠ degraded, ✗ failing, — no data.
pub(crate) fn system_badge(h: SystemHealth) -> Badge {
    match h {
        SystemHealth::Healthy => Badge::new("✓", "healthy", "ok"),
        SystemHealth::Degraded => Badge::new("⚠", "degraded", "warn"),
        SystemHealth::Failing => Badge::new("✗", "failing", "bad"),
        SystemHealth::NoData => Badge::new("—", "no data", "mut"),
    }
}

impl ComponentsSection {
    /// The section for these rows, or `None` when there are none; `site` when served by the
    /// live server, whose datasets page the rows link to.
    pub(crate) fn new(components: &[ComponentHealth], site: bool) -> Option<Self> {
        (!components.is_empty()).then(|| ComponentsSection {
            rows: components
                .iter()
                .map(|c| {
                    let mut row = ComponentRow::new(c);
                    if !site {
                        row.link = None;
                    }
                    row
                })
                .collect(),
            rollbacks: Vec::new(),
            can_roll_back: false,
        })
    }
}

impl HealthCell {
    fn new(v: &VersionInfo, system: &str) -> Self {
        let m = &v.metrics;
        let mut detail = Vec::new();
        if let Some(e) = m.error_rate {
            detail.push(format!("{} errors", format::percent(e)));
        }
        if let Some(p) = m.response_time_p95 {
            detail.push(format!("p95 {}", format::duration_ms(Some(p))));
        }
        let mut title = format!(
            "{system} system: {} operations, {} failed",
            thousands(v.operations),
            thousands(v.failures)
        );
        if let Some(e) = m.error_rate {
            title.push_str(&format!(", error rate {}", format::percent(e)));
        }
        if let Some(p) = m.response_time_p95 {
            title.push_str(&format!(", p95 {}", format::duration_ms(Some(p))));
        }
        if let Some(t) = m.throughput.filter(|t| t.is_finite()) {
            title.push_str(&format!(", {} operations/s", throughput(t)));
        }
        HealthCell {
            badge: system_badge(v.health),
            rate: v
                .success_rate
                .map_or_else(String::new, |r| format!(" {}", format::percent(r))),
            detail: detail.join(" · "),
            title,
        }
    }
}

/// Operations per second with enough digits to tell small rates apart: `12.3`, `0.042`.
fn throughput(t: f64) -> String {
    if t >= 10.0 {
        format!("{t:.1}")
    } else if t >= 0.1 {
        format!("{t:.2}")
    } else {
        format!("{t:.4}")
    }
}

impl ComponentRow {
    fn new(c: &ComponentHealth) -> Self {
        let s = &c.migration_status;
        let migration = match (s.percent.filter(|p| p.is_finite()), s.total) {
            (Some(p), Some(total)) => MigrationCell {
                bar: Some(charts::progress_bar(
                    p,
                    &format!("{}: datasets migrated", clip(&c.name, MAX_NAME_CHARS)),
                )),
                percent: whole_percent(p),
                counts: format!("{} / {}", thousands(s.migrated), thousands(total)),
            },
            (_, None) => MigrationCell {
                bar: None,
                percent: DASH.to_owned(),
                counts: format!("{} migrated; total not in the plan", thousands(s.migrated)),
            },
            (None, Some(_)) => MigrationCell {
                bar: None,
                percent: DASH.to_owned(),
                counts: "no datasets".to_owned(),
            },
        };
        let (tests, tests_note) = match (c.tests_passed, c.tests_total) {
            (Some(p), Some(t)) => (
                format!("{}/{}", thousands(p), thousands(t)),
                c.test_coverage
                    .filter(|v| v.is_finite())
                    .map_or_else(|| "no test ran".to_owned(), |v| format!("{v:.1}% pass")),
            ),
            _ => (DASH.to_owned(), "no suites".to_owned()),
        };
        let delta = c
            .performance_metrics
            .delta_percent
            .filter(|d| d.is_finite());
        ComponentRow {
            name: clip(&c.name, MAX_NAME_CHARS),
            id: (!c.component.eq_ignore_ascii_case(&c.name))
                .then(|| clip(&c.component, MAX_NAME_CHARS)),
            old: HealthCell::new(&c.old_version, "old"),
            new: HealthCell::new(&c.new_version, "new"),
            migration,
            tests,
            tests_note,
            perf: signed_percent(delta),
            perf_note: match (c.performance_metrics.regressions, delta) {
                (0, None) => "no benchmarks",
                (1, _) => "regression",
                (_, _) if c.performance_metrics.regressions > 1 => "regressions",
                (_, Some(d)) if d < 0.0 => "faster",
                (_, Some(d)) if d > 0.0 => "no clear change",
                _ => "same",
            },
            perf_class: if c.performance_metrics.regressions > 0 {
                "bad"
            } else {
                ""
            },
            rank: c.rank,
            why: c.why.iter().map(|w| clip(w, MAX_MESSAGE_CHARS)).collect(),
            link: c.explain.link.clone(),
        }
    }
}
