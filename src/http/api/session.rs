//! Sign-in, sign-out, the caller's account and password, and invitation acceptance.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::json::JsonBody;
use crate::http::auth::{AuthUser, Origin, session_cookie, session_token};
use crate::http::{ApiError, AppState};
use crate::services::accounts::{self, PasswordChange};
use crate::services::conventions::members::{self, Acceptance, SESSION_SECS, Session};
use crate::store::conventions::{ConventionSummary, UserRecord};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    email: String,
    password: String,
}

fn with_cookie(session: Session) -> Response {
    let cookie = session_cookie(&session.token, SESSION_SECS);
    ([(SET_COOKIE, cookie)], Json(session)).into_response()
}

pub async fn login(
    State(state): State<AppState>,
    Origin(origin): Origin,
    JsonBody(credentials): JsonBody<Credentials>,
) -> Result<Response, ApiError> {
    let session = members::login(
        &state.platform,
        &credentials.email,
        &credentials.password,
        &origin.ip,
    )
    .await?;
    Ok(with_cookie(session))
}

/// Revokes the token presented (header or cookie) for every instance, then empties the cookie.
/// Without a valid token there is nothing to revoke: the answer is the same.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(token) = session_token(&headers) {
        members::logout(&state.platform, &token).await?;
    }
    Ok((
        [(SET_COOKIE, session_cookie("", 0))],
        Json(serde_json::json!({"message": "session fermée"})),
    )
        .into_response())
}

/// The old tokens are all revoked; the answer carries the session that replaces them.
pub async fn change_password(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    JsonBody(change): JsonBody<PasswordChange>,
) -> Result<Response, ApiError> {
    Ok(with_cookie(
        accounts::change_password(&state.platform, &caller, change).await?,
    ))
}

#[derive(Serialize)]
pub struct Me {
    user: UserRecord,
    conventions: Vec<ConventionSummary>,
}

pub async fn me(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> Result<Json<Me>, ApiError> {
    let conventions =
        crate::services::conventions::my_conventions(&state.platform, &caller).await?;
    Ok(Json(Me {
        user: caller.user,
        conventions,
    }))
}

pub async fn accept_invitation(
    State(state): State<AppState>,
    JsonBody(acceptance): JsonBody<Acceptance>,
) -> Result<Response, ApiError> {
    Ok(with_cookie(
        members::accept(&state.platform, acceptance).await?,
    ))
}
