//! Downloads of a version's flux table (CSV, XLSX, JSON) for any member of the convention.

use std::collections::BTreeMap;

use super::{Caller, Platform, ServiceError, allowed, document_of};
use crate::domain::convention::Action;
use crate::render::exports::{ExportError, FluxTable};
use crate::store::conventions::VersionRow;
use crate::store::{Repository, StoreError};

pub use crate::render::exports::{ExportFormat, TableFilter};

impl From<ExportError> for ServiceError {
    fn from(e: ExportError) -> Self {
        match e {
            ExportError::Filter(m) => ServiceError::Invalid(m),
            ExportError::NoTable(m) => ServiceError::NotFound(m),
            // The stored document's table is not what the solver writes: stored data.
            ExportError::Malformed(m) => ServiceError::Store(StoreError::Corrupt(m)),
            ExportError::Xlsx(m) => ServiceError::internal(m),
        }
    }
}

/// The flux table of `version` (the current one when `None`) in `format`: the bytes, their
/// content type and a file name.
#[tracing::instrument(skip_all, fields(convention = id, ?version, ?format))]
pub async fn table_export(
    p: &Platform,
    caller: &Caller,
    id: i64,
    version: Option<i64>,
    filter: TableFilter,
    format: ExportFormat,
) -> Result<(Vec<u8>, &'static str, String), ServiceError> {
    allowed(p, caller, id, Action::Read).await?;
    let row = match version {
        None => p.store.current_version(id).await?.ok_or_else(|| {
            ServiceError::NotFound("la convention n'a encore aucune version".into())
        })?,
        Some(n) => p
            .store
            .version_numbered(id, n)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("version n° {n} introuvable")))?,
    };
    let version = p.versions.version(&row)?;
    let names = epci_commune_names(p.store.as_ref(), &version.document.scenario.epci.siren).await?;
    let table = FluxTable::from_parsed(&version, &names, &filter)?;
    let name = table.file_name(format);
    // Building a workbook of a large table takes a while: off the async executor.
    let bytes = tokio::task::spawn_blocking(move || table.to_bytes(format))
        .await
        .map_err(|e| ServiceError::internal(format!("export interrompu : {e}")))??;
    Ok((bytes, format.content_type(), name))
}

/// The table of a stored version, kept by `filter`.
pub(crate) fn flux_table(
    row: &VersionRow,
    commune_names: &BTreeMap<String, String>,
    filter: &TableFilter,
) -> Result<FluxTable, ServiceError> {
    let doc = document_of(row)?;
    Ok(FluxTable::from_document(
        &doc,
        &row.hash,
        commune_names,
        filter,
    )?)
}

/// INSEE code → name of the communes of the version's EPCI (empty if the EPCI is unknown).
pub(crate) async fn commune_names(
    p: &Platform,
    row: &VersionRow,
) -> Result<BTreeMap<String, String>, ServiceError> {
    let doc = document_of(row)?;
    epci_commune_names(p.store.as_ref(), &doc.scenario.epci.siren).await
}

/// INSEE code → name of the communes of the EPCI `siren` (empty if the EPCI is unknown).
pub(crate) async fn epci_commune_names(
    store: &dyn Repository,
    siren: &str,
) -> Result<BTreeMap<String, String>, ServiceError> {
    let Ok(siren) = siren.parse() else {
        return Ok(BTreeMap::new());
    };
    Ok(store
        .communes_of_epci(&siren)
        .await?
        .into_iter()
        .map(|c| (c.insee.as_str().to_owned(), c.name))
        .collect())
}
