//! The learned part of corml for one block of items (spec A.4, A.5): the Gram matrices of the
//! degree-scaled interactions, the spectral matrix `G_c`, then scaled-form ADMM as the authors' code
//! runs it (zero start, fixed ρ, a fixed number of iterations, the zero diagonal kept in the H-step,
//! symmetry and non-negativity by projection), over-relaxed unless `relaxation = 1` (their code), on
//! dense `f32` buffers with faer's matrix products. Five `n × n` buffers are alive during the iterations: `A⁻¹`, `H_b`, `Z`, `Γ` and one for
//! work.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;
use recodb_storage::Snapshot;

use super::spectral::local_ids;
use super::Settings;
use crate::error::{Error, Result};
use crate::models::dense;
use crate::progress::Progress;

/// Square tiles of the projection (a cache-friendly transpose).
const TILE: usize = 64;

/// What the blocks share: the data, the global item degrees, each user's weight `φ'_u` in `Q` (`None`
/// when every weight is 1, and `Q = P`), the global spectral vectors (item-major, `k` per item) and
/// the settings.
pub(super) struct Shared<'a> {
    /// The training interactions.
    pub data: &'a Snapshot,
    /// Item degrees, clamped at 1.
    pub degrees: &'a [f32],
    /// `φ'_u` of every user, or `None` when all are 1.
    pub user_weights: Option<Vec<f32>>,
    /// The spectral vectors, `k` per item.
    pub vectors: &'a [f32],
    /// The parameters.
    pub settings: &'a Settings,
}

/// What ADMM learned for one block.
pub(super) struct Solved {
    /// The upper-triangle entries `(i, j, value)`, `i < j` (global ids), of at least the threshold.
    pub entries: Vec<(u32, u32, f32)>,
    /// The primal residual `‖H − Z‖_F` after each iteration.
    pub residuals: Vec<f32>,
}

/// What the iterations of a block start from: `A⁻¹` (column-major), its diagonal and `H_b = A⁻¹B₀`.
pub(super) struct Start {
    /// `A⁻¹`, `A = εQ + diag(θd + ρ)`, column-major.
    pub ainv: Vec<f32>,
    /// The diagonal of `A⁻¹`.
    pub diagonal: Vec<f32>,
    /// `H_b = A⁻¹B₀`, `B₀ = P/(2λ) + ε·c·Q·G_c`, column-major.
    pub hb: Vec<f32>,
}

/// The set-up of the block `block` (sorted global item ids): Gram matrices, `G_c`, `A⁻¹` and `H_b`.
/// The inverse and the product, `n³` multiply-adds each, run in blocks of columns that report to
/// `progress` as `phase` (in thousandths of each) and stop when it says so.
pub(super) fn start(
    shared: &Shared<'_>,
    block: &[u32],
    progress: &dyn Progress,
    phase: &str,
) -> Result<Start> {
    let s = shared.settings;
    let n = block.len();
    let degree: Vec<f32> = block.iter().map(|&i| shared.degrees[i as usize]).collect();
    let rows = local_rows(shared.data, block);
    let scale: Vec<f32> = degree.iter().map(|d| d.powf(-s.t)).collect();
    let c = 1.0 / s.lambda - 1.0;

    let p = gram(&rows, &scale, None, n);
    let q = shared.user_weights.as_ref().map(|w| gram(&rows, &scale, Some(w), n));
    let gc = spectral(shared, block, &degree, s.t);
    let shift: Vec<f32> = degree.iter().map(|d| s.theta * d + s.rho).collect();
    // A = εQ + diag(θd + ρ), factored once.
    let mut a = q.unwrap_or_else(|| p.clone());
    a.par_iter_mut().for_each(|x| *x *= s.epsilon);
    for (j, shift) in shift.iter().enumerate() {
        a[j * n + j] += shift;
    }
    let inverting = format!("{phase}: inverse");
    dense::inverse(&mut a, n, dense::BLOCK_WORK, progress, &inverting, "corml: εQ + diag(θd + ρ)")?;
    let ainv = a;
    let diagonal: Vec<f32> = (0..n).map(|j| ainv[j * n + j]).collect();
    // Since A⁻¹·εQ = I − A⁻¹·diag(θd + ρ), H_b = c·G_c + A⁻¹(P/(2λ) − c·diag(θd + ρ)·G_c): one
    // matrix product instead of two.
    let mut b = p;
    let half = 0.5 / s.lambda;
    b.par_chunks_mut(n.max(1)).zip(gc.par_chunks(n.max(1))).for_each(|(b, g)| {
        for ((b, g), shift) in b.iter_mut().zip(g).zip(&shift) {
            *b = half * *b - c * shift * g;
        }
    });
    let mut hb = gc;
    hb.par_iter_mut().for_each(|x| *x *= c);
    let multiplying = format!("{phase}: product");
    dense::multiply_add(&mut hb, (&ainv, &b), n, 1.0, dense::BLOCK_WORK, &mut |c0| {
        dense::report(progress, &multiplying, c0 as f64, n as f64)
    })?;
    Ok(Start { ainv, diagonal, hb })
}

/// Learns the block `block` (sorted global item ids), reporting each iteration as `done` of `phase`.
pub(super) fn solve(
    shared: &Shared<'_>,
    block: &[u32],
    progress: &dyn Progress,
    phase: &str,
) -> Result<Solved> {
    let s = shared.settings;
    let n = block.len();
    let Start { ainv, diagonal, hb } = start(shared, block, progress, phase)?;
    let (mut z, mut gamma, mut work) = (vec![0f32; n * n], vec![0f32; n * n], vec![0f32; n * n]);
    let mut residuals = Vec::with_capacity(s.iterations as usize);
    for done in 0..s.iterations {
        if !progress.update(phase, done, s.iterations) {
            return Err(Error::cancelled("training"));
        }
        // H̃ = H_b + ρ·A⁻¹(Z − Γ), written into `work`.
        z.par_iter_mut().zip(&gamma).for_each(|(z, g)| *z -= g);
        work.copy_from_slice(&hb);
        dense::multiply_add(&mut work, (&ainv, &z), n, s.rho, dense::BLOCK_WORK, &mut |_| {
            if progress.update(phase, done, s.iterations) {
                Ok(())
            } else {
                Err(Error::cancelled("training"))
            }
        })?;
        // H = H̃ − A⁻¹·diag(μ) with μ_j = H̃_jj / A⁻¹_jj: the diagonal becomes zero.
        work.par_chunks_mut(n.max(1)).enumerate().for_each(|(j, column)| {
            let mu = column[j] / (diagonal[j] + 1e-10);
            column.iter_mut().zip(&ainv[j * n..(j + 1) * n]).for_each(|(h, a)| *h -= mu * a);
        });
        // X = αH + (1 − α)Z + Γ (over-relaxation; α = 1: X = H + Γ), with `z` holding Z − Γ;
        // then Z = max(0, (X + Xᵀ)/2) and Γ = X − Z.
        let alpha = s.relaxation;
        if alpha == 1.0 {
            work.par_iter_mut().zip(&gamma).for_each(|(x, g)| *x += g);
        } else {
            work.par_iter_mut().zip(&z).zip(&gamma).for_each(|((x, z), g)| {
                *x = alpha * *x + (1.0 - alpha) * z + (2.0 - alpha) * g;
            });
        }
        residuals.push(project(&work, &mut z, &mut gamma, n));
    }
    let threshold = s.threshold;
    let entries = z
        .par_chunks(n.max(1))
        .enumerate()
        .flat_map_iter(|(j, column)| {
            column[..j]
                .iter()
                .enumerate()
                .filter(move |&(_, &v)| v >= threshold && v > 0.0)
                .map(move |(i, &v)| (block[i], block[j], v))
        })
        .collect();
    Ok(Solved { entries, residuals })
}

fn mat_mut(buffer: &mut [f32], n: usize) -> MatMut<'_, f32> {
    MatMut::from_column_major_slice_mut(buffer, n, n)
}

/// Each user's items within `block`, as local ids (ascending), with the user's id; users without any
/// are left out.
fn local_rows(data: &Snapshot, block: &[u32]) -> Vec<(u32, Vec<u32>)> {
    let local = local_ids(block, data.n_items);
    (0..data.n_users)
        .into_par_iter()
        .filter_map(|u| {
            let row: Vec<u32> = data
                .row(u)
                .iter()
                .filter_map(|&i| local.get(i as usize).copied().filter(|&l| l != u32::MAX))
                .collect();
            (!row.is_empty()).then_some((u, row))
        })
        .collect()
}

/// `Σ_u w_u · (s∘r_u)ᵀ(s∘r_u)`, dense `n × n` (symmetric), with `w_u = weights[u]` or 1. Threads own
/// disjoint blocks of columns and scan every user for the items of their block.
fn gram(rows: &[(u32, Vec<u32>)], scale: &[f32], weights: Option<&[f32]>, n: usize) -> Vec<f32> {
    let mut out = vec![0f32; n * n];
    let width = n.div_ceil(4 * rayon::current_num_threads()).max(1);
    out.par_chunks_mut(width * n).enumerate().for_each(|(c, columns)| {
        let (first, last) = ((c * width) as u32, ((c + 1) * width) as u32);
        for (u, row) in rows {
            let w = weights.map_or(1.0, |w| w[*u as usize]);
            let start = row.partition_point(|&a| a < first);
            for &a in row[start..].iter().take_while(|&&a| a < last) {
                let column = &mut columns[(a - first) as usize * n..(a - first + 1) as usize * n];
                let f = w * scale[a as usize];
                for &b in row {
                    column[b as usize] += f * scale[b as usize];
                }
            }
        }
    });
    out
}

/// `G_c = −D^{t−1/2} G D^{1/2−t}` of the block, with `G = max(0, V_p V_pᵀ)` off the diagonal and 0 on it.
fn spectral(shared: &Shared<'_>, block: &[u32], degree: &[f32], t: f32) -> Vec<f32> {
    let (n, k) = (block.len(), shared.settings.k);
    let mut vp = Vec::with_capacity(n * k);
    for &i in block {
        vp.extend_from_slice(&shared.vectors[i as usize * k..(i as usize + 1) * k]);
    }
    let vp = MatRef::from_row_major_slice(&vp, n, k);
    let mut g = vec![0f32; n * n];
    matmul(mat_mut(&mut g, n), Accum::Replace, vp, vp.transpose(), 1.0, Par::rayon(0));
    let left: Vec<f32> = degree.iter().map(|d| d.powf(t - 0.5)).collect();
    g.par_chunks_mut(n.max(1)).enumerate().for_each(|(j, column)| {
        let right = degree[j].powf(0.5 - t);
        for (i, x) in column.iter_mut().enumerate() {
            *x = if i == j { 0.0 } else { -left[i] * x.max(0.0) * right };
        }
    });
    g
}

/// `Z = max(0, (X + Xᵀ)/2)` and `Γ ← X − Z` for the column-major `X`, tile by tile; returns the primal
/// residual `‖Γ_new − Γ_old‖_F = ‖H − Z‖_F`.
fn project(x: &[f32], z: &mut [f32], gamma: &mut [f32], n: usize) -> f32 {
    let squares: f64 = z
        .par_chunks_mut((TILE * n).max(1))
        .zip(gamma.par_chunks_mut((TILE * n).max(1)))
        .enumerate()
        .map(|(tile, (zc, gc))| {
            let first = tile * TILE;
            let columns = zc.len() / n.max(1);
            let mut sum = 0f64;
            for rows in (0..n).step_by(TILE) {
                for dj in 0..columns {
                    let j = first + dj;
                    for i in rows..(rows + TILE).min(n) {
                        let xij = x[j * n + i];
                        let zij = ((xij + x[i * n + j]) * 0.5).max(0.0);
                        let g = xij - zij;
                        let diff = g - gc[dj * n + i];
                        sum += f64::from(diff * diff);
                        zc[dj * n + i] = zij;
                        gc[dj * n + i] = g;
                    }
                }
            }
            sum
        })
        .sum();
    squares.sqrt() as f32
}
