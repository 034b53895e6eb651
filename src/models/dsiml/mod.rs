//! `dsiml`: discrete scale-invariant metric learning (Zhang et al., arXiv 2506.09898), binary codes of
//! `bits` bits for every user and item in one Hamming space, learned inside the database; the
//! specification is `../shared/models/dsiml.md`, whose section numbers the comments cite.
//!
//! Training minimises, over triplets (user, positive, negative), the softplus of a scale-invariant
//! angular variable plus the softplus of a BPR-type ranking variable ([`bound::Objective`]), in three
//! stages:
//! 0. the continuous variant on real vectors of dimension `bits`, kept on the sphere of radius `radius`
//!    (a temperature: spec §6.9), by Adam ([`stage0`]);
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

use recodb_storage::read_archive;
use recodb_storage::rkyv::{self, rancor, util::AlignedVec};
use std::sync::{Arc, OnceLock};

use recodb_storage::hamming::{CodeStore, HammingIndex, IndexOptions, Layout, Path};
use recodb_storage::Snapshot;

use self::bound::Objective;
use self::codes::{hamming, words_for, CodeBook};
use super::factors::rows_dot;
use super::params::Params;
use super::{fingerprint, Algorithm, BinaryCodes, Model, Parameter};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::value::Value;

/// The DSIML algorithm.
pub struct Dsiml;

/// Default code length.
pub const DEFAULT_BITS: i64 = 64;
/// Default `γ = tan α` of the angular term.
pub const DEFAULT_GAMMA: f64 = 1.0;
/// Default weight `λ` of the angular term.
pub const DEFAULT_LAMBDA: f64 = 1.0;
/// Default negatives per positive in stage 2.
pub const DEFAULT_NEGATIVES: i64 = 5;
/// Default stage-0 epochs.
pub const DEFAULT_EPOCHS: i64 = 60;
/// Default stage-0 Adam step size.
pub const DEFAULT_LEARNING_RATE: f64 = 0.003;
/// Default most outer iterations of stage 2.
pub const DEFAULT_ITERATIONS: i64 = 3;
/// Default relative decrease of the monitoring objective below which stage 2 stops.
pub const DEFAULT_TOLERANCE: f64 = 1e-4;
/// Default sphere radius `R` of stage 0 (`S = R² / bits` in stage 2).
pub const DEFAULT_RADIUS: f64 = std::f64::consts::SQRT_2;
/// Default factor on the ranking variable.
pub const DEFAULT_RANK_SCALE: f64 = 8.0;
/// Default seed.
pub const DEFAULT_SEED: u64 = 42;

const PARAMETERS: &[Parameter] = &[
    Parameter { name: "bits", doc: "code length; a multiple of 8 from 8 to 256, default 64" },
    Parameter { name: "gamma", doc: "γ = tan α, the angle of the angular term; a positive number, default 1" },
    Parameter { name: "lambda", doc: "weight of the angular term against the ranking term; a number of zero or more, default 1" },
    Parameter { name: "negatives", doc: "negatives per positive in stage 2; an integer from 1 to 100, default 5" },
    Parameter { name: "epochs", doc: "stage-0 passes over the training pairs; an integer from 1 to 10000, default 60" },
    Parameter { name: "learning_rate", doc: "stage-0 Adam step size; a positive number, default 0.003" },
    Parameter { name: "iterations", doc: "most outer iterations of stage 2 (0: the signs of stage 0); an integer from 0 to 1000, default 3" },
    Parameter { name: "tolerance", doc: "stage 2 stops when the monitoring objective falls by less than this fraction; a number of zero or more, default 0.0001" },
    Parameter { name: "radius", doc: "temperature: radius R of stage 0's sphere, stage 2 at S = R²/bits; a positive number, default 1.4142 (√2)" },
    Parameter { name: "rank_scale", doc: "factor on the ranking variable (1 is the paper's; 8 measured better on ml-1m-r4); a positive number, default 8" },
    Parameter { name: "keep_constant", doc: "keep the constant (1 − 3γ²)·bits of the angular variable; true or false, default false" },
    Parameter { name: "keep_real", doc: "keep the stage-0 real vectors with the model (for re-ranking); true or false, default false" },
    Parameter { name: "stage", doc: "'binary' (codes, scored by Hamming distance) or 'real' (stop after stage 0, score uᵀv); default 'binary'" },
    Parameter { name: "seed", doc: "seed of the initial vectors and the triplets; an integer of zero or more, default 42" },
    Parameter { name: "tables", doc: "multi-index hashing tables of the item index (always hash with this many); an integer from 1 to 64, default: the index times a few and may choose a scan" },
    Parameter { name: "index_layout", doc: "how index buckets are stored: 'packed' (each table's codes less its own substring, beside the buckets: index at most 4 times the code bytes at 1M 64-bit codes), 'inline' (whole codes and ids in every table: as fast within 10%, 7.5 times), 'arena' (ids only: 2.1-2.5 times, 2-4x slower at 1M codes); default 'packed'" },
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

/// The index layouts `index_layout` names, in the order of their code in the model's settings.
const LAYOUTS: [(&str, Layout); 4] = [
    ("inline", Layout::Inline),
    ("hybrid", Layout::Arena), // a removed layout: models saved with it load as arena
    ("arena", Layout::Arena),
    ("packed", Layout::Packed),
];

/// Index options from `tables` (0: chosen at build time) and a layout code (an index of [`LAYOUTS`]).
fn index_options(tables: usize, layout: usize) -> Option<IndexOptions> {
    let layout = LAYOUTS.get(layout)?.1;
    Some(match tables {
        0 => IndexOptions { layout, ..IndexOptions::default() },
        m => IndexOptions { m: Some(m), path: Some(Path::Mih), layout, ..IndexOptions::default() },
    })
}

/// The `(tables, layout code)` that [`index_options`] reads back.
fn index_settings(options: &IndexOptions) -> (usize, usize) {
    let layout = LAYOUTS.iter().position(|(_, l)| *l == options.layout).unwrap_or(0);
    (options.m.unwrap_or(0), layout)
}

/// A boolean parameter: `TRUE`/`FALSE` or the words 'true'/'false'; false when absent.
fn flag(p: &Params, given: &[(String, Value)], name: &str) -> Result<bool> {
    match given.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v) {
        Some(Value::Bool(b)) => Ok(*b),
        _ => Ok(p.word(name, "false", &["true", "false"])? == "true"),
    }
}

impl Settings {
    /// Reads and checks the `WITH (...)` parameters.
    fn parse(params: &[(String, Value)]) -> Result<Self> {
        let p = Params::new("dsiml", params);
        let bits = p.integer("bits", DEFAULT_BITS, 8..=256)?;
        if bits % 8 != 0 {
            return Err(Error::Invalid(format!(
                "dsiml parameter 'bits' must be a multiple of 8 from 8 to 256, got {bits}"
            )));
        }
        let bits = bits as usize;
        let gamma = p.positive("gamma", DEFAULT_GAMMA)?;
        let radius = p.positive("radius", DEFAULT_RADIUS)?;
        let offset =
            if flag(&p, params, "keep_constant")? { (1.0 - 3.0 * gamma * gamma) * bits as f64 } else { 0.0 };
        let objective = Objective {
            bits,
            gamma,
            lambda: p.non_negative("lambda", DEFAULT_LAMBDA)?,
            scale: radius * radius / bits as f64,
            rank_scale: p.positive("rank_scale", DEFAULT_RANK_SCALE)?,
            offset,
        };
        Ok(Settings {
            objective,
            radius,
            negatives: p.integer("negatives", DEFAULT_NEGATIVES, 1..=100)? as usize,
            epochs: p.integer("epochs", DEFAULT_EPOCHS, 1..=10_000)? as usize,
            learning_rate: p.positive("learning_rate", DEFAULT_LEARNING_RATE)?,
            iterations: p.integer("iterations", DEFAULT_ITERATIONS, 0..=1000)? as usize,
            tolerance: p.non_negative("tolerance", DEFAULT_TOLERANCE)?,
            keep_real: flag(&p, params, "keep_real")?,
            stage: match p.word("stage", "binary", &["binary", "real"])? {
                "real" => Stage::Real,
                _ => Stage::Binary,
            },
            seed: p.seed("seed", DEFAULT_SEED)?,
            index: {
                let tables = p.integer("tables", 0, 1..=64)? as usize;
                let names: Vec<&str> = LAYOUTS.iter().map(|l| l.0).collect();
                let layout = p.word("index_layout", "packed", &names)?;
                let code = names.iter().position(|n| *n == layout).unwrap_or(0);
                index_options(tables, code).unwrap_or_default()
            },
        })
    }
}

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

/// Blob of the shape: `(bits, stage, seed, fingerprints, [γ, λ, S, rank scale, offset, negatives, R,
/// tables, layout])` (models saved before the index parameters have the first seven settings).
const SHAPE_BLOB: &str = "shape";
/// Blob of the packed user codes.
const USERS_BLOB: &str = "user_codes";
/// Blob of the packed item codes.
const ITEMS_BLOB: &str = "item_codes";
/// Blob of the real user vectors (empty when not kept).
const REAL_USERS_BLOB: &str = "real_users";
/// Blob of the real item vectors (empty when not kept).
const REAL_ITEMS_BLOB: &str = "real_items";

impl DsimlModel {
    /// Trains on the visible interactions of `data` with the `WITH (...)` parameters `params`.
    pub fn train(data: &Snapshot, params: &[(String, Value)], progress: &dyn Progress) -> Result<Self> {
        let s = Settings::parse(params)?;
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
        let (real_users, real_items) = stage0::train(&stage0, n_users, n_items, &rows, progress)?;
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
            stage2::train(&stage2, &mut users, &mut items, &rows, progress)?;
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

    /// Rebuilds a model from its blobs; blobs that do not validate or disagree are an error.
    pub fn load(blob: &dyn Fn(&str) -> Result<AlignedVec>) -> Result<Self> {
        let corrupt = |what: String| Error::Invalid(format!("corrupt dsiml model: {what}"));
        let (bits, stage, seed, fingerprints, settings) =
            read_archive::<(u32, u8, u64, Vec<u64>, Vec<f64>)>(&blob(SHAPE_BLOB)?, SHAPE_BLOB)?;
        let bits = bits as usize;
        if !(8..=256).contains(&bits) || !bits.is_multiple_of(8) {
            return Err(corrupt(format!("{bits} bits")));
        }
        let stage = match stage {
            0 => Stage::Binary,
            1 => Stage::Real,
            other => return Err(corrupt(format!("stage {other}"))),
        };
        // Models saved before the index parameters existed have 7 settings.
        let (head, index) = match &settings[..] {
            [head @ .., tables, layout] if settings.len() == 9 => {
                let valid = |x: f64, max: f64| x.fract() == 0.0 && (0.0..=max).contains(&x);
                let index = (valid(*tables, 64.0) && valid(*layout, (LAYOUTS.len() - 1) as f64))
                    .then(|| index_options(*tables as usize, *layout as usize))
                    .flatten()
                    .ok_or_else(|| corrupt(format!("settings {settings:?}")))?;
                (head, index)
            }
            all => (all, IndexOptions::default()),
        };
        let &[gamma, lambda, scale, rank_scale, offset, negatives, radius] = head else {
            return Err(corrupt(format!("settings {settings:?}")));
        };
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !(positive(gamma) && positive(scale) && positive(rank_scale) && positive(radius))
            || !(lambda.is_finite() && lambda >= 0.0 && offset.is_finite())
            || !(negatives.fract() == 0.0 && (1.0..=100.0).contains(&negatives))
        {
            return Err(corrupt(format!("settings {settings:?}")));
        }
        let words = words_for(bits);
        let users = read_archive::<Vec<u64>>(&blob(USERS_BLOB)?, USERS_BLOB)?;
        let packed_items = read_archive::<Vec<u64>>(&blob(ITEMS_BLOB)?, ITEMS_BLOB)?;
        let n_users = fingerprints.len();
        if users.len() != n_users.saturating_mul(words) {
            return Err(corrupt(format!(
                "{} user code words for {n_users} users of {bits} bits",
                users.len()
            )));
        }
        if !packed_items.len().is_multiple_of(words) {
            return Err(corrupt(format!("{} item code words for codes of {bits} bits", packed_items.len())));
        }
        let spare = if bits.is_multiple_of(64) { 0 } else { !0u64 << (bits % 64) };
        if users
            .chunks_exact(words)
            .chain(packed_items.chunks_exact(words))
            .any(|c| c[words - 1] & spare != 0)
        {
            return Err(corrupt(format!("codes with bits set beyond {bits}")));
        }
        let n_items = packed_items.len() / words;
        let mut signs = vec![0f32; n_items * bits];
        for (code, out) in packed_items.chunks_exact(words).zip(signs.chunks_exact_mut(bits)) {
            codes::unpack(code, out);
        }
        let real_users = read_archive::<Vec<f32>>(&blob(REAL_USERS_BLOB)?, REAL_USERS_BLOB)?;
        let real_items = read_archive::<Vec<f32>>(&blob(REAL_ITEMS_BLOB)?, REAL_ITEMS_BLOB)?;
        let real = if real_users.is_empty() && real_items.is_empty() && stage == Stage::Binary {
            None
        } else if real_users.len() == n_users * bits && real_items.len() == n_items * bits {
            Some(RealVectors { dim: bits, users: real_users, items: real_items })
        } else {
            return Err(corrupt(format!(
                "{} real user values and {} real item values for {n_users} users and {n_items} items of {bits}",
                real_users.len(),
                real_items.len()
            )));
        };
        let objective = Objective { bits, gamma, lambda, scale, rank_scale, offset };
        let items = CodeBook::from_values(&signs, bits);
        Ok(DsimlModel {
            index: item_index(stage, &items, bits, &index)?,
            index_options: index,
            user_index: OnceLock::new(),
            user_book: OnceLock::new(),
            stage,
            objective,
            radius,
            negatives: negatives as usize,
            seed,
            users,
            items,
            fingerprints,
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
        m.user_index.get().map(|i| &**i).ok_or_else(|| Error::Invalid("the user index is missing".into()))
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
            return Err(Error::Invalid(
                "this dsiml model kept no real vectors to re-rank with; train it with keep_real = true, \
                 or re-rank with another model"
                    .into(),
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

    fn blobs(&self) -> Result<Vec<(&'static str, AlignedVec)>> {
        let serialise = |e: rancor::Error| Error::Invalid(format!("cannot serialise a dsiml model: {e}"));
        let o = &self.objective;
        let (tables, layout) = index_settings(&self.index_options);
        let settings = vec![
            o.gamma,
            o.lambda,
            o.scale,
            o.rank_scale,
            o.offset,
            self.negatives as f64,
            self.radius,
            tables as f64,
            layout as f64,
        ];
        let stage = u8::from(self.stage == Stage::Real);
        let shape = (o.bits as u32, stage, self.seed, self.fingerprints.clone(), settings);
        let (real_users, real_items) = match &self.real {
            Some(r) => (r.users.clone(), r.items.clone()),
            None => (Vec::new(), Vec::new()),
        };
        Ok(vec![
            (SHAPE_BLOB, rkyv::to_bytes::<rancor::Error>(&shape).map_err(serialise)?),
            (USERS_BLOB, rkyv::to_bytes::<rancor::Error>(&self.users).map_err(serialise)?),
            (ITEMS_BLOB, rkyv::to_bytes::<rancor::Error>(&self.items.packed().to_vec()).map_err(serialise)?),
            (REAL_USERS_BLOB, rkyv::to_bytes::<rancor::Error>(&real_users).map_err(serialise)?),
            (REAL_ITEMS_BLOB, rkyv::to_bytes::<rancor::Error>(&real_items).map_err(serialise)?),
        ])
    }
}

impl Algorithm for Dsiml {
    fn name(&self) -> &'static str {
        "dsiml"
    }

    fn parameters(&self) -> &'static [Parameter] {
        PARAMETERS
    }

    fn train(
        &self,
        data: &Snapshot,
        params: &[(String, Value)],
        progress: &dyn Progress,
    ) -> Result<Box<dyn Model>> {
        Ok(Box::new(DsimlModel::train(data, params, progress)?))
    }

    fn load(&self, blob: &dyn Fn(&str) -> Result<AlignedVec>) -> Result<Box<dyn Model>> {
        Ok(Box::new(DsimlModel::load(blob)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;
    use crate::synth::{generate, SynthConfig};

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
        }
    }

    fn with(pairs: &[(&str, Value)]) -> Vec<(String, Value)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    fn small() -> Vec<(String, Value)> {
        with(&[("bits", Value::Int(16)), ("epochs", Value::Int(30)), ("learning_rate", Value::Float(0.02))])
    }

    fn blobs(model: &DsimlModel) -> Vec<(&'static str, AlignedVec)> {
        model.blobs().expect("blobs")
    }

    #[test]
    fn bad_parameters_get_clear_errors() {
        let cases = [
            (
                vec![("bits", Value::Int(12))],
                "dsiml parameter 'bits' must be a multiple of 8 from 8 to 256, got 12",
            ),
            (
                vec![("bits", Value::Int(512))],
                "dsiml parameter 'bits' must be an integer from 8 to 256, got 512",
            ),
            (vec![("gamma", Value::Int(0))], "dsiml parameter 'gamma' must be a positive number, got 0"),
            (
                vec![("lambda", Value::Float(-1.0))],
                "dsiml parameter 'lambda' must be a number of zero or more",
            ),
            (
                vec![("negatives", Value::Int(0))],
                "dsiml parameter 'negatives' must be an integer from 1 to 100",
            ),
            (
                vec![("radius", Value::from("big"))],
                "dsiml parameter 'radius' must be a positive number, got 'big'",
            ),
            (vec![("stage", Value::from("sdp"))], "dsiml parameter 'stage' must be one of 'binary', 'real'"),
            (
                vec![("keep_real", Value::Int(1))],
                "dsiml parameter 'keep_real' must be one of 'true', 'false', got 1",
            ),
            (
                vec![("iterations", Value::Int(-1))],
                "dsiml parameter 'iterations' must be an integer from 0 to 1000",
            ),
        ];
        for (given, expected) in cases {
            let given: Vec<(String, Value)> = given.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            let err = Settings::parse(&given).expect_err(expected).to_string();
            assert!(err.starts_with(expected), "{err}");
        }
        let s = Settings::parse(&with(&[
            ("keep_real", Value::Bool(true)),
            ("keep_constant", Value::from("TRUE")),
        ]))
        .expect("flags");
        assert!(s.keep_real);
        assert_eq!(s.objective.offset, -2.0 * 64.0);
        assert!((s.objective.scale - 2.0 / 64.0).abs() < 1e-12);
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
        let mut saved = Vec::new();
        for (name, layout) in [("packed", Layout::Packed), ("arena", Layout::Arena)] {
            let mut params = small();
            params.extend(with(&[("tables", Value::Int(3)), ("index_layout", Value::from(name))]));
            params.push(("iterations".into(), Value::Int(1)));
            let model = DsimlModel::train(&data, &params, &NoProgress).expect("train");
            let index = model.binary().expect("binary").item_index().tables();
            assert_eq!(index, 3, "three tables, although 80 codes would be scanned by default");
            assert_eq!(model.index_options.layout, layout);
            saved = blobs(&model);
            let get = |name: &str| {
                saved.iter().find(|b| b.0 == name).map(|b| b.1.clone()).ok_or(Error::Invalid(name.into()))
            };
            let loaded = DsimlModel::load(&get).expect("load");
            assert_eq!(loaded.binary().expect("binary").item_index().tables(), 3);
            assert_eq!(loaded.index_options.layout, layout);
        }
        let get = |name: &str| {
            saved.iter().find(|b| b.0 == name).map(|b| b.1.clone()).ok_or(Error::Invalid(name.into()))
        };
        // A model saved before the index parameters (seven settings) loads with the default index.
        let (bits, stage, seed, fingerprints, mut settings) =
            read_archive::<(u32, u8, u64, Vec<u64>, Vec<f64>)>(&get(SHAPE_BLOB).expect("shape"), SHAPE_BLOB)
                .expect("read");
        settings.truncate(7);
        let old =
            rkyv::to_bytes::<rancor::Error>(&(bits, stage, seed, fingerprints, settings)).expect("bytes");
        let older = |name: &str| if name == SHAPE_BLOB { Ok(old.clone()) } else { get(name) };
        let loaded = DsimlModel::load(&older).expect("load an older model");
        assert_eq!(loaded.binary().expect("binary").item_index().tables(), 0);
        let current = DsimlModel::load(&get).expect("load");
        assert_eq!(loaded.item_codes(), current.item_codes());
        // The default lets the index choose: a scan for so few codes.
        let default = DsimlModel::train(&data, &small(), &NoProgress).expect("train");
        assert_eq!(default.binary().expect("binary").item_index().tables(), 0);
        for (bad, message) in [
            (("tables", Value::Int(65)), "dsiml parameter 'tables' must be an integer from 1 to 64, got 65"),
            (("index_layout", Value::from("btree")), "dsiml parameter 'index_layout' must be one of"),
        ] {
            let err = Settings::parse(&with(&[bad])).expect_err("refused");
            assert!(err.to_string().starts_with(message), "{err}");
        }
    }

    #[test]
    fn the_real_stage_scores_with_vectors_and_blobs_round_trip() {
        let data = data();
        let mut params = small();
        params.push(("stage".into(), Value::from("real")));
        let model = DsimlModel::train(&data, &params, &NoProgress).expect("train");
        let real = model.real_vectors().expect("kept");
        let (mut scores, mut again) = (vec![0f32; 80], vec![0f32; 80]);
        model.score(5, data.row(5), &mut scores);
        let u = &real.users[5 * 16..6 * 16];
        let expected: f32 = u.iter().zip(&real.items[7 * 16..8 * 16]).map(|(a, b)| a * b).sum();
        assert!((scores[7] - expected).abs() < 1e-5);
        model.similar_items(2, &mut scores).expect("similar");
        assert!((scores[2] - 1.0).abs() < 1e-4, "cosine of an item with itself: {}", scores[2]);

        let saved = blobs(&model);
        let get = |name: &str| {
            saved.iter().find(|b| b.0 == name).map(|b| b.1.clone()).ok_or(Error::Invalid(name.into()))
        };
        let loaded = DsimlModel::load(&get).expect("load");
        assert_eq!((loaded.user_codes(), loaded.item_codes()), (model.user_codes(), model.item_codes()));
        assert_eq!(loaded.real_vectors(), model.real_vectors());
        loaded.score(5, data.row(5), &mut again);
        model.score(5, data.row(5), &mut scores);
        assert_eq!(scores, again);
        // Corrupt blobs are errors.
        let bytes = |v: Vec<u64>| rkyv::to_bytes::<rancor::Error>(&v).expect("bytes");
        let short = bytes(vec![1; 7]);
        let corrupt = |name: &str| if name == USERS_BLOB { Ok(short.clone()) } else { get(name) };
        let err = DsimlModel::load(&corrupt).expect_err("short").to_string();
        assert!(err.contains("7 user code words for 200 users of 16 bits"), "{err}");
        let high = bytes(vec![1 << 20; 80]);
        let corrupt = |name: &str| if name == ITEMS_BLOB { Ok(high.clone()) } else { get(name) };
        assert!(DsimlModel::load(&corrupt).expect_err("spare bits").to_string().contains("beyond 16"));
        let no_real = rkyv::to_bytes::<rancor::Error>(&Vec::<f32>::new()).expect("bytes");
        let corrupt = |name: &str| if name == REAL_ITEMS_BLOB { Ok(no_real.clone()) } else { get(name) };
        assert!(DsimlModel::load(&corrupt).expect_err("real").to_string().contains("real item values"));
        let garbage = |name: &str| {
            if name == SHAPE_BLOB {
                let mut v = AlignedVec::new();
                v.extend_from_slice(&[9u8; 5]);
                Ok(v)
            } else {
                get(name)
            }
        };
        assert!(DsimlModel::load(&garbage).is_err());
    }
}
