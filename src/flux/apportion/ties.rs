//! Ties: cells whose quotient lies on a half-way point, so that the other rounding is equally
//! valid. Changing one such cell breaks the margins; changing the cells of an alternating cycle
//! (one up, the next in the same column down, the next in the same row up, …) keeps them, and
//! every equally valid table differs from ours by such cycles.
//!
//! Rule ([`super::TIE_RULE`]): among the equally valid tables, the one that, read in row-major
//! order, is greater at the first cell where they differ: the earlier row, then the earlier
//! column, receives the unit.

use std::collections::{HashMap, VecDeque};

use super::Tie;
use super::scaling::{State, half_ln};
use super::sparse::Problem;

/// A quotient closer than this (in log) to a half-way point is a tie. Far below the published
/// precision (10⁻⁸) and far above the floating-point error of the potentials.
const THRESHOLD: f64 = 1e-9;

struct TieCell {
    cell: usize,
    /// At the greater of its two values (it may go down) rather than the smaller (it may go up).
    high: bool,
}

pub(super) fn resolve(p: &Problem, s: &mut State) -> Vec<Tie> {
    let mut ties = detect(p, s);
    if ties.is_empty() {
        return Vec::new();
    }
    let mut by_row: HashMap<u32, Vec<usize>> = HashMap::new();
    let mut by_col: HashMap<u32, Vec<usize>> = HashMap::new();
    for (t, tie) in ties.iter().enumerate() {
        by_row.entry(p.row[tie.cell]).or_default().push(t);
        by_col.entry(p.col[tie.cell]).or_default().push(t);
    }
    for t in 0..ties.len() {
        if ties[t].high {
            continue;
        }
        if let Some(cycle) = cycle_through(p, &ties, &by_row, &by_col, t) {
            for u in cycle.into_iter().chain([t]) {
                let tie = &mut ties[u];
                if tie.high {
                    s.x[tie.cell] -= 1;
                } else {
                    s.x[tie.cell] += 1;
                }
                tie.high = !tie.high;
            }
        }
    }
    ties.iter()
        .map(|tie| {
            let value = u64::from(s.x[tie.cell]);
            Tie {
                row: p.row[tie.cell] as usize,
                col: p.col[tie.cell] as usize,
                value,
                alternative: if tie.high { value - 1 } else { value + 1 },
            }
        })
        .collect()
}

/// Tie cells in row-major order.
fn detect(p: &Problem, s: &State) -> Vec<TieCell> {
    let mut ties = Vec::new();
    for i in 0..p.rows {
        let a = s.alpha[i];
        for k in p.row_cells(i) {
            let sum = a + s.beta[p.col[k] as usize];
            let x = s.x[k];
            let up = half_ln(x) - p.ln_weight[k] - sum;
            let down = if x > 0 {
                sum - (half_ln(x - 1) - p.ln_weight[k])
            } else {
                f64::INFINITY
            };
            if up.min(down) < THRESHOLD {
                ties.push(TieCell {
                    cell: k,
                    high: down < up,
                });
            }
        }
    }
    ties
}

/// An alternating path from the column of tie `t` back to its row through ties later than `t`
/// (earlier ones are settled): down in a column, up in a row. Returns the ties on it.
fn cycle_through(
    p: &Problem,
    ties: &[TieCell],
    by_row: &HashMap<u32, Vec<usize>>,
    by_col: &HashMap<u32, Vec<usize>>,
    t: usize,
) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq, Eq, Hash)]
    enum Node {
        Row(u32),
        Col(u32),
    }
    let start = Node::Col(p.col[ties[t].cell]);
    let goal = Node::Row(p.row[ties[t].cell]);
    let mut came_from: HashMap<Node, Option<usize>> = HashMap::from([(start, None)]);
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        let (list, wanted_high) = match node {
            Node::Col(j) => (by_col.get(&j), true),
            Node::Row(i) => (by_row.get(&i), false),
        };
        for u in list.into_iter().flatten().copied() {
            if u <= t || ties[u].high != wanted_high {
                continue;
            }
            let next = match node {
                Node::Col(_) => Node::Row(p.row[ties[u].cell]),
                Node::Row(_) => Node::Col(p.col[ties[u].cell]),
            };
            if came_from.contains_key(&next) {
                continue;
            }
            came_from.insert(next, Some(u));
            if next == goal {
                let mut cycle = Vec::new();
                let mut at = next;
                while let Some(Some(u)) = came_from.get(&at).copied() {
                    cycle.push(u);
                    at = match at {
                        Node::Row(_) => Node::Col(p.col[ties[u].cell]),
                        Node::Col(_) => Node::Row(p.row[ties[u].cell]),
                    };
                }
                return Some(cycle);
            }
            queue.push_back(next);
        }
    }
    None
}
