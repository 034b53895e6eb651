//! A training run, the one path every TRAIN takes, in the foreground or in the background: an algorithm
//! with checked parameters trains on a snapshot of the visible interactions taken when the statement
//! ran, as a job (progress, cancel), and publishes the model as the next version of its name together
//! with the job's `done` record, in one atomic write (docs/jobs.md). A failed or cancelled run
//! publishes nothing.

use std::sync::Arc;
use std::time::Instant;

use recodb_storage::{Snapshot, SnapshotPart};

use crate::error::{Error, Result};
use crate::exec::Parts;
use crate::jobs::{put_record, Job, JobState};
use crate::models::catalog::{now_ms, ModelRecord};
use crate::models::{Algorithm, Params};
use crate::progress::Progress;

/// A training run that has started its job and taken its snapshot.
pub(crate) struct Training {
    algorithm: &'static Algorithm,
    params: Params,
    name: String,
    snapshot: Snapshot,
    job: Arc<Job>,
}

impl Training {
    /// Takes a snapshot of the visible interactions and starts a job that will train `algorithm` with
    /// `params` into the model `name`.
    pub(crate) fn start(
        parts: &Parts,
        algorithm: &'static Algorithm,
        params: Params,
        name: &str,
    ) -> Result<Training> {
        let snapshot = parts.store.snapshot(SnapshotPart::Visible)?;
        let job = parts.jobs.start(&parts.store, name, algorithm.name)?;
        Ok(Training { algorithm, params, name: name.to_string(), snapshot, job })
    }

    /// The job's id.
    pub(crate) fn job(&self) -> u64 {
        self.job.id()
    }

    /// Trains and publishes, reporting progress to `caller` (which may cancel) besides the job's own
    /// status. Returns the published record and the job's id.
    pub(crate) fn run(self, parts: &Parts, caller: Option<&dyn Progress>) -> Result<(ModelRecord, u64)> {
        let id = self.job();
        let record =
            parts.jobs.run(&parts.store, &self.job, caller, |progress| self.publish(parts, progress))?;
        Ok((record, id))
    }

    /// Trains, then publishes the model and the job's `done` record in one write. A cancel after
    /// training publishes nothing.
    fn publish(
        &self,
        parts: &Parts,
        progress: &dyn Progress,
    ) -> Result<(ModelRecord, crate::jobs::JobRecord)> {
        let started = Instant::now();
        let model = (self.algorithm.train)(&self.snapshot, &self.params, progress)?;
        if !progress.update("publish", 0, 1) {
            return Err(Error::cancelled("training"));
        }
        let snapshot = &self.snapshot;
        let record = ModelRecord {
            name: self.name.clone(),
            algorithm: self.algorithm.name.to_string(),
            version: 0,
            params: self.params.given(),
            data_version: snapshot.data_version,
            trained_at_ms: now_ms(),
            train_ms: started.elapsed().as_millis() as u64,
            users: snapshot.n_users,
            items: snapshot.n_items,
            interactions: snapshot.nnz() as u64,
        };
        parts.catalog.publish(&parts.store, record, model, |txn, published| {
            let mut done = self.job.record();
            done.state = JobState::Done;
            done.version = published.version;
            done.finished_ms = now_ms();
            put_record(txn, &done)?;
            Ok(done)
        })
    }
}
