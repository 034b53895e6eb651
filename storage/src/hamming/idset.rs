//! [`IdSet`]: a dense set of `u32` ids, one bit per id below its bound, on bitvec's `BitVec<u64, Lsb0>`.
//!
//! A roaring `contains` costs a container search per call; a bit test in a dense set is a load and a
//! shift. Where the same set is asked about many ids (an allowed set checked for every candidate, the
//! presence of codes in a [`CodeStore`](super::CodeStore), a user's excluded items checked for every
//! scored item), materialise it once as an `IdSet`. It takes `bound / 8` bytes whatever its length, so it
//! suits sets asked about often, not sparse sets over a huge id range.
//!
//! Bit `id` is bit `id % 64` of word `id / 64` (`Lsb0` order over `u64` words), and bits past the bound are
//! always zero: the words can be written to disk as they are.

use std::collections::TryReserveError;

use bitvec::order::Lsb0;
use bitvec::vec::BitVec;
use roaring::RoaringBitmap;

/// A dense set of `u32` ids: one bit per id below its bound.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdSet {
    bits: BitVec<u64, Lsb0>,
}

impl IdSet {
    /// The ids of `ids` below `bound` (others are left out), in a set with room for ids below `bound`.
    pub fn from_bitmap(ids: &RoaringBitmap, bound: usize) -> IdSet {
        let mut bits = BitVec::repeat(false, bound);
        for id in ids.iter().take_while(|&id| (id as usize) < bound) {
            bits.set(id as usize, true);
        }
        IdSet { bits }
    }

    /// The ids `0..n`.
    pub(crate) fn all_below(n: usize) -> IdSet {
        let mut bits = BitVec::repeat(false, n);
        bits.fill(true);
        IdSet { bits }
    }

    /// A set of the ids whose bits are set in `words` (bit `id % 64` of word `id / 64`), with room for ids
    /// below `bound`; `None` unless there are `bound.div_ceil(64)` words and no bit is set past `bound`.
    pub(crate) fn from_words(words: Vec<u64>, bound: usize) -> Option<IdSet> {
        let tail = bound % 64;
        if words.len() != bound.div_ceil(64) || (tail != 0 && words.last().is_some_and(|w| w >> tail != 0)) {
            return None;
        }
        let mut bits = BitVec::from_vec(words);
        bits.truncate(bound);
        Some(IdSet { bits })
    }

    /// The set's words: bit `id % 64` of word `id / 64`, `bound.div_ceil(64)` words, zero past the bound.
    pub(crate) fn as_words(&self) -> &[u64] {
        self.bits.as_raw_slice()
    }

    /// Makes room for ids below `bound`, or reports that the memory could not be had (the set is then
    /// unchanged).
    pub(crate) fn try_grow(&mut self, bound: usize) -> Result<(), TryReserveError> {
        let len = self.bits.len();
        if bound <= len {
            return Ok(());
        }
        let mut words = std::mem::take(&mut self.bits).into_vec();
        let reserved = words.try_reserve(bound.div_ceil(64) - words.len());
        self.bits = BitVec::from_vec(words);
        self.bits.truncate(len);
        reserved?;
        self.bits.resize(bound, false);
        Ok(())
    }

    /// Whether `id` is in the set.
    #[inline]
    pub fn contains(&self, id: u32) -> bool {
        self.bits.get(id as usize).is_some_and(|bit| *bit)
    }

    /// A membership test for asking about many ids in a row (every scored item): the bound and the
    /// words are read out of the bit vector once, and each call is one word test. Calling
    /// [`IdSet::contains`] per item measured about 10% slower on a whole RECOMMEND (BENCHMARKS.md).
    pub fn membership(&self) -> impl Fn(u32) -> bool + Copy + '_ {
        let (words, bound) = (self.bits.as_raw_slice(), self.bits.len());
        move |id| (id as usize) < bound && words[id as usize / 64] >> (id % 64) & 1 == 1
    }

    /// Adds `id`, making room for it if needed; returns whether it was absent.
    pub fn insert(&mut self, id: u32) -> bool {
        let at = id as usize;
        if at >= self.bits.len() {
            self.bits.resize(at + 1, false);
        }
        !self.bits.replace(at, true)
    }

    /// Removes `id`; returns whether it was present.
    pub fn remove(&mut self, id: u32) -> bool {
        let at = id as usize;
        at < self.bits.len() && self.bits.replace(at, false)
    }

    /// The number of ids in the set.
    pub fn len(&self) -> usize {
        self.bits.count_ones()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.bits.not_any()
    }

    /// The ids in the set, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        // Word by word, by hand: bitvec's `iter_ones` measured an order of magnitude slower, and index
        // builds list every id (BENCHMARKS.md, "Layouts as types").
        self.as_words().iter().enumerate().flat_map(|(i, &word)| {
            let mut word = word;
            std::iter::from_fn(move || {
                (word != 0).then(|| {
                    let bit = word.trailing_zeros();
                    word &= word - 1;
                    (i * 64) as u32 + bit
                })
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_roaring_and_keeps_its_words() {
        let ids: RoaringBitmap = [0u32, 63, 64, 1000, 5000].into_iter().collect();
        let set = IdSet::from_bitmap(&ids, 1001);
        let member = set.membership();
        for id in 0..1100 {
            assert_eq!(set.contains(id), ids.contains(id) && id < 1001, "{id}");
            assert_eq!(member(id), set.contains(id), "{id}");
        }
        assert!(!set.contains(u32::MAX) && !member(u32::MAX));
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![0, 63, 64, 1000]);
        assert_eq!((set.len(), set.as_words().len()), (4, 16));
        assert_eq!(set.as_words()[1], 1);
        let back = IdSet::from_words(set.as_words().to_vec(), 1001).expect("valid words");
        assert_eq!(back, set);
        assert!(IdSet::from_words(vec![1 << 41], 41).is_none(), "a bit past the bound");
        assert!(IdSet::from_words(vec![0, 0], 64).is_none(), "too many words");
        assert!(IdSet::from_bitmap(&RoaringBitmap::new(), 10).is_empty());
    }

    #[test]
    fn grows_and_shrinks_one_id_at_a_time() {
        let mut set = IdSet::default();
        assert!(set.insert(70) && !set.insert(70));
        set.try_grow(200).expect("memory");
        assert!(set.insert(3) && set.contains(70) && !set.contains(199));
        assert_eq!(set.as_words(), &[1 << 3, 1 << 6, 0, 0]);
        assert!(set.remove(70) && !set.remove(70) && !set.remove(5000));
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![3]);
        let all = IdSet::all_below(65);
        assert_eq!((all.len(), all.as_words()), (65, &[u64::MAX, 1][..]));
    }
}
