//! The table is its own certificate: this check needs only the weights, the table and its
//! divisors, and uses exact integer arithmetic throughout.

use std::cmp::Ordering;
use std::collections::HashMap;

use rust_decimal::Decimal;

use super::exact::{Parts, cmp_products};
use super::{BiproportionalTable, Tie, VerifyError, WeightMatrix};

/// 10⁸: a declared tie's quotient must be within 10⁻⁸ (relative) of its half-way point.
const TIE_SCALE: u128 = 100_000_000;

/// Checks that `table` is a biproportional apportionment of `weights`: shapes agree, divisors are
/// positive, row and column sums equal the declared totals, every cell with no positive weight is
/// zero, and every other cell is the standard rounding of weight / (row divisor × column
/// divisor), strictly inside its rounding interval unless it is a declared tie, whose quotient
/// must then lie within [`super::TIE_PRECISION`] of the half-way point between its value and its
/// alternative.
///
/// # Errors
/// The first defect found, naming its row and column.
pub fn verify(weights: &WeightMatrix, table: &BiproportionalTable) -> Result<(), VerifyError> {
    check_shape(weights, table)?;
    let row_div = divisor_parts(&table.row_divisors, "de la ligne")?;
    let col_div = divisor_parts(&table.column_divisors, "de la colonne")?;
    check_margins(table)?;
    let ties = tie_index(table)?;
    let (rows, cols) = (table.rows, table.cols);
    let mut covered = vec![0u64; (rows * cols).div_ceil(64)];
    let mut ties_seen = 0usize;
    for (r, c, w) in &weights.cells {
        let (i, j) = (*r as usize, *c as usize);
        let invalid = VerifyError::InvalidWeight { row: *r, col: *c };
        if i >= rows || j >= cols || *w < Decimal::ZERO {
            return Err(invalid);
        }
        let at = i * cols + j;
        if covered[at / 64] & (1 << (at % 64)) != 0 {
            return Err(invalid);
        }
        covered[at / 64] |= 1 << (at % 64);
        let value = u64::from(table.cells[at]);
        if w.is_zero() {
            if value != 0 {
                return Err(VerifyError::StructuralZero {
                    row: i,
                    col: j,
                    value,
                });
            }
            if ties.contains_key(&at) {
                return Err(VerifyError::BadTie { row: i, col: j });
            }
            continue;
        }
        let cell = Cell {
            weight: Parts::of(*w),
            row: row_div[i],
            col: col_div[j],
        };
        match ties.get(&at) {
            Some(tie) => {
                ties_seen += 1;
                if !cell.near_half_way(tie.value + tie.alternative) {
                    return Err(VerifyError::BadTie { row: i, col: j });
                }
            }
            None => cell.check_rounding(value, i, j)?,
        }
    }
    if ties_seen != ties.len() {
        let tie = table.ties.iter().find(|t| {
            let at = t.row * cols + t.col;
            covered[at / 64] & (1 << (at % 64)) == 0
        });
        let (row, col) = tie.map_or((0, 0), |t| (t.row, t.col));
        return Err(VerifyError::BadTie { row, col });
    }
    for (at, value) in table.cells.iter().enumerate() {
        if *value != 0 && covered[at / 64] & (1 << (at % 64)) == 0 {
            return Err(VerifyError::StructuralZero {
                row: at / cols,
                col: at % cols,
                value: u64::from(*value),
            });
        }
    }
    Ok(())
}

fn check_shape(weights: &WeightMatrix, table: &BiproportionalTable) -> Result<(), VerifyError> {
    let cells = table.rows.checked_mul(table.cols);
    let ok = weights.rows == table.rows
        && weights.cols == table.cols
        && cells == Some(table.cells.len())
        && table.row_totals.len() == table.rows
        && table.column_totals.len() == table.cols
        && table.row_divisors.len() == table.rows
        && table.column_divisors.len() == table.cols;
    if ok { Ok(()) } else { Err(VerifyError::Shape) }
}

fn divisor_parts(divisors: &[Decimal], line: &'static str) -> Result<Vec<Parts>, VerifyError> {
    divisors
        .iter()
        .enumerate()
        .map(|(index, d)| {
            if *d > Decimal::ZERO {
                Ok(Parts::of(*d))
            } else {
                Err(VerifyError::NonPositiveDivisor { line, index })
            }
        })
        .collect()
}

fn check_margins(table: &BiproportionalTable) -> Result<(), VerifyError> {
    let cols = table.cols;
    let mut col_sums = vec![0u128; cols];
    for (row, expected) in table.row_totals.iter().enumerate() {
        let line = &table.cells[row * cols..(row + 1) * cols];
        let found: u128 = line.iter().map(|v| u128::from(*v)).sum();
        for (sum, v) in col_sums.iter_mut().zip(line) {
            *sum += u128::from(*v);
        }
        if found != u128::from(*expected) {
            return Err(VerifyError::RowMargin {
                row,
                expected: *expected,
                found,
            });
        }
    }
    for (col, (found, expected)) in col_sums.iter().zip(&table.column_totals).enumerate() {
        if *found != u128::from(*expected) {
            return Err(VerifyError::ColumnMargin {
                col,
                expected: *expected,
                found: *found,
            });
        }
    }
    Ok(())
}

/// Declared ties by cell position, each consistent with the table and at most once.
fn tie_index(table: &BiproportionalTable) -> Result<HashMap<usize, &Tie>, VerifyError> {
    let mut index = HashMap::with_capacity(table.ties.len());
    for tie in &table.ties {
        let bad = VerifyError::BadTie {
            row: tie.row,
            col: tie.col,
        };
        if tie.row >= table.rows || tie.col >= table.cols {
            return Err(bad);
        }
        let at = tie.row * table.cols + tie.col;
        let consistent =
            u64::from(table.cells[at]) == tie.value && tie.value.abs_diff(tie.alternative) == 1;
        if !consistent || index.insert(at, tie).is_some() {
            return Err(bad);
        }
    }
    Ok(index)
}

/// A positive weight with its row and column divisors; the quotient is `w / (r · c)`.
struct Cell {
    weight: Parts,
    row: Parts,
    col: Parts,
}

impl Cell {
    /// `2w` against `odd · r · c`, i.e. the quotient against `odd / 2`.
    fn cmp_half(&self, odd: u128) -> Ordering {
        cmp_products(
            &[2, self.weight.mantissa],
            self.row.scale + self.col.scale,
            &[odd, self.row.mantissa, self.col.mantissa],
            self.weight.scale,
        )
    }

    /// Strictly inside `(value − ½, value + ½)` (for zero: below ½).
    fn check_rounding(&self, value: u64, row: usize, col: usize) -> Result<(), VerifyError> {
        let value = u128::from(value);
        let checks = [
            Some((self.cmp_half(2 * value + 1), Ordering::Less)),
            (value > 0).then(|| (self.cmp_half(2 * value - 1), Ordering::Greater)),
        ];
        for (found, wanted) in checks.into_iter().flatten() {
            if found == Ordering::Equal {
                return Err(VerifyError::UndeclaredTie { row, col });
            }
            if found != wanted {
                return Err(VerifyError::NotRounding {
                    row,
                    col,
                    value: value as u64,
                });
            }
        }
        Ok(())
    }

    /// `|2w − odd · r · c| ≤ 10⁻⁸ · odd · r · c`.
    fn near_half_way(&self, odd: u64) -> bool {
        let odd = u128::from(odd);
        let w = [2, self.weight.mantissa];
        let w_scale = self.row.scale + self.col.scale;
        let bound = |factor: u128| {
            cmp_products(
                &w,
                w_scale + 8,
                &[factor, odd, self.row.mantissa, self.col.mantissa],
                self.weight.scale,
            )
        };
        bound(TIE_SCALE + 1) != Ordering::Greater && bound(TIE_SCALE - 1) != Ordering::Less
    }
}
