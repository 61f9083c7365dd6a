//! What every page shares: the title, the signed-in user (with the CSRF token of the session)
//! and the message of the previous action, carried in the query string (`?message=`, `?erreur=`)
//! so that the pages need neither JavaScript nor server-side flash storage.

use axum::http::HeaderMap;
use axum::http::header::LOCATION;
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::http::auth::session_cookie_value;
use crate::http::{ApiError, AppState};
use crate::services::conventions::Caller;
use crate::services::conventions::members::authenticate;
use crate::signing::sha256_hex;

#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    pub name: String,
    pub email: String,
    pub csrf: String,
}

/// The banners of a page. Each is shown as a sentence (capital letter, full stop) whatever
/// the words it was given: a service's refusal is a fragment (« mot de passe incorrect : … »).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Flash {
    #[serde(
        default,
        deserialize_with = "crate::http::pages::flash::sealed",
        serialize_with = "as_sentence"
    )]
    pub message: Option<String>,
    #[serde(
        default,
        rename(deserialize = "erreur"),
        deserialize_with = "crate::http::pages::flash::sealed",
        serialize_with = "as_sentence"
    )]
    pub error: Option<String>,
    /// Done, but something needs attention (a proposal published over a cap breach).
    #[serde(
        default,
        rename(deserialize = "alerte"),
        deserialize_with = "crate::http::pages::flash::sealed",
        serialize_with = "as_sentence"
    )]
    pub warning: Option<String>,
}

fn as_sentence<S: serde::Serializer>(text: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    text.as_deref()
        .map(crate::domain::text::sentence)
        .serialize(s)
}

#[derive(Debug, Clone, Serialize)]
pub struct Frame {
    pub title: String,
    pub session: Option<SessionView>,
    pub flash: Flash,
}

/// The CSRF token of a session: derived from the session token, so it needs no storage and
/// changes with each sign-in.
pub fn csrf_token(session_token: &str) -> String {
    sha256_hex(format!("csrf:{session_token}").as_bytes())[..32].to_owned()
}

/// The signed-in caller of a page, if any (an invalid or expired cookie counts as signed out,
/// and the sign-in page says so).
pub async fn page_caller(state: &AppState, headers: &HeaderMap) -> Option<(Caller, SessionView)> {
    let token = session_cookie_value(headers)?;
    let caller = authenticate(&state.platform, &token).await.ok()?;
    let view = SessionView {
        name: caller.user.name.clone(),
        email: caller.user.email.clone(),
        csrf: csrf_token(&token),
    };
    Some((caller, view))
}

/// Checks the CSRF token of a form posted by `session`.
pub fn check_csrf(session: &SessionView, posted: &str) -> Result<(), Box<Response>> {
    if !posted.is_empty() && posted == session.csrf {
        Ok(())
    } else {
        Err(Box::new(ApiError::Forbidden(
            "formulaire expiré ou envoyé depuis un autre site : rechargez la page et recommencez"
                .into(),
        )
        .into_response()))
    }
}

pub fn redirect(to: &str) -> Response {
    (
        axum::http::StatusCode::SEE_OTHER,
        [(LOCATION, to.to_owned())],
    )
        .into_response()
}

/// Percent-encodes a query value.
pub fn urlencode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char);
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub fn render<T: Serialize>(state: &AppState, name: &str, data: &T) -> Response {
    match state.templates.render(name, data) {
        Ok(html) => Html(html).into_response(),
        Err(e) => ApiError::Internal(e.to_string()).into_response(),
    }
}

/// The HTTP status of a failed use case, for a page that shows the error.
pub fn status_of(error: &crate::services::ServiceError) -> axum::http::StatusCode {
    use crate::services::ServiceError as E;
    use axum::http::StatusCode as S;
    match error {
        E::NotFound(_) => S::NOT_FOUND,
        E::Invalid(_) | E::Import(_) => S::BAD_REQUEST,
        E::Unauthenticated(_) => S::UNAUTHORIZED,
        E::Forbidden(_) => S::FORBIDDEN,
        E::Conflict(_) => S::CONFLICT,
        E::TooManyAttempts(..) => S::TOO_MANY_REQUESTS,
        E::Store(crate::store::StoreError::Constraint {
            field: Some(field), ..
        }) if field.duplicate => S::CONFLICT,
        E::Store(crate::store::StoreError::Constraint { field: Some(_), .. }) => S::BAD_REQUEST,
        E::Store(_) | E::Internal(_) => S::INTERNAL_SERVER_ERROR,
    }
}

#[derive(Serialize)]
struct ErrorPage {
    #[serde(flatten)]
    frame: Frame,
    status: u16,
    message: String,
    advice: &'static str,
}

/// The heading and the advice of an error page, by status.
fn error_words(status: axum::http::StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => (
            "Demande invalide",
            "Vérifiez l'adresse ou le formulaire, puis recommencez.",
        ),
        401 => ("Connexion nécessaire", "Connectez-vous, puis recommencez."),
        403 => (
            "Accès refusé",
            "Rechargez la page et recommencez ; si le refus persiste, demandez l'accès au secrétariat de la CIL.",
        ),
        404 => (
            "Page introuvable",
            "Vérifiez l'adresse, ou repartez de la page d'accueil qui liste vos conventions.",
        ),
        409 => (
            "Action impossible pour l'instant",
            "Rechargez la page pour voir l'état à jour de la convention.",
        ),
        413 => (
            "Envoi trop volumineux",
            "Réduisez la taille du fichier ou demandez à l'exploitant de relever la limite.",
        ),
        422 => (
            "Données refusées",
            "Corrigez les données, puis recommencez.",
        ),
        429 => (
            "Trop de tentatives",
            "Patientez quelques minutes avant de recommencer.",
        ),
        503 => (
            "Service momentanément indisponible",
            "Réessayez dans quelques instants.",
        ),
        _ => (
            "Erreur inattendue",
            "L'incident est journalisé ; réessayez ou contactez l'exploitant.",
        ),
    }
}

/// An error as a French DSFR page, with its HTTP status.
pub async fn error_page(
    state: &AppState,
    headers: &HeaderMap,
    status: axum::http::StatusCode,
    message: &str,
) -> Response {
    // When the service itself is failing, the page does not ask the database who is signed in.
    let session = if status.is_server_error() {
        None
    } else {
        page_caller(state, headers).await.map(|(_, view)| view)
    };
    let (heading, advice) = error_words(status);
    let page = ErrorPage {
        frame: Frame {
            title: heading.into(),
            session,
            flash: Flash::default(),
        },
        status: status.as_u16(),
        message: crate::domain::text::sentence(message),
        advice,
    };
    let html = state.templates.render("error", &page).unwrap_or_else(|e| {
        tracing::error!(cause = %e, "page d'erreur impossible à rendre");
        format!(
            "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{heading} — convention-flux</title></head><body><main><h1>{heading}</h1><p>{}</p><p><a href=\"/\">Retour à l'accueil</a></p></main></body></html>",
            handlebars::html_escape(message)
        )
    });
    (status, Html(html)).into_response()
}
