//! Running statements for the shell: parse, execute with a progress bar and Ctrl-C cancellation, print.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use recodb::{Database, Error, Progress};

use crate::progress::StatementBar;
use crate::render::{error_json, notice_text, render, Format};
use crate::script::{pieces, Piece};

/// The shell's state: the database, output settings, and the Ctrl-C flag.
pub struct Session {
    /// The open database.
    pub db: Database,
    /// How results are printed.
    pub format: Format,
    /// Whether csv and tsv output start with a header row.
    pub headers: bool,
    /// Whether each statement's time is printed.
    pub timer: bool,
    /// Where results go: standard output, or a file chosen by `.output`.
    output: Option<(PathBuf, File)>,
    /// The file for the next result only (`.once`).
    once: Option<File>,
    /// How many `.read` scripts are running inside one another.
    pub(crate) depth: usize,
    cancel: Arc<AtomicBool>,
}

/// What running a script, statement or shell command leaves the shell to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on.
    Continue,
    /// Leave the shell (`.quit`).
    Quit,
    /// Something failed (the error is printed): a script stops here.
    Failed,
}

/// Draws a bar on the first progress report of a statement and reports Ctrl-C as a cancel.
struct BarProgress {
    bar: Mutex<Option<StatementBar>>,
    cancel: Arc<AtomicBool>,
}

impl Progress for BarProgress {
    fn update(&self, phase: &str, done: u64, total: u64) -> bool {
        let mut bar = self.bar.lock();
        let bar = bar.get_or_insert_with(|| StatementBar::new(phase, Arc::clone(&self.cancel)));
        bar.update(phase, done, total)
    }
}

impl Session {
    /// A session over `db`. Installs a Ctrl-C handler that cancels the running statement.
    pub fn new(db: Database, format: Format, timer: bool) -> Session {
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&cancel);
        // Without a handler (e.g. one is already installed) Ctrl-C simply ends the process.
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
        Session { db, format, headers: true, timer, output: None, once: None, depth: 0, cancel }
    }

    /// Runs a script of statements and shell commands (dot-commands on lines of their own), printing
    /// each result. Stops at the first error (printed with the spot underlined, or as a JSON object in
    /// JSON mode) with [`Flow::Failed`], or at `.quit`; what ran before stays applied.
    pub fn run_script(&mut self, text: &str) -> Flow {
        for piece in pieces(text) {
            let flow = match piece {
                Piece::Statements { text, first_line } => self.run_statements(text, first_line),
                Piece::Command(line) => crate::commands::run(self, line),
            };
            if flow != Flow::Continue {
                return flow;
            }
        }
        Flow::Continue
    }

    /// Parses and runs statements that start on line `first_line` of what the user wrote (so that
    /// errors name the right line), printing each result; stops at the first error.
    pub fn run_statements(&mut self, text: &str, first_line: usize) -> Flow {
        let padded;
        let text = if first_line > 1 {
            padded = format!("{}{text}", "\n".repeat(first_line - 1));
            padded.as_str()
        } else {
            text
        };
        let statements = match recodb::query::parse_script(text) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{}", self.describe_error(&Error::from(e), text));
                return Flow::Failed;
            }
        };
        for statement in &statements {
            self.cancel.store(false, Ordering::Relaxed);
            let progress = BarProgress { bar: Mutex::new(None), cancel: Arc::clone(&self.cancel) };
            let started = Instant::now();
            let result = self.db.run(statement, &[], &progress);
            drop(progress);
            match result {
                Ok(set) => {
                    let elapsed = started.elapsed();
                    if let Err(e) = self.write(&render(&set, self.format, self.headers)) {
                        eprintln!("error: {e}");
                        return Flow::Failed;
                    }
                    for notice in set.notices() {
                        eprintln!("{}", notice_text(notice, self.format));
                    }
                    if self.timer {
                        eprintln!("time: {:.6} s", elapsed.as_secs_f64());
                    }
                }
                Err(e) => {
                    eprintln!("{}", self.describe_error(&e, text));
                    return Flow::Failed;
                }
            }
        }
        Flow::Continue
    }

    /// Writes a result where `.once` or `.output` sent it, else to standard output.
    fn write(&mut self, text: &str) -> Result<(), String> {
        let written = match (self.once.take(), &mut self.output) {
            (Some(mut file), _) => file.write_all(text.as_bytes()).and_then(|()| file.flush()),
            (None, Some((path, file))) => {
                file.write_all(text.as_bytes()).and_then(|()| file.flush()).map_err(|e| {
                    std::io::Error::new(e.kind(), format!("cannot write to '{}': {e}", path.display()))
                })
            }
            (None, None) => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes()).and_then(|()| out.flush())
            }
        };
        written.map_err(|e| e.to_string())
    }

    /// Sends results to `path` (created or truncated) from now on, or back to standard output.
    pub fn set_output(&mut self, path: Option<&Path>) -> Result<(), String> {
        self.output = match path {
            Some(path) => Some((path.to_path_buf(), create(path)?)),
            None => None,
        };
        Ok(())
    }

    /// Sends the next result only to `path` (created or truncated).
    pub fn set_once(&mut self, path: &Path) -> Result<(), String> {
        self.once = Some(create(path)?);
        Ok(())
    }

    /// Where results go, for `.show`.
    pub fn output_name(&self) -> String {
        self.output.as_ref().map_or("stdout".to_string(), |(path, _)| path.display().to_string())
    }
}

/// Creates (or truncates) a file for results.
fn create(path: &Path) -> Result<File, String> {
    File::create(path).map_err(|e| format!("cannot write to '{}': {e}", path.display()))
}

impl Session {
    /// An error as the output format wants it: a JSON object in JSON mode, else for people.
    fn describe_error(&self, error: &Error, source: &str) -> String {
        match self.format {
            Format::Json => error_json(error),
            _ => describe_error(error, source),
        }
    }
}

/// An error for people: `error: line L, column C: message`, then the line of `source` (the text that
/// was run) with the spot underlined, for syntax errors and execution errors alike; just the message
/// for an error that points nowhere.
pub fn describe_error(error: &Error, source: &str) -> String {
    match error.span() {
        Some(_) => format!("error: {error}\n{}", error.render(source)),
        None => format!("error: {error}"),
    }
}
