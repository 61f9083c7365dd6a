//! Who is told what, by e-mail, when a convention changes (issue 5 item 2). Each function
//! returns the outbox messages that the use case adds to its `ConventionChange`, so that they are
//! written in the same transaction as the change that causes them.

use base64::Engine as _;
use serde_json::{Value, json};

use super::ServiceError;
use super::exports::{commune_names, flux_table};
use crate::domain::convention::Role;
use crate::mail::emails::{EmailKind, compose};
use crate::render::exports::{ExportFormat, TableFilter};
use crate::store::conventions::{
    CommentRow, MailAttachment, MemberRecord, OutboxMessage, RoundRow, Snapshot, VersionRow,
};

/// The address of a convention's page (`suffix` such as `/signer`).
pub(crate) fn link(base_url: &str, id: i64, suffix: &str) -> String {
    format!(
        "{}/conventions/{id}{suffix}",
        base_url.trim_end_matches('/')
    )
}

/// One message of `kind` to `to` (`name` goes into `data`).
pub(crate) fn message(
    kind: EmailKind,
    to: &str,
    name: &str,
    mut data: Value,
    at: &str,
) -> Result<OutboxMessage, ServiceError> {
    data["name"] = Value::String(name.to_owned());
    let email = compose(kind, &data).map_err(ServiceError::internal)?;
    Ok(OutboxMessage {
        to: to.to_owned(),
        subject: email.subject,
        body_text: email.text,
        body_html: email.html,
        created_at: at.to_owned(),
        attachments: Vec::new(),
    })
}

fn to_members<'a>(
    kind: EmailKind,
    members: impl Iterator<Item = &'a MemberRecord>,
    data: &Value,
    at: &str,
) -> Result<Vec<OutboxMessage>, ServiceError> {
    members
        .map(|m| message(kind, &m.email, &m.name, data.clone(), at))
        .collect()
}

fn party_name(snap: &Snapshot, party: &str) -> String {
    snap.parties
        .iter()
        .find(|x| x.party == party)
        .map_or_else(|| party.to_owned(), |x| x.name.clone())
}

fn speaks_for_a_party(m: &MemberRecord) -> bool {
    m.role.represents_party()
}

/// An RFC 3339 deadline as French readers expect it: « 31/01/2027 à 18:00 (UTC) ».
pub(crate) fn french_deadline(deadline: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(deadline) {
        Ok(d) => {
            let zone = if d.offset().local_minus_utc() == 0 {
                "UTC".to_owned()
            } else {
                format!("UTC{}", d.format("%:z"))
            };
            format!("{} ({zone})", d.format("%d/%m/%Y à %H:%M"))
        }
        Err(_) => deadline.to_owned(),
    }
}

/// The concertation opens: every contributor and signatory of each réservataire party is asked
/// for its proposal.
pub(crate) fn proposal_requested(
    base_url: &str,
    snap: &Snapshot,
    at: &str,
) -> Result<Vec<OutboxMessage>, ServiceError> {
    let c = &snap.convention;
    snap.members
        .iter()
        .filter(|m| speaks_for_a_party(m))
        .filter(|m| {
            snap.parties
                .iter()
                .any(|x| x.party == m.party && x.kind == "reservataire")
        })
        .map(|m| {
            let data = json!({"title": c.title, "party": party_name(snap, &m.party),
                              "link": link(base_url, c.id, "")});
            message(EmailKind::ProposalRequested, &m.email, &m.name, data, at)
        })
        .collect()
}

/// A new version: every member who speaks for a party, but its author, is asked to review it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn new_version(
    base_url: &str,
    snap: &Snapshot,
    author_id: i64,
    author_name: &str,
    number: i64,
    reason: &str,
    blocking: usize,
    at: &str,
) -> Result<Vec<OutboxMessage>, ServiceError> {
    let c = &snap.convention;
    let data = json!({"title": c.title, "number": number, "author": author_name,
                      "reason": reason, "blocking": blocking, "link": link(base_url, c.id, "")});
    to_members(
        EmailKind::NewVersion,
        snap.members
            .iter()
            .filter(|m| speaks_for_a_party(m) && m.user_id != author_id),
        &data,
        at,
    )
}

fn anchor_label(kind: &str, anchor: &str) -> String {
    match kind {
        "clause" => format!("la clause « {anchor} »"),
        "objective" => format!("l'objectif {anchor}"),
        "proposal" => format!("la proposition de « {anchor} »"),
        "cell" => format!("la cellule {anchor} du tableau des flux"),
        other => format!("{other} {anchor}"),
    }
}

/// An objection: the secretariat is told.
#[allow(clippy::too_many_arguments)]
pub(crate) fn objection_raised(
    base_url: &str,
    snap: &Snapshot,
    author_name: &str,
    party: &str,
    (anchor_kind, anchor_ref): (&str, &str),
    number: i64,
    body: &str,
    at: &str,
) -> Result<Vec<OutboxMessage>, ServiceError> {
    let c = &snap.convention;
    let data = json!({"title": c.title, "author": author_name, "party": party_name(snap, party),
                      "anchor": anchor_label(anchor_kind, anchor_ref), "number": number,
                      "body": body, "link": link(base_url, c.id, "")});
    to_members(
        EmailKind::ObjectionRaised,
        snap.members.iter().filter(|m| m.role == Role::Secretariat),
        &data,
        at,
    )
}

/// An objection answered (a reply, lifted or overruled): its author is told, unless the author
/// answered it.
pub(crate) fn objection_answered(
    base_url: &str,
    snap: &Snapshot,
    objection: &CommentRow,
    (by_id, by_name): (i64, &str),
    outcome: &str,
    answer: &str,
    at: &str,
) -> Result<Vec<OutboxMessage>, ServiceError> {
    if !objection.objection || objection.author_id == by_id {
        return Ok(Vec::new());
    }
    let c = &snap.convention;
    let data = json!({"title": c.title, "by": by_name, "outcome": outcome, "answer": answer,
                      "anchor": anchor_label(&objection.anchor_kind, &objection.anchor_ref),
                      "link": link(base_url, c.id, "")});
    to_members(
        EmailKind::ObjectionAnswered,
        snap.members
            .iter()
            .filter(|m| m.user_id == objection.author_id),
        &data,
        at,
    )
}

fn round_data(
    base_url: &str,
    snap: &Snapshot,
    number: i64,
    hash: &str,
    deadline: &Option<String>,
) -> Value {
    let c = &snap.convention;
    json!({"title": c.title, "number": number, "hash": hash,
           "deadline": deadline.as_deref().map(french_deadline),
           "link": link(base_url, c.id, "/signer")})
}

/// A round opens: the signatories of the required parties are asked to sign.
pub(crate) fn signing_requested(
    base_url: &str,
    snap: &Snapshot,
    required: &[String],
    number: i64,
    hash: &str,
    deadline: &Option<String>,
    at: &str,
) -> Result<Vec<OutboxMessage>, ServiceError> {
    let data = round_data(base_url, snap, number, hash, deadline);
    snap.members
        .iter()
        .filter(|m| m.role.signs_for(&m.party) && required.contains(&m.party))
        .map(|m| {
            let mut data = data.clone();
            data["party"] = Value::String(party_name(snap, &m.party));
            message(EmailKind::SigningRequested, &m.email, &m.name, data, at)
        })
        .collect()
}

/// Before the deadline: the signatories of the required parties that have not signed yet.
pub(crate) fn signing_reminder(
    base_url: &str,
    snap: &Snapshot,
    round: &RoundRow,
    at: &str,
) -> Result<Vec<OutboxMessage>, ServiceError> {
    signing_reminder_for(base_url, snap, round, None, at)
}

/// The secretariat reminds one party now: its signatories, if its signature is still missing.
pub(crate) fn signing_reminder_to_party(
    base_url: &str,
    snap: &Snapshot,
    round: &RoundRow,
    party: &str,
    at: &str,
) -> Result<Vec<OutboxMessage>, ServiceError> {
    signing_reminder_for(base_url, snap, round, Some(party), at)
}

fn signing_reminder_for(
    base_url: &str,
    snap: &Snapshot,
    round: &RoundRow,
    only: Option<&str>,
    at: &str,
) -> Result<Vec<OutboxMessage>, ServiceError> {
    let number = snap
        .current
        .as_ref()
        .filter(|v| v.hash == round.version_hash)
        .map_or(0, |v| v.number);
    let deadline = round.deadline.as_ref().map(crate::store::time::offset_text);
    let data = round_data(base_url, snap, number, &round.version_hash, &deadline);
    let signed: Vec<&str> = snap
        .signatures
        .iter()
        .filter(|s| s.round_id == round.id)
        .map(|s| s.record.party.as_str())
        .collect();
    snap.members
        .iter()
        .filter(|m| m.role.signs_for(&m.party) && round.required.contains(&m.party))
        .filter(|m| !signed.contains(&m.party.as_str()))
        .filter(|m| only.is_none_or(|party| m.party == party))
        .map(|m| {
            let mut data = data.clone();
            data["party"] = Value::String(party_name(snap, &m.party));
            message(EmailKind::SigningReminder, &m.email, &m.name, data, at)
        })
        .collect()
}

/// The secretariat reminds one party, in concertation, that its proposal is awaited: every
/// member who speaks for it (contributors and signatories).
pub(crate) fn proposal_reminder(
    base_url: &str,
    snap: &Snapshot,
    party: &str,
    at: &str,
) -> Result<Vec<OutboxMessage>, ServiceError> {
    let c = &snap.convention;
    let data = json!({"title": c.title, "party": party_name(snap, party),
                      "link": link(base_url, c.id, "")});
    to_members(
        EmailKind::ProposalRequested,
        snap.members
            .iter()
            .filter(|m| speaks_for_a_party(m) && m.party == party),
        &data,
        at,
    )
}

/// The last signature: every member is told; the bailleur's members receive the flux tables.
pub(crate) fn convention_signed(
    base_url: &str,
    snap: &Snapshot,
    version: &VersionRow,
    tables: &[MailAttachment],
    at: &str,
) -> Result<Vec<OutboxMessage>, ServiceError> {
    let c = &snap.convention;
    let data = json!({"title": c.title, "number": version.number, "hash": version.hash,
                      "approval": c.approval_required, "link": link(base_url, c.id, "")});
    snap.members
        .iter()
        .map(|m| {
            let bailleur = m.party == "bailleur" && !tables.is_empty();
            let mut data = data.clone();
            data["tables"] = Value::Bool(bailleur);
            let mut mail = message(EmailKind::ConventionSigned, &m.email, &m.name, data, at)?;
            if bailleur {
                mail.attachments = tables.to_vec();
            }
            Ok(mail)
        })
        .collect()
}

/// The whole flux table of `version` as XLSX and CSV attachments; none when the version has no
/// table (a signature never fails for want of an attachment).
pub(crate) async fn table_attachments(
    p: &super::Platform,
    version: &VersionRow,
) -> Result<Vec<MailAttachment>, ServiceError> {
    let names = commune_names(p, version).await?;
    let table = match flux_table(version, &names, &TableFilter::default()) {
        Ok(table) => table,
        Err(e) => {
            tracing::warn!(version = version.number, error = %e, "tableau des flux non joint");
            return Ok(Vec::new());
        }
    };
    let mut out = Vec::new();
    for format in [ExportFormat::Xlsx, ExportFormat::Csv] {
        match table.to_bytes(format) {
            Ok(bytes) => out.push(MailAttachment {
                name: table.file_name(format),
                content_type: format.content_type().to_owned(),
                content_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
            }),
            Err(e) => {
                tracing::warn!(version = version.number, error = %e, "tableau des flux non joint");
            }
        }
    }
    Ok(out)
}

/// The largest whole-convention PDF attached to a mail; beyond, the mail sends the reader to
/// the platform (mail servers refuse large messages, and the outbox keeps every copy).
pub(crate) const ATTACHED_PDF_MAX: usize = 3 * 1024 * 1024;

/// A PDF to attach: its file name and its bytes.
pub(crate) type PdfAttachment = (String, Vec<u8>);

fn pdf_attachment((name, bytes): &PdfAttachment) -> MailAttachment {
    MailAttachment {
        name: name.clone(),
        content_type: "application/pdf".into(),
        content_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
    }
}

/// After the lock: every member who speaks for a party receives the signed convention in PDF
/// (when small enough to attach) and, for a réservataire, its own annex.
pub(crate) fn signed_documents(
    base_url: &str,
    snap: &Snapshot,
    version: &VersionRow,
    whole: &PdfAttachment,
    annexes: &std::collections::BTreeMap<String, PdfAttachment>,
    at: &str,
) -> Result<Vec<OutboxMessage>, ServiceError> {
    let c = &snap.convention;
    let attach_whole = whole.1.len() <= ATTACHED_PDF_MAX;
    let digest = |bytes: &[u8]| crate::signing::sha256_hex(bytes);
    snap.members
        .iter()
        .map(|m| {
            let annex = annexes.get(&m.party);
            let data = json!({
                "title": c.title, "number": version.number, "hash": version.hash,
                "link": link(base_url, c.id, ""),
                "whole": if attach_whole { whole.0.clone() } else { String::new() },
                "whole_sha256": digest(&whole.1),
                "annex": annex.map_or_else(String::new, |a| a.0.clone()),
                "annex_sha256": annex.map_or_else(String::new, |a| digest(&a.1)),
            });
            let mut mail = message(EmailKind::SignedDocuments, &m.email, &m.name, data, at)?;
            if attach_whole {
                mail.attachments.push(pdf_attachment(whole));
            }
            if let Some(annex) = annex {
                mail.attachments.push(pdf_attachment(annex));
            }
            Ok(mail)
        })
        .collect()
}
