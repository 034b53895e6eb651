//! `Database`: the handle an application holds. It opens the store, offers typed methods for every data
//! operation, and runs statements (`execute`, `query`, `run`), which [`crate::exec`] carries out over the
//! database's [`Parts`].

use std::path::Path;
use std::sync::Arc;

use recodb_query::Statement;
use recodb_storage::{IntegrityCheck, IntegrityReport, Key, Side, Snapshot, SnapshotPart, Store};

use crate::data::{self, EntityInfo, Interaction, Stats};
use crate::error::{Error, ErrorKind, Result};
use crate::exec::{self, Parts, Recommendations};
use crate::import::{self, load, Entity, ImportSpec, ImportSummary, Target};
use crate::jobs::Jobs;
use crate::models::migrate;
use crate::progress::{NoProgress, Progress};
use crate::result::ResultSet;
use crate::value::Value;

/// An open recodb database.
///
/// `Database` is `Send + Sync`: share it between threads (e.g. in an `Arc`). Reads run concurrently;
/// writes are serialised, and each write method is atomic and, unless `durability` is `relaxed`, on disk
/// when it returns.
pub struct Database {
    parts: Parts,
    /// The private copy a read-only database was opened on, removed when the handle is dropped (after
    /// the store, which is declared first and so dropped first).
    _copy: Option<tempfile::TempDir>,
}

impl Database {
    /// Opens the database in directory `path`, creating it if absent. Jobs that were running when the
    /// database was last closed uncleanly are marked failed; models saved by an older recodb in an
    /// older blob format are rewritten in the current one.
    pub fn open(path: impl AsRef<Path>) -> Result<Database> {
        Database::with_store(Store::open(path)?, None)
    }

    /// Opens a new database that lives in memory and vanishes when dropped.
    pub fn open_temporary() -> Result<Database> {
        Database::with_store(Store::open_temporary()?, None)
    }

    /// Opens a private, read-only copy of the database in directory `path`: its files are copied into a
    /// temporary directory (removed when the handle is dropped), so that any number of processes can
    /// each open one while the original is closed. Statements and calls that would change the database
    /// are refused with a conflict error; RECOMMEND, SIMILAR, EVALUATE, SHOW and the other reads work as
    /// on the original. Copy a database nobody is writing to: files copied while a writer commits read
    /// as after a crash.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Database> {
        let path = path.as_ref();
        let cannot = |e: std::io::Error| {
            let message = format!("cannot copy '{}' to open it read-only: {e}", path.display());
            Error::new(ErrorKind::Io { path: path.to_path_buf(), message: e.to_string() }, message)
        };
        let copy = tempfile::Builder::new().prefix("recodb-read-only-").tempdir().map_err(cannot)?;
        copy_dir(path, copy.path()).map_err(cannot)?;
        let mut db = Database::with_store(Store::open(copy.path())?, Some(copy))?;
        db.parts.read_only = true;
        Ok(db)
    }

    fn with_store(store: Store, copy: Option<tempfile::TempDir>) -> Result<Database> {
        let jobs = Jobs::open(&store)?;
        migrate::run(&store)?;
        let parts =
            Parts { store: Arc::new(store), catalog: Arc::default(), jobs: Arc::new(jobs), read_only: false };
        Ok(Database { parts, _copy: copy })
    }

    /// Whether the database was opened read-only ([`Database::open_read_only`]).
    pub fn is_read_only(&self) -> bool {
        self.parts.read_only
    }

    /// A conflict error when the database is read-only: typed writes check it as statements do.
    fn writable(&self) -> Result<()> {
        if self.parts.read_only {
            return Err(exec::read_only());
        }
        Ok(())
    }

    /// The storage engine underneath, for advanced use (snapshots, integrity checks, blobs).
    pub fn store(&self) -> &Store {
        &self.parts.store
    }

    /// Adds a user (if new) and gives it `tags`. Returns whether the user is new.
    pub fn add_user(&self, key: impl Into<Key>, tags: &[&str]) -> Result<bool> {
        self.writable()?;
        data::add(self.store(), Side::User, &key.into(), None, tags)
    }

    /// Adds an item (if new) and gives it `tags`. Returns whether the item is new.
    pub fn add_item(&self, key: impl Into<Key>, tags: &[&str]) -> Result<bool> {
        self.writable()?;
        data::add(self.store(), Side::Item, &key.into(), None, tags)
    }

    /// Gives a user or item (created if new) a display label, such as a title, shown beside its key in
    /// results; replaces any label it had. Returns whether it is new.
    pub fn set_label(&self, side: Side, key: impl Into<Key>, label: &str) -> Result<bool> {
        self.writable()?;
        data::add(self.store(), side, &key.into(), Some(label), &[])
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
        self.writable()?;
        data::insert(self.store(), &user.into(), &item.into(), weight, time)
    }

    /// Removes one interaction. Returns whether it existed.
    pub fn delete_interaction(&self, user: impl Into<Key>, item: impl Into<Key>) -> Result<bool> {
        self.writable()?;
        data::delete_interaction(self.store(), &user.into(), &item.into())
    }

    /// Deletes a user with its interactions and tags. Returns whether it existed.
    pub fn delete_user(&self, key: impl Into<Key>) -> Result<bool> {
        self.writable()?;
        data::delete(self.store(), Side::User, &key.into())
    }

    /// Deletes an item with its interactions and tags. Returns whether it existed.
    pub fn delete_item(&self, key: impl Into<Key>) -> Result<bool> {
        self.writable()?;
        data::delete(self.store(), Side::Item, &key.into())
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
        self.writable()?;
        let spec = ImportSpec::new(path.as_ref(), target, format, options)?;
        import::import(self.store(), &spec, progress, &mut |_, _| {})
    }

    /// Inserts many interactions in one atomic write: `users[i]` interacted with `items[i]`, with weight
    /// `weights[i]` and time `times[i]` when those are given (each as long as `users`). Users and items
    /// are created on first mention; a repeated pair keeps its last weight and time. The fast path for
    /// bulk data that is already in memory (the Python binding's NumPy arrays): no text, one write.
    pub fn insert_interactions(
        &self,
        users: &[Key],
        items: &[Key],
        weights: Option<&[f32]>,
        times: Option<&[i64]>,
    ) -> Result<ImportSummary> {
        self.writable()?;
        load::load_columns(self.store(), users, items, weights, times)
    }

    /// Adds many users or items, each with its tags, in one atomic write; returns how many entities and
    /// tags were new (`new_users` or `new_items`, and `new_tags`).
    pub fn add_entities(&self, side: Side, entities: &[Entity]) -> Result<ImportSummary> {
        self.writable()?;
        let mut summary = ImportSummary { records: entities.len() as u64, ..ImportSummary::default() };
        load::load_entities(self.store(), side, entities, &mut summary, &mut |_, _| {})?;
        Ok(summary)
    }

    /// What `RECOMMEND user u TOP top USING model [WHERE filter] [INCLUDE SEEN]` returns, for each of
    /// `users` at once: the model is loaded, the filter (text as after `WHERE`) computed and the item
    /// keys read once, and the users are served in parallel. A user the database does not know gets an
    /// empty row.
    pub fn recommend_many(
        &self,
        model: &str,
        users: &[Key],
        top: usize,
        filter: Option<&str>,
        include_seen: bool,
    ) -> Result<Recommendations> {
        let filter = filter.map(recodb_query::parse_filter).transpose()?;
        exec::recommend_many(&self.parts, model, users, top, filter.as_ref(), include_seen)
    }

    /// Counts of users, items, interactions, tags, and the size on disk.
    pub fn stats(&self) -> Result<Stats> {
        data::stats(self.store())
    }

    /// Describes a user or item; `None` if the key is unknown.
    pub fn describe(&self, side: Side, key: &Key) -> Result<Option<EntityInfo>> {
        data::describe(self.store(), side, key)
    }

    /// A user's interactions in item-id order; `None` if the user is unknown.
    pub fn interactions_of(&self, user: &Key) -> Result<Option<Vec<Interaction>>> {
        data::interactions_of(self.store(), user)
    }

    /// Runs a script of statements separated by `;` and returns one result set per statement. The
    /// whole script is parsed first (a syntax error runs nothing); execution stops at the first failing
    /// statement, and the statements before it stay applied (each statement is atomic on its own).
    /// Errors point into `script` ([`Error::span`]).
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
            let message = format!(
                "the statement has {used} parameter{} but {} {} bound",
                if used == 1 { "" } else { "s" },
                params.len(),
                if params.len() == 1 { "was" } else { "were" }
            );
            let kind = ErrorKind::InvalidArgument {
                name: "parameters".into(),
                expected: format!("{used} bound"),
                got: params.len().to_string(),
            };
            return Err(Error::new(kind, message));
        }
        self.run(&parsed, params, &NoProgress)
    }

    /// Runs one parsed statement, reporting progress of long work to `progress` (which may cancel it).
    pub fn run(&self, statement: &Statement, params: &[Value], progress: &dyn Progress) -> Result<ResultSet> {
        exec::run(&self.parts, statement, params, progress)
    }

    /// A consistent CSR snapshot of the visible interactions (the holdout excluded), for training.
    pub fn snapshot(&self) -> Result<Snapshot> {
        Ok(self.store().snapshot(SnapshotPart::Visible)?)
    }

    /// Verifies every invariant of the on-disk format (see `recodb_storage::Store::check_integrity`),
    /// and that every model record and job record decodes.
    pub fn check_integrity(&self) -> Result<IntegrityReport> {
        let report = self.store().check_integrity()?;
        let damaged = damaged_records(self.store())?;
        if !damaged.is_empty() {
            return Err(Error::corrupt(damaged.join("; ")));
        }
        Ok(report)
    }

    /// Runs the integrity checks and returns what they counted with every problem found (see
    /// `recodb_storage::Store::inspect_integrity`, and a problem for each model or job record that does
    /// not decode); an error means a structure could not be read at all.
    pub fn inspect_integrity(&self) -> Result<IntegrityCheck> {
        inspect(self.store())
    }
}

impl Drop for Database {
    /// Cancels the background jobs still running and waits for them to stop, so that the database is
    /// closed (and its directory unlocked) when the handle is gone.
    fn drop(&mut self) {
        self.parts.jobs.cancel_all();
    }
}

/// The integrity check of `store` with the damaged model and job records as problems (`CHECK` and
/// [`Database::inspect_integrity`]).
pub(crate) fn inspect(store: &Store) -> Result<IntegrityCheck> {
    let mut check = store.inspect_integrity()?;
    check.problems.extend(damaged_records(store)?);
    Ok(check)
}

/// The problems of the model and job records that do not decode.
fn damaged_records(store: &Store) -> Result<Vec<String>> {
    let mut problems = crate::models::catalog::damaged_records(store)?;
    problems.extend(crate::jobs::damaged_records(store)?);
    Ok(problems)
}

/// Copies the files of directory `from` (recursively) into the existing directory `to`.
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
