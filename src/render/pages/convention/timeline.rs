//! Chronologie: the audit events of the convention in plain French, the latest first.

use serde::Serialize;

use crate::domain::convention::{ConventionState, Transition};
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
        "documents_signes_envoyes" => "Documents signés envoyés en PDF",
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
    if let Some(n) = payload.get("numero").or_else(|| payload.get("version"))
        && let Some(n) = n.as_i64()
    {
        parts.push(format!("version n° {n}"));
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

/// The title of an event: a decision says which one (« Décision : ouvrir la concertation »).
fn title(e: &AuditEvent) -> String {
    let decision = e
        .payload
        .get("transition")
        .and_then(|t| serde_json::from_value::<Transition>(t.clone()).ok());
    match decision {
        Some(t) if e.kind == "transition" => format!("Décision : {}", t.label()),
        _ => event_label(&e.kind).to_owned(),
    }
}

/// One line per action, the latest first. A change of state is recorded by the platform as an
/// event of its own (`etat_modifie`), right after the action that caused it (a decision, the
/// opening of the signature, the last signature): it is told on that action's line, not twice.
pub fn events(audit: &[AuditEvent], party_name: &dyn Fn(&str) -> String) -> Vec<EventView> {
    // Each line, with whether it already tells a change of state.
    let mut lines: Vec<(EventView, bool)> = Vec::new();
    for e in audit {
        let details = details(&e.payload, party_name);
        if e.kind == "etat_modifie"
            && e.actor.is_none()
            && let Some((line, told)) = lines.last_mut()
        {
            if !*told {
                let change = details.replacen("de « ", "la convention passe de « ", 1);
                line.what = format!("{} ; {change}", line.what);
                *told = true;
            }
            continue;
        }
        let title = title(e);
        lines.push((
            EventView {
                at: french_datetime(&e.at),
                actor: actor_name(e.actor.as_deref()),
                what: if details.is_empty() {
                    title
                } else {
                    format!("{title} — {details}")
                },
            },
            e.payload.get("vers").is_some(),
        ));
    }
    lines.into_iter().rev().map(|(line, _)| line).collect()
}

#[cfg(test)]
mod tests {
    use super::{actor_name, details, events};
    use crate::signing::AuditEvent;

    fn event(seq: i64, actor: Option<&str>, kind: &str, payload: serde_json::Value) -> AuditEvent {
        AuditEvent {
            convention_id: 1,
            seq,
            at: format!("2026-12-02T0{seq}:58:00.000Z"),
            actor: actor.map(str::to_owned),
            kind: kind.into(),
            payload,
            prev_hash: String::new(),
            hash: String::new(),
            rows: None,
        }
    }

    #[test]
    fn a_decision_and_the_change_of_state_it_causes_are_one_line() {
        let who = Some("utilisateur 3 (Claire Martin)");
        let audit = [
            event(1, who, "commentaire", serde_json::json!({})),
            event(
                2,
                who,
                "transition",
                serde_json::json!({"transition": "reopen", "de": "arbitrage",
                    "vers": "concertation", "motif": "parts à revoir"}),
            ),
            event(
                3,
                None,
                "etat_modifie",
                serde_json::json!({"de": "arbitrage", "vers": "concertation"}),
            ),
            event(
                4,
                who,
                "signature_ouverte",
                serde_json::json!({"version": 2}),
            ),
            event(
                5,
                None,
                "etat_modifie",
                serde_json::json!({"de": "arbitrage", "vers": "signature"}),
            ),
        ];
        let lines = events(&audit, &|p: &str| p.to_owned());
        let what: Vec<&str> = lines.iter().map(|l| l.what.as_str()).collect();
        assert_eq!(
            what,
            [
                "Signature ouverte — version n° 2 ; la convention passe de « en arbitrage » à « en signature »",
                "Décision : rouvrir la concertation — de « en arbitrage » à « en concertation », motif : parts à revoir",
                "Commentaire",
            ]
        );
        assert_eq!(lines[1].actor, "Claire Martin");
        // A change of state with nothing before it keeps its own line.
        let alone = [event(
            1,
            None,
            "etat_modifie",
            serde_json::json!({"de": "brouillon", "vers": "concertation"}),
        )];
        assert_eq!(
            events(&alone, &|p: &str| p.to_owned())[0].what,
            "Changement d'état — de « brouillon » à « en concertation »"
        );
    }

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
