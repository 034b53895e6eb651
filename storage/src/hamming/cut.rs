//! How the codes of one MIH table are cut: the table's substring is the bucket key (every layout), and the
//! rest of the code is the *remainder*, which the packed layout stores packed into whole bytes.
//!
//! Every code in a bucket of table `j` has the bucket's substring, so the table need not store it: an entry
//! holds the other `bits - len` bits (the *remainder*), in `ceil((bits - len) / 8)` bytes, and the bucket key
//! gives the rest back. The distance of an entry found at substring radius `s` is `s` plus the popcount of
//! its remainder against the query's. At 64 bits and four tables an entry is 6 bytes instead of 8.
//!
//! Entries are read as little-endian `u64` chunks at any byte offset, so an entry array carries
//! [`PADDING`] zero bytes past its last entry; bytes of the next entry that a chunk picks up are masked off.
//! Entries of a bucket are sorted by their remainder read as a number, so an exact code is found by binary
//! search.

use std::cmp::Ordering;
use std::ops::Range;

use super::codes::MAX_BITS;

/// Zero bytes after the last entry, so that the last chunk of the last entry can be read as a `u64`, and
/// the AVX2 kernel can load a whole group of eight entries of up to 8 bytes from the last one.
pub(crate) const PADDING: usize = 64;

/// How the codes of one table are cut: the substring `[start, start + len)` is the bucket key, the other
/// bits are the remainder.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cut {
    bits: u32,
    start: u32,
    len: u32,
    /// Bytes per entry.
    stride: usize,
    /// For entries of at most 8 bytes, the byte shuffle that spreads two consecutive entries (16 bytes
    /// loaded at the first) over two 64-bit lanes, zero-extended, in each 128-bit half.
    spread: [u8; 32],
}

/// `n <= 64` bits of `code` from bit `off`.
#[inline]
fn get_bits(code: &[u64], off: u32, n: u32) -> u64 {
    if n == 0 {
        return 0;
    }
    let w = (off / 64) as usize;
    let sh = off % 64;
    let mut v = code[w] >> sh;
    if sh + n > 64 {
        v |= code[w + 1] << (64 - sh);
    }
    if n < 64 {
        v & ((1u64 << n) - 1)
    } else {
        v
    }
}

/// Ors `n <= 64` bits of `v` (higher bits zero) into `out` at bit `off`.
#[inline]
fn put_bits(out: &mut [u64], off: u32, n: u32, v: u64) {
    if n == 0 {
        return;
    }
    let w = (off / 64) as usize;
    let sh = off % 64;
    out[w] |= v << sh;
    if sh + n > 64 {
        out[w + 1] |= v >> (64 - sh);
    }
}

/// Ors bits `[from, from + n)` of `src` into `dst` at bit `to`.
fn copy_bits(src: &[u64], from: u32, dst: &mut [u64], to: u32, n: u32) {
    let mut done = 0;
    while done < n {
        let step = (n - done).min(64);
        put_bits(dst, to + done, step, get_bits(src, from + done, step));
        done += step;
    }
}

/// The `u64` at byte `at` of `bytes`, little-endian (zero past the end).
#[inline(always)]
pub(crate) fn load(bytes: &[u8], at: usize) -> u64 {
    match bytes.get(at..).and_then(|b| b.first_chunk::<8>()) {
        Some(chunk) => u64::from_le_bytes(*chunk),
        None => 0,
    }
}

impl Cut {
    /// The cut of `bits`-bit codes around the substring `[start, start + len)`.
    pub(crate) fn new(bits: u32, start: u32, len: u32) -> Cut {
        let stride = (bits - len).div_ceil(8) as usize;
        let mut spread = [0x80u8; 32]; // 0x80: a zero byte
        for b in 0..stride.min(8) {
            for half in [0, 16] {
                spread[half + b] = b as u8;
                spread[half + 8 + b] = (stride + b) as u8;
            }
        }
        Cut { bits, start, len, stride, spread }
    }

    /// Bits of the substring.
    pub(crate) fn len(&self) -> u32 {
        self.len
    }

    /// Words of a whole code.
    pub(crate) fn code_words(&self) -> usize {
        self.bits.div_ceil(64) as usize
    }

    /// Bytes per entry.
    pub(crate) fn stride(&self) -> usize {
        self.stride
    }

    /// The byte shuffle of two consecutive entries of at most 8 bytes into 64-bit lanes.
    pub(crate) fn spread(&self) -> &[u8; 32] {
        &self.spread
    }

    /// Words of a remainder.
    pub(crate) fn words(&self) -> usize {
        self.stride.div_ceil(8)
    }

    /// The bucket key of `code`.
    #[inline]
    pub(crate) fn key(&self, code: &[u64]) -> u32 {
        get_bits(code, self.start, self.len) as u32
    }

    /// The remainder of `code` into `out` (`words()` long).
    pub(crate) fn remainder(&self, code: &[u64], out: &mut [u64]) {
        out.fill(0);
        copy_bits(code, 0, out, 0, self.start);
        copy_bits(code, self.start + self.len, out, self.start, self.bits - self.start - self.len);
    }

    /// Appends the entry bytes of a remainder.
    pub(crate) fn push_entry(&self, rem: &[u64], out: &mut Vec<u8>) {
        out.extend(rem.iter().flat_map(|w| w.to_le_bytes()).take(self.stride));
    }

    /// The mask of chunk `c` of an entry (the bytes of the entry it covers).
    #[inline(always)]
    fn chunk_mask(&self, c: usize) -> u64 {
        match self.stride - 8 * c {
            r if r >= 8 => u64::MAX,
            r => (1u64 << (8 * r)) - 1,
        }
    }

    /// Chunk `c` of the entry at position `pos` of `entries`.
    #[inline(always)]
    fn chunk(&self, entries: &[u8], pos: usize, c: usize) -> u64 {
        load(entries, pos * self.stride + 8 * c) & self.chunk_mask(c)
    }

    /// The code of the entry at `pos` of the bucket `key`, into `out` (the code's words long).
    pub(crate) fn decode(&self, key: u32, entries: &[u8], pos: usize, out: &mut [u64]) {
        let mut rem = [0u64; (MAX_BITS / 64) as usize];
        for (c, w) in rem.iter_mut().enumerate().take(self.words()) {
            *w = self.chunk(entries, pos, c);
        }
        out.fill(0);
        copy_bits(&rem, 0, out, 0, self.start);
        put_bits(out, self.start, self.len, u64::from(key));
        copy_bits(&rem, self.start, out, self.start + self.len, self.bits - self.start - self.len);
    }

    /// The entry at `pos` against a remainder, both read as numbers.
    pub(crate) fn compare(&self, entries: &[u8], pos: usize, rem: &[u64]) -> Ordering {
        (0..self.words())
            .rev()
            .map(|c| self.chunk(entries, pos, c).cmp(&rem[c]))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }

    /// Popcount of the entry at `pos` against the query's remainder `q`.
    #[inline(always)]
    pub(crate) fn distance(&self, entries: &[u8], pos: usize, q: &[u64]) -> u32 {
        (0..self.words()).map(|c| (self.chunk(entries, pos, c) ^ q[c]).count_ones()).sum()
    }

    /// Emits `(base + distance, pos)` for every entry of `lo..hi` whose distance plus `base` is below
    /// `limit`.
    #[inline(always)]
    pub(crate) fn scan(
        &self,
        entries: &[u8],
        Range { start: lo, end: hi }: Range<usize>,
        q: &[u64],
        base: u32,
        limit: u32,
        out: &mut Vec<(u32, u32)>,
    ) {
        if self.stride <= 8 {
            let (q0, mask) = (q.first().copied().unwrap_or(0), self.chunk_mask(0));
            for pos in lo..hi {
                let d = base + ((load(entries, pos * self.stride) ^ q0) & mask).count_ones();
                if d < limit {
                    out.push((d, pos as u32));
                }
            }
        } else {
            for pos in lo..hi {
                let d = base + self.distance(entries, pos, q);
                if d < limit {
                    out.push((d, pos as u32));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        *seed ^ (*seed >> 29)
    }

    #[test]
    fn keys_span_words() {
        let code = [0xf000_0000_0000_0001u64, 0x5];
        assert_eq!(Cut::new(128, 0, 4).key(&code), 1);
        assert_eq!(Cut::new(128, 60, 8).key(&code), 0x5f);
        assert_eq!(Cut::new(128, 64, 3).key(&code), 5);
    }

    #[test]
    fn remainders_round_trip_and_measure_the_rest_of_the_distance() {
        let mut seed = 5;
        for (bits, start, len) in
            [(64, 0, 16), (64, 48, 16), (64, 13, 13), (128, 60, 16), (200, 100, 25), (8, 0, 8)]
        {
            let cut = Cut::new(bits, start, len);
            let words = bits.div_ceil(64) as usize;
            let tail = match bits % 64 {
                0 => u64::MAX,
                r => (1 << r) - 1,
            };
            let random = |seed: &mut u64| -> Vec<u64> {
                let mut c: Vec<u64> = (0..words).map(|_| lcg(seed)).collect();
                c[words - 1] &= tail;
                c
            };
            let codes: Vec<Vec<u64>> = (0..5).map(|_| random(&mut seed)).collect();
            let query = random(&mut seed);
            let mut entries = Vec::new();
            let mut rem = vec![0; cut.words()];
            for c in &codes {
                cut.remainder(c, &mut rem);
                cut.push_entry(&rem, &mut entries);
            }
            entries.extend([0; PADDING]);
            assert_eq!(entries.len(), 5 * cut.stride() + PADDING);
            let mut q = vec![0; cut.words()];
            cut.remainder(&query, &mut q);
            let mut out = vec![0; words];
            let mut emitted = Vec::new();
            cut.scan(&entries, 0..5, &q, 1, u32::MAX, &mut emitted);
            for (pos, c) in codes.iter().enumerate() {
                cut.decode(cut.key(c), &entries, pos, &mut out);
                assert_eq!(&out, c, "bits {bits} start {start}");
                let full: u32 = c.iter().zip(&query).map(|(a, b)| (a ^ b).count_ones()).sum();
                let sub = (cut.key(c) ^ cut.key(&query)).count_ones();
                assert_eq!(cut.distance(&entries, pos, &q) + sub, full);
                assert_eq!(emitted[pos], (1 + full - sub, pos as u32));
                cut.remainder(c, &mut rem);
                assert_eq!(cut.compare(&entries, pos, &rem), Ordering::Equal);
            }
        }
    }
}
