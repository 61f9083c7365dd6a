//! How the secretariat runs a convention (issue 16 item 4): the open signing round's deadline,
//! reminding one party now (by e-mail through the outbox, recorded in the audit chain in the
//! same transaction), who is in (members and pending invitations), and the e-mails a user may
//! read on the demo's « Courriels envoyés » page.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::Serialize;

use super::{
    Caller, ConventionView, Platform, ServiceError, access, decide_and_apply, notify, now,
};
use crate::domain::convention::{Access, Action, ConventionState, Role};
use crate::domain::permission::{Actor, GuardFacts, permission};
use crate::render::french_time::{french_instant, french_timestamp, from_paris_local};
use crate::store::conventions::{
    AuditDraft, ConventionChange, InvitationRow, MemberRecord, OutboxRow, RoundDeadline, Snapshot,
};

/// The audit event of a reminder sent by the secretariat.
pub const REMIND_EVENT: &str = "relance";
/// The audit event of a deadline set or moved.
pub const DEADLINE_EVENT: &str = "echeance_signature";
/// A party is reminded at most once in this many minutes: a second click (or a second
/// secretary) does not flood its inbox.
pub const REMIND_INTERVAL_MINUTES: i64 = 60;
/// A deadline further away than this is taken for a typing mistake (« 2207 »).
pub const MAX_DEADLINE_DAYS: i64 = 366;
/// How many e-mails the « Courriels envoyés » page lists, newest first.
pub const OUTBOX_PAGE_LIMIT: i64 = 200;

/// The caller's access, checked for `action`, with the refusal in the words of what was tried.
/// Who only: the use cases ask [`when`] on the snapshot they decide from.
async fn allowed_for(
    p: &Platform,
    caller: &Caller,
    id: i64,
    action: Action,
    what: &str,
) -> Result<Access, ServiceError> {
    let access = access(p, caller, id).await?;
    // Who, not when: the use case checks the state itself, in the words of what was tried.
    match access.permits(
        action,
        &crate::domain::permission::GuardFacts::most_favourable(),
    ) {
        Err(crate::domain::permission::Refusal::Forbidden(_)) => {
            Err(ServiceError::Forbidden(format!(
                "action refusée : votre rôle dans cette convention ({}) ne permet pas {what}",
                access.role.label()
            )))
        }
        _ => Ok(access),
    }
}

/// May `actor` do `action` in the state and round of `snap`? (`Remind`, `SetDeadline`: the
/// domain's rule, asked on the data the use case writes from.)
fn when(snap: &Snapshot, actor: &Actor, action: Action) -> Result<(), ServiceError> {
    let facts = GuardFacts {
        round_open: snap.open_round().is_some(),
        ..GuardFacts::most_favourable()
    };
    permission(actor, action, snap.convention.state, &facts).map_err(ServiceError::from)
}

fn party_name(snap: &Snapshot, party: &str) -> String {
    snap.parties
        .iter()
        .find(|x| x.party == party)
        .map_or_else(|| party.to_owned(), |x| x.name.clone())
}

/// Reads a deadline typed in a form or sent by the API: RFC 3339 (`2027-01-31T18:00:00Z`), a
/// wall-clock time in Europe/Paris (`2027-01-31T18:00`, a form's `datetime-local`), or a day
/// (`2027-01-31` or `31/01/2027`), which runs to 23:59 in Paris. It must lie ahead of `now`,
/// and within `MAX_DEADLINE_DAYS`.
pub fn parse_deadline(text: &str, now: DateTime<Utc>) -> Result<DateTime<FixedOffset>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("échéance : obligatoire (par exemple 31/01/2027)".into());
    }
    let end_of_day = NaiveTime::from_hms_opt(23, 59, 0).expect("23:59 exists");
    let local = |at: NaiveDateTime| from_paris_local(at);
    let parsed = DateTime::parse_from_rfc3339(text)
        .ok()
        .or_else(|| {
            ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
                .map(local)
        })
        .or_else(|| {
            ["%Y-%m-%d", "%d/%m/%Y"]
                .iter()
                .find_map(|f| NaiveDate::parse_from_str(text, f).ok())
                .map(|d| local(d.and_time(end_of_day)))
        })
        .ok_or_else(|| {
            format!(
                "échéance : « {text} » n'est pas une date (attendu par exemple 31/01/2027, 2027-01-31 ou 2027-01-31T18:00)"
            )
        })?;
    let at = parsed.with_timezone(&Utc);
    if at <= now {
        return Err(format!(
            "échéance : le {} est déjà passé ; choisissez une date à venir",
            french_instant(at)
        ));
    }
    if at > now + Duration::days(MAX_DEADLINE_DAYS) {
        return Err(format!(
            "échéance : le {} est à plus d'un an ; vérifiez l'année",
            french_instant(at)
        ));
    }
    Ok(parsed)
}

/// The deadline of a round after it was set or moved.
#[derive(Debug, Clone, Serialize)]
pub struct DeadlineSet {
    pub round_id: i64,
    /// RFC 3339, as stored.
    pub deadline: String,
    /// « 31 janvier 2027 à 23 h 59 », in Europe/Paris.
    pub deadline_label: String,
    pub previous: Option<String>,
}

/// The secretariat sets or moves the deadline of the open signing round (see `parse_deadline`
/// for what `deadline` may be). Audited (`echeance_signature`) in the same transaction. The
/// automatic reminder before the deadline (`reminders`) still goes once per round.
#[tracing::instrument(skip_all, fields(convention = id))]
pub async fn set_signing_deadline(
    p: &Platform,
    caller: &Caller,
    id: i64,
    deadline: &str,
) -> Result<DeadlineSet, ServiceError> {
    let actor = allowed_for(
        p,
        caller,
        id,
        Action::SetDeadline,
        "de fixer l'échéance de la signature",
    )
    .await?
    .actor();
    let actor = &actor;
    let at = parse_deadline(deadline, Utc::now()).map_err(ServiceError::Invalid)?;
    let stored = at.to_rfc3339();
    let (set, _) = decide_and_apply(p, id, |snap: Snapshot| {
        let stored = stored.clone();
        async move {
            when(&snap, actor, Action::SetDeadline)?;
            let state = snap.convention.state;
            let round = snap.open_round().ok_or_else(|| {
                ServiceError::Conflict(format!(
                    "aucun tour de signature n'est ouvert (la convention est {}) : l'échéance se fixe pendant la signature",
                    state.label()
                ))
            })?;
            let change = ConventionChange {
                round_deadline: Some(RoundDeadline {
                    id: round.id,
                    deadline: stored.clone(),
                }),
                audit: vec![AuditDraft {
                    at: now(),
                    actor: caller.actor(),
                    kind: DEADLINE_EVENT.into(),
                    payload: serde_json::json!({
                        "tour": round.id, "echeance": stored, "precedente": round.deadline,
                    }),
                }],
                ..ConventionChange::default()
            };
            let set = DeadlineSet {
                round_id: round.id,
                deadline_label: french_timestamp(&stored),
                deadline: stored,
                previous: round.deadline.map(|d| d.to_rfc3339()),
            };
            Ok((change, set))
        }
    })
    .await?;
    Ok(set)
}

/// What a reminder asks of the party.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderKind {
    /// In concertation: publish its proposal.
    Proposal,
    /// In signature: sign the round's version.
    Signature,
}

impl ReminderKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Proposal => "proposition",
            Self::Signature => "signature",
        }
    }
}

/// A reminder sent.
#[derive(Debug, Clone, Serialize)]
pub struct Reminded {
    pub party: String,
    pub party_name: String,
    pub kind: ReminderKind,
    /// The addresses written to the outbox.
    pub recipients: Vec<String>,
}

impl Reminded {
    /// The confirmation shown to the secretariat.
    pub fn message(&self) -> String {
        let what = match self.kind {
            ReminderKind::Proposal => "sa proposition",
            ReminderKind::Signature => "sa signature",
        };
        format!(
            "« {} » a été relancée pour {what} : {} ({})",
            self.party_name,
            if self.recipients.len() > 1 {
                format!("{} courriels envoyés", self.recipients.len())
            } else {
                format!("{} courriel envoyé", self.recipients.len())
            },
            self.recipients.join(", ")
        )
    }
}

/// When the secretariat last reminded each party (newest reminder per party), from the audit
/// chain: `(party, RFC 3339 time)`.
#[tracing::instrument(skip_all, fields(convention = id))]
pub async fn last_reminders(
    p: &Platform,
    caller: &Caller,
    id: i64,
) -> Result<Vec<(String, String)>, ServiceError> {
    allowed_for(p, caller, id, Action::Read, "de consulter la convention").await?;
    let mut last: Vec<(String, String)> = Vec::new();
    for event in p.store.audit_events(id).await? {
        if event.kind != REMIND_EVENT {
            continue;
        }
        let Some(party) = event.payload["partie"].as_str() else {
            continue;
        };
        match last.iter_mut().find(|(p, _)| p == party) {
            Some(entry) => entry.1 = event.at.clone(),
            None => last.push((party.to_owned(), event.at.clone())),
        }
    }
    Ok(last)
}

/// Refuses a reminder of `party` sent less than `REMIND_INTERVAL_MINUTES` before `now`.
fn check_interval(
    events: &[crate::signing::AuditEvent],
    party: &str,
    name: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let last = events
        .iter()
        .filter(|e| e.kind == REMIND_EVENT && e.payload["partie"].as_str() == Some(party))
        .filter_map(|e| DateTime::parse_from_rfc3339(&e.at).ok())
        .map(|at| at.with_timezone(&Utc))
        .max();
    match last {
        Some(at) if now < at + Duration::minutes(REMIND_INTERVAL_MINUTES) => {
            Err(ServiceError::Conflict(format!(
                "« {name} » a déjà été relancée le {} : une relance par heure au plus, la prochaine est possible à partir du {}",
                french_instant(at),
                french_instant(at + Duration::minutes(REMIND_INTERVAL_MINUTES))
            )))
        }
        _ => Ok(()),
    }
}

/// The secretariat reminds `party` now: in concertation, to publish its proposal (if it has
/// not); in signature, to sign (if its signature is required and missing). The e-mails go to
/// the party's members who can act (contributors and signatories for a proposal, signatories
/// for a signature) through the outbox, with the audit event `relance`, in one transaction.
/// At most one reminder per party and hour.
#[tracing::instrument(skip_all, fields(convention = id, party = %party))]
pub async fn remind_party(
    p: &Platform,
    caller: &Caller,
    id: i64,
    party: &str,
) -> Result<Reminded, ServiceError> {
    let actor = allowed_for(p, caller, id, Action::Remind, "de relancer une partie")
        .await?
        .actor();
    let actor = &actor;
    let (reminded, _) = decide_and_apply(p, id, |snap: Snapshot| async move {
        when(&snap, actor, Action::Remind)?;
        let state = snap.convention.state;
        let known = snap
            .parties
            .iter()
            .any(|x| x.party == party && x.kind != "secretariat");
        if !known {
            return Err(ServiceError::Invalid(format!(
                "partie à relancer : « {party} » n'est pas une partie de la convention (réservataire ou bailleur)"
            )));
        }
        let name = party_name(&snap, party);
        let at = now();
        let (kind, outbox, round) = match state {
            ConventionState::Concertation => {
                if let Some(published) = snap
                    .proposals
                    .iter()
                    .find(|x| x.party == party)
                    .and_then(|x| x.published_at)
                {
                    return Err(ServiceError::Conflict(format!(
                        "rien à relancer : « {name} » a publié sa proposition le {}",
                        french_instant(published)
                    )));
                }
                let outbox = notify::proposal_reminder(&p.base_url, &snap, party, &at)?;
                (ReminderKind::Proposal, outbox, None)
            }
            ConventionState::Signature => {
                let round = snap.open_round().ok_or_else(|| {
                    ServiceError::Conflict("rien à relancer : aucun tour de signature n'est ouvert".into())
                })?;
                if !round.required.iter().any(|r| r == party) {
                    return Err(ServiceError::Conflict(format!(
                        "rien à relancer : la signature de « {name} » n'est pas requise dans ce tour"
                    )));
                }
                if let Some(signed) = snap
                    .signatures
                    .iter()
                    .find(|s| s.round_id == round.id && s.record.party == party)
                {
                    return Err(ServiceError::Conflict(format!(
                        "rien à relancer : « {name} » a signé le {}",
                        french_timestamp(&signed.record.signed_at)
                    )));
                }
                let outbox =
                    notify::signing_reminder_to_party(&p.base_url, &snap, round, party, &at)?;
                (ReminderKind::Signature, outbox, Some(round.id))
            }
            other => {
                return Err(ServiceError::Conflict(format!(
                    "rien à relancer : la convention est {} (on relance une partie pour sa proposition pendant la concertation, pour sa signature pendant la signature)",
                    other.label()
                )));
            }
        };
        if outbox.is_empty() {
            let who = match kind {
                ReminderKind::Proposal => "aucun contributeur ni signataire",
                ReminderKind::Signature => "aucun signataire",
            };
            return Err(ServiceError::Conflict(format!(
                "personne à relancer : « {name} » n'a {who} parmi les membres ; invitez-en un"
            )));
        }
        let events = p.store.audit_events(id).await?;
        check_interval(&events, party, &name, Utc::now())?;
        let recipients: Vec<String> = outbox.iter().map(|m| m.to.clone()).collect();
        let change = ConventionChange {
            outbox,
            audit: vec![AuditDraft {
                at,
                actor: caller.actor(),
                kind: REMIND_EVENT.into(),
                payload: serde_json::json!({
                    "partie": party, "objet": kind.as_str(), "tour": round,
                    "destinataires": recipients,
                }),
            }],
            ..ConventionChange::default()
        };
        Ok((
            change,
            Reminded {
                party: party.to_owned(),
                party_name: name,
                kind,
                recipients,
            },
        ))
    })
    .await?;
    Ok(reminded)
}

/// A member as the secretariat sees it.
#[derive(Debug, Clone, Serialize)]
pub struct MemberLine {
    pub user_id: i64,
    pub name: String,
    pub email: String,
    pub role: Role,
    /// « signataire », « secrétariat de la CIL »…
    pub role_label: &'static str,
    pub party: String,
    /// The party's name; empty for an observer, who speaks for none.
    pub party_name: String,
    pub mandate: String,
}

/// An invitation not used yet and not expired.
#[derive(Debug, Clone, Serialize)]
pub struct InvitationLine {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub organisation: String,
    pub role: Role,
    pub role_label: &'static str,
    pub party: String,
    pub party_name: String,
    /// RFC 3339.
    pub expires_at: String,
    /// « 21 décembre 2026 à 10 h 02 », in Europe/Paris.
    pub expires_label: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Roster {
    pub members: Vec<MemberLine>,
    pub invitations: Vec<InvitationLine>,
}

/// The secretariat reads who is in the convention and who is invited (read-only).
#[tracing::instrument(skip_all, fields(convention = id))]
pub async fn members_and_invitations(
    p: &Platform,
    caller: &Caller,
    id: i64,
) -> Result<Roster, ServiceError> {
    allowed_for(p, caller, id, Action::InviteMember, CONSULT_MEMBERS).await?;
    let view = super::view(p, caller, id).await?;
    roster_of(p, &view).await
}

/// What the secretariat may not do when it is refused the roster.
const CONSULT_MEMBERS: &str = "de consulter les membres et les invitations";

/// [`members_and_invitations`] of a convention already read for its member (`view`): the
/// members and parties are those of the view, only the pending invitations are read.
#[tracing::instrument(skip_all, fields(convention = view.convention.id))]
pub async fn roster_of(p: &Platform, view: &ConventionView) -> Result<Roster, ServiceError> {
    // Who, not when, as `allowed_for`.
    if let Err(crate::domain::permission::Refusal::Forbidden(_)) = permission(
        &view.actor,
        Action::InviteMember,
        view.convention.state,
        &GuardFacts::most_favourable(),
    ) {
        return Err(ServiceError::Forbidden(format!(
            "action refusée : votre rôle dans cette convention ({}) ne permet pas {CONSULT_MEMBERS}",
            view.your_role.label()
        )));
    }
    let named = |party: &str| {
        if party.is_empty() {
            String::new()
        } else {
            view.parties
                .iter()
                .find(|x| x.party == party)
                .map_or_else(|| party.to_owned(), |x| x.name.clone())
        }
    };
    let members = view
        .members
        .iter()
        .map(|m| member_line(m, named(&m.party)))
        .collect();
    let invitations = p
        .store
        .invitations(view.convention.id)
        .await?
        .into_iter()
        .filter(|i| i.used_at.is_none() && i.expires_at > chrono::Utc::now())
        .map(|i| invitation_line(i, named))
        .collect();
    Ok(Roster {
        members,
        invitations,
    })
}

fn member_line(m: &MemberRecord, party_name: String) -> MemberLine {
    MemberLine {
        user_id: m.user_id,
        name: m.name.clone(),
        email: m.email.clone(),
        role: m.role,
        role_label: m.role.label(),
        party: m.party.clone(),
        party_name,
        mandate: m.mandate.clone(),
    }
}

fn invitation_line(i: InvitationRow, named: impl Fn(&str) -> String) -> InvitationLine {
    let role = i.role;
    InvitationLine {
        id: i.id,
        role,
        role_label: role.label(),
        party_name: named(&i.party),
        expires_label: french_instant(i.expires_at),
        email: i.email,
        name: i.name,
        organisation: i.organisation,
        party: i.party,
        expires_at: crate::signing::timestamp(i.expires_at),
    }
}

/// The e-mails `caller` may read on the demo's « Courriels envoyés » page, newest first: those
/// addressed to the caller, and every e-mail written by a change of a convention the caller
/// runs as its secretariat (invitations of the people it invited included).
#[tracing::instrument(skip_all, fields(user = caller.user.id))]
pub async fn mails_visible_to(
    p: &Platform,
    caller: &Caller,
) -> Result<Vec<OutboxRow>, ServiceError> {
    let run: Vec<i64> = p
        .store
        .conventions_of_user(caller.user.id)
        .await?
        .into_iter()
        .filter(|c| c.role == Role::Secretariat)
        .map(|c| c.id)
        .collect();
    Ok(p.store
        .outbox_for_reader(&caller.user.email, &run, OUTBOX_PAGE_LIMIT)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn deadlines_are_read_in_the_forms_people_type() {
        let now = utc("2026-12-07T10:00:00Z");
        let read = |t: &str| parse_deadline(t, now).map(|d| d.to_rfc3339());
        assert_eq!(
            read("2027-01-31T18:00:00Z").unwrap(),
            "2027-01-31T18:00:00+00:00"
        );
        assert_eq!(
            read("2027-01-31T18:00").unwrap(),
            "2027-01-31T18:00:00+01:00"
        );
        assert_eq!(read("31/01/2027").unwrap(), "2027-01-31T23:59:00+01:00");
        assert_eq!(read(" 2027-06-30 ").unwrap(), "2027-06-30T23:59:00+02:00");
    }

    #[test]
    fn bad_past_and_far_deadlines_are_refused_in_french() {
        let now = utc("2026-12-07T10:00:00Z");
        let e = parse_deadline("demain", now).unwrap_err();
        assert!(e.contains("« demain » n'est pas une date"), "{e}");
        let e = parse_deadline("2026-12-07T10:59", now).unwrap_err();
        assert!(
            e.contains("7 décembre 2026 à 10 h 59 est déjà passé"),
            "{e}"
        );
        let e = parse_deadline("2028-01-31", now).unwrap_err();
        assert!(e.contains("plus d'un an"), "{e}");
        assert!(parse_deadline("", now).unwrap_err().contains("obligatoire"));
    }

    fn reminder_at(party: &str, at: &str) -> crate::signing::AuditEvent {
        crate::signing::AuditEvent {
            convention_id: 1,
            seq: 1,
            at: at.into(),
            actor: None,
            kind: REMIND_EVENT.into(),
            payload: serde_json::json!({"partie": party}),
            prev_hash: String::new(),
            hash: String::new(),
            rows: None,
        }
    }

    #[test]
    fn a_party_is_reminded_at_most_once_an_hour() {
        let events = [reminder_at("etat", "2026-12-07T10:00:00.000Z")];
        let e = check_interval(&events, "etat", "Préfet", utc("2026-12-07T10:59:00Z"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("une relance par heure"), "{e}");
        assert!(e.contains("7 décembre 2026 à 12 h 00"), "{e}");
        assert!(check_interval(&events, "etat", "Préfet", utc("2026-12-07T11:00:00Z")).is_ok());
        assert!(
            check_interval(
                &events,
                "commune-69801",
                "Valmont",
                utc("2026-12-07T10:01:00Z")
            )
            .is_ok()
        );
    }
}
