//! The scale benchmark (issue 20, item 4): how each cost of recodb grows with the data. For each size it
//! generates synthetic implicit feedback (long-tailed popularity, planted cluster tastes, a cluster tag
//! per item), then runs every step end to end on a fresh on-disk database through the public API,
//! measuring each step's seconds, its peak resident memory (sampled every 2 ms; memory the allocator
//! kept from an earlier step counts too) and the database's size on disk after it:
//!
//! import, item tags, SPLIT HOLDOUT, SPLIT CLEAR, TRAIN als, TRAIN dsiml, EVALUATE of both against a
//! test file of sampled users, RECOMMEND through `Database::query` (median of single calls) for both,
//! and SIMILAR item with dsiml.
//!
//! ```text
//! RAYON_NUM_THREADS=2 cargo run --release --example scale -- [--sizes 1000000,5000000,20000000]
//!     [--dir /tmp/recodb-scale] [--svg scale.svg]
//! ```
//!
//! Shape at `n` interactions: `n / 50` users with 50 interactions on average, `min(n / 20, 1M)` items
//! (so 1M items at 20M), `items / 1000` (2 to 1000) taste clusters. The `EVALUATE` test file holds every
//! fifth interaction of 2,000 sampled users, which are not imported. DSIML trains with lighter settings
//! than its defaults (`iterations = 0, epochs = 10`: the signs of its stage 0) so that the 20M run fits
//! in minutes; ALS with 64 factors and its default iterations. Prints a Markdown table and writes a
//! log-log SVG plot of each step's seconds against the number of interactions.

use std::error::Error;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use recodb::synth::{generate, SynthConfig};
use recodb::{Database, Key, Value};

/// Users sampled for EVALUATE's test file.
const EVAL_USERS: usize = 2_000;
/// Single-call RECOMMEND and SIMILAR statements timed per size.
const QUERIES: usize = 1_000;

/// One measured step of one size.
struct Step {
    name: String,
    seconds: f64,
    peak_mb: f64,
    disk_mb: f64,
    /// What the step reports beyond its cost (a metric, a median latency).
    note: String,
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut sizes = vec![1_000_000u64, 5_000_000, 20_000_000];
    let mut dir = PathBuf::from("/tmp/recodb-scale");
    let mut svg = PathBuf::from("scale.svg");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let value = args.next().ok_or(format!("{a} needs a value"))?;
        match a.as_str() {
            "--sizes" => sizes = value.split(',').map(str::parse).collect::<Result<_, _>>()?,
            "--dir" => dir = PathBuf::from(value),
            "--svg" => svg = PathBuf::from(value),
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    sample_resident_memory();
    let mut results = Vec::new();
    for &n in &sizes {
        let steps = run_size(n, &dir)?;
        print_table(n, &steps);
        results.push((n, steps));
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("\nthe process's peak resident set: {:.0} MB", peak_resident_mb());
    print_growth(&results);
    std::fs::write(&svg, plot(&results))?;
    eprintln!("wrote {}", svg.display());
    Ok(())
}

/// The synthetic shape at `n` interactions (see the module documentation).
fn config(n: u64) -> SynthConfig {
    let items = (n / 20).clamp(100, 1_000_000) as u32;
    SynthConfig {
        users: (n / 50).max(10) as u32,
        items,
        interactions_per_user: 50,
        clusters: (items / 1000).clamp(2, 1000),
        taste_strength: 0.8,
        zipf_exponent: 1.0,
        seed: 7,
    }
}

fn run_size(n: u64, dir: &Path) -> Result<Vec<Step>, Box<dyn Error>> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let started = Instant::now();
    let data = generate(&config(n));
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
    let users = data.user_cluster.len() as u32;
    let sampled: std::collections::HashSet<u32> =
        (0..EVAL_USERS.min(users as usize)).map(|_| rng.random_range(0..users)).collect();
    let (train, test) = (dir.join("train.tsv"), dir.join("test.tsv"));
    let (mut train_out, mut test_out) =
        (BufWriter::new(File::create(&train)?), BufWriter::new(File::create(&test)?));
    let mut last_user = u32::MAX;
    let mut nth = 0;
    for &(user, item) in &data.interactions {
        nth = if user == last_user { nth + 1 } else { 0 };
        last_user = user;
        let out = if sampled.contains(&user) && nth % 5 == 4 { &mut test_out } else { &mut train_out };
        writeln!(out, "{user}\t{item}")?;
    }
    train_out.flush()?;
    test_out.flush()?;
    let tags = dir.join("item_tags.tsv");
    data.write_item_tags_tsv(&tags)?;
    let n_items = data.item_cluster.len() as u32;
    eprintln!(
        "{n} interactions: {} users, {n_items} items, generated and written in {:.1} s",
        users,
        started.elapsed().as_secs_f64()
    );
    drop(data);

    let db_path = dir.join("db");
    let db = &Database::open(&db_path)?;
    let quote = |p: &Path| p.display().to_string().replace('\'', "''");
    let mut steps = Vec::new();
    let mut step = |name: &str, work: &mut dyn FnMut() -> Result<String, recodb::Error>| {
        reset_peak_memory();
        let started = Instant::now();
        let note = work()?;
        let seconds = started.elapsed().as_secs_f64();
        let s = Step {
            name: name.to_string(),
            seconds,
            peak_mb: peak_memory_mb(),
            disk_mb: directory_bytes(&db_path) as f64 / 1e6,
            note,
        };
        eprintln!(
            "  {:<36} {:>9.2} s {:>8.0} MB peak {:>8.0} MB disk  {}",
            s.name, s.seconds, s.peak_mb, s.disk_mb, s.note
        );
        steps.push(s);
        Ok::<(), recodb::Error>(())
    };
    let run = |statement: String| move || db.execute(&statement).map(|_| String::new());
    step("IMPORT INTERACTIONS", &mut run(format!("IMPORT INTERACTIONS FROM '{}'", quote(&train))))?;
    step(
        "IMPORT ITEMS (tags)",
        &mut run(format!("IMPORT ITEMS FROM '{}' WITH (header = true)", quote(&tags))),
    )?;
    step("SPLIT HOLDOUT 0.2", &mut run("SPLIT HOLDOUT 0.2 SEED 1".into()))?;
    step("SPLIT CLEAR", &mut run("SPLIT CLEAR".into()))?;
    step("TRAIN als (64 factors)", &mut run("TRAIN als AS a WITH (factors = 64)".into()))?;
    step(
        "TRAIN dsiml (64 bits)",
        &mut run("TRAIN dsiml AS d WITH (bits = 64, iterations = 0, epochs = 10)".into()),
    )?;
    for model in ["a", "d"] {
        let statement = format!("EVALUATE {model} AGAINST '{}' AT 10", quote(&test));
        step(&format!("EVALUATE {model} ({EVAL_USERS} users)"), &mut || {
            let result = db.query(&statement, &[])?;
            // The first row is NDCG at the first cut-off; its value is the last column.
            let ndcg = result.rows().next().and_then(|r| r.values().last().cloned());
            Ok(match ndcg {
                Some(Value::Float(v)) => format!("NDCG@10 {v:.4}"),
                other => format!("NDCG@10 {other:?}"),
            })
        })?;
    }
    let query_users: Vec<Key> =
        (0..QUERIES).map(|_| Key::Int(u64::from(rng.random_range(0..users)))).collect();
    let query_items: Vec<Key> =
        (0..QUERIES).map(|_| Key::Int(u64::from(rng.random_range(0..n_items)))).collect();
    for (name, statement, keys) in [
        ("RECOMMEND als (exact)", "RECOMMEND user ? TOP 10 USING a", &query_users),
        ("RECOMMEND dsiml (MIH)", "RECOMMEND user ? TOP 10 USING d", &query_users),
        ("SIMILAR item dsiml", "SIMILAR item ? TOP 10 USING d", &query_items),
    ] {
        step(&format!("{name}, {QUERIES} calls"), &mut || {
            let mut micros = Vec::with_capacity(keys.len());
            for key in keys.iter() {
                let started = Instant::now();
                std::hint::black_box(db.query(statement, &[Value::Key(key.clone())])?);
                micros.push(started.elapsed().as_secs_f64() * 1e6);
            }
            micros.sort_by(f64::total_cmp);
            Ok(format!("median {:.0} µs", micros[micros.len() / 2]))
        })?;
    }
    Ok(steps)
}

/// The most resident memory seen since the last reset, in bytes, kept by [`sample_resident_memory`].
static PEAK: AtomicU64 = AtomicU64::new(0);

/// The process's resident set now, in bytes (0 where `/proc` does not say).
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages = statm.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    pages * 4096
}

/// Samples the resident set every 2 ms into [`PEAK`], for the life of the process. (The heap's own
/// count would mislead: faer's matrix products reserve 1 GiB of address space per thread that they
/// never touch.)
fn sample_resident_memory() {
    std::thread::spawn(|| loop {
        PEAK.fetch_max(resident_bytes(), Ordering::Relaxed);
        std::thread::sleep(std::time::Duration::from_millis(2));
    });
}

/// Starts a new peak at the resident set now.
fn reset_peak_memory() {
    PEAK.store(resident_bytes(), Ordering::Relaxed);
}

/// The most resident memory since the last reset, in MB.
fn peak_memory_mb() -> f64 {
    PEAK.fetch_max(resident_bytes(), Ordering::Relaxed).max(resident_bytes()) as f64 / 1e6
}

/// The process's peak resident set so far, in MB (0 where `/proc` does not say).
fn peak_resident_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok());
    kb.unwrap_or(0.0) * 1024.0 / 1e6
}

/// Total size of the files under `path`.
fn directory_bytes(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => directory_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn print_table(n: u64, steps: &[Step]) {
    println!(
        "\n{n} interactions\n\n| step | seconds | peak resident MB | disk MB after | |\n|---|---:|---:|---:|---|"
    );
    for s in steps {
        println!("| {} | {:.2} | {:.0} | {:.0} | {} |", s.name, s.seconds, s.peak_mb, s.disk_mb, s.note);
    }
}

/// Each step's growth between the smallest and the largest size, as the exponent `e` of `cost ∝ n^e`
/// (1 is linear).
fn print_growth(results: &[(u64, Vec<Step>)]) {
    let (Some((n0, first)), Some((n1, last))) = (results.first(), results.last()) else { return };
    if n0 == n1 {
        return;
    }
    let span = (*n1 as f64 / *n0 as f64).ln();
    println!(
        "\n| step | seconds: growth exponent {n0} → {n1} | peak resident: growth exponent |\n|---|---:|---:|"
    );
    for (a, b) in first.iter().zip(last) {
        let exponent = |x: f64, y: f64| {
            if x > 0.0 && y > 0.0 {
                format!("{:.2}", (y / x).ln() / span)
            } else {
                "-".into()
            }
        };
        println!("| {} | {} | {} |", a.name, exponent(a.seconds, b.seconds), exponent(a.peak_mb, b.peak_mb));
    }
}

/// Each step's seconds against the number of interactions, both axes logarithmic, one line per step.
fn plot(results: &[(u64, Vec<Step>)]) -> String {
    let (w, h, m, legend) = (760.0, 460.0, 60.0, 230.0);
    let points: Vec<(f64, f64)> = results
        .iter()
        .flat_map(|(n, steps)| steps.iter().map(move |s| ((*n as f64).log10(), s.seconds.max(1e-4).log10())))
        .collect();
    let range = |f: fn(&(f64, f64)) -> f64| {
        let lo = points.iter().map(f).fold(f64::INFINITY, f64::min).floor();
        let hi = points.iter().map(f).fold(f64::NEG_INFINITY, f64::max).ceil();
        (lo, hi.max(lo + 1.0))
    };
    let ((x0, x1), (y0, y1)) = (range(|p| p.0), range(|p| p.1));
    let x = |v: f64| m + (v - x0) / (x1 - x0) * (w - 2.0 * m - legend);
    let y = |v: f64| h - m - (v - y0) / (y1 - y0) * (h - 2.0 * m);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" \
         font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    let _ =
        writeln!(s, "<line x1=\"{m}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>", h - m, x(x1), h - m);
    let _ = writeln!(s, "<line x1=\"{m}\" y1=\"{m}\" x2=\"{m}\" y2=\"{}\" stroke=\"black\"/>", h - m);
    let _ =
        writeln!(s, "<text x=\"{}\" y=\"{}\">interactions (log)</text>", x((x0 + x1) / 2.0) - 50.0, h - 20.0);
    let _ = writeln!(
        s,
        "<text x=\"10\" y=\"30\">seconds per step (log; the query steps: {QUERIES} calls)</text>"
    );
    for t in (y0 as i32)..=(y1 as i32) {
        let _ = writeln!(s, "<text x=\"8\" y=\"{:.1}\">1e{t} s</text>", y(f64::from(t)) + 4.0);
    }
    for t in (x0 as i32)..=(x1 as i32) {
        let _ = writeln!(s, "<text x=\"{:.1}\" y=\"{}\">1e{t}</text>", x(f64::from(t)) - 10.0, h - m + 18.0);
    }
    let colours = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"];
    let names: Vec<&str> =
        results.first().map(|(_, steps)| steps.iter().map(|s| s.name.as_str()).collect()).unwrap_or_default();
    for (i, name) in names.iter().enumerate() {
        let colour = colours[i % colours.len()];
        let line: Vec<String> = results
            .iter()
            .filter_map(|(n, steps)| {
                steps
                    .get(i)
                    .map(|st| format!("{:.1},{:.1}", x((*n as f64).log10()), y(st.seconds.max(1e-4).log10())))
            })
            .collect();
        let dash = if i >= colours.len() { " stroke-dasharray=\"4 3\"" } else { "" };
        let _ = writeln!(
            s,
            "<polyline fill=\"none\" stroke=\"{colour}\"{dash} stroke-width=\"2\" points=\"{}\"/>",
            line.join(" ")
        );
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" fill=\"{colour}\">{name}</text>",
            w - legend,
            m + 16.0 * i as f64
        );
    }
    s.push_str("</svg>\n");
    s
}
