//! Every row and column with legal meaning is covered by `verify` (issue 15, item 12): after
//! someone with database access drops every trigger and turns off the foreign keys, any edit of
//! any column and any deletion of a row is named. The tables and columns come from the
//! database's own catalogue, so a table or column added later without coverage makes this test
//! fail until it is covered or listed below with its reason. On both engines.

mod common;

use common::TestDb;
use common::harness::{Harness, proposal};
use convention_flux::domain::convention::Transition;
use convention_flux::services::conventions::Caller;
use convention_flux::services::conventions::comments::{self, NewCommentRequest, Resolution};
use convention_flux::services::conventions::drafting::{self, TransitionRequest};
use convention_flux::services::conventions::verification::verify_database;
use convention_flux::signing::AuditEvent;
use sqlx::{Connection, Row};

/// Tables that carry no legal meaning of a convention, and why. Add a table here only with its
/// reason (the session table `app_session` of issue 15's revocation is one).
const NOT_LEGAL_TABLES: &[(&str, &str)] = &[
    ("_sqlx_migrations", "the migration log of the schema"),
    // Territory and patrimoine reference data: imported and re-imported files, not signed
    // records; what a version used of them is inside its hashed document.
    ("epci", "territory reference data"),
    ("commune", "territory reference data"),
    ("qpv", "territory reference data"),
    ("bailleur", "territory reference data"),
    ("reservataire", "territory reference data"),
    ("logement", "patrimoine reference data"),
    ("stock_reservation", "patrimoine reference data"),
    ("logement_release", "patrimoine reference data"),
    ("planned_exclusion", "patrimoine reference data"),
    (
        "data_revision",
        "operational: count of imports keying the caches of computed figures (issue 16)",
    ),
    // A descriptive label of accounts: the capacity in which a user acts is the member's party
    // and mandate (recorded) and the sealed signature record.
    ("organisation", "label of an account's organisation"),
    ("outbox", "operational: e-mails waiting to be delivered"),
    (
        "cia_version",
        "the EPCI's CIA (issue 20): immutable by trigger, each version's text checked against its SHA-256 on every read, and that hash sealed in every convention version that restates it",
    ),
    ("password_reset", "operational: single-use reset links"),
    (
        "app_session",
        "operational: open sessions, deleted when revoked (issue 15)",
    ),
];

/// Columns of covered tables that are left out, and why.
const NOT_LEGAL_COLUMNS: &[(&str, &str, &str)] = &[(
    "app_user",
    "password_hash",
    "a secret's digest, replaced by every password reset, which is no act of a convention",
)];

/// A connection of someone with full database access: no trigger, no foreign key or CHECK
/// constraint.
enum Attacker {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Attacker {
    async fn connect(db: &TestDb) -> Self {
        let url = db.url.expose();
        let mut attacker = if db.engine == "sqlite" {
            Attacker::Sqlite(sqlx::SqliteConnection::connect(url).await.unwrap())
        } else {
            Attacker::Postgres(sqlx::PgConnection::connect(url).await.unwrap())
        };
        let off = if db.engine == "sqlite" {
            "PRAGMA foreign_keys = OFF; PRAGMA ignore_check_constraints = ON"
        } else {
            // Foreign keys are triggers in PostgreSQL: replica mode fires none of them.
            "SET session_replication_role = replica"
        };
        attacker.exec(off).await.unwrap();
        attacker
    }

    fn sqlite(&self) -> bool {
        matches!(self, Attacker::Sqlite(_))
    }

    async fn exec(&mut self, sql: &str) -> Result<u64, String> {
        let result = match self {
            Attacker::Sqlite(c) => sqlx::raw_sql(sql)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()),
            Attacker::Postgres(c) => sqlx::raw_sql(sql)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()),
        };
        result.map_err(|e| e.to_string())
    }

    /// Every row of `sql`, each column read as optional text (the query casts).
    async fn texts(&mut self, sql: &str) -> Vec<Vec<Option<String>>> {
        fn read<R: Row>(rows: Vec<R>) -> Vec<Vec<Option<String>>>
        where
            for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            usize: sqlx::ColumnIndex<R>,
        {
            rows.iter()
                .map(|r| {
                    (0..r.len())
                        .map(|i| r.try_get::<Option<String>, _>(i).unwrap())
                        .collect()
                })
                .collect()
        }
        match self {
            Attacker::Sqlite(c) => read(sqlx::query(sql).fetch_all(&mut *c).await.unwrap()),
            Attacker::Postgres(c) => read(sqlx::query(sql).fetch_all(&mut *c).await.unwrap()),
        }
    }

    async fn strings(&mut self, sql: &str) -> Vec<String> {
        self.texts(sql)
            .await
            .into_iter()
            .map(|r| r[0].clone().unwrap_or_default())
            .collect()
    }

    async fn drop_every_trigger(&mut self) {
        if self.sqlite() {
            for name in self
                .strings("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                .await
            {
                self.exec(&format!("DROP TRIGGER \"{name}\""))
                    .await
                    .unwrap();
            }
        } else {
            for row in self
                .texts(
                    "SELECT DISTINCT trigger_name::text, event_object_table::text \
                     FROM information_schema.triggers WHERE trigger_schema = current_schema()",
                )
                .await
            {
                let (name, table) = (row[0].clone().unwrap(), row[1].clone().unwrap());
                self.exec(&format!("DROP TRIGGER \"{name}\" ON \"{table}\""))
                    .await
                    .unwrap();
            }
            // The identity columns, which refuse an UPDATE.
            for row in self
                .texts(
                    "SELECT table_name::text, column_name::text FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND is_identity = 'YES'",
                )
                .await
            {
                let (table, column) = (row[0].clone().unwrap(), row[1].clone().unwrap());
                self.exec(&format!(
                    "ALTER TABLE \"{table}\" ALTER COLUMN \"{column}\" DROP IDENTITY"
                ))
                .await
                .unwrap();
            }
            // And the CHECK constraints, which SQLite is told to ignore.
            for row in self
                .texts(
                    "SELECT conname::text, conrelid::regclass::text FROM pg_constraint \
                     WHERE contype = 'c' AND connamespace = current_schema()::regnamespace",
                )
                .await
            {
                let (name, table) = (row[0].clone().unwrap(), row[1].clone().unwrap());
                self.exec(&format!("ALTER TABLE {table} DROP CONSTRAINT \"{name}\""))
                    .await
                    .unwrap();
            }
        }
    }

    async fn tables(&mut self) -> Vec<String> {
        let sql = if self.sqlite() {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             ORDER BY name"
        } else {
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
        };
        self.strings(sql).await
    }

    /// (column, is part of the primary key, declared type), in the table's order.
    async fn columns(&mut self, table: &str) -> Vec<(String, bool, String)> {
        let sql = if self.sqlite() {
            format!(
                "SELECT name, CAST(pk AS TEXT), lower(type) FROM pragma_table_info('{table}') \
                 ORDER BY cid"
            )
        } else {
            format!(
                "SELECT c.column_name::text, \
                   CASE WHEN EXISTS (SELECT 1 FROM information_schema.table_constraints t \
                     JOIN information_schema.key_column_usage k \
                       ON k.constraint_name = t.constraint_name AND k.table_schema = t.table_schema \
                     WHERE t.table_schema = current_schema() AND t.table_name = '{table}' \
                       AND t.constraint_type = 'PRIMARY KEY' AND k.column_name = c.column_name) \
                   THEN '1' ELSE '0' END, c.data_type::text \
                 FROM information_schema.columns c \
                 WHERE c.table_schema = current_schema() AND c.table_name = '{table}' \
                 ORDER BY c.ordinal_position"
            )
        };
        self.texts(&sql)
            .await
            .into_iter()
            .map(|r| {
                (
                    r[0].clone().unwrap(),
                    r[1].as_deref().is_some_and(|pk| pk != "0"),
                    r[2].clone().unwrap_or_default(),
                )
            })
            .collect()
    }

    async fn backup(&mut self, table: &str) {
        self.exec(&format!(
            "CREATE TEMP TABLE backup AS SELECT * FROM \"{table}\""
        ))
        .await
        .unwrap();
    }

    async fn restore(&mut self, table: &str) {
        self.exec(&format!(
            "DELETE FROM \"{table}\"; INSERT INTO \"{table}\" SELECT * FROM backup; \
             DROP TABLE backup"
        ))
        .await
        .unwrap();
    }
}

fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

async fn findings(h: &Harness) -> Vec<String> {
    let key = h.platform.key.public_key_hex();
    verify_database(h.platform.store.as_ref(), &key)
        .await
        .unwrap_or_else(|e| panic!("verify failed instead of naming the edit: {e}"))
        .findings
        .iter()
        .map(|f| {
            format!(
                "convention {} — {} — {}",
                f.convention_id, f.location, f.problem
            )
        })
        .collect()
}

async fn caller(h: &Harness, email: &str) -> Caller {
    Caller {
        user: h
            .platform
            .store
            .user_by_email(email)
            .await
            .unwrap()
            .unwrap(),
    }
}

/// The demo conventions plus one of everything the demo lacks: an objection and its lifting, a
/// reply, an invitation accepted, a private draft, the préfet's approval.
async fn every_kind_of_row(h: &Harness) {
    let demo = h.seed_demo().await;
    let p = &h.platform;
    let secretariat = caller(h, "secretariat@demo.convention-flux.fr").await;
    let etat = caller(h, "etat@demo.convention-flux.fr").await;
    let commune = caller(h, "commune-69802@demo.convention-flux.fr").await;
    let open = demo.in_concertation;
    let objection = comments::add(
        p,
        &etat,
        open,
        NewCommentRequest {
            anchor_kind: "proposal".into(),
            anchor_ref: "etat".into(),
            body: "La part de l'État doit être revue.".into(),
            objection: true,
            parent_id: None,
        },
    )
    .await
    .unwrap();
    comments::add(
        p,
        &secretariat,
        open,
        NewCommentRequest {
            anchor_kind: "proposal".into(),
            anchor_ref: "etat".into(),
            body: "Nous en parlerons en séance.".into(),
            objection: false,
            parent_id: Some(objection),
        },
    )
    .await
    .unwrap();
    comments::resolve(
        p,
        &etat,
        open,
        objection,
        Resolution {
            text: "Accord trouvé en séance.".into(),
        },
        false,
    )
    .await
    .unwrap();
    let secretariat_session = h
        .login(
            "secretariat@demo.convention-flux.fr",
            "demo-convention-flux",
        )
        .await;
    h.invite(
        &secretariat_session,
        open,
        "observatrice@ddets.test",
        "observer",
        "",
    )
    .await;
    drafting::save_proposal(
        p,
        &commune,
        open,
        "commune-69802",
        serde_json::from_value(proposal("12")).unwrap(),
        false,
    )
    .await
    .unwrap();
    drafting::transition(
        p,
        &etat,
        demo.signed,
        Transition::Approve,
        TransitionRequest { reason: None },
    )
    .await
    .unwrap();
}

/// The SET expressions to try for a column, most meaningful first: another row's value (keeps
/// the column's allowed values and its JSON valid), then a plain change of the value.
fn edits(table: &str, column: &str, declared: &str) -> Vec<String> {
    let c = format!("\"{column}\"");
    let as_text = |x: &str| format!("CAST({x} AS TEXT)");
    let mut edits = vec![format!(
        "(SELECT o.{c} FROM \"{table}\" o WHERE o.{c} IS NOT NULL \
         AND {} <> COALESCE({}, '') LIMIT 1)",
        as_text(&format!("o.{c}")),
        as_text(&format!("\"{table}\".{c}"))
    )];
    if declared.contains("bool") {
        edits.push(format!("COALESCE(NOT {c}, TRUE)"));
    } else if declared.contains("int") {
        // Booleans are integers in SQLite: 1 − x swaps them, and changes any other number.
        edits.push(format!("1 - COALESCE({c}, 0)"));
        edits.push(format!("COALESCE({c}, 0) + 1000000"));
    } else {
        edits.push(format!("{c} || ' (modifié)'"));
        edits.push("'modifié'".to_owned());
    }
    edits
}

async fn every_edit_and_deletion_is_named(db: &TestDb) {
    let h = Harness::start(db).await;
    every_kind_of_row(&h).await;
    assert_eq!(
        findings(&h).await,
        Vec::<String>::new(),
        "the platform's own writes verify"
    );

    let mut attacker = Attacker::connect(db).await;
    attacker.drop_every_trigger().await;
    let excepted = |t: &str| NOT_LEGAL_TABLES.iter().any(|(name, _)| *name == t);
    let mut walked = Vec::new();
    for table in attacker.tables().await {
        if excepted(&table) {
            continue;
        }
        let columns = attacker.columns(&table).await;
        let key: Vec<&str> = columns
            .iter()
            .filter(|(_, pk, _)| *pk)
            .map(|(c, ..)| c.as_str())
            .collect();
        assert!(!key.is_empty(), "table {table}: no primary key");
        let order = key
            .iter()
            .map(|k| format!("\"{k}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let casts = key
            .iter()
            .map(|k| format!("CAST(\"{k}\" AS TEXT)"))
            .collect::<Vec<_>>()
            .join(", ");
        let first = attacker
            .texts(&format!(
                "SELECT {casts} FROM \"{table}\" ORDER BY {order} LIMIT 1"
            ))
            .await;
        let first = first.first().unwrap_or_else(|| {
            panic!("table {table} has no row: the setup must create one so that it is walked")
        });
        let row = key
            .iter()
            .zip(first)
            .map(|(k, v)| format!("CAST(\"{k}\" AS TEXT) = {}", quoted(v.as_deref().unwrap())))
            .collect::<Vec<_>>()
            .join(" AND ");
        // How verify must name this table's rows.
        let names_row = |finding: &str, column: Option<&str>| {
            if table == "audit_event" {
                return finding.contains("événement d'audit") || finding.contains("journal");
            }
            finding.contains(&format!("de la table {table} —"))
                && column.is_none_or(|c| {
                    finding.contains(&format!("colonne {c} ")) || finding.contains("— ligne ")
                })
        };

        for (column, _, declared) in &columns {
            if NOT_LEGAL_COLUMNS
                .iter()
                .any(|(t, c, _)| *t == table && c == column)
            {
                continue;
            }
            let read = format!("SELECT CAST(\"{column}\" AS TEXT) FROM \"{table}\" WHERE {row}");
            let before = attacker.texts(&read).await;
            attacker.backup(&table).await;
            let mut edited = None;
            for set in edits(&table, column, declared) {
                let sql = format!("UPDATE \"{table}\" SET \"{column}\" = {set} WHERE {row}");
                if let Ok(1) = attacker.exec(&sql).await
                    && attacker.texts(&read).await != before
                {
                    edited = Some(sql);
                    break;
                }
            }
            let sql = edited.unwrap_or_else(|| panic!("{table}.{column}: no edit was accepted"));
            let now = findings(&h).await;
            assert!(
                now.iter().any(|f| names_row(f, Some(column))),
                "{table}.{column} edited and not named ({sql}): {now:#?}"
            );
            attacker.restore(&table).await;
            assert_eq!(
                findings(&h).await,
                Vec::<String>::new(),
                "{table}.{column} restored"
            );
            walked.push(format!("{table}.{column}"));
        }

        attacker.backup(&table).await;
        let deleted = attacker
            .exec(&format!("DELETE FROM \"{table}\" WHERE {row}"))
            .await
            .unwrap();
        assert_eq!(deleted, 1, "{table}: one row deleted");
        let now = findings(&h).await;
        assert!(
            now.iter().any(|f| names_row(f, None)),
            "a row of {table} deleted and not named: {now:#?}"
        );
        attacker.restore(&table).await;
        assert_eq!(findings(&h).await, Vec::<String>::new(), "{table} restored");
        walked.push(format!("{table} (suppression)"));
    }
    // The legal tables named by the issue are all walked.
    for table in [
        "convention",
        "party",
        "member",
        "app_user",
        "invitation",
        "version",
        "proposal",
        "comment",
        "signing_round",
        "signature",
        "audit_event",
    ] {
        assert!(
            walked.contains(&format!("{table} (suppression)")),
            "{table} not walked: {walked:?}"
        );
    }
}

/// A database written before row states were recorded: its chain has none. It is named by
/// verify until the next migration records the rows as they stand; then it verifies.
async fn a_database_from_before_row_states_verifies_after_migration(db: &TestDb) {
    let h = Harness::start(db).await;
    let demo = h.seed_demo().await;
    let store = h.platform.store.as_ref();
    // Rewrite the chain of the signed convention as an older platform wrote it: no row states,
    // each hash recomputed (the rows-less hash is the one earlier versions computed).
    let mut legacy: Vec<AuditEvent> = Vec::new();
    for e in store.audit_events(demo.signed).await.unwrap() {
        let event = AuditEvent::next(
            legacy.last(),
            e.convention_id,
            e.at,
            e.actor,
            &e.kind,
            e.payload,
            None,
        )
        .unwrap();
        legacy.push(event);
    }
    let mut attacker = Attacker::connect(db).await;
    attacker.drop_every_trigger().await;
    for e in &legacy {
        attacker
            .exec(&format!(
                "UPDATE audit_event SET row_states = NULL, prev_hash = {}, hash = {} \
                 WHERE convention_id = {} AND seq = {}",
                quoted(&e.prev_hash),
                quoted(&e.hash),
                e.convention_id,
                e.seq
            ))
            .await
            .unwrap();
    }
    let before = findings(&h).await;
    assert_eq!(before.len(), 1, "{before:#?}");
    assert!(before[0].contains("état des lignes"), "{before:#?}");

    store.migrate().await.unwrap();
    assert_eq!(findings(&h).await, Vec::<String>::new());
    let events = store.audit_events(demo.signed).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.kind, "etat_initial_des_lignes");
    assert_eq!(last.seq, legacy.len() as i64 + 1);
    // Only once: a second migration records nothing more.
    store.migrate().await.unwrap();
    assert_eq!(
        store.audit_events(demo.signed).await.unwrap().len(),
        events.len()
    );
    // From then on, an edit is named again.
    attacker
        .exec(&format!(
            "UPDATE party SET name = 'Autre nom' WHERE convention_id = {} AND party = 'etat'",
            demo.signed
        ))
        .await
        .unwrap();
    let after = findings(&h).await;
    assert!(
        after
            .iter()
            .any(|f| f.contains("de la table party") && f.contains("colonne name")),
        "{after:#?}"
    );
}

on_both_engines!(
    every_edit_and_deletion_is_named,
    a_database_from_before_row_states_verifies_after_migration
);
