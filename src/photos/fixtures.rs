//! Test and benchmark support; the service never calls it. Builds deterministic, natural-looking
//! phone photos (a house-like scene of gradients and shapes with grass, leaf and plaster texture
//! and sensor grain, not random noise; 12 MP at quality 90 weighs about 4.3 MB) as baseline
//! 4:2:0 JPEGs like phone cameras write, with real EXIF written by kamadak-exif's writer, plus
//! the edits a copied photo goes through (re-encoding, resizing, brightening, turning,
//! cropping). `image`'s own JPEG encoder only writes 4:4:4, hence the small encoder here. No
//! progressive output: the encoder is baseline only.

use std::io::Cursor;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};
use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{PixelType, Resizer};

/// A GPS position to write; NaN or out-of-range values are written as given (NaN as 0/0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FixtureGps {
    pub lat: f64,
    pub lon: f64,
    pub alt_m: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixtureColor {
    /// YCbCr with 2×2 chroma subsampling, as phones write.
    Color,
    Grayscale,
    /// Adobe-style CMYK (inverted storage, APP14 transform 0), as print workflows write.
    Cmyk,
}

/// Changes applied to the upright picture before it is stored, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    Resize {
        width: u32,
        height: u32,
    },
    /// Adds this to every channel, clamped.
    Brighten(i16),
    /// A quarter turn clockwise.
    Rotate90,
    Crop {
        left: u32,
        top: u32,
        width: u32,
        height: u32,
    },
}

/// What to build. `Default` is a 1024×768 colour photo of scene 1 at quality 90 with GPS in
/// Honghu, Hubei, a capture time in UTC+8, orientation 1 and a phone make and model.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoSpec {
    /// Size of the rendered upright scene, before `edits`.
    pub width: u32,
    pub height: u32,
    /// Scene seed: different seeds are different "houses".
    pub scene: u64,
    pub quality: u8,
    /// Progressive (as some phones and most web tools write) rather than baseline; colour only.
    pub progressive: bool,
    pub color: FixtureColor,
    pub edits: Vec<Edit>,
    /// EXIF Orientation. For 2-8 the pixels are stored turned the way a camera held that way
    /// stores them, so applying the tag gives back the upright scene; other values are written
    /// as given over upright pixels.
    pub orientation: Option<u16>,
    pub gps: Option<FixtureGps>,
    pub gps_time: Option<DateTime<Utc>>,
    /// DateTimeOriginal, local wall-clock time.
    pub captured: Option<NaiveDateTime>,
    /// OffsetTimeOriginal in minutes east of UTC.
    pub offset_minutes: Option<i32>,
    pub make: Option<String>,
    pub model: Option<String>,
}

impl Default for PhotoSpec {
    fn default() -> Self {
        let day = NaiveDate::from_ymd_opt(2024, 5, 14).expect("valid date");
        Self {
            width: 1024,
            height: 768,
            scene: 1,
            quality: 90,
            progressive: false,
            color: FixtureColor::Color,
            edits: Vec::new(),
            orientation: Some(1),
            gps: Some(FixtureGps {
                lat: 29.8286,
                lon: 113.4554,
                alt_m: 26.5,
            }),
            gps_time: day.and_hms_opt(2, 31, 5).map(|t| t.and_utc()),
            captured: day.and_hms_opt(10, 31, 4),
            offset_minutes: Some(480),
            make: Some("Xiaomi".into()),
            model: Some("Redmi Note 12".into()),
        }
    }
}

impl PhotoSpec {
    /// The default picture with no EXIF at all: no orientation, GPS, times or camera.
    pub fn without_metadata() -> Self {
        Self {
            orientation: None,
            gps: None,
            gps_time: None,
            captured: None,
            offset_minutes: None,
            make: None,
            model: None,
            ..Self::default()
        }
    }
}

/// A phone-like JPEG per `spec`.
pub fn phone_jpeg(spec: &PhotoSpec) -> Vec<u8> {
    let mut picture = render_scene(spec.width, spec.height, spec.scene);
    for edit in &spec.edits {
        picture = picture.edited(*edit);
    }
    let stored = match spec.orientation {
        Some(o @ 2..=8) => picture.stored_for_orientation(o),
        _ => picture,
    };
    let jpeg = if spec.progressive {
        encode_progressive(&stored, spec.quality)
    } else {
        encode(&stored, spec.quality, spec.color)
    };
    match exif_block(spec) {
        Some(tiff) => splice_exif(&jpeg, &tiff),
        None => jpeg,
    }
}

/// A copy as a messaging app or a second upload would make it: decoded (pixels as stored),
/// edited, encoded again at `quality` without EXIF.
///
/// # Panics
/// On anything but a colour or grayscale baseline JPEG this module can read.
pub fn reencode(jpeg: &[u8], quality: u8, edits: &[Edit]) -> Vec<u8> {
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(jpeg));
    let pixels = decoder.decode().expect("fixture input decodes");
    let info = decoder.info().expect("decoded JPEG has a frame");
    let (rgb, color) = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => (pixels, FixtureColor::Color),
        jpeg_decoder::PixelFormat::L8 => (
            pixels.iter().flat_map(|&v| [v, v, v]).collect(),
            FixtureColor::Grayscale,
        ),
        other => panic!("fixtures re-encode colour and grayscale JPEGs only, not {other:?}"),
    };
    let mut picture = Picture {
        width: u32::from(info.width),
        height: u32::from(info.height),
        rgb,
    };
    for edit in edits {
        picture = picture.edited(*edit);
    }
    encode(&picture, quality, color)
}

/// A TIFF IFD entry: tag, type, count, value (or value offset).
pub type IfdEntry = (u16, u16, u32, u32);
/// An IFD at an offset, with its entries and the offset of the next IFD.
pub type Ifd<'a> = (u32, &'a [IfdEntry], u32);

/// A little-endian TIFF block laid out by hand (the header, then each IFD at its offset), for
/// EXIF structures no writer would produce: loops, long chains, counts past the end.
pub fn tiff(ifds: &[Ifd<'_>]) -> Vec<u8> {
    let mut out = b"II*\0\x08\0\0\0".to_vec();
    for &(offset, entries, next) in ifds {
        out.resize(offset as usize, 0);
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        for &(tag, typ, count, value) in entries {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&typ.to_le_bytes());
            out.extend_from_slice(&count.to_le_bytes());
            out.extend_from_slice(&value.to_le_bytes());
        }
        out.extend_from_slice(&next.to_le_bytes());
    }
    out
}

/// Inserts `tiff` as an `APP1 Exif` segment right after SOI, where cameras put it.
///
/// # Panics
/// If `tiff` does not fit in one segment (64 KiB).
pub fn splice_exif(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
    let seg_len = u16::try_from(2 + 6 + tiff.len()).expect("EXIF fits in one APP1 segment");
    let mut out = Vec::with_capacity(jpeg.len() + tiff.len() + 10);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&seg_len.to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// An upright RGB picture.
#[derive(Debug, Clone)]
struct Picture {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl Picture {
    fn at(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// Builds a `width`×`height` picture whose pixel (x, y) is `self`'s pixel `source(x, y)`.
    fn remapped(&self, width: u32, height: u32, source: impl Fn(u32, u32) -> (u32, u32)) -> Self {
        let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
        for y in 0..height {
            for x in 0..width {
                let (sx, sy) = source(x, y);
                rgb.extend_from_slice(&self.at(sx, sy));
            }
        }
        Picture { width, height, rgb }
    }

    fn edited(self, edit: Edit) -> Self {
        let (w, h) = (self.width, self.height);
        match edit {
            Edit::Resize { width, height } => {
                let src = ImageRef::new(w, h, &self.rgb, PixelType::U8x3).expect("sized buffer");
                let mut dst = Image::new(width, height, PixelType::U8x3);
                Resizer::new()
                    .resize(&src, &mut dst, None)
                    .expect("same pixel type");
                Picture {
                    width,
                    height,
                    rgb: dst.into_vec(),
                }
            }
            Edit::Brighten(delta) => Picture {
                rgb: self
                    .rgb
                    .iter()
                    .map(|&v| (i16::from(v) + delta).clamp(0, 255) as u8)
                    .collect(),
                ..self
            },
            // The new top row is the old left column, read bottom to top.
            Edit::Rotate90 => self.remapped(h, w, |x, y| (y, h - 1 - x)),
            Edit::Crop {
                left,
                top,
                width,
                height,
            } => self.remapped(width, height, |x, y| (left + x, top + y)),
        }
    }

    /// The pixels a camera stores for EXIF orientation `o`, from the Exif 2.3 definition of
    /// where the stored 0th row and 0th column appear in the upright picture.
    fn stored_for_orientation(&self, o: u16) -> Self {
        let (w, h) = (self.width, self.height);
        match o {
            // 0th row at the top, 0th column on the right.
            2 => self.remapped(w, h, |x, y| (w - 1 - x, y)),
            // 0th row at the bottom, 0th column on the right.
            3 => self.remapped(w, h, |x, y| (w - 1 - x, h - 1 - y)),
            // 0th row at the bottom, 0th column on the left.
            4 => self.remapped(w, h, |x, y| (x, h - 1 - y)),
            // 0th row on the left, 0th column at the top.
            5 => self.remapped(h, w, |x, y| (y, x)),
            // 0th row on the right, 0th column at the top.
            6 => self.remapped(h, w, |x, y| (w - 1 - y, x)),
            // 0th row on the right, 0th column at the bottom.
            7 => self.remapped(h, w, |x, y| (w - 1 - y, h - 1 - x)),
            // 0th row on the left, 0th column at the bottom.
            8 => self.remapped(h, w, |x, y| (y, h - 1 - x)),
            _ => self.clone(),
        }
    }
}

/// splitmix64: a tiny deterministic generator, so fixtures never change between runs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * ((self.next() >> 40) as f32 / (1u64 << 24) as f32)
    }

    fn color(&mut self, lo: [f32; 3], hi: [f32; 3]) -> [f32; 3] {
        [0, 1, 2].map(|c| self.range(lo[c], hi[c]))
    }
}

#[derive(Debug, Clone, Copy)]
enum ShapeKind {
    Rect,
    Ellipse,
    /// Apex up, like a roof.
    Triangle,
}

#[derive(Debug, Clone, Copy)]
struct Shape {
    kind: ShapeKind,
    cx: f32,
    cy: f32,
    rx: f32,
    ry: f32,
    color: [f32; 3],
    /// Brick courses: height in pixels, or 0 for a plain surface.
    course: u32,
}

impl Shape {
    /// The covered pixel columns on row `y` (all shapes are convex).
    fn span(&self, y: f32, width: u32) -> Option<(u32, u32)> {
        let dy = (y - self.cy) / self.ry;
        if !(-1.0..1.0).contains(&dy) {
            return None;
        }
        let half = match self.kind {
            ShapeKind::Rect => self.rx,
            ShapeKind::Ellipse => self.rx * (1.0 - dy * dy).sqrt(),
            ShapeKind::Triangle => self.rx * (dy + 1.0) / 2.0,
        };
        let x0 = (self.cx - half).max(0.0) as u32;
        let x1 = ((self.cx + half).max(0.0) as u32).min(width);
        (x0 < x1).then_some((x0, x1))
    }
}

/// What a pixel shows, which decides its texture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    Sky,
    /// Grass and soil: fine texture at 2-pixel scale.
    Ground,
    /// Tree crowns (the ellipses): coarser leafy texture.
    Foliage,
    /// Walls and roofs: plaster-like texture, plus bricks where the shape has them.
    Plain,
}

/// Texture amplitudes in 8-bit levels (peak); together they set how much a photo weighs,
/// about 4.3 MB for 12 MP at quality 90, like a phone's.
const SENSOR_GRAIN: i32 = 11;
const GRASS: i32 = 34;
const LEAVES: i32 = 36;
const PLASTER: i32 = 20;

/// Sky over ground, a house-like set of walls, roofs and trees, light falling across the whole
/// picture from a scene-specific side, brick courses, grass and leaf texture, sensor grain.
fn render_scene(width: u32, height: u32, scene: u64) -> Picture {
    let mut rng = Rng(scene.wrapping_mul(0xA076_1D64_78BD_642F) ^ 0x5EED);
    let (w, h) = (width as f32, height as f32);
    let horizon = rng.range(0.35, 0.65) * h;
    let sky = [
        rng.color([70.0, 110.0, 160.0], [150.0, 180.0, 225.0]),
        rng.color([150.0, 170.0, 190.0], [215.0, 220.0, 230.0]),
    ];
    let ground = [
        rng.color([80.0, 90.0, 50.0], [140.0, 150.0, 100.0]),
        rng.color([40.0, 50.0, 30.0], [110.0, 100.0, 80.0]),
    ];
    // Light mostly across the picture, so neighbouring columns differ everywhere.
    let angle = rng.range(-1.0, 1.0)
        + if rng.next() & 1 == 0 {
            0.0
        } else {
            std::f32::consts::PI
        };
    let strength = rng.range(0.5, 0.8);
    let (light_x, light_y) = (angle.cos() * strength, angle.sin() * strength);
    let shape_count = 6 + (rng.next() % 5) as usize;
    let shapes: Vec<Shape> = (0..shape_count)
        .map(|_| {
            let kind = match rng.next() % 3 {
                0 => ShapeKind::Rect,
                1 => ShapeKind::Ellipse,
                _ => ShapeKind::Triangle,
            };
            let brick = matches!(kind, ShapeKind::Rect) && rng.next() & 1 == 0;
            Shape {
                kind,
                cx: rng.range(0.05, 0.95) * w,
                cy: rng.range(0.2, 0.95) * h,
                rx: rng.range(0.04, 0.22) * w,
                ry: rng.range(0.05, 0.25) * h,
                color: rng.color([30.0; 3], [220.0; 3]),
                course: if brick { (height / 60).max(4) } else { 0 },
            }
        })
        .collect();
    let seed = rng.next() as u32;

    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    let mut row = vec![([0f32; 3], Surface::Sky); width as usize];
    let column_light: Vec<f32> = (0..width).map(|x| light_x * (x as f32 / w - 0.5)).collect();
    for (y, out) in rgb.chunks_exact_mut(width as usize * 3).enumerate() {
        let (yf, y) = (y as f32, y as u32);
        let background = if yf < horizon {
            (mix(sky[0], sky[1], yf / horizon), Surface::Sky)
        } else {
            let t = (yf - horizon) / (h - horizon);
            (mix(ground[0], ground[1], t), Surface::Ground)
        };
        row.fill(background);
        for shape in &shapes {
            let Some((x0, x1)) = shape.span(yf, width) else {
                continue;
            };
            let surface = match shape.kind {
                ShapeKind::Ellipse => Surface::Foliage,
                _ => Surface::Plain,
            };
            let mortar_row = shape.course > 0 && y % shape.course < 2;
            let offset = (y / shape.course.max(1)) % 2 * shape.course;
            for (x, px) in (x0..x1).zip(&mut row[x0 as usize..x1 as usize]) {
                let mortar =
                    mortar_row || (shape.course > 0 && (x + offset) % (shape.course * 2) < 2);
                let color = if mortar {
                    shape.color.map(|c| c * 0.7)
                } else {
                    shape.color
                };
                *px = (color, surface);
            }
        }
        let row_light = 1.0 + light_y * (yf / h - 0.5);
        for (x, ((color, surface), out)) in (0u32..).zip(row.iter().zip(out.chunks_exact_mut(3))) {
            let light = row_light + column_light[x as usize];
            let grain = noise(x, y, seed, SENSOR_GRAIN);
            let texture = grain
                + match surface {
                    Surface::Ground => noise(x >> 1, y >> 1, seed ^ 1, GRASS),
                    Surface::Foliage => {
                        noise(x >> 2, y >> 2, seed ^ 2, LEAVES)
                            + noise(x >> 1, y >> 1, seed ^ 3, LEAVES / 3)
                    }
                    Surface::Plain => noise(x >> 1, y >> 1, seed ^ 4, PLASTER),
                    Surface::Sky => 0,
                };
            for (c, out) in color.iter().zip(out) {
                *out = (c * light + texture as f32).clamp(0.0, 255.0) as u8;
            }
        }
    }
    Picture { width, height, rgb }
}

fn mix(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [0, 1, 2].map(|c| a[c] + (b[c] - a[c]) * t)
}

/// Deterministic noise in -amplitude..amplitude for lattice point (x, y).
fn noise(x: u32, y: u32, seed: u32, amplitude: i32) -> i32 {
    let mut h = x.wrapping_mul(0x9E37_79B1) ^ y.wrapping_mul(0x85EB_CA77) ^ seed;
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    ((h >> 24) as i32 - 128) * amplitude / 128
}

/// The EXIF block (TIFF) of `spec`'s metadata fields, `None` when it sets none: what
/// [`phone_jpeg`] splices in, so callers can give one encoded picture many metadata sets.
pub fn exif_block(spec: &PhotoSpec) -> Option<Vec<u8>> {
    let primary = |tag: Tag, value: Value| Field {
        tag,
        ifd_num: In::PRIMARY,
        value,
    };
    let ascii = |s: &str| Value::Ascii(vec![s.as_bytes().to_vec()]);
    let mut fields = Vec::new();
    if let Some(make) = &spec.make {
        fields.push(primary(Tag::Make, ascii(make)));
    }
    if let Some(model) = &spec.model {
        fields.push(primary(Tag::Model, ascii(model)));
    }
    if let Some(o) = spec.orientation {
        fields.push(primary(Tag::Orientation, Value::Short(vec![o])));
    }
    if let Some(t) = spec.captured {
        fields.push(primary(
            Tag::ExifVersion,
            Value::Undefined(b"0232".to_vec(), 0),
        ));
        let text = t.format("%Y:%m:%d %H:%M:%S").to_string();
        fields.push(primary(Tag::DateTimeOriginal, ascii(&text)));
    }
    if let Some(m) = spec.offset_minutes {
        let sign = if m < 0 { '-' } else { '+' };
        let text = format!("{sign}{:02}:{:02}", m.abs() / 60, m.abs() % 60);
        fields.push(primary(Tag::OffsetTimeOriginal, ascii(&text)));
    }
    if let Some(gps) = spec.gps {
        let hemisphere = |v: f64, pos: &str, neg: &str| ascii(if v < 0.0 { neg } else { pos });
        fields.push(primary(Tag::GPSVersionID, Value::Byte(vec![2, 3, 0, 0])));
        fields.push(primary(Tag::GPSLatitudeRef, hemisphere(gps.lat, "N", "S")));
        fields.push(primary(Tag::GPSLatitude, Value::Rational(dms(gps.lat))));
        fields.push(primary(Tag::GPSLongitudeRef, hemisphere(gps.lon, "E", "W")));
        fields.push(primary(Tag::GPSLongitude, Value::Rational(dms(gps.lon))));
        let below = u8::from(gps.alt_m < 0.0);
        fields.push(primary(Tag::GPSAltitudeRef, Value::Byte(vec![below])));
        fields.push(primary(
            Tag::GPSAltitude,
            Value::Rational(vec![rational(gps.alt_m.abs(), 100)]),
        ));
    }
    if let Some(t) = spec.gps_time {
        let date = format!("{:04}:{:02}:{:02}", t.year(), t.month(), t.day());
        fields.push(primary(Tag::GPSDateStamp, ascii(&date)));
        let hms = [t.hour(), t.minute(), t.second()].map(|v| Rational::from((v, 1)));
        fields.push(primary(Tag::GPSTimeStamp, Value::Rational(hms.to_vec())));
    }
    if fields.is_empty() {
        return None;
    }
    let mut writer = Writer::new();
    for field in &fields {
        writer.push_field(field);
    }
    let mut tiff = Cursor::new(Vec::new());
    // Little-endian, as Android phones write it.
    writer
        .write(&mut tiff, true)
        .expect("EXIF fields are well-formed");
    Some(tiff.into_inner())
}

/// Degrees, minutes, seconds of |v|; NaN becomes 0/0 rationals, the usual broken-GPS pattern.
fn dms(v: f64) -> Vec<Rational> {
    if !v.is_finite() {
        return vec![Rational::from((0, 0)); 3];
    }
    let v = v.abs();
    let degrees = v.floor();
    let minutes = ((v - degrees) * 60.0).floor();
    let seconds = ((v - degrees) * 60.0 - minutes) * 60.0;
    vec![
        rational(degrees, 1),
        rational(minutes, 1),
        rational(seconds, 10_000),
    ]
}

fn rational(v: f64, denom: u32) -> Rational {
    Rational::from(((v * f64::from(denom)).round() as u32, denom))
}

// ---- A small baseline JPEG encoder -------------------------------------------------------

/// Annex K.1 luminance and chrominance quantisation tables, row-major, for quality 50.
#[rustfmt::skip]
const BASE_QUANT: [[u8; 64]; 2] = [
    [
        16, 11, 10, 16, 24, 40, 51, 61,   12, 12, 14, 19, 26, 58, 60, 55,
        14, 13, 16, 24, 40, 57, 69, 56,   14, 17, 22, 29, 51, 87, 80, 62,
        18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
    ],
    [
        17, 18, 24, 47, 99, 99, 99, 99,   18, 21, 26, 66, 99, 99, 99, 99,
        24, 26, 56, 99, 99, 99, 99, 99,   47, 66, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99,   99, 99, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99,   99, 99, 99, 99, 99, 99, 99, 99,
    ],
];

/// One colour component: its sampling factors, table and padded sample plane.
struct Component {
    h: usize,
    v: usize,
    table: usize,
    plane: Vec<u8>,
    stride: usize,
}

/// Progressive 4:2:0 colour through the jpeg-encoder crate: spectral selection and
/// successive approximation are more than this module's own baseline encoder should carry.
fn encode_progressive(picture: &Picture, quality: u8) -> Vec<u8> {
    let mut jpeg = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut jpeg, quality);
    encoder.set_progressive(true);
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    let side = |v: u32| u16::try_from(v).expect("fixture sides fit in a JPEG frame");
    encoder
        .encode(
            &picture.rgb,
            side(picture.width),
            side(picture.height),
            jpeg_encoder::ColorType::Rgb,
        )
        .expect("fixture encodes");
    jpeg
}

fn encode(picture: &Picture, quality: u8, color: FixtureColor) -> Vec<u8> {
    let components = components(picture, color);
    let (hmax, vmax) = (components[0].h, components[0].v);
    let mcus_x = (picture.width as usize).div_ceil(8 * hmax);
    let mcus_y = (picture.height as usize).div_ceil(8 * vmax);
    let tables_used = if color == FixtureColor::Color { 2 } else { 1 };
    let quant: Vec<[u16; 64]> = BASE_QUANT[..tables_used]
        .iter()
        .map(|base| scaled_quant(base, quality))
        .collect();

    // Transform everything first: the Huffman tables are built from the actual symbols.
    let zigzag = zigzag();
    let basis = dct_basis();
    let mut blocks = Vec::with_capacity(mcus_x * mcus_y * 6);
    for my in 0..mcus_y {
        for mx in 0..mcus_x {
            for (ci, comp) in components.iter().enumerate() {
                for by in 0..comp.v {
                    for bx in 0..comp.h {
                        let (x0, y0) = ((mx * comp.h + bx) * 8, (my * comp.v + by) * 8);
                        let block =
                            fdct_quantize(comp, x0, y0, &quant[comp.table], &basis, &zigzag);
                        blocks.push((ci, block));
                    }
                }
            }
        }
    }
    let mut freq = vec![[[0u32; 256]; 2]; tables_used];
    let mut predictors = vec![0i16; components.len()];
    for (ci, block) in &blocks {
        let t = components[*ci].table;
        block_symbols(block, &mut predictors[*ci], |class, symbol, _, _| {
            freq[t][class][usize::from(symbol)] += 1;
        });
    }
    let huffman: Vec<[HuffmanTable; 2]> = freq
        .iter()
        .map(|[dc, ac]| [HuffmanTable::optimal(dc), HuffmanTable::optimal(ac)])
        .collect();

    let mut out = vec![0xFF, 0xD8];
    if color == FixtureColor::Cmyk {
        // "Adobe", version 100, two flag words, transform 0: CMYK stored inverted.
        segment(&mut out, 0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x00");
    }
    for (t, table) in quant.iter().enumerate() {
        let mut body = vec![t as u8];
        body.extend(zigzag.iter().map(|&n| table[n] as u8));
        segment(&mut out, 0xDB, &body);
    }
    let mut sof = vec![8];
    sof.extend_from_slice(&(picture.height as u16).to_be_bytes());
    sof.extend_from_slice(&(picture.width as u16).to_be_bytes());
    sof.push(components.len() as u8);
    for (i, c) in components.iter().enumerate() {
        sof.extend_from_slice(&[i as u8 + 1, (c.h << 4 | c.v) as u8, c.table as u8]);
    }
    segment(&mut out, 0xC0, &sof);
    for (t, [dc, ac]) in huffman.iter().enumerate() {
        for (class, table) in [(0u8, dc), (1, ac)] {
            let mut body = vec![class << 4 | t as u8];
            body.extend_from_slice(&table.counts);
            body.extend_from_slice(&table.symbols);
            segment(&mut out, 0xC4, &body);
        }
    }
    let mut sos = vec![components.len() as u8];
    for (i, c) in components.iter().enumerate() {
        sos.extend_from_slice(&[i as u8 + 1, (c.table << 4 | c.table) as u8]);
    }
    sos.extend_from_slice(&[0, 63, 0]);
    segment(&mut out, 0xDA, &sos);

    let mut bits = BitWriter { out, acc: 0, n: 0 };
    predictors.fill(0);
    for (ci, block) in &blocks {
        let tables = &huffman[components[*ci].table];
        block_symbols(
            block,
            &mut predictors[*ci],
            |class, symbol, extra, extra_len| {
                let table = &tables[class];
                let s = usize::from(symbol);
                bits.put(u32::from(table.codes[s]), u32::from(table.lengths[s]));
                bits.put(u32::from(extra), u32::from(extra_len));
            },
        );
    }
    let mut out = bits.finish();
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

fn segment(out: &mut Vec<u8>, marker: u8, body: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&(body.len() as u16 + 2).to_be_bytes());
    out.extend_from_slice(body);
}

/// Sample planes padded to whole MCUs by repeating the last row and column.
fn components(picture: &Picture, color: FixtureColor) -> Vec<Component> {
    let (w, h) = (picture.width as usize, picture.height as usize);
    let full = |sampling: usize, value: &dyn Fn([u8; 3]) -> u8| {
        let unit = 8 * sampling;
        let (pw, ph) = (w.div_ceil(unit) * unit, h.div_ceil(unit) * unit);
        let mut plane = Vec::with_capacity(pw * ph);
        for y in 0..ph {
            for x in 0..pw {
                plane.push(value(picture.at(x.min(w - 1) as u32, y.min(h - 1) as u32)));
            }
        }
        (plane, pw)
    };
    let component = |(plane, stride): (Vec<u8>, usize), sampling: usize, table: usize| Component {
        h: sampling,
        v: sampling,
        table,
        plane,
        stride,
    };
    let luma = |p: [u8; 3]| {
        (0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])).round() as u8
    };
    match color {
        FixtureColor::Grayscale => vec![component(full(1, &luma), 1, 0)],
        FixtureColor::Color => {
            let y = component(full(2, &luma), 2, 0);
            let cb = |p: [u8; 3]| {
                128.0 - 0.168_736 * f32::from(p[0]) - 0.331_264 * f32::from(p[1])
                    + 0.5 * f32::from(p[2])
            };
            let cr = |p: [u8; 3]| {
                128.0 + 0.5 * f32::from(p[0])
                    - 0.418_688 * f32::from(p[1])
                    - 0.081_312 * f32::from(p[2])
            };
            let chroma = |f: &dyn Fn([u8; 3]) -> f32| {
                // Each chroma sample averages a 2×2 patch of the 16-pixel-padded picture.
                let (cw, ch) = (y.stride / 2, y.plane.len() / y.stride / 2);
                let mut plane = Vec::with_capacity(cw * ch);
                for cy in 0..ch {
                    for cx in 0..cw {
                        let mut sum = 0.0;
                        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                            let (x, y) = ((2 * cx + dx).min(w - 1), (2 * cy + dy).min(h - 1));
                            sum += f(picture.at(x as u32, y as u32));
                        }
                        plane.push((sum / 4.0).round().clamp(0.0, 255.0) as u8);
                    }
                }
                (plane, cw)
            };
            let (cb, cr) = (chroma(&cb), chroma(&cr));
            vec![y, component(cb, 1, 1), component(cr, 1, 1)]
        }
        FixtureColor::Cmyk => {
            // Stored (inverted) C is 255 - ink; with K taken as 255 - max(R, G, B) that is
            // 255·R/max, and stored K is max.
            let ink = |c: usize| {
                move |p: [u8; 3]| {
                    let max = p.iter().copied().max().unwrap_or(0);
                    match (c, max) {
                        (3, _) => max,
                        (_, 0) => 255,
                        _ => ((u32::from(p[c]) * 255 + u32::from(max) / 2) / u32::from(max)) as u8,
                    }
                }
            };
            (0..4).map(|c| component(full(1, &ink(c)), 1, 0)).collect()
        }
    }
}

fn scaled_quant(base: &[u8; 64], quality: u8) -> [u16; 64] {
    // The libjpeg quality scale: 50 is the base table, 100 all ones.
    let q = u32::from(quality.clamp(1, 100));
    let scale = if q < 50 { 5000 / q } else { 200 - 2 * q };
    base.map(|b| ((u32::from(b) * scale + 50) / 100).clamp(1, 255) as u16)
}

/// Row-major index of each zigzag position.
fn zigzag() -> [usize; 64] {
    let mut order = [0; 64];
    let mut k = 0;
    for diagonal in 0..15usize {
        let rows = diagonal.saturating_sub(7)..=diagonal.min(7);
        // Odd diagonals run down-left (row rising), even ones up-right.
        let rows: Vec<usize> = if diagonal % 2 == 1 {
            rows.collect()
        } else {
            rows.rev().collect()
        };
        for row in rows {
            order[k] = row * 8 + (diagonal - row);
            k += 1;
        }
    }
    order
}

/// `basis[u][x] = C(u)/2 · cos((2x+1)uπ/16)`, so the 2-D DCT is `basis · block · basisᵀ`.
fn dct_basis() -> [[f32; 8]; 8] {
    let mut basis = [[0.0; 8]; 8];
    for (u, row) in basis.iter_mut().enumerate() {
        let c = if u == 0 {
            std::f32::consts::FRAC_1_SQRT_2
        } else {
            1.0
        };
        for (x, b) in row.iter_mut().enumerate() {
            *b = 0.5 * c * ((2 * x + 1) as f32 * u as f32 * std::f32::consts::PI / 16.0).cos();
        }
    }
    basis
}

fn fdct_quantize(
    comp: &Component,
    x0: usize,
    y0: usize,
    quant: &[u16; 64],
    basis: &[[f32; 8]; 8],
    zigzag: &[usize; 64],
) -> [i16; 64] {
    let mut rows = [[0f32; 8]; 8];
    for (y, row) in rows.iter_mut().enumerate() {
        let line = &comp.plane[(y0 + y) * comp.stride + x0..][..8];
        for (u, out) in row.iter_mut().enumerate() {
            *out = (0..8)
                .map(|x| basis[u][x] * (f32::from(line[x]) - 128.0))
                .sum();
        }
    }
    let mut natural = [0i16; 64];
    for v in 0..8 {
        for u in 0..8 {
            let coefficient: f32 = (0..8).map(|y| basis[v][y] * rows[y][u]).sum();
            let limit = if u + v == 0 { 2047.0 } else { 1023.0 };
            natural[v * 8 + u] = (coefficient / f32::from(quant[v * 8 + u]))
                .round()
                .clamp(-limit, limit) as i16;
        }
    }
    zigzag.map(|n| natural[n])
}

/// Calls `emit(class, symbol, extra_bits, extra_len)` for each Huffman symbol of a block
/// (class 0 DC, 1 AC), updating the DC predictor.
fn block_symbols(block: &[i16; 64], predictor: &mut i16, mut emit: impl FnMut(usize, u8, u16, u8)) {
    let magnitude = |v: i16| {
        let len = 16 - v.unsigned_abs().leading_zeros() as u8;
        // Negative values are sent as v - 1 in `len` bits (one's complement).
        let bits = if v < 0 { (v - 1) as u16 } else { v as u16 };
        (len, bits & ((1u32 << len) - 1) as u16)
    };
    let (len, bits) = magnitude(block[0] - *predictor);
    *predictor = block[0];
    emit(0, len, bits, len);
    let mut run = 0u8;
    for &v in &block[1..] {
        if v == 0 {
            run += 1;
            continue;
        }
        while run > 15 {
            emit(1, 0xF0, 0, 0);
            run -= 16;
        }
        let (len, bits) = magnitude(v);
        emit(1, run << 4 | len, bits, len);
        run = 0;
    }
    if run > 0 {
        emit(1, 0x00, 0, 0);
    }
}

/// A Huffman table as written in DHT plus the code of each symbol.
struct HuffmanTable {
    counts: [u8; 16],
    symbols: Vec<u8>,
    codes: [u16; 256],
    lengths: [u8; 256],
}

impl HuffmanTable {
    /// Optimal code lengths limited to 16 bits, by the procedure of JPEG Annex K.2: a reserved
    /// extra symbol keeps any real code from being all ones.
    fn optimal(freq: &[u32; 256]) -> Self {
        let mut freq: Vec<u64> = freq.iter().map(|&f| u64::from(f)).collect();
        freq.push(1);
        let n = freq.len();
        let mut size = vec![0usize; n];
        let mut next: Vec<Option<usize>> = vec![None; n];
        loop {
            // The two least frequent live entries; ties go to the higher symbol.
            let least = |skip: Option<usize>| {
                (0..n)
                    .filter(|&i| freq[i] > 0 && Some(i) != skip)
                    .min_by_key(|&i| (freq[i], std::cmp::Reverse(i)))
            };
            let Some(v1) = least(None) else { break };
            let Some(v2) = least(Some(v1)) else { break };
            freq[v1] += freq[v2];
            freq[v2] = 0;
            let mut i = v1;
            size[i] += 1;
            while let Some(j) = next[i] {
                i = j;
                size[i] += 1;
            }
            next[i] = Some(v2);
            let mut i = v2;
            size[i] += 1;
            while let Some(j) = next[i] {
                i = j;
                size[i] += 1;
            }
        }
        let max = size.iter().copied().max().unwrap_or(0).max(16);
        let mut count = vec![0usize; max + 1];
        for &s in size.iter().filter(|&&s| s > 0) {
            count[s] += 1;
        }
        // Shorten codes longer than 16 bits in pairs, lengthening a shorter one.
        for len in (17..=max).rev() {
            while count[len] > 0 {
                let mut j = len - 2;
                while count[j] == 0 {
                    j -= 1;
                }
                count[len] -= 2;
                count[len - 1] += 1;
                count[j + 1] += 2;
                count[j] -= 1;
            }
        }
        // Drop the reserved symbol, which holds the longest code.
        let longest = (1..=16).rev().find(|&l| count[l] > 0).unwrap_or(1);
        count[longest] -= 1;

        let mut symbols: Vec<u8> = Vec::new();
        for len in 1..=max {
            symbols.extend((0..256).filter(|&s| size[s] == len).map(|s| s as u8));
        }
        let mut table = HuffmanTable {
            counts: [0; 16],
            symbols,
            codes: [0; 256],
            lengths: [0; 256],
        };
        // Canonical codes: consecutive within a length, doubling to the next length.
        let mut code = 0u16;
        let mut symbols = table.symbols.iter();
        for (len, (slot, &n)) in (1u8..).zip(table.counts.iter_mut().zip(&count[1..=16])) {
            *slot = n as u8;
            for &s in symbols.by_ref().take(n) {
                table.codes[usize::from(s)] = code;
                table.lengths[usize::from(s)] = len;
                code += 1;
            }
            code <<= 1;
        }
        table
    }
}

/// Entropy-coded output with 0xFF byte stuffing.
struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter {
    fn put(&mut self, bits: u32, len: u32) {
        if len == 0 {
            return;
        }
        self.acc = (self.acc << len) | u64::from(bits & ((1u32 << len) - 1));
        self.n += len;
        while self.n >= 8 {
            self.n -= 8;
            let byte = (self.acc >> self.n) as u8;
            self.out.push(byte);
            if byte == 0xFF {
                self.out.push(0);
            }
        }
    }

    /// Pads the last byte with one bits, as the standard asks.
    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            let pad = 8 - self.n;
            self.put((1 << pad) - 1, pad);
        }
        self.out
    }
}

/// Rewrites the frame header's size, leaving the small body behind it.
pub fn with_frame_size(jpeg: &[u8], width: u16, height: u16) -> Vec<u8> {
    let mut bytes = jpeg.to_vec();
    let sof = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline frame header");
    bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_abs_difference(a: &[u8], b: &[u8]) -> f64 {
        assert_eq!(a.len(), b.len());
        let sum: u64 = a
            .iter()
            .zip(b)
            .map(|(x, y)| u64::from(x.abs_diff(*y)))
            .sum();
        sum as f64 / a.len() as f64
    }

    #[test]
    fn encoded_colour_photos_decode_close_to_the_scene_in_both_decoders() {
        // Odd sizes exercise the padding of partial MCUs.
        let scene = render_scene(203, 151, 7);
        let jpeg = encode(&scene, 95, FixtureColor::Color);
        let zune = image::load_from_memory(&jpeg).unwrap().to_rgb8().into_raw();
        let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(&jpeg));
        let reference = decoder.decode().unwrap();
        for decoded in [zune, reference] {
            let error = mean_abs_difference(&decoded, &scene.rgb);
            assert!(error < 4.0, "mean error {error}");
        }
    }

    #[test]
    fn grayscale_and_cmyk_decode_to_the_scene() {
        let scene = render_scene(120, 72, 3);
        let gray = encode(&scene, 95, FixtureColor::Grayscale);
        let decoded = image::load_from_memory(&gray)
            .unwrap()
            .to_luma8()
            .into_raw();
        let luma: Vec<u8> = scene
            .rgb
            .chunks_exact(3)
            .map(|p| {
                (0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])) as u8
            })
            .collect();
        assert!(mean_abs_difference(&decoded, &luma) < 3.0);

        let cmyk = encode(&scene, 95, FixtureColor::Cmyk);
        let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(&cmyk));
        let ink = decoder.decode().unwrap();
        assert_eq!(
            decoder.info().unwrap().pixel_format,
            jpeg_decoder::PixelFormat::CMYK32
        );
        let rgb: Vec<u8> = ink
            .chunks_exact(4)
            .flat_map(|p| {
                let paper = 255 - u32::from(p[3]);
                [0, 1, 2].map(|c| ((255 - u32::from(p[c])) * paper / 255) as u8)
            })
            .collect();
        assert!(mean_abs_difference(&rgb, &scene.rgb) < 4.0);
    }

    #[test]
    fn huffman_codes_stay_within_16_bits_and_are_prefix_free() {
        // Fibonacci frequencies force a 30-deep unlimited tree.
        let mut freq = [0u32; 256];
        let (mut a, mut b) = (1u32, 1u32);
        for f in freq.iter_mut().take(30) {
            *f = a;
            (a, b) = (b, a + b);
        }
        let table = HuffmanTable::optimal(&freq);
        let kraft: f64 = (0..30)
            .map(|s| {
                let len = table.lengths[s];
                assert!((1..=16).contains(&len), "symbol {s} has length {len}");
                0.5f64.powi(i32::from(len))
            })
            .sum();
        // Strictly below 1: the all-ones code stays unused.
        assert!(kraft < 1.0, "{kraft}");
        assert_eq!(table.symbols.len(), 30);
        assert_eq!(
            table.counts.iter().map(|&c| usize::from(c)).sum::<usize>(),
            30
        );
    }

    #[test]
    fn zigzag_starts_and_ends_as_the_standard_says() {
        let order = zigzag();
        assert_eq!(&order[..6], &[0, 1, 8, 16, 9, 2]);
        assert_eq!(&order[60..], &[47, 55, 62, 63]);
        let mut sorted = order;
        sorted.sort_unstable();
        assert_eq!(sorted, std::array::from_fn(|i| i));
    }

    #[test]
    fn fixtures_are_deterministic() {
        let spec = PhotoSpec {
            width: 96,
            height: 64,
            ..PhotoSpec::default()
        };
        assert_eq!(phone_jpeg(&spec), phone_jpeg(&spec));
    }

    #[test]
    fn stored_pixels_follow_the_exif_orientation_definition() {
        // Upright 2×1 picture: red on the left, blue on the right.
        let upright = Picture {
            width: 2,
            height: 1,
            rgb: vec![255, 0, 0, 0, 0, 255],
        };
        // Orientation 6: the stored 0th row is the upright right side, so the camera stores a
        // 1×2 column with blue on top; turning it clockwise puts blue back on the right.
        let stored = upright.stored_for_orientation(6);
        assert_eq!((stored.width, stored.height), (1, 2));
        assert_eq!(stored.rgb, vec![0, 0, 255, 255, 0, 0]);
    }
}
