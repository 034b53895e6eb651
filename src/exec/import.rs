//! IMPORT: bulk loading a file, with progress and cancellation.

use std::path::Path;

use crate::error::Result;
use crate::import::{ImportSummary, Target};
use crate::progress::Progress;
use crate::result::ResultSet;
use crate::value::Value;
use crate::Database;

/// `IMPORT INTERACTIONS|USERS|ITEMS FROM 'path' [FORMAT f] [WITH (...)]`: one row counting what was read
/// and what was added.
pub fn import(
    db: &Database,
    target: Target,
    path: &Path,
    format: Option<&str>,
    options: &[(String, Value)],
    progress: &dyn Progress,
) -> Result<ResultSet> {
    let s: ImportSummary = db.import_with_progress(target, path, format, options, &mut |done, total| {
        progress.update("import", done, total)
    })?;
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
    Ok(ResultSet::single(row))
}
