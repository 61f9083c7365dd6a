//! The table is its own certificate: this check needs only the weights, the table and its
//! divisors, and uses exact integer arithmetic throughout.

use std::cmp::Ordering;

use rust_decimal::Decimal;

use super::exact::{Parts, cmp_products};
use super::parallel::{PARALLEL_CELLS, join};
use super::sparse::to_f64;
use super::{BiproportionalTable, VerifyError, WeightMatrix};

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
    let row_float: Vec<f64> = table.row_divisors.iter().map(|d| to_f64(*d)).collect();
    let col_float: Vec<f64> = table.column_divisors.iter().map(|d| to_f64(*d)).collect();
    let cols = table.cols;
    let ties = TieMarks::new(table)?;
    let check = Check {
        table,
        ties: &ties,
        row_div: &row_div,
        col_div: &col_div,
        row_float: &row_float,
        col_float: &col_float,
    };
    // On large tables, the two halves of the weights are checked on two threads; a defect in the
    // first half is reported before one in the second.
    let half = weights.cells.len() / 2;
    let (first, second) = join(
        weights.cells.len() >= PARALLEL_CELLS,
        || check.cells(&weights.cells[..half]),
        || check.cells(&weights.cells[half..]),
    );
    let mut covered = first?;
    let other = second?;
    if let Some(at) = covered.common(&other) {
        return Err(VerifyError::InvalidWeight {
            row: (at / cols) as u32,
            col: (at % cols) as u32,
        });
    }
    covered.union(&other);
    if let Some(tie) = table
        .ties
        .iter()
        .find(|t| !covered.get(t.row as usize * cols + t.col as usize))
    {
        return Err(VerifyError::BadTie {
            row: tie.row as usize,
            col: tie.col as usize,
        });
    }
    for (at, value) in table.cells.iter().enumerate() {
        if *value != 0 && !covered.get(at) {
            return Err(VerifyError::StructuralZero {
                row: at / cols,
                col: at % cols,
                value: u64::from(*value),
            });
        }
    }
    Ok(())
}

/// What the check of each weighted cell needs.
struct Check<'a> {
    table: &'a BiproportionalTable,
    ties: &'a TieMarks,
    row_div: &'a [Parts],
    col_div: &'a [Parts],
    row_float: &'a [f64],
    col_float: &'a [f64],
}

impl Check<'_> {
    /// Checks `cells` (a part of the weights): each in the table, once, a zero where the weight
    /// is zero, a rounding or a declared tie elsewhere. Returns the cells covered.
    fn cells(&self, cells: &[(u32, u32, Decimal)]) -> Result<Bits, VerifyError> {
        let Self {
            table,
            ties,
            row_div,
            col_div,
            row_float,
            col_float,
        } = self;
        let (rows, cols) = (table.rows, table.cols);
        let mut covered = Bits::new(rows * cols);
        for (r, c, w) in cells {
            let (i, j) = (*r as usize, *c as usize);
            if i >= rows || j >= cols || w.is_sign_negative() && !w.is_zero() {
                return Err(VerifyError::InvalidWeight { row: *r, col: *c });
            }
            let at = i * cols + j;
            if covered.get(at) {
                return Err(VerifyError::InvalidWeight { row: *r, col: *c });
            }
            covered.set(at);
            let value = u64::from(table.cells[at]);
            if w.is_zero() {
                if value != 0 {
                    return Err(VerifyError::StructuralZero {
                        row: i,
                        col: j,
                        value,
                    });
                }
                if ties.declared.get(at) {
                    return Err(VerifyError::BadTie { row: i, col: j });
                }
                continue;
            }
            let quotient = to_f64(*w) / (row_float[i] * col_float[j]);
            if ties.declared.get(at) {
                let alternative = if ties.above.get(at) {
                    value + 1
                } else {
                    value - 1
                };
                let odd = value + alternative;
                let certain = match float_near_half_way(quotient, odd) {
                    Some(near) => near,
                    None => Cell::new(Parts::of(*w), row_div[i], col_div[j]).near_half_way(odd),
                };
                if !certain {
                    return Err(VerifyError::BadTie { row: i, col: j });
                }
            } else if !float_strict_rounding(quotient, value) {
                Cell::new(Parts::of(*w), row_div[i], col_div[j]).check_rounding(value, i, j)?;
            }
        }
        Ok(covered)
    }
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

/// Relative margin of the floating-point screen: the quotient computed in `f64` from decimals
/// (each converted with a relative error of a few 2⁻⁵³) is within 10⁻¹³ of the exact one, far
/// inside this margin. Only a quotient this close to a decision boundary is checked again in
/// exact arithmetic; the screen never accepts what the exact check would refuse.
const SCREEN: f64 = 1e-11;

/// True when `quotient` (computed in floating point) is certainly strictly inside the rounding
/// interval of `value`; false when the exact check must decide.
fn float_strict_rounding(quotient: f64, value: u64) -> bool {
    if !(quotient.is_finite() && quotient > 0.0) {
        return false;
    }
    let v = value as f64;
    let below_upper = quotient < (v + 0.5) * (1.0 - SCREEN);
    let above_lower = value == 0 || quotient > (v - 0.5) * (1.0 + SCREEN);
    below_upper && above_lower
}

/// Whether `quotient` lies within [`super::TIE_PRECISION`] of `odd / 2`, when floating point can
/// tell for certain; `None` when the exact check must decide.
fn float_near_half_way(quotient: f64, odd: u64) -> Option<bool> {
    if !(quotient.is_finite() && quotient > 0.0) {
        return None;
    }
    let distance = (quotient * 2.0 / odd as f64 - 1.0).abs();
    if distance <= 1e-8 * (1.0 - SCREEN) - SCREEN {
        Some(true)
    } else if distance >= 1e-8 * (1.0 + SCREEN) + SCREEN {
        Some(false)
    } else {
        None
    }
}

/// One bit per cell of the table.
struct Bits(Vec<u64>);

impl Bits {
    fn new(len: usize) -> Self {
        Self(vec![0; len.div_ceil(64)])
    }

    fn get(&self, at: usize) -> bool {
        self.0[at / 64] & (1 << (at % 64)) != 0
    }

    fn set(&mut self, at: usize) {
        self.0[at / 64] |= 1 << (at % 64);
    }

    /// The first position set in both.
    fn common(&self, other: &Bits) -> Option<usize> {
        self.0
            .iter()
            .zip(&other.0)
            .position(|(a, b)| a & b != 0)
            .map(|n| n * 64 + (self.0[n] & other.0[n]).trailing_zeros() as usize)
    }

    fn union(&mut self, other: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }
}

/// Declared ties by cell: declared at all, and whether the alternative is above the value.
struct TieMarks {
    declared: Bits,
    above: Bits,
}

impl TieMarks {
    /// Each tie must name a cell of the table, at most once, with its value and an alternative
    /// one apart.
    fn new(table: &BiproportionalTable) -> Result<Self, VerifyError> {
        let len = table.cells.len();
        let mut marks = Self {
            declared: Bits::new(len),
            above: Bits::new(len),
        };
        for tie in &table.ties {
            let (row, col) = (tie.row as usize, tie.col as usize);
            let bad = VerifyError::BadTie { row, col };
            if row >= table.rows || col >= table.cols {
                return Err(bad);
            }
            let at = row * table.cols + col;
            let consistent =
                table.cells[at] == tie.value && tie.value.abs_diff(tie.alternative) == 1;
            if !consistent || marks.declared.get(at) {
                return Err(bad);
            }
            marks.declared.set(at);
            if tie.alternative > tie.value {
                marks.above.set(at);
            }
        }
        Ok(marks)
    }
}

/// A positive weight with its row and column divisors. The quotient `w / (r · c)` is compared
/// with `odd / 2` as `2w · 10^(sr + sc)` against `odd · r · c · 10^sw` (mantissas `r`, `c`, `w`).
struct Cell {
    weight: Parts,
    row: Parts,
    col: Parts,
    /// `2w` and `r · c` with the common power of ten removed, when they fit.
    fast: Option<(u128, u128)>,
}

impl Cell {
    fn new(weight: Parts, row: Parts, col: Parts) -> Self {
        let (left_exp, right_exp) = exponents(&weight, &row, &col);
        let fast = (|| {
            let left = 2u128
                .checked_mul(weight.mantissa)?
                .checked_mul(pow10(left_exp)?)?;
            let right = row
                .mantissa
                .checked_mul(col.mantissa)?
                .checked_mul(pow10(right_exp)?)?;
            Some((left, right))
        })();
        Self {
            weight,
            row,
            col,
            fast,
        }
    }

    /// The quotient against `odd / 2`.
    fn cmp_half(&self, odd: u128) -> Ordering {
        if let Some((left, right)) = self.fast.and_then(|(l, r)| Some((l, r.checked_mul(odd)?))) {
            return left.cmp(&right);
        }
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
        let bound = |factor: u128| {
            cmp_products(
                &[2, self.weight.mantissa],
                self.row.scale + self.col.scale + 8,
                &[factor, odd, self.row.mantissa, self.col.mantissa],
                self.weight.scale,
            )
        };
        bound(TIE_SCALE + 1) != Ordering::Greater && bound(TIE_SCALE - 1) != Ordering::Less
    }
}

/// The powers of ten left on each side once the common one is removed.
fn exponents(weight: &Parts, row: &Parts, col: &Parts) -> (u32, u32) {
    let left = row.scale + col.scale;
    let right = weight.scale;
    let common = left.min(right);
    (left - common, right - common)
}

fn pow10(exp: u32) -> Option<u128> {
    10u128.checked_pow(exp)
}
