//! EXPORT RECOMMENDATIONS: every user's top list written to a TSV file for outside tools.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use recodb_storage::{Key, Side};

use crate::error::{Error, Result};
use crate::models::topk::top_k;
use crate::progress::Progress;
use crate::result::ResultSet;
use crate::value::Value;
use crate::Database;

/// Users scored per step: one parallel batch, then its lines are written in user order.
const STEP: usize = 2048;

/// `EXPORT RECOMMENDATIONS model TOP n TO 'path'`: writes a header `user item rank score` and, for every
/// user in id order, its `top` best items (the user's visible items excluded, as EVALUATE does, so the
/// file can be evaluated against a holdout outside; equal scores in ascending item id order), tab
/// separated, keys bare as import files hold them (quoted only where the TSV needs it). The file appears whole or not at all: it is written
/// beside its final name and renamed at the end. One row: users, rows, path, seconds.
pub fn recommendations(
    db: &Database,
    model: &str,
    top: usize,
    path: &Path,
    progress: &dyn Progress,
) -> Result<ResultSet> {
    let started = Instant::now();
    let loaded = db.catalog().get(db.store(), model)?;
    let model = loaded.model.as_ref();
    let store = db.store();
    let train = db.snapshot()?;
    let users = store.entities(Side::User, 0, usize::MAX)?;
    let mut item_keys = vec![None; model.n_items() as usize];
    for (id, key) in store.entities(Side::Item, 0, usize::MAX)? {
        if let Some(slot) = item_keys.get_mut(id as usize) {
            *slot = Some(raw(&key));
        }
    }
    let partial = partial_path(path);
    let io = |e: std::io::Error| Error::Invalid(format!("cannot write {}: {e}", partial.display()));
    let csv = |e: csv::Error| Error::Invalid(format!("cannot write {}: {e}", partial.display()));
    let mut out = csv::WriterBuilder::new()
        .delimiter(b'\t')
        .from_writer(BufWriter::new(File::create(&partial).map_err(io)?));
    let written = (|| {
        out.write_record(["user", "item", "rank", "score"]).map_err(csv)?;
        let mut rows = 0u64;
        for (step, chunk) in users.chunks(STEP).enumerate() {
            if !progress.update("export recommendations", (step * STEP) as u64, users.len() as u64) {
                return Err(Error::Cancelled("export"));
            }
            let lists: Vec<Vec<(u32, f32)>> = chunk
                .par_iter()
                .map_init(
                    || vec![0f32; model.n_items() as usize],
                    |scores, (user, _)| {
                        let seen = if *user < train.n_users { train.row(*user) } else { &[] };
                        model.score(*user, seen, scores);
                        let live =
                            |i: u32| item_keys[i as usize].is_some() && seen.binary_search(&i).is_err();
                        top_k(scores, top, live)
                    },
                )
                .collect();
            for ((_, user), list) in chunk.iter().zip(lists) {
                let user = raw(user);
                for (rank, (item, score)) in list.iter().enumerate() {
                    let item = item_keys[*item as usize].as_deref().unwrap_or_default();
                    let (rank, score) = ((rank + 1).to_string(), score.to_string());
                    out.write_record([user.as_str(), item, &rank, &score]).map_err(csv)?;
                    rows += 1;
                }
            }
        }
        out.flush().map_err(io)?;
        out.get_ref().get_ref().sync_all().map_err(io)?;
        Ok(rows)
    })();
    drop(out);
    let rows = match written {
        Ok(rows) => rows,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, path)
        .map_err(|e| Error::Invalid(format!("cannot move the export to {}: {e}", path.display())))?;
    Ok(ResultSet::single(vec![
        ("users", Value::Int(users.len() as i64)),
        ("rows", Value::Int(i64::try_from(rows).unwrap_or(i64::MAX))),
        ("path", Value::Text(path.display().to_string())),
        ("seconds", Value::Float(started.elapsed().as_secs_f64())),
    ]))
}

/// A key as an import file holds it: digits for an integer key, the bare text of a string key (a
/// string key made of digits reads back as an integer unless imported with `keys = 'string'`).
fn raw(key: &Key) -> String {
    match key {
        Key::Int(v) => v.to_string(),
        Key::Str(s) => s.clone(),
    }
}

/// Where the file is written before it is renamed to `path`.
fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".partial");
    path.with_file_name(name)
}
