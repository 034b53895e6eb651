//! The exception hierarchy: `recodb.Error` and one subclass per kind of `recodb::ErrorKind`, each
//! carrying what the Rust error knows as attributes (`kind`, `message`, `line`, `column`, `offset`,
//! `length`, `suggestion`, and for file errors `path` and `file_line`). The message (`str(e)`) is the
//! shell's: `line L, column C: ...` when the error points into the statement.

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use recodb::ErrorKind;

pyo3::create_exception!(recodb, Error, PyException, "Every error recodb raises.");
pyo3::create_exception!(recodb, ParseError, Error, "The statement text does not parse.");
pyo3::create_exception!(recodb, NotFound, Error, "A statement names something that does not exist.");
pyo3::create_exception!(recodb, InvalidArgument, Error, "A value is of the wrong type or out of range.");
pyo3::create_exception!(recodb, Unsupported, Error, "The model or statement cannot do what is asked.");
pyo3::create_exception!(recodb, Conflict, Error, "The database's state does not allow the statement now.");
pyo3::create_exception!(recodb, JobFailed, Error, "A training job that was waited for failed.");
pyo3::create_exception!(recodb, Cancelled, Error, "The statement or job was cancelled and changed nothing.");
pyo3::create_exception!(recodb, FileError, Error, "A file could not be read, imported or written.");
pyo3::create_exception!(recodb, StorageError, Error, "The database could not be opened, read or written.");
pyo3::create_exception!(recodb, CorruptError, Error, "Data read back from the database is invalid.");
pyo3::create_exception!(recodb, InternalError, Error, "A bug in recodb.");

/// Adds the exceptions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Error", py.get_type::<Error>())?;
    m.add("ParseError", py.get_type::<ParseError>())?;
    m.add("NotFound", py.get_type::<NotFound>())?;
    m.add("InvalidArgument", py.get_type::<InvalidArgument>())?;
    m.add("Unsupported", py.get_type::<Unsupported>())?;
    m.add("Conflict", py.get_type::<Conflict>())?;
    m.add("JobFailed", py.get_type::<JobFailed>())?;
    m.add("Cancelled", py.get_type::<Cancelled>())?;
    m.add("FileError", py.get_type::<FileError>())?;
    m.add("StorageError", py.get_type::<StorageError>())?;
    m.add("CorruptError", py.get_type::<CorruptError>())?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    Ok(())
}

/// The Python exception for a recodb error.
pub fn to_py(error: recodb::Error) -> PyErr {
    Python::attach(|py| {
        let text = error.to_string();
        let err = match error.kind() {
            ErrorKind::Parse(_) => ParseError::new_err(text),
            ErrorKind::NotFound { .. } => NotFound::new_err(text),
            ErrorKind::InvalidArgument { .. } => InvalidArgument::new_err(text),
            ErrorKind::Unsupported(_) => Unsupported::new_err(text),
            ErrorKind::Conflict(_) => Conflict::new_err(text),
            ErrorKind::JobFailed { .. } => JobFailed::new_err(text),
            ErrorKind::Cancelled(_) => Cancelled::new_err(text),
            ErrorKind::Import(_) | ErrorKind::Io { .. } => FileError::new_err(text),
            ErrorKind::Open(_) | ErrorKind::Storage(_) => StorageError::new_err(text),
            ErrorKind::Corrupt(_) => CorruptError::new_err(text),
            _ => InternalError::new_err(text),
        };
        if let Err(e) = describe(py, &err, &error) {
            return e;
        }
        err
    })
}

/// Sets the attributes of the exception `err` from `error`.
fn describe(py: Python<'_>, err: &PyErr, error: &recodb::Error) -> PyResult<()> {
    let value = err.value(py);
    let span = error.span();
    value.setattr("kind", error.kind().code())?;
    value.setattr("message", error.message())?;
    value.setattr("line", span.map(|s| s.start.line))?;
    value.setattr("column", span.map(|s| s.start.column))?;
    value.setattr("offset", span.map(|s| s.start.offset))?;
    value.setattr("length", span.map(|s| s.len()))?;
    value.setattr("suggestion", error.suggestion())?;
    let (path, file_line) = match error.kind() {
        ErrorKind::Import(e) => (Some(e.path.display().to_string()), e.line),
        ErrorKind::Io { path, .. } => (Some(path.display().to_string()), None),
        _ => (None, None),
    };
    value.setattr("path", path)?;
    value.setattr("file_line", file_line)?;
    let what = match error.kind() {
        ErrorKind::NotFound { what, .. } => Some(what.name()),
        _ => None,
    };
    value.setattr("what", what)?;
    Ok(())
}
