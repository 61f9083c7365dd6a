//! Whether the CIL of an EPCI may initiate the single flux convention (RULES.md §5): the EPCI
//! must have a PLH obligation or the habitat competence, at least one QPV and a concluded CIA,
//! and the date must fall inside the five-year experiment.

use chrono::{Months, NaiveDate};
use serde::Serialize;

use super::Epci;

/// What the eligibility check needs to know about an EPCI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpciFacts {
    pub epci: Epci,
    pub qpv_count: usize,
}

/// The experiment's time frame, from `policies/experiment.toml` and the operator's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExperimentWindow {
    /// Publication of the law carrying the experiment; `None` while no date is set.
    pub publication_date: Option<NaiveDate>,
    pub duration_years: u32,
    pub report_months_before_end: u32,
    /// The date is an illustration (demo), not an established publication.
    pub illustrative: bool,
}

impl ExperimentWindow {
    /// First day after the experiment.
    pub fn end(&self) -> Option<NaiveDate> {
        self.publication_date?
            .checked_add_months(Months::new(12 * self.duration_years))
    }

    /// Last day to send the evaluation report to Parliament.
    pub fn report_deadline(&self) -> Option<NaiveDate> {
        self.end()?
            .checked_sub_months(Months::new(self.report_months_before_end))
    }
}

/// One condition of eligibility, met or not, with its explanation in French.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Condition {
    /// Stable identifier (`plh_ou_competence`, `qpv`, `cia`, `periode`).
    pub code: &'static str,
    pub met: bool,
    pub explanation: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Eligibility {
    pub epci_siren: String,
    pub epci_name: String,
    pub date: NaiveDate,
    pub eligible: bool,
    pub conditions: Vec<Condition>,
    pub experiment_end: Option<NaiveDate>,
    pub report_deadline: Option<NaiveDate>,
}

/// French day-month-year, as users read dates.
pub fn french_date(date: NaiveDate) -> String {
    date.format("%d/%m/%Y").to_string()
}

/// Checks every condition on `date`; all are evaluated, so the user sees everything to fix.
pub fn check_eligibility(
    facts: &EpciFacts,
    window: &ExperimentWindow,
    date: NaiveDate,
) -> Eligibility {
    let epci = &facts.epci;
    let conditions = vec![
        plh_or_competence(epci),
        qpv_condition(facts.qpv_count),
        cia_condition(epci, date),
        window_condition(window, date),
    ];
    Eligibility {
        epci_siren: epci.siren.to_string(),
        epci_name: epci.name.clone(),
        date,
        eligible: conditions.iter().all(|c| c.met),
        conditions,
        experiment_end: window.end(),
        report_deadline: window.report_deadline(),
    }
}

fn plh_or_competence(epci: &Epci) -> Condition {
    let met = epci.plh_required || epci.housing_competent;
    let explanation = match (epci.plh_required, epci.housing_competent) {
        (true, true) => "L'EPCI est tenu de se doter d'un programme local de l'habitat et est compétent en matière d'habitat.".to_owned(),
        (true, false) => "L'EPCI est tenu de se doter d'un programme local de l'habitat.".to_owned(),
        (false, true) => "L'EPCI est compétent en matière d'habitat.".to_owned(),
        (false, false) => "L'EPCI n'est ni tenu de se doter d'un programme local de l'habitat, ni compétent en matière d'habitat : l'une de ces deux conditions est requise.".to_owned(),
    };
    Condition {
        code: "plh_ou_competence",
        met,
        explanation,
    }
}

fn qpv_condition(qpv_count: usize) -> Condition {
    let explanation = match qpv_count {
        0 => "Aucun quartier prioritaire de la politique de la ville (QPV) n'est enregistré sur le territoire de l'EPCI : au moins un est requis.".to_owned(),
        1 => "Le territoire de l'EPCI compte 1 quartier prioritaire de la politique de la ville (QPV).".to_owned(),
        n => format!("Le territoire de l'EPCI compte {n} quartiers prioritaires de la politique de la ville (QPV)."),
    };
    Condition {
        code: "qpv",
        met: qpv_count > 0,
        explanation,
    }
}

fn cia_condition(epci: &Epci, date: NaiveDate) -> Condition {
    let (met, explanation) = match epci.cia_concluded_on {
        Some(concluded) if concluded <= date => (
            true,
            format!(
                "La convention intercommunale d'attribution (CIA) a été conclue le {}.",
                french_date(concluded)
            ),
        ),
        Some(concluded) => (
            false,
            format!(
                "La convention intercommunale d'attribution (CIA) n'est conclue qu'à compter du {} : elle doit l'être à la date examinée.",
                french_date(concluded)
            ),
        ),
        None => (
            false,
            "Aucune convention intercommunale d'attribution (CIA) conclue n'est enregistrée : elle est requise.".to_owned(),
        ),
    };
    Condition {
        code: "cia",
        met,
        explanation,
    }
}

fn window_condition(window: &ExperimentWindow, date: NaiveDate) -> Condition {
    let caveat = if window.illustrative {
        " (date de publication illustrative, fixée pour la démonstration : aucune loi publiée portant l'expérimentation n'est établie)"
    } else {
        ""
    };
    let (met, explanation) = match (window.publication_date, window.end()) {
        (Some(start), Some(_)) if date < start => (
            false,
            format!(
                "L'expérimentation ne commence que le {}{caveat}.",
                french_date(start)
            ),
        ),
        (Some(start), Some(end_day)) if date >= end_day => (
            false,
            format!(
                "L'expérimentation, ouverte le {}{caveat} pour {} ans, a pris fin le {}.",
                french_date(start),
                window.duration_years,
                french_date(end_day.pred_opt().unwrap_or(end_day))
            ),
        ),
        (Some(start), Some(end_day)) => (
            true,
            format!(
                "La date examinée est dans la période d'expérimentation de {} ans ouverte le {}{caveat}, jusqu'au {} inclus.",
                window.duration_years,
                french_date(start),
                french_date(end_day.pred_opt().unwrap_or(end_day))
            ),
        ),
        _ => (
            false,
            "La date de publication de la loi portant l'expérimentation n'est pas renseignée (réglage de l'exploitant, voir policies/experiment.toml) : la période d'expérimentation ne peut pas être vérifiée.".to_owned(),
        ),
    };
    Condition {
        code: "periode",
        met,
        explanation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn facts(plh: bool, competent: bool, qpv: usize, cia: Option<NaiveDate>) -> EpciFacts {
        EpciFacts {
            epci: Epci {
                siren: "200046977".parse().unwrap(),
                name: "Métropole de Lyon".into(),
                plh_required: plh,
                housing_competent: competent,
                cia_concluded_on: cia,
            },
            qpv_count: qpv,
        }
    }

    fn window(start: Option<NaiveDate>) -> ExperimentWindow {
        ExperimentWindow {
            publication_date: start,
            duration_years: 5,
            report_months_before_end: 6,
            illustrative: false,
        }
    }

    fn met(e: &Eligibility, code: &str) -> bool {
        e.conditions.iter().find(|c| c.code == code).unwrap().met
    }

    #[test]
    fn an_epci_meeting_every_condition_is_eligible() {
        let e = check_eligibility(
            &facts(true, false, 3, Some(day(2020, 1, 15))),
            &window(Some(day(2026, 1, 1))),
            day(2027, 6, 1),
        );
        assert!(e.eligible, "{e:#?}");
        assert_eq!(e.experiment_end, Some(day(2031, 1, 1)));
        assert_eq!(e.report_deadline, Some(day(2030, 7, 1)));
        assert!(e.conditions[1].explanation.contains("3 quartiers"));
    }

    #[test]
    fn each_failed_condition_is_named() {
        let e = check_eligibility(
            &facts(false, false, 0, None),
            &window(None),
            day(2027, 6, 1),
        );
        assert!(!e.eligible);
        for code in ["plh_ou_competence", "qpv", "cia", "periode"] {
            assert!(!met(&e, code), "{code} should fail");
        }
        assert!(e.conditions[0].explanation.contains("ni tenu"));
    }

    #[test]
    fn competence_alone_suffices() {
        let e = check_eligibility(
            &facts(false, true, 1, Some(day(2020, 1, 1))),
            &window(Some(day(2026, 1, 1))),
            day(2026, 1, 1),
        );
        assert!(e.eligible);
    }

    #[test]
    fn a_cia_concluded_later_does_not_count_yet() {
        let e = check_eligibility(
            &facts(true, true, 1, Some(day(2027, 7, 1))),
            &window(Some(day(2026, 1, 1))),
            day(2027, 6, 30),
        );
        assert!(!met(&e, "cia"));
        assert!(e.conditions[2].explanation.contains("01/07/2027"));
    }

    #[test]
    fn the_window_has_a_first_and_a_last_day() {
        let f = facts(true, true, 1, Some(day(2020, 1, 1)));
        let w = window(Some(day(2026, 3, 1)));
        assert!(!met(
            &check_eligibility(&f, &w, day(2026, 2, 28)),
            "periode"
        ));
        assert!(met(&check_eligibility(&f, &w, day(2026, 3, 1)), "periode"));
        assert!(met(&check_eligibility(&f, &w, day(2031, 2, 28)), "periode"));
        let after = check_eligibility(&f, &w, day(2031, 3, 1));
        assert!(!met(&after, "periode"));
        assert!(after.conditions[3].explanation.contains("28/02/2031"));
    }

    #[test]
    fn an_illustrative_date_is_said_to_be_one() {
        let mut w = window(Some(day(2026, 1, 1)));
        w.illustrative = true;
        let e = check_eligibility(&facts(true, true, 1, None), &w, day(2026, 6, 1));
        assert!(e.conditions[3].explanation.contains("illustrative"));
    }
}
