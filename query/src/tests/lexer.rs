//! The lexer: tokens, spans, escapes, comments, numbers and lexical errors.

use std::borrow::Cow;

use crate::{ErrorKind, Keyword, Lexer, Location, ParseError, Token};

fn tokens(text: &str) -> Result<Vec<Token<'_>>, ParseError> {
    Lexer::new(text).map(|next| next.map(|token| token.token)).collect()
}

fn lex_error(text: &str) -> ParseError {
    match tokens(text) {
        Ok(tokens) => panic!("{text} lexed as {tokens:?}"),
        Err(error) => error,
    }
}

#[test]
fn a_statement_lexes_into_tokens() {
    use Token::*;
    assert_eq!(
        tokens("recommend User 42 TOP 10 using dsiml;"),
        Ok(vec![
            Keyword(crate::Keyword::Recommend),
            Keyword(crate::Keyword::User),
            Int(42),
            Keyword(crate::Keyword::Top),
            Int(10),
            Keyword(crate::Keyword::Using),
            Ident("dsiml"),
            Semicolon
        ])
    );
    assert_eq!(tokens("( ) , ; = * - ?"), Ok(vec![LParen, RParen, Comma, Semicolon, Eq, Star, Minus, Param]));
    assert_eq!(tokens("_x9 x_ toppings"), Ok(vec![Ident("_x9"), Ident("x_"), Ident("toppings")]));
}

#[test]
fn spans_track_lines_and_character_columns() {
    let text = "SET a = 'é';\n  TOP";
    let spans: Vec<_> = Lexer::new(text).map(|next| next.expect("lexes").span).collect();
    assert_eq!(spans[3].start, Location { offset: 8, line: 1, column: 9 });
    assert_eq!(spans[3].end, Location { offset: 12, line: 1, column: 12 });
    assert_eq!(spans[4].start, Location { offset: 12, line: 1, column: 12 });
    assert_eq!(spans[5].start, Location { offset: 16, line: 2, column: 3 });
    assert_eq!(spans[5].end, Location { offset: 19, line: 2, column: 6 });
}

#[test]
fn strings_unescape_doubled_quotes() {
    assert_eq!(tokens("'it''s'"), Ok(vec![Token::Str(Cow::Borrowed("it's"))]));
    assert_eq!(tokens("''''"), Ok(vec![Token::Str(Cow::Borrowed("'"))]));
    assert_eq!(tokens("''"), Ok(vec![Token::Str(Cow::Borrowed(""))]));
    assert_eq!(tokens("'a''b''c'"), Ok(vec![Token::Str(Cow::Borrowed("a'b'c"))]));
    assert_eq!(
        tokens("'line\nbreak -- not a comment'"),
        Ok(vec![Token::Str(Cow::Borrowed("line\nbreak -- not a comment"))])
    );
    assert_eq!(tokens("\"a \"\"b\"\"\""), Ok(vec![Token::QuotedIdent(Cow::Borrowed("a \"b\""))]));
    assert!(
        matches!(&tokens("'plain'").expect("lexes")[0], Token::Str(Cow::Borrowed("plain"))),
        "no allocation"
    );
}

#[test]
fn comments_and_whitespace_are_skipped() {
    assert_eq!(tokens("-- only a comment"), Ok(vec![]));
    assert_eq!(tokens("/* block\n comment */ ? /**/ ?"), Ok(vec![Token::Param, Token::Param]));
    assert_eq!(tokens("? -- trailing\n?"), Ok(vec![Token::Param, Token::Param]));
    assert_eq!(tokens("\t\r\n ? \u{c}"), Ok(vec![Token::Param]));
    assert_eq!(tokens("- -"), Ok(vec![Token::Minus, Token::Minus]));
    assert_eq!(tokens("/* a -- b */"), Ok(vec![]));
}

#[test]
fn numbers() {
    assert_eq!(
        tokens("0 42 18446744073709551615"),
        Ok(vec![Token::Int(0), Token::Int(42), Token::Int(u64::MAX)])
    );
    assert_eq!(
        tokens("1.5 .5 1e-3 2.5E+4 1. 7e2"),
        Ok(vec![
            Token::Float(1.5),
            Token::Float(0.5),
            Token::Float(0.001),
            Token::Float(25000.0),
            Token::Float(1.0),
            Token::Float(700.0)
        ])
    );
    assert_eq!(tokens("-1"), Ok(vec![Token::Minus, Token::Int(1)]));
}

#[test]
fn bad_numbers_are_positioned_errors() {
    let error = lex_error("SET x = 18446744073709551616");
    assert_eq!((error.kind, error.column, error.length), (ErrorKind::NumberOutOfRange, 9, 20));
    assert_eq!(error.found, "18446744073709551616");
    assert!(error.message.starts_with("number out of range"), "{error}");
    let error = lex_error("1e999");
    assert_eq!((error.kind, error.column), (ErrorKind::NumberOutOfRange, 1));
    assert_eq!(lex_error(&"9".repeat(500)).kind, ErrorKind::NumberOutOfRange);
    for text in ["1e", "1e+", "42abc", "1.2.3", "3_000"] {
        let error = lex_error(text);
        assert_eq!((error.kind, error.found.as_str()), (ErrorKind::InvalidToken, text), "{text}");
    }
}

#[test]
fn unterminated_strings_and_comments() {
    let error = lex_error("ADD USER 'abc");
    assert_eq!((error.kind, error.line, error.column, error.length), (ErrorKind::Unterminated, 1, 10, 1));
    assert_eq!(
        error.to_string(),
        "line 1, column 10: unterminated string: no closing ' before the end of input"
    );
    assert_eq!(lex_error("'it''s").kind, ErrorKind::Unterminated);
    assert_eq!(lex_error("DROP MODEL \"abc").kind, ErrorKind::Unterminated);
    let error = lex_error("SHOW USERS\n  /* never closed");
    assert_eq!(
        (error.kind, error.line, error.column, error.found.as_str()),
        (ErrorKind::Unterminated, 2, 3, "/*")
    );
}

#[test]
fn unknown_characters() {
    let error = lex_error("SHOW USERS #");
    assert_eq!(
        (error.kind, error.line, error.column, error.found.as_str()),
        (ErrorKind::InvalidToken, 1, 12, "#")
    );
    assert_eq!(error.message, "unexpected character '#'");
    let error = lex_error("SET x = é");
    assert_eq!((error.column, error.length, error.found.as_str()), (9, 2, "é"));
    for text in ["/", "+", "!", "[", ".", "@"] {
        assert_eq!(lex_error(text).kind, ErrorKind::InvalidToken, "{text}");
    }
    assert_eq!(lex_error("\"\"").kind, ErrorKind::InvalidToken, "empty quoted identifier");
}

#[test]
fn the_iterator_ends_after_an_error() {
    let mut lexer = Lexer::new("# ? ?");
    assert!(matches!(lexer.next(), Some(Err(_))));
    assert!(lexer.next().is_none());
}

#[test]
fn keywords_display_upper_case() {
    assert_eq!(Keyword::Recommendations.to_string(), "RECOMMENDATIONS");
    assert_eq!(tokens("top").map(|t| t[0].to_string()), Ok("TOP".to_owned()));
}
