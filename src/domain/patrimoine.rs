//! The bailleur's patrimoine: dwellings, the état des lieux of stock reservations, the release
//! history and the exclusions planned for a year (DESIGN §4.0).

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::territory::string_newtype;
use super::text::fold_label;
use super::{Basis, InseeCode, InvalidValue, QpvCode, ReservataireId, Siren};

/// Identifier of a dwelling in the Répertoire des logements locatifs des bailleurs sociaux.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RplsId(String);
string_newtype!(RplsId);

impl FromStr for RplsId {
    type Err = InvalidValue;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let value = value.trim();
        let ok = !value.is_empty()
            && value.len() <= 32
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(value.to_ascii_uppercase()))
        } else {
            Err(InvalidValue::expected(
                "un identifiant RPLS de 1 à 32 lettres, chiffres, tirets ou soulignés",
            ))
        }
    }
}

macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident, $expected:literal, { $($variant:ident => $label:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The label used in files, the database and the API.
            pub const fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.label())
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                let folded = fold_label(value);
                $(
                    if folded == fold_label($label) $(|| folded == fold_label($alias))* {
                        return Ok($name::$variant);
                    }
                )+
                Err(InvalidValue::expected($expected))
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidValue;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                value.parse()
            }
        }

        impl From<$name> for &'static str {
            fn from(value: $name) -> &'static str {
                value.label()
            }
        }

        // Described in the OpenAPI document as the labels it is serialized as.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some($name::ALL.iter().map(|v| v.label())))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}
pub(crate) use word_enum;

/// Typology of a dwelling by number of main rooms. `T6+` gathers six rooms and more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum Typology {
    T1,
    T2,
    T3,
    T4,
    T5,
    T6Plus,
}

impl Typology {
    pub const ALL: &'static [Typology] = &[
        Typology::T1,
        Typology::T2,
        Typology::T3,
        Typology::T4,
        Typology::T5,
        Typology::T6Plus,
    ];

    pub const fn label(self) -> &'static str {
        match self {
            Typology::T1 => "T1",
            Typology::T2 => "T2",
            Typology::T3 => "T3",
            Typology::T4 => "T4",
            Typology::T5 => "T5",
            Typology::T6Plus => "T6+",
        }
    }

    fn from_rooms(rooms: u32) -> Option<Self> {
        Some(match rooms {
            1 => Typology::T1,
            2 => Typology::T2,
            3 => Typology::T3,
            4 => Typology::T4,
            5 => Typology::T5,
            6..=20 => Typology::T6Plus,
            _ => return None,
        })
    }
}

impl fmt::Display for Typology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for Typology {
    type Err = InvalidValue;

    /// Accepts `T3`, `t3`, `3` (a number of rooms, as in RPLS), `T1bis`, `T6+`, `T7`.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let folded = fold_label(value);
        let rest = folded.strip_prefix('t').unwrap_or(&folded);
        let rest = rest
            .strip_suffix("bis")
            .or_else(|| rest.strip_suffix('+'))
            .unwrap_or(rest);
        if folded == "studio" {
            return Ok(Typology::T1);
        }
        rest.parse::<u32>()
            .ok()
            .and_then(Typology::from_rooms)
            .ok_or(InvalidValue::expected(
                "une typologie T1, T2, T3, T4, T5 ou T6+ (ou un nombre de pièces)",
            ))
    }
}

impl TryFrom<String> for Typology {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Typology> for &'static str {
    fn from(value: Typology) -> &'static str {
        value.label()
    }
}

word_enum!(
    /// Financing of the dwelling's construction, which sets its rent and income ceilings.
    Financing, "un financement PLAI, PLUS, PLS, PLI ou autre", {
        Plai => "PLAI" | "PLA-I" | "PLA_I",
        Plus => "PLUS" | "PLA",
        Pls => "PLS",
        Pli => "PLI",
        Autre => "autre" | "autres",
    }
);

word_enum!(
    /// Categories of dwellings taken out of the year's flux (R.441-5 CCH).
    ExclusionCategory,
    "une catégorie mutation, npru, orcod, habitat_indigne, vente ou demolition", {
        Mutation => "mutation" | "mutations",
        Npru => "npru" | "anru",
        Orcod => "orcod",
        HabitatIndigne => "habitat_indigne",
        Vente => "vente" | "ventes",
        Demolition => "demolition" | "demolitions",
    }
);

impl ExclusionCategory {
    /// French label for reports.
    pub const fn description(self) -> &'static str {
        match self {
            ExclusionCategory::Mutation => "mutations internes",
            ExclusionCategory::Npru => "relogements NPRU (ANRU)",
            ExclusionCategory::Orcod => "relogements ORCOD",
            ExclusionCategory::HabitatIndigne => "relogements habitat indigne",
            ExclusionCategory::Vente => "ventes HLM",
            ExclusionCategory::Demolition => "démolitions",
        }
    }
}

/// One dwelling of the patrimoine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Logement {
    pub rpls_id: RplsId,
    pub bailleur: Siren,
    pub commune: InseeCode,
    pub qpv: Option<QpvCode>,
    pub typology: Typology,
    pub financing: Financing,
    pub individual: bool,
    pub construction_year: i32,
    /// Why the dwelling is outside the flux by law (defence and internal-security programmes,
    /// the bailleur's statutory needs), if it is.
    pub outside_flux: Option<String>,
}

/// One line of the état des lieux: a dwelling reserved in stock to a réservataire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockReservation {
    pub rpls_id: RplsId,
    pub reservataire: ReservataireId,
    pub basis: Basis,
    pub end_date: Option<NaiveDate>,
}

/// One release (libération) of a dwelling: the tenant left and the dwelling was re-let.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub rpls_id: RplsId,
    pub date: NaiveDate,
}

/// Dwellings planned to leave the flux of `year` for one category, over the segments matching
/// the optional filters (`None` means all).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedExclusion {
    pub bailleur: Siren,
    pub year: i32,
    pub category: ExclusionCategory,
    pub commune: Option<InseeCode>,
    pub typology: Option<Typology>,
    pub qpv: Option<bool>,
    pub count: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typologies_as_spreadsheets_write_them() {
        assert_eq!("T3".parse(), Ok(Typology::T3));
        assert_eq!("t1bis".parse(), Ok(Typology::T1));
        assert_eq!("4".parse(), Ok(Typology::T4));
        assert_eq!("T6+".parse(), Ok(Typology::T6Plus));
        assert_eq!("T8".parse(), Ok(Typology::T6Plus));
        assert_eq!("Studio".parse(), Ok(Typology::T1));
        assert!("T0".parse::<Typology>().is_err());
        assert!("grand".parse::<Typology>().is_err());
    }

    #[test]
    fn financings_and_categories_with_aliases() {
        assert_eq!("pla-i".parse(), Ok(Financing::Plai));
        assert_eq!("Autre".parse(), Ok(Financing::Autre));
        assert!("PLX".parse::<Financing>().is_err());
        assert_eq!(
            "Habitat indigne".parse(),
            Ok(ExclusionCategory::HabitatIndigne)
        );
        assert_eq!("Démolition".parse(), Ok(ExclusionCategory::Demolition));
        for category in ExclusionCategory::ALL {
            assert_eq!(category.label().parse(), Ok(*category));
        }
    }

    #[test]
    fn rpls_ids_are_normalised() {
        assert_eq!("  ab-12 ".parse::<RplsId>().unwrap().as_str(), "AB-12");
        assert!("".parse::<RplsId>().is_err());
        assert!("12 34".parse::<RplsId>().is_err());
    }
}
