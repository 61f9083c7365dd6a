//! Propositions (`/conventions/{id}/propositions`): every party's proposal for the secretariat,
//! its own form for a party, with a preview that writes nothing.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::{Loaded, done, failed, load, load_named, refused, show};
use crate::http::AppState;
use crate::http::pages::caller::{PageCaller, SignedForm};
use crate::http::pages::extract::{PageParams, PagePath};
use crate::http::pages::frame::{Flash, SessionView, redirect};
use crate::render::pages::convention::Page;
use crate::render::pages::convention::party_name;
use crate::render::pages::convention::proposals::{
    Preview, ProposalEntry, ProposalErrors, ProposalLine, preview_of, proposal_lines,
    published_banner, starting_method_sentence, starting_sentence,
};
use crate::render::pages::convention::report::Names;
use crate::services::ServiceError;
use crate::services::conventions::{self as service, Caller, drafting};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/conventions/{id}/propositions", get(page))
        .route("/conventions/{id}/propositions/publier", post(publish))
        .route("/conventions/{id}/propositions/enregistrer", post(save))
        .route(
            "/conventions/{id}/propositions/previsualiser",
            post(preview),
        )
}

#[derive(Debug, Default, Deserialize)]
pub struct ProposalsQuery {
    #[serde(default, deserialize_with = "crate::http::pages::flash::sealed")]
    message: Option<String>,
    #[serde(default, deserialize_with = "crate::http::pages::flash::sealed")]
    erreur: Option<String>,
    /// The version a publication just made: the banner says whether breaches remain.
    #[serde(default)]
    publiee: Option<i64>,
}

#[derive(Serialize)]
struct ProposalsData {
    lines: Vec<ProposalLine>,
    party_name: String,
    is_bailleur: bool,
    /// Where the caller's own proposal stands, in a sentence.
    own_status: String,
    entry: ProposalEntry,
    errors: ProposalErrors,
    preview: Option<Preview>,
    /// Where the caller's share started (a réservataire), in a sentence.
    starting: Option<String>,
    /// Where every share started, for the secretariat.
    starting_method: Option<String>,
}

/// What the page shows, with the entry typed (kept on an error) and a preview, if any.
fn data(
    l: &Loaded,
    entry: Option<ProposalEntry>,
    errors: ProposalErrors,
    preview: Option<Preview>,
) -> ProposalsData {
    ProposalsData {
        lines: if l.ws.can.see_all_proposals {
            proposal_lines(&l.view, l.doc())
        } else {
            Vec::new()
        },
        party_name: party_name(&l.view, &l.view.your_party),
        is_bailleur: l.view.your_party == "bailleur",
        own_status: own_status(&l.view),
        entry: entry.unwrap_or_else(|| ProposalEntry::of_party(&l.view, l.doc())),
        errors,
        preview,
        starting: l
            .doc()
            .filter(|_| l.ws.can.propose && l.view.your_party != "bailleur")
            .and_then(|d| starting_sentence(d, &l.view.your_party)),
        starting_method: l
            .doc()
            .filter(|_| l.ws.can.see_all_proposals)
            .and_then(starting_method_sentence),
    }
}

/// « Votre proposition est publiée depuis le 2 décembre 2026 à 15 h 04. » and whether a draft
/// waits, for the caller's own party.
fn own_status(view: &crate::services::conventions::ConventionView) -> String {
    let own = view.proposals.iter().find(|p| p.party == view.your_party);
    let published = own
        .and_then(|p| p.published_at.as_ref())
        .map(crate::render::pages::dates::french_datetime);
    let draft = own.is_some_and(|p| p.draft.is_some() && p.draft != p.published);
    match (published, draft) {
        (Some(at), false) => format!(
            "Votre proposition est publiée depuis le {at}. La modifier et la publier à nouveau crée une nouvelle version."
        ),
        (Some(at), true) => format!(
            "Votre dernière publication date du {at} ; un brouillon plus récent est enregistré, visible de votre seule partie, et n'est pas publié."
        ),
        (None, true) => "Votre brouillon est enregistré, visible de votre seule partie : il n'est pas encore publié.".into(),
        (None, false) => "Votre partie n'a pas encore publié de proposition.".into(),
    }
}

/// The banner after a publication: a warning naming each blocking breach that remains,
/// never a success over a cap breach.
fn published(l: &Loaded, names: &Names<'_>, number: i64) -> Flash {
    let violations = l.doc().map_or(&[][..], |d| &d.report.violations);
    match published_banner(violations, names, number, &l.view.your_party) {
        Ok(message) => Flash {
            message: Some(message),
            ..Flash::default()
        },
        Err(warning) => Flash {
            warning: Some(warning),
            ..Flash::default()
        },
    }
}

async fn page(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
    PagePath(id): PagePath<i64>,
    PageParams(q): PageParams<ProposalsQuery>,
) -> Response {
    let (l, naming) = match load_named(&state, &caller, &session, id, Page::Proposals).await {
        Ok(loaded) => loaded,
        Err(e) => return failed(e),
    };
    let flash = match q.publiee {
        Some(n) if l.ws.version == Some(n) => published(&l, &naming.of(&l), n),
        _ => Flash {
            message: q.message,
            error: q.erreur,
            warning: None,
        },
    };
    let data = data(&l, None, ProposalErrors::default(), None);
    show(
        &state,
        StatusCode::OK,
        session,
        flash,
        &l.ws,
        TEMPLATE,
        data,
    )
}

/// The page again with the entry kept and the error at its field or in the banner.
async fn again(
    state: &AppState,
    caller: &Caller,
    session: SessionView,
    id: i64,
    entry: ProposalEntry,
    errors: ProposalErrors,
    error: Option<ServiceError>,
) -> Response {
    let l = match load(state, caller, &session, id, Page::Proposals).await {
        Ok(l) => l,
        Err(e) => return failed(e),
    };
    let what = "La proposition n'est pas enregistrée";
    let (status, flash) = match &error {
        Some(e) => refused(what, e, false),
        None => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Flash {
                error: Some(format!("{what} : corrigez les champs signalés.")),
                ..Flash::default()
            },
        ),
    };
    let data = data(&l, Some(entry), errors, None);
    show(state, status, session, flash, &l.ws, TEMPLATE, data)
}

const TEMPLATE: &str = "convention/proposals";

async fn publish(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    f: SignedForm<ProposalEntry>,
) -> Response {
    submit(state, id, f, true).await
}

async fn save(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    f: SignedForm<ProposalEntry>,
) -> Response {
    submit(state, id, f, false).await
}

async fn submit(state: AppState, id: i64, f: SignedForm<ProposalEntry>, publish: bool) -> Response {
    let SignedForm {
        caller,
        session,
        form,
    } = f;
    let access = match service::access(&state.platform, &caller, id).await {
        Ok(a) => a,
        Err(e) => return failed(e),
    };
    let body = match form.parse(access.party == "bailleur") {
        Ok(body) => body,
        Err(errors) => return again(&state, &caller, session, id, form, errors, None).await,
    };
    let p = &state.platform;
    match drafting::save_proposal(p, &caller, id, &access.party, body, publish).await {
        Ok(Some(n)) => redirect(&format!("/conventions/{id}/propositions?publiee={n}")),
        Ok(None) => done(id, Page::Proposals, Ok(SAVED.into())),
        Err(e) => {
            let errors = ProposalErrors::default();
            again(&state, &caller, session, id, form, errors, Some(e)).await
        }
    }
}

const SAVED: &str = "Proposition enregistrée, visible de vous seul jusqu'à sa publication.";

async fn preview(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    SignedForm {
        caller,
        session,
        form,
    }: SignedForm<ProposalEntry>,
) -> Response {
    let (l, naming) = match load_named(&state, &caller, &session, id, Page::Proposals).await {
        Ok(loaded) => loaded,
        Err(e) => return failed(e),
    };
    let party = l.view.your_party.clone();
    let body = match form.parse(party == "bailleur") {
        Ok(body) => body,
        Err(errors) => return again(&state, &caller, session, id, form, errors, None).await,
    };
    let errors = ProposalErrors::default();
    let p = &state.platform;
    let report = match drafting::preview_proposal(p, &caller, id, &party, &body).await {
        Ok(r) => r,
        Err(e) => return again(&state, &caller, session, id, form, errors, Some(e)).await,
    };
    let Some(doc) = l.doc() else {
        return failed(ServiceError::Conflict("aucune version".into()));
    };
    let shown = preview_of(&report, &naming.of(&l), doc, &party, &body);
    let (data, flash) = (data(&l, Some(form), errors, Some(shown)), Flash::default());
    let ws = &l.ws;
    show(&state, StatusCode::OK, session, flash, ws, TEMPLATE, data)
}
