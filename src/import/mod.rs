//! Bulk import: reading interaction and entity files, then loading them into the store in one atomic write.

pub mod formats;
mod load;

pub use formats::{Format, ImportError, ImportErrorKind, ImportSpec, Target};
pub use load::{import, ImportSummary};
