//! `ccsr`: similarity-preserving binary codes from two autoencoders (Shi and Chung, AdKDD 2022), as
//! recodb implements it; the account of the model, its parameters and what was measured is
//! `docs/models/ccsr.md`.
//!
//! A user encoder reads the user's interaction row and an item encoder the item's interaction column
//! (both sparse inputs of the [`nn`](super::nn) core), each through two ReLU layers to a code layer of
//! `bits` values, with a mirror decoder that reconstructs the input. The code layers are tied by a
//! maximum-a-posteriori similarity loss on triplets `(user, positive, negative)`, optionally a BPR
//! ranking term on the same triplets, a quantisation loss after a warm-up and an optional balance loss
//! ([`loss`], [`train`]). The codes are the signs of the code layers.
//!
//! **Serving** is `dsiml`'s: the item codes sit in the Hamming engine (filters pushed down, EXPLAIN,
//! SIMILAR, EXPORT CODES), a score is `bits − 2·distance`; `stage = 'real'` (or `binarization =
//! 'scaled_tanh'`) scores with the real code layers `fᵀg` instead, and `keep_real` keeps them for
//! `RERANK m USING m`.
//!
//! **Fold-in** is the autoencoders' own: a user who arrived or whose items changed after training
//! (another fingerprint) is encoded by the user encoder from its interaction row, and an item that
//! arrived after training by the item encoder from the column of trained users who have it.

pub mod loss;
pub mod pairs;
pub mod train;

#[cfg(test)]
mod tests;

use std::sync::{Arc, OnceLock};

use recodb_storage::hamming::{CodeStore, HammingIndex, IndexOptions};
use recodb_storage::rkyv;
use recodb_storage::Snapshot;

use self::pairs::Batch;
use super::blobs::{encode, Blob, Blobs, SavedCodes};
use super::dsiml::codes::{hamming, words_for, CodeBook};
use super::dsiml::stage0::dot;
use super::dsiml::RealVectors;
use super::factors::rows_dot;
use super::nn::{Activation, Dense, Input, Matrix, Mlp};
use super::params::Kind;
use super::{fingerprint, Algorithm, BinaryCodes, HeapBytes, Model, Param, Params};
use crate::error::{Error, Result};
use crate::progress::Progress;

/// The CCSR algorithm.
pub const CCSR: Algorithm = Algorithm {
    name: "ccsr",
    about: "similarity-preserving binary codes from two autoencoders (user rows, item columns) tied by a \
            MAP similarity loss, served by the Hamming engine",
    parameters: PARAMETERS,
    train: |data, params, progress| Ok(Box::new(CcsrModel::train(data, params, progress)?)),
    load: |blobs| Ok(Box::new(CcsrModel::load(blobs)?)),
};

const PARAMETERS: &[Param] = &[
    Param { name: "bits", kind: Kind::Int { default: 64, min: 8, max: 256, step: 8 }, doc: "code length" },
    Param {
        name: "hidden",
        kind: Kind::Int { default: 256, min: 8, max: 4096, step: 2 },
        doc: "width of the encoders' first hidden layer (the second is half; decoders mirror them)",
    },
    Param::int("epochs", 20, 1, 10_000, "passes, each a user pass and an item pass"),
    Param::positive("learning_rate", 0.002, "Adam step size"),
    Param::int("batch", 64, 1, 65_536, "users or items per mini-batch"),
    Param::int("negatives", 4, 1, 100, "uniform negatives per positive, shared by both passes"),
    Param::fraction("logit_scale", None, "s in σ(s·fᵀg), a temperature (auto: 8/bits)"),
    Param::non_negative("reconstruction", 1.0, "α, weight of the decoders' reconstruction loss (0: none)"),
    Param::non_negative("quantization", 1.0, "β, weight of the quantisation loss toward the signs"),
    Param {
        name: "warmup",
        kind: Kind::Auto { min: 0, max: 10_000 },
        doc: "epochs before the quantisation loss starts (auto: half the epochs)",
    },
    Param::non_negative("balance", 0.0, "η, weight of the balance loss ‖mean of a batch's codes‖²"),
    Param::non_negative(
        "rank_weight",
        1.0,
        "λ_r, weight of a BPR ranking term on the same triplets (0: none)",
    ),
    Param::choice(
        "binarization",
        "sign",
        &["sign", "scaled_tanh", "sign_scaled_tanh"],
        "'sign': linear code layer, signs served; 'scaled_tanh': tanh(κ·) layer scored as is; \
         'sign_scaled_tanh': tanh(κ·) layer, signs served",
    ),
    Param::flag("keep_real", false, "keep the real code layers with the model (for re-ranking)"),
    Param::choice(
        "stage",
        "binary",
        &["binary", "real"],
        "'binary': codes, scored by Hamming distance; 'real': score the real code layers fᵀg",
    ),
    Param::seed("seed", 42, "seed of the weights, the triplets and the batch order"),
];

/// How the code layer is trained and served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binarization {
    /// A linear code layer; the codes are its signs.
    Sign,
    /// A `tanh(κ·z)` code layer, served as real values (no codes).
    ScaledTanh,
    /// A `tanh(κ·z)` code layer; the codes are its signs.
    SignScaledTanh,
}

/// What a model scores with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The binary codes (Hamming distance).
    Binary,
    /// The real code layers (inner product).
    Real,
}

/// Validated training parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    bits: usize,
    hidden: usize,
    epochs: usize,
    learning_rate: f32,
    batch: usize,
    negatives: usize,
    logit_scale: f32,
    reconstruction: f32,
    quantization: f32,
    warmup: usize,
    balance: f32,
    rank_weight: f32,
    binarization: Binarization,
    keep_real: bool,
    stage: Stage,
    seed: u64,
}

impl Settings {
    /// Reads the checked `WITH (...)` parameters.
    fn read(p: &Params) -> Result<Self> {
        let bits = p.int("bits")? as usize;
        let epochs = p.int("epochs")? as usize;
        let binarization = match p.choice("binarization")? {
            "scaled_tanh" => Binarization::ScaledTanh,
            "sign_scaled_tanh" => Binarization::SignScaledTanh,
            _ => Binarization::Sign,
        };
        let real = p.choice("stage")? == "real" || binarization == Binarization::ScaledTanh;
        Ok(Settings {
            bits,
            hidden: p.int("hidden")? as usize,
            epochs,
            learning_rate: p.float("learning_rate")? as f32,
            batch: p.int("batch")? as usize,
            negatives: p.int("negatives")? as usize,
            logit_scale: p.auto_float("logit_scale")?.map_or(8.0 / bits as f32, |s| s as f32),
            reconstruction: p.float("reconstruction")? as f32,
            quantization: p.float("quantization")? as f32,
            warmup: p.auto("warmup")?.map_or(epochs / 2, |w| w as usize),
            balance: p.float("balance")? as f32,
            rank_weight: p.float("rank_weight")? as f32,
            binarization,
            keep_real: p.flag("keep_real")?,
            stage: if real { Stage::Real } else { Stage::Binary },
            seed: p.seed("seed")?,
        })
    }
}

/// One dense layer of a stored encoder.
#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[rkyv(crate = recodb_storage::rkyv)]
pub struct LayerBlob {
    /// Inputs of the layer.
    pub inputs: u32,
    /// Outputs of the layer.
    pub outputs: u32,
    /// The weights, `inputs × outputs` row by row.
    pub weight: Vec<f32>,
    /// The biases, `outputs` long.
    pub bias: Vec<f32>,
}

/// A stored encoder: its layers (ReLU after each but the last) and its code layer's activation.
#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[rkyv(crate = recodb_storage::rkyv)]
pub struct EncoderBlob {
    /// The layers, input first.
    pub layers: Vec<LayerBlob>,
    /// κ of the code layer's `tanh(κ·z)`; 0 for a linear code layer.
    pub tanh_scale: f32,
}

/// The blob of a CCSR model: its settings, both encoders (for fold-in), the codes and (when kept) the
/// real code layers.
#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[rkyv(crate = recodb_storage::rkyv)]
pub struct CcsrBlob {
    /// Code length, a multiple of 8 from 8 to 256.
    pub bits: u32,
    /// `binary` (scored by codes) or `real` (scored by the code layers).
    pub stage: String,
    /// The user encoder (inputs: the trained items).
    pub user_encoder: EncoderBlob,
    /// The item encoder (inputs: the trained users).
    pub item_encoder: EncoderBlob,
    /// The fingerprint of each trained user's items.
    pub fingerprints: Vec<u64>,
    /// The packed user codes, `bits / 64` words (rounded up) each, in user id order.
    pub user_codes: Vec<u64>,
    /// The packed item codes, likewise.
    pub item_codes: Vec<u64>,
    /// The users' real code layers, `bits` values each, or empty when not kept.
    pub real_users: Vec<f32>,
    /// The items' real code layers, or empty.
    pub real_items: Vec<f32>,
}

/// The name of [`CcsrBlob`].
pub const CCSR_BLOB: &str = "ccsr";

/// A trained CCSR model: both encoders, the codes, the fingerprints of the trained users' items, and
/// the real code layers when kept.
#[derive(Debug, Clone)]
pub struct CcsrModel {
    stage: Stage,
    bits: usize,
    user_encoder: Mlp,
    item_encoder: Mlp,
    fingerprints: Vec<u64>,
    users: Vec<u64>,
    items: CodeBook,
    real: Option<RealVectors>,
    /// The Hamming index over the item codes (binary stage only).
    index: Option<Arc<HammingIndex>>,
    /// The Hamming index over the trained users' codes, built by the first SIMILAR USER.
    user_index: OnceLock<Arc<HammingIndex>>,
}

impl EncoderBlob {
    pub(crate) fn of(mlp: &Mlp) -> EncoderBlob {
        let layers = mlp
            .layers()
            .iter()
            .map(|(d, _)| LayerBlob {
                inputs: d.inputs() as u32,
                outputs: d.outputs() as u32,
                weight: d.weight.as_slice().to_vec(),
                bias: d.bias.clone(),
            })
            .collect();
        let tanh_scale = match mlp.layers().last().map(|l| l.1) {
            Some(Activation::Tanh(k)) => k,
            _ => 0.0,
        };
        EncoderBlob { layers, tanh_scale }
    }

    /// The encoder, when its layers chain from `inputs` to `bits` through ReLU layers with finite
    /// weights of the stated shapes.
    pub(crate) fn to_mlp(&self, inputs: usize, bits: usize) -> Option<Mlp> {
        let n = self.layers.len();
        let code =
            if self.tanh_scale == 0.0 { Activation::Identity } else { Activation::Tanh(self.tanh_scale) };
        let finite = self.tanh_scale.is_finite() && self.tanh_scale >= 0.0;
        let layers = self
            .layers
            .iter()
            .enumerate()
            .map(|(k, l)| {
                let values = l.weight.iter().chain(&l.bias);
                if !values.clone().all(|v| v.is_finite()) {
                    return None;
                }
                let weight = Matrix::from_vec(l.inputs as usize, l.outputs as usize, l.weight.clone())?;
                let act = if k + 1 == n { code } else { Activation::Relu };
                Some((Dense { weight, bias: l.bias.clone() }, act))
            })
            .collect::<Option<Vec<_>>>()?;
        Mlp::from_layers(layers).filter(|m| finite && m.inputs() == inputs && m.outputs() == bits)
    }
}

/// The Hamming index over `items` for a model of `stage` (`None` for the real stage).
fn item_index(stage: Stage, items: &CodeBook, bits: usize) -> Result<Option<Arc<HammingIndex>>> {
    if stage != Stage::Binary {
        return Ok(None);
    }
    let store = CodeStore::from_words(bits as u32, items.packed().to_vec())?;
    Ok(Some(Arc::new(HammingIndex::build(store, &IndexOptions::default()))))
}

impl CcsrModel {
    /// Trains on the visible interactions of `data` with the `WITH (...)` parameters `params`.
    pub fn train(data: &Snapshot, params: &Params, progress: &dyn Progress) -> Result<Self> {
        let s = Settings::read(params)?;
        let trained = train::train(data, &s, progress)?;
        let users = CodeBook::from_values(trained.users.as_slice(), s.bits).into_packed();
        let items = CodeBook::from_values(trained.items.as_slice(), s.bits);
        let phase = format!(
            "ccsr: codes, bit imbalance mean |E[b]| users {:.3}, items {:.3}",
            bit_imbalance(&users, s.bits),
            bit_imbalance(items.packed(), s.bits)
        );
        if !progress.update(&phase, 1, 1) {
            return Err(Error::cancelled("training"));
        }
        let real = (s.keep_real || s.stage == Stage::Real).then(|| RealVectors {
            dim: s.bits,
            users: trained.users.into_vec(),
            items: trained.items.into_vec(),
        });
        Ok(CcsrModel {
            index: item_index(s.stage, &items, s.bits)?,
            user_index: OnceLock::new(),
            stage: s.stage,
            bits: s.bits,
            user_encoder: trained.user_encoder,
            item_encoder: trained.item_encoder,
            fingerprints: (0..data.n_users).map(|u| fingerprint(data.row(u))).collect(),
            users,
            items,
            real,
        })
    }

    /// Rebuilds a model from its blob; a blob that does not validate or disagrees with itself is a
    /// corrupt-model error.
    pub fn load(blobs: &Blobs<'_>) -> Result<Self> {
        let b: CcsrBlob = blobs.get(CCSR_BLOB)?;
        let corrupt = |what: String| Error::corrupt(format!("corrupt ccsr model: {what}"));
        let n_users = b.fingerprints.len();
        let shape = SavedCodes {
            model: "ccsr",
            bits: b.bits,
            stage: &b.stage,
            users: n_users,
            user_codes: &b.user_codes,
            item_codes: &b.item_codes,
            real_users: &b.real_users,
            real_items: &b.real_items,
        }
        .check()?;
        let (bits, n_items) = (shape.bits, shape.items);
        let stage = if shape.real_stage { Stage::Real } else { Stage::Binary };
        let user_encoder = b.user_encoder.to_mlp(n_items, bits).ok_or_else(|| {
            corrupt(format!("a user encoder that does not map {n_items} items to {bits} bits"))
        })?;
        let item_encoder = b.item_encoder.to_mlp(n_users, bits).ok_or_else(|| {
            corrupt(format!("an item encoder that does not map {n_users} users to {bits} bits"))
        })?;
        let real =
            shape.has_real.then_some(RealVectors { dim: bits, users: b.real_users, items: b.real_items });
        let items = CodeBook::from_packed(&b.item_codes, bits);
        Ok(CcsrModel {
            index: item_index(stage, &items, bits)?,
            user_index: OnceLock::new(),
            stage,
            bits,
            user_encoder,
            item_encoder,
            fingerprints: b.fingerprints,
            users: b.user_codes,
            items,
            real,
        })
    }

    /// Code length in bits.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// What the model scores with.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// The packed codes of the trained users, `bits / 64` words (rounded up) each, in user id order.
    pub fn user_codes(&self) -> &[u64] {
        &self.users
    }

    /// The packed codes of the items, likewise.
    pub fn item_codes(&self) -> &[u64] {
        self.items.packed()
    }

    /// The real code layers, when kept.
    pub fn real_vectors(&self) -> Option<&RealVectors> {
        self.real.as_ref()
    }

    /// Whether `user` with items `seen` is served by what training computed for it (else it is encoded
    /// from its items).
    pub fn is_trained(&self, user: u32, seen: &[u32]) -> bool {
        self.fingerprints.get(user as usize).is_some_and(|&f| f == fingerprint(seen))
    }

    /// The user encoder's code layer for the items `seen` (those beyond the trained items dropped).
    pub fn encode_user(&self, seen: &[u32]) -> Vec<f32> {
        let known = &seen[..seen.partition_point(|&i| (i as usize) < self.items.rows())];
        self.user_encoder.predict(Input::Sparse(Batch::single(known).rows())).into_vec()
    }

    /// The item encoder's code layer for an item that the users `its_users` (sorted) have, those beyond
    /// the trained users dropped.
    pub fn encode_item(&self, its_users: &[u32]) -> Vec<f32> {
        let known = &its_users[..its_users.partition_point(|&u| (u as usize) < self.fingerprints.len())];
        self.item_encoder.predict(Input::Sparse(Batch::single(known).rows())).into_vec()
    }

    /// The packed code that scores `user`, whose items are `seen` (sorted): its trained code when its
    /// items are those it was trained on, otherwise the signs of its encoding.
    pub fn user_code(&self, user: u32, seen: &[u32]) -> Vec<u64> {
        let words = self.items.words();
        if self.is_trained(user, seen) {
            if let Some(code) = self.users.get(user as usize * words..(user as usize + 1) * words) {
                return code.to_vec();
            }
        }
        CodeBook::from_values(&self.encode_user(seen), self.bits).into_packed()
    }

    /// The real code layer that scores `user` (with real vectors): trained, or encoded from its items.
    pub fn user_vector(&self, user: u32, seen: &[u32]) -> Option<Vec<f32>> {
        let real = self.real.as_ref()?;
        if self.is_trained(user, seen) {
            if let Some(v) = real.users.get(user as usize * real.dim..(user as usize + 1) * real.dim) {
                return Some(v.to_vec());
            }
        }
        Some(self.encode_user(seen))
    }

    /// Writes `bits − 2·H(code, item code)` for every item into `scores`.
    fn hamming_scores(&self, code: &[u64], scores: &mut [f32]) {
        let bits = self.bits as f32;
        for (s, c) in scores.iter_mut().zip(self.items.packed().chunks_exact(self.items.words())) {
            *s = bits - 2.0 * hamming(code, c) as f32;
        }
    }
}

/// A binary-stage model's code spaces.
struct Served<'a> {
    model: &'a CcsrModel,
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
            let mut store = CodeStore::from_words(m.bits as u32, m.users.clone())?;
            let empty = fingerprint(&[]);
            for (user, _) in m.fingerprints.iter().enumerate().filter(|(_, &f)| f == empty) {
                store.remove(user as u32);
            }
            // Another thread may have built it meanwhile; either index is the same.
            let _ = m.user_index.set(Arc::new(HammingIndex::build(store, &IndexOptions::default())));
        }
        m.user_index.get().map(|i| &**i).ok_or_else(|| Error::internal("the user index is missing"))
    }

    fn user_code(&self, user: u32, seen: &[u32]) -> Vec<u64> {
        self.model.user_code(user, seen)
    }

    /// The signs of the item encoder's output for the column of the trained users who have it.
    fn fold_in_item(&self, its_users: &[(u32, &[u32])]) -> Option<Vec<u64>> {
        let mut users: Vec<u32> =
            its_users.iter().map(|p| p.0).filter(|&u| (u as usize) < self.model.fingerprints.len()).collect();
        if users.is_empty() {
            return None;
        }
        users.sort_unstable();
        users.dedup();
        Some(CodeBook::from_values(&self.model.encode_item(&users), self.model.bits).into_packed())
    }
}

impl Model for CcsrModel {
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

    /// The kept real code layers' inner products (an error when the model kept none).
    fn score_items(&self, user: u32, seen: &[u32], items: &[u32], out: &mut [f32]) -> Result<()> {
        let (Some(real), Some(v)) = (self.real.as_ref(), self.user_vector(user, seen)) else {
            return Err(Error::unsupported(
                "this ccsr model kept no real code layers to re-rank with; train it with keep_real = true, \
                 or re-rank with another model",
            ));
        };
        for (o, &i) in out.iter_mut().zip(items) {
            *o = match real.items.get(i as usize * real.dim..(i as usize + 1) * real.dim) {
                Some(row) => dot(&v, row),
                None => f32::NEG_INFINITY,
            };
        }
        Ok(())
    }

    fn is_trained(&self, user: u32, seen: &[u32]) -> Option<bool> {
        Some(CcsrModel::is_trained(self, user, seen))
    }

    /// `bits − 2·H` between item codes (the cosine of the real code layers for the real stage); an
    /// unknown item is similar to nothing (all scores 0).
    fn similar_items(&self, item: u32, scores: &mut [f32]) -> Result<()> {
        if item as usize >= self.items.rows() {
            scores.iter_mut().for_each(|s| *s = 0.0);
            return Ok(());
        }
        match (self.stage, self.real.as_ref()) {
            (Stage::Real, Some(real)) => {
                let norm = |r: &[f32]| dot(r, r).sqrt().max(f32::MIN_POSITIVE);
                let v = &real.items[item as usize * real.dim..(item as usize + 1) * real.dim];
                rows_dot(&real.items, v, scores);
                let nv = norm(v);
                for (s, r) in scores.iter_mut().zip(real.items.chunks_exact(real.dim)) {
                    *s /= nv * norm(r);
                }
            }
            _ => self.hamming_scores(self.items.code(item), scores),
        }
        Ok(())
    }

    fn blobs(&self) -> Result<Vec<Blob>> {
        let (real_users, real_items) = RealVectors::saved(self.real.as_ref());
        let blob = CcsrBlob {
            bits: self.bits as u32,
            stage: if self.stage == Stage::Real { "real" } else { "binary" }.into(),
            user_encoder: EncoderBlob::of(&self.user_encoder),
            item_encoder: EncoderBlob::of(&self.item_encoder),
            fingerprints: self.fingerprints.clone(),
            user_codes: self.users.clone(),
            item_codes: self.items.packed().to_vec(),
            real_users,
            real_items,
        };
        Ok(vec![encode(CCSR_BLOB, &blob)?])
    }

    fn memory_bytes(&self) -> usize {
        let encoders = self.user_encoder.heap_bytes() + self.item_encoder.heap_bytes();
        let codes = self.users.heap_bytes() + self.items.heap_bytes() + self.fingerprints.heap_bytes();
        let indexes = self.index.heap_bytes() + self.user_index.heap_bytes();
        encoders + codes + self.real.heap_bytes() + indexes
    }
}

/// The mean over bits of `|E[b]|`, the imbalance of each bit (0: every bit split 50/50; 1: every bit
/// constant) over the packed `codes` of `bits` bits.
pub fn bit_imbalance(codes: &[u64], bits: usize) -> f64 {
    let words = words_for(bits);
    let n = codes.len() / words.max(1);
    if n == 0 || bits == 0 {
        return 0.0;
    }
    let mut ones = vec![0usize; bits];
    for code in codes.chunks_exact(words) {
        for (t, o) in ones.iter_mut().enumerate() {
            *o += (code[t / 64] >> (t % 64) & 1) as usize;
        }
    }
    ones.iter().map(|&k| (2.0 * k as f64 / n as f64 - 1.0).abs()).sum::<f64>() / bits as f64
}
