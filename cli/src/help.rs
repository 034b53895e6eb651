//! The shell's help: the dot-commands, and the syntax of each statement (`.help RECOMMEND`).

/// The shell's commands, one per line, as `.help` prints them.
pub const COMMANDS: &str = "\
Statements end with ';' and may span lines (the prompt turns to '...>' until the ';', and to ''>' inside
an open string). Ctrl-C cancels a running statement or clears the lines typed so far; Ctrl-D, .quit,
exit, quit or \\q leave. Tab completes keywords, algorithms, model names, dot-commands and file paths.

.help [TOPIC]        this help, or a statement's syntax (.help RECOMMEND; .help TRAIN adds the
                     algorithms' parameters)
.mode [FORMAT]       print results as table, line, csv, tsv or json (no FORMAT: show the current one)
.headers on|off      print the header row in csv and tsv output
.output [FILE]       send results to FILE (no FILE: back to the terminal)
.once FILE           send the next result only to FILE
.timer on|off        print how long each statement takes
.read FILE           run the statements and dot-commands in FILE
.open PATH           close this database and open (or create) the one at PATH
.show                show the current settings
.quit                leave the shell (also .exit)";

/// Each statement's syntax, keyed by its first keyword (some statements share one).
const STATEMENTS: &[(&str, &str)] = &[
    ("ADD", "ADD USER key [LABEL 'text'] [TAGS ('t', ...)]\nADD ITEM key [LABEL 'text'] [TAGS ('t', ...)]"),
    ("INSERT", "INSERT INTERACTION user key item key [WEIGHT w] [AT t]"),
    ("DELETE", "DELETE INTERACTION user key item key\nDELETE USER key\nDELETE ITEM key"),
    (
        "IMPORT",
        "IMPORT INTERACTIONS|USERS|ITEMS FROM 'path' [FORMAT csv|tsv|movielens|lightgcn] [WITH (opt = v, ...)]",
    ),
    ("SPLIT", "SPLIT HOLDOUT fraction [SEED n]\nSPLIT CLEAR"),
    (
        "SHOW",
        "SHOW USERS|ITEMS [WHERE filter] [ORDER BY INTERACTIONS [ASC|DESC]] [LIMIT n] [OFFSET n]\n\
         SHOW INTERACTIONS [USER key | ITEM key] [LIMIT n] [OFFSET n]\n\
         SHOW TAGS|MODELS|JOBS|STATS|ALGORITHMS [LIMIT n] [OFFSET n]",
    ),
    ("DESCRIBE", "DESCRIBE USER key | ITEM key | MODEL name"),
    (
        "TRAIN",
        "TRAIN algorithm [AS name] [WITH (param = v, ...)] [BACKGROUND]\n  \
         WITH (hold_out_items = 'path'): the listed items are hidden from training (EVALUATE ... COLD ITEMS)\n  \
         WITH (hold_out_users = 'path'): so are the listed users' interactions (EVALUATE ... COLD USERS)",
    ),
    ("DROP", "DROP MODEL name"),
    ("WAIT", "WAIT JOB id"),
    ("CANCEL", "CANCEL JOB id"),
    ("CHECK", "CHECK    (integrity: the counts, then one 'problem' row per damage; or recodb --check DB)"),
    (
        "RECOMMEND",
        "RECOMMEND user key TOP n [USING name] [RERANK m USING name] [WHERE filter] [INCLUDE SEEN]\n          \
         [WITH (tags = 'genre:, year:')]    (a tags column: each row's tags with those prefixes; '*': all)\n  \
         filter: TAG = 't' | TAG IN ('t', ...) | ITEM IN (key, ...) | NOT f | f AND f | f OR f | (f)\n\
         RECOMMEND TAGS FOR user|item key TOP n [USING name] [WITH (match = 'genre:')]\n  \
         (the tags nearest a user, or those an item lacks, by a model that places tags: twotower)",
    ),
    ("SIMILAR", "SIMILAR item|user key TOP n [USING name] [WHERE filter] [WITH (tags = 'genre:')]"),
    ("EXPLAIN", "EXPLAIN RECOMMEND ... | EXPLAIN SIMILAR ...    (the Hamming engine's plan for a model with codes)"),
    (
        "EVALUATE",
        "EVALUATE name [RERANK m USING name] [AGAINST 'path' [FORMAT f]] [AT k, ...]\n         \
         [WITH (protocol = 'sampled', negatives = 100)]\n\
         EVALUATE name, ... COLD ITEMS FROM 'path' [AGAINST 'path'] [AT k, ...] [WITH (match = 'genre:', seed = 0)]\n  \
         (item cold start: the model trained WITH (hold_out_items = 'path'); random and tag_match baselines)\n\
         EVALUATE name, ... COLD USERS FROM 'path' [AGAINST 'path'] [AT k, ...] [WITH (seed = 0)]\n  \
         (user cold start: the model trained WITH (hold_out_users = 'path'); popularity and random baselines)\n\
         EVALUATE name, ... TAGS [AGAINST 'path'] [AT k, ...] [WITH (match = 'genre:', seed = 0)]\n  \
         (tag recommendation against the tags of the test items; frequent_tags baseline)",
    ),
    ("EXPORT", "EXPORT RECOMMENDATIONS name TOP n TO 'path'\nEXPORT CODES name USERS|ITEMS TO 'path'"),
    ("SET", "SET durability = 'full' | 'relaxed'"),
];

/// The whole help: the commands, then every statement's syntax.
pub fn overview() -> String {
    let mut text = format!("{COMMANDS}\n\nStatements (README.md describes the whole language):\n");
    for (_, syntax) in STATEMENTS {
        for line in syntax.lines() {
            text.push_str("  ");
            text.push_str(line);
            text.push('\n');
        }
    }
    text
}

/// The syntax of the statements starting with keyword `topic` (any case), or an error naming the topics.
pub fn statement(topic: &str) -> Result<&'static str, String> {
    STATEMENTS
        .iter()
        .find(|(keyword, _)| keyword.eq_ignore_ascii_case(topic))
        .map(|(_, syntax)| *syntax)
        .ok_or_else(|| {
            let topics: Vec<&str> = STATEMENTS.iter().map(|(keyword, _)| *keyword).collect();
            format!("no help on '{topic}'; topics: {}", topics.join(", "))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_statement_has_its_topic_in_any_case() {
        assert!(statement("recommend").is_ok_and(|s| s.starts_with("RECOMMEND user key TOP n")));
        assert!(statement("Delete").is_ok_and(|s| s.contains("DELETE ITEM key")));
        let error = statement("SELECT").expect_err("no such topic");
        assert!(error.starts_with("no help on 'SELECT'; topics: ADD, INSERT"), "{error}");
    }

    #[test]
    fn the_overview_lists_commands_and_every_statement() {
        let text = overview();
        assert!(text.contains(".once FILE"), "{text}");
        for (keyword, _) in STATEMENTS {
            assert!(text.contains(&format!("\n  {keyword} ")), "{keyword} missing from\n{text}");
        }
    }
}
