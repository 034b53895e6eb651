//! `recodb --check DB`: checks a database's integrity on a private read-only copy and reports what it
//! counted and every problem found. Exit status 0 when sound, 1 when damaged, 2 when it cannot be checked.

use std::path::Path;
use std::process::ExitCode;

use recodb::{Database, Error, ErrorKind, IntegrityReport};

/// Exit status of a damaged database.
const DAMAGED: u8 = 1;
/// Exit status of a database that could not be opened or read for another reason than damage.
const UNCHECKED: u8 = 2;

/// Checks the database at `path`, prints the report on standard output (errors on standard error) and
/// returns the exit status.
pub fn run(path: &Path) -> ExitCode {
    if !path.is_dir() {
        eprintln!("error: '{}' is not a database directory", path.display());
        return ExitCode::from(UNCHECKED);
    }
    let db = match Database::open_read_only(path) {
        Ok(db) => db,
        Err(e) => return failed(&e, path, None),
    };
    // Problems name files in the private copy; show them under the path the user gave.
    let copy = db.store().path().map(Path::to_path_buf);
    let in_original = |message: &str| match &copy {
        Some(copy) => message.replace(&copy.display().to_string(), &path.display().to_string()),
        None => message.to_string(),
    };
    match db.inspect_integrity() {
        Ok(check) => {
            println!("checked {}: {}", path.display(), counts(&check.counted));
            if check.problems.is_empty() {
                println!("clean");
                return ExitCode::SUCCESS;
            }
            println!("damaged: {} problem(s)", check.problems.len());
            for problem in &check.problems {
                println!("  {}", in_original(problem));
            }
            ExitCode::from(DAMAGED)
        }
        Err(e) => failed(&e, path, Some(&in_original(&e.to_string()))),
    }
}

/// Reports an error that stopped the check: damage (status 1) when the data could not be decoded,
/// otherwise status 2. `message` overrides the error's own text.
fn failed(error: &Error, path: &Path, message: Option<&str>) -> ExitCode {
    let text = message.map_or_else(|| error.to_string(), str::to_string);
    if matches!(error.kind(), ErrorKind::Corrupt(_)) {
        println!("checked {}: stopped at unreadable data", path.display());
        println!("damaged: {text}");
        ExitCode::from(DAMAGED)
    } else {
        eprintln!("error: cannot check '{}': {text}", path.display());
        ExitCode::from(UNCHECKED)
    }
}

/// What the check counted, as one line.
fn counts(r: &IntegrityReport) -> String {
    format!(
        "{} users, {} items, {} interactions ({} held out), {} tags, {} blobs",
        r.users, r.items, r.interactions, r.holdout, r.tags, r.blobs
    )
}
