use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::http::{ApiError, AppState};
use crate::store::Backend;

#[derive(Serialize, utoipa::ToSchema)]
#[schema(description = "État du service")]
pub struct Health {
    #[schema(example = "ok")]
    statut: &'static str,
    base: Backend,
    /// Version de la plateforme
    version: &'static str,
}

/// Up when the database answers.
#[utoipa::path(
    get,
    path = "/health",
    tag = "service",
    summary = "État du service et de la base",
    description = "Pour la supervision : 200 quand la base de données répond.",
    responses(
        (status = 200, description = "Le service et sa base répondent", body = Health),
        (status = 503, description = "service_indisponible : la base de données ne répond pas", body = super::openapi::Erreur),
    ),
)]
pub async fn health(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.store.ping().await.map_err(|e| {
        tracing::error!(cause = %e, "la base de données ne répond pas");
        ApiError::Unavailable
    })?;
    Ok(Json(Health {
        statut: "ok",
        base: state.store.backend(),
        version: env!("CARGO_PKG_VERSION"),
    }))
}
