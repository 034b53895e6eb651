//! recodb-storage: everything recodb keeps on disk, on sled, behind recodb's own API.
//!
//! A [`Store`] is one database: key dictionaries mapping user and item keys to dense `u32` ids,
//! interactions as roaring bitmaps in both directions (with optional weights and timestamps), tags with a
//! bitmap per tag, a holdout, and model blobs as validated rkyv archives. Every write goes through
//! [`Store::write`] and is atomic; [`Store::snapshot`] gives training a consistent CSR matrix.
//! `FORMAT.md` beside this crate describes every tree byte by byte. No sled type appears in this API.

mod blob;
mod engine;
mod error;
mod files;
mod format;
pub mod hamming;
mod idblock;
mod integrity;
mod journal;
mod key;
mod legacy;
pub mod limits;
mod migrate;
pub mod prefetch;
mod read;
mod record;
mod row;
mod side;
mod snapshot;
mod store;
mod write;

pub use blob::{read_archive, DiskUsage};
pub use error::{OpenError, Result, StorageError};
pub use files::BLOB_DIR;
pub use format::{Durability, DURABILITY_SETTING, FORMAT_VERSION};
pub use hamming::{CodeStore, HammingIndex};
pub use integrity::{IntegrityCheck, IntegrityReport};
pub use journal::set_commit_chunk_entries;
pub use key::{parse_u64, Key};
pub use rkyv;
pub use roaring::RoaringBitmap;
pub use row::{PairAttrs, Row, DEFAULT_WEIGHT, NO_TIME};
pub use side::Side;
pub use snapshot::{Snapshot, SnapshotPart, TagRows, TagSnapshot};
pub use store::Store;
pub use write::WriteTxn;
