//! `corml`: collaborative residual metric learning (Wei, Ma and Chow, SIGIR 2023; spec
//! `models/corml.md`). A user's scores are
//!
//! ```text
//! y_u = c · max(0, ((r_u ∘ d^{-1/2}) V Vᵀ − r_u ∘ diag(V Vᵀ)) ∘ d^{1/2})  +  ((r_u ∘ d^{-t}) H) ∘ d^{t}
//! ```
//!
//! with `c = 1/λ − 1`, `d` the training item degrees, `V` the top `k` eigenvectors of the normalised
//! item-item matrix ([`spectral`]) and `H` a symmetric, non-negative, zero-diagonal item-item matrix
//! learned by ADMM ([`admm`]) block by block ([`partition`]), kept sparse under a storage budget
//! ([`sparse`]). The clip of the spectral part is on the user's aggregated score (the authors' code; it
//! beat the element-wise clip of the paper on MovieLens-1M). A user is scored from its items alone, so
//! users who arrived after training need no fold-in. Everything is `f32`.

mod admm;
mod partition;
mod screen;
mod sparse;
mod spectral;

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use recodb_storage::prefetch::{pipelined, prefetch};
use recodb_storage::rkyv;
use recodb_storage::Snapshot;

use super::blobs::{encode, Blob, Blobs};
use super::factors::{picked_rows_dot, rows_dot, SCORE_BLOCK};
use super::topk::{best_of, top_k};
use super::{Algorithm, HeapBytes, Model, Param, Params};
use crate::error::{Error, Result};
use crate::progress::Progress;
use screen::Quantised;
use sparse::{Csr, Kept};

/// The corml algorithm.
pub const CORML: Algorithm = Algorithm {
    name: "corml",
    about: "CoRML, residual metric learning over an item-item matrix: a spectral part plus a sparse \
            learned part (ADMM), items partitioned into blocks on large catalogues",
    parameters: &[
        Param::fraction(
            "lambda",
            Some(0.9),
            "weight λ of the learned part against the spectral part (1: the learned part alone)",
        ),
        Param::number("t", 0.2, "item-degree normalisation t; larger recommends more popular items"),
        Param::positive(
            "rho",
            10.0,
            "ADMM penalty ρ; the authors' 5000 stops far from the optimum within the iterations",
        ),
        Param::non_negative("theta", 0.1, "L2 weight θ on the learned matrix, scaled by item degree"),
        Param::positive("epsilon", 1.0, "global scaling ε of the approximated ranking weights"),
        Param::non_negative("t_u", 0.0, "user-degree scaling t_u of the ranking weights (0: none)"),
        Param::int("k", 256, 1, 4096, "spectral vectors (top eigenvectors); at most the items"),
        Param::int(
            "iterations",
            30,
            1,
            10_000,
            "ADMM iterations, all run (no convergence test; the authors' code runs 50)",
        ),
        Param::positive(
            "relaxation",
            1.7,
            "ADMM over-relaxation α, below 2: above 1 converges in fewer iterations (1: none, as the \
             authors' code)",
        ),
        Param::non_negative("threshold", 0.0005, "learned entries below it are dropped"),
        Param::int(
            "budget",
            64,
            0,
            4096,
            "storage: the learned matrix holds at most as many numbers as an embedding model of this \
             dimension (0: no budget)",
        ),
        Param::fraction(
            "partition_ratio",
            None,
            "largest block as a fraction of the items (auto: at most 4096 items per block, fewer when \
             memory is short); blocks cost time as their size cubed",
        ),
        Param::seed("seed", 42, "seed of the random start of the spectral iterations"),
    ],
    train,
    load: from_blobs,
};

/// The largest block `partition_ratio = auto` gives: the set-up and the ADMM cost about 65·n³ flops per
/// block of `n` items at the default 30 iterations (two per iteration, three for the set-up): about
/// 4.5·10¹² for 4,096 items.
pub const DEFAULT_BLOCK: usize = 4096;

/// Bytes of dense buffers per squared block size: five `n × n` `f32` matrices during the ADMM.
const BYTES_PER_SQUARE: u64 = 5 * 4;

/// The widening of the Cauchy–Schwarz bound of [`Model::best_items`]'s first pass, for the rounding
/// of the `f32` norms and products (a few units in the last place; this is a thousand times more).
const CAUCHY_SCHWARZ_SLACK: f32 = 1.001;

/// Entries of a learned row (a column and a value, 8 bytes) per 64-byte cache line.
const ENTRIES_PER_LINE: usize = 8;

/// The first lines of a learned row prefetched before its scatter (the hardware prefetcher follows on).
const LINES_AHEAD: usize = 2;

/// The blob of a corml model.
#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[rkyv(crate = recodb_storage::rkyv)]
pub struct CormlBlob {
    /// Items the model knows.
    pub items: u32,
    /// Spectral vectors per item.
    pub k: u32,
    /// The weight λ of the learned part.
    pub lambda: f32,
    /// The item-degree normalisation t.
    pub t: f32,
    /// Training degree of each item, clamped at 1.
    pub degrees: Vec<f32>,
    /// Row offsets of the learned symmetric matrix `H` (CSR), `items + 1` of them.
    pub indptr: Vec<u64>,
    /// Column ids of `H`, row by row, ascending within a row.
    pub indices: Vec<u32>,
    /// Values of `H`, aligned with `indices`.
    pub values: Vec<f32>,
    /// The spectral vectors, item-major: item `i`'s are `vectors[i·k..(i+1)·k]`.
    pub vectors: Vec<f32>,
}

/// The name of [`CormlBlob`].
pub const CORML_BLOB: &str = "corml";

/// The parameters as training reads them.
pub(crate) struct Settings {
    lambda: f32,
    t: f32,
    theta: f32,
    rho: f32,
    epsilon: f32,
    t_u: f32,
    k: usize,
    iterations: u64,
    relaxation: f32,
    threshold: f32,
    budget: usize,
    partition_ratio: Option<f64>,
    seed: u64,
}

impl Settings {
    /// The checked parameters, with `k` checked against the catalogue's `items`.
    fn read(params: &Params, items: u32) -> Result<Settings> {
        let relaxation = params.float("relaxation")?;
        if relaxation >= 2.0 {
            let range = "a number greater than 0 and below 2";
            return Err(Error::invalid("relaxation", range, relaxation.to_string()).in_context("corml"));
        }
        let k = params.int("k")?;
        if items > 0 && k > i64::from(items) {
            let range = format!("an integer from 1 to {items} (the items in the catalogue)");
            return Err(Error::invalid("k", range, k.to_string()).in_context("corml"));
        }
        Ok(Settings {
            lambda: params.float("lambda")? as f32,
            t: params.float("t")? as f32,
            theta: params.float("theta")? as f32,
            rho: params.float("rho")? as f32,
            epsilon: params.float("epsilon")? as f32,
            t_u: params.float("t_u")? as f32,
            k: k as usize,
            iterations: params.int("iterations")? as u64,
            relaxation: relaxation as f32,
            threshold: params.float("threshold")? as f32,
            budget: params.int("budget")? as usize,
            partition_ratio: params.auto_float("partition_ratio")?,
            seed: params.seed("seed")?,
        })
    }
}

/// The most items a block may have: `partition_ratio · items` when given, else [`DEFAULT_BLOCK`];
/// either way no more than the ADMM buffers of half the `memory` available (bytes; `None`: unknown)
/// hold. A given ratio whose blocks cannot fit is refused.
fn block_limit(ratio: Option<f64>, items: usize, memory: Option<u64>) -> Result<usize> {
    let fits = memory.map(|m| ((m / 2 / BYTES_PER_SQUARE) as f64).sqrt() as usize);
    match ratio {
        None => Ok(fits.map_or(DEFAULT_BLOCK, |f| f.min(DEFAULT_BLOCK)).max(1)),
        Some(r) => {
            let limit = ((r * items as f64) as usize).max(1);
            match fits {
                Some(f) if limit.min(items) > f => {
                    let most = f as f64 / items as f64;
                    let range = format!(
                        "a number greater than 0 and at most {most:.4} here (blocks of more than {f} items \
                         need more than half the {:.1} GiB of memory available)",
                        memory.unwrap_or(0) as f64 / f64::from(1u32 << 30)
                    );
                    Err(Error::invalid("partition_ratio", range, r.to_string()).in_context("corml"))
                }
                _ => Ok(limit),
            }
        }
    }
}

/// The memory available to new allocations (Linux's `MemAvailable`), or `None` when unknown.
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Training degree of every item, clamped at 1.
fn item_degrees(data: &Snapshot) -> Vec<f32> {
    let mut counts = vec![0u32; data.n_items as usize];
    for &i in &data.indices {
        counts[i as usize] += 1;
    }
    counts.into_iter().map(|c| c.max(1) as f32).collect()
}

/// `φ'_u = (d_u / max d)^(−t_u)` of every user, or `None` when `t_u = 0` (all 1).
fn user_weights(data: &Snapshot, t_u: f32) -> Option<Vec<f32>> {
    if t_u == 0.0 {
        return None;
    }
    let degree = |u: u32| data.row(u).len().max(1) as f32;
    let most = (0..data.n_users).map(degree).fold(1.0f32, f32::max);
    Some((0..data.n_users).map(|u| (degree(u) / most).powf(-t_u)).collect())
}

fn train(data: &Snapshot, params: &Params, progress: &dyn Progress) -> Result<Box<dyn Model>> {
    Ok(Box::new(learn(data, &Settings::read(params, data.n_items)?, progress)?))
}

/// Trains a model on `data`: spectral vectors, blocks, one ADMM per block, the budget.
fn learn(data: &Snapshot, settings: &Settings, progress: &dyn Progress) -> Result<CormlModel> {
    let n = data.n_items as usize;
    let degrees = item_degrees(data);
    if n == 0 {
        let empty = Csr::from_entries(0, std::iter::empty());
        return CormlModel::new(settings.lambda, settings.t, 0, degrees, empty, Vec::new());
    }
    let all: Vec<u32> = (0..data.n_items).collect();
    let op = spectral::Normalised::new(data, &all, &degrees);
    let vectors = spectral::top_eigenvectors(
        &op,
        settings.k,
        spectral::PRODUCTS,
        settings.seed,
        progress,
        "train corml: spectral vectors",
    )?;
    drop(op);
    let limit = block_limit(settings.partition_ratio, n, available_memory())?;
    let blocks = partition::blocks(data, &degrees, limit, settings.seed, progress)?;
    let shared = admm::Shared {
        data,
        degrees: &degrees,
        user_weights: user_weights(data, settings.t_u),
        vectors: &vectors,
        settings,
    };
    let budget = (settings.budget > 0).then(|| (data.n_users as usize + n) * settings.budget);
    let mut kept = Kept::new(n, budget);
    for (b, block) in blocks.iter().enumerate() {
        let phase = format!("train corml: ADMM, block {} of {} ({} items)", b + 1, blocks.len(), block.len());
        let solved = admm::solve(&shared, block, progress, &phase)?;
        if let Some(last) = solved.residuals.last() {
            let done = format!("{phase}: done, primal residual ‖H − Z‖ {last:.2e}");
            progress.update(&done, settings.iterations, settings.iterations);
        }
        kept.add(solved.entries);
    }
    if !progress.update("train corml: sparse matrix", 0, 1) {
        return Err(Error::cancelled("training"));
    }
    let learned = kept.symmetric();
    progress.update("train corml: sparse matrix", 1, 1);
    CormlModel::new(settings.lambda, settings.t, settings.k, degrees, learned, vectors)
}

fn from_blobs(blobs: &Blobs<'_>) -> Result<Box<dyn Model>> {
    let blob: CormlBlob = blobs.get(CORML_BLOB)?;
    let n = blob.items as usize;
    let corrupt = |what: &str| Error::corrupt(format!("corml blob: {what}"));
    if blob.degrees.len() != n {
        return Err(corrupt(&format!("{} degrees for {n} items", blob.degrees.len())));
    }
    if blob.indptr.len() != n + 1
        || blob.indptr.first() != Some(&0)
        || blob.indptr.windows(2).any(|w| w[0] > w[1])
        || blob.indptr.last().copied() != Some(blob.indices.len() as u64)
        || blob.values.len() != blob.indices.len()
    {
        return Err(corrupt("the row offsets of the learned matrix do not match its entries"));
    }
    if blob.indices.iter().any(|&j| j as usize >= n) {
        return Err(corrupt("the learned matrix names an item past the model's items"));
    }
    let indptr = blob.indptr.iter().map(|&p| p as usize).collect();
    let learned = Csr { indptr, indices: blob.indices, values: blob.values };
    Ok(Box::new(CormlModel::new(blob.lambda, blob.t, blob.k as usize, blob.degrees, learned, blob.vectors)?))
}

/// A trained corml model: the spectral vectors and the sparse learned matrix, with the degree scalings
/// scoring reads.
pub struct CormlModel {
    n: usize,
    k: usize,
    lambda: f32,
    t: f32,
    /// `c = 1/λ − 1`, the weight of the spectral part.
    spectral_weight: f32,
    degrees: Vec<f32>,
    learned: Csr,
    /// `k × n`, column-major (item-major).
    vectors: Vec<f32>,
    /// The same vectors in 8 bits, for [`Model::best_items`]'s screen.
    quantised: Quantised,
    /// `(j, d_i^{-t} H_ij d_j^t)` for each entry of `learned`, in its order: what item `i` adds to
    /// item `j`'s score, interleaved so that a user's scatter reads one stream.
    learned_scaled: Vec<(u32, f32)>,
    /// `d^{-1/2}` and `d^{1/2}`, `‖V_i‖²` (the self-loop of the spectral part) and `‖V_i‖`, per item.
    inv_sqrt: Vec<f32>,
    sqrt: Vec<f32>,
    self_loop: Vec<f32>,
    norms: Vec<f32>,
}

impl CormlModel {
    /// The model from its parts, checked: a corrupt-model error when they do not fit together.
    fn new(
        lambda: f32,
        t: f32,
        k: usize,
        degrees: Vec<f32>,
        learned: Csr,
        vectors: Vec<f32>,
    ) -> Result<CormlModel> {
        let n = degrees.len();
        let corrupt = |what: &str| Err(Error::corrupt(format!("corml model: {what}")));
        if !(lambda > 0.0 && lambda <= 1.0 && t.is_finite()) {
            return corrupt(&format!("λ = {lambda} and t = {t} are out of range"));
        }
        if n.checked_mul(k) != Some(vectors.len())
            || (n > 0 && k == 0)
            || vectors.iter().any(|v| !v.is_finite())
        {
            return corrupt(&format!("{} spectral values for {n} items of {k}", vectors.len()));
        }
        if degrees.iter().any(|d| !(d.is_finite() && *d >= 1.0)) {
            return corrupt("an item degree is below 1 or not finite");
        }
        if learned.rows() != n || learned.values.iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
            return corrupt("the learned matrix has the wrong size or a negative or non-finite value");
        }
        let per_item = |f: &dyn Fn(f32) -> f32| degrees.iter().map(|&d| f(d)).collect::<Vec<f32>>();
        let (down, up) = (per_item(&|d| d.powf(-t)), per_item(&|d| d.powf(t)));
        let mut learned_scaled = Vec::with_capacity(learned.values.len());
        for (i, &down) in down.iter().enumerate() {
            let (columns, values) = learned.row(i);
            learned_scaled.extend(columns.iter().zip(values).map(|(&j, &h)| (j, down * h * up[j as usize])));
        }
        let self_loop: Vec<f32> = vectors.chunks(k.max(1)).map(|v| v.iter().map(|x| x * x).sum()).collect();
        Ok(CormlModel {
            n,
            k,
            lambda,
            t,
            spectral_weight: 1.0 / lambda - 1.0,
            quantised: Quantised::new(&vectors, k),
            learned_scaled,
            inv_sqrt: per_item(&|d| 1.0 / d.sqrt()),
            sqrt: per_item(&|d| d.sqrt()),
            norms: self_loop.iter().map(|s| s.sqrt()).collect(),
            self_loop,
            degrees,
            learned,
            vectors,
        })
    }

    /// Writes the user's `y = Σ_{i∈seen} d_i^{-1/2} V_i` (`k` long) into `y`.
    fn spectral_vector(&self, seen: &[u32], y: &mut [f32]) {
        let k = self.k;
        y.iter_mut().for_each(|x| *x = 0.0);
        for &i in seen.iter().filter(|&&i| (i as usize) < self.n) {
            let w = self.inv_sqrt[i as usize];
            let v = &self.vectors[i as usize * k..(i as usize + 1) * k];
            y.iter_mut().zip(v).for_each(|(y, v)| *y += w * v);
        }
    }

    /// What a user's seen items add to each item's score beside `V_j · y`: the self-loop the spectral
    /// part takes off (before its clip), and the learned part `Σ_{i∈seen} d_i^{-t} H_ij d_j^t`.
    ///
    /// The rows are far apart in memory and the scatter waits on each row's first lines: the rows a few
    /// seen items ahead are prefetched.
    fn user_terms(&self, seen: &[u32]) -> UserTerms {
        let mut terms = UserTerms { self_loop: vec![0f32; self.n], learned: vec![0f32; self.n] };
        let start = |i: u32| self.learned.indptr.get(i as usize).copied();
        let ahead = |&i: &u32| {
            if let Some(at) = start(i) {
                for line in 0..LINES_AHEAD {
                    prefetch(self.learned_scaled.get(at + line * ENTRIES_PER_LINE));
                }
            }
        };
        pipelined(seen, ahead, |&i| {
            if (i as usize) < self.n {
                terms.self_loop[i as usize] = self.self_loop[i as usize];
                let entries = self.learned.indptr[i as usize]..self.learned.indptr[i as usize + 1];
                for &(j, v) in &self.learned_scaled[entries] {
                    terms.learned[j as usize] += v;
                }
            }
        });
        terms
    }

    /// Item `j`'s score from its `dot = V_j · y` and the user's terms: the clipped spectral part plus
    /// the learned part. Non-decreasing in `dot`, which [`Model::best_items`]'s bounds rely on.
    #[inline]
    fn combine(&self, j: usize, dot: f32, terms: &UserTerms) -> f32 {
        combined(self.spectral_weight, dot, self.sqrt[j], terms.self_loop[j], terms.learned[j])
    }

    /// Turns `row`, holding `V_j · y` for the user's `y = Σ_{i∈seen} d_i^{-1/2} V_i`, into the user's
    /// scores.
    fn finish(&self, seen: &[u32], row: &mut [f32]) {
        self.combine_all(row, &self.user_terms(seen));
    }

    /// [`CormlModel::combine`] for every item, in place: `values` holds each item's `V_j · y` and
    /// becomes its score.
    fn combine_all(&self, values: &mut [f32], terms: &UserTerms) {
        let per_item = self.sqrt.iter().zip(&terms.self_loop).zip(&terms.learned);
        for (s, ((&sqrt, &self_loop), &learned)) in values.iter_mut().zip(per_item) {
            *s = combined(self.spectral_weight, *s, sqrt, self_loop, learned);
        }
    }
}

/// The ids of the `values` at or above `floor`, without a branch per value (which of them pass is
/// unpredictable, and a mispredicted branch per item cost more than the rest of the pass).
fn above(values: &[f32], floor: f32) -> Vec<u32> {
    let mut ids = vec![0u32; values.len()];
    let mut kept = 0;
    for (j, &v) in values.iter().enumerate() {
        ids[kept] = j as u32;
        kept += usize::from(v >= floor);
    }
    ids.truncate(kept);
    ids
}

/// `c · max(0, dot · √d_j − self_loop_j) + learned_j`: one item's score (see the module's formula).
#[inline(always)]
fn combined(c: f32, dot: f32, sqrt: f32, self_loop: f32, learned: f32) -> f32 {
    c * (dot * sqrt - self_loop).max(0.0) + learned
}

/// A user's terms of [`CormlModel::combine`], per item.
struct UserTerms {
    /// `‖V_j‖²` for the user's seen items, 0 for the others.
    self_loop: Vec<f32>,
    /// The learned part of each item's score.
    learned: Vec<f32>,
}

impl Model for CormlModel {
    fn n_items(&self) -> u32 {
        self.n as u32
    }

    /// One user: `V_j · y` for every item `j` by the vector kernel of the factor models (no matrix
    /// product for a single column, no block buffer), then the clip and the gather.
    fn score(&self, _user: u32, seen: &[u32], scores: &mut [f32]) {
        let (n, k) = (self.n, self.k);
        if n == 0 || scores.len() < n {
            return;
        }
        let mut y = vec![0f32; k];
        self.spectral_vector(seen, &mut y);
        let scores = &mut scores[..n];
        rows_dot(&self.vectors, &y, scores);
        self.finish(seen, scores);
    }

    /// A floor, then three passes, each on the items the one before could not rule out, each keeping
    /// an item only when an upper bound on its score reaches the floor among the items `keep` accepts:
    /// Cauchy–Schwarz (`|V_j · y| ≤ ‖V_j‖ ‖y‖`; the clipped spectral part is at least 0), then the
    /// 8-bit screen ([`screen`]), then exact scores. The floor is the `wanted`-th best lower bound from
    /// the screen of the `2 · wanted` items with the largest learned parts (a score is at least its
    /// learned part, so these are likely near the top). An item of the true top `wanted` scores at
    /// least that floor, so the answer is [`Model::score`]'s; on MovieLens-1M the first pass leaves
    /// about a twelfth of the items and the screen about `wanted`. (Raising the floor again by the
    /// survivors' lower bounds took 0.6 of 12 candidates off the exact pass: not worth its cost.)
    fn best_items(
        &self,
        _user: u32,
        seen: &[u32],
        wanted: usize,
        keep: &dyn Fn(u32) -> bool,
    ) -> Option<Vec<(u32, f32)>> {
        if self.n == 0 || wanted == 0 {
            return None;
        }
        let mut y = vec![0f32; self.k];
        self.spectral_vector(seen, &mut y);
        let query = self.quantised.query(&y)?;
        let terms = self.user_terms(seen);
        // The screened items' scores at the low (`sign` −1) or high (+1) end of their bounds.
        let bounds = |items: &[u32], sign: f32| {
            let screened = query.screen(items);
            let at = |i: usize| screened.approx[i] + sign * screened.error[i];
            items.iter().enumerate().map(|(i, &j)| (j, self.combine(j as usize, at(i), &terms))).collect()
        };
        let floor_of = |best: Vec<(u32, f32)>| match best.last() {
            Some(&(_, f)) if best.len() == wanted => f,
            _ => f32::NEG_INFINITY,
        };
        let seeds: Vec<u32> = top_k(&terms.learned, 2 * wanted, keep).into_iter().map(|(j, _)| j).collect();
        let floor = floor_of(best_of(bounds(&seeds, -1.0), wanted));
        let norm = y.iter().map(|x| x * x).sum::<f32>().sqrt() * CAUCHY_SCHWARZ_SLACK;
        let mut upper: Vec<f32> = self.norms.iter().map(|&v| v * norm).collect();
        self.combine_all(&mut upper, &terms);
        let mut survivors = above(&upper, floor);
        survivors.retain(|&j| keep(j));
        let candidates: Vec<u32> = bounds(&survivors, 1.0)
            .into_iter()
            .filter(|&(_, upper)| upper >= floor)
            .map(|(j, _)| j)
            .collect();
        let mut dots = vec![0f32; candidates.len()];
        picked_rows_dot(&self.vectors, &candidates, &y, &mut dots);
        let exact = candidates.iter().zip(dots).map(|(&j, dot)| (j, self.combine(j as usize, dot, &terms)));
        Some(best_of(exact.collect(), wanted))
    }

    /// The spectral part of a block of users as one matrix product (`Vᵀ` times their `y`), then each
    /// user's clip and sparse gather.
    fn score_batch(&self, users: &[(u32, &[u32])], scores: &mut [f32]) {
        let (n, k) = (self.n, self.k);
        if n == 0 {
            return;
        }
        let vectors = MatRef::from_column_major_slice(&self.vectors, k, n);
        let mut block = vec![0f32; SCORE_BLOCK * k];
        for (chunk, out) in users.chunks(SCORE_BLOCK).zip(scores.chunks_mut(SCORE_BLOCK * n)) {
            let b = chunk.len().min(out.len() / n);
            for (&(_, seen), y) in chunk.iter().zip(block.chunks_exact_mut(k)) {
                self.spectral_vector(seen, y);
            }
            let lhs = MatRef::from_column_major_slice(&block[..b * k], k, b);
            let dst = MatMut::from_column_major_slice_mut(&mut out[..b * n], n, b);
            matmul(dst, Accum::Replace, vectors.transpose(), lhs, 1.0, Par::Seq);
            for (&(_, seen), row) in chunk.iter().zip(out[..b * n].chunks_exact_mut(n)) {
                self.finish(seen, row);
            }
        }
    }

    /// The scores of a user who has only `item`: the item's row of the learned matrix (scaled) plus the
    /// clipped spectral similarity.
    fn similar_items(&self, item: u32, scores: &mut [f32]) -> Result<()> {
        if (item as usize) < self.n {
            self.score(0, &[item], scores);
        } else {
            scores.iter_mut().for_each(|s| *s = 0.0);
        }
        Ok(())
    }

    fn blobs(&self) -> Result<Vec<Blob>> {
        let blob = CormlBlob {
            items: self.n as u32,
            k: self.k as u32,
            lambda: self.lambda,
            t: self.t,
            degrees: self.degrees.clone(),
            indptr: self.learned.indptr.iter().map(|&p| p as u64).collect(),
            indices: self.learned.indices.clone(),
            values: self.learned.values.clone(),
            vectors: self.vectors.clone(),
        };
        Ok(vec![encode(CORML_BLOB, &blob)?])
    }

    fn memory_bytes(&self) -> usize {
        let learned = self.learned.heap_bytes() + self.learned_scaled.heap_bytes();
        let vectors = self.vectors.heap_bytes() + self.quantised.heap_bytes();
        let per_item = [&self.degrees, &self.inv_sqrt, &self.sqrt, &self.self_loop, &self.norms];
        learned + vectors + per_item.iter().map(|v| v.heap_bytes()).sum::<usize>()
    }
}

#[cfg(test)]
mod tests;
