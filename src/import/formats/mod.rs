//! Import file readers: each format turns a file into a stream of records, with errors that name the
//! file and line. Readers never touch the store; `load` does.

mod delimited;
mod error;
mod lightgcn;
mod movielens;
mod source;
mod spec;

pub use error::{ImportError, ImportErrorKind};
pub use spec::{Format, ImportSpec, Target};

use recodb_storage::Key;

use delimited::Delimited;

/// One interaction read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    /// The user's key.
    pub user: Key,
    /// The item's key.
    pub item: Key,
    /// The weight, if the file has a weight column.
    pub weight: Option<f32>,
    /// The timestamp, if the file has a time column.
    pub time: Option<i64>,
}

/// A user or item read from a file, with its tags.
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    /// The entity's key.
    pub key: Key,
    /// Its tags.
    pub tags: Vec<String>,
}

/// What a reader read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadStats {
    /// Lines read (including a header and empty lines).
    pub lines: u64,
    /// Records produced.
    pub records: u64,
    /// Records dropped by `min_weight`.
    pub skipped: u64,
}

/// Reads every interaction of the file. `progress(bytes_done, bytes_total)` is called every 64 KiB of
/// input and returns `false` to cancel.
pub fn read_interactions(
    spec: &ImportSpec,
    progress: &mut dyn FnMut(u64, u64) -> bool,
    sink: &mut dyn FnMut(Interaction),
) -> Result<ReadStats, ImportError> {
    let mut lines = source::Lines::open(&spec.path, progress)?;
    match spec.format {
        Format::Csv | Format::Tsv => Delimited::new(spec).read_interactions(&mut lines, sink),
        Format::Movielens => movielens::read_interactions(spec, &mut lines, sink),
        Format::Lightgcn => lightgcn::read_interactions(spec, &mut lines, sink),
    }
}

/// Reads every user or item (with tags) of the file; `progress` as for [`read_interactions`].
pub fn read_entities(
    spec: &ImportSpec,
    progress: &mut dyn FnMut(u64, u64) -> bool,
    sink: &mut dyn FnMut(Entity),
) -> Result<ReadStats, ImportError> {
    let mut lines = source::Lines::open(&spec.path, progress)?;
    match spec.format {
        Format::Csv | Format::Tsv => Delimited::new(spec).read_entities(&mut lines, sink),
        Format::Movielens => movielens::read_entities(spec, &mut lines, sink),
        Format::Lightgcn => Err(spec.option_error(
            "FORMAT lightgcn holds interactions only; import users or items as csv, tsv or movielens",
        )),
    }
}
