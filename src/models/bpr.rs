//! `bpr`: matrix factorisation with item bias, trained on the Bayesian Personalised Ranking loss (Rendle
//! et al., UAI 2009) by stochastic gradient descent.
//!
//! A user's score of an item is `x_ui = user · item + bias_i`. Each epoch draws as many triples
//! `(u, i, j)` as there are interactions: `(u, i)` an interaction drawn uniformly (so active users are
//! drawn more often), `j` an item drawn uniformly and rejected (drawn again, a few times at most) when
//! `u` has it; each triple takes one gradient step on `-ln σ(x_ui - x_uj)` plus L2 regularisation of the
//! vectors and biases it touches. (The `implicit` library draws `j` in proportion to popularity; uniform
//! negatives did clearly better on a validation slice of MovieLens-1M.)
//!
//! **Parallelism** (the machinery of [`super::hogwild`], shared with `cml`). Users are cut into blocks of
//! about equal interaction counts, and the blocks are shared out among rayon's threads, each with its own
//! random generator seeded by the seed, the epoch and the block. A block's user vectors are its own; item vectors and biases are shared by all threads and
//! updated without locks, Hogwild-style (Niu et al., NIPS 2011), through relaxed atomic loads and stores
//! of their bits: no unsafe code, and a rare lost update, which SGD tolerates. So training is
//! deterministic for a seed on one thread, and **not** with more (the interleaving of item updates
//! varies between runs).
//!
//! **Fold-in.** A user who arrived or whose items changed after training gets its vector by the same SGD
//! with the items fixed: from zero, `epochs × |items|` steps (as many as a trained user gets), negatives
//! drawn uniformly among the items the user does not have, with a generator seeded by the seed and the
//! user's items (so the same items give the same vector).
//!
//! **Tuning.** Defaults (64 factors, 100 epochs, `learning_rate` 0.01, `regularization` 0.0004) were
//! chosen on a validation slice of the MovieLens-1M training split (learning rates 0.0025-0.05 and
//! regularisation 0.0004-0.002 tried). Training time grows with `epochs × interactions × factors`; a
//! smaller learning rate needs more epochs, a larger one ends lower.

use rand::RngExt;
use rayon::prelude::*;
use recodb_storage::rkyv;
use recodb_storage::Snapshot;

use faer::traits::pulp::{Simd, WithSimd};

use super::blobs::{encode, Blob, Blobs};
use super::factors::{dispatch, dot, load, store, FactorModel, Factors, FoldIn, SavedFactors};
use super::hogwild::{below, blocks, generator, negative, owners, Block, SharedRows};
use super::{fingerprint, Algorithm, Model, Param, Params};
use crate::error::{Error, Result};
use crate::progress::Progress;

/// The BPR algorithm.
pub const BPR: Algorithm = Algorithm {
    name: "bpr",
    about: "matrix factorisation with item bias on the Bayesian Personalised Ranking loss, by parallel SGD",
    parameters: PARAMETERS,
    train,
    load: from_blobs,
};

const PARAMETERS: &[Param] = &[
    Param::int("factors", 64, 1, 1024, "length of the user and item vectors"),
    Param::int("epochs", 100, 1, 10_000, "passes, each of as many sampled triples as interactions"),
    Param::positive("learning_rate", 0.01, "SGD step size"),
    Param::non_negative("regularization", 0.0004, "L2 weight on the vectors and biases a step touches"),
    Param::seed(
        "seed",
        42,
        "seed of the initial vectors and the sampling (deterministic on one thread only)",
    ),
];

/// Validated training parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Settings {
    factors: usize,
    epochs: usize,
    learning_rate: f32,
    regularization: f32,
    seed: u64,
}

impl Settings {
    /// Reads the checked `WITH (...)` parameters.
    fn read(p: &Params) -> Result<Self> {
        Ok(Settings {
            factors: p.int("factors")? as usize,
            epochs: p.int("epochs")? as usize,
            learning_rate: p.float("learning_rate")? as f32,
            regularization: p.float("regularization")? as f32,
            seed: p.seed("seed")?,
        })
    }
}

/// The blob of a BPR model: its vectors and the settings its fold-in replays.
#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[rkyv(crate = recodb_storage::rkyv)]
pub struct BprBlob {
    /// The vectors and item biases.
    pub vectors: SavedFactors,
    /// Training epochs (fold-in takes as many steps per item).
    pub epochs: u32,
    /// SGD step size.
    pub learning_rate: f32,
    /// L2 weight.
    pub regularization: f32,
    /// The seed.
    pub seed: u64,
}

/// The name of [`BprBlob`].
pub const BPR_BLOB: &str = "bpr";

/// `ln(1 + e^x)` without overflow.
fn softplus(x: f32) -> f32 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// How wrong the model is about the triple `(u, i, j)`, given the user vector `u`, the items' vectors
/// `pos` and `neg` and their biases: the gradient weight `σ(-(x_ui - x_uj))` and the loss
/// `-ln σ(x_ui - x_uj)`.
#[inline(always)]
fn triple<S: Simd>(simd: S, u: &[f32], (pos, bp): (&[f32], f32), (neg, bn): (&[f32], f32)) -> (f32, f32) {
    let x = dot(simd, u, pos) - dot(simd, u, neg) + bp - bn;
    (1.0 / (1.0 + x.exp()), softplus(-x))
}

/// The SGD step on a triple with gradient weight `g = learning_rate · σ(-(x_ui - x_uj))` and weight
/// decay `decay = 1 - learning_rate · regularization`: `u ← decay·u + g·(pos - neg)`, and unless
/// `user_only`, `pos ← decay·pos + g·u` and `neg ← decay·neg - g·u` (with the old `u`).
#[inline(always)]
fn update<S: Simd>(
    simd: S,
    u: &mut [f32],
    pos: &mut [f32],
    neg: &mut [f32],
    g: f32,
    decay: f32,
    user_only: bool,
) {
    let lanes = S::F32_LANES;
    let full = u.len() / lanes * lanes;
    let (gv, dv) = (simd.splat_f32s(g), simd.splat_f32s(decay));
    for c in (0..full).step_by(lanes) {
        let span = c..c + lanes;
        let (uv, pv, nv) =
            (load::<S>(&u[span.clone()]), load::<S>(&pos[span.clone()]), load::<S>(&neg[span.clone()]));
        store::<S>(
            &mut u[span.clone()],
            simd.mul_add_e_f32s(gv, simd.sub_f32s(pv, nv), simd.mul_f32s(dv, uv)),
        );
        if !user_only {
            store::<S>(&mut pos[span.clone()], simd.mul_add_e_f32s(gv, uv, simd.mul_f32s(dv, pv)));
            store::<S>(&mut neg[span], simd.negate_mul_add_e_f32s(gv, uv, simd.mul_f32s(dv, nv)));
        }
    }
    for c in full..u.len() {
        let t = u[c];
        u[c] = decay * t + g * (pos[c] - neg[c]);
        if !user_only {
            pos[c] = decay * pos[c] + g * t;
            neg[c] = decay * neg[c] - g * t;
        }
    }
}

/// Item vectors and biases shared by the threads of an epoch.
struct SharedItems {
    vectors: SharedRows,
    bias: SharedRows,
}

impl SharedItems {
    /// The bias of item `i`.
    fn bias(&self, i: u32) -> f32 {
        let mut b = [0f32];
        self.bias.read(i, &mut b);
        b[0]
    }
}

/// One epoch's triples of one block of users: returns the sum of their losses and how many there were.
struct Epoch<'a, 'b> {
    block: &'a mut Block<'b>,
    data: &'a Snapshot,
    owner: &'a [u32],
    items: &'a SharedItems,
    settings: &'a Settings,
    epoch: u64,
}

impl WithSimd for Epoch<'_, '_> {
    type Output = (f64, usize);

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> (f64, usize) {
        let Epoch { block, data, owner, items, settings: s, epoch } = self;
        let [start, end] = block.nnz;
        if start == end || data.n_items == 0 {
            return (0.0, 0);
        }
        let mut rng = generator(s.seed, epoch, start as u64);
        let dim = items.vectors.dim();
        let (mut pos, mut neg) = (vec![0f32; dim], vec![0f32; dim]);
        let decay = 1.0 - s.learning_rate * s.regularization;
        let (mut loss, mut steps) = (0f64, 0usize);
        for _ in start..end {
            let at = start + below(&mut rng, end - start);
            let (u, i) = (owner[at], data.indices[at]);
            let seen = data.row(u);
            let Some(j) = negative(&mut rng, data.n_items as usize, seen) else { continue };
            items.vectors.read(i, &mut pos);
            items.vectors.read(j, &mut neg);
            let mut bp = items.bias(i);
            let mut bn = items.bias(j);
            let user = block.user(u, dim);
            let (z, l) = triple(simd, user, (&pos, bp), (&neg, bn));
            let g = s.learning_rate * z;
            update(simd, user, &mut pos, &mut neg, g, decay, false);
            bp = decay * bp + g;
            bn = decay * bn - g;
            items.vectors.write(i, &pos);
            items.vectors.write(j, &neg);
            items.bias.write(i, &[bp]);
            items.bias.write(j, &[bn]);
            loss += f64::from(l);
            steps += 1;
        }
        (loss, steps)
    }
}

fn train(data: &Snapshot, params: &Params, progress: &dyn Progress) -> Result<Box<dyn Model>> {
    let s = Settings::read(params)?;
    let dim = s.factors;
    let mut rng = generator(s.seed, u64::MAX, u64::MAX);
    let mut init =
        |n: usize| -> Vec<f32> { (0..n * dim).map(|_| (rng.random::<f32>() - 0.5) / dim as f32).collect() };
    let mut users = init(data.n_users as usize);
    let vectors = init(data.n_items as usize);
    let items = SharedItems {
        vectors: SharedRows::new(dim, vectors),
        bias: SharedRows::new(1, vec![0.0; data.n_items as usize]),
    };
    let owner = owners(data);
    let mut blocks = blocks(data, dim, &mut users);
    for epoch in 0..s.epochs {
        let (loss, steps) = blocks
            .par_iter_mut()
            .map(|block| {
                let (owner, items, settings, epoch) = (&owner, &items, &s, epoch as u64);
                dispatch(Epoch { block, data, owner, items, settings, epoch })
            })
            .reduce(|| (0.0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        let phase = format!("train bpr: epochs (loss {:.4})", loss / steps.max(1) as f64);
        if !progress.update(&phase, epoch as u64 + 1, s.epochs as u64) {
            return Err(Error::cancelled("training"));
        }
    }
    drop(blocks);
    let fingerprints = (0..data.n_users).map(|u| fingerprint(data.row(u))).collect();
    let factors =
        Factors { dim, users, items: items.vectors.into_values(), item_bias: items.bias.into_values() };
    Ok(Box::new(FactorModel::new(factors, fingerprints, BprFoldIn(s))))
}

fn from_blobs(blobs: &Blobs<'_>) -> Result<Box<dyn Model>> {
    let BprBlob { vectors, epochs, learning_rate, regularization, seed } = blobs.get(BPR_BLOB)?;
    let valid = epochs >= 1
        && learning_rate.is_finite()
        && learning_rate > 0.0
        && regularization.is_finite()
        && regularization >= 0.0;
    if !valid {
        return Err(Error::corrupt(format!(
            "corrupt bpr model: epochs {epochs}, learning rate {learning_rate}, regularization {regularization}"
        )));
    }
    let settings = Settings {
        factors: vectors.dim as usize,
        epochs: epochs as usize,
        learning_rate,
        regularization,
        seed,
    };
    let model = FactorModel::from_saved("bpr", vectors, |_| BprFoldIn(settings))?;
    if model.factors().item_bias.len() != model.factors().n_items() {
        return Err(Error::corrupt("corrupt bpr model: no item biases"));
    }
    Ok(Box::new(model))
}

/// The fold-in of `bpr`: SGD on the user's vector alone, the items fixed.
pub struct BprFoldIn(Settings);

impl FoldIn for BprFoldIn {
    fn fold_in(&self, factors: &Factors, seen: &[u32], user: &mut [f32]) {
        dispatch(FoldInSgd { settings: &self.0, factors, seen, user });
    }

    fn blobs(&self, vectors: SavedFactors) -> Result<Vec<Blob>> {
        let s = &self.0;
        let blob = BprBlob {
            vectors,
            epochs: s.epochs as u32,
            learning_rate: s.learning_rate,
            regularization: s.regularization,
            seed: s.seed,
        };
        Ok(vec![encode(BPR_BLOB, &blob)?])
    }
}

/// The SGD of [`BprFoldIn`] for one user.
struct FoldInSgd<'a> {
    settings: &'a Settings,
    factors: &'a Factors,
    seen: &'a [u32],
    user: &'a mut [f32],
}

impl WithSimd for FoldInSgd<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let FoldInSgd { settings: s, factors, seen, user } = self;
        user.iter_mut().for_each(|x| *x = 0.0);
        let n = factors.n_items();
        if seen.is_empty() || seen.len() >= n {
            return;
        }
        let mut rng = generator(s.seed, fingerprint(seen), 0);
        let bias = |i: u32| factors.item_bias.get(i as usize).copied().unwrap_or(0.0);
        let decay = 1.0 - s.learning_rate * s.regularization;
        let (mut pos, mut neg) = (vec![0f32; factors.dim], vec![0f32; factors.dim]);
        for _ in 0..s.epochs * seen.len() {
            let i = seen[below(&mut rng, seen.len())];
            let Some(j) = negative(&mut rng, n, seen) else { continue };
            pos.copy_from_slice(factors.item(i));
            neg.copy_from_slice(factors.item(j));
            let (z, _) = triple(simd, user, (&pos, bias(i)), (&neg, bias(j)));
            update(simd, user, &mut pos, &mut neg, s.learning_rate * z, decay, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::error::ErrorKind;
    use crate::models::blobs::in_memory;
    use crate::progress::NoProgress;
    use crate::synth::{generate, SynthConfig};
    use crate::value::Value;

    /// A snapshot of a small clustered synthetic data set.
    fn small() -> Snapshot {
        let config = SynthConfig {
            users: 300,
            items: 120,
            interactions_per_user: 15,
            clusters: 6,
            ..SynthConfig::demo()
        };
        let data = generate(&config);
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

    fn with(pairs: &[(&str, Value)]) -> Params {
        BPR.check(&pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<Vec<_>>()).expect("params")
    }

    fn train_with(data: &Snapshot, params: &Params, progress: &dyn Progress) -> Result<Box<dyn Model>> {
        (BPR.train)(data, params, progress)
    }

    /// The blobs of a model, by name.
    fn blobs(model: &dyn Model) -> Vec<(&'static str, Vec<u8>)> {
        model.blobs().expect("blobs").into_iter().map(|(n, b)| (n, b.to_vec())).collect()
    }

    #[test]
    fn one_thread_training_is_deterministic_for_a_seed() {
        let data = small();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("pool");
        let train = |seed: i64| {
            let params =
                with(&[("factors", Value::Int(8)), ("epochs", Value::Int(3)), ("seed", Value::Int(seed))]);
            pool.install(|| blobs(train_with(&data, &params, &NoProgress).expect("train").as_ref()))
        };
        assert_eq!(train(5), train(5));
        assert_ne!(train(5), train(6));
    }

    #[test]
    fn epochs_report_a_falling_loss_and_can_be_cancelled() {
        struct Record(Mutex<Vec<String>>, u64);
        impl Progress for Record {
            fn update(&self, phase: &str, done: u64, _: u64) -> bool {
                self.0.lock().expect("lock").push(phase.to_string());
                done < self.1
            }
        }
        let data = small();
        let params = with(&[
            ("factors", Value::Int(8)),
            ("epochs", Value::Int(20)),
            ("learning_rate", Value::Float(0.05)),
        ]);
        let record = Record(Mutex::new(Vec::new()), u64::MAX);
        train_with(&data, &params, &record).expect("train");
        let losses: Vec<f64> = record
            .0
            .lock()
            .expect("lock")
            .iter()
            .map(|p| {
                p.trim_start_matches("train bpr: epochs (loss ").trim_end_matches(')').parse().expect("loss")
            })
            .collect();
        assert_eq!(losses.len(), 20);
        assert!(losses[19] < 0.8 * losses[0], "{losses:?}");
        let err = train_with(&data, &params, &Record(Mutex::new(Vec::new()), 2)).err().expect("cancelled");
        assert!(matches!(err.kind(), ErrorKind::Cancelled(what) if what == "training"), "{err}");
    }

    #[test]
    fn fold_in_is_deterministic_and_close_to_training() {
        let data = small();
        let params = with(&[
            ("factors", Value::Int(8)),
            ("epochs", Value::Int(30)),
            ("learning_rate", Value::Float(0.05)),
        ]);
        let model = train_with(&data, &params, &NoProgress).expect("train");
        let mut trained = vec![0f32; 120];
        let mut folded = vec![0f32; 120];
        let mut again = vec![0f32; 120];
        let mut agree = 0;
        for u in 0..50 {
            model.score(u, data.row(u), &mut trained);
            model.score(u + 10_000, data.row(u), &mut folded);
            model.score(u + 20_000, data.row(u), &mut again);
            assert_eq!(folded, again, "the same items fold in to the same vector");
            let top = |s: &[f32]| {
                (0..120u32)
                    .filter(|i| data.row(u).binary_search(i).is_err())
                    .max_by(|&a, &b| s[a as usize].total_cmp(&s[b as usize]))
            };
            agree += usize::from(top(&trained) == top(&folded));
        }
        assert!(
            agree >= 25,
            "the folded-in and trained vectors agree on the top item for {agree} of 50 users"
        );
    }

    #[test]
    fn loading_checks_the_settings_and_biases() {
        let params = with(&[("factors", Value::Int(4)), ("epochs", Value::Int(1))]);
        let model = train_with(&small(), &params, &NoProgress).expect("train");
        let blobs = model.blobs().expect("blobs");
        assert!((BPR.load)(&Blobs::new(&in_memory(&blobs))).is_ok());
        let saved: BprBlob = Blobs::new(&in_memory(&blobs)).get(BPR_BLOB).expect("read");
        let corrupt = |blob: BprBlob| {
            let bytes = [encode(BPR_BLOB, &blob).expect("encode")];
            let read = in_memory(&bytes);
            let loaded = (BPR.load)(&Blobs::new(&read));
            loaded.err().expect("refused")
        };
        let no_bias = BprBlob {
            vectors: SavedFactors { item_bias: Vec::new(), ..saved.vectors.clone() },
            ..saved.clone()
        };
        assert!(corrupt(no_bias).message().contains("no item biases"));
        let err = corrupt(BprBlob { learning_rate: f32::NAN, ..saved.clone() });
        assert!(matches!(err.kind(), ErrorKind::Corrupt(_)), "{err:?}");
        assert!(err.message().contains("learning rate NaN"), "{err}");
        let err = corrupt(BprBlob { epochs: 0, ..saved });
        assert!(err.message().contains("epochs 0"), "{err}");
    }
}
