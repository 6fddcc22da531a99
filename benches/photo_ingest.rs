//! Per-photo ingest cost on a 12 MP phone-like JPEG, stage by stage, against the naive
//! pipeline (full-resolution decode, dHash by resizing the full picture, `imageops`
//! thumbnail). Before the criterion groups it prints the file, the peak heap of each pipeline
//! and an interleaved side-by-side ratio, since these machines are noisy.
//!
//! `cargo bench --bench photo_ingest -- --warm-up-time 1 --measurement-time 4 --sample-size 10`

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::Criterion;
use dibao::photos::fixtures::{PhotoSpec, phone_jpeg};
use dibao::photos::{Limits, analyse, decode_scaled, inspect, sha256_hex};
use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};

/// Counts live heap bytes (all threads: jpeg-decoder works on helper threads) and their peak.
struct PeakAlloc;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            grew(new_size - layout.size());
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

/// Heap bytes allocated at the peak of `f`, beyond what was live before it.
fn peak_heap(f: impl FnOnce()) -> usize {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    f();
    PEAK.load(Ordering::Relaxed) - before
}

/// Digest, header and EXIF, scaled decode, orientation, dHash ×4, thumbnail.
fn pipeline(photo: &[u8]) -> (String, u64, usize) {
    let digest = sha256_hex(photo);
    let inspected = inspect(photo, &Limits::default()).expect("fixture is accepted");
    let analysis = analyse(photo, &inspected).expect("fixture decodes");
    (digest, analysis.dhash, analysis.thumbnail.jpeg.len())
}

/// The same outputs the obvious way: full decode with `image`, dHash from a resize of the full
/// picture, `imageops::thumbnail`.
fn naive(photo: &[u8]) -> (String, u64, usize) {
    let digest = sha256_hex(photo);
    let _ = inspect(photo, &Limits::default()).expect("fixture is accepted");
    let full = image::load_from_memory(photo).expect("fixture decodes");
    let grid = imageops::resize(&full.to_luma8(), 9, 8, FilterType::Triangle);
    let dhash = grid.rows().fold(0u64, |hash, row| {
        let row: Vec<u8> = row.map(|p| p[0]).collect();
        row.windows(2)
            .fold(hash, |h, pair| (h << 1) | u64::from(pair[1] > pair[0]))
    });
    let thumb = imageops::thumbnail(&full.to_rgb8(), 320, 240);
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 80)
        .encode_image(&thumb)
        .expect("thumbnail encodes");
    (digest, dhash, jpeg.len())
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// Alternates the two pipelines so drift on a shared machine hits both alike.
fn side_by_side(photo: &[u8], rounds: usize) {
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        black_box(pipeline(black_box(photo)));
        ours.push(t.elapsed());
        let t = Instant::now();
        black_box(naive(black_box(photo)));
        theirs.push(t.elapsed());
    }
    let (ours, theirs) = (median(ours), median(theirs));
    println!(
        "side by side, median of {rounds}: pipeline {ours:.1?}, naive {theirs:.1?}, \
         pipeline/naive = {:.2} (naive is {:.1}x slower)",
        ours.as_secs_f64() / theirs.as_secs_f64(),
        theirs.as_secs_f64() / ours.as_secs_f64()
    );
}

fn main() {
    let photo = phone_jpeg(&PhotoSpec {
        width: 4000,
        height: 3000,
        quality: 90,
        ..PhotoSpec::default()
    });
    println!(
        "photo: 4000x3000 baseline 4:2:0 quality 90, {:.2} MB",
        photo.len() as f64 / 1e6
    );
    let ours = peak_heap(|| {
        black_box(pipeline(&photo));
    });
    let theirs = peak_heap(|| {
        black_box(naive(&photo));
    });
    println!(
        "peak heap per photo (input excluded): pipeline {:.1} MB, naive {:.1} MB",
        ours as f64 / 1e6,
        theirs as f64 / 1e6
    );
    side_by_side(&photo, 10);

    let mut c = Criterion::default().configure_from_args();
    let limits = Limits::default();
    let inspected = inspect(&photo, &limits).expect("fixture is accepted");
    let scaled = decode_scaled(&photo, &inspected).expect("fixture decodes");
    let upright = scaled.clone().upright(inspected.orientation);
    {
        let mut g = c.benchmark_group("stages_12mp");
        g.bench_function("sha256", |b| b.iter(|| sha256_hex(black_box(&photo))));
        g.bench_function("inspect_header_exif", |b| {
            b.iter(|| inspect(black_box(&photo), &limits))
        });
        g.bench_function("decode_scaled_1_8", |b| {
            b.iter(|| decode_scaled(black_box(&photo), &inspected))
        });
        // Orientation 6 (a quarter turn) is the costliest; the photo itself is upright.
        g.bench_function("orient_and_dhash_x4", |b| {
            b.iter(|| black_box(scaled.clone()).upright(6).dhash_rotations())
        });
        g.bench_function("thumbnail_resize_encode", |b| {
            b.iter(|| black_box(&upright).thumbnail())
        });
        g.finish();
    }
    {
        let mut g = c.benchmark_group("whole_12mp");
        g.bench_function("pipeline", |b| b.iter(|| pipeline(black_box(&photo))));
        g.bench_function("naive", |b| b.iter(|| naive(black_box(&photo))));
        g.finish();
    }
    c.final_summary();
}
