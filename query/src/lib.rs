//! recodb's query language: lexer, parser, AST, pretty-printer and positioned errors. Pure: std only,
//! no I/O.
//!
//! # From text to a statement
//!
//! `RECOMMEND user 42 TOP 10 USING dsiml` travels like this:
//!
//! 1. [`parse_statement`] builds a parser over the text (`parser/mod.rs`).
//! 2. The [`Lexer`] yields tokens with their [`Span`]s: `Keyword(Recommend)`, `Keyword(User)`, `Int(42)`,
//!    `Keyword(Top)`, `Int(10)`, `Keyword(Using)`, `Ident("dsiml")` (`lexer.rs`, `token.rs`,
//!    `keyword.rs`). Keywords are case-insensitive and matched without allocating.
//! 3. The parser sees `RECOMMEND` and calls `parse_recommend` (`parser/query.rs`), which expects `USER`,
//!    a key, `TOP`, a count, then looks for the optional `USING`, `RERANK`, `WHERE` (`parser/filter.rs`)
//!    and `INCLUDE SEEN` clauses in that order.
//! 4. The result is a [`Statement`] whose [`StatementKind::Recommend`] holds a [`Recommend`] (`ast.rs`).
//!    The database binds `?` placeholders ([`Statement::for_each_literal_mut`]) and executes it.
//! 5. `Display` prints it back as canonical text, `RECOMMEND USER 42 TOP 10 USING dsiml` (`printer.rs`),
//!    which parses to an equal statement: spans never take part in equality (`span.rs`).
//!
//! A mistake gives a [`ParseError`] with the position, the token found and what was expected
//! (`error.rs`); [`ParseError::render`] underlines it. Sizes are bounded ([`limits`]).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod ast;
mod complete;
mod error;
mod keyword;
mod lexer;
pub mod limits;
mod parser;
mod printer;
mod span;
mod token;
mod visit;

#[cfg(test)]
mod tests;

pub use ast::{
    DescribeTarget, EvaluateTask, Filter, Ident, ImportTarget, Literal, LiteralValue, OptionPair, Query,
    Recommend, RecommendTags, Rerank, Show, ShowObject, Side, Similar, SortOrder, Source, Statement,
    StatementKind,
};
pub use complete::{completeness, is_complete, Completeness};
pub use error::{excerpt, ErrorKind, ParseError, END_OF_INPUT};
pub use keyword::{Keyword, KEYWORDS};
pub use lexer::Lexer;
pub use printer::format_script;
pub use span::{Location, Span};
pub use token::{Token, TokenWithSpan};

/// Parses a script: zero or more statements separated by `;`. The final `;` is optional and empty
/// statements are skipped. `?` placeholders are numbered from 0 across the whole script.
pub fn parse_script(text: &str) -> Result<Vec<Statement>, ParseError> {
    parser::Parser::new(text).parse_script().map_err(|error| *error)
}

/// Parses a `WHERE` filter on its own (`TAG = 'genre:Comedy' AND NOT ITEM IN (3, 4)`), as the embedded
/// API's batch calls take one. `?` placeholders are numbered from 0.
pub fn parse_filter(text: &str) -> Result<Filter, ParseError> {
    parser::Parser::new(text).parse_filter_only().map_err(|error| *error)
}

/// Parses exactly one statement, optionally followed by `;`. `?` placeholders are numbered from 0.
pub fn parse_statement(text: &str) -> Result<Statement, ParseError> {
    parser::Parser::new(text).parse_single().map_err(|error| *error)
}
