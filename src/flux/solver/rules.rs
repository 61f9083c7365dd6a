//! The rules of the policy applied to a scenario: each returns its breaches with the
//! réservataires and segments involved, the observed value, the limit, the gap and the message.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::report::{Violation, french, two_places};
use super::shares::{FULL, ShareMatrix, dwellings, percent, units};
use crate::domain::{Basis, InseeCode, ReservataireKind};
use crate::flux::scenario::{Commitments, Scenario};
use crate::policy::rules::{Policy, Rule, render_message};

const DWELLINGS: &str = "logement(s)";
const HOUSEHOLDS: &str = "ménage(s)";
const POINTS: &str = "point(s)";

/// What a breach says before it is turned into a `Violation` with the rule's message.
pub struct Breach {
    pub reservataires: Vec<String>,
    pub segments: Vec<String>,
    pub observed: String,
    pub observed_text: String,
    pub limit: String,
    pub limit_text: String,
    pub gap: Decimal,
    pub unit: &'static str,
    pub scope: String,
}

fn violation(rule: &Rule, breach: Breach) -> Violation {
    let gap = two_places(breach.gap);
    let message = render_message(
        &rule.message,
        &[
            ("observed", breach.observed_text.clone()),
            ("limit", breach.limit_text.clone()),
            ("gap", gap.replace('.', ",")),
            ("unit", breach.unit.to_owned()),
            ("reservataires", breach.reservataires.join(", ")),
            ("segments", breach.segments.join(", ")),
            ("scope", breach.scope.clone()),
        ],
    );
    Violation {
        rule: rule.id.clone(),
        severity: rule.severity,
        reservataires: breach.reservataires,
        segments: breach.segments,
        observed: breach.observed,
        limit: breach.limit,
        gap,
        unit: breach.unit.to_owned(),
        reference: rule.reference.clone(),
        message,
    }
}

/// A percentage breach: observed and limit as decimal strings, French text in the message.
fn percent_breach(observed: Decimal, limit: Decimal, gap: Decimal, unit: &'static str) -> Breach {
    Breach {
        reservataires: Vec::new(),
        segments: Vec::new(),
        observed: two_places(observed),
        observed_text: french(two_places(observed).parse().unwrap_or(observed)),
        limit: limit.normalize().to_string(),
        limit_text: french(limit),
        gap,
        unit,
        scope: String::new(),
    }
}

/// `part / whole` as a percentage, `whole` in the same unit as `part`.
fn ratio_percent(part: i128, whole: i128) -> Decimal {
    if whole == 0 {
        return Decimal::ZERO;
    }
    let part = Decimal::from_i128_with_scale(part, 0);
    let whole = Decimal::from_i128_with_scale(whole, 0);
    part * Decimal::ONE_HUNDRED / whole
}

/// The rules that bear on shares and territory, checked on `shares`.
pub fn share_violations(
    scenario: &Scenario,
    policy: &Policy,
    shares: &ShareMatrix,
) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut check = |id: &str, f: &dyn Fn(&Rule) -> Vec<Breach>| {
        if let Some(rule) = policy.rule(id) {
            if scenario.stipulations.iter().any(|s| s == id) {
                return;
            }
            out.extend(f(rule).into_iter().map(|b| violation(rule, b)));
        }
    };
    check("perimetre.epci", &|_| perimeter(scenario));
    check("commune.territoire", &|_| {
        commune_territory(scenario, shares)
    });
    check("etat.fonctionnaires", &|rule| {
        state_cap(scenario, shares, rule, |k| {
            k == ReservataireKind::EtatFonctionnaires
        })
    });
    check("etat.plafond", &|rule| {
        state_cap(scenario, shares, rule, |k| {
            matches!(
                k,
                ReservataireKind::Etat | ReservataireKind::EtatFonctionnaires
            )
        })
    });
    check("collectivite.garantie", &|rule| {
        guarantee_cap(scenario, shares, rule)
    });
    check("segment.total", &|_| segment_totals(scenario, shares));
    check("etat.hors_qpv", &|rule| {
        state_outside_qpv(scenario, shares, rule)
    });
    check("etat.repartition", &|rule| {
        state_spread(scenario, shares, rule)
    });
    check("representativite", &|rule| {
        representativeness(scenario, shares, rule)
    });
    out
}

fn limit_units(rule: &Rule) -> i64 {
    rule.limit.map_or(0, units)
}

/// Σ weights of the rows selected by `keep`, over the segments selected by `segment`.
fn weight_of(
    scenario: &Scenario,
    shares: &ShareMatrix,
    keep: impl Fn(usize) -> bool,
    segment: impl Fn(usize) -> bool,
) -> i128 {
    let cols: Vec<usize> = (0..scenario.segments.len())
        .filter(|c| segment(*c))
        .collect();
    weight_in(scenario, shares, keep, &cols)
}

/// Σ weights of the rows selected by `keep` over the columns `cols`.
pub fn weight_in(
    scenario: &Scenario,
    shares: &ShareMatrix,
    keep: impl Fn(usize) -> bool,
    cols: &[usize],
) -> i128 {
    let mut total = 0;
    for row in (0..shares.rows).filter(|r| keep(*r)) {
        for col in cols {
            total += shares.weight(row, *col, scenario.segments[*col].flux);
        }
    }
    total
}

fn ids(scenario: &Scenario, keep: impl Fn(usize) -> bool) -> Vec<String> {
    scenario
        .reservataires
        .iter()
        .enumerate()
        .filter(|(i, _)| keep(*i))
        .map(|(_, r)| r.id.clone())
        .collect()
}

/// `etat.plafond` and `etat.fonctionnaires` (R.441-5-2): the State's weights over the whole flux.
pub fn state_cap(
    scenario: &Scenario,
    shares: &ShareMatrix,
    rule: &Rule,
    kind: impl Fn(ReservataireKind) -> bool,
) -> Vec<Breach> {
    let rows = |r: usize| kind(scenario.reservataires[r].kind);
    let held = weight_of(scenario, shares, rows, |_| true);
    let total = i128::from(scenario.total_flux());
    let cap = i128::from(limit_units(rule)) * total;
    if held <= cap {
        return Vec::new();
    }
    let mut breach = percent_breach(
        ratio_percent(held, total * i128::from(FULL)),
        rule.limit.unwrap_or_default(),
        dwellings(held - cap),
        DWELLINGS,
    );
    breach.reservataires = ids(scenario, rows);
    vec![breach]
}

/// The communes of the segments, with the columns of each.
pub fn communes(scenario: &Scenario) -> BTreeMap<&InseeCode, Vec<usize>> {
    let mut map: BTreeMap<&InseeCode, Vec<usize>> = BTreeMap::new();
    for (col, s) in scenario.segments.iter().enumerate() {
        map.entry(&s.commune).or_default().push(col);
    }
    map
}

/// Whether a row holds rights counted in the collectivités' 20 % cap: communes and EPCI, on the
/// basis of loan guarantees (land and financing are outside the cap).
pub fn is_guarantee(scenario: &Scenario, row: usize) -> bool {
    let r = &scenario.reservataires[row];
    matches!(r.kind, ReservataireKind::Commune | ReservataireKind::Epci)
        && r.basis == Basis::GarantieEmprunt
}

/// `collectivite.garantie` (R.441-5-2): per commune, loan-guarantee rights ≤ 20 % of its flux.
fn guarantee_cap(scenario: &Scenario, shares: &ShareMatrix, rule: &Rule) -> Vec<Breach> {
    let mut out = Vec::new();
    for (commune, cols) in communes(scenario) {
        let flux: i128 = cols
            .iter()
            .map(|c| i128::from(scenario.segments[*c].flux))
            .sum();
        let held = weight_in(scenario, shares, |r| is_guarantee(scenario, r), &cols);
        let cap = i128::from(limit_units(rule)) * flux;
        if held <= cap {
            continue;
        }
        let mut breach = percent_breach(
            ratio_percent(held, flux * i128::from(FULL)),
            rule.limit.unwrap_or_default(),
            dwellings(held - cap),
            DWELLINGS,
        );
        breach.reservataires = ids(scenario, |r| {
            is_guarantee(scenario, r) && cols.iter().any(|c| shares.get(r, *c) > 0)
        });
        breach.segments = cols
            .iter()
            .map(|c| scenario.segments[*c].id.clone())
            .collect();
        breach.scope = commune.to_string();
        out.push(breach);
    }
    out
}

/// `segment.total`: in every segment the shares add up to at most 100 %.
fn segment_totals(scenario: &Scenario, shares: &ShareMatrix) -> Vec<Breach> {
    let mut out = Vec::new();
    for (col, segment) in scenario.segments.iter().enumerate() {
        let total = shares.column_units(col);
        if total <= FULL {
            continue;
        }
        let excess = i128::from(total - FULL) * i128::from(segment.flux);
        let mut breach = percent_breach(
            percent(total),
            Decimal::ONE_HUNDRED,
            dwellings(excess),
            DWELLINGS,
        );
        breach.reservataires = ids(scenario, |r| shares.get(r, col) > 0);
        breach.segments = vec![segment.id.clone()];
        out.push(breach);
    }
    out
}

/// `perimetre.epci`: every segment, scope and override lies in the EPCI.
fn perimeter(scenario: &Scenario) -> Vec<Breach> {
    let inside = |c: &InseeCode| scenario.epci_communes.contains(c);
    let mut out = Vec::new();
    let outside: Vec<usize> = (0..scenario.segments.len())
        .filter(|c| !inside(&scenario.segments[*c].commune))
        .collect();
    if !outside.is_empty() {
        let flux: u64 = outside.iter().map(|c| scenario.segments[*c].flux).sum();
        let mut communes: Vec<String> = outside
            .iter()
            .map(|c| scenario.segments[*c].commune.to_string())
            .collect();
        communes.dedup();
        out.push(Breach {
            reservataires: Vec::new(),
            segments: outside
                .iter()
                .map(|c| scenario.segments[*c].id.clone())
                .collect(),
            observed: communes.join(", "),
            observed_text: communes.join(", "),
            limit: "communes membres de l'EPCI".into(),
            limit_text: "communes membres de l'EPCI".into(),
            gap: Decimal::from(flux),
            unit: DWELLINGS,
            scope: format!(
                "Segment(s) situé(s) dans les communes {}",
                communes.join(", ")
            ),
        });
    }
    for r in &scenario.reservataires {
        let mut named: Vec<String> = r
            .scope
            .iter()
            .flatten()
            .chain(r.overrides.iter().filter_map(|o| o.commune.as_ref()))
            .filter(|c| !inside(c))
            .map(ToString::to_string)
            .collect();
        named.sort();
        named.dedup();
        if named.is_empty() {
            continue;
        }
        out.push(Breach {
            reservataires: vec![r.id.clone()],
            segments: Vec::new(),
            observed: named.join(", "),
            observed_text: named.join(", "),
            limit: "communes membres de l'EPCI".into(),
            limit_text: "communes membres de l'EPCI".into(),
            gap: Decimal::ZERO,
            unit: DWELLINGS,
            scope: format!("Périmètre de {} : commune(s) {}", r.id, named.join(", ")),
        });
    }
    out
}

/// The own territory of a commune réservataire: its `territory`, else its scope when it names
/// exactly one commune.
pub fn own_territory(scenario: &Scenario, row: usize) -> Option<&InseeCode> {
    let r = &scenario.reservataires[row];
    r.territory.as_ref().or(match r.scope.as_deref() {
        Some([only]) => Some(only),
        _ => None,
    })
}

/// `commune.territoire` (R.441-5): a commune's rights lie on its own territory.
fn commune_territory(scenario: &Scenario, shares: &ShareMatrix) -> Vec<Breach> {
    let mut out = Vec::new();
    for (row, r) in scenario.reservataires.iter().enumerate() {
        if r.kind != ReservataireKind::Commune {
            continue;
        }
        let own = own_territory(scenario, row);
        let outside: Vec<usize> = scenario
            .segments
            .iter()
            .enumerate()
            .filter(|(col, s)| shares.get(row, *col) > 0 && Some(&s.commune) != own)
            .map(|(col, _)| col)
            .collect();
        if outside.is_empty() && own.is_some() {
            continue;
        }
        let weight: i128 = outside
            .iter()
            .map(|c| shares.weight(row, *c, scenario.segments[*c].flux))
            .sum();
        let observed = match &r.scope {
            None => "tout le territoire de la convention".to_owned(),
            Some(scope) => scope
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        };
        let limit = own.map_or_else(
            || {
                "territoire non précisé : indiquer le code INSEE de la commune (territory)"
                    .to_owned()
            },
            ToString::to_string,
        );
        out.push(Breach {
            reservataires: vec![r.id.clone()],
            segments: outside
                .iter()
                .map(|c| scenario.segments[*c].id.clone())
                .collect(),
            observed: observed.clone(),
            observed_text: observed,
            limit: limit.clone(),
            limit_text: limit,
            gap: dwellings(weight),
            unit: DWELLINGS,
            scope: String::new(),
        });
    }
    out
}

/// `etat.hors_qpv` (R.441-5-2, warning): the State's rate outside QPV is at least 30 %.
fn state_outside_qpv(scenario: &Scenario, shares: &ShareMatrix, rule: &Rule) -> Vec<Breach> {
    let outside: Vec<bool> = scenario.segments.iter().map(|s| !s.qpv).collect();
    let flux: i128 = scenario
        .segments
        .iter()
        .filter(|s| !s.qpv)
        .map(|s| i128::from(s.flux))
        .sum();
    let state = |r: usize| scenario.reservataires[r].is_state();
    if flux == 0 || !(0..shares.rows).any(state) {
        return Vec::new();
    }
    let held = weight_of(scenario, shares, state, |c| outside[c]);
    let floor = i128::from(limit_units(rule)) * flux;
    if held >= floor {
        return Vec::new();
    }
    let mut breach = percent_breach(
        ratio_percent(held, flux * i128::from(FULL)),
        rule.limit.unwrap_or_default(),
        dwellings(floor - held),
        DWELLINGS,
    );
    breach.reservataires = ids(scenario, state);
    vec![breach]
}

/// `etat.repartition` (R.441-5-2, warning): the State's rate is the same in every commune.
fn state_spread(scenario: &Scenario, shares: &ShareMatrix, rule: &Rule) -> Vec<Breach> {
    let state = |r: usize| scenario.reservataires[r].is_state();
    if !(0..shares.rows).any(state) {
        return Vec::new();
    }
    let rates: Vec<(String, Decimal)> = communes(scenario)
        .into_iter()
        .filter_map(|(commune, cols)| {
            let flux: i128 = cols
                .iter()
                .map(|c| i128::from(scenario.segments[*c].flux))
                .sum();
            (flux > 0).then(|| {
                let held = weight_in(scenario, shares, state, &cols);
                (
                    commune.to_string(),
                    ratio_percent(held, flux * i128::from(FULL)),
                )
            })
        })
        .collect();
    let (Some(min), Some(max)) = (
        rates.iter().min_by_key(|(_, r)| *r),
        rates.iter().max_by_key(|(_, r)| *r),
    ) else {
        return Vec::new();
    };
    let spread = max.1 - min.1;
    let tolerance = rule.limit.unwrap_or_default();
    if spread <= tolerance {
        return Vec::new();
    }
    let observed = format!(
        "de {} % ({}) à {} % ({})",
        french(two_places(min.1).parse().unwrap_or(min.1)),
        min.0,
        french(two_places(max.1).parse().unwrap_or(max.1)),
        max.0
    );
    vec![Breach {
        reservataires: ids(scenario, state),
        segments: Vec::new(),
        observed: format!("{}-{}", two_places(min.1), two_places(max.1)),
        observed_text: observed,
        limit: tolerance.normalize().to_string(),
        limit_text: french(tolerance),
        gap: spread - tolerance,
        unit: "point(s)",
        scope: String::new(),
    }]
}

/// `representativite` (RULES.md §6, warning): in each group of segments for which the scenario
/// gives a réservataire's share of the stock, its share of the flux there stays within the
/// policy's threshold (in points) of it.
fn representativeness(scenario: &Scenario, shares: &ShareMatrix, rule: &Rule) -> Vec<Breach> {
    let threshold = rule.limit.unwrap_or_default();
    let mut out = Vec::new();
    for (row, r) in scenario.reservataires.iter().enumerate() {
        for group in &r.stock {
            let cols: Vec<usize> = (0..scenario.segments.len())
                .filter(|&c| group.contains(&scenario.segments[c]))
                .collect();
            let flux: i128 = cols
                .iter()
                .map(|&c| i128::from(scenario.segments[c].flux))
                .sum();
            if flux == 0 {
                continue;
            }
            let held = weight_in(scenario, shares, |x| x == row, &cols);
            let observed = ratio_percent(held, flux * i128::from(FULL));
            let gap = (observed - group.share).abs() - threshold;
            if gap <= Decimal::ZERO {
                continue;
            }
            let observed = two_places(observed).parse().unwrap_or(observed);
            out.push(Breach {
                reservataires: vec![r.id.clone()],
                segments: Vec::new(),
                observed: observed.normalize().to_string(),
                observed_text: format!(
                    "{} % du flux contre {} % du stock",
                    french(observed),
                    french(group.share)
                ),
                limit: threshold.normalize().to_string(),
                limit_text: french(threshold),
                gap,
                unit: "point(s)",
                scope: group.label(),
            });
        }
    }
    out
}

/// The rows of the flux table as the commitment rules see them: commitments and dwellings.
#[derive(Debug, Clone)]
pub struct TableRow<'a> {
    pub id: &'a str,
    pub commitments: Commitments,
    pub total: u64,
    pub outside_qpv: u64,
    pub in_qpv: u64,
    /// Per territorial objective of the CIA (in the scenario's order), the row's dwellings
    /// there: outside QPV for `q1_hors_qpv`, in QPV for `non_q1_qpv`.
    pub territories: Vec<u64>,
}

/// The objectives the table must reach: the convention's, or the CIA's where the CIA's are
/// higher (a convention looser than its CIA is a `cia.reprise` breach, and still held to the
/// CIA's), never below the policy's floor.
pub fn effective_objectives(scenario: &Scenario) -> crate::flux::scenario::Objectives {
    let mut o = scenario.objectives;
    if let Some(cia) = &scenario.cia {
        o.q1_hors_qpv_min = o.q1_hors_qpv_min.max(cia.objectives.q1_hors_qpv_min);
        o.non_q1_qpv_min = o.non_q1_qpv_min.max(cia.objectives.non_q1_qpv_min);
        o.priority_min = o.priority_min.max(cia.objectives.priority_min);
    }
    o
}

/// `cia.reprise`: each of the convention's objectives at least the CIA's it restates.
pub fn cia_reprise_violations(scenario: &Scenario, policy: &Policy) -> Vec<Violation> {
    let (Some(cia), Some(rule)) = (&scenario.cia, policy.rule("cia.reprise")) else {
        return Vec::new();
    };
    let ours = scenario.objectives;
    let theirs = cia.objectives;
    [
        (
            "premier quartile hors QPV",
            ours.q1_hors_qpv_min,
            theirs.q1_hors_qpv_min,
        ),
        (
            "autres quartiles en QPV",
            ours.non_q1_qpv_min,
            theirs.non_q1_qpv_min,
        ),
        (
            "ménages prioritaires",
            ours.priority_min,
            theirs.priority_min,
        ),
    ]
    .into_iter()
    .filter(|(_, ours, theirs)| ours < theirs)
    .map(|(label, ours, theirs)| {
        let mut breach = percent_breach(ours, theirs, theirs - ours, POINTS);
        breach.scope = label.to_owned();
        violation(rule, breach)
    })
    .collect()
}

/// The territorial rates of the CIA (`cia.q1_hors_qpv`, `cia.non_q1_qpv` on a commune or a
/// QPV): the commitments weighted by the rows' dwellings there, as over the whole EPCI.
fn territorial_violations(
    scenario: &Scenario,
    policy: &Policy,
    rows: &[TableRow<'_>],
) -> Vec<Violation> {
    let Some(cia) = &scenario.cia else {
        return Vec::new();
    };
    let objectives = effective_objectives(scenario);
    let mut out = Vec::new();
    for (k, t) in cia.territorial.iter().enumerate() {
        let outside = t.kind.outside_qpv();
        let (id, wide) = if outside {
            ("cia.q1_hors_qpv", objectives.q1_hors_qpv_min)
        } else {
            ("cia.non_q1_qpv", objectives.non_q1_qpv_min)
        };
        let Some(rule) = policy.rule(id) else {
            continue;
        };
        let target = t.min.max(wide).max(rule.limit.unwrap_or_default());
        let (achieved, dwellings) = rows.iter().fold((Decimal::ZERO, 0u64), |(sum, n), r| {
            let d = r.territories.get(k).copied().unwrap_or(0);
            (sum + commitment_of(r, outside) * Decimal::from(d), n + d)
        });
        if dwellings == 0 {
            continue;
        }
        let total = Decimal::from(dwellings);
        let observed = achieved / total;
        if observed >= target {
            continue;
        }
        let gap = (target * total - achieved) / Decimal::ONE_HUNDRED;
        let mut breach = percent_breach(observed, target, gap, HOUSEHOLDS);
        breach.scope = format!(" — {} (objectif territorialisé de la CIA)", t.name);
        breach.segments = scenario
            .segments
            .iter()
            .filter(|s| t.covers(s))
            .map(|s| s.id.clone())
            .collect();
        breach.reservataires = rows
            .iter()
            .filter(|r| {
                commitment_of(r, outside) < target && r.territories.get(k).is_some_and(|d| *d > 0)
            })
            .map(|r| r.id.to_owned())
            .collect();
        out.push(violation(rule, breach));
    }
    out
}

/// `cia.engagements_bailleur`: the households the CIA assigns to the bailleur for the year
/// against what the convention forecasts — Σ commitment × the rows' dwellings (outside QPV for
/// the first quartile, all of them for DALO households, who come first among the priority
/// households), and the relogements its assiette plans.
fn bailleur_violations(
    scenario: &Scenario,
    policy: &Policy,
    rows: &[TableRow<'_>],
) -> Vec<Violation> {
    let (Some(cia), Some(rule)) = (&scenario.cia, policy.rule("cia.engagements_bailleur")) else {
        return Vec::new();
    };
    let b = cia.bailleur;
    let sum = |f: &dyn Fn(&TableRow<'_>) -> (Decimal, u64)| {
        rows.iter().fold(Decimal::ZERO, |acc, r| {
            let (c, d) = f(r);
            acc + c * Decimal::from(d)
        }) / Decimal::ONE_HUNDRED
    };
    let checks = [
        (
            b.q1_hors_qpv,
            sum(&|r| (r.commitments.q1_hors_qpv, r.outside_qpv)),
            "attributions à des ménages du premier quartile hors QPV",
        ),
        (
            b.dalo,
            sum(&|r| (r.commitments.priority, r.total)),
            "attributions à des ménages reconnus DALO (comptées dans les engagements envers les ménages prioritaires)",
        ),
        (
            b.relogements,
            Decimal::from(b.relogements_prevus.unwrap_or(0)),
            "relogements de ménages au titre du renouvellement urbain (NPRU) ou d'une ORCOD (prévus dans l'assiette)",
        ),
    ];
    checks
        .into_iter()
        .filter_map(|(assigned, forecast, label)| {
            let assigned = Decimal::from(assigned?);
            (forecast < assigned).then(|| {
                let observed = two_places(forecast);
                violation(
                    rule,
                    Breach {
                        reservataires: Vec::new(),
                        segments: Vec::new(),
                        observed_text: french(observed.parse().unwrap_or(forecast)),
                        observed,
                        limit: assigned.to_string(),
                        limit_text: assigned.to_string(),
                        gap: assigned - forecast,
                        unit: HOUSEHOLDS,
                        scope: label.to_owned(),
                    },
                )
            })
        })
        .collect()
}

/// `engagement.prioritaires`, `cia.q1_hors_qpv` and `cia.non_q1_qpv`, on the table's rows.
pub fn commitment_violations(
    scenario: &Scenario,
    policy: &Policy,
    rows: &[TableRow<'_>],
) -> Vec<Violation> {
    let mut out = Vec::new();
    if let Some(rule) = policy.rule("engagement.prioritaires") {
        let minimum = priority_minimum(scenario, rule);
        // A row that receives no dwelling houses nobody: its commitment binds nothing yet (a
        // réservataire that has not proposed a share is not in breach).
        for row in rows
            .iter()
            .filter(|r| r.total > 0 && r.commitments.priority < minimum)
        {
            let gap = (minimum - row.commitments.priority) * Decimal::from(row.total)
                / Decimal::ONE_HUNDRED;
            let mut breach = percent_breach(row.commitments.priority, minimum, gap, HOUSEHOLDS);
            breach.reservataires = vec![row.id.to_owned()];
            out.push(violation(rule, breach));
        }
    }
    let objectives = effective_objectives(scenario);
    let cia = [
        ("cia.q1_hors_qpv", objectives.q1_hors_qpv_min, true),
        ("cia.non_q1_qpv", objectives.non_q1_qpv_min, false),
    ];
    for (id, objective, outside) in cia {
        let Some(rule) = policy.rule(id) else {
            continue;
        };
        let target = objective.max(rule.limit.unwrap_or_default());
        let (achieved, dwellings_total) = weighted_commitment(rows, outside);
        if dwellings_total == 0 {
            continue;
        }
        let total = Decimal::from(dwellings_total);
        let observed = achieved / total;
        if observed >= target {
            continue;
        }
        let gap = (target * total - achieved) / Decimal::ONE_HUNDRED;
        let mut breach = percent_breach(observed, target, gap, HOUSEHOLDS);
        breach.reservataires = rows
            .iter()
            .filter(|r| commitment_of(r, outside) < target && dwellings_of(r, outside) > 0)
            .map(|r| r.id.to_owned())
            .collect();
        out.push(violation(rule, breach));
    }
    out.extend(territorial_violations(scenario, policy, rows));
    out.extend(bailleur_violations(scenario, policy, rows));
    out
}

/// A CIA objective (DESIGN §4.2), as the chart of the Rapport page names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CiaObjective {
    /// Attributions outside QPV to first-quartile households (`cia.q1_hors_qpv`).
    Q1HorsQpv,
    /// Attributions in QPV to households of the other quartiles (`cia.non_q1_qpv`).
    NonQ1Qpv,
    /// Attributions to priority households (`engagement.prioritaires`).
    Priority,
}

/// Where the table's rows stand against one CIA objective: the commitments weighted by the
/// dwellings they apply to, in percent (`None` when no dwelling is concerned), and the target
/// the solver checks them against (the CIA's objective or the policy's limit, the higher).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectiveResult {
    pub objective: CiaObjective,
    pub achieved: Option<Decimal>,
    pub target: Decimal,
}

/// Each CIA objective against its target, figured as [`commitment_violations`] figures them:
/// outside QPV and in QPV, Σ commitment × dwellings / Σ dwellings. The priority minimum binds
/// each row on its own; its line here is the same weighted mean over all the table's dwellings.
pub fn objective_results(
    scenario: &Scenario,
    policy: &Policy,
    rows: &[TableRow<'_>],
) -> Vec<ObjectiveResult> {
    let limit = |id: &str| policy.rule(id).and_then(|r| r.limit).unwrap_or_default();
    let mean =
        |sum: Decimal, dwellings: u64| (dwellings > 0).then(|| sum / Decimal::from(dwellings));
    let mut out = Vec::new();
    let objectives = effective_objectives(scenario);
    for (objective, target, outside) in [
        (
            CiaObjective::Q1HorsQpv,
            objectives.q1_hors_qpv_min.max(limit("cia.q1_hors_qpv")),
            true,
        ),
        (
            CiaObjective::NonQ1Qpv,
            objectives.non_q1_qpv_min.max(limit("cia.non_q1_qpv")),
            false,
        ),
    ] {
        let (sum, dwellings) = weighted_commitment(rows, outside);
        out.push(ObjectiveResult {
            objective,
            achieved: mean(sum, dwellings),
            target,
        });
    }
    let (sum, dwellings) = rows.iter().fold((Decimal::ZERO, 0u64), |(sum, n), r| {
        (
            sum + r.commitments.priority * Decimal::from(r.total),
            n + r.total,
        )
    });
    out.push(ObjectiveResult {
        objective: CiaObjective::Priority,
        achieved: mean(sum, dwellings),
        target: objectives
            .priority_min
            .max(limit("engagement.prioritaires")),
    });
    out
}

/// The effective priority minimum: the policy's, or the CIA's when it is higher.
pub fn priority_minimum(scenario: &Scenario, rule: &Rule) -> Decimal {
    rule.limit
        .unwrap_or_default()
        .max(effective_objectives(scenario).priority_min)
}

pub fn commitment_of(row: &TableRow<'_>, outside: bool) -> Decimal {
    if outside {
        row.commitments.q1_hors_qpv
    } else {
        row.commitments.non_q1_qpv
    }
}

pub fn dwellings_of(row: &TableRow<'_>, outside: bool) -> u64 {
    if outside { row.outside_qpv } else { row.in_qpv }
}

/// Σ commitment × dwellings (in % × dwellings) and Σ dwellings, outside or inside QPV.
pub fn weighted_commitment(rows: &[TableRow<'_>], outside: bool) -> (Decimal, u64) {
    rows.iter().fold((Decimal::ZERO, 0), |(sum, n), r| {
        let d = dwellings_of(r, outside);
        (sum + commitment_of(r, outside) * Decimal::from(d), n + d)
    })
}
