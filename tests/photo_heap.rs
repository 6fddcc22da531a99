//! Heap used by photo ingest on decompression bombs, measured with a counting allocator over
//! all threads (jpeg-decoder decodes on helper threads). A test binary of its own, with one
//! test, so nothing else allocates while it measures.

use dibao::photos::fixtures::{PhotoSpec, phone_jpeg};
use dibao::photos::{Limits, PhotoError, analyse, inspect};

#[path = "../benches/common/mod.rs"]
mod common;

#[global_allocator]
static ALLOCATOR: common::PeakAlloc = common::PeakAlloc;

const MIB: usize = 1 << 20;

/// Rewrites the size in a baseline or progressive frame header.
fn frame_size(jpeg: &[u8], width: u16, height: u16) -> Vec<u8> {
    let mut bytes = jpeg.to_vec();
    let sof = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xC0] || w == [0xFF, 0xC2])
        .expect("a frame header");
    bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    bytes
}

fn small(progressive: bool) -> Vec<u8> {
    phone_jpeg(&PhotoSpec {
        width: 64,
        height: 48,
        progressive,
        ..PhotoSpec::default()
    })
}

/// Inspect, then analyse what passed: what the upload handler does with the bytes.
fn ingest(bytes: &[u8]) -> Result<(), PhotoError> {
    let inspected = inspect(bytes, &Limits::default())?;
    analyse(bytes, &inspected).map(|_| ())
}

#[test]
fn bombs_are_refused_within_a_bounded_heap() {
    // What an honest photo costs, for scale: a 3 MP photo at 1/4 scale.
    let honest = phone_jpeg(&PhotoSpec {
        width: 2048,
        height: 1536,
        ..PhotoSpec::default()
    });
    let honest_peak = common::heap_use(|| ingest(&honest).expect("accepted")).peak;

    // 65535 × 65535 (4.3 GP, 12.9 GB as RGB) in a file of a few kB: refused from the header,
    // before the decoder allocates anything sized by the picture.
    let bomb = frame_size(&small(false), 65535, 65535);
    let used = common::heap_use(|| ingest(&bomb));
    assert_eq!(used.value.unwrap_err().code(), "photo_too_many_pixels");
    assert!(used.peak < MIB, "65535² bomb: {} bytes", used.peak);

    // Just under the 60 MP limit: the pixel check passes, but a few kB of scan data cannot
    // code 1.4 million blocks, so the header check refuses it as truncated, again before any
    // buffer sized by the frame.
    for progressive in [false, true] {
        let bomb = frame_size(&small(progressive), 7745, 7745);
        let used = common::heap_use(|| ingest(&bomb));
        assert_eq!(used.value, Err(PhotoError::Truncated));
        assert!(used.peak < MIB, "60 MP bomb: {} bytes", used.peak);
    }

    // Padded with 400 kB to pass that floor, the bomb reaches the decoder. Baseline decodes at
    // 1/8 scale, so its buffers are those of a 968² picture, never of the full frame.
    let padded = |progressive| {
        let mut bomb = frame_size(&small(progressive), 7745, 7745);
        bomb.resize(bomb.len() + 400_000, 0);
        bomb
    };
    let baseline = padded(false);
    let used = common::heap_use(|| ingest(&baseline));
    assert_eq!(used.value.unwrap_err().http_status(), 422);
    let baseline_peak = used.peak;
    assert!(
        baseline_peak < 32 * MIB,
        "padded 60 MP baseline bomb: {} MiB (an honest 3 MP photo: {} MiB)",
        baseline_peak / MIB,
        honest_peak / MIB
    );

    // Progressive: the decoder keeps every coefficient of the frame between scans, about
    // 3 bytes a pixel, so the padded bomb costs what an honest 60 MP progressive photo costs
    // and no more: bounded by the pixel limit.
    let progressive = padded(true);
    let used = common::heap_use(|| ingest(&progressive));
    assert_eq!(used.value.unwrap_err().http_status(), 422);
    assert!(
        used.peak < 60_000_000 * 3 + 32 * MIB,
        "padded 60 MP progressive bomb: {} MiB",
        used.peak / MIB
    );
    eprintln!(
        "peak heap: honest 3 MP {} MiB; padded 60 MP bombs: baseline {} MiB, progressive {} MiB",
        honest_peak / MIB,
        baseline_peak / MIB,
        used.peak / MIB
    );
}
