//! `recodb._recodb`: the native half of the Python package `recodb` (PyO3, abi3 for CPython ≥ 3.9).
//!
//! The Python package (`recodb/__init__.py`) re-exports what is defined here and adds `connect()` and the
//! progress bar of `Database.train`. Every call that works on the database releases the GIL, so Python
//! threads share one `Database`; results come back as typed Python values (keys as `int` or `str`, never
//! quoted text) or as NumPy arrays built from Rust buffers without a Python object per row.
//!
//! | module | job |
//! |---|---|
//! | `database` | the `Database` class: statements, bulk inserts, batch recommendation, training |
//! | `result` | the `Result` class: rows as tuples or dicts, columns as NumPy arrays, a DataFrame |
//! | `job` | the `Job` handle of a background TRAIN |
//! | `convert` | Python values and keys to recodb's and back |
//! | `errors` | the exception hierarchy and the mapping from `recodb::ErrorKind` |

mod convert;
mod database;
mod errors;
mod job;
mod result;

use pyo3::prelude::*;

/// The native module: classes and exceptions.
#[pymodule]
fn _recodb(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<database::Database>()?;
    m.add_class::<result::Result>()?;
    m.add_class::<job::Job>()?;
    errors::register(m)?;
    Ok(())
}
