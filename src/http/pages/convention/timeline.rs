//! Chronologie (`/conventions/{id}/chronologie`): the audit events in plain French.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;

use super::{failed, load, show};
use crate::http::AppState;
use crate::http::pages::caller::PageCaller;
use crate::http::pages::extract::PagePath;
use crate::http::pages::frame::Flash;
use crate::render::pages::convention::timeline::{EventView, events};
use crate::render::pages::convention::{Page, party_name, with_party_names};
use crate::services::conventions as service;

pub fn routes() -> Router<AppState> {
    Router::new().route("/conventions/{id}/chronologie", get(page))
}

#[derive(Serialize)]
struct TimelineData {
    events: Vec<EventView>,
}

async fn page(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
    PagePath(id): PagePath<i64>,
) -> Response {
    let l = match load(&state, &caller, &session, id, Page::Timeline).await {
        Ok(l) => l,
        Err(e) => return failed(e),
    };
    let audit = match service::audit(&state.platform, &caller, id).await {
        Ok(a) => a,
        Err(e) => return failed(e),
    };
    let name = |p: &str| party_name(&l.view, p);
    let mut data = TimelineData {
        events: events(&audit, &name),
    };
    for e in &mut data.events {
        e.what = with_party_names(&l.view, &e.what);
    }
    show(
        &state,
        StatusCode::OK,
        session,
        Flash::default(),
        &l.ws,
        "convention/timeline",
        data,
    )
}
