//! Dense row-major `f32` matrices and the products a network needs: dense × dense through faer (on
//! rayon's threads), and sparse rows × dense for inputs such as a user's interaction row, which never
//! become a dense one-hot matrix.
//!
//! A product's result depends on the thread count only through faer's blocking, which splits the output
//! and not the inner dimension, so a seed and a thread count give the same numbers run after run.

use faer::linalg::matmul::matmul;
use faer::traits::pulp::{Simd, WithSimd};
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

use crate::models::factors::{axpy, dispatch};
use crate::models::HeapBytes;

/// A dense matrix of `rows × cols` values stored row by row.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl HeapBytes for Matrix {
    fn heap_bytes(&self) -> usize {
        self.data.heap_bytes()
    }
}

impl Matrix {
    /// A matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Matrix {
        Matrix { rows, cols, data: vec![0.0; rows * cols] }
    }

    /// The matrix whose rows are the consecutive `cols`-long runs of `data`; `None` when the length of
    /// `data` is not `rows · cols`.
    pub fn from_vec(rows: usize, cols: usize, data: Vec<f32>) -> Option<Matrix> {
        (data.len() == rows * cols).then_some(Matrix { rows, cols, data })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Every value, row by row.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// Every value, row by row, to change.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// The values, giving up the matrix.
    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }

    /// Row `r`.
    pub fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }

    /// Row `r`, to change.
    pub fn row_mut(&mut self, r: usize) -> &mut [f32] {
        &mut self.data[r * self.cols..(r + 1) * self.cols]
    }

    fn view(&self) -> MatRef<'_, f32> {
        MatRef::from_row_major_slice(&self.data, self.rows, self.cols)
    }

    fn view_mut(&mut self) -> MatMut<'_, f32> {
        MatMut::from_row_major_slice_mut(&mut self.data, self.rows, self.cols)
    }
}

/// Whether a factor of a product enters as stored or transposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// As stored.
    N,
    /// Transposed.
    T,
}

/// `out = op(a) · op(b)`, or `out += op(a) · op(b)` with `accumulate`; the shapes must agree (a bug
/// otherwise, so they are asserted).
pub fn gemm(out: &mut Matrix, a: &Matrix, op_a: Op, b: &Matrix, op_b: Op, accumulate: bool) {
    let (a, b) = (oriented(a, op_a), oriented(b, op_b));
    assert!(
        a.ncols() == b.nrows() && out.rows == a.nrows() && out.cols == b.ncols(),
        "gemm shapes {}x{} · {}x{} into {}x{}",
        a.nrows(),
        a.ncols(),
        b.nrows(),
        b.ncols(),
        out.rows,
        out.cols
    );
    let accum = if accumulate { Accum::Add } else { Accum::Replace };
    matmul(out.view_mut(), accum, a, b, 1.0, parallelism());
}

/// The view of `m` as `op` has it.
fn oriented(m: &Matrix, op: Op) -> MatRef<'_, f32> {
    match op {
        Op::N => m.view(),
        Op::T => m.view().transpose(),
    }
}

/// faer's parallelism: rayon's threads of the current pool.
fn parallelism() -> Par {
    match rayon::current_num_threads() {
        0 | 1 => Par::Seq,
        n => Par::rayon(n),
    }
}

/// A batch of sparse rows in compressed form: row `r` has the columns `indices[indptr[r]..indptr[r+1]]`
/// with the values aligned in `values` (all 1 when `values` is `None`). Columns must be below the
/// width of the matrix it multiplies.
#[derive(Debug, Clone, Copy)]
pub struct SparseRows<'a> {
    /// Row offsets, one more than the rows.
    pub indptr: &'a [usize],
    /// Column ids, row by row.
    pub indices: &'a [u32],
    /// Values aligned with `indices`, or `None` for all ones.
    pub values: Option<&'a [f32]>,
}

impl SparseRows<'_> {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }

    /// The distinct columns the rows use, ascending (the weight rows of a sparse-input layer that a
    /// batch touches).
    pub fn columns(&self) -> Vec<u32> {
        let mut c = self.indices
            [self.indptr.first().copied().unwrap_or(0)..self.indptr.last().copied().unwrap_or(0)]
            .to_vec();
        c.sort_unstable();
        c.dedup();
        c
    }

    /// The `(column, value)` entries of row `r`.
    pub fn row(&self, r: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        let range = self.indptr[r]..self.indptr[r + 1];
        let values = self.values.map(|v| &v[range.clone()]);
        self.indices[range].iter().enumerate().map(move |(k, &c)| (c as usize, values.map_or(1.0, |v| v[k])))
    }
}

/// `out = x · w` for sparse rows `x` (`out` has `x.rows()` rows and `w.cols()` columns): each output
/// row is the weighted sum of the rows of `w` its entries name. Rows in parallel, each with the widest
/// vector instructions at hand.
pub fn sparse_dense(x: SparseRows<'_>, w: &Matrix, out: &mut Matrix) {
    assert!(out.rows == x.rows() && out.cols == w.cols, "sparse product into {}x{}", out.rows, out.cols);
    let cols = w.cols.max(1);
    out.data.par_chunks_mut(cols).enumerate().for_each(|(r, o)| {
        o.iter_mut().for_each(|v| *v = 0.0);
        dispatch(AddRows { out: o, terms: x.row(r).map(|(c, v)| (v, w.row(c))) });
    });
}

/// `out += Σ v·row` over the `(v, row)` of `terms`, as a kernel for [`dispatch`].
struct AddRows<'a, I> {
    out: &'a mut [f32],
    terms: I,
}

impl<'a, I: Iterator<Item = (f32, &'a [f32])>> WithSimd for AddRows<'_, I> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        for (v, row) in self.terms {
            axpy(simd, self.out, v, row);
        }
    }
}

/// Rows of `out` per block of [`sparse_t_dense`]: one task's share, 64 KiB at a width of 256.
const T_BLOCK: usize = 64;

/// `out += xᵀ · d` for sparse rows `x` (`out` is `width × d.cols()`): the gradient of the weights of a
/// sparse-input layer, touching only the rows of `out` that some entry names. The entries are bucketed
/// by blocks of [`T_BLOCK`] rows of `out`, in entry order, and the blocks run in parallel: each row of
/// `out` takes its terms in the order of the entries, as a sequential pass would, so the result does
/// not depend on the thread count.
pub fn sparse_t_dense(x: SparseRows<'_>, d: &Matrix, out: &mut Matrix) {
    assert!(out.cols == d.cols && d.rows == x.rows(), "sparse gradient into {}x{}", out.rows, out.cols);
    let blocks = out.rows.div_ceil(T_BLOCK);
    let mut starts = vec![0usize; blocks + 1];
    for r in 0..x.rows() {
        for (c, _) in x.row(r) {
            starts[c / T_BLOCK + 1] += 1;
        }
    }
    for b in 0..blocks {
        starts[b + 1] += starts[b];
    }
    // (row of d, row of out, value), bucketed by block of out, in entry order within a block.
    let mut entries = vec![(0u32, 0u32, 0f32); starts[blocks]];
    let mut next = starts.clone();
    for r in 0..x.rows() {
        for (c, v) in x.row(r) {
            entries[next[c / T_BLOCK]] = (r as u32, c as u32, v);
            next[c / T_BLOCK] += 1;
        }
    }
    let cols = out.cols.max(1);
    out.data.par_chunks_mut(T_BLOCK * cols).enumerate().for_each(|(b, block)| {
        let entries = &entries[starts[b]..starts[b + 1]];
        if !entries.is_empty() {
            dispatch(SparseTDense { entries, first: b * T_BLOCK, d, block, cols });
        }
    });
}

/// One block of [`sparse_t_dense`] as a kernel for [`dispatch`]: `block` holds the rows of `out` from
/// `first` on.
struct SparseTDense<'a> {
    entries: &'a [(u32, u32, f32)],
    first: usize,
    d: &'a Matrix,
    block: &'a mut [f32],
    cols: usize,
}

impl WithSimd for SparseTDense<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        for &(r, c, v) in self.entries {
            let at = (c as usize - self.first) * self.cols;
            axpy(simd, &mut self.block[at..at + self.cols], v, self.d.row(r as usize));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(rows: usize, cols: usize, data: &[f32]) -> Matrix {
        Matrix::from_vec(rows, cols, data.to_vec()).expect("shape")
    }

    #[test]
    fn dense_products_follow_the_transposes() {
        let a = m(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let b = m(3, 2, &[1.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
        let mut out = Matrix::zeros(2, 2);
        gemm(&mut out, &a, Op::N, &b, Op::N, false);
        assert_eq!(out.as_slice(), &[4.0, 5.0, 10.0, 11.0]);
        gemm(&mut out, &a, Op::N, &b, Op::N, true);
        assert_eq!(out.as_slice(), &[8.0, 10.0, 20.0, 22.0]);
        let mut ata = Matrix::zeros(3, 3);
        gemm(&mut ata, &a, Op::T, &a, Op::N, false);
        assert_eq!(ata.row(0), &[17.0, 22.0, 27.0]);
        let mut abt = Matrix::zeros(2, 2);
        gemm(&mut abt, &a, Op::N, &a, Op::T, false);
        assert_eq!(abt.as_slice(), &[14.0, 32.0, 32.0, 77.0]);
        assert!(Matrix::from_vec(2, 2, vec![0.0; 3]).is_none());
    }

    #[test]
    fn sparse_products_equal_the_dense_ones() {
        // Rows {0: 2.0, 2: 1.0} and {1: -1.0} of width 3.
        let (indptr, indices, values) = ([0usize, 2, 3], [0u32, 2, 1], [2.0f32, 1.0, -1.0]);
        let x = SparseRows { indptr: &indptr, indices: &indices, values: Some(&values) };
        let dense = m(2, 3, &[2.0, 0.0, 1.0, 0.0, -1.0, 0.0]);
        let w = Matrix::from_vec(3, 40, (0..120).map(|v| v as f32 * 0.5 - 7.0).collect()).expect("w");
        let (mut sparse_out, mut dense_out) = (Matrix::zeros(2, 40), Matrix::zeros(2, 40));
        sparse_dense(x, &w, &mut sparse_out);
        gemm(&mut dense_out, &dense, Op::N, &w, Op::N, false);
        assert_eq!(sparse_out, dense_out);
        let d = Matrix::from_vec(2, 40, (0..80).map(|v| (v % 7) as f32 - 3.0).collect()).expect("d");
        let (mut sparse_grad, mut dense_grad) = (Matrix::zeros(3, 40), Matrix::zeros(3, 40));
        sparse_grad.as_mut_slice()[5] = 1.0;
        dense_grad.as_mut_slice()[5] = 1.0;
        sparse_t_dense(x, &d, &mut sparse_grad);
        gemm(&mut dense_grad, &dense, Op::T, &d, Op::N, true);
        assert_eq!(sparse_grad, dense_grad);
        let ones = SparseRows { indptr: &indptr, indices: &indices, values: None };
        assert_eq!(ones.row(0).collect::<Vec<_>>(), vec![(0, 1.0), (2, 1.0)]);
        assert_eq!(ones.rows(), 2);
        let repeated = ([0usize, 2, 4], [5u32, 1, 1, 3]);
        let picked = SparseRows { indptr: &repeated.0, indices: &repeated.1, values: None };
        assert_eq!(picked.columns(), vec![1, 3, 5]);
    }

    #[test]
    fn the_sparse_gradient_over_many_blocks_adds_each_rows_terms_in_entry_order() {
        // 40 rows of 9 entries over 300 output rows (five blocks), repeats included, against one call
        // per input row in row order (the sequential pass's order of terms): equal to the last bit.
        let (rows, width, cols) = (40usize, 300usize, 24usize);
        let mut indptr = vec![0usize];
        let (mut indices, mut values) = (Vec::new(), Vec::new());
        for r in 0..rows {
            for k in 0..9 {
                indices.push(((r * 37 + k * 61) % width) as u32);
                values.push(1.0 / (1 + r + k) as f32);
            }
            indptr.push(indices.len());
        }
        let x = SparseRows { indptr: &indptr, indices: &indices, values: Some(&values) };
        let d = Matrix::from_vec(rows, cols, (0..rows * cols).map(|v| (v % 13) as f32 * 0.3 - 1.7).collect())
            .expect("d");
        let mut expected = Matrix::from_vec(width, cols, vec![0.25; width * cols]).expect("start");
        let mut got = expected.clone();
        for r in 0..rows {
            let one = SparseRows {
                indptr: &[0, 9],
                indices: &indices[indptr[r]..indptr[r + 1]],
                values: Some(&values[indptr[r]..indptr[r + 1]]),
            };
            let d_row = Matrix::from_vec(1, cols, d.row(r).to_vec()).expect("row");
            sparse_t_dense(one, &d_row, &mut expected);
        }
        sparse_t_dense(x, &d, &mut got);
        assert_ne!(got.row(0), &[0.25; 24][..], "row 0 has terms");
        assert_eq!(got, expected);
    }
}
