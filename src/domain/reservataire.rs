//! Réservataires and the basis of their rights (R.441-5 and R.441-5-2 CCH).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::InvalidValue;
use super::patrimoine::word_enum;
use super::territory::string_newtype;
use super::text::fold_label;

/// Stable identifier of a réservataire within the platform (`etat`, `commune-69123`,
/// `action-logement`): lower-case letters, digits and hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReservataireId(String);
string_newtype!(ReservataireId);

impl FromStr for ReservataireId {
    type Err = InvalidValue;

    /// Folds case and accents, so `« Action Logement »` becomes `action-logement`.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let id = fold_label(value).replace('_', "-");
        if id.is_empty() || id.len() > 64 || id.contains('+') {
            Err(InvalidValue::expected(
                "un identifiant de réservataire (lettres, chiffres et tirets, 64 au plus)",
            ))
        } else {
            Ok(Self(id))
        }
    }
}

word_enum!(
    /// The kind of réservataire, which decides the caps that apply to it (DESIGN §4.4).
    ReservataireKind,
    "un type etat, etat_fonctionnaires, commune, epci, action_logement, departement, region ou autre", {
        Etat => "etat" | "prefet" | "prefecture",
        EtatFonctionnaires => "etat_fonctionnaires" | "fonctionnaires",
        Commune => "commune",
        Epci => "epci",
        ActionLogement => "action_logement" | "als",
        Departement => "departement",
        Region => "region",
        Autre => "autre",
    }
);

word_enum!(
    /// Basis of a réservataire's rights: only loan guarantees count in the 20 % cap of the
    /// collectivités (R.441-5-2 CCH).
    Basis,
    "un fondement garantie_emprunt, apport_terrain, financement, contingent_prefectoral, fonctionnaires, action_logement ou autre", {
        GarantieEmprunt => "garantie_emprunt" | "garantie" | "garantie_d_emprunt",
        ApportTerrain => "apport_terrain" | "terrain",
        Financement => "financement" | "subvention",
        ContingentPrefectoral => "contingent_prefectoral" | "contingent",
        Fonctionnaires => "fonctionnaires",
        ActionLogement => "action_logement" | "peec",
        Autre => "autre",
    }
);

/// A réservataire known to the platform. `territory` is the INSEE code of a commune, the SIREN
/// of an EPCI or the code of a département, for the réservataires whose rights are territorial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reservataire {
    pub id: ReservataireId,
    pub name: String,
    pub kind: ReservataireKind,
    pub basis: Basis,
    pub territory: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_folded() {
        assert_eq!(
            "Action Logement"
                .parse::<ReservataireId>()
                .unwrap()
                .as_str(),
            "action-logement"
        );
        assert_eq!(
            "Commune 69123".parse::<ReservataireId>().unwrap().as_str(),
            "commune-69123"
        );
        assert!("  ".parse::<ReservataireId>().is_err());
    }

    #[test]
    fn kinds_and_bases() {
        assert_eq!("Préfet".parse(), Ok(ReservataireKind::Etat));
        assert_eq!("Département".parse(), Ok(ReservataireKind::Departement));
        assert_eq!("Garantie d'emprunt".parse(), Ok(Basis::GarantieEmprunt));
        assert!("banque".parse::<Basis>().is_err());
    }
}
