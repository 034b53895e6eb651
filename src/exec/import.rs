//! IMPORT: bulk loading a file, with progress and cancellation.

use std::path::Path;

use recodb_query::{Ident, ImportTarget, Literal, OptionPair};

use super::bind::{locate, pairs};
use super::context::Context;
use crate::error::{ErrorKind, Result};
use crate::import::read::UnreadColumn;
use crate::import::{self, ImportSpec, ImportSummary, Target};
use crate::result::ResultSet;
use crate::value::Value;

/// `IMPORT INTERACTIONS|USERS|ITEMS FROM 'path' [FORMAT f] [WITH (...)]`: one row counting what was read
/// and what was added (with a `labels` column when the file gave labels). An error about an option
/// points at it; about the format or the file's layout, at the format's name (or the path); a bad line
/// of the file, at the path.
pub(super) fn import(
    ctx: &Context<'_>,
    target: ImportTarget,
    path: &Literal,
    format: &Option<Ident>,
    options: &[OptionPair],
) -> Result<ResultSet> {
    let target = match target {
        ImportTarget::Interactions => Target::Interactions,
        ImportTarget::Users => Target::Users,
        ImportTarget::Items => Target::Items,
    };
    let file = ctx.bind.text(path, "the file path")?;
    let options = ctx.bind.options(options)?;
    let spec = ImportSpec::new(
        Path::new(&file),
        target,
        format.as_ref().map(|f| f.value.as_str()),
        &pairs(&options),
    )
    .map_err(|e| {
        let e = crate::Error::from(e);
        let clause = format.as_ref().map_or(path.span, |f| f.span);
        match (e.kind(), format) {
            (ErrorKind::Import(i), Some(f)) if i.option.as_deref() == Some("format") => e.at(f.span),
            _ => locate(e, &options).at(clause),
        }
    })?;
    let s: ImportSummary = import::import(
        ctx.store(),
        &spec,
        &mut |done, total| ctx.progress.update("import", done, total),
        // The commit cannot stop once it has begun: a cancel asked for during it is not taken up.
        &mut |done, total| {
            ctx.progress.update("commit", done, total);
        },
    )
    .map_err(|e| if matches!(e.kind(), ErrorKind::Import(_)) { e.at(path.span) } else { e })?;
    let count = |n: u64| Value::Int(i64::try_from(n).unwrap_or(i64::MAX));
    let mut row = vec![("records", count(s.records)), ("skipped", count(s.skipped))];
    match target {
        Target::Interactions => row.extend([
            ("new_users", count(s.new_users)),
            ("new_items", count(s.new_items)),
            ("new_interactions", count(s.new_interactions)),
        ]),
        Target::Users => row.extend([("new_users", count(s.new_users)), ("new_tags", count(s.new_tags))]),
        Target::Items => row.extend([("new_items", count(s.new_items)), ("new_tags", count(s.new_tags))]),
    }
    if s.labels > 0 {
        row.push(("labels", count(s.labels)));
    }
    let unread = unread_notice(&s.unread, spec.weight.is_none(), spec.time.is_none());
    Ok(ResultSet::single(row).with_notices(unread))
}

/// The notice for columns an interactions import did not read: which, with their first values, and
/// the options that would keep a column that looks like a rating (a number from -10 to 10, when no
/// weight column was named) or a Unix time (an integer of at least 10⁸, when no time column was), e.g.
/// "columns 2 ('5'), 3 ('978300760') were not read; to keep them: WITH (weight = 2, time = 3)".
fn unread_notice(unread: &[UnreadColumn], want_weight: bool, want_time: bool) -> Option<String> {
    if unread.is_empty() {
        return None;
    }
    let listed: Vec<String> = unread.iter().map(|c| format!("{} ('{}')", c.label, c.first)).collect();
    let looks_like_weight =
        |c: &&UnreadColumn| c.first.parse::<f64>().is_ok_and(|w| (-10.0..=10.0).contains(&w));
    let looks_like_time = |c: &&UnreadColumn| c.first.parse::<i64>().is_ok_and(|t| t >= 100_000_000);
    let weight = unread.iter().find(looks_like_weight).filter(|_| want_weight);
    let time = unread.iter().find(looks_like_time).filter(|_| want_time);
    let keep: Vec<String> = [("weight", weight), ("time", time)]
        .into_iter()
        .filter_map(|(option, column)| column.map(|c| format!("{option} = {}", c.label)))
        .collect();
    let (one, pronoun) = if unread.len() == 1 { ("column", "it") } else { ("columns", "them") };
    let verb = if unread.len() == 1 { "was" } else { "were" };
    let mut notice = format!("{one} {} {verb} not read", listed.join(", "));
    if !keep.is_empty() {
        notice.push_str(&format!("; to keep {pronoun}: WITH ({})", keep.join(", ")));
    }
    Some(notice)
}
