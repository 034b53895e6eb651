//! The packed layout ([`Layout::Packed`](super::Layout::Packed), the default): remainders, ids once.
//!
//! Contract: a table's entries are its codes' remainders, without the table's own substring (the bucket key
//! gives it back), packed into `ceil((bits - len) / 8)` bytes ([`cut`](crate::hamming::cut)), in bucket
//! order and, within a bucket, by (remainder read as a number, id), then [`PADDING`]. Only the first
//! table keeps ids, one per entry. The others keep each distinct code once and no ids: an entry close
//! enough to enter the top `k` is decoded, and its ids are found by binary search in the first table's
//! bucket ([`PackedTable::find`]). These look-ups wait until the end of their round and go nearest first,
//! so once the top `k` fills the rest are skipped; a query makes about three per hit (a few dozen for ten
//! hits), and the driver counts their cost ([`Table::lookup_cost`]). Distances are computed over
//! contiguous entries, as with the inline layout, in about a third of its memory (figures in
//! BENCHMARKS.md, "Hamming engine").

use std::cmp::Ordering;

use rayon::prelude::*;

use super::directory::Directory;
use super::sort::radix_sort_by;
use super::{MihStats, Probe, ReadScratch, Run, Table};
use crate::hamming::codes::{CodeStore, MAX_BITS};
use crate::hamming::cut::{Cut, PADDING};
use crate::hamming::kernels::PackedEntries;
use crate::hamming::scan::{Hit, TopK};
use crate::prefetch::{pipelined, prefetch};

/// Words of the longest code, and of the longest remainder.
const REM_WORDS: usize = (MAX_BITS / 64) as usize;

/// Lines of a run prefetched.
const RUN_LINES: usize = 4;

/// One table of the packed layout.
#[derive(Debug)]
pub(super) struct PackedTable {
    /// The table's substring and the remainder around it.
    cut: Cut,
    dir: Directory,
    /// In the first table, the id of each entry; empty in the others, whose entries are distinct codes.
    ids: Vec<u32>,
    /// The remainders in bucket order, `cut.stride()` bytes each, then [`PADDING`].
    entries: Vec<u8>,
}

impl PackedTable {
    /// The positions of the entries of `code` in the first table (each one of its ids).
    fn find(&self, code: &[u64]) -> (usize, usize) {
        let Some(run) = self.dir.run(self.cut.key(code)) else {
            return (0, 0);
        };
        let mut rem = [0u64; REM_WORDS];
        let rem = &mut rem[..self.cut.words()];
        self.cut.remainder(code, rem);
        let first_where = |stop: &dyn Fn(Ordering) -> bool| {
            let (mut a, mut b) = (run.start, run.end);
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

    /// Computes the distances of the entries of one run and offers those that may enter: with their ids in
    /// the first table, after the round through a look-up of their code in the first table elsewhere.
    fn read_run(
        &self,
        probe: &Probe<'_, '_, PackedTable>,
        run: &Run,
        qrem: &[u64],
        top: &mut TopK,
        sc: &mut ReadScratch,
        stats: &mut MihStats,
    ) {
        sc.emit.clear();
        // A code at the worst distance may still enter with a lower id: emit distances up to it.
        let limit = top.limit().saturating_add(1);
        probe.kernel.scan_packed(
            PackedEntries { cut: &self.cut, entries: &self.entries },
            run.entries.clone(),
            qrem,
            probe.s,
            limit,
            &mut sc.emit,
        );
        if probe.j > 0 {
            sc.pending.extend(sc.emit.iter().map(|&(distance, pos)| (distance, run.key, pos)));
            return;
        }
        let mut code = [0u64; REM_WORDS];
        let code = &mut code[..probe.query.len()];
        for &(distance, pos) in &sc.emit {
            if distance > top.limit() {
                continue; // the limit tightened since the scan
            }
            self.cut.decode(run.key, &self.entries, pos as usize, code);
            if !probe.seen_before(code) {
                probe.admit(Hit { distance, id: self.ids[pos as usize] }, top, stats);
            }
        }
    }

    /// Offers the round's pending entries nearest first, with their ids looked up in the first table, until
    /// the rest are too far to enter.
    fn resolve_pending(
        &self,
        probe: &Probe<'_, '_, PackedTable>,
        top: &mut TopK,
        sc: &mut ReadScratch,
        stats: &mut MihStats,
    ) {
        sc.pending.sort_unstable();
        let mut code = [0u64; REM_WORDS];
        let code = &mut code[..probe.query.len()];
        let first = &probe.tables[0];
        for &(distance, key, pos) in &sc.pending {
            if distance > top.limit() {
                break;
            }
            self.cut.decode(key, &self.entries, pos as usize, code);
            if probe.seen_before(code) {
                continue;
            }
            stats.lookups += 1;
            let (a, b) = first.find(code);
            for &id in &first.ids[a..b] {
                probe.admit(Hit { distance, id }, top, stats);
            }
        }
        sc.pending.clear();
    }

    /// The ids of bucket `key` of the first table, in entry order.
    #[cfg(test)]
    pub(super) fn bucket_ids(&self, key: u32) -> Vec<u32> {
        self.dir.run(key).map_or_else(Vec::new, |run| self.ids[run].to_vec())
    }
}

impl Table for PackedTable {
    /// Table `j`: entries sorted by (key, remainder, id); the first table keeps every member and its id,
    /// the others each distinct code once.
    fn build(codes: &CodeStore, members: &[u32], j: usize, cut: Cut) -> PackedTable {
        let (primary, len) = (j == 0, cut.len());
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
        PackedTable { cut, dir, ids, entries }
    }

    fn estimate_bytes(cut: &Cut, n: usize, j: usize) -> usize {
        n * cut.stride() + PADDING + if j == 0 { 4 * n } else { 0 }
    }

    /// Entries of up to 8 bytes are read eight at a time by the SIMD kernel, like the default; longer ones
    /// byte by byte, at about a word per byte and one per remainder word (measured at 128 and 256 bits:
    /// 8 to 10 ns per entry).
    fn entry_cost(&self, m: u64) -> u64 {
        let words = self.cut.code_words() as u64;
        match self.cut.stride() {
            0..=8 => words + m,
            st => st as u64 + self.cut.words() as u64,
        }
    }

    /// A binary search of the code's bucket in the first table, a few cache misses and longer the longer
    /// its entries: 300 to 650 ns measured at 1M codes, that is about 1,100, 1,200 and 1,800 words of a
    /// scan at 64, 128 and 256 bits (6-, 14- and 30-byte entries).
    fn lookup_cost(&self) -> u64 {
        1024 + 24 * self.cut.stride() as u64
    }

    fn cut(&self) -> &Cut {
        &self.cut
    }

    fn directory(&self) -> &Directory {
        &self.dir
    }

    fn bytes(&self) -> usize {
        self.dir.bytes() + 4 * self.ids.len() + self.entries.len()
    }

    fn read_round(
        &self,
        probe: &Probe<'_, '_, PackedTable>,
        runs: &[Run],
        top: &mut TopK,
        sc: &mut ReadScratch,
        stats: &mut MihStats,
    ) {
        let mut qrem = [0u64; REM_WORDS];
        let qrem = &mut qrem[..self.cut.words()];
        self.cut.remainder(probe.query, qrem);
        let st = self.cut.stride();
        pipelined(
            runs,
            // Up to `RUN_LINES` lines of the run.
            |run| {
                for at in (run.entries.start * st..run.entries.end * st).step_by(64).take(RUN_LINES) {
                    prefetch(self.entries.get(at));
                }
            },
            |run| self.read_run(probe, run, qrem, top, sc, stats),
        );
        if !sc.pending.is_empty() {
            self.resolve_pending(probe, top, sc, stats);
        }
    }
}
