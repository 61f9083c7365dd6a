//! Password reset and change. A reset link is single-use and valid one hour, sent through the
//! outbox; the answer never tells whether an address has an account. A new password, by either
//! way, revokes every session of the account.

use chrono::{Duration, Utc};

use super::ServiceError;
use super::conventions::Caller;
use super::conventions::members::{Session, session};
use super::conventions::{Platform, now};
use crate::auth::{check_password_policy, hash_password_async, new_secret_token, token_digest};
use crate::mail::emails::{EmailKind, compose};
use crate::store::conventions::OutboxMessage;

/// How long a reset link stays valid.
pub const RESET_MINUTES: i64 = 60;

/// At most this many reset links per account within [`RESET_MINUTES`]: enough for a lost
/// e-mail or two, not enough to flood a mailbox. Further requests are answered the same way
/// but send nothing, so that the answer still does not tell whether the account exists.
pub const RESETS_PER_WINDOW: i64 = 3;

/// What every reset request is told, whether the address exists or not.
pub const RESET_REQUESTED: &str = "Si un compte existe pour cette adresse, un lien de réinitialisation valable une heure vient d'y être envoyé.";

#[tracing::instrument(skip_all)]
pub async fn request_reset(p: &Platform, email: &str) -> Result<&'static str, ServiceError> {
    let Some(user) = p.store.user_by_email(email.trim()).await? else {
        return Ok(RESET_REQUESTED);
    };
    let token = new_secret_token();
    let link = format!(
        "{}/reinitialisation/{}",
        p.base_url.trim_end_matches('/'),
        token.plain
    );
    let email = compose(
        EmailKind::PasswordReset,
        &serde_json::json!({
            "name": user.name, "title": "votre compte convention-flux",
            "minutes": RESET_MINUTES, "link": link,
        }),
    )
    .map_err(ServiceError::internal)?;
    let at = Utc::now();
    let expires = crate::signing::timestamp(at + Duration::minutes(RESET_MINUTES));
    let since = crate::signing::timestamp(at - Duration::minutes(RESET_MINUTES));
    let sent = p
        .store
        .create_password_reset(
            user.id,
            &token.digest,
            &expires,
            &OutboxMessage {
                to: user.email.clone(),
                subject: email.subject,
                body_text: email.text,
                body_html: email.html,
                created_at: crate::signing::timestamp(at),
                attachments: Vec::new(),
            },
            &since,
            RESETS_PER_WINDOW,
        )
        .await?;
    if !sent {
        tracing::warn!(
            user = user.id,
            "demande de réinitialisation ignorée : {RESETS_PER_WINDOW} liens déjà envoyés en {RESET_MINUTES} minutes"
        );
    }
    Ok(RESET_REQUESTED)
}

fn invalid_reset_link() -> ServiceError {
    ServiceError::Unauthenticated(
        "lien de réinitialisation invalide, expiré ou déjà utilisé : demandez-en un nouveau".into(),
    )
}

/// Sets a new password through a reset link; the account's other links are voided and its
/// sessions revoked.
#[tracing::instrument(skip_all)]
pub async fn reset(p: &Platform, token: &str, password: &str) -> Result<(), ServiceError> {
    let digest = token_digest(token.trim());
    let user = p
        .store
        .password_reset_user(&digest, &now())
        .await?
        .ok_or_else(invalid_reset_link)?;
    check_password_policy(password, &user.email, &user.name)
        .map_err(|e| ServiceError::Invalid(e.to_string()))?;
    let hash = hash_password_async(password.to_owned())
        .await
        .map_err(|e| ServiceError::Invalid(e.to_string()))?;
    // Checked again in the same transaction as the change: the link may have been spent since.
    if p.store.reset_password(&digest, &now(), &hash).await? {
        Ok(())
    } else {
        Err(invalid_reset_link())
    }
}

/// What a signed-in user sends to change their password.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Changes the caller's password after checking the current one (failures count like those
/// at signing). Every session of the account is revoked, the caller's own included; the
/// returned session replaces it.
#[tracing::instrument(skip_all, fields(user = caller.user.id))]
pub async fn change_password(
    p: &Platform,
    caller: &Caller,
    change: PasswordChange,
) -> Result<Session, ServiceError> {
    let hash = caller.user.password_hash.clone().unwrap_or_default();
    super::conventions::members::check_reauthentication(
        p,
        caller,
        &change.current_password,
        &hash,
        "champ current_password : mot de passe actuel incorrect",
    )
    .await?;
    check_password_policy(&change.new_password, &caller.user.email, &caller.user.name)
        .map_err(|e| ServiceError::Invalid(format!("champ new_password : {e}")))?;
    let new_hash = hash_password_async(change.new_password)
        .await
        .map_err(|e| ServiceError::Invalid(e.to_string()))?;
    p.store.change_password(caller.user.id, &new_hash).await?;
    session(p, caller.user.clone()).await
}
