//! Times as French readers expect them: in Europe/Paris, « 2 décembre 2026 à 3 h 58 ».
//!
//! The offset follows the European rule in force since 1996 (directive 2000/84/CE): summer
//! time from the last Sunday of March at 01:00 UTC to the last Sunday of October at 01:00 UTC.
//! Written out here rather than pulling a time-zone database for one zone.

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, Timelike, Utc, Weekday,
};

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

fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let first_of_next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .expect("a valid month");
    let mut day = first_of_next - Duration::days(1);
    while day.weekday() != Weekday::Sun {
        day -= Duration::days(1);
    }
    day
}

/// The offset of Europe/Paris at the instant `at`.
pub fn paris_offset(at: DateTime<Utc>) -> FixedOffset {
    let year = at.year();
    let change = |month| {
        last_sunday(year, month)
            .and_hms_opt(1, 0, 0)
            .expect("01:00 exists")
            .and_utc()
    };
    let summer = at >= change(3) && at < change(10);
    FixedOffset::east_opt(if summer { 2 * 3600 } else { 3600 }).expect("a valid offset")
}

/// A wall-clock time read in Europe/Paris (a form's `datetime-local`) as an instant. In the
/// autumn hour that occurs twice the first one is taken; in the spring hour that does not exist
/// the winter offset is applied.
pub fn from_paris_local(local: NaiveDateTime) -> DateTime<FixedOffset> {
    for hours in [2, 1] {
        let offset = FixedOffset::east_opt(hours * 3600).expect("a valid offset");
        let utc = (local - Duration::hours(i64::from(hours))).and_utc();
        if paris_offset(utc) == offset {
            return utc.with_timezone(&offset);
        }
    }
    let winter = FixedOffset::east_opt(3600).expect("a valid offset");
    (local - Duration::hours(1))
        .and_utc()
        .with_timezone(&winter)
}

/// « 1er janvier 2027 », « 2 décembre 2026 ».
pub fn french_day(date: NaiveDate) -> String {
    let day = if date.day() == 1 {
        "1er".to_owned()
    } else {
        date.day().to_string()
    };
    format!("{day} {} {}", MONTHS[date.month0() as usize], date.year())
}

/// An instant in Europe/Paris: « 2 décembre 2026 à 3 h 58 ».
pub fn french_instant(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&paris_offset(at));
    format!(
        "{} à {} h {:02}",
        french_day(local.date_naive()),
        local.hour(),
        local.minute()
    )
}

/// An RFC 3339 timestamp as stored, in French; the text itself if it is not one.
pub fn french_timestamp(text: &str) -> String {
    match DateTime::parse_from_rfc3339(text) {
        Ok(at) => french_instant(at.with_timezone(&Utc)),
        Err(_) => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn winter_and_summer_offsets_change_on_the_last_sundays() {
        // 2026: summer time from 29 March to 25 October (both Sundays).
        assert_eq!(
            paris_offset(utc("2026-03-29T00:59:59Z")).local_minus_utc(),
            3600
        );
        assert_eq!(
            paris_offset(utc("2026-03-29T01:00:00Z")).local_minus_utc(),
            7200
        );
        assert_eq!(
            paris_offset(utc("2026-10-25T00:59:59Z")).local_minus_utc(),
            7200
        );
        assert_eq!(
            paris_offset(utc("2026-10-25T01:00:00Z")).local_minus_utc(),
            3600
        );
    }

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
    }
}
