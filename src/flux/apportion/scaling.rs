//! A close start for the exact search: alternating scaling, first continuous (iterative
//! proportional fitting), then rounded (each row, then each column, apportioned by Sainte-Laguë
//! with its own multiplier). Alternating scaling alone may cycle; here it only needs to leave few
//! units for the transportation step to move.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::OnceLock;

use super::sparse::Problem;

/// A table in progress, consistent with its multipliers: every core cell `k` of row `i` and
/// column `j` is a standard rounding of `weight[k] · exp(alpha[i] + beta[j])`.
pub(super) struct State {
    pub x: Vec<u32>,
    pub alpha: Vec<f64>,
    pub beta: Vec<f64>,
}

const CONTINUOUS_STEPS: usize = 12;
const ROUNDED_STEPS: usize = 6;

pub(super) fn start(p: &Problem) -> State {
    let mut lambda = vec![1.0; p.rows];
    let mut mu = vec![1.0; p.cols];
    continuous(p, &mut lambda, &mut mu);
    let mut x = vec![0u32; p.cells()];
    rounded(p, &mut lambda, &mut mu, &mut x);
    State {
        x,
        alpha: lambda.iter().map(|l| l.ln()).collect(),
        beta: mu.iter().map(|m| m.ln()).collect(),
    }
}

/// Iterative proportional fitting, stopped once every row is within a tenth of a unit.
fn continuous(p: &Problem, lambda: &mut [f64], mu: &mut [f64]) {
    let mut col_sum = vec![0.0; p.cols];
    for _ in 0..CONTINUOUS_STEPS {
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
        if worst < 0.1 {
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

/// Rounded alternating scaling until both margins hold, it stops improving, or the step budget
/// is spent. Always ends with every cell rounded from the current multipliers.
fn rounded(p: &Problem, lambda: &mut [f64], mu: &mut [f64], x: &mut [u32]) {
    let mut line: Vec<(u32, f64)> = Vec::new();
    let mut best = u64::MAX;
    for _ in 0..ROUNDED_STEPS {
        for (i, l) in lambda.iter_mut().enumerate() {
            line.clear();
            line.extend(
                p.row_cells(i)
                    .map(|k| (k as u32, p.weight[k] * mu[p.col[k] as usize])),
            );
            *l = round_line(&line, p.row_totals[i], *l, x);
        }
        let off = column_deviation(p, x);
        if off == 0 || off >= best {
            return;
        }
        best = off;
        for (j, m) in mu.iter_mut().enumerate() {
            line.clear();
            line.extend(p.col_cells(j).iter().map(|k| {
                (
                    *k,
                    p.weight[*k as usize] * lambda[p.row[*k as usize] as usize],
                )
            }));
            *m = round_line(&line, p.column_totals[j], *m, x);
        }
        let off = row_deviation(p, x);
        if off == 0 || off >= best {
            return;
        }
        best = off;
    }
}

pub(super) fn row_deviation(p: &Problem, x: &[u32]) -> u64 {
    (0..p.rows)
        .map(|i| {
            let s: u64 = p.row_cells(i).map(|k| u64::from(x[k])).sum();
            s.abs_diff(p.row_totals[i])
        })
        .sum()
}

pub(super) fn column_deviation(p: &Problem, x: &[u32]) -> u64 {
    let mut sums = vec![0u64; p.cols];
    for (k, c) in p.col.iter().enumerate() {
        sums[*c as usize] += u64::from(x[k]);
    }
    sums.iter()
        .zip(&p.column_totals)
        .map(|(s, t)| s.abs_diff(*t))
        .sum()
}

/// Sainte-Laguë in floating point over one line: `(cell, value)` pairs, `total` units, `warm` a
/// first guess of the multiplier. Writes the cells and returns the multiplier at the geometric
/// middle of the admissible range.
fn round_line(line: &[(u32, f64)], total: u64, warm: f64, x: &mut [u32]) -> f64 {
    if line.is_empty() {
        return warm;
    }
    let cap = total as f64;
    let count = |m: f64| -> u64 {
        line.iter()
            .map(|(_, v)| (v * m).round().min(cap) as u64)
            .sum()
    };
    let sum: f64 = line.iter().map(|(_, v)| v).sum();
    let mut m = if warm.is_finite() && warm > 0.0 {
        warm
    } else {
        cap / sum
    };
    for _ in 0..4 {
        let s = count(m);
        if s == total {
            break;
        }
        m *= if s == 0 { 2.0 } else { cap / s as f64 };
    }
    let mut assigned = 0u64;
    for (k, v) in line {
        let s = (v * m).round().min(cap) as u32;
        x[*k as usize] = s;
        assigned += u64::from(s);
    }
    if assigned < total {
        // Thresholds of the multiplier at which a cell gains a unit, lowest first.
        let mut heap: BinaryHeap<Reverse<(u64, usize)>> = line
            .iter()
            .enumerate()
            .map(|(n, (k, v))| Reverse((((f64::from(x[*k as usize]) + 0.5) / v).to_bits(), n)))
            .collect();
        while assigned < total {
            let Some(Reverse((_, n))) = heap.pop() else {
                break;
            };
            let (k, v) = line[n];
            x[k as usize] += 1;
            assigned += 1;
            heap.push(Reverse((
                ((f64::from(x[k as usize]) + 0.5) / v).to_bits(),
                n,
            )));
        }
    } else if assigned > total {
        // Thresholds below which a cell loses a unit, highest first.
        let mut heap: BinaryHeap<(u64, usize)> = line
            .iter()
            .enumerate()
            .filter(|(_, (k, _))| x[*k as usize] > 0)
            .map(|(n, (k, v))| (((f64::from(x[*k as usize]) - 0.5) / v).to_bits(), n))
            .collect();
        while assigned > total {
            let Some((_, n)) = heap.pop() else { break };
            let (k, v) = line[n];
            x[k as usize] -= 1;
            assigned -= 1;
            if x[k as usize] > 0 {
                heap.push((((f64::from(x[k as usize]) - 0.5) / v).to_bits(), n));
            }
        }
    }
    let (mut low, mut high) = (0.0f64, f64::INFINITY);
    for (k, v) in line {
        let s = f64::from(x[*k as usize]);
        if s > 0.0 {
            low = low.max((s - 0.5) / v);
        }
        high = high.min((s + 0.5) / v);
    }
    if low > 0.0 {
        (low * high).sqrt()
    } else {
        high / 2.0
    }
}

const HALF_LN_TABLE: usize = 4096;

/// `ln(x + ½)`, tabulated for the small values that make up most cells.
pub(super) fn half_ln(x: u32) -> f64 {
    static TABLE: OnceLock<Vec<f64>> = OnceLock::new();
    let table = TABLE.get_or_init(|| (0..HALF_LN_TABLE).map(|x| (x as f64 + 0.5).ln()).collect());
    table
        .get(x as usize)
        .copied()
        .unwrap_or_else(|| (f64::from(x) + 0.5).ln())
}
