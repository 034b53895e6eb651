//! The shell's own commands (dot-commands such as `.mode csv`, and `\q`), in the shell, in `-c`/`-f`
//! scripts, piped input and `.read` alike.

use std::path::Path;

use recodb::Database;

use crate::help;
use crate::render::Format;
use crate::run::{Flow, Session};

/// The dot-commands, for completion.
pub const NAMES: &[&str] = &[
    ".exit", ".headers", ".help", ".mode", ".once", ".open", ".output", ".quit", ".read", ".show", ".timer",
];

/// How deep `.read` scripts may nest (a script that reads itself stops here).
const MAX_DEPTH: usize = 16;

/// Runs one shell command line (trimmed). Errors are printed and return [`Flow::Failed`].
pub fn run(session: &mut Session, line: &str) -> Flow {
    match command(session, line) {
        Ok(flow) => flow,
        Err(message) => {
            eprintln!("error: {message}");
            Flow::Failed
        }
    }
}

fn command(session: &mut Session, line: &str) -> Result<Flow, String> {
    let (name, argument) = match line.split_once(char::is_whitespace) {
        Some((name, rest)) => (name, Some(rest.trim()).filter(|r| !r.is_empty())),
        None => (line, None),
    };
    match (name, argument) {
        (".quit" | ".exit" | "\\q", None) => return Ok(Flow::Quit),
        (".help", None) => println!("{}", help::overview()),
        (".help", Some(topic)) => {
            println!("{}", help::statement(topic)?);
            if topic.eq_ignore_ascii_case("train") {
                println!("\nThe algorithms and their parameters:");
                return Ok(session.run_statements("SHOW ALGORITHMS;", 1));
            }
        }
        (".timer", Some(value)) => session.timer = on_off(".timer", value)?,
        (".headers", Some(value)) => session.headers = on_off(".headers", value)?,
        (".mode", None) => println!("{}", session.format),
        (".mode", Some(name)) => session.format = name.parse::<Format>()?,
        (".output", path) => session.set_output(path.map(Path::new))?,
        (".once", Some(path)) => session.set_once(Path::new(path))?,
        (".read", Some(path)) => return read(session, path),
        (".open", Some(path)) => open(session, path)?,
        (".show", None) => show(session),
        _ => {
            let known = NAMES.contains(&name);
            return Err(if known {
                format!("wrong arguments for {name}: '{line}'; type .help")
            } else {
                format!("unknown command '{line}'; type .help")
            });
        }
    }
    Ok(Flow::Continue)
}

fn on_off(command: &str, value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(format!("{command} takes on or off, not '{other}'")),
    }
}

/// `.read FILE`: runs a script inside this one; `.quit` in it ends the shell too.
fn read(session: &mut Session, path: &str) -> Result<Flow, String> {
    if session.depth >= MAX_DEPTH {
        return Err(format!(".read nests more than {MAX_DEPTH} scripts deep (does '{path}' read itself?)"));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read '{path}': {e}"))?;
    session.depth += 1;
    let flow = session.run_script(&text);
    session.depth -= 1;
    Ok(flow)
}

/// `.open PATH` (or `.open --read-only PATH`): switches to another database; the current one stays
/// open if that fails.
fn open(session: &mut Session, argument: &str) -> Result<(), String> {
    let (read_only, path) = match argument.strip_prefix("--read-only") {
        Some(rest) if rest.starts_with(char::is_whitespace) => (true, rest.trim()),
        _ => (false, argument),
    };
    let opened = if read_only { Database::open_read_only(path) } else { Database::open(path) };
    session.db = opened.map_err(|e| crate::describe_open_error(&e, Path::new(path)))?;
    Ok(())
}

/// `.show`: the current settings, one per line.
fn show(session: &Session) {
    let place = session.db.store().path().map_or(":memory:".to_string(), |p| p.display().to_string());
    let read_only = if session.db.is_read_only() { " (read-only copy)" } else { "" };
    let on = |b: bool| if b { "on" } else { "off" };
    println!("    mode: {}", session.format);
    println!(" headers: {}", on(session.headers));
    println!("   timer: {}", on(session.timer));
    println!("  output: {}", session.output_name());
    println!("database: {place}{read_only}");
}
