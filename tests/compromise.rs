//! The shipped demo's convention in concertation goes « Consolider sur le compromis » →
//! « Ouvrir la signature » with no manual step (issue 15, item 1), on both engines: the
//! compromise's changes to the bailleur's row (`non-reserve`) reach the consolidated version.

mod common;

use common::TestDb;
use common::harness::Harness;
use convention_flux::services::conventions::demo::DEMO_PASSWORD;
use rust_decimal::Decimal;
use serde_json::{Value, json};

fn blocking_rules(version: &Value) -> Vec<String> {
    version["document"]["report"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["severity"] == "bloquant")
        .map(|v| v["rule"].as_str().unwrap().to_owned())
        .collect()
}

fn percent(value: &Value) -> Decimal {
    value.as_str().unwrap().parse().unwrap()
}

async fn the_demo_convention_consolidates_on_the_compromise_and_opens_signing(db: &TestDb) {
    let h = Harness::start(db).await;
    let demo = h.seed_demo().await;
    let id = demo.in_concertation;
    let sec = h
        .login("secretariat@demo.convention-flux.fr", DEMO_PASSWORD)
        .await;
    let version = format!("/api/conventions/{id}/version");

    // The demo's starting point: the bailleur's row commits nothing, which breaks the priority
    // minimum and both CIA objectives; the solver's compromise raises the bailleur's row too.
    let before = h.ok(&sec, "GET", &version, None).await;
    let breaches = blocking_rules(&before);
    for rule in [
        "engagement.prioritaires",
        "cia.q1_hors_qpv",
        "cia.non_q1_qpv",
    ] {
        assert!(breaches.iter().any(|b| b == rule), "{rule}: {breaches:?}");
    }
    let compromise = &before["document"]["report"]["compromise"];
    let for_bailleur: Vec<&Value> = compromise["commitments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["reservataire"] == "non-reserve")
        .collect();
    assert!(!for_bailleur.is_empty(), "{compromise}");

    h.ok(
        &sec,
        "POST",
        &format!("/api/conventions/{id}/consolidate"),
        Some(json!({"based_on": "compromise"})),
    )
    .await;
    assert_eq!(h.state(&sec, id).await, "arbitrage");
    let after = h.ok(&sec, "GET", &version, None).await;
    assert_eq!(
        blocking_rules(&after),
        Vec::<String>::new(),
        "{}",
        after["document"]["report"]["violations"]
    );
    // Each of the compromise's figures for the bailleur's row is now its commitment.
    let kept = &after["document"]["scenario"]["non_reserve"]["commitments"];
    for change in for_bailleur {
        let field = change["commitment"].as_str().unwrap();
        assert_eq!(
            percent(&kept[field]),
            percent(&change["compromise"]),
            "{field}: {kept}"
        );
        assert!(percent(&kept[field]) > Decimal::ZERO, "{field}: {kept}");
    }

    // A second click finds nothing left to compromise on and creates no version.
    let (status, body) = h
        .call(
            Some(&sec),
            "POST",
            &format!("/api/conventions/{id}/consolidate"),
            Some(json!({"based_on": "compromise"})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let again = h.ok(&sec, "GET", &version, None).await;
    assert_eq!(again["number"], after["number"]);

    // No manual step: the secretariat opens signing at once.
    h.ok(
        &sec,
        "POST",
        &format!("/api/conventions/{id}/signing"),
        Some(json!({})),
    )
    .await;
    assert_eq!(h.state(&sec, id).await, "signature");
}

on_both_engines!(the_demo_convention_consolidates_on_the_compromise_and_opens_signing);
