//! Training `ccsr`: two autoencoders, one over the users' interaction rows and one over the items'
//! interaction columns, whose code layers are tied by the pairwise loss of [`super::loss`].
//!
//! Each epoch draws its triplets once ([`Triplets::draw`]) and alternates two passes, as DCMH does:
//! 1. the item codes `G` of every item are computed, and held fixed while the user pass runs over the
//!    users in a seeded random order, in mini-batches: encoder forward on the batch's sparse rows,
//!    the gradient at the code layer (similarity and ranking against `G`, quantisation toward the signs
//!    of the previous epoch's codes after the warm-up, balance), the decoder's reconstruction gradient
//!    added to it, backward through both, an Adam step each (the encoder's sparse first layer moves
//!    only at the input rows the batch used: lazy Adam, [`Adam::step_rows`]);
//! 2. the user codes `F` are computed and held fixed while the item pass does the same over the items,
//!    with the same triplets grouped by item (an item's fresh code replaces its row of `G` as its
//!    batch goes by, so later batches see it).
//!
//! Losses are sums per row (user or item) averaged over the batch; the reconstruction of a row is
//! `α·‖x̂ − x‖²` against the binary row. With `binarization` `scaled_tanh` or `sign_scaled_tanh`, the
//! code layer is `tanh(κ·z)` with κ annealed as `√(1 + 0.005·t)` over the tower's steps `t` (HashNet);
//! otherwise it is linear and the codes are the signs.

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use recodb_storage::Snapshot;

use super::loss::{item_row, user_row, PairLoss, PairTerms, Role};
use super::pairs::{Batch, Rows, Triplets};
use super::{Binarization, Settings};
use crate::error::{Error, Result};
use crate::models::hogwild::{below, generator};
use crate::models::nn::{Activation, Adam, Grads, Input, Matrix, Mlp};

/// Rows encoded per task when every row's code is computed.
const ENCODE_CHUNK: usize = 1024;
/// Stream number of the initialisation and shuffling generators.
const STREAM: u64 = 0xcc5_1000;

/// What training produces: both encoders (their code layers at the final κ) and every user's and
/// item's real code-layer output.
pub struct Trained {
    /// The user encoder (interaction row → code layer).
    pub user_encoder: Mlp,
    /// The item encoder (interaction column → code layer).
    pub item_encoder: Mlp,
    /// Every user's code-layer output, `bits` per row.
    pub users: Matrix,
    /// Every item's.
    pub items: Matrix,
}

/// The code layer's activation for `binarization` after `steps` steps.
pub fn code_activation(binarization: Binarization, steps: u64) -> Activation {
    match binarization {
        Binarization::Sign => Activation::Identity,
        _ => Activation::Tanh((1.0 + 0.005 * steps as f32).sqrt()),
    }
}

/// The widths of an encoder over `inputs` values: two hidden layers of `hidden` and `hidden / 2`, then
/// the code layer.
pub fn encoder_widths(inputs: usize, hidden: usize, bits: usize) -> [usize; 4] {
    [inputs, hidden, (hidden / 2).max(1), bits]
}

/// One autoencoder with its optimiser state.
struct Tower {
    inputs: Rows,
    encoder: Mlp,
    decoder: Option<Mlp>,
    encoder_grads: Grads,
    decoder_grads: Option<Grads>,
    encoder_adam: Adam,
    decoder_adam: Option<Adam>,
    steps: u64,
}

/// Loss values of a pass, summed over rows.
#[derive(Debug, Clone, Copy, Default)]
struct PassLoss {
    reconstruction: f64,
    quantisation: f64,
    pairs: PairLoss,
    rows: usize,
}

impl Tower {
    fn new(inputs: Rows, width: usize, s: &Settings, rng: &mut Xoshiro256PlusPlus) -> Result<Tower> {
        let widths = encoder_widths(width, s.hidden, s.bits);
        let bad = || Error::internal("an encoder without layers");
        let code = code_activation(s.binarization, 0);
        let encoder = Mlp::new(&widths, Activation::Relu, code, rng).ok_or_else(bad)?;
        let decoder = if s.reconstruction > 0.0 {
            let mirror: Vec<usize> = widths.iter().rev().copied().collect();
            Some(Mlp::new(&mirror, Activation::Relu, Activation::Identity, rng).ok_or_else(bad)?)
        } else {
            None
        };
        Ok(Tower {
            inputs,
            encoder_grads: encoder.zero_grads(),
            decoder_grads: decoder.as_ref().map(Mlp::zero_grads),
            encoder_adam: Adam::new(s.learning_rate, &encoder.parameter_sizes()),
            decoder_adam: decoder.as_ref().map(|d| Adam::new(s.learning_rate, &d.parameter_sizes())),
            encoder,
            decoder,
            steps: 0,
        })
    }

    /// Every row's code-layer output.
    fn encode_all(&self) -> Matrix {
        let n = self.inputs.count() as u32;
        let ids: Vec<u32> = (0..n).collect();
        let bits = self.encoder.outputs();
        let mut out = Matrix::zeros(n as usize, bits);
        for (chunk, rows) in ids.chunks(ENCODE_CHUNK).zip(out.as_mut_slice().chunks_mut(ENCODE_CHUNK * bits))
        {
            let batch = Batch::gather(&self.inputs, chunk);
            rows.copy_from_slice(self.encoder.predict(Input::Sparse(batch.rows())).as_slice());
        }
        out
    }

    /// One mini-batch step over the rows `ids`: `pairs(f, d, weight)` adds the pairwise gradient at the
    /// batch's codes `f` into `d` (times `weight`) and returns its loss; `targets` are the signs the
    /// quantisation pulls toward (`None` during the warm-up). Returns the codes before the step.
    fn step(
        &mut self,
        ids: &[u32],
        s: &Settings,
        targets: Option<&Matrix>,
        pairs: impl Fn(&Matrix, &mut Matrix, f32) -> PairLoss,
        loss: &mut PassLoss,
    ) -> Matrix {
        self.encoder.set_output_activation(code_activation(s.binarization, self.steps));
        let batch = Batch::gather(&self.inputs, ids);
        let x = Input::Sparse(batch.rows());
        let tape = self.encoder.forward(x);
        let f = tape.output();
        let (rows, bits) = (f.rows(), f.cols());
        let inv = 1.0 / rows.max(1) as f32;
        let mut d = Matrix::zeros(rows, bits);
        loss.pairs += pairs(f, &mut d, inv);
        if let Some(targets) = targets.filter(|_| s.quantization > 0.0) {
            for (r, &id) in ids.iter().enumerate() {
                let (fr, dr) = (f.row(r), d.row_mut(r));
                for ((d, &v), &t) in dr.iter_mut().zip(fr).zip(targets.row(id as usize)) {
                    let b = if t > 0.0 { 1.0 } else { -1.0 };
                    *d += 2.0 * s.quantization * (v - b) * inv;
                    loss.quantisation += f64::from(s.quantization * (v - b) * (v - b));
                }
            }
        }
        if s.balance > 0.0 {
            let mut mean = vec![0f32; bits];
            for r in 0..rows {
                mean.iter_mut().zip(f.row(r)).for_each(|(m, v)| *m += v * inv);
            }
            for r in 0..rows {
                d.row_mut(r).iter_mut().zip(&mean).for_each(|(d, m)| *d += 2.0 * s.balance * m * inv);
            }
        }
        if let (Some(decoder), Some(grads), Some(adam)) =
            (&mut self.decoder, &mut self.decoder_grads, &mut self.decoder_adam)
        {
            let dtape = decoder.forward(Input::Dense(f));
            let mut dx = dtape.output().clone();
            let width = dx.cols();
            let alpha = s.reconstruction;
            let values = dx.as_mut_slice();
            for (r, &id) in ids.iter().enumerate() {
                for &c in self.inputs.row(id) {
                    values[r * width + c as usize] -= 1.0;
                }
            }
            loss.reconstruction += f64::from(alpha) * values.iter().map(|v| f64::from(v * v)).sum::<f64>();
            values.iter_mut().for_each(|v| *v *= 2.0 * alpha * inv);
            grads.clear();
            if let Some(df) = decoder.backward(Input::Dense(f), &dtape, dx, grads) {
                d.as_mut_slice().iter_mut().zip(df.as_slice()).for_each(|(a, b)| *a += b);
            }
            adam.step(decoder.parameters_mut(), &grads.slices());
        }
        // The encoder's gradients are zero before its backward pass (from `Tower::new`, then from
        // `step_rows` below, which clears what it reads); its sparse first layer moves only at the
        // input rows the batch used.
        self.encoder.backward(x, &tape, d, &mut self.encoder_grads);
        let codes = tape.output().clone();
        let columns = batch.rows().columns();
        let width = self.encoder.layers().first().map_or(1, |l| l.0.outputs());
        self.encoder_adam.step_rows(
            self.encoder.parameters_mut(),
            self.encoder_grads.slices_mut(),
            &columns,
            width,
        );
        self.steps += 1;
        loss.rows += rows;
        codes
    }
}

/// A seeded random order of `0..n`.
fn shuffled(n: usize, rng: &mut Xoshiro256PlusPlus) -> Vec<u32> {
    let mut order: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        order.swap(i, below(rng, i + 1));
    }
    order
}

/// Trains both autoencoders on the visible interactions of `data`.
pub fn train(data: &Snapshot, s: &Settings, progress: &dyn crate::progress::Progress) -> Result<Trained> {
    let (n_users, n_items) = (data.n_users as usize, data.n_items as usize);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(s.seed ^ STREAM);
    let mut users = Tower::new(Rows::users(data), n_items, s, &mut rng)?;
    let mut items = Tower::new(Rows::items(data), n_users, s, &mut rng)?;
    let terms = PairTerms { scale: s.logit_scale, negatives: s.negatives, rank: s.rank_weight };
    let mut f_all = users.encode_all();
    // One unit per mini-batch, users' and items', reported after each: an epoch takes seconds.
    let per_epoch = (n_users.div_ceil(s.batch) + n_items.div_ceil(s.batch)) as u64;
    let total = s.epochs as u64 * per_epoch;
    let mut done = 0;
    let mut phase = "ccsr: epoch 1".to_string();
    let mut step_done = |phase: &str| {
        done += 1;
        if progress.update(phase, done, total) {
            Ok(())
        } else {
            Err(Error::cancelled("training"))
        }
    };
    for epoch in 0..s.epochs {
        let triplets = Triplets::draw(data, s.negatives, s.seed, epoch as u64);
        let mut order_rng = generator(s.seed ^ STREAM, epoch as u64, 1);
        let quantise = epoch >= s.warmup;
        let mut g_all = items.encode_all();
        let mut user_loss = PassLoss::default();
        for ids in shuffled(n_users, &mut order_rng).chunks(s.batch) {
            let pairs = |f: &Matrix, d: &mut Matrix, weight: f32| {
                let bits = f.cols().max(1);
                let g = &g_all;
                let t = &triplets;
                d.as_mut_slice()
                    .par_chunks_mut(bits)
                    .zip(ids.par_iter())
                    .enumerate()
                    .map(|(r, (dr, &u))| {
                        let range = t.by_user[u as usize]..t.by_user[u as usize + 1];
                        let pairs = range.map(|k| (t.positive[k], t.negative[k]));
                        user_row(&terms, f.row(r), pairs, |i| g.row(i as usize), weight, dr)
                    })
                    .reduce(PairLoss::default, |mut a, b| {
                        a += b;
                        a
                    })
            };
            users.step(ids, s, quantise.then_some(&f_all), pairs, &mut user_loss);
            step_done(&phase)?;
        }
        f_all = users.encode_all();
        let mut item_loss = PassLoss::default();
        let item_targets = g_all.clone();
        for ids in shuffled(n_items, &mut order_rng).chunks(s.batch) {
            let pairs = |g: &Matrix, d: &mut Matrix, weight: f32| {
                let bits = g.cols().max(1);
                let (f, g_cur, t) = (&f_all, &g_all, &triplets);
                d.as_mut_slice().par_chunks_mut(bits).zip(ids.par_iter()).enumerate().for_each(
                    |(r, (dr, &i))| {
                        let pos = t.as_positive.row(i).iter().map(|&(u, j)| (u, j, Role::Positive));
                        let neg = t.as_negative.row(i).iter().map(|&(u, j)| (u, j, Role::Negative));
                        let (user, item) = (|u: u32| f.row(u as usize), |j: u32| g_cur.row(j as usize));
                        item_row(&terms, g.row(r), pos.chain(neg), user, item, weight, dr);
                    },
                );
                PairLoss::default()
            };
            let codes = items.step(ids, s, quantise.then_some(&item_targets), pairs, &mut item_loss);
            for (r, &i) in ids.iter().enumerate() {
                g_all.row_mut(i as usize).copy_from_slice(codes.row(r));
            }
            step_done(&phase)?;
        }
        let per = |x: f64, n: usize| if n > 0 { x / n as f64 } else { 0.0 };
        let rows = user_loss.rows + item_loss.rows;
        phase = format!(
            "ccsr: epoch {}, reconstruction {:.3}, similarity {:.4}, quantisation {:.3}",
            epoch + 1,
            per(user_loss.reconstruction + item_loss.reconstruction, rows),
            per(user_loss.pairs.similarity, triplets.count()),
            per(user_loss.quantisation + item_loss.quantisation, rows),
        );
        if s.rank_weight > 0.0 {
            phase.push_str(&format!(", ranking {:.4}", per(user_loss.pairs.rank, triplets.count())));
        }
        if !progress.update(&phase, (epoch as u64 + 1) * per_epoch, total) {
            return Err(Error::cancelled("training"));
        }
    }
    // Each tower keeps the κ its last step reached (they take different numbers of steps).
    users.encoder.set_output_activation(code_activation(s.binarization, users.steps));
    items.encoder.set_output_activation(code_activation(s.binarization, items.steps));
    Ok(Trained {
        users: users.encode_all(),
        items: items.encode_all(),
        user_encoder: users.encoder,
        item_encoder: items.encoder,
    })
}
