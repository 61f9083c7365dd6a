//! Password reset: a single-use link valid one hour, sent through the outbox; the answer never
//! tells whether an address has an account.

use chrono::{Duration, Utc};

use super::ServiceError;
use super::conventions::{Platform, now};
use crate::auth::{check_password_policy, hash_password_async, new_secret_token, token_digest};
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
    let text = format!(
        "Bonjour {name},\n\nUne réinitialisation du mot de passe de votre compte convention-flux a été demandée. Pour choisir un nouveau mot de passe, ouvrez ce lien (valable {RESET_MINUTES} minutes, utilisable une seule fois) :\n{link}\n\nSi vous n'êtes pas à l'origine de cette demande, ignorez ce message : votre mot de passe reste inchangé.\n",
        name = user.name
    );
    let html = format!(
        "<p>Bonjour {name},</p><p>Une réinitialisation du mot de passe de votre compte convention-flux a été demandée. Pour choisir un nouveau mot de passe, ouvrez ce lien (valable {RESET_MINUTES} minutes, utilisable une seule fois) :</p><p><a href=\"{link}\">{link}</a></p><p>Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : votre mot de passe reste inchangé.</p>",
        name = escape(&user.name)
    );
    let expires = crate::signing::timestamp(Utc::now() + Duration::minutes(RESET_MINUTES));
    p.store
        .create_password_reset(
            user.id,
            &token.digest,
            &expires,
            &OutboxMessage {
                to: user.email.clone(),
                subject: "Réinitialisation de votre mot de passe convention-flux".into(),
                body_text: text,
                body_html: html,
                created_at: now(),
                attachments: Vec::new(),
            },
        )
        .await?;
    Ok(RESET_REQUESTED)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
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
