//! The resource utilization page (DESIGN §3.8): CPU, memory, disk and network with their
//! latest values and a chart of the last hour, database connections, the top consumers, the
//! same figures per component, and the collectors' health.
//!
//! Rules, so a user can tell why the page says what it says:
//! - the latest figures are those of `GET /api/v1/resources`: each series' newest sample of
//!   the last [`LATEST_LOOKBACK`], combined by the rules of [`mhd_core::sample`]; a figure
//!   without such a sample shows "—", never 0;
//! - the charts cover the last [`CHART_SPAN`] in [`CHART_BUCKETS`] buckets drawn by
//!   [`mhd_core::sample::history`]; a bucket without a sample is skipped, the line joining its
//!   neighbours, and a gap of more than [`MAX_JOINED_GAP`] buckets breaks the line;
//! - a collector is up when its last run succeeded, down when it failed, and "not run yet"
//!   before its first run ends.

use askama::Template;
use mhd_core::alerts::CollectorHealth;
use mhd_core::plan::Plan;
use mhd_core::sample::{self, ResourceMetrics, Sample};
use time::{Duration, OffsetDateTime, UtcOffset};

use super::page::{Empty, LiveChrome, PageKind, frame};
use super::viewer::{Page, Viewer};
use super::{Badge, DASH, MAX_MESSAGE_CHARS, MAX_NAME_CHARS, Stamp, ViewError, clip, thousands};
use crate::charts::{self, LineChart, LineStyle, Series, Size, Unit};

/// How far back a series' newest sample still counts as current, on the page and in
/// `GET /api/v1/resources`: a series without a sample in this window has no figure.
pub const LATEST_LOOKBACK: Duration = Duration::minutes(5);
/// The span the charts cover.
pub const CHART_SPAN: Duration = Duration::hours(1);
/// Points of each chart: one a minute.
pub const CHART_BUCKETS: usize = 60;
/// The longest run of empty buckets a chart's line is drawn across.
pub const MAX_JOINED_GAP: usize = 5;

/// The metrics the charts draw.
pub const CHART_METRICS: [&str; 9] = [
    "cpu_percent",
    "memory_percent",
    "memory_used_bytes",
    "disk_read_bytes_per_second",
    "disk_write_bytes_per_second",
    "network_in_bytes_per_second",
    "network_out_bytes_per_second",
    "db_connections_active",
    "db_queries_per_second",
];

/// Everything the resource page shows, read at one moment.
#[derive(Debug, Clone)]
pub struct ResourcesData {
    /// When it was read.
    pub now: OffsetDateTime,
    /// The latest figures.
    pub metrics: ResourceMetrics,
    /// The span the charts cover, ending at `end`: [`CHART_SPAN`] unless a range was asked
    /// for.
    pub span: Duration,
    /// Where the charts end: `now` unless a range ending earlier was asked for.
    pub end: OffsetDateTime,
    /// The charted metrics' samples of the span: the raw samples of [`CHART_SPAN`], or for a
    /// longer span one sample per series and bucket holding the bucket's mean, read from the
    /// aggregates retention keeps.
    pub history: Vec<Sample>,
    /// The collectors' health, in the plan's order.
    pub collectors: Vec<CollectorHealth>,
    /// Each git collector's burndown chart (its name, the SVG), in the plan's order.
    pub burndowns: Vec<(String, String)>,
    /// The newest errors the log collectors read, newest first (None without a logs
    /// collector).
    pub log_errors: Option<Vec<mhd_core::alerts::LogErrorRecord>>,
    /// The metrics charted besides [`CHART_METRICS`] (their samples are in `history`): the
    /// plan's Prometheus queries and every other metric with samples in the span, by name,
    /// at most [`MAX_OTHER_METRICS`].
    pub others: Vec<String>,
    /// The plan's Prometheus queries: (name, PromQL).
    pub queries: Vec<(String, String)>,
}

/// The metrics the page shows as figures or in its tables without a chart of their own: not
/// charted again among the other series (unless a Prometheus query of the plan is named so).
pub const SHOWN_AS_FIGURES: [&str; 8] = [
    "cpu_cores_used",
    "memory_available_bytes",
    "disk_used_bytes",
    "disk_free_bytes",
    "db_connections_idle",
    "db_pool_size",
    "process_cpu_percent",
    "process_memory_bytes",
];

/// The most metrics charted besides the resource metrics.
pub const MAX_OTHER_METRICS: usize = 24;

/// The most charts of other series (one per series of those metrics).
pub const MAX_OTHER_CHARTS: usize = 36;

/// Recent log errors the page lists.
pub const LOG_ERRORS_SHOWN: u32 = 20;

impl ResourcesData {
    /// Whether any sample is current or charted.
    fn has_samples(&self) -> bool {
        let m = &self.metrics;
        let figures = [
            m.cpu.usage_percent,
            m.cpu.cores_used,
            m.memory.used_gb,
            m.memory.available_gb,
            m.memory.percent,
            m.disk.read_mb_s,
            m.disk.write_mb_s,
            m.disk.used_gb,
            m.disk.free_gb,
            m.network.in_mb_s,
            m.network.out_mb_s,
            m.database.connections_active,
            m.database.connections_idle,
            m.database.queries_per_sec,
            m.database.pool_size,
        ];
        !self.history.is_empty()
            || figures.iter().any(Option::is_some)
            || !m.top_consumers.is_empty()
    }
}

/// The longest span a chart or `GET /api/v1/resources/history` covers.
pub const MAX_SPAN: Duration = Duration::days(400);

/// Reads a `range` parameter: a span such as `1h`, `7d` or `90d`, from a minute to
/// [`MAX_SPAN`].
pub fn parse_range(v: &str) -> Result<Duration, String> {
    let span = mhd_core::time_parse::parse_duration(v)?;
    if span < Duration::minutes(1) || span > MAX_SPAN {
        return Err(format!(
            "{v:?} is not a span from 1m to {}d",
            MAX_SPAN.whole_days()
        ));
    }
    Ok(span)
}

/// The resource page's empty state where no samples were given.
pub(crate) const NO_SAMPLES: Empty = Empty {
    heading: "No samples yet",
    text: "Resource figures come from samples. Start a host collector in the plan, or push samples to the API:",
    commands: "[[collectors.host]]\ninterval = \"15s\"\n\ncurl -X POST localhost:8000/api/v1/samples \\\n  -H 'Content-Type: application/json' \\\n  -d '[{\"metric\": \"cpu_percent\", \"value\": 42}]'",
};

/// One headline figure with its chart.
struct Panel {
    id: &'static str,
    title: &'static str,
    value: String,
    note: String,
    bar: Option<String>,
    chart: String,
}

struct ConsumerRow {
    rank: usize,
    name: String,
    cpu: String,
    memory: String,
}

struct ComponentRow {
    name: String,
    cpu: String,
    memory: String,
    memory_used: String,
    disk: String,
    network: String,
    connections: String,
}

/// One error a log collector read.
struct LogErrorRow {
    at: Stamp,
    level: String,
    message: String,
    file: String,
}

struct CollectorRow {
    name: String,
    kind: String,
    status: Badge,
    last_success: Option<Stamp>,
    duration: String,
    error: Option<String>,
}

/// The resource section of a page.
#[derive(Template)]
#[template(path = "resources.html", whitespace = "minimize")]
pub(crate) struct ResourcesSection {
    as_of: Stamp,
    has_samples: bool,
    empty: Empty,
    panels: Vec<Panel>,
    db_active: String,
    db_idle: String,
    db_pool: String,
    db_usage: String,
    db_usage_bar: Option<String>,
    db_queries: String,
    db_chart: String,
    queries_chart: String,
    consumers: Vec<ConsumerRow>,
    components: Vec<ComponentRow>,
    collectors: Vec<CollectorRow>,
    burndowns: Vec<(String, String)>,
    log_errors: Option<Vec<LogErrorRow>>,
    others: Vec<OtherChart>,
    others_hidden: usize,
}

/// One series of a metric other than the resource metrics, with its chart.
struct OtherChart {
    title: String,
    value: String,
    note: String,
    chart: String,
}

/// The charts of the other metrics' series (at most [`MAX_OTHER_CHARTS`]), and how many
/// series did not fit.
fn other_charts(d: &ResourcesData, offset: UtcOffset) -> (Vec<OtherChart>, usize) {
    let since = d.end - d.span;
    let until = d.end + Duration::microseconds(1);
    let mut out = Vec::new();
    let mut hidden = 0;
    for metric in &d.others {
        let mut series: std::collections::BTreeMap<String, Vec<Sample>> = Default::default();
        for s in d.history.iter().filter(|s| &s.metric == metric) {
            series
                .entry(sample::series_key(s))
                .or_default()
                .push(s.clone());
        }
        let query = d.queries.iter().find(|(name, _)| name == metric);
        let source = match query {
            Some((_, promql)) => format!("Prometheus query {}", clip(promql, MAX_MESSAGE_CHARS)),
            None => "samples pushed or collected".to_owned(),
        };
        if series.is_empty() {
            if out.len() >= MAX_OTHER_CHARTS {
                hidden += 1;
                continue;
            }
            out.push(OtherChart {
                title: clip(metric, MAX_NAME_CHARS),
                value: DASH.to_owned(),
                note: source,
                chart: format!(
                    r#"<p class="note">No samples in {}.</p>"#,
                    span_words(d.span)
                ),
            });
            continue;
        }
        for samples in series.values() {
            if out.len() >= MAX_OTHER_CHARTS {
                hidden += 1;
                continue;
            }
            let first = &samples[0];
            let mut title = metric.clone();
            if let Some(c) = &first.component {
                title.push_str(" · ");
                title.push_str(c);
            }
            if !first.labels.is_empty() {
                let labels: Vec<String> = first
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                title.push_str(&format!(" {{{}}}", labels.join(", ")));
            }
            let unit = samples.iter().rev().find_map(|s| s.unit.clone());
            let shown_unit = unit.as_deref().map(|u| format!(" {u}")).unwrap_or_default();
            let points = sample::history(samples, metric, since, until, CHART_BUCKETS);
            let latest = points.iter().rev().flatten().next().copied();
            let title = clip(&title, MAX_NAME_CHARS);
            out.push(OtherChart {
                value: fig(latest, 2, &shown_unit),
                note: source.clone(),
                chart: line_chart(
                    &title,
                    &[(metric.as_str(), points, LineStyle::Area)],
                    Unit::Other(unit.as_deref().unwrap_or("")),
                    None,
                    (d.end, d.span, offset),
                ),
                title,
            });
        }
    }
    (out, hidden)
}

/// A figure with `decimals` decimals and its unit, or [`DASH`].
fn fig(v: Option<f64>, decimals: usize, unit: &str) -> String {
    match v.filter(|v| v.is_finite()) {
        Some(v) => format!("{v:.decimals$}{unit}"),
        None => DASH.to_owned(),
    }
}

/// A count with thousands separators, or [`DASH`].
fn count(v: Option<f64>) -> String {
    v.filter(|v| v.is_finite())
        .map_or(DASH.to_owned(), |v| thousands(v.round().max(0.0) as u64))
}

/// Megabytes as memory is read: `2.0 GB`, `512 MB`.
fn megabytes(mb: Option<f64>) -> String {
    match mb.filter(|v| v.is_finite()) {
        Some(mb) if mb >= 1024.0 => format!("{:.1} GB", mb / 1024.0),
        Some(mb) => format!("{mb:.0} MB"),
        None => DASH.to_owned(),
    }
}

/// "the last hour", "the last 6 hours", "the last 90 days".
fn span_words(d: Duration) -> String {
    super::last_span_words(d.as_seconds_f64())
}

/// One series of a resource chart: its name, its buckets ([`sample::history`]) and how it
/// is drawn.
type Buckets<'a> = (&'a str, Vec<Option<f64>>, LineStyle);

/// A chart of the span ending `now` drawn by [`charts::line_chart`]: each bucket's value at
/// the bucket's end, a line joined across at most [`MAX_JOINED_GAP`] empty buckets, with its
/// table of figures for screen readers.
fn line_chart(
    title: &str,
    series: &[Buckets<'_>],
    unit: Unit<'_>,
    top: Option<f64>,
    (now, span, offset): (OffsetDateTime, Duration, UtcOffset),
) -> String {
    let end = now.unix_timestamp();
    let start = (now - span).unix_timestamp();
    let width = span.whole_seconds() as f64 / CHART_BUCKETS as f64;
    let points: Vec<Vec<(i64, f64)>> = series
        .iter()
        .map(|(_, buckets, _)| {
            buckets
                .iter()
                .enumerate()
                .filter_map(|(i, v)| {
                    v.map(|v| (start + ((i + 1) as f64 * width).round() as i64, v))
                })
                .collect()
        })
        .collect();
    let series: Vec<Series<'_>> = series
        .iter()
        .zip(&points)
        .map(|((name, _, style), points)| Series {
            name,
            points,
            style: *style,
            step: false,
        })
        .collect();
    let empty = format!("No samples in {}", span_words(span));
    charts::line_chart(&LineChart {
        title,
        unit,
        start,
        end,
        offset,
        series: &series,
        top,
        max_gap: ((MAX_JOINED_GAP + 1) as f64 * width).ceil() as i64,
        size: Size::Panel,
        empty_text: &empty,
    })
    .html()
}

impl ResourcesSection {
    pub(crate) fn new(d: &ResourcesData, offset: UtcOffset) -> Self {
        let m = &d.metrics;
        let span = d.span;
        let since = d.end - span;
        let until = d.end + Duration::microseconds(1);
        let hist = |metric: &str| -> Vec<Option<f64>> {
            sample::history(&d.history, metric, since, until, CHART_BUCKETS)
        };
        let at = (d.end, span, offset);
        let area = LineStyle::Area;
        let dashed = LineStyle::Dashed;
        let cpu_bar = m
            .cpu
            .usage_percent
            .filter(|v| v.is_finite())
            .map(|p| charts::progress_bar(p, "CPU in use"));
        let mem_bar = m
            .memory
            .percent
            .filter(|v| v.is_finite())
            .map(|p| charts::progress_bar(p, "Memory in use"));
        // Memory's chart: the share in use when sampled, else the bytes in use.
        let mem_percent = hist("memory_percent");
        let mem_chart = if mem_percent.iter().any(Option::is_some) {
            line_chart(
                "Memory in use",
                &[("in use", mem_percent, area)],
                Unit::Percent,
                Some(100.0),
                at,
            )
        } else {
            line_chart(
                "Memory in use",
                &[("used", hist("memory_used_bytes"), area)],
                Unit::Bytes,
                None,
                at,
            )
        };
        let total = match (m.memory.used_gb, m.memory.available_gb) {
            (Some(u), Some(a)) => format!("{u:.1} GB used of {:.1} GB", u + a),
            (Some(u), None) => format!("{u:.1} GB used"),
            (None, Some(a)) => format!("{a:.1} GB available"),
            (None, None) => "no memory sample in the last 5 minutes".to_owned(),
        };
        let net_total = match (m.network.in_mb_s, m.network.out_mb_s) {
            (Some(i), Some(o)) => format!("total {:.1} MB/s", i + o),
            _ => "received and sent per second".to_owned(),
        };
        let disk_space = match (m.disk.used_gb, m.disk.free_gb) {
            (Some(u), Some(f)) => format!("{u:.1} GB used, {f:.1} GB free"),
            (Some(u), None) => format!("{u:.1} GB used"),
            (None, Some(f)) => format!("{f:.1} GB free"),
            (None, None) => "read and written per second".to_owned(),
        };
        let panels = vec![
            Panel {
                id: "cpu",
                title: "CPU",
                value: fig(m.cpu.usage_percent, 1, "%"),
                note: match m.cpu.cores_used {
                    Some(c) if c.is_finite() => format!("{c:.1} cores busy"),
                    _ => "busy share of all cores".to_owned(),
                },
                bar: cpu_bar,
                chart: line_chart(
                    "CPU in use",
                    &[("CPU", hist("cpu_percent"), area)],
                    Unit::Percent,
                    Some(100.0),
                    at,
                ),
            },
            Panel {
                id: "memory",
                title: "Memory",
                value: fig(m.memory.percent, 1, "%"),
                note: total,
                bar: mem_bar,
                chart: mem_chart,
            },
            Panel {
                id: "disk",
                title: "Disk I/O",
                value: format!(
                    "R {} · W {}",
                    fig(m.disk.read_mb_s, 1, ""),
                    fig(m.disk.write_mb_s, 1, " MB/s")
                ),
                note: disk_space,
                bar: None,
                chart: line_chart(
                    "Disk I/O",
                    &[
                        ("read", hist("disk_read_bytes_per_second"), area),
                        ("write", hist("disk_write_bytes_per_second"), dashed),
                    ],
                    Unit::BytesPerSecond,
                    None,
                    at,
                ),
            },
            Panel {
                id: "network",
                title: "Network",
                value: format!(
                    "In {} · Out {}",
                    fig(m.network.in_mb_s, 1, ""),
                    fig(m.network.out_mb_s, 1, " MB/s")
                ),
                note: net_total,
                bar: None,
                chart: line_chart(
                    "Network",
                    &[
                        ("in", hist("network_in_bytes_per_second"), area),
                        ("out", hist("network_out_bytes_per_second"), dashed),
                    ],
                    Unit::BytesPerSecond,
                    None,
                    at,
                ),
            },
        ];
        let db = &m.database;
        let components = m
            .components
            .iter()
            .map(|c| ComponentRow {
                name: clip(&c.component, MAX_NAME_CHARS),
                cpu: fig(c.cpu.usage_percent, 1, "%"),
                memory: fig(c.memory.percent, 1, "%"),
                memory_used: fig(c.memory.used_gb, 1, " GB"),
                disk: match (c.disk.read_mb_s, c.disk.write_mb_s) {
                    (None, None) => DASH.to_owned(),
                    (r, w) => format!("{} / {}", fig(r, 1, ""), fig(w, 1, " MB/s")),
                },
                network: match (c.network.in_mb_s, c.network.out_mb_s) {
                    (None, None) => DASH.to_owned(),
                    (i, o) => format!("{} / {}", fig(i, 1, ""), fig(o, 1, " MB/s")),
                },
                connections: count(c.database.connections_active),
            })
            .collect();
        let (others, others_hidden) = other_charts(d, offset);
        ResourcesSection {
            as_of: Stamp::new(d.now, d.now, offset),
            has_samples: d.has_samples(),
            empty: NO_SAMPLES,
            panels,
            db_active: match (db.connections_active, db.pool_size) {
                (Some(_), Some(p)) if p.is_finite() => {
                    format!("{} / {}", count(db.connections_active), count(Some(p)))
                }
                _ => count(db.connections_active),
            },
            db_idle: count(db.connections_idle),
            db_pool: count(db.pool_size),
            db_usage: fig(db.pool_usage.map(|u| u * 100.0), 1, "%"),
            db_usage_bar: db
                .pool_usage
                .filter(|u| u.is_finite())
                .map(|u| charts::progress_bar(u * 100.0, "Connection pool in use")),
            db_queries: match db.queries_per_sec.filter(|v| v.is_finite()) {
                Some(q) if q < 100.0 => format!("{q:.1}"),
                q => count(q),
            },
            db_chart: line_chart(
                "Active connections",
                &[("active", hist("db_connections_active"), area)],
                Unit::Count,
                None,
                at,
            ),
            queries_chart: line_chart(
                "Queries per second",
                &[("queries/s", hist("db_queries_per_second"), area)],
                Unit::Count,
                None,
                at,
            ),
            consumers: m
                .top_consumers
                .iter()
                .enumerate()
                .map(|(i, c)| ConsumerRow {
                    rank: i + 1,
                    name: clip(&c.name, MAX_NAME_CHARS),
                    cpu: fig(c.cpu_percent, 1, "%"),
                    memory: megabytes(c.memory_mb),
                })
                .collect(),
            components,
            collectors: d
                .collectors
                .iter()
                .map(|c| CollectorRow::new(c, d.now, offset))
                .collect(),
            burndowns: d
                .burndowns
                .iter()
                .map(|(name, svg)| (clip(name, MAX_NAME_CHARS), svg.clone()))
                .collect(),
            log_errors: d.log_errors.as_ref().map(|errors| {
                errors
                    .iter()
                    .map(|e| LogErrorRow {
                        at: Stamp::new(e.time, d.now, offset),
                        level: clip(&e.level, MAX_NAME_CHARS),
                        message: clip(&e.message, MAX_MESSAGE_CHARS),
                        file: clip(&e.file, MAX_MESSAGE_CHARS),
                    })
                    .collect()
            }),
            others,
            others_hidden,
        }
    }
}

impl CollectorRow {
    fn new(c: &CollectorHealth, now: OffsetDateTime, offset: UtcOffset) -> Self {
        let status = if c.up {
            Badge::new("●", "up", "ok")
        } else if c.last_run.is_some() {
            Badge::new("✗", "down", "bad")
        } else {
            Badge::new("○", "not run yet", "mut")
        };
        CollectorRow {
            name: clip(&c.name, MAX_NAME_CHARS),
            kind: clip(&c.kind, MAX_NAME_CHARS),
            status,
            last_success: c.last_success.map(|t| Stamp::new(t, now, offset)),
            duration: c
                .last_duration_ms
                .map_or(DASH.to_owned(), |d| mhd_core::format::duration_ms(Some(d))),
            error: c
                .last_error
                .as_deref()
                .filter(|e| !e.trim().is_empty())
                .map(|e| clip(e, MAX_MESSAGE_CHARS)),
        }
    }
}

/// The week of the plan `now` falls in, as the dashboard counts it (0 before the start).
fn plan_week(plan: &Plan, now: OffsetDateTime) -> i64 {
    let days = (now.date() - plan.migration.start).whole_days();
    if days < 0 { 0 } else { days / 7 + 1 }
}

/// Renders the resource page of the live server: its section in the site's layout, with the
/// plan's name and week in the header when there is a plan.
pub fn render_resources_page(
    data: &ResourcesData,
    plan: Option<&Plan>,
    offset: UtcOffset,
    script_src: &str,
    bar: Option<&super::range::RangeBar>,
    viewer: &Viewer,
) -> Result<String, ViewError> {
    let section = ResourcesSection::new(data, offset).render()?;
    frame(
        PageKind::Resources,
        plan.map(|p| {
            (
                p.migration.name.as_str(),
                plan_week(p, data.now),
                p.migration.weeks,
            )
        }),
        data.now,
        offset,
        LiveChrome::new(PageKind::Resources, script_src, viewer).with_range(bar),
        Some(section),
        None,
    )
    .map(Page::into_html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_escape_their_labels_join_short_gaps_and_say_when_empty() {
        let now = time::macros::datetime!(2025-03-03 12:00 UTC);
        let mut pts = vec![None; CHART_BUCKETS];
        pts[0] = Some(1.0);
        pts[3] = Some(2.0); // 2 empty buckets: joined
        pts[10] = Some(3.0 * 1_048_576.0); // 6 empty buckets: a new run
        pts[12] = Some(4.0);
        let html = line_chart(
            "Disk <b>",
            &[("read <i>", pts, LineStyle::Area)],
            Unit::BytesPerSecond,
            None,
            (now, CHART_SPAN, UtcOffset::UTC),
        );
        assert!(html.starts_with("<svg"), "{html}");
        assert!(!html.contains("<b>") && !html.contains("<i>"), "{html}");
        assert!(html.contains("read &lt;i&gt;: latest 4 B/s, lowest 1 B/s, highest 3 MB/s"));
        assert_eq!(
            html.matches(r#"<path class="a""#).count(),
            2,
            "two runs, each an area"
        );
        // The first bucket ends a minute into the hour: the line starts near the left edge.
        assert!(
            html.contains(r#"data-ro-t="11:01|11:04|11:11|11:13""#),
            "{html}"
        );
        assert!(html.contains(r#"<table class="sr-only">"#));
        let none = line_chart(
            "CPU",
            &[("CPU", vec![None; 4], LineStyle::Area)],
            Unit::Percent,
            Some(100.0),
            (now, CHART_SPAN, UtcOffset::UTC),
        );
        assert!(
            none.contains(">No samples in the last hour</text>"),
            "{none}"
        );
    }

    #[test]
    fn figures_are_dashes_without_samples() {
        assert_eq!(fig(None, 1, "%"), DASH);
        assert_eq!(fig(Some(12.345), 1, "%"), "12.3%");
        assert_eq!(count(Some(1234.4)), "1,234");
        assert_eq!(megabytes(Some(2048.0)), "2.0 GB");
        assert_eq!(megabytes(Some(512.0)), "512 MB");
        assert_eq!(megabytes(None), DASH);
    }
}
