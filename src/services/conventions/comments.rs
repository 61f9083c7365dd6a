//! Comments and objections anchored to a clause, an objective, a proposal or a table cell.
//! An open objection blocks the signing round unless the secretariat overrules it with a reason.

use serde::Deserialize;

use super::document::VersionDocument;
use super::{
    Caller, Platform, ServiceError, allowed, current_document, decide_and_apply, guard_facts,
    notify, now, permit,
};
use crate::domain::convention::{Action, CommentStatus};
use crate::domain::permission::{GuardFacts, ThreadFacts};
use crate::domain::text::{check_text, limits};
use crate::store::conventions::{
    AuditDraft, CommentResolution, ConventionChange, NewComment, Snapshot,
};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCommentRequest {
    /// `clause`, `objective`, `proposal` or `cell`.
    pub anchor_kind: String,
    /// A clause id, an objective key (`q1_hors_qpv_min`…), a party id, or `row/segment`.
    pub anchor_ref: String,
    pub body: String,
    #[serde(default)]
    pub objection: bool,
    pub parent_id: Option<i64>,
}

fn check_anchor(doc: &VersionDocument, kind: &str, anchor: &str) -> Result<(), ServiceError> {
    let found = match kind {
        "clause" => doc.clauses.iter().any(|c| c.id == anchor),
        "objective" => matches!(
            anchor,
            "q1_hors_qpv_min" | "non_q1_qpv_min" | "priority_min"
        ),
        "proposal" => {
            anchor == "bailleur" || doc.scenario.reservataires.iter().any(|r| r.id == anchor)
        }
        "cell" => anchor
            .split_once('/')
            .is_some_and(|(row, segment)| doc.cell(row, segment).is_some()),
        other => {
            return Err(ServiceError::Invalid(format!(
                "élément commenté : type « {other} » inconnu (types admis : clause, objective, proposal, cell)"
            )));
        }
    };
    if found {
        Ok(())
    } else {
        Err(ServiceError::Invalid(format!(
            "élément commenté : « {anchor} » ne désigne aucun élément de type {kind} dans la version courante{}",
            if kind == "cell" {
                " (forme attendue : réservataire/segment)"
            } else {
                ""
            }
        )))
    }
}

/// Replies to comment `parent` of convention `id`, on the element the thread is about.
#[tracing::instrument(skip_all, fields(convention = id, user = caller.user.id, parent))]
pub async fn reply(
    p: &Platform,
    caller: &Caller,
    id: i64,
    parent: i64,
    body: String,
) -> Result<i64, ServiceError> {
    allowed(p, caller, id, Action::Comment).await?;
    let snap = super::snapshot(p, id).await?;
    let Some(thread) = snap.comments.iter().find(|c| c.id == parent) else {
        return Err(ServiceError::NotFound(format!(
            "commentaire n° {parent} introuvable dans cette convention"
        )));
    };
    let request = NewCommentRequest {
        anchor_kind: thread.anchor_kind.clone(),
        anchor_ref: thread.anchor_ref.clone(),
        body,
        objection: false,
        parent_id: Some(parent),
    };
    add(p, caller, id, request).await
}

/// Comments (every member but observers) or objects (parties only).
#[tracing::instrument(skip_all, fields(convention = id, user = caller.user.id, objection = request.objection))]
pub async fn add(
    p: &Platform,
    caller: &Caller,
    id: i64,
    request: NewCommentRequest,
) -> Result<i64, ServiceError> {
    let action = if request.objection {
        Action::Object
    } else {
        Action::Comment
    };
    let access = allowed(p, caller, id, action).await?;
    let body = request.body.trim().to_owned();
    if body.is_empty() {
        return Err(ServiceError::Invalid(
            "texte du commentaire : obligatoire".into(),
        ));
    }
    check_text(&body, "texte du commentaire", limits::COMMENT, true)
        .map_err(ServiceError::Invalid)?;
    let anchor_limit = limits::IDENTIFIER * 3;
    check_text(&request.anchor_ref, "élément commenté", anchor_limit, false)
        .map_err(ServiceError::Invalid)?;
    let (_, applied) = decide_and_apply(p, id, |snap: Snapshot| {
        let (request, access, body) = (request.clone(), access.clone(), body.clone());
        async move {
            permit(&access, action, &snap, &guard_facts(&snap, &access))?;
            let doc = current_document(&snap)?;
            check_anchor(&doc, &request.anchor_kind, &request.anchor_ref)?;
            if let Some(parent) = request.parent_id
                && !snap.comments.iter().any(|c| c.id == parent) {
                    return Err(ServiceError::Invalid(format!(
                        "commentaire auquel vous répondez : le n° {parent} n'existe pas dans cette convention"
                    )));
                }
            let at = now();
            let mut outbox = Vec::new();
            if request.objection {
                outbox = notify::objection_raised(
                    &p.base_url,
                    &snap,
                    &caller.user.name,
                    &access.party,
                    (&request.anchor_kind, &request.anchor_ref),
                    doc.number,
                    &body,
                    &at,
                )?;
            } else if let Some(parent) = snap.comments.iter().find(|c| Some(c.id) == request.parent_id) {
                outbox = notify::objection_answered(
                    &p.base_url,
                    &snap,
                    parent,
                    (caller.user.id, &caller.user.name),
                    "a répondu à",
                    &body,
                    &at,
                )?;
            }
            let change = ConventionChange {
                outbox,
                comment: Some(NewComment {
                    version_number: doc.number,
                    anchor_kind: request.anchor_kind.clone(),
                    anchor_ref: request.anchor_ref.clone(),
                    parent_id: request.parent_id,
                    author_id: caller.user.id,
                    party: access.party.clone(),
                    body: body.clone(),
                    objection: request.objection,
                    created_at: at.clone(),
                }),
                audit: vec![AuditDraft {
                    at,
                    actor: caller.actor(),
                    kind: if request.objection {
                        "objection".into()
                    } else {
                        "commentaire".into()
                    },
                    payload: serde_json::json!({
                        "ancre": format!("{}:{}", request.anchor_kind, request.anchor_ref),
                        "partie": access.party, "version": doc.number,
                        "empreinte_texte": crate::signing::sha256_hex(body.as_bytes()),
                    }),
                }],
                ..ConventionChange::default()
            };
            Ok((change, ()))
        }
    })
    .await?;
    Ok(applied.comment_id.unwrap_or_default())
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resolution {
    pub text: String,
}

/// Closes a thread. An objection is lifted only by its own party; the secretariat may instead
/// overrule it (`overrule`), with a recorded reason. A plain comment is closed by its author or
/// the secretariat.
#[tracing::instrument(skip_all, fields(convention = id, comment = comment_id, overrule))]
pub async fn resolve(
    p: &Platform,
    caller: &Caller,
    id: i64,
    comment_id: i64,
    request: Resolution,
    overrule: bool,
) -> Result<(), ServiceError> {
    let action = if overrule {
        Action::OverruleObjection
    } else {
        Action::Resolve
    };
    let access = allowed(p, caller, id, action).await?;
    let text = request.text.trim().to_owned();
    if text.is_empty() {
        return Err(ServiceError::Invalid(
            "résolution ou motif : obligatoire".into(),
        ));
    }
    check_text(&text, "résolution ou motif", limits::COMMENT, true)
        .map_err(ServiceError::Invalid)?;
    decide_and_apply(p, id, |snap: Snapshot| {
        let (access, text) = (access.clone(), text.clone());
        async move {
            let comment = snap
                .comments
                .iter()
                .find(|c| c.id == comment_id)
                .ok_or_else(|| {
                    ServiceError::NotFound(format!("commentaire n° {comment_id} introuvable"))
                })?;
            let facts = GuardFacts {
                thread: Some(ThreadFacts {
                    id: comment.id,
                    objection: comment.objection,
                    party: comment.party.clone(),
                    by_actor: comment.author_id == caller.user.id,
                    open: comment.status == CommentStatus::Ouvert,
                }),
                ..guard_facts(&snap, &access)
            };
            permit(&access, action, &snap, &facts)?;
            if overrule && !comment.objection {
                return Err(ServiceError::Invalid(
                    "seule une objection peut faire l'objet d'un passer-outre".into(),
                ));
            }
            let at = now();
            let status = if overrule {
                CommentStatus::PasseOutre
            } else {
                CommentStatus::Resolu
            };
            let outbox = notify::objection_answered(
                &p.base_url,
                &snap,
                comment,
                (caller.user.id, &caller.user.name),
                if overrule {
                    "a passé outre à"
                } else {
                    "a levé"
                },
                &text,
                &at,
            )?;
            let change = ConventionChange {
                outbox,
                resolution: Some(CommentResolution {
                    id: comment_id,
                    status,
                    resolution: text.clone(),
                    resolved_by: caller.user.id,
                    at: at.clone(),
                }),
                audit: vec![AuditDraft {
                    at,
                    actor: caller.actor(),
                    kind: if overrule {
                        "objection_passee_outre".into()
                    } else {
                        "commentaire_resolu".into()
                    },
                    payload: serde_json::json!({"commentaire": comment_id, "motif": text}),
                }],
                ..ConventionChange::default()
            };
            Ok((change, ()))
        }
    })
    .await?;
    Ok(())
}
