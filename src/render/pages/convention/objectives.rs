//! The CIA objectives of a version against their targets (issue 16 item 5), for the Rapport
//! page: the version's commitments weighted by the dwellings of its flux table, as the solver
//! weighs them when it checks the objectives.

use std::collections::HashMap;

use crate::flux::row::NON_RESERVE;
use crate::flux::scenario::{RawScenario, Scenario};
use crate::flux::solver::rules::{CiaObjective, TableRow, objective_results};
use crate::flux::solver::stored::StoredReport;
use crate::policy::rules::Policy;
use crate::render::charts::{Chart, ObjectiveProgress, objectives};

/// The objective in the words of the CIA.
pub fn objective_label(objective: CiaObjective) -> &'static str {
    match objective {
        CiaObjective::Q1HorsQpv => "Hors QPV, attributions au premier quartile",
        CiaObjective::NonQ1Qpv => "En QPV, attributions aux autres quartiles",
        CiaObjective::Priority => "Attributions aux ménages prioritaires",
    }
}

/// The chart of each CIA objective against its target; `None` when the version has no flux
/// table (nothing is weighted yet) or its scenario cannot be read.
pub fn objectives_chart(
    scenario: &RawScenario,
    report: &StoredReport,
    policy: &Policy,
) -> Option<Chart> {
    let table = report.table.as_ref()?;
    let scenario = match Scenario::from_raw(scenario.clone()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(cause = %e.in_words(), "scénario de la version illisible");
            return None;
        }
    };
    let qpv: HashMap<&str, bool> = scenario
        .segments
        .iter()
        .map(|s| (s.id.as_str(), s.qpv))
        .collect();
    let rows: Vec<TableRow<'_>> = table
        .rows
        .iter()
        .enumerate()
        .filter_map(|(i, row)| {
            let commitments = if row.id == NON_RESERVE {
                scenario.non_reserve
            } else {
                scenario
                    .reservataires
                    .iter()
                    .find(|r| r.id == row.id)?
                    .commitments
            };
            let (mut outside_qpv, mut in_qpv) = (0, 0);
            for (j, column) in table.columns.iter().enumerate() {
                let cell = table.cells.get(i).and_then(|r| r.get(j)).copied();
                match (qpv.get(column.id.as_str()), cell) {
                    (Some(true), Some(n)) => in_qpv += n,
                    (Some(false), Some(n)) => outside_qpv += n,
                    _ => {}
                }
            }
            Some(TableRow {
                id: row.id.as_str(),
                commitments,
                total: row.total,
                outside_qpv,
                in_qpv,
                // The chart shows the objectives over the whole EPCI.
                territories: Vec::new(),
            })
        })
        .collect();
    let progress: Vec<ObjectiveProgress> = objective_results(&scenario, policy, &rows)
        .into_iter()
        .filter_map(|r| {
            Some(ObjectiveProgress {
                label: objective_label(r.objective).to_owned(),
                value: r.achieved?,
                target: r.target,
            })
        })
        .collect();
    Some(objectives("objectifs-cia", &progress))
}
