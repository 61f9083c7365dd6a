//! Offline integrity checks of versions, signatures and the audit chain.
//!
//! Whoever runs `convention-flux verify` is often not a developer (a State auditor, a
//! bailleur's lawyer): each problem is a French sentence with a location precise enough to find
//! the row (« version n° 3 (id 17) »), and the checks keep going after the first problem so one
//! run lists everything that was edited.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::Value;

use super::audit::{AuditEvent, GENESIS_HASH};
use super::canonical::{canonical_json, sha256_hex};
use super::record::SignatureRecord;
use super::seal::{SealError, parse_public_key, verify_seal_with};

/// One problem found, located.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub convention_id: i64,
    /// Where to look: « version n° 3 (id 17) », « événement d'audit n° 12 », « signature n° 4 de etat ».
    pub location: String,
    /// What is wrong, in French, starting in lower case (it follows the location).
    pub problem: String,
}

/// The outcome of a verification: what was checked and what is wrong.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Verification {
    pub checked_versions: usize,
    pub checked_signatures: usize,
    pub checked_events: usize,
    /// Rows compared with the last state the audit chain recorded of them (database only).
    pub checked_rows: usize,
    /// Signed PDFs of a bundle checked (bundle only).
    pub checked_documents: usize,
    pub findings: Vec<Finding>,
}

impl Verification {
    pub fn is_ok(&self) -> bool {
        self.findings.is_empty()
    }

    /// Adds another verification's counts and findings (e.g. one per convention of a database).
    pub fn merge(&mut self, other: Verification) {
        self.checked_versions += other.checked_versions;
        self.checked_signatures += other.checked_signatures;
        self.checked_events += other.checked_events;
        self.checked_rows += other.checked_rows;
        self.checked_documents += other.checked_documents;
        self.findings.extend(other.findings);
    }

    /// A report for a person: counts, then one line per finding.
    pub fn to_french_text(&self) -> String {
        let mut text = format!(
            "Contrôle d'intégrité : {}, {} et {} vérifiés.\n",
            count(self.checked_versions, "version", "versions"),
            count(self.checked_signatures, "signature", "signatures"),
            count(
                self.checked_events,
                "événement d'audit",
                "événements d'audit"
            ),
        );
        if self.checked_rows > 0 {
            text.push_str(&format!(
                "{} au dernier état enregistré au journal d'audit.\n",
                count(self.checked_rows, "ligne comparée", "lignes comparées")
            ));
        }
        if self.checked_documents > 0 {
            text.push_str(&format!(
                "{} : empreinte, texte joint, sceaux et rendu identique à la version.\n",
                count(
                    self.checked_documents,
                    "document PDF signé vérifié",
                    "documents PDF signés vérifiés"
                )
            ));
        }
        if self.is_ok() {
            text.push_str(
                "Aucune anomalie : chaque empreinte, chaque sceau et chaque maillon de la chaîne \
                 d'audit est conforme.\n",
            );
        } else {
            let n = self.findings.len();
            text.push_str(&format!(
                "{} :\n",
                count(n, "anomalie détectée", "anomalies détectées")
            ));
            for f in &self.findings {
                text.push_str(&format!(
                    "- convention {}, {} : {}\n",
                    f.convention_id, f.location, f.problem
                ));
            }
        }
        text
    }
}

fn count(n: usize, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n < 2 { singular } else { plural })
}

/// A version row as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct StoredVersion {
    pub id: i64,
    pub convention_id: i64,
    pub number: i64,
    pub parent_hash: Option<String>,
    pub hash: String,
    /// The canonical JSON text, byte for byte as stored and hashed.
    pub document: String,
    pub locked: bool,
}

/// A signature row as stored: the record and its seal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct StoredSignature {
    pub id: i64,
    pub round_id: i64,
    pub record: SignatureRecord,
    pub seal: String,
}

/// Checks versions, signatures and audit events, grouped by convention (the slices may hold
/// one convention or several; order does not matter).
///
/// - Every version: `sha256(document) == hash`; the document is canonical (re-canonicalising
///   gives the same text); its own `number` and `parent` fields, when present, agree with the
///   row; numbers run 1..n without gap or duplicate; a `parent_hash` on version n equals the
///   hash of version n − 1.
/// - Every signature: its seal verifies with `public_key_hex` over `record.canonical()`; its
///   `version_hash` is one of the convention's versions.
/// - Audit: seq runs 1..n without gap or duplicate, each `prev_hash` is the previous event's
///   hash (the first one's is [`GENESIS_HASH`]), each hash is recomputed. A convention with
///   versions or signatures but no event at all has lost its journal.
pub fn verify_convention(
    public_key_hex: &str,
    versions: &[StoredVersion],
    signatures: &[StoredSignature],
    events: &[AuditEvent],
) -> Verification {
    let mut findings = Vec::new();
    let key = parse_public_key(public_key_hex);

    let conventions: BTreeSet<i64> = versions
        .iter()
        .map(|v| v.convention_id)
        .chain(signatures.iter().map(|s| s.record.convention_id))
        .chain(events.iter().map(|e| e.convention_id))
        .collect();
    for convention_id in conventions {
        let mut own_versions: Vec<&StoredVersion> = versions
            .iter()
            .filter(|v| v.convention_id == convention_id)
            .collect();
        own_versions.sort_by_key(|v| (v.number, v.id));
        let own_signatures: Vec<&StoredSignature> = signatures
            .iter()
            .filter(|s| s.record.convention_id == convention_id)
            .collect();
        let mut own_events: Vec<&AuditEvent> = events
            .iter()
            .filter(|e| e.convention_id == convention_id)
            .collect();
        // Stable: two events claiming the same seq stay in the order given.
        own_events.sort_by_key(|e| e.seq);

        let mut found = Found {
            convention_id,
            findings: &mut findings,
        };
        check_versions(&mut found, &own_versions);
        match &key {
            Ok(key) => check_signatures(&mut found, Some(key), &own_signatures, &own_versions),
            Err(e) => {
                if !own_signatures.is_empty() {
                    found.push(
                        "clé publique de la plateforme".to_owned(),
                        format!("{e} ; aucun sceau n'a pu être vérifié"),
                    );
                }
                check_signatures(&mut found, None, &own_signatures, &own_versions);
            }
        }
        let has_content = !own_versions.is_empty() || !own_signatures.is_empty();
        check_audit(&mut found, &own_events, has_content);
    }

    Verification {
        checked_versions: versions.len(),
        checked_signatures: signatures.len(),
        checked_events: events.len(),
        checked_rows: 0,
        checked_documents: 0,
        findings,
    }
}

/// Findings of one convention being collected.
struct Found<'a> {
    convention_id: i64,
    findings: &'a mut Vec<Finding>,
}

impl Found<'_> {
    fn push(&mut self, location: String, problem: String) {
        self.findings.push(Finding {
            convention_id: self.convention_id,
            location,
            problem,
        });
    }
}

/// Enough of a hash to recognise it in a table, short enough to read.
fn short(hash: &str) -> String {
    let head: String = hash.chars().take(12).collect();
    if head.len() < hash.len() {
        format!("{head}…")
    } else {
        head
    }
}

fn version_location(v: &StoredVersion) -> String {
    format!("version n° {} (id {})", v.number, v.id)
}

fn check_versions(found: &mut Found<'_>, versions: &[&StoredVersion]) {
    for v in versions {
        check_version_content(found, v);
    }

    // Numbering and parent links, in number order.
    let mut expected = 1;
    let mut previous: Option<&StoredVersion> = None;
    for v in versions {
        if v.number < expected {
            let problem = match previous {
                Some(p) if p.number == v.number => format!(
                    "numéro de version en double (déjà porté par la version id {})",
                    p.id
                ),
                _ => "numéro de version invalide : les versions sont numérotées à partir de 1"
                    .to_owned(),
            };
            found.push(version_location(v), problem);
            continue;
        }
        if v.number > expected {
            let location = if v.number == expected + 1 {
                format!("version n° {expected}")
            } else {
                format!("versions n° {expected} à {}", v.number - 1)
            };
            let problem = if expected == 1 {
                format!(
                    "manquante : la première version présente porte le numéro {}",
                    v.number
                )
            } else {
                format!(
                    "manquante : les numéros passent de {} à {} (version supprimée ou renumérotée)",
                    expected - 1,
                    v.number
                )
            };
            found.push(location, problem);
        }
        if let (Some(parent), Some(p)) = (&v.parent_hash, previous)
            && p.number == v.number - 1
            && *parent != p.hash
        {
            found.push(
                version_location(v),
                format!(
                    "la version parente enregistrée ({}) n'est pas la version n° {} ({}) : \
                     l'une des deux a été modifiée",
                    short(parent),
                    p.number,
                    short(&p.hash)
                ),
            );
        }
        expected = v.number + 1;
        previous = Some(v);
    }
}

/// Hash, canonical form and the document's own `number` and `parent` fields.
fn check_version_content(found: &mut Found<'_>, v: &StoredVersion) {
    let computed = sha256_hex(v.document.as_bytes());
    if computed != v.hash {
        found.push(
            version_location(v),
            format!(
                "l'empreinte enregistrée ({}) ne correspond pas au document (empreinte \
                 recalculée : {}) : le document ou son empreinte a été modifié",
                short(&v.hash),
                short(&computed)
            ),
        );
    }
    let document: Value = match serde_json::from_str(&v.document) {
        Ok(document) => document,
        Err(e) => {
            found.push(
                version_location(v),
                format!(
                    "le document n'est pas du JSON valide (ligne {}, colonne {})",
                    e.line(),
                    e.column()
                ),
            );
            return;
        }
    };
    match canonical_json(&document) {
        Ok(text) if text == v.document => {}
        Ok(_) => found.push(
            version_location(v),
            "le document n'est pas sous forme canonique (espaces, ordre des clés ou \
             échappements modifiés) : il a été réécrit hors de la plateforme"
                .to_owned(),
        ),
        Err(e) => found.push(
            version_location(v),
            format!("le document n'a pas de forme canonique : {e}"),
        ),
    }
    if let Some(number) = document.get("number")
        && number.as_i64() != Some(v.number)
    {
        found.push(
            version_location(v),
            format!(
                "le document indique le numéro {number} mais la ligne porte le numéro {}",
                v.number
            ),
        );
    }
    if let Some(parent) = document.get("parent") {
        let agrees = match (parent, &v.parent_hash) {
            (Value::Null, None) => true,
            (Value::String(p), Some(h)) => p == h,
            _ => false,
        };
        if !agrees {
            let in_document = match parent {
                Value::String(p) => short(p),
                Value::Null => "aucune".to_owned(),
                other => other.to_string(),
            };
            let in_row = v.parent_hash.as_deref().map_or("aucune".to_owned(), short);
            found.push(
                version_location(v),
                format!(
                    "le document désigne la version parente {in_document} mais la ligne {in_row}"
                ),
            );
        }
    }
}

/// `key` is `None` when the public key itself is unusable (already reported once).
fn check_signatures(
    found: &mut Found<'_>,
    key: Option<&ed25519_dalek::VerifyingKey>,
    signatures: &[&StoredSignature],
    versions: &[&StoredVersion],
) {
    let known: HashSet<&str> = versions.iter().map(|v| v.hash.as_str()).collect();
    for s in signatures {
        let location = format!("signature n° {} de {}", s.id, s.record.party);
        if let Some(key) = key {
            match verify_seal_with(key, &s.record.canonical(), &s.seal) {
                Ok(()) => {}
                Err(SealError::Mismatch) => found.push(
                    location.clone(),
                    "le sceau ne correspond pas à l'enregistrement : un champ (signataire, \
                     mandat, date, version…) a été modifié, ou le sceau a été remplacé"
                        .to_owned(),
                ),
                Err(e) => found.push(location.clone(), e.to_string()),
            }
        }
        if !known.contains(s.record.version_hash.as_str()) {
            found.push(
                location,
                format!(
                    "porte sur une version introuvable ({}) : la version signée a été \
                     supprimée ou son empreinte modifiée",
                    short(&s.record.version_hash)
                ),
            );
        }
    }
}

fn event_location(seq: i64) -> String {
    format!("événement d'audit n° {seq}")
}

/// `events` are sorted by seq.
fn check_audit(found: &mut Found<'_>, events: &[&AuditEvent], has_content: bool) {
    if events.is_empty() {
        if has_content {
            found.push(
                "journal d'audit".to_owned(),
                "aucun événement alors que la convention a des versions ou des signatures : \
                 le journal a été vidé"
                    .to_owned(),
            );
        }
        return;
    }
    let mut first_with_seq: HashMap<i64, &AuditEvent> = HashMap::new();
    let mut expected = 1;
    let mut previous: Option<&AuditEvent> = None;
    for e in events {
        let location = event_location(e.seq);
        match e.computed_hash() {
            Ok(h) if h == e.hash => {}
            Ok(_) => found.push(
                location.clone(),
                "contenu modifié : l'empreinte recalculée ne correspond pas à celle \
                 enregistrée (date, auteur, type, contenu, numéro ou lien modifié)"
                    .to_owned(),
            ),
            Err(err) => found.push(location.clone(), format!("contenu illisible : {err}")),
        }
        if e.seq < expected {
            let problem = if first_with_seq.contains_key(&e.seq) {
                "présent en double : deux événements portent ce numéro".to_owned()
            } else {
                "numéro de séquence invalide : les événements sont numérotés à partir de 1"
                    .to_owned()
            };
            found.push(location, problem);
            continue;
        }
        first_with_seq.insert(e.seq, e);
        if e.seq > expected {
            let missing = if e.seq == expected + 1 {
                event_location(expected)
            } else {
                format!("événements d'audit n° {expected} à {}", e.seq - 1)
            };
            let problem = if expected == 1 {
                format!(
                    "manquant : la chaîne commence à l'événement n° {} (supprimé)",
                    e.seq
                )
            } else {
                format!(
                    "manquant : la chaîne passe de l'événement n° {} au n° {} (supprimé)",
                    expected - 1,
                    e.seq
                )
            };
            found.push(missing, problem);
            // The broken link of `e` is a consequence of the gap, already reported.
        } else {
            let expected_prev = previous.map_or(GENESIS_HASH, |p| p.hash.as_str());
            if e.prev_hash != expected_prev {
                let problem = match previous {
                    Some(p) => format!(
                        "le lien vers l'événement n° {} est rompu : l'un des deux a été \
                         modifié ou déplacé",
                        p.seq
                    ),
                    None => "le premier événement ne part pas de l'origine de la chaîne : \
                             des événements antérieurs ont été supprimés ou il a été modifié"
                        .to_owned(),
                };
                found.push(location, problem);
            }
        }
        expected = e.seq + 1;
        previous = Some(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::fixtures::{fixture, version_document};

    fn locations(v: &Verification) -> Vec<&str> {
        v.findings.iter().map(|f| f.location.as_str()).collect()
    }

    #[test]
    fn the_untouched_fixture_verifies() {
        let f = fixture();
        let v = f.verify();
        assert!(v.is_ok(), "{}", v.to_french_text());
        assert_eq!(
            (v.checked_versions, v.checked_signatures, v.checked_events),
            (3, 4, 9)
        );
        assert!(v.to_french_text().contains("Aucune anomalie"));
    }

    #[test]
    fn edited_version_document_is_named() {
        let mut f = fixture();
        f.versions[1].document = f.versions[1].document.replace("\"25.00\"", "\"30.00\"");
        let v = f.verify();
        assert_eq!(locations(&v), ["version n° 2 (id 12)"], "{v:#?}");
        assert!(v.findings[0].problem.contains("empreinte"));
        assert_eq!(v.findings[0].convention_id, 7);
    }

    #[test]
    fn edited_hash_column_is_named() {
        let mut f = fixture();
        f.versions[0].hash = "f".repeat(64);
        let v = f.verify();
        // The version itself, and version 2 whose parent was the original hash.
        assert_eq!(
            locations(&v),
            ["version n° 1 (id 11)", "version n° 2 (id 12)"],
            "{v:#?}"
        );
        assert!(v.findings[0].problem.contains("ffffffffffff…"));
        assert!(v.findings[1].problem.contains("parente"));
    }

    #[test]
    fn document_and_hash_edited_together_are_caught_by_the_child_and_the_signatures() {
        let mut f = fixture();
        // Version 3 is the signed one: rewrite it consistently (new text, matching hash).
        let forged = version_document(3, Some(&f.versions[1].hash), "40.00");
        f.versions[2].hash = sha256_hex(forged.as_bytes());
        f.versions[2].document = forged;
        let v = f.verify();
        assert_eq!(
            locations(&v),
            [
                "signature n° 21 de etat",
                "signature n° 22 de bailleur",
                "signature n° 23 de commune-69801"
            ],
            "{v:#?}"
        );
        assert!(v.findings.iter().all(|f| f.problem.contains("introuvable")));

        // Same on version 2, which has a child: the child's parent link names it.
        let mut f = fixture();
        let forged = version_document(2, Some(&f.versions[0].hash), "40.00");
        f.versions[1].hash = sha256_hex(forged.as_bytes());
        f.versions[1].document = forged;
        let v = f.verify();
        assert!(locations(&v).contains(&"version n° 3 (id 13)"), "{v:#?}");
        assert!(locations(&v).contains(&"signature n° 20 de etat"), "{v:#?}");
    }

    #[test]
    fn non_canonical_document_with_a_matching_hash_is_named() {
        let mut f = fixture();
        let pretty = serde_json::to_string_pretty(
            &serde_json::from_str::<Value>(&f.versions[0].document).unwrap(),
        )
        .unwrap();
        f.versions[0].hash = sha256_hex(pretty.as_bytes());
        f.versions[0].document = pretty;
        let v = f.verify();
        let first = &v.findings[0];
        assert_eq!(first.location, "version n° 1 (id 11)");
        assert!(first.problem.contains("forme canonique"), "{v:#?}");
    }

    #[test]
    fn a_float_in_a_document_is_named_with_its_path() {
        let mut f = fixture();
        let doc = f.versions[0].document.replace("\"25.00\"", "25.5");
        f.versions[0].hash = sha256_hex(doc.as_bytes());
        f.versions[0].document = doc;
        let v = f.verify();
        assert_eq!(v.findings[0].location, "version n° 1 (id 11)");
        assert!(v.findings[0].problem.contains("/shares/etat"), "{v:#?}");
    }

    #[test]
    fn document_number_or_parent_disagreeing_with_the_row_is_named() {
        let mut f = fixture();
        f.versions[2].parent_hash = None;
        let v = f.verify();
        assert_eq!(locations(&v), ["version n° 3 (id 13)"], "{v:#?}");
        assert!(v.findings[0].problem.contains("parente"));

        let mut f = fixture();
        f.versions[1].number = 5;
        let v = f.verify();
        assert!(
            v.findings
                .iter()
                .any(|x| x.location == "version n° 5 (id 12)" && x.problem.contains("numéro 2")),
            "{v:#?}"
        );
    }

    #[test]
    fn missing_version_number_is_named() {
        let mut f = fixture();
        f.versions.remove(1);
        let v = f.verify();
        // Signatures on version 2 now point to nothing, too.
        assert_eq!(
            locations(&v),
            ["version n° 2", "signature n° 20 de etat"],
            "{v:#?}"
        );
        assert!(v.findings[0].problem.contains("de 1 à 3"));

        let mut f = fixture();
        f.versions.remove(0);
        let v = f.verify();
        assert_eq!(locations(&v), ["version n° 1"], "{v:#?}");
    }

    #[test]
    fn duplicate_version_number_is_named() {
        let mut f = fixture();
        let mut copy = f.versions[2].clone();
        copy.id = 14;
        f.versions.push(copy);
        let v = f.verify();
        assert_eq!(locations(&v), ["version n° 3 (id 14)"], "{v:#?}");
        assert!(v.findings[0].problem.contains("double"));
    }

    #[test]
    fn edited_signature_record_field_is_named() {
        let mut f = fixture();
        f.signatures[2].record.mandate = "Directeur général".to_owned();
        let v = f.verify();
        assert_eq!(locations(&v), ["signature n° 22 de bailleur"], "{v:#?}");
        assert!(v.findings[0].problem.contains("sceau"));

        let mut f = fixture();
        f.signatures[1].record.signed_at = "2026-11-22T12:00:00.123Z".to_owned();
        let v = f.verify();
        assert_eq!(locations(&v), ["signature n° 21 de etat"], "{v:#?}");
    }

    #[test]
    fn wrong_seal_is_named() {
        let mut f = fixture();
        // A genuine seal, but of another record.
        f.signatures[3].seal = f.signatures[1].seal.clone();
        let v = f.verify();
        assert_eq!(
            locations(&v),
            ["signature n° 23 de commune-69801"],
            "{v:#?}"
        );

        let mut f = fixture();
        f.signatures[3].seal = "n'importe quoi".to_owned();
        let v = f.verify();
        assert_eq!(
            locations(&v),
            ["signature n° 23 de commune-69801"],
            "{v:#?}"
        );
        assert!(v.findings[0].problem.contains("mal encodé"));
    }

    #[test]
    fn seals_checked_with_another_key_all_fail() {
        let f = fixture();
        let other = crate::signing::PlatformKey::from_seed([1; 32]);
        let v = verify_convention(
            &other.public_key_hex(),
            &f.versions,
            &f.signatures,
            &f.events,
        );
        assert_eq!(v.findings.len(), 4, "{v:#?}");

        let v = verify_convention("pas une clé", &f.versions, &f.signatures, &f.events);
        assert_eq!(locations(&v), ["clé publique de la plateforme"], "{v:#?}");
    }

    #[test]
    fn edited_audit_payload_is_named() {
        let mut f = fixture();
        f.events[2].payload = serde_json::json!({"number": 2, "reason": "autre motif"});
        let v = f.verify();
        assert_eq!(locations(&v), ["événement d'audit n° 3"], "{v:#?}");
        assert!(v.findings[0].problem.contains("contenu modifié"));
    }

    #[test]
    fn edited_audit_payload_with_recomputed_hash_breaks_the_next_link() {
        let mut f = fixture();
        f.events[2].payload = serde_json::json!({"number": 2, "reason": "autre motif"});
        f.events[2].hash = f.events[2].computed_hash().unwrap();
        let v = f.verify();
        assert_eq!(locations(&v), ["événement d'audit n° 4"], "{v:#?}");
        assert!(v.findings[0].problem.contains("n° 3 est rompu"));
    }

    #[test]
    fn deleted_audit_event_is_named() {
        let mut f = fixture();
        f.events.remove(4);
        let v = f.verify();
        assert_eq!(locations(&v), ["événement d'audit n° 5"], "{v:#?}");
        assert!(v.findings[0].problem.contains("manquant"));

        let mut f = fixture();
        f.events.remove(0);
        let v = f.verify();
        assert_eq!(locations(&v), ["événement d'audit n° 1"], "{v:#?}");

        let mut f = fixture();
        f.events.clear();
        let v = f.verify();
        assert_eq!(locations(&v), ["journal d'audit"], "{v:#?}");
    }

    #[test]
    fn reordered_audit_events_are_named() {
        // Swapping the sequence numbers of events 5 and 6 rewrites the order of history.
        let mut f = fixture();
        f.events[4].seq = 6;
        f.events[5].seq = 5;
        let v = f.verify();
        let named: BTreeSet<&str> = locations(&v).into_iter().collect();
        assert_eq!(
            named,
            BTreeSet::from([
                "événement d'audit n° 5",
                "événement d'audit n° 6",
                "événement d'audit n° 7"
            ]),
            "{v:#?}"
        );
        // Both moved events fail their own hash (the seq is hashed).
        let edited: Vec<&str> = v
            .findings
            .iter()
            .filter(|f| f.problem.contains("contenu modifié"))
            .map(|f| f.location.as_str())
            .collect();
        assert_eq!(edited, ["événement d'audit n° 5", "événement d'audit n° 6"]);
    }

    #[test]
    fn duplicate_audit_event_is_named() {
        let mut f = fixture();
        let copy = f.events[3].clone();
        f.events.push(copy);
        let v = f.verify();
        assert_eq!(locations(&v), ["événement d'audit n° 4"], "{v:#?}");
        assert!(v.findings[0].problem.contains("double"));
    }

    #[test]
    fn conventions_are_checked_separately_and_the_text_lists_findings() {
        let mut a = fixture();
        let b = crate::signing::fixtures::fixture_for(8);
        a.events[0].kind = "autre".to_owned();
        let mut v = a.verify();
        v.merge(b.verify());
        assert_eq!(v.checked_versions, 6);
        assert_eq!(v.findings.len(), 1);
        let text = v.to_french_text();
        assert!(
            text.starts_with(
                "Contrôle d'intégrité : 6 versions, 8 signatures et 18 événements d'audit vérifiés.\n1 anomalie détectée :\n- convention 7, événement d'audit n° 1 : contenu modifié"
            ),
            "{text}"
        );

        // Both conventions in one call: the same result.
        let all = verify_convention(
            &a.key.public_key_hex(),
            &[a.versions.clone(), b.versions.clone()].concat(),
            &[a.signatures.clone(), b.signatures.clone()].concat(),
            &[b.events.clone(), a.events.clone()].concat(),
        );
        assert_eq!(all.findings, v.findings);
    }
}
