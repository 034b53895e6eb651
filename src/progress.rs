//! Progress reports from long statements (IMPORT now, TRAIN later) to whoever draws them.

/// Receives progress of a long statement and can cancel it. The library never draws anything itself:
/// the shell implements this with a progress bar and Ctrl-C.
pub trait Progress: Sync {
    /// `done` of `total` units of `phase` (e.g. bytes of a file being imported) are finished. Returns
    /// `false` to cancel the statement, which then fails and leaves the database unchanged.
    fn update(&self, phase: &str, done: u64, total: u64) -> bool;
}

/// Ignores progress and never cancels.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn update(&self, _phase: &str, _done: u64, _total: u64) -> bool {
        true
    }
}
