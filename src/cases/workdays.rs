//! Working-day clock for SLA deadlines, in China time (UTC+8).
//!
//! Deadlines are computed once, when a step starts, and stored, so a later
//! calendar correction does not move deadlines that were already promised.
//! "Overdue" is never stored: it is always derived from the stored deadline
//! and the current time.
//!
//! Working days follow the State Council's yearly holiday notice: holidays are
//! days off, and some weekend days are worked in exchange (调休上班).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, Utc, Weekday};
use serde::Deserialize;

/// China Standard Time; mainland China has no daylight saving time.
const CHINA: FixedOffset = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");

/// The schedule shipped with the service; see the comment at its top.
const CHINA_DEFAULT: &str = include_str!("calendar-cn.toml");

/// Holidays and make-up working days; every other Monday–Friday is worked.
#[derive(Clone, Debug, Default)]
pub struct Calendar {
    holidays: BTreeSet<NaiveDate>,
    makeup_workdays: BTreeSet<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalendarError {
    /// Also covers unknown keys and wrongly typed values in a year table.
    #[error("holiday calendar is not valid: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("holiday calendar table [{0}] is not a 4-digit year")]
    Year(String),
    #[error("holiday calendar date \"{0}\" is not a date in YYYY-MM-DD form")]
    Date(String),
    #[error("holiday calendar date {date} is filed under the year {year}")]
    WrongYear { date: NaiveDate, year: i32 },
    #[error("holiday calendar date {0} is both a holiday and a make-up workday")]
    Conflict(NaiveDate),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearTable {
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(default)]
    workdays: Vec<String>,
}

impl Calendar {
    /// Reads one `[YYYY]` table per year with optional `holidays` and
    /// `workdays` (make-up working days) lists of `YYYY-MM-DD` strings.
    pub fn parse(toml_text: &str) -> Result<Calendar, CalendarError> {
        let years: BTreeMap<String, YearTable> = toml::from_str(toml_text)?;
        let mut holidays = BTreeSet::new();
        let mut makeup_workdays = BTreeSet::new();
        for (key, table) in years {
            if key.len() != 4 || !key.bytes().all(|b| b.is_ascii_digit()) {
                return Err(CalendarError::Year(key));
            }
            let year: i32 = key.parse().expect("four ASCII digits parse as i32");
            holidays.extend(parse_dates(year, &table.holidays)?);
            makeup_workdays.extend(parse_dates(year, &table.workdays)?);
        }
        if let Some(&date) = holidays.intersection(&makeup_workdays).next() {
            return Err(CalendarError::Conflict(date));
        }
        Ok(Calendar {
            holidays,
            makeup_workdays,
        })
    }

    /// The PRC schedule embedded at build time, for when no file is configured.
    pub fn china_default() -> Calendar {
        Calendar::parse(CHINA_DEFAULT).expect("embedded calendar-cn.toml is valid")
    }

    pub fn is_workday(&self, d: NaiveDate) -> bool {
        if self.makeup_workdays.contains(&d) {
            true
        } else if self.holidays.contains(&d) {
            false
        } else {
            !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
        }
    }

    /// The `n`-th working day strictly after `start`; `start` itself if `n` is 0.
    ///
    /// Walks day by day: O(n) for any sane calendar. Panics if the walk runs
    /// past chrono's last date (a huge `n`, or a calendar with no working days).
    pub fn add_workdays(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut day = start;
        for _ in 0..n {
            day = day
                .iter_days()
                .skip(1)
                .find(|&d| self.is_workday(d))
                .expect("a working day before chrono's last date");
        }
        day
    }

    /// Number of working days `d` with `from < d <= to`; 0 if `to <= from`.
    pub fn workdays_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        let days = from.iter_days().skip(1).take_while(|&d| d <= to);
        days.filter(|&d| self.is_workday(d)).count() as i64
    }

    /// The instant the `n`-th working day after `at`'s China-local date ends,
    /// i.e. 00:00 China time of the following calendar day.
    pub fn deadline(&self, at: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        china_day_start(next_day(self.add_workdays(china_date(at), n)))
    }

    /// Working days from the China-local date of `due` through that of `now`,
    /// both inclusive; 0 if `now < due`.
    ///
    /// For a `due` from [`Calendar::deadline`] this counts the day it fell due
    /// if that day is worked, so a step due at the start of Wednesday is
    /// 1 day late during Wednesday. It is also 0 while overdue only over
    /// non-working days (a Friday deadline seen on Saturday).
    pub fn working_days_late(&self, due: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
        if now < due {
            return 0;
        }
        let due_date = china_date(due);
        let day_before = due_date.pred_opt().expect("a date after chrono's first");
        self.workdays_between(day_before, china_date(now))
    }
}

/// The instant a China calendar day begins (00:00 UTC+8).
pub fn china_day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN)
        .and_local_timezone(CHINA)
        .single()
        .expect("a fixed offset maps every local time to one instant")
        .to_utc()
}

/// The calendar date in China at the instant `at`.
pub fn china_date(at: DateTime<Utc>) -> NaiveDate {
    china_time(at).date_naive()
}

/// The instant `at` on China's clocks.
pub fn china_time(at: DateTime<Utc>) -> DateTime<FixedOffset> {
    at.with_timezone(&CHINA)
}

fn next_day(d: NaiveDate) -> NaiveDate {
    d.succ_opt().expect("a date before chrono's last")
}

/// Dates of one list in the `[year]` table, each strictly `YYYY-MM-DD`.
fn parse_dates(year: i32, texts: &[String]) -> Result<Vec<NaiveDate>, CalendarError> {
    texts
        .iter()
        .map(|text| {
            let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                // chrono also accepts e.g. "2026-1-4"; insist on the canonical form.
                .filter(|d| d.format("%Y-%m-%d").to_string() == *text)
                .ok_or_else(|| CalendarError::Date(text.clone()))?;
            if date.year() != year {
                return Err(CalendarError::WrongYear { date, year });
            }
            Ok(date)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::Days;
    use proptest::prelude::*;

    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn plain_weeks_skip_weekends() {
        let cal = Calendar::default();
        assert_eq!(cal.add_workdays(date("2026-11-27"), 1), date("2026-11-30"));
        assert_eq!(cal.add_workdays(date("2026-11-23"), 5), date("2026-11-30"));
        assert_eq!(cal.add_workdays(date("2026-11-28"), 0), date("2026-11-28"));
    }

    #[test]
    fn holidays_are_skipped_and_makeup_days_counted() {
        let cal = Calendar::china_default();
        assert_eq!(cal.add_workdays(date("2026-09-30"), 1), date("2026-10-08"));
        assert!(cal.is_workday(date("2026-10-10")));
        // Thu 8, Fri 9, Sat 10 (make-up), then Mon 12.
        assert_eq!(cal.add_workdays(date("2026-10-07"), 4), date("2026-10-12"));
    }

    #[test]
    fn default_calendar_parses() {
        let cal = Calendar::china_default();
        assert!(!cal.is_workday(date("2026-10-01")));
        assert!(!cal.is_workday(date("2025-01-01")));
        assert!(cal.is_workday(date("2026-01-04")));
    }

    #[test]
    fn deadline_is_start_of_day_after_last_workday() {
        let cal = Calendar::china_default();
        let at = utc("2026-11-23T10:00:00+08:00");
        assert_eq!(cal.deadline(at, 1), utc("2026-11-24T16:00:00Z"));
        assert_eq!(cal.deadline(at, 0), utc("2026-11-23T16:00:00Z"));
    }

    #[test]
    fn china_date_is_utc_plus_8() {
        assert_eq!(china_date(utc("2026-11-23T15:59:59Z")), date("2026-11-23"));
        assert_eq!(china_date(utc("2026-11-23T16:30:00Z")), date("2026-11-24"));
        let cal = Calendar::default();
        // Already Tuesday in China, so one working day later is Wednesday.
        assert_eq!(
            cal.deadline(utc("2026-11-23T16:30:00Z"), 1),
            utc("2026-11-25T16:00:00Z")
        );
    }

    #[test]
    fn workdays_between_counts_half_open_range() {
        let cal = Calendar::china_default();
        assert_eq!(
            cal.workdays_between(date("2026-09-30"), date("2026-10-08")),
            1
        );
        assert_eq!(
            cal.workdays_between(date("2026-10-08"), date("2026-09-30")),
            0
        );
        assert_eq!(
            cal.workdays_between(date("2026-10-08"), date("2026-10-08")),
            0
        );
    }

    #[test]
    fn working_days_late() {
        let cal = Calendar::china_default();
        // Due at the start of Wednesday 2026-11-25.
        let due = utc("2026-11-24T16:00:00Z");
        assert_eq!(cal.working_days_late(due, utc("2026-11-24T15:59:59Z")), 0);
        assert_eq!(cal.working_days_late(due, due), 1);
        assert_eq!(
            cal.working_days_late(due, utc("2026-11-30T09:00:00+08:00")),
            4
        );
        // Due at the start of Saturday 2026-11-28: the weekend does not count.
        let due = utc("2026-11-27T16:00:00Z");
        assert_eq!(
            cal.working_days_late(due, utc("2026-11-29T12:00:00+08:00")),
            0
        );
        assert_eq!(
            cal.working_days_late(due, utc("2026-11-30T12:00:00+08:00")),
            1
        );
    }

    #[test]
    fn parse_errors_name_the_bad_value() {
        let cases = [
            ("[26]\nholidays = []", "26"),
            ("[year]\nholidays = []", "year"),
            ("[2026]\nholidays = [\"2026-13-01\"]", "2026-13-01"),
            ("[2026]\nholidays = [\"2026-1-1\"]", "2026-1-1"),
            ("[2026]\nworkdays = [\"Oct 10\"]", "Oct 10"),
            ("[2026]\nholidays = [\"2025-12-31\"]", "2025-12-31"),
            (
                "[2026]\nholidays = [\"2026-10-10\"]\nworkdays = [\"2026-10-10\"]",
                "2026-10-10",
            ),
            ("[2026]\nholiday = [\"2026-10-01\"]", "holiday"),
        ];
        for (text, bad) in cases {
            let message = Calendar::parse(text).unwrap_err().to_string();
            assert!(message.contains(bad), "{message:?} should mention {bad:?}");
        }
    }

    proptest! {
        #[test]
        fn add_and_count_are_inverse(offset in 0u64..4018, n in 0u32..60) {
            let cal = Calendar::china_default();
            let start = date("2020-01-01") + Days::new(offset);
            let end = cal.add_workdays(start, n);
            if n > 0 {
                prop_assert!(cal.is_workday(end));
                prop_assert!(end > start);
            }
            prop_assert_eq!(cal.workdays_between(start, end), i64::from(n));
        }
    }
}
