//! The solver's report (DESIGN §4.4, public contract) and its French text summary.

mod readable;

use std::fmt::Write as _;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::flux::apportion::Tie;
use crate::flux::row::RowId;
use crate::policy::rules::Severity;

/// One breach of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub rule: String,
    pub severity: Severity,
    pub reservataires: Vec<String>,
    pub segments: Vec<String>,
    /// The value found: a percentage as a decimal string, or a list of communes.
    pub observed: String,
    /// The limit or objective it is compared with.
    pub limit: String,
    /// How far from compliance, in `unit`.
    pub gap: String,
    /// `logement(s)` or `ménage(s)`.
    pub unit: String,
    pub reference: String,
    pub message: String,
}

/// A changed share in the compromise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareChange {
    pub reservataire: String,
    pub segment: String,
    pub proposed: String,
    pub compromise: String,
}

/// Which commitment of a row (DESIGN §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitmentKind {
    /// Attributions to priority households (L.441-1).
    Priority,
    /// Attributions to first-quartile households outside QPV.
    Q1HorsQpv,
    /// Attributions to households other than first quartile in QPV.
    NonQ1Qpv,
}

/// A changed commitment in the compromise, of a réservataire or of the bailleur's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitmentChange {
    pub reservataire: RowId,
    pub commitment: CommitmentKind,
    pub proposed: String,
    pub compromise: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compromise {
    pub shares: Vec<ShareChange>,
    pub commitments: Vec<CommitmentChange>,
    /// The steps of the method, in French, in the order applied.
    pub explanation: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Margin {
    pub id: String,
    pub total: u64,
}

/// A tied cell of the flux table, named by its row and column ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TieReport<'a> {
    pub row: &'a str,
    pub column: &'a str,
    pub value: u64,
    pub alternative: u64,
}

/// The ties of the flux table. A metropolitan table has over 100,000 of them, most in a few
/// rows: they are serialized grouped, one [`TieGroup`] per row and (value, alternative), the
/// columns named by their index in `table.columns` (see [`ColumnRuns`]). One object per tie
/// made 10 MB of a 19.5 MB report.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ties {
    row_ids: Vec<String>,
    column_ids: Vec<String>,
    /// In row-major order; `row` and `col` index the ids above.
    cells: Vec<Tie>,
}

/// The ties of one row with the same retained value and the same alternative, as the report
/// writes them: `{"row": "etat", "value": 3, "alternative": 4, "columns": [0, [5, 9], 17]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TieGroup<'a> {
    pub row: &'a str,
    pub value: u64,
    pub alternative: u64,
    pub columns: ColumnRuns,
}

/// Increasing column indices, serialized as a list whose items are either one index or, for
/// [`MIN_RUN`] consecutive indices or more, the pair `[first, last]` (both included).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ColumnRuns(pub Vec<u32>);

/// The shortest run of consecutive columns written as a pair: `[4,6]` is no longer than
/// `4,5,6`, and a pair is one item for the reader instead of three.
pub const MIN_RUN: usize = 3;

impl Serialize for ColumnRuns {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq as _;
        let mut seq = serializer.serialize_seq(None)?;
        let mut rest = self.0.as_slice();
        while let Some(&first) = rest.first() {
            let run = rest
                .iter()
                .enumerate()
                .take_while(|&(k, &c)| u64::from(c) == u64::from(first) + k as u64)
                .count();
            if run >= MIN_RUN {
                seq.serialize_element(&[first, rest[run - 1]])?;
                rest = &rest[run..];
            } else {
                seq.serialize_element(&first)?;
                rest = &rest[1..];
            }
        }
        seq.end()
    }
}

impl Ties {
    /// # Panics
    /// If a tie names a row or a column beyond the ids given (a programming error).
    #[must_use]
    pub fn new(row_ids: Vec<String>, column_ids: Vec<String>, cells: Vec<Tie>) -> Self {
        assert!(
            cells
                .iter()
                .all(|t| (t.row as usize) < row_ids.len() && (t.col as usize) < column_ids.len()),
            "égalité hors du tableau"
        );
        Self {
            row_ids,
            column_ids,
            cells,
        }
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Every tie, one by one, in row-major order.
    pub fn iter(&self) -> impl Iterator<Item = TieReport<'_>> {
        self.cells.iter().map(|t| TieReport {
            row: &self.row_ids[t.row as usize],
            column: &self.column_ids[t.col as usize],
            value: u64::from(t.value),
            alternative: u64::from(t.alternative),
        })
    }

    /// The groups the report writes: rows in table order; in a row, by increasing value then
    /// alternative; in a group, columns in increasing order.
    #[must_use]
    pub fn groups(&self) -> Vec<TieGroup<'_>> {
        let mut groups = Vec::new();
        let mut row_ties: Vec<(u32, u32, u32)> = Vec::new();
        for row in self.cells.chunk_by(|a, b| a.row == b.row) {
            row_ties.clear();
            row_ties.extend(row.iter().map(|t| (t.value, t.alternative, t.col)));
            row_ties.sort_unstable();
            for same in row_ties.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
                groups.push(TieGroup {
                    row: &self.row_ids[row[0].row as usize],
                    value: u64::from(same[0].0),
                    alternative: u64::from(same[0].1),
                    columns: ColumnRuns(same.iter().map(|t| t.2).collect()),
                });
            }
        }
        groups
    }
}

impl Serialize for Ties {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.groups())
    }
}

/// Which shares the flux table was built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableBasis {
    /// The parties' proposals (no blocking share breach, or no compromise possible).
    Proposals,
    /// The compromise's shares.
    Compromise,
}

/// The integer flux table with its certificate (the divisors).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableReport {
    pub rows: Vec<Margin>,
    pub columns: Vec<Margin>,
    /// Row-major: `cells[r][s]`, the dwellings of segment `s` oriented to row `r`.
    pub cells: Vec<Vec<u64>>,
    pub row_divisors: Vec<String>,
    pub column_divisors: Vec<String>,
    pub ties: Ties,
    pub based_on: TableBasis,
    /// How the row totals were apportioned and how ties are resolved, in French.
    pub method: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub blocking: usize,
    pub warnings: usize,
    pub total_flux: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub schema: u32,
    pub year: i32,
    pub policy: String,
    pub policy_digest: String,
    pub summary: Summary,
    pub violations: Vec<Violation>,
    pub compromise: Option<Compromise>,
    /// Why no compromise could be built, when blocking rules fail that shares cannot fix.
    pub compromise_impossible: Option<String>,
    pub table: Option<TableReport>,
    /// Why no table could be built.
    pub table_error: Option<String>,
}

/// A decimal in French notation (`12,5`), for messages.
pub fn french(value: Decimal) -> String {
    value.normalize().to_string().replace('.', ",")
}

/// A decimal rounded to 2 places, as a string for the JSON fields.
pub fn two_places(value: Decimal) -> String {
    value
        .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        .normalize()
        .to_string()
}

impl Report {
    /// The report as readable JSON (`solve`): indented, lists of numbers on one line.
    ///
    /// # Errors
    /// Never in practice: every field serializes.
    pub fn to_readable_json(&self) -> Result<String, serde_json::Error> {
        readable::to_readable_json(self)
    }

    /// A readable French summary (`solve --format text`).
    pub fn to_text(&self, names: &dyn Fn(&str) -> String) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Convention {} — politique « {} » ({})",
            self.year, self.policy, self.policy_digest
        );
        let _ = writeln!(
            out,
            "Flux annuel : {} logements. {} manquement(s) bloquant(s), {} alerte(s).",
            self.summary.total_flux, self.summary.blocking, self.summary.warnings
        );
        for v in &self.violations {
            let level = match v.severity {
                Severity::Bloquant => "BLOQUANT",
                Severity::Alerte => "alerte",
            };
            let _ = writeln!(out, "\n[{level}] {} — {}", v.rule, v.reference);
            let _ = writeln!(out, "  {}", v.message);
        }
        if let Some(compromise) = &self.compromise {
            let _ = writeln!(out, "\nCompromis proposé :");
            for step in &compromise.explanation {
                let _ = writeln!(out, "  - {step}");
            }
            let _ = writeln!(
                out,
                "  {} part(s) et {} engagement(s) modifiés (détail dans la sortie JSON).",
                compromise.shares.len(),
                compromise.commitments.len()
            );
        }
        if let Some(reason) = &self.compromise_impossible {
            let _ = writeln!(out, "\nAucun compromis possible : {reason}");
        }
        match (&self.table, &self.table_error) {
            (Some(table), _) => {
                let basis = match table.based_on {
                    TableBasis::Compromise => "le compromis",
                    TableBasis::Proposals => "les propositions",
                };
                let _ = writeln!(out, "\nTableau des flux (établi sur {basis}) :");
                for (row, cells) in table.rows.iter().zip(&table.cells) {
                    let in_use = cells.iter().filter(|c| **c > 0).count();
                    let _ = writeln!(
                        out,
                        "  {:<40} {:>6} logement(s) sur {in_use} segment(s)",
                        names(&row.id),
                        row.total
                    );
                }
                if !table.ties.is_empty() {
                    let _ = writeln!(
                        out,
                        "  {} égalité(s) d'arrondi tranchée(s) selon la règle publiée (champ table.method du rapport JSON).",
                        table.ties.len()
                    );
                }
            }
            (None, Some(error)) => {
                let _ = writeln!(out, "\nPas de tableau des flux : {error}");
            }
            (None, None) => {}
        }
        out
    }
}
