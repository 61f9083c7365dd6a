//! The bailleur's dwellings: most in the central commune, about a quarter in QPV, with the
//! national typology mix (RULES §8).

use crate::domain::{Financing, Typology};

use super::Streams;
use super::csv_out::{CsvWriter, yes_no};
use super::rng::SplitMix64;
use super::territory::{CommuneSpec, Layout, QpvSpec};

const FIRST_CONSTRUCTION_YEAR: i32 = 1955;
/// QPV are mostly the grands ensembles of the post-war decades.
const LAST_QPV_CONSTRUCTION_YEAR: i32 = 1985;

/// National mix of typologies, in per mille (RULES §8, T5+ split 6 % / 2 %).
const TYPOLOGY_MIX: [(Typology, u32); 6] = [
    (Typology::T1, 70),
    (Typology::T2, 200),
    (Typology::T3, 370),
    (Typology::T4, 280),
    (Typology::T5, 60),
    (Typology::T6Plus, 20),
];

/// PLAI and PLS date from the 1990s; older dwellings are counted with the PLUS.
const OLD_FINANCING_MIX: [(Financing, u32); 3] = [
    (Financing::Plus, 88),
    (Financing::Pli, 4),
    (Financing::Autre, 8),
];
const RECENT_FINANCING_MIX: [(Financing, u32); 5] = [
    (Financing::Plus, 58),
    (Financing::Plai, 22),
    (Financing::Pls, 15),
    (Financing::Pli, 3),
    (Financing::Autre, 2),
];

/// Dwellings outside the flux by law (R.441-5 CCH) or kept for the bailleur's own needs.
const OUTSIDE_FLUX_SHARE: f64 = 0.01;
const OUTSIDE_FLUX_REASONS: [(&str, u32); 3] = [
    ("Réservation défense nationale (R.441-5)", 2),
    ("Réservation sécurité intérieure (R.441-5)", 1),
    ("Besoins propres du bailleur (logement de gardien)", 2),
];

pub struct Dwelling {
    pub rpls_id: String,
    pub commune: &'static CommuneSpec,
    pub qpv: Option<&'static QpvSpec>,
    pub typology: Typology,
    pub financing: Financing,
    pub individual: bool,
    pub construction_year: i32,
    pub outside_flux: Option<&'static str>,
}

/// The patrimoine of `layout`; `last_construction_year` is the latest RPLS year known for
/// year N. Its RPLS identifiers start with `streams.rpls_prefix`.
pub fn dwellings(
    layout: &'static Layout,
    streams: &Streams,
    last_construction_year: i32,
) -> Vec<Dwelling> {
    let mut rng = SplitMix64::new(streams.patrimoine);
    let mut all = Vec::with_capacity(layout.total_dwellings() as usize);
    for commune in &layout.communes {
        for qpv in locations(layout, commune) {
            let rpls_id = format!("{}{:06}", streams.rpls_prefix, all.len() + 1);
            all.push(dwelling(
                &mut rng,
                rpls_id,
                commune,
                qpv,
                last_construction_year,
            ));
        }
    }
    all
}

/// The location of each dwelling of `commune`: its QPV blocks first, then the rest.
fn locations(
    layout: &'static Layout,
    commune: &'static CommuneSpec,
) -> Vec<Option<&'static QpvSpec>> {
    let count = commune.dwellings;
    let mut places = Vec::with_capacity(count as usize);
    for qpv in layout.qpvs.iter().filter(|q| q.commune == commune.insee) {
        let in_qpv = (f64::from(count) * qpv.share).round() as usize;
        places.extend(std::iter::repeat_n(Some(qpv), in_qpv));
    }
    places.resize(count as usize, None);
    places
}

fn dwelling(
    rng: &mut SplitMix64,
    rpls_id: String,
    commune: &'static CommuneSpec,
    qpv: Option<&'static QpvSpec>,
    last_construction_year: i32,
) -> Dwelling {
    let (last_year, individual_share) = match qpv {
        Some(_) => (LAST_QPV_CONSTRUCTION_YEAR, 0.03),
        None => (last_construction_year, 0.26),
    };
    let construction_year = rng.between(FIRST_CONSTRUCTION_YEAR, last_year);
    let financing = if construction_year < 1990 {
        rng.weighted(&OLD_FINANCING_MIX)
    } else {
        rng.weighted(&RECENT_FINANCING_MIX)
    };
    Dwelling {
        rpls_id,
        commune,
        qpv,
        typology: rng.weighted(&TYPOLOGY_MIX),
        financing,
        individual: rng.chance(individual_share),
        construction_year,
        outside_flux: rng
            .chance(OUTSIDE_FLUX_SHARE)
            .then(|| rng.weighted(&OUTSIDE_FLUX_REASONS)),
    }
}

pub fn logements_csv(dwellings: &[Dwelling]) -> String {
    let mut csv = CsvWriter::new(&[
        "rpls_id",
        "commune",
        "qpv",
        "typologie",
        "financement",
        "individuel",
        "annee_construction",
        "hors_flux",
    ]);
    for d in dwellings {
        csv.row(&[
            &d.rpls_id,
            &d.commune.insee,
            d.qpv.map_or("", |q| q.code.as_str()),
            d.typology.label(),
            d.financing.label(),
            yes_no(d.individual),
            &d.construction_year.to_string(),
            d.outside_flux.unwrap_or(""),
        ]);
    }
    csv.finish()
}
