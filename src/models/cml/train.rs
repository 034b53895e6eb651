//! Training of `cml`: the WARP-weighted hinge on squared distances by Hogwild SGD over users (the
//! machinery of [`super::super::hogwild`]), each point projected back into the unit ball after every
//! step, an optional covariance step per epoch, with `features` the pull of each drawn positive towards
//! its tag network's point and that network's fit after each epoch ([`super::features`]); and the
//! fold-in of one user with the items fixed.

use faer::traits::pulp::{Simd, WithSimd};
use rand::RngExt;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use recodb_storage::Snapshot;

use super::super::factors::{dispatch, load};
use super::super::fingerprint;
use super::super::hogwild::{below, blocks, generator, negative, owners, Block, SharedRows};
use super::features::{Fitting, TagNet, Targets};
use super::Settings;
use crate::error::{Error, Result};
use crate::progress::Progress;

/// Passes over a folded-in user's items (fewer than training takes: its point starts at the mean of
/// its items' points, already close).
const FOLD_IN_EPOCHS: usize = 20;

/// The squared Euclidean distance of two equally long vectors.
#[inline(always)]
pub(super) fn squared_distance<S: Simd>(simd: S, a: &[f32], b: &[f32]) -> f32 {
    let lanes = S::F32_LANES;
    let (pa, pb) = (a.chunks_exact(lanes), b.chunks_exact(lanes));
    let (ra, rb) = (pa.remainder(), pb.remainder());
    let mut acc = simd.splat_f32s(0.0);
    for (x, y) in pa.zip(pb) {
        let d = simd.sub_f32s(load::<S>(x), load::<S>(y));
        acc = simd.mul_add_e_f32s(d, d, acc);
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| (x - y) * (x - y)).sum();
    simd.reduce_sum_f32s(acc) + tail
}

/// Scales `x` back onto the unit ball when it left it: `x ← x / max(‖x‖, 1)`.
#[inline(always)]
pub(super) fn project(x: &mut [f32]) {
    let norm2: f32 = x.iter().map(|v| v * v).sum();
    if norm2 > 1.0 {
        let f = 1.0 / norm2.sqrt();
        x.iter_mut().for_each(|v| *v *= f);
    }
}

/// The WARP weight of a positive pair: `ln(⌊J·M/U⌋ + 1)` for `impostors` (M) of `drawn` (U) sampled
/// negatives among `n_items` (J) items; 0 when none is an impostor.
pub(super) fn warp_weight(n_items: usize, impostors: usize, drawn: usize) -> f32 {
    if impostors == 0 || drawn == 0 {
        return 0.0;
    }
    ((n_items * impostors / drawn) as f32 + 1.0).ln()
}

/// What sampling `U` negatives for a positive pair found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Sample {
    /// The hardest negative (nearest to the user) and its squared distance.
    pub hardest: Option<(u32, f32)>,
    /// How many drawn negatives are impostors: `margin + d(u, pos)² − d(u, neg)² > 0`.
    pub impostors: usize,
    /// How many negatives were drawn (fewer than asked when the user has nearly every item).
    pub drawn: usize,
}

/// Draws `negatives` items uniformly among the `n_items` that `seen` (sorted) does not hold, reading
/// each one's point into `buf` by `read`, and keeps the hardest in `hardest_point`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn sample<S: Simd>(
    simd: S,
    rng: &mut Xoshiro256PlusPlus,
    (user, positive_distance): (&[f32], f32),
    (n_items, seen): (usize, &[u32]),
    negatives: usize,
    margin: f32,
    read: &impl Fn(u32, &mut [f32]),
    buf: &mut [f32],
    hardest_point: &mut [f32],
) -> Sample {
    let mut out = Sample { hardest: None, impostors: 0, drawn: 0 };
    for _ in 0..negatives {
        let Some(j) = negative(rng, n_items, seen) else { continue };
        read(j, buf);
        let d = squared_distance(simd, user, buf);
        out.drawn += 1;
        if margin + positive_distance - d > 0.0 {
            out.impostors += 1;
        }
        if out.hardest.is_none_or(|(_, best)| d < best) {
            out.hardest = Some((j, d));
            hardest_point.copy_from_slice(buf);
        }
    }
    out
}

/// One SGD step on the active triplet `(user, pos, neg)` with step `g = 2·learning_rate·w`:
/// `user ← user − g·(neg − pos)`, and unless `user_only`, `pos ← pos + g·(user − pos)` and
/// `neg ← neg − g·(user − neg)` (with the old `user`); every point it changed is projected back into
/// the unit ball.
#[inline(always)]
pub(super) fn step(user: &mut [f32], pos: &mut [f32], neg: &mut [f32], g: f32, user_only: bool) {
    for c in 0..user.len() {
        let u = user[c];
        user[c] = u - g * (neg[c] - pos[c]);
        if !user_only {
            pos[c] += g * (u - pos[c]);
            neg[c] -= g * (u - neg[c]);
        }
    }
    project(user);
    if !user_only {
        project(pos);
        project(neg);
    }
}

/// The step size of pass `epoch` of `epochs`: the learning rate falling linearly towards 0.
fn rate(s: &Settings, epoch: usize, epochs: usize) -> f32 {
    s.learning_rate * (1.0 - epoch as f32 / epochs as f32)
}

/// One epoch's positives of one block of users: returns the sum of their losses and how many there
/// were. With `targets` (CML+F), every drawn positive with a target also takes a step of the feature
/// loss towards it.
struct Epoch<'a, 'b> {
    block: &'a mut Block<'b>,
    data: &'a Snapshot,
    owner: &'a [u32],
    items: &'a SharedRows,
    settings: &'a Settings,
    epoch: usize,
    targets: Option<&'a Targets>,
}

impl WithSimd for Epoch<'_, '_> {
    type Output = (f64, usize);

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> (f64, usize) {
        let Epoch { block, data, owner, items, settings: s, epoch, targets } = self;
        let [start, end] = block.nnz;
        let n_items = data.n_items as usize;
        if start == end || n_items == 0 {
            return (0.0, 0);
        }
        let mut rng = generator(s.seed, epoch as u64, start as u64);
        let dim = items.dim();
        let (mut pos, mut neg, mut buf) = (vec![0f32; dim], vec![0f32; dim], vec![0f32; dim]);
        let lr = rate(s, epoch, s.epochs);
        let pull = 2.0 * lr * s.features.map_or(0.0, |f| f.weight);
        let read = |j: u32, to: &mut [f32]| items.read(j, to);
        let (mut loss, mut steps) = (0f64, 0usize);
        for _ in start..end {
            let at = start + below(&mut rng, end - start);
            let (u, i) = (owner[at], data.indices[at]);
            let seen = data.row(u);
            items.read(i, &mut pos);
            let user = block.user(u, dim);
            let dp = squared_distance(simd, user, &pos);
            let found = sample(
                simd,
                &mut rng,
                (user, dp),
                (n_items, seen),
                s.negatives,
                s.margin,
                &read,
                &mut buf,
                &mut neg,
            );
            steps += 1;
            let active = found.hardest.filter(|_| found.impostors > 0);
            if let Some((k, dk)) = active {
                let w = warp_weight(n_items, found.impostors, found.drawn);
                step(user, &mut pos, &mut neg, 2.0 * lr * w, false);
                items.write(k, &neg);
                loss += f64::from(w * (s.margin + dp - dk));
            }
            let pulled = targets.is_some_and(|t| t.pull(i, &mut pos, pull));
            if active.is_some() || pulled {
                items.write(i, &pos);
            }
        }
        (loss, steps)
    }
}

/// One step of the covariance regulariser on the rows of `tables` (users and items together):
/// `y ← y − learning_rate · λ_c · (4/N) · C_off (y − μ)`, the gradient of `λ_c Σ_{a≠b} C_ab²` with `C`
/// the covariance of all `N` rows (the official Theano code's form), then each row projected.
fn covariance_step(tables: &mut [&mut [f32]], dim: usize, weight: f32) {
    let n: usize = tables.iter().map(|t| t.len() / dim).sum();
    if n < 2 || weight == 0.0 {
        return;
    }
    let mut mean = vec![0f64; dim];
    for row in tables.iter().flat_map(|t| t.chunks_exact(dim)) {
        mean.iter_mut().zip(row).for_each(|(m, &x)| *m += f64::from(x));
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut cov = vec![0f64; dim * dim];
    let mut centred = vec![0f64; dim];
    for row in tables.iter().flat_map(|t| t.chunks_exact(dim)) {
        centred.iter_mut().zip(row).zip(&mean).for_each(|((c, &x), m)| *c = f64::from(x) - m);
        for (a, &ca) in centred.iter().enumerate() {
            cov[a * dim..(a + 1) * dim].iter_mut().zip(&centred).for_each(|(c, &cb)| *c += ca * cb);
        }
    }
    for (a, c) in cov.iter_mut().enumerate() {
        *c = if a / dim == a % dim { 0.0 } else { *c / n as f64 };
    }
    let scale = f64::from(weight) * 4.0 / n as f64;
    for row in tables.iter_mut().flat_map(|t| t.chunks_exact_mut(dim)) {
        centred.iter_mut().zip(row.iter()).zip(&mean).for_each(|((c, &x), m)| *c = f64::from(x) - m);
        for (a, x) in row.iter_mut().enumerate() {
            let g: f64 = cov[a * dim..(a + 1) * dim].iter().zip(&centred).map(|(c, y)| c * y).sum();
            *x -= (scale * g) as f32;
        }
        project(row);
    }
}

/// A normal draw with mean 0 and standard deviation `sigma` (Box-Muller).
pub(super) fn gaussian(rng: &mut Xoshiro256PlusPlus, sigma: f32) -> f32 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random::<f64>();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32 * sigma
}

/// What training produces: the user and item points (row-major, `dims` per row) and, with features,
/// the tag network.
pub(super) struct Trained {
    /// The user points.
    pub users: Vec<f32>,
    /// The item points.
    pub items: Vec<f32>,
    /// The tag network `f` (CML+F).
    pub features: Option<TagNet>,
}

/// Trains the user and item points of `data` (and with `features` the tag network, which then places
/// the tagged items without interactions), reporting each epoch's mean loss to `progress`; an error
/// naming `features` when they are asked for and no item has a tag.
pub(super) fn train(data: &Snapshot, s: &Settings, progress: &dyn Progress) -> Result<Trained> {
    let dim = s.dims;
    let mut fitting = Fitting::new(data, s.features, dim, s.seed)?;
    let mut targets: Option<Targets> = None;
    let mut rng = generator(s.seed, u64::MAX, u64::MAX);
    let sigma = 1.0 / (dim as f32).sqrt();
    let mut init = |n: usize| -> Vec<f32> {
        let mut v: Vec<f32> = (0..n * dim).map(|_| gaussian(&mut rng, sigma)).collect();
        v.chunks_exact_mut(dim).for_each(project);
        v
    };
    let mut users = init(data.n_users as usize);
    let mut items = SharedRows::new(dim, init(data.n_items as usize));
    let owner = owners(data);
    for epoch in 0..s.epochs {
        let (loss, steps) = blocks(data, dim, &mut users)
            .par_iter_mut()
            .map(|block| {
                let (owner, items, settings, targets) = (&owner, &items, s, targets.as_ref());
                dispatch(Epoch { block, data, owner, items, settings, epoch, targets })
            })
            .reduce(|| (0.0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        if s.covariance > 0.0 {
            let mut values = items.into_values();
            let weight = rate(s, epoch, s.epochs) * s.covariance;
            covariance_step(&mut [&mut users, &mut values], dim, weight);
            items = SharedRows::new(dim, values);
        }
        let mut phase = format!("train cml: epochs (loss {:.4}", loss / steps.max(1) as f64);
        if let Some(f) = fitting.as_mut() {
            let values = items.into_values();
            phase.push_str(&format!(", feature loss {:.4}", f.fit(&values)));
            targets = Some(f.targets(data.n_items as usize));
            items = SharedRows::new(dim, values);
        }
        phase.push(')');
        if !progress.update(&phase, epoch as u64 + 1, s.epochs as u64) {
            return Err(Error::cancelled("training"));
        }
    }
    let mut items = items.into_values();
    let features = fitting.map(|f| f.finish(data, &mut items));
    Ok(Trained { users, items, features })
}

/// The fold-in of one user: writes into `user` (`s.dims` long) the point of a user whose items are
/// `seen` (sorted, all below the number of rows of `items`), by the training's SGD on the user's point
/// alone with the items fixed: from the mean of its items' points (projected), [`FOLD_IN_EPOCHS`]
/// passes over its items, with a generator seeded by the seed and the items (so the same items give the
/// same point). A user with no items sits at the origin.
pub(super) fn fold_in(s: &Settings, items: &[f32], seen: &[u32], user: &mut [f32]) {
    dispatch(FoldIn { settings: s, items, seen, user });
}

/// The kernel of [`fold_in`].
struct FoldIn<'a> {
    settings: &'a Settings,
    items: &'a [f32],
    seen: &'a [u32],
    user: &'a mut [f32],
}

impl WithSimd for FoldIn<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let FoldIn { settings: s, items, seen, user } = self;
        let dim = user.len();
        let n_items = items.len() / dim.max(1);
        let row = |i: u32| &items[i as usize * dim..(i as usize + 1) * dim];
        user.iter_mut().for_each(|x| *x = 0.0);
        if seen.is_empty() {
            return;
        }
        for &i in seen {
            user.iter_mut().zip(row(i)).for_each(|(u, v)| *u += v / seen.len() as f32);
        }
        project(user);
        if seen.len() >= n_items {
            return;
        }
        let mut rng = generator(s.seed, fingerprint(seen), 0);
        let read = |j: u32, to: &mut [f32]| to.copy_from_slice(row(j));
        let (mut pos, mut neg, mut buf) = (vec![0f32; dim], vec![0f32; dim], vec![0f32; dim]);
        for pass in 0..FOLD_IN_EPOCHS {
            let lr = rate(s, pass, FOLD_IN_EPOCHS);
            for _ in 0..seen.len() {
                let i = seen[below(&mut rng, seen.len())];
                pos.copy_from_slice(row(i));
                let dp = squared_distance(simd, user, &pos);
                let found = sample(
                    simd,
                    &mut rng,
                    (user, dp),
                    (n_items, seen),
                    s.negatives,
                    s.margin,
                    &read,
                    &mut buf,
                    &mut neg,
                );
                if found.impostors == 0 || found.hardest.is_none() {
                    continue;
                }
                let w = warp_weight(n_items, found.impostors, found.drawn);
                step(user, &mut pos, &mut neg, 2.0 * lr * w, true);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            dims: 8,
            margin: 0.75,
            negatives: 10,
            epochs: 5,
            learning_rate: 0.05,
            covariance: 0.0,
            seed: 3,
            features: None,
        }
    }

    fn norm(x: &[f32]) -> f32 {
        x.iter().map(|v| v * v).sum::<f32>().sqrt()
    }

    #[test]
    fn every_point_is_in_the_ball_after_every_step() {
        let mut rng = generator(1, 2, 3);
        let mut point = |scale: f32| -> Vec<f32> {
            let mut p: Vec<f32> = (0..8).map(|_| gaussian(&mut rng, scale)).collect();
            project(&mut p);
            p
        };
        let (mut user, mut pos, mut neg) = (point(0.5), point(0.5), point(0.5));
        let mut moved = 0;
        for t in 0..2000 {
            let g = [0.01, 0.3, 2.0, 17.0][t % 4];
            let before = user.clone();
            step(&mut user, &mut pos, &mut neg, g, t % 3 == 0);
            moved += usize::from(before != user);
            for p in [&user, &pos, &neg] {
                assert!(norm(p) <= 1.0 + 1e-6, "step {t}: norm {}", norm(p));
            }
            if t % 50 == 0 {
                neg = point(3.0);
            }
        }
        assert!(moved > 1900, "the steps move the user: {moved}");
        let mut inside = vec![0.3f32; 8];
        project(&mut inside);
        assert_eq!(inside, vec![0.3f32; 8], "a point inside the ball is left alone");
    }

    #[test]
    fn the_warp_rank_estimate_is_unbiased_on_a_planted_order() {
        // J = 1000 items on a line from the user at the origin: item k at squared distance 2k/J. The
        // positive is at squared distance 0.25, so with margin 0.75 the impostors are the items nearer
        // than 1.0: items 0..500, of which the user holds 0..10 (never drawn). So 490 of the 990 items
        // that can be drawn are impostors, and J·M/U estimates 1000 · 490 / 990 = 494.9.
        let j = 1000usize;
        let items: Vec<f32> = (0..j).map(|k| (2.0 * k as f32 / j as f32).sqrt()).collect();
        let seen: Vec<u32> = (0..10).collect();
        let read = |k: u32, to: &mut [f32]| to[0] = items[k as usize];
        let mut rng = generator(7, 0, 0);
        let (mut buf, mut hardest) = ([0f32], [0f32]);
        let (mut total, draws) = (0f64, 4000);
        struct Run<'a, F: Fn(u32, &mut [f32])>(
            &'a mut Xoshiro256PlusPlus,
            &'a [u32],
            &'a F,
            &'a mut [f32],
            &'a mut [f32],
        );
        impl<F: Fn(u32, &mut [f32])> WithSimd for Run<'_, F> {
            type Output = Sample;
            fn with_simd<S: Simd>(self, simd: S) -> Sample {
                let Run(rng, seen, read, buf, hardest) = self;
                sample(simd, rng, (&[0.0], 0.25), (1000, seen), 10, 0.75, read, buf, hardest)
            }
        }
        for _ in 0..draws {
            let s = dispatch(Run(&mut rng, &seen, &read, &mut buf, &mut hardest));
            assert_eq!(s.drawn, 10);
            let (k, d) = s.hardest.expect("a hardest negative");
            assert!(k >= 10, "a held item is never a negative");
            assert_eq!(hardest[0], items[k as usize], "the hardest point is kept");
            assert!((d - 2.0 * k as f32 / j as f32).abs() < 1e-5);
            total += (j * s.impostors) as f64 / s.drawn as f64;
        }
        let mean = total / f64::from(draws);
        assert!((mean - 494.9).abs() < 10.0, "mean estimated rank {mean}, planted 494.9");
        assert_eq!(warp_weight(j, 0, 10), 0.0, "no impostor, no weight");
        assert_eq!(warp_weight(j, 5, 10), 501f32.ln(), "ln(⌊J·M/U⌋ + 1)");
        assert_eq!(warp_weight(j, 3, 7), 429f32.ln(), "the floor of 428.57");
    }

    #[test]
    fn the_covariance_step_decorrelates_and_keeps_points_in_the_ball() {
        let mut rng = generator(4, 0, 0);
        let mut rows: Vec<f32> = (0..200)
            .flat_map(|_| {
                let a = gaussian(&mut rng, 0.4);
                [a, a + gaussian(&mut rng, 0.1), gaussian(&mut rng, 0.4)]
            })
            .collect();
        let off = |rows: &[f32]| {
            let n = rows.len() as f32 / 3.0;
            let mean: Vec<f32> = (0..3).map(|c| rows.iter().skip(c).step_by(3).sum::<f32>() / n).collect();
            rows.chunks_exact(3).map(|r| (r[0] - mean[0]) * (r[1] - mean[1])).sum::<f32>() / n
        };
        let before = off(&rows);
        for _ in 0..50 {
            covariance_step(&mut [&mut rows], 3, 20.0);
        }
        assert!(off(&rows).abs() < 0.5 * before.abs(), "covariance {before} → {}", off(&rows));
        assert!(rows.chunks_exact(3).all(|r| norm(r) <= 1.0 + 1e-6));
    }

    #[test]
    fn fold_in_is_deterministic_and_in_the_ball() {
        let s = settings();
        let mut rng = generator(5, 0, 0);
        let mut items: Vec<f32> = (0..40 * 8).map(|_| gaussian(&mut rng, 0.5)).collect();
        items.chunks_exact_mut(8).for_each(project);
        let (mut a, mut b) = (vec![0f32; 8], vec![0f32; 8]);
        fold_in(&s, &items, &[1, 5, 9], &mut a);
        fold_in(&s, &items, &[1, 5, 9], &mut b);
        assert_eq!(a, b);
        assert!(norm(&a) <= 1.0 + 1e-6 && norm(&a) > 0.0);
        fold_in(&s, &items, &[], &mut a);
        assert_eq!(a, vec![0.0; 8], "no items: the origin");
    }
}
