//! A version's identity is the SHA-256 of its stored text: reading its report into types changes
//! nothing of it, and a version stored before the ties were grouped keeps its hash and every
//! one of its ties (issue 16, items 7 and 12). The demo part runs on both engines.

mod common;

use common::TestDb;
use common::harness::Harness;
use convention_flux::flux::solver::stored::StoredTies;
use convention_flux::services::conventions::document::{TypedDocument, VersionDocument};
use convention_flux::services::conventions::parsed::ParsedVersion;
use convention_flux::signing::{sha256_hex, to_canonical};
use serde_json::Value;

/// The demo's signed convention n° 1, version 8, as the platform stored it on 7 December 2026
/// before the ties were grouped: one object per tie, 70 ties.
const OLD_FORMAT: &str = include_str!("data/version-signee-demo-ancien-format.json");
const OLD_FORMAT_HASH: &str = "10dba5ebd4b053d7c087143d3eda2c201dcc4b0777ac21f7b4deeea078113e95";

type Tie = (String, String, u64, u64);

/// The ties of a stored table as (row, column, value, alternative), read from the JSON by hand
/// in both forms: the reference the typed reading is compared with.
fn ties_by_hand(table: &Value) -> Vec<Tie> {
    let columns: Vec<&str> = table["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let mut out = Vec::new();
    for tie in table["ties"].as_array().unwrap() {
        let (row, value, alternative) = (
            tie["row"].as_str().unwrap().to_owned(),
            tie["value"].as_u64().unwrap(),
            tie["alternative"].as_u64().unwrap(),
        );
        if let Some(column) = tie["column"].as_str() {
            out.push((row, column.to_owned(), value, alternative));
            continue;
        }
        for item in tie["columns"].as_array().unwrap() {
            let (first, last) = match item.as_array() {
                Some(pair) => (pair[0].as_u64().unwrap(), pair[1].as_u64().unwrap()),
                None => (item.as_u64().unwrap(), item.as_u64().unwrap()),
            };
            for c in first..=last {
                out.push((
                    row.clone(),
                    columns[c as usize].to_owned(),
                    value,
                    alternative,
                ));
            }
        }
    }
    out.sort();
    out
}

/// Reads `text` both ways and checks that neither changes its identity nor loses a tie.
fn check_stored_version(text: &str, hash: &str) -> TypedDocument {
    assert_eq!(sha256_hex(text.as_bytes()), hash, "the stored hash");
    // As stored: sealed again, the same text, the same hash.
    let stored: VersionDocument = serde_json::from_str(text).unwrap();
    assert_eq!(
        stored.seal_text().unwrap(),
        (text.to_owned(), hash.to_owned())
    );
    // Typed: written back, the same report, and canonically the same text.
    let typed: TypedDocument = serde_json::from_str(text).unwrap();
    assert_eq!(serde_json::to_value(&typed.report).unwrap(), stored.report);
    assert_eq!(to_canonical(&typed).unwrap(), text);
    assert_eq!(stored.report().unwrap(), typed.report);
    // Every tie recovered, each at the value its cell kept.
    let table = typed.report.table.as_ref().expect("a flux table");
    let mut recovered: Vec<Tie> = table
        .ties()
        .iter()
        .map(|t| {
            (
                t.row.to_owned(),
                t.column.to_owned(),
                t.value,
                t.alternative,
            )
        })
        .collect();
    recovered.sort();
    let expected = ties_by_hand(&stored.report["table"]);
    assert!(!expected.is_empty());
    assert_eq!(recovered, expected);
    for (row, column, value, alternative) in &expected {
        assert_eq!(table.cell(row, column), Some(*value), "{row} × {column}");
        assert_eq!(value.abs_diff(*alternative), 1);
    }
    typed
}

#[test]
fn a_version_stored_with_one_object_per_tie_keeps_its_hash_and_every_tie() {
    let typed = check_stored_version(OLD_FORMAT, OLD_FORMAT_HASH);
    let table = typed.report.table.as_ref().unwrap();
    assert!(matches!(table.ties, StoredTies::PerCell(_)));
    assert_eq!(table.tie_count(), 70);
    assert_eq!((typed.convention, typed.number), (1, 8));
    assert_eq!(typed.report.summary.blocking, 0);
}

async fn the_signed_demo_version_keeps_its_hash_through_the_typed_reading(db: &TestDb) {
    let h = Harness::start(db).await;
    let demo = h.seed_demo().await;
    let versions = h.platform.store.versions(demo.signed).await.unwrap();
    let signed = versions
        .iter()
        .find(|v| v.locked)
        .expect("the signed version is locked");
    let typed = check_stored_version(&signed.document, &signed.hash);
    let table = typed.report.table.as_ref().unwrap();
    assert!(matches!(table.ties, StoredTies::Grouped(_)));
    // The demo solves the same scenario as before the ties were grouped: the same ties.
    let old: Value = serde_json::from_str(OLD_FORMAT).unwrap();
    let stored: Value = serde_json::from_str(&signed.document).unwrap();
    assert_eq!(
        ties_by_hand(&stored["report"]["table"]),
        ties_by_hand(&old["report"]["table"])
    );
    // The cached reading is the same document.
    let parsed = ParsedVersion::parse(signed).unwrap();
    assert_eq!(parsed.hash, signed.hash);
    assert_eq!(parsed.document, typed);
}

on_both_engines!(the_signed_demo_version_keeps_its_hash_through_the_typed_reading);
