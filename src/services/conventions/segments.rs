//! The segments of a convention come from the bailleur's assiette: at creation, and again when
//! the bailleur's files change (a new version; shares and commitments are kept).

use super::{
    Caller, Platform, ServiceError, VersionDraft, allowed, current_document, decide_and_apply,
    guard_facts, new_version_change, permit,
};
use crate::domain::Siren;
use crate::domain::convention::Action;
use crate::flux::scenario::RawSegment;
use crate::flux::segment::SegmentAxes;
use crate::store::Repository;
use crate::store::conventions::Snapshot;

/// The segments with a flux, from the stored patrimoine of `bailleur` in `epci` for `year`.
#[tracing::instrument(skip_all, fields(bailleur = %bailleur, epci = %epci, year))]
pub async fn assiette_segments(
    store: &dyn Repository,
    bailleur: &Siren,
    epci: &Siren,
    year: i32,
) -> Result<Vec<RawSegment>, ServiceError> {
    Ok(
        assiette_segments_and_relogements(store, bailleur, epci, year)
            .await?
            .0,
    )
}

/// The segments of [`assiette_segments`] and the relogements the assiette plans for the year
/// (planned exclusions NPRU and ORCOD), which the CIA's commitments are checked against.
pub async fn assiette_segments_and_relogements(
    store: &dyn Repository,
    bailleur: &Siren,
    epci: &Siren,
    year: i32,
) -> Result<(Vec<RawSegment>, u64), ServiceError> {
    let assiette = crate::services::assiette::compute_for_epci(
        store,
        bailleur,
        epci,
        year,
        crate::flux::assiette::DEFAULT_LOOKBACK,
        SegmentAxes::default(),
    )
    .await?;
    let relogements = assiette
        .exclusion_rows
        .iter()
        .filter(|r| {
            matches!(
                r.category,
                crate::domain::ExclusionCategory::Npru | crate::domain::ExclusionCategory::Orcod
            )
        })
        .map(|r| r.count)
        .sum();
    let segments = assiette
        .scenario_segments()
        .into_iter()
        .filter(|s| s.flux > 0)
        .map(|s| RawSegment {
            id: s.id,
            commune: s.commune.as_str().into(),
            typology: s.typology.map(|t| t.label().to_owned()),
            qpv: s.qpv,
            flux: s.flux,
        })
        .collect();
    Ok((segments, relogements))
}

/// The secretariat replaces the segments of the draft by those of the current assiette.
#[tracing::instrument(skip_all, fields(convention = id, user = caller.user.id))]
pub async fn refresh(p: &Platform, caller: &Caller, id: i64) -> Result<i64, ServiceError> {
    let access = allowed(p, caller, id, Action::EditDraft).await?;
    let access = &access;
    let (number, _) = decide_and_apply(p, id, |snap: Snapshot| async move {
        permit(
            access,
            Action::EditDraft,
            &snap,
            &guard_facts(&snap, access),
        )?;
        let doc = current_document(&snap)?;
        let bailleur: Siren = snap
            .convention
            .bailleur_siren
            .parse()
            .map_err(|_| ServiceError::NotFound("bailleur illisible".into()))?;
        let epci: Siren = snap
            .convention
            .epci_siren
            .parse()
            .map_err(|_| ServiceError::NotFound("EPCI illisible".into()))?;
        let year = i32::try_from(snap.convention.year).unwrap_or(doc.scenario.year);
        let mut scenario = doc.scenario.clone();
        scenario.segments = assiette_segments(p.store.as_ref(), &bailleur, &epci, year).await?;
        if scenario.segments == doc.scenario.segments {
            return Err(ServiceError::Conflict(
                "l'assiette n'a pas changé : les segments sont déjà à jour".into(),
            ));
        }
        let (change, doc) = new_version_change(
            p,
            &snap,
            caller,
            "secretariat",
            VersionDraft {
                reason: "segments actualisés depuis l'assiette du bailleur".into(),
                scenario,
                clauses: doc.clauses,
                based_on: "proposals",
            },
            None,
        )
        .await?;
        Ok((change, doc.number))
    })
    .await?;
    Ok(number)
}
