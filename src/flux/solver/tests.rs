//! One passing and one failing case per rule, with the exact gap; the compromise cures every
//! blocking breach it claims to.

use rust_decimal::Decimal;

use super::compromise::adjust_shares;
use super::rules::share_violations;
use super::shares::ShareMatrix;
use super::solve;
use crate::flux::scenario::Scenario;
use crate::policy::rules::{Policy, Severity};

fn national() -> Policy {
    Policy::parse_national(include_str!("../../../policies/national.toml")).unwrap()
}

/// A scenario from compact parts: segments as (id, commune, qpv, flux) and réservataires as
/// JSON objects with defaults for the fields a test does not care about.
fn scenario(segments: &[(&str, &str, bool, u64)], reservataires: &[&str], extra: &str) -> Scenario {
    let segments: Vec<String> = segments
        .iter()
        .map(|(id, commune, qpv, flux)| {
            format!(r#"{{"id": "{id}", "commune": "{commune}", "typology": "T3", "qpv": {qpv}, "flux": {flux}}}"#)
        })
        .collect();
    let reservataires: Vec<String> = reservataires
        .iter()
        .map(|r| {
            let mut value: serde_json::Value = serde_json::from_str(&format!("{{{r}}}")).unwrap();
            let defaults = serde_json::json!({
                "basis": "autre", "name": "R", "scope": null,
                "commitments": {"priority": "100", "q1_hors_qpv": "50", "non_q1_qpv": "60"}
            });
            for (key, default) in defaults.as_object().unwrap() {
                value
                    .as_object_mut()
                    .unwrap()
                    .entry(key.clone())
                    .or_insert(default.clone());
            }
            value.to_string()
        })
        .collect();
    let text = format!(
        r#"{{"schema": 1, "year": 2027, "policy": "national",
            "epci": {{"siren": "200046977", "communes": ["69123", "69266"]}},
            "segments": [{}],
            "objectives": {{"q1_hors_qpv_min": "25", "non_q1_qpv_min": "50", "priority_min": "25"}},
            "reservataires": [{}],
            "non_reserve": {{"commitments": {{"priority": "30", "q1_hors_qpv": "30", "non_q1_qpv": "55"}}}}{extra}}}"#,
        segments.join(","),
        reservataires.join(",")
    );
    Scenario::from_json(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn breaches(s: &Scenario, rule: &str) -> Vec<super::report::Violation> {
    solve(s, &national())
        .violations
        .into_iter()
        .filter(|v| v.rule == rule)
        .collect()
}

const ONE: &[(&str, &str, bool, u64)] = &[("A", "69123", false, 100)];

#[test]
fn state_cap_gap_in_dwellings() {
    let over = scenario(ONE, &[r#""id": "etat", "kind": "etat", "share": "32""#], "");
    let v = breaches(&over, "etat.plafond");
    assert_eq!(v.len(), 1);
    assert_eq!(
        (
            v[0].observed.as_str(),
            v[0].limit.as_str(),
            v[0].gap.as_str()
        ),
        ("32", "30", "2")
    );
    assert_eq!(v[0].reservataires, vec!["etat"]);
    assert!(
        v[0].message.contains("32 %") && v[0].message.contains("2 logement(s)"),
        "{}",
        v[0].message
    );
    assert_eq!(v[0].reference, "CCH, art. R.441-5-2");
    let at_cap = scenario(ONE, &[r#""id": "etat", "kind": "etat", "share": "30""#], "");
    assert!(breaches(&at_cap, "etat.plafond").is_empty());
}

#[test]
fn civil_servant_sub_cap() {
    let over = scenario(
        ONE,
        &[
            r#""id": "etat", "kind": "etat", "share": "20""#,
            r#""id": "fonc", "kind": "etat_fonctionnaires", "share": "6.5""#,
        ],
        "",
    );
    let v = breaches(&over, "etat.fonctionnaires");
    assert_eq!((v[0].observed.as_str(), v[0].gap.as_str()), ("6.5", "1.5"));
    assert!(breaches(&over, "etat.plafond").is_empty());
    let within = scenario(
        ONE,
        &[r#""id": "fonc", "kind": "etat_fonctionnaires", "share": "5""#],
        "",
    );
    assert!(breaches(&within, "etat.fonctionnaires").is_empty());
}

const TWO: &[(&str, &str, bool, u64)] = &[("A", "69123", false, 50), ("B", "69266", false, 50)];

#[test]
fn guarantee_cap_per_commune_ignores_land_and_financing() {
    let over = scenario(
        TWO,
        &[
            r#""id": "c1", "kind": "commune", "basis": "garantie_emprunt", "share": "15", "scope": ["69123"], "territory": "69123""#,
            r#""id": "metro", "kind": "epci", "basis": "garantie_emprunt", "share": "10""#,
            r#""id": "c2", "kind": "commune", "basis": "apport_terrain", "share": "30", "scope": ["69266"]"#,
        ],
        "",
    );
    let v = breaches(&over, "collectivite.garantie");
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_eq!((v[0].observed.as_str(), v[0].gap.as_str()), ("25", "2.5"));
    assert_eq!(v[0].segments, vec!["A"]);
    assert_eq!(v[0].reservataires, vec!["c1", "metro"]);
}

#[test]
fn a_commune_holds_rights_on_its_own_territory() {
    let everywhere = scenario(
        TWO,
        &[r#""id": "c1", "kind": "commune", "share": "10", "territory": "69123""#],
        "",
    );
    let v = breaches(&everywhere, "commune.territoire");
    assert_eq!(
        (v[0].segments.clone(), v[0].gap.as_str()),
        (vec!["B".to_owned()], "5")
    );
    let own = scenario(
        TWO,
        &[r#""id": "c1", "kind": "commune", "share": "10", "scope": ["69123"]"#],
        "",
    );
    assert!(breaches(&own, "commune.territoire").is_empty());
}

#[test]
fn perimeter_of_the_epci() {
    let outside = scenario(
        &[("A", "69123", false, 50), ("Z", "01001", false, 7)],
        &[],
        "",
    );
    let v = breaches(&outside, "perimetre.epci");
    assert_eq!(
        (v[0].segments.clone(), v[0].gap.as_str()),
        (vec!["Z".to_owned()], "7")
    );
    let report = solve(&outside, &national());
    assert!(report.compromise.is_none());
    assert!(report.compromise_impossible.unwrap().contains("Z"));
    assert!(breaches(&scenario(TWO, &[], ""), "perimetre.epci").is_empty());
}

#[test]
fn segment_total_over_100() {
    let over = scenario(
        &[("A", "69123", false, 10)],
        &[
            r#""id": "a", "kind": "autre", "share": "60""#,
            r#""id": "b", "kind": "autre", "share": "50""#,
        ],
        "",
    );
    let v = breaches(&over, "segment.total");
    assert_eq!((v[0].observed.as_str(), v[0].gap.as_str()), ("110", "1"));
    let report = solve(&over, &national());
    assert_eq!(
        report.table.unwrap().based_on,
        super::report::TableBasis::Compromise
    );
}

#[test]
fn priority_commitment_gap_in_households() {
    let low = scenario(
        ONE,
        &[
            r#""id": "al", "kind": "action_logement", "share": "20", "commitments": {"priority": "20", "q1_hors_qpv": "50", "non_q1_qpv": "60"}"#,
        ],
        "",
    );
    let v = breaches(&low, "engagement.prioritaires");
    assert_eq!(v.len(), 1);
    assert_eq!(
        (
            v[0].observed.as_str(),
            v[0].gap.as_str(),
            v[0].unit.as_str()
        ),
        ("20", "1", "ménage(s)")
    );
}

#[test]
fn a_reservataire_without_dwellings_is_not_in_breach_of_its_commitment() {
    let proposing_nothing = scenario(
        ONE,
        &[
            r#""id": "al", "kind": "action_logement", "share": "0", "commitments": {"priority": "0", "q1_hors_qpv": "50", "non_q1_qpv": "60"}"#,
            r#""id": "dep", "kind": "departement", "share": "20", "commitments": {"priority": "0", "q1_hors_qpv": "50", "non_q1_qpv": "60"}"#,
        ],
        "",
    );
    let v = breaches(&proposing_nothing, "engagement.prioritaires");
    let who: Vec<&str> = v.iter().map(|b| b.reservataires[0].as_str()).collect();
    assert_eq!(
        who,
        vec!["dep"],
        "only the row that receives dwellings is bound"
    );
}

#[test]
fn cia_objectives_weighted_by_the_table() {
    // Outside QPV: 60 dwellings; the réservataire (50 %) commits 10 %, the bailleur 30 %:
    // (30 × 10 + 30 × 30) / 60 = 20 % < 25 % → 3 households short.
    let segments = &[("A", "69123", false, 60), ("Q", "69123", true, 40)];
    let s = scenario(
        segments,
        &[
            r#""id": "r", "kind": "autre", "share": "50", "commitments": {"priority": "30", "q1_hors_qpv": "10", "non_q1_qpv": "70"}"#,
        ],
        "",
    );
    let v = breaches(&s, "cia.q1_hors_qpv");
    assert_eq!(
        (
            v[0].observed.as_str(),
            v[0].limit.as_str(),
            v[0].gap.as_str()
        ),
        ("20", "25", "3")
    );
    assert!(breaches(&s, "cia.non_q1_qpv").is_empty());
    let report = solve(&s, &national());
    let compromise = report.compromise.expect("a compromise");
    assert!(
        compromise
            .commitments
            .iter()
            .any(|c| c.commitment == super::report::CommitmentKind::Q1HorsQpv)
    );
}

#[test]
fn state_warnings_and_stipulations() {
    let segments = &[("A", "69123", false, 50), ("Q", "69266", true, 50)];
    let reservataires = [
        r#""id": "etat", "kind": "etat", "share": "30", "overrides": [{"qpv": false, "share": "20"}]"#,
    ];
    let s = scenario(segments, &reservataires, "");
    let outside = breaches(&s, "etat.hors_qpv");
    assert_eq!(
        (outside[0].severity, outside[0].gap.as_str()),
        (Severity::Alerte, "5")
    );
    let spread = breaches(&s, "etat.repartition");
    assert_eq!(spread[0].gap, "9.5");
    let stipulated = scenario(
        segments,
        &reservataires,
        r#", "stipulations": ["etat.hors_qpv", "etat.repartition"]"#,
    );
    assert!(breaches(&stipulated, "etat.hors_qpv").is_empty());
    assert!(breaches(&stipulated, "etat.repartition").is_empty());
}

#[test]
fn the_compromise_cures_every_share_breach() {
    let s = scenario(
        TWO,
        &[
            r#""id": "etat", "kind": "etat", "share": "33""#,
            r#""id": "fonc", "kind": "etat_fonctionnaires", "share": "7""#,
            r#""id": "c1", "kind": "commune", "basis": "garantie_emprunt", "share": "40", "territory": "69123""#,
            r#""id": "al", "kind": "action_logement", "share": "45""#,
        ],
        "",
    );
    let policy = national();
    let proposals = ShareMatrix::proposals(&s);
    let before = share_violations(&s, &policy, &proposals);
    for rule in [
        "etat.plafond",
        "etat.fonctionnaires",
        "collectivite.garantie",
        "commune.territoire",
        "segment.total",
    ] {
        assert!(
            before.iter().any(|v| v.rule == rule),
            "{rule} should fail first"
        );
    }
    let adjusted = adjust_shares(&s, &policy, &proposals);
    assert!(adjusted.impossible.is_empty());
    let after = share_violations(&s, &policy, &adjusted.shares);
    assert!(
        after.iter().all(|v| v.severity == Severity::Alerte),
        "{after:#?}"
    );
    // Civil servants first to 5 %, then both State contingents (33 + 5) scaled by 30 / 38.
    let units = super::shares::units;
    assert_eq!(adjusted.shares.get(1, 0), units(Decimal::from(5)) * 30 / 38);
    let state: i64 = (0..2)
        .map(|r| adjusted.shares.get(r, 0) + adjusted.shares.get(r, 1))
        .sum();
    assert!(state <= 2 * units(Decimal::from(30)), "{state}");
    let report = solve(&s, &policy);
    let table = report.table.unwrap();
    assert_eq!(table.based_on, super::report::TableBasis::Compromise);
    assert_eq!(table.columns.iter().map(|c| c.total).sum::<u64>(), 100);
    assert!(report.compromise.unwrap().explanation.len() >= 4);
}

#[test]
fn the_table_has_exact_margins_and_the_bailleur_row() {
    let s = scenario(
        TWO,
        &[
            r#""id": "etat", "kind": "etat", "share": "25""#,
            r#""id": "al", "kind": "action_logement", "share": "35""#,
        ],
        "",
    );
    let report = solve(&s, &national());
    let table = report.table.unwrap();
    assert_eq!(table.rows.last().unwrap().id, "non-reserve");
    assert_eq!(
        table.rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["etat", "al", "non-reserve"]
    );
    assert_eq!(
        table.rows.iter().map(|r| r.total).collect::<Vec<_>>(),
        [25, 35, 40]
    );
    for (r, row) in table.rows.iter().enumerate() {
        assert_eq!(table.cells[r].iter().sum::<u64>(), row.total);
    }
    for (c, col) in table.columns.iter().enumerate() {
        assert_eq!(table.cells.iter().map(|row| row[c]).sum::<u64>(), col.total);
    }
    assert_eq!(report.summary.blocking, 0);
    assert!(report.compromise.is_none());
}

#[test]
fn each_cia_objective_weighted_by_the_dwellings_against_the_higher_target() {
    use super::rules::{CiaObjective, ObjectiveResult, TableRow, objective_results};
    use crate::flux::scenario::Commitments;
    let mut s = scenario(ONE, &[r#""id": "r", "kind": "autre", "share": "50""#], "");
    // The CIA asks less than the law for priority households: the policy's 25 % is the target.
    s.objectives.priority_min = Decimal::from(20);
    s.objectives.non_q1_qpv_min = Decimal::from(60);
    let d = Decimal::from;
    let rows = [
        TableRow {
            id: "r",
            commitments: Commitments {
                priority: d(20),
                q1_hors_qpv: d(10),
                non_q1_qpv: d(70),
            },
            total: 50,
            outside_qpv: 30,
            in_qpv: 20,
            territories: vec![],
        },
        TableRow {
            id: "non-reserve",
            commitments: Commitments {
                priority: d(30),
                q1_hors_qpv: d(30),
                non_q1_qpv: d(55),
            },
            total: 50,
            outside_qpv: 30,
            in_qpv: 20,
            territories: vec![],
        },
    ];
    let results = objective_results(&s, &national(), &rows);
    assert_eq!(
        results,
        vec![
            // (30 × 10 + 30 × 30) / 60 = 20 against the CIA's 25.
            ObjectiveResult {
                objective: CiaObjective::Q1HorsQpv,
                achieved: Some(d(20)),
                target: d(25),
            },
            // (20 × 70 + 20 × 55) / 40 = 62.5 against the CIA's 60.
            ObjectiveResult {
                objective: CiaObjective::NonQ1Qpv,
                achieved: Some(Decimal::new(625, 1)),
                target: d(60),
            },
            // (50 × 20 + 50 × 30) / 100 = 25 against the law's 25 (the CIA asks 20).
            ObjectiveResult {
                objective: CiaObjective::Priority,
                achieved: Some(d(25)),
                target: d(25),
            },
        ]
    );
    // No dwelling in QPV: nothing achieved there, the target stays.
    let outside_only: Vec<TableRow<'_>> = rows
        .iter()
        .map(|r| TableRow {
            in_qpv: 0,
            total: r.outside_qpv,
            ..r.clone()
        })
        .collect();
    let results = objective_results(&s, &national(), &outside_only);
    assert_eq!(results[1].achieved, None);
    assert_eq!(results[1].target, d(60));
}

#[test]
fn representativeness_compares_the_flux_with_the_stock_in_each_group() {
    let segments = &[("A", "69123", false, 50), ("Q", "69266", true, 50)];
    // Flux share: 20 % outside QPV, 5 % in QPV, (50 × 20 + 50 × 5) / 100 = 12.5 % of the T3.
    let al = r#""id": "al", "kind": "action_logement", "share": "20",
        "overrides": [{"qpv": true, "share": "5"}],
        "stock": [{"qpv": true, "share": "30"}, {"qpv": false, "share": "25"},
                  {"typology": "T3", "share": "12.5"}]"#;
    let s = scenario(segments, &[al], "");
    let v = breaches(&s, "representativite");
    // In QPV: |5 − 30| = 25 points, 15 beyond the threshold of 10; outside QPV |20 − 25| = 5
    // and in the T3 0: within it.
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(
        (
            v[0].observed.as_str(),
            v[0].limit.as_str(),
            v[0].gap.as_str()
        ),
        ("5", "10", "15")
    );
    assert_eq!(v[0].severity, Severity::Alerte);
    assert_eq!(v[0].reservataires, vec!["al"]);
    assert!(
        v[0].message
            .contains("Dans les logements en QPV, al reçoit 5 % du flux contre 30 % du stock"),
        "{}",
        v[0].message
    );
    assert!(v[0].reference.contains("22 juin 2021"));
    // Without the stock shares, nothing to compare.
    let plain = scenario(
        segments,
        &[r#""id": "al", "kind": "action_logement", "share": "20""#],
        "",
    );
    assert!(breaches(&plain, "representativite").is_empty());
}

/// The CIA a scenario restates (issue 20): EPCI objectives 25 / `q1` / 50 / 25, a stricter rate
/// outside QPV in 69123 (35 %) and in the one QPV of 69266 (55 %), and what it assigns to the
/// bailleur.
fn with_cia(q1: &str) -> String {
    format!(
        r#", "cia": {{"version": 1, "hash": "{}", "reference": "CIA de test",
            "objectives": {{"q1_hors_qpv_min": "{q1}", "non_q1_qpv_min": "50", "priority_min": "25"}},
            "territorial": [
              {{"objective": "q1_hors_qpv", "commune": "69123", "name": "Lyon", "min": "35"}},
              {{"objective": "non_q1_qpv", "commune": "69266", "qpv": "QN06926A", "name": "quartier Les Buers (Villeurbanne)", "min": "55"}}
            ],
            "bailleur": {{"q1_hors_qpv": 10, "dalo": 9, "relogements": 3, "relogements_prevus": 1}}}}"#,
        "a".repeat(64)
    )
}

/// Three segments of 10 dwellings: s1 in 69123 outside QPV, s2 in 69266 outside QPV, s3 in
/// 69266 in QPV. `r` holds 50 % everywhere with commitments priority 25, first quartile 20,
/// other quartiles 40; the bailleur's row keeps the other 50 % at 30 / 30 / 55. Every cell is
/// 5 dwellings: each row has 5 in s1, 5 in s2, 5 in s3.
fn cia_scenario(q1: &str) -> Scenario {
    scenario(
        &[
            ("s1", "69123", false, 10),
            ("s2", "69266", false, 10),
            ("s3", "69266", true, 10),
        ],
        &[r#""id": "r", "kind": "autre", "share": "50",
             "commitments": {"priority": "25", "q1_hors_qpv": "20", "non_q1_qpv": "40"}"#],
        &with_cia(q1),
    )
}

#[test]
fn territorial_rates_of_the_cia_are_checked_on_their_territory_with_exact_gaps() {
    let s = cia_scenario("25");
    // Over the EPCI outside QPV: (20 × 10 + 30 × 10) / 20 = 25 %, the CIA's 25: met. In 69123
    // alone: (20 × 5 + 30 × 5) / 10 = 25 % against 35 %: (35 × 10 − 250) / 100 = 1 household.
    let q1 = breaches(&s, "cia.q1_hors_qpv");
    assert_eq!(q1.len(), 1, "{q1:?}");
    assert_eq!(q1[0].observed, "25");
    assert_eq!(q1[0].limit, "35");
    assert_eq!(q1[0].gap, "1");
    assert_eq!(q1[0].segments, vec!["s1"]);
    // Both rows are under 35 %.
    assert_eq!(q1[0].reservataires, vec!["r", "non-reserve"]);
    assert!(
        q1[0].message.contains("Lyon (objectif territorialisé"),
        "{}",
        q1[0].message
    );
    // In QPV the EPCI's s3 is the QPV of 69266: (40 × 5 + 55 × 5) / 10 = 47.5 %, under the
    // EPCI's 50 % by (500 − 475) / 100 = 0.25 and under the quartier's 55 % by 0.75; only `r`
    // (40 %) is under 55 %, the bailleur's row is at it.
    let qpv = breaches(&s, "cia.non_q1_qpv");
    assert_eq!(qpv.len(), 2, "{qpv:?}");
    assert_eq!((qpv[0].gap.as_str(), qpv[0].limit.as_str()), ("0.25", "50"));
    assert_eq!((qpv[1].gap.as_str(), qpv[1].limit.as_str()), ("0.75", "55"));
    assert_eq!(qpv[1].observed, "47.5");
    assert_eq!(qpv[1].reservataires, vec!["r"]);
    assert_eq!(qpv[1].segments, vec!["s3"]);
    // What the CIA assigns the bailleur, a warning each: first quartile outside QPV forecast
    // (20 × 10 + 30 × 10) / 100 = 5 of 10; DALO (25 × 15 + 30 × 15) / 100 = 8.25 of 9;
    // relogements 1 planned of 3.
    let assigned = breaches(&s, "cia.engagements_bailleur");
    let figures: Vec<(&str, &str, &str)> = assigned
        .iter()
        .map(|v| (v.observed.as_str(), v.limit.as_str(), v.gap.as_str()))
        .collect();
    assert_eq!(
        figures,
        vec![("5", "10", "5"), ("8.25", "9", "0.75"), ("1", "3", "2")]
    );
    assert!(assigned.iter().all(|v| v.severity == Severity::Alerte));
    assert!(breaches(&s, "cia.reprise").is_empty());
}

#[test]
fn the_compromise_raises_commitments_until_every_territorial_rate_is_met() {
    use super::report::CommitmentKind;
    let report = solve(&cia_scenario("25"), &national());
    let compromise = report.compromise.expect("a compromise");
    let changes: Vec<(String, CommitmentKind, &str, &str)> = compromise
        .commitments
        .iter()
        .map(|c| {
            (
                format!("{:?}", c.reservataire),
                c.commitment,
                c.proposed.as_str(),
                c.compromise.as_str(),
            )
        })
        .collect();
    // First quartile: only 69123 falls short, t = (35 − 25) / (100 − 25) = 2/15; r 20 + 80 × 2/15
    // = 30.666… → 30.67, the bailleur 30 + 70 × 2/15 = 39.333… → 39.34 (hundredths, rounded up):
    // in 69123 (30.67 + 39.34) / 2 = 35.005 ≥ 35. Other quartiles: the quartier needs
    // t = (55 − 47.5) / 52.5 = 1/7, more than the EPCI's (50 − 47.5) / 52.5: r 40 + 60/7 = 48.571…
    // → 48.58, the bailleur 55 + 45/7 = 61.428… → 61.43, (48.58 + 61.43) / 2 = 55.005 ≥ 55.
    let r = format!("{:?}", crate::flux::row::RowId::Reservataire("r".into()));
    let nr = format!("{:?}", crate::flux::row::RowId::NonReserve);
    for expected in [
        (r.clone(), CommitmentKind::Q1HorsQpv, "20", "30.67"),
        (nr.clone(), CommitmentKind::Q1HorsQpv, "30", "39.34"),
        (r, CommitmentKind::NonQ1Qpv, "40", "48.58"),
        (nr, CommitmentKind::NonQ1Qpv, "55", "61.43"),
    ] {
        assert!(
            changes
                .iter()
                .any(|c| (&c.0, c.1, c.2, c.3) == (&expected.0, expected.1, expected.2, expected.3)),
            "{expected:?} absent de {changes:?}"
        );
    }
    assert!(
        compromise
            .explanation
            .iter()
            .any(|s| s.contains("sur le territoire Lyon")),
        "{:?}",
        compromise.explanation
    );
}

#[test]
fn a_convention_looser_than_its_cia_is_a_blocking_breach_no_compromise_can_mend() {
    // The convention keeps 25 % where the CIA asks 30 %.
    let s = cia_scenario("30");
    let reprise = breaches(&s, "cia.reprise");
    assert_eq!(reprise.len(), 1, "{reprise:?}");
    assert_eq!(reprise[0].severity, Severity::Bloquant);
    assert_eq!(
        (reprise[0].observed.as_str(), reprise[0].limit.as_str()),
        ("25", "30")
    );
    assert_eq!(
        (reprise[0].gap.as_str(), reprise[0].unit.as_str()),
        ("5", "point(s)")
    );
    // The table is still held to the CIA's 30 %: (30 × 20 − 500) / 100 = 1 household short.
    let q1: Vec<_> = breaches(&s, "cia.q1_hors_qpv")
        .into_iter()
        .filter(|v| v.limit == "30")
        .collect();
    assert_eq!(q1.len(), 1, "{q1:?}");
    assert_eq!(q1[0].gap, "1");
    let report = solve(&s, &national());
    assert!(report.compromise.is_none());
    assert!(
        report
            .compromise_impossible
            .as_deref()
            .is_some_and(|m| m.contains("cia.reprise")),
        "{:?}",
        report.compromise_impossible
    );
    // The same convention at the CIA's 30 % is no breach of this rule.
    let mut at_cia = s.clone();
    at_cia.objectives.q1_hors_qpv_min = Decimal::from(30);
    assert!(breaches(&at_cia, "cia.reprise").is_empty());
}

#[test]
fn a_territorial_rate_outside_the_epci_or_a_quartier_for_the_first_quartile_is_refused() {
    for (fragment, path) in [
        (
            r#""commune": "69123", "name": "Lyon""#,
            r#""commune": "99999", "name": "Lyon""#,
        ),
        (
            r#""objective": "q1_hors_qpv", "commune": "69123""#,
            r#""objective": "q1_hors_qpv", "qpv": "QN06912A", "commune": "69123""#,
        ),
    ] {
        let extra = with_cia("25").replace(fragment, path);
        let text = format!(
            r#"{{"schema": 1, "year": 2027, "policy": "national",
                "epci": {{"siren": "200046977", "communes": ["69123", "69266"]}},
                "segments": [{{"id": "s1", "commune": "69123", "typology": "T3", "qpv": false, "flux": 10}}],
                "objectives": {{"q1_hors_qpv_min": "25", "non_q1_qpv_min": "50", "priority_min": "25"}},
                "reservataires": [],
                "non_reserve": {{"commitments": {{"priority": "30", "q1_hors_qpv": "30", "non_q1_qpv": "55"}}}}{extra}}}"#
        );
        let error = Scenario::from_json(&text).expect_err(path);
        assert!(error.path.starts_with("cia.territorial[0]"), "{error}");
    }
}
