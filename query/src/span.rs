//! Positions in the query text.
//!
//! Every token and every AST node carries a [`Span`] so that errors and the shell can point at the exact
//! spot. Spans are *attached data*, not part of a node's meaning: [`Span`]'s `PartialEq` always returns
//! `true` (like sqlparser-rs's `AttachedToken`), so that `parse(print(ast)) == ast` holds although the
//! printed text puts every node at a different position.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

/// One position in the text: a byte offset, and a 1-based line and column (the column counts characters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Location {
    /// Byte offset from the start of the text.
    pub offset: usize,
    /// Line number, starting at 1.
    pub line: usize,
    /// Column number in characters, starting at 1.
    pub column: usize,
}

impl Location {
    /// The location of the first character of a text.
    pub const START: Location = Location { offset: 0, line: 1, column: 1 };
}

/// A range of the text, from `start` (inclusive) to `end` (exclusive).
///
/// Equality ignores spans: any two spans compare equal, and all spans hash alike. Compare
/// [`Span::start`] and [`Span::end`] explicitly when positions matter.
#[derive(Clone, Copy, Debug, Default)]
pub struct Span {
    /// Where the range starts.
    pub start: Location,
    /// Where the range ends (the position just after its last character).
    pub end: Location,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: Location, end: Location) -> Self {
        Span { start, end }
    }

    /// The smallest span covering `self` and `other` (which must come after `self`).
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start, end: other.end }
    }

    /// The length of the range in bytes.
    pub fn len(&self) -> usize {
        self.end.offset.saturating_sub(self.start.offset)
    }

    /// Whether the range is empty (as the span of "end of input" is).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Always `true`: spans do not take part in AST equality (see the module doc).
impl PartialEq for Span {
    fn eq(&self, _other: &Span) -> bool {
        true
    }
}

impl Eq for Span {}

/// Consistent with `PartialEq`: all spans hash alike.
impl Hash for Span {
    fn hash<H: Hasher>(&self, _state: &mut H) {}
}

/// Consistent with `PartialEq`: all spans are equal.
impl PartialOrd for Span {
    fn partial_cmp(&self, other: &Span) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Consistent with `PartialEq`: all spans are equal.
impl Ord for Span {
    fn cmp(&self, _other: &Span) -> Ordering {
        Ordering::Equal
    }
}
