//! Feasibility of the margins under the structural zeros: a max flow (Dinic) from the rows
//! (capacity: row total) through the cells (unbounded) to the columns (capacity: column total).
//! A biproportional table exists exactly when the flow saturates the margins; otherwise the
//! minimum cut names rows whose total exceeds what the only columns they can reach can take.

use super::ApportionError;
use super::sparse::Problem;

/// Ok when some table with these margins respects the structural zeros.
pub(super) fn check(problem: &Problem) -> Result<(), ApportionError> {
    let mut net = Network::new(problem);
    while net.levels() {
        if problem.cancel.is_cancelled() {
            return Err(ApportionError::Cancelled);
        }
        net.blocking_flow();
    }
    let sent: u128 = net.row_flow.iter().map(|f| u128::from(*f)).sum();
    let total: u128 = problem.row_totals.iter().map(|t| u128::from(*t)).sum();
    if sent == total {
        return Ok(());
    }
    // After the last search, the levelled nodes are those the source still reaches.
    let rows: Vec<usize> = (0..problem.rows)
        .filter(|i| net.row_level[*i] >= 0)
        .collect();
    let columns: Vec<usize> = (0..problem.cols)
        .filter(|j| net.col_level[*j] >= 0)
        .collect();
    Err(ApportionError::Infeasible {
        row_total: rows
            .iter()
            .map(|i| u128::from(problem.row_totals[*i]))
            .sum(),
        column_total: columns
            .iter()
            .map(|j| u128::from(problem.column_totals[*j]))
            .sum(),
        rows,
        columns,
    })
}

#[derive(Clone, Copy)]
enum Node {
    Source,
    Row(usize),
    Col(usize),
}

#[derive(Clone, Copy)]
enum Arc {
    FromSource(usize),
    Forward(usize),
    Backward(usize),
    ToSink(usize),
}

struct Network<'a> {
    p: &'a Problem,
    flow: Vec<u32>,
    row_flow: Vec<u64>,
    col_flow: Vec<u64>,
    row_level: Vec<i32>,
    col_level: Vec<i32>,
    sink_level: i32,
    queue: Vec<Node>,
}

impl<'a> Network<'a> {
    fn new(p: &'a Problem) -> Self {
        Self {
            p,
            flow: vec![0; p.cells()],
            row_flow: vec![0; p.rows],
            col_flow: vec![0; p.cols],
            row_level: vec![-1; p.rows],
            col_level: vec![-1; p.cols],
            sink_level: -1,
            queue: Vec::new(),
        }
    }

    /// Breadth-first levels in the residual network; true when the sink is reached.
    fn levels(&mut self) -> bool {
        let p = self.p;
        self.row_level.fill(-1);
        self.col_level.fill(-1);
        self.sink_level = -1;
        self.queue.clear();
        for i in 0..p.rows {
            if self.row_flow[i] < p.row_totals[i] {
                self.row_level[i] = 1;
                self.queue.push(Node::Row(i));
            }
        }
        let mut head = 0;
        while let Some(node) = self.queue.get(head).copied() {
            head += 1;
            match node {
                Node::Row(i) => {
                    let level = self.row_level[i] + 1;
                    if self.sink_level >= 0 && level >= self.sink_level {
                        continue;
                    }
                    for k in p.row_cells(i) {
                        let j = p.col[k] as usize;
                        if self.col_level[j] < 0 {
                            self.col_level[j] = level;
                            self.queue.push(Node::Col(j));
                        }
                    }
                }
                Node::Col(j) => {
                    let level = self.col_level[j] + 1;
                    if self.col_flow[j] < p.column_totals[j] && self.sink_level < 0 {
                        self.sink_level = level;
                    }
                    if self.sink_level >= 0 && level >= self.sink_level {
                        continue;
                    }
                    let column = p.col_start[j]..p.col_start[j + 1];
                    for (k, i) in p.col_cells[column.clone()].iter().zip(&p.col_row[column]) {
                        let (k, i) = (*k as usize, *i as usize);
                        if self.row_level[i] < 0 && self.flow[k] > 0 {
                            self.row_level[i] = level;
                            self.queue.push(Node::Row(i));
                        }
                    }
                }
                Node::Source => {}
            }
        }
        self.sink_level >= 0
    }

    /// Augments along level-increasing paths until none is left (current-arc pointers keep each
    /// phase linear in the arcs plus the path lengths).
    fn blocking_flow(&mut self) {
        let p = self.p;
        let mut next_row = 0usize;
        let mut row_arc: Vec<usize> = (0..p.rows).map(|i| p.row_start[i]).collect();
        let mut col_arc = vec![0usize; p.cols];
        let mut path: Vec<Arc> = Vec::new();
        let mut node = Node::Source;
        loop {
            let step = match node {
                Node::Source => {
                    while next_row < p.rows
                        && !(self.row_level[next_row] == 1
                            && self.row_flow[next_row] < p.row_totals[next_row])
                    {
                        next_row += 1;
                    }
                    if next_row == p.rows {
                        return;
                    }
                    Some(Arc::FromSource(next_row))
                }
                Node::Row(i) => {
                    let end = p.row_start[i + 1];
                    let level = self.row_level[i] + 1;
                    let arc = &mut row_arc[i];
                    while *arc < end && self.col_level[p.col[*arc] as usize] != level {
                        *arc += 1;
                    }
                    (*arc < end).then_some(Arc::Forward(*arc))
                }
                Node::Col(j) => self.next_col_arc(j, &mut col_arc[j]),
            };
            match step {
                Some(Arc::ToSink(j)) => {
                    path.push(Arc::ToSink(j));
                    self.augment(&path);
                    path.clear();
                    node = Node::Source;
                }
                Some(arc) => {
                    path.push(arc);
                    node = match arc {
                        Arc::FromSource(i) => Node::Row(i),
                        Arc::Forward(k) => Node::Col(p.col[k] as usize),
                        Arc::Backward(k) => Node::Row(p.row[k] as usize),
                        Arc::ToSink(_) => Node::Source,
                    };
                }
                None => {
                    // Dead end: take the node out of the level graph and step back.
                    match node {
                        Node::Row(i) => self.row_level[i] = -1,
                        Node::Col(j) => self.col_level[j] = -1,
                        Node::Source => return,
                    }
                    path.pop();
                    node = match path.last() {
                        None => Node::Source,
                        Some(Arc::FromSource(i)) => Node::Row(*i),
                        Some(Arc::Forward(k)) => Node::Col(p.col[*k] as usize),
                        Some(Arc::Backward(k)) => Node::Row(p.row[*k] as usize),
                        Some(Arc::ToSink(_)) => Node::Source,
                    };
                }
            }
        }
    }

    /// Position 0 is the arc to the sink, position `n + 1` the column's `n`-th cell.
    fn next_col_arc(&self, j: usize, arc: &mut usize) -> Option<Arc> {
        let p = self.p;
        let level = self.col_level[j] + 1;
        if *arc == 0 {
            if self.sink_level == level && self.col_flow[j] < p.column_totals[j] {
                return Some(Arc::ToSink(j));
            }
            *arc = 1;
        }
        let first = p.col_start[j];
        let (cells, rows) = (p.col_cells(j), &p.col_row[first..p.col_start[j + 1]]);
        while let Some(k) = cells.get(*arc - 1) {
            let k = *k as usize;
            if self.row_level[rows[*arc - 1] as usize] == level && self.flow[k] > 0 {
                return Some(Arc::Backward(k));
            }
            *arc += 1;
        }
        None
    }

    fn augment(&mut self, path: &[Arc]) {
        let p = self.p;
        let amount = path
            .iter()
            .map(|arc| match arc {
                Arc::FromSource(i) => p.row_totals[*i] - self.row_flow[*i],
                Arc::Forward(_) => u64::MAX,
                Arc::Backward(k) => u64::from(self.flow[*k]),
                Arc::ToSink(j) => p.column_totals[*j] - self.col_flow[*j],
            })
            .min()
            .unwrap_or(0);
        for arc in path {
            match arc {
                Arc::FromSource(i) => self.row_flow[*i] += amount,
                // Cell flows stay within the row totals, themselves within u32 (checked on input).
                Arc::Forward(k) => self.flow[*k] += amount as u32,
                Arc::Backward(k) => self.flow[*k] -= amount as u32,
                Arc::ToSink(j) => self.col_flow[*j] += amount,
            }
        }
    }
}
