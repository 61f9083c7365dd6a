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
    fn timestamps_have_milliseconds_and_z() {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
            + chrono::Duration::milliseconds(123);
        assert_eq!(timestamp(at), "2026-11-23T12:00:00.123Z");
        let whole = Utc.with_ymd_and_hms(2027, 2, 28, 23, 59, 59).unwrap();
        assert_eq!(timestamp(whole), "2027-02-28T23:59:59.000Z");
    }
}
