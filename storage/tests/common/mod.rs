//! Helpers shared by the storage crate's integration tests.

use std::path::Path;
use std::time::{Duration, Instant};

/// Opens the sled database at `path` directly, as the tests that write what recodb would not do. sled
/// releases its file lock only when the background flusher of the last handle has stopped, a moment
/// after a `Store` is dropped (sled issue 1289), so a held lock is retried for up to five seconds.
pub fn open_sled(path: &Path) -> sled::Db {
    let started = Instant::now();
    loop {
        match sled::open(path) {
            Err(sled::Error::Io(e))
                if e.to_string().contains("lock") && started.elapsed() < Duration::from_secs(5) =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            result => return result.expect("sled opens"),
        }
    }
}
