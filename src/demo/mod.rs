//! A synthetic but realistic territory for demonstrations and tests: one metropolitan EPCI of
//! twenty communes, three QPV, one bailleur of 8,000 dwellings and nine réservataires, written
//! as the CSV files the importer accepts (DESIGN §4.0). Pure and deterministic: the same year
//! always gives the same files.

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
}

impl DemoTerritory {
    pub fn csv(&self, kind: ImportKind) -> Option<&str> {
        self.files
            .iter()
            .find(|f| f.kind == kind)
            .map(|f| f.csv.as_str())
    }
}

/// `year` is the convention year N (the demo uses 2027): releases cover N-3..N-1, exclusions
/// are for N.
pub fn demo_territory(year: i32) -> DemoTerritory {
    let epci_siren = territory::epci_siren();
    let bailleur_siren = territory::bailleur_siren();
    let reservataires = territory::reservataires(&epci_siren);
    // Construction up to N-3 leaves every dwelling at least one year of release history.
    let dwellings = patrimoine::dwellings(year - 3);
    let files = ImportKind::ALL
        .into_iter()
        .map(|kind| {
            let csv = match kind {
                ImportKind::Epci => territory::epci_csv(&epci_siren),
                ImportKind::Communes => territory::communes_csv(&epci_siren),
                ImportKind::Qpv => territory::qpv_csv(),
                ImportKind::Bailleurs => territory::bailleurs_csv(&bailleur_siren),
                ImportKind::Reservataires => territory::reservataires_csv(&reservataires),
                ImportKind::Logements => patrimoine::logements_csv(&dwellings),
                ImportKind::ReservationsStock => {
                    stock::reservations_stock_csv(&dwellings, &reservataires, year)
                }
                ImportKind::Liberations => releases::liberations_csv(&dwellings, year),
                ImportKind::Exclusions => exclusions::exclusions_csv(year),
            };
            DemoFile { kind, csv }
        })
        .collect();
    DemoTerritory {
        bailleur_siren,
        epci_siren,
        files,
        year,
    }
}
