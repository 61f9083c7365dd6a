//! Reading the territory and the eligibility of an EPCI. Public data (EPCI, communes,
//! bailleurs' aggregate figures): no per-convention role applies.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;

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

pub async fn epcis(State(state): State<AppState>) -> Result<Json<Vec<EpciSummary>>, ApiError> {
    Ok(Json(state.store.epcis().await?))
}

pub async fn communes(
    State(state): State<AppState>,
    Path(value): Path<String>,
) -> Result<Json<Vec<Commune>>, ApiError> {
    let siren = siren(&value)?;
    Ok(Json(state.store.communes_of_epci(&siren).await?))
}

#[derive(Deserialize)]
pub struct DateQuery {
    date: Option<String>,
}

/// `GET /api/epci/{siren}/eligibilite?date=AAAA-MM-JJ` (today by default).
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

pub async fn bailleurs(
    State(state): State<AppState>,
) -> Result<Json<Vec<BailleurSummary>>, ApiError> {
    Ok(Json(state.store.bailleurs().await?))
}

pub async fn reservataires(
    State(state): State<AppState>,
) -> Result<Json<Vec<Reservataire>>, ApiError> {
    Ok(Json(state.store.reservataires().await?))
}
