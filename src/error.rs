//! The error type of the recodb facade.
//!
//! An [`Error`] is data: a [`ErrorKind`] a program can match on (`NotFound { what: Object::Model, .. }`,
//! `InvalidArgument { name: "TOP", .. }`, ...), the [`Span`] of the statement text at fault when there
//! is one (the literal, name or clause, or else the whole statement), and a message for people.
//! [`Error::render`] underlines the spot in the text exactly as a syntax error is underlined:
//!
//! ```text
//! 1 | RECOMMEND user 1 TOP -5 USING taste
//!   |                      ^^ TOP must be a non-negative integer, got -5
//! ```
//!
//! Names that are close to a known one (models, algorithms, parameters, options, tags) come with a
//! suggestion ([`Error::suggestion`]), also part of the message: `no model named 'tast'; did you mean
//! 'taste'?`.

use std::fmt;
use std::path::PathBuf;

use recodb_query::{ParseError, Span};
use recodb_storage::{OpenError, StorageError};

use crate::import::read::{ImportError, ImportErrorKind};

/// What kind of thing a [`ErrorKind::NotFound`] could not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Object {
    /// A user key.
    User,
    /// An item key.
    Item,
    /// A trained model.
    Model,
    /// A training job.
    Job,
    /// A training algorithm (`TRAIN name`).
    Algorithm,
    /// A parameter of an algorithm (`TRAIN ... WITH (name = ...)`).
    Parameter,
    /// An option of a statement (`SET name`, `EVALUATE ... WITH`, `IMPORT ... WITH`).
    Option,
    /// A tag in a `WHERE TAG` filter.
    Tag,
    /// A column of a result set.
    Column,
    /// A code of a binary model (an item that arrived after training and cannot be folded in).
    Code,
}

impl Object {
    /// The object's name in messages (`model`, `user`).
    pub fn name(self) -> &'static str {
        match self {
            Object::User => "user",
            Object::Item => "item",
            Object::Model => "model",
            Object::Job => "job",
            Object::Algorithm => "algorithm",
            Object::Parameter => "parameter",
            Object::Option => "option",
            Object::Tag => "tag",
            Object::Column => "column",
            Object::Code => "code",
        }
    }
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What went wrong, as a program matches it.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The statement text does not parse; the parse error knows the line and column.
    Parse(ParseError),
    /// The database could not be opened.
    Open(OpenError),
    /// The storage engine or the file system failed (not a mistake in the statement).
    Storage(StorageError),
    /// An import file could not be read; the database is unchanged. The error names the file and line.
    Import(ImportError),
    /// A statement names something that does not exist.
    NotFound {
        /// What kind of thing.
        what: Object,
        /// The name or key as the statement gave it (`'emma'`, `42`, `tast`).
        key: String,
        /// A known name close to `key`, if any.
        suggestion: Option<String>,
    },
    /// A value is of the wrong type or out of range.
    InvalidArgument {
        /// What the value is for (`TOP`, `lambda`, `the holdout fraction`).
        name: String,
        /// What is accepted (`a non-negative integer`, `an integer from 1 to 1024`).
        expected: String,
        /// The value given, as written.
        got: String,
    },
    /// The request is valid but this model or statement cannot do it (EXPLAIN of a model without
    /// binary codes, SIMILAR USER of a model without user codes, EASE over too many items).
    Unsupported(String),
    /// The database's state does not allow the statement now (nothing held out to evaluate against, a
    /// job that is not running, no trained model to use).
    Conflict(String),
    /// A training job that `WAIT JOB` waited for failed; it published nothing.
    JobFailed {
        /// The job's id.
        job: u64,
        /// Why it failed.
        message: String,
    },
    /// Data read back from the database is invalid (a model blob that validates but disagrees with
    /// itself, or bytes that do not decode). Nothing the statement did caused it.
    Corrupt(String),
    /// The statement or job was cancelled (Ctrl-C, `CANCEL JOB`) and changed nothing. Holds what was
    /// cancelled (`training`, `import`, `export`).
    Cancelled(String),
    /// A file could not be written (EXPORT).
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// A bug in recodb: an invariant of its own code does not hold. Never the user's mistake.
    Internal(String),
}

impl ErrorKind {
    /// A stable snake-case name of the kind, for programs and JSON output (`not_found`).
    pub fn code(&self) -> &'static str {
        match self {
            ErrorKind::Parse(_) => "parse",
            ErrorKind::Open(_) => "open",
            ErrorKind::Storage(_) => "storage",
            ErrorKind::Import(_) => "import",
            ErrorKind::NotFound { .. } => "not_found",
            ErrorKind::InvalidArgument { .. } => "invalid_argument",
            ErrorKind::Unsupported(_) => "unsupported",
            ErrorKind::Conflict(_) => "conflict",
            ErrorKind::JobFailed { .. } => "job_failed",
            ErrorKind::Corrupt(_) => "corrupt",
            ErrorKind::Cancelled(_) => "cancelled",
            ErrorKind::Io { .. } => "io",
            ErrorKind::Internal(_) => "internal",
        }
    }
}

/// Everything a recodb call can fail with: a kind, a message and, for a statement, where in its text.
pub struct Error(Box<Inner>);

struct Inner {
    kind: ErrorKind,
    message: String,
    span: Option<Span>,
}

impl Error {
    /// An error of `kind` with `message` (the text shown to people, without a position).
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error(Box::new(Inner { kind, message: message.into(), span: None }))
    }

    /// `name` must be `expected`, but is `got`.
    pub(crate) fn invalid(
        name: impl Into<String>,
        expected: impl Into<String>,
        got: impl Into<String>,
    ) -> Error {
        let (name, expected, got) = (name.into(), expected.into(), got.into());
        let message = format!("{name} must be {expected}, got {got}");
        Error::new(ErrorKind::InvalidArgument { name, expected, got }, message)
    }

    /// No `what` called `key`; the message is `message`, followed by a suggestion when `key` is close
    /// to one of `known`, and by `hint` in parentheses when given.
    pub(crate) fn not_found<'k>(
        what: Object,
        key: impl Into<String>,
        message: impl Into<String>,
        known: impl IntoIterator<Item = &'k str>,
        hint: &str,
    ) -> Error {
        let key = key.into();
        let suggestion = closest(key.trim_matches('\''), known).map(str::to_string);
        let mut message = message.into();
        if let Some(s) = &suggestion {
            message.push_str(&format!("; did you mean '{s}'?"));
        }
        if !hint.is_empty() {
            message.push_str(&format!(" ({hint})"));
        }
        Error::new(ErrorKind::NotFound { what, key, suggestion }, message)
    }

    /// The model or statement cannot do what is asked.
    pub(crate) fn unsupported(message: impl Into<String>) -> Error {
        let message = message.into();
        Error::new(ErrorKind::Unsupported(message.clone()), message)
    }

    /// The database's state does not allow the statement now.
    pub(crate) fn conflict(message: impl Into<String>) -> Error {
        let message = message.into();
        Error::new(ErrorKind::Conflict(message.clone()), message)
    }

    /// Invalid data read back from the database.
    pub(crate) fn corrupt(message: impl Into<String>) -> Error {
        let message = message.into();
        Error::new(ErrorKind::Corrupt(message.clone()), message)
    }

    /// `what` (training, import, export) was cancelled.
    pub(crate) fn cancelled(what: &str) -> Error {
        Error::new(ErrorKind::Cancelled(what.to_string()), format!("{what} cancelled"))
    }

    /// Writing `path` failed with `cause`.
    pub(crate) fn io(path: &std::path::Path, cause: impl fmt::Display) -> Error {
        let message = cause.to_string();
        let text = format!("cannot write {}: {message}", path.display());
        Error::new(ErrorKind::Io { path: path.to_path_buf(), message }, text)
    }

    /// A bug: an invariant of recodb's own code does not hold.
    pub(crate) fn internal(message: impl Into<String>) -> Error {
        let message = message.into();
        let text = format!("internal error (a bug in recodb; please report it): {message}");
        Error::new(ErrorKind::Internal(message), text)
    }

    /// The same error with ` (for what)` after its message, naming what the argument belonged to.
    pub(crate) fn in_context(mut self, what: &str) -> Error {
        self.0.message.push_str(&format!(" (for {what})"));
        self
    }

    /// Points the error at `span` of the statement text, unless it already points somewhere.
    pub(crate) fn at(mut self, span: Span) -> Error {
        if self.0.span.is_none() && !matches!(self.0.kind, ErrorKind::Parse(_)) {
            self.0.span = Some(span);
        }
        self
    }

    /// What went wrong, to match on.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// The message for people, without the position.
    pub fn message(&self) -> &str {
        match &self.0.kind {
            ErrorKind::Parse(e) => &e.message,
            _ => &self.0.message,
        }
    }

    /// Where in the statement text the error is: the offending literal, name or clause (or the whole
    /// statement). Positions are relative to the text given to `execute` or `query`. `None` for errors
    /// that are not about a statement (opening a database, a typed API call).
    pub fn span(&self) -> Option<Span> {
        match &self.0.kind {
            ErrorKind::Parse(e) => Some(e.span()),
            _ => self.0.span,
        }
    }

    /// The known name suggested for a misspelt one, if any.
    pub fn suggestion(&self) -> Option<&str> {
        match &self.0.kind {
            ErrorKind::NotFound { suggestion, .. } => suggestion.as_deref(),
            _ => None,
        }
    }

    /// A caret excerpt of `source` (the text that was run) underlining the spot, then the message; just
    /// the message when the error has no position.
    ///
    /// ```text
    /// 1 | RECOMMEND user 'zoe' TOP 5 USING taste
    ///   |                ^^^^^ no user with key 'zoe'
    /// ```
    pub fn render(&self, source: &str) -> String {
        match self.span() {
            Some(span) => recodb_query::excerpt(source, span, self.message()),
            None => self.message().to_string(),
        }
    }
}

/// `line L, column C: message` when the error has a position, else the message.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.span() {
            Some(span) => {
                write!(f, "line {}, column {}: {}", span.start.line, span.start.column, self.message())
            }
            None => f.write_str(self.message()),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.0.kind)
            .field("message", &self.message())
            .field("span", &self.span().map(|s| (s.start.line, s.start.column, s.len())))
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0.kind {
            ErrorKind::Parse(e) => Some(e),
            ErrorKind::Open(e) => Some(e),
            ErrorKind::Storage(e) => Some(e),
            ErrorKind::Import(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ParseError> for Error {
    fn from(e: ParseError) -> Self {
        Error::new(ErrorKind::Parse(e), String::new())
    }
}

impl From<OpenError> for Error {
    fn from(e: OpenError) -> Self {
        let message = e.to_string();
        Error::new(ErrorKind::Open(e), message)
    }
}

/// Undecodable bytes become [`ErrorKind::Corrupt`]; other storage failures [`ErrorKind::Storage`].
impl From<StorageError> for Error {
    fn from(e: StorageError) -> Self {
        let message = e.to_string();
        match e {
            StorageError::Corrupt(what) => Error::new(ErrorKind::Corrupt(what), message),
            StorageError::TooLarge { what, got, max, unit } => {
                Error::invalid(what, format!("at most {max} {unit}"), format!("{got} {unit}"))
            }
            other => Error::new(ErrorKind::Storage(other), message),
        }
    }
}

/// A cancelled import becomes [`ErrorKind::Cancelled`]; other import failures [`ErrorKind::Import`].
impl From<ImportError> for Error {
    fn from(e: ImportError) -> Self {
        if e.kind == ImportErrorKind::Cancelled {
            return Error::cancelled("import");
        }
        let message = format!("import failed: {e}");
        Error::new(ErrorKind::Import(e), message)
    }
}

/// Shorthand for results of recodb calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Points the error of a result at a span of the statement text (see [`Error::at`]).
pub(crate) trait ResultExt<T> {
    /// The result, its error pointed at `span` unless it already points somewhere.
    fn at(self, span: Span) -> Result<T>;
}

impl<T, E: Into<Error>> ResultExt<T> for std::result::Result<T, E> {
    fn at(self, span: Span) -> Result<T> {
        self.map_err(|e| e.into().at(span))
    }
}

/// The name of `known` closest to `name` when it is close enough to be a likely misspelling: within
/// an edit distance of a third of its length (at least 1), case ignored. Ties go to the first.
pub(crate) fn closest<'k>(name: &str, known: impl IntoIterator<Item = &'k str>) -> Option<&'k str> {
    let name = name.to_lowercase();
    let limit = (name.chars().count() / 3).max(1);
    known
        .into_iter()
        .map(|k| (strsim::damerau_levenshtein(&name, &k.to_lowercase()), k))
        .filter(|&(d, k)| d > 0 && d <= limit && !k.is_empty())
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use recodb_query::Location;

    fn span(offset: usize, column: usize, len: usize) -> Span {
        Span::new(
            Location { offset, line: 1, column },
            Location { offset: offset + len, line: 1, column: column + len },
        )
    }

    #[test]
    fn closest_names_are_suggested_and_far_ones_are_not() {
        let known = ["lambda", "factors", "learning_rate"];
        assert_eq!(closest("lamda", known), Some("lambda"));
        assert_eq!(closest("LAMBDAA", known), Some("lambda"));
        assert_eq!(closest("learningrate", known), Some("learning_rate"));
        assert_eq!(closest("seed", known), None);
        assert_eq!(closest("lambda", known), None, "an exact match is not a suggestion");
        assert_eq!(closest("x", ["y"]), Some("y"), "one edit is always close enough");
    }

    #[test]
    fn an_error_pointed_at_a_literal_renders_like_a_syntax_error() {
        let source = "RECOMMEND user 1 TOP -5 USING m";
        let e = Error::invalid("TOP", "a non-negative integer", "-5").at(span(21, 22, 2));
        assert!(matches!(e.kind(), ErrorKind::InvalidArgument { name, .. } if name == "TOP"));
        assert_eq!(e.to_string(), "line 1, column 22: TOP must be a non-negative integer, got -5");
        assert_eq!(
            e.render(source),
            "1 | RECOMMEND user 1 TOP -5 USING m\n  |                      ^^ TOP must be a non-negative integer, got -5"
        );
        // The first span given wins: an error keeps the most precise position.
        let e = e.at(span(0, 1, 9));
        assert_eq!(e.span().map(|s| s.start.column), Some(22));
    }

    #[test]
    fn not_found_carries_the_suggestion_in_the_kind_and_the_message() {
        let e = Error::not_found(
            Object::Model,
            "tast",
            "no model named 'tast'",
            ["taste", "pop"],
            "SHOW MODELS lists them",
        );
        assert_eq!(e.message(), "no model named 'tast'; did you mean 'taste'? (SHOW MODELS lists them)");
        assert_eq!(e.suggestion(), Some("taste"));
        assert!(matches!(e.kind(), ErrorKind::NotFound { what: Object::Model, key, .. } if key == "tast"));
        assert_eq!(e.kind().code(), "not_found");
        assert_eq!(e.render("x"), e.message(), "no position: the message alone");
    }

    #[test]
    fn internal_errors_say_they_are_bugs() {
        let e = Error::internal("the search did not run");
        assert!(e.to_string().starts_with("internal error (a bug in recodb"), "{e}");
        assert_eq!(e.kind().code(), "internal");
    }

    #[test]
    fn storage_corruption_is_the_corrupt_kind() {
        let e = Error::from(StorageError::Corrupt("bad bitmap".into()));
        assert!(matches!(e.kind(), ErrorKind::Corrupt(what) if what == "bad bitmap"));
        let e = Error::from(StorageError::Engine("disk full".into()));
        assert!(matches!(e.kind(), ErrorKind::Storage(_)));
    }
}
