//! What a signature seals: who signed which version, in which capacity, when and how.

use chrono::{DateTime, SecondsFormat, Utc};

use super::canonical::to_canonical;

/// The facts of one signature (issue 4, item 6). The platform seals `canonical()`, so editing
/// any field afterwards, even a space in the mandate, makes the seal fail.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct SignatureRecord {
    pub convention_id: i64,
    /// The SHA-256 of the signed version: a signature targets content, not a row.
    pub version_hash: String,
    /// The party's id in the convention: `etat`, `commune-69801`, `bailleur`, `secretariat`…
    pub party: String,
    pub party_name: String,
    pub signer_id: i64,
    pub signer_name: String,
    pub signer_email: String,
    /// The capacity in which the signer commits the party (« Préfet du Rhône, par délégation »).
    pub mandate: String,
    /// RFC 3339, UTC, milliseconds (see [`timestamp`]).
    pub signed_at: String,
    pub ip: String,
    pub user_agent: String,
    /// How the signer re-authenticated, e.g. `mot_de_passe`.
    pub method: String,
    /// The SHA-256 of the PDF of the convention document the signer was shown (DESIGN §4.6).
    /// Absent from the signatures recorded before the PDF existed: their seals stay valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_sha256: Option<String>,
}

impl SignatureRecord {
    /// The canonical JSON of the record: the exact text the seal covers.
    pub fn canonical(&self) -> String {
        // Only strings and integers: the canonical form always exists.
        to_canonical(self)
            .expect("un enregistrement de signature n'a que des chaînes et des entiers")
    }
}

/// The `form` of a [`PublicRecord`]: its canonical text can never be that of a
/// [`SignatureRecord`], so that a seal of one is never taken for a seal of the other.
pub const PUBLIC_FORM: &str = "extrait-public/1";

/// What a document sent to every party publishes of a signature: what its certificate prints
/// and what binds it to the version and to the PDF read, without the signer's e-mail address,
/// IP address and browser, which stay in the platform and its evidence bundle. No digest of
/// those either: an IP address is 32 bits, its SHA-256 is reversed by trying them all.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PublicRecord {
    /// [`PUBLIC_FORM`].
    pub form: String,
    pub convention_id: i64,
    pub version_hash: String,
    pub party: String,
    pub party_name: String,
    pub signer_name: String,
    pub mandate: String,
    pub signed_at: String,
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_sha256: Option<String>,
}

impl PublicRecord {
    /// The canonical JSON of the extract: the exact text its seal covers.
    pub fn canonical(&self) -> String {
        to_canonical(self).expect("un extrait de signature n'a que des chaînes et des entiers")
    }
}

impl SignatureRecord {
    /// The public extract of this record ([`PublicRecord`]).
    pub fn public_extract(&self) -> PublicRecord {
        PublicRecord {
            form: PUBLIC_FORM.to_owned(),
            convention_id: self.convention_id,
            version_hash: self.version_hash.clone(),
            party: self.party.clone(),
            party_name: self.party_name.clone(),
            signer_name: self.signer_name.clone(),
            mandate: self.mandate.clone(),
            signed_at: self.signed_at.clone(),
            method: self.method.clone(),
            document_sha256: self.document_sha256.clone(),
        }
    }
}

/// A signature as a document publishes it: its public extract and the platform's seal of
/// that extract, checked offline like the record's own seal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PublicSignature {
    pub record: PublicRecord,
    /// Ed25519 of `record.canonical()` by the platform's key, base64.
    pub seal: String,
}

impl PublicSignature {
    /// The extract of `record`, sealed with `key` only when `seal` is `key`'s seal of the whole
    /// record: a record edited in the database is not laundered into a valid extract (its
    /// extract then carries no seal, which every check refuses). Ed25519 is deterministic: the
    /// same record gives the same extract seal, and the document the same bytes.
    pub fn of(record: &SignatureRecord, seal: &str, key: &super::PlatformKey) -> PublicSignature {
        let extract = record.public_extract();
        let valid = super::verify_seal(&key.public_key_hex(), &record.canonical(), seal).is_ok();
        let seal = if valid {
            key.seal(&extract.canonical())
        } else {
            String::new()
        };
        PublicSignature {
            record: extract,
            seal,
        }
    }
}

/// The one timestamp format of signatures and audit events: RFC 3339, UTC, milliseconds,
/// `Z` suffix (`2026-11-23T12:00:00.123Z`). A fixed form keeps hashes reproducible.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn sample() -> SignatureRecord {
        SignatureRecord {
            convention_id: 7,
            version_hash: "ab".repeat(32),
            party: "etat".to_owned(),
            party_name: "État".to_owned(),
            signer_id: 12,
            signer_name: "Camille Martin".to_owned(),
            signer_email: "camille.martin@rhone.gouv.fr".to_owned(),
            mandate: "Préfet du Rhône, par délégation".to_owned(),
            signed_at: "2026-11-23T12:00:00.123Z".to_owned(),
            ip: "192.0.2.10".to_owned(),
            user_agent: "Mozilla/5.0 \"test\"".to_owned(),
            method: "mot_de_passe".to_owned(),
            document_sha256: None,
        }
    }

    #[test]
    fn canonical_form_of_a_record_is_fixed() {
        let expected = format!(
            "{{\"convention_id\":7,\"ip\":\"192.0.2.10\",\"mandate\":\"Préfet du Rhône, par délégation\",\
             \"method\":\"mot_de_passe\",\"party\":\"etat\",\"party_name\":\"État\",\
             \"signed_at\":\"2026-11-23T12:00:00.123Z\",\"signer_email\":\"camille.martin@rhone.gouv.fr\",\
             \"signer_id\":12,\"signer_name\":\"Camille Martin\",\
             \"user_agent\":\"Mozilla/5.0 \\\"test\\\"\",\"version_hash\":\"{}\"}}",
            "ab".repeat(32)
        );
        assert_eq!(sample().canonical(), expected);
    }

    #[test]
    fn the_public_extract_leaves_out_email_ip_and_browser_and_has_its_own_seal() {
        let record = SignatureRecord {
            document_sha256: Some("cd".repeat(32)),
            ..sample()
        };
        let extract = record.public_extract();
        let expected = format!(
            "{{\"convention_id\":7,\"document_sha256\":\"{}\",\"form\":\"extrait-public/1\",\
             \"mandate\":\"Préfet du Rhône, par délégation\",\"method\":\"mot_de_passe\",\
             \"party\":\"etat\",\"party_name\":\"État\",\"signed_at\":\"2026-11-23T12:00:00.123Z\",\
             \"signer_name\":\"Camille Martin\",\"version_hash\":\"{}\"}}",
            "cd".repeat(32),
            "ab".repeat(32)
        );
        assert_eq!(extract.canonical(), expected);
        let key = crate::signing::PlatformKey::from_seed([3; 32]);
        let seal = key.seal(&record.canonical());
        let public = PublicSignature::of(&record, &seal, &key);
        assert_eq!(public.record, extract);
        assert_ne!(public.seal, seal, "the extract's own seal");
        assert_eq!(
            crate::signing::verify_seal(&key.public_key_hex(), &expected, &public.seal),
            Ok(())
        );
        // Deterministic: the same record, the same extract seal.
        assert_eq!(PublicSignature::of(&record, &seal, &key), public);
        // The extract's seal is not a seal of the record, nor the record's of the extract.
        assert!(
            crate::signing::verify_seal(&key.public_key_hex(), &record.canonical(), &public.seal)
                .is_err()
        );
        // A record edited after its seal gets no valid extract seal.
        let edited = SignatureRecord {
            mandate: "Maire".into(),
            ..record.clone()
        };
        assert_eq!(PublicSignature::of(&edited, &seal, &key).seal, "");
        // A seal of another key neither.
        let other = crate::signing::PlatformKey::from_seed([4; 32]);
        assert_eq!(
            PublicSignature::of(&record, &other.seal(&record.canonical()), &key).seal,
            ""
        );
    }

    #[test]
    fn timestamps_have_milliseconds_and_z() {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
            + chrono::Duration::milliseconds(123);
        assert_eq!(timestamp(at), "2026-11-23T12:00:00.123Z");
        let whole = Utc.with_ymd_and_hms(2027, 2, 28, 23, 59, 59).unwrap();
        assert_eq!(timestamp(whole), "2027-02-28T23:59:59.000Z");
    }
}
