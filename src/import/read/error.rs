//! Import errors: which file, which line, what was wrong.

use std::path::{Path, PathBuf};

/// What kind of failure an import hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportErrorKind {
    /// The file could not be opened, read or decompressed.
    Io,
    /// A line of the file is malformed.
    Parse,
    /// The format or an option is unknown or invalid.
    Option,
    /// The progress callback asked to stop.
    Cancelled,
}

/// An import failure, shown as `'ratings.tsv', line 12: expected a number in column 'Rating', found 'x'`
/// (the line is left out when the error is not about one line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{}'{}: {message}", path.display(), line_part(line))]
pub struct ImportError {
    /// The file, as given.
    pub path: PathBuf,
    /// The 1-based line, when the error is about a line.
    pub line: Option<u64>,
    /// What kind of failure.
    pub kind: ImportErrorKind,
    /// What was wrong.
    pub message: String,
    /// The option (or `format`) the error is about, when it is about one.
    pub option: Option<String>,
}

fn line_part(line: &Option<u64>) -> String {
    line.map(|l| format!(", line {l}")).unwrap_or_default()
}

impl ImportError {
    /// An error of `kind` about `path`, at `line` when there is one.
    pub fn new(path: &Path, line: Option<u64>, kind: ImportErrorKind, message: impl Into<String>) -> Self {
        ImportError { path: path.to_path_buf(), line, kind, message: message.into(), option: None }
    }

    /// The same error, marked as being about option `name` (so that the statement can point at it).
    pub fn about_option(mut self, name: &str) -> Self {
        self.option = Some(name.to_string());
        self
    }
}

/// Where an error points: the file, and the line when there is one. Cheap to copy into every line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct At<'p> {
    pub(crate) path: &'p Path,
    pub(crate) line: Option<u64>,
}

impl At<'_> {
    /// A parse error at this place.
    pub(crate) fn parse(&self, message: impl Into<String>) -> ImportError {
        ImportError::new(self.path, self.line, ImportErrorKind::Parse, message)
    }

    /// An option error at this place.
    pub(crate) fn option(&self, message: impl Into<String>) -> ImportError {
        ImportError::new(self.path, self.line, ImportErrorKind::Option, message)
    }

    /// A parse error for `field`, found in `what`, that is not UTF-8: it names the first byte that is
    /// not, the text before it, and the option that reads other encodings.
    pub(crate) fn not_utf8(&self, what: &str, field: &[u8]) -> ImportError {
        let valid = std::str::from_utf8(field).err().map_or(field.len(), |e| e.valid_up_to());
        let byte = field.get(valid).map_or_else(String::new, |b| format!(": byte 0x{b:02X}"));
        // The valid prefix is UTF-8 by construction; its last 20 characters say where the byte is.
        let before = String::from_utf8_lossy(&field[..valid]);
        let chars = before.chars().count();
        let tail: String = before.chars().skip(chars.saturating_sub(20)).collect();
        let place = if tail.is_empty() { " at its start".to_string() } else { format!(" after '{tail}'") };
        self.parse(format!(
            "invalid UTF-8 in {what}{byte}{place}; if the file is Latin-1 or Windows-1252, add encoding = 'latin1'"
        ))
    }

    /// An I/O error at this place.
    pub(crate) fn io(&self, message: impl Into<String>) -> ImportError {
        ImportError::new(self.path, self.line, ImportErrorKind::Io, message)
    }
}

/// A field as it appears in an error message: lossy text, cut to 60 characters.
pub(crate) fn show(field: &[u8]) -> String {
    let text = String::from_utf8_lossy(field);
    let mut out: String = text.chars().take(60).collect();
    if text.chars().count() > 60 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_and_line() {
        let e = ImportError::new(
            Path::new("ratings.tsv"),
            Some(12),
            ImportErrorKind::Parse,
            "expected a number in column 'Rating', found 'x'",
        );
        assert_eq!(e.to_string(), "'ratings.tsv', line 12: expected a number in column 'Rating', found 'x'");
        let e = ImportError::new(Path::new("a/b.csv"), None, ImportErrorKind::Io, "cannot open");
        assert_eq!(e.to_string(), "'a/b.csv': cannot open");
    }

    #[test]
    fn not_utf8_names_the_byte_what_precedes_it_and_the_option() {
        let at = At { path: Path::new("movies.tsv"), line: Some(7) };
        let e = at.not_utf8("column 'title'", b"Les Mis\xe9rables");
        assert_eq!(e.kind, ImportErrorKind::Parse);
        assert_eq!(
            e.to_string(),
            "'movies.tsv', line 7: invalid UTF-8 in column 'title': byte 0xE9 after 'Les Mis'; if the file is \
             Latin-1 or Windows-1252, add encoding = 'latin1'"
        );
        let e = at.not_utf8("the key", b"\xff1");
        assert!(e.message.starts_with("invalid UTF-8 in the key: byte 0xFF at its start;"), "{}", e.message);
        let long = b"a very long title that goes on and \xc3\xa9\xe9";
        let e = at.not_utf8("x", long);
        assert!(e.message.contains("after 'e that goes on and é';"), "the last 20 characters: {}", e.message);
    }

    #[test]
    fn show_cuts_long_fields_and_replaces_bad_bytes() {
        assert_eq!(show(b"ab\xffc"), "ab\u{fffd}c");
        assert_eq!(show(&[b'x'; 70]).chars().count(), 61);
    }
}
