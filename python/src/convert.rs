//! Between Python values and recodb's: parameters and keys in, typed values and keys out. A key is an
//! `int` (a non-negative integer key) or a `str` (a string key) in both directions; a column of keys
//! may be a NumPy integer array, which is read without a Python object per key.

use numpy::PyReadonlyArray1;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString, PyTuple};
use recodb::{Key, Value};

/// A Python value as a recodb value (a bound `?` parameter or an option value).
pub fn value(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    if obj.is_none() {
        Ok(Value::Null)
    } else if obj.is_instance_of::<PyBool>() {
        Ok(Value::Bool(obj.extract()?))
    } else if obj.is_instance_of::<PyInt>() {
        match obj.extract::<i64>() {
            Ok(i) => Ok(Value::Int(i)),
            Err(_) => Ok(Value::Key(Key::Int(obj.extract::<u64>()?))),
        }
    } else if obj.is_instance_of::<PyFloat>() {
        Ok(Value::Float(obj.extract()?))
    } else if obj.is_instance_of::<PyString>() {
        Ok(Value::Text(obj.extract()?))
    } else if let Ok(i) = obj.call_method0("__index__").and_then(|i| i.extract::<i64>()) {
        // NumPy integer scalars.
        Ok(Value::Int(i))
    } else if let Ok(f) = obj.call_method0("__float__").and_then(|f| f.extract::<f64>()) {
        Ok(Value::Float(f))
    } else {
        Err(PyTypeError::new_err(format!(
            "a parameter must be None, a bool, an int, a float or a str, not {}",
            obj.get_type().name()?
        )))
    }
}

/// A Python `int` or `str` as a key.
pub fn key(obj: &Bound<'_, PyAny>) -> PyResult<Key> {
    if obj.is_instance_of::<PyString>() {
        return Ok(Key::Str(obj.extract()?));
    }
    if !obj.is_instance_of::<PyBool>() {
        if let Ok(i) = obj.call_method0("__index__").and_then(|i| i.extract::<u64>()) {
            return Ok(Key::Int(i));
        }
    }
    Err(PyTypeError::new_err(format!(
        "a key is a non-negative int or a str, not {}",
        obj.repr().map_or_else(|_| "this value".to_string(), |r| r.to_string())
    )))
}

/// A sequence of keys: a NumPy integer array of any stride (read directly, without a Python object
/// per key), or any iterable of `int`s and `str`s.
pub fn keys(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Key>> {
    array_keys::<i64>(obj)
        .or_else(|| array_keys::<i32>(obj))
        .or_else(|| array_keys::<u64>(obj))
        .or_else(|| array_keys::<u32>(obj))
        .unwrap_or_else(|| obj.try_iter()?.map(|item| key(&item?)).collect())
}

/// The keys of a one-dimensional NumPy array of `T`; `None` if `obj` is not one.
fn array_keys<T>(obj: &Bound<'_, PyAny>) -> Option<PyResult<Vec<Key>>>
where
    T: numpy::Element + Copy + TryInto<u64> + Into<i128>,
{
    let array = obj.extract::<PyReadonlyArray1<'_, T>>().ok()?;
    let keys = array.as_array().into_iter().map(|&k| {
        k.try_into()
            .map(Key::Int)
            .map_err(|_| PyValueError::new_err(format!("a key is a non-negative integer, got {}", k.into())))
    });
    Some(keys.collect())
}

/// An optional column of numbers as `f32` (weights).
pub fn floats(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<f32>>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else { return Ok(None) };
    if let Some(column) =
        array_column::<f32, f32>(obj, |w| w).or_else(|| array_column::<f64, f32>(obj, |w| w as f32))
    {
        return Ok(Some(column));
    }
    obj.try_iter()?.map(|w| w?.extract::<f64>().map(|w| w as f32)).collect::<PyResult<_>>().map(Some)
}

/// An optional column of integers (timestamps).
pub fn integers(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<i64>>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else { return Ok(None) };
    if let Some(column) =
        array_column::<i64, i64>(obj, |t| t).or_else(|| array_column::<i32, i64>(obj, i64::from))
    {
        return Ok(Some(column));
    }
    obj.try_iter()?.map(|t| t?.extract::<i64>()).collect::<PyResult<_>>().map(Some)
}

/// The values of a one-dimensional NumPy array of `T`, of any stride, each converted by `convert`;
/// `None` if `obj` is not one.
fn array_column<T: numpy::Element + Copy, U>(
    obj: &Bound<'_, PyAny>,
    convert: impl Fn(T) -> U,
) -> Option<Vec<U>> {
    let array = obj.extract::<PyReadonlyArray1<'_, T>>().ok()?;
    Some(array.as_array().iter().map(|&v| convert(v)).collect())
}

/// A recodb value as a Python object: keys as `int` or `str`, tags as a `tuple` of `str`, NULL as `None`.
pub fn to_py(py: Python<'_>, value: &Value) -> PyResult<Py<PyAny>> {
    Ok(match value {
        Value::Null => py.None(),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
        Value::Int(i) => i.into_pyobject(py)?.into_any().unbind(),
        Value::Float(f) => f.into_pyobject(py)?.into_any().unbind(),
        Value::Text(s) => s.into_pyobject(py)?.into_any().unbind(),
        Value::Key(k) => key_to_py(py, k)?,
        // A tuple: a result's values are not to be changed, and the empty tuple is one shared object,
        // so untagged rows cost no allocation.
        Value::Tags(tags) => PyTuple::new(py, tags)?.into_any().unbind(),
    })
}

/// A key as a Python `int` or `str`.
pub fn key_to_py(py: Python<'_>, key: &Key) -> PyResult<Py<PyAny>> {
    Ok(match key {
        Key::Int(k) => k.into_pyobject(py)?.into_any().unbind(),
        Key::Str(s) => s.into_pyobject(py)?.into_any().unbind(),
    })
}
