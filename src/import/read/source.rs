//! Opening an import file: transparent gunzip (on a second thread, so that inflating overlaps parsing),
//! transcoding to UTF-8 from the encoding the statement names, progress reports against the size on
//! disk, and a line reader that reuses one buffer.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

use encoding_rs::Encoding;
use encoding_rs_io::DecodeReaderBytesBuilder;
use flate2::bufread::MultiGzDecoder;

use super::error::{At, ImportError, ImportErrorKind};
use crate::limits::MAX_IMPORT_LINE_BYTES;

/// The read buffer, and the size of the blocks the inflating thread hands over.
const BUFFER: usize = 256 * 1024;
/// Progress is reported each time this many more bytes of the file have been read.
const PROGRESS_EVERY: u64 = 64 * 1024;
/// The first bytes of every gzip member.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Calls the progress callback every [`PROGRESS_EVERY`] bytes of the file; a `false` answer cancels.
pub(crate) struct Progress<'a> {
    path: &'a Path,
    counter: Arc<AtomicU64>,
    total: u64,
    next: u64,
    callback: &'a mut dyn FnMut(u64, u64) -> bool,
}

impl Progress<'_> {
    /// Reports progress when enough bytes were read since the last report; an error if cancelled.
    #[inline]
    pub(crate) fn check(&mut self) -> Result<(), ImportError> {
        let done = self.counter.load(Ordering::Relaxed);
        if done >= self.next {
            self.next = done + PROGRESS_EVERY;
            if !(self.callback)(done.min(self.total), self.total) {
                return Err(ImportError::new(
                    self.path,
                    None,
                    ImportErrorKind::Cancelled,
                    "import cancelled",
                ));
            }
        }
        Ok(())
    }

    /// Reports the whole file as read.
    pub(crate) fn finish(&mut self) {
        // The file is read completely: a late request to stop has nothing left to stop.
        let _ = (self.callback)(self.total, self.total);
    }
}

/// An open import file: decompressed bytes, and the progress of reading the file itself.
pub(crate) struct Source<'a> {
    /// The path, for errors.
    pub(crate) path: &'a Path,
    /// The file's (decompressed) content.
    pub(crate) reader: Box<dyn BufRead + 'a>,
    /// Progress against the file's size on disk.
    pub(crate) progress: Progress<'a>,
}

/// The file, counting the bytes read from it (compressed bytes for a gzip file).
struct Counting {
    file: File,
    count: Arc<AtomicU64>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<'a> Source<'a> {
    /// Opens `path`. A file named `*.gz` or starting with the gzip magic bytes is decompressed; text in
    /// `encoding` (UTF-8 when `None`) is transcoded to UTF-8 after that.
    pub(crate) fn open(
        path: &'a Path,
        encoding: Option<&'static Encoding>,
        callback: &'a mut dyn FnMut(u64, u64) -> bool,
    ) -> Result<Source<'a>, ImportError> {
        let at = At { path, line: None };
        let file = File::open(path).map_err(|e| at.io(format!("cannot open the file: {e}")))?;
        let meta = file.metadata().map_err(|e| at.io(format!("cannot read the file: {e}")))?;
        if meta.is_dir() {
            return Err(at.io("this is a directory, not a file"));
        }
        let counter = Arc::new(AtomicU64::new(0));
        let mut raw = BufReader::with_capacity(BUFFER, Counting { file, count: Arc::clone(&counter) });
        let head = raw.fill_buf().map_err(|e| at.io(format!("cannot read the file: {e}")))?;
        let named_gz = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"));
        let reader: Box<dyn BufRead + 'a> = if head.starts_with(&GZIP_MAGIC) || named_gz {
            Box::new(Inflating::spawn(raw).map_err(|e| at.io(format!("cannot start decompressing: {e}")))?)
        } else {
            Box::new(raw)
        };
        let reader = match encoding {
            Some(encoding) => Box::new(BufReader::with_capacity(
                BUFFER,
                DecodeReaderBytesBuilder::new().encoding(Some(encoding)).build(reader),
            )),
            None => reader,
        };
        let progress = Progress { path, counter, total: meta.len(), next: 0, callback };
        Ok(Source { path, reader, progress })
    }
}

/// Decompresses on a second thread, which sends blocks of text over a bounded channel.
struct Inflating {
    blocks: Receiver<std::io::Result<Vec<u8>>>,
    current: Vec<u8>,
    at: usize,
}

impl Inflating {
    fn spawn(source: BufReader<Counting>) -> std::io::Result<Inflating> {
        let (tx, rx) = sync_channel(4);
        std::thread::Builder::new().name("recodb-gunzip".into()).spawn(move || {
            let mut decoder = MultiGzDecoder::new(source);
            loop {
                let mut block = vec![0u8; BUFFER];
                let mut filled = 0;
                let result = loop {
                    match decoder.read(&mut block[filled..]) {
                        Ok(0) => break Ok(()),
                        Ok(n) => {
                            filled += n;
                            if filled == block.len() {
                                break Ok(());
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => break Err(e),
                    }
                };
                block.truncate(filled);
                let sent = match result {
                    Ok(()) if filled == 0 => return,
                    Ok(()) => tx.send(Ok(block)),
                    // Hand over what was inflated before the error, then the error.
                    Err(e) => {
                        if filled > 0 && tx.send(Ok(block)).is_err() {
                            return;
                        }
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                // A closed channel means the reader stopped (an error or a cancel): stop too.
                if sent.is_err() {
                    return;
                }
            }
        })?;
        Ok(Inflating { blocks: rx, current: Vec::new(), at: 0 })
    }
}

impl Read for Inflating {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Inflating {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.at == self.current.len() {
            match self.blocks.recv() {
                Ok(block) => {
                    self.current = block?;
                    self.at = 0;
                }
                // The thread finished: the end of the input.
                Err(_) => return Ok(&[]),
            }
        }
        Ok(&self.current[self.at..])
    }

    fn consume(&mut self, amount: usize) {
        self.at = (self.at + amount).min(self.current.len());
    }
}

/// The lines of a file as byte slices without `\n` or `\r\n` (and without a UTF-8 byte-order mark on
/// the first line), numbered from 1. One buffer is reused for every line.
pub(crate) struct Lines<'a> {
    path: &'a Path,
    reader: Box<dyn BufRead + 'a>,
    progress: Progress<'a>,
    buf: Vec<u8>,
    end: usize,
    start: usize,
    number: u64,
}

impl<'a> Lines<'a> {
    /// Reads `source` line by line.
    pub(crate) fn new(source: Source<'a>) -> Lines<'a> {
        let Source { path, reader, progress } = source;
        Lines { path, reader, progress, buf: Vec::with_capacity(1024), start: 0, end: 0, number: 0 }
    }

    /// Where an error about the current line points.
    pub(crate) fn at(&self) -> At<'a> {
        At { path: self.path, line: Some(self.number) }
    }

    /// The number of the current line (0 before the first): also the number of lines read.
    pub(crate) fn number(&self) -> u64 {
        self.number
    }

    /// The current line.
    #[inline]
    pub(crate) fn line(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Moves to the next line; `false` at the end of the file (after a final progress report).
    #[inline]
    pub(crate) fn advance(&mut self) -> Result<bool, ImportError> {
        self.progress.check()?;
        self.buf.clear();
        // Two bytes past the limit: room for a `\r\n` after a line of the longest length.
        let n = (&mut self.reader)
            .take(MAX_IMPORT_LINE_BYTES as u64 + 2)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| {
                At { path: self.path, line: Some(self.number + 1) }.io(format!("cannot read the file: {e}"))
            })?;
        if n == 0 {
            self.progress.finish();
            self.start = 0;
            self.end = 0;
            return Ok(false);
        }
        self.number += 1;
        let mut end = self.buf.len();
        if self.buf[..end].ends_with(b"\n") {
            end -= 1;
        }
        if self.buf[..end].ends_with(b"\r") {
            end -= 1;
        }
        if end > MAX_IMPORT_LINE_BYTES {
            return Err(self
                .at()
                .parse(format!("a line longer than the limit of {MAX_IMPORT_LINE_BYTES} bytes")));
        }
        self.start = if self.number == 1 && self.buf[..end].starts_with(BOM) { BOM.len() } else { 0 };
        self.end = end;
        Ok(true)
    }
}

/// The UTF-8 byte-order mark some editors write at the start of a file.
pub(crate) const BOM: &[u8] = b"\xef\xbb\xbf";

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// The `(done, total)` pairs progress was called with.
    type Reports = Vec<(u64, u64)>;

    fn all_lines(path: &Path) -> Result<(Vec<String>, Reports), ImportError> {
        lines_in(path, None)
    }

    fn lines_in(
        path: &Path,
        encoding: Option<&'static Encoding>,
    ) -> Result<(Vec<String>, Reports), ImportError> {
        let mut reports = Vec::new();
        let mut cb = |done, total| {
            reports.push((done, total));
            true
        };
        let mut lines = Lines::new(Source::open(path, encoding, &mut cb)?);
        let mut out = Vec::new();
        while lines.advance()? {
            out.push(String::from_utf8_lossy(lines.line()).into_owned());
        }
        drop(lines);
        Ok((out, reports))
    }

    #[test]
    fn plain_and_crlf_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        std::fs::write(&path, b"\xef\xbb\xbfa\tb\r\n\r\nc\n\nd").unwrap();
        let (lines, reports) = all_lines(&path).unwrap();
        assert_eq!(lines, vec!["a\tb", "", "c", "", "d"]);
        assert_eq!(reports.first(), Some(&(14, 14)));
        assert_eq!(reports.last(), Some(&(14, 14)));
    }

    #[test]
    fn a_line_at_the_limit_is_read_and_one_past_it_is_refused_with_its_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long.tsv");
        let longest = "x".repeat(MAX_IMPORT_LINE_BYTES);
        std::fs::write(&path, format!("a\n{longest}\r\n{longest}")).unwrap();
        let (lines, _) = all_lines(&path).unwrap();
        assert_eq!(
            lines.iter().map(String::len).collect::<Vec<_>>(),
            [1, MAX_IMPORT_LINE_BYTES, MAX_IMPORT_LINE_BYTES]
        );
        std::fs::write(&path, format!("a\n{longest}y\nb\n")).unwrap();
        let err = all_lines(&path).expect_err("one byte past the limit");
        assert_eq!(err.line, Some(2));
        assert!(err.to_string().contains("longer than the limit of 1048576 bytes"), "{err}");
    }

    #[test]
    fn gzip_by_magic_and_progress_counts_compressed_bytes() {
        let dir = tempfile::tempdir().unwrap();
        // No .gz extension: detected by the magic bytes. Two gzip members, as MultiGzDecoder allows.
        let path = dir.path().join("data.tsv");
        let mut bytes = Vec::new();
        for part in ["1\t2\n", "3\t4\n"] {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(part.as_bytes()).unwrap();
            bytes.extend(enc.finish().unwrap());
        }
        std::fs::write(&path, &bytes).unwrap();
        let (lines, reports) = all_lines(&path).unwrap();
        assert_eq!(lines, vec!["1\t2", "3\t4"]);
        let size = bytes.len() as u64;
        assert!(reports.iter().all(|&(done, total)| total == size && done <= size), "{reports:?}");
        assert_eq!(reports.last(), Some(&(size, size)));
    }

    #[test]
    fn latin1_and_utf16_are_transcoded_after_gunzip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latin1.tsv.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"1\tCaf\xe9\n2\t\x80uro \xbd\n").unwrap();
        std::fs::write(&path, enc.finish().unwrap()).unwrap();
        let latin1 = Encoding::for_label(b"latin1");
        let (lines, _) = lines_in(&path, latin1).unwrap();
        // `latin1` is read as windows-1252, as browsers do: 0x80 is the euro sign.
        assert_eq!(lines, vec!["1\tCafé", "2\t€uro ½"]);
        let path = dir.path().join("utf16.tsv");
        let utf16: Vec<u8> = "1\tÉté\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
        std::fs::write(&path, utf16).unwrap();
        let (lines, _) = lines_in(&path, Encoding::for_label(b"utf-16le")).unwrap();
        assert_eq!(lines, vec!["1\tÉté"]);
    }

    #[test]
    fn corrupt_gzip_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.tsv.gz");
        std::fs::write(&path, b"not gzip at all\n").unwrap();
        let err = all_lines(&path).unwrap_err();
        assert_eq!(err.kind, ImportErrorKind::Io);
        assert_eq!(err.line, Some(1));
        assert!(err.message.starts_with("cannot read the file: "), "{}", err.message);
    }

    #[test]
    fn missing_file_is_an_io_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.tsv");
        let err = all_lines(&path).unwrap_err();
        assert_eq!(err.kind, ImportErrorKind::Io);
        assert_eq!(err.line, None);
        assert!(
            err.to_string().starts_with(&format!("'{}': cannot open the file: ", path.display())),
            "{err}"
        );
    }
}
