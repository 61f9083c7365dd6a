//! The compromise: when blocking rules fail, a deterministic adjustment that satisfies them
//! while keeping the proposals' structure. The method, step by step (each step only lowers
//! shares, so a cap met by an earlier step stays met):
//!
//! 1. a commune's shares outside its own territory are set to zero (`commune.territoire`);
//! 2. the civil-servant contingent is scaled down in proportion to its 5 % cap;
//! 3. the State's shares (both contingents) are scaled down in proportion to the 30 % cap;
//! 4. in each commune over the 20 % cap, the loan-guarantee shares of communes and EPCI are
//!    scaled down in proportion, in that commune's segments only;
//! 5. in each segment over 100 %, every share is scaled down in proportion;
//! 6. priority commitments below the minimum are raised to it;
//! 7. when a CIA objective is missed, every row's commitment c is raised to c + t × (100 − c),
//!    with the same t for all rows, the smallest that meets the objective (rounded up to
//!    0.01 point).
//!
//! Scaled shares are truncated to the 4th decimal, so that the cap is met, never exceeded.

use rust_decimal::{Decimal, RoundingStrategy};

use super::report::{CommitmentChange, CommitmentKind, ShareChange, french, two_places};
use super::rules::{
    TableRow, commitment_of, communes, effective_objectives, is_guarantee, own_territory,
    priority_minimum, weighted_commitment,
};
use super::shares::{FULL, ShareMatrix, percent, units};
use crate::domain::ReservataireKind;
use crate::flux::row::RowId;
use crate::flux::scenario::{Commitments, Scenario};
use crate::policy::rules::{Policy, Severity};

/// Shares adjusted by steps 1–5.
pub struct ShareCompromise {
    pub shares: ShareMatrix,
    pub steps: Vec<String>,
    /// Blocking breaches that no share adjustment can cure.
    pub impossible: Vec<String>,
}

fn blocking(scenario: &Scenario, policy: &Policy, id: &str) -> Option<Decimal> {
    let rule = policy.rule(id)?;
    (rule.severity == Severity::Bloquant && !scenario.stipulations.iter().any(|s| s == id))
        .then(|| rule.limit.unwrap_or_default())
}

/// `u × num / den`, rounded down.
fn scaled(u: i64, num: i128, den: i128) -> i64 {
    if den == 0 {
        return 0;
    }
    i64::try_from(i128::from(u) * num / den).unwrap_or(0)
}

fn weight(scenario: &Scenario, shares: &ShareMatrix, rows: &[usize], cols: &[usize]) -> i128 {
    rows.iter()
        .flat_map(|r| cols.iter().map(move |c| (*r, *c)))
        .map(|(r, c)| shares.weight(r, c, scenario.segments[c].flux))
        .sum()
}

/// Scales the cells of `rows` × `cols` so that their weight is at most `limit` % of `flux`.
fn cap(
    scenario: &Scenario,
    shares: &mut ShareMatrix,
    rows: &[usize],
    cols: &[usize],
    limit: Decimal,
) -> Option<Decimal> {
    let flux: i128 = cols
        .iter()
        .map(|c| i128::from(scenario.segments[*c].flux))
        .sum();
    let allowed = i128::from(units(limit)) * flux;
    let held = weight(scenario, shares, rows, cols);
    if held <= allowed {
        return None;
    }
    for r in rows {
        for c in cols {
            let value = scaled(shares.get(*r, *c), allowed, held);
            shares.set(*r, *c, value);
        }
    }
    Some(Decimal::from_i128_with_scale(allowed, 0) / Decimal::from_i128_with_scale(held, 0))
}

fn factor_text(factor: Decimal) -> String {
    french(factor.round_dp_with_strategy(4, RoundingStrategy::ToZero))
}

/// Steps 1 to 5.
pub fn adjust_shares(
    scenario: &Scenario,
    policy: &Policy,
    proposals: &ShareMatrix,
) -> ShareCompromise {
    let mut shares = proposals.clone();
    let mut steps = Vec::new();
    let mut impossible = Vec::new();
    let all_cols: Vec<usize> = (0..scenario.segments.len()).collect();
    let row_count = shares.rows;
    let rows_where = |keep: &dyn Fn(usize) -> bool| -> Vec<usize> {
        (0..row_count).filter(|r| keep(*r)).collect()
    };

    if blocking(scenario, policy, "perimetre.epci").is_some() {
        let outside: Vec<&str> = scenario
            .segments
            .iter()
            .filter(|s| !scenario.epci_communes.contains(&s.commune))
            .map(|s| s.id.as_str())
            .collect();
        if !outside.is_empty() {
            impossible.push(format!(
                "les segments {} sont hors du territoire de l'EPCI : ils doivent être retirés de l'assiette, ce qu'aucun ajustement des parts ne peut faire",
                outside.join(", ")
            ));
        }
    }
    if blocking(scenario, policy, "commune.territoire").is_some() {
        for (row, r) in scenario.reservataires.iter().enumerate() {
            if r.kind != ReservataireKind::Commune {
                continue;
            }
            match own_territory(scenario, row) {
                Some(own) => {
                    let mut changed = false;
                    for (col, s) in scenario.segments.iter().enumerate() {
                        if &s.commune != own && shares.get(row, col) > 0 {
                            shares.set(row, col, 0);
                            changed = true;
                        }
                    }
                    if changed {
                        steps.push(format!(
                            "Les parts de {} hors de son territoire ({own}) sont ramenées à 0 (R.441-5).",
                            r.id
                        ));
                    }
                }
                None => impossible.push(format!(
                    "le territoire de la commune réservataire {} n'est pas précisé (champ territory) : ses droits ne peuvent pas être ramenés sur son territoire",
                    r.id
                )),
            }
        }
    }
    if let Some(limit) = blocking(scenario, policy, "etat.fonctionnaires") {
        let rows =
            rows_where(&|r| scenario.reservataires[r].kind == ReservataireKind::EtatFonctionnaires);
        if let Some(factor) = cap(scenario, &mut shares, &rows, &all_cols, limit) {
            steps.push(format!(
                "Les parts du contingent des agents de l'État sont multipliées par {} pour respecter le plafond de {} % (R.441-5-2).",
                factor_text(factor),
                french(limit)
            ));
        }
    }
    if let Some(limit) = blocking(scenario, policy, "etat.plafond") {
        let rows = rows_where(&|r| scenario.reservataires[r].is_state());
        if let Some(factor) = cap(scenario, &mut shares, &rows, &all_cols, limit) {
            steps.push(format!(
                "Les parts de l'État sont multipliées par {} pour respecter le plafond de {} % du flux (R.441-5-2).",
                factor_text(factor),
                french(limit)
            ));
        }
    }
    if let Some(limit) = blocking(scenario, policy, "collectivite.garantie") {
        let rows = rows_where(&|r| is_guarantee(scenario, r));
        for (commune, cols) in communes(scenario) {
            if let Some(factor) = cap(scenario, &mut shares, &rows, &cols, limit) {
                steps.push(format!(
                    "Dans la commune {commune}, les parts des communes et EPCI garants d'emprunts sont multipliées par {} pour respecter le plafond de {} % (R.441-5-2).",
                    factor_text(factor),
                    french(limit)
                ));
            }
        }
    }
    if blocking(scenario, policy, "segment.total").is_some() {
        let mut over = Vec::new();
        for col in 0..shares.cols {
            let total = shares.column_units(col);
            if total > FULL {
                for row in 0..shares.rows {
                    let value = scaled(shares.get(row, col), i128::from(FULL), i128::from(total));
                    shares.set(row, col, value);
                }
                over.push(scenario.segments[col].id.as_str());
            }
        }
        if !over.is_empty() {
            steps.push(format!(
                "Dans les segments {}, toutes les parts sont réduites en proportion pour ne pas dépasser 100 %.",
                over.join(", ")
            ));
        }
    }
    ShareCompromise {
        shares,
        steps,
        impossible,
    }
}

/// The share cells that the compromise changed.
pub fn share_changes(
    scenario: &Scenario,
    proposals: &ShareMatrix,
    compromise: &ShareMatrix,
) -> Vec<ShareChange> {
    let mut out = Vec::new();
    for (row, r) in scenario.reservataires.iter().enumerate() {
        for (col, s) in scenario.segments.iter().enumerate() {
            let (before, after) = (proposals.get(row, col), compromise.get(row, col));
            if before != after {
                out.push(ShareChange {
                    reservataire: r.id.clone(),
                    segment: s.id.clone(),
                    proposed: percent(before).to_string(),
                    compromise: percent(after).to_string(),
                });
            }
        }
    }
    out
}

/// Steps 6 and 7, on the rows of the table; returns the new commitments of each row.
pub fn adjust_commitments(
    scenario: &Scenario,
    policy: &Policy,
    rows: &[TableRow<'_>],
    steps: &mut Vec<String>,
) -> (Vec<Commitments>, Vec<CommitmentChange>) {
    let mut new: Vec<Commitments> = rows.iter().map(|r| r.commitments).collect();
    let mut changes = Vec::new();
    if blocking(scenario, policy, "engagement.prioritaires").is_some()
        && let Some(rule) = policy.rule("engagement.prioritaires")
    {
        let minimum = priority_minimum(scenario, rule);
        let raised: Vec<&str> = rows
            .iter()
            .zip(new.iter_mut())
            .filter(|(_, c)| c.priority < minimum)
            .map(|(row, c)| {
                changes.push(CommitmentChange {
                    reservataire: RowId::parse(row.id),
                    commitment: CommitmentKind::Priority,
                    proposed: two_places(c.priority),
                    compromise: two_places(minimum),
                });
                c.priority = minimum;
                row.id
            })
            .collect();
        if !raised.is_empty() {
            steps.push(format!(
                    "Les engagements envers les ménages prioritaires de {} sont portés au minimum de {} % (L.441-1).",
                    raised.join(", "),
                    french(minimum)
                ));
        }
    }
    let objectives = effective_objectives(scenario);
    let cia = [
        (
            "cia.q1_hors_qpv",
            objectives.q1_hors_qpv_min,
            true,
            CommitmentKind::Q1HorsQpv,
        ),
        (
            "cia.non_q1_qpv",
            objectives.non_q1_qpv_min,
            false,
            CommitmentKind::NonQ1Qpv,
        ),
    ];
    for (id, objective, outside, field) in cia {
        let Some(floor) = blocking(scenario, policy, id) else {
            continue;
        };
        // The EPCI's objective and each territorial rate of the same kind: raising every
        // commitment c to c + t × (100 − c) raises each weighted mean m to m + t × (100 − m),
        // so the largest t needed anywhere meets them all.
        let target = objective.max(floor);
        let mut needs = vec![(target, weighted_commitment(rows, outside), None)];
        if let Some(cia) = &scenario.cia {
            for (k, territory) in cia.territorial.iter().enumerate() {
                if territory.kind.outside_qpv() != outside {
                    continue;
                }
                let figures = rows.iter().fold((Decimal::ZERO, 0u64), |(sum, n), r| {
                    let d = r.territories.get(k).copied().unwrap_or(0);
                    (sum + commitment_of(r, outside) * Decimal::from(d), n + d)
                });
                needs.push((
                    territory.min.max(target),
                    figures,
                    Some(territory.name.as_str()),
                ));
            }
        }
        let mut t = Decimal::ZERO;
        let mut worst = None;
        for (target, (sum, dwellings), name) in needs {
            if dwellings == 0 {
                continue;
            }
            let average = sum / Decimal::from(dwellings);
            if average >= target || average >= Decimal::ONE_HUNDRED {
                continue;
            }
            let needed = (target - average) / (Decimal::ONE_HUNDRED - average);
            if needed > t {
                t = needed;
                worst = Some((target, average, name));
            }
        }
        let Some((target, average, territory)) = worst else {
            continue;
        };
        for (row, c) in rows.iter().zip(new.iter_mut()) {
            let before = commitment_of(row, outside);
            let after = (before + t * (Decimal::ONE_HUNDRED - before))
                .round_dp_with_strategy(2, RoundingStrategy::AwayFromZero)
                .min(Decimal::ONE_HUNDRED);
            if after != before {
                changes.push(CommitmentChange {
                    reservataire: RowId::parse(row.id),
                    commitment: field,
                    proposed: two_places(before),
                    compromise: two_places(after),
                });
                if outside {
                    c.q1_hors_qpv = after;
                } else {
                    c.non_q1_qpv = after;
                }
            }
        }
        let place = territory.map_or_else(String::new, |n| format!(" sur le territoire {n}"));
        steps.push(format!(
            "L'objectif {id}{place} ({} %) n'étant pas atteint ({} %), chaque engagement c est porté à c + {} × (100 − c), arrondi au centième supérieur.",
            french(target),
            french(two_places(average).parse().unwrap_or(average)),
            french(t.round_dp_with_strategy(6, RoundingStrategy::AwayFromZero))
        ));
    }
    (new, changes)
}
