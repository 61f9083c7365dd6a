//! Discussion: the comments and objections as threads with their replies, dates, who must act.

use serde::Serialize;

use super::Permissions;
use super::report::Names;
use crate::render::pages::dates::french_datetime;
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
        "proposal" => format!("la proposition de {}", names.party(reference)),
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
                format!("la proposition de {}", r.name),
            );
        }
        push(
            "proposal:bailleur".into(),
            format!("la proposition de {}", names.party("bailleur")),
        );
    }
    out
}
