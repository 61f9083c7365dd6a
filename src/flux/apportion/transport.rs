//! The exact finish: successive shortest paths on the convex-cost transportation problem.
//!
//! The biproportional table minimises Σ over cells of Σ_{k ≤ x} ln((k − ½) / w) under the margins
//! (Balinski–Demange), and its log-divisors are optimal potentials. With potentials `alpha`
//! (rows) and `beta` (columns), adding a unit to cell (i, j) costs `ln(x + ½) − ln w − α − β` and
//! removing one costs `α + β − ln(x − ½) + ln w`; both are ≥ 0 exactly when x is a rounding of
//! `w · exp(α + β)`. Each step moves one unit along a cheapest path from a line with too little
//! (rows) or too much (columns) to a line with the opposite, then shifts the potentials by the
//! path lengths, which keeps every reduced cost ≥ 0.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::ApportionError;
use super::scaling::{State, half_ln};
use super::sparse::Problem;

const NONE: u32 = u32::MAX;

pub(super) fn settle(p: &Problem, s: &mut State) -> Result<(), ApportionError> {
    if s.alpha.iter().chain(&s.beta).any(|v| !v.is_finite()) {
        *s = empty_start(p);
    }
    let rows = p.rows;
    let mut excess: Vec<i64> = Vec::with_capacity(rows + p.cols);
    for i in 0..rows {
        let sum: u64 = p.row_cells(i).map(|k| u64::from(s.x[k])).sum();
        excess.push(p.row_totals[i] as i64 - sum as i64);
    }
    let mut col_sum = vec![0u64; p.cols];
    for (k, c) in p.col.iter().enumerate() {
        col_sum[*c as usize] += u64::from(s.x[k]);
    }
    for (j, sum) in col_sum.iter().enumerate() {
        excess.push(*sum as i64 - p.column_totals[j] as i64);
    }
    // `excess[v] > 0`: the node must send units (a row short of its total, a column over its
    // total); `< 0`: it must receive them.
    let mut search = Search::new(rows + p.cols);
    while excess.iter().any(|e| *e > 0) {
        let (target, reach) = search.run(p, s, &excess).ok_or(ApportionError::Numerical {
            step: "aucun chemin de transfert",
        })?;
        for (v, d) in search.dist.iter().enumerate() {
            let shift = d.min(reach);
            if v < rows {
                s.alpha[v] -= shift;
            } else {
                s.beta[v - rows] += shift;
            }
        }
        let source = search.augment(p, s, target);
        excess[source] -= 1;
        excess[target] += 1;
    }
    Ok(())
}

/// Every cell at zero, with row potentials low enough that every first unit has a nonnegative
/// reduced cost: always consistent, used only if scaling produced non-finite multipliers.
fn empty_start(p: &Problem) -> State {
    let alpha = (0..p.rows)
        .map(|i| {
            p.row_cells(i)
                .map(|k| half_ln(0) - p.ln_weight[k])
                .fold(0.0, f64::min)
        })
        .collect();
    State {
        x: vec![0; p.cells()],
        alpha,
        beta: vec![0.0; p.cols],
    }
}

struct Search {
    dist: Vec<f64>,
    parent: Vec<u32>,
    done: Vec<bool>,
    heap: BinaryHeap<Reverse<(u64, u32)>>,
}

impl Search {
    fn new(nodes: usize) -> Self {
        Self {
            dist: vec![f64::INFINITY; nodes],
            parent: vec![NONE; nodes],
            done: vec![false; nodes],
            heap: BinaryHeap::new(),
        }
    }

    /// Multi-source Dijkstra on reduced costs from every sending node, stopped at the first
    /// receiving node settled: returns it and its distance.
    fn run(&mut self, p: &Problem, s: &State, excess: &[i64]) -> Option<(usize, f64)> {
        let rows = p.rows;
        self.dist.fill(f64::INFINITY);
        self.parent.fill(NONE);
        self.done.fill(false);
        self.heap.clear();
        for (v, e) in excess.iter().enumerate() {
            if *e > 0 {
                self.dist[v] = 0.0;
                self.heap.push(Reverse((0f64.to_bits(), v as u32)));
            }
        }
        while let Some(Reverse((bits, v))) = self.heap.pop() {
            let v = v as usize;
            if self.done[v] {
                continue;
            }
            self.done[v] = true;
            let d = f64::from_bits(bits);
            if excess[v] < 0 {
                return Some((v, d));
            }
            if v < rows {
                let a = s.alpha[v];
                for k in p.row_cells(v) {
                    let j = p.col[k] as usize;
                    let cost = half_ln(s.x[k]) - p.ln_weight[k] - a - s.beta[j];
                    self.relax(rows + j, d + cost.max(0.0), k);
                }
            } else {
                let b = s.beta[v - rows];
                for k in p.col_cells(v - rows) {
                    let k = *k as usize;
                    if s.x[k] > 0 {
                        let i = p.row[k] as usize;
                        let cost = s.alpha[i] + b - (half_ln(s.x[k] - 1) - p.ln_weight[k]);
                        self.relax(i, d + cost.max(0.0), k);
                    }
                }
            }
        }
        None
    }

    fn relax(&mut self, v: usize, d: f64, cell: usize) {
        if d < self.dist[v] && !self.done[v] {
            self.dist[v] = d;
            self.parent[v] = cell as u32;
            self.heap.push(Reverse((d.to_bits(), v as u32)));
        }
    }

    /// Moves one unit along the path to `target`; returns the path's source.
    fn augment(&self, p: &Problem, s: &mut State, target: usize) -> usize {
        let rows = p.rows;
        let mut v = target;
        while self.parent[v] != NONE {
            let k = self.parent[v] as usize;
            if v >= rows {
                s.x[k] += 1;
                v = p.row[k] as usize;
            } else {
                s.x[k] -= 1;
                v = rows + p.col[k] as usize;
            }
        }
        v
    }
}
