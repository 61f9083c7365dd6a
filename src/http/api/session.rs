//! Sign-in, sign-out, the caller's account and invitation acceptance.

use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::json::JsonBody;
use crate::http::auth::{AuthUser, Origin, session_cookie};
use crate::http::{ApiError, AppState};
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

pub async fn logout() -> Response {
    (
        [(SET_COOKIE, session_cookie("", 0))],
        Json(serde_json::json!({"message": "session fermée"})),
    )
        .into_response()
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
