//! The web pages: rendered on the server from the same view code as the `stats dashboard`
//! file, so every page works without JavaScript and shows the data as it was when served.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::ApiError;
use crate::routes;
use crate::state::AppState;

/// The page routes.
pub fn routes() -> Router<AppState> {
    Router::new().route(routes::OVERVIEW, get(overview))
}

/// `/`: the overview, every view on one page.
async fn overview(State(state): State<AppState>) -> Result<Response, ApiError> {
    let data = mhd_store::gather::dashboard(&state.store, state.plan.as_ref(), state.now()).await?;
    let html = crate::views::render_static_dashboard(&data, state.local_offset).map_err(|e| ApiError::internal(&e))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response())
}
