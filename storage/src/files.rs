//! The blob file directory: large values (model data) live as files of their own in `blob_files/` inside
//! the database directory, beside sled's files, so that removing a value gives its bytes back to the
//! file system at once (sled keeps the space of large values it no longer holds).
//!
//! Each file is named by a number never used before in this directory (16 lowercase hex digits) and
//! written once: created, filled, fsynced, and never changed afterwards. A file means something only
//! while a `blob_files` entry names it (see `blob`); the protocol that keeps the two in step across a
//! crash is:
//!
//! 1. **write**: the bytes go to a new file, which is fsynced ([`BlobFiles::write`]); before the sled
//!    write that names it commits, the directory is fsynced too ([`BlobFiles::sync_dir`]), so that a
//!    durable entry never names a file a crash could lose;
//! 2. **publish**: one atomic sled write adds the entries and removes those of replaced or deleted
//!    blobs;
//! 3. **delete**: only once that write is durable are the files it stopped naming removed.
//!
//! A crash between 1 and 2 leaves files that no entry names, as does a crash between 2 and 3; opening
//! the database removes them ([`BlobFiles::sweep`]). A crash before 2 loses nothing committed, a crash
//! after 2 loses nothing either: every entry's file is durable. Names that are not 16 hex digits are
//! not recodb's and are left alone.

use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use rkyv::util::AlignedVec;

use crate::error::Result;

/// The name of the blob file directory inside a database directory. (Not `blobs`: sled keeps its own
/// large values there.)
pub const BLOB_DIR: &str = "blob_files";

/// The directory of blob files of one open database.
pub(crate) struct BlobFiles {
    dir: PathBuf,
    /// The number of the next file to create: above every file present when the directory was opened.
    next: AtomicU64,
    /// Files written by writes that have not committed or given them up yet.
    pending: Mutex<HashSet<u64>>,
    /// The directory of a temporary database, removed with it.
    _temporary: Option<tempfile::TempDir>,
    /// The step at which the next I/O error is injected (tests of the failure paths).
    #[cfg(test)]
    fault: Mutex<Option<Step>>,
}

/// A step of writing blob files where an I/O error can happen (and tests inject one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Creating a new file.
    Create,
    /// Writing its bytes.
    Write,
    /// Syncing the file.
    Sync,
    /// Syncing the directory before the write that names the files commits.
    SyncDir,
}

/// A file of the directory: its number and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileInfo {
    pub(crate) number: u64,
    pub(crate) bytes: u64,
}

impl BlobFiles {
    /// Opens (creating if needed) the blob file directory of the database directory `db_dir`.
    pub(crate) fn open(db_dir: &Path) -> Result<BlobFiles> {
        let dir = db_dir.join(BLOB_DIR);
        if !dir.is_dir() {
            std::fs::create_dir_all(&dir)?;
            sync_dir(db_dir)?;
        }
        Self::in_dir(dir, None)
    }

    /// A blob file directory in a new temporary directory, removed when this is dropped.
    pub(crate) fn temporary() -> Result<BlobFiles> {
        let temp = tempfile::Builder::new().prefix("recodb-blobs-").tempdir()?;
        Self::in_dir(temp.path().to_path_buf(), Some(temp))
    }

    fn in_dir(dir: PathBuf, temporary: Option<tempfile::TempDir>) -> Result<BlobFiles> {
        let files = BlobFiles {
            dir,
            next: AtomicU64::new(0),
            pending: Mutex::default(),
            _temporary: temporary,
            #[cfg(test)]
            fault: Mutex::default(),
        };
        let next = files.list()?.iter().map(|f| f.number + 1).max().unwrap_or(0);
        files.next.store(next, Ordering::Relaxed);
        Ok(files)
    }

    /// The path of file `number`.
    pub(crate) fn path(&self, number: u64) -> PathBuf {
        self.dir.join(format!("{number:016x}"))
    }

    /// Writes `bytes` to a new file, fsynced, and returns its number. The file is pending until
    /// [`BlobFiles::settle`] or [`BlobFiles::remove`].
    pub(crate) fn write(&self, bytes: &[u8]) -> Result<u64> {
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        self.pending.lock().insert(number);
        let written = (|| -> std::io::Result<()> {
            self.inject(Step::Create)?;
            let mut file = File::options().write(true).create_new(true).open(self.path(number))?;
            self.inject(Step::Write)?;
            file.write_all(bytes)?;
            self.inject(Step::Sync)?;
            file.sync_all()
        })();
        if let Err(e) = written {
            self.remove(number);
            return Err(e.into());
        }
        Ok(number)
    }

    /// Makes the directory entries of the files written so far durable.
    pub(crate) fn sync_dir(&self) -> Result<()> {
        self.inject(Step::SyncDir)?;
        sync_dir(&self.dir)
    }

    /// Makes the next `step` fail with an I/O error, once.
    #[cfg(test)]
    pub(crate) fn fail_next(&self, step: Step) {
        *self.fault.lock() = Some(step);
    }

    /// The injected I/O error of `step`, if a test asked for one.
    fn inject(&self, _step: Step) -> std::io::Result<()> {
        #[cfg(test)]
        if self.fault.lock().take_if(|s| *s == _step).is_some() {
            return Err(std::io::Error::other(format!("injected I/O error at {_step:?}")));
        }
        Ok(())
    }

    /// Marks files as no longer pending: a committed write names them now.
    pub(crate) fn settle(&self, numbers: &[u64]) {
        let mut pending = self.pending.lock();
        for n in numbers {
            pending.remove(n);
        }
    }

    /// Removes file `number` if it exists. A failure leaves a file that no entry names, which the next
    /// open removes, so it is not reported.
    pub(crate) fn remove(&self, number: u64) {
        let _ = std::fs::remove_file(self.path(number));
        self.pending.lock().remove(&number);
    }

    /// Opens file `number` for reading; `None` when it does not exist.
    pub(crate) fn open_file(&self, number: u64) -> Result<Option<File>> {
        match File::open(self.path(number)) {
            Ok(file) => Ok(Some(file)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Every file of the directory with a name recodb gives, in number order.
    pub(crate) fn list(&self) -> Result<Vec<FileInfo>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let Some(number) = entry.file_name().to_str().and_then(parse_name) else { continue };
            match entry.metadata() {
                Ok(meta) if meta.is_file() => out.push(FileInfo { number, bytes: meta.len() }),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        out.sort_by_key(|f| f.number);
        Ok(out)
    }

    /// The files that are neither in `named` nor pending.
    pub(crate) fn unreferenced(&self, named: &HashSet<u64>) -> Result<Vec<FileInfo>> {
        let pending = self.pending.lock().clone();
        Ok(self
            .list()?
            .into_iter()
            .filter(|f| !named.contains(&f.number) && !pending.contains(&f.number))
            .collect())
    }

    /// Removes every file that `named` does not hold (left by a crash, see the module doc); returns
    /// what was removed. Call only when no write is in progress (on open).
    pub(crate) fn sweep(&self, named: &HashSet<u64>) -> Result<Vec<FileInfo>> {
        let orphans = self.unreferenced(named)?;
        for file in &orphans {
            std::fs::remove_file(self.path(file.number))?;
        }
        if !orphans.is_empty() {
            self.sync_dir()?;
        }
        Ok(orphans)
    }
}

/// Reads all of `file` into a 16-byte-aligned buffer (the alignment rkyv archives need), failing if it
/// does not hold exactly `len` bytes.
pub(crate) fn read_aligned(mut file: File, len: u64) -> std::io::Result<Option<AlignedVec>> {
    if file.metadata()?.len() != len {
        return Ok(None);
    }
    let Ok(len) = usize::try_from(len) else { return Ok(None) };
    let mut out = AlignedVec::with_capacity(len);
    out.resize(len, 0);
    file.read_exact(out.as_mut_slice())?;
    Ok(Some(out))
}

/// The number of a file named by recodb (16 lowercase hex digits).
fn parse_name(name: &str) -> Option<u64> {
    let valid = name.len() == 16 && name.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    valid.then(|| u64::from_str_radix(name, 16).ok()).flatten()
}

/// Makes the entries of directory `dir` durable (a no-op where directories cannot be opened as files).
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sixteen_lowercase_hex_digits() {
        assert_eq!(parse_name("000000000000002a"), Some(42));
        assert_eq!(parse_name("ffffffffffffffff"), Some(u64::MAX));
        for other in ["2a", "000000000000002A", "000000000000002a.tmp", "conf", "00000000000000g0"] {
            assert_eq!(parse_name(other), None, "{other}");
        }
    }

    #[test]
    fn numbers_continue_above_the_files_present_and_sweep_spares_named_and_foreign_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = BlobFiles::open(dir.path()).expect("open");
        let (a, b) = (files.write(b"a").expect("write"), files.write(b"bb").expect("write"));
        assert_eq!((a, b), (0, 1));
        files.settle(&[a, b]);
        std::fs::write(dir.path().join(BLOB_DIR).join("notes.txt"), "mine").expect("foreign file");
        drop(files);
        let files = BlobFiles::open(dir.path()).expect("reopen");
        assert_eq!(files.write(b"c").expect("write"), 2, "numbers are never reused");
        let pending = files.unreferenced(&HashSet::from([a])).expect("list");
        assert_eq!(pending, vec![FileInfo { number: b, bytes: 2 }], "a pending file is no orphan");
        files.settle(&[2]);
        let swept = files.sweep(&HashSet::from([a])).expect("sweep");
        assert_eq!(swept.iter().map(|f| f.number).collect::<Vec<_>>(), vec![b, 2]);
        assert_eq!(files.list().expect("list"), vec![FileInfo { number: a, bytes: 1 }]);
        assert!(dir.path().join(BLOB_DIR).join("notes.txt").exists(), "not recodb's: left alone");
        let read = read_aligned(files.open_file(a).expect("open").expect("exists"), 1).expect("read");
        assert_eq!(read.as_deref(), Some(&b"a"[..]));
        assert!(read_aligned(files.open_file(a).expect("open").expect("exists"), 2).expect("read").is_none());
        assert!(files.open_file(b).expect("open").is_none());
    }
}
