//! Progress reports from long statements (IMPORT, TRAIN, WAIT JOB) to whoever draws them.

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

/// Whether a report of `done` of `total` units starts a new stretch of work after one of `was_done` of
/// `was_total`: its units go back or count something else. A phase whose name alone changes (an epoch's
/// loss in it) goes on, so that the time it has taken still estimates the time it has left.
pub fn restarts(was_done: u64, was_total: u64, done: u64, total: u64) -> bool {
    done < was_done || total != was_total
}

#[cfg(test)]
mod tests {
    use super::restarts;

    #[test]
    fn a_phase_restarts_when_its_units_go_back_or_change() {
        assert!(!restarts(3, 10, 4, 10), "the next epoch");
        assert!(!restarts(3, 10, 3, 10), "the same units, a new name");
        assert!(restarts(10, 10, 0, 10), "the next stage's first report");
        assert!(restarts(3, 10, 5, 1000), "other units");
    }
}
