//! Result rows shared by the statements that rank (RECOMMEND, SIMILAR) and those that describe (SHOW
//! STATS, DESCRIBE, EXPLAIN): ranked keys with their scores, and `(name, value)` property rows.

use recodb_query::OptionPair;
use recodb_storage::{Side, Store};

use super::bind::shown;
use super::context::Context;
use crate::error::{Error, Object, Result};
use crate::models::topk::top_k;
use crate::result::{ColumnType, ResultSet};
use crate::value::Value;

/// Which of each ranked row's tags a `tags` column shows, from `WITH (tags = 'genre:, year:')` on
/// RECOMMEND and SIMILAR: the tags that start with one of the prefixes; `''` or `'*'` shows them all.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct ShownTags(Option<Vec<String>>);

impl ShownTags {
    /// The statement's `WITH` options, whose one option is `tags`; an error at an unknown option or a
    /// value that is not a string.
    pub(super) fn from_options(
        ctx: &Context<'_>,
        options: &[OptionPair],
        statement: &str,
    ) -> Result<ShownTags> {
        let mut shown_tags = ShownTags::default();
        for o in ctx.bind.options(options)? {
            if !o.name.eq_ignore_ascii_case("tags") {
                let message = format!("unknown {statement} option '{}'", o.name);
                return Err(Error::not_found(Object::Option, &o.name, message, ["tags"], "options: tags")
                    .at(o.name_span));
            }
            let text = o.value.as_str().ok_or_else(|| {
                Error::invalid("tags", "tag prefixes, e.g. 'genre:' ('*' for every tag)", shown(&o.value))
                    .at(o.value_span)
            })?;
            let prefixes = text.split(',').map(str::trim).filter(|p| !p.is_empty() && *p != "*");
            shown_tags = ShownTags(Some(prefixes.map(str::to_string).collect()));
        }
        Ok(shown_tags)
    }

    /// The `tags` column's value for entity `id`, when the statement asked for one.
    fn value(&self, store: &Store, side: Side, id: u32) -> Result<Option<Value>> {
        let Some(prefixes) = &self.0 else { return Ok(None) };
        let mut tags = store.entity_tags(side, id)?;
        if !prefixes.is_empty() {
            tags.retain(|t| prefixes.iter().any(|p| t.starts_with(p.as_str())));
        }
        Ok(Some(Value::Tags(tags)))
    }
}

/// Rows of rank, item key and score for the `top` best items of `scores` that `keep` accepts, best
/// first (see [`live_rows`]).
pub(super) fn ranked(
    store: &Store,
    scores: &[f32],
    top: usize,
    shown_tags: &ShownTags,
    keep: impl Fn(u32) -> bool,
) -> Result<ResultSet> {
    live_rows(store, Side::Item, top, shown_tags, |wanted| {
        Ok(top_k(scores, wanted, &keep).into_iter().map(|(item, score)| (item, f64::from(score))).collect())
    })
}

/// Rows of rank, key (an `item` or `user` column, by `side`, holding each key as its own type), label
/// (only when some entity of the side has one), score, and the tags `shown_tags` asks for from
/// `best(wanted)`, the `wanted` best `(id, score)` pairs, best first. Entities deleted since a model was
/// trained have no key and are skipped, so `wanted` doubles until `top` live ones are found or `best`
/// has no more.
pub(super) fn live_rows(
    store: &Store,
    side: Side,
    top: usize,
    shown_tags: &ShownTags,
    mut best: impl FnMut(usize) -> Result<Vec<(u32, f64)>>,
) -> Result<ResultSet> {
    let labelled = store.has_labels(side)?;
    let mut wanted = top;
    loop {
        let candidates = best(wanted)?;
        let key_column = (if side == Side::Item { "item" } else { "user" }, ColumnType::Key);
        let mut columns = vec![("rank", ColumnType::Int), key_column];
        if labelled {
            columns.push(("label", ColumnType::Text));
        }
        columns.push(("score", ColumnType::Float));
        if shown_tags.0.is_some() {
            columns.push(("tags", ColumnType::Tags));
        }
        let mut set = ResultSet::new(&columns);
        for (id, score) in &candidates {
            if set.len() == top {
                break;
            }
            if let Some(key) = store.key_of(side, *id)? {
                let mut row = vec![Value::Int(set.len() as i64 + 1), Value::Key(key)];
                if labelled {
                    row.push(label_value(store, side, *id)?);
                }
                row.push(Value::Float(*score));
                row.extend(shown_tags.value(store, side, *id)?);
                set.push(row);
            }
        }
        if set.len() == top || candidates.len() < wanted {
            return Ok(set);
        }
        wanted *= 2;
    }
}

/// An entity's label as a value: its text, or null when it has none.
pub(super) fn label_value(store: &Store, side: Side, id: u32) -> Result<Value> {
    Ok(store.label(side, id)?.map_or(Value::Null, Value::Text))
}

/// A two-column text result of `(name, value)` rows under the two `columns` names.
pub(super) fn pairs(columns: [&str; 2], rows: impl IntoIterator<Item = (&'static str, String)>) -> ResultSet {
    let mut set = ResultSet::new(&[(columns[0], ColumnType::Text), (columns[1], ColumnType::Text)]);
    for (name, value) in rows {
        set.push(vec![Value::from(name), Value::Text(value)]);
    }
    set
}
