//! Every limit on what recodb accepts, in one list. The parser's limits live in `recodb_query::limits`
//! and those of stored data in `recodb_storage::limits`, beside the code that enforces them; they are
//! re-exported here with the ones the executor and the importer enforce. Going past any of them is an
//! error that names the limit (with the spot in the statement, or the file and line of an import),
//! never a panic or a silent cut. README.md's "Limits" table lists the same figures.

pub use recodb_query::limits::{MAX_FILTER_DEPTH, MAX_LIST_LEN, MAX_STATEMENT_LEN};
pub use recodb_storage::hamming::MAX_BITS;
pub use recodb_storage::limits::{MAX_KEY_BYTES, MAX_LABEL_BYTES, MAX_TAGS_PER_ENTITY, MAX_TAG_BYTES};

/// The largest `TOP` of RECOMMEND, SIMILAR and EXPORT RECOMMENDATIONS, and the largest `RERANK`.
pub const MAX_TOP: u64 = 10_000;

/// The largest cut-off in EVALUATE's `AT`.
pub const MAX_CUTOFF: u64 = 1_000;

/// The longest line an import reads, in bytes without its line break (1 MiB): a file with longer
/// lines (a binary file, one without line breaks) is refused at the first one, naming its line.
pub const MAX_IMPORT_LINE_BYTES: usize = 1 << 20;
