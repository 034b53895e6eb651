//! Training jobs (docs/jobs.md): every TRAIN is a job with an id, a record in the `records` tree
//! (namespace `job`) and, while it runs, live progress (phase, units done, elapsed, an estimate of what
//! remains). A job runs in the caller's thread (TRAIN) or on rayon's pool (TRAIN ... BACKGROUND); it can
//! be waited for and cancelled. A job publishes its model and its `done` record in one atomic write, so
//! a failed or cancelled job publishes nothing, and a job whose process died shows as `failed` when the
//! database is opened again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use recodb_storage::rkyv::{self, rancor};
use recodb_storage::{read_archive, Store, WriteTxn};

use crate::error::{Error, ErrorKind, Result};
use crate::models::catalog::{aligned, damaged_in, now_ms};
use crate::progress::{restarts, Progress};

const NAMESPACE: &str = "job";

/// Finished jobs kept in the database; older records are removed when a new job starts.
pub const KEPT_JOBS: usize = 100;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[rkyv(crate = recodb_storage::rkyv)]
pub enum JobState {
    /// Training.
    Running,
    /// Finished and published its model.
    Done,
    /// Stopped by an error (or by the death of the process that ran it); published nothing.
    Failed,
    /// Stopped by CANCEL JOB or Ctrl-C; published nothing.
    Cancelled,
}

impl JobState {
    /// The state as SHOW JOBS prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }
}

/// What the database keeps about a job.
#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[rkyv(crate = recodb_storage::rkyv)]
pub struct JobRecord {
    /// The job's id: 1, 2, ... in the order jobs started, never reused.
    pub id: u64,
    /// The model it trains.
    pub model: String,
    /// The algorithm.
    pub algorithm: String,
    /// Its state.
    pub state: JobState,
    /// Why it failed, or empty.
    pub message: String,
    /// When it started, in milliseconds since the Unix epoch.
    pub started_ms: u64,
    /// When it ended (0 while running).
    pub finished_ms: u64,
    /// The model version it published (0 if none).
    pub version: u64,
}

/// The record key of job `id`: zero-padded so that name order is id order.
fn record_name(id: u64) -> String {
    format!("{id:020}")
}

/// Every job record in the store, oldest first.
pub fn records(store: &Store) -> Result<Vec<JobRecord>> {
    store.records(NAMESPACE)?.into_iter().map(|(name, bytes)| decode(&name, &bytes)).collect()
}

/// One problem for each job record that does not decode, naming the job (for CHECK).
pub fn damaged_records(store: &Store) -> Result<Vec<String>> {
    damaged_in(store, NAMESPACE, decode)
}

/// The job record stored as `name` (its zero-padded id); a corrupt error naming the job if its bytes
/// do not validate.
fn decode(name: &str, bytes: &[u8]) -> Result<JobRecord> {
    read_archive::<JobRecord>(&aligned(bytes), name).map_err(|_| {
        let id = name.trim_start_matches('0');
        Error::corrupt(format!("the record of job {id} is damaged: its {} bytes do not decode", bytes.len()))
    })
}

/// Stores `record` as part of the write `txn`.
pub fn put_record(txn: &mut WriteTxn<'_>, record: &JobRecord) -> Result<()> {
    let bytes = rkyv::to_bytes::<rancor::Error>(record)
        .map_err(|e| Error::internal(format!("cannot serialise the job record: {e}")))?;
    txn.put_record(NAMESPACE, &record_name(record.id), &bytes)?;
    Ok(())
}

/// Live progress of a running job.
#[derive(Debug, Clone)]
pub struct Status {
    /// The phase (e.g. `train ease: inverse`, or an epoch with its loss).
    pub phase: String,
    /// Units of the phase done.
    pub done: u64,
    /// Units of the phase in all.
    pub total: u64,
    /// Time since the job started.
    pub elapsed: Duration,
    /// Estimated time left in the current phase, once some of it is done.
    pub remaining: Option<Duration>,
}

struct Live {
    phase: String,
    done: u64,
    total: u64,
    phase_started: Instant,
    /// Units done when the phase started.
    phase_from: u64,
    finished: bool,
}

/// A job of this process: its record, its progress, its cancel flag.
pub struct Job {
    record: Mutex<JobRecord>,
    started: Instant,
    live: Mutex<Live>,
    ended: Condvar,
    cancel: AtomicBool,
}

impl Job {
    /// The job's id.
    pub fn id(&self) -> u64 {
        self.record.lock().id
    }

    /// A copy of the job's record as it stands.
    pub fn record(&self) -> JobRecord {
        self.record.lock().clone()
    }

    /// Its live progress.
    pub fn status(&self) -> Status {
        let live = self.live.lock();
        let in_phase = live.phase_started.elapsed();
        let remaining = (live.done > live.phase_from && live.total >= live.done).then(|| {
            in_phase.mul_f64((live.total - live.done) as f64 / (live.done - live.phase_from) as f64)
        });
        Status {
            phase: live.phase.clone(),
            done: live.done,
            total: live.total,
            elapsed: self.started.elapsed(),
            remaining,
        }
    }

    /// Asks the job to stop at its next progress report.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Blocks until the job has ended; returns its final record.
    pub fn wait(&self) -> JobRecord {
        let mut live = self.live.lock();
        while !live.finished {
            self.ended.wait(&mut live);
        }
        drop(live);
        self.record()
    }

    /// Blocks until the job has ended or `timeout` has passed: its final record, or `None` while it
    /// still runs.
    pub fn wait_for(&self, timeout: Duration) -> Option<JobRecord> {
        let deadline = Instant::now() + timeout;
        let mut live = self.live.lock();
        while !live.finished && !self.ended.wait_until(&mut live, deadline).timed_out() {}
        let finished = live.finished;
        drop(live);
        finished.then(|| self.record())
    }
}

/// Forwards a job's progress to its live status and to the caller's progress (if any); cancels when
/// either the job is cancelled or the caller says so.
struct JobProgress<'a> {
    job: &'a Job,
    caller: Option<&'a dyn Progress>,
}

impl Progress for JobProgress<'_> {
    fn update(&self, phase: &str, done: u64, total: u64) -> bool {
        {
            let mut live = self.job.live.lock();
            if restarts(live.done, live.total, done, total) {
                (live.phase_started, live.phase_from) = (Instant::now(), done);
            }
            if live.phase != phase {
                live.phase = phase.to_string();
            }
            (live.done, live.total) = (done, total);
        }
        let caller_goes_on = self.caller.is_none_or(|c| c.update(phase, done, total));
        if !caller_goes_on {
            self.job.cancel();
        }
        !self.job.cancel.load(Ordering::Relaxed)
    }
}

/// The jobs of one open database.
pub struct Jobs {
    live: Mutex<HashMap<u64, Arc<Job>>>,
    next_id: Mutex<u64>,
}

impl Jobs {
    /// Reads the job records of `store`: jobs recorded as running belong to a process that died, and
    /// are marked failed.
    ///
    /// A damaged record does not stop the open (CHECK reports it, SHOW JOBS fails naming it); its id,
    /// from its key, still counts for the next id.
    pub fn open(store: &Store) -> Result<Jobs> {
        let stored = store.records(NAMESPACE)?;
        let largest = stored.iter().filter_map(|(name, _)| name.parse::<u64>().ok()).max().unwrap_or(0);
        let all: Vec<JobRecord> =
            stored.iter().filter_map(|(name, bytes)| decode(name, bytes).ok()).collect();
        let interrupted: Vec<JobRecord> =
            all.iter().filter(|r| r.state == JobState::Running).cloned().collect();
        if !interrupted.is_empty() {
            store.write(|txn| -> Result<()> {
                for mut r in interrupted {
                    r.state = JobState::Failed;
                    r.message = "interrupted: the process running it stopped".into();
                    put_record(txn, &r)?;
                }
                Ok(())
            })?;
        }
        let next_id = all.iter().map(|r| r.id).max().unwrap_or(0).max(largest) + 1;
        Ok(Jobs { live: Mutex::new(HashMap::new()), next_id: Mutex::new(next_id) })
    }

    /// Records a new running job for `model` (trained by `algorithm`) and returns it. The oldest
    /// finished records beyond [`KEPT_JOBS`] are removed in the same write.
    pub fn start(&self, store: &Store, model: &str, algorithm: &str) -> Result<Arc<Job>> {
        let mut next_id = self.next_id.lock();
        let record = JobRecord {
            id: *next_id,
            model: model.to_string(),
            algorithm: algorithm.to_string(),
            state: JobState::Running,
            message: String::new(),
            started_ms: now_ms(),
            finished_ms: 0,
            version: 0,
        };
        // A damaged record is left for CHECK to report, not pruned and not in the way of a new job.
        let old: Vec<JobRecord> =
            store.records(NAMESPACE)?.iter().filter_map(|(name, bytes)| decode(name, bytes).ok()).collect();
        store.write(|txn| -> Result<()> {
            let finished: Vec<&JobRecord> = old.iter().filter(|r| r.state != JobState::Running).collect();
            for r in finished.iter().take(finished.len().saturating_sub(KEPT_JOBS - 1)) {
                txn.delete_record(NAMESPACE, &record_name(r.id))?;
            }
            put_record(txn, &record)
        })?;
        *next_id += 1;
        let job = Arc::new(Job {
            record: Mutex::new(record),
            started: Instant::now(),
            live: Mutex::new(Live {
                phase: "starting".into(),
                done: 0,
                total: 0,
                phase_started: Instant::now(),
                phase_from: 0,
                finished: false,
            }),
            ended: Condvar::new(),
            cancel: AtomicBool::new(false),
        });
        self.live.lock().insert(job.id(), Arc::clone(&job));
        Ok(job)
    }

    /// Runs `work` as job `job` in this thread, with progress forwarded to `caller`. `work` publishes
    /// the model and, in the same write, the job's `done` record, and returns what it produced with
    /// that record. On an error the job is recorded as failed or cancelled instead. Returns what the
    /// work produced, or its error.
    pub fn run<T>(
        &self,
        store: &Store,
        job: &Job,
        caller: Option<&dyn Progress>,
        work: impl FnOnce(&dyn Progress) -> Result<(T, JobRecord)>,
    ) -> Result<T> {
        let outcome = work(&JobProgress { job, caller });
        let finished = match &outcome {
            Ok((_, done)) => Ok(done.clone()),
            Err(e) => {
                let mut r = job.record();
                r.state = if matches!(e.kind(), ErrorKind::Cancelled(_)) {
                    JobState::Cancelled
                } else {
                    JobState::Failed
                };
                r.message = e.message().to_string();
                r.finished_ms = now_ms();
                store.write(|txn| put_record(txn, &r)).map(|()| r)
            }
        };
        let record = match finished {
            Ok(r) => r,
            Err(e) => {
                // The end could not be recorded; reopening the database marks the job failed.
                let mut r = job.record();
                r.state = JobState::Failed;
                r.message = format!("{e}");
                r
            }
        };
        *job.record.lock() = record;
        self.live.lock().remove(&job.id());
        job.live.lock().finished = true;
        job.ended.notify_all();
        outcome.map(|(produced, _)| produced)
    }

    /// The running job `id` of this process, if any.
    pub fn get(&self, id: u64) -> Option<Arc<Job>> {
        self.live.lock().get(&id).cloned()
    }

    /// The running jobs of this process, by id.
    pub fn running(&self) -> Vec<Arc<Job>> {
        let mut jobs: Vec<Arc<Job>> = self.live.lock().values().cloned().collect();
        jobs.sort_by_key(|j| j.id());
        jobs
    }

    /// Cancels every running job and waits for each to stop.
    pub fn cancel_all(&self) {
        for job in self.running() {
            job.cancel();
            job.wait();
        }
    }
}
