//! Storage of conventions, accounts, versions, proposals, comments, signing rounds, signatures,
//! the audit chain and the e-mail outbox.
//!
//! Every write goes through `apply_change`: the service reads a `Snapshot`, decides with the pure
//! core what must change, and hands over one `ConventionChange` that the store applies in one
//! transaction, only if the convention's `revision` is still the one the service read. A
//! concurrent change makes it fail with `StoreError::Conflict`, and the service decides again on
//! fresh data: two signatures at once, the same signature twice, or a new version created while a
//! signature is in flight all end exactly once and consistently, on both engines.

use async_trait::async_trait;
use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;

use super::StoreError;
use crate::domain::convention::{CommentStatus, ConventionState, Role, RoundStatus};
use crate::domain::permission::PartyKind;
use crate::signing::{AuditEvent, RowValues, StoredSignature, StoredVersion};

/// An organisation users belong to (the EPCI of the CIL secretariat, a réservataire, the
/// bailleur).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewOrganisation {
    /// `epci`, `reservataire`, `bailleur` or `autre`.
    pub kind: String,
    pub name: String,
    /// SIREN or réservataire id, empty when unknown.
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub organisation: NewOrganisation,
    pub password_hash: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UserRecord {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub organisation_kind: String,
    pub organisation_name: String,
    pub organisation_reference: String,
    #[serde(skip)]
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PartyRecord {
    pub party: String,
    /// `secretariat`, `reservataire` or `bailleur`.
    pub kind: String,
    pub name: String,
    /// For a réservataire, its kind (`etat`, `commune`…).
    pub reservataire_kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct MemberRecord {
    pub user_id: i64,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub party: String,
    pub mandate: String,
}

/// A member's standing in one convention, read in one query on every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberAccess {
    pub role: Role,
    pub party: String,
    /// What the party is; `None` for an observer.
    pub party_kind: Option<PartyKind>,
    pub state: ConventionState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ConventionRow {
    pub id: i64,
    pub epci_siren: String,
    pub bailleur_siren: String,
    pub year: i64,
    pub title: String,
    pub state: ConventionState,
    pub approval_required: bool,
    pub current_version: Option<i64>,
    pub signed_version: Option<i64>,
    pub revision: i64,
    #[serde(serialize_with = "super::time::text::utc")]
    pub created_at: DateTime<Utc>,
    pub created_by: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct VersionRow {
    pub id: i64,
    pub convention_id: i64,
    pub number: i64,
    pub parent_hash: Option<String>,
    pub hash: String,
    /// Canonical JSON text.
    #[serde(skip)]
    pub document: String,
    pub author_id: i64,
    pub reason: String,
    #[serde(serialize_with = "super::time::text::utc")]
    pub created_at: DateTime<Utc>,
    pub locked: bool,
}

impl VersionRow {
    pub fn stored(&self) -> StoredVersion {
        StoredVersion {
            id: self.id,
            convention_id: self.convention_id,
            number: self.number,
            parent_hash: self.parent_hash.clone(),
            hash: self.hash.clone(),
            document: self.document.clone(),
            locked: self.locked,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProposalRow {
    pub party: String,
    /// JSON of the party's private draft.
    pub draft: Option<String>,
    /// JSON of what the party published last.
    pub published: Option<String>,
    #[serde(serialize_with = "super::time::text::utc")]
    pub updated_at: DateTime<Utc>,
    #[serde(serialize_with = "super::time::text::utc_option")]
    pub published_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CommentRow {
    pub id: i64,
    pub version_number: i64,
    pub anchor_kind: String,
    pub anchor_ref: String,
    pub parent_id: Option<i64>,
    pub author_id: i64,
    pub author_name: String,
    pub party: String,
    pub body: String,
    pub objection: bool,
    pub status: CommentStatus,
    pub resolution: Option<String>,
    pub resolved_by: Option<i64>,
    #[serde(serialize_with = "super::time::text::utc")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::time::text::utc_option")]
    pub resolved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RoundRow {
    pub id: i64,
    pub version_hash: String,
    pub required: Vec<String>,
    pub status: RoundStatus,
    pub opened_by: i64,
    #[serde(serialize_with = "super::time::text::utc")]
    pub opened_at: DateTime<Utc>,
    /// With the offset the secretariat gave.
    #[serde(serialize_with = "super::time::text::offset_option")]
    pub deadline: Option<DateTime<FixedOffset>>,
    #[serde(serialize_with = "super::time::text::utc_option")]
    pub closed_at: Option<DateTime<Utc>>,
    pub close_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvitationRow {
    pub id: i64,
    pub convention_id: i64,
    pub email: String,
    pub name: String,
    pub organisation: String,
    pub role: Role,
    pub party: String,
    pub mandate: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// Everything a use case needs to decide about one convention.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub convention: ConventionRow,
    pub parties: Vec<PartyRecord>,
    pub members: Vec<MemberRecord>,
    pub current: Option<VersionRow>,
    pub proposals: Vec<ProposalRow>,
    pub comments: Vec<CommentRow>,
    pub rounds: Vec<RoundRow>,
    pub signatures: Vec<StoredSignature>,
}

impl Snapshot {
    pub fn open_round(&self) -> Option<&RoundRow> {
        self.rounds
            .iter()
            .find(|r| r.status == RoundStatus::Ouverte)
    }
}

/// A convention as listed for one of its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ConventionSummary {
    pub id: i64,
    pub title: String,
    pub year: i64,
    pub state: ConventionState,
    pub epci_siren: String,
    pub bailleur_siren: String,
    pub role: Role,
    pub party: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVersion {
    pub number: i64,
    pub parent_hash: Option<String>,
    pub hash: String,
    pub document: String,
    pub author_id: i64,
    pub reason: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalWrite {
    pub party: String,
    pub draft: Option<String>,
    pub published: Option<String>,
    pub at: String,
    /// Also sets `published_at`.
    pub publish: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewComment {
    pub version_number: i64,
    pub anchor_kind: String,
    pub anchor_ref: String,
    pub parent_id: Option<i64>,
    pub author_id: i64,
    pub party: String,
    pub body: String,
    pub objection: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentResolution {
    pub id: i64,
    pub status: CommentStatus,
    pub resolution: String,
    pub resolved_by: i64,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRound {
    pub version_hash: String,
    pub required: Vec<String>,
    pub opened_by: i64,
    pub opened_at: String,
    pub deadline: Option<String>,
}

/// A new deadline for an open signing round (RFC 3339).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundDeadline {
    pub id: i64,
    pub deadline: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundClosing {
    pub id: i64,
    pub status: RoundStatus,
    pub reason: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSignature {
    pub round_id: i64,
    pub version_hash: String,
    pub party: String,
    pub signer_id: i64,
    /// Canonical JSON of the sealed `SignatureRecord`.
    pub record: String,
    pub seal: String,
}

/// Who becomes a member: an existing account or one created in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberUser {
    Existing(i64),
    New(NewUser),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMember {
    pub user: MemberUser,
    pub role: Role,
    pub party: String,
    pub mandate: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvitation {
    pub email: String,
    pub name: String,
    pub organisation: String,
    pub role: Role,
    pub party: String,
    pub mandate: String,
    pub token_digest: String,
    pub expires_at: String,
    pub invited_by: i64,
}

/// An event for the audit chain; the store fills in `seq`, `prev_hash` and `hash`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditDraft {
    pub at: String,
    pub actor: Option<String>,
    pub kind: String,
    pub payload: serde_json::Value,
}

/// A file attached to an e-mail, stored in the outbox's `attachments` column (a JSON list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct MailAttachment {
    pub name: String,
    pub content_type: String,
    /// The content in standard base64.
    pub content_base64: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxMessage {
    pub to: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub created_at: String,
    pub attachments: Vec<MailAttachment>,
}

/// One decided change of a convention, applied whole or not at all.
#[derive(Debug, Clone, Default)]
pub struct ConventionChange {
    pub convention_id: i64,
    /// The revision the decision was based on; `None` to apply whatever it is now (for changes
    /// that do not depend on the convention's state, such as adding a member).
    pub expected_revision: Option<i64>,
    pub new_state: Option<ConventionState>,
    pub new_version: Option<NewVersion>,
    /// Lock this version (last signature): the database refuses any later change of it.
    pub lock_version: Option<String>,
    pub proposal: Option<ProposalWrite>,
    pub comment: Option<NewComment>,
    pub resolution: Option<CommentResolution>,
    pub open_round: Option<NewRound>,
    pub close_rounds: Vec<RoundClosing>,
    /// Moves the deadline of a round; fails with `Conflict` if the round is no longer open.
    pub round_deadline: Option<RoundDeadline>,
    pub signature: Option<NewSignature>,
    pub member: Option<NewMember>,
    pub invitation: Option<NewInvitation>,
    /// Marks an invitation used; fails with `Conflict` if it already was.
    pub use_invitation: Option<(i64, String)>,
    pub audit: Vec<AuditDraft>,
    pub outbox: Vec<OutboxMessage>,
}

/// The ids a change created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppliedChange {
    pub revision: i64,
    pub version_id: Option<i64>,
    pub comment_id: Option<i64>,
    pub round_id: Option<i64>,
    pub signature_id: Option<i64>,
    pub user_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConvention {
    pub epci_siren: String,
    pub bailleur_siren: String,
    pub year: i64,
    pub title: String,
    pub approval_required: bool,
    pub created_at: String,
    pub created_by: i64,
    pub parties: Vec<PartyRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxRow {
    pub id: i64,
    /// The convention whose change wrote the message; `None` for an account's own mail
    /// (password reset) and for messages written before the column existed.
    pub convention_id: Option<i64>,
    pub created_at: String,
    pub to: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub attachments: Vec<MailAttachment>,
    pub attempts: i64,
    pub sent_at: Option<String>,
    pub last_error: Option<String>,
}

/// A convention on an EPCI's territory and its current version, for the CIL's view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpciConvention {
    pub id: i64,
    pub title: String,
    pub bailleur_siren: String,
    pub year: i64,
    pub state: ConventionState,
    pub version: Option<i64>,
    pub version_hash: Option<String>,
}

/// One version of an EPCI's CIA (issue 20): its canonical JSON text and that text's SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiaVersionRow {
    pub epci_siren: String,
    pub number: i64,
    pub parent_hash: Option<String>,
    pub hash: String,
    pub document: String,
    pub author_id: i64,
    pub reason: String,
    pub created_at: String,
}

/// Builds the first change of a convention once its id is known.
pub type FirstChange = Box<dyn FnOnce(i64) -> Result<ConventionChange, String> + Send>;

#[async_trait]
pub trait ConventionStore: Send + Sync {
    /// Creates an account (and its organisation if new); `Constraint` if the e-mail is taken.
    async fn create_user(&self, user: &NewUser) -> Result<i64, StoreError>;
    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError>;
    async fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>, StoreError>;

    /// Creates a convention in `brouillon` with its parties and its creator as secretariat, then
    /// applies the change `first` builds from the new id (its first version, which names the
    /// convention, and the first audit event), all in one transaction.
    async fn create_convention(
        &self,
        convention: &NewConvention,
        first: FirstChange,
    ) -> Result<(i64, AppliedChange), StoreError>;

    async fn conventions_of_user(&self, user_id: i64)
    -> Result<Vec<ConventionSummary>, StoreError>;
    /// The conventions opened on an EPCI's territory, as (id, bailleur SIREN, year, state), by
    /// id: the CIL opens one convention per bailleur and year.
    async fn conventions_of_epci(
        &self,
        epci_siren: &str,
    ) -> Result<Vec<(i64, String, i64, ConventionState)>, StoreError>;
    async fn convention_ids(&self) -> Result<Vec<i64>, StoreError>;
    /// The ids of the conventions, and of any convention that still has audit events,
    /// versions or signatures though its own row is gone.
    async fn audited_convention_ids(&self) -> Result<Vec<i64>, StoreError>;

    /// The caller's standing in a convention (role, party and its kind, the state), `None`
    /// for a non-member.
    async fn member_access(
        &self,
        convention_id: i64,
        user_id: i64,
    ) -> Result<Option<MemberAccess>, StoreError>;

    async fn snapshot(&self, convention_id: i64) -> Result<Option<Snapshot>, StoreError>;
    /// [`ConventionStore::snapshot`] for reading only: the current version **without its
    /// document** (`current.document` left empty; its hash names it). Pages read the document
    /// from the cache of parsed versions, or once with [`ConventionStore::version_numbered`].
    async fn snapshot_for_reading(
        &self,
        convention_id: i64,
    ) -> Result<Option<Snapshot>, StoreError>;

    /// The current version only (the hot read path).
    async fn current_version(&self, convention_id: i64) -> Result<Option<VersionRow>, StoreError>;
    async fn versions(&self, convention_id: i64) -> Result<Vec<VersionRow>, StoreError>;
    /// Every version in order, **without its document** (`document` left empty): what a list
    /// shows. A convention of the largest size holds 150 versions of 450 KB each; read one
    /// document with [`ConventionStore::version_numbered`].
    async fn version_list(&self, convention_id: i64) -> Result<Vec<VersionRow>, StoreError>;
    /// Version n° `number` of the convention, document included.
    async fn version_numbered(
        &self,
        convention_id: i64,
        number: i64,
    ) -> Result<Option<VersionRow>, StoreError>;
    async fn signatures(&self, convention_id: i64) -> Result<Vec<StoredSignature>, StoreError>;
    async fn audit_events(&self, convention_id: i64) -> Result<Vec<AuditEvent>, StoreError>;
    /// Every row of the convention whose state the audit chain records, as it is now, read in
    /// one transaction.
    async fn recorded_rows(&self, convention_id: i64) -> Result<Vec<RowValues>, StoreError>;
    /// Records in the chain of each convention that has none yet (a database written before
    /// row states were recorded) the state of all its rows as they stand, in one event per
    /// convention. Run by every migration; returns how many conventions it recorded.
    async fn record_initial_row_states(&self) -> Result<usize, StoreError>;
    async fn invitation_by_digest(&self, digest: &str)
    -> Result<Option<InvitationRow>, StoreError>;

    /// Applies `change` in one transaction; `Conflict` when the convention's revision moved.
    async fn apply_change(&self, change: &ConventionChange) -> Result<AppliedChange, StoreError>;

    async fn outbox(&self) -> Result<Vec<OutboxRow>, StoreError>;

    /// The newest `limit` messages addressed to `email` (whatever the case) or written by a
    /// change of one of `conventions`, newest first.
    async fn outbox_for_reader(
        &self,
        email: &str,
        conventions: &[i64],
        limit: i64,
    ) -> Result<Vec<OutboxRow>, StoreError>;

    /// Every invitation of a convention, used or not, oldest first.
    async fn invitations(&self, convention_id: i64) -> Result<Vec<InvitationRow>, StoreError>;

    /// Open signing rounds that have a deadline: (convention id, round id, deadline).
    async fn open_rounds_with_deadline(&self) -> Result<Vec<(i64, i64, String)>, StoreError>;

    /// Locked versions, locked at `since` or later (RFC 3339 UTC, as the audit writes it),
    /// whose convention's audit chain has no event `kind` naming their hash: (convention id,
    /// version number), oldest lock first.
    async fn locked_versions_without(
        &self,
        kind: &str,
        since: &str,
    ) -> Result<Vec<(i64, i64)>, StoreError>;

    /// Records a session token (`jti`) valid until `expires_at` (Unix seconds), and forgets the
    /// sessions that expired by `created_at`, so that the table holds live sessions only.
    async fn create_session(
        &self,
        jti: &str,
        user_id: i64,
        created_at: i64,
        expires_at: i64,
    ) -> Result<(), StoreError>;

    /// The account behind a live session: `jti` recorded for `user_id`, not revoked, not
    /// expired at `now`. One indexed read, on every authenticated request.
    async fn session_user(
        &self,
        jti: &str,
        user_id: i64,
        now: i64,
    ) -> Result<Option<UserRecord>, StoreError>;

    /// Revokes one session (sign-out); unknown or already revoked is not an error.
    async fn revoke_session(&self, jti: &str) -> Result<(), StoreError>;

    /// Sets a new password hash and revokes every session of the account, in one transaction.
    async fn change_password(&self, user_id: i64, password_hash: &str) -> Result<(), StoreError>;

    /// Records a password-reset link for `user_id` and its e-mail, in one transaction, unless
    /// the account already received `max_recent` links created after `recent_since`: then
    /// nothing is written and `false` is returned. The account's earlier unused links are
    /// voided: only the newest one works.
    async fn create_password_reset(
        &self,
        user_id: i64,
        token_digest: &str,
        expires_at: &str,
        mail: &OutboxMessage,
        recent_since: &str,
        max_recent: i64,
    ) -> Result<bool, StoreError>;

    /// The account of a valid (unused, unexpired at `now`) reset link, without spending it.
    async fn password_reset_user(
        &self,
        token_digest: &str,
        now: &str,
    ) -> Result<Option<UserRecord>, StoreError>;

    /// Spends a valid (unused, unexpired at `now`) reset link and sets the new password hash;
    /// every other link of the account is voided and every session revoked; `false` if the
    /// link is unknown, used or expired. One transaction.
    async fn reset_password(
        &self,
        token_digest: &str,
        now: &str,
        password_hash: &str,
    ) -> Result<bool, StoreError>;

    /// Messages not yet sent whose next attempt is due at `now`, oldest first.
    async fn outbox_due(&self, now: &str, limit: i64) -> Result<Vec<OutboxRow>, StoreError>;
    async fn outbox_sent(&self, id: i64, at: &str) -> Result<(), StoreError>;

    /// The conventions on an EPCI's territory with their current version, latest year first.
    async fn epci_conventions(&self, epci_siren: &str) -> Result<Vec<EpciConvention>, StoreError>;
    /// The versions of an EPCI's CIA, oldest first (none before the secretariat records it).
    async fn cia_versions(&self, epci_siren: &str) -> Result<Vec<CiaVersionRow>, StoreError>;
    /// Adds the next version of an EPCI's CIA and the messages that tell the conventions'
    /// members, in one transaction; `Conflict` unless its parent is the latest version.
    async fn add_cia_version(
        &self,
        version: &CiaVersionRow,
        outbox: &[OutboxMessage],
    ) -> Result<(), StoreError>;
    /// Records a failed attempt and when to try again.
    async fn outbox_failed(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: &str,
    ) -> Result<(), StoreError>;
}
