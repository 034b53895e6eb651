//! The blob store: model data as rkyv archives, each blob a file of its own (module `files`) named by an
//! entry of the `blob_files` tree, checksummed, validated when read.
//!
//! An entry maps a blob name to its file number, length (`u64` BE) and CRC-32 (`u32` BE). A write that
//! puts a blob writes its file at once, fsynced; the write's commit adds the entry in the same atomic
//! sled write as the rest of the statement (a model's record), after the directory is fsynced; the files
//! of the blobs it replaced or deleted are removed once the commit is durable. A write that fails
//! removes the files it wrote. See `files` for the crash argument.
//!
//! Reads copy the file into one 16-byte-aligned buffer (so rkyv's alignment needs hold), check length and
//! checksum against the entry, and [`read_archive`] then validates the archive with bytecheck before
//! deserialising it. Nothing read from disk is accessed unchecked.

use std::collections::{BTreeMap, HashSet};

use rkyv::api::high::{HighDeserializer, HighSerializer, HighValidator};
use rkyv::bytecheck::CheckBytes;
use rkyv::rancor;
use rkyv::ser::allocator::ArenaHandle;
use rkyv::util::AlignedVec;
use rkyv::{Archive, Deserialize, Serialize};

use crate::engine::{Engine, Write};
use crate::error::{corrupt, Result, StorageError};
use crate::files::{read_aligned, BlobFiles};
use crate::format::tree;
use crate::store::Store;
use crate::write::WriteTxn;

/// The `blob_files` entry of one blob: which file holds it, how long it is, its checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) file: u64,
    pub(crate) len: u64,
    pub(crate) crc: u32,
}

impl Entry {
    pub(crate) fn encode(&self) -> Vec<u8> {
        [&self.file.to_be_bytes()[..], &self.len.to_be_bytes(), &self.crc.to_be_bytes()].concat()
    }

    pub(crate) fn decode(bytes: &[u8], name: &str) -> Result<Entry> {
        let (Some(file), Some(len), Some(crc)) = (
            bytes.get(0..8).and_then(|b| <[u8; 8]>::try_from(b).ok()),
            bytes.get(8..16).and_then(|b| <[u8; 8]>::try_from(b).ok()),
            bytes.get(16..).and_then(|b| <[u8; 4]>::try_from(b).ok()),
        ) else {
            return Err(corrupt(format!("blob '{name}': an entry of {} bytes", bytes.len())));
        };
        Ok(Entry {
            file: u64::from_be_bytes(file),
            len: u64::from_be_bytes(len),
            crc: u32::from_be_bytes(crc),
        })
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(StorageError::Limit(format!("invalid blob name {name:?}")));
    }
    Ok(())
}

/// The blob changes of one write: the entries it sets or removes, the files it wrote (removed unless the
/// write commits) and the committed files it stops naming (removed once the commit is durable).
pub(crate) struct BlobChanges<'s> {
    files: &'s BlobFiles,
    entries: BTreeMap<String, Option<Entry>>,
    created: Vec<u64>,
    obsolete: Vec<u64>,
    committed: bool,
}

impl<'s> BlobChanges<'s> {
    pub(crate) fn new(files: &'s BlobFiles) -> BlobChanges<'s> {
        BlobChanges {
            files,
            entries: BTreeMap::new(),
            created: Vec::new(),
            obsolete: Vec::new(),
            committed: false,
        }
    }

    /// Sets blob `name` to `entry` (`None` removes it); returns whether it existed before.
    fn set(&mut self, engine: &Engine, name: &str, entry: Option<Entry>) -> Result<bool> {
        let existed = match self.entries.get(name) {
            Some(Some(earlier)) => {
                // A file this write created and now replaces was never named by a commit.
                let file = earlier.file;
                self.created.retain(|&f| f != file);
                self.files.remove(file);
                true
            }
            Some(None) => false,
            None => match committed_entry(engine, name)? {
                Some(committed) => {
                    self.obsolete.push(committed.file);
                    true
                }
                None => false,
            },
        };
        self.entries.insert(name.to_string(), entry);
        Ok(existed)
    }

    /// Whether this write created files (whose directory entries must be synced before it commits).
    pub(crate) fn wrote_files(&self) -> bool {
        !self.created.is_empty()
    }

    /// Whether this write stops naming committed files (which it removes once durable).
    pub(crate) fn frees_files(&self) -> bool {
        !self.obsolete.is_empty()
    }

    /// The tree writes of the entries.
    pub(crate) fn writes(&self) -> impl Iterator<Item = Write> + '_ {
        let index = Engine::tree_index(tree::BLOB_FILES);
        self.entries
            .iter()
            .map(move |(name, entry)| (index, name.as_bytes().to_vec(), entry.map(|e| e.encode())))
    }

    /// Records that the write committed: its files are named now. Returns the files it stopped naming,
    /// to remove once the commit is durable.
    pub(crate) fn committed(mut self) -> Vec<u64> {
        self.committed = true;
        self.files.settle(&self.created);
        std::mem::take(&mut self.obsolete)
    }
}

impl Drop for BlobChanges<'_> {
    /// A write that did not commit removes the files it wrote.
    fn drop(&mut self) {
        if !self.committed {
            for &file in &self.created {
                self.files.remove(file);
            }
        }
    }
}

/// The committed entry of blob `name`.
fn committed_entry(engine: &Engine, name: &str) -> Result<Option<Entry>> {
    engine.get(tree::BLOB_FILES, name.as_bytes())?.map(|v| Entry::decode(&v, name)).transpose()
}

impl WriteTxn<'_> {
    /// Stores `bytes` as blob `name`, replacing any blob of that name, as part of this write. The bytes
    /// are written to a file of their own now; the write's commit publishes it.
    pub fn put_blob(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        check_name(name)?;
        let (engine, blobs) = self.blob_changes();
        let file = blobs.files.write(bytes)?;
        blobs.created.push(file);
        let entry = Entry { file, len: bytes.len() as u64, crc: crc32fast::hash(bytes) };
        blobs.set(engine, name, Some(entry))?;
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

    /// Removes blob `name`; returns whether it existed. Its file is removed once the write is durable.
    pub fn delete_blob(&mut self, name: &str) -> Result<bool> {
        check_name(name)?;
        let (engine, blobs) = self.blob_changes();
        blobs.set(engine, name, None)
    }
}

/// The bytes of blob `name` from its file, checked against its entry. Called with the file opened while
/// the entry was current (so that a commit removing the file cannot come between).
pub(crate) fn load(
    files: &BlobFiles,
    name: &str,
    entry: Entry,
    file: Option<std::fs::File>,
) -> Result<AlignedVec> {
    let path = files.path(entry.file);
    let file =
        file.ok_or_else(|| corrupt(format!("blob '{name}': its file {} is missing", path.display())))?;
    let bytes = read_aligned(file, entry.len)?.ok_or_else(|| {
        corrupt(format!("blob '{name}': its file {} is not {} bytes long", path.display(), entry.len))
    })?;
    if crc32fast::hash(&bytes) != entry.crc {
        return Err(corrupt(format!(
            "blob '{name}': its file {} does not match its checksum",
            path.display()
        )));
    }
    Ok(bytes)
}

/// What the database takes on disk, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DiskUsage {
    /// Bytes of sled's files: the data, records and settings (0 for a temporary database).
    pub data: u64,
    /// Bytes of the blob files that entries name (model data).
    pub blobs: u64,
    /// Number of those files.
    pub blob_files: u64,
    /// Bytes of blob files that nothing names (left by a crash or a removal that failed): free to
    /// reclaim, and removed when the database is next opened.
    pub unreferenced: u64,
    /// Number of those files.
    pub unreferenced_files: u64,
}

impl DiskUsage {
    /// Every byte the database takes.
    pub fn total(&self) -> u64 {
        self.data + self.blobs + self.unreferenced
    }
}

impl Store {
    /// Reads blob `name` into an aligned buffer, checking its length and checksum.
    pub fn blob(&self, name: &str) -> Result<Option<AlignedVec>> {
        let (entry, file) = {
            let _consistent = self.consistent();
            let Some(entry) = committed_entry(&self.engine, name)? else {
                return Ok(None);
            };
            (entry, self.files.open_file(entry.file)?)
        };
        load(&self.files, name, entry, file).map(Some)
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
            .scan_prefix(tree::BLOB_FILES, prefix.as_bytes())
            .map(|e| {
                let (k, _) = e?;
                String::from_utf8(k.to_vec()).map_err(|_| corrupt("blob name is not UTF-8"))
            })
            .collect()
    }

    /// The bytes of the blobs whose name starts with `prefix` (one model version's data on disk).
    pub fn blob_bytes(&self, prefix: &str) -> Result<u64> {
        let mut bytes = 0;
        for entry in self.engine.scan_prefix(tree::BLOB_FILES, prefix.as_bytes()) {
            let (k, v) = entry?;
            bytes += Entry::decode(&v, &String::from_utf8_lossy(&k))?.len;
        }
        Ok(bytes)
    }

    /// What the database takes on disk: sled's files, the blob files, and blob files nothing names.
    pub fn disk_usage(&self) -> Result<DiskUsage> {
        let _consistent = self.consistent();
        let named = named_files(&self.engine)?;
        let mut usage = DiskUsage {
            data: if self.path().is_some() { self.engine.size_on_disk()? } else { 0 },
            ..DiskUsage::default()
        };
        for file in self.files.list()? {
            if named.contains(&file.number) {
                usage.blobs += file.bytes;
                usage.blob_files += 1;
            }
        }
        for file in self.files.unreferenced(&named)? {
            usage.unreferenced += file.bytes;
            usage.unreferenced_files += 1;
        }
        Ok(usage)
    }

    /// Checks every blob entry against its file; pushes a problem for each that is missing or damaged,
    /// and returns how many blobs there are.
    pub(crate) fn check_blobs(&self, problems: &mut Vec<String>) -> Result<u64> {
        let mut blobs = 0;
        for entry in self.engine.scan(tree::BLOB_FILES) {
            let (k, v) = entry?;
            let name = String::from_utf8(k.to_vec()).map_err(|_| corrupt("blob name is not UTF-8"))?;
            let checked = Entry::decode(&v, &name).and_then(|entry| {
                let file = self.files.open_file(entry.file)?;
                load(&self.files, &name, entry, file)
            });
            if let Err(StorageError::Corrupt(problem)) = checked {
                problems.push(problem);
            } else {
                checked?;
            }
            blobs += 1;
        }
        for legacy in [tree::BLOB_META, tree::BLOB_CHUNKS] {
            if self.engine.len(legacy) != 0 {
                problems.push(format!("tree {legacy} of format 1 is not empty"));
            }
        }
        Ok(blobs)
    }

    /// Removes the blob files that no entry names (left by a crash); returns how many. Only for opening:
    /// a write in progress would lose its files.
    pub(crate) fn sweep_unreferenced_files(&self) -> Result<usize> {
        Ok(self.files.sweep(&named_files(&self.engine)?)?.len())
    }
}

/// The numbers of the files that blob entries name.
fn named_files(engine: &Engine) -> Result<HashSet<u64>> {
    engine
        .scan(tree::BLOB_FILES)
        .map(|e| {
            let (k, v) = e?;
            Ok(Entry::decode(&v, &String::from_utf8_lossy(&k))?.file)
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use crate::files::Step;
    use crate::{Key, Side, StorageError, Store};

    /// An I/O error at any step of writing blob files fails the write as a whole: the blobs it put are
    /// not visible, the old ones still are, its other changes are not made, no file of it is left, and
    /// the next write and a reopen work as if it had never been tried.
    #[test]
    fn an_io_error_while_writing_blob_files_fails_the_write_and_changes_nothing() {
        for step in [Step::Create, Step::Write, Step::Sync, Step::SyncDir] {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("db");
            let store = Store::open(&path).expect("open");
            store.write(|txn| txn.put_blob("m/v1/a", &[1; 100])).expect("first version");
            store.files.fail_next(step);
            let failed = store.write(|txn| -> Result<(), StorageError> {
                txn.ensure(Side::User, &Key::Int(7))?;
                txn.delete_blob("m/v1/a")?;
                txn.put_blob("m/v2/a", &[2; 100])?;
                txn.put_blob("m/v2/b", &[3; 10])
            });
            let error = failed.expect_err("the injected error fails the write");
            assert!(
                error.to_string().contains(&format!("injected I/O error at {step:?}")),
                "{step:?}: {error}"
            );
            assert_eq!(store.blob("m/v1/a").expect("read").as_deref(), Some(&[1u8; 100][..]), "{step:?}");
            assert_eq!(store.blob_names("m/").expect("names"), ["m/v1/a"], "{step:?}");
            assert_eq!(store.count(Side::User).expect("count"), 0, "{step:?}: nothing of the write");
            assert_eq!(store.files.list().expect("files").len(), 1, "{step:?}: its files are removed");
            store.write(|txn| txn.put_blob("m/v2/a", &[2; 100])).expect("the next write works");
            drop(store);
            let store = Store::open(&path).expect("reopens");
            assert_eq!(store.check_integrity().expect("sound").blobs, 2, "{step:?}");
        }
    }
}
