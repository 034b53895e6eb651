//! Recommendations for many users in one call (`Database::recommend_many`): what `RECOMMEND user k TOP n
//! USING m [WHERE f] [INCLUDE SEEN]` returns for each user, with the model resolved, the filter computed
//! and the item keys read once, and the users served in parallel.

use rayon::prelude::*;
use recodb_query::Filter;
use recodb_storage::hamming::Allowed;
use recodb_storage::{Key, RoaringBitmap, Side};

use super::bind::Binder;
use super::context::{Context, Parts};
use super::filter::allowed;
use crate::error::{Error, Result};
use crate::limits::MAX_TOP;
use crate::progress::NoProgress;
use crate::serve::retrieve;

/// The top lists of many users: row `u` holds user `u`'s items, best first, then padding.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendations {
    /// Items per row.
    pub top: usize,
    /// `users × top` items, row-major; `None` past the end of a user's list (a user the database does
    /// not know has an empty list).
    pub items: Vec<Option<Key>>,
    /// The score of each item, `NaN` where there is no item.
    pub scores: Vec<f64>,
}

impl Recommendations {
    /// The list of user `u` (in the order the users were given): `(item, score)` pairs, best first.
    pub fn row(&self, u: usize) -> impl Iterator<Item = (&Key, f64)> + '_ {
        let range = u * self.top..(u + 1) * self.top;
        let items = self.items.get(range.clone()).unwrap_or_default();
        let scores = self.scores.get(range).unwrap_or_default();
        items.iter().zip(scores).filter_map(|(item, &score)| item.as_ref().map(|k| (k, score)))
    }
}

/// The `top` best items of `model` for each of `users`, as RECOMMEND would return them one by one: the
/// user's items left out unless `include_seen`, only items `filter` allows, deleted items skipped, equal
/// scores in ascending item id order.
pub(crate) fn recommend_many(
    parts: &Parts,
    model: &str,
    users: &[Key],
    top: usize,
    filter: Option<&Filter>,
    include_seen: bool,
) -> Result<Recommendations> {
    if top as u64 > MAX_TOP {
        return Err(Error::invalid("top", format!("an integer from 0 to {MAX_TOP}"), top.to_string()));
    }
    let ctx = Context::new(parts, Binder::new(&[]), &NoProgress);
    let store = ctx.store();
    let loaded = ctx.catalog().get(store, model)?;
    let folded = loaded.folded_items(store)?;
    let mut item_keys: Vec<Option<Key>> = vec![None; store.id_bound(Side::Item)? as usize];
    let mut live = RoaringBitmap::new();
    for (id, key) in store.entities(Side::Item, 0, usize::MAX)? {
        if let Some(slot) = item_keys.get_mut(id as usize) {
            *slot = Some(key);
            live.insert(id);
        }
    }
    // Deleted items have no key: leave them out as a filter would.
    let allowed = match filter.map(|f| allowed(&ctx, Side::Item, f)).transpose()? {
        Some(set) => Some(set & &live),
        None if live.len() < item_keys.len() as u64 => Some(live),
        None => None,
    };
    let allowed = allowed.map(Allowed::new);
    let serving = loaded.serving(store)?;
    let model = serving.as_ref();
    let rows = users
        .par_iter()
        .map(|key| {
            let mut row = vec![(None, f64::NAN); top];
            let Some(user) = store.id_of(Side::User, key)? else { return Ok(row) };
            let (all, visible) = store.user_items(user)?;
            let seen: Vec<u32> = visible.iter().collect();
            let excluded = if include_seen { RoaringBitmap::new() } else { all };
            let best = retrieve(model, folded.as_deref(), user, &seen, top, allowed.as_ref(), &excluded)?;
            for (slot, (item, score)) in row.iter_mut().zip(best.items) {
                if let Some(key) = item_keys.get(item as usize).cloned().flatten() {
                    *slot = (Some(key), score);
                }
            }
            Ok(row)
        })
        .collect::<Result<Vec<_>>>()?;
    let (items, scores) = rows.into_iter().flatten().unzip();
    Ok(Recommendations { top, items, scores })
}
