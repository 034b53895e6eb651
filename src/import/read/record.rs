//! What the readers produce: interactions, entities with tags, and counts of what was read.

use recodb_storage::{limits, Key};

use super::error::{At, ImportError};

/// One interaction read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    /// The user's key.
    pub user: Key,
    /// The item's key.
    pub item: Key,
    /// The weight (a rating, a count), when the file has one.
    pub weight: Option<f32>,
    /// The timestamp, when the file has one.
    pub time: Option<i64>,
}

/// A user or an item read from a file, with its display label (a title), if any, and its tags
/// (`genre:Comedy`, `age:25`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    /// The entity's key.
    pub key: Key,
    /// Its display label (a movie's title), shown beside the key in results.
    pub label: Option<String>,
    /// Its tags, in file order.
    pub tags: Vec<String>,
}

impl Entity {
    /// The entity, if its label and tags are within the limits of `recodb_storage::limits` (its key
    /// was checked when read); else an error at `at`, the line it was read from.
    pub(crate) fn checked(self, at: At<'_>) -> Result<Entity, ImportError> {
        let label = self.label.as_deref().map(limits::check_label);
        let tags = self.tags.iter().map(|t| limits::check_tag(t));
        let count = limits::check_tag_count(self.tags.len());
        match label.into_iter().chain(tags).chain([count]).find_map(Result::err) {
            Some(e) => Err(at.parse(e.to_string())),
            None => Ok(self),
        }
    }
}

/// A column of an interactions file that the import did not read, with its first record's value, so
/// that the import can say what it left out (a rating, a timestamp).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadColumn {
    /// The column's index, from 0.
    pub index: usize,
    /// The column as an option names it: its header name (`'rating'`) or its index.
    pub label: String,
    /// Its value on the first record, as written.
    pub first: String,
}

/// What a reader read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadStats {
    /// Lines read, counting a header and empty lines.
    pub lines: u64,
    /// Records handed to the sink.
    pub records: u64,
    /// Records dropped because their weight is below `min_weight`.
    pub skipped: u64,
    /// Columns of a csv or tsv interactions file that no option named, as found on its first record.
    pub unread: Vec<UnreadColumn>,
}
