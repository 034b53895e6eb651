//! External keys of users and items, and their order-preserving byte encoding.

use std::fmt;

/// The key an application gives a user or an item: an unsigned integer (`42`) or a string (`'sku-19'`).
///
/// The storage maps each key to a dense internal `u32` id and back; the two kinds never compare equal
/// (`42` and `'42'` are different keys).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// An unsigned integer key.
    Int(u64),
    /// A string key.
    Str(String),
}

const TAG_INT: u8 = 0;
const TAG_STR: u8 = 1;

impl Key {
    /// Encodes the key as bytes: a tag byte (0 for integers, 1 for strings) followed by the integer in
    /// big-endian order or the UTF-8 bytes of the string, so that byte order is key order.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(9);
        self.encode_into(&mut out);
        out
    }

    /// Appends the encoding of [`Key::encode`] to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Key::Int(v) => {
                out.push(TAG_INT);
                out.extend_from_slice(&v.to_be_bytes());
            }
            Key::Str(s) => {
                out.push(TAG_STR);
                out.extend_from_slice(s.as_bytes());
            }
        }
    }

    /// Decodes bytes written by [`Key::encode`]; `None` if they are not a valid encoding.
    pub fn decode(bytes: &[u8]) -> Option<Key> {
        let (&tag, rest) = bytes.split_first()?;
        match tag {
            TAG_INT => Some(Key::Int(u64::from_be_bytes(rest.try_into().ok()?))),
            TAG_STR => Some(Key::Str(String::from_utf8(rest.to_vec()).ok()?)),
            _ => None,
        }
    }

    /// Reads a key from text: digits only (no sign, fits in `u64`) make an integer key, anything else a
    /// string key. Used by the import readers, where a file's fields are untyped.
    pub fn parse_field(field: &str) -> Key {
        match parse_u64(field.as_bytes()) {
            Some(v) => Key::Int(v),
            None => Key::Str(field.to_string()),
        }
    }
}

/// Parses ASCII digits into a `u64`; `None` for an empty field, any other byte, or overflow.
pub fn parse_u64(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in bytes {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(v)
}

impl fmt::Display for Key {
    /// Prints the key as the query language writes it: `42` or `'sku-19'` (quotes doubled inside).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Int(v) => write!(f, "{v}"),
            Key::Str(s) => write!(f, "'{}'", s.replace('\'', "''")),
        }
    }
}

impl From<u64> for Key {
    fn from(v: u64) -> Self {
        Key::Int(v)
    }
}

impl From<&str> for Key {
    fn from(s: &str) -> Self {
        Key::Str(s.to_string())
    }
}

impl From<String> for Key {
    fn from(s: String) -> Self {
        Key::Str(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_and_orders_like_keys() {
        let keys = [Key::Int(0), Key::Int(7), Key::Int(u64::MAX), Key::from(""), Key::from("a'b")];
        for k in &keys {
            assert_eq!(Key::decode(&k.encode()).as_ref(), Some(k));
        }
        for w in keys.windows(2) {
            assert!(w[0].encode() < w[1].encode(), "{:?} < {:?}", w[0], w[1]);
        }
    }

    #[test]
    fn decode_rejects_bad_bytes() {
        assert_eq!(Key::decode(&[]), None);
        assert_eq!(Key::decode(&[0, 1, 2]), None);
        assert_eq!(Key::decode(&[9]), None);
        assert_eq!(Key::decode(&[1, 0xff]), None);
    }

    #[test]
    fn fields_parse_as_int_or_string() {
        assert_eq!(Key::parse_field("42"), Key::Int(42));
        assert_eq!(Key::parse_field("18446744073709551615"), Key::Int(u64::MAX));
        assert_eq!(Key::parse_field("18446744073709551616"), Key::from("18446744073709551616"));
        assert_eq!(Key::parse_field("-1"), Key::from("-1"));
        assert_eq!(Key::parse_field("sku-1"), Key::from("sku-1"));
        assert_eq!(Key::parse_field(""), Key::from(""));
        assert_eq!(Key::from("it's").to_string(), "'it''s'");
    }
}
