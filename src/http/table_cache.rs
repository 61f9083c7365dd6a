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

use serde_json::Value;

use crate::store::conventions::VersionRow;

/// How many versions' tables are kept (beyond that, an arbitrary entry makes room).
const CAPACITY: usize = 256;

/// What a version's document says of its flux table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableText {
    /// `report.table`, serialized as `serde_json` serializes it.
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
        if entries.len() >= CAPACITY && !entries.contains_key(&version.hash) {
            if let Some(evicted) = entries.keys().next().cloned() {
                entries.remove(&evicted);
            }
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

fn extract(document: &str) -> Result<TableText, String> {
    let mut document: Value =
        serde_json::from_str(document).map_err(|e| format!("document illisible : {e}"))?;
    let report = document["report"].take();
    let table = &report["table"];
    if table.is_null() {
        return Ok(TableText::Missing(
            report["table_error"]
                .as_str()
                .unwrap_or("aucun flux")
                .to_owned(),
        ));
    }
    serde_json::to_string(table)
        .map(TableText::Table)
        .map_err(|e| format!("tableau illisible : {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    #[test]
    fn each_version_gets_its_own_table_and_a_new_version_is_served_after_a_change() {
        let cache = TableCache::new();
        let first = version(
            1,
            &json!({"number": 1, "report": {"table": {"cells": [[1, 2]], "z": "a"}}}),
        );
        let second = version(
            2,
            &json!({"number": 2, "report": {"table": {"cells": [[3, 0]], "z": "b"}}}),
        );
        let expected_first = TableText::Table(r#"{"cells":[[1,2]],"z":"a"}"#.into());
        let expected_second = TableText::Table(r#"{"cells":[[3,0]],"z":"b"}"#.into());
        assert_eq!(*cache.table_of(&first).unwrap(), expected_first);
        // Served again from the cache, unchanged.
        assert_eq!(*cache.table_of(&first).unwrap(), expected_first);
        // The convention moves to version 2: its table, not version 1's.
        assert_eq!(*cache.table_of(&second).unwrap(), expected_second);
        assert_eq!(*cache.table_of(&first).unwrap(), expected_first);
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn the_same_text_as_serializing_the_parsed_table() {
        let document = json!({"report": {"table": {"b": [1.5, "x"], "a": {"n": null}}}});
        let row = version(1, &document);
        let expected = serde_json::to_string(&document["report"]["table"]).unwrap();
        assert_eq!(
            *TableCache::new().table_of(&row).unwrap(),
            TableText::Table(expected)
        );
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
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = TableCache::new();
        for n in 0..(CAPACITY as i64 + 10) {
            let row = version(n, &json!({"n": n, "report": {"table": {"n": n}}}));
            assert_eq!(
                *cache.table_of(&row).unwrap(),
                TableText::Table(format!(r#"{{"n":{n}}}"#))
            );
        }
        assert_eq!(cache.len(), CAPACITY);
    }
}
