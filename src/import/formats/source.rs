//! Reading an import file line by line, gunzipping transparently, reporting progress.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

use flate2::bufread::MultiGzDecoder;

use super::error::{ImportError, ImportErrorKind};

const BUFFER: usize = 256 * 1024;
const PROGRESS_EVERY: u64 = 64 * 1024;

/// The lines of an import file as byte slices (without `\n` or `\r\n`), numbered from 1.
pub(crate) struct Lines<'p> {
    path: &'p Path,
    reader: Box<dyn BufRead + 'p>,
    counter: Arc<AtomicU64>,
    total: u64,
    next_report: u64,
    progress: &'p mut dyn FnMut(u64, u64) -> bool,
    buf: Vec<u8>,
    /// Number of the line last returned.
    pub(crate) number: u64,
}

/// The file, counting the bytes read from it (compressed bytes for a gzip file) into a counter that
/// the line reader, above any decoder, can see.
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

/// Decompresses on a second thread, so that inflating and parsing overlap: the decoder sends blocks
/// of text over a bounded channel and this reader hands them to the line splitter.
struct Inflating {
    blocks: Receiver<std::io::Result<Vec<u8>>>,
    current: Vec<u8>,
    at: usize,
}

impl Inflating {
    fn spawn(source: BufReader<Counting>) -> Inflating {
        let (tx, rx) = sync_channel(4);
        std::thread::spawn(move || {
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
                let done = filled == 0;
                let sent = match result {
                    Ok(()) if done => return,
                    Ok(()) => tx.send(Ok(block)),
                    Err(e) => tx.send(Err(e)),
                };
                // A closed channel means the reader stopped (an error or a cancel): stop too.
                if sent.is_err() {
                    return;
                }
            }
        });
        Inflating { blocks: rx, current: Vec::new(), at: 0 }
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
        if self.at == self.current.len() {
            match self.blocks.recv() {
                Ok(block) => {
                    self.current = block?;
                    self.at = 0;
                }
                // The decoder finished: end of input.
                Err(_) => return Ok(&[]),
            }
        }
        Ok(&self.current[self.at..])
    }

    fn consume(&mut self, amount: usize) {
        self.at = (self.at + amount).min(self.current.len());
    }
}

impl<'p> Lines<'p> {
    /// Opens `path`; gzip is detected by its magic bytes.
    pub(crate) fn open(
        path: &'p Path,
        progress: &'p mut dyn FnMut(u64, u64) -> bool,
    ) -> Result<Lines<'p>, ImportError> {
        let io_err = |e: std::io::Error| ImportError {
            path: path.to_path_buf(),
            line: None,
            kind: ImportErrorKind::Io,
            message: format!("cannot read the file: {e}"),
        };
        let file = File::open(path).map_err(io_err)?;
        let total = file.metadata().map_err(io_err)?.len();
        let counter = Arc::new(AtomicU64::new(0));
        let mut raw = BufReader::with_capacity(BUFFER, Counting { file, count: Arc::clone(&counter) });
        let is_gzip = raw.fill_buf().map_err(io_err)?.starts_with(&[0x1f, 0x8b]);
        let reader: Box<dyn BufRead + 'p> =
            if is_gzip { Box::new(Inflating::spawn(raw)) } else { Box::new(raw) };
        Ok(Lines {
            path,
            reader,
            counter,
            total,
            next_report: 0,
            progress,
            buf: Vec::with_capacity(1024),
            number: 0,
        })
    }

    /// Where errors about the file as a whole point.
    pub(crate) fn file(&self) -> At<'p> {
        At { path: self.path, line: None }
    }

    /// The next line and where errors about it point, or `None` at the end of the file.
    pub(crate) fn next_line(&mut self) -> Result<Option<(&[u8], At<'p>)>, ImportError> {
        let done = self.counter.load(Ordering::Relaxed);
        if done >= self.next_report {
            self.next_report = done + PROGRESS_EVERY;
            if !(self.progress)(done, self.total) {
                return Err(self.file().error(ImportErrorKind::Cancelled, "cancelled".into()));
            }
        }
        self.buf.clear();
        let at = At { path: self.path, line: Some(self.number + 1) };
        let n = self
            .reader
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| at.error(ImportErrorKind::Io, format!("cannot read the file: {e}")))?;
        if n == 0 {
            (self.progress)(self.total, self.total);
            return Ok(None);
        }
        self.number += 1;
        let mut line = &self.buf[..];
        if let Some(rest) = line.strip_suffix(b"\n") {
            line = rest;
        }
        if let Some(rest) = line.strip_suffix(b"\r") {
            line = rest;
        }
        Ok(Some((line, at)))
    }
}

/// Where an error points: the file, and the line when there is one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct At<'p> {
    path: &'p Path,
    line: Option<u64>,
}

impl At<'_> {
    /// An error of `kind` at this place.
    pub(crate) fn error(&self, kind: ImportErrorKind, message: String) -> ImportError {
        ImportError { path: self.path.to_path_buf(), line: self.line, kind, message }
    }

    /// A parse error at this place.
    pub(crate) fn parse_error(&self, message: String) -> ImportError {
        self.error(ImportErrorKind::Parse, message)
    }

    /// An option error at this place.
    pub(crate) fn option_error(&self, message: String) -> ImportError {
        self.error(ImportErrorKind::Option, message)
    }
}

/// Shows a field in an error message: as text, or escaped bytes if it is not UTF-8.
pub(crate) fn show(field: &[u8]) -> String {
    String::from_utf8_lossy(field).chars().take(60).collect()
}
