//! Reads of single committed records, decoded: which tree and key hold a record (from `format`), the
//! engine look-up, and the value's decoding with a `corrupt` error naming what was bad.
//!
//! Shared by the store's reads, write transactions (for whatever they have not changed themselves),
//! snapshots and the integrity check, so that each record is read one way. Nothing here writes.

use roaring::RoaringBitmap;

use crate::engine::Engine;
use crate::error::{corrupt, Result};
use crate::format::{self, ids_tree, keys_tree, next_id_key, setting_key, tag_name_key, tree};
use crate::idblock;
use crate::row::Row;
use crate::{Key, Side};

/// A `u64` counter of the meta tree (0 when absent).
pub(crate) fn read_meta_u64(engine: &Engine, key: &[u8]) -> Result<u64> {
    engine.get(tree::META, key)?.map_or(Ok(0), |v| format::decode_u64(&v, "meta counter"))
}

/// A `u32` counter of the meta tree (0 when absent).
pub(crate) fn read_meta_u32(engine: &Engine, key: &[u8]) -> Result<u32> {
    engine.get(tree::META, key)?.map_or(Ok(0), |v| format::decode_u32(&v, "meta counter"))
}

/// One past the largest id ever handed out on a side.
pub(crate) fn read_next_id(engine: &Engine, side: Side) -> Result<u32> {
    read_meta_u32(engine, next_id_key(side))
}

/// The id of a key.
pub(crate) fn read_id(engine: &Engine, side: Side, key: &Key) -> Result<Option<u32>> {
    engine.get(keys_tree(side), &key.encode())?.map(|v| format::decode_u32(&v, "entity id")).transpose()
}

/// The key of an id; `None` if no entity has it.
pub(crate) fn read_key(engine: &Engine, side: Side, id: u32) -> Result<Option<Key>> {
    let (block, slot) = idblock::locate(id);
    let Some(value) = engine.get(ids_tree(side), &block)? else {
        return Ok(None);
    };
    idblock::slot(&value, slot)?
        .map(|k| Key::decode(k).ok_or_else(|| corrupt(format!("{side} {id}: bad key"))))
        .transpose()
}

/// The bitmap under id `id` of a tree keyed by id.
pub(crate) fn read_bitmap(engine: &Engine, tree: &str, id: u32) -> Result<Option<RoaringBitmap>> {
    engine.get(tree, &format::id_key(id))?.map(|v| format::decode_bitmap(&v, tree)).transpose()
}

/// The bitmap under `(side, id)` of a tree shared by both sides.
pub(crate) fn read_side_bitmap(
    engine: &Engine,
    tree: &str,
    side: Side,
    id: u32,
) -> Result<Option<RoaringBitmap>> {
    engine.get(tree, &format::side_id_key(side, id))?.map(|v| format::decode_bitmap(&v, tree)).transpose()
}

/// An entity's display label, if it has one.
pub(crate) fn read_label(engine: &Engine, side: Side, id: u32) -> Result<Option<String>> {
    engine
        .get(tree::LABELS, &format::side_id_key(side, id))?
        .map(|v| {
            String::from_utf8(v.to_vec()).map_err(|_| corrupt(format!("{side} {id}: label is not UTF-8")))
        })
        .transpose()
}

/// A user's row: items, weights and timestamps.
pub(crate) fn read_row(engine: &Engine, user: u32) -> Result<Option<Row>> {
    engine
        .get(tree::USER_ITEMS, &format::id_key(user))?
        .map(|v| Row::decode_value(&v, "user row"))
        .transpose()
}

/// The id of a side's tag name.
pub(crate) fn read_tag_id(engine: &Engine, side: Side, name: &str) -> Result<Option<u32>> {
    engine
        .get(tree::TAG_NAMES, &tag_name_key(side, name))?
        .map(|v| format::decode_u32(&v, "tag id"))
        .transpose()
}

/// The name of a side's tag id (an error if it has none).
pub(crate) fn read_tag_name(engine: &Engine, side: Side, id: u32) -> Result<String> {
    let v = engine
        .get(tree::TAG_IDS, &format::side_id_key(side, id))?
        .ok_or_else(|| corrupt(format!("{side} tag {id} has no name")))?;
    String::from_utf8(v.to_vec()).map_err(|_| corrupt("tag name is not UTF-8"))
}

/// A persisted setting.
pub(crate) fn read_setting(engine: &Engine, name: &str) -> Result<Option<String>> {
    engine
        .get(tree::META, &setting_key(name))?
        .map(|v| String::from_utf8(v.to_vec()).map_err(|_| corrupt(format!("setting {name} is not UTF-8"))))
        .transpose()
}
