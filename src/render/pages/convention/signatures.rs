//! Signatures: the round, its deadline, who signed and when.

use serde::Serialize;

use super::{open_round, party_name, state_of};
use crate::render::pages::dates::french_datetime;
use crate::services::conventions::ConventionView;

#[derive(Debug, Serialize)]
pub struct SignatureLine {
    pub party: String,
    pub name: String,
    pub signed: bool,
    pub signer: String,
    pub at: String,
}

#[derive(Debug, Serialize)]
pub struct SignaturesView {
    pub round: String,
    pub round_open: bool,
    pub opened_at: String,
    pub deadline: String,
    pub lines: Vec<SignatureLine>,
    pub signed: usize,
    pub required: usize,
    pub void_signatures: usize,
}

pub fn signatures(view: &ConventionView) -> SignaturesView {
    let open = open_round(view);
    let round = open.or_else(|| {
        view.rounds
            .iter()
            .rev()
            .find(|r| r.status == crate::domain::convention::RoundStatus::Terminee)
    });
    let lines: Vec<SignatureLine> = round
        .map(|r| {
            r.required
                .iter()
                .map(|party| {
                    let s = view
                        .signatures
                        .iter()
                        .find(|s| s.round_id == r.id && s.party == *party && !s.void);
                    SignatureLine {
                        party: party.clone(),
                        name: party_name(view, party),
                        signed: s.is_some(),
                        signer: s.map_or_else(String::new, |s| {
                            format!("{} ({})", s.signer_name, s.mandate)
                        }),
                        at: s.map_or_else(String::new, |s| french_datetime(&s.signed_at)),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    SignaturesView {
        round: match (open, round) {
            (Some(_), _) => "Tour de signature en cours".into(),
            (None, Some(_)) if state_of(view).is_signed() => {
                "Tour de signature terminé : la version est signée".into()
            }
            (None, Some(_)) => "Dernier tour de signature terminé".into(),
            (None, None) => String::new(),
        },
        round_open: open.is_some(),
        opened_at: round
            .map(|r| french_datetime(&r.opened_at))
            .unwrap_or_default(),
        deadline: round
            .and_then(|r| r.deadline.as_ref())
            .map(french_datetime)
            .unwrap_or_default(),
        signed: lines.iter().filter(|l| l.signed).count(),
        required: lines.len(),
        lines,
        void_signatures: view.signatures.iter().filter(|s| s.void).count(),
    }
}
