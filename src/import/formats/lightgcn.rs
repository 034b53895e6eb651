//! The `lightgcn` format: one user per line, `user item item ...`, separated by spaces.

use super::delimited::key;
use super::source::Lines;
use super::spec::ImportSpec;
use super::{ImportError, Interaction, ReadStats};

pub(crate) fn read_interactions(
    spec: &ImportSpec,
    lines: &mut Lines<'_>,
    sink: &mut dyn FnMut(Interaction),
) -> Result<ReadStats, ImportError> {
    let mut stats = ReadStats::default();
    while let Some((line, at)) = lines.next_line()? {
        stats.lines += 1;
        let mut fields = line.split(|b| b.is_ascii_whitespace()).filter(|f| !f.is_empty());
        let Some(user) = fields.next() else { continue };
        let user = key(user, spec.string_keys).map_err(|m| at.parse_error(format!("{m} for the user")))?;
        for (n, item) in fields.enumerate() {
            let item =
                key(item, spec.string_keys).map_err(|m| at.parse_error(format!("{m} for item {}", n + 1)))?;
            sink(Interaction { user: user.clone(), item, weight: None, time: None });
            stats.records += 1;
        }
    }
    Ok(stats)
}
