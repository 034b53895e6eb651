//! Migration of model blobs written before blob formats were versioned (format 1: positional tuples whose
//! layout was told apart by their length) to the named structs of [`BLOB_FORMAT`]. Opening a database
//! runs it once: every model version without a `format` blob is read with the old layouts, rewritten,
//! and its old blobs removed, all in one atomic write. The old layouts are described here and nowhere
//! else; `storage/FORMAT.md` documents both.

use recodb_storage::Store;

use super::als::{AlsBlob, ALS_BLOB};
use super::blobs::{encode, Blob, BlobFormat, Blobs, BLOB_FORMAT, FORMAT_BLOB};
use super::bpr::{BprBlob, BPR_BLOB};
use super::catalog::{blob_prefix, readable_records, ModelRecord};
use super::dsiml::{DsimlBlob, DSIML_BLOB};
use super::ease::{EaseBlob, EASE_BLOB};
use super::factors::SavedFactors;
use super::pop::{PopBlob, POP_BLOB};
use crate::error::{Error, Result};

/// Rewrites every model version of `store` saved in format 1; returns how many were rewritten.
pub fn run(store: &Store) -> Result<usize> {
    let mut old = Vec::new();
    // A damaged record (or one naming blobs that are not there) is not migrated: CHECK reports it,
    // and serving the model fails naming it, while the rest of the database opens.
    for record in readable_records(store)? {
        let prefix = blob_prefix(&record.name, record.version);
        let names = store.blob_names(&prefix)?;
        if !names.is_empty() && !names.contains(&format!("{prefix}{FORMAT_BLOB}")) {
            old.push((record, names));
        }
    }
    if old.is_empty() {
        return Ok(0);
    }
    let mut rewritten = Vec::with_capacity(old.len());
    for (record, names) in old {
        let prefix = blob_prefix(&record.name, record.version);
        let read = |blob: &str| Ok(store.blob(&format!("{prefix}{blob}"))?);
        let mut blobs = convert(&record, &Blobs::new(&read))?;
        blobs.push(encode(FORMAT_BLOB, &BlobFormat { version: BLOB_FORMAT })?);
        rewritten.push((prefix, names, blobs));
    }
    let count = rewritten.len();
    store.write(|txn| -> Result<()> {
        for (prefix, names, blobs) in &rewritten {
            for name in names {
                txn.delete_blob(name)?;
            }
            for (blob, bytes) in blobs {
                txn.put_blob(&format!("{prefix}{blob}"), bytes)?;
            }
        }
        Ok(())
    })?;
    Ok(count)
}

/// The format-2 blobs of a model saved in format 1.
fn convert(record: &ModelRecord, old: &Blobs<'_>) -> Result<Vec<Blob>> {
    Ok(vec![match record.algorithm.as_str() {
        "pop" => encode(POP_BLOB, &PopBlob { counts: old.get("counts")? })?,
        "ease" => {
            let (items, weights): (u32, Vec<f32>) = old.get("weights")?;
            encode(EASE_BLOB, &EaseBlob { items, weights })?
        }
        "als" => {
            let (vectors, settings) = factors(old)?;
            let &[regularization, alpha] = settings.as_slice() else {
                return Err(Error::corrupt(format!("als model (format 1): fold-in settings {settings:?}")));
            };
            let blob = AlsBlob { vectors, regularization: regularization as f32, alpha: alpha as f32 };
            encode(ALS_BLOB, &blob)?
        }
        "bpr" => {
            let (vectors, settings) = factors(old)?;
            let &[_factors, epochs, learning_rate, regularization, seed] = settings.as_slice() else {
                return Err(Error::corrupt(format!("bpr model (format 1): fold-in settings {settings:?}")));
            };
            let blob = BprBlob {
                vectors,
                epochs: epochs as u32,
                learning_rate: learning_rate as f32,
                regularization: regularization as f32,
                seed: seed as u64,
            };
            encode(BPR_BLOB, &blob)?
        }
        "dsiml" => encode(DSIML_BLOB, &dsiml(old)?)?,
        other => {
            return Err(Error::corrupt(format!("model '{}' of unknown algorithm '{other}'", record.name)))
        }
    }])
}

/// The vectors and fold-in settings of a factor model in format 1: blob `shape` held `(dim,
/// fingerprints, settings)`, and `users`, `items` and `item_bias` the vectors.
fn factors(old: &Blobs<'_>) -> Result<(SavedFactors, Vec<f64>)> {
    let (dim, fingerprints, settings): (u32, Vec<u64>, Vec<f64>) = old.get("shape")?;
    let vectors = SavedFactors {
        dim,
        fingerprints,
        users: old.get("users")?,
        items: old.get("items")?,
        item_bias: old.get("item_bias")?,
    };
    Ok((vectors, settings))
}

/// A DSIML model in format 1: blob `shape` held `(bits, stage (0 binary, 1 real), seed, fingerprints,
/// settings)` with settings `[γ, λ, S, rank scale, offset, negatives, R]` and, once the index
/// parameters existed, `[tables, layout]` after them (layout 0 inline, 1 hybrid, 2 arena, 3 packed;
/// the hybrid layout is now arena); `user_codes`, `item_codes`, `real_users` and `real_items` the rest.
fn dsiml(old: &Blobs<'_>) -> Result<DsimlBlob> {
    let (bits, stage, seed, fingerprints, settings): (u32, u8, u64, Vec<u64>, Vec<f64>) = old.get("shape")?;
    let corrupt = || Error::corrupt(format!("dsiml model (format 1): settings {settings:?}"));
    let (head, tables, layout) = match settings.as_slice() {
        [head @ .., tables, layout] if settings.len() == 9 => (head, *tables, *layout),
        head => (head, 0.0, 3.0),
    };
    let &[gamma, lambda, scale, rank_scale, offset, negatives, radius] = head else { return Err(corrupt()) };
    let index_layout = match layout as u32 {
        0 => "inline",
        1 | 2 => "arena",
        3 => "packed",
        _ => return Err(corrupt()),
    };
    let stage = match stage {
        0 => "binary",
        1 => "real",
        _ => return Err(corrupt()),
    };
    Ok(DsimlBlob {
        bits,
        stage: stage.into(),
        seed,
        gamma,
        lambda,
        scale,
        rank_scale,
        offset,
        negatives: negatives as u32,
        radius,
        tables: tables as u32,
        index_layout: index_layout.into(),
        fingerprints,
        user_codes: old.get("user_codes")?,
        item_codes: old.get("item_codes")?,
        real_users: old.get("real_users")?,
        real_items: old.get("real_items")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::blobs::in_memory;
    use recodb_storage::rkyv::{self, rancor, util::AlignedVec};

    fn bytes<T>(value: &T) -> AlignedVec
    where
        T: for<'a> rkyv::Serialize<
            rkyv::api::high::HighSerializer<AlignedVec, rkyv::ser::allocator::ArenaHandle<'a>, rancor::Error>,
        >,
    {
        rkyv::to_bytes::<rancor::Error>(value).expect("bytes")
    }

    fn record(algorithm: &str) -> ModelRecord {
        ModelRecord {
            name: "m".into(),
            algorithm: algorithm.into(),
            version: 1,
            params: Vec::new(),
            data_version: 1,
            trained_at_ms: 0,
            train_ms: 0,
            users: 1,
            items: 2,
            interactions: 2,
        }
    }

    #[test]
    fn a_dsiml_shape_of_seven_or_nine_settings_converts() {
        let settings7 = vec![1.0, 1.0, 2.0 / 16.0, 8.0, 0.0, 5.0, 1.5];
        let mut settings9 = settings7.clone();
        settings9.extend([3.0, 1.0]);
        for (settings, tables, layout) in [(settings7, 0, "packed"), (settings9, 3, "arena")] {
            let old = [
                ("shape", bytes(&(16u32, 0u8, 7u64, vec![11u64], settings))),
                ("user_codes", bytes(&vec![5u64])),
                ("item_codes", bytes(&vec![1u64, 2])),
                ("real_users", bytes(&Vec::<f32>::new())),
                ("real_items", bytes(&Vec::<f32>::new())),
            ];
            let read = in_memory(&old);
            let blob = dsiml(&Blobs::new(&read)).expect("convert");
            assert_eq!((blob.bits, blob.stage.as_str(), blob.seed), (16, "binary", 7));
            assert_eq!((blob.tables, blob.index_layout.as_str(), blob.negatives), (tables, layout, 5));
            assert_eq!((blob.radius, blob.item_codes.clone()), (1.5, vec![1, 2]));
        }
        let old = [("shape", bytes(&(16u32, 0u8, 7u64, vec![11u64], vec![1.0; 8])))];
        let read = in_memory(&old);
        assert!(dsiml(&Blobs::new(&read)).is_err(), "eight settings is no layout recodb wrote");
    }

    #[test]
    fn factor_settings_convert_by_algorithm_and_bad_ones_are_corrupt() {
        let shape = |settings: Vec<f64>| bytes(&(2u32, vec![9u64], settings));
        let vectors = |old: &mut Vec<(&'static str, AlignedVec)>| {
            old.push(("users", bytes(&vec![1f32, 2.0])));
            old.push(("items", bytes(&vec![3f32, 4.0])));
            old.push(("item_bias", bytes(&Vec::<f32>::new())));
        };
        let mut old = vec![("shape", shape(vec![100.0, 9.0]))];
        vectors(&mut old);
        let read = in_memory(&old);
        let blobs = convert(&record("als"), &Blobs::new(&read)).expect("als");
        let read_new = in_memory(&blobs);
        let als: AlsBlob = Blobs::new(&read_new).get(ALS_BLOB).expect("read");
        assert_eq!((als.regularization, als.alpha, als.vectors.items), (100.0, 9.0, vec![3.0, 4.0]));
        let mut old = vec![("shape", shape(vec![2.0, 100.0, 0.01, 0.0004, 42.0]))];
        vectors(&mut old);
        let read = in_memory(&old);
        let blobs = convert(&record("bpr"), &Blobs::new(&read)).expect("bpr");
        let read_new = in_memory(&blobs);
        let bpr: BprBlob = Blobs::new(&read_new).get(BPR_BLOB).expect("read");
        assert_eq!((bpr.epochs, bpr.seed), (100, 42));
        let err = convert(&record("als"), &Blobs::new(&read)).expect_err("five settings for als");
        assert!(err.message().contains("fold-in settings"), "{err}");
        let err = convert(&record("cml"), &Blobs::new(&read)).expect_err("unknown");
        assert!(err.message().contains("unknown algorithm 'cml'"), "{err}");
    }
}
