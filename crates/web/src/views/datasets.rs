//! The datasets page (`/datasets`): every dataset with its state, component, last operation and
//! history, filterable by state and component — what every "migrated", "failed" or "rolled
//! back" figure leads to — and the page "How these numbers are made" (`/how`), written from
//! the same rule texts as the figures' explanations ([`mhd_core::model::RULES`]).

use askama::Template;
use mhd_core::Operation;
use mhd_core::datasets::{DatasetBook, DatasetState};
use mhd_core::model::{RULES, Rule};
use time::{OffsetDateTime, UtcOffset};

use super::page::{LiveChrome, PageKind, frame};
use super::viewer::{Page, Viewer};
use super::{Badge, MAX_MESSAGE_CHARS, MAX_NAME_CHARS, Stamp, ViewError, clip, thousands};

/// Most datasets listed on the page; the rest are counted (the API lists them all).
pub const MAX_ROWS: usize = 1000;
/// Operations shown in a dataset's history.
pub const HISTORY_ROWS: u32 = 50;

/// What the page was asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatasetsQuery {
    /// Only this state (`migrated` includes `verified`).
    pub state: Option<DatasetState>,
    /// Only this component.
    pub component: Option<String>,
    /// The dataset whose history is shown.
    pub name: Option<String>,
}

impl DatasetsQuery {
    /// The query string of a page with these filters (and no history).
    pub fn href(state: Option<DatasetState>, component: Option<&str>) -> String {
        let mut pairs = Vec::new();
        if let Some(s) = state {
            pairs.push(format!("state={}", s.as_str()));
        }
        if let Some(c) = component {
            pairs.push(format!("component={}", encode(c)));
        }
        if pairs.is_empty() {
            crate::paths::PAGE_DATASETS.to_owned()
        } else {
            format!("{}?{}", crate::paths::PAGE_DATASETS, pairs.join("&"))
        }
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A state as a badge.
pub(crate) fn state_badge(s: DatasetState) -> Badge {
    match s {
        DatasetState::Pending => Badge::new("○", "pending", "mut"),
        DatasetState::Migrating => Badge::new("◐", "migrating", ""),
        DatasetState::Failed => Badge::new("✗", "failed", "bad"),
        DatasetState::Migrated => Badge::new("✓", "migrated", "ok"),
        DatasetState::Verified => Badge::new("✓", "verified", "ok"),
        DatasetState::RolledBack => Badge::new("↺", "rolled back", "warn"),
    }
}

struct CountChip {
    href: String,
    badge: Badge,
    count: String,
    current: bool,
}

struct Row {
    name: String,
    history: String,
    planned: bool,
    component: String,
    state: Badge,
    in_flight: bool,
    last_operation: String,
    last_seen: Option<Stamp>,
    last_migrated: Option<Stamp>,
}

struct HistoryRow {
    at: Stamp,
    kind: String,
    operation: String,
    system: String,
    result: Badge,
    error: String,
}

struct History {
    name: String,
    rows: Vec<HistoryRow>,
    /// Whether the rows are those of a chosen time range.
    ranged: bool,
}

#[derive(Template)]
#[template(path = "datasets.html", whitespace = "minimize")]
struct DatasetsSection {
    summary: String,
    state: Option<DatasetState>,
    all_link: String,
    total_shown: String,
    counts: Vec<CountChip>,
    state_options: Vec<(&'static str, bool)>,
    component_options: Vec<(String, String, bool)>,
    rows: Vec<Row>,
    hidden: usize,
    api_link: String,
    history: Option<History>,
}

#[derive(Template)]
#[template(path = "how.html", whitespace = "minimize")]
struct HowSection {
    rules: &'static [Rule],
}

/// Renders `/datasets` as `viewer` sees it. `components` are the plan's (id, name); `history` the operations of
/// the dataset the query names, newest first.
#[allow(clippy::too_many_arguments)]
pub fn render_datasets_page(
    book: &DatasetBook,
    components: &[(String, String)],
    query: &DatasetsQuery,
    history: Option<&[Operation]>,
    migration: Option<(&str, i64, u32)>,
    now: OffsetDateTime,
    offset: UtcOffset,
    script_src: &str,
    bar: Option<&super::range::RangeBar>,
    viewer: &Viewer,
) -> Result<String, ViewError> {
    let component = query.component.as_deref();
    let matching: Vec<_> = book.filter(query.state, component).collect();
    let name_of = |id: &str| {
        components
            .iter()
            .find(|(c, _)| c == id)
            .map_or_else(|| id.to_owned(), |(_, n)| n.clone())
    };
    let states = match component {
        Some(c) => book.component(c).map(|cd| cd.states).unwrap_or_default(),
        None => book.states,
    };
    let counts = DatasetState::ALL
        .iter()
        .map(|&s| CountChip {
            href: DatasetsQuery::href(Some(s), component),
            badge: state_badge(s),
            count: thousands(states.get(s)),
            current: query.state == Some(s),
        })
        .collect();
    let total = match (component, book.total) {
        (Some(c), _) => book.component(c).and_then(|cd| cd.total),
        (None, t) => t,
    };
    let scope = component.map_or_else(
        || "the migration".to_owned(),
        |c| format!("component {}", clip(&name_of(c), MAX_NAME_CHARS)),
    );
    let summary = match total {
        Some(t) => format!(
            "{} of the {} datasets the plan counts for {scope} are migrated ({} verified); \
             the plan's datasets not seen in any operation yet count as pending.",
            thousands(states.migrated_total()),
            thousands(t),
            thousands(states.verified),
        ),
        None => format!(
            "{} datasets seen for {scope}, {} migrated; the plan gives no total for it, so no \
             percentage is made.",
            thousands(states.total()),
            thousands(states.migrated_total()),
        ),
    };
    let rows: Vec<Row> = matching
        .iter()
        .take(MAX_ROWS)
        .map(|r| Row {
            name: clip(&r.name, MAX_NAME_CHARS),
            history: format!("{}?name={}", crate::paths::PAGE_DATASETS, encode(&r.name)),
            planned: r.planned,
            component: r
                .component
                .as_deref()
                .map_or_else(|| "—".to_owned(), |c| clip(&name_of(c), MAX_NAME_CHARS)),
            state: state_badge(r.state),
            in_flight: r.in_flight,
            last_operation: r
                .last_operation
                .as_deref()
                .map_or_else(|| "none yet".to_owned(), |t| clip(t, MAX_NAME_CHARS)),
            last_seen: r.last_seen.map(|t| Stamp::new(t, now, offset)),
            last_migrated: r.last_migrated.map(|t| Stamp::new(t, now, offset)),
        })
        .collect();
    let history = match (&query.name, history) {
        (Some(name), Some(ops)) => Some(History {
            name: clip(name, MAX_NAME_CHARS),
            ranged: bar.is_some_and(|b| !b.query.is_empty()),
            rows: ops
                .iter()
                .map(|o| HistoryRow {
                    at: Stamp::new(o.op.timestamp, now, offset),
                    kind: clip(&o.op.metric_type, MAX_NAME_CHARS),
                    operation: clip(&o.op.operation, MAX_NAME_CHARS),
                    system: o.op.system.map_or("—", |s| s.as_str()).to_owned(),
                    result: if o.op.success {
                        Badge::new("✓", "succeeded", "ok")
                    } else {
                        Badge::new("✗", "failed", "bad")
                    },
                    error: o
                        .op
                        .error_message
                        .as_deref()
                        .map(|e| clip(e, MAX_MESSAGE_CHARS))
                        .unwrap_or_default(),
                })
                .collect(),
        }),
        _ => None,
    };
    let mut api_link = format!("{}/datasets", crate::paths::API);
    let filters = DatasetsQuery::href(query.state, component);
    if let Some((_, q)) = filters.split_once('?') {
        api_link.push('?');
        api_link.push_str(q);
    }
    let section = DatasetsSection {
        summary,
        state: query.state,
        all_link: DatasetsQuery::href(None, component),
        total_shown: thousands(states.total()),
        counts,
        state_options: DatasetState::ALL
            .iter()
            .map(|s| (s.as_str(), query.state == Some(*s)))
            .collect(),
        component_options: components
            .iter()
            .map(|(id, name)| {
                (
                    id.clone(),
                    clip(name, MAX_NAME_CHARS),
                    component == Some(id.as_str()),
                )
            })
            .collect(),
        hidden: matching.len().saturating_sub(MAX_ROWS),
        rows,
        api_link,
        history,
    };
    frame(
        PageKind::Datasets,
        migration,
        now,
        offset,
        LiveChrome::new(PageKind::Datasets, script_src, viewer).with_range(bar),
        Some(section.render()?),
        None,
    )
    .map(Page::into_html)
}

/// Renders `/how`: every figure's rule.
pub fn render_how_page(
    migration: Option<(&str, i64, u32)>,
    now: OffsetDateTime,
    offset: UtcOffset,
    script_src: &str,
    viewer: &Viewer,
) -> Result<String, ViewError> {
    frame(
        PageKind::How,
        migration,
        now,
        offset,
        LiveChrome::new(PageKind::How, script_src, viewer),
        Some(HowSection { rules: RULES }.render()?),
        None,
    )
    .map(Page::into_html)
}
