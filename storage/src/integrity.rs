//! `check_integrity`: verifies every invariant of the format. Tests call it after every kind of write.

use std::collections::{BTreeMap, HashMap};

use roaring::RoaringBitmap;

use crate::error::{corrupt, Result, StorageError};
use crate::format::{self, count_key, ids_tree, keys_tree, meta, next_tag_id_key, tree};
use crate::idblock;
use crate::read::{read_meta_u32, read_meta_u64, read_next_id};
use crate::row::Row;
use crate::store::Store;
use crate::{Key, Side};

/// What a successful integrity check counted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IntegrityReport {
    /// Users.
    pub users: u64,
    /// Items.
    pub items: u64,
    /// Interactions, held out or not.
    pub interactions: u64,
    /// Held-out interactions.
    pub holdout: u64,
    /// Distinct (side, tag) pairs with at least one member.
    pub tags: u64,
    /// Blobs.
    pub blobs: u64,
}

/// What an integrity check found: what it counted and every problem, each naming the damaged structure
/// and its key or blob. Sound when `problems` is empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IntegrityCheck {
    /// What the check counted.
    pub counted: IntegrityReport,
    /// The problems found, in the order checked.
    pub problems: Vec<String>,
}

impl Store {
    /// Checks that the database is consistent: key dictionaries are bijections within the id bounds and
    /// match the counters; both interaction directions hold the same pairs; attributes align with rows;
    /// the holdout is a subset of the interactions; tag memberships agree both ways; every blob's file
    /// exists with the length and checksum its entry gives (a missing or damaged file is reported with
    /// the blob's name and the file's path). Returns what it counted,
    /// or a `Corrupt` error listing every problem found.
    pub fn check_integrity(&self) -> Result<IntegrityReport> {
        let check = self.inspect_integrity()?;
        if check.problems.is_empty() {
            Ok(check.counted)
        } else {
            Err(corrupt(check.problems.join("; ")))
        }
    }

    /// Runs the checks of [`Store::check_integrity`] and returns what they counted with every problem
    /// found. An error means a structure could not be read at all (a `Corrupt` error naming it, or I/O).
    pub fn inspect_integrity(&self) -> Result<IntegrityCheck> {
        let _consistent = self.consistent();
        let mut problems = Vec::new();
        let mut report = IntegrityReport::default();
        let e = &self.engine;

        let mut live: [RoaringBitmap; 2] = Default::default();
        for side in Side::BOTH {
            let bound = read_next_id(e, side)?;
            let mut by_key = HashMap::new();
            for entry in e.scan(keys_tree(side)) {
                let (k, v) = entry?;
                let key = Key::decode(&k).ok_or_else(|| corrupt(format!("bad {side} key bytes")))?;
                by_key.insert(key, format::decode_u32(&v, "entity id")?);
            }
            for entry in e.scan(ids_tree(side)) {
                let (k, v) = entry?;
                let block = idblock::first_id(&k).and_then(|first| Ok((first, idblock::decode(&v)?)));
                let (first, keys) = block.map_err(|e| naming(&format!("{side} id map"), e))?;
                for (slot, key) in keys.into_iter().enumerate() {
                    let Some(key) = key else { continue };
                    let id = first + slot as u32;
                    let key = Key::decode(key).ok_or_else(|| corrupt(format!("bad {side} key bytes")))?;
                    if id >= bound {
                        problems.push(format!("{side} id {id} is not below the id bound {bound}"));
                    }
                    if by_key.get(&key) != Some(&id) {
                        problems.push(format!("{side} {id}: key {key} does not map back to it"));
                    }
                    live[side.index()].insert(id);
                }
            }
            if by_key.len() as u64 != live[side.index()].len() {
                problems.push(format!(
                    "{side} dictionary: {} keys but {} ids",
                    by_key.len(),
                    live[side.index()].len()
                ));
            }
            let count = read_meta_u64(e, count_key(side))?;
            if count != live[side.index()].len() {
                problems.push(format!(
                    "{side} counter says {count}, dictionary has {}",
                    live[side.index()].len()
                ));
            }
        }
        report.users = live[0].len();
        report.items = live[1].len();

        for entry in e.scan(tree::LABELS) {
            let (k, v) = entry?;
            let side = match k.first().copied().and_then(Side::from_byte) {
                Some(side) if k.len() == 5 => side,
                _ => {
                    problems.push("a label has a malformed key".to_string());
                    continue;
                }
            };
            let id = format::decode_u32(&k[1..], "label id")?;
            if !live[side.index()].contains(id) {
                problems.push(format!("the label of {side} {id} belongs to no {side}"));
            }
            if std::str::from_utf8(&v).is_err() {
                problems.push(format!("the label of {side} {id} is not UTF-8"));
            }
        }

        let mut transpose: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        let mut rows: HashMap<u32, RoaringBitmap> = HashMap::new();
        for entry in e.scan(tree::USER_ITEMS) {
            let (k, v) = entry?;
            let user = format::decode_u32(&k, "user id")?;
            let items = match Row::decode_value(&v, "user row") {
                Ok(row) => row.items,
                Err(err) => {
                    problems.push(format!("user {user}: {err}"));
                    continue;
                }
            };
            if !live[0].contains(user) {
                problems.push(format!("user row {user} belongs to no user"));
            }
            if items.is_empty() {
                problems.push(format!("user row {user} is stored empty"));
            }
            if !items.is_subset(&live[1]) {
                problems.push(format!("user row {user} names items that do not exist"));
            }
            report.interactions += items.len();
            for item in &items {
                transpose.entry(item).or_default().push(user);
            }
            rows.insert(user, items);
        }
        for entry in e.scan(tree::ITEM_USERS) {
            let (k, v) = entry?;
            let item = format::decode_u32(&k, "item id")?;
            let users = format::decode_bitmap(&v, "item row")?;
            let expected = transpose.remove(&item).unwrap_or_default();
            if users.iter().ne(expected.iter().copied()) {
                problems.push(format!("item {item}: its users disagree with the users' rows"));
            }
        }
        if !transpose.is_empty() {
            problems.push(format!("{} items have users in user rows but no item row", transpose.len()));
        }
        let counted = read_meta_u64(e, meta::INTERACTIONS)?;
        if counted != report.interactions {
            problems.push(format!("interaction counter says {counted}, rows hold {}", report.interactions));
        }

        for entry in e.scan(tree::HOLDOUT) {
            let (k, v) = entry?;
            let user = format::decode_u32(&k, "user id")?;
            let held = format::decode_bitmap(&v, "holdout")?;
            if held.is_empty() || !rows.get(&user).is_some_and(|r| held.is_subset(r)) {
                problems.push(format!("holdout of user {user} is empty or not a subset of the user's items"));
            }
            report.holdout += held.len();
        }
        let counted = read_meta_u64(e, meta::HOLDOUT)?;
        if counted != report.holdout {
            problems.push(format!("holdout counter says {counted}, holdout holds {}", report.holdout));
        }

        for side in Side::BOTH {
            let tag_bound = read_meta_u32(e, next_tag_id_key(side))?;
            let mut names = 0u64;
            for entry in e.scan_prefix(tree::TAG_NAMES, &[side.byte()]) {
                let (k, v) = entry?;
                let id = format::decode_u32(&v, "tag id")?;
                let back = e.get(tree::TAG_IDS, &format::side_id_key(side, id))?;
                if id >= tag_bound || back.as_deref() != Some(&k[1..]) {
                    problems.push(format!("{side} tag {id} does not map back to its name"));
                }
                names += 1;
            }
            let ids = e.scan_prefix(tree::TAG_IDS, &[side.byte()]).count() as u64;
            if ids != names {
                problems.push(format!("{side} tags: {names} names but {ids} ids"));
            }
            let mut members_by_tag: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
            for entry in e.scan_prefix(tree::ENTITY_TAGS, &[side.byte()]) {
                let (k, v) = entry?;
                let entity = format::decode_u32(&k[1..], "entity id")?;
                if !live[side.index()].contains(entity) {
                    problems.push(format!("tags stored for {side} {entity}, which does not exist"));
                }
                for tag in format::decode_bitmap(&v, "entity tags")?.iter() {
                    members_by_tag.entry(tag).or_default().push(entity);
                }
            }
            for entry in e.scan_prefix(tree::TAG_MEMBERS, &[side.byte()]) {
                let (k, v) = entry?;
                let tag = format::decode_u32(&k[1..], "tag id")?;
                let members = format::decode_bitmap(&v, "tag members")?;
                let expected = members_by_tag.remove(&tag).unwrap_or_default();
                if members.iter().ne(expected.iter().copied()) {
                    problems.push(format!("{side} tag {tag}: members disagree with the entities' tags"));
                }
                report.tags += u64::from(!members.is_empty());
            }
            if !members_by_tag.is_empty() {
                problems.push(format!(
                    "{side} entities carry {} tags with no member bitmap",
                    members_by_tag.len()
                ));
            }
        }

        report.blobs = self.check_blobs(&mut problems)?;
        Ok(IntegrityCheck { counted: report, problems })
    }
}

/// A `Corrupt` error about `what` (the structure being read); other errors unchanged.
fn naming(what: &str, e: StorageError) -> StorageError {
    match e {
        StorageError::Corrupt(detail) => StorageError::Corrupt(format!("{what}: {detail}")),
        other => other,
    }
}
