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
//! cargo run --release --example standard_benchmark -- --tags ../shared/data/ml-1m twotower
//! cargo run --release --example standard_benchmark -- --balance ccsr dsiml
//! cargo run --release --example standard_benchmark -- --tags ../shared/data/ml-1m \
//!     --cold ../shared/data/splits/ml-1m-r4/cold_items.txt \
//!     "twotower WITH (sampler = 'uniform', item_dropout = 0.5, epochs = 10)"
//! cargo run --release --example standard_benchmark -- --tags ../shared/data/ml-1m --tag-rec \
//!     "twotower WITH (epochs = 10)"
//! cargo run --release --example standard_benchmark -- --tags ../shared/data/ml-1m --cold-users \
//!     pop "twotower WITH (user_dropout = 0.5)"
//! ```
//!
//! `--cold FILE` runs the item cold-start protocol instead (`docs/evaluation.md`): each model is trained
//! with `hold_out_items = FILE` and evaluated with `EVALUATE m COLD ITEMS FROM FILE AGAINST test.tsv AT
//! 10, 20 WITH (match = 'genre:')`, whose random and genre-match baselines the table shows beside it.
//!
//! `--cold-users` runs the user cold-start protocol instead: a tenth of the training file's users, picked
//! by [`cold_users`] (a seeded hash of the key, so the same users on every run and machine), are written
//! to a temporary file; each model is trained with `hold_out_users = FILE` and evaluated with `EVALUATE m
//! COLD USERS FROM FILE AGAINST test.tsv AT 10, 20`, whose popularity and random baselines the table
//! shows beside it. With `--tags`, the users keep their ML-1M profile tags, which `twotower` serves them
//! from.
//!
//! `--tag-rec` (with `--tags`) evaluates tag recommendation instead (`docs/evaluation.md` §9c): each
//! model is trained on the training file and evaluated with `EVALUATE m TAGS AGAINST test.tsv AT 5, 10`
//! over every item tag and over the `genre:` tags, beside the most-frequent-tags baseline.
//!
//! `--tags DIR` tags the split's users and items from ML-1M's `users.dat` (`gender:`, `age:`,
//! `occupation:`) and `movies.dat` (`genre:` and the `year:` bucket of the title, see
//! `recodb::import::read::year_bucket`), joined to the split's item ids (ItemIdx) through `items.tsv`;
//! only entities the training file has are tagged, so the items ranked are the same as without it.
//!
//! `--balance` prints, for each model with binary codes, the per-bit balance of its user and item codes
//! (from `EXPORT CODES`): the mean over bits of `|E[b]|`, 0 when every bit splits the codes 50/50 and 1
//! when every bit is constant.
//!
//! A data folder holds `train.tsv` and `test.tsv` (`user<TAB>item`), or `train.txt` and `test.txt` in
//! the LightGCN format (`user item item ...`, e.g. Gowalla).
//!
//! Each argument is what follows `TRAIN` in a statement; the models are named `m0`, `m1`, ... in
//! argument order. An argument that starts with such a name evaluates that model again without
//! training it, and one with `RERANK n USING name` evaluates (and times) the two-stage ranking.
//! Training and evaluation use every core (`RAYON_NUM_THREADS` limits them); RECOMMEND is timed once
//! per user, one call at a time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use recodb::import::read::year_bucket;
use recodb::models::ccsr::bit_imbalance;
use recodb::models::ALGORITHMS;
use recodb::{Database, Entity, Key, ResultSet, Side, Value};

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/splits/ml-1m-r4");
    let mut tags = None;
    let mut cold = None;
    if let Some(at) = args.iter().position(|a| a == "--cold") {
        if at + 1 >= args.len() {
            eprintln!("error: --cold needs the file of cold items");
            return ExitCode::FAILURE;
        }
        cold = Some(PathBuf::from(args.remove(at + 1)));
        args.remove(at);
    }
    if let Some(at) = args.iter().position(|a| a == "--tags") {
        if at + 1 >= args.len() {
            eprintln!("error: --tags needs the ml-1m directory");
            return ExitCode::FAILURE;
        }
        tags = Some(PathBuf::from(args.remove(at + 1)));
        args.remove(at);
    }
    let balance = args.iter().position(|a| a == "--balance").map(|at| args.remove(at)).is_some();
    let cold_users = args.iter().position(|a| a == "--cold-users").map(|at| args.remove(at)).is_some();
    let tag_rec = args.iter().position(|a| a == "--tag-rec").map(|at| args.remove(at)).is_some();
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
    let result = match &cold {
        Some(cold) => run_cold(&data, tags.as_deref(), (Side::Item, cold), &specs),
        None if cold_users => run_cold_users(&data, tags.as_deref(), &specs),
        None if tag_rec => run_tag_rec(&data, tags.as_deref(), &specs),
        None => run(&data, tags.as_deref(), &specs, balance),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Seed of the `--cold-users` sample.
const COLD_USERS_SEED: u64 = 20_240_601;

/// The user keys of the tab-separated `train` file (first field) whose seeded hash falls in the lowest
/// tenth: about 10 % of its users, the same on every run. A key hashes with SplitMix64's finaliser of
/// `key ^ COLD_USERS_SEED`.
fn cold_users(train: &Path) -> Result<Vec<u64>, Box<dyn std::error::Error>> {
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut users = Vec::new();
    for line in std::fs::read_to_string(train)?.lines().filter(|l| !l.is_empty()) {
        let field = line.split('\t').next().unwrap_or(line);
        let key: u64 = field.parse().map_err(|_| format!("{}: bad user '{field}'", train.display()))?;
        if mix(key ^ COLD_USERS_SEED) % 10 == 0 {
            users.push(key);
        }
    }
    users.sort_unstable();
    users.dedup();
    Ok(users)
}

/// `--cold-users`: [`cold_users`] written to a temporary file, then [`run_cold`] over it.
fn run_cold_users(
    data: &Path,
    tags: Option<&Path>,
    specs: &[String],
) -> Result<(), Box<dyn std::error::Error>> {
    let users = cold_users(&data.join("train.tsv"))?;
    let file = std::env::temp_dir().join(format!("standard-benchmark-{}-cold-users.txt", std::process::id()));
    std::fs::write(&file, users.iter().map(|u| format!("{u}\n")).collect::<String>())?;
    eprintln!("{} cold users listed in {}", users.len(), file.display());
    let result = run_cold(data, tags, (Side::User, &file), specs);
    std::fs::remove_file(&file)?;
    result
}

/// A cold-start protocol (`--cold`, `--cold-users`): each spec trained with the entities of `side` that
/// `cold` lists held out, evaluated on them beside the baselines of the same statement (random and genre
/// match for items, popularity and random for users).
fn run_cold(
    data: &Path,
    tags: Option<&Path>,
    (side, cold): (Side, &Path),
    specs: &[String],
) -> Result<(), Box<dyn std::error::Error>> {
    let (train, test) = (data.join("train.tsv"), data.join("test.tsv"));
    let db = Database::open_temporary()?;
    db.query("IMPORT INTERACTIONS FROM ?", &[Value::from(train.display().to_string())])?;
    if let Some(dir) = tags {
        tag_entities(&db, dir)?;
    }
    let cold = cold.display().to_string();
    let (option, evaluate, baselines) = match side {
        Side::Item => (
            "hold_out_items",
            "COLD ITEMS FROM ? AGAINST ? AT 10, 20 WITH (match = 'genre:')",
            [("random", "random"), ("tag_match", "genre match")],
        ),
        Side::User => (
            "hold_out_users",
            "COLD USERS FROM ? AGAINST ? AT 10, 20",
            [("popularity", "popularity"), ("random", "random")],
        ),
    };
    println!(
        "| model | NDCG@10 | Recall@20 | {} NDCG@10 | Recall@20 | {} NDCG@10 | Recall@20 | users | cold {side}s | train s | EVALUATE s |",
        baselines[0].1, baselines[1].1
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (i, spec) in specs.iter().enumerate() {
        let name = format!("m{i}");
        let statement = train_statement(spec, &name);
        let statement = match statement.rfind(')') {
            Some(at) if statement.contains(" WITH (") => format!("{}, {option} = ?)", &statement[..at]),
            _ => format!("{statement} WITH ({option} = ?)"),
        };
        let trained = db.query(&statement, &[Value::from(cold.as_str())])?;
        let train_s = first_float(&trained, "seconds");
        let evaluated = db.query(
            &format!("EVALUATE {name} {evaluate}"),
            &[Value::from(cold.as_str()), Value::from(test.display().to_string())],
        )?;
        let value = |column: &str, m: &str, k: Option<i64>| figure(&evaluated, column, m, k);
        println!(
            "| {spec} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {} | {} | {train_s:.2} | {:.2} |",
            value(&name, "ndcg", Some(10)),
            value(&name, "recall", Some(20)),
            value(baselines[0].0, "ndcg", Some(10)),
            value(baselines[0].0, "recall", Some(20)),
            value(baselines[1].0, "ndcg", Some(10)),
            value(baselines[1].0, "recall", Some(20)),
            value(&name, "users", None),
            value(&name, &format!("cold_{side}s"), None),
            value(&name, "seconds", None),
        );
    }
    Ok(())
}

/// The value of `column` in the row of `metric` at cut-off `k` of an EVALUATE result (NaN if absent).
fn figure(evaluated: &ResultSet, column: &str, metric: &str, k: Option<i64>) -> f64 {
    evaluated
        .rows()
        .find(|r| {
            r.get::<String>("metric").ok().as_deref() == Some(metric)
                && r.get::<Option<i64>>("k").ok() == Some(k)
        })
        .and_then(|r| r.get::<f64>(column).ok())
        .unwrap_or(f64::NAN)
}

/// Tag recommendation (`--tag-rec`): each spec trained on the split's training file (tagged from ML-1M),
/// then `EVALUATE m TAGS AGAINST test.tsv AT 5, 10` over every item tag and over the `genre:` tags,
/// beside the most-frequent-tags baseline of the same statement.
fn run_tag_rec(data: &Path, tags: Option<&Path>, specs: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let Some(dir) = tags else {
        return Err("--tag-rec needs --tags DIR (ML-1M's users.dat and movies.dat)".into());
    };
    let (train, test) = (data.join("train.tsv"), data.join("test.tsv"));
    let db = Database::open_temporary()?;
    db.query("IMPORT INTERACTIONS FROM ?", &[Value::from(train.display().to_string())])?;
    tag_entities(&db, dir)?;
    println!("| model | tags | Precision@5 | Recall@5 | Recall@10 | frequent tags Precision@5 | Recall@5 | Recall@10 | users | tags ranked | train s | EVALUATE s |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (i, spec) in specs.iter().enumerate() {
        let name = format!("m{i}");
        let trained = db.query(&train_statement(spec, &name), &[])?;
        let train_s = first_float(&trained, "seconds");
        for prefix in ["", "genre:"] {
            let evaluated = db.query(
                &format!("EVALUATE {name} TAGS AGAINST ? AT 5, 10 WITH (match = ?)"),
                &[Value::from(test.display().to_string()), Value::from(prefix)],
            )?;
            let value = |column: &str, m: &str, k: Option<i64>| figure(&evaluated, column, m, k);
            println!(
                "| {spec} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {} | {} | {train_s:.2} | {:.2} |",
                if prefix.is_empty() { "all" } else { prefix },
                value(&name, "precision", Some(5)),
                value(&name, "recall", Some(5)),
                value(&name, "recall", Some(10)),
                value("frequent_tags", "precision", Some(5)),
                value("frequent_tags", "recall", Some(5)),
                value("frequent_tags", "recall", Some(10)),
                value(&name, "users", None),
                value(&name, "tags", None),
                value(&name, "seconds", None),
            );
        }
    }
    Ok(())
}

fn run(
    data: &Path,
    tags: Option<&Path>,
    specs: &[String],
    balance: bool,
) -> Result<(), Box<dyn std::error::Error>> {
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
    if let Some(dir) = tags {
        let started = Instant::now();
        let (users, items) = tag_entities(&db, dir)?;
        eprintln!("tagged {users} users and {items} items in {:.2} s", started.elapsed().as_secs_f64());
    }
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
        if balance && rerank.is_empty() {
            if let (Some(users), Some(items)) =
                (bit_balance(&db, &name, "USERS")?, bit_balance(&db, &name, "ITEMS")?)
            {
                eprintln!("{spec}: bit imbalance mean |E[b]| users {users:.3}, items {items:.3}");
            }
        }
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

/// The mean over bits of `|E[b]|` over the codes of one side (`USERS` or `ITEMS`) of model `name`, from
/// `EXPORT CODES` (`bits / 8` bytes per code); `None` for a model without codes.
fn bit_balance(db: &Database, name: &str, side: &str) -> Result<Option<f64>, Box<dyn std::error::Error>> {
    let path =
        std::env::temp_dir().join(format!("standard-benchmark-{}-{name}-{side}.bin", std::process::id()));
    let statement = format!("EXPORT CODES {name} {side} TO ?");
    if db.query(&statement, &[Value::from(path.display().to_string())]).is_err() {
        return Ok(None);
    }
    let bytes = std::fs::read(&path)?;
    std::fs::remove_file(&path)?;
    let count = db.query(&format!("SHOW {side} LIMIT 1000000000"), &[])?.rows().count();
    if count == 0 || bytes.len() % count != 0 {
        return Err(format!("{} code bytes for {count} {side}", bytes.len()).into());
    }
    let bits = 8 * bytes.len() / count;
    // Each code as the little-endian words `bit_imbalance` reads (a partial last word zero-padded).
    let words: Vec<u64> = bytes
        .chunks_exact(bits / 8)
        .flat_map(|code| {
            code.chunks(8).map(|w| {
                let mut word = [0u8; 8];
                word[..w.len()].copy_from_slice(w);
                u64::from_le_bytes(word)
            })
        })
        .collect();
    Ok(Some(bit_imbalance(&words, bits)))
}

fn first_int(set: &ResultSet, column: &str) -> i64 {
    set.rows().next().and_then(|r| r.get::<i64>(column).ok()).unwrap_or(0)
}

fn first_float(set: &ResultSet, column: &str) -> f64 {
    set.rows().next().and_then(|r| r.get::<f64>(column).ok()).unwrap_or(f64::NAN)
}

/// Tags the users and items the database has from ML-1M's `users.dat` and `movies.dat` in `dir`
/// (items joined from MovieID to ItemIdx through `items.tsv`); returns how many of each were tagged.
fn tag_entities(db: &Database, dir: &Path) -> Result<(usize, usize), Box<dyn std::error::Error>> {
    let text = |name: &str| -> Result<String, Box<dyn std::error::Error>> {
        let bytes =
            std::fs::read(dir.join(name)).map_err(|e| format!("{}: {e}", dir.join(name).display()))?;
        // movies.dat is ISO-8859-1: read each byte as its code point.
        Ok(bytes.iter().map(|&b| char::from(b)).collect())
    };
    let known = |side: Side, key: u64| db.describe(side, &Key::Int(key)).map(|d| d.is_some());
    let mut users = Vec::new();
    for line in text("users.dat")?.lines().filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split("::").collect();
        let (Some(id), Some(gender), Some(age), Some(job)) = (f.first(), f.get(1), f.get(2), f.get(3)) else {
            return Err(format!("users.dat: bad line '{line}'").into());
        };
        let key: u64 = id.parse().map_err(|_| format!("users.dat: bad UserID '{id}'"))?;
        if known(Side::User, key)? {
            let tags = vec![format!("gender:{gender}"), format!("age:{age}"), format!("occupation:{job}")];
            users.push(Entity { key: Key::Int(key), label: None, tags });
        }
    }
    let mut item_of_movie: HashMap<u64, u64> = HashMap::new();
    for line in text("items.tsv")?.lines().skip(1).filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let (Some(Ok(item)), Some(Ok(movie))) = (f.first().map(|v| v.parse()), f.get(1).map(|v| v.parse()))
        else {
            return Err(format!("items.tsv: bad line '{line}'").into());
        };
        item_of_movie.insert(movie, item);
    }
    let mut items = Vec::new();
    for line in text("movies.dat")?.lines().filter(|l| !l.is_empty()) {
        let Some((id, rest)) = line.split_once("::") else {
            return Err(format!("movies.dat: bad line '{line}'").into());
        };
        let Some((title, genres)) = rest.rsplit_once("::") else {
            return Err(format!("movies.dat: bad line '{line}'").into());
        };
        let movie: u64 = id.parse().map_err(|_| format!("movies.dat: bad MovieID '{id}'"))?;
        let Some(&item) = item_of_movie.get(&movie) else { continue };
        if known(Side::Item, item)? {
            let mut tags: Vec<String> =
                genres.split('|').filter(|g| !g.is_empty()).map(|g| format!("genre:{g}")).collect();
            tags.extend(year_bucket(title).map(|b| format!("year:{b}")));
            items.push(Entity { key: Key::Int(item), label: Some(title.to_string()), tags });
        }
    }
    db.add_entities(Side::User, &users)?;
    db.add_entities(Side::Item, &items)?;
    Ok((users.len(), items.len()))
}
