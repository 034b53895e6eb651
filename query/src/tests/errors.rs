//! Invalid statements: each error says where, what was found and what was expected.

use super::assert_error;
use crate::{parse_script, parse_statement, ErrorKind, END_OF_INPUT};

const KEY: &[&str] = &["an integer", "a string", "?"];
const COUNT: &[&str] = &["an integer", "?"];

#[test]
fn the_spec_example() {
    let error = assert_error("RECOMMEND user 42 TOPP 10", 1, 19, &["TOP"], "TOPP");
    assert_eq!(error.to_string(), "line 1, column 19: expected TOP, found 'TOPP'");
    assert_eq!((error.offset, error.length), (18, 4));
    assert_eq!(
        error.render("RECOMMEND user 42 TOPP 10"),
        "1 | RECOMMEND user 42 TOPP 10\n  |                   ^^^^ expected TOP, found 'TOPP'"
    );
}

#[test]
fn statement_starts() {
    let all = [
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
    assert_error("RECOMEND user 1 TOP 5", 1, 1, &all, "RECOMEND");
    assert_error("", 1, 1, &all, END_OF_INPUT);
    assert_error("  -- just a comment", 1, 20, &all, END_OF_INPUT);
    assert_error("TOP 5", 1, 1, &all, "TOP");
    assert_error(";", 1, 1, &all, ";");
}

#[test]
fn data_statements() {
    assert_error("ADD 42", 1, 5, &["USER", "ITEM"], "42");
    assert_error("ADD USER -1", 1, 10, KEY, "-");
    assert_error("ADD USER 1 TAGS ()", 1, 18, &["a string", "?"], ")");
    assert_error("ADD USER 1 TAGS ('a' 'b')", 1, 22, &[",", ")"], "'b'");
    assert_error("ADD USER 1 TAGS ('a', 2)", 1, 23, &["a string", "?"], "2");
    assert_error("ADD USER 1.5", 1, 10, KEY, "1.5");
    assert_error("INSERT INTERACTION USER 1 2", 1, 27, &["ITEM"], "2");
    assert_error("INSERT USER 1 ITEM 2", 1, 8, &["INTERACTION"], "USER");
    assert_error("INSERT INTERACTION USER 1 ITEM 2 WEIGHT 'x'", 1, 41, &["a number", "?"], "'x'");
    assert_error("INSERT INTERACTION USER 1 ITEM 2 AT 1.5", 1, 37, COUNT, "1.5");
    assert_error("INSERT INTERACTION USER 1 ITEM 2 WEIGHT - x", 1, 43, &["a number"], "x");
    assert_error("DELETE MODEL m", 1, 8, &["INTERACTION", "USER", "ITEM"], "MODEL");
    assert_error("IMPORT RATINGS FROM 'x'", 1, 8, &["INTERACTIONS", "USERS", "ITEMS"], "RATINGS");
    assert_error("IMPORT USERS 'x'", 1, 14, &["FROM"], "'x'");
    assert_error("IMPORT USERS FROM x", 1, 19, &["a string", "?"], "x");
    assert_error("IMPORT USERS FROM 'x' FORMAT 'csv'", 1, 30, &["a name"], "'csv'");
    assert_error("IMPORT USERS FROM 'x' WITH (a 1)", 1, 31, &["="], "1");
    assert_error("IMPORT USERS FROM 'x' WITH (a = )", 1, 33, &["a value", "?"], ")");
    assert_error("IMPORT USERS FROM 'x' WITH ()", 1, 29, &["a name"], ")");
    assert_error("SPLIT 0.2", 1, 7, &["CLEAR", "HOLDOUT"], "0.2");
    assert_error("SPLIT HOLDOUT 'a'", 1, 15, &["a number", "?"], "'a'");
    assert_error("SPLIT HOLDOUT 0.2 SEED -1", 1, 24, COUNT, "-");
    assert_error("EXPORT CODES m TO 'f'", 1, 16, &["USERS", "ITEMS"], "TO");
    assert_error("EXPORT RECOMMENDATIONS m 10 TO 'f'", 1, 26, &["TOP"], "10");
    assert_error("EXPORT MODEL m", 1, 8, &["CODES", "RECOMMENDATIONS"], "MODEL");
}

#[test]
fn query_statements() {
    assert_error("RECOMMEND 42 TOP 10", 1, 11, &["TAGS", "USER"], "42");
    assert_error("RECOMMEND TAGS USER 42 TOP 5", 1, 16, &["FOR"], "USER");
    assert_error("RECOMMEND TAGS FOR MODEL m TOP 5", 1, 20, &["USER", "ITEM"], "MODEL");
    assert_error(
        "RECOMMEND TAGS FOR USER 42 TOP 5 WHERE TAG = 'x'",
        1,
        34,
        &["USING", "WITH", ";", END_OF_INPUT],
        "WHERE",
    );
    assert_error(
        "RECOMMEND TAGS FOR ITEM 1\n  TOP 5 USING tt INCLUDE SEEN",
        2,
        18,
        &["WITH", ";", END_OF_INPUT],
        "INCLUDE",
    );
    assert_error("EXPLAIN RECOMMEND TAGS FOR USER 1 TOP 5", 1, 19, &["USER"], "TAGS");
    assert_error("RECOMMEND USER 42 TOP", 1, 22, COUNT, END_OF_INPUT);
    assert_error("RECOMMEND USER 42 TOP -5", 1, 23, COUNT, "-");
    assert_error("RECOMMEND USER 42 TOP 10 USING", 1, 31, &["a name"], END_OF_INPUT);
    let error = assert_error("RECOMMEND USER 42 TOP 10 USING user", 1, 32, &["a name"], "user");
    assert!(error.message.ends_with("(USER is a keyword; write \"user\" to use it as a name)"), "{error}");
    assert_error("RECOMMEND USER 42 TOP 10 RERANK 50 m", 1, 36, &["USING"], "m");
    assert_error("RECOMMEND USER 42 TOP 10 INCLUDE", 1, 33, &["SEEN"], END_OF_INPUT);
    assert_error("RECOMMEND USER 42 TOP 10 WITH tags = 'x'", 1, 31, &["("], "tags");
    assert_error("SIMILAR ITEM 1 TOP 10 WITH (tags 'x')", 1, 34, &["="], "'x'");
    assert_error(
        "RECOMMEND USER 42 TOP 10 LIMIT 5",
        1,
        26,
        &["USING", "RERANK", "WHERE", "INCLUDE", "WITH", ";", "end of input"],
        "LIMIT",
    );
    assert_error("RECOMMEND USER 42 TOP 10 WHERE", 1, 31, &["NOT", "(", "TAG", "ITEM"], END_OF_INPUT);
    assert_error("RECOMMEND USER 42 TOP 10 WHERE TAG 'x'", 1, 36, &["=", "IN"], "'x'");
    assert_error("RECOMMEND USER 42 TOP 10 WHERE TAG = 1", 1, 38, &["a string", "?"], "1");
    assert_error("RECOMMEND USER 42 TOP 10 WHERE ITEM = 1", 1, 37, &["IN"], "=");
    assert_error("RECOMMEND USER 42 TOP 10 WHERE (TAG = 'x'", 1, 42, &["AND", "OR", ")"], END_OF_INPUT);
    assert_error(
        "RECOMMEND USER 42 TOP 10 WHERE TAG = 'x' AND",
        1,
        45,
        &["NOT", "(", "TAG", "ITEM"],
        END_OF_INPUT,
    );
    assert_error(
        "RECOMMEND USER 1 TOP 1 WHERE TAG = 'x' SEEN",
        1,
        40,
        &["AND", "OR", "INCLUDE", "WITH", ";", "end of input"],
        "SEEN",
    );
    assert_error("SIMILAR MODEL m TOP 5", 1, 9, &["USER", "ITEM"], "MODEL");
    assert_error(
        "SIMILAR ITEM 1 TOP 5 INCLUDE SEEN",
        1,
        22,
        &["USING", "WHERE", "WITH", ";", "end of input"],
        "INCLUDE",
    );
    assert_error("EXPLAIN SHOW USERS", 1, 9, &["RECOMMEND", "SIMILAR"], "SHOW");
    assert_error("EVALUATE", 1, 9, &["a name"], END_OF_INPUT);
    assert_error("EVALUATE m AT", 1, 14, COUNT, END_OF_INPUT);
    assert_error("EVALUATE m AT 10,", 1, 18, COUNT, END_OF_INPUT);
    assert_error("EVALUATE m RERANK 200 e", 1, 23, &["USING"], "e");
    assert_error("EVALUATE m AGAINST 'f' FORMAT", 1, 30, &["a name"], END_OF_INPUT);
    assert_error("EVALUATE m COLD 'f'", 1, 17, &["ITEMS", "USERS"], "'f'");
    assert_error("EVALUATE m COLD USERS 'f'", 1, 23, &["FROM"], "'f'");
    assert_error("EVALUATE m COLD USERS FROM users", 1, 28, &["a string", "?"], "users");
    assert_error("EVALUATE m COLD ITEMS 'f'", 1, 23, &["FROM"], "'f'");
    assert_error("EVALUATE m TAGS FROM 'f'", 1, 17, &["AGAINST", "AT", "WITH", ";", END_OF_INPUT], "FROM");
    assert_error(
        "EVALUATE m COLD ITEMS FROM 'f' TAGS",
        1,
        32,
        &["AGAINST", "AT", "WITH", ";", END_OF_INPUT],
        "TAGS",
    );
    assert_error("EVALUATE m\n  COLD ITEMS FROM 7", 2, 19, &["a string", "?"], "7");
}

#[test]
fn admin_statements() {
    assert_error("TRAIN", 1, 6, &["a name"], END_OF_INPUT);
    assert_error("TRAIN 'dsiml'", 1, 7, &["a name"], "'dsiml'");
    assert_error("TRAIN m AS", 1, 11, &["a name"], END_OF_INPUT);
    assert_error("TRAIN m WITH (bits = 64", 1, 24, &[",", ")"], END_OF_INPUT);
    assert_error(
        "TRAIN m FOREGROUND",
        1,
        9,
        &["AS", "WITH", "BACKGROUND", ";", "end of input"],
        "FOREGROUND",
    );
    assert_error(
        "SHOW",
        1,
        5,
        &["USERS", "ITEMS", "INTERACTIONS", "TAGS", "MODELS", "JOBS", "STATS", "ALGORITHMS"],
        END_OF_INPUT,
    );
    assert_error(
        "SHOW USER",
        1,
        6,
        &["USERS", "ITEMS", "INTERACTIONS", "TAGS", "MODELS", "JOBS", "STATS", "ALGORITHMS"],
        "USER",
    );
    assert_error("SHOW USERS LIMIT ten", 1, 18, COUNT, "ten");
    assert_error("SHOW USERS foo", 1, 12, &["WHERE", "ORDER", "LIMIT", "OFFSET", ";", "end of input"], "foo");
    assert_error("SHOW TAGS foo", 1, 11, &["LIMIT", "OFFSET", ";", "end of input"], "foo");
    assert_error("SHOW USERS ORDER interactions", 1, 18, &["BY"], "interactions");
    assert_error("SHOW INTERACTIONS USER", 1, 23, &["an integer", "a string", "?"], "end of input");
    assert_error("DESCRIBE JOB 1", 1, 10, &["USER", "ITEM", "MODEL"], "JOB");
    assert_error("DROP m", 1, 6, &["MODEL"], "m");
    assert_error("CANCEL JOB 'x'", 1, 12, COUNT, "'x'");
    assert_error("WAIT 3", 1, 6, &["JOB"], "3");
    assert_error("CHECK INTEGRITY", 1, 7, &[";", END_OF_INPUT], "INTEGRITY");
    assert_error("SET = 1", 1, 5, &["a name"], "=");
    assert_error("SET a 1", 1, 7, &["="], "1");
    assert_error("SET a = (", 1, 9, &["a value", "?"], "(");
    assert_error("SET a = -b", 1, 10, &["a number"], "b");
}

#[test]
fn errors_in_later_lines_and_statements() {
    let script = "ADD USER 1;\nADD USER 2;\n  SHOW USRS;";
    let error = parse_script(script).expect_err("bad third statement");
    assert_eq!((error.line, error.column, error.found.as_str()), (3, 8, "USRS"));
    assert_eq!(
        error.render(script),
        "3 |   SHOW USRS;\n  |        ^^^^ expected USERS, ITEMS, INTERACTIONS, TAGS, MODELS, JOBS, STATS or ALGORITHMS, found 'USRS'"
    );
    let error = parse_script("ADD USER 1\nADD USER 2").expect_err("missing ;");
    assert_eq!((error.line, error.column, error.found.as_str()), (2, 1, "ADD"));
    assert_eq!(error.expected, vec!["LABEL", "TAGS", ";"]);
    let error = parse_statement("ADD USER 1; ADD USER 2").expect_err("two statements");
    assert_eq!((error.column, error.expected.clone()), (13, vec![END_OF_INPUT]));
    let error = parse_statement("SHOW USERS LIMIT 5 5").expect_err("trailing garbage");
    assert_eq!((error.column, error.expected.clone()), (20, vec!["OFFSET", ";", END_OF_INPUT]));
    let error = parse_script("SHOW USERS; SHOW 'x").expect_err("unterminated");
    assert_eq!((error.kind, error.column), (ErrorKind::Unterminated, 18));
}

#[test]
fn lexical_errors_surface_through_the_parser() {
    let error = parse_statement("ADD USER 1 TAGS ('a', #)").expect_err("bad char");
    assert_eq!((error.kind, error.column, error.found.as_str()), (ErrorKind::InvalidToken, 23, "#"));
    assert_eq!(error.expected, Vec::<&str>::new());
    let error = parse_statement("RECOMMEND USER 99999999999999999999999 TOP 1").expect_err("too big");
    assert_eq!((error.kind, error.column), (ErrorKind::NumberOutOfRange, 16));
    let error = parse_statement("SET x = -9223372036854775809").expect_err("too small");
    assert_eq!((error.kind, error.column, error.length), (ErrorKind::NumberOutOfRange, 9, 20));
    assert_eq!(error.found, "-9223372036854775809");
    let error = parse_statement("SET x = 1e999").expect_err("infinite");
    assert_eq!(error.kind, ErrorKind::NumberOutOfRange);
}
