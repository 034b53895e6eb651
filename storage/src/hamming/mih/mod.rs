//! Exact k-nearest search by multi-index hashing (Norouzi, Punjani and Fleet, CVPR 2012): the search
//! driver, shared by every bucket layout.
//!
//! The code is split into `m` disjoint substrings of `bits / m` or one more bits (at most 32). Table `j`
//! maps each value of substring `j` to the bucket of codes having it. A search runs in *rounds*: for
//! substring radius `s = 0, 1, ...`, and table by table, a round lists every value at Hamming distance
//! exactly `s` from the query's substring, locates those buckets in the table's [`Directory`], and hands
//! them to the table ([`Table::read_round`]), which computes full distances and offers the codes that may
//! enter the top `k` to the search's [`Probe`].
//!
//! **Correctness.** The result is exactly the scan's, id for id, by two rules:
//! - *Each code is offered once.* A code found in table `j` at radius `s` was already offered in an
//!   earlier round if one of its other substrings is closer to the query's (`d_i < s`), or as close in an
//!   earlier table (`d_i = s`, `i < j`); `m` masked popcounts tell this ([`Probe::seen_before`]), without
//!   a visited set. The allowed and excluded sets are checked only for codes that would enter.
//! - *Pigeonhole stop.* After the round of table `t` at radius `s`, every code within distance `m·s + t`
//!   has been offered: a code whose substrings were all unseen would have `d_i ≥ s + 1` for `i ≤ t` and
//!   `d_i ≥ s` for `i > t`, so a distance of at least `m·s + t + 1`. The search stops once it holds `k`
//!   hits whose worst distance is at most `m·s + t`. Unseen codes are then strictly farther than every hit
//!   held, so no tie at the worst distance is missed, and the top `k` follows the tie rule (distance, then
//!   lower id; see [`scan`](super::scan)) as the scan's does.
//!
//! **When a scan is cheaper.** Costs are counted in code words read: a full scan reads every code's
//! words; a round costs [`PROBE_COST`] per bucket probed and [`Table::entry_cost`] per entry read, and
//! each look-up of a code's ids (packed layout) costs [`Table::lookup_cost`]. A round's cost is estimated
//! before it runs (its `C(len, s)` buckets, each holding `n / 2^len` entries on average), and so are the
//! look-ups still to come: [`LOOKUPS_PER_HIT`] for each hit the top `k` still lacks. The search scans
//! instead when the rounds so far, the next one and those look-ups would cost more than a scan (for many
//! hits, before the first round), or, once the rounds have probed and read for a quarter of a scan's
//! cost with the top `k` full, when the rounds still needed (until the radius reaches the worst hit's
//! distance, which only shrinks) would. Earlier, a fresh top `k` holds far hits and that estimate is too
//! pessimistic. The scan starts from an empty top `k` (the probing done is lost).
//!
//! The costs were measured per round at 1M planted CML points (BENCHMARKS.md, "CML's speed-up
//! experiment"), 64 to 256 bits, 4 to 14 tables, `k` from 10 to 1000, against a scan's 0.3 to 0.4 ns per
//! word: 20 to 29 ns per bucket, 1 ns per entry of up to 8 bytes (the SIMD kernel) and 8 to 10 ns per
//! longer one, 300 to 650 ns per look-up (a binary search of a bucket of the first table), about three
//! look-ups per hit. The look-ups were what the earlier model (16 words per bucket, `words + m` per
//! entry, none per look-up) left out: for hundreds of hits they alone cost about a scan, so 128-bit rounds
//! ran to two to five times a scan's time before giving way. At 1M points, 64-bit codes searched for tens
//! of hits take the rounds to the end; from about 300, 500 and 750 hits at 64, 128 and 256 bits the
//! expected look-ups alone send the search to the scan before the first round; in between, the rounds
//! give way once they have cost up to about a scan (an online choice: it cannot know the radius it will
//! need). Far below a million codes the tables fit in the caches and the costs overstate probing, where
//! a scan takes microseconds anyway.
//!
//! **Memory access.** The search is bound by memory latency: a query probes hundreds of buckets scattered
//! over the tables. A round locates its buckets with each directory entry prefetched a few keys ahead, then
//! the table reads the runs with each prefetched a few runs ahead ([`crate::prefetch`]).
//!
//! **Layouts** ([`Layout`]), one type each behind [`Table`], each with its own loop over a round's runs:
//! - [`packed`] (the default): the codes' remainders, packed into whole bytes, ids in the first table only;
//! - [`inline`]: ids and whole codes in every table;
//! - [`arena`]: ids only, distances gathered from the code store.
//!
//! Their speed and memory are measured in BENCHMARKS.md ("Hamming engine").

mod arena;
mod directory;
mod inline;
mod packed;
mod sort;
#[cfg(test)]
mod tests;

use std::ops::Range;

use rayon::prelude::*;

use self::arena::ArenaTable;
use self::directory::Directory;
use self::inline::InlineTable;
use self::packed::PackedTable;
use super::codes::CodeStore;
use super::cut::Cut;
use super::filter::Filter;
use super::kernels::Kernel;
use super::scan::{scan_all, Hit, ScanScratch, TopK};
use crate::prefetch::pipelined;

/// How the buckets of the substring tables are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Layout {
    /// The default: each table keeps its codes' remainders (the code less the table's substring, which the
    /// bucket key gives back) packed into whole bytes, in bucket order. Only the first table keeps ids; the
    /// others keep each distinct code once and find its ids in the first table by binary search, which only
    /// codes close enough to enter the top `k` need. Distances are computed over contiguous entries, as
    /// with [`Layout::Inline`], in about a third of its memory.
    #[default]
    Packed,
    /// Id runs with a copy of their codes alongside: distances are computed over contiguous codes, at the
    /// cost of `m × 8 × words` more bytes per code.
    Inline,
    /// Every bucket as a sorted id run in one arena per table, its distances gathered from the code store:
    /// the smallest index and the slowest.
    Arena,
}

/// A bucket probe (a directory entry and the start of its run, two cache misses the prefetches only partly
/// hide) costs about as much as scanning this many code words: 20 to 29 ns measured at 1M codes, where a
/// scan reads a word in 0.3 to 0.4 ns.
const PROBE_COST: u64 = 64;

/// Look-ups per hit a search is expected to make (packed layout): each hit found in a table other than the
/// first needs one, and hits that a nearer code later pushes out of the top `k` took one too (2.4 to 3.6
/// per hit measured at 1M codes, `k` from 10 to 1000, 4 to 14 tables).
const LOOKUPS_PER_HIT: u64 = 3;

/// One substring table of one layout: what the driver asks of a layout.
///
/// A table is built over every present code. It keeps the [`Cut`] of its substring and a [`Directory`]
/// from substring values to runs of positions among its entries. Given a round's non-empty runs, it
/// computes the full distance of each entry to the query and offers every code whose distance may enter
/// the top `k`, with its id (or each of its ids), through the round's [`Probe`]: [`Probe::offer`] for a code
/// that may have been offered in an earlier round, [`Probe::admit`] for one known to be new.
trait Table: Sized + Send + Sync {
    /// Table `j` over the codes of `members` (ascending ids), its substring given by `cut`.
    fn build(codes: &CodeStore, members: &[u32], j: usize, cut: Cut) -> Self;

    /// An upper bound on the bytes of table `j` over `n` distinct codes cut by `cut`, its directory left
    /// out.
    fn estimate_bytes(cut: &Cut, n: usize, j: usize) -> usize;

    /// What reading one entry of a round costs, in code words, for an index of `m` tables (the module doc
    /// tells how the costs were measured): by default the code's words and the check of its `m`
    /// substrings that no earlier round found it.
    fn entry_cost(&self, m: u64) -> u64 {
        self.cut().code_words() as u64 + m
    }

    /// What finding the ids of one code close enough to enter the top `k` costs, in code words, when this
    /// is the first table (where they are found): 0 for layouts whose entries carry their ids.
    fn lookup_cost(&self) -> u64 {
        0
    }

    /// The table's substring.
    fn cut(&self) -> &Cut;

    /// Where the table's buckets are.
    fn directory(&self) -> &Directory;

    /// Bytes of the table, its directory included.
    fn bytes(&self) -> usize;

    /// Reads the runs of one round (table `probe.j` at radius `probe.s`), offering what may enter `top`.
    fn read_round(
        &self,
        probe: &Probe<'_, '_, Self>,
        runs: &[Run],
        top: &mut TopK,
        sc: &mut ReadScratch,
        stats: &mut MihStats,
    );
}

/// A non-empty bucket of a round: its key and the positions of its entries in the table.
#[derive(Debug, Clone)]
struct Run {
    key: u32,
    entries: Range<usize>,
}

/// The tables of one layout.
#[derive(Debug)]
enum Tables {
    Packed(Vec<PackedTable>),
    Inline(Vec<InlineTable>),
    Arena(Vec<ArenaTable>),
}

/// The substring tables of one index.
#[derive(Debug)]
pub(crate) struct Mih {
    tables: Tables,
    /// The number of codes a full scan reads (every code indexed). Rounds give way to a scan when they
    /// would cost more than one.
    scan_codes: u64,
}

/// Per-search work space, reused across searches.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// The keys of a round.
    keys: Vec<u32>,
    /// The non-empty buckets of a round.
    runs: Vec<Run>,
    /// What the tables read runs with.
    read: ReadScratch,
    /// The full scan's work space and results, when a round would cost more than a scan.
    scan: (ScanScratch, Vec<Hit>),
}

/// The buffers a table reads a round's runs with.
#[derive(Debug, Default)]
struct ReadScratch {
    /// `(distance, position)` of the entries a scan kernel emitted.
    emit: Vec<(u32, u32)>,
    /// Distances gathered from the code store (arena).
    dist: Vec<u32>,
    /// `(distance, key, position)` of the entries of this round's packed table, not the first, that may
    /// enter the top `k`: their ids are looked up after the round, nearest first.
    pending: Vec<(u32, u32, u32)>,
}

/// What one MIH search did, for `EXPLAIN`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct MihStats {
    pub(crate) radius: u32,
    pub(crate) buckets: u64,
    pub(crate) candidates: u64,
    pub(crate) filtered: u64,
    pub(crate) lookups: u64,
    /// Whether the rounds gave way to a full scan.
    pub(crate) gave_way: bool,
}

/// One search: the tables, the query and its filters, and the current round, through which the tables
/// offer hits.
struct Probe<'a, 'f, T> {
    tables: &'a [T],
    codes: &'a CodeStore,
    kernel: Kernel,
    query: &'a [u64],
    filter: &'a Filter<'f>,
    /// The round: the substring radius and the table.
    s: u32,
    j: usize,
}

impl<'a, 'f, T: Table> Probe<'a, 'f, T> {
    fn new(
        tables: &'a [T],
        codes: &'a CodeStore,
        kernel: Kernel,
        query: &'a [u64],
        filter: &'a Filter<'f>,
    ) -> Self {
        Probe { tables, codes, kernel, query, filter, s: 0, j: 0 }
    }

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
        self.tables.iter().enumerate().any(|(i, t)| {
            let d = (t.cut().key(code) ^ t.cut().key(self.query)).count_ones();
            d < self.s || (d == self.s && i < self.j)
        })
    }

    /// Runs the rounds until the pigeonhole bound stops them, or scans every code instead (of the
    /// `scan_codes` indexed) once the rounds would cost more (see the module doc).
    fn rounds(&mut self, scan_codes: u64, top: &mut TopK, sc: &mut Scratch) -> MihStats {
        let mut stats = MihStats::default();
        if top.is_full() {
            return stats; // k = 0
        }
        let tables = self.tables;
        let m = tables.len() as u32;
        let costs = Costs::new(tables, scan_codes, self.codes.words() as u64);
        'radius: for s in 0..=substring_bits(tables) {
            for (j, table) in tables.iter().enumerate() {
                let cut = table.cut();
                if s > cut.len() {
                    break 'radius; // that table was enumerated whole: every code has been seen
                }
                let probed = costs.probed(stats.buckets, stats.candidates);
                let spent = probed.saturating_add(costs.lookups(stats.lookups));
                let next = costs
                    .round(cut.len(), s)
                    .saturating_add(costs.lookups((top.missing() as u64).saturating_mul(LOOKUPS_PER_HIT)));
                let scan_now = spent.saturating_add(next) > costs.scan
                    || (probed > costs.scan / 4
                        && top.is_full()
                        && top.worst().is_some_and(|w| costs.until(tables, s, j, w.distance) > costs.scan));
                if scan_now {
                    // Probing would cost more than a scan: the scan's top k replaces what the rounds found.
                    top.clear();
                    let (scan, hits) = &mut sc.scan;
                    stats.candidates +=
                        scan_all(self.kernel, self.codes, self.query, top.k(), self.filter, scan, hits);
                    hits.iter().for_each(|&hit| top.push(hit));
                    stats.radius = self.codes.bits();
                    stats.gave_way = true;
                    break 'radius;
                }
                (self.s, self.j) = (s, j);
                round_keys(cut.key(self.query), s, cut.len(), &mut sc.keys);
                stats.buckets += sc.keys.len() as u64;
                let dir = table.directory();
                sc.runs.clear();
                pipelined(
                    &sc.keys,
                    |&key| dir.prefetch(key),
                    |&key| {
                        if let Some(entries) = dir.run(key) {
                            stats.candidates += entries.len() as u64;
                            sc.runs.push(Run { key, entries });
                        }
                    },
                );
                table.read_round(self, &sc.runs, top, &mut sc.read, &mut stats);
                stats.radius = m * s + j as u32;
                if top.worst().is_some_and(|w| w.distance <= stats.radius) {
                    break 'radius;
                }
            }
        }
        stats
    }
}

/// The cost model of the choice between rounds and a scan, in code words read.
struct Costs {
    /// Codes indexed.
    n: u64,
    /// A full scan: every code's words.
    scan: u64,
    /// Reading one entry of a bucket ([`Table::entry_cost`]).
    entry: u64,
    /// Finding the ids of one code ([`Table::lookup_cost`]).
    lookup: u64,
}

impl Costs {
    /// The costs of searching `tables` over `n` codes of `words` words.
    fn new<T: Table>(tables: &[T], n: u64, words: u64) -> Costs {
        let m = tables.len() as u64;
        let entry = tables.iter().map(|t| t.entry_cost(m)).max().unwrap_or(words);
        let lookup = tables.first().map_or(0, Table::lookup_cost);
        Costs { n, scan: n.saturating_mul(words), entry, lookup }
    }

    /// The expected cost of probing every bucket at radius `s` of a table of `len`-bit substrings, each
    /// holding `n / 2^len` entries on average.
    fn round(&self, len: u32, s: u32) -> u64 {
        let probes = binomial(len, s);
        let entries = probes.saturating_mul(self.n) >> len;
        probes.saturating_mul(PROBE_COST).saturating_add(entries.saturating_mul(self.entry))
    }

    /// The cost of `n` look-ups of codes' ids.
    fn lookups(&self, n: u64) -> u64 {
        n.saturating_mul(self.lookup)
    }

    /// The cost of rounds that probed `buckets` and read `entries`, their look-ups left out.
    fn probed(&self, buckets: u64, entries: u64) -> u64 {
        buckets.saturating_mul(PROBE_COST).saturating_add(entries.saturating_mul(self.entry))
    }

    /// The expected cost of the rounds from (`s`, `j`) on until one whose radius reaches `worst` (the
    /// pigeonhole bound then stops them), capped just above a scan's.
    fn until<T: Table>(&self, tables: &[T], s: u32, j: usize, worst: u32) -> u64 {
        let m = tables.len();
        let (mut s, mut j, mut total) = (s, j, 0u64);
        while let Some(table) = tables.get(j) {
            let len = table.cut().len();
            if s > len || total > self.scan {
                break;
            }
            total = total.saturating_add(self.round(len, s));
            if (m as u32) * s + j as u32 >= worst {
                break;
            }
            j += 1;
            if j == m {
                (s, j) = (s + 1, 0);
            }
        }
        total
    }
}

/// The keys of one round into `keys`: every `len`-bit value at Hamming distance exactly `s` from `qkey`.
fn round_keys(qkey: u32, s: u32, len: u32, keys: &mut Vec<u32>) {
    keys.clear();
    let mut mask: u64 = (1u64 << s) - 1;
    loop {
        keys.push(qkey ^ mask as u32);
        if s == 0 {
            break;
        }
        // Gosper's hack: the next larger mask with the same number of bits.
        let c = mask & mask.wrapping_neg();
        let r = mask + c;
        mask = (((r ^ mask) >> 2) / c) | r;
        if mask >> len != 0 {
            break;
        }
    }
}

/// Builds the tables of one layout over `members`.
fn build_tables<T: Table>(codes: &CodeStore, members: &[u32], cuts: &[Cut]) -> Vec<T> {
    cuts.par_iter().enumerate().map(|(j, &cut)| T::build(codes, members, j, cut)).collect()
}

/// The longest substring of `tables`, in bits.
fn substring_bits<T: Table>(tables: &[T]) -> u32 {
    tables.iter().map(|t| t.cut().len()).max().unwrap_or(0)
}

impl Mih {
    /// Builds `m` tables over the present codes (`m` is clamped so substrings have 1 to 32 bits).
    pub(crate) fn build(codes: &CodeStore, m: usize, layout: Layout) -> Mih {
        let members: Vec<u32> = codes.ids().collect();
        let cuts = cuts(codes.bits(), m);
        let tables = match layout {
            Layout::Packed => Tables::Packed(build_tables(codes, &members, &cuts)),
            Layout::Inline => Tables::Inline(build_tables(codes, &members, &cuts)),
            Layout::Arena => Tables::Arena(build_tables(codes, &members, &cuts)),
        };
        Mih { tables, scan_codes: members.len() as u64 }
    }

    /// An upper bound on the bytes of `m` tables in `layout` over `n` codes of `bits` bits, before building
    /// them (every code distinct, every key present).
    pub(crate) fn estimate_bytes(bits: u32, n: usize, m: usize, layout: Layout) -> usize {
        let table: fn(&Cut, usize, usize) -> usize = match layout {
            Layout::Packed => PackedTable::estimate_bytes,
            Layout::Inline => InlineTable::estimate_bytes,
            Layout::Arena => ArenaTable::estimate_bytes,
        };
        let tables = cuts(bits, m).into_iter().enumerate();
        tables.map(|(j, cut)| Directory::estimate_bytes(cut.len(), n) + table(&cut, n, j)).sum()
    }

    /// The number of tables.
    pub(crate) fn m(&self) -> usize {
        match &self.tables {
            Tables::Packed(t) => t.len(),
            Tables::Inline(t) => t.len(),
            Tables::Arena(t) => t.len(),
        }
    }

    /// The longest substring, in bits.
    pub(crate) fn substring_bits(&self) -> u32 {
        match &self.tables {
            Tables::Packed(t) => substring_bits(t),
            Tables::Inline(t) => substring_bits(t),
            Tables::Arena(t) => substring_bits(t),
        }
    }

    /// Bytes of the tables (ids, inline codes, packed entries and directories), not counting the code store.
    pub(crate) fn bytes(&self) -> usize {
        match &self.tables {
            Tables::Packed(t) => t.iter().map(Table::bytes).sum(),
            Tables::Inline(t) => t.iter().map(Table::bytes).sum(),
            Tables::Arena(t) => t.iter().map(Table::bytes).sum(),
        }
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
        let max = self.scan_codes;
        match &self.tables {
            Tables::Packed(t) => Probe::new(t, codes, kernel, query, filter).rounds(max, top, sc),
            Tables::Inline(t) => Probe::new(t, codes, kernel, query, filter).rounds(max, top, sc),
            Tables::Arena(t) => Probe::new(t, codes, kernel, query, filter).rounds(max, top, sc),
        }
    }
}

/// The cuts of `m` tables over `bits`-bit codes (`m` is clamped so that substrings have 1 to 32 bits):
/// consecutive substrings whose lengths differ by at most one, longer first.
fn cuts(bits: u32, m: usize) -> Vec<Cut> {
    let m = m.clamp(bits.div_ceil(32) as usize, bits as usize) as u32;
    (0..m)
        .map(|j| {
            let len = bits / m + u32::from(j < bits % m);
            Cut::new(bits, j * (bits / m) + j.min(bits % m), len)
        })
        .collect()
}

/// `n` choose `k`, saturating.
fn binomial(n: u32, k: u32) -> u64 {
    let k = k.min(n - k.min(n));
    (0..u64::from(k)).fold(1u64, |acc, i| acc.saturating_mul(u64::from(n) - i) / (i + 1))
}
