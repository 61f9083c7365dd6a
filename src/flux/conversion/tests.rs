use std::collections::BTreeMap;

use chrono::NaiveDate;
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;
use crate::domain::{Basis, Financing, Typology};

const BAILLEUR: &str = "200046977";

fn logement(id: &str, commune: &str, typology: Typology) -> Logement {
    Logement {
        rpls_id: id.parse().unwrap(),
        bailleur: BAILLEUR.parse().unwrap(),
        commune: commune.parse().unwrap(),
        qpv: None,
        typology,
        financing: Financing::Plus,
        individual: false,
        construction_year: 1990,
        outside_flux: None,
    }
}

fn release(id: &str, date: &str) -> Release {
    Release {
        rpls_id: id.parse().unwrap(),
        date: date.parse().unwrap(),
    }
}

fn right(id: &str, reservataire: &str, end: Option<&str>) -> StockReservation {
    StockReservation {
        rpls_id: id.parse().unwrap(),
        reservataire: reservataire.parse().unwrap(),
        basis: Basis::Autre,
        end_date: end.map(|d| d.parse().unwrap()),
    }
}

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn input<'a>(
    logements: &'a [Logement],
    releases: &'a [Release],
    rights: &'a [StockReservation],
    scopes: &'a BTreeMap<ReservataireId, Vec<InseeCode>>,
    method: Method,
) -> ConversionInput<'a> {
    ConversionInput {
        year: 2027,
        lookback: 1,
        method,
        logements,
        releases,
        rights,
        scopes,
    }
}

fn find<'a>(c: &'a Conversion, id: &str) -> &'a ReservataireConversion {
    c.reservataires.iter().find(|r| r.id == id).unwrap()
}

fn whole_sum(c: &Conversion) -> Decimal {
    c.reservataires
        .iter()
        .map(|r| r.rate_of_whole_flux)
        .sum::<Decimal>()
        + c.non_reserve.rate
}

/// `units` dwellings in commune `commune`, `released` of them released once in 2026, the first
/// `reserved` reserved to `holder`.
fn block(
    commune: &str,
    units: usize,
    released: usize,
    reserved: usize,
    holder: Option<&str>,
    out: &mut (Vec<Logement>, Vec<Release>, Vec<StockReservation>),
) {
    for i in 0..units {
        let id = format!("{commune}-{i:05}");
        out.0.push(logement(&id, commune, Typology::T3));
        if i < released {
            out.1.push(release(&id, "2026-06-15"));
        }
        if let Some(holder) = holder.filter(|_| i < reserved) {
            out.2.push(right(&id, holder, None));
        }
    }
}

/// RULES.md §6: State 2,000 dwellings at 7 % → 140; Action Logement 3,500 at 9 % → 315;
/// commune 1,500 at 6 % → 90; unreserved 3,000 at 8 % → 240; rates 17.8 %, 40.1 %, 11.5 %,
/// 30.6 %. Each holder's dwellings form one segment here, so each rotation is its own.
#[test]
fn the_worked_example_of_rules_md() {
    let mut data = (Vec::new(), Vec::new(), Vec::new());
    block("69001", 2000, 140, 2000, Some("etat"), &mut data);
    block("69002", 3500, 315, 3500, Some("action-logement"), &mut data);
    block("69003", 1500, 90, 1500, Some("commune-69003"), &mut data);
    block("69004", 3000, 240, 0, None, &mut data);
    let scopes = BTreeMap::new();
    let c = conversion(&input(&data.0, &data.1, &data.2, &scopes, Method::Flux)).unwrap();
    // Flux-equivalents: 2000 × 0.07, 3500 × 0.09, 1500 × 0.06, 3000 × 0.08; total 785.
    assert_eq!(find(&c, "etat").flux_equivalent, d("140"));
    assert_eq!(find(&c, "action-logement").flux_equivalent, d("315"));
    assert_eq!(find(&c, "commune-69003").flux_equivalent, d("90"));
    assert_eq!(c.non_reserve.flux_equivalent, d("240"));
    assert_eq!(c.total_flux_equivalent, d("785"));
    // To one decimal, as RULES.md gives them.
    let tenth = |r: Decimal| r.round_dp(1);
    assert_eq!(tenth(find(&c, "etat").rate), d("17.8"));
    assert_eq!(tenth(find(&c, "action-logement").rate), d("40.1"));
    assert_eq!(tenth(find(&c, "commune-69003").rate), d("11.5"));
    assert_eq!(tenth(c.non_reserve.rate), d("30.6"));
    // To the hundredth: 14000/785 = 17.834, 31500/785 = 40.127, 9000/785 = 11.4968,
    // 24000/785 = 30.573 round to 17.83 + 40.13 + 11.46 + 30.57 = 99.99; Sainte-Laguë gives
    // the last hundredth to the largest fraction, the commune's (0.4968).
    assert_eq!(find(&c, "etat").rate_of_whole_flux, d("17.83"));
    assert_eq!(find(&c, "action-logement").rate_of_whole_flux, d("40.13"));
    assert_eq!(find(&c, "commune-69003").rate_of_whole_flux, d("11.47"));
    assert_eq!(c.non_reserve.rate, d("30.57"));
    // Its rate on its scope (here the whole patrimoine) is the plain rounding.
    assert_eq!(find(&c, "commune-69003").rate, d("11.46"));
    assert_eq!(whole_sum(&c), d("100.00"));
    // Method stock: 2000, 3500, 1500 and 3000 of 10,000 dwellings.
    let s = conversion(&input(&data.0, &data.1, &data.2, &scopes, Method::Stock)).unwrap();
    assert_eq!(find(&s, "etat").rate, d("20.00"));
    assert_eq!(find(&s, "action-logement").rate_of_whole_flux, d("35.00"));
    assert_eq!(s.non_reserve.rate, d("30.00"));
}

/// Five dwellings in 69001-T3 (two released in 2026 → rotation 2 / 4 in the flux… see below),
/// one in 69001-T2 never released, one in 69002-T2 released once.
///
/// - 69001-T3-H: A1…A4, releases A1 and A2 → 2 / 4 = 0.5.
/// - 69001-T2-H: B1, no release → 0.
/// - 69002-T2-H: C1, released once → 1.
///
/// Rights (2027 has 365 days): etat on A1 (all year), A3 and B1; action-logement on A2 until
/// 1 July 2027 (182 days); commune-69001 on A3 too (a dwelling with two rights); one right of
/// etat ended in 2026 on A4.
fn small_territory() -> (Vec<Logement>, Vec<Release>, Vec<StockReservation>) {
    let logements = vec![
        logement("A1", "69001", Typology::T3),
        logement("A2", "69001", Typology::T3),
        logement("A3", "69001", Typology::T3),
        logement("A4", "69001", Typology::T3),
        logement("B1", "69001", Typology::T2),
        logement("C1", "69002", Typology::T2),
    ];
    let releases = vec![
        release("A1", "2026-03-01"),
        release("A2", "2026-09-01"),
        release("C1", "2026-05-01"),
        // Outside the lookback year: not counted.
        release("A3", "2025-05-01"),
    ];
    let rights = vec![
        right("A1", "etat", None),
        right("A2", "action-logement", Some("2027-07-01")),
        right("A3", "etat", Some("2030-01-01")),
        right("A3", "commune-69001", None),
        right("A4", "etat", Some("2026-12-31")),
        right("B1", "etat", None),
    ];
    (logements, releases, rights)
}

#[test]
fn small_territory_by_hand_method_flux() {
    let (logements, releases, rights) = small_territory();
    let scopes = BTreeMap::from([(
        "commune-69001".parse().unwrap(),
        vec!["69001".parse().unwrap()],
    )]);
    let c = conversion(&input(
        &logements,
        &releases,
        &rights,
        &scopes,
        Method::Flux,
    ))
    .unwrap();
    let etat = find(&c, "etat");
    // A1 and A3 at 0.5, B1 at 0 (no release): 1; the right on A4 ended in 2026.
    assert_eq!(etat.dwellings, 3);
    assert_eq!(etat.weighted_dwellings, d("3"));
    assert_eq!(etat.flux_equivalent, d("1"));
    let al = find(&c, "action-logement");
    // 182 / 365 = 0.498630137 → 0.498630; × 0.5 = 0.249315068 → 0.249315.
    assert_eq!(al.weighted_dwellings, d("0.49863"));
    assert_eq!(al.flux_equivalent, d("0.249315"));
    assert_eq!(al.rights[0].end_date, NaiveDate::from_ymd_opt(2027, 7, 1));
    // Unreserved: A2 for 183 days at 0.5, A4 all year at 0.5, C1 all year at 1; A3 is
    // covered twice, B1 once. 183 / 365 × 0.5 + 0.5 + 1 = 1.750684932.
    assert_eq!(c.non_reserve.dwellings, 3);
    assert_eq!(c.non_reserve.flux_equivalent, d("1.750685"));
    assert_eq!(c.non_reserve.weighted_dwellings, d("2.50137"));
    // Total: 1 + 0.249315 + 0.5 (commune) + 1.750685 = 3.5.
    assert_eq!(c.total_flux_equivalent, d("3.5"));
    // Whole flux, hundredths: 10000 / 3.5 × (1, 0.249315, 0.5, 1.750685) = 2857.14, 712.33,
    // 1428.57, 5001.96 → 2857 + 712 + 1429 + 5002 = 10000.
    assert_eq!(etat.rate_of_whole_flux, d("28.57"));
    assert_eq!(al.rate_of_whole_flux, d("7.12"));
    let commune = find(&c, "commune-69001");
    assert_eq!(commune.rate_of_whole_flux, d("14.29"));
    assert_eq!(c.non_reserve.rate, d("50.02"));
    // The commune's scope is 69001: A1…A4 give 4 × 0.5 + 0.5 (A3's second right) = 2.5,
    // B1 nothing; its rate there is 0.5 / 2.5.
    assert_eq!(commune.scope, Some(vec!["69001".to_owned()]));
    assert_eq!(commune.scope_total, d("2.5"));
    assert_eq!(commune.rate, d("20.00"));
    assert_eq!(whole_sum(&c), d("100.00"));
    let warnings = c.warnings.join("\n");
    assert!(warnings.contains("1 droit a pris fin avant le 1er janvier 2027"));
    assert!(warnings.contains("1 droit prend fin en cours d'année 2027"));
    assert!(warnings.contains("1 logement est réservé à plusieurs réservataires"));
    assert!(warnings.contains("69001-T2-H"), "{warnings}");
}

#[test]
fn small_territory_by_hand_method_stock() {
    let (logements, releases, rights) = small_territory();
    let scopes = BTreeMap::from([(
        "commune-69001".parse().unwrap(),
        vec!["69001".parse().unwrap()],
    )]);
    let c = conversion(&input(
        &logements,
        &releases,
        &rights,
        &scopes,
        Method::Stock,
    ))
    .unwrap();
    // Weighted dwellings: etat 3, action-logement 182/365, commune 1, unreserved 183/365 + 2;
    // total 7. Hundredths: 4285.71, 712.33, 1428.57, 3573.39 → 4286 + 712 + 1429 + 3573.
    assert_eq!(find(&c, "etat").rate, d("42.86"));
    assert_eq!(find(&c, "etat").rate_of_whole_flux, d("42.86"));
    assert_eq!(find(&c, "action-logement").rate_of_whole_flux, d("7.12"));
    assert_eq!(find(&c, "commune-69001").rate_of_whole_flux, d("14.29"));
    assert_eq!(c.non_reserve.rate, d("35.73"));
    // On 69001 the weighted dwellings are A1…A4 (A3 twice) and B1: 6.
    let commune = find(&c, "commune-69001");
    assert_eq!(commune.scope_total, d("6"));
    assert_eq!(commune.rate, d("16.67"));
    assert_eq!(whole_sum(&c), d("100.00"));
}

#[test]
fn rights_outside_the_flux_or_the_patrimoine_are_left_out() {
    let mut logements = vec![
        logement("A1", "69001", Typology::T3),
        logement("A2", "69001", Typology::T3),
    ];
    logements[1].outside_flux = Some("défense".into());
    let releases = vec![release("A1", "2026-03-01")];
    let rights = vec![right("A2", "etat", None), right("Z9", "etat", None)];
    let scopes = BTreeMap::new();
    let c = conversion(&input(
        &logements,
        &releases,
        &rights,
        &scopes,
        Method::Flux,
    ))
    .unwrap();
    assert_eq!(find(&c, "etat").dwellings, 0);
    assert_eq!(find(&c, "etat").rate_of_whole_flux, d("0.00"));
    assert_eq!(c.non_reserve.rate, d("100.00"));
    let warnings = c.warnings.join("\n");
    assert!(warnings.contains("absents du patrimoine du bailleur (Z9)"));
    assert!(warnings.contains("hors flux par la loi (A2)"));
}

#[test]
fn a_year_without_release_data_is_an_error_in_french() {
    let logements = vec![logement("A1", "69001", Typology::T3)];
    let rights = vec![right("A1", "etat", None)];
    let scopes = BTreeMap::new();
    let error = conversion(&input(&logements, &[], &rights, &scopes, Method::Flux)).unwrap_err();
    assert!(error.to_string().contains("aucune libération enregistrée"));
}

#[test]
fn running_days_of_a_right() {
    assert_eq!(running_days(None, 2027), 365);
    assert_eq!(running_days(NaiveDate::from_ymd_opt(2028, 1, 1), 2027), 365);
    assert_eq!(running_days(NaiveDate::from_ymd_opt(2026, 12, 31), 2027), 0);
    assert_eq!(running_days(NaiveDate::from_ymd_opt(2027, 1, 1), 2027), 1);
    assert_eq!(
        running_days(NaiveDate::from_ymd_opt(2027, 12, 31), 2027),
        365
    );
    assert_eq!(
        running_days(NaiveDate::from_ymd_opt(2028, 12, 31), 2028),
        366
    );
    assert_eq!(running_days(NaiveDate::from_ymd_opt(2028, 3, 1), 2028), 61);
}

#[test]
fn methods_parse_in_french() {
    assert_eq!("Flux".parse(), Ok(Method::Flux));
    assert_eq!("stock".parse(), Ok(Method::Stock));
    assert!("mixte".parse::<Method>().unwrap_err().contains("flux"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn whole_flux_rates_add_up_to_exactly_one_hundred(
        dwellings in prop::collection::vec(
            (0usize..3, 0usize..4, prop::option::of(0usize..5), 0u32..400, any::<bool>()),
            1..40,
        ),
        stock in any::<bool>(),
    ) {
        let communes = ["69001", "69002", "69003"];
        let holders = ["etat", "action-logement", "commune-69001", "departement", "autre"];
        let mut logements = Vec::new();
        let mut releases = vec![release("R0", "2026-01-10")];
        logements.push(logement("R0", "69001", Typology::T1));
        let mut rights = Vec::new();
        for (i, (commune, typology, holder, end, released)) in dwellings.iter().enumerate() {
            let id = format!("L{i}");
            logements.push(logement(&id, communes[*commune], Typology::ALL[*typology]));
            if *released {
                releases.push(release(&id, "2026-04-01"));
            }
            if let Some(h) = holder {
                let end = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()
                    + chrono::Days::new(u64::from(*end));
                rights.push(right(&id, holders[*h], Some(&end.to_string())));
            }
        }
        let scopes = BTreeMap::from([(
            "commune-69001".parse().unwrap(),
            vec!["69001".parse().unwrap()],
        )]);
        let method = if stock { Method::Stock } else { Method::Flux };
        let c = conversion(&input(&logements, &releases, &rights, &scopes, method)).unwrap();
        prop_assert_eq!(whole_sum(&c), d("100.00"));
        for r in &c.reservataires {
            prop_assert!(r.rate <= d("100.00"));
        }
    }
}
