//! From optimal potentials to published divisors.
//!
//! The shortest-path potentials sit on the edge of their admissible region (many quotients
//! exactly at a half-way point), which would make every such cell look like a tie. Centring moves
//! each line's potential to the middle of its admissible interval, so that only true ties stay at
//! a boundary and the divisors survive being written with [`DIVISOR_DIGITS`] digits.

use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;

use super::scaling::{State, half_ln};
use super::sparse::{Problem, to_f64};
use super::{ApportionError, BiproportionalTable, DIVISOR_DIGITS, Tie, WeightMatrix};

/// Sweeps of centring: each spreads slack one step further from the shortest-path trees.
const SWEEPS: usize = 4;

/// Alternately sets each row's, then each column's, potential to the middle of its admissible
/// interval given the others. Every step keeps all cells admissible.
pub(super) fn center(p: &Problem, s: &mut State) {
    let mut scratch = Scratch::new(p);
    for _ in 0..SWEEPS {
        sweep(p, s, &mut scratch);
    }
    normalize(p, s);
}

struct Scratch {
    low: Vec<f64>,
    high: Vec<f64>,
}

impl Scratch {
    fn new(p: &Problem) -> Self {
        Self {
            low: vec![f64::NEG_INFINITY; p.cols],
            high: vec![f64::INFINITY; p.cols],
        }
    }
}

/// One sweep: each row's potential to the middle of its interval, then each column's.
fn sweep(p: &Problem, s: &mut State, scratch: &mut Scratch) {
    for i in 0..p.rows {
        let (mut l, mut h) = (f64::NEG_INFINITY, f64::INFINITY);
        for k in p.row_cells(i) {
            let (lo, hi) = bounds(p, s, k);
            let b = s.beta[p.col[k] as usize];
            l = l.max(lo - b);
            h = h.min(hi - b);
        }
        if h.is_finite() {
            s.alpha[i] = middle(l, h);
        }
    }
    let (low, high) = (&mut scratch.low, &mut scratch.high);
    low.fill(f64::NEG_INFINITY);
    high.fill(f64::INFINITY);
    for i in 0..p.rows {
        let a = s.alpha[i];
        for k in p.row_cells(i) {
            let (lo, hi) = bounds(p, s, k);
            let j = p.col[k] as usize;
            low[j] = low[j].max(lo - a);
            high[j] = high[j].min(hi - a);
        }
    }
    for j in 0..p.cols {
        if high[j].is_finite() {
            s.beta[j] = middle(low[j], high[j]);
        }
    }
}

/// The admissible range of `α + β` for cell `k`: `[ln(x − ½) − ln w, ln(x + ½) − ln w]`.
fn bounds(p: &Problem, s: &State, k: usize) -> (f64, f64) {
    let x = s.x[k];
    let lw = p.ln_weight[k];
    let lo = if x > 0 {
        half_ln(x - 1) - lw
    } else {
        f64::NEG_INFINITY
    };
    (lo, half_ln(x) - lw)
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
