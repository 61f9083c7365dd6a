//! Workbooks built ahead. When a version of a convention is written, the XLSX of its whole flux
//! table is built in the background and kept with the workbooks already served
//! (`render::exports::xlsx::workbook`, by content hash): the first download of the version is
//! then served from there instead of being built while the user waits (about a second at the
//! largest size, 150 réservataires × 815 segments, 1.2 million cells). A download asked while
//! the workbook is being built waits for that build rather than starting another.
//!
//! One thread builds one workbook at a time (about 40 MB while it builds), once the conventions
//! have been quiet for [`Timing::quiet`] (150 proposals published one after the other build
//! once, after the last), and at the latest [`Timing::at_most`] after the first change waiting.
//! Nothing is stored: after a restart, the first download of a version builds its workbook.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;

use super::exports::{ExportFormat, TableFilter, epci_commune_names};
use super::parsed::VersionCache;
use crate::render::exports::{ExportError, FluxTable};
use crate::services::ServiceError;
use crate::store::Repository;

/// When the builds start after a change.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Build once no version has been written for this long.
    pub quiet: Duration,
    /// But no later than this after the first version waiting.
    pub at_most: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            quiet: Duration::from_secs(2),
            at_most: Duration::from_secs(30),
        }
    }
}

/// The handle the use cases tell of each version written.
#[derive(Debug)]
pub struct Prebuilder {
    written: Sender<i64>,
    built: Arc<AtomicU64>,
}

impl Prebuilder {
    /// Starts the building thread; it reads the store on `runtime`, and ends when the
    /// prebuilder is dropped.
    ///
    /// # Errors
    /// When the system refuses a new thread.
    pub fn start(
        runtime: Handle,
        store: Arc<dyn Repository>,
        versions: Arc<VersionCache>,
        timing: Timing,
    ) -> std::io::Result<Self> {
        let (written, waiting) = channel();
        let built = Arc::new(AtomicU64::new(0));
        let builder = Builder {
            runtime,
            store,
            versions,
            timing,
            built: Arc::clone(&built),
        };
        std::thread::Builder::new()
            .name("classeurs-xlsx".into())
            .spawn(move || builder.run(&waiting))?;
        Ok(Self { written, built })
    }

    /// A version of convention `id` was written: its workbook will be built.
    pub fn version_written(&self, id: i64) {
        // The thread ends only when every handle is dropped: it is there to receive.
        let _ = self.written.send(id);
    }

    /// How many workbooks the thread has built (or found already kept) since it started; a
    /// version without a table has none.
    #[must_use]
    pub fn built(&self) -> u64 {
        self.built.load(Ordering::Relaxed)
    }
}

struct Builder {
    runtime: Handle,
    store: Arc<dyn Repository>,
    versions: Arc<VersionCache>,
    timing: Timing,
    built: Arc<AtomicU64>,
}

impl Builder {
    fn run(self, written: &Receiver<i64>) {
        while let Ok(first) = written.recv() {
            let Some(waiting) = self.gather(first, written) else {
                return;
            };
            for id in waiting {
                match self.build(id) {
                    Ok(true) => {
                        self.built.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(false) => {}
                    Err(e) => tracing::warn!(
                        convention = id,
                        cause = %e,
                        "classeur XLSX non préparé d'avance (il le sera au premier téléchargement)"
                    ),
                }
            }
        }
    }

    /// The conventions changed until things are quiet; `None` when the platform stops.
    fn gather(&self, first: i64, written: &Receiver<i64>) -> Option<BTreeSet<i64>> {
        let mut waiting = BTreeSet::from([first]);
        let latest = Instant::now() + self.timing.at_most;
        loop {
            let wait = self
                .timing
                .quiet
                .min(latest.saturating_duration_since(Instant::now()));
            match written.recv_timeout(wait) {
                Ok(id) => {
                    waiting.insert(id);
                }
                Err(RecvTimeoutError::Timeout) => return Some(waiting),
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Builds the workbook of the whole table of `id`'s current version, as a download
    /// without filter asks it; `false` when there is no table to build from.
    fn build(&self, id: i64) -> Result<bool, ServiceError> {
        let store = self.store.as_ref();
        let Some(row) = self.runtime.block_on(store.current_version(id))? else {
            return Ok(false);
        };
        let version = self.versions.version(&row)?;
        let siren = &version.document.scenario.epci.siren;
        let names = self.runtime.block_on(epci_commune_names(store, siren))?;
        match FluxTable::from_parsed(&version, &names, &TableFilter::default()) {
            Ok(table) => table.to_bytes(ExportFormat::Xlsx)?,
            Err(ExportError::NoTable(_)) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        Ok(true)
    }
}
