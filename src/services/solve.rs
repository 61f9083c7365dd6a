//! Solving a scenario (DESIGN §4.4): parse and check it, load its policy, run the solver.

use std::path::Path;

use super::ServiceError;
use crate::flux::cancel::Cancel;
use crate::flux::scenario::Scenario;
use crate::flux::solver::report::Report;
use crate::flux::solver::solve_until;
use crate::policy::rules::Policy;

/// The report for the scenario `text`, with the checked scenario (for names in summaries).
#[tracing::instrument(skip_all)]
pub fn solve_scenario(text: &str, policies_dir: &Path) -> Result<(Scenario, Report), ServiceError> {
    solve_scenario_until(text, policies_dir, &Cancel::default())
}

/// [`solve_scenario`], given up once `cancel` is raised (the request that asked for it is gone).
#[tracing::instrument(skip_all)]
pub fn solve_scenario_until(
    text: &str,
    policies_dir: &Path,
    cancel: &Cancel,
) -> Result<(Scenario, Report), ServiceError> {
    let scenario = Scenario::from_json(text).map_err(|e| ServiceError::Invalid(e.to_string()))?;
    let policy = Policy::load(policies_dir, &scenario.policy).map_err(|e| {
        ServiceError::Invalid(format!("champ policy : « {} » : {e}", scenario.policy))
    })?;
    let report = solve_until(&scenario, &policy, cancel)
        .map_err(|e| ServiceError::Conflict(e.to_string()))?;
    Ok((scenario, report))
}
