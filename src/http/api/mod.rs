//! The JSON API. Errors: `{"erreur": {"code", "message", "lignes"?}}` with stable codes.

pub mod health;
pub mod imports;
pub mod solve;
pub mod territory;

use axum::Router;
use axum::routing::{get, post};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;

use super::{ApiError, AppState};

/// The request body, or the error that says why it could not be read (too large, cut off).
pub fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| match rejection {
        BytesRejection::FailedToBufferBody(e) if e.to_string().contains("length limit exceeded") => {
            ApiError::TooLarge(
                "le corps de la requête dépasse la taille maximale acceptée (réglage body_limit_bytes)".into(),
            )
        }
        other => ApiError::BadRequest(format!("corps de requête illisible : {other}")),
    })
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/epci", get(territory::epcis))
        .route("/epci/{siren}/communes", get(territory::communes))
        .route("/epci/{siren}/eligibilite", get(territory::eligibility))
        .route("/bailleurs", get(territory::bailleurs))
        .route("/reservataires", get(territory::reservataires))
        .route("/imports", get(imports::formats))
        .route("/imports/{kind}", post(imports::import))
        .route("/solve", post(solve::solve))
}
