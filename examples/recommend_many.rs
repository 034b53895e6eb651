//! Times `Database::recommend_many` for every user of a database: the Rust side of the Python binding's
//! batch `recommend` comparison (`python/examples/standard_split.py` runs this binary on the database it
//! built and prints both figures).
//!
//! ```text
//! cargo run --release --example recommend_many -- DB_PATH MODEL [TOP] [RUNS]
//! cargo run --release --example recommend_many -- --each DB_PATH MODEL [TOP] [RUNS]
//! ```
//!
//! Opens a read-only copy of `DB_PATH`, recommends `TOP` (10) items for each of its users with `MODEL`
//! `RUNS` (5) times, and prints one line: `users=U top=T median_s=S`. With `--each` it runs one
//! `RECOMMEND user ? TOP n USING MODEL` statement per user instead, the latency a serving application
//! sees, and prints the median over all calls of all runs: `users=U top=T median_us=M`.

use std::process::ExitCode;
use std::time::Instant;

use recodb::{Database, Key, Value};

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let each = args.first().is_some_and(|a| a == "--each");
    if each {
        args.remove(0);
    }
    let [path, model, rest @ ..] = args.as_slice() else {
        eprintln!("usage: recommend_many [--each] DB_PATH MODEL [TOP] [RUNS]");
        return ExitCode::FAILURE;
    };
    let number = |i: usize, default: usize| rest.get(i).map_or(Ok(default), |s| s.parse::<usize>());
    let (Ok(top), Ok(runs)) = (number(0, 10), number(1, 5)) else {
        eprintln!("error: TOP and RUNS are positive integers");
        return ExitCode::FAILURE;
    };
    match run(path, model, top, runs.max(1), each) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(path: &str, model: &str, top: usize, runs: usize, each: bool) -> Result<(), recodb::Error> {
    let db = Database::open_read_only(path)?;
    let all = db.query("SHOW USERS LIMIT ?", &[Value::Int(i64::from(u32::MAX))])?;
    let users: Vec<Key> = all
        .rows()
        .filter_map(|row| match &row.values()[0] {
            Value::Key(key) => Some(key.clone()),
            _ => None,
        })
        .collect();
    if each {
        let statement = format!("RECOMMEND user ? TOP {top} USING {model}");
        let mut micros = Vec::with_capacity(runs * users.len());
        for _ in 0..runs {
            for user in &users {
                let started = Instant::now();
                let out = db.query(&statement, &[Value::Key(user.clone())])?;
                micros.push(started.elapsed().as_secs_f64() * 1e6);
                std::hint::black_box(out);
            }
        }
        micros.sort_by(f64::total_cmp);
        println!("users={} top={top} median_us={:.1}", users.len(), micros[micros.len() / 2]);
        return Ok(());
    }
    let mut seconds = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let out = db.recommend_many(model, &users, top, None, false)?;
        seconds.push(started.elapsed().as_secs_f64());
        std::hint::black_box(out);
    }
    seconds.sort_by(f64::total_cmp);
    println!("users={} top={top} median_s={:.6}", users.len(), seconds[seconds.len() / 2]);
    Ok(())
}
