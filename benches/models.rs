//! Training and evaluation speed on the standard split (`splits/ml-1m-r4`): `TRAIN ease` (λ = 500),
//! the EASE fit alone (as numpy's figure is), `TRAIN pop`, and `EVALUATE` of all 6,034 test users at K = 10, 20, 50 (full ranking); and the `als` fit (128 factors, 15 iterations, the tuned
//! regularisation 100 and alpha 9) and the `bpr` fit (its defaults: 64 factors, 100 epochs) alone, to
//! compare with `bench/implicit_compare.py` run on the same machine. Skips with a message when
//! `../shared/data` is absent.
//!
//! Also top-10 for every user from 64-bit codes through the Hamming engine against the same model's
//! stage-0 real vectors (exact dot-product scan).
//!
//! `cargo bench --bench models` (figures in BENCHMARKS.md; `cargo bench --bench models -- 'top-10'` for
//! the binary-against-real pair alone).

use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use recodb::models::als::ALS;
use recodb::models::bpr::BPR;
use recodb::models::dsiml::{DsimlModel, DSIML};
use recodb::models::ease::EASE;
use recodb::models::factors::rows_dot;
use recodb::models::topk::top_k;
use recodb::models::{Algorithm, Model, Params};
use recodb::{Database, NoProgress, Value};
use recodb_storage::hamming::Filter;
use recodb_storage::{RoaringBitmap, Snapshot};
use std::hint::black_box;

fn split(file: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/splits/ml-1m-r4").join(file);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipped: {} is absent", path.display());
        None
    }
}

/// `given` checked against `algorithm`'s parameters.
fn params(algorithm: &Algorithm, given: &[(&str, Value)]) -> Params {
    let given: Vec<(String, Value)> = given.iter().map(|(n, v)| (n.to_string(), v.clone())).collect();
    algorithm.check(&given).expect("valid parameters")
}

/// A snapshot of the standard split's training pairs, or `None` (with a message) without the data.
fn training_snapshot() -> Option<Snapshot> {
    let train = split("train.tsv")?;
    let db = Database::open_temporary().expect("open");
    db.query(&format!("IMPORT INTERACTIONS FROM '{}'", train.display()), &[]).expect("import");
    Some(db.snapshot().expect("snapshot"))
}

fn bench_models(c: &mut Criterion) {
    let (Some(train), Some(test)) = (split("train.tsv"), split("test.tsv")) else { return };
    let db = Database::open_temporary().expect("open");
    db.query(&format!("IMPORT INTERACTIONS FROM '{}'", train.display()), &[]).expect("import");
    let mut group = c.benchmark_group("ml-1m-r4");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    let snapshot = db.snapshot().expect("snapshot");
    let lambda = params(&EASE, &[("lambda", Value::Float(500.0))]);
    group.bench_function("ease fit only (lambda 500)", |b| {
        b.iter(|| (EASE.train)(&snapshot, &lambda, &NoProgress).expect("fit"))
    });
    group.bench_function("TRAIN ease (lambda 500)", |b| {
        b.iter(|| db.query("TRAIN ease WITH (lambda = 500)", &[]).expect("train"))
    });
    group.bench_function("TRAIN pop", |b| b.iter(|| db.query("TRAIN pop", &[]).expect("train")));
    let evaluate = format!("EVALUATE ease AGAINST '{}' AT 10, 20, 50", test.display());
    group.bench_function("EVALUATE ease AT 10, 20, 50", |b| {
        b.iter(|| db.query(&evaluate, &[]).expect("evaluate"))
    });
    group.finish();
}

/// The `als` and `bpr` fits alone (as `implicit`'s figures are), on a snapshot of the training split.
fn bench_factor_models(c: &mut Criterion) {
    let Some(snapshot) = training_snapshot() else { return };
    let mut group = c.benchmark_group("ml-1m-r4");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    let als = params(
        &ALS,
        &[
            ("factors", Value::Int(128)),
            ("iterations", Value::Int(15)),
            ("regularization", Value::Float(100.0)),
            ("alpha", Value::Float(9.0)),
        ],
    );
    group.bench_function("als fit only (128 factors, 15 iterations, reg 100, alpha 9)", |b| {
        b.iter(|| (ALS.train)(&snapshot, &als, &NoProgress).expect("fit"))
    });
    group.measurement_time(Duration::from_secs(60));
    let defaults = params(&BPR, &[]);
    group.bench_function("bpr fit only (defaults: 64 factors, 100 epochs)", |b| {
        b.iter(|| (BPR.train)(&snapshot, &defaults, &NoProgress).expect("fit"))
    });
    group.finish();
}

/// The `dsiml` fit alone (defaults: 64 bits, 60 stage-0 epochs, 3 outer iterations), on a snapshot of the
/// training split.
fn bench_dsiml(c: &mut Criterion) {
    let Some(snapshot) = training_snapshot() else { return };
    let mut group = c.benchmark_group("ml-1m-r4");
    group.sample_size(10).measurement_time(Duration::from_secs(60));
    let defaults = params(&DSIML, &[]);
    group.bench_function("dsiml fit only (defaults: 64 bits)", |b| {
        b.iter(|| (DSIML.train)(&snapshot, &defaults, &NoProgress).expect("fit"))
    });
    group.finish();
}

/// Top-10 for every user of the training split, one thread, from one `dsiml` model (64 bits, defaults,
/// `keep_real = true`): through the Hamming engine with the user's items excluded, against an exact
/// SIMD dot-product scan of the stage-0 real vectors of the same dimension with the same exclusion.
fn bench_binary_against_real(c: &mut Criterion) {
    let Some(snapshot) = training_snapshot() else { return };
    let keep_real = params(&DSIML, &[("keep_real", Value::Bool(true))]);
    let model = DsimlModel::train(&snapshot, &keep_real, &NoProgress).expect("fit");
    let (Some(codes), Some(real)) = (model.binary(), model.real_vectors()) else {
        panic!("a binary model that kept its real vectors")
    };
    let users: Vec<(u32, &[u32], RoaringBitmap)> = (0..snapshot.n_users)
        .map(|u| (u, snapshot.row(u), snapshot.row(u).iter().copied().collect()))
        .filter(|(_, row, _)| !row.is_empty())
        .collect();
    let index = codes.item_index();
    let user_codes: Vec<Vec<u64>> = users.iter().map(|(u, row, _)| codes.user_code(*u, row)).collect();
    let user_vectors: Vec<Vec<f32>> =
        users.iter().map(|(u, row, _)| model.user_vector(*u, row).expect("kept")).collect();
    let mut group = c.benchmark_group("ml-1m-r4");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    group.bench_function(format!("top-10 for {} users: 64-bit codes, Hamming engine", users.len()), |b| {
        b.iter(|| {
            for ((_, _, seen), code) in users.iter().zip(&user_codes) {
                let filter = Filter { allowed: None, excluded: Some(seen) };
                black_box(index.search(code, 10, &filter).expect("search"));
            }
        })
    });
    let mut scores = vec![0f32; model.n_items() as usize];
    group.bench_function(format!("top-10 for {} users: 64-dim real vectors, dot scan", users.len()), |b| {
        b.iter(|| {
            for ((_, row, _), v) in users.iter().zip(&user_vectors) {
                rows_dot(&real.items, v, &mut scores);
                for &i in *row {
                    scores[i as usize] = f32::NEG_INFINITY;
                }
                black_box(top_k(&scores, 10, |_| true));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench_models, bench_factor_models, bench_dsiml, bench_binary_against_real);
criterion_main!(benches);
