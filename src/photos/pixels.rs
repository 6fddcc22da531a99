//! Small decoded rasters (a few hundred pixels a side): EXIF orientation, luma, dHash and the
//! reviewer's thumbnail.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

/// Interleaved 8-bit pixels, 1 (luma) or 3 (RGB) channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Raster {
    pub width: u32,
    pub height: u32,
    pub channels: usize,
    pub data: Vec<u8>,
}

impl Raster {
    /// Turns and flips the stored pixels so the picture is upright, per EXIF orientation 1-8
    /// (values outside that range leave it as stored).
    pub fn upright(self, orientation: u8) -> Raster {
        if (2..=8).contains(&orientation) {
            self.oriented(orientation)
        } else {
            self
        }
    }

    /// A copy turned and flipped per EXIF orientation 2-8.
    fn oriented(&self, orientation: u8) -> Raster {
        let (w, h) = (self.width as isize, self.height as isize);
        let (out_w, out_h) = if orientation >= 5 {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        };
        // The stored pixel shown at upright (x, y) has index origin + x·step_x + y·step_y.
        let (origin, step_x, step_y) = match orientation {
            2 => (w - 1, -1, w),
            3 => ((h - 1) * w + w - 1, -1, -w),
            4 => ((h - 1) * w, 1, -w),
            5 => (0, w, 1),
            6 => ((h - 1) * w, -w, 1),
            7 => ((h - 1) * w + w - 1, -w, -1),
            _ => (w - 1, w, -1),
        };
        let walk = Walk {
            origin,
            step_x,
            step_y,
            out_w: out_w as usize,
        };
        let data = match self.channels {
            1 => walk.gather::<1>(&self.data),
            _ => walk.gather::<3>(&self.data),
        };
        Raster {
            width: out_w,
            height: out_h,
            channels: self.channels,
            data,
        }
    }

    /// Quarter turns clockwise (orientation 6 is "turn 90° clockwise to view").
    fn rotated_clockwise(&self, quarter_turns: u8) -> Raster {
        match quarter_turns % 4 {
            0 => self.clone(),
            1 => self.oriented(6),
            2 => self.oriented(3),
            _ => self.oriented(8),
        }
    }

    /// BT.601 luma, the Y that JPEG itself stores.
    pub fn luma(&self) -> Raster {
        let data = if self.channels == 1 {
            self.data.clone()
        } else {
            self.data
                .chunks_exact(3)
                .map(|p| {
                    let y = 77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2]);
                    ((y + 128) >> 8) as u8
                })
                .collect()
        };
        Raster {
            width: self.width,
            height: self.height,
            channels: 1,
            data,
        }
    }

    fn pixel_type(&self) -> PixelType {
        if self.channels == 1 {
            PixelType::U8
        } else {
            PixelType::U8x3
        }
    }

    fn resized(
        &self,
        width: u32,
        height: u32,
        filter: FilterType,
        resizer: &mut Resizer,
    ) -> Raster {
        let src = ImageRef::new(self.width, self.height, &self.data, self.pixel_type())
            .expect("raster buffer matches its dimensions");
        let mut dst = Image::new(width, height, self.pixel_type());
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(filter));
        resizer
            .resize(&src, &mut dst, &options)
            .expect("source and destination share a pixel type");
        Raster {
            width,
            height,
            channels: self.channels,
            data: dst.into_vec(),
        }
    }
}

/// Copies pixels along a linear walk over the source, one output row at a time.
struct Walk {
    origin: isize,
    step_x: isize,
    step_y: isize,
    out_w: usize,
}

impl Walk {
    fn gather<const C: usize>(&self, src: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; src.len()];
        for (y, row) in out.chunks_exact_mut(self.out_w * C).enumerate() {
            let mut at = self.origin + y as isize * self.step_y;
            for px in row.chunks_exact_mut(C) {
                let i = at as usize * C;
                px.copy_from_slice(&src[i..i + C]);
                at += self.step_x;
            }
        }
        out
    }
}

/// dHash of the upright luma turned 0°, 90°, 180° and 270° clockwise.
///
/// dHash: area-average the picture down to 9×8 cells, then for each row set one bit per
/// neighbour pair, 1 when the right cell is brighter; row-major, first pair in the top bit.
/// Each turn is hashed from turned pixels, exactly as a turned copy would be.
pub(crate) fn dhash_rotations(luma: &Raster, resizer: &mut Resizer) -> [u64; 4] {
    let mut hash = |picture: &Raster| row_bits(&picture.resized(9, 8, FilterType::Box, resizer));
    [
        hash(luma),
        hash(&luma.rotated_clockwise(1)),
        hash(&luma.rotated_clockwise(2)),
        hash(&luma.rotated_clockwise(3)),
    ]
}

/// The 64 neighbour comparisons of a 9×8 grid.
fn row_bits(grid: &Raster) -> u64 {
    grid.data.chunks_exact(9).fold(0u64, |hash, row| {
        row.windows(2).fold(hash, |hash, pair| {
            (hash << 1) | u64::from(pair[1] > pair[0])
        })
    })
}

/// Number of differing bits between two dHashes.
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// A JPEG thumbnail for reviewers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Resizes to a long side of at most `long_side` (never enlarging) and encodes it as JPEG with
/// `encode`.
pub(crate) fn thumbnail(
    upright: &Raster,
    long_side: u32,
    quality: u8,
    resizer: &mut Resizer,
    encode: impl FnOnce(&Raster, u8) -> Vec<u8>,
) -> Thumbnail {
    let long = upright.width.max(upright.height);
    let scaled = |side: u32| {
        if long <= long_side {
            side
        } else {
            ((u64::from(side) * u64::from(long_side) + u64::from(long) / 2) / u64::from(long))
                .max(1) as u32
        }
    };
    let (width, height) = (scaled(upright.width), scaled(upright.height));
    let small = upright.resized(width, height, FilterType::Lanczos3, resizer);
    Thumbnail {
        jpeg: encode(&small, quality),
        width,
        height,
    }
}

/// JPEG by jpeg-encoder: a few times faster than `image`'s encoder on the same raster.
pub(crate) fn encode_jpeg(raster: &Raster, quality: u8) -> Vec<u8> {
    let color = if raster.channels == 1 {
        jpeg_encoder::ColorType::Luma
    } else {
        jpeg_encoder::ColorType::Rgb
    };
    let mut jpeg = Vec::with_capacity(32 * 1024);
    jpeg_encoder::Encoder::new(&mut jpeg, quality)
        .encode(
            &raster.data,
            raster.width as u16,
            raster.height as u16,
            color,
        )
        .expect("encoding a small in-memory raster cannot fail");
    jpeg
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3×2 luma raster with distinct values, to follow where each pixel goes.
    fn numbered() -> Raster {
        Raster {
            width: 3,
            height: 2,
            channels: 1,
            data: vec![1, 2, 3, 4, 5, 6],
        }
    }

    #[test]
    fn orientation_six_turns_the_stored_pixels_clockwise() {
        // Stored:  1 2 3     Upright (turned clockwise):  4 1
        //          4 5 6                                  5 2
        //                                                 6 3
        let upright = numbered().upright(6);
        assert_eq!((upright.width, upright.height), (2, 3));
        assert_eq!(upright.data, vec![4, 1, 5, 2, 6, 3]);
    }

    #[test]
    fn every_orientation_matches_the_exif_definition() {
        let expected: [(u8, (u32, u32), [u8; 6]); 8] = [
            (1, (3, 2), [1, 2, 3, 4, 5, 6]),
            (2, (3, 2), [3, 2, 1, 6, 5, 4]),
            (3, (3, 2), [6, 5, 4, 3, 2, 1]),
            (4, (3, 2), [4, 5, 6, 1, 2, 3]),
            (5, (2, 3), [1, 4, 2, 5, 3, 6]),
            (6, (2, 3), [4, 1, 5, 2, 6, 3]),
            (7, (2, 3), [6, 3, 5, 2, 4, 1]),
            (8, (2, 3), [3, 6, 2, 5, 1, 4]),
        ];
        for (orientation, size, data) in expected {
            let upright = numbered().upright(orientation);
            assert_eq!(
                (upright.width, upright.height),
                size,
                "orientation {orientation}"
            );
            assert_eq!(upright.data, data, "orientation {orientation}");
        }
        assert_eq!(numbered().upright(0), numbered());
        assert_eq!(numbered().upright(9), numbered());
    }

    #[test]
    fn four_quarter_turns_come_back() {
        let r = numbered();
        let turned = r
            .rotated_clockwise(1)
            .rotated_clockwise(1)
            .rotated_clockwise(1)
            .rotated_clockwise(1);
        assert_eq!(turned, r);
        assert_eq!(r.rotated_clockwise(2), r.clone().upright(3));
    }

    #[test]
    fn dhash_sets_a_bit_where_the_right_neighbour_is_brighter() {
        // Brightness rises left to right in every row: all 64 bits set.
        let width = 90;
        let data = (0..80)
            .flat_map(|_| (0..width).map(|x| x as u8 * 2))
            .collect();
        let ramp = Raster {
            width,
            height: 80,
            channels: 1,
            data,
        };
        let rotations = dhash_rotations(&ramp, &mut Resizer::new());
        assert_eq!(rotations[0], u64::MAX);
        // Turned half round, brightness falls left to right: no bits.
        assert_eq!(rotations[2], 0);
        // Turned a quarter, the ramp runs top to bottom: no pair differs.
        assert_eq!(rotations[1], 0);
        assert_eq!(hamming(rotations[0], rotations[2]), 64);
    }

    #[test]
    fn thumbnail_keeps_the_aspect_ratio_and_never_enlarges() {
        let mut resizer = Resizer::new();
        let big = Raster {
            width: 500,
            height: 375,
            channels: 3,
            data: vec![128; 500 * 375 * 3],
        };
        let thumb = thumbnail(&big, 320, 80, &mut resizer, encode_jpeg);
        assert_eq!((thumb.width, thumb.height), (320, 240));
        assert!(thumb.jpeg.starts_with(&[0xFF, 0xD8]));

        let small = Raster {
            width: 200,
            height: 100,
            channels: 1,
            data: vec![10; 200 * 100],
        };
        let thumb = thumbnail(&small, 320, 80, &mut resizer, encode_jpeg);
        assert_eq!((thumb.width, thumb.height), (200, 100));
    }
}
