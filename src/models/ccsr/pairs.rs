//! What one epoch of `ccsr` trains on: the encoders' sparse inputs (interaction rows of users,
//! interaction columns of items) and the epoch's triplets `(user, positive, negative)`, drawn once and
//! used by both passes (B.3's repair 4: one pair distribution), grouped by user for the user pass and
//! by item for the item pass.

use rayon::prelude::*;
use recodb_storage::Snapshot;

use crate::models::dsiml::triplets::group_by_key;
use crate::models::hogwild::{generator, negative};
use crate::models::nn::SparseRows;

/// Stream number of the triplet generators (beside the seed, the epoch and the user).
const STREAM: u64 = 0xcc5_0000;

/// The interaction rows of one side in compressed form, each row scaled to unit L2 norm (a row of `n`
/// interactions has the value `1/√n` at each), so that a popular item's column does not swamp the first
/// layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    indptr: Vec<usize>,
    indices: Vec<u32>,
}

impl Rows {
    /// The user rows of `data`.
    pub fn users(data: &Snapshot) -> Rows {
        Rows { indptr: data.indptr.clone(), indices: data.indices.clone() }
    }

    /// The item columns of `data` (each the sorted users who have the item).
    pub fn items(data: &Snapshot) -> Rows {
        let n = data.n_items as usize;
        let mut indptr = vec![0usize; n + 1];
        for &i in &data.indices {
            indptr[i as usize + 1] += 1;
        }
        for i in 0..n {
            indptr[i + 1] += indptr[i];
        }
        let mut next = indptr.clone();
        let mut indices = vec![0u32; data.indices.len()];
        for u in 0..data.n_users {
            for &i in data.row(u) {
                indices[next[i as usize]] = u;
                next[i as usize] += 1;
            }
        }
        Rows { indptr, indices }
    }

    /// Number of rows.
    pub fn count(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }

    /// Row `r`'s column ids.
    pub fn row(&self, r: u32) -> &[u32] {
        let r = r as usize;
        &self.indices[self.indptr[r]..self.indptr[r + 1]]
    }
}

/// A batch of rows gathered into owned compressed storage, ready to enter a network.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f32>,
}

impl Batch {
    /// Gathers the rows `ids` from `rows`, each valued `1/√(its length)`.
    pub fn gather(rows: &Rows, ids: &[u32]) -> Batch {
        let mut batch = Batch::default();
        batch.indptr.push(0);
        for &id in ids {
            batch.push(rows.row(id));
        }
        batch
    }

    /// One row of the columns `cols`, valued `1/√(cols.len())`.
    pub fn single(cols: &[u32]) -> Batch {
        let mut batch = Batch { indptr: vec![0], ..Batch::default() };
        batch.push(cols);
        batch
    }

    fn push(&mut self, cols: &[u32]) {
        let value = if cols.is_empty() { 0.0 } else { 1.0 / (cols.len() as f32).sqrt() };
        self.indices.extend_from_slice(cols);
        self.values.extend(std::iter::repeat_n(value, cols.len()));
        self.indptr.push(self.indices.len());
    }

    /// The batch as sparse rows.
    pub fn rows(&self) -> SparseRows<'_> {
        SparseRows { indptr: &self.indptr, indices: &self.indices, values: Some(&self.values) }
    }
}

/// The triplets of one epoch, `negatives` per training pair, in user order.
#[derive(Debug, Clone)]
pub struct Triplets {
    /// The user of each triplet.
    pub user: Vec<u32>,
    /// Its positive item.
    pub positive: Vec<u32>,
    /// Its negative item, drawn uniformly among the items the user does not have.
    pub negative: Vec<u32>,
    /// Triplets of user `u` are `by_user[u]..by_user[u + 1]`.
    pub by_user: Vec<usize>,
    /// The triplets in which each item is the positive, as `(user, negative)`.
    pub as_positive: ByItem,
    /// The triplets in which each item is the negative, as `(user, positive)`.
    pub as_negative: ByItem,
}

/// Triplets grouped by one of their items: for each item, the `(user, partner item)` of the triplets
/// in which it takes that role, in triplet order, stored contiguously so that the item pass reads
/// them in sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct ByItem {
    indptr: Vec<usize>,
    pairs: Vec<(u32, u32)>,
}

impl ByItem {
    /// Groups the triplets `(user[t], key[t], partner[t])` by `key` (each below `n`).
    fn group(keys: &[u32], user: &[u32], partner: &[u32], n: usize) -> ByItem {
        let (indptr, pairs) = group_by_key(keys, user.iter().copied().zip(partner.iter().copied()), n);
        ByItem { indptr, pairs }
    }

    /// The `(user, partner)` of item `i`'s triplets.
    pub fn row(&self, i: u32) -> &[(u32, u32)] {
        let i = i as usize;
        &self.pairs[self.indptr[i]..self.indptr[i + 1]]
    }
}

impl Triplets {
    /// Draws the triplets of epoch `epoch` under `seed`: for every pair of `data`, `negatives` uniform
    /// negatives (a draw that finds only the user's own items is skipped). Users are drawn in parallel,
    /// each from its own generator, so the triplets depend on the seed only.
    pub fn draw(data: &Snapshot, negatives: usize, seed: u64, epoch: u64) -> Triplets {
        let n_items = data.n_items as usize;
        let per_user: Vec<Vec<(u32, u32)>> = (0..data.n_users)
            .into_par_iter()
            .map(|u| {
                let seen = data.row(u);
                let mut rng = generator(seed ^ STREAM, epoch, u64::from(u));
                let mut out = Vec::with_capacity(seen.len() * negatives);
                for &i in seen {
                    for _ in 0..negatives {
                        if let Some(j) = negative(&mut rng, n_items, seen) {
                            out.push((i, j));
                        }
                    }
                }
                out
            })
            .collect();
        let total: usize = per_user.iter().map(Vec::len).sum();
        let (mut user, mut positive, mut negative) =
            (Vec::with_capacity(total), Vec::with_capacity(total), Vec::with_capacity(total));
        let mut by_user = Vec::with_capacity(per_user.len() + 1);
        by_user.push(0);
        for (u, list) in per_user.into_iter().enumerate() {
            for (i, j) in list {
                user.push(u as u32);
                positive.push(i);
                negative.push(j);
            }
            by_user.push(user.len());
        }
        let as_positive = ByItem::group(&positive, &user, &negative, n_items);
        let as_negative = ByItem::group(&negative, &user, &positive, n_items);
        Triplets { user, positive, negative, by_user, as_positive, as_negative }
    }

    /// Number of triplets.
    pub fn count(&self) -> usize {
        self.user.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::testing::snapshot;

    #[test]
    fn columns_transpose_rows_and_batches_are_unit_rows() {
        let data = snapshot(&[&[0, 2], &[2], &[0, 1, 2, 3]], 5);
        let items = Rows::items(&data);
        assert_eq!(
            (items.count(), items.row(0), items.row(2), items.row(4)),
            (5, &[0, 2][..], &[0, 1, 2][..], &[][..])
        );
        let batch = Batch::gather(&Rows::users(&data), &[2, 1]);
        let rows = batch.rows();
        assert_eq!(rows.row(0).map(|(c, _)| c).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
        assert!(rows.row(0).all(|(_, v)| (v - 0.5).abs() < 1e-6));
        assert_eq!(rows.row(1).collect::<Vec<_>>(), vec![(2, 1.0)]);
        assert_eq!(Batch::single(&[]).rows().rows(), 1);
    }

    #[test]
    fn triplets_pair_each_positive_with_unseen_negatives_and_are_seeded() {
        let data = snapshot(&[&[0, 2], &[2], &[1, 3, 4]], 6);
        let t = Triplets::draw(&data, 4, 7, 0);
        assert_eq!((t.count(), t.by_user.clone()), (24, vec![0, 8, 12, 24]));
        for k in 0..t.count() {
            let seen = data.row(t.user[k]);
            assert!(seen.contains(&t.positive[k]) && !seen.contains(&t.negative[k]), "triplet {k}");
        }
        assert_eq!(t.as_positive.row(2).len(), 8, "item 2 is the positive of two users' pairs");
        let as_negative: usize = (0..6).map(|i| t.as_negative.row(i).len()).sum();
        assert_eq!(as_negative, 24);
        for i in 0..6u32 {
            for (&(u, j), k) in t.as_negative.row(i).iter().zip(0..) {
                assert!(data.row(u).contains(&j) && !data.row(u).contains(&i), "item {i}, triplet {k}");
            }
            let positives: Vec<(u32, u32)> =
                (0..t.count()).filter(|&k| t.positive[k] == i).map(|k| (t.user[k], t.negative[k])).collect();
            assert_eq!(t.as_positive.row(i), &positives[..], "item {i} as the positive, in triplet order");
        }
        assert_eq!(Triplets::draw(&data, 4, 7, 0).negative, t.negative);
        assert_ne!(Triplets::draw(&data, 4, 7, 1).negative, t.negative, "another epoch");
    }
}
