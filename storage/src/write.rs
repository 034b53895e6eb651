//! `WriteTxn`: the changes of one write statement, gathered in memory over the committed state and
//! turned into one atomic commit. Reads through a `WriteTxn` see its own changes.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use roaring::RoaringBitmap;

use crate::blob::BlobChanges;
use crate::engine::{Engine, Write};
use crate::error::{corrupt, Result, StorageError};
use crate::files::BlobFiles;
use crate::format::{
    self, adjacency_tree, count_key, ids_tree, keys_tree, meta, next_id_key, next_tag_id_key, setting_key,
    tag_name_key, tree, Durability, DURABILITY_SETTING,
};
use crate::idblock;
use crate::limits;
use crate::read::{
    read_bitmap, read_id, read_key, read_label, read_meta_u32, read_meta_u64, read_row, read_side_bitmap,
    read_tag_id,
};
use crate::row::{PairAttrs, Row};
use crate::{Key, Side};

/// Per-side changes to the key dictionary and counters.
#[derive(Default)]
struct SideChanges {
    /// Key → new id (`Some`) or deleted (`None`).
    keys: HashMap<Key, Option<u32>>,
    /// Id → new key (`Some`) or deleted (`None`).
    ids: HashMap<u32, Option<Key>>,
    next_id: u32,
    count: i64,
    /// Tag name → tag id, for tags created by this write.
    new_tags: HashMap<String, u32>,
    next_tag_id: u32,
    /// Tag id → members after this write.
    tag_members: HashMap<u32, RoaringBitmap>,
    /// Entity id → tag ids after this write.
    entity_tags: HashMap<u32, RoaringBitmap>,
    /// Entity id → label after this write (`None`: removed).
    labels: HashMap<u32, Option<String>>,
}

/// The pending changes of one atomic write. Obtained from [`crate::Store::write`].
pub struct WriteTxn<'s> {
    engine: &'s Engine,
    sides: [SideChanges; 2],
    /// User id → row after this write (an empty row is removed on commit).
    user_rows: HashMap<u32, Row>,
    /// Item id → users after this write (once `pending_item_users` is applied).
    item_rows: HashMap<u32, RoaringBitmap>,
    /// `(item, user)` pairs added to user rows but not yet to `item_rows`: applied in bulk, grouped by
    /// item, before any read of an item row and at the end of the write.
    pending_item_users: Vec<(u32, u32)>,
    /// User id → held-out items after this write.
    holdout: HashMap<u32, RoaringBitmap>,
    interactions: i64,
    holdout_count: i64,
    data_changed: bool,
    settings: Vec<(String, String)>,
    raw: Vec<Write>,
    blobs: BlobChanges<'s>,
}

/// What a write commits: the tree writes, the durability mode it sets (if any), and its blob changes.
pub(crate) struct Prepared<'s> {
    pub(crate) writes: Vec<Write>,
    pub(crate) durability: Option<Durability>,
    pub(crate) blobs: BlobChanges<'s>,
}

impl<'s> WriteTxn<'s> {
    pub(crate) fn new(engine: &'s Engine, files: &'s BlobFiles) -> Result<Self> {
        let mut sides: [SideChanges; 2] = Default::default();
        for side in Side::BOTH {
            let s = &mut sides[side.index()];
            s.next_id = read_meta_u32(engine, next_id_key(side))?;
            s.next_tag_id = read_meta_u32(engine, next_tag_id_key(side))?;
        }
        Ok(WriteTxn {
            engine,
            sides,
            user_rows: HashMap::new(),
            item_rows: HashMap::new(),
            pending_item_users: Vec::new(),
            holdout: HashMap::new(),
            interactions: 0,
            holdout_count: 0,
            data_changed: false,
            settings: Vec::new(),
            raw: Vec::new(),
            blobs: BlobChanges::new(files),
        })
    }

    /// The engine and the blob changes of this write, for the blob layer.
    pub(crate) fn blob_changes(&mut self) -> (&'s Engine, &mut BlobChanges<'s>) {
        (self.engine, &mut self.blobs)
    }

    /// The id of a key, as of this write.
    pub fn id_of(&self, side: Side, key: &Key) -> Result<Option<u32>> {
        match self.sides[side.index()].keys.get(key) {
            Some(change) => Ok(*change),
            None => read_id(self.engine, side, key),
        }
    }

    /// The key of an id, as of this write.
    pub fn key_of(&self, side: Side, id: u32) -> Result<Option<Key>> {
        match self.sides[side.index()].ids.get(&id) {
            Some(change) => Ok(change.clone()),
            None => read_key(self.engine, side, id),
        }
    }

    /// The id of a key, creating the entity if it does not exist. Returns the id and whether it is new.
    pub fn ensure(&mut self, side: Side, key: &Key) -> Result<(u32, bool)> {
        if let Some(id) = self.id_of(side, key)? {
            return Ok((id, false));
        }
        limits::check_key(key)?;
        let s = &mut self.sides[side.index()];
        let id = s.next_id;
        s.next_id =
            id.checked_add(1).ok_or_else(|| StorageError::Limit(format!("more than 2^32 {side}s")))?;
        s.keys.insert(key.clone(), Some(id));
        s.ids.insert(id, Some(key.clone()));
        s.count += 1;
        self.data_changed = true;
        Ok((id, true))
    }

    fn row_mut(&mut self, user: u32) -> Result<&mut Row> {
        Ok(match self.user_rows.entry(user) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(v) => v.insert(read_row(self.engine, user)?.unwrap_or_default()),
        })
    }

    fn bitmap_mut<'a>(
        engine: &Engine,
        map: &'a mut HashMap<u32, RoaringBitmap>,
        tree: &str,
        id: u32,
    ) -> Result<&'a mut RoaringBitmap> {
        Ok(match map.entry(id) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(v) => v.insert(read_bitmap(engine, tree, id)?.unwrap_or_default()),
        })
    }

    /// A user's interactions as of this write.
    pub fn user_row(&mut self, user: u32) -> Result<Row> {
        Ok(self.row_mut(user)?.clone())
    }

    /// Adds interactions of one user. `entries` may be unsorted and hold duplicates: for a repeated item
    /// the last entry's weight and time win. For an item the user already has, a given weight or time
    /// replaces the stored one. Returns how many interactions are new.
    pub fn add_interactions(&mut self, user: u32, entries: &mut [(u32, PairAttrs)]) -> Result<u64> {
        // A stable sort keeps duplicates in input order, so keeping the last of each run keeps the latest.
        entries.sort_by_key(|e| e.0);
        let mut deduped: Vec<(u32, PairAttrs)> = Vec::with_capacity(entries.len());
        for &e in entries.iter() {
            match deduped.last_mut() {
                Some(last) if last.0 == e.0 => {
                    *last = (
                        e.0,
                        PairAttrs { weight: e.1.weight.or(last.1.weight), time: e.1.time.or(last.1.time) },
                    )
                }
                _ => deduped.push(e),
            }
        }
        let new_items = self.row_mut(user)?.merge_sorted(&deduped);
        let new = new_items.len() as u64;
        self.pending_item_users.extend(new_items.into_iter().map(|item| (item, user)));
        self.interactions += new as i64;
        self.data_changed = true;
        Ok(new)
    }

    /// The users of an item as of this write, for changing.
    fn item_row_mut(&mut self, item: u32) -> Result<&mut RoaringBitmap> {
        self.apply_pending_item_users()?;
        Self::bitmap_mut(self.engine, &mut self.item_rows, tree::ITEM_USERS, item)
    }

    /// Adds the pending `(item, user)` pairs to the item rows, one bitmap union per item.
    fn apply_pending_item_users(&mut self) -> Result<()> {
        if self.pending_item_users.is_empty() {
            return Ok(());
        }
        let mut pending = std::mem::take(&mut self.pending_item_users);
        pending.sort_unstable();
        for run in pending.chunk_by(|a, b| a.0 == b.0) {
            let users = RoaringBitmap::from_sorted_iter(run.iter().map(|p| p.1)).expect("sorted and unique");
            *Self::bitmap_mut(self.engine, &mut self.item_rows, tree::ITEM_USERS, run[0].0)? |= users;
        }
        Ok(())
    }

    /// Removes one interaction (and its holdout mark); returns whether it existed.
    pub fn remove_interaction(&mut self, user: u32, item: u32) -> Result<bool> {
        if !self.row_mut(user)?.remove(item) {
            return Ok(false);
        }
        self.item_row_mut(item)?.remove(user);
        if Self::bitmap_mut(self.engine, &mut self.holdout, tree::HOLDOUT, user)?.remove(item) {
            self.holdout_count -= 1;
        }
        self.interactions -= 1;
        self.data_changed = true;
        Ok(true)
    }

    /// Deletes a user or item with its interactions and tags; returns whether it existed. Its id is
    /// never handed out again.
    pub fn delete(&mut self, side: Side, key: &Key) -> Result<bool> {
        let Some(id) = self.id_of(side, key)? else {
            return Ok(false);
        };
        let neighbours: Vec<u32> = match side {
            Side::User => self.row_mut(id)?.items.iter().collect(),
            Side::Item => {
                Self::bitmap_mut(self.engine, &mut self.item_rows, tree::ITEM_USERS, id)?.iter().collect()
            }
        };
        for other in neighbours {
            match side {
                Side::User => self.remove_interaction(id, other)?,
                Side::Item => self.remove_interaction(other, id)?,
            };
        }
        for tag in self.entity_tag_ids(side, id)?.iter() {
            self.tag_members_mut(side, tag)?.remove(id);
        }
        let s = &mut self.sides[side.index()];
        s.entity_tags.insert(id, RoaringBitmap::new());
        s.labels.insert(id, None);
        s.keys.insert(key.clone(), None);
        s.ids.insert(id, None);
        s.count -= 1;
        self.data_changed = true;
        Ok(true)
    }

    fn entity_tag_ids(&mut self, side: Side, id: u32) -> Result<RoaringBitmap> {
        let s = &mut self.sides[side.index()];
        if let Some(t) = s.entity_tags.get(&id) {
            return Ok(t.clone());
        }
        let tags = read_side_bitmap(self.engine, tree::ENTITY_TAGS, side, id)?.unwrap_or_default();
        s.entity_tags.insert(id, tags.clone());
        Ok(tags)
    }

    fn tag_members_mut(&mut self, side: Side, tag: u32) -> Result<&mut RoaringBitmap> {
        let s = &mut self.sides[side.index()];
        Ok(match s.tag_members.entry(tag) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(v) => {
                v.insert(read_side_bitmap(self.engine, tree::TAG_MEMBERS, side, tag)?.unwrap_or_default())
            }
        })
    }

    fn tag_id(&mut self, side: Side, name: &str) -> Result<u32> {
        if let Some(&id) = self.sides[side.index()].new_tags.get(name) {
            return Ok(id);
        }
        if let Some(id) = read_tag_id(self.engine, side, name)? {
            return Ok(id);
        }
        limits::check_tag(name)?;
        let s = &mut self.sides[side.index()];
        let id = s.next_tag_id;
        s.next_tag_id =
            id.checked_add(1).ok_or_else(|| StorageError::Limit(format!("more than 2^32 {side} tags")))?;
        s.new_tags.insert(name.to_string(), id);
        Ok(id)
    }

    /// Gives an existing entity a tag; returns whether the tag is new for it.
    pub fn add_tag(&mut self, side: Side, id: u32, tag: &str) -> Result<bool> {
        let tag_id = self.tag_id(side, tag)?;
        let mut tags = self.entity_tag_ids(side, id)?;
        if !tags.insert(tag_id) {
            return Ok(false);
        }
        limits::check_tag_count(tags.len() as usize)?;
        self.sides[side.index()].entity_tags.insert(id, tags);
        self.tag_members_mut(side, tag_id)?.insert(id);
        self.data_changed = true;
        Ok(true)
    }

    /// Gives an existing entity a display label (a title), replacing any it had; returns whether the
    /// label changed. Labels are for people: they never take part in training or filters.
    pub fn set_label(&mut self, side: Side, id: u32, label: &str) -> Result<bool> {
        let s = &self.sides[side.index()];
        let current = match s.labels.get(&id) {
            Some(label) => label.clone(),
            None => read_label(self.engine, side, id)?,
        };
        if current.as_deref() == Some(label) {
            return Ok(false);
        }
        limits::check_label(label)?;
        self.sides[side.index()].labels.insert(id, Some(label.to_string()));
        Ok(true)
    }

    /// Marks items of a user as held out (invisible to training snapshots). Items the user does not
    /// have are ignored; returns how many were newly marked.
    pub fn hold_out(&mut self, user: u32, items: &RoaringBitmap) -> Result<u64> {
        let owned = &self.row_mut(user)?.items & items;
        let held = Self::bitmap_mut(self.engine, &mut self.holdout, tree::HOLDOUT, user)?;
        let before = held.len();
        *held |= owned;
        let added = held.len() - before;
        self.holdout_count += added as i64;
        self.data_changed |= added > 0;
        Ok(added)
    }

    /// Makes every held-out interaction visible again.
    pub fn clear_holdout(&mut self) -> Result<()> {
        for entry in self.engine.scan(tree::HOLDOUT) {
            let (k, _) = entry?;
            self.holdout.insert(format::decode_u32(&k, "holdout user")?, RoaringBitmap::new());
        }
        for held in self.holdout.values_mut() {
            held.clear();
        }
        self.holdout_count = -(read_meta_u64(self.engine, meta::HOLDOUT)? as i64);
        self.data_changed = true;
        Ok(())
    }

    /// Persists a setting. Setting `durability` to `full` or `relaxed` also switches the store's mode.
    pub fn set_setting(&mut self, name: &str, value: &str) {
        self.settings.push((name.to_string(), value.to_string()));
    }

    /// Queues a raw write of the blob and record layers.
    pub(crate) fn push_raw(&mut self, tree: &str, key: Vec<u8>, value: Option<Vec<u8>>) {
        self.raw.push((Engine::tree_index(tree), key, value));
    }

    /// Turns the changes into the list of tree writes, the durability mode the write sets, if any, and
    /// the blob changes whose files the commit must settle.
    pub(crate) fn finish(mut self) -> Result<Prepared<'s>> {
        self.apply_pending_item_users()?;
        let idx = Engine::tree_index;
        let mut writes = std::mem::take(&mut self.raw);
        writes.extend(self.blobs.writes());
        let put = |writes: &mut Vec<Write>, t: &str, k: &[u8], v: Option<Vec<u8>>| {
            writes.push((idx(t), k.to_vec(), v))
        };
        let bitmap_value = |b: &RoaringBitmap| (!b.is_empty()).then(|| format::encode_bitmap(b));

        for side in Side::BOTH {
            let s = &self.sides[side.index()];
            for (key, id) in &s.keys {
                put(&mut writes, keys_tree(side), &key.encode(), id.map(|id| id.to_be_bytes().to_vec()));
            }
            let mut blocks: HashMap<[u8; 4], Vec<(usize, &Option<Key>)>> = HashMap::new();
            for (id, key) in &s.ids {
                let (block, slot) = idblock::locate(*id);
                blocks.entry(block).or_default().push((slot, key));
            }
            for (block, changes) in blocks {
                let stored = self.engine.get(ids_tree(side), &block)?;
                let mut slots: Vec<Option<Vec<u8>>> = match &stored {
                    Some(v) => idblock::decode(v)?.into_iter().map(|k| k.map(<[u8]>::to_vec)).collect(),
                    None => vec![None; idblock::IDS_PER_BLOCK as usize],
                };
                for (slot, key) in changes {
                    slots[slot] = key.as_ref().map(Key::encode);
                }
                put(&mut writes, ids_tree(side), &block, idblock::encode(&slots));
            }
            for (name, id) in &s.new_tags {
                put(&mut writes, tree::TAG_NAMES, &tag_name_key(side, name), Some(id.to_be_bytes().to_vec()));
                put(
                    &mut writes,
                    tree::TAG_IDS,
                    &format::side_id_key(side, *id),
                    Some(name.as_bytes().to_vec()),
                );
            }
            for (id, members) in &s.tag_members {
                put(&mut writes, tree::TAG_MEMBERS, &format::side_id_key(side, *id), bitmap_value(members));
            }
            for (id, tags) in &s.entity_tags {
                put(&mut writes, tree::ENTITY_TAGS, &format::side_id_key(side, *id), bitmap_value(tags));
            }
            for (id, label) in &s.labels {
                let value = label.as_ref().map(|l| l.as_bytes().to_vec());
                put(&mut writes, tree::LABELS, &format::side_id_key(side, *id), value);
            }
            if !s.keys.is_empty() {
                put(&mut writes, tree::META, next_id_key(side), Some(s.next_id.to_be_bytes().to_vec()));
            }
            if !s.new_tags.is_empty() {
                put(
                    &mut writes,
                    tree::META,
                    next_tag_id_key(side),
                    Some(s.next_tag_id.to_be_bytes().to_vec()),
                );
            }
            if s.count != 0 {
                let count =
                    apply_delta(read_meta_u64(self.engine, count_key(side))?, s.count, "entity count")?;
                put(&mut writes, tree::META, count_key(side), Some(count.to_be_bytes().to_vec()));
            }
        }
        for (user, row) in &self.user_rows {
            put(
                &mut writes,
                adjacency_tree(Side::User),
                &format::id_key(*user),
                (!row.is_empty()).then(|| row.encode()),
            );
        }
        for (item, users) in &self.item_rows {
            put(&mut writes, adjacency_tree(Side::Item), &format::id_key(*item), bitmap_value(users));
        }
        for (user, held) in &self.holdout {
            put(&mut writes, tree::HOLDOUT, &format::id_key(*user), bitmap_value(held));
        }
        for (counter, delta) in [(meta::INTERACTIONS, self.interactions), (meta::HOLDOUT, self.holdout_count)]
        {
            if delta != 0 {
                let value = apply_delta(read_meta_u64(self.engine, counter)?, delta, "interaction count")?;
                put(&mut writes, tree::META, counter, Some(value.to_be_bytes().to_vec()));
            }
        }
        if self.data_changed {
            let version = read_meta_u64(self.engine, meta::DATA_VERSION)? + 1;
            put(&mut writes, tree::META, meta::DATA_VERSION, Some(version.to_be_bytes().to_vec()));
        }
        let mut durability = None;
        for (name, value) in &self.settings {
            put(&mut writes, tree::META, &setting_key(name), Some(value.as_bytes().to_vec()));
            if name == DURABILITY_SETTING {
                durability = Some(Durability::from_setting(value));
            }
        }
        Ok(Prepared { writes, durability, blobs: self.blobs })
    }
}

fn apply_delta(value: u64, delta: i64, what: &str) -> Result<u64> {
    value.checked_add_signed(delta).ok_or_else(|| corrupt(format!("{what} would become negative")))
}
