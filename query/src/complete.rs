//! [`completeness`] and [`is_complete`]: how far a statement typed into the shell has got.

use crate::error::ErrorKind;
use crate::lexer::Lexer;
use crate::token::Token;

/// How far the text typed so far has got, for the shell's prompt: ready to run, or waiting for more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completeness {
    /// Ready to run: see [`is_complete`].
    Complete,
    /// A statement still waiting for its `;`.
    Incomplete,
    /// Inside a string, quoted identifier or block comment: the opening `'`, `"` or `/*` that is not
    /// closed yet.
    Unterminated(&'static str),
}

/// Whether `text` is ready to run: it holds at least one non-empty statement and ends with `;` outside
/// strings and comments, or it holds only whitespace and comments. An unterminated string, quoted
/// identifier or block comment means incomplete (the user is still typing it). Any other lexing error
/// (a stray character) is skipped over, so a statement with a typo still completes at its `;` and the
/// parser can report the typo.
pub fn is_complete(text: &str) -> bool {
    completeness(text) == Completeness::Complete
}

/// How far `text` has got: complete (as [`is_complete`] defines it), a statement without its `;` yet,
/// or inside an unclosed string, quoted identifier or block comment.
pub fn completeness(text: &str) -> Completeness {
    let mut lexer = Lexer::new(text);
    let mut any_statement = false;
    let mut last_is_semicolon = false;
    let mut empty = true;
    while let Some(next) = lexer.next() {
        empty = false;
        match next {
            Ok(token) => {
                last_is_semicolon = token.token == Token::Semicolon;
                any_statement |= !last_is_semicolon;
            }
            Err(error) if error.kind == ErrorKind::Unterminated => {
                return Completeness::Unterminated(match error.found.as_str() {
                    "'" => "'",
                    "\"" => "\"",
                    _ => "/*",
                });
            }
            Err(error) => {
                last_is_semicolon = false;
                any_statement = true;
                lexer.resume_after(&error);
            }
        }
    }
    if empty || (any_statement && last_is_semicolon) {
        Completeness::Complete
    } else {
        Completeness::Incomplete
    }
}
