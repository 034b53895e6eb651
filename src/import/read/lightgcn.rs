//! The `lightgcn` format: one user per line, `user item item ...`, separated by spaces (any run of
//! spaces or tabs). A user with no items gives no interactions.

use super::error::ImportError;
use super::field;
use super::options::ImportSpec;
use super::record::{Interaction, ReadStats};
use super::source::Lines;

/// Reads every `user item item ...` line as interactions without weight or time.
pub(crate) fn read_interactions(
    spec: &ImportSpec,
    lines: &mut Lines<'_>,
    sink: &mut dyn FnMut(Interaction),
) -> Result<ReadStats, ImportError> {
    let mut stats = ReadStats::default();
    while lines.advance()? {
        let at = lines.at();
        let mut fields = lines.line().split(|b| *b == b' ' || *b == b'\t').filter(|f| !f.is_empty());
        let Some(user) = fields.next() else { continue };
        let user = field::key(user, spec.string_keys).map_err(|e| e.error(user, "for the user", at))?;
        for (n, item) in fields.enumerate() {
            let item = field::key(item, spec.string_keys)
                .map_err(|e| e.error(item, &format!("for item {}", n + 1), at))?;
            sink(Interaction { user: user.clone(), item, weight: None, time: None });
            stats.records += 1;
        }
    }
    stats.lines = lines.number();
    Ok(stats)
}
