//! The CIA of an EPCI (issue 20), on both engines: recorded by the CIL's secretariat only,
//! versioned and never below the law; restated by every new convention (by hash), stricter
//! objectives accepted and looser ones refused; a change told to the conventions' members and
//! taken into a draft; the CIL's view adding up every convention's forecast, recomputed here
//! from the conventions' own flux tables.

mod common;

use common::TestDb;
use common::harness::{BAILLEUR, EPCI, Harness, User, proposal};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sha2::Digest;

fn cia_body(q1: &str, based_on: Option<u32>) -> Value {
    json!({
        "concluded_on": "2024-06-27",
        "reference": "Délibération n° 2024-0612",
        "objectives": {"q1_hors_qpv_min": q1, "non_q1_qpv_min": "55", "priority_min": "25"},
        "territorial": [
            {"objective": "q1_hors_qpv", "commune": "69801", "min": "40"},
            {"objective": "non_q1_qpv", "commune": "69802", "qpv": "QN06982A", "min": "60"}
        ],
        "bailleurs": [{"siren": BAILLEUR, "q1_hors_qpv": 100, "dalo": 50, "relogements": 3}],
        "reason": "CIA signée le 27 juin 2024",
        "based_on": based_on,
    })
}

async fn refused(h: &Harness, user: &User, body: Value, status: u16, words: &str) {
    let (got, answer) = h
        .call(
            Some(user),
            "PUT",
            &format!("/api/epci/{EPCI}/cia"),
            Some(body),
        )
        .await;
    assert_eq!(got, status, "{answer}");
    let message = answer["erreur"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(words), "« {words} » absent de : {message}");
}

async fn current_scenario(h: &Harness, user: &User, id: i64) -> Value {
    let v = h
        .ok(user, "GET", &format!("/api/conventions/{id}/version"), None)
        .await;
    v["document"]["scenario"].clone()
}

async fn recorded_and_restated(db: &TestDb) {
    let h = Harness::start(db).await;
    let sec = h.secretariat().await;
    let none = h
        .ok(&sec, "GET", &format!("/api/epci/{EPCI}/cia"), None)
        .await;
    assert_eq!(none["current"], Value::Null);

    // A convention opened before any CIA takes the defaults of L.441-1 and restates nothing.
    let before = h.open_convention(&sec).await;
    let scenario = current_scenario(&h, &sec, before).await;
    assert_eq!(
        scenario["objectives"],
        json!({"q1_hors_qpv_min": "25", "non_q1_qpv_min": "50", "priority_min": "25"})
    );
    assert!(scenario.get("cia").is_none(), "{}", scenario["cia"]);

    // What the law and the territory refuse, each with its words; nothing is recorded.
    let mut low = cia_body("30", None);
    low["objectives"]["priority_min"] = json!("20");
    refused(&h, &sec, low, 400, "plancher légal").await;
    let mut not_stricter = cia_body("30", None);
    not_stricter["territorial"][0]["min"] = json!("30");
    refused(&h, &sec, not_stricter, 400, "n'est pas plus exigeant").await;
    let mut two_qpvs = cia_body("30", None);
    two_qpvs["territorial"][1] =
        json!({"objective": "non_q1_qpv", "commune": "69801", "qpv": "QN06981A", "min": "60"});
    refused(&h, &sec, two_qpvs, 400, "compte 2 quartiers prioritaires").await;
    let mut outside = cia_body("30", None);
    outside["territorial"][0]["commune"] = json!("75056");
    refused(&h, &sec, outside, 400, "n'est pas une commune de l'EPCI").await;
    let mut unknown = cia_body("30", None);
    unknown["bailleurs"][0]["siren"] = json!("552100554");
    refused(&h, &sec, unknown, 400, "n'est pas connu").await;
    let mut future = cia_body("30", None);
    future["concluded_on"] = json!("2999-01-01");
    refused(&h, &sec, future, 400, "dans le futur").await;
    let commune = h
        .invite(
            &sec,
            before,
            "mairie@valmont.test",
            "signatory",
            "commune-69801",
        )
        .await;
    refused(
        &h,
        &commune,
        cia_body("30", None),
        403,
        "secrétariat de la CIL",
    )
    .await;
    assert!(db.store.cia_versions(EPCI).await.unwrap().is_empty());

    // Version 1; its hash is the SHA-256 of the stored text.
    let v1 = h
        .ok(
            &sec,
            "PUT",
            &format!("/api/epci/{EPCI}/cia"),
            Some(cia_body("30", Some(0))),
        )
        .await;
    assert_eq!(v1["number"], 1);
    let stored = db.store.cia_versions(EPCI).await.unwrap();
    assert_eq!(stored.len(), 1);
    let digest: String = sha2::Sha256::digest(stored[0].document.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1["hash"].as_str().unwrap(), digest);
    assert_eq!(
        v1["document"]["territorial"][1]["name"],
        "quartier La Source (Bellecombe-les-Vignes)"
    );
    // A party to a convention of the EPCI reads it; a stale form is refused.
    let read = h
        .ok(&commune, "GET", &format!("/api/epci/{EPCI}/cia"), None)
        .await;
    assert_eq!(read["current"]["hash"], v1["hash"]);
    refused(&h, &sec, cia_body("30", Some(0)), 409, "a changé depuis").await;
    // The members of the convention opened before are told.
    let outbox = db.store.outbox().await.unwrap();
    assert!(
        outbox
            .iter()
            .any(|m| m.to == "mairie@valmont.test" && m.subject.contains("La CIA de")),
        "{:?}",
        outbox.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );

    // A convention opened now restates version 1, by number and hash.
    let after = h.open_convention(&sec).await;
    let scenario = current_scenario(&h, &sec, after).await;
    assert_eq!(
        scenario["objectives"],
        json!({"q1_hors_qpv_min": "30", "non_q1_qpv_min": "55", "priority_min": "25"})
    );
    assert_eq!(scenario["cia"]["version"], 1);
    assert_eq!(scenario["cia"]["hash"], v1["hash"]);
    assert_eq!(scenario["cia"]["territorial"].as_array().unwrap().len(), 2);
    assert_eq!(scenario["cia"]["bailleur"]["q1_hors_qpv"], 100);

    // Stricter: accepted. Looser: refused, nothing written.
    let objectives = |q1: &str| json!({"objectives": {"q1_hors_qpv_min": q1, "non_q1_qpv_min": "55", "priority_min": "25"}});
    h.ok(
        &sec,
        "PUT",
        &format!("/api/conventions/{after}/objectives"),
        Some(objectives("35")),
    )
    .await;
    let (status, body) = h
        .call(
            Some(&sec),
            "PUT",
            &format!("/api/conventions/{after}/objectives"),
            Some(objectives("29,5")),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let message = body["erreur"]["message"].as_str().unwrap();
    assert!(
        message.contains("29,5 % est moins exigeant que les 30 %"),
        "{message}"
    );
    assert_eq!(
        current_scenario(&h, &sec, after).await["objectives"]["q1_hors_qpv_min"],
        "35"
    );

    // The convention opened before takes version 1 into a new version, once.
    let adopted = h
        .ok(
            &sec,
            "POST",
            &format!("/api/conventions/{before}/cia"),
            None,
        )
        .await;
    assert!(adopted["version"].as_i64().unwrap() >= 2);
    let scenario = current_scenario(&h, &sec, before).await;
    assert_eq!(scenario["cia"]["hash"], v1["hash"]);
    assert_eq!(scenario["objectives"]["q1_hors_qpv_min"], "30");
    let (status, body) = h
        .call(
            Some(&sec),
            "POST",
            &format!("/api/conventions/{before}/cia"),
            None,
        )
        .await;
    assert_eq!(status, 409, "{body}");

    // Version 2 lowers the EPCI's rate to 27 %: the convention at 35 % (stricter than the 30 %
    // it restated) keeps its 35 %; the one that merely restated 30 % follows to 27 %.
    h.ok(
        &sec,
        "PUT",
        &format!("/api/epci/{EPCI}/cia"),
        Some(cia_body("27", Some(1))),
    )
    .await;
    h.ok(&sec, "POST", &format!("/api/conventions/{after}/cia"), None)
        .await;
    h.ok(
        &sec,
        "POST",
        &format!("/api/conventions/{before}/cia"),
        None,
    )
    .await;
    assert_eq!(
        current_scenario(&h, &sec, after).await["objectives"]["q1_hors_qpv_min"],
        "35"
    );
    assert_eq!(
        current_scenario(&h, &sec, before).await["objectives"]["q1_hors_qpv_min"],
        "27"
    );
    // The history keeps both versions, oldest first, each naming its parent.
    let history = h
        .ok(&sec, "GET", &format!("/api/epci/{EPCI}/cia"), None)
        .await;
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1]["document"]["parent"], v1["hash"]);
}

fn decimal(v: &Value) -> Decimal {
    v.as_str().unwrap().parse().unwrap()
}

/// Σ commitment × dwellings / 100 over every row of a convention's current flux table, for
/// each objective: outside QPV (first quartile), in QPV (other quartiles), all (priority).
fn forecast(document: &Value) -> [(Decimal, u64); 3] {
    let scenario = &document["scenario"];
    let table = &document["report"]["table"];
    let qpv: std::collections::HashMap<&str, bool> = scenario["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap(), s["qpv"].as_bool().unwrap()))
        .collect();
    let columns: Vec<bool> = table["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| qpv[c["id"].as_str().unwrap()])
        .collect();
    let mut out = [(Decimal::ZERO, 0u64); 3];
    for (r, row) in table["rows"].as_array().unwrap().iter().enumerate() {
        let id = row["id"].as_str().unwrap();
        let commitments = if id == "non-reserve" {
            scenario["non_reserve"]["commitments"].clone()
        } else {
            scenario["reservataires"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["id"] == id)
                .unwrap()["commitments"]
                .clone()
        };
        let (mut outside, mut inside) = (0u64, 0u64);
        for (cell, in_qpv) in table["cells"][r].as_array().unwrap().iter().zip(&columns) {
            let n = cell.as_u64().unwrap();
            if *in_qpv {
                inside += n;
            } else {
                outside += n;
            }
        }
        for (k, (c, d)) in [
            (decimal(&commitments["q1_hors_qpv"]), outside),
            (decimal(&commitments["non_q1_qpv"]), inside),
            (decimal(&commitments["priority"]), outside + inside),
        ]
        .into_iter()
        .enumerate()
        {
            out[k].0 += c * Decimal::from(d) / Decimal::ONE_HUNDRED;
            out[k].1 += d;
        }
    }
    out
}

async fn the_cil_view_adds_up_every_convention(db: &TestDb) {
    let h = Harness::start(db).await;
    let sec = h.secretariat().await;
    h.ok(
        &sec,
        "PUT",
        &format!("/api/epci/{EPCI}/cia"),
        Some(cia_body("30", None)),
    )
    .await;
    // Two conventions of the year, with proposals from two parties in one of them.
    let first = h.open_convention(&sec).await;
    let second = h.open_convention(&sec).await;
    let etat = h
        .invite(&sec, first, "etat@prefecture.test", "signatory", "etat")
        .await;
    let action = h
        .invite(
            &sec,
            first,
            "al@actionlogement.test",
            "signatory",
            "action-logement",
        )
        .await;
    h.ok(
        &sec,
        "POST",
        &format!("/api/conventions/{first}/transitions/open"),
        Some(json!({})),
    )
    .await;
    h.ok(
        &etat,
        "POST",
        &format!("/api/conventions/{first}/proposals/etat/publish"),
        Some(proposal("25")),
    )
    .await;
    let mut low = proposal("20");
    low["commitments"]["q1_hors_qpv"] = json!("10");
    h.ok(
        &action,
        "POST",
        &format!("/api/conventions/{first}/proposals/action-logement/publish"),
        Some(low),
    )
    .await;

    let view = h
        .ok(
            &sec,
            "GET",
            &format!("/api/epci/{EPCI}/cil?annee=2027"),
            None,
        )
        .await;
    assert_eq!(view["year"], 2027);
    assert_eq!(view["conventions"].as_array().unwrap().len(), 2);
    // Recomputed from each convention's current version, as any party can read it.
    let mut total = [(Decimal::ZERO, 0u64); 3];
    for id in [first, second] {
        let v = h
            .ok(&sec, "GET", &format!("/api/conventions/{id}/version"), None)
            .await;
        let figures = forecast(&v["document"]);
        let line = view["conventions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap();
        for k in 0..3 {
            total[k].0 += figures[k].0;
            total[k].1 += figures[k].1;
            assert_eq!(
                decimal(&line["contributions"][k]["households"]),
                figures[k].0.round_dp(2),
                "convention {id}, objectif {k}"
            );
        }
    }
    let targets = [Decimal::from(30), Decimal::from(55), Decimal::from(25)];
    for k in 0..3 {
        let line = &view["objectives"][k];
        assert_eq!(line["territory"], Value::Null);
        assert_eq!(line["dwellings"].as_u64().unwrap(), total[k].1);
        assert_eq!(
            decimal(&line["forecast_households"]),
            total[k].0.round_dp(2)
        );
        let wanted = targets[k] * Decimal::from(total[k].1) / Decimal::ONE_HUNDRED;
        let shortfall = (wanted - total[k].0).max(Decimal::ZERO);
        assert_eq!(
            decimal(&line["shortfall"]),
            shortfall.round_dp(2),
            "objectif {k}"
        );
        assert_eq!(line["met"].as_bool().unwrap(), shortfall.is_zero());
    }
    // Action Logement committed 10 % where 30 % is asked: it is among those who could close
    // the first quartile's shortfall, for (30 − 10) × its dwellings outside QPV / 100.
    let closers = view["objectives"][0]["closers"].as_array().unwrap();
    assert!(
        closers
            .iter()
            .any(|c| c["row"] == "action-logement" && c["convention"] == first),
        "{closers:?}"
    );
    // Territorial lines follow, one per rate of the CIA.
    assert_eq!(view["objectives"].as_array().unwrap().len(), 5);
    assert_eq!(view["objectives"][3]["territory"], "Valmont-sur-Saône");

    // The page and the workbook; who may not see them.
    let (status, html) = h.page(&sec, &format!("/epci/{EPCI}/cil")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Cohérence à l'échelle de l'EPCI"), "{html}");
    let xlsx = h
        .client
        .get(format!("{}/epci/{EPCI}/cil.xlsx", h.base))
        .header("cookie", format!("cf_session={}", sec.token))
        .send()
        .await
        .unwrap();
    assert_eq!(xlsx.status().as_u16(), 200);
    assert!(
        xlsx.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("cil-200999803-2027.xlsx")
    );
    let xlsx = xlsx.bytes().await.unwrap();
    // A zip archive (XLSX) holding the four sheets.
    assert_eq!(&xlsx[..2], b"PK");
    let (status, body) = h
        .call(Some(&etat), "GET", &format!("/api/epci/{EPCI}/cil"), None)
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = h.page(&etat, &format!("/epci/{EPCI}/cil")).await;
    assert_eq!(status, 403);
    let (status, html) = h.page(&etat, &format!("/epci/{EPCI}/cia")).await;
    assert_eq!(status, 200);
    assert!(
        !html.contains("Enregistrer la version"),
        "a party cannot edit the CIA"
    );
    let (status, body) = h
        .call(
            Some(&sec),
            "GET",
            &format!("/api/epci/{EPCI}/cil?annee=99999"),
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = h.page(&sec, "/epci/pas-un-siren/cia").await;
    assert_eq!(status, 404);
}

on_both_engines!(recorded_and_restated, the_cil_view_adds_up_every_convention);
