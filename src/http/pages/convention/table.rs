//! Tableau des flux (`/conventions/{id}/tableau`): filtered and paginated on the server.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;

use super::{failed, load_named, show};
use crate::http::AppState;
use crate::http::pages::caller::PageCaller;
use crate::http::pages::extract::{PageParams, PagePath};
use crate::http::pages::frame::Flash;
use crate::render::pages::convention::Page;
use crate::render::pages::convention::table::{TableQuery, TableView, table_view};

pub fn routes() -> Router<AppState> {
    Router::new().route("/conventions/{id}/tableau", get(page))
}

#[derive(Serialize)]
struct TableData {
    table: Option<TableView>,
    table_error: String,
}

async fn page(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
    PagePath(id): PagePath<i64>,
    PageParams(q): PageParams<TableQuery>,
) -> Response {
    let (l, naming) = match load_named(&state, &caller, &session, id, Page::Table).await {
        Ok(loaded) => loaded,
        Err(e) => return failed(e),
    };
    let report = l.doc().map(|d| &d.report);
    let table = report
        .and_then(|r| r.table.as_ref())
        .map(|t| table_view(t, &naming.of(&l), &q));
    let data = TableData {
        table,
        table_error: report
            .and_then(|r| r.table_error.clone())
            .unwrap_or_else(|| "aucune version".into()),
    };
    let flash = Flash {
        message: q.message,
        error: q.erreur,
        warning: None,
    };
    show(
        &state,
        StatusCode::OK,
        session,
        flash,
        &l.ws,
        "convention/table",
        data,
    )
}
