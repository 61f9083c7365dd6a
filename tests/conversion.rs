//! The conversion of the état des lieux into rates (DESIGN §4.5) through the service on both
//! engines, through the `conversion` command and through the API.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use common::TestDb;
use common::fixtures::demo;
use common::harness::Harness;
use convention_flux::demo::DemoTerritory;
use convention_flux::flux::conversion::{Conversion, Method};
use convention_flux::flux::segment::SegmentAxes;
use convention_flux::import::ImportKind;
use convention_flux::services::ServiceError;
use convention_flux::services::conversion::{Request, compute};
use convention_flux::services::import::{NoProgress, import_file};
use rust_decimal::Decimal;

const YEAR: i32 = 2027;

async fn import(db: &TestDb, demo: &DemoTerritory, kind: ImportKind, csv: &str) {
    let bailleur = kind.needs_bailleur().then(|| demo.bailleur_siren.clone());
    import_file(
        db.store.as_ref(),
        kind,
        csv.as_bytes().to_vec(),
        bailleur,
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
}

/// Imports the demo files up to (and including) `last`.
async fn import_demo(db: &TestDb, last: ImportKind) -> DemoTerritory {
    let demo = demo();
    for file in &demo.files {
        import(db, &demo, file.kind, &file.csv).await;
        if file.kind == last {
            break;
        }
    }
    demo
}

fn request(demo: &DemoTerritory, method: Method) -> Request {
    Request {
        bailleur: demo.bailleur_siren.clone(),
        year: YEAR,
        method,
        lookback: 3,
    }
}

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn whole_sum(c: &Conversion) -> Decimal {
    c.reservataires
        .iter()
        .map(|r| r.rate_of_whole_flux)
        .sum::<Decimal>()
        + c.non_reserve.rate
}

/// The demo registries with a patrimoine of five dwellings instead of the demo's:
///
/// - 69801, T3, outside QPV: T1…T4; T1 and T2 released in 2026 → rotation 2 / (4 × 3 years);
///   one release in 2024 on T3, so 3 / 12 = 0.25.
/// - 69802, T2, outside QPV: T5, released in 2025 and 2026 → 2 / 3 = 0.666667 (the assiette
///   rounds rates to the millionth).
///
/// Rights in 2027 (365 days): etat on T1; action-logement on T2 until 1 July 2027 (182 days);
/// commune-69801 on T3; metropole-val-de-saone (the EPCI) on T5.
async fn a_small_territory_converts_as_computed_by_hand(db: &TestDb) {
    let demo = import_demo(db, ImportKind::Reservataires).await;
    let logements = "rpls_id;commune;qpv;typologie;financement;individuel;annee_construction\n\
        TST000001;69801;;T3;PLUS;non;1990\nTST000002;69801;;T3;PLUS;non;1990\n\
        TST000003;69801;;T3;PLUS;non;1990\nTST000004;69801;;T3;PLUS;non;1990\n\
        TST000005;69802;;T2;PLUS;non;1990\n";
    import(db, &demo, ImportKind::Logements, logements).await;
    let releases = "rpls_id;date_liberation\nTST000001;2026-02-01\nTST000002;2026-05-01\n\
        TST000003;2024-09-01\nTST000005;2025-03-01\nTST000005;2026-03-01\n";
    import(db, &demo, ImportKind::Liberations, releases).await;
    let rights = "rpls_id;reservataire;fondement;date_fin\n\
        TST000001;etat;contingent_prefectoral;\n\
        TST000002;action-logement;action_logement;2027-07-01\n\
        TST000003;commune-69801;garantie_emprunt;2040-12-31\n\
        TST000005;metropole-val-de-saone;garantie_emprunt;2045-06-30\n";
    import(db, &demo, ImportKind::ReservationsStock, rights).await;

    let c = compute(db.store.as_ref(), &request(&demo, Method::Flux))
        .await
        .unwrap();
    let find = |id: &str| c.reservataires.iter().find(|r| r.id == id).unwrap();
    // Flux-equivalents: etat 0.25; action-logement 182/365 × 0.25 = 0.124658; commune 0.25;
    // EPCI 0.666667; unreserved T2 183/365 × 0.25 = 0.125342 and T4 0.25 → 0.375342.
    assert_eq!(find("etat").flux_equivalent, d("0.25"));
    assert_eq!(find("action-logement").flux_equivalent, d("0.124658"));
    assert_eq!(find("commune-69801").flux_equivalent, d("0.25"));
    assert_eq!(
        find("metropole-val-de-saone").flux_equivalent,
        d("0.666667")
    );
    assert_eq!(c.non_reserve.flux_equivalent, d("0.375342"));
    // Total 4 × 0.25 + 0.666667 = 1.666667. Whole flux, in hundredths: 1500.00, 747.95,
    // 1500.00, 4000.00, 2252.05 → 1500 + 748 + 1500 + 4000 + 2252 = 10000.
    assert_eq!(c.total_flux_equivalent, d("1.666667"));
    assert_eq!(find("etat").rate_of_whole_flux, d("15.00"));
    assert_eq!(find("action-logement").rate_of_whole_flux, d("7.48"));
    assert_eq!(
        find("metropole-val-de-saone").rate_of_whole_flux,
        d("40.00")
    );
    assert_eq!(c.non_reserve.rate, d("22.52"));
    assert_eq!(whole_sum(&c), d("100.00"));
    // The commune's rate is on its own territory: 0.25 of 69801's 1.
    let commune = find("commune-69801");
    assert_eq!(commune.scope, Some(vec!["69801".to_owned()]));
    assert_eq!(commune.rate, d("25.00"));
    // The EPCI's territory is its communes: the whole patrimoine here.
    assert_eq!(find("metropole-val-de-saone").rate, d("40.00"));
    assert_eq!(find("etat").scope, None);
    assert_eq!(find("action-logement").rights[0].weight, d("0.49863"));

    let s = compute(db.store.as_ref(), &request(&demo, Method::Stock))
        .await
        .unwrap();
    // Weighted dwellings: 1, 182/365, 1, 1 and 1 + 183/365, total 5: 20 %, 9.97 %, …
    let find = |id: &str| s.reservataires.iter().find(|r| r.id == id).unwrap();
    assert_eq!(find("etat").rate, d("20.00"));
    assert_eq!(find("action-logement").rate, d("9.97"));
    // The commune: 1 of 69801's 4 weighted dwellings.
    assert_eq!(find("commune-69801").rate, d("25.00"));
    assert_eq!(s.non_reserve.rate, d("30.03"));
    assert_eq!(whole_sum(&s), d("100.00"));
}

/// The demo: every rate adds up, and the flux-equivalents add up to the dwellings of each
/// segment times its rotation as the assiette gives it (the demo reserves a dwelling to one
/// réservataire at most).
/// The warnings are sentences: a segment they name is in words, with its commune's name; the
/// fields of the JSON keep the segment ids. The French text names réservataires and communes.
///
/// Two dwellings: TST000001 (Valmont-sur-Saône, 69801, T3, outside QPV) released every year,
/// rotation 1; TST000002 (Bellecombe-les-Vignes, 69802, T2, outside QPV) never released, so
/// its segment 69802-T2-H has rotation 0. The État holds TST000001; the commune of Valmont
/// holds TST000002, outside its territory, in a segment with no release.
async fn warnings_and_the_text_speak_in_words(db: &TestDb) {
    use convention_flux::services::conversion::{Names, french_text};
    let demo = import_demo(db, ImportKind::Reservataires).await;
    let logements = "rpls_id;commune;qpv;typologie;financement;individuel;annee_construction\n\
        TST000001;69801;;T3;PLUS;non;1990\nTST000002;69802;;T2;PLUS;non;1990\n";
    import(db, &demo, ImportKind::Logements, logements).await;
    let releases = "rpls_id;date_liberation\nTST000001;2024-03-01\nTST000001;2025-03-01\n\
        TST000001;2026-03-01\n";
    import(db, &demo, ImportKind::Liberations, releases).await;
    let rights = "rpls_id;reservataire;fondement;date_fin\n\
        TST000001;etat;contingent_prefectoral;\n\
        TST000002;commune-69801;garantie_emprunt;2040-12-31\n";
    import(db, &demo, ImportKind::ReservationsStock, rights).await;

    let c = compute(db.store.as_ref(), &request(&demo, Method::Flux))
        .await
        .unwrap();
    let idle = c
        .warnings
        .iter()
        .find(|w| w.contains("aucune libération sur les années retenues"))
        .unwrap();
    assert!(
        idle.starts_with(
            "1 segment réservé n'a aucune libération sur les années retenues (T2 hors QPV à Bellecombe-les-Vignes) :"
        ),
        "{idle}"
    );
    assert!(
        c.warnings
            .iter()
            .any(|w| w.starts_with("commune-69801 : 1 droit porte sur des logements hors")),
        "{:?}",
        c.warnings
    );
    assert!(
        c.warnings.iter().all(|w| !w.contains("69802-T2-H")),
        "{:?}",
        c.warnings
    );
    // The ids stay in the fields.
    let commune = c
        .reservataires
        .iter()
        .find(|r| r.id == "commune-69801")
        .unwrap();
    assert_eq!(commune.rights[0].segment, "69802-T2-H");
    assert!(c.segments.iter().any(|s| s.id == "69802-T2-H"));

    let names = Names::read(db.store.as_ref()).await.unwrap();
    let text = french_text(&c, &names);
    // The commune's line: its name, its territory by name, 1 right.
    let line = text
        .lines()
        .find(|l| l.starts_with("Commune de Valmont-sur-Saône"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains(" Valmont-sur-Saône "), "{line}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("État – contingent préfectoral ")),
        "{text}"
    );
    assert!(
        text.contains(
            "  - Commune de Valmont-sur-Saône : 1 droit porte sur des logements hors de son territoire"
        ),
        "{text}"
    );
    assert!(
        text.contains("(T2 hors QPV à Bellecombe-les-Vignes)"),
        "{text}"
    );
    for id in ["commune-69801", "69802-T2-H", "69801 ", "etat "] {
        assert!(!text.contains(id), "{id} in {text}");
    }
}

async fn the_demo_converts_and_adds_up(db: &TestDb) {
    let demo = import_demo(db, ImportKind::Exclusions).await;
    let c = compute(db.store.as_ref(), &request(&demo, Method::Flux))
        .await
        .unwrap();
    assert_eq!(whole_sum(&c), d("100.00"));
    assert_eq!(c.years_used, [2024, 2025, 2026]);
    let assiette = convention_flux::services::assiette::compute(
        db.store.as_ref(),
        &demo.bailleur_siren,
        YEAR,
        3,
        SegmentAxes::default(),
    )
    .await
    .unwrap();
    let expected: Decimal = assiette
        .segments
        .iter()
        .map(|s| Decimal::from(s.units) * s.rotation_rate)
        .sum();
    let summed = c
        .reservataires
        .iter()
        .map(|r| r.flux_equivalent)
        .sum::<Decimal>()
        + c.non_reserve.flux_equivalent;
    assert!(
        (summed - expected).abs() <= d("0.00001"),
        "{summed} {expected}"
    );
    assert_eq!(c.total_flux_equivalent, expected);
    let rights = demo
        .csv(ImportKind::ReservationsStock)
        .unwrap()
        .lines()
        .count()
        - 1;
    let counted: u64 = c.reservataires.iter().map(|r| r.dwellings).sum();
    assert!(
        counted > 0 && counted <= rights as u64,
        "{counted} of {rights}"
    );
    for r in &c.reservataires {
        assert_eq!(r.dwellings, r.rights.len() as u64, "{}", r.id);
    }
}

async fn an_unknown_bailleur_or_a_year_without_data_is_explained(db: &TestDb) {
    let demo = import_demo(db, ImportKind::Exclusions).await;
    let mut unknown = request(&demo, Method::Flux);
    unknown.bailleur = "552081317".parse().unwrap();
    match compute(db.store.as_ref(), &unknown).await.unwrap_err() {
        ServiceError::NotFound(m) => assert!(m.contains("552081317"), "{m}"),
        other => panic!("NotFound expected, got {other:?}"),
    }
    let mut later = request(&demo, Method::Flux);
    later.year = 2040;
    match compute(db.store.as_ref(), &later).await.unwrap_err() {
        ServiceError::Invalid(m) => {
            assert!(m.contains("aucune libération enregistrée"), "{m}");
        }
        other => panic!("Invalid expected, got {other:?}"),
    }
}

async fn the_api_gives_members_the_command_s_json(db: &TestDb) {
    let h = Harness::start(db).await;
    let secretariat = h.secretariat().await;
    let id = h.open_convention(&secretariat).await;
    let path = format!("/api/conventions/{id}/conversion");
    let answer = h.ok(&secretariat, "GET", &path, None).await;
    let demo = demo();
    let computed = compute(db.store.as_ref(), &request(&demo, Method::Flux))
        .await
        .unwrap();
    // The demo's dwellings all lie in the EPCI: the convention's conversion is the whole one.
    assert_eq!(answer, serde_json::to_value(&computed).unwrap());
    let stock = h
        .ok(&secretariat, "GET", &format!("{path}?method=stock"), None)
        .await;
    assert_eq!(stock["method"], "stock");
    let (status, error) = h
        .call(
            Some(&secretariat),
            "GET",
            &format!("{path}?method=mixte"),
            None,
        )
        .await;
    assert_eq!(status, 400, "{error}");
    let message = error["erreur"]["message"].as_str().unwrap();
    assert!(message.contains("méthode « mixte » inconnue"), "{message}");
    let (status, _) = h.call(None, "GET", &path, None).await;
    assert_eq!(status, 401);
    let (status, _) = h
        .call(
            Some(&secretariat),
            "GET",
            "/api/conventions/9999/conversion",
            None,
        )
        .await;
    assert_eq!(status, 404);
}

on_both_engines!(
    a_small_territory_converts_as_computed_by_hand,
    warnings_and_the_text_speak_in_words,
    the_demo_converts_and_adds_up,
    an_unknown_bailleur_or_a_year_without_data_is_explained,
    the_api_gives_members_the_command_s_json,
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

#[test]
fn the_command_prints_the_contract_on_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cf.db");
    let output = run(command(&db)
        .args(["demo", "--no-serve", "--dir"])
        .arg(dir.path().join("demo")));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let siren = demo().bailleur_siren.to_string();
    let base = ["conversion", "--bailleur", &siren, "--year", "2027"];
    let output = run(command(&db).args(base));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["year"], 2027);
    assert_eq!(json["method"], "flux");
    assert_eq!(json["lookback"], 3);
    assert!(json["warnings"].is_array());
    let first = &json["reservataires"][0];
    for field in [
        "weighted_dwellings",
        "flux_equivalent",
        "rate",
        "rate_of_whole_flux",
    ] {
        assert!(first[field].is_string(), "{field}: {first}");
    }
    assert!(first["dwellings"].is_u64());
    assert!(first["id"].is_string());
    assert!(first.get("scope").is_some());
    for field in ["flux_equivalent", "rate"] {
        assert!(json["non_reserve"][field].is_string(), "{field}");
    }
    assert!(json["non_reserve"]["dwellings"].is_u64());
    let commune = json["reservataires"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "commune-69801")
        .unwrap();
    assert_eq!(commune["scope"], serde_json::json!(["69801"]));

    let output = run(command(&db).args(base).args([
        "--method",
        "stock",
        "--lookback",
        "2",
        "--format",
        "text",
    ]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let table = text(&output.stdout);
    assert!(
        table.contains("Conversion de l'état des lieux en taux pour 2027 (méthode stock, libérations de 2025 et 2026)"),
        "{table}"
    );
    assert!(table.contains("non réservé (bailleur)"), "{table}");
    // Réservataires by their names, communes by theirs.
    assert!(table.contains("Action Logement Services"), "{table}");
    assert!(!table.contains("action-logement"), "{table}");
    assert!(table.contains("Valmont-sur-Saône"), "{table}");
}

#[test]
fn the_command_s_user_errors_exit_2_in_french() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cf.db");
    let siren = demo().bailleur_siren.to_string();
    let cases: [(Vec<&str>, &str); 4] = [
        (
            vec!["--bailleur", "552081317", "--year", "2027"],
            "aucun bailleur de SIREN 552081317",
        ),
        (
            vec!["--bailleur", &siren, "--year", "2027", "--method", "mixte"],
            "méthode « mixte » inconnue",
        ),
        (
            vec!["--bailleur", &siren, "--year", "2027", "--lookback", "0"],
            "profondeur d'historique de 0 an(s)",
        ),
        (
            vec!["--bailleur", &siren, "--year", "1990"],
            "indiquez une année entre 2000 et 2200",
        ),
    ];
    for (args, expected) in cases {
        let output = run(command(&db).arg("conversion").args(&args));
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}
