//! The towers' sparse inputs: a user row is `id ⊕ user tags ⊕ L1-normalised history`, an item row
//! `id ⊕ item tags`, each a list of `(column, value)` entries that enter the first layer as a sparse
//! product (never a dense one-hot matrix). An id input that is absent (an entity training never saw
//! interact, or one dropped out in training) is simply left out, which is the same as zeroing it.

use recodb_storage::TagRows;

use crate::models::nn::SparseRows;

/// The column layout of one tower's input: the id block, then the tag block, then (users only) the
/// history block over items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Width of the id block (users or items known at training).
    pub ids: usize,
    /// Width of the tag block (the side's tag ids at training).
    pub tags: usize,
    /// Width of the history block (items known at training; 0 for the item tower).
    pub history: usize,
}

impl Layout {
    /// The width of the whole input.
    pub fn width(&self) -> usize {
        self.ids + self.tags + self.history
    }
}

/// Sparse input rows being assembled for a batch.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f32>,
}

impl Rows {
    /// No rows yet.
    pub fn new() -> Rows {
        Rows { indptr: vec![0], indices: Vec::new(), values: Vec::new() }
    }

    /// Appends one row: the id (if any, and inside the layout), the tags inside the layout, and the
    /// `history` items (inside the layout) each weighted `1 / count`, leaving out `skip`.
    pub fn push(&mut self, layout: &Layout, id: Option<u32>, tags: &[u32], history: &[u32], skip: &[u32]) {
        if let Some(id) = id.filter(|&i| (i as usize) < layout.ids) {
            self.indices.push(id);
            self.values.push(1.0);
        }
        for &t in tags.iter().filter(|&&t| (t as usize) < layout.tags) {
            self.indices.push((layout.ids + t as usize) as u32);
            self.values.push(1.0);
        }
        if layout.history > 0 {
            let kept = || {
                history.iter().filter(|&&i| (i as usize) < layout.history && skip.binary_search(&i).is_err())
            };
            let n = kept().count();
            if n > 0 {
                let w = 1.0 / n as f32;
                for &i in kept() {
                    self.indices.push((layout.ids + layout.tags + i as usize) as u32);
                    self.values.push(w);
                }
            }
        }
        self.indptr.push(self.indices.len());
    }

    /// The rows as the network core's sparse input.
    pub fn sparse(&self) -> SparseRows<'_> {
        SparseRows { indptr: &self.indptr, indices: &self.indices, values: Some(&self.values) }
    }

    /// The distinct input columns the rows use, ascending (the first layer's weight rows a step
    /// touches).
    pub fn columns(&self) -> Vec<u32> {
        self.sparse().columns()
    }
}

/// The tags of entity `id`, or none when the snapshot has no tag rows for it.
pub fn tags_of(tags: &TagRows, id: u32) -> &[u32] {
    tags.row(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_place_each_block_and_normalise_the_history() {
        let layout = Layout { ids: 3, tags: 2, history: 4 };
        let mut rows = Rows::new();
        rows.push(&layout, Some(1), &[0, 1, 7], &[0, 2, 3, 9], &[]);
        rows.push(&layout, None, &[1], &[0, 2, 3], &[2, 3]);
        rows.push(&layout, Some(5), &[], &[], &[]);
        let s = rows.sparse();
        assert_eq!(s.rows(), 3);
        let first: Vec<(usize, f32)> = s.row(0).collect();
        let third = 1.0 / 3.0;
        assert_eq!(first, vec![(1, 1.0), (3, 1.0), (4, 1.0), (5, third), (7, third), (8, third)]);
        assert_eq!(s.row(1).collect::<Vec<_>>(), vec![(4, 1.0), (5, 1.0)]);
        assert_eq!(s.row(2).count(), 0, "an id outside the layout is left out");
        assert_eq!(rows.columns(), vec![1, 3, 4, 5, 7, 8]);
        assert_eq!(layout.width(), 9);
    }
}
