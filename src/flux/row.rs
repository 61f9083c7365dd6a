//! The rows of the flux table (DESIGN §4.3): one per réservataire, in the scenario's order, then
//! the bailleur's own row for the flux left unreserved. That last row's id is part of the public
//! contract (`table.rows[].id`, the compromise's changes, `table.csv`): it is spelled here once.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Id of the bailleur's row, the flux left unreserved.
pub const NON_RESERVE: &str = "non-reserve";

/// Which row of the flux table a figure belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RowId {
    /// A réservataire's row, by its id in the scenario.
    Reservataire(String),
    /// The bailleur's row: the flux no réservataire holds.
    NonReserve,
}

impl RowId {
    /// Reads a row id as the report writes it: [`NON_RESERVE`] is the bailleur's row, anything
    /// else a réservataire's.
    #[must_use]
    pub fn parse(id: &str) -> Self {
        if id == NON_RESERVE {
            Self::NonReserve
        } else {
            Self::Reservataire(id.to_owned())
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Reservataire(id) => id,
            Self::NonReserve => NON_RESERVE,
        }
    }

    /// Whether `id` may not name a réservataire, since it names the bailleur's row.
    #[must_use]
    pub fn is_reserved_word(id: &str) -> bool {
        id == NON_RESERVE
    }
}

impl fmt::Display for RowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RowId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RowId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = String::deserialize(deserializer)?;
        Ok(Self::parse(&id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bailleurs_row_reads_and_writes_as_non_reserve() {
        assert_eq!(RowId::parse("non-reserve"), RowId::NonReserve);
        assert_eq!(RowId::parse("etat"), RowId::Reservataire("etat".into()));
        // The spellings the consolidation once looked for are réservataire ids, not the row.
        assert_eq!(
            RowId::parse("non_reserve"),
            RowId::Reservataire("non_reserve".into())
        );
        assert_eq!(
            serde_json::to_string(&RowId::NonReserve).unwrap(),
            r#""non-reserve""#
        );
        let back: RowId = serde_json::from_str(r#""non-reserve""#).unwrap();
        assert_eq!(back, RowId::NonReserve);
        assert!(RowId::is_reserved_word("non-reserve"));
        assert!(!RowId::is_reserved_word("bailleur"));
    }
}
