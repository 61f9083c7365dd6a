//! The assiette (DESIGN §4.1) through the service, on SQLite and PostgreSQL, and through the
//! `assiette` command, from a database and straight from a folder of CSV files.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use common::TestDb;
use common::fixtures::demo;
use convention_flux::demo::DemoTerritory;
use convention_flux::flux::assiette::AssietteReport;
use convention_flux::flux::segment::SegmentAxes;
use convention_flux::import::ImportKind;
use convention_flux::services::ServiceError;
use convention_flux::services::assiette::{
    PatrimoineCsv, compute, compute_for_epci, compute_from_csv,
};
use convention_flux::services::import::{NoProgress, import_file};
use convention_flux::services::imported_cache::ImportedCache;
use rust_decimal::Decimal;

const YEAR: i32 = 2027;

/// Imports the demo files up to (and including) `last`, in dependency order.
async fn import_demo(db: &TestDb, last: ImportKind) -> DemoTerritory {
    let demo = demo();
    for file in &demo.files {
        let bailleur = file
            .kind
            .needs_bailleur()
            .then(|| demo.bailleur_siren.clone());
        import_file(
            db.store.as_ref(),
            file.kind,
            file.csv.as_bytes().to_vec(),
            bailleur,
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
        if file.kind == last {
            break;
        }
    }
    demo
}

fn from_demo_files(demo: &DemoTerritory, axes: SegmentAxes) -> AssietteReport {
    let csv = |kind| demo.csv(kind).unwrap().as_bytes();
    let files = PatrimoineCsv {
        logements: csv(ImportKind::Logements),
        liberations: csv(ImportKind::Liberations),
        exclusions: Some(csv(ImportKind::Exclusions)),
    };
    compute_from_csv(files, &demo.bailleur_siren, YEAR, 3, axes).unwrap()
}

async fn the_stored_demo_gives_the_assiette_of_its_files(db: &TestDb) {
    let demo = import_demo(db, ImportKind::Exclusions).await;
    for axes in ["commune,typologie,qpv", "commune,qpv,financement"] {
        let axes: SegmentAxes = axes.parse().unwrap();
        let stored = compute(db.store.as_ref(), &demo.bailleur_siren, YEAR, 3, axes)
            .await
            .unwrap();
        assert_eq!(stored, from_demo_files(&demo, axes), "axes {axes}");
        let t = &stored.totals;
        assert_eq!(t.units + t.outside_flux_units, 8_000);
        assert_eq!(stored.years_used, [2024, 2025, 2026]);
        assert_eq!(t.flux, stored.segments.iter().map(|s| s.flux).sum::<u64>());
        assert_eq!(
            t.net,
            stored.segments.iter().map(|s| s.net).sum::<Decimal>()
        );
        assert!(t.flux > 0);
    }
}

async fn an_unknown_bailleur_is_not_found(db: &TestDb) {
    import_demo(db, ImportKind::Bailleurs).await;
    let error = compute(
        db.store.as_ref(),
        &"552081317".parse().unwrap(),
        YEAR,
        3,
        SegmentAxes::default(),
    )
    .await
    .unwrap_err();
    match error {
        ServiceError::NotFound(message) => {
            assert!(message.contains("552081317"), "{message}");
            assert!(message.contains("fichier bailleurs"), "{message}");
        }
        other => panic!("NotFound expected, got {other:?}"),
    }
}

async fn a_bailleur_without_release_history_gets_a_french_error(db: &TestDb) {
    let demo = import_demo(db, ImportKind::Logements).await;
    let error = compute(
        db.store.as_ref(),
        &demo.bailleur_siren,
        YEAR,
        3,
        SegmentAxes::default(),
    )
    .await
    .unwrap_err();
    match error {
        ServiceError::Invalid(message) => {
            assert!(
                message
                    .contains("aucune libération enregistrée pour les années 2024, 2025 et 2026"),
                "{message}"
            );
        }
        other => panic!("Invalid expected, got {other:?}"),
    }
}

async fn import(db: &TestDb, demo: &DemoTerritory, kind: ImportKind, csv: String) {
    import_file(
        db.store.as_ref(),
        kind,
        csv.into_bytes(),
        Some(demo.bailleur_siren.clone()),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
}

async fn every_import_adds_one_to_the_data_revision(db: &TestDb) {
    assert_eq!(db.store.data_revision().await.unwrap(), 0);
    import_demo(db, ImportKind::Exclusions).await;
    let files = i64::try_from(ImportKind::ALL.len()).unwrap();
    assert_eq!(db.store.data_revision().await.unwrap(), files);
}

async fn the_cached_assiette_is_the_computed_one_until_an_import(db: &TestDb) {
    let demo = import_demo(db, ImportKind::Exclusions).await;
    let store = db.store.as_ref();
    let (bailleur, epci) = (&demo.bailleur_siren, &demo.epci_siren);
    let axes = SegmentAxes::default();
    let cache = ImportedCache::new();
    let first = cache
        .assiette_for_epci(store, bailleur, epci, YEAR, 3, axes)
        .await
        .unwrap();
    let computed = compute_for_epci(store, bailleur, epci, YEAR, 3, axes)
        .await
        .unwrap();
    assert_eq!(*first, computed);
    let again = cache
        .assiette_for_epci(store, bailleur, epci, YEAR, 3, axes)
        .await
        .unwrap();
    assert!(Arc::ptr_eq(&first, &again), "served again from the cache");
    // Another year is another entry.
    let next_year = cache
        .assiette_for_epci(store, bailleur, epci, YEAR + 1, 3, axes)
        .await
        .unwrap();
    assert_eq!(next_year.year, YEAR + 1);

    // One more dwelling, released in 2025, in the central commune: a new import.
    let header = demo
        .csv(ImportKind::Logements)
        .unwrap()
        .lines()
        .next()
        .unwrap();
    import(
        db,
        &demo,
        ImportKind::Logements,
        format!("{header}\nVSH999999;69801;;T3;PLUS;non;1990;\n"),
    )
    .await;
    import(
        db,
        &demo,
        ImportKind::Liberations,
        "rpls_id;date_liberation\nVSH999999;2025-06-15\n".into(),
    )
    .await;
    let after = cache
        .assiette_for_epci(store, bailleur, epci, YEAR, 3, axes)
        .await
        .unwrap();
    assert_eq!(after.totals.units, first.totals.units + 1);
    let recomputed = compute_for_epci(store, bailleur, epci, YEAR, 3, axes)
        .await
        .unwrap();
    assert_eq!(*after, recomputed);
}

/// The conversion of the page « D'où vient ma part » is served again until an import changes
/// the data, then computed anew: the same figures as the service computes directly.
async fn the_cached_conversion_is_the_computed_one_until_an_import(db: &TestDb) {
    use convention_flux::flux::conversion::Method;
    use convention_flux::services::conversion::{Request, within_epci};
    let demo = import_demo(db, ImportKind::Exclusions).await;
    let store = db.store.as_ref();
    let epci = &demo.epci_siren;
    let request = |method| Request {
        bailleur: demo.bailleur_siren.clone(),
        year: YEAR,
        method,
        lookback: 3,
    };
    let json = |c: &convention_flux::flux::conversion::Conversion| serde_json::to_value(c).unwrap();
    let cache = ImportedCache::new();
    let first = cache
        .conversion_within_epci(store, &request(Method::Flux), epci)
        .await
        .unwrap();
    let computed = within_epci(store, &request(Method::Flux), epci)
        .await
        .unwrap();
    assert_eq!(json(&first), json(&computed));
    let again = cache
        .conversion_within_epci(store, &request(Method::Flux), epci)
        .await
        .unwrap();
    assert!(Arc::ptr_eq(&first, &again), "served again from the cache");
    let stock = cache
        .conversion_within_epci(store, &request(Method::Stock), epci)
        .await
        .unwrap();
    assert_eq!(
        stock.method,
        Method::Stock,
        "another method is another entry"
    );

    // One more dwelling, released in 2025: a new import, hence a new conversion.
    let header = demo
        .csv(ImportKind::Logements)
        .unwrap()
        .lines()
        .next()
        .unwrap();
    import(
        db,
        &demo,
        ImportKind::Logements,
        format!("{header}\nVSH999999;69801;;T3;PLUS;non;1990;\n"),
    )
    .await;
    import(
        db,
        &demo,
        ImportKind::Liberations,
        "rpls_id;date_liberation\nVSH999999;2025-06-15\n".into(),
    )
    .await;
    let after = cache
        .conversion_within_epci(store, &request(Method::Flux), epci)
        .await
        .unwrap();
    assert!(
        !Arc::ptr_eq(&first, &after),
        "computed again after the import"
    );
    let recomputed = within_epci(store, &request(Method::Flux), epci)
        .await
        .unwrap();
    assert_eq!(json(&after), json(&recomputed));
    assert_ne!(json(&after), json(&first), "the new dwelling counts");
}

async fn the_home_figures_follow_the_imports(db: &TestDb) {
    let demo = import_demo(db, ImportKind::Exclusions).await;
    let store = db.store.as_ref();
    let cache = ImportedCache::new();
    let before = cache.summaries(store).await.unwrap();
    // bailleurs.csv names both demo bailleurs; only the first one's patrimoine is imported here.
    assert_eq!(before.bailleurs.len(), 2);
    assert_eq!(before.bailleurs[0].logements, 8_000);
    assert_eq!(before.bailleurs[1].logements, 0);
    assert_eq!(before.bailleurs, store.bailleurs().await.unwrap());
    assert_eq!(before.epcis, store.epcis().await.unwrap());
    assert!(Arc::ptr_eq(&before, &cache.summaries(store).await.unwrap()));
    let header = demo
        .csv(ImportKind::Logements)
        .unwrap()
        .lines()
        .next()
        .unwrap();
    import(
        db,
        &demo,
        ImportKind::Logements,
        format!("{header}\nVSH999999;69801;;T3;PLUS;non;1990;\n"),
    )
    .await;
    let after = cache.summaries(store).await.unwrap();
    assert_eq!(after.bailleurs[0].logements, 8_001);
}

on_both_engines!(
    every_import_adds_one_to_the_data_revision,
    the_cached_assiette_is_the_computed_one_until_an_import,
    the_cached_conversion_is_the_computed_one_until_an_import,
    the_home_figures_follow_the_imports,
    the_stored_demo_gives_the_assiette_of_its_files,
    an_unknown_bailleur_is_not_found,
    a_bailleur_without_release_history_gets_a_french_error,
);

// ---- The command line. ----

const BIN: &str = env!("CARGO_BIN_EXE_convention-flux");

fn command(db: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_remove("CONVENTION_FLUX_CONFIG")
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("CONVENTION_FLUX_LOG", "warn");
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn run(command: &mut Command) -> Output {
    command.output().expect("the binary runs")
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo")
}

fn assiette_json(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "{}", text(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("the report is JSON")
}

#[test]
fn the_command_computes_from_a_folder_without_any_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("jamais.db");
    let siren = demo().bailleur_siren;
    let output = run(command(&db)
        .args(["assiette", "--bailleur", siren.as_str(), "--year", "2027"])
        .arg("--from-dir")
        .arg(examples()));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let table = text(&output.stdout);
    assert!(
        table.contains("Assiette 2027 : segments commune × typologie × qpv"),
        "{table}"
    );
    assert!(table.contains("69801-T3-Q"), "{table}");
    assert!(table.lines().any(|l| l.starts_with("Total ")), "{table}");
    assert!(table.contains("Flux 2027 : "), "{table}");
    assert!(table.contains("mutation"), "{table}");
    assert!(!db.exists(), "--from-dir must not open the database");

    let report = assiette_json(&run(command(&db)
        .args(["assiette", "--bailleur", siren.as_str(), "--year", "2027"])
        .args([
            "--format",
            "json",
            "--axes",
            "commune,qpv",
            "--lookback",
            "2",
        ])
        .arg("--from-dir")
        .arg(examples())));
    assert_eq!(report["lookback_years"], serde_json::json!([2025, 2026]));
    assert_eq!(report["axes"], serde_json::json!(["commune", "qpv"]));
    let segments = report["segments"].as_array().unwrap();
    let flux: u64 = segments.iter().map(|s| s["flux"].as_u64().unwrap()).sum();
    assert_eq!(report["totals"]["flux"].as_u64(), Some(flux));
    assert!(segments.iter().all(|s| s["typology"].is_null()));
}

#[test]
fn the_command_gives_the_same_report_from_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cf.db");
    let output = run(command(&db)
        .args(["demo", "--no-serve", "--dir"])
        .arg(dir.path().join("demo")));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let siren = demo().bailleur_siren;
    let args = [
        "assiette",
        "--bailleur",
        siren.as_str(),
        "--year",
        "2027",
        "--format",
        "json",
    ];
    let stored = assiette_json(&run(command(&db).args(args)));
    let files = assiette_json(&run(command(&db)
        .args(args)
        .arg("--from-dir")
        .arg(examples())));
    assert_eq!(stored, files);
    assert!(stored["totals"]["flux"].as_u64().unwrap() > 0);
}

#[test]
fn user_errors_exit_2_in_french() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cf.db");
    let siren = demo().bailleur_siren;
    let cases: [(Vec<String>, &str); 4] = [
        (
            vec!["--bailleur".into(), "552081317".into()],
            "aucun bailleur de SIREN 552081317",
        ),
        (
            vec![
                "--bailleur".into(),
                siren.to_string(),
                "--axes".into(),
                "commune,surface".into(),
            ],
            "axe de segmentation « surface » inconnu",
        ),
        (
            vec![
                "--bailleur".into(),
                siren.to_string(),
                "--from-dir".into(),
                dir.path().join("absent").display().to_string(),
            ],
            "lecture du fichier",
        ),
        (
            vec![
                "--bailleur".into(),
                siren.to_string(),
                "--lookback".into(),
                "0".into(),
                "--from-dir".into(),
                examples().display().to_string(),
            ],
            "profondeur d'historique de 0 an(s)",
        ),
    ];
    for (args, expected) in cases {
        let output = run(command(&db)
            .args(["assiette", "--year", "2027"])
            .args(&args));
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}
