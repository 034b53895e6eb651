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

/// One bar across the stages of a long computation: each stage's own units (epochs, iterations) are
/// mapped onto its share of [`Stages::UNITS`], so that the whole goes forward once from 0 to the end
/// and its time left is estimated over all the stages, not the current one.
pub struct Stages<'a> {
    progress: &'a dyn Progress,
    shares: Vec<u64>,
}

impl<'a> Stages<'a> {
    /// The units of the whole: thousandths.
    pub const UNITS: u64 = 1000;

    /// Stages weighing `shares` (relative costs, e.g. a stage's passes times the cost of one),
    /// reporting to `progress`.
    pub fn new(progress: &'a dyn Progress, shares: &[u64]) -> Stages<'a> {
        Stages { progress, shares: shares.to_vec() }
    }

    /// The progress of stage `i` (counted from 0): its reports move the whole through its share.
    pub fn stage(&self, i: usize) -> Stage<'_> {
        let all = self.shares.iter().sum::<u64>().max(1);
        let before: u64 = self.shares.iter().take(i).sum();
        let share = self.shares.get(i).copied().unwrap_or(0);
        let (from, to) = (before * Self::UNITS / all, (before + share) * Self::UNITS / all);
        Stage { progress: self.progress, from, width: to - from }
    }
}

/// One stage of [`Stages`].
pub struct Stage<'a> {
    progress: &'a dyn Progress,
    from: u64,
    width: u64,
}

impl Progress for Stage<'_> {
    fn update(&self, phase: &str, done: u64, total: u64) -> bool {
        let within = (u128::from(self.width) * u128::from(done.min(total))).checked_div(u128::from(total));
        let within = within.map_or(0, |w| w as u64);
        self.progress.update(phase, self.from + within, Stages::<'_>::UNITS)
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
    use std::sync::Mutex;

    use super::{restarts, Progress, Stages};

    #[test]
    fn stages_move_one_bar_through_their_shares() {
        struct Record(Mutex<Vec<(u64, u64)>>);
        impl Progress for Record {
            fn update(&self, _phase: &str, done: u64, total: u64) -> bool {
                self.0.lock().expect("lock").push((done, total));
                done < 900
            }
        }
        let record = Record(Mutex::new(Vec::new()));
        let stages = Stages::new(&record, &[1, 3]);
        assert!(stages.stage(0).update("first", 0, 10));
        assert!(stages.stage(0).update("first", 10, 10));
        assert!(stages.stage(1).update("second", 1, 2));
        assert!(!stages.stage(1).update("second", 3, 3), "the whole's refusal is the stage's");
        assert!(stages.stage(1).update("second", 0, 0), "no units yet: the stage's start");
        let seen = record.0.into_inner().expect("lock");
        assert_eq!(seen, vec![(0, 1000), (250, 1000), (625, 1000), (1000, 1000), (250, 1000)]);
    }

    #[test]
    fn a_phase_restarts_when_its_units_go_back_or_change() {
        assert!(!restarts(3, 10, 4, 10), "the next epoch");
        assert!(!restarts(3, 10, 3, 10), "the same units, a new name");
        assert!(restarts(10, 10, 0, 10), "the next stage's first report");
        assert!(restarts(3, 10, 5, 1000), "other units");
    }
}
