use std::path::PathBuf;

use super::password::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};

/// Failures of the authentication primitives. `WeakPassword` is meant to be shown to the user
/// as is; the others describe a server-side problem, to be logged and shown as a generic error.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("mot de passe refusé : {0}")]
    WeakPassword(PasswordRule),
    #[error("échec du hachage du mot de passe : {0}")]
    Hashing(String),
    #[error("la tâche de hachage du mot de passe a été interrompue : {0}")]
    BlockingTask(String),
    #[error("générateur aléatoire du système indisponible : {0}")]
    Randomness(String),
    #[error("secret de signature des jetons trop court : {len} octets, il en faut au moins 32")]
    SecretTooShort { len: usize },
    #[error("durée de validité du jeton invalide : {0} s (elle doit être strictement positive)")]
    InvalidTokenLifetime(i64),
    #[error("échec de la signature du jeton : {0}")]
    TokenSigning(String),
    #[error("fichier de clé des jetons illisible : {} ({})", path.display(), crate::domain::text::io_reason(.source))]
    KeyFileUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("fichier de clé des jetons mal formé : {} ({reason})", path.display())]
    KeyFileMalformed { path: PathBuf, reason: String },
    #[error("impossible d'écrire le fichier de clé des jetons : {} ({})", path.display(), crate::domain::text::io_reason(.source))]
    KeyFileWrite {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The password rule that was broken, so that the page can highlight it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRule {
    #[error("le mot de passe doit contenir au moins {MIN_PASSWORD_CHARS} caractères")]
    TooShort,
    #[error("le mot de passe ne doit pas dépasser {MAX_PASSWORD_CHARS} caractères")]
    TooLong,
    #[error("le mot de passe ne peut pas être composé uniquement d'espaces")]
    OnlySpaces,
}
