//! Per-photo ingest cost on 12 MP phone-like JPEGs (two baseline scenes, one held sideways,
//! and a progressive one), against the decode floor and a naive pipeline, all in one run:
//! - floor: libjpeg-turbo's 1/8 DCT-scaled decode alone (with `--features turbojpeg`);
//! - pipeline: digest, header and EXIF, scaled decode, orientation, dHash ×4, thumbnail, with
//!   each codec built in (pure Rust always; libjpeg-turbo with the feature);
//! - naive: full-resolution `image` decode, dHash by resizing it, `imageops` thumbnail.
//!
//! Before the criterion groups it prints each photo, the peak heap per pipeline and medians
//! of interleaved rounds as ratios, since these machines are noisy.
//!
//! `cargo bench --bench photo_ingest [--features turbojpeg] -- --warm-up-time 1 --measurement-time 4 --sample-size 10`

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::heap_use;
use criterion::Criterion;
use dibao::photos::fixtures::{PhotoSpec, phone_jpeg};
use dibao::photos::{Codec, Limits, analyse_with, decode_scaled, inspect, sha256_hex};
use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};

mod common;

#[global_allocator]
static ALLOCATOR: common::PeakAlloc = common::PeakAlloc;

struct Photo {
    name: &'static str,
    bytes: Vec<u8>,
}

fn photos() -> Vec<Photo> {
    let phone = |scene, orientation, progressive| {
        phone_jpeg(&PhotoSpec {
            width: 4000,
            height: 3000,
            quality: 90,
            scene,
            orientation: Some(orientation),
            progressive,
            ..PhotoSpec::default()
        })
    };
    vec![
        Photo {
            name: "baseline",
            bytes: phone(1, 1, false),
        },
        Photo {
            name: "baseline_sideways",
            bytes: phone(2, 6, false),
        },
        Photo {
            name: "progressive",
            bytes: phone(3, 1, true),
        },
    ]
}

/// What each contender returns, so nothing is optimised away.
type Outcome = (String, u64, usize);

fn pipeline(codec: Codec, photo: &[u8]) -> Outcome {
    let digest = sha256_hex(photo);
    let inspected = inspect(photo, &Limits::default()).expect("fixture is accepted");
    let analysis = analyse_with(codec, photo, &inspected).expect("fixture decodes");
    (digest, analysis.dhash, analysis.thumbnail.jpeg.len())
}

/// The same outputs the obvious way.
fn naive(photo: &[u8]) -> Outcome {
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

/// libjpeg-turbo decoding 1/8 of each side, nothing else: what any pixel check costs at least.
#[cfg(feature = "turbojpeg")]
fn floor(photo: &[u8]) -> Outcome {
    let scale = turbojpeg::ScalingFactor::new(1, 8);
    let mut decompressor = turbojpeg::Decompressor::new().expect("libjpeg-turbo starts");
    decompressor
        .set_scaling_factor(scale)
        .expect("1/8 is offered");
    let header = decompressor
        .read_header(photo)
        .expect("fixture has a header")
        .scaled(scale);
    let mut pixels = vec![0; header.width * header.height * 3];
    decompressor
        .decompress(
            photo,
            turbojpeg::Image {
                pixels: pixels.as_mut_slice(),
                width: header.width,
                pitch: header.width * 3,
                height: header.height,
                format: turbojpeg::PixelFormat::RGB,
            },
        )
        .expect("fixture decodes");
    (String::new(), u64::from(pixels[0]), pixels.len())
}

type Contender = (&'static str, fn(&[u8]) -> Outcome);

/// The contenders, the floor first when it is built in.
fn contenders() -> Vec<Contender> {
    let pure: Contender = ("pipeline_pure_rust", |p| pipeline(Codec::PureRust, p));
    let naive: Contender = ("naive", naive);
    #[cfg(feature = "turbojpeg")]
    return vec![
        ("floor", floor),
        pure,
        ("pipeline_libjpeg_turbo", |p| {
            pipeline(Codec::LibjpegTurbo, p)
        }),
        naive,
    ];
    #[cfg(not(feature = "turbojpeg"))]
    vec![pure, naive]
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// Runs the contenders in turn, round after round, so drift hits all alike; prints medians
/// and each one's ratio to the first (the floor when built in).
fn side_by_side(photo: &Photo, rounds: usize) {
    let contenders = contenders();
    let mut samples = vec![Vec::new(); contenders.len()];
    for _ in 0..rounds {
        for ((_, run), times) in contenders.iter().zip(&mut samples) {
            let t = Instant::now();
            black_box(run(black_box(&photo.bytes)));
            times.push(t.elapsed());
        }
    }
    let medians: Vec<Duration> = samples.into_iter().map(median).collect();
    let (first, base) = (contenders[0].0, medians[0].as_secs_f64());
    let line: Vec<String> = contenders
        .iter()
        .zip(&medians)
        .map(|((name, _), m)| format!("{name} {m:.1?} ({:.2}x)", m.as_secs_f64() / base))
        .collect();
    println!(
        "{}: median of {rounds}, ratio to {first}: {}",
        photo.name,
        line.join(", ")
    );
}

fn main() {
    let photos = photos();
    for photo in &photos {
        let heaps: Vec<String> = contenders()
            .iter()
            .map(|(name, run)| {
                let heap = heap_use(|| black_box(run(&photo.bytes))).peak;
                format!("{name} {:.1} MB", heap as f64 / 1e6)
            })
            .collect();
        println!(
            "{}: 4000x3000 quality 90, {:.2} MB; peak heap (input excluded): {}",
            photo.name,
            photo.bytes.len() as f64 / 1e6,
            heaps.join(", ")
        );
    }
    for photo in &photos {
        side_by_side(photo, 10);
    }

    let mut c = Criterion::default().configure_from_args();
    let limits = Limits::default();
    let baseline = &photos[0].bytes;
    let inspected = inspect(baseline, &limits).expect("fixture is accepted");
    let scaled = decode_scaled(baseline, &inspected).expect("fixture decodes");
    let upright = scaled.clone().upright(inspected.orientation);
    {
        let mut g = c.benchmark_group("stages_12mp");
        g.bench_function("sha256", |b| b.iter(|| sha256_hex(black_box(baseline))));
        g.bench_function("inspect_header_exif", |b| {
            b.iter(|| inspect(black_box(baseline), &limits))
        });
        g.bench_function("decode_scaled_1_8", |b| {
            b.iter(|| decode_scaled(black_box(baseline), &inspected))
        });
        // Orientation 6 (a quarter turn) is the costliest.
        g.bench_function("orient_and_dhash_x4", |b| {
            b.iter(|| black_box(scaled.clone()).upright(6).dhash_rotations())
        });
        g.bench_function("thumbnail_resize_encode", |b| {
            b.iter(|| black_box(&upright).thumbnail())
        });
        g.finish();
    }
    for photo in &photos {
        let mut g = c.benchmark_group(format!("whole_12mp_{}", photo.name));
        for (name, run) in contenders() {
            g.bench_function(name, |b| b.iter(|| run(black_box(&photo.bytes))));
        }
        g.finish();
    }
    c.final_summary();
}
