//! The convention document of a version (DESIGN §4.6) for any member of the convention: the
//! sealed version and, around it, the parties, signatories, signatures, communes, the CIA and
//! the état des lieux as the store holds them.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::document::{DocumentText, TypedDocument, VersionDocument};
use super::parsed::ParsedVersion;
use super::{Caller, Platform, ServiceError, allowed, snapshot};
use crate::domain::Siren;
use crate::domain::convention::{Action, RoundStatus, Transition};
use crate::domain::territory::Epci;
use crate::render::document::{
    Approval, ConventionDocument, DocumentInputs, Scope, StockRight, convention_document,
    document_text, speaking_members,
};
use crate::render::pdf::PdfError;
use crate::signing::PublicSignature;
use crate::store::conventions::{PartyRecord, VersionRow};

/// What the reader asks for: a version (the current one by default), one réservataire's annex
/// (the whole convention by default).
#[derive(Debug, Clone, Default)]
pub struct DocumentRequest {
    pub version: Option<i64>,
    pub annexe: Option<String>,
}

/// A version read for its document: its row, its parsed text and what surrounds it.
pub struct VersionSources {
    pub row: VersionRow,
    pub parsed: Arc<ParsedVersion>,
    pub inputs: DocumentInputs,
}

impl DocumentRequest {
    /// The part of the convention asked for.
    pub fn scope(&self) -> Scope {
        match self.annexe.as_deref().map(str::trim) {
            None | Some("") => Scope::Whole,
            Some(party) => Scope::Annex(party.to_owned()),
        }
    }
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
    let v = sources(p, id, request.version).await?;
    convention_document(&v.inputs.sources(&v.parsed.document), &request.scope())
        .map_err(|e| ServiceError::NotFound(e.to_string()))
}

/// A PDF of the convention document and the name to save it under.
#[derive(Debug, Clone)]
pub struct PdfFile {
    pub bytes: Vec<u8>,
    /// « convention-2-version-3.pdf », « convention-2-version-3-annexe-etat.pdf ».
    pub file_name: String,
}

/// The PDF/A of version `request.version` of convention `id`, for a member of the convention.
///
/// # Errors
/// Those of [`document`]; `Internal` when the PDF cannot be written.
#[tracing::instrument(skip_all, fields(convention = id, user = caller.user.id, ?request))]
pub async fn pdf_file(
    p: &Platform,
    caller: &Caller,
    id: i64,
    request: &DocumentRequest,
) -> Result<PdfFile, ServiceError> {
    allowed(p, caller, id, Action::Read).await?;
    let scope = request.scope();
    let v = sources(p, id, request.version).await?;
    let file_name = pdf_file_name(id, v.row.number, &scope);
    let bytes = render_pdf(v, scope).await?;
    Ok(PdfFile { bytes, file_name })
}

/// The PDF/A of version `version` (the current one when `None`) of convention `id`, whole or
/// one réservataire's annex, without checking who asks: for the platform's own uses (the
/// signed PDF sent at lock, the evidence bundle). Same version and scope, same bytes.
///
/// # Errors
/// `NotFound` for a convention, a version or an annex that does not exist; `Store` when the
/// stored version cannot be read; `Internal` when the PDF cannot be written.
pub async fn pdf(
    p: &Platform,
    id: i64,
    version: Option<i64>,
    scope: &Scope,
) -> Result<Vec<u8>, ServiceError> {
    let v = sources(p, id, version).await?;
    render_pdf(v, scope.clone()).await
}

/// « convention-2-version-3.pdf », or with « -annexe-PARTY » for one réservataire's annex.
pub fn pdf_file_name(id: i64, version: i64, scope: &Scope) -> String {
    match scope {
        Scope::Whole => format!("convention-{id}-version-{version}.pdf"),
        Scope::Annex(party) => {
            let party: String = party
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            format!("convention-{id}-version-{version}-annexe-{party}.pdf")
        }
    }
}

/// Renders off the async executor: the largest convention takes a few seconds.
async fn render_pdf(v: VersionSources, scope: Scope) -> Result<Vec<u8>, ServiceError> {
    tokio::task::spawn_blocking(move || {
        let inputs = crate::render::pdf::RenderInputs::new(v.inputs, &scope);
        crate::render::pdf::render(&v.row.document, &v.parsed.document, &inputs)
    })
    .await
    .map_err(|e| ServiceError::internal(format!("écriture du PDF interrompue : {e}")))?
    .map_err(|e| match e {
        PdfError::Document(e) => ServiceError::NotFound(e.to_string()),
        other => ServiceError::internal(other.to_string()),
    })
}

/// Version `version` (the current one when `None`) of convention `id` and what surrounds it:
/// parties, signatories, valid signatures, communes, the CIA, the état des lieux, the approval.
/// Checks nobody's rights: callers do.
///
/// # Errors
/// `NotFound` for a convention or a version that does not exist; `Store` when the stored
/// version cannot be read.
pub async fn sources(
    p: &Platform,
    id: i64,
    version: Option<i64>,
) -> Result<VersionSources, ServiceError> {
    let snap = snapshot(p, id).await?;
    let row: VersionRow = match version {
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
    // The signatures that count for this version: on its hash, in a round not cancelled. The
    // document of a version not yet locked shows none: it is the draft every signatory reads,
    // the same for all of them (each signature records its PDF's digest); the signed document
    // shows them all, with their certificate.
    let signatures: Vec<_> = snap
        .signatures
        .iter()
        .filter(|s| row.locked && s.record.version_hash == row.hash)
        .filter(|s| {
            snap.rounds
                .iter()
                .any(|r| r.id == s.round_id && r.status != RoundStatus::Annulee)
        })
        // What the document publishes of each: its public extract, sealed (no e-mail, IP
        // address or browser); the whole record stays in the evidence bundle.
        .map(|s| PublicSignature::of(&s.record, &s.seal, &p.key))
        .collect();
    let (communes, epci, stock) = territory(p, doc).await?;
    let approval = if row.locked {
        approval(p, id, &signatures).await?
    } else {
        None
    };
    let experiment = crate::policy::experiment::ExperimentPolicy::load(&p.policies_dir)
        .map_err(|e| ServiceError::internal(e.to_string()))?;
    let inputs = DocumentInputs {
        hash: row.hash.clone(),
        locked: row.locked,
        approval_required: snap.convention.approval_required,
        parties: snap.parties.clone(),
        members: speaking_members(&snap.members),
        signatures,
        communes,
        epci,
        stock: (!stock.is_empty()).then_some(stock),
        approval,
        experiment_years: experiment.duration_years,
        public_key: p.key.public_key_hex(),
    };
    Ok(VersionSources {
        row,
        parsed,
        inputs,
    })
}

type Territory = (BTreeMap<String, String>, Option<Epci>, Vec<StockRight>);

/// The communes of the version's EPCI, the EPCI and the bailleur's état des lieux in it.
async fn territory(p: &Platform, doc: &TypedDocument) -> Result<Territory, ServiceError> {
    let epci_siren: Option<Siren> = doc.scenario.epci.siren.parse().ok();
    let bailleur_siren: Option<Siren> = doc.bailleur.siren.parse().ok();
    let Some(epci) = &epci_siren else {
        return Ok((BTreeMap::new(), None, Vec::new()));
    };
    let communes: BTreeMap<String, String> = p
        .store
        .communes_of_epci(epci)
        .await?
        .into_iter()
        .map(|c| (c.insee.as_str().to_owned(), c.name))
        .collect();
    let facts = p.store.epci_facts(epci).await?;
    let stock = match &bailleur_siren {
        Some(bailleur) => p.store.stock_rights_in_epci(bailleur, epci).await?,
        None => Vec::new(),
    };
    Ok((communes, facts.map(|f| f.epci), stock))
}

/// The préfet's approval of a locked version. The préfet approves a signed version after its
/// last signature: an approval recorded before it belongs to an earlier version (an avenant
/// signed since).
async fn approval(
    p: &Platform,
    id: i64,
    signatures: &[PublicSignature],
) -> Result<Option<Approval>, ServiceError> {
    let last_signature = signatures
        .iter()
        .map(|s| s.record.signed_at.as_str())
        .max()
        .unwrap_or("")
        .to_owned();
    Ok(p.store
        .audit_events(id)
        .await?
        .into_iter()
        .rev()
        .find(|e| {
            // Both instants are written as RFC 3339 UTC with milliseconds: their text order
            // is their time order.
            e.at.as_str() > last_signature.as_str()
                && e.kind == "transition"
                && serde_json::from_value::<Transition>(e.payload["transition"].clone())
                    .is_ok_and(|t| t == Transition::Approve)
        })
        .map(|e| Approval {
            at: e.at,
            actor: e.actor,
        }))
}

/// The visas and articles of `document` as the parties will read them, to seal in the version
/// so that the hash signed covers what is read (DESIGN §4.6). Only what the text is written
/// from is read: the EPCI, its communes' names and the experiment's length.
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
    let (communes, epci) = match typed.scenario.epci.siren.parse::<Siren>() {
        Ok(epci) => (
            p.store
                .communes_of_epci(&epci)
                .await?
                .into_iter()
                .map(|c| (c.insee.as_str().to_owned(), c.name))
                .collect(),
            p.store.epci_facts(&epci).await?.map(|f| f.epci),
        ),
        Err(_) => (BTreeMap::new(), None),
    };
    let experiment = crate::policy::experiment::ExperimentPolicy::load(&p.policies_dir)
        .map_err(|e| ServiceError::internal(e.to_string()))?;
    let inputs = DocumentInputs {
        hash: String::new(),
        locked: false,
        approval_required,
        parties: parties.to_vec(),
        members: Vec::new(),
        signatures: Vec::new(),
        communes,
        epci,
        stock: None,
        approval: None,
        experiment_years: experiment.duration_years,
        public_key: String::new(),
    };
    Ok(document_text(&inputs.sources(&typed)))
}

/// How many PDF digests a platform keeps (a digest and its key are 128 bytes).
const MAX_DIGESTS: usize = 256;

/// The digests of the PDFs presented for signature, by version hash and inputs: rendering the
/// largest convention takes seconds, and every visit of the signing page shows the digest.
/// One per platform (shared by its clones), bounded: the oldest digest goes first.
#[derive(Debug, Default)]
pub struct DigestCache {
    entries: std::sync::Mutex<(
        std::collections::HashMap<String, String>,
        std::collections::VecDeque<String>,
    )>,
}

impl DigestCache {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<
        '_,
        (
            std::collections::HashMap<String, String>,
            std::collections::VecDeque<String>,
        ),
    > {
        // Each operation is one call: the map stays consistent even if a holder panicked.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The digest kept under `key`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<String> {
        self.lock().0.get(key).cloned()
    }

    /// Keeps `digest` under `key`, letting the oldest go beyond [`MAX_DIGESTS`].
    pub fn insert(&self, key: String, digest: String) {
        let mut guard = self.lock();
        let (map, order) = &mut *guard;
        if map.insert(key.clone(), digest).is_some() {
            return;
        }
        order.push_back(key);
        while map.len() > MAX_DIGESTS {
            let Some(oldest) = order.pop_front() else {
                break;
            };
            map.remove(&oldest);
        }
    }

    /// How many digests are kept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().0.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The SHA-256 of the PDF of convention `id`'s current version as it reads now, whole: what a
/// signatory is shown and what its signature records (DESIGN §4.6). Checks nobody's rights.
///
/// # Errors
/// Those of [`pdf`].
pub async fn signing_pdf_digest(p: &Platform, id: i64) -> Result<String, ServiceError> {
    let v = sources(p, id, None).await?;
    let inputs = serde_json::to_string(&v.inputs)
        .map_err(|e| ServiceError::internal(format!("entrées du document : {e}")))?;
    let key = crate::signing::sha256_hex(format!("{}\n{inputs}", v.row.hash).as_bytes());
    if let Some(digest) = p.signing_digests.get(&key) {
        return Ok(digest);
    }
    let bytes = render_pdf(v, Scope::Whole).await?;
    let digest = crate::signing::sha256_hex(&bytes);
    p.signing_digests.insert(key, digest.clone());
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_cache_is_bounded_and_lets_the_oldest_go_first() {
        let cache = DigestCache::new();
        for n in 0..MAX_DIGESTS + 10 {
            cache.insert(format!("cle-{n}"), format!("empreinte-{n}"));
        }
        assert_eq!(cache.len(), MAX_DIGESTS);
        // The ten oldest went out, the newest is kept.
        for n in 0..10 {
            assert_eq!(cache.get(&format!("cle-{n}")), None, "{n}");
        }
        assert_eq!(cache.get("cle-10").as_deref(), Some("empreinte-10"));
        let last = MAX_DIGESTS + 9;
        assert_eq!(
            cache.get(&format!("cle-{last}")),
            Some(format!("empreinte-{last}"))
        );
        // Inserting a key again neither duplicates nor evicts.
        cache.insert("cle-10".into(), "empreinte-10".into());
        assert_eq!(cache.len(), MAX_DIGESTS);
        assert_eq!(cache.get("cle-11").as_deref(), Some("empreinte-11"));
    }

    #[test]
    fn two_platforms_have_their_own_caches() {
        let a = DigestCache::new();
        let b = DigestCache::new();
        a.insert("cle".into(), "empreinte".into());
        assert_eq!(a.get("cle").as_deref(), Some("empreinte"));
        assert_eq!(b.get("cle"), None);
        assert!(b.is_empty());
    }
}
