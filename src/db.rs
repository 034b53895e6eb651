//! `Database`: the handle an application holds. It opens the store and offers typed methods for every
//! data operation; statement execution builds on these.

use std::path::Path;
use std::sync::Arc;

use recodb_storage::{IntegrityReport, Key, PairAttrs, Side, Snapshot, SnapshotPart, StorageError, Store};

use recodb_query::Statement;

use crate::error::{Error, Result};
use crate::exec;
use crate::import::{self, ImportSpec, ImportSummary, Target};
use crate::jobs::Jobs;
use crate::models::catalog::Catalog;
use crate::progress::{NoProgress, Progress};
use crate::result::ResultSet;
use crate::value::Value;

/// An open recodb database.
///
/// `Database` is `Send + Sync`: share it between threads (e.g. in an `Arc`). Reads run concurrently;
/// writes are serialised, and each write method is atomic and, unless `durability` is `relaxed`, on disk
/// when it returns.
pub struct Database {
    store: Arc<Store>,
    catalog: Arc<Catalog>,
    jobs: Arc<Jobs>,
}

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
    /// Bytes on disk (0 for a temporary database).
    pub size_on_disk: u64,
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

impl Database {
    /// Opens the database in directory `path`, creating it if absent.
    /// Jobs that were running when the database was last closed uncleanly are marked failed.
    pub fn open(path: impl AsRef<Path>) -> Result<Database> {
        Database::with_store(Store::open(path)?)
    }

    /// Opens a new database that lives in memory and vanishes when dropped.
    pub fn open_temporary() -> Result<Database> {
        Database::with_store(Store::open_temporary()?)
    }

    fn with_store(store: Store) -> Result<Database> {
        let jobs = Jobs::open(&store)?;
        Ok(Database { store: Arc::new(store), catalog: Arc::default(), jobs: Arc::new(jobs) })
    }

    /// The storage engine underneath, for advanced use (snapshots, integrity checks, blobs).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The trained models and the cache of loaded ones.
    pub(crate) fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The training jobs.
    pub(crate) fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    /// Shared handles to the store, the catalog and the jobs, for work that outlives a call (a
    /// background job).
    pub(crate) fn shared(&self) -> (Arc<Store>, Arc<Catalog>, Arc<Jobs>) {
        (Arc::clone(&self.store), Arc::clone(&self.catalog), Arc::clone(&self.jobs))
    }

    /// Adds a user (if new) and gives it `tags`. Returns whether the user is new.
    pub fn add_user(&self, key: impl Into<Key>, tags: &[&str]) -> Result<bool> {
        self.add_entity(Side::User, key.into(), tags)
    }

    /// Adds an item (if new) and gives it `tags`. Returns whether the item is new.
    pub fn add_item(&self, key: impl Into<Key>, tags: &[&str]) -> Result<bool> {
        self.add_entity(Side::Item, key.into(), tags)
    }

    fn add_entity(&self, side: Side, key: Key, tags: &[&str]) -> Result<bool> {
        self.store
            .write(|txn| -> Result<bool, StorageError> {
                let (id, new) = txn.ensure(side, &key)?;
                for tag in tags {
                    txn.add_tag(side, id, tag)?;
                }
                Ok(new)
            })
            .map_err(Error::from)
    }

    /// Records that `user` interacted with `item`, creating either if new. A given weight or time
    /// replaces the stored one of an existing interaction. Returns whether the interaction is new.
    pub fn insert_interaction(
        &self,
        user: impl Into<Key>,
        item: impl Into<Key>,
        weight: Option<f32>,
        time: Option<i64>,
    ) -> Result<bool> {
        if let Some(w) = weight {
            if !w.is_finite() {
                return Err(Error::Invalid(format!("weight must be a finite number, got {w}")));
            }
        }
        let (user, item) = (user.into(), item.into());
        self.store
            .write(|txn| -> Result<bool, StorageError> {
                let (u, _) = txn.ensure(Side::User, &user)?;
                let (i, _) = txn.ensure(Side::Item, &item)?;
                Ok(txn.add_interactions(u, &mut [(i, PairAttrs { weight, time })])? == 1)
            })
            .map_err(Error::from)
    }

    /// Removes one interaction. Returns whether it existed.
    pub fn delete_interaction(&self, user: impl Into<Key>, item: impl Into<Key>) -> Result<bool> {
        let (user, item) = (user.into(), item.into());
        self.store
            .write(|txn| -> Result<bool, StorageError> {
                match (txn.id_of(Side::User, &user)?, txn.id_of(Side::Item, &item)?) {
                    (Some(u), Some(i)) => txn.remove_interaction(u, i),
                    _ => Ok(false),
                }
            })
            .map_err(Error::from)
    }

    /// Deletes a user with its interactions and tags. Returns whether it existed.
    pub fn delete_user(&self, key: impl Into<Key>) -> Result<bool> {
        let key = key.into();
        Ok(self.store.write(|txn| txn.delete(Side::User, &key))?)
    }

    /// Deletes an item with its interactions and tags. Returns whether it existed.
    pub fn delete_item(&self, key: impl Into<Key>) -> Result<bool> {
        let key = key.into();
        Ok(self.store.write(|txn| txn.delete(Side::Item, &key))?)
    }

    /// Imports a file of interactions, users or items (see [`ImportSpec::new`] for formats and options)
    /// in one atomic write: a bad line leaves the database unchanged.
    pub fn import(
        &self,
        target: Target,
        path: impl AsRef<Path>,
        format: Option<&str>,
        options: &[(String, Value)],
    ) -> Result<ImportSummary> {
        self.import_with_progress(target, path, format, options, &mut |_, _| true)
    }

    /// Like [`Database::import`], calling `progress(bytes_done, bytes_total)` as the file is read; the
    /// callback returns `false` to cancel (the database is then unchanged).
    pub fn import_with_progress(
        &self,
        target: Target,
        path: impl AsRef<Path>,
        format: Option<&str>,
        options: &[(String, Value)],
        progress: &mut dyn FnMut(u64, u64) -> bool,
    ) -> Result<ImportSummary> {
        let spec = ImportSpec::new(path.as_ref(), target, format, options)?;
        import::import(&self.store, &spec, progress)
    }

    /// Counts of users, items, interactions, tags, and the size on disk.
    pub fn stats(&self) -> Result<Stats> {
        let s = &self.store;
        let (users, items, interactions) =
            (s.count(Side::User)?, s.count(Side::Item)?, s.interaction_count()?);
        let cells = users as f64 * items as f64;
        Ok(Stats {
            users,
            items,
            interactions,
            held_out: s.holdout_count()?,
            user_tags: s.tags(Side::User)?.len() as u64,
            item_tags: s.tags(Side::Item)?.len() as u64,
            density: if cells > 0.0 { interactions as f64 / cells } else { 0.0 },
            size_on_disk: if s.path().is_some() { s.size_on_disk()? } else { 0 },
            data_version: s.data_version()?,
        })
    }

    /// Describes a user or item; `None` if the key is unknown.
    pub fn describe(&self, side: Side, key: &Key) -> Result<Option<EntityInfo>> {
        let Some(id) = self.store.id_of(side, key)? else {
            return Ok(None);
        };
        let interactions = self.store.neighbours(side, id)?.map_or(0, |b| b.len());
        let held_out = match side {
            Side::User => self.store.holdout(id)?.map_or(0, |b| b.len()),
            Side::Item => 0,
        };
        Ok(Some(EntityInfo {
            key: key.clone(),
            id,
            interactions,
            held_out,
            tags: self.store.entity_tags(side, id)?,
        }))
    }

    /// A user's interactions in item-id order; `None` if the user is unknown.
    pub fn interactions_of(&self, user: &Key) -> Result<Option<Vec<Interaction>>> {
        let Some(id) = self.store.id_of(Side::User, user)? else {
            return Ok(None);
        };
        let Some(row) = self.store.user_row(id)? else {
            return Ok(Some(Vec::new()));
        };
        row.iter()
            .map(|(item, weight, time)| {
                let key = self.store.key_of(Side::Item, item)?.ok_or_else(|| {
                    Error::Storage(StorageError::Corrupt(format!("item {item} of user {user} has no key")))
                })?;
                Ok(Interaction { item: key, weight, time })
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// Runs a script of statements separated by `;` and returns one result set per statement. The
    /// whole script is parsed first (a syntax error runs nothing); execution stops at the first failing
    /// statement, and the statements before it stay applied (each statement is atomic on its own).
    pub fn execute(&self, script: &str) -> Result<Vec<ResultSet>> {
        let statements = recodb_query::parse_script(script)?;
        statements.iter().map(|s| self.run(s, &[], &NoProgress)).collect()
    }

    /// Runs one statement with `?` placeholders bound to `params`, in order. Parameters are typed
    /// values, never spliced into the text: `RECOMMEND user ? TOP ? USING taste` with
    /// `[Value::from("alice"), Value::Int(10)]`.
    pub fn query(&self, statement: &str, params: &[Value]) -> Result<ResultSet> {
        let parsed = recodb_query::parse_statement(statement)?;
        let used = parsed.param_count();
        if used != params.len() {
            return Err(Error::Invalid(format!(
                "the statement has {used} parameter{} but {} {} bound",
                if used == 1 { "" } else { "s" },
                params.len(),
                if params.len() == 1 { "was" } else { "were" }
            )));
        }
        self.run(&parsed, params, &NoProgress)
    }

    /// Runs one parsed statement, reporting progress of long work to `progress` (which may cancel it).
    pub fn run(&self, statement: &Statement, params: &[Value], progress: &dyn Progress) -> Result<ResultSet> {
        exec::run(self, statement, params, progress)
    }

    /// A consistent CSR snapshot of the visible interactions (the holdout excluded), for training.
    pub fn snapshot(&self) -> Result<Snapshot> {
        Ok(self.store.snapshot(SnapshotPart::Visible)?)
    }

    /// Verifies every invariant of the on-disk format (see `recodb_storage::Store::check_integrity`).
    pub fn check_integrity(&self) -> Result<IntegrityReport> {
        Ok(self.store.check_integrity()?)
    }
}

impl Drop for Database {
    /// Cancels the background jobs still running and waits for them to stop, so that the database is
    /// closed (and its directory unlocked) when the handle is gone.
    fn drop(&mut self) {
        self.jobs.cancel_all();
    }
}
