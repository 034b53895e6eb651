//! SIMILAR for models that score every item: the model's similarity of every item to the given one,
//! the item itself and filtered-out items dropped, the top kept.

use recodb_query::{Side as QuerySide, Similar};
use recodb_storage::Side;

use super::bind::Binder;
use super::filter::allowed;
use super::recommend::{ranked, top};
use crate::error::{Error, Result};
use crate::result::ResultSet;
use crate::Database;

/// `SIMILAR ITEM key TOP n [USING m] [WHERE f]`: rows of rank, item and score, most similar first;
/// equal scores in ascending item id order. `SIMILAR USER` needs user representations, which no model
/// that scores by a full pass has.
pub fn similar(db: &Database, q: &Similar, b: &Binder<'_>) -> Result<ResultSet> {
    let top = top(b, &q.top)?;
    let store = db.store();
    let loaded = db.catalog().resolve(store, q.using.as_ref().map(|u| u.value.as_str()))?;
    if q.side == QuerySide::User {
        return Err(Error::Invalid(format!(
            "SIMILAR USER needs a model with user representations; '{}' ({}) has none",
            loaded.record.name, loaded.record.algorithm
        )));
    }
    let key = b.key(&q.key)?;
    let item =
        store.id_of(Side::Item, &key)?.ok_or_else(|| Error::Invalid(format!("no item with key {key}")))?;
    let filter = q.filter.as_ref().map(|f| allowed(db, f, b)).transpose()?;
    let mut scores = vec![0.0f32; loaded.model.n_items() as usize];
    loaded.model.similar_items(item, &mut scores)?;
    ranked(db, &scores, top, |i| i != item && filter.as_ref().is_none_or(|f| f.contains(i)))
}
