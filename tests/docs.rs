//! The documentation shows what the code does: README.md's parameter table is exactly what `SHOW
//! ALGORITHMS` returns (and what the shell's `.help TRAIN` prints), row for row.

use recodb::{Database, Value};

/// The Markdown table of `SHOW ALGORITHMS`: names as code, empty cells for NULL.
fn algorithms_table() -> String {
    let db = Database::open_temporary().expect("open");
    let set = db.query("SHOW ALGORITHMS", &[]).expect("show algorithms");
    let header: Vec<&str> = set.columns().iter().map(|c| c.name.as_str()).collect();
    let mut lines = vec![format!("| {} |", header.join(" | ")), format!("|{}", "---|".repeat(header.len()))];
    for row in set.rows() {
        let cells: Vec<String> = row
            .values()
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Null => String::new(),
                v if i < 2 => format!("`{v}`"),
                v => v.to_string().replace('|', "\\|"),
            })
            .collect();
        lines.push(format!("| {} |", cells.join(" | ")));
    }
    lines.join("\n") + "\n"
}

#[test]
fn the_readme_parameter_table_is_show_algorithms() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md");
    let table = algorithms_table();
    assert!(
        readme.contains(&table),
        "README.md must hold this table, as SHOW ALGORITHMS prints it:\n\n{table}"
    );
}
