//! Nothing signed can change: the database refuses it (triggers), and `verify` names any row
//! edited behind the platform's back (issue 4, items 6 and 7). On both engines.

mod common;

use common::TestDb;
use common::harness::{BAILLEUR, EPCI, Harness};
use convention_flux::services::conventions::demo::seed;
use convention_flux::services::conventions::verification::verify_database;
use sqlx::Connection;

/// Runs `sql` directly on the test database, as someone with database access would.
async fn exec(db: &TestDb, sql: &str) -> Result<(), String> {
    let url = db.url.expose();
    let result = if db.engine == "sqlite" {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut c).await.map(|_| ())
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut c).await.map(|_| ())
    };
    result.map_err(|e| e.to_string())
}

async fn findings(h: &Harness) -> Vec<String> {
    let key = h.platform.key.public_key_hex();
    verify_database(h.platform.store.as_ref(), &key)
        .await
        .unwrap()
        .findings
        .iter()
        .map(|f| format!("{} — {}", f.location, f.problem))
        .collect()
}

async fn locked_rows_are_refused_and_edits_are_named(db: &TestDb) {
    let h = Harness::start(db).await;
    let demo = seed(
        &h.platform,
        EPCI,
        "Métropole de démonstration",
        BAILLEUR,
        2027,
    )
    .await
    .unwrap();
    assert_eq!(findings(&h).await, Vec::<String>::new());
    let signed = demo.signed;
    let locked =
        format!("(SELECT id FROM version WHERE convention_id = {signed} AND locked = TRUE)");

    // The database itself refuses to touch a locked version, its signatures, the audit chain.
    for sql in [
        format!("UPDATE version SET reason = 'retouche' WHERE id = {locked}"),
        format!("UPDATE version SET locked = FALSE WHERE id = {locked}"),
        format!("DELETE FROM version WHERE id = {locked}"),
        format!("DELETE FROM signature WHERE convention_id = {signed}"),
        format!("UPDATE signature SET seal = 'x' WHERE convention_id = {signed}"),
        "UPDATE audit_event SET actor = 'quelqu''un' WHERE seq = 1".to_owned(),
        "DELETE FROM audit_event WHERE seq = 2".to_owned(),
    ] {
        let error = exec(db, &sql).await.expect_err(&sql);
        assert!(
            error.contains("refusée")
                || error.contains("ajout seul")
                || error.contains("supprimée")
                || error.contains("modifiée"),
            "{sql}: {error}"
        );
    }
    assert_eq!(
        findings(&h).await,
        Vec::<String>::new(),
        "nothing was changed"
    );

    // Someone with full access drops the protections and edits rows: each edit is named.
    let drop = if db.engine == "sqlite" {
        "DROP TRIGGER version_immutable; DROP TRIGGER signature_no_update; \
         DROP TRIGGER audit_no_update;"
    } else {
        "DROP TRIGGER version_immutable ON version; DROP TRIGGER signature_no_update ON signature; \
         DROP TRIGGER audit_no_update ON audit_event;"
    };
    exec(db, drop).await.unwrap();
    let edits: [(&str, String, &str); 8] = [
        (
            "version column",
            format!("UPDATE version SET reason = 'autre motif' WHERE id = {locked}"),
            "reason",
        ),
        (
            "version document",
            format!(
                "UPDATE version SET document = replace(document, '\"share\":\"25\"', '\"share\":\"30\"') WHERE id = {locked}"
            ),
            "version n°",
        ),
        (
            "convention state",
            format!("UPDATE convention SET state = 'en_vigueur' WHERE id = {signed}"),
            "en_vigueur",
        ),
        (
            "member role",
            format!(
                "UPDATE member SET role = 'secretariat' WHERE convention_id = {signed} AND party = 'etat'"
            ),
            "membre",
        ),
        (
            "signature record",
            format!(
                "UPDATE signature SET record = replace(record, 'délégation', 'procuration') WHERE convention_id = {signed} AND party = 'etat'"
            ),
            "signature",
        ),
        (
            "audit payload",
            format!(
                "UPDATE audit_event SET payload = replace(payload, 'motif', 'raison') WHERE convention_id = {signed} AND kind = 'version_creee'"
            ),
            "événement d'audit",
        ),
        (
            "unlock",
            format!("UPDATE version SET locked = FALSE WHERE id = {locked}"),
            "déverrouillée",
        ),
        (
            "comment",
            format!(
                "INSERT INTO comment (convention_id, version_number, anchor_kind, anchor_ref, author_id, party, body, objection, status, created_at) \
                     SELECT {signed}, 1, 'clause', 'objet', created_by, 'secretariat', 'ajouté en douce', {f}, 'ouvert', '2027-01-01T00:00:00.000Z' FROM convention WHERE id = {signed}",
                f = if db.engine == "sqlite" { "0" } else { "FALSE" }
            ),
            "commentaire n°",
        ),
    ];
    let mut before = findings(&h).await.len();
    for (what, sql, named) in edits {
        exec(db, &sql)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let now = findings(&h).await;
        assert!(now.len() > before, "{what} went unnoticed: {now:#?}");
        assert!(
            now.iter().any(|f| f.contains(named)),
            "{what}: no finding names « {named} »: {now:#?}"
        );
        before = now.len();
    }
}

on_both_engines!(locked_rows_are_refused_and_edits_are_named);
