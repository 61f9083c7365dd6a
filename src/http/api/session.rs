//! Sign-in, sign-out, the caller's account and password, and invitation acceptance.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::json::JsonBody;
use super::openapi::Erreur;
use crate::http::auth::{AuthUser, Origin, session_cookie, session_token};
use crate::http::{ApiError, AppState};
use crate::services::accounts::{self, PasswordChange};
use crate::services::conventions::members::{self, Acceptance, SESSION_SECS, Session};
use crate::store::conventions::{ConventionSummary, UserRecord};

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(description = "Identifiants de connexion")]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    email: String,
    password: String,
}

/// `{"message": …}`: an action done that returns nothing else.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(description = "Une action faite, qui ne renvoie rien d'autre")]
pub struct Message {
    /// Ce qui a été fait, en français
    pub message: &'static str,
}

fn with_cookie(session: Session) -> Response {
    let cookie = session_cookie(&session.token, SESSION_SECS);
    ([(SET_COOKIE, cookie)], Json(session)).into_response()
}

#[utoipa::path(
    post,
    path = "/session",
    tag = "session",
    summary = "Connexion (jeton et cookie de session)",
    description = "Ouvre une session : le jeton est renvoyé dans le corps (à présenter dans \
        Authorization: Bearer) et posé en cookie HttpOnly. Les échecs répétés pour une même \
        adresse ou une même origine sont limités (429).",
    request_body(content = Credentials),
    responses(
        (status = 200, description = "Session ouverte (cookie posé par Set-Cookie)", body = Session),
        (status = 401, description = "non_authentifie : adresse ou mot de passe incorrects", body = Erreur),
        (status = 429, description = "trop_de_tentatives : trop d'échecs, réessayer après le délai indiqué", body = Erreur),
    ),
)]
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
#[utoipa::path(
    delete,
    path = "/session",
    tag = "session",
    summary = "Déconnexion (le jeton présenté est révoqué)",
    description = "Révoque le jeton présenté (en-tête ou cookie) et vide le cookie. Sans jeton \
        valide, la réponse est la même.",
    responses((status = 200, description = "Session fermée", body = Message)),
)]
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(token) = session_token(&headers) {
        members::logout(&state.platform, &token).await?;
    }
    Ok((
        [(SET_COOKIE, session_cookie("", 0))],
        Json(Message {
            message: "session fermée",
        }),
    )
        .into_response())
}

/// The old tokens are all revoked; the answer carries the session that replaces them.
#[utoipa::path(
    put,
    path = "/me/password",
    tag = "session",
    summary = "Changer mon mot de passe (toutes mes sessions sont révoquées, une nouvelle est ouverte)",
    description = "Le mot de passe actuel est vérifié (les échecs comptent comme à la signature) ; \
        le nouveau doit compter au moins 12 caractères et ne pas être trop facile à deviner.",
    request_body(content = PasswordChange),
    responses(
        (status = 200, description = "Mot de passe changé ; la nouvelle session remplace les anciennes", body = Session),
        (status = 400, description = "requete_invalide : nouveau mot de passe trop court ou trop facile à deviner", body = Erreur),
        (status = 401, description = "non_authentifie : session invalide, ou mot de passe actuel incorrect", body = Erreur),
        (status = 429, description = "trop_de_tentatives : trop d'échecs de mot de passe", body = Erreur),
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
pub async fn change_password(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    JsonBody(change): JsonBody<PasswordChange>,
) -> Result<Response, ApiError> {
    Ok(with_cookie(
        accounts::change_password(&state.platform, &caller, change).await?,
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(description = "Mon compte et mes conventions")]
pub struct Me {
    user: UserRecord,
    conventions: Vec<ConventionSummary>,
}

#[utoipa::path(
    get,
    path = "/me",
    tag = "session",
    summary = "Mon compte et mes conventions",
    responses((status = 200, description = "Le compte de la session et ses conventions", body = Me)),
    security(("bearer" = []), ("cookie" = [])),
)]
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

#[utoipa::path(
    post,
    path = "/invitations/accept",
    tag = "session",
    summary = "Accepter une invitation",
    description = "Le jeton vient du lien reçu par courriel. Si l'adresse invitée n'a pas encore \
        de compte, il est créé avec le mot de passe donné (au moins 12 caractères). Ouvre une session.",
    request_body(content = Acceptance),
    responses(
        (status = 200, description = "Invitation acceptée, session ouverte", body = Session),
        (status = 400, description = "requete_invalide : mot de passe absent ou trop faible pour un nouveau compte", body = Erreur),
        (status = 401, description = "non_authentifie : lien d'invitation invalide, expiré ou déjà utilisé", body = Erreur),
    ),
)]
pub async fn accept_invitation(
    State(state): State<AppState>,
    JsonBody(acceptance): JsonBody<Acceptance>,
) -> Result<Response, ApiError> {
    Ok(with_cookie(
        members::accept(&state.platform, acceptance).await?,
    ))
}
