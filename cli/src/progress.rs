//! Progress bars for long statements, drawn on standard error so that results on standard output stay
//! clean for pipes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A byte-progress bar for reading a file; hidden when standard error is not a terminal.
pub struct FileProgress {
    bar: ProgressBar,
    cancel: Arc<AtomicBool>,
}

impl FileProgress {
    /// A bar titled `label` that reports cancellation once `cancel` is set (by Ctrl-C).
    pub fn new(label: &str, cancel: Arc<AtomicBool>) -> FileProgress {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{msg:>10} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .expect("the template is valid")
            .progress_chars("=> "),
        );
        bar.set_message(label.to_string());
        FileProgress { bar, cancel }
    }

    /// Updates the bar; returns false when the user asked to cancel.
    pub fn update(&self, done: u64, total: u64) -> bool {
        self.bar.set_length(total);
        self.bar.set_position(done);
        !self.cancel.load(Ordering::Relaxed)
    }
}

impl Drop for FileProgress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
