//! What a statement may touch. [`Parts`] are the parts of an open database (the store, the catalog of
//! models, the training jobs), shared so that a background job can keep them after its statement
//! returns. A [`Context`] is one statement's view: those parts, its bound parameters, and where its
//! progress goes. Every statement module works through a `Context`; none reaches into `Database`.

use std::sync::Arc;

use recodb_query::{Ident, Literal};
use recodb_storage::{Key, Side, Snapshot, SnapshotPart, Store};

use super::bind::Binder;
use crate::error::{Error, Object, Result, ResultExt};
use crate::jobs::Jobs;
use crate::models::catalog::{Catalog, Loaded};
use crate::progress::Progress;

/// The parts of an open database that statements work on.
#[derive(Clone)]
pub(crate) struct Parts {
    /// The store: users, items, interactions, tags, records and blobs.
    pub store: Arc<Store>,
    /// The trained models and the cache of loaded ones.
    pub catalog: Arc<Catalog>,
    /// The training jobs of this process.
    pub jobs: Arc<Jobs>,
    /// Whether statements that change the database are refused.
    pub read_only: bool,
}

/// One statement's execution context.
pub(crate) struct Context<'a> {
    parts: &'a Parts,
    /// Binds the statement's literals and `?` parameters.
    pub bind: Binder<'a>,
    /// Receives progress of long work and may cancel it.
    pub progress: &'a dyn Progress,
}

impl<'a> Context<'a> {
    /// A context over `parts` for a statement whose parameters `bind` resolves.
    pub(crate) fn new(parts: &'a Parts, bind: Binder<'a>, progress: &'a dyn Progress) -> Context<'a> {
        Context { parts, bind, progress }
    }

    /// The database's parts (to hand to a background job).
    pub(crate) fn parts(&self) -> &'a Parts {
        self.parts
    }

    /// The store.
    pub(crate) fn store(&self) -> &'a Store {
        &self.parts.store
    }

    /// The training jobs.
    pub(crate) fn jobs(&self) -> &'a Jobs {
        &self.parts.jobs
    }

    /// The catalog of models.
    pub(crate) fn catalog(&self) -> &'a Catalog {
        &self.parts.catalog
    }

    /// The current version of the model `name` names; an error pointed at the name when there is none.
    pub(crate) fn model(&self, name: &Ident) -> Result<Arc<Loaded>> {
        self.catalog().get(self.store(), &name.value).at(name.span)
    }

    /// The model `name` names, or without a name the most recently trained one.
    pub(crate) fn model_or_latest(&self, name: Option<&Ident>) -> Result<Arc<Loaded>> {
        match name {
            Some(name) => self.model(name),
            None => self.catalog().resolve(self.store(), None),
        }
    }

    /// The key `key` binds to and the id of that user or item; a not-found error pointed at the key
    /// when the database has none.
    pub(crate) fn entity(&self, side: Side, key: &Literal) -> Result<(Key, u32)> {
        let bound = self.bind.key(key)?;
        match self.store().id_of(side, &bound)? {
            Some(id) => Ok((bound, id)),
            None => Err(unknown(self.store(), side, &bound)?.at(key.span)),
        }
    }

    /// A consistent snapshot of the visible interactions (the holdout excluded).
    pub(crate) fn snapshot(&self) -> Result<Snapshot> {
        Ok(self.store().snapshot(SnapshotPart::Visible)?)
    }
}

/// The error for a user or item key the database does not have; when the key of the other type that
/// reads the same exists (`196` for `'196'`), the error says so.
pub(crate) fn unknown(store: &Store, side: Side, key: &Key) -> Result<Error> {
    let what = if side == Side::User { Object::User } else { Object::Item };
    let hint = match twin(store, side, key)? {
        Some(other) => format!("{side} {other} exists; {}", twin_explained(key, &other)),
        None => String::new(),
    };
    Ok(Error::not_found(what, key.to_string(), format!("no {side} with key {key}"), [], &hint))
}

/// The key of the other type that reads the same as `key` (`196` for `'196'`, `'196'` for `196`), if
/// the database has a `side` entity with it. Keys of the two types are different keys.
pub(crate) fn twin(store: &Store, side: Side, key: &Key) -> Result<Option<Key>> {
    let other = match key {
        Key::Str(text) => text.parse::<u64>().ok().filter(|n| n.to_string() == *text).map(Key::Int),
        Key::Int(n) => Some(Key::Str(n.to_string())),
    };
    match other {
        Some(other) if store.id_of(side, &other)?.is_some() => Ok(Some(other)),
        _ => Ok(None),
    }
}

/// Why `key` and its twin `other` are two keys.
pub(crate) fn twin_explained(key: &Key, other: &Key) -> String {
    format!("{key} and {other} are different keys: a quoted key is text, an unquoted one an integer")
}
