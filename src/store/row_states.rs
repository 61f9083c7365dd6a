//! Which rows and columns of a convention the audit chain records (see `signing::rows`).
//!
//! Every column of these tables is recorded, except `app_user.password_hash` (see below). The
//! test `tests/audit_completeness.rs` walks the database's own catalogue:
//! a table or a column added later without being listed here or there makes it fail.
//!
//! Not recorded at all, as tables (the same list, with the reasons, is in the test and in
//! `docs/securite-audit.md`): the territory and patrimoine reference data (`epci`, `commune`,
//! `qpv`, `bailleur`, `reservataire`, `logement`, `stock_reservation`, `logement_release`,
//! `planned_exclusion`: imported and re-imported files, not signed records; what a version
//! used of them is inside its hashed document), `organisation` (a descriptive label of an
//! account: the capacity in which a user acts is the member's party and mandate, recorded, and
//! the sealed signature record), the e-mail `outbox` and `password_reset` (operational), and
//! `audit_event` itself, which the hash chain covers column by column.

/// How a column is read, so that both engines give the same JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Int,
    Text,
    Bool,
}

use Kind::{Bool, Int, Text};

pub(super) struct RecordedTable {
    pub name: &'static str,
    pub key: &'static [(&'static str, Kind)],
    pub columns: &'static [(&'static str, Kind)],
    /// The `WHERE` clause selecting the rows of convention `$1`.
    pub of_convention: &'static str,
}

const BY_CONVENTION: &str = "convention_id = $1";

pub(super) const RECORDED_TABLES: &[RecordedTable] = &[
    RecordedTable {
        name: "convention",
        key: &[("id", Int)],
        columns: &[
            ("epci_siren", Text),
            ("bailleur_siren", Text),
            ("year", Int),
            ("title", Text),
            ("state", Text),
            ("approval_required", Bool),
            ("current_version", Int),
            ("signed_version", Int),
            ("revision", Int),
            ("created_at", Text),
            ("created_by", Int),
        ],
        of_convention: "id = $1",
    },
    RecordedTable {
        name: "party",
        key: &[("convention_id", Int), ("party", Text)],
        columns: &[("kind", Text), ("name", Text), ("reservataire_kind", Text)],
        of_convention: BY_CONVENTION,
    },
    RecordedTable {
        name: "member",
        key: &[("convention_id", Int), ("user_id", Int)],
        columns: &[("role", Text), ("party", Text), ("mandate", Text)],
        of_convention: BY_CONVENTION,
    },
    // The accounts of the members: who a member is (e-mail, name) is part of the membership.
    // `password_hash` is left out: a secret's digest, replaced by every password reset (no
    // convention event), so recording it would make an ordinary reset look like tampering.
    RecordedTable {
        name: "app_user",
        key: &[("id", Int)],
        columns: &[
            ("email", Text),
            ("name", Text),
            ("organisation_id", Int),
            ("created_at", Text),
        ],
        of_convention: "id IN (SELECT user_id FROM member WHERE convention_id = $1)",
    },
    RecordedTable {
        name: "invitation",
        key: &[("id", Int)],
        columns: &[
            ("convention_id", Int),
            ("email", Text),
            ("name", Text),
            ("organisation", Text),
            ("role", Text),
            ("party", Text),
            ("mandate", Text),
            ("token_digest", Text),
            ("expires_at", Text),
            ("used_at", Text),
            ("invited_by", Int),
        ],
        of_convention: BY_CONVENTION,
    },
    RecordedTable {
        name: "version",
        key: &[("id", Int)],
        columns: &[
            ("convention_id", Int),
            ("number", Int),
            ("parent_hash", Text),
            ("hash", Text),
            ("document", Text),
            ("author_id", Int),
            ("reason", Text),
            ("created_at", Text),
            ("locked", Bool),
        ],
        of_convention: BY_CONVENTION,
    },
    RecordedTable {
        name: "proposal",
        key: &[("convention_id", Int), ("party", Text)],
        columns: &[
            ("draft", Text),
            ("published", Text),
            ("updated_at", Text),
            ("published_at", Text),
        ],
        of_convention: BY_CONVENTION,
    },
    RecordedTable {
        name: "comment",
        key: &[("id", Int)],
        columns: &[
            ("convention_id", Int),
            ("version_number", Int),
            ("anchor_kind", Text),
            ("anchor_ref", Text),
            ("parent_id", Int),
            ("author_id", Int),
            ("party", Text),
            ("body", Text),
            ("objection", Bool),
            ("status", Text),
            ("resolution", Text),
            ("resolved_by", Int),
            ("created_at", Text),
            ("resolved_at", Text),
        ],
        of_convention: BY_CONVENTION,
    },
    RecordedTable {
        name: "signing_round",
        key: &[("id", Int)],
        columns: &[
            ("convention_id", Int),
            ("version_hash", Text),
            ("required", Text),
            ("status", Text),
            ("opened_by", Int),
            ("opened_at", Text),
            ("deadline", Text),
            ("closed_at", Text),
            ("close_reason", Text),
        ],
        of_convention: BY_CONVENTION,
    },
    RecordedTable {
        name: "signature",
        key: &[("id", Int)],
        columns: &[
            ("round_id", Int),
            ("convention_id", Int),
            ("version_hash", Text),
            ("party", Text),
            ("signer_id", Int),
            ("record", Text),
            ("seal", Text),
        ],
        of_convention: BY_CONVENTION,
    },
];

pub(super) fn recorded_table(name: &str) -> &'static RecordedTable {
    RECORDED_TABLES
        .iter()
        .find(|t| t.name == name)
        .expect("a table written by the store is one of RECORDED_TABLES")
}

/// A key value to bind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum KeyValue {
    Int(i64),
    Text(String),
}

/// A row the change wrote: its table and key, in the order of `RecordedTable::key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Touched {
    pub table: &'static str,
    pub key: Vec<KeyValue>,
}

impl Touched {
    pub fn by_id(table: &'static str, id: i64) -> Self {
        Self {
            table,
            key: vec![KeyValue::Int(id)],
        }
    }

    pub fn of_convention(table: &'static str, convention_id: i64, second: KeyValue) -> Self {
        Self {
            table,
            key: vec![KeyValue::Int(convention_id), second],
        }
    }
}

/// The SQL that reads rows of `table` matching `filter`, key columns first.
pub(super) fn select_sql(table: &RecordedTable, filter: &str) -> String {
    let columns: Vec<&str> = table
        .key
        .iter()
        .chain(table.columns)
        .map(|(name, _)| *name)
        .collect();
    let order: Vec<&str> = table.key.iter().map(|(name, _)| *name).collect();
    format!(
        "SELECT {} FROM {} WHERE {filter} ORDER BY {}",
        columns.join(", "),
        table.name,
        order.join(", ")
    )
}

/// `k1 = $1 AND k2 = $2…` for the key of `table`.
pub(super) fn key_filter(table: &RecordedTable) -> String {
    table
        .key
        .iter()
        .enumerate()
        .map(|(i, (name, _))| format!("{name} = ${}", i + 1))
        .collect::<Vec<_>>()
        .join(" AND ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_sql_lists_the_key_first() {
        let party = recorded_table("party");
        assert_eq!(
            select_sql(party, &key_filter(party)),
            "SELECT convention_id, party, kind, name, reservataire_kind FROM party \
             WHERE convention_id = $1 AND party = $2 ORDER BY convention_id, party"
        );
    }
}
