//! Every statement form parses, prints canonically and round-trips.

use super::{verified_as, verified_stmt};
use crate::ast::{Filter, Ident, Literal, LiteralValue as V, StatementKind as K};
use crate::{
    parse_script, parse_statement, DescribeTarget, EvaluateTask, ImportTarget, Show, ShowObject, Side,
    SortOrder,
};

fn lit(value: V) -> Literal {
    Literal::new(value)
}

fn ident(text: &str) -> Ident {
    Ident { value: text.to_owned(), span: Default::default() }
}

#[test]
fn add() {
    verified_stmt("ADD USER 42");
    verified_stmt("ADD ITEM 'sku-19'");
    verified_stmt("ADD USER ? TAGS (?, 'a')");
    verified_stmt("ADD ITEM 7 TAGS ('genre:Comedy', 'it''s')");
    verified_stmt("ADD ITEM 1 LABEL 'Toy Story (1995)' TAGS ('genre:Animation')");
    verified_stmt("ADD USER ? LABEL ?");
    let statement = verified_as("add item 7 tags('a','b')", "ADD ITEM 7 TAGS ('a', 'b')");
    let tags = vec![lit(V::Str("a".into())), lit(V::Str("b".into()))];
    assert_eq!(statement.kind, K::Add { side: Side::Item, key: lit(V::Int(7)), label: None, tags });
    let labelled = verified_as("add item 7 label 'Heat'", "ADD ITEM 7 LABEL 'Heat'");
    let label = Some(lit(V::Str("Heat".into())));
    assert_eq!(labelled.kind, K::Add { side: Side::Item, key: lit(V::Int(7)), label, tags: Vec::new() });
}

#[test]
fn insert_interaction() {
    verified_stmt("INSERT INTERACTION USER 1 ITEM 2");
    verified_stmt("INSERT INTERACTION USER 'u' ITEM 'i' WEIGHT 4.5");
    verified_stmt("INSERT INTERACTION USER 1 ITEM 2 AT 1700000000");
    verified_stmt("INSERT INTERACTION USER 1 ITEM 2 WEIGHT -3 AT -86400");
    verified_stmt("INSERT INTERACTION USER ? ITEM ? WEIGHT ? AT ?");
    verified_as(
        "insert interaction user 1 item 2 weight 1e3",
        "INSERT INTERACTION USER 1 ITEM 2 WEIGHT 1000.0",
    );
}

#[test]
fn delete() {
    verified_stmt("DELETE INTERACTION USER 1 ITEM 'x'");
    verified_stmt("DELETE USER 18446744073709551615");
    let statement = verified_stmt("DELETE ITEM 'sku'");
    assert_eq!(statement.kind, K::Delete { side: Side::Item, key: lit(V::Str("sku".into())) });
}

#[test]
fn import() {
    verified_stmt("IMPORT INTERACTIONS FROM 'ratings.csv'");
    verified_stmt("IMPORT INTERACTIONS FROM 'ml-1m/ratings.dat' FORMAT movielens");
    verified_stmt("IMPORT USERS FROM 'users.tsv' FORMAT tsv WITH (user = 'UserID', header = TRUE)");
    verified_stmt("IMPORT ITEMS FROM ? WITH (delimiter = '|', skip = 1, scale = 0.5, mode = relaxed)");
    let statement = verified_as(
        "import interactions from 'train.txt' format LightGCN with (USER = 'u', \"Item Col\" = ?)",
        "IMPORT INTERACTIONS FROM 'train.txt' FORMAT lightgcn WITH (user = 'u', \"Item Col\" = ?)",
    );
    let K::Import { target, format, options, .. } = statement.kind else { panic!("not an import") };
    assert_eq!(target, ImportTarget::Interactions);
    assert_eq!(format, Some(ident("lightgcn")));
    assert_eq!(options[1].name, ident("Item Col"));
}

#[test]
fn split() {
    verified_stmt("SPLIT HOLDOUT 0.2");
    verified_stmt("SPLIT HOLDOUT 0.2 SEED 42");
    verified_stmt("SPLIT HOLDOUT ? SEED ?");
    verified_stmt("SPLIT HOLDOUT 1");
    verified_as("split holdout .25", "SPLIT HOLDOUT 0.25");
    assert_eq!(verified_stmt("SPLIT CLEAR").kind, K::SplitClear);
}

#[test]
fn train() {
    verified_stmt("TRAIN dsiml");
    verified_stmt("TRAIN dsiml AS taste");
    verified_stmt("TRAIN cml AS \"My Model\" WITH (dim = 64, lr = 0.05, features = TRUE) BACKGROUND");
    verified_stmt("TRAIN pop BACKGROUND");
    verified_stmt("TRAIN \"user\" WITH (seed = ?, epochs = 10)");
    let statement =
        verified_as("train DSIML as Taste with (BITS = 64)", "TRAIN dsiml AS taste WITH (bits = 64)");
    let K::Train { algorithm, name, background, .. } = statement.kind else { panic!("not a train") };
    assert_eq!((algorithm, name, background), (ident("dsiml"), Some(ident("taste")), false));
}

#[test]
fn recommend() {
    verified_as("RECOMMEND user 42 TOP 10 USING dsiml", "RECOMMEND USER 42 TOP 10 USING dsiml");
    verified_stmt("RECOMMEND USER 42 TOP 10");
    verified_stmt("RECOMMEND USER 'alice' TOP 5 USING m RERANK 100 USING cml");
    verified_stmt("RECOMMEND USER 1 TOP 10 WHERE TAG = 'genre:Comedy'");
    verified_stmt("RECOMMEND USER 1 TOP 10 INCLUDE SEEN");
    verified_stmt("RECOMMEND USER 1 TOP 10 INCLUDE SEEN WITH (tags = 'genre:, year:')");
    let statement = verified_as(
        "recommend user 1 top 3 using m where tag = 'a' with (TAGS = '*')",
        "RECOMMEND USER 1 TOP 3 USING m WHERE TAG = 'a' WITH (tags = '*')",
    );
    let K::Recommend(recommend) = statement.kind else { panic!("not a recommend") };
    assert_eq!(recommend.options.len(), 1);
    verified_stmt(
        "RECOMMEND USER ? TOP ? USING taste RERANK ? USING fine WHERE ITEM IN (1, 'b', ?) INCLUDE SEEN",
    );
    let statement = verified_stmt("RECOMMEND USER 7 TOP 3 WHERE TAG IN ('a', 'b') AND NOT ITEM IN (5)");
    let K::Recommend(recommend) = statement.kind else { panic!("not a recommend") };
    assert!(matches!(recommend.filter, Some(Filter::And { ref operands, .. }) if operands.len() == 2));
}

#[test]
fn similar() {
    verified_stmt("SIMILAR ITEM 'sku-1' TOP 10");
    verified_stmt("SIMILAR ITEM 3 TOP 10 USING dsiml WHERE TAG = 'x'");
    verified_stmt("SIMILAR USER 42 TOP 5 USING m");
    verified_stmt("SIMILAR USER 42 TOP 5 WHERE NOT TAG = 'bot'");
    verified_stmt("SIMILAR ITEM 3 TOP 10 USING m WHERE TAG = 'x' WITH (tags = ?)");
}

#[test]
fn evaluate() {
    verified_stmt("EVALUATE dsiml");
    verified_stmt("EVALUATE m AGAINST 'test.txt'");
    verified_stmt("EVALUATE m AGAINST 'test.txt' FORMAT lightgcn AT 10, 20, 50");
    verified_stmt("EVALUATE m AT 10 WITH (protocol = sampled, negatives = 100)");
    verified_stmt("EVALUATE taste RERANK 200 USING e AGAINST 'test.tsv' AT 10, 20");
    verified_stmt("EVALUATE m AGAINST ? AT ?, ?");
    verified_stmt("EVALUATE pop, ease, mf AT 10, 20");
    verified_as("evaluate a,b rerank 50 using e", "EVALUATE a, b RERANK 50 USING e");
    verified_stmt("EVALUATE tt COLD ITEMS FROM 'cold_items.txt'");
    verified_stmt("EVALUATE tt, pop COLD ITEMS FROM ? AGAINST 'test.tsv' AT 10, 20 WITH (match = 'genre:')");
    let statement =
        verified_as("evaluate tt cold items from 'c.txt' at 10", "EVALUATE tt COLD ITEMS FROM 'c.txt' AT 10");
    let K::Evaluate { task, rerank, against, .. } = statement.kind else { panic!("not an evaluate") };
    assert_eq!(
        (task, rerank, against),
        (Some(EvaluateTask::ColdItems(lit(V::Str("c.txt".into())))), None, None)
    );
    verified_stmt("EVALUATE tt, pop COLD USERS FROM 'cold_users.txt' AGAINST 'test.tsv' AT 10");
    let statement = verified_as("evaluate tt cold users from ?", "EVALUATE tt COLD USERS FROM ?");
    let K::Evaluate { task, .. } = statement.kind else { panic!("not an evaluate") };
    assert_eq!(task, Some(EvaluateTask::ColdUsers(lit(V::Param(0)))));
    verified_stmt("EVALUATE tt TAGS");
    verified_stmt(
        "EVALUATE tt, other TAGS AGAINST 'test.tsv' FORMAT tsv AT 5, 10 WITH (match = 'genre:', seed = 2)",
    );
    let statement = verified_as("evaluate tt tags at ?", "EVALUATE tt TAGS AT ?");
    let K::Evaluate { task, cutoffs, .. } = statement.kind else { panic!("not an evaluate") };
    assert_eq!((task, cutoffs), (Some(EvaluateTask::Tags), vec![lit(V::Param(0))]));
}

#[test]
fn recommend_tags() {
    verified_stmt("RECOMMEND TAGS FOR USER 42 TOP 5 USING tt");
    verified_stmt("RECOMMEND TAGS FOR ITEM 'Toy Story (1995)' TOP 3");
    verified_stmt("RECOMMEND TAGS FOR USER ? TOP ? USING tt WITH (match = 'genre:')");
    let statement = verified_as(
        "recommend tags for item 7 top 10 using \"My Model\" with (MATCH = 'year:')",
        "RECOMMEND TAGS FOR ITEM 7 TOP 10 USING \"My Model\" WITH (match = 'year:')",
    );
    let K::RecommendTags(tags) = statement.kind else { panic!("not a recommend tags") };
    assert_eq!(
        (tags.side, tags.key, tags.top, tags.using),
        (Side::Item, lit(V::Int(7)), lit(V::Int(10)), Some(ident("My Model")))
    );
    assert_eq!(tags.options.len(), 1);
}

#[test]
fn explain() {
    verified_stmt("EXPLAIN RECOMMEND USER 42 TOP 10 USING dsiml");
    verified_stmt("EXPLAIN SIMILAR ITEM 'x' TOP 3 WHERE TAG = 'a' OR TAG = 'b'");
}

#[test]
fn show() {
    for (text, object) in [
        ("SHOW USERS", ShowObject::Users),
        ("SHOW ITEMS", ShowObject::Items),
        ("SHOW TAGS", ShowObject::Tags),
        ("SHOW MODELS", ShowObject::Models),
        ("SHOW JOBS", ShowObject::Jobs),
        ("SHOW STATS", ShowObject::Stats),
        ("SHOW ALGORITHMS", ShowObject::Algorithms),
    ] {
        let show = Show { object, filter: None, order: None, limit: None, offset: None };
        assert_eq!(verified_stmt(text).kind, K::Show(show));
    }
    verified_stmt("SHOW USERS LIMIT 10");
    verified_stmt("SHOW TAGS LIMIT ?");
    verified_stmt("SHOW MODELS LIMIT 5 OFFSET 10");
    verified_stmt("SHOW ITEMS WHERE TAG = 'genre:Drama' ORDER BY INTERACTIONS DESC LIMIT 3 OFFSET ?");
    verified_stmt("SHOW USERS WHERE NOT TAG IN ('a', 'b') LIMIT 3");
    verified_stmt("SHOW INTERACTIONS USER 42 LIMIT 5");
    verified_stmt("SHOW INTERACTIONS ITEM 'sku'");
    let K::Show(show) = verified_stmt("SHOW INTERACTIONS").kind else { panic!("a SHOW") };
    assert_eq!(show.object, ShowObject::Interactions(None));
    // ASC is the default and prints as nothing.
    let K::Show(show) =
        parse_statement("show users order by interactions asc offset 2").expect("parses").kind
    else {
        panic!("a SHOW")
    };
    assert_eq!((show.order, show.offset.is_some()), (Some(SortOrder::Ascending), true));
    assert_eq!(
        parse_statement("SHOW USERS ORDER BY INTERACTIONS ASC").expect("parses").to_string(),
        "SHOW USERS ORDER BY INTERACTIONS"
    );
}

#[test]
fn show_clauses_are_checked_where_they_stand() {
    // WHERE and ORDER BY list users or items only.
    let error = parse_statement("SHOW MODELS WHERE TAG = 'x'").expect_err("MODELS has no WHERE");
    assert!(error.to_string().contains("expected LIMIT, OFFSET, ; or end of input"), "{error}");
    let error = parse_statement("SHOW USERS ORDER BY weight").expect_err("only INTERACTIONS");
    assert!(error.to_string().contains("expected INTERACTIONS"), "{error}");
    let error = parse_statement("SHOW USERS LIMIT 3 WHERE TAG = 'x'").expect_err("clauses in order");
    assert!(error.to_string().contains("expected OFFSET, ; or end of input"), "{error}");
    let error = parse_statement("SHOW INTERACTIONS USER").expect_err("a key after USER");
    assert!(error.to_string().contains("end of input"), "{error}");
}

#[test]
fn describe() {
    verified_stmt("DESCRIBE USER 42");
    verified_stmt("DESCRIBE ITEM 'sku'");
    let statement = verified_stmt("DESCRIBE MODEL dsiml");
    assert_eq!(statement.kind, K::Describe(DescribeTarget::Model(ident("dsiml"))));
}

#[test]
fn models_and_jobs() {
    verified_stmt("DROP MODEL taste");
    verified_stmt("DROP MODEL \"Taste 2\"");
    verified_stmt("CANCEL JOB 3");
    verified_stmt("WAIT JOB 3");
    verified_stmt("WAIT JOB ?");
}

#[test]
fn check() {
    assert_eq!(verified_stmt("CHECK").kind, K::Check);
    assert_eq!(parse_statement("check;").map(|s| s.kind), Ok(K::Check));
}

#[test]
fn export() {
    verified_stmt("EXPORT CODES dsiml USERS TO 'users.codes'");
    verified_stmt("EXPORT CODES dsiml ITEMS TO ?");
    verified_stmt("EXPORT RECOMMENDATIONS taste TOP 20 TO 'recs.csv'");
}

#[test]
fn set() {
    verified_stmt("SET durability = relaxed");
    verified_stmt("SET threads = 4");
    verified_stmt("SET ratio = -0.5");
    verified_stmt("SET name = 'it''s'");
    verified_stmt("SET verbose = FALSE");
    verified_stmt("SET limit = ?");
    verified_stmt("SET x = \"true\"");
    verified_stmt("SET x = \"two words\"");
    verified_as("set Durability = Relaxed", "SET durability = Relaxed");
    let statement = verified_as("SET mode = USER", "SET mode = USER");
    assert_eq!(statement.kind, K::Set { name: ident("mode"), value: lit(V::Word("USER".into())) });
    assert_eq!(
        verified_stmt("SET x = \"true\"").kind,
        K::Set { name: ident("x"), value: lit(V::Word("true".into())) }
    );
    assert_ne!(parse_statement("SET x = relaxed"), parse_statement("SET x = 'relaxed'"));
}

#[test]
fn literals_keep_their_kind() {
    let value = |text: &str| match parse_statement(&format!("SET x = {text}")).map(|s| s.kind) {
        Ok(K::Set { value, .. }) => value.value,
        other => panic!("{other:?}"),
    };
    assert_eq!(value("1"), V::Int(1));
    assert_eq!(value("1.0"), V::Float(1.0));
    assert_eq!(value("-9223372036854775808"), V::Int(i64::MIN.into()));
    assert_eq!(value("18446744073709551615"), V::Int(u64::MAX.into()));
    assert_eq!(value("2.5E+4"), V::Float(25000.0));
    assert_eq!(value("1e-3"), V::Float(0.001));
    assert_eq!(value("- 2"), V::Int(-2));
    assert_eq!(value("true"), V::Bool(true));
    verified_stmt("SET x = 1e300");
    verified_stmt("SET x = 5e-324");
    verified_stmt("SET x = 1.7976931348623157e308");
}

#[test]
fn filters_respect_precedence_and_parentheses() {
    verified_stmt("RECOMMEND USER 1 TOP 1 WHERE TAG = 'a' OR TAG = 'b' AND TAG = 'c'");
    verified_stmt("RECOMMEND USER 1 TOP 1 WHERE (TAG = 'a' OR TAG = 'b') AND TAG = 'c'");
    verified_stmt("RECOMMEND USER 1 TOP 1 WHERE NOT (TAG = 'a' OR TAG = 'b')");
    verified_stmt("RECOMMEND USER 1 TOP 1 WHERE NOT NOT TAG = 'a'");
    verified_stmt("RECOMMEND USER 1 TOP 1 WHERE TAG = 'a' AND TAG = 'b' AND TAG = 'c'");
    verified_stmt("RECOMMEND USER 1 TOP 1 WHERE (TAG = 'a' AND TAG = 'b') AND TAG = 'c'");
    verified_stmt("RECOMMEND USER 1 TOP 1 WHERE TAG = 'a' AND (TAG = 'b' AND TAG = 'c')");
    verified_stmt("RECOMMEND USER 1 TOP 1 WHERE (TAG = 'a' OR TAG = 'b') OR TAG = 'c'");
    verified_as("RECOMMEND USER 1 TOP 1 WHERE ((TAG = 'a'))", "RECOMMEND USER 1 TOP 1 WHERE TAG = 'a'");
    verified_as(
        "RECOMMEND USER 1 TOP 1 WHERE NOT tag='a' and tag in('b') or item in (1,2)",
        "RECOMMEND USER 1 TOP 1 WHERE NOT TAG = 'a' AND TAG IN ('b') OR ITEM IN (1, 2)",
    );
    let statement =
        verified_stmt("RECOMMEND USER 1 TOP 1 WHERE TAG = 'a' AND TAG = 'b' OR NOT TAG = 'c' AND TAG = 'd'");
    let K::Recommend(recommend) = statement.kind else { panic!("not a recommend") };
    let Some(Filter::Or { operands, .. }) = recommend.filter else { panic!("not an OR") };
    assert!(operands
        .iter()
        .all(|operand| matches!(operand, Filter::And { operands, .. } if operands.len() == 2)));
}

#[test]
fn names_are_lower_cased_unless_quoted() {
    verified_as("TRAIN Dsiml AS \"Mixed Case\"", "TRAIN dsiml AS \"Mixed Case\"");
    verified_as("DROP MODEL \"plain\"", "DROP MODEL plain");
    verified_stmt("DROP MODEL \"Upper\"");
    verified_stmt("DROP MODEL \"top\"");
    verified_stmt("DROP MODEL \"a\"\"b\"");
    verified_stmt("DROP MODEL \"ünïcode\"");
}

#[test]
fn scripts_split_on_semicolons() {
    let script = "ADD USER 1;; -- a comment\nADD ITEM 2 ;\n/* block */ RECOMMEND USER 1 TOP 5;";
    let statements = parse_script(script).expect("script");
    assert_eq!(statements.len(), 3);
    assert_eq!(crate::format_script(&statements), "ADD USER 1;\nADD ITEM 2;\nRECOMMEND USER 1 TOP 5;\n");
    assert_eq!(parse_script(&crate::format_script(&statements)), Ok(statements.clone()));
    assert_eq!((statements[1].span.start.line, statements[1].span.start.column), (2, 1));
    assert_eq!(
        &script[statements[2].span.start.offset..statements[2].span.end.offset],
        "RECOMMEND USER 1 TOP 5"
    );
    assert_eq!(parse_script("SHOW USERS"), Ok(vec![verified_stmt("SHOW USERS")]));
    assert_eq!(parse_script(""), Ok(vec![]));
    assert_eq!(parse_script(" ;; -- nothing\n"), Ok(vec![]));
    assert_eq!(parse_statement("SHOW USERS;"), Ok(verified_stmt("SHOW USERS")));
}

#[test]
fn read_only_statements() {
    let read_only = |text: &str| parse_statement(text).map(|s| s.is_read_only());
    for text in [
        "RECOMMEND USER 1 TOP 1",
        "SIMILAR ITEM 1 TOP 1",
        "EXPLAIN SIMILAR ITEM 1 TOP 1",
        "EVALUATE m",
        "SHOW STATS",
        "DESCRIBE MODEL m",
        "WAIT JOB 1",
        "CHECK",
        "EXPORT CODES m USERS TO 'f'",
    ] {
        assert_eq!(read_only(text), Ok(true), "{text}");
    }
    for text in [
        "ADD USER 1",
        "INSERT INTERACTION USER 1 ITEM 2",
        "DELETE USER 1",
        "IMPORT ITEMS FROM 'f'",
        "SPLIT CLEAR",
        "TRAIN pop",
        "DROP MODEL m",
        "CANCEL JOB 1",
        "SET a = 1",
    ] {
        assert_eq!(read_only(text), Ok(false), "{text}");
    }
}

#[test]
fn a_filter_parses_on_its_own() {
    let filter = crate::parse_filter("TAG = 'a' AND NOT ITEM IN (3, ?)").expect("a filter");
    assert!(matches!(filter, Filter::And { ref operands, .. } if operands.len() == 2), "{filter:?}");
    let error = crate::parse_filter("TAG = 'a' TOP 3").expect_err("trailing text");
    assert_eq!((error.column, error.expected.clone()), (11, vec!["AND", "OR", crate::END_OF_INPUT]));
    assert!(crate::parse_filter("").is_err());
}
