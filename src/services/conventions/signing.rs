//! Signing rounds: opening one on the current version's hash, signing after re-authenticating,
//! and the lock that the last signature sets.

use serde::Deserialize;

use super::{
    Caller, Platform, RequestMeta, ServiceError, allowed, current_document, decide_and_apply,
    guard_facts, notify, now, permit,
};
use crate::domain::convention::{Action, RoundStatus, Transition, next_state};
use crate::domain::permission::GuardFacts;
use crate::signing::SignatureRecord;
use crate::store::conventions::{
    AuditDraft, ConventionChange, NewRound, NewSignature, RoundClosing, Snapshot,
};

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenSigning {
    /// Parties whose signature is required; default: every réservataire and the bailleur.
    pub required: Option<Vec<String>>,
    /// RFC 3339 deadline of the round, for reminders.
    pub deadline: Option<String>,
    /// Why open objections are set aside, if any remain.
    pub overrule_reason: Option<String>,
}

/// The secretariat opens a round on the current version's hash.
#[tracing::instrument(skip_all, fields(convention = id, user = caller.user.id))]
pub async fn open_signing(
    p: &Platform,
    caller: &Caller,
    id: i64,
    request: OpenSigning,
) -> Result<i64, ServiceError> {
    let action = Action::Transition(Transition::OpenSigning);
    let access = allowed(p, caller, id, action).await?;
    if let Some(reason) = &request.overrule_reason {
        use crate::domain::text::{check_text, limits};
        check_text(reason, "motif du passer-outre", limits::REASON, true)
            .map_err(ServiceError::Invalid)?;
    }
    if let Some(deadline) = &request.deadline {
        chrono::DateTime::parse_from_rfc3339(deadline).map_err(|_| {
            ServiceError::Invalid(format!(
                "champ deadline : « {deadline} » n'est pas une date RFC 3339 (ex. 2027-01-31T18:00:00Z)"
            ))
        })?;
    }
    let (round, applied) = decide_and_apply(p, id, |snap: Snapshot| {
        let (request, access) = (request.clone(), access.clone());
        async move {
            let state = snap.convention.state;
            let doc = current_document(&snap)?;
            let version = snap.current.as_ref().expect("current_document succeeded");
            let facts = GuardFacts {
                blocking_violations: doc.blocking_violations(),
                ..guard_facts(&snap, &access)
            };
            permit(&access, action, &snap, &facts)?;
            let next = next_state(state, Transition::OpenSigning, &facts)?;
            let required = match request.required {
                Some(list) if !list.is_empty() => list,
                Some(_) => {
                    return Err(ServiceError::Invalid(
                        "champ required : la liste des signataires requis est vide".into(),
                    ));
                }
                // Every party signs, the EPCI included (RULES.md §5: the bailleur, the EPCI, the
                // State and every réservataire).
                None => snap.parties.iter().map(|x| x.party.clone()).collect(),
            };
            for (i, party) in required.iter().enumerate() {
                if !snap.parties.iter().any(|x| x.party == *party) {
                    return Err(ServiceError::Invalid(format!(
                        "champ required[{i}] : « {party} » n'est pas partie à la convention"
                    )));
                }
                if !snap
                    .members
                    .iter()
                    .any(|m| m.party == *party && m.role.signs_for(party))
                {
                    return Err(ServiceError::Conflict(format!(
                        "la partie « {party} » n'a aucun signataire : invitez-en un avant d'ouvrir la signature"
                    )));
                }
            }
            let at = now();
            let outbox = notify::signing_requested(
                &p.base_url,
                &snap,
                &required,
                version.number,
                &version.hash,
                &request.deadline,
                &at,
            )?;
            let change = ConventionChange {
                outbox,
                new_state: Some(next),
                open_round: Some(NewRound {
                    version_hash: version.hash.clone(),
                    required: required.clone(),
                    opened_by: caller.user.id,
                    opened_at: at.clone(),
                    deadline: request.deadline.clone(),
                }),
                audit: vec![AuditDraft {
                    at,
                    actor: caller.actor(),
                    kind: "signature_ouverte".into(),
                    payload: serde_json::json!({
                        "version": version.number, "empreinte": version.hash,
                        "signataires_requis": required,
                    }),
                }],
                ..ConventionChange::default()
            };
            Ok((change, ()))
        }
    })
    .await?;
    let () = round;
    Ok(applied.round_id.unwrap_or_default())
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    /// Re-authentication: the signer's password, checked again now.
    pub password: String,
    /// The version the signer read; refused if the round is on another one.
    pub version_hash: String,
    /// The capacity in which the signer commits its party; default: the one recorded when
    /// the member was invited.
    pub mandate: Option<String>,
    /// The SHA-256 of the PDF the signer was shown; refused if the document has changed since
    /// (a signatory named, a mandate edited). Without it, the PDF of the version as it reads
    /// now is recorded.
    #[serde(default)]
    pub document_sha256: Option<String>,
}

/// What a signature produced.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Signed {
    pub signature_id: i64,
    pub record: SignatureRecord,
    pub seal: String,
    /// This was the last required signature: the version is now locked.
    pub locked: bool,
}

/// A signatory signs the round's version for its party, after re-authenticating; the last
/// signature locks the version and the signed PDFs follow ([`send_signed_documents`]).
#[tracing::instrument(skip_all, fields(convention = id, user = caller.user.id))]
pub async fn sign(
    p: &Platform,
    caller: &Caller,
    id: i64,
    request: SignRequest,
    meta: RequestMeta,
) -> Result<Signed, ServiceError> {
    let signed = record_signature(p, caller, id, request, meta).await?;
    if signed.locked {
        // The signed PDFs follow the lock, whose own mail (with the tables) is part of its
        // transaction. A convention of a few parties has them queued before the signer's page
        // answers; a large one (one annex per réservataire, seconds each) in the background.
        // Should the process stop before they are queued, the next start sends them
        // ([`send_pending_signed_documents`]).
        let platform = p.clone();
        let send = async move {
            if let Err(e) = send_signed_documents(&platform, id).await {
                tracing::error!(convention = id, error = %e, "documents signés non envoyés");
            }
        };
        let parties = super::snapshot(p, id).await.map_or(0, |s| s.parties.len());
        if parties <= INLINE_SIGNED_DOCUMENTS {
            send.await;
        } else {
            tokio::spawn(send);
        }
    }
    Ok(signed)
}

/// The signature and, when it is the last one, the lock of the version, in one transaction —
/// without the signed PDFs that [`sign`] sends after it: exactly what a process that stops
/// right after the lock has done.
#[tracing::instrument(skip_all, fields(convention = id, user = caller.user.id))]
pub async fn record_signature(
    p: &Platform,
    caller: &Caller,
    id: i64,
    request: SignRequest,
    meta: RequestMeta,
) -> Result<Signed, ServiceError> {
    let access = allowed(p, caller, id, Action::Sign).await?;
    if let Some(mandate) = &request.mandate {
        use crate::domain::text::{check_text, limits};
        check_text(mandate, "mandat", limits::MANDATE, false).map_err(ServiceError::Invalid)?;
    }
    let hash = caller.user.password_hash.clone().unwrap_or_default();
    super::members::check_reauthentication(
        p,
        caller,
        &request.password,
        &hash,
        "mot de passe incorrect : la signature exige de vous authentifier à nouveau",
    )
    .await?;
    // The PDF the signer read, as it reads now: a document changed since is read again first.
    let shown = super::convention_document::signing_pdf_digest(p, id).await?;
    if let Some(read) = &request.document_sha256
        && !read.trim().eq_ignore_ascii_case(&shown)
    {
        return Err(ServiceError::Conflict(
            "le document de la convention a changé depuis que vous l'avez ouvert (un signataire ou un mandat a été modifié) : relisez-le, puis signez".into(),
        ));
    }
    let ((record, seal, locked), applied) = decide_and_apply(p, id, |snap: Snapshot| {
        let (request, access, meta, shown) =
            (request.clone(), access.clone(), meta.clone(), shown.clone());
        async move {
            let state = snap.convention.state;
            permit(&access, Action::Sign, &snap, &guard_facts(&snap, &access))?;
            let round = snap
                .open_round()
                .expect("permission to sign implies an open round");
            if round.version_hash != request.version_hash {
                return Err(ServiceError::Conflict(format!(
                    "la signature porte sur la version {} ; vous avez lu la version {} : relisez la version en signature",
                    round.version_hash, request.version_hash
                )));
            }
            let signed: Vec<&str> = snap
                .signatures
                .iter()
                .filter(|s| s.round_id == round.id)
                .map(|s| s.record.party.as_str())
                .collect();
            let party = snap
                .parties
                .iter()
                .find(|x| x.party == access.party)
                .map(|x| x.name.clone())
                .unwrap_or_default();
            let member_mandate = snap
                .members
                .iter()
                .find(|m| m.user_id == caller.user.id)
                .map(|m| m.mandate.clone())
                .unwrap_or_default();
            let at = now();
            let record = SignatureRecord {
                convention_id: id,
                version_hash: round.version_hash.clone(),
                party: access.party.clone(),
                party_name: party,
                signer_id: caller.user.id,
                signer_name: caller.user.name.clone(),
                signer_email: caller.user.email.clone(),
                mandate: request
                    .mandate
                    .filter(|m| !m.trim().is_empty())
                    .unwrap_or(member_mandate),
                signed_at: at.clone(),
                ip: meta.ip,
                user_agent: meta.user_agent,
                method: "mot_de_passe".into(),
                document_sha256: Some(shown.clone()),
            };
            let canonical = record.canonical();
            let seal = p.key.seal(&canonical);
            let all_signed = round
                .required
                .iter()
                .all(|r| *r == access.party || signed.contains(&r.as_str()));
            let mut change = ConventionChange {
                signature: Some(NewSignature {
                    round_id: round.id,
                    version_hash: round.version_hash.clone(),
                    party: access.party.clone(),
                    signer_id: caller.user.id,
                    record: canonical,
                    seal: seal.clone(),
                }),
                audit: vec![AuditDraft {
                    at: at.clone(),
                    actor: caller.actor(),
                    kind: "signature".into(),
                    payload: serde_json::json!({
                        "partie": access.party, "empreinte": round.version_hash,
                        "tour": round.id,
                    }),
                }],
                ..ConventionChange::default()
            };
            if all_signed {
                let facts = GuardFacts {
                    all_signed,
                    ..GuardFacts::default()
                };
                let next = next_state(state, Transition::LastSignature, &facts)?;
                change.new_state = Some(next);
                change.lock_version = Some(round.version_hash.clone());
                change.close_rounds.push(RoundClosing {
                    id: round.id,
                    status: RoundStatus::Terminee,
                    reason: "toutes les parties requises ont signé".into(),
                    at: at.clone(),
                });
                // Everyone is told; the bailleur receives its flux tables.
                if let Some(version) = snap.current.as_ref().filter(|v| v.hash == round.version_hash) {
                    let tables = notify::table_attachments(p, version).await?;
                    change.outbox =
                        notify::convention_signed(&p.base_url, &snap, version, &tables, &at)?;
                }
                change.audit.push(AuditDraft {
                    at,
                    actor: None,
                    kind: "version_verrouillee".into(),
                    payload: serde_json::json!({
                        "empreinte": round.version_hash, "etat": next.as_str(),
                    }),
                });
            }
            Ok((change, (record, seal, all_signed)))
        }
    })
    .await?;
    Ok(Signed {
        signature_id: applied.signature_id.unwrap_or_default(),
        record,
        seal,
        locked,
    })
}

/// Up to this many parties, the signed PDFs are queued before the last signature answers.
const INLINE_SIGNED_DOCUMENTS: usize = 32;

/// The audit event that records the signed PDFs of a version as queued for its members.
pub const SIGNED_DOCUMENTS_EVENT: &str = "documents_signes_envoyes";

/// At start-up, the signed PDFs of the versions locked within this many days whose sending
/// is not recorded are sent: older locks may predate the signed PDFs, and their parties are
/// not written to out of the blue.
pub const RESEND_WINDOW_DAYS: i64 = 30;

/// Renders the signed convention and each réservataire's annex of the current version, when
/// it is locked, in PDF and queues them for every member, once ([`send_signed_documents_of`]).
///
/// # Errors
/// When the version cannot be read or rendered, or the outbox cannot be written.
pub async fn send_signed_documents(p: &Platform, id: i64) -> Result<usize, ServiceError> {
    let snap = super::snapshot(p, id).await?;
    match snap.current.filter(|v| v.locked) {
        Some(version) => send_signed_documents_of(p, id, version.number).await,
        None => Ok(0),
    }
}

/// Renders locked version `number` of convention `id` whole and each réservataire's annex in
/// PDF and queues them for every member, with an audit event ([`SIGNED_DOCUMENTS_EVENT`])
/// naming each file and its SHA-256, in one transaction. Once: when the event of this version
/// is already in the chain, nothing is sent (returns 0). Two processes sending at once both
/// read the convention's revision first; the second's transaction is refused and, read again,
/// finds the first's event.
///
/// # Errors
/// When the version cannot be read or rendered, or the outbox cannot be written.
pub async fn send_signed_documents_of(
    p: &Platform,
    id: i64,
    number: i64,
) -> Result<usize, ServiceError> {
    use super::convention_document::{pdf, pdf_file_name};
    use crate::render::document::Scope;
    let Some(version) = p
        .store
        .version_numbered(id, number)
        .await?
        .filter(|v| v.locked)
    else {
        return Ok(0);
    };
    let mut rendered = None;
    let mut last = None;
    for _ in 0..super::MAX_ATTEMPTS {
        // The snapshot first, the audit after: an event recorded in between moves the
        // revision, so that the change below is refused rather than sent twice.
        let snap = super::snapshot(p, id).await?;
        let already = p.store.audit_events(id).await?.iter().any(|e| {
            e.kind == SIGNED_DOCUMENTS_EVENT && e.payload["empreinte"] == version.hash.as_str()
        });
        if already {
            return Ok(0);
        }
        if rendered.is_none() {
            let doc = p.versions.version(&version)?;
            let whole_bytes = pdf(p, id, Some(number), &Scope::Whole).await?;
            let whole = (pdf_file_name(id, number, &Scope::Whole), whole_bytes);
            let mut annexes = std::collections::BTreeMap::new();
            for r in &doc.document.scenario.reservataires {
                let scope = Scope::Annex(r.id.clone());
                let bytes = pdf(p, id, Some(number), &scope).await?;
                annexes.insert(r.id.clone(), (pdf_file_name(id, number, &scope), bytes));
            }
            rendered = Some((whole, annexes));
        }
        let (whole, annexes) = rendered.as_ref().expect("rendered above");
        let files: Vec<serde_json::Value> = std::iter::once(whole)
            .chain(annexes.values())
            .map(|(name, bytes)| {
                serde_json::json!({"fichier": name, "sha256": crate::signing::sha256_hex(bytes)})
            })
            .collect();
        let at = now();
        let outbox = notify::signed_documents(&p.base_url, &snap, &version, whole, annexes, &at)?;
        let sent = outbox.len();
        let change = ConventionChange {
            convention_id: id,
            expected_revision: Some(snap.convention.revision),
            outbox,
            audit: vec![AuditDraft {
                at,
                actor: None,
                kind: SIGNED_DOCUMENTS_EVENT.into(),
                payload: serde_json::json!({
                    "empreinte": version.hash, "documents": files,
                }),
            }],
            ..ConventionChange::default()
        };
        match p.store.apply_change(&change).await {
            Ok(_) => return Ok(sent),
            Err(crate::store::StoreError::Conflict(m)) => last = Some(m),
            Err(e) => return Err(e.into()),
        }
    }
    Err(ServiceError::Conflict(format!(
        "la convention change trop souvent en ce moment, réessayez ({})",
        last.unwrap_or_default()
    )))
}

/// The start-up task: for each version locked within [`RESEND_WINDOW_DAYS`] of `now` whose
/// signed PDFs are not recorded as sent (the process stopped between the lock and their
/// sending), sends them, one convention at a time. Returns how many e-mails were queued.
///
/// # Errors
/// When the store cannot list the versions; a convention that fails is logged and skipped.
#[tracing::instrument(skip_all)]
pub async fn send_pending_signed_documents(
    p: &Platform,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize, ServiceError> {
    let since = crate::signing::timestamp(now - chrono::Duration::days(RESEND_WINDOW_DAYS));
    let mut queued = 0;
    for (id, number) in p
        .store
        .locked_versions_without(SIGNED_DOCUMENTS_EVENT, &since)
        .await?
    {
        match send_signed_documents_of(p, id, number).await {
            Ok(n) => {
                if n > 0 {
                    tracing::info!(
                        convention = id,
                        version = number,
                        courriels = n,
                        "documents signés envoyés au démarrage"
                    );
                }
                queued += n;
            }
            Err(e) => {
                tracing::error!(convention = id, version = number, error = %e, "documents signés non envoyés");
            }
        }
    }
    Ok(queued)
}

/// Starts [`send_pending_signed_documents`] in the background (the server does at start-up).
pub fn spawn_pending_signed_documents(p: Platform) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        match send_pending_signed_documents(&p, chrono::Utc::now()).await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "relance des documents signés impossible");
                0
            }
        }
    })
}
