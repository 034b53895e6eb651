//! The linear scan with a bounded top-k, and the tie rule every Hamming search follows.
//!
//! **Tie rule.** Results are ordered by distance ascending, then by id ascending: among codes at the same
//! distance the lower id wins, both in which codes make the top `k` and in the order they are returned.
//! Only `bits + 1` distances exist, so ties are frequent; this rule makes every path (scan, scan over the
//! allowed ids, MIH) return the same ids in the same order, and a model may re-rank them with a finer score.
//!
//! The scan runs the kernel over blocks of codes with the current `k`-th distance as its limit, so only
//! codes that can still enter the top `k` are emitted; filters and presence are checked on those alone.

use std::collections::BinaryHeap;

use super::codes::CodeStore;
use super::filter::Filter;
use super::kernels::Kernel;

/// One result: an id and its Hamming distance to the query. The derived order is the tie rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hit {
    /// The Hamming distance to the query.
    pub distance: u32,
    /// The entity id.
    pub id: u32,
}

/// The best `k` hits seen so far, under the tie rule.
#[derive(Debug, Default)]
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<Hit>,
}

impl TopK {
    /// Empties the holder for a new search of `k` results.
    pub(crate) fn reset(&mut self, k: usize) {
        self.k = k;
        self.heap.clear();
    }

    /// Empties the holder, keeping its `k`.
    pub(crate) fn clear(&mut self) {
        self.heap.clear();
    }

    /// Whether it holds `k` hits.
    #[inline]
    pub(crate) fn is_full(&self) -> bool {
        self.heap.len() >= self.k
    }

    /// The worst hit held, once full.
    #[inline]
    pub(crate) fn worst(&self) -> Option<Hit> {
        if self.is_full() {
            self.heap.peek().copied()
        } else {
            None
        }
    }

    /// A distance bound: a code at this distance or more cannot enter unless its id is lower than the worst.
    #[inline]
    pub(crate) fn limit(&self) -> u32 {
        match self.worst() {
            Some(w) => w.distance,
            None if self.k == 0 => 0,
            None => u32::MAX,
        }
    }

    /// Offers a hit.
    #[inline]
    pub(crate) fn push(&mut self, hit: Hit) {
        if self.heap.len() < self.k {
            self.heap.push(hit);
        } else if let Some(mut top) = self.heap.peek_mut() {
            if hit < *top {
                *top = hit;
            }
        }
    }

    /// Whether a hit would enter.
    #[inline]
    pub(crate) fn accepts(&self, hit: Hit) -> bool {
        self.worst().is_none_or(|w| hit < w) && self.k > 0
    }

    /// The hits in order, leaving the holder empty.
    pub(crate) fn take_sorted(&mut self) -> Vec<Hit> {
        std::mem::take(&mut self.heap).into_sorted_vec()
    }
}

/// Scans every code slot; returns the number of codes compared.
pub(crate) fn scan_all(
    kernel: Kernel,
    codes: &CodeStore,
    query: &[u64],
    filter: &Filter<'_>,
    top: &mut TopK,
    buf: &mut Vec<(u32, u32)>,
) -> u64 {
    let w = codes.words();
    let data = codes.as_words();
    let slots = codes.slots() as usize;
    // Small first blocks: until the top k fills, every code is emitted and checked.
    let mut block = 256;
    let mut start = 0;
    while start < slots {
        let end = (start + block).min(slots);
        buf.clear();
        kernel.scan(query, &data[start * w..end * w], start as u32, top.limit(), buf);
        for &(distance, id) in buf.iter() {
            // The limit tightens within a block: test it again before the filters' look-ups.
            let hit = Hit { distance, id };
            if top.accepts(hit) && codes.contains(id) && filter.admits(id) {
                top.push(hit);
            }
        }
        start = end;
        block = (block * 2).min(8192);
    }
    slots as u64
}

/// Scans the codes of the allowed ids only; returns the number of codes compared.
pub(crate) fn scan_ids(
    kernel: Kernel,
    codes: &CodeStore,
    query: &[u64],
    filter: &Filter<'_>,
    top: &mut TopK,
    ids: &mut Vec<u32>,
    dist: &mut Vec<u32>,
) -> u64 {
    let Some(allowed) = filter.allowed else {
        return 0;
    };
    let slots = codes.slots();
    let mut examined = 0;
    let mut iter = allowed.bitmap().iter().take_while(|&id| id < slots).peekable();
    while iter.peek().is_some() {
        ids.clear();
        ids.extend(iter.by_ref().take(1024));
        dist.clear();
        kernel.gather(query, codes.as_words(), ids, dist);
        examined += ids.len() as u64;
        for (&id, &distance) in ids.iter().zip(dist.iter()) {
            let hit = Hit { distance, id };
            // Presence and exclusion are checked only for codes that would enter.
            if top.accepts(hit) && codes.contains(id) && filter.excluded.is_none_or(|e| !e.contains(id)) {
                top.push(hit);
            }
        }
    }
    examined
}

/// The exact top `k` by sorting every distance: the reference the fast paths are tested against.
pub fn brute_force(codes: &CodeStore, query: &[u64], k: usize, filter: &Filter<'_>) -> Vec<Hit> {
    if codes.check_code(query).is_err() {
        return Vec::new();
    }
    let mut all: Vec<Hit> = codes
        .ids()
        .filter(|&id| filter.admits(id))
        .map(|id| Hit {
            distance: codes.code(id).iter().zip(query).map(|(a, b)| (a ^ b).count_ones()).sum(),
            id,
        })
        .collect();
    all.sort_unstable();
    all.truncate(k);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_keeps_the_lowest_ids_on_ties() {
        let mut top = TopK::default();
        top.reset(2);
        for (distance, id) in [(3, 9), (1, 7), (3, 2), (1, 8), (0, 5)] {
            top.push(Hit { distance, id });
        }
        assert_eq!(top.take_sorted(), vec![Hit { distance: 0, id: 5 }, Hit { distance: 1, id: 7 }]);
        top.reset(0);
        top.push(Hit { distance: 0, id: 0 });
        assert!(top.take_sorted().is_empty());
        assert_eq!(top.limit(), 0);
    }

    #[test]
    fn scan_matches_brute_force() {
        let data: Vec<u64> = (0..5000u64).map(|i| (i * 0x9e37_79b9) & 0xffff).collect();
        let mut codes = CodeStore::from_words(16, data).expect("valid");
        codes.remove(3);
        let q = [0x1234];
        let mut top = TopK::default();
        top.reset(25);
        scan_all(Kernel::best(), &codes, &q, &Filter::NONE, &mut top, &mut Vec::new());
        assert_eq!(top.take_sorted(), brute_force(&codes, &q, 25, &Filter::NONE));
    }
}
