//! The county's monthly spot-check draw (抽查): which recently approved cases the county
//! re-examines. Pure: no database, no clock; the caller stores the seed, params and frame next
//! to the result so anyone can re-run [`draw`] and get the same sample.
//!
//! # Policy
//! Per township with N approved cases in the frame, the county checks
//! - k = ⌈max(rate, min rate) · N / 100⌉ cases (at least one), drawn at random from the
//!   township's non-mandatory cases: the default 30% never goes under the 20% floor, and
//!   rounding up means a township with approvals is never skipped; plus
//! - every mandatory case: routed to a county visit, with a complaint or objection, or
//!   borderline.
//!
//! Mandatory cases come on top of the random quota rather than counting towards it, so a
//! township with many objections is not checked less at random. k is capped at the number of
//! non-mandatory cases.
//!
//! # Reproducibility
//! The frame is sorted by (township, case id) before anything is drawn, so its order does not
//! matter, and the only randomness is one ChaCha20 stream from the seed, consumed township by
//! township in that order. The sample also depends on `rand`'s index sampling, so a major
//! upgrade of `rand` or `rand_chacha` can change old draws: a test pins one.

use std::collections::BTreeSet;

use rand::SeedableRng;
use rand::seq::index;
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Why a case is in the sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Drawn at random within its township.
    Random,
    /// Routed to a county visit (COUNTY_VISIT rule).
    CountyVisit,
    /// Someone complained or objected.
    Objection,
    /// The eligibility score fell in the borderline band.
    Borderline,
}

/// A recently approved case in the sampling frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Candidate {
    pub case_id: String,
    pub township: String,
    pub county_visit: bool,
    pub objection: bool,
    pub borderline: bool,
}

impl Reason {
    pub const ALL: [Reason; 4] = [
        Reason::Random,
        Reason::CountyVisit,
        Reason::Objection,
        Reason::Borderline,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Random => "random",
            Reason::CountyVisit => "county_visit",
            Reason::Objection => "objection",
            Reason::Borderline => "borderline",
        }
    }

    pub fn parse(s: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl Candidate {
    /// The first flag that makes the case mandatory, in the order the policy lists them.
    fn mandatory_reason(&self) -> Option<Reason> {
        if self.county_visit {
            Some(Reason::CountyVisit)
        } else if self.objection {
            Some(Reason::Objection)
        } else if self.borderline {
            Some(Reason::Borderline)
        } else {
            None
        }
    }
}

/// Sampling rates, in whole percent of a township's approvals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Params {
    /// Share drawn at random (default 30).
    pub rate_percent: u32,
    /// Floor the random share never goes under, whatever `rate_percent` says (default 20).
    pub min_rate_percent: u32,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            rate_percent: 30,
            min_rate_percent: 20,
        }
    }
}

impl Params {
    /// Names of the fields out of range (`rate_percent` 1–100, `min_rate_percent` at most
    /// 100); empty when valid. [`draw`] copes with any value, so check before storing a draw.
    pub fn problems(&self) -> Vec<&'static str> {
        let mut problems = Vec::new();
        if !(1..=100).contains(&self.rate_percent) {
            problems.push("rate_percent");
        }
        if self.min_rate_percent > 100 {
            problems.push("min_rate_percent");
        }
        problems
    }

    /// Random cases due from a township with `approvals` cases, before the cap. The floor
    /// applies by taking the larger rate; u128 because the rates are unchecked here.
    fn quota(&self, approvals: usize) -> usize {
        let rate = u128::from(self.rate_percent.max(self.min_rate_percent));
        let k = (rate * approvals as u128).div_ceil(100).max(1);
        usize::try_from(k).unwrap_or(usize::MAX)
    }
}

/// A case the county will check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Selected {
    pub case_id: String,
    pub township: String,
    pub reason: Reason,
}

/// One township's counts, so a reader can verify the quota without re-running the draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Stratum {
    pub township: String,
    /// Cases in the frame.
    pub approvals: usize,
    /// Selected because of a mandatory flag.
    pub mandatory: usize,
    /// Selected at random.
    pub random: usize,
}

/// The sample: `selected` sorted by (township, case id), `strata` by township.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Draw {
    pub selected: Vec<Selected>,
    pub strata: Vec<Stratum>,
}

/// Draws the spot-check sample; the module docs give the policy. The same frame (in any
/// order), params and seed always give the same [`Draw`]. A case id that appears more than
/// once counts once: the copy sorting first by (township, case id, flags) is kept, so the
/// choice does not depend on input order either.
pub fn draw(frame: &[Candidate], params: &Params, seed: u64) -> Draw {
    let mut frame: Vec<&Candidate> = frame.iter().collect();
    frame.sort_by_key(|&c| {
        (
            &c.township,
            &c.case_id,
            c.county_visit,
            c.objection,
            c.borderline,
        )
    });
    let mut seen = BTreeSet::new();
    frame.retain(|c| seen.insert(c.case_id.as_str()));

    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut selected = Vec::new();
    let mut strata = Vec::new();
    for township in frame.chunk_by(|a, b| a.township == b.township) {
        let mut optional = Vec::new();
        let mut mandatory = 0;
        for &candidate in township {
            match candidate.mandatory_reason() {
                Some(reason) => {
                    selected.push(select(candidate, reason));
                    mandatory += 1;
                }
                None => optional.push(candidate),
            }
        }
        let random = params.quota(township.len()).min(optional.len());
        selected.extend(
            index::sample(&mut rng, optional.len(), random)
                .into_iter()
                .map(|i| select(optional[i], Reason::Random)),
        );
        strata.push(Stratum {
            township: township[0].township.clone(),
            approvals: township.len(),
            mandatory,
            random,
        });
    }
    selected.sort_by(|a, b| (&a.township, &a.case_id).cmp(&(&b.township, &b.case_id)));
    Draw { selected, strata }
}

fn select(candidate: &Candidate, reason: Reason) -> Selected {
    Selected {
        case_id: candidate.case_id.clone(),
        township: candidate.township.clone(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;
    use rand::seq::SliceRandom;

    use super::*;

    fn case(township: &str, id: &str) -> Candidate {
        Candidate {
            case_id: id.to_owned(),
            township: township.to_owned(),
            county_visit: false,
            objection: false,
            borderline: false,
        }
    }

    /// `n` cases without flags, ids `{township}-00` onwards.
    fn township(name: &str, n: usize) -> Vec<Candidate> {
        (0..n)
            .map(|i| case(name, &format!("{name}-{i:02}")))
            .collect()
    }

    fn random_per_township(draw: &Draw) -> BTreeMap<&str, usize> {
        draw.strata
            .iter()
            .map(|s| (s.township.as_str(), s.random))
            .collect()
    }

    fn ids(draw: &Draw) -> Vec<&str> {
        draw.selected.iter().map(|s| s.case_id.as_str()).collect()
    }

    #[test]
    fn the_same_seed_draws_the_same_sample_whatever_the_frame_order() {
        let mut frame = [township("峰口镇", 40), township("新堤街道", 25)].concat();
        frame[3].objection = true;
        frame[50].borderline = true;
        let first = draw(&frame, &Params::default(), 7);
        assert_eq!(draw(&frame, &Params::default(), 7), first);
        frame.shuffle(&mut ChaCha20Rng::seed_from_u64(1));
        assert_eq!(draw(&frame, &Params::default(), 7), first);
        frame.reverse();
        assert_eq!(draw(&frame, &Params::default(), 7), first);
    }

    #[test]
    fn different_seeds_draw_different_samples_from_a_big_frame() {
        let frame = township("峰口镇", 500);
        let one = draw(&frame, &Params::default(), 1);
        let two = draw(&frame, &Params::default(), 2);
        assert_eq!(one.selected.len(), two.selected.len());
        assert_ne!(ids(&one), ids(&two));
    }

    #[test]
    fn a_stored_seed_keeps_drawing_the_same_sample() {
        // Fails if a dependency upgrade changes the random stream: old draws would no longer
        // re-run, so such an upgrade needs a decision, not a new expected value.
        let result = draw(&township("t", 20), &Params::default(), 20_261_123);
        assert_eq!(
            ids(&result),
            ["t-02", "t-09", "t-13", "t-15", "t-16", "t-19"]
        );
    }

    #[test]
    fn small_townships_get_at_least_one_and_the_quota_rounds_up() {
        let frame = [
            township("a", 1),
            township("b", 2),
            township("c", 3),
            township("d", 10),
            township("e", 7),
        ]
        .concat();
        let result = draw(&frame, &Params::default(), 0);
        let expected = BTreeMap::from([("a", 1), ("b", 1), ("c", 1), ("d", 3), ("e", 3)]);
        assert_eq!(random_per_township(&result), expected);
        assert_eq!(result.selected.len(), 9);
    }

    #[test]
    fn the_floor_wins_over_a_lower_rate() {
        let params = Params {
            rate_percent: 10,
            min_rate_percent: 20,
        };
        let result = draw(&township("a", 10), &params, 0);
        assert_eq!(random_per_township(&result), BTreeMap::from([("a", 2)]));
    }

    #[test]
    fn an_all_borderline_township_is_checked_in_full_with_nothing_random() {
        let mut frame = township("a", 4);
        for candidate in &mut frame {
            candidate.borderline = true;
        }
        let result = draw(&frame, &Params::default(), 0);
        assert_eq!(result.selected.len(), 4);
        assert!(
            result
                .selected
                .iter()
                .all(|s| s.reason == Reason::Borderline)
        );
        assert_eq!(
            result.strata,
            [Stratum {
                township: "a".to_owned(),
                approvals: 4,
                mandatory: 4,
                random: 0,
            }]
        );
    }

    #[test]
    fn every_mandatory_case_is_selected_for_its_first_reason() {
        let mut frame = township("a", 10);
        frame[0].county_visit = true;
        frame[0].objection = true;
        frame[0].borderline = true;
        frame[1].objection = true;
        frame[1].borderline = true;
        frame[2].borderline = true;
        let result = draw(&frame, &Params::default(), 3);
        let reasons: BTreeMap<&str, Reason> = result
            .selected
            .iter()
            .map(|s| (s.case_id.as_str(), s.reason))
            .collect();
        assert_eq!(reasons["a-00"], Reason::CountyVisit);
        assert_eq!(reasons["a-01"], Reason::Objection);
        assert_eq!(reasons["a-02"], Reason::Borderline);
        // 30% of all 10 approvals, drawn from the 7 others.
        assert_eq!(result.strata[0].mandatory, 3);
        assert_eq!(result.strata[0].random, 3);
        assert_eq!(result.selected.len(), 6);
    }

    #[test]
    fn random_picks_never_include_a_mandatory_case() {
        let mut frame = township("a", 6);
        for candidate in &mut frame[..5] {
            candidate.objection = true;
        }
        for seed in 0..50 {
            let result = draw(&frame, &Params::default(), seed);
            let random: Vec<&str> = result
                .selected
                .iter()
                .filter(|s| s.reason == Reason::Random)
                .map(|s| s.case_id.as_str())
                .collect();
            assert_eq!(random, ["a-05"]);
        }
    }

    #[test]
    fn a_repeated_case_id_counts_once() {
        let mut frame = township("a", 3);
        frame.push(frame[1].clone());
        let mut elsewhere = case("b", "a-02");
        elsewhere.objection = true;
        frame.push(elsewhere);
        let result = draw(&frame, &Params::default(), 0);
        assert_eq!(result.strata.len(), 1);
        assert_eq!(result.strata[0].approvals, 3);
        frame.reverse();
        assert_eq!(draw(&frame, &Params::default(), 0), result);
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        assert_eq!(
            draw(&[], &Params::default(), 0),
            Draw {
                selected: vec![],
                strata: vec![],
            }
        );
        let frame = township("a", 5);
        let zero = Params {
            rate_percent: 0,
            min_rate_percent: 0,
        };
        assert_eq!(draw(&frame, &zero, 0).selected.len(), 1);
        let huge = Params {
            rate_percent: u32::MAX,
            min_rate_percent: u32::MAX,
        };
        assert_eq!(draw(&frame, &huge, 0).selected.len(), 5);
    }

    #[test]
    fn problems_name_the_fields_out_of_range() {
        assert!(Params::default().problems().is_empty());
        let params = |rate_percent, min_rate_percent| Params {
            rate_percent,
            min_rate_percent,
        };
        assert!(params(100, 0).problems().is_empty());
        assert_eq!(params(0, 20).problems(), ["rate_percent"]);
        assert_eq!(params(101, 20).problems(), ["rate_percent"]);
        assert_eq!(
            params(0, 101).problems(),
            ["rate_percent", "min_rate_percent"]
        );
    }

    /// Up to 200 cases over up to 6 townships; flags are rare enough to leave random picks.
    fn frames() -> impl Strategy<Value = Vec<Candidate>> {
        let flag = || prop::bool::weighted(0.15);
        prop::collection::vec((0..6usize, flag(), flag(), flag()), 0..=200).prop_map(|rows| {
            rows.into_iter()
                .enumerate()
                .map(|(i, (t, county_visit, objection, borderline))| Candidate {
                    case_id: format!("case-{i:03}"),
                    township: format!("township-{t}"),
                    county_visit,
                    objection,
                    borderline,
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn every_draw_follows_the_policy(
            frame in frames(),
            rate in 1u32..=100,
            min in 1u32..=100,
            seed in any::<u64>(),
        ) {
            let params = Params { rate_percent: rate, min_rate_percent: min };
            let result = draw(&frame, &params, seed);

            let by_id: BTreeMap<&str, &Candidate> =
                frame.iter().map(|c| (c.case_id.as_str(), c)).collect();
            let mut picked = BTreeSet::new();
            for s in &result.selected {
                prop_assert!(picked.insert(s.case_id.as_str()), "{} twice", s.case_id);
                let candidate = by_id.get(s.case_id.as_str());
                prop_assert!(candidate.is_some(), "{} not in the frame", s.case_id);
                let candidate = candidate.unwrap();
                prop_assert_eq!(&s.township, &candidate.township);
                let flagged = candidate.county_visit || candidate.objection || candidate.borderline;
                prop_assert_eq!(s.reason != Reason::Random, flagged);
            }
            for c in frame.iter().filter(|c| c.county_visit || c.objection || c.borderline) {
                prop_assert!(picked.contains(c.case_id.as_str()), "{} missed", c.case_id);
            }

            prop_assert!(result
                .selected
                .windows(2)
                .all(|w| (&w[0].township, &w[0].case_id) < (&w[1].township, &w[1].case_id)));

            let townships: BTreeSet<&str> = frame.iter().map(|c| c.township.as_str()).collect();
            let strata: Vec<&str> = result.strata.iter().map(|s| s.township.as_str()).collect();
            prop_assert_eq!(strata, townships.into_iter().collect::<Vec<_>>());
            for stratum in &result.strata {
                let cases: Vec<&Candidate> =
                    frame.iter().filter(|c| c.township == stratum.township).collect();
                let n = cases.len();
                let optional = cases
                    .iter()
                    .filter(|c| !(c.county_visit || c.objection || c.borderline))
                    .count();
                let rate = rate.max(min) as usize;
                let k = [(rate * n).div_ceil(100), (min as usize * n).div_ceil(100), 1]
                    .into_iter()
                    .max()
                    .unwrap();
                let random = result
                    .selected
                    .iter()
                    .filter(|s| s.township == stratum.township && s.reason == Reason::Random)
                    .count();
                prop_assert_eq!(random, k.min(optional));
                prop_assert_eq!(stratum.random, random);
                prop_assert_eq!(stratum.approvals, n);
                prop_assert_eq!(stratum.mandatory, n - optional);
            }

            prop_assert_eq!(&draw(&frame, &params, seed), &result);
            let mut reversed = frame.clone();
            reversed.reverse();
            prop_assert_eq!(draw(&reversed, &params, seed), result);
        }
    }
}
