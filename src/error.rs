//! The error type of the recodb facade.

use recodb_storage::{OpenError, StorageError};

use crate::import::read::ImportError;

/// Everything a recodb call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The statement text does not parse; the error knows the line and column.
    #[error(transparent)]
    Parse(#[from] recodb_query::ParseError),
    /// The database could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A read or write of the store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// An import file could not be read; the database is unchanged.
    #[error("import failed: {0}")]
    Import(#[from] ImportError),
    /// The statement was cancelled (Ctrl-C, `CANCEL JOB`) and changed nothing.
    #[error("{0} cancelled")]
    Cancelled(&'static str),
    /// A request names something that does not exist, or asks for something invalid.
    #[error("{0}")]
    Invalid(String),
}

/// Shorthand for results of recodb calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;
