//! The interactive shell: multi-line statements until `;`, persistent history, tab completion of
//! keywords, dot-commands, and Ctrl-C that cancels the running statement (or clears the line).

use std::path::PathBuf;
use std::process::ExitCode;

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Editor, Helper};

use crate::render::Format;
use crate::run::Session;

const HELP: &str = "\
Statements end with ';' and may span lines. Ctrl-C cancels a running statement or clears the line;
Ctrl-D or .quit leaves. Keywords and model names complete with Tab.

.help               show this help
.help TRAIN         the algorithms and their parameters (as SHOW ALGORITHMS)
.timer on|off       print how long each statement takes
.mode FORMAT        print results as table, csv, tsv or json
.read FILE          run the statements in FILE
.quit               leave the shell (also .exit)

Statements (see README.md for the whole language):
  ADD USER key [TAGS ('t', ...)]          ADD ITEM key [TAGS (...)]
  INSERT INTERACTION user key item key [WEIGHT w] [AT t]
  DELETE INTERACTION user key item key    DELETE USER key    DELETE ITEM key
  IMPORT INTERACTIONS|USERS|ITEMS FROM 'path' [FORMAT csv|tsv|movielens|lightgcn] [WITH (opt = v, ...)]
  SPLIT HOLDOUT fraction [SEED n]         SPLIT CLEAR
  SHOW USERS|ITEMS|TAGS|MODELS|JOBS|STATS|ALGORITHMS [LIMIT n]
  DESCRIBE USER key | ITEM key | MODEL name
  TRAIN algorithm [AS name] [WITH (param = v, ...)] [BACKGROUND]    DROP MODEL name
  SHOW JOBS    WAIT JOB id    CANCEL JOB id
  RECOMMEND user key TOP n [USING name] [RERANK m USING name] [WHERE filter] [INCLUDE SEEN]
    filter: TAG = 't' | TAG IN ('t', ...) | ITEM IN (key, ...) | NOT f | f AND f | f OR f | (f)
  SIMILAR item|user key TOP n [USING name] [WHERE filter]
  EXPLAIN RECOMMEND ... | EXPLAIN SIMILAR ...    (the Hamming engine's plan for a model with codes)
  EVALUATE name [RERANK m USING name] [AGAINST 'path' [FORMAT f]] [AT k, ...]
           [WITH (protocol = 'sampled', negatives = 100)]
  EXPORT RECOMMENDATIONS name TOP n TO 'path'    EXPORT CODES name USERS|ITEMS TO 'path'
  SET durability = 'full' | 'relaxed'";

/// Line editing help: completion of keywords and model names, and the validator that waits for a full
/// statement.
#[derive(Default)]
struct ShellHelper {
    /// The database's model names, refreshed after every statement.
    models: Vec<String>,
}

/// The names of the trained models (none if they cannot be listed).
fn model_names(session: &Session) -> Vec<String> {
    session
        .db
        .query("SHOW MODELS", &[])
        .ok()
        .and_then(|set| set.column::<String>("name").ok())
        .unwrap_or_default()
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let start =
            line[..pos].rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
        let word = &line[start..pos];
        if word.is_empty() {
            return Ok((pos, Vec::new()));
        }
        let lower = word.chars().all(|c| !c.is_ascii_uppercase());
        let matches = |k: &str| {
            k.len() >= word.len()
                && k.is_char_boundary(word.len())
                && k[..word.len()].eq_ignore_ascii_case(word)
        };
        let keywords = recodb::query::KEYWORDS.iter().filter(|k| matches(k)).map(|k| {
            if lower {
                k.to_ascii_lowercase()
            } else {
                k.to_string()
            }
        });
        let models = self.models.iter().filter(|m| matches(m)).cloned();
        let candidates =
            keywords.chain(models).map(|text| Pair { display: text.clone(), replacement: text }).collect();
        Ok((start, candidates))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

impl Validator for ShellHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        if input.trim_start().starts_with('.') || recodb::query::is_complete(input) {
            Ok(ValidationResult::Valid(None))
        } else {
            Ok(ValidationResult::Incomplete)
        }
    }
}

impl Helper for ShellHelper {}

/// Where history is kept: `$RECODB_HISTORY`, else `~/.recodb_history`.
fn history_path() -> Option<PathBuf> {
    std::env::var_os("RECODB_HISTORY")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".recodb_history")))
}

/// What a dot-command asks of the loop.
enum Next {
    Continue,
    Quit,
}

fn dot_command(session: &mut Session, line: &str) -> Next {
    let mut words = line.split_whitespace();
    let command = words.next().unwrap_or("");
    let argument = words.next();
    match (command, argument) {
        (".quit" | ".exit", _) => return Next::Quit,
        (".help", None) => println!("{HELP}"),
        (".help", Some(topic)) if topic.eq_ignore_ascii_case("train") => {
            session.run_script("SHOW ALGORITHMS;");
        }
        (".timer", Some("on")) => session.timer = true,
        (".timer", Some("off")) => session.timer = false,
        (".mode", Some(name)) => match name.parse::<Format>() {
            Ok(format) => session.format = format,
            Err(e) => eprintln!("error: {e}"),
        },
        (".read", Some(path)) => match std::fs::read_to_string(path) {
            Ok(text) => {
                session.run_script(&text);
            }
            Err(e) => eprintln!("error: cannot read '{path}': {e}"),
        },
        _ => eprintln!("error: unknown or incomplete command '{}'; type .help", line.trim()),
    }
    Next::Continue
}

/// Runs the interactive loop until `.quit` or end of input.
pub fn interactive(session: &mut Session) -> ExitCode {
    let mut editor: Editor<ShellHelper, DefaultHistory> = match Editor::new() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot start the line editor: {e}");
            return ExitCode::FAILURE;
        }
    };
    editor.set_helper(Some(ShellHelper { models: model_names(session) }));
    let history = history_path();
    if let Some(path) = &history {
        // A missing history file is normal on first use.
        let _ = editor.load_history(path);
    }
    let place = session.db.store().path().map_or(":memory:".to_string(), |p| p.display().to_string());
    println!("recodb {} on {place}. Type .help for help.", env!("CARGO_PKG_VERSION"));
    loop {
        match editor.readline("recodb> ") {
            Ok(line) => {
                if line.trim().is_empty() {
                    continue;
                }
                let _ = editor.add_history_entry(line.as_str());
                if line.trim_start().starts_with('.') {
                    if let Next::Quit = dot_command(session, line.trim()) {
                        break;
                    }
                } else {
                    session.run_script(&line);
                }
                if let Some(helper) = editor.helper_mut() {
                    helper.models = model_names(session);
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("error: {e}");
                break;
            }
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
        let helper = ShellHelper { models: vec!["taste".into(), "Tall".into()] };
        let (start, pairs) = helper.complete(line, line.len(), &ctx).expect("completion");
        (start, pairs.into_iter().map(|p| p.replacement).collect())
    }

    #[test]
    fn keywords_complete_in_the_case_typed() {
        assert_eq!(complete("RECO"), (0, vec!["RECOMMEND".to_string(), "RECOMMENDATIONS".to_string()]));
        assert_eq!(complete("show use"), (5, vec!["user".to_string(), "users".to_string()]));
        assert_eq!(complete("SHOW "), (5, vec![]));
        let (_, many) = complete("S");
        assert!(many.contains(&"SHOW".to_string()) && many.contains(&"SIMILAR".to_string()), "{many:?}");
    }

    #[test]
    fn model_names_complete_as_stored() {
        let expected = ["tag", "tags", "taste", "Tall"].map(String::from).to_vec();
        assert_eq!(complete("RECOMMEND user 1 TOP 5 USING ta"), (29, expected));
        assert_eq!(
            complete("DESCRIBE MODEL Ta"),
            (15, vec!["TAG".into(), "TAGS".into(), "taste".into(), "Tall".into()])
        );
    }
}
