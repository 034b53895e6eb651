//! `pop`: recommends the items most users interacted with. The baseline every model must beat.

use recodb_storage::rkyv;
use recodb_storage::Snapshot;

use super::blobs::{encode, Blob, Blobs};
use super::topk::rank_order;
use super::{Algorithm, HeapBytes, Model, Params};
use crate::error::{Error, Result};
use crate::progress::Progress;

/// The popularity algorithm.
pub const POP: Algorithm = Algorithm {
    name: "pop",
    about: "the most popular items (most training users) first: the baseline every model must beat",
    parameters: &[],
    train,
    load: from_blobs,
};

/// A popularity model: the number of training users of each item.
pub struct PopModel {
    counts: Vec<u32>,
    /// Item ids best first: by count as a score (`f32`) descending, equal scores in ascending id order.
    order: Vec<u32>,
}

impl PopModel {
    /// The model over `counts`, with its ranking.
    fn new(counts: Vec<u32>) -> PopModel {
        let mut order: Vec<u32> = (0..counts.len() as u32).collect();
        order.sort_by(|&a, &b| rank_order(&(a, counts[a as usize] as f32), &(b, counts[b as usize] as f32)));
        PopModel { counts, order }
    }
}

/// The blob of a popularity model.
#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[rkyv(crate = recodb_storage::rkyv)]
pub struct PopBlob {
    /// Training users of each item, by item id.
    pub counts: Vec<u32>,
}

/// The name of [`PopBlob`].
pub const POP_BLOB: &str = "pop";

fn train(data: &Snapshot, _params: &Params, progress: &dyn Progress) -> Result<Box<dyn Model>> {
    let mut counts = vec![0u32; data.n_items as usize];
    for &item in &data.indices {
        counts[item as usize] += 1;
    }
    if !progress.update("train pop", 1, 1) {
        return Err(Error::cancelled("training"));
    }
    Ok(Box::new(PopModel::new(counts)))
}

fn from_blobs(blobs: &Blobs<'_>) -> Result<Box<dyn Model>> {
    let PopBlob { counts } = blobs.get(POP_BLOB)?;
    Ok(Box::new(PopModel::new(counts)))
}

impl Model for PopModel {
    fn n_items(&self) -> u32 {
        self.counts.len() as u32
    }

    fn score(&self, _user: u32, _seen: &[u32], scores: &mut [f32]) {
        for (s, &c) in scores.iter_mut().zip(&self.counts) {
            *s = c as f32;
        }
    }

    /// Popularity knows no item similarity: every item's "similar items" are the most popular ones.
    /// The first `wanted` items of the ranking that `keep` accepts.
    fn best_items(
        &self,
        _user: u32,
        _seen: &[u32],
        wanted: usize,
        keep: &dyn Fn(u32) -> bool,
    ) -> Option<Vec<(u32, f32)>> {
        let kept = self.order.iter().filter(|&&i| keep(i)).take(wanted);
        Some(kept.map(|&i| (i, self.counts[i as usize] as f32)).collect())
    }

    fn ranks_without_scoring(&self) -> bool {
        true
    }

    fn similar_items(&self, _item: u32, scores: &mut [f32]) -> Result<()> {
        self.score(0, &[], scores);
        Ok(())
    }

    fn blobs(&self) -> Result<Vec<Blob>> {
        Ok(vec![encode(POP_BLOB, &PopBlob { counts: self.counts.clone() })?])
    }

    fn memory_bytes(&self) -> usize {
        self.counts.heap_bytes() + self.order.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::blobs::in_memory;
    use crate::models::topk::top_k;
    use crate::progress::NoProgress;

    #[test]
    fn its_top_items_are_the_full_passes_with_ties_in_id_order() {
        let counts: Vec<u32> = (0..200u32).map(|i| (i * 37) % 11).collect();
        let model = PopModel::new(counts);
        let mut scores = vec![0f32; 200];
        model.score(0, &[], &mut scores);
        let odd = |i: u32| i % 2 == 1;
        let filters: [&dyn Fn(u32) -> bool; 2] = [&|_| true, &odd];
        for keep in filters {
            for wanted in [0, 1, 5, 18, 100, 250] {
                let best = model.best_items(0, &[], wanted, keep).expect("pop ranks directly");
                assert_eq!(best, top_k(&scores, wanted, keep), "top {wanted}");
            }
        }
        let best = model.best_items(0, &[], 3, &|_| true).expect("ranked");
        assert_eq!(best, vec![(8, 10.0), (19, 10.0), (30, 10.0)], "ties go to the lower id");
    }

    #[test]
    fn counts_training_users_per_item_and_round_trips() {
        let data = Snapshot {
            n_users: 3,
            n_items: 3,
            indptr: vec![0, 2, 3, 4],
            indices: vec![0, 2, 2, 2],
            weights: None,
            data_version: 1,
            user_tags: Default::default(),
            item_tags: Default::default(),
        };
        let model = (POP.train)(&data, &POP.check(&[]).expect("params"), &NoProgress).expect("train");
        let mut scores = vec![0.0; 3];
        model.score(0, &[], &mut scores);
        assert_eq!(scores, vec![1.0, 0.0, 3.0]);
        let blobs = model.blobs().expect("blobs");
        let loaded = (POP.load)(&Blobs::new(&in_memory(&blobs))).expect("load");
        let mut again = vec![0.0; 3];
        loaded.score(1, &[2], &mut again);
        assert_eq!(again, scores);
    }
}
