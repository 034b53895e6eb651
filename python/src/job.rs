//! `Job`: the handle of a training job started with `background=True`.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use recodb::Value;

use crate::convert;
use crate::database::run_watched;
use crate::errors::{self, Error};
use crate::result::Result as PyResultSet;

/// A training job running in the background: follow it with `progress()`, wait for its model with
/// `wait()`, stop it with `cancel()` (it then publishes nothing).
#[pyclass(module = "recodb", frozen)]
pub struct Job {
    db: Arc<recodb::Database>,
    id: u64,
}

impl Job {
    /// The handle of job `id` of `db`.
    pub fn new(db: Arc<recodb::Database>, id: u64) -> Job {
        Job { db, id }
    }

    fn run(&self, py: Python<'_>, statement: &str) -> PyResult<recodb::ResultSet> {
        let params = [Value::Int(self.id as i64)];
        py.detach(|| self.db.query(statement, &params)).map_err(errors::to_py)
    }
}

#[pymethods]
impl Job {
    /// The job's id (as `SHOW JOBS` lists it).
    #[getter]
    fn id(&self) -> u64 {
        self.id
    }

    /// The job's row of `SHOW JOBS` as a dict: state, phase, progress (the phase's done fraction),
    /// elapsed and remaining seconds, and the message of a job that failed.
    fn progress<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let jobs = py.detach(|| self.db.query("SHOW JOBS LIMIT 100", &[])).map_err(errors::to_py)?;
        let row = jobs
            .rows()
            .find(|r| r.get::<u64>("id").ok() == Some(self.id))
            .ok_or_else(|| Error::new_err(format!("job {} is no longer recorded", self.id)))?;
        let dict = PyDict::new(py);
        for (column, value) in jobs.columns().iter().zip(row.values()) {
            dict.set_item(&column.name, convert::to_py(py, value)?)?;
        }
        Ok(dict)
    }

    /// Blocks (the GIL released) until the job ends; returns its row (model, version, seconds) when it
    /// published, raises `JobFailed` or `Cancelled` when it did not. `progress`, a callable `(phase,
    /// done, total)`, is called about every 100 ms. Ctrl-C stops the wait with `KeyboardInterrupt`;
    /// the job runs on (`cancel()` stops it).
    #[pyo3(signature = (progress=None))]
    fn wait(&self, py: Python<'_>, progress: Option<Py<PyAny>>) -> PyResult<PyResultSet> {
        let params = [Value::Int(self.id as i64)];
        run_watched(py, &self.db, "WAIT JOB ?", &params, progress).map(PyResultSet::new)
    }

    /// Cancels the job and waits until it has stopped; raises `Conflict` when it is not running.
    fn cancel(&self, py: Python<'_>) -> PyResult<PyResultSet> {
        self.run(py, "CANCEL JOB ?").map(PyResultSet::new)
    }

    fn __repr__(&self) -> String {
        format!("<recodb.Job {}>", self.id)
    }
}
