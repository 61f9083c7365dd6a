//! The solver (DESIGN §4.2–4.4): checks the policy's rules on the proposals, builds the integer
//! flux table, and proposes a compromise when blocking rules fail.

pub mod compromise;
pub mod report;
pub mod rules;
pub mod shares;
pub mod stored;
pub mod table;

use crate::flux::cancel::{Cancel, Cancelled};
use crate::flux::scenario::{Commitments, Scenario};
use crate::policy::rules::{Policy, Severity};
use compromise::{adjust_commitments, adjust_shares, share_changes};
use report::{Compromise, Report, Summary, TableBasis, Violation};
use rules::{TableRow, cia_reprise_violations, commitment_violations, share_violations};
use shares::ShareMatrix;
use table::{NON_RESERVE, Table, flux_table};

/// Runs the whole computation. Always returns a report: breaches, an impossible table or an
/// impossible compromise are part of it.
pub fn solve(scenario: &Scenario, policy: &Policy) -> Report {
    match solve_until(scenario, policy, &Cancel::default()) {
        Ok(report) => report,
        Err(Cancelled) => unreachable!("a flag that nobody holds is never raised"),
    }
}

/// [`solve`], given up as soon as `cancel` is raised (between the steps, and inside the flux
/// table's apportionment).
///
/// # Errors
/// [`Cancelled`] when the flag was raised before the report was complete.
pub fn solve_until(
    scenario: &Scenario,
    policy: &Policy,
    cancel: &Cancel,
) -> Result<Report, Cancelled> {
    cancel.check()?;
    let proposals = ShareMatrix::proposals(scenario);
    cancel.check()?;
    let mut violations = share_violations(scenario, policy, &proposals);
    let shares_blocked = has_blocking(&violations);
    // Objectives looser than the CIA's are the secretariat's to correct: no change of shares
    // or commitments can mend them, so no compromise is offered while they stand.
    let reprise = cia_reprise_violations(scenario, policy);
    let reprise_blocks = has_blocking(&reprise);
    violations.extend(reprise);
    cancel.check()?;
    let adjusted = shares_blocked.then(|| adjust_shares(scenario, policy, &proposals));
    cancel.check()?;
    let mut compromise_impossible = adjusted
        .as_ref()
        .filter(|a| !a.impossible.is_empty())
        .map(|a| a.impossible.join(" ; "));
    if reprise_blocks {
        let reprise = "les objectifs de la convention sont moins exigeants que ceux de la CIA qu'elle reprend (cia.reprise) : aucun ajustement des parts ni des engagements n'y remédie, le secrétariat doit reprendre au moins les objectifs de la CIA".to_owned();
        compromise_impossible = Some(match compromise_impossible {
            Some(other) => format!("{other} ; {reprise}"),
            None => reprise,
        });
    }
    let (table_shares, based_on) = match &adjusted {
        Some(a) if a.impossible.is_empty() => (&a.shares, TableBasis::Compromise),
        _ => (&proposals, TableBasis::Proposals),
    };
    let (table, table_error) = match flux_table(scenario, table_shares, based_on, cancel) {
        Ok(table) => (Some(table), None),
        Err(error) => (None, Some(error)),
    };
    // A table given up half-way is no table error: the whole report is dropped.
    cancel.check()?;
    let commitments: Vec<Commitments> = scenario
        .reservataires
        .iter()
        .map(|r| r.commitments)
        .chain(std::iter::once(scenario.non_reserve))
        .collect();
    let mut compromise = None;
    if let Some(table) = &table {
        let rows = table_rows(scenario, table, &commitments);
        violations.extend(commitment_violations(scenario, policy, &rows));
        if has_blocking(&violations) && compromise_impossible.is_none() {
            let mut steps = adjusted
                .as_ref()
                .map(|a| a.steps.clone())
                .unwrap_or_default();
            let (_, commitment_changes) = adjust_commitments(scenario, policy, &rows, &mut steps);
            let share_changes = adjusted
                .as_ref()
                .map(|a| share_changes(scenario, &proposals, &a.shares))
                .unwrap_or_default();
            compromise = Some(Compromise {
                shares: share_changes,
                commitments: commitment_changes,
                explanation: steps,
            });
        }
    } else if has_blocking(&violations) && compromise_impossible.is_none() {
        compromise_impossible = table_error.clone();
    }
    let blocking = violations
        .iter()
        .filter(|v| v.severity == Severity::Bloquant)
        .count();
    Ok(Report {
        schema: 1,
        year: scenario.year,
        policy: policy.id.clone(),
        policy_digest: policy.digest(),
        summary: Summary {
            blocking,
            warnings: violations.len() - blocking,
            total_flux: scenario.total_flux(),
        },
        violations,
        compromise,
        compromise_impossible,
        table: table.map(|t| t.report),
        table_error,
    })
}

fn has_blocking(violations: &[Violation]) -> bool {
    violations.iter().any(|v| v.severity == Severity::Bloquant)
}

fn table_rows<'a>(
    scenario: &'a Scenario,
    table: &Table,
    commitments: &[Commitments],
) -> Vec<TableRow<'a>> {
    table
        .row_figures
        .iter()
        .enumerate()
        .map(|(row, (total, outside, inside))| TableRow {
            id: scenario
                .reservataires
                .get(row)
                .map_or(NON_RESERVE, |r| r.id.as_str()),
            commitments: commitments[row],
            total: *total,
            outside_qpv: *outside,
            in_qpv: *inside,
            territories: territories(scenario, &table.report.cells[row]),
        })
        .collect()
}

/// A row's dwellings on each territory where the CIA sets its own rate.
pub fn territories(scenario: &Scenario, cells: &[u64]) -> Vec<u64> {
    scenario.cia.as_ref().map_or_else(Vec::new, |cia| {
        cia.territorial
            .iter()
            .map(|t| {
                cells
                    .iter()
                    .zip(&scenario.segments)
                    .filter(|(_, s)| t.covers(s))
                    .map(|(d, _)| *d)
                    .sum()
            })
            .collect()
    })
}

#[cfg(test)]
mod tests;
