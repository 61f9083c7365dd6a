//! Both forms of stored ties read back to the same cells; the grouped form names every tie of
//! the solver.

use serde_json::{Value, json};

use super::*;
use crate::flux::scenario::Scenario;
use crate::flux::solver::solve;
use crate::policy::rules::Policy;

fn national() -> Policy {
    Policy::parse_national(include_str!("../../../../policies/national.toml")).unwrap()
}

/// Six segments of 10 dwellings, the State at 25 % of each (2.5 dwellings, a tie in every
/// column of its row), Action Logement at 15 % of the first four (1.5, ties again).
fn tied_scenario() -> Scenario {
    let segments: Vec<String> = (0..6)
        .map(|i| {
            format!(
                r#"{{"id": "s{i}", "commune": "69123", "typology": "T{}", "qpv": false, "flux": 10}}"#,
                2 + i % 3
            )
        })
        .collect();
    let commitments = r#"{"priority": "100", "q1_hors_qpv": "50", "non_q1_qpv": "60"}"#;
    let text = format!(
        r#"{{"schema": 1, "year": 2027, "policy": "national",
            "epci": {{"siren": "200046977", "communes": ["69123"]}},
            "segments": [{}],
            "objectives": {{"q1_hors_qpv_min": "25", "non_q1_qpv_min": "50", "priority_min": "25"}},
            "reservataires": [
              {{"id": "etat", "kind": "etat", "basis": "contingent_prefectoral", "name": "État",
                "share": "25", "scope": null, "commitments": {commitments}}},
              {{"id": "al", "kind": "action_logement", "basis": "action_logement", "name": "AL",
                "share": "0", "scope": null, "commitments": {commitments},
                "overrides": [{{"typology": "T2", "share": "15"}}, {{"typology": "T3", "share": "15"}}]}}
            ],
            "non_reserve": {{"commitments": {commitments}}}}}"#,
        segments.join(",")
    );
    Scenario::from_json(&text).unwrap()
}

type Owned = (String, String, u64, u64);

fn owned<'a>(ties: impl IntoIterator<Item = TieReport<'a>>) -> Vec<Owned> {
    let mut list: Vec<Owned> = ties
        .into_iter()
        .map(|t| {
            (
                t.row.to_owned(),
                t.column.to_owned(),
                t.value,
                t.alternative,
            )
        })
        .collect();
    list.sort();
    list
}

#[test]
fn grouped_ties_expand_to_the_solvers_own_ties() {
    let report = solve(&tied_scenario(), &national());
    let table = report.table.as_ref().expect("a table");
    let solver_ties = owned(table.ties.iter());
    let in_state_row = solver_ties.iter().filter(|t| t.0 == "etat").count();
    assert_eq!(in_state_row, 6, "{solver_ties:?}");
    // 2.5 rounds both ways in the State's row: two groups there, (2, 3) and (3, 2).
    let written = serde_json::to_value(&report).unwrap();
    let groups = written["table"]["ties"].as_array().unwrap();
    let state_groups: Vec<(u64, u64)> = groups
        .iter()
        .filter(|g| g["row"] == "etat")
        .map(|g| {
            (
                g["value"].as_u64().unwrap(),
                g["alternative"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(state_groups, vec![(2, 3), (3, 2)], "{groups:?}");
    assert!(groups.iter().all(|g| g.get("column").is_none()));

    let stored = StoredTable::deserialize(&written["table"]).unwrap();
    assert!(matches!(stored.ties, StoredTies::Grouped(_)));
    assert_eq!(owned(stored.ties()), solver_ties);
    assert_eq!(stored.tie_count(), solver_ties.len());
    // Every tie's value is the cell the table retained.
    for (row, column, value, alternative) in &solver_ties {
        assert_eq!(stored.cell(row, column), Some(*value));
        assert_eq!(value.abs_diff(*alternative), 1);
    }
    // Written back as read.
    assert_eq!(serde_json::to_value(&stored).unwrap(), written["table"]);
    let typed = StoredReport::deserialize(&written).unwrap();
    assert_eq!(serde_json::to_value(&typed).unwrap(), written);
}

/// A two-row, four-column table as the solver writes it, with `ties` as given.
fn table(ties: &Value) -> Value {
    json!({
        "rows": [{"id": "etat", "total": 6}, {"id": "non-reserve", "total": 14}],
        "columns": [{"id": "a", "total": 5}, {"id": "b", "total": 5},
                    {"id": "c", "total": 5}, {"id": "d", "total": 5}],
        "cells": [[2, 1, 2, 1], [3, 4, 3, 4]],
        "row_divisors": ["1", "1"],
        "column_divisors": ["1", "1", "1", "1"],
        "ties": ties,
        "based_on": "compromise",
        "method": "m",
    })
}

#[test]
fn per_cell_ties_of_older_versions_read_to_the_same_cells_as_grouped_ones() {
    let per_cell = table(&json!([
        {"row": "etat", "column": "a", "value": 2, "alternative": 1},
        {"row": "etat", "column": "c", "value": 2, "alternative": 1},
        {"row": "non-reserve", "column": "a", "value": 3, "alternative": 4},
        {"row": "non-reserve", "column": "c", "value": 3, "alternative": 4},
    ]));
    let grouped = table(&json!([
        {"row": "etat", "value": 2, "alternative": 1, "columns": [0, 2]},
        {"row": "non-reserve", "value": 3, "alternative": 4, "columns": [0, 2]},
    ]));
    let old = StoredTable::deserialize(&per_cell).unwrap();
    let new = StoredTable::deserialize(&grouped).unwrap();
    assert!(matches!(old.ties, StoredTies::PerCell(_)));
    let expected = vec![
        ("etat".to_owned(), "a".to_owned(), 2, 1),
        ("etat".to_owned(), "c".to_owned(), 2, 1),
        ("non-reserve".to_owned(), "a".to_owned(), 3, 4),
        ("non-reserve".to_owned(), "c".to_owned(), 3, 4),
    ];
    assert_eq!(owned(old.ties()), expected);
    assert_eq!(owned(new.ties()), expected);
    assert_eq!(old.based_on, TableBasis::Compromise);
    // Each written back in its own form, unchanged.
    assert_eq!(serde_json::to_value(&old).unwrap(), per_cell);
    assert_eq!(serde_json::to_value(&new).unwrap(), grouped);
    // No ties at all: an empty list either way.
    let none = StoredTable::deserialize(&table(&json!([]))).unwrap();
    assert!(none.ties().is_empty());
    assert_eq!(serde_json::to_value(&none).unwrap(), table(&json!([])));
}

#[test]
fn runs_of_consecutive_columns_are_written_as_pairs() {
    let columns = ColumnRuns(vec![0, 1, 2, 5, 7, 8, 9, 10, 12, 13]);
    let text = serde_json::to_string(&columns).unwrap();
    assert_eq!(text, "[[0,2],5,[7,10],12,13]");
    let back: ColumnRuns = serde_json::from_str(&text).unwrap();
    assert_eq!(back, columns);
    assert_eq!(serde_json::to_string(&ColumnRuns(vec![])).unwrap(), "[]");
    // Pairs and single indices may be written either way; the reading is the same.
    let loose: ColumnRuns = serde_json::from_str("[0, [1, 1], [2, 3]]").unwrap();
    assert_eq!(loose, ColumnRuns(vec![0, 1, 2, 3]));
}

#[test]
fn ties_outside_the_table_or_out_of_order_are_refused() {
    let refused = [
        json!([{"row": "etat", "value": 2, "alternative": 1, "columns": [4]}]),
        json!([{"row": "etat", "value": 2, "alternative": 1, "columns": [2, 0]}]),
        json!([{"row": "etat", "value": 2, "alternative": 1, "columns": [[2, 1]]}]),
        json!([{"row": "etat", "value": 2, "alternative": 1, "columns": [0, [0, 2]]}]),
        json!([
            {"row": "etat", "column": "a", "value": 2, "alternative": 1},
            {"row": "etat", "value": 2, "alternative": 1, "columns": [2]}
        ]),
        json!([{"row": "etat", "value": 2, "alternative": 1}]),
        json!([{"row": "etat", "column": "a", "value": 2, "alternative": 1, "columns": [0]}]),
    ];
    for ties in refused {
        assert!(
            StoredTable::deserialize(&table(&ties)).is_err(),
            "{ties} accepted"
        );
    }
    let mut short = table(&json!([]));
    short["cells"][1] = json!([1, 2]);
    assert!(StoredTable::deserialize(&short).is_err());
    let mut divisors = table(&json!([]));
    divisors["row_divisors"] = json!(["1"]);
    assert!(StoredTable::deserialize(&divisors).is_err());
}
