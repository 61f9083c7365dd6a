//! The convention document of a version (DESIGN §4.6) for any member of the convention: the
//! sealed version and, around it, the parties, signatories, signatures, communes, the CIA and
//! the état des lieux as the store holds them.

use std::collections::BTreeMap;

use super::document::{DocumentText, TypedDocument, VersionDocument};
use super::{Caller, Platform, ServiceError, allowed, snapshot};
use crate::domain::Siren;
use crate::domain::convention::{Action, RoundStatus, Transition};
use crate::domain::territory::Epci;
use crate::render::document::{
    Approval, ConventionDocument, Scope, Sources, convention_document, document_text,
};
use crate::store::conventions::{PartyRecord, VersionRow};

/// What the reader asks for: a version (the current one by default), one réservataire's annex
/// (the whole convention by default).
#[derive(Debug, Clone, Default)]
pub struct DocumentRequest {
    pub version: Option<i64>,
    pub annexe: Option<String>,
}

/// The document of version `request.version` of convention `id`.
///
/// # Errors
/// `NotFound` for a convention the caller is not a member of, a version or an annex that does
/// not exist; `Store` when the stored version cannot be read.
#[tracing::instrument(skip_all, fields(convention = id, user = caller.user.id, ?request))]
pub async fn document(
    p: &Platform,
    caller: &Caller,
    id: i64,
    request: &DocumentRequest,
) -> Result<ConventionDocument, ServiceError> {
    allowed(p, caller, id, Action::Read).await?;
    let snap = snapshot(p, id).await?;
    let row: VersionRow = match request.version {
        None => snap.current.clone().ok_or_else(|| {
            ServiceError::NotFound("la convention n'a encore aucune version".into())
        })?,
        Some(n) => p.store.version_numbered(id, n).await?.ok_or_else(|| {
            ServiceError::NotFound(format!(
                "version n° {n} introuvable dans la convention n° {id}"
            ))
        })?,
    };
    let parsed = p.versions.version(&row)?;
    let doc = &parsed.document;
    // The signatures that count for this version: on its hash, in a round not cancelled.
    let signatures: Vec<_> = snap
        .signatures
        .iter()
        .filter(|s| s.record.version_hash == row.hash)
        .filter(|s| {
            snap.rounds
                .iter()
                .any(|r| r.id == s.round_id && r.status != RoundStatus::Annulee)
        })
        .cloned()
        .collect();
    let (communes, epci) = territory(p, doc).await?;
    let stock = match (
        doc.scenario.epci.siren.parse::<Siren>(),
        doc.bailleur.siren.parse::<Siren>(),
    ) {
        (Ok(epci), Ok(bailleur)) => p.store.stock_rights_in_epci(&bailleur, &epci).await?,
        _ => Vec::new(),
    };
    // The préfet approves a signed version after its last signature: an approval recorded
    // before it belongs to an earlier version (an avenant signed since).
    let last_signature = signatures
        .iter()
        .map(|s| s.record.signed_at.as_str())
        .max()
        .unwrap_or("")
        .to_owned();
    let approval = if row.locked {
        p.store
            .audit_events(id)
            .await?
            .into_iter()
            .rev()
            .find(|e| {
                // Both instants are written as RFC 3339 UTC with milliseconds: their text
                // order is their time order.
                e.at.as_str() > last_signature.as_str()
                    && e.kind == "transition"
                    && serde_json::from_value::<Transition>(e.payload["transition"].clone())
                        .is_ok_and(|t| t == Transition::Approve)
            })
            .map(|e| Approval {
                at: e.at,
                actor: e.actor,
            })
    } else {
        None
    };
    let experiment_years = experiment_years(p)?;
    let public_key = p.key.public_key_hex();
    let sources = Sources {
        doc,
        hash: &row.hash,
        locked: row.locked,
        approval_required: snap.convention.approval_required,
        parties: &snap.parties,
        members: &snap.members,
        signatures: &signatures,
        communes: &communes,
        epci: epci.as_ref(),
        stock: (!stock.is_empty()).then_some(&stock[..]),
        approval,
        experiment_years,
        public_key: &public_key,
    };
    let scope = match request.annexe.as_deref().map(str::trim) {
        None | Some("") => Scope::Whole,
        Some(party) => Scope::Annex(party.to_owned()),
    };
    convention_document(&sources, &scope).map_err(|e| ServiceError::NotFound(e.to_string()))
}

/// The names of the EPCI's communes (INSEE code → name) and the EPCI's facts, as the store
/// holds them for the version's territory.
async fn territory(
    p: &Platform,
    doc: &TypedDocument,
) -> Result<(BTreeMap<String, String>, Option<Epci>), ServiceError> {
    let Ok(epci) = doc.scenario.epci.siren.parse::<Siren>() else {
        return Ok((BTreeMap::new(), None));
    };
    let communes = p
        .store
        .communes_of_epci(&epci)
        .await?
        .into_iter()
        .map(|c| (c.insee.as_str().to_owned(), c.name))
        .collect();
    let facts = p.store.epci_facts(&epci).await?;
    Ok((communes, facts.map(|f| f.epci)))
}

fn experiment_years(p: &Platform) -> Result<u32, ServiceError> {
    crate::policy::experiment::ExperimentPolicy::load(&p.policies_dir)
        .map(|e| e.duration_years)
        .map_err(|e| ServiceError::internal(e.to_string()))
}

/// The visas and articles of `document` as the parties will read them, to seal in the version
/// so that the hash signed covers what is read (DESIGN §4.6).
///
/// # Errors
/// `Store` when the territory cannot be read; `Invalid` when the solver's report cannot.
pub(crate) async fn sealed_text(
    p: &Platform,
    document: &VersionDocument,
    approval_required: bool,
    parties: &[PartyRecord],
) -> Result<DocumentText, ServiceError> {
    let typed = document
        .typed()
        .map_err(|e| ServiceError::Invalid(e.to_string()))?;
    let (communes, epci) = territory(p, &typed).await?;
    let sources = Sources {
        doc: &typed,
        hash: "",
        locked: false,
        approval_required,
        parties,
        members: &[],
        signatures: &[],
        communes: &communes,
        epci: epci.as_ref(),
        stock: None,
        approval: None,
        experiment_years: experiment_years(p)?,
        public_key: "",
    };
    Ok(document_text(&sources))
}
