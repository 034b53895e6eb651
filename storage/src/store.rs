//! The store handle: opening a database, reading its records, and running writes atomically.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Mutex, RwLock};
use roaring::RoaringBitmap;

use crate::engine::{Engine, EngineOpenError};
use crate::error::{corrupt, OpenError, Result, StorageError};
use crate::files::BlobFiles;
use crate::format::{
    self, adjacency_tree, count_key, ids_tree, meta, tree, Durability, DURABILITY_SETTING, FORMAT_VERSION,
    MAGIC,
};
use crate::idblock;
use crate::journal::{self, Staged};
use crate::read::{
    read_bitmap, read_id, read_key, read_label, read_meta_u64, read_next_id, read_row, read_setting,
    read_side_bitmap, read_tag_id, read_tag_name,
};
use crate::row::Row;
use crate::write::{Prepared, WriteTxn};
use crate::{migrate, Key, Side};

/// An open recodb database on disk (or in memory): every read and write goes through it.
///
/// `Store` is `Send + Sync`. Writes are serialised (one writer at a time) and atomic: a write either
/// applies fully or not at all, also across a crash. Reads run concurrently with each other and with a
/// writer; the multi-record reads ([`Store::snapshot`], [`Store::check_integrity`]) see one consistent state.
pub struct Store {
    pub(crate) engine: Engine,
    pub(crate) files: BlobFiles,
    path: Option<PathBuf>,
    writer: Mutex<()>,
    visible: RwLock<()>,
    relaxed: AtomicBool,
    /// A large write failed after its journal's marker: the next write finishes it first.
    unfinished: AtomicBool,
}

impl Store {
    /// Opens the database in directory `path`, creating it if the directory is absent or empty. A
    /// database of format 1 is migrated to the current format (its blobs moved out of sled into blob
    /// files); blob files that nothing names, left by a crash, are removed.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, OpenError> {
        let path = path.as_ref();
        check_is_database_dir(path)?;
        let engine = Engine::open(path).map_err(|e| match e {
            EngineOpenError::Locked => OpenError::Locked { path: path.to_path_buf() },
            EngineOpenError::Other(source) => OpenError::Storage { path: path.to_path_buf(), source },
        })?;
        let files = BlobFiles::open(path)
            .map_err(|source| OpenError::Storage { path: path.to_path_buf(), source })?;
        Self::init(engine, files, Some(path.to_path_buf()))
    }

    /// Opens a new, empty database that lives in memory and vanishes when dropped.
    pub fn open_temporary() -> Result<Store, OpenError> {
        let engine = Engine::temporary().map_err(|e| match e {
            EngineOpenError::Locked => OpenError::Locked { path: PathBuf::from(":memory:") },
            EngineOpenError::Other(source) => OpenError::Storage { path: PathBuf::from(":memory:"), source },
        })?;
        let files = BlobFiles::temporary()
            .map_err(|source| OpenError::Storage { path: PathBuf::from(":memory:"), source })?;
        Self::init(engine, files, None)
    }

    fn init(engine: Engine, files: BlobFiles, path: Option<PathBuf>) -> Result<Store, OpenError> {
        let shown = path.clone().unwrap_or_else(|| PathBuf::from(":memory:"));
        let storage_err = |source| OpenError::Storage { path: shown.clone(), source };
        match engine.get(tree::META, meta::MAGIC).map_err(storage_err)? {
            Some(magic) if magic.as_ref() == MAGIC => {
                let version = engine.get(tree::META, meta::FORMAT_VERSION).map_err(storage_err)?;
                let found = version
                    .map(|v| format::decode_u32(&v, "format version"))
                    .transpose()
                    .map_err(storage_err)?
                    .unwrap_or(0);
                if found == migrate::FROM_VERSION {
                    migrate::run(&engine, &files).map_err(storage_err)?;
                } else if found != FORMAT_VERSION {
                    return Err(OpenError::UnsupportedVersion {
                        path: shown,
                        found,
                        supported: FORMAT_VERSION,
                    });
                }
            }
            Some(_) => {
                return Err(OpenError::NotADatabase {
                    path: shown,
                    reason: "its format marker is not recodb's".into(),
                })
            }
            None => {
                if !engine.is_blank() {
                    return Err(OpenError::NotADatabase {
                        path: shown,
                        reason: "a sled database without recodb's format marker".into(),
                    });
                }
                let writes = vec![
                    (Engine::tree_index(tree::META), meta::MAGIC.to_vec(), Some(MAGIC.to_vec())),
                    (
                        Engine::tree_index(tree::META),
                        meta::FORMAT_VERSION.to_vec(),
                        Some(FORMAT_VERSION.to_be_bytes().to_vec()),
                    ),
                ];
                engine.commit(writes).map_err(storage_err)?;
                engine.flush().map_err(storage_err)?;
            }
        }
        let store = Store {
            engine,
            files,
            path,
            writer: Mutex::new(()),
            visible: RwLock::new(()),
            relaxed: AtomicBool::new(false),
            unfinished: AtomicBool::new(false),
        };
        let durability = store.setting(DURABILITY_SETTING).map_err(storage_err)?;
        let relaxed = durability.is_some_and(|v| Durability::from_setting(&v) == Durability::Relaxed);
        store.relaxed.store(relaxed, Ordering::Relaxed);
        journal::finish_pending(&store.engine, &store.files).map_err(storage_err)?;
        store.sweep_unreferenced_files().map_err(storage_err)?;
        Ok(store)
    }

    /// The directory of the database; `None` for a temporary one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Runs `f` as one atomic write. Writers are serialised; if `f` returns an error, nothing it did is
    /// written (the blob files it wrote are removed). With [`Durability::Full`] the write is on disk when
    /// this returns `Ok`. The files of blobs the write replaced or deleted are removed once it is on
    /// disk, whatever the durability mode.
    pub fn write<T, E>(
        &self,
        f: impl FnOnce(&mut WriteTxn<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<StorageError>,
    {
        self.write_reporting(f, &mut |_, _| {})
    }

    /// Like [`Store::write`], calling `committed(done, total)` as the write's entries are committed: a
    /// large write commits in chunks (see `journal` in FORMAT.md), and can take seconds.
    pub fn write_reporting<T, E>(
        &self,
        f: impl FnOnce(&mut WriteTxn<'_>) -> std::result::Result<T, E>,
        committed: &mut dyn FnMut(u64, u64),
    ) -> std::result::Result<T, E>
    where
        E: From<StorageError>,
    {
        let _writer = self.writer.lock();
        if self.unfinished.load(Ordering::Relaxed) {
            let _visible = self.visible.write();
            journal::finish_pending(&self.engine, &self.files)?;
            self.unfinished.store(false, Ordering::Relaxed);
        }
        let mut txn = WriteTxn::new(&self.engine, &self.files)?;
        let out = f(&mut txn)?;
        let Prepared { writes, durability, blobs } = txn.finish()?;
        if blobs.wrote_files() {
            self.files.sync_dir()?;
        }
        let frees_files = blobs.frees_files();
        let staged = journal::stage(&self.files, writes)?;
        let (journal, obsolete) = {
            let _visible = self.visible.write();
            match staged {
                Staged::Direct(writes) => {
                    let total = writes.len() as u64;
                    self.engine.commit(writes)?;
                    committed(total, total);
                    (None, blobs.committed())
                }
                Staged::Journaled(journal) => {
                    journal.mark(&self.engine, &self.files)?;
                    // The journal names the blob files now; the files replaced are removed by the sweep
                    // of the next open if applying fails.
                    let obsolete = blobs.committed();
                    match journal.apply(&self.engine, committed) {
                        Ok(file) => (Some(file), obsolete),
                        Err(e) => {
                            // Part of the write is applied: the next write (or the next open) applies
                            // the rest before anything else.
                            self.unfinished.store(true, Ordering::Relaxed);
                            return Err(e.into());
                        }
                    }
                }
            }
        };
        if let Some(d) = durability {
            self.relaxed.store(d == Durability::Relaxed, Ordering::Relaxed);
        }
        if self.durability() == Durability::Full || frees_files || journal.is_some() {
            self.engine.flush()?;
        }
        if let Some(file) = journal {
            self.files.remove(file);
        }
        if !obsolete.is_empty() {
            // Readers open a blob's file while its entry is current (under the read lock), so none can
            // be between reading an entry this write removed and opening its file.
            let _visible = self.visible.write();
            for file in obsolete {
                self.files.remove(file);
            }
        }
        Ok(out)
    }

    /// The current durability mode.
    pub fn durability(&self) -> Durability {
        if self.relaxed.load(Ordering::Relaxed) {
            Durability::Relaxed
        } else {
            Durability::Full
        }
    }

    /// Flushes every committed write to disk.
    pub fn flush(&self) -> Result<()> {
        self.engine.flush()
    }

    /// Bytes the database takes on disk: sled's files and the blob files (see [`Store::disk_usage`]).
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.disk_usage()?.total())
    }

    /// Holds off writers' commits while the returned guard lives, so that several reads see one state.
    pub(crate) fn consistent(&self) -> parking_lot::RwLockReadGuard<'_, ()> {
        self.visible.read()
    }

    /// The internal id of a user or item key.
    pub fn id_of(&self, side: Side, key: &Key) -> Result<Option<u32>> {
        read_id(&self.engine, side, key)
    }

    /// The key of an internal id; `None` if no entity has that id (never assigned, or deleted).
    pub fn key_of(&self, side: Side, id: u32) -> Result<Option<Key>> {
        read_key(&self.engine, side, id)
    }

    /// Number of users or items.
    pub fn count(&self, side: Side) -> Result<u64> {
        read_meta_u64(&self.engine, count_key(side))
    }

    /// Number of stored interactions, held out or not.
    pub fn interaction_count(&self) -> Result<u64> {
        read_meta_u64(&self.engine, meta::INTERACTIONS)
    }

    /// Number of held-out interactions.
    pub fn holdout_count(&self) -> Result<u64> {
        read_meta_u64(&self.engine, meta::HOLDOUT)
    }

    /// A counter that changes with every write to users, items, interactions, tags or the holdout.
    pub fn data_version(&self) -> Result<u64> {
        read_meta_u64(&self.engine, meta::DATA_VERSION)
    }

    /// One past the largest id ever handed out on a side: the size of a dense array indexed by id.
    pub fn id_bound(&self, side: Side) -> Result<u32> {
        read_next_id(&self.engine, side)
    }

    /// A user's interactions (held out ones included), with weights and timestamps.
    pub fn user_row(&self, user: u32) -> Result<Option<Row>> {
        read_row(&self.engine, user)
    }

    /// The items of a user (held out ones included), or the users of an item.
    pub fn neighbours(&self, side: Side, id: u32) -> Result<Option<RoaringBitmap>> {
        read_bitmap(&self.engine, adjacency_tree(side), id)
    }

    /// The user's held-out items.
    pub fn holdout(&self, user: u32) -> Result<Option<RoaringBitmap>> {
        read_bitmap(&self.engine, tree::HOLDOUT, user)
    }

    /// The user's items (held out ones included) and its visible ones: those minus the held-out ones,
    /// which models train on and score from.
    pub fn user_items(&self, user: u32) -> Result<(RoaringBitmap, RoaringBitmap)> {
        let all = self.neighbours(Side::User, user)?.unwrap_or_default();
        let visible = match self.holdout(user)? {
            Some(held) => &all - held,
            None => all.clone(),
        };
        Ok((all, visible))
    }

    /// Up to `limit` entities of a side in id order, starting at id `from`.
    pub fn entities(&self, side: Side, from: u32, limit: usize) -> Result<Vec<(u32, Key)>> {
        let mut out = Vec::new();
        for entry in self.engine.scan_from(ids_tree(side), &idblock::locate(from).0) {
            let (k, v) = entry?;
            let first = idblock::first_id(&k)?;
            for (slot, key) in idblock::decode(&v)?.into_iter().enumerate() {
                let id = first + slot as u32;
                if let (Some(key), true) = (key, id >= from) {
                    if out.len() == limit {
                        return Ok(out);
                    }
                    out.push((id, Key::decode(key).ok_or_else(|| corrupt(format!("{side} {id}: bad key")))?));
                }
            }
        }
        Ok(out)
    }

    /// The tags of a user or item, sorted by name.
    pub fn entity_tags(&self, side: Side, id: u32) -> Result<Vec<String>> {
        let Some(tag_ids) = read_side_bitmap(&self.engine, tree::ENTITY_TAGS, side, id)? else {
            return Ok(Vec::new());
        };
        let mut names =
            tag_ids.iter().map(|t| read_tag_name(&self.engine, side, t)).collect::<Result<Vec<_>>>()?;
        names.sort();
        Ok(names)
    }

    /// An entity's display label (a title), if it has one.
    pub fn label(&self, side: Side, id: u32) -> Result<Option<String>> {
        read_label(&self.engine, side, id)
    }

    /// Whether any entity of `side` has a label (results then show a `label` column).
    pub fn has_labels(&self, side: Side) -> Result<bool> {
        Ok(self
            .engine
            .scan_from(tree::LABELS, &[side.byte()])
            .next()
            .transpose()?
            .is_some_and(|(k, _)| k.first() == Some(&side.byte())))
    }

    /// The entities carrying `tag`; `None` if no entity of that side ever had it.
    pub fn tag_members(&self, side: Side, tag: &str) -> Result<Option<RoaringBitmap>> {
        match read_tag_id(&self.engine, side, tag)? {
            Some(id) => {
                Ok(Some(read_side_bitmap(&self.engine, tree::TAG_MEMBERS, side, id)?.unwrap_or_default()))
            }
            None => Ok(None),
        }
    }

    /// The id of tag `name` of `side` (the id entities' tag rows hold); `None` if no entity of that side
    /// ever had it.
    pub fn tag_id(&self, side: Side, name: &str) -> Result<Option<u32>> {
        read_tag_id(&self.engine, side, name)
    }

    /// Every tag of a side with the number of entities carrying it, sorted by name.
    pub fn tags(&self, side: Side) -> Result<Vec<(String, u64)>> {
        let mut out = Vec::new();
        for entry in self.engine.scan_prefix(tree::TAG_NAMES, &[side.byte()]) {
            let (k, v) = entry?;
            let name = String::from_utf8(k[1..].to_vec()).map_err(|_| corrupt("tag name is not UTF-8"))?;
            let id = format::decode_u32(&v, "tag id")?;
            let members = read_side_bitmap(&self.engine, tree::TAG_MEMBERS, side, id)?.map_or(0, |b| b.len());
            if members > 0 {
                out.push((name, members));
            }
        }
        Ok(out)
    }

    /// A persisted setting (see `WriteTxn::set_setting`).
    pub fn setting(&self, name: &str) -> Result<Option<String>> {
        read_setting(&self.engine, name)
    }
}

/// Refuses a path that exists but cannot be a recodb database directory.
fn check_is_database_dir(path: &Path) -> Result<(), OpenError> {
    let not_db =
        |reason: &str| OpenError::NotADatabase { path: path.to_path_buf(), reason: reason.to_string() };
    match std::fs::metadata(path) {
        Ok(m) if !m.is_dir() => Err(not_db("it is a file; a recodb database is a directory")),
        Ok(_) => {
            let entries: Vec<_> = std::fs::read_dir(path)
                .map_err(|e| OpenError::Storage { path: path.to_path_buf(), source: e.into() })?
                .filter_map(|e| e.ok().map(|e| e.file_name()))
                .collect();
            let is_sled = entries.iter().any(|n| n == "conf") && entries.iter().any(|n| n == "db");
            if entries.is_empty() || is_sled {
                Ok(())
            } else {
                Err(not_db("the directory holds other files"))
            }
        }
        Err(_) => Ok(()),
    }
}
