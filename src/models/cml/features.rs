//! CML+F (`features = true`; the paper's §3.3, `models/cml.md` B.4): a network `f` maps an item's tags
//! (the database's item tags, a multi-hot input through the network core's sparse first layer) to a
//! point, `tags → Linear(feature_hidden) → ReLU → Linear(dims)`, clipped to the unit ball. The feature
//! loss `λ_f Σ_j ‖f(x_j) − v_j‖²` pulls each tagged item's point towards `f` of its tags while `f`
//! learns to predict the points; an item without interactions, or added after training, gets the point
//! `f(tags)` outright. Items without a tag `f` knows have no feature term.

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use recodb_storage::{rkyv, Snapshot};

use super::super::ccsr::EncoderBlob;
use super::super::twotower::inputs::{Layout, Rows};
use crate::error::{Error, Result};
use crate::models::nn::{
    clip_to_unit_ball, clip_to_unit_ball_backward, Activation, Adam, Grads, Input, Matrix, Mlp, Tape,
};
use crate::models::HeapBytes;

/// Adam steps `f` takes on the feature loss after each epoch of the points.
pub const FIT_STEPS: usize = 5;

/// Adam's step size for `f`.
pub const FIT_LEARNING_RATE: f32 = 0.01;

/// A stream of the seed's generators for `f`'s initial weights.
const STREAM: u64 = 0x636d_6c2b_6665_6174;

/// The feature settings: the weight `λ_f` of the feature loss and the width of `f`'s hidden layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Features {
    /// `λ_f`.
    pub weight: f32,
    /// Width of the hidden layer.
    pub hidden: usize,
}

/// The blob of a CML+F model's tag network (absent from models trained without features).
#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[rkyv(crate = recodb_storage::rkyv)]
pub struct CmlFeaturesBlob {
    /// The item tags known at training (`f`'s input width).
    pub n_tags: u32,
    /// `λ_f`.
    pub weight: f32,
    /// The network `f`.
    pub network: EncoderBlob,
    /// The items placed by `f` at training because they had no interaction (ascending).
    pub placed: Vec<u32>,
}

/// The name of [`CmlFeaturesBlob`].
pub const CML_FEATURES_BLOB: &str = "cml_features";

/// The tag network `f` of a trained model, with the items it placed at training.
#[derive(Debug, Clone, PartialEq)]
pub struct TagNet {
    mlp: Mlp,
    n_tags: usize,
    weight: f32,
    placed: Vec<u32>,
}

impl HeapBytes for TagNet {
    fn heap_bytes(&self) -> usize {
        self.mlp.heap_bytes() + self.placed.heap_bytes()
    }
}

impl TagNet {
    /// The input layout: tags only.
    fn layout(&self) -> Layout {
        Layout { ids: 0, tags: self.n_tags, history: 0 }
    }

    /// The feature settings it was trained with.
    pub fn settings(&self) -> Features {
        let hidden = self.mlp.layers().first().map_or(0, |l| l.0.outputs());
        Features { weight: self.weight, hidden }
    }

    /// How many item tags (store ids `0..n`) `f` was trained with.
    pub fn n_tags(&self) -> usize {
        self.n_tags
    }

    /// Whether `tags` holds a tag `f` knows (else it has nothing to place an item with).
    pub fn knows(&self, tags: &[u32]) -> bool {
        tags.iter().any(|&t| (t as usize) < self.n_tags)
    }

    /// `f` of every row of `rows`, clipped to the unit ball, with the tape and the norms before clipping.
    fn forward(&self, rows: &Rows) -> (Tape, Matrix, Vec<f32>) {
        let tape = self.mlp.forward(Input::Sparse(rows.sparse()));
        let mut out = tape.output().clone();
        let norms = clip_to_unit_ball(&mut out);
        (tape, out, norms)
    }

    /// The points of items with the tag rows `tags` (the store's item tag ids; tags unknown at training
    /// left out), `dims` values each, one after the other.
    pub fn points<'t>(&self, tags: impl IntoIterator<Item = &'t [u32]>) -> Vec<f32> {
        let mut rows = Rows::new();
        let layout = self.layout();
        tags.into_iter().for_each(|t| rows.push(&layout, None, t, &[], &[]));
        self.forward(&rows).1.into_vec()
    }

    /// The items placed by `f` at training (no interaction, a known tag), ascending.
    pub fn placed(&self) -> &[u32] {
        &self.placed
    }

    /// The blob.
    pub fn blob(&self) -> CmlFeaturesBlob {
        CmlFeaturesBlob {
            n_tags: self.n_tags as u32,
            weight: self.weight,
            network: EncoderBlob::of(&self.mlp),
            placed: self.placed.clone(),
        }
    }

    /// The network of a blob for points of `dims` among `n_items` items; a corrupt-model error when its
    /// layers do not map the tags to `dims` through ReLU layers with finite weights, the weight is not a
    /// positive number, or the placed items are not ascending item ids.
    pub fn from_blob(b: CmlFeaturesBlob, dims: usize, n_items: usize) -> Result<TagNet> {
        let corrupt = |what: String| Error::corrupt(format!("corrupt cml model: {what}"));
        let mlp =
            b.network.to_mlp(b.n_tags as usize, dims).filter(|m| m.layers().len() == 2).ok_or_else(|| {
                corrupt(format!("a tag network that does not map {} tags to {dims} dimensions", b.n_tags))
            })?;
        if !(b.weight.is_finite() && b.weight > 0.0) {
            return Err(corrupt(format!("feature weight {}", b.weight)));
        }
        let ascending = b.placed.windows(2).all(|w| w[0] < w[1]);
        if !ascending || b.placed.last().is_some_and(|&i| i as usize >= n_items) {
            return Err(corrupt(format!("items placed from tags out of order or beyond {n_items} items")));
        }
        Ok(TagNet { mlp, n_tags: b.n_tags as usize, weight: b.weight, placed: b.placed })
    }
}

/// `f` in training: the network, its optimiser, and the tagged items with their input rows.
pub struct Fitting {
    net: TagNet,
    adam: Adam,
    grads: Grads,
    items: Vec<u32>,
    rows: Rows,
}

/// What pulls the items' points in an epoch: `f`'s current point for every item (row-major, `dims`
/// each; zero for an item without a known tag) and which items have one.
pub struct Targets {
    points: Vec<f32>,
    has: Vec<bool>,
    dims: usize,
}

impl Targets {
    /// One step of `λ_f ‖v − f(x)‖²` on the point `v` of item `i` with step size `learning_rate`:
    /// `v ← v − 2·learning_rate·λ_f·(v − f(x))`, a move along the segment to `f(x)`, so a point inside
    /// the ball stays inside (the step is capped at the whole segment). Returns whether `i` has a target.
    #[inline(always)]
    pub fn pull(&self, i: u32, v: &mut [f32], step: f32) -> bool {
        if !self.has.get(i as usize).copied().unwrap_or(false) {
            return false;
        }
        let at = i as usize * self.dims;
        let a = step.min(1.0);
        v.iter_mut().zip(&self.points[at..at + self.dims]).for_each(|(x, t)| *x += a * (t - *x));
        true
    }
}

impl Fitting {
    /// `f` for `data`'s item tags with freshly drawn weights; `None` without `features`, and an error
    /// naming `features` when no item of `data` has a tag.
    pub fn new(
        data: &Snapshot,
        features: Option<Features>,
        dims: usize,
        seed: u64,
    ) -> Result<Option<Fitting>> {
        let Some(f) = features else { return Ok(None) };
        let tags = &data.item_tags;
        let n_tags = tags.n_tags as usize;
        let known = |i: u32| tags.row(i).iter().any(|&t| (t as usize) < n_tags);
        let items: Vec<u32> = (0..data.n_items).filter(|&i| known(i)).collect();
        if items.is_empty() {
            let got = "a database whose items have no tags";
            return Err(Error::invalid(
                "features",
                "false unless items have tags (ADD ITEM ... TAGS (...))",
                got,
            )
            .in_context("cml"));
        }
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ STREAM);
        let mlp = Mlp::new(&[n_tags, f.hidden, dims], Activation::Relu, Activation::Identity, &mut rng)
            .ok_or_else(|| Error::internal("cml: the tag network needs layers"))?;
        let net = TagNet { mlp, n_tags, weight: f.weight, placed: Vec::new() };
        let mut rows = Rows::new();
        let layout = net.layout();
        items.iter().for_each(|&i| rows.push(&layout, None, tags.row(i), &[], &[]));
        let adam = Adam::new(FIT_LEARNING_RATE, &net.mlp.parameter_sizes());
        let grads = net.mlp.zero_grads();
        Ok(Some(Fitting { net, adam, grads, items, rows }))
    }

    /// `λ_f`.
    pub fn weight(&self) -> f32 {
        self.net.weight
    }

    /// [`FIT_STEPS`] Adam steps of `f` on the mean feature loss `λ_f / n · Σ_j ‖f(x_j) − v_j‖²` over the
    /// tagged items, the item points `items` (row-major) fixed; returns the loss before the last step.
    pub fn fit(&mut self, items: &[f32]) -> f64 {
        let mut loss = 0.0;
        for _ in 0..FIT_STEPS {
            loss = self.gradient(items);
            self.adam.step(self.net.mlp.parameters_mut(), &self.grads.slices());
        }
        loss
    }

    /// The mean feature loss of `f` against the item points `items` (row-major), its gradient with
    /// respect to `f`'s parameters left in `self.grads`.
    fn gradient(&mut self, items: &[f32]) -> f64 {
        let (tape, out, norms) = self.net.forward(&self.rows);
        let mut d_out = Matrix::zeros(out.rows(), out.cols());
        let loss = feature_loss(&out, &self.items, items, self.net.weight, &mut d_out);
        clip_to_unit_ball_backward(&out, &norms, &mut d_out);
        self.grads.clear();
        self.net.mlp.backward(Input::Sparse(self.rows.sparse()), &tape, d_out, &mut self.grads);
        loss
    }

    /// `f`'s current point of every tagged item, the pull of the next epoch.
    pub fn targets(&self, n_items: usize) -> Targets {
        let dims = self.net.mlp.outputs();
        let out = self.net.forward(&self.rows).1;
        let (mut points, mut has) = (vec![0f32; n_items * dims], vec![false; n_items]);
        for (r, &i) in self.items.iter().enumerate() {
            points[i as usize * dims..(i as usize + 1) * dims].copy_from_slice(out.row(r));
            has[i as usize] = true;
        }
        Targets { points, has, dims }
    }

    /// The trained `f`, after placing at `f(tags)` every tagged item of `data` without an interaction
    /// (in `items`, row-major).
    pub fn finish(mut self, data: &Snapshot, items: &mut [f32]) -> TagNet {
        let dims = self.net.mlp.outputs();
        let mut interacted = vec![false; data.n_items as usize];
        data.indices.iter().for_each(|&i| interacted[i as usize] = true);
        let placed: Vec<u32> = self.items.iter().copied().filter(|&i| !interacted[i as usize]).collect();
        let points = self.net.points(placed.iter().map(|&i| data.item_tags.row(i)));
        for (&i, p) in placed.iter().zip(points.chunks_exact(dims)) {
            items[i as usize * dims..(i as usize + 1) * dims].copy_from_slice(p);
        }
        self.net.placed = placed;
        self.net
    }
}

/// The feature loss `λ_f / n · Σ_r ‖out_r − v_{items[r]}‖²` of the network's outputs `out` (one row per
/// tagged item of `items`) against the item points `points` (row-major), with its gradient at the
/// outputs written into `d_out`: `2λ_f / n · (out_r − v)`.
pub fn feature_loss(out: &Matrix, items: &[u32], points: &[f32], weight: f32, d_out: &mut Matrix) -> f64 {
    let dims = out.cols();
    let scale = weight / items.len().max(1) as f32;
    let mut loss = 0f64;
    for (r, &i) in items.iter().enumerate() {
        let v = &points[i as usize * dims..(i as usize + 1) * dims];
        for ((d, &o), &x) in d_out.row_mut(r).iter_mut().zip(out.row(r)).zip(v) {
            loss += f64::from(scale * (o - x) * (o - x));
            *d = 2.0 * scale * (o - x);
        }
    }
    loss
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::nn::testing::check_gradient;
    use crate::models::testing::snapshot;
    use recodb_storage::TagRows;

    /// Six items over three tags (item 5 untagged), two users.
    fn data() -> Snapshot {
        let mut data = snapshot(&[&[0, 1, 2], &[3, 4]], 6);
        let rows: [&[u32]; 6] = [&[0], &[0, 1], &[1], &[2], &[1, 2], &[]];
        data.item_tags = TagRows::from_rows(&rows, 3);
        data
    }

    fn fitting(data: &Snapshot) -> Fitting {
        let features = Some(Features { weight: 0.5, hidden: 5 });
        Fitting::new(data, features, 4, 9).expect("tags").expect("features")
    }

    /// Item points: some inside the unit ball, some on it.
    fn points() -> Vec<f32> {
        (0..24).map(|k| ((k * 7 % 11) as f32 - 5.0) / 8.0).collect()
    }

    #[test]
    fn the_feature_loss_gradient_matches_finite_differences() {
        let data = data();
        let mut f = fitting(&data);
        assert_eq!(f.items, vec![0, 1, 2, 3, 4], "the untagged item has no feature term");
        let v = points();
        let loss = f.gradient(&v);
        for k in 0..2 {
            let at = |w: &Matrix| {
                let mut net = f.net.clone();
                net.mlp = Mlp::from_layers(
                    net.mlp
                        .layers()
                        .iter()
                        .enumerate()
                        .map(|(j, l)| {
                            let mut l = l.clone();
                            if j == k {
                                l.0.weight = w.clone();
                            }
                            l
                        })
                        .collect(),
                )
                .expect("layers");
                let out = net.forward(&f.rows).1;
                let mut d = Matrix::zeros(out.rows(), out.cols());
                feature_loss(&out, &f.items, &v, 0.5, &mut d)
            };
            assert!((at(&f.net.mlp.layers()[k].0.weight) - loss).abs() < 1e-9);
            check_gradient(
                &f.net.mlp.layers()[k].0.weight,
                &f.grads.layer(k).weight,
                at,
                &format!("layer {k}"),
            );
        }
        // The value: λ_f / n · Σ ‖f(x) − v‖² by hand.
        let out = f.net.forward(&f.rows).1;
        let by_hand: f64 = (0..5)
            .map(|r| {
                out.row(r)
                    .iter()
                    .zip(&v[r * 4..r * 4 + 4])
                    .map(|(a, b)| f64::from((a - b) * (a - b)))
                    .sum::<f64>()
            })
            .sum::<f64>()
            * 0.5
            / 5.0;
        assert!((loss - by_hand).abs() < 1e-6, "{loss} against {by_hand}");
    }

    #[test]
    fn fitting_learns_the_points_and_places_items_without_interactions() {
        let data = data();
        let mut f = fitting(&data);
        let v = points();
        let first = f.fit(&v);
        let mut last = first;
        for _ in 0..100 {
            last = f.fit(&v);
        }
        assert!(last < 0.3 * first, "feature loss {first} → {last}");
        let t = f.targets(6);
        let mut x = vec![0f32; 4];
        assert!(!t.pull(5, &mut x, 0.5), "the untagged item has no target");
        assert!(t.pull(1, &mut x, 1.0));
        assert_eq!(&x[..], &t.points[4..8], "a whole step lands on the target");
        let mut items = v.clone();
        let net = f.finish(&data, &mut items);
        assert_eq!(net.placed(), &[] as &[u32], "every tagged item has an interaction");
        let mut cold = data.clone();
        cold.indptr = vec![0, 3, 3];
        cold.indices.truncate(3);
        let mut f = fitting(&cold);
        f.fit(&v);
        let mut items = v.clone();
        let net = f.finish(&cold, &mut items);
        assert_eq!(net.placed(), &[3, 4]);
        assert_eq!(&items[12..20], &net.points([&[2u32][..], &[1, 2]])[..]);
        assert!(items[12..20].chunks(4).all(|p| p.iter().map(|x| x * x).sum::<f32>() <= 1.0 + 1e-5));
        assert_eq!(&items[..12], &v[..12], "items with interactions keep their points");
        assert!(net.knows(&[2, 7]) && !net.knows(&[3, 7]), "tag ids from 3 on are unknown");
    }

    #[test]
    fn features_need_item_tags_and_the_blob_is_checked() {
        let mut data = data();
        data.item_tags = TagRows::default();
        let err =
            Fitting::new(&data, Some(Features { weight: 0.5, hidden: 5 }), 4, 9).err().expect("no tags");
        assert!(err.message().contains("features"), "{err}");
        assert!(Fitting::new(&data, None, 4, 9).expect("no features").is_none());
        let net = fitting(&self::tests::data()).finish(&self::tests::data(), &mut points());
        let blob = net.blob();
        assert_eq!(TagNet::from_blob(blob.clone(), 4, 6).expect("loads"), net);
        let corrupt = |b: CmlFeaturesBlob, dims: usize| {
            TagNet::from_blob(b, dims, 6).expect_err("refused").message().to_string()
        };
        assert!(corrupt(blob.clone(), 5).contains("does not map 3 tags to 5"));
        assert!(corrupt(CmlFeaturesBlob { n_tags: 4, ..blob.clone() }, 4).contains("does not map 4 tags"));
        assert!(
            corrupt(CmlFeaturesBlob { weight: f32::NAN, ..blob.clone() }, 4).contains("feature weight NaN")
        );
        assert!(corrupt(CmlFeaturesBlob { placed: vec![2, 1], ..blob.clone() }, 4).contains("out of order"));
        assert!(corrupt(CmlFeaturesBlob { placed: vec![6], ..blob }, 4).contains("beyond 6 items"));
    }
}
