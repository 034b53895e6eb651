//! Limits: hostile sizes give errors, never a crash.

use crate::limits::{MAX_FILTER_DEPTH, MAX_LIST_LEN, MAX_STATEMENT_LEN};
use crate::{parse_script, parse_statement, ErrorKind};

fn limit_error(text: &str) -> crate::ParseError {
    match parse_statement(text) {
        Ok(_) => panic!("parsed a text of {} bytes", text.len()),
        Err(error) => error,
    }
}

#[test]
fn deep_not_chains_are_refused() {
    let text = format!("RECOMMEND USER 1 TOP 1 WHERE {}TAG = 'x'", "NOT ".repeat(100_000));
    let error = limit_error(&text);
    assert_eq!(error.kind, ErrorKind::LimitExceeded);
    assert!(error.message.contains("nested too deeply"), "{error}");
    assert_eq!(error.column, 30 + 4 * MAX_FILTER_DEPTH);
}

#[test]
fn deep_parentheses_are_refused() {
    let text =
        format!("RECOMMEND USER 1 TOP 1 WHERE {}TAG = 'x'{}", "(".repeat(100_000), ")".repeat(100_000));
    assert_eq!(limit_error(&text).kind, ErrorKind::LimitExceeded);
}

#[test]
fn nesting_up_to_the_limit_is_accepted() {
    let depth = MAX_FILTER_DEPTH - 1;
    let text = format!("RECOMMEND USER 1 TOP 1 WHERE {}TAG = 'x'", "NOT ".repeat(depth));
    assert!(parse_statement(&text).is_ok());
    let text = format!("RECOMMEND USER 1 TOP 1 WHERE {}TAG = 'x'{}", "(".repeat(depth), ")".repeat(depth));
    assert!(parse_statement(&text).is_ok());
}

#[test]
fn long_and_chains_stay_flat() {
    let chain = vec!["TAG = 'x'"; 10_000].join(" AND ");
    let statement =
        parse_statement(&format!("RECOMMEND USER 1 TOP 1 WHERE {chain} OR ITEM IN (1)")).expect("parses");
    assert_eq!(parse_statement(&statement.to_string()), Ok(statement));
}

#[test]
fn long_lists_are_refused() {
    let items = vec!["1"; 200_000].join(",");
    let error = limit_error(&format!("RECOMMEND USER 1 TOP 1 WHERE ITEM IN ({items})"));
    assert_eq!(error.kind, ErrorKind::LimitExceeded);
    assert!(error.message.contains("list too long"), "{error}");
    let items = vec!["1"; MAX_LIST_LEN].join(",");
    assert!(parse_statement(&format!("RECOMMEND USER 1 TOP 1 WHERE ITEM IN ({items})")).is_ok());
}

#[test]
fn long_statements_are_refused_but_scripts_may_be_long() {
    let error = limit_error(&format!("SET x = '{}'", "a".repeat(MAX_STATEMENT_LEN)));
    assert_eq!(error.kind, ErrorKind::LimitExceeded);
    assert!(error.message.contains("statement too long"), "{error}");
    let script = "ADD USER 1 TAGS ('a long enough tag to fill a script');\n".repeat(30_000);
    assert!(script.len() > MAX_STATEMENT_LEN);
    assert_eq!(parse_script(&script).map(|statements| statements.len()), Ok(30_000));
}

#[test]
fn big_numbers_are_refused() {
    for text in ["SHOW USERS LIMIT 99999999999999999999999", "SET x = -99999999999999999999", "SET x = 1e400"]
    {
        assert_eq!(limit_error(text).kind, ErrorKind::NumberOutOfRange, "{text}");
    }
}
