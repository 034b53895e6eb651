//! The directory of one table: where the bucket of each substring value lies among the table's entries.
//!
//! Contract: a table stores its entries bucket by bucket, buckets in key order, and hands the directory its
//! distinct keys in order with the start of each one's run (and one end offset past the last). The
//! directory then answers, for any key, the positions of its run, or `None` for an empty bucket. Two forms,
//! chosen from the substring length and the number of codes:
//! - *dense*: an offset array indexed by substring value, for substrings of up to [`DENSE_BITS`] bits or
//!   where `2^len` is at most twice the codes;
//! - *sparse*: the sorted distinct keys with a 2^16-entry directory on their high bits, where a dense array
//!   would outweigh the entries.
//!
//! A search prefetches a key's directory entry a few keys before it reads it ([`Directory::prefetch`]).

use std::ops::Range;

use crate::prefetch::prefetch;

/// Substrings up to this length always get a dense offset array.
const DENSE_BITS: u32 = 16;

/// Where the buckets of one table are.
#[derive(Debug)]
pub(super) enum Directory {
    /// `offsets[v]..offsets[v + 1]` is the run of substring value `v`.
    Dense { offsets: Vec<u32> },
    /// `keys[top[h]..top[h + 1]]` are the keys whose high 16 bits are `h`; key `keys[i]` has the run
    /// `offsets[i]..offsets[i + 1]`.
    Sparse { shift: u32, top: Vec<u32>, keys: Vec<u32>, offsets: Vec<u32> },
}

impl Directory {
    /// Whether a table of `len`-bit substrings over `n` codes gets a dense offset array.
    fn is_dense(len: u32, n: usize) -> bool {
        len <= DENSE_BITS || (1usize << len) <= 2 * n.max(1)
    }

    /// The directory of a table of `len`-bit substrings over `n` codes, from its distinct `keys` in order
    /// and the start of each one's run (`offsets`, one more than `keys`).
    pub(super) fn new(len: u32, n: usize, keys: Vec<u32>, offsets: Vec<u32>) -> Directory {
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

    /// An upper bound on the bytes of the directory of `len`-bit substrings over `n` codes (every key
    /// present).
    pub(super) fn estimate_bytes(len: u32, n: usize) -> usize {
        match Directory::is_dense(len, n) {
            true => 4 * ((1usize << len) + 1),
            false => 4 * ((1 << DENSE_BITS) + 2 + 2 * n.min(1 << len)),
        }
    }

    /// The positions of the run of bucket `key`, if it has any entry.
    #[inline]
    pub(super) fn run(&self, key: u32) -> Option<Range<usize>> {
        let (lo, hi) = match self {
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
        (lo < hi).then_some(lo..hi)
    }

    /// Prefetches the directory entry of `key`.
    #[inline]
    pub(super) fn prefetch(&self, key: u32) {
        match self {
            Directory::Dense { offsets } => prefetch(offsets.get(key as usize)),
            Directory::Sparse { shift, top, .. } => prefetch(top.get((key >> shift) as usize)),
        }
    }

    /// Bytes of the directory.
    pub(super) fn bytes(&self) -> usize {
        4 * match self {
            Directory::Dense { offsets } => offsets.len(),
            Directory::Sparse { top, keys, offsets, .. } => top.len() + keys.len() + offsets.len(),
        }
    }
}
