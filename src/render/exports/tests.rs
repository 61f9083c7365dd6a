use std::collections::BTreeMap;
use std::io::Read;

use super::*;
use crate::flux::scenario::{
    RawCommitments, RawEpci, RawNonReserve, RawObjectives, RawReservataire, RawScenario, RawSegment,
};
use crate::services::conventions::document::{Author, BailleurRef, VERSION_FORMAT};

fn commitments() -> RawCommitments {
    RawCommitments {
        priority: "25".into(),
        q1_hors_qpv: "25".into(),
        non_q1_qpv: "50".into(),
    }
}

fn reservataire(id: &str, name: &str, kind: &str) -> RawReservataire {
    RawReservataire {
        id: id.into(),
        kind: kind.into(),
        basis: "contingent_prefectoral".into(),
        name: name.into(),
        share: "25".into(),
        scope: None,
        overrides: vec![],
        commitments: commitments(),
        territory: None,
        stock: vec![],
    }
}

fn segment(id: &str, commune: &str, typology: Option<&str>, qpv: bool, flux: u64) -> RawSegment {
    RawSegment {
        id: id.into(),
        commune: commune.into(),
        typology: typology.map(Into::into),
        qpv,
        flux,
    }
}

/// Two réservataires and the unreserved row over three segments in two communes.
fn document() -> VersionDocument {
    VersionDocument {
        format: VERSION_FORMAT.into(),
        convention: 3,
        number: 7,
        parent: None,
        author: Author {
            id: 1,
            name: "Secrétariat".into(),
            party: "secretariat".into(),
        },
        reason: "test".into(),
        created_at: "2026-11-23T12:00:00.000Z".into(),
        title: "Convention « Val; de Saône »".into(),
        bailleur: BailleurRef {
            siren: "276999802".into(),
            name: "Bailleur".into(),
        },
        scenario: RawScenario {
            schema: 1,
            year: 2027,
            policy: "national".into(),
            epci: RawEpci {
                siren: "200999803".into(),
                communes: vec!["69801".into(), "69802".into()],
            },
            segments: vec![
                segment("a-t2", "69801", Some("T2"), false, 10),
                segment("a-qpv", "69801", Some("T3"), true, 6),
                segment("b", "69802", Some("T2"), false, 4),
            ],
            objectives: RawObjectives {
                q1_hors_qpv_min: "25".into(),
                non_q1_qpv_min: "50".into(),
                priority_min: "25".into(),
            },
            reservataires: vec![
                reservataire("etat", "État", "etat"),
                reservataire("commune-69801", "Commune de Valmont; mairie", "commune"),
            ],
            non_reserve: RawNonReserve {
                commitments: commitments(),
            },
            stipulations: vec![],
            cia: None,
        },
        clauses: vec![],
        based_on: "proposals".into(),
        report: serde_json::json!({
            "table": {
                "rows": [{"id": "etat", "total": 5}, {"id": "commune-69801", "total": 6},
                         {"id": "non-reserve", "total": 9}],
                "columns": [{"id": "a-t2", "total": 10}, {"id": "a-qpv", "total": 6},
                            {"id": "b", "total": 4}],
                "cells": [[3, 1, 1], [2, 4, 0], [5, 1, 3]],
                "row_divisors": ["1.1", "0.9", "1"],
                "column_divisors": ["1", "1.05", "0.98"],
                "ties": [{"row": "etat", "column": "b", "value": 1, "alternative": 0}],
                "based_on": "proposals",
                "method": "Sainte-Laguë puis biproportionnelle",
            }
        }),
        policy_digest: "d".into(),
        text: None,
        starting_rates: None,
    }
}

fn names() -> BTreeMap<String, String> {
    BTreeMap::from([("69801".to_owned(), "Valmont".to_owned())])
}

fn table(filter: TableFilter) -> Result<FluxTable, ExportError> {
    FluxTable::from_document(&document(), "abc123", &names(), &filter)
}

fn csv_text(t: &FluxTable) -> String {
    let bytes = t.to_csv();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 byte-order mark");
    String::from_utf8(bytes[3..].to_vec()).unwrap()
}

#[test]
fn the_csv_has_one_line_per_row_and_segment_then_the_totals() {
    let text = csv_text(&table(TableFilter::default()).unwrap());
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "reservataire;nom;segment;commune;typologie;qpv;logements"
    );
    assert_eq!(lines[1], "etat;État;a-t2;69801;T2;non;3");
    assert_eq!(lines[2], "etat;État;a-qpv;69801;T3;oui;1");
    assert_eq!(
        lines[4],
        "commune-69801;\"Commune de Valmont; mairie\";a-t2;69801;T2;non;2"
    );
    assert_eq!(
        lines[7],
        "non-reserve;Flux non réservé (bailleur);a-t2;69801;T2;non;5"
    );
    assert_eq!(lines[10], "", "an empty line before the totals");
    assert_eq!(lines[11], "etat;État;Total;;;;5");
    assert_eq!(
        lines[13],
        "non-reserve;Flux non réservé (bailleur);Total;;;;9"
    );
    assert_eq!(lines[14], "total;Toutes les lignes;Total;;;;20");
    assert_eq!(lines[15], "", "the file ends with a line end");
    assert_eq!(lines.len(), 16);
}

#[test]
fn filters_keep_rows_and_segments_and_the_totals_follow() {
    let t = table(TableFilter {
        commune: Some("69801".into()),
        ..TableFilter::default()
    })
    .unwrap();
    assert_eq!(
        t.segments.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["a-t2", "a-qpv"]
    );
    assert_eq!(t.row_totals(), vec![4, 6, 6]);
    assert_eq!(t.total(), 16);
    assert!(t.ties.is_empty(), "the tie lies in a segment filtered out");

    let t = table(TableFilter {
        reservataire: Some("etat".into()),
        qpv: Some(false),
        ..TableFilter::default()
    })
    .unwrap();
    assert_eq!(t.cells, vec![vec![3, 1]]);
    assert_eq!(t.ties.len(), 1);
    let text = csv_text(&t);
    assert!(text.contains("\r\netat;État;Total;;;;4\r\n"), "{text}");
    assert!(!text.contains("commune-69801"), "{text}");
    assert_eq!(t.filter_label(), "Filtre : réservataire État, hors QPV");

    let t = table(TableFilter {
        typology: Some("T2".into()),
        qpv: Some(true),
        ..TableFilter::default()
    })
    .unwrap();
    assert!(
        t.segments.is_empty(),
        "no T2 segment in QPV: an empty table"
    );
    assert_eq!(t.total(), 0);
}

#[test]
fn a_filter_naming_nothing_is_refused_in_french() {
    for (filter, words) in [
        (
            TableFilter {
                reservataire: Some("inconnu".into()),
                ..TableFilter::default()
            },
            "paramètre reservataire : « inconnu »",
        ),
        (
            TableFilter {
                commune: Some("75056".into()),
                ..TableFilter::default()
            },
            "paramètre commune",
        ),
        (
            TableFilter {
                typology: Some("T9".into()),
                ..TableFilter::default()
            },
            "valeurs admises : T2, T3",
        ),
    ] {
        let e = table(filter).unwrap_err();
        assert!(matches!(e, ExportError::Filter(_)), "{e:?}");
        assert!(e.to_string().contains(words), "{e}");
    }
}

#[test]
fn a_version_without_table_or_with_a_broken_one_is_an_error_not_a_panic() {
    let mut doc = document();
    doc.report = serde_json::json!({"table": null, "table_error": "aucun flux"});
    let e = FluxTable::from_document(&doc, "h", &names(), &TableFilter::default()).unwrap_err();
    assert!(matches!(e, ExportError::NoTable(_)), "{e:?}");
    assert!(e.to_string().contains("aucun flux"), "{e}");
    let mut doc = document();
    doc.report["table"]["cells"][1] = serde_json::json!([1, 2]);
    let e = FluxTable::from_document(&doc, "h", &names(), &TableFilter::default()).unwrap_err();
    assert!(matches!(e, ExportError::Malformed(_)), "{e:?}");
}

#[test]
fn the_json_names_rows_and_segments_with_their_totals() {
    let t = table(TableFilter {
        commune: Some("69802".into()),
        ..TableFilter::default()
    })
    .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&t.to_json()).unwrap();
    assert_eq!(value["version"], 7);
    assert_eq!(value["hash"], "abc123");
    assert_eq!(value["filter"]["commune"], "69802");
    assert_eq!(value["rows"][1]["name"], "Commune de Valmont; mairie");
    assert_eq!(value["rows"][2]["total"], 3);
    assert_eq!(value["rows"][2]["margin"], 9);
    assert_eq!(
        value["columns"][0]["commune_name"], "69802",
        "no name: the code"
    );
    assert_eq!(value["cells"], serde_json::json!([[1], [0], [3]]));
    assert_eq!(value["total"], 4);
}

/// The files of a zip archive, from its central directory, with their data offsets.
fn zip_entries(bytes: &[u8]) -> Vec<(String, u16, usize, usize)> {
    let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap()) as usize;
    let end = (0..bytes.len() - 21)
        .rev()
        .find(|&i| bytes[i..i + 4] == [0x50, 0x4b, 0x05, 0x06])
        .expect("end of central directory");
    let (count, mut at) = (u16_at(end + 10), u32_at(end + 16));
    let mut out = Vec::new();
    for _ in 0..count {
        assert_eq!(bytes[at..at + 4], [0x50, 0x4b, 0x01, 0x02]);
        let method = u16_at(at + 10);
        let compressed = u32_at(at + 20);
        let name_len = usize::from(u16_at(at + 28));
        let extra_len = usize::from(u16_at(at + 30));
        let comment_len = usize::from(u16_at(at + 32));
        let local = u32_at(at + 42);
        let name = String::from_utf8(bytes[at + 46..at + 46 + name_len].to_vec()).unwrap();
        let data = local + 30 + usize::from(u16_at(local + 26)) + usize::from(u16_at(local + 28));
        out.push((name, method, data, compressed));
        at += 46 + name_len + extra_len + comment_len;
    }
    out
}

fn zip_file(bytes: &[u8], wanted: &str) -> String {
    let (_, method, data, len) = zip_entries(bytes)
        .into_iter()
        .find(|(name, ..)| name == wanted)
        .unwrap_or_else(|| panic!("{wanted} in the archive"));
    let raw = &bytes[data..data + len];
    let mut text = String::new();
    match method {
        0 => text = String::from_utf8(raw.to_vec()).unwrap(),
        8 => {
            flate2::read::DeflateDecoder::new(raw)
                .read_to_string(&mut text)
                .unwrap();
        }
        other => panic!("compression method {other}"),
    }
    text
}

#[test]
fn the_workbook_has_the_five_views_with_title_and_frozen_header() {
    let t = table(TableFilter::default()).unwrap();
    let bytes = t.to_bytes(ExportFormat::Xlsx).unwrap();
    assert_eq!(&bytes[..4], b"PK\x03\x04", "a zip archive");
    let names: Vec<String> = zip_entries(&bytes).into_iter().map(|e| e.0).collect();
    for n in 1..=5 {
        let sheet = format!("xl/worksheets/sheet{n}.xml");
        assert!(names.contains(&sheet), "{sheet} in {names:?}");
    }
    assert!(!names.contains(&"xl/worksheets/sheet6.xml".to_owned()));
    let workbook = zip_file(&bytes, "xl/workbook.xml");
    let mut last = 0;
    for name in xlsx::SHEETS {
        let at = workbook
            .find(&format!("name=\"{name}\""))
            .unwrap_or_else(|| panic!("sheet « {name} » in {workbook}"));
        assert!(at > last, "sheets in order");
        last = at;
    }
    let strings = zip_file(&bytes, "xl/sharedStrings.xml");
    assert!(
        strings.contains("version n° 7 — empreinte SHA-256 abc123"),
        "{strings}"
    );
    let matrix = zip_file(&bytes, "xl/worksheets/sheet1.xml");
    assert!(matrix.contains("state=\"frozen\""), "{matrix}");
    assert!(matrix.contains("<autoFilter"), "{matrix}");
    // Margins: the bottom-right cell is the whole table.
    assert!(matrix.contains("<v>20</v>"), "{matrix}");
    let styles = zip_file(&bytes, "xl/styles.xml");
    assert!(styles.contains("#,##0"), "{styles}");
    let certificate = zip_file(&bytes, "xl/worksheets/sheet5.xml");
    assert!(certificate.contains("<mergeCell"), "{certificate}");
    assert!(strings.contains("0.98"), "the column divisor as text");
    assert!(strings.contains("Sainte-Laguë puis biproportionnelle"));
}

#[test]
fn formats_name_their_files_and_content_types() {
    let t = table(TableFilter::default()).unwrap();
    assert_eq!(t.file_name(ExportFormat::Csv), "flux-convention-3-v7.csv");
    assert_eq!(
        ExportFormat::Xlsx.content_type(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(ExportFormat::Csv.content_type().starts_with("text/csv"));
}

/// The document with a réservataire whose name is a spreadsheet formula.
fn table_with_name(name: &str) -> FluxTable {
    let mut doc = document();
    doc.scenario.reservataires[0].name = name.into();
    FluxTable::from_document(&doc, "abc123", &names(), &TableFilter::default()).unwrap()
}

#[test]
fn csv_cells_that_a_spreadsheet_would_run_as_formulas_get_an_apostrophe() {
    for (name, expected) in [
        (
            "=HYPERLINK(\"http://x.test\",\"État\")",
            "\"'=HYPERLINK(\"\"http://x.test\"\",\"\"État\"\")\"",
        ),
        ("+33 1 00", "'+33 1 00"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "\"'\rcmd\""),
        ("État = préfet", "État = préfet"),
    ] {
        let text = csv_text(&table_with_name(name));
        let first = text.split("\r\n").nth(1).unwrap();
        assert_eq!(
            first,
            format!("etat;{expected};a-t2;69801;T2;non;3"),
            "{name:?}"
        );
    }
}

#[test]
fn the_workbook_keeps_a_formula_like_name_as_text() {
    let name = "=HYPERLINK(\"http://x.test\",\"clic\")";
    let bytes = table_with_name(name).to_bytes(ExportFormat::Xlsx).unwrap();
    let strings = zip_file(&bytes, "xl/sharedStrings.xml");
    assert!(
        strings.contains("<t>=HYPERLINK(\"http://x.test\",\"clic\")</t>"),
        "{strings}"
    );
    for n in 1..=5 {
        let sheet = zip_file(&bytes, &format!("xl/worksheets/sheet{n}.xml"));
        assert!(!sheet.contains("<f>"), "no formula in sheet {n}: {sheet}");
    }
}

#[test]
fn a_version_read_from_the_cache_gives_the_same_table() {
    let doc = document();
    let mut stored = serde_json::to_value(&doc).unwrap();
    // The whole report, as the solver writes it around the table.
    for (key, value) in [
        ("schema", serde_json::json!(1)),
        ("year", serde_json::json!(2027)),
        ("policy", serde_json::json!("national")),
        ("policy_digest", serde_json::json!("d")),
        (
            "summary",
            serde_json::json!({"blocking": 0, "warnings": 0, "total_flux": 20}),
        ),
        ("violations", serde_json::json!([])),
        ("compromise", serde_json::Value::Null),
        ("compromise_impossible", serde_json::Value::Null),
        ("table_error", serde_json::Value::Null),
    ] {
        stored["report"][key] = value;
    }
    let parsed = ParsedVersion {
        hash: "abc123".into(),
        document: serde_json::from_value(stored).unwrap(),
    };
    for filter in [
        TableFilter::default(),
        TableFilter {
            reservataire: Some("etat".into()),
            qpv: Some(false),
            ..TableFilter::default()
        },
    ] {
        assert_eq!(
            FluxTable::from_parsed(&parsed, &names(), &filter).unwrap(),
            table(filter).unwrap()
        );
    }
    assert_eq!(
        FluxTable::from_parsed(&parsed, &names(), &TableFilter::default())
            .unwrap()
            .ties,
        vec![TieInfo {
            row: "etat".into(),
            column: "b".into(),
            value: 1,
            alternative: 0,
        }]
    );
}

#[test]
fn a_workbook_is_built_once_per_content_and_anew_when_a_cell_changes() {
    let t = table(TableFilter::default()).unwrap();
    let first = t.to_bytes(ExportFormat::Xlsx).unwrap();
    // The same content gives the same bytes.
    assert_eq!(t.to_bytes(ExportFormat::Xlsx).unwrap(), first);
    let mut changed = t.clone();
    changed.cells[0][0] += 1_000;
    let other = changed.to_bytes(ExportFormat::Xlsx).unwrap();
    let matrix = zip_file(&other, "xl/worksheets/sheet1.xml");
    let expected = format!("<v>{}</v>", changed.cells[0][0]);
    assert!(matrix.contains(&expected), "{expected} in {matrix}");
    assert!(!zip_file(&first, "xl/worksheets/sheet1.xml").contains(&expected));
    assert_eq!(
        zip_file(
            &changed.to_bytes(ExportFormat::Xlsx).unwrap(),
            "xl/worksheets/sheet1.xml"
        ),
        matrix
    );
}
