//! Photo ingest core: pure functions over the uploaded bytes, no storage or HTTP.
//!
//! 1. [`inspect`] reads the header and EXIF only: refuses non-JPEG (HEIC with a "set the camera
//!    to JPEG" message), oversize files and oversize pixel counts before anything is decoded, and
//!    returns GPS, capture time, orientation and camera.
//! 2. [`analyse`] decodes at 1/8 scale (from the DC coefficients alone; DCT scaling to 1/4 or
//!    1/2 for small photos), refuses truncated or corrupt data,
//!    turns the picture upright and returns the dHash (with its four rotations) and a 320 px
//!    thumbnail.
//!
//! [`fixtures`] builds phone-like JPEGs for tests and benchmarks.

mod dc;
mod error;
pub mod fixtures;
mod header;
mod ingest;
pub mod lookalike;
mod metadata;
mod pixels;
pub mod signature;
pub mod storage;
pub mod store;
#[cfg(feature = "turbojpeg")]
mod turbo;
pub mod uploads;

pub use error::PhotoError;
pub use ingest::{
    Analysis, Codec, ColorModel, Inspected, Limits, ScaledImage, THUMBNAIL_LONG_SIDE, analyse,
    analyse_with, decode_scaled, decode_scaled_with, inspect, inspect_and_analyse, sha256_hex,
};
pub use metadata::{CaptureTime, Gps, GpsProblem};
pub use pixels::{Thumbnail, hamming};

#[cfg(test)]
mod hostile;
#[cfg(test)]
mod tests;
