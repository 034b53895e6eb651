//! The space acceptance of issue 20: imports the standard split's training pairs into a fresh on-disk
//! database, runs `TRAIN ease AS e` ten times, then `DROP MODEL e`, and prints the size of the database
//! directory (every file under it, as `du --apparent-size` counts) and `SHOW STATS`'s split after each
//! step, with the bounds the issue sets: during the ten, at most the data plus two versions of the model
//! plus 20%; after the drop, within 1.2x of the size before the first training. "During" is measured: a
//! thread samples the directory's size every 5 ms throughout the trainings, so the moment a new
//! version's file and the last one's are both on disk is seen.
//!
//! ```text
//! cargo run --release --example space_reclaim                      # ../shared/data/splits/ml-1m-r4
//! cargo run --release --example space_reclaim -- /path/to/split 10 # a data folder, a number of trainings
//! ```
//!
//! The database goes in a temporary directory, removed at the end. Exits with failure when a bound is
//! broken.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use recodb::Database;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let data = args
        .first()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/splits/ml-1m-r4"));
    let trainings = match args.get(1).map(|n| n.parse::<usize>()) {
        None => 10,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("error: the number of trainings must be a positive whole number");
            return ExitCode::FAILURE;
        }
    };
    match run(&data.join("train.tsv"), trainings) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Bytes of every file under `dir` (a file removed while it is counted counts as 0).
fn dir_size(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let Ok(meta) = entry.and_then(|e| e.metadata().map(|m| (e.path(), m))) else { continue };
        total += if meta.1.is_dir() { dir_size(&meta.0).unwrap_or(0) } else { meta.1.len() };
    }
    Ok(total)
}

/// Samples the size of `dir` every 5 ms until `stop` is set; returns the largest seen.
fn sample_peak(dir: PathBuf, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut peak = 0;
        while !stop.load(Ordering::Relaxed) {
            peak = peak.max(dir_size(&dir).unwrap_or(0));
            std::thread::sleep(Duration::from_millis(5));
        }
        peak
    })
}

fn mb(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1e6)
}

/// Prints one row of the table: the step, the directory size and the store's split of it.
fn row(db: &Database, path: &Path, step: &str, seconds: f64) -> Result<u64, Box<dyn std::error::Error>> {
    let size = dir_size(path)?;
    let usage = db.store().disk_usage()?;
    println!(
        "| {step} | {} | {} | {} | {} | {seconds:.1} |",
        mb(size),
        mb(usage.data),
        mb(usage.blobs),
        mb(usage.unreferenced)
    );
    Ok(size)
}

fn run(train: &Path, trainings: usize) -> Result<bool, Box<dyn std::error::Error>> {
    if !train.exists() {
        return Err(format!("{} is absent (the standard split of ../shared/data)", train.display()).into());
    }
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("db");
    let db = Database::open(&path)?;
    println!("| step | directory MB | data MB | models MB | reclaimable MB | seconds |");
    println!("|---|---:|---:|---:|---:|---:|");
    let started = Instant::now();
    db.execute(&format!("IMPORT INTERACTIONS FROM '{}'", train.display()))?;
    let before = row(&db, &path, "import", started.elapsed().as_secs_f64())?;
    let (mut peak, mut model) = (before, 0u64);
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_peak(path.clone(), Arc::clone(&stop));
    for n in 1..=trainings {
        let started = Instant::now();
        db.execute("TRAIN ease AS e")?;
        let size = row(&db, &path, &format!("TRAIN ease AS e ({n})"), started.elapsed().as_secs_f64())?;
        model = model.max(db.store().disk_usage()?.blobs);
        peak = peak.max(size);
    }
    stop.store(true, Ordering::Relaxed);
    let sampled = sampler.join().map_err(|_| "the size sampler panicked")?;
    let peak = peak.max(sampled);
    let started = Instant::now();
    db.execute("DROP MODEL e")?;
    let after = row(&db, &path, "DROP MODEL e", started.elapsed().as_secs_f64())?;
    drop(db);
    let reopened = dir_size(&path)?;
    println!("| closed | {} | | | | |", mb(reopened));

    let bound_during = (before + 2 * model) as f64 * 1.2;
    let ok_during = peak as f64 <= bound_during;
    let ok_after = after as f64 <= before as f64 * 1.2;
    println!();
    println!(
        "before the first training {} MB; one model version {} MB; largest during the trainings {} MB \
         (bound: (data + 2 versions) x 1.2 = {} MB): {}",
        mb(before),
        mb(model),
        mb(peak),
        mb(bound_during as u64),
        if ok_during { "met" } else { "BROKEN" }
    );
    println!(
        "after DROP MODEL {} MB = {:.2}x the size before the first training (bound 1.2x): {}",
        mb(after),
        after as f64 / before as f64,
        if ok_after { "met" } else { "BROKEN" }
    );
    Ok(ok_during && ok_after)
}
