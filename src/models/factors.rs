//! What the matrix-factorisation models (`als`, `bpr`) share: a [`FactorModel`] holding one vector per
//! trained user and per item (`f32`, row-major, `dim` values per row), an optional per-item bias, and the
//! [fingerprint](super::fingerprint) of every trained user's item list.
//!
//! A user is scored with its trained vector when its items are still those it was trained on (same
//! fingerprint); otherwise (a user who arrived or changed after training) its vector is *folded in*: solved
//! from its items with the item side fixed, by the algorithm's [`FoldIn`]. Scores are `item · user (+ bias)`;
//! a batch of users is scored by one blocked matrix product (faer) of their vectors against all items.
//! `SIMILAR item` is the cosine of item vectors (norms precomputed when the model is built or loaded).
//!
//! The vector kernels ([`dot`], [`axpy`]) are written once over pulp's `Simd` (faer's SIMD layer) and
//! run through [`dispatch`], which picks the widest instructions the processor has at run time (AVX2 and
//! FMA on most x86-64, against the SSE2 the default target compiles for): the models' hot loops are
//! `WithSimd` operations that take the chosen instruction set.

use faer::linalg::matmul::matmul;
use faer::traits::pulp::{bytemuck, Arch, Simd, WithSimd};
use faer::{Accum, MatMut, MatRef, Par};
use recodb_storage::rkyv;

use super::blobs::Blob;
use super::{fingerprint, HeapBytes, Model};
use crate::error::{Error, Result};

/// The vectors of a factor model as saved, inside the blob of `als` and of `bpr`.
#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[rkyv(crate = recodb_storage::rkyv)]
pub struct SavedFactors {
    /// Length of every vector.
    pub dim: u32,
    /// The fingerprint of each trained user's items, by user id.
    pub fingerprints: Vec<u64>,
    /// User vectors, row-major.
    pub users: Vec<f32>,
    /// Item vectors, row-major.
    pub items: Vec<f32>,
    /// Per-item biases, or empty.
    pub item_bias: Vec<f32>,
}

/// Users scored per matrix product in [`Model::score_batch`].
pub(crate) const SCORE_BLOCK: usize = 64;

/// The learned vectors of a factor model.
#[derive(Debug, Clone, PartialEq)]
pub struct Factors {
    /// Length of every vector (at least 1).
    pub dim: usize,
    /// User vectors, row-major: user `u` is `users[u * dim..(u + 1) * dim]`.
    pub users: Vec<f32>,
    /// Item vectors, row-major.
    pub items: Vec<f32>,
    /// Per-item bias added to every score, or empty for none.
    pub item_bias: Vec<f32>,
}

impl HeapBytes for Factors {
    fn heap_bytes(&self) -> usize {
        self.users.heap_bytes() + self.items.heap_bytes() + self.item_bias.heap_bytes()
    }
}

impl Factors {
    /// Number of users with a vector.
    pub fn n_users(&self) -> usize {
        self.users.len() / self.dim.max(1)
    }

    /// Number of items with a vector.
    pub fn n_items(&self) -> usize {
        self.items.len() / self.dim.max(1)
    }

    /// The vector of item `i` (empty when out of range).
    pub fn item(&self, i: u32) -> &[f32] {
        let at = i as usize * self.dim;
        self.items.get(at..at + self.dim).unwrap_or(&[])
    }

    /// The trained vector of user `u`, if it has one.
    pub fn user(&self, u: u32) -> Option<&[f32]> {
        let at = u as usize * self.dim;
        self.users.get(at..at + self.dim)
    }

    /// Writes `item · user + bias` for every item into `scores`.
    fn score_into(&self, user: &[f32], scores: &mut [f32]) {
        rows_dot(&self.items, user, scores);
        add_bias(&self.item_bias, scores);
    }

    /// Checks that the lengths agree with `dim` and with each other.
    fn validate(&self, algorithm: &str, n_users: usize) -> Result<()> {
        let corrupt = |what: String| Err(Error::corrupt(format!("corrupt {algorithm} model: {what}")));
        if self.dim == 0 {
            return corrupt("vectors of length 0".into());
        }
        if self.users.len() != n_users.saturating_mul(self.dim) {
            return corrupt(format!(
                "{} user values for {n_users} users of {} factors",
                self.users.len(),
                self.dim
            ));
        }
        if !self.items.len().is_multiple_of(self.dim) {
            return corrupt(format!("{} item values for {} factors", self.items.len(), self.dim));
        }
        if !self.item_bias.is_empty() && self.item_bias.len() != self.n_items() {
            return corrupt(format!("{} item biases for {} items", self.item_bias.len(), self.n_items()));
        }
        Ok(())
    }
}

/// How an algorithm computes the vector of a user it was not trained on (or whose items changed), with
/// the item vectors fixed.
pub trait FoldIn: Send + Sync {
    /// Writes into `user` (`factors.dim` long) the vector of a user whose items are `seen` (sorted ids,
    /// all below `factors.n_items()`).
    fn fold_in(&self, factors: &Factors, seen: &[u32], user: &mut [f32]);

    /// The model's blobs: its `vectors` and what this fold-in needs to be rebuilt on load.
    fn blobs(&self, vectors: SavedFactors) -> Result<Vec<Blob>>;
}

/// A trained factor model: vectors, the fingerprints of the trained users' items, and the fold-in.
pub struct FactorModel<F> {
    factors: Factors,
    fingerprints: Vec<u64>,
    item_norms: Vec<f32>,
    fold_in: F,
}

impl<F: FoldIn> FactorModel<F> {
    /// A model of trained `factors`, whose user `u` was trained on items with fingerprint
    /// `fingerprints[u]` (one per user vector).
    pub fn new(factors: Factors, fingerprints: Vec<u64>, fold_in: F) -> Self {
        let item_norms = factors
            .items
            .chunks_exact(factors.dim.max(1))
            .map(|v| v.iter().map(|x| x * x).sum::<f32>().sqrt())
            .collect();
        FactorModel { factors, fingerprints, item_norms, fold_in }
    }

    /// The model's vectors.
    pub fn factors(&self) -> &Factors {
        &self.factors
    }

    /// Rebuilds a model of `algorithm` from its saved `vectors`; `make` rebuilds the fold-in from them.
    /// Lengths that disagree are a corrupt-model error.
    pub fn from_saved(
        algorithm: &str,
        vectors: SavedFactors,
        make: impl FnOnce(&Factors) -> F,
    ) -> Result<Self> {
        let SavedFactors { dim, fingerprints, users, items, item_bias } = vectors;
        let factors = Factors { dim: dim as usize, users, items, item_bias };
        factors.validate(algorithm, fingerprints.len())?;
        let fold_in = make(&factors);
        Ok(Self::new(factors, fingerprints, fold_in))
    }

    /// The vectors as saved.
    fn saved(&self) -> SavedFactors {
        SavedFactors {
            dim: self.factors.dim as u32,
            fingerprints: self.fingerprints.clone(),
            users: self.factors.users.clone(),
            items: self.factors.items.clone(),
            item_bias: self.factors.item_bias.clone(),
        }
    }

    /// Whether `user`'s items are still `seen`, those it was trained on.
    fn trained(&self, user: u32, seen: &[u32]) -> bool {
        self.fingerprints.get(user as usize).is_some_and(|&f| f == fingerprint(seen))
    }

    /// Writes into `out` the vector that scores `user`, whose items are `seen`: the trained one when
    /// the items are those it was trained on, otherwise one folded in from the items the model knows.
    pub fn user_vector(&self, user: u32, seen: &[u32], out: &mut [f32]) {
        match self.factors.user(user).filter(|_| self.trained(user, seen)) {
            Some(v) => out.copy_from_slice(v),
            None => {
                let n = self.factors.n_items() as u32;
                let known = &seen[..seen.partition_point(|&i| i < n)];
                self.fold_in.fold_in(&self.factors, known, out);
            }
        }
    }
}

impl<F: FoldIn> Model for FactorModel<F> {
    fn n_items(&self) -> u32 {
        self.factors.n_items() as u32
    }

    fn score(&self, user: u32, seen: &[u32], scores: &mut [f32]) {
        let mut vector = vec![0f32; self.factors.dim];
        self.user_vector(user, seen, &mut vector);
        self.factors.score_into(&vector, scores);
    }

    /// Blocks of users: their vectors side by side, times all item vectors in one matrix product.
    fn score_batch(&self, users: &[(u32, &[u32])], scores: &mut [f32]) {
        let (dim, n) = (self.factors.dim, self.factors.n_items());
        if n == 0 {
            return;
        }
        let items = MatRef::from_column_major_slice(&self.factors.items, dim, n);
        let mut block = vec![0f32; SCORE_BLOCK * dim];
        for (chunk, out) in users.chunks(SCORE_BLOCK).zip(scores.chunks_mut(SCORE_BLOCK * n)) {
            let b = chunk.len().min(out.len() / n);
            for (&(user, seen), v) in chunk.iter().zip(block.chunks_exact_mut(dim)) {
                self.user_vector(user, seen, v);
            }
            // Row-major (b × n) scores are the column-major (n × b) product itemsᵀ · block.
            let lhs = MatRef::from_column_major_slice(&block[..b * dim], dim, b);
            let dst = MatMut::from_column_major_slice_mut(&mut out[..b * n], n, b);
            matmul(dst, Accum::Replace, items.transpose(), lhs, 1.0, Par::Seq);
            for row in out[..b * n].chunks_exact_mut(n) {
                add_bias(&self.factors.item_bias, row);
            }
        }
    }

    /// The candidates' rows gathered and multiplied by the same kernel as [`Model::score`], so the
    /// scores are those of a full pass.
    fn score_items(&self, user: u32, seen: &[u32], items: &[u32], out: &mut [f32]) -> Result<()> {
        let dim = self.factors.dim;
        let mut vector = vec![0f32; dim];
        self.user_vector(user, seen, &mut vector);
        let known: Vec<usize> =
            (0..items.len()).filter(|&c| !self.factors.item(items[c]).is_empty()).collect();
        let mut rows = Vec::with_capacity(known.len() * dim);
        known.iter().for_each(|&c| rows.extend_from_slice(self.factors.item(items[c])));
        let mut scores = vec![0f32; known.len()];
        rows_dot(&rows, &vector, &mut scores);
        out.iter_mut().for_each(|o| *o = f32::NEG_INFINITY);
        for (&c, s) in known.iter().zip(scores) {
            let bias = self.factors.item_bias.get(items[c] as usize).copied().unwrap_or(0.0);
            if let Some(o) = out.get_mut(c) {
                *o = s + bias;
            }
        }
        Ok(())
    }

    fn is_trained(&self, user: u32, seen: &[u32]) -> Option<bool> {
        Some(self.trained(user, seen))
    }

    /// Cosine of item vectors; an item without a vector (or a zero one) is similar to nothing.
    fn similar_items(&self, item: u32, scores: &mut [f32]) -> Result<()> {
        let target = self.factors.item(item);
        let norm = self.item_norms.get(item as usize).copied().unwrap_or(0.0);
        if target.is_empty() || norm == 0.0 {
            scores.iter_mut().for_each(|s| *s = 0.0);
            return Ok(());
        }
        rows_dot(&self.factors.items, target, scores);
        for (s, &n) in scores.iter_mut().zip(&self.item_norms) {
            *s = if n > 0.0 { *s / (norm * n) } else { 0.0 };
        }
        Ok(())
    }

    fn blobs(&self) -> Result<Vec<Blob>> {
        self.fold_in.blobs(self.saved())
    }

    /// The vectors, fingerprints and norms; the fold-in's state (ALS's `dim × dim` Gram matrix at most)
    /// is small beside them and not counted.
    fn memory_bytes(&self) -> usize {
        self.factors.heap_bytes() + self.fingerprints.heap_bytes() + self.item_norms.heap_bytes()
    }
}

/// Adds `bias` (when not empty) to `scores` element-wise.
fn add_bias(bias: &[f32], scores: &mut [f32]) {
    for (s, b) in scores.iter_mut().zip(bias) {
        *s += b;
    }
}

/// Runs `op` with the widest vector instructions this processor has (AVX2 and FMA on most x86-64, NEON
/// on aarch64), chosen at run time by pulp (faer's SIMD layer); the kernels below take the chosen
/// instruction set as `simd`.
pub fn dispatch<Op: WithSimd>(op: Op) -> Op::Output {
    Arch::new().dispatch(op)
}

/// Reads one SIMD vector from the start of `x` (exactly `S::F32_LANES` long).
#[inline(always)]
pub fn load<S: Simd>(x: &[f32]) -> S::f32s {
    bytemuck::pod_read_unaligned(bytemuck::cast_slice(x))
}

/// Writes one SIMD vector into `x` (exactly `S::F32_LANES` long).
#[inline(always)]
pub fn store<S: Simd>(x: &mut [f32], v: S::f32s) {
    bytemuck::cast_slice_mut(x).copy_from_slice(bytemuck::bytes_of(&v));
}

/// The dot product of two equally long vectors.
#[inline(always)]
pub fn dot<S: Simd>(simd: S, a: &[f32], b: &[f32]) -> f32 {
    let lanes = S::F32_LANES;
    let (pa, pb) = (a.chunks_exact(2 * lanes), b.chunks_exact(2 * lanes));
    let (ra, rb) = (pa.remainder(), pb.remainder());
    // Two accumulators, to overlap the latency of the fused multiply-adds.
    let (mut even, mut odd) = (simd.splat_f32s(0.0), simd.splat_f32s(0.0));
    for (x, y) in pa.zip(pb) {
        even = simd.mul_add_e_f32s(load::<S>(&x[..lanes]), load::<S>(&y[..lanes]), even);
        odd = simd.mul_add_e_f32s(load::<S>(&x[lanes..]), load::<S>(&y[lanes..]), odd);
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    simd.reduce_sum_f32s(simd.add_f32s(even, odd)) + tail
}

/// `y += a · x` for equally long vectors.
#[inline(always)]
pub fn axpy<S: Simd>(simd: S, y: &mut [f32], a: f32, x: &[f32]) {
    let lanes = S::F32_LANES;
    let av = simd.splat_f32s(a);
    let mut py = y.chunks_exact_mut(lanes);
    let mut px = x.chunks_exact(lanes);
    for (yc, xc) in (&mut py).zip(&mut px) {
        let v = simd.mul_add_e_f32s(av, load::<S>(xc), load::<S>(yc));
        store::<S>(yc, v);
    }
    for (yi, xi) in py.into_remainder().iter_mut().zip(px.remainder()) {
        *yi += a * xi;
    }
}

/// `out[r] = rows[r] · v` for the row-major rows of `rows` (each `v.len()` long), with the widest vector
/// instructions this processor has.
pub fn rows_dot(rows: &[f32], v: &[f32], out: &mut [f32]) {
    dispatch(RowsDot { rows: rows.chunks_exact(v.len().max(1)), v, out });
}

/// `out[i] = rows[ids[i]] · v` for the picked rows of the row-major `rows` (each `v.len()` long; 0 for
/// an id past the end): the same kernel as [`rows_dot`], so a picked row's product equals its full
/// pass's bit for bit.
pub fn picked_rows_dot(rows: &[f32], ids: &[u32], v: &[f32], out: &mut [f32]) {
    let k = v.len();
    let picked = ids.iter().map(|&id| rows.get(id as usize * k..(id as usize + 1) * k).unwrap_or(&[]));
    dispatch(RowsDot { rows: picked, v, out });
}

/// The kernel of [`rows_dot`] and [`picked_rows_dot`]: `out[r] = row_r · v` for the rows `rows` yields
/// (an empty row gives 0).
struct RowsDot<'a, R> {
    rows: R,
    v: &'a [f32],
    out: &'a mut [f32],
}

impl<'a, R: Iterator<Item = &'a [f32]>> WithSimd for RowsDot<'a, R> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        for (o, row) in self.out.iter_mut().zip(self.rows) {
            *o = if row.is_empty() { 0.0 } else { dot(simd, row, self.v) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::models::blobs::{encode, in_memory, Blobs};

    /// Folds every user in as the sum of its item vectors.
    struct SumFoldIn;

    const TEST_BLOB: &str = "test";

    impl FoldIn for SumFoldIn {
        fn fold_in(&self, factors: &Factors, seen: &[u32], user: &mut [f32]) {
            user.iter_mut().for_each(|x| *x = 0.0);
            for &i in seen {
                for (u, v) in user.iter_mut().zip(factors.item(i)) {
                    *u += v;
                }
            }
        }

        fn blobs(&self, vectors: SavedFactors) -> Result<Vec<Blob>> {
            Ok(vec![encode(TEST_BLOB, &vectors)?])
        }
    }

    /// Two users of 2 factors, three items with biases 0, 1, 0.
    fn model() -> FactorModel<SumFoldIn> {
        let factors = Factors {
            dim: 2,
            users: vec![1.0, 0.0, 0.0, 2.0],
            items: vec![1.0, 0.0, 0.0, 1.0, 3.0, 4.0],
            item_bias: vec![0.0, 1.0, 0.0],
        };
        FactorModel::new(factors, vec![fingerprint(&[0]), fingerprint(&[1, 2])], SumFoldIn)
    }

    #[test]
    fn trained_users_use_their_vector_and_others_are_folded_in() {
        let m = model();
        let mut s = vec![0.0; 3];
        m.score(0, &[0], &mut s);
        assert_eq!(s, [1.0, 1.0, 3.0], "trained user 0: (1, 0) · items + bias");
        m.score(0, &[1], &mut s);
        assert_eq!(s, [0.0, 2.0, 4.0], "user 0's items changed: folded in as item 1 = (0, 1)");
        m.score(9, &[0, 1, 7], &mut s);
        assert_eq!(s, [1.0, 2.0, 7.0], "a new user, item 7 unknown to the model: (1, 1)");
    }

    #[test]
    fn score_batch_agrees_with_score() {
        let m = model();
        let seen: Vec<Vec<u32>> = (0..150).map(|u| vec![u % 3]).collect();
        let users: Vec<(u32, &[u32])> =
            seen.iter().enumerate().map(|(u, s)| (u as u32 % 5, &s[..])).collect();
        let mut batch = vec![f32::NAN; users.len() * 3];
        m.score_batch(&users, &mut batch);
        for (&(u, seen), row) in users.iter().zip(batch.chunks(3)) {
            let mut one = vec![0.0; 3];
            m.score(u, seen, &mut one);
            assert_eq!(row, &one[..], "user {u} with {seen:?}");
        }
    }

    #[test]
    fn similar_items_is_the_cosine() {
        let m = model();
        let mut s = vec![0.0; 3];
        m.similar_items(2, &mut s).expect("similar");
        assert!((s[0] - 0.6).abs() < 1e-6 && (s[1] - 0.8).abs() < 1e-6 && (s[2] - 1.0).abs() < 1e-6, "{s:?}");
        m.similar_items(5, &mut s).expect("unknown item");
        assert_eq!(s, [0.0; 3]);
    }

    #[test]
    fn blobs_round_trip_and_corrupt_ones_are_errors() {
        let m = model();
        let blobs = m.blobs().expect("blobs");
        let read = in_memory(&blobs);
        let saved: SavedFactors = Blobs::new(&read).get(TEST_BLOB).expect("read");
        let loaded = FactorModel::from_saved("test", saved.clone(), |_| SumFoldIn).expect("load");
        assert_eq!(loaded.factors(), m.factors());
        let mut s = vec![0.0; 3];
        loaded.score(1, &[1, 2], &mut s);
        assert_eq!(s, [0.0, 3.0, 8.0]);

        let short_items = SavedFactors { items: vec![1.0; 5], ..saved.clone() };
        let err = FactorModel::from_saved("test", short_items, |_| SumFoldIn).err().expect("refused");
        assert!(matches!(err.kind(), ErrorKind::Corrupt(_)), "{err:?}");
        assert!(err.message().contains("5 item values for 2 factors"), "{err}");
        let few_users = SavedFactors { users: vec![1.0; 2], ..saved.clone() };
        let err = FactorModel::from_saved("test", few_users, |_| SumFoldIn).err().expect("refused");
        assert!(err.message().contains("2 user values for 2 users"), "{err}");
        let no_dim = SavedFactors { dim: 0, ..saved };
        assert!(FactorModel::from_saved("test", no_dim, |_| SumFoldIn).is_err());
    }

    #[test]
    fn picked_rows_equal_the_full_pass_bit_for_bit() {
        let (n, k) = (9usize, 37usize);
        let rows: Vec<f32> = (0..n * k).map(|i| ((i * 7919) % 101) as f32 / 13.0 - 3.0).collect();
        let v: Vec<f32> = (0..k).map(|i| (i as f32).sin()).collect();
        let mut full = vec![0f32; n];
        rows_dot(&rows, &v, &mut full);
        let mut picked = vec![f32::NAN; 4];
        picked_rows_dot(&rows, &[8, 0, 3, 9], &v, &mut picked);
        assert_eq!(picked[..3], [full[8], full[0], full[3]]);
        assert_eq!(picked[3], 0.0, "an id past the end gives 0");
    }

    #[test]
    fn dot_and_axpy_handle_any_length() {
        struct Check;
        impl WithSimd for Check {
            type Output = ();
            fn with_simd<S: Simd>(self, simd: S) {
                for n in [0usize, 1, 7, 8, 16, 37, 128] {
                    let a: Vec<f32> = (0..n).map(|i| i as f32).collect();
                    let b = vec![2.0f32; n];
                    assert_eq!(dot(simd, &a, &b), (0..n).map(|i| 2.0 * i as f32).sum::<f32>(), "n = {n}");
                    let mut y = vec![1.0f32; n];
                    axpy(simd, &mut y, 0.5, &a);
                    assert!(y.iter().enumerate().all(|(i, &v)| v == 1.0 + 0.5 * i as f32), "n = {n}: {y:?}");
                }
            }
        }
        dispatch(Check);
    }
}
