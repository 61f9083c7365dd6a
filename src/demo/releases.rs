//! The rotation history: one row per release over the three years before year N.

use chrono::NaiveDate;

use super::csv_out::CsvWriter;
use super::patrimoine::Dwelling;
use super::rng::SplitMix64;

/// Extra turnover in QPV, where households leave sooner.
const QPV_ROTATION_BONUS: f64 = 0.03;
/// Rotation has been slowly falling: N-3, N-2, N-1.
const YEAR_FACTORS: [f64; 3] = [1.04, 1.0, 0.96];

pub fn liberations_csv(dwellings: &[Dwelling], year: i32, seed: u64) -> String {
    let mut rng = SplitMix64::new(seed);
    let mut releases: Vec<(NaiveDate, &str)> = Vec::new();
    for (release_year, factor) in (year - 3..year).zip(YEAR_FACTORS) {
        for group in rotation_groups(dwellings) {
            // A dwelling's first letting is not a release.
            let mut eligible: Vec<&Dwelling> = group
                .into_iter()
                .filter(|d| d.construction_year < release_year)
                .collect();
            let Some(first) = eligible.first() else {
                continue;
            };
            let rate = rotation_rate(first) * factor;
            let count = (eligible.len() as f64 * rate).round() as usize;
            for dwelling in draw_distinct(&mut rng, &mut eligible, count) {
                releases.push((day_of(&mut rng, release_year), &dwelling.rpls_id));
            }
        }
    }
    releases.sort_unstable();
    let mut csv = CsvWriter::new(&["rpls_id", "date_liberation"]);
    for (date, rpls_id) in releases {
        csv.row(&[rpls_id, &date.to_string()]);
    }
    csv.finish()
}

/// The dwellings sharing a rotation rate: one commune, in QPV or not. Releasing an exact
/// count per group, rather than drawing each dwelling, keeps small communes at their rate.
fn rotation_groups(dwellings: &[Dwelling]) -> Vec<Vec<&Dwelling>> {
    let mut groups: Vec<Vec<&Dwelling>> = Vec::new();
    for dwelling in dwellings {
        match groups.last_mut() {
            Some(group) if same_group(group[0], dwelling) => group.push(dwelling),
            _ => groups.push(vec![dwelling]),
        }
    }
    groups
}

/// Dwellings come commune by commune, QPV blocks first, so groups are contiguous.
fn same_group(a: &Dwelling, b: &Dwelling) -> bool {
    a.commune.insee == b.commune.insee && a.qpv.is_some() == b.qpv.is_some()
}

/// `count` distinct items of `items`, by a partial Fisher-Yates shuffle.
fn draw_distinct<'a, T>(rng: &mut SplitMix64, items: &'a mut [T], count: usize) -> &'a [T] {
    let count = count.min(items.len());
    for i in 0..count {
        let last = i32::try_from(items.len() - 1).unwrap_or(i32::MAX);
        let j = rng.between(i32::try_from(i).unwrap_or(0), last);
        items.swap(i, usize::try_from(j).unwrap_or(i));
    }
    &items[..count]
}

fn rotation_rate(dwelling: &Dwelling) -> f64 {
    let bonus = if dwelling.qpv.is_some() {
        QPV_ROTATION_BONUS
    } else {
        0.0
    };
    dwelling.commune.rotation + bonus
}

fn day_of(rng: &mut SplitMix64, year: i32) -> NaiveDate {
    let days = if NaiveDate::from_ymd_opt(year, 2, 29).is_some() {
        366
    } else {
        365
    };
    let ordinal = rng.between(1, days) as u32;
    NaiveDate::from_yo_opt(year, ordinal).expect("an ordinal within the year")
}
