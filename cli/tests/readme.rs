//! README.md's shell tour and `docs/first-hour.md` work exactly as written: every ```sql block of each,
//! in order, runs through the real binary against one database, from the repository root (where their
//! relative paths point). Blocks that read the shared data sets are skipped, with a message, when those
//! are absent.

use std::path::PathBuf;
use std::process::Command;

fn sql_blocks(readme: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sql") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), text) => {
                block.push_str(text);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// Runs every ```sql block of the markdown file `doc` (relative to the repository root), in order,
/// through the real binary against one database, from the repository root; blocks reading the shared
/// data sets are skipped when those are absent. Returns each block's standard output.
fn run_blocks(doc: &str) -> Vec<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join(doc)).unwrap_or_else(|e| panic!("{doc}: {e}"));
    let blocks = sql_blocks(&text);
    assert!(blocks.len() >= 3, "{doc} has its blocks");
    let shared = root.join("../shared/data").exists();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("tour");
    let mut outputs = Vec::new();
    for block in blocks {
        if block.contains("../shared/data") && !shared {
            eprintln!("skipped a block of {doc}: ../shared/data is absent");
            continue;
        }
        let out = Command::new(env!("CARGO_BIN_EXE_recodb"))
            .arg(&db)
            .args(["-c", &block])
            .current_dir(&root)
            .output()
            .expect("run recodb");
        assert!(
            out.status.success(),
            "{doc} block failed:\n{block}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    outputs
}

#[test]
fn the_shell_tour_runs_as_written() {
    let outputs = run_blocks("README.md");
    assert!(outputs[0].contains("Dune (Herbert, 1965)"), "the tour shows labels: {}", outputs[0]);
}

#[test]
fn the_first_hour_runs_as_written() {
    let outputs = run_blocks("docs/first-hour.md");
    if outputs.is_empty() {
        return;
    }
    let all = outputs.concat();
    assert!(all.contains("Star Wars (1977)"), "results show titles: {all}");
    assert!(all.contains("┆    pop ┆   ease ┆     mf │"), "the three models side by side: {all}");
    assert!(
        all.contains("genre:Action, genre:Adventure"),
        "SIMILAR shows the genres it was asked for: {all}"
    );
}
