//! Import errors: which file, which line, what was wrong.

use std::fmt;
use std::path::PathBuf;

/// What kind of failure an import hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportErrorKind {
    /// The file could not be opened or read.
    Io,
    /// A line of the file is malformed.
    Parse,
    /// The format or an option is unknown or invalid.
    Option,
    /// The import was cancelled.
    Cancelled,
}

/// An import failure. The database is unchanged when an import returns one.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportError {
    /// The file, as given.
    pub path: PathBuf,
    /// The 1-based line, when the error is about a line.
    pub line: Option<u64>,
    /// What kind of failure.
    pub kind: ImportErrorKind,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for ImportError {
    /// `'ratings.tsv', line 12: expected a number in column 'Rating', found 'x'`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}'", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ImportError {}
