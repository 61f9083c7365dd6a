//! Files for tests and benchmarks: the demo territory's registries and large patrimoine files.

#![allow(dead_code)]

use convention_flux::demo::{DemoTerritory, demo_territory};
use convention_flux::import::ImportKind;

pub fn demo() -> DemoTerritory {
    demo_territory(2027)
}

/// The INSEE codes of the demo's communes, read from its communes file.
pub fn demo_communes(demo: &DemoTerritory) -> Vec<String> {
    demo.csv(ImportKind::Communes)
        .expect("the demo has a communes file")
        .lines()
        .skip(1)
        .filter_map(|line| line.split(';').next().map(str::to_owned))
        .collect()
}

/// A `logements.csv` of `rows` dwellings over `communes`; when `bad_row` is `Some(i)`, the
/// i-th dwelling (0-based, so file line i + 2) has an invalid typology.
pub fn large_logements_csv(rows: usize, communes: &[String], bad_row: Option<usize>) -> String {
    const TYPOLOGIES: [&str; 6] = ["T1", "T2", "T3", "T3", "T4", "T5"];
    const FINANCINGS: [&str; 5] = ["PLUS", "PLUS", "PLAI", "PLS", "PLI"];
    let mut csv = String::with_capacity(rows * 60);
    csv.push_str(
        "rpls_id;commune;qpv;typologie;financement;individuel;annee_construction;hors_flux\n",
    );
    for i in 0..rows {
        let typology = if bad_row == Some(i) {
            "T9X"
        } else {
            TYPOLOGIES[i % 6]
        };
        csv.push_str(&format!(
            "L{i:07};{};;{typology};{};{};{};\n",
            communes[i % communes.len()],
            FINANCINGS[i % 5],
            if i % 5 == 0 { "oui" } else { "non" },
            1950 + i % 70,
        ));
    }
    csv
}
