use rust_decimal::Decimal;

use super::*;

fn d(value: &str) -> Decimal {
    value.parse().expect("test decimal")
}

fn ints(values: &[i64]) -> Vec<Decimal> {
    values.iter().map(|v| Decimal::from(*v)).collect()
}

/// A dense matrix of integer weights; zeros are structural.
fn matrix(rows: &[&[i64]]) -> WeightMatrix {
    let cols = rows.first().map_or(0, |r| r.len());
    let mut cells = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        for (j, w) in row.iter().enumerate() {
            if *w != 0 {
                cells.push((i as u32, j as u32, Decimal::from(*w)));
            }
        }
    }
    WeightMatrix {
        rows: rows.len(),
        cols,
        cells,
    }
}

/// Row totals as the solver sets them: `total` apportioned by Sainte-Laguë over the row weights.
fn sainte_lague_rows(weights: &WeightMatrix, total: u64) -> Vec<u64> {
    let mut row_weights = vec![Decimal::ZERO; weights.rows];
    for (r, _, w) in &weights.cells {
        row_weights[*r as usize] += w;
    }
    sainte_lague(total, &row_weights).expect("row totals").seats
}

fn dense(table: &BiproportionalTable) -> Vec<Vec<u64>> {
    (0..table.rows)
        .map(|i| (0..table.cols).map(|j| table.cell(i, j)).collect())
        .collect()
}

#[test]
fn sainte_lague_textbook_example() {
    // 100,000 / 80,000 / 30,000 / 20,000 votes, 8 seats: 3, 3, 1, 1. The divisor lies strictly
    // between the highest next quotient (100,000 / 3.5) and the lowest last one (80,000 / 2.5).
    let result = sainte_lague(8, &ints(&[100_000, 80_000, 30_000, 20_000])).expect("apportionment");
    assert_eq!(result.seats, vec![3, 3, 1, 1]);
    assert_eq!(result.divisor, d("30000"));
    assert!(result.ties.is_empty());
}

#[test]
fn sainte_lague_ties_go_to_the_earlier_index() {
    let weights = ints(&[1, 1, 1]);
    let one = sainte_lague(1, &weights).expect("apportionment");
    assert_eq!(one.seats, vec![1, 0, 0]);
    assert_eq!(one.ties, vec![0, 1, 2]);
    assert_eq!(one.divisor, d("2"));
    let two = sainte_lague(2, &weights).expect("apportionment");
    assert_eq!(two.seats, vec![1, 1, 0]);
    assert_eq!(two.ties, vec![0, 1, 2]);
    let three = sainte_lague(3, &weights).expect("apportionment");
    assert_eq!(three.seats, vec![1, 1, 1]);
    assert!(three.ties.is_empty());
}

#[test]
fn sainte_lague_decimal_weights_and_zero_weights() {
    // 2.5 and 1.5 with 2 seats: quotients 2.5/1.5 and 1.5/0.5 at the cut: 1 and 1.
    let result = sainte_lague(2, &[d("2.5"), Decimal::ZERO, d("1.5")]).expect("apportionment");
    assert_eq!(result.seats, vec![1, 0, 1]);
    // 3 seats over 0.1 / 0.2 with an irrelevant zero: 1, 2 (0.2 / 1.5 > 0.1 / 1.5).
    let result = sainte_lague(3, &[d("0.1"), d("0.2"), d("0")]).expect("apportionment");
    assert_eq!(result.seats, vec![1, 2, 0]);
}

#[test]
fn sainte_lague_rejects_bad_input() {
    assert_eq!(
        sainte_lague(3, &[d("1"), d("-0.5")]),
        Err(ApportionError::NegativeWeight {
            index: 1,
            weight: d("-0.5")
        })
    );
    assert_eq!(
        sainte_lague(3, &ints(&[0, 0])),
        Err(ApportionError::AllWeightsZero { total: 3 })
    );
    assert_eq!(
        sainte_lague(3, &[]),
        Err(ApportionError::AllWeightsZero { total: 3 })
    );
    let none = sainte_lague(0, &ints(&[0, 4])).expect("apportionment");
    assert_eq!(none.seats, vec![0, 0]);
    assert!(none.divisor > d("8"), "every quotient below one half");
}

#[test]
fn sainte_lague_large_total_is_fast_and_exact() {
    // A poor float start (total far above the weights) is repaired by exact exchanges.
    let weights = [d("0.000001"), d("0.000002"), d("1000000000")];
    let result = sainte_lague(u64::from(u32::MAX), &weights).expect("apportionment");
    assert_eq!(result.seats.iter().sum::<u64>(), u64::from(u32::MAX));
    assert_eq!(result.seats[0], 0);
}

#[test]
fn biproportional_one_cell() {
    let table = biproportional(&matrix(&[&[3]]), &[7], &[7]).expect("table");
    assert_eq!(dense(&table), vec![vec![7]]);
    assert!(table.ties.is_empty());
    let empty = biproportional(&matrix(&[&[3]]), &[0], &[0]).expect("table");
    assert_eq!(dense(&empty), vec![vec![0]]);
}

#[test]
fn biproportional_unique_example() {
    // Weights 4 1 / 1 4, margins 3 2 / 3 2. Tables with these margins: 3 0 / 0 2, 2 1 / 1 1,
    // 1 2 / 2 0; Σ ln((k − ½) / w) is −6.592, −6.526 and higher: the first, with no tie.
    let table = biproportional(&matrix(&[&[4, 1], &[1, 4]]), &[3, 2], &[3, 2]).expect("table");
    assert_eq!(dense(&table), vec![vec![3, 0], vec![0, 2]]);
    assert!(table.ties.is_empty());
}

#[test]
fn biproportional_ties_follow_the_rule() {
    // Weights 3 1 / 1 3, margins 2 2 / 2 2: any divisors give 3λ₁μ₁ · 3λ₂μ₂ = 9 · λ₁μ₂ · λ₂μ₁, so
    // both 2 0 / 0 2 and 1 1 / 1 1 sit exactly at half-way points. The rule keeps the table with
    // the greater first cell.
    let table = biproportional(&matrix(&[&[3, 1], &[1, 3]]), &[2, 2], &[2, 2]).expect("table");
    assert_eq!(dense(&table), vec![vec![2, 0], vec![0, 2]]);
    let ties: Vec<(u32, u32, u32, u32)> = table
        .ties
        .iter()
        .map(|t| (t.row, t.col, t.value, t.alternative))
        .collect();
    assert_eq!(
        ties,
        vec![(0, 0, 2, 1), (0, 1, 0, 1), (1, 0, 0, 1), (1, 1, 2, 1)]
    );

    // All weights equal: the diagonal, the earlier row taking the earlier column.
    let table = biproportional(&matrix(&[&[1, 1], &[1, 1]]), &[1, 1], &[1, 1]).expect("table");
    assert_eq!(dense(&table), vec![vec![1, 0], vec![0, 1]]);
    assert_eq!(table.ties.len(), 4);
}

#[test]
fn tied_units_follow_the_column_key_order() {
    // Every cell is tied. Keys of columns 0..4: 0, 2 654 435 769, 1 013 904 242, 3 668 340 011,
    // so the order is 0, 2, 1, 3: the first row takes columns 0 and 2, not 0 and 1.
    let weights = matrix(&[&[1, 1, 1, 1], &[1, 1, 1, 1]]);
    let table = biproportional(&weights, &[2, 2], &[1, 1, 1, 1]).expect("table");
    assert_eq!(dense(&table), vec![vec![1, 0, 1, 0], vec![0, 1, 0, 1]]);
    assert_eq!(table.ties.len(), 8);
    assert!(
        table
            .ties
            .iter()
            .all(|t| t.value.abs_diff(t.alternative) == 1)
    );
}

#[test]
fn biproportional_respects_structural_zeros_and_zero_lines() {
    // Row 2 and column 3 have zero totals: their cells are zero whatever their weights.
    let weights = matrix(&[&[5, 0, 2, 9], &[1, 4, 0, 9], &[7, 7, 7, 9]]);
    let table = biproportional(&weights, &[6, 4, 0], &[3, 4, 3, 0]).expect("table");
    let cells = dense(&table);
    assert_eq!(cells[2], vec![0, 0, 0, 0]);
    assert!(cells.iter().all(|r| r[3] == 0));
    assert_eq!(cells[0][1], 0);
    assert_eq!(cells[1][2], 0);
    assert_eq!(cells[0].iter().sum::<u64>(), 6);
    assert_eq!(verify(&weights, &table), Ok(()));
}

#[test]
fn biproportional_names_the_lines_at_fault() {
    // Row 0 needs 5 but can only use column 0, which takes 2.
    let weights = matrix(&[&[1, 0], &[1, 1]]);
    let error = biproportional(&weights, &[5, 1], &[2, 4]).expect_err("infeasible");
    assert_eq!(
        error,
        ApportionError::Infeasible {
            rows: vec![0],
            row_total: 5,
            columns: vec![0],
            column_total: 2,
        }
    );
    assert_eq!(
        error.to_string(),
        "la ligne 0 (total 5) ne peut être servie que par la colonne 0 (total 2)"
    );
    // Rows 0 and 1 (total 8) share columns 0 and 1 (total 3).
    let weights = matrix(&[&[1, 1, 0], &[1, 0, 0], &[1, 1, 1]]);
    let error = biproportional(&weights, &[4, 4, 1], &[1, 2, 6]).expect_err("infeasible");
    assert_eq!(
        error.to_string(),
        "les lignes 0, 1 (total 8) ne peuvent être servies que par les colonnes 0, 1 (total 3)"
    );
}

#[test]
fn biproportional_rejects_bad_input() {
    let weights = matrix(&[&[1, 1], &[1, 1]]);
    assert_eq!(
        biproportional(&weights, &[1, 1], &[1, 2]),
        Err(ApportionError::MarginSums {
            rows: 2,
            columns: 3
        })
    );
    assert_eq!(
        biproportional(&weights, &[1], &[1, 0]),
        Err(ApportionError::RowTotalsLength {
            expected: 2,
            found: 1
        })
    );
    assert_eq!(
        biproportional(&matrix(&[&[1, 0], &[1, 0]]), &[1, 1], &[1, 1]),
        Err(ApportionError::EmptyColumn { col: 1, total: 1 })
    );
    assert_eq!(
        biproportional(&matrix(&[&[0, 0], &[1, 1]]), &[1, 1], &[1, 1]),
        Err(ApportionError::EmptyRow { row: 0, total: 1 })
    );
    let mut duplicate = weights.clone();
    duplicate.cells.push((1, 0, d("2")));
    assert_eq!(
        biproportional(&duplicate, &[1, 1], &[1, 1]),
        Err(ApportionError::DuplicateCell { row: 1, col: 0 })
    );
    let mut outside = weights.clone();
    outside.cells.push((0, 2, d("2")));
    assert!(matches!(
        biproportional(&outside, &[1, 1], &[1, 1]),
        Err(ApportionError::CellOutOfRange { row: 0, col: 2, .. })
    ));
    let mut negative = weights.clone();
    negative.cells[0].2 = d("-1");
    assert!(matches!(
        biproportional(&negative, &[1, 1], &[1, 1]),
        Err(ApportionError::NegativeCell { row: 0, col: 0, .. })
    ));
    assert_eq!(
        biproportional(
            &weights,
            &[u64::from(u32::MAX) + 1, 0],
            &[u64::from(u32::MAX) + 1, 0]
        ),
        Err(ApportionError::TotalTooLarge {
            total: u64::from(u32::MAX) + 1
        })
    );
    let huge = WeightMatrix {
        rows: 1 << 20,
        cols: 1 << 20,
        cells: Vec::new(),
    };
    assert!(matches!(
        biproportional(&huge, &[], &[]),
        Err(ApportionError::TooLarge { .. })
    ));
}

#[test]
fn empty_and_all_zero_problems() {
    let table = biproportional(&WeightMatrix::default(), &[], &[]).expect("table");
    assert!(table.cells.is_empty());
    let table = biproportional(&matrix(&[&[0, 0], &[0, 0]]), &[0, 0], &[0, 0]).expect("table");
    assert_eq!(dense(&table), vec![vec![0, 0], vec![0, 0]]);
}

#[test]
fn verify_rejects_tampered_tables() {
    let weights = matrix(&[&[4, 1], &[1, 4]]);
    let table = biproportional(&weights, &[3, 2], &[3, 2]).expect("table");
    assert_eq!(verify(&weights, &table), Ok(()));

    // Moving a unit around a cycle keeps the margins but not the rounding.
    let mut moved = table.clone();
    moved.cells = vec![2, 1, 1, 1];
    assert!(matches!(
        verify(&weights, &moved),
        Err(VerifyError::NotRounding { .. })
    ));

    let mut margin = table.clone();
    margin.cells[0] = 4;
    assert!(matches!(
        verify(&weights, &margin),
        Err(VerifyError::RowMargin { row: 0, .. })
    ));

    let mut divisor = table.clone();
    divisor.row_divisors[1] = Decimal::ZERO;
    assert!(matches!(
        verify(&weights, &divisor),
        Err(VerifyError::NonPositiveDivisor { index: 1, .. })
    ));

    let mut tie = table.clone();
    tie.ties.push(Tie {
        row: 0,
        col: 0,
        value: 3,
        alternative: 2,
    });
    assert_eq!(
        verify(&weights, &tie),
        Err(VerifyError::BadTie { row: 0, col: 0 })
    );

    let zero = matrix(&[&[0, 1], &[1, 4]]);
    assert_eq!(
        verify(&zero, &table),
        Err(VerifyError::StructuralZero {
            row: 0,
            col: 0,
            value: 3
        })
    );
}

#[test]
fn verify_requires_ties_to_be_declared() {
    let weights = matrix(&[&[3, 1], &[1, 3]]);
    let table = biproportional(&weights, &[2, 2], &[2, 2]).expect("table");
    let mut undeclared = table.clone();
    undeclared.ties.clear();
    assert!(verify(&weights, &undeclared).is_err());
    // With exact divisors 1.2 and 1, the first quotient is 3 / 1.2 = 2.5 exactly.
    let exact = BiproportionalTable {
        row_divisors: vec![d("1.2"), d("1.2")],
        column_divisors: vec![d("1"), d("1")],
        ties: Vec::new(),
        ..table
    };
    assert_eq!(
        verify(&weights, &exact),
        Err(VerifyError::UndeclaredTie { row: 0, col: 0 })
    );
}

#[test]
fn error_messages_are_french_and_name_lines() {
    let error = ApportionError::Infeasible {
        rows: vec![3, 7],
        row_total: 120,
        columns: vec![12, 15],
        column_total: 80,
    };
    assert_eq!(
        error.to_string(),
        "les lignes 3, 7 (total 120) ne peuvent être servies que par les colonnes 12, 15 (total 80)"
    );
}

/// Verifies a one-cell table: the given weight and value, divisors 1 and 1, declared ties.
fn verify_one_cell(weight: &str, value: u32, ties: Vec<Tie>) -> Result<(), VerifyError> {
    let weights = WeightMatrix {
        rows: 1,
        cols: 1,
        cells: vec![(0, 0, d(weight))],
    };
    let table = BiproportionalTable {
        rows: 1,
        cols: 1,
        cells: vec![value],
        row_totals: vec![u64::from(value)],
        column_totals: vec![u64::from(value)],
        row_divisors: vec![d("1")],
        column_divisors: vec![d("1")],
        ties,
    };
    verify(&weights, &table)
}

fn not_rounding(value: u64) -> Result<(), VerifyError> {
    Err(VerifyError::NotRounding {
        row: 0,
        col: 0,
        value,
    })
}

#[test]
fn verify_decides_exactly_where_floating_point_cannot() {
    // 0.5 + 10⁻²⁰ is 0.5 in floating point: only the exact check sees it above the half-way
    // point, so 1 is its rounding, 0 is not, and it is not a tie.
    assert_eq!(
        verify_one_cell("0.50000000000000000001", 1, Vec::new()),
        Ok(())
    );
    assert_eq!(
        verify_one_cell("0.50000000000000000001", 0, Vec::new()),
        not_rounding(0)
    );
    assert_eq!(
        verify_one_cell("0.49999999999999999999", 1, Vec::new()),
        not_rounding(1)
    );
    assert_eq!(
        verify_one_cell("0.5", 1, Vec::new()),
        Err(VerifyError::UndeclaredTie { row: 0, col: 0 })
    );
    // A declared tie at exactly the published precision (10⁻⁸ relative) is accepted; a hair
    // beyond it is refused, though both look alike in floating point to within 10⁻¹⁶.
    let tie = |value| Tie {
        row: 0,
        col: 0,
        value,
        alternative: 0,
    };
    assert_eq!(verify_one_cell("0.500000005", 1, vec![tie(1)]), Ok(()));
    assert_eq!(
        verify_one_cell("0.50000000500000000001", 1, vec![tie(1)]),
        Err(VerifyError::BadTie { row: 0, col: 0 })
    );
    // Far from any boundary, the floating-point screen decides, and still refuses a wrong cell.
    assert_eq!(verify_one_cell("7.2", 8, Vec::new()), not_rounding(8));
    assert_eq!(verify_one_cell("7.2", 7, Vec::new()), Ok(()));
}

#[test]
fn a_large_tied_table_follows_the_rule_on_two_threads() {
    // 50 rows × 1,000 columns of equal weights (above the size where the work is split between
    // two threads), each column receiving one unit and each row twenty: every quotient is tied,
    // so row 0 takes the first twenty columns in the key order (j × 2 654 435 769 mod 2³²), row
    // 1 the next twenty, and so on.
    let (rows, cols) = (50usize, 1_000usize);
    assert!(rows * cols >= parallel::PARALLEL_CELLS);
    let cells = (0..rows)
        .flat_map(|i| (0..cols).map(move |j| (i as u32, j as u32, Decimal::ONE)))
        .collect();
    let weights = WeightMatrix { rows, cols, cells };
    let table = biproportional(&weights, &vec![20; rows], &vec![1; cols]).expect("table");
    let mut by_key: Vec<usize> = (0..cols).collect();
    by_key.sort_by_key(|j| (*j as u32).wrapping_mul(2_654_435_769));
    for (n, j) in by_key.iter().enumerate() {
        let owner = n / 20;
        for i in 0..rows {
            assert_eq!(table.cell(i, *j), u64::from(i == owner), "cell ({i}, {j})");
        }
    }
    assert_eq!(table.ties.len(), rows * cols);
    assert_eq!(verify(&weights, &table), Ok(()));
    // The same input gives the same table, divisors and ties, whatever the threads did.
    let again = biproportional(&weights, &vec![20; rows], &vec![1; cols]).expect("table");
    assert_eq!(again, table);
    // And so do the same cells given in reverse order (laid out through the sort, on two
    // threads).
    let mut reversed = weights.clone();
    reversed.cells.reverse();
    let from_reversed = biproportional(&reversed, &vec![20; rows], &vec![1; cols]);
    assert_eq!(from_reversed, Ok(table));
}

#[test]
fn share_times_flux_weights_start_on_the_plateau() {
    // Weights share × column total in every row but the last (the unreserved remainder): the
    // start is the plateau alone. Weights unrelated to the column totals: both starts are tried.
    let flux = [5u64, 9, 14, 20];
    let shares = [3i64, 7, 12];
    let mut rows: Vec<Vec<i64>> = shares
        .iter()
        .map(|s| flux.iter().map(|f| s * *f as i64).collect())
        .collect();
    rows.push(flux.iter().map(|f| 78 * *f as i64 + 1).collect());
    let refs: Vec<&[i64]> = rows.iter().map(Vec::as_slice).collect();
    let weights = matrix(&refs);
    let row_totals = sainte_lague_rows(&weights, flux.iter().sum());
    let problem = sparse::Problem::new(&weights, &row_totals, &flux).expect("problem");
    assert!(scaling::proportional_to_columns(&problem));
    let mixed = matrix(&[&[1, 2, 3, 4], &[4, 3, 2, 1], &[2, 2, 5, 1], &[15, 1, 1, 30]]);
    let row_totals = sainte_lague_rows(&mixed, flux.iter().sum());
    let problem = sparse::Problem::new(&mixed, &row_totals, &flux).expect("problem");
    assert!(!scaling::proportional_to_columns(&problem));
    // Either start gives the table the transfers make exact.
    let table = biproportional(&weights, &sainte_lague_rows(&weights, 48), &flux).expect("table");
    assert_eq!(verify(&weights, &table), Ok(()));
}

#[test]
fn the_order_in_which_cells_are_given_does_not_matter() {
    // Row-major cells (the solver's order) take a path that skips the sort; the same cells
    // reversed, or column by column, go through it: same table, divisors and ties.
    let (rows, cols) = (12usize, 40usize);
    let mut cells = Vec::new();
    for i in 0..rows {
        for j in 0..cols {
            if (i * 3 + j) % 5 != 0 {
                let w = Decimal::from(1 + ((i * 7 + j * 11) % 13) as i64);
                cells.push((i as u32, j as u32, w));
            }
        }
    }
    let weights = WeightMatrix { rows, cols, cells };
    let col_totals: Vec<u64> = (0..cols as u64).map(|j| 3 + j % 4).collect();
    let row_totals = sainte_lague_rows(&weights, col_totals.iter().sum());
    let table = biproportional(&weights, &row_totals, &col_totals).expect("table");
    let mut reversed = weights.clone();
    reversed.cells.reverse();
    assert_eq!(
        biproportional(&reversed, &row_totals, &col_totals),
        Ok(table.clone())
    );
    let mut by_column = weights.clone();
    by_column.cells.sort_by_key(|(r, c, _)| (*c, *r));
    assert_eq!(
        biproportional(&by_column, &row_totals, &col_totals),
        Ok(table)
    );
    // A cell given twice in a row is a duplicate, in sorted input as in any other.
    let mut twice = weights.clone();
    let cell = twice.cells[5];
    twice.cells.insert(5, cell);
    assert_eq!(
        biproportional(&twice, &row_totals, &col_totals),
        Err(ApportionError::DuplicateCell {
            row: cell.0,
            col: cell.1
        })
    );
}

#[test]
fn the_tie_rule_gives_the_same_table_with_or_without_the_dense_map() {
    // Share × flux weights on 30 rows × 400 columns (many ties); the rule is applied once with
    // the map from cells to ties that small tables use, once with the search in each row that
    // tables above 4 million cells use.
    let (rows, cols) = (30usize, 400usize);
    let flux: Vec<u64> = (0..cols as u64).map(|j| 5 + (j * 7) % 21).collect();
    let mut cells = Vec::new();
    for i in 0..rows {
        for (j, f) in flux.iter().enumerate() {
            if (i + j) % 7 != 0 {
                let share = Decimal::new(1 + (i as i64 % 5), 2);
                cells.push((i as u32, j as u32, share * Decimal::from(*f)));
            }
        }
    }
    let weights = WeightMatrix { rows, cols, cells };
    let row_totals = sainte_lague_rows(&weights, flux.iter().sum());
    let mut problem = sparse::Problem::new(&weights, &row_totals, &flux).expect("problem");
    let mut state = scaling::start(&problem);
    let logs = problem.logs();
    problem.take_logs(logs);
    transport::settle(&problem, &mut state).expect("settled");
    divisors::center(&problem, &mut state);
    let mut without = state.clone();
    let dense_ties = ties::resolve_with(&problem, &mut state, true);
    let searched_ties = ties::resolve_with(&problem, &mut without, false);
    assert!(dense_ties.len() > 100, "{} ties", dense_ties.len());
    assert_eq!(dense_ties, searched_ties);
    assert_eq!(state.x, without.x);
    // And it is the table the public function returns.
    let table = biproportional(&weights, &row_totals, &flux).expect("table");
    assert_eq!(table.ties, dense_ties);
}

/// The tie rule, checked from its definition on a finished table: no row can take a unit in a
/// tied cell earlier in the key order than one of its own units, by an exchange through the
/// rows after it. Such an exchange is an alternating path: row `i` rises in column `j`, a later
/// row falls there and rises in another column, … until a column where row `i` falls, later in
/// the key order than `j`. Plain breadth-first search, independent of the solver's own.
fn assert_follows_tie_rule(table: &BiproportionalTable) {
    let key = |j: usize| (j as u32).wrapping_mul(2_654_435_769);
    // Per cell: Some(true) for a tie at its greater value, Some(false) at its smaller one.
    let mut tie = vec![None; table.rows * table.cols];
    for t in &table.ties {
        tie[t.row as usize * table.cols + t.col as usize] = Some(t.alternative < t.value);
    }
    let at = |i: usize, j: usize| tie[i * table.cols + j];
    for i in 0..table.rows {
        for j in (0..table.cols).filter(|j| at(i, *j) == Some(false)) {
            let mut seen_col = vec![false; table.cols];
            let mut seen_row = vec![false; table.rows];
            let mut queue = std::collections::VecDeque::from([j]);
            seen_col[j] = true;
            while let Some(c) = queue.pop_front() {
                for r in (i + 1..table.rows).filter(|r| at(*r, c) == Some(true)) {
                    if seen_row[r] {
                        continue;
                    }
                    seen_row[r] = true;
                    for next in (0..table.cols).filter(|n| at(r, *n) == Some(false)) {
                        assert!(
                            !(at(i, next) == Some(true) && key(next) > key(j)),
                            "row {i} could take column {j} instead of column {next}"
                        );
                        if !seen_col[next] {
                            seen_col[next] = true;
                            queue.push_back(next);
                        }
                    }
                }
            }
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// Share × flux weights on up to 24 rows × 90 columns, some rows restricted to a band of
    /// columns: thousands of ties, rows that the first placement of units leaves short, and
    /// columns that every later row needs.
    #[test]
    fn the_tie_rule_holds_on_mid_size_share_times_flux_tables(
        shares in proptest::collection::vec(1i64..=60, 4..24),
        fluxes in proptest::collection::vec(1u64..=9, 20..90),
        bands in proptest::collection::vec(0usize..4, 24),
    ) {
        let (rows, cols) = (shares.len() + 1, fluxes.len());
        let mut cells = Vec::new();
        for (j, f) in fluxes.iter().enumerate() {
            let mut left = Decimal::from(*f);
            for (i, share) in shares.iter().enumerate() {
                // Band 0: every column; band b > 0: only the columns j with j mod 4 < b.
                if bands[i] > 0 && j % 4 >= bands[i] {
                    continue;
                }
                let w = Decimal::new(*share, 3) * Decimal::from(*f);
                cells.push((i as u32, j as u32, w));
                left -= w;
            }
            if left > Decimal::ZERO {
                cells.push(((rows - 1) as u32, j as u32, left));
            }
        }
        let weights = WeightMatrix { rows, cols, cells };
        let row_totals = sainte_lague_rows(&weights, fluxes.iter().sum());
        let table = biproportional(&weights, &row_totals, &fluxes).expect("table");
        proptest::prop_assert_eq!(verify(&weights, &table), Ok(()));
        assert_follows_tie_rule(&table);
    }
}

#[test]
fn the_middle_row_halves_the_cells_not_the_rows() {
    // Rows of 1, 10, 10 and 1 cells: the two threads split before row 2 (11 cells of 22 on
    // each side). Rows of 1, 1, 10 and 10 cells: before row 3 (12 cells and 10), where halving
    // the row count would have split before row 2 (2 cells and 20).
    let line = |n: usize| -> Vec<i64> { (0..10).map(|j| i64::from(j < n)).collect() };
    let balanced = [line(1), line(10), line(10), line(1)];
    let uneven = [line(1), line(1), line(10), line(10)];
    let split = |rows: &[Vec<i64>]| {
        let refs: Vec<&[i64]> = rows.iter().map(Vec::as_slice).collect();
        let weights = matrix(&refs);
        let row_totals: Vec<u64> = rows.iter().map(|r| r.iter().sum::<i64>() as u64).collect();
        let mut column_totals = vec![0u64; 10];
        for r in rows {
            for (j, w) in r.iter().enumerate() {
                column_totals[j] += *w as u64;
            }
        }
        sparse::Problem::new(&weights, &row_totals, &column_totals)
            .expect("problem")
            .middle_row()
    };
    assert_eq!(split(&balanced), 2);
    assert_eq!(split(&uneven), 3);
}

#[test]
fn the_column_index_lists_each_column_by_increasing_row_on_two_threads() {
    // 60 × 1,000 cells with a pattern of structural zeros, more than the two-thread threshold:
    // each half of the columns is indexed on its own thread.
    let (rows, cols) = (60usize, 1_000usize);
    let mut cells = Vec::new();
    for i in 0..rows {
        for j in 0..cols {
            if (i * 7 + j * 3) % 5 != 0 {
                cells.push((i as u32, j as u32, Decimal::from(1 + (i * j) % 9)));
            }
        }
    }
    assert!(cells.len() >= parallel::PARALLEL_CELLS);
    let weights = WeightMatrix { rows, cols, cells };
    let mut row_totals = vec![0u64; rows];
    let mut column_totals = vec![0u64; cols];
    for (i, j, w) in &weights.cells {
        let w = u64::try_from(w.mantissa()).expect("small weight");
        row_totals[*i as usize] += w;
        column_totals[*j as usize] += w;
    }
    let p = sparse::Problem::new(&weights, &row_totals, &column_totals).expect("problem");
    let mut seen = vec![false; p.cells()];
    for j in 0..cols {
        let range = p.col_start[j]..p.col_start[j + 1];
        let expected: Vec<(u32, f64)> = weights
            .cells
            .iter()
            .filter(|(_, c, _)| *c as usize == j)
            .map(|(i, _, w)| (*i, sparse::to_f64(*w)))
            .collect();
        let listed: Vec<(u32, f64)> = range
            .clone()
            .map(|q| (p.col_row[q], p.col_weight[q]))
            .collect();
        assert_eq!(listed, expected, "colonne {j}");
        for q in range {
            let k = p.col_cells[q] as usize;
            assert_eq!((p.row[k], p.col[k] as usize), (p.col_row[q], j));
            assert!(!seen[k], "cellule {k} listée deux fois");
            seen[k] = true;
        }
    }
    assert!(seen.iter().all(|s| *s));
}
