//! Tests of the readers over small files written into a temporary directory, and over the real data
//! sets when `../shared/data` is present.

mod delimited;
mod entities;
mod errors;
mod lightgcn;
mod movielens;
mod real_data;

use std::path::{Path, PathBuf};

use recodb_storage::Key;

use super::{
    read_entities, read_interactions, Entity, ImportError, ImportSpec, Interaction, ReadStats, Target,
    UnreadColumn,
};
use crate::value::Value;

/// Writes `bytes` to `name` in `dir`.
fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Options from `(name, value)` pairs.
fn opts(pairs: &[(&str, Value)]) -> Vec<(String, Value)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// Validates and reads an interactions file.
fn interactions(
    path: &Path,
    format: Option<&str>,
    options: &[(&str, Value)],
) -> Result<(Vec<Interaction>, ReadStats), ImportError> {
    let spec = ImportSpec::new(path, Target::Interactions, format, &opts(options))?;
    let mut out = Vec::new();
    let stats = read_interactions(&spec, &mut |_, _| true, &mut |r| out.push(r))?;
    assert_eq!(stats.records, out.len() as u64);
    Ok((out, stats))
}

/// Validates and reads a users or items file.
fn entities(
    path: &Path,
    target: Target,
    format: Option<&str>,
    options: &[(&str, Value)],
) -> Result<(Vec<Entity>, ReadStats), ImportError> {
    let spec = ImportSpec::new(path, target, format, &opts(options))?;
    let mut out = Vec::new();
    let stats = read_entities(&spec, &mut |_, _| true, &mut |e| out.push(e))?;
    assert_eq!(stats.records, out.len() as u64);
    Ok((out, stats))
}

/// An interaction with integer keys.
fn pair(user: u64, item: u64, weight: Option<f32>, time: Option<i64>) -> Interaction {
    Interaction { user: Key::Int(user), item: Key::Int(item), weight, time }
}

/// An entity with an integer key.
fn entity(key: u64, tags: &[&str]) -> Entity {
    Entity { key: Key::Int(key), label: None, tags: tags.iter().map(|t| t.to_string()).collect() }
}
