//! `cml`: collaborative metric learning (Hsieh et al., WWW 2017). recodb's account of the model is
//! `docs/models/cml.md`; the specification it follows is `models/cml.md` of the design notes.
//!
//! Every user and item is a point in one Euclidean space, inside the unit ball; a user's score of an item
//! is `−‖u − v‖²`, so "recommend" and "similar" are both nearest-neighbour questions. Training minimises
//! the WARP-weighted hinge `w · [m + d(u, pos)² − d(u, neg)²]₊` over sampled positive pairs: `U` negatives
//! drawn uniformly among the items the user does not have estimate the pair's rank `⌊J·M/U⌋` from the
//! `M` impostors among them, the weight is `ln(rank + 1)`, and only the hardest negative takes the step
//! ([`train`]). Every point changed by a step is projected back into the unit ball. An optional
//! covariance regulariser decorrelates the dimensions. SGD runs Hogwild over blocks of users, with a
//! learning rate falling linearly over the epochs: deterministic for a seed on one thread.
//!
//! **Serving.** `serve = 'exact'` scores every item (one SIMD pass); `serve = 'codes'` keeps
//! sign-random-projection codes of the points ([`codes`]), searched by the Hamming engine with filters
//! pushed down, and re-ranks the `candidates` nearest codes by exact distance. SIMILAR item and SIMILAR
//! user (codes only) take the same paths.
//!
//! **Fold-in.** A user who arrived or whose items changed after training (another fingerprint) gets a
//! point by the training's SGD on its point alone, the items fixed ([`train::fold_in`]); both serving
//! paths serve it.
//!
//! **Features (CML+F).** With `features = true` a network of the items' tags ([`features`]) is trained
//! with the points, its feature loss pulling each tagged item's point towards the network's point of
//! its tags. Items without interactions at training (held out, say) and items added after training get
//! the network's point of their tags: the model is [`FromTags`], extended per data version like
//! `twotower`, in both serving paths (the codes of the added items made with the same projection).
//! Without features, items that arrived after training are not served until the model is trained
//! again.

pub mod codes;
pub mod features;
pub mod train;

use faer::traits::pulp::{Simd, WithSimd};
use recodb_storage::hamming::HammingIndex;
use recodb_storage::rkyv;
use recodb_storage::{Snapshot, TagSnapshot};

use self::codes::{Codes, Projection};
use self::features::{CmlFeaturesBlob, Features, TagNet, CML_FEATURES_BLOB};
use super::blobs::{encode, Blob, Blobs};
use super::dsiml::codes::words_for;
use super::factors::dispatch;
use super::params::Kind;
use super::{
    fingerprint, Algorithm, BinaryCodes, FromTags, HeapBytes, Model, Param, Params, Similarity, TagPoints,
};
use crate::error::{Error, Result};
use crate::progress::Progress;

/// The CML algorithm.
pub const CML: Algorithm = Algorithm {
    name: "cml",
    about: "collaborative metric learning: users and items as points in the unit ball, WARP loss, served \
            exactly or by sign-random-projection codes",
    parameters: PARAMETERS,
    train: |data, params, progress| Ok(Box::new(CmlModel::train(data, params, progress)?)),
    load: |blobs| Ok(Box::new(CmlModel::load(blobs)?)),
};

const PARAMETERS: &[Param] = &[
    Param::int("dims", 64, 1, 1024, "dimensions of the space of the points"),
    Param::positive("margin", 0.75, "hinge margin m on squared distances"),
    Param::int("negatives", 10, 1, 1000, "U: negatives drawn per positive to estimate its WARP rank"),
    Param::int("epochs", 60, 1, 10_000, "passes, each of as many sampled positives as interactions"),
    Param::positive("learning_rate", 0.005, "SGD step size of the first epoch, falling linearly to 0"),
    Param::non_negative("covariance", 0.0, "λ_c, weight of the covariance regulariser (one step per epoch)"),
    Param::choice(
        "serve",
        "exact",
        &["exact", "codes"],
        "'exact': score every item; 'codes': Hamming search of projection codes, then exact re-rank",
    ),
    Param {
        name: "code_bits",
        kind: Kind::Int { default: 128, min: 64, max: 256, step: 64 },
        doc: "length of the sign-random-projection codes (serve = 'codes')",
    },
    Param::int("candidates", 200, 1, 10_000, "Hamming candidates re-ranked by exact distance (codes)"),
    Param::flag(
        "features",
        false,
        "CML+F: pull item points towards a network of their tags, which places items without interactions",
    ),
    Param::positive("feature_weight", 0.1, "λ_f, weight of the feature loss (features = true)"),
    Param::int("feature_hidden", 256, 1, 4096, "width of the tag network's hidden layer (features = true)"),
    Param::seed("seed", 42, "seed of the initial points, the sampling and the projection"),
];

/// Validated training parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Settings {
    dims: usize,
    margin: f32,
    negatives: usize,
    epochs: usize,
    learning_rate: f32,
    covariance: f32,
    seed: u64,
    features: Option<Features>,
}

/// How a model serves, with the codes' settings.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Serve {
    Exact,
    Codes { bits: usize, candidates: usize },
}

impl Settings {
    /// Reads the checked `WITH (...)` parameters.
    fn read(p: &Params) -> Result<(Self, Serve)> {
        let settings = Settings {
            dims: p.int("dims")? as usize,
            margin: p.float("margin")? as f32,
            negatives: p.int("negatives")? as usize,
            epochs: p.int("epochs")? as usize,
            learning_rate: p.float("learning_rate")? as f32,
            covariance: p.float("covariance")? as f32,
            seed: p.seed("seed")?,
            features: match p.flag("features")? {
                true => Some(Features {
                    weight: p.float("feature_weight")? as f32,
                    hidden: p.int("feature_hidden")? as usize,
                }),
                false => None,
            },
        };
        let serve = match p.choice("serve")? {
            "codes" => {
                Serve::Codes { bits: p.int("code_bits")? as usize, candidates: p.int("candidates")? as usize }
            }
            _ => Serve::Exact,
        };
        Ok((settings, serve))
    }
}

/// The seed of the projection directions of a model trained with `seed`.
fn projection_seed(seed: u64) -> u64 {
    seed ^ 0x5eed_c0de_5eed_c0de
}

/// The blob of a CML model: its settings, points and (with `serve = 'codes'`) codes.
#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[rkyv(crate = recodb_storage::rkyv)]
pub struct CmlBlob {
    /// Dimensions of the points.
    pub dims: u32,
    /// The hinge margin.
    pub margin: f32,
    /// Negatives drawn per positive (fold-in draws as many).
    pub negatives: u32,
    /// Training epochs.
    pub epochs: u32,
    /// The first epoch's SGD step size (fold-in starts from it too).
    pub learning_rate: f32,
    /// The covariance weight.
    pub covariance: f32,
    /// The seed.
    pub seed: u64,
    /// The fingerprint of each trained user's items.
    pub fingerprints: Vec<u64>,
    /// The user points, `dims` values each, in user id order.
    pub users: Vec<f32>,
    /// The item points, likewise.
    pub items: Vec<f32>,
    /// `exact` or `codes`.
    pub serve: String,
    /// Code length (0 when serving exactly).
    pub code_bits: u32,
    /// Hamming candidates re-ranked (0 when serving exactly).
    pub candidates: u32,
    /// The seed of the projection directions.
    pub projection_seed: u64,
    /// The packed user codes, `code_bits / 64` words each (empty when serving exactly).
    pub user_codes: Vec<u64>,
    /// The packed item codes, likewise.
    pub item_codes: Vec<u64>,
}

/// The name of [`CmlBlob`]. A model trained with features also has the blob [`CML_FEATURES_BLOB`].
pub const CML_BLOB: &str = "cml";

/// A trained CML model: its points, the fingerprints of the trained users' items, the settings fold-in
/// needs, the items' squared norms, the codes when it serves by them, the tag network when trained
/// with features, and the items added after training that the network placed.
#[derive(Debug)]
pub struct CmlModel {
    settings: Settings,
    fingerprints: Vec<u64>,
    users: Vec<f32>,
    items: Vec<f32>,
    item_norms: Vec<f32>,
    codes: Option<Codes>,
    features: Option<TagNet>,
    late: Late,
}

/// The items added after training, placed from the store's tags by the tag network, whose points
/// follow the trained ones (none for a model as trained or loaded; see [`FromTags`]).
#[derive(Debug, Clone, Default)]
struct Late {
    /// How many items follow the trained ones.
    items: usize,
    /// Those without a tag the network knows (ascending): their point is the origin, and they score at
    /// the floor (`-inf`).
    untagged: Vec<u32>,
}

impl HeapBytes for Late {
    fn heap_bytes(&self) -> usize {
        self.untagged.heap_bytes()
    }
}

impl CmlModel {
    /// Trains on the visible interactions of `data` with the `WITH (...)` parameters `params`.
    pub fn train(data: &Snapshot, params: &Params, progress: &dyn Progress) -> Result<Self> {
        let (settings, serve) = Settings::read(params)?;
        let train::Trained { users, items, features } = train::train(data, &settings, progress)?;
        let codes = match serve {
            Serve::Exact => None,
            Serve::Codes { bits, candidates } => {
                let seed = projection_seed(settings.seed);
                Some(Codes::new(bits, settings.dims, seed, candidates, &users, &items)?)
            }
        };
        let fingerprints = (0..data.n_users).map(|u| fingerprint(data.row(u))).collect();
        Ok(CmlModel::new(settings, fingerprints, users, items, codes, features))
    }

    fn new(
        settings: Settings,
        fingerprints: Vec<u64>,
        users: Vec<f32>,
        items: Vec<f32>,
        codes: Option<Codes>,
        features: Option<TagNet>,
    ) -> Self {
        let item_norms = squared_norms(&items, settings.dims);
        CmlModel { settings, fingerprints, users, items, item_norms, codes, features, late: Late::default() }
    }

    /// A model of given points (`dims` values each, inside the unit ball), every user taken as trained on
    /// no items; with `codes = Some((bits, candidates))` it serves by projection codes drawn from `seed`.
    /// For points trained elsewhere or planted (the speed-up benchmark); `dims` must be at least 1 and
    /// `bits` a multiple of 64 from 64 to 256.
    pub fn from_points(
        dims: usize,
        users: Vec<f32>,
        items: Vec<f32>,
        codes: Option<(usize, usize)>,
        seed: u64,
    ) -> Result<Self> {
        if dims == 0 || !users.len().is_multiple_of(dims) || !items.len().is_multiple_of(dims) {
            return Err(Error::invalid("points", format!("rows of {dims} values"), "another length"));
        }
        let settings = Settings {
            dims,
            margin: 0.75,
            negatives: 10,
            epochs: 1,
            learning_rate: 0.005,
            covariance: 0.0,
            seed,
            features: None,
        };
        let codes = match codes {
            Some((bits, candidates)) if (64..=256).contains(&bits) && bits.is_multiple_of(64) => {
                Some(Codes::new(bits, dims, projection_seed(seed), candidates.max(1), &users, &items)?)
            }
            Some((bits, _)) => {
                return Err(Error::invalid("code_bits", "a multiple of 64 from 64 to 256", bits.to_string()))
            }
            None => None,
        };
        let fingerprints = vec![fingerprint(&[]); users.len() / dims];
        Ok(CmlModel::new(settings, fingerprints, users, items, codes, None))
    }

    /// Rebuilds a model from its blobs (the features blob only when it was trained with features); a
    /// blob that does not validate or disagrees with itself is a corrupt-model error.
    pub fn load(blobs: &Blobs<'_>) -> Result<Self> {
        let b: CmlBlob = blobs.get(CML_BLOB)?;
        let corrupt = |what: String| Error::corrupt(format!("corrupt cml model: {what}"));
        let dims = b.dims as usize;
        let settings_ok = dims >= 1
            && b.margin.is_finite()
            && b.margin > 0.0
            && b.negatives >= 1
            && b.epochs >= 1
            && b.learning_rate.is_finite()
            && b.learning_rate > 0.0
            && b.covariance.is_finite()
            && b.covariance >= 0.0;
        if !settings_ok {
            return Err(corrupt(format!(
                "settings dims {}, margin {}, negatives {}, epochs {}, learning rate {}, covariance {}",
                b.dims, b.margin, b.negatives, b.epochs, b.learning_rate, b.covariance
            )));
        }
        let n_users = b.fingerprints.len();
        if b.users.len() != n_users.saturating_mul(dims) || !b.items.len().is_multiple_of(dims) {
            return Err(corrupt(format!(
                "{} user values for {n_users} users and {} item values, of {dims} dimensions",
                b.users.len(),
                b.items.len()
            )));
        }
        if b.users.iter().chain(&b.items).any(|x| !x.is_finite()) {
            return Err(corrupt("points that are not finite".into()));
        }
        let n_items = b.items.len() / dims;
        let features = match blobs.optional::<CmlFeaturesBlob>(CML_FEATURES_BLOB)? {
            Some(f) => Some(TagNet::from_blob(f, dims, n_items)?),
            None => None,
        };
        let settings = Settings {
            dims,
            margin: b.margin,
            negatives: b.negatives as usize,
            epochs: b.epochs as usize,
            learning_rate: b.learning_rate,
            covariance: b.covariance,
            seed: b.seed,
            features: features.as_ref().map(TagNet::settings),
        };
        let codes = match b.serve.as_str() {
            "exact" if b.user_codes.is_empty() && b.item_codes.is_empty() => None,
            "codes" => {
                let bits = b.code_bits as usize;
                let words = words_for(bits);
                let fits = (64..=256).contains(&bits)
                    && bits.is_multiple_of(64)
                    && b.candidates >= 1
                    && b.user_codes.len() == n_users * words
                    && b.item_codes.len() == n_items * words;
                if !fits {
                    return Err(corrupt(format!(
                        "{} user and {} item code words of {bits} bits for {n_users} users and {n_items} items, \
                         {} candidates",
                        b.user_codes.len(),
                        b.item_codes.len(),
                        b.candidates
                    )));
                }
                let projection = Projection::new(bits, dims, b.projection_seed);
                let candidates = b.candidates as usize;
                Some(Codes::from_parts(
                    projection,
                    b.projection_seed,
                    candidates,
                    b.user_codes,
                    b.item_codes,
                )?)
            }
            other => {
                return Err(corrupt(format!("serve '{other}' with {} item code words", b.item_codes.len())))
            }
        };
        Ok(CmlModel::new(settings, b.fingerprints, b.users, b.items, codes, features))
    }

    /// Sets how many Hamming candidates serving by codes re-ranks (at least 1); no effect on a model
    /// that serves exactly.
    pub fn set_candidates(&mut self, candidates: usize) {
        if let Some(codes) = self.codes.as_mut() {
            codes.candidates = candidates.max(1);
        }
    }

    /// Dimensions of the points.
    pub fn dims(&self) -> usize {
        self.settings.dims
    }

    /// The trained user points, `dims()` values each, in user id order.
    pub fn user_points(&self) -> &[f32] {
        &self.users
    }

    /// The item points, `dims()` values each, in item id order.
    pub fn item_points(&self) -> &[f32] {
        &self.items
    }

    /// Whether `user` with items `seen` is served by its trained point (else it is folded in).
    pub fn is_trained(&self, user: u32, seen: &[u32]) -> bool {
        self.fingerprints.get(user as usize).is_some_and(|&f| f == fingerprint(seen))
    }

    /// The point of item `i`, if the model knows it (not an item added after training without a tag
    /// the tag network knows).
    fn item(&self, i: u32) -> Option<&[f32]> {
        let d = self.settings.dims;
        if self.late.untagged.binary_search(&i).is_ok() {
            return None;
        }
        self.items.get(i as usize * d..(i as usize + 1) * d)
    }

    /// How many items the model was trained with.
    fn trained_items(&self) -> usize {
        self.item_norms.len() - self.late.items
    }

    /// The tag network, when the model was trained with features.
    pub fn tag_network(&self) -> Option<&TagNet> {
        self.features.as_ref()
    }

    /// The point that scores `user`, whose items are `seen` (sorted): its trained point when its items
    /// are those it was trained on, otherwise one folded in from the items the model knows.
    pub fn user_point(&self, user: u32, seen: &[u32]) -> Vec<f32> {
        let d = self.settings.dims;
        if self.is_trained(user, seen) {
            if let Some(p) = self.users.get(user as usize * d..(user as usize + 1) * d) {
                return p.to_vec();
            }
        }
        let n_items = self.items.len() / d;
        let mut known = seen[..seen.partition_point(|&i| (i as usize) < n_items)].to_vec();
        known.retain(|i| self.late.untagged.binary_search(i).is_err());
        let mut point = vec![0f32; d];
        train::fold_in(&self.settings, &self.items, &known, &mut point);
        point
    }

    /// `−‖point − v‖²` for every item point `v` into `scores`, the floor for the items added after
    /// training without a known tag.
    fn distances(&self, point: &[f32], scores: &mut [f32]) {
        negative_distances(point, &self.items, &self.item_norms, scores);
        for &i in &self.late.untagged {
            if let Some(s) = scores.get_mut(i as usize) {
                *s = f32::NEG_INFINITY;
            }
        }
    }
}

/// The squared norm of every `dim`-long row of `rows` (the `norms` of [`negative_distances`]).
pub(crate) fn squared_norms(rows: &[f32], dim: usize) -> Vec<f32> {
    rows.chunks_exact(dim.max(1)).map(|r| r.iter().map(|v| v * v).sum()).collect()
}

impl FromTags for CmlModel {
    /// The items from the trained bound on get the tag network's point of their tags (the origin, and
    /// the floor of scores, for one without a known tag), and with codes the codes of those points;
    /// users added since are folded in from their items as always.
    fn extended(&self, tags: &TagSnapshot) -> Box<dyn Model> {
        let d = self.settings.dims;
        let first = self.trained_items();
        let mut items = self.items[..first * d].to_vec();
        let mut untagged = Vec::new();
        if let Some(net) = &self.features {
            let bound = tags.items.indptr.len().saturating_sub(1).max(first) as u32;
            let late: Vec<u32> = (first as u32..bound).collect();
            untagged = late.iter().copied().filter(|&i| !net.knows(tags.items.row(i))).collect();
            items.extend(net.points(late.iter().map(|&i| tags.items.row(i))));
            for &i in &untagged {
                items[i as usize * d..(i as usize + 1) * d].iter_mut().for_each(|v| *v = 0.0);
            }
        }
        let late = Late { items: items.len() / d - first, untagged };
        let late_points = &items[first * d..];
        let codes = self.codes.as_ref().and_then(|c| c.extended(first, late_points, d, &late.untagged).ok());
        Box::new(CmlModel {
            settings: self.settings,
            fingerprints: self.fingerprints.clone(),
            users: self.users.clone(),
            item_norms: squared_norms(&items, d),
            items,
            codes,
            features: self.features.clone(),
            late,
        })
    }

    /// `f` of each tag alone: where an item carrying only that tag would be placed.
    fn tag_points(&self) -> TagPoints {
        let points = match &self.features {
            Some(net) if net.n_tags() > 0 => {
                let tags: Vec<[u32; 1]> = (0..net.n_tags() as u32).map(|t| [t]).collect();
                net.points(tags.iter().map(|t| &t[..]))
            }
            _ => Vec::new(),
        };
        TagPoints::new(self.settings.dims, points)
    }

    /// A user's point as RECOMMEND serves it (trained, or folded in); an item's point, `None` for one
    /// the model has no point for.
    fn point(&self, of: Similarity<'_>) -> Option<Vec<f32>> {
        match of {
            Similarity::User(user, seen) => Some(self.user_point(user, seen)),
            Similarity::Item(item) => self.item(item).map(<[f32]>::to_vec),
        }
    }
}

/// `out[r] = −‖query − rows[r]‖²` for the row-major `rows` (each `query.len()` long) whose squared
/// norms are `norms`, computed as `2·query·row − ‖row‖² − ‖query‖²` in one SIMD pass.
pub(crate) fn negative_distances(query: &[f32], rows: &[f32], norms: &[f32], out: &mut [f32]) {
    dispatch(Distances { query, rows, norms, out });
}

/// The kernel of [`negative_distances`].
struct Distances<'a> {
    query: &'a [f32],
    rows: &'a [f32],
    norms: &'a [f32],
    out: &'a mut [f32],
}

impl WithSimd for Distances<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Distances { query, rows, norms, out } = self;
        let q = super::factors::dot(simd, query, query);
        for ((o, row), &n) in out.iter_mut().zip(rows.chunks_exact(query.len().max(1))).zip(norms) {
            *o = 2.0 * super::factors::dot(simd, query, row) - n - q;
        }
    }
}

/// `−‖query − row(id)‖²` for each of `ids` into `out` (`-inf` for an id `row` knows nothing of; it gives
/// a row and its squared norm), by the kernel of a full pass, so the scores are those of one.
fn gathered_distances<'r, R>(query: &[f32], ids: &[u32], row: R, out: &mut [f32])
where
    R: Fn(u32) -> Option<(&'r [f32], f32)>,
{
    dispatch(Listed { query, ids, row, out });
}

/// The kernel of [`gathered_distances`].
struct Listed<'a, R> {
    query: &'a [f32],
    ids: &'a [u32],
    row: R,
    out: &'a mut [f32],
}

impl<'r, R: Fn(u32) -> Option<(&'r [f32], f32)>> WithSimd for Listed<'_, R> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Listed { query, ids, row, out } = self;
        let q = super::factors::dot(simd, query, query);
        for (o, &i) in out.iter_mut().zip(ids) {
            *o = match row(i) {
                Some((r, n)) => 2.0 * super::factors::dot(simd, query, r) - n - q,
                None => f32::NEG_INFINITY,
            };
        }
    }
}

impl CmlModel {
    /// `−‖query − v_i‖²` for each item of `ids` into `out` (`-inf` for an item the model does not know).
    fn distances_to_items(&self, query: &[f32], ids: &[u32], out: &mut [f32]) {
        let row = |i: u32| Some((self.item(i)?, self.item_norms[i as usize]));
        gathered_distances(query, ids, row, out);
    }
}

impl Model for CmlModel {
    fn n_items(&self) -> u32 {
        self.item_norms.len() as u32
    }

    fn score(&self, user: u32, seen: &[u32], scores: &mut [f32]) {
        self.distances(&self.user_point(user, seen), scores);
    }

    fn score_items(&self, user: u32, seen: &[u32], items: &[u32], out: &mut [f32]) -> Result<()> {
        self.distances_to_items(&self.user_point(user, seen), items, out);
        Ok(())
    }

    fn is_trained(&self, user: u32, seen: &[u32]) -> Option<bool> {
        Some(CmlModel::is_trained(self, user, seen))
    }

    fn binary(&self) -> Option<Box<dyn BinaryCodes + '_>> {
        let codes = self.codes.as_ref()?;
        Some(Box::new(Served { model: self, codes }))
    }

    /// With features: items are placed from their tags (see [`FromTags`]).
    fn tag_placement(&self) -> Option<&dyn FromTags> {
        self.features.as_ref().map(|_| self as &dyn FromTags)
    }

    /// With features: the items without interactions at training that the tag network placed, and
    /// those added after training that it placed.
    fn properties(&self) -> Vec<(&'static str, String)> {
        let Some(net) = &self.features else { return Vec::new() };
        let late = self.late.items - self.late.untagged.len();
        vec![
            ("cold_items_from_tags", net.placed().len().to_string()),
            ("items_after_training_from_tags", late.to_string()),
        ]
    }

    /// `−‖v_item − v_j‖²`; an unknown item is similar to nothing (all scores 0).
    fn similar_items(&self, item: u32, scores: &mut [f32]) -> Result<()> {
        match self.item(item) {
            Some(v) => self.distances(v, scores),
            None => scores.iter_mut().for_each(|s| *s = 0.0),
        }
        Ok(())
    }

    /// The trained model's blobs (an extended model's added items are not saved).
    fn blobs(&self) -> Result<Vec<Blob>> {
        let s = &self.settings;
        let trained = self.trained_items();
        let (serve, code_bits, candidates, projection_seed, user_codes, item_codes) = match &self.codes {
            None => ("exact", 0, 0, projection_seed(s.seed), Vec::new(), Vec::new()),
            Some(c) => (
                "codes",
                c.projection.bits() as u32,
                c.candidates as u32,
                c.seed,
                c.users.clone(),
                c.items
                    .codes()
                    .as_words()
                    .iter()
                    .take(trained * words_for(c.projection.bits()))
                    .copied()
                    .collect(),
            ),
        };
        let blob = CmlBlob {
            dims: s.dims as u32,
            margin: s.margin,
            negatives: s.negatives as u32,
            epochs: s.epochs as u32,
            learning_rate: s.learning_rate,
            covariance: s.covariance,
            seed: s.seed,
            fingerprints: self.fingerprints.clone(),
            users: self.users.clone(),
            items: self.items[..trained * s.dims].to_vec(),
            serve: serve.into(),
            code_bits,
            candidates,
            projection_seed,
            user_codes,
            item_codes,
        };
        let mut blobs = vec![encode(CML_BLOB, &blob)?];
        if let Some(net) = &self.features {
            blobs.push(encode(CML_FEATURES_BLOB, &net.blob())?);
        }
        Ok(blobs)
    }

    fn memory_bytes(&self) -> usize {
        let points = self.users.heap_bytes() + self.items.heap_bytes() + self.item_norms.heap_bytes();
        let parts = self.codes.heap_bytes() + self.features.heap_bytes() + self.late.heap_bytes();
        self.fingerprints.heap_bytes() + points + parts
    }
}

/// A `serve = 'codes'` model's code spaces.
struct Served<'a> {
    model: &'a CmlModel,
    codes: &'a Codes,
}

impl BinaryCodes for Served<'_> {
    fn item_index(&self) -> &HammingIndex {
        &self.codes.items
    }

    /// Users trained on no items have no meaningful point and are left out.
    fn user_index(&self) -> Result<&HammingIndex> {
        let empty = fingerprint(&[]);
        self.codes.user_index(|u| self.model.fingerprints.get(u as usize).is_some_and(|&f| f != empty))
    }

    fn user_code(&self, user: u32, seen: &[u32]) -> Vec<u64> {
        self.codes.projection.code(&self.model.user_point(user, seen))
    }

    /// Items that arrived after training are not folded in from their users: a model trained with
    /// features places those with tags (see [`FromTags`]), and without features they are not served
    /// until the model is trained again.
    fn fold_in_item(&self, _its_users: &[(u32, &[u32])]) -> Option<Vec<u64>> {
        None
    }

    fn candidates(&self, wanted: usize) -> Option<usize> {
        Some(self.codes.candidates.max(wanted))
    }

    fn similarity(&self, query: Similarity<'_>, ids: &[u32], out: &mut [f32]) -> Result<()> {
        let m = self.model;
        match query {
            Similarity::Item(item) => match m.item(item) {
                Some(v) => m.distances_to_items(v, ids, out),
                None => out.iter_mut().for_each(|o| *o = f32::NEG_INFINITY),
            },
            Similarity::User(user, seen) => {
                let d = m.settings.dims;
                let row = |u: u32| {
                    let r = m.users.get(u as usize * d..(u as usize + 1) * d)?;
                    Some((r, r.iter().map(|x| x * x).sum()))
                };
                gathered_distances(&m.user_point(user, seen), ids, row, out);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod feature_tests;

#[cfg(test)]
mod tests {
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
        CML.check(&pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<Vec<_>>()).expect("params")
    }

    fn trained(data: &Snapshot, extra: &[(&str, Value)]) -> CmlModel {
        let mut pairs =
            vec![("dims", Value::Int(8)), ("epochs", Value::Int(30)), ("learning_rate", Value::Float(0.02))];
        pairs.extend(extra.iter().cloned());
        CmlModel::train(data, &with(&pairs), &NoProgress).expect("train")
    }

    fn distance(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt()
    }

    #[test]
    fn every_trained_point_is_in_the_ball_and_one_thread_is_deterministic() {
        let data = small();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("pool");
        let train = |seed: i64, covariance: f64| {
            let extra = [("seed", Value::Int(seed)), ("covariance", Value::Float(covariance))];
            pool.install(|| trained(&data, &extra).blobs().expect("blobs")[0].1.to_vec())
        };
        assert_eq!(train(5, 0.0), train(5, 0.0));
        assert_ne!(train(5, 0.0), train(6, 0.0));
        assert_ne!(train(5, 0.0), train(5, 10.0), "the covariance step changes the points");
        let model = trained(&data, &[("covariance", Value::Float(10.0))]);
        let norms: Vec<f32> = model
            .user_points()
            .chunks(8)
            .chain(model.item_points().chunks(8))
            .map(|p| distance(p, &[0.0; 8]))
            .collect();
        assert!(
            norms.iter().all(|&n| n <= 1.0 + 1e-5),
            "largest norm {:?}",
            norms.iter().copied().reduce(f32::max)
        );
        let on_sphere = norms.iter().filter(|&&n| n > 0.95).count();
        assert!(on_sphere > norms.len() / 2, "most points sit on the sphere: {on_sphere} of {}", norms.len());
    }

    #[test]
    fn a_folded_in_user_lands_near_its_trained_point() {
        let data = small();
        let model = trained(&data, &[]);
        let (mut near, mut total_other) = (0f32, 0f32);
        for u in 0..50u32 {
            let trained = model.user_point(u, data.row(u));
            let folded = model.user_point(u + 10_000, data.row(u));
            assert_eq!(folded, model.user_point(u + 20_000, data.row(u)), "the same items, the same point");
            near += distance(&trained, &folded);
            let other = model.user_point(u + 150, data.row(u + 150));
            total_other += distance(&trained, &other);
        }
        let (near, other) = (near / 50.0, total_other / 50.0);
        assert!(near < 0.5 * other, "folded in {near:.3} from the trained point; other users {other:.3}");
    }

    #[test]
    fn loading_round_trips_and_checks_the_blob() {
        let data = small();
        let model = trained(&data, &[("serve", Value::from("codes")), ("code_bits", Value::Int(64))]);
        let blobs = model.blobs().expect("blobs");
        let loaded = CmlModel::load(&Blobs::new(&in_memory(&blobs))).expect("load");
        let (mut a, mut b) = (vec![0f32; 120], vec![0f32; 120]);
        model.score(3, data.row(3), &mut a);
        loaded.score(3, data.row(3), &mut b);
        assert_eq!(a, b);
        let code = |m: &CmlModel| m.binary().expect("codes").user_code(3, data.row(3));
        assert_eq!(code(&model), code(&loaded));
        let saved: CmlBlob = Blobs::new(&in_memory(&blobs)).get(CML_BLOB).expect("read");
        let corrupt = |blob: CmlBlob| {
            let bytes = [encode(CML_BLOB, &blob).expect("encode")];
            let err = CmlModel::load(&Blobs::new(&in_memory(&bytes))).expect_err("refused");
            assert!(matches!(err.kind(), ErrorKind::Corrupt(_)), "{err:?}");
            err.message().to_string()
        };
        assert!(corrupt(CmlBlob { margin: f32::NAN, ..saved.clone() }).contains("margin NaN"));
        assert!(corrupt(CmlBlob { items: vec![0.0; 7], ..saved.clone() }).contains("7 item values"));
        let mut users = saved.users.clone();
        users[0] = f32::INFINITY;
        assert!(corrupt(CmlBlob { users, ..saved.clone() }).contains("not finite"));
        assert!(corrupt(CmlBlob { code_bits: 96, ..saved.clone() }).contains("of 96 bits"));
        assert!(corrupt(CmlBlob { item_codes: vec![0; 3], ..saved.clone() }).contains("3 item code words"));
        assert!(corrupt(CmlBlob { serve: "lsh".into(), ..saved.clone() }).contains("serve 'lsh'"));
        let exact = CmlBlob { serve: "exact".into(), ..saved };
        assert!(corrupt(exact).contains("serve 'exact'"), "an exact model with codes");
    }

    #[test]
    fn planted_points_serve_by_distance() {
        let items = vec![0.0, 0.0, 1.0, 0.0, 0.0, 1.0, -1.0, 0.0];
        let model = CmlModel::from_points(2, vec![0.9, 0.1], items, None, 1).expect("model");
        let mut s = vec![0f32; 4];
        model.score(0, &[], &mut s);
        let expected = [-0.82f32, -0.02, -1.62, -3.62];
        assert!(s.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-5), "{s:?}");
        model.similar_items(1, &mut s).expect("similar");
        assert!(s.iter().zip([-1.0f32, 0.0, -2.0, -4.0]).all(|(a, b)| (a - b).abs() < 1e-5), "{s:?}");
        let err = CmlModel::from_points(3, vec![0.0; 4], vec![], None, 1).expect_err("refused");
        assert!(err.message().contains("rows of 3 values"), "{err}");
        let err = CmlModel::from_points(2, vec![], vec![], Some((96, 10)), 1).expect_err("refused");
        assert!(err.message().contains("code_bits"), "{err}");
    }
}
