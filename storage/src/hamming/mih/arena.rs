//! The arena layout ([`Layout::Arena`](super::Layout::Arena)): ids only.
//!
//! Contract: each table keeps the ids of every bucket as one sorted run, all runs in one arena in key
//! order, and nothing else: 4 bytes per code and table beside the directory, the smallest index. A round
//! gathers each run's distances from the code store, one random read per id, so it is the slowest layout
//! (figures in BENCHMARKS.md, "Hamming engine"). Every id in a run is offered whose distance may enter the
//! top `k`; the probe drops those offered in an earlier round.
//!
//! The inline layout is this table with a copy of the codes beside the arena.

use super::directory::Directory;
use super::sort::radix_sort_by;
use super::{MihStats, Probe, ReadScratch, Run, Table};
use crate::hamming::codes::CodeStore;
use crate::hamming::cut::Cut;
use crate::hamming::scan::{Hit, TopK};
use crate::prefetch::{pipelined, prefetch};

/// One table of the arena layout.
#[derive(Debug)]
pub(super) struct ArenaTable {
    cut: Cut,
    dir: Directory,
    /// The ids of every bucket, ascending within a bucket, buckets in key order.
    ids: Vec<u32>,
}

impl ArenaTable {
    /// The arena: the ids of every bucket, ascending within a bucket, buckets in key order.
    pub(super) fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// The ids of bucket `key`, ascending.
    #[cfg(test)]
    pub(super) fn bucket_ids(&self, key: u32) -> Vec<u32> {
        self.dir.run(key).map_or_else(Vec::new, |run| self.ids[run].to_vec())
    }
}

impl Table for ArenaTable {
    fn build(codes: &CodeStore, members: &[u32], _j: usize, cut: Cut) -> ArenaTable {
        let mut pairs: Vec<u64> =
            members.iter().map(|&id| u64::from(cut.key(codes.code(id))) << 32 | u64::from(id)).collect();
        radix_sort_by(&mut pairs, cut.len(), |p| (p >> 32) as u32);
        let mut ids = Vec::with_capacity(pairs.len());
        let (mut keys, mut offsets) = (Vec::new(), Vec::new());
        for group in pairs.chunk_by(|a, b| a >> 32 == b >> 32) {
            keys.push((group[0] >> 32) as u32);
            offsets.push(ids.len() as u32);
            ids.extend(group.iter().map(|&p| p as u32));
        }
        offsets.push(ids.len() as u32);
        let dir = Directory::new(cut.len(), members.len(), keys, offsets);
        ArenaTable { cut, dir, ids }
    }

    fn estimate_bytes(_cut: &Cut, n: usize, _j: usize) -> usize {
        4 * n
    }

    fn cut(&self) -> &Cut {
        &self.cut
    }

    fn directory(&self) -> &Directory {
        &self.dir
    }

    fn bytes(&self) -> usize {
        self.dir.bytes() + 4 * self.ids.len()
    }

    fn read_round(
        &self,
        probe: &Probe<'_, '_, ArenaTable>,
        runs: &[Run],
        top: &mut TopK,
        sc: &mut ReadScratch,
        stats: &mut MihStats,
    ) {
        let codes = probe.codes;
        pipelined(
            runs,
            |run| prefetch(self.ids.get(run.entries.start)),
            |run| {
                let ids = &self.ids[run.entries.clone()];
                sc.dist.clear();
                probe.kernel.gather(probe.query, codes.as_words(), ids, &mut sc.dist);
                for (&id, &distance) in ids.iter().zip(&sc.dist) {
                    if distance <= top.limit() {
                        probe.offer(Hit { distance, id }, codes.code(id), top, stats);
                    }
                }
            },
        );
    }
}
