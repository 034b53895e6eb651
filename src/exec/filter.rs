//! WHERE filters as roaring set algebra over item (or, for SIMILAR USER, user) ids, computed before any
//! score is looked at.

use recodb_query::{Filter, Literal};
use recodb_storage::{RoaringBitmap, Side};

use super::context::Context;
use crate::error::{Error, Object, Result};

/// The entities of `side` a filter allows. `TAG = 'x'` is the tag's bitmap on that side, `ITEM IN` the
/// listed items that exist (items only), `NOT` the complement within all ids of the side, `AND`/`OR`
/// intersection and union. A tag no entity of the side carries is a not-found error at the tag (with a
/// suggestion when a known tag is close): tags are a vocabulary, and a misspelt one would silently
/// allow nothing. Unknown item keys in `ITEM IN` are data, not names, and allow nothing.
pub(super) fn allowed(ctx: &Context<'_>, side: Side, filter: &Filter) -> Result<RoaringBitmap> {
    let store = ctx.store();
    Ok(match filter {
        Filter::TagEq { tag, .. } => tag_members(ctx, side, tag)?,
        Filter::TagIn { tags, .. } => {
            let mut out = RoaringBitmap::new();
            for tag in tags {
                out |= tag_members(ctx, side, tag)?;
            }
            out
        }
        Filter::ItemIn { span, .. } if side == Side::User => {
            return Err(Error::unsupported("ITEM IN filters items; users are filtered by TAG").at(*span))
        }
        Filter::ItemIn { items, .. } => {
            let mut out = RoaringBitmap::new();
            for item in items {
                if let Some(id) = store.id_of(Side::Item, &ctx.bind.key(item)?)? {
                    out.insert(id);
                }
            }
            out
        }
        Filter::Not { operand, .. } => {
            let mut all = RoaringBitmap::new();
            all.insert_range(0..store.id_bound(side)?);
            all - allowed(ctx, side, operand)?
        }
        Filter::And { operands, .. } => {
            let mut sets = operands.iter().map(|f| allowed(ctx, side, f));
            let mut out = sets.next().transpose()?.unwrap_or_default();
            for set in sets {
                out &= set?;
            }
            out
        }
        Filter::Or { operands, .. } => {
            let mut out = RoaringBitmap::new();
            for f in operands {
                out |= allowed(ctx, side, f)?;
            }
            out
        }
    })
}

/// The entities of `side` that carry the tag `tag` binds to; a not-found error at the tag when none
/// of that side has ever carried it.
fn tag_members(ctx: &Context<'_>, side: Side, tag: &Literal) -> Result<RoaringBitmap> {
    let name = ctx.bind.text(tag, "a tag")?;
    if let Some(members) = ctx.store().tag_members(side, &name)? {
        return Ok(members);
    }
    let known: Vec<String> = ctx.store().tags(side)?.into_iter().map(|(t, _)| t).collect();
    Err(Error::not_found(
        Object::Tag,
        name.as_str(),
        format!("no {side} has the tag '{name}'"),
        known.iter().map(String::as_str),
        "SHOW TAGS lists them",
    )
    .at(tag.span))
}
