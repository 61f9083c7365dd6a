//! Apportionment methods (DESIGN §4.3): Sainte-Laguë (Webster) for a vector of weights, and the
//! biproportional apportionment with standard rounding (Balinski–Demange) for the flux table.
//!
//! Both results carry their certificate: the divisors. A seat count, or a cell, is the standard
//! rounding of its weight divided by the divisor (for a cell: by the product of its row and column
//! divisors). [`verify`] re-checks every cell of a table in exact integer arithmetic, so floating
//! point inside the biproportional search is harmless: a table is returned only once verified.
//!
//! Ties (a quotient exactly half-way between two integers) are resolved by [`TIE_RULE`] and listed.

mod divisors;
mod exact;
mod feasibility;
pub(crate) mod parallel;
mod scaling;
mod sparse;
mod ties;
mod transport;
mod vector;
mod verify;

#[cfg(test)]
mod tests;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::flux::cancel::Cancel;

pub use vector::sainte_lague;
pub use verify::verify;

/// The published tie rule, in French, quoted by docs/methode.md and the solver's report.
pub const TIE_RULE: &str = "lorsqu'un quotient tombe exactement à mi-chemin entre deux entiers \
(à la précision publiée de 10⁻⁸ près) et que plusieurs tableaux respectent les totaux, les lignes \
choisissent dans l'ordre des données : chaque ligne prend ses unités dans les cellules à égalité \
qui viennent en premier dans l'ordre des colonnes donné par la clé (indice de colonne × \
2 654 435 769) modulo 2³², les indices comptant à partir de 0, tant que les lignes suivantes \
peuvent encore atteindre leurs totaux. Cet ordre entrelace les colonnes : les unités d'une ligne \
se répartissent sur tout le tableau au lieu de s'accumuler dans les premières colonnes. Pour une \
répartition simple (méthode de Sainte-Laguë), l'unité va au premier indice. Chaque égalité est \
signalée avec la valeur retenue et l'autre valeur possible.";

/// Significant digits of the published biproportional divisors.
pub const DIVISOR_DIGITS: u32 = 12;

/// Relative precision within which a declared tie's quotient must lie on its half-way point:
/// 10⁻⁸. Exact ties generally need divisors that no finite decimal expresses (a third, say), so a
/// declared tie is checked to this precision; every other cell is checked exactly.
pub const TIE_PRECISION: Decimal = Decimal::from_parts(1, 0, 0, false, 8);

/// Largest table (rows × columns) [`biproportional`] accepts.
pub const MAX_CELLS: usize = 50_000_000;

/// A Sainte-Laguë apportionment of a total among weights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorApportionment {
    /// Seats of each weight, in input order; they add up to the total.
    pub seats: Vec<u64>,
    /// Every seat count is the standard rounding of weight / divisor (at a tie, either rounding).
    pub divisor: Decimal,
    /// Indices whose count was decided by [`TIE_RULE`] (the quotient is exactly at a half-way
    /// point and the total could be met by another choice among them), in increasing order.
    pub ties: Vec<usize>,
}

/// A sparse nonnegative weight matrix. A cell absent or with weight zero is a structural zero.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WeightMatrix {
    pub rows: usize,
    pub cols: usize,
    /// `(row, column, weight)`, in any order, each cell at most once.
    pub cells: Vec<(u32, u32, Decimal)>,
}

/// A cell whose quotient is at a half-way point: `alternative` would be an equally valid rounding.
/// Sixteen bytes, like the table's cells held in 32 bits: a metropolitan table has over 130,000
/// ties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tie {
    pub row: u32,
    pub col: u32,
    /// The value retained in the table.
    pub value: u32,
    /// The other rounding (`value` ± 1).
    pub alternative: u32,
}

/// A biproportional table with its certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BiproportionalTable {
    pub rows: usize,
    pub cols: usize,
    /// Row-major: the cell of `row`, `col` is at `row * cols + col`.
    pub cells: Vec<u32>,
    pub row_totals: Vec<u64>,
    pub column_totals: Vec<u64>,
    /// Every cell is the standard rounding of weight / (row divisor × column divisor).
    pub row_divisors: Vec<Decimal>,
    pub column_divisors: Vec<Decimal>,
    /// In row-major order.
    pub ties: Vec<Tie>,
}

impl BiproportionalTable {
    /// The cell at `row`, `col` (zero outside the table).
    #[must_use]
    pub fn cell(&self, row: usize, col: usize) -> u64 {
        if row >= self.rows || col >= self.cols {
            return 0;
        }
        self.cells
            .get(row * self.cols + col)
            .map_or(0, |v| u64::from(*v))
    }
}

/// Why no apportionment could be made. Rows and columns are named by their index (from 0); the
/// caller maps indices to ids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApportionError {
    #[error("le poids d'indice {index} est négatif ({weight})")]
    NegativeWeight { index: usize, weight: Decimal },
    #[error("{total} unités sont à répartir mais tous les poids sont nuls")]
    AllWeightsZero { total: u64 },
    #[error(
        "le tableau de {rows} × {cols} cellules dépasse la taille admise ({MAX_CELLS} cellules)"
    )]
    TooLarge { rows: usize, cols: usize },
    #[error("calcul interrompu : la demande a été abandonnée")]
    Cancelled,
    #[error("{found} totaux de lignes sont donnés pour {expected} lignes")]
    RowTotalsLength { expected: usize, found: usize },
    #[error("{found} totaux de colonnes sont donnés pour {expected} colonnes")]
    ColumnTotalsLength { expected: usize, found: usize },
    #[error(
        "le total {total} dépasse la plus grande valeur de cellule admise ({})",
        u32::MAX
    )]
    TotalTooLarge { total: u64 },
    #[error(
        "la cellule (ligne {row}, colonne {col}) est hors du tableau de {rows} lignes et {cols} colonnes"
    )]
    CellOutOfRange {
        row: u32,
        col: u32,
        rows: usize,
        cols: usize,
    },
    #[error("la cellule (ligne {row}, colonne {col}) a un poids négatif ({weight})")]
    NegativeCell { row: u32, col: u32, weight: Decimal },
    #[error("la cellule (ligne {row}, colonne {col}) est donnée deux fois")]
    DuplicateCell { row: u32, col: u32 },
    #[error(
        "la somme des totaux des lignes ({rows}) diffère de celle des totaux des colonnes ({columns})"
    )]
    MarginSums { rows: u128, columns: u128 },
    #[error("la ligne {row} doit recevoir {total} mais n'a aucun poids non nul")]
    EmptyRow { row: usize, total: u64 },
    #[error("la colonne {col} doit recevoir {total} mais n'a aucun poids non nul")]
    EmptyColumn { col: usize, total: u64 },
    #[error("{}", infeasible_message(.rows, *.row_total, .columns, *.column_total))]
    Infeasible {
        rows: Vec<usize>,
        row_total: u128,
        columns: Vec<usize>,
        column_total: u128,
    },
    #[error("le diviseur {line} {index} ne peut pas être écrit en décimal (valeur hors plage)")]
    DivisorRange { line: &'static str, index: usize },
    #[error("le calcul n'a pas abouti ({step}) : tableau non établi")]
    Numerical { step: &'static str },
    #[error("la vérification exacte du tableau a échoué : {0}")]
    Verification(#[from] VerifyError),
}

/// Why a table is not a valid biproportional apportionment of its weights.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("les dimensions du tableau ne correspondent pas à celles des poids ou des diviseurs")]
    Shape,
    #[error("le diviseur {line} {index} n'est pas strictement positif")]
    NonPositiveDivisor { line: &'static str, index: usize },
    #[error(
        "la cellule de poids (ligne {row}, colonne {col}) est hors du tableau, négative ou en double"
    )]
    InvalidWeight { row: u32, col: u32 },
    #[error("la ligne {row} totalise {found} au lieu de {expected}")]
    RowMargin {
        row: usize,
        expected: u64,
        found: u128,
    },
    #[error("la colonne {col} totalise {found} au lieu de {expected}")]
    ColumnMargin {
        col: usize,
        expected: u64,
        found: u128,
    },
    #[error("la cellule (ligne {row}, colonne {col}) vaut {value} alors que son poids est nul")]
    StructuralZero { row: usize, col: usize, value: u64 },
    #[error(
        "la cellule (ligne {row}, colonne {col}) vaut {value}, qui n'est pas l'arrondi de poids / (diviseur de ligne × diviseur de colonne)"
    )]
    NotRounding { row: usize, col: usize, value: u64 },
    #[error(
        "la cellule (ligne {row}, colonne {col}) est exactement à mi-chemin entre deux entiers mais n'est pas déclarée comme égalité"
    )]
    UndeclaredTie { row: usize, col: usize },
    #[error(
        "l'égalité déclarée en (ligne {row}, colonne {col}) ne correspond pas au tableau ou n'est pas à mi-chemin à la précision publiée"
    )]
    BadTie { row: usize, col: usize },
}

/// Biproportional apportionment with standard rounding: a table whose row and column sums are
/// exactly `row_totals` and `column_totals`, whose structural zeros stay zero, and whose every
/// cell is the standard rounding of weight / (row divisor × column divisor).
///
/// Method (always terminates): a max-flow feasibility check that names the rows and columns at
/// fault; alternating scaling, continuous then rounded, for a close start; successive shortest
/// paths on the convex-cost transportation problem whose optimum is the biproportional table;
/// divisors centred in their admissible ranges and written with [`DIVISOR_DIGITS`] significant
/// digits; ties resolved by [`TIE_RULE`]; finally [`verify`].
///
/// Weights of the form share × segment flux make many quotients coincide exactly: ties are then
/// numerous (half the cells of the benchmark table) and the rule decides where the small rows'
/// units go, so the report should show them.
///
/// # Errors
/// Invalid input (shape, negative or duplicate weights, totals over `u32::MAX`, unequal margin
/// sums), infeasible margins (the rows and columns at fault), or, should floating point ever
/// fail, a [`ApportionError::Numerical`] or [`ApportionError::Verification`] error rather than a
/// wrong table.
pub fn biproportional(
    weights: &WeightMatrix,
    row_totals: &[u64],
    column_totals: &[u64],
) -> Result<BiproportionalTable, ApportionError> {
    biproportional_until(weights, row_totals, column_totals, &Cancel::default())
}

/// [`biproportional`], given up with [`ApportionError::Cancelled`] once `cancel` is raised (checked
/// between the steps and in every round of the long loops).
///
/// # Errors
/// Those of [`biproportional`], and [`ApportionError::Cancelled`].
pub fn biproportional_until(
    weights: &WeightMatrix,
    row_totals: &[u64],
    column_totals: &[u64],
    cancel: &Cancel,
) -> Result<BiproportionalTable, ApportionError> {
    let mut problem = sparse::Problem::new(weights, row_totals, column_totals)?;
    problem.cancel = cancel.clone();
    let stopped = || {
        if cancel.is_cancelled() {
            Err(ApportionError::Cancelled)
        } else {
            Ok(())
        }
    };
    stopped()?;
    let (logs, mut state) = if problem.cells() >= parallel::PARALLEL_CELLS {
        // The scaling start does not need feasible margins to terminate: on a large table it
        // runs beside the check (and the logarithms of the weights), and its result is dropped
        // if the check fails.
        let (logs, state) = parallel::join(
            true,
            || feasibility::check(&problem).map(|()| problem.logs()),
            || scaling::start(&problem),
        );
        (logs?, state)
    } else {
        feasibility::check(&problem)?;
        (problem.logs(), scaling::start(&problem))
    };
    problem.take_logs(logs);
    stopped()?;
    transport::settle(&problem, &mut state)?;
    stopped()?;
    divisors::center(&problem, &mut state);
    stopped()?;
    let ties = ties::resolve(&problem, &mut state);
    stopped()?;
    let table = divisors::publish(weights, &problem, &state, ties)?;
    drop(problem);
    drop(state);
    verify(weights, &table)?;
    Ok(table)
}

/// "la ligne 3" or "les lignes 3, 7".
fn lines(singular: &str, plural: &str, indices: &[usize]) -> String {
    let list = indices
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if indices.len() == 1 {
        format!("{singular} {list}")
    } else {
        format!("{plural} {list}")
    }
}

fn infeasible_message(
    rows: &[usize],
    row_total: u128,
    columns: &[usize],
    column_total: u128,
) -> String {
    let verb = if rows.len() == 1 { "peut" } else { "peuvent" };
    let served = if rows.len() == 1 { "servie" } else { "servies" };
    if columns.is_empty() {
        return format!(
            "{} (total {row_total}) ne {verb} être {served} par aucune colonne de total non nul",
            lines("la ligne", "les lignes", rows)
        );
    }
    format!(
        "{} (total {row_total}) ne {verb} être {served} que par {} (total {column_total})",
        lines("la ligne", "les lignes", rows),
        lines("la colonne", "les colonnes", columns)
    )
}
