//! Ranges with explicitly named edges, decided exactly (no floats).
//!
//! Every range in a scheme names each edge it has: `min_inclusive` or `min_exclusive`, and
//! `max_inclusive` or `max_exclusive`; a missing side is unbounded. `{ min_exclusive = 2500,
//! max_inclusive = 5000 }` is (2500, 5000] and cannot be misread as [2500, 5000).

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interval {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_inclusive: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_exclusive: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_inclusive: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_exclusive: Option<i64>,
}

/// One edge of an interval: its value and whether the value itself belongs to the interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Edge {
    pub value: i64,
    pub inclusive: bool,
}

impl Interval {
    /// The lower edge; `None` is unbounded. Validation refuses intervals naming both.
    pub(crate) fn lower(&self) -> Option<Edge> {
        edge(self.min_inclusive, self.min_exclusive)
    }

    /// The upper edge; `None` is unbounded.
    pub(crate) fn upper(&self) -> Option<Edge> {
        edge(self.max_inclusive, self.max_exclusive)
    }

    pub(crate) fn contains(&self, value: Exact) -> bool {
        let above_lower = self.lower().is_none_or(|e| match value.cmp_whole(e.value) {
            Ordering::Greater => true,
            Ordering::Equal => e.inclusive,
            Ordering::Less => false,
        });
        above_lower
            && self.upper().is_none_or(|e| match value.cmp_whole(e.value) {
                Ordering::Less => true,
                Ordering::Equal => e.inclusive,
                Ordering::Greater => false,
            })
    }
}

fn edge(inclusive: Option<i64>, exclusive: Option<i64>) -> Option<Edge> {
    match (inclusive, exclusive) {
        (Some(value), _) => Some(Edge {
            value,
            inclusive: true,
        }),
        (None, Some(value)) => Some(Edge {
            value,
            inclusive: false,
        }),
        (None, None) => None,
    }
}

/// Mathematical notation, the same in both languages: `[0, 20]`, `(2500, 5000]`, `[70, ∞)`.
impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.lower() {
            Some(Edge {
                value,
                inclusive: true,
            }) => write!(f, "[{value}, ")?,
            Some(Edge { value, .. }) => write!(f, "({value}, ")?,
            None => f.write_str("(-∞, ")?,
        }
        match self.upper() {
            Some(Edge {
                value,
                inclusive: true,
            }) => write!(f, "{value}]"),
            Some(Edge { value, .. }) => write!(f, "{value})"),
            None => f.write_str("∞)"),
        }
    }
}

/// An exact quantity: the fraction `num / den`, or +∞.
///
/// Ratios such as "medical costs / income" are kept as fractions and compared with an edge `e`
/// by cross-multiplying (`num <= e * den`), so a value exactly on an edge is never misjudged by
/// rounding. `i128` leaves room for fen amounts multiplied by basis points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exact {
    num: i128,
    /// Always positive, except 0 for +∞.
    den: i128,
}

impl Exact {
    pub(crate) fn whole(value: i64) -> Exact {
        Exact {
            num: value.into(),
            den: 1,
        }
    }

    /// `num / den`. A positive amount over nothing is +∞ (any medical cost against no income is
    /// the heaviest burden); nothing over nothing is 0.
    pub(crate) fn ratio(num: i128, den: i128) -> Exact {
        match den.cmp(&0) {
            Ordering::Greater => Exact { num, den },
            Ordering::Less => Exact {
                num: -num,
                den: -den,
            },
            Ordering::Equal if num > 0 => Exact { num: 1, den: 0 },
            Ordering::Equal => Exact::whole(0),
        }
    }

    /// The value if it is a whole number (counts, fen, points).
    pub(crate) fn as_whole(self) -> Option<i64> {
        (self.den == 1)
            .then(|| i64::try_from(self.num).ok())
            .flatten()
    }

    pub(crate) fn cmp_whole(self, edge: i64) -> Ordering {
        if self.den == 0 {
            return Ordering::Greater;
        }
        self.num.cmp(&(i128::from(edge) * self.den))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interval(
        min_inclusive: Option<i64>,
        min_exclusive: Option<i64>,
        max_inclusive: Option<i64>,
        max_exclusive: Option<i64>,
    ) -> Interval {
        Interval {
            min_inclusive,
            min_exclusive,
            max_inclusive,
            max_exclusive,
        }
    }

    #[test]
    fn edges_are_decided_exactly_on_fractions() {
        // (2500, 5000] basis points of the standard.
        let band = interval(None, Some(2500), Some(5000), None);
        // 750 fen of a 3000 fen standard is exactly 25%: outside the left-open edge.
        assert!(!band.contains(Exact::ratio(750 * 10_000, 3000)));
        // One fen more is inside.
        assert!(band.contains(Exact::ratio(751 * 10_000, 3000)));
        // Exactly 50% is inside the right-closed edge, a fraction of a fen more is not.
        assert!(band.contains(Exact::ratio(1500 * 10_000, 3000)));
        assert!(!band.contains(Exact::ratio(15_001 * 10_000, 30_000)));
    }

    #[test]
    fn half_open_on_the_other_side() {
        let band = interval(Some(45), None, None, Some(60));
        assert!(!band.contains(Exact::whole(44)));
        assert!(band.contains(Exact::whole(45)));
        assert!(band.contains(Exact::whole(59)));
        assert!(!band.contains(Exact::whole(60)));
    }

    #[test]
    fn infinity_is_above_every_edge() {
        let top = interval(Some(5000), None, None, None);
        let infinite = Exact::ratio(1, 0);
        assert!(top.contains(infinite));
        assert!(!interval(None, None, Some(i64::MAX), None).contains(infinite));
        assert_eq!(Exact::ratio(0, 0), Exact::whole(0));
        assert_eq!(infinite.as_whole(), None);
    }

    #[test]
    fn displays_in_interval_notation() {
        assert_eq!(
            interval(None, Some(2500), Some(5000), None).to_string(),
            "(2500, 5000]"
        );
        assert_eq!(interval(Some(70), None, None, None).to_string(), "[70, ∞)");
        assert_eq!(interval(None, None, None, Some(18)).to_string(), "(-∞, 18)");
    }
}
