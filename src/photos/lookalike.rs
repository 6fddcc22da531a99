//! Look-alike search over 64-bit dHashes: multi-index hashing. Each hash is split into four
//! 16-bit bands; two hashes within `r` bits differ by at most ⌊r/4⌋ bits in at least one band
//! (pigeonhole), so a query only visits the buckets of band values within ⌊r/4⌋ bits of its own
//! (137 buckets per band for r = 10) and checks the full distance of what it finds there.
//! Buckets hold the full hashes themselves, so checking one is a sequential scan rather than a
//! cache miss per entry (at 10 million photos a bucket holds ~150 entries).
//! Memory: 4 × (8 + 4) bytes in buckets + 8 bytes of key per photo (~56 B, plus vector slack),
//! e.g. ~600 MB for 10 million photos; `benches/lookalike.rs` measures it.

use std::cmp::Reverse;

const BANDS: usize = 4;
const BAND_BITS: u32 = 16;

/// The entries whose band has one 16-bit value: their full hashes and entry numbers, in step.
#[derive(Default, Clone)]
struct Bucket {
    hashes: Vec<u64>,
    entries: Vec<u32>,
}

pub struct LookalikeIndex {
    /// The caller's key for each entry (a photo's row number).
    keys: Vec<i64>,
    /// For each band, for each 16-bit value, the entries having it.
    buckets: Vec<Vec<Bucket>>,
}

impl Default for LookalikeIndex {
    fn default() -> Self {
        LookalikeIndex {
            keys: Vec::new(),
            buckets: (0..BANDS)
                .map(|_| vec![Bucket::default(); 1 << BAND_BITS])
                .collect(),
        }
    }
}

fn band(hash: u64, b: usize) -> usize {
    ((hash >> (b as u32 * BAND_BITS)) & 0xFFFF) as usize
}

/// Every 16-bit value within `radius` bits of `value` (itself included).
fn neighbours(value: usize, radius: u32, out: &mut Vec<usize>) {
    out.clear();
    out.push(value);
    if radius >= 1 {
        for i in 0..BAND_BITS {
            out.push(value ^ (1 << i));
        }
    }
    if radius >= 2 {
        for i in 0..BAND_BITS {
            for j in i + 1..BAND_BITS {
                out.push(value ^ (1 << i) ^ (1 << j));
            }
        }
    }
    if radius >= 3 {
        // Beyond two bits per band the candidate count explodes; scan the band fully instead.
        out.clear();
        out.extend(0..1 << BAND_BITS);
    }
}

impl LookalikeIndex {
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn insert(&mut self, key: i64, hash: u64) {
        let entry = self.keys.len() as u32;
        self.keys.push(key);
        for (b, buckets) in self.buckets.iter_mut().enumerate() {
            let bucket = &mut buckets[band(hash, b)];
            bucket.hashes.push(hash);
            bucket.entries.push(entry);
        }
    }

    /// Keys of every stored hash within `radius` bits of any of `queries` (e.g. the four
    /// rotations of a photo), with the smallest distance found, sorted by key.
    pub fn search(&self, queries: &[u64], radius: u32) -> Vec<(i64, u32)> {
        // The default x86-64 target predates POPCNT, so `count_ones` compiles to a dozen
        // instructions; every x86-64 server of the last fifteen years has it.
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU has POPCNT, as just checked.
            return unsafe { self.search_with_popcnt(queries, radius) };
        }
        self.search_portable(queries, radius)
    }

    /// Like [`search`](Self::search), keeping only the `limit` closest (the highest keys first
    /// among equally close ones), sorted by key.
    pub fn search_closest(&self, queries: &[u64], radius: u32, limit: usize) -> Vec<(i64, u32)> {
        let mut found = self.search(queries, radius);
        if found.len() > limit {
            found.select_nth_unstable_by_key(limit, |&(key, bits)| (bits, Reverse(key)));
            found.truncate(limit);
            found.sort_unstable();
        }
        found
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    fn search_with_popcnt(&self, queries: &[u64], radius: u32) -> Vec<(i64, u32)> {
        self.search_portable(queries, radius)
    }

    /// The search, inlined into each caller so it compiles with the caller's CPU features.
    #[inline(always)]
    fn search_portable(&self, queries: &[u64], radius: u32) -> Vec<(i64, u32)> {
        let per_band = radius / BANDS as u32;
        let mut best: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
        let mut values = Vec::with_capacity(137);
        for &query in queries {
            for (b, buckets) in self.buckets.iter().enumerate() {
                neighbours(band(query, b), per_band, &mut values);
                for &value in &values {
                    let bucket = &buckets[value];
                    for (i, hash) in bucket.hashes.iter().enumerate() {
                        let bits = (hash ^ query).count_ones();
                        if bits <= radius {
                            let slot = best.entry(bucket.entries[i]).or_insert(bits);
                            *slot = (*slot).min(bits);
                        }
                    }
                }
            }
        }
        let mut found: Vec<(i64, u32)> = best
            .into_iter()
            .map(|(entry, bits)| (self.keys[entry as usize], bits))
            .collect();
        found.sort_unstable();
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn brute_force(stored: &[(i64, u64)], queries: &[u64], radius: u32) -> Vec<(i64, u32)> {
        let mut found: Vec<(i64, u32)> = stored
            .iter()
            .filter_map(|&(key, hash)| {
                let bits = queries.iter().map(|q| (q ^ hash).count_ones()).min()?;
                (bits <= radius).then_some((key, bits))
            })
            .collect();
        found.sort_unstable();
        found
    }

    proptest! {
        #[test]
        fn finds_exactly_what_a_full_scan_finds(
            stored in proptest::collection::vec(any::<u64>(), 0..200),
            flips in proptest::collection::vec((0usize..200, any::<u64>()), 0..50),
            query in any::<u64>(),
            radius in 0u32..=12,
        ) {
            let mut entries: Vec<(i64, u64)> = stored.iter().enumerate().map(|(i, &h)| (i as i64, h)).collect();
            // Near copies of the query, at every distance, so there is something to find.
            for (i, (bits, mask)) in flips.iter().enumerate() {
                let mut hash = query;
                for k in 0..(*bits % 14) {
                    hash ^= 1 << ((mask >> (k * 4)) as u32 % 64);
                }
                entries.push((1000 + i as i64, hash));
            }
            let mut index = LookalikeIndex::default();
            for &(key, hash) in &entries {
                index.insert(key, hash);
            }
            let queries = [query, query.rotate_left(7)];
            let expected = brute_force(&entries, &queries, radius);
            // Both code paths, whichever one this CPU takes.
            prop_assert_eq!(index.search_portable(&queries, radius), expected.clone());
            prop_assert_eq!(index.search(&queries, radius), expected.clone());
            let mut closest = expected;
            closest.sort_by_key(|&(key, bits)| (bits, Reverse(key)));
            closest.truncate(5);
            closest.sort_unstable();
            prop_assert_eq!(index.search_closest(&queries, radius, 5), closest);
        }
    }

    #[test]
    fn the_nearest_of_several_queries_is_reported() {
        let mut index = LookalikeIndex::default();
        index.insert(7, 0xFFFF_0000_FFFF_0000);
        let far = 0x0000_FFFF_0000_FFFF;
        let near = 0xFFFF_0000_FFFF_0003; // 2 bits away
        assert_eq!(index.search(&[far, near], 10), vec![(7, 2)]);
        assert_eq!(index.search(&[far], 10), vec![]);
    }
}
