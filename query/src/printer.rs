//! The pretty-printer: `Display` on every AST node prints canonical recodb text.
//!
//! Canonical means: keywords upper-case, single spaces, clauses in grammar order, strings re-quoted with
//! `''`, floats with `{:?}` (so `1.0` stays a float and every value reads back exactly), bare names
//! lower-case and anything else double-quoted, and parentheses in filters exactly where precedence or the
//! tree's shape needs them. The printed text parses back to an equal AST; the tests and the fuzz target
//! check that.

use std::fmt::{self, Display, Formatter, Write};

use crate::ast::{
    DescribeTarget, EvaluateTask, Filter, Ident, ImportTarget, Literal, LiteralValue, OptionPair, Query,
    Recommend, RecommendTags, Rerank, Show, ShowObject, Side, Similar, SortOrder, Source, Statement,
    StatementKind,
};
use crate::keyword::Keyword;
use crate::token::write_quoted;

/// Prints statements as a script: one statement per line, each ending in `;`.
pub fn format_script(statements: &[Statement]) -> String {
    let mut text = String::new();
    for statement in statements {
        // Writing into a String cannot fail.
        let _ = writeln!(text, "{statement};");
    }
    text
}

/// Whether `text` lexes as one bare identifier; with `lower`, also whether it has no upper-case letter.
fn is_plain_word(text: &str, lower: bool) -> bool {
    let mut bytes = text.bytes();
    let first_ok = bytes.next().is_some_and(|byte| byte.is_ascii_alphabetic() || byte == b'_');
    first_ok
        && text.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
        && !(lower && text.bytes().any(|byte| byte.is_ascii_uppercase()))
}

/// Writes an option or setting name: bare when it reads back as itself (keywords included), else quoted.
fn write_option_name(f: &mut Formatter<'_>, name: &Ident) -> fmt::Result {
    if is_plain_word(&name.value, true) {
        f.write_str(&name.value)
    } else {
        write_quoted(f, &name.value, '"')
    }
}

/// Writes `items` separated by `, `.
fn write_list<T: Display>(f: &mut Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        item.fmt(f)?;
    }
    Ok(())
}

/// Writes ` WITH (a = 1, ...)` when there are options.
fn write_options(f: &mut Formatter<'_>, options: &[OptionPair]) -> fmt::Result {
    if options.is_empty() {
        return Ok(());
    }
    f.write_str(" WITH (")?;
    write_list(f, options)?;
    f.write_str(")")
}

/// Writes ` KEYWORD name` when there is a name.
fn write_opt_ident(f: &mut Formatter<'_>, keyword: Keyword, ident: &Option<Ident>) -> fmt::Result {
    match ident {
        Some(ident) => write!(f, " {keyword} {ident}"),
        None => Ok(()),
    }
}

/// A bare identifier when it reads back as the same lower-cased non-keyword name, else double-quoted.
impl Display for Ident {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if is_plain_word(&self.value, true) && Keyword::from_word(&self.value).is_none() {
            f.write_str(&self.value)
        } else {
            write_quoted(f, &self.value, '"')
        }
    }
}

/// `name = value`
impl Display for OptionPair {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_option_name(f, &self.name)?;
        write!(f, " = {}", self.value)
    }
}

impl Display for Literal {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

/// `42`, `-1.5`, `'it''s'`, `TRUE`, `relaxed`, `?`.
impl Display for LiteralValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            LiteralValue::Int(value) => write!(f, "{value}"),
            LiteralValue::Float(value) => write!(f, "{value:?}"),
            LiteralValue::Str(text) => write_quoted(f, text, '\''),
            LiteralValue::Bool(true) => f.write_str("TRUE"),
            LiteralValue::Bool(false) => f.write_str("FALSE"),
            LiteralValue::Word(word) => {
                let is_bool = word.eq_ignore_ascii_case("true") || word.eq_ignore_ascii_case("false");
                if is_plain_word(word, false) && !is_bool {
                    f.write_str(word)
                } else {
                    write_quoted(f, word, '"')
                }
            }
            LiteralValue::Param(_) => f.write_str("?"),
        }
    }
}

impl Filter {
    /// Binding strength, weakest first: `OR` 1, `AND` 2, `NOT` 3, conditions 4.
    fn precedence(&self) -> u8 {
        match self {
            Filter::Or { .. } => 1,
            Filter::And { .. } => 2,
            Filter::Not { .. } => 3,
            Filter::TagEq { .. } | Filter::TagIn { .. } | Filter::ItemIn { .. } => 4,
        }
    }

    /// Writes `self` as an operand of an operator of precedence `outer`, in parentheses when it binds no
    /// tighter (an `AND` inside an `AND` keeps its parentheses, so the tree's shape reads back).
    fn fmt_operand(&self, f: &mut Formatter<'_>, outer: u8) -> fmt::Result {
        if self.precedence() <= outer {
            write!(f, "({self})")
        } else {
            self.fmt(f)
        }
    }

    fn fmt_chain(f: &mut Formatter<'_>, operands: &[Filter], operator: &str, outer: u8) -> fmt::Result {
        for (i, operand) in operands.iter().enumerate() {
            if i > 0 {
                f.write_str(operator)?;
            }
            operand.fmt_operand(f, outer)?;
        }
        Ok(())
    }
}

/// `TAG = 'x'`, `TAG IN ('x', 'y')`, `ITEM IN (1, 'b')`, `NOT ...`, `... AND (... OR ...)`.
impl Display for Filter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Filter::TagEq { tag, .. } => write!(f, "TAG = {tag}"),
            Filter::TagIn { tags, .. } => {
                f.write_str("TAG IN (")?;
                write_list(f, tags)?;
                f.write_str(")")
            }
            Filter::ItemIn { items, .. } => {
                f.write_str("ITEM IN (")?;
                write_list(f, items)?;
                f.write_str(")")
            }
            Filter::Not { operand, .. } => {
                f.write_str("NOT ")?;
                operand.fmt_operand(f, 2)
            }
            Filter::And { operands, .. } => Filter::fmt_chain(f, operands, " AND ", 2),
            Filter::Or { operands, .. } => Filter::fmt_chain(f, operands, " OR ", 1),
        }
    }
}

/// `USER` or `ITEM`.
impl Display for Side {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::User => "USER",
            Side::Item => "ITEM",
        })
    }
}

impl Side {
    /// `USERS` or `ITEMS`.
    fn plural(self) -> &'static str {
        match self {
            Side::User => "USERS",
            Side::Item => "ITEMS",
        }
    }
}

/// `INTERACTIONS`, `USERS` or `ITEMS`.
impl Display for ImportTarget {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ImportTarget::Interactions => "INTERACTIONS",
            ImportTarget::Users => "USERS",
            ImportTarget::Items => "ITEMS",
        })
    }
}

/// `USERS`, `ITEMS`, `TAGS`, `MODELS`, `JOBS`, `STATS` or `ALGORITHMS`.
impl Display for Show {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "SHOW {}", self.object)?;
        if let Some(filter) = &self.filter {
            write!(f, " WHERE {filter}")?;
        }
        match self.order {
            Some(SortOrder::Ascending) => f.write_str(" ORDER BY INTERACTIONS")?,
            Some(SortOrder::Descending) => f.write_str(" ORDER BY INTERACTIONS DESC")?,
            None => {}
        }
        if let Some(limit) = &self.limit {
            write!(f, " LIMIT {limit}")?;
        }
        if let Some(offset) = &self.offset {
            write!(f, " OFFSET {offset}")?;
        }
        Ok(())
    }
}

impl Display for ShowObject {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ShowObject::Users => "USERS",
            ShowObject::Items => "ITEMS",
            ShowObject::Tags => "TAGS",
            ShowObject::Models => "MODELS",
            ShowObject::Jobs => "JOBS",
            ShowObject::Stats => "STATS",
            ShowObject::Algorithms => "ALGORITHMS",
            ShowObject::Interactions(None) => "INTERACTIONS",
            ShowObject::Interactions(Some((side, key))) => return write!(f, "INTERACTIONS {side} {key}"),
        })
    }
}

/// `USER key`, `ITEM key` or `MODEL name`.
impl Display for DescribeTarget {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            DescribeTarget::User(key) => write!(f, "USER {key}"),
            DescribeTarget::Item(key) => write!(f, "ITEM {key}"),
            DescribeTarget::Model(name) => write!(f, "MODEL {name}"),
        }
    }
}

/// `'path' [FORMAT name]`
impl Display for Source {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.path.fmt(f)?;
        write_opt_ident(f, Keyword::Format, &self.format)
    }
}

/// `RERANK m USING name`
impl Display for Rerank {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "RERANK {} USING {}", self.candidates, self.model)
    }
}

/// `RECOMMEND USER key TOP n [USING name] [RERANK m USING name] [WHERE filter] [INCLUDE SEEN] [WITH (...)]`
impl Display for Recommend {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "RECOMMEND USER {} TOP {}", self.user, self.top)?;
        write_opt_ident(f, Keyword::Using, &self.using)?;
        if let Some(rerank) = &self.rerank {
            write!(f, " {rerank}")?;
        }
        if let Some(filter) = &self.filter {
            write!(f, " WHERE {filter}")?;
        }
        if self.include_seen {
            f.write_str(" INCLUDE SEEN")?;
        }
        write_options(f, &self.options)
    }
}

/// `RECOMMEND TAGS FOR USER|ITEM key TOP n [USING name] [WITH (option = value, ...)]`
impl Display for RecommendTags {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "RECOMMEND TAGS FOR {} {} TOP {}", self.side, self.key, self.top)?;
        write_opt_ident(f, Keyword::Using, &self.using)?;
        write_options(f, &self.options)
    }
}

/// `COLD ITEMS FROM 'path'`, `COLD USERS FROM 'path'` or `TAGS`
impl Display for EvaluateTask {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            EvaluateTask::ColdItems(path) => write!(f, "COLD ITEMS FROM {path}"),
            EvaluateTask::ColdUsers(path) => write!(f, "COLD USERS FROM {path}"),
            EvaluateTask::Tags => f.write_str("TAGS"),
        }
    }
}

/// `SIMILAR ITEM|USER key TOP n [USING name] [WHERE filter] [WITH (...)]`
impl Display for Similar {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "SIMILAR {} {} TOP {}", self.side, self.key, self.top)?;
        write_opt_ident(f, Keyword::Using, &self.using)?;
        if let Some(filter) = &self.filter {
            write!(f, " WHERE {filter}")?;
        }
        write_options(f, &self.options)
    }
}

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Query::Recommend(recommend) => recommend.fmt(f),
            Query::Similar(similar) => similar.fmt(f),
        }
    }
}

/// The statement's canonical text, without a `;`.
impl Display for Statement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

impl Display for StatementKind {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            StatementKind::Add { side, key, label, tags } => {
                write!(f, "ADD {side} {key}")?;
                if let Some(label) = label {
                    write!(f, " LABEL {label}")?;
                }
                if !tags.is_empty() {
                    f.write_str(" TAGS (")?;
                    write_list(f, tags)?;
                    f.write_str(")")?;
                }
                Ok(())
            }
            StatementKind::InsertInteraction { user, item, weight, time } => {
                write!(f, "INSERT INTERACTION USER {user} ITEM {item}")?;
                if let Some(weight) = weight {
                    write!(f, " WEIGHT {weight}")?;
                }
                if let Some(time) = time {
                    write!(f, " AT {time}")?;
                }
                Ok(())
            }
            StatementKind::DeleteInteraction { user, item } => {
                write!(f, "DELETE INTERACTION USER {user} ITEM {item}")
            }
            StatementKind::Delete { side, key } => write!(f, "DELETE {side} {key}"),
            StatementKind::Import { target, path, format, options } => {
                write!(f, "IMPORT {target} FROM {path}")?;
                write_opt_ident(f, Keyword::Format, format)?;
                write_options(f, options)
            }
            StatementKind::SplitHoldout { fraction, seed } => {
                write!(f, "SPLIT HOLDOUT {fraction}")?;
                if let Some(seed) = seed {
                    write!(f, " SEED {seed}")?;
                }
                Ok(())
            }
            StatementKind::SplitClear => f.write_str("SPLIT CLEAR"),
            StatementKind::Train { algorithm, name, options, background } => {
                write!(f, "TRAIN {algorithm}")?;
                write_opt_ident(f, Keyword::As, name)?;
                write_options(f, options)?;
                if *background {
                    f.write_str(" BACKGROUND")?;
                }
                Ok(())
            }
            StatementKind::Recommend(recommend) => recommend.fmt(f),
            StatementKind::RecommendTags(tags) => tags.fmt(f),
            StatementKind::Similar(similar) => similar.fmt(f),
            StatementKind::Evaluate { models, rerank, task, against, cutoffs, options } => {
                f.write_str("EVALUATE ")?;
                write_list(f, models)?;
                if let Some(rerank) = rerank {
                    write!(f, " {rerank}")?;
                }
                if let Some(task) = task {
                    write!(f, " {task}")?;
                }
                if let Some(against) = against {
                    write!(f, " AGAINST {against}")?;
                }
                if !cutoffs.is_empty() {
                    f.write_str(" AT ")?;
                    write_list(f, cutoffs)?;
                }
                write_options(f, options)
            }
            StatementKind::Explain(query) => write!(f, "EXPLAIN {query}"),
            StatementKind::Show(show) => write!(f, "{show}"),
            StatementKind::Describe(target) => write!(f, "DESCRIBE {target}"),
            StatementKind::DropModel { name } => write!(f, "DROP MODEL {name}"),
            StatementKind::Check => f.write_str("CHECK"),
            StatementKind::CancelJob { job } => write!(f, "CANCEL JOB {job}"),
            StatementKind::WaitJob { job } => write!(f, "WAIT JOB {job}"),
            StatementKind::ExportCodes { model, side, path } => {
                write!(f, "EXPORT CODES {model} {} TO {path}", side.plural())
            }
            StatementKind::ExportRecommendations { model, top, path } => {
                write!(f, "EXPORT RECOMMENDATIONS {model} TOP {top} TO {path}")
            }
            StatementKind::Set { name, value } => {
                f.write_str("SET ")?;
                write_option_name(f, name)?;
                write!(f, " = {value}")
            }
        }
    }
}
