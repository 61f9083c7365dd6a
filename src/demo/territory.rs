//! The registries of the demo territory: one fictional metropolitan EPCI of the Rhône, its
//! communes and quartiers prioritaires, the bailleur and the réservataires, at the size of the
//! demonstration or at the largest real size.

use std::sync::OnceLock;

use crate::domain::territory::luhn_valid;
use crate::domain::{Basis, ReservataireKind, Siren};

use super::DemoSize;
use super::csv_out::{CsvWriter, yes_no};
use super::rng::SplitMix64;

pub const EPCI_NAME: &str = "Métropole du Val de Saône (démonstration)";
pub const BAILLEUR_NAME: &str = "Val de Saône Habitat OPH (démonstration)";
/// The second bailleur of the demo, an ESH about a fifth of the first one's size. Its name sorts
/// after the first one's, so that lists by name keep the first bailleur first.
pub const SECOND_BAILLEUR_NAME: &str = "Villages du Rhône Habitat ESH (démonstration)";
const CIA_CONCLUDED_ON: &str = "2021-06-29";
pub const DEPARTMENT: &str = "69";

/// A commune, its number of the bailleur's dwellings and its yearly rotation rate outside QPV.
pub struct CommuneSpec {
    pub insee: String,
    pub name: String,
    pub dwellings: u32,
    pub rotation: f64,
}

/// A quartier prioritaire and the share of its commune's patrimoine that lies in it.
pub struct QpvSpec {
    pub code: String,
    pub name: String,
    pub commune: String,
    pub share: f64,
}

/// The territory of one size: its communes (the central one first), QPV and the communes that
/// hold rights on the bailleur's stock.
pub struct Layout {
    pub size: DemoSize,
    pub communes: Vec<CommuneSpec>,
    pub qpvs: Vec<QpvSpec>,
    commune_reservataires: Vec<(String, Basis)>,
    /// The shares of the bailleur's stock each kind of réservataire holds.
    shares: &'static StockShares,
    /// Share of the dwellings it may hold that each commune holds in stock; a commune only
    /// holds dwellings on its own territory, so its share applies to those.
    commune_share: f64,
}

impl Layout {
    pub fn total_dwellings(&self) -> u32 {
        self.communes.iter().map(|c| c.dwellings).sum()
    }

    pub fn commune(&self, insee: &str) -> Option<&CommuneSpec> {
        self.communes.iter().find(|c| c.insee == insee)
    }
}

/// The layout of `size`, built once: the dwellings refer to its communes and QPV.
pub fn layout(size: DemoSize) -> &'static Layout {
    static DEMO: OnceLock<Layout> = OnceLock::new();
    static MAXIMAL: OnceLock<Layout> = OnceLock::new();
    match size {
        DemoSize::Demo => DEMO.get_or_init(demo_layout),
        DemoSize::Maximal => MAXIMAL.get_or_init(maximal_layout),
    }
}

/// The patrimoine of the demo's second bailleur: a few of the demo EPCI's communes, QPV
/// included. Built once, like [`layout`].
pub fn second_layout() -> &'static Layout {
    static SECOND: OnceLock<Layout> = OnceLock::new();
    SECOND.get_or_init(second_bailleur_layout)
}

/// The demo's 8,000 dwellings, shared by commune in per mille (the shares add up to 1,000).
const DEMO_DWELLINGS: u32 = 8_000;

/// Codes 698xx are unused by INSEE, so the demo cannot be mistaken for a real commune. The
/// central commune turns over least, as in tight urban markets (RULES §8). Per-mille share of
/// the patrimoine, then rotation.
const DEMO_COMMUNES: [(&str, &str, u32, f64); 20] = [
    ("69801", "Valmont-sur-Saône", 450, 0.065),
    ("69802", "Bellecombe-les-Vignes", 100, 0.085),
    ("69803", "Saint-Just-d'Aval", 45, 0.09),
    ("69804", "Montferrand-le-Haut", 50, 0.08),
    ("69805", "Les Essarts-sur-Saône", 35, 0.075),
    ("69806", "Rivolay", 35, 0.095),
    ("69807", "Champagneux-la-Plaine", 30, 0.1),
    ("69808", "Fontaines-des-Monts", 30, 0.07),
    ("69809", "Saint-Roch-en-Dombes", 28, 0.105),
    ("69810", "Neyrac", 25, 0.11),
    ("69811", "Le Plessis-Vaugris", 25, 0.08),
    ("69812", "Chasselay-les-Bois", 22, 0.09),
    ("69813", "Sainte-Agathe-du-Val", 20, 0.1),
    ("69814", "Brignolles-sur-Azergues", 20, 0.085),
    ("69815", "Marcilly-la-Forêt", 18, 0.11),
    ("69816", "Vernay-le-Pont", 16, 0.095),
    ("69817", "Saint-Cyr-des-Prés", 15, 0.075),
    ("69818", "Albigny-la-Croix", 14, 0.1),
    ("69819", "Pommiers-en-Val", 12, 0.105),
    ("69820", "Curis-les-Sources", 10, 0.09),
];

/// Code, name, commune and share of the commune's patrimoine in the QPV.
const DEMO_QPVS: [(&str, &str, &str, f64); 3] = [
    ("QN06981A", "Les Terrasses de Valmont", "69801", 0.30),
    ("QN06981B", "Le Grand Pré", "69801", 0.20),
    ("QN06982A", "La Source", "69802", 0.40),
];

/// The communes holding rights on the bailleur's stock in the demo, and their basis.
const DEMO_COMMUNE_RESERVATAIRES: [(&str, Basis); 5] = [
    ("69801", Basis::GarantieEmprunt),
    ("69802", Basis::GarantieEmprunt),
    ("69803", Basis::ApportTerrain),
    ("69804", Basis::GarantieEmprunt),
    ("69805", Basis::GarantieEmprunt),
];

fn demo_layout() -> Layout {
    Layout {
        size: DemoSize::Demo,
        communes: DEMO_COMMUNES
            .iter()
            .map(|&(insee, name, permille, rotation)| CommuneSpec {
                insee: insee.into(),
                name: name.into(),
                dwellings: permille * DEMO_DWELLINGS / 1_000,
                rotation,
            })
            .collect(),
        qpvs: DEMO_QPVS
            .iter()
            .map(|&(code, name, commune, share)| QpvSpec {
                code: code.into(),
                name: name.into(),
                commune: commune.into(),
                share,
            })
            .collect(),
        commune_reservataires: DEMO_COMMUNE_RESERVATAIRES
            .iter()
            .map(|&(insee, basis)| (insee.to_owned(), basis))
            .collect(),
        shares: &DEMO_SHARES,
        commune_share: 0.15,
    }
}

/// The second bailleur's 1,600 dwellings (a fifth of the first one's 8,000), by commune:
/// INSEE code and number of dwellings. Its rotation is the commune's, a little higher (a
/// younger patrimoine of smaller programmes).
const SECOND_COMMUNES: [(&str, u32); 7] = [
    ("69801", 640),
    ("69802", 320),
    ("69806", 180),
    ("69803", 160),
    ("69809", 120),
    ("69813", 100),
    ("69816", 80),
];
const SECOND_ROTATION_BONUS: f64 = 0.005;

/// Its blocks in the QPV of Valmont and Bellecombe: code and share of the commune's dwellings.
const SECOND_QPVS: [(&str, f64); 3] = [("QN06981A", 0.20), ("QN06981B", 0.10), ("QN06982A", 0.35)];

/// An ESH: Action Logement holds more of its stock than of the OPH's, the département less.
const SECOND_SHARES: StockShares = StockShares {
    etat: 0.25,
    fonctionnaires: 0.02,
    epci: 0.02,
    action_logement: 0.28,
    departement: 0.01,
};

fn second_bailleur_layout() -> Layout {
    let demo = layout(DemoSize::Demo);
    let communes = SECOND_COMMUNES
        .iter()
        .map(|&(insee, dwellings)| {
            let commune = demo
                .commune(insee)
                .expect("the second bailleur's communes are the demo's");
            CommuneSpec {
                insee: insee.into(),
                name: commune.name.clone(),
                dwellings,
                rotation: commune.rotation + SECOND_ROTATION_BONUS,
            }
        })
        .collect();
    let qpvs = SECOND_QPVS
        .iter()
        .map(|&(code, share)| {
            let qpv = demo
                .qpvs
                .iter()
                .find(|q| q.code == code)
                .expect("the second bailleur's QPV are the demo's");
            QpvSpec {
                code: code.into(),
                name: qpv.name.clone(),
                commune: qpv.commune.clone(),
                share,
            }
        })
        .collect();
    // The communes holding rights on the first bailleur's stock hold some on the second's too,
    // where it has dwellings, on the same basis (reservataires.csv names one per réservataire).
    let commune_reservataires = demo
        .commune_reservataires
        .iter()
        .filter(|(insee, _)| SECOND_COMMUNES.iter().any(|(c, _)| c == insee))
        .cloned()
        .collect();
    Layout {
        size: DemoSize::Demo,
        communes,
        qpvs,
        commune_reservataires,
        shares: &SECOND_SHARES,
        commune_share: 0.12,
    }
}

/// The largest real case (DESIGN §6): a bailleur of 120,000 dwellings in a metropolis of 110
/// communes, each of which holds rights on its own territory.
const MAXIMAL_DWELLINGS: u32 = 120_000;
const MAXIMAL_COMMUNES: usize = 110;
const MAXIMAL_SEED: u64 = 0x5EED_0000_0000_0010;
/// Names of the generated communes: each prefix with each suffix (10 × 9 = 90).
const NAME_PREFIXES: [&str; 10] = [
    "Saint-Didier",
    "Villeneuve",
    "Montagnieu",
    "Saint-Germain",
    "Chavanay",
    "Beauregard",
    "Sainte-Foy",
    "Fontenay",
    "Châtillon",
    "Belleroche",
];
const NAME_SUFFIXES: [&str; 9] = [
    "-sur-Saône",
    "-les-Monts",
    "-en-Dombes",
    "-la-Rivière",
    "-d'Azergues",
    "-le-Bas",
    "-du-Lac",
    "-aux-Bois",
    "-des-Vignes",
];

/// An unused INSEE code for the `index`-th commune: 69801…69899, then 69901….
fn maximal_insee(index: usize) -> String {
    if index < 99 {
        format!("{}", 69_801 + index)
    } else {
        format!("{}", 69_901 + index - 99)
    }
}

fn maximal_layout() -> Layout {
    let mut rng = SplitMix64::new(MAXIMAL_SEED);
    // Sizes fall off with rank, as in a metropolis: the centre holds about an eighth, the
    // smallest commune a few hundred dwellings.
    let weights: Vec<f64> = (0..MAXIMAL_COMMUNES)
        .map(|i| 1.0 / ((i + 1) as f64).powf(0.8))
        .collect();
    let dwellings = largest_remainder(&weights, MAXIMAL_DWELLINGS);
    let mut communes = Vec::with_capacity(MAXIMAL_COMMUNES);
    for (i, count) in dwellings.into_iter().enumerate() {
        let (name, rotation) = match DEMO_COMMUNES.get(i) {
            Some(&(_, name, _, rotation)) => (name.to_owned(), rotation),
            None => {
                let k = i - DEMO_COMMUNES.len();
                let name = format!(
                    "{}{}",
                    NAME_PREFIXES[k / NAME_SUFFIXES.len() % NAME_PREFIXES.len()],
                    NAME_SUFFIXES[k % NAME_SUFFIXES.len()]
                );
                (name, 0.06 + 0.05 * rng.unit())
            }
        };
        communes.push(CommuneSpec {
            insee: maximal_insee(i),
            name,
            dwellings: count,
            rotation,
        });
    }
    let mut qpvs: Vec<QpvSpec> = DEMO_QPVS
        .iter()
        .map(|&(code, name, commune, share)| QpvSpec {
            code: code.into(),
            name: name.into(),
            commune: commune.into(),
            share,
        })
        .collect();
    // One quartier prioritaire in every third of the other communes.
    for commune in communes.iter().skip(2).step_by(3) {
        qpvs.push(QpvSpec {
            code: format!("QN{}A", commune.insee),
            name: format!("Quartier prioritaire de {}", commune.name),
            commune: commune.insee.clone(),
            share: 0.15 + 0.2 * rng.unit(),
        });
    }
    // Every commune guaranteed loans or gave land for the bailleur's programmes.
    let commune_reservataires = communes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let basis = if i % 7 == 2 {
                Basis::ApportTerrain
            } else {
                Basis::GarantieEmprunt
            };
            (c.insee.clone(), basis)
        })
        .collect();
    Layout {
        size: DemoSize::Maximal,
        communes,
        qpvs,
        commune_reservataires,
        shares: &MAXIMAL_SHARES,
        commune_share: 0.085,
    }
}

/// `total` shared in proportion to `weights`, whole numbers adding up exactly (largest
/// remainder, ties to the first).
fn largest_remainder(weights: &[f64], total: u32) -> Vec<u32> {
    let sum: f64 = weights.iter().sum();
    let quotas: Vec<f64> = weights.iter().map(|w| w / sum * f64::from(total)).collect();
    let mut shares: Vec<u32> = quotas.iter().map(|q| q.floor() as u32).collect();
    let missing = total - shares.iter().sum::<u32>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (quotas[a] - quotas[a].floor(), quotas[b] - quotas[b].floor());
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    for &i in order.iter().take(missing as usize) {
        shares[i] += 1;
    }
    shares
}

pub struct ReservataireSpec {
    pub id: String,
    pub name: String,
    pub kind: ReservataireKind,
    pub basis: Basis,
    pub territory: String,
    pub stock_share: f64,
}

impl ReservataireSpec {
    /// A commune's rights lie on its own territory only (R.441-5 CCH).
    pub fn may_hold(&self, commune: &str) -> bool {
        self.kind != ReservataireKind::Commune || self.territory == commune
    }
}

/// A SIREN made of `body` (8 digits) and its Luhn key.
fn siren_with_key(body: &str) -> Siren {
    (0..10)
        .map(|key| format!("{body}{key}"))
        .find(|candidate| luhn_valid(candidate))
        .and_then(|siren| siren.parse().ok())
        .expect("one of ten keys satisfies the Luhn check")
}

pub fn epci_siren() -> Siren {
    siren_with_key("20099980")
}

pub fn bailleur_siren() -> Siren {
    siren_with_key("27699980")
}

/// An ESH is a société anonyme: its SIREN does not start with the 2 of public bodies.
pub fn second_bailleur_siren() -> Siren {
    siren_with_key("57299980")
}

/// Shares of the stock held by the State, its agents, the EPCI, Action Logement and the
/// département; the maximal size also has the région and other organisations.
struct StockShares {
    etat: f64,
    fonctionnaires: f64,
    epci: f64,
    action_logement: f64,
    departement: f64,
}

const DEMO_SHARES: StockShares = StockShares {
    etat: 0.25,
    fonctionnaires: 0.03,
    epci: 0.03,
    action_logement: 0.20,
    departement: 0.02,
};

/// About 47,000 rights on 120,000 dwellings, as in the largest real état des lieux.
const MAXIMAL_SHARES: StockShares = StockShares {
    etat: 0.12,
    fonctionnaires: 0.02,
    epci: 0.02,
    action_logement: 0.10,
    departement: 0.01,
};
const MAXIMAL_REGION_SHARE: f64 = 0.005;
/// The other réservataires of the largest convention (hospitals, employers, collecting
/// bodies), enough to make 150 parties in all.
const MAXIMAL_PARTIES: usize = 150;
const MAXIMAL_OTHER_SHARE: f64 = 0.001;

pub fn reservataires(layout: &Layout, epci: &Siren) -> Vec<ReservataireSpec> {
    let spec = |id: &str, name: &str, kind, basis, territory: &str, stock_share| ReservataireSpec {
        id: id.to_owned(),
        name: name.to_owned(),
        kind,
        basis,
        territory: territory.to_owned(),
        stock_share,
    };
    let shares = layout.shares;
    let mut all = vec![
        spec(
            "etat",
            "État – contingent préfectoral",
            ReservataireKind::Etat,
            Basis::ContingentPrefectoral,
            DEPARTMENT,
            shares.etat,
        ),
        spec(
            "etat-fonctionnaires",
            "État – agents civils et militaires",
            ReservataireKind::EtatFonctionnaires,
            Basis::Fonctionnaires,
            DEPARTMENT,
            shares.fonctionnaires,
        ),
    ];
    for (insee, basis) in &layout.commune_reservataires {
        let commune = layout
            .commune(insee)
            .expect("the layout's réservataires are its communes");
        let name = format!("Commune de {}", commune.name);
        let id = format!("commune-{insee}");
        all.push(spec(
            &id,
            &name,
            ReservataireKind::Commune,
            *basis,
            insee,
            layout.commune_share,
        ));
    }
    all.push(spec(
        "metropole-val-de-saone",
        EPCI_NAME,
        ReservataireKind::Epci,
        Basis::GarantieEmprunt,
        epci.as_str(),
        shares.epci,
    ));
    all.push(spec(
        "action-logement",
        "Action Logement Services",
        ReservataireKind::ActionLogement,
        Basis::ActionLogement,
        "",
        shares.action_logement,
    ));
    all.push(spec(
        "departement-69",
        "Département du Rhône",
        ReservataireKind::Departement,
        Basis::Financement,
        DEPARTMENT,
        shares.departement,
    ));
    if layout.size == DemoSize::Maximal {
        all.push(spec(
            "region-auvergne-rhone-alpes",
            "Région Auvergne-Rhône-Alpes",
            ReservataireKind::Region,
            Basis::Financement,
            "84",
            MAXIMAL_REGION_SHARE,
        ));
        for k in 1..=MAXIMAL_PARTIES.saturating_sub(all.len()) {
            all.push(spec(
                &format!("organisme-{k:02}"),
                &format!("Organisme réservataire n° {k} (démonstration)"),
                ReservataireKind::Autre,
                if k % 2 == 0 {
                    Basis::Financement
                } else {
                    Basis::Autre
                },
                "",
                MAXIMAL_OTHER_SHARE,
            ));
        }
    }
    all
}

pub fn epci_csv(epci: &Siren) -> String {
    let mut csv = CsvWriter::new(&[
        "siren",
        "nom",
        "plh_obligatoire",
        "competence_habitat",
        "date_cia",
    ]);
    csv.row(&[
        epci.as_str(),
        EPCI_NAME,
        yes_no(true),
        yes_no(true),
        CIA_CONCLUDED_ON,
    ]);
    csv.finish()
}

pub fn communes_csv(layout: &Layout, epci: &Siren) -> String {
    let mut csv = CsvWriter::new(&["commune", "nom", "epci"]);
    for commune in &layout.communes {
        csv.row(&[&commune.insee, &commune.name, epci.as_str()]);
    }
    csv.finish()
}

pub fn qpv_csv(layout: &Layout) -> String {
    let mut csv = CsvWriter::new(&["code", "nom", "commune"]);
    for qpv in &layout.qpvs {
        csv.row(&[&qpv.code, &qpv.name, &qpv.commune]);
    }
    csv.finish()
}

/// The bailleurs, as (SIREN, name).
pub fn bailleurs_csv(bailleurs: &[(&Siren, &str)]) -> String {
    let mut csv = CsvWriter::new(&["siren", "nom"]);
    for (siren, name) in bailleurs {
        csv.row(&[siren.as_str(), name]);
    }
    csv.finish()
}

pub fn reservataires_csv(reservataires: &[ReservataireSpec]) -> String {
    let mut csv = CsvWriter::new(&["identifiant", "nom", "type", "fondement", "territoire"]);
    for r in reservataires {
        csv.row(&[
            &r.id,
            &r.name,
            r.kind.label(),
            r.basis.label(),
            &r.territory,
        ]);
    }
    csv.finish()
}
