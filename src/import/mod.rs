//! Parsing the CSV files of DESIGN §4.0 into typed rows, with every problem reported in French
//! (line, column, value, expected form). Pure: no database. The checks that need the stored
//! data (unknown communes, RPLS ids of another bailleur) are done by `services::import`, from
//! the references each parsed file lists.

pub mod csv_text;
mod files;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::domain::{
    Bailleur, Commune, Epci, Logement, PlannedExclusion, Qpv, Release, Reservataire, Siren,
    StockReservation,
};

pub use files::{columns, parse_file};

/// The kinds of file the platform imports: the four of the public contract (DESIGN §4.0) and
/// the registries they refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    Epci,
    Communes,
    Qpv,
    Bailleurs,
    Reservataires,
    Logements,
    ReservationsStock,
    Liberations,
    Exclusions,
}

impl ImportKind {
    /// In dependency order: a file only refers to kinds imported before it.
    pub const ALL: [ImportKind; 9] = [
        ImportKind::Epci,
        ImportKind::Communes,
        ImportKind::Qpv,
        ImportKind::Bailleurs,
        ImportKind::Reservataires,
        ImportKind::Logements,
        ImportKind::ReservationsStock,
        ImportKind::Liberations,
        ImportKind::Exclusions,
    ];

    /// Name used on the command line, in the API path and as the file's usual name.
    pub const fn name(self) -> &'static str {
        match self {
            ImportKind::Epci => "epci",
            ImportKind::Communes => "communes",
            ImportKind::Qpv => "qpv",
            ImportKind::Bailleurs => "bailleurs",
            ImportKind::Reservataires => "reservataires",
            ImportKind::Logements => "logements",
            ImportKind::ReservationsStock => "reservations_stock",
            ImportKind::Liberations => "liberations",
            ImportKind::Exclusions => "exclusions",
        }
    }

    pub fn file_name(self) -> String {
        format!("{}.csv", self.name())
    }

    /// What the file holds, in French.
    pub const fn description(self) -> &'static str {
        match self {
            ImportKind::Epci => "EPCI (SIREN, PLH, compétence habitat, CIA)",
            ImportKind::Communes => "communes (code INSEE, EPCI de rattachement)",
            ImportKind::Qpv => "quartiers prioritaires de la politique de la ville",
            ImportKind::Bailleurs => "bailleurs sociaux",
            ImportKind::Reservataires => "réservataires",
            ImportKind::Logements => "patrimoine (logements RPLS)",
            ImportKind::ReservationsStock => "état des lieux des réservations en stock",
            ImportKind::Liberations => "historique des libérations (rotation)",
            ImportKind::Exclusions => "exclusions prévues pour l'année",
        }
    }

    /// The patrimoine files belong to one bailleur, named with the import.
    pub const fn needs_bailleur(self) -> bool {
        matches!(
            self,
            ImportKind::Logements
                | ImportKind::ReservationsStock
                | ImportKind::Liberations
                | ImportKind::Exclusions
        )
    }
}

impl fmt::Display for ImportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ImportKind {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let folded = crate::domain::text::fold_label(value.trim_end_matches(".csv"));
        ImportKind::ALL
            .into_iter()
            .find(|k| k.name() == folded)
            .ok_or_else(|| {
                let names: Vec<&str> = ImportKind::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "type de fichier « {value} » inconnu (types admis : {})",
                    names.join(", ")
                )
            })
    }
}

/// One file's worth of typed rows, to upsert in one transaction.
#[derive(Debug, Clone)]
pub enum ImportBatch {
    Epcis(Vec<Epci>),
    Communes(Vec<Commune>),
    Qpvs(Vec<Qpv>),
    Bailleurs(Vec<Bailleur>),
    Reservataires(Vec<Reservataire>),
    Logements(Siren, Vec<Logement>),
    StockReservations(Siren, Vec<StockReservation>),
    Releases(Siren, Vec<Release>),
    /// Planned exclusions of one bailleur: they replace the ones stored for the same years.
    Exclusions(Siren, Vec<PlannedExclusion>),
}

impl ImportBatch {
    pub fn len(&self) -> usize {
        match self {
            ImportBatch::Epcis(rows) => rows.len(),
            ImportBatch::Communes(rows) => rows.len(),
            ImportBatch::Qpvs(rows) => rows.len(),
            ImportBatch::Bailleurs(rows) => rows.len(),
            ImportBatch::Reservataires(rows) => rows.len(),
            ImportBatch::Logements(_, rows) => rows.len(),
            ImportBatch::StockReservations(_, rows) => rows.len(),
            ImportBatch::Releases(_, rows) => rows.len(),
            ImportBatch::Exclusions(_, rows) => rows.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A problem with the file as a whole (encoding, header), in French.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{message}")]
pub struct FileError {
    pub message: String,
}

impl FileError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// A problem on one row: where, what was read, what is wrong and what was expected.
/// Built with `RowError::new`, which bounds what is quoted of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RowError {
    /// Line in the file, the header being line 1.
    pub line: u64,
    /// The column's title as written in the file.
    pub column: String,
    pub value: String,
    pub message: String,
    pub expected: String,
}

/// At most this many characters of a value read from a file are quoted back in an error: a
/// 50 MB line must not come back as a 50 MB error page.
pub const QUOTED_CHARS: usize = 200;

/// `value` cut to its first `QUOTED_CHARS` characters, saying how long it really was.
pub fn excerpt(value: &str) -> String {
    match value.char_indices().nth(QUOTED_CHARS) {
        None => value.to_owned(),
        Some((end, _)) => format!(
            "{}… ({} caractères au total)",
            &value[..end],
            value.chars().count()
        ),
    }
}

impl RowError {
    /// A row problem; the value and the column's title are quoted at most `QUOTED_CHARS`
    /// characters long.
    pub fn new(
        line: u64,
        column: &str,
        value: &str,
        message: impl Into<String>,
        expected: impl Into<String>,
    ) -> Self {
        Self {
            line,
            column: excerpt(column),
            value: excerpt(value),
            message: message.into(),
            expected: expected.into(),
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ligne {}", self.line)?;
        if !self.column.is_empty() {
            write!(f, ", colonne « {} »", self.column)?;
        }
        write!(f, " : {}", self.message)?;
        if !self.value.is_empty() {
            write!(f, " (valeur « {} »)", self.value)?;
        }
        write!(f, " ; attendu : {}", self.expected)
    }
}

/// Why a file was not imported. Nothing of it was stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ImportError {
    #[error("{0}")]
    File(FileError),
    #[error("{}", ImportError::rows_message(.errors.len()))]
    Rows { errors: Vec<RowError> },
}

impl ImportError {
    pub fn rows_message(count: usize) -> String {
        format!("{count} erreur(s) dans le fichier : aucune ligne n'a été enregistrée")
    }
}

impl From<FileError> for ImportError {
    fn from(error: FileError) -> Self {
        ImportError::File(error)
    }
}

/// What a row refers to and must already be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefKind {
    Epci,
    Commune,
    Qpv,
    Reservataire,
    /// A dwelling of the bailleur named with the import.
    Logement,
}

impl RefKind {
    /// The message and the expected form when the reference is unknown.
    pub const fn unknown(self) -> (&'static str, &'static str) {
        match self {
            RefKind::Epci => (
                "EPCI inconnu",
                "le SIREN d'un EPCI déjà importé (fichier epci)",
            ),
            RefKind::Commune => (
                "commune inconnue",
                "le code INSEE d'une commune déjà importée (fichier communes)",
            ),
            RefKind::Qpv => ("QPV inconnu", "le code d'un QPV déjà importé (fichier qpv)"),
            RefKind::Reservataire => (
                "réservataire inconnu",
                "l'identifiant d'un réservataire déjà importé (fichier reservataires)",
            ),
            RefKind::Logement => (
                "logement inconnu pour ce bailleur",
                "l'identifiant RPLS d'un logement du patrimoine de ce bailleur (fichier logements)",
            ),
        }
    }
}

/// A reference from a row to stored data, with where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub kind: RefKind,
    pub key: String,
    pub line: u64,
    pub column: String,
}

/// A parsed file: the rows, the line of each, the references to check, what was detected.
#[derive(Debug, Clone)]
pub struct ParsedFile {
    pub batch: ImportBatch,
    pub lines: Vec<u64>,
    pub references: Vec<Reference>,
    pub encoding: &'static str,
    pub separator: u8,
}
