//! Data operations over the store, each one atomic write or one consistent read: adding users and items,
//! inserting and deleting interactions, and describing what the database holds. [`Database`]'s typed
//! methods and the data statements (`ADD`, `INSERT`, `DELETE`, `SHOW`, `DESCRIBE`) both call these.
//!
//! [`Database`]: crate::Database

use recodb_storage::{DiskUsage, Key, PairAttrs, Side, StorageError, Store, NO_TIME};

use crate::error::{Error, Result};

/// Counts that describe a database.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Users.
    pub users: u64,
    /// Items.
    pub items: u64,
    /// Interactions, held out or not.
    pub interactions: u64,
    /// Held-out interactions.
    pub held_out: u64,
    /// Distinct user tags in use.
    pub user_tags: u64,
    /// Distinct item tags in use.
    pub item_tags: u64,
    /// Fraction of the user × item matrix that has an interaction.
    pub density: f64,
    /// Bytes on disk (0 for a temporary database): the sum of the three sizes below.
    pub size_on_disk: u64,
    /// Bytes of the data, records and settings (sled's files).
    pub size_data: u64,
    /// Bytes of the trained models' files.
    pub size_models: u64,
    /// Bytes of files that nothing names any more (left by a crash): free, removed on the next open.
    pub size_free: u64,
    /// Changes with every write to the data.
    pub data_version: u64,
}

/// What `DESCRIBE USER` and `DESCRIBE ITEM` show.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityInfo {
    /// The entity's key.
    pub key: Key,
    /// Its internal id.
    pub id: u32,
    /// Its display label (a title), if it has one.
    pub label: Option<String>,
    /// Its interactions (held out ones included).
    pub interactions: u64,
    /// Its held-out interactions (users only; 0 for items).
    pub held_out: u64,
    /// Its tags, sorted.
    pub tags: Vec<String>,
}

/// One interaction of a user, as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    /// The item's key.
    pub item: Key,
    /// Its weight (1.0 when none was given).
    pub weight: f32,
    /// Its timestamp, if one was given.
    pub time: Option<i64>,
}

/// Adds a user or item (if new), gives it `tags` and, when given, the display `label` (replacing one it
/// had). Returns whether it is new.
pub(crate) fn add(store: &Store, side: Side, key: &Key, label: Option<&str>, tags: &[&str]) -> Result<bool> {
    Ok(store.write(|txn| -> Result<bool, StorageError> {
        let (id, new) = txn.ensure(side, key)?;
        for tag in tags {
            txn.add_tag(side, id, tag)?;
        }
        if let Some(label) = label {
            txn.set_label(side, id, label)?;
        }
        Ok(new)
    })?)
}

/// The one timestamp that cannot be stored, refused where times come in: a row marks an interaction
/// without a time by [`NO_TIME`] (`i64::MIN`, -2^63), which would read back as no time at all.
pub(crate) fn check_time(what: &str, time: i64) -> Result<i64> {
    if time == NO_TIME {
        let expected = "a timestamp from -9223372036854775807 to 9223372036854775807";
        return Err(Error::invalid(what, expected, time.to_string()));
    }
    Ok(time)
}

/// Records that `user` interacted with `item`, creating either if new; a given weight or time replaces
/// the stored one. A weight that is not a finite number is refused, and so is the time -2^63 (see
/// [`check_time`]). Returns whether the pair is new.
pub(crate) fn insert(
    store: &Store,
    user: &Key,
    item: &Key,
    weight: Option<f32>,
    time: Option<i64>,
) -> Result<bool> {
    if let Some(w) = weight.filter(|w| !w.is_finite()) {
        return Err(Error::invalid("WEIGHT", "a finite number", w.to_string()));
    }
    if let Some(t) = time {
        check_time("AT", t)?;
    }
    Ok(store.write(|txn| -> Result<bool, StorageError> {
        let (u, _) = txn.ensure(Side::User, user)?;
        let (i, _) = txn.ensure(Side::Item, item)?;
        Ok(txn.add_interactions(u, &mut [(i, PairAttrs { weight, time })])? == 1)
    })?)
}

/// Removes one interaction. Returns whether it existed.
pub(crate) fn delete_interaction(store: &Store, user: &Key, item: &Key) -> Result<bool> {
    Ok(store.write(|txn| -> Result<bool, StorageError> {
        match (txn.id_of(Side::User, user)?, txn.id_of(Side::Item, item)?) {
            (Some(u), Some(i)) => txn.remove_interaction(u, i),
            _ => Ok(false),
        }
    })?)
}

/// Deletes a user or item with its interactions and tags. Returns whether it existed.
pub(crate) fn delete(store: &Store, side: Side, key: &Key) -> Result<bool> {
    Ok(store.write(|txn| txn.delete(side, key))?)
}

/// Counts of users, items, interactions, tags, and the size on disk by kind.
pub(crate) fn stats(store: &Store) -> Result<Stats> {
    let (users, items, interactions) =
        (store.count(Side::User)?, store.count(Side::Item)?, store.interaction_count()?);
    let cells = users as f64 * items as f64;
    let disk = if store.path().is_some() { store.disk_usage()? } else { DiskUsage::default() };
    Ok(Stats {
        users,
        items,
        interactions,
        held_out: store.holdout_count()?,
        user_tags: store.tags(Side::User)?.len() as u64,
        item_tags: store.tags(Side::Item)?.len() as u64,
        density: if cells > 0.0 { interactions as f64 / cells } else { 0.0 },
        size_on_disk: disk.total(),
        size_data: disk.data,
        size_models: disk.blobs,
        size_free: disk.unreferenced,
        data_version: store.data_version()?,
    })
}

/// Describes a user or item; `None` if the key is unknown.
pub(crate) fn describe(store: &Store, side: Side, key: &Key) -> Result<Option<EntityInfo>> {
    let Some(id) = store.id_of(side, key)? else {
        return Ok(None);
    };
    let interactions = store.neighbours(side, id)?.map_or(0, |b| b.len());
    let held_out = match side {
        Side::User => store.holdout(id)?.map_or(0, |b| b.len()),
        Side::Item => 0,
    };
    let (label, tags) = (store.label(side, id)?, store.entity_tags(side, id)?);
    Ok(Some(EntityInfo { key: key.clone(), id, label, interactions, held_out, tags }))
}

/// A user's interactions in item-id order; `None` if the user is unknown.
pub(crate) fn interactions_of(store: &Store, user: &Key) -> Result<Option<Vec<Interaction>>> {
    let Some(id) = store.id_of(Side::User, user)? else {
        return Ok(None);
    };
    let Some(row) = store.user_row(id)? else {
        return Ok(Some(Vec::new()));
    };
    row.iter()
        .map(|(item, weight, time)| {
            let key = store
                .key_of(Side::Item, item)?
                .ok_or_else(|| Error::corrupt(format!("item {item} of user {user} has no key")))?;
            Ok(Interaction { item: key, weight, time })
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}
