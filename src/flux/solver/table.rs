//! The integer flux table (DESIGN §4.3): réservataires plus `non-reserve` in rows, segments in
//! columns; row totals by Sainte-Laguë, cells by biproportional apportionment with the divisors
//! as certificate.

use rust_decimal::Decimal;

use super::report::{Margin, TableBasis, TableReport, Ties};
use super::shares::{FULL, ShareMatrix};
use crate::flux::apportion::parallel::{PARALLEL_CELLS, join};
use crate::flux::apportion::{self, BiproportionalTable, WeightMatrix};
use crate::flux::scenario::Scenario;

pub use crate::flux::row::NON_RESERVE;

/// The table and the per-row figures the commitment rules need.
pub struct Table {
    pub report: TableReport,
    /// Per row: (total, dwellings outside QPV, dwellings in QPV).
    pub row_figures: Vec<(u64, u64, u64)>,
}

/// A weight in millionths of a dwelling as an exact decimal number of dwellings.
fn decimal(millionths: i128) -> Decimal {
    // Built from 64 bits whenever they suffice (up to nine thousand billion dwellings): the
    // 128-bit constructor is slower, and the flux table makes one per cell.
    i64::try_from(millionths).map_or_else(
        |_| Decimal::from_i128_with_scale(millionths, 6),
        |m| Decimal::new(m, 6),
    )
}

/// Builds the table for `shares` (which must not exceed 100 % in any segment).
pub fn flux_table(
    scenario: &Scenario,
    shares: &ShareMatrix,
    based_on: TableBasis,
    cancel: &crate::flux::cancel::Cancel,
) -> Result<Table, String> {
    let rows = shares.rows + 1;
    let cols = scenario.segments.len();
    let fluxes: Vec<u64> = scenario.segments.iter().map(|s| s.flux).collect();
    // Cells in row-major order, the order the apportionment works in: the réservataires' rows
    // in two halves, on two threads for large tables, then the unreserved row.
    let middle = shares.rows / 2;
    let (mut top, bottom) = join(
        shares.rows * cols >= PARALLEL_CELLS,
        || reserved_cells(shares, &fluxes, 0..middle, shares.nonzero() + cols),
        || reserved_cells(shares, &fluxes, middle..shares.rows, 0),
    );
    let mut cells = top.cells;
    cells.extend(bottom.cells);
    let mut row_weights = top.row_weights;
    row_weights.extend_from_slice(&bottom.row_weights);
    row_weights.push(0);
    for (r, b) in top.reserved.iter_mut().zip(&bottom.reserved) {
        *r += b;
    }
    let reserved = top.reserved;
    for (col, (segment, reserved)) in scenario.segments.iter().zip(&reserved).enumerate() {
        let free = i128::from(FULL) * i128::from(segment.flux) - reserved;
        if free < 0 {
            return Err(format!(
                "dans le segment {}, les parts dépassent 100 % : aucun tableau ne peut être établi",
                segment.id
            ));
        }
        if free > 0 {
            cells.push(((rows - 1) as u32, col as u32, decimal(free)));
            row_weights[rows - 1] += free;
        }
    }
    let total = scenario.total_flux();
    let row_totals = apportion::sainte_lague(
        total,
        &row_weights.iter().map(|w| decimal(*w)).collect::<Vec<_>>(),
    )
    .map_err(|e| format!("répartition des totaux par réservataire impossible : {e}"))?;
    let col_totals: Vec<u64> = scenario.segments.iter().map(|s| s.flux).collect();
    let matrix = WeightMatrix { rows, cols, cells };
    let table = apportion::biproportional_until(&matrix, &row_totals.seats, &col_totals, cancel)
        .map_err(|e| name_indices(scenario, &e.to_string()))?;
    Ok(report(
        scenario,
        table,
        &row_totals.seats,
        &col_totals,
        based_on,
    ))
}

/// The weighted cells of some réservataires' rows, with the weight of each of these rows and
/// what they reserve in each segment (in millionths of a dwelling).
struct Reserved {
    cells: Vec<(u32, u32, Decimal)>,
    row_weights: Vec<i128>,
    reserved: Vec<i128>,
}

fn reserved_cells(
    shares: &ShareMatrix,
    fluxes: &[u64],
    rows: std::ops::Range<usize>,
    capacity: usize,
) -> Reserved {
    let mut part = Reserved {
        cells: Vec::with_capacity(capacity),
        row_weights: Vec::with_capacity(rows.len()),
        reserved: vec![0; fluxes.len()],
    };
    for row in rows {
        let mut row_weight = 0;
        for (col, (flux, reserved)) in fluxes.iter().zip(&mut part.reserved).enumerate() {
            let w = shares.weight(row, col, *flux);
            if w > 0 {
                part.cells.push((row as u32, col as u32, decimal(w)));
                row_weight += w;
                *reserved += w;
            }
        }
        part.row_weights.push(row_weight);
    }
    part
}

fn row_id(scenario: &Scenario, row: usize) -> String {
    scenario
        .reservataires
        .get(row)
        .map_or_else(|| NON_RESERVE.to_owned(), |r| r.id.clone())
}

/// Apportionment errors name rows and columns by index; the table names them by id.
fn name_indices(scenario: &Scenario, message: &str) -> String {
    let rows: Vec<String> = (0..=scenario.reservataires.len())
        .map(|r| format!("{r}={}", row_id(scenario, r)))
        .collect();
    format!(
        "tableau des flux impossible : {message} (lignes : {} ; colonnes dans l'ordre des segments)",
        rows.join(", ")
    )
}

fn report(
    scenario: &Scenario,
    table: BiproportionalTable,
    row_totals: &[u64],
    col_totals: &[u64],
    based_on: TableBasis,
) -> Table {
    let rows = row_totals.len();
    let cols = col_totals.len();
    let mut row_figures = vec![(0u64, 0u64, 0u64); rows];
    let cells: Vec<Vec<u64>> = row_figures
        .iter_mut()
        .enumerate()
        .map(|(r, figures)| {
            let row = table.cells.get(r * cols..(r + 1) * cols).unwrap_or(&[]);
            row.iter()
                .zip(&scenario.segments)
                .map(|(value, segment)| {
                    let value = u64::from(*value);
                    figures.0 += value;
                    if segment.qpv {
                        figures.2 += value;
                    } else {
                        figures.1 += value;
                    }
                    value
                })
                .collect()
        })
        .collect();
    let row_ids: Vec<String> = (0..rows).map(|r| row_id(scenario, r)).collect();
    let column_ids: Vec<String> = scenario.segments.iter().map(|s| s.id.clone()).collect();
    let report = TableReport {
        rows: row_ids
            .iter()
            .zip(row_totals)
            .map(|(id, total)| Margin {
                id: id.clone(),
                total: *total,
            })
            .collect(),
        columns: scenario
            .segments
            .iter()
            .map(|s| Margin {
                id: s.id.clone(),
                total: s.flux,
            })
            .collect(),
        cells,
        row_divisors: table.row_divisors.iter().map(ToString::to_string).collect(),
        column_divisors: table
            .column_divisors
            .iter()
            .map(ToString::to_string)
            .collect(),
        ties: Ties::new(row_ids, column_ids, table.ties),
        based_on,
        method: format!(
            "Totaux des lignes : méthode de Sainte-Laguë sur les poids des lignes ; cellules : répartition biproportionnelle à l'arrondi standard, chaque cellule étant l'arrondi de poids / (diviseur de ligne × diviseur de colonne). Égalités : {}",
            apportion::TIE_RULE
        ),
    };
    Table {
        report,
        row_figures,
    }
}
