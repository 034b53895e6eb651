//! WHERE filters as roaring set algebra over item (or, for SIMILAR USER, user) ids, computed before any
//! score is looked at.

use recodb_query::Filter;
use recodb_storage::{RoaringBitmap, Side};

use super::bind::Binder;
use crate::error::{Error, Result};
use crate::Database;

/// The entities of `side` a filter allows. `TAG = 'x'` is the tag's bitmap on that side (empty for an
/// unknown tag), `ITEM IN` the listed items that exist (items only), `NOT` the complement within all
/// ids of the side, `AND`/`OR` intersection and union.
pub fn allowed(db: &Database, side: Side, filter: &Filter, b: &Binder<'_>) -> Result<RoaringBitmap> {
    let store = db.store();
    Ok(match filter {
        Filter::TagEq { tag, .. } => store.tag_members(side, &b.text(tag, "a tag")?)?.unwrap_or_default(),
        Filter::TagIn { tags, .. } => {
            let mut out = RoaringBitmap::new();
            for tag in tags {
                out |= store.tag_members(side, &b.text(tag, "a tag")?)?.unwrap_or_default();
            }
            out
        }
        Filter::ItemIn { .. } if side == Side::User => {
            return Err(Error::Invalid("ITEM IN filters items; similar users are filtered by TAG".into()))
        }
        Filter::ItemIn { items, .. } => {
            let mut out = RoaringBitmap::new();
            for item in items {
                if let Some(id) = store.id_of(Side::Item, &b.key(item)?)? {
                    out.insert(id);
                }
            }
            out
        }
        Filter::Not { operand, .. } => {
            let mut all = RoaringBitmap::new();
            all.insert_range(0..store.id_bound(side)?);
            all - allowed(db, side, operand, b)?
        }
        Filter::And { operands, .. } => {
            let mut sets = operands.iter().map(|f| allowed(db, side, f, b));
            let mut out = sets.next().transpose()?.unwrap_or_default();
            for set in sets {
                out &= set?;
            }
            out
        }
        Filter::Or { operands, .. } => {
            let mut out = RoaringBitmap::new();
            for f in operands {
                out |= allowed(db, side, f, b)?;
            }
            out
        }
    })
}
