//! Vue d'ensemble (`/conventions/{id}`) and the decisions of the lifecycle taken from it.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::{FlashQuery, Loaded, ReasonForm, done, failed, load, reason, refused, show};
use crate::domain::convention::{ConventionState, Role, Transition};
use crate::http::AppState;
use crate::http::pages::caller::{PageCaller, SignedForm};
use crate::http::pages::extract::{PageParams, PagePath};
use crate::http::pages::frame::{Flash, SessionView};
use crate::render::pages::convention::Page;
use crate::render::pages::convention::members::{InvitationEntry, InvitationForm, invitation_form};
use crate::render::pages::convention::overview::{
    ObjectivesEntry, ObjectivesErrors, Overview, overview, to_do,
};
use crate::render::pages::forms::FieldErrors;
use crate::services::ServiceError;
use crate::services::conventions::coordination;
use crate::services::conventions::drafting::{self, ObjectivesChange};
use crate::services::conventions::members;
use crate::services::conventions::{Caller, segments};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/conventions/{id}", get(page))
        .route("/conventions/{id}/concertation/ouvrir", post(open))
        .route("/conventions/{id}/concertation/rouvrir", post(reopen))
        .route("/conventions/{id}/approbation/approuver", post(approve))
        .route("/conventions/{id}/approbation/refuser", post(refuse))
        .route("/conventions/{id}/avenant", post(avenant))
        .route("/conventions/{id}/abandon", post(abandon))
        .route("/conventions/{id}/objectifs", post(objectives))
        .route("/conventions/{id}/cia", post(adopt_cia))
        .route("/conventions/{id}/membres/inviter", post(invite))
        .route(
            "/conventions/{id}/assiette/actualiser",
            post(refresh_assiette),
        )
}

/// The home page's line for a convention (stored strings of the summary), `name` being the
/// caller's party's name.
pub fn to_do_for_home(role: Role, name: &str, is_state: bool, state: ConventionState) -> String {
    to_do(role, state, name, is_state)
}

async fn page(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
    PagePath(id): PagePath<i64>,
    PageParams(q): PageParams<FlashQuery>,
) -> Response {
    match load(&state, &caller, &session, id, Page::Overview).await {
        Ok(l) => {
            let data = page_data(&state, &l, InvitationEntry::default(), None).await;
            let ws = &l.ws;
            show(
                &state,
                StatusCode::OK,
                session,
                q.into(),
                ws,
                TEMPLATE,
                data,
            )
        }
        Err(e) => failed(e),
    }
}

const TEMPLATE: &str = "convention/overview";

/// What the overview shows, with the invitation form for the secretariat.
#[derive(Serialize)]
struct OverviewPage {
    #[serde(flatten)]
    overview: Overview,
    invitation: InvitationForm,
}

/// The overview, with the members for the secretariat and the invitation as typed.
async fn page_data(
    state: &AppState,
    l: &Loaded,
    entry: InvitationEntry,
    errors: Option<FieldErrors>,
) -> OverviewPage {
    let mut overview = overview(&l.view, l.doc());
    if l.ws.can.invite {
        // Read-only; a failure to read it leaves the section out rather than the page.
        overview.roster = coordination::roster_of(&state.platform, &l.view).await.ok();
    }
    if let Ok(epci) = l.view.convention.epci_siren.parse::<crate::domain::Siren>() {
        // Read-only as well: without it the block says only what the version restates.
        let latest = crate::services::cia::current(&state.platform, &epci)
            .await
            .ok()
            .flatten();
        overview.cia = Some(crate::render::pages::convention::overview::cia_block(
            &l.view,
            l.doc(),
            latest.as_ref(),
            l.ws.can.edit_objectives,
        ));
    }
    let invitation = invitation_form(&l.view, entry, errors.unwrap_or_default());
    OverviewPage {
        overview,
        invitation,
    }
}

async fn decide(state: &AppState, caller: &Caller, id: i64, t: Transition, why: &str) -> Response {
    super::decide(state, caller, id, t, why, Page::Overview).await
}

async fn open(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    f: SignedForm<ReasonForm>,
) -> Response {
    decide(&state, &f.caller, id, Transition::Open, &f.form.reason).await
}

async fn reopen(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    f: SignedForm<ReasonForm>,
) -> Response {
    decide(&state, &f.caller, id, Transition::Reopen, &f.form.reason).await
}

async fn approve(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    f: SignedForm<ReasonForm>,
) -> Response {
    decide(&state, &f.caller, id, Transition::Approve, &f.form.reason).await
}

async fn refuse(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    f: SignedForm<ReasonForm>,
) -> Response {
    decide(&state, &f.caller, id, Transition::Refuse, &f.form.reason).await
}

async fn avenant(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    f: SignedForm<ReasonForm>,
) -> Response {
    decide(&state, &f.caller, id, Transition::Avenant, &f.form.reason).await
}

async fn abandon(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    f: SignedForm<ReasonForm>,
) -> Response {
    decide(&state, &f.caller, id, Transition::Abandon, &f.form.reason).await
}

async fn objectives(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    SignedForm {
        caller,
        session,
        form,
    }: SignedForm<ObjectivesEntry>,
) -> Response {
    let objectives = match form.parse() {
        Ok(objectives) => objectives,
        Err(errors) => return objectives_again(&state, &caller, session, id, form, errors).await,
    };
    let change = ObjectivesChange {
        objectives,
        reason: reason(&form.reason),
    };
    let outcome = drafting::set_objectives(&state.platform, &caller, id, change)
        .await
        .map(|n| format!("Objectifs enregistrés dans la version n° {n}."));
    done(id, Page::Overview, outcome)
}

/// `POST /conventions/{id}/cia`: the secretariat takes the EPCI's latest CIA.
async fn adopt_cia(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    f: SignedForm<ReasonForm>,
) -> Response {
    let outcome = drafting::adopt_cia(&state.platform, &f.caller, id)
        .await
        .map(|n| format!("La CIA est reprise dans la version n° {n}."));
    done(id, Page::Overview, outcome)
}

/// The overview again, the objectives as typed and the error at each field at fault.
async fn objectives_again(
    state: &AppState,
    caller: &Caller,
    session: SessionView,
    id: i64,
    entry: ObjectivesEntry,
    errors: ObjectivesErrors,
) -> Response {
    let l = match load(state, caller, &session, id, Page::Overview).await {
        Ok(l) => l,
        Err(e) => return failed(e),
    };
    let mut data = page_data(state, &l, InvitationEntry::default(), None).await;
    data.overview.objectives = entry;
    data.overview.objectives_errors = errors;
    let flash = Flash {
        error: Some("Les objectifs ne sont pas enregistrés : corrigez les champs signalés.".into()),
        ..Flash::default()
    };
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    show(state, status, session, flash, &l.ws, TEMPLATE, data)
}

async fn invite(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    SignedForm {
        caller,
        session,
        form,
    }: SignedForm<InvitationEntry>,
) -> Response {
    let outcome = match form.request() {
        Ok(request) => members::invite(&state.platform, &caller, id, request).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => {
            let sent = format!("Invitation envoyée à {}.", form.email.trim());
            // Back at the top, with the banner (the form's `#inviter` would otherwise carry over).
            crate::http::pages::frame::redirect(&format!(
                "{}?{}#contenu",
                Page::Overview.path(id),
                crate::http::pages::flash::param("message", &sent)
            ))
        }
        Err(e) => invite_again(&state, &caller, session, id, form, e).await,
    }
}

/// The overview again, the invitation as typed and the error at its field (or in the banner
/// when it is not about a field).
async fn invite_again(
    state: &AppState,
    caller: &Caller,
    session: SessionView,
    id: i64,
    entry: InvitationEntry,
    error: ServiceError,
) -> Response {
    let l = match load(state, caller, &session, id, Page::Overview).await {
        Ok(l) => l,
        Err(e) => return failed(e),
    };
    let errors = InvitationEntry::errors(&error);
    let (status, flash) = refused("L'invitation n'est pas envoyée", &error, errors.is_some());
    let data = page_data(state, &l, entry, errors).await;
    show(state, status, session, flash, &l.ws, TEMPLATE, data)
}

#[derive(Debug, Deserialize)]
pub struct NoFields {}

async fn refresh_assiette(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    f: SignedForm<NoFields>,
) -> Response {
    let outcome = segments::refresh(&state.platform, &f.caller, id)
        .await
        .map(|n| format!("Segments actualisés depuis l'assiette : version n° {n}."));
    done(id, Page::Overview, outcome)
}
