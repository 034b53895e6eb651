//! Fuzz target `execute`: any text that parses is executed against a scratch database seeded with a
//! small synthetic data set. Executing must never panic nor fail with an internal error, an error's span
//! must lie within the text, the database must pass its integrity check after every input, and it must
//! reopen cleanly (checked every 64 inputs).
//!
//! The scratch state is bounded: every [`FRESH_EVERY`] inputs the database is dropped with its directory
//! and a freshly seeded one replaces it, so a long run keeps its speed and its disk (without this, a
//! 10-minute run slowed from about 450 to 135 inputs/s as the database grew to GBs of orphaned model
//! values). The directories live under a per-process scratch directory (`scratch.rs`) that is removed at
//! exit, or by the next run when the process was killed.
//!
//! IMPORT and EXPORT are skipped: they touch arbitrary files (an input naming /dev/zero would hang).
//! Work per input is bounded so that a legitimately expensive statement is not reported as a hang:
//! every statement is cancelled (through its progress) after [`DEADLINE`], background training is
//! skipped (it would outlive the input), and so is TRAIN with more than [`MAX_FACTORS`] factors (one ALS
//! iteration at 1,024 factors takes seconds, and training reports progress per iteration).

#![no_main]

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use recodb::query::{LiteralValue, StatementKind};
use recodb::{Database, ErrorKind, Progress, Value};

#[path = "scratch.rs"]
mod scratch;

/// How long one statement may run before its progress cancels it.
const DEADLINE: Duration = Duration::from_secs(2);

/// The most factors a fuzzed TRAIN may ask for.
const MAX_FACTORS: i128 = 128;

/// How many inputs one scratch database serves before a fresh one replaces it.
const FRESH_EVERY: u64 = 256;

/// Cancels the statement once its deadline has passed.
struct Deadline(Instant);

impl Progress for Deadline {
    fn update(&self, _phase: &str, _done: u64, _total: u64) -> bool {
        self.0.elapsed() < DEADLINE
    }
}

/// Whether running `kind` could take unbounded time or outlive the input.
fn skipped(kind: &StatementKind) -> bool {
    match kind {
        StatementKind::Import { .. }
        | StatementKind::ExportCodes { .. }
        | StatementKind::ExportRecommendations { .. } => true,
        StatementKind::Train { background, options, .. } => {
            *background
                || options.iter().any(|o| {
                    o.name.value.eq_ignore_ascii_case("factors")
                        && !matches!(o.value.value, LiteralValue::Int(f) if f <= MAX_FACTORS)
                })
        }
        _ => false,
    }
}

struct Scratch {
    dir: tempfile::TempDir,
    db: Option<Database>,
    runs: u64,
}

fn seeded() -> Scratch {
    let dir = scratch::fresh("execute");
    let db = Database::open(dir.path().join("db")).expect("open scratch database");
    db.execute("SET durability = relaxed;").expect("relaxed durability");
    let data = recodb::synth::generate(&recodb::synth::SynthConfig {
        users: 50,
        items: 40,
        interactions_per_user: 6,
        clusters: 4,
        taste_strength: 0.8,
        zipf_exponent: 1.0,
        seed: 7,
    });
    for &(u, i) in &data.interactions {
        db.insert_interaction(u64::from(u), u64::from(i), None, None).expect("seed");
    }
    db.add_item(0, &["cluster:0"]).expect("seed tag");
    Scratch { dir, db: Some(db), runs: 0 }
}

static SCRATCH: OnceLock<Mutex<Scratch>> = OnceLock::new();

fuzz_target!(|bytes: &[u8]| {
    scratch::tick();
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    let Ok(statements) = recodb::query::parse_script(text) else { return };
    let mut scratch = SCRATCH.get_or_init(|| Mutex::new(seeded())).lock().expect("not poisoned");
    let db = scratch.db.as_ref().expect("open");
    let params: Vec<Value> =
        (0..16).map(|i| if i % 2 == 0 { Value::Int(i) } else { Value::from("p") }).collect();
    for statement in &statements {
        if skipped(&statement.kind) {
            continue;
        }
        // Errors are fine, but never an internal one (a bug shown as the user's mistake); panics are not.
        if let Err(e) = db.run(statement, &params, &Deadline(Instant::now())) {
            assert!(!matches!(e.kind(), ErrorKind::Internal(_)), "{statement}: {e}");
            if let Some(span) = e.span() {
                assert!(text.get(span.start.offset..span.end.offset).is_some(), "{statement}: {e:?}");
            }
        }
    }
    db.check_integrity().expect("the database stays consistent");
    scratch.runs += 1;
    if scratch.runs.is_multiple_of(FRESH_EVERY) {
        // Drop the database before its directory, then start over.
        scratch.db = None;
        *scratch = seeded();
    } else if scratch.runs.is_multiple_of(64) {
        let path = scratch.dir.path().join("db");
        scratch.db = None;
        let db = Database::open(&path).expect("the database reopens");
        db.check_integrity().expect("consistent after reopening");
        scratch.db = Some(db);
    }
});
