//! Timestamps as the platform stores them: RFC 3339 text (UTC to the millisecond with `Z`, as
//! `signing::timestamp` writes them; a round's deadline keeps the offset it was given). They
//! are read once, here, into `DateTime`s, and serialised back to the same text, so that the
//! JSON the API and the pages read does not change.

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};

use super::StoreError;

/// A stored instant, or `Corrupt` naming it.
pub(crate) fn utc(value: &str, what: &str) -> Result<DateTime<Utc>, StoreError> {
    offset(value, what).map(|d| d.with_timezone(&Utc))
}

/// A stored date with the offset it was given (a deadline), or `Corrupt` naming it.
pub(crate) fn offset(value: &str, what: &str) -> Result<DateTime<FixedOffset>, StoreError> {
    DateTime::parse_from_rfc3339(value)
        .map_err(|_| StoreError::Corrupt(format!("{what} « {value} »")))
}

/// A deadline as it was given: `Z` for UTC, the offset otherwise, fractions only if any.
pub fn offset_text(at: &DateTime<FixedOffset>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// `#[serde(serialize_with = "…")]` helpers.
pub mod text {
    use chrono::{DateTime, FixedOffset, Utc};
    use serde::Serializer;

    pub fn utc<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::signing::timestamp(*at))
    }

    pub fn utc_option<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => utc(at, s),
            None => s.serialize_none(),
        }
    }

    pub fn offset_option<S: Serializer>(
        at: &Option<DateTime<FixedOffset>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => s.serialize_str(&super::offset_text(at)),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_text_reads_back_and_writes_out_unchanged() {
        let written = crate::signing::timestamp(Utc::now());
        let at = utc(&written, "date").unwrap();
        assert_eq!(crate::signing::timestamp(at), written);
        for deadline in ["2027-01-31T18:00:00Z", "2027-01-31T18:00:00+01:00"] {
            assert_eq!(
                offset_text(&offset(deadline, "échéance").unwrap()),
                deadline
            );
        }
        let e = utc("31/01/2027", "date de création").unwrap_err();
        assert!(
            e.to_string().contains("date de création « 31/01/2027 »"),
            "{e}"
        );
    }
}
