//! The demo files read back through the importer, and the figures they describe.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate};

use super::{DemoFile, DemoSize, DemoTerritory, demo_territory, demo_territory_sized};
use crate::domain::{
    Bailleur, Basis, Commune, Epci, ExclusionCategory, Financing, Logement, PlannedExclusion, Qpv,
    Release, Reservataire, ReservataireKind, StockReservation, Typology,
};
use crate::import::{ImportBatch, ImportKind, RefKind, Reference, columns, parse_file};

const YEAR: i32 = 2027;

/// Every file of the demo as the importer parsed it.
#[derive(Default)]
struct Parsed {
    epcis: Vec<Epci>,
    communes: Vec<Commune>,
    qpvs: Vec<Qpv>,
    bailleurs: Vec<Bailleur>,
    reservataires: Vec<Reservataire>,
    logements: Vec<Logement>,
    stock: Vec<StockReservation>,
    releases: Vec<Release>,
    exclusions: Vec<PlannedExclusion>,
    references: Vec<Reference>,
}

fn demo() -> &'static (DemoTerritory, Parsed) {
    static DEMO: OnceLock<(DemoTerritory, Parsed)> = OnceLock::new();
    DEMO.get_or_init(|| {
        let demo = demo_territory(YEAR);
        let mut parsed = Parsed::default();
        for file in &demo.files {
            read(&demo, file, &mut parsed);
        }
        (demo, parsed)
    })
}

/// The largest real case, generated and read back once for all the tests that need it.
fn maximal() -> &'static (DemoTerritory, Parsed) {
    static MAXIMAL: OnceLock<(DemoTerritory, Parsed)> = OnceLock::new();
    MAXIMAL.get_or_init(|| {
        let demo = demo_territory_sized(YEAR, DemoSize::Maximal);
        let mut parsed = Parsed::default();
        for file in &demo.files {
            read(&demo, file, &mut parsed);
        }
        (demo, parsed)
    })
}

fn read(demo: &DemoTerritory, file: &DemoFile, parsed: &mut Parsed) {
    let bailleur = file.kind.needs_bailleur().then_some(&demo.bailleur_siren);
    let file = parse_file(file.kind, file.csv.as_bytes(), bailleur, &mut |_, _| {})
        .unwrap_or_else(|e| panic!("{} does not import: {e:?}", file.kind));
    parsed.references.extend(file.references);
    match file.batch {
        ImportBatch::Epcis(rows) => parsed.epcis = rows,
        ImportBatch::Communes(rows) => parsed.communes = rows,
        ImportBatch::Qpvs(rows) => parsed.qpvs = rows,
        ImportBatch::Bailleurs(rows) => parsed.bailleurs = rows,
        ImportBatch::Reservataires(rows) => parsed.reservataires = rows,
        ImportBatch::Logements(_, rows) => parsed.logements = rows,
        ImportBatch::StockReservations(_, rows) => parsed.stock = rows,
        ImportBatch::Releases(_, rows) => parsed.releases = rows,
        ImportBatch::Exclusions(_, rows) => parsed.exclusions = rows,
    }
}

fn share(part: usize, whole: usize) -> f64 {
    part as f64 / whole as f64
}

fn assert_between(what: &str, value: f64, low: f64, high: f64) {
    assert!(
        (low..=high).contains(&value),
        "{what}: {value:.4} outside {low}..={high}"
    );
}

#[test]
fn files_come_in_import_order_with_canonical_headers() {
    let (demo, _) = demo();
    let kinds: Vec<ImportKind> = demo.files.iter().map(|f| f.kind).collect();
    assert_eq!(kinds, ImportKind::ALL);
    for file in &demo.files {
        let names: Vec<&str> = columns(file.kind).iter().map(|c| c.name).collect();
        assert_eq!(file.csv.lines().next(), Some(names.join(";").as_str()));
        assert!(file.csv.ends_with('\n') && !file.csv.contains('\r'));
    }
}

#[test]
fn every_reference_names_a_generated_row() {
    let (demo, p) = demo();
    let epcis: HashSet<&str> = p.epcis.iter().map(|e| e.siren.as_str()).collect();
    let communes: HashSet<&str> = p.communes.iter().map(|c| c.insee.as_str()).collect();
    let qpvs: HashSet<&str> = p.qpvs.iter().map(|q| q.code.as_str()).collect();
    let reservataires: HashSet<&str> = p.reservataires.iter().map(|r| r.id.as_str()).collect();
    let logements: HashSet<&str> = p.logements.iter().map(|l| l.rpls_id.as_str()).collect();
    assert!(p.references.len() > p.logements.len());
    for reference in &p.references {
        let known = match reference.kind {
            RefKind::Epci => &epcis,
            RefKind::Commune => &communes,
            RefKind::Qpv => &qpvs,
            RefKind::Reservataire => &reservataires,
            RefKind::Logement => &logements,
        };
        assert!(known.contains(reference.key.as_str()), "{reference:?}");
    }
    assert_eq!(epcis, HashSet::from([demo.epci_siren.as_str()]));
    let second = demo.second_bailleur.as_ref().expect("a second bailleur");
    let bailleurs: Vec<(&str, &str)> = p
        .bailleurs
        .iter()
        .map(|b| (b.siren.as_str(), b.name.as_str()))
        .collect();
    assert_eq!(
        bailleurs,
        [
            (
                demo.bailleur_siren.as_str(),
                "Val de Saône Habitat OPH (démonstration)"
            ),
            (
                second.siren.as_str(),
                "Villages du Rhône Habitat ESH (démonstration)"
            ),
        ]
    );
    assert_ne!(second.siren, demo.bailleur_siren);
}

#[test]
fn dwellings_lie_in_the_commune_of_their_qpv() {
    let (_, p) = demo();
    let qpv_commune: HashMap<&str, &str> = p
        .qpvs
        .iter()
        .map(|q| (q.code.as_str(), q.commune.as_str()))
        .collect();
    for logement in &p.logements {
        if let Some(qpv) = &logement.qpv {
            assert_eq!(qpv_commune[qpv.as_str()], logement.commune.as_str());
        }
    }
    let qpv_communes: HashSet<&str> = qpv_commune.values().copied().collect();
    assert_eq!(p.qpvs.len(), 3);
    assert!((2..=3).contains(&qpv_communes.len()));
}

#[test]
fn the_epci_may_initiate_the_single_convention() {
    let (demo, p) = demo();
    let epci = &p.epcis[0];
    assert!(epci.plh_required && epci.housing_competent);
    assert_eq!(epci.cia_concluded_on.map(|d| d.year()), Some(2021));
    assert!((18..=22).contains(&p.communes.len()));
    assert!(
        p.communes
            .iter()
            .all(|c| c.epci.as_ref() == Some(&demo.epci_siren) && c.insee.department() == "69")
    );
}

#[test]
fn generation_is_deterministic() {
    assert_eq!(demo_territory(YEAR), demo_territory(YEAR));
    assert_eq!(demo_territory(YEAR), demo().0);
}

#[test]
fn the_patrimoine_has_realistic_proportions() {
    let (_, p) = demo();
    let total = p.logements.len();
    assert!((7_500..=8_500).contains(&total), "{total} logements");
    let in_qpv = p.logements.iter().filter(|l| l.qpv.is_some()).count();
    assert_between("part en QPV", share(in_qpv, total), 0.25, 0.30);
    let individual = p.logements.iter().filter(|l| l.individual).count();
    assert_between("part d'individuels", share(individual, total), 0.15, 0.25);
    let outside = p
        .logements
        .iter()
        .filter(|l| l.outside_flux.is_some())
        .count();
    assert_between("part hors flux", share(outside, total), 0.005, 0.015);
    let years = p.logements.iter().map(|l| l.construction_year);
    let (first, last) = (years.clone().min().unwrap(), years.max().unwrap());
    assert!((1955..=1960).contains(&first) && (2020..=YEAR - 3).contains(&last));
}

#[test]
fn the_central_commune_holds_the_most_dwellings() {
    let (_, p) = demo();
    let mut per_commune: HashMap<&str, usize> = HashMap::new();
    for logement in &p.logements {
        *per_commune.entry(logement.commune.as_str()).or_default() += 1;
    }
    assert_eq!(per_commune.len(), p.communes.len());
    let largest = per_commune.values().max().unwrap();
    assert_between(
        "commune centre",
        share(*largest, p.logements.len()),
        0.35,
        0.55,
    );
    assert!(per_commune.values().all(|n| *n >= 50));
}

#[test]
fn typologies_follow_the_national_mix() {
    let (_, p) = demo();
    let national = [
        (Typology::T1, 0.07),
        (Typology::T2, 0.20),
        (Typology::T3, 0.37),
        (Typology::T4, 0.28),
        (Typology::T5, 0.06),
        (Typology::T6Plus, 0.02),
    ];
    for (typology, expected) in national {
        let n = p
            .logements
            .iter()
            .filter(|l| l.typology == typology)
            .count();
        let observed = share(n, p.logements.len());
        assert_between(
            typology.label(),
            observed,
            expected - 0.025,
            expected + 0.025,
        );
    }
}

#[test]
fn plus_is_the_main_financing_and_every_other_one_occurs() {
    let (_, p) = demo();
    let count = |f| p.logements.iter().filter(|l| l.financing == f).count();
    assert_between(
        "part PLUS",
        share(count(Financing::Plus), p.logements.len()),
        0.55,
        0.9,
    );
    for financing in Financing::ALL {
        assert!(count(*financing) >= 40, "{financing} trop rare");
    }
}

/// Share of the patrimoine each kind of réservataire holds in stock.
fn stock_shares(p: &Parsed) -> HashMap<ReservataireKind, f64> {
    let kinds: HashMap<&str, ReservataireKind> = p
        .reservataires
        .iter()
        .map(|r| (r.id.as_str(), r.kind))
        .collect();
    let mut counts: HashMap<ReservataireKind, usize> = HashMap::new();
    for row in &p.stock {
        *counts.entry(kinds[row.reservataire.as_str()]).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(kind, n)| (kind, share(n, p.logements.len())))
        .collect()
}

#[test]
fn stock_reservations_have_realistic_shares() {
    let (_, p) = demo();
    let shares = stock_shares(p);
    let expected = [
        (ReservataireKind::Etat, 0.22, 0.28),
        (ReservataireKind::EtatFonctionnaires, 0.02, 0.04),
        (ReservataireKind::ActionLogement, 0.17, 0.23),
        (ReservataireKind::Commune, 0.08, 0.12),
        (ReservataireKind::Epci, 0.02, 0.04),
        (ReservataireKind::Departement, 0.01, 0.03),
    ];
    for (kind, low, high) in expected {
        assert_between(
            kind.label(),
            shares.get(&kind).copied().unwrap_or(0.0),
            low,
            high,
        );
    }
    let reserved: f64 = shares.values().sum();
    assert_between("part non réservée", 1.0 - reserved, 0.30, 0.45);
}

#[test]
fn each_dwelling_has_at_most_one_reservataire_with_its_basis() {
    let (_, p) = demo();
    let reservataires: HashMap<&str, &Reservataire> =
        p.reservataires.iter().map(|r| (r.id.as_str(), r)).collect();
    let logements: HashMap<&str, &Logement> = p
        .logements
        .iter()
        .map(|l| (l.rpls_id.as_str(), l))
        .collect();
    let mut seen = HashSet::new();
    for row in &p.stock {
        assert!(
            seen.insert(row.rpls_id.as_str()),
            "{} réservé deux fois",
            row.rpls_id
        );
        let reservataire = reservataires[row.reservataire.as_str()];
        let logement = logements[row.rpls_id.as_str()];
        assert_eq!(row.basis, reservataire.basis);
        assert!(logement.outside_flux.is_none());
        if reservataire.kind == ReservataireKind::Commune {
            assert_eq!(
                reservataire.territory.as_deref(),
                Some(logement.commune.as_str())
            );
        }
    }
}

#[test]
fn reservation_end_dates_are_mixed() {
    let (_, p) = demo();
    let start_of_year = NaiveDate::from_ymd_opt(YEAR, 1, 1).unwrap();
    let ended = p
        .stock
        .iter()
        .filter(|r| r.end_date.is_some_and(|d| d < start_of_year));
    let running = p
        .stock
        .iter()
        .filter(|r| r.end_date.is_some_and(|d| d >= start_of_year));
    let open = p.stock.iter().filter(|r| r.end_date.is_none());
    assert!(ended.count() >= 5);
    assert!(running.count() >= 100);
    assert!(open.count() >= p.stock.len() / 2);
    let guarantees = p.stock.iter().filter(|r| r.basis == Basis::GarantieEmprunt);
    assert!(guarantees.clone().count() > 0 && guarantees.clone().all(|r| r.end_date.is_some()));
}

/// Releases per dwelling and year, over the dwellings `keep` selects.
fn release_rate(p: &Parsed, keep: impl Fn(&Logement) -> bool) -> f64 {
    let kept: HashSet<&str> = p
        .logements
        .iter()
        .filter(|l| keep(l))
        .map(|l| l.rpls_id.as_str())
        .collect();
    let released = p
        .releases
        .iter()
        .filter(|r| kept.contains(r.rpls_id.as_str()))
        .count();
    share(released, kept.len() * 3)
}

#[test]
fn releases_cover_three_years_once_per_dwelling_and_year() {
    let (_, p) = demo();
    let mut seen = HashSet::new();
    let mut months: HashMap<i32, HashSet<u32>> = HashMap::new();
    for release in &p.releases {
        let year = release.date.year();
        assert!((YEAR - 3..YEAR).contains(&year), "{release:?}");
        assert!(seen.insert((release.rpls_id.as_str(), year)), "{release:?}");
        months.entry(year).or_default().insert(release.date.month());
    }
    assert_eq!(months.len(), 3);
    assert!(months.values().all(|m| m.len() == 12));
    for year in YEAR - 3..YEAR {
        let n = p.releases.iter().filter(|r| r.date.year() == year).count();
        assert_between(
            &format!("rotation {year}"),
            share(n, p.logements.len()),
            0.06,
            0.12,
        );
    }
}

#[test]
fn rotation_varies_by_commune_and_is_higher_in_qpv() {
    let (_, p) = demo();
    for commune in &p.communes {
        let rate = release_rate(p, |l| l.commune == commune.insee);
        assert_between(&commune.name, rate, 0.06, 0.12);
    }
    let central = &p.qpvs[0].commune;
    let central_outside = release_rate(p, |l| &l.commune == central && l.qpv.is_none());
    let central_qpv = release_rate(p, |l| &l.commune == central && l.qpv.is_some());
    let elsewhere = release_rate(p, |l| &l.commune != central);
    assert!(
        central_outside < central_qpv,
        "{central_outside} vs {central_qpv}"
    );
    assert!(
        central_outside < elsewhere,
        "{central_outside} vs {elsewhere}"
    );
}

#[test]
fn exclusions_are_planned_for_year_n_in_every_category() {
    let (_, p) = demo();
    let qpv_communes: HashSet<&str> = p.qpvs.iter().map(|q| q.commune.as_str()).collect();
    let mut totals: HashMap<ExclusionCategory, i64> = HashMap::new();
    for row in &p.exclusions {
        assert_eq!(row.year, YEAR);
        *totals.entry(row.category).or_default() += row.count;
        match row.category {
            ExclusionCategory::Npru | ExclusionCategory::Demolition => {
                assert_eq!(row.qpv, Some(true));
                let commune = row.commune.as_ref().expect("a commune");
                assert!(qpv_communes.contains(commune.as_str()));
            }
            ExclusionCategory::Vente => assert!(row.typology.is_some()),
            _ => {}
        }
    }
    assert_eq!(totals.len(), ExclusionCategory::ALL.len());
    assert_eq!(totals[&ExclusionCategory::Mutation], 120);
    // Well below the yearly releases, so that the flux stays substantial.
    let excluded: i64 = totals.values().sum();
    let releases_per_year = p.releases.len() as i64 / 3;
    assert!(
        excluded * 2 < releases_per_year,
        "{excluded} vs {releases_per_year}"
    );
}

#[test]
fn the_demo_size_is_the_default_one() {
    assert_eq!(demo_territory_sized(YEAR, DemoSize::default()), demo().0);
    let (demo, p) = demo();
    let ids: Vec<&str> = p.reservataires.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(demo.reservataires, ids);
}

#[test]
fn the_maximal_size_is_the_largest_real_case() {
    let (maximal, p) = maximal();
    assert_eq!(p.logements.len(), 120_000);
    // One bailleur only: the load figures of docs/performance.md are for that case.
    assert_eq!(p.bailleurs.len(), 1);
    assert!(maximal.second_bailleur.is_none());
    assert!(p.communes.len() >= 100, "{} communes", p.communes.len());
    // At least one QPV for every few communes, each in a commune of the EPCI.
    assert!(p.qpvs.len() * 3 >= p.communes.len(), "{} QPV", p.qpvs.len());
    let communes: HashSet<&str> = p.communes.iter().map(|c| c.insee.as_str()).collect();
    assert!(p.qpvs.iter().all(|q| communes.contains(q.commune.as_str())));
    // Segments commune × typology × QPV flag of the dwellings in the flux.
    let segments: HashSet<(&str, Typology, bool)> = p
        .logements
        .iter()
        .filter(|l| l.outside_flux.is_none())
        .map(|l| (l.commune.as_str(), l.typology, l.qpv.is_some()))
        .collect();
    assert!(segments.len() >= 777, "{} segments", segments.len());
    assert_between("droits en stock", p.stock.len() as f64, 44_000.0, 50_000.0);
    let years: HashSet<i32> = p.releases.iter().map(|r| r.date.year()).collect();
    assert_eq!(years, HashSet::from([YEAR - 3, YEAR - 2, YEAR - 1]));
    assert_between(
        "rotation annuelle",
        p.releases.len() as f64 / 3.0 / 120_000.0,
        0.06,
        0.12,
    );
    assert!(p.exclusions.iter().all(|x| x.year == YEAR && x.count > 0));
    assert_eq!(
        p.exclusions
            .iter()
            .map(|x| x.category)
            .collect::<HashSet<_>>()
            .len(),
        ExclusionCategory::ALL.len()
    );
    assert_eq!(maximal.reservataires.len(), 150);
}

#[test]
fn the_maximal_convention_has_every_kind_of_party() {
    let (_, p) = maximal();
    let count = |kind| p.reservataires.iter().filter(|r| r.kind == kind).count();
    assert_eq!(count(ReservataireKind::Etat), 1);
    assert_eq!(count(ReservataireKind::EtatFonctionnaires), 1);
    assert_eq!(count(ReservataireKind::Epci), 1);
    assert_eq!(count(ReservataireKind::ActionLogement), 1);
    assert_eq!(count(ReservataireKind::Departement), 1);
    assert_eq!(count(ReservataireKind::Commune), p.communes.len());
    assert!(count(ReservataireKind::Autre) >= 20);
    // Every commune holds rights on its own territory only (R.441-5 CCH).
    let territory: HashMap<&str, &str> = p
        .reservataires
        .iter()
        .filter(|r| r.kind == ReservataireKind::Commune)
        .map(|r| (r.id.as_str(), r.territory.as_deref().unwrap_or("")))
        .collect();
    let commune_of: HashMap<&str, &str> = p
        .logements
        .iter()
        .map(|l| (l.rpls_id.as_str(), l.commune.as_str()))
        .collect();
    let mut holding_communes = HashSet::new();
    for row in &p.stock {
        if let Some(insee) = territory.get(row.reservataire.as_str()) {
            assert_eq!(commune_of[row.rpls_id.as_str()], *insee, "{row:?}");
            holding_communes.insert(*insee);
        }
    }
    assert_eq!(holding_communes.len(), p.communes.len());
}

#[test]
fn the_maximal_size_is_deterministic() {
    let again = demo_territory_sized(YEAR, DemoSize::Maximal);
    assert!(again == maximal().0);
}

/// The second bailleur's files read back through the importer under its SIREN, with the demo's
/// registries.
fn second() -> &'static Parsed {
    static SECOND: OnceLock<Parsed> = OnceLock::new();
    SECOND.get_or_init(|| {
        let (demo, registries) = demo();
        let bailleur = demo.second_bailleur.as_ref().expect("a second bailleur");
        let mut parsed = Parsed {
            communes: registries.communes.clone(),
            qpvs: registries.qpvs.clone(),
            reservataires: registries.reservataires.clone(),
            ..Parsed::default()
        };
        let kinds: Vec<ImportKind> = bailleur.files.iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            [
                ImportKind::Logements,
                ImportKind::ReservationsStock,
                ImportKind::Liberations,
                ImportKind::Exclusions
            ]
        );
        for file in &bailleur.files {
            let read = parse_file(
                file.kind,
                file.csv.as_bytes(),
                Some(&bailleur.siren),
                &mut |_, _| {},
            )
            .unwrap_or_else(|e| panic!("{} does not import: {e:?}", file.kind));
            parsed.references.extend(read.references);
            match read.batch {
                ImportBatch::Logements(_, rows) => parsed.logements = rows,
                ImportBatch::StockReservations(_, rows) => parsed.stock = rows,
                ImportBatch::Releases(_, rows) => parsed.releases = rows,
                ImportBatch::Exclusions(_, rows) => parsed.exclusions = rows,
                _ => panic!("{} is not a patrimoine file", file.kind),
            }
        }
        parsed
    })
}

#[test]
fn the_second_bailleur_is_a_fifth_of_the_first_in_seven_communes() {
    let p = second();
    // 640 + 320 + 180 + 160 + 120 + 100 + 80 = 1,600, a fifth of the first one's 8,000.
    assert_eq!(p.logements.len(), 1_600);
    let mut per_commune: HashMap<&str, usize> = HashMap::new();
    let mut per_qpv: HashMap<&str, usize> = HashMap::new();
    for l in &p.logements {
        *per_commune.entry(l.commune.as_str()).or_default() += 1;
        if let Some(qpv) = &l.qpv {
            *per_qpv.entry(qpv.as_str()).or_default() += 1;
        }
    }
    assert_eq!(
        per_commune,
        HashMap::from([
            ("69801", 640),
            ("69802", 320),
            ("69806", 180),
            ("69803", 160),
            ("69809", 120),
            ("69813", 100),
            ("69816", 80),
        ])
    );
    // 20 % and 10 % of Valmont's 640, 35 % of Bellecombe's 320.
    assert_eq!(
        per_qpv,
        HashMap::from([("QN06981A", 128), ("QN06981B", 64), ("QN06982A", 112)])
    );
    // Its own RPLS identifiers, none of the first bailleur's.
    let first: HashSet<&str> = demo()
        .1
        .logements
        .iter()
        .map(|l| l.rpls_id.as_str())
        .collect();
    assert!(
        p.logements
            .iter()
            .all(|l| l.rpls_id.as_str().starts_with("VRH"))
    );
    assert!(
        p.logements
            .iter()
            .all(|l| !first.contains(l.rpls_id.as_str()))
    );
    let distinct: HashSet<&str> = p.logements.iter().map(|l| l.rpls_id.as_str()).collect();
    assert_eq!(distinct.len(), 1_600);
}

#[test]
fn the_second_bailleurs_stock_is_held_by_the_demo_reservataires() {
    let p = second();
    let reservataires: HashMap<&str, &Reservataire> =
        p.reservataires.iter().map(|r| (r.id.as_str(), r)).collect();
    let logements: HashMap<&str, &Logement> = p
        .logements
        .iter()
        .map(|l| (l.rpls_id.as_str(), l))
        .collect();
    let mut seen = HashSet::new();
    let mut holders: HashMap<&str, usize> = HashMap::new();
    for row in &p.stock {
        assert!(seen.insert(row.rpls_id.as_str()), "{row:?}");
        let reservataire = reservataires[row.reservataire.as_str()];
        let logement = logements[row.rpls_id.as_str()];
        assert_eq!(row.basis, reservataire.basis);
        assert!(logement.outside_flux.is_none());
        if reservataire.kind == ReservataireKind::Commune {
            assert_eq!(
                reservataire.territory.as_deref(),
                Some(logement.commune.as_str())
            );
        }
        *holders.entry(row.reservataire.as_str()).or_default() += 1;
    }
    // The communes of the demo's réservataires where it has dwellings: not 69804 nor 69805.
    let communes: HashSet<&str> = holders
        .keys()
        .copied()
        .filter(|id| id.starts_with("commune-"))
        .collect();
    assert_eq!(
        communes,
        HashSet::from(["commune-69801", "commune-69802", "commune-69803"])
    );
    let total = p.logements.len();
    assert_between("État", share(holders["etat"], total), 0.21, 0.29);
    assert_between(
        "Action Logement",
        share(holders["action-logement"], total),
        0.24,
        0.32,
    );
    assert!(holders["departement-69"] > 0 && holders["metropole-val-de-saone"] > 0);
    // Guarantees all end; some of Action Logement's rights do, the State's never.
    let dated = |id: &str| {
        p.stock
            .iter()
            .filter(|r| r.reservataire.as_str() == id && r.end_date.is_some())
            .count()
    };
    assert_eq!(dated("commune-69801"), holders["commune-69801"]);
    assert!(dated("action-logement") > 0 && dated("action-logement") < holders["action-logement"]);
    assert_eq!(dated("etat"), 0);
}

#[test]
fn the_second_bailleur_has_its_releases_and_its_plan() {
    let p = second();
    let mut seen = HashSet::new();
    for release in &p.releases {
        assert!(
            (YEAR - 3..YEAR).contains(&release.date.year()),
            "{release:?}"
        );
        assert!(seen.insert((release.rpls_id.as_str(), release.date.year())));
    }
    for year in YEAR - 3..YEAR {
        let n = p.releases.iter().filter(|r| r.date.year() == year).count();
        assert_between(
            &format!("rotation {year}"),
            share(n, p.logements.len()),
            0.06,
            0.13,
        );
    }
    let mut totals: HashMap<ExclusionCategory, i64> = HashMap::new();
    for row in &p.exclusions {
        assert_eq!(row.year, YEAR);
        *totals.entry(row.category).or_default() += row.count;
    }
    assert_eq!(
        totals,
        HashMap::from([
            (ExclusionCategory::Mutation, 25),
            (ExclusionCategory::Npru, 8),
            (ExclusionCategory::HabitatIndigne, 2),
            (ExclusionCategory::Vente, 4),
        ])
    );
    let npru = p
        .exclusions
        .iter()
        .find(|x| x.category == ExclusionCategory::Npru)
        .unwrap();
    assert_eq!(
        (npru.commune.as_ref().map(|c| c.as_str()), npru.qpv),
        (Some("69802"), Some(true))
    );
    // 39 planned, well below half of its yearly releases.
    let releases_per_year = p.releases.len() as i64 / 3;
    assert!(39 * 2 < releases_per_year, "{releases_per_year}");
}
