//! Sparse matrices of corml: a compressed-row matrix, and the learned entries kept under a storage
//! budget (spec A.7).

use crate::models::HeapBytes;
use rayon::prelude::*;

/// A compressed sparse row matrix of `f32`: row `r` holds columns `indices[indptr[r]..indptr[r + 1]]`
/// with the values beside them.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Csr {
    /// Row offsets, one more than the rows.
    pub indptr: Vec<usize>,
    /// Column ids, row by row.
    pub indices: Vec<u32>,
    /// Values aligned with `indices`.
    pub values: Vec<f32>,
}

impl HeapBytes for Csr {
    fn heap_bytes(&self) -> usize {
        self.indptr.heap_bytes() + self.indices.heap_bytes() + self.values.heap_bytes()
    }
}

impl Csr {
    /// The matrix with `rows` rows holding `entries` (`(row, column, value)`, any order); columns are
    /// sorted within each row.
    pub fn from_entries(rows: usize, entries: impl Iterator<Item = (u32, u32, f32)> + Clone) -> Csr {
        let mut indptr = vec![0usize; rows + 1];
        for (r, _, _) in entries.clone() {
            indptr[r as usize + 1] += 1;
        }
        for r in 0..rows {
            indptr[r + 1] += indptr[r];
        }
        let mut next = indptr.clone();
        let mut indices = vec![0u32; indptr[rows]];
        let mut values = vec![0f32; indptr[rows]];
        for (r, c, v) in entries {
            let at = &mut next[r as usize];
            indices[*at] = c;
            values[*at] = v;
            *at += 1;
        }
        let mut csr = Csr { indptr, indices, values };
        csr.sort_rows();
        csr
    }

    /// Sorts every row by column.
    fn sort_rows(&mut self) {
        let mut rows: Vec<(&mut [u32], &mut [f32])> = Vec::with_capacity(self.rows());
        let (mut indices, mut values) = (&mut self.indices[..], &mut self.values[..]);
        for w in self.indptr.windows(2) {
            let (i, rest_i) = indices.split_at_mut(w[1] - w[0]);
            let (v, rest_v) = values.split_at_mut(w[1] - w[0]);
            rows.push((i, v));
            (indices, values) = (rest_i, rest_v);
        }
        rows.into_par_iter().for_each(|(indices, values)| {
            if indices.windows(2).any(|w| w[0] > w[1]) {
                let mut pairs: Vec<(u32, f32)> =
                    indices.iter().copied().zip(values.iter().copied()).collect();
                pairs.sort_unstable_by_key(|p| p.0);
                for ((i, v), (pi, pv)) in indices.iter_mut().zip(values.iter_mut()).zip(pairs) {
                    (*i, *v) = (pi, pv);
                }
            }
        });
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }

    /// Row `r`: its columns and values (empty when out of range).
    pub fn row(&self, r: usize) -> (&[u32], &[f32]) {
        match (self.indptr.get(r), self.indptr.get(r + 1)) {
            (Some(&a), Some(&b)) => (&self.indices[a..b], &self.values[a..b]),
            _ => (&[], &[]),
        }
    }
}

/// The first threshold of the budget loop and its growth factor (the authors' code).
const FIRST_THRESHOLD: f32 = 1e-4;
const GROWTH: f32 = 1.25;

/// The upper-triangle entries `(i, j, value)`, `i < j`, of the learned matrix kept so far, pruned to
/// a storage budget as blocks arrive: the authors' loop "while the CSR upper triangle costs the budget
/// or more (`2·nnz + n + 1` numbers), keep only entries above `thr`, then `thr ← 1.25·thr`" from
/// `thr = 1e-4`. Adding entries never lowers the threshold the loop ends at, so pruning after each
/// block keeps exactly what the loop would keep over all blocks at once.
pub(super) struct Kept {
    entries: Vec<(u32, u32, f32)>,
    items: usize,
    budget: Option<usize>,
    next: f32,
    applied: f32,
}

impl Kept {
    /// Nothing kept yet, for `items` items and a budget of `budget` numbers (`None`: keep all).
    pub fn new(items: usize, budget: Option<usize>) -> Kept {
        Kept { entries: Vec::new(), items, budget, next: FIRST_THRESHOLD, applied: 0.0 }
    }

    /// Adds a block's entries, then prunes to the budget.
    pub fn add(&mut self, entries: Vec<(u32, u32, f32)>) {
        let applied = self.applied;
        self.entries.extend(entries.into_iter().filter(|e| e.2 > applied));
        let Some(budget) = self.budget else { return };
        while 2 * self.entries.len() + self.items + 1 >= budget {
            let threshold = self.next;
            self.entries.retain(|e| e.2 > threshold);
            (self.applied, self.next) = (threshold, threshold * GROWTH);
        }
    }

    /// The symmetric matrix `triu + triuᵀ` of what was kept.
    pub fn symmetric(self) -> Csr {
        let both = self.entries.iter().flat_map(|&(i, j, v)| [(i, j, v), (j, i, v)]);
        Csr::from_entries(self.items, both)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_sorted_and_symmetric_holds_both_triangles() {
        let mut kept = Kept::new(3, None);
        kept.add(vec![(1, 2, 0.5), (0, 2, 0.25), (0, 1, 1.0)]);
        let m = kept.symmetric();
        assert_eq!(m.indptr, vec![0, 2, 4, 6]);
        assert_eq!(m.row(0), (&[1u32, 2][..], &[1.0f32, 0.25][..]));
        assert_eq!(m.row(2), (&[0u32, 1][..], &[0.25f32, 0.5][..]));
        assert_eq!(m.row(9), (&[][..], &[][..]));
    }

    #[test]
    fn the_budget_raises_the_threshold_as_the_authors_loop_and_blocks_change_nothing() {
        // 4 items: a budget of 12 numbers allows 2·nnz + 5 < 12, i.e. 3 entries.
        let all = vec![(0, 1, 2e-4), (0, 2, 3e-4), (1, 2, 1e-3), (1, 3, 2e-3), (2, 3, 1.5e-4), (0, 3, 5e-3)];
        let mut once = Kept::new(4, Some(12));
        once.add(all.clone());
        // thr 1e-4 keeps 6, 1.25e-4 keeps 6, 1.5625e-4 drops 1.5e-4 (5), 1.953e-4 keeps 5, 2.44e-4
        // drops 2e-4 (4), 3.05e-4 drops 3e-4 (3 fit).
        let mut kept: Vec<_> = once.entries.clone();
        kept.sort_by_key(|e| (e.0, e.1));
        assert_eq!(kept, vec![(0, 3, 5e-3), (1, 2, 1e-3), (1, 3, 2e-3)]);
        let mut blocks = Kept::new(4, Some(12));
        blocks.add(all[..3].to_vec());
        blocks.add(all[3..].to_vec());
        let mut again = blocks.entries.clone();
        again.sort_by_key(|e| (e.0, e.1));
        assert_eq!(again, kept);
        let mut free = Kept::new(4, None);
        free.add(all.clone());
        assert_eq!(free.entries.len(), 6, "no budget keeps everything");
    }
}
