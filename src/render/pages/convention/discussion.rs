//! Discussion: the comments and objections as threads with their replies, dates, who must act.

use serde::{Deserialize, Serialize};

use super::Permissions;
use super::report::Names;
use crate::domain::convention::CommentStatus;
use crate::domain::text::de_name;
use crate::render::pages::dates::french_datetime;
use crate::render::pages::forms::{FieldErrors, field_of};
use crate::services::ServiceError;
use crate::services::conventions::ConventionView;
use crate::services::conventions::comments::NewCommentRequest;
use crate::services::conventions::document::TypedDocument;
use crate::store::conventions::CommentRow;

#[derive(Debug, Serialize)]
pub struct ReplyView {
    pub author: String,
    pub at: String,
    pub body: String,
}

#[derive(Debug, Serialize)]
pub struct ThreadView {
    pub id: i64,
    pub objection: bool,
    pub open: bool,
    pub status: &'static str,
    pub author: String,
    pub at: String,
    pub about: String,
    pub body: String,
    pub resolution: String,
    pub who_acts: String,
    pub replies: Vec<ReplyView>,
    /// The reply as typed, kept when it was refused, with its error.
    pub reply: String,
    pub reply_error: Option<String>,
    pub can_resolve: bool,
    pub can_overrule: bool,
}

#[derive(Debug, Serialize)]
pub struct AnchorChoice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn objective_label(id: &str) -> &str {
    match id {
        "q1_hors_qpv_min" => "l'objectif hors QPV pour le premier quartile",
        "non_q1_qpv_min" => "l'objectif en QPV pour les autres quartiles",
        "priority_min" => "l'objectif pour les ménages prioritaires",
        other => other,
    }
}

/// What a comment is about, in words.
pub fn about(
    kind: &str,
    reference: &str,
    doc: Option<&TypedDocument>,
    names: &Names<'_>,
) -> String {
    match kind {
        "clause" => doc
            .and_then(|d| d.clauses.iter().find(|c| c.id == reference))
            .map_or_else(
                || format!("la clause « {reference} »"),
                |c| format!("la clause « {} »", c.title),
            ),
        "objective" => objective_label(reference).to_owned(),
        "proposal" => format!("la proposition {}", de_name(&names.party(reference))),
        _ => match reference.split_once('/') {
            Some((row, segment)) => format!(
                "la cellule {} — {}",
                names.party(row),
                names.segment(segment)
            ),
            None => format!("la cellule « {reference} »"),
        },
    }
}

pub fn threads(
    comments: &[CommentRow],
    can: &Permissions,
    doc: Option<&TypedDocument>,
    names: &Names<'_>,
) -> Vec<ThreadView> {
    comments
        .iter()
        .filter(|c| c.parent_id.is_none())
        .map(|c| {
            let open = c.status == crate::domain::convention::CommentStatus::Ouvert;
            ThreadView {
                id: c.id,
                objection: c.objection,
                open,
                status: match c.status.as_str() {
                    "ouvert" => "ouvert",
                    "resolu" if c.objection => "levée",
                    "resolu" => "clos",
                    _ => "passé outre",
                },
                author: if c.party.is_empty() {
                    c.author_name.clone()
                } else {
                    format!("{} ({})", c.author_name, names.party(&c.party))
                },
                at: french_datetime(&c.created_at),
                about: about(&c.anchor_kind, &c.anchor_ref, doc, names),
                body: c.body.clone(),
                resolution: c.resolution.clone().unwrap_or_default(),
                who_acts: match (open, c.objection) {
                    (false, _) => String::new(),
                    (true, true) => format!(
                        "À lever par {} ; à défaut, le secrétariat peut passer outre en motivant. La signature ne s'ouvre pas tant qu'elle reste ouverte.",
                        names.party(&c.party)
                    ),
                    (true, false) => "À clore par son auteur ou par le secrétariat.".into(),
                },
                replies: comments
                    .iter()
                    .filter(|r| r.parent_id == Some(c.id))
                    .map(|r| ReplyView {
                        author: r.author_name.clone(),
                        at: french_datetime(&r.created_at),
                        body: r.body.clone(),
                    })
                    .collect(),
                reply: String::new(),
                reply_error: None,
                can_resolve: can.may_resolve(c),
                can_overrule: can.may_overrule(c),
            }
        })
        .collect()
}

/// The elements a new comment may be about; `selected` is the one the page was opened for
/// (a cell of the table, for instance).
pub fn anchors(
    doc: Option<&TypedDocument>,
    names: &Names<'_>,
    selected: Option<&str>,
) -> Vec<AnchorChoice> {
    let mut out = Vec::new();
    let mut push = |value: String, label: String| {
        out.push(AnchorChoice {
            selected: selected == Some(value.as_str()),
            value,
            label,
        });
    };
    if let Some(cell) = selected.and_then(|s| s.strip_prefix("cell:")) {
        push(format!("cell:{cell}"), about("cell", cell, doc, names));
    }
    if let Some(doc) = doc {
        for c in &doc.clauses {
            push(
                format!("clause:{}", c.id),
                format!("la clause « {} »", c.title),
            );
        }
        for id in ["q1_hors_qpv_min", "non_q1_qpv_min", "priority_min"] {
            push(format!("objective:{id}"), objective_label(id).to_owned());
        }
        for r in &doc.scenario.reservataires {
            push(
                format!("proposal:{}", r.id),
                format!("la proposition {}", de_name(&r.name)),
            );
        }
        push(
            "proposal:bailleur".into(),
            format!("la proposition {}", de_name(&names.party("bailleur"))),
        );
    }
    out
}

/// The fields of the new comment form, as typed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CommentEntry {
    /// `kind:reference`, e.g. `clause:flux` or `cell:etat/69801-T3-H`.
    pub about: String,
    pub body: String,
    #[serde(default)]
    pub objection: String,
}

/// The field of the reply form of a thread, as typed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReplyEntry {
    pub body: String,
}

/// How the services name the fields of a comment in their refusals.
const COMMENT_FIELDS: [(&str, &str); 2] = [
    ("texte du commentaire", "body"),
    ("élément commenté", "about"),
];

impl CommentEntry {
    pub fn is_objection(&self) -> bool {
        self.objection == "oui"
    }

    /// The request the entry makes (the service checks the text and the element).
    pub fn request(&self) -> Result<NewCommentRequest, ServiceError> {
        let Some((kind, reference)) = self.about.split_once(':') else {
            return Err(ServiceError::Invalid(
                "élément commenté : choisissez dans la liste l'élément sur lequel porte le commentaire".into(),
            ));
        };
        Ok(NewCommentRequest {
            anchor_kind: kind.into(),
            anchor_ref: reference.trim().into(),
            body: self.body.clone(),
            objection: self.is_objection(),
            parent_id: None,
        })
    }

    /// What the banner says once it is recorded.
    pub fn recorded(&self) -> String {
        if self.is_objection() {
            "Objection enregistrée.".into()
        } else {
            "Commentaire enregistré.".into()
        }
    }
}

/// The error of a refused comment or reply at its field, or `None` when it is not about one.
pub fn comment_errors(error: &ServiceError) -> Option<FieldErrors> {
    let field = field_of(error, &COMMENT_FIELDS)?;
    let mut errors = FieldErrors::default();
    errors.set(field, &error.to_string());
    Some(errors)
}

/// What was typed in the page's forms and refused, to show again.
pub enum Typed {
    Nothing,
    Comment(CommentEntry, FieldErrors),
    /// The reply to thread `id`.
    Reply(i64, ReplyEntry, FieldErrors),
}

#[derive(Debug, Serialize)]
pub struct DiscussionView {
    pub threads: Vec<ThreadView>,
    pub open_objections: usize,
    pub anchors: Vec<AnchorChoice>,
    pub comment: CommentEntry,
    pub comment_errors: FieldErrors,
}

/// The page: the threads, the elements a comment may be about (`cell`, the cell of the table
/// the page was opened for, selected) and the forms as typed.
pub fn discussion(
    view: &ConventionView,
    can: &Permissions,
    doc: Option<&TypedDocument>,
    names: &Names<'_>,
    cell: Option<&str>,
    typed: Typed,
) -> DiscussionView {
    let mut threads = threads(&view.comments, can, doc, names);
    let (comment, comment_errors) = match typed {
        Typed::Comment(entry, errors) => (entry, errors),
        Typed::Reply(id, entry, errors) => {
            if let Some(t) = threads.iter_mut().find(|t| t.id == id) {
                t.reply = entry.body;
                t.reply_error = errors.get("body").map(str::to_owned);
            }
            (CommentEntry::default(), FieldErrors::default())
        }
        Typed::Nothing => (CommentEntry::default(), FieldErrors::default()),
    };
    let selected = if comment.about.is_empty() {
        cell.map(|c| format!("cell:{c}"))
    } else {
        Some(comment.about.clone())
    };
    DiscussionView {
        threads,
        open_objections: view
            .comments
            .iter()
            .filter(|c| c.objection && c.status == CommentStatus::Ouvert)
            .count(),
        anchors: anchors(doc, names, selected.as_deref()),
        comment,
        comment_errors,
    }
}
