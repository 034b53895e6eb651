//! Large writes: a write of more than [`chunk_entries`] sled entries commits in chunks behind a redo
//! journal, so that its memory is bounded by the chunk, not by the write.
//!
//! Why: sled 0.34 copies a tree node for every insert and frees the superseded copy through epoch-based
//! reclamation, which cannot advance while one transaction applies. One transaction of `n` entries
//! therefore holds about 3.3 KB per entry until it ends: Gowalla's import (about 140,000 entries) peaked
//! at 705 MB, a 20M-interaction import at 15 GB. Between two transactions reclamation runs, so chunks of
//! a few thousand entries keep the garbage of one chunk at a time.
//!
//! The protocol keeps a large write atomic across a crash:
//!
//! 1. **journal**: every write, in order, goes to a new file of the blob directory (`files`), fsynced
//!    with the directory;
//! 2. **mark**: one sled write sets the meta key [`PENDING`] to the file's number, length and CRC-32
//!    (the encoding of a blob entry), and is flushed;
//! 3. **apply**: the writes in chunks, each one sled transaction, in order; the last one also removes
//!    the marker;
//! 4. after a flush, the journal file is removed.
//!
//! A crash before 2 leaves nothing applied and a file that nothing names, which opening removes. A
//! crash after 2 leaves the marker: opening applies the whole journal again, in order, before anything
//! else ([`finish_pending`]). Every write sets or removes a value outright, so applying a prefix twice
//! ends in the same state as applying it once. Readers of the same process are held off from the start
//! of 3 to its end (the store's visibility lock), so nobody sees part of a write; another process cannot
//! open the database while this one has it open.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::blob::{load, Entry};
use crate::engine::{Engine, Write};
use crate::error::{corrupt, Result};
use crate::files::BlobFiles;
use crate::format::{meta, tree};

/// The meta key that names the journal of a large write not yet fully applied.
pub(crate) const PENDING: &[u8] = meta::PENDING_COMMIT;

/// The first bytes of a journal file.
const MAGIC: &[u8; 8] = b"rdbjrnl1";

/// Sled entries per chunk (and the most a write commits in one transaction). At 8,192 the Gowalla
/// import peaks at about 110 MB, against 705 MB in one transaction; smaller chunks gain little.
const DEFAULT_CHUNK_ENTRIES: usize = 8192;

/// Bytes of keys and values per chunk: a chunk also ends here, so that a few very large values do not
/// make one large transaction.
const CHUNK_BYTES: usize = 16 << 20;

static CHUNK_ENTRIES: AtomicUsize = AtomicUsize::new(DEFAULT_CHUNK_ENTRIES);

/// The number of sled entries above which a write commits through the journal, in chunks of this size.
pub(crate) fn chunk_entries() -> usize {
    CHUNK_ENTRIES.load(Ordering::Relaxed)
}

/// Sets the chunk size of large writes for the whole process (at least 1). For tests that want small
/// writes to take the journal path (the kill campaign); applications have no reason to call it.
#[doc(hidden)]
pub fn set_commit_chunk_entries(entries: usize) {
    CHUNK_ENTRIES.store(entries.max(1), Ordering::Relaxed);
}

/// A write ready to commit: small enough for one transaction, or journaled.
pub(crate) enum Staged {
    /// Commits in one sled transaction.
    Direct(Vec<Write>),
    /// Written to a journal file (step 1); commits in chunks.
    Journaled(Journal),
}

/// A large write whose journal file is written.
pub(crate) struct Journal {
    writes: Vec<Write>,
    entry: Entry,
}

/// Step 1 for a large write: writes `writes` to a journal file when there are more than
/// [`chunk_entries`] of them. Nothing is visible yet; a failure leaves nothing behind.
pub(crate) fn stage(files: &BlobFiles, writes: Vec<Write>) -> Result<Staged> {
    if writes.len() <= chunk_entries() {
        return Ok(Staged::Direct(writes));
    }
    let bytes = encode(&writes);
    let file = files.write(&bytes)?;
    if let Err(e) = files.sync_dir() {
        files.remove(file);
        return Err(e);
    }
    let entry = Entry { file, len: bytes.len() as u64, crc: crc32fast::hash(&bytes) };
    Ok(Staged::Journaled(Journal { writes, entry }))
}

impl Journal {
    /// Step 2: publishes the marker and makes it durable. From here the write happens: now, or when
    /// [`finish_pending`] completes it. A failure leaves nothing applied and removes the file.
    pub(crate) fn mark(&self, engine: &Engine, files: &BlobFiles) -> Result<()> {
        let marker = (Engine::tree_index(tree::META), PENDING.to_vec(), Some(self.entry.encode()));
        let marked = engine.commit(vec![marker]).and_then(|()| engine.flush());
        if marked.is_err() {
            files.remove(self.entry.file);
        }
        marked
    }

    /// Step 3: applies the writes in chunks and removes the marker. Returns the journal file, to remove
    /// once a flush has made the write durable (step 4). After an error the marker stays, and
    /// [`finish_pending`] completes the write.
    /// `report(done, total)` is called after each chunk with the writes applied so far.
    pub(crate) fn apply(self, engine: &Engine, report: &mut dyn FnMut(u64, u64)) -> Result<u64> {
        apply(engine, self.writes, report)?;
        Ok(self.entry.file)
    }
}

/// Step 3: commits `writes` in chunks, in order; the last chunk also removes the marker.
fn apply(engine: &Engine, writes: Vec<Write>, report: &mut dyn FnMut(u64, u64)) -> Result<()> {
    let limit = chunk_entries();
    let total = writes.len() as u64;
    let mut rest = writes.into_iter().peekable();
    loop {
        let mut chunk = Vec::with_capacity(limit.min(rest.len()) + 1);
        let mut bytes = 0;
        while chunk.len() < limit && bytes < CHUNK_BYTES {
            let Some(write) = rest.next() else { break };
            bytes += write.1.len() + write.2.as_ref().map_or(0, Vec::len);
            chunk.push(write);
        }
        let last = rest.peek().is_none();
        if last {
            chunk.push((Engine::tree_index(tree::META), PENDING.to_vec(), None));
        }
        #[cfg(test)]
        tests::fault_before_chunk()?;
        engine.commit(chunk)?;
        report(total - rest.len() as u64, total);
        if last {
            return Ok(());
        }
    }
}

/// Completes a large write that a crash (or an error) interrupted after its marker: applies its journal
/// again, flushes and removes the file. Returns whether there was one. A journal that is missing or
/// does not match its marker is reported as corruption, and the database is left as it is.
pub(crate) fn finish_pending(engine: &Engine, files: &BlobFiles) -> Result<bool> {
    let Some(marker) = engine.get(tree::META, PENDING)? else { return Ok(false) };
    let name = "the journal of an unfinished write";
    let entry = Entry::decode(&marker, name)?;
    let bytes = load(files, name, entry, files.open_file(entry.file)?)?;
    apply(engine, decode(&bytes)?, &mut |_, _| {})?;
    engine.flush()?;
    files.remove(entry.file);
    Ok(true)
}

/// The journal's bytes: [`MAGIC`], the number of writes (`u64` LE), then each write as its tree index
/// (`u8`), key length (`u32` LE), key, a presence byte (0 removes, 1 sets) and, when set, the value's
/// length (`u32` LE) and the value.
fn encode(writes: &[Write]) -> Vec<u8> {
    let size: usize = writes.iter().map(|(_, k, v)| 10 + k.len() + v.as_ref().map_or(0, Vec::len)).sum();
    let mut out = Vec::with_capacity(MAGIC.len() + 8 + size);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(writes.len() as u64).to_le_bytes());
    for (tree_index, key, value) in writes {
        out.push(*tree_index as u8);
        out.extend_from_slice(&(key.len() as u32).to_le_bytes());
        out.extend_from_slice(key);
        match value {
            Some(v) => {
                out.push(1);
                out.extend_from_slice(&(v.len() as u32).to_le_bytes());
                out.extend_from_slice(v);
            }
            None => out.push(0),
        }
    }
    out
}

/// Reads back what [`encode`] wrote; anything else is corruption (never a panic).
fn decode(bytes: &[u8]) -> Result<Vec<Write>> {
    let bad = |what: &str| corrupt(format!("the journal of an unfinished write: {what}"));
    let mut reader = Reader { bytes, at: 0 };
    if reader.take(MAGIC.len()) != Some(MAGIC.as_slice()) {
        return Err(bad("its first bytes are not a journal's"));
    }
    let count = reader.u64().ok_or_else(|| bad("it ends inside its header"))?;
    let mut writes = Vec::new();
    for _ in 0..count {
        let write = (|| {
            let tree_index = usize::from(*reader.take(1)?.first()?);
            let key_len = reader.u32()? as usize;
            let key = reader.take(key_len)?.to_vec();
            let value = match reader.take(1)? {
                [0] => None,
                [1] => {
                    let len = reader.u32()? as usize;
                    Some(reader.take(len)?.to_vec())
                }
                _ => return None,
            };
            Some((tree_index, key, value))
        })()
        .ok_or_else(|| bad("a write is cut short or malformed"))?;
        if write.0 >= tree::ALL.len() {
            return Err(bad(&format!("a write names tree {} of {}", write.0, tree::ALL.len())));
        }
        writes.push(write);
    }
    if reader.at != bytes.len() {
        return Err(bad("bytes follow its last write"));
    }
    Ok(writes)
}

/// A cursor over a byte slice that never reads past its end.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let out = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(out)
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.take(8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::error::StorageError;
    use crate::{Key, Side, Store};

    thread_local! {
        /// Chunks this thread's next large write may still commit before an injected error.
        static CHUNKS_LEFT: Cell<Option<usize>> = const { Cell::new(None) };
    }

    /// Fails this thread's large writes after `chunks` more chunks (`None`: never).
    fn fail_after_chunks(chunks: Option<usize>) {
        CHUNKS_LEFT.with(|c| c.set(chunks));
    }

    /// The injected error, once the chunks allowed by [`fail_after_chunks`] are committed.
    pub(super) fn fault_before_chunk() -> Result<()> {
        CHUNKS_LEFT.with(|c| match c.get() {
            Some(0) => {
                c.set(None);
                Err(StorageError::Engine("injected error before a chunk".into()))
            }
            Some(n) => {
                c.set(Some(n - 1));
                Ok(())
            }
            None => Ok(()),
        })
    }

    const USERS: u64 = 300;

    /// One write of 300 users (with a blob), about 3 × 300 entries: the journal path at a chunk of 64.
    fn add_users(store: &Store) -> Result<()> {
        store.write(|txn| -> Result<()> {
            for u in 0..USERS {
                txn.ensure(Side::User, &Key::Int(u))?;
            }
            txn.put_blob("m/w", &[7; 1000])
        })
    }

    fn assert_all_there(store: &Store, what: &str) {
        assert_eq!(store.count(Side::User).expect("count"), USERS, "{what}");
        for u in 0..USERS {
            assert!(store.id_of(Side::User, &Key::Int(u)).expect("read").is_some(), "{what}: user {u}");
        }
        assert_eq!(store.blob("m/w").expect("blob").as_deref(), Some(&[7u8; 1000][..]), "{what}");
        assert_eq!(store.engine.get(tree::META, PENDING).expect("marker"), None, "{what}: no marker");
        assert_eq!(store.files.list().expect("files").len(), 1, "{what}: the blob's file, no journal");
        let report = store.check_integrity().expect("the integrity check passes");
        assert_eq!((report.users, report.blobs), (USERS, 1), "{what}");
    }

    #[test]
    fn a_large_write_commits_whole_through_the_journal_and_removes_it() {
        set_commit_chunk_entries(64);
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        add_users(&store).expect("write");
        assert_all_there(&store, "after the write");
        drop(store);
        assert_all_there(&Store::open(dir.path()).expect("reopen"), "after reopening");
    }

    #[test]
    fn a_crash_after_the_marker_is_finished_by_the_next_open() {
        set_commit_chunk_entries(64);
        for chunks in [0, 1, 3] {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = Store::open(dir.path()).expect("open");
            fail_after_chunks(Some(chunks));
            let error = add_users(&store).expect_err("the injected error");
            assert!(error.to_string().contains("injected"), "{error}");
            let applied = store.count(Side::User).expect("count");
            assert!(applied < USERS, "{chunks} chunks: part of the write, {applied} users");
            drop(store);
            assert_all_there(&Store::open(dir.path()).expect("reopen"), &format!("{chunks} chunks"));
        }
    }

    #[test]
    fn an_interrupted_write_is_finished_before_the_next_write() {
        set_commit_chunk_entries(64);
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        fail_after_chunks(Some(2));
        add_users(&store).expect_err("the injected error");
        store.write(|txn| txn.ensure(Side::User, &Key::Int(USERS)).map(|_| ())).expect("next write");
        assert_eq!(store.count(Side::User).expect("count"), USERS + 1);
        drop(store);
        let store = Store::open(dir.path()).expect("reopen");
        assert_eq!(
            store.count(Side::User).expect("count"),
            USERS + 1,
            "the replay did not undo the next write"
        );
    }

    #[test]
    fn a_crash_before_the_marker_leaves_nothing_and_its_file_is_removed() {
        set_commit_chunk_entries(64);
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let writes: Vec<Write> = (0..100u32)
            .map(|i| (Engine::tree_index(tree::RECORDS), i.to_be_bytes().to_vec(), Some(vec![1])))
            .collect();
        let Staged::Journaled(_journal) = stage(&store.files, writes).expect("stage") else {
            panic!("100 writes take the journal at a chunk of 64")
        };
        assert_eq!(store.files.list().expect("files").len(), 1, "the journal file");
        drop(store);
        let store = Store::open(dir.path()).expect("reopen");
        assert_eq!(store.engine.len(tree::RECORDS), 0, "nothing applied");
        assert!(store.files.list().expect("files").is_empty(), "the journal file is swept");
    }

    #[test]
    fn a_damaged_journal_refuses_the_open_and_names_it() {
        set_commit_chunk_entries(64);
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        fail_after_chunks(Some(1));
        add_users(&store).expect_err("the injected error");
        let marker = store.engine.get(tree::META, PENDING).expect("read").expect("the marker stays");
        let path = store.files.path(Entry::decode(&marker, "marker").expect("entry").file);
        drop(store);
        let mut bytes = std::fs::read(&path).expect("journal");
        bytes[20] ^= 0xff;
        std::fs::write(&path, bytes).expect("damage");
        let error = Store::open(dir.path()).err().expect("refused");
        assert!(error.to_string().contains("the journal of an unfinished write"), "{error}");
    }

    #[test]
    fn the_journal_reads_back_what_was_written_and_refuses_anything_else() {
        let writes: Vec<Write> = vec![
            (0, b"a".to_vec(), Some(b"xyz".to_vec())),
            (3, vec![], None),
            (16, vec![9; 300], Some(vec![])),
        ];
        let bytes = encode(&writes);
        assert_eq!(decode(&bytes).expect("decode"), writes);
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).unwrap_err().to_string().contains("bytes follow"));
        let mut bad_tree = bytes.clone();
        bad_tree[16] = 200;
        assert!(decode(&bad_tree).unwrap_err().to_string().contains("tree 200"));
        let mut bad_flag = bytes;
        bad_flag[16 + 1 + 4 + 1] = 2;
        assert!(decode(&bad_flag).unwrap_err().to_string().contains("malformed"));
    }
}
