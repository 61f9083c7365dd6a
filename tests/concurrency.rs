//! Concurrent actions on one convention end exactly once and consistently, on both engines
//! (issue 4): two signatures at once, the same signature twice, a new version while a
//! signature is in flight.

mod common;

use common::TestDb;
use common::harness::{Harness, User};
use convention_flux::services::conventions::demo::DEMO_PASSWORD;
use serde_json::{Value, json};

const SECRETARIAT: &str = "secretariat@demo.convention-flux.fr";

fn email(party: &str) -> String {
    format!("{party}@demo.convention-flux.fr")
}

/// The demo's convention in concertation, brought to a signing round where `required` must
/// sign; returns its id and the hash being signed.
async fn round(h: &Harness, required: &[&str]) -> (i64, String, User) {
    let demo = h.seed_demo().await;
    let id = demo.in_concertation;
    let sec = h.login(SECRETARIAT, DEMO_PASSWORD).await;
    for (party, share) in [
        ("commune-69802", "15"),
        ("action-logement", "20"),
        ("departement-69", "5"),
    ] {
        let user = h.login(&email(party), DEMO_PASSWORD).await;
        h.ok(
            &user,
            "POST",
            &format!("/api/conventions/{id}/proposals/{party}/publish"),
            Some(common::harness::proposal(share)),
        )
        .await;
    }
    let bailleur = h.login(&email("bailleur"), DEMO_PASSWORD).await;
    h.ok(
        &bailleur,
        "POST",
        &format!("/api/conventions/{id}/proposals/bailleur/publish"),
        Some(json!({"commitments": {"priority": "30", "q1_hors_qpv": "30", "non_q1_qpv": "55"}})),
    )
    .await;
    h.ok(
        &sec,
        "POST",
        &format!("/api/conventions/{id}/consolidate"),
        Some(json!({"based_on": "proposals"})),
    )
    .await;
    h.ok(
        &sec,
        "POST",
        &format!("/api/conventions/{id}/signing"),
        Some(json!({"required": required})),
    )
    .await;
    let version = h
        .ok(&sec, "GET", &format!("/api/conventions/{id}/version"), None)
        .await;
    (id, version["hash"].as_str().unwrap().to_owned(), sec)
}

async fn sign(h: &Harness, user: &User, id: i64, hash: &str) -> (u16, Value) {
    h.call(
        Some(user),
        "POST",
        &format!("/api/conventions/{id}/signatures"),
        Some(json!({"password": DEMO_PASSWORD, "version_hash": hash})),
    )
    .await
}

async fn view(h: &Harness, user: &User, id: i64) -> Value {
    h.ok(user, "GET", &format!("/api/conventions/{id}"), None)
        .await
}

async fn two_signatures_at_once(db: &TestDb) {
    let h = Harness::start(db).await;
    let (id, hash, sec) = round(&h, &["etat", "bailleur"]).await;
    let etat = h.login(&email("etat"), DEMO_PASSWORD).await;
    let bailleur = h.login(&email("bailleur"), DEMO_PASSWORD).await;
    let (a, b) = tokio::join!(sign(&h, &etat, id, &hash), sign(&h, &bailleur, id, &hash));
    assert_eq!((a.0, b.0), (201, 201), "{a:?} {b:?}");
    let locks = [&a.1, &b.1]
        .iter()
        .filter(|s| s["locked"] == json!(true))
        .count();
    assert_eq!(locks, 1, "exactly one signature is the last: {a:?} {b:?}");
    let v = view(&h, &sec, id).await;
    assert_eq!(v["convention"]["state"], "signee");
    assert_eq!(v["signatures"].as_array().unwrap().len(), 2);
    assert_eq!(v["current_version"]["locked"], json!(true));
}

async fn the_same_signature_twice(db: &TestDb) {
    let h = Harness::start(db).await;
    let (id, hash, sec) = round(&h, &["etat", "bailleur"]).await;
    let etat = h.login(&email("etat"), DEMO_PASSWORD).await;
    let (a, b) = tokio::join!(sign(&h, &etat, id, &hash), sign(&h, &etat, id, &hash));
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{a:?} {b:?}");
    let refused = if a.0 == 409 { &a.1 } else { &b.1 };
    assert!(
        refused["erreur"]["message"]
            .as_str()
            .unwrap()
            .contains("déjà signé"),
        "{refused}"
    );
    let v = view(&h, &sec, id).await;
    assert_eq!(v["signatures"].as_array().unwrap().len(), 1);
    assert_eq!(v["convention"]["state"], "signature");
}

async fn a_new_version_while_the_last_signature_is_in_flight(db: &TestDb) {
    let h = Harness::start(db).await;
    let (id, hash, sec) = round(&h, &["etat", "bailleur"]).await;
    let etat = h.login(&email("etat"), DEMO_PASSWORD).await;
    let bailleur = h.login(&email("bailleur"), DEMO_PASSWORD).await;
    assert_eq!(sign(&h, &etat, id, &hash).await.0, 201);
    let version = h
        .ok(&sec, "GET", &format!("/api/conventions/{id}/version"), None)
        .await;
    let mut clauses = version["document"]["clauses"].clone();
    clauses[0]["text"] = json!("Objet reformulé pendant la signature.");
    let path = format!("/api/conventions/{id}/clauses");
    let edit = h.call(Some(&sec), "PUT", &path, Some(json!({"clauses": clauses})));
    let (signature, edit) = tokio::join!(sign(&h, &bailleur, id, &hash), edit);
    let v = view(&h, &sec, id).await;
    let state = v["convention"]["state"].as_str().unwrap();
    match (signature.0, edit.0) {
        // The signature came first: the version is locked and the edit refused.
        (201, 409) => {
            assert_eq!(state, "signee");
            assert_eq!(v["current_version"]["hash"], json!(hash));
            assert_eq!(v["current_version"]["locked"], json!(true));
        }
        // The edit came first: the round is void, the signature refused, nothing locked.
        (409, 201) => {
            assert_eq!(state, "arbitrage");
            assert_ne!(v["current_version"]["hash"], json!(hash));
            assert_eq!(v["current_version"]["locked"], json!(false));
            assert_eq!(v["rounds"][0]["status"], "annulee");
            let signatures = v["signatures"].as_array().unwrap();
            assert_eq!(signatures.len(), 1);
            assert_eq!(signatures[0]["void"], json!(true));
        }
        other => panic!("both or neither succeeded: {other:?} {signature:?} {edit:?}"),
    }
}

on_both_engines!(
    two_signatures_at_once,
    the_same_signature_twice,
    a_new_version_while_the_last_signature_is_in_flight
);
