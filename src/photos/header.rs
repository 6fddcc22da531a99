//! Format sniffing and a walk over the JPEG marker segments up to the first scan. Reads only the
//! header, so limits are enforced before any decoder allocates pixel buffers.

use super::error::PhotoError;

/// What the JPEG header says about the picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JpegHeader<'a> {
    pub width: u16,
    pub height: u16,
    pub components: u8,
    pub progressive: bool,
    /// The TIFF structure of the first `APP1 Exif` segment, without the `Exif\0\0` prefix.
    pub exif: Option<&'a [u8]>,
    /// Offset of the first scan's entropy-coded data.
    pub scan_start: usize,
}

/// Refuses anything that is not a JPEG, naming what it is where that helps the user.
pub(crate) fn sniff(bytes: &[u8]) -> Result<(), PhotoError> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(());
    }
    if is_heif(bytes) {
        return Err(PhotoError::Heic);
    }
    let found = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "PNG"
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        "GIF"
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        "WebP"
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        "TIFF"
    } else if bytes.starts_with(b"BM") {
        "BMP"
    } else if bytes.len() >= 8 && &bytes[4..8] == b"ftyp" {
        "a video (MP4/MOV)"
    } else {
        "not a recognised image"
    };
    Err(PhotoError::NotJpeg { found })
}

/// ISO base media file whose major or compatible brands name a HEIF/HEIC/AVIF image.
fn is_heif(bytes: &[u8]) -> bool {
    const BRANDS: [&[u8; 4]; 12] = [
        b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1",
        b"avif", b"avis",
    ];
    if bytes.len() < 16 || &bytes[4..8] != b"ftyp" {
        return false;
    }
    let box_len = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let end = box_len.clamp(16, bytes.len().min(4096));
    // Major brand at 8..12, minor version at 12..16, compatible brands after.
    std::iter::once(&bytes[8..12])
        .chain(bytes[16..end].chunks_exact(4))
        .any(|brand| BRANDS.iter().any(|b| brand == b.as_slice()))
}

/// Walks the marker segments from SOI to the first SOS. `max_pixels` is checked as soon as the
/// frame header is seen.
pub(crate) fn read_header(bytes: &[u8], max_pixels: u64) -> Result<JpegHeader<'_>, PhotoError> {
    let mut pos = 2;
    let mut frame: Option<Frame> = None;
    let mut exif = None;
    loop {
        // Like libjpeg, tolerate stray bytes between segments; then skip fill bytes.
        while pos < bytes.len() && bytes[pos] != 0xFF {
            pos += 1;
        }
        while pos < bytes.len() && bytes[pos] == 0xFF {
            pos += 1;
        }
        let Some(&marker) = bytes.get(pos) else {
            return Err(PhotoError::Truncated);
        };
        pos += 1;
        match marker {
            // Stuffed zero, TEM and RSTn carry no length.
            0x00 | 0x01 | 0xD0..=0xD7 => continue,
            0xD8 => return Err(PhotoError::corrupt("second start-of-image marker")),
            0xD9 => return Err(PhotoError::corrupt("end of image before any picture data")),
            _ => {}
        }
        let Some(len_bytes) = bytes.get(pos..pos + 2) else {
            return Err(PhotoError::Truncated);
        };
        let seg_len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        if seg_len < 2 {
            return Err(PhotoError::corrupt("marker segment length below 2"));
        }
        let Some(segment) = bytes.get(pos + 2..pos + seg_len) else {
            return Err(PhotoError::Truncated);
        };
        pos += seg_len;
        match marker {
            0xE1 if exif.is_none() && segment.starts_with(b"Exif\0\0") => {
                exif = Some(&segment[6..]);
            }
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if frame.is_some() {
                    return Err(PhotoError::corrupt("more than one frame header"));
                }
                frame = Some(parse_frame(marker, segment, max_pixels)?);
            }
            0xDA => {
                let Some(Frame {
                    width,
                    height,
                    components,
                    progressive,
                    min_scan_bytes,
                }) = frame
                else {
                    return Err(PhotoError::corrupt("scan before frame header"));
                };
                // Every block of every component is coded with at least one bit (its DC
                // symbol) in a sequential scan or a progressive DC scan, so fewer bytes than
                // that after the first scan header cannot hold the picture: a small file
                // claiming a huge frame is refused here, before any decoder sizes buffers by it.
                if (bytes.len() - pos) < min_scan_bytes {
                    return Err(PhotoError::Truncated);
                }
                return Ok(JpegHeader {
                    width,
                    height,
                    components,
                    progressive,
                    exif,
                    scan_start: pos,
                });
            }
            _ => {}
        }
    }
}

/// Offsets of the markers that close each entropy-coded segment (restart markers excepted),
/// from the first scan on: normally one, the EOI; one per scan for progressive JPEGs.
pub(crate) fn scan_ends(bytes: &[u8], first_scan: usize) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut pos = first_scan;
    'scans: loop {
        // Inside entropy-coded data: FF 00 is a stuffed byte and RSTn continues the scan.
        let Some(ff) = find_ff(bytes, pos) else {
            return ends;
        };
        let mut at = ff + 1;
        while bytes.get(at) == Some(&0xFF) {
            at += 1;
        }
        match bytes.get(at) {
            None => return ends,
            Some(0x00 | 0xD0..=0xD7) => {
                pos = at + 1;
                continue;
            }
            Some(_) => ends.push(ff),
        }
        // Between scans: marker segments up to the next SOS, or EOI.
        loop {
            let Some(&marker) = bytes.get(at) else {
                return ends;
            };
            at += 1;
            match marker {
                0xD9 => return ends,
                0x01 | 0xD0..=0xD7 => {}
                _ => {
                    let Some(len) = bytes.get(at..at + 2) else {
                        return ends;
                    };
                    at += usize::from(u16::from_be_bytes([len[0], len[1]]));
                    if marker == 0xDA {
                        pos = at;
                        continue 'scans;
                    }
                }
            }
            while bytes.get(at).is_some_and(|&b| b != 0xFF) {
                at += 1;
            }
            while bytes.get(at) == Some(&0xFF) {
                at += 1;
            }
        }
    }
}

/// Index of the first 0xFF at or after `from`.
fn find_ff(bytes: &[u8], from: usize) -> Option<usize> {
    memchr::memchr(0xFF, bytes.get(from..)?).map(|at| from + at)
}

/// What the frame header says, with the least scan data that can code it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Frame {
    width: u16,
    height: u16,
    components: u8,
    progressive: bool,
    /// One bit per 8×8 block of every component (each has at least a DC symbol), in bytes.
    min_scan_bytes: usize,
}

fn parse_frame(marker: u8, segment: &[u8], max_pixels: u64) -> Result<Frame, PhotoError> {
    let unsupported = |what: &str| {
        Err(PhotoError::Unsupported {
            what: what.to_owned(),
        })
    };
    match marker {
        // Baseline, extended sequential, progressive.
        0xC0..=0xC2 => {}
        0xC3 => return unsupported("lossless"),
        0xC5..=0xC7 => return unsupported("hierarchical"),
        _ => return unsupported("arithmetic coding"),
    }
    if segment.len() < 6 {
        return Err(PhotoError::corrupt("frame header too short"));
    }
    let precision = segment[0];
    let height = u16::from_be_bytes([segment[1], segment[2]]);
    let width = u16::from_be_bytes([segment[3], segment[4]]);
    let components = segment[5];
    if segment.len() < 6 + 3 * usize::from(components) {
        return Err(PhotoError::corrupt("frame header too short"));
    }
    if precision != 8 {
        return unsupported(&format!("{precision}-bit samples"));
    }
    if !matches!(components, 1 | 3 | 4) {
        return unsupported(&format!("{components} colour components"));
    }
    if width == 0 || height == 0 {
        // Height 0 means "defined later by a DNL marker", which no camera writes.
        return Err(PhotoError::corrupt("zero width or height in frame header"));
    }
    let (w, h) = (u32::from(width), u32::from(height));
    if u64::from(w) * u64::from(h) > max_pixels {
        return Err(PhotoError::TooManyPixels {
            width: w,
            height: h,
            max: max_pixels,
        });
    }
    // Sampling factors 1-4 (ITU T.81 B.2.2); a component covers its share of the frame, and
    // a non-interleaved scan codes only the blocks that share touches.
    let factors: Vec<(u64, u64)> = segment[6..6 + 3 * usize::from(components)]
        .chunks_exact(3)
        .map(|c| (u64::from(c[1] >> 4), u64::from(c[1] & 0x0F)))
        .collect();
    if factors
        .iter()
        .any(|&(h, v)| !(1..=4).contains(&h) || !(1..=4).contains(&v))
    {
        return Err(PhotoError::corrupt("sampling factor outside 1-4"));
    }
    let h_max = factors.iter().map(|f| f.0).max().unwrap_or(1);
    let v_max = factors.iter().map(|f| f.1).max().unwrap_or(1);
    let blocks: u64 = factors
        .iter()
        .map(|&(hs, vs)| {
            let cols = (u64::from(w) * hs).div_ceil(h_max).div_ceil(8);
            let rows = (u64::from(h) * vs).div_ceil(v_max).div_ceil(8);
            cols * rows
        })
        .sum();
    Ok(Frame {
        width,
        height,
        components,
        progressive: marker == 0xC2,
        min_scan_bytes: blocks.div_ceil(8) as usize,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heif_is_recognised_by_major_or_compatible_brand() {
        let mut iphone = vec![0, 0, 0, 24];
        iphone.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
        assert_eq!(sniff(&iphone), Err(PhotoError::Heic));

        let mut compat = vec![0, 0, 0, 24];
        compat.extend_from_slice(b"ftypXXXX\0\0\0\0isommif1");
        assert_eq!(sniff(&compat), Err(PhotoError::Heic));

        let mut mp4 = vec![0, 0, 0, 24];
        mp4.extend_from_slice(b"ftypisom\0\0\0\0isomavc1");
        assert_eq!(
            sniff(&mp4),
            Err(PhotoError::NotJpeg {
                found: "a video (MP4/MOV)"
            })
        );
    }

    #[test]
    fn other_formats_are_named() {
        let cases: [(&[u8], &str); 4] = [
            (b"GIF89a\x01\0\x01\0", "GIF"),
            (b"RIFF\0\0\0\0WEBPVP8 ", "WebP"),
            (b"II*\0\x08\0\0\0", "TIFF"),
            (b"BM\0\0\0\0", "BMP"),
        ];
        for (bytes, found) in cases {
            assert_eq!(sniff(bytes), Err(PhotoError::NotJpeg { found }));
        }
    }

    #[test]
    fn header_walk_stops_at_missing_bytes() {
        // SOI, then an APP0 whose length runs past the end.
        let bytes = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F'];
        assert_eq!(read_header(&bytes, 1 << 30), Err(PhotoError::Truncated));
        // SOI and nothing else.
        assert_eq!(
            read_header(&[0xFF, 0xD8, 0xFF], 1 << 30),
            Err(PhotoError::Truncated)
        );
    }

    #[test]
    fn scan_ends_skip_stuffed_bytes_and_restart_markers() {
        let mut jpeg = vec![0xFF, 0xD8];
        let first_scan = jpeg.len();
        // Entropy data with a stuffed FF and a restart marker, then EOI and trailing bytes.
        jpeg.extend_from_slice(&[1, 2, 0xFF, 0x00, 3, 0xFF, 0xD3, 4, 5, 6, 7, 8, 9, 10]);
        let eoi = jpeg.len();
        jpeg.extend_from_slice(&[0xFF, 0xD9, 0xFF, 0xDA]);
        assert_eq!(scan_ends(&jpeg, first_scan), vec![eoi]);
    }

    #[test]
    fn scan_ends_follow_progressive_scans() {
        let mut jpeg = vec![0xFF, 0xD8];
        let first_scan = jpeg.len();
        jpeg.extend_from_slice(&[1, 2, 3]);
        let first_end = jpeg.len();
        // A DHT (whose payload holds 0xFF) and a second SOS between the scans.
        jpeg.extend_from_slice(&[0xFF, 0xC4, 0, 4, 0xFF, 0xD9, 0xFF, 0xDA, 0, 2, 9, 9, 9, 9]);
        jpeg.extend_from_slice(&[9, 9, 9, 9, 9, 9, 9, 9, 9]);
        let second_end = jpeg.len();
        jpeg.extend_from_slice(&[0xFF, 0xFF, 0xD9]);
        assert_eq!(scan_ends(&jpeg, first_scan), vec![first_end, second_end]);
    }

    #[test]
    fn the_least_scan_data_is_one_bit_per_block_of_every_component() {
        // 4000×3000, 4:2:0: 500×375 luma blocks and 250×188 of each chroma component.
        let sof = [
            8, 0x0B, 0xB8, 0x0F, 0xA0, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1,
        ];
        let frame = parse_frame(0xC0, &sof, 1 << 30).unwrap();
        assert_eq!((frame.width, frame.height), (4000, 3000));
        assert_eq!(
            frame.min_scan_bytes,
            (187_500 + 2 * 47_000usize).div_ceil(8)
        );
        // Grayscale 9×9: a partial block each way makes four.
        let gray = [8, 0, 9, 0, 9, 1, 1, 0x11, 0];
        assert_eq!(parse_frame(0xC2, &gray, 1 << 30).unwrap().min_scan_bytes, 1);
        let zero_factor = [8, 0, 16, 0, 16, 1, 1, 0x01, 0];
        assert!(matches!(
            parse_frame(0xC0, &zero_factor, 1 << 30),
            Err(PhotoError::Corrupt { .. })
        ));
    }

    #[test]
    fn frame_variants_phones_never_write_are_unsupported() {
        for (marker, what) in [
            (0xC3, "lossless"),
            (0xC9, "arithmetic coding"),
            (0xC5, "hierarchical"),
        ] {
            let sof = [8, 0, 16, 0, 16, 1, 1, 0x11, 0];
            assert_eq!(
                parse_frame(marker, &sof, 1 << 30),
                Err(PhotoError::Unsupported { what: what.into() })
            );
        }
        let twelve_bit = [12, 0, 16, 0, 16, 1, 1, 0x11, 0];
        assert!(matches!(
            parse_frame(0xC1, &twelve_bit, 1 << 30),
            Err(PhotoError::Unsupported { .. })
        ));
    }
}
