//! Parse errors with positions.
//!
//! Positions are data, not text baked into a message (turso's parser error does the same): the span, the
//! token found and the list of what was expected are fields, so the shell can underline the spot
//! ([`ParseError::render`]) and tools can react to the kind.

use std::fmt;

use crate::span::{Location, Span};

/// What went wrong, broadly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A token the grammar does not allow here, or the input ended too early.
    Unexpected,
    /// A string, quoted identifier or block comment that is never closed.
    Unterminated,
    /// A character or number the lexer cannot read (`#`, `1e`, `42abc`, `""`).
    InvalidToken,
    /// A number outside the range recodb stores (see [`crate::limits`]).
    NumberOutOfRange,
    /// A size limit of [`crate::limits`] exceeded (statement length, list length, filter nesting).
    LimitExceeded,
}

/// The text used for [`ParseError::found`] when the input ended.
pub const END_OF_INPUT: &str = "end of input";

/// The longest `found` text kept, in characters; longer tokens are cut and end with `...`.
const MAX_FOUND_CHARS: usize = 40;

/// A lexing or parsing error, positioned in the text given to the parser.
///
/// `Display` prints `line 1, column 19: expected TOP, found 'TOPP'`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// What went wrong, broadly.
    pub kind: ErrorKind,
    /// The line of the offending token, starting at 1.
    pub line: usize,
    /// The column of the offending token in characters, starting at 1.
    pub column: usize,
    /// The byte offset of the offending token.
    pub offset: usize,
    /// The length of the offending token in bytes (0 at the end of input).
    pub length: usize,
    /// The offending token as written (cut at 40 characters), or [`END_OF_INPUT`].
    pub found: String,
    /// What the grammar allowed here: keywords in upper case and punctuation (`"TOP"`, `";"`), or
    /// descriptions (`"an integer"`, `"a string"`, `"?"`). Empty for lexical errors and limits.
    pub expected: Vec<&'static str>,
    /// The human-readable description, without the position.
    pub message: String,
}

impl ParseError {
    /// An error of `kind` at `span`, with a free-form message.
    pub(crate) fn new(kind: ErrorKind, span: Span, found: &str, message: String) -> Self {
        ParseError {
            kind,
            line: span.start.line,
            column: span.start.column,
            offset: span.start.offset,
            length: span.len(),
            found: shorten(found),
            expected: Vec::new(),
            message,
        }
    }

    /// "expected A, B or C, found X" at `span`; `found` is the token's text or [`END_OF_INPUT`].
    pub(crate) fn unexpected(span: Span, found: &str, expected: Vec<&'static str>, hint: &str) -> Self {
        let found = shorten(found);
        let mut message = String::from("expected ");
        for (i, item) in expected.iter().enumerate() {
            if i > 0 {
                message.push_str(if i + 1 == expected.len() { " or " } else { ", " });
            }
            message.push_str(item);
        }
        message.push_str(", found ");
        if found == END_OF_INPUT || found.starts_with('\'') {
            message.push_str(&found);
        } else {
            message.push('\'');
            message.push_str(&found);
            message.push('\'');
        }
        message.push_str(hint);
        let mut error = ParseError::new(ErrorKind::Unexpected, span, "", message);
        error.found = found;
        error.expected = expected;
        error
    }

    /// The span of the offending token.
    pub fn span(&self) -> Span {
        let start = Location { offset: self.offset, line: self.line, column: self.column };
        let end = Location { offset: self.offset + self.length, ..start };
        Span::new(start, end)
    }

    /// A caret excerpt of `source` (the text that was parsed): the offending line with its number, then
    /// `^` under the offending token and the message (see [`excerpt`]).
    ///
    /// ```text
    /// 1 | RECOMMEND user 42 TOPP 10
    ///   |                   ^^^^ expected TOP, found 'TOPP'
    /// ```
    pub fn render(&self, source: &str) -> String {
        excerpt(source, self.span(), &self.message)
    }
}

/// A caret excerpt of `source`: the line where `span` starts, with its number, then `^` under the
/// span (up to the end of that line; one caret for an empty span) and `message`. Execution errors of the
/// database render through this too, so that a bad literal is underlined like a syntax error.
pub fn excerpt(source: &str, span: Span, message: &str) -> String {
    let text = source.split('\n').nth(span.start.line.saturating_sub(1)).unwrap_or("");
    let text = text.strip_suffix('\r').unwrap_or(text);
    let shown: String = text.chars().map(|c| if c == '\t' { ' ' } else { c }).collect();
    let width = source
        .get(span.start.offset..span.end.offset.min(source.len()))
        .map(|token| token.split('\n').next().unwrap_or("").chars().count())
        .unwrap_or(0)
        .max(1);
    let gutter = span.start.line.to_string();
    let pad = " ".repeat(gutter.len());
    format!(
        "{gutter} | {shown}\n{pad} | {}{} {message}",
        " ".repeat(span.start.column.saturating_sub(1)),
        "^".repeat(width),
    )
}

/// Cuts `found` to [`MAX_FOUND_CHARS`] characters.
fn shorten(found: &str) -> String {
    match found.char_indices().nth(MAX_FOUND_CHARS) {
        Some((at, _)) => format!("{}...", &found[..at]),
        None => found.to_owned(),
    }
}

/// `line L, column C: message`.
impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for ParseError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(offset: usize, line: usize, column: usize, len: usize) -> Span {
        Span::new(
            Location { offset, line, column },
            Location { offset: offset + len, line, column: column + len },
        )
    }

    #[test]
    fn display_and_render_point_at_the_token() {
        let source = "SHOW USERS;\nRECOMMEND user 42 TOPP 10";
        let error = ParseError::unexpected(span(30, 2, 19, 4), "TOPP", vec!["TOP"], "");
        assert_eq!(error.to_string(), "line 2, column 19: expected TOP, found 'TOPP'");
        assert_eq!(
            error.render(source),
            "2 | RECOMMEND user 42 TOPP 10\n  |                   ^^^^ expected TOP, found 'TOPP'"
        );
    }

    #[test]
    fn expected_lists_read_as_english() {
        let error =
            ParseError::unexpected(span(0, 1, 1, 0), END_OF_INPUT, vec!["an integer", "a string", "?"], "");
        assert_eq!(error.message, "expected an integer, a string or ?, found end of input");
        assert_eq!(
            error.render("").lines().last(),
            Some("  | ^ expected an integer, a string or ?, found end of input")
        );
    }

    #[test]
    fn long_tokens_are_cut_and_render_survives_a_foreign_source() {
        let long = "x".repeat(100);
        let error = ParseError::unexpected(span(500, 9, 3, 100), &long, vec![";"], "");
        assert_eq!(error.found.len(), 43);
        assert!(error.render("short").contains('^'));
    }
}
