//! `twotower`: the dual-tower metric model over features ("Metric Learning for Tag Recommendation",
//! Luo et al., 2024), with the settings measured on MovieLens-1M that `docs/models/twotower.md` records.
//!
//! A user tower reads `id ⊕ user tags ⊕ L1-normalised history` and an item tower `id ⊕ item tags`
//! ([`inputs`]), each an MLP `[in → hidden → hidden/2 → dim]` with ReLU and an L2-normalised output,
//! trained with Adam on the triplet hinge `max(‖u − p‖² − ‖u − n‖² + margin, 0)` ([`loss`], [`train`]).
//! The negative sampler is a parameter (`uniform`, or the hardest of `candidates` uniform draws, both
//! among the items with an interaction in the snapshot), and the id inputs can be dropped out in
//! training so that the content path learns.
//!
//! **Serving** is an exact scan of the item points: a score is `−‖u − v‖²` (the SIMD kernel CML's exact
//! serving uses), so RECOMMEND's filters and seen-item exclusion apply as for every model, and SIMILAR
//! ITEM ranks by the same distance.
//!
//! **Cold start**: an entity that had no interaction when the model was trained has an untrained id
//! input, so its point comes from the tower with the id input zeroed (tags only for an item; tags and
//! history for a user); a user whose items changed since training is run through the user tower with
//! its current history. [`TwoTowerModel::item_point`] and [`TwoTowerModel::user_point`] give the point
//! of any tags and history. Users and items added after training are placed the same way, from the
//! store's tags: the model is [`FromTags`], and the catalog keeps its extension per data version
//! ([`crate::models::catalog::Loaded::serving`]). An item added after training without a tag the model
//! knows carries nothing to place it and scores at the floor (`-inf`).
//!
//! **Tags** are placed too: as the points of the items that carry the tag, once the model is extended
//! to the store's tags (as every served model is), or at the item tower over that tag alone, id input
//! zeroed ([`FromTags::tag_points`]); RECOMMEND TAGS ranks them by a soft minimum of their squared
//! distances to a user's or an item's point.

pub mod inputs;
pub mod loss;
pub mod train;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use recodb_storage::{rkyv, Snapshot, TagRows, TagSnapshot};

use self::inputs::{Layout, Rows};
use super::blobs::{encode, Blob, Blobs};
use super::ccsr::EncoderBlob;
use super::cml::{negative_distances, squared_norms};
use super::params::Kind;
use super::{fingerprint, Algorithm, FromTags, HeapBytes, Model, Param, Params, Similarity, TagPoints};
use crate::error::{Error, Result};
use crate::models::nn::{l2_normalize, Input, Mlp};
use crate::progress::Progress;

/// The dual-tower algorithm.
pub const TWOTOWER: Algorithm = Algorithm {
    name: "twotower",
    about: "dual-tower metric learning over ids, tags and histories (triplet hinge on unit points), \
            served by an exact scan; tags-only items and users get points from the towers",
    parameters: PARAMETERS,
    train: |data, params, progress| Ok(Box::new(TwoTowerModel::train(data, params, progress)?)),
    load: |blobs| Ok(Box::new(TwoTowerModel::load(blobs)?)),
};

const PARAMETERS: &[Param] = &[
    Param::int("dim", 64, 2, 1024, "dimensions of the unit points (the towers' output)"),
    Param {
        name: "hidden",
        kind: Kind::Int { default: 256, min: 4, max: 4096, step: 2 },
        doc: "width of the towers' first hidden layer (the second is half)",
    },
    Param::int("epochs", 30, 1, 10_000, "passes over the visible interactions"),
    Param::positive("learning_rate", 0.001, "Adam step size"),
    Param::int("batch", 1024, 1, 65_536, "(user, positive) pairs per mini-batch"),
    Param::int(
        "per_user",
        16,
        1,
        10_000,
        "a user's positives per run sharing one user-tower row in a batch (1: every pair its own)",
    ),
    Param::positive("margin", 0.5, "hinge margin m on squared distances between unit points"),
    Param::choice(
        "sampler",
        "hardest_of_n",
        &["hardest_of_n", "uniform"],
        "'hardest_of_n': of `candidates` uniform negatives, the nearest the user; 'uniform': one draw",
    ),
    Param::int("candidates", 10, 1, 1000, "n of the hardest_of_n sampler"),
    Param::non_negative("item_dropout", 0.0, "probability of zeroing an item's id input in training (< 1)"),
    Param::non_negative("user_dropout", 0.0, "probability of zeroing a user's id input in training (< 1)"),
    Param::flag("exclude_target", false, "leave the positive out of the user's history input"),
    Param::seed("seed", 42, "seed of the weights, the batch order and the negatives"),
];

/// The negative sampler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampler {
    /// One uniform draw among the items the user does not have.
    Uniform,
    /// The nearest to the user of `candidates` uniform draws.
    HardestOf,
}

/// Validated training parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Output dimensions.
    pub dim: usize,
    /// First hidden width.
    pub hidden: usize,
    /// Passes.
    pub epochs: usize,
    /// Adam step size.
    pub learning_rate: f32,
    /// Pairs per batch.
    pub batch: usize,
    /// A user's positives per run sharing a user-tower row.
    pub per_user: usize,
    /// Hinge margin.
    pub margin: f32,
    /// Negative sampler.
    pub sampler: Sampler,
    /// Draws of the hardest-of-n sampler.
    pub candidates: usize,
    /// Item-id dropout probability.
    pub item_dropout: f32,
    /// User-id dropout probability.
    pub user_dropout: f32,
    /// Leave the positive out of the history input.
    pub exclude_target: bool,
    /// Seed.
    pub seed: u64,
}

impl Settings {
    /// Reads the checked `WITH (...)` parameters; a dropout of 1 or more is an error naming it.
    pub fn read(p: &Params) -> Result<Settings> {
        let dropout = |name: &str| -> Result<f32> {
            let v = p.float(name)?;
            if v >= 1.0 {
                let got = format!("{v}");
                return Err(Error::invalid(name, "a number from 0 to below 1", got).in_context("twotower"));
            }
            Ok(v as f32)
        };
        Ok(Settings {
            dim: p.int("dim")? as usize,
            hidden: p.int("hidden")? as usize,
            epochs: p.int("epochs")? as usize,
            learning_rate: p.float("learning_rate")? as f32,
            batch: p.int("batch")? as usize,
            per_user: p.int("per_user")? as usize,
            margin: p.float("margin")? as f32,
            sampler: if p.choice("sampler")? == "uniform" { Sampler::Uniform } else { Sampler::HardestOf },
            candidates: p.int("candidates")? as usize,
            item_dropout: dropout("item_dropout")?,
            user_dropout: dropout("user_dropout")?,
            exclude_target: p.flag("exclude_target")?,
            seed: p.seed("seed")?,
        })
    }
}

/// The blob of a twotower model: both towers, their input layouts, the users' tags and which entities
/// had interactions at training, the trained users' fingerprints and every known entity's unit point.
#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[rkyv(crate = recodb_storage::rkyv)]
pub struct TwoTowerBlob {
    /// Dimensions of the points.
    pub dim: u32,
    /// Users known at training (the user tower's id block).
    pub n_users: u32,
    /// Items known at training (the item tower's id block and the user tower's history block).
    pub n_items: u32,
    /// User tags known at training.
    pub n_user_tags: u32,
    /// Item tags known at training.
    pub n_item_tags: u32,
    /// The user tower.
    pub user_tower: EncoderBlob,
    /// The item tower.
    pub item_tower: EncoderBlob,
    /// The users' tags at training: row offsets (`n_users + 1`).
    pub user_tag_indptr: Vec<u64>,
    /// The users' tags at training: tag ids, row by row.
    pub user_tag_indices: Vec<u32>,
    /// The users that had no interaction at training (ascending): their id input is untrained.
    pub cold_users: Vec<u32>,
    /// The items that had no interaction at training (ascending): their id input is untrained.
    pub cold_items: Vec<u32>,
    /// Each user's fingerprint of its trained items.
    pub fingerprints: Vec<u64>,
    /// User points, `n_users × dim`.
    pub users: Vec<f32>,
    /// Item points, `n_items × dim`.
    pub items: Vec<f32>,
}

/// The soft minimum's temperature when tags are placed as their items' points ([`TagPoints::scores`]):
/// on the standard split (3 epochs, `genre:` tags) EVALUATE TAGS Recall@5 was 0.478 at 1.0, 0.496 at
/// 0.2 and 0.464 at 0.05 (the most-frequent-tags baseline: 0.489).
pub const TAG_BANDWIDTH: f32 = 0.2;

/// The name of the blob a twotower model is stored in.
pub const TWOTOWER_BLOB: &str = "twotower";

/// A trained dual-tower model (its trained parts shared between the model and its extensions to later
/// entities).
#[derive(Debug, Clone)]
pub struct TwoTowerModel {
    dim: usize,
    user_tower: Arc<Mlp>,
    item_tower: Arc<Mlp>,
    user_layout: Layout,
    item_layout: Layout,
    user_tags: Arc<TagRows>,
    cold_users: Arc<[u32]>,
    cold_items: Arc<[u32]>,
    fingerprints: Arc<[u64]>,
    users: Arc<[f32]>,
    items: Arc<[f32]>,
    item_norms: Arc<[f32]>,
    late: Late,
}

/// The users and items added after training, placed from the store's tags (empty for a model as
/// trained or loaded; see [`FromTags`]).
#[derive(Debug, Clone, Default)]
struct Late {
    /// Every user's tag ids in the store (rows by id; used for the users added after training).
    user_tags: TagRows,
    /// Points of the items from the trained bound on, in id order.
    items: Vec<f32>,
    /// Their squared norms.
    norms: Vec<f32>,
    /// Those without a tag the model knows (ascending): scored at the floor.
    untagged: Vec<u32>,
    /// Users added after training with a tag the model knows.
    tagged_users: usize,
    /// The item tags' places (see [`FromTags::tag_points`]); `None` before the model is extended.
    tag_points: Option<TagPoints>,
}

impl HeapBytes for Late {
    fn heap_bytes(&self) -> usize {
        let points = self.items.heap_bytes() + self.norms.heap_bytes();
        let tags = self.tag_points.as_ref().map_or(0, HeapBytes::heap_bytes);
        self.user_tags.heap_bytes() + points + self.untagged.heap_bytes() + tags
    }
}

impl TwoTowerModel {
    /// Trains on a snapshot (its interactions and tags) with checked parameters.
    pub fn train(data: &Snapshot, params: &Params, progress: &dyn Progress) -> Result<TwoTowerModel> {
        let s = Settings::read(params)?;
        let trained = train::train(data, &s, progress)?;
        let (user_layout, item_layout) = train::layouts(data);
        let mut has_item = vec![false; data.n_items as usize];
        data.indices.iter().for_each(|&i| has_item[i as usize] = true);
        let items = trained.items.into_vec();
        Ok(TwoTowerModel {
            dim: s.dim,
            item_norms: squared_norms(&items, s.dim).into(),
            user_tower: Arc::new(trained.user_tower),
            item_tower: Arc::new(trained.item_tower),
            user_layout,
            item_layout,
            user_tags: Arc::new(padded(&data.user_tags, data.n_users)),
            cold_users: (0..data.n_users).filter(|&u| data.row(u).is_empty()).collect(),
            cold_items: (0..data.n_items).filter(|&i| !has_item[i as usize]).collect(),
            fingerprints: (0..data.n_users).map(|u| fingerprint(data.row(u))).collect(),
            users: trained.users.into_vec().into(),
            items: items.into(),
            late: Late::default(),
        })
    }

    /// Rebuilds a model from its blob, refusing one whose parts do not fit together.
    pub fn load(blobs: &Blobs<'_>) -> Result<TwoTowerModel> {
        let b: TwoTowerBlob = blobs.get(TWOTOWER_BLOB)?;
        let corrupt = |what: String| Error::corrupt(format!("corrupt twotower model: {what}"));
        let (dim, n_users, n_items) = (b.dim as usize, b.n_users as usize, b.n_items as usize);
        let user_layout = Layout { ids: n_users, tags: b.n_user_tags as usize, history: n_items };
        let item_layout = Layout { ids: n_items, tags: b.n_item_tags as usize, history: 0 };
        let user_tower = b.user_tower.to_mlp(user_layout.width(), dim).ok_or_else(|| {
            corrupt(format!("a user tower that does not map {} inputs to {dim}", user_layout.width()))
        })?;
        let item_tower = b.item_tower.to_mlp(item_layout.width(), dim).ok_or_else(|| {
            corrupt(format!("an item tower that does not map {} inputs to {dim}", item_layout.width()))
        })?;
        if dim == 0
            || b.fingerprints.len() != n_users
            || b.users.len() != n_users.saturating_mul(dim)
            || b.items.len() != n_items.saturating_mul(dim)
            || !b.users.iter().chain(&b.items).all(|v| v.is_finite())
        {
            return Err(corrupt(format!(
                "{} fingerprints, {} user and {} item values for {n_users} users and {n_items} items of {dim}",
                b.fingerprints.len(),
                b.users.len(),
                b.items.len()
            )));
        }
        let indptr: Vec<usize> = b.user_tag_indptr.iter().map(|&o| o as usize).collect();
        let tags_fit = indptr.len() == n_users + 1
            && indptr.first() == Some(&0)
            && indptr.windows(2).all(|w| w[0] <= w[1])
            && indptr.last() == Some(&b.user_tag_indices.len())
            && b.user_tag_indices.iter().all(|&t| t < b.n_user_tags);
        let ascending = |ids: &[u32], bound: usize| {
            ids.windows(2).all(|w| w[0] < w[1]) && ids.last().is_none_or(|&i| (i as usize) < bound)
        };
        if !tags_fit || !ascending(&b.cold_users, n_users) || !ascending(&b.cold_items, n_items) {
            return Err(corrupt("user tags or cold entities out of range".into()));
        }
        Ok(TwoTowerModel {
            dim,
            user_tower: Arc::new(user_tower),
            item_tower: Arc::new(item_tower),
            user_layout,
            item_layout,
            user_tags: Arc::new(TagRows { n_tags: b.n_user_tags, indptr, indices: b.user_tag_indices }),
            cold_users: b.cold_users.into(),
            cold_items: b.cold_items.into(),
            fingerprints: b.fingerprints.into(),
            item_norms: squared_norms(&b.items, dim).into(),
            users: b.users.into(),
            items: b.items.into(),
            late: Late::default(),
        })
    }

    /// Dimensions of the points.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The items that had no interaction at training, served from their tags alone.
    pub fn cold_items(&self) -> &[u32] {
        &self.cold_items
    }

    /// The users that had no interaction at training (served from their tags, and their history once
    /// they have one).
    pub fn cold_users(&self) -> &[u32] {
        &self.cold_users
    }

    /// The unit point of item `i` (`None` beyond the items known at training and those added since
    /// that the model was extended to).
    pub fn item(&self, i: u32) -> Option<&[f32]> {
        let i = i as usize;
        match i.checked_sub(self.item_norms.len()) {
            None => self.items.get(i * self.dim..(i + 1) * self.dim),
            Some(late) => self.late.items.get(late * self.dim..(late + 1) * self.dim),
        }
    }

    /// The unit point of an item with tags `tags` (the store's item tag ids) and no trained id: the
    /// item tower with the id input zeroed. Tags unknown at training are left out.
    pub fn item_point(&self, tags: &[u32]) -> Vec<f32> {
        let mut rows = Rows::new();
        rows.push(&self.item_layout, None, tags, &[], &[]);
        self.run(&self.item_tower, &rows)
    }

    /// The unit point of a user from its tags (the store's user tag ids) and its items `seen`, with
    /// the id input of `trained_id` (a user whose id had interactions at training) or none.
    pub fn user_point(&self, trained_id: Option<u32>, tags: &[u32], seen: &[u32]) -> Vec<f32> {
        let mut rows = Rows::new();
        rows.push(&self.user_layout, trained_id, tags, seen, &[]);
        self.run(&self.user_tower, &rows)
    }

    fn run(&self, tower: &Mlp, rows: &Rows) -> Vec<f32> {
        let mut out = tower.predict(Input::Sparse(rows.sparse()));
        l2_normalize(&mut out);
        out.into_vec()
    }

    /// The tags `user` is placed with: its tags at training for a user known then, the store's tags
    /// of the extension for one added since.
    fn tags_of_user(&self, user: u32) -> &[u32] {
        if (user as usize) < self.fingerprints.len() {
            self.user_tags.row(user)
        } else {
            self.late.user_tags.row(user)
        }
    }

    /// Whether `user` was trained with interactions (its id input learned).
    fn has_trained_id(&self, user: u32) -> bool {
        (user as usize) < self.fingerprints.len() && self.cold_users.binary_search(&user).is_err()
    }

    /// `−‖point − v‖²` for every item point `v` (trained, then added since), the floor for items added
    /// since without a known tag.
    fn distances(&self, point: &[f32], scores: &mut [f32]) {
        let (trained, late) = scores.split_at_mut(self.item_norms.len().min(scores.len()));
        negative_distances(point, &self.items, &self.item_norms, trained);
        negative_distances(point, &self.late.items, &self.late.norms, late);
        for &i in &self.late.untagged {
            if let Some(s) = scores.get_mut(i as usize) {
                *s = f32::NEG_INFINITY;
            }
        }
    }

    /// Whether `user`'s items are those it was trained on.
    fn trained(&self, user: u32, seen: &[u32]) -> bool {
        self.fingerprints.get(user as usize).is_some_and(|&f| f == fingerprint(seen))
    }

    /// The point `user` is served with: its trained point when its items are unchanged, otherwise the
    /// user tower over its id (when trained with interactions), its tags (at training, or in the store
    /// for a user added since, once the model is extended) and `seen`.
    pub fn serving_point(&self, user: u32, seen: &[u32]) -> Vec<f32> {
        if self.trained(user, seen) {
            if let Some(p) = self.users.get(user as usize * self.dim..(user as usize + 1) * self.dim) {
                return p.to_vec();
            }
        }
        let id = self.has_trained_id(user).then_some(user);
        self.user_point(id, self.tags_of_user(user), seen)
    }
}

impl TwoTowerModel {
    /// The item tower over each item tag alone, the id input zeroed (one batch), row-major.
    fn tower_tag_points(&self) -> Vec<f32> {
        let mut rows = Rows::new();
        for t in 0..self.item_layout.tags as u32 {
            rows.push(&self.item_layout, None, &[t], &[], &[]);
        }
        if self.item_layout.tags > 0 {
            self.run(&self.item_tower, &rows)
        } else {
            Vec::new()
        }
    }

    /// The tag points of an extended model: each item tag the model was trained with placed as the
    /// points of the items that carry it in `item_tags` (the store's rows by item id; items without a
    /// point carry none), scored by a soft minimum of the squared distances at [`TAG_BANDWIDTH`]
    /// ([`TagPoints::scores`]).
    fn item_sets(&self, item_tags: &TagRows) -> TagPoints {
        let n_items = self.n_items();
        let mut points = Vec::with_capacity(n_items as usize * self.dim);
        let mut rows: Vec<&[u32]> = Vec::with_capacity(n_items as usize);
        for item in 0..n_items {
            match self.point(Similarity::Item(item)) {
                Some(point) => {
                    points.extend_from_slice(&point);
                    rows.push(item_tags.row(item));
                }
                None => {
                    points.extend(std::iter::repeat_n(0.0, self.dim));
                    rows.push(&[]);
                }
            }
        }
        let tags = TagRows::from_rows(&rows, item_tags.n_tags);
        TagPoints::of_items(self.dim, points, tags, self.item_layout.tags, TAG_BANDWIDTH)
    }
}

/// `tags` with exactly one row per id below `n` (rows past its end empty, rows beyond `n` left out).
fn padded(tags: &TagRows, n: u32) -> TagRows {
    let rows: Vec<&[u32]> = (0..n).map(|id| tags.row(id)).collect();
    TagRows::from_rows(&rows, tags.n_tags)
}

impl FromTags for TwoTowerModel {
    /// The items from the trained bound on get points from the item tower over their tags (the id
    /// input zeroed), in one batch; the users added since are placed at query time from the tags kept.
    fn extended(&self, tags: &TagSnapshot) -> Box<dyn Model> {
        let known = |layout: &Layout, row: &[u32]| row.iter().any(|&t| (t as usize) < layout.tags);
        let first = self.item_norms.len() as u32;
        let bound = tags.items.indptr.len().saturating_sub(1) as u32;
        let mut rows = Rows::new();
        let mut untagged = Vec::new();
        for item in first..bound {
            let row = tags.items.row(item);
            if !known(&self.item_layout, row) {
                untagged.push(item);
            }
            rows.push(&self.item_layout, None, row, &[], &[]);
        }
        let items = if bound > first { self.run(&self.item_tower, &rows) } else { Vec::new() };
        let users_bound = tags.users.indptr.len().saturating_sub(1) as u32;
        let tagged_users = (self.fingerprints.len() as u32..users_bound)
            .filter(|&u| known(&self.user_layout, tags.users.row(u)))
            .count();
        let late = Late {
            user_tags: tags.users.clone(),
            norms: squared_norms(&items, self.dim),
            items,
            untagged,
            tagged_users,
            tag_points: None,
        };
        let mut model = TwoTowerModel { late, ..self.clone() };
        model.late.tag_points = Some(model.item_sets(&tags.items));
        Box::new(model)
    }

    /// Each item tag's place: once the model is extended to the store's tags (as every served model
    /// is), the points of the items that carry it ([`TwoTowerModel::item_sets`]); before that, the item
    /// tower over that tag alone, id input zeroed.
    fn tag_points(&self) -> TagPoints {
        match &self.late.tag_points {
            Some(points) => points.clone(),
            None => TagPoints::new(self.dim, self.tower_tag_points()),
        }
    }

    /// A user's [`TwoTowerModel::serving_point`]; an item's point, `None` for one added after training
    /// without a tag the model knows (it scores at the floor).
    fn point(&self, of: Similarity<'_>) -> Option<Vec<f32>> {
        match of {
            Similarity::User(user, seen) => Some(self.serving_point(user, seen)),
            Similarity::Item(item) if self.late.untagged.binary_search(&item).is_ok() => None,
            Similarity::Item(item) => self.item(item).map(<[f32]>::to_vec),
        }
    }
}

impl Model for TwoTowerModel {
    fn n_items(&self) -> u32 {
        (self.item_norms.len() + self.late.norms.len()) as u32
    }

    /// `−‖u − v‖²` for every item point `v`.
    fn score(&self, user: u32, seen: &[u32], scores: &mut [f32]) {
        self.distances(&self.serving_point(user, seen), scores);
    }

    fn is_trained(&self, user: u32, seen: &[u32]) -> Option<bool> {
        Some(self.trained(user, seen))
    }

    /// Also a user without items when it was trained with some, or has a tag the model knows.
    fn scores_user(&self, user: u32, seen: &[u32]) -> bool {
        let tags = self.tags_of_user(user);
        !seen.is_empty()
            || self.has_trained_id(user)
            || tags.iter().any(|&t| (t as usize) < self.user_layout.tags)
    }

    fn tag_placement(&self) -> Option<&dyn FromTags> {
        Some(self)
    }

    /// The entities that had no interaction at training, served from their tags (and, for a user,
    /// the history it has since), and those added after training that are placed from their tags.
    fn properties(&self) -> Vec<(&'static str, String)> {
        let late_items = self.late.norms.len() - self.late.untagged.len();
        vec![
            ("cold_items_from_tags", self.cold_items.len().to_string()),
            ("cold_users_from_tags", self.cold_users.len().to_string()),
            ("items_after_training_from_tags", late_items.to_string()),
            ("users_after_training_from_tags", self.late.tagged_users.to_string()),
        ]
    }

    /// `−‖u − u_j‖²` for every trained user `j` (users without interactions at training included).
    fn similar_users(&self, user: u32, seen: &[u32], scores: &mut Vec<f32>) -> Result<()> {
        let point = self.serving_point(user, seen);
        scores.clear();
        scores.resize(self.fingerprints.len(), 0.0);
        negative_distances(&point, &self.users, &squared_norms(&self.users, self.dim), scores);
        Ok(())
    }

    /// `−‖v_item − v_j‖²` (items added since training included once extended); an unknown item is
    /// similar to nothing (all scores 0).
    fn similar_items(&self, item: u32, scores: &mut [f32]) -> Result<()> {
        match self.item(item) {
            Some(v) => self.distances(v, scores),
            None => scores.iter_mut().for_each(|s| *s = 0.0),
        }
        Ok(())
    }

    fn blobs(&self) -> Result<Vec<Blob>> {
        let blob = TwoTowerBlob {
            dim: self.dim as u32,
            n_users: self.user_layout.ids as u32,
            n_items: self.item_layout.ids as u32,
            n_user_tags: self.user_layout.tags as u32,
            n_item_tags: self.item_layout.tags as u32,
            user_tower: EncoderBlob::of(&self.user_tower),
            item_tower: EncoderBlob::of(&self.item_tower),
            user_tag_indptr: self.user_tags.indptr.iter().map(|&o| o as u64).collect(),
            user_tag_indices: self.user_tags.indices.clone(),
            cold_users: self.cold_users.to_vec(),
            cold_items: self.cold_items.to_vec(),
            fingerprints: self.fingerprints.to_vec(),
            users: self.users.to_vec(),
            items: self.items.to_vec(),
        };
        Ok(vec![encode(TWOTOWER_BLOB, &blob)?])
    }

    fn memory_bytes(&self) -> usize {
        let towers = self.user_tower.heap_bytes() + self.item_tower.heap_bytes();
        let cold = self.cold_users.heap_bytes() + self.cold_items.heap_bytes();
        let points = self.users.heap_bytes() + self.items.heap_bytes() + self.item_norms.heap_bytes();
        towers
            + self.user_tags.heap_bytes()
            + cold
            + self.fingerprints.heap_bytes()
            + points
            + self.late.heap_bytes()
    }
}
