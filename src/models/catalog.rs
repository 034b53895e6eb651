//! The catalog of trained models: their records in the `records` tree (namespace `model`), their blobs
//! (`model/<name>/v<version>/<blob>`, with the `format` blob giving their layout version, see
//! [`super::blobs`]), publishing a new version atomically, and a cache of loaded models so that
//! RECOMMEND touches no disk after a model version's first use.
//!
//! A new version is published by one atomic write that stores its blobs and its record and removes the
//! previous version's blobs; queries that already hold the previous version (an `Arc`) finish with it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock};
use recodb_storage::rkyv::{self, rancor};
use recodb_storage::{read_archive, Store, WriteTxn};

use super::blobs::{encode, BlobFormat, Blobs, BLOB_FORMAT, FORMAT_BLOB};
use super::folded::{FoldedCache, FoldedItems};
use super::{algorithm, Model};
use crate::error::{Error, Object, Result};

const NAMESPACE: &str = "model";

/// What the database knows about one trained model.
#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[rkyv(crate = recodb_storage::rkyv)]
pub struct ModelRecord {
    /// The model's name.
    pub name: String,
    /// The algorithm that trained it.
    pub algorithm: String,
    /// 1 for the first training under this name, then 2, 3, ...
    pub version: u64,
    /// The parameters given to TRAIN, as text.
    pub params: Vec<(String, String)>,
    /// The database's data version the training snapshot was taken at.
    pub data_version: u64,
    /// When training finished, in milliseconds since the Unix epoch.
    pub trained_at_ms: u64,
    /// How long training took, in milliseconds.
    pub train_ms: u64,
    /// Users and items in the training snapshot (id bounds).
    pub users: u32,
    /// Items in the training snapshot (id bound).
    pub items: u32,
    /// Interactions trained on.
    pub interactions: u64,
}

/// A model version in memory with its record.
pub struct Loaded {
    /// The record it was loaded from.
    pub record: ModelRecord,
    /// The model.
    pub model: Arc<dyn Model>,
    /// Items folded in since training (models with binary codes).
    folded: FoldedCache,
    /// The model extended to the entities added since training, with the data version it is for
    /// (models that place entities from their tags).
    extended: Mutex<Option<(u64, Arc<dyn Model>)>>,
}

impl Loaded {
    fn new(record: ModelRecord, model: Box<dyn Model>) -> Loaded {
        Loaded { record, model: Arc::from(model), folded: FoldedCache::default(), extended: Mutex::default() }
    }

    /// The model as it serves the store's current data: for a model that places entities from their
    /// tags, extended to the users and items added since training (built once per data version);
    /// otherwise the model itself.
    pub fn serving(&self, store: &Store) -> Result<Arc<dyn Model>> {
        let Some(from_tags) = self.model.tag_placement() else { return Ok(Arc::clone(&self.model)) };
        let mut extended = self.extended.lock();
        let version = store.data_version()?;
        if let Some((_, model)) = extended.as_ref().filter(|(v, _)| *v == version) {
            return Ok(Arc::clone(model));
        }
        let tags = store.tags_now()?;
        let model: Arc<dyn Model> = Arc::from(from_tags.extended(&tags));
        *extended = Some((tags.data_version, Arc::clone(&model)));
        Ok(model)
    }

    /// The items that arrived after training, with codes folded in for the store's current data
    /// (`None` for a model without binary codes).
    pub fn folded_items(&self, store: &Store) -> Result<Option<Arc<FoldedItems>>> {
        match self.model.binary() {
            Some(codes) => self.folded.get(store, codes.as_ref(), self.model.n_items()).map(Some),
            None => Ok(None),
        }
    }
}

/// Loaded models by name; a version change in the store makes the next lookup reload.
#[derive(Default)]
pub struct Catalog {
    cache: RwLock<HashMap<String, Arc<Loaded>>>,
}

/// The prefix of the blob names of version `version` of model `name`.
pub(crate) fn blob_prefix(name: &str, version: u64) -> String {
    format!("model/{name}/v{version}/")
}

/// The record of model `name`, if it exists.
pub fn record(store: &Store, name: &str) -> Result<Option<ModelRecord>> {
    store.record(NAMESPACE, name)?.map(|bytes| decode(name, &bytes)).transpose()
}

/// Every model record, in name order.
pub fn records(store: &Store) -> Result<Vec<ModelRecord>> {
    store.records(NAMESPACE)?.into_iter().map(|(name, bytes)| decode(&name, &bytes)).collect()
}

/// The model records that decode, in name order, skipping damaged ones (which CHECK reports, and
/// which make statements that read them fail naming the model): opening the database reads these.
pub fn readable_records(store: &Store) -> Result<Vec<ModelRecord>> {
    Ok(store.records(NAMESPACE)?.into_iter().filter_map(|(name, bytes)| decode(&name, &bytes).ok()).collect())
}

/// One problem for each model record that does not decode, naming the model (for CHECK).
pub fn damaged_records(store: &Store) -> Result<Vec<String>> {
    damaged_in(store, NAMESPACE, decode)
}

/// The errors of `decode` for the records of `namespace` that do not decode, as text (for CHECK).
pub(crate) fn damaged_in<T>(
    store: &Store,
    namespace: &str,
    decode: fn(&str, &[u8]) -> Result<T>,
) -> Result<Vec<String>> {
    Ok(store
        .records(namespace)?
        .into_iter()
        .filter_map(|(name, bytes)| decode(&name, &bytes).err())
        .map(|e| e.to_string())
        .collect())
}

/// Model record `name` decoded from `bytes`; a corrupt error naming the model's record if they do not
/// validate.
fn decode(name: &str, bytes: &[u8]) -> Result<ModelRecord> {
    read_archive::<ModelRecord>(&aligned(bytes), name).map_err(|_| {
        Error::corrupt(format!(
            "the record of model '{name}' is damaged: its {} bytes do not decode",
            bytes.len()
        ))
    })
}

/// `bytes` copied into memory aligned for rkyv.
pub(crate) fn aligned(bytes: &[u8]) -> rkyv::util::AlignedVec {
    let mut v = rkyv::util::AlignedVec::with_capacity(bytes.len());
    v.extend_from_slice(bytes);
    v
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Catalog {
    /// Publishes a trained model as the next version of `record.name` (the version field is set here):
    /// blobs, record and the removal of the previous version's blobs in one atomic write.
    /// `also` adds to the same write (a job's `done` record) given the published record.
    pub fn publish<T>(
        &self,
        store: &Store,
        mut record: ModelRecord,
        model: Box<dyn Model>,
        also: impl FnOnce(&mut WriteTxn<'_>, &ModelRecord) -> Result<T>,
    ) -> Result<(ModelRecord, T)> {
        let mut blobs = model.blobs()?;
        blobs.push(encode(FORMAT_BLOB, &BlobFormat { version: BLOB_FORMAT })?);
        let (published, extra) = store.write(|txn| -> Result<(ModelRecord, T)> {
            let previous = store.record(NAMESPACE, &record.name)?;
            let previous =
                previous.map(|b| read_archive::<ModelRecord>(&aligned(&b), &record.name)).transpose()?;
            record.version = previous.as_ref().map_or(1, |p| p.version + 1);
            if let Some(p) = &previous {
                for old in store.blob_names(&blob_prefix(&p.name, p.version))? {
                    txn.delete_blob(&old)?;
                }
            }
            for (blob, bytes) in &blobs {
                txn.put_blob(&format!("{}{blob}", blob_prefix(&record.name, record.version)), bytes)?;
            }
            let bytes = rkyv::to_bytes::<rancor::Error>(&record)
                .map_err(|e| Error::internal(format!("cannot serialise the model record: {e}")))?;
            txn.put_record(NAMESPACE, &record.name, &bytes)?;
            let extra = also(txn, &record)?;
            Ok((record.clone(), extra))
        })?;
        self.cache.write().insert(published.name.clone(), Arc::new(Loaded::new(published.clone(), model)));
        Ok((published, extra))
    }

    /// The current version of model `name`, loaded (from the cache when it holds that version). An
    /// unknown name is a not-found error that suggests a close model name.
    ///
    /// A DROP MODEL or a retraining that commits between reading the record and reading its blobs
    /// removes the blobs of the version read; the load then fails, the record is found changed (or
    /// gone), and the lookup starts again from the current record, so a reader sees a whole version or
    /// a not-found error, never the missing blobs (`tests/concurrent_readers.rs`).
    pub fn get(&self, store: &Store, name: &str) -> Result<Arc<Loaded>> {
        /// Lookups that may each lose the race to a writer before the error is returned as it is.
        const ATTEMPTS: usize = 16;
        let mut attempt = 0;
        loop {
            let Some(current) = record(store, name)? else {
                return Err(unknown(store, name)?);
            };
            let read = (current.version, current.trained_at_ms);
            match self.load(store, name, current) {
                Ok(loaded) => return Ok(loaded),
                Err(error) => {
                    attempt += 1;
                    let now = record(store, name)?.map(|r| (r.version, r.trained_at_ms));
                    if now == Some(read) || attempt >= ATTEMPTS {
                        return Err(error);
                    }
                }
            }
        }
    }

    /// Loads version `record` of model `name` (from the cache when it holds that version).
    fn load(&self, store: &Store, name: &str, record: ModelRecord) -> Result<Arc<Loaded>> {
        if let Some(loaded) = self.cache.read().get(name) {
            if loaded.record.version == record.version {
                return Ok(Arc::clone(loaded));
            }
        }
        let algo = algorithm(&record.algorithm)?;
        let prefix = blob_prefix(&record.name, record.version);
        let read = |blob: &str| Ok(store.blob(&format!("{prefix}{blob}"))?);
        let blobs = Blobs::new(&read);
        let named = |e: Error| e.in_context(&format!("model '{name}'"));
        let format: BlobFormat = blobs.get(FORMAT_BLOB).map_err(named)?;
        if format.version != BLOB_FORMAT {
            return Err(Error::unsupported(format!(
                "model '{name}' is saved in blob format {}; this recodb reads format {BLOB_FORMAT}",
                format.version
            )));
        }
        let model = (algo.load)(&blobs).map_err(named)?;
        let loaded = Arc::new(Loaded::new(record, model));
        self.cache.write().insert(name.to_string(), Arc::clone(&loaded));
        Ok(loaded)
    }

    /// Version `version` of model `name` when the cache holds it loaded; `None` otherwise, without
    /// loading it (SHOW MODELS' `memory` column).
    pub fn cached(&self, name: &str, version: u64) -> Option<Arc<Loaded>> {
        self.cache.read().get(name).filter(|loaded| loaded.record.version == version).cloned()
    }

    /// Model `name`, or without a name the most recently trained model.
    pub fn resolve(&self, store: &Store, name: Option<&str>) -> Result<Arc<Loaded>> {
        match name {
            Some(name) => self.get(store, name),
            None => {
                let latest = records(store)?.into_iter().max_by_key(|r| (r.trained_at_ms, r.version));
                let latest =
                    latest.ok_or_else(|| Error::conflict("no trained model to use; TRAIN one first"))?;
                self.get(store, &latest.name)
            }
        }
    }

    /// Removes every version of model `name`; a not-found error when there is no such model.
    pub fn drop_model(&self, store: &Store, name: &str) -> Result<()> {
        let existed = store.write(|txn| -> Result<bool> {
            let Some(bytes) = store.record(NAMESPACE, name)? else { return Ok(false) };
            let record = read_archive::<ModelRecord>(&aligned(&bytes), name)?;
            for blob in store.blob_names(&blob_prefix(name, record.version))? {
                txn.delete_blob(&blob)?;
            }
            txn.delete_record(NAMESPACE, name)?;
            Ok(true)
        })?;
        self.cache.write().remove(name);
        if !existed {
            return Err(unknown(store, name)?);
        }
        Ok(())
    }
}

/// The error for a model name that does not exist, suggesting a close one.
fn unknown(store: &Store, name: &str) -> Result<Error> {
    let names: Vec<String> = records(store)?.into_iter().map(|r| r.name).collect();
    Ok(Error::not_found(
        Object::Model,
        name,
        format!("no model named '{name}'"),
        names.iter().map(String::as_str),
        "SHOW MODELS lists the trained models",
    ))
}
