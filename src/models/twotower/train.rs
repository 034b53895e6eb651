//! Training the two towers: each epoch shuffles the visible `(user, positive)` pairs into batches; a
//! batch runs the user tower over `id ⊕ tags ⊕ history` and the item tower over the positives and one
//! negative per pair (`id ⊕ tags`, the id dropped out with the configured probability), L2-normalises
//! both outputs, and takes an Adam step on the mean triplet hinge ([`loss`](super::loss)). The
//! `hardest_of_n` sampler keeps, of `n` uniform draws, the item whose point (refreshed every
//! [`REFRESH`] batches) is nearest the user's current point.

use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use recodb_storage::Snapshot;

use super::inputs::{Layout, Rows};
use super::loss::triplet;
use super::{Sampler, Settings};
use crate::error::{Error, Result};
use crate::models::factors::rows_dot;
use crate::models::hogwild::{below, generator, negative};
use crate::models::nn::{
    l2_normalize, l2_normalize_backward, Activation, Adam, Grads, Input, Matrix, Mlp, Tape,
};
use crate::progress::Progress;

/// Batches between two refreshes of the item points the hardest-of-n sampler compares.
pub const REFRESH: usize = 16;

/// A stream of the seed's generators for the weights.
const STREAM: u64 = 0x7477_6f74_6f77_6572;

/// What training produces: both towers and every known entity's unit point.
pub struct Trained {
    /// The user tower.
    pub user_tower: Mlp,
    /// The item tower.
    pub item_tower: Mlp,
    /// One unit point per user id of the snapshot.
    pub users: Matrix,
    /// One unit point per item id of the snapshot.
    pub items: Matrix,
}

/// One tower with its optimiser state.
struct Tower {
    mlp: Mlp,
    adam: Adam,
    grads: Grads,
}

impl Tower {
    fn new(inputs: usize, s: &Settings, rng: &mut Xoshiro256PlusPlus) -> Result<Tower> {
        let widths = [inputs, s.hidden, s.hidden / 2, s.dim];
        let mlp = Mlp::new(&widths, Activation::Relu, Activation::Identity, rng)
            .ok_or_else(|| Error::internal("twotower: a tower needs layers"))?;
        let adam = Adam::new(s.learning_rate, &mlp.parameter_sizes());
        let grads = mlp.zero_grads();
        Ok(Tower { mlp, adam, grads })
    }

    /// Forward on `rows`: the tape, the unit outputs and their norms before normalisation.
    fn forward(&self, rows: &Rows) -> (Tape, Matrix, Vec<f32>) {
        let tape = self.mlp.forward(Input::Sparse(rows.sparse()));
        let mut unit = tape.output().clone();
        let norms = l2_normalize(&mut unit);
        (tape, unit, norms)
    }

    /// Backward from `d_unit`, the gradient at the unit outputs, and one Adam step in which the first
    /// layer moves only at the input rows the batch used; the gradients are left at zero again (the
    /// first layer's only at those rows, the others were zero before).
    fn step(&mut self, rows: &Rows, tape: &Tape, unit: &Matrix, norms: &[f32], mut d_unit: Matrix) {
        l2_normalize_backward(unit, norms, &mut d_unit);
        let columns = rows.columns();
        self.mlp.backward(Input::Sparse(rows.sparse()), tape, d_unit, &mut self.grads);
        let width = self.mlp.layers().first().map_or(0, |l| l.0.outputs());
        self.adam.step_rows(self.mlp.parameters_mut(), &self.grads.slices(), &columns, width);
        self.grads.clear_rows(&columns);
    }

    /// The unit points of `rows`, in blocks.
    fn points(&self, rows: &Rows) -> Matrix {
        let mut out = self.mlp.predict(Input::Sparse(rows.sparse()));
        l2_normalize(&mut out);
        out
    }
}

/// The input row of user `u` (id when it had interactions, its tags, its history).
pub fn user_row(rows: &mut Rows, layout: &Layout, data: &Snapshot, u: u32, history: &[u32]) {
    let id = (!data.row(u).is_empty()).then_some(u);
    rows.push(layout, id, data.user_tags.row(u), history, None);
}

/// The input row of item `i` (id when it was trained with interactions, its tags).
pub fn item_row(rows: &mut Rows, layout: &Layout, tags: &[u32], id: Option<u32>) {
    rows.push(layout, id, tags, &[], None);
}

/// The layouts of the user and item towers for a snapshot.
pub fn layouts(data: &Snapshot) -> (Layout, Layout) {
    let user = Layout {
        ids: data.n_users as usize,
        tags: data.user_tags.n_tags as usize,
        history: data.n_items as usize,
    };
    let item = Layout { ids: data.n_items as usize, tags: data.item_tags.n_tags as usize, history: 0 };
    (user, item)
}

/// Trains both towers on the visible interactions (and the tags) of `data`.
pub fn train(data: &Snapshot, s: &Settings, progress: &dyn Progress) -> Result<Trained> {
    let (user_layout, item_layout) = layouts(data);
    let n_items = data.n_items as usize;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(s.seed ^ STREAM);
    let mut users = Tower::new(user_layout.width(), s, &mut rng)?;
    let mut items = Tower::new(item_layout.width(), s, &mut rng)?;
    let mut owner: Vec<u32> = Vec::with_capacity(data.nnz());
    for u in 0..data.n_users {
        owner.extend(std::iter::repeat_n(u, data.row(u).len()));
    }
    let trained_item: Vec<bool> = {
        let mut t = vec![false; n_items];
        data.indices.iter().for_each(|&i| t[i as usize] = true);
        t
    };
    for epoch in 0..s.epochs {
        let mut rng = generator(s.seed ^ STREAM, epoch as u64, 1);
        let mut order: Vec<u32> = (0..owner.len() as u32).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, below(&mut rng, i + 1));
        }
        let (mut total, mut active) = (0.0f64, 0usize);
        let mut stale: Option<Matrix> = None;
        for (b, batch) in order.chunks(s.batch).enumerate() {
            if s.sampler == Sampler::HardestOf && (stale.is_none() || b % REFRESH == 0) {
                stale = Some(all_items(&items, &item_layout, data, &trained_item));
            }
            let mut user_rows = Rows::new();
            for &k in batch {
                let (u, pos) = (owner[k as usize], data.indices[k as usize]);
                let drop = s.user_dropout > 0.0 && rng.random::<f32>() < s.user_dropout;
                let skip = s.exclude_target.then_some(pos);
                user_rows.push(&user_layout, (!drop).then_some(u), data.user_tags.row(u), data.row(u), skip);
            }
            let (user_tape, user_unit, user_norms) = users.forward(&user_rows);
            let mut item_rows = Rows::new();
            let mut negatives = Vec::with_capacity(batch.len());
            for (r, &k) in batch.iter().enumerate() {
                let u = owner[k as usize];
                let seen = data.row(u);
                let n = match (&stale, s.sampler) {
                    (Some(points), Sampler::HardestOf) => {
                        hardest(&mut rng, n_items, seen, s.candidates, user_unit.row(r), points)
                    }
                    _ => negative(&mut rng, n_items, seen),
                };
                negatives.push(n.unwrap_or(data.indices[k as usize]));
            }
            for &i in batch.iter().map(|&k| &data.indices[k as usize]).chain(&negatives) {
                let drop = s.item_dropout > 0.0 && rng.random::<f32>() < s.item_dropout;
                item_row(&mut item_rows, &item_layout, data.item_tags.row(i), (!drop).then_some(i));
            }
            let (item_tape, item_unit, item_norms) = items.forward(&item_rows);
            let rows = batch.len();
            let (mut d_user, mut d_item) = (Matrix::zeros(rows, s.dim), Matrix::zeros(2 * rows, s.dim));
            let scale = 1.0 / rows as f32;
            {
                let (d_pos, d_neg) = d_item.as_mut_slice().split_at_mut(rows * s.dim);
                let pairs = d_user
                    .as_mut_slice()
                    .chunks_exact_mut(s.dim)
                    .zip(d_pos.chunks_exact_mut(s.dim))
                    .zip(d_neg.chunks_exact_mut(s.dim));
                for (r, ((du, dp), dn)) in pairs.enumerate() {
                    let points = [user_unit.row(r), item_unit.row(r), item_unit.row(rows + r)];
                    let loss = triplet(points, s.margin, scale, [du, dp, dn]);
                    total += f64::from(loss);
                    active += usize::from(loss > 0.0);
                }
            }
            users.step(&user_rows, &user_tape, &user_unit, &user_norms, d_user);
            items.step(&item_rows, &item_tape, &item_unit, &item_norms, d_item);
        }
        let phase = format!(
            "twotower: epoch {}, triplet loss {:.4}, active {:.1} %",
            epoch + 1,
            total / owner.len().max(1) as f64,
            100.0 * active as f64 / owner.len().max(1) as f64
        );
        if !progress.update(&phase, epoch as u64 + 1, s.epochs as u64) {
            return Err(Error::cancelled("training"));
        }
    }
    let items_out = all_items(&items, &item_layout, data, &trained_item);
    let mut user_rows = Rows::new();
    for u in 0..data.n_users {
        user_row(&mut user_rows, &user_layout, data, u, data.row(u));
    }
    let users_out = users.points(&user_rows);
    Ok(Trained { user_tower: users.mlp, item_tower: items.mlp, users: users_out, items: items_out })
}

/// Every item's unit point (with its id input only when it had interactions).
fn all_items(items: &Tower, layout: &Layout, data: &Snapshot, trained: &[bool]) -> Matrix {
    let mut rows = Rows::new();
    for i in 0..data.n_items {
        item_row(&mut rows, layout, data.item_tags.row(i), trained[i as usize].then_some(i));
    }
    items.points(&rows)
}

/// Of `n` uniform negatives of a user who has `seen`, the one whose point is nearest `user` (the
/// largest inner product of unit points); `None` when no negative could be drawn.
fn hardest(
    rng: &mut Xoshiro256PlusPlus,
    n_items: usize,
    seen: &[u32],
    n: usize,
    user: &[f32],
    points: &Matrix,
) -> Option<u32> {
    let mut best: Option<(u32, f32)> = None;
    let mut dot = [0.0f32];
    for _ in 0..n {
        let Some(c) = negative(rng, n_items, seen) else { continue };
        rows_dot(points.row(c as usize), user, &mut dot);
        if best.is_none_or(|(_, d)| dot[0] > d) {
            best = Some((c, dot[0]));
        }
    }
    best.map(|b| b.0)
}
