//! recodb: an embedded recommendation database.
//!
//! A [`Database`] is one directory on disk (or a temporary in-memory database). It stores users and
//! items under their own keys, their interactions as roaring bitmaps in both directions, tags, and the
//! models recodb learns. Data arrives through typed methods ([`Database::insert_interaction`], ...) or
//! bulk import ([`Database::import`]); [`Database::snapshot`] hands training a consistent CSR matrix.

mod db;
mod error;
pub mod eval;
mod exec;
pub mod import;
pub mod jobs;
pub mod models;
mod progress;
mod result;
pub mod synth;
pub mod value;

pub use db::{Database, EntityInfo, Interaction, Stats};
pub use error::{Error, Result};
pub use import::{Format, ImportError, ImportErrorKind, ImportSpec, ImportSummary, Target};
pub use progress::{NoProgress, Progress};
pub use recodb_storage::{IntegrityReport, Key, Side, Snapshot};
pub use result::{Column, ColumnRef, ColumnType, FromValue, ResultSet, Row};
pub use value::Value;

/// The query language: parser, AST and errors (the `recodb-query` crate).
pub use recodb_query as query;

/// The Rust examples of README.md, compiled and run as doc tests so that the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
