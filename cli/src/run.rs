//! Running statements for the shell: parse, execute with a progress bar and Ctrl-C cancellation, print.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use recodb::{Database, Error, Progress};

use crate::progress::StatementBar;
use crate::render::{error_json, render, Format};

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
    /// underlined, or as a JSON object in JSON mode) and returns false. Statements before the error stay
    /// applied.
    pub fn run_script(&mut self, text: &str) -> bool {
        let statements = match recodb::query::parse_script(text) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{}", self.describe_error(&Error::from(e), text));
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
                    eprintln!("{}", self.describe_error(&e, text));
                    return false;
                }
            }
        }
        true
    }
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
