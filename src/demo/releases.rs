//! The rotation history: one row per release over the three years before year N.

use chrono::NaiveDate;

use super::csv_out::CsvWriter;
use super::patrimoine::Dwelling;
use super::rng::SplitMix64;

const SEED: u64 = 0x5EED_0000_0000_0003;
/// Extra turnover in QPV, where households leave sooner.
const QPV_ROTATION_BONUS: f64 = 0.03;
/// Rotation has been slowly falling: N-3, N-2, N-1.
const YEAR_FACTORS: [f64; 3] = [1.04, 1.0, 0.96];

pub fn liberations_csv(dwellings: &[Dwelling], year: i32) -> String {
    let mut rng = SplitMix64::new(SEED);
    let mut releases: Vec<(NaiveDate, &str)> = Vec::new();
    for (release_year, factor) in (year - 3..year).zip(YEAR_FACTORS) {
        for dwelling in dwellings {
            // A dwelling's first letting is not a release.
            if dwelling.construction_year >= release_year {
                continue;
            }
            if rng.chance(rotation_rate(dwelling) * factor) {
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
