//! Look-alike search at province scale: 10 million stored dHashes (`LOOKALIKE_PHOTOS` to
//! change), queries of four rotations within 10 bits — half near copies of a stored photo,
//! half unseen. Prints the index's heap, build time, query percentiles and, from the same run,
//! the full scan it replaces; then a criterion group.
//!
//! `cargo bench --bench lookalike -- --warm-up-time 1 --measurement-time 4 --sample-size 20`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use dibao::photos::lookalike::LookalikeIndex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod common;

#[global_allocator]
static ALLOCATOR: common::PeakAlloc = common::PeakAlloc;

const RADIUS: u32 = 10;

/// The four rotations of a photo: for a near copy the first is within `bits` of a stored hash.
fn query(rng: &mut ChaCha8Rng, stored: &[u64], near: bool) -> [u64; 4] {
    let mut rotations: [u64; 4] = rng.r#gen();
    if near {
        let mut hash = stored[rng.gen_range(0..stored.len())];
        for _ in 0..rng.gen_range(0..=6) {
            hash ^= 1 << rng.gen_range(0..64);
        }
        rotations[0] = hash;
    }
    rotations
}

fn full_scan(stored: &[u64], queries: &[u64]) -> usize {
    stored
        .iter()
        .filter(|&&h| queries.iter().any(|q| (q ^ h).count_ones() <= RADIUS))
        .count()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let photos: usize = std::env::var("LOOKALIKE_PHOTOS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000_000);
    let mut rng = ChaCha8Rng::seed_from_u64(20261202);
    let stored: Vec<u64> = (0..photos).map(|_| rng.r#gen()).collect();

    let started = Instant::now();
    let built = common::heap_use(|| {
        let mut index = LookalikeIndex::default();
        for (key, &hash) in stored.iter().enumerate() {
            index.insert(key as i64, hash);
        }
        index
    });
    let elapsed = started.elapsed();
    let index = built.value;
    println!(
        "index of {photos} photos: built in {elapsed:.1?}, heap {:.0} MB ({:.1} bytes/photo), \
         {:.0} MB at the peak of building",
        built.retained as f64 / 1e6,
        built.retained as f64 / photos as f64,
        built.peak as f64 / 1e6
    );

    let queries: Vec<[u64; 4]> = (0..2000)
        .map(|i| query(&mut rng, &stored, i % 2 == 0))
        .collect();
    let mut times = Vec::with_capacity(queries.len());
    let mut found = 0;
    for q in &queries {
        let t = Instant::now();
        found += usize::from(!black_box(index.search(q, RADIUS)).is_empty());
        times.push(t.elapsed());
    }
    times.sort_unstable();
    let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
    let scans: Vec<Duration> = queries[..5]
        .iter()
        .map(|q| {
            let t = Instant::now();
            black_box(full_scan(&stored, q));
            t.elapsed()
        })
        .collect();
    let mut scans = scans;
    scans.sort_unstable();
    let scan = percentile(&scans, 0.5);
    println!(
        "{} queries ({found} with a match): p50 {p50:.1?}, p99 {p99:.1?}, max {:.1?}; \
         full scan of the same hashes {scan:.1?} (p99 is {:.0}x faster)",
        queries.len(),
        times[times.len() - 1],
        scan.as_secs_f64() / p99.as_secs_f64()
    );

    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group(format!("lookalike_{photos}"));
    g.bench_function("near_copy", |b| {
        b.iter(|| index.search(black_box(&queries[0]), RADIUS))
    });
    g.bench_function("unseen", |b| {
        b.iter(|| index.search(black_box(&queries[1]), RADIUS))
    });
    g.finish();
    c.final_summary();
}
