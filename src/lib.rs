//! recodb: an embedded recommendation database.
//!
//! A [`Database`] is one directory on disk (or a temporary in-memory database). It stores users and
//! items under their own keys, their interactions as roaring bitmaps in both directions, tags, and the
//! models recodb learns. Data arrives through typed methods ([`Database::insert_interaction`], ...) or
//! bulk import ([`Database::import`]); statements of the query language run through
//! [`Database::execute`] and [`Database::query`] (with bound `?` parameters) and return typed
//! [`ResultSet`]s; a failure is an [`Error`] whose [`ErrorKind`] a program can match and whose span
//! points into the statement text.
//!
//! # From text to rows
//!
//! `RECOMMEND user 42 TOP 10 USING taste` travels like this:
//!
//! 1. [`Database::query`] parses the text with the query crate ([`query::parse_statement`]): lexer,
//!    parser, an AST whose every literal and name keeps its span (`recodb-query`).
//! 2. `exec::run` (`src/exec/mod.rs`) builds the statement's `Context`: the database's parts (store,
//!    model catalog, jobs), a `Binder` for its literals and parameters, and its progress sink. It
//!    dispatches on the statement's kind to `exec::recommend::recommend`.
//! 3. The request is resolved (`exec/recommend.rs`): `TOP 10` is bound and checked (`exec/bind.rs`), the
//!    user key `42` becomes an internal id through the store's dictionary, `taste` is loaded from the
//!    catalog (`models/catalog.rs`; cached after its first use), the user's items are read as roaring
//!    bitmaps, and a `WHERE` clause becomes bitmap algebra (`exec/filter.rs`).
//! 4. Serving (`src/serve.rs`) retrieves the best items: a model with binary codes is searched exactly
//!    by the Hamming engine of the storage crate (`storage/src/hamming/`: multi-index hashing or a scan,
//!    filters and seen items applied before any distance is computed); any other model scores every
//!    item (`Model::score`) and the best are selected with recodb's tie rule (`models/topk.rs`). With
//!    `RERANK m USING other`, a second model orders the first one's `m` candidates.
//! 5. The ids are turned back into keys and rows of `rank`, `item` (each key as its own type) and
//!    `score` (`exec/rows.rs`); items deleted since training are skipped.
//!
//! An error on the way (an unknown user, `TOP -5`, a misspelt model name) carries the span of the
//! literal or name at fault, so that [`Error::render`] underlines it as a syntax error is underlined.
//! `ARCHITECTURE.md` lists every module; `docs/` holds the notes the code cites.

mod data;
mod db;
mod error;
pub mod eval;
mod exec;
pub mod import;
pub mod jobs;
pub mod limits;
pub mod models;
pub mod progress;
mod result;
pub mod serve;
pub mod synth;
mod training;
pub mod value;

pub use data::{EntityInfo, Interaction, Stats};
pub use db::Database;
pub use error::{Error, ErrorKind, Object, Result};
pub use exec::Recommendations;
pub use import::{Entity, Format, ImportError, ImportErrorKind, ImportSpec, ImportSummary, Target};
pub use progress::{NoProgress, Progress};
pub use recodb_storage::{IntegrityCheck, IntegrityReport, Key, OpenError, Side, Snapshot, StorageError};
pub use result::{Column, ColumnRef, ColumnType, FromValue, ResultSet, Row};
pub use value::Value;

/// The query language: parser, AST and errors (the `recodb-query` crate).
pub use recodb_query as query;

/// The Rust examples of README.md, compiled and run as doc tests so that the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
