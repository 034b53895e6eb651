//! The standard benchmark (`docs/data.md` §3): imports `splits/ml-1m-r4/train.tsv` into a
//! fresh database, trains each model, evaluates it against `test.tsv` with full ranking at K = 10, 20,
//! 50, times RECOMMEND, and prints a Markdown table for BENCHMARKS.md.
//!
//! ```text
//! cargo run --release --example standard_benchmark                  # every algorithm, defaults
//! cargo run --release --example standard_benchmark -- 'ease WITH (lambda = 500)' 'als WITH (factors = 128)'
//! cargo run --release --example standard_benchmark -- --data /path/to/splits/ml-1m-r4 pop
//! cargo run --release --example standard_benchmark -- 'ease WITH (lambda = 500)' \
//!     'dsiml WITH (keep_real = true)' 'm1 RERANK 200 USING m0' 'm1 RERANK 200 USING m1'
//! cargo run --release --example standard_benchmark -- --data ../shared/data/gowalla corml als
//! ```
//!
//! A data folder holds `train.tsv` and `test.tsv` (`user<TAB>item`), or `train.txt` and `test.txt` in
//! the LightGCN format (`user item item ...`, e.g. Gowalla).
//!
//! Each argument is what follows `TRAIN` in a statement; the models are named `m0`, `m1`, ... in
//! argument order. An argument that starts with such a name evaluates that model again without
//! training it, and one with `RERANK n USING name` evaluates (and times) the two-stage ranking.
//! Training and evaluation use every core (`RAYON_NUM_THREADS` limits them); RECOMMEND is timed once
//! per user, one call at a time.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use recodb::models::ALGORITHMS;
use recodb::{Database, ResultSet, Value};

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/splits/ml-1m-r4");
    if let Some(at) = args.iter().position(|a| a == "--data") {
        if at + 1 >= args.len() {
            eprintln!("error: --data needs a directory");
            return ExitCode::FAILURE;
        }
        data = PathBuf::from(args.remove(at + 1));
        args.remove(at);
    }
    let specs: Vec<String> =
        if args.is_empty() { ALGORITHMS.iter().map(|a| a.name.to_string()).collect() } else { args };
    match run(&data, &specs) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(data: &std::path::Path, specs: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let (mut train, mut test, mut format) = (data.join("train.tsv"), data.join("test.tsv"), "tsv");
    if !train.exists() && data.join("train.txt").exists() {
        (train, test, format) = (data.join("train.txt"), data.join("test.txt"), "lightgcn");
    }
    if !train.exists() || !test.exists() {
        let message = format!(
            "{} needs train.tsv and test.tsv (the standard split of ../shared/data), or LightGCN's \
             train.txt and test.txt",
            data.display()
        );
        return Err(message.into());
    }
    let db = Database::open_temporary()?;
    let started = Instant::now();
    let imported = db.query(
        &format!("IMPORT INTERACTIONS FROM ? FORMAT {format}"),
        &[Value::from(train.display().to_string())],
    )?;
    let import_s = started.elapsed().as_secs_f64();
    let pairs = first_int(&imported, "records");
    eprintln!("imported {pairs} training pairs in {import_s:.2} s");
    let threads = rayon::current_num_threads();

    println!(
        "| model | NDCG@10 | Recall@20 | NDCG@20 | NDCG@50 | Recall@50 | Coverage@10 | train s | EVALUATE s | RECOMMEND µs (median) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let names: Vec<String> = (0..specs.len()).map(|i| format!("m{i}")).collect();
    for (spec, own_name) in specs.iter().zip(&names) {
        let (model, rerank) = match spec.split_once(" RERANK ") {
            Some((model, rerank)) => (model.trim(), format!(" RERANK {rerank}")),
            None => (spec.trim(), String::new()),
        };
        let earlier = names.iter().find(|n| model == n.as_str());
        let (name, train_s) = match earlier {
            Some(name) => (name.clone(), f64::NAN),
            None => {
                let trained = db.query(&train_statement(model, own_name), &[])?;
                (own_name.clone(), first_float(&trained, "seconds"))
            }
        };
        let evaluated = db.query(
            &format!("EVALUATE {name}{rerank} AGAINST ? FORMAT {format} AT 10, 20, 50"),
            &[Value::from(test.display().to_string())],
        )?;
        let metric = |m: &str, k: i64| {
            evaluated
                .rows()
                .find(|r| {
                    r.get::<String>("metric").ok().as_deref() == Some(m)
                        && r.get::<Option<i64>>("k").ok() == Some(Some(k))
                })
                .and_then(|r| r.get::<f64>("value").ok())
                .unwrap_or(f64::NAN)
        };
        let eval_s = evaluated
            .rows()
            .find(|r| r.get::<String>("metric").ok().as_deref() == Some("seconds"))
            .and_then(|r| r.get::<f64>("value").ok())
            .unwrap_or(f64::NAN);
        let micros = recommend_median_micros(&db, &format!("{name}{rerank}"))?;
        println!(
            "| {spec} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.3} | {} | {eval_s:.2} | {micros:.0} |",
            metric("ndcg", 10),
            metric("recall", 20),
            metric("ndcg", 20),
            metric("ndcg", 50),
            metric("recall", 50),
            metric("coverage", 10),
            if train_s.is_nan() { "-".to_string() } else { format!("{train_s:.2}") },
        );
    }
    println!(
        "\n{}: {pairs} training pairs, full ranking over all items, each user's training items excluded; \
         {threads} threads; recodb {}.",
        data.file_name().map_or_else(|| data.display().to_string(), |n| n.to_string_lossy().into_owned()),
        env!("CARGO_PKG_VERSION")
    );
    Ok(())
}

/// `TRAIN algorithm AS name rest` for a `spec` of `algorithm rest` (e.g. `ease WITH (lambda = 500)`).
fn train_statement(spec: &str, name: &str) -> String {
    let (algorithm, rest) = spec.trim().split_once(char::is_whitespace).unwrap_or((spec.trim(), ""));
    format!("TRAIN {algorithm} AS {name} {rest}")
}

/// Median time of `RECOMMEND user ? TOP 10 USING {using}` over every user of the database.
fn recommend_median_micros(db: &Database, using: &str) -> recodb::Result<f64> {
    let users = db.query("SHOW USERS LIMIT 1000000", &[])?.column::<String>("user")?;
    if users.is_empty() {
        return Ok(f64::NAN);
    }
    let statement = format!("RECOMMEND user ? TOP 10 USING {using}");
    let mut times: Vec<f64> = users
        .iter()
        .map(|user| {
            let key = user.parse::<i64>().map_or_else(|_| Value::from(user.as_str()), Value::Int);
            let started = Instant::now();
            db.query(&statement, &[key]).map(|_| started.elapsed().as_secs_f64() * 1e6)
        })
        .collect::<recodb::Result<_>>()?;
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

fn first_int(set: &ResultSet, column: &str) -> i64 {
    set.rows().next().and_then(|r| r.get::<i64>(column).ok()).unwrap_or(0)
}

fn first_float(set: &ResultSet, column: &str) -> f64 {
    set.rows().next().and_then(|r| r.get::<f64>(column).ok()).unwrap_or(f64::NAN)
}
