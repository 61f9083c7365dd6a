//! Version documents read into their types, kept by version hash.
//!
//! At the largest size a version document is 2 to 20 MB of JSON (the flux table and its ties);
//! reading it again on every page request costs tens of milliseconds and as many megabytes. A
//! version is immutable and named by the SHA-256 of its text, so what is read from a hash never
//! changes and the cache can never serve a stale document; a new version has a new hash and is
//! read on its first request. Authorization is untouched: callers still resolve the caller's
//! access and read the version row from the store; only the parsing is shared.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use super::document::TypedDocument;
use crate::services::ServiceError;
use crate::store::StoreError;
use crate::store::conventions::VersionRow;

/// How many versions are kept at most.
const MAX_VERSIONS: usize = 64;
/// How much stored text the kept versions may add up to (their memory is of the same order).
const MAX_TEXT_BYTES: usize = 64 << 20;

/// A version as stored, its report typed.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedVersion {
    /// The SHA-256 of the stored text: the version's identity.
    pub hash: String,
    pub document: TypedDocument,
}

impl ParsedVersion {
    /// Reads the document of `row`, report included, in one pass over its text.
    ///
    /// # Errors
    /// When the stored text is not a version document as the platform writes it.
    pub fn parse(row: &VersionRow) -> Result<Self, ServiceError> {
        let document = serde_json::from_str(&row.document).map_err(|e| {
            ServiceError::Store(StoreError::Corrupt(format!(
                "document de la version n° {} : {e}",
                row.number
            )))
        })?;
        Ok(Self {
            hash: row.hash.clone(),
            document,
        })
    }
}

/// The versions already read, oldest first out when the bounds are reached.
#[derive(Debug, Default)]
pub struct VersionCache {
    entries: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    by_hash: HashMap<String, (Arc<ParsedVersion>, usize)>,
    /// Hashes in the order they were read.
    order: VecDeque<String>,
    text_bytes: usize,
}

impl VersionCache {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The version of `row`, read from its text on the first request for its hash.
    ///
    /// # Errors
    /// Those of [`ParsedVersion::parse`]; nothing is cached then.
    pub fn version(&self, row: &VersionRow) -> Result<Arc<ParsedVersion>, ServiceError> {
        if let Some((found, _)) = self.lock().by_hash.get(&row.hash) {
            return Ok(Arc::clone(found));
        }
        // Read outside the lock: two first requests may both read, to the same result.
        let parsed = Arc::new(ParsedVersion::parse(row)?);
        let size = row.document.len();
        if size > MAX_TEXT_BYTES {
            return Ok(parsed);
        }
        let mut entries = self.lock();
        if entries.by_hash.contains_key(&row.hash) {
            return Ok(parsed);
        }
        while entries.by_hash.len() >= MAX_VERSIONS || entries.text_bytes + size > MAX_TEXT_BYTES {
            let Some(oldest) = entries.order.pop_front() else {
                break;
            };
            if let Some((_, bytes)) = entries.by_hash.remove(&oldest) {
                entries.text_bytes -= bytes;
            }
        }
        entries
            .by_hash
            .insert(row.hash.clone(), (Arc::clone(&parsed), size));
        entries.order.push_back(row.hash.clone());
        entries.text_bytes += size;
        Ok(parsed)
    }

    /// The version named `hash`, if it has been read already.
    #[must_use]
    pub fn get(&self, hash: &str) -> Option<Arc<ParsedVersion>> {
        self.lock()
            .by_hash
            .get(hash)
            .map(|(found, _)| Arc::clone(found))
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        // The map stays consistent even if a holder panicked: each operation is one call.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many versions are kept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().by_hash.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::conventions::document::tests::solved_document;

    fn row(number: i64, share: &str) -> VersionRow {
        let (document, hash) = solved_document(number, share).seal_text().unwrap();
        VersionRow {
            id: number,
            convention_id: 1,
            number,
            parent_hash: None,
            hash,
            document,
            author_id: 1,
            reason: "essai".into(),
            created_at: "2027-01-01T00:00:00Z".parse().unwrap(),
            locked: false,
        }
    }

    #[test]
    fn a_new_hash_is_read_and_the_same_hash_is_served_from_the_cache() {
        let cache = VersionCache::new();
        let first = row(1, "25");
        let read = cache.version(&first).unwrap();
        assert_eq!(read.hash, first.hash);
        // What the cache holds is what a fresh reading gives.
        assert_eq!(*read, ParsedVersion::parse(&first).unwrap());
        assert_eq!(read.document.number, 1);
        assert!(read.document.report.table.is_some());
        // The same hash: the same reading, not a new one.
        assert!(Arc::ptr_eq(&read, &cache.version(&first).unwrap()));
        assert!(Arc::ptr_eq(&read, &cache.get(&first.hash).unwrap()));
        // A new version (another share, so another report and hash) is read on its own.
        let second = row(2, "20");
        assert_ne!(second.hash, first.hash);
        let read_second = cache.version(&second).unwrap();
        assert!(!Arc::ptr_eq(&read, &read_second));
        assert_eq!(read_second.document.number, 2);
        assert!(cache.get(&"0".repeat(64)).is_none(), "a hash never read");
        assert_ne!(read_second.document.report, read.document.report);
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn an_unreadable_document_is_an_error_and_is_not_cached() {
        let cache = VersionCache::new();
        let mut broken = row(1, "25");
        broken.document = broken.document.replace("\"summary\"", "\"sommaire\"");
        assert!(matches!(
            cache.version(&broken),
            Err(ServiceError::Store(StoreError::Corrupt(_)))
        ));
        assert!(cache.is_empty());
    }

    #[test]
    fn the_cache_stays_bounded_and_lets_the_oldest_go_first() {
        let cache = VersionCache::new();
        let template = row(1, "25");
        let rows: Vec<VersionRow> = (0..MAX_VERSIONS as i64 + 3)
            .map(|n| {
                let mut r = template.clone();
                r.hash = format!("{n:064x}");
                r
            })
            .collect();
        let first = cache.version(&rows[0]).unwrap();
        for r in &rows[1..] {
            cache.version(r).unwrap();
        }
        assert_eq!(cache.len(), MAX_VERSIONS);
        // The oldest ones went out: reading them again is a new reading.
        assert!(!Arc::ptr_eq(&first, &cache.version(&rows[0]).unwrap()));
        // The newest one is still there.
        let last = rows.last().unwrap();
        assert!(Arc::ptr_eq(
            &cache.version(last).unwrap(),
            &cache.version(last).unwrap()
        ));
        assert_eq!(cache.len(), MAX_VERSIONS);
    }
}
