//! Rapport (`/conventions/{id}/rapport`): the breaches and the compromise of the current
//! version; the secretariat consolidates from here.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::{FlashQuery, done, failed, load, reason, show};
use crate::http::AppState;
use crate::http::pages::caller::{PageCaller, SignedForm};
use crate::http::pages::extract::{PageParams, PagePath};
use crate::render::pages::convention::report::{
    BreachLine, Names, PartyChange, breach_lines, compromise_by_party,
};
use crate::render::pages::convention::{Page, party_names, solver_report};
use crate::services::conventions::drafting::{self, Consolidation};
use crate::services::conventions::{self as service};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/conventions/{id}/rapport", get(page))
        .route("/conventions/{id}/consolider", post(consolidate))
}

#[derive(Serialize, Default)]
struct ReportData {
    breaches: Vec<BreachLine>,
    blocking: usize,
    warnings: usize,
    compromise: Vec<PartyChange>,
    has_compromise: bool,
    compromise_impossible: bool,
    table_error: String,
}

async fn page(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
    PagePath(id): PagePath<i64>,
    PageParams(q): PageParams<FlashQuery>,
) -> Response {
    let l = match load(&state, &caller, &session, id, Page::Report).await {
        Ok(l) => l,
        Err(e) => return failed(e),
    };
    let communes = match service::commune_names(&state.platform, &l.view).await {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let parties = party_names(&l.view);
    let data = l.doc.as_ref().map_or_else(ReportData::default, |doc| {
        let report = solver_report(&doc.report);
        let names = Names {
            parties: &parties,
            communes: &communes,
            segments: &doc.scenario.segments,
        };
        let breaches = breach_lines(&report, &names);
        let yours = &l.view.your_party;
        ReportData {
            blocking: report.blocking(),
            warnings: breaches.len() - report.blocking(),
            has_compromise: report.compromise.is_some(),
            compromise: report
                .compromise
                .as_ref()
                .map(|c| compromise_by_party(c, &names, yours))
                .unwrap_or_default(),
            compromise_impossible: report.compromise.is_none() && report.blocking() > 0,
            table_error: report.table_error.clone().unwrap_or_default(),
            breaches,
        }
    });
    show(
        &state,
        StatusCode::OK,
        session,
        q.into(),
        &l.ws,
        "convention/report",
        data,
    )
}

#[derive(Debug, Deserialize)]
pub struct ConsolidationForm {
    /// `propositions` or `compromis`.
    base: String,
    #[serde(default)]
    reason: String,
}

async fn consolidate(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    SignedForm { caller, form, .. }: SignedForm<ConsolidationForm>,
) -> Response {
    let request = Consolidation {
        based_on: if form.base == "compromis" {
            "compromise"
        } else {
            "proposals"
        }
        .into(),
        reason: reason(&form.reason),
    };
    let outcome = drafting::consolidate(&state.platform, &caller, id, request)
        .await
        .map(|n| format!("Version n° {n} consolidée : la convention passe en arbitrage."));
    done(id, Page::Overview, outcome)
}
