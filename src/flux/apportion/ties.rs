//! Ties: cells whose quotient lies on a half-way point, so that the other rounding is equally
//! valid. Changing one such cell breaks the margins; changing the cells of an alternating cycle
//! (one up, the next in the same column down, the next in the same row up, …) keeps them, and
//! every equally valid table differs from ours by such cycles.
//!
//! Rule ([`super::TIE_RULE`]): among the equally valid tables, rows choose in input order; each
//! row takes its units in the tied cells that come first in the column order of [`column_key`],
//! as far as the rows after it can still meet their totals. The key order interleaves the
//! columns (it is the order of the fractional parts of `j × 0.618…`), so that a row's units are
//! spread over the whole table rather than piled into its first columns.

use std::collections::VecDeque;

use super::Tie;
use super::parallel::{PARALLEL_CELLS, join};
use super::scaling::{HalfLn, State};
use super::sparse::Problem;

/// Largest table (rows × columns) for which [`Lex`] keeps a dense map from cells to ties (four
/// bytes per cell: 16 MB at most).
const DENSE_LOOKUP: usize = 4_000_000;

/// A quotient closer than this (in log) to a half-way point is a tie. Far below the published
/// precision (10⁻⁸) and far above the floating-point error of the potentials.
const THRESHOLD: f64 = 1e-9;

/// The rank of column `j` in the tie order: `j × 2 654 435 769 mod 2³²` (Fibonacci hashing, a
/// bijection on 32-bit indices).
pub(super) fn column_key(j: u32) -> u32 {
    j.wrapping_mul(0x9E37_79B9)
}

pub(super) fn resolve(p: &Problem, s: &mut State) -> Vec<Tie> {
    resolve_with(p, s, p.rows.saturating_mul(p.cols) <= DENSE_LOOKUP)
}

/// [`resolve`], with or without the dense map from cells to ties (the result is the same).
pub(super) fn resolve_with(p: &Problem, s: &mut State, dense: bool) -> Vec<Tie> {
    let ties = detect(p, s);
    if ties.is_empty() {
        return Vec::new();
    }
    let mut lex = Lex::new(p, ties, dense);
    lex.greedy_start(p, s);
    for i in 0..p.rows {
        lex.settle_row(p, s, i);
    }

    // The lists of the rule are dropped before the ties are listed: the largest allocations of
    // the solve are not all alive at once.
    let ties = std::mem::take(&mut lex.ties);
    drop(lex);
    ties.iter()
        .map(|tie| {
            let value = s.x[tie.cell as usize];
            Tie {
                row: p.row[tie.cell as usize],
                col: p.col[tie.cell as usize],
                value,
                // A low tie can take one more unit: its value is below the column total, itself
                // at most `u32::MAX`.
                alternative: if tie.high { value - 1 } else { value + 1 },
            }
        })
        .collect()
}

/// A node outside the levels of [`Lex::recover`].
const FAR: u32 = u32::MAX;

/// Breadth-first levels and current arcs of one phase of [`Lex::recover`].
struct Levels {
    row: Vec<u32>,
    col: Vec<u32>,
    row_arc: Vec<usize>,
    col_arc: Vec<usize>,
    /// The level of the nearest columns with room.
    sink: u32,
}

struct TieCell {
    cell: u32,
    /// At the greater of its two values (it may go down) rather than the smaller (it may go up).
    high: bool,
}

/// Tie cells in row-major order; on large tables, each half of the rows on its own thread.
fn detect(p: &Problem, s: &State) -> Vec<TieCell> {
    let middle = p.middle_row();
    let (mut top, bottom) = join(
        p.cells() >= PARALLEL_CELLS,
        || detect_rows(p, s, 0..middle),
        || detect_rows(p, s, middle..p.rows),
    );
    top.extend(bottom);
    top
}

fn detect_rows(p: &Problem, s: &State, rows: std::ops::Range<usize>) -> Vec<TieCell> {
    let half = HalfLn::new();
    let mut ties = Vec::new();
    for i in rows {
        let a = s.alpha[i];
        for k in p.row_cells(i) {
            let sum = a + s.beta[p.col[k] as usize] + p.ln_weight[k];
            let (low, high) = half.around(s.x[k]);
            // At zero, `low` is −∞ and `down` +∞.
            let (up, down) = (high - sum, sum - low);
            if up.min(down) < THRESHOLD {
                ties.push(TieCell {
                    cell: k as u32,
                    high: down < up,
                });
            }
        }
    }
    ties
}

/// The ties by row (each row in column key order) and by column (each column by increasing
/// row), as [`Lex`] keeps them, each entry with the line it leads to: a search reads a line's
/// entries in sequence and looks a tie up only when the line at the other end is still open.
struct Lists {
    row_start: Vec<usize>,
    by_row: Vec<u32>,
    row_col: Vec<u32>,
    col_start: Vec<usize>,
    by_col: Vec<u32>,
    col_row: Vec<u32>,
}

fn lists(p: &Problem, ties: &[TieCell]) -> Lists {
    let mut row_start = vec![0usize; p.rows + 1];
    let mut col_start = vec![0usize; p.cols + 1];
    for t in ties {
        row_start[p.row[t.cell as usize] as usize + 1] += 1;
        col_start[p.col[t.cell as usize] as usize + 1] += 1;
    }
    for i in 0..p.rows {
        row_start[i + 1] += row_start[i];
    }
    for j in 0..p.cols {
        col_start[j + 1] += col_start[j];
    }
    let mut by_row = vec![0u32; ties.len()];
    let mut row_col = vec![0u32; ties.len()];
    let mut by_col = vec![0u32; ties.len()];
    let mut col_row = vec![0u32; ties.len()];
    let mut col_fill = col_start.clone();
    for (t, tie) in ties.iter().enumerate() {
        let j = p.col[tie.cell as usize] as usize;
        by_col[col_fill[j]] = t as u32;
        col_row[col_fill[j]] = p.row[tie.cell as usize];
        col_fill[j] += 1;
    }
    // Columns in key order, each listing its ties by increasing row: filling the rows from
    // them leaves every row's ties in key order, with no sort.
    let mut key_order: Vec<u32> = (0..p.cols as u32).collect();
    key_order.sort_unstable_by_key(|j| column_key(*j));
    let mut row_fill = row_start.clone();
    for j in key_order {
        let column = col_start[j as usize]..col_start[j as usize + 1];
        for (t, i) in by_col[column.clone()].iter().zip(&col_row[column]) {
            let i = *i as usize;
            by_row[row_fill[i]] = *t;
            row_col[row_fill[i]] = j;
            row_fill[i] += 1;
        }
    }
    Lists {
        row_start,
        by_row,
        row_col,
        col_start,
        by_col,
        col_row,
    }
}

/// The greedy of the rule. Row `i` keeps its number of high cells (any exchange enters and leaves
/// it once); for each of its tied cells in key order that is low, it looks for an alternating
/// path through the rows after it to a later high cell of its own, and swaps. A failed search
/// proves that every node it visited can never lead to such a cell while row `i` is settled, so
/// those nodes are skipped for the rest of the row.
struct Lex {
    ties: Vec<TieCell>,
    /// Tie indices by row (sorted by column key) and by column, each with its column or row.
    row_start: Vec<usize>,
    by_row: Vec<u32>,
    /// The column of each entry of `by_row`.
    row_col: Vec<u32>,
    /// On tables up to [`DENSE_LOOKUP`] cells, the tie at `row × cols + col` (or `u32::MAX`):
    /// found in one step rather than by a search in the row.
    at: Vec<u32>,
    col_start: Vec<usize>,
    by_col: Vec<u32>,
    /// The row of each entry of `by_col`.
    col_row: Vec<u32>,
    /// Per column: `(i, tie)` when row `i`'s tie there is high and not yet settled.
    target: Vec<(u32, u32)>,
    /// The columns of `target` for the current row (some possibly settled since).
    targets: Vec<u32>,
    /// Per column: high ties in the rows not yet settled.
    open_high: Vec<u32>,
    /// Per column: ties in the rows not yet settled.
    open_ties: Vec<u32>,
    dead_row: Vec<u32>,
    dead_col: Vec<u32>,
    seen_row: Vec<u32>,
    seen_col: Vec<u32>,
    /// The tie through which a node was reached in the current search.
    via_row: Vec<u32>,
    via_col: Vec<u32>,
    search: u32,
    queue: VecDeque<(bool, u32)>,
    visited: Vec<(bool, u32)>,
}

impl Lex {
    fn new(p: &Problem, ties: Vec<TieCell>, dense: bool) -> Self {
        // The dense map is independent of the lists: on large tables it is filled on a second
        // thread.
        let dense_map = || {
            let mut at = Vec::new();
            if dense {
                at = vec![u32::MAX; p.rows * p.cols];
                for (t, tie) in ties.iter().enumerate() {
                    let k = tie.cell as usize;
                    at[p.row[k] as usize * p.cols + p.col[k] as usize] = t as u32;
                }
            }
            at
        };
        let (
            at,
            Lists {
                row_start,
                by_row,
                row_col,
                col_start,
                by_col,
                col_row,
            },
        ) = join(p.cells() >= PARALLEL_CELLS, dense_map, || lists(p, &ties));
        let n = |len: usize| vec![u32::MAX; len];
        Self {
            open_ties: (0..p.cols)
                .map(|j| (col_start[j + 1] - col_start[j]) as u32)
                .collect(),
            // Counted by `greedy_start`, which places the high ties.
            open_high: vec![0; p.cols],
            ties,
            row_start,
            by_row,
            row_col,
            at,
            col_start,
            by_col,
            col_row,
            target: vec![(u32::MAX, 0); p.cols],
            targets: Vec::new(),
            dead_row: n(p.rows),
            dead_col: n(p.cols),
            seen_row: n(p.rows),
            seen_col: n(p.cols),
            via_row: n(p.rows),
            via_col: n(p.cols),
            search: 0,
            queue: VecDeque::new(),
            visited: Vec::new(),
        }
    }

    /// Re-places the high ties (each row keeps its number of them, each column too) as the rule
    /// would with no later row to serve: rows in input order, each taking the columns of its ties
    /// in key order while the column has high ties left to give. Rows left short then recover
    /// their units along alternating paths. The rule's own pass then finds, from this start, few
    /// cells to move: a low tie before a row's last high one usually sits in a column that the
    /// rows before it have filled, where no search is needed.
    fn greedy_start(&mut self, p: &Problem, s: &mut State) {
        let mut row_need = vec![0u32; p.rows];
        let mut col_room = vec![0u32; p.cols];
        let old: Vec<bool> = self.ties.iter().map(|t| t.high).collect();
        for t in &mut self.ties {
            if t.high {
                row_need[p.row[t.cell as usize] as usize] += 1;
                col_room[p.col[t.cell as usize] as usize] += 1;
                t.high = false;
            }
        }
        // Per column: the rows not yet served that have a tie there.
        let mut open = self.open_ties.clone();
        for (i, need) in row_need.iter_mut().enumerate() {
            let own = self.row_start[i]..self.row_start[i + 1];
            // A column with as much room as rows left to fill it needs this row's unit.
            for n in own.clone() {
                let t = self.by_row[n] as usize;
                let j = self.row_col[n] as usize;
                if *need > 0 && col_room[j] > 0 && col_room[j] >= open[j] {
                    col_room[j] -= 1;
                    *need -= 1;
                    self.ties[t].high = true;
                }
            }
            for n in own {
                let t = self.by_row[n] as usize;
                let j = self.row_col[n] as usize;
                open[j] -= 1;
                if *need > 0 && col_room[j] > 0 && !self.ties[t].high {
                    col_room[j] -= 1;
                    *need -= 1;
                    self.ties[t].high = true;
                }
            }
        }
        let short: u32 = row_need.iter().sum();
        if short > 0 {
            self.recover(p, &mut row_need, &mut col_room);
        }
        for (t, was) in self.ties.iter().zip(old) {
            let x = &mut s.x[t.cell as usize];
            match (was, t.high) {
                (false, true) => *x += 1,
                (true, false) => *x -= 1,
                _ => {}
            }
        }
        self.open_high.fill(0);
        for t in self.ties.iter().filter(|t| t.high) {
            self.open_high[p.col[t.cell as usize] as usize] += 1;
        }
    }

    /// Gives the rows left short by [`Self::greedy_start`] their units, in phases as in
    /// Dinic's algorithm: a breadth-first search from every short row (along a low tie into a
    /// column, along another row's high tie out of it) levels the nodes up to the nearest
    /// columns with room; then paths that climb those levels one at a time are followed depth
    /// first and alternated (the low ties on the path become high, the high ones low). The
    /// original table proves that every row can be served, so phases end with no row short.
    fn recover(&mut self, p: &Problem, row_need: &mut [u32], col_room: &mut [u32]) {
        let mut levels = Levels {
            row: vec![FAR; p.rows],
            col: vec![FAR; p.cols],
            row_arc: vec![0; p.rows],
            col_arc: vec![0; p.cols],
            sink: FAR,
        };
        while self.level(row_need, col_room, &mut levels) {
            levels.row_arc.copy_from_slice(&self.row_start[..p.rows]);
            levels.col_arc.copy_from_slice(&self.col_start[..p.cols]);
            let mut moved = false;
            for (i, need) in row_need.iter_mut().enumerate() {
                while *need > 0 && levels.row[i] == 0 && self.climb(p, i, col_room, &mut levels) {
                    *need -= 1;
                    moved = true;
                }
            }
            if !moved {
                // Unreachable while the original table is valid; the rule's pass and the exact
                // verification still run on what there is.
                return;
            }
        }
    }

    /// Levels for [`Self::recover`]; false when no column with room can be reached.
    fn level(&mut self, row_need: &[u32], col_room: &[u32], levels: &mut Levels) -> bool {
        levels.row.fill(FAR);
        levels.col.fill(FAR);
        levels.sink = FAR;
        self.queue.clear();
        for (i, need) in row_need.iter().enumerate() {
            if *need > 0 {
                levels.row[i] = 0;
                self.queue.push_back((true, i as u32));
            }
        }
        while let Some((is_row, v)) = self.queue.pop_front() {
            let v = v as usize;
            if is_row {
                let next = levels.row[v] + 1;
                if next > levels.sink {
                    break;
                }
                for n in self.row_start[v]..self.row_start[v + 1] {
                    let c = self.row_col[n] as usize;
                    if levels.col[c] != FAR || self.ties[self.by_row[n] as usize].high {
                        continue;
                    }
                    levels.col[c] = next;
                    if col_room[c] > 0 {
                        levels.sink = next;
                    } else {
                        self.queue.push_back((false, c as u32));
                    }
                }
            } else {
                let next = levels.col[v] + 1;
                if next >= levels.sink {
                    break;
                }
                for n in self.col_start[v]..self.col_start[v + 1] {
                    let r = self.col_row[n] as usize;
                    if levels.row[r] == FAR && self.ties[self.by_col[n] as usize].high {
                        levels.row[r] = next;
                        self.queue.push_back((true, r as u32));
                    }
                }
            }
        }
        levels.sink != FAR
    }

    /// One path from short row `start` up the levels to a column with room, alternated; false
    /// when none is left (dead ends leave the levels).
    fn climb(
        &mut self,
        p: &Problem,
        start: usize,
        col_room: &mut [u32],
        levels: &mut Levels,
    ) -> bool {
        // Ties of the path: low ones (row to column) at even places, high ones at odd places.
        let mut path: Vec<u32> = Vec::new();
        let (mut is_row, mut v) = (true, start);
        loop {
            let mut found = None;
            if is_row {
                let next = levels.row[v] + 1;
                let end = self.row_start[v + 1];
                while levels.row_arc[v] < end {
                    let t = self.by_row[levels.row_arc[v]];
                    let c = self.row_col[levels.row_arc[v]] as usize;
                    if levels.col[c] == next && !self.ties[t as usize].high {
                        if next == levels.sink && col_room[c] == 0 {
                            levels.col[c] = FAR;
                        } else {
                            found = Some((t, c));
                            break;
                        }
                    }
                    levels.row_arc[v] += 1;
                }
            } else {
                let next = levels.col[v] + 1;
                let end = self.col_start[v + 1];
                while levels.col_arc[v] < end {
                    let t = self.by_col[levels.col_arc[v]];
                    let r = self.col_row[levels.col_arc[v]] as usize;
                    if levels.row[r] == next && self.ties[t as usize].high {
                        found = Some((t, r));
                        break;
                    }
                    levels.col_arc[v] += 1;
                }
            }
            match found {
                Some((t, w)) => {
                    path.push(t);
                    if is_row && levels.col[w] == levels.sink {
                        col_room[w] -= 1;
                        for (n, t) in path.iter().enumerate() {
                            self.ties[*t as usize].high = n % 2 == 0;
                        }
                        return true;
                    }
                    (is_row, v) = (!is_row, w);
                }
                None => {
                    // A dead end: leave the levels and step back.
                    if is_row {
                        levels.row[v] = FAR;
                    } else {
                        levels.col[v] = FAR;
                    }
                    let Some(t) = path.pop() else {
                        return false;
                    };
                    let cell = self.ties[t as usize].cell as usize;
                    if is_row {
                        let c = p.col[cell] as usize;
                        levels.col_arc[c] += 1;
                        (is_row, v) = (false, c);
                    } else {
                        let r = p.row[cell] as usize;
                        levels.row_arc[r] += 1;
                        (is_row, v) = (true, r);
                    }
                }
            }
        }
    }

    fn settle_row(&mut self, p: &Problem, s: &mut State, i: usize) {
        let stamp = i as u32;
        let own = self.row_start[i]..self.row_start[i + 1];
        let mut later_high = 0;
        self.targets.clear();
        for n in own.clone() {
            let t = self.by_row[n] as usize;
            let c = self.row_col[n];
            if self.ties[t].high {
                // When every row from this one on that has a tie in the column is high there,
                // the column needs this row's unit: it is no target.
                if self.open_high[c as usize] < self.open_ties[c as usize] {
                    self.target[c as usize] = (stamp, t as u32);
                    self.targets.push(c);
                    later_high += 1;
                }
                self.open_high[c as usize] -= 1;
            }
            self.open_ties[c as usize] -= 1;
        }
        for n in own {
            let t = self.by_row[n] as usize;
            let j = self.row_col[n];
            if self.ties[t].high {
                if self.target[j as usize].0 == stamp {
                    self.target[j as usize].0 = u32::MAX;
                    later_high -= 1;
                }
                continue;
            }
            if later_high == 0 {
                break;
            }
            if self.dead_col[j as usize] == stamp || self.open_high[j as usize] == 0 {
                continue;
            }
            match self.find(p, i, j) {
                Some(end) => {
                    self.flip(p, s, t, j, end);
                    let lowered = &mut self.target[end as usize];
                    lowered.0 = u32::MAX;
                    let tie = &mut self.ties[lowered.1 as usize];
                    s.x[tie.cell as usize] -= 1;
                    tie.high = false;
                    later_high -= 1;
                }
                None => {
                    for (is_row, v) in self.visited.drain(..) {
                        if is_row {
                            self.dead_row[v as usize] = stamp;
                        } else {
                            self.dead_col[v as usize] = stamp;
                        }
                    }
                }
            }
        }
    }

    /// Breadth-first search from column `start` through rows after `i` (down a high tie into a
    /// row, up a low tie into a column) to a column where row `i` has an unsettled high tie.
    fn find(&mut self, p: &Problem, i: usize, start: u32) -> Option<u32> {
        let stamp = i as u32;
        self.search = self.search.wrapping_add(1);
        let search = self.search;
        self.queue.clear();
        self.visited.clear();
        // Targets settled since the last search leave the list once per search.
        self.targets.retain(|c| self.target[*c as usize].0 == stamp);
        self.seen_col[start as usize] = search;
        self.visited.push((false, start));
        self.queue.push_back((false, start));
        while let Some((is_row, v)) = self.queue.pop_front() {
            let v = v as usize;
            if is_row {
                for n in self.row_start[v]..self.row_start[v + 1] {
                    let c = self.row_col[n] as usize;
                    let t = self.by_row[n];
                    if self.seen_col[c] == search
                        || self.dead_col[c] == stamp
                        || self.ties[t as usize].high
                    {
                        continue;
                    }
                    self.seen_col[c] = search;
                    self.via_col[c] = t;
                    if self.target[c].0 == stamp {
                        return Some(c as u32);
                    }
                    if self.open_high[c] == 0 {
                        continue;
                    }
                    self.visited.push((false, c as u32));
                    self.queue.push_back((false, c as u32));
                }
            } else {
                // A column lists its ties by increasing row: skip the settled rows at once.
                let column = self.col_start[v]..self.col_start[v + 1];
                let first = column.start
                    + self.col_row[column.clone()].partition_point(|r| *r as usize <= i);
                for n in first..column.end {
                    let r = self.col_row[n] as usize;
                    let t = self.by_col[n];
                    if self.seen_row[r] == search
                        || self.dead_row[r] == stamp
                        || !self.ties[t as usize].high
                    {
                        continue;
                    }
                    self.seen_row[r] = search;
                    self.via_row[r] = t;
                    if let Some(c) = self.direct_target(p, r, stamp) {
                        return Some(c);
                    }
                    self.visited.push((true, r as u32));
                    self.queue.push_back((true, r as u32));
                }
            }
        }
        None
    }

    /// Raises tie `raised` (row `i`, column `start`) and alternates along the search path back
    /// from column `end`.
    fn flip(&mut self, p: &Problem, s: &mut State, raised: usize, start: u32, end: u32) {
        let tie = &mut self.ties[raised];
        s.x[tie.cell as usize] += 1;
        tie.high = true;
        let mut c = end as usize;
        while c != start as usize {
            let up = self.via_col[c] as usize;
            let r = p.row[self.ties[up].cell as usize] as usize;
            let down = self.via_row[r] as usize;
            let tie = &mut self.ties[up];
            s.x[tie.cell as usize] += 1;
            tie.high = true;
            self.open_high[c] += 1;
            let tie = &mut self.ties[down];
            s.x[tie.cell as usize] -= 1;
            tie.high = false;
            c = p.col[self.ties[down].cell as usize] as usize;
            self.open_high[c] -= 1;
        }
    }

    /// A column where row `r` has a low tie and the current row a target, found from the
    /// (usually few) targets rather than from `r`'s many ties.
    fn direct_target(&mut self, p: &Problem, r: usize, stamp: u32) -> Option<u32> {
        let slice = self.row_start[r]..self.row_start[r + 1];
        // Latest key first: the later the unit given up, the less it needs to come back.
        for c in self.targets.iter().rev() {
            let tie = if self.at.is_empty() {
                let key = column_key(*c);
                self.row_col[slice.clone()]
                    .binary_search_by_key(&key, |j| column_key(*j))
                    .ok()
                    .map(|n| self.by_row[slice.start + n])
            } else {
                Some(self.at[r * p.cols + *c as usize]).filter(|t| *t != u32::MAX)
            };
            if let Some(t) = tie
                && !self.ties[t as usize].high
                && self.dead_col[*c as usize] != stamp
            {
                self.via_col[*c as usize] = t;
                return Some(*c);
            }
        }
        None
    }
}
