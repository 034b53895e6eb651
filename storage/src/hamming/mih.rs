//! Exact k-nearest search by multi-index hashing (Norouzi, Punjani and Fleet, CVPR 2012).
//!
//! The code is split into `m` disjoint substrings of `bits / m` or one more bits (at most 32). Table `j`
//! maps each value of substring `j` to the bucket of ids having it. A search enumerates, for substring
//! radius `s = 0, 1, ...` and table by table, every value at Hamming distance exactly `s` from the query's
//! substring, and computes the full distance of every id in those buckets. Only the few codes that could
//! enter the top `k` go further: a code found in table `j` at radius `s` was already offered if one of its
//! other substrings is closer (`d_i < s`, or `d_i = s` in an earlier table `i < j`), which `m` masked
//! popcounts tell without any visited set; then the allowed and excluded sets are checked. Pigeonhole:
//! after table `t` at radius `s`, every code within distance `m·s + t` has been seen, so the search stops
//! once it holds `k` hits whose worst distance is at most that; unseen codes are then strictly farther,
//! so the result is exactly the scan's under the tie rule.
//!
//! **Memory access.** The search is bound by memory latency: a query probes hundreds of buckets scattered
//! over the tables. Each round (one table at one radius) first lists its keys and prefetches their
//! directory entries, then locates the buckets and prefetches their first lines, then reads them, so the
//! misses overlap instead of queueing one behind the other.
//!
//! **Buckets** ([`Layout`]): buckets are sorted `u32` id runs in one arena per table, found through
//! offsets indexed by substring value (dense) or, where substrings are long enough that a dense offset
//! array would outweigh the ids, through sorted distinct keys with a 2^16-entry directory on their high
//! bits (sparse). The inline layout (the default) keeps a copy of each id's code next to the run, so
//! distances are computed by the scan kernel over contiguous codes instead of gathered from the code store
//! one cache miss at a time. Buckets of at least [`BIG_BUCKET`] ids (hot substrings of clustered codes)
//! are roaring bitmaps in the hybrid layout.

use rayon::prelude::*;
use roaring::RoaringBitmap;

use super::codes::CodeStore;
use super::filter::Filter;
use super::kernels::Kernel;
use super::scan::{scan_all, Hit, TopK};

/// How the buckets of the substring tables are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Layout {
    /// Every bucket as a sorted id run in one arena per table, its distances gathered from the code store.
    Arena,
    /// Id runs, except buckets of at least [`BIG_BUCKET`] ids, which are roaring bitmaps.
    Hybrid,
    /// Every bucket as its own roaring bitmap (kept for comparison: larger and slower).
    Roaring,
    /// Id runs with a copy of their codes alongside (the default): distances are computed over contiguous
    /// codes, at the cost of `m × 8 × words` more bytes per code.
    #[default]
    Inline,
}

/// The size from which the hybrid layout keeps a bucket as a roaring bitmap.
pub const BIG_BUCKET: usize = 4096;

/// Substrings up to this length always get a dense offset array.
const DENSE_BITS: u32 = 16;

/// A bucket probe costs about as much as scanning this many codes: a round of more probes than the codes
/// divided by this is abandoned for a full scan.
const PROBE_COST: u32 = 16;

/// Ids of a roaring bucket are gathered this many at a time.
const GATHER_CHUNK: usize = 1024;

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
    /// With [`Layout::Inline`], the codes of `ids` in the same order (`words` each); else empty.
    codes: Vec<u64>,
    big_keys: Vec<u32>,
    big: Vec<RoaringBitmap>,
}

/// One bucket.
enum Bucket<'a> {
    /// Positions `lo..hi` of the table's arena.
    Run(usize, usize),
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

/// Asks the CPU to start loading the cache line of `item` (a hint: no effect on results).
#[inline(always)]
fn prefetch<T>(item: Option<&T>) {
    #[cfg(target_arch = "x86_64")]
    if let Some(item) = item {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch reads nothing architecturally and never faults; the pointer comes from a
        // reference, and SSE is part of the x86-64 baseline.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(item as *const T as *const i8) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = item;
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
            Layout::Arena | Layout::Inline => usize::MAX,
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
        let inline_codes = match layout {
            Layout::Inline => ids.iter().flat_map(|&id| codes.code(id)).copied().collect(),
            _ => Vec::new(),
        };
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
        Table { start, len, dir, ids, codes: inline_codes, big_keys, big }
    }

    /// Prefetches the directory entry of `key`.
    #[inline]
    fn prefetch_key(&self, key: u32) {
        match &self.dir {
            Directory::Dense { offsets } => prefetch(offsets.get(key as usize)),
            Directory::Sparse { shift, top, .. } => prefetch(top.get((key >> shift) as usize)),
        }
    }

    /// Prefetches the first line of the run starting at arena position `lo`.
    #[inline]
    fn prefetch_run(&self, lo: usize, words: usize) {
        if self.codes.is_empty() {
            prefetch(self.ids.get(lo));
        } else {
            prefetch(self.codes.get(lo * words));
            prefetch(self.ids.get(lo));
        }
    }

    #[inline]
    fn bucket(&self, key: u32) -> Option<Bucket<'_>> {
        let (lo, hi) = match &self.dir {
            Directory::Dense { offsets } => {
                let k = key as usize;
                (offsets[k] as usize, offsets[k + 1] as usize)
            }
            Directory::Sparse { shift, top, keys, offsets } => {
                let h = (key >> shift) as usize;
                let (lo, hi) = (top[h] as usize, top[h + 1] as usize);
                match keys[lo..hi].binary_search(&key) {
                    Ok(p) => (offsets[lo + p] as usize, offsets[lo + p + 1] as usize),
                    Err(_) => (0, 0),
                }
            }
        };
        if lo < hi {
            return Some(Bucket::Run(lo, hi));
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
            + 8 * self.codes.len()
            + self.big.iter().map(RoaringBitmap::serialized_size).sum::<usize>()
    }
}

/// The substring tables of one index.
#[derive(Debug)]
pub(crate) struct Mih {
    tables: Vec<Table>,
    /// A round probing more buckets than this switches to a full scan.
    max_probes: u64,
}

/// Per-search work space, reused across searches.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    keys: Vec<u32>,
    runs: Vec<(usize, usize)>,
    emit: Vec<(u32, u32)>,
    ids: Vec<u32>,
    dist: Vec<u32>,
}

/// What one MIH search did, for `EXPLAIN`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct MihStats {
    pub(crate) radius: u32,
    pub(crate) buckets: u64,
    pub(crate) candidates: u64,
    pub(crate) filtered: u64,
}

/// The state of one search, shared by the bucket readers.
struct Probe<'a, 'f> {
    mih: &'a Mih,
    codes: &'a CodeStore,
    kernel: Kernel,
    query: &'a [u64],
    filter: &'a Filter<'f>,
    /// The round: the substring radius and the table.
    s: u32,
    j: usize,
}

impl Probe<'_, '_> {
    /// Offers a hit whose code was found in this round, unless it cannot enter, was offered in an earlier
    /// round, or fails the filter.
    #[inline]
    fn offer(&self, hit: Hit, code: &[u64], top: &mut TopK, stats: &mut MihStats) {
        if !top.accepts(hit) || self.seen_before(code) {
            return;
        }
        if self.filter.allowed.is_some_and(|a| !a.contains(hit.id)) {
            stats.filtered += 1;
            return;
        }
        if self.filter.excluded.is_some_and(|e| e.contains(hit.id)) {
            return;
        }
        top.push(hit);
    }

    /// Whether `code`, found in table `j` at radius `s` (its substring `j` is `s` bits from the query's),
    /// was found in an earlier round: another substring is closer, or as close in an earlier table.
    #[inline]
    fn seen_before(&self, code: &[u64]) -> bool {
        self.mih.tables.iter().enumerate().any(|(i, t)| {
            let d = (substring(code, t.start, t.len) ^ substring(self.query, t.start, t.len)).count_ones();
            d < self.s || (d == self.s && i < self.j)
        })
    }

    /// Computes the distances of the run at arena positions `lo..hi` and offers those that may enter.
    fn read_run(
        &self,
        table: &Table,
        lo: usize,
        hi: usize,
        top: &mut TopK,
        sc: &mut Scratch,
        stats: &mut MihStats,
    ) {
        stats.candidates += (hi - lo) as u64;
        let w = self.query.len();
        if table.codes.is_empty() {
            self.gather(&table.ids[lo..hi], top, &mut sc.dist, stats);
            return;
        }
        // A code at the worst distance may still enter with a lower id: emit distances up to it.
        let limit = top.limit().saturating_add(1);
        sc.emit.clear();
        self.kernel.scan(self.query, &table.codes[lo * w..hi * w], lo as u32, limit, &mut sc.emit);
        for &(distance, pos) in &sc.emit {
            let pos = pos as usize;
            let hit = Hit { distance, id: table.ids[pos] };
            self.offer(hit, &table.codes[pos * w..pos * w + w], top, stats);
        }
    }

    /// Gathers the distances of `ids` from the code store and offers those that may enter.
    fn gather(&self, ids: &[u32], top: &mut TopK, dist: &mut Vec<u32>, stats: &mut MihStats) {
        dist.clear();
        self.kernel.gather(self.query, self.codes.as_words(), ids, dist);
        for (&id, &distance) in ids.iter().zip(dist.iter()) {
            if distance <= top.limit() {
                self.offer(Hit { distance, id }, self.codes.code(id), top, stats);
            }
        }
    }

    /// Reads a roaring bucket, gathering its ids' distances a chunk at a time.
    fn read_bitmap(&self, b: &RoaringBitmap, top: &mut TopK, sc: &mut Scratch, stats: &mut MihStats) {
        stats.candidates += b.len();
        let mut iter = b.iter();
        loop {
            sc.ids.clear();
            sc.ids.extend(iter.by_ref().take(GATHER_CHUNK));
            if sc.ids.is_empty() {
                break;
            }
            self.gather(&sc.ids, top, &mut sc.dist, stats);
        }
    }
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
        Mih { tables, max_probes: (members.len() / PROBE_COST as usize) as u64 }
    }

    /// The number of tables.
    pub(crate) fn m(&self) -> usize {
        self.tables.len()
    }

    /// The longest substring, in bits.
    pub(crate) fn substring_bits(&self) -> u32 {
        self.tables.iter().map(|t| t.len).max().unwrap_or(0)
    }

    /// Bytes of the tables (ids, inline codes, directories and bitmaps), not counting the code store.
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
        let m = self.tables.len() as u32;
        let words = query.len();
        let mut probe = Probe { mih: self, codes, kernel, query, filter, s: 0, j: 0 };
        'radius: for s in 0..=self.substring_bits() {
            for (j, table) in self.tables.iter().enumerate() {
                if s > table.len {
                    break 'radius; // that table was enumerated whole: every code has been seen
                }
                if binomial(table.len, s) > self.max_probes {
                    // Probing would cost more than a scan: scan every code, from an empty top k so that no
                    // code is offered twice.
                    top.clear();
                    stats.candidates += scan_all(kernel, codes, query, filter, top, &mut sc.emit);
                    stats.radius = codes.bits();
                    break 'radius;
                }
                (probe.s, probe.j) = (s, j);
                // The keys of the round, their directory entries prefetched.
                let qkey = substring(query, table.start, table.len);
                sc.keys.clear();
                let mut mask: u64 = (1u64 << s) - 1;
                loop {
                    let key = qkey ^ mask as u32;
                    table.prefetch_key(key);
                    sc.keys.push(key);
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
                stats.buckets += sc.keys.len() as u64;
                // The buckets, their first lines prefetched (roaring buckets are read at once).
                sc.runs.clear();
                for i in 0..sc.keys.len() {
                    match table.bucket(sc.keys[i]) {
                        Some(Bucket::Run(lo, hi)) => {
                            table.prefetch_run(lo, words);
                            sc.runs.push((lo, hi));
                        }
                        Some(Bucket::Bitmap(b)) => probe.read_bitmap(b, top, sc, &mut stats),
                        None => {}
                    }
                }
                for i in 0..sc.runs.len() {
                    let (lo, hi) = sc.runs[i];
                    probe.read_run(table, lo, hi, top, sc, &mut stats);
                }
                stats.radius = m * s + j as u32;
                if top.worst().is_some_and(|w| w.distance <= stats.radius) {
                    break 'radius;
                }
            }
        }
        stats
    }
}

/// `n` choose `k`, saturating.
fn binomial(n: u32, k: u32) -> u64 {
    let k = k.min(n - k.min(n));
    (0..u64::from(k)).fold(1u64, |acc, i| acc.saturating_mul(u64::from(n) - i) / (i + 1))
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

    fn bucket_ids(t: &Table, key: u32) -> Vec<u32> {
        match t.bucket(key) {
            Some(Bucket::Run(lo, hi)) => t.ids[lo..hi].to_vec(),
            Some(Bucket::Bitmap(b)) => b.iter().collect(),
            None => Vec::new(),
        }
    }

    #[test]
    fn layouts_find_the_same_buckets() {
        let data: Vec<u64> = (0..3000u64).map(|i| ((i % 7) * 0x0101_0101) ^ (i << 40)).collect();
        let codes = CodeStore::from_words(64, data).expect("valid");
        for len in [8u32, 20] {
            let tables: Vec<Table> = [Layout::Arena, Layout::Hybrid, Layout::Roaring, Layout::Inline]
                .into_iter()
                .map(|l| Table::build(&codes, &codes.ids().collect::<Vec<_>>(), 0, len, l))
                .collect();
            for key in 0..(1u32 << len).min(300) {
                let sets: Vec<Vec<u32>> = tables.iter().map(|t| bucket_ids(t, key)).collect();
                assert!(sets.iter().all(|s| *s == sets[0]), "key {key} len {len}");
            }
            let inline = &tables[3];
            for (pos, &id) in inline.ids.iter().enumerate() {
                assert_eq!(inline.codes[pos], codes.code(id)[0]);
            }
        }
    }

    /// Every radius and table, without the fall-back to a scan, against brute force: codes with many ties
    /// and duplicates, filters, and `k` past the number of codes.
    #[test]
    fn probing_without_fallback_matches_brute_force() {
        use crate::hamming::{brute_force, Allowed};
        let mut seed = 3u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            seed ^ (seed >> 29)
        };
        for bits in [16u32, 64, 128] {
            let words = bits.div_ceil(64) as usize;
            let mask = super::super::codes::last_word_mask(bits);
            let bases: Vec<u64> = (0..4).map(|_| next()).collect();
            let mut data = Vec::new();
            for i in 0..700 {
                for w in 0..words {
                    let flips = next() & next() & next();
                    let v = bases[(i + w) % 4] ^ if i % 3 == 0 { next() } else { flips };
                    data.push(if w == words - 1 { v & mask } else { v });
                }
            }
            let mut codes = CodeStore::from_words(bits, data).expect("valid");
            for id in (0..700).step_by(9) {
                codes.remove(id);
            }
            let allowed = Allowed::new((0..700).filter(|i| i % 4 != 1).collect());
            let excluded: RoaringBitmap = (0..700).step_by(5).collect();
            let filters = [
                Filter::NONE,
                Filter { allowed: Some(&allowed), excluded: None },
                Filter { allowed: Some(&allowed), excluded: Some(&excluded) },
            ];
            for layout in [Layout::Arena, Layout::Hybrid, Layout::Roaring, Layout::Inline] {
                // Substrings of at most 12 bits, so that enumerating whole tables stays cheap.
                let m0 = bits.div_ceil(12) as usize;
                for m in [m0, m0 + 1, m0 + 3] {
                    let mut mih = Mih::build(&codes, m, layout);
                    mih.max_probes = u64::MAX;
                    let (mut top, mut sc) = (TopK::default(), Scratch::default());
                    for _ in 0..6 {
                        let query: Vec<u64> = (0..words)
                            .map(|w| {
                                (bases[w % 4] ^ (next() & next())) & if w == words - 1 { mask } else { !0 }
                            })
                            .collect();
                        for filter in &filters {
                            for k in [1, 10, 800] {
                                top.reset(k);
                                mih.search(&codes, Kernel::best(), &query, filter, &mut top, &mut sc);
                                let want = brute_force(&codes, &query, k, filter);
                                assert_eq!(top.take_sorted(), want, "bits {bits} {layout:?} m {m} k {k}");
                            }
                        }
                    }
                }
            }
        }
    }
}
