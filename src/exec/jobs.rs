//! SHOW JOBS, WAIT JOB and CANCEL JOB.

use std::time::Duration;

use recodb_query::Literal;

use super::context::Context;
use super::show::Page;
use crate::error::{Error, ErrorKind, Object, Result, ResultExt};
use crate::jobs::{records, Job, JobRecord, JobState};
use crate::result::{ColumnType, ResultSet};
use crate::value::Value;

/// `SHOW JOBS [LIMIT n] [OFFSET n]`: the most recent jobs first, with live progress for running ones: id, model,
/// algorithm, state, phase, progress (the phase's done fraction), elapsed and remaining (an estimate
/// for the current phase) seconds, and the message of a job that failed.
pub(super) fn show(ctx: &Context<'_>, page: &Page) -> Result<ResultSet> {
    let mut set = ResultSet::new(&[
        ("id", ColumnType::Int),
        ("model", ColumnType::Text),
        ("algorithm", ColumnType::Text),
        ("state", ColumnType::Text),
        ("phase", ColumnType::Text),
        ("progress", ColumnType::Float),
        ("elapsed", ColumnType::Float),
        ("remaining", ColumnType::Float),
        ("message", ColumnType::Text),
    ]);
    for r in page.rows(records(ctx.store())?.into_iter().rev(), usize::MAX) {
        let live = ctx.jobs().get(r.id).filter(|_| r.state == JobState::Running);
        let (phase, progress, elapsed, remaining) = match live.map(|job| job.status()) {
            Some(s) => (
                Value::Text(s.phase),
                if s.total > 0 { Value::Float(s.done as f64 / s.total as f64) } else { Value::Null },
                Value::Float(s.elapsed.as_secs_f64()),
                s.remaining.map_or(Value::Null, |d| Value::Float(d.as_secs_f64())),
            ),
            None => {
                let elapsed = r.finished_ms.checked_sub(r.started_ms).filter(|_| r.finished_ms > 0);
                (
                    Value::Null,
                    Value::Null,
                    elapsed.map_or(Value::Null, |ms| Value::Float(ms as f64 / 1000.0)),
                    Value::Null,
                )
            }
        };
        set.push(vec![
            Value::Int(r.id as i64),
            Value::Text(r.model),
            Value::Text(r.algorithm),
            Value::from(r.state.as_str()),
            phase,
            progress,
            elapsed,
            remaining,
            if r.message.is_empty() { Value::Null } else { Value::Text(r.message) },
        ]);
    }
    Ok(set)
}

/// The record of job `id`, or a not-found error naming it.
fn record(ctx: &Context<'_>, id: u64) -> Result<JobRecord> {
    records(ctx.store())?.into_iter().find(|r| r.id == id).ok_or_else(|| {
        Error::not_found(
            Object::Job,
            id.to_string(),
            format!("no job with id {id}"),
            [],
            "SHOW JOBS lists them",
        )
    })
}

/// How often WAIT JOB passes the job's progress on and asks whether to go on waiting.
const WAIT_TICK: Duration = Duration::from_millis(100);

/// `WAIT JOB id`: blocks until the job ends, passing the job's progress on to the statement's (the
/// shell draws the job's bar) every [`WAIT_TICK`]. One row (job, model, algorithm, state, version,
/// seconds) when it published its model; when it failed, a job-failed error with its message; when it
/// was cancelled, a cancelled error. When the statement's progress says stop (Ctrl-C), a cancelled
/// error of kind `wait`: the job itself runs on.
pub(super) fn wait(ctx: &Context<'_>, job: &Literal) -> Result<ResultSet> {
    let id = ctx.bind.count(job, "the job id")?;
    let r = match ctx.jobs().get(id) {
        Some(job) => follow(ctx, &job)?,
        None => record(ctx, id).at(job.span)?,
    };
    match r.state {
        JobState::Done => Ok(ResultSet::single(vec![
            ("job", Value::Int(r.id as i64)),
            ("model", Value::Text(r.model)),
            ("algorithm", Value::Text(r.algorithm)),
            ("state", Value::from(r.state.as_str())),
            ("version", Value::Int(r.version as i64)),
            ("seconds", Value::Float(r.finished_ms.saturating_sub(r.started_ms) as f64 / 1000.0)),
        ])),
        JobState::Cancelled => Err(Error::new(
            ErrorKind::Cancelled("training".into()),
            format!("job {id} was cancelled; it published nothing"),
        )),
        JobState::Failed | JobState::Running => Err(Error::new(
            ErrorKind::JobFailed { job: id, message: r.message.clone() },
            format!("job {id} failed: {}", r.message),
        )),
    }
}

/// Waits for the running `job`, reporting its progress to the statement's; its final record, or a
/// cancelled error when the statement's progress says stop.
fn follow(ctx: &Context<'_>, job: &Job) -> Result<JobRecord> {
    loop {
        if let Some(done) = job.wait_for(WAIT_TICK) {
            return Ok(done);
        }
        let status = job.status();
        if !ctx.progress.update(&status.phase, status.done, status.total) {
            let id = job.id();
            return Err(Error::new(
                ErrorKind::Cancelled("wait".into()),
                format!("stopped waiting for job {id}; it goes on running (CANCEL JOB {id} stops it)"),
            ));
        }
    }
}

/// `CANCEL JOB id`: stops a running job and waits until it has stopped; it publishes nothing. One row:
/// job and state. A conflict error when the job is not running.
pub(super) fn cancel(ctx: &Context<'_>, job: &Literal) -> Result<ResultSet> {
    let id = ctx.bind.count(job, "the job id")?;
    let Some(live) = ctx.jobs().get(id) else {
        let r = record(ctx, id).at(job.span)?;
        return Err(
            Error::conflict(format!("job {id} is not running (it is {})", r.state.as_str())).at(job.span)
        );
    };
    live.cancel();
    let r = live.wait();
    Ok(ResultSet::single(vec![("job", Value::Int(r.id as i64)), ("state", Value::from(r.state.as_str()))]))
}
