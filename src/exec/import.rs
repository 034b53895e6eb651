//! IMPORT: bulk loading a file, with progress and cancellation.

use std::path::Path;

use recodb_query::{Ident, ImportTarget, Literal, OptionPair};

use super::bind::{locate, pairs};
use super::context::Context;
use crate::error::{ErrorKind, Result};
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
    let s: ImportSummary =
        import::import(ctx.store(), &spec, &mut |done, total| ctx.progress.update("import", done, total))
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
    Ok(ResultSet::single(row))
}
