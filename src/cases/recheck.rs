//! When an approved household is visited again: by its class, every `a_months` (stable: nobody
//! able to work, elderly, severe disability), `b_months` or `c_months` (fluctuating income).
//! A county sets its own intervals; an approval keeps the date its decision letter gave.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::jurisdictions::settings::CountySetting;

/// A county's re-check intervals in months (DOMAIN.md: A yearly, B half-yearly, C quarterly).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecheckIntervals {
    pub a_months: u32,
    pub b_months: u32,
    pub c_months: u32,
}

impl Default for RecheckIntervals {
    fn default() -> Self {
        RecheckIntervals {
            a_months: 12,
            b_months: 6,
            c_months: 3,
        }
    }
}

impl RecheckIntervals {
    /// The re-check date of a household of `class` approved on `day` (an unknown class is
    /// treated as the least stable).
    pub fn next_after(&self, class: &str, day: NaiveDate) -> Option<NaiveDate> {
        let months = match class {
            "A" => self.a_months,
            "B" => self.b_months,
            _ => self.c_months,
        };
        day.checked_add_months(Months::new(months))
    }
}

impl CountySetting for RecheckIntervals {
    const NAME: &'static str = "recheck_intervals";
    const INVALID: &'static str = "recheck_intervals_invalid";

    /// Each between a month and two years, and a more stable class never checked more often
    /// than a less stable one.
    fn problems(&self) -> Vec<&'static str> {
        let months = 1..=24;
        [
            ("a_months", months.contains(&self.a_months)),
            (
                "b_months",
                months.contains(&self.b_months) && self.b_months <= self.a_months,
            ),
            (
                "c_months",
                months.contains(&self.c_months) && self.c_months <= self.b_months,
            ),
        ]
        .into_iter()
        .filter(|(_, ok)| !ok)
        .map(|(field, _)| field)
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_defaults_are_yearly_half_yearly_and_quarterly() {
        let intervals = RecheckIntervals::default();
        let approved = day(2026, 11, 30);
        assert_eq!(intervals.next_after("A", approved), Some(day(2027, 11, 30)));
        assert_eq!(intervals.next_after("B", approved), Some(day(2027, 5, 30)));
        // The month's last day when the date does not exist (no 30 February).
        assert_eq!(intervals.next_after("C", approved), Some(day(2027, 2, 28)));
        assert!(intervals.problems().is_empty());
    }

    #[test]
    fn a_county_may_check_more_often_but_not_out_of_order_or_range() {
        let monthly = RecheckIntervals {
            a_months: 6,
            b_months: 3,
            c_months: 1,
        };
        assert!(monthly.problems().is_empty());
        assert_eq!(
            monthly.next_after("C", day(2026, 1, 31)),
            Some(day(2026, 2, 28))
        );
        let never = RecheckIntervals {
            a_months: 0,
            b_months: 6,
            c_months: 3,
        };
        assert_eq!(never.problems(), ["a_months", "b_months"]);
        let inverted = RecheckIntervals {
            a_months: 12,
            b_months: 6,
            c_months: 9,
        };
        assert_eq!(inverted.problems(), ["c_months"]);
        let too_long = RecheckIntervals {
            a_months: 36,
            b_months: 6,
            c_months: 3,
        };
        assert_eq!(too_long.problems(), ["a_months"]);
    }
}
