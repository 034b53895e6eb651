//! Parsing one field's bytes into a key, a weight or a timestamp, without allocating for numbers.

use super::error::{At, ImportError};
use crate::limits::MAX_KEY_BYTES;
use recodb_storage::{parse_u64, Key};

/// Why a key field was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyError {
    /// The field is empty (or only spaces).
    Empty,
    /// A string key that is not valid UTF-8.
    Utf8,
    /// A string key longer than [`MAX_KEY_BYTES`].
    TooLong,
}

impl KeyError {
    /// The parse error at `at` for the key `field` found `place` ("empty key in column 'UserID'", with
    /// `place` = "in column 'UserID'").
    pub(crate) fn error(self, field: &[u8], place: &str, at: At<'_>) -> ImportError {
        match self {
            KeyError::Empty => at.parse(format!("empty key {place}")),
            KeyError::Utf8 => at.not_utf8(&format!("the key {place}"), field),
            KeyError::TooLong => {
                at.parse(format!("a key longer than the limit of {MAX_KEY_BYTES} bytes {place}"))
            }
        }
    }
}

/// A key: digits make an integer key (unless `string_keys`), anything else a string key. Surrounding
/// spaces are ignored. A number too large for 64 bits stays a string key.
#[inline]
pub(crate) fn key(field: &[u8], string_keys: bool) -> Result<Key, KeyError> {
    let field = field.trim_ascii();
    if field.is_empty() {
        return Err(KeyError::Empty);
    }
    if !string_keys {
        if let Some(v) = parse_u64(field) {
            return Ok(Key::Int(v));
        }
    }
    match std::str::from_utf8(field) {
        Ok(s) if s.len() > MAX_KEY_BYTES => Err(KeyError::TooLong),
        Ok(s) => Ok(Key::Str(s.to_string())),
        Err(_) => Err(KeyError::Utf8),
    }
}

/// A finite number, or `None`. Small integers (the usual ratings) skip the float parser.
#[inline]
pub(crate) fn weight(field: &[u8]) -> Option<f32> {
    let field = field.trim_ascii();
    if let Some(v) = parse_u64(field) {
        if v < 1 << 24 {
            return Some(v as f32);
        }
    }
    std::str::from_utf8(field).ok()?.parse::<f32>().ok().filter(|w| w.is_finite())
}

/// A signed integer timestamp, or `None`; -2^63 is refused, as it marks "no time" in storage
/// (`crate::data::check_time`).
#[inline]
pub(crate) fn time(field: &[u8]) -> Option<i64> {
    let field = field.trim_ascii();
    if let Some(v) = parse_u64(field) {
        return i64::try_from(v).ok();
    }
    std::str::from_utf8(field).ok()?.parse::<i64>().ok().filter(|&t| t != recodb_storage::NO_TIME)
}

/// Text: valid UTF-8, trimmed; `None` if not UTF-8.
#[inline]
pub(crate) fn text(field: &[u8]) -> Option<&str> {
    std::str::from_utf8(field).ok().map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_integers_or_strings() {
        assert_eq!(key(b"42", false), Ok(Key::Int(42)));
        assert_eq!(key(b" 42 ", false), Ok(Key::Int(42)));
        assert_eq!(key(b"42", true), Ok(Key::Str("42".into())));
        assert_eq!(key(b"u-1", false), Ok(Key::Str("u-1".into())));
        assert_eq!(key(b"-1", false), Ok(Key::Str("-1".into())));
        assert_eq!(key(b"99999999999999999999999", false), Ok(Key::Str("99999999999999999999999".into())));
        assert_eq!(key(&[b'k'; MAX_KEY_BYTES], false), Ok(Key::Str("k".repeat(MAX_KEY_BYTES))));
        assert_eq!(key(&[b'k'; MAX_KEY_BYTES + 1], false), Err(KeyError::TooLong));
        assert_eq!(key(b"", false), Err(KeyError::Empty));
        assert_eq!(key(b"  ", true), Err(KeyError::Empty));
        assert_eq!(key(b"a\xff", false), Err(KeyError::Utf8));
    }

    #[test]
    fn weights_and_times() {
        assert_eq!(weight(b"4"), Some(4.0));
        assert_eq!(weight(b" 3.5"), Some(3.5));
        assert_eq!(weight(b"-2e1"), Some(-20.0));
        assert_eq!(weight(b"x"), None);
        assert_eq!(weight(b""), None);
        assert_eq!(weight(b"NaN"), None);
        assert_eq!(weight(b"inf"), None);
        assert_eq!(weight(b"4\xff"), None);
        assert_eq!(time(b"978300760"), Some(978_300_760));
        assert_eq!(time(b"-5"), Some(-5));
        assert_eq!(time(b"1.5"), None);
        assert_eq!(time(b"18446744073709551615"), None);
        assert_eq!(time(b"-9223372036854775807"), Some(-i64::MAX));
        assert_eq!(time(b"-9223372036854775808"), None, "-2^63 marks no time in storage");
    }
}
