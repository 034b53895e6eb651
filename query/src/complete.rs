//! [`is_complete`]: the shell's line validator.

use crate::error::ErrorKind;
use crate::lexer::Lexer;
use crate::token::Token;

/// Whether `text` is ready to run: it holds at least one non-empty statement and ends with `;` outside
/// strings and comments, or it holds only whitespace and comments. An unterminated string, quoted
/// identifier or block comment means incomplete (the user is still typing it). Any other lexing error
/// (a stray character) is skipped over, so a statement with a typo still completes at its `;` and the
/// parser can report the typo.
pub fn is_complete(text: &str) -> bool {
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
            Err(error) if error.kind == ErrorKind::Unterminated => return false,
            Err(error) => {
                last_is_semicolon = false;
                any_statement = true;
                lexer.resume_after(&error);
            }
        }
    }
    empty || (any_statement && last_is_semicolon)
}
