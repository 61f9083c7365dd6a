//! Chronologie: the audit events of the convention in plain French, the latest first.

use serde::Serialize;

use crate::domain::convention::ConventionState;
use crate::render::pages::dates::french_datetime;
use crate::signing::AuditEvent;

#[derive(Debug, Serialize)]
pub struct EventView {
    pub at: String,
    pub actor: String,
    pub what: String,
}

fn event_label(kind: &str) -> &str {
    match kind {
        "convention_creee" => "Convention créée",
        "invitation" => "Invitation envoyée",
        "membre_ajoute" => "Membre ajouté",
        "version_creee" => "Nouvelle version",
        "proposition_publiee" => "Proposition publiée",
        "commentaire" => "Commentaire",
        "objection" => "Objection",
        "commentaire_resolu" => "Commentaire clos ou objection levée",
        "objection_passee_outre" => "Objection passée outre",
        "signature_ouverte" => "Signature ouverte",
        "signature" => "Signature",
        "version_verrouillee" => "Version verrouillée",
        "tour_de_signature_annule" => "Tour de signature annulé",
        "transition" => "Décision",
        "etat_modifie" => "Changement d'état",
        "brouillon_enregistre" => "Brouillon de proposition enregistré",
        "etat_initial_des_lignes" => "État des lignes enregistré",
        "enregistrement" => "Enregistrement",
        _ => "Événement",
    }
}

fn state_words(value: &serde_json::Value) -> Option<String> {
    let text = value.as_str()?;
    Some(
        text.parse::<ConventionState>()
            .map_or_else(|()| text.to_owned(), |s| s.label().to_owned()),
    )
}

/// The details of an event that a reader needs, in words.
fn details(payload: &serde_json::Value, party_name: &dyn Fn(&str) -> String) -> String {
    let mut parts = Vec::new();
    if let Some(n) = payload.get("numero").or_else(|| payload.get("version")) {
        if let Some(n) = n.as_i64() {
            parts.push(format!("version n° {n}"));
        }
    }
    if let Some(p) = payload.get("partie").and_then(|p| p.as_str()) {
        parts.push(party_name(p));
    }
    if let (Some(from), Some(to)) = (
        payload.get("de").and_then(state_words),
        payload.get("vers").and_then(state_words),
    ) {
        parts.push(format!("de « {from} » à « {to} »"));
    }
    if let Some(m) = payload.get("motif").and_then(|m| m.as_str()) {
        parts.push(format!("motif : {m}"));
    }
    parts.join(", ")
}

/// « utilisateur 3 (Claire Martin) » → « Claire Martin ».
fn actor_name(actor: Option<&str>) -> String {
    match actor {
        None => "la plateforme".into(),
        Some(a) => a
            .split_once('(')
            .and_then(|(_, rest)| rest.strip_suffix(')'))
            .unwrap_or(a)
            .to_owned(),
    }
}

pub fn events(audit: &[AuditEvent], party_name: &dyn Fn(&str) -> String) -> Vec<EventView> {
    audit
        .iter()
        .rev()
        .map(|e| {
            let details = details(&e.payload, party_name);
            EventView {
                at: french_datetime(&e.at),
                actor: actor_name(e.actor.as_deref()),
                what: if details.is_empty() {
                    event_label(&e.kind).to_owned()
                } else {
                    format!("{} — {details}", event_label(&e.kind))
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{actor_name, details};

    #[test]
    fn events_are_told_with_names_and_state_labels() {
        let name = |p: &str| {
            if p == "etat" {
                "Préfet du Rhône".to_owned()
            } else {
                p.to_owned()
            }
        };
        let payload =
            serde_json::json!({"de": "concertation", "vers": "arbitrage", "partie": "etat"});
        assert_eq!(
            details(&payload, &name),
            "Préfet du Rhône, de « en concertation » à « en arbitrage »"
        );
        assert_eq!(
            actor_name(Some("utilisateur 3 (Claire Martin)")),
            "Claire Martin"
        );
        assert_eq!(actor_name(None), "la plateforme");
    }
}
