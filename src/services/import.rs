//! Importing one file: parse (pure), check its references against the stored data, then upsert
//! every row in one transaction. Nothing is written unless every row is valid.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;

use super::ServiceError;
use crate::domain::{RplsId, Siren};
use crate::import::csv_text::separator_label;
use crate::import::{
    FileError, ImportBatch, ImportError, ImportKind, ParsedFile, RefKind, RowError, parse_file,
};
use crate::store::{ImportCounts, KeySet, Repository};

/// The stages of an import, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Reading,
    Checking,
    Writing,
}

impl Stage {
    pub const fn label(self) -> &'static str {
        match self {
            Stage::Reading => "lecture du fichier",
            Stage::Checking => "vérification des références",
            Stage::Writing => "enregistrement",
        }
    }
}

/// Receives the progress of an import (the terminal shows it; the API ignores it).
pub trait Progress: Send + Sync {
    fn stage(&self, stage: Stage);
    fn bytes(&self, done: u64, total: u64);
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl Progress for NoProgress {
    fn stage(&self, _: Stage) {}
    fn bytes(&self, _: u64, _: u64) {}
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportSummary {
    pub kind: ImportKind,
    pub bailleur: Option<Siren>,
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub removed: u64,
    pub encoding: &'static str,
    pub separator: &'static str,
    pub message: String,
}

/// Imports `bytes` as a file of `kind` (for `bailleur` when it is a patrimoine file). This is
/// the operator's import (command line, API with the operator token): it may touch any row.
#[tracing::instrument(skip_all, fields(%kind))]
pub async fn import_file(
    store: &dyn Repository,
    kind: ImportKind,
    bytes: Vec<u8>,
    bailleur: Option<Siren>,
    progress: Arc<dyn Progress>,
) -> Result<ImportSummary, ServiceError> {
    import_within(store, kind, bytes, bailleur, None, progress).await
}

/// Imports one of `bailleur`'s files through a convention of `epci`: every row must lie on the
/// EPCI's territory (refused line by line otherwise), and only the EPCI's part of the
/// exclusions plan is replaced. What other EPCIs' conventions read stays as it was.
#[tracing::instrument(skip_all, fields(%kind, bailleur = %bailleur, epci = %epci))]
pub async fn import_file_within_epci(
    store: &dyn Repository,
    kind: ImportKind,
    bytes: Vec<u8>,
    bailleur: Siren,
    epci: Siren,
    progress: Arc<dyn Progress>,
) -> Result<ImportSummary, ServiceError> {
    if !kind.needs_bailleur() {
        return Err(ServiceError::Invalid(format!(
            "le fichier {} n'appartient pas au patrimoine d'un bailleur : seul l'exploitant l'importe",
            kind.file_name()
        )));
    }
    import_within(store, kind, bytes, Some(bailleur), Some(epci), progress).await
}

async fn import_within(
    store: &dyn Repository,
    kind: ImportKind,
    bytes: Vec<u8>,
    bailleur: Option<Siren>,
    epci: Option<Siren>,
    progress: Arc<dyn Progress>,
) -> Result<ImportSummary, ServiceError> {
    if let (true, Some(siren)) = (kind.needs_bailleur(), &bailleur)
        && !store
            .known_keys(KeySet::Bailleurs)
            .await?
            .contains(siren.as_str())
    {
        return Err(ImportError::File(FileError::new(format!(
                "le bailleur de SIREN {siren} n'est pas connu de la plateforme : importez d'abord le fichier bailleurs"
            )))
            .into());
    }
    progress.stage(Stage::Reading);
    let parsed = {
        let bailleur = bailleur.clone();
        let progress = Arc::clone(&progress);
        // Parsing 100,000 rows takes a noticeable moment: keep it off the async executor.
        tokio::task::spawn_blocking(move || {
            parse_file(kind, &bytes, bailleur.as_ref(), &mut |done, total| {
                progress.bytes(done, total);
            })
        })
        .await
        .map_err(|e| ServiceError::Invalid(format!("lecture du fichier interrompue ({e})")))??
    };
    progress.stage(Stage::Checking);
    let territory = match (&epci, &bailleur) {
        (Some(epci), Some(bailleur)) => Some(Territory::load(store, bailleur, epci).await?),
        _ => None,
    };
    check_references(store, &parsed, bailleur.as_ref(), territory.as_ref()).await?;
    progress.stage(Stage::Writing);
    let counts = match (&parsed.batch, &territory) {
        (ImportBatch::Exclusions(owner, rows), Some(t)) => {
            store
                .replace_exclusions_within(owner, &t.epci, t.whole_patrimoine_inside(), rows)
                .await?
        }
        _ => store.import(&parsed.batch).await?,
    };
    Ok(summary(kind, bailleur, &parsed, counts))
}

/// The territory a convention's import is confined to: the communes of its EPCI, and which of
/// the bailleur's dwellings lie there.
struct Territory {
    epci: Siren,
    communes: HashSet<String>,
    /// RPLS ids of the bailleur's dwellings, everywhere and in the EPCI.
    everywhere: HashSet<String>,
    inside: HashSet<String>,
}

impl Territory {
    async fn load(
        store: &dyn Repository,
        bailleur: &Siren,
        epci: &Siren,
    ) -> Result<Self, ServiceError> {
        Ok(Self {
            epci: epci.clone(),
            communes: store
                .communes_of_epci(epci)
                .await?
                .into_iter()
                .map(|c| c.insee.as_str().to_owned())
                .collect(),
            everywhere: store
                .known_keys(KeySet::Logements(bailleur.clone()))
                .await?,
            inside: store
                .known_keys(KeySet::LogementsInEpci(bailleur.clone(), epci.clone()))
                .await?,
        })
    }

    /// No dwelling of the bailleur lies outside the EPCI: a line « all communes » of its plan
    /// then concerns this EPCI only.
    fn whole_patrimoine_inside(&self) -> bool {
        self.everywhere.len() == self.inside.len()
    }

    fn outside_commune(&self, line: u64, commune: &str) -> Option<RowError> {
        (!self.communes.contains(commune)).then(|| {
            RowError::new(
                line,
                "commune",
                commune,
                format!(
                    "commune hors du territoire de l'EPCI {} de cette convention : elle ne peut pas y être modifiée",
                    self.epci
                ),
                "le code INSEE d'une commune de l'EPCI de la convention",
            )
        })
    }

    fn outside_dwelling(&self, line: u64, rpls_id: &str) -> Option<RowError> {
        (self.everywhere.contains(rpls_id) && !self.inside.contains(rpls_id)).then(|| {
            RowError::new(
                line,
                "rpls_id",
                rpls_id,
                format!(
                    "ce logement est situé hors du territoire de l'EPCI {} de cette convention : elle ne peut pas le modifier",
                    self.epci
                ),
                "un logement du bailleur situé dans une commune de l'EPCI",
            )
        })
    }

    /// Every row that would touch data outside the EPCI: a dwelling stored or put outside it,
    /// the stock or releases of such a dwelling, an exclusion line outside it.
    fn row_errors(&self, parsed: &ParsedFile) -> Vec<RowError> {
        let lines = parsed.lines.iter().copied();
        match &parsed.batch {
            ImportBatch::Logements(_, rows) => rows
                .iter()
                .zip(lines)
                .flat_map(|(l, line)| {
                    [
                        self.outside_dwelling(line, l.rpls_id.as_str()),
                        self.outside_commune(line, l.commune.as_str()),
                    ]
                })
                .flatten()
                .collect(),
            ImportBatch::StockReservations(_, rows) => rows
                .iter()
                .zip(lines)
                .filter_map(|(r, line)| self.outside_dwelling(line, r.rpls_id.as_str()))
                .collect(),
            ImportBatch::Releases(_, rows) => rows
                .iter()
                .zip(lines)
                .filter_map(|(r, line)| self.outside_dwelling(line, r.rpls_id.as_str()))
                .collect(),
            ImportBatch::Exclusions(_, rows) => rows
                .iter()
                .zip(lines)
                .filter_map(|(x, line)| match &x.commune {
                    Some(c) => self.outside_commune(line, c.as_str()),
                    None if self.whole_patrimoine_inside() => None,
                    None => Some(RowError::new(
                        line,
                        "commune",
                        "",
                        format!(
                            "ligne sans commune : elle porterait sur tout le patrimoine du bailleur, qui a aussi des logements hors du territoire de l'EPCI {}",
                            self.epci
                        ),
                        "le code INSEE d'une commune de l'EPCI de la convention (une ligne par commune)",
                    )),
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

fn summary(
    kind: ImportKind,
    bailleur: Option<Siren>,
    parsed: &ParsedFile,
    counts: ImportCounts,
) -> ImportSummary {
    let rows = parsed.batch.len() as u64;
    use crate::domain::text::count;
    let mut message = format!(
        "{} : {} — {}, {} à jour",
        kind.file_name(),
        count(rows, "ligne enregistrée", "lignes enregistrées"),
        count(counts.inserted, "nouvelle", "nouvelles"),
        count(counts.updated, "mise", "mises"),
    );
    if counts.removed > 0 {
        message.push_str(&format!(
            ", {} car absentes du fichier",
            count(counts.removed, "retirée", "retirées")
        ));
    }
    message.push_str(&format!(
        " (encodage {}, séparateur {}).",
        parsed.encoding,
        separator_label(parsed.separator)
    ));
    ImportSummary {
        kind,
        bailleur,
        rows,
        inserted: counts.inserted,
        updated: counts.updated,
        removed: counts.removed,
        encoding: parsed.encoding,
        separator: separator_label(parsed.separator),
        message,
    }
}

/// Every reference of the file must name stored data; a dwelling must not belong to another
/// bailleur; through a convention, no row may lie outside its EPCI. Reports every faulty row at
/// once.
async fn check_references(
    store: &dyn Repository,
    parsed: &ParsedFile,
    bailleur: Option<&Siren>,
    territory: Option<&Territory>,
) -> Result<(), ServiceError> {
    let kinds: HashSet<RefKind> = parsed.references.iter().map(|r| r.kind).collect();
    let mut known: HashMap<RefKind, HashSet<String>> = HashMap::new();
    for kind in kinds {
        let set = match kind {
            RefKind::Epci => KeySet::Epcis,
            RefKind::Commune => KeySet::Communes,
            RefKind::Qpv => KeySet::Qpvs,
            RefKind::Reservataire => KeySet::Reservataires,
            RefKind::Logement => match bailleur {
                Some(b) => KeySet::Logements(b.clone()),
                None => continue,
            },
        };
        known.insert(kind, store.known_keys(set).await?);
    }
    let mut errors: Vec<RowError> = parsed
        .references
        .iter()
        .filter(|r| known.get(&r.kind).is_some_and(|set| !set.contains(&r.key)))
        .map(|r| {
            let (message, expected) = r.kind.unknown();
            RowError::new(r.line, &r.column, &r.key, message, expected)
        })
        .collect();
    if let (ImportBatch::Logements(owner, rows), Some(_)) = (&parsed.batch, bailleur) {
        let ids: Vec<RplsId> = rows.iter().map(|l| l.rpls_id.clone()).collect();
        let line_of: HashMap<&RplsId, u64> = ids
            .iter()
            .zip(&parsed.lines)
            .map(|(i, l)| (i, *l))
            .collect();
        for (id, other) in store.logements_of_other_bailleurs(owner, &ids).await? {
            errors.push(RowError::new(
                line_of.get(&id).copied().unwrap_or(0),
                "rpls_id",
                id.as_str(),
                format!("ce logement appartient déjà au patrimoine du bailleur {other}"),
                "un logement du bailleur importé",
            ));
        }
    }
    if let Some(territory) = territory {
        errors.extend(territory.row_errors(parsed));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        errors.sort_by_key(|e| e.line);
        Err(ImportError::Rows { errors }.into())
    }
}
