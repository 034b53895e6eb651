//! The inline layout ([`Layout::Inline`](super::Layout::Inline)): ids and whole codes.
//!
//! Contract: each table is an [arena](super::arena) table with a copy of each id's code beside the arena,
//! in the same order. A round runs the scan kernel over each run's contiguous codes instead of gathering
//! them from the code store one miss at a time, and offers the ids of the codes that may enter the top `k`.
//! It costs `8 × words` more bytes per code and table than the arena (figures in BENCHMARKS.md, "Hamming
//! engine").

use super::arena::ArenaTable;
use super::directory::Directory;
use super::{MihStats, Probe, ReadScratch, Run, Table};
use crate::hamming::codes::CodeStore;
use crate::hamming::cut::Cut;
use crate::hamming::scan::{Hit, TopK};
use crate::prefetch::{pipelined, prefetch};

/// One table of the inline layout.
#[derive(Debug)]
pub(super) struct InlineTable {
    arena: ArenaTable,
    /// The code of each id of the arena, in the same order, `words` words each.
    codes: Vec<u64>,
    words: usize,
}

impl InlineTable {
    /// The ids of bucket `key`, ascending.
    #[cfg(test)]
    pub(super) fn bucket_ids(&self, key: u32) -> Vec<u32> {
        self.arena.bucket_ids(key)
    }
}

impl Table for InlineTable {
    fn build(codes: &CodeStore, members: &[u32], j: usize, cut: Cut) -> InlineTable {
        let arena = ArenaTable::build(codes, members, j, cut);
        let inline = arena.ids().iter().flat_map(|&id| codes.code(id)).copied().collect();
        InlineTable { arena, codes: inline, words: codes.words() }
    }

    fn estimate_bytes(cut: &Cut, n: usize, j: usize) -> usize {
        ArenaTable::estimate_bytes(cut, n, j) + 8 * n * cut.code_words()
    }

    fn cut(&self) -> &Cut {
        self.arena.cut()
    }

    fn directory(&self) -> &Directory {
        self.arena.directory()
    }

    fn bytes(&self) -> usize {
        self.arena.bytes() + 8 * self.codes.len()
    }

    fn read_round(
        &self,
        probe: &Probe<'_, '_, InlineTable>,
        runs: &[Run],
        top: &mut TopK,
        sc: &mut ReadScratch,
        stats: &mut MihStats,
    ) {
        let (w, ids) = (self.words, self.arena.ids());
        pipelined(
            runs,
            |run| {
                prefetch(self.codes.get(run.entries.start * w));
                prefetch(ids.get(run.entries.start));
            },
            |run| {
                let (lo, hi) = (run.entries.start, run.entries.end);
                // A code at the worst distance may still enter with a lower id: emit distances up to it.
                let limit = top.limit().saturating_add(1);
                sc.emit.clear();
                probe.kernel.scan(probe.query, &self.codes[lo * w..hi * w], lo as u32, limit, &mut sc.emit);
                for &(distance, pos) in &sc.emit {
                    let pos = pos as usize;
                    probe.offer(
                        Hit { distance, id: ids[pos] },
                        &self.codes[pos * w..pos * w + w],
                        top,
                        stats,
                    );
                }
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_arena() {
        let data: Vec<u64> = (0..3000u64).map(|i| ((i % 7) * 0x0101_0101) ^ (i << 40)).collect();
        let codes = CodeStore::from_words(64, data).expect("valid");
        let members: Vec<u32> = codes.ids().collect();
        let table = InlineTable::build(&codes, &members, 0, Cut::new(64, 8, 12));
        assert_eq!(table.codes.len(), table.arena.ids().len());
        for (pos, &id) in table.arena.ids().iter().enumerate() {
            assert_eq!(table.codes[pos], codes.code(id)[0]);
        }
    }
}
