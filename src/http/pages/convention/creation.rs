//! Opening a convention (`/conventions/nouvelle`), by the secretariat of the CIL.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use super::FlashQuery;
use crate::domain::convention::ConventionState;
use crate::http::pages::caller::{PageCaller, SignedForm};
use crate::http::pages::extract::PageParams;
use crate::http::pages::frame::{Flash, Frame, SessionView, redirect, render};
use crate::http::{ApiError, AppState};
use crate::services::ServiceError;
use crate::services::conventions::Caller;
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

/// What the secretariat typed, kept when the convention cannot be opened.
#[derive(Default)]
struct Entry {
    bailleur: String,
    year: String,
    title: String,
    reservataires: Vec<String>,
    /// `flux` or `stock`: how the état des lieux becomes the starting shares.
    method: String,
}

#[derive(Serialize)]
struct NewConventionPage {
    #[serde(flatten)]
    frame: Frame,
    bailleurs: Vec<Choice>,
    reservataires: Vec<Choice>,
    year: String,
    title: String,
    /// The conversion method chosen (`flux` unless the secretariat chose `stock`).
    method_stock: bool,
    /// The conventions already opened on the territory, in words.
    existing: Vec<String>,
    csrf: String,
}

/// The form, empty or with `entry` kept and `error` in the banner (status 422).
async fn form(
    state: &AppState,
    caller: &Caller,
    session: SessionView,
    flash: Flash,
    entry: Option<Entry>,
) -> Result<NewConventionPage, ServiceError> {
    let csrf = session.csrf.clone();
    let bailleurs = state.store.bailleurs().await?;
    let reservataires = state.store.reservataires().await?;
    let epci = caller.user.organisation_reference.clone();
    let opened = state.store.conventions_of_epci(&epci).await?;
    let name_of = |siren: &str| {
        bailleurs
            .iter()
            .find(|b| b.bailleur.siren.as_str() == siren)
            .map_or_else(|| format!("bailleur {siren}"), |b| b.bailleur.name.clone())
    };
    let existing = opened
        .iter()
        .map(|(id, bailleur, year, state)| {
            format!(
                "n° {id} : {}, année {year} ({})",
                name_of(bailleur),
                state.label()
            )
        })
        .collect();
    let entry = entry.unwrap_or_else(|| {
        // The next year for which the first bailleur has no convention still standing.
        let first = bailleurs.first().map(|b| b.bailleur.siren.to_string());
        let mut year = i64::from(chrono::Datelike::year(&chrono::Utc::now().date_naive()) + 1);
        while opened.iter().any(|(_, b, y, s)| {
            Some(b) == first.as_ref() && *y == year && *s != ConventionState::Abandonnee
        }) {
            year += 1;
        }
        Entry {
            year: year.to_string(),
            ..Entry::default()
        }
    });
    Ok(NewConventionPage {
        frame: Frame {
            title: "Ouvrir une convention".into(),
            session: Some(session),
            flash,
        },
        bailleurs: bailleurs
            .into_iter()
            .map(|b| Choice {
                selected: b.bailleur.siren.as_str() == entry.bailleur,
                value: b.bailleur.siren.to_string(),
                label: format!(
                    "{} ({} logements)",
                    b.bailleur.name,
                    crate::render::charts::french_integer(
                        i64::try_from(b.logements).unwrap_or(i64::MAX)
                    )
                ),
            })
            .collect(),
        reservataires: reservataires
            .into_iter()
            .map(|r| Choice {
                selected: entry.reservataires.iter().any(|e| e == r.id.as_str()),
                value: r.id.as_str().to_owned(),
                label: r.name.clone(),
            })
            .collect(),
        year: entry.year,
        title: entry.title,
        method_stock: entry.method == "stock",
        existing,
        csrf,
    })
}

async fn new_form(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
    PageParams(q): PageParams<FlashQuery>,
) -> Response {
    if let Some(refusal) = refuse_unless_secretariat(&caller.user.organisation_kind) {
        return refusal;
    }
    match form(&state, &caller, session, Flash::from(q), None).await {
        Ok(page) => render(&state, "new_convention", &page),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The creation form: repeated check boxes (`reservataires`) are read as pairs, all of them.
/// A refusal shows the form again with the entry kept and the reason in the banner.
async fn create(
    State(state): State<AppState>,
    SignedForm {
        caller,
        session,
        form: fields,
    }: SignedForm<Vec<(String, String)>>,
) -> Response {
    if let Some(refusal) = refuse_unless_secretariat(&caller.user.organisation_kind) {
        return refusal;
    }
    let entry = Entry::read(&fields);
    let outcome = match entry.year.parse::<i32>() {
        Err(_) => Err(ServiceError::Invalid(
            "année de la convention : un nombre entier est attendu (par exemple 2027)".into(),
        )),
        Ok(year) => {
            let request = CreateConvention {
                epci: caller.user.organisation_reference.clone(),
                bailleur: entry.bailleur.clone(),
                year,
                title: Some(entry.title.clone()).filter(|t| !t.is_empty()),
                reservataires: entry.reservataires.clone(),
                approval_required: Some(true),
                method: Some(entry.method.clone()).filter(|m| !m.is_empty()),
            };
            drafting::create(&state.platform, &caller, request).await
        }
    };
    match outcome {
        Ok(id) => redirect(&format!(
            "/conventions/{id}?{}",
            crate::http::pages::flash::param(
                "message",
                "Convention ouverte en brouillon : vérifiez les segments, fixez les objectifs et invitez les parties."
            )
        )),
        Err(e) => refused(&state, &caller, session, entry, &e).await,
    }
}

impl Entry {
    fn read(fields: &[(String, String)]) -> Self {
        let get = |k: &str| {
            fields
                .iter()
                .find(|(a, _)| a == k)
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default()
        };
        Self {
            bailleur: get("bailleur"),
            year: get("year"),
            title: get("title"),
            method: get("method"),
            reservataires: fields
                .iter()
                .filter(|(k, _)| k == "reservataires")
                .map(|(_, v)| v.clone())
                .collect(),
        }
    }
}

async fn refused(
    state: &AppState,
    caller: &Caller,
    session: SessionView,
    entry: Entry,
    error: &ServiceError,
) -> Response {
    let flash = Flash {
        error: Some(crate::domain::text::sentence(&error.to_string())),
        ..Flash::default()
    };
    match form(state, caller, session, flash, Some(entry)).await {
        Ok(page) => {
            let mut response = render(state, "new_convention", &page);
            *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            response
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}
