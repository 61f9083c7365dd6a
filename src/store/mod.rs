//! Persistence: one repository trait with use-case-sized methods, implemented for SQLite (the
//! embedded default) and PostgreSQL (production). The backend is chosen from the scheme of the
//! database URL. No SQL lives outside this module.
//!
//! Both implementations share their SQL text (`sql.rs`, placeholders `$1…` understood by both
//! engines) and differ where the engines do: connection settings, transaction start, migrations
//! (`migrations/sqlite`, `migrations/postgres`).

pub mod conventions;
mod conventions_sql;
mod postgres;
mod row_states;
mod sql;
mod sqlite;
pub mod time;

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use serde::Serialize;

use crate::config::Secret;
use crate::domain::{
    Bailleur, Commune, Epci, EpciFacts, Logement, PlannedExclusion, Qpv, Release, Reservataire,
    RplsId, Siren, StockReservation,
};
pub use crate::import::ImportBatch;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("adresse de base de données invalide : {0}")]
    InvalidUrl(String),
    /// A constraint of the schema refused the write (a reference to a missing row, a
    /// duplicate). `field` is set when the constraint is one a user's input can break
    /// (`sql::named_constraint`): the field in French and what is wrong with it.
    #[error("contrainte de la base de données non respectée : {detail}")]
    Constraint {
        detail: String,
        field: Option<FieldError>,
    },
    #[error("base de données indisponible ou en erreur : {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration de la base de données impossible : {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The convention changed since the caller read it, or the single-use thing was used.
    #[error("{0}")]
    Conflict(String),
    #[error("donnée stockée illisible ({0}) : la base a été modifiée hors de la plateforme ?")]
    Corrupt(String),
}

/// A named constraint translated for the user: the field, in French, and what is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub problem: &'static str,
    /// A duplicate (409) rather than a reference to something unknown (400).
    pub duplicate: bool,
}

impl FieldError {
    /// « adresse électronique : un compte existe déjà pour cette adresse ».
    pub fn message(&self) -> String {
        format!("{} : {}", self.field, self.problem)
    }
}

impl StoreError {
    /// The database cannot be reached (as opposed to a query that failed).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Database(
                sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed
            )
        )
    }
}

/// Which engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::InvalidUrl(
                "le schéma doit être sqlite: (ex. sqlite://convention-flux.db) ou postgres:// (ex. postgres://utilisateur@hôte/base)".into(),
            ))
        }
    }
}

/// How many rows of an import were new and how many replaced a stored row with the same key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    pub inserted: u64,
    pub updated: u64,
    /// Rows the file no longer lists and that were removed (planned exclusions only).
    pub removed: u64,
}

/// The identifiers already stored, to check the references of a file before writing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySet {
    Epcis,
    Communes,
    Qpvs,
    Bailleurs,
    Reservataires,
    /// The RPLS ids of one bailleur's dwellings.
    Logements(Siren),
    /// The RPLS ids of one bailleur's dwellings in the communes of one EPCI: (bailleur, EPCI).
    LogementsInEpci(Siren, Siren),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EpciSummary {
    pub epci: Epci,
    pub communes: u64,
    pub qpvs: u64,
}

/// One line of the état des lieux, counted: the dwellings of a bailleur reserved in stock to a
/// réservataire in a commune for a typology.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct StockRightCount {
    pub reservataire: String,
    pub commune: String,
    pub typology: String,
    pub dwellings: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BailleurSummary {
    pub bailleur: Bailleur,
    pub logements: u64,
    pub outside_flux: u64,
    pub in_qpv: u64,
    pub stock_reservations: u64,
    pub releases: u64,
    pub first_release_year: Option<i32>,
    pub last_release_year: Option<i32>,
    pub planned_exclusions: u64,
}

/// The platform's storage. Each method is one use case and owns its transaction: a write
/// either happens whole or not at all.
#[async_trait]
pub trait Repository: conventions::ConventionStore + Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Runs the pending migrations of this backend.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// A trivial round trip, for `/health`.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The revision of the imported data: 0 before the first import, then one more with every
    /// import transaction, on every application instance sharing the database.
    async fn data_revision(&self) -> Result<i64, StoreError>;

    /// Upserts every row of the batch by its natural key in one transaction.
    async fn import(&self, batch: &ImportBatch) -> Result<ImportCounts, StoreError>;

    async fn known_keys(&self, set: KeySet) -> Result<HashSet<String>, StoreError>;

    /// Replaces, for the years present in `rows`, the part of a bailleur's exclusions plan that
    /// lies in the communes of `epci` (and, when `with_all_communes`, its lines without a
    /// commune), in one transaction: an import made through one EPCI's convention leaves the
    /// lines of the other EPCIs as they were.
    async fn replace_exclusions_within(
        &self,
        bailleur: &Siren,
        epci: &Siren,
        with_all_communes: bool,
        rows: &[PlannedExclusion],
    ) -> Result<ImportCounts, StoreError>;

    /// Among `ids`, the dwellings stored for a bailleur other than `bailleur`, with that owner.
    async fn logements_of_other_bailleurs(
        &self,
        bailleur: &Siren,
        ids: &[RplsId],
    ) -> Result<Vec<(RplsId, Siren)>, StoreError>;

    async fn epci_facts(&self, siren: &Siren) -> Result<Option<EpciFacts>, StoreError>;

    async fn epcis(&self) -> Result<Vec<EpciSummary>, StoreError>;

    async fn communes_of_epci(&self, siren: &Siren) -> Result<Vec<Commune>, StoreError>;

    /// The quartiers prioritaires of the EPCI's communes, by commune then code.
    async fn qpvs_of_epci(&self, siren: &Siren) -> Result<Vec<Qpv>, StoreError>;

    /// Every commune of the registry, by INSEE code.
    async fn communes(&self) -> Result<Vec<Commune>, StoreError>;

    /// The état des lieux of `bailleur` in the communes of `epci`, counted by réservataire,
    /// commune and typology, in that order.
    async fn stock_rights_in_epci(
        &self,
        bailleur: &Siren,
        epci: &Siren,
    ) -> Result<Vec<StockRightCount>, StoreError>;

    async fn bailleurs(&self) -> Result<Vec<BailleurSummary>, StoreError>;

    async fn reservataires(&self) -> Result<Vec<Reservataire>, StoreError>;

    /// One bailleur, if it was imported.
    async fn bailleur(&self, siren: &Siren) -> Result<Option<Bailleur>, StoreError>;

    /// Every dwelling of a bailleur, in the flux or not, by RPLS id.
    async fn patrimoine(&self, bailleur: &Siren) -> Result<Vec<Logement>, StoreError>;

    /// The releases of a bailleur's dwellings from `from` to `to` (both included), by date then
    /// RPLS id.
    async fn releases(
        &self,
        bailleur: &Siren,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Release>, StoreError>;

    /// The état des lieux of a bailleur: every stock right on its dwellings, by RPLS id then
    /// réservataire.
    async fn stock_reservations(
        &self,
        bailleur: &Siren,
    ) -> Result<Vec<StockReservation>, StoreError>;

    /// The exclusions a bailleur planned for `year`, by category, commune, typology, QPV flag.
    async fn planned_exclusions(
        &self,
        bailleur: &Siren,
        year: i32,
    ) -> Result<Vec<PlannedExclusion>, StoreError>;

    /// Closes the connections (graceful shutdown).
    async fn close(&self);
}

/// Opens the store named by `url` (`sqlite:…` or `postgres://…`) and runs the migrations.
pub async fn connect(url: &Secret) -> Result<Arc<dyn Repository>, StoreError> {
    let store: Arc<dyn Repository> = match Backend::from_url(url.expose())? {
        Backend::Sqlite => Arc::new(SqliteStore::connect(url.expose()).await?),
        Backend::Postgres => Arc::new(PostgresStore::connect(url.expose()).await?),
    };
    store.migrate().await?;
    Ok(store)
}

/// Parses a value read back from the database, naming it if it is not what the schema allows.
pub(crate) fn decode<T: FromStr>(value: &str, what: &str) -> Result<T, StoreError> {
    value
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("{what} « {value} »")))
}
