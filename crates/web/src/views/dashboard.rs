//! The single-user dashboard, as one self-contained HTML document: the executive summary (or,
//! without the plan's views, the migration progress), the timeline, the component matrix, the
//! test results and the performance comparison when they have data; then the operations'
//! summary figures, operations by type and over time, recent operations and recent errors.

use askama::Template;
use mhd_core::dashboard::{Bucket, DashboardData, MigrationProgress};
use mhd_core::format;
use mhd_core::operation::NewOperation;
use mhd_core::stats::{StatsSummary, TypeStats};
use time::{Duration, OffsetDateTime, UtcOffset};

use super::components::ComponentsSection;
use super::overview::OverviewBoard;
use super::page::LiveChrome;
use super::perf::PerfSection;
use super::summary::SummarySection;
use super::testresults::TestsSection;
use super::timeline::TimelineSection;
use super::{
    DASH, MAX_MESSAGE_CHARS, MAX_NAME_CHARS, Stamp, ViewError, clip, local, offset_label,
    stylesheet, thousands,
};
use crate::charts::{self, Bar, BarChartOptions, Column, ColumnChartOptions};

/// Most columns the "over time" chart draws; longer series are summed into wider periods.
const MAX_COLUMNS: usize = 48;

/// Renders the dashboard as one complete HTML document with everything inline (the charts'
/// read-out script too), no resource from anywhere, so it opens offline from a file. Times are shown relative to
/// `data.generated_at` and as local times in `local_offset`.
pub fn render_static_dashboard(
    data: &DashboardData,
    local_offset: UtcOffset,
) -> Result<String, ViewError> {
    Ok(DashboardPage::new(data, local_offset, false).render()?)
}

/// The page's template and everything it shows, already formatted.
#[derive(Template)]
#[template(path = "dashboard.html", whitespace = "minimize")]
pub(crate) struct DashboardPage {
    title: String,
    /// The layout's script and site navigation: none in the static file, which runs no script.
    live: Option<LiveChrome>,
    /// The overview's panels, above the full sections (when anything is recorded).
    board: Option<OverviewBoard>,
    css: String,
    generated: Stamp,
    week: Option<String>,
    migration: Option<MigrationView>,
    exec: Option<SummarySection>,
    timeline: Option<TimelineSection>,
    components: Option<ComponentsSection>,
    tests: Option<TestsSection>,
    perf: Option<PerfSection>,
    empty: bool,
    cards: Cards,
    types: Vec<TypeRow>,
    count_chart: String,
    duration_chart: String,
    time_chart: String,
    time_note: String,
    zone: String,
    periods: Vec<PeriodRow>,
    recent: Vec<RecentRow>,
    recent_caption: String,
    errors: Vec<ErrorItem>,
    /// The charts' read-out script, inline in the static file (the live pages load it).
    charts_js: &'static str,
}

struct MigrationView {
    percent: String,
    bar: String,
    migrated: String,
    total: String,
    success_rate: String,
    attempts: String,
    rollbacks: String,
}

pub(crate) struct Cards {
    pub(crate) total: String,
    pub(crate) success_rate: String,
    pub(crate) successful: String,
    pub(crate) avg_duration: String,
    pub(crate) last: Option<Stamp>,
    pub(crate) datasets: String,
    pub(crate) registered: String,
}

struct TypeRow {
    metric_type: String,
    count: String,
    errors: String,
    error_rate: String,
    avg_duration: String,
}

pub(crate) struct PeriodRow {
    pub(crate) period: String,
    pub(crate) count: String,
    pub(crate) errors: String,
}

struct RecentRow {
    at: Stamp,
    metric_type: String,
    operation: String,
    dataset: String,
    component: String,
    system: &'static str,
    duration: String,
    ok: bool,
    error: Option<String>,
}

pub(crate) struct ErrorItem {
    pub(crate) at: Stamp,
    pub(crate) metric_type: String,
    pub(crate) operation: String,
    pub(crate) dataset: Option<String>,
    pub(crate) message: String,
}

/// A duration, or [`DASH`] when there is none.
fn duration_or_dash(ms: Option<f64>) -> String {
    ms.map_or(DASH.to_owned(), |d| format::duration_ms(Some(d)))
}

/// An error message as shown: cut to [`MAX_MESSAGE_CHARS`], and said to be missing when blank.
fn message(m: Option<&str>) -> String {
    m.filter(|m| !m.trim().is_empty())
        .map_or("no error message recorded".to_owned(), |m| {
            clip(m, MAX_MESSAGE_CHARS)
        })
}

impl DashboardPage {
    /// The page of `data`; `site` when served by the live server, whose pages the figures'
    /// explanations may link to.
    pub(crate) fn new(data: &DashboardData, offset: UtcOffset, site: bool) -> Self {
        let now = data.generated_at;
        let s = &data.summary;
        let title = match &data.migration {
            Some(m) => format!("Migration Health — {}", clip(&m.name, MAX_NAME_CHARS)),
            None => "mhd — operations".to_owned(),
        };
        // Both type charts and the table share one order, busiest type first.
        let mut by_type: Vec<&TypeStats> = s.by_type.iter().collect();
        by_type.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.metric_type.cmp(&b.metric_type))
        });
        let (time_chart, time_note, periods) =
            over_time(&data.over_time, data.bucket_seconds, offset);
        let views = data.views.as_ref();
        let board = OverviewBoard::new(data, offset, site);
        DashboardPage {
            title,
            live: None,
            board: (s.overall.total_operations > 0 || views.is_some()).then_some(board),
            css: stylesheet(),
            generated: Stamp::new(now, now, offset),
            week: data.migration.as_ref().map(week_text),
            // The executive summary shows the same progress, and more.
            migration: match views {
                Some(_) => None,
                None => data.migration.as_ref().map(MigrationView::new),
            },
            exec: views.map(|v| {
                SummarySection::new(&v.summary, data.migration.as_ref(), now, offset).with_views(
                    &v.summary,
                    v.progress.as_ref(),
                    site,
                )
            }),
            timeline: views.and_then(|v| TimelineSection::new(&v.summary, &v.timeline)),
            components: views.and_then(|v| ComponentsSection::new(&v.components, site)),
            tests: data
                .tests
                .as_ref()
                .and_then(|t| TestsSection::new(t, now, offset)),
            perf: PerfSection::new(
                &data.performance,
                views.map_or_else(
                    || mhd_core::perf::performance_delta(&data.performance),
                    |v| v.summary.key_metrics.performance_delta,
                ),
            ),
            empty: s.overall.total_operations == 0,
            cards: Cards::new(s, now, offset),
            types: by_type.iter().map(|t| TypeRow::new(t)).collect(),
            count_chart: count_chart(&by_type),
            duration_chart: duration_chart(&by_type),
            time_chart,
            time_note,
            zone: offset_label(offset),
            periods,
            recent_caption: match data.recent.len() {
                1 => "The newest operation".to_owned(),
                n => format!("The {n} newest operations, newest first"),
            },
            recent: data
                .recent
                .iter()
                .map(|o| RecentRow::new(&o.op, now, offset))
                .collect(),
            errors: error_items(s, now, offset),
            charts_js: crate::assets::charts_js_inline(),
        }
    }
}

/// The recent failed operations of `s`, newest first, as shown.
pub(crate) fn error_items(
    s: &StatsSummary,
    now: OffsetDateTime,
    offset: UtcOffset,
) -> Vec<ErrorItem> {
    s.recent_errors
        .iter()
        .map(|e| ErrorItem {
            at: Stamp::new(e.timestamp, now, offset),
            metric_type: clip(&e.metric_type, MAX_NAME_CHARS),
            operation: clip(&e.operation, MAX_NAME_CHARS),
            dataset: e.dataset_name.as_deref().map(|d| clip(d, MAX_NAME_CHARS)),
            message: message(e.error_message.as_deref()),
        })
        .collect()
}

impl Cards {
    pub(crate) fn new(s: &StatsSummary, now: OffsetDateTime, offset: UtcOffset) -> Self {
        let o = &s.overall;
        Cards {
            total: thousands(o.total_operations),
            success_rate: o.success_rate.map_or(DASH.to_owned(), format::percent),
            successful: thousands(o.successful_operations),
            avg_duration: duration_or_dash(o.avg_duration_ms),
            last: o.last_operation.map(|t| Stamp::new(t, now, offset)),
            datasets: thousands(s.dataset_stats.total_datasets),
            registered: thousands(s.dataset_stats.datasets_registered),
        }
    }
}

impl TypeRow {
    fn new(t: &TypeStats) -> Self {
        TypeRow {
            metric_type: clip(&t.metric_type, MAX_NAME_CHARS),
            count: thousands(t.count),
            errors: thousands(t.error_count),
            error_rate: if t.count == 0 {
                DASH.to_owned()
            } else {
                format::percent(t.error_count as f64 / t.count as f64)
            },
            avg_duration: duration_or_dash(t.avg_duration_ms),
        }
    }
}

impl RecentRow {
    fn new(op: &NewOperation, now: OffsetDateTime, offset: UtcOffset) -> Self {
        let name = |v: Option<&str>| v.map_or(DASH.to_owned(), |v| clip(v, MAX_NAME_CHARS));
        RecentRow {
            at: Stamp::new(op.timestamp, now, offset),
            metric_type: clip(&op.metric_type, MAX_NAME_CHARS),
            operation: clip(&op.operation, MAX_NAME_CHARS),
            dataset: name(op.dataset_name.as_deref()),
            component: name(op.component.as_deref()),
            system: op.system.map_or(DASH, |s| s.as_str()),
            duration: duration_or_dash(op.duration_ms),
            ok: op.success,
            error: (!op.success).then(|| message(op.error_message.as_deref())),
        }
    }
}

/// Operations per type, failures hatched at the end of each bar.
fn count_chart(by_type: &[&TypeStats]) -> String {
    let bars: Vec<Bar> = by_type
        .iter()
        .map(|t| {
            let mut value_text = thousands(t.count);
            if t.error_count > 0 {
                value_text.push_str(&format!(" · {} failed", thousands(t.error_count)));
            }
            Bar {
                label: t.metric_type.clone(),
                value: t.count as f64,
                part: t.error_count as f64,
                title: format!(
                    "{}: {} operations, {} failed",
                    clip(&t.metric_type, MAX_NAME_CHARS),
                    thousands(t.count),
                    thousands(t.error_count)
                ),
                value_text,
            }
        })
        .collect();
    charts::bar_chart_horizontal(
        &bars,
        &BarChartOptions {
            id: "ct",
            aria_label: "Operations by type: bar chart; the table below has the figures",
            legend: Some(("succeeded", "failed")),
            empty_text: "No operations",
        },
    )
}

/// Mean duration of the successful operations of each type.
fn duration_chart(by_type: &[&TypeStats]) -> String {
    let bars: Vec<Bar> = by_type
        .iter()
        .map(|t| {
            let name = clip(&t.metric_type, MAX_NAME_CHARS);
            Bar {
                label: t.metric_type.clone(),
                value: t.avg_duration_ms.unwrap_or(0.0),
                part: 0.0,
                value_text: duration_or_dash(t.avg_duration_ms),
                title: match t.avg_duration_ms {
                    Some(d) => format!(
                        "{name}: mean {} over successful operations",
                        format::duration_ms(Some(d))
                    ),
                    None => format!("{name}: no duration recorded"),
                },
            }
        })
        .collect();
    charts::bar_chart_horizontal(
        &bars,
        &BarChartOptions {
            id: "dt",
            aria_label: "Mean duration by type: bar chart; the table below has the figures",
            legend: None,
            empty_text: "No durations recorded",
        },
    )
}

/// "Week 8 of 21", or where `generated_at` falls outside the plan's weeks.
fn week_text(m: &MigrationProgress) -> String {
    super::summary::week_words(m.week, m.weeks)
}

impl MigrationView {
    fn new(m: &MigrationProgress) -> Self {
        let percent = m.percent();
        MigrationView {
            percent: format!("{percent:.1}%"),
            bar: charts::progress_bar(percent, "Datasets migrated"),
            migrated: thousands(m.datasets_migrated),
            total: thousands(m.datasets_total),
            success_rate: m.success_rate.map_or(DASH.to_owned(), format::percent),
            attempts: thousands(m.attempts),
            rollbacks: thousands(m.rollback_count),
        }
    }
}

/// Consecutive buckets summed into one period of the chart.
#[derive(Debug, Clone, PartialEq)]
struct Period {
    /// Start of its first bucket.
    start: OffsetDateTime,
    /// End of its last bucket (exclusive).
    end: OffsetDateTime,
    count: u64,
    errors: u64,
}

/// Period lengths the chart may use, in seconds: whole hours, days and weeks people read easily.
const NICE_PERIODS: [i64; 11] = [
    3600, 7200, 10_800, 14_400, 21_600, 43_200, 86_400, 172_800, 604_800, 1_209_600, 2_419_200,
];

/// Sums consecutive buckets into periods of a round length, so there are at most
/// [`MAX_COLUMNS`] + 1 of them; returns the periods and their length in seconds.
///
/// Periods shorter than a day start on round local hours (00:00, 06:00, … in `offset`); longer
/// ones on UTC midnights, like the day buckets. The first and last period may be partial; each
/// keeps the times its buckets actually cover.
fn group_buckets(buckets: &[Bucket], bucket_seconds: i64, offset: UtcOffset) -> (Vec<Period>, i64) {
    let bucket_seconds = bucket_seconds.max(1);
    let needed = buckets.len().div_ceil(MAX_COLUMNS).max(1) as i64;
    let span = NICE_PERIODS
        .iter()
        .copied()
        .filter(|p| *p % bucket_seconds == 0)
        .find(|p| p / bucket_seconds >= needed)
        .unwrap_or(needed * bucket_seconds);
    let shift = if span % 86_400 == 0 {
        0
    } else {
        i64::from(offset.whole_seconds())
    };
    let mut periods: Vec<(i64, Period)> = Vec::new();
    for b in buckets {
        let key = (b.start.unix_timestamp() + shift).div_euclid(span);
        let end = b.start.saturating_add(Duration::seconds(bucket_seconds));
        match periods.last_mut() {
            Some((k, p)) if *k == key => {
                p.end = end;
                p.count += b.count;
                p.errors += b.errors;
            }
            _ => periods.push((
                key,
                Period {
                    start: b.start,
                    end,
                    count: b.count,
                    errors: b.errors,
                },
            )),
        }
    }
    (periods.into_iter().map(|(_, p)| p).collect(), span)
}

/// A period's length in words: "1 hour", "6 hours", "1 day", "2 weeks".
fn span_words(seconds: i64) -> String {
    let (n, unit) = if seconds % 604_800 == 0 {
        (seconds / 604_800, "week")
    } else if seconds % 86_400 == 0 {
        (seconds / 86_400, "day")
    } else if seconds % 3600 == 0 {
        (seconds / 3600, "hour")
    } else {
        (seconds / 60, "minute")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// The "over time" chart, the note under it, and its table rows.
///
/// Periods shorter than a day are shown in local time; longer ones are made of UTC days, so they
/// are labelled by their UTC dates (a local label could name the day before).
pub(crate) fn over_time(
    buckets: &[Bucket],
    bucket_seconds: i64,
    offset: UtcOffset,
) -> (String, String, Vec<PeriodRow>) {
    use time::macros::format_description as fd;
    let (periods, span) = group_buckets(buckets, bucket_seconds, offset);
    let daily = span % 86_400 == 0;
    let zone = if daily { UtcOffset::UTC } else { offset };
    let fmt = |t: OffsetDateTime, f: &[time::format_description::BorrowedFormatItem<'_>]| {
        t.checked_to_offset(zone)
            .unwrap_or(t)
            .format(f)
            .unwrap_or_else(|_| local(t, zone))
    };
    let period_text = |p: &Period| {
        if daily {
            let (first, last) = (
                fmt(p.start, fd!("[year]-[month]-[day]")),
                fmt(p.end - Duration::SECOND, fd!("[year]-[month]-[day]")),
            );
            if first == last {
                first
            } else {
                format!("{first} – {last}")
            }
        } else {
            format!(
                "{} – {}",
                fmt(p.start, fd!("[year]-[month]-[day] [hour]:[minute]")),
                fmt(p.end, fd!("[hour]:[minute]"))
            )
        }
    };
    let short = if daily {
        fd!("[day] [month repr:short]")
    } else {
        fd!("[day] [month repr:short] [hour]:[minute]")
    };
    let columns: Vec<Column> = periods
        .iter()
        .map(|p| Column {
            label: fmt(p.start, short),
            value: p.count as f64,
            part: p.errors as f64,
            title: format!(
                "{}: {} operations, {} failed",
                period_text(p),
                thousands(p.count),
                thousands(p.errors)
            ),
        })
        .collect();
    let note = if daily {
        format!("Each column is {} (UTC days).", span_words(span))
    } else {
        format!(
            "Each column is {}; times in {}.",
            span_words(span),
            offset_label(offset)
        )
    };
    let chart = charts::column_chart(
        &columns,
        &ColumnChartOptions {
            id: "ot",
            aria_label: "Operations over time: column chart, failures hatched on top; \
                         the table below has the figures",
            legend: ("succeeded", "failed"),
            unit: "operations",
            empty_text: "No operations in this period",
        },
    );
    let rows = periods
        .iter()
        .map(|p| PeriodRow {
            period: period_text(p),
            count: thousands(p.count),
            errors: thousands(p.errors),
        })
        .collect();
    (chart, note, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mhd_core::operation::{Operation, System};
    use mhd_core::stats::{DatasetCounts, Overall, RecentError};
    use time::macros::{datetime, offset};

    const NOW: OffsetDateTime = datetime!(2025-03-03 12:00 UTC);

    fn empty_data() -> DashboardData {
        DashboardData {
            generated_at: NOW,
            summary: StatsSummary {
                overall: Overall {
                    total_operations: 0,
                    successful_operations: 0,
                    success_rate: None,
                    avg_duration_ms: None,
                    last_operation: None,
                },
                by_type: Vec::new(),
                dataset_stats: DatasetCounts::default(),
                recent_errors: Vec::new(),
            },
            over_time: Vec::new(),
            bucket_seconds: 3600,
            recent: Vec::new(),
            migration: None,
            views: None,
            tests: None,
            performance: Vec::new(),
        }
    }

    fn operation(
        id: i64,
        minutes_ago: i64,
        ty: &str,
        name: &str,
        dataset: &str,
        ok: bool,
    ) -> Operation {
        let mut op = NewOperation::new(NOW - Duration::minutes(minutes_ago), ty, name);
        op.dataset_name = Some(dataset.to_owned());
        op.component = Some("storage".to_owned());
        op.system = Some(if id % 2 == 0 {
            System::New
        } else {
            System::Old
        });
        op.duration_ms = Some(12.5 * id as f64);
        op.success = ok;
        if !ok {
            op.error_message = Some(format!("{dataset}: connection reset"));
        }
        Operation { id, op }
    }

    fn type_stats(ty: &str, count: u64, errors: u64, avg: Option<f64>) -> TypeStats {
        TypeStats {
            metric_type: ty.to_owned(),
            count,
            avg_duration_ms: avg,
            error_count: errors,
        }
    }

    /// A small migration mid-way: 48 hourly buckets, three types, a few recent operations.
    fn plan_data() -> DashboardData {
        let recent = vec![
            operation(6, 2, "migration", "migrate", "sales", true),
            operation(5, 30, "migration", "migrate", "orders", false),
            operation(4, 95, "verification", "checksum", "sales", true),
            operation(3, 200, "dataset_read", "read", "customers", true),
            operation(2, 1500, "rollback", "rollback", "orders", true),
        ];
        let over_time = (0..48)
            .map(|h| Bucket {
                start: datetime!(2025-03-01 12:00 UTC) + Duration::hours(h),
                count: (h as u64 * 7) % 23 + 1,
                errors: if h % 11 == 0 { 1 } else { 0 },
            })
            .collect();
        DashboardData {
            generated_at: NOW,
            summary: StatsSummary {
                overall: Overall {
                    total_operations: 1234,
                    successful_operations: 1190,
                    success_rate: Some(1190.0 / 1234.0),
                    avg_duration_ms: Some(345.6),
                    last_operation: Some(NOW - Duration::minutes(2)),
                },
                by_type: vec![
                    type_stats("dataset_read", 900, 4, Some(12.3)),
                    type_stats("migration", 300, 38, Some(4500.0)),
                    type_stats("rollback", 2, 0, None),
                    type_stats("verification", 32, 2, Some(80_000.0)),
                ],
                dataset_stats: DatasetCounts {
                    total_datasets: 40,
                    datasets_registered: 35,
                },
                recent_errors: vec![RecentError {
                    timestamp: NOW - Duration::minutes(30),
                    metric_type: "migration".to_owned(),
                    operation: "migrate".to_owned(),
                    dataset_name: Some("orders".to_owned()),
                    error_message: Some("orders: connection reset".to_owned()),
                }],
            },
            over_time,
            bucket_seconds: 3600,
            recent,
            migration: Some(MigrationProgress {
                name: "MDM refactoring".to_owned(),
                datasets_total: 412,
                datasets_migrated: 156,
                attempts: 170,
                success_rate: Some(156.0 / 170.0),
                rollback_count: 2,
                week: 8,
                weeks: 21,
            }),
            views: None,
            tests: None,
            performance: Vec::new(),
        }
    }

    /// A migration as the core computes it, on the specification's plan (8 phases, 4
    /// components) in week 9: `suites` test suites of `cases` cases with 10 runs each, of
    /// which `failing` fail in the latest run; `ops` benchmarked operations.
    fn views_data(suites: usize, cases: usize, failing: usize, ops: usize) -> DashboardData {
        use mhd_core::components::{ComponentInput, SystemWindow, component_matrix};
        use mhd_core::dashboard::MigrationViews;
        use mhd_core::perf::{BenchmarkSamples, compare, performance_delta};
        use mhd_core::plan::{default_plan_toml, parse};
        use mhd_core::summary::{
            FiringAlert, MigrationCounts, Severity, SuitePassRate, SummaryInput, executive_summary,
        };
        use mhd_core::testrun::{TestCase, TestRun, TestStatus};
        use mhd_core::testview::tests_view;
        use mhd_core::timeline::{
            ComponentProgress, MILESTONE, Marks, PHASE_COMPLETE, PhaseAlert, timeline, week_of,
        };
        use time::macros::date;

        let plan = parse(&default_plan_toml(date!(2025 - 01 - 06)), "migration.toml")
            .expect("the default plan parses");
        let today = NOW.date();
        let mut marks = Marks::default();
        for (name, day) in [
            ("Characterization suite green", date!(2025 - 01 - 17)),
            ("Coverage of the old system", date!(2025 - 01 - 24)),
            ("One configuration model", date!(2025 - 02 - 07)),
            ("Storage interface agreed", date!(2025 - 02 - 07)),
        ] {
            marks.record(MILESTONE, name, true, day);
        }
        marks.record(PHASE_COMPLETE, "tests", true, date!(2025 - 01 - 27));
        marks.record(PHASE_COMPLETE, "config", true, date!(2025 - 02 - 14));
        let progress: Vec<ComponentProgress> = [("storage", 116, 200), ("config", 40, 40)]
            .iter()
            .map(|(c, m, t)| ComponentProgress {
                component: (*c).into(),
                migrated: *m,
                total: *t,
            })
            .collect();
        let phase_alerts = [PhaseAlert {
            phase: "features".into(),
            title: "Feature store unreachable".into(),
        }];
        let phases = timeline(&plan, today, &progress, &marks, &phase_alerts);

        // Test runs: the first `failing` cases fail in the latest runs (longer streaks for
        // lower numbers), one case flips between passed and failed.
        let mut runs = Vec::new();
        for s in 0..suites {
            let suite = ["unit", "integration", "e2e", "performance", "regression"][s % 5];
            for r in 0..10u64 {
                let mut cases: Vec<TestCase> = (0..cases)
                    .map(|i| {
                        let streak = (i % 4) as u64 + 1;
                        let fails = i < failing && r + streak >= 10;
                        TestCase {
                            name: format!("test_{suite}_{i:03}"),
                            classname: Some(format!("tests.{suite}")),
                            status: if fails {
                                if i % 5 == 4 {
                                    TestStatus::Error
                                } else {
                                    TestStatus::Failed
                                }
                            } else if i % 17 == 16 {
                                TestStatus::Skipped
                            } else {
                                TestStatus::Passed
                            },
                            time: Some(0.25 + i as f64 * 0.01),
                            message: fails.then(|| {
                                format!(
                                    "AssertionError: expected 200 rows in sales_{i:03}, got 199"
                                )
                            }),
                        }
                    })
                    .collect();
                cases.push(TestCase {
                    name: "test_flaky_lock".into(),
                    classname: Some(format!("tests.{suite}")),
                    status: if r % 3 == 1 {
                        TestStatus::Failed
                    } else {
                        TestStatus::Passed
                    },
                    time: Some(1.5),
                    message: None,
                });
                runs.push(TestRun {
                    suite: suite.to_owned(),
                    phase: Some("tests".into()),
                    component: Some(
                        ["storage", "config", "features", "registration"][s % 4].into(),
                    ),
                    run_at: NOW - Duration::hours(10 - r as i64) - Duration::minutes(s as i64),
                    duration: 30.0 * (s as f64 + 1.0) + r as f64,
                    cases,
                });
            }
        }
        let tests = tests_view(&runs, &plan.thresholds);
        let suite_rates: Vec<SuitePassRate> = tests
            .suites
            .iter()
            .filter_map(|s| {
                s.pass_rate.map(|p| SuitePassRate {
                    suite: s.name.clone(),
                    pass_rate: p / 100.0,
                })
            })
            .collect();

        // Benchmarks: each operation's new system at its own factor of the old one.
        let factors = [0.62, 0.83, 1.0, 1.35, 0.97, 1.12, 0.5, 1.04, 1.6, 0.9];
        let names = [
            "dataset_register",
            "dataset_read",
            "dataset_export",
            "feature_generation",
            "query_execution",
            "storage_write",
            "config_load",
            "registry_lookup",
            "validation_run",
            "cleanup_scan",
        ];
        let noise = |i: usize, k: usize| ((i * 37 + k * 11) % 17) as f64 / 17.0;
        let samples: Vec<BenchmarkSamples> = (0..ops)
            .flat_map(|k| {
                let base = 40.0 * (k as f64 + 1.0);
                let side = |system: System, factor: f64| BenchmarkSamples {
                    operation: names[k % names.len()].to_owned(),
                    system,
                    component: Some("storage".into()),
                    values_ms: (0..20)
                        .map(|i| base * factor * (0.9 + 0.2 * noise(i, k)))
                        .collect(),
                };
                [
                    side(System::Old, 1.0),
                    side(System::New, factors[k % factors.len()]),
                ]
            })
            .collect();
        let performance = compare(&samples, plan.thresholds.regression_percent);

        let daily: Vec<i64> = (0..28).map(|i| [3, 5, 9, 4, 0, 6, 7][i % 7]).collect();
        let alerts = [FiringAlert {
            severity: Severity::Critical,
            title: "Rollback rate above 5%".into(),
            component: Some("storage".into()),
            since: Some(NOW - Duration::hours(3)),
        }];
        let counts = MigrationCounts {
            datasets_migrated: 156,
            attempts: 170,
            successes: 160,
            rollbacks: 4,
        };
        let summary = executive_summary(&SummaryInput {
            plan: &plan,
            now: NOW,
            counts,
            daily_net: &daily,
            phases: &phases,
            alerts: &alerts,
            performance_delta: performance_delta(&performance),
            performance: None,
            forecast: None,
            test_suites: &suite_rates,
        });
        let window = |operations: u64, failures: u64, ms: f64| SystemWindow {
            operations,
            failures,
            durations_ms: (0..operations.min(50))
                .map(|i| ms * (1.0 + (i % 7) as f64 / 10.0))
                .collect(),
            p95_ms: None,
            window_seconds: 7.0 * 86_400.0,
        };
        let inputs: Vec<ComponentInput> = plan
            .components
            .iter()
            .enumerate()
            .map(|(i, c)| ComponentInput {
                id: c.id.clone(),
                name: c.name.clone(),
                old: window(1000 + i as u64 * 100, i as u64 * 3, 120.0),
                new: match i {
                    3 => window(0, 0, 0.0),
                    2 => window(400, 60, 95.0),
                    _ => window(800, i as u64, 90.0),
                },
                migrated: [116, 40, 0, 0][i % 4],
                datasets_total: Some([200, 40, 150, 0][i % 4]),
                tests: tests
                    .suites
                    .iter()
                    .find(|s| s.component.as_deref() == Some(c.id.as_str()))
                    .map(|s| (s.results.passed, s.results.total)),
                performance_delta: (i < 2).then(|| [-12.5, 4.0][i]),
                regressions: Vec::new(),
                issues: Vec::new(),
                window: "7 days".to_owned(),
            })
            .collect();
        let components = component_matrix(&inputs, &plan.thresholds);

        let mut d = plan_data();
        let (week, weeks) = week_of(&plan, today);
        let m = d.migration.as_mut().expect("a plan");
        m.week = week;
        m.weeks = weeks;
        d.views = Some(MigrationViews {
            summary,
            timeline: phases,
            components,
            progress: None,
        });
        d.tests = (!tests.suites.is_empty()).then_some(tests);
        d.performance = performance;
        d
    }

    /// The specification's migration mid-way, with every view: the full page's snapshot.
    fn full_data() -> DashboardData {
        views_data(3, 12, 3, 4)
    }

    /// Every stored string replaced by markup that would run if it were not escaped.
    fn hostile_data() -> DashboardData {
        const SCRIPT: &str = "<script>alert(1)</script>";
        const IMG: &str = "<img src=x onerror=alert(1)>";
        const QUOTES: &str = "\"' onmouseover='alert(1)";
        let mut d = plan_data();
        d.migration.as_mut().unwrap().name = SCRIPT.to_owned();
        for t in &mut d.summary.by_type {
            t.metric_type = format!("{SCRIPT}{QUOTES}");
        }
        for e in &mut d.summary.recent_errors {
            e.metric_type = SCRIPT.to_owned();
            e.operation = IMG.to_owned();
            e.dataset_name = Some(SCRIPT.to_owned());
            e.error_message = Some(IMG.to_owned());
        }
        for o in &mut d.recent {
            o.op.metric_type = SCRIPT.to_owned();
            o.op.operation = QUOTES.to_owned();
            o.op.dataset_name = Some(SCRIPT.to_owned());
            o.op.component = Some(IMG.to_owned());
            o.op.error_message = Some(SCRIPT.to_owned());
        }
        d
    }

    /// The size target's case: 50 recent operations, 30 types, 720 hourly buckets.
    fn large_data() -> DashboardData {
        let mut d = plan_data();
        d.recent = (0..50)
            .map(|i| {
                operation(
                    i,
                    i * 7,
                    &format!("type_{:02}", i % 30),
                    "migrate",
                    &format!("dataset_{i:03}"),
                    i % 9 != 0,
                )
            })
            .collect();
        d.summary.by_type = (0..30)
            .map(|i| {
                type_stats(
                    &format!("type_{i:02}"),
                    1000 + i * 37,
                    i % 4,
                    Some(10.0 + i as f64 * 13.7),
                )
            })
            .collect();
        d.over_time = (0..720)
            .map(|h| Bucket {
                start: datetime!(2025-02-01 12:00 UTC) + Duration::hours(h),
                count: (h as u64 * 13) % 97,
                errors: h as u64 % 3,
            })
            .collect();
        d.summary.recent_errors = (0..5)
            .map(|i| RecentError {
                timestamp: NOW - Duration::hours(i),
                metric_type: "migration".to_owned(),
                operation: "migrate".to_owned(),
                dataset_name: Some(format!("dataset_{i:03}")),
                error_message: Some(
                    "deadlock detected while copying rows; retried 3 times".to_owned(),
                ),
            })
            .collect();
        d
    }

    fn render(d: &DashboardData) -> String {
        render_static_dashboard(d, offset!(+1)).expect("renders")
    }

    /// The page with its stylesheet and the charts' read-out script left out, so snapshots
    /// show the markup and a change of style or script does not rewrite them.
    fn markup(html: &str) -> String {
        let start = html.find("<style>").expect("a stylesheet") + "<style>".len();
        let end = html.find("</style>").expect("a closed stylesheet");
        let page = format!(
            "{}/* {} bytes of CSS */{}",
            &html[..start],
            end - start,
            &html[end..]
        );
        let js = crate::assets::charts_js_inline();
        page.replace(js, &format!("/* {} bytes of script */", js.len()))
    }

    #[test]
    fn snapshot_empty() {
        insta::assert_snapshot!("dashboard_empty", markup(&render(&empty_data())));
    }

    #[test]
    fn snapshot_with_plan() {
        insta::assert_snapshot!("dashboard_with_plan", markup(&render(&plan_data())));
    }

    #[test]
    fn snapshot_full() {
        insta::assert_snapshot!("dashboard_full", markup(&render(&full_data())));
    }

    #[test]
    fn empty_dashboard_explains_how_to_record_and_draws_no_chart() {
        let html = render(&empty_data());
        assert!(html.contains("No operations recorded yet"));
        assert!(html.contains("mhd record --type migration --operation migrate --dataset sales"));
        assert!(!html.contains("<svg"));
        assert!(html.contains("<title>mhd — operations</title>"));
    }

    #[test]
    fn header_shows_plan_week_and_generation_time() {
        let html = render(&plan_data());
        assert!(html.contains("<h1>Migration Health — MDM refactoring</h1>"));
        assert!(html.contains(
            r#"<time datetime="2025-03-03T12:00:00Z">2025-03-03 13:00:00 UTC+01:00</time>"#
        ));
        assert!(html.contains(r#"<span class="week">Week 8 of 21</span>"#));
        assert!(
            html.contains(r#"role="progressbar""#) && html.contains(r#"aria-valuenow="37.86""#)
        );
        assert!(html.contains(r#"<span data-live="migration_progress">37.9%</span>"#)
                && html.contains(r#"<span data-live="datasets_migrated">156</span> / <span data-live="datasets_total">412</span>"#)
                && html.contains(r#"<span data-live="success_rate">91.8%</span>"#));
    }

    #[test]
    fn status_is_told_in_words_and_failures_show_their_message() {
        let html = render(&plan_data());
        assert_eq!(html.matches("</span> ok</span>").count(), 4);
        assert_eq!(html.matches("</span> failed</span>").count(), 1);
        assert!(html.contains(r#"<td colspan="8">Error: orders: connection reset</td>"#));
        assert!(html.contains(r#"<time datetime="2025-03-03T11:30:00Z" data-relative title="2025-03-03 12:30:00 UTC+01:00">30m ago</time>"#));
    }

    #[test]
    fn week_outside_the_plan_is_said_plainly() {
        let mut m = plan_data().migration.unwrap();
        m.week = 0;
        assert_eq!(week_text(&m), "Before week 1 of 21");
        m.week = 23;
        assert_eq!(week_text(&m), "Week 23 of 21 (past the planned end)");
    }

    #[test]
    fn hostile_strings_are_escaped_everywhere() {
        let html = render(&hostile_data());
        // Nothing a user stored can open a tag or leave an attribute.
        assert!(!html.contains("<script>alert(1)</script>"));
        assert!(!html.contains("<script>alert"));
        assert_eq!(
            html.matches("<script").count(),
            1,
            "only the charts' read-out"
        );
        assert!(!html.contains("<img"));
        assert!(!html.contains("' onmouseover='"));
        // It shows as text instead. Askama writes numeric character references (`&#60;`), the
        // charts' `escape` named ones (`&lt;`); both read as `<` in the page.
        let text = "&#60;script&#62;alert(1)&#60;/script&#62;";
        let svg = "&lt;script&gt;alert(1)&lt;/script&gt;";
        let cases = [
            (
                "page title",
                format!("<title>Migration Health — {text}</title>"),
            ),
            ("heading", format!("<h1>Migration Health — {text}</h1>")),
            ("recent table", format!("<td>{text}</td>")),
            (
                "recent table, quotes",
                "<td>&#34;&#39; onmouseover=&#39;alert(1)</td>".to_owned(),
            ),
            (
                "recent table, markup",
                "<td>&#60;img src=x onerror=alert(1)&#62;</td>".to_owned(),
            ),
            ("error row", format!("Error: {text}</td>")),
            (
                "type table",
                format!("<th scope=\"row\">{text}&#34;&#39; onmouseover="),
            ),
            (
                "chart label",
                ">&lt;script&gt;alert(1)&lt;/scr…</text>".to_owned(),
            ),
            (
                "chart tooltip",
                format!("<title>{svg}&quot;&#39; onmouseover=&#39;alert(1): 900 operations"),
            ),
            ("errors list", format!("<strong>{text}</strong>")),
            ("errors list, dataset", format!(" · dataset {text}</p>")),
            (
                "errors list, message",
                "<p class=\"msg\">&#60;img src=x onerror=alert(1)&#62;</p>".to_owned(),
            ),
        ];
        for (place, want) in cases {
            assert!(html.contains(&want), "{place}: {want}");
        }
    }

    /// The full page with every name and message a user or an input file supplies replaced
    /// by markup that would run if it were not escaped.
    fn hostile_views_data() -> DashboardData {
        const SCRIPT: &str = "<script>alert(1)</script>";
        const IMG: &str = "<img src=x onerror=alert(1)>";
        const QUOTES: &str = "\"' onmouseover='alert(1)";
        let mut d = views_data(2, 6, 2, 4);
        let v = d.views.as_mut().expect("views");
        for p in &mut v.timeline {
            p.name = SCRIPT.to_owned();
            for m in &mut p.milestones {
                m.name = IMG.to_owned();
                m.blocker = Some(SCRIPT.to_owned());
            }
            if !p.blocker_alerts.is_empty() {
                p.blocker_alerts = vec![IMG.to_owned()];
            }
        }
        let s = &mut v.summary;
        s.recommendations.push(format!("{SCRIPT} `{IMG}`"));
        s.health_reasons.push(SCRIPT.to_owned());
        for b in &mut s.blockers {
            b.title = IMG.to_owned();
            b.component = Some(SCRIPT.to_owned());
        }
        for c in &mut v.components {
            c.name = format!("{IMG}{QUOTES}");
            c.component = SCRIPT.to_owned();
        }
        let t = d.tests.as_mut().expect("tests");
        for s in &mut t.suites {
            s.name = SCRIPT.to_owned();
            s.component = Some(IMG.to_owned());
            s.phase = Some(QUOTES.to_owned());
            for f in &mut s.failing_tests {
                f.name = IMG.to_owned();
                f.error = SCRIPT.to_owned();
            }
            for f in &mut s.flaky_tests {
                f.name = SCRIPT.to_owned();
            }
        }
        for c in &mut d.performance {
            c.operation = format!("{SCRIPT}{QUOTES}");
            c.component = Some(IMG.to_owned());
        }
        d
    }

    #[test]
    fn hostile_names_in_the_views_are_escaped_everywhere() {
        let d = hostile_views_data();
        let html = render(&d);
        assert!(!html.contains("<script>alert"));
        assert_eq!(
            html.matches("<script").count(),
            1,
            "only the charts' read-out"
        );
        assert!(!html.contains("<img"));
        assert!(!html.contains("' onmouseover='"));
        let text = "&#60;script&#62;alert(1)&#60;/script&#62;";
        let img = "&#60;img src=x onerror=alert(1)&#62;";
        let quotes = "&#34;&#39; onmouseover=&#39;alert(1)";
        let svg = "&lt;script&gt;alert(1)&lt;/script&gt;";
        let svg_img = "&lt;img src=x onerror=alert(1)&gt;";
        let svg_quotes = "&quot;&#39; onmouseover=&#39;alert(1)";
        let cases = [
            // HTML text.
            ("health reason", format!("<li>{text}</li>")),
            (
                "recommendation",
                format!("<li>{text} <code>{img}</code></li>"),
            ),
            ("blocker", format!("<strong>{img}</strong>")),
            ("blocker component", format!(" · {text} · since")),
            ("phase table", format!("<th scope=\"row\">{text}<details")),
            (
                "blocked by",
                format!("<td class=\"wr\">{text}, alert “{img}”</td>"),
            ),
            (
                "milestone",
                format!("</span> {img} <small class=\"note\">due 2025-"),
            ),
            ("milestone blocker", format!(" · blocked by {text}</small>")),
            (
                "component",
                format!(
                    "<span class=\"rk\">1.</span>{img}{quotes}<small class=\"note\">{text}</small>"
                ),
            ),
            (
                "suite",
                format!(
                    "<th scope=\"row\">{text}<small class=\"note\">{img} · phase {quotes} · 10 runs"
                ),
            ),
            (
                "failing test",
                format!("<strong>{img}</strong> · {text} · "),
            ),
            ("failure message", format!("<p class=\"msg\">{text}</p>")),
            (
                "flaky test",
                format!("<li><strong>{text}</strong> · {text} · flipped"),
            ),
            (
                "operation",
                format!("<h3>{text}{quotes} <small class=\"note\">{img}</small></h3>"),
            ),
            // HTML attributes.
            (
                "operation table label",
                format!("aria-label=\"{text}{quotes}: old and new system, table\""),
            ),
            // SVG text, tooltips and labels.
            ("Gantt label", ">&lt;script&gt;alert(1)…</text>".to_owned()),
            ("Gantt tooltip", format!("<g><title>{svg}: ")),
            (
                "Gantt blocker",
                format!("blocked by {svg}, alert “{svg_img}”"),
            ),
            ("milestone tooltip", format!("<title>{svg_img} — 2025-")),
            (
                "component bar",
                format!("aria-label=\"{svg_img}{svg_quotes}: datasets migrated\""),
            ),
            (
                "sparkline",
                format!("aria-label=\"{svg}: pass rate of the last 10 runs"),
            ),
            (
                "performance bars",
                format!("aria-label=\"{svg}{svg_quotes}: median (p50)"),
            ),
            (
                "performance bar tooltip",
                format!("<title>{svg}{svg_quotes}, old system: p50 "),
            ),
            ("regression line", format!("; worst: {text}{quotes}, +")),
        ];
        for (place, want) in cases {
            assert!(html.contains(&want), "{place}: {want}");
        }
    }

    #[test]
    fn sections_appear_only_with_their_data() {
        let html = render(&plan_data());
        for id in ["health", "timeline", "components", "tests", "performance"] {
            assert!(!html.contains(&format!("id=\"{id}\"")), "{id}");
            assert!(!html.contains(&format!("href=\"#{id}\"")), "{id}");
        }
        // Without the plan's views, the plain progress block stays.
        assert!(html.contains(r#"<section id="progress""#));

        let html = render(&full_data());
        assert!(
            !html.contains(r#"<section id="progress""#),
            "merged into the summary"
        );
        for id in ["health", "timeline", "components", "tests", "performance"] {
            assert!(html.contains(&format!("<section id=\"{id}\"")), "{id}");
            assert!(html.contains(&format!("<li><a href=\"#{id}\">")), "{id}");
        }
        // The summary comes first.
        assert!(html.find(r#"<section id="health""#) < html.find(r#"<section id="timeline""#));

        // Test results and benchmarks without a plan, and a plan without operations.
        let mut d = empty_data();
        let full = full_data();
        d.tests = full.tests.clone();
        d.performance = full.performance.clone();
        let html = render(&d);
        assert!(html.contains(r#"<section id="tests""#));
        assert!(html.contains(r#"<section id="performance""#));
        assert!(html.contains("No operations recorded yet"));
        assert!(!html.contains(r#"<section id="health""#));
        let mut d = empty_data();
        d.migration = full.migration.clone();
        d.views = full.views.clone();
        let html = render(&d);
        assert!(html.contains(r#"<section id="health""#));
        assert!(html.contains(r#"<section id="timeline""#));
        assert!(html.contains("No operations recorded yet"));
        assert!(!html.contains("href=\"#recent\""));
    }

    #[test]
    fn executive_summary_tells_health_by_shape_and_word() {
        let d = full_data();
        let html = render(&d);
        assert!(html.contains(
            r#"Overall status: <strong class="hl bad" data-live="overall_health"><span aria-hidden="true">✗</span> Critical</strong> <span class="week">Week 9 of 21</span>"#
        ));
        assert!(
            html.contains("<li>Critical alert &#34;Rollback rate above 5%&#34; is firing.</li>")
        );
        let s = &d.views.as_ref().unwrap().summary;
        let e = s.estimated_completion.clone().expect("a forecast");
        assert!(html.contains(&format!(
            "<dd><span data-live=\"estimated_completion\">{}</span><small data-live=\"completion_range\">P50 {} – P95 {}</small>",
            e.p85, e.p50, e.p95
        )));
        assert!(e.slip_days < 0);
        assert!(html.contains(&format!(
            "</span> {} days before the planned end 2025-06-02</small>",
            -e.slip_days
        )));
        assert!(html.contains(r#"<dd><span data-live="datasets_migrated">156</span> / <span data-live="datasets_total">412</span></dd>"#));
        assert!(html.contains(
            r#"<dd><span data-live="success_rate">94.1%</span><small>of 170 attempts</small></dd>"#
        ));
        assert!(html.contains(r#"<dd><span data-live="rollback_count">4</span></dd>"#));
        let delta = s.key_metrics.performance_delta.expect("benchmarks");
        assert!(html.contains(&format!(
            "<dd><span>{delta:+.1}%</span><small>median change of p50 (negative: the new system is faster)</small>"
        )));
        assert!(html.contains("2 blockers require attention"));
        assert!(html.contains("<strong>Rollback rate above 5%</strong> <small class=\"note\">critical alert · storage · since <time"));
        assert_eq!(html.matches("<ol class=\"recs\">").count(), 1);
        for r in &s.recommendations {
            let first = r.split('`').next().unwrap().replace('"', "&#34;");
            assert!(html.contains(&format!("<li>{first}")), "{r}");
        }
        assert!(html.contains("act on it first (<code>mhd alerts</code>).</li>"));
        // Healthy and at risk have their own shapes.
        assert_eq!(
            super::super::summary::health_badge(mhd_core::summary::Health::Healthy).symbol,
            "●"
        );
        assert_eq!(
            super::super::summary::health_badge(mhd_core::summary::Health::AtRisk).symbol,
            "▲"
        );
    }

    #[test]
    fn without_a_forecast_the_completion_says_why() {
        let mut d = full_data();
        let s = &mut d.views.as_mut().unwrap().summary;
        s.estimated_completion = None;
        s.recommendations = vec![
            "No datasets migrated in the last 28 days: no completion date can be forecast."
                .to_owned(),
        ];
        let html = render(&d);
        assert!(html.contains(
            "<dd><span data-live=\"estimated_completion\">—</span><small data-live=\"completion_range\">No forecast: No datasets migrated in the last 28 days: no completion \
             date can be forecast.</small></dd>"
        ));
        s_without_datasets(&mut d);
        assert!(render(&d).contains("No forecast: the plan counts no datasets</small>"));
    }

    fn s_without_datasets(d: &mut DashboardData) {
        d.views.as_mut().unwrap().summary.key_metrics.datasets_total = 0;
    }

    #[test]
    fn timeline_shows_every_phase_in_the_chart_and_the_table() {
        let d = full_data();
        let html = render(&d);
        let phases = &d.views.as_ref().unwrap().timeline;
        assert_eq!(phases.len(), 8);
        assert_eq!(html.matches(r#"<svg class="chart gantt""#).count(), 1);
        for p in phases {
            assert!(html.contains(&format!(">{}</text>", p.name)), "{}", p.name);
            assert!(
                html.contains(&format!(
                    "<th scope=\"row\">{}<details class=\"why\">",
                    p.name
                )),
                "{}",
                p.name
            );
        }
        // Status in words beside each bar, and in the table.
        assert!(html.contains(">✓ done</text>"));
        assert!(html.contains(">✗ blocked</text>"));
        assert!(html.contains(">○ planned</text>"));
        assert!(html.contains("% in progress"));
        assert!(
            html.contains(
                r#"<span class="st bad"><span aria-hidden="true">✗</span> blocked</span>"#
            )
        );
        assert!(
            html.contains("<td class=\"wr\">Abstraction, alert “Feature store unreachable”</td>")
        );
        // The blocked bar is hatched; today is marked.
        assert!(html.contains(r#"<rect class="gx" fill="url(#gt-h)""#));
        assert!(html.contains(">today 2025-03-03</text>"));
        assert!(html.contains("Week 1 starts 2025-01-06"));
        // Milestones: a tooltip each, and their status in the table.
        let milestones: usize = phases.iter().map(|p| p.milestones.len()).sum();
        assert_eq!(html.matches(" — 2025-").count(), milestones);
        assert!(html.contains(r#"<span class="st bad"><span aria-hidden="true">✗</span> missed</span> Old storage behind the interface"#));
        assert!(html.contains("<small class=\"note\">due 2025-01-17 · reached 2025-01-17</small>"));
    }

    #[test]
    fn component_matrix_tells_health_in_symbols_and_words() {
        let d = full_data();
        let html = render(&d);
        assert!(html.contains(
            r#"<span class="st ok"><span aria-hidden="true">✓</span> healthy</span> 100.0%"#
        ));
        assert!(html.contains(
            r#"<span class="st mut"><span aria-hidden="true">—</span> no data</span></td>"#
        ));
        assert!(html.contains(
            r#"<span class="st warn"><span aria-hidden="true">⚠</span> degraded</span>"#
        ));
        assert!(html.contains(r#"aria-label="Storage: datasets migrated""#));
        assert!(html.contains("58%<small class=\"note\">116 / 200</small>"));
        assert!(html.contains("<td>—<small class=\"note\">no datasets</small></td>"));
        assert!(html.contains("<td class=\"n\">-12.5%<small class=\"note\">faster</small></td>"));
        assert!(html.contains("<td class=\"n\">—<small class=\"note\">no suites</small></td>"));
        assert!(
            html.contains("title=\"old system: 1,000 operations, 0 failed, error rate 0.0%, p95 ")
        );
    }

    #[test]
    fn test_results_show_trend_status_failures_and_flaky_tests() {
        let d = full_data();
        let html = render(&d);
        let t = d.tests.as_ref().unwrap();
        assert_eq!(
            html.matches(r#"<svg class="chart spark""#).count(),
            t.suites.len()
        );
        assert!(
            html.contains(
                r#"<span class="st bad"><span aria-hidden="true">✗</span> failing</span>"#
            )
        );
        assert!(html.contains("Failing tests (9)"));
        assert!(html.contains("<strong>tests.unit::test_unit_002</strong> · unit · <span class=\"bad\">failed</span> · failing since <time datetime=\"2025-03-03T09:00:00Z\""));
        assert!(html.contains(">3h ago</time>, 3 runs in a row</p>"));
        assert!(html.contains(
            "<p class=\"msg\">AssertionError: expected 200 rows in sales_002, got 199</p>"
        ));
        assert!(html.contains("Flaky tests (3)"));
        assert!(
            html.contains(
                "<li><strong>tests.unit::test_flaky_lock</strong> · unit · flipped 6 times"
            )
        );
        assert!(html.contains("76.9%<small class=\"note\">10 / 13 passed</small>"));
    }

    #[test]
    fn performance_shows_both_systems_their_change_and_a_verdict() {
        let d = views_data(1, 2, 0, 9);
        let html = render(&d);
        assert!(html.contains("<th scope=\"row\">Delta</th>"));
        for verdict in ["improved", "regression", "no clear change"] {
            assert!(
                html.contains(&format!("</span> {verdict}</span></strong>")),
                "{verdict}"
            );
        }
        let regressions = d.performance.iter().filter(|c| c.regression).count();
        assert!(regressions > 0);
        assert!(html.contains(&format!(
            "</span> {regressions} operations showing a regression: the new system&#39;s p50"
        )));
        assert!(html.contains("Mann-Whitney U: p = "));
        // A pair of bars per operation, the new one with its change.
        assert_eq!(html.matches(">Old</text>").count(), 9);
        assert!(html.contains("ms (-38.0%)</text>") || html.contains("ms (-"));
    }

    #[test]
    fn the_page_loads_nothing_from_anywhere() {
        for html in [
            render(&empty_data()),
            render(&plan_data()),
            render(&large_data()),
            render(&full_data()),
        ] {
            assert_eq!(
                html.matches("<script").count(),
                1,
                "no script but the charts' read-out, inline"
            );
            assert!(html.contains(&format!(
                "<script>{}</script>",
                crate::assets::charts_js_inline()
            )));
            // The charts name the SVG namespace, which loads nothing.
            let html = html.replace("http://www.w3.org/2000/svg", "");
            assert!(!html.contains("http://") && !html.contains("https://"));
            assert!(!html.contains("url(//") && !html.contains("@import"));
            for attr in ["src=", "href="] {
                for (i, _) in html.match_indices(attr) {
                    let value = &html[i + attr.len()..];
                    // `data:,` is the empty icon that keeps browsers from asking for one.
                    assert!(
                        value.starts_with("\"#") || value.starts_with("\"data:,\""),
                        "{attr} must point inside the page: {}",
                        &value[..value.len().min(40)]
                    );
                }
            }
            // Chart fills reference in-page patterns only.
            for (i, _) in html.match_indices("url(") {
                assert!(html[i + 4..].starts_with('#'), "url( must be in-page");
            }
        }
    }

    #[test]
    fn structure_is_accessible() {
        for (html, charts) in [(render(&plan_data()), 3), (render(&full_data()), 11)] {
            page_structure_is_accessible(&html, charts);
        }
    }

    fn page_structure_is_accessible(html: &str, charts: usize) {
        for tag in [
            "<header",
            "<main id=\"main\">",
            "<nav aria-label=\"Sections\">",
            "<html lang=\"en\">",
        ] {
            assert!(html.contains(tag), "{tag}");
        }
        // Every section is labelled by a heading with that id.
        for (i, _) in html.match_indices("<section ") {
            let rest = &html[i..];
            let id = rest
                .split("aria-labelledby=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .expect("labelled");
            assert!(html.contains(&format!("<h2 id=\"{id}\">")), "{id}");
        }
        // Every link of the navigation leads to a section, and every section has a link.
        let nav = &html[html.find("<nav").expect("nav")..html.find("</nav>").expect("nav")];
        let links: Vec<&str> = nav
            .split("href=\"#")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .collect();
        // The overview's panels at the top link to the sections instead.
        let sections = html.matches("<section ").count() - html.matches(r#" class="panel"#).count();
        assert_eq!(links.len(), sections, "{links:?}");
        for id in links {
            assert!(html.contains(&format!("<section id=\"{id}\"")), "{id}");
        }
        // Headings never skip a level.
        let mut last = 1;
        for (i, _) in html
            .match_indices("<h")
            .filter(|(i, _)| html[i + 2..].starts_with(|c: char| c.is_ascii_digit()))
        {
            let level = html.as_bytes()[i + 2] - b'0';
            assert!(level <= last + 1, "h{level} after h{last}");
            last = level;
        }
        assert_eq!(
            html.matches("<th scope=").count(),
            html.matches("<th ").count() + html.matches("<th>").count()
        );
        assert!(html.contains("prefers-color-scheme:dark") && html.contains("@media print"));
        assert_eq!(html.matches(r#"role="img""#).count(), charts);
        // Scrollable regions can be reached with the keyboard.
        assert_eq!(
            html.matches(r#"<div class="tw""#).count(),
            html.matches(r#"<div class="tw" role="region" aria-label=""#)
                .count()
        );
        assert_eq!(
            html.matches(r#"role="region""#).count(),
            html.matches(r#"role="region" aria-label="#).count()
        );
    }

    #[test]
    fn a_large_dashboard_stays_small() {
        let html = render(&large_data());
        // Each chart carries its own colours (so the report's renderer draws it as the page
        // does) and its read-out's data, the page the read-out's script (about 4 KB), and the
        // overview's panels repeat the answers above the sections.
        assert!(html.len() < 80_000, "{} bytes", html.len());
        assert!(!html.contains("NaN"));
        // 720 hourly buckets are summed into days.
        assert!(html.contains("Each column is 1 day (UTC days)."));
    }

    #[test]
    fn a_full_dashboard_stays_small() {
        // 8 phases, 4 components, 5 suites of 10 runs with 20 failing tests each, 10
        // operations, besides the large operations data.
        let mut d = views_data(5, 60, 20, 10);
        let large = large_data();
        d.summary = large.summary;
        d.over_time = large.over_time;
        d.recent = large.recent;
        let html = render(&d);
        // The overview's panels repeat the answers above the sections, and each chart carries
        // its own colours and read-out data.
        assert!(html.len() < 160_000, "{} bytes", html.len());
        assert!(!html.contains("NaN") && !html.contains("inf%"));
        let v = d.views.as_ref().unwrap();
        assert_eq!(v.timeline.len(), 8);
        assert_eq!(v.components.len(), 4);
        let t = d.tests.as_ref().unwrap();
        assert_eq!(t.suites.len(), 5);
        assert!(t.suites.iter().all(|s| s.trend.len() == 10));
        assert!(t.suites.iter().all(|s| s.failing_tests.len() == 20));
        assert_eq!(d.performance.len(), 10);
        // Every suite, phase and operation is shown; failing tests are listed ten a suite.
        assert_eq!(html.matches(r#"<svg class="chart spark""#).count(), 5);
        assert_eq!(html.matches("<div class=\"op\">").count(), 10);
        assert_eq!(html.matches("<p class=\"msg\">AssertionError").count(), 50);
        assert!(html.contains("50 more failing tests not listed here"));
    }

    #[test]
    fn buckets_are_grouped_into_round_periods() {
        let hourly: Vec<Bucket> = (0..720)
            .map(|h| Bucket {
                start: datetime!(2025-02-01 0:00 UTC) + Duration::hours(h),
                count: 1,
                errors: 0,
            })
            .collect();
        // 720 hours need periods of 15 hours at least: the next round length is a day.
        let (p, span) = group_buckets(&hourly, 3600, offset!(+1));
        assert_eq!((p.len(), span), (30, 86_400));
        assert!(p.iter().all(|p| p.count == 24));
        assert_eq!(p[1].start, datetime!(2025-02-02 0:00 UTC));
        // Few enough buckets are kept as they are.
        let (p, span) = group_buckets(&hourly[..48], 3600, UtcOffset::UTC);
        assert_eq!((p.len(), span), (48, 3600));
        // Periods shorter than a day start on round local hours, so the first may be partial.
        let (p, span) = group_buckets(&hourly[..100], 3600, offset!(+1));
        assert_eq!(span, 10_800);
        assert_eq!((p[0].count, p[1].count), (2, 3));
        assert_eq!(p[1].start, datetime!(2025-02-01 2:00 UTC));
        assert_eq!(p[0].end, p[1].start);
        assert_eq!(p.iter().map(|p| p.count).sum::<u64>(), 100);
        assert!(p.len() <= MAX_COLUMNS + 1);
        let daily: Vec<Bucket> = (0..90)
            .map(|d| Bucket {
                start: datetime!(2025-01-01 0:00 UTC) + Duration::days(d),
                count: 2,
                errors: 1,
            })
            .collect();
        let (p, span) = group_buckets(&daily, 86_400, offset!(-5));
        // Two-day periods start on even days since 1970: 2025-01-01 is an odd one.
        assert_eq!((p.len(), span), (46, 172_800));
        assert_eq!((p[0].count, p[1].count, p[45].count), (2, 4, 2));
        assert_eq!(p.iter().map(|p| p.errors).sum::<u64>(), 90);
        assert_eq!(group_buckets(&[], 3600, UtcOffset::UTC).0, Vec::new());
        // A nonsensical bucket length does not divide by zero.
        assert_eq!(group_buckets(&daily[..2], 0, UtcOffset::UTC).0.len(), 2);
    }

    #[test]
    fn day_periods_are_labelled_by_utc_date() {
        let daily: Vec<Bucket> = (0..3)
            .map(|d| Bucket {
                start: datetime!(2025-01-01 0:00 UTC) + Duration::days(d),
                count: 2,
                errors: 1,
            })
            .collect();
        let (chart, note, rows) = over_time(&daily, 86_400, offset!(-5));
        assert_eq!(note, "Each column is 1 day (UTC days).");
        assert_eq!(rows[0].period, "2025-01-01");
        assert!(chart.contains("<title>2025-01-01: 2 operations, 1 failed</title>"));
        assert!(chart.contains(">01 Jan</text>"));
        let (_, _, rows) = over_time(&daily, 3600 * 24, UtcOffset::UTC);
        assert_eq!(rows.len(), 3);
    }

    #[test]
    fn hour_periods_are_labelled_in_local_time() {
        let hourly = [Bucket {
            start: datetime!(2025-01-01 23:00 UTC),
            count: 3,
            errors: 0,
        }];
        let (chart, note, rows) = over_time(&hourly, 3600, offset!(+2));
        assert_eq!(note, "Each column is 1 hour; times in UTC+02:00.");
        assert_eq!(rows[0].period, "2025-01-02 01:00 – 02:00");
        assert!(chart.contains(">02 Jan 01:00</text>"));
    }
}
