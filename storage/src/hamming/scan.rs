//! The linear scan with a bounded top-k, and the tie rule every Hamming search follows.
//!
//! **Tie rule.** Results are ordered by distance ascending, then by id ascending: among codes at the same
//! distance the lower id wins, both in which codes make the top `k` and in the order they are returned.
//! Only `bits + 1` distances exist, so ties are frequent; this rule makes every path (scan, scan over the
//! allowed ids, MIH) return the same ids in the same order, and a model may re-rank them with a finer score.
//!
//! The full scan runs the kernel over blocks of codes with the current `k`-th distance as its limit, so
//! only codes that can still enter the top `k` are emitted, and selects the top `k` by counting distances
//! (see [`scan_all`]). The scan over the allowed ids and MIH offer codes to a bounded top-k ([`TopK`]) and
//! check presence and the excluded set only for codes close enough to enter it.

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

    /// The number of hits it keeps.
    pub(crate) fn k(&self) -> usize {
        self.k
    }

    /// How many more hits it takes to hold `k`.
    pub(crate) fn missing(&self) -> usize {
        self.k.saturating_sub(self.heap.len())
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

/// The work space of [`scan_all`], reused across searches.
#[derive(Debug, Default)]
pub(crate) struct ScanScratch {
    /// `(distance, id)` of the codes the kernel emitted for the current block.
    emitted: Vec<(u32, u32)>,
    /// `(distance, id)` of the emitted codes that are present and pass the filter, in id order.
    kept: Vec<(u32, u32)>,
    /// The ids that are present and pass the filter, one bit per slot (bit `id % 64` of word `id / 64`).
    admitted: Vec<u64>,
    /// How many kept codes lie at each distance `0..=bits`; at the end, the next output position of each
    /// distance.
    counts: Vec<u32>,
}

/// Scans every code slot and writes the `k` nearest codes that `filter` passes to `out` (cleared first),
/// under the tie rule; returns the number of codes compared.
///
/// Distances are small integers (`0..=bits`), so the top `k` is selected by counting rather than with a
/// heap. The kernel runs over blocks of codes, emitting those below a limit; the admitted ones are kept
/// and counted per distance, and the limit becomes the smallest distance `t` at which `k` codes are kept
/// (a later code at `t` or farther cannot enter: the `k` kept codes precede it). At the end, a counting
/// sort of the kept codes up to the final `t`, stable in id order, places each at its rank: equal distances
/// keep the lower ids first, and only the first codes at distance `t` fit. Presence, the allowed set and
/// the excluded set are merged once into a dense bit mask, so an emitted code costs one bit test.
pub(crate) fn scan_all(
    kernel: Kernel,
    codes: &CodeStore,
    query: &[u64],
    k: usize,
    filter: &Filter<'_>,
    sc: &mut ScanScratch,
    out: &mut Vec<Hit>,
) -> u64 {
    out.clear();
    let slots = codes.slots() as usize;
    if k == 0 {
        return 0;
    }
    admitted_mask(codes, filter, &mut sc.admitted);
    sc.counts.clear();
    sc.counts.resize(codes.bits() as usize + 1, 0);
    sc.kept.clear();
    let (w, data) = (codes.words(), codes.as_words());
    let mut limit = u32::MAX;
    // Small first blocks: until `k` codes are kept, every code is emitted.
    let mut block = 256;
    let mut start = 0;
    while start < slots {
        let end = (start + block).min(slots);
        sc.emitted.clear();
        kernel.scan(query, &data[start * w..end * w], start as u32, limit, &mut sc.emitted);
        for &(distance, id) in &sc.emitted {
            if sc.admitted[id as usize / 64] >> (id % 64) & 1 == 1 {
                sc.counts[distance as usize] += 1;
                sc.kept.push((distance, id));
            }
        }
        limit = kth_distance(&sc.counts, k).unwrap_or(u32::MAX);
        start = end;
        block = (block * 2).min(8192);
    }
    // The counts of distances up to `t` become their first output positions.
    let t = kth_distance(&sc.counts, k).unwrap_or(codes.bits()) as usize;
    let mut taken = 0;
    for count in &mut sc.counts[..=t] {
        (*count, taken) = (taken, taken + *count);
    }
    out.resize((taken as usize).min(k), Hit { distance: 0, id: 0 });
    for &(distance, id) in &sc.kept {
        if let Some(at) = sc.counts[..=t].get_mut(distance as usize) {
            if let Some(slot) = out.get_mut(*at as usize) {
                *slot = Hit { distance, id };
            }
            *at += 1;
        }
    }
    slots as u64
}

/// The smallest distance at which `counts` (codes per distance) adds up to `k` codes, if it does.
fn kth_distance(counts: &[u32], k: usize) -> Option<u32> {
    let mut taken = 0;
    counts
        .iter()
        .position(|&count| {
            taken += count as usize;
            taken >= k
        })
        .map(|d| d as u32)
}

/// Writes to `mask` one bit per code slot of `codes`: set for the ids that have a code and pass `filter`.
fn admitted_mask(codes: &CodeStore, filter: &Filter<'_>, mask: &mut Vec<u64>) {
    let slots = codes.slots();
    mask.clear();
    mask.extend_from_slice(codes.presence().as_words());
    mask.resize((slots as usize).div_ceil(64), 0);
    if let Some(allowed) = filter.allowed {
        let allowed = allowed.dense().as_words();
        for (i, word) in mask.iter_mut().enumerate() {
            *word &= allowed.get(i).copied().unwrap_or(0);
        }
    }
    if let Some(excluded) = filter.excluded {
        for id in excluded.iter().take_while(|&id| id < slots) {
            mask[id as usize / 64] &= !(1 << (id % 64));
        }
    }
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
    use crate::hamming::Allowed;
    use roaring::RoaringBitmap;

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
        let mut hits = Vec::new();
        scan_all(Kernel::best(), &codes, &q, 25, &Filter::NONE, &mut ScanScratch::default(), &mut hits);
        assert_eq!(hits, brute_force(&codes, &q, 25, &Filter::NONE));
    }

    /// The counting selection of `scan_all` returns what offering every admitted code to the heap of
    /// [`TopK`] returns: same codes, same order, ties included (8- and 16-bit codes tie often), with
    /// absent codes, allowed and excluded sets, `k` from 0 to past the number of codes, and every kernel.
    #[test]
    fn counting_selection_matches_the_heap() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut sc = ScanScratch::default();
        let mut hits = Vec::new();
        for bits in [8u32, 16, 128, 200] {
            let words = bits.div_ceil(64) as usize;
            let mask = super::super::codes::last_word_mask(bits);
            for n in [0u32, 1, 70, 1000] {
                let data = (0..n as usize * words)
                    .map(|i| if i % words == words - 1 { next() & mask } else { next() })
                    .collect();
                let mut codes = CodeStore::from_words(bits, data).expect("valid");
                for id in (0..n).filter(|id| id % 11 == 4) {
                    codes.remove(id);
                }
                let allowed = Allowed::new((0..n + 50).filter(|_| next() % 3 != 0).collect());
                let excluded: RoaringBitmap = (0..n + 50).filter(|_| next() % 4 == 0).collect();
                let filters = [
                    Filter::NONE,
                    Filter { allowed: None, excluded: Some(&excluded) },
                    Filter { allowed: Some(&allowed), excluded: Some(&excluded) },
                ];
                let query: Vec<u64> =
                    (0..words).map(|w| if w == words - 1 { next() & mask } else { next() }).collect();
                for filter in &filters {
                    for k in [0, 1, 7, 200, 2000] {
                        let mut top = TopK::default();
                        top.reset(k);
                        for id in codes.ids().filter(|&id| filter.admits(id)) {
                            let distance =
                                codes.code(id).iter().zip(&query).map(|(a, b)| (a ^ b).count_ones()).sum();
                            top.push(Hit { distance, id });
                        }
                        let want = top.take_sorted();
                        for kernel in Kernel::available() {
                            scan_all(kernel, &codes, &query, k, filter, &mut sc, &mut hits);
                            assert_eq!(hits, want, "bits {bits} n {n} k {k} {kernel:?}");
                        }
                    }
                }
            }
        }
    }
}
