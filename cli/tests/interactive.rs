//! The interactive shell driven through a pseudo-terminal, as a person would use it: a multi-line
//! statement, syntax and execution errors with their underline, history recall, `.timer on`, `.mode`,
//! `.help TRAIN`, Ctrl-C during a long import, which cancels it and leaves the database unchanged, and
//! Ctrl-C during WAIT JOB, which stops the wait and not the job.

#![cfg(unix)]

use std::io::Write;
use std::process::Command;

use rexpect::session::{spawn_command, PtySession};

const PROMPT: &str = "recodb> ";

fn shell(dir: &tempfile::TempDir) -> PtySession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_recodb"));
    cmd.arg(dir.path().join("db")).env("RECODB_HISTORY", dir.path().join("history"));
    let mut session = spawn_command(cmd, Some(30_000)).expect("start the shell");
    session.exp_string(PROMPT).expect("the first prompt");
    session
}

#[test]
fn multi_line_statements_errors_history_and_dot_commands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut p = shell(&dir);
    // A statement runs only once it ends with ';', however many lines it takes.
    p.send_line("INSERT INTERACTION user 1").expect("send");
    p.send_line("  item 2;").expect("send");
    p.exp_string("inserted").expect("the statement ran after its second line");
    p.exp_string(PROMPT).expect("prompt");

    p.send_line("SHOW USRS;").expect("send");
    p.exp_string("error: line 1, column 6: expected").expect("a positioned error");
    p.exp_string("1 | SHOW USRS;").expect("the offending line");
    p.exp_string("  |      ^^^^").expect("the underline");
    p.exp_string(PROMPT).expect("the shell goes on after an error");

    // Errors of statements that parse are underlined the same way: a bad literal, an unknown key.
    p.send_line("RECOMMEND user 1 TOP 100000 USING m;").expect("send");
    p.exp_string("error: line 1, column 22: TOP must be an integer from 0 to 10000, got 100000")
        .expect("positioned");
    p.exp_string("1 | RECOMMEND user 1 TOP 100000 USING m;").expect("the offending line");
    p.exp_string("  |                      ^^^^^^ TOP must be").expect("the literal underlined");
    p.exp_string(PROMPT).expect("prompt");
    p.send_line("DESCRIBE USER 'zoe';").expect("send");
    p.exp_string("  |               ^^^^^ no user with key 'zoe'").expect("the unknown key underlined");
    p.exp_string(PROMPT).expect("prompt");

    p.send_line(".timer on").expect("send");
    p.exp_string(PROMPT).expect("prompt");
    p.send_line(".mode csv").expect("send");
    p.exp_string(PROMPT).expect("prompt");
    p.send_line("SHOW USERS;").expect("send");
    p.exp_string("user,interactions,tags").expect("csv output");
    p.exp_string("time: ").expect("the timer");
    p.exp_string(PROMPT).expect("prompt");

    // Ctrl-P (like the up arrow) recalls the previous statement; Enter runs it again.
    p.send_control('p').expect("previous history entry");
    p.exp_string("SHOW USERS;").expect("the statement is back on the line");
    p.send_line("").expect("enter");
    p.exp_string("user,interactions,tags").expect("the recalled statement ran");
    p.exp_string(PROMPT).expect("prompt");

    p.send_line(".help TRAIN").expect("send");
    p.exp_string("algorithm,parameter,type,default,accepted,description").expect("the parameter table");
    p.exp_string("ease,lambda,number,500,a positive number,").expect("a row of it");
    p.exp_string(PROMPT).expect("prompt");

    p.send_line(".quit").expect("send");
    p.exp_eof().expect("the shell ends");
    let history = std::fs::read_to_string(dir.path().join("history")).expect("history was saved");
    assert!(history.contains("SHOW USERS;"), "{history}");
}

#[test]
fn ctrl_c_cancels_a_long_import_and_leaves_the_database_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big = dir.path().join("big.tsv");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&big).expect("create"));
        for i in 0..6_000_000u64 {
            writeln!(out, "{}\t{}", i % 50_000, i % 7_919).expect("write");
        }
    }
    let mut p = shell(&dir);
    p.send_line("INSERT INTERACTION user 'kept' item 1;").expect("send");
    p.exp_string(PROMPT).expect("prompt");
    p.send_line(&format!("IMPORT INTERACTIONS FROM '{}';", big.display())).expect("send");
    p.exp_string("import").expect("the progress bar appears");
    p.send_control('c').expect("Ctrl-C");
    p.exp_string("cancelled").expect("the import says it was cancelled");
    p.exp_string(PROMPT).expect("the shell is still there");
    p.send_line(".mode csv").expect("send");
    p.exp_string(PROMPT).expect("prompt");
    p.send_line("SHOW STATS;").expect("send");
    p.exp_string("interactions,1").expect("only the interaction before the import is there");
    p.exp_string(PROMPT).expect("prompt");
    p.send_line(".quit").expect("send");
    p.exp_eof().expect("the shell ends");
}

/// A shell on a database holding 3,000 users over 6,000 items (written to `dir` and imported): EASE's
/// 6,000 × 6,000 inverse takes seconds.
fn shell_with_wide_data(dir: &tempfile::TempDir) -> PtySession {
    let data = dir.path().join("data.tsv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&data).expect("create"));
    for u in 0..3_000u64 {
        for j in 0..40u64 {
            writeln!(out, "{u}\t{}", (u * 7 + j * 151) % 6_000).expect("write");
        }
    }
    drop(out);
    let mut p = shell(dir);
    p.send_line(&format!("IMPORT INTERACTIONS FROM '{}';", data.display())).expect("send");
    p.exp_string(PROMPT).expect("prompt");
    p
}

#[test]
fn ctrl_c_cancels_training_which_publishes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut p = shell_with_wide_data(&dir);
    p.send_line("TRAIN ease AS m;").expect("send");
    p.exp_string("train ease").expect("the progress bar shows the phase");
    p.send_control('c').expect("Ctrl-C");
    p.exp_string("error: training cancelled").expect("the training says it was cancelled");
    p.exp_string(PROMPT).expect("the shell is still there");
    p.send_line(".mode csv").expect("send");
    p.exp_string(PROMPT).expect("prompt");
    p.send_line("SHOW JOBS;").expect("send");
    p.exp_string("1,m,ease,cancelled").expect("the job is recorded as cancelled");
    p.exp_string(PROMPT).expect("prompt");
    p.send_line("SHOW MODELS;").expect("send");
    p.exp_string("name,algorithm,version,interactions,seconds").expect("the header");
    let rows = p.exp_string(PROMPT).expect("prompt");
    assert!(!rows.contains("ease"), "no model was published: {rows}");
    p.send_line(".quit").expect("send");
    p.exp_eof().expect("the shell ends");
}

#[test]
fn wait_job_draws_the_jobs_bar_and_ctrl_c_stops_the_wait_not_the_job() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut p = shell_with_wide_data(&dir);
    p.send_line("TRAIN ease AS m BACKGROUND;").expect("send");
    p.exp_string(PROMPT).expect("prompt");
    p.send_line("WAIT JOB 1;").expect("send");
    p.exp_string("train ease: inverse").expect("the job's bar shows its phase");
    p.send_control('c').expect("Ctrl-C");
    p.exp_string("error: stopped waiting for job 1; it goes on running (CANCEL JOB 1 stops it)")
        .expect("the wait says it stopped");
    p.exp_string(PROMPT).expect("the shell is still there");
    p.send_line("WAIT JOB 1;").expect("send");
    p.exp_string("done").expect("the job went on and published");
    p.exp_string(PROMPT).expect("prompt");
    p.send_line(".quit").expect("send");
    p.exp_eof().expect("the shell ends");
}

#[test]
fn lines_typed_during_a_long_statement_run_after_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut p = shell_with_wide_data(&dir);
    p.send_line("TRAIN ease AS m;").expect("send");
    p.exp_string("train ease").expect("the training runs");
    // Typed while EASE inverts its 6,000 × 6,000 matrix, before any prompt.
    p.send_line(".mode csv").expect("send");
    p.send_line("SHOW MODELS;").expect("send");
    p.exp_string("m,ease,1,120000").expect("the lines typed ahead ran once the training ended");
    p.exp_string(PROMPT).expect("prompt");
    p.send_line(".quit").expect("send");
    p.exp_eof().expect("the shell ends");
}

#[test]
fn prompts_show_an_open_statement_and_psql_words_leave_or_help() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut p = shell(&dir);
    // Without its ';' a statement waits, and the prompt says so (it does not look like a hang).
    p.send_line("SHOW USERS").expect("send");
    p.exp_string("   ...> ").expect("the continuation prompt");
    // `exit` inside an open statement does not leave; it says how.
    p.send_line("exit").expect("send");
    p.exp_string("note: a statement is still open").expect("the hint");
    p.exp_string("   ...> ").expect("still continuing");
    p.send_line(";").expect("send");
    p.exp_string("(0 rows)").expect("the statement ran");
    p.exp_string(PROMPT).expect("prompt");
    // Inside an open string the prompt shows the quote, and `exit` is text.
    p.send_line("ADD ITEM 'two").expect("send");
    p.exp_string("     '> ").expect("the open-quote prompt");
    p.send_line("exit';").expect("send");
    p.exp_string("added").expect("the item was added");
    p.exp_string(PROMPT).expect("prompt");
    p.send_line(".mode csv").expect("send");
    p.exp_string(PROMPT).expect("prompt");
    p.send_line("SHOW ITEMS;").expect("send");
    p.exp_string("\"two\r\nexit\",0,").expect("the key holds the newline and the word");
    p.exp_string(PROMPT).expect("prompt");
    p.send_line("help").expect("send");
    p.exp_string(".once FILE").expect("help lists the commands");
    p.exp_string(PROMPT).expect("prompt");
    p.send_line("quit").expect("send");
    p.exp_eof().expect("quit leaves");

    for leave in ["exit", "\\q"] {
        let mut p = shell(&dir);
        p.send_line(leave).expect("send");
        p.exp_eof().expect("the shell ends");
    }
}
