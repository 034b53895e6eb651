//! How trained models are saved: each model writes its data as named blobs, each blob the rkyv archive of
//! a named struct declared beside the model (`EaseBlob`, `DsimlBlob`, ...), never a positional tuple.
//! The catalog stores them under `model/<name>/v<version>/<blob>` together with a `format` blob holding
//! [`BLOB_FORMAT`], the version of these layouts; a version this build does not know is refused, and the
//! layouts written before versions existed are migrated when the database is opened (see
//! `models::migrate`). `storage/FORMAT.md` documents every layout.

use recodb_storage::read_archive;
use recodb_storage::rkyv::api::high::{HighDeserializer, HighSerializer, HighValidator};
use recodb_storage::rkyv::bytecheck::CheckBytes;
use recodb_storage::rkyv::ser::allocator::ArenaHandle;
use recodb_storage::rkyv::util::AlignedVec;
use recodb_storage::rkyv::{self, rancor, Archive, Deserialize, Serialize};

use super::dsiml::codes::words_for;
use crate::error::{Error, Result};

/// The version of the blob layouts this build writes and reads. Version 1 is the unversioned layout
/// of recodb before named blobs, which opening a database migrates.
pub const BLOB_FORMAT: u32 = 2;

/// The name of the blob that holds a model version's [`BlobFormat`].
pub const FORMAT_BLOB: &str = "format";

/// What the `format` blob of a model version holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[rkyv(crate = recodb_storage::rkyv)]
pub struct BlobFormat {
    /// The version of the layouts of the model's other blobs.
    pub version: u32,
}

/// One blob of a model: its name and its bytes.
pub type Blob = (&'static str, AlignedVec);

/// Serialises `value` as blob `name`. Serialising into memory fails only on a bug (or no memory).
pub fn encode<T>(name: &'static str, value: &T) -> Result<Blob>
where
    T: for<'a> Serialize<HighSerializer<AlignedVec, ArenaHandle<'a>, rancor::Error>>,
{
    let bytes = rkyv::to_bytes::<rancor::Error>(value)
        .map_err(|e| Error::internal(format!("cannot serialise blob '{name}': {e}")))?;
    Ok((name, bytes))
}

/// How [`Blobs`] reads blob `name`: its bytes, or `None` when the model version has no such blob.
pub type ReadBlob<'a> = &'a dyn Fn(&str) -> Result<Option<AlignedVec>>;

/// The blobs of one stored model version, read on demand.
pub struct Blobs<'a> {
    read: ReadBlob<'a>,
}

impl<'a> Blobs<'a> {
    /// Blobs read by `read(name)`.
    pub fn new(read: ReadBlob<'a>) -> Blobs<'a> {
        Blobs { read }
    }

    /// Blob `name` as an archive of `T`: validated (bytecheck), then deserialised; a missing blob is a
    /// corrupt-model error.
    pub fn get<T>(&self, name: &str) -> Result<T>
    where
        T: Archive,
        T::Archived: for<'v> CheckBytes<HighValidator<'v, rancor::Error>>
            + Deserialize<T, HighDeserializer<rancor::Error>>,
    {
        self.optional(name)?.ok_or_else(|| Error::corrupt(format!("the model has no blob '{name}'")))
    }

    /// Blob `name` like [`Blobs::get`], or `None` when the model has no such blob (a part added to a
    /// model's blobs later, which older versions lack).
    pub fn optional<T>(&self, name: &str) -> Result<Option<T>>
    where
        T: Archive,
        T::Archived: for<'v> CheckBytes<HighValidator<'v, rancor::Error>>
            + Deserialize<T, HighDeserializer<rancor::Error>>,
    {
        match (self.read)(name)? {
            Some(bytes) => Ok(Some(read_archive::<T>(&bytes, name)?)),
            None => Ok(None),
        }
    }
}

/// Blobs held in memory (a model just trained, or a test's).
pub fn in_memory(blobs: &[Blob]) -> impl Fn(&str) -> Result<Option<AlignedVec>> + '_ {
    move |name| Ok(blobs.iter().find(|(n, _)| *n == name).map(|(_, bytes)| bytes.clone()))
}

/// The code tables the blobs of the binary-code models (`dsiml`, `ccsr`) share, as read back: the
/// code length, the stage name, the trained users (one fingerprint each), the packed codes and the real
/// vectors (empty when not kept).
pub struct SavedCodes<'a> {
    /// The model's name, for the errors.
    pub model: &'a str,
    /// Code length.
    pub bits: u32,
    /// `binary` or `real`.
    pub stage: &'a str,
    /// Number of trained users.
    pub users: usize,
    /// The packed user codes.
    pub user_codes: &'a [u64],
    /// The packed item codes.
    pub item_codes: &'a [u64],
    /// The users' real vectors, `bits` values each, or empty.
    pub real_users: &'a [f32],
    /// The items' real vectors, or empty.
    pub real_items: &'a [f32],
}

/// What [`SavedCodes::check`] finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeShape {
    /// Code length, a multiple of 8 from 8 to 256.
    pub bits: usize,
    /// Whether the stage is `real` (scored by the real vectors).
    pub real_stage: bool,
    /// Number of items (from the item codes).
    pub items: usize,
    /// Whether the real vectors are there (then they are finite and one per user and item).
    pub has_real: bool,
}

impl SavedCodes<'_> {
    /// Checks the tables against each other: the code length, the stage, one code per user, whole
    /// codes, no bits set past the length, and real vectors either absent (binary stage only) or one
    /// finite vector per user and item. Anything else is a corrupt-model error naming `model`.
    pub fn check(&self) -> Result<CodeShape> {
        let corrupt = |what: String| Error::corrupt(format!("corrupt {} model: {what}", self.model));
        let bits = self.bits as usize;
        if !(8..=256).contains(&bits) || !bits.is_multiple_of(8) {
            return Err(corrupt(format!("{bits} bits")));
        }
        let real_stage = match self.stage {
            "binary" => false,
            "real" => true,
            other => return Err(corrupt(format!("stage '{other}'"))),
        };
        let words = words_for(bits);
        let (user_codes, item_codes) = (self.user_codes, self.item_codes);
        if user_codes.len() != self.users.saturating_mul(words) || !item_codes.len().is_multiple_of(words) {
            return Err(corrupt(format!(
                "{} user and {} item code words for {} users, codes of {bits} bits",
                user_codes.len(),
                item_codes.len(),
                self.users
            )));
        }
        let spare = if bits.is_multiple_of(64) { 0 } else { !0u64 << (bits % 64) };
        if user_codes
            .chunks_exact(words)
            .chain(item_codes.chunks_exact(words))
            .any(|c| c[words - 1] & spare != 0)
        {
            return Err(corrupt(format!("codes with bits set beyond {bits}")));
        }
        let items = item_codes.len() / words;
        let (real_users, real_items) = (self.real_users, self.real_items);
        let has_real = !(real_users.is_empty() && real_items.is_empty() && !real_stage);
        if has_real
            && !(real_users.len() == self.users * bits
                && real_items.len() == items * bits
                && real_users.iter().chain(real_items).all(|v| v.is_finite()))
        {
            return Err(corrupt(format!(
                "{} real user values and {} real item values for {} users and {items} items of {bits}",
                real_users.len(),
                real_items.len(),
                self.users
            )));
        }
        Ok(CodeShape { bits, real_stage, items, has_real })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[derive(Debug, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
    #[rkyv(crate = recodb_storage::rkyv)]
    struct Sample {
        n: u32,
        values: Vec<f32>,
    }

    #[test]
    fn named_structs_round_trip_and_bad_bytes_are_corrupt() {
        let saved = [encode("sample", &Sample { n: 2, values: vec![0.5, 1.5] }).expect("encode")];
        let read = in_memory(&saved);
        let blobs = Blobs::new(&read);
        assert_eq!(blobs.get::<Sample>("sample").expect("read"), Sample { n: 2, values: vec![0.5, 1.5] });
        let err = blobs.get::<Sample>("other").expect_err("missing");
        assert!(matches!(err.kind(), ErrorKind::Corrupt(_)), "{err:?}");
        let mut bytes = AlignedVec::new();
        bytes.extend_from_slice(&[1u8, 2, 3]);
        let garbage = [("sample", bytes)];
        let read = in_memory(&garbage);
        let err = Blobs::new(&read).get::<Sample>("sample").expect_err("garbage");
        assert!(matches!(err.kind(), ErrorKind::Corrupt(_)), "{err:?}");
    }
}
