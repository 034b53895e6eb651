//! Binary codes packed into `u64` words: code `c` of a book of `r` bits takes `r / 64` words (rounded
//! up), bit `t` of the code is bit `t % 64` of word `t / 64` (little-endian order), and a set bit is
//! `+1`, a clear one `-1`. Hamming distances are `count_ones` of the XOR; the `±1` inner product of two
//! codes is `r - 2·H`.

use crate::models::HeapBytes;

/// Number of `u64` words that hold a code of `bits` bits.
pub fn words_for(bits: usize) -> usize {
    bits.div_ceil(64)
}

/// Packs the signs of `values` (`> 0` is `+1`, anything else `-1`) into `out` (`words_for(values.len())`
/// words).
pub fn pack(values: &[f32], out: &mut [u64]) {
    out.iter_mut().for_each(|w| *w = 0);
    for (t, &v) in values.iter().enumerate() {
        if v > 0.0 {
            out[t / 64] |= 1u64 << (t % 64);
        }
    }
}

/// Writes the `±1` values of the packed `code` into `out` (one per bit).
pub fn unpack(code: &[u64], out: &mut [f32]) {
    for (t, o) in out.iter_mut().enumerate() {
        *o = if code[t / 64] >> (t % 64) & 1 == 1 { 1.0 } else { -1.0 };
    }
}

/// The Hamming distance of two packed codes of equal length.
#[inline]
pub fn hamming(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// A book of codes of one length, with each code also kept as `±1` values (for building the BQPs).
#[derive(Debug, Clone, PartialEq)]
pub struct CodeBook {
    bits: usize,
    words: usize,
    packed: Vec<u64>,
    signs: Vec<f32>,
}

impl HeapBytes for CodeBook {
    fn heap_bytes(&self) -> usize {
        self.packed.heap_bytes() + self.signs.heap_bytes()
    }
}

impl CodeBook {
    /// The codes of the signs of `values`, `bits` per row (`values.len()` a multiple of `bits > 0`).
    pub fn from_values(values: &[f32], bits: usize) -> Self {
        let words = words_for(bits);
        let rows = values.len() / bits;
        let signs: Vec<f32> = values.iter().map(|&v| if v > 0.0 { 1.0 } else { -1.0 }).collect();
        let mut packed = vec![0u64; rows * words];
        for (row, out) in signs.chunks_exact(bits).zip(packed.chunks_exact_mut(words)) {
            pack(row, out);
        }
        CodeBook { bits, words, packed, signs }
    }

    /// The book of `packed` codes (`words_for(bits)` words each, padding bits clear).
    pub fn from_packed(packed: &[u64], bits: usize) -> Self {
        let words = words_for(bits);
        let mut signs = vec![0f32; packed.len() / words.max(1) * bits];
        for (code, out) in packed.chunks_exact(words).zip(signs.chunks_exact_mut(bits)) {
            unpack(code, out);
        }
        CodeBook { bits, words, packed: packed.to_vec(), signs }
    }

    /// Number of codes.
    pub fn rows(&self) -> usize {
        self.signs.len() / self.bits
    }

    /// Words per code.
    pub fn words(&self) -> usize {
        self.words
    }

    /// All packed codes, `words()` per code.
    pub fn packed(&self) -> &[u64] {
        &self.packed
    }

    /// The packed code `i`.
    #[inline]
    pub fn code(&self, i: u32) -> &[u64] {
        let at = i as usize * self.words;
        &self.packed[at..at + self.words]
    }

    /// The `±1` values of code `i`.
    #[inline]
    pub fn signs(&self, i: u32) -> &[f32] {
        let at = i as usize * self.bits;
        &self.signs[at..at + self.bits]
    }

    /// The `±1` inner product of codes `i` of `self` and `j` of `other`.
    #[inline]
    pub fn dot(&self, i: u32, other: &CodeBook, j: u32) -> f32 {
        self.bits as f32 - 2.0 * hamming(self.code(i), other.code(j)) as f32
    }

    /// Replaces code `i` by the `±1` values `v`.
    pub fn set(&mut self, i: u32, v: &[f32]) {
        let (b, w) = (i as usize * self.bits, i as usize * self.words);
        self.signs[b..b + self.bits].copy_from_slice(v);
        pack(v, &mut self.packed[w..w + self.words]);
    }

    /// Mutable `(±1 values, packed code)` of every code, for updating them in parallel.
    pub fn rows_mut(&mut self) -> impl rayon::iter::IndexedParallelIterator<Item = (&mut [f32], &mut [u64])> {
        use rayon::prelude::*;
        self.signs.par_chunks_mut(self.bits).zip(self.packed.par_chunks_mut(self.words))
    }

    /// The packed codes, giving up the `±1` copy.
    pub fn into_packed(self) -> Vec<u64> {
        self.packed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_is_little_endian_with_set_bits_for_plus_one() {
        let mut v = vec![-1.0f32; 70];
        v[0] = 1.0;
        v[3] = 0.5;
        v[65] = 2.0;
        let mut out = [0u64; 2];
        pack(&v, &mut out);
        assert_eq!(out, [0b1001, 0b10]);
        let mut back = vec![0.0; 70];
        unpack(&out, &mut back);
        let expected: Vec<f32> = v.iter().map(|&x| if x > 0.0 { 1.0 } else { -1.0 }).collect();
        assert_eq!(back, expected);
        assert_eq!(words_for(64), 1);
        assert_eq!(words_for(72), 2);
    }

    #[test]
    fn inner_product_is_bits_minus_twice_the_hamming_distance() {
        let a: Vec<f32> = (0..72).map(|t| if t % 3 == 0 { 1.0 } else { -1.0 }).collect();
        let b: Vec<f32> = (0..72).map(|t| if t % 5 == 0 { 1.0 } else { -1.0 }).collect();
        let book = CodeBook::from_values(&[a.clone(), b.clone()].concat(), 72);
        let dot: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert_eq!(book.dot(0, &book, 1), dot);
        let differ = a.iter().zip(&b).filter(|(x, y)| x != y).count() as u32;
        assert_eq!(hamming(book.code(0), book.code(1)), differ);
        assert_eq!(book.rows(), 2);
        let mut book2 = book.clone();
        book2.set(1, &a);
        assert_eq!(book2.dot(0, &book2, 1), 72.0);
        assert_eq!(CodeBook::from_packed(book.packed(), 72), book, "packed codes give back the book");
    }
}
