//! The JSON API. Errors: `{"erreur": {"code", "message", "lignes"?}}` with stable codes.

pub mod conventions;
pub mod exports;
pub mod health;
pub mod imports;
pub mod json;
pub mod openapi;
pub mod session;
pub mod solve;
pub mod territory;

use axum::Router;
use axum::routing::{get, post, put};

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
        .route(
            "/solve",
            post(solve::solve).layer(axum::extract::DefaultBodyLimit::max(solve::BODY_LIMIT)),
        )
        .route("/openapi.json", get(openapi::document))
        .route("/session", post(session::login).delete(session::logout))
        .route("/me", get(session::me))
        .route("/me/password", put(session::change_password))
        .route("/invitations/accept", post(session::accept_invitation))
        .route(
            "/conventions",
            get(conventions::list).post(conventions::create),
        )
        .route("/conventions/{id}", get(conventions::show))
        .route(
            "/conventions/{id}/version",
            get(conventions::current_version),
        )
        .route("/conventions/{id}/table", get(conventions::table))
        .route("/conventions/{id}/table.csv", get(exports::table_csv))
        .route("/conventions/{id}/table.xlsx", get(exports::table_xlsx))
        .route("/conventions/{id}/table.json", get(exports::table_json))
        .route("/conventions/{id}/versions", get(conventions::versions))
        .route(
            "/conventions/{id}/versions/{number}",
            get(conventions::version),
        )
        .route("/conventions/{id}/diff", get(conventions::diff))
        .route("/conventions/{id}/objectives", put(conventions::objectives))
        .route("/conventions/{id}/clauses", put(conventions::clauses))
        .route(
            "/conventions/{id}/proposals/{party}",
            put(conventions::save_proposal),
        )
        .route(
            "/conventions/{id}/proposals/{party}/publish",
            post(conventions::publish_proposal),
        )
        .route(
            "/conventions/{id}/consolidate",
            post(conventions::consolidate),
        )
        .route(
            "/conventions/{id}/transitions/{name}",
            post(conventions::transition),
        )
        .route("/conventions/{id}/signing", post(conventions::open_signing))
        .route("/conventions/{id}/signatures", post(conventions::sign))
        .route("/conventions/{id}/comments", post(conventions::comment))
        .route(
            "/conventions/{id}/comments/{comment}/resolve",
            post(conventions::resolve),
        )
        .route(
            "/conventions/{id}/comments/{comment}/overrule",
            post(conventions::overrule),
        )
        .route("/conventions/{id}/invitations", post(conventions::invite))
        .route("/conventions/{id}/audit", get(conventions::audit))
        .route("/conventions/{id}/bundle", get(conventions::bundle))
}
