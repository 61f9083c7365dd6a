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

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Flash {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default, rename(deserialize = "erreur"))]
    pub error: Option<String>,
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

/// The caller of a page that needs a session, or a redirection to the sign-in page.
pub async fn require_caller(
    state: &AppState,
    headers: &HeaderMap,
    back_to: &str,
) -> Result<(Caller, SessionView), Response> {
    page_caller(state, headers)
        .await
        .ok_or_else(|| redirect(&format!("/connexion?suite={}", urlencode(back_to))))
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
        E::Store(_) => S::INTERNAL_SERVER_ERROR,
    }
}
