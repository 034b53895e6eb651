//! Which kind of entity a record is about.

use std::fmt;

/// Users or items: the two kinds of entity, each with its own key dictionary, bitmaps and tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// Users.
    User,
    /// Items.
    Item,
}

impl Side {
    /// Both sides, users first.
    pub const BOTH: [Side; 2] = [Side::User, Side::Item];

    /// The byte that prefixes keys of trees shared by both sides (`u` or `i`).
    pub fn byte(self) -> u8 {
        match self {
            Side::User => b'u',
            Side::Item => b'i',
        }
    }

    /// 0 for users, 1 for items: an index into per-side arrays.
    pub fn index(self) -> usize {
        match self {
            Side::User => 0,
            Side::Item => 1,
        }
    }

    /// The side from its key-prefix byte.
    pub fn from_byte(b: u8) -> Option<Side> {
        match b {
            b'u' => Some(Side::User),
            b'i' => Some(Side::Item),
            _ => None,
        }
    }
}

impl fmt::Display for Side {
    /// `user` or `item`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::User => "user",
            Side::Item => "item",
        })
    }
}
