//! Behaviour of the whole ingest path on generated phone photos: refusals, EXIF, orientation,
//! colour models and look-alike distances.

use std::sync::OnceLock;

use chrono::{NaiveDate, TimeZone, Utc};

use super::fixtures::{
    Edit, FixtureColor, FixtureGps, Ifd, IfdEntry, PhotoSpec, phone_jpeg, reencode, splice_exif,
    tiff, with_frame_size,
};
use super::*;

fn original() -> &'static [u8] {
    static ORIGINAL: OnceLock<Vec<u8>> = OnceLock::new();
    ORIGINAL.get_or_init(|| phone_jpeg(&PhotoSpec::default()))
}

fn ingest(bytes: &[u8]) -> Result<(Inspected, Analysis), PhotoError> {
    inspect_and_analyse(bytes, &Limits::default())
}

fn dhash_of(bytes: &[u8]) -> u64 {
    ingest(bytes).expect("photo is accepted").1.dhash
}

fn refusal(bytes: &[u8]) -> PhotoError {
    match ingest(bytes) {
        Ok((inspected, _)) => panic!("accepted a {}x{} photo", inspected.width, inspected.height),
        Err(e) => e,
    }
}

fn spec(f: impl FnOnce(&mut PhotoSpec)) -> PhotoSpec {
    let mut spec = PhotoSpec::default();
    f(&mut spec);
    spec
}

// ---- refusals -----------------------------------------------------------------------------

#[test]
fn an_empty_or_one_byte_upload_is_refused_as_empty() {
    for bytes in [&[][..], &[0xFF][..]] {
        let e = refusal(bytes);
        assert_eq!(e.code(), "photo_empty");
        assert_eq!(e.http_status(), 422);
    }
}

#[test]
fn a_file_over_the_size_limit_is_refused_before_it_is_read() {
    let limits = Limits {
        max_bytes: 1000,
        ..Limits::default()
    };
    let e = inspect(original(), &limits).unwrap_err();
    assert!(matches!(e, PhotoError::TooLarge { max: 1000, .. }));
    assert_eq!((e.code(), e.http_status()), ("photo_too_large", 413));
}

#[test]
fn random_bytes_are_not_a_jpeg() {
    let mut state = 0x1234_5678u32;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    let e = refusal(&random);
    assert_eq!((e.code(), e.http_status()), ("photo_not_jpeg", 415));

    // The same noise behind a JPEG signature is refused too, never accepted.
    let mut disguised = vec![0xFF, 0xD8, 0xFF];
    disguised.extend_from_slice(&random);
    assert_eq!(refusal(&disguised).http_status(), 422);
}

#[test]
fn a_png_is_refused_as_not_a_jpeg() {
    let mut png = Vec::new();
    image::RgbImage::from_pixel(8, 8, image::Rgb([200, 10, 10]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let e = refusal(&png);
    assert_eq!(e, PhotoError::NotJpeg { found: "PNG" });
    assert_eq!(e.http_status(), 415);
    assert!(e.message_en().contains("PNG"));
}

#[test]
fn a_heic_photo_is_refused_with_advice_to_set_the_camera_to_jpeg() {
    let mut heic = vec![0, 0, 0, 0x18];
    heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
    heic.extend_from_slice(&[0; 64]);
    let e = refusal(&heic);
    assert_eq!((e.code(), e.http_status()), ("photo_heic", 415));
    assert!(e.message_zh().contains("请将相机设置为 JPEG 格式"));
    assert!(e.message_en().contains("Set the camera to JPEG"));
}

#[test]
fn a_header_claiming_30000_by_30000_is_refused_from_the_header_alone() {
    let small = phone_jpeg(&spec(|s| (s.width, s.height) = (64, 48)));
    let forged = with_frame_size(&small, 30000, 30000);
    let e = inspect(&forged, &Limits::default()).unwrap_err();
    assert_eq!(
        e,
        PhotoError::TooManyPixels {
            width: 30000,
            height: 30000,
            max: 60_000_000
        }
    );
    assert_eq!((e.code(), e.http_status()), ("photo_too_many_pixels", 413));
    // Fed straight to `analyse` with a stale inspection, it is refused before decoding: its
    // few bytes of scan data cannot code 30000×30000 pixels.
    let stale = inspect(&small, &Limits::default()).unwrap();
    assert_eq!(analyse(&forged, &stale).unwrap_err(), PhotoError::Truncated);
}

#[test]
fn the_pixel_limit_is_a_setting() {
    let limits = Limits {
        max_pixels: 1024 * 768 - 1,
        ..Limits::default()
    };
    assert!(matches!(
        inspect(original(), &limits),
        Err(PhotoError::TooManyPixels {
            width: 1024,
            height: 768,
            ..
        })
    ));
}

#[test]
fn a_photo_cut_in_half_is_refused_as_truncated() {
    let half = &original()[..original().len() / 2];
    // The header is intact, so only the decode can tell.
    assert!(inspect(half, &Limits::default()).is_ok());
    let e = refusal(half);
    assert_eq!((e.code(), e.http_status()), ("photo_truncated", 422));
}

#[test]
fn a_photo_cut_inside_its_header_is_refused_as_truncated() {
    assert_eq!(refusal(&original()[..300]), PhotoError::Truncated);
}

#[test]
fn a_photo_cut_in_half_and_closed_with_an_end_marker_is_refused() {
    let mut forged = original()[..original().len() / 2].to_vec();
    forged.extend_from_slice(&[0xFF, 0xD9]);
    let e = refusal(&forged);
    assert_eq!(e.http_status(), 422, "{e:?}");
}

#[test]
fn a_photo_missing_only_its_end_marker_is_refused_as_truncated() {
    let bytes = original();
    assert_eq!(refusal(&bytes[..bytes.len() - 2]), PhotoError::Truncated);
}

#[test]
fn bytes_after_the_end_marker_are_accepted() {
    // Motion photos append a video after the JPEG; the picture itself is whole.
    let mut motion = original().to_vec();
    motion.extend_from_slice(&[0u8; 4096]);
    assert_eq!(dhash_of(&motion), dhash_of(original()));
}

// ---- colour models ------------------------------------------------------------------------

fn mean_rgb(thumbnail: &[u8]) -> [f64; 3] {
    let rgb = image::load_from_memory(thumbnail).unwrap().to_rgb8();
    let n = f64::from(rgb.width() * rgb.height());
    let mut sum = [0.0; 3];
    for p in rgb.pixels() {
        for c in 0..3 {
            sum[c] += f64::from(p[c]);
        }
    }
    sum.map(|s| s / n)
}

#[test]
fn a_cmyk_jpeg_is_accepted_and_turned_into_the_same_colours() {
    let cmyk = phone_jpeg(&spec(|s| s.color = FixtureColor::Cmyk));
    let (inspected, analysis) = ingest(&cmyk).unwrap();
    assert_eq!(inspected.color, ColorModel::Cmyk);
    let (_, reference) = ingest(original()).unwrap();
    assert!(hamming(analysis.dhash, reference.dhash) <= 2);
    let (got, want) = (
        mean_rgb(&analysis.thumbnail.jpeg),
        mean_rgb(&reference.thumbnail.jpeg),
    );
    for c in 0..3 {
        assert!(
            (got[c] - want[c]).abs() < 3.0,
            "channel {c}: {got:?} vs {want:?}"
        );
    }
}

#[test]
fn a_grayscale_jpeg_is_accepted_with_a_grayscale_thumbnail() {
    let gray = phone_jpeg(&spec(|s| s.color = FixtureColor::Grayscale));
    let (inspected, analysis) = ingest(&gray).unwrap();
    assert_eq!(inspected.color, ColorModel::Grayscale);
    let thumb = image::load_from_memory(&analysis.thumbnail.jpeg).unwrap();
    assert_eq!(thumb.color(), image::ColorType::L8);
    assert_eq!((thumb.width(), thumb.height()), (320, 240));
    assert!(hamming(analysis.dhash, dhash_of(original())) <= 2);
}

#[test]
fn a_progressive_photo_is_read_and_hashed_like_its_baseline_twin() {
    let progressive = phone_jpeg(&spec(|s| s.progressive = true));
    let (inspected, analysis) = ingest(&progressive).unwrap();
    assert!(inspected.progressive);
    assert_eq!(
        inspected.gps,
        inspect(original(), &Limits::default()).unwrap().gps
    );
    assert!(hamming(analysis.dhash, dhash_of(original())) <= 2);
    // Cut in the middle of its scans: refused, never a half picture.
    let cut = &progressive[..progressive.len() / 2];
    assert!(matches!(
        refusal(cut),
        PhotoError::Truncated | PhotoError::Corrupt { .. }
    ));
}

// ---- EXIF ---------------------------------------------------------------------------------

#[test]
fn exif_gps_time_orientation_and_camera_are_read() {
    let inspected = inspect(original(), &Limits::default()).unwrap();
    assert_eq!((inspected.width, inspected.height), (1024, 768));
    assert_eq!(inspected.color, ColorModel::Color);
    assert!(!inspected.progressive);
    let gps = inspected.gps.unwrap();
    assert!((gps.lat - 29.8286).abs() < 1e-6, "{gps:?}");
    assert!((gps.lon - 113.4554).abs() < 1e-6, "{gps:?}");
    assert_eq!(gps.alt_m, Some(26.5));
    assert_eq!(inspected.gps_problem, None);
    let captured = inspected.captured.unwrap();
    let local = NaiveDate::from_ymd_opt(2024, 5, 14)
        .unwrap()
        .and_hms_opt(10, 31, 4)
        .unwrap();
    assert_eq!(captured.local, local);
    assert_eq!(captured.offset_minutes, Some(480));
    assert_eq!(
        captured.utc,
        Some(Utc.with_ymd_and_hms(2024, 5, 14, 2, 31, 4).unwrap())
    );
    assert_eq!(
        inspected.gps_time,
        Some(Utc.with_ymd_and_hms(2024, 5, 14, 2, 31, 5).unwrap())
    );
    assert_eq!(inspected.orientation, 1);
    assert_eq!(inspected.make.as_deref(), Some("Xiaomi"));
    assert_eq!(inspected.model.as_deref(), Some("Redmi Note 12"));
    assert!(
        inspected.exif_problems.is_empty(),
        "{:?}",
        inspected.exif_problems
    );
}

#[test]
fn a_capture_time_without_offset_stays_a_local_time() {
    let bytes = phone_jpeg(&spec(|s| s.offset_minutes = None));
    let captured = inspect(&bytes, &Limits::default())
        .unwrap()
        .captured
        .unwrap();
    assert_eq!(captured.offset_minutes, None);
    assert_eq!(captured.utc, None);
    assert_eq!(captured.local.to_string(), "2024-05-14 10:31:04");
}

#[test]
fn a_negative_offset_moves_the_instant_later() {
    let bytes = phone_jpeg(&spec(|s| s.offset_minutes = Some(-150)));
    let captured = inspect(&bytes, &Limits::default())
        .unwrap()
        .captured
        .unwrap();
    assert_eq!(
        captured.utc,
        Some(Utc.with_ymd_and_hms(2024, 5, 14, 13, 1, 4).unwrap())
    );
}

#[test]
fn a_photo_without_exif_has_no_gps_and_no_problem() {
    let bare = phone_jpeg(&spec(|s| {
        s.gps = None;
        s.gps_time = None;
        s.captured = None;
        s.offset_minutes = None;
        s.orientation = None;
        s.make = None;
        s.model = None;
    }));
    let inspected = inspect(&bare, &Limits::default()).unwrap();
    assert_eq!((inspected.gps, inspected.gps_problem), (None, None));
    assert_eq!(inspected.captured, None);
    assert_eq!(inspected.orientation, 1);
}

#[test]
fn broken_gps_is_treated_as_absent_and_the_problem_noted() {
    let cases = [
        (f64::NAN, 113.4, GpsProblem::NotFinite),
        (29.8, f64::NAN, GpsProblem::NotFinite),
        (95.0, 113.4, GpsProblem::LatitudeOutOfRange),
        (29.8, 200.0, GpsProblem::LongitudeOutOfRange),
        (0.0, 0.0, GpsProblem::NullIsland),
    ];
    for (lat, lon, problem) in cases {
        let bytes = phone_jpeg(&spec(|s| {
            (s.width, s.height) = (64, 48);
            s.gps = Some(FixtureGps {
                lat,
                lon,
                alt_m: 20.0,
            });
        }));
        let inspected = inspect(&bytes, &Limits::default()).unwrap();
        assert_eq!(inspected.gps, None, "{lat}, {lon}");
        assert_eq!(inspected.gps_problem, Some(problem), "{lat}, {lon}");
    }
}

#[test]
fn an_implausible_altitude_is_dropped_but_the_position_kept() {
    let bytes = phone_jpeg(&spec(|s| {
        (s.width, s.height) = (64, 48);
        s.gps = Some(FixtureGps {
            lat: 29.8,
            lon: 113.4,
            alt_m: 40_000.0,
        });
    }));
    let inspected = inspect(&bytes, &Limits::default()).unwrap();
    let gps = inspected.gps.unwrap();
    assert_eq!(gps.alt_m, None);
    assert!((gps.lat - 29.8).abs() < 1e-6);
    assert_eq!(inspected.gps_problem, Some(GpsProblem::AltitudeInvalid));
}

#[test]
fn an_orientation_outside_1_to_8_is_ignored_and_noted() {
    let bytes = phone_jpeg(&spec(|s| {
        (s.width, s.height) = (64, 48);
        s.orientation = Some(9);
    }));
    let inspected = inspect(&bytes, &Limits::default()).unwrap();
    assert_eq!(inspected.orientation, 1);
    assert_eq!(
        inspected.exif_problems.len(),
        1,
        "{:?}",
        inspected.exif_problems
    );
}

const SHORT: u16 = 3;
const LONG: u16 = 4;
const ORIENTATION: IfdEntry = (0x0112, SHORT, 1, 6);
const EXIF_POINTER: u16 = 0x8769;
const INTEROP_POINTER: u16 = 0xA005;

#[test]
fn looping_and_deeply_chained_exif_is_survived() {
    let chain: Vec<Ifd<'_>> = (0..2000u32)
        .map(|i| {
            let offset = 8 + i * 18;
            (offset, &[ORIENTATION][..], offset + 18)
        })
        .collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // IFD0 names itself as the next IFD.
        ("self loop", tiff(&[(8, &[ORIENTATION], 8)])),
        // The Exif sub-IFD pointer leads back to IFD0.
        (
            "sub-IFD loop",
            tiff(&[(8, &[ORIENTATION, (EXIF_POINTER, LONG, 1, 8)], 0)]),
        ),
        // Exif IFD -> Interop IFD -> Exif IFD.
        (
            "nested loop",
            tiff(&[
                (8, &[ORIENTATION, (EXIF_POINTER, LONG, 1, 40)], 0),
                (40, &[(INTEROP_POINTER, LONG, 1, 40)], 0),
            ]),
        ),
        // 2000 IFDs in a row.
        ("long chain", tiff(&chain)),
        // A value claiming four billion entries.
        (
            "huge count",
            tiff(&[(8, &[ORIENTATION, (0x010F, LONG, u32::MAX, 8)], 0)]),
        ),
    ];
    let small = phone_jpeg(&spec(|s| {
        (s.width, s.height) = (64, 48);
        s.orientation = None;
        s.gps = None;
        s.gps_time = None;
        s.captured = None;
        s.offset_minutes = None;
        s.make = None;
        s.model = None;
    }));
    for (name, block) in cases {
        let bytes = splice_exif(&small, &block);
        let (inspected, _) = ingest(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!inspected.exif_problems.is_empty(), "{name}");
        assert!(
            inspected.orientation == 6 || inspected.orientation == 1,
            "{name}"
        );
    }
}

// ---- orientation --------------------------------------------------------------------------

#[test]
fn every_exif_orientation_hashes_like_the_upright_photo() {
    let upright = dhash_of(original());
    for orientation in 1..=8u16 {
        let bytes = phone_jpeg(&spec(|s| s.orientation = Some(orientation)));
        let (inspected, analysis) = ingest(&bytes).unwrap();
        assert_eq!(inspected.orientation, orientation as u8);
        assert_eq!(inspected.upright_size(), (1024, 768));
        let turned = orientation >= 5;
        assert_eq!(inspected.width == 768, turned, "stored turned");
        assert_eq!(
            (analysis.thumbnail.width, analysis.thumbnail.height),
            (320, 240)
        );
        let distance = hamming(analysis.dhash, upright);
        assert!(distance <= 2, "orientation {orientation}: {distance} bits");
    }
}

// ---- look-alikes --------------------------------------------------------------------------

#[test]
fn the_scale_is_the_smallest_that_still_covers_the_thumbnail() {
    use super::ingest::scale_denominator;
    assert_eq!(scale_denominator(4000, 3000), 8);
    assert_eq!(scale_denominator(8160, 6120), 8);
    assert_eq!(scale_denominator(3000, 4000), 8);
    assert_eq!(scale_denominator(2048, 1536), 4);
    assert_eq!(scale_denominator(1024, 768), 2);
    assert_eq!(scale_denominator(640, 480), 2);
    assert_eq!(scale_denominator(600, 400), 1);
    assert_eq!(ingest(original()).unwrap().1.scale_denominator, 2);
}

#[test]
fn a_copy_reencoded_at_quality_70_is_within_3_bits() {
    let copy = reencode(original(), 70, &[]);
    let d = hamming(dhash_of(&copy), dhash_of(original()));
    assert!(d <= 3, "{d} bits");
}

#[test]
fn a_copy_resized_to_half_is_within_4_bits() {
    let copy = reencode(
        original(),
        85,
        &[Edit::Resize {
            width: 512,
            height: 384,
        }],
    );
    let d = hamming(dhash_of(&copy), dhash_of(original()));
    assert!(d <= 4, "{d} bits");
}

#[test]
fn a_brightened_copy_is_within_4_bits() {
    let copy = reencode(original(), 90, &[Edit::Brighten(20)]);
    let d = hamming(dhash_of(&copy), dhash_of(original()));
    assert!(d <= 4, "{d} bits");
}

#[test]
fn a_copy_turned_a_quarter_is_found_through_the_rotations() {
    let copy = reencode(original(), 90, &[Edit::Rotate90]);
    let (_, analysis) = ingest(&copy).unwrap();
    let original_hash = dhash_of(original());
    let best = analysis
        .dhash_rotations
        .iter()
        .map(|&h| hamming(h, original_hash))
        .min()
        .unwrap();
    assert!(best <= 3, "{best} bits");
    // Turning the copy back a quarter (three clockwise) is the match.
    assert!(hamming(analysis.dhash_rotations[3], original_hash) <= 3);
    assert_eq!(analysis.dhash, analysis.dhash_rotations[0]);
}

#[test]
fn a_slightly_cropped_copy_is_still_a_look_alike() {
    let copy = reencode(
        original(),
        90,
        &[Edit::Crop {
            left: 24,
            top: 16,
            width: 970,
            height: 730,
        }],
    );
    let d = hamming(dhash_of(&copy), dhash_of(original()));
    assert!(d <= 10, "{d} bits");
}

#[test]
fn different_scenes_are_far_apart() {
    let hashes: Vec<u64> = (100..111u64)
        .map(|scene| {
            dhash_of(&phone_jpeg(&spec(|s| {
                (s.width, s.height) = (512, 384);
                s.scene = scene;
            })))
        })
        .collect();
    let mut distances: Vec<u32> = hashes.windows(2).map(|p| hamming(p[0], p[1])).collect();
    assert!(distances.iter().all(|&d| d > 10), "{distances:?}");
    distances.sort_unstable();
    assert!(
        distances[distances.len() / 2] > 18,
        "median of {distances:?}"
    );
}

// ---- helpers ------------------------------------------------------------------------------

#[test]
fn sha256_is_lowercase_hex() {
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn every_refusal_has_a_code_a_status_and_two_messages() {
    let all = [
        PhotoError::Empty { len: 0 },
        PhotoError::TooLarge {
            len: 25_000_000,
            max: 20_000_000,
        },
        PhotoError::NotJpeg { found: "PNG" },
        PhotoError::Heic,
        PhotoError::TooManyPixels {
            width: 30000,
            height: 30000,
            max: 60_000_000,
        },
        PhotoError::Unsupported {
            what: "lossless".into(),
        },
        PhotoError::Truncated,
        PhotoError::Corrupt {
            reason: "bad Huffman code".into(),
        },
    ];
    let mut codes: Vec<&str> = all.iter().map(PhotoError::code).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), all.len());
    for e in &all {
        assert!([413, 415, 422].contains(&e.http_status()));
        assert!(!e.message_en().is_empty() && !e.message_zh().is_empty());
        // The decoder's wording stays in the logs.
        assert!(!e.message_en().contains("Huffman"));
    }
    assert_eq!(
        all[1].message_en(),
        "The photo is 25.0 MB, over the limit of 20.0 MB."
    );
    assert!(all[4].message_zh().contains("900.0 百万像素"));
}
