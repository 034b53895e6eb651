//! The sizes that stored user data may take. Each limit is defined here once and checked by the write
//! path (so the API, statements and imports all meet it); statements and imports also check it early, to
//! point at the literal or the file line at fault. Data that an older release wrote beyond a limit stays
//! readable: only new keys, tags and labels are checked.

use crate::error::{Result, StorageError};
use crate::key::Key;

/// The longest string key of a user or item, in bytes of UTF-8 (integer keys have no limit but their
/// 64 bits).
pub const MAX_KEY_BYTES: usize = 256;

/// The longest tag name, in bytes of UTF-8.
pub const MAX_TAG_BYTES: usize = 256;

/// The longest display label, in bytes of UTF-8.
pub const MAX_LABEL_BYTES: usize = 4096;

/// The most tags one user or item may carry.
pub const MAX_TAGS_PER_ENTITY: usize = 1024;

/// Fails unless a new key is within [`MAX_KEY_BYTES`].
pub fn check_key(key: &Key) -> Result<()> {
    match key {
        Key::Str(s) => check_bytes("a key", s, MAX_KEY_BYTES),
        Key::Int(_) => Ok(()),
    }
}

/// Fails unless a new tag name is within [`MAX_TAG_BYTES`].
pub fn check_tag(tag: &str) -> Result<()> {
    check_bytes("a tag", tag, MAX_TAG_BYTES)
}

/// Fails unless a label is within [`MAX_LABEL_BYTES`].
pub fn check_label(label: &str) -> Result<()> {
    check_bytes("a label", label, MAX_LABEL_BYTES)
}

/// Fails unless an entity that will carry `tags` tags stays within [`MAX_TAGS_PER_ENTITY`].
pub fn check_tag_count(tags: usize) -> Result<()> {
    if tags > MAX_TAGS_PER_ENTITY {
        return Err(too_large("the tag list of a user or item", tags, MAX_TAGS_PER_ENTITY, "tags"));
    }
    Ok(())
}

fn check_bytes(what: &str, text: &str, max: usize) -> Result<()> {
    if text.len() > max {
        return Err(too_large(what, text.len(), max, "bytes"));
    }
    Ok(())
}

fn too_large(what: &str, got: usize, max: usize, unit: &'static str) -> StorageError {
    StorageError::TooLarge { what: what.to_string(), got, max, unit }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_limit_holds_at_the_limit_and_fails_one_past_it() {
        let at = |n| "é".repeat(n / 2) + &"a".repeat(n % 2);
        assert!(check_key(&Key::Str(at(MAX_KEY_BYTES))).is_ok());
        assert!(check_key(&Key::Int(u64::MAX)).is_ok());
        let err = check_key(&Key::Str(at(MAX_KEY_BYTES + 1))).expect_err("one byte past");
        assert_eq!(err.to_string(), "a key is too large: 257 bytes, the limit is 256");
        assert!(check_tag(&at(MAX_TAG_BYTES)).is_ok());
        assert!(check_tag(&at(MAX_TAG_BYTES + 1)).is_err());
        assert!(check_label(&at(MAX_LABEL_BYTES)).is_ok());
        assert!(check_label(&at(MAX_LABEL_BYTES + 1)).is_err());
        assert!(check_tag_count(MAX_TAGS_PER_ENTITY).is_ok());
        let err = check_tag_count(MAX_TAGS_PER_ENTITY + 1).expect_err("one tag past");
        assert_eq!(
            err.to_string(),
            "the tag list of a user or item is too large: 1025 tags, the limit is 1024"
        );
    }
}
