//! The JSON API. Errors: `{"erreur": {"code", "message", "lignes"?}}` with stable codes.

pub mod health;
pub mod imports;
pub mod territory;

use axum::Router;
use axum::routing::{get, post};

use super::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/epci", get(territory::epcis))
        .route("/epci/{siren}/communes", get(territory::communes))
        .route("/epci/{siren}/eligibilite", get(territory::eligibility))
        .route("/bailleurs", get(territory::bailleurs))
        .route("/reservataires", get(territory::reservataires))
        .route("/imports", get(imports::formats))
        .route("/imports/{kind}", post(imports::import))
}
