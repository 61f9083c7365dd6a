//! Propositions: for the secretariat, every party's share and commitments, published or not
//! and when; for a party, its own form, with a preview of what it would raise.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::french_decimal;
use super::report::{BreachLine, Names, breach_lines};
use crate::flux::scenario::RawCommitments;
use crate::flux::solver::report::TableBasis;
use crate::flux::solver::stored::StoredReport;
use crate::render::pages::dates::french_datetime;
use crate::services::conventions::ConventionView;
use crate::services::conventions::document::{ProposalBody, TypedDocument};

/// A percentage typed in a form: a comma or a point, from 0 to 100. The error is shown under
/// its field on its own, so it reads as a sentence (capital letter, full stop).
pub fn parse_percent(text: &str) -> Result<String, String> {
    percent_in_words(text).map_err(|problem| crate::domain::text::sentence(&problem))
}

fn percent_in_words(text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("saisissez un pourcentage, par exemple 25 ou 12,5".into());
    }
    let value: Decimal = trimmed
        .replace(',', ".")
        .replace(['%', ' ', '\u{a0}'], "")
        .parse()
        .map_err(|_| {
            format!("« {trimmed} » n'est pas un nombre : saisissez par exemple 25 ou 12,5.")
        })?;
    if value < Decimal::ZERO || value > Decimal::ONE_HUNDRED {
        return Err(format!(
            "« {trimmed} » : un pourcentage entre 0 et 100 est attendu"
        ));
    }
    Ok(value.normalize().to_string())
}

/// The fields of the proposal form, as typed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProposalEntry {
    #[serde(default)]
    pub share: String,
    #[serde(default)]
    pub priority: String,
    #[serde(default)]
    pub q1_hors_qpv: String,
    #[serde(default)]
    pub non_q1_qpv: String,
}

/// The error shown at each field, if any.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProposalErrors {
    pub share: Option<String>,
    pub priority: Option<String>,
    pub q1_hors_qpv: Option<String>,
    pub non_q1_qpv: Option<String>,
    pub any: bool,
}

impl ProposalEntry {
    /// The proposal the entry makes, or the error of each field at fault.
    pub fn parse(&self, is_bailleur: bool) -> Result<ProposalBody, ProposalErrors> {
        let share = (!is_bailleur).then(|| parse_percent(&self.share));
        let priority = parse_percent(&self.priority);
        let q1 = parse_percent(&self.q1_hors_qpv);
        let non_q1 = parse_percent(&self.non_q1_qpv);
        match (
            share.clone().transpose(),
            priority.clone(),
            q1.clone(),
            non_q1.clone(),
        ) {
            (Ok(share), Ok(priority), Ok(q1_hors_qpv), Ok(non_q1_qpv)) => Ok(ProposalBody {
                share,
                overrides: Vec::new(),
                commitments: RawCommitments {
                    priority,
                    q1_hors_qpv,
                    non_q1_qpv,
                },
            }),
            _ => Err(ProposalErrors {
                share: share.and_then(Result::err),
                priority: priority.err(),
                q1_hors_qpv: q1.err(),
                non_q1_qpv: non_q1.err(),
                any: true,
            }),
        }
    }

    /// What the form shows at first: the party's draft, else what the current version holds.
    pub fn of_party(view: &ConventionView, doc: Option<&TypedDocument>) -> Self {
        let party = &view.your_party;
        let draft: Option<ProposalBody> = view
            .proposals
            .iter()
            .find(|p| &p.party == party)
            .and_then(|p| p.draft.clone().or_else(|| p.published.clone()))
            .and_then(|v| serde_json::from_value(v).ok());
        let (share, c) = match (draft, doc) {
            (Some(d), _) => (d.share.unwrap_or_default(), d.commitments),
            (None, Some(doc)) if party == "bailleur" => {
                (String::new(), doc.scenario.non_reserve.commitments.clone())
            }
            (None, Some(doc)) => match doc.scenario.reservataires.iter().find(|r| &r.id == party) {
                Some(r) => (r.share.clone(), r.commitments.clone()),
                None => return Self::default(),
            },
            (None, None) => return Self::default(),
        };
        Self {
            share: french_decimal(&share),
            priority: french_decimal(&c.priority),
            q1_hors_qpv: french_decimal(&c.q1_hors_qpv),
            non_q1_qpv: french_decimal(&c.non_q1_qpv),
        }
    }
}

/// A party's proposal as the secretariat follows it.
#[derive(Debug, Serialize)]
pub struct ProposalLine {
    pub name: String,
    pub share: String,
    pub priority: String,
    pub q1_hors_qpv: String,
    pub non_q1_qpv: String,
    pub published: bool,
    pub published_at: String,
    pub exceptions: usize,
}

/// Every party's published proposal; a réservataire that has not published yet shows the share
/// it starts from (its converted rate, recorded in the version), marked as such.
pub fn proposal_lines(view: &ConventionView, doc: Option<&TypedDocument>) -> Vec<ProposalLine> {
    view.parties
        .iter()
        .filter(|x| x.kind != "secretariat")
        .map(|x| {
            let row = view.proposals.iter().find(|p| p.party == x.party);
            let published: Option<ProposalBody> = row
                .and_then(|p| p.published.clone())
                .and_then(|v| serde_json::from_value(v).ok());
            let pct = |v: &str| format!("{} %", french_decimal(v));
            ProposalLine {
                name: x.name.clone(),
                share: published.as_ref().map_or_else(
                    || {
                        doc.and_then(|d| d.starting_rates.as_ref())
                            .and_then(|start| start.of(&x.party))
                            .map(|start| format!("{} (part de départ)", pct(&start.rate)))
                            .unwrap_or_default()
                    },
                    |b| {
                        b.share
                            .as_deref()
                            .map_or_else(|| "flux non réservé".into(), pct)
                    },
                ),
                priority: published
                    .as_ref()
                    .map_or_else(String::new, |b| pct(&b.commitments.priority)),
                q1_hors_qpv: published
                    .as_ref()
                    .map_or_else(String::new, |b| pct(&b.commitments.q1_hors_qpv)),
                non_q1_qpv: published
                    .as_ref()
                    .map_or_else(String::new, |b| pct(&b.commitments.non_q1_qpv)),
                exceptions: published.as_ref().map_or(0, |b| b.overrides.len()),
                published: published.is_some(),
                published_at: row
                    .and_then(|p| p.published_at.as_ref())
                    .map(french_datetime)
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// The dwellings a share asks for: the share of the flux of the segments in the party's scope,
/// rounded to the nearest dwelling (the table then apportions it exactly).
pub fn requested_dwellings(doc: &TypedDocument, party: &str, share: &str) -> Option<u64> {
    let r = doc.scenario.reservataires.iter().find(|r| r.id == party)?;
    let share: Decimal = share.parse().ok()?;
    let flux: u64 = doc
        .scenario
        .segments
        .iter()
        .filter(|s| {
            r.scope
                .as_ref()
                .is_none_or(|scope| scope.contains(&s.commune))
        })
        .map(|s| s.flux)
        .sum();
    let dwellings = (share * Decimal::from(flux) / Decimal::ONE_HUNDRED)
        .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    u64::try_from(dwellings).ok()
}

/// What a proposal would give, before it is published.
#[derive(Debug, Serialize)]
pub struct Preview {
    /// The dwellings the share asks for (none for the bailleur).
    pub requested: Option<u64>,
    /// The party's dwellings in the flux table the solver would establish.
    pub dwellings: u64,
    /// The table is established on the solver's compromise (blocking breaches remain).
    pub on_compromise: bool,
    pub total_flux: u64,
    pub breaches: Vec<BreachLine>,
    pub blocking: usize,
}

/// What `party`'s proposal `body` would give, from the report the solver made of it.
pub fn preview_of(
    report: &StoredReport,
    names: &Names<'_>,
    doc: &TypedDocument,
    party: &str,
    body: &ProposalBody,
) -> Preview {
    let row = if party == "bailleur" {
        crate::flux::row::NON_RESERVE
    } else {
        party
    };
    Preview {
        requested: body
            .share
            .as_deref()
            .and_then(|share| requested_dwellings(doc, party, share)),
        on_compromise: report
            .table
            .as_ref()
            .is_some_and(|t| t.based_on == TableBasis::Compromise),
        dwellings: report
            .table
            .as_ref()
            .and_then(|t| t.rows.iter().find(|r| r.id == row))
            .map_or(0, |r| r.total),
        total_flux: doc.scenario.segments.iter().map(|s| s.flux).sum(),
        blocking: super::blocking(report),
        breaches: breach_lines(report, names),
    }
}

/// « un manquement bloquant », « 3 manquements bloquants ».
fn blocking_breaches(n: usize) -> String {
    if n == 1 {
        "un manquement bloquant".into()
    } else {
        format!("{n} manquements bloquants")
    }
}

/// The banner after `party` published version `number`: whether blocking breaches remain and,
/// if so, those of its own proposal in words with their article, then how many others remain
/// (the first two named). A warning, never a success over a cap breach: `Err` holds the
/// warning, `Ok` the success.
pub fn published_banner(
    violations: &[crate::flux::solver::report::Violation],
    names: &Names<'_>,
    number: i64,
    party: &str,
) -> Result<String, String> {
    let in_words = |v: &crate::flux::solver::report::Violation| {
        let text = names.in_words(v);
        let text = text.trim().trim_end_matches('.');
        if v.reference.is_empty() {
            format!("{text}.")
        } else {
            format!("{text} ({}).", v.reference)
        }
    };
    let (mine, others): (Vec<_>, Vec<_>) = violations
        .iter()
        .filter(|v| v.severity == crate::policy::rules::Severity::Bloquant)
        .partition(|v| v.reservataires.iter().any(|r| r == party));
    let done = format!("Proposition publiée (version n° {number})");
    let advice = "Voyez le rapport avant la consolidation.";
    if mine.is_empty() && others.is_empty() {
        return Ok(format!("{done} : aucun manquement bloquant."));
    }
    let mut text = if mine.is_empty() {
        let named: Vec<String> = others.iter().take(2).map(|v| in_words(v)).collect();
        format!(
            "{done}, mais il reste {} : {}",
            blocking_breaches(others.len()),
            named.join(" ")
        )
    } else {
        let named: Vec<String> = mine.iter().map(|v| in_words(v)).collect();
        format!(
            "{done}, mais elle enfreint {} : {}",
            if mine.len() == 1 {
                "une règle".to_owned()
            } else {
                format!("{} règles", mine.len())
            },
            named.join(" ")
        )
    };
    let unnamed = if mine.is_empty() {
        others.len().saturating_sub(2)
    } else {
        others.len()
    };
    if unnamed > 0 {
        text.push_str(&format!(
            " Il reste {} {}.",
            if mine.is_empty() { "encore" } else { "aussi" },
            if unnamed == 1 {
                "un autre manquement bloquant".to_owned()
            } else {
                format!("{unnamed} autres manquements bloquants")
            }
        ));
    }
    Err(format!("{text} {advice}"))
}

/// Where `party`'s share started, in a sentence: its rate converted from its stock rights, or 0
/// for want of rights (issue 18, item 4). `None` for the bailleur, for a convention opened
/// before the conversion was recorded, and for a réservataire not in the record.
pub fn starting_sentence(doc: &TypedDocument, party: &str) -> Option<String> {
    let start = doc.starting_rates.as_ref()?;
    if let Some(why) = &start.unavailable {
        return Some(format!(
            "Votre part de départ est de 0 % : la conversion de l'état des lieux n'a pas pu être calculée à l'ouverture de la convention ({why})."
        ));
    }
    let rate = start.of(party)?;
    let method = method_words(&start.method);
    Some(if rate.rights == 0 {
        "Votre part de départ est de 0 % : vous ne déteniez aucun droit de réservation en stock chez ce bailleur sur le territoire de la convention pour cette année. Proposez la part que vous demandez.".to_owned()
    } else {
        let rights = if rate.rights == 1 {
            "votre droit de réservation en stock".to_owned()
        } else {
            format!(
                "vos {} droits de réservation en stock",
                crate::render::charts::french_integer(
                    i64::try_from(rate.rights).unwrap_or(i64::MAX)
                )
            )
        };
        format!(
            "Votre part de départ, {} %, est la conversion de {rights} chez ce bailleur ({method}) ; la page « D'où vient ma part » en donne le détail, logement par logement.",
            french_decimal(&rate.rate)
        )
    })
}

/// The method the shares started from, for the secretariat.
pub fn starting_method_sentence(doc: &TypedDocument) -> Option<String> {
    let start = doc.starting_rates.as_ref()?;
    Some(match &start.unavailable {
        Some(why) => format!(
            "Les parts de départ sont à 0 % : la conversion de l'état des lieux n'a pas pu être calculée à l'ouverture ({why})."
        ),
        None => format!(
            "Les parts de départ des réservataires sont la conversion de leurs droits en stock ({}) ; un réservataire sans droit en stock part de 0 %.",
            method_words(&start.method)
        ),
    })
}

fn method_words(method: &str) -> &'static str {
    if method == "stock" {
        "méthode stock : chaque logement réservé compte pour 1"
    } else {
        "méthode flux : chaque logement réservé compte pour les libérations qu'il apporte dans l'année"
    }
}

#[cfg(test)]
mod tests {
    use super::{ProposalEntry, parse_percent, published_banner};

    #[test]
    fn the_banner_after_publishing_names_each_blocking_breach() {
        use super::Names;
        use crate::flux::solver::report::Violation;
        let report: Vec<Violation> = serde_json::from_value(serde_json::json!([
            {"rule": "etat.plafond", "severity": "bloquant", "reservataires": ["etat"],
             "segments": [], "observed": "35", "limit": "30", "gap": "12", "unit": "logement(s)",
             "reference": "CCH, art. R.441-5-2",
             "message": "Les réservations de l'État (etat) représentent 35 % du flux annuel du bailleur, au-delà du plafond de 30 % : 12 logements en trop."},
            {"rule": "etat.repartition", "severity": "alerte", "reservataires": [],
             "segments": [], "observed": "", "limit": "", "gap": "", "unit": "",
             "reference": "", "message": "Le taux varie."}
        ]))
        .unwrap();
        let parties =
            std::collections::HashMap::from([("etat".to_owned(), "Préfet du Rhône".to_owned())]);
        let communes = std::collections::HashMap::new();
        let names = Names {
            parties: &parties,
            communes: &communes,
            segments: &[],
        };
        assert_eq!(
            published_banner(&report, &names, 4, "etat"),
            Err("Proposition publiée (version n° 4), mais elle enfreint une règle : Les réservations de l'État (Préfet du Rhône) représentent 35 % du flux annuel du bailleur, au-delà du plafond de 30 % : 12 logements en trop (CCH, art. R.441-5-2). Voyez le rapport avant la consolidation.".to_owned())
        );
        // Another party's publication: the breach remains, named too.
        assert_eq!(
            published_banner(&report, &names, 4, "bailleur"),
            Err("Proposition publiée (version n° 4), mais il reste un manquement bloquant : Les réservations de l'État (Préfet du Rhône) représentent 35 % du flux annuel du bailleur, au-delà du plafond de 30 % : 12 logements en trop (CCH, art. R.441-5-2). Voyez le rapport avant la consolidation.".to_owned())
        );
        assert_eq!(
            published_banner(&[], &names, 5, "etat"),
            Ok("Proposition publiée (version n° 5) : aucun manquement bloquant.".to_owned())
        );
    }

    #[test]
    fn percentages_accept_a_comma_or_a_point() {
        assert_eq!(parse_percent("12,5").as_deref(), Ok("12.5"));
        assert_eq!(parse_percent(" 30 ").as_deref(), Ok("30"));
        assert_eq!(parse_percent("55.50").as_deref(), Ok("55.5"));
        assert!(parse_percent("beaucoup").is_err());
        assert!(parse_percent("120").is_err());
        assert!(parse_percent("").is_err());
    }

    #[test]
    fn each_field_at_fault_gets_its_error() {
        let entry = ProposalEntry {
            share: "beaucoup".into(),
            priority: "30".into(),
            q1_hors_qpv: "-1".into(),
            non_q1_qpv: "55,5".into(),
        };
        let errors = entry.parse(false).unwrap_err();
        assert!(errors.share.unwrap().contains("beaucoup"));
        assert!(errors.priority.is_none());
        assert!(errors.q1_hors_qpv.is_some());
        assert!(errors.non_q1_qpv.is_none());
        // The bailleur proposes no share: an empty share is no error.
        let bailleur = ProposalEntry {
            share: String::new(),
            ..ProposalEntry {
                priority: "30".into(),
                q1_hors_qpv: "30".into(),
                non_q1_qpv: "50".into(),
                share: String::new(),
            }
        };
        assert!(bailleur.parse(true).is_ok());
    }
}
