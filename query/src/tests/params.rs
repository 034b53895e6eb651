//! `?` placeholders: numbered in order of appearance, counted, and replaceable.

use crate::ast::LiteralValue as V;
use crate::{parse_script, parse_statement, Statement};

fn params(statement: &Statement) -> Vec<usize> {
    let mut found = Vec::new();
    statement.for_each_literal(|literal| {
        if let V::Param(index) = literal.value {
            found.push(index);
        }
    });
    found
}

#[test]
fn placeholders_are_numbered_in_text_order() {
    let text = "RECOMMEND USER ? TOP ? USING m RERANK ? USING n WHERE TAG = ? AND (ITEM IN (?, 3, ?) OR NOT TAG IN (?))";
    let statement = parse_statement(text).expect("parses");
    assert_eq!(params(&statement), (0..7).collect::<Vec<_>>());
    assert_eq!(statement.param_count(), 7);
}

#[test]
fn every_position_that_takes_a_value_takes_a_placeholder() {
    for (text, count) in [
        ("ADD USER ? TAGS (?, ?)", 3),
        ("INSERT INTERACTION USER ? ITEM ? WEIGHT ? AT ?", 4),
        ("IMPORT USERS FROM ? WITH (a = ?, b = 1)", 2),
        ("SPLIT HOLDOUT ? SEED ?", 2),
        ("TRAIN m WITH (x = ?)", 1),
        ("SIMILAR ITEM ? TOP ? WHERE TAG = ?", 3),
        ("EVALUATE m AGAINST ? AT ?, ? WITH (y = ?)", 4),
        ("EVALUATE m RERANK ? USING e AT ?", 2),
        ("EVALUATE m COLD ITEMS FROM ? AGAINST ? AT ?", 3),
        ("EVALUATE m COLD USERS FROM ? AGAINST ? AT ?", 3),
        ("EVALUATE m TAGS AGAINST ? AT ? WITH (match = ?)", 3),
        ("RECOMMEND TAGS FOR ITEM ? TOP ? USING m WITH (match = ?)", 3),
        ("EXPLAIN RECOMMEND USER ? TOP ?", 2),
        ("SHOW USERS LIMIT ?", 1),
        ("DESCRIBE ITEM ?", 1),
        ("CANCEL JOB ?", 1),
        ("EXPORT RECOMMENDATIONS m TOP ? TO ?", 2),
        ("SET a = ?", 1),
        ("SHOW STATS", 0),
    ] {
        let statement = parse_statement(text).expect(text);
        assert_eq!(statement.param_count(), count, "{text}");
        assert_eq!(params(&statement), (0..count).collect::<Vec<_>>(), "{text}");
    }
}

#[test]
fn numbering_runs_on_across_a_script() {
    let statements = parse_script("ADD USER ?; ADD ITEM ? TAGS (?); SHOW USERS; WAIT JOB ?").expect("parses");
    let all: Vec<usize> = statements.iter().flat_map(params).collect();
    assert_eq!(all, vec![0, 1, 2, 3]);
    assert_eq!(statements.iter().map(Statement::param_count).sum::<usize>(), 4);
}

#[test]
fn placeholders_can_be_bound_in_place() {
    let mut statement = parse_statement("RECOMMEND USER ? TOP ? USING m").expect("parses");
    let bound = [V::Str("alice".into()), V::Int(10)];
    statement.for_each_literal_mut(|literal| {
        if let V::Param(index) = literal.value {
            literal.value = bound[index].clone();
        }
    });
    assert_eq!(statement.to_string(), "RECOMMEND USER 'alice' TOP 10 USING m");
}
