//! Rapport (`/conventions/{id}/rapport`): the breaches and the compromise of the current
//! version; the secretariat consolidates from here.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::{FlashQuery, done, failed, load_named, reason, show};
use crate::http::AppState;
use crate::http::pages::caller::{PageCaller, SignedForm};
use crate::http::pages::extract::{PageParams, PagePath};
use crate::render::pages::convention::Page;
use crate::render::pages::convention::objectives::objectives_chart;
use crate::render::pages::convention::report::{ReportPage, report_page, state_by_commune};
use crate::services::conventions::drafting::{self, Consolidation};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/conventions/{id}/rapport", get(page))
        .route("/conventions/{id}/consolider", post(consolidate))
}

async fn page(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
    PagePath(id): PagePath<i64>,
    PageParams(q): PageParams<FlashQuery>,
) -> Response {
    let (l, naming) = match load_named(&state, &caller, &session, id, Page::Report).await {
        Ok(loaded) => loaded,
        Err(e) => return failed(e),
    };
    let names = naming.of(&l);
    let mut data = l.doc().map_or_else(ReportPage::default, |d| {
        report_page(&d.report, &names, &l.view.your_party)
    });
    // The version's policy, read once for both charts.
    let policy = l.doc().and_then(|doc| {
        crate::policy::rules::Policy::load(&state.platform.policies_dir, &doc.scenario.policy)
            .ok()
            .map(|policy| (doc, policy))
    });
    if let Some((doc, policy)) = policy {
        let cap = policy.rule("etat.plafond").and_then(|r| r.limit);
        data.state_chart = cap.and_then(|cap| state_by_commune(doc, &names, cap));
        data.objectives_chart = objectives_chart(&doc.scenario, &doc.report, &policy);
    }
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
    match drafting::consolidate(&state.platform, &caller, id, request).await {
        // Done, but the signature cannot open on it: a warning, never a success banner.
        Ok(c) if c.blocking > 0 => crate::http::pages::frame::redirect(&format!(
            "{}?{}",
            Page::Overview.path(id),
            crate::http::pages::flash::param("alerte", &c.message())
        )),
        outcome => done(id, Page::Overview, outcome.map(|c| c.message())),
    }
}
