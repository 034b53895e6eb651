//! `pop`: recommends the items most users interacted with. The baseline every model must beat.

use recodb_storage::rkyv;
use recodb_storage::Snapshot;

use super::blobs::{encode, Blob, Blobs};
use super::{Algorithm, Model, Params};
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
    Ok(Box::new(PopModel { counts }))
}

fn from_blobs(blobs: &Blobs<'_>) -> Result<Box<dyn Model>> {
    let PopBlob { counts } = blobs.get(POP_BLOB)?;
    Ok(Box::new(PopModel { counts }))
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
    fn similar_items(&self, _item: u32, scores: &mut [f32]) -> Result<()> {
        self.score(0, &[], scores);
        Ok(())
    }

    fn blobs(&self) -> Result<Vec<Blob>> {
        Ok(vec![encode(POP_BLOB, &PopBlob { counts: self.counts.clone() })?])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::blobs::in_memory;
    use crate::progress::NoProgress;

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
