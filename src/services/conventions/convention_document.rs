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
use crate::signing::StoredSignature;
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
        .cloned()
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
    signatures: &[StoredSignature],
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

/// The digests of the PDFs presented for signature, by version hash and inputs: rendering the
/// largest convention takes seconds, and every visit of the signing page shows the digest.
static SIGNING_DIGESTS: std::sync::LazyLock<std::sync::Mutex<BTreeMap<String, String>>> =
    std::sync::LazyLock::new(|| std::sync::Mutex::new(BTreeMap::new()));

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
    if let Some(digest) = SIGNING_DIGESTS
        .lock()
        .map_err(|_| ServiceError::internal("cache des empreintes indisponible"))?
        .get(&key)
    {
        return Ok(digest.clone());
    }
    let bytes = render_pdf(v, Scope::Whole).await?;
    let digest = crate::signing::sha256_hex(&bytes);
    let mut cache = SIGNING_DIGESTS
        .lock()
        .map_err(|_| ServiceError::internal("cache des empreintes indisponible"))?;
    if cache.len() >= 256 {
        cache.clear();
    }
    cache.insert(key, digest.clone());
    Ok(digest)
}
