//! The dwellings the bailleur plans to take out of the flux of year N (R.441-5 CCH), some as
//! totals, some per commune, typology or QPV flag.

use crate::domain::{ExclusionCategory, Typology};

use super::DemoSize;
use super::csv_out::{CsvWriter, yes_no};
use super::territory::{Layout, layout};

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

/// The second bailleur's plan: internal mutations, renewal of its block in La Source
/// (Bellecombe), one insalubrious building, a few sales of T3 outside QPV; no demolition.
const SECOND_PLANNED: [Planned; 4] = [
    planned(ExclusionCategory::Mutation, None, None, None, 25),
    planned(ExclusionCategory::Npru, Some("69802"), None, Some(true), 8),
    planned(ExclusionCategory::HabitatIndigne, None, None, None, 2),
    planned(
        ExclusionCategory::Vente,
        None,
        Some(Typology::T3),
        Some(false),
        4,
    ),
];

/// The planned count of `p` for `layout`: the demo's, scaled by the dwellings of its commune
/// (or of the whole patrimoine) at this size.
fn scaled_count(p: &Planned, layout: &Layout) -> u32 {
    if layout.size == DemoSize::Demo {
        return p.count;
    }
    let demo = self::layout(DemoSize::Demo);
    let dwellings = |l: &Layout| {
        p.commune
            .and_then(|insee| l.commune(insee))
            .map_or_else(|| l.total_dwellings(), |c| c.dwellings)
    };
    let ratio = f64::from(dwellings(layout)) / f64::from(dwellings(demo));
    (f64::from(p.count) * ratio).round() as u32
}

pub fn exclusions_csv(layout: &Layout, year: i32) -> String {
    plan_csv(&PLANNED, layout, year)
}

/// The second bailleur's plan for year N (it exists at the demo size only).
pub fn second_exclusions_csv(year: i32) -> String {
    plan_csv(&SECOND_PLANNED, layout(DemoSize::Demo), year)
}

fn plan_csv(plan: &[Planned], layout: &Layout, year: i32) -> String {
    let mut csv = CsvWriter::new(&[
        "annee",
        "categorie",
        "commune",
        "typologie",
        "qpv",
        "nombre",
    ]);
    let year = year.to_string();
    for p in plan {
        csv.row(&[
            &year,
            p.category.label(),
            p.commune.unwrap_or(""),
            p.typology.map_or("", Typology::label),
            p.qpv.map_or("", yes_no),
            &scaled_count(p, layout).to_string(),
        ]);
    }
    csv.finish()
}
