//! Progress bars for long statements, drawn on standard error so that results on standard output stay
//! clean for pipes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use recodb::progress::restarts;

/// A bar for one statement: bytes of a file for IMPORT, units of the current phase (with the phase's
/// name, e.g. an epoch and its loss) for TRAIN and the rest; hidden when standard error is not a
/// terminal.
pub struct StatementBar {
    bar: ProgressBar,
    phase: String,
    cancel: Arc<AtomicBool>,
}

impl StatementBar {
    /// A bar that starts in `phase` and reports cancellation once `cancel` is set (by Ctrl-C).
    pub fn new(phase: &str, cancel: Arc<AtomicBool>) -> StatementBar {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        let template = if phase == "import" {
            "{msg:>10} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
        } else {
            "{msg} [{bar:30}] {pos}/{len} elapsed {elapsed} eta {eta}"
        };
        bar.set_style(
            ProgressStyle::with_template(template).expect("the template is valid").progress_chars("=> "),
        );
        bar.set_message(phase.to_string());
        StatementBar { bar, phase: phase.to_string(), cancel }
    }

    /// Updates the bar (a phase whose units go back or change restarts its estimate, see
    /// [`restarts`]); returns false when the user asked to cancel.
    pub fn update(&mut self, phase: &str, done: u64, total: u64) -> bool {
        if phase != self.phase {
            self.phase = phase.to_string();
            self.bar.set_message(self.phase.clone());
        }
        if restarts(self.bar.position(), self.bar.length().unwrap_or(0), done, total) {
            self.bar.reset_eta();
        }
        self.bar.set_length(total);
        self.bar.set_position(done);
        !self.cancel.load(Ordering::Relaxed)
    }
}

impl Drop for StatementBar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
