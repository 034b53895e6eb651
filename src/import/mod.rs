//! Bulk import: reading interaction and entity files, then loading them into the store in one atomic write.

mod load;
pub mod read;

pub use load::{import, ImportSummary};
pub use read::{Format, ImportError, ImportErrorKind, ImportSpec, Target};
