//! Tableau des flux (`/conventions/{id}/tableau`): filtered and paginated on the server.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;

use super::{failed, load, show};
use crate::http::AppState;
use crate::http::pages::caller::PageCaller;
use crate::http::pages::extract::{PageParams, PagePath};
use crate::http::pages::frame::Flash;
use crate::render::pages::convention::report::Names;
use crate::render::pages::convention::table::{TableQuery, TableView, table_view};
use crate::render::pages::convention::{Page, party_names, solver_report};
use crate::services::conventions as service;

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
    let l = match load(&state, &caller, &session, id, Page::Table).await {
        Ok(l) => l,
        Err(e) => return failed(e),
    };
    let communes = match service::commune_names(&state.platform, &l.view).await {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let parties = party_names(&l.view);
    let report = l
        .doc
        .as_ref()
        .map(|d| solver_report(&d.report))
        .unwrap_or_default();
    let table = l
        .doc
        .as_ref()
        .zip(report.table.as_ref())
        .map(|(doc, table)| {
            let names = Names {
                parties: &parties,
                communes: &communes,
                segments: &doc.scenario.segments,
            };
            table_view(table, &names, &q)
        });
    let data = TableData {
        table,
        table_error: report
            .table_error
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
