//! `policies/experiment.toml`: the experiment's time frame (RULES.md §5).

use std::path::Path;

use chrono::NaiveDate;
use serde::Deserialize;

use super::{PolicyError, read_policy_text, toml_error_message};
use crate::domain::ExperimentWindow;

const FILE: &str = "experiment.toml";
const EMBEDDED: &str = include_str!("../../policies/experiment.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExperimentFile {
    experiment: ExperimentSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExperimentSection {
    publication_date: String,
    duration_years: u32,
    report_months_before_end: u32,
    reference: String,
}

/// The experiment policy as loaded and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExperimentPolicy {
    pub publication_date: Option<NaiveDate>,
    pub duration_years: u32,
    pub report_months_before_end: u32,
    pub reference: String,
}

impl ExperimentPolicy {
    /// Loads `experiment.toml` from `dir` (or the embedded copy).
    pub fn load(dir: &Path) -> Result<Self, PolicyError> {
        let (file, text) = read_policy_text(dir, FILE, EMBEDDED)?;
        Self::parse(&text).map_err(|message| PolicyError::Invalid { file, message })
    }

    /// Parses and validates the text of the policy; the error names the faulty key.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: ExperimentFile = toml::from_str(text).map_err(|e| toml_error_message(&e))?;
        let section = file.experiment;
        let publication_date = match section.publication_date.trim() {
            "" => None,
            value => Some(NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
                format!(
                    "experiment.publication_date : « {value} » n'est pas une date AAAA-MM-JJ (laisser vide si elle n'est pas connue)"
                )
            })?),
        };
        if !(1..=20).contains(&section.duration_years) {
            return Err(format!(
                "experiment.duration_years : {} n'est pas une durée plausible (de 1 à 20 ans)",
                section.duration_years
            ));
        }
        if section.report_months_before_end >= section.duration_years * 12 {
            return Err(format!(
                "experiment.report_months_before_end : {} mois dépasse la durée de l'expérimentation",
                section.report_months_before_end
            ));
        }
        if section.reference.trim().is_empty() {
            return Err("experiment.reference : la référence du texte est obligatoire".into());
        }
        Ok(Self {
            publication_date,
            duration_years: section.duration_years,
            report_months_before_end: section.report_months_before_end,
            reference: section.reference,
        })
    }

    /// The window in force, where the operator's setting (if any) overrides the file's date.
    pub fn window(&self, operator_date: Option<NaiveDate>, illustrative: bool) -> ExperimentWindow {
        ExperimentWindow {
            publication_date: operator_date.or(self.publication_date),
            duration_years: self.duration_years,
            report_months_before_end: self.report_months_before_end,
            illustrative,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_policy_is_valid_and_has_no_date() {
        let policy = ExperimentPolicy::parse(EMBEDDED).unwrap();
        assert_eq!(policy.publication_date, None);
        assert_eq!(policy.duration_years, 5);
        assert_eq!(policy.report_months_before_end, 6);
    }

    #[test]
    fn errors_name_the_key() {
        let bad_date = EMBEDDED.replace(
            "publication_date = \"\"",
            "publication_date = \"2026-13-01\"",
        );
        assert!(
            ExperimentPolicy::parse(&bad_date)
                .unwrap_err()
                .contains("experiment.publication_date")
        );
        let unknown = format!("{EMBEDDED}\nextra = 1\n");
        assert!(
            ExperimentPolicy::parse(&unknown)
                .unwrap_err()
                .contains("clé inconnue")
        );
        let too_long = EMBEDDED.replace(
            "report_months_before_end = 6",
            "report_months_before_end = 60",
        );
        assert!(
            ExperimentPolicy::parse(&too_long)
                .unwrap_err()
                .contains("report_months_before_end")
        );
        let missing = EMBEDDED.replace("duration_years = 5", "");
        assert!(
            ExperimentPolicy::parse(&missing)
                .unwrap_err()
                .contains("duration_years")
        );
    }

    #[test]
    fn the_operator_date_overrides_the_file() {
        let policy = ExperimentPolicy::parse(EMBEDDED).unwrap();
        let date = NaiveDate::from_ymd_opt(2026, 1, 1);
        let window = policy.window(date, true);
        assert_eq!(window.publication_date, date);
        assert!(window.illustrative);
    }
}
