//! The recursive-descent parser: tokens in, [`Statement`]s out.
//!
//! Shaped like toyDB's parser. [`Parser`] holds the lexer and one token of lookahead, and a handful of
//! one-line helpers ([`Parser::peek`], [`Parser::advance`], [`Parser::next_if_keyword`],
//! [`Parser::expect_keyword`], [`Parser::next_if_punct`], [`Parser::expect_punct`]).
//! [`Parser::parse_statement`] looks at the first keyword and hands over to one `parse_<statement>`
//! method; those live beside this file by family: `data.rs` (ADD, INSERT, DELETE, IMPORT, SPLIT, EXPORT),
//! `query.rs` (RECOMMEND, SIMILAR, EXPLAIN, EVALUATE), `admin.rs` (TRAIN, SHOW, DESCRIBE, DROP, CANCEL,
//! WAIT, SET), `filter.rs` (WHERE filters, by precedence climbing) and `literal.rs` (keys, numbers,
//! values, names, lists).
//!
//! Error messages list everything that was possible at the failing spot: each optional clause that was
//! looked for and not found is remembered (until the next token is consumed) and joins the expected list,
//! so `SHOW TAGS foo` says "expected LIMIT, OFFSET or ;, found 'foo'".

mod admin;
mod data;
mod filter;
mod literal;
mod query;

use crate::ast::{Filter, Statement, StatementKind};
use crate::error::{ParseError, END_OF_INPUT};
use crate::keyword::Keyword;
use crate::lexer::Lexer;
use crate::limits::MAX_STATEMENT_LEN;
use crate::span::{Location, Span};
use crate::token::{Token, TokenWithSpan};

/// The parser's result type. The error is boxed so that the many small `Result`s of the hot path stay
/// small; the public functions unbox it.
pub(crate) type Result<T> = std::result::Result<T, Box<ParseError>>;

/// The first keywords of all statements, for the error at the start of a statement.
const STATEMENT_KEYWORDS: &[&str] = &[
    "ADD",
    "CANCEL",
    "CHECK",
    "DELETE",
    "DESCRIBE",
    "DROP",
    "EVALUATE",
    "EXPLAIN",
    "EXPORT",
    "IMPORT",
    "INSERT",
    "RECOMMEND",
    "SET",
    "SHOW",
    "SIMILAR",
    "SPLIT",
    "TRAIN",
    "WAIT",
];

/// How many alternatives the parser remembers for one error message.
const MAX_EXPECTED: usize = 24;

/// A parser over one text. Placeholders (`?`) are numbered across everything it parses.
pub(crate) struct Parser<'a> {
    src: &'a str,
    lexer: Lexer<'a>,
    /// The next token, once lexed (`lexed`); `None` at the end of input. (Two fields rather than
    /// `Option<Option<_>>`: the flat layout copies tokens faster.)
    lookahead: Option<TokenWithSpan<'a>>,
    /// Whether `lookahead` holds the next token.
    lexed: bool,
    /// The end of the last consumed token.
    prev_end: Location,
    /// The offset where the current statement starts (for [`MAX_STATEMENT_LEN`]).
    statement_start: usize,
    /// The number of `?` seen so far.
    params: usize,
    /// The current filter nesting depth (see [`crate::limits::MAX_FILTER_DEPTH`]).
    depth: usize,
    /// Alternatives tried and not found at the current token (a fixed array: no allocation).
    expected: [&'static str; MAX_EXPECTED],
    expected_len: usize,
}

impl<'a> Parser<'a> {
    /// A parser at the start of `src`.
    pub(crate) fn new(src: &'a str) -> Self {
        Parser {
            src,
            lexer: Lexer::new(src),
            lookahead: None,
            lexed: false,
            prev_end: Location::START,
            statement_start: 0,
            params: 0,
            depth: 0,
            expected: [""; MAX_EXPECTED],
            expected_len: 0,
        }
    }

    /// The next token without consuming it (`None` at the end of input).
    pub(crate) fn peek(&mut self) -> Result<Option<&Token<'a>>> {
        if !self.lexed {
            self.lookahead = self.lexer.next_token()?;
            self.lexed = true;
        }
        Ok(self.lookahead.as_ref().map(|next| &next.token))
    }

    /// The span of the next token (an empty span at the end of input).
    pub(crate) fn peek_span(&mut self) -> Result<Span> {
        self.peek()?;
        Ok(match &self.lookahead {
            Some(next) => next.span,
            None => {
                let end = self.lexer.location();
                Span::new(end, end)
            }
        })
    }

    /// Whether the input is used up.
    pub(crate) fn at_end(&mut self) -> Result<bool> {
        Ok(self.peek()?.is_none())
    }

    /// Consumes the next token; an error at the end of input. Forgets the remembered alternatives.
    pub(crate) fn advance(&mut self) -> Result<TokenWithSpan<'a>> {
        self.peek()?;
        let Some(next) = self.lookahead.take() else {
            return Err(self.unexpected(&[]));
        };
        self.lexed = false;
        if next.span.end.offset.saturating_sub(self.statement_start) > MAX_STATEMENT_LEN {
            let message = format!("statement too long: at most {MAX_STATEMENT_LEN} bytes");
            let found = self.text(next.span);
            return Err(ParseError::new(crate::ErrorKind::LimitExceeded, next.span, found, message).into());
        }
        self.prev_end = next.span.end;
        self.expected_len = 0;
        Ok(next)
    }

    /// The source text of `span`.
    pub(crate) fn text(&self, span: Span) -> &'a str {
        self.src.get(span.start.offset..span.end.offset).unwrap_or("")
    }

    /// Remembers that `what` would have been accepted at the current token.
    pub(crate) fn note_expected(&mut self, what: &'static str) {
        let seen = &self.expected[..self.expected_len];
        if self.expected_len < MAX_EXPECTED && !seen.contains(&what) {
            self.expected[self.expected_len] = what;
            self.expected_len += 1;
        }
    }

    /// An "expected ..., found ..." error at the next token: the remembered alternatives, then `expected`.
    /// A lexing error at the next token wins, as it is the real problem.
    pub(crate) fn unexpected(&mut self, expected: &[&'static str]) -> Box<ParseError> {
        self.unexpected_with_hint(expected, "")
    }

    /// [`Parser::unexpected`] with `hint` appended to the message.
    pub(crate) fn unexpected_with_hint(&mut self, expected: &[&'static str], hint: &str) -> Box<ParseError> {
        let span = match self.peek_span() {
            Ok(span) => span,
            Err(error) => return error,
        };
        for what in expected {
            self.note_expected(what);
        }
        let found = if span.is_empty() { END_OF_INPUT } else { self.text(span) };
        Box::new(ParseError::unexpected(span, found, self.expected[..self.expected_len].to_vec(), hint))
    }

    /// Consumes the next token if it is `keyword`.
    pub(crate) fn next_if_keyword(&mut self, keyword: Keyword) -> Result<bool> {
        if self.peek()? == Some(&Token::Keyword(keyword)) {
            self.advance()?;
            Ok(true)
        } else {
            self.note_expected(keyword.as_str());
            Ok(false)
        }
    }

    /// Consumes the next token, which must be `keyword`.
    pub(crate) fn expect_keyword(&mut self, keyword: Keyword) -> Result<()> {
        if self.next_if_keyword(keyword)? {
            Ok(())
        } else {
            Err(self.unexpected(&[]))
        }
    }

    /// Consumes the next token if it is the punctuation `punct`, written `name` in errors.
    pub(crate) fn next_if_punct(&mut self, punct: Token<'static>, name: &'static str) -> Result<bool> {
        if self.peek()? == Some(&punct) {
            self.advance()?;
            Ok(true)
        } else {
            self.note_expected(name);
            Ok(false)
        }
    }

    /// Consumes the next token, which must be the punctuation `punct`, written `name` in errors.
    pub(crate) fn expect_punct(&mut self, punct: Token<'static>, name: &'static str) -> Result<()> {
        if self.next_if_punct(punct, name)? {
            Ok(())
        } else {
            Err(self.unexpected(&[]))
        }
    }

    /// Consumes the next token if `accept` holds for it, without remembering anything on a miss.
    pub(crate) fn take_if(
        &mut self,
        accept: impl Fn(&Token<'a>) -> bool,
    ) -> Result<Option<TokenWithSpan<'a>>> {
        match self.peek()? {
            Some(token) if accept(token) => self.advance().map(Some),
            _ => Ok(None),
        }
    }

    /// The next placeholder index.
    pub(crate) fn next_param(&mut self) -> usize {
        let index = self.params;
        self.params += 1;
        index
    }

    /// Parses `;`-separated statements up to the end of input, skipping empty ones.
    pub(crate) fn parse_script(&mut self) -> Result<Vec<Statement>> {
        let mut statements = Vec::new();
        loop {
            self.statement_start = self.peek_span()?.start.offset;
            while self.take_if(|token| *token == Token::Semicolon)?.is_some() {
                self.statement_start = self.peek_span()?.start.offset;
            }
            if self.at_end()? {
                return Ok(statements);
            }
            statements.push(self.parse_statement()?);
            if self.at_end()? {
                return Ok(statements);
            }
            self.expect_punct(Token::Semicolon, ";")?;
        }
    }

    /// Parses exactly one statement, optionally followed by `;`, up to the end of input.
    pub(crate) fn parse_single(&mut self) -> Result<Statement> {
        self.statement_start = self.peek_span()?.start.offset;
        let statement = self.parse_statement()?;
        self.next_if_punct(Token::Semicolon, ";")?;
        if !self.at_end()? {
            return Err(self.unexpected(&[END_OF_INPUT]));
        }
        Ok(statement)
    }

    /// Parses a whole text as one `WHERE` filter (without the `WHERE`).
    pub(crate) fn parse_filter_only(&mut self) -> Result<Filter> {
        let filter = self.parse_filter()?;
        if !self.at_end()? {
            return Err(self.unexpected(&["AND", "OR", END_OF_INPUT]));
        }
        Ok(filter)
    }

    /// Parses one statement, dispatching on its first keyword.
    pub(crate) fn parse_statement(&mut self) -> Result<Statement> {
        let start = self.peek_span()?.start;
        let Some(&Token::Keyword(keyword)) = self.peek()? else {
            return Err(self.unexpected(STATEMENT_KEYWORDS));
        };
        let kind = match keyword {
            Keyword::Add => self.then(Self::parse_add)?,
            Keyword::Insert => self.then(Self::parse_insert)?,
            Keyword::Delete => self.then(Self::parse_delete)?,
            Keyword::Import => self.then(Self::parse_import)?,
            Keyword::Split => self.then(Self::parse_split)?,
            Keyword::Export => self.then(Self::parse_export)?,
            Keyword::Train => self.then(Self::parse_train)?,
            Keyword::Recommend => self.then(Self::parse_recommend_statement)?,
            Keyword::Similar => StatementKind::Similar(self.then(Self::parse_similar)?),
            Keyword::Explain => self.then(Self::parse_explain)?,
            Keyword::Evaluate => self.then(Self::parse_evaluate)?,
            Keyword::Show => self.then(Self::parse_show)?,
            Keyword::Describe => self.then(Self::parse_describe)?,
            Keyword::Drop => self.then(Self::parse_drop)?,
            Keyword::Cancel => self.then(Self::parse_cancel)?,
            Keyword::Check => self.then(|_| Ok(StatementKind::Check))?,
            Keyword::Wait => self.then(Self::parse_wait)?,
            Keyword::Set => self.then(Self::parse_set)?,
            _ => return Err(self.unexpected(STATEMENT_KEYWORDS)),
        };
        Ok(Statement { kind, span: Span::new(start, self.prev_end) })
    }

    /// Consumes the (already checked) first keyword, then runs `parse`.
    fn then<T>(&mut self, parse: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.advance()?;
        parse(self)
    }
}
