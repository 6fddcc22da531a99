//! The phones' photos: one distinct natural-looking scene per photo slot (so neither the
//! duplicate nor the look-alike check sees a photo twice), encoded once before the timed
//! phase into a cache directory, and given each visit's own EXIF (GPS at the household,
//! capture time inside the visit) when it is taken.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;
use chrono::NaiveDateTime;

use crate::photos::fixtures::{FixtureGps, PhotoSpec, exif_block, phone_jpeg, splice_exif};

pub struct PhotoPool {
    dir: PathBuf,
    width: u32,
    height: u32,
    quality: u8,
    first_scene: u64,
    slots: usize,
}

impl PhotoPool {
    /// A 4:3 picture of about `megapixels`, `slots` scenes from `first_scene` on, encoding
    /// (on every core) the ones `dir` does not hold yet.
    pub fn prepare(
        dir: &Path,
        megapixels: f64,
        quality: u8,
        first_scene: u64,
        slots: usize,
    ) -> anyhow::Result<Self> {
        let width = ((megapixels * 1e6 * 4.0 / 3.0).sqrt().round() as u32).max(16);
        let pool = PhotoPool {
            dir: dir.to_path_buf(),
            width,
            height: (width * 3 / 4).max(16),
            quality,
            first_scene,
            slots,
        };
        std::fs::create_dir_all(dir).with_context(|| format!("photo cache {}", dir.display()))?;
        let missing: Vec<usize> = (0..slots).filter(|&s| !pool.path(s).exists()).collect();
        if missing.is_empty() {
            return Ok(pool);
        }
        println!(
            "Encoding {} photos of {}×{} into {} (once; later runs reuse them)…",
            missing.len(),
            pool.width,
            pool.height,
            dir.display()
        );
        let next = AtomicUsize::new(0);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| -> anyhow::Result<()> {
                        while let Some(&slot) = missing.get(next.fetch_add(1, Ordering::Relaxed)) {
                            pool.encode(slot)?;
                        }
                        Ok(())
                    })
                })
                .collect();
            workers.into_iter().try_for_each(|w| {
                w.join()
                    .map_err(|_| anyhow::anyhow!("photo encoder panicked"))?
            })
        })?;
        Ok(pool)
    }

    fn path(&self, slot: usize) -> PathBuf {
        let scene = self.first_scene + slot as u64;
        self.dir.join(format!(
            "{}x{}-q{}-scene{scene}.jpg",
            self.width, self.height, self.quality
        ))
    }

    fn encode(&self, slot: usize) -> anyhow::Result<()> {
        let jpeg = phone_jpeg(&PhotoSpec {
            width: self.width,
            height: self.height,
            scene: self.first_scene + slot as u64,
            quality: self.quality,
            // Pixels only: the metadata is added per visit.
            ..PhotoSpec::without_metadata()
        });
        // Written aside and renamed, so a cut-off run never leaves half a photo in the cache.
        let path = self.path(slot);
        let partial = path.with_extension("part");
        std::fs::write(&partial, jpeg)?;
        std::fs::rename(&partial, &path)?;
        Ok(())
    }

    /// The cached scene of `slot` (its own, or a reused one when the pool is smaller).
    pub fn scene(&self, slot: usize) -> PathBuf {
        self.path(slot % self.slots)
    }
}

/// The cached `scene` as the phone's camera writes it at `gps` and local time `taken`: the
/// same arguments give the same bytes, so a resumed visit sends the photos it planned.
pub async fn take(scene: &Path, gps: FixtureGps, taken: NaiveDateTime) -> anyhow::Result<Vec<u8>> {
    let picture = tokio::fs::read(scene)
        .await
        .with_context(|| format!("cached photo {}", scene.display()))?;
    let exif = exif_block(&PhotoSpec {
        gps: Some(gps),
        captured: Some(taken),
        ..PhotoSpec::default()
    })
    .context("EXIF block")?;
    Ok(splice_exif(&picture, &exif))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::photos as ingest;

    #[test]
    fn a_taken_photo_carries_the_visit_metadata_and_the_slot_scene() {
        let dir = tempfile::tempdir().unwrap();
        let pool = PhotoPool::prepare(dir.path(), 0.05, 90, 7, 2).unwrap();
        let taken = chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap()
            .and_hms_opt(9, 30, 0)
            .unwrap();
        let gps = FixtureGps {
            lat: 29.9,
            lon: 113.4,
            alt_m: 20.0,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (a, b, again) = runtime.block_on(async {
            (
                take(&pool.scene(0), gps, taken).await.unwrap(),
                take(&pool.scene(1), gps, taken).await.unwrap(),
                take(&pool.scene(2), gps, taken).await.unwrap(),
            )
        });
        assert_eq!(
            a, again,
            "a photo taken again is the same bytes (slot 2 reuses scene 0)"
        );
        let limits = ingest::Limits::default();
        let inspected = ingest::inspect(&a, &limits).unwrap();
        assert_eq!(inspected.captured.map(|c| c.local), Some(taken));
        let fix = inspected.gps.unwrap();
        assert!((fix.lat - 29.9).abs() < 1e-5 && (fix.lon - 113.4).abs() < 1e-5);
        let dhash = |jpeg: &[u8]| {
            let inspected = ingest::inspect(jpeg, &limits).unwrap();
            ingest::analyse(jpeg, &inspected).unwrap().dhash
        };
        assert!(
            (dhash(&a) ^ dhash(&b)).count_ones() > 10,
            "distinct scenes look distinct"
        );
        assert_ne!(ingest::sha256_hex(&a), ingest::sha256_hex(&b));
    }
}
