//! The levels of the flux table's heat map. A cell with no dwelling has no colour (level 0);
//! the other cells are split into at most four levels of cell counts as equal as possible
//! (quartiles of the non-zero cells), cells of the same value always sharing a level. Scaling by
//! the largest cell instead left almost every cell in the palest level, since a few large
//! cells dominate a real table.

use std::collections::BTreeMap;

use serde::Serialize;

/// The number of coloured levels.
pub const LEVELS: usize = 4;

/// One coloured level: the values it covers (both included) and how many cells it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeatLevel {
    pub level: u8,
    pub from: u64,
    pub to: u64,
    pub cells: usize,
}

/// The levels of a table from all its cells. Going up the distinct values, each level takes
/// values while that brings its cell count closer to an equal share of the cells left, and
/// leaves at least one distinct value for each level after it.
pub fn heat_scale(cells: impl IntoIterator<Item = u64>) -> Vec<HeatLevel> {
    let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
    for value in cells.into_iter().filter(|&v| v > 0) {
        *counts.entry(value).or_default() += 1;
    }
    let distinct: Vec<(u64, usize)> = counts.into_iter().collect();
    let levels = distinct.len().min(LEVELS);
    let mut left_cells: usize = distinct.iter().map(|(_, c)| c).sum();
    let mut scale = Vec::with_capacity(levels);
    let mut next = 0;
    for level in 0..levels {
        let levels_left = levels - level;
        let start = next;
        let mut cells = 0;
        loop {
            cells += distinct[next].1;
            next += 1;
            if next == distinct.len() {
                break;
            }
            if levels_left > 1 {
                if distinct.len() - next < levels_left {
                    break;
                }
                // Stop unless the next value brings the count nearer the equal share
                // (left_cells / levels_left), in integers: cells + c/2 < share.
                let c = distinct[next].1;
                if (2 * cells + c) * levels_left >= 2 * left_cells {
                    break;
                }
            }
        }
        scale.push(HeatLevel {
            level: u8::try_from(level + 1).unwrap_or(u8::MAX),
            from: distinct[start].0,
            to: distinct[next - 1].0,
            cells,
        });
        left_cells -= cells;
    }
    scale
}

/// The level of a cell's value on `scale` (0: no dwelling).
pub fn heat_level(scale: &[HeatLevel], value: u64) -> u8 {
    if value == 0 {
        return 0;
    }
    scale
        .iter()
        .find(|l| value <= l.to)
        .or(scale.last())
        .map_or(0, |l| l.level)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(counts: &[(u64, usize)]) -> Vec<u64> {
        counts
            .iter()
            .flat_map(|&(v, n)| std::iter::repeat_n(v, n))
            .collect()
    }

    fn ranges(scale: &[HeatLevel]) -> Vec<(u64, u64, usize)> {
        scale.iter().map(|l| (l.from, l.to, l.cells)).collect()
    }

    /// The shape of the demo's signed table: 365 empty cells, most of the others at 1.
    #[test]
    fn a_lopsided_table_still_uses_the_four_levels() {
        let table = cells(&[
            (0, 365),
            (1, 184),
            (2, 38),
            (3, 24),
            (4, 10),
            (5, 2),
            (6, 5),
            (7, 2),
            (8, 2),
            (9, 2),
            (10, 1),
            (12, 1),
        ]);
        let scale = heat_scale(table.iter().copied());
        // By hand: 271 non-zero cells, a quarter is 67.75; the 184 ones exceed it alone, then
        // 87 cells are left for three levels (29 each): the 38 twos; then 49 for two (24.5):
        // the 24 threes; the last level takes 4 to 12 (25 cells).
        assert_eq!(
            ranges(&scale),
            vec![(1, 1, 184), (2, 2, 38), (3, 3, 24), (4, 12, 25)]
        );
        let levels: Vec<u8> = [0, 1, 2, 3, 4, 9, 12]
            .iter()
            .map(|&v| heat_level(&scale, v))
            .collect();
        assert_eq!(levels, vec![0, 1, 2, 3, 4, 4, 4]);
    }

    #[test]
    fn an_even_table_is_split_into_quartiles() {
        let scale = heat_scale(1..=8);
        assert_eq!(
            ranges(&scale),
            vec![(1, 2, 2), (3, 4, 2), (5, 6, 2), (7, 8, 2)]
        );
    }

    #[test]
    fn few_distinct_values_give_one_level_each() {
        assert_eq!(
            ranges(&heat_scale([0, 5, 5, 9])),
            vec![(5, 5, 2), (9, 9, 1)]
        );
        assert!(heat_scale([0, 0]).is_empty());
        assert_eq!(heat_level(&[], 0), 0);
    }

    #[test]
    fn a_larger_value_never_gets_a_paler_level() {
        let table: Vec<u64> = (0..500u64).map(|i| (i * i) % 97).collect();
        let scale = heat_scale(table.iter().copied());
        assert_eq!(scale.len(), LEVELS);
        assert_eq!(
            scale.iter().map(|l| l.cells).sum::<usize>(),
            table.iter().filter(|&&v| v > 0).count()
        );
        let mut previous = 0;
        for value in 0..=96 {
            let level = heat_level(&scale, value);
            assert!(level >= previous, "{value} → {level} < {previous}");
            previous = level;
        }
    }
}
