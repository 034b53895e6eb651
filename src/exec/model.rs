//! TRAIN, SHOW MODELS, DESCRIBE MODEL and DROP MODEL.

use std::time::Instant;

use recodb_storage::{RoaringBitmap, Snapshot, Store};

use crate::error::{Error, Result};
use crate::jobs::{put_record, Job, JobRecord, JobState};
use crate::models::catalog::{now_ms, records, Catalog, ModelRecord};
use crate::models::{algorithm, check_parameters, Algorithm};
use crate::progress::Progress;
use crate::result::{ColumnType, ResultSet};
use crate::value::Value;
use crate::Database;

/// `TRAIN algorithm [AS name] [WITH (...)] [BACKGROUND]`: starts a job that trains on a snapshot of
/// the visible interactions (the holdout excluded, taken now) and publishes the result as the next
/// version of `name` (default: the algorithm's name). Without BACKGROUND it waits, reporting progress:
/// one row of model, algorithm, version, interactions, seconds and job. With BACKGROUND it returns at
/// once: one row of job, model, algorithm and state.
pub fn train(
    db: &Database,
    algo: &str,
    name: Option<&str>,
    params: &[(String, Value)],
    background: bool,
    progress: &dyn Progress,
) -> Result<ResultSet> {
    let algo = algorithm(algo)?;
    check_parameters(algo, params)?;
    let name = name.unwrap_or(algo.name()).to_string();
    let snapshot = db.snapshot()?;
    let job = db.jobs().start(db.store(), &name, algo.name())?;
    if background {
        let (store, catalog, jobs) = db.shared();
        let row = vec![
            ("job", Value::Int(job.id() as i64)),
            ("model", Value::Text(name.clone())),
            ("algorithm", Value::from(algo.name())),
            ("state", Value::from(JobState::Running.as_str())),
        ];
        let params = params.to_vec();
        rayon::spawn(move || {
            // The outcome is in the job's record; WAIT JOB and SHOW JOBS report it.
            let _ = jobs.run(&store, &job, None, |progress| {
                train_and_publish(&store, &catalog, &job, algo, &snapshot, &params, &name, progress)
                    .map(|(_, done)| done)
            });
        });
        return Ok(ResultSet::single(row));
    }
    let mut published = None;
    let done = db.jobs().run(db.store(), &job, Some(progress), |progress| {
        let (record, done) =
            train_and_publish(db.store(), db.catalog(), &job, algo, &snapshot, params, &name, progress)?;
        published = Some(record);
        Ok(done)
    })?;
    let published = published.ok_or_else(|| Error::Invalid("the training job published nothing".into()))?;
    Ok(ResultSet::single(vec![
        ("model", Value::Text(published.name)),
        ("algorithm", Value::Text(published.algorithm)),
        ("version", Value::Int(published.version as i64)),
        ("interactions", Value::Int(published.interactions as i64)),
        ("seconds", Value::Float(published.train_ms as f64 / 1000.0)),
        ("job", Value::Int(done.id as i64)),
    ]))
}

/// Trains `algo` on `snapshot` and publishes the model as the next version of `name` together with
/// `job`'s `done` record, in one atomic write. A cancel after training publishes nothing.
#[allow(clippy::too_many_arguments)]
fn train_and_publish(
    store: &Store,
    catalog: &Catalog,
    job: &Job,
    algo: &dyn Algorithm,
    snapshot: &Snapshot,
    params: &[(String, Value)],
    name: &str,
    progress: &dyn Progress,
) -> Result<(ModelRecord, JobRecord)> {
    let started = Instant::now();
    let model = algo.train(snapshot, params, progress)?;
    if !progress.update("publish", 0, 1) {
        return Err(Error::Cancelled("training"));
    }
    let record = ModelRecord {
        name: name.to_string(),
        algorithm: algo.name().to_string(),
        version: 0,
        params: params.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.to_string())).collect(),
        data_version: snapshot.data_version,
        trained_at_ms: now_ms(),
        train_ms: started.elapsed().as_millis() as u64,
        users: snapshot.n_users,
        items: snapshot.n_items,
        interactions: snapshot.nnz() as u64,
    };
    catalog.publish(store, record, model, |txn, published| {
        let mut done = job.record();
        done.state = JobState::Done;
        done.version = published.version;
        done.finished_ms = now_ms();
        put_record(txn, &done)?;
        Ok(done)
    })
}

/// `SHOW MODELS [LIMIT n]`: one row per model.
pub fn show(db: &Database, limit: Option<usize>) -> Result<ResultSet> {
    let mut set = ResultSet::new(&[
        ("name", ColumnType::Text),
        ("algorithm", ColumnType::Text),
        ("version", ColumnType::Int),
        ("interactions", ColumnType::Int),
        ("seconds", ColumnType::Float),
    ]);
    for r in records(db.store())?.into_iter().take(limit.unwrap_or(usize::MAX)) {
        set.push(vec![
            Value::Text(r.name),
            Value::Text(r.algorithm),
            Value::Int(r.version as i64),
            Value::Int(r.interactions as i64),
            Value::Float(r.train_ms as f64 / 1000.0),
        ]);
    }
    Ok(set)
}

/// `DESCRIBE MODEL name`: one row per property. For models that keep per-user state, how many of the
/// users with visible interactions now are served as trained and how many are folded in (new, or their
/// items changed since training); how many items with interactions arrived after training; for a model
/// with binary codes, how its item index searches and its bytes per item (codes and index).
pub fn describe(db: &Database, name: &str) -> Result<ResultSet> {
    let loaded = db.catalog().get(db.store(), name)?;
    let r = loaded.record.clone();
    let params = r.params.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", ");
    let mut set = ResultSet::new(&[("property", ColumnType::Text), ("value", ColumnType::Text)]);
    let rows = [
        ("name", r.name),
        ("algorithm", r.algorithm),
        ("version", r.version.to_string()),
        ("parameters", params),
        ("trained_on_data_version", r.data_version.to_string()),
        ("users", r.users.to_string()),
        ("items", r.items.to_string()),
        ("interactions", r.interactions.to_string()),
        ("train_seconds", format!("{:.3}", r.train_ms as f64 / 1000.0)),
    ];
    for (k, v) in rows {
        set.push(vec![Value::from(k), Value::Text(v)]);
    }
    let data = db.snapshot()?;
    let model = loaded.model.as_ref();
    let active = (0..data.n_users).filter(|&u| !data.row(u).is_empty());
    let trained: Vec<bool> = active.filter_map(|u| model.is_trained(u, data.row(u))).collect();
    if !trained.is_empty() {
        let served = trained.iter().filter(|&&t| t).count();
        set.push(vec![Value::from("users_trained"), Value::Text(served.to_string())]);
        set.push(vec![Value::from("users_folded_in"), Value::Text((trained.len() - served).to_string())]);
    }
    let mut new_items = RoaringBitmap::new();
    new_items.extend(data.indices.iter().copied().filter(|&i| i >= model.n_items()));
    set.push(vec![Value::from("items_after_training"), Value::Text(new_items.len().to_string())]);
    if let Some(codes) = model.binary() {
        let index = codes.item_index();
        let served = index.codes().as_words().len() * 8 + index.index_bytes();
        let per_item = served as f64 / f64::from(index.codes().len().max(1));
        let plan = if index.uses_mih() {
            format!("multi-index hashing, {} tables", index.tables())
        } else {
            format!("linear scan ({})", index.build_reason())
        };
        set.push(vec![Value::from("item_index"), Value::Text(plan)]);
        let folded = loaded.folded_items(db.store())?.map_or(0, |f| f.len());
        set.push(vec![Value::from("items_folded_in"), Value::Text(folded.to_string())]);
        set.push(vec![Value::from("served_bytes_per_item"), Value::Text(format!("{per_item:.1}"))]);
    }
    Ok(set)
}

/// `DROP MODEL name`: one row, `dropped`.
pub fn drop_model(db: &Database, name: &str) -> Result<ResultSet> {
    if !db.catalog().drop_model(db.store(), name)? {
        return Err(Error::Invalid(format!(
            "no model named '{name}' (SHOW MODELS lists the trained models)"
        )));
    }
    Ok(ResultSet::single(vec![("dropped", Value::Text(name.to_string()))]))
}
