//! Size limits. Each one turns hostile or mistaken input into a clear [`crate::ParseError`] of kind
//! [`crate::ErrorKind::LimitExceeded`] or [`crate::ErrorKind::NumberOutOfRange`], never a stack overflow,
//! an arithmetic overflow or an unbounded allocation.

/// The longest statement, in bytes of text (1 MiB). A script may hold many statements; each one is
/// limited on its own.
pub const MAX_STATEMENT_LEN: usize = 1 << 20;

/// The most elements in one list: `TAGS (...)`, `TAG IN (...)`, `ITEM IN (...)`, `WITH (...)`, `AT k, ...`.
pub const MAX_LIST_LEN: usize = 100_000;

/// The deepest nesting of a `WHERE` filter, counted through `NOT`, parentheses and each operand of
/// `AND`/`OR` (like sqlparser-rs's `RecursionCounter`). It bounds the parser's recursion and the depth of
/// the filter tree, so printing, comparing and dropping a filter cannot overflow the stack either.
pub const MAX_FILTER_DEPTH: usize = 64;

/// The largest integer literal: 2^64 - 1, so that any `u64` key or id can be written.
pub const MAX_INT: i128 = u64::MAX as i128;

/// The smallest integer literal: -2^63, so that any `i64` (a timestamp, an option) can be written.
pub const MIN_INT: i128 = i64::MIN as i128;
