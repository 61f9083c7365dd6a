//! The state of the rows of a convention, recorded in its audit chain and checked against the
//! database (issue 15, item 12).
//!
//! Hashes and seals only cover what they were computed over: the convention's own row, its
//! parties, members, proposals, comments, signing rounds, invitations… were plain rows that
//! someone with database access could edit, delete or insert unseen. So every change the
//! platform makes records, in the audit event that describes it, a digest of each column of
//! each row it created or changed. `verify` replays these records along the chain and compares
//! them with the rows as they are now: any row inserted, deleted or changed outside the
//! platform is named with its table, its key and the column.

use std::collections::BTreeMap;

use serde_json::Value;

use super::audit::AuditEvent;
use super::canonical::{canonical_json, sha256_hex};
use super::verify::Finding;

/// A row as read from the database: its table, its key and its other columns, as JSON values
/// (integers, strings, booleans or null).
#[derive(Debug, Clone, PartialEq)]
pub struct RowValues {
    pub table: String,
    pub key: BTreeMap<String, Value>,
    pub columns: BTreeMap<String, Value>,
}

/// What an audit event records of a row: the SHA-256 of each column's canonical JSON value,
/// or `None` when the platform deleted the row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RowState {
    pub table: String,
    pub key: BTreeMap<String, Value>,
    pub columns: Option<BTreeMap<String, String>>,
}

impl RowValues {
    /// The state to record for this row.
    pub fn state(&self) -> RowState {
        RowState {
            table: self.table.clone(),
            key: self.key.clone(),
            columns: Some(
                self.columns
                    .iter()
                    .map(|(name, value)| (name.clone(), value_digest(value)))
                    .collect(),
            ),
        }
    }
}

/// The digest of one column's value. Values are integers, strings, booleans or null, which
/// always have a canonical form; anything else is digested from its plain JSON text.
pub fn value_digest(value: &Value) -> String {
    let text = canonical_json(value).unwrap_or_else(|_| value.to_string());
    sha256_hex(text.as_bytes())
}

/// The user's word for a table, for the location of a finding.
fn table_label(table: &str) -> &str {
    match table {
        "convention" => "convention",
        "party" => "partie",
        "member" => "adhésion",
        "app_user" => "compte",
        "invitation" => "invitation",
        "version" => "version",
        "proposal" => "proposition",
        "comment" => "commentaire",
        "signing_round" => "tour de signature",
        "signature" => "signature",
        other => other,
    }
}

fn key_text(key: &BTreeMap<String, Value>) -> String {
    key.iter()
        .map(|(name, value)| match value {
            Value::String(s) => format!("{name} = {s}"),
            other => format!("{name} = {other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn row_location(table: &str, key: &BTreeMap<String, Value>) -> String {
    format!(
        "{} ({}) de la table {table}",
        table_label(table),
        key_text(key)
    )
}

/// The last recorded state of each row along `events` (in chain order), with the seq of the
/// event that recorded it.
type Recorded = BTreeMap<(String, String), (Option<BTreeMap<String, String>>, i64, RowState)>;

fn replay(events: &[AuditEvent]) -> Recorded {
    let mut sorted: Vec<&AuditEvent> = events.iter().collect();
    sorted.sort_by_key(|e| e.seq);
    let mut recorded = Recorded::new();
    for event in sorted {
        for row in event.rows.iter().flatten() {
            let id = (row.table.clone(), key_text(&row.key));
            recorded.insert(id, (row.columns.clone(), event.seq, row.clone()));
        }
    }
    recorded
}

/// Compares the rows of one convention as they are now (`current`) with the last state its
/// audit chain recorded of each of them, and names every difference.
pub fn check_rows(
    convention_id: i64,
    events: &[AuditEvent],
    current: &[RowValues],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut push = |location: String, problem: String| {
        findings.push(Finding {
            convention_id,
            location,
            problem,
        });
    };
    if !events.iter().any(|e| e.rows.is_some()) {
        if !current.is_empty() {
            push(
                "état des lignes".to_owned(),
                "le journal d'audit n'enregistre l'état d'aucune ligne de la convention : il a \
                 été réécrit, ou la base n'a pas été mise à jour par la plateforme \
                 (convention-flux migrate)"
                    .to_owned(),
            );
        }
        return findings;
    }
    let mut recorded = replay(events);
    for row in current {
        let location = row_location(&row.table, &row.key);
        let id = (row.table.clone(), key_text(&row.key));
        let Some((columns, seq, _)) = recorded.remove(&id) else {
            push(
                location,
                "ligne ajoutée hors de la plateforme : aucun événement d'audit ne l'enregistre"
                    .to_owned(),
            );
            continue;
        };
        let Some(columns) = columns else {
            push(
                location,
                format!(
                    "ligne présente alors que l'événement d'audit n° {seq} l'a enregistrée \
                     supprimée : elle a été rétablie hors de la plateforme"
                ),
            );
            continue;
        };
        let now = row.state().columns.unwrap_or_default();
        for (name, digest) in &now {
            match columns.get(name) {
                Some(expected) if expected == digest => {}
                Some(_) => push(
                    location.clone(),
                    format!(
                        "colonne {name} modifiée hors de la plateforme : sa valeur ne correspond \
                         plus à celle qu'a enregistrée l'événement d'audit n° {seq}"
                    ),
                ),
                None => push(
                    location.clone(),
                    format!(
                        "colonne {name} absente de l'état enregistré par l'événement d'audit \
                         n° {seq}"
                    ),
                ),
            }
        }
        for name in columns.keys().filter(|name| !now.contains_key(*name)) {
            push(
                location.clone(),
                format!(
                    "colonne {name} enregistrée par l'événement d'audit n° {seq} mais \
                     introuvable dans la ligne"
                ),
            );
        }
    }
    for (columns, seq, row) in recorded.into_values() {
        if columns.is_some() {
            push(
                row_location(&row.table, &row.key),
                format!(
                    "ligne supprimée hors de la plateforme (ou détachée de la convention) : \
                     l'événement d'audit n° {seq} l'avait enregistrée"
                ),
            );
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(table: &str, key: Value, columns: Value) -> RowValues {
        let map = |v: Value| -> BTreeMap<String, Value> {
            v.as_object().unwrap().clone().into_iter().collect()
        };
        RowValues {
            table: table.to_owned(),
            key: map(key),
            columns: map(columns),
        }
    }

    fn party(name: &str) -> RowValues {
        row(
            "party",
            json!({"convention_id": 7, "party": "etat"}),
            json!({"kind": "reservataire", "name": name}),
        )
    }

    fn events(rows: Vec<Vec<RowState>>) -> Vec<AuditEvent> {
        let mut out: Vec<AuditEvent> = Vec::new();
        for r in rows {
            let e =
                AuditEvent::next(out.last(), 7, "t".into(), None, "k", json!({}), Some(r)).unwrap();
            out.push(e);
        }
        out
    }

    fn problems(f: &[Finding]) -> Vec<String> {
        f.iter()
            .map(|f| format!("{} : {}", f.location, f.problem))
            .collect()
    }

    #[test]
    fn a_column_digest_is_the_sha256_of_its_canonical_json() {
        // Independent: the SHA-256 of the five bytes `"abc"` (with the quotes).
        assert_eq!(
            value_digest(&json!("abc")),
            "6cc43f858fbb763301637b5af970e2a46b46f461f27e5a0f41e009c59b827b25"
        );
        assert_ne!(value_digest(&json!(1)), value_digest(&json!("1")));
        assert_ne!(value_digest(&json!(true)), value_digest(&json!(1)));
        assert_ne!(value_digest(&Value::Null), value_digest(&json!("")));
    }

    #[test]
    fn rows_as_recorded_verify() {
        let e = events(vec![vec![party("État").state()]]);
        assert_eq!(
            problems(&check_rows(7, &e, &[party("État")])),
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_last_record_of_a_row_wins() {
        let e = events(vec![
            vec![party("État").state()],
            vec![party("Préfet").state()],
        ]);
        assert!(check_rows(7, &e, &[party("Préfet")]).is_empty());
        let f = check_rows(7, &e, &[party("État")]);
        assert_eq!(
            problems(&f),
            [
                "partie (convention_id = 7, party = etat) de la table party : colonne name \
              modifiée hors de la plateforme : sa valeur ne correspond plus à celle qu'a \
              enregistrée l'événement d'audit n° 2"
            ]
        );
    }

    #[test]
    fn inserted_deleted_and_restored_rows_are_named() {
        let e = events(vec![vec![party("État").state()]]);
        let mut other = party("Ville");
        other.key.insert("party".into(), json!("commune-1"));
        let f = check_rows(7, &e, &[party("État"), other.clone()]);
        assert_eq!(f.len(), 1);
        assert!(f[0].location.contains("party = commune-1"), "{f:?}");
        assert!(f[0].problem.starts_with("ligne ajoutée"), "{f:?}");

        let f = check_rows(7, &e, &[]);
        assert_eq!(f.len(), 1);
        assert!(f[0].problem.starts_with("ligne supprimée"), "{f:?}");

        let mut deleted = party("État").state();
        deleted.columns = None;
        let e = events(vec![vec![party("État").state()], vec![deleted]]);
        assert!(check_rows(7, &e, &[]).is_empty());
        let f = check_rows(7, &e, &[party("État")]);
        assert!(f[0].problem.contains("rétablie"), "{f:?}");
    }

    #[test]
    fn a_column_added_or_removed_is_named() {
        let e = events(vec![vec![party("État").state()]]);
        let mut wider = party("État");
        wider.columns.insert("mandate".into(), json!(""));
        let f = check_rows(7, &e, &[wider]);
        assert_eq!(f.len(), 1);
        assert!(f[0].problem.starts_with("colonne mandate absente"), "{f:?}");
        let mut narrower = party("État");
        narrower.columns.remove("kind");
        let f = check_rows(7, &e, &[narrower]);
        assert!(
            f[0].problem.starts_with("colonne kind enregistrée"),
            "{f:?}"
        );
    }

    #[test]
    fn a_chain_without_any_row_record_is_named() {
        let e = AuditEvent::next(None, 7, "t".into(), None, "k", json!({}), None).unwrap();
        let f = check_rows(7, std::slice::from_ref(&e), &[party("État")]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].location, "état des lignes");
        assert!(check_rows(7, &[e], &[]).is_empty());
    }
}
