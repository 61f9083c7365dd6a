//! Dates as a French reader says them, in the time of Paris (where the conventions are signed),
//! whatever the server's time zone: « 2 décembre 2026 à 3 h 58 ».

use chrono::{DateTime, Datelike, FixedOffset, TimeZone, Timelike};
use chrono_tz::Europe::Paris;

const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// An instant as the store gives it: typed, or RFC 3339 text as the platform writes it.
pub trait Instant {
    /// The instant, or `Err` with the text to show as it is.
    fn instant(&self) -> Result<DateTime<FixedOffset>, String>;
}

impl Instant for str {
    fn instant(&self) -> Result<DateTime<FixedOffset>, String> {
        DateTime::parse_from_rfc3339(self).map_err(|_| self.to_owned())
    }
}

impl Instant for String {
    fn instant(&self) -> Result<DateTime<FixedOffset>, String> {
        self.as_str().instant()
    }
}

impl<Tz: TimeZone> Instant for DateTime<Tz> {
    fn instant(&self) -> Result<DateTime<FixedOffset>, String> {
        Ok(self.fixed_offset())
    }
}

/// A stored instant in words, at Paris time with its summer time; a text that is not an
/// instant is returned as it is.
pub fn french_datetime<T: Instant + ?Sized>(at: &T) -> String {
    let instant = match at.instant() {
        Ok(instant) => instant,
        Err(text) => return text,
    };
    let paris = instant.with_timezone(&Paris);
    let day = match paris.day() {
        1 => "1er".to_owned(),
        d => d.to_string(),
    };
    format!(
        "{day} {} {} à {} h {:02}",
        MONTHS[paris.month0() as usize],
        paris.year(),
        paris.hour(),
        paris.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::french_datetime;

    #[test]
    fn winter_time_is_one_hour_ahead_of_utc() {
        assert_eq!(
            french_datetime("2026-12-02T02:58:00.000Z"),
            "2 décembre 2026 à 3 h 58"
        );
    }

    #[test]
    fn summer_time_is_two_hours_ahead_of_utc() {
        assert_eq!(
            french_datetime("2026-07-14T10:05:00Z"),
            "14 juillet 2026 à 12 h 05"
        );
    }

    #[test]
    fn the_clock_jumps_at_the_change_to_summer_time() {
        // 29 March 2026: at 1:00 UTC the clocks of Paris go from 2:00 to 3:00.
        assert_eq!(
            french_datetime("2026-03-29T00:59:00Z"),
            "29 mars 2026 à 1 h 59"
        );
        assert_eq!(
            french_datetime("2026-03-29T01:00:00Z"),
            "29 mars 2026 à 3 h 00"
        );
    }

    #[test]
    fn the_first_of_the_month_and_a_new_year_in_paris() {
        assert_eq!(
            french_datetime("2026-12-31T23:30:00+00:00"),
            "1er janvier 2027 à 0 h 30"
        );
    }

    #[test]
    fn a_text_that_is_not_an_instant_is_kept() {
        assert_eq!(french_datetime("bientôt"), "bientôt");
    }
}
