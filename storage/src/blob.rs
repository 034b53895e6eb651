//! The blob store: model data as rkyv archives, split into chunks, checksummed, validated when read.
//!
//! A blob named `n` has a manifest in `blob_meta` (total length `u64` BE, chunk count `u32` BE, CRC-32 of
//! the whole blob `u32` BE) and chunks `n\0<index u32 BE>` in `blob_chunks`, each [`CHUNK_SIZE`] bytes but
//! the last. Reads reassemble the chunks into one 16-byte-aligned buffer (so rkyv's alignment needs hold
//! whatever address sled returns), check length and checksum, and [`read_archive`] then validates the
//! archive with bytecheck before deserialising it.

use rkyv::api::high::{HighDeserializer, HighSerializer, HighValidator};
use rkyv::bytecheck::CheckBytes;
use rkyv::rancor;
use rkyv::ser::allocator::ArenaHandle;
use rkyv::util::AlignedVec;
use rkyv::{Archive, Deserialize, Serialize};

use crate::error::{corrupt, Result, StorageError};
use crate::format::tree;
use crate::store::Store;
use crate::write::WriteTxn;

/// Size of one blob chunk: large enough that a model of a million items needs few entries, small enough
/// to stay well inside sled's comfortable value size.
pub const CHUNK_SIZE: usize = 256 * 1024;

/// The manifest of one blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Manifest {
    pub(crate) len: u64,
    pub(crate) chunks: u32,
    pub(crate) crc: u32,
}

impl Manifest {
    fn encode(&self) -> Vec<u8> {
        [&self.len.to_be_bytes()[..], &self.chunks.to_be_bytes(), &self.crc.to_be_bytes()].concat()
    }

    pub(crate) fn decode(bytes: &[u8], name: &str) -> Result<Manifest> {
        if bytes.len() != 16 {
            return Err(corrupt(format!("blob '{name}': manifest of {} bytes", bytes.len())));
        }
        let u64_at = |i: usize| u64::from_be_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        let u32_at = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
        Ok(Manifest { len: u64_at(0), chunks: u32_at(8), crc: u32_at(12) })
    }
}

/// The key of chunk `index` of blob `name`.
pub(crate) fn chunk_key(name: &str, index: u32) -> Vec<u8> {
    [name.as_bytes(), &[0], &index.to_be_bytes()].concat()
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains('\0') {
        return Err(StorageError::Limit(format!("invalid blob name {name:?}")));
    }
    Ok(())
}

impl WriteTxn<'_> {
    /// Stores `bytes` as blob `name`, replacing any blob of that name, as part of this write.
    pub fn put_blob(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        check_name(name)?;
        let old = self.blob_manifest(name)?;
        let chunks = u32::try_from(bytes.len().div_ceil(CHUNK_SIZE))
            .map_err(|_| StorageError::Limit(format!("blob '{name}' is too large")))?;
        for (i, chunk) in bytes.chunks(CHUNK_SIZE).enumerate() {
            self.push_raw(tree::BLOB_CHUNKS, chunk_key(name, i as u32), Some(chunk.to_vec()));
        }
        for i in chunks..old.map_or(0, |m| m.chunks) {
            self.push_raw(tree::BLOB_CHUNKS, chunk_key(name, i), None);
        }
        let manifest = Manifest { len: bytes.len() as u64, chunks, crc: crc32fast::hash(bytes) };
        self.push_raw(tree::BLOB_META, name.as_bytes().to_vec(), Some(manifest.encode()));
        Ok(())
    }

    /// Serialises `value` with rkyv and stores it as blob `name`.
    pub fn put_archive<T>(&mut self, name: &str, value: &T) -> Result<()>
    where
        T: for<'a> Serialize<HighSerializer<AlignedVec, ArenaHandle<'a>, rancor::Error>>,
    {
        let bytes = rkyv::to_bytes::<rancor::Error>(value)
            .map_err(|e| StorageError::Engine(format!("cannot serialise blob '{name}': {e}")))?;
        self.put_blob(name, &bytes)
    }

    /// Removes blob `name`; returns whether it existed.
    pub fn delete_blob(&mut self, name: &str) -> Result<bool> {
        let Some(old) = self.blob_manifest(name)? else {
            return Ok(false);
        };
        for i in 0..old.chunks {
            self.push_raw(tree::BLOB_CHUNKS, chunk_key(name, i), None);
        }
        self.push_raw(tree::BLOB_META, name.as_bytes().to_vec(), None);
        Ok(true)
    }

    fn blob_manifest(&self, name: &str) -> Result<Option<Manifest>> {
        self.engine().get(tree::BLOB_META, name.as_bytes())?.map(|v| Manifest::decode(&v, name)).transpose()
    }
}

impl Store {
    /// Reads blob `name` into an aligned buffer, checking its length and checksum.
    pub fn blob(&self, name: &str) -> Result<Option<AlignedVec>> {
        let _consistent = self.consistent();
        let Some(manifest) = self.engine.get(tree::BLOB_META, name.as_bytes())? else {
            return Ok(None);
        };
        let manifest = Manifest::decode(&manifest, name)?;
        let len =
            usize::try_from(manifest.len).map_err(|_| corrupt(format!("blob '{name}' is too large")))?;
        let mut out = AlignedVec::with_capacity(len);
        for i in 0..manifest.chunks {
            let chunk = self
                .engine
                .get(tree::BLOB_CHUNKS, &chunk_key(name, i))?
                .ok_or_else(|| corrupt(format!("blob '{name}': chunk {i} is missing")))?;
            out.extend_from_slice(&chunk);
        }
        if out.len() != len || crc32fast::hash(&out) != manifest.crc {
            return Err(corrupt(format!("blob '{name}': length or checksum does not match its manifest")));
        }
        Ok(Some(out))
    }

    /// Reads blob `name` as an rkyv archive of `T`: validated with bytecheck, then deserialised.
    pub fn archive<T>(&self, name: &str) -> Result<Option<T>>
    where
        T: Archive,
        T::Archived: for<'a> CheckBytes<HighValidator<'a, rancor::Error>>
            + Deserialize<T, HighDeserializer<rancor::Error>>,
    {
        self.blob(name)?.map(|bytes| read_archive::<T>(&bytes, name)).transpose()
    }

    /// Names of the blobs whose name starts with `prefix`, in order.
    pub fn blob_names(&self, prefix: &str) -> Result<Vec<String>> {
        self.engine
            .scan_prefix(tree::BLOB_META, prefix.as_bytes())
            .map(|e| {
                let (k, _) = e?;
                String::from_utf8(k.to_vec()).map_err(|_| corrupt("blob name is not UTF-8"))
            })
            .collect()
    }
}

/// Validates `bytes` as an archive of `T` and deserialises it; a clear error if they are not one.
pub fn read_archive<T>(bytes: &[u8], name: &str) -> Result<T>
where
    T: Archive,
    T::Archived: for<'a> CheckBytes<HighValidator<'a, rancor::Error>>
        + Deserialize<T, HighDeserializer<rancor::Error>>,
{
    rkyv::from_bytes::<T, rancor::Error>(bytes)
        .map_err(|e| corrupt(format!("blob '{name}' does not validate: {e}")))
}
