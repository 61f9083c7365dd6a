//! Who is calling: a session token in `Authorization: Bearer …` (API) or in the HttpOnly
//! `cf_session` cookie (pages). A missing token is "not signed in"; a bad one is an error, never
//! an anonymous call.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE, USER_AGENT};
use axum::http::request::Parts;

use super::{ApiError, AppState};
use crate::services::conventions::members::authenticate;
use crate::services::conventions::{Caller, RequestMeta};

pub const SESSION_COOKIE: &str = "cf_session";

/// The authenticated caller.
pub struct AuthUser(pub Caller);

/// The token of `Authorization: Bearer …`, or else of the session cookie.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        return Some(
            value
                .strip_prefix("Bearer ")
                .unwrap_or(value)
                .trim()
                .to_owned(),
        );
    }
    session_cookie_value(headers)
}

/// The session cookie's value, if any (an emptied cookie after sign-out counts as none).
pub fn session_cookie_value(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, SESSION_COOKIE)
}

fn cookie_value(headers: &HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == wanted && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

/// The anti-forgery cookie of the forms shown before sign-in (sign-in, forgotten password),
/// which have no session to derive a token from. Double submit: the form carries the same
/// random value as this cookie, and a page of another site can neither read the cookie nor,
/// the cookie being `SameSite=Strict`, have the browser send it with its own post.
pub const FORM_COOKIE: &str = "cf_formulaire";
/// Long enough to fill a form after a coffee break.
const FORM_COOKIE_SECS: i64 = 2 * 3600;

/// The form token of this browser, and the `Set-Cookie` value to send when it is new.
pub fn form_token(headers: &HeaderMap) -> (String, Option<String>) {
    match cookie_value(headers, FORM_COOKIE).filter(|v| is_form_token(v)) {
        Some(token) => (token, None),
        None => {
            let token = crate::auth::new_secret_token().plain;
            let cookie = format!(
                "{FORM_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={FORM_COOKIE_SECS}"
            );
            (token, Some(cookie))
        }
    }
}

/// Whether a form posted before sign-in carries this browser's form token.
pub fn form_token_matches(headers: &HeaderMap, posted: &str) -> bool {
    cookie_value(headers, FORM_COOKIE).is_some_and(|token| is_form_token(&token) && token == posted)
}

/// The shape [`crate::auth::new_secret_token`] makes: anything else in the cookie is not ours.
fn is_form_token(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = session_token(&parts.headers).ok_or_else(|| {
            ApiError::Unauthenticated(
                "non authentifié : connectez-vous (POST /api/session) et présentez le jeton".into(),
            )
        })?;
        Ok(AuthUser(authenticate(&state.platform, &token).await?))
    }
}

/// Where the request came from, for signature records and the login limiter.
pub struct Origin(pub RequestMeta);

impl FromRequestParts<AppState> for Origin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "inconnue".into());
        let user_agent = parts
            .headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(512)
            .collect();
        Ok(Origin(RequestMeta { ip, user_agent }))
    }
}

/// The `Set-Cookie` value of a session (HttpOnly, SameSite=Strict, path /).
pub fn session_cookie(token: &str, max_age: i64) -> String {
    format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}")
}
