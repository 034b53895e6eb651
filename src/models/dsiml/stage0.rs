//! Stage 0, the continuous variant ("Ours-real", dsiml.md §4.3 as calibrated in §6.9): real user and item
//! vectors of dimension `r` trained on the same softplus objective as the codes (angular term plus
//! ranking term, [`Objective`] with `S = 1`), by Adam on minibatches of [`BATCH`] triplets, each row
//! projected back onto the sphere of radius `R` after every step. An epoch takes every training pair
//! once, in a seeded random order, with one fresh uniform negative each.
//!
//! The gradients are linear in the vectors (dsiml.md §9): with `gx = a·σ(a·x)` and `gy = λσ(y)`,
//! `∂/∂u = gx(v_k − v_j)/(2r) + gy(2γ²v_k − (1+γ²)v_j)`, `∂/∂v_j = −gx·u/(2r) + gy(2γ²v_k − (1+γ²)u)` and
//! `∂/∂v_k = gx·u/(2r) + gy·2γ²(u + v_j)`. The gradients run in parallel over the batch; the sampling,
//! the gradient accumulation and the (lazy: see [`Adam`]) step are sequential, so the result depends on
//! the seed only.

use rand::RngExt;
use rayon::prelude::*;

use super::bound::{sigmoid, softplus, Objective};
use super::triplets::{below, generator, negative};
use crate::error::{Error, Result};
use crate::models::nn::adam::{step_size, update};
use crate::progress::Progress;

/// Triplets per Adam step.
pub const BATCH: usize = 4096;
/// Triplets per parallel task of a step.
const CHUNK: usize = 256;
/// Stream number of the stage-0 generators.
const STREAM: u64 = 0x5747_0000;

/// Stage-0 settings.
#[derive(Debug, Clone, Copy)]
pub struct Stage0 {
    /// The objective (its `scale` is ignored: the radius sets the temperature).
    pub objective: Objective,
    /// Sphere radius `R`.
    pub radius: f32,
    /// Passes over the training pairs.
    pub epochs: usize,
    /// Adam's step size.
    pub learning_rate: f32,
    /// Seed.
    pub seed: u64,
}

/// Adam's moments for one matrix, stepped lazily: a step moves only the rows that the batch touched
/// (as TensorFlow's LazyAdam and PyTorch's SparseAdam do), so that it costs the batch and not the
/// catalogue. A dense step over every row made an epoch cost `pairs / BATCH × (users + items)`: 16
/// minutes for 10 epochs at 5M interactions, against 26 s at 1M (`examples/scale.rs`).
struct Adam {
    m: Vec<f32>,
    v: Vec<f32>,
    /// The rows with a gradient since the last step, each once.
    touched: Vec<u32>,
    /// Whether each row is in `touched`.
    is_touched: Vec<bool>,
}

impl Adam {
    fn new(rows: usize, dim: usize) -> Self {
        Adam {
            m: vec![0.0; rows * dim],
            v: vec![0.0; rows * dim],
            touched: Vec::new(),
            is_touched: vec![false; rows],
        }
    }

    /// Marks `row` as having a gradient for the next step.
    fn touch(&mut self, row: usize) {
        if !self.is_touched[row] {
            self.is_touched[row] = true;
            self.touched.push(row as u32);
        }
    }

    /// One step on the touched rows of `params` (rows of `dim`) with gradient `grad` (then zeroed),
    /// step size `lr` (bias corrections included), each row projected onto the sphere of radius
    /// `radius`.
    fn step(&mut self, params: &mut [f32], grad: &mut [f32], dim: usize, lr: f32, radius: f32) {
        for row in self.touched.drain(..) {
            let row = row as usize;
            self.is_touched[row] = false;
            let span = row * dim..(row + 1) * dim;
            let (p, g) = (&mut params[span.clone()], &mut grad[span.clone()]);
            update(p, g, &mut self.m[span.clone()], &mut self.v[span], lr);
            g.fill(0.0);
            project(p, radius);
        }
    }
}

/// Scales `row` to norm `radius` (a zero row stays zero).
fn project(row: &mut [f32], radius: f32) {
    let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        let f = radius / norm;
        row.iter_mut().for_each(|x| *x *= f);
    }
}

/// The dot product of two equally long vectors, in eight lanes (so that it vectorises).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `y += x` for equally long vectors.
fn add(y: &mut [f32], x: &[f32]) {
    y.iter_mut().zip(x).for_each(|(a, b)| *a += b);
}

/// Trains the real vectors of `n_users` users and `n_items` items whose positives `rows(u)` gives;
/// returns `(users, items)`, row-major with `r = objective.bits` values per row.
pub fn train<'a>(
    s: &Stage0,
    n_users: usize,
    n_items: usize,
    rows: &(dyn Fn(u32) -> &'a [u32] + Sync),
    progress: &dyn Progress,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let o = s.objective;
    let dim = o.bits;
    let mut rng = generator(s.seed, STREAM, 0);
    let mut init = |n: usize| -> Vec<f32> {
        let mut v: Vec<f32> = (0..n * dim).map(|_| rng.random::<f32>() - 0.5).collect();
        v.chunks_exact_mut(dim).for_each(|r| project(r, s.radius));
        v
    };
    let (mut users, mut items) = (init(n_users), init(n_items));
    let pairs: Vec<(u32, u32)> =
        (0..n_users as u32).flat_map(|u| rows(u).iter().map(move |&j| (u, j))).collect();
    let (mut gu, mut gi) = (vec![0f32; users.len()], vec![0f32; items.len()]);
    let (mut adam_u, mut adam_i) = (Adam::new(n_users, dim), Adam::new(n_items, dim));
    let (g2, g1) = o.angular_coefficients();
    let (g2, g1) = (g2 as f32, g1 as f32);
    let inv2r = 1.0 / (2.0 * dim as f32);
    let (lambda, a, offset) = (o.lambda as f32, o.rank_scale as f32, o.offset as f32);
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    let mut t = 0i32;
    let mut batch_triplets: Vec<(usize, usize, usize)> = Vec::with_capacity(BATCH);
    let mut grads = vec![0f32; BATCH * 3 * dim];
    for epoch in 0..s.epochs {
        for i in (1..order.len()).rev() {
            order.swap(i, below(&mut rng, i + 1));
        }
        let mut loss = 0f64;
        let mut count = 0usize;
        for batch in order.chunks(BATCH) {
            batch_triplets.clear();
            for &p in batch {
                let (u, j) = pairs[p];
                if let Some(k) = negative(&mut rng, n_items, rows(u)) {
                    batch_triplets.push((u as usize * dim, j as usize * dim, k as usize * dim));
                }
            }
            if batch_triplets.is_empty() {
                continue;
            }
            let inv = 1.0 / batch_triplets.len() as f32;
            // The gradient rows (user, positive, negative) of every triplet, in parallel.
            let (users_ref, items_ref) = (&users, &items);
            let losses: Vec<f64> = batch_triplets
                .par_chunks(CHUNK)
                .zip(grads.par_chunks_mut(CHUNK * 3 * dim))
                .map(|(ts, out)| {
                    let mut loss = 0f64;
                    for (&(u, j, k), g) in ts.iter().zip(out.chunks_exact_mut(3 * dim)) {
                        let vu = &users_ref[u..u + dim];
                        let (vj, vk) = (&items_ref[j..j + dim], &items_ref[k..k + dim]);
                        let (uj, uk, jk) = (dot(vu, vj), dot(vu, vk), dot(vj, vk));
                        let x = a * (uk - uj) * inv2r;
                        let y = g2 * (uk + jk) - g1 * uj + offset;
                        loss += softplus(f64::from(x)) + f64::from(lambda) * softplus(f64::from(y));
                        let gx = a * sigmoid(f64::from(x)) as f32 * inv2r * inv;
                        let gy = lambda * sigmoid(f64::from(y)) as f32 * inv;
                        let (du, rest) = g.split_at_mut(dim);
                        let (dj, dk) = rest.split_at_mut(dim);
                        for d in 0..dim {
                            du[d] = gx * (vk[d] - vj[d]) + gy * (g2 * vk[d] - g1 * vj[d]);
                            dj[d] = -gx * vu[d] + gy * (g2 * vk[d] - g1 * vu[d]);
                            dk[d] = gx * vu[d] + gy * g2 * (vu[d] + vj[d]);
                        }
                    }
                    loss
                })
                .collect();
            loss += losses.iter().sum::<f64>();
            for (&(u, j, k), g) in batch_triplets.iter().zip(grads.chunks_exact(3 * dim)) {
                add(&mut gu[u..u + dim], &g[..dim]);
                add(&mut gi[j..j + dim], &g[dim..2 * dim]);
                add(&mut gi[k..k + dim], &g[2 * dim..]);
                adam_u.touch(u / dim);
                adam_i.touch(j / dim);
                adam_i.touch(k / dim);
            }
            count += batch_triplets.len();
            t += 1;
            let lr = step_size(s.learning_rate, t);
            adam_u.step(&mut users, &mut gu, dim, lr, s.radius);
            adam_i.step(&mut items, &mut gi, dim, lr, s.radius);
        }
        let mean = if count > 0 { loss / count as f64 } else { 0.0 };
        let phase = format!("dsiml stage 0: epoch {}, objective {mean:.4}", epoch + 1);
        if !progress.update(&phase, epoch as u64 + 1, s.epochs as u64) {
            return Err(Error::cancelled("training"));
        }
    }
    Ok((users, items))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;

    #[test]
    fn a_step_moves_only_the_touched_rows_and_clears_their_gradient() {
        let dim = 4;
        let mut params: Vec<f32> = (0..3 * dim).map(|x| x as f32 + 1.0).collect();
        (0..3).for_each(|r| project(&mut params[r * dim..(r + 1) * dim], 2.0));
        let before = params.clone();
        let mut grad = vec![0.5f32; 3 * dim];
        let mut adam = Adam::new(3, dim);
        adam.touch(1);
        adam.touch(1);
        adam.step(&mut params, &mut grad, dim, 0.1, 2.0);
        assert_eq!(&params[..dim], &before[..dim], "row 0 was not touched");
        assert_eq!(&params[2 * dim..], &before[2 * dim..], "row 2 was not touched");
        assert_ne!(&params[dim..2 * dim], &before[dim..2 * dim]);
        assert!((dot(&params[dim..2 * dim], &params[dim..2 * dim]).sqrt() - 2.0).abs() < 1e-5);
        assert_eq!(&grad[dim..2 * dim], &[0.0; 4], "the touched row's gradient is consumed");
        assert_eq!(grad[0], 0.5, "an untouched row's gradient waits");
        // The touched list was emptied: the next step moves nothing.
        let after = params.clone();
        adam.step(&mut params, &mut grad, dim, 0.1, 2.0);
        assert_eq!(params, after);
    }

    #[test]
    fn vectors_stay_on_the_sphere_and_training_is_seeded() {
        let rows: Vec<Vec<u32>> = (0..20u32).map(|u| (0..5).map(|t| (u % 4) * 5 + t).collect()).collect();
        let get = |u: u32| &rows[u as usize][..];
        let objective =
            Objective { bits: 8, gamma: 1.0, lambda: 1.0, scale: 1.0, rank_scale: 1.0, offset: 0.0 };
        let s = Stage0 { objective, radius: 1.5, epochs: 30, learning_rate: 0.05, seed: 3 };
        let (u, i) = train(&s, 20, 20, &get, &NoProgress).expect("train");
        assert!(u.chunks(8).chain(i.chunks(8)).all(|r| (dot(r, r).sqrt() - 1.5).abs() < 1e-4));
        assert_eq!(train(&s, 20, 20, &get, &NoProgress).expect("again"), (u.clone(), i.clone()));
        // Users score their own group's items above the others.
        let score = |user: usize, item: usize| dot(&u[user * 8..][..8], &i[item * 8..][..8]);
        for (user, row) in rows.iter().enumerate() {
            let own: f32 = row.iter().map(|&j| score(user, j as usize)).sum::<f32>() / 5.0;
            let other: f32 =
                (0..20).filter(|j| !row.contains(&(*j as u32))).map(|j| score(user, j)).sum::<f32>() / 15.0;
            assert!(own > other + 0.5, "user {user}: {own} against {other}");
        }
    }
}
