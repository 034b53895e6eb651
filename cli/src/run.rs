//! Running statements for the shell: parse, execute with a progress bar and Ctrl-C cancellation, print.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use recodb::{Database, Error, Progress};

use crate::progress::StatementBar;
use crate::render::{render, Format};

/// The shell's state: the database, output settings, and the Ctrl-C flag.
pub struct Session {
    /// The open database.
    pub db: Database,
    /// How results are printed.
    pub format: Format,
    /// Whether each statement's time is printed.
    pub timer: bool,
    cancel: Arc<AtomicBool>,
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
        Session { db, format, timer, cancel }
    }

    /// Parses and runs a script, printing each result; on the first error prints it (with the spot
    /// underlined) and returns false. Statements before the error stay applied.
    pub fn run_script(&mut self, text: &str) -> bool {
        let statements = match recodb::query::parse_script(text) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{}", describe_error(&Error::Parse(e), text, 0));
                return false;
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
                    print!("{}", render(&set, self.format));
                    if self.timer {
                        eprintln!("time: {:.3} s", started.elapsed().as_secs_f64());
                    }
                }
                Err(e) => {
                    eprintln!("{}", describe_error(&e, text, statement.span.start.offset));
                    return false;
                }
            }
        }
        true
    }
}

/// An error for people: parse errors with the source line and a caret; execution errors with the
/// position of the statement that failed.
pub fn describe_error(error: &Error, source: &str, statement_offset: usize) -> String {
    match error {
        Error::Parse(e) => format!("error: {e}\n{}", e.render(source)),
        other => {
            let (line, column) = line_column(source, statement_offset);
            if source.lines().nth(1).is_some() {
                format!("error in the statement at line {line}, column {column}: {other}")
            } else {
                format!("error: {other}")
            }
        }
    }
}

fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
