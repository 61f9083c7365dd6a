//! Signatures: the round, its deadline, who signed and when.

use serde::{Deserialize, Serialize};

use super::{open_round, party_name, state_of, with_party_names};
use crate::render::pages::dates::french_datetime;
use crate::render::pages::forms::{FieldErrors, field_of};
use crate::services::ServiceError;
use crate::services::conventions::ConventionView;
use crate::services::conventions::document::TypedDocument;
use crate::services::conventions::signing::SignRequest;
use crate::store::conventions::VersionRow;

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
                            format!("{} — {}", s.signer_name, s.mandate)
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

/// The fields of the signing form, as typed (the password is never shown again).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SignEntry {
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub version_hash: String,
    #[serde(default)]
    pub mandate: String,
    #[serde(default)]
    pub read: String,
    /// The SHA-256 of the PDF shown on the signing page.
    #[serde(default)]
    pub document_sha256: String,
}

/// How the services name the fields of a signature in their refusals.
const SIGN_FIELDS: [(&str, &str); 3] = [
    ("mandat", "mandate"),
    ("mot de passe", "password"),
    ("attestation", "read"),
];

impl SignEntry {
    /// The request the entry makes, once the signatory has ticked the attestation.
    pub fn request(&self) -> Result<SignRequest, ServiceError> {
        if self.read != "oui" {
            return Err(ServiceError::Invalid(
                "attestation : cochez la case attestant que vous avez lu la version et que vous êtes habilité à signer".into(),
            ));
        }
        Ok(SignRequest {
            password: self.password.clone(),
            version_hash: self.version_hash.clone(),
            mandate: Some(self.mandate.trim().to_owned()).filter(|m| !m.is_empty()),
            document_sha256: Some(self.document_sha256.trim().to_owned()).filter(|d| !d.is_empty()),
        })
    }

    /// The error of a refused signature at its field, or `None` when it is not about one. A
    /// wrong password is refused as an authentication: it goes to the password field too.
    pub fn errors(error: &ServiceError) -> Option<FieldErrors> {
        let field = match error {
            ServiceError::Unauthenticated(m) if m.starts_with("mot de passe") => "password",
            _ => field_of(error, &SIGN_FIELDS)?,
        };
        let mut errors = FieldErrors::default();
        errors.set(field, &error.to_string());
        Some(errors)
    }
}

#[derive(Debug, Serialize)]
pub struct SignView {
    pub party: String,
    pub mandate: String,
    pub read: bool,
    pub number: i64,
    pub reason: String,
    pub hash: String,
    pub total_flux: u64,
    pub party_total: u64,
    /// The signer's party is a réservataire (it has a row of the table and its own annex); the
    /// EPCI and the bailleur sign the whole convention.
    pub reservataire: bool,
    /// The SHA-256 of the PDF the signatory is shown (filled by the page for a signatory).
    pub document_sha256: String,
    pub errors: FieldErrors,
}

/// The signing page of version `v` for `user_id`, with the entry typed (the mandate recorded at
/// the invitation at first).
pub fn sign_view(
    view: &ConventionView,
    (v, doc): (&VersionRow, &TypedDocument),
    user_id: i64,
    typed: Option<(SignEntry, FieldErrors)>,
) -> SignView {
    let (entry, errors) = typed.unwrap_or_else(|| {
        let mandate = view
            .members
            .iter()
            .find(|m| m.user_id == user_id)
            .map(|m| m.mandate.clone())
            .unwrap_or_default();
        let entry = SignEntry {
            mandate,
            ..SignEntry::default()
        };
        (entry, FieldErrors::default())
    });
    SignView {
        party: party_name(view, &view.your_party),
        mandate: entry.mandate,
        read: entry.read == "oui",
        number: v.number,
        reason: with_party_names(view, &v.reason),
        hash: v.hash.clone(),
        total_flux: doc.scenario.segments.iter().map(|s| s.flux).sum(),
        party_total: doc
            .report
            .table
            .as_ref()
            .and_then(|t| t.row_total(&view.your_party))
            .unwrap_or(0),
        reservataire: doc
            .scenario
            .reservataires
            .iter()
            .any(|r| r.id == view.your_party),
        document_sha256: String::new(),
        errors,
    }
}
