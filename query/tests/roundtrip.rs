//! Property: printing any AST and parsing the text gives the same AST back, for single statements and
//! for scripts (where `?` numbering runs across statements).

use proptest::prelude::*;
use recodb_query::{
    format_script, parse_script, parse_statement, DescribeTarget, EvaluateTask, Filter, Ident, ImportTarget,
    Literal, LiteralValue as V, OptionPair, Query, Recommend, RecommendTags, Rerank, Show, ShowObject, Side,
    Similar, SortOrder, Source, Span, Statement, StatementKind as K,
};

fn lit(value: V) -> Literal {
    Literal::new(value)
}

/// Text for strings and quoted names: quotes, separators and comment markers, or anything at all.
fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z'\" ;*/-]{0,10}", any::<String>()]
}

fn non_empty_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z_][A-Za-z0-9_]{0,8}",
        "[a-z' \"]{1,6}",
        any::<String>().prop_filter("non-empty", |s| !s.is_empty())
    ]
}

fn finite() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("finite", |value| value.is_finite())
}

fn param() -> impl Strategy<Value = Literal> {
    Just(lit(V::Param(0)))
}

fn key() -> impl Strategy<Value = Literal> {
    prop_oneof![
        any::<u64>().prop_map(|v| lit(V::Int(v.into()))),
        text().prop_map(|s| lit(V::Str(s))),
        param()
    ]
}

fn count() -> impl Strategy<Value = Literal> {
    prop_oneof![any::<u64>().prop_map(|v| lit(V::Int(v.into()))), param()]
}

fn integer() -> impl Strategy<Value = Literal> {
    prop_oneof![any::<i64>().prop_map(|v| lit(V::Int(v.into()))), count()]
}

fn fraction() -> impl Strategy<Value = Literal> {
    prop_oneof![finite().prop_map(|v| lit(V::Float(v.abs()))), count()]
}

fn number() -> impl Strategy<Value = Literal> {
    prop_oneof![finite().prop_map(|v| lit(V::Float(v))), integer()]
}

fn string() -> impl Strategy<Value = Literal> {
    prop_oneof![text().prop_map(|s| lit(V::Str(s))), param()]
}

fn value() -> impl Strategy<Value = Literal> {
    prop_oneof![
        number(),
        string(),
        any::<bool>().prop_map(|b| lit(V::Bool(b))),
        non_empty_text().prop_map(|w| lit(V::Word(w))),
    ]
}

fn name() -> impl Strategy<Value = Ident> {
    prop_oneof!["[a-z_][a-z0-9_]{0,8}".prop_map(String::from), non_empty_text()]
        .prop_map(|value| Ident { value, span: Span::default() })
}

fn options() -> impl Strategy<Value = Vec<OptionPair>> {
    prop::collection::vec(
        (name(), value()).prop_map(|(name, value)| OptionPair { name, value, span: Span::default() }),
        0..4,
    )
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::User), Just(Side::Item)]
}

fn filter() -> impl Strategy<Value = Filter> {
    let span = Span::default();
    let leaf = prop_oneof![
        string().prop_map(move |tag| Filter::TagEq { tag, span }),
        prop::collection::vec(string(), 1..4).prop_map(move |tags| Filter::TagIn { tags, span }),
        prop::collection::vec(key(), 1..4).prop_map(move |items| Filter::ItemIn { items, span }),
    ];
    leaf.prop_recursive(6, 48, 4, move |inner| {
        prop_oneof![
            inner.clone().prop_map(move |f| Filter::Not { operand: Box::new(f), span }),
            prop::collection::vec(inner.clone(), 2..4)
                .prop_map(move |operands| Filter::And { operands, span }),
            prop::collection::vec(inner, 2..4).prop_map(move |operands| Filter::Or { operands, span }),
        ]
    })
}

fn rerank() -> impl Strategy<Value = Rerank> {
    (count(), name()).prop_map(|(candidates, model)| Rerank { candidates, model })
}

fn recommend() -> impl Strategy<Value = Recommend> {
    (
        key(),
        count(),
        prop::option::of(name()),
        prop::option::of(rerank()),
        prop::option::of(filter()),
        any::<bool>(),
        options(),
    )
        .prop_map(|(user, top, using, rerank, filter, include_seen, options)| Recommend {
            user,
            top,
            using,
            rerank,
            filter,
            include_seen,
            options,
        })
}

fn similar() -> impl Strategy<Value = Similar> {
    (side(), key(), count(), prop::option::of(name()), prop::option::of(filter()), options()).prop_map(
        |(side, key, top, using, filter, options)| Similar { side, key, top, using, filter, options },
    )
}

fn kind() -> impl Strategy<Value = K> {
    let import_target =
        prop_oneof![Just(ImportTarget::Interactions), Just(ImportTarget::Users), Just(ImportTarget::Items)];
    let others = prop_oneof![
        Just(ShowObject::Tags),
        Just(ShowObject::Models),
        Just(ShowObject::Jobs),
        Just(ShowObject::Stats),
        Just(ShowObject::Algorithms),
        prop::option::of((side(), key())).prop_map(ShowObject::Interactions)
    ];
    let order = prop::option::of(prop_oneof![Just(SortOrder::Ascending), Just(SortOrder::Descending)]);
    let page = || (prop::option::of(count()), prop::option::of(count()));
    let entities =
        (prop_oneof![Just(ShowObject::Users), Just(ShowObject::Items)], prop::option::of(filter()), order);
    let show = prop_oneof![
        (entities, page()).prop_map(|((object, filter, order), (limit, offset))| {
            K::Show(Show { object, filter, order, limit, offset })
        }),
        (others, page()).prop_map(|(object, (limit, offset))| {
            K::Show(Show { object, filter: None, order: None, limit, offset })
        })
    ];
    let source = (string(), prop::option::of(name())).prop_map(|(path, format)| Source { path, format });
    prop_oneof![
        (side(), key(), prop::option::of(string()), prop::collection::vec(string(), 0..3))
            .prop_map(|(side, key, label, tags)| K::Add { side, key, label, tags }),
        (key(), key(), prop::option::of(number()), prop::option::of(integer()))
            .prop_map(|(user, item, weight, time)| K::InsertInteraction { user, item, weight, time }),
        (key(), key()).prop_map(|(user, item)| K::DeleteInteraction { user, item }),
        (side(), key()).prop_map(|(side, key)| K::Delete { side, key }),
        (import_target, string(), prop::option::of(name()), options())
            .prop_map(|(target, path, format, options)| K::Import { target, path, format, options }),
        (fraction(), prop::option::of(count()))
            .prop_map(|(fraction, seed)| K::SplitHoldout { fraction, seed }),
        Just(K::SplitClear),
        (name(), prop::option::of(name()), options(), any::<bool>()).prop_map(
            |(algorithm, name, options, background)| K::Train { algorithm, name, options, background }
        ),
        recommend().prop_map(K::Recommend),
        (side(), key(), count(), prop::option::of(name()), options()).prop_map(
            |(side, key, top, using, options)| {
                K::RecommendTags(RecommendTags { side, key, top, using, options })
            }
        ),
        similar().prop_map(K::Similar),
        (
            prop::collection::vec(name(), 1..3),
            prop::option::of(rerank()),
            prop::option::of(prop_oneof![
                string().prop_map(EvaluateTask::ColdItems),
                string().prop_map(EvaluateTask::ColdUsers),
                Just(EvaluateTask::Tags)
            ]),
            prop::option::of(source),
            prop::collection::vec(count(), 0..3),
            options()
        )
            .prop_map(|(models, rerank, task, against, cutoffs, options)| K::Evaluate {
                models,
                rerank,
                task,
                against,
                cutoffs,
                options
            }),
        prop_oneof![recommend().prop_map(Query::Recommend), similar().prop_map(Query::Similar)]
            .prop_map(K::Explain),
        show,
        prop_oneof![
            key().prop_map(DescribeTarget::User),
            key().prop_map(DescribeTarget::Item),
            name().prop_map(DescribeTarget::Model)
        ]
        .prop_map(K::Describe),
        name().prop_map(|name| K::DropModel { name }),
        count().prop_map(|job| K::CancelJob { job }),
        count().prop_map(|job| K::WaitJob { job }),
        Just(K::Check),
        (name(), side(), string()).prop_map(|(model, side, path)| K::ExportCodes { model, side, path }),
        (name(), count(), string()).prop_map(|(model, top, path)| K::ExportRecommendations {
            model,
            top,
            path
        }),
        (name(), value()).prop_map(|(name, value)| K::Set { name, value }),
    ]
}

/// Numbers the `?` placeholders of `statements` in text order, as the parser does.
fn renumber(statements: &mut [Statement]) {
    let mut next = 0;
    for statement in statements {
        statement.for_each_literal_mut(|literal| {
            if let V::Param(index) = &mut literal.value {
                *index = next;
                next += 1;
            }
        });
    }
}

fn statement() -> impl Strategy<Value = Statement> {
    kind().prop_map(|kind| {
        let mut statements = [Statement { kind, span: Span::default() }];
        renumber(&mut statements);
        let [statement] = statements;
        statement
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn statements_round_trip(statement in statement()) {
        let text = statement.to_string();
        prop_assert_eq!(parse_statement(&text), Ok(statement.clone()), "{}", text);
        // Canonical text is a fixed point.
        prop_assert_eq!(parse_statement(&text).map(|s| s.to_string()), Ok(text));
    }

    #[test]
    fn scripts_round_trip(kinds in prop::collection::vec(kind(), 0..5)) {
        let mut statements: Vec<Statement> =
            kinds.into_iter().map(|kind| Statement { kind, span: Span::default() }).collect();
        renumber(&mut statements);
        let text = format_script(&statements);
        prop_assert_eq!(parse_script(&text), Ok(statements), "{}", text);
    }

    #[test]
    fn any_text_parses_or_fails_cleanly(text in any::<String>()) {
        if let Ok(statements) = parse_script(&text) {
            prop_assert_eq!(parse_script(&format_script(&statements)), Ok(statements));
        }
        let _ = recodb_query::is_complete(&text);
    }

    #[test]
    fn edited_statements_parse_or_fail_cleanly(
        seed in prop::sample::select(SEEDS),
        edits in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(PIECES), any::<bool>()), 1..4),
    ) {
        let mut text = seed.to_owned();
        for (at, piece, insert) in edits {
            let boundaries: Vec<usize> = (0..=text.len()).filter(|&i| text.is_char_boundary(i)).collect();
            let at = boundaries[at.index(boundaries.len())];
            if insert {
                text.insert_str(at, piece);
            } else {
                let end = boundaries.iter().copied().find(|&end| end >= at + piece.len()).unwrap_or(text.len());
                text.replace_range(at..end, "");
            }
        }
        let _ = recodb_query::is_complete(&text);
        if let Ok(statements) = parse_script(&text) {
            prop_assert_eq!(parse_script(&format_script(&statements)), Ok(statements), "{}", text);
        }
    }
}

/// Valid statements that the edits start from.
const SEEDS: &[&str] = &[
    "RECOMMEND user 42 TOP 10 USING dsiml RERANK 100 USING cml WHERE (TAG = 'a' OR TAG IN ('b', 'c')) AND NOT ITEM IN (1, 'x') INCLUDE SEEN",
    "SIMILAR ITEM 'sku' TOP 5 WHERE NOT (TAG = 'x' AND TAG = 'y') OR ITEM IN (?, 2)",
    "IMPORT INTERACTIONS FROM 'a.csv' FORMAT csv WITH (user = 'UserID', header = true, scale = -1.5e3, mode = relaxed)",
    "TRAIN dsiml AS \"My Model\" WITH (bits = 64) BACKGROUND; EVALUATE m AGAINST 't' FORMAT tsv AT 10, 20",
    "INSERT INTERACTION USER 1 ITEM 'it''s' WEIGHT -0.5 AT 1700000000; SPLIT HOLDOUT .2 SEED 7; SET x = ?",
    "ADD USER 1 TAGS ('a', 'b'); SHOW USERS LIMIT 3; DESCRIBE MODEL m; EXPORT CODES m ITEMS TO 'f' -- done",
];

/// Fragments the edits insert (or whose length they delete).
const PIECES: &[&str] = &[
    "(",
    ")",
    ",",
    ";",
    "=",
    "-",
    "?",
    "'",
    "\"",
    "--",
    "/*",
    "*/",
    " NOT ",
    " AND ",
    " OR ",
    "TAG = 'q'",
    "1e5",
    ".5",
    "18446744073709551616",
    "é",
    "\n",
    " USER ",
    " TOP ",
    " WITH (a = 1)",
    "x",
];
