//! `Result`: the rows a statement returned, under named, typed columns. Iterate it for tuples, or take it
//! whole: `fetchall()`, `to_dicts()`, `to_numpy()` (one NumPy array per column, built from a Rust buffer
//! that NumPy takes over, without a Python object per row for numbers and integer keys) and `df()`.

use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use recodb::{ColumnType, Key, ResultSet, Value};

use crate::convert;

/// The rows a statement returned, under named, typed columns.
#[pyclass(module = "recodb", frozen)]
pub struct Result {
    set: ResultSet,
}

impl Result {
    /// A Python result over `set`.
    pub fn new(set: ResultSet) -> Result {
        Result { set }
    }

    fn row_tuple<'py>(&self, py: Python<'py>, values: &[Value]) -> PyResult<Bound<'py, PyTuple>> {
        let items = values.iter().map(|v| convert::to_py(py, v)).collect::<PyResult<Vec<_>>>()?;
        PyTuple::new(py, items)
    }

    /// Column `c` as a NumPy array: integers as int64 (float64 with NaN where a value is NULL), numbers as
    /// float64, booleans as bool, keys as int64 when they are all integer keys, else (and for text) an
    /// object array of `str`, `int` and `None`.
    fn column_array(&self, py: Python<'_>, c: usize) -> PyResult<Py<PyAny>> {
        let values = || self.set.rows().map(move |r| &r.values()[c]);
        let all_ints = values().all(|v| matches!(v, Value::Int(_)));
        let all_int_keys =
            values().all(|v| matches!(v, Value::Key(Key::Int(k)) if i64::try_from(*k).is_ok()));
        let ty = self.set.columns()[c].ty;
        Ok(match ty {
            ColumnType::Int if all_ints => values()
                .map(|v| v.as_i64().unwrap_or(0))
                .collect::<Vec<i64>>()
                .into_pyarray(py)
                .into_any()
                .unbind(),
            ColumnType::Int | ColumnType::Float => values()
                .map(|v| v.as_f64().unwrap_or(f64::NAN))
                .collect::<Vec<f64>>()
                .into_pyarray(py)
                .into_any()
                .unbind(),
            ColumnType::Bool if values().all(|v| matches!(v, Value::Bool(_))) => values()
                .map(|v| v.as_bool().unwrap_or(false))
                .collect::<Vec<bool>>()
                .into_pyarray(py)
                .into_any()
                .unbind(),
            ColumnType::Key if all_int_keys => values()
                .map(|v| match v {
                    Value::Key(Key::Int(k)) => *k as i64,
                    _ => 0,
                })
                .collect::<Vec<i64>>()
                .into_pyarray(py)
                .into_any()
                .unbind(),
            _ => values()
                .map(|v| convert::to_py(py, v))
                .collect::<PyResult<Vec<Py<PyAny>>>>()?
                .into_pyarray(py)
                .into_any()
                .unbind(),
        })
    }
}

#[pymethods]
impl Result {
    /// The column names, in order.
    #[getter]
    fn columns(&self) -> Vec<String> {
        self.set.columns().iter().map(|c| c.name.clone()).collect()
    }

    /// Sentences on where this answer could mislead or what was done instead (a model evaluated on
    /// data it has seen, a popularity fallback, the model that answered a query without USING);
    /// usually empty.
    #[getter]
    fn notices(&self) -> Vec<String> {
        self.set.notices().to_vec()
    }

    /// The number of rows.
    fn __len__(&self) -> usize {
        self.set.len()
    }

    /// The rows as tuples.
    fn __iter__(slf: PyRef<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let rows = slf.fetchall(py)?;
        Ok(rows.call_method0("__iter__")?.unbind())
    }

    /// Row `i` as a tuple (negative indexes count from the end).
    fn __getitem__<'py>(&self, py: Python<'py>, i: isize) -> PyResult<Bound<'py, PyTuple>> {
        let n = self.set.len() as isize;
        let at = if i < 0 { i + n } else { i };
        let row = (0..n)
            .contains(&at)
            .then(|| self.set.row(at as usize))
            .flatten()
            .ok_or_else(|| pyo3::exceptions::PyIndexError::new_err(format!("row {i} of {n}")))?;
        self.row_tuple(py, row.values())
    }

    /// Every row as a tuple.
    fn fetchall<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rows = self.set.rows().map(|r| self.row_tuple(py, r.values())).collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, rows)
    }

    /// Every row as a dict from column name to value.
    fn to_dicts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let names = self.columns();
        let rows = self
            .set
            .rows()
            .map(|r| {
                let dict = PyDict::new(py);
                for (name, v) in names.iter().zip(r.values()) {
                    dict.set_item(name, convert::to_py(py, v)?)?;
                }
                Ok(dict)
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, rows)
    }

    /// The columns as a dict of NumPy arrays (see the class doc for the types).
    fn to_numpy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (c, column) in self.set.columns().iter().enumerate() {
            dict.set_item(&column.name, self.column_array(py, c)?)?;
        }
        Ok(dict)
    }

    /// The rows as a pandas DataFrame (pandas must be installed).
    fn df<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let pandas = py.import("pandas")?;
        let frame = pandas.getattr("DataFrame")?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("columns", self.columns())?;
        frame.call((self.to_numpy(py)?,), Some(&kwargs))
    }

    fn __repr__(&self) -> String {
        format!("<recodb.Result: {} rows of {}>", self.set.len(), self.columns().join(", "))
    }
}
