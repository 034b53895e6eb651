//! The spectral vectors of corml (spec A.3): the top eigenvectors of `K = R̃ᵀR̃`, with `R̃ = D_U^{-1/2}
//! R D_I^{-1/2}` the degree-normalised interactions of a set of items, found by randomised subspace
//! iteration as the authors' code does (a start of random columns, products with `K` each followed by
//! a QR, then Rayleigh-Ritz with faer's self-adjoint eigendecomposition), with a smaller subspace and
//! fewer products than their `q = max(4k, 32)` and ten: `q = max(2k, 32)` and four gave the same
//! accuracy on MovieLens-1M at a fifth of the cost (BENCHMARKS.md). When `q` reaches the number of
//! items the subspace is the whole space and the vectors are exact.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par, Side};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use recodb_storage::Snapshot;

use super::sparse::Csr;
use crate::error::{Error, Result};
use crate::progress::Progress;

/// Products with `K` (each followed by a QR) before Rayleigh-Ritz for the model's vectors (the
/// authors' code: ten).
pub(super) const PRODUCTS: u64 = 4;

/// Products with `K` for the two vectors of a bisection (item partitioning): ten, as the authors'
/// code; with `q = 32` they are cheap.
pub(super) const BISECTION_PRODUCTS: u64 = 10;

/// Columns of the subspace per vector wanted (the authors' code: four).
const OVERSAMPLING: usize = 2;

/// The normalised interactions of a set of items (user degrees counted within the set, item degrees
/// global), stored both by user and by item, so that both halves of a product with `K` run in
/// parallel without write conflicts.
pub(super) struct Normalised {
    by_user: Csr,
    by_item: Csr,
}

impl Normalised {
    /// The matrix of `items` (sorted global ids) from `data`, with the global item degrees `degrees`.
    pub fn new(data: &Snapshot, items: &[u32], degrees: &[f32]) -> Normalised {
        let local = local_ids(items, data.n_items);
        let mut entries = Vec::new();
        let mut user = 0u32;
        for u in 0..data.n_users {
            let start = entries.len();
            entries.extend(data.row(u).iter().filter_map(|&i| {
                let l = *local.get(i as usize)?;
                (l != u32::MAX).then(|| (user, l, 1.0 / degrees[i as usize].sqrt()))
            }));
            let count = (entries.len() - start).max(1) as f32;
            for e in &mut entries[start..] {
                e.2 /= count.sqrt();
            }
            user += u32::from(entries.len() > start);
        }
        let by_user = Csr::from_entries(user as usize, entries.iter().copied());
        let by_item = Csr::from_entries(items.len(), entries.iter().map(|&(u, i, v)| (i, u, v)));
        Normalised { by_user, by_item }
    }

    /// The number of items.
    pub fn items(&self) -> usize {
        self.by_item.rows()
    }

    /// `K·x` for `x` row-major (`items × q`).
    fn apply(&self, x: &[f32], q: usize) -> Vec<f32> {
        let half = product(&self.by_user, x, q);
        product(&self.by_item, &half, q)
    }
}

/// `m·x` for a sparse `m` and a row-major `x` with `q` columns, row-major.
fn product(m: &Csr, x: &[f32], q: usize) -> Vec<f32> {
    let mut out = vec![0f32; m.rows() * q];
    out.par_chunks_mut(q.max(1)).enumerate().for_each(|(r, row)| {
        let (columns, values) = m.row(r);
        for (&c, &v) in columns.iter().zip(values) {
            let from = &x[c as usize * q..(c as usize + 1) * q];
            row.iter_mut().zip(from).for_each(|(o, f)| *o += v * f);
        }
    });
    out
}

/// For each global item id below `n_items`, its position in `items`, or `u32::MAX`.
pub(super) fn local_ids(items: &[u32], n_items: u32) -> Vec<u32> {
    let mut local = vec![u32::MAX; n_items as usize];
    for (l, &i) in items.iter().enumerate() {
        local[i as usize] = l as u32;
    }
    local
}

/// The top `k` eigenvectors of `K` (largest eigenvalue first) after `products` products with `K`,
/// item-major: item `i`'s coordinates are `out[i·k..(i+1)·k]`. Reports each product with `K` as
/// `done` of `phase`; cancelled when the progress says so.
pub(super) fn top_eigenvectors(
    op: &Normalised,
    k: usize,
    products: u64,
    seed: u64,
    progress: &dyn Progress,
    phase: &str,
) -> Result<Vec<f32>> {
    let n = op.items();
    let q = (OVERSAMPLING * k).max(32).min(n);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut x: Vec<f32> = (0..n * q).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();
    orthonormalise(&mut x, n, q);
    for done in 0..products {
        if !progress.update(phase, done, products + 1) {
            return Err(Error::cancelled("training"));
        }
        x = op.apply(&x, q);
        orthonormalise(&mut x, n, q);
    }
    if !progress.update(phase, products, products + 1) {
        return Err(Error::cancelled("training"));
    }
    // Rayleigh-Ritz: the eigenvectors of T = Xᵀ K X, lifted by X.
    let kx = op.apply(&x, q);
    let basis = MatRef::from_row_major_slice(&x, n, q);
    let mut t = Mat::<f32>::zeros(q, q);
    matmul(
        &mut t,
        Accum::Replace,
        basis.transpose(),
        MatRef::from_row_major_slice(&kx, n, q),
        1.0,
        Par::rayon(0),
    );
    let t = Mat::<f32>::from_fn(q, q, |i, j| (t[(i, j)] + t[(j, i)]) / 2.0);
    let eigen = t
        .self_adjoint_eigen(Side::Lower)
        .map_err(|e| Error::internal(format!("corml: the eigendecomposition failed ({e:?})")))?;
    let u = eigen.U();
    // Eigenvalues ascend: the last k columns, reversed.
    let top = Mat::<f32>::from_fn(q, k, |i, j| u[(i, q - 1 - j)]);
    let mut v = Mat::<f32>::zeros(n, k);
    matmul(&mut v, Accum::Replace, basis, &top, 1.0, Par::rayon(0));
    let mut out = vec![0f32; n * k];
    out.par_chunks_mut(k.max(1)).enumerate().for_each(|(i, row)| {
        for (j, o) in row.iter_mut().enumerate() {
            *o = v[(i, j)];
        }
    });
    Ok(out)
}

/// Replaces the columns of the row-major `n × q` matrix `x` by an orthonormal basis of their span
/// (faer's Householder QR).
fn orthonormalise(x: &mut [f32], n: usize, q: usize) {
    let basis = MatRef::from_row_major_slice(x, n, q).qr().compute_thin_Q();
    x.par_chunks_mut(q.max(1)).enumerate().for_each(|(i, row)| {
        for (j, o) in row.iter_mut().enumerate() {
            *o = basis[(i, j)];
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::testing::snapshot;
    use crate::progress::NoProgress;

    #[test]
    fn small_sets_get_the_exact_eigenvectors_of_the_normalised_gram_matrix() {
        let data = snapshot(&[&[0, 1], &[0, 1, 2], &[2, 3], &[3], &[0, 3]], 4);
        let degrees = [3.0f32, 2.0, 2.0, 3.0];
        let op = Normalised::new(&data, &[0, 1, 2, 3], &degrees);
        let v = top_eigenvectors(&op, 2, PRODUCTS, 7, &NoProgress, "test").expect("eigen");
        // K = R̃ᵀR̃ built by hand; K v = λ v for each returned vector, λ1 = 1 with v ∝ sqrt(d).
        let mut k = [[0f32; 4]; 4];
        for u in 0..data.n_users {
            let row = data.row(u);
            for &a in row {
                for &b in row {
                    k[a as usize][b as usize] +=
                        1.0 / (row.len() as f32 * (degrees[a as usize] * degrees[b as usize]).sqrt());
                }
            }
        }
        let column = |j: usize| -> Vec<f32> { (0..4).map(|i| v[i * 2 + j]).collect() };
        let first = column(0);
        let norm: f32 = degrees.iter().sum::<f32>().sqrt();
        for (x, d) in first.iter().zip(&degrees) {
            assert!((x.abs() - d.sqrt() / norm).abs() < 1e-4, "{first:?}");
        }
        for j in 0..2 {
            let x = column(j);
            let kx: Vec<f32> = (0..4).map(|i| (0..4).map(|c| k[i][c] * x[c]).sum()).collect();
            let lambda: f32 = kx.iter().zip(&x).map(|(a, b)| a * b).sum();
            for (a, b) in kx.iter().zip(&x) {
                assert!((a - lambda * b).abs() < 1e-4, "vector {j}: {kx:?} vs {lambda} · {x:?}");
            }
            if j == 0 {
                assert!((lambda - 1.0).abs() < 1e-4, "the largest eigenvalue is 1, got {lambda}");
            }
        }
    }
}
