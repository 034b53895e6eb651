//! Items that arrived after a model with binary codes was trained, served without retraining: each item
//! with visible interactions gets a code folded in from the users who have it, and the codes are held in
//! a small Hamming index beside the model's own. It is rebuilt when the data has changed since.

use parking_lot::Mutex;
use std::sync::Arc;

use recodb_storage::hamming::{CodeStore, HammingIndex, IndexOptions};
use recodb_storage::{Side, Store};

use super::BinaryCodes;
use crate::error::Result;

/// The folded-in items of one model for one version of the data.
pub struct FoldedItems {
    data_version: u64,
    index: HammingIndex,
}

impl FoldedItems {
    /// Folds in every item from `n_items` (the first id the model does not know) up to the store's id
    /// bound that has visible interactions from users with trained codes.
    fn build(store: &Store, codes: &dyn BinaryCodes, n_items: u32, bits: u32) -> Result<FoldedItems> {
        let data_version = store.data_version()?;
        let mut folded = CodeStore::new(bits)?;
        for item in n_items..store.id_bound(Side::Item)? {
            let Some(users) = store.neighbours(Side::Item, item)? else { continue };
            let mut rows = Vec::new();
            for user in &users {
                let (_, visible) = store.user_items(user)?;
                if visible.contains(item) {
                    rows.push((user, visible.iter().collect::<Vec<u32>>()));
                }
            }
            let rows: Vec<(u32, &[u32])> = rows.iter().map(|(u, r)| (*u, r.as_slice())).collect();
            if let Some(code) = codes.fold_in_item(&rows) {
                folded.set(item, &code)?;
            }
        }
        let index = HammingIndex::build(folded, &IndexOptions::default());
        Ok(FoldedItems { data_version, index })
    }

    /// The index over the folded-in codes (ids are the items' own).
    pub fn index(&self) -> &HammingIndex {
        &self.index
    }

    /// How many items are folded in.
    pub fn len(&self) -> u32 {
        self.index.codes().len()
    }

    /// Whether no item is folded in.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The folded-in items of a loaded model, kept until the data changes.
#[derive(Default)]
pub struct FoldedCache {
    current: Mutex<Option<Arc<FoldedItems>>>,
}

impl FoldedCache {
    /// The folded-in items for the store's current data, rebuilt if it changed since the last call;
    /// `codes` are the model's binary codes, which know items below `n_items`.
    pub fn get(&self, store: &Store, codes: &dyn BinaryCodes, n_items: u32) -> Result<Arc<FoldedItems>> {
        let mut current = self.current.lock();
        let version = store.data_version()?;
        if let Some(folded) = current.as_ref().filter(|f| f.data_version == version) {
            return Ok(folded.clone());
        }
        let bits = codes.item_index().codes().bits();
        let folded = Arc::new(FoldedItems::build(store, codes, n_items, bits)?);
        *current = Some(folded.clone());
        Ok(folded)
    }
}
