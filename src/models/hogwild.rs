//! The parallel SGD machinery that `bpr` and `cml` share: users cut into blocks of about equal
//! interaction counts, each block's user rows its own, item rows shared by all threads and updated
//! without locks, Hogwild-style (Niu et al., NIPS 2011), through relaxed atomic loads and stores of their
//! bits (no unsafe code; a rare lost update, which SGD tolerates); the random draws; and generators seeded
//! by the seed, the epoch and the block, so that one thread replays the same sequence for a seed.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use recodb_storage::Snapshot;

/// Most users' interactions per block of the parallel epoch: blocks depend on the data, not on the
/// number of threads, so that one thread replays the same sequence for a seed.
const BLOCK_INTERACTIONS: usize = 4_096;

/// Draws of a negative item before giving up (when the user has nearly every item).
const NEGATIVE_TRIES: usize = 16;

/// A uniform draw from `0..n` (`n > 0`) by multiply-shift: bias below 2⁻³² for any `n` we meet.
pub fn below(rng: &mut Xoshiro256PlusPlus, n: usize) -> usize {
    ((u128::from(rng.random::<u64>()) * n as u128) >> 64) as usize
}

/// An item drawn uniformly from `0..n_items` (`n_items > 0`) and not in `seen` (sorted), or `None`
/// after a few draws that all were.
pub fn negative(rng: &mut Xoshiro256PlusPlus, n_items: usize, seen: &[u32]) -> Option<u32> {
    (0..NEGATIVE_TRIES).map(|_| below(rng, n_items) as u32).find(|j| seen.binary_search(j).is_err())
}

/// An item drawn uniformly from `pool` (ids ascending) and not in `seen` (sorted), or `None` after a
/// few draws that all were, or for an empty pool. For the pool `0..n` it draws exactly what
/// [`negative`] draws from the same generator.
pub fn negative_in(rng: &mut Xoshiro256PlusPlus, pool: &[u32], seen: &[u32]) -> Option<u32> {
    if pool.is_empty() {
        return None;
    }
    (0..NEGATIVE_TRIES).map(|_| pool[below(rng, pool.len())]).find(|j| seen.binary_search(j).is_err())
}

/// A generator for block `block` of epoch `epoch` (or any other pair of numbers) under `seed`.
pub fn generator(seed: u64, epoch: u64, block: u64) -> Xoshiro256PlusPlus {
    let mix = seed ^ epoch.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ block.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    Xoshiro256PlusPlus::seed_from_u64(mix)
}

/// Rows of `dim` floats shared by the threads of an epoch, stored as atomic bits.
pub struct SharedRows {
    dim: usize,
    values: Vec<AtomicU32>,
}

impl SharedRows {
    /// Shared rows holding `values` (`dim` per row).
    pub fn new(dim: usize, values: Vec<f32>) -> SharedRows {
        SharedRows { dim, values: values.into_iter().map(|x| AtomicU32::new(x.to_bits())).collect() }
    }

    /// Length of every row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Reads row `i` into `to` (`dim` long).
    pub fn read(&self, i: u32, to: &mut [f32]) {
        for (t, f) in to.iter_mut().zip(self.row(i)) {
            *t = f32::from_bits(f.load(Relaxed));
        }
    }

    /// Writes `from` (`dim` long) into row `i`.
    pub fn write(&self, i: u32, from: &[f32]) {
        for (t, f) in self.row(i).iter().zip(from) {
            t.store(f.to_bits(), Relaxed);
        }
    }

    /// The values, row-major.
    pub fn into_values(self) -> Vec<f32> {
        self.values.into_iter().map(|x| f32::from_bits(x.into_inner())).collect()
    }

    fn row(&self, i: u32) -> &[AtomicU32] {
        &self.values[i as usize * self.dim..(i as usize + 1) * self.dim]
    }
}

/// A block of consecutive users: their interactions are `nnz[0]..nnz[1]` of the snapshot, and `users`
/// their rows.
pub struct Block<'a> {
    /// The first user of the block.
    pub first_user: u32,
    /// The block's interactions, as a range of the snapshot's `indices`.
    pub nnz: [usize; 2],
    /// The block's user rows, `dim` values each.
    pub users: &'a mut [f32],
}

impl Block<'_> {
    /// The row of `user` (one of the block's).
    pub fn user(&mut self, user: u32, dim: usize) -> &mut [f32] {
        let local = (user - self.first_user) as usize * dim;
        &mut self.users[local..local + dim]
    }
}

/// Cuts `users` (the rows of all of `data`'s users, `dim` each) into blocks of about
/// [`BLOCK_INTERACTIONS`] interactions each.
pub fn blocks<'a>(data: &Snapshot, dim: usize, mut users: &'a mut [f32]) -> Vec<Block<'a>> {
    let mut out = Vec::new();
    let mut first = 0u32;
    while first < data.n_users {
        let start = data.indptr[first as usize];
        let mut end = first + 1;
        while end < data.n_users && data.indptr[end as usize] - start < BLOCK_INTERACTIONS {
            end += 1;
        }
        let (mine, rest) = users.split_at_mut((end - first) as usize * dim);
        out.push(Block { first_user: first, nnz: [start, data.indptr[end as usize]], users: mine });
        users = rest;
        first = end;
    }
    out
}

/// The user of every interaction of `data`, in the order of its `indices`.
pub fn owners(data: &Snapshot) -> Vec<u32> {
    (0..data.n_users).flat_map(|u| std::iter::repeat_n(u, data.row(u).len())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_stay_in_range_and_negatives_avoid_seen_items() {
        let mut rng = generator(1, 2, 3);
        assert!((0..1000).all(|_| below(&mut rng, 7) < 7));
        let seen = [0, 1, 2, 4];
        let draws: Vec<Option<u32>> = (0..1000).map(|_| negative(&mut rng, 5, &seen)).collect();
        assert!(draws.iter().all(|d| d.is_none_or(|j| j == 3)), "only the unseen item");
        assert!(draws.iter().filter(|d| d.is_some()).count() > 900, "found within 16 tries: 1 - 0.8¹⁶");
        assert_eq!(negative(&mut rng, 3, &[0, 1, 2]), None, "every item seen");
    }

    #[test]
    fn negatives_from_a_pool_stay_in_it_and_match_the_whole_range() {
        let seen = [1, 4];
        let (mut a, mut b) = (generator(5, 0, 1), generator(5, 0, 1));
        let all: Vec<u32> = (0..9).collect();
        for _ in 0..1000 {
            assert_eq!(negative_in(&mut a, &all, &seen), negative(&mut b, 9, &seen), "draw for draw");
        }
        let pool = [0, 2, 4, 7];
        let draws: Vec<Option<u32>> = (0..1000).map(|_| negative_in(&mut a, &pool, &seen)).collect();
        for j in [0, 2, 7] {
            assert!(draws.contains(&Some(j)), "{j} is drawn");
        }
        assert!(draws.iter().all(|d| matches!(d, Some(0 | 2 | 7) | None)), "only the pool's unseen items");
        assert_eq!(negative_in(&mut a, &[1, 4], &seen), None, "every item of the pool seen");
        assert_eq!(negative_in(&mut a, &[], &[]), None, "an empty pool");
    }

    #[test]
    fn shared_rows_read_back_what_was_written() {
        let rows = SharedRows::new(2, vec![1.0, 2.0, 3.0, 4.0]);
        let mut row = [0.0; 2];
        rows.read(1, &mut row);
        assert_eq!(row, [3.0, 4.0]);
        rows.write(0, &[-1.0, 0.5]);
        assert_eq!(rows.into_values(), [-1.0, 0.5, 3.0, 4.0]);
    }

    #[test]
    fn blocks_cover_every_user_once() {
        let n_users = 10u32;
        let mut indptr = vec![0];
        for u in 0..n_users as usize {
            indptr.push(indptr[u] + 1000);
        }
        let data = Snapshot {
            n_users,
            n_items: 1,
            indices: vec![0; 10_000],
            indptr,
            weights: None,
            data_version: 1,
            user_tags: Default::default(),
            item_tags: Default::default(),
        };
        let mut users = vec![0f32; 20];
        let blocks = blocks(&data, 2, &mut users);
        assert_eq!(blocks.iter().map(|b| b.users.len()).sum::<usize>(), 20);
        assert_eq!(blocks.first().map(|b| b.nnz), Some([0, 5000]), "stops past 4,096 interactions");
        assert_eq!(owners(&data)[4999], 4);
    }
}
