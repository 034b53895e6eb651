//! Unit tests of the whole crate, one file per concern. Helpers in the style of sqlparser-rs's
//! `verified_stmt`: one line per case.

mod complete;
mod errors;
mod lexer;
mod limits;
mod params;
mod statements;

use crate::{parse_statement, ParseError, Statement};

/// Parses canonical `text`, asserts it prints back exactly as `text` and that the print parses to the same
/// AST, and returns the statement.
#[track_caller]
pub(crate) fn verified_stmt(text: &str) -> Statement {
    let statement = match parse_statement(text) {
        Ok(statement) => statement,
        Err(error) => panic!("{text}\n{error}\n{}", error.render(text)),
    };
    assert_eq!(statement.to_string(), text, "canonical print");
    assert_eq!(parse_statement(&statement.to_string()).as_ref(), Ok(&statement), "round trip");
    statement
}

/// Parses `text` (not canonical), asserts it prints as `canonical`, and verifies `canonical`.
#[track_caller]
pub(crate) fn verified_as(text: &str, canonical: &str) -> Statement {
    let statement = match parse_statement(text) {
        Ok(statement) => statement,
        Err(error) => panic!("{text}\n{error}\n{}", error.render(text)),
    };
    assert_eq!(statement.to_string(), canonical);
    assert_eq!(verified_stmt(canonical), statement);
    statement
}

/// Asserts that `text` fails at `line`:`column` with `expected` and `found`, and returns the error.
#[track_caller]
pub(crate) fn assert_error(
    text: &str,
    line: usize,
    column: usize,
    expected: &[&str],
    found: &str,
) -> ParseError {
    let error = match parse_statement(text) {
        Ok(statement) => panic!("{text} parsed as {statement:?}"),
        Err(error) => error,
    };
    assert_eq!((error.line, error.column), (line, column), "{error}");
    assert_eq!(error.expected, expected, "{error}");
    assert_eq!(error.found, found, "{error}");
    error
}
