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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// Imports `bytes` as a file of `kind` (for `bailleur` when it is a patrimoine file).
pub async fn import_file(
    store: &dyn Repository,
    kind: ImportKind,
    bytes: Vec<u8>,
    bailleur: Option<Siren>,
    progress: Arc<dyn Progress>,
) -> Result<ImportSummary, ServiceError> {
    if let (true, Some(siren)) = (kind.needs_bailleur(), &bailleur) {
        if !store
            .known_keys(KeySet::Bailleurs)
            .await?
            .contains(siren.as_str())
        {
            return Err(ImportError::File(FileError::new(format!(
                "le bailleur de SIREN {siren} n'est pas connu de la plateforme : importez d'abord le fichier bailleurs"
            )))
            .into());
        }
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
    check_references(store, &parsed, bailleur.as_ref()).await?;
    progress.stage(Stage::Writing);
    let counts = store.import(&parsed.batch).await?;
    Ok(summary(kind, bailleur, &parsed, counts))
}

fn summary(
    kind: ImportKind,
    bailleur: Option<Siren>,
    parsed: &ParsedFile,
    counts: ImportCounts,
) -> ImportSummary {
    let rows = parsed.batch.len() as u64;
    let mut message = format!(
        "{} : {rows} ligne(s) enregistrée(s) — {} nouvelle(s), {} mise(s) à jour",
        kind.file_name(),
        counts.inserted,
        counts.updated
    );
    if counts.removed > 0 {
        message.push_str(&format!(
            ", {} retirée(s) car absentes du fichier",
            counts.removed
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
/// bailleur. Reports every faulty row at once.
async fn check_references(
    store: &dyn Repository,
    parsed: &ParsedFile,
    bailleur: Option<&Siren>,
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
    if errors.is_empty() {
        Ok(())
    } else {
        errors.sort_by_key(|e| e.line);
        Err(ImportError::Rows { errors }.into())
    }
}
