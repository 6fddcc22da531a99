//! Hostile images, all generated here (deterministic, no committed binaries): each is refused
//! with a stable code and a status of 413, 415 or 422, or accepted with a correct result; none
//! panics. The heap used on the bombs is measured in `tests/photo_heap.rs`, in a test binary
//! of its own with a counting allocator. docs/security.md lists which test covers which image.

use std::io::Cursor;

use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};

use super::fixtures::{
    FixtureColor, Ifd, IfdEntry, PhotoSpec, phone_jpeg, splice_exif, tiff, with_frame_size,
};
use super::*;

fn ingest(bytes: &[u8]) -> Result<(Inspected, Analysis), PhotoError> {
    inspect_and_analyse(bytes, &Limits::default())
}

fn refusal(bytes: &[u8]) -> PhotoError {
    match ingest(bytes) {
        Ok((inspected, _)) => panic!("accepted a {}x{} photo", inspected.width, inspected.height),
        Err(e) => e,
    }
}

/// A small photo without any EXIF, to splice hostile blocks into.
fn bare(width: u32, height: u32) -> Vec<u8> {
    phone_jpeg(&PhotoSpec {
        width,
        height,
        ..PhotoSpec::without_metadata()
    })
}

/// An EXIF block (TIFF) with exactly these primary-IFD fields, written by kamadak-exif's writer
/// as given: zero denominators, wrong types and counts included.
fn exif_with(fields: &[(Tag, Value)]) -> Vec<u8> {
    let fields: Vec<Field> = fields
        .iter()
        .map(|(tag, value)| Field {
            tag: *tag,
            ifd_num: In::PRIMARY,
            value: value.clone(),
        })
        .collect();
    let mut writer = Writer::new();
    for field in &fields {
        writer.push_field(field);
    }
    let mut tiff = Cursor::new(Vec::new());
    writer.write(&mut tiff, true).expect("fields are writable");
    tiff.into_inner()
}

fn ascii(s: &str) -> Value {
    Value::Ascii(vec![s.as_bytes().to_vec()])
}

fn rationals(parts: &[(u32, u32)]) -> Value {
    Value::Rational(parts.iter().map(|&p| Rational::from(p)).collect())
}

/// EXIF fields to write, in order.
type Fields = Vec<(Tag, Value)>;

/// Latitude and longitude fields of Honghu, with `lat` and `lon` replacing the values.
fn position(lat: Value, lon: Value) -> Fields {
    vec![
        (Tag::GPSLatitudeRef, ascii("N")),
        (Tag::GPSLatitude, lat),
        (Tag::GPSLongitudeRef, ascii("E")),
        (Tag::GPSLongitude, lon),
    ]
}

fn honghu_lat() -> Value {
    rationals(&[(29, 1), (49, 1), (4296, 100)])
}

fn honghu_lon() -> Value {
    rationals(&[(113, 1), (27, 1), (1944, 100)])
}

// ---- decompression bombs ------------------------------------------------------------------

#[test]
fn a_65535_by_65535_header_on_a_small_file_is_refused_from_the_header() {
    let bomb = with_frame_size(&bare(64, 48), 65535, 65535);
    assert!(bomb.len() < 10_000, "{} bytes", bomb.len());
    let e = inspect(&bomb, &Limits::default()).unwrap_err();
    assert_eq!(
        e,
        PhotoError::TooManyPixels {
            width: 65535,
            height: 65535,
            max: 60_000_000
        }
    );
    assert_eq!((e.code(), e.http_status()), ("photo_too_many_pixels", 413));
    assert!(e.message_en().contains("65535×65535"));
    assert!(e.message_zh().contains("65535×65535"));
    // Wide and thin or tall and narrow: the product counts, not the sides.
    for (w, h) in [(65535, 1000), (1000, 65535)] {
        let e = inspect(&with_frame_size(&bare(64, 48), w, h), &Limits::default()).unwrap_err();
        assert_eq!(e.code(), "photo_too_many_pixels", "{w}x{h}");
    }
}

#[test]
fn a_header_just_under_the_pixel_limit_on_a_small_body_is_refused_from_the_header() {
    // 7745 × 7745 is 59.98 MP, allowed by the pixel limit; but every 8×8 block of every
    // component takes at least one bit of scan data, and a few kB cannot code 1.4 million
    // blocks. Refused as truncated before any decoder sizes a buffer by the frame.
    for progressive in [false, true] {
        let small = phone_jpeg(&PhotoSpec {
            width: 64,
            height: 48,
            progressive,
            ..PhotoSpec::default()
        });
        let bomb = frame_size(&small, 7745, 7745);
        assert_eq!(
            inspect(&bomb, &Limits::default()),
            Err(PhotoError::Truncated),
            "progressive {progressive}"
        );
        // Padded past that floor, it reaches the decoder, which finds the scan far too short
        // for the frame (the heap this costs is measured in tests/photo_heap.rs).
        let mut padded = bomb.clone();
        padded.resize(bomb.len() + 400_000, 0);
        let inspected = inspect(&padded, &Limits::default()).unwrap();
        let e = analyse(&padded, &inspected).unwrap_err();
        assert_eq!(e.http_status(), 422, "progressive {progressive}: {e:?}");
    }
}

/// A progressive photo whose last scan is repeated `extra` times before the end marker: each
/// repeat is a valid refinement that makes the decoder walk its blocks again.
pub(super) fn with_repeated_last_scan(extra: usize) -> Vec<u8> {
    let photo = phone_jpeg(&PhotoSpec {
        width: 256,
        height: 192,
        progressive: true,
        ..PhotoSpec::default()
    });
    let last_scan = photo
        .windows(2)
        .rposition(|w| w == [0xFF, 0xDA])
        .expect("a scan");
    let eoi = photo.len() - 2;
    let mut out = photo[..eoi].to_vec();
    for _ in 0..extra {
        out.extend_from_slice(&photo[last_scan..eoi]);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

#[test]
fn a_progressive_file_of_thousands_of_scans_is_refused_at_the_scan_limit() {
    // Decoded, 5000 scans of a large frame would cost minutes; a camera writes about ten.
    let honest = with_repeated_last_scan(0);
    let (inspected, analysis) = ingest(&honest).unwrap();
    assert!(inspected.progressive);
    let bomb = with_repeated_last_scan(5000);
    let e = refusal(&bomb);
    assert_eq!(
        (e.code(), e.http_status()),
        ("photo_unsupported_jpeg", 415),
        "{e:?}"
    );
    // A few repeats more than the camera wrote are still read, and hash the same.
    let (_, repeated) = ingest(&with_repeated_last_scan(20)).unwrap();
    assert_eq!(repeated.dhash, analysis.dhash);
}

/// [`with_frame_size`] for baseline and progressive frame headers alike.
pub(super) fn frame_size(jpeg: &[u8], width: u16, height: u16) -> Vec<u8> {
    let mut bytes = jpeg.to_vec();
    let sof = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xC0] || w == [0xFF, 0xC2])
        .expect("a frame header");
    bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    bytes
}

// ---- EXIF structure -----------------------------------------------------------------------

const SHORT: u16 = 3;
const LONG: u16 = 4;
const ORIENTATION_6: IfdEntry = (0x0112, SHORT, 1, 6);
const EXIF_IFD: u16 = 0x8769;
const GPS_IFD: u16 = 0x8825;
const INTEROP_IFD: u16 = 0xA005;

/// The hostile EXIF structures, by name: IFDs pointing at themselves or each other, long chains
/// and sub-IFDs nested as deep as the format allows, and counts past the end of the block.
pub(super) fn hostile_exif_blocks() -> Vec<(&'static str, Vec<u8>)> {
    // 3000 IFDs, each naming the next: far more than a block of 64 KiB can be meant to hold.
    let chain: Vec<Ifd<'_>> = (0..3000u32)
        .map(|i| {
            let offset = 8 + i * 18;
            (offset, &[ORIENTATION_6][..], offset + 18)
        })
        .collect();
    vec![
        (
            "IFD0 names itself as the next IFD",
            tiff(&[(8, &[ORIENTATION_6], 8)]),
        ),
        (
            "IFD0 and IFD1 name each other",
            tiff(&[(8, &[ORIENTATION_6], 26), (26, &[ORIENTATION_6], 8)]),
        ),
        (
            "the Exif sub-IFD pointer leads back to IFD0",
            tiff(&[(8, &[ORIENTATION_6, (EXIF_IFD, LONG, 1, 8)], 0)]),
        ),
        (
            "the GPS sub-IFD points at itself",
            tiff(&[
                (8, &[ORIENTATION_6, (GPS_IFD, LONG, 1, 40)], 0),
                (40, &[(GPS_IFD, LONG, 1, 40)], 0),
            ]),
        ),
        (
            "IFD0 -> Exif -> Interop -> Exif, nested in a loop",
            tiff(&[
                (8, &[ORIENTATION_6, (EXIF_IFD, LONG, 1, 40)], 0),
                (40, &[(INTEROP_IFD, LONG, 1, 60), (GPS_IFD, LONG, 1, 60)], 0),
                (
                    60,
                    &[(EXIF_IFD, LONG, 1, 40), (INTEROP_IFD, LONG, 1, 60)],
                    0,
                ),
            ]),
        ),
        ("3000 chained IFDs", tiff(&chain)),
        (
            "a Make value claiming four billion entries",
            tiff(&[(8, &[ORIENTATION_6, (0x010F, LONG, u32::MAX, 8)], 0)]),
        ),
        ("65535 entries declared in an IFD of two", {
            let mut block = tiff(&[(8, &[ORIENTATION_6], 0)]);
            block[8..10].copy_from_slice(&u16::MAX.to_le_bytes());
            block
        }),
        (
            "IFD0 offset past the end",
            b"II*\0\xff\xff\xff\x7f".to_vec(),
        ),
        ("a TIFF header and nothing else", b"MM\0*".to_vec()),
    ]
}

#[test]
fn looping_nested_and_overlong_exif_is_survived_and_noted() {
    let small = bare(64, 48);
    for (name, block) in hostile_exif_blocks() {
        let bytes = splice_exif(&small, &block);
        let (inspected, analysis) = ingest(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        // A pointer inside the GPS IFD is only a value (the GPS IFD has no sub-IFDs): no
        // loop to cut there. Every other block is broken and says so.
        if !name.starts_with("the GPS sub-IFD") {
            assert!(
                !inspected.exif_problems.is_empty(),
                "{name}: no problem noted"
            );
        }
        // Whatever survives is a valid orientation; the picture is hashed either way.
        assert!(matches!(inspected.orientation, 1 | 6), "{name}");
        assert_eq!(analysis.dhash, analysis.dhash_rotations[0], "{name}");
    }
}

// ---- GPS values ---------------------------------------------------------------------------

#[test]
fn gps_out_of_range_nan_or_with_zero_denominators_is_dropped_and_the_problem_noted() {
    use GpsProblem::*;
    let cases: Vec<(&str, Fields, GpsProblem)> = vec![
        (
            "latitude 0/0 (NaN)",
            position(rationals(&[(0, 0), (0, 0), (0, 0)]), honghu_lon()),
            NotFinite,
        ),
        (
            "longitude degrees 113/0 (infinite)",
            position(honghu_lat(), rationals(&[(113, 0), (27, 1), (0, 1)])),
            NotFinite,
        ),
        (
            "seconds with a zero denominator",
            position(rationals(&[(29, 1), (49, 1), (4, 0)]), honghu_lon()),
            NotFinite,
        ),
        (
            "latitude 91°",
            position(rationals(&[(91, 1), (0, 1), (0, 1)]), honghu_lon()),
            LatitudeOutOfRange,
        ),
        (
            "latitude 89° 59' 3600\" (over 90° once summed)",
            position(rationals(&[(89, 1), (59, 1), (3600, 1)]), honghu_lon()),
            LatitudeOutOfRange,
        ),
        (
            "longitude 4294967295°",
            position(honghu_lat(), rationals(&[(u32::MAX, 1)])),
            LongitudeOutOfRange,
        ),
        (
            "0°, 0° (no fix)",
            position(rationals(&[(0, 1)]), rationals(&[(0, 1)])),
            NullIsland,
        ),
        (
            "four rationals",
            position(rationals(&[(29, 1), (49, 1), (4, 1), (1, 1)]), honghu_lon()),
            Malformed,
        ),
        (
            "no rationals at all",
            position(Value::Rational(vec![]), honghu_lon()),
            Malformed,
        ),
        (
            "latitude as text",
            position(ascii("29.8286"), honghu_lon()),
            Malformed,
        ),
        (
            "a reference other than N or S",
            vec![
                (Tag::GPSLatitudeRef, ascii("X")),
                (Tag::GPSLatitude, honghu_lat()),
                (Tag::GPSLongitudeRef, ascii("E")),
                (Tag::GPSLongitude, honghu_lon()),
            ],
            Incomplete,
        ),
        (
            "latitude without longitude",
            vec![
                (Tag::GPSLatitudeRef, ascii("N")),
                (Tag::GPSLatitude, honghu_lat()),
            ],
            Incomplete,
        ),
    ];
    let small = bare(64, 48);
    for (name, fields, problem) in cases {
        let bytes = splice_exif(&small, &exif_with(&fields));
        let (inspected, _) = ingest(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(inspected.gps, None, "{name}");
        assert_eq!(inspected.gps_problem, Some(problem), "{name}");
    }
}

#[test]
fn a_nan_or_infinite_altitude_and_gps_time_are_dropped_but_the_position_kept() {
    let small = bare(64, 48);
    for (name, altitude) in [
        ("0/0", rationals(&[(0, 0)])),
        ("12/0", rationals(&[(12, 0)])),
        ("no value", Value::Rational(vec![])),
        ("text", ascii("26 m")),
    ] {
        let mut fields = position(honghu_lat(), honghu_lon());
        fields.push((Tag::GPSAltitudeRef, Value::Byte(vec![0])));
        fields.push((Tag::GPSAltitude, altitude));
        fields.push((Tag::GPSDateStamp, ascii("2024:05:14")));
        fields.push((Tag::GPSTimeStamp, rationals(&[(2, 0), (31, 1), (0, 0)])));
        let bytes = splice_exif(&small, &exif_with(&fields));
        let (inspected, _) = ingest(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let gps = inspected
            .gps
            .unwrap_or_else(|| panic!("{name}: position lost"));
        assert!((gps.lat - 29.8286).abs() < 1e-3, "{name}: {gps:?}");
        assert!((gps.lon - 113.4554).abs() < 1e-3, "{name}: {gps:?}");
        assert_eq!(gps.alt_m, None, "{name}");
        assert_eq!(
            inspected.gps_problem,
            Some(GpsProblem::AltitudeInvalid),
            "{name}"
        );
        assert_eq!(inspected.gps_time, None, "{name}");
    }
}

// ---- empty, cut short ---------------------------------------------------------------------

#[test]
fn zero_one_and_two_byte_files_are_refused() {
    let cases: [(&[u8], &str, u16); 4] = [
        (&[], "photo_empty", 422),
        (&[0xFF], "photo_empty", 422),
        (&[0x00], "photo_empty", 422),
        // A JPEG's first two bytes and nothing more.
        (&[0xFF, 0xD8], "photo_not_jpeg", 415),
    ];
    for (bytes, code, status) in cases {
        let e = refusal(bytes);
        assert_eq!((e.code(), e.http_status()), (code, status), "{bytes:?}");
    }
}

#[test]
fn a_valid_header_with_a_truncated_or_missing_scan_is_refused() {
    let photo = bare(256, 192);
    let scan = photo
        .windows(2)
        .position(|w| w == [0xFF, 0xDA])
        .expect("a scan header");
    let scan_len = usize::from(u16::from_be_bytes([photo[scan + 2], photo[scan + 3]]));
    let header_end = scan + 2 + scan_len;
    let body = photo.len() - 2 - header_end;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "cut right after the scan header",
            photo[..header_end].to_vec(),
        ),
        ("ten bytes of scan", photo[..header_end + 10].to_vec()),
        (
            "cut at 90% of the scan",
            photo[..header_end + body * 9 / 10].to_vec(),
        ),
        ("an end marker right after the scan header", {
            let mut b = photo[..header_end].to_vec();
            b.extend_from_slice(&[0xFF, 0xD9]);
            b
        }),
        ("a tenth of the scan, then an end marker", {
            let mut b = photo[..header_end + body / 10].to_vec();
            b.extend_from_slice(&[0xFF, 0xD9]);
            b
        }),
        (
            "the scan header itself cut",
            photo[..header_end - 3].to_vec(),
        ),
    ];
    for (name, bytes) in cases {
        let e = refusal(&bytes);
        assert!(
            matches!(e, PhotoError::Truncated | PhotoError::Corrupt { .. }),
            "{name}: {e:?}"
        );
        assert_eq!(e.http_status(), 422, "{name}");
    }
}

// ---- colour models and formats ------------------------------------------------------------

#[test]
fn a_cmyk_jpeg_with_an_adobe_marker_hashes_like_its_rgb_twin() {
    let rgb = phone_jpeg(&PhotoSpec {
        width: 512,
        height: 384,
        ..PhotoSpec::default()
    });
    let cmyk = phone_jpeg(&PhotoSpec {
        width: 512,
        height: 384,
        color: FixtureColor::Cmyk,
        ..PhotoSpec::default()
    });
    assert!(
        cmyk.windows(9)
            .any(|w| w[..2] == [0xFF, 0xEE] && &w[4..] == b"Adobe"),
        "the fixture carries an APP14 Adobe segment"
    );
    let (inspected, analysis) = ingest(&cmyk).unwrap();
    assert_eq!(inspected.color, ColorModel::Cmyk);
    assert_eq!(
        (analysis.thumbnail.width, analysis.thumbnail.height),
        (320, 240)
    );
    let (_, reference) = ingest(&rgb).unwrap();
    let d = hamming(analysis.dhash, reference.dhash);
    assert!(d <= 3, "{d} bits");
    let thumb = image::load_from_memory(&analysis.thumbnail.jpeg).unwrap();
    assert_eq!(thumb.color(), image::ColorType::Rgb8);
}

#[test]
fn a_grayscale_jpeg_hashes_like_its_colour_twin() {
    let spec = |color| PhotoSpec {
        width: 512,
        height: 384,
        color,
        ..PhotoSpec::default()
    };
    let (inspected, gray) = ingest(&phone_jpeg(&spec(FixtureColor::Grayscale))).unwrap();
    assert_eq!(inspected.color, ColorModel::Grayscale);
    let (_, colour) = ingest(&phone_jpeg(&spec(FixtureColor::Color))).unwrap();
    let d = hamming(gray.dhash, colour.dhash);
    assert!(d <= 3, "{d} bits");
    let thumb = image::load_from_memory(&gray.thumbnail.jpeg).unwrap();
    assert_eq!(thumb.color(), image::ColorType::L8);
}

/// A 16-bit RGB PNG, as a scanner or an editing app writes one.
pub(super) fn png_16_bit() -> Vec<u8> {
    let picture = image::ImageBuffer::from_fn(48, 32, |x, y| {
        image::Rgb([x as u16 * 1300, y as u16 * 2000, 40_000u16])
    });
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb16(picture)
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    png
}

#[test]
fn a_16_bit_png_renamed_jpg_is_refused_as_a_png() {
    // The name plays no part: the bytes are sniffed.
    let png = png_16_bit();
    assert_eq!(&png[24..26], &[16, 2], "bit depth 16, colour type RGB");
    let e = refusal(&png);
    assert_eq!(e, PhotoError::NotJpeg { found: "PNG" });
    assert_eq!((e.code(), e.http_status()), ("photo_not_jpeg", 415));
    assert!(e.message_en().contains("PNG") && e.message_zh().contains("PNG"));
}

#[test]
fn a_12_or_16_bit_jpeg_frame_is_unsupported() {
    for precision in [12u8, 16] {
        let mut bytes = bare(64, 48);
        let sof = bytes.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        bytes[sof + 1] = 0xC1;
        bytes[sof + 4] = precision;
        let e = refusal(&bytes);
        assert_eq!(
            (e.code(), e.http_status()),
            ("photo_unsupported_jpeg", 415),
            "{precision}-bit"
        );
    }
}

// ---- orientation --------------------------------------------------------------------------

/// Mean absolute difference between two same-sized thumbnails, per channel value.
fn thumbnail_difference(a: &Thumbnail, b: &Thumbnail) -> f64 {
    assert_eq!((a.width, a.height), (b.width, b.height));
    let a = image::load_from_memory(&a.jpeg).unwrap().to_rgb8();
    let b = image::load_from_memory(&b.jpeg).unwrap().to_rgb8();
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

#[test]
fn every_exif_orientation_gives_the_upright_hash_and_an_upright_thumbnail() {
    let spec = |orientation| PhotoSpec {
        width: 640,
        height: 400,
        orientation: Some(orientation),
        ..PhotoSpec::default()
    };
    let (_, upright) = ingest(&phone_jpeg(&spec(1))).unwrap();
    // A thumbnail turned the wrong way differs by far more than re-encoding noise: the
    // stored picture as is (no orientation applied) shows what "wrong" looks like.
    let sideways = phone_jpeg(&spec(3));
    let unturned = inspect(&sideways, &Limits::default())
        .map(|mut i| {
            i.orientation = 1;
            analyse(&sideways, &i).unwrap()
        })
        .unwrap();
    let wrong = thumbnail_difference(&unturned.thumbnail, &upright.thumbnail);
    assert!(wrong > 20.0, "an upside-down thumbnail differs by {wrong}");
    for orientation in 1..=8u16 {
        let bytes = phone_jpeg(&spec(orientation));
        let (inspected, analysis) = ingest(&bytes).unwrap();
        assert_eq!(inspected.orientation, orientation as u8);
        let stored = (inspected.width, inspected.height);
        assert_eq!(
            stored,
            if orientation >= 5 {
                (400, 640)
            } else {
                (640, 400)
            }
        );
        assert_eq!(inspected.upright_size(), (640, 400));
        let d = hamming(analysis.dhash, upright.dhash);
        assert!(d <= 3, "orientation {orientation}: {d} bits");
        assert_eq!(
            (analysis.thumbnail.width, analysis.thumbnail.height),
            (320, 200),
            "orientation {orientation}"
        );
        let diff = thumbnail_difference(&analysis.thumbnail, &upright.thumbnail);
        assert!(
            diff < 4.0,
            "orientation {orientation}: thumbnail differs by {diff}"
        );
    }
}
