//! The dwellings the bailleur plans to take out of the flux of year N (R.441-5 CCH), some as
//! totals, some per commune, typology or QPV flag.

use crate::domain::{ExclusionCategory, Typology};

use super::csv_out::{CsvWriter, yes_no};

struct Planned {
    category: ExclusionCategory,
    commune: Option<&'static str>,
    typology: Option<Typology>,
    qpv: Option<bool>,
    count: u32,
}

const fn planned(
    category: ExclusionCategory,
    commune: Option<&'static str>,
    typology: Option<Typology>,
    qpv: Option<bool>,
    count: u32,
) -> Planned {
    Planned {
        category,
        commune,
        typology,
        qpv,
        count,
    }
}

/// Renewal (NPRU) and demolitions are in the QPV of the central commune and of Bellecombe;
/// sales are of family dwellings outside QPV.
const PLANNED: [Planned; 9] = [
    planned(ExclusionCategory::Mutation, None, None, None, 120),
    planned(ExclusionCategory::Npru, Some("69801"), None, Some(true), 20),
    planned(ExclusionCategory::Npru, Some("69802"), None, Some(true), 10),
    planned(ExclusionCategory::Orcod, Some("69801"), None, None, 5),
    planned(ExclusionCategory::HabitatIndigne, None, None, None, 8),
    planned(
        ExclusionCategory::Vente,
        None,
        Some(Typology::T3),
        Some(false),
        6,
    ),
    planned(
        ExclusionCategory::Vente,
        None,
        Some(Typology::T4),
        Some(false),
        7,
    ),
    planned(
        ExclusionCategory::Vente,
        None,
        Some(Typology::T5),
        Some(false),
        2,
    ),
    planned(
        ExclusionCategory::Demolition,
        Some("69801"),
        None,
        Some(true),
        20,
    ),
];

pub fn exclusions_csv(year: i32) -> String {
    let mut csv = CsvWriter::new(&[
        "annee",
        "categorie",
        "commune",
        "typologie",
        "qpv",
        "nombre",
    ]);
    let year = year.to_string();
    for p in &PLANNED {
        csv.row(&[
            &year,
            p.category.label(),
            p.commune.unwrap_or(""),
            p.typology.map_or("", Typology::label),
            p.qpv.map_or("", yes_no),
            &p.count.to_string(),
        ]);
    }
    csv.finish()
}
