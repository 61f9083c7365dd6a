//! Server-rendered French pages (DSFR, from the npm package served under `/dsfr`). Every
//! essential action is a plain HTML form: the pages work without JavaScript and with the
//! keyboard alone. Forms carry a CSRF token bound to the session; the session cookie is
//! `HttpOnly; SameSite=Strict`.

mod assiette;
pub(crate) mod caller;
mod convention;
mod epci;
pub(crate) mod extract;
pub(crate) mod flash;
pub(crate) mod frame;
mod import;
mod outbox;
mod public;
mod session;

use axum::Router;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::AppState;
pub use frame::{csrf_token, error_page};

/// The platform's style sheet, embedded in the binary like the templates.
const STYLESHEET: &str = include_str!("../../../assets/convention-flux.css");

async fn stylesheet() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            // Revalidated on each visit: a new release's styles show at once.
            (CACHE_CONTROL, "no-cache"),
        ],
        STYLESHEET,
    )
        .into_response()
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(public::home))
        .route("/ressources/convention-flux.css", get(stylesheet))
        .route("/connexion", get(session::login_form).post(session::login))
        .route("/deconnexion", post(session::logout))
        .route(
            "/mot-de-passe-oublie",
            get(session::forgot_form).post(session::forgot),
        )
        .route(
            "/reinitialisation/{token}",
            get(session::reset_form).post(session::reset),
        )
        .route(
            "/invitation/{token}",
            get(session::invitation_form).post(session::accept_invitation),
        )
        .route("/courriels", get(outbox::page))
        .route("/conventions/{id}/assiette", get(assiette::page))
        .route("/conventions/{id}/import", get(import::form))
        .route("/conventions/{id}/import/{kind}", post(import::upload))
        .merge(convention::routes())
        .merge(epci::routes())
}
