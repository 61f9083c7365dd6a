//! Importing a 120,000-dwelling `logements.csv` into a fresh SQLite database: parsing,
//! reference checks and the single-transaction upsert (target: under 10 s).

#[path = "../tests/common/fixtures.rs"]
mod fixtures;

use std::sync::Arc;
use std::time::Duration;

use convention_flux::config::Secret;
use convention_flux::import::ImportKind;
use convention_flux::services::import::{NoProgress, import_file};
use convention_flux::store::{Repository, connect};
use criterion::{Criterion, criterion_group, criterion_main};

const ROWS: usize = 120_000;

/// A fresh database holding the demo's registries (communes, bailleur…), ready for the file.
async fn prepared_store(dir: &std::path::Path) -> Arc<dyn Repository> {
    let demo = fixtures::demo();
    let url = Secret::new(format!("sqlite://{}", dir.join("bench.db").display()));
    let store = connect(&url).await.expect("SQLite store");
    for kind in [
        ImportKind::Epci,
        ImportKind::Communes,
        ImportKind::Qpv,
        ImportKind::Bailleurs,
    ] {
        let csv = demo.csv(kind).expect("demo file").as_bytes().to_vec();
        import_file(store.as_ref(), kind, csv, None, Arc::new(NoProgress))
            .await
            .expect("registry import");
    }
    store
}

fn import_120k(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let demo = fixtures::demo();
    let csv =
        fixtures::large_logements_csv(ROWS, &fixtures::demo_communes(&demo), None).into_bytes();
    let mut group = c.benchmark_group("import");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    group.bench_function("logements_120000_sqlite", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let dir = tempfile::tempdir().expect("temporary directory");
                let store = runtime.block_on(prepared_store(dir.path()));
                let start = std::time::Instant::now();
                let summary = runtime
                    .block_on(import_file(
                        store.as_ref(),
                        ImportKind::Logements,
                        csv.clone(),
                        Some(demo.bailleur_siren.clone()),
                        Arc::new(NoProgress),
                    ))
                    .expect("import");
                total += start.elapsed();
                assert_eq!(summary.inserted, ROWS as u64);
                runtime.block_on(store.close());
            }
            total
        });
    });
    group.finish();
}

criterion_group!(benches, import_120k);
criterion_main!(benches);
