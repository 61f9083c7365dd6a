//! A new convention starts from the conversion of the état des lieux (issue 18, items 4 and 5):
//! each réservataire's default share is its converted rate, by the method the secretariat
//! chose and recorded in the version; communes and EPCI on their territory; a réservataire
//! without rights at 0 and told so; its shares of the stock by typology and in or outside QPV
//! in the scenario, so that the `representativite` warning fires beyond the policy's
//! threshold and not at it. On a small territory computed by hand, on both engines.

mod common;

use std::sync::Arc;

use common::harness::{BAILLEUR, EPCI, Harness, User};
use common::{TestDb, unescape};
use convention_flux::flux::scenario::{RawScenario, Scenario};
use convention_flux::flux::solver::solve;
use convention_flux::import::ImportKind;
use convention_flux::policy::rules::Policy;
use convention_flux::services::import::{NoProgress, import_file};
use serde_json::{Value, json};

/// In Valmont-sur-Saône (69801), outside QPV, 2027 (365 days), releases of 2024 to 2026:
///
/// - T2: A01…A10, two releases a year → rotation 6 / (10 × 3) = 0.2, flux 10 × 0.2 = 2;
/// - T3: B01…B10, three releases a year → rotation 9 / 30 = 0.3, flux 3.
///
/// Rights, none ending: etat holds A01…A05 and B01; metropole-val-de-saone (the EPCI) A06;
/// commune-69801 none. Flux-equivalents: etat 5 × 0.2 + 0.3 = 1.3, the EPCI 0.2, the whole
/// 10 × 0.2 + 10 × 0.3 = 5. Rates (method flux): etat 1.3 / 5 = 26 %, the EPCI (its territory
/// is the whole patrimoine here) 0.2 / 5 = 4 %. Method stock: 6 / 20 = 30 % and 1 / 20 = 5 %.
/// Shares of the stock: etat T2 5 / 10 = 50 %, T3 1 / 10 = 10 %, outside QPV 6 / 20 = 30 %;
/// the EPCI T2 10 %, T3 0 %, outside QPV 5 %. No dwelling in QPV: no group there.
async fn small_territory(db: &TestDb) {
    let mut logements =
        String::from("rpls_id;commune;qpv;typologie;financement;individuel;annee_construction\n");
    let mut releases = String::from("rpls_id;date_liberation\n");
    for i in 1..=10 {
        logements.push_str(&format!("A{i:02};69801;;T2;PLUS;non;1990\n"));
        logements.push_str(&format!("B{i:02};69801;;T3;PLUS;non;1990\n"));
    }
    for year in 2024..=2026 {
        for i in 1..=2 {
            releases.push_str(&format!("A{:02};{year}-03-0{i}\n", i + 2 * (year - 2024)));
        }
        for i in 1..=3 {
            releases.push_str(&format!("B{:02};{year}-04-0{i}\n", i + 3 * (year - 2024)));
        }
    }
    let mut rights = String::from("rpls_id;reservataire;fondement;date_fin\n");
    for i in 1..=5 {
        rights.push_str(&format!("A{i:02};etat;contingent_prefectoral;\n"));
    }
    rights.push_str("B01;etat;contingent_prefectoral;\n");
    rights.push_str("A06;metropole-val-de-saone;garantie_emprunt;2045-06-30\n");
    for (kind, csv) in [
        (ImportKind::Logements, logements),
        (ImportKind::Liberations, releases),
        (ImportKind::ReservationsStock, rights),
    ] {
        import_file(
            db.store.as_ref(),
            kind,
            csv.into_bytes(),
            Some(BAILLEUR.parse().unwrap()),
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
    }
}

const PARTIES: [&str; 3] = ["etat", "commune-69801", "metropole-val-de-saone"];

async fn open(h: &Harness, sec: &User, method: Option<&str>) -> (u16, Value) {
    let mut body = json!({
        "epci": EPCI, "bailleur": BAILLEUR, "year": 2027, "reservataires": PARTIES,
    });
    if let Some(method) = method {
        body["method"] = json!(method);
    }
    h.call(Some(sec), "POST", "/api/conventions", Some(body))
        .await
}

async fn first_version(h: &Harness, sec: &User, id: i64) -> Value {
    h.ok(sec, "GET", &format!("/api/conventions/{id}/version"), None)
        .await["document"]
        .clone()
}

fn party<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["scenario"]["reservataires"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap()
}

/// The `representativite` warnings of `scenario` with the State at `share`: (group, observed).
fn representativeness(scenario: &RawScenario, share: &str) -> Vec<(String, String)> {
    let mut scenario = scenario.clone();
    for r in &mut scenario.reservataires {
        r.share = if r.id == "etat" { share } else { "0" }.into();
    }
    let policy =
        Policy::parse_national(include_str!("../policies/national.toml")).expect("the policy");
    let report = solve(&Scenario::from_raw(scenario).unwrap(), &policy);
    report
        .violations
        .iter()
        .filter(|v| v.rule == "representativite")
        .map(|v| {
            assert_eq!(v.reservataires, vec!["etat".to_owned()]);
            (
                v.message
                    .split_once(", ")
                    .map(|(head, _)| head.trim_start_matches("Dans les logements ").to_owned())
                    .unwrap(),
                v.observed.clone(),
            )
        })
        .collect()
}

async fn a_new_convention_starts_from_the_converted_rates(db: &TestDb) {
    let h = Harness::start_with_demo_files(db, Some(ImportKind::Reservataires)).await;
    small_territory(db).await;
    let sec = h.secretariat().await;

    // An unknown method is refused, naming the field, in French.
    let (status, body) = open(&h, &sec, Some("au hasard")).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string().contains("Champ method") && body.to_string().contains("inconnue"),
        "{body}"
    );

    // Method flux by default.
    let (status, body) = open(&h, &sec, None).await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().unwrap();
    let doc = first_version(&h, &sec, id).await;
    assert_eq!(party(&doc, "etat")["share"], "26");
    assert_eq!(party(&doc, "etat")["scope"], Value::Null);
    assert_eq!(party(&doc, "metropole-val-de-saone")["share"], "4");
    // The EPCI's territory: every commune of the EPCI, as the conversion computes it.
    let communes = doc["scenario"]["epci"]["communes"].clone();
    assert!(communes.as_array().unwrap().len() > 1);
    assert_eq!(party(&doc, "metropole-val-de-saone")["scope"], communes);
    assert_eq!(party(&doc, "commune-69801")["share"], "0");
    assert_eq!(party(&doc, "commune-69801")["scope"], json!(["69801"]));
    // Shares of the stock: typologies first, then outside QPV.
    assert_eq!(
        party(&doc, "etat")["stock"],
        json!([
            {"typology": "T2", "qpv": null, "share": "50"},
            {"typology": "T3", "qpv": null, "share": "10"},
            {"typology": null, "qpv": false, "share": "30"},
        ])
    );
    assert_eq!(
        party(&doc, "metropole-val-de-saone")["stock"],
        json!([
            {"typology": "T2", "qpv": null, "share": "10"},
            {"typology": "T3", "qpv": null, "share": "0"},
            {"typology": null, "qpv": false, "share": "5"},
        ])
    );
    // No rights, no stock to mirror.
    assert!(party(&doc, "commune-69801").get("stock").is_none());
    assert_eq!(
        doc["starting_rates"],
        json!({"method": "flux", "lookback": 3, "reservataires": [
            {"id": "etat", "rate": "26", "rights": 6},
            {"id": "commune-69801", "rate": "0", "rights": 0},
            {"id": "metropole-val-de-saone", "rate": "4", "rights": 1},
        ]})
    );

    // The warning in the version's report: etat at 26 % of each segment receives 26 % of the
    // T2 (50 % of the stock: 24 points) and of the T3 (10 %: 16 points), 26 % outside QPV
    // against 30 % (4 points, within the threshold); the EPCI at 4 %: T2 6 points, T3 4, outside
    // QPV 1, all within.
    let violations: Vec<(String, String)> = doc["report"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["rule"] == "representativite")
        .map(|v| {
            (
                v["reservataires"][0].as_str().unwrap().to_owned(),
                v["observed"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        violations,
        vec![("etat".into(), "26".into()), ("etat".into(), "26".into())]
    );

    // At the threshold (10 points) the warning stays silent; one hundredth beyond, it fires.
    // With the State at s: T2 |s − 50|, T3 |s − 10|, outside QPV |s − 30|.
    let scenario: RawScenario = serde_json::from_value(doc["scenario"].clone()).unwrap();
    let t3 = ("T3".to_owned(), "40".to_owned());
    assert_eq!(representativeness(&scenario, "40"), vec![t3]);
    assert_eq!(
        representativeness(&scenario, "40.01"),
        vec![
            ("T3".to_owned(), "40.01".to_owned()),
            ("hors QPV".to_owned(), "40.01".to_owned()),
        ]
    );
    assert_eq!(
        representativeness(&scenario, "39.99"),
        vec![
            ("T2".to_owned(), "39.99".to_owned()),
            ("T3".to_owned(), "39.99".to_owned()),
        ]
    );
    // No single rate mirrors both typologies (50 % of the T2, 10 % of the T3): an exception
    // by typology would.
    assert_eq!(
        representativeness(&scenario, "30"),
        vec![
            ("T2".to_owned(), "30".to_owned()),
            ("T3".to_owned(), "30".to_owned()),
        ]
    );

    // The report page names the réservataire and the group, never an id.
    let html = page(&h, &sec, &format!("/conventions/{id}/rapport")).await;
    assert!(
        html.contains("Dans les logements T2, État – contingent préfectoral reçoit 26 % du flux contre 50 % du stock"),
        "{html}"
    );
    assert!(!html.contains("Dans les logements T2, etat "));

    // Method stock, recorded as such: 30 % and 5 %.
    let (status, body) = open(&h, &sec, Some("stock")).await;
    assert_eq!(status, 201, "{body}");
    let doc = first_version(&h, &sec, body["id"].as_i64().unwrap()).await;
    assert_eq!(doc["starting_rates"]["method"], "stock");
    assert_eq!(party(&doc, "etat")["share"], "30");
    assert_eq!(party(&doc, "metropole-val-de-saone")["share"], "5");
    assert_eq!(party(&doc, "commune-69801")["share"], "0");
}

/// The proposal form tells a réservataire where its share started, in words.
async fn each_reservataire_is_told_where_its_share_starts(db: &TestDb) {
    let h = Harness::start_with_demo_files(db, Some(ImportKind::Reservataires)).await;
    small_territory(db).await;
    let sec = h.secretariat().await;
    let (status, body) = open(&h, &sec, None).await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().unwrap();
    let etat = h
        .invite(&sec, id, "etat@partie.test", "signatory", "etat")
        .await;
    let commune = h
        .invite(
            &sec,
            id,
            "commune@partie.test",
            "signatory",
            "commune-69801",
        )
        .await;
    h.ok(
        &sec,
        "POST",
        &format!("/api/conventions/{id}/transitions/open"),
        Some(json!({})),
    )
    .await;
    let path = format!("/conventions/{id}/propositions");
    let html = page(&h, &etat, &path).await;
    assert!(
        html.contains("Votre part de départ, 26 %, est la conversion de vos 6 droits de réservation en stock chez ce bailleur (méthode flux"),
        "{html}"
    );
    assert!(html.contains("value=\"26\""), "the form starts at 26");
    let html = page(&h, &commune, &path).await;
    assert!(
        html.contains("Votre part de départ est de 0 % : vous ne déteniez aucun droit de réservation en stock chez ce bailleur"),
        "{html}"
    );
    let html = page(&h, &sec, &path).await;
    assert!(
        html.contains("Les parts de départ des réservataires sont la conversion de leurs droits en stock (méthode flux"),
        "{html}"
    );
    // Nobody has published: the secretariat sees where each share starts (26 % for the State,
    // computed by hand above; 0 for the commune, which held no right).
    assert!(html.contains(">26 % (part de départ)</td>"), "{html}");
    assert!(html.contains(">0 % (part de départ)</td>"), "{html}");
}

/// A page as `user` sees it, which must be served, as a reader reads it.
async fn page(h: &Harness, user: &User, path: &str) -> String {
    let (status, html) = h.page(user, path).await;
    assert_eq!(status, 200, "GET {path}");
    unescape(&html)
}

on_both_engines!(
    a_new_convention_starts_from_the_converted_rates,
    each_reservataire_is_told_where_its_share_starts
);
