//! What the document is made of besides the sealed version, as one owned value: the service
//! reads it around the version, and the PDF embeds it (JSON) so that `verify` can render the
//! same document again offline, from the version's text and these inputs alone.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Approval, Scope, Sources, StockRight};
use crate::domain::territory::Epci;
use crate::services::conventions::document::TypedDocument;
use crate::signing::PublicSignature;
use crate::store::conventions::{MemberRecord, PartyRecord};

/// The owned form of [`Sources`], less the version document itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentInputs {
    /// The version's SHA-256.
    pub hash: String,
    pub locked: bool,
    pub approval_required: bool,
    pub parties: Vec<PartyRecord>,
    /// The members who may speak for a party (see [`speaking_members`]).
    pub members: Vec<MemberRecord>,
    /// The signatures that count for this version, each as its public extract with the
    /// extract's seal (no e-mail, IP address or browser: the PDF embeds these inputs).
    pub signatures: Vec<PublicSignature>,
    /// INSEE code → name.
    pub communes: BTreeMap<String, String>,
    pub epci: Option<Epci>,
    pub stock: Option<Vec<StockRight>>,
    pub approval: Option<Approval>,
    pub experiment_years: u32,
    /// The platform's public key (hex).
    pub public_key: String,
}

impl DocumentInputs {
    /// The sources of the document of `doc` (the version these inputs were read for).
    pub fn sources<'a>(&'a self, doc: &'a TypedDocument) -> Sources<'a> {
        Sources {
            doc,
            hash: &self.hash,
            locked: self.locked,
            approval_required: self.approval_required,
            parties: &self.parties,
            members: &self.members,
            signatures: &self.signatures,
            communes: &self.communes,
            epci: self.epci.as_ref(),
            stock: self.stock.as_deref(),
            approval: self.approval.clone(),
            experiment_years: self.experiment_years,
            public_key: &self.public_key,
        }
    }
}

impl DocumentInputs {
    /// What one réservataire's annex needs: the signatures and signatories of the bailleur and
    /// of that réservataire only, so that its PDF carries no other party's signature record.
    #[must_use]
    pub fn for_scope(mut self, scope: &Scope) -> DocumentInputs {
        if let Scope::Annex(party) = scope {
            let keep = |p: &str| p == "bailleur" || p == party;
            self.signatures.retain(|s| keep(&s.record.party));
            self.members.retain(|m| keep(&m.party));
        }
        self
    }
}

/// The members the document may name: a party's signatories and the CIL's secretariat (who
/// speaks for the EPCI), without their e-mail address, which the document never shows.
pub fn speaking_members(members: &[MemberRecord]) -> Vec<MemberRecord> {
    members
        .iter()
        .filter(|m| m.role.signs_for(&m.party))
        .map(|m| MemberRecord {
            email: String::new(),
            ..m.clone()
        })
        .collect()
}
