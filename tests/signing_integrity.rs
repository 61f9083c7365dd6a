//! Nothing signed can change: the database refuses it (triggers), and `verify` names any row
//! edited behind the platform's back (issue 4, items 6 and 7). On both engines.

mod common;

use common::TestDb;
use common::harness::Harness;
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
    let demo = h.seed_demo().await;
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

/// The holes of issue 15, item 12: each edit below went unnoticed before row states were
/// recorded in the audit chain; now each is named with its table and column (or row).
async fn every_reported_hole_is_named(db: &TestDb) {
    let h = Harness::start(db).await;
    let demo = h.seed_demo().await;
    let (signed, open) = (demo.signed, demo.in_concertation);
    let drop = if db.engine == "sqlite" {
        "DROP TRIGGER version_immutable; DROP TRIGGER version_no_delete; \
         DROP TRIGGER signature_no_update; DROP TRIGGER signature_locked_delete; \
         DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;"
    } else {
        "DROP TRIGGER version_immutable ON version; DROP TRIGGER version_no_delete ON version; \
         DROP TRIGGER signature_no_update ON signature; \
         DROP TRIGGER signature_locked_delete ON signature; \
         DROP TRIGGER audit_no_update ON audit_event; DROP TRIGGER audit_no_delete ON audit_event;"
    };
    exec(db, drop).await.unwrap();
    let falsy = if db.engine == "sqlite" { "0" } else { "FALSE" };
    let edits: Vec<(&str, String, &str)> = vec![
        (
            "signature of the locked version deleted",
            format!(
                "DELETE FROM signature WHERE convention_id = {signed} AND party = 'bailleur' \
                 AND version_hash = (SELECT hash FROM version WHERE convention_id = {signed} AND locked = TRUE)"
            ),
            "de la table signature — ligne supprimée",
        ),
        (
            "member deleted",
            format!("DELETE FROM member WHERE convention_id = {open} AND party = 'etat'"),
            "de la table member — ligne supprimée",
        ),
        (
            "party deleted",
            format!("DELETE FROM party WHERE convention_id = {open} AND party = 'departement-69'"),
            "de la table party — ligne supprimée",
        ),
        (
            "party renamed",
            format!(
                "UPDATE party SET name = 'Autre' WHERE convention_id = {signed} AND party = 'etat'"
            ),
            "de la table party — colonne name modifiée",
        ),
        (
            "party turned into another kind",
            format!(
                "UPDATE party SET kind = 'bailleur', reservataire_kind = '' \
                 WHERE convention_id = {signed} AND party = 'commune-69801'"
            ),
            "de la table party — colonne kind modifiée",
        ),
        (
            "approval no longer required",
            format!("UPDATE convention SET approval_required = {falsy} WHERE id = {signed}"),
            "de la table convention — colonne approval_required modifiée",
        ),
        (
            "required list of the signing round shrunk",
            format!(
                "UPDATE signing_round SET required = '[\"etat\"]' WHERE convention_id = {signed}"
            ),
            "de la table signing_round — colonne required modifiée",
        ),
        (
            "published proposal changed",
            format!(
                "UPDATE proposal SET published = replace(published, '\"share\":\"', '\"share\":\"1') \
                 WHERE convention_id = {open}"
            ),
            "de la table proposal — colonne published modifiée",
        ),
        (
            "signed version changed",
            format!("UPDATE convention SET signed_version = NULL WHERE id = {signed}"),
            "de la table convention — colonne signed_version modifiée",
        ),
        (
            "year changed",
            format!("UPDATE convention SET year = year + 1 WHERE id = {signed}"),
            "de la table convention — colonne year modifiée",
        ),
        (
            "title changed",
            format!("UPDATE convention SET title = 'Autre titre' WHERE id = {open}"),
            "de la table convention — colonne title modifiée",
        ),
    ];
    let mut before = findings(&h).await;
    assert_eq!(before, Vec::<String>::new());
    for (what, sql, named) in edits {
        exec(db, &sql)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let now = findings(&h).await;
        let new: Vec<&String> = now.iter().filter(|f| !before.contains(f)).collect();
        assert!(
            new.iter().any(|f| f.contains(named)),
            "{what}: no new finding names « {named} »: {new:#?}"
        );
        before = now;
    }
}

on_both_engines!(every_reported_hole_is_named);
