//! The version document (DESIGN §3): everything a party signs, as one canonical JSON text whose
//! SHA-256 is the version's identity. Pure: built from values, no I/O.

use serde::{Deserialize, Serialize};

use crate::flux::scenario::{RawCommitments, RawOverride, RawScenario};
use crate::flux::solver::report::Compromise;
use crate::flux::solver::stored::{
    ReportCompromise, ReportError, ReportSummary, ReportTable, StoredReport, StoredTable,
};
use crate::signing::{sha256_hex, to_canonical};

pub const VERSION_FORMAT: &str = "convention-flux-version/1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    pub id: i64,
    pub name: String,
    pub party: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Clause {
    pub id: String,
    pub title: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BailleurRef {
    pub siren: String,
    pub name: String,
}

/// A party's proposal: for a réservataire its shares and commitments, for the bailleur its
/// commitments on the unreserved flux (`share` and `overrides` then ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalBody {
    #[serde(default)]
    pub share: Option<String>,
    #[serde(default)]
    pub overrides: Vec<RawOverride>,
    pub commitments: RawCommitments,
}

/// A version as signed. `R` is the solver report: as stored (`serde_json::Value`, the default),
/// which is what the hash covers, or typed ([`TypedDocument`]) for reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionDocument<R = serde_json::Value> {
    pub format: String,
    pub convention: i64,
    pub number: i64,
    pub parent: Option<String>,
    pub author: Author,
    pub reason: String,
    pub created_at: String,
    pub title: String,
    pub bailleur: BailleurRef,
    pub scenario: RawScenario,
    pub clauses: Vec<Clause>,
    /// `proposals` or `compromise`: where the shares of this version come from.
    pub based_on: String,
    /// The solver report on `scenario` (DESIGN §4.4).
    pub report: R,
    pub policy_digest: String,
    /// The visas and articles as the parties read them (DESIGN §4.6), so that the hash signed
    /// covers what is read. Absent from the versions sealed before the text was part of them:
    /// they keep their hash, and their text is generated again from their data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<DocumentText>,
    /// Where the shares started (DESIGN §4.5): the conversion of the état des lieux chosen by
    /// the secretariat when it opened the convention, carried by every later version. Absent
    /// from the versions sealed before it existed: they keep their hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starting_rates: Option<StartingRates>,
}

/// The conversion a convention's default proposals came from (issue 18, item 4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartingRates {
    /// `flux` or `stock` (DESIGN §4.5).
    pub method: String,
    /// Years of release history the rotation rates were averaged over.
    pub lookback: u32,
    /// Why no rate could be converted, in French (every share then started at 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    /// Each réservataire party's converted rate, in the order of the scenario.
    pub reservataires: Vec<StartingRate>,
}

/// One réservataire's starting rate and the rights it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartingRate {
    pub id: String,
    /// Percent of its scope, to the hundredth: its default share.
    pub rate: String,
    /// Its stock rights counted in year N on the convention's territory (0: it starts at 0).
    pub rights: u64,
}

impl StartingRates {
    /// The starting rate of réservataire `id`, if it is a party.
    pub fn of(&self, id: &str) -> Option<&StartingRate> {
        self.reservataires.iter().find(|r| r.id == id)
    }
}

/// The written part of the convention document, sealed in the version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentText {
    pub visas: Vec<String>,
    pub articles: Vec<ArticleText>,
}

/// One article as read: its tables and the secretariat's clauses come from the version's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleText {
    /// Which article it is (`objet`, `taux`, `orientation`…): where the tables and clauses go,
    /// and which articles a réservataire's annex reproduces.
    pub key: String,
    pub title: String,
    /// « Articles R. 441-5 et R. 441-5-2 du code de la construction et de l'habitation »…
    pub law: String,
    pub paragraphs: Vec<String>,
}

/// A version document whose report is read into its types, in one pass over the stored text.
/// Never sealed: only the stored form is hashed, so a report written by an older version of
/// the platform keeps its hash whatever the types read from it.
pub type TypedDocument = VersionDocument<StoredReport>;

impl VersionDocument {
    /// The canonical text and its SHA-256.
    pub fn seal_text(&self) -> Result<(String, String), String> {
        let text = to_canonical(self).map_err(|e| e.to_string())?;
        let hash = sha256_hex(text.as_bytes());
        Ok((text, hash))
    }

    /// The document with its report read into types (for reading, never sealed).
    ///
    /// # Errors
    /// When the report is not what the solver writes.
    pub fn typed(&self) -> Result<TypedDocument, ReportError> {
        Ok(VersionDocument {
            format: self.format.clone(),
            convention: self.convention,
            number: self.number,
            parent: self.parent.clone(),
            author: self.author.clone(),
            reason: self.reason.clone(),
            created_at: self.created_at.clone(),
            title: self.title.clone(),
            bailleur: self.bailleur.clone(),
            scenario: self.scenario.clone(),
            clauses: self.clauses.clone(),
            based_on: self.based_on.clone(),
            report: self.report()?,
            policy_digest: self.policy_digest.clone(),
            text: self.text.clone(),
            starting_rates: self.starting_rates.clone(),
        })
    }

    /// The stored report, typed.
    ///
    /// # Errors
    /// When the report is not what the solver writes.
    pub fn report(&self) -> Result<StoredReport, ReportError> {
        StoredReport::deserialize(&self.report).map_err(|e| ReportError(e.to_string()))
    }

    /// The flux table of the report (`None` when the solver could not build one), without
    /// reading the rest of the report.
    ///
    /// # Errors
    /// When the table is not what the solver writes.
    pub fn table(&self) -> Result<Option<StoredTable>, ReportError> {
        self.report_table().map(|t| t.table)
    }

    /// The flux table of the report and, without one, the solver's reason.
    ///
    /// # Errors
    /// When the table is not what the solver writes.
    pub fn report_table(&self) -> Result<ReportTable, ReportError> {
        ReportTable::deserialize(&self.report).map_err(|e| ReportError(e.to_string()))
    }

    /// The compromise the report proposes, if any, without reading the rest of the report.
    ///
    /// # Errors
    /// When the compromise is not what the solver writes.
    pub fn compromise(&self) -> Result<Option<Compromise>, ReportError> {
        ReportCompromise::deserialize(&self.report)
            .map(|r| r.compromise)
            .map_err(|e| ReportError(e.to_string()))
    }

    /// The blocking breaches of the report. A summary that cannot be read counts as one: a
    /// guard never lets an unreadable report through.
    pub fn blocking_violations(&self) -> usize {
        ReportSummary::deserialize(&self.report).map_or(1, |r| r.summary.blocking)
    }

    /// The total of `row` (réservataire id) in the flux table, 0 without a table.
    pub fn cell_row_total(&self, row: &str) -> u64 {
        self.table()
            .ok()
            .flatten()
            .and_then(|t| t.row_total(row))
            .unwrap_or(0)
    }

    /// The table cell of `row` (réservataire id) in `segment`, if the report has a table.
    pub fn cell(&self, row: &str, segment: &str) -> Option<u64> {
        self.table().ok().flatten()?.cell(row, segment)
    }
}

/// The clauses a new convention starts from; the secretariat edits them.
pub fn default_clauses(epci_name: &str, bailleur_name: &str, year: i32) -> Vec<Clause> {
    let clause = |id: &str, title: &str, text: String| Clause {
        id: id.into(),
        title: title.into(),
        text,
    };
    vec![
        clause(
            "objet",
            "Objet",
            format!(
                "La présente convention unique organise la gestion en flux des logements sociaux de {bailleur_name} sur le territoire de {epci_name} entre l'ensemble des réservataires signataires (article L. 441-1 du code de la construction et de l'habitation)."
            ),
        ),
        clause(
            "duree",
            "Durée",
            format!(
                "Elle porte sur l'année {year} et se renouvelle par avenant ; chaque annexe par réservataire vaut convention de réservation au sens de l'article R. 441-5."
            ),
        ),
        clause(
            "objectifs",
            "Objectifs de la convention intercommunale d'attribution",
            "Les parties reprennent les objectifs de la CIA (article L. 441-1-6) : attributions hors QPV au premier quartile, attributions en QPV aux autres quartiles, ménages prioritaires.".into(),
        ),
        clause(
            "flux",
            "Répartition du flux annuel",
            "Le flux annuel de logements libérés est réparti entre les réservataires selon le tableau des flux annexé, calculé par la méthode biproportionnelle publiée.".into(),
        ),
        clause(
            "bilan",
            "Bilan annuel",
            "Le bailleur transmet à chaque réservataire, avant le 28 février, le bilan des logements orientés l'année précédente (article R. 441-5-1).".into(),
        ),
    ]
}

/// What changed for one party between two versions, in French, one line per change.
pub fn party_diff(old: &VersionDocument, new: &VersionDocument, party: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let find = |doc: &VersionDocument| {
        doc.scenario
            .reservataires
            .iter()
            .find(|r| r.id == party)
            .cloned()
    };
    match (find(old), find(new)) {
        (Some(a), Some(b)) => {
            if a.share != b.share {
                lines.push(format!("Part : {} % → {} %", a.share, b.share));
            }
            if a.overrides != b.overrides {
                lines.push(format!(
                    "Parts particulières : {} → {} exception(s)",
                    a.overrides.len(),
                    b.overrides.len()
                ));
            }
            commitment_lines(&a.commitments, &b.commitments, &mut lines);
        }
        (None, Some(_)) => lines.push("Partie ajoutée à la convention".into()),
        (Some(_), None) => lines.push("Partie retirée de la convention".into()),
        (None, None) if party == "bailleur" => {
            commitment_lines(
                &old.scenario.non_reserve.commitments,
                &new.scenario.non_reserve.commitments,
                &mut lines,
            );
        }
        (None, None) => {}
    }
    // Each table read once: a metropolitan table has 2,000 segments.
    let (old_table, new_table) = (old.table().ok().flatten(), new.table().ok().flatten());
    let cell = |table: &Option<StoredTable>, segment: &str| table.as_ref()?.cell(party, segment);
    for segment in &new.scenario.segments {
        let (a, b) = (cell(&old_table, &segment.id), cell(&new_table, &segment.id));
        if a != b {
            lines.push(crate::domain::text::agree_units(&format!(
                "Tableau des flux, segment {} : {} → {} logement(s)",
                segment.id,
                a.map_or("—".into(), |v| v.to_string()),
                b.map_or("—".into(), |v| v.to_string())
            )));
        }
    }
    for clause in &new.clauses {
        match old.clauses.iter().find(|c| c.id == clause.id) {
            Some(before) if before == clause => {}
            Some(_) => lines.push(format!("Clause « {} » modifiée", clause.title)),
            None => lines.push(format!("Clause « {} » ajoutée", clause.title)),
        }
    }
    for clause in &old.clauses {
        if !new.clauses.iter().any(|c| c.id == clause.id) {
            lines.push(format!("Clause « {} » supprimée", clause.title));
        }
    }
    if old.scenario.objectives != new.scenario.objectives {
        lines.push("Objectifs de la CIA modifiés".into());
    }
    lines
}

fn commitment_lines(a: &RawCommitments, b: &RawCommitments, lines: &mut Vec<String>) {
    for (label, x, y) in [
        ("ménages prioritaires", &a.priority, &b.priority),
        ("premier quartile hors QPV", &a.q1_hors_qpv, &b.q1_hors_qpv),
        ("autres quartiles en QPV", &a.non_q1_qpv, &b.non_q1_qpv),
    ] {
        if x != y {
            lines.push(format!("Engagement « {label} » : {x} % → {y} %"));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::flux::scenario::{
        RawEpci, RawNonReserve, RawObjectives, RawReservataire, RawSegment,
    };

    fn commitments(p: &str) -> RawCommitments {
        RawCommitments {
            priority: p.into(),
            q1_hors_qpv: "25".into(),
            non_q1_qpv: "50".into(),
        }
    }

    fn doc(share: &str, cell: u64) -> VersionDocument {
        VersionDocument {
            format: VERSION_FORMAT.into(),
            convention: 1,
            number: 1,
            parent: None,
            author: Author {
                id: 1,
                name: "Secrétariat".into(),
                party: "secretariat".into(),
            },
            reason: "test".into(),
            created_at: "2026-11-23T12:00:00.000Z".into(),
            title: "Convention".into(),
            bailleur: BailleurRef {
                siren: "276999802".into(),
                name: "Bailleur".into(),
            },
            scenario: RawScenario {
                schema: 1,
                year: 2027,
                policy: "national".into(),
                epci: RawEpci {
                    siren: "200999803".into(),
                    communes: vec!["69801".into()],
                },
                segments: vec![RawSegment {
                    id: "s1".into(),
                    commune: "69801".into(),
                    typology: None,
                    qpv: false,
                    flux: 10,
                }],
                objectives: RawObjectives {
                    q1_hors_qpv_min: "25".into(),
                    non_q1_qpv_min: "50".into(),
                    priority_min: "25".into(),
                },
                reservataires: vec![RawReservataire {
                    id: "etat".into(),
                    kind: "etat".into(),
                    basis: "contingent_prefectoral".into(),
                    name: "État".into(),
                    share: share.into(),
                    scope: None,
                    overrides: vec![],
                    commitments: commitments("100"),
                    territory: None,
                    stock: vec![],
                }],
                non_reserve: RawNonReserve {
                    commitments: commitments("25"),
                },
                stipulations: vec![],
                cia: None,
            },
            clauses: default_clauses("EPCI", "Bailleur", 2027),
            based_on: "proposals".into(),
            report: serde_json::json!({
                "schema": 1, "year": 2027, "policy": "national", "policy_digest": "d",
                "summary": {"blocking": 1, "warnings": 0, "total_flux": 10},
                "violations": [], "compromise": null, "compromise_impossible": null,
                "table": {
                    "rows": [{"id": "etat", "total": cell}, {"id": "non-reserve", "total": 10 - cell}],
                    "columns": [{"id": "s1", "total": 10}],
                    "cells": [[cell], [10 - cell]],
                    "row_divisors": ["1", "1"], "column_divisors": ["1"],
                    "ties": [], "based_on": "proposals", "method": "m"
                },
                "table_error": null
            }),
            policy_digest: "d".into(),
            text: None,
            starting_rates: None,
        }
    }

    /// Version `number` of a one-segment convention (10 dwellings) where the State proposes
    /// `share`, with the solver's own report.
    pub(crate) fn solved_document(number: i64, share: &str) -> VersionDocument {
        let mut doc = doc(share, 0);
        doc.number = number;
        let scenario = crate::flux::scenario::Scenario::from_raw(doc.scenario.clone()).unwrap();
        let policy = crate::policy::rules::Policy::parse_national(include_str!(
            "../../../policies/national.toml"
        ))
        .unwrap();
        let report = crate::flux::solver::solve(&scenario, &policy);
        doc.policy_digest = report.policy_digest.clone();
        doc.report = serde_json::to_value(&report).unwrap();
        doc
    }

    #[test]
    fn the_typed_report_is_the_solvers_report() {
        let doc = solved_document(1, "25");
        let report = doc.report().unwrap();
        assert_eq!(report.summary.total_flux, 10);
        let table = report.table.as_ref().unwrap();
        assert_eq!(table.cell("etat", "s1"), doc.cell("etat", "s1"));
        assert_eq!(
            table.row_total("non-reserve"),
            Some(doc.cell_row_total("non-reserve"))
        );
        // One segment: each row's cell is its total.
        assert_eq!(table.cell("etat", "s1"), table.row_total("etat"));
        assert_eq!(doc.cell("etat", "s2"), None);
        // Typed and written back: the stored report, field for field.
        assert_eq!(serde_json::to_value(&report).unwrap(), doc.report);
        assert_eq!(doc.table().unwrap().as_ref(), Some(table));
        assert_eq!(doc.blocking_violations(), report.summary.blocking);
        // Read straight from the text, report included: the same.
        let (text, _) = doc.seal_text().unwrap();
        let typed: TypedDocument = serde_json::from_str(&text).unwrap();
        assert_eq!(typed.report, report);
        assert_eq!(typed.scenario, doc.scenario);
    }

    #[test]
    fn an_unreadable_summary_counts_as_a_blocking_breach() {
        let mut doc = doc("25", 3);
        assert_eq!(doc.blocking_violations(), 1);
        doc.report["summary"]["blocking"] = serde_json::json!(0);
        assert_eq!(doc.blocking_violations(), 0);
        doc.report["summary"] = serde_json::json!("illisible");
        assert_eq!(doc.blocking_violations(), 1);
        assert!(doc.report().is_err());
    }

    #[test]
    fn the_hash_is_the_sha256_of_the_canonical_text() {
        let (text, hash) = doc("25", 3).seal_text().unwrap();
        assert!(text.starts_with(r#"{"author":{"id":1,"#), "{text}");
        assert!(!text.contains('\n'));
        let reparsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(crate::signing::canonical_json(&reparsed).unwrap(), text);
        use sha2::Digest;
        let expected: String = sha2::Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hash, expected);
        assert_ne!(doc("26", 3).seal_text().unwrap().1, hash);
    }

    #[test]
    fn the_party_diff_names_share_cells_and_clauses() {
        let old = doc("25", 3);
        let mut new = doc("20", 2);
        new.clauses[0].text.push_str(" Modifié.");
        let lines = party_diff(&old, &new, "etat");
        assert_eq!(
            lines,
            vec![
                "Part : 25 % → 20 %".to_owned(),
                "Tableau des flux, segment s1 : 3 → 2 logements".to_owned(),
                "Clause « Objet » modifiée".to_owned(),
            ]
        );
        assert_eq!(party_diff(&old, &old, "etat"), Vec::<String>::new());
        assert_eq!(old.blocking_violations(), 1);
        assert_eq!(old.cell_row_total("etat"), 3);
        assert_eq!(old.cell("etat", "s2"), None);
    }
}
