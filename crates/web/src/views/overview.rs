//! The overview's panels: the answers to "are we healthy, how far, when, what is broken, is new
//! better than old" side by side in a grid that uses the width, each with a link to the view
//! that tells more. The live server's `/` shows them; the static dashboard file shows them
//! above its full sections, its links then pointing down the same file.

use askama::Template;
use mhd_core::dashboard::DashboardData;
use mhd_core::format;
use time::UtcOffset;

use super::alerts::AlertsOverview;
use super::components::ComponentsSection;
use super::dashboard::{Cards, ErrorItem, PeriodRow, error_items, over_time};
use super::live::LiveSection;
use super::perf::PerfSection;
use super::summary::{Completion, SummarySection};
use super::testresults::TestsSection;
use super::{MAX_NAME_CHARS, clip, signed_percent};
use crate::paths;

/// Health reasons the status panel lists; the executive summary has them all.
const REASONS_SHOWN: usize = 3;
/// Blockers the status panel lists.
const BLOCKERS_SHOWN: usize = 2;
/// Components the "worst components" panel lists.
const COMPONENTS_SHOWN: usize = 5;
/// Regressions the performance panel lists.
const REGRESSIONS_SHOWN: usize = 4;
/// Test suites the tests panel lists, worst first.
const SUITES_SHOWN: usize = 4;
/// Failed operations the operations panel lists.
const ERRORS_SHOWN: usize = 3;

/// Where each panel's "more" link leads: a page of the live server, or a section further down
/// the static file.
pub(crate) struct Links {
    summary: &'static str,
    datasets: Option<&'static str>,
    forecast: &'static str,
    components: &'static str,
    performance: &'static str,
    tests: &'static str,
    errors: Option<&'static str>,
}

impl Links {
    fn of(site: bool) -> Links {
        if site {
            Links {
                summary: paths::PAGE_SUMMARY,
                datasets: Some(paths::PAGE_DATASETS),
                forecast: "/how#forecast",
                components: paths::PAGE_COMPONENTS,
                performance: paths::PAGE_PERFORMANCE,
                tests: paths::PAGE_TESTS,
                errors: None,
            }
        } else {
            Links {
                summary: "#health",
                datasets: None,
                forecast: "#health",
                components: "#components",
                performance: "#performance",
                tests: "#tests",
                errors: Some("#errors"),
            }
        }
    }
}

/// One operation whose new system is slower.
struct Regression {
    name: String,
    component: Option<String>,
    delta: String,
    p50s: String,
}

/// The overview's panels.
#[derive(Template)]
#[template(path = "overview.html", whitespace = "minimize")]
pub(crate) struct OverviewBoard {
    /// The live server's overview (ids as the pages' contract has them) or the static file.
    site: bool,
    links: Links,
    exec: Option<SummarySection>,
    reasons_hidden: usize,
    blockers_hidden: usize,
    components: Option<ComponentsSection>,
    components_hidden: usize,
    pub(crate) alerts: Option<AlertsOverview>,
    perf: Option<PerfSection>,
    regressions: Vec<Regression>,
    regressions_hidden: usize,
    pub(crate) live: Option<LiveSection>,
    tests: Option<TestsSection>,
    suites_hidden: usize,
    /// The operations' figures, when any is recorded.
    cards: Option<Cards>,
    /// The live server's operations over time (the chart, its note and its table); the static
    /// file has them in a section of their own below the panels.
    over_time: Option<(String, String, Vec<PeriodRow>)>,
    errors: Vec<ErrorItem>,
    /// Nothing recorded and no plan: the panel says how to start.
    empty: bool,
}

impl OverviewBoard {
    /// The panels of `data`; `site` when served by the live server.
    pub(crate) fn new(data: &DashboardData, offset: UtcOffset, site: bool) -> Self {
        let now = data.generated_at;
        let views = data.views.as_ref();
        let mut exec = views.map(|v| {
            SummarySection::new(&v.summary, data.migration.as_ref(), now, offset).with_views(
                &v.summary,
                v.progress.as_ref(),
                site,
            )
        });
        let (mut reasons_hidden, mut blockers_hidden) = (0, 0);
        if let Some(e) = exec.as_mut() {
            reasons_hidden = e.reasons.len().saturating_sub(REASONS_SHOWN);
            e.reasons.truncate(REASONS_SHOWN);
            blockers_hidden = e.blockers.len().saturating_sub(BLOCKERS_SHOWN);
            e.blockers.truncate(BLOCKERS_SHOWN);
        }
        let mut components = views.and_then(|v| ComponentsSection::new(&v.components, site));
        let mut components_hidden = 0;
        if let Some(c) = components.as_mut() {
            components_hidden = c.rows.len().saturating_sub(COMPONENTS_SHOWN);
            c.rows.truncate(COMPONENTS_SHOWN);
        }
        let perf = PerfSection::new(
            &data.performance,
            views.map_or_else(
                || mhd_core::perf::performance_delta(&data.performance),
                |v| v.summary.key_metrics.performance_delta,
            ),
        );
        let mut regressed: Vec<_> = data.performance.iter().filter(|c| c.regression).collect();
        regressed.sort_by(|a, b| {
            b.delta_percent
                .unwrap_or(f64::NEG_INFINITY)
                .total_cmp(&a.delta_percent.unwrap_or(f64::NEG_INFINITY))
        });
        let regressions_hidden = regressed.len().saturating_sub(REGRESSIONS_SHOWN);
        let regressions = regressed
            .into_iter()
            .take(REGRESSIONS_SHOWN)
            .map(|c| Regression {
                name: clip(&c.operation, MAX_NAME_CHARS),
                component: c.component.as_deref().map(|n| clip(n, MAX_NAME_CHARS)),
                delta: signed_percent(c.delta_percent),
                p50s: match (&c.old_system, &c.new_system) {
                    (Some(o), Some(n)) => format!(
                        "p50 {} → {}",
                        format::duration_ms(Some(o.p50)),
                        format::duration_ms(Some(n.p50))
                    ),
                    _ => String::new(),
                },
            })
            .collect();
        let mut tests = data
            .tests
            .as_ref()
            .and_then(|t| TestsSection::new(t, now, offset));
        let mut suites_hidden = 0;
        if let Some(t) = tests.as_mut() {
            suites_hidden = t.suites.len().saturating_sub(SUITES_SHOWN);
            t.suites.truncate(SUITES_SHOWN);
        }
        let s = &data.summary;
        let mut errors = error_items(s, now, offset);
        errors.truncate(ERRORS_SHOWN);
        let empty =
            exec.is_none() && s.overall.total_operations == 0 && tests.is_none() && perf.is_none();
        OverviewBoard {
            empty,
            site,
            links: Links::of(site),
            exec,
            reasons_hidden,
            blockers_hidden,
            components,
            components_hidden,
            alerts: None,
            perf,
            regressions,
            regressions_hidden,
            live: None,
            tests,
            suites_hidden,
            cards: (s.overall.total_operations > 0).then(|| Cards::new(s, now, offset)),
            over_time: (site && s.overall.total_operations > 0)
                .then(|| over_time(&data.over_time, data.bucket_seconds, offset)),
            errors,
        }
    }
}
