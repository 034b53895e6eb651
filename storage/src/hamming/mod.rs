//! Hamming search over binary codes: a code store, run-time dispatched distance kernels, a linear scan,
//! exact multi-index hashing (MIH) with roaring filters, a planner that picks between them, and batch search.
//!
//! Everything here is independent of any model: a model hands a [`CodeStore`] of item codes to
//! [`HammingIndex::build`] and asks for the `k` nearest items of a query code, optionally restricted by an
//! [`Allowed`] set (a `WHERE` clause) and an excluded set (the user's own items). Results are exact and
//! follow one tie rule everywhere (see `scan.rs`): distance ascending, then lower id first.

mod codes;
mod cut;
mod filter;
mod idset;
mod index;
mod kernels;
mod mih;
mod plan;
mod scan;

pub use codes::{CodeStore, MAX_BITS};
pub use filter::{Allowed, Filter};
pub use idset::IdSet;
pub use index::{HammingIndex, IndexOptions, Searcher};
pub use kernels::Kernel;
pub use mih::Layout;
pub use plan::{Explain, Path};
pub use scan::{brute_force, Hit};
