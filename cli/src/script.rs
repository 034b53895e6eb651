//! Splitting a script into the pieces the shell runs: statements (for the query language) and
//! shell commands (dot-commands such as `.mode csv`, and `\q`), which sit on lines of their own between
//! statements, as in sqlite3. Used by `-c`, `-f`, piped input and `.read` alike.

use recodb::query::is_complete;

/// One piece of a script.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    /// One or more statements, starting on line `first_line` (1-based) of the script.
    Statements {
        /// The text, ending with its last line's newline.
        text: &'a str,
        /// The script line the text starts on.
        first_line: usize,
    },
    /// A shell command: a line starting with `.` (or `\q`) between statements, trimmed.
    Command(&'a str),
}

/// Whether `line` (trimmed) is a shell command when it starts a statement.
pub fn is_command(line: &str) -> bool {
    line.starts_with('.') || line == "\\q"
}

/// The pieces of `script` in order. A line starting with `.` is a shell command only where a statement
/// could start (the statements before it are complete); inside a statement it is part of the statement
/// (e.g. a number such as `.5` on a line of its own).
pub fn pieces(script: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut first_line = 1;
    let mut offset = 0;
    for (index, line) in script.split_inclusive('\n').enumerate() {
        let trimmed = line.trim();
        if is_command(trimmed) && is_complete(&script[start..offset]) {
            if !script[start..offset].trim().is_empty() {
                pieces.push(Piece::Statements { text: &script[start..offset], first_line });
            }
            pieces.push(Piece::Command(trimmed));
            start = offset + line.len();
            first_line = index + 2;
        }
        offset += line.len();
    }
    if !script[start..].trim().is_empty() {
        pieces.push(Piece::Statements { text: &script[start..], first_line });
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_between_statements_are_split_out_with_line_numbers_kept() {
        let script = "SHOW USERS;\n.mode csv\nSHOW\n  ITEMS;\n\\q\n";
        assert_eq!(
            pieces(script),
            vec![
                Piece::Statements { text: "SHOW USERS;\n", first_line: 1 },
                Piece::Command(".mode csv"),
                Piece::Statements { text: "SHOW\n  ITEMS;\n", first_line: 3 },
                Piece::Command("\\q"),
            ]
        );
    }

    #[test]
    fn a_dot_inside_a_statement_or_a_string_is_part_of_it() {
        let script = "TRAIN bpr WITH (learning_rate =\n.5);\nSET x = 'a\n.b';";
        assert_eq!(pieces(script), vec![Piece::Statements { text: script, first_line: 1 }]);
    }

    #[test]
    fn a_script_of_statements_only_is_one_piece() {
        assert_eq!(pieces("A; B;"), vec![Piece::Statements { text: "A; B;", first_line: 1 }]);
        assert_eq!(pieces(".timer on"), vec![Piece::Command(".timer on")]);
        assert!(pieces("  \n\n").is_empty());
    }
}
