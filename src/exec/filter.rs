//! WHERE filters as roaring set algebra over item ids, computed before any score is looked at.

use recodb_query::Filter;
use recodb_storage::{RoaringBitmap, Side};

use super::bind::Binder;
use crate::error::Result;
use crate::Database;

/// The items a filter allows. `TAG = 'x'` is the tag's bitmap (empty for an unknown tag), `ITEM IN`
/// the listed items that exist, `NOT` the complement within all item ids, `AND`/`OR` intersection and
/// union.
pub fn allowed(db: &Database, filter: &Filter, b: &Binder<'_>) -> Result<RoaringBitmap> {
    let store = db.store();
    Ok(match filter {
        Filter::TagEq { tag, .. } => {
            store.tag_members(Side::Item, &b.text(tag, "a tag")?)?.unwrap_or_default()
        }
        Filter::TagIn { tags, .. } => {
            let mut out = RoaringBitmap::new();
            for tag in tags {
                out |= store.tag_members(Side::Item, &b.text(tag, "a tag")?)?.unwrap_or_default();
            }
            out
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
            all.insert_range(0..store.id_bound(Side::Item)?);
            all - allowed(db, operand, b)?
        }
        Filter::And { operands, .. } => {
            let mut sets = operands.iter().map(|f| allowed(db, f, b));
            let mut out = sets.next().transpose()?.unwrap_or_default();
            for set in sets {
                out &= set?;
            }
            out
        }
        Filter::Or { operands, .. } => {
            let mut out = RoaringBitmap::new();
            for f in operands {
                out |= allowed(db, f, b)?;
            }
            out
        }
    })
}
