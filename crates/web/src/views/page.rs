//! The live server's pages: the overview and one page per view, in the same layout as the
//! static dashboard file plus the site navigation, the live controls and the page's script.

use askama::Template;
use mhd_core::dashboard::DashboardData;
use mhd_core::live::LiveMetrics;
use time::UtcOffset;

use super::components::ComponentsSection;
use super::live::LiveSection;
use super::overview::OverviewBoard;
use super::perf::PerfSection;
use super::range::RangeBar;
use super::summary::SummarySection;
use super::testresults::TestsSection;
use super::timeline::TimelineSection;
use super::viewer::{Page, Viewer};
use super::{MAX_NAME_CHARS, Stamp, ViewError, clip, offset_label, stylesheet};
use crate::paths;

/// One page of the live server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PageKind {
    /// `/`: the answers of every view in panels.
    Overview,
    /// `/summary`: the executive summary.
    Summary,
    /// `/timeline`: the phases.
    Timeline,
    /// `/components`: the component health matrix.
    Components,
    /// `/live`: the live metrics.
    Live,
    /// `/tests`: the test results.
    Tests,
    /// `/performance`: old versus new system.
    Performance,
    /// `/resources`: resource utilization and the collectors' health.
    Resources,
    /// `/alerts`: issues and alerts.
    Alerts,
    /// `/datasets`: every dataset with its state.
    Datasets,
    /// `/how`: how every figure is made.
    How,
}

impl PageKind {
    /// Every page, in the navigation's order.
    pub const ALL: &[PageKind] = &[
        PageKind::Overview,
        PageKind::Summary,
        PageKind::Timeline,
        PageKind::Components,
        PageKind::Live,
        PageKind::Tests,
        PageKind::Performance,
        PageKind::Resources,
        PageKind::Alerts,
        PageKind::Datasets,
        PageKind::How,
    ];

    /// The page's path.
    pub const fn path(self) -> &'static str {
        match self {
            PageKind::Overview => paths::OVERVIEW,
            PageKind::Summary => paths::PAGE_SUMMARY,
            PageKind::Timeline => paths::PAGE_TIMELINE,
            PageKind::Components => paths::PAGE_COMPONENTS,
            PageKind::Live => paths::PAGE_LIVE,
            PageKind::Tests => paths::PAGE_TESTS,
            PageKind::Performance => paths::PAGE_PERFORMANCE,
            PageKind::Resources => paths::PAGE_RESOURCES,
            PageKind::Alerts => paths::PAGE_ALERTS,
            PageKind::Datasets => paths::PAGE_DATASETS,
            PageKind::How => paths::PAGE_HOW,
        }
    }

    /// The page's name in the navigation and its title.
    pub const fn label(self) -> &'static str {
        match self {
            PageKind::Overview => "Overview",
            PageKind::Summary => "Executive summary",
            PageKind::Timeline => "Timeline",
            PageKind::Components => "Components",
            PageKind::Live => "Live metrics",
            PageKind::Tests => "Tests",
            PageKind::Performance => "Performance",
            PageKind::Resources => "Resources",
            PageKind::Alerts => "Alerts",
            PageKind::Datasets => "Datasets",
            PageKind::How => "How figures are made",
        }
    }

    /// Whether the page shows the live metrics (so the server computes them).
    pub const fn needs_live_metrics(self) -> bool {
        matches!(self, PageKind::Overview | PageKind::Live)
    }

    /// Whether the page has charts or lists over time, so it shows the time range picker
    /// ([`super::range`]) and follows the range in its URL (on the live page, the span of its
    /// figures).
    pub const fn takes_range(self) -> bool {
        matches!(
            self,
            PageKind::Overview
                | PageKind::Live
                | PageKind::Tests
                | PageKind::Resources
                | PageKind::Alerts
                | PageKind::Datasets
        )
    }
}

/// What a live page adds to the layout: its script, the site navigation and who looks.
pub(crate) struct LiveChrome {
    /// Who looks: the session strip and the CSRF token of the head.
    pub(crate) viewer: Viewer,
    pub(crate) script: String,
    pub(crate) pages: Vec<NavLink>,
    /// The demo's banner under the navigation ([`super::banner`]), when there is one.
    pub(crate) banner: Option<&'static str>,
    /// Controls of the page's own (such as a time range), as HTML made by this crate with
    /// every user-supplied string escaped: shown first in the header's toolbar, before the
    /// live controls. Empty for none.
    pub(crate) toolbar: String,
}

pub(crate) struct NavLink {
    pub(crate) href: String,
    pub(crate) label: &'static str,
    pub(crate) current: bool,
}

impl LiveChrome {
    pub(crate) fn new(current: PageKind, script_src: &str, viewer: &Viewer) -> Self {
        Self::of(Some(current), script_src, viewer)
    }

    /// The chrome of a page that is none of the navigation's (`current` is `None`).
    fn of(current: Option<PageKind>, script_src: &str, viewer: &Viewer) -> Self {
        LiveChrome {
            viewer: viewer.clone(),
            script: script_src.to_owned(),
            pages: PageKind::ALL
                .iter()
                .map(|&p| NavLink {
                    href: p.path().to_owned(),
                    label: p.label(),
                    current: Some(p) == current,
                })
                .collect(),
            banner: super::banner(),
            toolbar: String::new(),
        }
    }

    /// The chrome with the time range picker in its toolbar, and the range kept by the links
    /// to the other pages that follow one.
    pub(crate) fn with_range(mut self, bar: Option<&super::range::RangeBar>) -> Self {
        let Some(bar) = bar else { return self };
        self.toolbar = bar.html.clone();
        if !bar.query.is_empty() {
            for (link, kind) in self.pages.iter_mut().zip(PageKind::ALL) {
                // The live page's range is the span of its figures, at most a week: a link
                // there starts from its own default.
                if kind.takes_range() && *kind != PageKind::Live {
                    link.href = format!("{}?{}", kind.path(), bar.query);
                }
            }
        }
        self
    }
}

/// Renders the page of a path nothing is at: the site navigation, what was asked for, and a
/// link to the overview. `migration` is the plan's name, when there is a plan.
pub fn render_not_found_page(
    path: &str,
    migration: Option<&str>,
    now: time::OffsetDateTime,
    offset: UtcOffset,
    script_src: &str,
    viewer: &Viewer,
) -> Result<String, ViewError> {
    let heading = match migration {
        Some(n) => format!("Migration Health — {}", clip(n, MAX_NAME_CHARS)),
        None => "mhd — operations".to_owned(),
    };
    let section = format!(
        "<section id=\"not-found\" aria-labelledby=\"not-found-h\">\
         <h2 id=\"not-found-h\">Page not found</h2>\
         <p>Nothing is at <code>{}</code>.</p>\
         <p><a href=\"{}\">Go to the overview</a>, or pick a page above.</p></section>",
        crate::charts::escape(&clip(path, 200)),
        paths::OVERVIEW,
    );
    let page = SectionPage {
        title: format!("Page not found · {heading}"),
        heading,
        name: migration.map(|n| clip(n, MAX_NAME_CHARS)),
        css: stylesheet(),
        generated: Stamp::new(now, now, offset),
        week: None,
        live: Some(LiveChrome::of(None, script_src, viewer)),
        section: Some(section),
        empty: None,
        zone: offset_label(offset),
    };
    Ok(page.render()?)
}

/// Why a page has nothing to show, and how to fill it.
pub(crate) struct Empty {
    pub(crate) heading: &'static str,
    pub(crate) text: &'static str,
    pub(crate) commands: &'static str,
}

/// A page of one view.
#[derive(Template)]
#[template(path = "page.html", whitespace = "minimize")]
struct SectionPage {
    title: String,
    heading: String,
    /// The migration's name, which the heading ends with; a phone shows only it.
    name: Option<String>,
    css: String,
    generated: Stamp,
    week: Option<String>,
    live: Option<LiveChrome>,
    section: Option<String>,
    empty: Option<Empty>,
    zone: String,
}

const NO_PLAN: Empty = Empty {
    heading: "No migration plan",
    text: "This view follows a migration plan. Write one, adjust it, then start the server with it:",
    commands: "mhd init\nmhd check\nmhd serve",
};

/// Renders the overview: the answers of every view in panels, each linking to its page; the
/// live figures when `live` is given, and the firing alerts when `alerts` is given; as
/// `viewer` sees it.
pub fn render_overview_page(
    data: &DashboardData,
    live: Option<&LiveMetrics>,
    alerts: Option<super::alerts::FiringCounts>,
    offset: UtcOffset,
    script_src: &str,
    bar: Option<&RangeBar>,
    viewer: &Viewer,
) -> Result<Page, ViewError> {
    let mut board = OverviewBoard::new(data, offset, true);
    board.live = live.map(|m| {
        let mut s = LiveSection::new(m, offset);
        s.more = Some(paths::PAGE_LIVE);
        s
    });
    board.alerts =
        alerts.map(|c| super::alerts::AlertsOverview::new(&c, data.generated_at, offset));
    frame(
        PageKind::Overview,
        data.migration
            .as_ref()
            .map(|m| (m.name.as_str(), m.week, m.weeks)),
        data.generated_at,
        offset,
        LiveChrome::new(PageKind::Overview, script_src, viewer).with_range(bar),
        Some(board.render()?),
        None,
    )
}

/// Renders a page of the live server: the same sections as the static dashboard file, with the
/// site navigation, the live controls and `<script src="{script_src}" defer>`. `live` is needed
/// by the overview and the live metrics page; without it they omit the live figures. `bar` is
/// the time range picker of a page that takes a range. The page is as `viewer` sees it;
/// `rollbacks` are the components whose rollback the plan configures, which the components
/// page links to for those who may run one.
#[allow(clippy::too_many_arguments)]
pub fn render_live_page(
    kind: PageKind,
    data: &DashboardData,
    live: Option<&LiveMetrics>,
    offset: UtcOffset,
    script_src: &str,
    bar: Option<&RangeBar>,
    viewer: &Viewer,
    rollbacks: &[super::RollbackLink],
) -> Result<Page, ViewError> {
    if kind == PageKind::Overview {
        return render_overview_page(data, live, None, offset, script_src, bar, viewer);
    }
    let chrome = LiveChrome::new(kind, script_src, viewer).with_range(bar);
    let now = data.generated_at;
    let views = data.views.as_ref();
    let (section, empty) = match kind {
        PageKind::Overview => (None, None),
        PageKind::Summary => match views {
            Some(v) => (
                Some(
                    SummarySection::new(&v.summary, data.migration.as_ref(), now, offset)
                        .with_views(&v.summary, v.progress.as_ref(), true)
                        .render()?,
                ),
                None,
            ),
            None => (None, Some(NO_PLAN)),
        },
        PageKind::Timeline => match views {
            Some(v) => match TimelineSection::new(&v.summary, &v.timeline) {
                Some(s) => (Some(s.render()?), None),
                None => (
                    None,
                    Some(Empty {
                        heading: "No phases to draw",
                        text: "The plan has no phase with dates yet. Add phases to the plan and check it:",
                        commands: "mhd check",
                    }),
                ),
            },
            None => (None, Some(NO_PLAN)),
        },
        PageKind::Components => match views {
            Some(v) => match ComponentsSection::new(&v.components, true) {
                Some(mut s) => {
                    s.rollbacks = rollbacks.to_vec();
                    s.can_roll_back = viewer.can_admin;
                    (Some(s.render()?), None)
                }
                None => (
                    None,
                    Some(Empty {
                        heading: "No components in the plan",
                        text: "The matrix lists the plan's components. Add them to the plan and check it:",
                        commands: "mhd check",
                    }),
                ),
            },
            None => (None, Some(NO_PLAN)),
        },
        PageKind::Live => match live {
            Some(m) => {
                let s = LiveSection::new(m, offset);
                let s = match bar.filter(|b| !b.query.is_empty()) {
                    Some(_) => s.over_chosen_span(m, now),
                    None => s,
                };
                (Some(s.render()?), None)
            }
            None => (
                None,
                Some(Empty {
                    heading: "No live figures",
                    text: "The live figures come from the operations recorded in the last minutes. Record one:",
                    commands: "mhd record --type migration --operation migrate --dataset sales",
                }),
            ),
        },
        PageKind::Tests => match data
            .tests
            .as_ref()
            .and_then(|t| TestsSection::new(t, now, offset))
        {
            Some(s) => (Some(s.render()?), None),
            None => (
                None,
                Some(Empty {
                    heading: "No test runs recorded yet",
                    text: "Test results appear once a JUnit XML report is loaded, as one run of a suite:",
                    commands: "mhd ingest junit report.xml --suite unit",
                }),
            ),
        },
        PageKind::Performance => {
            let median = views.map_or_else(
                || mhd_core::perf::performance_delta(&data.performance),
                |v| v.summary.key_metrics.performance_delta,
            );
            match PerfSection::new(&data.performance, median) {
                Some(s) => (Some(s.render()?), None),
                None => (
                    None,
                    Some(Empty {
                        heading: "No benchmarks recorded yet",
                        text: "The comparison appears once benchmarks of both systems are loaded, such as hyperfine's --export-json files:",
                        commands: "mhd ingest bench old.json --system old\nmhd ingest bench new.json --system new",
                    }),
                ),
            }
        }
        // Its figures come from samples, which `data` does not carry: see
        // `render_resources_page`.
        PageKind::Resources => (None, Some(super::resources::NO_SAMPLES)),
        // The alerts come from the alert store, which `data` does not carry: see
        // `render_alerts_page`.
        PageKind::Alerts => (None, Some(super::alerts::NO_ALERTS)),
        // Rendered by their own functions: see `render_datasets_page`, `render_how_page`.
        PageKind::Datasets | PageKind::How => (None, None),
    };
    frame(
        kind,
        data.migration
            .as_ref()
            .map(|m| (m.name.as_str(), m.week, m.weeks)),
        now,
        offset,
        chrome,
        section,
        empty,
    )
}

/// A page of one view around its rendered section (or why it is empty): the header with the
/// migration's name and `(name, week, weeks)` when there is a plan, the site navigation, the
/// live controls and the footer.
pub(crate) fn frame(
    kind: PageKind,
    migration: Option<(&str, i64, u32)>,
    now: time::OffsetDateTime,
    offset: UtcOffset,
    chrome: LiveChrome,
    section: Option<String>,
    empty: Option<Empty>,
) -> Result<Page, ViewError> {
    let heading = match migration {
        Some((n, _, _)) => format!("Migration Health — {}", clip(n, MAX_NAME_CHARS)),
        None => "mhd — operations".to_owned(),
    };
    let viewer = &chrome.viewer.clone();
    let page = SectionPage {
        title: format!("{} · {heading}", kind.label()),
        heading,
        name: migration.map(|(n, _, _)| clip(n, MAX_NAME_CHARS)),
        css: stylesheet(),
        generated: Stamp::new(now, now, offset),
        week: migration.map(|(_, week, weeks)| super::summary::week_words(week, weeks)),
        live: Some(chrome),
        section,
        empty,
        zone: offset_label(offset),
    };
    Page::render(&page, viewer)
}
