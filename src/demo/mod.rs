//! A synthetic but realistic territory for demonstrations and tests: one metropolitan EPCI of
//! twenty communes, three QPV, one bailleur of 8,000 dwellings and nine réservataires, written
//! as the CSV files the importer accepts (DESIGN §4.0). Pure and deterministic: the same year
//! always gives the same files.
//!
//! At the maximal size ([`DemoSize::Maximal`]), the largest real case of DESIGN §6 for the load
//! tests: 110 communes, 39 QPV, 120,000 dwellings, 150 réservataires, about 47,000 rights.

mod csv_out;
mod exclusions;
mod patrimoine;
mod releases;
mod rng;
mod stock;
mod territory;

#[cfg(test)]
mod tests;

use crate::domain::Siren;
use crate::import::ImportKind;

/// One file of the demo, ready to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoFile {
    pub kind: ImportKind,
    pub csv: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoTerritory {
    pub bailleur_siren: Siren,
    pub epci_siren: Siren,
    /// In the order of `ImportKind::ALL`, so that each file only refers to earlier ones.
    pub files: Vec<DemoFile>,
    pub year: i32,
    /// The réservataires' identifiers, in the order of `reservataires.csv`.
    pub reservataires: Vec<String>,
}

impl DemoTerritory {
    pub fn csv(&self, kind: ImportKind) -> Option<&str> {
        self.files
            .iter()
            .find(|f| f.kind == kind)
            .map(|f| f.csv.as_str())
    }
}

/// The size of the generated territory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DemoSize {
    /// 20 communes, 8,000 dwellings, 9 réservataires: the demonstration.
    #[default]
    Demo,
    /// 110 communes, 120,000 dwellings, 150 réservataires: the largest real case.
    Maximal,
}

/// `year` is the convention year N (the demo uses 2027): releases cover N-3..N-1, exclusions
/// are for N.
pub fn demo_territory(year: i32) -> DemoTerritory {
    demo_territory_sized(year, DemoSize::Demo)
}

/// The territory of `size`; the demo's files are the same at either entry point.
pub fn demo_territory_sized(year: i32, size: DemoSize) -> DemoTerritory {
    let layout = territory::layout(size);
    let epci_siren = territory::epci_siren();
    let bailleur_siren = territory::bailleur_siren();
    let reservataires = territory::reservataires(layout, &epci_siren);
    // Construction up to N-3 leaves every dwelling at least one year of release history.
    let dwellings = patrimoine::dwellings(layout, year - 3);
    let files = ImportKind::ALL
        .into_iter()
        .map(|kind| {
            let csv = match kind {
                ImportKind::Epci => territory::epci_csv(&epci_siren),
                ImportKind::Communes => territory::communes_csv(layout, &epci_siren),
                ImportKind::Qpv => territory::qpv_csv(layout),
                ImportKind::Bailleurs => territory::bailleurs_csv(&bailleur_siren),
                ImportKind::Reservataires => territory::reservataires_csv(&reservataires),
                ImportKind::Logements => patrimoine::logements_csv(&dwellings),
                ImportKind::ReservationsStock => {
                    stock::reservations_stock_csv(&dwellings, &reservataires, year)
                }
                ImportKind::Liberations => releases::liberations_csv(&dwellings, year),
                ImportKind::Exclusions => exclusions::exclusions_csv(layout, year),
            };
            DemoFile { kind, csv }
        })
        .collect();
    DemoTerritory {
        bailleur_siren,
        epci_siren,
        files,
        year,
        reservataires: reservataires.into_iter().map(|r| r.id).collect(),
    }
}
