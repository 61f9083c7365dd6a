//! The share of every réservataire in every segment, in exact integer units.
//!
//! Percentages have at most four decimals (checked with the scenario), so a share is held as an
//! integer number of 1/10,000 of a percent (`100 %` = 1,000,000 units). A weight — the share of
//! a segment's flux, in dwellings — is then `units × flux` millionths of a dwelling, an exact
//! integer: every cap is checked without rounding.

use std::collections::HashMap;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::domain::territory::InseeCode;
use crate::flux::scenario::Scenario;

/// 100 % in share units.
pub const FULL: i64 = 1_000_000;

/// Converts a percentage with at most 4 decimals to share units.
pub fn units(percent: Decimal) -> i64 {
    (percent * Decimal::from(10_000))
        .trunc()
        .to_i64()
        .unwrap_or(0)
}

/// Converts share units back to a percentage.
pub fn percent(units: i64) -> Decimal {
    Decimal::new(units, 4).normalize()
}

/// A quantity in millionths of a dwelling, as a decimal number of dwellings.
pub fn dwellings(millionths: i128) -> Decimal {
    i64::try_from(millionths)
        .map(|m| Decimal::new(m, 6))
        .unwrap_or(Decimal::MAX)
        .normalize()
}

/// Réservataire-major matrix of share units. Shares lie between 0 and 100 % (0 to [`FULL`]
/// units), so each is held in 32 bits: the matrix of a metropolitan convention (300,000 cells)
/// takes 1.2 MB instead of 2.4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareMatrix {
    pub rows: usize,
    pub cols: usize,
    units: Vec<i32>,
}

/// A share in units, held in 32 bits (saturated far beyond 100 %, which no share reaches).
fn narrow(units: i64) -> i32 {
    i32::try_from(units).unwrap_or(if units < 0 { i32::MIN } else { i32::MAX })
}

impl ShareMatrix {
    /// The shares as proposed in the scenario (scope, overrides, default share).
    pub fn proposals(scenario: &Scenario) -> Self {
        let rows = scenario.reservataires.len();
        let cols = scenario.segments.len();
        let mut matrix = Vec::with_capacity(rows * cols);
        // Communes by index, so that a scope is checked by comparing integers rather than
        // codes: sixty commune réservataires over two thousand segments make 120,000 checks.
        let mut index: HashMap<&InseeCode, u32> = HashMap::new();
        let segment_commune: Vec<u32> = scenario
            .segments
            .iter()
            .map(|s| {
                let next = index.len() as u32;
                *index.entry(&s.commune).or_insert(next)
            })
            .collect();
        for reservataire in &scenario.reservataires {
            // A commune of the scope that no segment has cannot match any segment.
            let scope: Option<Vec<u32>> = reservataire
                .scope
                .as_ref()
                .map(|scope| scope.iter().filter_map(|c| index.get(c).copied()).collect());
            // Converted once per réservataire, not once per cell.
            let default = units(reservataire.share);
            let overrides: Vec<i64> = reservataire
                .overrides
                .iter()
                .map(|o| units(o.share))
                .collect();
            for (segment, commune) in scenario.segments.iter().zip(&segment_commune) {
                let in_scope = scope.as_ref().is_none_or(|scope| scope.contains(commune));
                let value = if in_scope {
                    reservataire
                        .overrides
                        .iter()
                        .position(|o| o.matches(segment))
                        .map_or(default, |i| overrides[i])
                } else {
                    0
                };
                matrix.push(narrow(value));
            }
        }
        Self {
            rows,
            cols,
            units: matrix,
        }
    }

    pub fn get(&self, row: usize, col: usize) -> i64 {
        i64::from(self.units[row * self.cols + col])
    }

    pub fn set(&mut self, row: usize, col: usize, value: i64) {
        self.units[row * self.cols + col] = narrow(value);
    }

    /// The weight of a cell in millionths of a dwelling.
    pub fn weight(&self, row: usize, col: usize, flux: u64) -> i128 {
        i128::from(self.get(row, col)) * i128::from(flux)
    }

    /// How many cells hold a share.
    pub fn nonzero(&self) -> usize {
        self.units.iter().filter(|u| **u != 0).count()
    }

    /// Sum of the shares of a segment, in units.
    pub fn column_units(&self, col: usize) -> i64 {
        (0..self.rows).map(|r| self.get(r, col)).sum()
    }
}
