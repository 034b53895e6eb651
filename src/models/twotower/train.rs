//! Training the two towers: each epoch cuts every user's shuffled positives into runs of at most
//! `per_user` and shuffles the runs into batches of about `batch` pairs; a batch runs the user tower once
//! per run over `id ⊕ tags ⊕ history` (the costly sparse product, shared by the run's pairs) and the
//! item tower once per distinct item row among the positives and one negative per pair (`id ⊕ tags`, the
//! id dropped out with the configured probability), L2-normalises both outputs, and takes an Adam step
//! on the mean triplet hinge ([`loss`](super::loss)). The
//! `hardest_of_n` sampler keeps, of `n` uniform draws, the item whose point (refreshed every
//! [`REFRESH`] batches) is nearest the user's current point.
//!
//! Negatives are drawn only among the items with an interaction in the snapshot ([`negative_pool`]): an
//! item nobody has touched (held out for the cold-start protocol, or added with tags only) is not known
//! to be disliked, and drawing it would push the point of its tags away from every user, the point it
//! is served from. It stays out of training entirely.

use std::collections::HashMap;

use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use recodb_storage::Snapshot;

use super::inputs::{Layout, Rows};
use super::loss::triplet;
use super::{Sampler, Settings};
use crate::error::{Error, Result};
use crate::models::factors::rows_dot;
use crate::models::hogwild::{below, generator, negative_in};
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
    /// layer moves only at the input rows the batch used; the step leaves the gradients at zero again
    /// (the first layer's only at those rows, the others were zero before).
    fn step(&mut self, rows: &Rows, tape: &Tape, unit: &Matrix, norms: &[f32], mut d_unit: Matrix) {
        l2_normalize_backward(unit, norms, &mut d_unit);
        let columns = rows.columns();
        self.mlp.backward(Input::Sparse(rows.sparse()), tape, d_unit, &mut self.grads);
        let width = self.mlp.layers().first().map_or(0, |l| l.0.outputs());
        self.adam.step_rows(self.mlp.parameters_mut(), self.grads.slices_mut(), &columns, width);
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
    rows.push(layout, id, data.user_tags.row(u), history, &[]);
}

/// The input row of item `i` (id when it was trained with interactions, its tags).
pub fn item_row(rows: &mut Rows, layout: &Layout, tags: &[u32], id: Option<u32>) {
    rows.push(layout, id, tags, &[], &[]);
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
    let trained_item: Vec<bool> = {
        let mut t = vec![false; n_items];
        data.indices.iter().for_each(|&i| t[i as usize] = true);
        t
    };
    let pool = negative_pool(&trained_item);
    let mut positives = data.indices.clone();
    // One unit per training pair, reported after each batch: an epoch takes seconds on MovieLens-1M.
    let per_epoch = data.nnz() as u64;
    let total_units = s.epochs as u64 * per_epoch;
    let mut phase = "twotower: epoch 1".to_string();
    for epoch in 0..s.epochs {
        let mut rng = generator(s.seed ^ STREAM, epoch as u64, 1);
        let chunks = epoch_chunks(data, s.per_user, &mut positives, &mut rng);
        let (mut total, mut active) = (0.0f64, 0usize);
        let mut stale: Option<Matrix> = None;
        let mut at = 0;
        let mut b = 0;
        let mut done = epoch as u64 * per_epoch;
        while at < chunks.len() {
            let mut end = at;
            let mut pairs = 0;
            while end < chunks.len() && pairs < s.batch {
                pairs += chunks[end].2 - chunks[end].1;
                end += 1;
            }
            let batch = &chunks[at..end];
            at = end;
            if s.sampler == Sampler::HardestOf && (stale.is_none() || b % REFRESH == 0) {
                stale = Some(all_items(&items, &item_layout, data, &trained_item));
            }
            b += 1;
            let mut user_rows = Rows::new();
            let mut skip = Vec::new();
            for &(u, from, to) in batch {
                let drop = s.user_dropout > 0.0 && rng.random::<f32>() < s.user_dropout;
                skip.clear();
                if s.exclude_target {
                    skip.extend_from_slice(&positives[from..to]);
                    skip.sort_unstable();
                }
                user_rows.push(&user_layout, (!drop).then_some(u), data.user_tags.row(u), data.row(u), &skip);
            }
            let (user_tape, user_unit, user_norms) = users.forward(&user_rows);
            // (chunk, positive, negative) for every pair, then the distinct item rows they use.
            let mut triplets = Vec::with_capacity(pairs);
            for (c, &(u, from, to)) in batch.iter().enumerate() {
                let seen = data.row(u);
                for &pos in &positives[from..to] {
                    let n = match (&stale, s.sampler) {
                        (Some(points), Sampler::HardestOf) => {
                            hardest(&mut rng, &pool, seen, s.candidates, user_unit.row(c), points)
                        }
                        _ => negative_in(&mut rng, &pool, seen),
                    };
                    triplets.push((c, pos, n.unwrap_or(pos)));
                }
            }
            let mut item_rows = Rows::new();
            let mut row_of: HashMap<(u32, bool), usize> = HashMap::with_capacity(2 * pairs);
            let mut at_rows = Vec::with_capacity(triplets.len());
            for &(_, pos, neg) in &triplets {
                let mut row = |i: u32, rng: &mut Xoshiro256PlusPlus| {
                    let with_id = !(s.item_dropout > 0.0 && rng.random::<f32>() < s.item_dropout);
                    let next = row_of.len();
                    *row_of.entry((i, with_id)).or_insert_with(|| {
                        item_row(&mut item_rows, &item_layout, data.item_tags.row(i), with_id.then_some(i));
                        next
                    })
                };
                let p = row(pos, &mut rng);
                let n = row(neg, &mut rng);
                at_rows.push((p, n));
            }
            let (item_tape, item_unit, item_norms) = items.forward(&item_rows);
            let mut d_user = Matrix::zeros(batch.len(), s.dim);
            let mut d_item = Matrix::zeros(row_of.len(), s.dim);
            let scale = 1.0 / triplets.len().max(1) as f32;
            let (mut du, mut dp, mut dn) = (vec![0.0; s.dim], vec![0.0; s.dim], vec![0.0; s.dim]);
            for (&(c, _, _), &(p, n)) in triplets.iter().zip(&at_rows) {
                if p == n {
                    continue;
                }
                [&mut du, &mut dp, &mut dn].into_iter().for_each(|g| g.iter_mut().for_each(|v| *v = 0.0));
                let points = [user_unit.row(c), item_unit.row(p), item_unit.row(n)];
                let loss = triplet(points, s.margin, scale, [&mut du, &mut dp, &mut dn]);
                if loss > 0.0 {
                    total += f64::from(loss);
                    active += 1;
                    add(d_user.row_mut(c), &du);
                    add(d_item.row_mut(p), &dp);
                    add(d_item.row_mut(n), &dn);
                }
            }
            users.step(&user_rows, &user_tape, &user_unit, &user_norms, d_user);
            items.step(&item_rows, &item_tape, &item_unit, &item_norms, d_item);
            // The epoch's last batch is reported with the epoch's losses, below.
            done += pairs as u64;
            if at < chunks.len() && !progress.update(&phase, done, total_units) {
                return Err(Error::cancelled("training"));
            }
        }
        let count = data.nnz().max(1) as f64;
        phase = format!(
            "twotower: epoch {}, triplet loss {:.4}, active {:.1} %",
            epoch + 1,
            total / count,
            100.0 * active as f64 / count
        );
        if !progress.update(&phase, (epoch as u64 + 1) * per_epoch, total_units) {
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

/// `a += b`, value by value.
fn add(a: &mut [f32], b: &[f32]) {
    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
}

/// An epoch's order: each user's positives shuffled in place in `positives` (aligned with the
/// snapshot's rows) and cut into runs of at most `per_user`, `(user, from, to)`, the runs shuffled. A
/// run shares one row of the user tower in its batch.
fn epoch_chunks(
    data: &Snapshot,
    per_user: usize,
    positives: &mut [u32],
    rng: &mut Xoshiro256PlusPlus,
) -> Vec<(u32, usize, usize)> {
    let mut chunks = Vec::new();
    for u in 0..data.n_users {
        let (from, to) = (data.indptr[u as usize], data.indptr[u as usize + 1]);
        let row = &mut positives[from..to];
        for i in (1..row.len()).rev() {
            row.swap(i, below(rng, i + 1));
        }
        let mut at = from;
        while at < to {
            let end = (at + per_user.max(1)).min(to);
            chunks.push((u, at, end));
            at = end;
        }
    }
    for i in (1..chunks.len()).rev() {
        chunks.swap(i, below(rng, i + 1));
    }
    chunks
}

/// Every item's unit point (with its id input only when it had interactions).
fn all_items(items: &Tower, layout: &Layout, data: &Snapshot, trained: &[bool]) -> Matrix {
    let mut rows = Rows::new();
    for i in 0..data.n_items {
        item_row(&mut rows, layout, data.item_tags.row(i), trained[i as usize].then_some(i));
    }
    items.points(&rows)
}

/// The items negatives are drawn from: those with an interaction in the snapshot (`trained`, by item
/// id), ascending.
pub fn negative_pool(trained: &[bool]) -> Vec<u32> {
    (0u32..).zip(trained).filter(|&(_, &t)| t).map(|(i, _)| i).collect()
}

/// Of `n` uniform negatives from `pool` of a user who has `seen`, the one whose point is nearest `user`
/// (the largest inner product of unit points); `None` when no negative could be drawn.
fn hardest(
    rng: &mut Xoshiro256PlusPlus,
    pool: &[u32],
    seen: &[u32],
    n: usize,
    user: &[f32],
    points: &Matrix,
) -> Option<u32> {
    let mut best: Option<(u32, f32)> = None;
    let mut dot = [0.0f32];
    for _ in 0..n {
        let Some(c) = negative_in(rng, pool, seen) else { continue };
        rows_dot(points.row(c as usize), user, &mut dot);
        if best.is_none_or(|(_, d)| dot[0] > d) {
            best = Some((c, dot[0]));
        }
    }
    best.map(|b| b.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::twotower::tests::data;
    use crate::models::twotower::TWOTOWER;
    use crate::progress::NoProgress;
    use crate::value::Value;

    #[test]
    fn an_item_without_interactions_is_never_drawn_as_a_negative() {
        assert_eq!(negative_pool(&[true, false, true, false]), vec![0, 2]);
        // Item 30 has a tag and no interaction: drawn as a negative, its id input (row 30 of the item
        // tower's first layer) would move whenever it was not dropped out.
        let data = data();
        for sampler in ["uniform", "hardest_of_n"] {
            let given: Vec<(String, Value)> = [
                ("dim", Value::Int(16)),
                ("hidden", Value::Int(32)),
                ("epochs", Value::Int(5)),
                ("batch", Value::Int(32)),
                ("sampler", Value::from(sampler)),
                ("item_dropout", Value::Float(0.5)),
            ]
            .into_iter()
            .map(|(n, v)| (n.to_string(), v))
            .collect();
            let s = Settings::read(&TWOTOWER.check(&given).expect("params")).expect("settings");
            let trained = train(&data, &s, &NoProgress).expect("train");
            let (user_layout, item_layout) = layouts(&data);
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(s.seed ^ STREAM);
            Tower::new(user_layout.width(), &s, &mut rng).expect("user tower");
            let initial = Tower::new(item_layout.width(), &s, &mut rng).expect("item tower").mlp;
            let row = |m: &Mlp, i: usize| m.layers()[0].0.weight.row(i).to_vec();
            assert_eq!(
                row(&trained.item_tower, 30),
                row(&initial, 30),
                "{sampler}: item 30's id never trained"
            );
            assert_ne!(row(&trained.item_tower, 0), row(&initial, 0), "{sampler}: item 0's id trained");
        }
    }
}
