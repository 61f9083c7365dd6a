//! The flux tables already served, as JSON text, keyed by the SHA-256 of their version.
//!
//! `GET /api/conventions/{id}/table` used to parse the whole version document (about 25 KB for
//! the demo convention) on every request to pick out `report.table`. A version is immutable and
//! named by the hash of its canonical text, so the table extracted from a given hash never
//! changes: the cache can never serve a stale table. A new version has a new hash and is
//! extracted on its first request. Authorization is untouched: the handler still resolves the
//! caller's membership and reads the current version from the store on every request; only the
//! extraction is shared.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Deserialize;

use crate::flux::solver::stored::ReportTable;
use crate::store::conventions::VersionRow;

/// How many versions' tables are kept (beyond that, an arbitrary entry makes room).
const CAPACITY: usize = 256;

/// What a version's document says of its flux table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableText {
    /// `report.table`, typed and written back: the stored table, field for field.
    Table(String),
    /// No table: the solver's reason (`report.table_error`), or « aucun flux ».
    Missing(String),
}

#[derive(Debug, Default)]
pub struct TableCache {
    entries: Mutex<HashMap<String, Arc<TableText>>>,
}

impl TableCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The table of `version`, extracted from its document on the first request for its hash.
    /// `Err` when the document cannot be read (nothing is cached then).
    pub fn table_of(&self, version: &VersionRow) -> Result<Arc<TableText>, String> {
        if let Some(found) = self.lock().get(&version.hash) {
            return Ok(Arc::clone(found));
        }
        // Extracted outside the lock: two first requests may both extract, to the same result.
        let extracted = Arc::new(extract(&version.document)?);
        let mut entries = self.lock();
        if entries.len() >= CAPACITY
            && !entries.contains_key(&version.hash)
            && let Some(evicted) = entries.keys().next().cloned()
        {
            entries.remove(&evicted);
        }
        entries.insert(version.hash.clone(), Arc::clone(&extracted));
        Ok(extracted)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<TableText>>> {
        // The map stays consistent even if a holder panicked: each operation is one call.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

/// The part of a version document the table needs: the rest of the text is skipped unread.
#[derive(Deserialize)]
struct TableOfDocument {
    report: ReportTable,
}

fn extract(document: &str) -> Result<TableText, String> {
    let document: TableOfDocument =
        serde_json::from_str(document).map_err(|e| format!("document illisible : {e}"))?;
    match document.report {
        ReportTable {
            table: Some(table), ..
        } => serde_json::to_string(&table)
            .map(TableText::Table)
            .map_err(|e| format!("tableau illisible : {e}")),
        ReportTable { table_error, .. } => Ok(TableText::Missing(
            table_error.unwrap_or_else(|| "aucun flux".to_owned()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn version(number: i64, document: &Value) -> VersionRow {
        let document = document.to_string();
        VersionRow {
            id: number,
            convention_id: 1,
            number,
            parent_hash: None,
            hash: crate::signing::sha256_hex(document.as_bytes()),
            document,
            author_id: 1,
            reason: "essai".into(),
            created_at: chrono::Utc::now(),
            locked: false,
        }
    }

    /// A one-row, two-column table as the solver writes it, with `ties` as given.
    fn table(cells: [u64; 2], ties: &Value) -> Value {
        json!({
            "rows": [{"id": "etat", "total": cells[0] + cells[1]}],
            "columns": [{"id": "a", "total": cells[0]}, {"id": "b", "total": cells[1]}],
            "cells": [cells],
            "row_divisors": ["1"],
            "column_divisors": ["1", "0.5"],
            "ties": ties,
            "based_on": "proposals",
            "method": "Sainte-Laguë",
        })
    }

    fn document(number: i64, table: &Value) -> Value {
        json!({"number": number, "report": {"summary": {"blocking": 0}, "table": table}})
    }

    /// The table served, read back as JSON.
    fn served(cache: &TableCache, row: &VersionRow) -> Value {
        match &*cache.table_of(row).unwrap() {
            TableText::Table(text) => serde_json::from_str(text).unwrap(),
            missing @ TableText::Missing(_) => panic!("{missing:?}"),
        }
    }

    #[test]
    fn each_version_gets_its_own_table_and_a_new_version_is_served_after_a_change() {
        let cache = TableCache::new();
        let (table_1, table_2) = (table([1, 2], &json!([])), table([3, 0], &json!([])));
        let first = version(1, &document(1, &table_1));
        let second = version(2, &document(2, &table_2));
        assert_eq!(served(&cache, &first), table_1);
        // Served again from the cache, unchanged.
        assert_eq!(served(&cache, &first), table_1);
        // The convention moves to version 2: its table, not version 1's.
        assert_eq!(served(&cache, &second), table_2);
        assert_eq!(served(&cache, &first), table_1);
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn the_stored_table_is_served_field_for_field_in_both_forms_of_ties() {
        let cache = TableCache::new();
        let per_cell = table(
            [1, 2],
            &json!([{"row": "etat", "column": "b", "value": 2, "alternative": 1}]),
        );
        let grouped = table(
            [1, 2],
            &json!([{"row": "etat", "value": 2, "alternative": 1, "columns": [1]}]),
        );
        for (n, stored) in [per_cell, grouped].iter().enumerate() {
            let row = version(n as i64, &document(1, stored));
            assert_eq!(&served(&cache, &row), stored);
        }
    }

    #[test]
    fn a_version_without_table_says_why_and_an_unreadable_one_is_not_cached() {
        let cache = TableCache::new();
        let none = version(
            1,
            &json!({"report": {"table": null, "table_error": "aucun segment"}}),
        );
        assert_eq!(
            *cache.table_of(&none).unwrap(),
            TableText::Missing("aucun segment".into())
        );
        let bare = version(2, &json!({"report": {}}));
        assert_eq!(
            *cache.table_of(&bare).unwrap(),
            TableText::Missing("aucun flux".into())
        );
        let mut broken = version(3, &json!({}));
        broken.document = "{pas du json".into();
        assert!(cache.table_of(&broken).is_err());
        // A table whose rows and cells disagree is no table.
        let mut short = table([1, 2], &json!([]));
        short["cells"] = json!([[1]]);
        assert!(cache.table_of(&version(4, &document(4, &short))).is_err());
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = TableCache::new();
        for n in 0..(CAPACITY as i64 + 10) {
            let stored = table([n as u64, 1], &json!([]));
            let row = version(n, &document(n, &stored));
            assert_eq!(served(&cache, &row), stored);
        }
        assert_eq!(cache.len(), CAPACITY);
    }
}
