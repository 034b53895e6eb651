//! `recodb`: the recodb shell. Opens (or creates) a database and reads statements interactively, from
//! `-c`, from `-f FILE`, or from piped standard input.

mod check;
mod commands;
mod demo;
mod help;
mod progress;
mod render;
mod run;
mod script;
mod shell;

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use recodb::{Database, Error, ErrorKind, OpenError};

use render::Format;
use run::{Flow, Session};

/// The recodb shell: an embedded recommendation database.
///
/// Without a path, the database is temporary and lives in memory. With -c or -f, or with statements
/// piped on standard input, recodb runs them (and any dot-commands on lines of their own) and exits
/// (status 1 on the first error); otherwise it starts an interactive shell (type .help). With --check, it
/// checks the database's integrity and exits (status 0 when sound, 1 when damaged, 2 when it cannot
/// be checked).
#[derive(Debug, Parser)]
#[command(name = "recodb", version, about, long_about = None)]
struct Args {
    /// The database directory (created if absent). Omit for a temporary in-memory database.
    db_path: Option<PathBuf>,
    /// Run these statements and exit.
    #[arg(short = 'c', long = "command", value_name = "STATEMENTS", conflicts_with = "file")]
    command: Option<String>,
    /// Run the statements in FILE and exit.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Option<PathBuf>,
    /// How results are printed.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Print how long each statement took.
    #[arg(long)]
    timer: bool,
    /// Open a private read-only copy of the database, e.g. to watch one that another process has open
    /// (a database has one writer at a time). Statements that would change it are refused.
    #[arg(long, requires = "db_path")]
    read_only: bool,
    /// Check the integrity of the database and exit: prints what was checked and every problem, naming
    /// the damaged structure and key or blob file; status 0 when sound, 1 when damaged, 2 when the
    /// database cannot be opened. Reads a private copy, so the database is left as it is.
    #[arg(long, requires = "db_path", conflicts_with_all = ["command", "file", "read_only", "demo"])]
    check: bool,
    /// Build a demo database from the built-in synthetic data set and show what recodb does.
    #[arg(long, conflicts_with_all = ["command", "file"])]
    demo: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let (true, Some(path)) = (args.check, &args.db_path) {
        return check::run(path);
    }
    let db = match &args.db_path {
        Some(path) if args.read_only => Database::open_read_only(path),
        Some(path) => Database::open(path),
        None => Database::open_temporary(),
    };
    let db = match db {
        Ok(db) => db,
        Err(e) => {
            let path = args.db_path.as_deref().unwrap_or(Path::new(":memory:"));
            eprintln!("error: {}", describe_open_error(&e, path));
            return ExitCode::FAILURE;
        }
    };
    let mut session = Session::new(db, args.format, args.timer);
    if args.demo {
        return demo::run(&mut session);
    }
    let script = if let Some(text) = args.command {
        Some(text)
    } else if let Some(file) = &args.file {
        match std::fs::read_to_string(file) {
            Ok(text) => Some(text),
            Err(e) => {
                eprintln!("error: cannot read '{}': {e}", file.display());
                return ExitCode::FAILURE;
            }
        }
    } else if !std::io::stdin().is_terminal() {
        let mut text = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut text) {
            eprintln!("error: cannot read standard input: {e}");
            return ExitCode::FAILURE;
        }
        Some(text)
    } else {
        None
    };
    match script {
        Some(text) => match session.run_script(&text) {
            Flow::Continue | Flow::Quit => ExitCode::SUCCESS,
            Flow::Failed => ExitCode::FAILURE,
        },
        None => shell::interactive(&mut session),
    }
}

/// Why a database did not open, with the way out when another process holds it.
pub fn describe_open_error(error: &Error, path: &Path) -> String {
    match error.kind() {
        ErrorKind::Open(OpenError::Locked { .. }) => format!(
            "{error}; a database has one writer at a time: to read it meanwhile, open a copy with \
             `recodb --read-only {}` (or .open --read-only)",
            path.display()
        ),
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_valid() {
        super::Args::command().debug_assert();
    }
}
