//! EXPORT RECOMMENDATIONS and EXPORT CODES: every user's top list, or a model's binary codes, written
//! to files for outside tools.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use recodb_query::{Ident, Literal};
use recodb_storage::{Key, Side};

use super::context::Context;
use super::recommend::top;
use crate::error::{Error, Result, ResultExt};
use crate::models::topk::top_k;
use crate::result::ResultSet;
use crate::value::Value;

/// Users scored per step: one parallel batch, then its lines are written in user order.
const STEP: usize = 2048;

/// `EXPORT RECOMMENDATIONS model TOP n TO 'path'`: writes a header `user item rank score` and, for every
/// user in id order, its `top` best items (the user's visible items excluded, as EVALUATE does, so the
/// file can be evaluated against a holdout outside; equal scores in ascending item id order), tab
/// separated, keys bare as import files hold them (quoted only where the TSV needs it). The file appears whole or not at all: it is written
/// beside its final name and renamed at the end. One row: users, rows, path, seconds.
pub(super) fn recommendations(
    ctx: &Context<'_>,
    model: &Ident,
    top: &Literal,
    file: &Literal,
) -> Result<ResultSet> {
    let started = Instant::now();
    let top = self::top(ctx, top)?;
    let path = PathBuf::from(ctx.bind.text(file, "the file path")?);
    let path = path.as_path();
    let loaded = ctx.model(model)?;
    let model = loaded.model.as_ref();
    let store = ctx.store();
    let progress = ctx.progress;
    let train = ctx.snapshot()?;
    let users = store.entities(Side::User, 0, usize::MAX)?;
    let mut item_keys = vec![None; model.n_items() as usize];
    for (id, key) in store.entities(Side::Item, 0, usize::MAX)? {
        if let Some(slot) = item_keys.get_mut(id as usize) {
            *slot = Some(raw(&key));
        }
    }
    let rows = write_whole(path, |file| {
        let csv = |e: csv::Error| Error::io(path, e);
        let mut out = csv::WriterBuilder::new().delimiter(b'\t').from_writer(file);
        out.write_record(["user", "item", "rank", "score"]).map_err(csv)?;
        let mut rows = 0u64;
        for (step, chunk) in users.chunks(STEP).enumerate() {
            if !progress.update("export recommendations", (step * STEP) as u64, users.len() as u64) {
                return Err(Error::cancelled("export"));
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
        out.flush().map_err(cannot_write(path))?;
        Ok(rows)
    })
    .at(file.span)?;
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

/// `EXPORT CODES model USERS|ITEMS TO 'path'`: the binary codes of one side as raw little-endian packed
/// bytes, `bits / 8` per code and one code per id in id order (the layout FAISS binary indexes read;
/// an id without a code is all zeros), and beside it `path.keys`, one line per code: the entity's key
/// bare (empty for a deleted entity or a user trained on nothing). Both files appear whole or not at
/// all. One row: codes, bits, bytes, path, keys.
pub(super) fn codes(ctx: &Context<'_>, model: &Ident, side: Side, file: &Literal) -> Result<ResultSet> {
    let path = PathBuf::from(ctx.bind.text(file, "the file path")?);
    let path = path.as_path();
    let loaded = ctx.model(model)?;
    let codes = loaded
        .model
        .binary()
        .ok_or_else(|| {
            Error::unsupported(format!(
                "EXPORT CODES needs a model with binary codes; '{}' ({}) has none",
                loaded.record.name, loaded.record.algorithm
            ))
        })
        .at(model.span)?;
    let index = match side {
        Side::User => codes.user_index()?,
        Side::Item => codes.item_index(),
    };
    let store = index.codes();
    let bytes = store.export_raw();
    let mut keys = vec![String::new(); store.slots() as usize];
    for (id, key) in ctx.store().entities(side, 0, usize::MAX)? {
        if let Some(slot) = keys.get_mut(id as usize).filter(|_| store.contains(id)) {
            *slot = raw(&key);
        }
    }
    let keys_path = {
        let mut name = path.as_os_str().to_os_string();
        name.push(".keys");
        PathBuf::from(name)
    };
    write_whole(path, |out| out.write_all(&bytes).map_err(cannot_write(path))).at(file.span)?;
    write_whole(&keys_path, |out| {
        keys.iter().try_for_each(|k| writeln!(out, "{k}")).map_err(cannot_write(&keys_path))
    })
    .at(file.span)?;
    Ok(ResultSet::single(vec![
        ("codes", Value::Int(i64::from(store.slots()))),
        ("bits", Value::Int(i64::from(store.bits()))),
        ("bytes", Value::Int(bytes.len() as i64)),
        ("path", Value::Text(path.display().to_string())),
        ("keys", Value::Text(keys_path.display().to_string())),
    ]))
}

/// Writes a file through `write`, so that it appears whole or not at all: into a file beside `path`,
/// flushed to disk, then renamed to `path` (removed again when `write` fails).
fn write_whole<T>(path: &Path, write: impl FnOnce(&mut BufWriter<File>) -> Result<T>) -> Result<T> {
    let partial = partial_path(path);
    let io = cannot_write(&partial);
    let mut file = BufWriter::new(File::create(&partial).map_err(io)?);
    let written = write(&mut file).and_then(|value| {
        file.flush().map_err(io)?;
        file.get_ref().sync_all().map_err(io)?;
        Ok(value)
    });
    drop(file);
    match written {
        Ok(value) => {
            std::fs::rename(&partial, path).map_err(cannot_write(path))?;
            Ok(value)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

/// The error of a failed write to `path`.
fn cannot_write(path: &Path) -> impl Fn(std::io::Error) -> Error + Copy + '_ {
    move |e| Error::io(path, e)
}

/// Where the file is written before it is renamed to `path`.
fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".partial");
    path.with_file_name(name)
}
