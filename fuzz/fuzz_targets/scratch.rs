//! Scratch directories for the fuzz targets that write databases, kept under one directory per process
//! so that nothing outlives the run: `<root>/recodb-fuzz-<target>-<pid>/`, where `root` is
//! `$RECODB_FUZZ_SCRATCH`, else `/dev/shm` when it exists (`tmpfs`: syncs cost nothing and the disk is
//! untouched) and the system's temporary directory otherwise. The directory is removed when the process
//! exits normally (an `atexit` handler: libFuzzer ends a `-max_total_time` run with `exit`), and a
//! directory left by a process that is gone (a crash, a kill, a timeout) is removed by the next run of
//! any target that uses this module.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The prefix of every scratch directory's name.
const PREFIX: &str = "recodb-fuzz-";

/// Where the scratch directories of every target live.
fn root() -> PathBuf {
    if let Some(dir) = std::env::var_os("RECODB_FUZZ_SCRATCH") {
        return PathBuf::from(dir);
    }
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        return shm.to_path_buf();
    }
    std::env::temp_dir()
}

/// Whether process `pid` is alive (on a system without `/proc`, every process counts as alive, so
/// nothing is removed by mistake).
fn alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

/// Removes the scratch directories of processes that are gone.
fn remove_stale(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)) else { continue };
        let Some(pid) = rest.rsplit('-').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid != std::process::id() && !alive(pid) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

static DIR: OnceLock<PathBuf> = OnceLock::new();

extern "C" fn remove_at_exit() {
    if let Some(dir) = DIR.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// This process's scratch directory for `target` (created, emptied of what an earlier process with the
/// same id left, and registered for removal at exit on first use).
pub fn process_dir(target: &str) -> &'static Path {
    DIR.get_or_init(|| {
        let root = root();
        remove_stale(&root);
        let dir = root.join(format!("{PREFIX}{target}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the scratch directory");
        // SAFETY: `remove_at_exit` is a plain function that touches only a static set before it runs.
        unsafe { libc::atexit(remove_at_exit) };
        dir
    })
}

/// A fresh, empty directory under this process's scratch directory, removed when dropped.
pub fn fresh(target: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix("db-").tempdir_in(process_dir(target)).expect("scratch tempdir")
}

/// Counts one input; when `RECODB_FUZZ_RATE` is set (fuzz/run-long.sh sets it), prints
/// `recodb-fuzz: N inputs` to standard error once a minute, so that a long run's log shows its rate
/// late in the run even when libFuzzer prints nothing new.
pub fn tick() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;
    use std::time::Instant;
    static COUNT: AtomicU64 = AtomicU64::new(0);
    static LAST: Mutex<Option<Instant>> = Mutex::new(None);
    static ON: OnceLock<bool> = OnceLock::new();
    let n = COUNT.fetch_add(1, Ordering::Relaxed) + 1;
    if !*ON.get_or_init(|| std::env::var_os("RECODB_FUZZ_RATE").is_some()) {
        return;
    }
    let mut last = LAST.lock().expect("not poisoned");
    let now = Instant::now();
    if last.is_none_or(|t| now.duration_since(t).as_secs() >= 60) {
        *last = Some(now);
        eprintln!("recodb-fuzz: {n} inputs");
    }
}
