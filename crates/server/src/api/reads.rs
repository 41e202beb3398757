//! The API's reads: each view as the same JSON document as the CLI's `--json` of that view,
//! computed from the store (and the plan) at the time of the request.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use mhd_core::datasets::{DatasetRow, StateCounts};
use mhd_core::plan::Plan;
use mhd_store::retention::Resolution;
use mhd_store::{OperationFilter, Store};
use mhd_web::views::LATEST_LOOKBACK;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use utoipa::IntoParams;

use super::{NoParams, Query};
use crate::error::ApiError;
use crate::state::AppState;

/// Rows `GET /api/v1/operations` returns without `limit`.
pub const DEFAULT_LIMIT: u32 = 100;
/// The most rows `GET /api/v1/operations` returns.
pub const MAX_LIMIT: u32 = 1000;

/// The plan, or 409 `no_plan`.
fn plan(state: &AppState) -> Result<std::sync::Arc<Plan>, ApiError> {
    state.plan().ok_or_else(ApiError::no_plan)
}

/// The view model as of now, shared through the state's cache; with `needs_plan`, 409
/// without a plan.
async fn model(
    state: &AppState,
    needs_plan: bool,
) -> Result<std::sync::Arc<mhd_core::model::ViewModel>, ApiError> {
    if needs_plan {
        plan(state)?;
    }
    Ok(state.model().await?)
}

/// `GET /api/v1/health/summary`: the executive summary (`mhd summary --json`).
pub async fn summary(
    State(state): State<AppState>,
    _: Query<NoParams>,
) -> Result<Response, ApiError> {
    Ok(Json(&model(&state, true).await?.summary).into_response())
}

/// `GET /api/v1/migration/timeline`: the phases (`mhd timeline --json`).
pub async fn timeline(
    State(state): State<AppState>,
    _: Query<NoParams>,
) -> Result<Response, ApiError> {
    Ok(Json(&model(&state, true).await?.timeline).into_response())
}

/// The parameters of `GET /api/v1/components/health`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ComponentsParams {
    /// The answer's shape: see `shape_schema`.
    #[param(schema_with = shape_schema)]
    pub shape: Option<String>,
}

/// The schema of `shape`, with its description.
fn shape_schema() -> utoipa::openapi::Object {
    super::openapi::string_enum(
        &["list", "object"],
        Some("list"),
        "`list` (the default): an array ordered worst first; `object`: an object keyed by \
         component id, as the specification's `components/health`.",
    )
}

/// `GET /api/v1/components/health?shape=list|object`: the component matrix (`mhd components
/// --json`), a list worst first (`list`, the default), or the specification's object keyed by
/// component id (`object`), each value the same row. One route with a parameter rather than a
/// second route: it is one resource in two shapes, and the specification's path itself
/// answers the specification's shape.
pub async fn components(
    State(state): State<AppState>,
    Query(query): Query<ComponentsParams>,
) -> Result<Response, ApiError> {
    let keyed = match query.shape.as_deref() {
        None | Some("list") => false,
        Some("object") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "parameter `shape`: {other:?} is not one of list, object"
            )));
        }
    };
    let m = model(&state, true).await?;
    if !keyed {
        return Ok(Json(&m.components).into_response());
    }
    let by_id: serde_json::Map<String, serde_json::Value> = m
        .components
        .iter()
        .map(|c| Ok((c.component.clone(), serde_json::to_value(c)?)))
        .collect::<Result<_, serde_json::Error>>()
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(by_id).into_response())
}

/// The parameters of `GET /api/v1/metrics/live`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LiveParams {
    /// The start of the live figures' span: a time (RFC 3339 or YYYY-MM-DD), a span back from
    /// now such as 30m or 24h, or `now`. Default: 5 minutes before its end. At most 7 days
    /// before its end (400 naming the parameters).
    #[param(min_length = 1)]
    pub since: Option<String>,
    /// The end of the span, written as `since`; now at the latest. Default: now.
    #[param(min_length = 1)]
    pub until: Option<String>,
}

/// `GET /api/v1/metrics/live?since&until`: the live metrics over the last
/// [`mhd_core::live::DEFAULT_WINDOW`] against the window before it, with the datasets being
/// migrated, memory, queue depth and workers from the samples (see [`crate::live_metrics`]), as the
/// WebSocket pushes them; with `since` or `until`, over that span (the live page's, see
/// [`crate::range::live_span`]).
pub async fn live(
    State(state): State<AppState>,
    Query(query): Query<LiveParams>,
) -> Result<Response, ApiError> {
    let slip = state.views().latest().and_then(|v| v.slip_days());
    let now = state.now();
    let range = crate::range::of_api(query.since.as_deref(), query.until.as_deref(), now)?;
    let metrics = match range {
        Some(range) => {
            let span = crate::range::live_span(&range, now)?;
            crate::live_metrics::metrics_over(state.store(), state.plan().as_deref(), span, slip)
                .await?
        }
        None => {
            crate::live_metrics::metrics(state.store(), state.plan().as_deref(), now, slip).await?
        }
    };
    Ok(Json(metrics).into_response())
}

/// The parameters of `GET /api/v1/tests`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TestsParams {
    /// The range's start (inclusive): a time (RFC 3339 or YYYY-MM-DD), a span back from now
    /// such as 30m or 7d, or `now`. Not after `until` (400 naming `since`). Default: no start.
    #[param(min_length = 1)]
    pub since: Option<String>,
    /// The range's end (exclusive), written as `since`. Default: no end.
    #[param(min_length = 1)]
    pub until: Option<String>,
}

/// `GET /api/v1/tests?since&until`: the test results view (`mhd tests --json`), with the
/// plan's thresholds when there is a plan; with `since` or `until` (read as
/// `GET /api/v1/samples` reads them), of each suite's last runs in `[since, until)` alone.
pub async fn tests(
    State(state): State<AppState>,
    Query(query): Query<TestsParams>,
) -> Result<Response, ApiError> {
    let range = crate::range::of_api(query.since.as_deref(), query.until.as_deref(), state.now())?;
    if let Some(range) = range {
        let view = crate::range::tests_in(&state, &range).await?;
        return Ok(match view {
            Some(t) => Json(t).into_response(),
            None => Json(mhd_core::testview::tests_view(&[], &Default::default())).into_response(),
        });
    }
    let m = model(&state, false).await?;
    Ok(match &m.tests {
        Some(t) => Json(t).into_response(),
        None => Json(mhd_core::testview::tests_view(&[], &Default::default())).into_response(),
    })
}

/// `GET /api/v1/performance`: old against new per operation (`mhd perf --json`).
pub async fn performance(
    State(state): State<AppState>,
    _: Query<NoParams>,
) -> Result<Response, ApiError> {
    let m = model(&state, false).await?;
    Ok(Json(&m.performance).into_response())
}

/// The parameters of `GET /api/v1/datasets`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DatasetsParams {
    /// The state: see `dataset_state_schema`.
    #[param(schema_with = dataset_state_schema)]
    pub state: Option<String>,
    /// Only datasets of this component.
    pub component: Option<String>,
}

/// The schema of `state`, with its description.
fn dataset_state_schema() -> utoipa::openapi::Object {
    use mhd_core::datasets::DatasetState;
    let names: Vec<&str> = DatasetState::ALL.iter().map(|s| s.as_str()).collect();
    super::openapi::string_enum(&names, None, "Only datasets in this state.")
}

/// A dataset filter's `state` and `component` from the query, or 400 naming what is wrong.
/// An empty value means "any" where `empty_is_any` (a page's form sends one), else it is
/// refused.
pub(crate) fn dataset_filter(
    state: Option<&str>,
    component: Option<&str>,
    empty_is_any: bool,
) -> Result<(Option<mhd_core::datasets::DatasetState>, Option<String>), ApiError> {
    use mhd_core::datasets::DatasetState;
    if !empty_is_any {
        for (name, value) in [("state", state), ("component", component)] {
            if value == Some("") {
                return Err(ApiError::bad_request(format!(
                    "parameter `{name}`: must not be empty"
                )));
            }
        }
    }
    let state = match state {
        None | Some("") => None,
        Some(v) => Some(DatasetState::from_name(v).ok_or_else(|| {
            let names: Vec<&str> = DatasetState::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::bad_request(format!(
                "parameter `state`: {v:?} is not one of {}",
                names.join(", ")
            ))
        })?),
    };
    let component = component.filter(|c| !c.is_empty()).map(str::to_owned);
    Ok((state, component))
}

/// `GET /api/v1/datasets?state&component`: every dataset with its state, component, last
/// operation and marks, by name; `counts` per state of the datasets that count (the plan's
/// datasets not seen yet are pending), `total` the plan's. `state=migrated` includes verified
/// datasets, as every "migrated" figure does.
pub async fn datasets(
    State(state): State<AppState>,
    Query(query): Query<DatasetsParams>,
) -> Result<Response, ApiError> {
    let (wanted, component) =
        dataset_filter(query.state.as_deref(), query.component.as_deref(), false)?;
    let m = model(&state, false).await?;
    let book = &m.datasets;
    let (counts, total) = match component.as_deref() {
        Some(c) => match book.component(c) {
            Some(cd) => (cd.states, cd.total),
            None => (Default::default(), None),
        },
        None => (book.states, book.total),
    };
    let datasets: Vec<_> = book.filter(wanted, component.as_deref()).collect();
    Ok(Json(DatasetsList {
        total,
        counts,
        migrated: counts.migrated_total(),
        unplanned: book.unplanned,
        datasets,
    })
    .into_response())
}

/// The answer of `GET /api/v1/datasets`: the datasets asked for, with the counts of the
/// datasets that count.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DatasetsList<'a> {
    /// The plan's number of datasets (of the component asked for); null when the plan does
    /// not give one.
    pub total: Option<u64>,
    /// The datasets that count, per state (the plan's datasets not seen yet are pending).
    pub counts: StateCounts,
    /// The datasets that count and are migrated, verified ones included.
    pub migrated: u64,
    /// Datasets seen that the plan does not list (counted nowhere).
    pub unplanned: u64,
    /// The datasets, by name.
    pub datasets: Vec<&'a DatasetRow>,
}

/// `GET /api/v1/resources`: resource utilization (the specification's `ResourceMetrics`) from
/// the newest sample of each series over the last [`LATEST_LOOKBACK`] (a series without a
/// sample in it is not current and its figure is absent); the metric names
/// and the rules are those of [`mhd_core::sample`].
pub async fn resources(
    State(state): State<AppState>,
    _: Query<NoParams>,
) -> Result<Response, ApiError> {
    let now = state.now();
    let latest = state.store().latest_samples(now - LATEST_LOOKBACK).await?;
    Ok(Json(mhd_core::sample::resource_metrics(&latest, now)).into_response())
}

/// The parameters of `GET /api/v1/resources/history`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResourcesHistoryParams {
    /// The span back from now, such as 1h, 7d or 90d (1 minute to 400 days; default 1h).
    #[param(default = "1h")]
    pub range: Option<String>,
    /// The metrics, comma-separated (at most 50; default the resource page's charted
    /// metrics).
    pub metric: Option<String>,
    /// The range's start (inclusive): a time (RFC 3339 or YYYY-MM-DD), a span back from now
    /// such as 30m or 7d, or `now`. Not after `until` (400 naming `since`). Default: an hour
    /// before `until`.
    #[param(min_length = 1)]
    pub since: Option<String>,
    /// The range's end (exclusive), written as `since`. Default: now.
    #[param(min_length = 1)]
    pub until: Option<String>,
}

/// The most metrics one `GET /api/v1/resources/history` names.
const MAX_HISTORY_METRICS: usize = 50;

/// `GET /api/v1/resources/history?range|since&until&metric`: each series of the metrics over
/// the last `range` (an hour by default), or over `[since, until)` (read as
/// `GET /api/v1/samples` reads them; `until` defaults to now and `since` to an hour before
/// it), from the raw samples or the aggregates retention keeps
/// ([`crate::resources::history_buckets`]).
pub async fn resources_history(
    State(state): State<AppState>,
    Query(query): Query<ResourcesHistoryParams>,
) -> Result<Response, ApiError> {
    let now = state.now();
    let range = crate::range::from_values(
        query.range.as_deref(),
        query.since.as_deref(),
        query.until.as_deref(),
        now,
        false,
    )?;
    let until = range.as_ref().and_then(|r| r.until).unwrap_or(now);
    let since = range
        .as_ref()
        .and_then(|r| r.since)
        .unwrap_or(until - mhd_web::views::CHART_SPAN);
    crate::range::check_order(since, until)?;
    if until - since > mhd_web::views::MAX_SPAN {
        return Err(ApiError::bad_request(format!(
            "parameters `since` and `until`: a span of at most {} days",
            mhd_web::views::MAX_SPAN.whole_days()
        )));
    }
    let metrics: Vec<&str> = match query.metric.as_deref() {
        None => mhd_web::views::CHART_METRICS.to_vec(),
        given => metric_names(given)?,
    };
    let (resolution, bucket, buckets) = crate::resources::history_between(
        state.store(),
        state.plan().as_deref(),
        &metrics,
        since,
        until,
        now,
    )
    .await?;
    Ok(Json(ResourceHistory {
        since,
        until,
        resolution,
        bucket_seconds: bucket.whole_seconds(),
        series: series_of(buckets),
    })
    .into_response())
}

/// The answer of `GET /api/v1/resources/history`: each series of the metrics over the span.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResourceHistory {
    /// The span's start.
    #[serde(serialize_with = "super::utc")]
    pub since: OffsetDateTime,
    /// The span's end.
    #[serde(serialize_with = "super::utc")]
    pub until: OffsetDateTime,
    /// What was read: the raw samples or the 1-minute, 1-hour or 1-day aggregates.
    pub resolution: Resolution,
    /// The length of a bucket, in seconds.
    pub bucket_seconds: i64,
    /// The series, by metric.
    pub series: Vec<SampleSeries>,
}

/// One series of samples (a metric, its component and labels) over a span, a point per
/// bucket.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SampleSeries {
    /// The metric.
    pub metric: String,
    /// The component its samples name, if any.
    pub component: Option<String>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// The unit of its samples, if given.
    pub unit: Option<String>,
    /// A point per bucket that holds samples, oldest first.
    pub points: Vec<SamplePoint>,
}

/// The samples of one series in one bucket.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SamplePoint {
    /// The bucket's start.
    #[serde(serialize_with = "super::utc")]
    pub start: OffsetDateTime,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
    /// The mean of the values.
    pub mean: f64,
    /// How many values.
    pub count: u64,
}

/// The metric names of a `metric` parameter (comma-separated), or 400.
fn metric_names(v: Option<&str>) -> Result<Vec<&str>, ApiError> {
    let metrics: Vec<&str> = v
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .collect();
    if metrics.is_empty()
        || metrics.len() > MAX_HISTORY_METRICS
        || metrics
            .iter()
            .any(|m| m.len() > 200 || m.chars().any(char::is_control))
    {
        return Err(ApiError::bad_request(format!(
            "parameter `metric`: from 1 to {MAX_HISTORY_METRICS} metric names, comma-separated"
        )));
    }
    Ok(metrics)
}

/// Buckets as series: each series (metric, component, labels) with its unit and its points,
/// by metric.
fn series_of(buckets: Vec<mhd_store::retention::SampleBucket>) -> Vec<SampleSeries> {
    let mut series: Vec<SampleSeries> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for b in buckets {
        let key = format!("{}\u{1f}{:?}\u{1f}{:?}", b.metric, b.component, b.labels);
        let point = SamplePoint {
            start: b.start,
            min: b.min,
            max: b.max,
            mean: b.mean(),
            count: b.count,
        };
        let i = *index.entry(key).or_insert_with(|| {
            series.push(SampleSeries {
                metric: b.metric,
                component: b.component,
                labels: b.labels,
                unit: b.unit,
                points: Vec::new(),
            });
            series.len() - 1
        });
        series[i].points.push(point);
    }
    series.sort_by(|a, b| a.metric.cmp(&b.metric));
    series
}

/// The parameters of `GET /api/v1/samples`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SamplesParams {
    /// The metrics, comma-separated (1 to 50).
    #[param(required = true)]
    pub metric: Option<String>,
    /// Only this component's series.
    pub component: Option<String>,
    /// The span's start: a time (RFC 3339 or a date), a span back from now such as 30m or 7d,
    /// or `now` (default: an hour before `until`).
    pub since: Option<String>,
    /// The span's end, written as `since` (default: now).
    pub until: Option<String>,
    /// The buckets' length, such as 15s, 5m or 1h (default: a sixtieth of the span).
    pub step: Option<String>,
}

/// The most points of one series `GET /api/v1/samples` answers with.
pub const MAX_POINTS: i64 = 10_000;

/// `GET /api/v1/samples?metric&component&since&until&step`: every series of the metrics
/// (pushed, or written by a collector: a Prometheus query's name is its metric) over
/// `[since, until)` in buckets of `step`, each with min, max, mean and count. `since` and
/// `until` are times (RFC 3339 or a date), spans back from now (`30m`, `7d`) or `now`; `until`
/// defaults to now and `since` to an hour before `until`. `step` (`15s`, `5m`, `1h`) defaults
/// to a sixtieth of the span; it is rounded up to whole rows of what the span is read from:
/// the raw samples for a short recent span, else the 1-minute, 1-hour or 1-day aggregates
/// retention keeps (`resolution` in the answer). `component` keeps that component's series.
pub async fn samples(
    State(state): State<AppState>,
    Query(query): Query<SamplesParams>,
) -> Result<Response, ApiError> {
    let metrics = metric_names(query.metric.as_deref())?;
    let now = state.now();
    let range = crate::range::of_api(query.since.as_deref(), query.until.as_deref(), now)?;
    let until = range.as_ref().and_then(|r| r.until).unwrap_or(now);
    let since = range
        .as_ref()
        .and_then(|r| r.since)
        .unwrap_or(until - mhd_web::views::CHART_SPAN);
    crate::range::check_order(since, until)?;
    let span = until - since;
    if span > mhd_web::views::MAX_SPAN {
        return Err(ApiError::bad_request(format!(
            "parameters `since` and `until`: a span of at most {} days",
            mhd_web::views::MAX_SPAN.whole_days()
        )));
    }
    let step = query
        .step
        .as_deref()
        .map(|v| {
            mhd_core::time_parse::parse_duration(v)
                .ok()
                .filter(|d| *d >= time::Duration::seconds(1))
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "parameter `step`: {v:?} is not a span of at least 1s (`15s`, `5m`, `1h`)"
                    ))
                })
        })
        .transpose()?;
    let resolution = Resolution::for_span(
        since,
        until,
        now,
        crate::retention::settings(state.plan().as_deref()).samples,
    );
    let unit = time::Duration::microseconds(resolution.unit_us().max(1_000_000));
    let wanted = step.unwrap_or(span / mhd_web::views::CHART_BUCKETS as u32);
    let rows = ((wanted.whole_microseconds() + unit.whole_microseconds() - 1)
        / unit.whole_microseconds())
    .max(1);
    let bucket = unit * rows as i32;
    let points = span.whole_microseconds() / bucket.whole_microseconds();
    if points > i128::from(MAX_POINTS) {
        let least = span / MAX_POINTS as u32;
        return Err(ApiError::bad_request(format!(
            "parameter `step`: {} s makes {points} points over the span, more than \
             {MAX_POINTS}; take at least {} s",
            bucket.whole_seconds(),
            least.whole_seconds() + 1
        )));
    }
    let mut buckets = state
        .store()
        .sample_buckets(&metrics, since, until, bucket, resolution)
        .await?;
    if let Some(component) = query.component.as_deref() {
        buckets.retain(|b| b.component.as_deref() == Some(component));
    }
    Ok(Json(SamplesSpan {
        metric: metrics,
        component: query.component.as_deref(),
        since,
        until,
        resolution,
        step_seconds: bucket.whole_seconds(),
        series: series_of(buckets),
    })
    .into_response())
}

/// The answer of `GET /api/v1/samples`: every series of the metrics asked for over the span.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SamplesSpan<'a> {
    /// The metrics asked for.
    pub metric: Vec<&'a str>,
    /// The component asked for; null for every series.
    pub component: Option<&'a str>,
    /// The span's start.
    #[serde(serialize_with = "super::utc")]
    pub since: OffsetDateTime,
    /// The span's end.
    #[serde(serialize_with = "super::utc")]
    pub until: OffsetDateTime,
    /// What was read: the raw samples or the 1-minute, 1-hour or 1-day aggregates.
    pub resolution: Resolution,
    /// The length of a bucket (`step` rounded up to whole rows of what was read), in seconds.
    pub step_seconds: i64,
    /// The series, by metric.
    pub series: Vec<SampleSeries>,
}

/// The parameters of `GET /api/v1/operations`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OperationsParams {
    /// At most this many (1 to 1000, default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<String>,
    /// Only this dataset (exact match).
    #[param(min_length = 1)]
    pub dataset: Option<String>,
    /// Only this metric type (exact match), such as `migration`.
    #[serde(rename = "type")]
    #[param(min_length = 1)]
    pub metric_type: Option<String>,
    /// The range's start (inclusive): a time (RFC 3339 or YYYY-MM-DD), a span back from now
    /// such as 30m or 7d, or `now`. Not after `until` (400 naming `since`). Default: no start.
    #[param(min_length = 1)]
    pub since: Option<String>,
    /// The range's end (exclusive), written as `since`. Default: no end.
    #[param(min_length = 1)]
    pub until: Option<String>,
    /// Only failed operations.
    #[param(value_type = Option<bool>, default = false)]
    pub failed: Option<String>,
}

/// `GET /api/v1/operations?limit&dataset&type&since&until&failed`: recent operations, newest
/// first.
///
/// `limit` 1..=[`MAX_LIMIT`] (default [`DEFAULT_LIMIT`]); `dataset` and `type` match exactly;
/// `since` and `until` keep the operations of `[since, until)`, each a span back from now
/// (`30m`, `7d`), a time (RFC 3339 or a date) or `now`, as `GET /api/v1/samples` reads them;
/// `failed` is `true` or `false`.
pub async fn operations(
    State(state): State<AppState>,
    Query(query): Query<OperationsParams>,
) -> Result<Response, ApiError> {
    let limit = match query.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "parameter `limit`: {v:?} is not a whole number from 1 to {MAX_LIMIT}"
                )));
            }
        },
    };
    let range = crate::range::of_api(query.since.as_deref(), query.until.as_deref(), state.now())?;
    let failed_only = match query.failed.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "parameter `failed`: {v:?} is neither true nor false"
            )));
        }
    };
    let text = |name: &str, value: Option<&str>| -> Result<Option<String>, ApiError> {
        match value {
            Some("") => Err(ApiError::bad_request(format!(
                "parameter `{name}`: must not be empty"
            ))),
            other => Ok(other.map(str::to_owned)),
        }
    };
    let filter = OperationFilter {
        limit,
        dataset: text("dataset", query.dataset.as_deref())?,
        metric_type: text("type", query.metric_type.as_deref())?,
        since: range.as_ref().and_then(|r| r.since),
        until: range.as_ref().and_then(|r| r.until),
        failed_only,
    };
    let ops = state.store().recent_operations(&filter).await?;
    Ok(Json(ops).into_response())
}
