//! Opening a convention (`/conventions/nouvelle`), by the secretariat of the CIL.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use super::FlashQuery;
use crate::http::pages::caller::{PageCaller, SignedForm};
use crate::http::pages::extract::PageParams;
use crate::http::pages::frame::{Flash, Frame, redirect, render};
use crate::http::{ApiError, AppState};
use crate::services::ServiceError;
use crate::services::conventions::drafting::{self, CreateConvention};

/// Only the secretariat of a CIL (an account of an EPCI) opens a convention: anyone else gets
/// the refusal page, not a form whose sending would fail on an identifier they never typed.
fn refuse_unless_secretariat(organisation_kind: &str) -> Option<Response> {
    (organisation_kind != "epci").then(|| {
        ApiError::from(ServiceError::Forbidden(
            "seul le secrétariat de la CIL ouvre une convention : demandez-lui de vous inviter \
             dans celle qui vous concerne"
                .into(),
        ))
        .into_response()
    })
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/conventions/nouvelle", get(new_form).post(create))
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Serialize)]
struct NewConventionPage {
    #[serde(flatten)]
    frame: Frame,
    bailleurs: Vec<Choice>,
    reservataires: Vec<Choice>,
    year: i32,
    csrf: String,
}

async fn new_form(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
    PageParams(q): PageParams<FlashQuery>,
) -> Response {
    if let Some(refusal) = refuse_unless_secretariat(&caller.user.organisation_kind) {
        return refusal;
    }
    let bailleurs = state.store.bailleurs().await.unwrap_or_default();
    let reservataires = state.store.reservataires().await.unwrap_or_default();
    let choice = |value: String, label: String| Choice {
        value,
        label,
        selected: false,
    };
    let csrf = session.csrf.clone();
    let page = NewConventionPage {
        frame: Frame {
            title: "Ouvrir une convention".into(),
            session: Some(session),
            flash: Flash::from(q),
        },
        bailleurs: bailleurs
            .into_iter()
            .map(|b| {
                choice(
                    b.bailleur.siren.to_string(),
                    format!("{} ({} logements)", b.bailleur.name, b.logements),
                )
            })
            .collect(),
        reservataires: reservataires
            .into_iter()
            .map(|r| choice(r.id.as_str().to_owned(), r.name.clone()))
            .collect(),
        year: chrono::Datelike::year(&chrono::Utc::now().date_naive()) + 1,
        csrf,
    };
    render(&state, "new_convention", &page)
}

/// The creation form: repeated check boxes (`reservataires`) are read as pairs, all of them.
async fn create(
    State(state): State<AppState>,
    SignedForm { caller, form, .. }: SignedForm<Vec<(String, String)>>,
) -> Response {
    if let Some(refusal) = refuse_unless_secretariat(&caller.user.organisation_kind) {
        return refusal;
    }
    let get = |k: &str| {
        form.iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let back = |message: &str| {
        redirect(&format!(
            "/conventions/nouvelle?{}",
            crate::http::pages::flash::param("erreur", message)
        ))
    };
    let Ok(year) = get("year").trim().parse::<i32>() else {
        return back("année de la convention : un nombre entier est attendu (par exemple 2027)");
    };
    let request = CreateConvention {
        epci: caller.user.organisation_reference.clone(),
        bailleur: get("bailleur"),
        year,
        title: Some(get("title").trim().to_owned()).filter(|t| !t.is_empty()),
        reservataires: form
            .iter()
            .filter(|(k, _)| k == "reservataires")
            .map(|(_, v)| v.clone())
            .collect(),
        approval_required: Some(true),
    };
    match drafting::create(&state.platform, &caller, request).await {
        Ok(id) => redirect(&format!(
            "/conventions/{id}?{}",
            crate::http::pages::flash::param(
                "message",
                "Convention ouverte en brouillon : vérifiez les segments, fixez les objectifs et invitez les parties."
            )
        )),
        Err(e) => back(&e.to_string()),
    }
}
