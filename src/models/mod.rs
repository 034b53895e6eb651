//! Models: the [`Algorithm`] each training algorithm declares (name, parameters, train, load), the
//! [`Model`] trait of what training produces, the registry of algorithms, the blobs models are saved as,
//! and the catalog of trained models in the database.

pub mod als;
pub mod blobs;
pub mod bpr;
pub mod catalog;
pub mod ccsr;
pub mod cml;
pub mod corml;
pub mod dense;
pub mod dsiml;
pub mod ease;
pub mod factors;
pub mod folded;
pub mod hogwild;
pub(crate) mod migrate;
pub mod nn;
pub mod params;
pub mod pop;
pub mod tag_points;
pub mod topk;
pub mod twotower;

#[cfg(test)]
pub(crate) mod testing;

use recodb_storage::hamming::HammingIndex;
use recodb_storage::{Snapshot, TagSnapshot};

pub use blobs::{Blob, Blobs};
pub use params::{Param, Params};
pub use tag_points::TagPoints;

use crate::error::{Error, Object, Result};
use crate::progress::Progress;
use crate::value::Value;

/// A trained model: scores items for a user.
pub trait Model: Send + Sync {
    /// Number of items the model knows: item ids below it have scores.
    fn n_items(&self) -> u32;

    /// Writes a score for every item the model knows into `scores` (`n_items` long) for `user`, whose
    /// visible interactions are `seen` (sorted item ids). Higher is better.
    fn score(&self, user: u32, seen: &[u32], scores: &mut [f32]);

    /// Scores a batch of users at once: `scores` holds `users.len()` rows of `n_items` scores, one per
    /// `(user, seen)` pair. Models with vectors override this with a blocked matrix product; the default
    /// calls [`Model::score`] once per user.
    fn score_batch(&self, users: &[(u32, &[u32])], scores: &mut [f32]) {
        let n = self.n_items() as usize;
        for (&(user, seen), row) in users.iter().zip(scores.chunks_mut(n.max(1))) {
            self.score(user, seen, row);
        }
    }

    /// Scores only `items` for `user` (whose visible items are `seen`) into `out`, one score per item,
    /// with the model's finest scores: the second stage of a two-stage RECOMMEND (`RERANK m USING`). A
    /// model with binary codes scores with its kept real vectors (an error when it kept none). Items
    /// the model does not know score `-inf`. The default scores every item and picks.
    fn score_items(&self, user: u32, seen: &[u32], items: &[u32], out: &mut [f32]) -> Result<()> {
        let mut all = vec![0.0f32; self.n_items() as usize];
        self.score(user, seen, &mut all);
        for (o, &i) in out.iter_mut().zip(items) {
            *o = all.get(i as usize).copied().unwrap_or(f32::NEG_INFINITY);
        }
        Ok(())
    }

    /// The `wanted` best items for `user` (visible items `seen`) among those `keep` accepts, best first
    /// and equal scores in ascending id order, with the scores [`Model::score`] gives them: for a model
    /// with a faster way to them than scoring every item. `None` (the default) lets the caller score
    /// every item.
    fn best_items(
        &self,
        _user: u32,
        _seen: &[u32],
        _wanted: usize,
        _keep: &dyn Fn(u32) -> bool,
    ) -> Option<Vec<(u32, f32)>> {
        None
    }

    /// Whether [`Model::best_items`] is far cheaper than one row of scores (it walks a fixed order), so
    /// that EVALUATE asks it for each user instead of scoring batches. `false` by default.
    fn ranks_without_scoring(&self) -> bool {
        false
    }

    /// Whether `user`, whose visible items are `seen`, is scored from what training learned for it
    /// (`Some(true)`) or folded in at query time because it is new or its items changed
    /// (`Some(false)`); `None` (the default) for models that keep nothing per user.
    fn is_trained(&self, _user: u32, _seen: &[u32]) -> Option<bool> {
        None
    }

    /// Whether `user`, whose visible items are `seen`, can be scored at all: by default when it has
    /// visible items (RECOMMEND serves any other user the most popular items). A model that places
    /// users from their tags also scores a user with tags and no items.
    fn scores_user(&self, _user: u32, seen: &[u32]) -> bool {
        !seen.is_empty()
    }

    /// For a model that places users and items from their tags: how it extends itself to the users
    /// and items added since training, and where it places the tags themselves (RECOMMEND TAGS). `None`
    /// (the default) for a model that cannot; [`catalog::Loaded::serving`] keeps the extension for each
    /// data version.
    fn tag_placement(&self) -> Option<&dyn FromTags> {
        None
    }

    /// Properties of the model that DESCRIBE MODEL adds to its own, as `(name, value)` rows (e.g. how
    /// many entities a feature model serves from their tags alone). None by default.
    fn properties(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// For models with binary codes: their code spaces, which RECOMMEND, SIMILAR and EXPLAIN search
    /// through the Hamming engine (filters pushed down) instead of scoring every item; a score is then
    /// `bits − 2 · distance`. `None` (the default) for models that score by a full pass.
    fn binary(&self) -> Option<Box<dyn BinaryCodes + '_>> {
        None
    }

    /// Writes the similarity of every item to `item` into `scores` (`n_items` long; higher is more
    /// similar), or fails when the model has no notion of item similarity.
    fn similar_items(&self, item: u32, scores: &mut [f32]) -> Result<()>;

    /// Writes the similarity to `user` (whose visible items are `seen`) of every user the model was
    /// trained on into `scores` (one per trained user id; higher is more similar), for SIMILAR USER
    /// without binary codes; models without real user points fail (the default).
    fn similar_users(&self, _user: u32, _seen: &[u32], _scores: &mut Vec<f32>) -> Result<()> {
        Err(Error::unsupported("the model has no user points to compare"))
    }

    /// The model's data as named blobs (rkyv archives of named structs, see [`blobs`]), to be stored
    /// with its record.
    fn blobs(&self) -> Result<Vec<Blob>>;

    /// Heap bytes this loaded model holds: its vectors, matrices, codes and indexes, including those
    /// built lazily once built (a user index, folded-in late entities). An estimate that counts the
    /// large buffers (lengths × element sizes, see [`HeapBytes`]), not every small field; SHOW MODELS'
    /// `memory` and DESCRIBE MODEL's `bytes_in_memory`.
    fn memory_bytes(&self) -> usize;
}

/// The heap bytes of a model's large buffers, summed field by field for [`Model::memory_bytes`]: a
/// slice or `Vec` of plain values counts its length times the element size (its spare capacity not
/// counted), a Hamming index its code words and its tables, and a part of a model the buffers it owns.
pub trait HeapBytes {
    /// The bytes of the buffers `self` owns on the heap.
    fn heap_bytes(&self) -> usize;
}

impl<T: Copy> HeapBytes for [T] {
    fn heap_bytes(&self) -> usize {
        std::mem::size_of_val(self)
    }
}

impl<T: Copy> HeapBytes for Vec<T> {
    fn heap_bytes(&self) -> usize {
        self.as_slice().heap_bytes()
    }
}

impl<T: HeapBytes + ?Sized> HeapBytes for std::sync::Arc<T> {
    fn heap_bytes(&self) -> usize {
        (**self).heap_bytes()
    }
}

impl<T: HeapBytes> HeapBytes for Option<T> {
    fn heap_bytes(&self) -> usize {
        self.as_ref().map_or(0, T::heap_bytes)
    }
}

impl<T: HeapBytes> HeapBytes for std::sync::OnceLock<T> {
    fn heap_bytes(&self) -> usize {
        self.get().map_or(0, T::heap_bytes)
    }
}

impl HeapBytes for HammingIndex {
    fn heap_bytes(&self) -> usize {
        self.codes().as_words().heap_bytes() + self.index_bytes()
    }
}

impl HeapBytes for recodb_storage::TagRows {
    fn heap_bytes(&self) -> usize {
        self.indptr.heap_bytes() + self.indices.heap_bytes()
    }
}

/// The binary codes of a model, each side with an exact Hamming index.
pub trait BinaryCodes {
    /// The index over the item codes.
    fn item_index(&self) -> &HammingIndex;

    /// The index over the trained users' codes (built on first use).
    fn user_index(&self) -> Result<&HammingIndex>;

    /// The code of `user`, whose visible items are `seen`: its trained code when its items are those
    /// it was trained on, otherwise one folded in from the item codes.
    fn user_code(&self, user: u32, seen: &[u32]) -> Vec<u64>;

    /// A code for an item that arrived after training, folded in from the users who have it, `(user,
    /// that user's visible items)`, with every trained code fixed; `None` when none of them has a
    /// trained code.
    fn fold_in_item(&self, its_users: &[(u32, &[u32])]) -> Option<Vec<u64>>;

    /// For codes that approximate a model's finer scores (projection codes of real points): how many
    /// Hamming candidates a search for `wanted` results takes before they are re-ranked exactly (by
    /// [`Model::score_items`] for RECOMMEND, [`BinaryCodes::similarity`] for SIMILAR). `None` (the
    /// default) when the Hamming order is the model's own.
    fn candidates(&self, _wanted: usize) -> Option<usize> {
        None
    }

    /// The exact similarity to `query` of each of `ids` (of the query's side) into `out`, `-inf` for an
    /// id the model does not know: the second stage of a SIMILAR by codes that [`candidates`] re-ranks.
    /// The default, for codes whose Hamming order is final, is an error.
    ///
    /// [`candidates`]: BinaryCodes::candidates
    fn similarity(&self, _query: Similarity<'_>, _ids: &[u32], _out: &mut [f32]) -> Result<()> {
        Err(Error::unsupported("these codes have no finer similarity to re-rank with"))
    }
}

/// A model that places users and items from their tags (see [`Model::tag_placement`]).
pub trait FromTags: Send + Sync {
    /// The model extended to the users and items the store has now beyond those it knew at training,
    /// placed from their tag ids in `tags` (rows by id; the entities known at training keep their
    /// trained points).
    fn extended(&self, tags: &TagSnapshot) -> Box<dyn Model>;

    /// The point of every item tag the model was trained with (row `t` for the store's item tag id
    /// `t`): where an item carrying that tag alone would be placed. RECOMMEND TAGS ranks tags by their
    /// distance to a user's or an item's point ([`FromTags::point`]).
    fn tag_points(&self) -> TagPoints;

    /// The point `of` is served with: a user's from what the model learned for it or from its tags
    /// and visible items, as RECOMMEND places it; an item's. `None` for an item the model has no point
    /// for (one added after training without a tag the model knows).
    fn point(&self, of: Similarity<'_>) -> Option<Vec<f32>>;
}

/// What a SIMILAR asks the similarity to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Similarity<'a> {
    /// Item `id`.
    Item(u32),
    /// User `id`, whose visible items are the slice (sorted).
    User(u32, &'a [u32]),
}

/// How an algorithm trains: on a snapshot, with checked parameters, reporting progress.
pub type TrainFn = fn(&Snapshot, &Params, &dyn Progress) -> Result<Box<dyn Model>>;

/// A training algorithm, declared as data: its name, what it is, its parameters, how it trains and how
/// it reads a trained model back. Each algorithm's module declares one as a `const`.
pub struct Algorithm {
    /// The name `TRAIN` uses.
    pub name: &'static str,
    /// What it is, in one line (SHOW ALGORITHMS).
    pub about: &'static str,
    /// The parameters `WITH (...)` accepts.
    pub parameters: &'static [Param],
    /// Trains on the visible interactions of a snapshot with checked parameters; the progress may
    /// cancel (then [`ErrorKind::Cancelled`](crate::ErrorKind) is returned).
    pub train: TrainFn,
    /// Rebuilds a model from its blobs (read archives are validated).
    pub load: fn(&Blobs<'_>) -> Result<Box<dyn Model>>,
}

impl Algorithm {
    /// Checks `given` against the algorithm's parameters (see [`Params::check`]).
    pub fn check(&self, given: &[(String, Value)]) -> Result<Params> {
        Params::check(self.name, self.parameters, given)
    }
}

/// A 64-bit fingerprint of a sorted item list: a model stores its users' fingerprints at training
/// time to recognise, when scoring, a user whose items changed since (and fold that user in).
pub fn fingerprint(items: &[u32]) -> u64 {
    // FNV-1a over the ids' bytes, then the length: cheap, and any change of the list changes it with
    // overwhelming probability.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &i in items {
        for b in i.to_le_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h ^ items.len() as u64
}

/// Every algorithm this build can train.
pub static ALGORITHMS: &[&Algorithm] = &[
    &als::ALS,
    &bpr::BPR,
    &ccsr::CCSR,
    &cml::CML,
    &corml::CORML,
    &dsiml::DSIML,
    &ease::EASE,
    &pop::POP,
    &twotower::TWOTOWER,
];

/// The algorithm called `name` (any case), or a not-found error that suggests a close name and lists the
/// available ones.
pub fn algorithm(name: &str) -> Result<&'static Algorithm> {
    ALGORITHMS.iter().copied().find(|a| a.name.eq_ignore_ascii_case(name)).ok_or_else(|| {
        let names: Vec<&str> = ALGORITHMS.iter().map(|a| a.name).collect();
        Error::not_found(
            Object::Algorithm,
            name,
            format!("unknown algorithm '{name}'"),
            names.iter().copied(),
            &format!("available: {}", names.join(", ")),
        )
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, OnceLock};

    use super::HeapBytes;

    #[test]
    fn heap_bytes_count_lengths_times_element_sizes() {
        let mut codes: Vec<u64> = Vec::with_capacity(100);
        codes.extend([1, 2, 3]);
        assert_eq!(codes.heap_bytes(), 24, "the length, not the capacity");
        let pairs: Arc<[(u32, f32)]> = Arc::from(vec![(0, 1.0); 5]);
        assert_eq!(pairs.heap_bytes(), 40);
        assert_eq!(None::<Vec<f32>>.heap_bytes(), 0);
        let lazy: OnceLock<Vec<i8>> = OnceLock::new();
        assert_eq!(lazy.heap_bytes(), 0, "not built yet");
        lazy.set(vec![0; 7]).expect("set");
        assert_eq!(lazy.heap_bytes(), 7);
    }
}
