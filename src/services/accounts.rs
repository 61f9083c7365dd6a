//! Password reset: a single-use link valid one hour, sent through the outbox; the answer never
//! tells whether an address has an account.

use chrono::{Duration, Utc};

use super::ServiceError;
use super::conventions::{Platform, now};
use crate::auth::{check_password_policy, hash_password_async, new_secret_token, token_digest};
use crate::mail::emails::{EmailKind, compose};
use crate::store::conventions::OutboxMessage;

/// How long a reset link stays valid.
pub const RESET_MINUTES: i64 = 60;

/// What every reset request is told, whether the address exists or not.
pub const RESET_REQUESTED: &str = "Si un compte existe pour cette adresse, un lien de réinitialisation valable une heure vient d'y être envoyé.";

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
    .map_err(|e| ServiceError::Store(crate::store::StoreError::Corrupt(e.to_string())))?;
    let expires = crate::signing::timestamp(Utc::now() + Duration::minutes(RESET_MINUTES));
    p.store
        .create_password_reset(
            user.id,
            &token.digest,
            &expires,
            &OutboxMessage {
                to: user.email.clone(),
                subject: email.subject,
                body_text: email.text,
                body_html: email.html,
                created_at: now(),
                attachments: Vec::new(),
            },
        )
        .await?;
    Ok(RESET_REQUESTED)
}

/// Sets a new password through a reset link.
pub async fn reset(p: &Platform, token: &str, password: &str) -> Result<(), ServiceError> {
    check_password_policy(password).map_err(|e| ServiceError::Invalid(e.to_string()))?;
    let hash = hash_password_async(password.to_owned())
        .await
        .map_err(|e| ServiceError::Invalid(e.to_string()))?;
    if p.store
        .reset_password(&token_digest(token.trim()), &now(), &hash)
        .await?
    {
        Ok(())
    } else {
        Err(ServiceError::Unauthenticated(
            "lien de réinitialisation invalide, expiré ou déjà utilisé : demandez-en un nouveau"
                .into(),
        ))
    }
}
