//! The JSON API. Errors: `{"erreur": {"code", "message", "lignes"?}}` with stable codes.

pub mod cia;
pub mod conventions;
pub mod conversion;
pub mod exports;
pub mod health;
pub mod imports;
pub mod json;
pub mod openapi;
pub mod session;
pub mod solve;
pub mod territory;

use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

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

/// The JSON API under `/api`, and `/health`: the router and its OpenAPI document, built from
/// one list of handlers (each with its `#[utoipa::path]`), so that every route is documented.
pub fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .nest("/api", routes())
        .routes(routes!(health::health))
}

/// The routes under `/api`. Add a route here with `routes!` only: a plain `.route` would be
/// served without being documented (clippy refuses it, see `clippy.toml`).
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(territory::epcis))
        .routes(routes!(territory::communes))
        .routes(routes!(territory::eligibility))
        .routes(routes!(territory::bailleurs))
        .routes(routes!(territory::reservataires))
        .routes(routes!(imports::formats))
        .routes(routes!(imports::import))
        .routes(
            routes!(solve::solve).layer(axum::extract::DefaultBodyLimit::max(solve::BODY_LIMIT)),
        )
        .routes(routes!(openapi::document))
        .routes(routes!(session::login, session::logout))
        .routes(routes!(session::me))
        .routes(routes!(session::change_password))
        .routes(routes!(session::accept_invitation))
        .routes(routes!(conventions::list, conventions::create))
        .routes(routes!(conventions::show))
        .routes(routes!(conventions::current_version))
        .routes(routes!(conventions::table))
        .routes(routes!(conversion::conversion))
        .routes(routes!(exports::table_csv))
        .routes(routes!(exports::table_xlsx))
        .routes(routes!(exports::table_json))
        .routes(routes!(exports::document_pdf))
        .routes(routes!(conventions::versions))
        .routes(routes!(conventions::version))
        .routes(routes!(conventions::diff))
        .routes(routes!(conventions::objectives))
        .routes(routes!(cia::cia_show, cia::cia_record))
        .routes(routes!(cia::cia_adopt))
        .routes(routes!(cia::cil_view))
        .routes(routes!(conventions::clauses))
        .routes(routes!(conventions::save_proposal))
        .routes(routes!(conventions::publish_proposal))
        .routes(routes!(conventions::consolidate))
        .routes(routes!(conventions::transition))
        .routes(routes!(conventions::open_signing))
        .routes(routes!(conventions::sign))
        .routes(routes!(conventions::comment))
        .routes(routes!(conventions::resolve))
        .routes(routes!(conventions::overrule))
        .routes(routes!(conventions::invite))
        .routes(routes!(conventions::audit))
        .routes(routes!(conventions::bundle))
}
