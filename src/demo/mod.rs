//! A synthetic but realistic territory for demonstrations and tests: one metropolitan EPCI of
//! twenty communes, three QPV, one bailleur of 8,000 dwellings and nine réservataires, written
//! as the CSV files the importer accepts (DESIGN §4.0). Pure and deterministic: the same year
//! always gives the same files. A second, smaller bailleur (1,600 dwellings in seven of the
//! communes) has its own patrimoine files, so that the EPCI has two bailleurs' conventions.
//!
//! At the maximal size ([`DemoSize::Maximal`]), the largest real case of DESIGN §6 for the load
//! tests: 110 communes, 39 QPV, 120,000 dwellings, 150 réservataires, about 47,000 rights, and
//! one bailleur only (its figures are those measured in docs/performance.md).

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
    /// In the order of `ImportKind::ALL`, so that each file only refers to earlier ones: the
    /// registries (both bailleurs in `bailleurs.csv`) and the first bailleur's patrimoine.
    pub files: Vec<DemoFile>,
    pub year: i32,
    /// The réservataires' identifiers, in the order of `reservataires.csv`.
    pub reservataires: Vec<String>,
    /// The second bailleur, at the demo size only: its files are imported after `files`.
    pub second_bailleur: Option<DemoBailleur>,
}

/// A bailleur's own patrimoine files, imported with `--bailleur` its SIREN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoBailleur {
    pub siren: Siren,
    pub name: String,
    /// The folder, under the demo's, where its files are written.
    pub folder: String,
    /// `logements`, `reservations_stock`, `liberations`, `exclusions`, in that order.
    pub files: Vec<DemoFile>,
}

impl DemoBailleur {
    pub fn csv(&self, kind: ImportKind) -> Option<&str> {
        self.files
            .iter()
            .find(|f| f.kind == kind)
            .map(|f| f.csv.as_str())
    }
}

/// What tells one generated bailleur's rows from another's: the prefix of its RPLS
/// identifiers and the seeds of its patrimoine, stock and releases.
pub(crate) struct Streams {
    pub rpls_prefix: &'static str,
    pub patrimoine: u64,
    pub stock: u64,
    pub releases: u64,
}

const FIRST_STREAMS: Streams = Streams {
    rpls_prefix: "VSH",
    patrimoine: 0x5EED_0000_0000_0001,
    stock: 0x5EED_0000_0000_0002,
    releases: 0x5EED_0000_0000_0003,
};

const SECOND_STREAMS: Streams = Streams {
    rpls_prefix: "VRH",
    patrimoine: 0x5EED_0000_0000_0201,
    stock: 0x5EED_0000_0000_0202,
    releases: 0x5EED_0000_0000_0203,
};

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
    let dwellings = patrimoine::dwellings(layout, &FIRST_STREAMS, year - 3);
    let second_bailleur = (size == DemoSize::Demo).then(|| second_bailleur(&epci_siren, year));
    let mut bailleurs = vec![(&bailleur_siren, territory::BAILLEUR_NAME)];
    if let Some(second) = &second_bailleur {
        bailleurs.push((&second.siren, territory::SECOND_BAILLEUR_NAME));
    }
    let files = ImportKind::ALL
        .into_iter()
        .map(|kind| {
            let csv = match kind {
                ImportKind::Epci => territory::epci_csv(&epci_siren),
                ImportKind::Communes => territory::communes_csv(layout, &epci_siren),
                ImportKind::Qpv => territory::qpv_csv(layout),
                ImportKind::Bailleurs => territory::bailleurs_csv(&bailleurs),
                ImportKind::Reservataires => territory::reservataires_csv(&reservataires),
                ImportKind::Logements => patrimoine::logements_csv(&dwellings),
                ImportKind::ReservationsStock => stock::reservations_stock_csv(
                    &dwellings,
                    &reservataires,
                    year,
                    FIRST_STREAMS.stock,
                ),
                ImportKind::Liberations => {
                    releases::liberations_csv(&dwellings, year, FIRST_STREAMS.releases)
                }
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
        second_bailleur,
    }
}

/// The second bailleur's files: its dwellings in [`territory::second_layout`], its stock held
/// by the same réservataires (those of the demo's `reservataires.csv`, at its own shares), its
/// releases over the same three years and its own plan of exclusions.
fn second_bailleur(epci_siren: &Siren, year: i32) -> DemoBailleur {
    let layout = territory::second_layout();
    let reservataires = territory::reservataires(layout, epci_siren);
    let dwellings = patrimoine::dwellings(layout, &SECOND_STREAMS, year - 3);
    let files = [
        (ImportKind::Logements, patrimoine::logements_csv(&dwellings)),
        (
            ImportKind::ReservationsStock,
            stock::reservations_stock_csv(&dwellings, &reservataires, year, SECOND_STREAMS.stock),
        ),
        (
            ImportKind::Liberations,
            releases::liberations_csv(&dwellings, year, SECOND_STREAMS.releases),
        ),
        (
            ImportKind::Exclusions,
            exclusions::second_exclusions_csv(year),
        ),
    ]
    .into_iter()
    .map(|(kind, csv)| DemoFile { kind, csv })
    .collect();
    DemoBailleur {
        siren: territory::second_bailleur_siren(),
        name: territory::SECOND_BAILLEUR_NAME.into(),
        folder: "villages-du-rhone-habitat".into(),
        files,
    }
}
