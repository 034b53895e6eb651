//! Migration of a format-1 database to format 2: every blob moves out of sled (chunks in `blob_meta` and
//! `blob_chunks`, read by `legacy`) into a blob file of its own with a `blob_files` entry (`blob`).
//!
//! The files are written and fsynced first, with their directory; then one atomic sled write removes the
//! chunks and manifests, adds the entries and sets the format version to 2. A crash before that write
//! leaves a format-1 database as it was, plus files that nothing names, which the next open removes
//! before migrating again; a crash after it leaves a format-2 database. sled gives the space of the
//! removed chunks back only as it reuses its log, so a migrated database may stay larger than a new one.

use std::collections::HashSet;

use crate::blob::Entry;
use crate::engine::Engine;
use crate::error::Result;
use crate::files::BlobFiles;
use crate::format::{meta, tree, FORMAT_VERSION};
use crate::legacy;

/// The format version this build migrates from.
pub(crate) const FROM_VERSION: u32 = 1;

/// Migrates the format-1 database of `engine`, whose blob files are `files`; returns how many blobs
/// moved.
pub(crate) fn run(engine: &Engine, files: &BlobFiles) -> Result<usize> {
    // A format-1 database names no file: whatever is there is left by an attempt that did not finish.
    files.sweep(&HashSet::new())?;
    let mut created = Vec::new();
    let moved = move_blobs(engine, files, &mut created);
    if moved.is_err() {
        for file in created {
            files.remove(file);
        }
        return moved;
    }
    files.settle(&created);
    moved
}

fn move_blobs(engine: &Engine, files: &BlobFiles, created: &mut Vec<u64>) -> Result<usize> {
    let mut writes = Vec::new();
    let mut stray = Vec::new();
    legacy::for_each_blob(
        engine,
        |blob| {
            let file = files.write(&blob.bytes)?;
            created.push(file);
            let entry = Entry { file, len: blob.bytes.len() as u64, crc: crc32fast::hash(&blob.bytes) };
            writes.extend(blob.removal);
            writes.push((Engine::tree_index(tree::BLOB_FILES), blob.name.into_bytes(), Some(entry.encode())));
            Ok(())
        },
        &mut stray,
    )?;
    let moved = created.len();
    writes.extend(stray);
    writes.push((
        Engine::tree_index(tree::META),
        meta::FORMAT_VERSION.to_vec(),
        Some(FORMAT_VERSION.to_be_bytes().to_vec()),
    ));
    files.sync_dir()?;
    engine.commit(writes)?;
    engine.flush()?;
    Ok(moved)
}
