//! Use cases: each orchestrates the pure core and the store. Handlers and CLI commands call
//! these and nothing below them.

pub mod accounts;
pub mod assiette;
pub mod cia;
pub mod cil;
pub mod conventions;
pub mod conversion;
pub mod eligibility;
pub mod import;
pub mod imported_cache;
pub mod solve;

use serde::Serialize;

use crate::import::ImportError;
use crate::store::StoreError;

/// Why a use case failed. `Internal` and `Store` (but a named constraint, see
/// `StoreError::Constraint`) are the platform's failures: logged with their detail, shown as a
/// safe French message (500). The others are the caller's to fix and carry a French message.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Import(ImportError),
    /// No valid session (missing, expired or tampered token, wrong password).
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller's role in this convention does not allow the action.
    #[error("{0}")]
    Forbidden(String),
    /// The action conflicts with the convention's current state (already signed, state moved…).
    #[error("{0}")]
    Conflict(String),
    /// Too many failed sign-in attempts: wait this many seconds.
    #[error("{0}")]
    TooManyAttempts(String, i64),
    #[error("{0}")]
    Store(#[from] StoreError),
    /// Something failed inside the platform that is neither the caller's input nor the stored
    /// data (a template, a background task, a serialisation): the detail is for the log.
    #[error("erreur interne : {0}")]
    Internal(String),
}

impl ServiceError {
    /// An internal failure, with its detail for the log.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        ServiceError::Internal(detail.to_string())
    }
}

impl From<ImportError> for ServiceError {
    fn from(error: ImportError) -> Self {
        ServiceError::Import(error)
    }
}

/// Serializable form of a service result for the CLI's JSON output.
#[derive(Debug, Serialize)]
pub struct Message {
    pub message: String,
}
