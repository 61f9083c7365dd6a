//! Downloads of the flux table through the API, on both engines (issue 5, bailleur's journey).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::TestDb;
use common::harness::{Harness, User, proposal};
use convention_flux::flux::scenario::RawObjectives;
use convention_flux::services::conventions::Platform;
use convention_flux::services::conventions::drafting::{ObjectivesChange, set_objectives};
use convention_flux::services::conventions::members::authenticate;
use convention_flux::services::conventions::prebuild::{Prebuilder, Timing};
use serde_json::{Value, json};

struct Download {
    status: u16,
    content_type: String,
    disposition: String,
    bytes: Vec<u8>,
}

async fn download(h: &Harness, user: &User, path: &str) -> Download {
    let response = h
        .client
        .get(format!("{}{path}", h.base))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    Download {
        status: response.status().as_u16(),
        content_type,
        disposition,
        bytes: response.bytes().await.unwrap().to_vec(),
    }
}

/// Dwellings per row id.
type Sums = Vec<(String, u64)>;

/// (row id → dwellings) summed over the detail lines of the CSV, and its totals section.
fn csv_sums(bytes: &[u8]) -> (Sums, Sums) {
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").expect("BOM")).unwrap();
    let (detail, totals) = text.split_once("\r\n\r\n").expect("a totals section");
    let mut sums: Sums = Vec::new();
    for line in detail.lines().skip(1) {
        let fields: Vec<&str> = line.split(';').collect();
        assert_eq!(fields.len(), 7, "{line}");
        let value: u64 = fields[6].parse().unwrap();
        match sums.iter_mut().find(|(id, _)| id == fields[0]) {
            Some((_, sum)) => *sum += value,
            None => sums.push((fields[0].to_owned(), value)),
        }
    }
    let totals = totals
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(';').collect();
            assert_eq!(fields[2], "Total", "{line}");
            (fields[0].to_owned(), fields[6].parse().unwrap())
        })
        .collect();
    (sums, totals)
}

async fn the_bailleur_downloads_the_table_in_three_formats(db: &TestDb) {
    let h = Harness::start(db).await;
    let sec = h.secretariat().await;
    let id = h.open_convention(&sec).await;
    let etat = h
        .invite(&sec, id, "etat@partie.test", "contributor", "etat")
        .await;
    let commune = h
        .invite(
            &sec,
            id,
            "mairie@partie.test",
            "contributor",
            "commune-69801",
        )
        .await;
    let bailleur = h
        .invite(&sec, id, "bailleur@partie.test", "observer", "")
        .await;
    h.ok(
        &sec,
        "POST",
        &format!("/api/conventions/{id}/transitions/open"),
        Some(json!({})),
    )
    .await;
    for (user, party, share) in [(&etat, "etat", "25"), (&commune, "commune-69801", "15")] {
        h.ok(
            user,
            "POST",
            &format!("/api/conventions/{id}/proposals/{party}/publish"),
            Some(proposal(share)),
        )
        .await;
    }
    let table = h
        .ok(&sec, "GET", &format!("/api/conventions/{id}/table"), None)
        .await;
    let version = table["version"].as_i64().unwrap();
    let margins: Sums = table["table"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["total"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        margins.iter().any(|(id, total)| id == "etat" && *total > 0),
        "{margins:?}"
    );
    let grand_total: u64 = margins.iter().map(|m| m.1).sum();

    // CSV: the detail lines add up to the table's margins, and so does the totals section.
    let csv = download(&h, &bailleur, &format!("/api/conventions/{id}/table.csv")).await;
    assert_eq!(csv.status, 200, "{}", String::from_utf8_lossy(&csv.bytes));
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    assert_eq!(
        csv.disposition,
        format!("attachment; filename=\"flux-convention-{id}-v{version}.csv\"")
    );
    let (sums, totals) = csv_sums(&csv.bytes);
    assert_eq!(sums, margins);
    let mut expected_totals = margins.clone();
    expected_totals.push(("total".into(), grand_total));
    assert_eq!(totals, expected_totals);

    // JSON: the same margins, names included.
    let json = download(&h, &bailleur, &format!("/api/conventions/{id}/table.json")).await;
    assert_eq!(json.status, 200);
    assert_eq!(json.content_type, "application/json");
    let value: Value = serde_json::from_slice(&json.bytes).unwrap();
    assert_eq!(value["total"], json!(grand_total));
    assert_eq!(value["hash"], table["hash"]);
    for (row, (id, total)) in value["rows"].as_array().unwrap().iter().zip(&margins) {
        assert_eq!(row["id"], json!(id));
        assert_eq!(row["total"], json!(total));
        assert_eq!(row["margin"], json!(total));
    }
    assert!(
        value["rows"][0]["name"]
            .as_str()
            .unwrap()
            .starts_with("État")
    );

    // XLSX: a workbook with its five sheets.
    let xlsx = download(&h, &bailleur, &format!("/api/conventions/{id}/table.xlsx")).await;
    assert_eq!(xlsx.status, 200);
    assert_eq!(
        xlsx.content_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(
        xlsx.disposition.ends_with(".xlsx\""),
        "{}",
        xlsx.disposition
    );
    assert_eq!(&xlsx.bytes[..4], b"PK\x03\x04");
    let names = String::from_utf8_lossy(&xlsx.bytes);
    assert!(names.contains("xl/worksheets/sheet5.xml"));
    assert!(!names.contains("xl/worksheets/sheet6.xml"));

    // Filters and an earlier version.
    let filtered = download(
        &h,
        &bailleur,
        &format!("/api/conventions/{id}/table.json?reservataire=etat&qpv=non&commune="),
    )
    .await;
    assert_eq!(filtered.status, 200);
    let value: Value = serde_json::from_slice(&filtered.bytes).unwrap();
    assert_eq!(value["rows"].as_array().unwrap().len(), 1);
    assert!(
        value["columns"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["qpv"] == json!(false))
    );
    let first = download(
        &h,
        &bailleur,
        &format!("/api/conventions/{id}/table.json?version=1"),
    )
    .await;
    let value: Value = serde_json::from_slice(&first.bytes).unwrap();
    assert_eq!(value["version"], 1);
    // Version 1 starts from the converted rates (issue 18): its table is version 1's own, as
    // the version itself records it, not the current one.
    let v1 = h
        .ok(
            &sec,
            "GET",
            &format!("/api/conventions/{id}/versions/1"),
            None,
        )
        .await;
    let v1_etat = v1["document"]["report"]["table"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "etat")
        .unwrap()["total"]
        .clone();
    assert_eq!(value["rows"][0]["id"], "etat");
    assert_eq!(value["rows"][0]["total"], v1_etat, "version 1's own table");
    assert_ne!(
        value["rows"][0]["total"],
        json!(margins[0].1),
        "version 1 is not the current version"
    );
    let bad = download(
        &h,
        &bailleur,
        &format!("/api/conventions/{id}/table.csv?qpv=peut-être"),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(String::from_utf8_lossy(&bad.bytes).contains("Paramètre qpv"));
    let bad = download(
        &h,
        &bailleur,
        &format!("/api/conventions/{id}/table.csv?reservataire=personne"),
    )
    .await;
    assert_eq!(bad.status, 400);
    let missing = download(
        &h,
        &bailleur,
        &format!("/api/conventions/{id}/table.xlsx?version=99"),
    )
    .await;
    assert_eq!(missing.status, 404);

    // Someone who is not a member learns nothing.
    let other_sec = {
        convention_flux::services::conventions::members::create_account(
            &h.platform,
            "autre@cil.test",
            "Autre Secrétariat",
            convention_flux::store::conventions::NewOrganisation {
                kind: "epci".into(),
                name: "Autre EPCI".into(),
                reference: "200000001".into(),
            },
            common::harness::PASSWORD,
        )
        .await
        .unwrap();
        h.login("autre@cil.test", common::harness::PASSWORD).await
    };
    for format in ["csv", "xlsx", "json"] {
        let d = download(
            &h,
            &other_sec,
            &format!("/api/conventions/{id}/table.{format}"),
        )
        .await;
        assert_eq!(d.status, 404, "{format}");
    }
    let anonymous = h
        .client
        .get(format!("{}/api/conventions/{id}/table.csv", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
}

on_both_engines!(the_bailleur_downloads_the_table_in_three_formats);

/// A version written has its workbook built ahead, once the convention is quiet: the builder
/// counts one workbook per burst of versions, and the download is a workbook of the version.
async fn each_new_version_has_its_workbook_built_ahead(db: &TestDb) {
    let h = Harness::start(db).await;
    let sec = h.secretariat().await;
    let id = h.open_convention(&sec).await;
    let timing = Timing {
        quiet: Duration::from_millis(300),
        at_most: Duration::from_secs(20),
    };
    let prebuilder = Arc::new(
        Prebuilder::start(
            tokio::runtime::Handle::current(),
            Arc::clone(&h.platform.store),
            Arc::clone(&h.platform.versions),
            timing,
        )
        .unwrap(),
    );
    let platform = Platform {
        prebuild: Some(Arc::clone(&prebuilder)),
        ..h.platform.clone()
    };
    let caller = authenticate(&platform, &sec.token).await.unwrap();
    // Two versions in a row: one workbook, of the last.
    let mut last = 0;
    for priority in ["25", "30"] {
        let change = ObjectivesChange {
            objectives: RawObjectives {
                q1_hors_qpv_min: "25".into(),
                non_q1_qpv_min: "50".into(),
                priority_min: priority.into(),
            },
            reason: Some("essai".into()),
        };
        last = set_objectives(&platform, &caller, id, change)
            .await
            .unwrap();
    }
    let started = Instant::now();
    while prebuilder.built() == 0 && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(prebuilder.built(), 1, "one workbook for the two versions");
    tokio::time::sleep(timing.quiet * 3).await;
    assert_eq!(prebuilder.built(), 1, "nothing more was written");

    let xlsx = download(&h, &sec, &format!("/api/conventions/{id}/table.xlsx")).await;
    assert_eq!(xlsx.status, 200);
    assert!(xlsx.bytes.starts_with(b"PK"), "a zip archive");
    assert!(
        xlsx.disposition.contains(&format!("-v{last}.xlsx")),
        "{}",
        xlsx.disposition
    );
}

on_both_engines!(each_new_version_has_its_workbook_built_ahead);
