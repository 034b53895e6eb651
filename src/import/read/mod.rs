//! Import file readers: each format turns a file into a stream of records, with errors that name the
//! file and the line. Readers never touch the store; the loader does.
//!
//! Files named `*.gz` or starting with the gzip magic bytes are decompressed transparently. Empty lines
//! and CRLF line ends are accepted everywhere. The options of each format are checked by
//! [`ImportSpec::new`]:
//!
//! | format | target | option | value | default |
//! |---|---|---|---|---|
//! | `tsv`, `csv` | all | `header` | true/false: the first line names the columns | false; true when a column is named |
//! | `tsv`, `csv` | all | `delimiter` | one ASCII character (`'tab'` for a tab) | tab (tsv), comma (csv) |
//! | `tsv`, `csv` | all | `keys` | `'auto'`: digits make integer keys, else string keys; `'string'`: all string keys | `'auto'` |
//! | `tsv`, `csv` | interactions | `user`, `item` | a column: 0-based index, or header name | 0 and 1 |
//! | `tsv`, `csv` | interactions | `weight`, `time` | a column (time: integer timestamps) | none |
//! | `tsv`, `csv` | interactions | `min_weight` | a number: keep records with weight ≥ it (needs `weight`) | keep all |
//! | `tsv`, `csv` | users, items | `key` | a column | 0 |
//! | `tsv`, `csv` | users, items | `tags` | a column, or a comma-separated list of names/indexes | every other column |
//! | `tsv`, `csv` | users, items | `tag_separator` | a string that splits one field into several tags | none |
//! | `tsv`, `csv` | all | `columns` | names for the columns, comma-separated: the file has no header line (unless `header = true`, whose names they replace) | none |
//! | all | all | `encoding` | a WHATWG encoding label (`'latin1'` reads Windows-1252): the file is transcoded to UTF-8 | UTF-8 |
//! | `movielens` | interactions | `min_weight`, `keys` | as above | |
//! | `movielens` | users, items | `keys` | as above | |
//! | `lightgcn` | interactions | `keys` | as above | |
//!
//! A column is a 0-based index (an integer, or text of digits such as `'2'`) or a header name.
//! A tag is `column:value` when the file's columns have names, from its header or from `columns`
//! (`genres:Comedy`), else just `value`; empty fields give no tag. A field that is not UTF-8 (in a file
//! read without `encoding`) is an error naming the byte and the option. MovieLens users get `gender:`, `age:` and `occupation:` tags, items `genre:` tags.

mod delimited;
mod error;
mod field;
mod format;
mod lightgcn;
mod movielens;
mod options;
mod record;
mod rows;
mod source;
#[cfg(test)]
mod tests;

pub use error::{ImportError, ImportErrorKind};
pub use format::{Format, Target};
pub use movielens::year_bucket;
pub use options::ImportSpec;
pub use record::{Entity, Interaction, ReadStats, UnreadColumn};

use error::At;
use rows::{CsvRows, SplitRows};
use source::{Lines, Source};

/// Reads every interaction of the file into `sink`. `progress(bytes_done, bytes_total)` is called about
/// every 64 KiB of the file (compressed bytes for a gzip file) and returns `false` to cancel, which
/// ends the read with an error of kind [`ImportErrorKind::Cancelled`].
pub fn read_interactions(
    spec: &ImportSpec,
    progress: &mut dyn FnMut(u64, u64) -> bool,
    sink: &mut dyn FnMut(Interaction),
) -> Result<ReadStats, ImportError> {
    let file = At { path: &spec.path, line: None };
    if spec.target != Target::Interactions {
        return Err(file.option(format!("this import is of {}, not interactions", spec.target)));
    }
    let source = Source::open(&spec.path, spec.encoding, progress)?;
    match spec.format {
        Format::Tsv => {
            delimited::read_interactions(spec, &mut SplitRows::new(source, spec.delimiter), file, sink)
        }
        Format::Csv => {
            delimited::read_interactions(spec, &mut CsvRows::new(source, spec.delimiter), file, sink)
        }
        Format::Movielens => movielens::read_interactions(spec, &mut Lines::new(source), sink),
        Format::Lightgcn => lightgcn::read_interactions(spec, &mut Lines::new(source), sink),
    }
}

/// Reads every user or item (with its tags) of the file into `sink`; `progress` as for
/// [`read_interactions`].
pub fn read_entities(
    spec: &ImportSpec,
    progress: &mut dyn FnMut(u64, u64) -> bool,
    sink: &mut dyn FnMut(Entity),
) -> Result<ReadStats, ImportError> {
    let file = At { path: &spec.path, line: None };
    if spec.target == Target::Interactions || spec.format == Format::Lightgcn {
        return Err(file.option(format!("FORMAT {} {} holds no users or items", spec.format, spec.target)));
    }
    let source = Source::open(&spec.path, spec.encoding, progress)?;
    match spec.format {
        Format::Tsv => {
            delimited::read_entities(spec, &mut SplitRows::new(source, spec.delimiter), file, sink)
        }
        Format::Csv => delimited::read_entities(spec, &mut CsvRows::new(source, spec.delimiter), file, sink),
        Format::Movielens | Format::Lightgcn => movielens::read_entities(spec, &mut Lines::new(source), sink),
    }
}
