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
//! over the tables. Each round (one table at one radius) lists its keys, locates their buckets with each
//! directory entry prefetched a few keys ahead, then reads the runs with each prefetched a few runs ahead,
//! so the misses overlap instead of queueing one behind the other.
//!
//! **Buckets** ([`Layout`]): buckets are sorted `u32` id runs in one arena per table, found through
//! offsets indexed by substring value (dense) or, where substrings are long enough that a dense offset
//! array would outweigh the ids, through sorted distinct keys with a 2^16-entry directory on their high
//! bits (sparse). The inline layout keeps a copy of each id's code next to the run, so distances are
//! computed by the scan kernel over contiguous codes instead of gathered from the code store one cache
//! miss at a time.
//!
//! **The packed layout** (the default) keeps contiguous codes in a third of the inline layout's memory.
//! A table's entries are the codes' remainders, without the table's own substring (the bucket key gives it
//! back), in `ceil((bits - len) / 8)` bytes ([`packed`](super::packed)). Only the first table keeps ids,
//! beside its entries, sorted by (key, remainder, id). The others keep each distinct code once and no ids:
//! an entry close enough to enter the top `k` is decoded, and its ids are found by binary search in the
//! first table's bucket. These look-ups wait until the end of their round and go nearest first, so once
//! the top `k` fills the rest are skipped; a query makes a few dozen of them. At 1M 64-bit codes and four
//! tables an index takes 29 bytes per code (3.6 times the codes), the inline layout at five tables 60.

use std::cmp::Ordering;

use super::codes::CodeStore;
use super::filter::Filter;
use super::kernels::Kernel;
use super::packed::{Cut, PADDING};
use super::scan::{scan_all, Hit, TopK};
use rayon::prelude::*;

/// How the buckets of the substring tables are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Layout {
    /// Every bucket as a sorted id run in one arena per table, its distances gathered from the code store.
    Arena,
    /// Id runs with a copy of their codes alongside: distances are computed over contiguous codes, at the
    /// cost of `m × 8 × words` more bytes per code.
    Inline,
    /// The default: each table keeps its codes' remainders (the code less the table's substring, which the
    /// bucket key gives back) packed into whole bytes, in bucket order. Only the first table keeps ids; the
    /// others keep each distinct code once and find its ids in the first table by binary search, which only
    /// codes close enough to enter the top `k` need. Distances are computed over contiguous entries, as
    /// with [`Layout::Inline`], in about a third of its memory.
    #[default]
    Packed,
}

/// Substrings up to this length always get a dense offset array.
const DENSE_BITS: u32 = 16;

/// A bucket probe costs about as much as scanning this many codes: a round of more probes than the codes
/// divided by this is abandoned for a full scan.
const PROBE_COST: u32 = 16;

/// Directory entries and runs are prefetched this many ahead of their reading.
const AHEAD: usize = 8;

/// Lines of a packed run prefetched.
const RUN_LINES: usize = 4;

/// Words of the longest code, and of the longest remainder.
const REM_WORDS: usize = (super::codes::MAX_BITS / 64) as usize;

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
    dir: Directory,
    ids: Vec<u32>,
    /// With [`Layout::Inline`], the codes of `ids` in the same order (`words` each); else empty.
    codes: Vec<u64>,
    /// With [`Layout::Packed`], the remainders in bucket order, `cut.stride()` bytes each, then
    /// [`PADDING`]; else empty. `ids` then holds the id of each entry in the first table and is empty in
    /// the others, whose entries are distinct codes.
    entries: Vec<u8>,
    /// The table's substring and the remainder around it.
    cut: Cut,
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

/// Sorts `items` by their `key_bits`-bit keys, stably, in 16-bit radix passes.
fn radix_sort_by<T: Copy + Default>(items: &mut Vec<T>, key_bits: u32, key: impl Fn(T) -> u32) {
    let mut tmp = vec![T::default(); items.len()];
    let mut shift = 0;
    while shift < key_bits {
        let bits = (key_bits - shift).min(16);
        let mask = (1u32 << bits) - 1;
        let mut counts = vec![0usize; (1 << bits) + 1];
        for &p in items.iter() {
            counts[((key(p) >> shift) & mask) as usize + 1] += 1;
        }
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        for &p in items.iter() {
            let d = ((key(p) >> shift) & mask) as usize;
            tmp[counts[d]] = p;
            counts[d] += 1;
        }
        std::mem::swap(items, &mut tmp);
        shift += bits;
    }
}

impl Directory {
    /// Whether a table of `len`-bit substrings over `n` codes gets a dense offset array.
    fn is_dense(len: u32, n: usize) -> bool {
        len <= DENSE_BITS || (1usize << len) <= 2 * n.max(1)
    }

    /// The directory of a table of `len`-bit substrings over `n` codes, from its distinct `keys` in order
    /// and the start of each one's run (`offsets`, one more than `keys`).
    fn new(len: u32, n: usize, keys: Vec<u32>, offsets: Vec<u32>) -> Directory {
        if Directory::is_dense(len, n) {
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
        }
    }
}

impl Table {
    /// Table `j` of the index: the substring `[start, start + len)` of the codes of `members`.
    fn build(
        codes: &CodeStore,
        members: &[u32],
        j: usize,
        (start, len): (u32, u32),
        layout: Layout,
    ) -> Table {
        if layout == Layout::Packed {
            return Table::build_packed(codes, members, j == 0, start, len);
        }
        let cut = Cut::new(codes.bits(), start, len);
        let mut pairs: Vec<u64> =
            members.iter().map(|&id| u64::from(cut.key(codes.code(id))) << 32 | u64::from(id)).collect();
        radix_sort_by(&mut pairs, len, |p| (p >> 32) as u32);
        let mut ids = Vec::with_capacity(pairs.len());
        let (mut keys, mut offsets) = (Vec::new(), Vec::new());
        for group in pairs.chunk_by(|a, b| a >> 32 == b >> 32) {
            keys.push((group[0] >> 32) as u32);
            offsets.push(ids.len() as u32);
            ids.extend(group.iter().map(|&p| p as u32));
        }
        offsets.push(ids.len() as u32);
        let inline_codes = match layout {
            Layout::Inline => ids.iter().flat_map(|&id| codes.code(id)).copied().collect(),
            _ => Vec::new(),
        };
        let dir = Directory::new(len, members.len(), keys, offsets);
        Table { dir, ids, codes: inline_codes, entries: Vec::new(), cut }
    }

    /// A packed table: entries sorted by (key, remainder, id); the first table (`primary`) keeps every
    /// member and its id, the others each distinct code once.
    fn build_packed(codes: &CodeStore, members: &[u32], primary: bool, start: u32, len: u32) -> Table {
        let cut = Cut::new(codes.bits(), start, len);
        let rw = cut.words();
        let mut rems = vec![0u64; members.len() * rw];
        if rw > 0 {
            rems.par_chunks_mut(rw).zip(members).for_each(|(rem, &id)| cut.remainder(codes.code(id), rem));
        }
        // Keys, remainders and ids in (key, remainder read as a number, id) order.
        let n = members.len();
        let (mut sorted_keys, mut sorted_rems, mut sorted_ids) =
            (Vec::with_capacity(n), Vec::new(), Vec::with_capacity(n));
        if rw <= 1 {
            // One 128-bit record per member, moved whole: no random reads.
            let mut records: Vec<u128> = members
                .iter()
                .zip(rems.iter().copied().chain(std::iter::repeat(0)))
                .map(|(&id, r)| {
                    u128::from(cut.key(codes.code(id))) << 96 | u128::from(r) << 32 | u128::from(id)
                })
                .collect();
            radix_sort_by(&mut records, len, |r| (r >> 96) as u32);
            for bucket in records.chunk_by_mut(|a, b| a >> 96 == b >> 96) {
                bucket.sort_unstable();
            }
            sorted_rems.reserve(n * rw);
            for r in records {
                sorted_keys.push((r >> 96) as u32);
                sorted_rems.extend((rw == 1).then_some((r >> 32) as u64));
                sorted_ids.push(r as u32);
            }
        } else {
            let mut order: Vec<(u32, u32)> =
                members.iter().enumerate().map(|(i, &id)| (cut.key(codes.code(id)), i as u32)).collect();
            radix_sort_by(&mut order, len, |(k, _)| k);
            // Remainders and ids moved into key order in one pass, so that each bucket sorts its own block.
            let by_key: Vec<u64> = order
                .iter()
                .flat_map(|&(_, i)| &rems[i as usize * rw..i as usize * rw + rw])
                .copied()
                .collect();
            let ids_by_key: Vec<u32> = order.iter().map(|&(_, i)| members[i as usize]).collect();
            let rem = |p: usize| &by_key[p * rw..p * rw + rw];
            sorted_rems.reserve(n * rw);
            let (mut start, mut local) = (0, Vec::new());
            for bucket in order.chunk_by(|a, b| a.0 == b.0) {
                local.clear();
                local.extend(start..start + bucket.len());
                local.sort_unstable_by(|&a, &b| {
                    rem(a).iter().rev().cmp(rem(b).iter().rev()).then(ids_by_key[a].cmp(&ids_by_key[b]))
                });
                for &p in &local {
                    sorted_keys.push(bucket[0].0);
                    sorted_rems.extend_from_slice(rem(p));
                    sorted_ids.push(ids_by_key[p]);
                }
                start += bucket.len();
            }
        }
        drop(rems);
        let rem = |i: usize| &sorted_rems[i * rw..i * rw + rw];
        let (mut keys, mut offsets, mut ids) = (Vec::new(), Vec::new(), Vec::new());
        let mut entries = Vec::with_capacity(members.len() * cut.stride() + PADDING);
        let mut count = 0u32;
        for i in 0..n {
            let new_key = i == 0 || sorted_keys[i - 1] != sorted_keys[i];
            if !primary && !new_key && rem(i - 1) == rem(i) {
                continue; // the same code as the entry before
            }
            if new_key {
                keys.push(sorted_keys[i]);
                offsets.push(count);
            }
            cut.push_entry(rem(i), &mut entries);
            if primary {
                ids.push(sorted_ids[i]);
            }
            count += 1;
        }
        offsets.push(count);
        entries.extend([0; PADDING]);
        let dir = Directory::new(len, members.len(), keys, offsets);
        Table { dir, ids, codes: Vec::new(), entries, cut }
    }

    /// The positions of the entries of `code` in a packed first table.
    fn find(&self, code: &[u64]) -> (usize, usize) {
        let Some((lo, hi)) = self.bucket(self.cut.key(code)) else {
            return (0, 0);
        };
        let mut rem = [0u64; REM_WORDS];
        let rem = &mut rem[..self.cut.words()];
        self.cut.remainder(code, rem);
        let first_where = |stop: &dyn Fn(Ordering) -> bool| {
            let (mut a, mut b) = (lo, hi);
            while a < b {
                let mid = a + (b - a) / 2;
                if stop(self.cut.compare(&self.entries, mid, rem)) {
                    b = mid;
                } else {
                    a = mid + 1;
                }
            }
            a
        };
        (first_where(&|o| o != Ordering::Less), first_where(&|o| o == Ordering::Greater))
    }

    /// Prefetches the directory entry of `key`.
    #[inline]
    fn prefetch_key(&self, key: u32) {
        match &self.dir {
            Directory::Dense { offsets } => prefetch(offsets.get(key as usize)),
            Directory::Sparse { shift, top, .. } => prefetch(top.get((key >> shift) as usize)),
        }
    }

    /// Prefetches the run at arena positions `lo..hi`: up to [`RUN_LINES`] lines of packed entries, else
    /// the first line.
    #[inline]
    fn prefetch_run(&self, lo: usize, hi: usize, words: usize) {
        if !self.entries.is_empty() {
            let st = self.cut.stride();
            for at in (lo * st..hi * st).step_by(64).take(RUN_LINES) {
                prefetch(self.entries.get(at));
            }
        } else if self.codes.is_empty() {
            prefetch(self.ids.get(lo));
        } else {
            prefetch(self.codes.get(lo * words));
            prefetch(self.ids.get(lo));
        }
    }

    /// The arena positions of the run of bucket `key`, if it has any entry.
    #[inline]
    fn bucket(&self, key: u32) -> Option<(usize, usize)> {
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
        (lo < hi).then_some((lo, hi))
    }

    fn bytes(&self) -> usize {
        let dir = match &self.dir {
            Directory::Dense { offsets } => offsets.len(),
            Directory::Sparse { top, keys, offsets, .. } => top.len() + keys.len() + offsets.len(),
        };
        4 * (dir + self.ids.len()) + 8 * self.codes.len() + self.entries.len()
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
    /// The key and arena positions of each run of a round.
    runs: Vec<(u32, usize, usize)>,
    emit: Vec<(u32, u32)>,
    /// The query's remainder for each packed table, [`REM_WORDS`] words apart.
    qrem: Vec<u64>,
    /// `(distance, key, position)` of the entries of this round's packed table, not the first, that may
    /// enter the top `k`: their ids are looked up after the round, nearest first.
    pending: Vec<(u32, u32, u32)>,
    dist: Vec<u32>,
}

/// What one MIH search did, for `EXPLAIN`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct MihStats {
    pub(crate) radius: u32,
    pub(crate) buckets: u64,
    pub(crate) candidates: u64,
    pub(crate) filtered: u64,
    pub(crate) lookups: u64,
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
        if top.accepts(hit) && !self.seen_before(code) {
            self.admit(hit, top, stats);
        }
    }

    /// Offers a hit seen for the first time, unless it cannot enter or fails the filter.
    #[inline]
    fn admit(&self, hit: Hit, top: &mut TopK, stats: &mut MihStats) {
        if !top.accepts(hit) {
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
            let d = (t.cut.key(code) ^ t.cut.key(self.query)).count_ones();
            d < self.s || (d == self.s && i < self.j)
        })
    }

    /// Computes the distances of the run of bucket `key` at arena positions `lo..hi` and offers those that may
    /// enter.
    fn read_run(
        &self,
        table: &Table,
        (key, lo, hi): (u32, usize, usize),
        top: &mut TopK,
        sc: &mut Scratch,
        stats: &mut MihStats,
    ) {
        stats.candidates += (hi - lo) as u64;
        let w = self.query.len();
        if !table.entries.is_empty() {
            self.read_packed(table, (key, lo, hi), top, sc, stats);
            return;
        }
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

    /// Computes the distances of the packed run `lo..hi` of bucket `key` and offers those that may enter:
    /// with their ids in the first table, through a look-up of their code in the first table elsewhere.
    fn read_packed(
        &self,
        table: &Table,
        (key, lo, hi): (u32, usize, usize),
        top: &mut TopK,
        sc: &mut Scratch,
        stats: &mut MihStats,
    ) {
        let qrem = &sc.qrem[self.j * REM_WORDS..self.j * REM_WORDS + table.cut.words()];
        sc.emit.clear();
        let limit = top.limit().saturating_add(1);
        self.kernel.scan_packed(&table.cut, &table.entries, lo..hi, qrem, self.s, limit, &mut sc.emit);
        if self.j > 0 {
            sc.pending.extend(sc.emit.iter().map(|&(distance, pos)| (distance, key, pos)));
            return;
        }
        let mut code = [0u64; REM_WORDS];
        let code = &mut code[..self.query.len()];
        for &(distance, pos) in &sc.emit {
            if distance > top.limit() {
                continue; // the limit tightened since the scan
            }
            table.cut.decode(key, &table.entries, pos as usize, code);
            if !self.seen_before(code) {
                self.admit(Hit { distance, id: table.ids[pos as usize] }, top, stats);
            }
        }
    }

    /// Offers the round's pending entries nearest first, with their ids looked up in the first table, until
    /// the rest are too far to enter.
    fn resolve_pending(&self, table: &Table, top: &mut TopK, sc: &mut Scratch, stats: &mut MihStats) {
        sc.pending.sort_unstable();
        let mut code = [0u64; REM_WORDS];
        let code = &mut code[..self.query.len()];
        let first = &self.mih.tables[0];
        for &(distance, key, pos) in &sc.pending {
            if distance > top.limit() {
                break;
            }
            table.cut.decode(key, &table.entries, pos as usize, code);
            if self.seen_before(code) {
                continue;
            }
            stats.lookups += 1;
            let (a, b) = first.find(code);
            for &id in &first.ids[a..b] {
                self.admit(Hit { distance, id }, top, stats);
            }
        }
        sc.pending.clear();
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
}

impl Mih {
    /// Builds `m` tables over the present codes (`m` is clamped so substrings have 1 to 32 bits).
    pub(crate) fn build(codes: &CodeStore, m: usize, layout: Layout) -> Mih {
        let members: Vec<u32> = codes.ids().collect();
        let parts = substrings(codes.bits(), m);
        let tables = parts
            .par_iter()
            .enumerate()
            .map(|(j, &part)| Table::build(codes, &members, j, part, layout))
            .collect();
        Mih { tables, max_probes: (members.len() / PROBE_COST as usize) as u64 }
    }

    /// An upper bound on the bytes of `m` tables in `layout` over `n` codes of `bits` bits, before building
    /// them (every code distinct, every key present).
    pub(crate) fn estimate_bytes(bits: u32, n: usize, m: usize, layout: Layout) -> usize {
        let words = bits.div_ceil(64) as usize;
        let tables = substrings(bits, m).into_iter().enumerate().map(|(j, (start, len))| {
            let dir = match Directory::is_dense(len, n) {
                true => 4 * ((1usize << len) + 1),
                false => 4 * ((1 << DENSE_BITS) + 2 + 2 * n.min(1 << len)),
            };
            let entries = match layout {
                Layout::Packed => {
                    n * Cut::new(bits, start, len).stride() + PADDING + if j == 0 { 4 * n } else { 0 }
                }
                Layout::Inline => n * (4 + 8 * words),
                Layout::Arena => 4 * n,
            };
            dir + entries
        });
        tables.sum()
    }

    /// The number of tables.
    pub(crate) fn m(&self) -> usize {
        self.tables.len()
    }

    /// The longest substring, in bits.
    pub(crate) fn substring_bits(&self) -> u32 {
        self.tables.iter().map(|t| t.cut.len()).max().unwrap_or(0)
    }

    /// Bytes of the tables (ids, inline codes, packed entries and directories), not counting the code store.
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
        sc.qrem.clear();
        sc.qrem.resize(self.tables.len() * REM_WORDS, 0);
        for (table, qrem) in self.tables.iter().zip(sc.qrem.chunks_exact_mut(REM_WORDS)) {
            if !table.entries.is_empty() {
                table.cut.remainder(query, &mut qrem[..table.cut.words()]);
            }
        }
        let mut probe = Probe { mih: self, codes, kernel, query, filter, s: 0, j: 0 };
        'radius: for s in 0..=self.substring_bits() {
            for (j, table) in self.tables.iter().enumerate() {
                if s > table.cut.len() {
                    break 'radius; // that table was enumerated whole: every code has been seen
                }
                if binomial(table.cut.len(), s) > self.max_probes {
                    // Probing would cost more than a scan: scan every code, from an empty top k so that no
                    // code is offered twice.
                    top.clear();
                    stats.candidates += scan_all(kernel, codes, query, filter, top, &mut sc.emit);
                    stats.radius = codes.bits();
                    break 'radius;
                }
                (probe.s, probe.j) = (s, j);
                // The keys of the round.
                let qkey = table.cut.key(query);
                sc.keys.clear();
                let mut mask: u64 = (1u64 << s) - 1;
                loop {
                    sc.keys.push(qkey ^ mask as u32);
                    if s == 0 {
                        break;
                    }
                    // Gosper's hack: the next larger mask with the same number of bits.
                    let c = mask & mask.wrapping_neg();
                    let r = mask + c;
                    mask = (((r ^ mask) >> 2) / c) | r;
                    if mask >> table.cut.len() != 0 {
                        break;
                    }
                }
                stats.buckets += sc.keys.len() as u64;
                // The buckets, each directory entry prefetched `AHEAD` keys before it is read.
                sc.runs.clear();
                for &key in sc.keys.iter().take(AHEAD) {
                    table.prefetch_key(key);
                }
                for i in 0..sc.keys.len() {
                    if let Some(&ahead) = sc.keys.get(i + AHEAD) {
                        table.prefetch_key(ahead);
                    }
                    if let Some((lo, hi)) = table.bucket(sc.keys[i]) {
                        sc.runs.push((sc.keys[i], lo, hi));
                    }
                }
                // The runs, each prefetched `AHEAD` runs before it is read.
                for &(_, lo, hi) in sc.runs.iter().take(AHEAD) {
                    table.prefetch_run(lo, hi, words);
                }
                for i in 0..sc.runs.len() {
                    if let Some(&(_, lo, hi)) = sc.runs.get(i + AHEAD) {
                        table.prefetch_run(lo, hi, words);
                    }
                    probe.read_run(table, sc.runs[i], top, sc, &mut stats);
                }
                if !sc.pending.is_empty() {
                    probe.resolve_pending(table, top, sc, &mut stats);
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

/// The `(start, len)` of the substrings of `m` tables over `bits`-bit codes (`m` is clamped so that
/// substrings have 1 to 32 bits): lengths differ by at most one, longer first.
fn substrings(bits: u32, m: usize) -> Vec<(u32, u32)> {
    let m = m.clamp(bits.div_ceil(32) as usize, bits as usize) as u32;
    (0..m)
        .map(|j| {
            let len = bits / m + u32::from(j < bits % m);
            (j * (bits / m) + j.min(bits % m), len)
        })
        .collect()
}

/// `n` choose `k`, saturating.
fn binomial(n: u32, k: u32) -> u64 {
    let k = k.min(n - k.min(n));
    (0..u64::from(k)).fold(1u64, |acc, i| acc.saturating_mul(u64::from(n) - i) / (i + 1))
}

#[cfg(test)]
mod tests {
    use roaring::RoaringBitmap;

    use super::*;

    #[test]
    fn binomials() {
        assert_eq!([binomial(16, 0), binomial(16, 2), binomial(32, 16)], [1, 120, 601_080_390]);
    }

    #[test]
    fn estimates_bound_the_bytes_built() {
        let data: Vec<u64> = (0..5000u64).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (i % 3)).collect();
        for bits in [64u32, 24] {
            let codes = CodeStore::from_words(
                bits,
                data.iter().map(|v| v & super::super::codes::last_word_mask(bits)).collect(),
            )
            .expect("valid");
            for layout in [Layout::Arena, Layout::Inline, Layout::Packed] {
                for m in [1, 2, 4, 7] {
                    let built = Mih::build(&codes, m, layout).bytes();
                    let estimate = Mih::estimate_bytes(bits, 5000, m, layout);
                    assert!(
                        built <= estimate && estimate < built * 2,
                        "{bits} bits {layout:?} m {m}: {built} {estimate}"
                    );
                }
            }
        }
    }

    #[test]
    fn radix_sort_is_stable_by_key() {
        let mut pairs: Vec<u64> =
            [(70_000u64, 1u64), (3, 2), (70_000, 0), (3, 1)].iter().map(|&(k, i)| k << 32 | i).collect();
        radix_sort_by(&mut pairs, 17, |p| (p >> 32) as u32);
        let got: Vec<(u64, u64)> = pairs.iter().map(|p| (p >> 32, p & 0xffff_ffff)).collect();
        assert_eq!(got, vec![(3, 2), (3, 1), (70_000, 1), (70_000, 0)]);
    }

    fn bucket_ids(t: &Table, key: u32) -> Vec<u32> {
        t.bucket(key).map_or_else(Vec::new, |(lo, hi)| t.ids[lo..hi].to_vec())
    }

    #[test]
    fn layouts_find_the_same_buckets() {
        let data: Vec<u64> = (0..3000u64).map(|i| ((i % 7) * 0x0101_0101) ^ (i << 40)).collect();
        let codes = CodeStore::from_words(64, data).expect("valid");
        for len in [8u32, 20] {
            let tables: Vec<Table> = [Layout::Arena, Layout::Inline, Layout::Packed]
                .into_iter()
                .map(|l| Table::build(&codes, &codes.ids().collect::<Vec<_>>(), 0, (0, len), l))
                .collect();
            for key in 0..(1u32 << len).min(300) {
                let sets: Vec<Vec<u32>> = tables.iter().map(|t| bucket_ids(t, key)).collect();
                assert!(sets.iter().all(|s| *s == sets[0]), "key {key} len {len}");
            }
            let inline = &tables[1];
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
            for layout in [Layout::Arena, Layout::Inline, Layout::Packed] {
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
