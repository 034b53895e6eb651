//! `pop`: recommends the items most users interacted with. The baseline every model must beat.

use recodb_storage::rkyv::{self, rancor, util::AlignedVec};
use recodb_storage::{read_archive, Snapshot};

use super::{Algorithm, Model, Parameter};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::value::Value;

/// The popularity algorithm.
pub struct Pop;

/// A popularity model: the number of training users of each item.
pub struct PopModel {
    counts: Vec<u32>,
}

const COUNTS_BLOB: &str = "counts";

impl Algorithm for Pop {
    fn name(&self) -> &'static str {
        "pop"
    }

    fn parameters(&self) -> &'static [Parameter] {
        &[]
    }

    fn train(
        &self,
        data: &Snapshot,
        _params: &[(String, Value)],
        progress: &dyn Progress,
    ) -> Result<Box<dyn Model>> {
        let mut counts = vec![0u32; data.n_items as usize];
        for &item in &data.indices {
            counts[item as usize] += 1;
        }
        if !progress.update("train pop", 1, 1) {
            return Err(Error::Cancelled("training"));
        }
        Ok(Box::new(PopModel { counts }))
    }

    fn load(&self, blob: &dyn Fn(&str) -> Result<AlignedVec>) -> Result<Box<dyn Model>> {
        let counts = read_archive::<Vec<u32>>(&blob(COUNTS_BLOB)?, COUNTS_BLOB)?;
        Ok(Box::new(PopModel { counts }))
    }
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

    fn blobs(&self) -> Result<Vec<(&'static str, AlignedVec)>> {
        let bytes = rkyv::to_bytes::<rancor::Error>(&self.counts)
            .map_err(|e| Error::Invalid(format!("cannot serialise the pop model: {e}")))?;
        Ok(vec![(COUNTS_BLOB, bytes)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        };
        let model = Pop.train(&data, &[], &NoProgress).expect("train");
        let mut scores = vec![0.0; 3];
        model.score(0, &[], &mut scores);
        assert_eq!(scores, vec![1.0, 0.0, 3.0]);
        let blobs = model.blobs().expect("blobs");
        let loaded =
            Pop.load(&|name| Ok(blobs.iter().find(|b| b.0 == name).expect("blob").1.clone())).expect("load");
        let mut again = vec![0.0; 3];
        loaded.score(1, &[2], &mut again);
        assert_eq!(again, scores);
    }
}
