//! `als`: implicit-feedback matrix factorisation by alternating least squares (Hu, Koren and Volinsky,
//! "Collaborative Filtering for Implicit Feedback Datasets", ICDM 2008).
//!
//! Every interaction of user `u` with item `i` is a preference `p = 1` held with confidence
//! `c = 1 + alpha · weight` (the imported weight, 1 when none; negative weights count as 0); every other
//! pair is a preference 0 with confidence 1. With `Y` the item vectors and `λ` the regularisation, a
//! user's vector solves `(YᵀY + λI + Σᵢ (cᵢ - 1) yᵢyᵢᵀ) x = Σᵢ cᵢ yᵢ` over the user's items, and an
//! item's vector the same with the sides swapped; each iteration solves all items, then all users (so the
//! final user vectors are solves against the final items), in parallel over rows (rayon), in `f32`.
//!
//! The solves follow the `implicit` library: `YᵀY + λI` is computed once per half-iteration, and each row
//! takes `cg_steps` conjugate-gradient steps warm-started from its previous vector, touching only the
//! row's own items (`solver = 'cg'`, the default); `solver = 'cholesky'` solves each row exactly (in
//! `f64`, costing `k²/2` per interaction: for small data or checking). Training is deterministic for a
//! seed (and thread count).
//!
//! **Units.** `regularization` is `λ` above, not scaled by counts, as in `implicit` ≥ 0.5. `implicit`
//! multiplies the weights by its `alpha` and uses the product as the confidence, so its `alpha = a`
//! (with weights 1) is `alpha = a - 1` here: its tuned "reg 100, α 10" is `regularization = 100, alpha = 9`.
//!
//! **Fold-in.** A user who arrived or whose items changed after training gets one exact least-squares
//! solve against the trained items (weights taken as 1: scoring sees item ids only), which is the
//! trained vector again (up to the CG's inexactness) for a user whose items did not change.
//!
//! **Tuning.** Defaults (128 factors, 15 iterations, `regularization` 100, `alpha` 9) were chosen on a
//! validation slice of the MovieLens-1M training split. More data per item calls for a larger
//! `regularization`; `alpha` sets how much an observed interaction outweighs an unobserved one (try
//! 1-40); `factors` 64-256 trade quality for time; 3 CG steps are enough once warm-started.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use recodb_storage::rkyv;
use recodb_storage::Snapshot;

use faer::traits::pulp::{Simd, WithSimd};

use super::blobs::{encode, Blob, Blobs};
use super::factors::{axpy, dispatch, dot, load, store, FactorModel, Factors, FoldIn, SavedFactors};
use super::{fingerprint, Algorithm, Model, Param, Params};
use crate::error::{Error, Result};
use crate::progress::Progress;

/// The ALS algorithm.
pub const ALS: Algorithm = Algorithm {
    name: "als",
    about: "implicit-feedback matrix factorisation by alternating least squares (conjugate gradient)",
    parameters: PARAMETERS,
    train,
    load: from_blobs,
};

/// The most factors accepted.
pub const MAX_FACTORS: i64 = 1024;

const PARAMETERS: &[Param] = &[
    Param::int("factors", 128, 1, MAX_FACTORS, "length of the user and item vectors"),
    Param::int("iterations", 15, 1, 1000, "alternating passes (items, then users)"),
    Param::positive(
        "regularization",
        100.0,
        "L2 weight λ on every vector, not scaled by counts (as implicit's)",
    ),
    Param::non_negative(
        "alpha",
        9.0,
        "confidence of an interaction is 1 + alpha · weight (implicit's alpha minus 1 for weight 1)",
    ),
    Param::int("cg_steps", 3, 1, 100, "conjugate-gradient steps per row and half-iteration (solver 'cg')"),
    Param::choice(
        "solver",
        "cg",
        &["cg", "cholesky"],
        "'cg': a few warm-started conjugate-gradient steps, fast; 'cholesky': exact, slower",
    ),
    Param::seed("seed", 42, "seed of the initial vectors"),
];

/// The blob of an ALS model: its vectors and the settings its fold-in solves with.
#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[rkyv(crate = recodb_storage::rkyv)]
pub struct AlsBlob {
    /// The vectors.
    pub vectors: SavedFactors,
    /// The L2 weight λ.
    pub regularization: f32,
    /// The confidence scale.
    pub alpha: f32,
}

/// The name of [`AlsBlob`].
pub const ALS_BLOB: &str = "als";

/// How each row's least-squares problem is solved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Solver {
    /// A few conjugate-gradient steps, warm-started.
    Cg(usize),
    /// The exact Cholesky solve.
    Cholesky,
}

/// Validated training parameters.
#[derive(Debug, Clone, Copy)]
struct Settings {
    factors: usize,
    iterations: usize,
    regularization: f32,
    alpha: f32,
    solver: Solver,
    seed: u64,
}

impl Settings {
    /// Reads the checked `WITH (...)` parameters.
    fn read(p: &Params) -> Result<Self> {
        let cg_steps = p.int("cg_steps")? as usize;
        let solver = match p.choice("solver")? {
            "cg" => Solver::Cg(cg_steps),
            _ => Solver::Cholesky,
        };
        Ok(Settings {
            factors: p.int("factors")? as usize,
            iterations: p.int("iterations")? as usize,
            regularization: p.float("regularization")? as f32,
            alpha: p.float("alpha")? as f32,
            solver,
            seed: p.seed("seed")?,
        })
    }
}

/// One side of the interactions as compressed sparse rows, with each entry's confidence.
struct Confidences {
    indptr: Vec<usize>,
    indices: Vec<u32>,
    confidence: Vec<f32>,
}

impl Confidences {
    /// The users' rows of `data`, with confidence `1 + alpha · max(weight, 0)`.
    fn by_user(data: &Snapshot, alpha: f32) -> Self {
        let confidence = match &data.weights {
            Some(w) => w.iter().map(|&w| 1.0 + alpha * w.max(0.0)).collect(),
            None => vec![1.0 + alpha; data.indices.len()],
        };
        let mut indptr = data.indptr.clone();
        indptr.resize(data.n_users as usize + 1, data.indices.len());
        Confidences { indptr, indices: data.indices.clone(), confidence }
    }

    /// The transpose: one row per column (of which there are `n_columns`), entries in ascending order.
    fn transpose(&self, n_columns: usize) -> Self {
        let mut indptr = vec![0usize; n_columns + 1];
        for &c in &self.indices {
            indptr[c as usize + 1] += 1;
        }
        for c in 0..n_columns {
            indptr[c + 1] += indptr[c];
        }
        let mut next = indptr.clone();
        let mut indices = vec![0u32; self.indices.len()];
        let mut confidence = vec![0f32; self.indices.len()];
        for r in 0..self.indptr.len() - 1 {
            for at in self.indptr[r]..self.indptr[r + 1] {
                let slot = &mut next[self.indices[at] as usize];
                indices[*slot] = r as u32;
                confidence[*slot] = self.confidence[at];
                *slot += 1;
            }
        }
        Confidences { indptr, indices, confidence }
    }

    /// Row `r`'s column ids and confidences.
    fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let span = self.indptr[r]..self.indptr[r + 1];
        (&self.indices[span.clone()], &self.confidence[span])
    }
}

fn train(data: &Snapshot, params: &Params, progress: &dyn Progress) -> Result<Box<dyn Model>> {
    let s = Settings::read(params)?;
    let by_user = Confidences::by_user(data, s.alpha);
    let by_item = by_user.transpose(data.n_items as usize);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(s.seed);
    let mut init = |rows: u32| -> Vec<f32> {
        (0..rows as usize * s.factors).map(|_| rng.random::<f32>() * 0.01).collect()
    };
    let mut users = init(data.n_users);
    let mut items = init(data.n_items);
    for iteration in 0..s.iterations {
        if !progress.update("train als: iterations", iteration as u64, s.iterations as u64) {
            return Err(Error::cancelled("training"));
        }
        solve_rows(&mut items, &users, &by_item, &s);
        solve_rows(&mut users, &items, &by_user, &s);
    }
    progress.update("train als: iterations", s.iterations as u64, s.iterations as u64);
    let fingerprints = (0..data.n_users).map(|u| fingerprint(data.row(u))).collect();
    let factors = Factors { dim: s.factors, users, items, item_bias: Vec::new() };
    let fold_in = AlsFoldIn::new(&factors, s.regularization, s.alpha);
    Ok(Box::new(FactorModel::new(factors, fingerprints, fold_in)))
}

fn from_blobs(blobs: &Blobs<'_>) -> Result<Box<dyn Model>> {
    let AlsBlob { vectors, regularization, alpha } = blobs.get(ALS_BLOB)?;
    if !(regularization.is_finite() && regularization > 0.0 && alpha.is_finite() && alpha >= 0.0) {
        return Err(Error::corrupt(format!(
            "corrupt als model: fold-in regularization {regularization}, alpha {alpha}"
        )));
    }
    let model = FactorModel::from_saved("als", vectors, |f| AlsFoldIn::new(f, regularization, alpha))?;
    Ok(Box::new(model))
}

/// `YᵀY + λI` of the row-major `rows × k` matrix `y`, as a `k × k` matrix (symmetric: row- or
/// column-major alike).
fn gram(y: &[f32], k: usize, regularization: f32) -> Vec<f32> {
    let n = y.len() / k;
    let mut g = vec![0f32; k * k];
    let yt = MatRef::from_column_major_slice(y, k, n);
    matmul(
        MatMut::from_column_major_slice_mut(&mut g, k, k),
        Accum::Replace,
        yt,
        yt.transpose(),
        1.0,
        Par::rayon(0),
    );
    for d in 0..k {
        g[d * k + d] += regularization;
    }
    g
}

/// Solves every row of `x` (row-major, `s.factors` per row) against the fixed other side `y`, in
/// parallel.
fn solve_rows(x: &mut [f32], y: &[f32], rows: &Confidences, s: &Settings) {
    let k = s.factors;
    let g = gram(y, k, s.regularization);
    let rows_of_x = x.par_chunks_mut(k).enumerate().with_min_len(8);
    match s.solver {
        Solver::Cg(steps) => rows_of_x.for_each_init(
            || CgScratch::new(k),
            |scratch, (r, x)| {
                let (ids, conf) = rows.row(r);
                dispatch(CgRow { x, g: &g, y, ids, conf, steps, scratch });
            },
        ),
        Solver::Cholesky => rows_of_x.for_each_init(
            || ExactScratch::new(k),
            |scratch, (r, xr)| {
                let (ids, conf) = rows.row(r);
                exact_row(xr, &g, y, ids, conf, scratch);
            },
        ),
    }
}

/// Work vectors of one conjugate-gradient solve.
struct CgScratch {
    r: Vec<f32>,
    p: Vec<f32>,
    ap: Vec<f32>,
}

impl CgScratch {
    /// Scratch for vectors of length `k`.
    fn new(k: usize) -> Self {
        CgScratch { r: vec![0.0; k], p: vec![0.0; k], ap: vec![0.0; k] }
    }
}

/// `out = g · v` for the symmetric `k × k` matrix `g`, as a sum of its rows (= columns) weighted by
/// `v`, four rows per pass over `out`: vector operations without horizontal sums.
#[inline(always)]
fn matvec<S: Simd>(simd: S, g: &[f32], v: &[f32], out: &mut [f32]) {
    let (k, lanes) = (v.len(), S::F32_LANES);
    out.iter_mut().for_each(|o| *o = 0.0);
    let (fours, rest) = v.as_chunks::<4>();
    for (j, w) in fours.iter().enumerate() {
        let rows = &g[4 * j * k..4 * (j + 1) * k];
        let r: [&[f32]; 4] = [&rows[..k], &rows[k..2 * k], &rows[2 * k..3 * k], &rows[3 * k..]];
        let ws = w.map(|x| simd.splat_f32s(x));
        let full = k / lanes * lanes;
        for c in (0..full).step_by(lanes) {
            let mut acc = load::<S>(&out[c..c + lanes]);
            for (wv, row) in ws.iter().zip(&r) {
                acc = simd.mul_add_e_f32s(*wv, load::<S>(&row[c..c + lanes]), acc);
            }
            store::<S>(&mut out[c..c + lanes], acc);
        }
        for c in full..k {
            out[c] += w[0] * r[0][c] + w[1] * r[1][c] + w[2] * r[2][c] + w[3] * r[3][c];
        }
    }
    let done = 4 * fours.len();
    for (j, &w) in rest.iter().enumerate() {
        axpy(simd, out, w, &g[(done + j) * k..(done + j + 1) * k]);
    }
}

/// One row's least-squares problem `A x = b`, where `A = g + Σ (c - 1) yᵢyᵢᵀ` and `b = Σ c yᵢ` over the
/// row's items `ids` with confidences `conf`, solved by `steps` conjugate-gradient steps from the
/// current `x`; `A · v` is computed as `g · v` plus the row's own items, never forming `A`.
struct CgRow<'a> {
    x: &'a mut [f32],
    g: &'a [f32],
    y: &'a [f32],
    ids: &'a [u32],
    conf: &'a [f32],
    steps: usize,
    scratch: &'a mut CgScratch,
}

impl WithSimd for CgRow<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let CgRow { x, g, y, ids, conf, steps, scratch } = self;
        let k = x.len();
        let CgScratch { r, p, ap } = scratch;
        let item = |i: u32| &y[i as usize * k..(i as usize + 1) * k];
        // r = b - A x.
        matvec(simd, g, x, r);
        r.iter_mut().for_each(|v| *v = -*v);
        for (&i, &c) in ids.iter().zip(conf) {
            let yi = item(i);
            axpy(simd, r, c - (c - 1.0) * dot(simd, yi, x), yi);
        }
        p.copy_from_slice(r);
        let mut rs_old = dot(simd, r, r);
        for _ in 0..steps {
            if rs_old < 1e-20 {
                break;
            }
            matvec(simd, g, p, ap);
            for (&i, &c) in ids.iter().zip(conf) {
                let yi = item(i);
                axpy(simd, ap, (c - 1.0) * dot(simd, yi, p), yi);
            }
            let p_ap = dot(simd, p, ap);
            if p_ap.is_nan() || p_ap <= 0.0 {
                break;
            }
            let step = rs_old / p_ap;
            axpy(simd, x, step, p);
            axpy(simd, r, -step, ap);
            let rs_new = dot(simd, r, r);
            let beta = rs_new / rs_old;
            for (pi, ri) in p.iter_mut().zip(r.iter()) {
                *pi = ri + beta * *pi;
            }
            rs_old = rs_new;
        }
    }
}

/// Work space of one exact solve: the `k × k` system (lower triangle used) and the right-hand side.
struct ExactScratch {
    a: Vec<f64>,
    b: Vec<f64>,
}

impl ExactScratch {
    /// Scratch for vectors of length `k`.
    fn new(k: usize) -> Self {
        ExactScratch { a: vec![0.0; k * k], b: vec![0.0; k] }
    }
}

/// Solves `A x = b` exactly (Cholesky, `f64`) with `A` and `b` as in [`CgRow`]; leaves `x` as it was
/// when `A` is not positive definite (only possible with non-finite vectors).
fn exact_row(x: &mut [f32], g: &[f32], y: &[f32], ids: &[u32], conf: &[f32], s: &mut ExactScratch) {
    let k = x.len();
    let ExactScratch { a, b } = s;
    for (ad, &gd) in a.iter_mut().zip(g) {
        *ad = f64::from(gd);
    }
    b.iter_mut().for_each(|v| *v = 0.0);
    for (&i, &c) in ids.iter().zip(conf) {
        let yi = &y[i as usize * k..(i as usize + 1) * k];
        let w = f64::from(c) - 1.0;
        for (row, &yr) in yi.iter().enumerate() {
            let wr = w * f64::from(yr);
            for (ad, &yc) in a[row * k..row * k + row + 1].iter_mut().zip(yi) {
                *ad += wr * f64::from(yc);
            }
            b[row] += f64::from(c) * f64::from(yr);
        }
    }
    if cholesky_solve(a, b, k) {
        for (xi, &bi) in x.iter_mut().zip(b.iter()) {
            *xi = bi as f32;
        }
    }
}

/// Solves `A x = b` in place for the symmetric positive definite `k × k` matrix `a` (row-major; only
/// its lower triangle is read, and overwritten by the Cholesky factor `L`); `b` becomes `x`. Returns
/// `false` (with `b` unspecified) when `A` is not positive definite.
fn cholesky_solve(a: &mut [f64], b: &mut [f64], k: usize) -> bool {
    for j in 0..k {
        let (above, from_j) = a.split_at_mut(j * k);
        let lj = &mut from_j[..k];
        for c in 0..j {
            let lc = &above[c * k..c * k + c];
            lj[c] = (lj[c] - lj[..c].iter().zip(lc).map(|(p, q)| p * q).sum::<f64>()) / above[c * k + c];
        }
        let d = lj[j] - lj[..j].iter().map(|v| v * v).sum::<f64>();
        if d.is_nan() || d <= 0.0 {
            return false;
        }
        lj[j] = d.sqrt();
    }
    // L z = b, then Lᵀ x = z.
    for i in 0..k {
        let li = &a[i * k..i * k + i];
        b[i] = (b[i] - li.iter().zip(&b[..i]).map(|(p, q)| p * q).sum::<f64>()) / a[i * k + i];
    }
    for i in (0..k).rev() {
        let s: f64 = (i + 1..k).map(|r| a[r * k + i] * b[r]).sum();
        b[i] = (b[i] - s) / a[i * k + i];
    }
    true
}

/// The fold-in of `als`: one exact least-squares solve against the fixed items.
pub struct AlsFoldIn {
    gram: Vec<f32>,
    regularization: f32,
    alpha: f32,
}

impl AlsFoldIn {
    /// The fold-in for the items of `factors`, with the model's `regularization` and `alpha`.
    fn new(factors: &Factors, regularization: f32, alpha: f32) -> Self {
        AlsFoldIn { gram: gram(&factors.items, factors.dim, regularization), regularization, alpha }
    }
}

impl FoldIn for AlsFoldIn {
    fn fold_in(&self, factors: &Factors, seen: &[u32], user: &mut [f32]) {
        let conf = vec![1.0 + self.alpha; seen.len()];
        user.iter_mut().for_each(|v| *v = 0.0);
        exact_row(user, &self.gram, &factors.items, seen, &conf, &mut ExactScratch::new(factors.dim));
    }

    fn blobs(&self, vectors: SavedFactors) -> Result<Vec<Blob>> {
        let blob = AlsBlob { vectors, regularization: self.regularization, alpha: self.alpha };
        Ok(vec![encode(ALS_BLOB, &blob)?])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::models::blobs::in_memory;
    use crate::progress::NoProgress;
    use crate::synth::{generate, SynthConfig};
    use crate::value::Value;

    /// A snapshot of the synthetic data set `config`.
    fn synthetic(config: &SynthConfig) -> Snapshot {
        let data = generate(config);
        let mut indptr = vec![0];
        let mut indices = Vec::new();
        for u in 0..config.users {
            indices.extend(data.interactions.iter().filter(|p| p.0 == u).map(|p| p.1));
            indptr.push(indices.len());
        }
        Snapshot {
            n_users: config.users,
            n_items: config.items,
            indptr,
            indices,
            weights: None,
            data_version: 1,
            user_tags: Default::default(),
            item_tags: Default::default(),
        }
    }

    fn small() -> Snapshot {
        synthetic(&SynthConfig {
            users: 300,
            items: 120,
            interactions_per_user: 15,
            clusters: 6,
            ..SynthConfig::demo()
        })
    }

    fn with(pairs: &[(&str, Value)]) -> Params {
        ALS.check(&pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<Vec<_>>()).expect("params")
    }

    fn train_with(data: &Snapshot, params: &Params, progress: &dyn Progress) -> Result<Box<dyn Model>> {
        (ALS.train)(data, params, progress)
    }

    /// The trained vectors of `model` (an `als` model).
    fn vectors(model: &dyn Model) -> Factors {
        let blobs = model.blobs().expect("blobs");
        let saved: AlsBlob = Blobs::new(&in_memory(&blobs)).get(ALS_BLOB).expect("read");
        let v = saved.vectors;
        Factors { dim: v.dim as usize, users: v.users, items: v.items, item_bias: v.item_bias }
    }

    #[test]
    fn cholesky_solves_a_known_system() {
        // A = [[4, 2], [2, 3]], b = [2, 1] → x = [0.5, 0].
        let mut a = vec![4.0, 0.0, 2.0, 3.0];
        let mut b = vec![2.0, 1.0];
        assert!(cholesky_solve(&mut a, &mut b, 2));
        assert!((b[0] - 0.5).abs() < 1e-12 && b[1].abs() < 1e-12, "{b:?}");
        let mut singular = vec![1.0, 0.0, 1.0, 1.0];
        assert!(!cholesky_solve(&mut singular, &mut [1.0, 1.0], 2));
    }

    #[test]
    fn cg_and_cholesky_agree_on_one_row() {
        let (k, n) = (8, 40);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let y: Vec<f32> = (0..n * k).map(|_| rng.random::<f32>() - 0.5).collect();
        let g = gram(&y, k, 0.5);
        let ids: Vec<u32> = (0..n as u32).step_by(3).collect();
        let conf: Vec<f32> = ids.iter().map(|&i| 1.0 + i as f32 / 4.0).collect();
        let mut exact = vec![0f32; k];
        exact_row(&mut exact, &g, &y, &ids, &conf, &mut ExactScratch::new(k));
        let mut cg = vec![0f32; k];
        let scratch = &mut CgScratch::new(k);
        dispatch(CgRow { x: &mut cg, g: &g, y: &y, ids: &ids, conf: &conf, steps: k, scratch });
        for (a, b) in cg.iter().zip(&exact) {
            assert!((a - b).abs() < 1e-4 * (1.0 + b.abs()), "cg {cg:?} vs exact {exact:?}");
        }
    }

    #[test]
    fn cg_and_cholesky_training_agree_on_a_small_problem() {
        let data = small();
        let base = [
            ("factors", Value::Int(8)),
            ("iterations", Value::Int(10)),
            ("regularization", Value::Float(1.0)),
        ];
        let mut cg = base.to_vec();
        cg.push(("cg_steps", Value::Int(8)));
        let mut exact = base.to_vec();
        exact.push(("solver", Value::from("cholesky")));
        let cg = vectors(train_with(&data, &with(&cg), &NoProgress).expect("cg").as_ref());
        let exact = vectors(train_with(&data, &with(&exact), &NoProgress).expect("cholesky").as_ref());
        // Alternating solves amplify the f32 rounding of each step a little: compare relative norms.
        for (a, b, side) in [(&cg.users, &exact.users, "users"), (&cg.items, &exact.items, "items")] {
            let diff = a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt();
            let norm = b.iter().map(|y| y * y).sum::<f32>().sqrt();
            assert!(diff < 1e-2 * norm, "{side}: |cg - cholesky| = {diff}, |cholesky| = {norm}");
        }
    }

    #[test]
    fn fold_in_gives_back_the_trained_vector() {
        let data = small();
        for (solver, tolerance) in [("cholesky", 1e-4), ("cg", 2e-2)] {
            let params = with(&[
                ("factors", Value::Int(16)),
                ("regularization", Value::Float(2.0)),
                ("solver", Value::from(solver)),
            ]);
            let model = train_with(&data, &params, &NoProgress).expect("train");
            let f = vectors(model.as_ref());
            let fold = AlsFoldIn::new(&f, 2.0, 9.0);
            for u in [0u32, 17, 123, 299] {
                let trained = f.user(u).expect("trained");
                let mut folded = vec![0f32; f.dim];
                fold.fold_in(&f, data.row(u), &mut folded);
                let norm = trained.iter().map(|v| v * v).sum::<f32>().sqrt();
                let diff = trained.iter().zip(&folded).map(|(a, b)| (a - b) * (a - b)).sum::<f32>().sqrt();
                assert!(diff <= tolerance * norm, "{solver}, user {u}: |Δ| = {diff}, |x| = {norm}");
            }
        }
    }

    #[test]
    fn training_is_deterministic_for_a_seed() {
        let data = small();
        let params = with(&[("factors", Value::Int(8)), ("iterations", Value::Int(3))]);
        let a = vectors(train_with(&data, &params, &NoProgress).expect("a").as_ref());
        let b = vectors(train_with(&data, &params, &NoProgress).expect("b").as_ref());
        assert_eq!(a, b);
        let other =
            with(&[("factors", Value::Int(8)), ("iterations", Value::Int(3)), ("seed", Value::Int(7))]);
        assert_ne!(a, vectors(train_with(&data, &other, &NoProgress).expect("c").as_ref()));
    }

    #[test]
    fn weights_raise_the_confidence() {
        let by = Confidences::by_user(
            &Snapshot {
                n_users: 2,
                n_items: 3,
                indptr: vec![0, 2, 3],
                indices: vec![0, 2, 1],
                weights: Some(vec![1.0, 3.0, -2.0]),
                data_version: 1,
                user_tags: Default::default(),
                item_tags: Default::default(),
            },
            2.0,
        );
        assert_eq!(by.confidence, [3.0, 7.0, 1.0]);
        let t = by.transpose(3);
        assert_eq!(
            (t.indptr, t.indices, t.confidence),
            (vec![0, 1, 2, 3], vec![0, 1, 0], vec![3.0, 1.0, 7.0])
        );
    }

    #[test]
    fn cancelling_stops_training() {
        struct Stop;
        impl Progress for Stop {
            fn update(&self, _: &str, done: u64, _: u64) -> bool {
                done < 1
            }
        }
        let err = train_with(&small(), &with(&[("factors", Value::Int(4))]), &Stop).err().expect("cancelled");
        assert!(matches!(err.kind(), ErrorKind::Cancelled(what) if what == "training"), "{err}");
    }

    #[test]
    fn corrupt_settings_are_refused_on_load() {
        let model = train_with(&small(), &with(&[("factors", Value::Int(4))]), &NoProgress).expect("train");
        let blobs = model.blobs().expect("blobs");
        assert!((ALS.load)(&Blobs::new(&in_memory(&blobs))).is_ok());
        let saved: AlsBlob = Blobs::new(&in_memory(&blobs)).get(ALS_BLOB).expect("read");
        let bad = [encode(ALS_BLOB, &AlsBlob { regularization: -1.0, ..saved }).expect("encode")];
        let err = (ALS.load)(&Blobs::new(&in_memory(&bad))).err().expect("refused");
        assert!(matches!(err.kind(), ErrorKind::Corrupt(_)), "{err:?}");
        assert!(err.message().contains("fold-in regularization -1"), "{err}");
    }
}
