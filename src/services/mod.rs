//! Use cases: each orchestrates the pure core and the store. Handlers and CLI commands call
//! these and nothing below them.

pub mod assiette;
pub mod eligibility;
pub mod import;
pub mod solve;

use serde::Serialize;

use crate::import::ImportError;
use crate::store::StoreError;

/// Why a use case failed. Only `Store` is an internal error; the others are the caller's to fix
/// and carry a French message.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Import(ImportError),
    #[error("{0}")]
    Store(#[from] StoreError),
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
