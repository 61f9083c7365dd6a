//! Server-rendered French pages. The full journeys (DSFR) come with the web issue; this is the
//! entry page that shows what the platform holds.

use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use serde::Serialize;

use super::{ApiError, AppState};
use crate::domain::eligibility::{check_eligibility, french_date};
use crate::domain::{Eligibility, EpciFacts};
use crate::import::ImportKind;
use crate::store::BailleurSummary;

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(home))
}

#[derive(Serialize)]
struct HomePage {
    title: &'static str,
    today: String,
    window_note: String,
    epcis: Vec<EpciView>,
    bailleurs: Vec<BailleurSummary>,
    imports: Vec<ImportView>,
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

async fn home(State(state): State<AppState>) -> Result<Html<String>, ApiError> {
    let today = chrono::Local::now().date_naive();
    let epcis = state
        .store
        .epcis()
        .await?
        .into_iter()
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
    let page = HomePage {
        title: "Convention unique de gestion en flux",
        today: french_date(today),
        window_note,
        epcis,
        bailleurs: state.store.bailleurs().await?,
        imports: ImportKind::ALL
            .iter()
            .map(|k| ImportView {
                file: k.file_name(),
                description: k.description(),
                needs_bailleur: k.needs_bailleur(),
            })
            .collect(),
    };
    let html = state
        .templates
        .render("home", &page)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Html(html))
}
