//! Properties of the apportionment methods on small random inputs, checked against definitions
//! written independently here (exact rounding in i128, brute-force optimum of the biproportional
//! objective) rather than against the module's own checker.

use convention_flux::flux::apportion::{
    ApportionError, BiproportionalTable, WeightMatrix, biproportional, sainte_lague, verify,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

/// A small weight matrix (zeros are structural) with margins taken from a random table on its
/// support, so that a solution exists.
#[derive(Debug, Clone)]
struct Case {
    weights: Vec<Vec<Decimal>>,
    rows: Vec<u64>,
    cols: Vec<u64>,
}

impl Case {
    fn matrix(&self) -> WeightMatrix {
        let mut cells = Vec::new();
        for (i, row) in self.weights.iter().enumerate() {
            for (j, w) in row.iter().enumerate() {
                if !w.is_zero() {
                    cells.push((i as u32, j as u32, *w));
                }
            }
        }
        WeightMatrix {
            rows: self.weights.len(),
            cols: self.cols.len(),
            cells,
        }
    }
}

/// Weights such as 1.5 or 12: few distinct values, so exact ties are common.
fn weight() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        1 => Just(Decimal::ZERO),
        3 => (1i64..=12, 0u32..=1).prop_map(|(m, s)| Decimal::new(m, s)),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    case_up_to(3)
}

/// Cells of the generating table up to `max`: small enough for brute force when `max` is 1.
fn case_up_to(max: u64) -> impl Strategy<Value = Case> {
    (1usize..=4, 1usize..=4)
        .prop_flat_map(move |(r, c)| {
            (
                prop::collection::vec(prop::collection::vec(weight(), c), r),
                prop::collection::vec(prop::collection::vec(0u64..=max, c), r),
            )
        })
        .prop_map(|(weights, table)| {
            let cols = weights[0].len();
            let mut rows = vec![0u64; weights.len()];
            let mut col_totals = vec![0u64; cols];
            for (i, row) in weights.iter().enumerate() {
                for (j, w) in row.iter().enumerate() {
                    if !w.is_zero() {
                        rows[i] += table[i][j];
                        col_totals[j] += table[i][j];
                    }
                }
            }
            Case {
                weights,
                rows,
                cols: col_totals,
            }
        })
}

/// `value · 10^-scale` as integer parts.
fn parts(d: Decimal) -> (i128, u32) {
    (d.mantissa(), d.scale())
}

/// Compares `w / (r · c)` with `odd / 2` exactly; `None` if i128 overflows.
fn cmp_half(w: Decimal, r: Decimal, c: Decimal, odd: i128) -> Option<std::cmp::Ordering> {
    let ((mw, sw), (mr, sr), (mc, sc)) = (parts(w), parts(r), parts(c));
    let left = 2i128
        .checked_mul(mw)?
        .checked_mul(10i128.checked_pow(sr + sc)?)?;
    let right = odd
        .checked_mul(mr)?
        .checked_mul(mc)?
        .checked_mul(10i128.checked_pow(sw)?)?;
    Some(left.cmp(&right))
}

/// Every cell is the rounding of its quotient: strictly inside its interval, or a declared tie
/// within 10⁻⁸ of the half-way point toward its alternative.
fn assert_rounding(case: &Case, table: &BiproportionalTable) -> Result<(), TestCaseError> {
    use std::cmp::Ordering::{Greater, Less};
    for (i, row) in case.weights.iter().enumerate() {
        for (j, w) in row.iter().enumerate() {
            let x = table.cell(i, j);
            if w.is_zero() {
                prop_assert_eq!(x, 0, "structural zero at ({}, {})", i, j);
                continue;
            }
            let (r, c) = (table.row_divisors[i], table.column_divisors[j]);
            let tie = table
                .ties
                .iter()
                .find(|t| t.row as usize == i && t.col as usize == j);
            match tie {
                Some(t) => {
                    prop_assert_eq!(u64::from(t.value), x);
                    let odd = i128::from(t.value + t.alternative);
                    // |2w − odd·r·c| ≤ 10⁻⁸ · odd·r·c, as two comparisons scaled by 10⁸.
                    let near = |factor: i128| {
                        cmp_half(*w * Decimal::from(100_000_000), r, c, odd * factor)
                    };
                    let (Some(up), Some(down)) = (near(100_000_001), near(99_999_999)) else {
                        return Ok(());
                    };
                    prop_assert!(
                        up != Greater && down != Less,
                        "tie ({}, {}) not half-way",
                        i,
                        j
                    );
                }
                None => {
                    let odd = 2 * i128::from(x as u32);
                    let Some(upper) = cmp_half(*w, r, c, odd + 1) else {
                        return Ok(());
                    };
                    prop_assert_eq!(
                        upper,
                        Less,
                        "cell ({}, {}) = {} above its interval",
                        i,
                        j,
                        x
                    );
                    if x > 0 {
                        let Some(lower) = cmp_half(*w, r, c, odd - 1) else {
                            return Ok(());
                        };
                        prop_assert_eq!(
                            lower,
                            Greater,
                            "cell ({}, {}) = {} below its interval",
                            i,
                            j,
                            x
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

/// Σ over cells of Σ_{k ≤ x} ln((k − ½) / w): the biproportional table minimises it.
fn cost(case: &Case, cell: impl Fn(usize, usize) -> u64) -> f64 {
    let mut total = 0.0;
    for (i, row) in case.weights.iter().enumerate() {
        for (j, w) in row.iter().enumerate() {
            let w: f64 = w.to_string().parse().unwrap_or(1.0);
            for k in 1..=cell(i, j) {
                total += ((k as f64 - 0.5) / w).ln();
            }
        }
    }
    total
}

/// Every table with the margins on the support, by depth-first enumeration.
fn all_tables(case: &Case) -> Vec<Vec<u64>> {
    fn go(
        case: &Case,
        at: usize,
        rows: &mut [u64],
        cols: &mut [u64],
        table: &mut Vec<u64>,
        out: &mut Vec<Vec<u64>>,
    ) {
        let width = cols.len();
        if at == case.weights.len() * width {
            if rows.iter().chain(cols.iter()).all(|r| *r == 0) {
                out.push(table.clone());
            }
            return;
        }
        let (i, j) = (at / width, at % width);
        let max = if case.weights[i][j].is_zero() {
            0
        } else {
            rows[i].min(cols[j])
        };
        // The last cell of a row must take what is left of the row.
        let min = if j == width - 1 { rows[i] } else { 0 };
        for x in min..=max {
            rows[i] -= x;
            cols[j] -= x;
            table.push(x);
            go(case, at + 1, rows, cols, table, out);
            table.pop();
            rows[i] += x;
            cols[j] += x;
        }
    }
    let mut out = Vec::new();
    go(
        case,
        0,
        &mut case.rows.clone(),
        &mut case.cols.clone(),
        &mut Vec::new(),
        &mut out,
    );
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn margins_rounding_and_structural_zeros(case in case()) {
        let weights = case.matrix();
        let table = biproportional(&weights, &case.rows, &case.cols).expect("feasible by construction");
        for (i, total) in case.rows.iter().enumerate() {
            prop_assert_eq!((0..case.cols.len()).map(|j| table.cell(i, j)).sum::<u64>(), *total);
        }
        for (j, total) in case.cols.iter().enumerate() {
            prop_assert_eq!((0..case.rows.len()).map(|i| table.cell(i, j)).sum::<u64>(), *total);
        }
        prop_assert_eq!(verify(&weights, &table), Ok(()));
        assert_rounding(&case, &table)?;
    }

    #[test]
    fn agrees_with_brute_force(case in case_up_to(1)) {
        let table = biproportional(&case.matrix(), &case.rows, &case.cols).expect("feasible by construction");
        let ours = cost(&case, |i, j| table.cell(i, j));
        let width = case.cols.len();
        let mut costs: Vec<(f64, Vec<u64>)> = all_tables(&case)
            .into_iter()
            .map(|t| (cost(&case, |i, j| t[i * width + j]), t))
            .collect();
        costs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let best = costs[0].0;
        // Ours is an optimum; when the optimum is unique, it is the table itself.
        prop_assert!(ours <= best + 1e-9, "cost {} above the optimum {}", ours, best);
        // Among the optimal tables, the tie rule keeps the greatest when read row by row, each row
        // in the published column order.
        let mut order: Vec<usize> = (0..width).collect();
        order.sort_by_key(|j| (*j as u32).wrapping_mul(0x9E37_79B9));
        let read = |cell: &dyn Fn(usize, usize) -> u64| -> Vec<u64> {
            (0..case.rows.len()).flat_map(|i| order.iter().map(move |j| (i, *j))).map(|(i, j)| cell(i, j)).collect()
        };
        let ours_read = read(&|i, j| table.cell(i, j));
        for (c, t) in costs.iter().take_while(|(c, _)| *c <= best + 1e-9) {
            let theirs = read(&|i, j| t[i * width + j]);
            prop_assert!(ours_read >= theirs, "an optimal table ({}) precedes ours under the tie rule", c);
        }
        let unique = costs.get(1).is_none_or(|second| second.0 > best + 1e-9);
        if unique {
            prop_assert!(table.ties.is_empty());
            let expected = &costs[0].1;
            for i in 0..case.rows.len() {
                for j in 0..width {
                    prop_assert_eq!(table.cell(i, j), expected[i * width + j]);
                }
            }
        }
    }

    #[test]
    fn permuting_rows_and_columns_permutes_the_table(case in case(), seed in any::<u64>()) {
        let table = biproportional(&case.matrix(), &case.rows, &case.cols).expect("feasible by construction");
        prop_assume!(table.ties.is_empty());
        let (r, c) = (case.rows.len(), case.cols.len());
        // A rotation of the rows and one of the columns, by the seed.
        let row_of = |i: usize| (i + seed as usize % r) % r;
        let col_of = |j: usize| (j + (seed >> 32) as usize % c) % c;
        let mut permuted = case.clone();
        for i in 0..r {
            permuted.rows[row_of(i)] = case.rows[i];
            for j in 0..c {
                permuted.weights[row_of(i)][col_of(j)] = case.weights[i][j];
            }
        }
        for j in 0..c {
            permuted.cols[col_of(j)] = case.cols[j];
        }
        let other = biproportional(&permuted.matrix(), &permuted.rows, &permuted.cols).expect("feasible");
        for i in 0..r {
            for j in 0..c {
                prop_assert_eq!(other.cell(row_of(i), col_of(j)), table.cell(i, j));
            }
        }
    }

    #[test]
    fn infeasible_exactly_when_no_table_exists(
        weights in (1usize..=3, 1usize..=3).prop_flat_map(|(r, c)| prop::collection::vec(prop::collection::vec(weight(), c), r)),
        rows in prop::collection::vec(0u64..=3, 3),
        cols in prop::collection::vec(0u64..=3, 3),
    ) {
        let (r, c) = (weights.len(), weights[0].len());
        let mut rows = rows[..r].to_vec();
        let mut cols = cols[..c].to_vec();
        // Equal sums, so that only the structural zeros can make the margins infeasible.
        let (sr, sc): (u64, u64) = (rows.iter().sum(), cols.iter().sum());
        if sr < sc {
            rows[0] += sc - sr;
        } else {
            cols[0] += sr - sc;
        }
        let case = Case { weights, rows, cols };
        let exists = !all_tables(&case).is_empty();
        match biproportional(&case.matrix(), &case.rows, &case.cols) {
            Ok(table) => {
                prop_assert!(exists);
                prop_assert_eq!(verify(&case.matrix(), &table), Ok(()));
            }
            Err(ApportionError::Infeasible { row_total, column_total, .. }) => {
                prop_assert!(!exists);
                prop_assert!(row_total > column_total);
            }
            Err(ApportionError::EmptyRow { .. } | ApportionError::EmptyColumn { .. }) => prop_assert!(!exists),
            Err(other) => prop_assert!(false, "unexpected error {}", other),
        }
    }

    #[test]
    fn share_times_flux_weights(
        shares in prop::collection::vec(1i64..=4000, 2..10),
        fluxes in prop::collection::vec(0u64..=12, 1..16),
        scoped in prop::collection::vec(any::<bool>(), 10),
    ) {
        // Weights share × flux (the flux table's form), some rows restricted to the first half
        // of the columns, the last row taking what is left: many exact ties.
        let cols = fluxes.len();
        let mut weights = vec![vec![Decimal::ZERO; cols]; shares.len() + 1];
        for (j, f) in fluxes.iter().enumerate() {
            let mut left = Decimal::from(*f);
            for (i, share) in shares.iter().enumerate() {
                if scoped[i] && j >= cols.div_ceil(2) {
                    continue;
                }
                let w = Decimal::new(*share, 4) * Decimal::from(*f) / Decimal::ONE_HUNDRED;
                weights[i][j] = w;
                left -= w;
            }
            weights[shares.len()][j] = left.max(Decimal::ZERO);
        }
        let row_weights: Vec<Decimal> = weights.iter().map(|r| r.iter().sum()).collect();
        let total: u64 = fluxes.iter().sum();
        prop_assume!(total > 0);
        let rows = sainte_lague(total, &row_weights).expect("row totals").seats;
        let case = Case { weights, rows, cols: fluxes };
        let table = biproportional(&case.matrix(), &case.rows, &case.cols).expect("feasible");
        prop_assert_eq!(verify(&case.matrix(), &table), Ok(()));
        assert_rounding(&case, &table)?;
    }

    #[test]
    fn sainte_lague_is_exact_and_house_monotone(
        weights in prop::collection::vec((0i64..=500, 0u32..=3).prop_map(|(m, s)| Decimal::new(m, s)), 1..8),
        total in 0u64..60,
    ) {
        prop_assume!(weights.iter().any(|w| !w.is_zero()));
        let now = sainte_lague(total, &weights).expect("apportionment");
        let next = sainte_lague(total + 1, &weights).expect("apportionment");
        prop_assert_eq!(now.seats.iter().sum::<u64>(), total);
        prop_assert_eq!(next.seats.iter().sum::<u64>(), total + 1);
        for (a, b) in now.seats.iter().zip(&next.seats) {
            prop_assert!(b >= a, "house monotonicity: {:?} then {:?}", now.seats, next.seats);
        }
        // Each count other than a tie rounds weight / divisor strictly. (At a tie the divisor is
        // the exact common quotient only to 28 digits.)
        let one = Decimal::ONE;
        for (i, (w, s)) in weights.iter().zip(&now.seats).enumerate() {
            if w.is_zero() {
                prop_assert_eq!(*s, 0);
                continue;
            }
            if now.ties.contains(&i) {
                continue;
            }
            let odd = 2 * i128::from(*s as u32);
            if let Some(upper) = cmp_half(*w, now.divisor, one, odd + 1) {
                prop_assert!(upper.is_lt(), "{} seats for {} is too few", s, w);
            }
            let lower = if *s > 0 { cmp_half(*w, now.divisor, one, odd - 1) } else { None };
            if let Some(lower) = lower {
                prop_assert!(lower.is_gt(), "{} seats for {} is too many", s, w);
            }
        }
    }
}
