//! `Database`: one open recodb database, shared by Python threads. Every call that reads or writes the
//! database releases the GIL while recodb works.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use numpy::ndarray::Array2;
use numpy::IntoPyArray;
use parking_lot::{Mutex, RwLock};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use recodb::{Entity, ErrorKind, ImportSummary, Key, Progress, Side, Value};

use crate::convert;
use crate::errors::{self, Error};
use crate::job::Job;
use crate::result::Result as PyResultSet;

/// An open recodb database: a directory on disk, or a temporary database in memory (`path=None`).
///
/// Use it as a context manager to close it at the end of a `with` block. One `Database` may be shared by
/// many Python threads: reads run concurrently and writes are serialised; long calls release the GIL.
#[pyclass(module = "recodb", subclass, frozen)]
pub struct Database {
    inner: RwLock<Option<Arc<recodb::Database>>>,
    path: Option<PathBuf>,
}

impl Database {
    /// The open database, or an error once it is closed.
    pub fn handle(&self) -> PyResult<Arc<recodb::Database>> {
        self.inner.read().clone().ok_or_else(|| Error::new_err("the database is closed"))
    }
}

/// Runs `work` on the database with the GIL released, turning its error into a Python exception.
fn detached<T: Send>(
    py: Python<'_>,
    db: &Arc<recodb::Database>,
    work: impl FnOnce(&recodb::Database) -> recodb::Result<T> + Send,
) -> PyResult<T> {
    py.detach(|| work(db)).map_err(errors::to_py)
}

/// A summary of a bulk write as a dict.
fn summary_dict<'py>(py: Python<'py>, s: &ImportSummary) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("records", s.records)?;
    dict.set_item("new_users", s.new_users)?;
    dict.set_item("new_items", s.new_items)?;
    dict.set_item("new_interactions", s.new_interactions)?;
    dict.set_item("new_tags", s.new_tags)?;
    Ok(dict)
}

/// `"name"`: an identifier quoted for the query language, so that any text is a name and never syntax.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Progress of a statement reported to a Python callable `(phase, done, total)`; Ctrl-C (a pending
/// `KeyboardInterrupt`) or an exception raised by the callable stops the statement.
struct PyProgress {
    callback: Option<Py<PyAny>>,
    stopped: Mutex<Option<PyErr>>,
    interrupted: AtomicBool,
}

/// Runs `statement` with the GIL released, its progress reported to `callback` and Ctrl-C checked at
/// each report; a statement stopped that way raises `KeyboardInterrupt` (or the callable's exception),
/// not recodb's `Cancelled`.
pub(crate) fn run_watched(
    py: Python<'_>,
    db: &recodb::Database,
    statement: &str,
    values: &[Value],
    callback: Option<Py<PyAny>>,
) -> PyResult<recodb::ResultSet> {
    let statement = recodb::query::parse_statement(statement).map_err(|e| errors::to_py(e.into()))?;
    let watcher = PyProgress { callback, stopped: Mutex::new(None), interrupted: AtomicBool::new(false) };
    let outcome = py.detach(|| db.run(&statement, values, &watcher));
    outcome.map_err(|e| match (e.kind(), watcher.stopped.lock().take()) {
        // Ctrl-C or the callable's own exception, not "cancelled".
        (ErrorKind::Cancelled(_), Some(raised)) => raised,
        _ => errors::to_py(e),
    })
}

impl Progress for PyProgress {
    fn update(&self, phase: &str, done: u64, total: u64) -> bool {
        if self.interrupted.load(Ordering::Relaxed) {
            return false;
        }
        Python::attach(|py| {
            let outcome = py.check_signals().and_then(|()| {
                self.callback.as_ref().map_or(Ok(()), |f| f.call1(py, (phase, done, total)).map(drop))
            });
            match outcome {
                Ok(()) => true,
                Err(e) => {
                    *self.stopped.lock() = Some(e);
                    self.interrupted.store(true, Ordering::Relaxed);
                    false
                }
            }
        })
    }
}

#[pymethods]
impl Database {
    /// Opens the database in directory `path` (created if absent), or a temporary one when `path` is
    /// None. With `read_only=True`, opens a private read-only copy of the directory (any number of
    /// processes may each open one); statements that change it raise `Conflict`.
    #[new]
    #[pyo3(signature = (path=None, read_only=false))]
    fn new(py: Python<'_>, path: Option<PathBuf>, read_only: bool) -> PyResult<Self> {
        if read_only && path.is_none() {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "read_only=True needs the path of a database",
            ));
        }
        let opened = py.detach(|| match &path {
            None => recodb::Database::open_temporary(),
            Some(p) if read_only => recodb::Database::open_read_only(p),
            Some(p) => recodb::Database::open(p),
        });
        let db = opened.map_err(errors::to_py)?;
        Ok(Database { inner: RwLock::new(Some(Arc::new(db))), path })
    }

    /// The database's directory, or None for a temporary database.
    #[getter]
    fn path(&self) -> Option<String> {
        self.path.as_ref().map(|p| p.display().to_string())
    }

    /// Whether the database was opened read-only.
    #[getter]
    fn read_only(&self) -> PyResult<bool> {
        Ok(self.handle()?.is_read_only())
    }

    /// Closes the database; background jobs still running are cancelled. Calls after closing raise
    /// `recodb.Error`. Closing twice is harmless.
    fn close(&self, py: Python<'_>) {
        let taken = self.inner.write().take();
        py.detach(|| drop(taken));
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> bool {
        self.close(py);
        false
    }

    /// Runs a script of statements separated by `;` and returns one `Result` per statement. The script is
    /// parsed whole first (a syntax error runs nothing); execution stops at the first failing statement.
    fn execute(&self, py: Python<'_>, script: &str) -> PyResult<Vec<PyResultSet>> {
        let db = self.handle()?;
        let sets = detached(py, &db, |db| db.execute(script))?;
        Ok(sets.into_iter().map(PyResultSet::new).collect())
    }

    /// Runs one statement with its `?` placeholders bound to `params`, in order: values, never spliced
    /// into the text. Keys are ints or strs.
    #[pyo3(signature = (statement, params=None))]
    fn query(
        &self,
        py: Python<'_>,
        statement: &str,
        params: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyResultSet> {
        let params: Vec<Value> = match params {
            Some(p) => p.try_iter()?.map(|v| convert::value(&v?)).collect::<PyResult<_>>()?,
            None => Vec::new(),
        };
        let db = self.handle()?;
        detached(py, &db, |db| db.query(statement, &params)).map(PyResultSet::new)
    }

    /// Inserts interactions from columns (NumPy arrays, pandas Series or sequences of equal length):
    /// `users[i]` interacted with `items[i]`, with weight `weights[i]` and time `times[i]` when given.
    /// One atomic write, no text. Returns a dict of counts.
    #[pyo3(signature = (users, items, weights=None, times=None))]
    fn insert_interactions<'py>(
        &self,
        py: Python<'py>,
        users: &Bound<'py, PyAny>,
        items: &Bound<'py, PyAny>,
        weights: Option<&Bound<'py, PyAny>>,
        times: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (users, items) = (convert::keys(users)?, convert::keys(items)?);
        let (weights, times) = (convert::floats(weights)?, convert::integers(times)?);
        let db = self.handle()?;
        let done = detached(py, &db, |db| {
            db.insert_interactions(&users, &items, weights.as_deref(), times.as_deref())
        })?;
        summary_dict(py, &done)
    }

    /// Adds items (if new) with their tags: `tags[i]` is a str, a list of strs or None for `keys[i]`.
    #[pyo3(signature = (keys, tags=None))]
    fn add_items<'py>(
        &self,
        py: Python<'py>,
        keys: &Bound<'py, PyAny>,
        tags: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        self.add(py, Side::Item, keys, tags)
    }

    /// Adds users (if new) with their tags: `tags[i]` is a str, a list of strs or None for `keys[i]`.
    #[pyo3(signature = (keys, tags=None))]
    fn add_users<'py>(
        &self,
        py: Python<'py>,
        keys: &Bound<'py, PyAny>,
        tags: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        self.add(py, Side::User, keys, tags)
    }

    /// The `k` best items of `model` for each of `users`, as RECOMMEND returns them one by one, computed
    /// in parallel: `(items, scores)`, two arrays of shape `(len(users), k)`. Items are an int64 array
    /// (-1 past the end of a short list) when every key is an integer key, else an object array (None
    /// past the end); scores are float64 (NaN past the end). `filter` is a WHERE clause without the
    /// `WHERE` (`"TAG = 'genre:Comedy'"`); with `exclude_seen=False` the users' own items may be
    /// recommended. A user the database does not know gets an empty row.
    #[pyo3(signature = (model, users, k=10, filter=None, exclude_seen=true))]
    fn recommend<'py>(
        &self,
        py: Python<'py>,
        model: &str,
        users: &Bound<'py, PyAny>,
        k: usize,
        filter: Option<&str>,
        exclude_seen: bool,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let users = convert::keys(users)?;
        let db = self.handle()?;
        let batch = detached(py, &db, |db| db.recommend_many(model, &users, k, filter, !exclude_seen))?;
        let shape = (users.len(), k);
        let bad_shape = |e: numpy::ndarray::ShapeError| Error::new_err(format!("internal error: {e}"));
        let all_ints =
            batch.items.iter().flatten().all(|key| matches!(key, Key::Int(v) if i64::try_from(*v).is_ok()));
        let items = if all_ints {
            let ids: Vec<i64> = batch
                .items
                .iter()
                .map(|key| match key {
                    Some(Key::Int(v)) => *v as i64,
                    _ => -1,
                })
                .collect();
            Array2::from_shape_vec(shape, ids).map_err(bad_shape)?.into_pyarray(py).into_any()
        } else {
            let objects = batch
                .items
                .iter()
                .map(|key| key.as_ref().map_or_else(|| Ok(py.None()), |k| convert::key_to_py(py, k)))
                .collect::<PyResult<Vec<Py<PyAny>>>>()?;
            Array2::from_shape_vec(shape, objects).map_err(bad_shape)?.into_pyarray(py).into_any()
        };
        let scores =
            Array2::from_shape_vec(shape, batch.scores).map_err(bad_shape)?.into_pyarray(py).into_any();
        PyTuple::new(py, [items, scores])
    }

    /// Trains `algorithm` into model `name` (default: the algorithm's name) with `params` (bound as
    /// values); see `recodb.Database.train`, which adds a progress bar. `progress(phase, done, total)`
    /// is called as training advances; Ctrl-C cancels. With `background=True`, returns a `Job` at once.
    #[pyo3(signature = (algorithm, name=None, params=None, background=false, progress=None))]
    fn _train(
        &self,
        py: Python<'_>,
        algorithm: &str,
        name: Option<&str>,
        params: Option<&Bound<'_, PyDict>>,
        background: bool,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let mut text = format!("TRAIN {}", quoted(algorithm));
        if let Some(name) = name {
            text.push_str(&format!(" AS {}", quoted(name)));
        }
        let mut values = Vec::new();
        if let Some(params) = params.filter(|p| !p.is_empty()) {
            let mut pairs = Vec::new();
            for (k, v) in params.iter() {
                pairs.push(format!("{} = ?", quoted(&k.cast::<PyString>()?.to_cow()?)));
                values.push(convert::value(&v)?);
            }
            text.push_str(&format!(" WITH ({})", pairs.join(", ")));
        }
        if background {
            text.push_str(" BACKGROUND");
        }
        let db = self.handle()?;
        let set = run_watched(py, &db, &text, &values, progress)?;
        if background {
            let job = set
                .row(0)
                .and_then(|r| r.get::<u64>("job").ok())
                .ok_or_else(|| Error::new_err("no job id"))?;
            Ok(Py::new(py, Job::new(db, job))?.into_any())
        } else {
            Ok(Py::new(py, PyResultSet::new(set))?.into_any())
        }
    }

    /// Counts that describe the database, as a dict (users, items, interactions, held_out, ...).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let db = self.handle()?;
        let s = detached(py, &db, |db| db.stats())?;
        let dict = PyDict::new(py);
        dict.set_item("users", s.users)?;
        dict.set_item("items", s.items)?;
        dict.set_item("interactions", s.interactions)?;
        dict.set_item("held_out", s.held_out)?;
        dict.set_item("user_tags", s.user_tags)?;
        dict.set_item("item_tags", s.item_tags)?;
        dict.set_item("density", s.density)?;
        dict.set_item("size_on_disk", s.size_on_disk)?;
        dict.set_item("size_data", s.size_data)?;
        dict.set_item("size_models", s.size_models)?;
        dict.set_item("size_free", s.size_free)?;
        dict.set_item("data_version", s.data_version)?;
        Ok(dict)
    }

    /// Verifies every invariant of the on-disk format; raises `CorruptError` on the first violation.
    fn check_integrity(&self, py: Python<'_>) -> PyResult<()> {
        let db = self.handle()?;
        detached(py, &db, |db| db.check_integrity()).map(drop)
    }

    fn __repr__(&self) -> String {
        let place = self.path.as_ref().map_or(":memory:".to_string(), |p| p.display().to_string());
        let state = if self.inner.read().is_some() { "" } else { ", closed" };
        format!("<recodb.Database {place}{state}>")
    }
}

impl Database {
    /// Adds users or items with their tags in one write.
    fn add<'py>(
        &self,
        py: Python<'py>,
        side: Side,
        keys: &Bound<'py, PyAny>,
        tags: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let keys = convert::keys(keys)?;
        let tags: Vec<Vec<String>> = match tags.filter(|t| !t.is_none()) {
            None => vec![Vec::new(); keys.len()],
            Some(tags) => tags
                .try_iter()?
                .map(|t| {
                    let t = t?;
                    if t.is_none() {
                        Ok(Vec::new())
                    } else if let Ok(one) = t.extract::<String>() {
                        Ok(vec![one])
                    } else {
                        t.extract::<Vec<String>>()
                    }
                })
                .collect::<PyResult<_>>()?,
        };
        if tags.len() != keys.len() {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "tags has {} entries for {} keys",
                tags.len(),
                keys.len()
            )));
        }
        let entities: Vec<Entity> =
            keys.into_iter().zip(tags).map(|(key, tags)| Entity { key, label: None, tags }).collect();
        let db = self.handle()?;
        let done = detached(py, &db, |db| db.add_entities(side, &entities))?;
        summary_dict(py, &done)
    }
}
