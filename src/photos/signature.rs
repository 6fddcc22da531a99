//! Signatures drawn on the phone's screen (the applicant's and the staff's): small PNGs,
//! uploaded and stored like photos under their digest, but not geo- or look-alike-checked.

use std::io::Cursor;

use image::{ImageFormat, ImageReader};

use crate::error::{ApiError, ApiResult, ErrorKind};

/// A drawn signature is a few kilobytes; anything near these limits is not one.
pub const MAX_BYTES: usize = 512 * 1024;
pub const MAX_SIDE: u32 = 4096;
const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

fn too_large() -> ApiError {
    ApiError::new(
        ErrorKind::PayloadTooLarge,
        "signature_too_large",
        format!(
            "A signature must be a PNG of at most {} KB and {MAX_SIDE}×{MAX_SIDE} pixels",
            MAX_BYTES / 1024
        ),
        format!(
            "签名须为不超过 {} KB、{MAX_SIDE}×{MAX_SIDE} 像素的 PNG 图片",
            MAX_BYTES / 1024
        ),
    )
}

fn corrupt(err: image::ImageError) -> ApiError {
    ApiError::unprocessable(
        "signature_corrupt",
        format!("The signature image cannot be read ({err}); sign and upload it again"),
        "签名图片已损坏，无法读取，请重新签名并上传",
    )
}

/// Checks an uploaded signature: PNG, within the limits, decodable whole (so a damaged one is
/// refused now, not when a reviewer opens it). Returns its size in pixels.
pub fn check(bytes: &[u8]) -> ApiResult<(u32, u32)> {
    if bytes.len() > MAX_BYTES {
        return Err(too_large());
    }
    if !bytes.starts_with(PNG_MAGIC) {
        return Err(ApiError::new(
            ErrorKind::UnsupportedMediaType,
            "signature_not_png",
            "A signature must be the PNG drawn on the phone's screen",
            "签名须为手机屏幕上手写生成的 PNG 图片",
        ));
    }
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), ImageFormat::Png)
        .into_dimensions()
        .map_err(corrupt)?;
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(too_large());
    }
    image::load_from_memory_with_format(bytes, ImageFormat::Png).map_err(corrupt)?;
    Ok((width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image::GrayImage::from_fn(width, height, |x, y| image::Luma([((x * y) % 256) as u8]))
            .write_to(&mut out, ImageFormat::Png)
            .unwrap();
        out.into_inner()
    }

    #[test]
    fn a_drawn_png_is_accepted_with_its_size() {
        assert_eq!(check(&png(300, 120)).unwrap(), (300, 120));
    }

    #[test]
    fn a_jpeg_a_truncated_png_and_a_huge_header_are_refused() {
        let jpeg = crate::photos::fixtures::phone_jpeg(&Default::default());
        assert_eq!(check(&jpeg).unwrap_err().code, "signature_not_png");
        let whole = png(300, 120);
        assert_eq!(
            check(&whole[..whole.len() / 2]).unwrap_err().code,
            "signature_corrupt"
        );
        // The IHDR width sits right after the magic, the chunk length and "IHDR".
        let mut huge = whole.clone();
        huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        assert!(matches!(
            check(&huge).unwrap_err().code.as_ref(),
            "signature_too_large" | "signature_corrupt"
        ));
    }
}
