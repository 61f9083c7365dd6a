//! The territory: EPCI, communes, quartiers prioritaires (QPV) and bailleurs.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::InvalidValue;

macro_rules! string_newtype {
    ($name:ident) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidValue;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                value.parse()
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        // Described in the OpenAPI document as the string it is serialized as.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                <String as utoipa::PartialSchema>::schema()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}
pub(crate) use string_newtype;

/// SIREN number of a legal person (EPCI, bailleur): nine digits with a Luhn check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Siren(String);
string_newtype!(Siren);

impl FromStr for Siren {
    type Err = InvalidValue;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        const EXPECTED: &str = "un numéro SIREN de 9 chiffres valide (clé de Luhn)";
        let digits: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() != 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidValue::expected(EXPECTED));
        }
        // La Poste's SIREN is the one published exception to the Luhn key.
        if digits == "356000000" || luhn_valid(&digits) {
            Ok(Self(digits))
        } else {
            Err(InvalidValue::expected(EXPECTED))
        }
    }
}

/// Luhn check as INSEE applies it to SIREN numbers.
pub fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// INSEE code of a commune: five characters, the département (two digits, `2A` or `2B` for
/// Corsica) followed by three digits (`69123` for Lyon, `2A004` for Ajaccio).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InseeCode(String);
string_newtype!(InseeCode);

impl FromStr for InseeCode {
    type Err = InvalidValue;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let value = value.trim().to_ascii_uppercase();
        let b = value.as_bytes();
        let department_ok = b.len() == 5
            && ((b[0].is_ascii_digit() && b[1].is_ascii_digit())
                || (b[0] == b'2' && (b[1] == b'A' || b[1] == b'B')));
        if department_ok && b[2..].iter().all(u8::is_ascii_digit) {
            Ok(Self(value))
        } else {
            Err(InvalidValue::expected(
                "un code INSEE de commune à 5 caractères (ex. 69123, 2A004)",
            ))
        }
    }
}

impl InseeCode {
    /// The département part of the code (`69`, `2A`, or `974` overseas).
    pub fn department(&self) -> &str {
        if self.0.starts_with("97") || self.0.starts_with("98") {
            &self.0[..3]
        } else {
            &self.0[..2]
        }
    }
}

/// Code of a quartier prioritaire de la politique de la ville: `QP` (2015 list) or `QN` (2024
/// list) followed by 6 letters or digits (`QP069017`, `QN06901M`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct QpvCode(String);
string_newtype!(QpvCode);

impl FromStr for QpvCode {
    type Err = InvalidValue;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let value = value.trim().to_ascii_uppercase();
        let ok = (value.starts_with("QP") || value.starts_with("QN"))
            && value.len() == 8
            && value.bytes().all(|b| b.is_ascii_alphanumeric());
        if ok {
            Ok(Self(value))
        } else {
            Err(InvalidValue::expected(
                "un code QPV de 8 caractères commençant par QP ou QN (ex. QP069017)",
            ))
        }
    }
}

/// An établissement public de coopération intercommunale and the facts that decide whether
/// its CIL may initiate the single convention (RULES.md §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Epci {
    pub siren: Siren,
    pub name: String,
    /// The EPCI must adopt a programme local de l'habitat (L.302-1 CCH).
    pub plh_required: bool,
    /// The EPCI holds the habitat competence.
    pub housing_competent: bool,
    /// Date the convention intercommunale d'attribution was concluded, if it was.
    pub cia_concluded_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Commune {
    pub insee: InseeCode,
    pub name: String,
    pub epci: Option<Siren>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Qpv {
    pub code: QpvCode,
    pub name: String,
    /// The commune holding the quartier (the main one when it spans several).
    pub commune: InseeCode,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Bailleur {
    pub siren: Siren,
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn siren_checks_the_luhn_key() {
        assert!("200046977".parse::<Siren>().is_ok());
        assert!("200 046 977".parse::<Siren>().is_ok());
        assert!("200046978".parse::<Siren>().is_err());
        assert!("20004697".parse::<Siren>().is_err());
        assert!("20004697A".parse::<Siren>().is_err());
        assert!("356000000".parse::<Siren>().is_ok());
    }

    #[test]
    fn insee_codes_with_corsica_and_overseas() {
        assert_eq!("69123".parse::<InseeCode>().unwrap().department(), "69");
        assert_eq!("2a004".parse::<InseeCode>().unwrap().as_str(), "2A004");
        assert_eq!("97411".parse::<InseeCode>().unwrap().department(), "974");
        assert!("6912".parse::<InseeCode>().is_err());
        assert!("2C004".parse::<InseeCode>().is_err());
        assert!("69A23".parse::<InseeCode>().is_err());
    }

    #[test]
    fn qpv_codes_of_both_lists() {
        assert!("QP069017".parse::<QpvCode>().is_ok());
        assert!("qn06901m".parse::<QpvCode>().is_ok());
        assert!("QX069017".parse::<QpvCode>().is_err());
        assert!("QP0690".parse::<QpvCode>().is_err());
    }

    proptest! {
        /// Changing any single digit of a valid SIREN breaks the key: Luhn detects every
        /// single-digit error.
        #[test]
        fn luhn_detects_single_digit_errors(base in 0u64..100_000_000, pos in 0usize..9, delta in 1u8..10) {
            let body = format!("{base:08}");
            let key = (0..10).find(|k| luhn_valid(&format!("{body}{k}"))).unwrap();
            let valid = format!("{body}{key}");
            prop_assert!(luhn_valid(&valid));
            let mut bytes = valid.into_bytes();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            prop_assert!(!luhn_valid(&String::from_utf8(bytes).unwrap()));
        }
    }
}
