//! The two steps of photo ingest. `inspect` reads only the header and EXIF (microseconds) and
//! enforces the limits; `analyse` decodes at reduced scale (DCT scaling), turns the picture
//! upright, and computes the perceptual hash and the thumbnail.

use std::io::Read;

use chrono::{DateTime, Utc};
use fast_image_resize::Resizer;
use jpeg_decoder::{Decoder, PixelFormat};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::PhotoError;
use super::header::{read_header, scan_ends, sniff};
use super::metadata::{CaptureTime, Gps, GpsProblem, read_metadata};
use super::pixels::{Raster, Thumbnail, dhash_rotations, thumbnail};

/// County-configurable limits, checked before any pixel is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_pixels: u64,
}

impl Default for Limits {
    /// 20 MB and 60 megapixels.
    fn default() -> Self {
        Self {
            max_bytes: 20_000_000,
            max_pixels: 60_000_000,
        }
    }
}

/// How the JPEG stores colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColorModel {
    Grayscale,
    /// Three components; what every phone camera writes.
    Color,
    Cmyk,
}

/// Everything the header and EXIF say, validated. Cheap to compute; no pixels decoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inspected {
    pub byte_len: usize,
    /// Size as stored; see [`Inspected::upright_size`] for the size as viewed.
    pub width: u32,
    pub height: u32,
    pub color: ColorModel,
    pub progressive: bool,
    /// EXIF orientation 1-8; 1 when absent or invalid.
    pub orientation: u8,
    /// EXIF GPS position, absent when missing or failing the range checks.
    pub gps: Option<Gps>,
    /// Why GPS data present in the file was dropped (or its altitude was).
    pub gps_problem: Option<GpsProblem>,
    /// UTC time from the GPS receiver, when the file has both GPSDateStamp and GPSTimeStamp.
    pub gps_time: Option<DateTime<Utc>>,
    pub captured: Option<CaptureTime>,
    pub make: Option<String>,
    pub model: Option<String>,
    /// EXIF fields that were malformed and ignored, for the logs and the reviewer.
    pub exif_problems: Vec<String>,
}

impl Inspected {
    /// Width and height once EXIF orientation is applied.
    pub fn upright_size(&self) -> (u32, u32) {
        if self.orientation >= 5 {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }
}

/// The perceptual hash and the thumbnail, both from the upright picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    /// 64-bit dHash of the upright picture; equals `dhash_rotations[0]`.
    pub dhash: u64,
    /// dHash of the upright picture turned 0°, 90°, 180° and 270° clockwise: compare each with
    /// stored upright hashes to find a turned copy.
    pub dhash_rotations: [u64; 4],
    /// Long side [`THUMBNAIL_LONG_SIDE`] (smaller pictures are not enlarged).
    pub thumbnail: Thumbnail,
    /// The DCT scaling used: the decoder produced 1/`scale_denominator` of each side.
    pub scale_denominator: u8,
}

pub const THUMBNAIL_LONG_SIDE: u32 = 320;

/// Most scans a photo may have. Cameras write 1 (baseline) or about 10 (progressive) and
/// optimisers a few more; each scan makes the decoder walk every block of its component again,
/// so a file of thousands of tiny scans over a large frame would cost minutes of CPU.
pub(crate) const MAX_SCANS: usize = 64;
const THUMBNAIL_QUALITY: u8 = 80;

/// Lowercase hex SHA-256, the photo's content address.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Checks size, format and pixel count and reads EXIF, without decoding any pixels.
pub fn inspect(bytes: &[u8], limits: &Limits) -> Result<Inspected, PhotoError> {
    // Two bytes cannot even hold the JPEG signature.
    if bytes.len() < 2 {
        return Err(PhotoError::Empty { len: bytes.len() });
    }
    if bytes.len() > limits.max_bytes {
        return Err(PhotoError::TooLarge {
            len: bytes.len(),
            max: limits.max_bytes,
        });
    }
    sniff(bytes)?;
    let header = read_header(bytes, limits.max_pixels)?;
    let meta = header.exif.map(read_metadata).unwrap_or_default();
    Ok(Inspected {
        byte_len: bytes.len(),
        width: u32::from(header.width),
        height: u32::from(header.height),
        color: match header.components {
            1 => ColorModel::Grayscale,
            3 => ColorModel::Color,
            _ => ColorModel::Cmyk,
        },
        progressive: header.progressive,
        orientation: meta.orientation.unwrap_or(1),
        gps: meta.gps,
        gps_problem: meta.gps_problem,
        gps_time: meta.gps_time,
        captured: meta.captured,
        make: meta.make,
        model: meta.model,
        exif_problems: meta.problems,
    })
}

/// The largest DCT scaling (1/8, 1/4, 1/2, 1/1) whose output still has its long side at least
/// [`THUMBNAIL_LONG_SIDE`]: 1/8 for 12-50 MP phone photos. Every photo is hashed from this
/// scaled decode, so a photo and its resized copy are hashed the same way.
pub(crate) fn scale_denominator(width: u32, height: u32) -> u8 {
    let long = width.max(height);
    [8u8, 4, 2]
        .into_iter()
        .find(|&d| long.div_ceil(u32::from(d)) >= THUMBNAIL_LONG_SIDE)
        .unwrap_or(1)
}

/// A picture decoded at reduced scale, to RGB or luma. The steps of [`analyse`], public so
/// each can be measured on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaledImage {
    raster: Raster,
    scale_denominator: u8,
    /// The library asked to decode it, which also encodes its thumbnail.
    codec: Codec,
}

impl ScaledImage {
    pub fn width(&self) -> u32 {
        self.raster.width
    }

    pub fn height(&self) -> u32 {
        self.raster.height
    }

    /// Applies EXIF orientation 1-8 (flips and quarter turns).
    pub fn upright(self, orientation: u8) -> Self {
        Self {
            raster: self.raster.upright(orientation),
            ..self
        }
    }

    /// dHash of this picture turned 0°, 90°, 180° and 270° clockwise.
    pub fn dhash_rotations(&self) -> [u64; 4] {
        dhash_rotations(&self.raster.luma(), &mut Resizer::new())
    }

    pub fn thumbnail(&self) -> Thumbnail {
        thumbnail(
            &self.raster,
            THUMBNAIL_LONG_SIDE,
            THUMBNAIL_QUALITY,
            &mut Resizer::new(),
            |small, quality| self.codec.encode_jpeg(small, quality),
        )
    }
}

/// Which library does the scaled decode and encodes the thumbnail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Needs nothing but cargo: 1/8 scale from the DC coefficients (our own entropy decode),
    /// other scales and anything that path leaves with jpeg-decoder.
    PureRust,
    /// The system's libjpeg-turbo, for colour and grayscale files (CMYK stays pure Rust).
    #[cfg(feature = "turbojpeg")]
    LibjpegTurbo,
}

impl Default for Codec {
    /// libjpeg-turbo when the service is built with it. One deployment should hash with one
    /// codec: their scaled pixels differ slightly, and so may a dHash bit or two.
    fn default() -> Self {
        #[cfg(feature = "turbojpeg")]
        return Codec::LibjpegTurbo;
        #[cfg(not(feature = "turbojpeg"))]
        Codec::PureRust
    }
}

impl Codec {
    /// With libjpeg-turbo linked, its encoder halves the thumbnail's resize and encode (1.0 →
    /// 0.53 ms for a 12 MP photo): an eighth of that pipeline's cost above the decode.
    fn encode_jpeg(self, raster: &Raster, quality: u8) -> Vec<u8> {
        #[cfg(feature = "turbojpeg")]
        if self == Codec::LibjpegTurbo {
            return super::turbo::encode_jpeg(raster, quality);
        }
        super::pixels::encode_jpeg(raster, quality)
    }
}

/// Decodes with DCT scaling (see [`scale_denominator`]) and refuses damaged data, with the
/// default [`Codec`].
pub fn decode_scaled(bytes: &[u8], inspected: &Inspected) -> Result<ScaledImage, PhotoError> {
    decode_scaled_with(Codec::default(), bytes, inspected)
}

/// [`decode_scaled`] with a chosen codec (the benchmarks compare them in one run).
pub fn decode_scaled_with(
    codec: Codec,
    bytes: &[u8],
    inspected: &Inspected,
) -> Result<ScaledImage, PhotoError> {
    let denominator = scale_denominator(inspected.width, inspected.height);
    let size = (inspected.width, inspected.height);
    let header = read_header(bytes, u64::MAX)?;
    // Where each scan ends, for jpeg-decoder's guard; a file of too many scans is refused before
    // it walks them. The DC path and libjpeg-turbo stop at too many scans on their own.
    let scans = || {
        let scans = scan_ends(bytes, header.scan_start);
        if scans.len() > MAX_SCANS {
            return Err(PhotoError::Unsupported {
                what: format!("{} scans (at most {MAX_SCANS})", scans.len()),
            });
        }
        Ok(scans)
    };
    let raster = match codec {
        #[cfg(feature = "turbojpeg")]
        Codec::LibjpegTurbo if inspected.color != ColorModel::Cmyk => {
            let grayscale = inspected.color == ColorModel::Grayscale;
            super::turbo::decode(bytes, size, grayscale, denominator)?
        }
        _ => {
            // At 1/8 from the DC coefficients; other scales, and whatever that path leaves,
            // with jpeg-decoder.
            let eighth = (denominator == 8).then(|| super::dc::decode_eighth(bytes));
            match eighth.flatten() {
                Some(raster) => raster,
                None => decode_pure(bytes, scans()?, size, denominator)?,
            }
        }
    };
    Ok(ScaledImage {
        raster,
        scale_denominator: denominator,
        codec,
    })
}

/// Both steps, as an upload goes through them: [`inspect`], then [`analyse`].
pub fn inspect_and_analyse(
    bytes: &[u8],
    limits: &Limits,
) -> Result<(Inspected, Analysis), PhotoError> {
    let inspected = inspect(bytes, limits)?;
    let analysis = analyse(bytes, &inspected)?;
    Ok((inspected, analysis))
}

/// Decodes at reduced scale, turns the picture upright, and computes the dHash and the
/// thumbnail. `inspected` must come from [`inspect`] on the same bytes.
pub fn analyse(bytes: &[u8], inspected: &Inspected) -> Result<Analysis, PhotoError> {
    analyse_with(Codec::default(), bytes, inspected)
}

/// [`analyse`] with a chosen codec.
pub fn analyse_with(
    codec: Codec,
    bytes: &[u8],
    inspected: &Inspected,
) -> Result<Analysis, PhotoError> {
    let image = decode_scaled_with(codec, bytes, inspected)?.upright(inspected.orientation);
    let dhash_rotations = image.dhash_rotations();
    Ok(Analysis {
        dhash: dhash_rotations[0],
        dhash_rotations,
        thumbnail: image.thumbnail(),
        scale_denominator: image.scale_denominator,
    })
}

/// The pure-Rust decode: jpeg-decoder, unlike `image`/zune-jpeg, reports a scan that runs out
/// of bytes.
pub(super) fn decode_pure(
    bytes: &[u8],
    scan_ends: Vec<usize>,
    size: (u32, u32),
    denominator: u8,
) -> Result<Raster, PhotoError> {
    let mut decoder = Decoder::new(GuardedReader::new(bytes, scan_ends));
    decoder.read_info().map_err(decode_error)?;
    let info = decoder
        .info()
        .ok_or_else(|| PhotoError::corrupt("no frame header"))?;
    if (u32::from(info.width), u32::from(info.height)) != size {
        return Err(PhotoError::corrupt(
            "frame size differs from the inspected one",
        ));
    }
    let (out_w, out_h) = decoder
        .scale(
            info.width.div_ceil(u16::from(denominator)),
            info.height.div_ceil(u16::from(denominator)),
        )
        .map_err(decode_error)?;
    let (out_w, out_h) = (u32::from(out_w), u32::from(out_h));
    let expected_len = out_w as usize * out_h as usize * info.pixel_format.pixel_bytes();
    // For baseline JPEGs the output is the only buffer sized by the picture.
    decoder.set_max_decoding_buffer_size(expected_len);
    let data = decoder.decode().map_err(decode_error)?;
    if data.len() != expected_len {
        return Err(PhotoError::corrupt(
            "decoded size differs from the frame size",
        ));
    }
    let (channels, data) = match info.pixel_format {
        PixelFormat::L8 => (1, data),
        PixelFormat::RGB24 => (3, data),
        PixelFormat::CMYK32 => (3, cmyk_to_rgb(&data)),
        PixelFormat::L16 => {
            return Err(PhotoError::Unsupported {
                what: "16-bit samples".into(),
            });
        }
    };
    Ok(Raster {
        width: out_w,
        height: out_h,
        channels,
        data,
    })
}

/// Serves the file to the decoder with a run of one bits (stuffed 0xFF bytes) in front of each
/// marker that closes a scan. A complete scan never consumes them: the decoder only reads
/// ahead into them before it meets the marker. A scan cut short and closed with a marker would
/// otherwise be padded with zero bits and decode "successfully"; with the guard it runs into an
/// invalid Huffman code instead (a code of sixteen ones is forbidden).
struct GuardedReader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Where the next guard goes (or the end of `bytes`): plain reads never pass it.
    limit: usize,
    guards: std::vec::IntoIter<usize>,
    guard_left: usize,
}

/// Eight stuffed 0xFF bytes: 64 one bits, more than any code plus its extra bits.
const GUARD: [u8; 16] = [
    0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00,
];

impl<'a> GuardedReader<'a> {
    fn new(bytes: &'a [u8], guard_positions: Vec<usize>) -> Self {
        let mut guards = guard_positions.into_iter();
        Self {
            bytes,
            pos: 0,
            limit: guards.next().unwrap_or(bytes.len()),
            guards,
            guard_left: 0,
        }
    }
}

impl Read for GuardedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.guard_left == 0 && self.pos == self.limit && self.limit < self.bytes.len() {
            self.guard_left = GUARD.len();
            self.limit = self.guards.next().unwrap_or(self.bytes.len());
        }
        if self.guard_left > 0 {
            buf[0] = GUARD[GUARD.len() - self.guard_left];
            self.guard_left -= 1;
            return Ok(1);
        }
        let n = buf.len().min(self.limit - self.pos);
        buf[..n].copy_from_slice(&self.bytes[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }

    /// jpeg-decoder reads one byte at a time through `read_exact`: this path must stay small
    /// enough to be inlined into the decoder's loops.
    #[inline]
    fn read_exact(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        let end = self.pos + buf.len();
        if self.guard_left != 0 || end > self.limit {
            return self.read_exact_slow(buf);
        }
        if let [byte] = buf {
            *byte = self.bytes[self.pos];
        } else {
            buf.copy_from_slice(&self.bytes[self.pos..end]);
        }
        self.pos = end;
        Ok(())
    }
}

impl GuardedReader<'_> {
    #[cold]
    #[inline(never)]
    fn read_exact_slow(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.read(&mut buf[filled..])? {
                0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                n => filled += n,
            }
        }
        Ok(())
    }
}

/// jpeg-decoder hands back ink amounts (it undoes Adobe's inverted storage), so white paper is
/// C = M = Y = K = 0.
fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(cmyk.len() / 4 * 3);
    for p in cmyk.chunks_exact(4) {
        let paper = 255 - u32::from(p[3]);
        for ink in &p[..3] {
            rgb.push((((255 - u32::from(*ink)) * paper + 127) / 255) as u8);
        }
    }
    rgb
}

/// jpeg-decoder reports running out of bytes anywhere (mid-scan, before EOI) as an I/O
/// `UnexpectedEof`; everything else it refuses is damaged or exotic data.
fn decode_error(e: jpeg_decoder::Error) -> PhotoError {
    match e {
        jpeg_decoder::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            PhotoError::Truncated
        }
        jpeg_decoder::Error::Unsupported(feature) => PhotoError::Unsupported {
            what: format!("{feature:?}"),
        },
        other => PhotoError::corrupt(other.to_string()),
    }
}
