//! From optimal potentials to published divisors.
//!
//! The shortest-path potentials sit on the edge of their admissible region (many quotients
//! exactly at a half-way point), which would make every such cell look like a tie. Centring moves
//! each line's potential to the middle of its admissible interval, so that only true ties stay at
//! a boundary and the divisors survive being written with [`DIVISOR_DIGITS`] digits.

use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;

use super::parallel::{PARALLEL_CELLS, join};
use super::scaling::{HalfLn, State};
use super::sparse::{Problem, to_f64};
use super::{ApportionError, BiproportionalTable, DIVISOR_DIGITS, Tie, WeightMatrix};

/// Sweeps of centring: each spreads slack one step further from the shortest-path trees.
const SWEEPS: usize = 4;

/// Alternately sets each row's, then each column's, potential to the middle of its admissible
/// interval given the others. Every step keeps all cells admissible. The table no longer changes
/// here, so each cell's admissible range is computed once; on large tables each sweep splits its
/// rows between two threads (minima and maxima do not depend on the order they are taken in).
pub(super) fn center(p: &Problem, s: &mut State) {
    let half = HalfLn::new();
    let parallel = p.cells() >= PARALLEL_CELLS && p.rows >= 2;
    let mut bounds = vec![(0.0, 0.0); p.cells()];
    let (first, second) = bounds.split_at_mut(p.cells() / 2);
    let fill = |from: usize, out: &mut [(f64, f64)]| {
        for (n, b) in out.iter_mut().enumerate() {
            *b = cell_bounds(half, p, s, from + n);
        }
    };
    let half_cells = first.len();
    join(parallel, || fill(0, first), || fill(half_cells, second));
    let middle_row = p.middle_row();
    for _ in 0..SWEEPS {
        let (top, bottom) = s.alpha.split_at_mut(middle_row);
        let beta = &s.beta;
        let ((top_low, top_high), (bottom_low, bottom_high)) = join(
            parallel,
            || center_rows(p, &bounds, beta, 0, top),
            || center_rows(p, &bounds, beta, middle_row, bottom),
        );
        for j in 0..p.cols {
            let h = top_high[j].min(bottom_high[j]);
            if h.is_finite() {
                s.beta[j] = middle(top_low[j].max(bottom_low[j]), h);
            }
        }
    }
    normalize(p, s);
}

/// Rows `first..first + alpha.len()` to the middle of their intervals; returns, per column, the
/// admissible range of its potential that the cells of these rows then allow. Each row's cells
/// are read a second time while they are still in cache, rather than in a second pass over the
/// whole table.
fn center_rows(
    p: &Problem,
    bounds: &[(f64, f64)],
    beta: &[f64],
    first: usize,
    alpha: &mut [f64],
) -> (Vec<f64>, Vec<f64>) {
    let mut low = vec![f64::NEG_INFINITY; p.cols];
    let mut high = vec![f64::INFINITY; p.cols];
    for (n, a) in alpha.iter_mut().enumerate() {
        let cells = p.row_cells(first + n);
        let (mut l, mut h) = (f64::NEG_INFINITY, f64::INFINITY);
        for k in cells.clone() {
            let (lo, hi) = bounds[k];
            let b = beta[p.col[k] as usize];
            l = l.max(lo - b);
            h = h.min(hi - b);
        }
        if h.is_finite() {
            *a = middle(l, h);
        }
        let a = *a;
        for k in cells {
            let (lo, hi) = bounds[k];
            let j = p.col[k] as usize;
            low[j] = low[j].max(lo - a);
            high[j] = high[j].min(hi - a);
        }
    }
    (low, high)
}

/// The admissible range of `α + β` for cell `k`: `[ln(x − ½) − ln w, ln(x + ½) − ln w]`.
fn cell_bounds(half: HalfLn, p: &Problem, s: &State, k: usize) -> (f64, f64) {
    let (low, high) = half.around(s.x[k]);
    let lw = p.ln_weight[k];
    (low - lw, high - lw)
}

/// The middle of `[l, h]`; for a line with every cell at zero, well below `h` (quotients ≤ ¼).
fn middle(l: f64, h: f64) -> f64 {
    if l.is_finite() {
        (l + h) / 2.0
    } else {
        h - 2.0f64.ln()
    }
}

/// Shifts potentials so that the column divisors have geometric mean 1: with weights in
/// dwellings, both kinds of divisor then stay near 1.
fn normalize(p: &Problem, s: &mut State) {
    let used: Vec<usize> = (0..p.cols)
        .filter(|j| p.col_start[*j] < p.col_start[*j + 1])
        .collect();
    if used.is_empty() {
        return;
    }
    let shift = used.iter().map(|j| s.beta[*j]).sum::<f64>() / used.len() as f64;
    for j in used {
        s.beta[j] -= shift;
    }
    for i in 0..p.rows {
        if !p.row_cells(i).is_empty() {
            s.alpha[i] += shift;
        }
    }
}

/// The dense table with its decimal divisors. Lines with a zero total get divisors that bring
/// each of their quotients to at most ¼.
pub(super) fn publish(
    weights: &WeightMatrix,
    p: &Problem,
    s: &State,
    ties: Vec<Tie>,
) -> Result<BiproportionalTable, ApportionError> {
    let (alpha, beta) = zero_line_potentials(weights, p, s);
    let mut cells = vec![0u32; p.rows * p.cols];
    for i in 0..p.rows {
        for k in p.row_cells(i) {
            cells[i * p.cols + p.col[k] as usize] = s.x[k];
        }
    }
    let row_divisors = alpha
        .iter()
        .enumerate()
        .map(|(i, a)| decimal((-a).exp(), "de la ligne", i))
        .collect::<Result<Vec<_>, _>>()?;
    let column_divisors = beta
        .iter()
        .enumerate()
        .map(|(j, b)| decimal((-b).exp(), "de la colonne", j))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(BiproportionalTable {
        rows: p.rows,
        cols: p.cols,
        cells,
        row_totals: p.row_totals.clone(),
        column_totals: p.column_totals.clone(),
        row_divisors,
        column_divisors,
        ties,
    })
}

fn zero_line_potentials(weights: &WeightMatrix, p: &Problem, s: &State) -> (Vec<f64>, Vec<f64>) {
    let mut alpha = s.alpha.clone();
    let mut beta = s.beta.clone();
    let quarter = 0.25f64.ln();
    let zero_col = |j: usize| p.column_totals[j] == 0;
    let zero_row = |i: usize| p.row_totals[i] == 0;
    if !(0..p.cols).any(zero_col) && !(0..p.rows).any(zero_row) {
        // No line with a zero total: no weight needs to be read again.
        return (alpha, beta);
    }
    for j in (0..p.cols).filter(|j| zero_col(*j)) {
        beta[j] = 0.0;
    }
    for i in (0..p.rows).filter(|i| zero_row(*i)) {
        alpha[i] = 0.0;
    }
    for (r, c, w) in &weights.cells {
        let (i, j) = (*r as usize, *c as usize);
        if *w > Decimal::ZERO && zero_col(j) && !zero_row(i) {
            beta[j] = beta[j].min(quarter - to_f64(*w).ln() - alpha[i]);
        }
    }
    for (r, c, w) in &weights.cells {
        let (i, j) = (*r as usize, *c as usize);
        if *w > Decimal::ZERO && zero_row(i) {
            alpha[i] = alpha[i].min(quarter - to_f64(*w).ln() - beta[j]);
        }
    }
    (alpha, beta)
}

fn decimal(value: f64, line: &'static str, index: usize) -> Result<Decimal, ApportionError> {
    let out_of_range = || ApportionError::DivisorRange { line, index };
    if !(value.is_finite() && value > 0.0) {
        return Err(out_of_range());
    }
    let d = Decimal::from_f64(value).ok_or_else(out_of_range)?;
    let d = d.round_sf(DIVISOR_DIGITS).unwrap_or(d).normalize();
    if d <= Decimal::ZERO {
        return Err(out_of_range());
    }
    Ok(d)
}
