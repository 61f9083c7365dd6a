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
    #[error(
        "le mot de passe ne doit pas contenir votre adresse électronique ni la partie avant le « @ »"
    )]
    ContainsEmail,
    #[error(
        "le mot de passe est trop facile à deviner ({0}) : choisissez plutôt une phrase de plusieurs mots peu courants, par exemple quatre mots sans rapport entre eux"
    )]
    Guessable(Weakness),
}

/// Why the strength estimator finds a password guessable, in the user's words (the estimator's
/// own feedback is English).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Weakness {
    #[error("il suit une rangée ou un motif du clavier")]
    KeyboardPattern,
    #[error("il répète un même caractère ou un même motif, comme « aaaa » ou « abcabc »")]
    Repeats,
    #[error("c'est l'un des mots de passe les plus répandus, ou une variante proche")]
    CommonPassword,
    #[error("il suit une suite de lettres ou de chiffres, comme « abcd » ou « 1234 »")]
    Sequence,
    #[error("il repose sur une date ou une année")]
    Date,
    #[error("il repose sur un seul mot courant ou un nom propre")]
    SingleWord,
    #[error("il reprend votre nom ou votre adresse électronique")]
    PersonalInformation,
    #[error("il serait trouvé en trop peu d'essais par un attaquant")]
    FewGuesses,
}
