//! `dsiml`: discrete scale-invariant metric learning (Zhang et al., arXiv 2506.09898), binary codes of
//! `bits` bits for every user and item in one Hamming space, learned inside the database. recodb's
//! account of the model is `docs/models/dsiml.md`; the comments cite its sections as `dsiml.md §x`.
//!
//! Training minimises, over triplets (user, positive, negative), the softplus of a scale-invariant
//! angular variable plus the softplus of a BPR-type ranking variable ([`bound::Objective`]), in three
//! stages:
//! 0. the continuous variant on real vectors of dimension `bits`, kept on the sphere of radius `radius`
//!    (a temperature: dsiml.md §6.9), by Adam ([`stage0`]);
//! 1. the signs of those vectors as the initial codes;
//! 2. alternating majorise-minimise updates of the codes with the Jaakkola-Jordan bound, each user's or
//!    item's code the solution of a small binary quadratic program by coordinate descent with
//!    accept-if-better, users in parallel and items in sequence, at the temperature
//!    `S = radius² / bits` matching stage 0 ([`stage2`]), until the objective on a fixed monitoring
//!    triplet set stops falling.
//!
//! `stage = 'real'` stops after stage 0 and scores with the real vectors (`uᵀv`); otherwise an item's
//! score is `bits − 2·H(user code, item code)`, the `±1` inner product, so that a higher score is a
//! smaller Hamming distance; ties keep recodb's rule (lower item id first). `SIMILAR item` is the same over
//! item codes (cosine of the real vectors for `stage = 'real'`).
//!
//! **Fold-in.** A user who arrived or whose items changed after training (another fingerprint) gets a
//! code from its user block with the item codes fixed ([`stage2::fold_in`]): triplets drawn from a
//! generator seeded by the seed and its items, so the same items give the same code. With
//! `stage = 'real'`, its vector is the mean of its items' vectors, projected onto the sphere.
//!
//! The codes are exposed packed ([`DsimlModel::user_codes`], [`DsimlModel::item_codes`], `words_per_code`
//! `u64` words per code, little-endian bit order, a set bit is `+1`) for the Hamming engine, and the real
//! vectors when kept (`keep_real = true`) for re-ranking. Training is deterministic for a seed and a
//! thread count.

pub mod bound;
pub mod bqp;
pub mod codes;
pub mod stage0;
pub mod stage2;
pub mod triplets;

use std::sync::{Arc, OnceLock};

use recodb_storage::hamming::{CodeStore, HammingIndex, IndexOptions, Layout, Path};
use recodb_storage::rkyv;
use recodb_storage::Snapshot;

use self::bound::Objective;
use self::codes::{hamming, words_for, CodeBook};
use super::blobs::{encode, Blob, Blobs, SavedCodes};
use super::factors::rows_dot;
use super::params::Kind;
use super::{fingerprint, Algorithm, BinaryCodes, HeapBytes, Model, Param, Params};
use crate::error::{Error, Result};
use crate::progress::{Progress, Stages};

/// The DSIML algorithm.
pub const DSIML: Algorithm = Algorithm {
    name: "dsiml",
    about: "discrete scale-invariant metric learning: binary codes for users and items, served by the \
            Hamming engine",
    parameters: PARAMETERS,
    train: |data, params, progress| Ok(Box::new(DsimlModel::train(data, params, progress)?)),
    load: |blobs| Ok(Box::new(DsimlModel::load(blobs)?)),
};

const PARAMETERS: &[Param] = &[
    Param { name: "bits", kind: Kind::Int { default: 64, min: 8, max: 256, step: 8 }, doc: "code length" },
    Param::positive("gamma", 1.0, "γ = tan α, the angle of the angular term"),
    Param::non_negative("lambda", 1.0, "weight of the angular term against the ranking term"),
    Param::int("negatives", DEFAULT_NEGATIVES as i64, 1, 100, "negatives per positive in stage 2"),
    Param::int("epochs", 60, 1, 10_000, "stage-0 passes over the training pairs"),
    Param::positive("learning_rate", 0.003, "stage-0 Adam step size"),
    Param::int("iterations", 3, 0, 1000, "most outer iterations of stage 2 (0: the signs of stage 0)"),
    Param::non_negative(
        "tolerance",
        0.0001,
        "stage 2 stops when the monitoring objective falls by less than this fraction",
    ),
    Param::positive(
        "radius",
        std::f64::consts::SQRT_2,
        "temperature: radius R (√2) of stage 0's sphere; stage 2 runs at S = R²/bits",
    ),
    Param::positive("rank_scale", 8.0, "factor on the ranking variable (1 is the paper's)"),
    Param::flag("keep_constant", false, "keep the constant (1 − 3γ²)·bits of the angular variable"),
    Param::flag("keep_real", false, "keep the stage-0 real vectors with the model (for re-ranking)"),
    Param::choice(
        "stage",
        "binary",
        &["binary", "real"],
        "'binary': codes, scored by Hamming distance; 'real': stop after stage 0, score uᵀv",
    ),
    Param::seed("seed", 42, "seed of the initial vectors and the triplets"),
    Param {
        name: "tables",
        kind: Kind::Auto { min: 1, max: 64 },
        doc: "multi-index hashing tables of the item index (auto: the index times a few, or scans)",
    },
    Param::choice(
        "index_layout",
        "packed",
        &["packed", "inline", "arena"],
        "index buckets: 'packed' codes less each table's substring; 'inline' whole codes, larger; \
         'arena' ids only, smallest and slowest (see BENCHMARKS.md)",
    ),
];

/// What a model scores with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The binary codes (Hamming distance).
    Binary,
    /// The stage-0 real vectors (inner product).
    Real,
}

/// Validated training parameters.
#[derive(Debug, Clone, Copy)]
struct Settings {
    objective: Objective,
    radius: f64,
    negatives: usize,
    epochs: usize,
    learning_rate: f64,
    iterations: usize,
    tolerance: f64,
    keep_real: bool,
    stage: Stage,
    seed: u64,
    index: IndexOptions,
}

/// The index layouts `index_layout` names.
const LAYOUTS: [(&str, Layout); 3] =
    [("packed", Layout::Packed), ("inline", Layout::Inline), ("arena", Layout::Arena)];

/// Index options from `tables` (0: chosen at build time) and a layout name.
fn index_options(tables: u32, layout: &str) -> Option<IndexOptions> {
    let layout = LAYOUTS.iter().find(|(name, _)| *name == layout)?.1;
    Some(match tables {
        0 => IndexOptions { layout, ..IndexOptions::default() },
        m => IndexOptions { m: Some(m as usize), path: Some(Path::Mih), layout, ..IndexOptions::default() },
    })
}

/// The `(tables, layout name)` that [`index_options`] reads back.
fn index_settings(options: &IndexOptions) -> (u32, &'static str) {
    let layout = LAYOUTS.iter().find(|(_, l)| *l == options.layout).map_or("packed", |(name, _)| name);
    (options.m.unwrap_or(0) as u32, layout)
}

impl Settings {
    /// Reads the checked `WITH (...)` parameters.
    fn read(p: &Params) -> Result<Self> {
        let bits = p.int("bits")? as usize;
        let gamma = p.float("gamma")?;
        let radius = p.float("radius")?;
        let offset = if p.flag("keep_constant")? { (1.0 - 3.0 * gamma * gamma) * bits as f64 } else { 0.0 };
        let objective = Objective {
            bits,
            gamma,
            lambda: p.float("lambda")?,
            scale: radius * radius / bits as f64,
            rank_scale: p.float("rank_scale")?,
            offset,
        };
        let tables = p.auto("tables")?.unwrap_or(0) as u32;
        let index = index_options(tables, p.choice("index_layout")?)
            .ok_or_else(|| Error::internal("an index_layout choice without a layout"))?;
        Ok(Settings {
            objective,
            radius,
            negatives: p.int("negatives")? as usize,
            epochs: p.int("epochs")? as usize,
            learning_rate: p.float("learning_rate")?,
            iterations: p.int("iterations")? as usize,
            tolerance: p.float("tolerance")?,
            keep_real: p.flag("keep_real")?,
            stage: match p.choice("stage")? {
                "real" => Stage::Real,
                _ => Stage::Binary,
            },
            seed: p.seed("seed")?,
            index,
        })
    }
}

/// The blob of a DSIML model: its settings, codes and (when kept) real vectors.
#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[rkyv(crate = recodb_storage::rkyv)]
pub struct DsimlBlob {
    /// Code length, a multiple of 8 from 8 to 256.
    pub bits: u32,
    /// `binary` (scored by codes) or `real` (scored by the stage-0 vectors).
    pub stage: String,
    /// The seed (fold-in draws its triplets from it).
    pub seed: u64,
    /// γ of the angular term.
    pub gamma: f64,
    /// λ, the weight of the angular term.
    pub lambda: f64,
    /// The temperature `S = R² / bits`.
    pub scale: f64,
    /// The factor on the ranking variable.
    pub rank_scale: f64,
    /// The constant added to the angular variable (0 unless `keep_constant`).
    pub offset: f64,
    /// Negatives per positive in fold-in.
    pub negatives: u32,
    /// The sphere radius `R` of stage 0.
    pub radius: f64,
    /// Tables of the item index (0: chosen when it is built).
    pub tables: u32,
    /// The item index's bucket layout (`packed`, `inline` or `arena`).
    pub index_layout: String,
    /// The fingerprint of each trained user's items.
    pub fingerprints: Vec<u64>,
    /// The packed user codes, `bits / 64` words (rounded up) each, in user id order.
    pub user_codes: Vec<u64>,
    /// The packed item codes, likewise.
    pub item_codes: Vec<u64>,
    /// The stage-0 user vectors, `bits` values each, or empty when not kept.
    pub real_users: Vec<f32>,
    /// The stage-0 item vectors, or empty.
    pub real_items: Vec<f32>,
}

/// The name of [`DsimlBlob`].
pub const DSIML_BLOB: &str = "dsiml";

/// Real vectors of the continuous variant: `dim` values per row, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct RealVectors {
    /// Length of every vector (the code length).
    pub dim: usize,
    /// User vectors.
    pub users: Vec<f32>,
    /// Item vectors.
    pub items: Vec<f32>,
}

impl HeapBytes for RealVectors {
    fn heap_bytes(&self) -> usize {
        self.users.heap_bytes() + self.items.heap_bytes()
    }
}

impl RealVectors {
    /// The user and item values as a blob saves them: empty when none are kept.
    pub fn saved(real: Option<&RealVectors>) -> (Vec<f32>, Vec<f32>) {
        real.map_or_else(|| (Vec::new(), Vec::new()), |r| (r.users.clone(), r.items.clone()))
    }
}

/// A trained DSIML model: packed codes, the fingerprints of the trained users' items, the settings
/// fold-in needs, and the stage-0 vectors when kept.
#[derive(Debug, Clone)]
pub struct DsimlModel {
    stage: Stage,
    objective: Objective,
    radius: f64,
    negatives: usize,
    seed: u64,
    users: Vec<u64>,
    items: CodeBook,
    fingerprints: Vec<u64>,
    real: Option<RealVectors>,
    /// The exact Hamming index over the item codes (binary stage only), shared by clones.
    index: Option<Arc<HammingIndex>>,
    /// How the item and user indexes are built (`tables`, `index_layout`).
    index_options: IndexOptions,
    /// The exact Hamming index over the trained users' codes, built by the first SIMILAR USER.
    user_index: OnceLock<Arc<HammingIndex>>,
    /// The trained users' codes with their `±1` values, built by the first item fold-in.
    user_book: OnceLock<Arc<CodeBook>>,
}

/// The Hamming index over `items` for a model of `stage` (`None` for the real stage, which scores by
/// vectors).
fn item_index(
    stage: Stage,
    items: &CodeBook,
    bits: usize,
    options: &IndexOptions,
) -> Result<Option<Arc<HammingIndex>>> {
    if stage != Stage::Binary {
        return Ok(None);
    }
    let store = CodeStore::from_words(bits as u32, items.packed().to_vec())?;
    Ok(Some(Arc::new(HammingIndex::build(store, options))))
}

/// About how many stage-0 epochs one outer iteration of stage 2 takes at [`DEFAULT_NEGATIVES`]
/// negatives per positive (ML-1M at the defaults: 1.4 s an epoch, 17 s an iteration, debug build):
/// the two stages' shares of the training's one progress bar.
const ITERATION_EPOCHS: u64 = 12;

/// The default of `negatives`, to which [`ITERATION_EPOCHS`] refers; an iteration's cost grows with it.
const DEFAULT_NEGATIVES: u64 = 5;

impl DsimlModel {
    /// Trains on the visible interactions of `data` with the `WITH (...)` parameters `params`.
    pub fn train(data: &Snapshot, params: &Params, progress: &dyn Progress) -> Result<Self> {
        let s = Settings::read(params)?;
        let (n_users, n_items) = (data.n_users as usize, data.n_items as usize);
        let rows = |u: u32| data.row(u);
        let bits = s.objective.bits;
        let stage0 = stage0::Stage0 {
            objective: s.objective,
            radius: s.radius as f32,
            epochs: s.epochs,
            learning_rate: s.learning_rate as f32,
            seed: s.seed,
        };
        // One bar across both stages, each weighed by its passes.
        let stage2_share = if s.stage == Stage::Binary {
            s.iterations as u64 * ITERATION_EPOCHS * s.negatives as u64 / DEFAULT_NEGATIVES
        } else {
            0
        };
        let stages = Stages::new(progress, &[s.epochs as u64, stage2_share]);
        let (real_users, real_items) = stage0::train(&stage0, n_users, n_items, &rows, &stages.stage(0))?;
        let mut users = CodeBook::from_values(&real_users, bits);
        let mut items = CodeBook::from_values(&real_items, bits);
        if s.stage == Stage::Binary {
            let stage2 = stage2::Stage2 {
                objective: s.objective,
                negatives: s.negatives,
                iterations: s.iterations,
                tolerance: s.tolerance,
                seed: s.seed,
            };
            stage2::train(&stage2, &mut users, &mut items, &rows, &stages.stage(1))?;
        }
        let real = (s.keep_real || s.stage == Stage::Real).then_some(RealVectors {
            dim: bits,
            users: real_users,
            items: real_items,
        });
        let index = item_index(s.stage, &items, bits, &s.index)?;
        Ok(DsimlModel {
            index,
            index_options: s.index,
            user_index: OnceLock::new(),
            user_book: OnceLock::new(),
            stage: s.stage,
            objective: s.objective,
            radius: s.radius,
            negatives: s.negatives,
            seed: s.seed,
            users: users.into_packed(),
            items,
            fingerprints: (0..data.n_users).map(|u| fingerprint(data.row(u))).collect(),
            real,
        })
    }

    /// Rebuilds a model from its blob; a blob that does not validate or disagrees with itself is a
    /// corrupt-model error.
    pub fn load(blobs: &Blobs<'_>) -> Result<Self> {
        let b: DsimlBlob = blobs.get(DSIML_BLOB)?;
        let corrupt = |what: String| Error::corrupt(format!("corrupt dsiml model: {what}"));
        let shape = SavedCodes {
            model: "dsiml",
            bits: b.bits,
            stage: &b.stage,
            users: b.fingerprints.len(),
            user_codes: &b.user_codes,
            item_codes: &b.item_codes,
            real_users: &b.real_users,
            real_items: &b.real_items,
        }
        .check()?;
        let (bits, n_items, words) = (shape.bits, shape.items, words_for(shape.bits));
        let stage = if shape.real_stage { Stage::Real } else { Stage::Binary };
        let index = index_options(b.tables, &b.index_layout)
            .filter(|_| b.tables <= 64)
            .ok_or_else(|| corrupt(format!("index of {} tables, layout '{}'", b.tables, b.index_layout)))?;
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !(positive(b.gamma) && positive(b.scale) && positive(b.rank_scale) && positive(b.radius))
            || !(b.lambda.is_finite() && b.lambda >= 0.0 && b.offset.is_finite())
            || !(1..=100).contains(&b.negatives)
        {
            return Err(corrupt(format!(
                "settings γ {}, λ {}, S {}, rank scale {}, offset {}, negatives {}, R {}",
                b.gamma, b.lambda, b.scale, b.rank_scale, b.offset, b.negatives, b.radius
            )));
        }
        let mut signs = vec![0f32; n_items * bits];
        for (code, out) in b.item_codes.chunks_exact(words).zip(signs.chunks_exact_mut(bits)) {
            codes::unpack(code, out);
        }
        let real =
            shape.has_real.then_some(RealVectors { dim: bits, users: b.real_users, items: b.real_items });
        let objective = Objective {
            bits,
            gamma: b.gamma,
            lambda: b.lambda,
            scale: b.scale,
            rank_scale: b.rank_scale,
            offset: b.offset,
        };
        let items = CodeBook::from_values(&signs, bits);
        Ok(DsimlModel {
            index: item_index(stage, &items, bits, &index)?,
            index_options: index,
            user_index: OnceLock::new(),
            user_book: OnceLock::new(),
            stage,
            objective,
            radius: b.radius,
            negatives: b.negatives as usize,
            seed: b.seed,
            users: b.user_codes,
            items,
            fingerprints: b.fingerprints,
            real,
        })
    }

    /// Code length in bits.
    pub fn bits(&self) -> usize {
        self.objective.bits
    }

    /// `u64` words per packed code.
    pub fn words_per_code(&self) -> usize {
        self.items.words()
    }

    /// What the model scores with.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// The packed codes of the trained users, `words_per_code()` words each, in user id order.
    pub fn user_codes(&self) -> &[u64] {
        &self.users
    }

    /// The packed codes of the items, `words_per_code()` words each, in item id order.
    pub fn item_codes(&self) -> &[u64] {
        self.items.packed()
    }

    /// The stage-0 real vectors, when kept.
    pub fn real_vectors(&self) -> Option<&RealVectors> {
        self.real.as_ref()
    }

    /// Number of trained users.
    pub fn n_users(&self) -> usize {
        self.fingerprints.len()
    }

    /// Whether `user` with items `seen` is served by its trained code (else it is folded in).
    pub fn is_trained(&self, user: u32, seen: &[u32]) -> bool {
        self.fingerprints.get(user as usize).is_some_and(|&f| f == fingerprint(seen))
    }

    /// The packed code that scores `user`, whose items are `seen` (sorted): its trained code when its
    /// items are those it was trained on, otherwise one folded in from the items the model knows.
    pub fn user_code(&self, user: u32, seen: &[u32]) -> Vec<u64> {
        let words = self.words_per_code();
        if self.is_trained(user, seen) {
            let at = user as usize * words;
            if let Some(code) = self.users.get(at..at + words) {
                return code.to_vec();
            }
        }
        let known = &seen[..seen.partition_point(|&i| (i as usize) < self.items.rows())];
        stage2::fold_in(&self.objective, &self.items, known, self.negatives, self.seed, fingerprint(known))
    }

    /// The real vector that scores `user` (with `stage = 'real'` or kept vectors): trained, or the mean
    /// of its known items' vectors projected onto the sphere.
    pub fn user_vector(&self, user: u32, seen: &[u32]) -> Option<Vec<f32>> {
        let real = self.real.as_ref()?;
        let dim = real.dim;
        if self.is_trained(user, seen) {
            if let Some(v) = real.users.get(user as usize * dim..(user as usize + 1) * dim) {
                return Some(v.to_vec());
            }
        }
        let mut v = vec![0f32; dim];
        for &i in seen {
            if let Some(x) = real.items.get(i as usize * dim..(i as usize + 1) * dim) {
                v.iter_mut().zip(x).for_each(|(a, b)| *a += b);
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            let f = self.radius as f32 / norm;
            v.iter_mut().for_each(|x| *x *= f);
        }
        Some(v)
    }

    /// Writes `bits − 2·H(code, item code)` for every item into `scores`.
    fn hamming_scores(&self, code: &[u64], scores: &mut [f32]) {
        let bits = self.bits() as f32;
        for (s, c) in scores.iter_mut().zip(self.items.packed().chunks_exact(self.words_per_code())) {
            *s = bits - 2.0 * hamming(code, c) as f32;
        }
    }
}

/// A binary-stage model's code spaces: its item index and, built on first use, its user index.
struct Served<'a> {
    model: &'a DsimlModel,
    items: &'a HammingIndex,
}

impl BinaryCodes for Served<'_> {
    fn item_index(&self) -> &HammingIndex {
        self.items
    }

    /// Users trained on no items have no meaningful code and are left out.
    fn user_index(&self) -> Result<&HammingIndex> {
        let m = self.model;
        if m.user_index.get().is_none() {
            let mut store = CodeStore::from_words(m.bits() as u32, m.users.clone())?;
            let empty = fingerprint(&[]);
            for (user, _) in m.fingerprints.iter().enumerate().filter(|(_, &f)| f == empty) {
                store.remove(user as u32);
            }
            // Another thread may have built it meanwhile; either index is the same.
            let _ = m.user_index.set(Arc::new(HammingIndex::build(store, &m.index_options)));
        }
        m.user_index.get().map(|i| &**i).ok_or_else(|| Error::internal("the user index is missing"))
    }

    fn user_code(&self, user: u32, seen: &[u32]) -> Vec<u64> {
        self.model.user_code(user, seen)
    }

    fn fold_in_item(&self, its_users: &[(u32, &[u32])]) -> Option<Vec<u64>> {
        let m = self.model;
        let n_items = m.items.rows();
        let known: Vec<(u32, &[u32])> = its_users
            .iter()
            .filter(|(u, _)| (*u as usize) < m.n_users())
            .map(|&(u, seen)| (u, &seen[..seen.partition_point(|&i| (i as usize) < n_items)]))
            .collect();
        if known.is_empty() {
            return None;
        }
        let users = m.user_book.get_or_init(|| Arc::new(CodeBook::from_packed(&m.users, m.bits())));
        let ids: Vec<u32> = known.iter().map(|k| k.0).collect();
        Some(stage2::fold_in_item(
            &m.objective,
            users,
            &m.items,
            &known,
            m.negatives,
            m.seed,
            fingerprint(&ids),
        ))
    }
}

impl Model for DsimlModel {
    fn n_items(&self) -> u32 {
        self.items.rows() as u32
    }

    fn score(&self, user: u32, seen: &[u32], scores: &mut [f32]) {
        match (self.stage, self.real.as_ref(), self.user_vector(user, seen)) {
            (Stage::Real, Some(real), Some(v)) => rows_dot(&real.items, &v, scores),
            _ => self.hamming_scores(&self.user_code(user, seen), scores),
        }
    }

    fn binary(&self) -> Option<Box<dyn BinaryCodes + '_>> {
        let items = self.index.as_deref()?;
        Some(Box::new(Served { model: self, items }))
    }

    /// The kept real vectors' inner products (an error when the model kept none).
    fn score_items(&self, user: u32, seen: &[u32], items: &[u32], out: &mut [f32]) -> Result<()> {
        let (Some(real), Some(v)) = (self.real.as_ref(), self.user_vector(user, seen)) else {
            return Err(Error::unsupported(
                "this dsiml model kept no real vectors to re-rank with; train it with keep_real = true, \
                 or re-rank with another model",
            ));
        };
        // The candidates' rows gathered, then one SIMD pass.
        let row = |i: u32| real.items.get(i as usize * real.dim..(i as usize + 1) * real.dim);
        let mut rows = Vec::with_capacity(items.len() * real.dim);
        items.iter().filter_map(|&i| row(i)).for_each(|r| rows.extend_from_slice(r));
        let mut dots = vec![0f32; rows.len() / real.dim.max(1)];
        rows_dot(&rows, &v, &mut dots);
        let mut dots = dots.into_iter();
        for (o, &i) in out.iter_mut().zip(items) {
            *o = match row(i) {
                Some(_) => dots.next().unwrap_or(f32::NEG_INFINITY),
                None => f32::NEG_INFINITY,
            };
        }
        Ok(())
    }

    fn is_trained(&self, user: u32, seen: &[u32]) -> Option<bool> {
        Some(DsimlModel::is_trained(self, user, seen))
    }

    /// `bits − 2·H` between item codes (the cosine of the real vectors for `stage = 'real'`); an
    /// unknown item is similar to nothing (all scores 0).
    fn similar_items(&self, item: u32, scores: &mut [f32]) -> Result<()> {
        if item as usize >= self.items.rows() {
            scores.iter_mut().for_each(|s| *s = 0.0);
            return Ok(());
        }
        match (self.stage, self.real.as_ref()) {
            (Stage::Real, Some(real)) => {
                let v = &real.items[item as usize * real.dim..(item as usize + 1) * real.dim];
                rows_dot(&real.items, v, scores);
                let r2 = (self.radius * self.radius) as f32;
                scores.iter_mut().for_each(|s| *s /= r2);
            }
            _ => self.hamming_scores(self.items.code(item), scores),
        }
        Ok(())
    }

    fn blobs(&self) -> Result<Vec<Blob>> {
        let o = &self.objective;
        let (tables, layout) = index_settings(&self.index_options);
        let (real_users, real_items) = RealVectors::saved(self.real.as_ref());
        let blob = DsimlBlob {
            bits: o.bits as u32,
            stage: if self.stage == Stage::Real { "real" } else { "binary" }.into(),
            seed: self.seed,
            gamma: o.gamma,
            lambda: o.lambda,
            scale: o.scale,
            rank_scale: o.rank_scale,
            offset: o.offset,
            negatives: self.negatives as u32,
            radius: self.radius,
            tables,
            index_layout: layout.into(),
            fingerprints: self.fingerprints.clone(),
            user_codes: self.users.clone(),
            item_codes: self.items.packed().to_vec(),
            real_users,
            real_items,
        };
        Ok(vec![encode(DSIML_BLOB, &blob)?])
    }

    fn memory_bytes(&self) -> usize {
        let codes = self.users.heap_bytes() + self.items.heap_bytes() + self.fingerprints.heap_bytes();
        let indexes = self.index.heap_bytes() + self.user_index.heap_bytes() + self.user_book.heap_bytes();
        codes + self.real.heap_bytes() + indexes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::models::blobs::in_memory;
    use crate::progress::NoProgress;
    use crate::synth::{generate, SynthConfig};
    use crate::value::Value;

    /// 200 users in 4 taste clusters over 80 items.
    fn data() -> Snapshot {
        let config = SynthConfig {
            users: 200,
            items: 80,
            interactions_per_user: 12,
            clusters: 4,
            taste_strength: 0.9,
            zipf_exponent: 0.8,
            seed: 3,
        };
        let synth = generate(&config);
        let mut indptr = vec![0usize; config.users as usize + 1];
        for &(u, _) in &synth.interactions {
            indptr[u as usize + 1] += 1;
        }
        for u in 0..config.users as usize {
            indptr[u + 1] += indptr[u];
        }
        Snapshot {
            n_users: config.users,
            n_items: config.items,
            indptr,
            indices: synth.interactions.iter().map(|p| p.1).collect(),
            weights: None,
            data_version: 1,
            user_tags: Default::default(),
            item_tags: Default::default(),
        }
    }

    fn pairs(pairs: &[(&str, Value)]) -> Vec<(String, Value)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    fn with(given: &[(&str, Value)]) -> Params {
        DSIML.check(&pairs(given)).expect("params")
    }

    fn small_pairs() -> Vec<(String, Value)> {
        pairs(&[("bits", Value::Int(16)), ("epochs", Value::Int(30)), ("learning_rate", Value::Float(0.02))])
    }

    fn small() -> Params {
        DSIML.check(&small_pairs()).expect("params")
    }

    /// The model saved and read back.
    fn reload(model: &DsimlModel) -> Result<DsimlModel> {
        let saved = model.blobs().expect("blobs");
        let read = in_memory(&saved);
        let loaded = DsimlModel::load(&Blobs::new(&read));
        loaded
    }

    /// The blob of `model`, changed by `change`, read back.
    fn load_changed(model: &DsimlModel, change: impl FnOnce(&mut DsimlBlob)) -> Result<DsimlModel> {
        let saved = model.blobs().expect("blobs");
        let mut blob: DsimlBlob = Blobs::new(&in_memory(&saved)).get(DSIML_BLOB).expect("read");
        change(&mut blob);
        let changed = [encode(DSIML_BLOB, &blob).expect("encode")];
        let read = in_memory(&changed);
        let loaded = DsimlModel::load(&Blobs::new(&read));
        loaded
    }

    #[test]
    fn bad_parameters_get_clear_errors() {
        let cases = [
            (("bits", Value::Int(12)), "bits must be a multiple of 8 from 8 to 256, got 12"),
            (("bits", Value::Int(512)), "bits must be a multiple of 8 from 8 to 256, got 512"),
            (("gamma", Value::Int(0)), "gamma must be a positive number, got 0"),
            (("lambda", Value::Float(-1.0)), "lambda must be a number of zero or more"),
            (("negatives", Value::Int(0)), "negatives must be an integer from 1 to 100"),
            (("radius", Value::from("big")), "radius must be a positive number, got 'big'"),
            (("stage", Value::from("sdp")), "stage must be one of 'binary', 'real'"),
            (("keep_real", Value::Int(1)), "keep_real must be true or false, got 1"),
            (("iterations", Value::Int(-1)), "iterations must be an integer from 0 to 1000"),
            (("tables", Value::Int(65)), "tables must be an integer from 1 to 64, got 65"),
            (
                ("index_layout", Value::from("btree")),
                "index_layout must be one of 'packed', 'inline', 'arena'",
            ),
        ];
        for (given, expected) in cases {
            let err = DSIML.check(&pairs(&[given])).expect_err(expected);
            assert!(err.message().starts_with(expected), "{err}");
        }
        let s = Settings::read(&with(&[
            ("keep_real", Value::Bool(true)),
            ("keep_constant", Value::from("TRUE")),
        ]))
        .expect("flags");
        assert!(s.keep_real);
        assert_eq!(s.objective.offset, -2.0 * 64.0);
        assert!((s.objective.scale - 2.0 / 64.0).abs() < 1e-12);
    }

    #[test]
    fn both_stages_move_one_bar_forward_from_start_to_end() {
        struct Record(std::sync::Mutex<Vec<(String, u64, u64)>>);
        impl Progress for Record {
            fn update(&self, phase: &str, done: u64, total: u64) -> bool {
                self.0.lock().expect("lock").push((phase.to_string(), done, total));
                true
            }
        }
        let record = Record(Default::default());
        DsimlModel::train(&data(), &small(), &record).expect("train");
        let seen = record.0.into_inner().expect("lock");
        assert!(seen.iter().all(|(_, _, total)| *total == Stages::UNITS), "{seen:?}");
        assert!(seen.windows(2).all(|w| w[0].1 <= w[1].1), "never back: {seen:?}");
        let first_of_stage_2 = seen.iter().position(|(phase, _, _)| phase.starts_with("dsiml stage 2"));
        let at = first_of_stage_2.expect("stage 2 reports");
        assert!(seen[..at].iter().all(|(phase, _, _)| phase.starts_with("dsiml stage 0")));
        // Stage 0's share: its epochs against 12 epochs an iteration.
        let s = Settings::read(&small()).expect("settings");
        let epochs = s.epochs as u64;
        let share =
            epochs * 1000 / (epochs + s.iterations as u64 * ITERATION_EPOCHS * s.negatives as u64 / 5);
        assert_eq!((seen[at - 1].1, seen[at].1), (share, share), "stage 2 starts where stage 0 ended");
        assert_eq!(seen.last().map(|r| r.1), Some(1000));
    }

    #[test]
    fn training_finds_the_clusters_and_folds_in_trained_users_to_their_codes() {
        let data = data();
        let model = DsimlModel::train(&data, &small(), &NoProgress).expect("train");
        assert_eq!((model.bits(), model.words_per_code(), model.n_items()), (16, 1, 80));
        assert_eq!(model.user_codes().len(), 200);
        assert!(model.real_vectors().is_none());
        // A user's own items score above the others on average.
        let mut scores = vec![0f32; 80];
        let mut margin = 0.0;
        for u in 0..200 {
            let seen = data.row(u);
            model.score(u, seen, &mut scores);
            assert!(scores.iter().all(|&s| (-16.0..=16.0).contains(&s) && s % 2.0 == 0.0));
            let own = seen.iter().map(|&i| scores[i as usize]).sum::<f32>() / seen.len() as f32;
            let all = scores.iter().sum::<f32>() / 80.0;
            margin += own - all;
        }
        assert!(margin / 200.0 > 3.0, "mean margin {}", margin / 200.0);
        // Folding in a trained user's unchanged items gives (nearly) its trained code.
        let mut distance = 0;
        for u in 0..200u32 {
            let trained = model.user_code(u, data.row(u));
            let known = data.row(u);
            let folded = stage2::fold_in(&model.objective, &model.items, known, 5, 42, fingerprint(known));
            distance += hamming(&trained, &folded);
        }
        let mean = f64::from(distance) / 200.0;
        assert!(mean < 2.0, "mean Hamming distance of fold-in to the trained codes: {mean} of 16 bits");
        // A newcomer (user id beyond training) with user 0's items is folded in deterministically.
        assert_eq!(model.user_code(500, data.row(0)), model.user_code(500, data.row(0)));
        model.similar_items(3, &mut scores).expect("similar");
        assert_eq!(scores[3], 16.0);
    }

    #[test]
    fn training_is_deterministic_for_a_seed_and_thread_count() {
        let data = data();
        let params =
            with(&[("bits", Value::Int(8)), ("epochs", Value::Int(5)), ("iterations", Value::Int(2))]);
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
            let a = pool.install(|| DsimlModel::train(&data, &params, &NoProgress)).expect("train");
            let b = pool.install(|| DsimlModel::train(&data, &params, &NoProgress)).expect("train");
            assert_eq!(
                (a.user_codes(), a.item_codes()),
                (b.user_codes(), b.item_codes()),
                "{threads} threads"
            );
            let other = with(&[("bits", Value::Int(8)), ("epochs", Value::Int(5)), ("seed", Value::Int(7))]);
            let c = pool.install(|| DsimlModel::train(&data, &other, &NoProgress)).expect("train");
            assert_ne!(a.item_codes(), c.item_codes(), "another seed");
        }
    }

    #[test]
    fn index_parameters_build_the_index_and_survive_saving() {
        let data = data();
        for (name, layout) in LAYOUTS {
            let mut given = small_pairs();
            given.extend(pairs(&[
                ("tables", Value::Int(3)),
                ("index_layout", Value::from(name)),
                ("iterations", Value::Int(1)),
            ]));
            let model =
                DsimlModel::train(&data, &DSIML.check(&given).expect("params"), &NoProgress).expect("train");
            let index = model.binary().expect("binary").item_index().tables();
            assert_eq!(index, 3, "three tables, although 80 codes would be scanned by default");
            assert_eq!(model.index_options.layout, layout);
            let loaded = reload(&model).expect("load");
            assert_eq!(loaded.binary().expect("binary").item_index().tables(), 3);
            assert_eq!(loaded.index_options.layout, layout);
        }
        // The default lets the index choose: a scan for so few codes.
        let default = DsimlModel::train(&data, &small(), &NoProgress).expect("train");
        assert_eq!(default.binary().expect("binary").item_index().tables(), 0);
        assert_eq!(reload(&default).expect("load").binary().expect("binary").item_index().tables(), 0);
    }

    #[test]
    fn the_real_stage_scores_with_vectors_and_blobs_round_trip() {
        let data = data();
        let mut given = small_pairs();
        given.push(("stage".into(), Value::from("real")));
        let model =
            DsimlModel::train(&data, &DSIML.check(&given).expect("params"), &NoProgress).expect("train");
        let real = model.real_vectors().expect("kept");
        let (mut scores, mut again) = (vec![0f32; 80], vec![0f32; 80]);
        model.score(5, data.row(5), &mut scores);
        let u = &real.users[5 * 16..6 * 16];
        let expected: f32 = u.iter().zip(&real.items[7 * 16..8 * 16]).map(|(a, b)| a * b).sum();
        assert!((scores[7] - expected).abs() < 1e-5);
        model.similar_items(2, &mut scores).expect("similar");
        assert!((scores[2] - 1.0).abs() < 1e-4, "cosine of an item with itself: {}", scores[2]);

        let loaded = reload(&model).expect("load");
        assert_eq!((loaded.user_codes(), loaded.item_codes()), (model.user_codes(), model.item_codes()));
        assert_eq!(loaded.real_vectors(), model.real_vectors());
        loaded.score(5, data.row(5), &mut again);
        model.score(5, data.row(5), &mut scores);
        assert_eq!(scores, again);
        // Blobs that disagree with themselves are corrupt-model errors.
        let err = load_changed(&model, |b| b.user_codes.truncate(7)).expect_err("short");
        assert!(matches!(err.kind(), ErrorKind::Corrupt(_)), "{err:?}");
        assert!(
            err.message().contains("7 user and 80 item code words for 200 users, codes of 16 bits"),
            "{err}"
        );
        let err = load_changed(&model, |b| b.item_codes = vec![1 << 20; 80]).expect_err("spare bits");
        assert!(err.message().contains("beyond 16"), "{err}");
        let err = load_changed(&model, |b| b.real_items.clear()).expect_err("real");
        assert!(err.message().contains("real item values"), "{err}");
        let err = load_changed(&model, |b| b.stage = "sdp".into()).expect_err("stage");
        assert!(err.message().contains("stage 'sdp'"), "{err}");
        let err = load_changed(&model, |b| b.index_layout = "btree".into()).expect_err("layout");
        assert!(err.message().contains("layout 'btree'"), "{err}");
        let err = load_changed(&model, |b| b.negatives = 0).expect_err("negatives");
        assert!(err.message().contains("negatives 0"), "{err}");
    }
}
