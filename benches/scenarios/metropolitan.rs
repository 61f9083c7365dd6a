//! The metropolitan-size scenario of the solver benchmark: 150 réservataires × 2,000 segments,
//! 30,000 dwellings, about 40 % structural zeros (commune réservataires hold rights on their own
//! commune only). Shared by `benches/solve.rs` and `examples/scenario_metropolitain.rs`.

use std::fmt::Write as _;

const COMMUNES: usize = 100;
const COMMUNE_RESERVATAIRES: usize = 60;
const OTHER_RESERVATAIRES: usize = 85;

fn commune(i: usize) -> String {
    format!("69{:03}", 100 + i)
}

/// A deterministic scenario of the target size, as the JSON a party would send.
pub fn metropolitan_scenario() -> String {
    let communes: Vec<String> = (0..COMMUNES).map(commune).collect();
    let mut segments = Vec::new();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for c in &communes {
        for typology in ["T1", "T2", "T3", "T4", "T5"] {
            for qpv in [false, true] {
                for financing in ["PLUS", "PLAI"] {
                    seed = seed
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    let flux = 5 + (seed >> 33) % 21; // 5..=25, mean 15
                    segments.push(format!(
                        r#"{{"id":"{c}-{typology}-{}-{financing}","commune":"{c}","typology":"{typology}","qpv":{qpv},"flux":{flux}}}"#,
                        if qpv { "Q" } else { "H" }
                    ));
                }
            }
        }
    }
    let commitments = r#"{"priority":"30","q1_hors_qpv":"30","non_q1_qpv":"55"}"#;
    let mut reservataires = vec![
        format!(
            r#"{{"id":"etat","kind":"etat","basis":"contingent_prefectoral","name":"Préfet","share":"25","scope":null,"overrides":[{{"qpv":true,"share":"22"}}],"commitments":{commitments}}}"#
        ),
        format!(
            r#"{{"id":"fonc","kind":"etat_fonctionnaires","basis":"fonctionnaires","name":"Agents","share":"4","scope":null,"commitments":{commitments}}}"#
        ),
        format!(
            r#"{{"id":"al","kind":"action_logement","basis":"action_logement","name":"Action Logement","share":"15","scope":null,"overrides":[{{"typology":"T1","share":"18"}}],"commitments":{commitments}}}"#
        ),
        format!(
            r#"{{"id":"metro","kind":"epci","basis":"garantie_emprunt","name":"Métropole","share":"3","scope":null,"commitments":{commitments}}}"#
        ),
        format!(
            r#"{{"id":"dep","kind":"departement","basis":"financement","name":"Département","share":"2","scope":null,"commitments":{commitments}}}"#
        ),
    ];
    for (i, c) in communes.iter().take(COMMUNE_RESERVATAIRES).enumerate() {
        reservataires.push(format!(
            r#"{{"id":"commune-{i}","kind":"commune","basis":"garantie_emprunt","name":"Commune {c}","share":"12","scope":["{c}"],"territory":"{c}","commitments":{commitments}}}"#
        ));
    }
    for i in 0..OTHER_RESERVATAIRES {
        reservataires.push(format!(
            r#"{{"id":"autre-{i}","kind":"autre","basis":"autre","name":"Réservataire {i}","share":"0.{:02}","scope":null,"commitments":{commitments}}}"#,
            20 + i % 30
        ));
    }
    let mut json = String::new();
    let _ = write!(
        json,
        r#"{{"schema":1,"year":2027,"policy":"national","epci":{{"siren":"200046977","communes":[{}]}},"segments":[{}],"objectives":{{"q1_hors_qpv_min":"25","non_q1_qpv_min":"50","priority_min":"25"}},"reservataires":[{}],"non_reserve":{{"commitments":{commitments}}}}}"#,
        communes
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(","),
        segments.join(","),
        reservataires.join(",")
    );
    json
}
