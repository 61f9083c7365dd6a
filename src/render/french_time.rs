//! Times as French readers expect them: in Europe/Paris, « 2 décembre 2026 à 3 h 58 ». The
//! words come from [`crate::render::pages::dates`], the offsets from the time-zone database
//! (`chrono-tz`), summer time included.

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;

use crate::render::pages::dates::french_datetime;

/// A wall-clock time read in Europe/Paris (a form's `datetime-local`) as an instant. In the
/// autumn hour that occurs twice the first one is taken; in the spring hour that does not exist
/// the winter offset is applied.
pub fn from_paris_local(local: NaiveDateTime) -> DateTime<FixedOffset> {
    match Paris.from_local_datetime(&local).earliest() {
        Some(at) => at.fixed_offset(),
        None => {
            let winter = FixedOffset::east_opt(3600).expect("a valid offset");
            (local - Duration::hours(1))
                .and_utc()
                .with_timezone(&winter)
        }
    }
}

/// An instant in Europe/Paris: « 2 décembre 2026 à 3 h 58 ».
pub fn french_instant(at: DateTime<Utc>) -> String {
    french_datetime(&at)
}

/// An RFC 3339 timestamp as stored, in French; the text itself if it is not one.
pub fn french_timestamp(text: &str) -> String {
    french_datetime(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_read_in_french_in_paris() {
        assert_eq!(
            french_timestamp("2026-12-02T02:58:00Z"),
            "2 décembre 2026 à 3 h 58"
        );
        assert_eq!(
            french_timestamp("2027-06-30T22:05:00.000Z"),
            "1er juillet 2027 à 0 h 05"
        );
        assert_eq!(french_timestamp("pas une date"), "pas une date");
    }

    #[test]
    fn local_times_take_the_offset_of_their_season() {
        let local = |t: &str| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M").unwrap();
        assert_eq!(
            from_paris_local(local("2027-01-31T18:00")).to_rfc3339(),
            "2027-01-31T18:00:00+01:00"
        );
        assert_eq!(
            from_paris_local(local("2027-07-14T09:30")).to_rfc3339(),
            "2027-07-14T09:30:00+02:00"
        );
        // 25 October 2026, 02:30 happens twice: the first (summer) one.
        assert_eq!(
            from_paris_local(local("2026-10-25T02:30")).to_rfc3339(),
            "2026-10-25T02:30:00+02:00"
        );
        // 28 March 2027, 02:30 does not happen (02:00 → 03:00): read with the winter offset.
        assert_eq!(
            from_paris_local(local("2027-03-28T02:30")).to_rfc3339(),
            "2027-03-28T02:30:00+01:00"
        );
    }
}
