//! The only module that touches sled: opening the database, its trees, atomic multi-tree commits and
//! flushing. Everything above works with byte keys and values through this interface.

use std::path::Path;

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use crate::error::{Result, StorageError};
use crate::format::tree;

/// An open sled database with all of recodb's trees.
pub(crate) struct Engine {
    db: sled::Db,
    trees: Vec<sled::Tree>,
}

/// One write of a commit: a tree (index into [`tree::ALL`]), a key, and the new value (`None` removes).
pub(crate) type Write = (usize, Vec<u8>, Option<Vec<u8>>);

/// How long opening waits for a file lock that a just-closed handle may still hold.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// How an engine failed to open, before recodb looks at its contents.
pub(crate) enum EngineOpenError {
    /// Another handle holds the file lock.
    Locked,
    /// Any other failure.
    Other(StorageError),
}

impl Engine {
    /// Opens (creating if needed) the sled database in directory `path`. sled releases its file lock
    /// only when its background flusher thread has stopped, a moment after the last handle is dropped
    /// (sled issue 1289), so a lock held when opening is retried for up to [`LOCK_WAIT`] before it is
    /// reported as held by another handle.
    pub(crate) fn open(path: &Path) -> std::result::Result<Engine, EngineOpenError> {
        let started = std::time::Instant::now();
        let mut pause = std::time::Duration::from_millis(5);
        loop {
            let config = sled::Config::new().path(path).flush_every_ms(Some(500));
            match Self::from_config(config) {
                Err(EngineOpenError::Locked) if started.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(std::time::Duration::from_millis(100));
                }
                result => return result,
            }
        }
    }

    /// Opens a fresh database that lives in memory (backed by a temporary file) and vanishes on drop.
    pub(crate) fn temporary() -> std::result::Result<Engine, EngineOpenError> {
        Self::from_config(sled::Config::new().temporary(true).flush_every_ms(Some(500)))
    }

    fn from_config(config: sled::Config) -> std::result::Result<Engine, EngineOpenError> {
        let db = config.open().map_err(|e| match e {
            sled::Error::Io(ref io) if io.kind() == std::io::ErrorKind::WouldBlock => EngineOpenError::Locked,
            sled::Error::Io(ref io) if io.to_string().contains("lock") => EngineOpenError::Locked,
            other => EngineOpenError::Other(other.into()),
        })?;
        let trees = tree::ALL
            .iter()
            .map(|name| db.open_tree(name))
            .collect::<sled::Result<Vec<_>>>()
            .map_err(|e| EngineOpenError::Other(e.into()))?;
        Ok(Engine { db, trees })
    }

    /// Index of a tree in [`tree::ALL`].
    pub(crate) fn tree_index(name: &str) -> usize {
        tree::ALL.iter().position(|t| *t == name).expect("tree names are constants of tree::ALL")
    }

    fn tree(&self, name: &str) -> &sled::Tree {
        &self.trees[Self::tree_index(name)]
    }

    /// Reads one value.
    pub(crate) fn get(&self, tree: &str, key: &[u8]) -> Result<Option<sled::IVec>> {
        Ok(self.tree(tree).get(key)?)
    }

    /// Iterates a whole tree in key order.
    pub(crate) fn scan(&self, tree: &str) -> impl Iterator<Item = Result<(sled::IVec, sled::IVec)>> + '_ {
        self.tree(tree).iter().map(|r| r.map_err(StorageError::from))
    }

    /// Iterates the entries whose key starts with `prefix`, in key order.
    pub(crate) fn scan_prefix(
        &self,
        tree: &str,
        prefix: &[u8],
    ) -> impl Iterator<Item = Result<(sled::IVec, sled::IVec)>> + '_ {
        self.tree(tree).scan_prefix(prefix).map(|r| r.map_err(StorageError::from))
    }

    /// Iterates entries with keys ≥ `start`, in key order.
    pub(crate) fn scan_from(
        &self,
        tree: &str,
        start: &[u8],
    ) -> impl Iterator<Item = Result<(sled::IVec, sled::IVec)>> + '_ {
        self.tree(tree).range(start.to_vec()..).map(|r| r.map_err(StorageError::from))
    }

    /// True if the database holds nothing at all: no entry in any tree, and no tree but recodb's.
    pub(crate) fn is_blank(&self) -> bool {
        let only_ours = self.db.tree_names().iter().all(|name| {
            name.as_ref() == b"__sled__default" || tree::ALL.iter().any(|t| t.as_bytes() == name.as_ref())
        });
        only_ours && self.db.is_empty() && self.trees.iter().all(|t| t.is_empty())
    }

    /// Number of entries in a tree (a full scan of its keys).
    pub(crate) fn len(&self, tree: &str) -> usize {
        self.tree(tree).len()
    }

    /// Applies all writes atomically across trees: after a crash, either all of them or none are present.
    pub(crate) fn commit(&self, writes: Vec<Write>) -> Result<()> {
        if writes.is_empty() {
            return Ok(());
        }
        let mut batches: Vec<Option<sled::Batch>> = (0..self.trees.len()).map(|_| None).collect();
        for (tree_idx, key, value) in writes {
            let batch = batches[tree_idx].get_or_insert_with(sled::Batch::default);
            match value {
                Some(v) => batch.insert(key, v),
                None => batch.remove(key),
            }
        }
        let (trees, batches): (Vec<&sled::Tree>, Vec<sled::Batch>) =
            self.trees.iter().zip(batches).filter_map(|(t, b)| b.map(|b| (t, b))).unzip();
        let result: std::result::Result<(), TransactionError<()>> = trees.as_slice().transaction(|views| {
            for (view, batch) in views.iter().zip(&batches) {
                view.apply_batch(batch)?;
            }
            Ok::<(), ConflictableTransactionError<()>>(())
        });
        match result {
            Ok(()) => Ok(()),
            Err(TransactionError::Storage(e)) => Err(e.into()),
            Err(TransactionError::Abort(())) => Err(StorageError::Engine("transaction aborted".into())),
        }
    }

    /// Writes everything committed so far to disk and waits for it.
    pub(crate) fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }

    /// Bytes the database takes on disk.
    pub(crate) fn size_on_disk(&self) -> Result<u64> {
        Ok(self.db.size_on_disk()?)
    }
}
