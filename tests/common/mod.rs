//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::path::PathBuf;

/// The shared real data sets beside the repository, or `None` (with a printed reason) when absent.
pub fn shared_data(relative: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data").join(relative);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "skipped: {} is absent (the shared data sets are not beside the repository)",
            path.display()
        );
        None
    }
}

/// Writes `text` to `name` inside `dir` and returns the path.
pub fn write_file(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write test file");
    path
}
