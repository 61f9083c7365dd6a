//! From the état des lieux to rates: each réservataire's stock rights converted into its
//! starting share of the flux (DESIGN §4.5, RULES.md §6).
//!
//! The rotation rate of each segment is the assiette's (DESIGN §4.1: same lookback, dwellings
//! outside the flux left out), computed by [`assiette`] itself. A stock right weighs the part of
//! year N it still runs; a réservataire's flux-equivalent is the sum, over its rights, of that
//! weight times the rotation rate of the dwelling's segment; the bailleur's unreserved part is
//! the sum, over the dwellings, of their uncovered fraction (1 − the weights of their rights,
//! floored at 0) times the rate.
//!
//! Arithmetic is exact. A weight is a number of days out of the days of year N, and a rotation
//! rate a number of millionths (the assiette rounds it there), so every weighted count is an
//! integer of days and every flux-equivalent an integer of day-millionths: sums, rates and the
//! Sainte-Laguë apportionment of the hundredths work on these integers, and the decimals shown
//! are rounded (half up) only at the end.

mod detail;
mod starting;
#[cfg(test)]
mod tests;

pub use starting::stock_shares;

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;

use super::apportion::sainte_lague;
use super::assiette::{AssietteError, AssietteInput, AssietteReport, YearReleases, assiette};
use super::segment::{SegmentAxes, SegmentKey};
use crate::domain::{Basis, InseeCode, Logement, Release, ReservataireId, StockReservation};

/// Hundredths of a percent in the whole flux: the seats of the rates' apportionment.
const HUNDREDTHS: u64 = 10_000;
/// Decimals of the weighted dwellings and flux-equivalents shown.
const SHOWN_SCALE: u32 = 6;

/// How a stock right becomes a rate (RULES.md §6): by the releases it brings (`flux`, the
/// default) or by the dwellings as they are (`stock`, which favours holders of low-turnover
/// dwellings).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    #[default]
    Flux,
    Stock,
}

impl std::str::FromStr for Method {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim().to_lowercase().as_str() {
            "flux" => Ok(Method::Flux),
            "stock" => Ok(Method::Stock),
            _ => Err(format!(
                "méthode « {value} » inconnue : indiquez flux (par les libérations, par défaut) ou stock (par les logements)"
            )),
        }
    }
}

impl Method {
    pub fn label(self) -> &'static str {
        match self {
            Method::Flux => "flux",
            Method::Stock => "stock",
        }
    }
}

/// What the conversion is computed from: one bailleur's data.
#[derive(Debug, Clone, Copy)]
pub struct ConversionInput<'a> {
    pub year: i32,
    pub lookback: u32,
    pub method: Method,
    pub logements: &'a [Logement],
    pub releases: &'a [Release],
    pub rights: &'a [StockReservation],
    /// The territory of the réservataires whose rights are territorial (communes, EPCI): their
    /// rate is on those communes; any other réservataire's is on the whole patrimoine.
    pub scopes: &'a BTreeMap<ReservataireId, Vec<InseeCode>>,
}

/// Why no conversion can be computed, in French.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConversionError {
    #[error("{0}")]
    Assiette(#[from] AssietteError),
    #[error(
        "aucun logement du flux n'a de libération sur les années {0} : le flux-équivalent total est nul et aucun taux ne peut être calculé"
    )]
    NoFlux(String),
}

/// One segment's rotation, as the assiette computed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SegmentRotation {
    pub id: String,
    /// Dwellings of the segment in the flux.
    pub units: u64,
    #[schema(value_type = Vec<Object>)]
    pub releases: Vec<YearReleases>,
    #[schema(value_type = String)]
    pub rotation_rate: Decimal,
}

/// A réservataire's rights in one segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SegmentPart {
    pub segment: String,
    pub dwellings: u64,
    #[schema(value_type = String)]
    pub weighted_dwellings: Decimal,
    #[schema(value_type = String)]
    pub flux_equivalent: Decimal,
}

/// One stock right and what it weighs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RightDetail {
    pub rpls_id: String,
    pub segment: String,
    pub basis: String,
    pub end_date: Option<NaiveDate>,
    /// The fraction of year N the right still runs.
    #[schema(value_type = String)]
    pub weight: Decimal,
    #[schema(value_type = String)]
    pub flux_equivalent: Decimal,
}

/// One réservataire's converted share (DESIGN §4.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReservataireConversion {
    pub id: String,
    /// Null (the whole patrimoine) or the commune codes of its territory.
    pub scope: Option<Vec<String>>,
    /// Rights counted: those on dwellings in the flux that still run in year N.
    pub dwellings: u64,
    #[schema(value_type = String)]
    pub weighted_dwellings: Decimal,
    #[schema(value_type = String)]
    pub flux_equivalent: Decimal,
    /// Percent of its scope, to the hundredth (half up).
    #[schema(value_type = String)]
    pub rate: Decimal,
    /// Percent of the whole flux; over all réservataires and the unreserved part they add up
    /// to exactly 100.00 (Sainte-Laguë on the hundredths).
    #[schema(value_type = String)]
    pub rate_of_whole_flux: Decimal,
    /// The denominator of `rate`: the scope's weighted dwellings (method stock) or
    /// flux-equivalent (method flux), every holder and the unreserved part included.
    #[schema(value_type = String)]
    pub scope_total: Decimal,
    pub segments: Vec<SegmentPart>,
    pub rights: Vec<RightDetail>,
}

/// The bailleur's unreserved part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NonReserveConversion {
    /// Dwellings of the flux with an uncovered fraction this year.
    pub dwellings: u64,
    #[schema(value_type = String)]
    pub weighted_dwellings: Decimal,
    #[schema(value_type = String)]
    pub flux_equivalent: Decimal,
    /// Percent of the whole flux (Sainte-Laguë with the réservataires).
    #[schema(value_type = String)]
    pub rate: Decimal,
    pub segments: Vec<SegmentPart>,
}

/// The conversion of year N, with its provenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Conversion {
    pub year: i32,
    pub method: Method,
    pub lookback: u32,
    pub reservataires: Vec<ReservataireConversion>,
    pub non_reserve: NonReserveConversion,
    pub warnings: Vec<String>,
    /// The years of release history the rotation rates are averaged over.
    pub years_used: Vec<i32>,
    /// Days in year N: the denominator of every weight.
    pub days_in_year: u32,
    #[schema(value_type = String)]
    pub total_weighted_dwellings: Decimal,
    #[schema(value_type = String)]
    pub total_flux_equivalent: Decimal,
    pub segments: Vec<SegmentRotation>,
}

/// Exact sums of one holder (a réservataire or the unreserved part) in one segment: weighted
/// dwellings in days, flux-equivalent in day-millionths.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Sums {
    pub dwellings: u64,
    pub days: u128,
    pub flux: u128,
}

impl Sums {
    fn add(&mut self, days: u128, rate: u128) {
        self.dwellings += 1;
        self.days += days;
        self.flux += days * rate;
    }

    fn value(self, method: Method) -> u128 {
        match method {
            Method::Flux => self.flux,
            Method::Stock => self.days,
        }
    }
}

/// A right that counts, placed in its segment.
#[derive(Debug, Clone)]
pub(crate) struct Placed<'a> {
    right: &'a StockReservation,
    segment: usize,
    days: u128,
}

/// Everything gathered before any division.
#[derive(Debug)]
pub(crate) struct Tallies<'a> {
    pub days_in_year: u32,
    pub report: AssietteReport,
    /// Rotation of each segment, in millionths.
    pub rates: Vec<u128>,
    /// Position of each dwelling in the input, by RPLS id.
    pub index: HashMap<&'a str, usize>,
    /// The segment of each dwelling of the input; `None` outside the flux.
    pub segment_of: Vec<Option<usize>>,
    /// Days of year N covered by the rights of each dwelling of the input.
    pub covered: Vec<u128>,
    /// Per réservataire, per segment.
    pub held: BTreeMap<&'a ReservataireId, BTreeMap<usize, Sums>>,
    pub placed: BTreeMap<&'a ReservataireId, Vec<Placed<'a>>>,
    /// The unreserved part, per segment.
    pub free: BTreeMap<usize, Sums>,
}

/// Converts the état des lieux of `input.year` into rates (DESIGN §4.5).
pub fn conversion(input: &ConversionInput<'_>) -> Result<Conversion, ConversionError> {
    let tallies = tally(input)?;
    let mut warnings = tallies.report.warnings.clone();
    warnings.extend(detail::right_warnings(input, &tallies));
    let method = input.method;
    let totals: Vec<u128> = segment_totals(&tallies, method);
    let whole: u128 = totals.iter().sum();
    if whole == 0 {
        let years: Vec<String> = tallies
            .report
            .years_used
            .iter()
            .map(i32::to_string)
            .collect();
        return Err(ConversionError::NoFlux(years.join(", ")));
    }
    let whole_rates = whole_flux_rates(&tallies, method)?;
    let reservataires = tallies
        .held
        .keys()
        .zip(&whole_rates)
        .map(|(id, whole_rate)| {
            detail::reservataire(input, &tallies, id, &totals, *whole_rate, &mut warnings)
        })
        .collect();
    Ok(Conversion {
        year: input.year,
        method,
        lookback: input.lookback,
        reservataires,
        non_reserve: detail::non_reserve(&tallies, whole_rates.last().copied().unwrap_or_default()),
        warnings,
        years_used: tallies.report.years_used.clone(),
        days_in_year: tallies.days_in_year,
        total_weighted_dwellings: days_shown(all_sums(&tallies).days, tallies.days_in_year),
        total_flux_equivalent: flux_shown(all_sums(&tallies).flux, tallies.days_in_year),
        segments: segment_rotations(&tallies.report),
    })
}

/// The rotation of every segment by the assiette, and each right and dwelling placed.
fn tally<'a>(input: &ConversionInput<'a>) -> Result<Tallies<'a>, ConversionError> {
    let axes = SegmentAxes::default();
    // Exclusions do not change a rotation rate: the assiette is asked for its rates only.
    let report = assiette(&AssietteInput {
        year: input.year,
        lookback: input.lookback,
        axes,
        logements: input.logements,
        releases: input.releases,
        exclusions: &[],
    })?;
    let position: HashMap<&SegmentKey, usize> = report
        .segments
        .iter()
        .enumerate()
        .map(|(i, s)| (&s.key, i))
        .collect();
    let rates = report
        .segments
        .iter()
        .map(|s| s.rotation_rate.mantissa().unsigned_abs() * scale_factor(s.rotation_rate))
        .collect();
    let days_in_year = days_in_year(input.year);
    let segment_of: Vec<Option<usize>> = input
        .logements
        .iter()
        .map(|l| {
            l.outside_flux
                .is_none()
                .then(|| position[&SegmentKey::of(l, axes)])
        })
        .collect();
    let index = input
        .logements
        .iter()
        .enumerate()
        .map(|(i, l)| (l.rpls_id.as_str(), i))
        .collect();
    let mut tallies = Tallies {
        days_in_year,
        report,
        rates,
        index,
        covered: vec![0; segment_of.len()],
        segment_of,
        held: BTreeMap::new(),
        placed: BTreeMap::new(),
        free: BTreeMap::new(),
    };
    place_rights(input, &mut tallies);
    free_parts(&mut tallies);
    Ok(tallies)
}

/// The assiette's rates have six decimals at most; this brings one to millionths.
fn scale_factor(rate: Decimal) -> u128 {
    10u128.pow(super::assiette::SCALE.saturating_sub(rate.scale()))
}

fn place_rights<'a>(input: &ConversionInput<'a>, tallies: &mut Tallies<'a>) {
    for right in input.rights {
        let held = tallies.held.entry(&right.reservataire).or_default();
        let placed = tallies.placed.entry(&right.reservataire).or_default();
        let Some(&dwelling) = tallies.index.get(right.rpls_id.as_str()) else {
            continue;
        };
        let Some(segment) = tallies.segment_of[dwelling] else {
            continue;
        };
        let days = u128::from(running_days(right.end_date, input.year));
        if days == 0 {
            continue;
        }
        held.entry(segment)
            .or_default()
            .add(days, tallies.rates[segment]);
        placed.push(Placed {
            right,
            segment,
            days,
        });
        tallies.covered[dwelling] += days;
    }
}

/// The uncovered fraction of every dwelling of the flux, in days.
fn free_parts(tallies: &mut Tallies<'_>) {
    let year = u128::from(tallies.days_in_year);
    for (dwelling, segment) in tallies.segment_of.iter().enumerate() {
        let Some(segment) = *segment else {
            continue;
        };
        let days = year.saturating_sub(tallies.covered[dwelling]);
        if days > 0 {
            let rate = tallies.rates[segment];
            tallies.free.entry(segment).or_default().add(days, rate);
        }
    }
}

/// The days of `year` a right ending on `end` still runs: all of them without an end or with
/// an end after 31 December, none with an end before 1 January, else 1 January to the end,
/// both included.
pub fn running_days(end: Option<NaiveDate>, year: i32) -> u32 {
    let days = days_in_year(year);
    let Some(end) = end else { return days };
    if end.year() > year {
        days
    } else if end.year() < year {
        0
    } else {
        end.ordinal()
    }
}

pub fn days_in_year(year: i32) -> u32 {
    if NaiveDate::from_ymd_opt(year, 2, 29).is_some() {
        366
    } else {
        365
    }
}

/// Every holder's value (by the method) per segment, the unreserved part included.
fn segment_totals(tallies: &Tallies<'_>, method: Method) -> Vec<u128> {
    let mut totals = vec![0u128; tallies.report.segments.len()];
    for parts in tallies.held.values() {
        for (&segment, sums) in parts {
            totals[segment] += sums.value(method);
        }
    }
    for (&segment, sums) in &tallies.free {
        totals[segment] += sums.value(method);
    }
    totals
}

fn all_sums(tallies: &Tallies<'_>) -> Sums {
    let mut all = Sums::default();
    for sums in tallies
        .held
        .values()
        .flat_map(BTreeMap::values)
        .chain(tallies.free.values())
    {
        all.dwellings += sums.dwellings;
        all.days += sums.days;
        all.flux += sums.flux;
    }
    all
}

/// Sums of one holder over its segments.
fn holder_sums(parts: &BTreeMap<usize, Sums>) -> Sums {
    let mut all = Sums::default();
    for sums in parts.values() {
        all.dwellings += sums.dwellings;
        all.days += sums.days;
        all.flux += sums.flux;
    }
    all
}

/// The rates of the whole flux, in percent, réservataires in id order then the unreserved
/// part: Sainte-Laguë apportionment of 10,000 hundredths, so that they add up to 100.00
/// exactly. Sainte-Laguë rather than largest remainder: it is the project's one rounding rule
/// (DESIGN §4.3), its divisor lets anyone re-check each rate, and it cannot take a hundredth
/// from a holder when another's value grows (largest remainder can).
fn whole_flux_rates(
    tallies: &Tallies<'_>,
    method: Method,
) -> Result<Vec<Decimal>, ConversionError> {
    let mut weights: Vec<Decimal> = tallies
        .held
        .values()
        .map(|parts| exact(holder_sums(parts).value(method)))
        .collect();
    weights.push(exact(holder_sums(&tallies.free).value(method)));
    let result = sainte_lague(HUNDREDTHS, &weights)
        .map_err(|e| ConversionError::Assiette(AssietteError::Apportion(e.to_string())))?;
    Ok(result
        .seats
        .iter()
        .map(|&s| Decimal::new(i64::try_from(s).unwrap_or(0), 2))
        .collect())
}

/// An exact sum as a decimal: at most about 10^20 for the largest territories, far within
/// the 96 bits of a decimal.
fn exact(value: u128) -> Decimal {
    Decimal::from_i128_with_scale(i128::try_from(value).unwrap_or(i128::MAX), 0)
}

/// `numerator / denominator` in hundredths of a percent, half up, as a percentage.
pub(crate) fn percent(numerator: u128, denominator: u128) -> Decimal {
    if denominator == 0 {
        return Decimal::ZERO;
    }
    let hundredths = (numerator * 20_000 + denominator) / (denominator * 2);
    Decimal::from_i128_with_scale(i128::try_from(hundredths).unwrap_or(0), 2)
}

/// `numerator / denominator` to `SHOWN_SCALE` decimals, half up.
fn shown(numerator: u128, denominator: u128) -> Decimal {
    let unit = 10u128.pow(SHOWN_SCALE);
    let scaled = (numerator * unit * 2 + denominator) / (denominator * 2);
    Decimal::from_i128_with_scale(i128::try_from(scaled).unwrap_or(0), SHOWN_SCALE).normalize()
}

/// Weighted dwellings from days.
pub(crate) fn days_shown(days: u128, days_in_year: u32) -> Decimal {
    shown(days, u128::from(days_in_year))
}

/// A flux-equivalent from day-millionths.
pub(crate) fn flux_shown(flux: u128, days_in_year: u32) -> Decimal {
    shown(flux, u128::from(days_in_year) * 1_000_000)
}

fn segment_rotations(report: &AssietteReport) -> Vec<SegmentRotation> {
    report
        .segments
        .iter()
        .map(|s| SegmentRotation {
            id: s.id.clone(),
            units: s.units,
            releases: s.releases.clone(),
            rotation_rate: s.rotation_rate,
        })
        .collect()
}

/// A basis in the words of the files.
fn basis_label(basis: Basis) -> String {
    basis.label().to_owned()
}
