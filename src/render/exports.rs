//! Downloads of the flux table (issue 5): CSV, JSON and XLSX of one version's table, filtered by
//! réservataire, commune, typology and QPV. Pure: a version document in, bytes out.
//!
//! The CSV follows French spreadsheet habits: `;` between fields, CRLF line ends, UTF-8 with a
//! byte-order mark (without it Excel reads the accents as Windows-1252). Its first section is the
//! long table, one line per (réservataire, segment), whose sums give every margin; after one
//! empty line comes a totals section with the same seven columns, segment « Total », one line per
//! réservataire and a last line for the whole table. A program reading the CSV stops at the
//! first empty line.

mod xlsx;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use serde_json::{Value, json};

use crate::flux::scenario::{RawReservataire, RawSegment};
use crate::flux::solver::stored::{ReportTable, StoredTable};
use crate::services::conventions::document::VersionDocument;
use crate::services::conventions::parsed::ParsedVersion;

fn no_table<R>(doc: &VersionDocument<R>, reason: Option<&str>) -> ExportError {
    ExportError::NoTable(format!(
        "la version n° {} n'a pas de tableau des flux : {}",
        doc.number,
        reason.unwrap_or("aucun flux")
    ))
}

/// Id of the bailleur's own row in the table (`flux::solver::table::NON_RESERVE`).
const NON_RESERVE: &str = crate::flux::solver::table::NON_RESERVE;

/// What to keep of the table; `None` keeps everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TableFilter {
    /// A row id (réservataire id, or `non-reserve` for the bailleur's unreserved flux).
    pub reservataire: Option<String>,
    /// An INSEE code.
    pub commune: Option<String>,
    pub typology: Option<String>,
    pub qpv: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Xlsx,
    Json,
}

impl ExportFormat {
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Json => "application/json",
        }
    }

    pub const fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
            Self::Json => "json",
        }
    }
}

/// Why an export cannot be made; the message is French and safe to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// The caller's filter names nothing in the table.
    #[error("{0}")]
    Filter(String),
    /// The version has no table (its report explains why).
    #[error("{0}")]
    NoTable(String),
    /// The document's table is not what the solver writes.
    #[error("tableau des flux illisible : {0}")]
    Malformed(String),
    #[error("classeur XLSX impossible à produire : {0}")]
    Xlsx(String),
}

/// A row of the table: a réservataire or the bailleur's unreserved flux.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowInfo {
    pub id: String,
    pub name: String,
    pub kind: String,
    /// The row's margin in the whole table.
    pub margin: u64,
    pub divisor: String,
}

/// A column of the table: a segment of the assiette.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentInfo {
    pub id: String,
    pub commune: String,
    pub commune_name: String,
    pub typology: Option<String>,
    pub qpv: bool,
    /// The segment's annual flux: the column's margin in the whole table.
    pub flux: u64,
    pub divisor: String,
}

impl SegmentInfo {
    fn typology_label(&self) -> &str {
        self.typology.as_deref().unwrap_or("toutes")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TieInfo {
    pub row: String,
    pub column: String,
    pub value: u64,
    pub alternative: u64,
}

/// The table of one version, with names, restricted to a filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FluxTable {
    pub convention: i64,
    pub title: String,
    pub version: i64,
    pub hash: String,
    pub year: i32,
    pub filter: TableFilter,
    pub rows: Vec<RowInfo>,
    pub segments: Vec<SegmentInfo>,
    /// `cells[r][s]`: dwellings of row `r` in segment `s`.
    pub cells: Vec<Vec<u64>>,
    /// Ties among the kept cells.
    pub ties: Vec<TieInfo>,
    pub method: String,
}

impl FluxTable {
    /// The table of `doc` (whose identity is `hash`) kept by `filter`; commune names come from
    /// `commune_names` (INSEE code → name), the code standing in for a missing name.
    pub fn from_document(
        doc: &VersionDocument,
        hash: &str,
        commune_names: &BTreeMap<String, String>,
        filter: &TableFilter,
    ) -> Result<Self, ExportError> {
        let ReportTable { table, table_error } = doc
            .report_table()
            .map_err(|e| ExportError::Malformed(e.0))?;
        let table = table.ok_or_else(|| no_table(doc, table_error.as_deref()))?;
        Self::from_table(doc, &table, hash, commune_names, filter)
    }

    /// [`FluxTable::from_document`] for a version already read into its types.
    pub fn from_parsed(
        version: &ParsedVersion,
        commune_names: &BTreeMap<String, String>,
        filter: &TableFilter,
    ) -> Result<Self, ExportError> {
        let doc = &version.document;
        let table = doc
            .report
            .table
            .as_ref()
            .ok_or_else(|| no_table(doc, doc.report.table_error.as_deref()))?;
        Self::from_table(doc, table, &version.hash, commune_names, filter)
    }

    fn from_table<R>(
        doc: &VersionDocument<R>,
        table: &StoredTable,
        hash: &str,
        commune_names: &BTreeMap<String, String>,
        filter: &TableFilter,
    ) -> Result<Self, ExportError> {
        let reservataires: HashMap<&str, &RawReservataire> = doc
            .scenario
            .reservataires
            .iter()
            .map(|r| (r.id.as_str(), r))
            .collect();
        let all_rows: Vec<RowInfo> = table
            .rows
            .iter()
            .zip(&table.row_divisors)
            .map(|(row, divisor)| {
                let (name, kind) = if row.id == NON_RESERVE {
                    (
                        "Flux non réservé (bailleur)".to_owned(),
                        "bailleur".to_owned(),
                    )
                } else {
                    reservataires.get(row.id.as_str()).map_or_else(
                        || (row.id.clone(), String::new()),
                        |x| (x.name.clone(), x.kind.clone()),
                    )
                };
                RowInfo {
                    id: row.id.clone(),
                    name,
                    kind,
                    margin: row.total,
                    divisor: divisor.clone(),
                }
            })
            .collect();
        let segments: HashMap<&str, &RawSegment> = doc
            .scenario
            .segments
            .iter()
            .map(|s| (s.id.as_str(), s))
            .collect();
        let all_segments = table
            .columns
            .iter()
            .zip(&table.column_divisors)
            .map(|(col, divisor)| {
                let segment = segments.get(col.id.as_str()).ok_or_else(|| {
                    ExportError::Malformed(format!("segment « {} » absent du scénario", col.id))
                })?;
                Ok(SegmentInfo {
                    id: col.id.clone(),
                    commune: segment.commune.clone(),
                    commune_name: commune_names
                        .get(&segment.commune)
                        .cloned()
                        .unwrap_or_else(|| segment.commune.clone()),
                    typology: segment.typology.clone(),
                    qpv: segment.qpv,
                    flux: col.total,
                    divisor: divisor.clone(),
                })
            })
            .collect::<Result<Vec<_>, ExportError>>()?;
        let row_keep = keep_rows(&all_rows, filter)?;
        let col_keep = keep_segments(&all_segments, filter)?;
        let rows: Vec<RowInfo> = row_keep.iter().map(|&r| all_rows[r].clone()).collect();
        let segments: Vec<SegmentInfo> =
            col_keep.iter().map(|&c| all_segments[c].clone()).collect();
        let cells = row_keep
            .iter()
            .map(|&r| col_keep.iter().map(|&c| table.cells[r][c]).collect())
            .collect();
        let kept_rows: HashSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let kept_segments: HashSet<&str> = segments.iter().map(|s| s.id.as_str()).collect();
        let ties = table
            .ties()
            .into_iter()
            .filter(|t| kept_rows.contains(t.row) && kept_segments.contains(t.column))
            .map(|t| TieInfo {
                row: t.row.to_owned(),
                column: t.column.to_owned(),
                value: t.value,
                alternative: t.alternative,
            })
            .collect();
        Ok(Self {
            convention: doc.convention,
            title: doc.title.clone(),
            version: doc.number,
            hash: hash.to_owned(),
            year: doc.scenario.year,
            filter: filter.clone(),
            rows,
            segments,
            cells,
            ties,
            method: table.method.clone(),
        })
    }

    /// Dwellings of each kept row over the kept segments.
    pub fn row_totals(&self) -> Vec<u64> {
        self.cells.iter().map(|line| line.iter().sum()).collect()
    }

    /// Dwellings of each kept segment over the kept rows.
    pub fn segment_totals(&self) -> Vec<u64> {
        (0..self.segments.len())
            .map(|c| self.cells.iter().map(|line| line[c]).sum())
            .collect()
    }

    pub fn total(&self) -> u64 {
        self.row_totals().iter().sum()
    }

    /// The communes of the kept segments, in order of first appearance: (code, name).
    pub fn communes(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for s in &self.segments {
            if !out.iter().any(|(code, _)| *code == s.commune) {
                out.push((s.commune.clone(), s.commune_name.clone()));
            }
        }
        out
    }

    /// `[row][commune]`: dwellings of each row in each commune of `communes()`.
    pub fn by_commune(&self) -> Vec<Vec<u64>> {
        let communes = self.communes();
        self.cells
            .iter()
            .map(|line| {
                let mut sums = vec![0u64; communes.len()];
                for (c, value) in line.iter().enumerate() {
                    let commune = &self.segments[c].commune;
                    if let Some(k) = communes.iter().position(|(code, _)| code == commune) {
                        sums[k] += value;
                    }
                }
                sums
            })
            .collect()
    }

    /// The filter in words, for titles.
    pub fn filter_label(&self) -> String {
        let f = &self.filter;
        let mut parts = Vec::new();
        if let Some(r) = &f.reservataire {
            let name = self
                .rows
                .iter()
                .find(|x| x.id == *r)
                .map_or(r.as_str(), |x| x.name.as_str());
            parts.push(format!("réservataire {name}"));
        }
        if let Some(c) = &f.commune {
            parts.push(format!("commune {c}"));
        }
        if let Some(t) = &f.typology {
            parts.push(format!("typologie {t}"));
        }
        if let Some(q) = f.qpv {
            parts.push(if q { "en QPV" } else { "hors QPV" }.to_owned());
        }
        if parts.is_empty() {
            "Tableau complet".to_owned()
        } else {
            format!("Filtre : {}", parts.join(", "))
        }
    }

    /// A file name for this export: `flux-convention-3-v7.csv`.
    pub fn file_name(&self, format: ExportFormat) -> String {
        format!(
            "flux-convention-{}-v{}.{}",
            self.convention,
            self.version,
            format.extension()
        )
    }

    pub fn to_bytes(&self, format: ExportFormat) -> Result<Vec<u8>, ExportError> {
        match format {
            ExportFormat::Csv => Ok(self.to_csv()),
            ExportFormat::Json => Ok(self.to_json()),
            ExportFormat::Xlsx => xlsx::workbook(self),
        }
    }

    /// The CSV described in the module's documentation.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut out = String::from('\u{feff}');
        csv_line(
            &mut out,
            &[
                "reservataire",
                "nom",
                "segment",
                "commune",
                "typologie",
                "qpv",
                "logements",
            ],
        );
        for (r, row) in self.rows.iter().enumerate() {
            for (c, segment) in self.segments.iter().enumerate() {
                csv_line(
                    &mut out,
                    &[
                        &row.id,
                        &row.name,
                        &segment.id,
                        &segment.commune,
                        segment.typology_label(),
                        if segment.qpv { "oui" } else { "non" },
                        &self.cells[r][c].to_string(),
                    ],
                );
            }
        }
        out.push_str("\r\n");
        for (row, total) in self.rows.iter().zip(self.row_totals()) {
            let total = total.to_string();
            csv_line(&mut out, &[&row.id, &row.name, "Total", "", "", "", &total]);
        }
        let total = self.total().to_string();
        csv_line(
            &mut out,
            &["total", "Toutes les lignes", "Total", "", "", "", &total],
        );
        out.into_bytes()
    }

    /// The filtered table with names, margins and certificate, as JSON.
    pub fn to_json(&self) -> Vec<u8> {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .zip(self.row_totals())
            .map(|(r, total)| {
                json!({"id": r.id, "name": r.name, "kind": r.kind, "total": total,
                       "margin": r.margin, "divisor": r.divisor})
            })
            .collect();
        let columns: Vec<Value> = self
            .segments
            .iter()
            .zip(self.segment_totals())
            .map(|(s, total)| {
                json!({"id": s.id, "commune": s.commune, "commune_name": s.commune_name,
                       "typology": s.typology, "qpv": s.qpv, "total": total,
                       "margin": s.flux, "divisor": s.divisor})
            })
            .collect();
        let value = json!({
            "convention": self.convention, "title": self.title, "version": self.version,
            "hash": self.hash, "year": self.year, "filter": self.filter,
            "rows": rows, "columns": columns, "cells": self.cells, "total": self.total(),
            "ties": self.ties, "method": self.method,
        });
        // Serializing a `Value` cannot fail.
        serde_json::to_vec_pretty(&value).unwrap_or_default()
    }
}

pub(crate) fn csv_line(out: &mut String, fields: &[&str]) {
    let escaped: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    out.push_str(&escaped.join(";"));
    out.push_str("\r\n");
}

/// A spreadsheet reads a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return as a
/// formula (`=HYPERLINK(…)` as a party's name would run on the reader's machine): such a cell
/// gets a leading apostrophe, the OWASP rule against CSV injection.
fn csv_field(field: &str) -> String {
    let field = if field.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{field}")
    } else {
        field.to_owned()
    };
    if field.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field
    }
}

fn keep_rows(rows: &[RowInfo], filter: &TableFilter) -> Result<Vec<usize>, ExportError> {
    match &filter.reservataire {
        None => Ok((0..rows.len()).collect()),
        Some(wanted) => rows
            .iter()
            .position(|r| r.id == *wanted)
            .map(|r| vec![r])
            .ok_or_else(|| {
                ExportError::Filter(format!(
                    "paramètre reservataire : « {wanted} » n'est pas une ligne du tableau (valeurs admises : {})",
                    rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>().join(", ")
                ))
            }),
    }
}

fn keep_segments(
    segments: &[SegmentInfo],
    filter: &TableFilter,
) -> Result<Vec<usize>, ExportError> {
    if let Some(commune) = &filter.commune
        && !segments.iter().any(|s| s.commune == *commune)
    {
        let mut codes: Vec<&str> = segments.iter().map(|s| s.commune.as_str()).collect();
        codes.dedup();
        return Err(ExportError::Filter(format!(
            "paramètre commune : aucun segment du tableau dans la commune « {commune} » (codes INSEE admis : {})",
            codes.join(", ")
        )));
    }
    if let Some(typology) = &filter.typology
        && !segments
            .iter()
            .any(|s| s.typology.as_deref() == Some(typology.as_str()))
    {
        let mut labels: Vec<&str> = segments
            .iter()
            .filter_map(|s| s.typology.as_deref())
            .collect();
        labels.sort_unstable();
        labels.dedup();
        return Err(ExportError::Filter(format!(
            "paramètre typologie : « {typology} » n'est la typologie d'aucun segment (valeurs admises : {})",
            if labels.is_empty() {
                "aucune, le tableau ne distingue pas les typologies".to_owned()
            } else {
                labels.join(", ")
            }
        )));
    }
    Ok(segments
        .iter()
        .enumerate()
        .filter(|(_, s)| filter.commune.as_ref().is_none_or(|c| s.commune == *c))
        .filter(|(_, s)| {
            filter
                .typology
                .as_ref()
                .is_none_or(|t| s.typology.as_deref() == Some(t.as_str()))
        })
        .filter(|(_, s)| filter.qpv.is_none_or(|q| s.qpv == q))
        .map(|(c, _)| c)
        .collect())
}
