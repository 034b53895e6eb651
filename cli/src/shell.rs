//! The interactive shell: multi-line statements until `;` with a continuation prompt, persistent
//! history, completion that knows where it is, dot-commands, psql's `exit`/`quit`/`help`/`\q`, and
//! Ctrl-C that cancels the running statement (or clears the lines typed so far).

use std::borrow::Cow;
use std::path::PathBuf;
use std::process::ExitCode;

use recodb::query::{completeness, Completeness};
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};

use crate::commands;
use crate::help;
use crate::run::{Flow, Session};
use crate::script::is_command;

/// The prompt for a new statement.
const PROMPT: &str = "recodb> ";
/// The prompt while a statement waits for its `;`.
const CONTINUE: &str = "   ...> ";

/// The nouns that follow SHOW.
const SHOW_NOUNS: &[&str] =
    &["ALGORITHMS", "INTERACTIONS", "ITEMS", "JOBS", "MODELS", "STATS", "TAGS", "USERS"];

/// Line editing help: completion that knows where it is (algorithms after TRAIN, models after USING
/// and MODEL, nouns after SHOW, dot-commands at the start of a line, file paths inside quotes).
struct ShellHelper {
    /// The database's model names, refreshed after every statement.
    models: Vec<String>,
    /// The algorithms TRAIN knows.
    algorithms: Vec<String>,
    files: FilenameCompleter,
}

/// One column of a listing statement's result (empty if it cannot be listed), without repeats.
fn names(session: &Session, statement: &str, column: &str) -> Vec<String> {
    let mut names = session
        .db
        .query(statement, &[])
        .ok()
        .and_then(|set| set.column::<String>(column).ok())
        .unwrap_or_default();
    names.dedup();
    names
}

/// What may come at the cursor, judged from the word before it.
enum Slot {
    Algorithm,
    Model,
    ShowNoun,
    Anything,
}

fn slot(before: &str) -> Slot {
    let mut words = before.split_whitespace().rev();
    let last = words.next().unwrap_or("").to_ascii_uppercase();
    match last.as_str() {
        "TRAIN" => Slot::Algorithm,
        "USING" | "MODEL" | "EVALUATE" | "RECOMMENDATIONS" | "CODES" => Slot::Model,
        "SHOW" => Slot::ShowNoun,
        _ => Slot::Anything,
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        if completeness(&line[..pos]) == Completeness::Unterminated("'") {
            return self.files.complete(line, pos, ctx);
        }
        let start = line[..pos]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .map_or(0, |i| i + 1);
        let word = &line[start..pos];
        let matches = |k: &str| {
            k.len() >= word.len()
                && k.is_char_boundary(word.len())
                && k[..word.len()].eq_ignore_ascii_case(word)
        };
        let pairs =
            |texts: Vec<String>| texts.into_iter().map(|t| Pair { display: t.clone(), replacement: t });
        if start == 0 && word.starts_with('.') {
            let found =
                commands::NAMES.iter().filter(|n| n.starts_with(word)).map(|n| n.to_string()).collect();
            return Ok((start, pairs(found).collect()));
        }
        let lower = word.chars().all(|c| !c.is_ascii_uppercase());
        let in_case = |k: &str| if lower { k.to_ascii_lowercase() } else { k.to_string() };
        let as_stored = |names: &[String]| names.iter().filter(|m| matches(m)).cloned().collect::<Vec<_>>();
        let found: Vec<String> = match slot(&line[..start]) {
            Slot::Algorithm => as_stored(&self.algorithms),
            Slot::Model => as_stored(&self.models),
            Slot::ShowNoun => SHOW_NOUNS.iter().filter(|k| matches(k)).map(|k| in_case(k)).collect(),
            Slot::Anything if word.is_empty() => Vec::new(),
            Slot::Anything => recodb::query::KEYWORDS
                .iter()
                .filter(|k| matches(k))
                .map(|k| in_case(k))
                .chain(as_stored(&self.models))
                .collect(),
        };
        Ok((start, pairs(found).collect()))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

impl Validator for ShellHelper {}

impl Helper for ShellHelper {}

/// Where history is kept: `$RECODB_HISTORY`, else `~/.recodb_history`.
fn history_path() -> Option<PathBuf> {
    std::env::var_os("RECODB_HISTORY")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".recodb_history")))
}

/// The prompt for the next line, given the lines typed so far of an unfinished statement: `recodb> `
/// for a new statement, `   ...> ` while it waits for its `;`, `   '> ` (or `"`, `/*`) inside an open
/// string, quoted identifier or comment, as psql shows it.
fn prompt(pending: &str) -> Cow<'static, str> {
    if pending.trim().is_empty() {
        return Cow::Borrowed(PROMPT);
    }
    match completeness(pending) {
        Completeness::Unterminated(open) => Cow::Owned(format!("{open:>6}> ")),
        _ => Cow::Borrowed(CONTINUE),
    }
}

/// A word that psql takes as a command when it is alone on a line: `exit`, `quit`, `help` (a `;`
/// after it is allowed).
fn lone_word(line: &str) -> Option<String> {
    let word = line.trim().trim_end_matches(';').trim_end().to_ascii_lowercase();
    matches!(word.as_str(), "exit" | "quit" | "help").then_some(word)
}

/// Runs the interactive loop until `.quit` (or `exit`, `quit`, `\q`) or end of input.
pub fn interactive(session: &mut Session) -> ExitCode {
    let mut editor: Editor<ShellHelper, DefaultHistory> = match Editor::new() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot start the line editor: {e}");
            return ExitCode::FAILURE;
        }
    };
    editor.set_helper(Some(ShellHelper {
        models: names(session, "SHOW MODELS", "name"),
        algorithms: names(session, "SHOW ALGORITHMS", "algorithm"),
        files: FilenameCompleter::new(),
    }));
    let history = history_path();
    if let Some(path) = &history {
        // A missing history file is normal on first use.
        let _ = editor.load_history(path);
    }
    let place = session.db.store().path().map_or(":memory:".to_string(), |p| p.display().to_string());
    println!("recodb {} on {place}. Type .help for help.", env!("CARGO_PKG_VERSION"));
    // The lines of a statement still waiting for its `;`.
    let mut pending = String::new();
    loop {
        let line = match editor.readline(prompt(&pending).as_ref()) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                pending.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("error: {e}");
                break;
            }
        };
        let starts_statement = pending.trim().is_empty();
        let in_quote = matches!(completeness(&pending), Completeness::Unterminated(_));
        if starts_statement && line.trim().is_empty() {
            continue;
        }
        if (starts_statement && is_command(line.trim())) || (!in_quote && line.trim() == "\\q") {
            let _ = editor.add_history_entry(line.trim());
            if commands::run(session, line.trim()) == Flow::Quit {
                break;
            }
        } else if let Some(word) = lone_word(&line).filter(|_| !in_quote) {
            if !starts_statement {
                eprintln!("note: a statement is still open (it waits for ';'); Ctrl-C clears it, \\q leaves");
                continue;
            }
            if word == "help" {
                println!("{}", help::overview());
            } else {
                break;
            }
        } else {
            pending.push_str(&line);
            pending.push('\n');
            if completeness(&pending) != Completeness::Complete {
                continue;
            }
            let _ = editor.add_history_entry(pending.trim_end());
            session.run_statements(&pending, 1);
            pending.clear();
        }
        if let Some(helper) = editor.helper_mut() {
            helper.models = names(session, "SHOW MODELS", "name");
        }
    }
    let running = session.db.query("SHOW JOBS", &[]).map_or(0, |jobs| {
        jobs.column::<String>("state").unwrap_or_default().iter().filter(|s| *s == "running").count()
    });
    if running > 0 {
        eprintln!("note: cancelling {running} background job(s) still running; they publish nothing");
    }
    if let Some(path) = &history {
        if let Err(e) = editor.save_history(path) {
            eprintln!("warning: cannot save history to '{}': {e}", path.display());
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(line: &str) -> (usize, Vec<String>) {
        let history = DefaultHistory::new();
        let ctx = Context::new(&history);
        let helper = ShellHelper {
            models: vec!["taste".into(), "Tall".into()],
            algorithms: vec!["bpr".into(), "dsiml".into(), "ease".into()],
            files: FilenameCompleter::new(),
        };
        let (start, pairs) = helper.complete(line, line.len(), &ctx).expect("completion");
        (start, pairs.into_iter().map(|p| p.replacement).collect())
    }

    #[test]
    fn keywords_complete_in_the_case_typed() {
        assert_eq!(complete("RECO"), (0, vec!["RECOMMEND".to_string(), "RECOMMENDATIONS".to_string()]));
        assert_eq!(complete("describe use"), (9, vec!["user".to_string(), "users".to_string()]));
        assert_eq!(complete("DESCRIBE "), (9, vec![]));
        let (_, many) = complete("S");
        assert!(many.contains(&"SHOW".to_string()) && many.contains(&"SIMILAR".to_string()), "{many:?}");
    }

    #[test]
    fn model_names_complete_as_stored_where_a_model_goes() {
        assert_eq!(complete("RECOMMEND user 1 TOP 5 USING ta"), (29, vec!["taste".into(), "Tall".into()]));
        assert_eq!(complete("DESCRIBE MODEL Ta"), (15, vec!["taste".into(), "Tall".into()]));
        assert_eq!(complete("EVALUATE "), (9, vec!["taste".into(), "Tall".into()]));
        let (_, elsewhere) = complete("DESCRIBE ta");
        assert_eq!(elsewhere, ["tag", "tags", "taste", "Tall"], "keywords and models where either fits");
    }

    #[test]
    fn algorithms_nouns_and_dot_commands_complete_in_their_place() {
        assert_eq!(complete("TRAIN "), (6, vec!["bpr".into(), "dsiml".into(), "ease".into()]));
        assert_eq!(complete("train e"), (6, vec!["ease".into()]));
        assert_eq!(complete("SHOW MO"), (5, vec!["MODELS".into()]));
        assert_eq!(complete("show "), (5, SHOW_NOUNS.iter().map(|n| n.to_ascii_lowercase()).collect()));
        assert_eq!(complete(".o"), (0, vec![".once".into(), ".open".into(), ".output".into()]));
    }

    #[test]
    fn file_paths_complete_inside_quotes() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ratings.dat"), "1::2::5::0\n").expect("write");
        let typed = format!("IMPORT INTERACTIONS FROM '{}/rat", dir.path().display());
        let (start, found) = complete(&typed);
        assert_eq!(start, "IMPORT INTERACTIONS FROM '".len(), "the path is replaced whole");
        assert_eq!(found, [format!("{}/ratings.dat", dir.path().display())]);
    }

    #[test]
    fn prompts_show_what_the_statement_waits_for() {
        assert_eq!(prompt(""), PROMPT);
        assert_eq!(prompt("SHOW\n"), CONTINUE);
        assert_eq!(prompt("IMPORT INTERACTIONS FROM 'data\n"), "     '> ");
        assert_eq!(prompt("SHOW USERS; /* a\n"), "    /*> ");
    }

    #[test]
    fn exit_quit_and_help_are_words_alone_on_a_line() {
        assert_eq!(lone_word(" exit "), Some("exit".into()));
        assert_eq!(lone_word("QUIT;"), Some("quit".into()));
        assert_eq!(lone_word("help"), Some("help".into()));
        assert_eq!(lone_word("exit now"), None);
        assert_eq!(lone_word("SHOW USERS;"), None);
    }
}
