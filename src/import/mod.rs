//! Bulk import: reading interaction and entity files, then loading them into the store in one atomic write.

pub(crate) mod load;
pub mod read;

pub use load::{import, ImportSummary};
pub use read::{Entity, Format, ImportError, ImportErrorKind, ImportSpec, Target};
