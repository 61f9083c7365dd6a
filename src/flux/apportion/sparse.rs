//! The biproportional problem checked and laid out for the solver: the cells that can carry
//! units (positive weight, positive row and column totals), row-major, with a column index.

use rust_decimal::Decimal;

use super::parallel::{PARALLEL_CELLS, join};
use super::{ApportionError, MAX_CELLS, WeightMatrix};

pub(super) struct Problem {
    pub rows: usize,
    pub cols: usize,
    pub row_totals: Vec<u64>,
    pub column_totals: Vec<u64>,
    /// Cells of row `i` are `row_start[i]..row_start[i + 1]`, by increasing column.
    pub row_start: Vec<usize>,
    pub row: Vec<u32>,
    pub col: Vec<u32>,
    pub weight: Vec<f64>,
    /// Empty until [`Problem::take_logs`]: scaling does not need them, so on large tables they
    /// are computed beside it.
    pub ln_weight: Vec<f64>,
    /// Cells of column `j` are `col_cells[col_start[j]..col_start[j + 1]]`, by increasing row.
    pub col_start: Vec<usize>,
    pub col_cells: Vec<u32>,
    /// In the order of `col_cells`: the row of each cell, and its weight (emptied with
    /// `weight`). A pass over a column reads them in sequence rather than scattered over the
    /// whole table.
    pub col_row: Vec<u32>,
    pub col_weight: Vec<f64>,
    /// Raised when the caller no longer wants the table: the long loops stop at their next
    /// round.
    pub cancel: crate::flux::cancel::Cancel,
}

impl Problem {
    pub fn new(
        weights: &WeightMatrix,
        row_totals: &[u64],
        column_totals: &[u64],
    ) -> Result<Self, ApportionError> {
        let (rows, cols) = (weights.rows, weights.cols);
        if rows.checked_mul(cols).is_none_or(|n| n > MAX_CELLS) {
            return Err(ApportionError::TooLarge { rows, cols });
        }
        check_totals(rows, cols, row_totals, column_totals)?;
        let scan = scan(weights, row_totals, column_totals)?;
        check_lines(&scan, row_totals, column_totals)?;

        // Each row's cells go to their own place, in two halves (see [`fill_in_halves`]).
        let mut row_start = Vec::with_capacity(rows + 1);
        row_start.push(0);
        for core in &scan.core {
            row_start.push(row_start.last().copied().unwrap_or(0) + core);
        }
        let n = row_start[rows];
        let (mut row, mut col, mut weight) = (vec![0u32; n], vec![0u32; n], vec![0.0f64; n]);
        let cells = &weights.cells;
        let fill =
            |lines: std::ops::Range<usize>, row: &mut [u32], col: &mut [u32], w: &mut [f64]| {
                let mut out = 0;
                for i in lines {
                    let given = scan.start[i]..scan.start[i + 1];
                    let mut put = |(r, c, value): &(u32, u32, Decimal)| {
                        if !value.is_zero() && row_totals[i] > 0 && column_totals[*c as usize] > 0 {
                            row[out] = *r;
                            col[out] = *c;
                            w[out] = to_f64(*value);
                            out += 1;
                        }
                    };
                    match &scan.order {
                        None => cells[given].iter().for_each(&mut put),
                        Some(order) => order[given].iter().for_each(|k| put(&cells[*k as usize])),
                    }
                }
            };
        fill_in_halves(&row_start, (&mut row, &mut col, &mut weight), fill);
        drop(scan);
        let mut problem = Problem {
            rows,
            cols,
            row_totals: row_totals.to_vec(),
            column_totals: column_totals.to_vec(),
            row_start,
            row,
            col,
            weight,
            ln_weight: Vec::new(),
            col_start: Vec::new(),
            col_cells: Vec::new(),
            col_row: Vec::new(),
            col_weight: Vec::new(),
            cancel: crate::flux::cancel::Cancel::default(),
        };
        problem.index_columns();
        Ok(problem)
    }

    /// The logarithms of the weights, for [`Problem::take_logs`].
    pub fn logs(&self) -> Vec<f64> {
        self.weight.iter().map(|w| w.ln()).collect()
    }

    /// Scaling is done: the exact finish works on the logarithms of the weights only.
    pub fn take_logs(&mut self, logs: Vec<f64>) {
        self.ln_weight = logs;
        self.weight = Vec::new();
        self.col_weight = Vec::new();
    }

    pub fn cells(&self) -> usize {
        self.col.len()
    }

    /// The row that splits the cells in two halves of about the same size: rows before it hold
    /// about half of them. Rows differ widely (a commune's twenty segments, the State's two
    /// thousand), so halving the rows would not halve the work.
    pub fn middle_row(&self) -> usize {
        self.row_start
            .partition_point(|start| start * 2 < self.cells())
            .min(self.rows)
    }

    pub fn row_cells(&self, i: usize) -> std::ops::Range<usize> {
        self.row_start[i]..self.row_start[i + 1]
    }

    pub fn col_cells(&self, j: usize) -> &[u32] {
        &self.col_cells[self.col_start[j]..self.col_start[j + 1]]
    }

    fn index_columns(&mut self) {
        let mut start = vec![0usize; self.cols + 1];
        for c in &self.col {
            start[*c as usize + 1] += 1;
        }
        for j in 0..self.cols {
            start[j + 1] += start[j];
        }
        // Each half of the columns reads every cell and writes its own columns.
        let n = self.col.len();
        let (mut cells, mut rows, mut weights) = (vec![0u32; n], vec![0u32; n], vec![0.0; n]);
        let (col, row, weight, bounds) = (&self.col, &self.row, &self.weight, &start);
        let fill = |columns: std::ops::Range<usize>,
                    cells: &mut [u32],
                    rows: &mut [u32],
                    weights: &mut [f64]| {
            let base = bounds[columns.start];
            let mut next: Vec<usize> = bounds[columns.clone()].iter().map(|s| s - base).collect();
            for (k, c) in col.iter().enumerate() {
                let c = *c as usize;
                if columns.contains(&c) {
                    let slot = &mut next[c - columns.start];
                    cells[*slot] = k as u32;
                    rows[*slot] = row[k];
                    weights[*slot] = weight[k];
                    *slot += 1;
                }
            }
        };
        fill_in_halves(&start, (&mut cells, &mut rows, &mut weights), fill);
        self.col_start = start;
        self.col_cells = cells;
        self.col_row = rows;
        self.col_weight = weights;
    }
}

/// Three arrays of one entry per cell, laid out line by line (the cells of line `l` at
/// `start[l]..start[l + 1]`): `fill` writes the lines up to the one that halves the cells, then
/// the others, each part on its own thread on large tables. Lines differ widely in size (a
/// commune's twenty segments, the State's two thousand), so halving the lines would not halve
/// the work.
fn fill_in_halves(
    start: &[usize],
    (first, second, third): (&mut [u32], &mut [u32], &mut [f64]),
    fill: impl Fn(std::ops::Range<usize>, &mut [u32], &mut [u32], &mut [f64]) + Sync,
) {
    let (lines, n) = (start.len() - 1, first.len());
    let middle = start.partition_point(|s| s * 2 < n).min(lines);
    let split = start[middle];
    let (first_a, first_b) = first.split_at_mut(split);
    let (second_a, second_b) = second.split_at_mut(split);
    let (third_a, third_b) = third.split_at_mut(split);
    join(
        n >= PARALLEL_CELLS,
        || fill(0..middle, first_a, second_a, third_a),
        || fill(middle..lines, first_b, second_b, third_b),
    );
}

fn check_totals(
    rows: usize,
    cols: usize,
    row_totals: &[u64],
    column_totals: &[u64],
) -> Result<(), ApportionError> {
    if row_totals.len() != rows {
        return Err(ApportionError::RowTotalsLength {
            expected: rows,
            found: row_totals.len(),
        });
    }
    if column_totals.len() != cols {
        return Err(ApportionError::ColumnTotalsLength {
            expected: cols,
            found: column_totals.len(),
        });
    }
    if let Some(total) = row_totals
        .iter()
        .chain(column_totals)
        .find(|t| **t > u64::from(u32::MAX))
    {
        return Err(ApportionError::TotalTooLarge { total: *total });
    }
    let row_sum: u128 = row_totals.iter().map(|t| u128::from(*t)).sum();
    let column_sum: u128 = column_totals.iter().map(|t| u128::from(*t)).sum();
    if row_sum != column_sum {
        return Err(ApportionError::MarginSums {
            rows: row_sum,
            columns: column_sum,
        });
    }
    Ok(())
}

/// What one pass over the given cells tells: their row-major order when they are not already
/// in it, and which rows and columns have a positive weight.
struct Scan {
    /// `None` when the cells are given by increasing row, then column (the solver's order).
    order: Option<Vec<u32>>,
    /// The cells of row `i` are given at `start[i]..start[i + 1]` (of `order` when there is one).
    start: Vec<usize>,
    /// Per row, the cells that can carry units: positive weight, positive row and column totals.
    core: Vec<usize>,
    row_weighted: Vec<bool>,
    col_weighted: Vec<bool>,
}

/// Checks every cell (in range, nonnegative, at most once) and finds its row-major order.
fn scan(
    weights: &WeightMatrix,
    row_totals: &[u64],
    column_totals: &[u64],
) -> Result<Scan, ApportionError> {
    let cells = &weights.cells;
    if u32::try_from(cells.len()).is_err() {
        return Err(ApportionError::TooLarge {
            rows: weights.rows,
            cols: weights.cols,
        });
    }
    let mut row_weighted = vec![false; weights.rows];
    let mut col_weighted = vec![false; weights.cols];
    let mut count = vec![0usize; weights.rows + 1];
    let mut core = vec![0usize; weights.rows];
    let mut sorted = true;
    let mut previous: Option<(u32, u32)> = None;
    for (r, c, w) in cells {
        if *r as usize >= weights.rows || *c as usize >= weights.cols {
            return Err(ApportionError::CellOutOfRange {
                row: *r,
                col: *c,
                rows: weights.rows,
                cols: weights.cols,
            });
        }
        if w.is_sign_negative() && !w.is_zero() {
            return Err(ApportionError::NegativeCell {
                row: *r,
                col: *c,
                weight: *w,
            });
        }
        if !w.is_zero() {
            row_weighted[*r as usize] = true;
            col_weighted[*c as usize] = true;
            if row_totals[*r as usize] > 0 && column_totals[*c as usize] > 0 {
                core[*r as usize] += 1;
            }
        }
        // Strictly increasing (row, column) pairs are sorted and hold no duplicate.
        sorted &= previous.is_none_or(|p| p < (*r, *c));
        previous = Some((*r, *c));
        count[*r as usize + 1] += 1;
    }
    let order = if sorted {
        for i in 0..weights.rows {
            count[i + 1] += count[i];
        }
        None
    } else {
        Some(row_major_order(cells, &mut count)?)
    };
    Ok(Scan {
        order,
        start: count,
        core,
        row_weighted,
        col_weighted,
    })
}

/// Indices of `cells` sorted by row then column, given the count of cells of each row
/// (`count[r + 1]`, turned into the start of each row); rejects duplicates.
fn row_major_order(
    cells: &[(u32, u32, Decimal)],
    count: &mut [usize],
) -> Result<Vec<u32>, ApportionError> {
    let rows = count.len() - 1;
    for i in 0..rows {
        count[i + 1] += count[i];
    }
    let start = count;
    let mut fill = start.to_vec();
    let mut order = vec![0u32; cells.len()];
    for (k, (r, _, _)) in cells.iter().enumerate() {
        let slot = &mut fill[*r as usize];
        order[*slot] = k as u32;
        *slot += 1;
    }
    for i in 0..rows {
        let slice = &mut order[start[i]..start[i + 1]];
        // Cells given column by column arrive already sorted.
        if !slice.is_sorted_by_key(|k| cells[*k as usize].1) {
            slice.sort_unstable_by_key(|k| cells[*k as usize].1);
        }
        if let Some(pair) = slice
            .windows(2)
            .find(|p| cells[p[0] as usize].1 == cells[p[1] as usize].1)
        {
            let (r, c, _) = cells[pair[0] as usize];
            return Err(ApportionError::DuplicateCell { row: r, col: c });
        }
    }
    Ok(order)
}

/// A row or column that must receive something but has no positive weight at all.
fn check_lines(
    scan: &Scan,
    row_totals: &[u64],
    column_totals: &[u64],
) -> Result<(), ApportionError> {
    if let Some(row) = (0..row_totals.len()).find(|i| row_totals[*i] > 0 && !scan.row_weighted[*i])
    {
        return Err(ApportionError::EmptyRow {
            row,
            total: row_totals[row],
        });
    }
    if let Some(col) =
        (0..column_totals.len()).find(|j| column_totals[*j] > 0 && !scan.col_weighted[*j])
    {
        return Err(ApportionError::EmptyColumn {
            col,
            total: column_totals[col],
        });
    }
    Ok(())
}

const POW10: [f64; 29] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28,
];

/// A decimal as a float, fast (the solver's floats are only a guide; the check is exact).
///
/// The 96-bit mantissa is converted as its high 32 bits times 2⁶⁴ plus its low 64 bits: rounded
/// once up to 2⁶⁴ like a direct conversion, twice above (a relative error under 2⁻⁵²). A conversion of the whole
/// 128-bit integer is a slow library call, and the optimiser turns any test for a small
/// mantissa back into that call.
pub(super) fn to_f64(value: Decimal) -> f64 {
    let mantissa = value.mantissa().unsigned_abs();
    let high = f64::from((mantissa >> 64) as u32);
    let m = high * TWO_64 + mantissa as u64 as f64;
    let m = if value.is_sign_negative() { -m } else { m };
    m / POW10[value.scale() as usize]
}

/// 2⁶⁴.
const TWO_64: f64 = 18_446_744_073_709_551_616.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_convert_to_the_nearest_float() {
        for (mantissa, scale) in [
            (0i128, 0u32),
            (1, 0),
            (-7, 3),
            (1_234_567, 6),
            (i128::from(u64::MAX), 0),
            (i128::from(u64::MAX) + 1, 4),
            ((1i128 << 96) - 1, 28),
            (-((1i128 << 90) + 12_345), 10),
        ] {
            let value = Decimal::from_i128_with_scale(mantissa, scale);
            let expected = mantissa as f64 / 10f64.powi(scale as i32);
            let got = to_f64(value);
            assert!(
                (got - expected).abs() <= expected.abs() * 1e-14,
                "{value}: {got} au lieu de {expected}"
            );
        }
        assert_eq!(to_f64(Decimal::new(3, 1)), 0.3);
        assert_eq!(to_f64(Decimal::new(u64::MAX as i64, 0)), -1.0);
    }
}
