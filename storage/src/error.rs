//! Errors of the storage engine: one enum for opening a database, one for everything after.

use std::path::PathBuf;

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The path exists but holds something other than a recodb database.
    #[error("'{path}' is not a recodb database ({reason})")]
    NotADatabase {
        /// The path given to open.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },
    /// The database was written by a recodb with another on-disk format.
    #[error("'{path}' has format version {found}; this recodb reads version {supported}")]
    UnsupportedVersion {
        /// The path given to open.
        path: PathBuf,
        /// The version stored in the database.
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },
    /// Another process (or handle) has the database open.
    #[error("'{path}' is locked by another process")]
    Locked {
        /// The path given to open.
        path: PathBuf,
    },
    /// Reading or initialising the database failed.
    #[error("cannot open '{path}': {source}")]
    Storage {
        /// The path given to open.
        path: PathBuf,
        /// The underlying failure.
        source: StorageError,
    },
}

/// A failure of a read or write after the database is open.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The engine underneath (sled) or the file system failed.
    #[error("storage engine error: {0}")]
    Engine(String),
    /// Bytes on disk do not decode as what the format says they are.
    #[error("corrupt database: {0}")]
    Corrupt(String),
    /// A limit of the format was reached (e.g. more than 2^32 users).
    #[error("limit reached: {0}")]
    Limit(String),
    /// A value is larger than a limit of [`crate::limits`] allows.
    #[error("{what} is too large: {got} {unit}, the limit is {max}")]
    TooLarge {
        /// What is too large ("a key").
        what: String,
        /// Its size.
        got: usize,
        /// The limit.
        max: usize,
        /// What the sizes count ("bytes", "tags").
        unit: &'static str,
    },
}

impl From<sled::Error> for StorageError {
    fn from(e: sled::Error) -> Self {
        match e {
            sled::Error::Corruption { .. } => StorageError::Corrupt(e.to_string()),
            other => StorageError::Engine(other.to_string()),
        }
    }
}

impl From<std::io::Error> for StorageError {
    fn from(e: std::io::Error) -> Self {
        StorageError::Engine(e.to_string())
    }
}

/// Shorthand for results of storage operations.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Builds a [`StorageError::Corrupt`] naming what failed to decode.
pub(crate) fn corrupt(what: impl Into<String>) -> StorageError {
    StorageError::Corrupt(what.into())
}
