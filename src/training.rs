//! A training run, the one path every TRAIN takes, in the foreground or in the background: an algorithm
//! with checked parameters trains on a snapshot of the visible interactions taken when the statement
//! ran, as a job (progress, cancel), and publishes the model as the next version of its name together
//! with the job's `done` record, in one atomic write (docs/jobs.md). A failed or cancelled run
//! publishes nothing.

use std::sync::Arc;
use std::time::Instant;

use recodb_storage::{Side, Snapshot, SnapshotPart};

use crate::error::{Error, Result};
use crate::eval::cold::ColdList;
use crate::exec::Parts;
use crate::jobs::{put_record, Job, JobState};
use crate::models::catalog::{now_ms, ModelRecord};
use crate::models::{Algorithm, Params};
use crate::progress::Progress;

/// The TRAIN option that hides the items a file lists from training entirely (for the item cold-start
/// protocol, see [`crate::eval::cold`]); it is no parameter of an algorithm.
pub const HOLD_OUT_ITEMS: &str = "hold_out_items";

/// The TRAIN option that hides every interaction of the users a file lists from training (for the
/// user cold-start protocol); it is no parameter of an algorithm.
pub const HOLD_OUT_USERS: &str = "hold_out_users";

/// The record parameter that fingerprints the items held out (`EVALUATE ... COLD ITEMS` checks it).
pub const HOLD_OUT_FINGERPRINT: &str = "hold_out_fingerprint";

/// The record parameter that fingerprints the users held out (`EVALUATE ... COLD USERS` checks it).
pub const HOLD_OUT_USERS_FINGERPRINT: &str = "hold_out_users_fingerprint";

/// The TRAIN option that holds out entities of `side`.
pub fn hold_out_option(side: Side) -> &'static str {
    match side {
        Side::Item => HOLD_OUT_ITEMS,
        Side::User => HOLD_OUT_USERS,
    }
}

/// The record parameter that fingerprints the entities of `side` held out.
pub fn fingerprint_param(side: Side) -> &'static str {
    match side {
        Side::Item => HOLD_OUT_FINGERPRINT,
        Side::User => HOLD_OUT_USERS_FINGERPRINT,
    }
}

/// Entities hidden from a training run: the file that listed them (as given) and the entities.
pub(crate) struct HeldOut {
    /// The path as TRAIN gave it.
    pub path: String,
    /// The entities.
    pub list: ColdList,
}

/// A training run that has started its job and taken its snapshot.
pub(crate) struct Training {
    algorithm: &'static Algorithm,
    params: Params,
    name: String,
    snapshot: Snapshot,
    held_out: Vec<HeldOut>,
    job: Arc<Job>,
}

impl Training {
    /// Takes a snapshot of the visible interactions (without those of the `held_out` items and users)
    /// and starts a job that will train `algorithm` with `params` into the model `name`.
    pub(crate) fn start(
        parts: &Parts,
        algorithm: &'static Algorithm,
        params: Params,
        name: &str,
        held_out: Vec<HeldOut>,
    ) -> Result<Training> {
        let mut snapshot = parts.store.snapshot(SnapshotPart::Visible)?;
        for h in &held_out {
            snapshot = h.list.remove_from(snapshot);
        }
        let job = parts.jobs.start(&parts.store, name, algorithm.name)?;
        Ok(Training { algorithm, params, name: name.to_string(), snapshot, held_out, job })
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
        let mut params = self.params.given();
        for h in &self.held_out {
            params.push((hold_out_option(h.list.side).to_string(), format!("'{}'", h.path)));
            params.push((fingerprint_param(h.list.side).to_string(), h.list.fingerprint()));
        }
        let record = ModelRecord {
            name: self.name.clone(),
            algorithm: self.algorithm.name.to_string(),
            version: 0,
            params,
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
