//! Blobs as format 1 stored them, inside sled: a manifest in `blob_meta` (total length `u64` BE, chunk
//! count `u32` BE, CRC-32 of the whole blob `u32` BE) and chunks `name\0<index u32 BE>` in `blob_chunks`,
//! 256 KiB each but the last. Only the migration to format 2 (`migrate`) reads them; a format-2 database
//! keeps both trees empty.

use std::collections::BTreeSet;

use crate::engine::{Engine, Write};
use crate::error::{corrupt, Result};
use crate::format::tree;

/// One blob of format 1: its name and bytes (length and checksum checked), and the tree writes that
/// remove it.
pub(crate) struct LegacyBlob {
    pub(crate) name: String,
    pub(crate) bytes: Vec<u8>,
    pub(crate) removal: Vec<Write>,
}

/// Every format-1 blob, read and checked one at a time: `each` gets one blob and returns before the
/// next is read, so that memory holds one blob at most. Chunks that no manifest names are removed
/// through `stray`.
pub(crate) fn for_each_blob(
    engine: &Engine,
    mut each: impl FnMut(LegacyBlob) -> Result<()>,
    stray: &mut Vec<Write>,
) -> Result<()> {
    let mut chunk_keys = BTreeSet::new();
    for entry in engine.scan(tree::BLOB_CHUNKS) {
        chunk_keys.insert(entry?.0.to_vec());
    }
    for entry in engine.scan(tree::BLOB_META) {
        let (key, manifest) = entry?;
        let name = String::from_utf8(key.to_vec()).map_err(|_| corrupt("blob name is not UTF-8"))?;
        let (len, chunks, crc) = decode_manifest(&manifest, &name)?;
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        let mut removal = vec![(Engine::tree_index(tree::BLOB_META), key.to_vec(), None)];
        for i in 0..chunks {
            let chunk_key = [name.as_bytes(), &[0], &i.to_be_bytes()].concat();
            let chunk = engine
                .get(tree::BLOB_CHUNKS, &chunk_key)?
                .ok_or_else(|| corrupt(format!("blob '{name}': chunk {i} is missing")))?;
            bytes.extend_from_slice(&chunk);
            chunk_keys.remove(&chunk_key);
            removal.push((Engine::tree_index(tree::BLOB_CHUNKS), chunk_key, None));
        }
        if bytes.len() as u64 != len || crc32fast::hash(&bytes) != crc {
            return Err(corrupt(format!("blob '{name}': length or checksum does not match its manifest")));
        }
        each(LegacyBlob { name, bytes, removal })?;
    }
    stray.extend(chunk_keys.into_iter().map(|k| (Engine::tree_index(tree::BLOB_CHUNKS), k, None)));
    Ok(())
}

/// A manifest's length, chunk count and CRC-32.
fn decode_manifest(bytes: &[u8], name: &str) -> Result<(u64, u32, u32)> {
    let (Ok(len), Ok(chunks), Ok(crc)) = (
        <[u8; 8]>::try_from(bytes.get(0..8).unwrap_or_default()),
        <[u8; 4]>::try_from(bytes.get(8..12).unwrap_or_default()),
        <[u8; 4]>::try_from(bytes.get(12..).unwrap_or_default()),
    ) else {
        return Err(corrupt(format!("blob '{name}': manifest of {} bytes", bytes.len())));
    };
    Ok((u64::from_be_bytes(len), u32::from_be_bytes(chunks), u32::from_be_bytes(crc)))
}
