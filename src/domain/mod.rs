//! Pure types and invariants of the platform: no I/O, no database, no HTTP.
//!
//! Every type here is built by parsing (`FromStr` or a constructor returning `Result`), so that a
//! value that exists is valid: the rest of the code never re-checks a SIREN or an INSEE code.

pub mod convention;
pub mod eligibility;
pub mod patrimoine;
pub mod permission;
pub mod reservataire;
pub mod territory;
pub mod text;

pub use eligibility::{Condition, Eligibility, EpciFacts, ExperimentWindow};
pub use patrimoine::{
    ExclusionCategory, Financing, Logement, PlannedExclusion, Release, RplsId, StockReservation,
    Typology,
};
pub use reservataire::{Basis, Reservataire, ReservataireId, ReservataireKind};
pub use territory::{Bailleur, Commune, Epci, InseeCode, Qpv, QpvCode, Siren};

/// Why a value could not be parsed: the expected form, in French, for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{expected}")]
pub struct InvalidValue {
    pub expected: &'static str,
}

impl InvalidValue {
    pub const fn expected(expected: &'static str) -> Self {
        Self { expected }
    }
}
