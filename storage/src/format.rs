//! The on-disk format: tree names, meta keys, the format version, the small value encodings, and which tree
//! and key hold each record of a side.
//! `storage/FORMAT.md` is the prose version of this file; keep the two in step.

use crate::error::{corrupt, Result};
use crate::Side;

/// The format version this build reads and writes. Bump it on any incompatible change. Version 1 (blobs
/// chunked inside sled) is migrated on open (`migrate`).
pub const FORMAT_VERSION: u32 = 2;

/// The value of the `magic` meta key: marks a sled database as a recodb database.
pub const MAGIC: &[u8] = b"recodb";

/// Names of the sled trees, one per kind of record.
pub mod tree {
    /// Format marker, counters, settings.
    pub const META: &str = "meta";
    /// User key → user id.
    pub const USER_KEYS: &str = "user_keys";
    /// Block of user ids → their keys (see `idblock`).
    pub const USER_IDS: &str = "user_ids";
    /// Item key → item id.
    pub const ITEM_KEYS: &str = "item_keys";
    /// Block of item ids → their keys (see `idblock`).
    pub const ITEM_IDS: &str = "item_ids";
    /// User id → bitmap of the user's items, then their weights and timestamps when any was given.
    pub const USER_ITEMS: &str = "user_items";
    /// Item id → bitmap of the item's users.
    pub const ITEM_USERS: &str = "item_users";
    /// User id → bitmap of the user's held-out items.
    pub const HOLDOUT: &str = "holdout";
    /// Side byte + tag name → tag id.
    pub const TAG_NAMES: &str = "tag_names";
    /// Side byte + tag id → tag name.
    pub const TAG_IDS: &str = "tag_ids";
    /// Side byte + tag id → bitmap of the entities carrying the tag.
    pub const TAG_MEMBERS: &str = "tag_members";
    /// Side byte + entity id → bitmap of the entity's tag ids.
    pub const ENTITY_TAGS: &str = "entity_tags";
    /// Format 1 only (empty since): blob name → manifest (length, chunk count, checksum).
    pub const BLOB_META: &str = "blob_meta";
    /// Format 1 only (empty since): blob name + 0 + chunk index → chunk bytes.
    pub const BLOB_CHUNKS: &str = "blob_chunks";
    /// Blob name → its file number, length and checksum (see `blob`).
    pub const BLOB_FILES: &str = "blob_files";
    /// Record namespace + 0 + name → record bytes (model records, job records).
    pub const RECORDS: &str = "records";
    /// Side byte + entity id → the entity's display label (UTF-8 text, e.g. a title).
    pub const LABELS: &str = "labels";

    /// Every tree, in the order the engine opens them.
    pub const ALL: [&str; 17] = [
        META,
        USER_KEYS,
        USER_IDS,
        ITEM_KEYS,
        ITEM_IDS,
        USER_ITEMS,
        ITEM_USERS,
        HOLDOUT,
        TAG_NAMES,
        TAG_IDS,
        TAG_MEMBERS,
        ENTITY_TAGS,
        BLOB_META,
        BLOB_CHUNKS,
        RECORDS,
        LABELS,
        BLOB_FILES,
    ];
}

/// Keys of the meta tree.
pub mod meta {
    /// [`super::MAGIC`].
    pub const MAGIC: &[u8] = b"magic";
    /// The format version, `u32` big-endian.
    pub const FORMAT_VERSION: &[u8] = b"format_version";
    /// The next user id to hand out, `u32` big-endian.
    pub const NEXT_USER_ID: &[u8] = b"next_id/user";
    /// The next item id to hand out, `u32` big-endian.
    pub const NEXT_ITEM_ID: &[u8] = b"next_id/item";
    /// The next tag id to hand out on the user side, `u32` big-endian.
    pub const NEXT_USER_TAG_ID: &[u8] = b"next_id/user_tag";
    /// The next tag id to hand out on the item side, `u32` big-endian.
    pub const NEXT_ITEM_TAG_ID: &[u8] = b"next_id/item_tag";
    /// Number of users, `u64` big-endian.
    pub const USERS: &[u8] = b"count/users";
    /// Number of items, `u64` big-endian.
    pub const ITEMS: &[u8] = b"count/items";
    /// Number of stored interactions (held out or not), `u64` big-endian.
    pub const INTERACTIONS: &[u8] = b"count/interactions";
    /// Number of held-out interactions, `u64` big-endian.
    pub const HOLDOUT: &[u8] = b"count/holdout";
    /// Incremented by every write that changes users, items, interactions, tags or the holdout.
    pub const DATA_VERSION: &[u8] = b"data_version";
    /// Prefix of persisted settings: `setting/<name>` → UTF-8 value.
    pub const SETTING_PREFIX: &[u8] = b"setting/";
    /// The journal of a large write whose chunks are not all applied yet (see `journal`): its blob
    /// file's number, length and CRC-32. Present only between a large write's start and end, or after a
    /// crash in between until the next open.
    pub const PENDING_COMMIT: &[u8] = b"pending_commit";
}

/// Encodes a `u32` id as a big-endian tree key.
pub fn id_key(id: u32) -> [u8; 4] {
    id.to_be_bytes()
}

/// Decodes a big-endian `u32` (a tree key or a value).
pub fn decode_u32(bytes: &[u8], what: &str) -> Result<u32> {
    let arr: [u8; 4] = bytes.try_into().map_err(|_| corrupt(format!("{what}: expected 4 bytes")))?;
    Ok(u32::from_be_bytes(arr))
}

/// Decodes a big-endian `u64` value.
pub fn decode_u64(bytes: &[u8], what: &str) -> Result<u64> {
    let arr: [u8; 8] = bytes.try_into().map_err(|_| corrupt(format!("{what}: expected 8 bytes")))?;
    Ok(u64::from_be_bytes(arr))
}

/// Encodes a roaring bitmap in roaring's portable serialization.
pub fn encode_bitmap(bitmap: &roaring::RoaringBitmap) -> Vec<u8> {
    let mut out = Vec::with_capacity(bitmap.serialized_size());
    // Writing into a Vec cannot fail.
    bitmap.serialize_into(&mut out).expect("writing to a Vec does not fail");
    out
}

/// Decodes a roaring bitmap from its portable serialization.
pub fn decode_bitmap(bytes: &[u8], what: &str) -> Result<roaring::RoaringBitmap> {
    roaring::RoaringBitmap::deserialize_from(bytes).map_err(|e| corrupt(format!("{what}: bad bitmap: {e}")))
}

/// A key in a tree shared by both sides: the side byte then the big-endian id.
pub fn side_id_key(side: Side, id: u32) -> [u8; 5] {
    let b = id.to_be_bytes();
    [side.byte(), b[0], b[1], b[2], b[3]]
}

/// The tree mapping a side's keys to ids.
pub fn keys_tree(side: Side) -> &'static str {
    match side {
        Side::User => tree::USER_KEYS,
        Side::Item => tree::ITEM_KEYS,
    }
}

/// The tree mapping blocks of a side's ids to their keys.
pub fn ids_tree(side: Side) -> &'static str {
    match side {
        Side::User => tree::USER_IDS,
        Side::Item => tree::ITEM_IDS,
    }
}

/// The tree of a side's interactions: user rows or item users.
pub fn adjacency_tree(side: Side) -> &'static str {
    match side {
        Side::User => tree::USER_ITEMS,
        Side::Item => tree::ITEM_USERS,
    }
}

/// The meta key of a side's next id.
pub fn next_id_key(side: Side) -> &'static [u8] {
    match side {
        Side::User => meta::NEXT_USER_ID,
        Side::Item => meta::NEXT_ITEM_ID,
    }
}

/// The meta key of a side's next tag id.
pub fn next_tag_id_key(side: Side) -> &'static [u8] {
    match side {
        Side::User => meta::NEXT_USER_TAG_ID,
        Side::Item => meta::NEXT_ITEM_TAG_ID,
    }
}

/// The meta key of a side's entity count.
pub fn count_key(side: Side) -> &'static [u8] {
    match side {
        Side::User => meta::USERS,
        Side::Item => meta::ITEMS,
    }
}

/// The key of a tag name in [`tree::TAG_NAMES`]: the side byte then the name.
pub fn tag_name_key(side: Side, name: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + name.len());
    k.push(side.byte());
    k.extend_from_slice(name.as_bytes());
    k
}

/// The meta key of a persisted setting.
pub fn setting_key(name: &str) -> Vec<u8> {
    [meta::SETTING_PREFIX, name.as_bytes()].concat()
}

/// When a successful write reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Every write is flushed to disk before it returns (the default).
    Full,
    /// Writes are flushed every half second and on close: faster, but a crash may lose the last ones.
    Relaxed,
}

/// The setting name under which [`Durability`] is persisted (as `full` or `relaxed`).
pub const DURABILITY_SETTING: &str = "durability";

impl Durability {
    /// The mode a persisted value of the [`DURABILITY_SETTING`] names: `relaxed`, or else full.
    pub(crate) fn from_setting(value: &str) -> Durability {
        if value == "relaxed" {
            Durability::Relaxed
        } else {
            Durability::Full
        }
    }
}
