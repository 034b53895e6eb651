//! The radix sort that puts a table's codes in bucket order at build time.
//!
//! Contract: [`radix_sort_by`] sorts by a key of at most 32 bits and is stable, so items already in id
//! order stay in id order within a bucket. It is linear in the items (16-bit passes), which matters at
//! millions of codes per table.

/// Sorts `items` by their `key_bits`-bit keys, stably, in 16-bit radix passes.
pub(super) fn radix_sort_by<T: Copy + Default>(items: &mut Vec<T>, key_bits: u32, key: impl Fn(T) -> u32) {
    let mut tmp = vec![T::default(); items.len()];
    let mut shift = 0;
    while shift < key_bits {
        let bits = (key_bits - shift).min(16);
        let mask = (1u32 << bits) - 1;
        let mut counts = vec![0usize; (1 << bits) + 1];
        for &p in items.iter() {
            counts[((key(p) >> shift) & mask) as usize + 1] += 1;
        }
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        for &p in items.iter() {
            let d = ((key(p) >> shift) & mask) as usize;
            tmp[counts[d]] = p;
            counts[d] += 1;
        }
        std::mem::swap(items, &mut tmp);
        shift += bits;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radix_sort_is_stable_by_key() {
        let mut pairs: Vec<u64> =
            [(70_000u64, 1u64), (3, 2), (70_000, 0), (3, 1)].iter().map(|&(k, i)| k << 32 | i).collect();
        radix_sort_by(&mut pairs, 17, |p| (p >> 32) as u32);
        let got: Vec<(u64, u64)> = pairs.iter().map(|p| (p >> 32, p & 0xffff_ffff)).collect();
        assert_eq!(got, vec![(3, 2), (3, 1), (70_000, 1), (70_000, 0)]);
    }
}
