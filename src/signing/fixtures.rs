//! A small signed convention, built with the public API, for the tampering tests.

use serde_json::json;

use super::{
    AuditEvent, PlatformKey, SignatureRecord, StoredSignature, StoredVersion, Verification,
    canonical_json, sha256_hex, verify_convention,
};

pub(crate) struct Fixture {
    pub key: PlatformKey,
    pub versions: Vec<StoredVersion>,
    pub signatures: Vec<StoredSignature>,
    pub events: Vec<AuditEvent>,
}

impl Fixture {
    pub fn verify(&self) -> Verification {
        verify_convention(
            &self.key.public_key_hex(),
            &self.versions,
            &self.signatures,
            &self.events,
        )
    }
}

/// The canonical text of a version document.
pub(crate) fn version_document(number: i64, parent: Option<&str>, etat_share: &str) -> String {
    canonical_json(&json!({
        "number": number,
        "parent": parent,
        "shares": {"etat": etat_share, "commune-69801": "10.00", "bailleur": "0.00"},
        "clauses": [{"id": "art-1", "texte": "Objet de la convention « flux »"}],
    }))
    .unwrap()
}

/// Convention 7: versions 1–3 (ids 11–13); signature 20 (etat) on version 2, voided by
/// version 3; signatures 21–23 (etat, bailleur, commune-69801) on version 3; nine audit events.
pub(crate) fn fixture() -> Fixture {
    fixture_for(7)
}

/// The same shape for another convention (ids shifted so rows never collide).
pub(crate) fn fixture_for(convention_id: i64) -> Fixture {
    let key = PlatformKey::from_seed([42; 32]);
    let offset = (convention_id - 7) * 100;
    let shares = ["25.00", "25.00", "30.00"];
    let mut versions: Vec<StoredVersion> = Vec::new();
    for (i, share) in shares.iter().enumerate() {
        let number = i as i64 + 1;
        let parent = versions.last().map(|p| p.hash.clone());
        let document = version_document(number, parent.as_deref(), share);
        versions.push(StoredVersion {
            id: 10 + number + offset,
            convention_id,
            number,
            parent_hash: parent,
            hash: sha256_hex(document.as_bytes()),
            document,
            locked: number == 3,
        });
    }

    let sign = |id: i64, round_id: i64, version: &StoredVersion, party: &str, name: &str| {
        let record = SignatureRecord {
            convention_id,
            version_hash: version.hash.clone(),
            party: party.to_owned(),
            party_name: name.to_owned(),
            signer_id: id + 100,
            signer_name: format!("Signataire {id}"),
            signer_email: format!("signataire{id}@example.fr"),
            mandate: format!("Représentant de {name}"),
            signed_at: format!("2026-11-23T12:00:{:02}.123Z", id - 20),
            ip: "192.0.2.10".to_owned(),
            user_agent: "Mozilla/5.0".to_owned(),
            method: "mot_de_passe".to_owned(),
            document_sha256: None,
        };
        let seal = key.seal(&record.canonical());
        StoredSignature {
            id: id + offset,
            round_id: round_id + offset,
            record,
            seal,
        }
    };
    let signatures = vec![
        sign(20, 4, &versions[1], "etat", "État"),
        sign(21, 5, &versions[2], "etat", "État"),
        sign(22, 5, &versions[2], "bailleur", "OPH Métropole"),
        sign(
            23,
            5,
            &versions[2],
            "commune-69801",
            "Commune de Villeurbanne",
        ),
    ];

    let steps = [
        ("convention_ouverte", json!({"titre": "Convention 2027"})),
        ("version_creee", json!({"number": 1})),
        (
            "version_creee",
            json!({"number": 2, "reason": "consolidation"}),
        ),
        ("signature", json!({"signature_id": 20})),
        ("version_creee", json!({"number": 3, "reason": "arbitrage"})),
        ("signature", json!({"signature_id": 21})),
        ("signature", json!({"signature_id": 22})),
        ("signature", json!({"signature_id": 23})),
        ("version_verrouillee", json!({"number": 3})),
    ];
    let mut events: Vec<AuditEvent> = Vec::new();
    for (i, (kind, payload)) in steps.into_iter().enumerate() {
        let event = AuditEvent::next(
            events.last(),
            convention_id,
            format!("2026-11-{:02}T09:00:00.000Z", i + 1),
            (i % 2 == 0).then(|| "user:3 (Alex Durand)".to_owned()),
            kind,
            payload,
            None,
        )
        .unwrap();
        events.push(event);
    }

    Fixture {
        key,
        versions,
        signatures,
        events,
    }
}
