//! The état des lieux: which dwellings each réservataire holds in stock today, at most one
//! réservataire per dwelling.

use chrono::NaiveDate;

use crate::domain::Basis;

use super::csv_out::CsvWriter;
use super::patrimoine::Dwelling;
use super::rng::SplitMix64;
use super::territory::ReservataireSpec;

/// Loans to social housing are typically repaid over 40 years.
const LOAN_YEARS: i32 = 40;
/// Rights obtained for a loan guarantee last until five years after the loan is repaid
/// (R.441-5 CCH).
const YEARS_AFTER_REPAYMENT: i32 = 5;
const ACTION_LOGEMENT_DATED_SHARE: f64 = 0.5;

struct Holding<'a> {
    dwelling: &'a Dwelling,
    reservataire: &'a ReservataireSpec,
    end_date: Option<NaiveDate>,
}

pub fn reservations_stock_csv(
    dwellings: &[Dwelling],
    reservataires: &[ReservataireSpec],
    year: i32,
    seed: u64,
) -> String {
    let mut rng = SplitMix64::new(seed);
    let mut csv = CsvWriter::new(&["rpls_id", "reservataire", "fondement", "date_fin"]);
    // Dwellings outside the flux are reserved to their own programme, not to these parties.
    for dwelling in dwellings.iter().filter(|d| d.outside_flux.is_none()) {
        let Some(holding) = holding(&mut rng, dwelling, reservataires, year) else {
            continue;
        };
        let end_date = holding.end_date.map(|d| d.to_string()).unwrap_or_default();
        csv.row(&[
            &holding.dwelling.rpls_id,
            &holding.reservataire.id,
            holding.reservataire.basis.label(),
            &end_date,
        ]);
    }
    csv.finish()
}

/// Draws the réservataire of `dwelling`, if any, from the stock shares of those who may hold it.
fn holding<'a>(
    rng: &mut SplitMix64,
    dwelling: &'a Dwelling,
    reservataires: &'a [ReservataireSpec],
    year: i32,
) -> Option<Holding<'a>> {
    let mut draw = rng.unit();
    let reservataire = reservataires
        .iter()
        .filter(|r| r.may_hold(&dwelling.commune.insee))
        .find(|r| {
            draw -= r.stock_share;
            draw < 0.0
        })?;
    let end_date = end_date(rng, reservataire.basis, dwelling.construction_year, year);
    Some(Holding {
        dwelling,
        reservataire,
        end_date,
    })
}

fn end_date(
    rng: &mut SplitMix64,
    basis: Basis,
    construction_year: i32,
    year: i32,
) -> Option<NaiveDate> {
    let end_year = match basis {
        Basis::GarantieEmprunt => guarantee_end_year(rng, construction_year, year),
        Basis::ActionLogement if rng.chance(ACTION_LOGEMENT_DATED_SHARE) => {
            rng.between(year, year + 15)
        }
        _ => return None,
    };
    NaiveDate::from_ymd_opt(
        end_year,
        rng.between(1, 12) as u32,
        rng.between(1, 28) as u32,
    )
}

/// Guarantees of old loans would have lapsed long ago; most were renewed when the dwellings
/// were rehabilitated with a new guaranteed loan, so those end in the coming decades.
fn guarantee_end_year(rng: &mut SplitMix64, construction_year: i32, year: i32) -> i32 {
    let end_year = construction_year + LOAN_YEARS + YEARS_AFTER_REPAYMENT;
    if end_year < year - 3 {
        rng.between(year + 1, year + 20)
    } else {
        end_year
    }
}
