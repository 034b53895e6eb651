//! Rows of a delimited file as fields of bytes: [`SplitRows`] splits lines on a byte (tsv), [`CsvRows`]
//! parses CSV with quoted fields (which may span lines). Both skip blank lines and reuse their buffers.

use std::io::BufRead;
use std::path::Path;

use super::error::{At, ImportError};
use super::source::{Lines, Progress, Source, BOM};

/// A cursor over the non-blank rows of a delimited file.
pub(crate) trait Rows<'a> {
    /// Moves to the next non-blank row; `false` at the end of the file.
    fn advance(&mut self) -> Result<bool, ImportError>;
    /// The number of fields of the current row.
    fn len(&self) -> usize;
    /// Field `i` of the current row (`i < len()`).
    fn field(&self, i: usize) -> &[u8];
    /// Where an error about the current row points.
    fn at(&self) -> At<'a>;
    /// Lines read so far.
    fn lines(&self) -> u64;
}

/// Rows split on a delimiter byte, without quoting.
pub(crate) struct SplitRows<'a> {
    lines: Lines<'a>,
    delimiter: u8,
    /// Field boundaries in the current line: field `i` is `line[bounds[i]..bounds[i + 1] - 1]`.
    bounds: Vec<usize>,
}

impl<'a> SplitRows<'a> {
    /// Splits the lines of `source` on `delimiter`.
    pub(crate) fn new(source: Source<'a>, delimiter: u8) -> SplitRows<'a> {
        SplitRows { lines: Lines::new(source), delimiter, bounds: Vec::with_capacity(16) }
    }
}

impl<'a> Rows<'a> for SplitRows<'a> {
    #[inline]
    fn advance(&mut self) -> Result<bool, ImportError> {
        loop {
            if !self.lines.advance()? {
                return Ok(false);
            }
            let line = self.lines.line();
            if line.trim_ascii().is_empty() {
                continue;
            }
            self.bounds.clear();
            self.bounds.push(0);
            for (i, &b) in line.iter().enumerate() {
                if b == self.delimiter {
                    self.bounds.push(i + 1);
                }
            }
            self.bounds.push(line.len() + 1);
            return Ok(true);
        }
    }

    #[inline]
    fn len(&self) -> usize {
        self.bounds.len() - 1
    }

    #[inline]
    fn field(&self, i: usize) -> &[u8] {
        &self.lines.line()[self.bounds[i]..self.bounds[i + 1] - 1]
    }

    fn at(&self) -> At<'a> {
        self.lines.at()
    }

    fn lines(&self) -> u64 {
        self.lines.number()
    }
}

/// CSV rows, through the `csv` crate: `"` quotes fields, `""` is a quote inside one. Fields keep a
/// trailing `\r` of a CRLF line; every use of a field trims it.
pub(crate) struct CsvRows<'a> {
    path: &'a Path,
    reader: csv::Reader<Box<dyn BufRead + 'a>>,
    progress: Progress<'a>,
    record: csv::ByteRecord,
    line: u64,
    first: bool,
}

impl<'a> CsvRows<'a> {
    /// Parses `source` as CSV with `delimiter` between fields.
    pub(crate) fn new(source: Source<'a>, delimiter: u8) -> CsvRows<'a> {
        let Source { path, reader, progress } = source;
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            // Only `\n` ends a record, so that the csv crate counts CRLF lines right; a `\r` left at
            // the end of the last field is trimmed with the other spaces when the field is parsed.
            .terminator(csv::Terminator::Any(b'\n'))
            .buffer_capacity(64 * 1024)
            .from_reader(reader);
        CsvRows { path, reader, progress, record: csv::ByteRecord::new(), line: 0, first: true }
    }
}

impl<'a> Rows<'a> for CsvRows<'a> {
    fn advance(&mut self) -> Result<bool, ImportError> {
        loop {
            self.progress.check()?;
            let next_line = self.reader.position().line();
            let more = self.reader.read_byte_record(&mut self.record).map_err(|e| {
                let at = At { path: self.path, line: Some(e.position().map_or(next_line, |p| p.line())) };
                match e.into_kind() {
                    csv::ErrorKind::Io(e) => at.io(format!("cannot read the file: {e}")),
                    other => at.parse(format!("malformed CSV: {other:?}")),
                }
            })?;
            if !more {
                // The reader's line is one past the last line when the file ends with a line break.
                self.line = self.line.max(self.reader.position().line().saturating_sub(1));
                self.progress.finish();
                return Ok(false);
            }
            self.line = self.record.position().map_or(self.line + 1, |p| p.line());
            if std::mem::take(&mut self.first) && self.record.get(0).is_some_and(|f| f.starts_with(BOM)) {
                let fixed: csv::ByteRecord = self
                    .record
                    .iter()
                    .enumerate()
                    .map(|(i, f)| if i == 0 { &f[BOM.len()..] } else { f })
                    .collect();
                self.record = fixed;
            }
            if self.record.iter().all(|f| f.trim_ascii().is_empty()) {
                continue;
            }
            return Ok(true);
        }
    }

    #[inline]
    fn len(&self) -> usize {
        self.record.len()
    }

    #[inline]
    fn field(&self, i: usize) -> &[u8] {
        self.record.get(i).unwrap_or_default()
    }

    fn at(&self) -> At<'a> {
        At { path: self.path, line: Some(self.line) }
    }

    fn lines(&self) -> u64 {
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect<'a>(rows: &mut dyn Rows<'a>) -> Vec<(u64, Vec<String>)> {
        let mut out = Vec::new();
        while rows.advance().unwrap() {
            let fields =
                (0..rows.len()).map(|i| String::from_utf8_lossy(rows.field(i)).into_owned()).collect();
            out.push((rows.at().line.unwrap(), fields));
        }
        out
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn split_rows_keep_empty_fields_and_skip_blank_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tsv");
        std::fs::write(&path, "a\tb\t\n\n  \n\tc\r\n").unwrap();
        let mut cb = |_, _| true;
        let mut rows = SplitRows::new(Source::open(&path, None, &mut cb).unwrap(), b'\t');
        let got = collect(&mut rows);
        assert_eq!(got, vec![(1, strings(&["a", "b", ""])), (4, strings(&["", "c"]))]);
        assert_eq!(rows.lines(), 4);
    }

    #[test]
    fn csv_rows_unquote_and_number_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        std::fs::write(
            &path,
            "\u{feff}id,title\r\n1,\"Toy Story, The \"\"1995\"\"\"\r\n\r\n2,\"two\nlines\"\n3,x\n",
        )
        .unwrap();
        let mut cb = |_, _| true;
        let mut rows = CsvRows::new(Source::open(&path, None, &mut cb).unwrap(), b',');
        let got = collect(&mut rows);
        assert_eq!(
            got,
            vec![
                (1, strings(&["id", "title\r"])),
                (2, strings(&["1", "Toy Story, The \"1995\"\r"])),
                (4, strings(&["2", "two\nlines"])),
                (6, strings(&["3", "x"])),
            ]
        );
        assert_eq!(rows.lines(), 6);
    }
}
