//! The web pages: rendered on the server from the same view code as the `stats dashboard`
//! file, so every page works without JavaScript and shows the data as it was when served. On
//! top, each page loads the embedded script ([`crate::assets`]), which keeps the figures marked
//! `data-live` up to date from the WebSocket.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::compression::CompressionLayer;

use crate::access::Who;
use crate::error::ApiError;
use crate::routes;
use crate::state::AppState;
use crate::views::PageKind;

/// The page routes, the script and the service worker, compressed when the client accepts it.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(routes::OVERVIEW, get(overview))
        .route(routes::PAGE_SUMMARY, get(summary))
        .route(routes::PAGE_TIMELINE, get(timeline))
        .route(routes::PAGE_COMPONENTS, get(components))
        .route(routes::PAGE_LIVE, get(live))
        .route(routes::PAGE_TESTS, get(tests))
        .route(routes::PAGE_PERFORMANCE, get(performance))
        .route(routes::PAGE_RESOURCES, get(resources))
        .route(routes::PAGE_DATASETS, get(datasets))
        .route(routes::PAGE_HOW, get(how))
        .route(routes::PAGE_ALERTS, get(crate::api::alerts::page_get))
        .route(
            routes::PAGE_ALERT_ACK,
            post(crate::api::alerts::page_acknowledge),
        )
        .route(routes::PAGE_ALERT_JIRA, post(crate::api::alerts::page_jira))
        .route(
            routes::PAGE_ALERT_SILENCES,
            post(crate::api::alerts::page_silence),
        )
        .route(
            routes::PAGE_ALERT_UNSILENCE,
            post(crate::api::alerts::page_unsilence),
        )
        .route(
            routes::PAGE_ROLLBACK,
            get(crate::api::rollback::page_get).post(crate::api::rollback::page_post),
        )
        .route(routes::ASSETS, get(crate::assets::asset))
        .route(routes::SERVICE_WORKER, get(crate::assets::service_worker))
        .layer(axum::middleware::from_fn(crate::chrome::personalize))
        .layer(CompressionLayer::new())
}

/// `/`: the overview, every view on one page.
async fn overview(
    State(state): State<AppState>,
    who: Who,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    page(&state, PageKind::Overview, &who, &headers).await
}

/// `/summary`: the executive summary.
async fn summary(
    State(state): State<AppState>,
    who: Who,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    page(&state, PageKind::Summary, &who, &headers).await
}

/// `/timeline`: the phases.
async fn timeline(
    State(state): State<AppState>,
    who: Who,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    page(&state, PageKind::Timeline, &who, &headers).await
}

/// `/components`: the component health matrix, and for admins the components' rollbacks.
async fn components(
    State(state): State<AppState>,
    who: Who,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    page(&state, PageKind::Components, &who, &headers).await
}

/// The components' rollback links, shown to admins only ([`crate::chrome`]), each to a page
/// that asks to confirm; empty when no component has a rollback.
fn rollback_section(state: &AppState) -> String {
    let rollbacks: Vec<String> = state
        .plan()
        .iter()
        .flat_map(|p| p.components.iter())
        .filter(|c| c.rollback.is_some())
        .map(|c| {
            format!(
                "<li><a href=\"/components/{}/rollback\">Roll back {}…</a></li>",
                crate::charts::escape(&c.id),
                crate::charts::escape(&c.name)
            )
        })
        .collect();
    if rollbacks.is_empty() {
        return String::new();
    }
    format!(
        "<!--mhd:need admin--><section id=\"rollback\" aria-labelledby=\"rollback-h\">\
         <h2 id=\"rollback-h\">Rollback</h2><p class=\"note\">Runs what the plan configures \
         for the component, after you confirm.</p><ul>{}</ul></section><!--mhd:end-->",
        rollbacks.concat()
    )
}

/// `/live`: the live metrics.
async fn live(
    State(state): State<AppState>,
    who: Who,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    page(&state, PageKind::Live, &who, &headers).await
}

/// `/tests`: the test results.
async fn tests(
    State(state): State<AppState>,
    who: Who,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    page(&state, PageKind::Tests, &who, &headers).await
}

/// `/performance`: old versus new system.
async fn performance(
    State(state): State<AppState>,
    who: Who,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    page(&state, PageKind::Performance, &who, &headers).await
}

/// `/resources?range`: resource utilization and the collectors' health, the charts over the
/// last hour or the `range` asked for (such as `7d` or `90d`, read from the aggregates
/// retention keeps).
async fn resources(
    State(state): State<AppState>,
    query: Result<
        axum::extract::Query<crate::api::Params>,
        axum::extract::rejection::QueryRejection,
    >,
) -> Result<Response, ApiError> {
    let pairs = crate::api::params(query, &["range"])?;
    let data = match crate::api::param(&pairs, "range") {
        None => state.resources().await?,
        Some(v) => {
            let span = crate::views::parse_range(v)
                .map_err(|e| ApiError::bad_request(format!("parameter `range`: {e}")))?;
            crate::views::ResourcesData::gather_span(&state, span).await?
        }
    };
    let html = crate::views::render_resources_page(
        &data,
        state.plan().as_deref(),
        state.local_offset,
        crate::assets::live_js_path(),
    )
    .map_err(|e| ApiError::internal(&e))?;
    Ok(html_response(html))
}

/// `/datasets?state&component&name`: every dataset with its state, and one dataset's history.
async fn datasets(
    State(state): State<AppState>,
    query: Result<
        axum::extract::Query<crate::api::Params>,
        axum::extract::rejection::QueryRejection,
    >,
) -> Result<Response, ApiError> {
    let pairs = crate::api::params(query, &["state", "component", "name"])?;
    let (wanted, component) = crate::api::reads::dataset_filter(&pairs, true)?;
    let name = crate::api::param(&pairs, "name")
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    let model = state.model().await?;
    let history = match &name {
        Some(n) => Some(
            mhd_store::Store::recent_operations(
                &state.store,
                &mhd_store::OperationFilter {
                    limit: crate::views::DATASET_HISTORY_ROWS,
                    dataset: Some(n.clone()),
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
    let html = crate::views::render_datasets_page(
        &model.datasets,
        &components,
        &crate::views::DatasetsQuery {
            state: wanted,
            component,
            name,
        },
        history.as_deref(),
        migration,
        state.now(),
        state.local_offset,
        crate::assets::live_js_path(),
    )
    .map_err(|e| ApiError::internal(&e))?;
    Ok(html_response(html))
}

/// `/how`: how every figure is made.
async fn how(State(state): State<AppState>) -> Result<Response, ApiError> {
    let model = state.model().await?;
    let week = model.summary.as_ref().map(|s| (s.week, s.weeks));
    let plan = state.plan();
    let migration = plan
        .as_deref()
        .zip(week)
        .map(|(p, (w, ws))| (p.migration.name.as_str(), w, ws));
    let html = crate::views::render_how_page(
        migration,
        state.now(),
        state.local_offset,
        crate::assets::live_js_path(),
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
            routes::API_OPENAPI
        ))
        .into_response();
    }
    let plan = state.plan();
    match crate::views::render_not_found_page(
        path,
        plan.as_deref().map(|p| p.migration.name.as_str()),
        state.now(),
        state.local_offset,
        crate::assets::live_js_path(),
    ) {
        Ok(html) => html_page(
            StatusCode::NOT_FOUND,
            crate::chrome::fill(&html, &who.caller),
        ),
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
/// write, or when older than [`crate::cache::TTL`]), so a page costs its rendering. A page the
/// same for every visitor like `who` is rendered and compressed once per data version and
/// served from memory ([`crate::pagecache`]).
async fn page(
    state: &AppState,
    kind: PageKind,
    who: &Who,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    // The live figures follow every write, samples included; the other pages only the rest.
    let version = if kind.needs_live_metrics() {
        state.data_version()
    } else {
        state.views_version()
    };
    let render = || render_page(state, kind);
    match state
        .pages
        .get(kind, &who.caller, headers, version, render)
        .await
    {
        Some(answer) => answer,
        None => Ok(html_response(render_page(state, kind).await?)),
    }
}

/// The HTML of one page, as of now, with the visitor's parts still marked.
async fn render_page(state: &AppState, kind: PageKind) -> Result<String, ApiError> {
    let data = state.dashboard().await?;
    let live = if kind.needs_live_metrics() {
        let slip = data
            .views
            .as_ref()
            .and_then(|v| v.summary.estimated_completion.as_ref())
            .map(|e| e.slip_days as f64);
        Some(state.page_live(slip).await?)
    } else {
        None
    };
    let html = if kind == PageKind::Overview {
        crate::views::render_overview_page(
            &data,
            live.as_deref(),
            Some(state.firing_counts().await?),
            state.local_offset,
            crate::assets::live_js_path(),
        )
    } else {
        crate::views::render_live_page(
            kind,
            &data,
            live.as_deref(),
            state.local_offset,
            crate::assets::live_js_path(),
        )
    }
    .map_err(|e| ApiError::internal(&e))?;
    if kind == PageKind::Components {
        let section = rollback_section(state);
        if !section.is_empty() {
            return Ok(html.replacen("</main>", &format!("{section}</main>"), 1));
        }
    }
    Ok(html)
}
