//! The experiment eligibility of an EPCI on a date.

use chrono::NaiveDate;

use super::ServiceError;
use crate::domain::eligibility::check_eligibility;
use crate::domain::{Eligibility, ExperimentWindow, Siren};
use crate::store::Repository;

#[tracing::instrument(skip_all, fields(epci = %siren, %date))]
pub async fn epci_eligibility(
    store: &dyn Repository,
    siren: &Siren,
    window: &ExperimentWindow,
    date: NaiveDate,
) -> Result<Eligibility, ServiceError> {
    let facts = store.epci_facts(siren).await?.ok_or_else(|| {
        ServiceError::NotFound(format!(
            "aucun EPCI de SIREN {siren} n'est connu de la plateforme : importez-le d'abord (fichier epci)"
        ))
    })?;
    Ok(check_eligibility(&facts, window, date))
}
