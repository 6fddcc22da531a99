//! The optional libjpeg-turbo decoder (`--features turbojpeg`, linking the system's
//! libturbojpeg through pkg-config): the same 1/N DCT-scaled decode as jpeg-decoder's, closer
//! to the floor. CMYK files (never from a phone camera) stay with jpeg-decoder. It also encodes
//! the thumbnails.

use turbojpeg::{Decompressor, Image, PixelFormat, ScalingFactor, Subsamp};

use super::error::PhotoError;
use super::ingest::MAX_SCANS;
use super::pixels::Raster;

/// Decodes a grayscale or colour JPEG at 1/`denominator` of each side. libjpeg-turbo reports
/// a scan that runs out of data (its warnings count as errors in the TurboJPEG API).
pub(crate) fn decode(
    bytes: &[u8],
    (width, height): (u32, u32),
    grayscale: bool,
    denominator: u8,
) -> Result<Raster, PhotoError> {
    let mut decompressor = Decompressor::new().map_err(refused)?;
    // Stops a file of too many scans at the first one past the limit, as the DC path does,
    // without walking the whole file for them first.
    decompressor
        .set_scan_limit(MAX_SCANS as u32)
        .map_err(refused)?;
    let scale = ScalingFactor::new(1, usize::from(denominator));
    let header = decompressor.read_header(bytes).map_err(refused)?;
    if (header.width, header.height) != (width as usize, height as usize) {
        return Err(PhotoError::corrupt(
            "frame size differs from the inspected one",
        ));
    }
    let scaled = header.scaled(scale);
    decompressor.set_scaling_factor(scale).map_err(refused)?;
    let (format, channels) = if grayscale {
        (PixelFormat::GRAY, 1)
    } else {
        (PixelFormat::RGB, 3)
    };
    let mut data = vec![0; scaled.width * scaled.height * channels];
    decompressor
        .decompress(
            bytes,
            Image {
                pixels: data.as_mut_slice(),
                width: scaled.width,
                pitch: scaled.width * channels,
                height: scaled.height,
                format,
            },
        )
        .map_err(refused)?;
    Ok(Raster {
        width: scaled.width as u32,
        height: scaled.height as u32,
        channels,
        data,
    })
}

/// A thumbnail's JPEG: 4:2:0 for colour, as phones write. Should libjpeg-turbo fail on a
/// small in-memory raster (it cannot short of memory), jpeg-encoder writes it instead.
pub(crate) fn encode_jpeg(raster: &Raster, quality: u8) -> Vec<u8> {
    let (format, subsampling) = if raster.channels == 1 {
        (PixelFormat::GRAY, Subsamp::Gray)
    } else {
        (PixelFormat::RGB, Subsamp::Sub2x2)
    };
    let image = Image {
        pixels: raster.data.as_slice(),
        width: raster.width as usize,
        pitch: raster.width as usize * raster.channels,
        height: raster.height as usize,
        format,
    };
    match turbojpeg::compress(image, i32::from(quality), subsampling) {
        Ok(jpeg) => jpeg.to_vec(),
        Err(_) => super::pixels::encode_jpeg(raster, quality),
    }
}

fn refused(e: turbojpeg::Error) -> PhotoError {
    let reason = e.to_string();
    if reason.contains("Premature end") {
        PhotoError::Truncated
    } else if reason.contains("more than") && reason.contains("scans") {
        PhotoError::Unsupported {
            what: format!("more than {MAX_SCANS} scans"),
        }
    } else {
        PhotoError::corrupt(reason)
    }
}
