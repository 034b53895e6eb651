//! Tokens: what the lexer hands the parser.

use std::borrow::Cow;
use std::fmt;

use crate::keyword::Keyword;
use crate::span::Span;

/// One lexical token. Text borrows from the input where it can (a string or quoted identifier is owned
/// only when it contained a doubled quote).
#[derive(Clone, Debug, PartialEq)]
pub enum Token<'a> {
    /// A reserved word (matched case-insensitively).
    Keyword(Keyword),
    /// A bare identifier, as written: `[A-Za-z_][A-Za-z0-9_]*`, not a keyword.
    Ident(&'a str),
    /// A double-quoted identifier, unescaped (`"a ""b"""` is `a "b"`). Never empty.
    QuotedIdent(Cow<'a, str>),
    /// A single-quoted string, unescaped (`'it''s'` is `it's`).
    Str(Cow<'a, str>),
    /// An unsigned integer literal (the sign, if any, is a separate [`Token::Minus`]).
    Int(u64),
    /// An unsigned, finite floating-point literal: `1.5`, `.5`, `1e-3`, `2.5E+4`.
    Float(f64),
    /// `?`, a parameter placeholder.
    Param,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// `;`
    Semicolon,
    /// `=`
    Eq,
    /// `*`
    Star,
    /// `-`
    Minus,
}

/// A token and where it was found.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenWithSpan<'a> {
    /// The token.
    pub token: Token<'a>,
    /// Its position in the text.
    pub span: Span,
}

/// Writes `text` between `quote` characters, doubling any `quote` inside.
pub(crate) fn write_quoted(f: &mut fmt::Formatter<'_>, text: &str, quote: char) -> fmt::Result {
    use fmt::Write;
    f.write_char(quote)?;
    let mut rest = text;
    while let Some(at) = rest.find(quote) {
        f.write_str(&rest[..=at])?;
        f.write_char(quote)?;
        rest = &rest[at + 1..];
    }
    f.write_str(rest)?;
    f.write_char(quote)
}

/// Prints the token in recodb syntax (strings re-quoted, keywords upper-case).
impl fmt::Display for Token<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Keyword(keyword) => keyword.fmt(f),
            Token::Ident(text) => f.write_str(text),
            Token::QuotedIdent(text) => write_quoted(f, text, '"'),
            Token::Str(text) => write_quoted(f, text, '\''),
            Token::Int(value) => write!(f, "{value}"),
            Token::Float(value) => write!(f, "{value:?}"),
            Token::Param => f.write_str("?"),
            Token::LParen => f.write_str("("),
            Token::RParen => f.write_str(")"),
            Token::Comma => f.write_str(","),
            Token::Semicolon => f.write_str(";"),
            Token::Eq => f.write_str("="),
            Token::Star => f.write_str("*"),
            Token::Minus => f.write_str("-"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_prints_recodb_syntax() {
        assert_eq!(Token::Str(Cow::Borrowed("it's")).to_string(), "'it''s'");
        assert_eq!(Token::QuotedIdent(Cow::Borrowed("a\"b")).to_string(), "\"a\"\"b\"");
        assert_eq!(Token::Keyword(Keyword::Top).to_string(), "TOP");
        assert_eq!(Token::Float(2.0).to_string(), "2.0");
        assert_eq!(Token::Int(42).to_string(), "42");
        assert_eq!(Token::Param.to_string(), "?");
    }
}
