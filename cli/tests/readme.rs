//! README.md's shell tour works exactly as written: every ```sql block, in order, runs through the real
//! binary against one database, from the repository root (where the README's relative paths point).
//! Blocks that read the shared data sets are skipped, with a message, when those are absent.

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

#[test]
fn the_shell_tour_runs_as_written() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let blocks = sql_blocks(&readme);
    assert!(blocks.len() >= 3, "the tour has its blocks");
    let shared = root.join("../shared/data").exists();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("tour");
    for block in blocks {
        if block.contains("../shared/data") && !shared {
            eprintln!("skipped a tour block: ../shared/data is absent");
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
            "README block failed:\n{block}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
