//! The lexer: text in, an iterator of `Result<TokenWithSpan, ParseError>` out.
//!
//! Hand-written over bytes. Every delimiter the lexer stops at is ASCII, so slicing at those points is
//! always on a character boundary; columns count characters by skipping UTF-8 continuation bytes. Words are
//! borrowed from the input and matched against keywords without allocating; a string or quoted identifier
//! allocates only when it contains a doubled quote. After an error the iterator ends.

use std::borrow::Cow;

use crate::error::{ErrorKind, ParseError};
use crate::keyword::Keyword;
use crate::span::{Location, Span};
use crate::token::{Token, TokenWithSpan};

/// Splits recodb query text into tokens, skipping whitespace, `-- line` and `/* block */` comments.
#[derive(Clone, Debug)]
pub struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    line: usize,
    column: usize,
    failed: bool,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `src`.
    pub fn new(src: &'a str) -> Self {
        Lexer { src, pos: 0, line: 1, column: 1, failed: false }
    }

    /// The position of the next unread character (after the last token: the end of input, once done).
    pub fn location(&self) -> Location {
        Location { offset: self.pos, line: self.line, column: self.column }
    }

    /// Skips past the text `error` covers (at least one character) and resumes lexing after an error.
    /// Used by [`crate::is_complete`] to look past a bad character for later strings and comments.
    pub(crate) fn resume_after(&mut self, error: &ParseError) {
        let target = error.offset.saturating_add(error.length.max(1));
        while self.pos < target && self.peek().is_some() {
            self.bump();
        }
        while self.peek().is_some_and(|byte| byte & 0xC0 == 0x80) {
            self.bump();
        }
        self.failed = false;
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.src.as_bytes().get(self.pos + ahead).copied()
    }

    /// Moves past one byte, keeping line and column (in characters) up to date.
    fn bump(&mut self) {
        if let Some(byte) = self.peek() {
            self.pos += 1;
            if byte == b'\n' {
                self.line += 1;
                self.column = 1;
            } else if byte & 0xC0 != 0x80 {
                self.column += 1;
            }
        }
    }

    /// Moves past bytes while `keep` holds for them (only for ASCII-only runs that hold no newline).
    fn bump_ascii_while(&mut self, keep: impl Fn(u8) -> bool) {
        let start = self.pos;
        let rest = &self.src.as_bytes()[self.pos..];
        let run = rest.iter().take_while(|&&byte| keep(byte)).count();
        self.pos += run;
        self.column += self.pos - start;
    }

    fn span_from(&self, start: Location) -> Span {
        Span::new(start, self.location())
    }

    /// Skips whitespace and comments.
    fn skip_trivia(&mut self) -> Result<(), Box<ParseError>> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0C) => self.bump(),
                Some(b'-') if self.peek_at(1) == Some(b'-') => {
                    while self.peek().is_some_and(|byte| byte != b'\n') {
                        self.bump();
                    }
                }
                Some(b'/') if self.peek_at(1) == Some(b'*') => {
                    let start = self.location();
                    self.bump();
                    self.bump();
                    loop {
                        match self.peek() {
                            None => {
                                let span = Span::new(
                                    start,
                                    Location { offset: start.offset + 2, column: start.column + 2, ..start },
                                );
                                let message = "unterminated comment: no closing */ before the end of input";
                                return Err(ParseError::new(
                                    ErrorKind::Unterminated,
                                    span,
                                    "/*",
                                    message.into(),
                                )
                                .into());
                            }
                            Some(b'*') if self.peek_at(1) == Some(b'/') => {
                                self.bump();
                                self.bump();
                                break;
                            }
                            Some(_) => self.bump(),
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// Reads the next token, or `None` at the end of input. After an error, always `None`. (The error is
    /// boxed: a small `Result` keeps the parser's hot path free of large copies.)
    pub(crate) fn next_token(&mut self) -> Result<Option<TokenWithSpan<'a>>, Box<ParseError>> {
        if self.failed {
            return Ok(None);
        }
        let result = self.scan();
        self.failed = result.is_err();
        result
    }

    fn scan(&mut self) -> Result<Option<TokenWithSpan<'a>>, Box<ParseError>> {
        self.skip_trivia()?;
        let start = self.location();
        let Some(byte) = self.peek() else {
            return Ok(None);
        };
        let token = match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => self.word(),
            b'0'..=b'9' => self.number(start)?,
            b'.' if self.peek_at(1).is_some_and(|next| next.is_ascii_digit()) => self.number(start)?,
            b'\'' => Token::Str(self.quoted(start, b'\'')?),
            b'"' => {
                let text = self.quoted(start, b'"')?;
                if text.is_empty() {
                    let message = "empty quoted identifier: a name needs at least one character";
                    return Err(ParseError::new(
                        ErrorKind::InvalidToken,
                        self.span_from(start),
                        "\"\"",
                        message.into(),
                    )
                    .into());
                }
                Token::QuotedIdent(text)
            }
            b'?' | b'(' | b')' | b',' | b';' | b'=' | b'*' | b'-' => {
                self.bump();
                match byte {
                    b'?' => Token::Param,
                    b'(' => Token::LParen,
                    b')' => Token::RParen,
                    b',' => Token::Comma,
                    b';' => Token::Semicolon,
                    b'=' => Token::Eq,
                    b'*' => Token::Star,
                    _ => Token::Minus,
                }
            }
            _ => {
                let found = self.src[self.pos..].chars().next().unwrap_or('\u{FFFD}');
                for _ in 0..found.len_utf8() {
                    self.bump();
                }
                let message = format!("unexpected character {found:?}");
                let text = found.to_string();
                return Err(
                    ParseError::new(ErrorKind::InvalidToken, self.span_from(start), &text, message).into()
                );
            }
        };
        Ok(Some(TokenWithSpan { token, span: self.span_from(start) }))
    }

    /// A keyword or a bare identifier: `[A-Za-z_][A-Za-z0-9_]*`.
    fn word(&mut self) -> Token<'a> {
        let start = self.pos;
        self.bump_ascii_while(|byte| byte.is_ascii_alphanumeric() || byte == b'_');
        let text = &self.src[start..self.pos];
        match Keyword::from_word(text) {
            Some(keyword) => Token::Keyword(keyword),
            None => Token::Ident(text),
        }
    }

    /// An integer (`42`) or a float (`1.5`, `.5`, `1e-3`, `2.5E+4`), unsigned.
    fn number(&mut self, start: Location) -> Result<Token<'a>, Box<ParseError>> {
        let digits = |byte: u8| byte.is_ascii_digit();
        self.bump_ascii_while(digits);
        let mut float = false;
        if self.peek() == Some(b'.') {
            float = true;
            self.bump();
            self.bump_ascii_while(digits);
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            float = true;
            self.bump();
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.bump();
            }
            if !self.peek().is_some_and(digits) {
                return Err(self.bad_number(start, "missing digits in the exponent of"));
            }
            self.bump_ascii_while(digits);
        }
        if self.peek().is_some_and(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'.') {
            return Err(self.bad_number(start, "invalid"));
        }
        let text = &self.src[start.offset..self.pos];
        let span = self.span_from(start);
        if float {
            match text.parse::<f64>() {
                Ok(value) if value.is_finite() => Ok(Token::Float(value)),
                Ok(_) => Err(ParseError::new(
                    ErrorKind::NumberOutOfRange,
                    span,
                    text,
                    format!("number out of range: {text} is too large for a float"),
                )
                .into()),
                Err(_) => Err(ParseError::new(
                    ErrorKind::InvalidToken,
                    span,
                    text,
                    format!("invalid number {text}"),
                )
                .into()),
            }
        } else {
            text.parse::<u64>().map(Token::Int).map_err(|_| Box::new(out_of_range(span, text)))
        }
    }

    /// An error for a malformed number, covering the rest of the word it sits in.
    fn bad_number(&mut self, start: Location, what: &str) -> Box<ParseError> {
        self.bump_ascii_while(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'.');
        let text = &self.src[start.offset..self.pos];
        Box::new(ParseError::new(
            ErrorKind::InvalidToken,
            self.span_from(start),
            text,
            format!("{what} number '{text}'"),
        ))
    }

    /// The text between `quote`s, with doubled quotes unescaped; borrowed unless it had escapes.
    fn quoted(&mut self, start: Location, quote: u8) -> Result<Cow<'a, str>, Box<ParseError>> {
        self.bump();
        let content = self.pos;
        let mut segment = content;
        let mut owned: Option<String> = None;
        loop {
            match self.peek() {
                None => {
                    let (what, found) =
                        if quote == b'\'' { ("string", "'") } else { ("quoted identifier", "\"") };
                    let span = Span::new(
                        start,
                        Location { offset: start.offset + 1, column: start.column + 1, ..start },
                    );
                    let message = format!("unterminated {what}: no closing {found} before the end of input");
                    return Err(ParseError::new(ErrorKind::Unterminated, span, found, message).into());
                }
                Some(byte) if byte == quote => {
                    if self.peek_at(1) == Some(quote) {
                        owned.get_or_insert_with(String::new).push_str(&self.src[segment..=self.pos]);
                        self.bump();
                        self.bump();
                        segment = self.pos;
                    } else {
                        let end = self.pos;
                        self.bump();
                        return Ok(match owned {
                            None => Cow::Borrowed(&self.src[content..end]),
                            Some(mut text) => {
                                text.push_str(&self.src[segment..end]);
                                Cow::Owned(text)
                            }
                        });
                    }
                }
                Some(_) => self.bump(),
            }
        }
    }
}

/// The error for an integer literal outside [`crate::limits::MIN_INT`] ..= [`crate::limits::MAX_INT`].
pub(crate) fn out_of_range(span: Span, text: &str) -> ParseError {
    let message = format!(
        "number out of range: {text} is not between {} and {}",
        crate::limits::MIN_INT,
        crate::limits::MAX_INT
    );
    ParseError::new(ErrorKind::NumberOutOfRange, span, text, message)
}

impl<'a> Iterator for Lexer<'a> {
    type Item = Result<TokenWithSpan<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_token() {
            Ok(token) => token.map(Ok),
            Err(error) => Some(Err(*error)),
        }
    }
}
