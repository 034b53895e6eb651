//! Training jobs: TRAIN ... BACKGROUND with SHOW JOBS, WAIT JOB and CANCEL JOB; readers served from the
//! previous version while a job runs; cancelled jobs publish nothing; job records survive a restart,
//! and a process killed during training reopens with the old model intact and the job failed.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{failure, run};
use recodb::synth::{generate, SynthConfig};
use recodb::{Database, ErrorKind, Progress, ResultSet, Target};

/// A database with `items` items over which EASE takes a noticeable time, and model `m` trained by pop.
fn database(path: Option<&Path>, items: u32) -> Database {
    let db = match path {
        Some(path) => Database::open(path).expect("open"),
        None => Database::open_temporary().expect("open"),
    };
    let config = SynthConfig { users: 3_000, items, interactions_per_user: 40, ..SynthConfig::demo() };
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("data.tsv");
    generate(&config).write_tsv(&file).expect("write");
    db.import(Target::Interactions, &file, None, &[]).expect("import");
    run(&db, "TRAIN pop AS m");
    db
}

fn text(set: &ResultSet, column: &str) -> String {
    set.rows().next().expect("a row").get::<String>(column).expect(column)
}

fn int(set: &ResultSet, column: &str) -> i64 {
    set.rows().next().expect("a row").get::<i64>(column).expect(column)
}

/// The model's version and algorithm, from DESCRIBE MODEL.
fn version(db: &Database, model: &str) -> (String, String) {
    let described = run(db, &format!("DESCRIBE MODEL {model}"));
    let property = |name: &str| {
        described
            .rows()
            .find(|r| r.get::<String>("property").expect("property") == name)
            .map(|r| r.get::<String>("value").expect("value"))
            .expect(name)
    };
    (property("version"), property("algorithm"))
}

#[test]
fn a_background_job_trains_while_recommend_answers_from_the_previous_version() {
    let db = database(None, 4_000);
    let started = run(&db, "TRAIN ease AS m BACKGROUND");
    assert_eq!((text(&started, "state"), text(&started, "model")), ("running".into(), "m".into()));
    let job = int(&started, "job");
    // The job cannot be done yet: EASE over 4,000 items takes far longer than these reads.
    let jobs = run(&db, "SHOW JOBS");
    assert_eq!(jobs.rows().next().expect("row").get::<i64>("id").expect("id"), job);
    assert_eq!(text(&jobs, "state"), "running");
    assert_eq!(version(&db, "m"), ("1".into(), "pop".into()), "readers see the published version");
    let pop_list = run(&db, "RECOMMEND user 7 TOP 5 USING m");
    assert_eq!(pop_list.len(), 5);
    // Readers keep answering for as long as the job trains: the previous version's answer every time
    // until the job publishes; the latency is reported (speed itself is measured by benchmarks).
    let pop_items = pop_list.column::<String>("item").expect("items");
    let mut latencies = Vec::new();
    'training: while text(&run(&db, "SHOW JOBS"), "state") == "running" {
        for _ in 0..20 {
            let asked = std::time::Instant::now();
            let answer = run(&db, "RECOMMEND user 7 TOP 5 USING m");
            latencies.push(asked.elapsed());
            if answer.column::<String>("item").expect("items") != pop_items {
                assert_eq!(
                    text(&run(&db, "SHOW JOBS"), "state"),
                    "done",
                    "only the new version answers otherwise"
                );
                break 'training;
            }
        }
    }
    latencies.sort();
    assert!(!latencies.is_empty(), "RECOMMEND answered while the job ran");
    println!(
        "RECOMMEND during TRAIN ease BACKGROUND: {} answers, median {:?}, max {:?}",
        latencies.len(),
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );

    let waited = run(&db, &format!("WAIT JOB {job}"));
    assert_eq!((text(&waited, "state"), int(&waited, "version")), ("done".into(), 2));
    assert_eq!(version(&db, "m"), ("2".into(), "ease".into()));
    let jobs = run(&db, "SHOW JOBS");
    assert_eq!(text(&jobs, "state"), "done");
    assert!(jobs.rows().next().expect("row").get::<f64>("elapsed").expect("elapsed") > 0.0);
    assert_ne!(
        run(&db, "RECOMMEND user 7 TOP 5 USING m").column::<String>("item").expect("items"),
        pop_list.column::<String>("item").expect("items"),
        "now ease answers"
    );
}

#[test]
fn a_cancelled_job_publishes_nothing() {
    let db = database(None, 6_000);
    let job = int(&run(&db, "TRAIN ease AS m BACKGROUND"), "job");
    let cancelled = run(&db, &format!("CANCEL JOB {job}"));
    assert_eq!(text(&cancelled, "state"), "cancelled");
    assert_eq!(version(&db, "m"), ("1".into(), "pop".into()));
    let err = db.query(&format!("WAIT JOB {job}"), &[]).expect_err("cancelled");
    assert!(matches!(err.kind(), ErrorKind::Cancelled(what) if what == "training"), "{err:?}");
    assert_eq!(err.message(), format!("job {job} was cancelled; it published nothing"));
    let err = failure(&db, &format!("CANCEL JOB {job}"), "conflict", &job.to_string());
    assert_eq!(err.message(), format!("job {job} is not running (it is cancelled)"));
    assert_eq!(
        db.check_integrity().expect("consistent").blobs,
        2,
        "only pop's blob and its format are stored"
    );
}

/// Cancels at the first report of `phase`, as the shell's Ctrl-C does.
struct CancelAt(&'static str, AtomicBool);

impl Progress for CancelAt {
    fn update(&self, phase: &str, _done: u64, _total: u64) -> bool {
        if phase == self.0 {
            self.1.store(true, Ordering::Relaxed);
        }
        !self.1.load(Ordering::Relaxed)
    }
}

#[test]
fn a_foreground_train_cancelled_by_its_caller_publishes_nothing_at_any_phase() {
    let db = database(None, 50);
    for phase in ["train ease: gram matrix", "train ease: inverse", "publish"] {
        let statement = recodb::query::parse_statement("TRAIN ease AS m").expect("parse");
        let err = db.run(&statement, &[], &CancelAt(phase, AtomicBool::new(false))).expect_err(phase);
        assert!(matches!(err.kind(), ErrorKind::Cancelled(what) if what == "training"), "{phase}: {err:?}");
        assert_eq!(err.message(), "training cancelled", "{phase}");
        assert_eq!(version(&db, "m"), ("1".into(), "pop".into()), "{phase}");
        assert_eq!(text(&run(&db, "SHOW JOBS LIMIT 1"), "state"), "cancelled");
    }
}

/// Counts the reports of `phase` and cancels at the `stop_at`-th, noting when.
struct StopInPhase {
    phase: &'static str,
    stop_at: usize,
    seen: parking_lot::Mutex<(usize, Option<Instant>)>,
}

impl Progress for StopInPhase {
    fn update(&self, phase: &str, _done: u64, _total: u64) -> bool {
        let mut seen = self.seen.lock();
        if phase == self.phase {
            seen.0 += 1;
            if seen.0 == self.stop_at {
                seen.1 = Some(Instant::now());
            }
        }
        seen.1.is_none()
    }
}

#[test]
fn an_ease_train_ticks_during_its_inverse_and_stops_at_the_next_block() {
    // 6,000 items: the inverse is some 7·10¹⁰ multiply-adds, tens of blocks.
    let db = database(None, 6_000);
    let statement = recodb::query::parse_statement("TRAIN ease AS m").expect("parse");
    let progress = StopInPhase { phase: "train ease: inverse", stop_at: 4, seen: Default::default() };
    let err = db.run(&statement, &[], &progress).expect_err("cancelled");
    let stopped = progress.seen.lock().1.expect("cancelled during the inverse").elapsed();
    assert!(matches!(err.kind(), ErrorKind::Cancelled(what) if what == "training"), "{err:?}");
    assert_eq!(
        progress.seen.lock().0,
        4,
        "the inverse reported before each block and stopped at the refusal"
    );
    // The count above is the check (no block after the refusal); the clock only catches a hang, with a
    // margin for a loaded machine.
    assert!(stopped < Duration::from_secs(10), "the train returned {stopped:?} after the cancel");
    assert_eq!(version(&db, "m"), ("1".into(), "pop".into()));
}

#[test]
fn wait_job_passes_the_jobs_progress_on_and_stops_waiting_when_told() {
    let db = database(None, 6_000);
    let job = int(&run(&db, "TRAIN ease AS m BACKGROUND"), "job");
    let statement = recodb::query::parse_statement(&format!("WAIT JOB {job}")).expect("parse");
    let progress = StopInPhase { phase: "train ease: inverse", stop_at: 2, seen: Default::default() };
    let err = db.run(&statement, &[], &progress).expect_err("stopped waiting");
    let stopped = progress.seen.lock().1.expect("the job's inverse was reported").elapsed();
    assert!(matches!(err.kind(), ErrorKind::Cancelled(what) if what == "wait"), "{err:?}");
    assert_eq!(
        err.message(),
        format!("stopped waiting for job {job}; it goes on running (CANCEL JOB {job} stops it)")
    );
    // WAIT JOB polls every 0.1 s; the bound only catches a wait that ignores the refusal, with a margin
    // for a loaded machine.
    assert!(stopped < Duration::from_secs(10), "WAIT JOB returned {stopped:?} after the refusal");
    let jobs = run(&db, "SHOW JOBS LIMIT 1");
    assert_eq!((int(&jobs, "id"), text(&jobs, "state")), (job, "running".into()));
    assert_eq!(text(&run(&db, &format!("CANCEL JOB {job}")), "state"), "cancelled", "it was still running");
}

#[test]
fn job_errors_name_the_job() {
    let db = database(None, 20);
    for (statement, code, expected) in [
        ("WAIT JOB 99", "not_found", "no job with id 99 (SHOW JOBS lists them)"),
        ("CANCEL JOB 99", "not_found", "no job with id 99 (SHOW JOBS lists them)"),
        ("CANCEL JOB 1", "conflict", "job 1 is not running (it is done)"),
    ] {
        let spot = statement.rsplit(' ').next().expect("the id");
        assert_eq!(failure(&db, statement, code, spot).message(), expected);
    }
    let jobs = run(&db, "SHOW JOBS").len();
    let failed = failure(&db, "TRAIN ease AS m WITH (lambda = 0)", "invalid_argument", "0");
    assert_eq!(failed.message(), "lambda must be a positive number, got 0 (for ease)");
    assert_eq!(run(&db, "SHOW JOBS").len(), jobs, "parameters are checked before a job starts");
    let waited = run(&db, "WAIT JOB 1");
    assert_eq!((text(&waited, "model"), int(&waited, "version")), ("m".into(), 1));
}

#[test]
fn waiting_for_a_job_that_failed_is_a_job_failed_error() {
    let db = Database::open_temporary().expect("open");
    let dir = tempfile::tempdir().expect("tempdir");
    let many: String = (0..20_001).map(|i| format!("{}\t{i}\n", i % 50)).collect();
    let file = common::write_file(&dir, "wide.tsv", &many);
    run(&db, &format!("IMPORT INTERACTIONS FROM '{}'", file.display()));
    let job = int(&run(&db, "TRAIN ease AS wide BACKGROUND"), "job");
    let err = db.query(&format!("WAIT JOB {job}"), &[]).expect_err("ease refuses 20,001 items");
    let ErrorKind::JobFailed { job: failed, message } = err.kind() else {
        panic!("not a job failure: {err:?}")
    };
    assert_eq!(*failed, job as u64);
    assert!(message.contains("it accepts at most 20000 items"), "{message}");
    assert_eq!(text(&run(&db, "SHOW JOBS LIMIT 1"), "state"), "failed");
    assert!(run(&db, "SHOW MODELS").is_empty(), "a failed job publishes nothing");
}

#[test]
fn job_records_survive_reopening_and_ids_continue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        let db = database(Some(&path), 30);
        run(&db, "TRAIN ease AS e");
    }
    let db = Database::open(&path).expect("reopen");
    let jobs = run(&db, "SHOW JOBS");
    assert_eq!(jobs.column::<i64>("id").expect("ids"), [2, 1]);
    assert_eq!(jobs.column::<String>("state").expect("states"), ["done", "done"]);
    assert_eq!(int(&run(&db, "TRAIN pop AS p"), "job"), 3);
}

const CHILD_ENV: &str = "RECODB_JOBS_CHILD_DB";

/// Prints each phase as training reports it, so the parent knows the job is under way.
struct Announce;

impl Progress for Announce {
    fn update(&self, phase: &str, _done: u64, _total: u64) -> bool {
        println!("phase {phase}");
        true
    }
}

/// The child's role (only when the parent sets `CHILD_ENV`): trains EASE over the prepared database.
#[test]
fn jobs_child_role() {
    let Ok(path) = std::env::var(CHILD_ENV) else { return };
    let db = Database::open(&path).expect("child opens");
    let statement = recodb::query::parse_statement("TRAIN ease AS m").expect("parse");
    db.run(&statement, &[], &Announce).expect("train");
    println!("trained");
    std::thread::sleep(Duration::from_secs(60));
}

#[cfg(unix)]
#[test]
fn a_process_killed_during_training_reopens_with_the_old_model_and_the_job_failed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    drop(database(Some(&path), 6_000));
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "jobs_child_role", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("stdout");
    let first = BufReader::new(stdout).lines().map_while(Result::ok).find(|l| l.starts_with("phase"));
    assert!(first.is_some(), "the child started training");
    child.kill().expect("kill");
    child.wait().expect("reap");

    let db = Database::open(&path).expect("reopen");
    assert_eq!(version(&db, "m"), ("1".into(), "pop".into()), "the old version is intact");
    let jobs = run(&db, "SHOW JOBS");
    assert_eq!(text(&jobs, "state"), "failed");
    assert_eq!(text(&jobs, "message"), "interrupted: the process running it stopped");
    assert_eq!(db.check_integrity().expect("consistent").blobs, 2, "pop's blob and its format");
    assert_eq!(run(&db, "RECOMMEND user 7 TOP 3 USING m").len(), 3);
}
