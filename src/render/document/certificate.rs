//! The signature certificate of a signed version, like the audit certificates of signing
//! services: each signature with its party, signer, mandate, time, method and seal.

use serde::Serialize;

use super::{Certificate, CertifiedSignature, Sources, party_label};
use crate::render::pages::dates::french_datetime;

/// The préfet's approval of the signed convention, as the audit chain records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Approval {
    /// RFC 3339.
    pub at: String,
    /// Who approved, as the audit event names them.
    pub actor: Option<String>,
}

fn method_label(method: &str) -> String {
    match method {
        "mot_de_passe" => "réauthentification par mot de passe sur la plateforme".into(),
        other => other.replace('_', " "),
    }
}

/// The certificate of a locked version, with the signatures of the parties in `keep` only
/// when given (one réservataire's annex shows the bailleur's and its own).
pub(super) fn certificate(s: &Sources<'_>, keep: Option<&[&str]>) -> Option<Certificate> {
    if !s.locked {
        return None;
    }
    let mut signatures: Vec<_> = s
        .signatures
        .iter()
        .filter(|g| keep.is_none_or(|k| k.contains(&g.record.party.as_str())))
        .collect();
    signatures.sort_by(|a, b| a.record.signed_at.cmp(&b.record.signed_at));
    let approval = match (&s.approval, s.approval_required) {
        (Some(a), _) => format!(
            "Approuvée par le préfet{}",
            a.actor
                .as_deref()
                .map_or_else(String::new, |who| format!(" ({who})"))
        ),
        (None, true) => "Approbation du préfet : en attente".into(),
        (None, false) => {
            "La convention ne requiert pas d'approbation du préfet : elle est en vigueur dès la dernière signature".into()
        }
    };
    let approval_at = s
        .approval
        .as_ref()
        .map_or_else(String::new, |a| french_datetime(&a.at));
    Some(Certificate {
        hash: s.hash.to_owned(),
        signatures: signatures
            .into_iter()
            .map(|g| CertifiedSignature {
                party: party_label(s, &g.record.party),
                signer: g.record.signer_name.clone(),
                mandate: g.record.mandate.clone(),
                at: french_datetime(&g.record.signed_at),
                method: method_label(&g.record.method),
                seal: g.seal.clone(),
            })
            .collect(),
        approval,
        approval_at,
        public_key: s.public_key.to_owned(),
        verify: vec![
            format!(
                "Chaque partie a signé l'empreinte SHA-256 de la version n° {} : {}. Cette empreinte est celle du texte JSON canonique de la version ; toute modification, même d'un caractère, la change.",
                s.doc.number, s.hash
            ),
            format!(
                "Chaque sceau est une signature Ed25519 (encodée en base64), apposée par la clé de la plateforme, de l'extrait public de l'enregistrement de la signature sous sa forme JSON canonique (partie, signataire, mandat, date, méthode, empreintes de la version et du PDF lu ; ni adresse électronique, ni adresse IP, ni navigateur). La clé publique de la plateforme est : {}.",
                s.public_key
            ),
            format!(
                "Pour vérifier hors ligne : « convention-flux export-bundle {0} --output dossier.json » écrit le dossier de preuve (versions, enregistrements de signature complets, journal d'audit, PDF signés, clé publique), puis « convention-flux verify dossier.json --public-key {1} » recalcule les empreintes et contrôle chaque sceau, la chaîne d'audit et chaque PDF.",
                s.doc.convention, s.public_key
            ),
        ],
    })
}
