//! What the resource utilization page shows, read from the store and the collectors: the
//! latest figures, the charted samples of a span and the collectors' health. The page itself is
//! rendered by [`mhd_web::views::render_resources_page`].

use mhd_core::sample::{self, Sample};
use mhd_store::Store;
use mhd_store::prelude::*;
use mhd_web::views::{
    CHART_BUCKETS, CHART_METRICS, CHART_SPAN, LATEST_LOOKBACK, LOG_ERRORS_SHOWN, MAX_OTHER_METRICS,
    ResourcesData, SHOWN_AS_FIGURES,
};
use time::{Duration, OffsetDateTime};

use mhd_core::alerts::CollectorHealth;
use mhd_core::plan::Plan;
use mhd_store::Database;

/// Reads the page's data as of `now` from the store, with the plan's collectors and their
/// health (`collectors`).
pub async fn gather(
    store: &Database,
    plan: Option<&Plan>,
    collectors: Vec<CollectorHealth>,
    now: OffsetDateTime,
) -> mhd_store::Result<ResourcesData> {
    gather_between(store, plan, collectors, now, now - CHART_SPAN, now).await
}

/// [`gather`] with charts over `[since, end]` (the latest figures are still those of `now`).
pub async fn gather_between(
    store: &Database,
    plan: Option<&Plan>,
    collectors: Vec<CollectorHealth>,
    now: OffsetDateTime,
    since: OffsetDateTime,
    end: OffsetDateTime,
) -> mhd_store::Result<ResourcesData> {
    let span = end - since;
    let latest = store.latest_samples(now - LATEST_LOOKBACK).await?;
    let queries: Vec<(String, String)> = plan
        .map(|p| {
            p.collectors
                .prometheus
                .iter()
                .flat_map(|c| c.queries.iter().map(|q| (q.name.clone(), q.query.clone())))
                .collect()
        })
        .unwrap_or_default();
    let mut others: Vec<String> = store.sample_metrics(since).await?;
    others.retain(|m| !SHOWN_AS_FIGURES.contains(&m.as_str()));
    others.extend(queries.iter().map(|(name, _)| name.clone()));
    others.retain(|m| !CHART_METRICS.contains(&m.as_str()));
    others.sort();
    others.dedup();
    others.truncate(MAX_OTHER_METRICS);
    let metrics: Vec<&str> = CHART_METRICS
        .iter()
        .copied()
        .chain(others.iter().map(String::as_str))
        .collect();
    let history = if span == CHART_SPAN && end == now {
        store
            .samples_between(&metrics, now - CHART_SPAN, now + Duration::microseconds(1))
            .await?
    } else {
        let (_, bucket, buckets): (_, Duration, _) =
            history_between(store, plan, &metrics, since, end, now).await?;
        buckets
            .into_iter()
            .map(|b: mhd_store::retention::SampleBucket| Sample {
                timestamp: (b.start + bucket / 2_i32).clamp(since + Duration::microseconds(1), end),
                value: b.mean(),
                metric: b.metric,
                unit: b.unit,
                component: b.component,
                labels: b.labels,
            })
            .collect()
    };
    let (mut burndowns, mut log_errors) = (Vec::new(), None);
    if let Some(plan) = plan {
        for git in &plan.collectors.git {
            let series = crate::collect::git::burndown(store, Some(plan), &git.name).await?;
            let label = format!("Code left to migrate, by component ({})", git.name);
            burndowns.push((
                git.name.clone(),
                mhd_web::charts::burndown_chart(&series, &label),
            ));
        }
        if !plan.collectors.logs.is_empty() {
            log_errors = Some(store.recent_log_errors(None, LOG_ERRORS_SHOWN).await?);
        }
    }
    Ok(ResourcesData {
        now,
        metrics: sample::resource_metrics(&latest, now),
        span,
        end,
        history,
        collectors,
        burndowns,
        log_errors,
        others,
        queries,
    })
}

/// Reads the last `span` of `metrics` as of `now` in [`CHART_BUCKETS`] buckets (whole rows of
/// the table read): from the raw samples for a short recent span, else from the 1-minute
/// aggregates up to a few days, the 1-hour ones up to two weeks and the 1-day ones beyond (see
/// [`mhd_store::retention::Resolution::for_span`]), so that a span reaching past the raw
/// samples' retention still has its data. Returns where it read from, the bucket length and
/// the buckets.
pub async fn history_buckets(
    store: &Database,
    plan: Option<&Plan>,
    metrics: &[&str],
    now: OffsetDateTime,
    span: Duration,
) -> mhd_store::Result<(
    mhd_store::retention::Resolution,
    Duration,
    Vec<mhd_store::retention::SampleBucket>,
)> {
    history_between(store, plan, metrics, now - span, now, now).await
}

/// [`history_buckets`] over `[since, end]`, as of `now`.
pub async fn history_between(
    store: &Database,
    plan: Option<&Plan>,
    metrics: &[&str],
    since: OffsetDateTime,
    end: OffsetDateTime,
    now: OffsetDateTime,
) -> mhd_store::Result<(
    mhd_store::retention::Resolution,
    Duration,
    Vec<mhd_store::retention::SampleBucket>,
)> {
    use mhd_store::retention::Resolution;
    let span = end - since;
    let until = end + Duration::microseconds(1);
    let resolution =
        Resolution::for_span(since, until, now, crate::retention::settings(plan).samples);
    let unit = match resolution {
        Resolution::Raw => Duration::seconds(1),
        Resolution::Minute => Duration::minutes(1),
        Resolution::Hour => Duration::hours(1),
        Resolution::Day => Duration::days(1),
    };
    // Whole rows per bucket, rounded up so that the span fits in the buckets.
    let per = (span.whole_seconds() / CHART_BUCKETS as i64).max(1);
    let rows = (per + unit.whole_seconds() - 1) / unit.whole_seconds();
    let bucket = unit * rows.max(1) as i32;
    let buckets = store
        .sample_buckets(metrics, since, until, bucket, resolution)
        .await?;
    Ok((resolution, bucket, buckets))
}
