//! The web pages: rendered on the server from the same view code as the `stats dashboard`
//! file, so every page works without JavaScript and shows the data as it was when served. On
//! top, each page loads the embedded script ([`crate::assets`]), which keeps the figures marked
//! `data-live` up to date from the WebSocket.
//!
//! The pages with forms have their own modules: [`alerts`] (acknowledge, silence, Jira) and
//! [`rollback`] (a component's confirmed rollback).

pub mod alerts;
pub mod rollback;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use mhd_web::paths;
use mhd_web::views::range::{PAGE_PARAMS, Picker, RangeBar, TimeRange};
use mhd_web::views::{Page, PageKind, RollbackLink, Viewer};

use crate::error::ApiError;
use crate::security::Who;
use crate::state::AppState;
use axum::extract::rejection::QueryRejection;

/// A page's query string, however it is written: the pages ignore what they do not know.
type PageQuery = Result<axum::extract::Query<crate::query::Params>, QueryRejection>;

/// `/?range|since&until`: the overview, every view on one page, its charts and lists over
/// the time range asked for.
pub(crate) async fn overview(
    State(state): State<AppState>,
    who: Who,
    headers: HeaderMap,
    query: PageQuery,
) -> Result<Response, ApiError> {
    ranged_page(&state, PageKind::Overview, &who, &headers, query).await
}

/// `/summary`: the executive summary.
pub(crate) async fn summary(
    State(state): State<AppState>,
    who: Who,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    page(&state, PageKind::Summary, &who, &headers).await
}

/// `/timeline`: the phases.
pub(crate) async fn timeline(
    State(state): State<AppState>,
    who: Who,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    page(&state, PageKind::Timeline, &who, &headers).await
}

/// `/components`: the component health matrix, and for admins the components' rollbacks.
pub(crate) async fn components(
    State(state): State<AppState>,
    who: Who,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    page(&state, PageKind::Components, &who, &headers).await
}

/// The components whose rollback the plan configures: the components page links each to a
/// page that asks to confirm, for those who may run it.
fn rollbacks(state: &AppState) -> Vec<RollbackLink> {
    state
        .plan()
        .iter()
        .flat_map(|p| p.components.iter())
        .filter(|c| c.rollback.is_some())
        .map(|c| RollbackLink {
            id: c.id.clone(),
            name: c.name.clone(),
        })
        .collect()
}

/// `/live?range|since&until`: the live metrics, over the last five minutes or the span asked
/// for (at most [`mhd_web::views::range::MAX_LIVE_SPAN`]), each against the span before it.
pub(crate) async fn live(
    State(state): State<AppState>,
    who: Who,
    headers: HeaderMap,
    query: PageQuery,
) -> Result<Response, ApiError> {
    ranged_page(&state, PageKind::Live, &who, &headers, query).await
}

/// `/tests?range|since&until`: the test results of the runs in the time range asked for.
pub(crate) async fn tests(
    State(state): State<AppState>,
    who: Who,
    headers: HeaderMap,
    query: PageQuery,
) -> Result<Response, ApiError> {
    ranged_page(&state, PageKind::Tests, &who, &headers, query).await
}

/// `/performance`: old versus new system.
pub(crate) async fn performance(
    State(state): State<AppState>,
    who: Who,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    page(&state, PageKind::Performance, &who, &headers).await
}

/// `/resources?range|since&until`: resource utilization and the collectors' health, the
/// charts over the last hour or the time range asked for (such as `range=7d` or `90d`, read
/// from the aggregates retention keeps, or `since=…&until=…`, at most
/// [`mhd_web::views::MAX_SPAN`]).
pub(crate) async fn resources(
    State(state): State<AppState>,
    who: Who,
    query: PageQuery,
) -> Result<Response, ApiError> {
    let now = state.now();
    let (range, error) = match page_range(query, now, &[]) {
        Ok((range, _)) => match range {
            Some(r) => {
                let end = r.until.unwrap_or(now).min(now);
                let since = r.since.unwrap_or(end - mhd_web::views::CHART_SPAN);
                if end - since > mhd_web::views::MAX_SPAN {
                    let e = format!(
                        "parameters `since` and `until`: a span of at most {} days",
                        mhd_web::views::MAX_SPAN.whole_days()
                    );
                    (None, Some(e))
                } else if since >= end {
                    let e = format!(
                        "parameter `since`: {} is not before the charts' end {}",
                        mhd_core::format::rfc3339(since),
                        mhd_core::format::rfc3339(end)
                    );
                    (None, Some(e))
                } else {
                    (Some((r, since, end)), None)
                }
            }
            None => (None, None),
        },
        Err(e) => (None, Some(e.message)),
    };
    let data = match &range {
        None => state.resources().await?,
        Some((_, since, end)) => {
            let plan = state.plan();
            let collectors = state.collectors().statuses();
            let (store, now) = (state.store(), state.now());
            crate::resources::gather_between(store, plan.as_deref(), collectors, now, *since, *end)
                .await?
        }
    };
    let bar = picker(
        &state,
        PageKind::Resources,
        Vec::new(),
        range.as_ref().map(|(r, _, _)| r),
        error.as_deref(),
    );
    let html = mhd_web::views::render_resources_page(
        &data,
        state.plan().as_deref(),
        state.local_offset(),
        mhd_web::assets::live_js_path(),
        Some(&bar),
        &who.caller.viewer(),
    )
    .map_err(|e| ApiError::internal(&e))?;
    Ok(html_page(status_of(error.as_deref()), html))
}

/// 400 for a page whose time range was refused (it shows the message and its default), else
/// 200.
fn status_of(error: Option<&str>) -> StatusCode {
    if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    }
}

/// A page's time range and its other parameters (those named in `others`; the rest are
/// ignored), or the 400 that names what is wrong with them.
pub(crate) fn page_range(
    query: PageQuery,
    now: time::OffsetDateTime,
    others: &[&str],
) -> Result<(Option<TimeRange>, crate::query::Params), ApiError> {
    let axum::extract::Query(pairs) =
        query.map_err(|e| ApiError::bad_request(format!("query string: {}", e.body_text())))?;
    let pairs: crate::query::Params = pairs
        .into_iter()
        .filter(|(k, _)| PAGE_PARAMS.contains(&k.as_str()) || others.contains(&k.as_str()))
        .collect();
    let mut names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(ApiError::bad_request(format!(
            "parameter `{}`: given more than once",
            w[0]
        )));
    }
    let range = crate::range::from_params(&pairs, now, true)?;
    Ok((range, pairs))
}

/// The time range picker of page `kind`, saying what the page shows without a range and
/// what it shows as of now whatever the range.
pub(crate) fn picker(
    state: &AppState,
    kind: PageKind,
    keep: Vec<(&str, &str)>,
    range: Option<&TimeRange>,
    error: Option<&str>,
) -> RangeBar {
    let (default_words, as_of_now) = match kind {
        PageKind::Overview => (
            "the operations since the first one (at most 90 days back) and each suite's last 10 runs",
            "Status, progress, forecast, totals, components and alerts are as of now; the live \
             figures cover the last 5 minutes.",
        ),
        PageKind::Live => (
            "the last 5 minutes, updated as operations arrive",
            "Each figure is compared with the span just before it; active migrations are as of \
             now. A span other than the default is read again at most every 10 seconds.",
        ),
        PageKind::Tests => (
            "each suite's last 10 runs",
            "Each suite's figures come from its last 10 runs in the range.",
        ),
        PageKind::Resources => (
            "the last hour",
            "The headline figures are the latest samples, as of now.",
        ),
        PageKind::Alerts => (
            "the newest resolved alerts",
            "Active alerts and silences are as of now.",
        ),
        _ => (
            "the dataset's newest operations",
            "Dataset states and counts are as of now.",
        ),
    };
    Picker {
        path: kind.path(),
        keep,
        range,
        default_words,
        as_of_now,
        error,
        offset: state.local_offset(),
        max_span: (kind == PageKind::Live).then_some(mhd_web::views::range::MAX_LIVE_SPAN),
    }
    .render()
}

/// `/datasets?state&component&name&range|since&until`: every dataset with its state, and one
/// dataset's history over the time range asked for.
pub(crate) async fn datasets(
    State(state): State<AppState>,
    who: Who,
    query: Result<
        axum::extract::Query<crate::query::Params>,
        axum::extract::rejection::QueryRejection,
    >,
) -> Result<Response, ApiError> {
    let pairs = crate::query::params(
        query,
        &["state", "component", "name", "range", "since", "until"],
    )?;
    let (range, error) = match crate::range::from_params(&pairs, state.now(), true) {
        Ok(r) => (r, None),
        Err(e) => (None, Some(e.message)),
    };
    let (wanted, component) = crate::api::reads::dataset_filter(
        crate::query::param(&pairs, "state"),
        crate::query::param(&pairs, "component"),
        true,
    )?;
    let name = crate::query::param(&pairs, "name")
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    let model = state.model().await?;
    let history = match &name {
        Some(n) => Some(
            mhd_store::Store::recent_operations(
                state.store(),
                &mhd_store::OperationFilter {
                    limit: mhd_web::views::DATASET_HISTORY_ROWS,
                    dataset: Some(n.clone()),
                    since: range.as_ref().and_then(|r| r.since),
                    until: range.as_ref().and_then(|r| r.until),
                    ..mhd_store::OperationFilter::default()
                },
            )
            .await?,
        ),
        None => None,
    };
    let components: Vec<(String, String)> = state
        .plan()
        .iter()
        .flat_map(|p| &p.components)
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect();
    let week = model.summary.as_ref().map(|s| (s.week, s.weeks));
    let plan = state.plan();
    let migration = plan
        .as_deref()
        .zip(week)
        .map(|(p, (w, ws))| (p.migration.name.as_str(), w, ws));
    let keep: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(k, v)| ["state", "component", "name"].contains(&k.as_str()) && !v.is_empty())
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let bar = picker(
        &state,
        PageKind::Datasets,
        keep,
        range.as_ref(),
        error.as_deref(),
    );
    let html = mhd_web::views::render_datasets_page(
        &model.datasets,
        &components,
        &mhd_web::views::DatasetsQuery {
            state: wanted,
            component,
            name,
        },
        history.as_deref(),
        migration,
        state.now(),
        state.local_offset(),
        mhd_web::assets::live_js_path(),
        Some(&bar),
        &who.caller.viewer(),
    )
    .map_err(|e| ApiError::internal(&e))?;
    Ok(html_page(status_of(error.as_deref()), html))
}

/// `/how`: how every figure is made.
pub(crate) async fn how(State(state): State<AppState>, who: Who) -> Result<Response, ApiError> {
    let model = state.model().await?;
    let week = model.summary.as_ref().map(|s| (s.week, s.weeks));
    let plan = state.plan();
    let migration = plan
        .as_deref()
        .zip(week)
        .map(|(p, (w, ws))| (p.migration.name.as_str(), w, ws));
    let html = mhd_web::views::render_how_page(
        migration,
        state.now(),
        state.local_offset(),
        mhd_web::assets::live_js_path(),
        &who.caller.viewer(),
    )
    .map_err(|e| ApiError::internal(&e))?;
    Ok(html_response(html))
}

/// Any path no route matches, 404: under `/api/` the API's JSON error; elsewhere a page
/// saying so, with the site's navigation and a link to the overview.
pub(crate) async fn not_found(State(state): State<AppState>, who: Who, uri: Uri) -> Response {
    let path = uri.path();
    if path == "/api" || path.starts_with("/api/") {
        return ApiError::not_found(format!(
            "nothing at {path}: {} lists the API's routes",
            paths::API_OPENAPI
        ))
        .into_response();
    }
    let plan = state.plan();
    match mhd_web::views::render_not_found_page(
        path,
        plan.as_deref().map(|p| p.migration.name.as_str()),
        state.now(),
        state.local_offset(),
        mhd_web::assets::live_js_path(),
        &who.caller.viewer(),
    ) {
        Ok(html) => html_page(StatusCode::NOT_FOUND, html),
        Err(e) => ApiError::internal(&e).into_response(),
    }
}

/// A page as served: HTML, never cached (it is the data of the moment).
fn html_response(html: String) -> Response {
    html_page(StatusCode::OK, html)
}

/// A page with `status`, never cached.
pub(crate) fn html_page(status: StatusCode, html: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

/// A rendered template as a page with `status`, or 500 when it could not be rendered.
pub(crate) fn template_page(status: StatusCode, page: &impl askama::Template) -> Response {
    match page.render() {
        Ok(html) => html_page(status, html),
        Err(e) => ApiError::internal(&e).into_response(),
    }
}

/// One page, as of now: its data from the caches of the state (gathered again only after a
/// write, or when older than [`crate::cache::TTL`]), so a page costs its rendering. The page
/// is rendered once per data version for `who`'s variant (local, anonymous, or the role of a
/// session) and served from memory ([`crate::pagecache`]): compressed once for those without
/// a session, with a session's own name and token joined in for it.
async fn page(
    state: &AppState,
    kind: PageKind,
    who: &Who,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    cached_page(state, kind, who, headers, None).await
}

/// A page that follows a time range: without one, or with one of the picker's, from the
/// page cache as [`page`] does; with another, rendered for the request (so the cache holds
/// at most one copy per preset); with a bad one, its default with the message and status 400.
async fn ranged_page(
    state: &AppState,
    kind: PageKind,
    who: &Who,
    headers: &HeaderMap,
    query: PageQuery,
) -> Result<Response, ApiError> {
    let checked = page_range(query, state.now(), &[]).and_then(|(range, _)| match range {
        // The live page's range is its figures' span, which has a longest.
        Some(r) if kind == PageKind::Live => {
            crate::range::live_span(&r, state.now()).map(|_| Some(r))
        }
        other => Ok(other),
    });
    match checked {
        Ok(None) => cached_page(state, kind, who, headers, None).await,
        Ok(Some(range)) if range.preset().is_some() => {
            cached_page(state, kind, who, headers, Some(&range)).await
        }
        Ok(Some(range)) => {
            let viewer = who.caller.viewer();
            let html = render_page(state, kind, Some(&range), None, &viewer).await?;
            Ok(html_page(StatusCode::OK, html.into_html()))
        }
        Err(e) => {
            let viewer = who.caller.viewer();
            let html = render_page(state, kind, None, Some(&e.message), &viewer).await?;
            Ok(html_page(StatusCode::BAD_REQUEST, html.into_html()))
        }
    }
}

/// [`page`] for `range` (none, or one of the picker's presets), cached per range.
async fn cached_page(
    state: &AppState,
    kind: PageKind,
    who: &Who,
    headers: &HeaderMap,
    range: Option<&TimeRange>,
) -> Result<Response, ApiError> {
    // The live figures follow every write, samples included; the other pages only the rest.
    let version = if kind.needs_live_metrics() {
        state.data_version()
    } else {
        state.views_version()
    };
    let preset = range.and_then(TimeRange::preset).map(|p| p.key);
    // A preset range ends now: a copy is fresh for as long as the page without a range.
    let fresh = range
        .and_then(|r| r.preset())
        .map(|p| TimeRange::last(p, state.now()));
    let range = fresh.as_ref().or(range);
    let render =
        |viewer: Viewer| async move { render_page(state, kind, range, None, &viewer).await };
    match state
        .pages()
        .get(kind, preset, &who.caller, headers, version, render)
        .await
    {
        Some(answer) => answer,
        None => {
            let page = render_page(state, kind, range, None, &who.caller.viewer()).await?;
            Ok(html_response(page.into_html()))
        }
    }
}

/// One page, as of now, as `viewer` sees it: its charts and lists over `range` when one is
/// given and the page takes one; `error` is the message of a refused range, shown in the
/// picker.
async fn render_page(
    state: &AppState,
    kind: PageKind,
    range: Option<&TimeRange>,
    error: Option<&str>,
    viewer: &Viewer,
) -> Result<Page, ApiError> {
    let range = range.filter(|_| kind.takes_range());
    let data = match range {
        // The live page's range is its live figures' span alone.
        Some(r) if kind != PageKind::Live => {
            std::sync::Arc::new(crate::range::dashboard_in(state, r).await?)
        }
        _ => state.dashboard().await?,
    };
    let bar = kind
        .takes_range()
        .then(|| picker(state, kind, Vec::new(), range, error));
    let live = if kind.needs_live_metrics() {
        let slip = data
            .views
            .as_ref()
            .and_then(|v| v.summary.estimated_completion.as_ref())
            .map(|e| e.slip_days as f64);
        match range.filter(|_| kind == PageKind::Live) {
            Some(r) => {
                let span = crate::range::live_span(r, state.now())?;
                Some(std::sync::Arc::new(
                    crate::live_metrics::metrics_over(
                        state.store(),
                        state.plan().as_deref(),
                        span,
                        slip,
                    )
                    .await?,
                ))
            }
            None => Some(state.page_live(slip).await?),
        }
    } else {
        None
    };
    if kind == PageKind::Overview {
        mhd_web::views::render_overview_page(
            &data,
            live.as_deref(),
            Some(state.firing_counts().await?),
            state.local_offset(),
            mhd_web::assets::live_js_path(),
            bar.as_ref(),
            viewer,
        )
    } else {
        let rollbacks = if kind == PageKind::Components {
            rollbacks(state)
        } else {
            Vec::new()
        };
        mhd_web::views::render_live_page(
            kind,
            &data,
            live.as_deref(),
            state.local_offset(),
            mhd_web::assets::live_js_path(),
            bar.as_ref(),
            viewer,
            &rollbacks,
        )
    }
    .map_err(|e| ApiError::internal(&e))
}
