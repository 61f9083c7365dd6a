//! The flux table is extracted once per version hash (`http::table_cache`): after a change, the
//! new version's table is served, the same as the one in the version document, and the caller's
//! membership is still checked on every read (issue 4, hot read path).

mod common;

use common::TestDb;
use common::harness::{Harness, PASSWORD, proposal};
use convention_flux::services::conventions::members::create_account;
use convention_flux::store::conventions::NewOrganisation;
use serde_json::{Value, json};

/// `GET /table` agrees with the current version's document.
async fn table_matches_version(h: &Harness, user: &common::harness::User, id: i64) -> Value {
    let version = h
        .ok(user, "GET", &format!("/api/conventions/{id}/version"), None)
        .await;
    let table = h
        .ok(user, "GET", &format!("/api/conventions/{id}/table"), None)
        .await;
    assert_eq!(table["version"], version["number"]);
    assert_eq!(table["hash"], version["hash"]);
    assert_eq!(table["locked"], version["locked"]);
    assert_eq!(table["table"], version["document"]["report"]["table"]);
    assert!(!table["table"].is_null(), "{table}");
    table
}

async fn a_new_version_is_served_after_a_change(db: &TestDb) {
    let h = Harness::start(db).await;
    let sec = h.secretariat().await;
    let id = h.open_convention(&sec).await;
    let first = table_matches_version(&h, &sec, id).await;
    // Served twice from the same version: the same answer.
    assert_eq!(table_matches_version(&h, &sec, id).await, first);

    // The State publishes a 25 % share during the concertation: a new version, a new table.
    let etat = h
        .invite(&sec, id, "etat@partie.test", "signatory", "etat")
        .await;
    h.ok(
        &sec,
        "POST",
        &format!("/api/conventions/{id}/transitions/open"),
        Some(json!({})),
    )
    .await;
    h.ok(
        &etat,
        "POST",
        &format!("/api/conventions/{id}/proposals/etat/publish"),
        Some(proposal("25")),
    )
    .await;
    let second = table_matches_version(&h, &sec, id).await;
    assert_ne!(second["hash"], first["hash"]);
    assert!(second["version"].as_i64() > first["version"].as_i64());
    assert_ne!(second["table"], first["table"], "the State's share changed");
    // Every member reads the same current table.
    assert_eq!(table_matches_version(&h, &etat, id).await, second);

    // A signed-in non-member is refused, although the table is cached.
    create_account(
        &h.platform,
        "autre@epci.test",
        "Autre personne",
        NewOrganisation {
            kind: "autre".into(),
            name: "Commune voisine".into(),
            reference: "69999".into(),
        },
        PASSWORD,
    )
    .await
    .unwrap();
    let outsider = h.login("autre@epci.test", PASSWORD).await;
    let (status, body) = h
        .call(
            Some(&outsider),
            "GET",
            &format!("/api/conventions/{id}/table"),
            None,
        )
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = h
        .call(None, "GET", &format!("/api/conventions/{id}/table"), None)
        .await;
    assert_eq!(status, 401);
}

on_both_engines!(a_new_version_is_served_after_a_change);
