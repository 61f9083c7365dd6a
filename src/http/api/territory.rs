//! Reading the territory and the eligibility of an EPCI. Public data (EPCI, communes,
//! bailleurs' aggregate figures): no per-convention role applies.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use utoipa::IntoParams;

use super::openapi::Erreur;

use crate::domain::text::parse_date;
use crate::domain::{Commune, Eligibility, Reservataire, Siren};
use crate::http::{ApiError, AppState};
use crate::services::eligibility::epci_eligibility;
use crate::store::{BailleurSummary, EpciSummary};

fn siren(value: &str) -> Result<Siren, ApiError> {
    value.parse().map_err(|e: crate::domain::InvalidValue| {
        ApiError::BadRequest(format!(
            "SIREN « {value} » invalide : {} attendu",
            e.expected
        ))
    })
}

#[utoipa::path(
    get,
    path = "/epci",
    tag = "territoire",
    summary = "EPCI importés",
    description = "Les EPCI connus de la plateforme, avec leur nombre de communes et de QPV.",
    responses((status = 200, description = "Les EPCI", body = Vec<EpciSummary>)),
)]
pub async fn epcis(State(state): State<AppState>) -> Result<Json<Vec<EpciSummary>>, ApiError> {
    Ok(Json(state.store.epcis().await?))
}

#[utoipa::path(
    get,
    path = "/epci/{siren}/communes",
    tag = "territoire",
    summary = "Communes membres d'un EPCI",
    params(("siren" = String, Path, description = "SIREN de l'EPCI (9 chiffres)")),
    responses(
        (status = 200, description = "Les communes membres", body = Vec<Commune>),
        (status = 400, description = "requete_invalide : SIREN mal formé", body = Erreur),
    ),
)]
pub async fn communes(
    State(state): State<AppState>,
    Path(value): Path<String>,
) -> Result<Json<Vec<Commune>>, ApiError> {
    let siren = siren(&value)?;
    Ok(Json(state.store.communes_of_epci(&siren).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DateQuery {
    /// Date d'évaluation AAAA-MM-JJ (aujourd'hui par défaut)
    date: Option<String>,
}

/// `GET /api/epci/{siren}/eligibilite?date=AAAA-MM-JJ` (today by default).
#[utoipa::path(
    get,
    path = "/epci/{siren}/eligibilite",
    tag = "territoire",
    summary = "Éligibilité d'un EPCI à l'expérimentation",
    description = "Chaque condition (PLH ou compétence habitat, QPV, CIA conclue, période de \
        l'expérimentation), remplie ou non, avec son explication en français.",
    params(("siren" = String, Path, description = "SIREN de l'EPCI (9 chiffres)"), DateQuery),
    responses(
        (status = 200, description = "L'éligibilité à la date demandée", body = Eligibility),
        (status = 400, description = "requete_invalide : SIREN ou date mal formés", body = Erreur),
        (status = 404, description = "introuvable : EPCI inconnu", body = Erreur),
    ),
)]
pub async fn eligibility(
    State(state): State<AppState>,
    Path(value): Path<String>,
    Query(query): Query<DateQuery>,
) -> Result<Json<Eligibility>, ApiError> {
    let siren = siren(&value)?;
    let date = match query.date.as_deref() {
        None | Some("") => chrono::Local::now().date_naive(),
        Some(text) => parse_date(text).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "paramètre date : « {text} » n'est pas une date AAAA-MM-JJ"
            ))
        })?,
    };
    Ok(Json(
        epci_eligibility(state.store.as_ref(), &siren, &state.window, date).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/bailleurs",
    tag = "territoire",
    summary = "Bailleurs importés et leur patrimoine",
    description = "Chiffres agrégés du patrimoine chargé de chaque bailleur.",
    responses((status = 200, description = "Les bailleurs", body = Vec<BailleurSummary>)),
)]
pub async fn bailleurs(
    State(state): State<AppState>,
) -> Result<Json<Vec<BailleurSummary>>, ApiError> {
    Ok(Json(state.store.bailleurs().await?))
}

#[utoipa::path(
    get,
    path = "/reservataires",
    tag = "territoire",
    summary = "Registre des réservataires",
    responses((status = 200, description = "Les réservataires connus", body = Vec<Reservataire>)),
)]
pub async fn reservataires(
    State(state): State<AppState>,
) -> Result<Json<Vec<Reservataire>>, ApiError> {
    Ok(Json(state.store.reservataires().await?))
}
