//! Keys, numbers, values, names and lists: the pieces every statement is made of.

use super::{Parser, Result};
use crate::ast::{Ident, Literal, LiteralValue, OptionPair};
use crate::error::{ErrorKind, ParseError};
use crate::keyword::Keyword;
use crate::lexer::out_of_range;
use crate::limits::MAX_LIST_LEN;
use crate::span::Span;
use crate::token::Token;

/// Which literals a position accepts. `?` is accepted everywhere.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LiteralKind {
    /// Integers.
    int: bool,
    /// A leading `-` on numbers.
    signed: bool,
    /// Floats.
    float: bool,
    /// Single-quoted strings.
    string: bool,
    /// `TRUE`/`FALSE` and bare or double-quoted words.
    word: bool,
    /// What the error says was expected.
    expected: &'static [&'static str],
}

impl LiteralKind {
    /// A user or item key: an unsigned integer, a string or `?`.
    pub(crate) const KEY: LiteralKind = LiteralKind {
        int: true,
        signed: false,
        float: false,
        string: true,
        word: false,
        expected: &["an integer", "a string", "?"],
    };
    /// A count or id (TOP, LIMIT, RERANK, AT k, SEED, job id): an unsigned integer or `?`.
    pub(crate) const COUNT: LiteralKind = LiteralKind {
        int: true,
        signed: false,
        float: false,
        string: false,
        word: false,
        expected: &["an integer", "?"],
    };
    /// A timestamp: an integer, possibly negative, or `?`.
    pub(crate) const INTEGER: LiteralKind = LiteralKind { signed: true, ..LiteralKind::COUNT };
    /// A fraction: an unsigned integer or float, or `?`.
    pub(crate) const FRACTION: LiteralKind = LiteralKind {
        int: true,
        signed: false,
        float: true,
        string: false,
        word: false,
        expected: &["a number", "?"],
    };
    /// A weight: an integer or float, possibly negative, or `?`.
    pub(crate) const NUMBER: LiteralKind = LiteralKind { signed: true, ..LiteralKind::FRACTION };
    /// A path or a tag: a string or `?`.
    pub(crate) const STRING: LiteralKind = LiteralKind {
        int: false,
        signed: false,
        float: false,
        string: true,
        word: false,
        expected: &["a string", "?"],
    };
    /// An option or setting value: a number, a string, `TRUE`/`FALSE`, a word or `?`.
    pub(crate) const VALUE: LiteralKind = LiteralKind {
        int: true,
        signed: true,
        float: true,
        string: true,
        word: true,
        expected: &["a value", "?"],
    };

    /// Whether a token (after a `-`, when `negative`) starts a literal of this kind.
    fn accepts(self, token: &Token<'_>, negative: bool) -> bool {
        match token {
            Token::Int(_) => self.int,
            Token::Float(_) => self.float,
            _ if negative => false,
            Token::Param => true,
            Token::Str(_) => self.string,
            Token::Ident(_) | Token::QuotedIdent(_) | Token::Keyword(_) => self.word,
            _ => false,
        }
    }
}

impl<'a> Parser<'a> {
    /// Parses a literal of `kind`, numbering `?` placeholders.
    pub(crate) fn parse_literal(&mut self, kind: LiteralKind) -> Result<Literal> {
        let start = self.peek_span()?;
        let negative = kind.signed && self.take_if(|token| *token == Token::Minus)?.is_some();
        let Some(next) = self.take_if(|token| kind.accepts(token, negative))? else {
            return Err(self.unexpected(if negative { &["a number"] } else { kind.expected }));
        };
        let span = start.to(next.span);
        let value = match next.token {
            Token::Int(value) if negative => {
                let value = -i128::from(value);
                if value < crate::limits::MIN_INT {
                    return Err(out_of_range(span, self.text(span)).into());
                }
                LiteralValue::Int(value)
            }
            Token::Int(value) => LiteralValue::Int(i128::from(value)),
            Token::Float(value) => LiteralValue::Float(if negative { -value } else { value }),
            Token::Str(text) => LiteralValue::Str(text.into_owned()),
            Token::Param => LiteralValue::Param(self.next_param()),
            Token::Keyword(Keyword::True) => LiteralValue::Bool(true),
            Token::Keyword(Keyword::False) => LiteralValue::Bool(false),
            Token::Keyword(_) => LiteralValue::Word(self.text(next.span).to_owned()),
            Token::Ident(text) => LiteralValue::Word(text.to_owned()),
            Token::QuotedIdent(text) => LiteralValue::Word(text.into_owned()),
            other => {
                // Not reachable: `accepts` admitted the token. Report it rather than panic.
                let found = other.to_string();
                return Err(ParseError::unexpected(next.span, &found, kind.expected.to_vec(), "").into());
            }
        };
        Ok(Literal { value, span })
    }

    /// Parses a model, algorithm or format name: a bare identifier (lower-cased) or a double-quoted one.
    /// Keywords are refused, with a hint to quote them.
    pub(crate) fn parse_name(&mut self) -> Result<Ident> {
        if let Some(&Token::Keyword(keyword)) = self.peek()? {
            let lower = keyword.as_str().to_ascii_lowercase();
            let hint = format!(" ({keyword} is a keyword; write \"{lower}\" to use it as a name)");
            return Err(self.unexpected_with_hint(&["a name"], &hint));
        }
        self.parse_word(false)
    }

    /// Parses an option or setting name: any word, keywords included (lower-cased), or a quoted one.
    pub(crate) fn parse_option_name(&mut self) -> Result<Ident> {
        self.parse_word(true)
    }

    fn parse_word(&mut self, keywords: bool) -> Result<Ident> {
        let accept = |token: &Token<'_>| match token {
            Token::Ident(_) | Token::QuotedIdent(_) => true,
            Token::Keyword(_) => keywords,
            _ => false,
        };
        let Some(next) = self.take_if(accept)? else {
            return Err(self.unexpected(&["a name"]));
        };
        let value = match next.token {
            Token::QuotedIdent(text) => text.into_owned(),
            Token::Keyword(keyword) => keyword.as_str().to_ascii_lowercase(),
            _ => self.text(next.span).to_ascii_lowercase(),
        };
        Ok(Ident { value, span: next.span })
    }

    /// Parses `item, item, ...` (at least one, at most [`MAX_LIST_LEN`]).
    pub(crate) fn parse_comma_list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut items = vec![item(self)?];
        while self.next_if_punct(Token::Comma, ",")? {
            if items.len() == MAX_LIST_LEN {
                let span = self.peek_span()?;
                let message = format!("list too long: at most {MAX_LIST_LEN} elements");
                return Err(ParseError::new(ErrorKind::LimitExceeded, span, self.text(span), message).into());
            }
            items.push(item(self)?);
        }
        Ok(items)
    }

    /// Parses `(item, item, ...)`.
    pub(crate) fn parse_paren_list<T>(&mut self, item: impl FnMut(&mut Self) -> Result<T>) -> Result<Vec<T>> {
        self.expect_punct(Token::LParen, "(")?;
        let items = self.parse_comma_list(item)?;
        self.expect_punct(Token::RParen, ")")?;
        Ok(items)
    }

    /// Parses `(literal, ...)` of one kind.
    pub(crate) fn parse_literal_list(&mut self, kind: LiteralKind) -> Result<Vec<Literal>> {
        self.parse_paren_list(|parser| parser.parse_literal(kind))
    }

    /// Parses an optional `WITH (name = value, ...)`; empty when absent.
    pub(crate) fn parse_with_options(&mut self) -> Result<Vec<OptionPair>> {
        if !self.next_if_keyword(Keyword::With)? {
            return Ok(Vec::new());
        }
        self.parse_paren_list(|parser| {
            let name = parser.parse_option_name()?;
            parser.expect_punct(Token::Eq, "=")?;
            let value = parser.parse_literal(LiteralKind::VALUE)?;
            let span = Span::new(name.span.start, value.span.end);
            Ok(OptionPair { name, value, span })
        })
    }

    /// Parses an optional `keyword name`.
    pub(crate) fn parse_opt_name(&mut self, keyword: Keyword) -> Result<Option<Ident>> {
        if self.next_if_keyword(keyword)? {
            self.parse_name().map(Some)
        } else {
            Ok(None)
        }
    }

    /// Parses an optional `keyword literal`.
    pub(crate) fn parse_opt_literal(
        &mut self,
        keyword: Keyword,
        kind: LiteralKind,
    ) -> Result<Option<Literal>> {
        if self.next_if_keyword(keyword)? {
            self.parse_literal(kind).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Parses `USER` or `ITEM`.
    pub(crate) fn parse_side(&mut self) -> Result<crate::ast::Side> {
        if self.next_if_keyword(Keyword::User)? {
            Ok(crate::ast::Side::User)
        } else if self.next_if_keyword(Keyword::Item)? {
            Ok(crate::ast::Side::Item)
        } else {
            Err(self.unexpected(&[]))
        }
    }
}
