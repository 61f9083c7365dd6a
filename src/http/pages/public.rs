//! The home page: for a signed-in user, what to do now in each of their conventions; for
//! everyone, what the platform holds (territories and their eligibility, patrimoine loaded).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;

use super::extract::PageParams;
use super::frame::{Flash, Frame, page_caller, render};
use crate::domain::eligibility::{check_eligibility, french_date};
use crate::domain::{Eligibility, EpciFacts};
use crate::http::{ApiError, AppState};
use crate::import::ImportKind;
use crate::store::BailleurSummary;

#[derive(Serialize)]
struct HomePage {
    #[serde(flatten)]
    frame: Frame,
    conventions: Vec<ConventionLine>,
    can_create: bool,
    /// The EPCIs whose CIA the user may read (its own as secretariat, those of its conventions).
    my_epcis: Vec<MyEpci>,
    today: String,
    window_note: String,
    epcis: Vec<EpciView>,
    bailleurs: Vec<BailleurSummary>,
    imports: Vec<ImportView>,
}

#[derive(Serialize)]
struct MyEpci {
    siren: String,
    name: String,
    /// The CIL's view is offered (secretariat).
    cil: bool,
}

#[derive(Serialize)]
struct EpciView {
    siren: String,
    name: String,
    communes: u64,
    qpvs: u64,
    eligibility: Eligibility,
}

#[derive(Serialize)]
struct ImportView {
    file: String,
    description: &'static str,
    needs_bailleur: bool,
}

#[derive(Serialize)]
struct ConventionLine {
    id: i64,
    title: String,
    state: String,
    /// « signataire pour État – contingent préfectoral ».
    role: String,
    to_do: String,
}

pub async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageParams(flash): PageParams<Flash>,
) -> Response {
    match home_page(&state, &headers, flash).await {
        Ok(page) => render(&state, "home", &page),
        Err(e) => axum::response::IntoResponse::into_response(e),
    }
}

async fn home_page(
    state: &AppState,
    headers: &HeaderMap,
    flash: Flash,
) -> Result<HomePage, ApiError> {
    let session = page_caller(state, headers).await;
    let (conventions, can_create, my_sirens) = match &session {
        Some((caller, _)) => {
            let mine =
                crate::services::conventions::my_conventions(&state.platform, caller).await?;
            // The parties are named as in the registry of réservataires they come from.
            let registry = state.store.reservataires().await.unwrap_or_default();
            let of_registry = |party: &str| registry.iter().find(|r| r.id.as_str() == party);
            let name_of = |party: &str| match party {
                "bailleur" => "le bailleur".to_owned(),
                _ => {
                    of_registry(party).map_or_else(|| "votre partie".to_owned(), |r| r.name.clone())
                }
            };
            // The préfet approves: the State is known by its kind, not by an id.
            let is_state = |party: &str| {
                of_registry(party).is_some_and(|r| {
                    matches!(
                        r.kind,
                        crate::domain::ReservataireKind::Etat
                            | crate::domain::ReservataireKind::EtatFonctionnaires
                    )
                })
            };
            let mut sirens: Vec<(String, bool)> = Vec::new();
            if caller.user.organisation_kind == "epci" {
                sirens.push((caller.user.organisation_reference.clone(), true));
            }
            for c in &mine {
                let observer = c.role == crate::domain::convention::Role::Observer;
                match sirens.iter_mut().find(|(s, _)| *s == c.epci_siren) {
                    Some((_, cil)) => *cil |= observer,
                    None => sirens.push((c.epci_siren.clone(), observer)),
                }
            }
            let lines = mine
                .into_iter()
                .map(|c| {
                    let party = name_of(&c.party);
                    ConventionLine {
                        to_do: super::convention::to_do_for_home(
                            c.role,
                            &party,
                            is_state(&c.party),
                            c.state,
                        ),
                        state: c.state.label().to_owned(),
                        role: crate::render::pages::convention::role_in_words(c.role, &party),
                        id: c.id,
                        title: c.title,
                    }
                })
                .collect();
            (lines, caller.user.organisation_kind == "epci", sirens)
        }
        None => (Vec::new(), false, Vec::new()),
    };
    let today = chrono::Local::now().date_naive();
    // Counting 120,000 dwellings and their rights on every visit would cost more than the rest
    // of the page: the figures are read once per import (data revision).
    let imported = state.imported.summaries(state.store.as_ref()).await?;
    let epcis: Vec<EpciView> = imported
        .epcis
        .iter()
        .cloned()
        .map(|summary| {
            let facts = EpciFacts {
                qpv_count: usize::try_from(summary.qpvs).unwrap_or(usize::MAX),
                epci: summary.epci.clone(),
            };
            EpciView {
                siren: summary.epci.siren.to_string(),
                name: summary.epci.name,
                communes: summary.communes,
                qpvs: summary.qpvs,
                eligibility: check_eligibility(&facts, &state.window, today),
            }
        })
        .collect();
    let window_note = match (state.window.publication_date, state.window.illustrative) {
        (Some(date), true) => format!(
            "Date de publication illustrative fixée pour la démonstration : {} (aucune loi publiée portant l'expérimentation n'est établie).",
            french_date(date)
        ),
        (Some(date), false) => format!(
            "Expérimentation ouverte le {} pour {} ans.",
            french_date(date),
            state.window.duration_years
        ),
        (None, _) => {
            "La date de publication de la loi portant l'expérimentation n'est pas renseignée."
                .into()
        }
    };
    let my_epcis = my_sirens
        .into_iter()
        .map(|(siren, cil)| MyEpci {
            name: epcis
                .iter()
                .find(|e| e.siren == siren)
                .map_or_else(|| siren.clone(), |e| e.name.clone()),
            siren,
            cil,
        })
        .collect();
    Ok(HomePage {
        frame: Frame {
            title: "Convention unique de gestion en flux".into(),
            session: session.map(|(_, view)| view),
            flash,
        },
        conventions,
        can_create,
        my_epcis,
        today: french_date(today),
        window_note,
        epcis,
        bailleurs: imported.bailleurs.clone(),
        imports: ImportKind::ALL
            .iter()
            .map(|k| ImportView {
                file: k.file_name(),
                description: k.description(),
                needs_bailleur: k.needs_bailleur(),
            })
            .collect(),
    })
}
