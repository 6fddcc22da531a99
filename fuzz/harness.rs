//! The bodies of the fuzz targets, shared with `tests/fuzz_corpus.rs`, which replays the
//! committed corpora through them in a plain `cargo test`. Each calls the library as the
//! service does and asserts what must hold for any input; a panic is a finding.

use std::sync::OnceLock;

use dibao::error::ApiError;
use dibao::photos::{Limits, THUMBNAIL_LONG_SIDE, inspect_and_analyse};
use dibao::scoring::service::evaluate;
use dibao::scoring::{HouseholdFacts, LabourCapacity, MemberFacts, Scheme, Student};
use dibao::visits::api::SubmitVisit;

/// An uploaded photo as `POST /api/v1/uploads` ingests it: header and limits, EXIF, scaled
/// decode, upright dHash and thumbnail. `Ok` when accepted, else the refusal's code.
pub fn photo(data: &[u8]) -> Result<(), &'static str> {
    match inspect_and_analyse(data, &Limits::default()) {
        Ok((inspected, analysis)) => {
            assert!((1..=8).contains(&inspected.orientation));
            assert_eq!(analysis.dhash, analysis.dhash_rotations[0]);
            let thumb = &analysis.thumbnail;
            assert!(thumb.width > 0 && thumb.height > 0 && !thumb.jpeg.is_empty());
            assert!(thumb.width.max(thumb.height) <= THUMBNAIL_LONG_SIDE);
            // The thumbnail is upright: its long side is the upright picture's.
            let (w, h) = inspected.upright_size();
            assert!(w <= h || thumb.width >= thumb.height, "{w}x{h} → {thumb:?}");
            assert!(h <= w || thumb.height >= thumb.width, "{w}x{h} → {thumb:?}");
            Ok(())
        }
        Err(e) => {
            assert!(matches!(e.http_status(), 413 | 415 | 422), "{e:?}");
            assert!(!e.message_en().is_empty() && !e.message_zh().is_empty());
            Err(e.code())
        }
    }
}

/// A visit body as `POST /api/v1/visits` takes it: parsed, checked, hashed for idempotency, and
/// its answers validated and assessed under the default scheme for a few households. `Ok` when
/// it would be assessed, else the code of the 4xx it would get.
pub fn visit(data: &[u8]) -> Result<(), String> {
    let Ok(request) = serde_json::from_slice::<SubmitVisit>(data) else {
        return Err("invalid_body".into());
    };
    request.check().map_err(client_error)?;
    let (canonical, hash) = request.canonical().map_err(client_error)?;
    // A re-send of the stored form is the same visit.
    let again: SubmitVisit = serde_json::from_value(canonical).expect("canonical form reads");
    assert_eq!(again.canonical().map_err(client_error)?.1, hash);
    let scheme = default_scheme();
    let mut outcome = Ok(());
    for household in households() {
        match evaluate(scheme, household, &request.answers) {
            Ok(a) => {
                assert!((0..=100).contains(&a.score), "{a:?}");
                let lines: i64 = a.explanation.iter().map(|l| l.points).sum();
                assert_eq!(lines, i64::from(a.score), "{a:?}");
            }
            Err(e) => outcome = Err(client_error(e)),
        }
    }
    outcome
}

/// Anything the client sent wrong is a 4xx; a 500 here is a finding.
fn client_error(e: ApiError) -> String {
    assert!(e.kind.status().is_client_error(), "{e:?}");
    e.code.to_string()
}

fn default_scheme() -> &'static Scheme {
    static SCHEME: OnceLock<Scheme> = OnceLock::new();
    SCHEME.get_or_init(Scheme::default_scheme)
}

/// One elderly person alone, a family with every kind of dependant, and no member at all.
fn households() -> &'static [HouseholdFacts] {
    static HOUSEHOLDS: OnceLock<Vec<HouseholdFacts>> = OnceLock::new();
    HOUSEHOLDS.get_or_init(|| {
        let member =
            |age, labour_capacity, disability_grade, chronic_illness, student| MemberFacts {
                age,
                labour_capacity,
                disability_grade,
                chronic_illness,
                student,
            };
        vec![
            HouseholdFacts {
                urban: false,
                members: vec![member(78, LabourCapacity::None, None, true, Student::None)],
            },
            HouseholdFacts {
                urban: true,
                members: vec![
                    member(44, LabourCapacity::Full, None, false, Student::None),
                    member(41, LabourCapacity::Partial, Some(2), true, Student::None),
                    member(17, LabourCapacity::Full, None, false, Student::Senior),
                    member(9, LabourCapacity::None, None, false, Student::Primary),
                    member(72, LabourCapacity::None, Some(1), true, Student::None),
                ],
            },
            HouseholdFacts {
                urban: false,
                members: Vec::new(),
            },
        ]
    })
}
