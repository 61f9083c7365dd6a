//! The convention document (DESIGN §4.6): what the parties read, print and sign, generated from
//! a sealed version and the convention's stored facts. Pure: built from values, no I/O; the
//! HTML page renders it, and every figure in it comes from the data — only the secretariat's
//! free clauses are typed by hand.
//!
//! The same model serves the whole convention and one réservataire's annex read alone (its
//! bilateral reservation convention, RULES.md §5).

mod annexes;
mod articles;
mod certificate;
mod inputs;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::territory::Epci;
use crate::flux::row::NON_RESERVE;
use crate::flux::scenario::{RawCommitments, RawReservataire};
use crate::services::conventions::document::{Clause, TypedDocument};
use crate::signing::PublicSignature;
use crate::store::conventions::{MemberRecord, PartyRecord};

pub use crate::store::StockRightCount as StockRight;
pub use articles::document_text;
pub use certificate::Approval;
pub use inputs::{DocumentInputs, speaking_members};

/// Everything the document is made of: the sealed version and what the store knows around it.
pub struct Sources<'a> {
    pub doc: &'a TypedDocument,
    /// The version's SHA-256.
    pub hash: &'a str,
    /// The version is locked: every required party signed it.
    pub locked: bool,
    pub approval_required: bool,
    pub parties: &'a [PartyRecord],
    pub members: &'a [MemberRecord],
    /// The signatures that count for this version (its hash, a round not cancelled).
    pub signatures: &'a [PublicSignature],
    /// INSEE code → name.
    pub communes: &'a BTreeMap<String, String>,
    pub epci: Option<&'a Epci>,
    /// The état des lieux, `None` when the store holds none for the bailleur.
    pub stock: Option<&'a [StockRight]>,
    pub approval: Option<Approval>,
    pub experiment_years: u32,
    /// The platform's public key (hex), to check the seals offline.
    pub public_key: &'a str,
}

/// Which part of the convention to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Whole,
    /// One réservataire's annex, read alone.
    Annex(String),
}

/// What every page of the document carries.
#[derive(Debug, Clone, Serialize)]
pub struct Header {
    pub convention: i64,
    pub version: i64,
    pub hash: String,
    pub title: String,
    pub year: i32,
    pub signed: bool,
    /// When the version was created, in words (« 2 décembre 2026 à 15 h 04 »).
    pub version_date: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Party {
    pub id: String,
    pub name: String,
    /// « bailleur social », « réservataire — commune »…
    pub kind: String,
    /// Who signs for the party, empty when nobody is named yet.
    pub signatory: String,
    pub mandate: String,
}

/// A free clause of the secretariat, shown where it belongs.
#[derive(Debug, Clone, Serialize)]
pub struct FreeClause {
    pub title: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Article {
    pub number: u32,
    pub title: String,
    pub paragraphs: Vec<String>,
    /// « Article R. 441-5 du code de la construction et de l'habitation »…
    pub law: String,
    pub clauses: Vec<FreeClause>,
    pub tables: Vec<DocTable>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub label: String,
    pub numeric: bool,
}

/// A table of the document; the PDF repeats its header on every page it spans.
#[derive(Debug, Clone, Serialize)]
pub struct DocTable {
    pub caption: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<String>>,
    /// A total line, if any.
    pub total: Option<Vec<String>>,
}

/// A place to sign, in the bilateral annexes.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureSlot {
    pub party: String,
    pub signatory: String,
    pub mandate: String,
    /// When the party signed, in words; empty while it has not.
    pub signed_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Annex {
    /// Anchor in the page and value of `?annexe=` for a réservataire's annex.
    pub id: String,
    /// « Annexe 1 », « Annexe 4.2 ».
    pub number: String,
    pub title: String,
    pub paragraphs: Vec<String>,
    pub tables: Vec<DocTable>,
    pub articles: Vec<Article>,
    pub signatures: Vec<SignatureSlot>,
    /// The réservataire of a bilateral annex.
    pub reservataire: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CertifiedSignature {
    pub party: String,
    pub signer: String,
    pub mandate: String,
    /// Europe/Paris, in words.
    pub at: String,
    pub method: String,
    pub seal: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Certificate {
    pub hash: String,
    pub signatures: Vec<CertifiedSignature>,
    /// The préfet's approval (or why there is none), without its date.
    pub approval: String,
    /// When the préfet approved, in words; empty without an approval.
    pub approval_at: String,
    pub public_key: String,
    pub verify: Vec<String>,
}

/// The convention as it reads.
#[derive(Debug, Clone, Serialize)]
pub struct ConventionDocument {
    pub header: Header,
    /// `None` for the whole convention, the réservataire's id for its annex alone.
    pub annex_only: Option<String>,
    pub parties: Vec<Party>,
    pub visas: Vec<String>,
    pub articles: Vec<Article>,
    pub annexes: Vec<Annex>,
    pub certificate: Option<Certificate>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DocumentError {
    #[error("« {0} » n'est pas un réservataire de cette version : l'annexe demandée n'existe pas")]
    UnknownAnnex(String),
}

/// The convention document of `s.doc`, whole or one réservataire's annex.
///
/// # Errors
/// When `scope` names a party that is not a réservataire of the version.
pub fn convention_document(
    s: &Sources<'_>,
    scope: &Scope,
) -> Result<ConventionDocument, DocumentError> {
    let header = Header {
        convention: s.doc.convention,
        version: s.doc.number,
        hash: s.hash.to_owned(),
        title: s.doc.title.clone(),
        year: s.doc.scenario.year,
        signed: s.locked,
        version_date: crate::render::pages::dates::french_datetime(&s.doc.created_at),
    };
    let parties = parties(s);
    match scope {
        Scope::Whole => {
            let articles = articles::articles(s);
            let mut annexes = vec![
                annexes::etat_des_lieux(s),
                annexes::assiette(s),
                annexes::flux_table(s),
            ];
            for (i, r) in s.doc.scenario.reservataires.iter().enumerate() {
                annexes.push(annexes::bilateral(s, r, i + 1));
            }
            Ok(ConventionDocument {
                header,
                annex_only: None,
                visas: articles::visas(s),
                parties,
                articles,
                annexes,
                certificate: certificate::certificate(s, None),
            })
        }
        Scope::Annex(id) => {
            let (i, r) = s
                .doc
                .scenario
                .reservataires
                .iter()
                .enumerate()
                .find(|(_, r)| r.id == *id)
                .ok_or_else(|| DocumentError::UnknownAnnex(id.clone()))?;
            let keep = ["bailleur", id.as_str()];
            Ok(ConventionDocument {
                header,
                annex_only: Some(id.clone()),
                parties: parties
                    .into_iter()
                    .filter(|p| keep.contains(&p.id.as_str()))
                    .collect(),
                visas: articles::visas(s),
                articles: Vec::new(),
                annexes: vec![annexes::bilateral(s, r, i + 1)],
                certificate: certificate::certificate(s, Some(&keep)),
            })
        }
    }
}

/// The parties in the order of the convention: the bailleur, the EPCI's secretariat, then the
/// réservataires as the version lists them.
fn parties(s: &Sources<'_>) -> Vec<Party> {
    let mut ids: Vec<String> = vec!["bailleur".into(), "secretariat".into()];
    ids.extend(s.doc.scenario.reservataires.iter().map(|r| r.id.clone()));
    ids.into_iter()
        .filter_map(|id| {
            let record = s.parties.iter().find(|p| p.party == id);
            let reservataire = s.doc.scenario.reservataires.iter().find(|r| r.id == id);
            let name = match (record, reservataire, id.as_str()) {
                (_, Some(r), _) => r.name.clone(),
                (Some(p), None, _) => p.name.clone(),
                (None, None, "bailleur") => s.doc.bailleur.name.clone(),
                (None, None, _) => return None,
            };
            let kind = match (id.as_str(), reservataire) {
                ("bailleur", _) => "bailleur social".to_owned(),
                ("secretariat", _) => {
                    "EPCI, pour la conférence intercommunale du logement".to_owned()
                }
                (_, Some(r)) => format!("réservataire — {}", kind_label(&r.kind)),
                _ => "partie".to_owned(),
            };
            let (signatory, mandate) = signatory_of(s, &id);
            Some(Party {
                id,
                name,
                kind,
                signatory,
                mandate,
            })
        })
        .collect()
}

/// Who signs for `party`: the signer of its valid signature, else its named signatory.
pub(crate) fn signatory_of(s: &Sources<'_>, party: &str) -> (String, String) {
    if let Some(sig) = s.signatures.iter().find(|g| g.record.party == party) {
        return (sig.record.signer_name.clone(), sig.record.mandate.clone());
    }
    // Whoever may sign for the party (for the EPCI, the CIL's secretariat): the first one named.
    s.members
        .iter()
        .filter(|m| m.party == party && m.role.signs_for(party))
        .min_by_key(|m| m.user_id)
        .map(|m| (m.name.clone(), m.mandate.clone()))
        .unwrap_or_default()
}

/// The name of a party or row of the table, by id.
pub(crate) fn party_label(s: &Sources<'_>, id: &str) -> String {
    if id == NON_RESERVE {
        return "Flux non réservé (bailleur)".into();
    }
    s.doc
        .scenario
        .reservataires
        .iter()
        .find(|r| r.id == id)
        .map(|r| r.name.clone())
        .or_else(|| {
            s.parties
                .iter()
                .find(|p| p.party == id)
                .map(|p| p.name.clone())
        })
        .unwrap_or_else(|| id.to_owned())
}

pub(crate) fn commune_label(s: &Sources<'_>, insee: &str) -> String {
    match s.communes.get(insee) {
        Some(name) => format!("{name} ({insee})"),
        None => insee.to_owned(),
    }
}

pub(crate) fn kind_label(kind: &str) -> &'static str {
    match kind {
        "etat" => "État, contingent préfectoral",
        "etat_fonctionnaires" => "État, agents civils et militaires",
        "commune" => "commune",
        "epci" => "établissement public de coopération intercommunale",
        "action_logement" => "Action Logement Services",
        "departement" => "département",
        "region" => "région",
        _ => "autre réservataire",
    }
}

pub(crate) fn basis_label(basis: &str) -> &'static str {
    match basis {
        "garantie_emprunt" => "garantie d'emprunt",
        "apport_terrain" => "apport de terrain",
        "financement" => "financement",
        "contingent_prefectoral" => "contingent préfectoral",
        "fonctionnaires" => "logement des agents de l'État",
        "action_logement" => "participation des employeurs à l'effort de construction",
        _ => "autre contrepartie",
    }
}

/// « 25,5 % ».
pub(crate) fn percent(value: &str) -> String {
    format!(
        "{}\u{a0}%",
        crate::render::pages::convention::french_decimal(value)
    )
}

/// « 1 logement », « 45 logements » (in French, 0 and 1 take the singular).
pub(crate) fn counted(n: u64, singular: &str, plural: &str) -> String {
    format!("{} {}", integer(n), if n > 1 { plural } else { singular })
}

pub(crate) fn integer(n: u64) -> String {
    crate::render::charts::french_integer(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The three commitments of a party, in words.
pub(crate) fn commitments_sentence(c: &RawCommitments) -> String {
    format!(
        "au moins {} de ses attributions annuelles à des ménages reconnus prioritaires au titre du droit au logement opposable ou de l'article L. 441-1 ; au moins {} de ses attributions suivies d'un bail signé hors quartier prioritaire à des demandeurs du premier quartile de ressources ; au moins {} de ses attributions en quartier prioritaire à des demandeurs des autres quartiles",
        percent(&c.priority),
        percent(&c.q1_hors_qpv),
        percent(&c.non_q1_qpv)
    )
}

/// The rate of a réservataire and where it applies, in words.
pub(crate) fn rate_sentence(s: &Sources<'_>, r: &RawReservataire) -> String {
    let scope = match &r.scope {
        None => {
            "du flux annuel de l'ensemble du patrimoine du bailleur sur le territoire de l'EPCI"
                .to_owned()
        }
        Some(communes) => format!(
            "du flux annuel du patrimoine situé sur {} : {}",
            if communes.len() == 1 {
                "la commune"
            } else {
                "les communes"
            },
            communes
                .iter()
                .map(|c| commune_label(s, c))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    format!("{} {scope}", percent(&r.share))
}

/// The free clauses of the secretariat whose id is `id`.
pub(crate) fn clauses_with_id(clauses: &[Clause], ids: &[&str]) -> Vec<FreeClause> {
    clauses
        .iter()
        .filter(|c| ids.contains(&c.id.as_str()))
        .map(|c| FreeClause {
            title: c.title.clone(),
            text: c.text.clone(),
        })
        .collect()
}
