//! The registries of the demo territory: one fictional metropolitan EPCI of the Rhône, its
//! communes and quartiers prioritaires, the bailleur and the réservataires.

use crate::domain::territory::luhn_valid;
use crate::domain::{Basis, ReservataireKind, Siren};

use super::csv_out::{CsvWriter, yes_no};

pub const EPCI_NAME: &str = "Métropole du Val de Saône (démonstration)";
pub const BAILLEUR_NAME: &str = "Val de Saône Habitat OPH (démonstration)";
const CIA_CONCLUDED_ON: &str = "2021-06-29";
pub const DEPARTMENT: &str = "69";

/// A commune, its share of the bailleur's patrimoine (per mille) and its yearly rotation rate
/// outside QPV.
pub struct CommuneSpec {
    pub insee: &'static str,
    pub name: &'static str,
    pub permille: u32,
    pub rotation: f64,
}

const fn commune(
    insee: &'static str,
    name: &'static str,
    permille: u32,
    rotation: f64,
) -> CommuneSpec {
    CommuneSpec {
        insee,
        name,
        permille,
        rotation,
    }
}

/// Codes 698xx are unused by INSEE, so the demo cannot be mistaken for a real commune. The
/// central commune turns over least, as in tight urban markets (RULES §8).
pub static COMMUNES: [CommuneSpec; 20] = [
    commune("69801", "Valmont-sur-Saône", 450, 0.065),
    commune("69802", "Bellecombe-les-Vignes", 100, 0.085),
    commune("69803", "Saint-Just-d'Aval", 45, 0.09),
    commune("69804", "Montferrand-le-Haut", 50, 0.08),
    commune("69805", "Les Essarts-sur-Saône", 35, 0.075),
    commune("69806", "Rivolay", 35, 0.095),
    commune("69807", "Champagneux-la-Plaine", 30, 0.1),
    commune("69808", "Fontaines-des-Monts", 30, 0.07),
    commune("69809", "Saint-Roch-en-Dombes", 28, 0.105),
    commune("69810", "Neyrac", 25, 0.11),
    commune("69811", "Le Plessis-Vaugris", 25, 0.08),
    commune("69812", "Chasselay-les-Bois", 22, 0.09),
    commune("69813", "Sainte-Agathe-du-Val", 20, 0.1),
    commune("69814", "Brignolles-sur-Azergues", 20, 0.085),
    commune("69815", "Marcilly-la-Forêt", 18, 0.11),
    commune("69816", "Vernay-le-Pont", 16, 0.095),
    commune("69817", "Saint-Cyr-des-Prés", 15, 0.075),
    commune("69818", "Albigny-la-Croix", 14, 0.1),
    commune("69819", "Pommiers-en-Val", 12, 0.105),
    commune("69820", "Curis-les-Sources", 10, 0.09),
];

/// A quartier prioritaire and the share of its commune's patrimoine that lies in it.
pub struct QpvSpec {
    pub code: &'static str,
    pub name: &'static str,
    pub commune: &'static str,
    pub share: f64,
}

pub static QPVS: [QpvSpec; 3] = [
    QpvSpec {
        code: "QN06981A",
        name: "Les Terrasses de Valmont",
        commune: "69801",
        share: 0.30,
    },
    QpvSpec {
        code: "QN06981B",
        name: "Le Grand Pré",
        commune: "69801",
        share: 0.20,
    },
    QpvSpec {
        code: "QN06982A",
        name: "La Source",
        commune: "69802",
        share: 0.40,
    },
];

/// The communes holding rights on the bailleur's stock, and their basis.
const COMMUNE_RESERVATAIRES: [(&str, Basis); 5] = [
    ("69801", Basis::GarantieEmprunt),
    ("69802", Basis::GarantieEmprunt),
    ("69803", Basis::ApportTerrain),
    ("69804", Basis::GarantieEmprunt),
    ("69805", Basis::GarantieEmprunt),
];

/// Share of the dwellings it may hold that each réservataire holds in stock; a commune only
/// holds dwellings on its own territory, so its share applies to those.
const COMMUNE_STOCK_SHARE: f64 = 0.15;

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

pub fn commune_spec(insee: &str) -> &'static CommuneSpec {
    COMMUNES
        .iter()
        .find(|c| c.insee == insee)
        .expect("the demo tables name known communes")
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

pub fn reservataires(epci: &Siren) -> Vec<ReservataireSpec> {
    let spec = |id: &str, name: &str, kind, basis, territory: &str, stock_share| ReservataireSpec {
        id: id.to_owned(),
        name: name.to_owned(),
        kind,
        basis,
        territory: territory.to_owned(),
        stock_share,
    };
    let mut all = vec![
        spec(
            "etat",
            "État – contingent préfectoral",
            ReservataireKind::Etat,
            Basis::ContingentPrefectoral,
            DEPARTMENT,
            0.25,
        ),
        spec(
            "etat-fonctionnaires",
            "État – agents civils et militaires",
            ReservataireKind::EtatFonctionnaires,
            Basis::Fonctionnaires,
            DEPARTMENT,
            0.03,
        ),
    ];
    for (insee, basis) in COMMUNE_RESERVATAIRES {
        let name = format!("Commune de {}", commune_spec(insee).name);
        let id = format!("commune-{insee}");
        all.push(spec(
            &id,
            &name,
            ReservataireKind::Commune,
            basis,
            insee,
            COMMUNE_STOCK_SHARE,
        ));
    }
    all.push(spec(
        "metropole-val-de-saone",
        EPCI_NAME,
        ReservataireKind::Epci,
        Basis::GarantieEmprunt,
        epci.as_str(),
        0.03,
    ));
    all.push(spec(
        "action-logement",
        "Action Logement Services",
        ReservataireKind::ActionLogement,
        Basis::ActionLogement,
        "",
        0.20,
    ));
    all.push(spec(
        "departement-69",
        "Département du Rhône",
        ReservataireKind::Departement,
        Basis::Financement,
        DEPARTMENT,
        0.02,
    ));
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

pub fn communes_csv(epci: &Siren) -> String {
    let mut csv = CsvWriter::new(&["commune", "nom", "epci"]);
    for commune in &COMMUNES {
        csv.row(&[commune.insee, commune.name, epci.as_str()]);
    }
    csv.finish()
}

pub fn qpv_csv() -> String {
    let mut csv = CsvWriter::new(&["code", "nom", "commune"]);
    for qpv in &QPVS {
        csv.row(&[qpv.code, qpv.name, qpv.commune]);
    }
    csv.finish()
}

pub fn bailleurs_csv(bailleur: &Siren) -> String {
    let mut csv = CsvWriter::new(&["siren", "nom"]);
    csv.row(&[bailleur.as_str(), BAILLEUR_NAME]);
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
