//! The exact finish: a primal-dual (successive shortest paths) method on the convex-cost
//! transportation problem.
//!
//! The biproportional table minimises Σ over cells of Σ_{k ≤ x} ln((k − ½) / w) under the margins
//! (Balinski–Demange), and its log-divisors are optimal potentials. With potentials `alpha`
//! (rows) and `beta` (columns), adding a unit to cell (i, j) costs `ln(x + ½) − ln w − α − β` and
//! removing one costs `α + β − ln(x − ½) + ln w`; both are ≥ 0 exactly when x is a rounding of
//! `w · exp(α + β)`. Units move from lines with too little (rows) or too much (columns) to lines
//! with the opposite. Each round runs one Dijkstra on reduced costs, backwards from every
//! receiving line, until the sending lines it has reached hold every unit left to move; the
//! potentials then shift by the distances, capped at that of the last sending line reached, which
//! keeps every reduced cost ≥ 0 and gives each of these lines a zero-cost path. Units then move
//! along zero-cost paths in blocking flows (as in Dinic's algorithm), usually all of them in one
//! round: a search per unit would cross nearly the whole graph each time.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::ApportionError;
use super::parallel::{PARALLEL_CELLS, join};
use super::scaling::{HalfLn, State, half_ln};
use super::sparse::Problem;

const NONE: u32 = u32::MAX;
/// A reduced cost this close to zero counts as zero: far above the rounding error of the
/// potentials, far below the tie threshold.
const ZERO_COST: f64 = 1e-12;

pub(super) fn settle(p: &Problem, s: &mut State) -> Result<(), ApportionError> {
    if s.alpha.iter().chain(&s.beta).any(|v| !v.is_finite()) {
        *s = empty_start(p);
    }
    let no_path = ApportionError::Numerical {
        step: "aucun chemin de transfert",
    };
    let mut net = Net::new(p, s);
    loop {
        if p.cancel.is_cancelled() {
            return Err(ApportionError::Cancelled);
        }
        let left: i64 = net.excess.iter().filter(|e| **e > 0).sum();
        if left == 0 {
            return Ok(());
        }
        let (nearest, reach) = net.backward(p, s, left).ok_or(no_path.clone())?;
        net.shift(p, s, reach);
        let mut moved = 0;
        while net.levels(p, s) {
            let m = net.blocking_flow(p, s);
            moved += m;
            if m == 0 {
                break;
            }
        }
        if moved == 0 {
            // Should rounding hide every zero-cost arc, the nearest sending line's shortest path
            // still carries a unit: each round moves at least one.
            net.augment_from(p, s, nearest);
        }
    }
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

/// Per cell, the parts of its reduced costs that do not depend on the potentials:
/// `ln(x + ½) − ln w` to add a unit, `ln(x − ½) − ln w` to remove one (−∞ at zero, so that the
/// reduced cost of removal is +∞). Searches scan rows and columns alike. A row scan reads the
/// cells and logarithms of its row in sequence and looks the half-integer logarithms up in a
/// table; a column scan would read them scattered over the whole table, so the costs are kept in
/// column order, and kept up to date as units move.
struct Costs {
    half: HalfLn,
    /// In column order (the order of `Problem::col_cells`): the costs of each cell.
    col_up: Vec<f64>,
    col_down: Vec<f64>,
}

impl Costs {
    /// On large tables, each half of the cells (in column order) on its own thread.
    fn new(p: &Problem, s: &State) -> Self {
        let half = HalfLn::new();
        let n = p.cells();
        let (mut col_up, mut col_down) = (vec![0.0; n], vec![0.0; n]);
        let middle = n / 2;
        let fill = |first: usize, up: &mut [f64], down: &mut [f64]| {
            let cells = &p.col_cells[first..first + up.len()];
            for (q, k) in cells.iter().enumerate() {
                let k = *k as usize;
                let (low, high) = half.around(s.x[k]);
                let lw = p.ln_weight[k];
                up[q] = high - lw;
                down[q] = low - lw;
            }
        };
        let (up_a, up_b) = col_up.split_at_mut(middle);
        let (down_a, down_b) = col_down.split_at_mut(middle);
        join(
            n >= PARALLEL_CELLS,
            || fill(0, up_a, down_a),
            || fill(middle, up_b, down_b),
        );
        Self {
            half,
            col_up,
            col_down,
        }
    }

    /// `ln(x + ½) − ln w` of cell `k`.
    #[inline]
    fn up(&self, p: &Problem, s: &State, k: usize) -> f64 {
        self.half.at(s.x[k]) - p.ln_weight[k]
    }

    /// `ln(x − ½) − ln w` of cell `k`, which holds at least one unit.
    #[inline]
    fn down(&self, p: &Problem, s: &State, k: usize) -> f64 {
        self.half.at(s.x[k] - 1) - p.ln_weight[k]
    }

    /// Cell `k` has gained or lost a unit.
    fn update(&mut self, p: &Problem, s: &State, k: usize) {
        let j = p.col[k] as usize;
        // A column lists its cells by increasing row.
        let rows = &p.col_row[p.col_start[j]..p.col_start[j + 1]];
        let q = p.col_start[j] + rows.partition_point(|r| *r < p.row[k]);
        let (low, high) = self.half.around(s.x[k]);
        let lw = p.ln_weight[k];
        self.col_up[q] = high - lw;
        self.col_down[q] = low - lw;
    }
}

fn forward_cost(c: &Costs, p: &Problem, s: &State, k: usize) -> f64 {
    c.up(p, s, k) - s.alpha[p.row[k] as usize] - s.beta[p.col[k] as usize]
}

/// Nodes are rows `0..rows` then columns. `excess[v] > 0`: the node must send units (a row short
/// of its total, a column over its total); `< 0`: it must receive them.
struct Net {
    excess: Vec<i64>,
    costs: Costs,
    dist: Vec<f64>,
    /// The cell of the arc by which a node leaves toward a receiving node (shortest-path tree of
    /// [`Net::backward`]).
    parent: Vec<u32>,
    done: Vec<bool>,
    heap: BinaryHeap<Reverse<(u64, u32)>>,
    level: Vec<i32>,
    sink_level: i32,
    queue: Vec<u32>,
    arc: Vec<usize>,
    /// Cells of the current path, with true when the cell gains a unit.
    path: Vec<(u32, bool)>,
}

impl Net {
    fn new(p: &Problem, s: &State) -> Self {
        let nodes = p.rows + p.cols;
        let mut excess = Vec::with_capacity(nodes);
        for i in 0..p.rows {
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
        Self {
            excess,
            costs: Costs::new(p, s),
            dist: vec![f64::INFINITY; nodes],
            parent: vec![NONE; nodes],
            done: vec![false; nodes],
            heap: BinaryHeap::new(),
            level: vec![-1; nodes],
            sink_level: -1,
            queue: Vec::new(),
            arc: vec![0; nodes],
            path: Vec::new(),
        }
    }

    fn reset_search(&mut self) {
        self.dist.fill(f64::INFINITY);
        self.parent.fill(NONE);
        self.done.fill(false);
        self.heap.clear();
    }

    fn push(&mut self, v: usize, d: f64, cell: usize) {
        if d < self.dist[v] {
            self.dist[v] = d;
            self.parent[v] = cell as u32;
            self.heap.push(Reverse((d.to_bits(), v as u32)));
        }
    }

    /// Potentials after a search from the receiving nodes: each node moves by its distance,
    /// capped at `reach` (rows up, columns down).
    fn shift(&self, p: &Problem, s: &mut State, reach: f64) {
        for (v, d) in self.dist.iter().enumerate() {
            let m = d.min(reach);
            if v < p.rows {
                s.alpha[v] += m;
            } else {
                s.beta[v - p.rows] -= m;
            }
        }
    }

    /// Multi-source Dijkstra on reversed arcs from every receiving node, stopped once the sending
    /// nodes settled hold `needed` units: returns the first of them settled and the distance of
    /// the last.
    fn backward(&mut self, p: &Problem, s: &State, needed: i64) -> Option<(usize, f64)> {
        let rows = p.rows;
        self.reset_search();
        for v in 0..self.excess.len() {
            if self.excess[v] < 0 {
                self.push(v, 0.0, NONE as usize);
            }
        }
        let (mut nearest, mut found) = (None, 0);
        while let Some(Reverse((bits, v))) = self.heap.pop() {
            let v = v as usize;
            if self.done[v] {
                continue;
            }
            self.done[v] = true;
            let d = f64::from_bits(bits);
            if self.excess[v] > 0 {
                nearest.get_or_insert(v);
                found += self.excess[v];
                if found >= needed {
                    return nearest.map(|n| (n, d));
                }
            }
            if v < rows {
                // Into a row: from the columns where it holds units.
                let a = s.alpha[v];
                for k in p.row_cells(v) {
                    if s.x[k] == 0 {
                        continue;
                    }
                    let j = rows + p.col[k] as usize;
                    if !self.done[j] {
                        let cost = a + s.beta[j - rows] - self.costs.down(p, s, k);
                        self.push(j, d + cost.max(0.0), k);
                    }
                }
            } else {
                // Into a column: from every row with a cell there.
                let j = v - rows;
                let b = s.beta[j];
                for q in p.col_start[j]..p.col_start[j + 1] {
                    let i = p.col_row[q] as usize;
                    if !self.done[i] {
                        let cost = self.costs.col_up[q] - s.alpha[i] - b;
                        self.push(i, d + cost.max(0.0), p.col_cells[q] as usize);
                    }
                }
            }
        }
        None
    }

    /// Moves one unit from `source` along the arcs found by [`Self::backward`].
    fn augment_from(&mut self, p: &Problem, s: &mut State, source: usize) {
        let rows = p.rows;
        let mut v = source;
        while self.parent[v] != NONE {
            let k = self.parent[v] as usize;
            if v < rows {
                s.x[k] += 1;
                v = rows + p.col[k] as usize;
            } else {
                s.x[k] -= 1;
                v = p.row[k] as usize;
            }
            self.costs.update(p, s, k);
        }
        self.excess[source] -= 1;
        self.excess[v] += 1;
    }

    /// Breadth-first levels over zero-cost arcs from the sending nodes; true when a receiving
    /// node is reached.
    fn levels(&mut self, p: &Problem, s: &State) -> bool {
        let rows = p.rows;
        self.level.fill(-1);
        self.sink_level = -1;
        self.queue.clear();
        for (v, e) in self.excess.iter().enumerate() {
            if *e > 0 {
                self.level[v] = 0;
                self.queue.push(v as u32);
            }
        }
        let mut head = 0;
        while let Some(v) = self.queue.get(head).copied() {
            head += 1;
            let v = v as usize;
            if self.excess[v] < 0 && self.sink_level < 0 {
                self.sink_level = self.level[v];
            }
            let next = self.level[v] + 1;
            if self.sink_level >= 0 && next > self.sink_level {
                continue;
            }
            if v < rows {
                for k in p.row_cells(v) {
                    let j = rows + p.col[k] as usize;
                    if self.level[j] < 0 && forward_cost(&self.costs, p, s, k) <= ZERO_COST {
                        self.level[j] = next;
                        self.queue.push(j as u32);
                    }
                }
            } else {
                let j = v - rows;
                let b = s.beta[j];
                for q in p.col_start[j]..p.col_start[j + 1] {
                    let i = p.col_row[q] as usize;
                    if self.level[i] < 0 && s.alpha[i] + b - self.costs.col_down[q] <= ZERO_COST {
                        self.level[i] = next;
                        self.queue.push(i as u32);
                    }
                }
            }
        }
        self.sink_level >= 0
    }

    /// Moves units one at a time along level-increasing zero-cost paths until none is left;
    /// returns how many moved.
    fn blocking_flow(&mut self, p: &Problem, s: &mut State) -> u64 {
        let rows = p.rows;
        self.arc[..rows].copy_from_slice(&p.row_start[..rows]);
        self.arc[rows..].copy_from_slice(&p.col_start[..p.cols]);
        let mut moved = 0;
        for source in 0..self.excess.len() {
            while self.excess[source] > 0 && self.level[source] == 0 {
                let Some(sink) = self.find_path(p, s, source) else {
                    break;
                };
                for (k, gains) in &self.path {
                    let k = *k as usize;
                    if *gains {
                        s.x[k] += 1;
                    } else {
                        s.x[k] -= 1;
                    }
                    self.costs.update(p, s, k);
                }
                self.excess[source] -= 1;
                self.excess[sink] += 1;
                moved += 1;
            }
        }
        moved
    }

    /// Depth-first search for a path to a receiving node in the level graph, leaving its cells
    /// in `self.path`. Dead ends leave the level graph.
    fn find_path(&mut self, p: &Problem, s: &State, source: usize) -> Option<usize> {
        let rows = p.rows;
        self.path.clear();
        let mut v = source;
        loop {
            if self.excess[v] < 0 {
                return Some(v);
            }
            let next = self.level[v] + 1;
            let mut found = NONE;
            if next <= self.sink_level {
                if v < rows {
                    let end = p.row_start[v + 1];
                    while self.arc[v] < end {
                        let k = self.arc[v];
                        let j = rows + p.col[k] as usize;
                        if self.level[j] == next && forward_cost(&self.costs, p, s, k) <= ZERO_COST
                        {
                            found = k as u32;
                            break;
                        }
                        self.arc[v] += 1;
                    }
                } else {
                    let b = s.beta[v - rows];
                    let end = p.col_start[v - rows + 1];
                    while self.arc[v] < end {
                        let q = self.arc[v];
                        let i = p.col_row[q] as usize;
                        if self.level[i] == next
                            && s.alpha[i] + b - self.costs.col_down[q] <= ZERO_COST
                        {
                            found = p.col_cells[q];
                            break;
                        }
                        self.arc[v] += 1;
                    }
                }
            }
            if found == NONE {
                self.level[v] = -1;
                let (back, _) = self.path.pop()?;
                let k = back as usize;
                v = if v < rows {
                    rows + p.col[k] as usize
                } else {
                    p.row[k] as usize
                };
                continue;
            }
            self.path.push((found, v < rows));
            let k = found as usize;
            v = if v < rows {
                rows + p.col[k] as usize
            } else {
                p.row[k] as usize
            };
        }
    }
}
