//! Bulk import speed on the real ML-1M ratings (1,000,209 rows, gzip TSV), end to end: read, parse,
//! write and flush into a fresh on-disk database; then reopening that database and building the
//! training snapshot. Skips with a message when `../shared/data` is absent.
//!
//! `cargo bench --bench import` (see BENCHMARKS.md for figures and the SQLite comparison).

use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use recodb::{Database, Target, Value};

fn ratings() -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/ml-1m/ratings.tsv.gz");
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipped: {} is absent", path.display());
        None
    }
}

fn options() -> Vec<(String, Value)> {
    [("user", "UserID"), ("item", "ItemIdx"), ("weight", "Rating")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::from(v)))
        .collect()
}

fn bench_import(c: &mut Criterion) {
    let Some(ratings) = ratings() else { return };
    let mut group = c.benchmark_group("import");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(1_000_209));
    group.bench_function("ml-1m ratings.tsv.gz", |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("tempdir"),
            |dir| {
                let db = Database::open(dir.path().join("db")).expect("open");
                db.import(Target::Interactions, &ratings, None, &options()).expect("import");
                (db, dir)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        let db = Database::open(&path).expect("open");
        db.import(Target::Interactions, &ratings, None, &options()).expect("import");
        let size = db.stats().expect("stats").size_on_disk;
        eprintln!("size on disk after importing ML-1M: {:.1} MB", size as f64 / 1e6);
    }
    let mut group = c.benchmark_group("ml-1m database");
    group.sample_size(10);
    group.bench_function("reopen", |b| b.iter(|| Database::open(&path).expect("reopen")));
    let db = Database::open(&path).expect("reopen");
    group.bench_function("snapshot", |b| b.iter(|| db.snapshot().expect("snapshot")));
    group.finish();
}

criterion_group!(benches, bench_import);
criterion_main!(benches);
