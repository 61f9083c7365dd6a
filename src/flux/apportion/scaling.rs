//! A close start for the exact search: alternating scaling, first continuous (iterative
//! proportional fitting), then rounded (each row, then each column, apportioned by Sainte-Laguë
//! with its own multiplier).
//!
//! Weights of the form share × segment flux make many quotients exactly equal, and then plain
//! rounded scaling sends every row to the same cells and cycles. Here, when a line's multiplier
//! is pinned at a point where several of its cells are half-way, their units go to the cells
//! whose other line lacks the most. The start only has to be close: the transportation step
//! makes it exact.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::OnceLock;

use super::parallel::{PARALLEL_CELLS, join};
use super::sparse::Problem;

/// A table in progress, consistent with its multipliers: every core cell `k` of row `i` and
/// column `j` is a standard rounding of `weight[k] · exp(alpha[i] + beta[j])`.
#[derive(Clone)]
pub(super) struct State {
    pub x: Vec<u32>,
    pub alpha: Vec<f64>,
    pub beta: Vec<f64>,
}

const CONTINUOUS_STEPS: usize = 12;
const ROUNDED_STEPS: usize = 8;
/// Quotients this close (relatively) count as equal when balancing ties.
const TIE: f64 = 1e-12;

pub(super) fn start(p: &Problem) -> State {
    let parallel = p.cells() >= PARALLEL_CELLS;
    let plateau_start = proportional_to_columns(p);
    let chosen = if plateau_start {
        // Share × flux weights: the plateau is the start (see [`plateau`]), and its row step
        // has both threads.
        let (lambda, mu) = plateau(p);
        Start::new(p, lambda, mu, parallel)
    } else {
        // Two starts, each taken through one rounded row step (on two threads for large
        // tables); the one whose columns are closer to their totals goes on.
        let fitted = || {
            let mut lambda = vec![1.0; p.rows];
            let mut mu = vec![1.0; p.cols];
            continuous(p, &mut lambda, &mut mu);
            Start::new(p, lambda, mu, false)
        };
        let on_plateau = || {
            let (lambda, mu) = plateau(p);
            Start::new(p, lambda, mu, false)
        };
        let (fitted, on_plateau) = join(parallel, fitted, on_plateau);
        if on_plateau.deviation < fitted.deviation {
            on_plateau
        } else {
            fitted
        }
    };
    let Start {
        mut rounded,
        mut x,
        mut lambda,
        mut mu,
        deviation: _,
    } = chosen;
    rounded.parallel = parallel;
    rounded.plateau = plateau_start;
    rounded.run(p, &mut lambda, &mut mu, &mut x);
    State {
        x,
        alpha: lambda.iter().map(|l| l.ln()).collect(),
        beta: mu.iter().map(|m| m.ln()).collect(),
    }
}

/// A start after its first rounded row step.
struct Start {
    rounded: Rounded,
    x: Vec<u32>,
    lambda: Vec<f64>,
    mu: Vec<f64>,
    /// How far the columns are from their totals.
    deviation: u64,
}

impl Start {
    fn new(p: &Problem, mut lambda: Vec<f64>, mu: Vec<f64>, parallel: bool) -> Self {
        let mut rounded = Rounded::new(p);
        rounded.parallel = parallel;
        let mut x = vec![0u32; p.cells()];
        rounded.row_step(p, &mut lambda, &mu, &mut x, false);
        let deviation = deviation(&rounded.col_load, &p.column_totals);
        Self {
            rounded,
            x,
            lambda,
            mu,
            deviation,
        }
    }
}

/// Whether at least half the cells lie in rows whose weights are proportional to their column
/// totals (to [`TIE`]), as the flux table's share × segment flux weights are in every row of
/// one share: then [`plateau`] is the start, and the fitted one is not computed.
pub(super) fn proportional_to_columns(p: &Problem) -> bool {
    let mut proportional = 0;
    for i in 0..p.rows {
        let cells = p.row_cells(i);
        let Some(first) = cells.clone().next() else {
            continue;
        };
        let (w0, c0) = (
            p.weight[first],
            p.column_totals[p.col[first] as usize] as f64,
        );
        let flat = cells.clone().all(|k| {
            // w / c = w0 / c0, without a division.
            let (w, c) = (p.weight[k], p.column_totals[p.col[k] as usize] as f64);
            (w * c0 - w0 * c).abs() <= w0 * c * TIE
        });
        if flat {
            proportional += cells.len();
        }
    }
    proportional * 2 >= p.cells()
}

/// The other start: column multipliers `1 / column total`, row multipliers fitted to them.
///
/// The flux table's weights are share × segment flux and its column totals are the segment
/// fluxes, so with these multipliers every quotient of a row with one share is the same in
/// every column: its cells are exactly tied, and the tie balancing spreads them. Fitted scaling
/// drifts slightly off this plateau (the unreserved row is not proportional), and every small
/// réservataire then piles its units into the few columns the drift favours.
fn plateau(p: &Problem) -> (Vec<f64>, Vec<f64>) {
    let mu: Vec<f64> = p
        .column_totals
        .iter()
        .map(|c| if *c > 0 { 1.0 / *c as f64 } else { 1.0 })
        .collect();
    let mut lambda = vec![1.0; p.rows];
    fit_rows(p, &mut lambda, &mu);
    (lambda, mu)
}

/// Sets each row multiplier so that the row's continuous sum meets its total, given the column
/// multipliers; returns the largest gap the old multipliers left.
fn fit_rows(p: &Problem, lambda: &mut [f64], mu: &[f64]) -> f64 {
    let mut worst: f64 = 0.0;
    for (i, l) in lambda.iter_mut().enumerate() {
        let s: f64 = p
            .row_cells(i)
            .map(|k| p.weight[k] * mu[p.col[k] as usize])
            .sum();
        if s > 0.0 {
            let total = p.row_totals[i] as f64;
            worst = worst.max((*l * s - total).abs());
            *l = total / s;
        }
    }
    worst
}

/// Iterative proportional fitting, stopped once every row is within a tenth of a unit.
fn continuous(p: &Problem, lambda: &mut [f64], mu: &mut [f64]) {
    let mut col_sum = vec![0.0; p.cols];
    for _ in 0..CONTINUOUS_STEPS {
        // A cancelled start is never used: the next step reports the cancellation.
        if p.cancel.is_cancelled() || fit_rows(p, lambda, mu) < 0.1 {
            return;
        }
        col_sum.fill(0.0);
        for (i, l) in lambda.iter().enumerate() {
            for k in p.row_cells(i) {
                col_sum[p.col[k] as usize] += p.weight[k] * l;
            }
        }
        for (j, m) in mu.iter_mut().enumerate() {
            if col_sum[j] > 0.0 {
                *m = p.column_totals[j] as f64 / col_sum[j];
            }
        }
    }
}

/// A cell of a line: its index, its value (weight times the other line's multiplier), and the
/// deficit of the other line it belongs to (that line's total minus what it holds elsewhere).
type Entry = (u32, f64, i64);

/// Rounded alternating scaling. On large tables each step splits its lines between two threads:
/// each half sees the other lines' loads as they were when the step began (the tie balancing
/// uses them as a guide only), and the result does not depend on how the threads run.
struct Rounded {
    parallel: bool,
    /// Started on the plateau: see [`ends`].
    plateau: bool,
    row_load: Vec<i64>,
    col_load: Vec<i64>,
    /// The cells a column step rounds, in column order (allocated at the first column step).
    by_column: Vec<u32>,
}

impl Rounded {
    /// Sequential until told otherwise.
    fn new(p: &Problem) -> Self {
        Self {
            parallel: false,
            plateau: false,
            row_load: vec![0; p.rows],
            col_load: vec![0; p.cols],
            by_column: Vec::new(),
        }
    }

    /// Rounded alternating scaling until both margins hold, progress stalls, or the step budget
    /// is spent. Always ends with every cell rounded from the current multipliers.
    /// Starts with a column step: the first row step is done by [`start`].
    fn run(&mut self, p: &Problem, lambda: &mut [f64], mu: &mut [f64], x: &mut [u32]) {
        let mut previous = u64::MAX;
        for step in 0..ROUNDED_STEPS {
            if p.cancel.is_cancelled() {
                return;
            }
            if step > 0 {
                self.row_step(p, lambda, mu, x, true);
            }
            if deviation(&self.col_load, &p.column_totals) == 0 {
                return;
            }
            self.column_step(p, lambda, mu, x);
            let off = deviation(&self.row_load, &p.row_totals);
            if off == 0 || ends(self.plateau, step, off, previous, p.rows) {
                return;
            }
            previous = off;
        }
    }

    /// `rounded`: the row multipliers come from a previous row step (not from a fit), so most
    /// rows stay pinned at them.
    fn row_step(
        &mut self,
        p: &Problem,
        lambda: &mut [f64],
        mu: &[f64],
        x: &mut [u32],
        rounded: bool,
    ) {
        let middle = if self.parallel {
            p.middle_row()
        } else {
            p.rows
        };
        let split = p.row_start[middle];
        let (x_top, x_bottom) = x.split_at_mut(split);
        let (lambda_top, lambda_bottom) = lambda.split_at_mut(middle);
        let (sums_top, sums_bottom) = self.row_load.split_at_mut(middle);
        let load = &self.col_load;
        let (top, bottom) = join(
            self.parallel,
            || rows_pass(p, 0, lambda_top, mu, x_top, load, sums_top, rounded),
            || {
                rows_pass(
                    p,
                    middle,
                    lambda_bottom,
                    mu,
                    x_bottom,
                    load,
                    sums_bottom,
                    rounded,
                )
            },
        );
        combine(&mut self.col_load, &top, &bottom);
    }

    fn column_step(&mut self, p: &Problem, lambda: &[f64], mu: &mut [f64], x: &mut [u32]) {
        let middle = if self.parallel { p.cols / 2 } else { p.cols };
        let (mu_left, mu_right) = mu.split_at_mut(middle);
        let (sums_left, sums_right) = self.col_load.split_at_mut(middle);
        self.by_column.resize(p.cells(), 0);
        let (out_left, out_right) = self.by_column.split_at_mut(p.col_start[middle]);
        let (old, load) = (&*x, &self.row_load);
        let (left, right) = join(
            self.parallel,
            || columns_pass(p, 0, lambda, mu_left, old, load, sums_left, out_left),
            || {
                columns_pass(
                    p, middle, lambda, mu_right, old, load, sums_right, out_right,
                )
            },
        );
        combine(&mut self.row_load, &left, &right);
        // Back to row order: the cells of the rows before the middle row on one thread, the
        // others on a second. A column lists its cells by increasing row, so each column is cut
        // in two at one place.
        let middle_row = if self.parallel {
            p.middle_row()
        } else {
            p.rows
        };
        let (x_top, x_bottom) = x.split_at_mut(p.row_start[middle_row]);
        let by_column = &self.by_column;
        let scatter = |top: bool, x: &mut [u32]| {
            let base = if top { 0 } else { p.row_start[middle_row] };
            for j in 0..p.cols {
                let column = p.col_start[j]..p.col_start[j + 1];
                let cut = column.start
                    + p.col_row[column.clone()].partition_point(|r| (*r as usize) < middle_row);
                let part = if top {
                    column.start..cut
                } else {
                    cut..column.end
                };
                for (k, v) in p.col_cells[part.clone()].iter().zip(&by_column[part]) {
                    x[*k as usize - base] = *v;
                }
            }
        };
        join(
            self.parallel,
            || scatter(true, x_top),
            || scatter(false, x_bottom),
        );
    }
}

/// Loads after two halves of a step that each started from `load`: what each half changed,
/// added.
fn combine(load: &mut [i64], first: &[i64], second: &[i64]) {
    for ((l, a), b) in load.iter_mut().zip(first).zip(second) {
        *l = a + b - *l;
    }
}

/// Rounds rows `first..first + lambda.len()`, whose cells are `x` (from the first of them on),
/// given the column loads at the start of the step; sets the sum of each of these rows in
/// `sums` and returns the column loads as this pass leaves them. When the multipliers come from
/// a previous row step (`rounded`), each row is first tried at its multiplier as its cells are
/// read: nearly every row stays pinned there.
#[allow(clippy::too_many_arguments)]
fn rows_pass(
    p: &Problem,
    first: usize,
    lambda: &mut [f64],
    mu: &[f64],
    x: &mut [u32],
    col_load: &[i64],
    sums: &mut [i64],
    rounded: bool,
) -> Vec<i64> {
    let mut load = col_load.to_vec();
    let (mut line, mut tied) = (Vec::new(), Tied::new());
    let base = p.row_start[first];
    for (n, l) in lambda.iter_mut().enumerate() {
        let i = first + n;
        let total = p.row_totals[i];
        line.clear();
        if rounded && usable(*l) && !p.row_cells(i).is_empty() {
            // First, as round_line would: every cell at the row's current multiplier, rounded as
            // it is read, with the loads kept up to date.
            let (cap, mut assigned) = (total as f64, 0);
            tied.clear();
            for k in p.row_cells(i) {
                let j = p.col[k] as usize;
                load[j] -= i64::from(x[k - base]);
                let deficit = p.column_totals[j] as i64 - load[j];
                let v = p.weight[k] * mu[j];
                let s = round_cell(v, *l, cap, deficit, (k - base) as u32, &mut tied);
                x[k - base] = s as u32;
                load[j] += s;
                assigned += s;
            }
            if stays_pinned(assigned, total, &tied) {
                share_units(&mut tied, total - assigned as u64, |at| {
                    x[at] += 1;
                    load[p.col[base + at] as usize] += 1;
                });
                sums[n] = total as i64;
                continue;
            }
            // Not pinned: the general path below takes the row's cells out of the loads again.
        }
        for k in p.row_cells(i) {
            let j = p.col[k] as usize;
            load[j] -= i64::from(x[k - base]);
            let deficit = p.column_totals[j] as i64 - load[j];
            line.push(((k - base) as u32, p.weight[k] * mu[j], deficit));
        }
        *l = round_line(&line, total, *l, x, &mut tied);
        let mut sum = 0;
        for k in p.row_cells(i) {
            let v = i64::from(x[k - base]);
            load[p.col[k] as usize] += v;
            sum += v;
        }
        sums[n] = sum;
    }
    load
}

/// Rounds columns `first..first + mu.len()` given the table `x` and the row loads at the start
/// of the step; sets the sum of each of these columns in `sums` and their new cells in `out` (in
/// column order), and returns the row loads as this pass leaves them. Like [`rows_pass`], each
/// column is first rounded at its current multiplier as its cells are read.
#[allow(clippy::too_many_arguments)]
fn columns_pass(
    p: &Problem,
    first: usize,
    lambda: &[f64],
    mu: &mut [f64],
    x: &[u32],
    row_load: &[i64],
    sums: &mut [i64],
    out: &mut [u32],
) -> Vec<i64> {
    let mut load = row_load.to_vec();
    let (mut line, mut tied) = (Vec::new(), Tied::new());
    let base = p.col_start[first];
    for (n, m) in mu.iter_mut().enumerate() {
        let j = first + n;
        let column = p.col_start[j]..p.col_start[j + 1];
        let total = p.column_totals[j];
        line.clear();
        if usable(*m) && !column.is_empty() {
            // As in `rows_pass`, but the line is kept: a quarter of the columns do not stay
            // pinned and go on from here.
            let (cap, mut assigned) = (total as f64, 0);
            tied.clear();
            for q in column.clone() {
                let i = p.col_row[q] as usize;
                load[i] -= i64::from(x[p.col_cells[q] as usize]);
                let deficit = p.row_totals[i] as i64 - load[i];
                let v = p.col_weight[q] * lambda[i];
                line.push(((q - base) as u32, v, deficit));
                let s = round_cell(v, *m, cap, deficit, (q - base) as u32, &mut tied);
                out[q - base] = s as u32;
                load[i] += s;
                assigned += s;
            }
            if stays_pinned(assigned, total, &tied) {
                share_units(&mut tied, total - assigned as u64, |at| {
                    out[at] += 1;
                    load[p.col_row[base + at] as usize] += 1;
                });
                sums[n] = total as i64;
                continue;
            }
            for q in column.clone() {
                load[p.col_row[q] as usize] -= i64::from(out[q - base]);
            }
            *m = finish_line(&line, total, *m, assigned as u64, out, &mut tied);
        } else {
            for q in column.clone() {
                let i = p.col_row[q] as usize;
                load[i] -= i64::from(x[p.col_cells[q] as usize]);
                let deficit = p.row_totals[i] as i64 - load[i];
                line.push(((q - base) as u32, p.col_weight[q] * lambda[i], deficit));
            }
            *m = round_line(&line, total, *m, out, &mut tied);
        }
        let cells = &out[column.start - base..column.end - base];
        let mut sum = 0;
        for (i, v) in p.col_row[column].iter().zip(cells) {
            load[*i as usize] += i64::from(*v);
            sum += i64::from(*v);
        }
        sums[n] = sum;
    }
    load
}

/// A multiplier [`round_line`] starts from as it is.
fn usable(m: f64) -> bool {
    m.is_finite() && m > 0.0
}

/// Whether a line rounded at its multiplier, `assigned` units with the cells of `tied` able to
/// take one more, stays pinned there: the tied cells then share the missing units.
fn stays_pinned(assigned: i64, total: u64, tied: &Tied) -> bool {
    let assigned = assigned as u64;
    assigned < total && total <= assigned + tied.len() as u64
}

/// Whether the rounded step `step` (from 0), which left the rows `off` units from their totals,
/// `previous` before it, ends the scaling. The first steps mostly spread tied units; after them,
/// the scaling ends once a step no longer brings the rows closer: even steps that gain few units
/// bring the multipliers closer to the final divisors, which shortens the transfers' searches.
/// From the plateau, it also ends as soon as the rows are off by no more units than there are
/// rows: most lines stay pinned at their multipliers there, and with about one unit per row the
/// transfers' first round moves nearly all of them; with more, rows must cross several levels of
/// ties, a round each, and a round costs about as much as half a step.
fn ends(plateau: bool, step: usize, off: u64, previous: u64, rows: usize) -> bool {
    (plateau && off <= rows as u64) || (step >= 2 && off >= previous)
}

fn deviation(load: &[i64], totals: &[u64]) -> u64 {
    load.iter()
        .zip(totals)
        .map(|(l, t)| l.abs_diff(*t as i64))
        .sum()
}

/// Sainte-Laguë in floating point over one line: `total` units, `warm` a first guess of the
/// multiplier. Writes the cells and returns the multiplier at the geometric middle of its
/// admissible range.
fn round_line(line: &[Entry], total: u64, warm: f64, x: &mut [u32], tied: &mut Tied) -> f64 {
    if line.is_empty() {
        return warm;
    }
    let cap = total as f64;
    let mut m = warm;
    if !usable(m) {
        m = cap / line.iter().map(|(_, v, _)| v).sum::<f64>();
    }
    let assigned = assign_half_down(line, m, total, x, tied);
    if stays_pinned(assigned as i64, total, tied) {
        // Pinned at `m`: the tied cells share the missing units.
        share_units(tied, total - assigned, |k| x[k] += 1);
        return m;
    }
    finish_line(line, total, m, assigned, x, tied)
}

/// The rest of [`round_line`] once the line, rounded at `m` into `x` and `tied` (`assigned`
/// units), turned out not to stay pinned there.
fn finish_line(
    line: &[Entry],
    total: u64,
    m: f64,
    mut assigned: u64,
    x: &mut [u32],
    tied: &mut Tied,
) -> f64 {
    if assigned.abs_diff(total) > FEW
        && let Some(pinned) = uniform_pin(line, total)
    {
        // Every quotient is the same (a row of one share on the plateau): the units are shared
        // at once where each cell is half-way between two values, as adding or removing them
        // one at a time and balancing the ties would share them.
        let at_pin = assign_half_down(line, pinned, total, x, tied);
        if stays_pinned(at_pin as i64, total, tied) {
            share_units(tied, total - at_pin, |k| x[k] += 1);
            return pinned;
        }
        assigned = assign_half_down(line, m, total, x, tied);
    }
    if assigned < total {
        let missing = total - assigned;
        if missing > FEW {
            add_many(line, missing, x);
        } else {
            add_few(line, missing as usize, x);
        }
    } else if assigned > total {
        let extra = assigned - total;
        if extra > FEW {
            remove_many(line, extra, x);
        } else {
            remove_few(line, extra as usize, x);
        }
    }
    let (mut low, mut high) = (0.0f64, f64::INFINITY);
    for e in line {
        if x[e.0 as usize] > 0 {
            low = low.max(loss_at(e, x));
        }
        high = high.min(gain_at(e, x));
    }
    if low > 0.0 && high <= low * (1.0 + TIE) {
        balance_ties(line, low, x, tied);
        return low;
    }
    if low > 0.0 {
        (low * high).sqrt()
    } else {
        high / 2.0
    }
}

/// When every value of the line is the same (to [`TIE`]) and `total` is not a multiple of the
/// number of cells, the multiplier at which each cell is half-way between `total / n` (rounded
/// down) and one more: there, and only there, the cells share the units evenly.
fn uniform_pin(line: &[Entry], total: u64) -> Option<f64> {
    let first = line.first()?.1;
    let n = line.len() as u64;
    if total.is_multiple_of(n) || line.iter().any(|e| (e.1 - first).abs() > first * TIE) {
        return None;
    }
    Some(((total / n) as f64 + 0.5) / first)
}

/// Cells that may take one more unit at a tie, keyed so that the natural order puts first the
/// cell whose other line lacks the most, then the earlier cell: `(−deficit, cell)`.
type Tied = Vec<(i64, u32)>;

/// Rounds every cell at multiplier `m`, a quotient within [`TIE`] of a half-way point going
/// down, and lists those cells in `tied`; returns the units assigned.
fn assign_half_down(line: &[Entry], m: f64, total: u64, x: &mut [u32], tied: &mut Tied) -> u64 {
    tied.clear();
    let mut assigned = 0i64;
    let cap = total as f64;
    for (k, v, deficit) in line {
        let s = round_cell(*v, m, cap, *deficit, *k, tied);
        x[*k as usize] = s as u32;
        assigned += s;
    }
    assigned as u64
}

/// One cell of [`assign_half_down`]: the rounding of `v · m` (at most `cap`), down at a half-way
/// point; the cell `k` goes to `tied` when it is within [`TIE`] of one.
#[inline]
fn round_cell(v: f64, m: f64, cap: f64, deficit: i64, k: u32, tied: &mut Tied) -> i64 {
    // 0 ≤ q ≤ total ≤ u32::MAX: signed conversions are exact here, and cheaper than unsigned
    // ones.
    let q = (v * m).min(cap);
    let n = (q + 0.5) as i64;
    if n > 0 && q <= (n as f64 - 0.5) * (1.0 + TIE) {
        tied.push((-deficit, k));
        n - 1
    } else {
        if q >= (n as f64 + 0.5) * (1.0 - TIE) {
            tied.push((-deficit, k));
        }
        n
    }
}

/// Gives one unit to each of the first `units` cells of `tied` in its natural order (the cells
/// whose other line lacks the most, then the earlier cell). `tied` lists the cells of one line
/// in increasing order, so among equal deficits the list order is the cell order: the cut is
/// found by counting deficits when they span a small range, by selection otherwise.
fn share_units(tied: &mut Tied, units: u64, mut bump: impl FnMut(usize)) {
    let units = (units as usize).min(tied.len());
    if units == 0 {
        return;
    }
    if units == tied.len() {
        for (_, k) in tied.iter() {
            bump(*k as usize);
        }
        return;
    }
    let (low, high) = tied
        .iter()
        .fold((i64::MAX, i64::MIN), |(l, h), t| (l.min(t.0), h.max(t.0)));
    let span = high.abs_diff(low) as usize + 1;
    if span > COUNTING_SPAN {
        tied.select_nth_unstable(units - 1);
        for (_, k) in &tied[..units] {
            bump(*k as usize);
        }
        return;
    }
    // Keys in increasing order: the cut is the key at which `units` is reached.
    let mut count = [0usize; COUNTING_SPAN];
    for t in tied.iter() {
        count[(t.0 - low) as usize] += 1;
    }
    let (mut cut, mut below) = (0, 0);
    while below + count[cut] < units {
        below += count[cut];
        cut += 1;
    }
    let cut_key = low + cut as i64;
    let mut at_cut = units - below;
    for (key, k) in tied.iter() {
        if *key < cut_key {
            bump(*k as usize);
        } else if *key == cut_key && at_cut > 0 {
            bump(*k as usize);
            at_cut -= 1;
        }
    }
}

/// Widest range of deficits that [`share_units`] counts rather than selects.
const COUNTING_SPAN: usize = 256;

/// The multiplier at which the cell gains its next unit.
fn gain_at(e: &Entry, x: &[u32]) -> f64 {
    (f64::from(x[e.0 as usize]) + 0.5) / e.1
}

/// The multiplier below which the cell loses its last unit.
fn loss_at(e: &Entry, x: &[u32]) -> f64 {
    (f64::from(x[e.0 as usize]) - 0.5) / e.1
}

/// Up to this many units, [`add_few`] and [`remove_few`] beat a heap over the whole line.
const FEW: u64 = 8;

/// Gives `missing` units one at a time, each to the cell that gains at the lowest multiplier (the
/// earliest cell among equals), like [`add_many`], from one pass over the line: only the
/// `missing` lowest first gains can ever be taken.
fn add_few(line: &[Entry], missing: usize, x: &mut [u32]) {
    // Sorted by (gain, position), lowest first.
    let mut best: Vec<(f64, usize)> = Vec::with_capacity(missing + 1);
    for (n, e) in line.iter().enumerate() {
        let g = gain_at(e, x);
        // Positions increase: a later cell enters only with a strictly lower gain.
        if best.len() < missing || best.last().is_some_and(|l| g.total_cmp(&l.0).is_lt()) {
            let at = best.partition_point(|b| b.0.total_cmp(&g).is_le());
            best.insert(at, (g, n));
            best.truncate(missing);
        }
    }
    for _ in 0..missing {
        if best.is_empty() {
            return;
        }
        let (_, n) = best.remove(0);
        let e = &line[n];
        x[e.0 as usize] += 1;
        let g = gain_at(e, x);
        let at = best.partition_point(|b| b.0.total_cmp(&g).then(b.1.cmp(&n)).is_lt());
        best.insert(at, (g, n));
    }
}

/// Takes `extra` units one at a time, each from the cell that loses at the highest multiplier
/// (the latest cell among equals), like [`remove_many`], from one pass over the line.
fn remove_few(line: &[Entry], extra: usize, x: &mut [u32]) {
    // Sorted by (loss, position), highest first.
    let mut best: Vec<(f64, usize)> = Vec::with_capacity(extra + 1);
    for (n, e) in line.iter().enumerate() {
        if x[e.0 as usize] == 0 {
            continue;
        }
        let l = loss_at(e, x);
        // Positions increase: a later cell wins ties.
        if best.len() < extra || best.last().is_some_and(|b| l.total_cmp(&b.0).is_ge()) {
            let at = best.partition_point(|b| b.0.total_cmp(&l).is_gt());
            best.insert(at, (l, n));
            best.truncate(extra);
        }
    }
    for _ in 0..extra {
        if best.is_empty() {
            return;
        }
        let (_, n) = best.remove(0);
        let e = &line[n];
        x[e.0 as usize] -= 1;
        if x[e.0 as usize] > 0 {
            let l = loss_at(e, x);
            let at = best.partition_point(|b| b.0.total_cmp(&l).then(b.1.cmp(&n)).is_gt());
            best.insert(at, (l, n));
        }
    }
}

fn add_many(line: &[Entry], mut missing: u64, x: &mut [u32]) {
    let mut heap: BinaryHeap<Reverse<(u64, usize)>> = line
        .iter()
        .enumerate()
        .map(|(n, e)| Reverse((gain_at(e, x).to_bits(), n)))
        .collect();
    while missing > 0 {
        let Some(Reverse((_, n))) = heap.pop() else {
            return;
        };
        let e = &line[n];
        x[e.0 as usize] += 1;
        missing -= 1;
        heap.push(Reverse((gain_at(e, x).to_bits(), n)));
    }
}

fn remove_many(line: &[Entry], mut extra: u64, x: &mut [u32]) {
    let mut heap: BinaryHeap<(u64, usize)> = line
        .iter()
        .enumerate()
        .filter(|(_, e)| x[e.0 as usize] > 0)
        .map(|(n, e)| (loss_at(e, x).to_bits(), n))
        .collect();
    while extra > 0 {
        let Some((_, n)) = heap.pop() else { return };
        let e = &line[n];
        x[e.0 as usize] -= 1;
        extra -= 1;
        if x[e.0 as usize] > 0 {
            heap.push((loss_at(e, x).to_bits(), n));
        }
    }
}

/// The multiplier is pinned at `at`, where several cells are half-way: their marginal units go
/// to the cells whose other line lacks the most (then the earlier cell).
fn balance_ties(line: &[Entry], at: f64, x: &mut [u32], tied: &mut Tied) {
    tied.clear();
    let mut units = 0;
    for e in line {
        let k = e.0 as usize;
        if x[k] > 0 && loss_at(e, x) >= at * (1.0 - TIE) {
            x[k] -= 1;
            units += 1;
            tied.push((-e.2, e.0));
        } else if gain_at(e, x) <= at * (1.0 + TIE) {
            tied.push((-e.2, e.0));
        }
    }
    share_units(tied, units, |k| x[k] += 1);
}

const HALF_LN_TABLE: usize = 4096;

/// `ln(x + ½)`, tabulated for the small values that make up most cells.
#[derive(Clone, Copy)]
pub(super) struct HalfLn(&'static [f64]);

impl HalfLn {
    pub fn new() -> Self {
        static TABLE: OnceLock<Vec<f64>> = OnceLock::new();
        Self(TABLE.get_or_init(|| (0..HALF_LN_TABLE).map(|x| (x as f64 + 0.5).ln()).collect()))
    }

    /// `ln(x + ½)`.
    #[inline]
    pub fn at(self, x: u32) -> f64 {
        self.0
            .get(x as usize)
            .copied()
            .unwrap_or_else(|| (f64::from(x) + 0.5).ln())
    }

    /// `(ln(x − ½), ln(x + ½))`, the first −∞ at zero: a cell at `x` with log-weight `lw` is a
    /// rounding of its quotient exactly when `α + β` lies between these bounds minus `lw`.
    #[inline]
    pub fn around(self, x: u32) -> (f64, f64) {
        let low = if x > 0 {
            self.at(x - 1)
        } else {
            f64::NEG_INFINITY
        };
        (low, self.at(x))
    }
}

/// `ln(x + ½)`.
pub(super) fn half_ln(x: u32) -> f64 {
    HalfLn::new().at(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_from_the_plateau_ends_once_the_rows_are_off_by_at_most_one_unit_each() {
        // The solve benchmark (151 rows) from the plateau: 516, then 134 units off after the
        // second step, which ends it.
        assert!(!ends(true, 0, 516, u64::MAX, 151));
        assert!(ends(true, 1, 134, 516, 151));
        assert!(ends(true, 0, 151, u64::MAX, 151));
        // The 1,000 × 10,000 stress case: 1,274 then 1,088 units off go on, 878 ends it.
        assert!(!ends(true, 2, 1_274, 4_474, 1_000));
        assert!(!ends(true, 3, 1_088, 1_274, 1_000));
        assert!(ends(true, 4, 878, 1_088, 1_000));
        // A general start goes on, however small the gap, until a step brings no gain.
        assert!(!ends(false, 1, 134, 516, 151));
        assert!(!ends(false, 2, 90, 134, 151));
        assert!(ends(false, 3, 116, 90, 151));
        assert!(ends(false, 3, 90, 90, 151));
        // Both, from the third step on: a step that brings no gain ends the scaling.
        assert!(ends(true, 2, 1_300, 1_274, 1_000));
        assert!(!ends(true, 1, 1_300, 1_274, 1_000));
    }

    #[test]
    fn a_line_of_equal_values_shares_its_units_by_the_other_lines_deficits() {
        // Twelve cells of the same value, far from their total at the first guess: 20 units are
        // one per cell and eight more, which go to the cells whose column lacks the most (the
        // earlier cell among equal deficits).
        let deficits = [3i64, 7, 1, 7, 0, 5, 5, 2, 9, 4, 6, 1];
        let line: Vec<Entry> = deficits
            .iter()
            .enumerate()
            .map(|(k, d)| (k as u32, 0.2, *d))
            .collect();
        let mut order: Vec<usize> = (0..deficits.len()).collect();
        order.sort_by_key(|k| (-deficits[*k], *k));
        let mut expected = vec![1u32; deficits.len()];
        for k in &order[..8] {
            expected[*k] = 2;
        }
        let (mut x, mut tied) = (vec![0u32; deficits.len()], Tied::new());
        let m = round_line(&line, 20, 1.0, &mut x, &mut tied);
        assert_eq!(x, expected);
        assert!((m * 0.2 - 1.5).abs() < 1e-12, "multiplicateur {m}");
        // A multiple of the number of cells: every cell the same, inside its rounding interval.
        let m = round_line(&line, 24, 1.0, &mut x, &mut tied);
        assert_eq!(x, vec![2u32; deficits.len()]);
        assert!(m * 0.2 > 1.5 && m * 0.2 < 2.5, "multiplicateur {m}");
        // Values that differ: no shortcut, the units still make the total.
        let uneven: Vec<Entry> = line
            .iter()
            .map(|(k, v, d)| (*k, v * (1.0 + f64::from(*k) / 100.0), *d))
            .collect();
        assert_eq!(uniform_pin(&uneven, 20), None);
        round_line(&uneven, 20, 1.0, &mut x, &mut tied);
        assert_eq!(x.iter().sum::<u32>(), 20);
    }

    /// The rows of `p` rounded one line at a time, the plain way: a line of (cell, value,
    /// deficit) built from the loads without the row, then [`round_line`]. Returns the column
    /// loads after the pass and how many rows stayed pinned at their multiplier.
    fn rows_one_by_one(
        p: &Problem,
        lambda: &mut [f64],
        mu: &[f64],
        x: &mut [u32],
        load: &mut [i64],
        sums: &mut [i64],
    ) -> usize {
        let (mut tied, mut pinned) = (Tied::new(), 0);
        for i in 0..p.rows {
            let mut line = Vec::new();
            for k in p.row_cells(i) {
                let j = p.col[k] as usize;
                load[j] -= i64::from(x[k]);
                line.push((
                    k as u32,
                    p.weight[k] * mu[j],
                    p.column_totals[j] as i64 - load[j],
                ));
            }
            let mut probe = x.to_vec();
            if !line.is_empty() && usable(lambda[i]) {
                let a = assign_half_down(&line, lambda[i], p.row_totals[i], &mut probe, &mut tied);
                pinned += usize::from(stays_pinned(a as i64, p.row_totals[i], &tied));
            }
            lambda[i] = round_line(&line, p.row_totals[i], lambda[i], x, &mut tied);
            sums[i] = p.row_cells(i).map(|k| i64::from(x[k])).sum();
            for k in p.row_cells(i) {
                load[p.col[k] as usize] += i64::from(x[k]);
            }
        }
        pinned
    }

    #[test]
    fn passes_that_round_as_they_read_match_the_line_by_line_rounding() {
        // Share × flux weights (most lines stay pinned at their multiplier, their cells tied)
        // and an uneven remainder row (it does not): the passes give the cells, multipliers,
        // sums and loads that building each line and rounding it gives.
        let flux: Vec<u64> = (0..60u64).map(|j| 3 + (j * 7) % 17).collect();
        let mut cells = Vec::new();
        for i in 0..9u32 {
            for (j, f) in flux.iter().enumerate() {
                if !(i as usize + j).is_multiple_of(4) {
                    let share = rust_decimal::Decimal::new(i64::from(2 + i % 3), 2);
                    cells.push((i, j as u32, share * rust_decimal::Decimal::from(*f)));
                }
            }
        }
        for (j, f) in flux.iter().enumerate() {
            let w = rust_decimal::Decimal::new((*f * 61 + j as u64 % 5) as i64, 2);
            cells.push((9, j as u32, w));
        }
        let weights = super::super::WeightMatrix {
            rows: 10,
            cols: flux.len(),
            cells,
        };
        let mut row_weights = vec![rust_decimal::Decimal::ZERO; 10];
        for (r, _, w) in &weights.cells {
            row_weights[*r as usize] += w;
        }
        let total = flux.iter().sum();
        let row_totals = super::super::sainte_lague(total, &row_weights)
            .expect("totaux")
            .seats;
        let p = Problem::new(&weights, &row_totals, &flux).expect("problème");
        let (lambda, mu) = plateau(&p);

        // Row step, column step, row step, each both ways from the same table and multipliers.
        let (mut lambda, mut mu) = (lambda, mu);
        let mut x = vec![0u32; p.cells()];
        let mut col_load = vec![0i64; p.cols];
        let mut pinned_rows = 0;
        for step in 0..3 {
            if step == 1 {
                let (mut plain_mu, mut plain_x) = (mu.clone(), x.clone());
                let mut plain_load: Vec<i64> = (0..p.rows)
                    .map(|i| p.row_cells(i).map(|k| i64::from(x[k])).sum())
                    .collect();
                let pinned =
                    columns_one_by_one(&p, &lambda, &mut plain_mu, &mut plain_x, &mut plain_load);
                assert!(
                    pinned > 0 && pinned < p.cols,
                    "{pinned} colonnes restées en place"
                );
                let row_load = (0..p.rows)
                    .map(|i| p.row_cells(i).map(|k| i64::from(x[k])).sum())
                    .collect::<Vec<i64>>();
                let (mut sums, mut out) = (vec![0i64; p.cols], vec![0u32; p.cells()]);
                let load =
                    columns_pass(&p, 0, &lambda, &mut mu, &x, &row_load, &mut sums, &mut out);
                for (q, k) in p.col_cells.iter().enumerate() {
                    x[*k as usize] = out[q];
                }
                assert_eq!(x, plain_x);
                assert_eq!(mu, plain_mu);
                assert_eq!(load, plain_load);
                for (j, sum) in sums.iter().enumerate() {
                    assert_eq!(
                        *sum,
                        p.col_cells(j)
                            .iter()
                            .map(|k| i64::from(x[*k as usize]))
                            .sum::<i64>()
                    );
                }
                col_load = sums;
                continue;
            }
            let (mut plain_lambda, mut plain_x, mut plain_load) =
                (lambda.clone(), x.clone(), col_load.clone());
            let mut plain_sums = vec![0i64; p.rows];
            pinned_rows += rows_one_by_one(
                &p,
                &mut plain_lambda,
                &mu,
                &mut plain_x,
                &mut plain_load,
                &mut plain_sums,
            );
            let mut sums = vec![0i64; p.rows];
            col_load = rows_pass(
                &p,
                0,
                &mut lambda,
                &mu,
                &mut x,
                &col_load,
                &mut sums,
                step > 0,
            );
            assert_eq!(x, plain_x);
            assert_eq!(lambda, plain_lambda);
            assert_eq!(sums, plain_sums);
            assert_eq!(col_load, plain_load);
        }
        assert!(
            pinned_rows > 0 && pinned_rows < 2 * p.rows,
            "{pinned_rows} lignes restées en place"
        );
    }

    /// The columns of `p` rounded one line at a time, like [`rows_one_by_one`], with the cells
    /// written back in row order; returns how many columns stayed pinned.
    fn columns_one_by_one(
        p: &Problem,
        lambda: &[f64],
        mu: &mut [f64],
        x: &mut [u32],
        load: &mut [i64],
    ) -> usize {
        let (mut tied, mut pinned) = (Tied::new(), 0);
        for (j, m) in mu.iter_mut().enumerate() {
            let cells = p.col_cells(j);
            let mut line = Vec::new();
            for k in cells {
                let (k, i) = (*k as usize, p.row[*k as usize] as usize);
                load[i] -= i64::from(x[k]);
                line.push((
                    k as u32,
                    p.weight[k] * lambda[i],
                    p.row_totals[i] as i64 - load[i],
                ));
            }
            let mut probe = x.to_vec();
            if !line.is_empty() && usable(*m) {
                let a = assign_half_down(&line, *m, p.column_totals[j], &mut probe, &mut tied);
                pinned += usize::from(stays_pinned(a as i64, p.column_totals[j], &tied));
            }
            *m = round_line(&line, p.column_totals[j], *m, x, &mut tied);
            for k in cells {
                load[p.row[*k as usize] as usize] += i64::from(x[*k as usize]);
            }
        }
        pinned
    }
}
