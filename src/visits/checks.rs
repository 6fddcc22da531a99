//! Evidence checks: pure functions from a visit's facts to flags with measured values.
//! Flags raise queue priority and must be acknowledged by a reviewer; none rejects a case.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use geo::{Distance, Haversine, Point};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::jurisdictions::boundary::Boundary;
use crate::jurisdictions::settings::CountySetting;

/// County-configurable thresholds (DOMAIN.md "Evidence checks" gives the defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Photo farther than this from the registered location: `far_from_household`.
    pub far_from_household_m: f64,
    /// Capture time allowed outside the visit's start–end, either side.
    pub capture_window_minutes: i64,
    /// Photos older than this at submission: `capture_time_outside_visit`.
    pub max_photo_age_hours: i64,
    /// Phone fix accuracy worse than this (or exactly 0): `suspect_location`.
    pub max_fix_accuracy_m: f64,
    /// Photo GPS farther than this from the phone's own fix: `suspect_location`.
    pub max_photo_to_fix_m: f64,
    /// dHash Hamming distance up to which two photos count as look-alikes.
    pub similar_max_bits: u32,
}

impl CountySetting for Thresholds {
    const NAME: &'static str = "evidence_thresholds";
    const INVALID: &'static str = "thresholds_invalid";

    fn problems(&self) -> Vec<&'static str> {
        let metres = |m: f64| m.is_finite() && m > 0.0 && m <= 100_000.0;
        [
            ("far_from_household_m", metres(self.far_from_household_m)),
            (
                "capture_window_minutes",
                (0..=24 * 60).contains(&self.capture_window_minutes),
            ),
            (
                "max_photo_age_hours",
                (1..=24 * 90).contains(&self.max_photo_age_hours),
            ),
            ("max_fix_accuracy_m", metres(self.max_fix_accuracy_m)),
            ("max_photo_to_fix_m", metres(self.max_photo_to_fix_m)),
            ("similar_max_bits", self.similar_max_bits <= 20),
        ]
        .into_iter()
        .filter(|(_, ok)| !ok)
        .map(|(field, _)| field)
        .collect()
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            far_from_household_m: 200.0,
            capture_window_minutes: 120,
            max_photo_age_hours: 72,
            max_fix_accuracy_m: 100.0,
            max_photo_to_fix_m: 500.0,
            similar_max_bits: 10,
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    NoGps,
    FarFromHousehold,
    OutsideVillage,
    CaptureTimeOutsideVisit,
    SuspectLocation,
    DuplicatePhoto,
    SimilarPhoto,
    MissingRequiredPhoto,
    SingleStaff,
}

impl FlagKind {
    pub const ALL: [FlagKind; 9] = [
        FlagKind::NoGps,
        FlagKind::FarFromHousehold,
        FlagKind::OutsideVillage,
        FlagKind::CaptureTimeOutsideVisit,
        FlagKind::SuspectLocation,
        FlagKind::DuplicatePhoto,
        FlagKind::SimilarPhoto,
        FlagKind::MissingRequiredPhoto,
        FlagKind::SingleStaff,
    ];

    /// The name serde gives the kind, for reports that count flags by kind.
    pub fn as_str(self) -> &'static str {
        match self {
            FlagKind::NoGps => "no_gps",
            FlagKind::FarFromHousehold => "far_from_household",
            FlagKind::OutsideVillage => "outside_village",
            FlagKind::CaptureTimeOutsideVisit => "capture_time_outside_visit",
            FlagKind::SuspectLocation => "suspect_location",
            FlagKind::DuplicatePhoto => "duplicate_photo",
            FlagKind::SimilarPhoto => "similar_photo",
            FlagKind::MissingRequiredPhoto => "missing_required_photo",
            FlagKind::SingleStaff => "single_staff",
        }
    }

    /// Queue priority: reuse of another household's evidence is the most serious.
    pub fn severity(self) -> u8 {
        match self {
            FlagKind::DuplicatePhoto => 5,
            FlagKind::SimilarPhoto | FlagKind::SuspectLocation => 4,
            FlagKind::FarFromHousehold | FlagKind::OutsideVillage => 3,
            FlagKind::CaptureTimeOutsideVisit
            | FlagKind::MissingRequiredPhoto
            | FlagKind::SingleStaff => 2,
            FlagKind::NoGps => 1,
        }
    }
}

/// One finding, with what was measured so the reviewer can judge it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Flag {
    pub kind: FlagKind,
    /// The photo it is about, when it is about one.
    pub photo: Option<String>,
    #[schema(value_type = Object)]
    pub measured: Value,
}

/// The phone's own location fix at the start of the visit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PhoneFix {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
    /// The OS reported a mock (simulated) location.
    pub mock: bool,
}

/// What a photo carried, as read from its EXIF.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoFacts {
    pub digest: String,
    pub kind: String,
    /// (lat, lon), when the photo has usable GPS.
    pub gps: Option<(f64, f64)>,
    /// The capture instant when the photo says its UTC offset.
    pub taken_at: Option<DateTime<Utc>>,
    /// The capture time without an offset: read as China time (UTC+8).
    pub taken_local: Option<NaiveDateTime>,
}

impl PhotoFacts {
    fn capture_instant(&self) -> Option<DateTime<Utc>> {
        self.taken_at.or_else(|| {
            self.taken_local
                .map(|local| (local - Duration::hours(8)).and_utc())
        })
    }
}

/// Another household's photo this one matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    pub photo: String,
    pub other_household: String,
    pub other_visit: String,
    pub other_photo: String,
    /// Hamming distance of the dHashes (0 for byte-identical copies).
    pub bits: u32,
}

pub struct VisitFacts<'a> {
    pub household_location: Option<(f64, f64)>,
    pub village: Option<&'a Boundary>,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub submitted_at: DateTime<Utc>,
    pub fix: PhoneFix,
    pub distinct_staff: usize,
    pub photos: &'a [PhotoFacts],
    pub required_kinds: &'a [String],
    /// Byte-identical photos already used for other households.
    pub duplicates: &'a [Match],
    /// Look-alikes (dHash within the threshold, any rotation) of other households' photos.
    pub similar: &'a [Match],
}

fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    Haversine.distance(Point::new(a.1, a.0), Point::new(b.1, b.0))
}

fn rounded(m: f64) -> f64 {
    (m * 10.0).round() / 10.0
}

/// Other households named per photo and kind. A house photographed for dozens of applicants
/// would otherwise bury the case under a flag per household; the flags say how many matched.
const HOUSEHOLDS_NAMED: usize = 3;

/// Per photo (in the visit's order), the closest match in each other household, closest
/// households first and at most [`HOUSEHOLDS_NAMED`], each with the count of households matched.
fn closest_households<'m>(matches: &'m [Match], photos: &[PhotoFacts]) -> Vec<(&'m Match, usize)> {
    let photo_order = |m: &Match| {
        (
            photos.iter().position(|p| p.digest == m.photo),
            m.photo.clone(),
        )
    };
    let mut closest: Vec<&Match> = matches.iter().collect();
    closest.sort_by_cached_key(|m| {
        (
            photo_order(m),
            m.other_household.clone(),
            m.bits,
            m.other_visit.clone(),
        )
    });
    closest.dedup_by(|next, kept| {
        next.photo == kept.photo && next.other_household == kept.other_household
    });
    // Stable: households equally close stay in name order.
    closest.sort_by_cached_key(|m| (photo_order(m), m.bits));
    closest
        .chunk_by(|a, b| a.photo == b.photo)
        .flat_map(|same_photo| {
            same_photo
                .iter()
                .take(HOUSEHOLDS_NAMED)
                .map(|m| (*m, same_photo.len()))
        })
        .collect()
}

/// Every flag a visit raises, photo by photo, then for the visit as a whole.
pub fn check(visit: &VisitFacts<'_>, limits: &Thresholds) -> Vec<Flag> {
    let mut flags = Vec::new();
    let mut flag = |kind, photo: Option<&str>, measured| {
        flags.push(Flag {
            kind,
            photo: photo.map(str::to_owned),
            measured,
        })
    };
    let fix = visit.fix;
    if fix.mock || fix.accuracy_m <= 0.0 || fix.accuracy_m > limits.max_fix_accuracy_m {
        flag(
            FlagKind::SuspectLocation,
            None,
            json!({ "mock_location": fix.mock, "accuracy_m": fix.accuracy_m }),
        );
    }
    let window = Duration::minutes(limits.capture_window_minutes);
    let oldest = visit.submitted_at - Duration::hours(limits.max_photo_age_hours);
    for photo in visit.photos {
        let digest = Some(photo.digest.as_str());
        match photo.gps {
            None => flag(FlagKind::NoGps, digest, json!({})),
            Some(gps) => {
                if let Some(home) = visit.household_location {
                    let distance = metres(gps, home);
                    if distance > limits.far_from_household_m {
                        flag(
                            FlagKind::FarFromHousehold,
                            digest,
                            json!({ "distance_m": rounded(distance) }),
                        );
                    }
                }
                if let Some(village) = visit.village
                    && !village.contains(gps.0, gps.1)
                {
                    flag(
                        FlagKind::OutsideVillage,
                        digest,
                        json!({ "lat": gps.0, "lon": gps.1 }),
                    );
                }
                let from_fix = metres(gps, (fix.lat, fix.lon));
                if from_fix > limits.max_photo_to_fix_m {
                    flag(
                        FlagKind::SuspectLocation,
                        digest,
                        json!({ "photo_to_phone_fix_m": rounded(from_fix) }),
                    );
                }
            }
        }
        let taken = photo.capture_instant();
        let inside = taken.is_some_and(|t| {
            t >= visit.started_at - window && t <= visit.ended_at + window && t >= oldest
        });
        if !inside {
            flag(
                FlagKind::CaptureTimeOutsideVisit,
                digest,
                json!({
                    "captured_at": taken.map(|t| t.to_rfc3339()),
                    "visit_started_at": visit.started_at.to_rfc3339(),
                    "visit_ended_at": visit.ended_at.to_rfc3339(),
                }),
            );
        }
    }
    for (kind, matches) in [
        (FlagKind::DuplicatePhoto, visit.duplicates),
        (FlagKind::SimilarPhoto, visit.similar),
    ] {
        for (m, households) in closest_households(matches, visit.photos) {
            flag(
                kind,
                Some(&m.photo),
                json!({ "other_household": m.other_household, "other_visit": m.other_visit, "other_photo": m.other_photo, "bits": m.bits, "households": households }),
            );
        }
    }
    let missing: Vec<&String> = visit
        .required_kinds
        .iter()
        .filter(|kind| !visit.photos.iter().any(|p| &p.kind == *kind))
        .collect();
    if !missing.is_empty() {
        flag(
            FlagKind::MissingRequiredPhoto,
            None,
            json!({ "kinds": missing }),
        );
    }
    if visit.distinct_staff < 2 {
        flag(
            FlagKind::SingleStaff,
            None,
            json!({ "staff": visit.distinct_staff }),
        );
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: (f64, f64) = (29.9000, 113.3700);

    fn at(hour: u32, minute: u32) -> DateTime<Utc> {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 20)
            .unwrap()
            .and_hms_opt(hour, minute, 0)
            .unwrap()
            .and_utc()
    }

    fn photo(
        digest: &str,
        kind: &str,
        gps: Option<(f64, f64)>,
        taken: DateTime<Utc>,
    ) -> PhotoFacts {
        PhotoFacts {
            digest: digest.into(),
            kind: kind.into(),
            gps,
            taken_at: Some(taken),
            taken_local: None,
        }
    }

    fn village() -> Boundary {
        let (lat, lon) = HOME;
        Boundary::from_geojson(&json!({
            "type": "Polygon",
            "coordinates": [[[lon - 0.01, lat - 0.01], [lon + 0.01, lat - 0.01], [lon + 0.01, lat + 0.01], [lon - 0.01, lat + 0.01], [lon - 0.01, lat - 0.01]]]
        }))
        .unwrap()
    }

    fn kinds(flags: &[Flag]) -> Vec<FlagKind> {
        flags.iter().map(|f| f.kind).collect()
    }

    struct Case {
        photos: Vec<PhotoFacts>,
        fix: PhoneFix,
        staff: usize,
        duplicates: Vec<Match>,
        similar: Vec<Match>,
    }

    impl Case {
        fn clean() -> Case {
            Case {
                photos: vec![
                    photo("a", "house_exterior", Some((29.9003, 113.3702)), at(9, 10)),
                    photo("b", "kitchen", Some((29.9001, 113.3701)), at(9, 20)),
                ],
                fix: PhoneFix {
                    lat: 29.9002,
                    lon: 113.3701,
                    accuracy_m: 8.0,
                    mock: false,
                },
                staff: 2,
                duplicates: vec![],
                similar: vec![],
            }
        }

        fn run(&self) -> Vec<Flag> {
            let village = village();
            let required = vec!["house_exterior".to_owned(), "kitchen".to_owned()];
            check(
                &VisitFacts {
                    household_location: Some(HOME),
                    village: Some(&village),
                    started_at: at(9, 0),
                    ended_at: at(9, 40),
                    submitted_at: at(18, 0),
                    fix: self.fix,
                    distinct_staff: self.staff,
                    photos: &self.photos,
                    required_kinds: &required,
                    duplicates: &self.duplicates,
                    similar: &self.similar,
                },
                &Thresholds::default(),
            )
        }
    }

    #[test]
    fn every_kind_is_named_as_serde_names_it() {
        for kind in FlagKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
        }
        let distinct: std::collections::BTreeSet<FlagKind> = FlagKind::ALL.into();
        assert_eq!(distinct.len(), FlagKind::ALL.len());
    }

    #[test]
    fn a_clean_visit_raises_nothing() {
        assert_eq!(Case::clean().run(), vec![]);
    }

    #[test]
    fn a_photo_without_gps_is_flagged_and_not_measured_for_distance() {
        let mut case = Case::clean();
        case.photos[0].gps = None;
        assert_eq!(kinds(&case.run()), vec![FlagKind::NoGps]);
    }

    #[test]
    fn a_photo_taken_elsewhere_is_far_outside_and_away_from_the_phone() {
        let mut case = Case::clean();
        case.photos[0].gps = Some((29.9200, 113.3700)); // ~2.2 km north
        let flags = case.run();
        assert_eq!(
            kinds(&flags),
            vec![
                FlagKind::FarFromHousehold,
                FlagKind::OutsideVillage,
                FlagKind::SuspectLocation
            ]
        );
        let distance = flags[0].measured["distance_m"].as_f64().unwrap();
        assert!((2200.0..2250.0).contains(&distance), "{distance}");
    }

    #[test]
    fn the_distance_threshold_is_exclusive_at_200_m() {
        let mut case = Case::clean();
        // 0.0018° of latitude ≈ 200.2 m; 0.0017° ≈ 189 m.
        case.photos[0].gps = Some((HOME.0 + 0.0017, HOME.1));
        assert_eq!(case.run(), vec![]);
        case.photos[0].gps = Some((HOME.0 + 0.0018, HOME.1));
        assert_eq!(kinds(&case.run()), vec![FlagKind::FarFromHousehold]);
    }

    #[test]
    fn capture_times_must_fall_in_the_visit_window_and_be_recent() {
        let mut case = Case::clean();
        case.photos[0].taken_at = Some(at(11, 40)); // end + 2 h exactly: allowed
        assert_eq!(case.run(), vec![]);
        case.photos[0].taken_at = Some(at(11, 41));
        assert_eq!(kinds(&case.run()), vec![FlagKind::CaptureTimeOutsideVisit]);
        case.photos[0].taken_at = None;
        assert_eq!(kinds(&case.run()), vec![FlagKind::CaptureTimeOutsideVisit]);
    }

    #[test]
    fn a_capture_time_without_offset_is_read_as_china_time() {
        let mut case = Case::clean();
        case.photos[0].taken_at = None;
        case.photos[0].taken_local = Some(at(17, 10).naive_utc()); // 17:10 +08:00 = 09:10 UTC
        assert_eq!(case.run(), vec![]);
    }

    #[test]
    fn a_mock_or_imprecise_fix_is_suspect() {
        for (mock, accuracy) in [(true, 8.0), (false, 0.0), (false, 150.0)] {
            let mut case = Case::clean();
            case.fix.mock = mock;
            case.fix.accuracy_m = accuracy;
            assert_eq!(
                kinds(&case.run()),
                vec![FlagKind::SuspectLocation],
                "{mock} {accuracy}"
            );
        }
    }

    #[test]
    fn reused_photos_missing_kinds_and_a_lone_visitor_are_flagged() {
        let mut case = Case::clean();
        let other = |bits| Match {
            photo: "a".into(),
            other_household: "h2".into(),
            other_visit: "v2".into(),
            other_photo: "z".into(),
            bits,
        };
        case.duplicates = vec![other(0)];
        case.similar = vec![other(4)];
        case.photos.pop();
        case.staff = 1;
        let flags = case.run();
        assert_eq!(
            kinds(&flags),
            vec![
                FlagKind::DuplicatePhoto,
                FlagKind::SimilarPhoto,
                FlagKind::MissingRequiredPhoto,
                FlagKind::SingleStaff
            ]
        );
        assert_eq!(flags[1].measured["other_household"], "h2");
        assert_eq!(flags[1].measured["households"], 1);
        assert_eq!(flags[2].measured["kinds"], json!(["kitchen"]));
    }

    #[test]
    fn a_photo_matching_many_households_names_the_closest_few_and_counts_them_all() {
        let mut case = Case::clean();
        let seen = |photo: &str, household: &str, visit: &str, bits| Match {
            photo: photo.into(),
            other_household: household.into(),
            other_visit: visit.into(),
            other_photo: "z".into(),
            bits,
        };
        case.similar = vec![
            seen("b", "h9", "v9", 1),
            seen("a", "h5", "v5", 7),
            seen("a", "h1", "v1", 9),
            seen("a", "h1", "v1-again", 2),
            seen("a", "h4", "v4", 6),
            seen("a", "h3", "v3", 6),
            seen("a", "h2", "v2", 8),
        ];
        let flags = case.run();
        let named: Vec<(&str, &str, u64, u64)> = flags
            .iter()
            .map(|f| {
                let m = &f.measured;
                (
                    f.photo.as_deref().unwrap(),
                    m["other_visit"].as_str().unwrap(),
                    m["bits"].as_u64().unwrap(),
                    m["households"].as_u64().unwrap(),
                )
            })
            .collect();
        // Photo "a" (first in the visit) matched five households; h1 twice, at its closest.
        assert_eq!(
            named,
            vec![
                ("a", "v1-again", 2, 5),
                ("a", "v3", 6, 5),
                ("a", "v4", 6, 5),
                ("b", "v9", 1, 1),
            ]
        );
    }
}
