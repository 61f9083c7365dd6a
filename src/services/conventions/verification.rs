//! `convention-flux verify` and `export-bundle`: the chain, every version hash and every seal,
//! checked from the database or from an exported bundle, offline.

use super::{Caller, Platform, ServiceError, allowed, now};
use crate::domain::convention::Action;
use crate::domain::convention::CommentStatus;
use serde_json::json;

use crate::signing::{
    AuditEvent, BUNDLE_FORMAT, Bundle, BundleDocument, Finding, Verification, check_rows,
    sha256_hex, verify_convention,
};
use crate::store::conventions::{Snapshot, VersionRow};
use crate::store::{Repository, StoreError};

/// Checks every convention of the database against the platform's public key.
#[tracing::instrument(skip_all)]
pub async fn verify_database(
    store: &dyn Repository,
    public_key_hex: &str,
) -> Result<Verification, ServiceError> {
    let mut all = Verification::default();
    // Also the conventions whose row is gone but whose chain or versions remain.
    for id in store.audited_convention_ids().await? {
        all.merge(verify_one(store, public_key_hex, id).await?);
    }
    Ok(all)
}

async fn verify_one(
    store: &dyn Repository,
    public_key_hex: &str,
    id: i64,
) -> Result<Verification, ServiceError> {
    // A row too damaged to be read is itself a finding: the other checks go on without it.
    let mut unreadable = Vec::new();
    let rows = readable(store.versions(id).await, id, &mut unreadable)?;
    let versions: Vec<_> = rows.iter().map(|v| v.stored()).collect();
    let signatures = readable(store.signatures(id).await, id, &mut unreadable)?;
    let events = readable(store.audit_events(id).await, id, &mut unreadable)?;
    let mut verification = verify_convention(public_key_hex, &versions, &signatures, &events);
    verification.findings.append(&mut unreadable);
    if let Some(snap) = readable(store.snapshot(id).await, id, &mut verification.findings)? {
        verification
            .findings
            .extend(rows_against_history(&snap, &rows, &events));
    }
    let current = store.recorded_rows(id).await?;
    verification.checked_rows = current.len();
    verification
        .findings
        .extend(check_rows(id, &events, &current));
    Ok(verification)
}

/// The value read, or its default and a finding when the stored data cannot be read.
fn readable<T: Default>(
    result: Result<T, StoreError>,
    convention_id: i64,
    findings: &mut Vec<Finding>,
) -> Result<T, ServiceError> {
    match result {
        Ok(value) => Ok(value),
        Err(
            e @ (StoreError::Corrupt(_)
            | StoreError::Database(
                sqlx::Error::RowNotFound
                | sqlx::Error::ColumnDecode { .. }
                | sqlx::Error::Decode(_),
            )),
        ) => {
            let what = match e {
                StoreError::Corrupt(what) => what,
                other => other.to_string(),
            };
            findings.push(Finding {
                convention_id,
                location: "base de données".into(),
                problem: format!(
                    "donnée illisible ({what}) : elle a été modifiée hors de la plateforme ; les \
                     contrôles qui en dépendent n'ont pas pu être faits"
                ),
            });
            Ok(T::default())
        }
        Err(e) => Err(e.into()),
    }
}

/// The rows that are not sealed themselves (the convention's state and pointers, the version
/// columns beside their document, memberships, comments) checked against the audit chain and
/// the version documents, so that a hand-edited row is named even where no hash covers it.
pub fn rows_against_history(
    snap: &Snapshot,
    versions: &[VersionRow],
    events: &[AuditEvent],
) -> Vec<Finding> {
    let id = snap.convention.id;
    let mut findings = Vec::new();
    let mut finding = |location: String, problem: String| {
        findings.push(Finding {
            convention_id: id,
            location,
            problem,
        });
    };
    for v in versions {
        let location = format!("version n° {} (id {})", v.number, v.id);
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(&v.document) else {
            continue; // already reported by the hash check
        };
        for (column, stored, documented) in [
            (
                "convention_id",
                json!(v.convention_id),
                doc["convention"].clone(),
            ),
            ("reason", json!(v.reason), doc["reason"].clone()),
            (
                "created_at",
                json!(crate::signing::timestamp(v.created_at)),
                doc["created_at"].clone(),
            ),
            ("author_id", json!(v.author_id), doc["author"]["id"].clone()),
        ] {
            if stored != documented {
                finding(
                    location.clone(),
                    format!(
                        "la colonne {column} ({stored}) diffère du document scellé ({documented})"
                    ),
                );
            }
        }
    }
    let c = &snap.convention;
    let here = format!("convention n° {id}");
    let expected_state = events
        .iter()
        .rev()
        .find(|e| e.kind == "etat_modifie")
        .and_then(|e| e.payload["vers"].as_str())
        .unwrap_or("brouillon");
    if c.state.as_str() != expected_state {
        finding(
            here.clone(),
            format!(
                "l'état enregistré « {} » n'est pas celui auquel mène le journal d'audit (« {expected_state} »)",
                c.state
            ),
        );
    }
    if c.current_version != versions.iter().max_by_key(|v| v.number).map(|v| v.id) {
        finding(
            here.clone(),
            "la version courante n'est pas la dernière version créée".into(),
        );
    }
    let locked_events: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == "version_verrouillee")
        .filter_map(|e| e.payload["empreinte"].as_str())
        .collect();
    for v in versions {
        if v.locked != locked_events.contains(&v.hash.as_str()) {
            finding(
                format!("version n° {} (id {})", v.number, v.id),
                if v.locked {
                    "verrouillée sans que le journal d'audit enregistre la dernière signature"
                        .into()
                } else {
                    "déverrouillée alors que le journal d'audit l'a enregistrée signée".into()
                },
            );
        }
    }
    if let Some(signed) = c.signed_version
        && !versions.iter().any(|v| v.id == signed && v.locked)
    {
        finding(
            here.clone(),
            format!("la version signée désignée (id {signed}) n'est pas une version verrouillée"),
        );
    }
    for m in &snap.members {
        let email = m.email.to_lowercase();
        let last = events
            .iter()
            .rev()
            .filter(|e| matches!(e.kind.as_str(), "membre_ajoute" | "convention_creee"))
            .find(|e| e.payload["courriel"].as_str() == Some(email.as_str()));
        let location = format!("membre {} ({})", m.name, m.email);
        match last {
            None => finding(
                location,
                "aucun événement d'audit n'enregistre cette adhésion".into(),
            ),
            Some(e)
                if e.payload["role"] != m.role.as_str()
                    || e.payload["partie"] != m.party.as_str() =>
            {
                finding(
                    location,
                    format!(
                        "rôle « {} » pour « {} » alors que le journal d'audit enregistre « {} » pour « {} »",
                        m.role,
                        m.party,
                        e.payload["role"].as_str().unwrap_or("?"),
                        e.payload["partie"].as_str().unwrap_or("?")
                    ),
                )
            }
            Some(_) => {}
        }
    }
    let mut unmatched: Vec<&AuditEvent> = events
        .iter()
        .filter(|e| matches!(e.kind.as_str(), "commentaire" | "objection"))
        .collect();
    for comment in &snap.comments {
        let location = format!("commentaire n° {}", comment.id);
        let kind = if comment.objection {
            "objection"
        } else {
            "commentaire"
        };
        let anchor = format!("{}:{}", comment.anchor_kind, comment.anchor_ref);
        let digest = sha256_hex(comment.body.as_bytes());
        match unmatched.iter().position(|e| {
            e.kind == kind
                && e.payload["ancre"] == anchor.as_str()
                && e.payload["partie"] == comment.party.as_str()
                && e.payload["empreinte_texte"] == digest.as_str()
        }) {
            Some(i) => {
                unmatched.remove(i);
            }
            None => finding(
                location.clone(),
                "texte, ancre, partie ou nature différents de ceux enregistrés au journal d'audit"
                    .into(),
            ),
        }
        let closing = events.iter().find(|e| {
            matches!(
                e.kind.as_str(),
                "commentaire_resolu" | "objection_passee_outre"
            ) && e.payload["commentaire"] == comment.id
        });
        let consistent = match (comment.status, closing) {
            (CommentStatus::Ouvert, None) => true,
            (CommentStatus::Resolu, Some(e)) => {
                e.kind == "commentaire_resolu"
                    && e.payload["motif"].as_str() == comment.resolution.as_deref()
            }
            (CommentStatus::PasseOutre, Some(e)) => {
                e.kind == "objection_passee_outre"
                    && e.payload["motif"].as_str() == comment.resolution.as_deref()
            }
            _ => false,
        };
        if !consistent {
            finding(
                location,
                format!(
                    "statut « {} » incompatible avec le journal d'audit",
                    comment.status
                ),
            );
        }
    }
    findings
}

/// A self-contained bundle of one convention: versions, signatures, audit chain, public key,
/// and the signed PDFs of every locked version (the whole convention and each réservataire's
/// annex), rendered now: the same bytes as the PDFs served for that version, which the
/// bundle's verification renders again.
///
/// # Errors
/// `NotFound` for a convention that does not exist; `Store` when it cannot be read;
/// `Internal` when a PDF cannot be written.
#[tracing::instrument(skip_all, fields(convention = id))]
pub async fn bundle(p: &Platform, id: i64) -> Result<Bundle, ServiceError> {
    use super::convention_document::{pdf, pdf_file_name};
    use crate::render::document::Scope;
    use base64::Engine;
    let store = p.store.as_ref();
    let snap = store
        .snapshot(id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("convention n° {id} introuvable")))?;
    let c = &snap.convention;
    let versions = store.versions(id).await?;
    let mut documents = Vec::new();
    for v in versions.iter().filter(|v| v.locked) {
        let parsed = p.versions.version(v)?;
        let scopes = std::iter::once(Scope::Whole).chain(
            parsed
                .document
                .scenario
                .reservataires
                .iter()
                .map(|r| Scope::Annex(r.id.clone())),
        );
        for scope in scopes {
            let bytes = pdf(p, id, Some(v.number), &scope).await?;
            documents.push(BundleDocument {
                version: v.number,
                version_hash: v.hash.clone(),
                annexe: match &scope {
                    Scope::Whole => None,
                    Scope::Annex(party) => Some(party.clone()),
                },
                file_name: pdf_file_name(id, v.number, &scope),
                sha256: sha256_hex(&bytes),
                pdf_base64: base64::engine::general_purpose::STANDARD.encode(&bytes),
            });
        }
    }
    Ok(Bundle {
        format: BUNDLE_FORMAT.into(),
        exported_at: now(),
        public_key: p.key.public_key_hex(),
        convention: serde_json::json!({
            "id": c.id, "titre": c.title, "etat": c.state, "annee": c.year,
            "epci": c.epci_siren, "bailleur": c.bailleur_siren, "parties": snap.parties,
        }),
        versions: versions.iter().map(|v| v.stored()).collect(),
        signatures: store.signatures(id).await?,
        audit: store.audit_events(id).await?,
        documents,
    })
}

/// The bundle of a convention for one of its members (API).
#[tracing::instrument(skip_all, fields(convention = id, user = caller.user.id))]
pub async fn bundle_for(p: &Platform, caller: &Caller, id: i64) -> Result<Bundle, ServiceError> {
    allowed(p, caller, id, Action::Read).await?;
    bundle(p, id).await
}
