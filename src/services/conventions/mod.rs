//! The use cases of a convention (DESIGN §3): creation, drafting, proposals, consolidation,
//! comments and objections, signing, lifecycle transitions, members, verification.
//!
//! Each use case: resolve the caller's `Access` (the one authorization object), read a
//! `Snapshot`, decide with the pure core (lifecycle, solver, signing), and hand one
//! `ConventionChange` to the store, which applies it whole only if nobody changed the convention
//! in between; otherwise the decision is taken again on fresh data (`MAX_ATTEMPTS`).

pub mod comments;
pub mod convention_document;
pub mod coordination;
pub mod demo;
pub mod document;
pub mod drafting;
pub mod exports;
pub mod members;
pub(crate) mod notify;
pub mod parsed;
pub mod prebuild;
pub mod reminders;
pub mod segments;
pub mod signing;
pub mod verification;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use serde::Serialize;

use super::ServiceError;
use crate::domain::convention::{
    Access, Action, ConventionState, LifecycleError, Role, RoundStatus,
};
use crate::domain::permission::{Actor, GuardFacts, Refusal, permission};
use crate::flux::scenario::{RawScenario, Scenario};
use crate::policy::rules::Policy;
use crate::signing::PlatformKey;
use crate::store::conventions::{
    AppliedChange, AuditDraft, ConventionChange, NewVersion, RoundClosing, Snapshot, UserRecord,
    VersionRow,
};
use crate::store::{Repository, StoreError};
use document::{Author, Clause, VERSION_FORMAT, VersionDocument};

/// How many times a decision is retaken when the convention changed under it.
const MAX_ATTEMPTS: usize = 8;

/// What the use cases share.
#[derive(Clone)]
pub struct Platform {
    pub store: Arc<dyn Repository>,
    pub policies_dir: PathBuf,
    pub key: Arc<PlatformKey>,
    pub tokens: Arc<crate::auth::TokenKeys>,
    pub limiter: Arc<crate::auth::LoginLimiter>,
    /// Public address of the platform, for links in e-mails.
    pub base_url: String,
    /// Version documents already read, by hash (shared by the clones of the platform).
    pub versions: Arc<parsed::VersionCache>,
    /// SHA-256 of the PDFs shown for signature, by version and inputs (shared by the clones).
    pub signing_digests: Arc<convention_document::DigestCache>,
    /// Builds each new version's XLSX workbook ahead (the server's; none in the tools).
    pub prebuild: Option<Arc<prebuild::Prebuilder>>,
}

impl Platform {
    /// A version of convention `id` was written.
    fn version_written(&self, id: i64) {
        if let Some(prebuild) = &self.prebuild {
            prebuild.version_written(id);
        }
    }
}

/// An authenticated user.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: UserRecord,
}

impl Caller {
    fn actor(&self) -> Option<String> {
        Some(format!("utilisateur {} ({})", self.user.id, self.user.name))
    }
}

/// Where a request came from, recorded with a signature.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: String,
    pub user_agent: String,
}

pub fn now() -> String {
    crate::signing::timestamp(Utc::now())
}

impl From<Refusal> for ServiceError {
    fn from(e: Refusal) -> Self {
        match e {
            Refusal::Forbidden(m) => ServiceError::Forbidden(m),
            Refusal::Conflict(m) => ServiceError::Conflict(m),
        }
    }
}

impl From<LifecycleError> for ServiceError {
    fn from(e: LifecycleError) -> Self {
        ServiceError::Conflict(e.0)
    }
}

fn not_found(id: i64) -> ServiceError {
    // The same answer whether the convention does not exist or the caller is not a member:
    // a non-member learns nothing about it.
    ServiceError::NotFound(format!(
        "convention n° {id} introuvable (ou vous n'en êtes pas membre)"
    ))
}

/// The caller's role and party in convention `id`, and the convention's state.
pub async fn access(p: &Platform, caller: &Caller, id: i64) -> Result<Access, ServiceError> {
    let member = p
        .store
        .member_access(id, caller.user.id)
        .await?
        .ok_or_else(|| not_found(id))?;
    Ok(Access {
        user_id: caller.user.id,
        convention_id: id,
        role: member.role,
        party: member.party,
        kind: member.party_kind,
        state: member.state,
    })
}

/// What the guards know of `snap` for `access`'s party. `blocking_violations` is left at 0:
/// reading it means reading the current version's report, which only opening the signature
/// needs (see `signing::open_signing`).
pub(crate) fn guard_facts(snap: &Snapshot, access: &Access) -> GuardFacts {
    let round = snap.open_round();
    GuardFacts {
        has_version: snap.current.is_some(),
        open_objections: snap
            .comments
            .iter()
            .filter(|c| c.objection && c.status == crate::domain::convention::CommentStatus::Ouvert)
            .count(),
        approval_required: snap.convention.approval_required,
        round_open: round.is_some(),
        round_requires_party: round.is_some_and(|r| r.required.contains(&access.party)),
        party_signed: round.is_some_and(|r| {
            snap.signatures
                .iter()
                .any(|s| s.round_id == r.id && s.record.party == access.party)
        }),
        ..GuardFacts::default()
    }
}

/// The final guard of a use case: `permission` on the snapshot the change is decided from.
pub(crate) fn permit(
    access: &Access,
    action: Action,
    snap: &Snapshot,
    facts: &GuardFacts,
) -> Result<(), ServiceError> {
    Ok(permission(
        &access.actor(),
        action,
        snap.convention.state,
        facts,
    )?)
}

pub(crate) async fn snapshot(p: &Platform, id: i64) -> Result<Snapshot, ServiceError> {
    p.store.snapshot(id).await?.ok_or_else(|| not_found(id))
}

pub(crate) fn document_of(version: &VersionRow) -> Result<VersionDocument, ServiceError> {
    serde_json::from_str(&version.document).map_err(|_| {
        ServiceError::Store(StoreError::Corrupt(format!(
            "document de la version n° {}",
            version.number
        )))
    })
}

pub(crate) fn current_document(snap: &Snapshot) -> Result<VersionDocument, ServiceError> {
    let version = snap
        .current
        .as_ref()
        .ok_or_else(|| ServiceError::Conflict("la convention n'a encore aucune version".into()))?;
    document_of(version)
}

/// Runs `decide` on a fresh snapshot and applies the change it returns, deciding again on fresh
/// data if another change got in first. `T` is whatever the decision wants to return.
pub(crate) async fn decide_and_apply<F, Fut, T>(
    p: &Platform,
    id: i64,
    mut decide: F,
) -> Result<(T, AppliedChange), ServiceError>
where
    F: FnMut(Snapshot) -> Fut,
    Fut: std::future::Future<Output = Result<(ConventionChange, T), ServiceError>>,
{
    let mut last = None;
    for _ in 0..MAX_ATTEMPTS {
        let snap = snapshot(p, id).await?;
        let revision = snap.convention.revision;
        let state = snap.convention.state;
        let (mut change, value) = decide(snap).await?;
        change.convention_id = id;
        // Every change of state is chained in the audit, so that `verify` can tell the stored
        // state from the one the history leads to.
        if let Some(next) = change.new_state.filter(|n| *n != state) {
            change.audit.push(AuditDraft {
                at: now(),
                actor: None,
                kind: "etat_modifie".into(),
                payload: serde_json::json!({"de": state, "vers": next}),
            });
        }
        if change.expected_revision.is_none() {
            change.expected_revision = Some(revision);
        }
        match p.store.apply_change(&change).await {
            Ok(applied) => {
                if change.new_version.is_some() {
                    p.version_written(id);
                }
                return Ok((value, applied));
            }
            Err(StoreError::Conflict(m)) => last = Some(m),
            Err(e) => return Err(e.into()),
        }
    }
    Err(ServiceError::Conflict(format!(
        "la convention change trop souvent en ce moment, réessayez ({})",
        last.unwrap_or_default()
    )))
}

/// Solves `scenario` off the async executor.
pub(crate) async fn solve(
    p: &Platform,
    scenario: RawScenario,
) -> Result<(serde_json::Value, String), ServiceError> {
    let dir = p.policies_dir.clone();
    tokio::task::spawn_blocking(move || {
        let checked = Scenario::from_raw(scenario).map_err(|e| {
            ServiceError::Invalid(format!("scénario de la convention : {}", e.in_words()))
        })?;
        let policy = Policy::load(&dir, &checked.policy).map_err(|e| {
            ServiceError::Invalid(format!("politique « {} » : {e}", checked.policy))
        })?;
        let report = crate::flux::solver::solve(&checked, &policy);
        let digest = report.policy_digest.clone();
        let value = serde_json::to_value(&report).map_err(ServiceError::internal)?;
        Ok((value, digest))
    })
    .await
    .map_err(|e| ServiceError::internal(format!("calcul interrompu : {e}")))?
}

/// What a new version needs besides the snapshot it follows.
pub(crate) struct VersionDraft {
    pub reason: String,
    pub scenario: RawScenario,
    pub clauses: Vec<Clause>,
    pub based_on: &'static str,
}

/// Builds the next version of `snap` (solver report included) and the change that records it;
/// a new version during signing voids the open round and returns the convention to arbitrage.
pub(crate) async fn new_version_change(
    p: &Platform,
    snap: &Snapshot,
    caller: &Caller,
    party: &str,
    draft: VersionDraft,
    parent: Option<&VersionRow>,
) -> Result<(ConventionChange, VersionDocument), ServiceError> {
    let state = snap.convention.state;
    let parent = parent.or(snap.current.as_ref());
    let base = current_document(snap)?;
    // Every version's reason and percentages go through here: one limit, one written form.
    crate::domain::text::check_text(
        &draft.reason,
        "motif",
        crate::domain::text::limits::REASON,
        true,
    )
    .map_err(ServiceError::Invalid)?;
    let mut draft = draft;
    draft.scenario.canonicalize_percentages();
    let (report, policy_digest) = solve(p, draft.scenario.clone()).await?;
    let at = now();
    let number = snap.current.as_ref().map_or(1, |v| v.number + 1);
    let document = VersionDocument {
        format: VERSION_FORMAT.into(),
        convention: snap.convention.id,
        number,
        parent: parent.map(|v| v.hash.clone()),
        author: Author {
            id: caller.user.id,
            name: caller.user.name.clone(),
            party: party.to_owned(),
        },
        reason: draft.reason.clone(),
        created_at: at.clone(),
        title: snap.convention.title.clone(),
        bailleur: base.bailleur.clone(),
        scenario: draft.scenario,
        clauses: draft.clauses,
        based_on: draft.based_on.into(),
        report,
        policy_digest,
        text: None,
        starting_rates: base.starting_rates.clone(),
    };
    let mut document = document;
    document.text = Some(
        convention_document::sealed_text(
            p,
            &document,
            snap.convention.approval_required,
            &snap.parties,
        )
        .await?,
    );
    let (text, hash) = document.seal_text().map_err(ServiceError::Invalid)?;
    let mut change = ConventionChange {
        new_version: Some(NewVersion {
            number,
            parent_hash: document.parent.clone(),
            hash: hash.clone(),
            document: text,
            author_id: caller.user.id,
            reason: draft.reason.clone(),
            created_at: at.clone(),
        }),
        ..ConventionChange::default()
    };
    change.audit.push(AuditDraft {
        at: at.clone(),
        actor: caller.actor(),
        kind: "version_creee".into(),
        payload: serde_json::json!({
            "numero": number, "empreinte": hash, "motif": draft.reason,
            "manquements_bloquants": document.blocking_violations(),
        }),
    });
    // Every member who speaks for a party, but the author, is asked to review it.
    change.outbox = notify::new_version(
        &p.base_url,
        snap,
        caller.user.id,
        &caller.user.name,
        number,
        &draft.reason,
        document.blocking_violations(),
        &at,
    )?;
    if state == ConventionState::Signature
        && let Some(round) = snap.open_round()
    {
        change.close_rounds.push(RoundClosing {
            id: round.id,
            status: RoundStatus::Annulee,
            reason: format!(
                "nouvelle version n° {number} : les signatures recueillies sont caduques"
            ),
            at: at.clone(),
        });
        change.new_state = Some(ConventionState::Arbitrage);
        change.audit.push(AuditDraft {
            at,
            actor: caller.actor(),
            kind: "tour_de_signature_annule".into(),
            payload: serde_json::json!({"tour": round.id, "motif": "nouvelle version"}),
        });
    }
    Ok((change, document))
}

/// The caller's `Access`, with `action` not refused whatever the facts (`permission` asked
/// with the most favourable ones): the early guard, before the input is checked. The use case
/// asks again with `permit` on the snapshot it decides from.
pub(crate) async fn allowed(
    p: &Platform,
    caller: &Caller,
    id: i64,
    action: Action,
) -> Result<Access, ServiceError> {
    let access = access(p, caller, id).await?;
    access.permits(action, &GuardFacts::most_favourable())?;
    Ok(access)
}

/// A convention as its member sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConventionView {
    pub convention: crate::store::conventions::ConventionRow,
    pub state_label: &'static str,
    pub your_role: Role,
    pub your_party: String,
    pub parties: Vec<crate::store::conventions::PartyRecord>,
    pub members: Vec<crate::store::conventions::MemberRecord>,
    pub current_version: Option<VersionRow>,
    /// Published proposals of every party, and the caller's own private draft.
    pub proposals: Vec<ProposalView>,
    pub comments: Vec<crate::store::conventions::CommentRow>,
    pub rounds: Vec<crate::store::conventions::RoundRow>,
    pub signatures: Vec<SignatureView>,
    /// The caller, as `permission` sees it.
    #[serde(skip)]
    pub actor: Actor,
    /// What the guards know of this snapshot, but the blocking breaches of the current
    /// version's report (read it to know them): see `ConventionView::permission`.
    #[serde(skip)]
    pub facts: GuardFacts,
}

impl ConventionView {
    /// May the caller do `action` now? `blocking_violations` is the current version's count
    /// (`VersionDocument::blocking_violations`), which only opening the signature depends on.
    /// The same answer as the use case's guard on the same data.
    ///
    /// ```ignore
    /// let view = conventions::view(&platform, &caller, id).await?;
    /// let sign = view.permission(Action::Sign, doc.blocking_violations());
    /// // Ok(()) → show the form; Err(refusal) → refusal.message() says why, in French.
    /// let buttons = view.allowed_actions(doc.blocking_violations());
    /// ```
    pub fn permission(&self, action: Action, blocking_violations: usize) -> Result<(), Refusal> {
        permission(
            &self.actor,
            action,
            self.convention.state,
            &self.facts_with(blocking_violations),
        )
    }

    /// Every action the caller may take now, in the order of `permission::ACTIONS`.
    pub fn allowed_actions(&self, blocking_violations: usize) -> Vec<Action> {
        crate::domain::permission::allowed_actions(
            &self.actor,
            self.convention.state,
            &self.facts_with(blocking_violations),
        )
    }

    fn facts_with(&self, blocking_violations: usize) -> GuardFacts {
        GuardFacts {
            blocking_violations,
            ..self.facts.clone()
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProposalView {
    pub party: String,
    pub published: Option<serde_json::Value>,
    #[serde(serialize_with = "crate::store::time::text::utc_option")]
    pub published_at: Option<chrono::DateTime<Utc>>,
    /// Only for the caller's own party.
    pub draft: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignatureView {
    pub id: i64,
    pub round_id: i64,
    pub party: String,
    pub signer_name: String,
    pub mandate: String,
    pub signed_at: String,
    pub version_hash: String,
    /// The round was voided by a new version or cancelled: this signature no longer counts.
    pub void: bool,
}

#[tracing::instrument(skip_all, fields(convention = id, user = caller.user.id))]
pub async fn view(p: &Platform, caller: &Caller, id: i64) -> Result<ConventionView, ServiceError> {
    let access = allowed(p, caller, id, Action::Read).await?;
    // Read only: the current version's document is left out (it is read by hash, see
    // `current_parsed`).
    let snap = p
        .store
        .snapshot_for_reading(id)
        .await?
        .ok_or_else(|| not_found(id))?;
    let state = snap.convention.state;
    let facts = guard_facts(&snap, &access);
    let parse = |t: &Option<String>| t.as_deref().and_then(|t| serde_json::from_str(t).ok());
    let proposals = snap
        .proposals
        .iter()
        .map(|pr| ProposalView {
            party: pr.party.clone(),
            published: parse(&pr.published),
            published_at: pr.published_at,
            draft: (pr.party == access.party)
                .then(|| parse(&pr.draft))
                .flatten(),
        })
        .collect();
    let signatures = snap
        .signatures
        .iter()
        .map(|s| {
            let round = snap.rounds.iter().find(|r| r.id == s.round_id);
            SignatureView {
                id: s.id,
                round_id: s.round_id,
                party: s.record.party.clone(),
                signer_name: s.record.signer_name.clone(),
                mandate: s.record.mandate.clone(),
                signed_at: s.record.signed_at.clone(),
                version_hash: s.record.version_hash.clone(),
                void: round.is_none_or(|r| r.status == RoundStatus::Annulee),
            }
        })
        .collect();
    Ok(ConventionView {
        actor: access.actor(),
        facts,
        state_label: state.label(),
        your_role: access.role,
        your_party: access.party,
        parties: snap.parties,
        members: snap.members,
        current_version: snap.current,
        proposals,
        comments: snap.comments,
        rounds: snap.rounds,
        signatures,
        convention: snap.convention,
    })
}

/// The current version of `view` read into its types: from the cache of parsed versions by
/// its hash, or read once from the store. `None` before the first version.
pub async fn current_parsed(
    p: &Platform,
    view: &ConventionView,
) -> Result<Option<Arc<parsed::ParsedVersion>>, ServiceError> {
    let Some(current) = &view.current_version else {
        return Ok(None);
    };
    if let Some(found) = p.versions.get(&current.hash) {
        return Ok(Some(found));
    }
    let id = view.convention.id;
    let row = p
        .store
        .version_numbered(id, current.number)
        .await?
        .filter(|row| row.hash == current.hash)
        .ok_or_else(|| {
            ServiceError::Conflict(format!(
                "la version n° {} de la convention n° {id} vient de changer : rechargez la page",
                current.number
            ))
        })?;
    Ok(Some(p.versions.version(&row)?))
}

/// The current version's document (the hot read path: one membership check, one query).
#[tracing::instrument(skip_all, fields(convention = id, user = caller.user.id))]
pub async fn current_version(
    p: &Platform,
    caller: &Caller,
    id: i64,
) -> Result<VersionRow, ServiceError> {
    allowed(p, caller, id, Action::Read).await?;
    p.store
        .current_version(id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("la convention n'a encore aucune version".into()))
}

#[tracing::instrument(skip_all, fields(convention = id, user = caller.user.id))]
pub async fn versions(
    p: &Platform,
    caller: &Caller,
    id: i64,
) -> Result<Vec<VersionRow>, ServiceError> {
    allowed(p, caller, id, Action::Read).await?;
    Ok(p.store.version_list(id).await?)
}

#[tracing::instrument(skip_all, fields(convention = id, number))]
pub async fn version(
    p: &Platform,
    caller: &Caller,
    id: i64,
    number: i64,
) -> Result<VersionRow, ServiceError> {
    allowed(p, caller, id, Action::Read).await?;
    numbered(p, id, number).await
}

async fn numbered(p: &Platform, id: i64, number: i64) -> Result<VersionRow, ServiceError> {
    p.store
        .version_numbered(id, number)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("version n° {number} introuvable")))
}

/// What changed for `party` between versions `from` and `to`, in French.
#[tracing::instrument(skip_all, fields(convention = id, from, to, ?party))]
pub async fn diff(
    p: &Platform,
    caller: &Caller,
    id: i64,
    from: i64,
    to: i64,
    party: Option<String>,
) -> Result<Vec<String>, ServiceError> {
    let access = allowed(p, caller, id, Action::Read).await?;
    let (old, new) = (
        document_of(&numbered(p, id, from).await?)?,
        document_of(&numbered(p, id, to).await?)?,
    );
    let party = party.unwrap_or(access.party);
    Ok(document::party_diff(&old, &new, &party))
}

/// The names of the communes of the convention's EPCI, by INSEE code, for pages that name
/// segments and communes (`view` proves the caller may read the convention).
pub async fn commune_names(
    p: &Platform,
    view: &ConventionView,
) -> Result<std::collections::HashMap<String, String>, ServiceError> {
    let Ok(epci) = view.convention.epci_siren.parse::<crate::domain::Siren>() else {
        return Ok(std::collections::HashMap::new());
    };
    Ok(p.store
        .communes_of_epci(&epci)
        .await?
        .into_iter()
        .map(|c| (c.insee.as_str().to_owned(), c.name))
        .collect())
}

#[tracing::instrument(skip_all, fields(convention = id, user = caller.user.id))]
pub async fn audit(
    p: &Platform,
    caller: &Caller,
    id: i64,
) -> Result<Vec<crate::signing::AuditEvent>, ServiceError> {
    allowed(p, caller, id, Action::Read).await?;
    Ok(p.store.audit_events(id).await?)
}

#[tracing::instrument(skip_all, fields(user = caller.user.id))]
pub async fn my_conventions(
    p: &Platform,
    caller: &Caller,
) -> Result<Vec<crate::store::conventions::ConventionSummary>, ServiceError> {
    Ok(p.store.conventions_of_user(caller.user.id).await?)
}
