//! Seeded triplet sampling: for each user and each of its positives `j`, `negatives` items `k` drawn
//! uniformly among the items the user does not have (dsiml.md §6.1; every (user, positive) pair is used).
//! Each user draws from its own generator, seeded by the seed, a stream number and the user id, so the
//! triplets do not depend on the thread count. The monitoring set of the stopping rule is one such
//! sample with its own stream, drawn once.

use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

/// Draws of a negative that may hit the user's own items before falling back to an exact draw.
const REJECTION_TRIES: usize = 16;

/// A generator for `stream` and `index` under `seed`.
pub fn generator(seed: u64, stream: u64, index: u64) -> Xoshiro256PlusPlus {
    let mix = seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ index.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    Xoshiro256PlusPlus::seed_from_u64(mix)
}

/// A uniform draw from `0..n` (`n > 0`).
pub fn below(rng: &mut Xoshiro256PlusPlus, n: usize) -> usize {
    ((u128::from(rng.random::<u64>()) * n as u128) >> 64) as usize
}

/// An item drawn uniformly from `0..n_items` and not in `seen` (sorted, all below `n_items`), or `None`
/// when the user has every item.
pub fn negative(rng: &mut Xoshiro256PlusPlus, n_items: usize, seen: &[u32]) -> Option<u32> {
    if seen.len() >= n_items {
        return None;
    }
    for _ in 0..REJECTION_TRIES {
        let k = below(rng, n_items) as u32;
        if seen.binary_search(&k).is_err() {
            return Some(k);
        }
    }
    // The `c`-th item the user does not have.
    let mut k = below(rng, n_items - seen.len()) as u32;
    for &s in seen {
        if s <= k {
            k += 1;
        } else {
            break;
        }
    }
    Some(k)
}

/// One user's triplets `(j, k)` for its positives `seen`, `negatives` per positive.
pub fn sample_user(
    rng: &mut Xoshiro256PlusPlus,
    n_items: usize,
    seen: &[u32],
    negatives: usize,
) -> Vec<(u32, u32)> {
    let mut out = Vec::with_capacity(seen.len() * negatives);
    for &j in seen {
        for _ in 0..negatives {
            if let Some(k) = negative(rng, n_items, seen) {
                out.push((j, k));
            }
        }
    }
    out
}

/// Triplets grouped by user (CSR): user `u`'s are `pos[user_ptr[u]..user_ptr[u + 1]]` and the same
/// range of `neg`.
#[derive(Debug, Clone, PartialEq)]
pub struct Triplets {
    /// Offsets per user, `n_users + 1` of them.
    pub user_ptr: Vec<usize>,
    /// Positive item of each triplet.
    pub pos: Vec<u32>,
    /// Negative item of each triplet.
    pub neg: Vec<u32>,
}

impl Triplets {
    /// Samples `negatives` per positive for each of `n_users` users, whose positives `rows(u)` gives
    /// (sorted, below `n_items`), from stream `stream` of `seed`.
    pub fn sample<'a>(
        n_users: usize,
        n_items: usize,
        rows: &(dyn Fn(u32) -> &'a [u32] + Sync),
        negatives: usize,
        seed: u64,
        stream: u64,
    ) -> Self {
        let per_user: Vec<Vec<(u32, u32)>> = (0..n_users as u32)
            .into_par_iter()
            .map(|u| sample_user(&mut generator(seed, stream, u64::from(u)), n_items, rows(u), negatives))
            .collect();
        let mut user_ptr = Vec::with_capacity(n_users + 1);
        user_ptr.push(0);
        let total: usize = per_user.iter().map(Vec::len).sum();
        let (mut pos, mut neg) = (Vec::with_capacity(total), Vec::with_capacity(total));
        for t in per_user {
            for (j, k) in t {
                pos.push(j);
                neg.push(k);
            }
            user_ptr.push(pos.len());
        }
        Triplets { user_ptr, pos, neg }
    }

    /// Number of triplets.
    pub fn count(&self) -> usize {
        self.pos.len()
    }

    /// The range of user `u`'s triplets.
    pub fn of_user(&self, u: usize) -> std::ops::Range<usize> {
        self.user_ptr[u]..self.user_ptr[u + 1]
    }

    /// The user of every triplet.
    pub fn users(&self) -> Vec<u32> {
        let mut users = Vec::with_capacity(self.count());
        for u in 0..self.user_ptr.len() - 1 {
            users.extend(std::iter::repeat_n(u as u32, self.of_user(u).len()));
        }
        users
    }
}

/// For each item, the triplets in which it is the positive and those in which it is the negative.
#[derive(Debug, Clone)]
pub struct ItemIndex {
    pos_ptr: Vec<usize>,
    pos_ids: Vec<u32>,
    neg_ptr: Vec<usize>,
    neg_ids: Vec<u32>,
}

/// `values` (one per key) grouped by `keys[t]` (each below `n`), in their order within a key: a CSR
/// of `n + 1` offsets and the values. The triplets' index over items (here, of triplet ids) and
/// `ccsr`'s triplets stored by item share it.
pub(crate) fn group_by_key<T: Copy + Default>(
    keys: &[u32],
    values: impl IntoIterator<Item = T>,
    n: usize,
) -> (Vec<usize>, Vec<T>) {
    let mut ptr = vec![0usize; n + 1];
    for &k in keys {
        ptr[k as usize + 1] += 1;
    }
    for i in 0..n {
        ptr[i + 1] += ptr[i];
    }
    let mut next = ptr.clone();
    let mut grouped = vec![T::default(); keys.len()];
    for (&k, v) in keys.iter().zip(values) {
        grouped[next[k as usize]] = v;
        next[k as usize] += 1;
    }
    (ptr, grouped)
}

impl ItemIndex {
    /// The index of `triplets` over `n_items` items.
    pub fn new(triplets: &Triplets, n_items: usize) -> Self {
        let (pos_ptr, pos_ids) = group_by_key(&triplets.pos, 0..triplets.pos.len() as u32, n_items);
        let (neg_ptr, neg_ids) = group_by_key(&triplets.neg, 0..triplets.neg.len() as u32, n_items);
        ItemIndex { pos_ptr, pos_ids, neg_ptr, neg_ids }
    }

    /// The triplets where item `i` is the positive.
    pub fn as_positive(&self, i: usize) -> &[u32] {
        &self.pos_ids[self.pos_ptr[i]..self.pos_ptr[i + 1]]
    }

    /// The triplets where item `i` is the negative.
    pub fn as_negative(&self, i: usize) -> &[u32] {
        &self.neg_ids[self.neg_ptr[i]..self.neg_ptr[i + 1]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_by_key_keeps_each_keys_values_in_order() {
        let (ptr, grouped) = group_by_key(&[2, 0, 2, 3, 0], ['a', 'b', 'c', 'd', 'e'], 5);
        assert_eq!(ptr, [0, 2, 2, 4, 5, 5], "key 1 and key 4 have none");
        assert_eq!(grouped, ['b', 'e', 'a', 'c', 'd']);
        assert_eq!(group_by_key::<u32>(&[], [], 2), (vec![0, 0, 0], vec![]));
    }

    #[test]
    fn negatives_avoid_the_users_items_and_sampling_is_seeded() {
        let rows: Vec<Vec<u32>> =
            vec![vec![0, 1, 2, 3, 4, 5, 6, 7], vec![2], vec![], vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9]];
        let get = |u: u32| &rows[u as usize][..];
        let t = Triplets::sample(4, 10, &get, 5, 7, 1);
        assert_eq!(t.user_ptr, [0, 40, 45, 45, 45], "5 per positive; none for a user with every item");
        for (u, row) in rows.iter().enumerate() {
            for at in t.of_user(u) {
                assert!(row.binary_search(&t.pos[at]).is_ok());
                assert!(row.binary_search(&t.neg[at]).is_err() && t.neg[at] < 10);
            }
        }
        assert_eq!(Triplets::sample(4, 10, &get, 5, 7, 1), t);
        assert_ne!(Triplets::sample(4, 10, &get, 5, 8, 1), t);
        let index = ItemIndex::new(&t, 10);
        assert_eq!(index.as_positive(2).len(), 10);
        assert!(index.as_negative(8).iter().all(|&id| t.neg[id as usize] == 8));
        let users = t.users();
        assert_eq!((users.len(), users[39], users[40]), (45, 0, 1));
    }
}
