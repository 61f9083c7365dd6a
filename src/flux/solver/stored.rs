//! The solver's report read back from a stored version (DESIGN §4.4): the typed view of what
//! [`Report`](super::report::Report) wrote.
//!
//! A version is immutable and named by the hash of its text, so a stored report is never
//! rewritten: this view reads every form a stored version may hold. The ties were written one
//! object per tie (`{"row", "column", "value", "alternative"}`) until December 2026, and are
//! grouped since (`{"row", "value", "alternative", "columns"}`, see [`Ties`](super::report::Ties));
//! both are read, and each is written back as it was read.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::report::{ColumnRuns, Compromise, Margin, Summary, TableBasis, TieReport, Violation};

/// Why a stored report cannot be read as the solver writes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rapport du solveur illisible : {0}")]
pub struct ReportError(pub String);

/// The report of a stored version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredReport {
    pub schema: u32,
    pub year: i32,
    pub policy: String,
    pub policy_digest: String,
    pub summary: Summary,
    pub violations: Vec<Violation>,
    pub compromise: Option<Compromise>,
    pub compromise_impossible: Option<String>,
    pub table: Option<StoredTable>,
    pub table_error: Option<String>,
}

/// The part of a report that says whether a version has blocking breaches: read without
/// converting the flux table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReportSummary {
    pub summary: Summary,
}

/// The compromise of a report, if it proposes one: read without converting the rest.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReportCompromise {
    #[serde(default)]
    pub compromise: Option<Compromise>,
}

/// The flux table of a report, or why there is none: read without converting the rest.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReportTable {
    #[serde(default)]
    pub table: Option<StoredTable>,
    #[serde(default)]
    pub table_error: Option<String>,
}

/// The flux table of a stored report. Its dimensions agree (checked when read): one cell per
/// row and column, one divisor per row and per column, ties inside the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawTable")]
pub struct StoredTable {
    pub rows: Vec<Margin>,
    pub columns: Vec<Margin>,
    /// Row-major: `cells[r][s]`, the dwellings of segment `s` oriented to row `r`.
    pub cells: Vec<Vec<u64>>,
    pub row_divisors: Vec<String>,
    pub column_divisors: Vec<String>,
    pub ties: StoredTies,
    pub based_on: TableBasis,
    pub method: String,
}

/// [`StoredTable`] as read, before its dimensions are checked.
#[derive(Deserialize)]
struct RawTable {
    rows: Vec<Margin>,
    columns: Vec<Margin>,
    cells: Vec<Vec<u64>>,
    row_divisors: Vec<String>,
    column_divisors: Vec<String>,
    ties: StoredTies,
    based_on: TableBasis,
    method: String,
}

impl TryFrom<RawTable> for StoredTable {
    type Error = String;

    fn try_from(raw: RawTable) -> Result<Self, String> {
        let (rows, cols) = (raw.rows.len(), raw.columns.len());
        if raw.cells.len() != rows || raw.cells.iter().any(|line| line.len() != cols) {
            return Err(format!(
                "cells : {rows} ligne(s) de {cols} cellule(s) attendues"
            ));
        }
        if raw.row_divisors.len() != rows || raw.column_divisors.len() != cols {
            return Err("un diviseur par ligne et par colonne attendu".into());
        }
        if let StoredTies::Grouped(groups) = &raw.ties
            && let Some(group) = groups
                .iter()
                .find(|g| g.columns.0.iter().any(|&c| c as usize >= cols))
        {
            return Err(format!(
                "égalité de la ligne « {} » dans une colonne au-delà de la {cols}ᵉ",
                group.row
            ));
        }
        Ok(Self {
            rows: raw.rows,
            columns: raw.columns,
            cells: raw.cells,
            row_divisors: raw.row_divisors,
            column_divisors: raw.column_divisors,
            ties: raw.ties,
            based_on: raw.based_on,
            method: raw.method,
        })
    }
}

/// The ties of a stored table, in the form they were written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum StoredTies {
    /// One object per tied cell, columns by id (versions stored before December 2026).
    PerCell(Vec<CellTie>),
    /// One object per row and (value, alternative), columns by index in `table.columns`.
    Grouped(Vec<StoredTieGroup>),
}

/// A tied cell as versions stored before December 2026 name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellTie {
    pub row: String,
    pub column: String,
    pub value: u64,
    pub alternative: u64,
}

/// The tied cells of one row with one retained value and one alternative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredTieGroup {
    pub row: String,
    pub value: u64,
    pub alternative: u64,
    pub columns: ColumnRuns,
}

impl StoredTable {
    /// Position of the row `id` (a réservataire id or `non-reserve`).
    #[must_use]
    pub fn row_index(&self, id: &str) -> Option<usize> {
        self.rows.iter().position(|r| r.id == id)
    }

    /// Position of the column of segment `id`.
    #[must_use]
    pub fn column_index(&self, id: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.id == id)
    }

    /// The total of row `id`, if the table has that row.
    #[must_use]
    pub fn row_total(&self, id: &str) -> Option<u64> {
        self.rows.iter().find(|r| r.id == id).map(|r| r.total)
    }

    /// The cell of row `row` in segment `segment`, if the table has both.
    #[must_use]
    pub fn cell(&self, row: &str, segment: &str) -> Option<u64> {
        Some(self.cells[self.row_index(row)?][self.column_index(segment)?])
    }

    /// Every tie, one by one, named by row and column ids, whatever form it was stored in:
    /// per-cell ties in their stored order, grouped ties group after group.
    #[must_use]
    pub fn ties(&self) -> Vec<TieReport<'_>> {
        match &self.ties {
            StoredTies::PerCell(ties) => ties
                .iter()
                .map(|t| TieReport {
                    row: &t.row,
                    column: &t.column,
                    value: t.value,
                    alternative: t.alternative,
                })
                .collect(),
            StoredTies::Grouped(groups) => groups
                .iter()
                .flat_map(|g| {
                    g.columns.0.iter().map(|&c| TieReport {
                        row: &g.row,
                        // In range: checked when the table was read.
                        column: &self.columns[c as usize].id,
                        value: g.value,
                        alternative: g.alternative,
                    })
                })
                .collect(),
        }
    }

    /// How many ties the table has.
    #[must_use]
    pub fn tie_count(&self) -> usize {
        match &self.ties {
            StoredTies::PerCell(ties) => ties.len(),
            StoredTies::Grouped(groups) => groups.iter().map(|g| g.columns.0.len()).sum(),
        }
    }
}

/// One item of a stored `ties` list, in either form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TieItem {
    row: String,
    value: u64,
    alternative: u64,
    #[serde(default)]
    column: Option<String>,
    #[serde(default)]
    columns: Option<ColumnRuns>,
}

impl<'de> Deserialize<'de> for StoredTies {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TiesVisitor;

        impl<'de> Visitor<'de> for TiesVisitor {
            type Value = StoredTies;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("une liste d'égalités")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StoredTies, A::Error> {
                let mut per_cell = Vec::new();
                let mut grouped = Vec::new();
                while let Some(item) = seq.next_element::<TieItem>()? {
                    match (item.column, item.columns) {
                        (Some(column), None) if grouped.is_empty() => per_cell.push(CellTie {
                            row: item.row,
                            column,
                            value: item.value,
                            alternative: item.alternative,
                        }),
                        (None, Some(columns)) if per_cell.is_empty() => {
                            grouped.push(StoredTieGroup {
                                row: item.row,
                                value: item.value,
                                alternative: item.alternative,
                                columns,
                            });
                        }
                        _ => {
                            return Err(de::Error::custom(
                                "chaque égalité nomme soit une colonne (`column`), soit des colonnes (`columns`), sous une seule forme pour toute la liste",
                            ));
                        }
                    }
                }
                Ok(if per_cell.is_empty() {
                    StoredTies::Grouped(grouped)
                } else {
                    StoredTies::PerCell(per_cell)
                })
            }
        }

        deserializer.deserialize_seq(TiesVisitor)
    }
}

impl<'de> Deserialize<'de> for ColumnRuns {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// An index, or a run `[first, last]`.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Item {
            One(u32),
            Run([u32; 2]),
        }

        let mut columns = Vec::new();
        for item in Vec::<Item>::deserialize(deserializer)? {
            let (first, last) = match item {
                Item::One(c) => (c, c),
                Item::Run([first, last]) => (first, last),
            };
            if first > last || columns.last().is_some_and(|&previous| previous >= first) {
                return Err(de::Error::custom(
                    "colonnes d'une égalité : indices croissants attendus",
                ));
            }
            columns.extend(first..=last);
        }
        Ok(Self(columns))
    }
}

#[cfg(test)]
mod tests;
