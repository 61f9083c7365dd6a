//! The assiette: the annual flux base of a bailleur, per segment (DESIGN §4.1, RULES.md §7.3).
//!
//! Per segment: the dwellings in the flux, their releases over the lookback years, the rotation
//! rate (mean of the yearly rates), the forecast releases (units × rate), minus the dwellings
//! planned to leave the flux of year N, floored at zero; then the integer flux, whose total is
//! the standard rounding of the sum and whose segment parts come from a Sainte-Laguë
//! apportionment, so that they add up exactly. Every figure keeps its provenance (years,
//! releases per year, which exclusion row gave how much) so that any party can re-check it.
//!
//! Arithmetic is exact: counts are integers, and forecasts, rates and exclusion shares are
//! decimals rounded to the millionth of a dwelling (half up), the exclusion shares of a row
//! being apportioned by largest remainder so that they add up to the row's count exactly.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use chrono::Datelike;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use super::apportion::sainte_lague;
use super::segment::{SegmentAxes, SegmentKey};
use crate::domain::{
    ExclusionCategory, Financing, InseeCode, Logement, PlannedExclusion, Release, RplsId, Typology,
};

/// Decimals kept for forecasts, rates and exclusion shares: a millionth of a dwelling.
pub const SCALE: u32 = 6;
const MILLION: u128 = 1_000_000;
/// Deepest history accepted; practice is 2 or 3 years (RULES.md §7.3).
pub const MAX_LOOKBACK: u32 = 10;
/// Default history: the three years before N.
pub const DEFAULT_LOOKBACK: u32 = 3;
/// How many unknown RPLS ids a warning names.
const NAMED_IDS: usize = 5;

/// What the assiette is computed from: one bailleur's data.
#[derive(Debug, Clone, Copy)]
pub struct AssietteInput<'a> {
    /// The convention year N.
    pub year: i32,
    /// Years of history: N − lookback … N − 1.
    pub lookback: u32,
    pub axes: SegmentAxes,
    pub logements: &'a [Logement],
    pub releases: &'a [Release],
    /// The bailleur's planned exclusions; rows of other years than N are not used.
    pub exclusions: &'a [PlannedExclusion],
}

/// Why no assiette can be computed, in French.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssietteError {
    #[error(
        "profondeur d'historique de {0} an(s) : indiquez un nombre d'années entre 1 et {MAX_LOOKBACK}"
    )]
    Lookback(u32),
    #[error("année {0} : indiquez une année entre 2000 et 2200")]
    Year(i32),
    #[error(
        "le patrimoine du bailleur ne contient aucun logement : importez d'abord son fichier logements"
    )]
    EmptyPatrimoine,
    #[error(
        "aucune libération enregistrée pour les années {} : le taux de rotation ne peut pas être calculé ; importez l'historique des libérations (fichier liberations) ou choisissez d'autres années",
        years_text(.0)
    )]
    NoReleaseData(Vec<i32>),
    #[error("répartition du flux entre les segments impossible : {0}")]
    Apportion(String),
}

/// Releases counted in one year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct YearReleases {
    pub year: i32,
    pub releases: u64,
}

/// The part of one exclusion row given to a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ExclusionShare {
    /// Number of the row in `AssietteReport::exclusion_rows` (from 1).
    pub row: usize,
    pub category: ExclusionCategory,
    pub amount: Decimal,
}

/// One exclusion row of year N and how it was spread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExclusionRowSpread {
    /// Number of the row (from 1), in the order category, commune, typology, QPV flag.
    pub row: usize,
    pub category: ExclusionCategory,
    pub commune: Option<InseeCode>,
    pub typology: Option<Typology>,
    pub qpv: Option<bool>,
    pub count: u64,
    /// Dwellings actually deducted: `count`, or zero when no segment could take them.
    pub spread: Decimal,
    /// How many segments received a part.
    pub segments: usize,
}

/// The assiette of one segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentAssiette {
    pub id: String,
    #[serde(flatten)]
    pub key: SegmentKey,
    /// Dwellings in the flux.
    pub units: u64,
    /// Dwellings outside the flux by law (not counted anywhere else).
    pub outside_flux_units: u64,
    /// Releases of the segment's dwellings in the flux, for each year used.
    pub releases: Vec<YearReleases>,
    /// Mean of the yearly rates: Σ releases / (units × years).
    pub rotation_rate: Decimal,
    /// units × rotation rate = Σ releases / years.
    pub forecast_releases: Decimal,
    /// Per category of the year's plan (zero included, for a regular table).
    pub exclusions: BTreeMap<ExclusionCategory, Decimal>,
    /// Which rows gave how much.
    pub exclusion_shares: Vec<ExclusionShare>,
    pub exclusions_total: Decimal,
    /// Exclusions beyond the forecast, left out by the floor at zero.
    pub floor_excess: Decimal,
    /// forecast − exclusions + floor excess (never negative).
    pub net: Decimal,
    /// Integer flux, by Sainte-Laguë over the segments' `net`.
    pub flux: u64,
}

/// Sums over the segments; each field is the exact sum of the segment figures, except the
/// rotation rate, computed from the summed counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssietteTotals {
    pub units: u64,
    pub outside_flux_units: u64,
    pub releases: Vec<YearReleases>,
    pub rotation_rate: Decimal,
    pub forecast_releases: Decimal,
    pub exclusions: BTreeMap<ExclusionCategory, Decimal>,
    pub exclusions_total: Decimal,
    /// Dwellings of exclusion rows that no segment could take (see the warnings).
    pub exclusions_not_spread: Decimal,
    pub floor_excess: Decimal,
    /// Σ net, before rounding.
    pub net: Decimal,
    /// Standard rounding (half up) of `net`; the segment fluxes add up to it.
    pub flux: u64,
}

/// The assiette of year N, with everything needed to re-check it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssietteReport {
    pub year: i32,
    /// The requested history: N − lookback … N − 1.
    pub lookback_years: Vec<i32>,
    /// The years of that history with release data, over which the rates are averaged.
    pub years_used: Vec<i32>,
    pub axes: SegmentAxes,
    pub segments: Vec<SegmentAssiette>,
    pub exclusion_rows: Vec<ExclusionRowSpread>,
    pub totals: AssietteTotals,
    /// The Sainte-Laguë divisor: each segment's flux is the standard rounding of net / divisor
    /// (`None` when the total flux is zero).
    pub divisor: Option<Decimal>,
    /// Ids of segments between which the apportionment had to break a tie.
    pub ties: Vec<String>,
    pub warnings: Vec<String>,
}

/// A segment as the solver's scenario takes it (DESIGN §4.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScenarioSegmentDraft {
    pub id: String,
    pub commune: InseeCode,
    pub typology: Option<Typology>,
    pub qpv: bool,
    pub financing: Option<Financing>,
    pub flux: u64,
}

impl AssietteReport {
    /// The segments with their integer flux, for a scenario.
    pub fn scenario_segments(&self) -> Vec<ScenarioSegmentDraft> {
        self.segments
            .iter()
            .map(|s| ScenarioSegmentDraft {
                id: s.id.clone(),
                commune: s.key.commune.clone(),
                typology: s.key.typology,
                qpv: s.key.qpv,
                financing: s.key.financing,
                flux: s.flux,
            })
            .collect()
    }
}

/// Counts gathered per segment before any division.
#[derive(Debug, Clone, Default)]
struct Tally {
    units: u64,
    outside_flux_units: u64,
    /// Units in the flux per typology (index in `Typology::ALL`).
    units_by_typology: [u64; 6],
    /// Releases in the flux per lookback year, per typology.
    releases: Vec<[u64; 6]>,
}

/// Computes the assiette of `input.year` (DESIGN §4.1).
pub fn assiette(input: &AssietteInput<'_>) -> Result<AssietteReport, AssietteError> {
    let lookback_years = lookback_years(input.year, input.lookback)?;
    if input.logements.is_empty() {
        return Err(AssietteError::EmptyPatrimoine);
    }
    let mut warnings = Vec::new();

    let (keys, mut tallies, dwellings) = tally_patrimoine(input, lookback_years.len());
    let years_with_data = tally_releases(
        input,
        &lookback_years,
        &mut tallies,
        &dwellings,
        &mut warnings,
    );
    let used: Vec<usize> = (0..lookback_years.len())
        .filter(|&i| years_with_data[i] > 0)
        .collect();
    if used.is_empty() {
        return Err(AssietteError::NoReleaseData(lookback_years));
    }
    let years_used: Vec<i32> = used.iter().map(|&i| lookback_years[i]).collect();
    if years_used.len() < lookback_years.len() {
        let missing: Vec<i32> = lookback_years
            .iter()
            .copied()
            .filter(|y| !years_used.contains(y))
            .collect();
        let (these, left_out) = if missing.len() == 1 {
            ("cette année est écartée", "comptée")
        } else {
            ("ces années sont écartées", "comptées")
        };
        warnings.push(format!(
            "aucune libération enregistrée pour le bailleur en {} : {these} du calcul plutôt que {left_out} comme une rotation nulle ; le taux de rotation est la moyenne sur {} seulement",
            years_text(&missing),
            years_text(&years_used),
        ));
    }

    let mut segments = base_segments(&keys, &tallies, &used, &years_used);
    let exclusion_rows = spread_exclusions(input, &tallies, &used, &mut segments, &mut warnings);
    apply_floor(&mut segments, &mut warnings);
    let (divisor, ties) = apportion_flux(&mut segments, &mut warnings)?;
    let totals = totals(&segments, &exclusion_rows, &years_used);
    Ok(AssietteReport {
        year: input.year,
        lookback_years,
        years_used,
        axes: input.axes,
        segments,
        exclusion_rows,
        totals,
        divisor,
        ties,
        warnings,
    })
}

/// The history years N − lookback … N − 1, once the parameters are checked.
pub fn lookback_years(year: i32, lookback: u32) -> Result<Vec<i32>, AssietteError> {
    if !(1..=MAX_LOOKBACK).contains(&lookback) {
        return Err(AssietteError::Lookback(lookback));
    }
    if !(2000..=2200).contains(&year) {
        return Err(AssietteError::Year(year));
    }
    Ok((year - lookback as i32..year).collect())
}

/// Where each dwelling goes: its segment, its typology, whether it is in the flux.
type DwellingIndex<'a> = HashMap<&'a RplsId, (usize, Typology, bool)>;

fn tally_patrimoine<'a>(
    input: &AssietteInput<'a>,
    years: usize,
) -> (Vec<SegmentKey>, Vec<Tally>, DwellingIndex<'a>) {
    let all: Vec<SegmentKey> = input
        .logements
        .iter()
        .map(|l| SegmentKey::of(l, input.axes))
        .collect();
    let mut keys = all.clone();
    keys.sort();
    keys.dedup();
    let position: HashMap<&SegmentKey, usize> =
        keys.iter().enumerate().map(|(i, k)| (k, i)).collect();
    let mut tallies = vec![
        Tally {
            releases: vec![[0; 6]; years],
            ..Tally::default()
        };
        keys.len()
    ];
    let mut dwellings = HashMap::with_capacity(input.logements.len());
    for (logement, key) in input.logements.iter().zip(&all) {
        let segment = position[key];
        let tally = &mut tallies[segment];
        // Dwellings of defence and internal-security programmes and those kept for the
        // bailleur's statutory needs never enter the flux (R.441-5 CCH).
        let in_flux = logement.outside_flux.is_none();
        if in_flux {
            tally.units += 1;
            tally.units_by_typology[logement.typology as usize] += 1;
        } else {
            tally.outside_flux_units += 1;
        }
        dwellings.insert(&logement.rpls_id, (segment, logement.typology, in_flux));
    }
    (keys, tallies, dwellings)
}

/// Counts the releases of the lookback years per segment; returns, per year, how many releases
/// the bailleur has at all (in the flux or not), which tells a year without data.
fn tally_releases(
    input: &AssietteInput<'_>,
    lookback_years: &[i32],
    tallies: &mut [Tally],
    dwellings: &DwellingIndex<'_>,
    warnings: &mut Vec<String>,
) -> Vec<u64> {
    let first = lookback_years[0];
    let mut with_data = vec![0u64; lookback_years.len()];
    let mut unknown: Vec<&RplsId> = Vec::new();
    for release in input.releases {
        let Ok(year) = usize::try_from(release.date.year() - first) else {
            continue;
        };
        if year >= lookback_years.len() {
            continue;
        }
        let Some(&(segment, typology, in_flux)) = dwellings.get(&release.rpls_id) else {
            unknown.push(&release.rpls_id);
            continue;
        };
        with_data[year] += 1;
        if in_flux {
            tallies[segment].releases[year][typology as usize] += 1;
        }
    }
    if !unknown.is_empty() {
        let count = unknown.len();
        unknown.sort();
        unknown.dedup();
        let named: Vec<&str> = unknown
            .iter()
            .take(NAMED_IDS)
            .map(|id| id.as_str())
            .collect();
        warnings.push(format!(
            "{count} libération(s) de la période concernent {} logement(s) absent(s) du patrimoine du bailleur ({}{}) : elles sont ignorées",
            unknown.len(),
            named.join(", "),
            if unknown.len() > NAMED_IDS { ", …" } else { "" }
        ));
    }
    with_data
}

/// Releases of a tally over the years used, for the typologies `typology` selects.
fn releases_in(tally: &Tally, used: &[usize], typology: Option<Typology>) -> u64 {
    used.iter()
        .map(|&y| match typology {
            Some(t) => tally.releases[y][t as usize],
            None => tally.releases[y].iter().sum(),
        })
        .sum()
}

/// `numerator / denominator` rounded half up to the millionth.
fn millionths(numerator: u128, denominator: u128) -> Decimal {
    debug_assert!(denominator > 0);
    let scaled = (numerator * MILLION * 2 + denominator) / (denominator * 2);
    Decimal::from_i128_with_scale(scaled as i128, SCALE)
}

fn base_segments(
    keys: &[SegmentKey],
    tallies: &[Tally],
    used: &[usize],
    years_used: &[i32],
) -> Vec<SegmentAssiette> {
    let years = used.len() as u128;
    keys.iter()
        .zip(tallies)
        .map(|(key, tally)| {
            let releases = releases_in(tally, used, None);
            let rotation_rate = if tally.units == 0 {
                Decimal::ZERO
            } else {
                millionths(u128::from(releases), u128::from(tally.units) * years)
            };
            SegmentAssiette {
                id: key.id(),
                key: key.clone(),
                units: tally.units,
                outside_flux_units: tally.outside_flux_units,
                releases: used
                    .iter()
                    .zip(years_used)
                    .map(|(&y, &year)| YearReleases {
                        year,
                        releases: tally.releases[y].iter().sum(),
                    })
                    .collect(),
                rotation_rate,
                // units × (releases / (units × years)), without rounding the rate first.
                forecast_releases: millionths(u128::from(releases), years),
                exclusions: BTreeMap::new(),
                exclusion_shares: Vec::new(),
                exclusions_total: Decimal::ZERO,
                floor_excess: Decimal::ZERO,
                net: Decimal::ZERO,
                flux: 0,
            }
        })
        .collect()
}

/// Spreads each exclusion row of year N over the segments it matches, in proportion to their
/// forecast releases (of the row's typology when typology is not an axis).
fn spread_exclusions(
    input: &AssietteInput<'_>,
    tallies: &[Tally],
    used: &[usize],
    segments: &mut [SegmentAssiette],
    warnings: &mut Vec<String>,
) -> Vec<ExclusionRowSpread> {
    let mut rows: Vec<&PlannedExclusion> = input
        .exclusions
        .iter()
        .filter(|x| x.year == input.year)
        .collect();
    if rows.is_empty() && !input.exclusions.is_empty() {
        let mut years: Vec<i32> = input.exclusions.iter().map(|x| x.year).collect();
        years.sort_unstable();
        years.dedup();
        warnings.push(format!(
            "le plan d'exclusions ne contient aucune ligne pour {} (années présentes : {}) : aucune exclusion n'est déduite",
            input.year,
            years_text(&years)
        ));
    }
    // The same order whatever the source (file or database), for identical reports.
    rows.sort_by(|a, b| {
        (a.category, &a.commune, a.typology, a.qpv)
            .cmp(&(b.category, &b.commune, b.typology, b.qpv))
    });
    for segment in segments.iter_mut() {
        for row in &rows {
            segment.exclusions.insert(row.category, Decimal::ZERO);
        }
    }
    let mut spreads = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let number = i + 1;
        let count = u64::try_from(row.count).unwrap_or(0);
        let weights: Vec<(usize, u64)> = segments
            .iter()
            .enumerate()
            .filter(|(s, segment)| {
                segment
                    .key
                    .within(row.commune.as_ref(), row.typology, row.qpv)
                    && row
                        .typology
                        .is_none_or(|t| tallies[*s].units_by_typology[t as usize] > 0)
            })
            .map(|(s, _)| (s, releases_in(&tallies[s], used, row.typology)))
            .collect();
        let total_weight: u64 = weights.iter().map(|(_, w)| w).sum();
        let mut spread = ExclusionRowSpread {
            row: number,
            category: row.category,
            commune: row.commune.clone(),
            typology: row.typology,
            qpv: row.qpv,
            count,
            spread: Decimal::ZERO,
            segments: 0,
        };
        if count > 0 && weights.is_empty() {
            warnings.push(format!(
                "ligne d'exclusions n° {number} ({}) : aucun logement du flux ne correspond ; ces {count} logement(s) ne sont pas déduits",
                spread.description()
            ));
        } else if count > 0 && total_weight == 0 {
            warnings.push(format!(
                "ligne d'exclusions n° {number} ({}) : les segments correspondants n'ont aucune libération prévue ; ces {count} logement(s) ne sont pas déduits",
                spread.description()
            ));
        } else if count > 0 {
            let parts = largest_remainder(u128::from(count) * MILLION, &weights);
            for ((s, _), part) in weights.iter().zip(parts) {
                if part == 0 {
                    continue;
                }
                let amount = Decimal::from_i128_with_scale(part as i128, SCALE);
                let segment = &mut segments[*s];
                *segment.exclusions.entry(row.category).or_default() += amount;
                segment.exclusions_total += amount;
                segment.exclusion_shares.push(ExclusionShare {
                    row: number,
                    category: row.category,
                    amount,
                });
                spread.segments += 1;
            }
            spread.spread = Decimal::from(count);
        }
        spreads.push(spread);
    }
    spreads
}

/// Splits `total` units in proportion to the weights (all integers, their sum positive): each
/// part is the floor of its quota, and the units left go to the largest remainders (the first
/// segment in order on equal remainders). The parts add up to `total` exactly.
fn largest_remainder(total: u128, weights: &[(usize, u64)]) -> Vec<u128> {
    let sum: u128 = weights.iter().map(|(_, w)| u128::from(*w)).sum();
    let mut parts = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    for (i, (_, weight)) in weights.iter().enumerate() {
        let quota = total * u128::from(*weight);
        parts.push(quota / sum);
        remainders.push((quota % sum, i));
    }
    let given: u128 = parts.iter().sum();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in remainders.iter().take((total - given) as usize) {
        parts[i] += 1;
    }
    parts
}

fn apply_floor(segments: &mut [SegmentAssiette], warnings: &mut Vec<String>) {
    for segment in segments {
        let difference = segment.forecast_releases - segment.exclusions_total;
        if difference < Decimal::ZERO {
            segment.floor_excess = -difference;
            segment.net = Decimal::ZERO;
            warnings.push(format!(
                "segment {} : les exclusions prévues ({}) dépassent les libérations prévues ({}) ; le flux net est ramené à zéro et l'excédent de {} logement(s) n'est pas déduit ailleurs",
                segment.id,
                french_decimal(segment.exclusions_total, 2),
                french_decimal(segment.forecast_releases, 2),
                french_decimal(segment.floor_excess, 2),
            ));
        } else {
            segment.net = difference;
        }
    }
}

/// Rounds the total net half up and apportions it over the segments by Sainte-Laguë.
fn apportion_flux(
    segments: &mut [SegmentAssiette],
    warnings: &mut Vec<String>,
) -> Result<(Option<Decimal>, Vec<String>), AssietteError> {
    let net: Decimal = segments.iter().map(|s| s.net).sum();
    let total = standard_round(net);
    if total == 0 {
        return Ok((None, Vec::new()));
    }
    let weights: Vec<Decimal> = segments.iter().map(|s| s.net).collect();
    let result =
        sainte_lague(total, &weights).map_err(|e| AssietteError::Apportion(e.to_string()))?;
    for (segment, seats) in segments.iter_mut().zip(&result.seats) {
        segment.flux = *seats;
    }
    let ties: Vec<String> = result
        .ties
        .iter()
        .filter_map(|&i| segments.get(i).map(|s| s.id.clone()))
        .collect();
    if !ties.is_empty() {
        // The whole list is returned with the divisor (the certificate); the warning names a
        // few, so that a page reads it.
        const NAMED: usize = 6;
        let named = match ties.len() {
            n if n <= NAMED => ties.join(", "),
            n => format!("{} et {} autres", ties[..NAMED].join(", "), n - NAMED),
        };
        warnings.push(format!(
            "égalité entre {}, {named} (quotient exactement à mi-chemin entre deux entiers) : départagée par la règle publiée de la répartition, au premier segment dans l'ordre des segments",
            crate::domain::text::count(ties.len() as u64, "segment", "segments")
        ));
    }
    Ok((Some(result.divisor), ties))
}

/// Standard rounding of a non-negative number of dwellings: half up.
fn standard_round(value: Decimal) -> u64 {
    value
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_u64()
        .unwrap_or(0)
}

fn totals(
    segments: &[SegmentAssiette],
    rows: &[ExclusionRowSpread],
    years_used: &[i32],
) -> AssietteTotals {
    let units: u64 = segments.iter().map(|s| s.units).sum();
    let releases: Vec<YearReleases> = years_used
        .iter()
        .enumerate()
        .map(|(i, &year)| YearReleases {
            year,
            releases: segments.iter().map(|s| s.releases[i].releases).sum(),
        })
        .collect();
    let all_releases: u64 = releases.iter().map(|r| r.releases).sum();
    let mut exclusions: BTreeMap<ExclusionCategory, Decimal> = BTreeMap::new();
    for segment in segments {
        for (category, amount) in &segment.exclusions {
            *exclusions.entry(*category).or_default() += amount;
        }
    }
    let net: Decimal = segments.iter().map(|s| s.net).sum();
    AssietteTotals {
        units,
        outside_flux_units: segments.iter().map(|s| s.outside_flux_units).sum(),
        releases,
        rotation_rate: if units == 0 {
            Decimal::ZERO
        } else {
            millionths(
                u128::from(all_releases),
                u128::from(units) * years_used.len() as u128,
            )
        },
        forecast_releases: segments.iter().map(|s| s.forecast_releases).sum(),
        exclusions,
        exclusions_total: segments.iter().map(|s| s.exclusions_total).sum(),
        exclusions_not_spread: rows
            .iter()
            .filter(|r| r.spread.is_zero())
            .map(|r| Decimal::from(r.count))
            .sum(),
        floor_excess: segments.iter().map(|s| s.floor_excess).sum(),
        net,
        flux: segments.iter().map(|s| s.flux).sum(),
    }
}

impl ExclusionRowSpread {
    /// « vente, commune 69123, typologie T3, hors QPV : 6 logement(s) ».
    pub fn description(&self) -> String {
        let mut text = self.category.label().to_owned();
        let mut filtered = false;
        if let Some(commune) = &self.commune {
            let _ = write!(text, ", commune {commune}");
            filtered = true;
        }
        if let Some(typology) = self.typology {
            let _ = write!(text, ", typologie {typology}");
            filtered = true;
        }
        if let Some(qpv) = self.qpv {
            text.push_str(if qpv { ", en QPV" } else { ", hors QPV" });
            filtered = true;
        }
        if !filtered {
            text.push_str(", tout le patrimoine");
        }
        let _ = write!(text, " : {} logement(s)", self.count);
        text
    }
}

/// « 2024, 2025 et 2026 ».
pub fn years_text(years: &[i32]) -> String {
    let texts: Vec<String> = years.iter().map(i32::to_string).collect();
    match texts.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} et {last}", rest.join(", ")),
    }
}

/// A decimal rounded half up to `decimals`, with a French decimal comma.
pub fn french_decimal(value: Decimal, decimals: u32) -> String {
    let rounded = value.round_dp_with_strategy(decimals, RoundingStrategy::MidpointAwayFromZero);
    format!("{rounded:.prec$}", prec = decimals as usize).replace('.', ",")
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::domain::{Financing, Siren};

    const YEAR: i32 = 2027;

    fn siren() -> Siren {
        "276999802".parse().unwrap()
    }

    fn dwelling(id: &str, commune: &str, typology: Typology, qpv: bool) -> Logement {
        Logement {
            rpls_id: id.parse().unwrap(),
            bailleur: siren(),
            commune: commune.parse().unwrap(),
            qpv: qpv.then(|| "QN06901M".parse().unwrap()),
            typology,
            financing: Financing::Plus,
            individual: false,
            construction_year: 1980,
            outside_flux: None,
        }
    }

    /// `n` dwellings `prefix0…` of one segment.
    fn block(
        prefix: &str,
        n: usize,
        commune: &str,
        typology: Typology,
        qpv: bool,
    ) -> Vec<Logement> {
        (0..n)
            .map(|i| dwelling(&format!("{prefix}{i}"), commune, typology, qpv))
            .collect()
    }

    /// `per_year[k]` releases in year N − 3 + k, of the dwellings `prefix0…` in turn.
    fn releases(prefix: &str, per_year: [usize; 3]) -> Vec<Release> {
        let mut out = Vec::new();
        for (k, &n) in per_year.iter().enumerate() {
            for i in 0..n {
                out.push(Release {
                    rpls_id: format!("{prefix}{i}").parse().unwrap(),
                    date: NaiveDate::from_ymd_opt(YEAR - 3 + k as i32, 6, 1 + i as u32 % 28)
                        .unwrap(),
                });
            }
        }
        out
    }

    fn exclusion(
        category: ExclusionCategory,
        commune: Option<&str>,
        typology: Option<Typology>,
        qpv: Option<bool>,
        count: i64,
    ) -> PlannedExclusion {
        PlannedExclusion {
            bailleur: siren(),
            year: YEAR,
            category,
            commune: commune.map(|c| c.parse().unwrap()),
            typology,
            qpv,
            count,
        }
    }

    fn compute(
        logements: &[Logement],
        releases: &[Release],
        exclusions: &[PlannedExclusion],
    ) -> AssietteReport {
        assiette(&AssietteInput {
            year: YEAR,
            lookback: 3,
            axes: SegmentAxes::default(),
            logements,
            releases,
            exclusions,
        })
        .unwrap()
    }

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn segment<'a>(report: &'a AssietteReport, id: &str) -> &'a SegmentAssiette {
        report.segments.iter().find(|s| s.id == id).unwrap()
    }

    /// Every total is the exact sum of the segment figures, and each segment adds up.
    fn assert_adds_up(report: &AssietteReport) {
        let t = &report.totals;
        let s = &report.segments;
        assert_eq!(t.units, s.iter().map(|x| x.units).sum::<u64>());
        assert_eq!(
            t.outside_flux_units,
            s.iter().map(|x| x.outside_flux_units).sum::<u64>()
        );
        for (i, year) in t.releases.iter().enumerate() {
            assert_eq!(year.year, report.years_used[i]);
            assert_eq!(
                year.releases,
                s.iter().map(|x| x.releases[i].releases).sum::<u64>()
            );
        }
        assert_eq!(
            t.forecast_releases,
            s.iter().map(|x| x.forecast_releases).sum::<Decimal>()
        );
        for x in s {
            let by_rows: Decimal = x.exclusion_shares.iter().map(|e| e.amount).sum();
            let by_category: Decimal = x.exclusions.values().copied().sum();
            assert_eq!(by_rows, x.exclusions_total, "{}", x.id);
            assert_eq!(by_category, x.exclusions_total, "{}", x.id);
            assert_eq!(
                x.forecast_releases - x.exclusions_total + x.floor_excess,
                x.net,
                "{}",
                x.id
            );
            assert!(x.net >= Decimal::ZERO);
        }
        for row in &report.exclusion_rows {
            let given: Decimal = s
                .iter()
                .flat_map(|x| &x.exclusion_shares)
                .filter(|e| e.row == row.row)
                .map(|e| e.amount)
                .sum();
            assert_eq!(given, row.spread, "row {}", row.row);
        }
        let planned: u64 = report.exclusion_rows.iter().map(|r| r.count).sum();
        assert_eq!(
            t.exclusions_total + t.exclusions_not_spread,
            Decimal::from(planned)
        );
        assert_eq!(
            t.exclusions.values().copied().sum::<Decimal>(),
            t.exclusions_total
        );
        assert_eq!(
            t.forecast_releases - t.exclusions_total + t.floor_excess,
            t.net
        );
        assert_eq!(t.net, s.iter().map(|x| x.net).sum::<Decimal>());
        assert_eq!(t.flux, standard_round(t.net));
        assert_eq!(t.flux, s.iter().map(|x| x.flux).sum::<u64>());
    }

    #[test]
    fn rotation_is_the_mean_of_three_yearly_rates() {
        // 100 T3 in Lyon outside QPV with 9, 10 and 11 releases: rate 30 / 300 = 10 %.
        let logements = block("A", 100, "69123", Typology::T3, false);
        let report = compute(&logements, &releases("A", [9, 10, 11]), &[]);
        assert_eq!(report.lookback_years, [2024, 2025, 2026]);
        assert_eq!(report.years_used, [2024, 2025, 2026]);
        let a = segment(&report, "69123-T3-H");
        assert_eq!(a.units, 100);
        assert_eq!(
            a.releases.iter().map(|r| r.releases).collect::<Vec<_>>(),
            [9, 10, 11]
        );
        assert_eq!(a.rotation_rate, dec("0.1"));
        assert_eq!(a.forecast_releases, dec("10"));
        assert_eq!((a.net, a.flux), (dec("10"), 10));
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        assert_adds_up(&report);
    }

    #[test]
    fn a_total_exclusion_is_spread_in_proportion_to_forecast_releases() {
        // Forecasts 10 (Lyon T3) and 5 (Villeurbanne T2 in QPV): 6 mutations → 4 and 2.
        let mut logements = block("A", 100, "69123", Typology::T3, false);
        logements.extend(block("B", 30, "69266", Typology::T2, true));
        let mut history = releases("A", [10, 10, 10]);
        history.extend(releases("B", [5, 5, 5]));
        let plan = [exclusion(ExclusionCategory::Mutation, None, None, None, 6)];
        let report = compute(&logements, &history, &plan);
        let a = segment(&report, "69123-T3-H");
        let b = segment(&report, "69266-T2-Q");
        assert_eq!(b.rotation_rate, dec("0.166667"));
        assert_eq!(a.exclusions[&ExclusionCategory::Mutation], dec("4"));
        assert_eq!(b.exclusions[&ExclusionCategory::Mutation], dec("2"));
        assert_eq!(
            b.exclusion_shares,
            [ExclusionShare {
                row: 1,
                category: ExclusionCategory::Mutation,
                amount: dec("2")
            }]
        );
        assert_eq!((a.net, b.net), (dec("6"), dec("3")));
        assert_eq!((a.flux, b.flux, report.totals.flux), (6, 3, 9));
        assert_eq!(report.exclusion_rows[0].segments, 2);
        assert_adds_up(&report);
    }

    #[test]
    fn shares_that_do_not_divide_evenly_still_add_up_to_the_row() {
        // Three equal segments share 1 dwelling: 0.333334 + 0.333333 + 0.333333.
        let mut logements = Vec::new();
        let mut history = Vec::new();
        for (prefix, commune) in [("A", "69123"), ("B", "69266"), ("C", "69259")] {
            logements.extend(block(prefix, 10, commune, Typology::T3, false));
            history.extend(releases(prefix, [1, 1, 1]));
        }
        let plan = [exclusion(ExclusionCategory::Vente, None, None, None, 1)];
        let report = compute(&logements, &history, &plan);
        let shares: Vec<Decimal> = report.segments.iter().map(|s| s.exclusions_total).collect();
        assert_eq!(shares, [dec("0.333334"), dec("0.333333"), dec("0.333333")]);
        assert_adds_up(&report);
    }

    #[test]
    fn exclusions_beyond_the_forecast_floor_the_segment_at_zero() {
        let mut logements = block("A", 20, "69123", Typology::T3, true);
        logements.extend(block("B", 20, "69123", Typology::T3, false));
        let mut history = releases("A", [1, 1, 1]);
        history.extend(releases("B", [3, 3, 3]));
        let plan = [
            exclusion(
                ExclusionCategory::Demolition,
                Some("69123"),
                None,
                Some(true),
                4,
            ),
            exclusion(ExclusionCategory::Npru, Some("69123"), None, Some(true), 1),
        ];
        let report = compute(&logements, &history, &plan);
        let q = segment(&report, "69123-T3-Q");
        assert_eq!(q.forecast_releases, dec("1"));
        assert_eq!(q.exclusions_total, dec("5"));
        assert_eq!((q.net, q.floor_excess, q.flux), (dec("0"), dec("4"), 0));
        assert_eq!(segment(&report, "69123-T3-H").flux, 3);
        assert!(
            report
                .warnings
                .iter()
                .any(|w| w.contains("69123-T3-Q") && w.contains("ramené à zéro")),
            "{:?}",
            report.warnings
        );
        assert_adds_up(&report);
    }

    #[test]
    fn dwellings_outside_the_flux_are_counted_apart() {
        let mut logements = block("A", 10, "69123", Typology::T3, false);
        for dwelling in &mut logements[..4] {
            dwelling.outside_flux = Some("défense nationale".into());
        }
        // A0..A3 are outside the flux: their releases do not count.
        let report = compute(&logements, &releases("A", [6, 6, 6]), &[]);
        let a = segment(&report, "69123-T3-H");
        assert_eq!((a.units, a.outside_flux_units), (6, 4));
        assert_eq!(a.releases[0].releases, 2);
        assert_eq!(a.rotation_rate, dec("0.333333"));
        assert_eq!(a.forecast_releases, dec("2"));
        assert_eq!(report.totals.outside_flux_units, 4);
        assert_adds_up(&report);
    }

    #[test]
    fn a_year_without_any_release_is_left_out_and_said() {
        let logements = block("A", 100, "69123", Typology::T3, false);
        let report = compute(&logements, &releases("A", [8, 0, 12]), &[]);
        assert_eq!(report.years_used, [2024, 2026]);
        let a = segment(&report, "69123-T3-H");
        assert_eq!(a.rotation_rate, dec("0.1"));
        assert_eq!(a.forecast_releases, dec("10"));
        assert!(
            report.warnings[0].contains("2025") && report.warnings[0].contains("2024 et 2026"),
            "{:?}",
            report.warnings
        );
        assert_adds_up(&report);
        let error = assiette(&AssietteInput {
            year: YEAR,
            lookback: 3,
            axes: SegmentAxes::default(),
            logements: &logements,
            releases: &releases("A", [0, 0, 0]),
            exclusions: &[],
        })
        .unwrap_err();
        assert_eq!(error, AssietteError::NoReleaseData(vec![2024, 2025, 2026]));
        assert!(error.to_string().contains("2024, 2025 et 2026"), "{error}");
    }

    #[test]
    fn rows_that_match_nothing_are_reported_not_dropped() {
        let mut logements = block("A", 10, "69123", Typology::T3, false);
        logements.extend(block("B", 10, "69266", Typology::T4, false));
        let history = releases("A", [2, 2, 2]);
        let plan = [
            exclusion(ExclusionCategory::Vente, Some("69999"), None, None, 3),
            exclusion(ExclusionCategory::Vente, None, Some(Typology::T4), None, 2),
        ];
        let report = compute(&logements, &history, &plan);
        assert_eq!(report.totals.exclusions_not_spread, dec("5"));
        assert_eq!(report.totals.exclusions_total, dec("0"));
        assert!(report.warnings.iter().any(|w| w.contains("commune 69999")
            && w.contains("aucun logement du flux")
            && w.contains("3 logement(s) ne sont pas déduits")));
        assert!(
            report
                .warnings
                .iter()
                .any(|w| w.contains("typologie T4") && w.contains("aucune libération prévue"))
        );
        assert_adds_up(&report);
    }

    #[test]
    fn without_the_typology_axis_a_typology_row_weighs_that_typology_only() {
        // Lyon: 3 T3 releases a year and 1 T4; Villeurbanne: 1 T3 a year. Three T3 sales
        // weigh 9 vs 3 releases: 2.25 and 0.75.
        let mut logements = block("A", 30, "69123", Typology::T3, false);
        logements.extend(block("B", 10, "69123", Typology::T4, false));
        logements.extend(block("C", 10, "69266", Typology::T3, false));
        let mut history = releases("A", [3, 3, 3]);
        history.extend(releases("B", [1, 1, 1]));
        history.extend(releases("C", [1, 1, 1]));
        let plan = [exclusion(
            ExclusionCategory::Vente,
            None,
            Some(Typology::T3),
            None,
            3,
        )];
        let report = assiette(&AssietteInput {
            year: YEAR,
            lookback: 3,
            axes: "commune,qpv".parse().unwrap(),
            logements: &logements,
            releases: &history,
            exclusions: &plan,
        })
        .unwrap();
        let ids: Vec<&str> = report.segments.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["69123-H", "69266-H"]);
        assert_eq!(report.segments[0].forecast_releases, dec("4"));
        assert_eq!(report.segments[0].exclusions_total, dec("2.25"));
        assert_eq!(report.segments[1].exclusions_total, dec("0.75"));
        assert_adds_up(&report);
    }

    #[test]
    fn the_flux_total_is_rounded_half_up_and_apportioned_exactly() {
        // Over two years, forecasts 3 / 2 = 1.5 and 2 / 2 = 1: total 2.5, rounded up to 3.
        let mut logements = block("A", 10, "69123", Typology::T3, false);
        logements.extend(block("B", 10, "69266", Typology::T3, false));
        let mut history = releases("A", [5, 1, 2]);
        history.extend(releases("B", [5, 1, 1]));
        let report = assiette(&AssietteInput {
            year: YEAR,
            lookback: 2,
            axes: SegmentAxes::default(),
            logements: &logements,
            releases: &history,
            exclusions: &[],
        })
        .unwrap();
        assert_eq!(report.years_used, [2025, 2026]);
        assert_eq!(report.segments[0].forecast_releases, dec("1.5"));
        assert_eq!(report.totals.net, dec("2.5"));
        assert_eq!(report.totals.flux, 3);
        assert_eq!((report.segments[0].flux, report.segments[1].flux), (2, 1));
        let divisor = report.divisor.unwrap();
        for s in &report.segments {
            let gap = (s.net / divisor - Decimal::from(s.flux)).abs();
            assert!(gap <= dec("0.5"), "{}: {} / {divisor}", s.id, s.net);
        }
        let drafts = report.scenario_segments();
        assert_eq!(drafts.len(), 2);
        assert_eq!(drafts[0].id, "69123-T3-H");
        assert_eq!(drafts.iter().map(|d| d.flux).sum::<u64>(), 3);
        assert_adds_up(&report);
    }

    #[test]
    fn releases_of_unknown_dwellings_and_of_other_years_are_set_aside() {
        let logements = block("A", 10, "69123", Typology::T3, false);
        let mut history = releases("A", [1, 1, 1]);
        history.push(Release {
            rpls_id: "INCONNU".parse().unwrap(),
            date: NaiveDate::from_ymd_opt(2025, 3, 1).unwrap(),
        });
        history.push(Release {
            rpls_id: "A5".parse().unwrap(),
            date: NaiveDate::from_ymd_opt(2019, 3, 1).unwrap(),
        });
        let report = compute(&logements, &history, &[]);
        assert_eq!(
            report
                .totals
                .releases
                .iter()
                .map(|r| r.releases)
                .sum::<u64>(),
            3
        );
        assert!(
            report
                .warnings
                .iter()
                .any(|w| w.starts_with("1 libération(s)") && w.contains("INCONNU")),
            "{:?}",
            report.warnings
        );
    }

    #[test]
    fn bad_parameters_are_refused_in_french() {
        let logements = block("A", 10, "69123", Typology::T3, false);
        let input = AssietteInput {
            year: YEAR,
            lookback: 0,
            axes: SegmentAxes::default(),
            logements: &logements,
            releases: &[],
            exclusions: &[],
        };
        assert_eq!(assiette(&input).unwrap_err(), AssietteError::Lookback(0));
        let empty = AssietteInput {
            lookback: 3,
            logements: &[],
            ..input
        };
        assert!(
            assiette(&empty)
                .unwrap_err()
                .to_string()
                .contains("aucun logement")
        );
    }

    #[test]
    fn the_demo_territory_adds_up_exactly() {
        use crate::import::{ImportBatch, ImportKind, parse_file};
        let demo = crate::demo::demo_territory(YEAR);
        let batch = |kind| {
            let csv = demo.csv(kind).unwrap();
            parse_file(
                kind,
                csv.as_bytes(),
                Some(&demo.bailleur_siren),
                &mut |_, _| {},
            )
            .unwrap()
            .batch
        };
        let ImportBatch::Logements(_, logements) = batch(ImportKind::Logements) else {
            unreachable!()
        };
        let ImportBatch::Releases(_, releases) = batch(ImportKind::Liberations) else {
            unreachable!()
        };
        let ImportBatch::Exclusions(_, exclusions) = batch(ImportKind::Exclusions) else {
            unreachable!()
        };
        for axes in [
            "commune,typologie,qpv",
            "commune,qpv",
            "commune,typologie,qpv,financement",
        ] {
            let report = assiette(&AssietteInput {
                year: YEAR,
                lookback: 3,
                axes: axes.parse().unwrap(),
                logements: &logements,
                releases: &releases,
                exclusions: &exclusions,
            })
            .unwrap();
            assert_adds_up(&report);
            assert_eq!(
                report.totals.units + report.totals.outside_flux_units,
                logements.len() as u64
            );
            assert_eq!(report.exclusion_rows.len(), exclusions.len());
            let ids: Vec<&String> = report.segments.iter().map(|s| &s.id).collect();
            let mut sorted = ids.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), ids.len(), "segment ids are unique");
        }
    }
}
