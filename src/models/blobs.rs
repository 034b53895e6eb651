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

/// The blobs of one stored model version, read on demand.
pub struct Blobs<'a> {
    read: &'a dyn Fn(&str) -> Result<AlignedVec>,
}

impl<'a> Blobs<'a> {
    /// Blobs read by `read(name)`, which fails for a missing blob.
    pub fn new(read: &'a dyn Fn(&str) -> Result<AlignedVec>) -> Blobs<'a> {
        Blobs { read }
    }

    /// Blob `name` as an archive of `T`: validated (bytecheck), then deserialised.
    pub fn get<T>(&self, name: &str) -> Result<T>
    where
        T: Archive,
        T::Archived: for<'v> CheckBytes<HighValidator<'v, rancor::Error>>
            + Deserialize<T, HighDeserializer<rancor::Error>>,
    {
        Ok(read_archive::<T>(&(self.read)(name)?, name)?)
    }
}

/// Blobs held in memory (a model just trained, or a test's): a missing name is a corrupt-model error.
pub fn in_memory(blobs: &[Blob]) -> impl Fn(&str) -> Result<AlignedVec> + '_ {
    move |name| {
        blobs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, bytes)| bytes.clone())
            .ok_or_else(|| Error::corrupt(format!("the model has no blob '{name}'")))
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
