use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::http::{ApiError, AppState};
use crate::store::Backend;

#[derive(Serialize)]
pub struct Health {
    statut: &'static str,
    base: Backend,
    version: &'static str,
}

/// Up when the database answers.
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
