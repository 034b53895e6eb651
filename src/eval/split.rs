//! `SPLIT HOLDOUT fraction [SEED n]` and `SPLIT CLEAR`: marking a reproducible per-user random share of
//! the interactions as held out, for evaluation.

use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use recodb_storage::{RoaringBitmap, Side, StorageError, Store};

use crate::error::{Error, Result};

/// Users with fewer interactions than this keep all of them in training (as the standard benchmark
/// split does: users with fewer than 5 positives train only).
pub const MIN_INTERACTIONS_TO_SPLIT: u64 = 5;

/// The seed used when `SEED` is not given.
pub const DEFAULT_SEED: u64 = 42;

/// Setting under which the split in force is recorded: `fraction seed data_version` (a split made
/// before data versions were recorded has `fraction seed`; no split, an empty value).
pub const SPLIT_SETTING: &str = "split";

/// The split in force, as SPLIT HOLDOUT recorded it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recorded {
    /// The share of each user's interactions held out.
    pub fraction: f64,
    /// The seed it was drawn with.
    pub seed: u64,
    /// The database's data version the split made (models trained on an older version saw the
    /// interactions it holds out); unknown for a split recorded by an older recodb.
    pub data_version: Option<u64>,
}

/// The split in force, if any.
pub fn current(store: &Store) -> Result<Option<Recorded>> {
    let Some(text) = store.setting(SPLIT_SETTING)? else { return Ok(None) };
    let mut words = text.split_whitespace();
    let fraction = words.next().and_then(|w| w.parse().ok());
    let seed = words.next().and_then(|w| w.parse().ok());
    let data_version = words.next().and_then(|w| w.parse().ok());
    Ok(fraction.zip(seed).map(|(fraction, seed)| Recorded { fraction, seed, data_version }))
}

/// What a split did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split {
    /// Users with interactions held out.
    pub users: u64,
    /// Interactions held out.
    pub held_out: u64,
    /// The seed used.
    pub seed: u64,
    /// The split this one replaced, if one was in force.
    pub replaced: Option<Recorded>,
}

/// Holds out `fraction` (strictly between 0 and 1) of each user's interactions, chosen uniformly at
/// random per user from a generator seeded by `seed` and the user's id (so the split does not depend
/// on insertion order or thread count). Users with fewer than [`MIN_INTERACTIONS_TO_SPLIT`]
/// interactions are kept whole; every split user keeps at least one interaction in training and holds
/// out at least one. Replaces any previous split.
pub fn holdout(store: &Store, fraction: f64, seed: Option<u64>) -> Result<Split> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(Error::invalid(
            "the holdout fraction",
            "a number between 0 and 1 (exclusive)",
            fraction.to_string(),
        ));
    }
    let seed = seed.unwrap_or(DEFAULT_SEED);
    let replaced = current(store)?;
    let (users, held) = store.write(|txn| -> Result<(u64, u64), StorageError> {
        txn.clear_holdout()?;
        let mut users = 0u64;
        let mut held = 0u64;
        for (user, _) in store.entities(Side::User, 0, usize::MAX)? {
            let items: Vec<u32> = txn.user_row(user)?.items.iter().collect();
            let n = items.len() as u64;
            if n < MIN_INTERACTIONS_TO_SPLIT {
                continue;
            }
            let k = ((fraction * n as f64).round() as u64).clamp(1, n - 1) as usize;
            let chosen = sample(&items, k, seed, user);
            held += txn.hold_out(user, &chosen)?;
            users += 1;
        }
        // Writes are serialised, and this one changes the data (it clears the previous holdout), so
        // it makes the next data version.
        let version = store.data_version()? + 1;
        txn.set_setting(SPLIT_SETTING, &format!("{fraction} {seed} {version}"));
        Ok((users, held))
    })?;
    Ok(Split { users, held_out: held, seed, replaced })
}

/// Makes every held-out interaction visible again; returns how many were held out.
pub fn clear(store: &Store) -> Result<u64> {
    let before = store.holdout_count()?;
    store.write(|txn| -> Result<(), StorageError> {
        txn.clear_holdout()?;
        txn.set_setting(SPLIT_SETTING, "");
        Ok(())
    })?;
    Ok(before)
}

/// `k` distinct items drawn uniformly (a partial Fisher-Yates shuffle) from a generator seeded by the
/// split seed and the user id.
fn sample(items: &[u32], k: usize, seed: u64, user: u32) -> RoaringBitmap {
    let mut rng =
        Xoshiro256PlusPlus::seed_from_u64(seed ^ u64::from(user).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut pool = items.to_vec();
    for i in 0..k {
        let j = rng.random_range(i..pool.len());
        pool.swap(i, j);
    }
    pool[..k].iter().copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::Database;

    fn db_with(users: u64, per_user: u64) -> Database {
        let db = Database::open_temporary().expect("open");
        for u in 0..users {
            for i in 0..per_user {
                db.insert_interaction(u, (u * 7 + i) % 50, None, None).expect("insert");
            }
        }
        db
    }

    #[test]
    fn a_split_is_reproducible_from_its_seed_and_keeps_small_users_whole() {
        let db = db_with(6, 10);
        db.insert_interaction(100, 1, None, None).expect("insert");
        holdout(db.store(), 0.2, Some(7)).expect("split");
        let first = db.store().snapshot(recodb_storage::SnapshotPart::Holdout).expect("snapshot");
        assert_eq!(first.nnz(), 6 * 2, "20% of 10 is 2 per user; user 100 has too few to split");
        holdout(db.store(), 0.2, Some(8)).expect("another seed");
        let other = db.store().snapshot(recodb_storage::SnapshotPart::Holdout).expect("snapshot");
        assert_ne!(first.indices, other.indices);
        holdout(db.store(), 0.2, Some(7)).expect("same seed again");
        let again = db.store().snapshot(recodb_storage::SnapshotPart::Holdout).expect("snapshot");
        assert_eq!(first.indices, again.indices);
        assert_eq!(db.store().holdout_count().expect("count"), 12);
        let recorded = current(db.store()).expect("read").expect("a split is in force");
        assert_eq!((recorded.fraction, recorded.seed), (0.2, 7));
        assert_eq!(recorded.data_version, Some(db.store().data_version().expect("version")));
        db.check_integrity().expect("consistent");
    }

    #[test]
    fn clear_restores_everything_and_bad_fractions_are_refused() {
        let db = db_with(3, 10);
        let first = holdout(db.store(), 0.5, None).expect("split");
        assert_eq!(first.replaced, None);
        let second = holdout(db.store(), 0.4, Some(3)).expect("split again");
        assert_eq!(second.replaced.map(|r| (r.fraction, r.seed)), Some((0.5, DEFAULT_SEED)));
        assert_eq!(clear(db.store()).expect("clear"), 12);
        assert_eq!(current(db.store()).expect("read"), None);
        assert_eq!(db.snapshot().expect("snapshot").nnz(), 30);
        for bad in [0.0, 1.0, -0.5, f64::NAN] {
            let err = holdout(db.store(), bad, None).expect_err("bad fraction");
            assert!(
                matches!(err.kind(), ErrorKind::InvalidArgument { name, .. } if name == "the holdout fraction")
            );
        }
        db.check_integrity().expect("consistent");
    }
}
