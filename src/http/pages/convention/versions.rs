//! Versions (`/conventions/{id}/versions`): every version, and what changed between two of
//! them for a party.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::{failed, load_named, show};
use crate::http::AppState;
use crate::http::pages::caller::PageCaller;
use crate::http::pages::extract::{PageParams, PagePath};
use crate::http::pages::frame::Flash;
use crate::render::pages::convention::Page;
use crate::render::pages::convention::versions::{compared, versions_page};
use crate::services::conventions as service;

pub fn routes() -> Router<AppState> {
    Router::new().route("/conventions/{id}/versions", get(page))
}

#[derive(Debug, Default, Deserialize)]
pub struct VersionsQuery {
    #[serde(default)]
    de: Option<i64>,
    #[serde(default)]
    a: Option<i64>,
    #[serde(default)]
    partie: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
    PagePath(id): PagePath<i64>,
    PageParams(q): PageParams<VersionsQuery>,
) -> Response {
    let (l, naming) = match load_named(&state, &caller, &session, id, Page::Versions).await {
        Ok(loaded) => loaded,
        Err(e) => return failed(e),
    };
    let p = &state.platform;
    let all = match service::versions(p, &caller, id).await {
        Ok(v) => v,
        Err(e) => return failed(e),
    };
    let last = all.last().map_or(0, |v| v.number);
    let (from, to, party) = compared(&l.view, last, q.de, q.a, q.partie);
    let diff = match from != to {
        true => match service::diff(p, &caller, id, from, to, Some(party.clone())).await {
            Ok(d) => d,
            Err(e) => return failed(e),
        },
        false => Vec::new(),
    };
    let data = versions_page(&l.view, &all, (from, to, party), &diff, &naming.of(&l));
    show(
        &state,
        StatusCode::OK,
        session,
        Flash::default(),
        &l.ws,
        "convention/versions",
        data,
    )
}
