//! What the EXIF block says: GPS position and time, capture time, orientation, camera.
//! EXIF is evidence, not a gate: anything malformed is dropped and noted, never a refusal.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use exif::{Exif, Field, In, Tag, Value};
use serde::{Deserialize, Serialize};

/// A GPS position that passed the range checks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Gps {
    pub lat: f64,
    pub lon: f64,
    /// Metres above sea level; absent when missing or implausible.
    pub alt_m: Option<f64>,
}

/// Why GPS data present in the file was not used (or, for the altitude, only partly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GpsProblem {
    /// Latitude without longitude, or a missing N/S/E/W reference.
    Incomplete,
    /// Wrong value types or counts.
    Malformed,
    /// A zero denominator or similar: NaN or infinite degrees.
    NotFinite,
    LatitudeOutOfRange,
    LongitudeOutOfRange,
    /// Exactly 0°, 0°: what phones write when they had no fix.
    NullIsland,
    /// Position kept, altitude dropped.
    AltitudeInvalid,
}

/// `DateTimeOriginal`, read as the camera's local wall-clock time. `utc` is set only when
/// `OffsetTimeOriginal` says which zone that was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureTime {
    pub local: NaiveDateTime,
    pub offset_minutes: Option<i32>,
    pub utc: Option<DateTime<Utc>>,
}

/// The fields of interest, each validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PhotoMetadata {
    pub gps: Option<Gps>,
    pub gps_problem: Option<GpsProblem>,
    pub gps_time: Option<DateTime<Utc>>,
    pub captured: Option<CaptureTime>,
    pub orientation: Option<u8>,
    pub make: Option<String>,
    pub model: Option<String>,
    pub problems: Vec<String>,
}

/// Longest Make/Model kept; longer values are cut.
const MAX_TEXT_CHARS: usize = 64;

/// Parses a TIFF-structured EXIF block. kamadak-exif refuses already-visited IFD offsets (loops),
/// reads at most 8 top-level IFDs with non-recursive sub-IFDs, and checks every value's extent
/// against the block (at most 64 KiB in a JPEG), so crafted blocks cost bounded time and memory.
pub(crate) fn read_metadata(tiff: &[u8]) -> PhotoMetadata {
    let mut meta = PhotoMetadata::default();
    let parsed = exif::Reader::new()
        .continue_on_error(true)
        .read_raw(tiff.to_vec())
        .or_else(|e| {
            e.distill_partial_result(|errors| {
                meta.problems
                    .extend(errors.iter().map(|e| format!("EXIF: {e}")));
            })
        });
    let exif = match parsed {
        Ok(exif) => exif,
        Err(e) => {
            meta.problems.push(format!("EXIF unreadable: {e}"));
            return meta;
        }
    };
    match read_gps(&exif) {
        Ok(gps) => meta.gps = gps,
        Err(problem) => meta.gps_problem = Some(problem),
    }
    if let Some(gps) = &mut meta.gps
        && let Err(problem) = read_altitude(&exif).map(|alt| gps.alt_m = alt)
    {
        meta.gps_problem = Some(problem);
    }
    meta.gps_time = read_gps_time(&exif);
    meta.captured = read_capture_time(&exif, &mut meta.problems);
    meta.orientation = read_orientation(&exif, &mut meta.problems);
    meta.make = read_text(&exif, Tag::Make);
    meta.model = read_text(&exif, Tag::Model);
    meta
}

fn field(exif: &Exif, tag: Tag) -> Option<&Field> {
    exif.get_field(tag, In::PRIMARY)
}

fn ascii(exif: &Exif, tag: Tag) -> Option<&[u8]> {
    match &field(exif, tag)?.value {
        Value::Ascii(values) => values.first().map(Vec::as_slice),
        _ => None,
    }
}

fn read_gps(exif: &Exif) -> Result<Option<Gps>, GpsProblem> {
    let lat = field(exif, Tag::GPSLatitude);
    let lon = field(exif, Tag::GPSLongitude);
    let (lat, lon) = match (lat, lon) {
        (None, None) => return Ok(None),
        (Some(lat), Some(lon)) => (lat, lon),
        _ => return Err(GpsProblem::Incomplete),
    };
    let lat_sign = match ascii(exif, Tag::GPSLatitudeRef) {
        Some(b"N") => 1.0,
        Some(b"S") => -1.0,
        _ => return Err(GpsProblem::Incomplete),
    };
    let lon_sign = match ascii(exif, Tag::GPSLongitudeRef) {
        Some(b"E") => 1.0,
        Some(b"W") => -1.0,
        _ => return Err(GpsProblem::Incomplete),
    };
    let lat = lat_sign * degrees(&lat.value)?;
    let lon = lon_sign * degrees(&lon.value)?;
    if !(-90.0..=90.0).contains(&lat) {
        return Err(GpsProblem::LatitudeOutOfRange);
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(GpsProblem::LongitudeOutOfRange);
    }
    if lat == 0.0 && lon == 0.0 {
        return Err(GpsProblem::NullIsland);
    }
    Ok(Some(Gps {
        lat,
        lon,
        alt_m: None,
    }))
}

/// Degrees, minutes, seconds as up to three unsigned rationals.
fn degrees(value: &Value) -> Result<f64, GpsProblem> {
    let Value::Rational(parts) = value else {
        return Err(GpsProblem::Malformed);
    };
    if parts.is_empty() || parts.len() > 3 {
        return Err(GpsProblem::Malformed);
    }
    let total: f64 = parts
        .iter()
        .zip([1.0, 60.0, 3600.0])
        .map(|(r, unit)| r.to_f64() / unit)
        .sum();
    if total.is_finite() {
        Ok(total)
    } else {
        Err(GpsProblem::NotFinite)
    }
}

/// Highest and lowest plausible altitudes for a photo taken on the ground, in metres.
const ALTITUDE_RANGE_M: std::ops::RangeInclusive<f64> = -500.0..=9000.0;

fn read_altitude(exif: &Exif) -> Result<Option<f64>, GpsProblem> {
    let Some(alt) = field(exif, Tag::GPSAltitude) else {
        return Ok(None);
    };
    let Value::Rational(parts) = &alt.value else {
        return Err(GpsProblem::AltitudeInvalid);
    };
    let below_sea_level =
        field(exif, Tag::GPSAltitudeRef).and_then(|f| f.value.get_uint(0)) == Some(1);
    let metres = parts.first().map(|r| r.to_f64()).unwrap_or(f64::NAN);
    let metres = if below_sea_level { -metres } else { metres };
    if metres.is_finite() && ALTITUDE_RANGE_M.contains(&metres) {
        Ok(Some(metres))
    } else {
        Err(GpsProblem::AltitudeInvalid)
    }
}

/// `GPSDateStamp` ("YYYY:MM:DD") plus `GPSTimeStamp` (h, m, s rationals), always UTC.
fn read_gps_time(exif: &Exif) -> Option<DateTime<Utc>> {
    let date = std::str::from_utf8(ascii(exif, Tag::GPSDateStamp)?).ok()?;
    let date = NaiveDate::parse_from_str(date.trim(), "%Y:%m:%d").ok()?;
    let Value::Rational(hms) = &field(exif, Tag::GPSTimeStamp)?.value else {
        return None;
    };
    let [h, m, s] = hms.as_slice() else {
        return None;
    };
    let (h, m, s) = (h.to_f64(), m.to_f64(), s.to_f64());
    let valid = (0.0..24.0).contains(&h) && (0.0..60.0).contains(&m) && (0.0..61.0).contains(&s);
    if !valid || h.fract() != 0.0 || m.fract() != 0.0 {
        return None;
    }
    let millis = (s * 1000.0).round() as i64;
    let time = date.and_hms_opt(h as u32, m as u32, 0)? + TimeDelta::milliseconds(millis);
    Some(time.and_utc())
}

fn read_capture_time(exif: &Exif, problems: &mut Vec<String>) -> Option<CaptureTime> {
    let raw = ascii(exif, Tag::DateTimeOriginal)?;
    let mut parsed = match exif::DateTime::from_ascii(raw) {
        Ok(parsed) => parsed,
        Err(e) => {
            problems.push(format!("DateTimeOriginal ignored: {e}"));
            return None;
        }
    };
    if let Some(subsec) = ascii(exif, Tag::SubSecTimeOriginal) {
        // Sub-seconds are a refinement; a bad value just leaves them out.
        let _ = parsed.parse_subsec(subsec);
    }
    let local = NaiveDate::from_ymd_opt(
        i32::from(parsed.year),
        u32::from(parsed.month),
        u32::from(parsed.day),
    )
    .and_then(|d| {
        d.and_hms_nano_opt(
            u32::from(parsed.hour),
            u32::from(parsed.minute),
            u32::from(parsed.second),
            parsed.nanosecond.unwrap_or(0),
        )
    });
    let Some(local) = local else {
        problems.push("DateTimeOriginal ignored: not a calendar date and time".into());
        return None;
    };
    let offset_minutes = ascii(exif, Tag::OffsetTimeOriginal).and_then(|raw| {
        match parsed.parse_offset(raw) {
            // Real zones lie within UTC-12:00..UTC+14:00.
            Ok(()) => parsed
                .offset
                .map(i32::from)
                .filter(|m| (-720..=840).contains(m)),
            Err(_) => None,
        }
        .or_else(|| {
            problems.push("OffsetTimeOriginal ignored: not a UTC offset".into());
            None
        })
    });
    let utc = offset_minutes.map(|m| (local - TimeDelta::minutes(i64::from(m))).and_utc());
    Some(CaptureTime {
        local,
        offset_minutes,
        utc,
    })
}

fn read_orientation(exif: &Exif, problems: &mut Vec<String>) -> Option<u8> {
    let value = field(exif, Tag::Orientation)?.value.get_uint(0);
    match value {
        Some(v @ 1..=8) => Some(v as u8),
        _ => {
            problems.push(format!("Orientation {value:?} ignored: not 1-8"));
            None
        }
    }
}

fn read_text(exif: &Exif, tag: Tag) -> Option<String> {
    let raw = ascii(exif, tag)?;
    let text = String::from_utf8_lossy(raw);
    let text: String = text
        .trim_matches(|c: char| c == '\0' || c.is_whitespace())
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_TEXT_CHARS)
        .collect();
    (!text.is_empty()).then_some(text)
}
