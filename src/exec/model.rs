//! TRAIN, SHOW MODELS, DESCRIBE MODEL, DROP MODEL and SHOW ALGORITHMS.

use recodb_query::{Ident, OptionPair};
use recodb_storage::{RoaringBitmap, Side};

use std::path::Path;

use super::bind::{locate, pairs, shown};
use super::context::Context;
use super::rows;
use super::show::Page;
use crate::error::{Error, Result, ResultExt};
use crate::eval::cold::ColdList;
use crate::jobs::JobState;
use crate::models::catalog::{blob_prefix, records};
use crate::models::{algorithm, HeapBytes, ALGORITHMS};
use crate::result::{ColumnType, ResultSet};
use crate::training::{hold_out_option, HeldOut, Training};
use crate::value::Value;

/// `TRAIN algorithm [AS name] [WITH (...)] [BACKGROUND]`: checks the parameters (an error points at
/// the one at fault; `hold_out_items = 'path'`, for every algorithm, hides the items the file lists from
/// training entirely, and `hold_out_users = 'path'` every interaction of the users it lists), then starts a training run on a snapshot of the visible interactions taken now,
/// published as the next version of `name` (default: the algorithm's name). Without BACKGROUND it
/// waits, reporting progress: one row of model, algorithm, version, interactions, seconds and job. With
/// BACKGROUND it returns at once: one row of job, model, algorithm and state.
pub(super) fn train(
    ctx: &Context<'_>,
    algo: &Ident,
    name: Option<&Ident>,
    options: &[OptionPair],
    background: bool,
) -> Result<ResultSet> {
    let algorithm = algorithm(&algo.value).at(algo.span)?;
    let mut options = ctx.bind.options(options)?;
    let mut held_out = Vec::new();
    for side in [Side::Item, Side::User] {
        let option = hold_out_option(side);
        if let Some(at) = options.iter().position(|o| o.name.eq_ignore_ascii_case(option)) {
            let o = options.remove(at);
            let expected = match side {
                Side::Item => "the path of a file of item keys",
                Side::User => "the path of a file of user keys",
            };
            let path = o
                .value
                .as_str()
                .ok_or_else(|| Error::invalid(option, expected, shown(&o.value)).at(o.value_span))?;
            let list = ColdList::read(ctx.store(), side, Path::new(path)).at(o.value_span)?;
            held_out.push(HeldOut { path: path.to_string(), list });
        }
    }
    let params = algorithm.check(&pairs(&options)).map_err(|e| locate(e, &options))?;
    let name = name.map_or(algorithm.name, |n| n.value.as_str());
    let training = Training::start(ctx.parts(), algorithm, params, name, held_out)?;
    if background {
        let row = vec![
            ("job", Value::Int(training.job() as i64)),
            ("model", Value::from(name)),
            ("algorithm", Value::from(algorithm.name)),
            ("state", Value::from(JobState::Running.as_str())),
        ];
        let parts = ctx.parts().clone();
        // The outcome is in the job's record; WAIT JOB and SHOW JOBS report it.
        rayon::spawn(move || drop(training.run(&parts, None)));
        return Ok(ResultSet::single(row));
    }
    let (published, job) = training.run(ctx.parts(), Some(ctx.progress))?;
    Ok(ResultSet::single(vec![
        ("model", Value::Text(published.name)),
        ("algorithm", Value::Text(published.algorithm)),
        ("version", Value::Int(published.version as i64)),
        ("interactions", Value::Int(published.interactions as i64)),
        ("seconds", Value::Float(published.train_ms as f64 / 1000.0)),
        ("job", Value::Int(job as i64)),
    ]))
}

/// `SHOW MODELS [LIMIT n] [OFFSET n]`: one row per model, with the bytes its data takes on disk
/// (`bytes`) and in memory (`memory`, [`Model::memory_bytes`](crate::models::Model::memory_bytes)).
/// `memory` is null for a model this database has not loaded since it was opened (or not since its
/// current version was trained): SHOW MODELS does not load every model to list them; a statement that
/// uses the model (DESCRIBE MODEL, RECOMMEND) loads it.
pub(super) fn show(ctx: &Context<'_>, page: &Page) -> Result<ResultSet> {
    let mut set = ResultSet::new(&[
        ("name", ColumnType::Text),
        ("algorithm", ColumnType::Text),
        ("version", ColumnType::Int),
        ("interactions", ColumnType::Int),
        ("seconds", ColumnType::Float),
        ("bytes", ColumnType::Int),
        ("memory", ColumnType::Int),
    ]);
    for r in page.rows(records(ctx.store())?.into_iter(), usize::MAX) {
        let bytes = ctx.store().blob_bytes(&blob_prefix(&r.name, r.version))?;
        let loaded = ctx.catalog().cached(&r.name, r.version);
        let memory = loaded.map_or(Value::Null, |l| Value::Int(l.model.memory_bytes() as i64));
        set.push(vec![
            Value::Text(r.name),
            Value::Text(r.algorithm),
            Value::Int(r.version as i64),
            Value::Int(r.interactions as i64),
            Value::Float(r.train_ms as f64 / 1000.0),
            Value::Int(bytes as i64),
            memory,
        ]);
    }
    Ok(set)
}

/// `SHOW ALGORITHMS [LIMIT n] [OFFSET n]`: one row per parameter of every algorithm (algorithm, parameter, type,
/// default, accepted, description); an algorithm without parameters has one row that says so. This is
/// the table of README.md and the shell's `.help TRAIN`.
pub(super) fn algorithms(page: &Page) -> Result<ResultSet> {
    let mut set = ResultSet::new(&[
        ("algorithm", ColumnType::Text),
        ("parameter", ColumnType::Text),
        ("type", ColumnType::Text),
        ("default", ColumnType::Text),
        ("accepted", ColumnType::Text),
        ("description", ColumnType::Text),
    ]);
    let mut rows = Vec::new();
    for a in ALGORITHMS {
        if a.parameters.is_empty() {
            rows.push(vec![
                Value::from(a.name),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::from(a.about),
            ]);
        }
        for p in a.parameters {
            rows.push(vec![
                Value::from(a.name),
                Value::from(p.name),
                Value::from(p.type_name()),
                Value::Text(p.default_text()),
                Value::Text(p.accepted()),
                Value::from(p.doc),
            ]);
        }
    }
    for row in page.rows(rows.into_iter(), usize::MAX) {
        set.push(row);
    }
    Ok(set)
}

/// `DESCRIBE MODEL name`: one row per property. For models that keep per-user state, how many of the
/// users with visible interactions now are served as trained and how many are folded in (new, or their
/// items changed since training); how many items with interactions arrived after training; for a model
/// with binary codes, how its item index searches and its bytes per item (codes and index). The bytes
/// of its blobs on disk (`bytes_on_disk`) and of the loaded model in memory (`bytes_in_memory`,
/// [`Model::memory_bytes`](crate::models::Model::memory_bytes)).
pub(super) fn describe(ctx: &Context<'_>, name: &Ident) -> Result<ResultSet> {
    let loaded = ctx.model(name)?;
    let r = loaded.record.clone();
    let params = r.params.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", ");
    let bytes = ctx.store().blob_bytes(&blob_prefix(&r.name, r.version))?;
    let mut properties = vec![
        ("name", r.name),
        ("algorithm", r.algorithm),
        ("version", r.version.to_string()),
        ("parameters", params),
        ("trained_on_data_version", r.data_version.to_string()),
        ("users", r.users.to_string()),
        ("items", r.items.to_string()),
        ("interactions", r.interactions.to_string()),
        ("train_seconds", format!("{:.3}", r.train_ms as f64 / 1000.0)),
        ("bytes_on_disk", bytes.to_string()),
        ("bytes_in_memory", loaded.model.memory_bytes().to_string()),
    ];
    let data = ctx.snapshot()?;
    let serving = loaded.serving(ctx.store())?;
    let model = serving.as_ref();
    let active = (0..data.n_users).filter(|&u| !data.row(u).is_empty());
    let trained: Vec<bool> = active.filter_map(|u| model.is_trained(u, data.row(u))).collect();
    if !trained.is_empty() {
        let served = trained.iter().filter(|&&t| t).count();
        properties.push(("users_trained", served.to_string()));
        properties.push(("users_folded_in", (trained.len() - served).to_string()));
    }
    let mut new_items = RoaringBitmap::new();
    new_items.extend(data.indices.iter().copied().filter(|&i| i >= loaded.model.n_items()));
    properties.push(("items_after_training", new_items.len().to_string()));
    properties.extend(model.properties());
    if let Some(codes) = model.binary() {
        let index = codes.item_index();
        let served = index.heap_bytes();
        let per_item = served as f64 / f64::from(index.codes().len().max(1));
        let plan = if index.uses_mih() {
            format!("multi-index hashing, {} tables", index.tables())
        } else {
            format!("linear scan ({})", index.build_reason())
        };
        properties.push(("item_index", plan));
        let folded = loaded.folded_items(ctx.store())?.map_or(0, |f| f.len());
        properties.push(("items_folded_in", folded.to_string()));
        properties.push(("served_bytes_per_item", format!("{per_item:.1}")));
    }
    Ok(rows::pairs(["property", "value"], properties))
}

/// `DROP MODEL name`: one row, `dropped`; a not-found error at the name when there is no such model.
pub(super) fn drop_model(ctx: &Context<'_>, name: &Ident) -> Result<ResultSet> {
    ctx.catalog().drop_model(ctx.store(), &name.value).at(name.span)?;
    Ok(ResultSet::single(vec![("dropped", Value::Text(name.value.clone()))]))
}
