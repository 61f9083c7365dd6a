//! What the pages compute from the imported files, kept in each application instance under the
//! data revision it was computed from (`Repository::data_revision`).
//!
//! At the largest size, the assiette is computed from 120,000 dwellings and 35,000 releases
//! (1.3 to 2.4 s), and the home page's figures count them on every request. Both change only
//! when a file is imported, and every import transaction adds one to the revision stored in the
//! database: an entry computed under an older revision is never served again, on this instance
//! or on any other sharing the database (PostgreSQL behind a load balancer). The revision is read
//! before the data, so an entry may hold data newer than its revision, never older: a request
//! that sees a newer revision computes again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::domain::Siren;
use crate::flux::assiette::AssietteReport;
use crate::flux::conversion::{Conversion, Method};
use crate::flux::segment::SegmentAxes;
use crate::store::{BailleurSummary, EpciSummary, Repository};

use super::ServiceError;

/// Assiettes kept at once (one per convention's bailleur, EPCI and year in practice).
const CAPACITY: usize = 32;

/// What an assiette depends on besides the data: the arguments of `compute_for_epci`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct AssietteKey {
    revision: i64,
    bailleur: Siren,
    epci: Siren,
    year: i32,
    lookback: u32,
    axes: SegmentAxes,
}

/// Conversions kept at once: each holds every right with its provenance (tens of megabytes at
/// the largest size), and a page asks for both methods of one convention.
const CONVERSIONS: usize = 4;

/// What a conversion depends on besides the data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ConversionKey {
    revision: i64,
    bailleur: Siren,
    epci: Siren,
    year: i32,
    method: Method,
    lookback: u32,
}

/// The territories and patrimoines the home page lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedSummaries {
    pub epcis: Vec<EpciSummary>,
    pub bailleurs: Vec<BailleurSummary>,
}

#[derive(Debug, Default)]
pub struct ImportedCache {
    assiettes: Mutex<HashMap<AssietteKey, Arc<AssietteReport>>>,
    conversions: Mutex<HashMap<ConversionKey, Arc<Conversion>>>,
    summaries: Mutex<Option<(i64, Arc<ImportedSummaries>)>>,
}

/// The map stays consistent even if a holder panicked: each operation is one call.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl ImportedCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// `compute_for_epci`, computed once per data revision.
    pub async fn assiette_for_epci(
        &self,
        store: &dyn Repository,
        bailleur: &Siren,
        epci: &Siren,
        year: i32,
        lookback: u32,
        axes: SegmentAxes,
    ) -> Result<Arc<AssietteReport>, ServiceError> {
        let key = AssietteKey {
            revision: store.data_revision().await?,
            bailleur: bailleur.clone(),
            epci: epci.clone(),
            year,
            lookback,
            axes,
        };
        if let Some(found) = lock(&self.assiettes).get(&key) {
            return Ok(Arc::clone(found));
        }
        // Computed outside the lock: two first requests may both compute, to the same result.
        let report = Arc::new(
            super::assiette::compute_for_epci(store, bailleur, epci, year, lookback, axes).await?,
        );
        let mut entries = lock(&self.assiettes);
        // Entries of older revisions will never be asked for again.
        entries.retain(|k, _| k.revision >= key.revision);
        if entries.len() >= CAPACITY
            && let Some(evicted) = entries.keys().next().cloned()
        {
            entries.remove(&evicted);
        }
        entries.insert(key, Arc::clone(&report));
        Ok(report)
    }

    /// `conversion::within_epci`, computed once per data revision: the page « D'où vient ma
    /// part » and the API read 120,000 dwellings and 47,000 rights at the largest size (about
    /// 2 s), which change only with an import.
    pub async fn conversion_within_epci(
        &self,
        store: &dyn Repository,
        request: &super::conversion::Request,
        epci: &Siren,
    ) -> Result<Arc<Conversion>, ServiceError> {
        let key = ConversionKey {
            revision: store.data_revision().await?,
            bailleur: request.bailleur.clone(),
            epci: epci.clone(),
            year: request.year,
            method: request.method,
            lookback: request.lookback,
        };
        if let Some(found) = lock(&self.conversions).get(&key) {
            return Ok(Arc::clone(found));
        }
        // Computed outside the lock: two first requests may both compute, to the same result.
        let conversion = Arc::new(super::conversion::within_epci(store, request, epci).await?);
        let mut entries = lock(&self.conversions);
        entries.retain(|k, _| k.revision >= key.revision);
        if entries.len() >= CONVERSIONS
            && let Some(evicted) = entries.keys().next().cloned()
        {
            entries.remove(&evicted);
        }
        entries.insert(key, Arc::clone(&conversion));
        Ok(conversion)
    }

    /// The EPCI and bailleur summaries, read once per data revision.
    pub async fn summaries(
        &self,
        store: &dyn Repository,
    ) -> Result<Arc<ImportedSummaries>, ServiceError> {
        let revision = store.data_revision().await?;
        if let Some((cached, found)) = lock(&self.summaries).as_ref()
            && *cached == revision
        {
            return Ok(Arc::clone(found));
        }
        let read = Arc::new(ImportedSummaries {
            epcis: store.epcis().await?,
            bailleurs: store.bailleurs().await?,
        });
        let mut slot = lock(&self.summaries);
        if slot.as_ref().is_none_or(|(cached, _)| *cached <= revision) {
            *slot = Some((revision, Arc::clone(&read)));
        }
        Ok(read)
    }
}
