//! The audit trail: append-only events, one hash chain per convention.
//!
//! Each event carries the hash of the previous one, so editing, inserting or deleting an event
//! in the middle breaks the chain at a place the verifier can name. (Cutting the last events or
//! rewriting the whole tail consistently needs an anchor outside the chain, such as an exported
//! bundle or a sealed record quoting a recent hash.)

use serde_json::Value;

use super::canonical::{CanonicalError, sha256_hex, to_canonical};
use super::rows::RowState;

/// The `prev_hash` of the first event of a convention.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit event. `hash` covers every other field, `prev_hash` included.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AuditEvent {
    pub convention_id: i64,
    /// 1, 2, 3 … within the convention.
    pub seq: i64,
    /// RFC 3339, UTC, milliseconds (see [`super::timestamp`]).
    pub at: String,
    /// `user:12 (Prénom Nom)`, or `None` when the platform acts by itself.
    pub actor: Option<String>,
    /// `convention_ouverte`, `version_creee`, `signature`…
    pub kind: String,
    pub payload: Value,
    pub prev_hash: String,
    pub hash: String,
    /// The state of the rows this event's change created or changed (see [`super::rows`]);
    /// absent from events written before row states were recorded, whose hash stays the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<Vec<RowState>>,
}

/// The hashed part of an event: every field but `hash`, borrowed. `actor: None` is hashed as
/// `null` (not omitted) so that the hashed text has the same keys for every event.
#[derive(serde::Serialize)]
struct HashedFields<'a> {
    convention_id: i64,
    seq: i64,
    at: &'a str,
    actor: Option<&'a str>,
    kind: &'a str,
    payload: &'a Value,
    prev_hash: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rows: Option<&'a [RowState]>,
}

impl AuditEvent {
    /// Builds the event that follows `previous` (`None` for the first event of a convention).
    ///
    /// Fails only when `payload` holds a non-integer number: decimals must be strings there too,
    /// or the hash would depend on how a float happens to print.
    pub fn next(
        previous: Option<&AuditEvent>,
        convention_id: i64,
        at: String,
        actor: Option<String>,
        kind: &str,
        payload: Value,
        rows: Option<Vec<RowState>>,
    ) -> Result<AuditEvent, CanonicalError> {
        debug_assert!(
            previous.is_none_or(|p| p.convention_id == convention_id),
            "a chain never crosses conventions"
        );
        let (seq, prev_hash) = match previous {
            Some(p) => (p.seq + 1, p.hash.clone()),
            None => (1, GENESIS_HASH.to_owned()),
        };
        let mut event = AuditEvent {
            convention_id,
            seq,
            at,
            actor,
            kind: kind.to_owned(),
            payload,
            prev_hash,
            hash: String::new(),
            rows,
        };
        event.hash = event.computed_hash()?;
        Ok(event)
    }

    /// The hash this event should carry given its other fields.
    pub fn computed_hash(&self) -> Result<String, CanonicalError> {
        let fields = HashedFields {
            convention_id: self.convention_id,
            seq: self.seq,
            at: &self.at,
            actor: self.actor.as_deref(),
            kind: &self.kind,
            payload: &self.payload,
            prev_hash: &self.prev_hash,
            rows: self.rows.as_deref(),
        };
        Ok(sha256_hex(to_canonical(&fields)?.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sha2::{Digest, Sha256};

    fn sha2_hex(text: &str) -> String {
        Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn genesis_is_64_zeros() {
        assert_eq!(GENESIS_HASH.len(), 64);
        assert!(GENESIS_HASH.bytes().all(|b| b == b'0'));
    }

    #[test]
    fn first_event_hash_is_the_sha256_of_a_fixed_text() {
        let event = AuditEvent::next(
            None,
            7,
            "2026-09-01T08:00:00.000Z".to_owned(),
            None,
            "convention_ouverte",
            json!({"titre": "Convention 2027", "bailleur": "OPH"}),
            None,
        )
        .unwrap();
        assert_eq!(event.seq, 1);
        assert_eq!(event.prev_hash, GENESIS_HASH);
        let text = format!(
            "{{\"actor\":null,\"at\":\"2026-09-01T08:00:00.000Z\",\"convention_id\":7,\
             \"kind\":\"convention_ouverte\",\"payload\":{{\"bailleur\":\"OPH\",\"titre\":\"Convention 2027\"}},\
             \"prev_hash\":\"{GENESIS_HASH}\",\"seq\":1}}"
        );
        assert_eq!(event.hash, sha2_hex(&text));
    }

    #[test]
    fn next_links_to_the_previous_event() {
        let first = AuditEvent::next(None, 7, "t1".into(), None, "a", json!({}), None).unwrap();
        let second = AuditEvent::next(
            Some(&first),
            7,
            "t2".into(),
            Some("user:12 (Camille Martin)".into()),
            "version_creee",
            json!({"number": 1}),
            None,
        )
        .unwrap();
        assert_eq!(second.seq, 2);
        assert_eq!(second.prev_hash, first.hash);
        let text = format!(
            "{{\"actor\":\"user:12 (Camille Martin)\",\"at\":\"t2\",\"convention_id\":7,\
             \"kind\":\"version_creee\",\"payload\":{{\"number\":1}},\"prev_hash\":\"{}\",\"seq\":2}}",
            first.hash
        );
        assert_eq!(second.hash, sha2_hex(&text));
        assert_eq!(second.computed_hash().unwrap(), second.hash);
    }

    #[test]
    fn every_field_is_covered_by_the_hash() {
        let base = AuditEvent::next(
            None,
            7,
            "t".into(),
            Some("user:1 (A)".into()),
            "k",
            json!({"x": "1"}),
            Some(vec![RowState {
                table: "party".into(),
                key: [("party".to_owned(), json!("etat"))].into(),
                columns: Some([("name".to_owned(), "a".repeat(64))].into()),
            }]),
        )
        .unwrap();
        let edits: [fn(&mut AuditEvent); 9] = [
            |e| e.convention_id = 8,
            |e| e.seq = 2,
            |e| e.at.push('Z'),
            |e| e.actor = None,
            |e| e.kind.push('s'),
            |e| e.payload = json!({"x": "2"}),
            |e| e.prev_hash = "1".repeat(64),
            |e| e.rows = None,
            |e| e.rows.as_mut().unwrap()[0].columns = None,
        ];
        for (i, edit) in edits.iter().enumerate() {
            let mut e = base.clone();
            edit(&mut e);
            assert_ne!(e.computed_hash().unwrap(), base.hash, "edit {i}");
        }
    }

    #[test]
    fn row_states_are_hashed_under_rows() {
        let rows = vec![RowState {
            table: "party".into(),
            key: [("party".to_owned(), json!("etat"))].into(),
            columns: None,
        }];
        let event =
            AuditEvent::next(None, 7, "t".into(), None, "k", json!({}), Some(rows)).unwrap();
        let text = format!(
            "{{\"actor\":null,\"at\":\"t\",\"convention_id\":7,\"kind\":\"k\",\"payload\":{{}},\
             \"prev_hash\":\"{GENESIS_HASH}\",\"rows\":[{{\"columns\":null,\"key\":{{\"party\":\"etat\"}},\
             \"table\":\"party\"}}],\"seq\":1}}"
        );
        assert_eq!(event.hash, sha2_hex(&text));
    }

    #[test]
    fn a_float_in_the_payload_is_refused() {
        let err = AuditEvent::next(None, 7, "t".into(), None, "k", json!({"part": 0.25}), None)
            .unwrap_err();
        assert!(err.to_string().contains("/payload/part"), "{err}");
    }
}
