//! A training run, the one path every TRAIN takes, in the foreground or in the background: an algorithm
//! with checked parameters trains on a snapshot of the visible interactions taken when the statement
//! ran, as a job (progress, cancel), and publishes the model as the next version of its name together
//! with the job's `done` record, in one atomic write (docs/jobs.md). A failed or cancelled run
//! publishes nothing.

use std::sync::Arc;
use std::time::Instant;

use recodb_storage::{Snapshot, SnapshotPart};

use crate::error::{Error, Result};
use crate::eval::cold::ColdItems;
use crate::exec::Parts;
use crate::jobs::{put_record, Job, JobState};
use crate::models::catalog::{now_ms, ModelRecord};
use crate::models::{Algorithm, Params};
use crate::progress::Progress;

/// The TRAIN option that hides the items a file lists from training entirely (for the item cold-start
/// protocol, see [`crate::eval::cold`]); it is no parameter of an algorithm.
pub const HOLD_OUT_ITEMS: &str = "hold_out_items";

/// The record parameter that fingerprints the items held out (`EVALUATE ... COLD ITEMS` checks it).
pub const HOLD_OUT_FINGERPRINT: &str = "hold_out_fingerprint";

/// Items hidden from a training run: the file that listed them (as given) and the items.
pub(crate) struct HeldOut {
    /// The path as TRAIN gave it.
    pub path: String,
    /// The items.
    pub items: ColdItems,
}

/// A training run that has started its job and taken its snapshot.
pub(crate) struct Training {
    algorithm: &'static Algorithm,
    params: Params,
    name: String,
    snapshot: Snapshot,
    held_out: Option<HeldOut>,
    job: Arc<Job>,
}

/// `snapshot` without any interaction with the `held_out` items (the id bounds kept: the items stay
/// known, with no interaction).
fn without_items(snapshot: Snapshot, held_out: &ColdItems) -> Snapshot {
    let mut indptr = Vec::with_capacity(snapshot.indptr.len());
    let mut indices = Vec::with_capacity(snapshot.indices.len());
    let mut weights = snapshot.weights.as_ref().map(|w| Vec::with_capacity(w.len()));
    indptr.push(0);
    for u in 0..snapshot.n_users {
        let row = snapshot.row(u);
        let row_weights = snapshot.row_weights(u);
        for (at, &item) in row.iter().enumerate() {
            if !held_out.contains(item) {
                indices.push(item);
                if let (Some(w), Some(rw)) = (weights.as_mut(), row_weights) {
                    w.push(rw[at]);
                }
            }
        }
        indptr.push(indices.len());
    }
    Snapshot { indptr, indices, weights, ..snapshot }
}

impl Training {
    /// Takes a snapshot of the visible interactions (without those of the `held_out` items) and starts
    /// a job that will train `algorithm` with `params` into the model `name`.
    pub(crate) fn start(
        parts: &Parts,
        algorithm: &'static Algorithm,
        params: Params,
        name: &str,
        held_out: Option<HeldOut>,
    ) -> Result<Training> {
        let mut snapshot = parts.store.snapshot(SnapshotPart::Visible)?;
        if let Some(h) = &held_out {
            snapshot = without_items(snapshot, &h.items);
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
        if let Some(h) = &self.held_out {
            params.push((HOLD_OUT_ITEMS.to_string(), format!("'{}'", h.path)));
            params.push((HOLD_OUT_FINGERPRINT.to_string(), h.items.fingerprint()));
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
