//! Exact k-nearest search by multi-index hashing (Norouzi, Punjani and Fleet, CVPR 2012).
//!
//! The code is split into `m` disjoint substrings of `bits / m` or one more bits (at most 32). Table `j`
//! maps each value of substring `j` to the bucket of ids having it. A search enumerates, for substring
//! radius `s = 0, 1, ...` and table by table, every value at Hamming distance exactly `s` from the query's
//! substring, and computes the full distance of each id not seen before (a visited bitset; the excluded ids
//! are marked visited up front, the allowed set is checked before any distance). Pigeonhole: after table
//! `t` at radius `s`, every code within distance `m·s + t` has been seen, so the search stops once it holds
//! `k` hits whose worst distance is at most that; unseen codes are then strictly farther, so the result is
//! exactly the scan's under the tie rule.
//!
//! **Buckets** ([`Layout`]): small buckets are sorted `u32` id runs in one arena per table, found through
//! offsets indexed by substring value (dense) or, where substrings are long enough that a dense offset
//! array would outweigh the ids, through sorted distinct keys with a 2^16-entry directory on their high
//! bits (sparse). Buckets of at least [`BIG_BUCKET`] ids (hot substrings of clustered codes) are roaring
//! bitmaps in the hybrid layout.

use rayon::prelude::*;
use roaring::RoaringBitmap;

use super::codes::CodeStore;
use super::filter::Filter;
use super::kernels::Kernel;
use super::scan::{Hit, TopK};

/// How the buckets of the substring tables are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Layout {
    /// Every bucket as a sorted id run in one arena per table.
    Arena,
    /// Id runs, except buckets of at least [`BIG_BUCKET`] ids, which are roaring bitmaps (the default).
    #[default]
    Hybrid,
    /// Every bucket as its own roaring bitmap (kept for comparison: larger and slower).
    Roaring,
}

/// The size from which the hybrid layout keeps a bucket as a roaring bitmap.
pub const BIG_BUCKET: usize = 4096;

/// Substrings up to this length always get a dense offset array.
const DENSE_BITS: u32 = 16;

/// Where the buckets of one table are.
#[derive(Debug)]
enum Directory {
    /// `offsets[v]..offsets[v + 1]` is the run of substring value `v`.
    Dense { offsets: Vec<u32> },
    /// `keys[top[h]..top[h + 1]]` are the keys whose high 16 bits are `h`; key `keys[i]` has the run
    /// `offsets[i]..offsets[i + 1]`.
    Sparse { shift: u32, top: Vec<u32>, keys: Vec<u32>, offsets: Vec<u32> },
}

/// One substring table.
#[derive(Debug)]
struct Table {
    start: u32,
    len: u32,
    dir: Directory,
    ids: Vec<u32>,
    big_keys: Vec<u32>,
    big: Vec<RoaringBitmap>,
}

/// One bucket.
enum Bucket<'a> {
    Run(&'a [u32]),
    Bitmap(&'a RoaringBitmap),
}

/// Substring `[start, start + len)` of a code, `len <= 32`.
#[inline]
fn substring(code: &[u64], start: u32, len: u32) -> u32 {
    let w = (start / 64) as usize;
    let off = start % 64;
    let mut v = code[w] >> off;
    if off + len > 64 {
        v |= code[w + 1] << (64 - off);
    }
    (v & ((1u64 << len) - 1)) as u32
}

/// Sorts `(key << 32 | id)` pairs by key, stably, in 16-bit radix passes over `key_bits` bits.
fn radix_sort(pairs: &mut Vec<u64>, key_bits: u32) {
    let mut tmp = vec![0u64; pairs.len()];
    let mut shift = 32;
    while shift < 32 + key_bits {
        let bits = (32 + key_bits - shift).min(16);
        let mask = (1u64 << bits) - 1;
        let mut counts = vec![0usize; (1 << bits) + 1];
        for &p in pairs.iter() {
            counts[((p >> shift) & mask) as usize + 1] += 1;
        }
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        for &p in pairs.iter() {
            let d = ((p >> shift) & mask) as usize;
            tmp[counts[d]] = p;
            counts[d] += 1;
        }
        std::mem::swap(pairs, &mut tmp);
        shift += bits;
    }
}

impl Table {
    fn build(codes: &CodeStore, members: &[u32], start: u32, len: u32, layout: Layout) -> Table {
        let mut pairs: Vec<u64> = members
            .iter()
            .map(|&id| u64::from(substring(codes.code(id), start, len)) << 32 | u64::from(id))
            .collect();
        radix_sort(&mut pairs, len);
        let threshold = match layout {
            Layout::Arena => usize::MAX,
            Layout::Hybrid => BIG_BUCKET,
            Layout::Roaring => 0,
        };
        let mut ids = Vec::with_capacity(pairs.len());
        let (mut keys, mut offsets) = (Vec::new(), Vec::new());
        let (mut big_keys, mut big) = (Vec::new(), Vec::new());
        for group in pairs.chunk_by(|a, b| a >> 32 == b >> 32) {
            let key = (group[0] >> 32) as u32;
            let run = group.iter().map(|&p| p as u32);
            if group.len() >= threshold {
                big_keys.push(key);
                big.push(RoaringBitmap::from_sorted_iter(run).unwrap_or_default());
            } else {
                keys.push(key);
                offsets.push(ids.len() as u32);
                ids.extend(run);
            }
        }
        offsets.push(ids.len() as u32);
        let dense = len <= DENSE_BITS || (1usize << len) <= 2 * members.len().max(1);
        let dir = if dense {
            let mut dense_offsets = vec![0u32; (1usize << len) + 1];
            for (i, &key) in keys.iter().enumerate() {
                dense_offsets[key as usize + 1] = offsets[i + 1] - offsets[i];
            }
            for v in 1..dense_offsets.len() {
                dense_offsets[v] += dense_offsets[v - 1];
            }
            Directory::Dense { offsets: dense_offsets }
        } else {
            let shift = len - DENSE_BITS;
            let mut top = vec![0u32; (1 << DENSE_BITS) + 1];
            for &key in &keys {
                top[(key >> shift) as usize + 1] += 1;
            }
            for h in 1..top.len() {
                top[h] += top[h - 1];
            }
            Directory::Sparse { shift, top, keys, offsets }
        };
        Table { start, len, dir, ids, big_keys, big }
    }

    #[inline]
    fn bucket(&self, key: u32) -> Option<Bucket<'_>> {
        let run = match &self.dir {
            Directory::Dense { offsets } => {
                let k = key as usize;
                &self.ids[offsets[k] as usize..offsets[k + 1] as usize]
            }
            Directory::Sparse { shift, top, keys, offsets } => {
                let h = (key >> shift) as usize;
                let (lo, hi) = (top[h] as usize, top[h + 1] as usize);
                match keys[lo..hi].binary_search(&key) {
                    Ok(p) => &self.ids[offsets[lo + p] as usize..offsets[lo + p + 1] as usize],
                    Err(_) => &[],
                }
            }
        };
        if !run.is_empty() {
            return Some(Bucket::Run(run));
        }
        if self.big_keys.is_empty() {
            return None;
        }
        self.big_keys.binary_search(&key).ok().map(|p| Bucket::Bitmap(&self.big[p]))
    }

    fn bytes(&self) -> usize {
        let dir = match &self.dir {
            Directory::Dense { offsets } => offsets.len(),
            Directory::Sparse { top, keys, offsets, .. } => top.len() + keys.len() + offsets.len(),
        };
        4 * (dir + self.ids.len() + self.big_keys.len())
            + self.big.iter().map(RoaringBitmap::serialized_size).sum::<usize>()
    }
}

/// The substring tables of one index.
#[derive(Debug)]
pub(crate) struct Mih {
    tables: Vec<Table>,
    members: u32,
}

/// Per-search work space, reused across searches.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    visited: Vec<u64>,
    touched: Vec<u32>,
    cand: Vec<u32>,
    dist: Vec<u32>,
}

impl Scratch {
    /// Marks `id` visited; returns whether it was new.
    #[inline]
    fn visit(&mut self, id: u32) -> bool {
        let (w, b) = (id as usize / 64, id % 64);
        let word = &mut self.visited[w];
        if *word >> b & 1 == 1 {
            return false;
        }
        *word |= 1 << b;
        self.touched.push(id);
        true
    }

    fn clear(&mut self) {
        if self.touched.len() > self.visited.len() {
            self.visited.fill(0);
        } else {
            for &id in &self.touched {
                self.visited[id as usize / 64] = 0;
            }
        }
        self.touched.clear();
    }
}

/// What one MIH search did, for `EXPLAIN`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct MihStats {
    pub(crate) radius: u32,
    pub(crate) buckets: u64,
    pub(crate) candidates: u64,
    pub(crate) filtered: u64,
}

impl Mih {
    /// Builds `m` tables over the present codes (`m` is clamped so substrings have 1 to 32 bits).
    pub(crate) fn build(codes: &CodeStore, m: usize, layout: Layout) -> Mih {
        let bits = codes.bits();
        let m = m.clamp(bits.div_ceil(32) as usize, bits as usize) as u32;
        let members: Vec<u32> = codes.ids().collect();
        let parts: Vec<(u32, u32)> = (0..m)
            .map(|j| {
                let len = bits / m + u32::from(j < bits % m);
                let start = j * (bits / m) + j.min(bits % m);
                (start, len)
            })
            .collect();
        let tables =
            parts.par_iter().map(|&(start, len)| Table::build(codes, &members, start, len, layout)).collect();
        Mih { tables, members: members.len() as u32 }
    }

    /// The number of tables.
    pub(crate) fn m(&self) -> usize {
        self.tables.len()
    }

    /// The longest substring, in bits.
    pub(crate) fn substring_bits(&self) -> u32 {
        self.tables.iter().map(|t| t.len).max().unwrap_or(0)
    }

    /// Bytes of the tables (ids, directories and bitmaps), not counting the codes.
    pub(crate) fn bytes(&self) -> usize {
        self.tables.iter().map(Table::bytes).sum()
    }

    /// Exact top-k of `query` into `top` (already reset to `k`).
    pub(crate) fn search(
        &self,
        codes: &CodeStore,
        kernel: Kernel,
        query: &[u64],
        filter: &Filter<'_>,
        top: &mut TopK,
        sc: &mut Scratch,
    ) -> MihStats {
        let mut stats = MihStats::default();
        if top.is_full() {
            return stats; // k = 0
        }
        let words = (codes.slots() as usize).div_ceil(64);
        if sc.visited.len() < words {
            sc.visited.resize(words, 0);
        }
        let mut remaining = self.members;
        if let Some(excluded) = filter.excluded {
            for id in excluded.iter().take_while(|&id| id < codes.slots()) {
                if sc.visit(id) && codes.contains(id) {
                    remaining -= 1;
                }
            }
        }
        let m = self.tables.len() as u32;
        let max_len = self.substring_bits();
        'radius: for s in 0..=max_len {
            for (j, table) in self.tables.iter().enumerate() {
                if s > table.len {
                    break 'radius; // that table was enumerated whole: every code has been seen
                }
                if binomial(table.len, s) > u64::from(remaining) {
                    // Probing would cost more than looking at every unseen code: finish by scanning them.
                    self.finish(codes, kernel, query, filter, top, sc, &mut remaining, &mut stats);
                    stats.radius = codes.bits();
                    break 'radius;
                }
                let qkey = substring(query, table.start, table.len);
                let mut mask: u64 = (1u64 << s) - 1;
                loop {
                    stats.buckets += 1;
                    match table.bucket(qkey ^ mask as u32) {
                        Some(Bucket::Run(run)) => {
                            self.collect(run.iter().copied(), filter, sc, &mut remaining, &mut stats)
                        }
                        Some(Bucket::Bitmap(b)) => {
                            self.collect(b.iter(), filter, sc, &mut remaining, &mut stats)
                        }
                        None => {}
                    }
                    if sc.cand.len() >= 512 {
                        flush(codes, kernel, query, top, sc, &mut stats);
                    }
                    if s == 0 {
                        break;
                    }
                    // Gosper's hack: the next larger mask with the same number of bits.
                    let c = mask & mask.wrapping_neg();
                    let r = mask + c;
                    mask = (((r ^ mask) >> 2) / c) | r;
                    if mask >> table.len != 0 {
                        break;
                    }
                }
                flush(codes, kernel, query, top, sc, &mut stats);
                stats.radius = m * s + j as u32;
                if remaining == 0 || top.worst().is_some_and(|w| w.distance <= stats.radius) {
                    break 'radius;
                }
            }
        }
        sc.clear();
        stats
    }

    /// Computes the distance of every member not seen yet.
    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        codes: &CodeStore,
        kernel: Kernel,
        query: &[u64],
        filter: &Filter<'_>,
        top: &mut TopK,
        sc: &mut Scratch,
        remaining: &mut u32,
        stats: &mut MihStats,
    ) {
        for id in codes.ids() {
            if sc.visited[id as usize / 64] >> (id % 64) & 1 == 1 {
                continue;
            }
            self.collect(std::iter::once(id), filter, sc, remaining, stats);
            if sc.cand.len() >= 512 {
                flush(codes, kernel, query, top, sc, stats);
            }
        }
        flush(codes, kernel, query, top, sc, stats);
    }

    #[inline]
    fn collect(
        &self,
        ids: impl Iterator<Item = u32>,
        filter: &Filter<'_>,
        sc: &mut Scratch,
        remaining: &mut u32,
        stats: &mut MihStats,
    ) {
        for id in ids {
            if !sc.visit(id) {
                continue;
            }
            *remaining -= 1;
            if filter.allowed.is_some_and(|a| !a.contains(id)) {
                stats.filtered += 1;
                continue;
            }
            sc.cand.push(id);
        }
    }
}

/// `n` choose `k`, saturating.
fn binomial(n: u32, k: u32) -> u64 {
    let k = k.min(n - k.min(n));
    (0..u64::from(k)).fold(1u64, |acc, i| acc.saturating_mul(u64::from(n) - i) / (i + 1))
}

/// Computes the distances of the pending candidates and offers them to `top`.
fn flush(
    codes: &CodeStore,
    kernel: Kernel,
    query: &[u64],
    top: &mut TopK,
    sc: &mut Scratch,
    stats: &mut MihStats,
) {
    if sc.cand.is_empty() {
        return;
    }
    sc.dist.clear();
    kernel.gather(query, codes.as_words(), &sc.cand, &mut sc.dist);
    for (&id, &distance) in sc.cand.iter().zip(&sc.dist) {
        top.push(Hit { distance, id });
    }
    stats.candidates += sc.cand.len() as u64;
    sc.cand.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomials() {
        assert_eq!([binomial(16, 0), binomial(16, 2), binomial(32, 16)], [1, 120, 601_080_390]);
    }

    #[test]
    fn substrings_span_words() {
        let code = [0xf000_0000_0000_0001u64, 0x5];
        assert_eq!(substring(&code, 0, 4), 1);
        assert_eq!(substring(&code, 60, 8), 0x5f);
        assert_eq!(substring(&code, 64, 3), 5);
    }

    #[test]
    fn radix_sort_is_stable_by_key() {
        let mut pairs: Vec<u64> =
            [(70_000u64, 1u64), (3, 2), (70_000, 0), (3, 1)].iter().map(|&(k, i)| k << 32 | i).collect();
        radix_sort(&mut pairs, 17);
        let got: Vec<(u64, u64)> = pairs.iter().map(|p| (p >> 32, p & 0xffff_ffff)).collect();
        assert_eq!(got, vec![(3, 2), (3, 1), (70_000, 1), (70_000, 0)]);
    }

    #[test]
    fn layouts_find_the_same_buckets() {
        let data: Vec<u64> = (0..3000u64).map(|i| ((i % 7) * 0x0101_0101) ^ (i << 40)).collect();
        let codes = CodeStore::from_words(64, data).expect("valid");
        for len in [8u32, 20] {
            let tables: Vec<Table> = [Layout::Arena, Layout::Hybrid, Layout::Roaring]
                .into_iter()
                .map(|l| Table::build(&codes, &codes.ids().collect::<Vec<_>>(), 0, len, l))
                .collect();
            for key in 0..(1u32 << len).min(300) {
                let sets: Vec<Vec<u32>> = tables
                    .iter()
                    .map(|t| match t.bucket(key) {
                        Some(Bucket::Run(r)) => r.to_vec(),
                        Some(Bucket::Bitmap(b)) => b.iter().collect(),
                        None => Vec::new(),
                    })
                    .collect();
                assert!(sets.iter().all(|s| *s == sets[0]), "key {key} len {len}");
            }
        }
    }
}
